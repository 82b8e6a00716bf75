#!/usr/bin/env bash
# check.sh SRC - `make install` into a scratch folder, then build modules
# out of tree the way a third party would (pkg-config --cflags --libs gale):
# the demo module, and one that uses jansson and the worker's libevent base,
# which gale.pc must bring the flags of. Check them with the installed
# `gale -t`, serve a request with each, and check the installed files
# (config example, systemd unit, man pages, header, and the examples the man
# pages point to: the demo modules' sources and configs).
set -euo pipefail
src=${1:-$PWD}
tmp=$(mktemp -d)
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT
pid=
dest=$tmp/root
make -s -C "$src" install DESTDIR="$dest" >/dev/null
prefix=$(sed -n 's/^prefix=//p' "$src/gale.pc")
export PKG_CONFIG_PATH=$dest$prefix/lib/pkgconfig
flags=$(pkg-config --define-variable=prefix="$dest$prefix" --cflags --libs gale)
cc -shared -fPIC "$src/modules/hello/hello.c" $flags -o "$tmp/mymod.so"
# A module with its own timer on the worker's loop, answering JSON.
cat > "$tmp/evmod.c" <<'C'
#include <event2/event.h>
#include <gale/gale.h>

static struct event *evmod_timer;
static int evmod_ticks;

static void evmod_tick(evutil_socket_t fd, short what, void *arg)
{
    evmod_ticks++;
}

static int evmod_init(gale_ctx *ctx, const json_t *settings)
{
    evmod_timer = evtimer_new(gale_ctx_base(ctx), evmod_tick, NULL);
    struct timeval now = {0, 0};
    return evmod_timer && evtimer_add(evmod_timer, &now) == 0 ? 0 : -1;
}

static void evmod_shutdown(gale_ctx *ctx)
{
    event_free(evmod_timer);
}

static int evmod_get(gale_request *r)
{
    json_t *j = json_pack("{s:b}", "ticked", evmod_ticks > 0);
    int rc = gale_response_json(r, j);
    json_decref(j);
    return rc == 0 ? GALE_OK : GALE_ERROR;
}

static const gale_handler evmod_handlers[] = {{.name = "ticks", .get = evmod_get}, {0}};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "evmod",
    .init = evmod_init,
    .shutdown = evmod_shutdown,
    .handlers = evmod_handlers,
};
C
cc -shared -fPIC -Wall -Werror "$tmp/evmod.c" $flags -o "$tmp/evmod.so"
ex=share/doc/gale/examples
for f in sbin/gale include/gale/gale.h lib/gale/hello.so etc/gale/gale.conf \
    lib/systemd/system/gale.service share/man/man8/gale.8 share/man/man5/gale.conf.5 \
    share/man/man3/gale-module.3 $ex/hello.c $ex/notes.c $ex/chat.c $ex/gale.conf \
    $ex/notes.conf $ex/chat.conf; do
    test -e "$dest$prefix/$f" || { echo "not installed: $prefix/$f"; exit 1; }
done
# The example configs name the installed modules: valid as installed (the
# scratch root put before their paths).
for c in gale notes chat; do
    sed "s|\"$prefix/|\"$dest$prefix/|g" "$dest$prefix/$ex/$c.conf" >"$tmp/example-$c.conf"
    out=$("$dest$prefix/sbin/gale" -t -c "$tmp/example-$c.conf" 2>&1) ||
        { echo "installed example $ex/$c.conf is not valid:"; echo "$out"; exit 1; }
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$tmp/gale.conf" <<CONF
workers = 1;
access_log = "off";
listen = ( { address = "127.0.0.1"; port = $port; } );
modules = ( { path = "$tmp/mymod.so"; settings = { greeting = "out of tree"; };
              routes = ( { path = "/"; handler = "hello"; } ); },
            { path = "$tmp/evmod.so"; routes = ( { path = "/ticks"; handler = "ticks"; } ); } );
CONF
"$dest$prefix/sbin/gale" -t -c "$tmp/gale.conf"
"$dest$prefix/sbin/gale" -c "$tmp/gale.conf" 2>"$tmp/err.log" &
pid=$!
for _ in $(seq 50); do
    body=$(curl -s "http://127.0.0.1:$port/" || true)
    [ -n "$body" ] && break
    sleep 0.1
done
ticks=$(curl -s "http://127.0.0.1:$port/ticks" || true)
kill $pid
wait $pid || true
pid=
[ "$body" = "out of tree" ] || { echo "unexpected answer: '$body'"; cat "$tmp/err.log"; exit 1; }
[ "$ticks" = '{"ticked":true}' ] || { echo "unexpected answer on /ticks: '$ticks'"; cat "$tmp/err.log"; exit 1; }
echo "install: ok (modules built out of tree with pkg-config, served '$body' and $ticks)"

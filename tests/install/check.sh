#!/usr/bin/env bash
# check.sh SRC - `make install` into a scratch folder, then build modules
# out of tree the way a third party would (pkg-config --cflags --libs gale):
# the demo module, and one that uses jansson and the worker's libevent base,
# which gale.pc must bring the flags of. Check them with the installed
# `gale -t`, serve a request with each, and check the installed files
# (production config, systemd unit, tmpfiles.d and logrotate snippets, man
# pages, header, and the examples the man pages point to: the demo modules'
# sources and configs). The installed gale.conf must pass `gale -t`, have no
# module (no demo route: /echo reflects Content-Type) and serve its page.
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
for f in sbin/gale include/gale/gale.h lib/gale/hello.so etc/gale/gale.conf etc/gale/gale.conf.dist \
    lib/systemd/system/gale.service lib/tmpfiles.d/gale.conf etc/logrotate.d/gale \
    share/gale/welcome/index.html share/man/man8/gale.8 share/man/man5/gale.conf.5 \
    share/man/man3/gale-module.3 $ex/hello.c $ex/notes.c $ex/chat.c $ex/gale.conf \
    $ex/notes.conf $ex/chat.conf; do
    test -e "$dest$prefix/$f" || { echo "not installed: $prefix/$f"; exit 1; }
done
# The installed configs name the installed modules and pages and the unit's
# /var/log/gale and /var/lib/gale: valid as installed (the scratch root put
# before the prefix, scratch folders for the unit's).
mkdir -p "$tmp/var/log/gale" "$tmp/var/lib/gale/sessions"
chmod -R 755 "$tmp"
relocate() {
    sed -e "s|\"$prefix/|\"$dest$prefix/|g" -e "s|\"/var/log/gale/|\"$tmp/var/log/gale/|g" \
        -e "s|\"/var/lib/gale/|\"$tmp/var/lib/gale/|g" "$1"
}
for c in gale notes chat; do
    relocate "$dest$prefix/$ex/$c.conf" >"$tmp/example-$c.conf"
    out=$("$dest$prefix/sbin/gale" -t -c "$tmp/example-$c.conf" 2>&1) ||
        { echo "installed example $ex/$c.conf is not valid:"; echo "$out"; exit 1; }
done
conf=$dest$prefix/etc/gale/gale.conf
grep -q '^access_log = "/var/log/gale/access.log";' "$conf" ||
    { echo "the installed gale.conf does not log requests to /var/log/gale/access.log"; exit 1; }
! grep -Eq '^[[:space:]]*(modules|path = .*\.so)' "$conf" ||
    { echo "the installed gale.conf loads a module (a demo?):"; grep -n '\.so' "$conf"; exit 1; }
grep -q '^d /var/lib/gale/sessions 0700 ' "$dest$prefix/lib/tmpfiles.d/gale.conf" ||
    { echo "tmpfiles.d/gale.conf does not make the sessions folder"; exit 1; }
grep -q 'USR1' "$dest$prefix/etc/logrotate.d/gale" ||
    { echo "logrotate.d/gale does not have the logs reopened"; exit 1; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
relocate "$conf" | sed -e "s|port = 8080;|port = $port;|" -e 's|"0.0.0.0"|"127.0.0.1"|' >"$tmp/prod.conf"
out=$("$dest$prefix/sbin/gale" -t -c "$tmp/prod.conf" 2>&1) ||
    { echo "the installed gale.conf is not valid:"; echo "$out"; exit 1; }
"$dest$prefix/sbin/gale" -c "$tmp/prod.conf" 2>"$tmp/prod.log" &
pid=$!
for _ in $(seq 50); do
    page=$(curl -s "http://127.0.0.1:$port/" || true)
    [ -n "$page" ] && break
    sleep 0.1
done
echo=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/echo" || true)
echo=$echo,$(curl -s -H 'Content-Type: text/html' --data '<b>x</b>' "http://127.0.0.1:$port/echo" || true)
kill -QUIT $pid
wait $pid || true
pid=
case "$page" in *"gale is running"*) ;; *) echo "the installed gale.conf serves: '$page'"; cat "$tmp/prod.log"; exit 1 ;; esac
case "$echo" in 404,*'<b>x</b>'*) echo "the installed gale.conf reflects POST /echo"; exit 1 ;;
    404,*) ;; *) echo "the installed gale.conf answers GET /echo with $echo, not 404"; exit 1 ;; esac
grep -q '"GET / HTTP/1.1" 200' "$tmp/var/log/gale/access.log" ||
    { echo "no combined access line in the installed access log"; cat "$tmp/prod.log"; exit 1; }
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

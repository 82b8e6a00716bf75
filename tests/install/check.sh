#!/usr/bin/env bash
# check.sh SRC - `make install` into a scratch folder, then build a module
# out of tree the way a third party would (pkg-config --cflags gale), check
# it with the installed `gale -t`, serve one request with it, and check the
# installed files (config example, systemd unit, man pages, header).
set -euo pipefail
src=${1:-$PWD}
tmp=$(mktemp -d)
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$tmp"' EXIT
pid=
dest=$tmp/root
make -s -C "$src" install DESTDIR="$dest" >/dev/null
prefix=$(sed -n 's/^prefix=//p' "$src/gale.pc")
export PKG_CONFIG_PATH=$dest$prefix/lib/pkgconfig
cflags=$(pkg-config --define-variable=prefix="$dest$prefix" --cflags gale)
cc -shared -fPIC $cflags "$src/modules/hello/hello.c" -o "$tmp/mymod.so"
for f in sbin/gale include/gale/gale.h lib/gale/hello.so etc/gale/gale.conf \
    lib/systemd/system/gale.service share/man/man8/gale.8 share/man/man5/gale.conf.5; do
    test -e "$dest$prefix/$f" || { echo "not installed: $prefix/$f"; exit 1; }
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$tmp/gale.conf" <<CONF
workers = 1;
access_log = "off";
listen = ( { address = "127.0.0.1"; port = $port; } );
modules = ( { path = "$tmp/mymod.so"; settings = { greeting = "out of tree"; };
              routes = ( { path = "/"; handler = "hello"; } ); } );
CONF
"$dest$prefix/sbin/gale" -t -c "$tmp/gale.conf"
"$dest$prefix/sbin/gale" -c "$tmp/gale.conf" 2>"$tmp/err.log" &
pid=$!
for _ in $(seq 50); do
    body=$(curl -s "http://127.0.0.1:$port/" || true)
    [ -n "$body" ] && break
    sleep 0.1
done
kill $pid
wait $pid || true
pid=
[ "$body" = "out of tree" ] || { echo "unexpected answer: '$body'"; cat "$tmp/err.log"; exit 1; }
echo "install: ok (module built out of tree with pkg-config, served '$body')"

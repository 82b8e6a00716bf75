#!/usr/bin/env bash
# check-unit.sh - gale.service under a real systemd (PID 1), as installed:
# after `make install` (then `systemctl daemon-reload` and systemd-tmpfiles
# are run here) or after installing the Debian package. Run as root on a
# Debian 12 machine or container whose PID 1 is systemd. It changes
# the installed gale.conf for a while (sessions) and puts it back.
#
# Checks: the unit starts (ExecStartPre's `gale -t`, READY=1 of Type=notify)
# on the installed minimal config, which serves its page and no demo route;
# LMDB sessions work under the unit's restrictions (no CAP_CHOWN, read-only
# file system but for its directories); every request of a curl loop is
# answered while `systemctl reload gale` runs; logrotate (or a mv and USR1)
# moves the access log and the next lines land in the new file, from every
# worker; a graceful stop ends with success.
set -uo pipefail
failures=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; failures=$((failures + 1)); }
die() { echo "not ok - $*"; journalctl -u gale --no-pager -n 30 || true; exit 1; }

[ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] || die "PID 1 is not systemd"
command -v curl >/dev/null || die "curl is missing"
systemctl daemon-reload
systemctl cat gale.service >/dev/null 2>&1 || die "no gale.service installed"
# The binary and config the unit runs: ExecStart=SBINDIR/gale -c CONF
exec_start=$(systemctl show -P ExecStart gale.service)
conf=$(sed -n 's/.*argv\[\]=[^ ]*gale -c \([^ ;]*\).*/\1/p' <<<"$exec_start")
gale=$(sed -n 's/.*argv\[\]=\([^ ]*gale\) -c .*/\1/p' <<<"$exec_start")
[ -f "$conf" ] && [ -x "$gale" ] || die "cannot find the unit's binary and config in: $exec_start"
prefix=$(dirname "$(dirname "$gale")")
hello=$(find "$prefix/lib" -path '*gale/hello.so' 2>/dev/null | head -1)
tmpfiles=$(ls "$prefix/lib/tmpfiles.d/gale.conf" /usr/lib/tmpfiles.d/gale.conf 2>/dev/null | head -1)
[ -n "$tmpfiles" ] || die "no tmpfiles.d/gale.conf installed"
systemd-tmpfiles --create "$tmpfiles" || die "systemd-tmpfiles --create $tmpfiles failed"
port=$(sed -n 's/.*port = \([0-9]*\);.*/\1/p' "$conf" | head -1)
url=http://127.0.0.1:$port
echo "# $gale -c $conf, port $port"

journal_since() { journalctl -u gale --no-pager -o cat --since "@$1" 2>/dev/null; }
t0=$(date +%s)

# ---- start on the installed config ----
systemctl start gale || die "systemctl start gale failed"
[ "$(systemctl is-active gale)" = active ] || die "gale is not active after start"
# Type=notify: start returns only after READY=1; the status text is ours.
ok "started (Type=notify: READY=1 seen), main pid $(systemctl show -P MainPID gale)"
page=$(curl -s "$url/")
case "$page" in *"gale is running"*) ok "GET / serves the installed page" ;;
    *) bad "GET / answered: ${page:0:200}" ;; esac
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: text/html' --data '<b>x</b>' "$url/echo")
[ "$code" != 200 ] && ok "no /echo on the installed config ($code)" || bad "POST /echo answered 200"

# ---- sessions under the unit: LMDB in /var/lib/gale/sessions ----
[ -n "$hello" ] || die "hello.so not installed under $prefix/lib"
cp -p "$conf" "$conf.check-unit"
trap 'mv -f "$conf.check-unit" "$conf" 2>/dev/null; systemctl reload gale 2>/dev/null' EXIT
user=$(sed -n 's/^user = "\(.*\)";/\1/p' "$conf.check-unit")
group=$(sed -n 's/^group = "\(.*\)";/\1/p' "$conf.check-unit")
{ [ -z "$user" ] || echo "user = \"$user\";"; [ -z "$group" ] || echo "group = \"$group\";"; } >"$conf"
cat >>"$conf" <<CONF
workers = 2;
access_log = "/var/log/gale/access.log";
access_log_flush = 0.2;
listen = ( { address = "0.0.0.0"; port = $port; } );
cookie_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')";
sessions = { store = "lmdb"; dir = "/var/lib/gale/sessions"; };
modules = ( { path = "$hello";
              routes = ( { path = "/"; handler = "hello"; },
                         { path = "/login"; handler = "login"; },
                         { path = "/whoami"; handler = "whoami"; } ); } );
CONF
t1=$(date +%s)
systemctl reload gale || die "systemctl reload gale (sessions config) failed"
jar=$(mktemp)
curl -s -c "$jar" -b "$jar" -o /dev/null --data 'user=alice' "$url/login"
curl -s -c "$jar" -b "$jar" -o /dev/null "$url/whoami"
who=$(curl -s -c "$jar" -b "$jar" "$url/whoami")
rm -f "$jar"
if [ "$who" = $'user: alice\nn: 2' ]; then
    ok "LMDB sessions: logged in, the session kept across requests"
else
    bad "sessions: /whoami said '$who'"
fi
if journal_since "$t1" | grep -E "cannot give|sessions:"; then
    bad "session errors in the journal (above)"
else
    ok "no session errors in the journal"
fi
owner=$(stat -c %U /var/lib/gale/sessions)
[ -f /var/lib/gale/sessions/data.mdb ] && ok "sessions in /var/lib/gale/sessions (owner $owner)" ||
    bad "no /var/lib/gale/sessions/data.mdb"

# ---- reload under load: every request answered ----
stopflag=$(mktemp)
codes=$(mktemp)
loops=
for _ in 1 2 3 4; do # four clients, each a new connection per request
    (while [ -e "$stopflag" ]; do
        curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "$url/" >>"$codes" ||
            echo "curl-$?" >>"$codes"
    done) &
    loops="$loops $!"
done
sleep 1
for _ in 1 2 3; do
    systemctl reload gale || bad "systemctl reload gale failed"
    sleep 1
done
rm -f "$stopflag"
wait $loops
total=$(wc -l <"$codes")
good=$(grep -c '^200$' "$codes")
if [ "$total" -gt 0 ] && [ "$good" = "$total" ]; then
    ok "reload under load: $good of $total requests answered 200 across 3 reloads"
else
    bad "reload under load: $good of $total answered 200 ($(sort "$codes" | uniq -c | tr '\n' ' '))"
fi
rm -f "$codes"
[ "$(systemctl is-active gale)" = active ] || bad "gale not active after the reloads"

# ---- log rotation: logrotate's snippet, or mv and USR1 to the master ----
log=/var/log/gale/access.log
curl -s -o /dev/null "$url/?before-rotation"
sleep 0.5
t2=$(date +%s)
if command -v logrotate >/dev/null && [ -f /etc/logrotate.d/gale ]; then
    logrotate -f /etc/logrotate.d/gale || bad "logrotate -f /etc/logrotate.d/gale failed"
    how="logrotate -f /etc/logrotate.d/gale"
else
    mv "$log" "$log.1"
    systemctl kill --kill-who=main --signal=USR1 gale
    how="mv and systemctl kill --kill-who=main --signal=USR1"
fi
workers=$(sed -n 's/^workers = \([0-9]*\);/\1/p' "$conf")
for _ in $(seq 50); do
    [ "$(journal_since "$t2" | grep -c 'logs reopened')" -ge "$workers" ] && break
    sleep 0.1
done
n=$(journal_since "$t2" | grep -c 'logs reopened')
[ "$n" -ge "$workers" ] && ok "$how: $n of $workers workers took the new logs" ||
    bad "$how: $n of $workers workers took the new logs"
for i in $(seq 20); do curl -s -o /dev/null "$url/?after-rotation-$i"; done
sleep 1
new=$(grep -c 'after-rotation' "$log" 2>/dev/null)
old=$(cat "$log.1" 2>/dev/null | grep -c 'after-rotation')
[ "$new" = 20 ] && [ "$old" = 0 ] && ok "after rotation: 20 of 20 lines in the new $log" ||
    bad "after rotation: $new lines in the new log, $old in the rotated one (of 20)"
grep -q 'before-rotation' "$log.1" 2>/dev/null && ok "the line before rotation is in $log.1" ||
    bad "the line before rotation is not in $log.1"
if journal_since "$t0" | grep -iE "reopening|permission denied|cannot"; then
    bad "errors in the journal (above)"
fi

# ---- back to the installed config, then stop ----
mv -f "$conf.check-unit" "$conf"
trap - EXIT
systemctl reload gale || bad "reload back to the installed config failed"
case "$(curl -s "$url/")" in *"gale is running"*) ok "back on the installed config" ;;
    *) bad "not back on the installed config" ;; esac
systemctl stop gale
result=$(systemctl show -P Result gale)
[ "$(systemctl is-active gale)" = inactive ] && [ "$result" = success ] &&
    ok "stopped (Result=$result)" || bad "stop: $(systemctl is-active gale), Result=$result"
journal_since "$t0" | grep -E "graceful stop|stopped" | tail -2 | sed 's/^/# /'
systemd-analyze security gale --no-pager 2>/dev/null | tail -1 | sed 's/^/# /'
[ "$failures" = 0 ] && echo "check-unit: all ok" || echo "check-unit: $failures failed"
exit $((failures > 0))

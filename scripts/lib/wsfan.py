#!/usr/bin/env python3
"""wsfan.py - the fan-out measure of scripts/bench's ws scenario with a light client.

    python3 scripts/lib/wsfan.py --url ws://127.0.0.1:P/chatsocket [--connections 10000]
        [--batch 500] [--rounds 20] [--warmup 1] [--interval 200] [--pid SERVER_PID]
        [--clk-tck 100] [--open-timeout 120] [--round-timeout 10] [--spin 1]

The chat protocol of scripts/lib/wsbench.js (which see): hold --connections sockets, then
publish --warmup + --rounds messages one at a time from the first socket, each a unique
token, and time from the send to the token's arrival on every socket.

Why a second client: wsbench.js reads every frame through the npm ws package, ~15 us a frame
in its one Node.js thread, so at 10,000 sockets the client, not the server, decides when the
last socket has its message (its CPU per publish came out above the server's). This one does
only what the measure needs: the handshake, one masked frame per publish, and for the rest
epoll and a recv per ready socket, looking for the token in the bytes (no frame parsing: the
server sends nothing else on these sockets, and a token cut between two reads is found
with the tail kept from the read before). The same client measures every server.

--spin 1 (the default): during a round the client polls without sleeping. On loopback a send
runs the receiving socket's input, and the wake-up of a client asleep in epoll_wait, in the
sender's context: a client quicker than the server sleeps between two sends and the server
pays a wake-up (an interprocessor interrupt) for nearly every socket, ~15% of gale's CPU per
socket here; a client on a network costs its server none of that.

Server CPU: utime and stime of the server's process tree (--pid and its descendants, plus
the children it reaped), from /proc, around each publish: both are given, as on loopback
the receiving socket's TCP input runs in the sender's context and shows in its stime.

Progress goes to stderr; the result is one JSON line on stdout with the keys of wsbench.js
that scripts/bench reads (those it cannot measure are null). Exit status 0 when the run
went through, 1 when no socket opened, 2 on bad arguments.
"""

import argparse
import base64
import gc
import json
import os
import random
import select
import socket
import statistics
import struct
import sys
import time


def say(text):
    sys.stderr.write("wsfan: %s\n" % text)
    sys.stderr.flush()


def tree_pids(root):
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out = [root]
    for pid in out:
        out.extend(children.get(pid, []))
    return out


def server_cpu_ms(root, clk_tck):
    """(user ms, system ms) of the server's tree, children reaped included; None when gone."""
    if not root:
        return None
    user = system = seen = 0
    for pid in tree_pids(root):
        try:
            with open("/proc/%d/stat" % pid) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        user += int(fields[11]) + int(fields[13])
        system += int(fields[12]) + int(fields[14])
        seen += 1
    return (user * 1000.0 / clk_tck, system * 1000.0 / clk_tck) if seen else None


def client_cpu_ms():
    t = os.times()
    return (t.user + t.system) * 1000.0


def text_frame(payload):
    """A masked, final text frame (a client must mask, RFC 6455 5.3)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) +
                            struct.pack("!H", n))
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


def open_all(opts, host, port, path):
    """The sockets opened (non-blocking), and the failures by cause."""
    socks, failed = [], {}
    deadline = time.monotonic() + opts.open_timeout
    ep = select.epoll()
    while len(socks) + sum(failed.values()) < opts.connections and time.monotonic() < deadline:
        batch = {}
        for _ in range(min(opts.batch, opts.connections - len(socks) - sum(failed.values()))):
            s = socket.socket()
            try:
                s.connect((host, port))
            except OSError as e:
                failed[e.__class__.__name__] = failed.get(e.__class__.__name__, 0) + 1
                s.close()
                continue
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n" % (path, host, port, key)).encode())
            s.setblocking(False)
            batch[s.fileno()] = [s, b""]
            ep.register(s.fileno(), select.EPOLLIN)
        while batch and time.monotonic() < deadline:
            for fd, _ in ep.poll(1.0):
                s, got = batch[fd]
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                got += data
                batch[fd][1] = got
                if not data or b"\r\n\r\n" in got:
                    ep.unregister(fd)
                    del batch[fd]
                    if got.startswith(b"HTTP/1.1 101 "):
                        socks.append(s)
                    else:
                        why = got.split(b"\r\n", 1)[0].decode("latin-1") or "closed"
                        failed[why] = failed.get(why, 0) + 1
                        s.close()
        for fd, (s, _) in batch.items():
            ep.unregister(fd)
            s.close()
            failed["open timeout"] = failed.get("open timeout", 0) + 1
    ep.close()
    return socks, failed


def publish_round(opts, socks, ep, n):
    """One publish: (times in ms of every socket that got it, sockets closed meanwhile,
    timed out)."""
    token = ("wsfan-%d-%08x" % (n, random.getrandbits(32))).encode()
    keep = len(token) - 1
    # by descriptor: the few operations done per socket are list look-ups
    top = max(s.fileno() for s in socks) + 1
    recv = [None] * top
    for s in socks:
        recv[s.fileno()] = s.recv
    seen = bytearray(top)
    tails = {}
    times = []
    closed = 0
    expected = len(socks)
    frame = text_frame(json.dumps({"body": token.decode(), "name": "wsfan"}).encode())
    clock = time.perf_counter
    t0 = clock()
    socks[0].send(frame)
    deadline = t0 + opts.round_timeout
    while len(times) + closed < expected:
        now = clock()
        if now > deadline:
            return times, closed, True
        for fd, _ in ep.poll(0 if opts.spin else deadline - now):
            try:
                data = recv[fd](65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                ep.unregister(fd)
                if not seen[fd]:
                    closed += 1
                    seen[fd] = 1
            elif seen[fd]:
                continue
            elif token in data or (fd in tails and token in tails[fd] + data[:keep]):
                times.append((clock() - t0) * 1000.0)
                seen[fd] = 1
            else:
                tails[fd] = data[-keep:]
    return times, closed, False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--interval", type=float, default=200)
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--clk-tck", type=float, default=100)
    ap.add_argument("--open-timeout", type=float, default=120)
    ap.add_argument("--round-timeout", type=float, default=10)
    ap.add_argument("--spin", type=int, default=1)
    opts = ap.parse_args()
    if not opts.url.startswith("ws://") or opts.connections < 1 or opts.batch < 1:
        ap.error("a ws:// URL and --connections, --batch >= 1")
    hostport, _, path = opts.url[5:].partition("/")
    host, _, port = hostport.rpartition(":")
    path = "/" + path

    result = dict.fromkeys((
        "bytes_per_conn", "probe_p50_ms", "probe_max_ms", "probe_failed", "rss_before_kib",
        "rss_open_kib", "rss_rounds_kib", "rss_closed_kib", "server_cpu_open_us_per_conn",
        "server_cpu_ms_per_round", "server_user_ms_per_round", "server_sys_ms_per_round",
        "client_cpu_ms_per_round", "last_p50_ms", "last_max_ms", "median_p50_ms",
        "first_p50_ms"))
    result.update(client="wsfan.py", rounds=[], incomplete_rounds=0, closed_early=0,
                  server_procs=len(tree_pids(opts.pid)) if opts.pid else 0, procs_open=[])

    say("open: %d connections to %s, %d at a time" % (opts.connections, opts.url, opts.batch))
    cpu0 = server_cpu_ms(opts.pid, opts.clk_tck)
    t0 = time.monotonic()
    socks, failed = open_all(opts, host, int(port), path)
    result["open_ms"] = (time.monotonic() - t0) * 1000.0
    cpu1 = server_cpu_ms(opts.pid, opts.clk_tck)
    result.update(opened=len(socks), failed=sum(failed.values()), errors=failed)
    if cpu0 and cpu1 and socks:
        result["server_cpu_open_us_per_conn"] = (sum(cpu1) - sum(cpu0)) * 1000.0 / len(socks)
    say("open: %d open, %d failed in %.2f s %s" % (len(socks), result["failed"],
                                                  result["open_ms"] / 1000, failed or ""))
    if not socks:
        print(json.dumps(result))
        return 1
    time.sleep(1.0)

    ep = select.epoll()
    for s in socks:
        ep.register(s.fileno(), select.EPOLLIN)
    gc.disable()  # no collection in the middle of a round
    user = system = ccpu = 0.0
    counted = 0
    for n in range(opts.warmup + opts.rounds):
        s0, c0 = server_cpu_ms(opts.pid, opts.clk_tck), client_cpu_ms()
        times, closed, timed_out = publish_round(opts, socks, ep, n)
        s1, c1 = server_cpu_ms(opts.pid, opts.clk_tck), client_cpu_ms()
        times.sort()
        rec = {"expected": len(socks), "delivered": len(times),
               "first_ms": times[0] if times else None,
               "median_ms": statistics.median(times) if times else None,
               "last_ms": None if timed_out or not times else times[-1],
               "closed_during": closed}
        label = "warm-up"
        if n >= opts.warmup:
            result["rounds"].append(rec)
            label = "round %d" % len(result["rounds"])
            if s0 and s1:
                user += s1[0] - s0[0]
                system += s1[1] - s0[1]
                counted += 1
            ccpu += c1 - c0
        say("%s: %d/%d delivered, first %s ms, median %s ms, last %s" % (
            label, len(times), len(socks), "%.1f" % rec["first_ms"] if times else "n/a",
            "%.1f" % rec["median_ms"] if times else "n/a",
            "(timed out)" if timed_out else "%.1f ms" % rec["last_ms"]))
        result["closed_early"] += closed
        # drop the sockets that closed: the next rounds wait for the others
        if closed:
            socks = [s for s in socks if s.fileno() >= 0 and not _closed(s)]
        if not socks:
            break
        gc.collect()
        time.sleep(opts.interval / 1000.0)

    rounds = result["rounds"]
    lasts = sorted(r["last_ms"] for r in rounds if r["last_ms"] is not None)
    medians = sorted(r["median_ms"] for r in rounds if r["median_ms"] is not None)
    result["incomplete_rounds"] = sum(1 for r in rounds if r["last_ms"] is None)
    if lasts:
        result["last_p50_ms"] = statistics.median(lasts)
        result["last_max_ms"] = lasts[-1]
    if medians:
        result["median_p50_ms"] = statistics.median(medians)
    if counted:
        result["server_user_ms_per_round"] = user / counted
        result["server_sys_ms_per_round"] = system / counted
        result["server_cpu_ms_per_round"] = (user + system) / counted
    if rounds:
        result["client_cpu_ms_per_round"] = ccpu / len(rounds)
    say("CPU per publish: server %s ms (user %s, system %s), this client %.1f ms" % (
        "%.1f" % result["server_cpu_ms_per_round"] if counted else "n/a",
        "%.1f" % result["server_user_ms_per_round"] if counted else "n/a",
        "%.1f" % result["server_sys_ms_per_round"] if counted else "n/a",
        result["client_cpu_ms_per_round"] or 0))
    for s in socks:
        s.close()
    result["server_alive"] = not opts.pid or os.path.exists("/proc/%d" % opts.pid)
    print(json.dumps(result))
    return 0


def _closed(s):
    """Whether the peer closed s (a read of 0 bytes without waiting)."""
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


if __name__ == "__main__":
    sys.exit(main())

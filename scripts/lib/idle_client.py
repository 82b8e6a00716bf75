#!/usr/bin/env python3
"""idle_client.py PORT N PID...: what an idle keep-alive connection costs a
server. Opens N connections to 127.0.0.1:PORT, each sends one GET / and reads
its answer (it must hold "Hello, world") and then waits; prints the growth of
the summed VmRSS of the PIDs (the server's processes) over N, in bytes, once
it has settled. A few connections are opened first, so that one-time
allocations are not counted. For scripts/bench's memory scenario. Exit 0, or
1 when an answer is missing."""
import resource
import socket
import sys
import time

REQ = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
BATCH = 200  # connections sending at once: within every server's listen backlog


def rss(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%s/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass  # gone (a reaped helper)
    return total


def settled(pids):
    last = rss(pids)
    for _ in range(30):
        time.sleep(0.2)
        now = rss(pids)
        if now == last:
            break
        last = now
    return last


def open_idle(port, n):
    socks = []
    for i in range(0, n, BATCH):
        batch = [socket.create_connection(("127.0.0.1", port), timeout=30)
                 for _ in range(min(BATCH, n - i))]
        for s in batch:
            s.sendall(REQ)
        for s in batch:
            buf = b""
            while b"Hello, world" not in buf:
                data = s.recv(4096)
                if not data:
                    raise OSError("the server closed a connection before its answer")
                buf += data
        socks.extend(batch)
    return socks


def main(port, n, pids):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 100), hard))
    try:
        warm = open_idle(port, 50)
        before = settled(pids)
        socks = open_idle(port, n)
        after = settled(pids)
    except OSError as e:
        sys.stderr.write("idle_client: %s\n" % e)
        return 1
    for s in socks + warm:
        s.close()
    print((after - before) // n)
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]))

#!/usr/bin/env python3
"""41-metrics: the Prometheus endpoint (`metrics` group).

Scraped with curl and read by a strict parser of the text exposition format
0.0.4 (below): every sample's family has HELP and TYPE first, a family's
samples are together, label values are well escaped, counters end in
_total, and each histogram's buckets are cumulative with +Inf == _count.
Then the numbers: requests by route pattern and status across two workers,
each per-worker series summing to the label-less total, the latency
histogram counting every request, open connections and WebSockets, pub/sub
messages published and delivered; totals that never go back over a reload
and a worker's death; off by default (the master listens on nothing else);
a metrics address that is a public listener refused.
"""

import math
import os
import re
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import galetest  # noqa: E402
from galetest import (Gale, check, curl, eq, fail, free_port, module_path,  # noqa: E402
                      request, run_gale, wait_for)

# ---------------------------------------------------------------- the parser

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)$" % NAME)
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def unescape(v):
    return re.sub(r'\\([\\"n])', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse_labels(text, line):
    labels = {}
    pos = 0
    while pos < len(text):
        m = re.compile(LABEL).match(text, pos)
        check(m, "malformed labels at %r in line %r" % (text[pos:], line))
        check(m.group(1) not in labels, "label %s twice in %r" % (m.group(1), line))
        labels[m.group(1)] = unescape(m.group(2))
        pos = m.end()
        if pos < len(text):
            check(text[pos] == ",", "expected ',' after a label in %r" % line)
            pos += 1
    return labels


def parse_value(v, line):
    if v in ("+Inf", "-Inf", "NaN"):
        return float(v.replace("Inf", "inf"))
    check(re.match(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$", v), "bad value in %r" % line)
    return float(v)


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and types.get(base) == "histogram":
            return base
    return name


def parse(text):
    """{(name, frozenset(labels.items())): value}, after checking the format."""
    check(text.endswith("\n"), "the exposition must end with a newline")
    helps, types, samples, done = {}, {}, {}, set()
    current = None
    for line in text[:-1].split("\n"):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            check(len(parts) == 4 and re.match("^%s$" % NAME, parts[2]), "bad line %r" % line)
            name = parts[2]
            check(name not in done, "family %s starts again after other families" % name)
            store = helps if parts[1] == "HELP" else types
            check(name not in store, "%s given twice for %s" % (parts[1], name))
            if parts[1] == "TYPE":
                check(parts[3] in TYPES, "unknown type in %r" % line)
                check(name not in samples.values(), "TYPE after samples of %s" % name)
            store[name] = parts[3]
            if current and current != name:
                done.add(current)
            current = name
            continue
        check(not line.startswith("#") and line, "unexpected line %r" % line)
        m = SAMPLE.match(line)
        check(m, "malformed sample %r" % line)
        fam = family_of(m.group(1), types)
        check(fam in helps and fam in types, "sample %r without HELP and TYPE before it" % line)
        check(fam == current, "sample %r apart from its family %s" % (line, current))
        if types[fam] == "counter":
            check(m.group(1).endswith("_total"), "counter %s does not end in _total" % m.group(1))
        key = (m.group(1), frozenset(parse_labels(m.group(2) or "", line).items()))
        check(key not in samples, "series given twice: %r" % line)
        samples[key] = parse_value(m.group(3), line)
    for fam, t in types.items():
        if t == "histogram":
            check_histogram(fam, samples)
    return samples


def check_histogram(fam, samples):
    groups = {}
    for (name, labels), v in samples.items():
        if name == fam + "_bucket":
            rest = frozenset((k, x) for k, x in labels if k != "le")
            le = dict(labels).get("le")
            check(le is not None, "a bucket of %s without le" % fam)
            groups.setdefault(rest, []).append((float(le.replace("Inf", "inf")), v))
    check(groups, "histogram %s has no buckets" % fam)
    for rest, buckets in groups.items():
        buckets.sort()
        check(math.isinf(buckets[-1][0]), "%s %r: no +Inf bucket" % (fam, dict(rest)))
        for (a, x), (b, y) in zip(buckets, buckets[1:]):
            check(y >= x, "%s %r: bucket le=%s (%s) below le=%s (%s)" % (fam, dict(rest), b, y, a, x))
        count = samples.get((fam + "_count", rest))
        check(count is not None and (fam + "_sum", rest) in samples,
              "%s %r: no _count or _sum" % (fam, dict(rest)))
        eq(buckets[-1][1], count, "%s %r: +Inf bucket against _count" % (fam, dict(rest)))


def get(samples, name, **labels):
    """The value of one series (0 when absent); worker=None: the summed one."""
    want = frozenset((k, v) for k, v in labels.items())
    return samples.get((name, want), 0)


def series(samples, name):
    return {labels: v for (n, labels), v in samples.items() if n == name}


# ---------------------------------------------------------------- gale

ROUTES = (("/", "hello"), ("/greet/([a-z]+)", "greet"), ('/d/(\\d+)"?', "greet"))


def metrics_conf(mport, extra=""):
    return 'metrics = { address = "127.0.0.1"; port = %d; path = "/stats"; };\n%s' % (mport, extra)


def scrape(mport, path="/stats"):
    r = curl("http://127.0.0.1:%d%s" % (mport, path))
    eq(r.status, 200, "scrape status (%r)" % r)
    check(r.headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
          "Content-Type %r" % r.headers.get("Content-Type"))
    return parse(r.body.decode("utf-8"))


def check_sums(s):
    """Every family: the per-worker series add up to the label-less one."""
    totals = {}
    for (name, labels), v in s.items():
        d = dict(labels)
        if "worker" in d:
            check(d["worker"] in ("0", "1"), "worker label %r" % d["worker"])
            del d["worker"]
            key = (name, frozenset(d.items()))
            totals[key] = totals.get(key, 0) + v
    for key, v in totals.items():
        if key[0].endswith("_sum"):
            check(abs(s.get(key, -1) - v) < 1e-3, "%r: total %s, workers %s" % (key, s.get(key), v))
        else:
            eq(s.get(key), v, "%r: the total against the workers' sum" % (key,))


def hit(g, path, n):
    for _ in range(n):
        request(g.port, "GET", path, headers={"Connection": "close"})


def listening_ports(pid):
    """TCP ports the process listens on (its sockets in /proc/net/tcp*)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(t[8:-1])
    ports = set()
    for f in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(f) as fh:
            for line in fh.readlines()[1:]:
                p = line.split()
                if p[3] == "0A" and p[9] in inodes:
                    ports.add(int(p[1].rsplit(":", 1)[1], 16))
    return ports


# ---------------------------------------------------------------- tests


def test_counts_format_reload_and_death():
    mport = free_port()
    with Gale(workers=2, routes=ROUTES, access_log="off", extra=metrics_conf(mport)) as g:
        hit(g, "/", 20)
        hit(g, "/greet/bob", 6)
        hit(g, "/d/42", 3)
        hit(g, "/nowhere", 4)
        s = scrape(mport)
        eq(get(s, "gale_http_requests_total", route="/", code="200"), 20, "GET / count")
        eq(get(s, "gale_http_requests_total", route="/greet/([a-z]+)", code="200"), 6, "greet count")
        # the pattern as configured, quote and backslash escaped on the wire
        eq(get(s, "gale_http_requests_total", route='/d/(\\d+)"?', code="200"), 3, "escaped route")
        eq(get(s, "gale_http_requests_total", route="", code="404"), 4, "no route: 404")
        workers = {dict(l)["worker"] for l in series(s, "gale_http_requests_total") if "worker" in dict(l)}
        eq(workers, {"0", "1"}, "both workers counted")
        eq(get(s, "gale_http_request_duration_seconds_count"), 33, "latency histogram count")
        check(get(s, "gale_http_request_duration_seconds_sum") > 0, "latency sum")
        eq(get(s, "gale_pubsub_published_total"), 0, "nothing published")
        check_sums(s)
        # other paths and methods of the metrics port
        eq(curl("http://127.0.0.1:%d/metrics" % mport).status, 404, "another path")
        eq(curl("-X", "POST", "http://127.0.0.1:%d/stats" % mport).status, 405, "POST")
        eq(curl("http://127.0.0.1:%d/stats?x=1" % mport).status, 200, "a query")
        # the public port does not serve them
        eq(request(g.port, "GET", "/stats")[0], 404, "metrics on the public port")

        before = s
        g.signal(signal.SIGHUP)
        old = g.workers()
        g.wait_workers(2, timeout=15, without=old)
        hit(g, "/", 5)
        os.kill(g.workers()[0], signal.SIGKILL)  # its counts join the retired total
        wait_for(lambda: len(g.workers()) == 2, 10)
        hit(g, "/", 5)
        after = scrape(mport)
        for key, v in before.items():
            if key[0].endswith(("_total", "_bucket", "_count", "_sum")):
                check(after.get(key, 0) >= v, "%r went back from %s to %s" % (key, v, after.get(key)))
        eq(get(after, "gale_http_requests_total", route="/", code="200"), 30, "GET / after reload")
        eq(get(after, "gale_http_request_duration_seconds_count"), 44, "histogram after reload (+ /stats)")
        check_sums(after)


def ws_open(port, path):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % path).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        check(chunk, "WebSocket handshake: connection closed after %r" % data)
        data += chunk
    check(data.startswith(b"HTTP/1.1 101"), "WebSocket handshake: %r" % data[:200])
    return s


def test_websockets_and_pubsub():
    mport = free_port()
    routes = (("/publish", "publish"), ("/subws", "subws", {"websocket": True}))
    with Gale(workers=2, module=module_path("wstest"), routes=routes, access_log="off",
              extra=metrics_conf(mport)) as g:
        socks = [ws_open(g.port, "/subws?channel=m") for _ in range(3)]
        try:
            ok = wait_for(lambda: get(scrape(mport), "gale_open_websockets") == 3, 5)
            check(ok, "3 open WebSockets: %r" % series(scrape(mport), "gale_open_websockets"))
            check(get(scrape(mport), "gale_open_connections") >= 3, "open connections")
            st = request(g.port, "POST", "/publish?channel=m", body=b"hi",
                         headers={"Connection": "close"})[0]
            eq(st, 204, "publish")
            ok = wait_for(lambda: get(scrape(mport), "gale_pubsub_delivered_total") == 3, 5)
            s = scrape(mport)
            check(ok, "3 deliveries: %r" % series(s, "gale_pubsub_delivered_total"))
            eq(get(s, "gale_pubsub_published_total"), 1, "published")
            check_sums(s)
        finally:
            for sk in socks:
                sk.close()
        ok = wait_for(lambda: get(scrape(mport), "gale_open_websockets") == 0, 5)
        check(ok, "WebSockets closed: %r" % series(scrape(mport), "gale_open_websockets"))
        ok = wait_for(lambda: get(scrape(mport), "gale_open_connections") == 0, 5)
        check(ok, "connections closed: %r" % series(scrape(mport), "gale_open_connections"))


def test_off_by_default():
    with Gale(workers=1) as g:
        eq(listening_ports(g.pid), {g.port}, "the master's listening ports")
        try:
            socket.create_connection(("127.0.0.1", 9145), timeout=2).close()
        except ConnectionRefusedError:
            pass
        else:  # another program may hold it; the master's sockets above decide
            galetest._notes.append("port 9145 is taken by another program")


def test_config_errors():
    port = free_port()
    text = galetest.make_conf(port, extra='metrics = { port = %d; };' % port)
    path = os.path.join(galetest.tempfile.mkdtemp(prefix="gale-test-"), "gale.conf")
    with open(path, "w") as f:
        f.write(text)
    p = run_gale(["-t", "-c", path])
    check(p.returncode != 0 and "is a public listener" in p.stderr,
          "metrics on the public port: %r" % p.stderr)
    with open(path, "w") as f:  # the wildcard covers the loopback address
        f.write(galetest.make_conf(port, address="0.0.0.0", extra='metrics = { port = %d; };' % port))
    p = run_gale(["-t", "-c", path])
    check(p.returncode != 0 and "is a public listener" in p.stderr,
          "metrics on a port the wildcard listener holds: %r" % p.stderr)
    with open(path, "w") as f:
        f.write(galetest.make_conf(port, extra='metrics = { path = "stats"; };'))
    p = run_gale(["-t", "-c", path])
    check(p.returncode != 0 and "starts with /" in p.stderr, "a path without /: %r" % p.stderr)
    galetest.shutil.rmtree(os.path.dirname(path), ignore_errors=True)


if __name__ == "__main__":
    galetest.main()

#!/usr/bin/env python3
"""03-limits: max_header_size (431), max_headers (431), max_uri_size (414),
max_body_size (413, by Content-Length and by chunked total), header_timeout
(total time, slowloris), body_timeout and idle_timeout."""

import os
import socket
import time

from galetest import Gale, check, check_error, chunked, eq, main, parse_responses, req, wait_for

LIMITS = {
    "max_header_size": 4096,
    "max_uri_size": 1024,
    "max_headers": 20,
    "max_body_size": 65536,
    "header_timeout": 1.0,
    "body_timeout": 1.0,
    "idle_timeout": 1.0,
    "send_timeout": 5.0,
}


def limited(**kw):
    return Gale(workers=1, limits=LIMITS, **kw)


def one_error(g, data, status, what, timeout=5.0):
    """Send data; expect exactly one answer `status`, then the close."""
    got = g.raw(data, timeout=timeout)
    rs = parse_responses(got)
    check(rs, "%s: no answer (closed=%s, reset=%s, data %r)" % (what, got.closed, got.reset,
                                                               got[:300]))
    check_error(rs[0], status, what)
    eq(len(rs), 1, "%s: number of answers (%r)" % (what, got[:500]))
    check(got.closed, "%s: connection not closed after %d" % (what, status))
    return rs[0]


def still_serving(g, ws):
    status, _, body = g.get("/")
    eq((status, body), (200, b"Hello, world"), "GET / afterwards")
    eq(g.workers(), ws, "worker pids (a worker died?)")


def test_header_line_too_large():
    with limited() as g:
        ws = g.wait_workers(1)
        one_error(g, req("GET", "/", [("X-Big", "a" * 5000)]) + req("GET", "/greet/after"),
                  431, "one 5000-byte header")
        still_serving(g, ws)


def test_head_too_large_many_fields():
    with limited() as g:
        hs = [("X-F%d" % i, "b" * 300) for i in range(15)]  # 15 fields < max_headers, > 4096 bytes
        one_error(g, req("GET", "/", hs), 431, "15 headers of 300 bytes")


def test_head_under_limit_ok():
    with limited() as g:
        hs = [("X-F%d" % i, "c" * 250) for i in range(10)]
        data = g.raw(req("GET", "/", hs + [("Connection", "close")]))
        rs = parse_responses(data)
        eq([(r.status, r.body) for r in rs], [(200, b"Hello, world")], "2.7 KB head")


def test_too_many_headers():
    with limited() as g:
        hs = [("X-N%d" % i, "v") for i in range(20)]  # with Host: 21 fields
        one_error(g, req("GET", "/", hs), 431, "21 header fields")


def test_max_headers_exact_ok():
    with limited() as g:
        hs = [("X-N%d" % i, "v") for i in range(18)] + [("Connection", "close")]  # 20 with Host
        rs = parse_responses(g.raw(req("GET", "/", hs)))
        eq([r.status for r in rs], [200], "20 header fields (= max_headers)")


def test_uri_too_long():
    with limited() as g:
        one_error(g, req("GET", "/greet/" + "a" * 1018), 414, "1025-byte request-target")
        one_error(g, req("GET", "/" + "b" * 3000), 414, "3001-byte request-target")
        one_error(g, req("GET", "/?" + "q" * 2000), 414, "2002-byte target, long query")


def test_uri_at_limit_ok():
    with limited() as g:
        name = "a" * (1024 - len("/greet/"))
        rs = parse_responses(g.raw(req("GET", "/greet/" + name, [("Connection", "close")])))
        eq([(r.status, r.body) for r in rs], [(200, ("Hello, " + name).encode())],
           "1024-byte request-target (= max_uri_size)")


def test_body_too_large_content_length():
    """413 from the Content-Length alone: the body is never sent."""
    with limited() as g:
        ws = g.wait_workers(1)
        one_error(g, req("POST", "/echo", [("Content-Length", "65537")]), 413,
                  "Content-Length 65537")
        one_error(g, req("POST", "/echo", [("Content-Length", "99999999999")]), 413,
                  "Content-Length 99999999999")
        still_serving(g, ws)


def test_body_too_large_with_expect():
    """Expect: 100-continue with a too large body: 413 and no 100 Continue."""
    with limited() as g:
        got = g.raw(req("POST", "/echo", [("Content-Length", "70000"), ("Expect", "100-continue")]))
        rs = parse_responses(got)
        check(rs, "no answer: %r" % got)
        check(rs[0].status != 100, "100 Continue sent for a body over max_body_size: %r" % got)
        check_error(rs[0], 413, "Expect with a too large body")


def test_body_at_limit_ok():
    with limited() as g:
        body = b"q" * 65536
        status, _, got = g.request("POST", "/echo", body)
        eq((status, len(got)), (200, 65536), "65536-byte body (= max_body_size)")


def test_body_too_large_chunked():
    with limited() as g:
        ws = g.wait_workers(1)
        body = chunked(b"x" * 40000, b"y" * 40000)
        one_error(g, req("POST", "/echo", [("Transfer-Encoding", "chunked")], body), 413,
                  "80000 bytes chunked")
        still_serving(g, ws)


def test_body_chunk_size_over_limit():
    """A chunk size line announcing more than max_body_size is refused at once."""
    with limited() as g:
        one_error(g, req("POST", "/echo", [("Transfer-Encoding", "chunked")], b"20000\r\nab"),
                  413, "one chunk of 0x20000 announced")


def test_body_chunked_at_limit_ok():
    with limited() as g:
        body = chunked(*[b"w" * 8192] * 8)
        data = g.raw(req("POST", "/echo", [("Transfer-Encoding", "chunked"),
                                           ("Connection", "close")], body))
        rs = parse_responses(data)
        eq([(r.status, len(r.body)) for r in rs], [(200, 65536)], "65536 bytes chunked")


def _no_answer_or(c, statuses, what):
    rs = parse_responses(c.buf)
    if rs:
        check(rs[0].status in statuses, "%s: unexpected answer %r" % (what, c.buf[:300]))


def test_header_timeout_partial_line():
    with limited() as g:
        with g.conn() as c:
            c.send(b"GET / HT")
            check(c.wait_closed(5), "half a request line: not closed within 5 s "
                  "(header_timeout = 1)")
            _no_answer_or(c, (408,), "header timeout")


def test_header_timeout_no_bytes():
    with limited() as g:
        with g.conn() as c:
            check(c.wait_closed(5), "silent new connection not closed within 5 s")


def _slowloris(g, pieces, what):
    """Send pieces every 0.3 s (at most ~6 s); the head timeout is a total limit."""
    with g.conn() as c:
        t0 = time.monotonic()
        closed_at = None
        for p in pieces:
            try:
                c.send(p)
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.monotonic()
                break
            if c.wait_closed(0.3):
                closed_at = time.monotonic()
                break
            if time.monotonic() - t0 > 6:
                break
        check(closed_at is not None, "%s: still open after %.1fs (header_timeout = 1)"
              % (what, time.monotonic() - t0))
        check(closed_at - t0 < 5, "%s: closed only after %.1fs" % (what, closed_at - t0))
        _no_answer_or(c, (408,), what)


def test_header_timeout_slowloris_bytes():
    with limited() as g:
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40
        _slowloris(g, [head[i:i + 1] for i in range(len(head))], "a byte every 0.3 s")


def test_header_timeout_slowloris_lines():
    with limited() as g:
        lines = [b"GET / HTTP/1.1\r\nHost: x\r\n"] + [b"X-L%d: v\r\n" % i for i in range(19)]
        _slowloris(g, lines, "a header line every 0.3 s")


def test_body_timeout():
    with limited() as g:
        with g.conn() as c:
            c.send(req("POST", "/echo", [("Content-Length", "100")], b"0123456789"))
            check(c.wait_closed(5), "body stalled after 10 of 100 bytes: not closed within 5 s "
                  "(body_timeout = 1)")
            _no_answer_or(c, (408, 400), "body timeout")


def test_idle_timeout_keepalive():
    with limited() as g:
        with g.conn() as c:
            c.send(req("GET", "/"))
            r = c.read_response()
            eq(r.status, 200, "status")
            check(c.wait_closed(5), "idle keep-alive connection not closed within 5 s "
                  "(idle_timeout = 1)")
            eq(c.buf, b"", "bytes sent on an idle connection")


def test_keepalive_within_idle_timeout():
    with limited() as g:
        with g.conn() as c:
            for i in range(4):
                c.send(req("GET", "/"))
                r = c.read_response()
                eq(r.status, 200, "request %d" % i)
                time.sleep(0.3)


def test_slow_handler_not_cut_by_timeouts():
    """header/idle timeouts (1 s) do not apply while a handler works for 2.5 s."""
    with limited() as g:
        with g.conn(timeout=15) as c:
            c.send(req("GET", "/slow?delay=2.5"))
            r = c.read_response(timeout=15)
            eq((r.status, r.body), (200, b"slow"), "/slow?delay=2.5")


def _sockets(pid):
    """Number of sockets the process holds open."""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass
    return n


def _settled_sockets(pid):
    """The sockets pid holds once that number has stayed put for 0.5 s (at most
    5 s): the connection that Gale.wait_ready opened and closed at once may
    still be held by a slow (sanitizer) worker, and a base that counts it
    hides the next connection. The lowest count seen."""
    low = last = _sockets(pid)
    stable, end = 0, time.monotonic() + 5
    while stable < 5 and time.monotonic() < end:
        time.sleep(0.1)
        n = _sockets(pid)
        stable = stable + 1 if n == last else 0
        low, last = min(low, n), n
    return low


def test_send_timeout():
    """A client that stops reading a 6 MB answer is dropped after send_timeout
    (5 s here). Seen from the worker: its socket count goes back down (from
    the client the close is hidden behind megabytes still in kernel buffers)."""
    with limited() as g:
        w = g.wait_workers(1)[0]
        base = _settled_sockets(w)
        body = b"s" * 60000
        s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            for _ in range(100):  # 100 pipelined echoes of 60000 bytes
                s.sendall(req("POST", "/echo", [("Content-Length", str(len(body)))], body))
            check(wait_for(lambda: _sockets(w) > base, 5), "the worker holds no new socket")
            t0 = time.monotonic()
            dropped = wait_for(lambda: _sockets(w) <= base, 12, step=0.2)
            check(dropped, "worker still holds the connection %.1fs after the client stopped "
                  "reading (send_timeout = 5)" % (time.monotonic() - t0))
        finally:
            s.close()


def test_limits_defaults_allow_normal_traffic():
    """Without a limits block, a 12 KB head and a 1 MB body pass."""
    with Gale(workers=1) as g:
        rs = parse_responses(g.raw(req("GET", "/", [("X-Big", "d" * 12000), ("Connection", "close")])))
        eq([r.status for r in rs], [200], "12 KB head with default limits")
        status, _, got = g.request("POST", "/echo", b"e" * (1 << 20), timeout=30)
        eq((status, len(got)), (200, 1 << 20), "1 MiB body with default limits")


if __name__ == "__main__":
    main()

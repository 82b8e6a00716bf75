#!/usr/bin/env python3
"""02-keepalive: persistent connections, pipelining, HTTP/1.0, Connection: close,
Expect: 100-continue, chunked request bodies on a reused connection."""

import http.client
import socket
import threading
import time

from galetest import (Gale, check, chunked, curl, eq, fail, keepalive_gets, main, parse_responses,
                      req)


def test_keepalive_default_http11():
    with Gale(workers=1) as g:
        keepalive_gets(g, 20, "/greet/abc", b"Hello, abc")


def test_http_client_reuses_connection():
    with Gale(workers=1) as g:
        c = http.client.HTTPConnection("127.0.0.1", g.port, timeout=10)
        try:
            socks = set()
            for i in range(10):
                c.request("GET", "/")
                r = c.getresponse()
                eq((r.status, r.read()), (200, b"Hello, world"), "request %d" % i)
                socks.add(c.sock.getsockname() if c.sock else None)
            eq(len(socks), 1, "http.client connections used (%r)" % socks)
        finally:
            c.close()


def test_curl_reuses_connection():
    with Gale(workers=1) as g:
        r = curl("-v", g.url("/greet/one"), g.url("/greet/two"))
        eq(r.rc, 0, "curl exit status (%s)" % r.stderr[-500:])
        check("Re-using existing connection" in r.stderr,
              "curl did not reuse the connection:\n%s" % r.stderr[-2000:])


def test_pipelined_in_order():
    with Gale(workers=1) as g:
        data = g.raw(req("GET", "/slow?delay=0.5") + req("GET", "/greet/b") +
                     req("GET", "/greet/c", [("Connection", "close")]), timeout=10)
        rs = parse_responses(data)
        eq([(r.status, r.body) for r in rs],
           [(200, b"slow"), (200, b"Hello, b"), (200, b"Hello, c")], "pipelined answers")
        check(data.closed, "not closed after Connection: close")


def test_pipelined_many():
    with Gale(workers=1) as g:
        names = ["n" + "abcdefghij"[i % 10] * (1 + i // 10) for i in range(50)]
        blob = b"".join(req("GET", "/greet/" + n) for n in names[:-1])
        blob += req("GET", "/greet/" + names[-1], [("Connection", "close")])
        data = g.raw(blob, timeout=10)
        rs = parse_responses(data)
        eq([r.body for r in rs], [("Hello, " + n).encode() for n in names], "50 pipelined answers")


def test_pipelined_with_bodies():
    with Gale(workers=1) as g:
        blob = (req("POST", "/echo", [("Content-Length", "5")], b"first") +
                req("POST", "/echo", [("Transfer-Encoding", "chunked")], chunked("sec", "ond")) +
                req("HEAD", "/") +
                req("GET", "/", [("Connection", "close")]))
        data = g.raw(blob, timeout=10)
        rs = parse_responses(data, ["POST", "POST", "HEAD", "GET"])
        eq([(r.status, r.body) for r in rs],
           [(200, b"first"), (200, b"second"), (200, b""), (200, b"Hello, world")],
           "pipelined answers (data %r)" % data)


def test_split_request_bytes():
    """A request arriving one byte at a time is still parsed."""
    with Gale(workers=1) as g:
        with g.conn() as c:
            for b in req("POST", "/echo", [("Content-Length", "4")], b"abcd"):
                c.send(bytes([b]))
                time.sleep(0.002)
            r = c.read_response()
        eq((r.status, r.body), (200, b"abcd"), "byte-by-byte request")


def test_http10_closes():
    with Gale(workers=1) as g:
        data = g.raw(b"GET / HTTP/1.0\r\n\r\n" + req("GET", "/greet/second"))
        check(data.closed, "HTTP/1.0 without keep-alive: connection not closed; got %r" % data)
        rs = parse_responses(data)
        eq([(r.status, r.body) for r in rs], [(200, b"Hello, world")], "answers")


def test_http10_keepalive():
    with Gale(workers=1) as g:
        with g.conn() as c:
            for i in range(3):
                c.send(b"GET /greet/ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
                r = c.read_response()
                eq((r.status, r.body), (200, b"Hello, ten"), "HTTP/1.0 keep-alive request %d" % i)
            check(not c.closed, "server closed an HTTP/1.0 keep-alive connection")


def test_http10_keepalive_header():
    """An HTTP/1.0 client only keeps the connection when the answer says keep-alive."""
    with Gale(workers=1) as g:
        with g.conn() as c:
            c.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = c.read_response()
        check("keep-alive" in r.headers.tokens("connection"),
              "answer to HTTP/1.0 keep-alive lacks Connection: keep-alive: %r" % r.head)
        check(r.headers.get("content-length") is not None,
              "a persistent HTTP/1.0 answer needs Content-Length: %r" % r.head)


def test_connection_close_http11():
    with Gale(workers=1) as g:
        data = g.raw(req("GET", "/", [("Connection", "close")]) + req("GET", "/greet/second"))
        check(data.closed, "Connection: close: connection not closed; got %r" % data)
        rs = parse_responses(data)
        eq([(r.status, r.body) for r in rs], [(200, b"Hello, world")], "answers")
        check("close" in rs[0].headers.tokens("connection"),
              "answer to Connection: close lacks Connection: close: %r" % rs[0].head)


def test_expect_100_continue():
    with Gale(workers=1) as g:
        with g.conn() as c:
            c.send(req("POST", "/echo", [("Content-Length", "5"), ("Expect", "100-continue")]))
            r = c.read_response(timeout=5)
            eq(r.status, 100, "interim answer before sending the body (%r)" % r.head)
            check(r.head.startswith(b"HTTP/1.1 100 Continue\r\n"),
                  "100 Continue status line: %r" % r.head)
            c.send(b"howdy")
            r = c.read_response()
            eq((r.status, r.body), (200, b"howdy"), "final answer")
            # the connection stays usable
            c.send(req("GET", "/"))
            r = c.read_response()
            eq((r.status, r.body), (200, b"Hello, world"), "next request")


def test_expect_100_continue_curl():
    with Gale(workers=1) as g:
        body = "0123456789" * 300
        r = curl("-H", "Expect: 100-continue", "--expect100-timeout", "10", "--data-binary", body,
                 g.url("/echo"))
        eq(r.rc, 0, "curl exit status (%s)" % r.stderr)
        eq([b[0] for b in r.blocks], [100, 200], "curl saw 100 then 200")
        eq(r.body, body.encode(), "echoed body")


def test_chunked_extensions_and_trailers():
    with Gale(workers=1) as g:
        body = (b"5;name=value\r\nhello\r\n"
                b"1 ; x = \"q\"\r\n!\r\n"
                b"A\r\n0123456789\r\n"
                b"0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n")
        with g.conn() as c:
            c.send(req("POST", "/echo", [("Transfer-Encoding", "chunked")], body))
            r = c.read_response()
            eq((r.status, r.body), (200, b"hello!0123456789"), "decoded body")
            c.send(req("GET", "/"))
            r = c.read_response()
            eq((r.status, r.body), (200, b"Hello, world"), "next request after trailers")


def test_body_is_not_a_request():
    """A body that looks like a request is data, not the next request."""
    with Gale(workers=1) as g:
        inner = req("GET", "/greet/smuggled")
        with g.conn() as c:
            c.send(req("POST", "/echo", [("Content-Length", str(len(inner)))], inner))
            r = c.read_response()
            eq((r.status, r.body), (200, inner), "echo of a request-shaped body")
            c.send(req("GET", "/greet/real"))
            r = c.read_response()
            eq((r.status, r.body), (200, b"Hello, real"), "next request")


def test_unused_body_is_skipped():
    """405 for a POST with a body: the body is skipped (or the connection closed),
    never parsed as a request."""
    with Gale(workers=1) as g:
        inner = req("GET", "/greet/smuggled")
        data = g.raw(req("POST", "/", [("Content-Length", str(len(inner)))], inner) +
                     req("GET", "/greet/real", [("Connection", "close")]))
        check(b"smuggled" not in data, "a request inside a body was answered: %r" % data)
        rs = parse_responses(data)
        check(rs and rs[0].status == 405, "first answer should be 405: %r" % data)
        if len(rs) > 1:
            eq((rs[1].status, rs[1].body), (200, b"Hello, real"), "second answer")
        eq(len(rs) <= 2, True, "at most two answers (%r)" % data)


def test_large_response_then_next():
    with Gale(workers=1) as g:
        body = b"z" * (256 * 1024)
        with g.conn(timeout=15) as c:
            c.send(req("POST", "/echo", [("Content-Length", str(len(body)))], body))
            r = c.read_response()
            eq((r.status, len(r.body)), (200, len(body)), "256 KiB echo")
            c.send(req("GET", "/"))
            r = c.read_response()
            eq((r.status, r.body), (200, b"Hello, world"), "next request")


def test_pipelined_flood_with_concurrent_reader():
    """500 pipelined requests sent in one go while a reader thread reads: all
    answered in order (back-pressure, no lost or reordered answer)."""
    with Gale(workers=1) as g:
        with g.conn(timeout=20) as c:
            names = ["x" + "abcdefghijklmnopqrstuvwxyz"[i % 26] * (1 + i // 26) for i in range(500)]
            blob = b"".join(req("GET", "/greet/" + n) for n in names)
            blob += req("POST", "/echo", [("Content-Length", "3"), ("Connection", "close")], b"end")
            t = threading.Thread(target=c.send, args=(blob,))
            t.start()
            check(c.wait_closed(20), "connection not closed after the last request")
            t.join(10)
        rs = parse_responses(c.buf)
        eq([r.body for r in rs], [("Hello, " + n).encode() for n in names] + [b"end"],
           "answers of 501 pipelined requests")


def test_slow_reader_gets_everything():
    """An 8 MiB answer (more than socket buffers hold) read 8 KiB at a time
    with pauses arrives whole."""
    with Gale(workers=1) as g:
        body = bytes(range(251)) * ((8 << 20) // 251)
        s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        try:
            s.sendall(req("POST", "/echo", [("Content-Length", str(len(body))),
                                            ("Connection", "close")], body))
            chunks, n, end = [], 0, time.monotonic() + 30
            while time.monotonic() < end:
                b = s.recv(8192)
                if not b:
                    break
                chunks.append(b)
                n += 1
                if n % 32 == 0:
                    time.sleep(0.002)
        finally:
            s.close()
        rs = parse_responses(b"".join(chunks))
        eq(len(rs), 1, "answers")
        eq(len(rs[0].body), len(body), "length of the 8 MiB echo read slowly")
        check(rs[0].body == body, "8 MiB echo read slowly differs")


def test_keepalive_requests_limit():
    with Gale(workers=1, limits={"keepalive_requests": 3}) as g:
        with g.conn() as c:
            for i in range(3):
                c.send(req("GET", "/"))
                r = c.read_response()
                eq(r.status, 200, "request %d" % i)
            check("close" in r.headers.tokens("connection"),
                  "third answer of keepalive_requests = 3 should say close: %r" % r.head)
            check(c.wait_closed(5), "connection not closed after keepalive_requests")


def test_many_requests_one_connection():
    with Gale(workers=1) as g:
        with g.conn() as c:
            for i in range(300):
                c.send(req("GET", "/"))
                r = c.read_response()
                if r.status != 200 or r.body != b"Hello, world":
                    fail("request %d: %d %r" % (i, r.status, r.body))


if __name__ == "__main__":
    main()

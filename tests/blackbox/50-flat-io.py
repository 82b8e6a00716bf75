#!/usr/bin/env python3
"""50-flat-io: a plain connection reads a request head straight into its head
buffer and writes a finished answer with one sendmsg from flat memory, falling
back to its queued buffers where that does not fit: heads that arrive in
pieces or outgrow the first buffer, bodies and pipelined requests that come
with a head, an answer the socket does not take at once, answers before a
close."""

import time

from galetest import Gale, check, eq, keepalive_gets, main, parse_responses, req


def test_head_in_pieces_then_body_and_pipelined():
    with Gale(workers=1) as g:
        body = b"b" * 3000
        data = req("POST", "/echo", [("Content-Type", "text/plain"),
                                      ("Content-Length", str(len(body)))], body=body) + \
            req("GET", "/greet/next")
        with g.conn() as c:
            # the head trickles in; its last piece brings the body and the next request
            cut = data.index(b"\r\n\r\n") - 5
            for i in range(0, cut, 7):
                c.send(data[i:min(i + 7, cut)])
                time.sleep(0.002)
            c.send(data[cut:])
            r = c.read_response("POST")
            eq((r.status, len(r.body), r.body == body), (200, len(body), True), "echoed body")
            r = c.read_response()
            eq((r.status, r.body), (200, b"Hello, next"), "pipelined request behind the body")


def test_head_larger_than_first_buffer():
    with Gale(workers=1) as g:
        big = [("X-Big", "v" * 9000)]
        with g.conn() as c:
            c.send(req("GET", "/greet/whole", big))
            r = c.read_response()
            eq((r.status, r.body), (200, b"Hello, whole"), "a 9 KiB head in one send")
            data = req("GET", "/greet/pieces", big)
            for i in range(0, len(data), 1500):
                c.send(data[i:i + 1500])
                time.sleep(0.002)
            r = c.read_response()
            eq((r.status, r.body), (200, b"Hello, pieces"), "a 9 KiB head in pieces")
        with g.conn() as c:
            c.send(req("GET", "/", [("X-Big", "v" * 20000)]))
            r = c.read_response()
            eq(r.status, 431, "a head over max_header_size")


def test_large_body_with_head_and_slow_reader():
    with Gale(workers=1) as g:
        body = bytes(range(256)) * 8192  # 2 MiB: more than the socket takes at once
        with g.conn(timeout=30) as c:
            c.send(req("POST", "/echo", [("Content-Type", "application/octet-stream"),
                                     ("Content-Length", str(len(body)))], body=body))
            time.sleep(0.3)  # the answer fills the socket before this client reads
            r = c.read_response("POST", timeout=30)
            eq((r.status, len(r.body)), (200, len(body)), "2 MiB echoed")
            check(r.body == body, "the echoed body differs from the one sent")
            c.send(req("GET", "/greet/after"))
            r = c.read_response()
            eq((r.status, r.body), (200, b"Hello, after"), "the connection goes on after it")


def test_big_answer_in_one_piece_partly_taken():
    # one 8 MB greeting: the head and the body go to sendmsg together, the
    # socket takes part of it, the rest is queued behind in order
    greeting = "0123456789abcdef" * (8 * 1024 * 1024 // 16)
    with Gale(workers=1, greeting=greeting, extra="etag = false;") as g:
        with g.conn(timeout=30) as c:
            for i in range(2):
                c.send(req("GET", "/"))
                time.sleep(0.2)  # the answer fills the socket before this client reads
                r = c.read_response(timeout=30)
                eq((r.status, len(r.body)), (200, len(greeting)), "answer %d's length" % i)
                check(r.body == greeting.encode(), "answer %d differs from the greeting" % i)


def test_answers_before_close():
    with Gale(workers=1) as g:
        data = g.raw(req("GET", "/greet/close", [("Connection", "close")]))
        rs = parse_responses(data)
        eq([(r.status, r.body) for r in rs], [(200, b"Hello, close")], "Connection: close")
        check(data.closed, "not closed after Connection: close")
        data = g.raw(b"GET /greet/old HTTP/1.0\r\n\r\n")
        rs = parse_responses(data)
        eq([(r.status, r.body) for r in rs], [(200, b"Hello, old")], "HTTP/1.0")
        data = g.raw(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        rs = parse_responses(data, ["HEAD"])
        eq([(r.status, r.body, r.headers.get("content-length")) for r in rs],
           [(200, b"", "12")], "HEAD")


def test_many_keepalive_requests_then_stop():
    with Gale(workers=1) as g:
        keepalive_gets(g, 200)
        g.check_log()


if __name__ == "__main__":
    main()

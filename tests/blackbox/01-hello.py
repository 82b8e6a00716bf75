#!/usr/bin/env python3
"""01-hello: the demo module's handlers through real clients (curl, http.client,
raw sockets): hello, greet, echo, stream, slow; 404 and 405."""

import threading
import time

from galetest import (Gale, check, check_common, check_error, chunked, curl, eq, main,
                      parse_responses, req)


def test_get_with_curl():
    with Gale(workers=1) as g:
        r = curl(g.url("/"))
        eq(r.rc, 0, "curl exit status (%s)" % r.stderr)
        eq(r.status, 200, "status")
        eq(r.body, b"Hello, world", "body")
        check(r.headers.get("content-type", "").startswith("text/plain"),
              "Content-Type should be text/plain: %r" % r.headers)
        eq(r.headers.get("content-length"), "12", "Content-Length")
        check(r.headers.get("date"), "no Date header: %r" % r.headers)
        check(r.headers.get("server"), "no Server header: %r" % r.headers)


def test_get_raw_headers():
    with Gale(workers=1) as g:
        with g.conn() as c:
            c.send(req("GET", "/"))
            r = c.read_response()
        eq(r.version, "HTTP/1.1", "response version")
        eq(r.status, 200, "status")
        eq(r.body, b"Hello, world", "body")
        check_common(r)
        check(not r.chunked, "a finished small answer should have Content-Length, not chunked")


def test_greeting_setting():
    with Gale(workers=1, greeting='Bonjour, "le" monde') as g:
        status, _, body = g.get("/")
        eq(status, 200, "status")
        eq(body, b'Bonjour, "le" monde', "body")


def test_head_same_length_no_body():
    with Gale(workers=1) as g:
        # HEAD then GET pipelined: a body sent for HEAD would be read as the
        # next response and break the parse.
        data = g.raw(req("HEAD", "/") + req("GET", "/", [("Connection", "close")]))
        rs = parse_responses(data, ["HEAD", "GET"])
        eq([r.status for r in rs], [200, 200], "statuses of HEAD, GET (data %r)" % data)
        eq(rs[0].body, b"", "HEAD body")
        eq(rs[0].headers.get("content-length"), "12", "HEAD Content-Length")
        eq(rs[1].body, b"Hello, world", "GET body after HEAD")
        check_common(rs[0], "HEAD")


def test_head_with_curl():
    with Gale(workers=1) as g:
        r = curl("-I", g.url("/"))
        eq(r.rc, 0, "curl exit status (%s)" % r.stderr)
        eq(r.status, 200, "status")
        eq(r.headers.get("content-length"), "12", "Content-Length")
        check(b"Hello" not in r.body, "HEAD answered a body: %r" % r.body)  # -I writes the head


def test_greet_capture():
    with Gale(workers=1) as g:
        for name in ("alice", "bob", "z"):
            status, _, body = g.get("/greet/" + name)
            eq(status, 200, "status of /greet/" + name)
            eq(body, ("Hello, " + name).encode(), "body of /greet/" + name)
        status, _, body = g.get("/greet/carol?x=1&y=2")
        eq((status, body), (200, b"Hello, carol"), "query string is not part of the path")


def test_route_matches_whole_path():
    with Gale(workers=1) as g:
        for path in ("/greet/Alice", "/greet/", "/greet/alice/more", "/xgreet/alice", "/greet"):
            status, h, body = g.get(path)
            eq(status, 404, "status of %s (body %r)" % (path, body))


def test_404():
    with Gale(workers=1) as g:
        with g.conn() as c:
            c.send(req("GET", "/no/such/thing"))
            r = c.read_response()
        check_error(r, 404, "GET /no/such/thing")


def test_405_allow():
    with Gale(workers=1) as g:
        with g.conn() as c:
            c.send(req("POST", "/", [("Content-Length", "0")]))
            r = c.read_response()
        check_error(r, 405, "POST /")
        allow = r.headers.tokens("allow")
        check("get" in allow and "head" in allow, "Allow should list GET and HEAD: %r" % r.headers)
        check("post" not in allow, "Allow lists POST, which was refused: %r" % r.headers)
        status, h, _ = g.request("DELETE", "/greet/bob")
        eq(status, 405, "DELETE /greet/bob")
        check("get" in h.tokens("allow"), "Allow should list GET: %r" % h)


def test_echo_post():
    with Gale(workers=1) as g:
        body = b"name=value&x=" + b"y" * 100
        status, h, got = g.request("POST", "/echo", body,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        eq(status, 200, "status")
        eq(got, body, "echoed body")
        eq(h.get("content-type"), "application/x-www-form-urlencoded", "echoed Content-Type")


def test_echo_binary_default_type():
    with Gale(workers=1) as g:
        body = bytes(range(256)) * 16
        with g.conn() as c:
            c.send(req("PUT", "/echo", [("Content-Length", str(len(body)))], body))
            r = c.read_response()
        eq(r.status, 200, "status")
        eq(r.body, body, "echoed binary body")
        eq(r.headers.get("content-type"), "application/octet-stream", "default Content-Type")


def test_echo_any_method():
    with Gale(workers=1) as g:
        for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"):
            body = ("body of %s" % m).encode()
            with g.conn() as c:
                c.send(req(m, "/echo", [("Content-Length", str(len(body)))], body))
                r = c.read_response()
            eq(r.status, 200, "status of %s /echo (%r)" % (m, r.body))
            eq(r.body, body, "body of %s /echo" % m)


def test_echo_empty_body():
    with Gale(workers=1) as g:
        with g.conn() as c:
            c.send(req("POST", "/echo", [("Content-Length", "0")]))
            r = c.read_response()
            eq((r.status, r.body, r.headers.get("content-length")), (200, b"", "0"),
               "POST /echo with an empty body")
            c.send(req("GET", "/echo"))
            r = c.read_response()
            eq((r.status, r.body), (200, b""), "GET /echo without a body")


def test_echo_large_body():
    with Gale(workers=1) as g:
        body = bytes((i * 7 + i // 251) & 0xFF for i in range(1 << 20))
        status, h, got = g.request("POST", "/echo", body, timeout=30)
        eq(status, 200, "status")
        eq(len(got), len(body), "echoed length")
        check(got == body, "echoed 1 MiB body differs")


def test_echo_curl_upload():
    with Gale(workers=1) as g:
        body = "x" * 5000 + "end"
        r = curl("--data-binary", body, "-H", "Content-Type: text/x-test", g.url("/echo"))
        eq(r.rc, 0, "curl exit status (%s)" % r.stderr)
        eq(r.status, 200, "status")
        eq(r.body, body.encode(), "body")
        eq(r.headers.get("content-type"), "text/x-test", "Content-Type")


def test_echo_chunked_request():
    with Gale(workers=1) as g:
        with g.conn() as c:
            c.send(req("POST", "/echo", [("Transfer-Encoding", "chunked")],
                       chunked("hello", " ", "world")))
            r = c.read_response()
        eq(r.status, 200, "status")
        eq(r.body, b"hello world", "decoded body")
        eq(r.headers.get("content-length"), "11", "echo answers with a Content-Length")


def test_stream():
    with Gale(workers=1) as g:
        with g.conn() as c:
            c.send(req("GET", "/stream?n=3"))
            r = c.read_response()
        eq(r.status, 200, "status")
        check(r.chunked, "stream should be chunked on HTTP/1.1: %r" % r.head)
        eq(r.body, b"chunk 1\nchunk 2\nchunk 3\n", "body")
        check(len(r.chunks) >= 2, "stream came in one chunk: %r" % r.chunks)
        check_common(r)
        r = curl(g.url("/stream"))
        eq(r.rc, 0, "curl exit status (%s)" % r.stderr)
        eq(r.body, b"".join(b"chunk %d\n" % i for i in range(1, 6)), "default n=5 body")


def test_stream_http10_not_chunked():
    with Gale(workers=1) as g:
        data = g.raw(b"GET /stream?n=3 HTTP/1.0\r\n\r\n")
        check(data.closed, "HTTP/1.0 stream: connection not closed; got %r" % data)
        rs = parse_responses(data)
        eq(len(rs), 1, "responses (%r)" % data)
        check(not rs[0].chunked, "chunked sent to an HTTP/1.0 client: %r" % rs[0].head)
        eq(rs[0].body, b"chunk 1\nchunk 2\nchunk 3\n", "body")


def test_slow():
    with Gale(workers=1, delay=0.2) as g:
        status, _, body = g.get("/slow")
        eq((status, body), (200, b"slow"), "/slow")
        status, _, body = g.get("/slow?delay=0.1")
        eq((status, body), (200, b"slow"), "/slow?delay=0.1")


def test_slow_does_not_block_worker():
    """One worker: a fast request is answered while /slow waits."""
    with Gale(workers=1) as g:
        done = {}

        def slow():
            try:
                done["slow"] = g.get("/slow?delay=3", timeout=15)
            except Exception as e:
                done["slow"] = e
            done["slow_at"] = time.monotonic()

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        status, _, body = g.get("/")
        fast_at = time.monotonic()
        eq((status, body), (200, b"Hello, world"), "fast request")
        check(t.is_alive(), "the slow request finished before the fast one: the worker blocked?")
        t.join(15)
        check(not t.is_alive(), "slow request did not finish")
        check(not isinstance(done["slow"], Exception), "slow request failed: %r" % (done["slow"],))
        eq(done["slow"][0], 200, "slow status")
        check(done["slow_at"] > fast_at, "slow finished before fast")


def test_slow_concurrent():
    """One worker, 10 concurrent /slow?delay=1: all done well before 10 s."""
    with Gale(workers=1) as g:
        res = []
        lock = threading.Lock()

        def one():
            try:
                r = g.get("/slow?delay=1", timeout=20)
            except Exception as e:
                r = e
            with lock:
                res.append(r)

        t0 = time.monotonic()
        ts = [threading.Thread(target=one) for _ in range(10)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(20)
        took = time.monotonic() - t0
        eq(len(res), 10, "finished requests")
        bad = [r for r in res if isinstance(r, Exception) or r[0] != 200]
        check(not bad, "failed slow requests: %r" % bad)
        check(took < 7.0, "10 concurrent 1 s requests on one worker took %.1fs (serialized?)" % took)


def test_slow_zero_delay():
    with Gale(workers=1) as g:
        with g.conn(timeout=15) as c:
            c.send(req("GET", "/slow?delay=0"))
            r = c.read_response()
        eq((r.status, r.body), (200, b"slow"), "/slow?delay=0")


if __name__ == "__main__":
    main()

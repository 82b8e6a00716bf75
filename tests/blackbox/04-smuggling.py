#!/usr/bin/env python3
"""04-smuggling: malformed and ambiguous requests (RFC 9112) are refused and the
connection closed, so nothing after them can be read as a request.

Every case sends the bad request followed, in the same write, by a valid probe
request (GET /greet/smuggled). The server must answer the bad request once
with the expected error (Date, Server and a text body included), close the
connection, and never answer the probe nor any request hidden in a body.
"""

from galetest import (Gale, check, check_error, chunked, eq, fail, main, parse_responses, req,
                      ParseError)

PROBE = b"GET /greet/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"


def post(headers, body=b"", version="HTTP/1.1", host="x", target="/echo"):
    return req("POST", target, headers, body, version=version, host=host)


def run_cases(cases, probe=True):
    """cases: (name, bytes, allowed statuses). All run on one gale; the failures
    of every case are reported together."""
    errors = []
    with Gale(workers=1) as g:
        ws = g.wait_workers(1)
        for name, data, statuses in cases:
            got = g.raw(data + (PROBE if probe else b""), timeout=5)
            try:
                if b"smuggled" in got:
                    raise AssertionError("the request after it was answered")
                try:
                    rs = parse_responses(got)
                except ParseError as e:
                    raise AssertionError("unparsable answer: %s" % e)
                if not rs:
                    raise AssertionError("no answer (closed=%s reset=%s)" % (got.closed, got.reset))
                check_error(rs[0], statuses, name)
                if len(rs) != 1:
                    raise AssertionError("%d answers" % len(rs))
                if not got.closed:
                    raise AssertionError("connection left open after %d" % rs[0].status)
            except AssertionError as e:
                errors.append("%s: %s\n    sent %r\n    got  %r" % (name, e, data, got[:400]))
        status, _, body = g.get("/")
        eq((status, body), (200, b"Hello, world"), "GET / after the bad requests")
        eq(g.workers(), ws, "worker pids after the bad requests (a worker died?)")
    if errors:
        fail("%d of %d cases failed:\n%s" % (len(errors), len(cases), "\n".join(errors)))


def test_probe_baseline():
    """The probe itself works: a valid request followed by it gets two answers."""
    with Gale(workers=1) as g:
        got = g.raw(post([("Content-Length", "5")], b"hello") + PROBE +
                    req("GET", "/", [("Connection", "close")]), timeout=5)
        rs = parse_responses(got)
        eq([(r.status, r.body) for r in rs],
           [(200, b"hello"), (200, b"Hello, smuggled"), (200, b"Hello, world")],
           "valid request + probe")


def test_content_length_with_transfer_encoding():
    hidden = b"0\r\n\r\n" + PROBE
    run_cases([
        ("CL then TE", post([("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
                            b"0\r\n\r\n"), (400,)),
        ("TE then CL", post([("Transfer-Encoding", "chunked"), ("Content-Length", "5")],
                            b"0\r\n\r\n"), (400,)),
        # CL covers a whole request hidden after the chunked terminator
        ("CL.TE hidden request", post([("Content-Length", str(len(hidden))),
                                       ("Transfer-Encoding", "chunked")], hidden), (400,)),
        ("TE.CL hidden request", post([("Transfer-Encoding", "chunked"), ("Content-Length", "4")],
                                      b"%x\r\n" % len(PROBE) + PROBE + b"\r\n0\r\n\r\n"),
         (400,)),
    ])


def test_bad_content_length():
    cases = [("two different Content-Length",
              post([("Content-Length", "5"), ("Content-Length", "6")], b"hello!"), (400,)),
             ("Content-Length list 5, 6", post([("Content-Length", "5, 6")], b"hello!"), (400,))]
    for v in ("+5", "5 5", "0x5", "-1", "", "abc", "5.0", "1e1"):
        cases.append(("Content-Length %r" % v, post([("Content-Length", v)], b"hello"), (400,)))
    cases.append(("Content-Length overflow",
                  post([("Content-Length", "99999999999999999999999999")], b"hello"), (400, 413)))
    run_cases(cases)


def test_bad_chunk_size():
    cases = []
    for size in (b"zz", b"-1", b"", b"ffffffffffffffffff", b"0x5", b"+5"):
        cases.append(("chunk size %r" % size,
                      post([("Transfer-Encoding", "chunked")],
                           size + b"\r\nhello\r\n0\r\n\r\n"), (400,)))
    run_cases(cases)


def test_bad_chunk_framing():
    te = [("Transfer-Encoding", "chunked")]
    run_cases([
        ("no CRLF after chunk data", post(te, b"5\r\nhelloXX0\r\n\r\n"), (400,)),
        ("chunk data longer than its size", post(te, b"3\r\nhello\r\n0\r\n\r\n"), (400,)),
        ("bare LF after chunk size", post(te, b"5\nhello\r\n0\r\n\r\n"), (400,)),
        ("bare LF after chunk data", post(te, b"5\r\nhello\n0\r\n\r\n"), (400,)),
        # no empty line after the last chunk: the probe would be a trailer line
        ("request as a trailer line", post(te, b"0\r\n"), (400,)),
    ])


def test_bad_header_syntax():
    run_cases([
        ("obs-fold continuation line",
         b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", (400,)),
        ("obs-fold with tab", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n", (400,)),
        ("bare CR in a header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", (400,)),
        ("bare LF line endings", b"GET / HTTP/1.1\nHost: x\n\n", (400,)),
        ("bare LF in one header line", b"GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", (400,)),
        ("space before colon", b"GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", (400,)),
        ("space before colon in Content-Length",
         b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello", (400,)),
        ("space before colon in Transfer-Encoding",
         b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
         (400,)),
        ("NUL in a header value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", (400,)),
        ("NUL in a header name", b"GET / HTTP/1.1\r\nHost: x\r\nX-\x00A: b\r\n\r\n", (400,)),
        ("space inside a header name", b"GET / HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n", (400,)),
        ("empty header name", b"GET / HTTP/1.1\r\nHost: x\r\n: b\r\n\r\n", (400,)),
        ("header line without colon", b"GET / HTTP/1.1\r\nHost: x\r\nX-A b\r\n\r\n", (400,)),
    ])


def test_host_rules():
    run_cases([
        ("HTTP/1.1 without Host", req("GET", "/", host=None), (400,)),
        ("two Host headers", req("GET", "/", [("Host", "y")]), (400,)),
        ("two Host headers, same value", req("GET", "/", [("Host", "x")]), (400,)),
    ])


def test_transfer_encoding_rules():
    not_2xx = tuple(range(400, 600))
    run_cases([
        ("Transfer-Encoding in HTTP/1.0",
         post([("Transfer-Encoding", "chunked")], chunked("hello"), version="HTTP/1.0",
              host=None), (400,)),
        ("Transfer-Encoding: chunked, identity",
         post([("Transfer-Encoding", "chunked, identity")], chunked("hello")), (400, 501)),
        ("Transfer-Encoding: gzip", post([("Transfer-Encoding", "gzip")], b"hello"), not_2xx),
        ("Transfer-Encoding: gzip, chunked",
         post([("Transfer-Encoding", "gzip, chunked")], chunked("hello")), not_2xx),
        ("Transfer-Encoding: xchunked", post([("Transfer-Encoding", "xchunked")], chunked("hi")),
         not_2xx),
        ("Transfer-Encoding: chunked twice in one field",
         post([("Transfer-Encoding", "chunked, chunked")], chunked("hi")), not_2xx),
    ])


def test_http_version():
    run_cases([
        ("HTTP/2.0", req("GET", "/", version="HTTP/2.0"), (505,)),
        ("HTTP/3.0", req("GET", "/", version="HTTP/3.0"), (505,)),
        ("lower-case http/1.1", req("GET", "/", version="http/1.1"), (400,)),
        ("HTTP/1.10", req("GET", "/", version="HTTP/1.10"), (400, 505)),
        ("HTTP/11", req("GET", "/", version="HTTP/11"), (400, 505)),
    ])


def test_bad_request_line():
    run_cases([
        ("two spaces after the method", b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", (400,)),
        ("extra word after the version", b"GET / HTTP/1.1 x\r\nHost: x\r\n\r\n", (400,)),
        ("control character in the target", b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n", (400,)),
        ("bad character in the method", b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", (400,)),
    ])


def test_error_after_good_request():
    """A bad request later on a keep-alive connection: the good one is answered,
    the bad one gets 400 and the close."""
    with Gale(workers=1) as g:
        with g.conn() as c:
            c.send(req("GET", "/"))
            r = c.read_response()
            eq((r.status, r.body), (200, b"Hello, world"), "good request")
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n" + PROBE)
            r = c.read_response()
            check_error(r, 400, "bad request after a good one")
            check(c.wait_closed(5), "connection left open after 400")
            check(b"smuggled" not in c.buf, "probe answered after 400: %r" % c.buf)


if __name__ == "__main__":
    main()

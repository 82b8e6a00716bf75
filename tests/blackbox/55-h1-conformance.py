#!/usr/bin/env python3
"""55-h1-conformance: RFC 9112 / RFC 9110 answers to the request shapes that
04-smuggling, 03-limits and 10-http-misc leave out, each checked on one gale
through raw sockets.

Every case is a table row: the request bytes, the statuses of the answers
expected, and whether the connection must close after them. Each case's bytes
are followed, in the same write, by a probe request and a last request with
Connection: close. On a connection that must close, neither is answered; on
one that stays open both are, in order (so a body left unread or read too far
shows as a wrong answer, not as a timeout).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import Gale, chunked, fail, main, parse_responses, req  # noqa: E402

PROBE = b"GET /greet/probe HTTP/1.1\r\nHost: x\r\n\r\n"
LAST = b"GET /greet/last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
CLOSE, OPEN = True, False
TE = [("Transfer-Encoding", "chunked")]


def post(headers, body=b"", version="HTTP/1.1", host="x", target="/echo"):
    return req("POST", target, headers, body, version=version, host=host)


def get(target="/", headers=(), version="HTTP/1.1", host="x", method="GET"):
    return req(method, target, headers, version=version, host=host)


# (name, request bytes, statuses of its answers, CLOSE or OPEN, optional dict:
#  "bodies": the answers' bodies, "methods": their request methods,
#  "headers": {name: value or None for absent} on the first answer)
CASES = [
    # -- Transfer-Encoding (RFC 9112 6.1): a last coding other than chunked
    #    leaves the length unknowable, a MUST 400; chunked last after a coding
    #    gale does not implement is 501
    ("TE identity", post([("Transfer-Encoding", "identity")], b"hi"), [400], CLOSE),
    ("TE gzip alone", post([("Transfer-Encoding", "gzip")], b"hi"), [400], CLOSE),
    ("TE chunked with a parameter", post([("Transfer-Encoding", "chunked;x=1")], chunked("hi")),
     [400], CLOSE),
    ("TE gzip, then chunked in a second field",
     post([("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")], chunked("hi")),
     [501], CLOSE),
    ("TE upper-case CHUNKED", post([("Transfer-Encoding", "CHUNKED")], chunked("hi")), [200], OPEN,
     {"bodies": [b"hi"]}),
    ("TE list with empty elements", post([("Transfer-Encoding", ", chunked,")], chunked("hi")),
     [200], OPEN, {"bodies": [b"hi"]}),
    # -- Expect (RFC 9110 10.1.1)
    ("Expect: an unknown expectation", post([("Expect", "foo"), ("Content-Length", "2")], b"hi"),
     [417], CLOSE),
    ("Expect: 100-continue and an unknown one",
     post([("Expect", "100-continue, foo=1"), ("Content-Length", "2")], b"hi"), [417], CLOSE),
    ("Expect: unknown, in HTTP/1.0 (ignored)",
     post([("Expect", "foo"), ("Content-Length", "2"), ("Connection", "keep-alive")], b"hi",
          version="HTTP/1.0", host=None), [200], OPEN, {"bodies": [b"hi"]}),
    ("Expect: 100-continue", post([("Expect", "100-Continue"), ("Content-Length", "2")], b"hi"),
     [100, 200], OPEN, {"bodies": [b"", b"hi"]}),
    ("Expect: 100-continue, chunked body",
     post([("Expect", "100-continue")] + TE, chunked("h", "i")), [100, 200], OPEN,
     {"bodies": [b"", b"hi"]}),
    ("Expect: 100-continue without a body (no 100 needed)",
     get(headers=[("Expect", "100-continue")]), [200], OPEN),
    ("Expect: 100-continue on a 404, body sent anyway",
     post([("Expect", "100-continue"), ("Content-Length", str(len(PROBE)))], PROBE,
          target="/nope"), [404], CLOSE),
    # -- versions (RFC 9110 2.5, 6.2, 15.6.6; RFC 9112 2.3)
    ("HTTP/1.2 served as 1.1", get("/greet/v", version="HTTP/1.2"), [200], OPEN,
     {"bodies": [b"Hello, v"]}),
    ("HTTP/1.9 needs Host as 1.1 does", get(version="HTTP/1.9", host=None), [400], CLOSE),
    ("HTTP/0.9", get(version="HTTP/0.9"), [505], CLOSE),
    ("HTTP/3", get(version="HTTP/3"), [400], CLOSE),
    ("HTTP/01.1", get(version="HTTP/01.1"), [400], CLOSE),
    # -- the request line (RFC 9112 3)
    ("tab between method and target", b"GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", [400], CLOSE),
    ("space after the version", b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", [400], CLOSE),
    ("space inside the target", b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", [400], CLOSE),
    ("lower-case method (methods are case-sensitive)", get(method="get"), [501], OPEN),
    # gale tunnels nothing over HTTP/1: what follows a CONNECT may be the
    # tunnel's bytes (here a TLS record header), never read as a request
    ("CONNECT", b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n\x16\x03\x01\x00", [501],
     CLOSE, {"headers": {"Connection": "close"}}),
    ("TRACE", get(method="TRACE"), [405], OPEN, {"headers": {"Allow": "GET, HEAD, OPTIONS"}}),
    ("authority-form with GET", get("x:80"), [400], CLOSE),
    ("CONNECT without authority-form", get("/x", method="CONNECT"), [400], CLOSE),
    ("OPTIONS *", get("*", method="OPTIONS"), [204], OPEN,
     {"headers": {"Content-Length": None,
                  "Allow": "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"}}),
    ("four empty lines before the request", b"\r\n" * 4 + get(), [200], OPEN),
    ("five empty lines before the request", b"\r\n" * 5 + get(), [400], CLOSE),
    # bare LF is refused everywhere, as line ends are (see 04): consistently
    ("an empty line of a bare LF first", b"\n" + get(), [400], CLOSE),
    # -- Host and the target's authority (RFC 9110 7.2, RFC 9112 3.2)
    ("Host with userinfo", get(host="u@x"), [400], CLOSE),
    ("Host with a bad port", get(host="x:8a"), [400], CLOSE),
    ("empty Host", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", [400], CLOSE),
    ("Host with a slash", get(host="x/y"), [400], CLOSE),
    ("Host an IPv6 literal", get(host="[::1]:80"), [200], OPEN),
    ("absolute-form without Host", get("http://abs/greet/a", host=None), [400], CLOSE),
    ("absolute-form, ftp scheme", get("ftp://abs/"), [400], CLOSE),
    ("absolute-form, no path", get("http://abs:80"), [200], OPEN,
     {"bodies": [b"Hello, world"]}),
    ("absolute-form, empty host", get("http:///greet/a"), [400], CLOSE),
    # -- fields (RFC 9110 5.5)
    ("DEL in a field value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n", [400], CLOSE),
    ("obs-text in a field value", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\xffb\r\n\r\n", [200],
     OPEN),
    ("whitespace before the first field", b"GET / HTTP/1.1\r\n Host: x\r\n\r\n", [400], CLOSE),
    ("Upgrade on a route that does not upgrade",
     get(headers=[("Connection", "Upgrade"), ("Upgrade", "websocket")]), [200], OPEN),
    # -- bodies and framing (RFC 9112 6.3, 7.1)
    ("Content-Length on GET", get(headers=[("Content-Length", "5")]) + b"hello", [200], OPEN),
    ("chunked body on GET", get(headers=TE) + chunked("abc"), [200], OPEN),
    ("body on a 404", post([("Content-Length", "5")], b"hello", target="/nope"), [404], OPEN),
    ("chunked body on a 501", post(TE, chunked("hello"), target="/").replace(b"POST", b"BREW", 1),
     [501], OPEN),
    ("Content-Length with leading zeros", post([("Content-Length", "002")], b"hi"), [200], OPEN,
     {"bodies": [b"hi"]}),
    ("Content-Length in a trailer is not framing",
     post(TE, chunked("hi", trailers=[("Content-Length", "50")])), [200], OPEN,
     {"bodies": [b"hi"]}),
    ("chunk extension with a quoted ';'", post(TE, b'2;a="b;c" ; d\r\nhi\r\n0;e=f\r\n\r\n'),
     [200], OPEN, {"bodies": [b"hi"]}),
    ("chunk extension with a control byte", post(TE, b"2;a=\x01\r\nhi\r\n0\r\n\r\n"), [400],
     CLOSE),
    ("chunk size with leading zeros", post(TE, b"0002\r\nhi\r\n000\r\n\r\n"), [200], OPEN,
     {"bodies": [b"hi"]}),
    ("chunk size then a space", post(TE, b"2 \r\nhi\r\n0\r\n\r\n"), [400], CLOSE),
    ("obs-fold in a trailer", post(TE, b"0\r\nA: b\r\n c\r\n\r\n"), [400], CLOSE),
    ("trailer line without colon", post(TE, b"0\r\nfoo\r\n\r\n"), [400], CLOSE),
    # -- connection management (RFC 9112 9.3, 9.6)
    ("Connection: close stops the connection", get(headers=[("Connection", "close")]), [200],
     CLOSE, {"headers": {"Connection": "close"}}),
    ("Connection: keep-alive, close", get(headers=[("Connection", "keep-alive, close")]), [200],
     CLOSE),
    ("HTTP/1.0 closes by default", get(version="HTTP/1.0", host=None), [200], CLOSE),
    # -- answers without a body (RFC 9110 9.3.2, 15.3.5, 15.4.5)
    ("HEAD: GET's Content-Length, no body", get(method="HEAD"), [200], OPEN,
     {"methods": ["HEAD"], "bodies": [b""], "headers": {"Content-Length": "12"}}),
    ("HEAD of a 404", get("/nope", method="HEAD"), [404], OPEN,
     {"methods": ["HEAD"], "bodies": [b""]}),
    ("OPTIONS: 204 without Content-Length", get(method="OPTIONS"), [204], OPEN,
     {"headers": {"Content-Length": None, "Allow": "GET, HEAD, OPTIONS"}}),
]


def run_case(g, case):
    name, data, statuses, must_close = case[:4]
    more = case[4] if len(case) > 4 else {}
    methods = list(more.get("methods", ["GET"] * len(statuses)))
    # only final answers take a method; a 1xx is an entry of its own
    methods = [m for m, s in zip(methods + ["GET"] * len(statuses), statuses) if s >= 200]
    want = list(statuses)
    if not must_close:
        want += [200, 200]
        methods += ["GET", "GET"]
    got = g.raw(data + PROBE + LAST, timeout=5)
    try:
        rs = parse_responses(got, methods)
    except Exception as e:
        return "unparsable answer (%s)" % e
    if [r.status for r in rs] != want:
        return "statuses %s, wanted %s" % ([r.status for r in rs], want)
    if not got.closed:
        return "connection left open"
    if not must_close and (rs[-2].body, rs[-1].body) != (b"Hello, probe", b"Hello, last"):
        return "the requests after it were misread: %r, %r" % (rs[-2].body, rs[-1].body)
    for i, body in enumerate(more.get("bodies", ())):
        if rs[i].body != body:
            return "answer %d body %r, wanted %r" % (i, rs[i].body, body)
    for k, v in more.get("headers", {}).items():
        if rs[0].headers.get(k) != v:
            return "%s: %r, wanted %r" % (k, rs[0].headers.get(k), v)
    if rs[0].status >= 400 and methods[0] != "HEAD" and not rs[0].body:
        return "error %d without a body saying why" % rs[0].status
    return None


def test_conformance_table():
    """Every row on one gale; the failures are reported together."""
    errors = []
    with Gale(workers=1) as g:
        ws = g.wait_workers(1)
        for case in CASES:
            why = run_case(g, case)
            if why:
                errors.append("%s: %s\n    sent %r" % (case[0], why, case[1][:200]))
        if g.workers() != ws:
            errors.append("the worker changed (crashed?): %s -> %s" % (ws, g.workers()))
    if errors:
        fail("%d of %d cases failed:\n%s" % (len(errors), len(CASES), "\n".join(errors)))


if __name__ == "__main__":
    main()

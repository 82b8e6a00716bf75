#!/usr/bin/env python3
"""46-static-ranges: the preconditions of RFC 9110 13 on static files and on
handlers' answers (If-Match with the strong comparison and "*",
If-Unmodified-Since: 412 when false; evaluated in the RFC's order before
If-None-Match, If-Modified-Since and If-Range), and several byte ranges
answered 206 multipart/byteranges (each part with its Content-Type and
Content-Range, an exact Content-Length; overlapping ranges merged, too many
ranges or more bytes than the file: the whole file, as nginx; none in the
file: 416), over plain HTTP/1.1 (sendfile per part for a big file), TLS,
and HTTP/2 (cleartext and TLS, with curl)."""

import atexit
import email.parser
import email.policy
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (Gale, check, eq, fail, free_port, lc_str, main,  # noqa: E402
                      parse_responses, readable_tree, req)

SMALL = bytes(range(256)) * 4 + b"tail-end\n"  # 1033 bytes: read into the answer
BIG = 6 * 1024 * 1024  # by sendfile on plain connections, in pieces over TLS and h2

_folder = None


def folder():
    """The served folder: a small binary file, a text file, a big file, and
    a certificate for the TLS listener (made once)."""
    global _folder
    if _folder is None:
        d = tempfile.mkdtemp(prefix="gale-ranges-")
        atexit.register(shutil.rmtree, d, True)
        www = os.path.join(d, "www")
        os.makedirs(www)
        with open(os.path.join(www, "small.bin"), "wb") as f:
            f.write(SMALL)
        with open(os.path.join(www, "a.txt"), "wb") as f:
            f.write(b"".join(b"line %03d\n" % i for i in range(100)))
        with open(os.path.join(www, "big.bin"), "wb") as f:
            f.write(os.urandom(1024 * 1024) * (BIG // (1024 * 1024)))
        key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
        p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
                            crt, "-subj", "/CN=localhost", "-days", "2"], capture_output=True)
        check(p.returncode == 0, "openssl cannot make a certificate: %r" % p.stderr)
        readable_tree(d)
        _folder = d
    return _folder


def data(name):
    with open(os.path.join(folder(), "www", name), "rb") as f:
        return f.read()


CONF = """
workers = 1;
access_log = "stderr";
compress = { enabled = false; };
listen = ( { address = "127.0.0.1"; port = @PORT@; http2 = { cleartext = true; }; },
           { address = "127.0.0.1"; port = %(tport)d;
             tls = { certificate = %(crt)s; key = %(key)s; }; } );
static = ( { prefix = "/s/"; path = %(www)s; } );
modules = ( { path = "@HELLO@"; routes = ( { path = "/hello"; handler = "hello"; },
                                           { path = "/greet/([a-z]+)"; handler = "greet"; } ); } );
"""

_gale = None


def gale():
    """One gale for the whole file (stopped at exit)."""
    global _gale
    if _gale is None or not _gale.running():
        d = folder()
        tport = free_port()
        g = Gale(conf=CONF % {"tport": tport, "www": lc_str(os.path.join(d, "www")),
                              "crt": lc_str(os.path.join(d, "c.pem")),
                              "key": lc_str(os.path.join(d, "k.pem"))})
        g.__enter__()
        g.tport = tport
        atexit.register(g.cleanup)
        _gale = g
    return _gale


def get(target, headers=(), method="GET"):
    """One HTTP/1.1 request on its own plain connection; the response."""
    raw = gale().raw(req(method, target, headers=list(headers) + [("Connection", "close")]),
                     timeout=20)
    rs = parse_responses(raw, [method])
    check(len(rs) == 1, "%s %s: one response expected, got %r" % (method, target, raw[:300]))
    return rs[0]


def curl(target, headers=(), proto="h1", method="GET"):
    """(status, headers dict lower-cased, body) from curl: proto "h1", "tls"
    (HTTP/1.1 over TLS), "h2c" (prior knowledge) or "h2" (TLS, ALPN)."""
    g = gale()
    tls = proto in ("tls", "h2")
    url = "%s://127.0.0.1:%d%s" % ("https" if tls else "http", g.tport if tls else g.port,
                                   target)
    cmd = ["curl", "-sS", "-k", "--max-time", "20", "-D", "-", "-o", "/dev/stdout"]
    cmd += {"h1": ["--http1.1"], "tls": ["--http1.1"], "h2c": ["--http2-prior-knowledge"],
            "h2": ["--http2"]}[proto]
    if method == "HEAD":
        cmd.append("-I")
    for k, v in headers:
        cmd += ["-H", "%s: %s" % (k, v)]
    p = subprocess.run(cmd + [url], capture_output=True, timeout=30)
    check(p.returncode == 0, "curl %s %s: %s" % (proto, target, p.stderr.decode()))
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    want = "HTTP/2" if proto in ("h2", "h2c") else "HTTP/1.1"
    check(lines[0].startswith(want), "%s: %r is not %s" % (proto, lines[0], want))
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


# ---------------------------------------------------------------- multipart


def parts_of(ctype, body):
    """The parts of a multipart/byteranges body, read strictly: a list of
    (Content-Type, Content-Range, bytes)."""
    m = re.fullmatch(r"multipart/byteranges; boundary=([0-9A-Za-z'()+_,./:=?-]{1,70})", ctype)
    check(m, "a multipart/byteranges type with a boundary: %r" % ctype)
    delim = b"\r\n--" + m.group(1).encode()
    check(body.startswith(delim + b"\r\n"), "the body starts with the delimiter: %r" % body[:80])
    check(body.endswith(delim + b"--\r\n"), "the body ends with the close: %r" % body[-80:])
    out = []
    for chunk in body[len(delim) + 2:-(len(delim) + 4)].split(delim + b"\r\n"):
        head, sep, content = chunk.partition(b"\r\n\r\n")
        check(sep, "a part with a head: %r" % chunk[:100])
        h = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        eq(sorted(h), ["Content-Range", "Content-Type"], "a part's header fields")
        out.append((h["Content-Type"], h["Content-Range"], content))
    # the same body as Python's MIME parser reads it (text parts only: it
    # would take binary parts' line ends for its own)
    if all(b"\r" not in c and b"\n" not in c[:-1] for _, _, c in out):
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        check(msg.is_multipart(), "email.parser reads it as multipart")
        eq([(p["Content-Type"], p["Content-Range"], p.get_payload(decode=True))
            for p in msg.iter_parts()], out, "email.parser's parts")
    return out


def check_multipart(status, hdrs, body, content, ranges, ctype, what):
    """An answer of `ranges` [(first, last)] of `content`."""
    eq(status, 206, what + ": status")
    if "content-length" in hdrs:
        eq(hdrs["content-length"], str(len(body)), what + ": Content-Length is exact")
    check("content-range" not in hdrs, what + ": no Content-Range on the whole answer")
    parts = parts_of(hdrs["content-type"], body)
    eq([(t, r) for t, r, _ in parts],
       [(ctype, "bytes %d-%d/%d" % (a, b, len(content))) for a, b in ranges],
       what + ": the parts' heads")
    for (_, r, got), (a, b) in zip(parts, ranges):
        check(got == content[a:b + 1], "%s: the bytes of %s" % (what, r))


def test_preconditions_static():
    a = data("a.txt")
    r = get("/s/a.txt")
    tag, lm = r.headers["etag"], r.headers["last-modified"]
    old = "Mon, 01 Jan 2024 00:00:00 GMT"
    future = "Fri, 01 Jan 2100 00:00:00 GMT"
    cases = (
        ([("If-Match", tag)], 200, "If-Match the tag"),
        ([("If-Match", '"x", ' + tag)], 200, "If-Match in a list"),
        ([("If-Match", "*")], 200, "If-Match *"),
        ([("If-Match", '"x"')], 412, "If-Match another tag"),
        ([("If-Match", "W/" + tag)], 412, "If-Match compares strongly: a weak tag never matches"),
        ([("If-Unmodified-Since", lm)], 200, "If-Unmodified-Since the date"),
        ([("If-Unmodified-Since", future)], 200, "If-Unmodified-Since later"),
        ([("If-Unmodified-Since", old)], 412, "If-Unmodified-Since earlier"),
        ([("If-Unmodified-Since", "garbage")], 200, "a bad date is ignored"),
        ([("If-Match", tag), ("If-Unmodified-Since", old)], 200,
         "If-Unmodified-Since is ignored beside If-Match"),
        ([("If-Match", '"x"'), ("If-None-Match", tag)], 412, "If-Match before If-None-Match"),
        ([("If-Unmodified-Since", old), ("If-None-Match", tag)], 412,
         "If-Unmodified-Since before If-None-Match"),
        ([("If-Match", tag), ("If-None-Match", tag)], 304, "then If-None-Match"),
        ([("If-Unmodified-Since", lm), ("If-Modified-Since", lm)], 304,
         "then If-Modified-Since"),
        ([("If-Match", '"x"'), ("Range", "bytes=0-3")], 412, "412 before the range"),
        ([("If-Match", tag), ("Range", "bytes=0-3")], 206, "If-Match, then the range"),
        ([("If-Match", tag), ("Range", "bytes=0-3"), ("If-Range", '"old"')], 200,
         "If-Match, then If-Range"),
    )
    for headers, status, what in cases:
        r = get("/s/a.txt", headers)
        eq(r.status, status, what)
        if status == 200:
            eq(r.body, a, what + ": body")
        if status == 412:
            check(a not in r.body, what + ": not the file")
            check("etag" not in r.headers and "content-range" not in r.headers,
                  what + ": not the file's headers: %r" % r.headers)
    r = get("/s/a.txt", [("If-Match", '"x"')], method="HEAD")
    eq((r.status, r.body), (412, b""), "HEAD 412")
    eq(len(gale().workers()), 1, "the worker is there")


def test_preconditions_handler():
    """The ETag stage: a handler's 200 to GET gets its SHA-1 tag; If-Match
    and If-Unmodified-Since (against no Last-Modified: ignored)."""
    r = get("/greet/abc")
    eq(r.status, 200, "the handler")
    tag = r.headers["etag"]
    eq(get("/greet/abc", [("If-Match", tag)]).body, r.body, "If-Match the tag")
    eq(get("/greet/abc", [("If-Match", "*")]).status, 200, "If-Match *")
    r2 = get("/greet/abc", [("If-Match", '"nope"')])
    eq(r2.status, 412, "If-Match another tag")
    check(r.body not in r2.body and b"412" in r2.body, "412 body: %r" % r2.body)
    eq(r2.headers.get("content-length"), str(len(r2.body)), "412 Content-Length")
    eq(get("/greet/abc", [("If-Match", '"nope"'), ("If-None-Match", tag)]).status, 412,
       "If-Match first")
    eq(get("/greet/abc", [("If-Match", tag), ("If-None-Match", tag)]).status, 304,
       "then If-None-Match")
    eq(get("/greet/abc", [("If-Unmodified-Since", "Mon, 01 Jan 2024 00:00:00 GMT")]).status,
       200, "no Last-Modified: If-Unmodified-Since is ignored")


def test_multipart_plain():
    s = data("small.bin")
    n = len(s)
    r = get("/s/small.bin", [("Range", "bytes=0-9,20-29")])
    check_multipart(r.status, r.headers, r.body, s, [(0, 9), (20, 29)],
                    "application/octet-stream", "two ranges")
    r = get("/s/a.txt", [("Range", "bytes=-9, 0-8,100-199")])
    check_multipart(r.status, r.headers, r.body, data("a.txt"),
                    [(0, 8), (100, 199), (891, 899)], "text/plain", "three of a text file")
    r = get("/s/a.txt", [("Range", "bytes=0-3,18-25,-4")])  # no line ends: email.parser too
    check_multipart(r.status, r.headers, r.body, data("a.txt"), [(0, 3), (18, 25), (896, 899)],
                    "text/plain", "three of a text file, within lines")
    r = get("/s/small.bin", [("Range", "bytes=20-29,0-9,5000-6000")])
    check_multipart(r.status, r.headers, r.body, s, [(0, 9), (20, 29)],
                    "application/octet-stream", "sorted, one outside the file dropped")
    r = get("/s/small.bin", [("Range", "bytes=0-9,5-14")])
    eq((r.status, r.headers.get("content-range"), r.body), (206, "bytes 0-14/%d" % n, s[:15]),
       "overlapping ranges merged into one")
    r = get("/s/small.bin", [("Range", "bytes=0-599,400-999")])
    eq((r.status, r.body), (200, s), "more bytes than the file: the whole file")
    many = ",".join("%d-%d" % (i * 4, i * 4) for i in range(17))
    eq(get("/s/small.bin", [("Range", "bytes=" + many)]).status, 200, "17 ranges: the whole")
    r = get("/s/small.bin", [("Range", "bytes=" + many.rsplit(",", 1)[0])])
    eq((r.status, len(parts_of(r.headers["content-type"], r.body))), (206, 16), "16 ranges")
    r = get("/s/small.bin", [("Range", "bytes=5000-,6000-7000")])
    eq((r.status, r.headers.get("content-range")), (416, "bytes */%d" % n), "none in the file")
    tag = r = get("/s/small.bin").headers["etag"]
    r = get("/s/small.bin", [("Range", "bytes=0-9,20-29"), ("If-Range", tag)])
    eq(r.status, 206, "If-Range current")
    r = get("/s/small.bin", [("Range", "bytes=0-9,20-29"), ("If-Range", '"old"')])
    eq((r.status, r.body), (200, s), "If-Range stale: the whole file")
    full = get("/s/small.bin", [("Range", "bytes=0-9,20-29")])
    r = get("/s/small.bin", [("Range", "bytes=0-9,20-29")], method="HEAD")
    eq((r.status, r.body, r.headers.get("content-length")),
       (206, b"", str(len(full.body))), "HEAD: the length of the GET's body")
    # a big file: the parts by sendfile, their heads between them
    b = data("big.bin")
    ranges = [(0, 99), (1000000, 2999999), (BIG - 500000, BIG - 1)]
    spec = "bytes=" + ",".join("%d-%d" % x for x in ranges)
    r = get("/s/big.bin", [("Range", spec)])
    check_multipart(r.status, r.headers, r.body, b, ranges, "application/octet-stream",
                    "big, plain")


def test_multipart_tls_and_h2():
    b, s = data("big.bin"), data("small.bin")
    ranges = [(10, 1999999), (3000000, 3000009), (BIG - 1000, BIG - 1)]
    spec = "bytes=" + ",".join("%d-%d" % x for x in ranges)
    for proto in ("h1", "tls", "h2c", "h2"):
        st, h, body = curl("/s/big.bin", [("Range", spec)], proto)
        check_multipart(st, h, body, b, ranges, "application/octet-stream", "big, " + proto)
        st, h, body = curl("/s/small.bin", [("Range", "bytes=1-2,-3")], proto)
        check_multipart(st, h, body, s, [(1, 2), (len(s) - 3, len(s) - 1)],
                        "application/octet-stream", "small, " + proto)
        st, h, body = curl("/s/big.bin", [("Range", "bytes=5-9")], proto)
        eq((st, h.get("content-range"), body), (206, "bytes 5-9/%d" % BIG, b[5:10]),
           "one range, " + proto)
        st, h, body = curl("/s/small.bin", [("If-Match", '"x"')], proto)
        eq(st, 412, "If-Match, " + proto)
        st, h, body = curl("/s/small.bin", [("If-Unmodified-Since",
                                             "Mon, 01 Jan 2024 00:00:00 GMT")], proto)
        eq(st, 412, "If-Unmodified-Since, " + proto)
        st, h, body = curl("/greet/abc", [("If-Match", '"x"')], proto)
        eq(st, 412, "a handler's If-Match, " + proto)
    st, h, body = curl("/s/big.bin", proto="h2c")
    check(st == 200 and body == b, "a whole big file over h2c")
    log = gale().log()
    check(" 412 " in log and " 206 " in log, "412 and 206 in the access log")


if __name__ == "__main__":
    if not shutil.which("curl"):
        fail("curl is needed")
    main()

#!/usr/bin/env python3
"""22-compress: gzip and Brotli response compression, through real routes of
a test module (tests/modules/compresstest.c) and the hello module: which
answers are compressed (types, min_size, max_size, per-route settings) and
which never are (no body, ranges, a Content-Encoding already, no-transform,
HEAD bodies); Accept-Encoding negotiation with q-values, and bad or huge
values that must be harmless; Vary and weak ETags; streamed answers flushed
piece by piece (server-sent events reach the client while the stream stays
open), in gzip unless brotli_streams; encoders freed when a client leaves
(LeakSanitizer in the sanitizer build); request bodies never inflated; the access log counting the bytes sent.
Decoded with Python's zlib/gzip and brotli, and with curl --compressed."""

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (Gale, Skip, check, eq, main, module_path,  # noqa: E402
                      parse_responses, req, run_gale)

CONF = """
workers = 1;
access_log = "stderr";
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
%(extra)s
modules = (
  { path = "@TESTMODULES@/compresstest.so";
    routes = ( { path = "/body"; handler = "body"; },
               { path = "/json"; handler = "json"; },
               { path = "/stream"; handler = "stream"; },
               { path = "/events"; handler = "events"; },
               { path = "/echo"; handler = "echo"; },
               { path = "/off"; handler = "body"; compress = { enabled = false; }; },
               { path = "/on"; handler = "body"; compress = { enabled = true; }; },
               { path = "/big"; handler = "body"; compress = { min_size = 100000; }; },
               { path = "/capped"; handler = "body"; compress = { max_size = 4000; }; },
               { path = "/custom"; handler = "body";
                 compress = { types = [ "application/x-custom", "font/*" ]; }; },
               { path = "/gzip1"; handler = "body"; compress = { gzip_level = 1; brotli = false; }; },
               { path = "/brstream"; handler = "stream"; compress = { brotli_streams = true; }; } ); },
  { path = "@HELLO@";
    routes = ( { path = "/hello"; handler = "hello"; } ); } );
"""


def server(extra=""):
    module_path("compresstest")  # skips when the test module was not built
    return Gale(conf=CONF % {"extra": extra})


def text(size):
    """What compresstest writes for ?size=N."""
    out, i = [], 0
    total = 0
    while total < size:
        line = "line %06d: the quick brown fox jumps\n" % i
        out.append(line)
        total += len(line)
        i += 1
    return "".join(out)[:size].encode()


def brotli_module():
    """Debian's python3-brotli, also when the interpreter running the test is
    a private one of the same version (pyenv); None when missing."""
    try:
        import brotli
        return brotli
    except ImportError:
        pass
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import brotli
        return brotli
    except ImportError:
        return None
    finally:
        sys.path.remove("/usr/lib/python3/dist-packages")


def unbr(data):
    """Brotli-decode: with the module, or the system interpreter's."""
    if brotli_module():
        return brotli_module().decompress(data)
    code = "import sys, brotli; sys.stdout.buffer.write(brotli.decompress(sys.stdin.buffer.read()))"
    for py in ("/usr/bin/python3", "python3"):
        try:
            p = subprocess.run([py, "-c", code], input=data, capture_output=True, timeout=20)
        except OSError:
            continue
        if p.returncode == 0:
            return p.stdout
        if b"ModuleNotFoundError" not in p.stderr:
            raise AssertionError("brotli could not decode: %r" % p.stderr[-300:])
    raise Skip("python3-brotli is not installed")


def decode(r):
    ce = r.headers.get("Content-Encoding")
    if ce == "gzip":
        return gzip.decompress(r.body)
    if ce == "br":
        return unbr(r.body)
    check(ce is None, "unexpected Content-Encoding %r" % ce)
    return r.body


def get(g, target, ae=None, method="GET", headers=()):
    hs = list(headers)
    if ae is not None:
        hs.append(("Accept-Encoding", ae))
    data = g.raw(req(method, target, headers=hs + [("Connection", "close")]))
    rs = parse_responses(data, [method])
    check(len(rs) == 1, "%s %s: one response expected, got %r" % (method, target, data[:300]))
    return rs[0]


def vary(r):
    return r.headers.tokens("Vary")


# ---------------------------------------------------------------- what is compressed


def test_gzip_finished_answer():
    with server() as g:
        r = get(g, "/body?size=5000", "gzip")
        eq(r.status, 200, "status")
        eq(r.headers.get("Content-Encoding"), "gzip", "Content-Encoding")
        eq(int(r.headers["Content-Length"]), len(r.body), "Content-Length is the compressed size")
        check(len(r.body) < 2500, "compressed: %d bytes" % len(r.body))
        eq(gzip.decompress(r.body), text(5000), "decoded body")
        check("accept-encoding" in vary(r), "Vary: Accept-Encoding")


def test_brotli_finished_answer():
    with server() as g:
        r = get(g, "/body?size=5000", "gzip, deflate, br")
        eq(r.headers.get("Content-Encoding"), "br", "br preferred on equal q")
        eq(unbr(r.body), text(5000), "decoded body")


def test_accept_encoding_negotiation():
    cases = [
        ("gzip", "gzip"), ("br", "br"), ("br;q=1.0, gzip;q=0.8", "br"),
        ("gzip;q=1.0, br;q=0.8", "gzip"), ("GZIP", "gzip"), ("Br", "br"), ("x-gzip", "gzip"),
        ("*", "br"), ("*;q=0.5, gzip", "gzip"), ("br;q=0, *", "gzip"), ("*;q=0", None),
        ("gzip;q=0", None), ("gzip;q=0, br;q=0", None), ("identity;q=0", None), ("identity", None),
        ("gzip;q=0.5, identity", None), ("identity;q=0.5, gzip", "gzip"),
        ("  gzip ;  q=0.5 ,\tbr ; q=0.4 ", "gzip"), ("deflate, zstd", None), ("", None),
        ("gzip;q=5", None), ("gzip;q=-1", None), ("gzip;q=abc", None), ("gzip;q=0.0001", None),
        ("gzip;q=1.001", None), ("gzip;level=9", "gzip"), ("gzip;q=0.001", "gzip"),
        (";;;,,,gzip,,", "gzip"), ("g zip, br", "br"), ("gz\"ip, br;q=0.2", "br"),
    ]
    with server() as g:
        for ae, want in cases:
            r = get(g, "/body?size=2000", ae)
            eq(r.status, 200, "status for %r" % ae)
            eq(r.headers.get("Content-Encoding"), want, "coding for Accept-Encoding %r" % ae)
            eq(decode(r), text(2000), "body for %r" % ae)


def test_accept_encoding_on_several_lines():
    with server() as g:
        for lines, want in ((["gzip;q=0.5", "br;q=0.9"], "br"), (["br;q=0", "gzip"], "gzip"),
                            (["identity;q=0.05", "gzip;q=0.1"], "gzip"), (["identity", "gzip;q=0.1"], None), (["gzip", ""], "gzip")):
            r = get(g, "/body?size=2000", headers=[("Accept-Encoding", v) for v in lines])
            eq(r.headers.get("Content-Encoding"), want, "Accept-Encoding lines %r" % lines)
            eq(decode(r), text(2000), "body")


def test_bad_accept_encoding_is_harmless():
    huge = ", ".join("coding%d;q=0.%d" % (i, i % 10) for i in range(700))  # ~11 KiB
    many = ",".join(["gzip;q=0"] * 1400 + ["br;q=0.1"])
    absurd = "gzip;q=" + "9" * 5000
    with server() as g:
        for ae, want in ((huge + ", gzip;q=0.1", "gzip"), (many, "br"), (absurd, None),
                         ("=;=;q=;q==," * 500, None), (";q=1" * 1000, None)):
            r = get(g, "/body?size=2000", ae)
            eq(r.status, 200, "status for a %d-byte Accept-Encoding" % len(ae))
            eq(r.headers.get("Content-Encoding"), want, "coding for %r..." % ae[:40])
            eq(decode(r), text(2000), "body")
        r = get(g, "/body?size=2000", "gzip, " * 4000)
        eq(r.status, 431, "beyond max_header_size the head is refused before any stage")
        eq(get(g, "/body?size=2000", "gzip").headers.get("Content-Encoding"), "gzip", "still serving")


def test_no_accept_encoding_but_vary():
    with server() as g:
        r = get(g, "/body?size=5000")
        eq(r.headers.get("Content-Encoding"), None, "no Accept-Encoding: identity")
        eq(r.body, text(5000), "body")
        check("accept-encoding" in vary(r), "Vary even when not compressed")


def test_types():
    with server() as g:
        for t, want in (("text/plain", True), ("text/css; charset=utf-8", True),
                        ("application/json", True), ("application/javascript", True),
                        ("application/xml", True), ("image/svg%2Bxml", True),
                        ("application/ld%2Bjson", True), ("application/atom%2Bxml", True),
                        ("TEXT/HTML", True), ("image/png", False),
                        ("application/octet-stream", False), ("application/jsonx", False),
                        ("text", False)):
            r = get(g, "/body?size=3000&type=" + t.replace(" ", "%20"), "gzip")
            eq(r.headers.get("Content-Encoding"), "gzip" if want else None, "type %s" % t)
            eq("accept-encoding" in vary(r), want, "Vary on %s" % t)
            eq(decode(r), text(3000), "body of %s" % t)
        r = get(g, "/json?n=200", "br")
        eq(r.headers.get("Content-Encoding"), "br", "gale_response_json answers")
        eq(len(json.loads(unbr(r.body))), 200, "JSON decoded")


def test_types_configured_per_route():
    with server() as g:
        eq(get(g, "/custom?size=3000&type=application/x-custom", "gzip").headers.get(
            "Content-Encoding"), "gzip", "a listed type")
        eq(get(g, "/custom?size=3000&type=font/woff", "gzip").headers.get(
            "Content-Encoding"), "gzip", "a type/* pattern")
        eq(get(g, "/custom?size=3000&type=text/html", "gzip").headers.get(
            "Content-Encoding"), None, "the route's list replaces the default")


def test_min_size():
    with server() as g:
        r = get(g, "/body?size=255", "gzip")
        eq(r.headers.get("Content-Encoding"), None, "under the default 256 bytes")
        check("accept-encoding" in vary(r), "Vary still")
        eq(get(g, "/body?size=256", "gzip").headers.get("Content-Encoding"), "gzip", "256 bytes")
        eq(get(g, "/big?size=50000", "gzip").headers.get("Content-Encoding"), None,
           "the route's min_size")
        eq(get(g, "/capped?size=4000", "gzip").headers.get("Content-Encoding"), "gzip",
           "at max_size")
        r = get(g, "/capped?size=4001", "gzip")
        eq(r.headers.get("Content-Encoding"), None, "over the route's max_size")
        eq(r.body, text(4001), "body")
        check("accept-encoding" in vary(r), "Vary still")
        eq(get(g, "/body?size=2000000", "gzip").headers.get("Content-Encoding"), "gzip",
           "2 MB under the default max_size")
    with server("compress = { min_size = 10; };") as g:
        r = get(g, "/body?size=20", "gzip")
        eq(r.headers.get("Content-Encoding"), "gzip", "the top level's min_size")
        eq(gzip.decompress(r.body), text(20), "body")
        eq(get(g, "/body?size=0", "gzip").headers.get("Content-Encoding"), None, "empty body")


def test_on_off_per_route():
    with server() as g:
        r = get(g, "/off?size=5000", "gzip")
        eq(r.headers.get("Content-Encoding"), None, "route with enabled = false")
        eq(r.body, text(5000), "body")
        r = get(g, "/gzip1?size=5000", "br, gzip")
        eq(r.headers.get("Content-Encoding"), "gzip", "route with brotli = false")
        eq(gzip.decompress(r.body), text(5000), "level 1 body")
    with server("compress = { enabled = false; };") as g:
        eq(get(g, "/body?size=5000", "gzip").headers.get("Content-Encoding"), None, "off")
        eq(get(g, "/on?size=5000", "gzip").headers.get("Content-Encoding"), "gzip",
           "a route turns it back on")
    with server("compress = { brotli = false; gzip_level = 9; };") as g:
        eq(get(g, "/body?size=5000", "br, gzip").headers.get("Content-Encoding"), "gzip",
           "brotli off at the top level")


# ---------------------------------------------------------------- what never is


def test_never_compressed():
    with server() as g:
        for q, what in (("status=204", "204"), ("status=206", "206"),
                        ("range=bytes%200-99/5000", "Content-Range"),
                        ("cc=public,%20no-transform", "no-transform"),
                        ("ce=identity", "a Content-Encoding already")):
            r = get(g, "/body?size=5000&" + q, "gzip, br")
            check(r.headers.get_all("Content-Encoding") in ([], ["identity"]),
                  "%s: Content-Encoding %r" % (what, r.headers.get_all("Content-Encoding")))
            if r.status != 204:
                eq(r.body, text(5000), "%s: body as written" % what)
        r = get(g, "/body?size=5000&ce=gzip", "gzip")
        eq(r.headers.get_all("Content-Encoding"), ["gzip"], "not encoded twice")
        eq(r.body, text(5000), "a precompressed body goes as it is")
        check("accept-encoding" in vary(r), "but it varies with Accept-Encoding")


def test_not_modified_and_weak_etag():
    with server() as g:
        plain = get(g, "/body?size=5000")
        tag = plain.headers["ETag"]
        check(tag.startswith('"'), "strong ETag uncompressed: %r" % tag)
        r = get(g, "/body?size=5000", "gzip")
        eq(r.headers.get("ETag"), "W/" + tag, "the ETag becomes weak when compressed")
        r = get(g, "/body?size=5000", "gzip", headers=[("If-None-Match", "W/" + tag)])
        eq(r.status, 304, "If-None-Match with the weak tag")
        eq(r.headers.get("Content-Encoding"), None, "no Content-Encoding on 304")
        eq(r.body, b"", "no body")
        eq(get(g, "/body?size=5000", headers=[("If-None-Match", "W/" + tag)]).status, 304,
           "the weak tag matches the uncompressed answer too")
        # RFC 9110 15.4.5: a 304 carries the ETag and Vary its 200 would have
        for ae, want in (("gzip", "W/" + tag), (None, tag)):
            r = get(g, "/body?size=5000", ae, headers=[("If-None-Match", "W/" + tag)])
            eq((r.status, r.headers.get("ETag")), (304, want),
               "the 304's ETag is the 200's (Accept-Encoding %s)" % ae)
            eq(vary(r), ["accept-encoding"], "the 304 says Vary as its 200 does (%s)" % ae)
            eq(r.headers.get("Content-Type"), None, "no Content-Type on a 304 (%s)" % ae)
        r = get(g, "/body?size=10", "gzip")  # under min_size: goes uncompressed, strong
        small = r.headers["ETag"]
        r = get(g, "/body?size=10", "gzip", headers=[("If-None-Match", small)])
        eq((r.status, r.headers.get("ETag"), vary(r)), (304, small, ["accept-encoding"]),
           "a 304 for an answer too small to compress keeps the strong tag")
        r = get(g, '/body?size=5000&etag="v1"', "br")
        eq(r.headers.get("ETag"), 'W/"v1"', "the handler's strong ETag weakened")
        r = get(g, '/body?size=5000&etag=W/"v2"', "br")
        eq(r.headers.get("ETag"), 'W/"v2"', "a weak one stays")


def test_vary_added_to_existing():
    with server() as g:
        r = get(g, "/body?size=5000&vary=Origin", "gzip")
        eq(r.headers.get_all("Vary"), ["Origin, Accept-Encoding"], "added to Vary")
        r = get(g, "/body?size=5000&vary=accept-encoding", "gzip")
        eq(r.headers.get_all("Vary"), ["accept-encoding"], "not twice")
        r = get(g, "/body?size=5000&vary=*", "gzip")
        eq(r.headers.get_all("Vary"), ["*"], "Vary: * says it all")


def test_head_matches_get():
    with server() as g:
        for ae in ("gzip", "br"):
            gr = get(g, "/body?size=5000", ae)
            hr = get(g, "/body?size=5000", ae, method="HEAD")
            eq(hr.headers.get("Content-Encoding"), ae, "HEAD says the coding")
            eq(hr.headers.get("Content-Length"), gr.headers.get("Content-Length"),
               "HEAD's Content-Length is GET's")
            eq(hr.headers.get("ETag"), gr.headers.get("ETag"), "and the ETag")
            eq(hr.body, b"", "no body")
        data = g.raw(req("HEAD", "/stream?pieces=3", headers=[("Accept-Encoding", "gzip"),
                                                              ("Connection", "close")]))
        r = parse_responses(data, ["HEAD"])[0]
        eq(r.headers.get("Content-Encoding"), "gzip", "streamed HEAD says the coding")
        eq(r.headers.get("Transfer-Encoding"), "chunked", "streamed HEAD framing")
        check(r.head == data, "no body bytes after a HEAD head: %r" % data[len(r.head):][:80])


# ---------------------------------------------------------------- streams


def test_streamed_gzip_flushed_per_piece():
    with server() as g:
        r = get(g, "/stream?pieces=20&size=1000", "gzip")
        eq(r.headers.get("Content-Encoding"), "gzip", "streamed answers compressed")
        check(r.chunked and r.headers.get("Content-Length") is None, "chunked")
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        got = b""
        for i, chunk in enumerate(r.chunks):
            got += d.decompress(chunk)
            if i < len(r.chunks) - 1:
                eq(len(got) % 1000, 0, "chunk %d decodes to whole pieces (a sync flush)" % i)
        check(d.eof, "the gzip stream is finished")
        eq(got, text(1000) * 20, "decoded stream")
        check(len(r.body) < 20000 / 3, "compressed: %d bytes" % len(r.body))


def test_streams_get_gzip_unless_brotli_streams():
    with server() as g:
        r = get(g, "/stream?pieces=5&size=1000", "br, gzip")
        eq(r.headers.get("Content-Encoding"), "gzip", "a stream gets gzip by default")
        eq(gzip.decompress(r.body), text(1000) * 5, "decoded")
        r = get(g, "/stream?pieces=5&size=1000", "br")
        eq(r.headers.get("Content-Encoding"), None, "nothing for a br-only client")
        check("accept-encoding" in vary(r), "but Vary")
        eq(r.body, text(1000) * 5, "body")
        r = get(g, "/brstream?pieces=5&size=1000", "br, gzip")
        eq(r.headers.get("Content-Encoding"), "br", "a route with brotli_streams")
        eq(unbr(r.body), text(1000) * 5, "decoded")
        eq(get(g, "/body?size=5000", "br, gzip").headers.get("Content-Encoding"), "br",
           "finished answers still get br")


BR_STREAMS = "compress = { brotli_streams = true; };"


def test_streamed_brotli():
    with server(BR_STREAMS) as g:
        r = get(g, "/stream?pieces=20&size=1000", "br")
        eq(r.headers.get("Content-Encoding"), "br", "br stream")
        eq(unbr(r.body), text(1000) * 20, "decoded stream")
        if not brotli_module():
            return
        d = brotli_module().Decompressor()
        got = b""
        for chunk in r.chunks[:-1]:
            got += d.process(chunk)
            eq(len(got) % 1000, 0, "each chunk decodes to whole pieces (a flush)")


def test_keepalive_after_compressed_answers():
    with server() as g:
        ae = [("Accept-Encoding", "gzip")]
        data = g.raw(req("GET", "/stream?pieces=3&size=800", headers=ae) +
                     req("GET", "/body?size=3000", headers=ae) +
                     req("HEAD", "/body?size=3000", headers=ae) +
                     req("GET", "/body?size=3000", headers=ae + [("Connection", "close")]))
        rs = parse_responses(data, ["GET", "GET", "HEAD", "GET"])
        eq(len(rs), 4, "four answers on one connection")
        eq(gzip.decompress(rs[0].body), text(800) * 3, "the stream")
        for r in (rs[1], rs[3]):
            eq(gzip.decompress(r.body), text(3000), "a finished answer after it")


def test_streamed_http10():
    with server() as g:
        data = g.raw(req("GET", "/stream?pieces=5&size=700", version="HTTP/1.0",
                         headers=[("Accept-Encoding", "gzip")]))
        r = parse_responses(data, ["GET"])[0]
        eq(r.headers.get("Content-Encoding"), "gzip", "HTTP/1.0 stream")
        eq(gzip.decompress(r.body), text(700) * 5, "decoded, the close ends it")


def _events(ae, decoder):
    with server(BR_STREAMS) as g:
        s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        try:
            s.sendall(req("GET", "/events", headers=[("Accept-Encoding", ae)]))
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += s.recv(4096)
            head, rest = buf.split(b"\r\n\r\n", 1)
            check(("Content-Encoding: %s" % ae).encode() in head, "coded: %r" % head)
            got = b""
            # the first event must decode while the stream stays open: the
            # encoder was flushed at gale_response_flush
            while b"data: first\n\n" not in got:
                while b"\r\n" not in rest:
                    more = s.recv(4096)
                    check(more, "stream closed before the event decoded")
                    rest += more
                size, rest = rest.split(b"\r\n", 1)
                n = int(size, 16)
                check(n > 0, "the stream ended instead of flushing")
                while len(rest) < n + 2:
                    rest += s.recv(4096)
                got += decoder(rest[:n])
                rest = rest[n + 2:]
            eq(got, b"data: first\n\n", "the event")
        finally:
            s.close()
        # the handler finishes on abort; the encoder is freed (the sanitizer
        # build's LeakSanitizer would report it at stop)
        r = get(g, "/body?size=5000", "gzip")
        eq(gzip.decompress(r.body), text(5000), "still serving")


def test_server_sent_events_reach_client_gzip():
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    _events("gzip", d.decompress)


def test_server_sent_events_reach_client_br():
    if not brotli_module():
        raise Skip("python3-brotli is not importable by this interpreter")
    _events("br", brotli_module().Decompressor().process)


def test_client_leaves_mid_stream():
    with server(BR_STREAMS) as g:
        for ae in ("gzip", "br"):
            s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
            s.sendall(req("GET", "/stream?pieces=100000&size=2000",
                          headers=[("Accept-Encoding", ae)]))
            check(s.recv(4096).startswith(b"HTTP/1.1 200"), "stream started")
            s.close()
        eq(gzip.decompress(get(g, "/body?size=5000", "gzip").body), text(5000), "still serving")


# ---------------------------------------------------------------- clients and the rest


def test_curl_compressed():
    with server(BR_STREAMS) as g:
        for path, want in (("/body?size=9000", text(9000)),
                           ("/stream?pieces=7&size=900", text(900) * 7)):
            for ae in ([], ["-H", "Accept-Encoding: gzip"], ["-H", "Accept-Encoding: br"]):
                p = subprocess.run(["curl", "-sS", "--compressed", "-D", "-", "-o",
                                    os.path.join(g.tmp, "out")] + ae + [g.url(path)],
                                   capture_output=True, timeout=20)
                eq(p.returncode, 0, "curl %s %s: %r" % (ae, path, p.stderr))
                with open(os.path.join(g.tmp, "out"), "rb") as f:
                    eq(f.read(), want, "curl --compressed %s %s" % (ae, path))
                check(b"content-encoding:" in p.stdout.lower(), "compressed: %r" % p.stdout)


def test_request_body_not_inflated():
    body = gzip.compress(text(3000))
    with server() as g:
        data = g.raw(req("POST", "/echo", body=body,
                         headers=[("Content-Encoding", "gzip"), ("Content-Length", str(len(body))),
                                  ("Connection", "close")]))
        r = parse_responses(data, ["POST"])[0]
        eq(r.status, 200, "status")
        eq(r.headers.get("X-Got-Encoding"), "gzip", "the handler sees the coding")
        eq(r.body, body, "the body as sent, not inflated")


def test_access_log_counts_bytes_sent():
    with server() as g:
        r = get(g, "/body?size=8000", "gzip")
        n = int(r.headers["Content-Length"])
        check(n < 8000, "compressed")
        ok = False
        for _ in range(50):
            if re.search(r'"GET /body\?size=8000 HTTP/1.1" 200 %d ' % n, g.log()):
                ok = True
                break
            time.sleep(0.1)
        check(ok, "the access log shows %d bytes sent; log:\n%s" % (n, g.log_tail()))


def test_hello_module():
    with server() as g:
        r = get(g, "/hello", "gzip")
        eq(r.status, 200, "hello")
        eq(r.headers.get("Content-Encoding"), None, "a short answer goes as it is")
        check("accept-encoding" in vary(r), "text/plain varies")


def test_config_errors():
    with server() as g:
        bad = os.path.join(g.tmp, "bad.conf")
        with open(g.conf_path) as f:
            conf = f.read()
        for extra, msg in (('compress = { types = [ "html" ]; };', "types"),
                           ("compress = { brotli_streams = 1; };", "brotli_streams"),
                           ("compress = { gzip_level = 10; };", "gzip_level"),
                           ("compress = { brotli_quality = 12; };", "brotli_quality"),
                           ("compress = { level = 3; };", "level")):
            with open(bad, "w") as f:
                f.write(conf + extra + "\n")
            p = run_gale(["-t", "-c", bad])
            check(p.returncode != 0, "%s refused" % extra)
            check("bad.conf:" in p.stderr and msg in p.stderr,
                  "%s: the message names the place: %r" % (extra, p.stderr))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""21-static: static folders (the top-level `static` list): types, ETag and
Last-Modified with 304 (If-None-Match first), Range (206, 416, If-Range;
several ranges and If-Match in 46-static-ranges), HEAD, Cache-Control, static_url's ?v= through a test
module and its one-year max-age, precompressed .br/.gz siblings, every way
out of the folder (404), folders (301 to the slash, the default file, no
listing), methods, a file that shrinks while a slow client reads it (plain
and TLS), TLS serving, `gale -t` errors, and the same answers as Tornado's
StaticFileHandler for the same files and requests."""

import atexit
import hashlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (REPO, Gale, Skip, check, eq, fail, free_port, lc_str, main,  # noqa: E402
                      module_path, node, node_module, parse_responses, readable_tree, req,
                      run_gale, wait_for)

# ---------------------------------------------------------------- the folder

FILES = {
    "a.txt": b"hello, static world\n",
    "index.html": b"<p>home</p>\n",
    "site.css": b"body { color: black }\n",
    "app.js": b"console.log('hi');\n",
    "data.json": b'{"a": 1}\n',
    "pic.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4,
    "noext": b"no extension here\n",
    "sub/index.html": b"<p>sub</p>\n",
    "sub/page.html": b"<p>page</p>\n",
    "empty/.keep": b"",
    "zero.txt": b"",
    ".secret": b"hidden\n",
    "z.txt": b"identity text " * 100,
    "z.txt.gz": b"GZ-BYTES-" * 10,
    "z.txt.br": b"BR-BYTES-" * 5,
    "only.txt": b"no siblings\n",
    "space name.txt": b"spaced\n",
}
BIG = 8 * 1024 * 1024  # above every in-memory threshold: sendfile / pieces

_tree = None


def tree():
    """The served folder (made once, readable by the workers' user), with an
    outside file and symbolic links."""
    global _tree
    if _tree is None:
        top = tempfile.mkdtemp(prefix="gale-static-")
        atexit.register(shutil.rmtree, top, True)
        os.chmod(top, 0o755)
        www = os.path.join(top, "www")
        for name, data in FILES.items():
            p = os.path.join(www, name)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        with open(os.path.join(top, "outside.txt"), "wb") as f:
            f.write(b"secret outside\n")
        os.symlink(os.path.join(top, "outside.txt"), os.path.join(www, "out-abs"))
        os.symlink("../outside.txt", os.path.join(www, "out-rel"))
        os.symlink(top, os.path.join(www, "out-dir"))
        os.symlink("a.txt", os.path.join(www, "in-link.txt"))
        os.symlink("sub", os.path.join(www, "sub-link"))
        os.mkfifo(os.path.join(www, "fifo.txt"))
        readable_tree(top)
        _tree = top
    return _tree


def www(name=""):
    return os.path.join(tree(), "www", name)


def big_file(name):
    """A fresh big file in its own folder (tests change it)."""
    d = tempfile.mkdtemp(prefix="gale-static-big-")
    atexit.register(shutil.rmtree, d, True)
    os.chmod(d, 0o755)
    p = os.path.join(d, name)
    with open(p, "wb") as f:
        f.write(os.urandom(1024 * 1024) * (BIG // (1024 * 1024)))
    os.chmod(p, 0o644)
    return d, p


CONF = """
workers = 1;
access_log = "stderr";
%(compress)s
listen = ( { address = "127.0.0.1"; port = @PORT@; }%(listen)s );
static = ( { prefix = "/static/"; path = %(www)s; max_age = 3600; },
           { prefix = "/plain/"; path = %(www)s; precompressed = false; },
           { prefix = "/hid/"; path = %(www)s; hidden = true; charset = "utf-8"; name = "hid"; }
           %(more)s );
modules = (
  { path = "@HELLO@"; routes = ( { path = "/hello"; handler = "hello"; } ); }%(module)s );
"""


def start(listen="", more="", with_module=False, compress=False):
    module = ""
    if with_module:
        module = (',\n  { path = %s; routes = ( { path = "/url"; handler = "url"; } ); }'
                  % lc_str(module_path("staticurl")))
    return Gale(conf=CONF % {"www": lc_str(www()), "listen": listen, "more": more,
                             "module": module,
                             "compress": "" if compress else "compress = { enabled = false; };"})


def get(g, target, headers=(), method="GET"):
    """One raw request on its own connection; the parsed response."""
    data = g.raw(req(method, target, headers=list(headers) + [("Connection", "close")]))
    rs = parse_responses(data, [method])
    check(len(rs) == 1, "%s %s: one response expected, got %r" % (method, target, data[:300]))
    return rs[0]


def ok(r, body, what):
    eq(r.status, 200, what + ": status")
    eq(r.body, body, what + ": body")
    eq(r.headers.get("content-length"), str(len(body)), what + ": Content-Length")


# ---------------------------------------------------------------- types and headers


def test_types_and_headers():
    with start() as g:
        for name, ctype in (("a.txt", "text/plain"), ("index.html", "text/html"),
                            ("site.css", "text/css"), ("app.js", "text/javascript"),
                            ("data.json", "application/json"), ("pic.png", "image/png"),
                            ("noext", "application/octet-stream")):
            r = get(g, "/plain/" + name)
            ok(r, FILES[name], name)
            eq(r.headers.get("content-type"), ctype, name + ": Content-Type")
            eq(r.headers.get("accept-ranges"), "bytes", name + ": Accept-Ranges")
            check(r.headers.get("etag", "").startswith('"'), "%s: a strong ETag: %r"
                  % (name, r.headers))
            mtime = os.stat(www(name)).st_mtime
            eq(r.headers.get("last-modified"),
               time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(mtime)),
               name + ": Last-Modified")
            check("cache-control" not in r.headers, "no max_age: no Cache-Control")
            check("vary" not in r.headers, "precompressed off: no Vary")
        # the charset setting applies to text types only
        eq(get(g, "/hid/a.txt").headers.get("content-type"), "text/plain; charset=utf-8",
           "charset")
        eq(get(g, "/hid/app.js").headers.get("content-type"),
           "text/javascript; charset=utf-8", "charset on js")
        eq(get(g, "/hid/pic.png").headers.get("content-type"), "image/png", "no charset")
        ok(get(g, "/static/space%20name.txt"), FILES["space name.txt"], "encoded space")
        ok(get(g, "/static/zero.txt"), b"", "empty file")
        # the modules' routes still answer beside static folders
        eq(get(g, "/hello").status, 200, "module route")
        eq(get(g, "/nothing").status, 404, "no route")


def test_cache_control():
    with start() as g:
        eq(get(g, "/static/a.txt").headers.get("cache-control"), "max-age=3600", "max_age")
        eq(get(g, "/static/a.txt?v=abc").headers.get("cache-control"),
           "max-age=31536000, public", "versioned")
        eq(get(g, "/plain/a.txt?x=1&v=abc").headers.get("cache-control"),
           "max-age=31536000, public", "versioned, second argument")
        check("cache-control" not in get(g, "/plain/a.txt?vv=1").headers, "vv is not v")


def test_head():
    with start() as g:
        c = g.conn()
        c.send(req("HEAD", "/static/pic.png") + req("GET", "/static/a.txt"))
        r = c.read_response("HEAD")
        eq(r.status, 200, "HEAD status")
        eq(r.headers.get("content-length"), str(len(FILES["pic.png"])), "HEAD Content-Length")
        eq(r.body, b"", "HEAD body")
        ok(c.read_response("GET"), FILES["a.txt"], "the next request on the connection")
        c.close()
        r = get(g, "/static/a.txt", method="HEAD")
        eq(r.headers.get("content-length"), str(len(FILES["a.txt"])), "HEAD small")


# ---------------------------------------------------------------- validators


def test_etag_and_304():
    with start() as g:
        r = get(g, "/static/a.txt")
        tag, lm = r.headers["etag"], r.headers["last-modified"]
        eq(get(g, "/static/a.txt").headers["etag"], tag, "the same tag twice")
        r = get(g, "/static/a.txt", [("If-None-Match", tag)])
        eq(r.status, 304, "If-None-Match")
        eq(r.body, b"", "304 body")
        eq(r.headers.get("etag"), tag, "304 keeps the ETag")
        eq(get(g, "/static/a.txt", [("If-None-Match", '"x", ' + tag)]).status, 304, "in a list")
        eq(get(g, "/static/a.txt", [("If-None-Match", "W/" + tag)]).status, 304, "weak")
        eq(get(g, "/static/a.txt", [("If-None-Match", "*")]).status, 304, "star")
        eq(get(g, "/static/a.txt", [("If-Modified-Since", lm)]).status, 304, "If-Modified-Since")
        eq(get(g, "/static/a.txt", [("If-Modified-Since", "Mon, 01 Jan 2024 00:00:00 GMT")])
           .status, 200, "modified since")
        # If-None-Match wins: a stale tag with a current date is a 200
        r = get(g, "/static/a.txt", [("If-None-Match", '"stale"'), ("If-Modified-Since", lm)])
        eq(r.status, 200, "If-None-Match before If-Modified-Since")
        eq(r.body, FILES["a.txt"], "its body")
        eq(get(g, "/static/a.txt", [("If-Modified-Since", "garbage")]).status, 200, "bad date")
        # a changed file gets a new tag
        p = www("only.txt")
        with open(p, "ab") as f:
            f.write(b"more\n")
        try:
            r = get(g, "/static/only.txt", [("If-None-Match", tag)])
            eq(r.status, 200, "changed")
            check(r.headers["etag"] != tag, "a new tag")
        finally:
            with open(p, "wb") as f:
                f.write(FILES["only.txt"])


# ---------------------------------------------------------------- ranges


def test_ranges():
    data = FILES["pic.png"]
    n = len(data)
    with start() as g:
        r = get(g, "/static/pic.png", [("Range", "bytes=2-9")])
        eq(r.status, 206, "206")
        eq(r.body, data[2:10], "range body")
        eq(r.headers.get("content-range"), "bytes 2-9/%d" % n, "Content-Range")
        eq(r.headers.get("content-length"), "8", "range Content-Length")
        r = get(g, "/static/pic.png", [("Range", "bytes=-5")])
        eq((r.status, r.body), (206, data[-5:]), "suffix")
        r = get(g, "/static/pic.png", [("Range", "bytes=1000-")])
        eq((r.status, r.body), (206, data[1000:]), "open end")
        r = get(g, "/static/pic.png", [("Range", "bytes=1-999999")])
        eq(r.headers.get("content-range"), "bytes 1-%d/%d" % (n - 1, n), "clamped")
        r = get(g, "/static/pic.png", [("Range", "bytes=0-")])
        eq((r.status, r.body), (200, data), "the whole file as a range: 200, as Tornado")
        r = get(g, "/static/pic.png", [("Range", "bytes=%d-" % n)])
        eq(r.status, 416, "unsatisfiable")
        eq(r.headers.get("content-range"), "bytes */%d" % n, "416 Content-Range")
        r = get(g, "/static/pic.png", [("Range", "bytes=0-1,4-5")])
        eq((r.status, r.headers.get("content-type", "")[:20]), (206, "multipart/byteranges"),
           "several ranges: multipart (46-static-ranges tests them)")
        eq(get(g, "/static/pic.png", [("Range", "lines=1-2")]).status, 200, "another unit")
        # If-Range: the range only while the validator is current
        full = get(g, "/static/pic.png")
        tag, lm = full.headers["etag"], full.headers["last-modified"]
        eq(get(g, "/static/pic.png", [("Range", "bytes=0-1"), ("If-Range", tag)]).status, 206,
           "If-Range tag")
        r = get(g, "/static/pic.png", [("Range", "bytes=0-1"), ("If-Range", '"old"')])
        eq((r.status, r.body), (200, data), "If-Range stale tag")
        eq(get(g, "/static/pic.png", [("Range", "bytes=0-1"), ("If-Range", lm)]).status, 206,
           "If-Range date")
        eq(get(g, "/static/pic.png", [("Range", "bytes=0-1"),
                                      ("If-Range", "Mon, 01 Jan 2024 00:00:00 GMT")]).status,
           200, "If-Range old date")
        # a range of a big file goes by sendfile from its offset
        d, p = big_file("big.bin")
        with start(more=", { prefix = \"/big/\"; path = %s; }" % lc_str(d)) as g2:
            with open(p, "rb") as f:
                f.seek(BIG - 3000000)
                want = f.read(2000000)
            r = get(g2, "/big/big.bin", [("Range", "bytes=%d-%d" % (BIG - 3000000,
                                                                    BIG - 1000001))])
            eq(r.status, 206, "big range")
            check(r.body == want, "big range body")


# ---------------------------------------------------------------- static_url


def test_static_url():
    with start(with_module=True) as g:
        h = hashlib.sha512(FILES["site.css"]).hexdigest()
        r = get(g, "/url?path=site.css")
        eq(r.body.decode(), "/static/site.css?v=" + h, "static_url (Tornado's hash)")
        eq(get(g, "/url?path=/site.css").body.decode(), "/static/site.css?v=" + h,
           "a leading slash")
        eq(get(g, "/url?path=missing.css").body.decode(), "/static/missing.css",
           "a missing file has no version")
        eq(get(g, "/url?path=space%20name.txt").body.decode(),
           "/static/space%20name.txt?v=" + hashlib.sha512(FILES["space name.txt"]).hexdigest(),
           "encoded")
        r = get(g, r.body.decode())
        eq(r.body, FILES["site.css"], "the versioned URL serves the file")
        eq(r.headers.get("cache-control"), "max-age=31536000, public", "one year")
        # the hash follows the file
        p = www("site.css")
        try:
            with open(p, "wb") as f:
                f.write(b"body { color: red }\n")
            os.utime(p, (time.time() + 5, time.time() + 5))
            eq(get(g, "/url?path=site.css").body.decode(),
               "/static/site.css?v=" + hashlib.sha512(b"body { color: red }\n").hexdigest(),
               "a new hash after a change")
        finally:
            with open(p, "wb") as f:
                f.write(FILES["site.css"])


# ---------------------------------------------------------------- precompressed


def test_precompressed():
    with start() as g:
        plain = get(g, "/static/z.txt")
        ok(plain, FILES["z.txt"], "identity")
        eq(plain.headers.get("vary"), "Accept-Encoding", "Vary on identity too")
        check("content-encoding" not in plain.headers, "identity has no Content-Encoding")
        cases = (("gzip, br", "br"), ("br;q=1.0, gzip;q=0.5", "br"), ("gzip", "gzip"),
                 ("br;q=0, gzip", "gzip"), ("*", "br"), ("*, br;q=0", "gzip"),
                 ("identity", None), ("gzip;q=0", None), ("deflate", None))
        tags = {plain.headers["etag"]}
        for ae, coding in cases:
            r = get(g, "/static/z.txt", [("Accept-Encoding", ae)])
            want = {"br": FILES["z.txt.br"], "gzip": FILES["z.txt.gz"], None: FILES["z.txt"]}
            ok(r, want[coding], "Accept-Encoding %r" % ae)
            eq(r.headers.get("content-encoding"), coding, "Content-Encoding for %r" % ae)
            eq(r.headers.get("content-type"), "text/plain", "the original's type")
            eq(r.headers.get("vary"), "Accept-Encoding", "Vary")
            tags.add(r.headers["etag"])
        eq(len(tags), 3, "one ETag per coding: %r" % tags)
        r = get(g, "/static/z.txt", [("Accept-Encoding", "gzip"), ("Range", "bytes=3-8")])
        eq((r.status, r.body), (206, FILES["z.txt.gz"][3:9]), "a range of the encoded bytes")
        eq(r.headers.get("content-range"), "bytes 3-8/%d" % len(FILES["z.txt.gz"]),
           "Content-Range of the encoded file")
        eq(r.headers.get("content-encoding"), "gzip", "206 with Content-Encoding")
        br = get(g, "/static/z.txt", [("Accept-Encoding", "br")])
        eq(get(g, "/static/z.txt", [("Accept-Encoding", "br"),
                                    ("If-None-Match", br.headers["etag"])]).status, 304,
           "304 for the encoded tag")
        eq(get(g, "/static/z.txt", [("Accept-Encoding", "gzip"),
                                    ("If-None-Match", br.headers["etag"])]).status, 200,
           "the br tag is not the gzip one")
        ok(get(g, "/static/only.txt", [("Accept-Encoding", "gzip, br")]), FILES["only.txt"],
           "no sibling")
        r = get(g, "/plain/z.txt", [("Accept-Encoding", "gzip, br")])
        ok(r, FILES["z.txt"], "precompressed = false")


# ---------------------------------------------------------------- ways out


def test_no_escape():
    with start() as g:
        for target in ("/static/../outside.txt", "/static/%2e%2e/outside.txt",
                       "/static/%2E%2E/outside.txt", "/static/sub/../../outside.txt",
                       "/static/.%2e/outside.txt", "/static/sub%2f..%2f..%2foutside.txt",
                       "/static/sub%2Findex.html", "/static/..%5coutside.txt",
                       "/static/sub%5cindex.html", "/static/sub\\index.html",
                       "/static/a.txt%00.png", "/static/a%00.txt", "/static/out-abs",
                       "/static/out-rel", "/static/out-dir/outside.txt", "/static/.secret",
                       "/static/%2esecret", "/static/./a.txt", "/static/fifo.txt",
                       "/static/a.txt/", "/static/%zz", "/hid/../outside.txt",
                       "/hid/out-rel"):
            r = get(g, target)
            eq(r.status, 404, target)
            check(b"secret" not in r.body, "%s: nothing of the file leaks" % target)
        ok(get(g, "/static/in-link.txt"), FILES["a.txt"], "a link inside the folder")
        ok(get(g, "/static/sub-link/page.html"), FILES["sub/page.html"], "a folder link inside")
        ok(get(g, "/hid/.secret"), FILES[".secret"], "hidden = true")
        ok(get(g, "/static//a.txt"), FILES["a.txt"], "an empty segment")
        eq(get(g, "/hello").status, 200, "the worker is still there")


def test_folders():
    with start() as g:
        r = get(g, "/static/sub")
        eq(r.status, 301, "folder without slash")
        eq(r.headers.get("location"), "/static/sub/", "Location")
        eq(get(g, "/static/sub?x=1").headers.get("location"), "/static/sub/?x=1", "query kept")
        ok(get(g, "/static/sub/"), FILES["sub/index.html"], "default file")
        ok(get(g, "/static/"), FILES["index.html"], "the root's default file")
        eq(get(g, "/static/empty/").status, 404, "no default file: no listing")
        eq(get(g, "/static/sub-link").status, 301, "a linked folder")


def test_methods():
    with start() as g:
        for m in ("POST", "PUT", "DELETE"):
            r = get(g, "/static/a.txt", method=m)
            eq(r.status, 405, m)
            eq(r.headers.get("allow"), "GET, HEAD", m + " Allow")
        r = get(g, "/static/a.txt", method="OPTIONS")
        eq(r.status, 204, "OPTIONS")
        eq(r.headers.get("allow"), "GET, HEAD", "OPTIONS Allow")


# ---------------------------------------------------------------- big files, TLS


def read_some(s, n, timeout=10):
    """Read at least n bytes (or to the close); what was read."""
    buf = b""
    s.settimeout(timeout)
    while len(buf) < n:
        b = s.recv(65536)
        if not b:
            break
        buf += b
    return buf


def read_to_close(s, timeout=15):
    buf = b""
    s.settimeout(timeout)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            b = s.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            break
        except socket.timeout:
            fail("the connection was not closed after the file shrank")
        if not b:
            break
        buf += b
    return buf


def shrink_while_reading(g, port, target, path, wrap=None):
    """A slow client reads the head and a little, the file is cut to a
    quarter, the client reads on: the answer ends early with the connection,
    and the worker goes on serving."""
    workers = g.workers()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    if wrap:
        s = wrap(s)
    s.sendall(req("GET", target, headers=[("Connection", "close")]))
    got = read_some(s, 100000)
    check(b" 200 " in got[:20], "the answer started: %r" % got[:100])
    os.truncate(path, BIG // 4)
    got += read_to_close(s)
    s.close()
    check(len(got) < BIG, "the answer was cut short (%d bytes)" % len(got))
    eq(g.workers(), workers, "no worker died")


def test_file_shrinks_plain():
    d, p = big_file("big.bin")
    with start(more=", { prefix = \"/big/\"; path = %s; }" % lc_str(d)) as g:
        r = get(g, "/big/big.bin")
        eq(len(r.body), BIG, "the whole big file")
        with open(p, "rb") as f:
            check(r.body == f.read(), "big body")
        shrink_while_reading(g, g.port, "/big/big.bin", p)
        ok(get(g, "/static/a.txt"), FILES["a.txt"], "served after the cut")
        os.unlink(p)  # gone: 404
        eq(get(g, "/big/big.bin").status, 404, "a vanished file")


def test_keepalive_and_leaving_clients():
    """A big file by sendfile, then a small one on the same connection; clients
    that leave in the middle of a big file (the worker frees and goes on)."""
    d, p = big_file("big.bin")
    with start(more=", { prefix = \"/big/\"; path = %s; }" % lc_str(d)) as g:
        s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        s.sendall(req("GET", "/big/big.bin") + req("GET", "/static/a.txt",
                                                   headers=[("Connection", "close")]))
        data = read_to_close(s, 30)
        s.close()
        rs = parse_responses(data, ["GET", "GET"])
        eq([r.status for r in rs], [200, 200], "both answers")
        eq(len(rs[0].body), BIG, "the big body")
        eq(rs[1].body, FILES["a.txt"], "the next answer on the connection")
        workers = g.workers()
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
            s.sendall(req("GET", "/big/big.bin"))
            read_some(s, 100000)
            s.close()
        ok(get(g, "/static/a.txt"), FILES["a.txt"], "served after clients left")
        eq(g.workers(), workers, "no worker died")


def make_cert():
    d = tempfile.mkdtemp(prefix="gale-static-tls-")
    atexit.register(shutil.rmtree, d, True)
    os.chmod(d, 0o755)
    key, crt = os.path.join(d, "k.pem"), os.path.join(d, "c.pem")
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                        "-subj", "/CN=localhost", "-days", "2"], check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        raise Skip("openssl cannot make a certificate: %s" % e)
    os.chmod(key, 0o644)
    return key, crt


def tls_listener():
    """A TLS listen entry on a free port with a certificate of its own, the
    port, and a client context that takes any certificate."""
    key, crt = make_cert()
    tport = free_port()
    listen = (', { address = "127.0.0.1"; port = %d; tls = { certificate = %s; key = %s; }; }'
              % (tport, lc_str(crt), lc_str(key)))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return listen, tport, ctx


def test_tls():
    d, p = big_file("big.bin")
    listen, tport, ctx = tls_listener()

    def wrap(s):
        return ctx.wrap_socket(s, server_hostname="localhost")

    def tls_get(target, headers=()):
        s = wrap(socket.create_connection(("127.0.0.1", tport), timeout=10))
        s.sendall(req("GET", target, headers=list(headers) + [("Connection", "close")]))
        data = read_to_close(s, 30)
        s.close()
        rs = parse_responses(data, ["GET"])
        check(len(rs) == 1, "one TLS response for %s" % target)
        return rs[0]

    with start(listen=listen, more=", { prefix = \"/big/\"; path = %s; }" % lc_str(d)) as g:
        wait_for(lambda: socket.create_connection(("127.0.0.1", tport)).close() or True, 5)
        ok(tls_get("/static/a.txt"), FILES["a.txt"], "small over TLS")
        r = tls_get("/big/big.bin")
        eq(r.status, 200, "big over TLS")
        eq(r.headers.get("content-length"), str(BIG), "Content-Length, not chunks")
        check("transfer-encoding" not in r.headers, "no chunks")
        with open(p, "rb") as f:
            check(r.body == f.read(), "big body over TLS")
        r = tls_get("/big/big.bin", [("Range", "bytes=100-5000099")])
        eq((r.status, len(r.body)), (206, 5000000), "a big range over TLS")
        for _ in range(3):  # clients that leave in the middle (the pieces stop)
            s = wrap(socket.create_connection(("127.0.0.1", tport), timeout=10))
            s.sendall(req("GET", "/big/big.bin"))
            read_some(s, 100000)
            s.close()
        shrink_while_reading(g, tport, "/big/big.bin", p, wrap=wrap)
        ok(tls_get("/static/a.txt"), FILES["a.txt"], "served after the cut (TLS)")


def test_compressed_on_the_fly():
    """With compression on (the default), a text file without a sibling is
    gzipped by the compression stage (weak ETag, 304 still): a small one at
    once, a big one streamed through it in pieces (plain and TLS). Without
    Accept-Encoding the big one goes by sendfile with its length, and a
    range of it is never compressed."""
    import gzip
    d = tempfile.mkdtemp(prefix="gale-static-bigtext-")
    atexit.register(shutil.rmtree, d, True)
    os.chmod(d, 0o755)
    text = b"a line of text that compresses well\n" * 60000  # 2.1 MB
    with open(os.path.join(d, "big.txt"), "wb") as f:
        f.write(text)
    os.chmod(os.path.join(d, "big.txt"), 0o644)
    listen, tport, ctx = tls_listener()
    gz = [("Accept-Encoding", "gzip")]
    with start(listen=listen, more=", { prefix = \"/bt/\"; path = %s; }" % lc_str(d),
               compress=True) as g:
        r = get(g, "/plain/z.txt", gz)
        eq((r.status, r.headers.get("content-encoding")), (200, "gzip"), "z.txt gzipped")
        eq(gzip.decompress(r.body), FILES["z.txt"], "z.txt decoded")
        check("accept-encoding" in r.headers.get("vary", "").lower(), "Vary: %r" % r.headers)
        tag = r.headers.get("etag", "")
        check(tag.startswith('W/"'), "a weak ETag for the gzipped file: %r" % tag)
        eq(get(g, "/plain/z.txt", gz + [("If-None-Match", tag)]).status, 304, "304 for it")
        r = get(g, "/bt/big.txt", gz)
        eq(r.headers.get("content-encoding"), "gzip", "big text, plain, gzipped")
        check(len(r.body) < len(text) // 20, "big text compressed to %d bytes" % len(r.body))
        eq(gzip.decompress(r.body), text, "big text, plain, decoded")
        r = get(g, "/bt/big.txt")
        eq(r.headers.get("content-encoding"), None, "no Accept-Encoding: as it is")
        eq(r.headers.get("content-length"), str(len(text)), "with its length")
        ok(r, text, "big text, plain")
        r = get(g, "/bt/big.txt", gz + [("Range", "bytes=100-1999999")])
        eq((r.status, r.headers.get("content-encoding")), (206, None), "a range as it is")
        eq(r.body, text[100:2000000], "the range's bytes")
        wait_for(lambda: socket.create_connection(("127.0.0.1", tport)).close() or True, 5)
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", tport), timeout=10),
                            server_hostname="localhost")
        s.sendall(req("GET", "/bt/big.txt", headers=gz + [("Connection", "close")]))
        rs = parse_responses(read_to_close(s, 30), ["GET"])
        s.close()
        eq(rs[0].headers.get("content-encoding"), "gzip", "big text, TLS, gzipped")
        eq(gzip.decompress(rs[0].body), text, "big text, TLS, decoded")


def test_media_seeks_in_a_browser():
    """Audio from a static folder in headless Chromium: the player reads the
    duration, seeks near the end, and the server answers its ranges (206)."""
    import wave
    node_module("playwright-core")
    if not os.access("/usr/bin/chromium", os.X_OK):
        raise Skip("/usr/bin/chromium not found")
    d = tempfile.mkdtemp(prefix="gale-static-media-")
    atexit.register(shutil.rmtree, d, True)
    seconds, rate = 60, 44100
    with wave.open(os.path.join(d, "tone.wav"), "wb") as w:  # 10 MB: sendfile
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        second = bytes((i * 7) & 0xFF for i in range(rate * 4))
        for _ in range(seconds):
            w.writeframes(second)
    with open(os.path.join(d, "player.html"), "w") as f:
        f.write('<!doctype html><title>player</title>'
                '<audio id="a" src="tone.wav" preload="metadata" controls></audio>\n')
    readable_tree(d)
    with start(more=", { prefix = \"/media/\"; path = %s; }" % lc_str(d)) as g:
        rc, out, err = node(os.path.join(REPO, "tests", "node", "media-seek.js"),
                            g.url("/media/player.html"), seconds, timeout=60)
        for line in out.splitlines():
            print("#   " + line)
        check(rc == 0, "media-seek.js: %s%s" % (out[-1000:], err[-2000:]))
        size = os.path.getsize(os.path.join(d, "tone.wav"))

        def ranges():  # the access log is written once a second
            return [int(n) for n in re.findall(r'"GET /media/tone\.wav HTTP/1\.1" 206 (\d+)',
                                               g.log()) if int(n) < size]
        check(wait_for(ranges, 5), "the player's ranges answered 206: %s" % "\n".join(
            line for line in g.log().splitlines() if "tone.wav" in line))


# ---------------------------------------------------------------- gale -t


def test_config_errors():
    d = tempfile.mkdtemp(prefix="gale-static-conf-")
    try:
        conf = os.path.join(d, "gale.conf")
        with open(conf, "w") as f:
            f.write('listen = ( { port = 8080; } );\n'
                    'static = ( { prefix = "/a/"; path = "/nonexistent/www"; },\n'
                    '           { prefix = "nolead/"; path = %s; },\n'
                    '           { prefix = "/a/"; path = %s; },\n'
                    '           { prefix = "/f/"; path = %s; },\n'
                    '           { path = %s; } );\n'
                    % (lc_str(www()), lc_str(www()), lc_str(www("a.txt")), lc_str(www())))
        p = run_gale(["-t", "-c", conf])
        out = p.stderr + p.stdout
        check(p.returncode != 0, "gale -t refuses: %s" % out)
        for line, what in ((2, "/nonexistent/www"), (3, "starts and ends with '/'"),
                           (4, "already served at line 2"), (5, "is not a folder"),
                           (6, "missing required setting 'prefix'")):
            check("gale.conf:%d:" % line in out and what in out,
                  "line %d: %r expected in %s" % (line, what, out))
        with open(conf, "w") as f:
            f.write('listen = ( { port = 8080; } );\nstatic = ( { prefix = "/s/"; path = %s;'
                    ' default = "index.htm"; max_age = 60; name = "s"; hidden = false;'
                    ' precompressed = true; charset = "utf-8"; } );\n' % lc_str(www()))
        p = run_gale(["-t", "-c", conf])
        eq(p.returncode, 0, "a valid static list: %s" % (p.stderr + p.stdout))
    finally:
        shutil.rmtree(d, True)


# ---------------------------------------------------------------- Tornado


TORNADO_APP = r"""
import sys, asyncio, tornado.web
root, port = sys.argv[1], int(sys.argv[2])
async def main():
    app = tornado.web.Application([(r"/static/(.*)", tornado.web.StaticFileHandler,
                                    {"path": root, "default_filename": "index.html"})])
    app.listen(port, "127.0.0.1")
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def tornado_python():
    """A python with Tornado: ours, or Debian's (python3-tornado)."""
    for exe in (sys.executable, "/usr/bin/python3"):
        if exe and subprocess.run([exe, "-c", "import tornado.web"],
                                  capture_output=True).returncode == 0:
            return exe
    raise Skip("Tornado is not installed (python3-tornado)")


def test_same_as_tornado():
    exe = tornado_python()
    port = free_port()
    t = subprocess.Popen([exe, "-c", TORNADO_APP, www(), str(port)], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        eq(t.stdout.readline().strip(), b"ready", "Tornado started")
        conf_more = ""
        with Gale(conf=CONF.replace("max_age = 3600; ", "precompressed = false; ")
                  % {"www": lc_str(www()), "listen": "", "more": conf_more, "module": "",
                     "compress": "compress = { enabled = false; };"}) as g:
            mtime = os.stat(www("a.txt")).st_mtime
            lm = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(mtime))
            cases = [(n, ()) for n in ("a.txt", "index.html", "site.css", "app.js", "data.json",
                                       "pic.png", "noext", "sub/page.html", "zero.txt")]
            cases += [("pic.png", (("Range", "bytes=2-9"),)),
                      ("pic.png", (("Range", "bytes=-5"),)),
                      ("pic.png", (("Range", "bytes=1000-"),)),
                      ("pic.png", (("Range", "bytes=0-99999"),)),
                      ("pic.png", (("Range", "bytes=5000-"),)),
                      ("a.txt", (("If-Modified-Since", lm),)),
                      ("a.txt", (("If-Modified-Since", "Mon, 01 Jan 2024 00:00:00 GMT"),)),
                      ("sub/", ()), ("", ()), ("sub", ()), ("missing.txt", ())]
            for name, headers in cases:
                for method in ("GET", "HEAD"):
                    what = "%s /static/%s %r" % (method, name, headers)
                    ours = get(g, "/static/" + name, headers, method)
                    data = socket.create_connection(("127.0.0.1", port), timeout=10)
                    data.sendall(req(method, "/static/" + name,
                                     headers=list(headers) + [("Connection", "close")]))
                    raw = read_to_close(data)
                    data.close()
                    theirs = parse_responses(raw, [method])[0]
                    eq(ours.status, theirs.status, what + ": status")
                    fields = ["content-type", "content-length", "last-modified", "cache-control",
                              "accept-ranges", "content-range", "location"]
                    if ours.status >= 400:
                        fields = ["content-range"]  # error pages differ in text
                    elif ours.status in (301, 302):
                        fields = ["location"]  # Tornado's redirect has a text body
                    for h in fields:
                        eq(ours.headers.get(h), theirs.headers.get(h), "%s: %s" % (what, h))
                    if ours.status in (200, 206):
                        eq(ours.body, theirs.body, what + ": body")
    finally:
        t.terminate()
        t.wait(5)


if __name__ == "__main__":
    main()

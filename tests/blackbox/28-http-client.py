#!/usr/bin/env python3
"""28-http-client: the async HTTP client (gale_fetch_*), driven through the
routes of a test module (tests/modules/clienttest.c) that fetch the URL given
in their query and answer the outcome as JSON. Against gale itself, Python's
http.server started here, and a TLS server with its own CA made here
(trusted through client.ca_file; a server of another CA fails with a TLS
error). Errors are values with a clear message: a name that does not resolve,
a refused port, a total timeout, a server that closes mid-answer, an oversize
answer (by Content-Length and chunked), a redirect loop. A cap of 2 transfers
per worker with 8 asked at once (queued, never more than 2 on the server,
connections reused); streamed upload and download, paused and resumed (a relay to a slow
client, an upload whose data comes late); a client that goes away
while its fetch runs (the fetch stops: the server sees the connection
closed, done runs once with CANCELLED), a handler that answers without
waiting (the request is freed: the fetch is cancelled, done never runs); a
proxy from the config (http.server standing in for it)."""

import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import httpmock  # noqa: E402
from galetest import Gale, check, eq, free_port, main, module_path, run_gale  # noqa: E402

OK, DNS, REFUSED, TIMEOUT, TLS, TOO_LARGE, REDIRECTS, BROKEN, CANCELLED, FAILED = range(10)

CONF = """
workers = 1;
access_log = "stderr";
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
client = { ca_file = "%(ca)s"; max_concurrent = 2; timeout = 30; };
modules = (
  { path = "@TESTMODULES@/clienttest.so";
    routes = ( { path = "/fetch"; handler = "fetch"; },
               { path = "/many"; handler = "many"; },
               { path = "/down"; handler = "down"; },
               { path = "/up"; handler = "up"; },
               { path = "/stats"; handler = "stats"; },
               { path = "/drop"; handler = "drop"; },
               { path = "/relay"; handler = "relay"; },
               { path = "/echo"; handler = "echo"; } ); } );
"""

STATE = {"inflight": 0, "max": 0, "ports": set(), "started": {}, "gone": {}}
LOCK = threading.Lock()


def event(kind, tag):
    with LOCK:
        return STATE[kind].setdefault(tag, threading.Event())


class Handler(httpmock.Handler):
    def body(self):
        """The request body, Content-Length or chunked; (bytes, chunked)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out, True
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n), False

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        getattr(self, "path_" + url.path.strip("/"), self.path_missing)(q)

    do_POST = do_PUT = do_DELETE = do_GET

    def path_missing(self, q):
        self.answer(404, "no such path")

    def path_hello(self, q):
        # a proxy is sent the absolute URL: say so
        seen = "proxied" if self.path.startswith("http://") else "direct"
        self.answer(200, "hello", headers=[("X-Server", "py"), ("X-Seen", seen)])

    def path_echo(self, q):
        data, chunked = self.body()
        got = {"method": self.command, "len": len(data), "sha": hashlib.sha256(data).hexdigest(),
               "chunked": chunked, "type": self.headers.get("Content-Type", "")}
        try:
            got["json"] = json.loads(data)
        except ValueError:
            got["json"] = None
        self.answer(200, json.dumps(got), "application/json")

    def path_slow(self, q):
        """1000 bytes announced, one every 0.1 s: ends when the peer leaves."""
        tag = q.get("tag", "")
        event("started", tag).set()
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        try:
            for _ in range(1000):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            event("gone", tag).set()
        self.close_connection = True

    def path_close(self, q):
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.wfile.flush()
        self.close_connection = True

    def path_big(self, q):
        self.answer(200, b"x" * int(q.get("n", "1000")))

    def path_bigchunked(self, q):
        self.stream([b"y" * 10000] * (int(q.get("n", "1000")) // 10000))

    def path_stream(self, q):
        self.stream([("piece %d\n" % i).encode() for i in range(5)], pause=0.05)

    def stream(self, pieces, pause=0):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for p in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
            self.wfile.flush()
            time.sleep(pause)
        self.wfile.write(b"0\r\n\r\n")

    def path_loop(self, q):
        self.answer(302, "again", headers=[("Location", "/loop")])

    def path_redir(self, q):
        self.answer(302, "there", headers=[("Location", "/hello")])

    def path_pace(self, q):
        with LOCK:
            STATE["inflight"] += 1
            STATE["max"] = max(STATE["max"], STATE["inflight"])
            STATE["ports"].add(self.client_address[1])
        time.sleep(0.3)
        with LOCK:
            STATE["inflight"] -= 1
        self.answer(200, "paced")


def serve(context=None):
    return httpmock.serve(Handler, context)


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(folder, name):
    """A CA and a server certificate for localhost/127.0.0.1 signed by it."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", name + "-ca.key", "-out", name + "-ca.pem",
            "-days", "2", "-subj", "/CN=gale test CA " + name, cwd=folder)
    openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj",
            "/CN=localhost", cwd=folder)
    with open(os.path.join(folder, name + ".ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", name + ".csr", "-CA", name + "-ca.pem", "-CAkey",
            name + "-ca.key", "-CAcreateserial", "-out", name + ".pem", "-days", "2",
            "-extfile", name + ".ext", cwd=folder)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(folder, name + ".pem"), os.path.join(folder, name + ".key"))
    return os.path.join(folder, name + "-ca.pem"), ctx


_setup = {}


def setup():
    """The servers, made once: plain, TLS of the trusted CA, TLS of another."""
    if not _setup:
        module_path("clienttest")  # skips when the test module was not built
        folder = tempfile.mkdtemp(prefix="gale-client-")
        os.chmod(folder, 0o755)  # the workers (nobody) read the CA file
        ca, good = make_ca(folder, "good")
        _, other = make_ca(folder, "other")
        os.chmod(ca, 0o644)
        _setup.update(folder=folder, ca=ca, plain=serve(), tls=serve(good), bad=serve(other))
    return _setup


def py(path, kind="plain"):
    s = setup()
    scheme = "http" if kind == "plain" else "https"
    return "%s://127.0.0.1:%d%s" % (scheme, s[kind].server_address[1], path)


def gale():
    return Gale(conf=CONF % {"ca": setup()["ca"]})


def fetch(g, route="/fetch", **q):
    status, headers, body = g.get(route + "?" + urllib.parse.urlencode(q), timeout=60)
    eq(status, 200, "%s %r answered" % (route, q))
    return json.loads(body) if route not in ("/down", "/relay") else (headers, body)


def failed(out, kind, words):
    eq(out["error"], kind, "error kind (%s)" % out["message"])
    check(words in out["message"], "message %r says %r" % (out["message"], words))


def test_plain_get_and_redirects():
    with gale() as g:
        out = fetch(g, url=py("/hello"))
        eq(out["error"], OK, "ok")
        eq((out["status"], out["body"], out["message"]), (200, "hello", ""), "answer")
        eq(out["headers"].get("X-Server"), "py", "headers of the answer")
        out = fetch(g, url=py("/redir"))
        eq((out["status"], out["body"]), (200, "hello"), "redirect followed")
        check(out["url"].endswith("/hello"), "the last URL: %s" % out["url"])
        out = fetch(g, url=py("/redir"), redirects=0)
        eq(out["status"], 302, "redirects=0: the 3xx is the answer")
        out = fetch(g, url=py("/missing"))
        eq((out["error"], out["status"]), (OK, 404), "a 404 is an answer, not an error")
        out = fetch(g, url=py("/close"))
        eq(out["status"], 200, "the status of a head that came before the failure")
        failed(fetch(g, url="http://127.0.0.1:%d/" % free_port()), REFUSED, "could not connect")
        eq(fetch(g, url="http://127.0.0.1:%d/" % free_port())["status"], 0, "no answer: 0")
        failed(fetch(g, url=py("/loop")), REDIRECTS, "too many redirects")
        failed(fetch(g, url="file:///etc/passwd"), FAILED, "failed")


def test_gale_itself_methods_json():
    with gale() as g:
        echo = g.url("/echo")
        out = fetch(g, url=echo, method="PUT", body="abc", hdr="X-Test:hi")
        eq(out["status"], 200, "gale answered gale")
        eq(out["headers"].get("X-Echo"), "yes", "its header")
        eq((out["json"]["method"], out["json"]["body"], out["json"]["x"]), ("PUT", "abc", "hi"),
           "method, body and header arrived")
        out = fetch(g, url=echo, method="DELETE")
        eq(out["json"]["method"], "DELETE", "DELETE")
        out = fetch(g, url=echo, method="POST", json="1")
        eq(out["json"]["type"], "application/json", "JSON body typed")
        eq(json.loads(out["json"]["body"]), {"hello": "gale", "n": 1}, "JSON body sent")
        out = fetch(g, url=py("/echo"), method="POST", json="1")
        eq(out["json"]["json"], {"hello": "gale", "n": 1}, "http.server got the JSON")
        eq(out["json"]["method"], "POST", "POST")


def test_tls_ca_file():
    with gale() as g:
        out = fetch(g, url=py("/hello", "tls"))
        eq((out["error"], out["status"], out["body"]), (OK, 200, "hello"),
           "TLS with the CA of the config (%s)" % out["message"])
        failed(fetch(g, url=py("/hello", "bad")), TLS, "TLS")
    conf = (CONF % {"ca": setup()["ca"]}).replace("client = { ", "client = { verify = false; ")
    with Gale(conf=conf) as g:
        out = fetch(g, url=py("/hello", "bad"))
        eq((out["error"], out["body"]), (OK, "hello"), "verify = false trusts any server")


def test_errors_are_values():
    with gale() as g:
        failed(fetch(g, url="http://nothing-here.invalid/"), DNS, "nothing-here.invalid")
        failed(fetch(g, url="http://127.0.0.1:%d/" % free_port()), REFUSED, "could not connect")
        failed(fetch(g, url=py("/slow?tag=timeout"), timeout="1"), TIMEOUT, "timed out")
        failed(fetch(g, url=py("/close")), BROKEN, "connection broken")
        # a listener whose queue is full drops new SYNs: the connect hangs
        full = socket.socket()
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        waiting = []
        while len(waiting) < 10:  # until one connect hangs: the queue is full
            try:
                waiting.append(socket.create_connection(full.getsockname(), timeout=0.5))
            except socket.timeout:
                break
        out = fetch(g, url="http://127.0.0.1:%d/" % full.getsockname()[1], connect="0.5")
        failed(out, TIMEOUT, "timed out")
        check("onnect" in out["message"], "the connect timed out: %s" % out["message"])
        for c in waiting + [full]:
            c.close()
        failed(fetch(g, url=py("/big?n=200000"), max="100000"), TOO_LARGE, "100000 bytes")
        failed(fetch(g, url=py("/bigchunked?n=200000"), max="100000"), TOO_LARGE, "too large")
        out = fetch(g, url=py("/big?n=200000"))
        eq((out["status"], len(out["body"])), (200, 200000), "under the limit")
        eq(fetch(g, url=py("/hello"))["body"], "hello", "the worker lives on")


def test_cap_queue_and_reuse():
    with gale() as g:
        with LOCK:
            STATE["max"], STATE["ports"] = 0, set()
        out = fetch(g, "/many", url=py("/pace"), n="8")
        eq(out, {"200": 8}, "every fetch answered")
        check(STATE["max"] <= 2, "at most 2 at once on the server, saw %d" % STATE["max"])
        check(len(STATE["ports"]) < 8, "connections reused: %d for 8" % len(STATE["ports"]))


def test_streamed_download_and_upload():
    with gale() as g:
        headers, body = fetch(g, "/down", url=py("/stream"))
        eq(body.decode(), "".join("piece %d\n" % i for i in range(5)), "pieces in order")
        eq(headers.get("X-Upstream-Status"), "200", "status seen in the piece callback")
        headers, body = fetch(g, "/down", url=py("/close"))
        check(body.startswith(b"0123456789") and b"ERROR %d" % BROKEN in body,
              "a broken download ends with its error: %r" % body)
        size = 100000
        out = fetch(g, "/up", url=py("/echo"), method="POST", size=str(size))
        want = hashlib.sha256(bytes(97 + i % 26 for i in range(size))).hexdigest()
        eq((out["json"]["len"], out["json"]["sha"]), (size, want), "the streamed body arrived")
        check(out["json"]["chunked"], "sent chunked (length unknown)")
        out = fetch(g, "/up", url=g.url("/echo"), method="PUT", size="5000")
        eq((out["json"]["method"], len(out["json"]["body"])), ("PUT", 5000), "to gale itself")


def stats(g):
    return json.loads(g.get("/stats")[2])


def test_paused_transfers():
    """GALE_FETCH_PAUSE and gale_fetch_resume: a relay that waits for its
    client to read each piece, to a client that reads slowly; an upload whose
    data comes later than asked."""
    with gale() as g:
        size = 3000000
        s = socket.create_connection(("127.0.0.1", g.port))
        q = urllib.parse.urlencode({"url": py("/bigchunked?n=%d" % size)})
        s.sendall(b"GET /relay?%s HTTP/1.0\r\n\r\n" % q.encode())
        got = b""
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            got += piece
            if len(got) < 1000000:
                time.sleep(0.01)  # slow at first: the relay must wait for us
        s.close()
        head, _, body = got.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 200"), "relay answered: %r" % head[:40])
        eq(len(body), size, "every byte relayed")
        check(body == b"y" * size and b"ERROR" not in body, "the body as sent")
        check(stats(g)["pauses"] > 0, "the relay paused the download")
        out = fetch(g, "/up", url=py("/echo"), method="POST", size="30000", pause="1")
        want = hashlib.sha256(bytes(97 + i % 26 for i in range(30000))).hexdigest()
        eq((out["error"], out["json"]["len"], out["json"]["sha"]), (OK, 30000, want),
           "the paused upload arrived whole")


def test_client_gone_cancels():
    """The client leaves while the handler waits for its fetch: the fetch
    stops (the server sees its connection go) and done runs once with
    CANCELLED, so that the handler finishes the request."""
    with gale() as g:
        before = stats(g)["done"]
        s = socket.create_connection(("127.0.0.1", g.port))
        q = urllib.parse.urlencode({"url": py("/slow?tag=gone")})
        s.sendall(b"GET /fetch?%s HTTP/1.1\r\nHost: x\r\n\r\n" % q.encode())
        check(event("started", "gone").wait(20), "the fetch reached the server")
        s.close()
        check(event("gone", "gone").wait(20), "the fetch was stopped: the server saw it go")
        st = stats(g)
        eq((st["done"], st["last_error"]), (before + 1, CANCELLED), "done ran once, cancelled")
        eq(fetch(g, url=py("/hello"))["body"], "hello", "the worker lives on")


def test_request_freed_cancels():
    """The handler answers without waiting: the request is freed, the fetch
    bound to it is cancelled and its done never runs."""
    with gale() as g:
        before = stats(g)["done"]
        status, _, body = g.get("/drop?" + urllib.parse.urlencode({"url": py("/slow?tag=drop")}))
        eq((status, body), (200, b"dropped"), "answered at once")
        if event("started", "drop").wait(2):  # it may be cancelled before it connects
            check(event("gone", "drop").wait(20), "the server saw the fetch go")
        eq(stats(g)["done"], before, "done never ran")
        eq(fetch(g, url=py("/hello"))["body"], "hello", "the worker lives on")


def test_proxy_from_config():
    """client.proxy: every transfer goes through it, names resolved there."""
    conf = CONF % {"ca": setup()["ca"]}
    proxy = 'client = { proxy = "%s"; ' % py("")
    with Gale(conf=conf.replace("client = { ", proxy)) as g:
        out = fetch(g, url="http://through-the-proxy.invalid/hello")
        eq((out["error"], out["body"]), (OK, "hello"), "answered by the proxy (%s)" % out["message"])
        eq(out["headers"].get("X-Seen"), "proxied", "the proxy got the absolute URL")
    with gale() as g:
        eq(fetch(g, url=py("/hello"))["headers"].get("X-Seen"), "direct", "no proxy by default")


def test_config_checked():
    with gale() as g:
        bad = os.path.join(g.tmp, "bad.conf")
        with open(g.conf_path) as f:
            conf = f.read()
        for extra, word in (("client = { max_concurrent = 0; };", "max_concurrent"),
                            ("client = { timeout = -1; };", "timeout"),
                            ("client = { verify = 3; };", "verify")):
            with open(bad, "w") as f:
                f.write("".join(l for l in conf.splitlines(True) if "client = {" not in l) + extra + "\n")
            p = run_gale(["-t", "-c", bad])
            check(p.returncode != 0 and word in p.stderr, "%s refused: %r" % (extra, p.stderr))


if __name__ == "__main__":
    try:
        main()
    finally:
        if _setup:
            shutil.rmtree(_setup["folder"], ignore_errors=True)

#!/usr/bin/env python3
"""16-websocket: WebSocket (RFC 6455, RFC 7692) conformance of gale, through
the real server and tests/modules/wstest.so, with two kinds of client: the
npm `ws` package run by node (tests/node/ws-client.js and ws-many.js: a real,
widely used client) and raw Python sockets for the handshake's edge cases and
hand-built frames, malformed ones included (client frames are masked unless
a test says otherwise).

What gale must do, beyond RFC 6455: after a protocol error it sends a close
frame with the code (1002, 1007, 1009) and closes TCP; it answers a client's
close frame with the same code (1000 when the client's had none) and closes
TCP; on a drain (SIGHUP reload, SIGQUIT) it sends close 1001."""

import base64
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (NODE_MODULES, REPO, Gale, Skip, alive, check, eq, fail,  # noqa: E402
                      free_port, lc_str, lc_value, main, make_conf, module_path, node,
                      node_module, parse_responses, req, wait_for)

NODE_DIR = os.path.join(REPO, "tests", "node")
CLIENT_JS = os.path.join(NODE_DIR, "ws-client.js")
MANY_JS = os.path.join(NODE_DIR, "ws-many.js")
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MiB = 1024 * 1024

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

ROUTES = (
    ("/ws", "echo", {"websocket": True}),
    ("/pid", "wspid", {"websocket": True}),
    ("/sub", "subws", {"websocket": True}),
    ("/publish", "publish"),
    ("/wait", "wait"),
    ("/subscribers", "subscribers"),
)


# ---------------------------------------------------------------- gale


def ws_group(ws):
    """The text of the top-level `websocket` group from a dict (lists allowed)."""
    if not ws:
        return ""
    items = []
    for k, v in ws.items():
        if isinstance(v, (list, tuple)):
            v = "[" + ", ".join(lc_str(x) for x in v) + "]"
        else:
            v = lc_value(v)
        items.append("%s = %s;" % (k, v))
    return "websocket = { %s };" % " ".join(items)


# a worker that exits 0 after SIGQUIT is logged "exited with status 0": not trouble
WORKER_TROUBLE = re.compile(r"killed by signal|exited with status [1-9]|did not drain in time")


class WsGale(Gale):
    """A Gale whose stop also fails the test when a worker crashed or had to
    be killed while the test ran (the master respawns it, so requests alone
    would not notice)."""

    def stop(self, *a, **kw):
        before = self.log() if not self.stopped else ""
        rc = Gale.stop(self, *a, **kw)
        bad = [l for l in before.splitlines() if WORKER_TROUBLE.search(l)]
        check(not bad, "worker trouble in gale's log: %s" % "\n".join(bad[:5]))
        return rc


def ws_gale(ws=None, workers=1, extra="", **kw):
    """A Gale serving wstest.so on ROUTES with the websocket group `ws` (a dict)."""
    kw.setdefault("routes", ROUTES)
    return WsGale(workers=workers, module=module_path("wstest"),
                  extra=ws_group(ws) + "\n" + extra, **kw)


def log_has(g, needle, timeout=3.0):
    """Wait for needle in gale's log (callbacks log after the socket is gone)."""
    if not wait_for(lambda: needle in g.log(), timeout):
        fail("%r not in gale's log within %ss; log:\n%s" % (needle, timeout, g.log_tail(30)))


# ---------------------------------------------------------------- the ws client (node)


def need_ws():
    module_path("wstest")
    node_module("ws")


def ws_url(g, path="/ws", scheme="ws"):
    return "%s://127.0.0.1:%d%s" % (scheme, g.port, path)


def run_ws(url, steps, options=None, timeout=30.0):
    """Run ws-client.js for one job; returns its events (dicts). Fails when the
    client failed (a step timed out) or printed garbage."""
    job = {"url": url, "steps": steps, "options": options or {}, "timeout": int(timeout * 1000)}
    try:
        rc, out, err = node(CLIENT_JS, timeout=timeout + 10, stdin=json.dumps(job) + "\n")
    except subprocess.TimeoutExpired:
        fail("ws-client.js did not finish in %ss" % (timeout + 10))
    events = []
    for line in out.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            fail("ws-client.js printed %r; stderr %s" % (line, err[-2000:]))
    bad = [e for e in events if e["ev"] == "fail"]
    if bad or rc != 0:
        fail("ws-client.js failed (rc %d): %s\nevents: %s\nstderr: %s"
             % (rc, bad[0]["message"] if bad else "", short(events), err[-2000:]))
    return events


def short(events):
    """Events for a failure message, without the bulky fields."""
    out = []
    for e in events:
        e = dict(e)
        for k in ("hex", "text", "headers"):
            if k in e and len(str(e[k])) > 120:
                e[k] = str(e[k])[:120] + "..."
        out.append(e)
    return json.dumps(out)[:4000]


def of(events, kind):
    return [e for e in events if e["ev"] == kind]


def step(events, i):
    """The result of step i."""
    for e in events:
        if e["ev"] == "step" and e["i"] == i:
            return e
    fail("no result for step %d: %s" % (i, short(events)))


def sha(data):
    return hashlib.sha256(data).hexdigest()


class WsProc:
    """ws-client.js running in the background, its events read as they come
    (for tests that act on gale while the client is connected)."""

    def __init__(self, url, steps, options=None, timeout=30.0):
        env = dict(os.environ)
        env["NODE_PATH"] = NODE_MODULES
        self.p = subprocess.Popen(["node", CLIENT_JS], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        job = {"url": url, "steps": steps, "options": options or {},
               "timeout": int(timeout * 1000)}
        self.p.stdin.write((json.dumps(job) + "\n").encode())
        self.p.stdin.flush()
        self.events = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                e = {"ev": "garbage", "line": line.decode("utf-8", "replace")}
            e["t"] = time.monotonic()
            with self.lock:
                self.events.append(e)

    def wait_event(self, kind, timeout):
        """The first event of kind (waiting up to timeout), or fail."""
        def find():
            with self.lock:
                return next((e for e in self.events if e["ev"] == kind), None)
        e = wait_for(find, timeout, 0.02)
        if e is None:
            with self.lock:
                fail("ws client: no %s event within %ss: %s" % (kind, timeout, short(self.events)))
        return e

    def line(self, text="go"):
        self.p.stdin.write((text + "\n").encode())
        self.p.stdin.flush()

    def finish(self, timeout=10):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail("ws client did not exit within %ss: %s" % (timeout, short(self.events)))
        self.t.join(5)
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(5)


# ---------------------------------------------------------------- raw WebSocket


def new_key():
    return base64.b64encode(os.urandom(16)).decode()


def accept_of(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def upgrade_headers(key=None, version="13", extra=(), drop=()):
    """The handshake's header fields (Host apart) as (name, value) pairs."""
    hs = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
          ("Sec-WebSocket-Key", key or new_key()), ("Sec-WebSocket-Version", version)]
    hs = [h for h in hs if h[0] not in drop and h[1] is not None]
    return hs + list(extra)


def xor_mask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")


def frame(op, payload=b"", fin=True, rsv=0, mask=True, length=None):
    """One client frame; length overrides the length field (for lies)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    m = 0x80 if mask else 0
    if n < 126:
        hdr = bytes([b0, m | n])
    elif n < 65536:
        hdr = bytes([b0, m | 126]) + struct.pack("!H", n)
    else:
        hdr = bytes([b0, m | 127]) + struct.pack("!Q", n)
    if mask:
        key = os.urandom(4)
        return hdr + key + xor_mask(payload, key)
    return hdr + payload


def close_frame(code=None, reason=b"", **kw):
    payload = b"" if code is None else struct.pack("!H", code) + reason
    return frame(OP_CLOSE, payload, **kw)


class Frame(tuple):
    """(fin, rsv, opcode, payload) of a frame from the server."""
    fin = property(lambda self: self[0])
    rsv = property(lambda self: self[1])
    op = property(lambda self: self[2])
    payload = property(lambda self: self[3])

    def close_code(self):
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None


class RawWS:
    """A WebSocket client on a raw socket: the handshake, then frames."""

    def __init__(self, g, path="/ws", headers=None, key=None, host=None, first=b"",
                 timeout=5.0):
        self.g = g
        self.c = g.conn(timeout)
        self.key = key or new_key()
        if headers is None:
            headers = upgrade_headers(self.key)
        keys = [v for k, v in headers if k.lower() == "sec-websocket-key"]
        if keys:
            self.key = keys[0]
        hs = headers
        self.c.send(req("GET", path, hs, host=host or "127.0.0.1:%d" % g.port) + first)
        head = self.c.read_until(b"\r\n\r\n")
        if head.startswith(b"HTTP/1.1 101 "):
            self.resp = parse_responses(head)[0]  # frames may follow at once
        else:
            self.c.buf = head + self.c.buf
            self.resp = self.c.read_response()

    def upgraded(self):
        return self.resp.status == 101

    def check_upgraded(self):
        if self.resp.status != 101:
            fail("handshake: expected 101, got %d %r" % (self.resp.status, self.resp.head))
        eq(self.resp.headers.get("Sec-WebSocket-Accept"), accept_of(self.key),
           "Sec-WebSocket-Accept")
        return self

    def send(self, data):
        self.c.send(data)

    def send_quiet(self, data):
        """Send, ignoring a peer that already closed (after an error it may)."""
        try:
            self.c.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def read_frame(self, timeout=5.0):
        """The next frame from the server, or None when the connection closed
        first. Fails on timeout and on a masked server frame."""
        deadline = time.monotonic() + timeout
        while True:
            f = self._parse()
            if f is not None:
                return f
            if self.c.closed:
                return None
            if not self.c._recv(deadline) and not self.c.closed:
                fail("no whole frame within %ss (buffered %r)" % (timeout, self.c.buf[:100]))

    def _parse(self):
        b = self.c.buf
        if len(b) < 2:
            return None
        fin, rsv, op = b[0] >> 7, (b[0] >> 4) & 7, b[0] & 15
        if b[1] & 0x80:
            fail("the server sent a masked frame: %r" % b[:20])
        n, pos = b[1] & 0x7F, 2
        if n == 126:
            if len(b) < 4:
                return None
            n, pos = struct.unpack("!H", b[2:4])[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, pos = struct.unpack("!Q", b[2:10])[0], 10
        if len(b) < pos + n:
            return None
        self.c.buf = b[pos + n:]
        return Frame((fin, rsv, op, b[pos:pos + n]))

    def message(self, timeout=5.0):
        """The next data message (reassembled), answering nothing; control
        frames met on the way are kept in self.controls. (opcode, payload)."""
        self.controls = getattr(self, "controls", [])
        op, data = None, b""
        while True:
            f = self.read_frame(timeout)
            if f is None:
                fail("connection closed before a message (controls %r)" % self.controls)
            if f.op >= 8:
                self.controls.append(f)
                if f.op == OP_CLOSE:
                    fail("close frame %r instead of a message" % (f.payload,))
                continue
            if op is None:
                check(f.op in (OP_TEXT, OP_BINARY), "message starts with opcode %d" % f.op)
                op = f.op
            else:
                eq(f.op, OP_CONT, "opcode of a continuation frame")
            data += f.payload
            if f.fin:
                return op, data

    def expect_close(self, code, timeout=5.0, tcp_timeout=3.0, what="close"):
        """Read frames until a close frame: its code must be `code` (a tuple:
        any of them); then gale must close TCP. Returns (code, reason)."""
        seen = []
        while True:
            f = self.read_frame(timeout)
            if f is None:
                fail("%s: connection closed without a close frame (frames before: %r)"
                     % (what, seen[:5]))
            if f.op == OP_CLOSE:
                break
            seen.append((f.op, f.payload[:50]))
        got = f.close_code()
        codes = code if isinstance(code, tuple) else (code,)
        check(got in codes, "%s: expected close code %s, got %r (payload %r)"
              % (what, "/".join(map(str, codes)), got, f.payload))
        check(self.c.wait_closed(tcp_timeout) or self.c.closed,
              "%s: gale sent close %s but kept TCP open %ss" % (what, got, tcp_timeout))
        return got, f.payload[2:]

    def close(self):
        self.c.close()


def raw_ws(g, path="/ws", **kw):
    return RawWS(g, path, **kw).check_upgraded()


def check_healthy(g, what="after the error"):
    """A new connection still upgrades and echoes."""
    w = raw_ws(g, "/ws?tag=health")
    try:
        w.send(frame(OP_TEXT, "still there?"))
        eq(w.message(), (OP_TEXT, b"still there?"), "echo on a new connection " + what)
        w.send(close_frame(1000))
        w.expect_close(1000, what="close of the health check")
    finally:
        w.close()


def protocol_error(g, frames, code, tag, first=None):
    """Send frames on a new connection: gale must answer close `code` and
    close TCP, report it to the error callback, and keep serving."""
    w = raw_ws(g, "/ws?tag=" + tag)
    try:
        if first is not None:
            w.send(first)
            w.message()
        w.send_quiet(b"".join(frames))
        w.expect_close(code, what=tag)
    finally:
        w.close()
    if isinstance(code, int):
        log_has(g, "wstest: error tag=%s code=%d" % (tag, code))
    log_has(g, "wstest: close tag=%s " % tag)


# ---------------------------------------------------------------- handshake


def test_subprotocols():
    """The module picks a subprotocol among the offered ones (every
    Sec-WebSocket-Protocol field, comma-separated); none is answered when it
    picks none, or names one the client did not offer."""
    module_path("wstest")
    with ws_gale() as g:
        hs = upgrade_headers(extra=(("Sec-WebSocket-Protocol", "x-no, x-ok-1"),
                                    ("Sec-WebSocket-Protocol", "x-ok-2")))
        w = RawWS(g, headers=hs)
        eq(w.resp.status, 101, "status")
        eq(w.resp.headers.get("Sec-WebSocket-Protocol"), "x-ok-1", "the module's pick")
        w.send(frame(OP_TEXT, "hi"))
        eq(w.message(), (OP_TEXT, b"hi"), "echo")
        w.close()
        for offered in ("x-no", "x-bogus"):
            w = RawWS(g, headers=upgrade_headers(extra=(("Sec-WebSocket-Protocol", offered),)))
            eq(w.resp.status, 101, "status with %s" % offered)
            check("Sec-WebSocket-Protocol" not in w.resp.headers,
                  "no subprotocol answered for %s: %r" % (offered, w.resp.head))
            w.close()
        w = RawWS(g)
        check("Sec-WebSocket-Protocol" not in w.resp.headers, "none offered, none answered")
        w.close()


def test_authenticated_route_refuses_with_403():
    """A WebSocket route marked authenticated answers a visitor without a
    user 403 (a handshake cannot follow a redirect to a login page)."""
    module_path("wstest")
    routes = (("/ws", "echo", {"websocket": True, "authenticated": True}),)
    with ws_gale(routes=routes) as g:
        w = RawWS(g)
        eq(w.resp.status, 403, "handshake without a user")
        check("Location" not in w.resp.headers, "no redirect: %r" % w.resp.head)
        w.close()


def test_handshake_accept():
    """101 with the RFC's accept value; the Upgrade and Connection tokens are
    case-insensitive and may be one of a list; a frame sent together with the
    handshake is not lost; an upgrade after a request on the same
    keep-alive connection works."""
    module_path("wstest")
    with ws_gale() as g:
        key = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3
        w = RawWS(g, key=key)
        eq(w.resp.status, 101, "status of the handshake")
        eq(w.resp.headers.get("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
           "Sec-WebSocket-Accept for the RFC's key")
        eq(w.resp.headers.tokens("upgrade"), ["websocket"], "Upgrade")
        check("upgrade" in w.resp.headers.tokens("connection"),
              "Connection: upgrade: %r" % w.resp.head)
        check("Sec-WebSocket-Extensions" not in w.resp.headers,
              "no extension without an offer: %r" % w.resp.head)
        check("Content-Length" not in w.resp.headers and
              "Transfer-Encoding" not in w.resp.headers,
              "a 101 has no body framing: %r" % w.resp.head)
        w.send(frame(OP_TEXT, "hi"))
        eq(w.message(), (OP_TEXT, b"hi"), "echo")
        w.send(close_frame(1000, b"done"))
        w.expect_close(1000)
        w.close()

        key = new_key()
        hs = upgrade_headers(key, extra=(), drop=("Upgrade", "Connection"))
        hs = [("Connection", "keep-alive, Upgrade"), ("Upgrade", "WebSocket")] + hs
        w = RawWS(g, key=key, headers=hs, first=frame(OP_TEXT, "with the handshake"))
        w.check_upgraded()
        eq(w.message(), (OP_TEXT, b"with the handshake"), "a frame sent with the handshake")
        w.close()

        with g.conn() as c:  # HTTP first, then the upgrade on the same connection
            c.send(req("GET", "/ws", host="127.0.0.1:%d" % g.port))
            r = c.read_response()
            eq(r.status, 426, "plain GET first")
            key = new_key()
            c.send(req("GET", "/ws", upgrade_headers(key), host="127.0.0.1:%d" % g.port))
            r = c.read_response()
            eq(r.status, 101, "upgrade on a keep-alive connection after a 426")
            eq(r.headers.get("Sec-WebSocket-Accept"), accept_of(key), "its accept value")


def test_handshake_bad_key():
    """A missing or malformed Sec-WebSocket-Key is answered 400 (RFC 6455 4.2.1)."""
    module_path("wstest")
    with ws_gale() as g:
        bad = [None, "", "abc", base64.b64encode(os.urandom(15)).decode(),
               base64.b64encode(os.urandom(17)).decode(), "!!!!!!!!!!!!!!!!!!!!!!==",
               new_key()[:-2]]
        for key in bad:
            hs = upgrade_headers(drop=("Sec-WebSocket-Key",))
            if key is not None:
                hs.append(("Sec-WebSocket-Key", key))
            w = RawWS(g, headers=hs)
            eq(w.resp.status, 400, "Sec-WebSocket-Key %r" % key)
            w.close()
        check_healthy(g)
        hs = upgrade_headers() + [("Sec-WebSocket-Key", new_key())]
        w = RawWS(g, headers=hs)
        w.close()
        eq(w.resp.status, 400, "two Sec-WebSocket-Key fields (RFC 6455 11.3.1: not more than "
           "once)")


def test_handshake_bad_version():
    """A version other than 13 gets 426 with Sec-WebSocket-Version: 13."""
    module_path("wstest")
    with ws_gale() as g:
        for v in ("8", "12", "14", "1.3", "abc"):
            w = RawWS(g, headers=upgrade_headers(version=v))
            eq(w.resp.status, 426, "Sec-WebSocket-Version: %s" % v)
            check("13" in w.resp.headers.tokens("sec-websocket-version"),
                  "426 for version %s says Sec-WebSocket-Version: 13: %r" % (v, w.resp.head))
            w.close()
        w = RawWS(g, headers=upgrade_headers(drop=("Sec-WebSocket-Version",)))
        check(w.resp.status in (400, 426), "no Sec-WebSocket-Version: got %d" % w.resp.status)
        w.close()


def test_plain_get_is_426_and_post_is_405():
    """A WebSocket route answers a plain GET 426 (with Upgrade: websocket) and
    other methods 405; a handshake without Connection: Upgrade is refused."""
    module_path("wstest")
    with ws_gale() as g:
        status, h, body = g.get("/ws")
        eq(status, 426, "GET /ws without Upgrade")
        check("websocket" in h.tokens("upgrade"), "426 names the protocol in Upgrade: %r" % h)
        for m in ("POST", "PUT", "DELETE"):
            with g.conn() as c:
                c.send(req(m, "/ws", upgrade_headers() + [("Content-Length", "0")],
                           host="127.0.0.1:%d" % g.port))
                r = c.read_response(method=m)
                eq(r.status, 405, "%s with the upgrade headers" % m)
                check("get" in r.headers.tokens("allow"), "405 Allow has GET: %r" % r.head)
        w = RawWS(g, headers=upgrade_headers(drop=("Connection",)))
        check(w.resp.status in (400, 426), "no Connection: Upgrade: got %d" % w.resp.status)
        w.close()
        w = RawWS(g, headers=upgrade_headers(drop=("Upgrade",)))
        check(w.resp.status in (400, 426), "no Upgrade: websocket: got %d" % w.resp.status)
        w.close()
        w = RawWS(g, headers=[("Upgrade", "h2c")] + upgrade_headers(drop=("Upgrade",)))
        check(w.resp.status in (400, 426), "Upgrade: h2c: got %d" % w.resp.status)
        w.close()
        with g.conn() as c:
            c.send(req("GET", "/ws", upgrade_headers(), host=None))
            eq(c.read_response().status, 400, "handshake without Host")
        with g.conn() as c:
            c.send(req("GET", "/nowhere", upgrade_headers(), host="127.0.0.1:%d" % g.port))
            eq(c.read_response().status, 404, "handshake on no route")
        with g.conn() as c:
            c.send(req("GET", "/subscribers?channel=a", upgrade_headers(),
                       host="127.0.0.1:%d" % g.port))
            r = c.read_response()
            eq((r.status, r.body[-2:]), (200, b"0\n"), "upgrade headers on a plain route")
        with g.conn() as c:  # HTTP/1.0 has no upgrade
            c.send(req("GET", "/ws", upgrade_headers(), version="HTTP/1.0",
                       host="127.0.0.1:%d" % g.port))
            r = c.read_response()
            check(r.status in (400, 426, 505), "HTTP/1.0 handshake: got %d" % r.status)
        check_healthy(g)


def test_origin_same_origin_by_default():
    """Without origins: no Origin is accepted, the same host[:port] is, any
    other origin gets 403."""
    need_ws()
    with ws_gale() as g:
        host = "127.0.0.1:%d" % g.port
        cases = [(None, 101), ("http://" + host, 101), ("https://" + host, 101),
                 ("http://evil.example", 403), ("http://127.0.0.1:1", 403),
                 ("http://127.0.0.1", 403), ("null", 403),
                 ("http://127.0.0.1:%d.evil.example" % g.port, 403)]
        for origin, want in cases:
            extra = [("Origin", origin)] if origin else []
            w = RawWS(g, headers=upgrade_headers(extra=extra), host=host)
            eq(w.resp.status, want, "Origin %r with Host %s" % (origin, host))
            w.close()
        w = RawWS(g, headers=upgrade_headers(extra=[("Origin", "http://a.example")]),
                  host="a.example")
        eq(w.resp.status, 101, "Origin http://a.example with Host a.example")
        w.close()
        # a default port, written or not, is the same origin
        for origin, host, want in (("http://a.example", "a.example:80", 101),
                                   ("http://a.example:80", "a.example", 101),
                                   ("https://a.example", "a.example:443", 101),
                                   ("https://[::1]:443", "[::1]", 101),
                                   ("https://a.example", "a.example:80", 403),
                                   ("http://a.example", "a.example:443", 403)):
            w = RawWS(g, headers=upgrade_headers(extra=[("Origin", origin)]), host=host)
            eq(w.resp.status, want, "Origin %s with Host %s" % (origin, host))
            w.close()
        ev = run_ws(ws_url(g), [], {"origin": "http://evil.example"})
        eq([e["status"] for e in of(ev, "unexpected-response")], [403], "ws client, bad origin")


def test_origin_list_and_star():
    module_path("wstest")
    with ws_gale({"origins": ["http://a.example", "https://b.example:8443"]}) as g:
        host = "127.0.0.1:%d" % g.port
        cases = [(None, 101), ("http://a.example", 101), ("https://b.example:8443", 101),
                 ("http://b.example:8443", 403), ("https://b.example", 403),
                 ("http://c.example", 403), ("http://a.example.evil", 403)]
        for origin, want in cases:
            extra = [("Origin", origin)] if origin else []
            w = RawWS(g, headers=upgrade_headers(extra=extra), host=host)
            eq(w.resp.status, want, "origins list, Origin %r" % origin)
            w.close()
    with ws_gale({"origins": ["*"]}) as g:
        for origin in ("http://anything.example", "null", "https://x.example:1"):
            w = RawWS(g, headers=upgrade_headers(extra=[("Origin", origin)]))
            eq(w.resp.status, 101, "origins *, Origin %r" % origin)
            w.close()


# ---------------------------------------------------------------- messages with ws


def test_echo_sizes():
    """Text and binary echoed whole by the `ws` client, 0 bytes to 5 MiB, and
    a 3 MB message made by the server."""
    need_ws()
    with ws_gale() as g:
        sizes = [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 * MiB, 5 * MiB]
        steps = []
        for n in sizes:
            steps.append({"gen": n, "kind": "random", "binary": True})
            steps.append({"expect": "message", "timeout": 15000})
        for n in (0, 1, 200, 70000, 1000000):
            steps.append({"gen": n, "kind": "utf8"})
            steps.append({"expect": "message", "timeout": 15000})
        steps.append({"send": "big:3000000"})
        steps.append({"expect": "message", "timeout": 15000})
        steps.append({"close": 1000, "reason": "bye"})
        steps.append({"expect": "close"})
        ev = run_ws(ws_url(g), steps, {"perMessageDeflate": False}, timeout=40)
        for i in range(0, len(steps) - 4, 2):
            sent, got = step(ev, i), step(ev, i + 1)
            want_binary = steps[i].get("binary", False)
            eq((got["len"], got["sha256"], got["binary"]),
               (sent["len"], sent["sha256"], want_binary),
               "echo of %s %d bytes" % ("binary" if want_binary else "text", sent["len"]))
        big = step(ev, len(steps) - 3)
        eq((big["len"], big["sha256"], big["binary"]), (3000000, sha(b"x" * 3000000), False),
           "big:3000000")
        eq(step(ev, len(steps) - 1)["code"], 1000, "close code echoed")


def test_hello_wsecho_16_mib_compressed():
    """The demo module's plain echo (conf/gale.conf's /ws/echo, the target for
    conformance suites): a 16 MiB message, the default max_message_size,
    comes back whole over permessage-deflate."""
    need_ws()
    with Gale(workers=1, routes=(("/ws/echo", "wsecho", {"websocket": True}),),
              extra="websocket = { compression = true; };") as g:
        steps = [{"gen": 16 * MiB, "kind": "words"}, {"expect": "message", "timeout": 30000},
                 {"gen": 1000, "kind": "random", "binary": True},
                 {"expect": "message", "timeout": 5000},
                 {"close": 1000}, {"expect": "close"}]
        ev = run_ws(ws_url(g, "/ws/echo"), steps, {"perMessageDeflate": True}, timeout=60)
        for i in (0, 2):
            sent, got = step(ev, i), step(ev, i + 1)
            eq((got["len"], got["sha256"]), (sent["len"], sent["sha256"]), "echo of step %d" % i)
        eq([e["extensions"] for e in of(ev, "open")], ["permessage-deflate"], "compression on")


def test_fragmented_messages_with_ws():
    """Messages sent by ws in fragments (fin: false), text split inside a
    UTF-8 character included, come back as one message."""
    need_ws()
    with ws_gale() as g:
        euro = "\u20ac".encode().hex()  # e2 82 ac
        steps = [
            {"send": "Hel", "fin": False}, {"send": "lo, ", "fin": False}, {"send": "world"},
            {"expect": "message"},
            {"send": "00ff", "binary": True, "encoding": "hex", "fin": False},
            {"send": "", "binary": True, "fin": False},
            {"send": "10", "binary": True, "encoding": "hex"},
            {"expect": "message"},
            {"send_hex": euro[:2], "fin": False}, {"send_hex": euro[2:4], "fin": False},
            {"send_hex": euro[4:] + "21"},
            {"expect": "message"},
            {"gen": 300000, "kind": "random", "binary": True, "fin": False},
            {"gen": 300000, "kind": "random", "binary": True},
            {"expect": "message", "timeout": 10000},
        ]
        ev = run_ws(ws_url(g), steps, {"perMessageDeflate": False})
        eq(step(ev, 3).get("text"), "Hello, world", "text in three fragments")
        eq((step(ev, 7).get("hex"), step(ev, 7)["binary"]), ("00ff10", True),
           "binary in three fragments, one empty")
        eq(step(ev, 11).get("text"), "\u20ac!", "a character split over fragments")
        eq(step(ev, 14)["len"], 600000, "two 300000-byte fragments")


def test_fragments_with_interleaved_control_frames():
    """Pings and an unsolicited pong between the fragments of a message
    (RFC 6455 5.4): the pings are answered at once, the message is whole."""
    module_path("wstest")
    with ws_gale() as g:
        w = raw_ws(g)
        w.send(frame(OP_TEXT, "ab", fin=False) + frame(OP_PING, "p1") +
               frame(OP_CONT, "cd", fin=False) + frame(OP_PONG, "u") + frame(OP_PING, b"") +
               frame(OP_CONT, "ef", fin=True))
        msgs = [w.message(), w.message()]
        check((OP_TEXT, b"pong:u") in msgs, "the pong callback ran: %r" % msgs)
        check((OP_TEXT, b"abcdef") in msgs, "the fragmented message: %r" % msgs)
        eq([(f.op, f.payload) for f in w.controls], [(OP_PONG, b"p1"), (OP_PONG, b"")],
           "pongs for the pings")
        big = os.urandom(125)
        w.send(frame(OP_PING, big))
        f = w.read_frame()
        eq((f.op, f.payload, f.fin), (OP_PONG, big, 1), "pong for a 125-byte ping")
        w.send(frame(OP_BINARY, b"\x01", fin=False) + frame(OP_PING, "x") +
               frame(OP_CONT, b"", fin=False) + frame(OP_CONT, b"\x02"))
        w.controls = []
        eq(w.message(), (OP_BINARY, b"\x01\x02"), "binary with a ping and an empty fragment")
        w.send(close_frame(1000))
        w.expect_close(1000)
        w.close()


def test_split_and_pipelined_frames():
    """The handshake and frames arriving a byte at a time; 5000 messages and
    1000 pings written at once are all answered, in order."""
    module_path("wstest")
    with ws_gale() as g:
        key = new_key()
        c = g.conn()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        data = req("GET", "/ws", upgrade_headers(key), host="127.0.0.1:%d" % g.port)
        data += frame(OP_TEXT, "x" * 300, fin=False) + frame(OP_PING, "pp") + frame(OP_CONT, "yz")
        for i in range(len(data)):
            c.send(data[i:i + 1])
            if i % 8 == 0:
                time.sleep(0.0005)
        head = c.read_until(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 101 "), "handshake sent a byte at a time: %r" % head)
        check(accept_of(key).encode() in head, "its accept value: %r" % head)
        w = RawWS.__new__(RawWS)
        w.g, w.c, w.key = g, c, key
        eq(w.message(), (OP_TEXT, b"x" * 300 + b"yz"), "a message sent a byte at a time")
        eq([(f.op, f.payload) for f in w.controls], [(OP_PONG, b"pp")], "the pong")
        n = 5000
        w.send(b"".join(frame(OP_TEXT, "m%d" % i) for i in range(n)))
        for i in range(n):
            eq(w.message(), (OP_TEXT, b"m%d" % i), "pipelined message %d" % i)
        w.send(b"".join(frame(OP_PING, "%d" % i) for i in range(1000)))
        for i in range(1000):
            f = w.read_frame()
            eq((f.op, f.payload), (OP_PONG, b"%d" % i), "pong %d of 1000" % i)
        w.send(close_frame(1000))
        w.expect_close(1000)
        w.close()


def test_ping_pong():
    """A client ping gets a pong with its payload; gale_ws_ping reaches the ws
    client, whose automatic pong comes back to the pong callback."""
    need_ws()
    with ws_gale() as g:
        steps = [{"ping": "hello"}, {"expect": "pong"},
                 {"send": "ping:abc"}, {"expect": "ping"}, {"expect": "message"},
                 {"send": "ping:" + "p" * 125}, {"expect": "message"},
                 {"send": "ping:" + "p" * 126}, {"expect": "message"}]
        ev = run_ws(ws_url(g), steps, {"perMessageDeflate": False})
        eq(step(ev, 1)["data"], "hello", "pong payload")
        eq(step(ev, 3)["data"], "abc", "server ping payload")
        eq(step(ev, 4)["text"], "pong:abc", "the pong callback got the ws client's pong")
        eq(step(ev, 6)["text"], "pong:" + "p" * 125, "125-byte server ping")
        eq(step(ev, 8)["text"], "ping refused", "gale_ws_ping refuses 126 bytes")


# ---------------------------------------------------------------- closing


def test_close_from_client():
    """gale answers a close frame with the same code and closes TCP; the
    close callback sees the client's code and reason (1005: none)."""
    need_ws()
    with ws_gale() as g:
        for code, reason in ((1000, "bye"), (4000, "custom"), (1001, ""), (3000, "x" * 123)):
            ev = run_ws(ws_url(g, "/ws?tag=c%d" % code),
                        [{"send": "x"}, {"expect": "message"}, {"close": code, "reason": reason},
                         {"expect": "close"}], {"perMessageDeflate": False})
            eq(step(ev, 3)["code"], code, "close %d echoed" % code)
            log_has(g, "wstest: close tag=c%d code=%d reason=%s error=0" % (code, code, reason))
        w = raw_ws(g, "/ws?tag=gone")
        w.close()  # no close frame at all
        log_has(g, "wstest: close tag=gone code=1006")
        w = raw_ws(g, "/ws?tag=late")
        w.send(close_frame(1000) + frame(OP_TEXT, "after the close"))
        w.expect_close(1000, what="data after the close frame is ignored")
        w.close()
        check_healthy(g)
        w = raw_ws(g, "/ws?tag=nocode")
        w.send(close_frame(None))
        try:
            w.expect_close(1000, what="close without a code (gale answers 1000)")
        finally:
            w.close()
            log_has(g, "wstest: close tag=nocode code=1005")


def test_close_from_server():
    """gale_ws_close: the client sees the code and reason; no code at all
    reads as 1005; open may close; bad codes are refused; after close,
    sends are refused; a client that never answers is dropped after
    close_timeout."""
    need_ws()
    with ws_gale({"close_timeout": 1.0}) as g:
        ev = run_ws(ws_url(g), [{"send": "close:4001:bye"}, {"expect": "close"}],
                    {"perMessageDeflate": False})
        eq((step(ev, 1)["code"], step(ev, 1)["reason"]), (4001, "bye"), "server close")
        ev = run_ws(ws_url(g), [{"send": "close:0"}, {"expect": "close"}],
                    {"perMessageDeflate": False})
        eq(step(ev, 1)["code"], 1005, "a close frame without a code")
        ev = run_ws(ws_url(g, "/ws?close=4002"), [{"expect": "close"}],
                    {"perMessageDeflate": False})
        eq((step(ev, 0)["code"], step(ev, 0)["reason"]), (4002, "closed in open"),
           "close from open")
        ev = run_ws(ws_url(g), [{"send": "close:1005:x"}, {"expect": "message"},
                                {"send": "close:999"}, {"expect": "message"},
                                {"send": "close:1015"}, {"expect": "message"},
                                {"send": "close:5000"}, {"expect": "message"},
                                {"send": "echo"}, {"expect": "message"}],
                    {"perMessageDeflate": False})
        for i, code in ((1, 1005), (3, 999), (5, 1015), (7, 5000)):
            eq(step(ev, i)["text"], "close refused", "gale_ws_close(%d) is refused" % code)
        eq(step(ev, 9)["text"], "echo", "the connection lives on")
        ev = run_ws(ws_url(g, "/ws?tag=sac"), [{"send": "send-after-close:4003"},
                                               {"expect": "close"}],
                    {"perMessageDeflate": False})
        eq(step(ev, 1)["code"], 4003, "close then send")
        log_has(g, "wstest: send-after-close tag=sac close=0 send=-1 close-again=-1")
        check(not [e for e in ev if e["ev"] == "message"], "nothing sent after the close")

        w = raw_ws(g, "/ws?tag=discard")
        w.send(frame(OP_TEXT, "close:4001:bye") + frame(OP_TEXT, "ignored") +
               frame(OP_PING, "ignored too"))
        f = w.read_frame()
        eq((f.op, f.close_code()), (OP_CLOSE, 4001), "server close")
        w.send(close_frame(4001))
        f = w.read_frame(timeout=3)
        check(f is None, "gale sent %r after its close frame" % (f,))
        check(w.c.closed, "TCP closed after the closing handshake")
        w.close()
        log_has(g, "wstest: close tag=discard code=4001")
        check("pong:" not in g.log() and "tag=discard code=1002" not in g.log(),
              "frames after the close were processed")

        w = raw_ws(g, "/ws?tag=deafclose")
        w.send(frame(OP_TEXT, "close:4001:bye"))
        t0 = time.monotonic()
        f = w.read_frame()
        eq((f.op, f.close_code(), f.payload[2:]), (OP_CLOSE, 4001, b"bye"), "raw close frame")
        check(w.c.wait_closed(4.0), "no answer to the close: TCP still open after 4 s "
              "(close_timeout = 1)")
        check(time.monotonic() - t0 > 0.5, "gale closed TCP before close_timeout")
        w.close()
        check_healthy(g)


# ---------------------------------------------------------------- errors


def test_bad_utf8_is_1007():
    need_ws()
    with ws_gale() as g:
        autobahn = "cebae1bdb9cf83ceb5eda080656469746564"  # a surrogate inside
        for hexdata in (autobahn, "c328", "ff", "c0af", "f4908080", "eda080"):
            ev = run_ws(ws_url(g, "/ws?tag=u8"), [{"send_hex": hexdata}, {"expect": "close"}],
                        {"perMessageDeflate": False})
            eq(step(ev, 1)["code"], 1007, "text %s" % hexdata)
        ev = run_ws(ws_url(g), [{"send_hex": "f09f98", "fin": False}, {"send_hex": "",
                                                                      "fin": True},
                                {"expect": "close"}], {"perMessageDeflate": False})
        eq(step(ev, 2)["code"], 1007, "a character cut by the end of the message")
        log_has(g, "wstest: error tag=u8 code=1007")
        protocol_error(g, [frame(OP_TEXT, b"ok \xf0\x9f", fin=False),
                           frame(OP_CONT, b"\x98", fin=True)], 1007, "u8raw")
        protocol_error(g, [close_frame(1000, b"\xff\xfe")], 1007, "closereason")
        # valid UTF-8 edge cases pass
        ev = run_ws(ws_url(g), [{"send_hex": "f48fbfbf"}, {"expect": "message"},
                                {"send_hex": "efbfbf"}, {"expect": "message"}],
                    {"perMessageDeflate": False})
        eq(step(ev, 1)["text"], "\U0010ffff", "U+10FFFF")
        check_healthy(g)


def test_message_too_big_is_1009():
    need_ws()
    with ws_gale({"max_message_size": 1024}) as g:
        ev = run_ws(ws_url(g), [{"gen": 1024, "kind": "random", "binary": True},
                                {"expect": "message"},
                                {"gen": 1025, "kind": "random", "binary": True},
                                {"expect": "close"}], {"perMessageDeflate": False})
        eq(step(ev, 1)["len"], 1024, "1024 bytes pass")
        eq(step(ev, 3)["code"], 1009, "1025 bytes")
        ev = run_ws(ws_url(g, "/ws?tag=frag"),
                    [{"gen": 600, "kind": "x", "fin": False}, {"gen": 600, "kind": "x"},
                     {"expect": "close"}], {"perMessageDeflate": False})
        eq(step(ev, 2)["code"], 1009, "1200 bytes in two fragments")
        log_has(g, "wstest: error tag=frag code=1009")
        # a length field of 1 TiB: refused from the header, nothing else sent
        protocol_error(g, [frame(OP_BINARY, b"", length=1 << 40)[:14]], 1009, "huge")
        check_healthy(g)


def test_unmasked_frame_is_1002():
    module_path("wstest")
    with ws_gale() as g:
        protocol_error(g, [frame(OP_TEXT, "naked", mask=False)], 1002, "unmasked")
        protocol_error(g, [frame(OP_PING, "", mask=False)], 1002, "unmaskedping")
        check_healthy(g)


def test_reserved_opcode_is_1002():
    module_path("wstest")
    with ws_gale() as g:
        for op in (3, 7, 0xB, 0xF):
            protocol_error(g, [frame(op, "x")], 1002, "op%d" % op)
        check_healthy(g)


def test_rsv_bits_without_compression_are_1002():
    module_path("wstest")
    with ws_gale() as g:
        for rsv in (4, 2, 1):  # RSV1, RSV2, RSV3
            protocol_error(g, [frame(OP_TEXT, "x", rsv=rsv)], 1002, "rsv%d" % rsv)
        protocol_error(g, [frame(OP_PING, "x", rsv=4)], 1002, "rsvping")
        check_healthy(g)


def test_long_control_frame_is_1002():
    module_path("wstest")
    with ws_gale() as g:
        protocol_error(g, [frame(OP_PING, b"p" * 126)], 1002, "ping126")
        protocol_error(g, [frame(OP_PONG, b"p" * 200)], 1002, "pong200")
        protocol_error(g, [frame(OP_CLOSE, struct.pack("!H", 1000) + b"r" * 124)], 1002,
                       "close126")
        check_healthy(g)


def test_fragmented_control_frame_is_1002():
    module_path("wstest")
    with ws_gale() as g:
        protocol_error(g, [frame(OP_PING, "a", fin=False)], 1002, "fragping")
        protocol_error(g, [frame(OP_CLOSE, struct.pack("!H", 1000), fin=False)], 1002,
                       "fragclose")
        check_healthy(g)


def test_bad_continuation_is_1002():
    """A continuation without a start, and a new message inside a fragmented one."""
    module_path("wstest")
    with ws_gale() as g:
        protocol_error(g, [frame(OP_CONT, "orphan")], 1002, "orphan")
        protocol_error(g, [frame(OP_CONT, "orphan", fin=False)], 1002, "orphan2")
        protocol_error(g, [frame(OP_TEXT, "a", fin=False), frame(OP_TEXT, "b")], 1002,
                       "nested")
        protocol_error(g, [frame(OP_BINARY, "a", fin=False), frame(OP_BINARY, "b")], 1002,
                       "nestedbin")
        # after a whole message, a continuation is an orphan too
        protocol_error(g, [frame(OP_CONT, "late")], 1002, "orphan3", first=frame(OP_TEXT, "m"))
        check_healthy(g)


def test_bad_close_frames_are_1002():
    """Close codes that may not be sent (RFC 6455 7.4) and a 1-byte payload."""
    module_path("wstest")
    with ws_gale() as g:
        for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535):
            protocol_error(g, [close_frame(code)], 1002, "code%d" % code)
        protocol_error(g, [frame(OP_CLOSE, b"\x03")], 1002, "onebyte")
        # valid ones are echoed (1012-1014, registered later, are left open)
        for code in (1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4999):
            w = raw_ws(g)
            w.send(close_frame(code, b"why"))
            w.expect_close(code, what="close code %d" % code)
            w.close()
        check_healthy(g)


def test_bad_lengths_are_1002():
    """RFC 6455 5.2: the 64-bit length's top bit is 0, and lengths use the
    minimal encoding."""
    module_path("wstest")
    with ws_gale() as g:
        mask = b"\x01\x02\x03\x04"
        protocol_error(g, [frame(OP_BINARY, b"", length=(1 << 63) + 5)[:14]], 1002, "msb")
        protocol_error(g, [bytes([0x82, 0x80 | 126, 0, 5]) + mask + b"12345"], 1002, "short16")
        protocol_error(g, [bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 5) + mask + b"12345"],
                       1002, "short64")
        check_healthy(g)


# ---------------------------------------------------------------- compression


DEFLATE_STEPS = [
    {"gen": 1 * MiB, "kind": "words", "binary": True}, {"expect": "message", "timeout": 10000},
    {"gen": 1 * MiB, "kind": "words", "binary": True}, {"expect": "message", "timeout": 10000},
    {"gen": 256 * 1024, "kind": "random", "binary": True}, {"expect": "message"},
    {"gen": 5000, "kind": "utf8"}, {"expect": "message"},
    {"gen": 10, "kind": "words"}, {"expect": "message"},
    {"gen": 0, "kind": "x"}, {"expect": "message"},
    {"gen": 2 * MiB, "kind": "x", "binary": True}, {"expect": "message", "timeout": 10000},
    {"gen": 100000, "kind": "words", "fin": False}, {"gen": 0, "kind": "words", "fin": False},
    {"gen": 100000, "kind": "words"}, {"expect": "message"},
]


def WORDS_BYTES(n):
    """What ws-client.js generates for {"gen": n, "kind": "words"}."""
    words = b"the quick brown fox jumps over the lazy dog while gale serves websockets " * 4
    return (words * (n // len(words) + 1))[:n]


def check_deflate_echo(g, pmd, what):
    steps = DEFLATE_STEPS + [{"send": "big:2000000"}, {"expect": "message", "timeout": 10000},
                             {"close": 1000}, {"expect": "close"}]
    ev = run_ws(ws_url(g), steps, {"perMessageDeflate": pmd}, timeout=30)
    up = of(ev, "upgrade")
    check(up, "no upgrade event: %s" % short(ev))
    ext = up[0]["headers"].get("sec-websocket-extensions", "")
    check(ext.startswith("permessage-deflate"), "%s: Sec-WebSocket-Extensions %r" % (what, ext))
    opened = of(ev, "open")[0]
    check("permessage-deflate" in opened["extensions"],
          "%s: ws negotiated %r" % (what, opened["extensions"]))
    n = len(DEFLATE_STEPS)
    for i in range(0, n - 4, 2):
        sent, got = step(ev, i), step(ev, i + 1)
        eq((got["len"], got["sha256"]), (sent["len"], sent["sha256"]),
           "%s: echo of %s %d bytes" % (what, DEFLATE_STEPS[i]["kind"], sent["len"]))
    want = b"".join(WORDS_BYTES(k) for k in (100000, 0, 100000))
    eq((step(ev, n - 1)["len"], step(ev, n - 1)["sha256"]), (len(want), sha(want)),
       "%s: a message compressed in three fragments" % what)
    eq((step(ev, n + 1)["len"], step(ev, n + 1)["sha256"]), (2000000, sha(b"x" * 2000000)),
       "%s: big:2000000" % what)
    eq(step(ev, n + 3)["code"], 1000, "%s: close" % what)
    return ext


def test_compression_with_ws():
    """permessage-deflate with the ws client, its context-takeover and
    window-bits variants: compressible and random data echo whole."""
    need_ws()
    with ws_gale({"compression": True, "compression_level": 6}) as g:
        check_deflate_echo(g, {"threshold": 0}, "default offer")
        ext = check_deflate_echo(g, {"threshold": 0, "clientNoContextTakeover": True},
                                 "client_no_context_takeover")
        check("client_no_context_takeover" in ext, "the answer keeps it: %r" % ext)
        ext = check_deflate_echo(g, {"threshold": 0, "serverNoContextTakeover": True},
                                 "server_no_context_takeover")
        check("server_no_context_takeover" in ext, "the answer agrees to it: %r" % ext)
        check_deflate_echo(g, {"threshold": 0, "serverNoContextTakeover": True,
                               "clientNoContextTakeover": True}, "both no_context_takeover")
        ext = check_deflate_echo(g, {"threshold": 0, "serverMaxWindowBits": 10,
                                     "clientMaxWindowBits": 9}, "window bits")
        check("server_max_window_bits=10" in ext, "server_max_window_bits agreed: %r" % ext)
        ext = check_deflate_echo(g, {"threshold": 0, "serverMaxWindowBits": 8},
                                 "a 256-byte server window (gale answers uncompressed)")
        check("server_max_window_bits=8" in ext, "server_max_window_bits=8 agreed: %r" % ext)
        check_deflate_echo(g, {"threshold": 100000}, "small messages uncompressed")


def deflate(data, ctx=None):
    c = ctx or zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    check(out.endswith(b"\x00\x00\xff\xff"), "sync flush tail")
    return out[:-4]


def test_compression_raw_frames():
    """Hand-made compressed frames: RSV1 on the first frame only; answers
    carry RSV1 and inflate; corrupt data and a compression bomb close."""
    module_path("wstest")
    offer = ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits")
    with ws_gale({"compression": True, "max_message_size": 100000}) as g:
        w = RawWS(g, headers=upgrade_headers(extra=[offer])).check_upgraded()
        ext = w.resp.headers.get("Sec-WebSocket-Extensions", "")
        check(ext.startswith("permessage-deflate"), "extension answered: %r" % ext)
        inflater = zlib.decompressobj(-15)
        ctx = zlib.compressobj(6, zlib.DEFLATED, -15)
        for text in (b"Hello, compressed world! " * 4, b"again " * 100):
            w.send(frame(OP_TEXT, deflate(text, ctx), rsv=4))
            f = w.read_frame()
            eq((f.op, f.fin), (OP_TEXT, 1), "an answer frame")
            eq(f.rsv, 4, "the answer is compressed (RSV1)")
            eq(inflater.decompress(f.payload + b"\x00\x00\xff\xff"), text,
               "echo of a compressed message")
        comp = deflate(b"split over two frames " * 20)
        w.send(frame(OP_TEXT, comp[:10], rsv=4, fin=False) + frame(OP_CONT, comp[10:]))
        f = w.read_frame()
        eq(f.rsv, 4, "the answer is compressed (RSV1)")
        eq(inflater.decompress(f.payload + b"\x00\x00\xff\xff"), b"split over two frames " * 20,
           "a compressed message in two frames")
        w.send(frame(OP_BINARY, b"\x00\x01 not compressed"))
        f = w.read_frame()  # short: gale may send it either way
        got = inflater.decompress(f.payload + b"\x00\x00\xff\xff") if f.rsv & 4 else f.payload
        eq((f.op, got), (OP_BINARY, b"\x00\x01 not compressed"),
           "an uncompressed message on the same connection")
        w.send(frame(OP_TEXT, "x" * 70))
        f = w.read_frame()
        eq((f.rsv, inflater.decompress(f.payload + b"\x00\x00\xff\xff")), (4, b"x" * 70),
           "the context goes on after an uncompressed message")
        w.send(close_frame(1000))
        w.expect_close(1000)
        w.close()

        def fresh(tag):
            w = RawWS(g, "/ws?tag=" + tag, headers=upgrade_headers(extra=[offer]))
            eq(w.resp.status, 101, "handshake with deflate")
            return w

        w = fresh("rsvcont")
        w.send(frame(OP_TEXT, comp[:10], rsv=4, fin=False) + frame(OP_CONT, comp[10:], rsv=4))
        w.expect_close(1002, what="RSV1 on a continuation frame")
        w.close()
        w = fresh("rsvping")
        w.send(frame(OP_PING, b"x", rsv=4))
        w.expect_close(1002, what="RSV1 on a ping")
        w.close()
        w = fresh("corrupt")
        w.send(frame(OP_BINARY, b"\xff\xff\xff\xff garbage", rsv=4))
        w.expect_close((1002, 1007), what="corrupt deflate data")
        w.close()
        w = fresh("zutf8")
        w.send(frame(OP_TEXT, deflate(b"valid until \xed\xa0\x80"), rsv=4))
        w.expect_close(1007, what="compressed text that is not UTF-8")
        w.close()
        w = fresh("bomb")
        w.send(frame(OP_BINARY, deflate(b"\x00" * (4 * MiB)), rsv=4))
        w.expect_close(1009, what="4 MiB of zeros inflated past max_message_size")
        w.close()
        log_has(g, "wstest: error tag=bomb code=1009")
        check_healthy(g)


def test_compression_negotiation():
    """RFC 7692 7.1: the first acceptable offer wins; an offer with an
    unknown, repeated or out-of-range parameter is declined; malformed
    extension syntax is 400; other extensions are ignored."""
    module_path("wstest")
    with ws_gale({"compression": True}) as g:
        cases = [
            ("permessage-deflate", "permessage-deflate"),
            ("permessage-deflate; foo=1, permessage-deflate", "permessage-deflate"),
            ("x-webkit-deflate-frame, permessage-deflate; client_max_window_bits",
             "permessage-deflate"),
            ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", None),
            ("permessage-deflate; server_max_window_bits=16", None),
            # zlib has no 256-byte window: accepted, and gale sends plain frames
            ("permessage-deflate; server_max_window_bits=8",
             "permessage-deflate; server_max_window_bits=8"),
            ("permessage-deflate; client_max_window_bits=7", None),
            ("foo, bar; baz=1", None),
        ]
        for offer, want in cases:
            w = RawWS(g, headers=upgrade_headers(extra=[("Sec-WebSocket-Extensions", offer)]))
            w.check_upgraded()
            got = w.resp.headers.get("Sec-WebSocket-Extensions")
            if want is None:
                eq(got, None, "answer to the offer %r" % offer)
            else:
                check(got and got.startswith(want), "answer to %r: %r" % (offer, got))
            w.close()
        w = RawWS(g, headers=upgrade_headers(extra=[("Sec-WebSocket-Extensions",
                                                      "permessage-deflate; server_no_context_"
                                                      "takeover; server_max_window_bits=10")]))
        ext = w.resp.headers.get("Sec-WebSocket-Extensions", "")
        check("server_no_context_takeover" in ext and "server_max_window_bits=10" in ext,
              "parameters agreed: %r" % ext)
        w.close()
        for bad in ("permessage-deflate;;", "permessage-deflate; =1", ";"):
            w = RawWS(g, headers=upgrade_headers(extra=[("Sec-WebSocket-Extensions", bad)]))
            eq(w.resp.status, 400, "malformed Sec-WebSocket-Extensions %r" % bad)
            w.close()


def test_compression_off_ignores_offers():
    need_ws()
    with ws_gale({"compression": False}) as g:
        ev = run_ws(ws_url(g), [{"send": "plain"}, {"expect": "message"}],
                    {"perMessageDeflate": {"threshold": 0}})
        up = of(ev, "upgrade")[0]
        check("sec-websocket-extensions" not in up["headers"],
              "compression = false answered an extension: %r" % up["headers"])
        eq(of(ev, "open")[0]["extensions"], "", "ws negotiated nothing")
        eq(step(ev, 1)["text"], "plain", "echo")
        w = RawWS(g, headers=upgrade_headers(extra=[
            ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
            ("Sec-WebSocket-Extensions", "x-webkit-deflate-frame")])).check_upgraded()
        check("Sec-WebSocket-Extensions" not in w.resp.headers,
              "no extension answered: %r" % w.resp.head)
        w.close()


# ---------------------------------------------------------------- keepalive


def test_keepalive_drops_deaf_clients():
    """ping_interval 0.5 s, ping_timeout 0.5 s: a client that never answers
    pings is dropped within 2 s (error 1006 to the module); the ws client,
    which answers them, stays connected."""
    need_ws()
    with ws_gale({"ping_interval": 0.5, "ping_timeout": 0.5}) as g:
        # /pid: its handler has no pong callback, so keepalive pongs stay silent
        wsp = WsProc(ws_url(g, "/pid"), [{"expect": "message"}, {"sleep": 3000},
                                         {"send": "still here"}, {"expect": "message"}],
                     {"perMessageDeflate": False})
        try:
            w = raw_ws(g, "/ws?tag=deaf")
            t0 = time.monotonic()
            w.c.wait_closed(2.5)
            dt = time.monotonic() - t0
            frames = []
            while True:
                f = w._parse()
                if f is None:
                    break
                frames.append(f)
            check(w.c.closed, "a client deaf to pings still connected after %.1fs (frames %r)"
                  % (dt, frames))
            check(dt <= 2.5, "dropped only after %.1fs" % dt)
            check(any(f.op == OP_PING for f in frames), "gale never pinged: %r" % frames)
            w.close()
            log_has(g, "wstest: error tag=deaf code=1006")
            eq(wsp.finish(10), 0, "ws client exit status")
        finally:
            wsp.kill()
        pings = of(wsp.events, "ping")
        check(len(pings) >= 3, "ws saw %d pings in 3 s with ping_interval 0.5" % len(pings))
        check(not of(wsp.events, "close"), "the ws client was closed: %s" % short(wsp.events))
        eq([e.get("text") for e in wsp.events if e["ev"] == "step"][1:], ["still here"],
           "the ws client still echoes after 3 s")


def test_ping_interval_zero_disables_pings():
    module_path("wstest")
    with ws_gale({"ping_interval": 0, "ping_timeout": 0.2}) as g:
        w = raw_ws(g)
        w.c.wait_closed(1.5)
        check(not w.c.closed, "closed an idle connection with ping_interval = 0")
        eq(w.c.buf, b"", "frames from gale with ping_interval = 0")
        w.send(frame(OP_TEXT, "awake"))
        eq(w.message(), (OP_TEXT, b"awake"), "echo after 1.5 s idle")
        w.close()


# ---------------------------------------------------------------- load


def test_many_concurrent_clients():
    """200 ws clients at once, 5 messages each, on two workers."""
    need_ws()
    with ws_gale(workers=2) as g:
        try:
            rc, out, err = node(MANY_JS, ws_url(g), 200, 5, 30000, timeout=40)
        except subprocess.TimeoutExpired:
            fail("ws-many.js did not finish")
        check(rc == 0, "ws-many.js: rc %d, %s %s" % (rc, out.strip(), err[-1500:]))
        res = json.loads(out.strip().splitlines()[-1])
        eq((res["opened"], res["echoed"], res["closed"]), (200, 1000, 200), "clients")
        check_healthy(g)


# ---------------------------------------------------------------- drain


def test_reload_drains_with_1001():
    """SIGHUP: the old worker sends close 1001 to its WebSocket clients
    within the grace period and exits; new clients reach the new worker."""
    need_ws()
    with ws_gale(grace_period=5.0) as g:
        old = g.wait_workers(1)
        wsp = WsProc(ws_url(g, "/pid"), [{"expect": "message"}, {"expect": "close",
                                                                 "timeout": 15000}],
                     {"perMessageDeflate": False}, timeout=20)
        try:
            m = wsp.wait_event("message", 5)
            worker, pid = map(int, m["text"].split())
            eq(pid, old[0], "the pid wspid reports is the worker's")
            t0 = time.monotonic()
            g.signal(signal.SIGHUP)
            c = wsp.wait_event("close", 8)
            eq(c["code"], 1001, "close code on reload")
            check(c["t"] - t0 < 5.0, "close came %.1fs after SIGHUP (grace 5)" % (c["t"] - t0))
            eq(wsp.finish(10), 0, "ws client exit status")
        finally:
            wsp.kill()
        check(wait_for(lambda: not alive(pid), 6.0), "old worker %d still alive" % pid)
        new = g.wait_workers(1, without=old)
        ev = run_ws(ws_url(g, "/pid"), [{"expect": "message"}], {"perMessageDeflate": False})
        eq(int(step(ev, 0)["text"].split()[1]), new[0], "a new client reaches the new worker")


def test_sigquit_drains_with_1001():
    need_ws()
    with ws_gale(grace_period=10.0) as g:
        g.wait_workers(1)
        wsp = WsProc(ws_url(g, "/ws"), [{"send": "hi"}, {"expect": "message"},
                                        {"expect": "close", "timeout": 15000}],
                     {"perMessageDeflate": False}, timeout=20)
        try:
            wsp.wait_event("message", 5)
            g.signal(signal.SIGQUIT)
            c = wsp.wait_event("close", 8)
            eq(c["code"], 1001, "close code on SIGQUIT")
            eq(wsp.finish(10), 0, "ws client exit status")
        finally:
            wsp.kill()
        rc = g.wait(8)
        check(rc is not None, "master still running 8 s after SIGQUIT with its WebSocket "
              "client gone (grace 10); log:\n%s" % g.log_tail())
        g.check_exit(rc, "SIGQUIT", strict=False)


# ---------------------------------------------------------------- pub/sub through sockets


def test_subws_relays_published_messages():
    """A smoke test of the pub/sub module API as wstest uses it: a socket
    subscribed to a channel gets what another worker publishes."""
    need_ws()
    with ws_gale(workers=2) as g:
        wsp = WsProc(ws_url(g, "/sub?channel=room"),
                     [{"stdin": True}, {"send": "from the socket"}, {"messages": 2}],
                     {"perMessageDeflate": False}, timeout=20)
        try:
            wsp.wait_event("open", 5)

            def subscribed():
                # two workers: ask until both have been asked
                counts = set()
                for _ in range(8):
                    counts.add(g.get("/subscribers?channel=room")[2])
                return any(c.startswith(b"1 ") for c in counts)

            check(wait_for(subscribed, 5), "no worker reports the subscription")
            status, _, _ = g.request("POST", "/publish?channel=room", b"from HTTP",
                                     headers={"Content-Type": "application/octet-stream"})
            eq(status, 204, "POST /publish")
            wsp.line()
            eq(wsp.finish(15), 0, "ws client exit status")
        finally:
            wsp.kill()
        texts = [e.get("text") for e in wsp.events if e["ev"] == "message"]
        eq(sorted(texts), ["from HTTP", "from the socket"], "messages on the channel")
        status, _, body = g.get("/wait?channel=quiet&timeout=0.3")
        eq(status, 204, "long poll timeout")


# ---------------------------------------------------------------- TLS


def test_wss_echo():
    """wss:// through gale's TLS listener with the ws client."""
    need_ws()
    if not shutil.which("openssl"):
        raise Skip("openssl command not found")
    d = tempfile.mkdtemp(prefix="gale-wss-")
    try:
        os.chmod(d, 0o755)
        p = subprocess.run(["openssl", "req", "-x509", "-nodes", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-keyout", "k.pem", "-out", "c.pem",
                            "-days", "2", "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                           cwd=d, capture_output=True, text=True, timeout=30)
        check(p.returncode == 0, "openssl: %s" % p.stderr)
        for n in ("k.pem", "c.pem"):
            os.chmod(os.path.join(d, n), 0o644)
        port = free_port()
        conf = make_conf(port, workers=1, routes=ROUTES, module=module_path("wstest"),
                         extra=ws_group({"compression": True}))
        entry = '{ address = "127.0.0.1"; port = %d; }' % port
        check(entry in conf, "make_conf changed its listen format")
        conf = conf.replace(entry, '{ address = "127.0.0.1"; port = %d; tls = { certificate = '
                            '%s; key = %s; }; }' % (port, lc_str(os.path.join(d, "c.pem")),
                                                    lc_str(os.path.join(d, "k.pem"))))
        with WsGale(conf=conf, port=port) as g:
            ev = run_ws(ws_url(g, "/ws", "wss"),
                        [{"gen": 3 * MiB, "kind": "random", "binary": True},
                         {"expect": "message", "timeout": 15000},
                         {"gen": 1 * MiB, "kind": "words"}, {"expect": "message"},
                         {"close": 1000}, {"expect": "close"}],
                        {"rejectUnauthorized": False, "perMessageDeflate": {"threshold": 0}})
            for i in (0, 2):
                eq((step(ev, i + 1)["len"], step(ev, i + 1)["sha256"]),
                   (step(ev, i)["len"], step(ev, i)["sha256"]), "wss echo %d" % i)
            eq(step(ev, 5)["code"], 1000, "wss close")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

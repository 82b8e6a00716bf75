#!/usr/bin/env python3
"""39-h2-websocket: WebSockets over HTTP/2 (RFC 8441). gale advertises
SETTINGS_ENABLE_CONNECT_PROTOCOL; an extended CONNECT with :protocol =
websocket on a websocket route is answered 200 (no Sec-WebSocket-Key or
Accept) by the same gale_websocket callbacks as over HTTP/1.1, and the
socket's frames ride the stream's DATA: echo, a big message through the
windows, ping, permessage-deflate, the close handshake ending the stream,
several sockets beside ordinary requests on one connection, refusals, and
the 1001 close when the worker stops. The client is the framer of
h2frames.py with a few lines of WebSocket framing; heads are decoded with
Debian's python3-hpack."""

import os
import signal
import struct
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.append("/usr/lib/python3/dist-packages")  # python3-hpack is Debian's
from galetest import DEFAULT_ROUTES, Gale, check, eq, fail, main, make_conf  # noqa: E402
from h2frames import *  # noqa: E402,F401,F403 - the framer, its constants and Conn

try:
    import hpack  # noqa: E402
except ImportError:
    hpack = None

S_ENABLE_CONNECT_PROTOCOL = 0x8
TEXT, BINARY, CLOSE, PING_OP, PONG = 0x1, 0x2, 0x8, 0x9, 0xa


def need_hpack():
    if hpack is None:
        fail("python3-hpack (with python3-h2) is not installed")


# ---------------------------------------------------------------- WebSocket frames


def wsframe(opcode, payload=b"", fin=True, rsv1=False, mask=b"\x11\x22\x33\x44"):
    """A client's frame: masked (RFC 6455 5.3)."""
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        head = bytes([b0, 0x80 | n])
    elif n < 65536:
        head = bytes([b0, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, 0x80 | 127]) + struct.pack(">Q", n)
    masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + mask + masked


def parse_wsframes(buf):
    """Whole server frames at buf's start: ([(fin, rsv1, opcode, payload)], rest)."""
    out = []
    while len(buf) >= 2:
        b0, b1 = buf[0], buf[1]
        check(not b1 & 0x80, "a server's frame is not masked")
        n, i = b1 & 0x7f, 2
        if n == 126:
            if len(buf) < 4:
                break
            n, i = struct.unpack(">H", buf[2:4])[0], 4
        elif n == 127:
            if len(buf) < 10:
                break
            n, i = struct.unpack(">Q", buf[2:10])[0], 10
        if len(buf) < i + n:
            break
        out.append((bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0f, buf[i:i + n]))
        buf = buf[i + n:]
    return out, buf


class Socket:
    """A WebSocket on one stream of a Conn. The server's dynamic table is 0
    (Conn's SETTINGS): each head decodes on its own, in any order."""

    def __init__(self, c, sid, path="/ws", extra=(), protocol="websocket"):
        self.c, self.sid = c, sid
        self.buf = b""
        self.ended = False  # the server's END_STREAM
        self.reset = None   # its RST_STREAM code
        self.headers = {}
        c.send(headers(sid, [(":method", "CONNECT"), (":protocol", protocol),
                             (":scheme", "http"), (":path", path), (":authority", "localhost"),
                             ("sec-websocket-version", "13")] + list(extra), end_stream=False))
        self.status = int(self.head().get(":status", 0))

    def head(self):
        while True:
            f = self.next_frame()
            if f[0] == HEADERS:
                self.headers = dict((k.decode() if isinstance(k, bytes) else k,
                                     v.decode() if isinstance(v, bytes) else v)
                                    for k, v in self.c.decoder.decode(f[3]))
                return self.headers

    def next_frame(self, timeout=10):
        """The next frame of this stream (the others wait in the backlog)."""
        others = []
        try:
            while True:
                f = self.c.read(timeout)
                if f is None:
                    fail("stream %d: the connection closed" % self.sid)
                if f[2] == self.sid:
                    if f[0] == DATA and f[3]:
                        n = len(f[3])
                        self.c.send(window_update(0, n) + window_update(self.sid, n))
                    if f[1] & END_STREAM and f[0] in (DATA, HEADERS):
                        self.ended = True
                    if f[0] == RST_STREAM:
                        self.reset = struct.unpack(">I", f[3])[0]
                    return f
                if f[0] == GOAWAY and struct.unpack(">I", f[3][4:8])[0] != NO_ERROR:
                    others.append(f)
                    fail("stream %d: GOAWAY %r" % (self.sid, struct.unpack(">II", f[3][:8])))
                others.append(f)
        finally:
            self.c.backlog = others + self.c.backlog

    def send(self, opcode, payload=b"", **kw):
        self.c.send_data(self.sid, wsframe(opcode, payload, **kw))

    def recv(self):
        """The next WebSocket frame from the server: (fin, rsv1, opcode, payload)."""
        while True:
            frames, rest = parse_wsframes(self.buf)
            if frames:
                self.buf = self.buf[self._size(self.buf):]  # the frames after it stay
                return frames[0]
            if self.ended or self.reset is not None:
                return None
            f = self.next_frame()
            if f[0] == DATA:
                self.buf += f[3]

    @staticmethod
    def _size(buf):
        b1 = buf[1] & 0x7f
        if b1 == 126:
            return 4 + struct.unpack(">H", buf[2:4])[0]
        if b1 == 127:
            return 10 + struct.unpack(">Q", buf[2:10])[0]
        return 2 + b1

    def message(self):
        """A whole data message: (opcode, payload, compressed)."""
        fin, rsv1, op, data = self.recv()
        while not fin:
            fin, _, _, more = self.recv()
            data += more
        return op, data, rsv1

    def wait_end(self):
        """Read until the server ends or resets the stream."""
        while not self.ended and self.reset is None:
            f = self.next_frame()
            if f[0] == DATA:
                self.buf += f[3]


def conn(g):
    need_hpack()
    c = Conn(g)
    c.decoder = hpack.Decoder()
    c.decoder.max_allowed_table_size = 0
    return c


ROUTES = list(DEFAULT_ROUTES) + [("/ws", "wsecho", {"websocket": True})]


def h2c_gale(**kw):
    text = make_conf(0, workers=1, access_log="off", listens=[("127.0.0.1", 0)],
                     routes=ROUTES, extra="websocket = { compression = true; };", **kw)
    entry = '  { address = "127.0.0.1"; port = 0; }'
    check(entry in text, "make_conf changed its listen format")
    return Gale(conf=text.replace(entry, '  { address = "127.0.0.1"; port = @PORT@;'
                                  ' http2 = { cleartext = true; }; }'))


def deflate(data):
    z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    out = z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
    check(out.endswith(b"\x00\x00\xff\xff"), "a sync flush's tail")
    return out[:-4]


def inflate(data):
    return zlib.decompressobj(-15).decompress(data + b"\x00\x00\xff\xff")


# ---------------------------------------------------------------- the tests


def test_websocket_over_h2():
    with h2c_gale() as g:
        c = conn(g)
        eq(c.server_settings.get(S_ENABLE_CONNECT_PROTOCOL), 1,
           "SETTINGS_ENABLE_CONNECT_PROTOCOL")
        ws = Socket(c, 1)
        eq(ws.status, 200, "extended CONNECT: 200")
        check("sec-websocket-accept" not in ws.headers, "no Sec-WebSocket-Accept over h2")
        check("content-length" not in ws.headers, "a tunnel has no length: %r" % ws.headers)
        check(not ws.ended, "the stream stays open")

        ws.send(TEXT, "héllo over h2".encode())
        eq(ws.message()[:2], (TEXT, "héllo over h2".encode()), "text echo")
        ws.send(BINARY, b"\x00\x01\x02")
        eq(ws.message()[:2], (BINARY, b"\x00\x01\x02"), "binary echo")
        # fragments
        ws.send(TEXT, b"frag", fin=False)
        ws.send(0x0, b"ments")
        eq(ws.message()[:2], (TEXT, b"fragments"), "a fragmented message")
        # a big message through the windows, both ways
        big = os.urandom(300000)
        ws.send(BINARY, big)
        eq(ws.message()[:2], (BINARY, big), "a 300 KB message")
        # ping
        ws.send(PING_OP, b"are you there")
        eq(ws.recv()[2:], (PONG, b"are you there"), "pong")

        # more sockets and ordinary requests on the same connection
        more = [Socket(c, sid) for sid in (3, 5, 7)]
        for s in more:
            eq(s.status, 200, "socket on stream %d" % s.sid)
        c.send(headers(9, req_fields(path="/greet/beside")))
        for s in reversed(more):
            s.send(TEXT, b"to %d" % s.sid)
        for s in more:
            eq(s.message()[:2], (TEXT, b"to %d" % s.sid), "echo on stream %d" % s.sid)
        status, _, body = c.answer(9, "a GET beside the sockets")
        eq((status, body), (200, b"Hello, beside"), "a GET beside the sockets")

        # the close handshake ends the stream
        ws.send(CLOSE, struct.pack(">H", 1000) + b"bye")
        fin, _, op, payload = ws.recv()
        eq((op, payload[:2]), (CLOSE, struct.pack(">H", 1000)), "the close frame echoed")
        ws.wait_end()
        check(ws.ended, "the server ended the stream after its close frame")
        c.send(data(1, b"", end=True))
        # the others still work
        more[0].send(TEXT, b"still here")
        eq(more[0].message()[:2], (TEXT, b"still here"), "the other sockets go on")

        # a client that ends its side without a close frame
        c.send(data(3, b"", end=True))
        more[0].wait_end()
        check(more[0].ended or more[0].reset is not None, "the stream ended")

        # a protocol error: an unmasked frame fails the socket with 1002
        c.send(data(5, b"\x81\x02hi"))
        fin, _, op, payload = more[1].recv()
        eq((op, struct.unpack(">H", payload[:2])[0]), (CLOSE, 1002), "unmasked: 1002")
        more[1].wait_end()
        c.alive("after the sockets")
        c.close()


def test_backpressure():
    """A client that sends echoes without reading them: once half a megabyte
    of answers waits, gale stops taking its input (the stream's window closes,
    before websocket.max_queue_size would close the socket as too slow);
    when the client reads, everything flows again and every echo comes."""
    from galetest import Fail
    with h2c_gale() as g:
        c = conn(g)
        ws = Socket(c, 1)
        msg = os.urandom(60000)
        total = wsframe(BINARY, msg) * 40  # 2.4 MB of echoes asked for
        sent, unacked = 0, 0
        c.windows.setdefault(1, c.stream_window())

        def room():
            return min(c.windows[0], c.windows[1], 16384, len(total) - sent)

        # without reading: the windows stop opening
        try:
            while sent < len(total):
                n = room()
                if n > 0:
                    c.send(data(1, total[sent:sent + n], end=False))
                    c.windows[0] -= n
                    c.windows[1] -= n
                    sent += n
                    continue
                f = c.read(3)
                if f is None:
                    fail("closed")
                if f[0] == DATA and f[2] == 1:
                    ws.buf += f[3]
                    unacked += len(f[3])
        except Fail:
            pass  # no frame for a while: the server holds the input back
        check(sent < len(total), "the server stopped opening the windows: %d sent" % sent)
        check(sent > 500000, "half a megabyte of answers waits first: %d sent" % sent)
        # now reading: the rest goes through, every echo comes back whole
        c.send(window_update(0, unacked) + window_update(1, unacked))
        echoes = 0
        while echoes < 40:
            n = room()
            if n > 0:
                c.send(data(1, total[sent:sent + n], end=False))
                c.windows[0] -= n
                c.windows[1] -= n
                sent += n
                continue
            f = ws.next_frame()
            if f[0] == DATA:
                ws.buf += f[3]
            got, ws.buf = parse_wsframes(ws.buf)
            for fin, _, op, payload in got:
                eq((fin, op, payload == msg), (True, BINARY, True), "echo %d" % echoes)
                echoes += 1
        eq(sent, len(total), "all sent")
        c.alive("after the back-pressure")
        c.close()


def test_deflate_and_refusals():
    with h2c_gale() as g:
        c = conn(g)
        ws = Socket(c, 1, extra=[("sec-websocket-extensions",
                                  "permessage-deflate; client_max_window_bits")])
        eq(ws.status, 200, "with permessage-deflate")
        check("permessage-deflate" in ws.headers.get("sec-websocket-extensions", ""),
              "permessage-deflate negotiated: %r" % ws.headers)
        text = b"compressible " * 100
        ws.send(TEXT, deflate(text), rsv1=True)
        op, payload, compressed = ws.message()
        check(compressed, "the echo is compressed")
        eq((op, inflate(payload)), (TEXT, text), "a compressed echo")

        # refusals: a route that is not a socket, an unknown protocol, a
        # plain GET on a socket's route
        s = Socket(c, 3, path="/greet/abc")
        eq(s.status, 400, "extended CONNECT on a plain route")
        s = Socket(c, 5, protocol="chat-v9")
        eq(s.status, 501, "an unknown :protocol")
        c.send(headers(7, req_fields(path="/ws")))
        status, _, _ = c.answer(7, "a GET on the socket's route")
        eq(status, 426, "a plain GET on a WebSocket route")
        # CONNECT without :protocol is not ours (nghttp2 checks its form)
        c.send(headers(9, [(":method", "CONNECT"), (":authority", "localhost:1")],
                       end_stream=False))
        _, f = c.frames_until(lambda f: f[2] == 9 and f[0] in (HEADERS, RST_STREAM))
        check(f is not None, "an answer to a plain CONNECT")
        c.close()


def test_stop_closes_sockets_with_1001():
    with h2c_gale(grace_period=5) as g:
        c = conn(g)
        ws = Socket(c, 1)
        eq(ws.status, 200, "socket open")
        g.signal(signal.SIGQUIT)
        fin, _, op, payload = ws.recv()
        eq((op, struct.unpack(">H", payload[:2])[0]), (CLOSE, 1001), "going away: 1001")
        ws.send(CLOSE, struct.pack(">H", 1001))
        c.send(data(1, b"", end=True))
        ws.wait_end()
        _, f = c.frames_until(lambda f: f[0] == GOAWAY)
        check(f is not None, "GOAWAY on stop")
        eq(g.wait(10), 0, "gale stopped once the socket closed")
        c.close()


def test_chromium_websocket_over_h2():
    """Headless Chromium on a TLS listener: the page over h2, then a
    WebSocket from it; gale's access log says the handshake's protocol."""
    import shutil
    from galetest import free_port, node, node_module, wait_for
    node_module("playwright-core")
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.access(chromium, os.X_OK):
        fail("%s not found" % chromium)
    folder, cert, key = tls_folder("gale-h2ws-")
    port = free_port()
    text = tls_listen(make_conf(port, workers=1, access_log="stderr", routes=ROUTES), port, cert,
                      key)
    try:
        with Gale(conf=text, port=port) as g:
            rc, out, err = node(os.path.join(NODE_DIR, "h2-ws-browser.js"),
                                "https://127.0.0.1:%d" % port, timeout=60)
            check(rc == 0, "h2-ws-browser.js failed (rc %d): %s %s" % (rc, out, err))
            check(wait_for(lambda: '"GET /ws HTTP/' in g.log(), 5),
                  "the handshake in the access log: %s" % g.log_tail())
            line = [l for l in g.log().splitlines() if '"GET /ws HTTP/' in l][0]
            check('"GET /ws HTTP/2.0" 200' in line,
                  "Chromium's WebSocket came over HTTP/2 (RFC 8441): %s" % line)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


NODE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node")


if __name__ == "__main__":
    main()

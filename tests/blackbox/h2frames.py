"""h2frames: a small HTTP/2 framer for the tests (27-h2, 37-h2spec,
38-h2-hardening, 39-h2-websocket, 47-h2-streams): frames written byte by
byte, so that malformed ones can be sent, an HPACK encoder of literals, and
a connection that reads frames and decodes just enough of an answer's head
to find its :status (or all of it, by Debian's hpack, when asked); and what
those tests share around it: a TLS listener's certificate and entry, and a
walk of cases against one gale."""

import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

from galetest import Fail, check, eq, fail

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20

NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT, STREAM_CLOSED, \
    FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR = range(10)
ENHANCE_YOUR_CALM = 11

S_HEADER_TABLE_SIZE, S_ENABLE_PUSH, S_MAX_CONCURRENT_STREAMS, S_INITIAL_WINDOW_SIZE, \
    S_MAX_FRAME_SIZE, S_MAX_HEADER_LIST_SIZE = range(1, 7)

DEBUG = os.environ.get("H2SPEC_DEBUG")  # print the frames read


# ---------------------------------------------------------------- the framer


def frame(typ, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([typ, flags]) + \
        struct.pack(">I", sid) + payload


def settings(*pairs, ack=False, sid=0):
    return frame(SETTINGS, ACK if ack else 0, sid,
                 b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def ping(data=b"gale-h2!", ack=False, sid=0):
    return frame(PING, ACK if ack else 0, sid, data)


def window_update(sid, n):
    return frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", n))


def rst(sid, code=CANCEL):
    return frame(RST_STREAM, 0, sid, struct.pack(">I", code))


def priority(sid, dep, weight=15, exclusive=False):
    return frame(PRIORITY, 0, sid, struct.pack(">IB", dep | (exclusive << 31), weight))


def data(sid, payload=b"", end=True, flags=0):
    return frame(DATA, flags | (END_STREAM if end else 0), sid, payload)


def hint(n, prefix_bits, first=0):
    """An HPACK integer (RFC 7541 5.1) with `first` in the prefix's high bits."""
    top = (1 << prefix_bits) - 1
    if n < top:
        return bytes([first | n])
    out = [first | top]
    n -= top
    while n >= 128:
        out.append(n % 128 + 128)
        n //= 128
    return bytes(out + [n])


def hstr(s):
    s = s.encode() if isinstance(s, str) else s
    return hint(len(s), 7) + s


def literal(name, value):
    """A field literal without indexing, with a new name (RFC 7541 6.2.2)."""
    return b"\x00" + hstr(name) + hstr(value)


def block(fields):
    return b"".join(literal(n, v) for n, v in fields)


def req_fields(method="GET", path="/", extra=(), scheme="http"):
    return [(":method", method), (":scheme", scheme), (":path", path),
            (":authority", "localhost")] + list(extra)


def headers(sid, fields=None, end_stream=True, end_headers=True, raw=None, flags=0):
    hb = raw if raw is not None else block(fields if fields is not None else req_fields())
    f = flags | (END_STREAM if end_stream else 0) | (END_HEADERS if end_headers else 0)
    return frame(HEADERS, f, sid, hb)


class Conn:
    """One HTTP/2 connection to gale, after the SETTINGS exchange."""

    def __init__(self, g, tls=False, preface=PREFACE, client_settings=(), handshake=True,
                 full_heads=False):
        self.g = g
        # every field of the answers' heads, by Debian's hpack (python3-h2's);
        # else only :status, by decode_block
        self.hpack = full_decoder() if full_heads else None
        port = g.tls_port if tls else g.port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        # a request after a WINDOW_UPDATE must not wait for the server's ACK
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
            eq(self.sock.selected_alpn_protocol(), "h2", "ALPN")
        self.buf = b""
        self.backlog = []  # frames read while waiting for a window, not yet seen
        self.windows = {0: 65535}  # the server's windows for what we send
        self.closed = False
        self.server_settings = {}
        if preface is None:
            return
        # a dynamic table of 0: the server's heads are literals and static
        # entries, all decode_block needs to know
        self.send(preface + settings((S_HEADER_TABLE_SIZE, 0), *client_settings))
        if handshake:
            self.handshake()

    def handshake(self):
        """The server's SETTINGS, acknowledged; then its ACK of ours."""
        got_settings = got_ack = False
        while not (got_settings and got_ack):
            f = self.read()
            if f is None:
                fail("closed during the SETTINGS exchange")
            typ, flags, sid, payload = f
            if typ == SETTINGS and not flags & ACK:
                for i in range(0, len(payload), 6):
                    k, v = struct.unpack(">HI", payload[i:i + 6])
                    self.server_settings[k] = v
                self.send(settings(ack=True))
                got_settings = True
            elif typ == SETTINGS:
                got_ack = True

    def send(self, b):
        try:
            self.sock.sendall(b)
        except OSError:
            self.closed = True

    def read(self, timeout=5.0):
        """The next frame (type, flags, stream, payload), or None once closed."""
        if self.backlog:
            return self.backlog.pop(0)
        end = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 9:
                n = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) >= 9 + n:
                    typ, flags = self.buf[3], self.buf[4]
                    sid = int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
                    payload = self.buf[9:9 + n]
                    self.buf = self.buf[9 + n:]
                    if DEBUG:
                        print("# <- type %d flags %#x stream %d %r" % (typ, flags, sid,
                                                                      payload[:40]))
                    if typ == WINDOW_UPDATE and len(payload) == 4:
                        n = struct.unpack(">I", payload)[0] & 0x7fffffff
                        self.windows[sid] = self.windows.get(sid, self.stream_window()) + n
                    return typ, flags, sid, payload
            if self.closed:
                return None
            left = end - time.monotonic()
            if left <= 0:
                raise Fail("no frame from the server within %.0f s" % timeout)
            self.sock.settimeout(left)
            try:
                got = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                got = b""
            if not got:
                self.closed = True
            self.buf += got

    def stream_window(self):
        return self.server_settings.get(S_INITIAL_WINDOW_SIZE, 65535)

    def send_data(self, sid, payload, end=False):
        """DATA within the server's windows (its SETTINGS and WINDOW_UPDATEs,
        read meanwhile; other frames wait in the backlog for read)."""
        self.windows.setdefault(sid, self.stream_window())
        held = []
        while True:
            room = min(self.windows[0], self.windows[sid], 16384, len(payload))
            if room > 0 or (not payload and end):
                piece, payload = payload[:room], payload[room:]
                self.windows[0] -= len(piece)
                self.windows[sid] -= len(piece)
                self.send(data(sid, piece, end=end and not payload))
                if not payload:
                    break
                continue
            f = self.read()
            if f is None:
                fail("closed while sending DATA")
            if f[0] != WINDOW_UPDATE:
                held.append(f)
        self.backlog = held + self.backlog

    def frames_until(self, cond, timeout=5.0):
        """Frames read until cond(frame) is true (that frame last), or the close."""
        seen = []
        while True:
            f = self.read(timeout)
            if f is None:
                return seen, None
            seen.append(f)
            if cond(f):
                return seen, f

    def goaway(self, timeout=5.0):
        """(error code, last stream id) of the GOAWAY the server sends; it then closes."""
        _, f = self.frames_until(lambda f: f[0] == GOAWAY, timeout)
        if f is None:
            fail("the connection closed without a GOAWAY")
        last, code = struct.unpack(">II", f[3][:8])
        return code, last & 0x7fffffff

    def expect_goaway(self, code, what):
        got, _ = self.goaway()
        eq(got, code, "%s: GOAWAY error code" % what)
        # and then the connection ends
        seen, _ = self.frames_until(lambda f: False, 5.0)
        check(self.closed, "%s: closed after the GOAWAY" % what)

    def expect_reset(self, sid, code, what, escalated=False):
        """RST_STREAM with code on sid; or, when `escalated` may be, a GOAWAY
        with that code (RFC 9113 5.4.1 lets a stream error end the
        connection; nghttp2 does so where the peer broke the stream's
        state). True when it was a GOAWAY."""
        seen, f = self.frames_until(lambda f: f[0] in (RST_STREAM, GOAWAY) and
                                    (f[0] == GOAWAY or f[2] == sid))
        if f is None:
            fail("%s: closed without RST_STREAM" % what)
        if f[0] == GOAWAY and escalated:
            eq(struct.unpack(">I", f[3][4:8])[0], code, "%s: GOAWAY error code" % what)
            return True
        if f[0] == GOAWAY:
            fail("%s: GOAWAY %d where a stream error was due"
                 % (what, struct.unpack(">I", f[3][4:8])[0]))
        eq(struct.unpack(">I", f[3])[0], code, "%s: RST_STREAM error code" % what)
        return False

    def alive(self, what):
        """A PING is answered: the connection goes on."""
        self.send(ping(b"alive!!!"))
        seen, f = self.frames_until(lambda f: f[0] in (PING, GOAWAY) and
                                    (f[0] == GOAWAY or f[3] == b"alive!!!"))
        check(f is not None and f[0] == PING and f[1] & ACK,
              "%s: the connection goes on (got %r)" % (what, f))

    def answer(self, sid, what, timeout=5.0):
        """(status, headers, body) of the answer on stream sid."""
        status, hdrs, body = None, [], b""
        while True:
            f = self.read(timeout)
            if f is None:
                fail("%s: closed before the answer on stream %d" % (what, sid))
            typ, flags, fsid, payload = f
            if typ == GOAWAY:
                fail("%s: GOAWAY %r" % (what, struct.unpack(">II", payload[:8])))
            if fsid != sid:
                continue
            if typ == RST_STREAM:
                fail("%s: RST_STREAM %d" % (what, struct.unpack(">I", payload)[0]))
            if typ == HEADERS:
                hdrs += self.decode(payload, flags)
                for n, v in hdrs:
                    if n == ":status":
                        status = int(v)
            elif typ == DATA:
                body += payload
                if payload:
                    self.send(window_update(0, len(payload)) + window_update(sid, len(payload)))
            if flags & END_STREAM:
                return status, dict(hdrs), body

    def served(self, sid, what, path="/greet/next"):
        """A new request on stream sid is answered: the connection goes on."""
        self.send(headers(sid, req_fields(path=path)))
        status, _, body = self.answer(sid, what)
        eq(status, 200, "%s: the next stream's status" % what)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def decode(self, payload, flags):
        """The fields of a head: all of them with full_heads, else :status."""
        if self.hpack is None:
            return decode_block(payload, flags)
        if flags & PADDED:
            payload = payload[1:len(payload) - payload[0]]
        if flags & PRIO:
            payload = payload[5:]
        return self.hpack.decode(payload)

    def request(self, sid, method="GET", path="/", extra=(), body=None, what=None):
        """One request on stream sid, its body sent as the windows allow:
        (status, headers, body) of its answer."""
        self.send(headers(sid, req_fields(method, path, extra), end_stream=body is None))
        if body is not None:
            self.send_data(sid, body, end=True)
        return self.answer(sid, what or "%s %s" % (method, path))

    def answers(self, sids, what, timeout=5.0):
        """{sid: (status, headers, body)} of the answers on several streams
        at once, their frames interleaved."""
        got = {sid: [None, [], b""] for sid in sids}
        left = set(sids)
        while left:
            f = self.read(timeout)
            if f is None:
                fail("%s: closed before the answers on %r" % (what, sorted(left)))
            typ, flags, sid, payload = f
            if typ == GOAWAY:
                fail("%s: GOAWAY %r" % (what, struct.unpack(">II", payload[:8])))
            if sid not in left:
                continue
            if typ == RST_STREAM:
                fail("%s: RST_STREAM %d" % (what, struct.unpack(">I", payload)[0]))
            if typ == HEADERS:
                got[sid][1] += self.decode(payload, flags)
                got[sid][0] = int(dict(got[sid][1]).get(":status", 0)) or None
            elif typ == DATA:
                got[sid][2] += payload
                if payload:
                    self.send(window_update(0, len(payload)) + window_update(sid, len(payload)))
            if flags & END_STREAM and typ in (HEADERS, DATA):
                left.discard(sid)
        return {sid: (v[0], dict(v[1]), v[2]) for sid, v in got.items()}

    def closed_code(self, timeout=10.0):
        """Frames read until the server closes: the error code of its last
        GOAWAY, or -1 for none. Fails when it does not close in time."""
        code = -1
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                fail("the server did not close the connection")
            try:
                f = self.read(left)
            except Fail:
                fail("the server did not close the connection")
            if f is None:
                return code
            if f[0] == GOAWAY and len(f[3]) >= 8:
                code = struct.unpack(">I", f[3][4:8])[0]


def full_decoder():
    """An HPACK decoder from Debian's python3-hpack (pyenv's python3 does not
    see Debian's modules)."""
    if "/usr/lib/python3/dist-packages" not in sys.path:
        sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import hpack
    except ImportError:
        fail("python3-hpack (python3-h2's) not installed")
    return hpack.Decoder()


# The server's answers are decoded just enough to find :status: gale's are
# small, and the static table entries it uses for :status are known. A full
# decoder would be hpack's; this one keeps the test free of it.
STATIC = {8: (":status", "200"), 9: (":status", "204"), 10: (":status", "206"),
          11: (":status", "304"), 12: (":status", "400"), 13: (":status", "404"),
          14: (":status", "500")}


def decode_int(b, i, prefix_bits):
    top = (1 << prefix_bits) - 1
    n = b[i] & top
    i += 1
    if n < top:
        return n, i
    m = 0
    while True:
        n += (b[i] & 127) << m
        m += 7
        i += 1
        if not b[i - 1] & 128:
            return n, i


def decode_block(payload, flags):
    """The :status of a response head (the rest is not needed here)."""
    i = 0
    if flags & PADDED:
        payload = payload[1:len(payload) - payload[0]]
    if flags & PRIO:
        payload = payload[5:]
    out = []
    while i < len(payload):
        b = payload[i]
        if b & 0x80:
            idx, i = decode_int(payload, i, 7)
            if idx in STATIC:
                out.append(STATIC[idx])
            continue
        if b & 0xe0 == 0x20:
            _, i = decode_int(payload, i, 5)
            continue
        prefix = 6 if b & 0x40 else 4
        idx, i = decode_int(payload, i, prefix)
        if idx == 0:
            huff = payload[i] & 0x80
            n, i = decode_int(payload, i, 7)
            name = payload[i:i + n]
            i += n
        else:
            name = None
        huffv = payload[i] & 0x80
        n, i = decode_int(payload, i, 7)
        value = payload[i:i + n]
        i += n
        if idx == 8 and not huffv:  # :status by name, a literal value
            out.append((":status", value.decode()))
        elif idx == 8:
            out.append((":status", huffman_status(value)))
    return out


def huffman_status(v):
    """A Huffman-coded status: three digits, each a 5- or 6-bit code."""
    codes = {"00000": "0", "00001": "1", "00010": "2", "011001": "3", "011010": "4",
             "011011": "5", "011100": "6", "011101": "7", "011110": "8", "011111": "9"}
    bits = "".join(format(x, "08b") for x in v)
    out, cur = "", ""
    for bit in bits:
        cur += bit
        if cur in codes:
            out += codes[cur]
            cur = ""
        if len(out) == 3:
            break
    return out


# ---------------------------------------------------------------- TLS listeners


def self_signed(folder):
    """A self-signed P-256 certificate for localhost in folder: (cert, key)
    paths, the key readable by the workers (they run as nobody)."""
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-keyout", key,
                        "-out", cert, "-subj", "/CN=localhost"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, "openssl req failed: %s" % p.stderr)
    os.chmod(key, 0o644)
    return cert, key


def tls_folder(prefix):
    """A new temp folder the workers can enter, holding self_signed's
    certificate: (folder, cert, key); the caller removes the folder."""
    folder = tempfile.mkdtemp(prefix=prefix)
    os.chmod(folder, 0o755)
    return (folder,) + self_signed(folder)


def tls_listen(text, port, cert, key, extra=""):
    """make_conf's text with the listener on port made a TLS one (extra: more
    settings of its tls group)."""
    entry = '  { address = "127.0.0.1"; port = %d; }' % port
    check(entry in text, "make_conf changed its listen format")
    return text.replace(entry, '  { address = "127.0.0.1"; port = %d; tls = { certificate = "%s";'
                        ' key = "%s";%s }; }' % (port, cert, key, extra))


# ---------------------------------------------------------------- a walk of cases


def walk(g, cases, only, run):
    """Run run(fn) for each (name, fn) of cases whose name holds `only`, all
    against gale g (stopped at the end): a case's failure, or its bug, is
    noted and the walk goes on; then fail naming every failed case."""
    failed = []
    with g:
        for name, fn in cases:
            if only not in name:
                continue
            try:
                run(fn)
            except Fail as e:
                failed.append("%s: %s" % (name, e))
            except Exception as e:  # noqa: BLE001 - a case's bug is its failure
                failed.append("%s: %r" % (name, e))
        check(g.running(), "gale still runs after the walk")
    print("%d cases, %d failed" % (len(cases), len(failed)))
    check(not failed, "%d of %d cases failed:\n  %s" % (len(failed), len(cases),
                                                        "\n  ".join(failed)))

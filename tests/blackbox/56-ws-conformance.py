#!/usr/bin/env python3
"""56-ws-conformance: a walk through the cases of the Autobahn|Testsuite
fuzzing client (its case numbers in the comments), written from RFC 6455 and
RFC 7692, against the demo module's plain echo (hello's `wsecho`, the route
conformance suites are pointed at), with hand-built frames on raw sockets.

16-websocket covers the handshake, the ws client, and the plain protocol
errors one by one; this file adds what a conformance suite checks beyond
them: errors after valid traffic, fail-fast UTF-8 validation across and
inside frames, control frames in the middle of fragmented messages, bytes
dribbled one at a time, what follows a close, the limits, and
permessage-deflate's parameters checked on the compressed bytes."""

import os
import socket
import struct
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import galetest  # noqa: E402
from galetest import Gale, check, eq, fail, main  # noqa: E402

ws = galetest.load_test("16-websocket")
frame, close_frame, RawWS = ws.frame, ws.close_frame, ws.RawWS
OP_CONT, OP_TEXT, OP_BINARY = ws.OP_CONT, ws.OP_TEXT, ws.OP_BINARY
OP_CLOSE, OP_PING, OP_PONG = ws.OP_CLOSE, ws.OP_PING, ws.OP_PONG
MiB = 1024 * 1024
PATH = "/ws/echo"
KOSME = "κόσμε".encode()  # Autobahn's valid prefix in its UTF-8 cases

_gale = None


def gale():
    """The gale of the current test (main stops it after each): wsecho,
    compression on, default limits."""
    global _gale
    if _gale is None or not _gale.running():
        _gale = Gale(workers=1, routes=((PATH, "wsecho", {"websocket": True}),),
                     extra="websocket = { compression = true; };")
    return _gale


def connect(offer=None, status=101):
    hs = ws.upgrade_headers(extra=[("Sec-WebSocket-Extensions", offer)] if offer else [])
    w = RawWS(gale(), PATH, headers=hs)
    if status == 101:
        w.check_upgraded()
    else:
        eq(w.resp.status, status, "handshake status for the offer %r" % offer)
    w.c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return w


def dribble(w, data):
    """Send data one byte per write (Autobahn's "chopped" cases); the short
    pause makes most bytes arrive in a read of their own."""
    for i in range(len(data)):
        w.send(data[i:i + 1])
        time.sleep(0.0005)


def echo(w, op, payload, what):
    eq(w.message(), (op, payload), what)


def bye(w, what="close"):
    """A clean close by the client, answered 1000, then TCP closed."""
    w.send_quiet(close_frame(1000))
    w.expect_close(1000, what=what)
    w.close()


def close_then_nothing(w, code, what):
    """The next frame is a close with `code`, and nothing follows it."""
    f = w.read_frame()
    check(f is not None and f.op == OP_CLOSE,
          "%s: expected a close frame, got %r" % (what, f and (f.op, f.payload[:40])))
    eq(f.close_code(), code, "%s: close code" % what)
    check(w.c.wait_closed(3), "%s: TCP left open after the close frame" % what)
    eq(w.c.buf, b"", "%s: bytes after the close frame" % what)


def fragments(op, data, size, fin_last=True, rsv=0):
    """data as a fragmented message: `size` payload bytes per frame; rsv
    on the first frame only (RSV1, 4: compressed)."""
    pieces = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
    out = []
    for i, p in enumerate(pieces):
        last = i == len(pieces) - 1
        out.append(frame(op if i == 0 else OP_CONT, p, fin=last and fin_last,
                         rsv=rsv if i == 0 else 0))
    return out


# ---------------------------------------------------------------- 1, 10: framing


def test_framing_sizes_chopped_and_empty():
    """1.1.x/1.2.x: text and binary at the length-encoding edges, 64 KiB sent
    in 997-byte writes, a frame dribbled byte by byte; empty messages,
    empty fragments and empty control frames (5.x, 2.1)."""
    w = connect()
    for op in (OP_TEXT, OP_BINARY):
        for n in (0, 125, 126, 127, 128, 65535, 65536):
            unit = b"*" if op == OP_TEXT else bytes(range(256))
            data = (unit * (n // len(unit) + 1))[:n]
            w.send(frame(op, data))
            echo(w, op, data, "opcode %d, %d bytes" % (op, n))
        big = frame(op, b"\x42" * 65536)
        for i in range(0, len(big), 997):  # 1.1.8, 1.2.8
            w.send(big[i:i + 997])
        echo(w, op, b"\x42" * 65536, "65536 bytes in 997-byte writes")
    dribble(w, frame(OP_TEXT, "one byte at a time, header and mask included"))
    echo(w, OP_TEXT, b"one byte at a time, header and mask included", "dribbled frame")
    w.send(frame(OP_TEXT, "", fin=False) + frame(OP_CONT, "", fin=False) + frame(OP_CONT, ""))
    echo(w, OP_TEXT, b"", "a message of three empty fragments")
    w.send(frame(OP_BINARY, "", fin=False) + frame(OP_CONT, "ab", fin=False) +
           frame(OP_CONT, ""))
    echo(w, OP_BINARY, b"ab", "empty first and last fragments")
    w.send(frame(OP_PONG, "") + frame(OP_PING, ""))
    f = w.read_frame()
    eq((f.op, f.payload), (OP_PONG, b""), "an empty ping's pong (and no answer to a pong)")
    bye(w)


# ---------------------------------------------------------------- 2: pings


def test_pings():
    """2.x: payloads echoed exactly up to 125 bytes, a dribbled ping, pongs
    nobody asked for ignored, ten pings in a row all answered in order."""
    w = connect()
    p125 = bytes(range(125))
    w.send(frame(OP_PING, b"\x00\xff\xfe binary"))
    eq(w.read_frame()[2:], (OP_PONG, b"\x00\xff\xfe binary"), "2.3 binary payload")
    w.send(frame(OP_PING, p125))
    eq(w.read_frame()[2:], (OP_PONG, p125), "2.4 125-byte payload")
    dribble(w, frame(OP_PING, p125))
    eq(w.read_frame()[2:], (OP_PONG, p125), "2.6 125 bytes dribbled")
    # 2.7, 2.8: unsolicited pongs get no answer: the echo comes first
    w.send(frame(OP_PONG, "") + frame(OP_PONG, "unsolicited") + frame(OP_TEXT, "after"))
    eq(w.read_frame()[2:], (OP_TEXT, b"after"), "2.7/2.8 nothing answers a pong")
    w.send(b"".join(frame(OP_PING, "ping %d" % i) for i in range(10)))  # 2.10
    for i in range(10):
        eq(w.read_frame()[2:], (OP_PONG, b"ping %d" % i), "2.10 pong %d of 10" % i)
    dribble(w, b"".join(frame(OP_PING, "p%d" % i) for i in range(10)))  # 2.11
    for i in range(10):
        eq(w.read_frame()[2:], (OP_PONG, b"p%d" % i), "2.11 dribbled pong %d of 10" % i)
    bye(w)
    w = connect()
    w.send(frame(OP_PING, b"x" * 126))  # 2.5
    close_then_nothing(w, 1002, "2.5 126-byte ping")
    w.close()


# ---------------------------------------------------------------- 3, 4: errors after traffic


def test_errors_after_valid_traffic():
    """3.2-3.7, 4.1.3-4.2.5: a message is echoed, then a frame with a
    reserved bit or opcode is answered 1002, and the ping that followed it
    in the same write is not answered."""
    bad = [frame(OP_TEXT, "x", rsv=2), frame(OP_BINARY, "x", rsv=1),
           frame(OP_PING, "", rsv=6), frame(OP_CLOSE, b"\x03\xe8", rsv=7),
           frame(5, "x"), frame(0xB, "x"), frame(0xF, "")]
    for i, f in enumerate(bad):
        w = connect()
        w.send(frame(OP_TEXT, "before") + f + frame(OP_PING, "after"))
        echo(w, OP_TEXT, b"before", "case %d: the message before the error" % i)
        close_then_nothing(w, 1002, "case %d: bad frame after a message" % i)
        w.close()


# ---------------------------------------------------------------- 5: fragmentation


def test_control_frames_inside_fragmented_messages():
    """5.6-5.8, 5.15-5.20: a ping between fragments is answered before the
    message is complete; pongs between fragments are ignored; fragments and
    pings dribbled byte by byte."""
    w = connect()
    w.send(frame(OP_TEXT, "frag1 ", fin=False) + frame(OP_PING, "in the middle"))
    eq(w.read_frame()[2:], (OP_PONG, b"in the middle"),
       "the pong comes while the message is still open")
    w.send(frame(OP_PONG, "ignored") + frame(OP_CONT, "frag2 ", fin=False))
    w.send(frame(OP_PING, "again"))
    eq(w.read_frame()[2:], (OP_PONG, b"again"), "a second ping inside the message")
    w.send(frame(OP_CONT, "frag3"))
    echo(w, OP_TEXT, b"frag1 frag2 frag3", "the message around the control frames")
    msg = [frame(OP_BINARY, b"a" * 10, fin=False), frame(OP_PING, "1"),
           frame(OP_CONT, b"b" * 10, fin=False), frame(OP_PING, "2"), frame(OP_CONT, b"c" * 10)]
    dribble(w, b"".join(msg))
    eq([w.read_frame()[2:] for _ in range(3)],
       [(OP_PONG, b"1"), (OP_PONG, b"2"), (OP_BINARY, b"a" * 10 + b"b" * 10 + b"c" * 10)],
       "5.16-5.20: pongs, then the message, all dribbled")
    bye(w)


# ---------------------------------------------------------------- 6: UTF-8


VALID_UTF8 = [
    b"\x00", b"\x7f", b"\xc2\x80", b"\xdf\xbf", b"\xe0\xa0\x80", b"\xed\x9f\xbf",
    b"\xee\x80\x80", b"\xef\xbf\xbd", b"\xef\xbf\xbe", b"\xef\xbf\xbf", b"\xef\xb7\x90",
    b"\xf0\x90\x80\x80", b"\xf0\x9f\x98\x80", b"\xf4\x8f\xbf\xbf", KOSME,
]

# (bytes, index of the first byte that makes them invalid): the server must
# close 1007 once that byte arrives, before the message ends (6.3-6.4, 6.6-6.21)
INVALID_UTF8 = [
    (b"\x80", 0), (b"\xbf", 0), (b"\xc0\x80", 0), (b"\xc1\xbf", 0),  # stray, overlong
    (b"\xe0\x80\x80", 1), (b"\xe0\x9f\xbf", 1), (b"\xf0\x80\x80\x80", 1),
    (b"\xf0\x8f\xbf\xbf", 1),  # overlong 3 and 4 bytes
    (b"\xed\xa0\x80", 1), (b"\xed\xbf\xbf", 1), (b"\xed\xa0\x80\xed\xb0\x80", 1),  # surrogates
    (b"\xf4\x90\x80\x80", 1), (b"\xf5\x80\x80\x80", 0), (b"\xf7\xbf\xbf\xbf", 0),  # > U+10FFFF
    (b"\xf8\x88\x80\x80\x80", 0), (b"\xfc\x84\x80\x80\x80\x80", 0), (b"\xfe", 0),
    (b"\xff", 0), (b"\xc3\x28", 1), (b"\xe2\x82\x28", 2), (b"\xf0\x9f\x98\x28", 3),
]


def test_utf8_valid_split_anywhere():
    """6.2.x, 6.5-6.23 valid cases: boundary code points, noncharacters and
    4-byte sequences, whole and with every byte in a fragment of its own."""
    w = connect()
    for s in VALID_UTF8:
        w.send(frame(OP_TEXT, KOSME + s + KOSME))
        echo(w, OP_TEXT, KOSME + s + KOSME, "valid %s" % s.hex())
        w.send(b"".join(fragments(OP_TEXT, s + KOSME, 1)))
        echo(w, OP_TEXT, s + KOSME, "valid %s, one byte per fragment" % s.hex())
    bye(w)


def test_utf8_invalid_fails_fast():
    """6.3-6.4, 6.6-6.21: invalid UTF-8 in a fragmented text message is
    answered 1007 as soon as the bad byte arrives (no final fragment is ever
    sent), with each byte in a fragment of its own; inside a single frame
    too, before the rest of its payload; and a code point cut by the end of
    the message."""
    for bad, at in INVALID_UTF8:
        w = connect()
        w.send(b"".join(fragments(OP_TEXT, KOSME + bad[:at + 1], 1, fin_last=False)))
        close_then_nothing(w, 1007, "%s one byte per fragment, message left open" % bad.hex())
        w.close()
    w = connect()  # 6.4.3/6.4.4: inside one frame whose payload never fully arrives
    f = frame(OP_TEXT, KOSME + b"\xf4\x90\x80\x80" + b"-" * 100)
    w.send(f[:6 + len(KOSME) + 2])
    close_then_nothing(w, 1007, "bad bytes at the start of a 120-byte frame")
    w.close()
    for cut in (b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3"):  # valid so far, cut at the end
        w = connect()
        w.send(frame(OP_TEXT, KOSME + cut, fin=False))
        w.send(frame(OP_PING, "still open"))
        eq(w.read_frame()[2:], (OP_PONG, b"still open"), "%s may still go on" % cut.hex())
        w.send(frame(OP_CONT, b""))
        close_then_nothing(w, 1007, "%s cut by the end of the message" % cut.hex())
        w.close()


# ---------------------------------------------------------------- 7: closing


def test_close_handling():
    """7.1.x: what follows a close frame is ignored; a close in the middle of
    a fragmented message ends it; a message sent before a close is echoed
    first. 7.3.x: empty payload, reason of 123 bytes. 7.7/7.9: codes."""
    w = connect()  # 7.1.2-7.1.4: a second close, a ping and a message after the close
    w.send(close_frame(1000) + close_frame(1001) + frame(OP_PING, "p") + frame(OP_TEXT, "t"))
    close_then_nothing(w, 1000, "7.1.2-4: frames after the client's close")
    w.close()
    w = connect()  # 7.1.5
    w.send(frame(OP_TEXT, "frag", fin=False) + close_frame(1000) + frame(OP_CONT, "ment"))
    close_then_nothing(w, 1000, "7.1.5: close inside a fragmented message")
    w.close()
    w = connect()  # 7.1.6
    big = os.urandom(256 * 1024)
    w.send(frame(OP_BINARY, big) + close_frame(1000))
    echo(w, OP_BINARY, big, "7.1.6: the message before the close")
    close_then_nothing(w, 1000, "7.1.6: then the close")
    w.close()
    for payload, want, what in ((b"", 1000, "7.3.1 empty close payload"),
                                (struct.pack("!H", 1000), 1000, "7.3.3 code without reason"),
                                (struct.pack("!H", 1000) + b"r" * 123, 1000,
                                 "7.3.5 reason of 123 bytes"),
                                (struct.pack("!H", 1000) + KOSME, 1000, "7.3.4 UTF-8 reason"),
                                (struct.pack("!H", 1000) + b"\xce\xba\xe1\xbd", 1007,
                                 "7.5.1 reason cut inside a code point"),
                                (b"\x03", 1002, "7.3.2 1-byte payload")):
        w = connect()
        w.send(frame(OP_CLOSE, payload))
        close_then_nothing(w, want, what)
        w.close()
    for code, want in ((1100, 1002), (2000, 1002), (1016, 1002), (1015, 1002), (1005, 1002),
                       (3001, 3001), (4000, 4000), (4998, 4998)):
        w = connect()
        w.send(close_frame(code))
        close_then_nothing(w, want, "close code %d" % code)
        w.close()


# ---------------------------------------------------------------- 9: limits


def recv_frames_into(w, n_bytes, timeout=30.0):
    """Read frames until n_bytes of data payload came (reading into one
    growing bytearray: the 16 MiB echo in a bytes object would be copied
    on every recv). Returns (first opcode, payload)."""
    buf = bytearray(w.c.buf)
    w.c.buf = b""
    out = bytearray()
    op = None
    deadline = time.monotonic() + timeout
    sock = w.c.sock
    while True:
        while len(buf) >= 2:
            n, pos = buf[1] & 0x7F, 2
            if n == 126:
                n, pos = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                n, pos = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < pos + n:
                break
            check(buf[0] & 0x0F in (OP_TEXT, OP_BINARY, OP_CONT), "frame %02x" % buf[0])
            op = buf[0] & 0x0F if op is None else op
            out += buf[pos:pos + n]
            fin = buf[0] & 0x80
            del buf[:pos + n]
            if fin:
                check(len(out) == n_bytes, "message of %d bytes, %d expected"
                      % (len(out), n_bytes))
                w.c.buf = bytes(buf)
                return op, bytes(out)
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        b = sock.recv(1 << 20)
        if not b or time.monotonic() > deadline:
            fail("echo of %d bytes: %d came before %s" % (n_bytes, len(out),
                                                          "EOF" if not b else "the timeout"))
        buf += b


def test_limits():
    """9.7.x: a thousand messages in one write, echoed in order; 9.3.x: a
    16 MiB text message (the default max_message_size) in 64 KiB fragments
    whose boundaries cut multi-byte characters."""
    w = connect()
    w.send(b"".join(frame(OP_TEXT, "message %d" % i) for i in range(1000)))
    for i in range(1000):
        f = w.read_frame()
        eq((f.op, f.payload), (OP_TEXT, b"message %d" % i), "message %d of 1000" % i)
    unit = "aé€😀".encode()  # 10 bytes: fragments of 65536 split characters
    text = unit * (16 * MiB // len(unit))
    w.send(b"".join(fragments(OP_TEXT, text, 65536)))
    op, got = recv_frames_into(w, len(text))
    check(op == OP_TEXT and got == text, "the 16 MiB text came back changed")
    bye(w)


# ---------------------------------------------------------------- 12, 13: permessage-deflate


def deflate_stream(bits=15):
    return zlib.compressobj(6, zlib.DEFLATED, -bits)


def compress(ctx, data):
    out = ctx.compress(data) + ctx.flush(zlib.Z_SYNC_FLUSH)
    check(out.endswith(b"\x00\x00\xff\xff"), "sync flush tail")
    return out[:-4]


def inflate(ctx, payload):
    """Inflated in slices of 64 bytes: zlib checks a match's distance against
    its window only when the match reaches before the current output
    buffer, so one big buffer would hide a compressor's too large window."""
    out, data = [], payload + b"\x00\x00\xff\xff"
    while data:
        out.append(ctx.decompress(data, 64))
        data = ctx.unconsumed_tail
    return b"".join(out)


def compressed_answer(w, what):
    f = w.read_frame()
    check(f is not None, "%s: connection closed" % what)
    eq((f.op, f.rsv), (OP_BINARY, 4), "%s: a compressed binary frame" % what)
    return f.payload


def window_probe(bits):
    """A message whose repeats lie just beyond a 2^bits window: a compressor
    with a bigger window encodes them as matches that an inflater with this
    window refuses ("invalid distance too far back")."""
    block = os.urandom((1 << bits) + 64)
    return block * 3


def test_deflate_server_window_bits():
    """13.x: server_max_window_bits=9..15 is agreed and honoured (the answers
    inflate with a window of that size, over several messages of one
    context); 8 is agreed and every message is sent uncompressed (zlib has no
    256-byte window; RSV1 is per message, RFC 7692 6)."""
    for bits in range(9, 16):
        w = connect("permessage-deflate; server_max_window_bits=%d" % bits)
        ext = w.resp.headers.get("Sec-WebSocket-Extensions", "")
        check("server_max_window_bits=%d" % bits in ext, "answer to %d: %r" % (bits, ext))
        inf = zlib.decompressobj(-bits)
        data = window_probe(bits)
        for i in range(2):  # the second also tempts a match into the first
            w.send(frame(OP_BINARY, data))
            try:
                got = inflate(inf, compressed_answer(w, "window %d" % bits))
            except zlib.error as e:
                fail("server_max_window_bits=%d: answer %d needs a bigger window: %s"
                     % (bits, i, e))
            check(got == data, "server_max_window_bits=%d: answer %d changed" % (bits, i))
        bye(w)
    w = connect("permessage-deflate; server_max_window_bits=8")
    check("server_max_window_bits=8" in w.resp.headers.get("Sec-WebSocket-Extensions", ""),
          "8 agreed: %r" % w.resp.head)
    data = b"compressible " * 100
    w.send(frame(OP_BINARY, data))
    f = w.read_frame()
    eq((f.op, f.rsv, f.payload), (OP_BINARY, 0, data), "window 8: the answer is plain")
    bye(w)


def test_deflate_context_takeover():
    """12.x/13.x: with server_no_context_takeover every answer is compressed
    on its own (the same message gives the same bytes, each inflates with a
    fresh inflater); without it, the answers form one stream. With
    client_no_context_takeover, and with client_max_window_bits (valued or
    not), the client's messages are inflated."""
    data = b"the same compressible message, twice over " * 40
    w = connect("permessage-deflate; server_no_context_takeover")
    check("server_no_context_takeover" in w.resp.headers.get("Sec-WebSocket-Extensions", ""),
          "server_no_context_takeover agreed: %r" % w.resp.head)
    answers = []
    for i in range(3):
        w.send(frame(OP_BINARY, compress(deflate_stream(), data), rsv=4))
        answers.append(compressed_answer(w, "no context takeover %d" % i))
        eq(inflate(zlib.decompressobj(-15), answers[-1]), data, "answer %d alone" % i)
    check(answers[0] == answers[1] == answers[2],
          "server_no_context_takeover: the same message compressed differently: %r"
          % [a.hex()[:40] for a in answers])
    bye(w)
    w = connect("permessage-deflate")
    inf, ctx = zlib.decompressobj(-15), deflate_stream()
    for i in range(3):
        w.send(frame(OP_BINARY, compress(ctx, data), rsv=4))
        eq(inflate(inf, compressed_answer(w, "takeover %d" % i)), data,
           "context takeover: answer %d in one stream" % i)
    bye(w)
    for offer in ("permessage-deflate; client_no_context_takeover",
                  "permessage-deflate; client_max_window_bits",
                  "permessage-deflate; client_max_window_bits=9",
                  'permessage-deflate; client_max_window_bits="12"; server_max_window_bits=10'):
        w = connect(offer)
        check(w.resp.headers.get("Sec-WebSocket-Extensions", "").startswith(
            "permessage-deflate"), "offer %r agreed: %r" % (offer, w.resp.head))
        bits = 9 if "=9" in offer else 12 if "12" in offer else 15
        inf = zlib.decompressobj(-10 if "server_max" in offer else -15)
        for i in range(3):
            # client_no_context_takeover: a fresh compressor for each message
            ctx = deflate_stream(bits) if i == 0 or "client_no" in offer else ctx
            msg = data + b"%d" % i
            w.send(frame(OP_BINARY, compress(ctx, msg), rsv=4))
            eq(inflate(inf, compressed_answer(w, offer)), msg, "%r message %d" % (offer, i))
        bye(w)


def test_deflate_negotiation_edges():
    """RFC 7692 5 and 7.1: an offer with a bad, missing, repeated or unknown
    parameter is declined (the connection goes on without compression, or
    with the next acceptable offer); a compressed control frame is 1002."""
    declined = [
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_no_context_takeover=1",
        'permessage-deflate; server_no_context_takeover="x"',
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; mystery",
    ]
    for offer in declined:
        w = connect(offer)
        eq(w.resp.headers.get("Sec-WebSocket-Extensions"), None, "answer to %r" % offer)
        w.send(frame(OP_TEXT, "x" * 100))
        f = w.read_frame()
        eq((f.rsv, f.payload), (0, b"x" * 100), "declined %r: plain frames" % offer)
        w.close()
    w = connect("permessage-deflate; server_max_window_bits=16, "
                "permessage-deflate; server_max_window_bits=11")
    eq(w.resp.headers.get("Sec-WebSocket-Extensions"),
       "permessage-deflate; server_max_window_bits=11", "the second offer")
    w.close()
    for f, what in ((frame(OP_CLOSE, struct.pack("!H", 1000), rsv=4), "compressed close"),
                    (frame(OP_PONG, "x", rsv=4), "compressed pong")):
        w = connect("permessage-deflate")
        w.send(f)
        close_then_nothing(w, 1002, what)
        w.close()


def test_deflate_bomb_with_default_limit():
    """A 64 KiB compressed message that inflates to 64 MiB, four times the
    default max_message_size: 1009, the rest never inflated; the worker goes
    on serving."""
    ctx = deflate_stream()
    zero = bytes(MiB)
    payload = b"".join(ctx.compress(zero) for _ in range(64)) + ctx.flush(zlib.Z_SYNC_FLUSH)
    w = connect("permessage-deflate")
    w.send(frame(OP_BINARY, payload[:-4], rsv=4))
    close_then_nothing(w, 1009, "64 MiB of zeros")
    w.close()
    w = connect("permessage-deflate")
    w.send(frame(OP_TEXT, "after the bomb"))
    echo(w, OP_TEXT, b"after the bomb", "the worker still serves")
    bye(w)


def test_deflate_fragments_and_pings():
    """12.x/5.x together: a compressed text message in one-byte fragments,
    pings between them answered at once, the message inflated whole; then
    the next message goes on with the same context."""
    w = connect("permessage-deflate")
    ctx, inf = deflate_stream(), zlib.decompressobj(-15)
    text = "ünïcödé splits across fragments 😀 ".encode() * 4
    frames = fragments(OP_TEXT, compress(ctx, text), 1, rsv=4)
    for i, f in enumerate(frames):
        w.send(f)
        if i % 10 == 0 and i + 1 < len(frames):
            w.send(frame(OP_PING, "p%d" % i))
            eq(w.read_frame()[2:], (OP_PONG, b"p%d" % i), "pong inside fragment %d" % i)
    f = w.read_frame()
    eq((f.op, f.rsv), (OP_TEXT, 4), "the answer is compressed text")
    eq(inflate(inf, f.payload), text, "the message of %d one-byte fragments" % len(frames))
    w.send(frame(OP_TEXT, compress(ctx, text), rsv=4))
    f = w.read_frame()
    eq(inflate(inf, f.payload), text, "the next message, same contexts")
    bye(w)


def test_deflate_fails_fast():
    """A compressed message is inflated frame by frame: text that is not
    UTF-8 is 1007, and a bomb 1009, at the first fragment, whose message
    never ends."""
    ctx = deflate_stream()
    first = ctx.compress(KOSME * 10 + b"\xed\xa0\x80" + KOSME) + ctx.flush(zlib.Z_SYNC_FLUSH)
    w = connect("permessage-deflate")
    w.send(frame(OP_TEXT, first, rsv=4, fin=False))
    close_then_nothing(w, 1007, "a surrogate in the first compressed fragment")
    w.close()
    ctx = deflate_stream()
    zero = bytes(MiB)
    first = b"".join(ctx.compress(zero) for _ in range(20)) + ctx.flush(zlib.Z_SYNC_FLUSH)
    w = connect("permessage-deflate")
    w.send(frame(OP_BINARY, first, rsv=4, fin=False))
    close_then_nothing(w, 1009, "a first compressed fragment of 20 MiB of zeros")
    w.close()


if __name__ == "__main__":
    main()

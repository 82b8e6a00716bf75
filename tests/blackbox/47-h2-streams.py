#!/usr/bin/env python3
"""47-h2-streams: what each HTTP/2 stream is owed on its own, with raw frames
(tests/blackbox/h2frames.py) against one gale on an h2c listener:

- flow control in: DATA beyond the stream window gale advertised (its
  initial_window, 1024 here) is a FLOW_CONTROL_ERROR for the connection;
  so is DATA beyond the connection's window (65535: gale never widens it)
  on a stream whose own window (1 MiB, on a second gale) still has room,
  while DATA that fills the connection's window exactly is answered;
- timeouts per stream: a head that never completes is refused on its own
  clock (RST_STREAM REFUSED_STREAM, a GOAWAY below it) while the stream
  before it finishes, and CONTINUATIONs dripping in do not keep it alive; a
  request whose body never comes is answered 408 while the next stream is
  served;
- priorities (RFC 9218): gale sends SETTINGS_NO_RFC7540_PRIORITIES = 1, and
  with the connection's window the bottleneck, the stream of urgency 0 (by
  its priority header, or a PRIORITY_UPDATE frame) is served before the one
  of urgency 7 that asked first; a client that does not send the setting
  keeps RFC 7540's priority frames (checked in 37-h2spec), and a priority
  block that names its own stream is a PROTOCOL_ERROR in either mode."""

import os
import shutil
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import galetest  # noqa: E402
from galetest import (DEFAULT_ROUTES, Fail, Gale, check, eq, fail, free_port, make_conf,  # noqa: E402
                      main)

from h2frames import *  # noqa: E402,F401,F403 - the framer, its constants and Conn

PRIORITY_UPDATE = 0x10
S_NO_RFC7540_PRIORITIES = 0x9
BIG = 256 * 1024  # the static files whose DATA the priorities order


def start():
    www = tempfile.mkdtemp(prefix="gale-h2-streams-")
    os.chmod(www, 0o755)  # the workers read the files as nobody
    for name, byte in (("a.bin", b"a"), ("b.bin", b"b")):
        path = os.path.join(www, name)
        with open(path, "wb") as f:
            f.write(byte * BIG)
        os.chmod(path, 0o644)
    port = free_port()
    text = make_conf(port, workers=1, access_log="off",
                     limits={"header_timeout": 1.0, "body_timeout": 1.0},
                     extra='static = ( { prefix = "/static/"; path = "%s"; } );' % www)
    entry = '  { address = "127.0.0.1"; port = %d; }' % port
    check(entry in text, "make_conf changed its listen format")
    text = text.replace(entry, '  { address = "127.0.0.1"; port = %d; http2 = { cleartext = '
                        'true; initial_window = 1024; }; }' % port)
    g = Gale(conf=text, port=port)
    g.www = www
    return g


WS = galetest.load_test("39-h2-websocket")  # wsframe, parse_wsframes
WIDE = 1 << 20  # the second gale's stream windows, wider than the connection's


def start_wide():
    """A gale whose stream windows (1 MiB) are wider than the connection's
    (65535), with a WebSocket echo that can hold its input back."""
    port = free_port()
    text = make_conf(port, workers=1, access_log="off",
                     routes=list(DEFAULT_ROUTES) + [("/ws", "wsecho", {"websocket": True})])
    entry = '  { address = "127.0.0.1"; port = %d; }' % port
    check(entry in text, "make_conf changed its listen format")
    text = text.replace(entry, '  { address = "127.0.0.1"; port = %d; http2 = { cleartext = '
                        'true; initial_window = %d; }; }' % (port, WIDE))
    return Gale(conf=text, port=port)


def ping_round(c, tag):
    c.send(ping(tag))
    seen, f = c.frames_until(lambda f: f[0] in (PING, GOAWAY) and (f[0] == GOAWAY or f[3] == tag))
    check(f is not None and f[0] == PING and f[1] & ACK, "PING %r answered (got %r)" % (tag, f))
    return b"".join(f[3] for f in seen if f[0] == DATA and f[2] == 1)


def held_echo(g):
    """Stream 1 is a WebSocket echo whose answers the client does not read
    (its own windows stay shut): once half a megabyte of echoes waits, gale
    holds the input back unconsumed, so the connection's window stops
    opening while the stream's still has room. The client sends within the
    windows until then: PINGs after its DATA bring every WINDOW_UPDATE that
    DATA caused, so a window still shut after them stays shut. Returns
    (the connection, the message, the bytes sent, the echoes' bytes read);
    the client's view of
    the connection's window is gale's, and is 0."""
    c = Conn(g)
    eq(c.stream_window(), WIDE, "the listener's initial window")
    c.send(headers(1, [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "http"),
                       (":path", "/ws"), (":authority", "localhost"),
                       ("sec-websocket-version", "13")], end_stream=False))
    _, f = c.frames_until(lambda f: f[0] in (HEADERS, GOAWAY, RST_STREAM))
    check(f is not None and f[0] == HEADERS, "the WebSocket's head: %r" % (f,))
    eq(dict(c.decode(f[3], f[1])).get(":status"), "200", "the extended CONNECT")
    msg = os.urandom(60000)
    frame = WS.wsframe(0x2, msg)
    total = frame * 16  # 960 kB of echoes asked for: more than gale takes unread
    sent, echoed = 0, b""
    c.windows.setdefault(1, c.stream_window())
    while True:
        room = min(c.windows[0], c.windows[1], 16384, len(total) - sent)
        if room > 0:
            c.send(data(1, total[sent:sent + room], end=False))
            c.windows[0] -= room
            c.windows[1] -= room
            sent += room
            continue
        check(sent < len(total), "gale took all %d bytes: it never held the input" % sent)
        before = c.windows[0]
        echoed += ping_round(c, b"syncone!")
        echoed += ping_round(c, b"synctwo!")
        if c.windows[0] == before:
            eq(before, 0, "the connection's window, shut")
            check(c.windows[1] > 65536, "the stream's window has room: %d" % c.windows[1])
            return c, msg, sent, echoed


def data_beyond_the_connection_window(g):
    c = held_echo(g)[0]
    c.send(data(1, b"x", end=False))  # one byte over: the stream's window would take it
    c.expect_goaway(FLOW_CONTROL_ERROR, "DATA beyond the connection's window")
    c.close()


def data_filling_the_connection_window(g):
    """The window used to its last byte is no error: the connection goes on,
    and once the client reads, every whole message sent is echoed."""
    c, msg, sent, buf = held_echo(g)
    c.alive("the connection's window filled exactly")
    big = 2 ** 31 - 1 - 65535
    c.send(window_update(0, big) + window_update(1, big))
    want, echoes = sent // len(WS.wsframe(0x2, msg)), 0
    while echoes < want:
        f = c.read()
        check(f is not None, "closed after %d echoes of %d" % (echoes, want))
        check(f[0] != GOAWAY, "GOAWAY %r" % (f[3][:8],))
        if f[0] == DATA and f[2] == 1:
            buf += f[3]
            got, buf = WS.parse_wsframes(buf)
            for fin, _, op, payload in got:
                eq((fin, op, payload == msg), (True, 0x2, True), "echo %d" % echoes)
                echoes += 1
    c.alive("after the echoes")
    c.close()


def rst_code(f):
    return struct.unpack(">I", f[3])[0]


def data_beyond_the_stream_window(g):
    c = Conn(g)
    eq(c.server_settings.get(S_INITIAL_WINDOW_SIZE), 1024, "the listener's initial window")
    c.send(headers(1, req_fields("POST", "/echo"), end_stream=False) +
           data(1, b"x" * 1100, end=False))  # 1100 > 1024, and nothing given back yet
    c.expect_goaway(FLOW_CONTROL_ERROR, "DATA beyond the stream's window")
    c.close()


def data_within_the_windows(g):
    """A body eight times the stream window, sent as the windows open."""
    c = Conn(g)
    c.send(headers(1, req_fields("POST", "/echo"), end_stream=False))
    c.send_data(1, b"y" * 8192, end=True)
    status, _, body = c.answer(1, "a body through a small window")
    eq((status, body), (200, b"y" * 8192), "the body came back whole")
    c.close()


def head_that_never_completes(g):
    """Stream 1 is in its handler; stream 3's header block stops halfway."""
    c = Conn(g)
    c.send(headers(1, req_fields(path="/slow?delay=1.5")))
    hb = block(req_fields(path="/greet/late"))
    c.send(headers(3, raw=hb[:8], end_headers=False))
    seen, _ = c.frames_until(lambda f: False, 10)  # all of it, until gale closes
    check(c.closed, "the connection ends once stream 1 is over")
    resets = [(f[2], rst_code(f)) for f in seen if f[0] == RST_STREAM]
    eq(resets, [(3, REFUSED_STREAM)], "the head that never came whole: REFUSED_STREAM")
    goaways = [struct.unpack(">II", f[3][:8]) for f in seen if f[0] == GOAWAY]
    eq(goaways, [(1, NO_ERROR)], "a GOAWAY below it, with NO_ERROR")
    body = b"".join(f[3] for f in seen if f[0] == DATA and f[2] == 1)
    ended = [f for f in seen if f[2] == 1 and f[1] & END_STREAM and f[0] in (DATA, HEADERS)]
    eq((body, len(ended)), (b"slow", 1), "stream 1 finished all the same")
    c.close()


def continuations_dripping(g):
    """CONTINUATIONs every 0.3 s do not keep a head alive past header_timeout (1 s)."""
    c = Conn(g)
    hb = block(req_fields(path="/greet/drip", extra=[("x-%d" % i, "v") for i in range(12)]))
    c.send(headers(1, raw=hb[:4], end_headers=False))
    start, pos = time.monotonic(), 4
    while pos + 4 < len(hb) and not c.closed:
        c.send(frame(CONTINUATION, 0, 1, hb[pos:pos + 4]))
        pos += 4
        try:
            f = c.read(0.3)
        except Fail:
            continue
        if f and f[0] == RST_STREAM:
            eq((f[2], rst_code(f)), (1, REFUSED_STREAM), "the dripping head refused")
            return c.close()
        if f and f[0] == GOAWAY:
            continue
    fail("the head was not refused while its CONTINUATIONs dripped in (%.1f s)"
         % (time.monotonic() - start))


def body_that_never_comes(g):
    c = Conn(g)
    c.send(headers(1, req_fields("POST", "/echo"), end_stream=False))
    status, _, _ = c.answer(1, "a body that never comes", timeout=10)
    eq(status, 408, "a body that never comes")
    c.served(3, "the next stream after the 408")
    c.close()


def urgency_first(g, signal):
    """Streams 1 and 3 ask for two big files at urgency 7, and stream 3 is
    then made urgency 0 by `signal`; the connection's window (65535) holds
    both back, and opens 16 KiB at a time: stream 3's DATA comes first
    though it asked last. (A client that does not send
    SETTINGS_NO_RFC7540_PRIORITIES = 1 keeps RFC 7540's priorities.)"""
    c = Conn(g, client_settings=[(S_INITIAL_WINDOW_SIZE, 2 ** 31 - 1),
                                 (S_NO_RFC7540_PRIORITIES, 1)])
    eq(c.server_settings.get(S_NO_RFC7540_PRIORITIES), 1, "SETTINGS_NO_RFC7540_PRIORITIES")
    c.send(headers(1, req_fields(path="/static/a.bin", extra=[("priority", "u=7")])))
    # the first stream takes the connection's window (64 KiB): then both wait
    got, bodies = {1: 0, 3: 0}, {1: b"", 3: b""}
    while got[1] < 65535:
        f = c.read()
        check(f is not None, "closed during stream 1's first DATA")
        if f[0] == DATA:
            got[f[2]] += len(f[3])
            bodies[f[2]] += f[3]
    if signal == "header":
        c.send(headers(3, req_fields(path="/static/b.bin", extra=[("priority", "u=0")])))
    else:
        c.send(headers(3, req_fields(path="/static/b.bin", extra=[("priority", "u=7")])) +
               frame(PRIORITY_UPDATE, 0, 0, struct.pack(">I", 3) + b"u=0"))
    c.alive("both streams asked")  # both requests are in before the window opens
    order = []
    while got[3] < BIG:
        c.send(window_update(0, 16384))
        seen, f = c.frames_until(lambda f: f[0] == DATA)
        check(f is not None, "closed while the window opened")
        got[f[2]] += len(f[3])
        bodies[f[2]] += f[3]
        order.append(f[2])
    check(got[1] < BIG, "the u=0 stream was served whole before the u=7 one: %r" % got)
    eq(set(order), {3}, "only the u=0 stream's DATA while both were ready")
    # the files' bytes, cut into DATA frames (a file above 64 KiB is not read
    # into memory over a plain listener)
    check(bodies[3] == b"b" * BIG and bodies[1] == b"a" * len(bodies[1]),
          "the files' bytes came whole: %r" % ({k: v[:40] for k, v in bodies.items()},))
    c.close()


def self_dependency(g, frames_of):
    """RFC 9113 5.3.1 holds for a client that turned RFC 7540's priorities
    off: a priority block naming its own stream is a PROTOCOL_ERROR (nghttp2
    skips those blocks unread in that mode; gale reads them)."""
    for name, frames in frames_of:
        c = Conn(g, client_settings=[(S_NO_RFC7540_PRIORITIES, 1)])
        c.send(frames)
        c.expect_reset(1, PROTOCOL_ERROR, name, escalated=True)
        c.close()


SELF_DEPENDENT = [
    ("a PRIORITY frame", priority(1, 1)),
    ("HEADERS with a priority block", headers(1, raw=struct.pack(">IB", 1, 15) +
                                              block(req_fields()), flags=PRIO)),
    ("padded HEADERS with a priority block",
     headers(1, raw=b"\x02" + struct.pack(">IB", 1, 15) + block(req_fields()) + b"\0\0",
             flags=PRIO | PADDED)),
]


def test_streams():
    g = start()
    cases = [("DATA beyond the stream's window", data_beyond_the_stream_window),
             ("a body within the windows", data_within_the_windows),
             ("a head that never completes", head_that_never_completes),
             ("CONTINUATIONs dripping", continuations_dripping),
             ("a body that never comes", body_that_never_comes),
             ("urgency by the priority header", lambda g: urgency_first(g, "header")),
             ("urgency by PRIORITY_UPDATE", lambda g: urgency_first(g, "frame")),
             ("a stream depending on itself, RFC 7540 priorities off",
              lambda g: self_dependency(g, SELF_DEPENDENT))]
    try:
        walk(g, cases, os.environ.get("H2_ONLY", ""), lambda fn: fn(g))
    finally:
        shutil.rmtree(g.www, ignore_errors=True)


def test_connection_window():
    """Each stream within its window, the connection's exceeded."""
    g = start_wide()
    walk(g, [("DATA beyond the connection's window", data_beyond_the_connection_window),
             ("DATA filling the connection's window", data_filling_the_connection_window)],
         os.environ.get("H2_ONLY", ""), lambda fn: fn(g))


if __name__ == "__main__":
    main()

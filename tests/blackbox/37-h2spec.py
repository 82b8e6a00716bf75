#!/usr/bin/env python3
"""37-h2spec: a conformance walk through RFC 9113's MUSTs (and RFC 7541's
for HPACK), the way h2spec walks them, with a small framer of our own so that
malformed frames can be written byte by byte. One gale serves every case, on
an h2c listener (prior knowledge) and a TLS one (ALPN h2, for the preface).

Each case opens a connection, exchanges SETTINGS, does one thing and checks
the answer: a GOAWAY with the right error code for a connection error, a
RST_STREAM with the right code for a stream error (and then a new stream on
the same connection still served), or that the connection goes on (a PING
answered) where the frame must be ignored."""

import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import Gale, check, eq, fail, free_port, make_conf, main  # noqa: E402

from h2frames import *  # noqa: E402,F401,F403 - the framer, its constants and Conn

MAX_STREAMS = 10  # the listener's max_concurrent_streams


# ---------------------------------------------------------------- the server

CONF_TAIL = '  { address = "127.0.0.1"; port = %d; tls = { certificate = "%s"; key = "%s"; }; }'


class H2Gale(Gale):
    tls_port = None


def start():
    folder, cert, key = tls_folder("gale-h2spec-")
    port, tls_port = free_port(), free_port()
    text = make_conf(0, workers=1, access_log="off", listens=[("127.0.0.1", port)],
                     limits={"max_body_size": 40000})
    entry = '  { address = "127.0.0.1"; port = %d; }' % port
    check(entry in text, "make_conf changed its listen format")
    text = text.replace(entry, '  { address = "127.0.0.1"; port = %d; http2 = { cleartext = true;'
                        ' max_concurrent_streams = %d; }; },\n' % (port, MAX_STREAMS)
                        + CONF_TAIL % (tls_port, cert, key))
    g = H2Gale(conf=text, port=port)
    g.tls_port = tls_port
    g.folder = folder
    return g


# ---------------------------------------------------------------- the cases
#
# Each case is (name, function of a Conn); the walk follows RFC 9113's
# sections. Stream ids start at 1 on each fresh connection.

CASES = []


def case(name):
    def add(fn):
        CASES.append((name, fn))
        return fn
    return add


def conn_error(name, frames, code, setup=None):
    """A case: after setup (a function of the Conn), `frames` is a connection error."""
    def run(c):
        if setup:
            setup(c)
        c.send(frames(c) if callable(frames) else frames)
        c.expect_goaway(code, name)
    CASES.append((name, run))


def stream_error(name, sid, frames, code, next_sid=None, setup=None, escalated=False):
    """A case: `frames` is a stream error on sid; the next stream is then
    served. `escalated`: a connection error with the code will do."""
    def run(c):
        if setup:
            setup(c)
        c.send(frames(c) if callable(frames) else frames)
        if not c.expect_reset(sid, code, name, escalated):
            c.served(next_sid or sid + 2, name)
    CASES.append((name, run))


def ignored(name, frames, then_request=True, sid=1):
    """A case: `frames` is ignored: the connection goes on and serves."""
    def run(c):
        c.send(frames(c) if callable(frames) else frames)
        c.alive(name)
        if then_request:
            c.served(sid, name)
    CASES.append((name, run))


def open_stream(c, sid=1, path="/slow?delay=3"):
    """A request whose body is still to come: the stream is open."""
    c.send(headers(sid, req_fields("POST", "/echo"), end_stream=False))


def half_closed(c, sid=1):
    """A request complete on the client's side, its answer still to come."""
    c.send(headers(sid, req_fields(path="/slow?delay=2")))


def closed_stream(c, sid=1):
    c.send(headers(sid, req_fields(path="/greet/done")))
    status, _, _ = c.answer(sid, "the stream to close")
    eq(status, 200, "the stream to close")


# -- 3.4 HTTP/2 connection preface


@case("3.4: a valid preface and SETTINGS: served")
def _(c):
    c.served(1, "3.4 preface")


@case("3.4: an invalid preface (TLS): GOAWAY PROTOCOL_ERROR")
def _(c):
    t = Conn(c.g, tls=True, preface=b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", handshake=False)
    try:
        t.expect_goaway(PROTOCOL_ERROR, "bad preface over TLS")
    finally:
        t.close()


@case("3.4: an invalid preface (h2c): GOAWAY PROTOCOL_ERROR")
def _(c):
    t = Conn(c.g, preface=b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", handshake=False)
    try:
        t.expect_goaway(PROTOCOL_ERROR, "bad preface over h2c")
    finally:
        t.close()


@case("3.4: a preface followed by something other than SETTINGS: PROTOCOL_ERROR")
def _(c):
    t = Conn(c.g, preface=None)
    try:
        t.send(PREFACE + ping())
        t.expect_goaway(PROTOCOL_ERROR, "PING before SETTINGS")
    finally:
        t.close()


@case("3.4: over TLS, the same walk starts: served")
def _(c):
    t = Conn(c.g, tls=True)
    try:
        t.served(1, "TLS")
    finally:
        t.close()


# -- 4.1 frame format

ignored("4.1: a frame of an unknown type is ignored", frame(0x7f, 0, 0, b"12345678"))
ignored("4.1: undefined flags on PING are ignored", frame(PING, 0x16, 0, b"12345678"))
ignored("4.1: the reserved bit of the stream id is ignored",
        lambda c: frame(HEADERS, END_STREAM | END_HEADERS, 1 | 0x80000000, block(req_fields())),
        then_request=False)

# -- 4.2 frame size

conn_error("4.2: DATA larger than SETTINGS_MAX_FRAME_SIZE: FRAME_SIZE_ERROR",
           data(1, b"x" * 16385, end=True), FRAME_SIZE_ERROR, setup=open_stream)
conn_error("4.2: HEADERS larger than SETTINGS_MAX_FRAME_SIZE: FRAME_SIZE_ERROR",
           headers(1, req_fields(extra=[("x-big", "y" * 16400)])), FRAME_SIZE_ERROR)
conn_error("4.2: SETTINGS larger than SETTINGS_MAX_FRAME_SIZE: FRAME_SIZE_ERROR",
           frame(SETTINGS, 0, 0, b"\x00\x07\x00\x00\x00\x00" * 2731), FRAME_SIZE_ERROR)
conn_error("4.2: PING of 9 octets: FRAME_SIZE_ERROR", ping(b"123456789"), FRAME_SIZE_ERROR)


@case("4.2: a DATA frame of exactly SETTINGS_MAX_FRAME_SIZE is taken")
def _(c):
    c.send(headers(1, req_fields("POST", "/echo"), end_stream=False) +
           data(1, b"a" * 16384, end=False) + data(1, b"b", end=True))
    status, _, body = c.answer(1, "a full-size DATA frame")
    eq((status, len(body)), (200, 16385), "full-size DATA")


# -- 4.3 header compression

conn_error("4.3: a header block that cannot be decoded: COMPRESSION_ERROR",
           headers(1, raw=b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"), COMPRESSION_ERROR)
conn_error("4.3: PRIORITY between HEADERS and CONTINUATION: PROTOCOL_ERROR",
           headers(1, end_headers=False) + priority(1, 0) +
           frame(CONTINUATION, END_HEADERS, 1, b""), PROTOCOL_ERROR)
conn_error("4.3: DATA between HEADERS and CONTINUATION: PROTOCOL_ERROR",
           headers(1, end_stream=False, end_headers=False) + data(1, b"x") +
           frame(CONTINUATION, END_HEADERS, 1, b""), PROTOCOL_ERROR)

# -- 5.1 stream states: idle

conn_error("5.1 idle: DATA: PROTOCOL_ERROR", data(1, b"x"), PROTOCOL_ERROR)
conn_error("5.1 idle: RST_STREAM: PROTOCOL_ERROR", rst(1), PROTOCOL_ERROR)
conn_error("5.1 idle: WINDOW_UPDATE: PROTOCOL_ERROR", window_update(1, 100), PROTOCOL_ERROR)
conn_error("5.1 idle: CONTINUATION: PROTOCOL_ERROR",
           frame(CONTINUATION, END_HEADERS, 1, block(req_fields())), PROTOCOL_ERROR)
ignored("5.1 idle: PRIORITY is allowed", priority(3, 0), sid=5)

# -- 5.1 stream states: half-closed (remote)

stream_error("5.1 half-closed (remote): DATA: STREAM_CLOSED", 1, data(1, b"x"), STREAM_CLOSED,
             setup=half_closed, escalated=True)
stream_error("5.1 half-closed (remote): HEADERS: STREAM_CLOSED", 1,
             headers(1, [("x-trailer", "1")]), STREAM_CLOSED, setup=half_closed, escalated=True)
ignored("5.1 half-closed (remote): WINDOW_UPDATE is allowed",
        lambda c: (half_closed(c), window_update(1, 1000))[1], sid=3)
ignored("5.1 half-closed (remote): PRIORITY is allowed",
        lambda c: (half_closed(c), priority(1, 0))[1], sid=3)


@case("5.1 half-closed (remote): RST_STREAM is allowed and ends it")
def _(c):
    half_closed(c)
    c.send(rst(1))
    c.alive("RST_STREAM on a half-closed stream")
    c.served(3, "after RST_STREAM")


# -- 5.1 stream states: closed


def closed_data(name, code):
    @case(name)
    def _(c):
        closed_stream(c)
        c.send(data(1, b"x"))
        # RFC 9113 5.1: a stream error or a connection error of STREAM_CLOSED
        seen, f = c.frames_until(lambda f: f[0] in (RST_STREAM, GOAWAY))
        check(f is not None, "%s: an error" % name)
        got = struct.unpack(">I", f[3][-4:] if f[0] == RST_STREAM else f[3][4:8])[0]
        eq(got, code, "%s: error code" % name)


closed_data("5.1 closed: DATA after END_STREAM both ways: STREAM_CLOSED", STREAM_CLOSED)


@case("5.1 closed: HEADERS on a closed stream: STREAM_CLOSED")
def _(c):
    closed_stream(c)
    c.send(headers(1))
    seen, f = c.frames_until(lambda f: f[0] in (RST_STREAM, GOAWAY))
    check(f is not None, "an error for HEADERS on a closed stream")
    code = struct.unpack(">I", f[3][-4:] if f[0] == RST_STREAM else f[3][4:8])[0]
    check(code in (STREAM_CLOSED, PROTOCOL_ERROR), "HEADERS on a closed stream: %d" % code)


@case("5.1 closed: WINDOW_UPDATE just after closing is ignored")
def _(c):
    closed_stream(c)
    c.send(window_update(1, 100))
    c.alive("WINDOW_UPDATE on a recently closed stream")
    c.served(3, "after WINDOW_UPDATE")


@case("5.1 closed: RST_STREAM just after closing is ignored")
def _(c):
    closed_stream(c)
    c.send(rst(1))
    c.alive("RST_STREAM on a recently closed stream")
    c.served(3, "after RST_STREAM")


@case("5.1 closed: PRIORITY on a closed stream is ignored")
def _(c):
    closed_stream(c)
    c.send(priority(1, 0))
    c.alive("PRIORITY on a closed stream")


# -- 5.1.1 stream identifiers

conn_error("5.1.1: an even-numbered stream from the client: PROTOCOL_ERROR", headers(2),
           PROTOCOL_ERROR)
conn_error("5.1.1: a stream id lower than one used before: PROTOCOL_ERROR",
           lambda c: (closed_stream(c, 5), headers(3))[1], PROTOCOL_ERROR)
conn_error("5.1.1: a stream id equal to one used before: PROTOCOL_ERROR",
           lambda c: (closed_stream(c, 5), headers(5))[1], (STREAM_CLOSED))


@case("5.1.1: trailers on a stream the server reset are ignored, not a lower new stream")
def _(c):
    # a body too large is answered 413 before its end, then the stream is reset
    c.send(headers(1, req_fields("POST", "/echo"), end_stream=False) +
           data(1, b"z" * 16384, end=False) + data(1, b"z" * 16384, end=False) +
           data(1, b"z" * 16384, end=False))
    c.send(headers(3, req_fields(path="/greet/three")))
    seen, f = c.frames_until(lambda f: f[0] == RST_STREAM and f[2] == 1)
    check(f is not None, "stream 1 reset after its early answer")
    c.send(headers(1, [("x-trailer", "late")]))
    c.alive("trailers after the server's reset")
    c.served(5, "after late trailers")


@case("5.1.1: stream ids may skip: 1 then 7")
def _(c):
    c.served(1, "stream 1")
    c.served(7, "stream 7")
    c.served(9, "stream 9")


# -- 5.1.2 stream concurrency


@case("5.1.2: streams beyond SETTINGS_MAX_CONCURRENT_STREAMS: refused or an error")
def _(c):
    eq(c.server_settings.get(S_MAX_CONCURRENT_STREAMS), MAX_STREAMS, "the advertised maximum")
    c.send(b"".join(headers(1 + 2 * i, req_fields(path="/slow?delay=1"))
                    for i in range(MAX_STREAMS + 1)))
    sid = 1 + 2 * MAX_STREAMS
    seen, f = c.frames_until(lambda f: f[0] == GOAWAY or (f[0] == RST_STREAM and f[2] == sid))
    check(f is not None, "the stream beyond the maximum")
    code = struct.unpack(">I", f[3][-4:] if f[0] == RST_STREAM else f[3][4:8])[0]
    check(code in (PROTOCOL_ERROR, REFUSED_STREAM), "beyond the maximum: %d" % code)


# -- 5.3 priority (RFC 9113 deprecates the scheme; a self-dependency is still an error)

stream_error("5.3.1: HEADERS depending on its own stream: PROTOCOL_ERROR", 1,
             headers(1, raw=struct.pack(">IB", 1, 15) + block(req_fields()), flags=PRIO),
             PROTOCOL_ERROR, escalated=True)
stream_error("5.3.1: PRIORITY depending on its own stream: PROTOCOL_ERROR", 1,
             priority(1, 1), PROTOCOL_ERROR, escalated=True)
ignored("5.3: HEADERS with a priority block are served",
        headers(1, raw=struct.pack(">IB", 0x80000000, 200) + block(req_fields()), flags=PRIO),
        then_request=False)

# -- 5.4 error handling


@case("5.4.1: after a connection error, GOAWAY with the last stream processed")
def _(c):
    c.served(1, "stream 1")
    c.send(data(0, b"x"))
    code, last = c.goaway()
    eq((code, last), (PROTOCOL_ERROR, 1), "GOAWAY's code and last stream id")


# -- 5.5 extending HTTP/2

ignored("5.5: an unknown extension frame is ignored", frame(0x55, 0xff, 1, b"x" * 10))
conn_error("5.5: an unknown frame in the middle of a header block: PROTOCOL_ERROR",
           headers(1, end_headers=False) + frame(0x55, 0, 1, b"") +
           frame(CONTINUATION, END_HEADERS, 1, b""), PROTOCOL_ERROR)

# -- 6.1 DATA

conn_error("6.1: DATA on stream 0: PROTOCOL_ERROR", data(0, b"x"), PROTOCOL_ERROR)
stream_error("6.1: DATA on a half-closed (remote) stream: STREAM_CLOSED", 1,
             data(1, b"x"), STREAM_CLOSED, setup=half_closed, escalated=True)
conn_error("6.1: DATA with a pad length beyond the payload: PROTOCOL_ERROR",
           lambda c: (open_stream(c), frame(DATA, PADDED | END_STREAM, 1, b"\x06abcde"))[1],
           PROTOCOL_ERROR)


@case("6.1: padded DATA is taken, without its padding")
def _(c):
    c.send(headers(1, req_fields("POST", "/echo"), end_stream=False) +
           frame(DATA, PADDED | END_STREAM, 1, b"\x04body\x00\x00\x00\x00"))
    status, _, body = c.answer(1, "padded DATA")
    eq((status, body), (200, b"body"), "padded DATA")


# -- 6.2 HEADERS

conn_error("6.2: HEADERS without END_HEADERS, then another HEADERS: PROTOCOL_ERROR",
           headers(1, end_headers=False) + headers(3), PROTOCOL_ERROR)
conn_error("6.2: HEADERS on stream 0: PROTOCOL_ERROR", headers(0), PROTOCOL_ERROR)
conn_error("6.2: HEADERS with a pad length beyond the payload: PROTOCOL_ERROR",
           frame(HEADERS, PADDED | END_HEADERS | END_STREAM, 1, b"\xff" + block(req_fields())),
           PROTOCOL_ERROR)


@case("6.2: padded HEADERS are served")
def _(c):
    c.send(frame(HEADERS, PADDED | END_HEADERS | END_STREAM, 1,
                 b"\x03" + block(req_fields(path="/greet/pad")) + b"\x00\x00\x00"))
    status, _, body = c.answer(1, "padded HEADERS")
    eq((status, body), (200, b"Hello, pad"), "padded HEADERS")


# -- 6.3 PRIORITY

conn_error("6.3: PRIORITY on stream 0: PROTOCOL_ERROR", priority(0, 1), PROTOCOL_ERROR)
stream_error("6.3: PRIORITY of 4 octets: FRAME_SIZE_ERROR", 1,
             lambda c: (half_closed(c), frame(PRIORITY, 0, 1, b"\x00\x00\x00\x00"))[1],
             FRAME_SIZE_ERROR, escalated=True)

# -- 6.4 RST_STREAM

conn_error("6.4: RST_STREAM on stream 0: PROTOCOL_ERROR", rst(0), PROTOCOL_ERROR)
conn_error("6.4: RST_STREAM on an idle stream: PROTOCOL_ERROR", rst(3), PROTOCOL_ERROR)
conn_error("6.4: RST_STREAM of 3 octets: FRAME_SIZE_ERROR",
           lambda c: (half_closed(c), frame(RST_STREAM, 0, 1, b"\x00\x00\x08"))[1],
           FRAME_SIZE_ERROR)

# -- 6.5 SETTINGS

conn_error("6.5: SETTINGS ACK with a payload: FRAME_SIZE_ERROR",
           frame(SETTINGS, ACK, 0, b"\x00\x01\x00\x00\x10\x00"), FRAME_SIZE_ERROR)
conn_error("6.5: SETTINGS on a stream: PROTOCOL_ERROR", settings(sid=1), PROTOCOL_ERROR)
conn_error("6.5: SETTINGS of a length not a multiple of 6: FRAME_SIZE_ERROR",
           frame(SETTINGS, 0, 0, b"\x00\x03\x00\x00\x00\x64\x00"), FRAME_SIZE_ERROR)
conn_error("6.5.2: SETTINGS_ENABLE_PUSH of 2: PROTOCOL_ERROR", settings((S_ENABLE_PUSH, 2)),
           PROTOCOL_ERROR)
conn_error("6.5.2: SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1: FLOW_CONTROL_ERROR",
           settings((S_INITIAL_WINDOW_SIZE, 2 ** 31)), FLOW_CONTROL_ERROR)
conn_error("6.5.2: SETTINGS_MAX_FRAME_SIZE below 16384: PROTOCOL_ERROR",
           settings((S_MAX_FRAME_SIZE, 16383)), PROTOCOL_ERROR)
conn_error("6.5.2: SETTINGS_MAX_FRAME_SIZE above 2^24-1: PROTOCOL_ERROR",
           settings((S_MAX_FRAME_SIZE, 2 ** 24)), PROTOCOL_ERROR)
ignored("6.5.2: an unknown setting is ignored", settings((0xff, 1)))


@case("6.5.3: SETTINGS are acknowledged")
def _(c):
    c.send(settings((S_INITIAL_WINDOW_SIZE, 100000), (S_MAX_FRAME_SIZE, 20000)))
    seen, f = c.frames_until(lambda f: f[0] in (SETTINGS, GOAWAY))
    check(f is not None and f[0] == SETTINGS and f[1] & ACK and not f[3], "SETTINGS ACK: %r" % (f,))


@case("6.5.3: SETTINGS values apply in order: the last INITIAL_WINDOW_SIZE wins")
def _(c):
    c.send(settings((S_INITIAL_WINDOW_SIZE, 100), (S_INITIAL_WINDOW_SIZE, 1)))
    c.send(headers(1, req_fields(path="/greet/abcdef")))
    seen, f = c.frames_until(lambda f: f[0] == DATA and f[2] == 1)
    eq(len(f[3]), 1, "a window of 1: one octet of DATA")
    c.send(window_update(1, 100))
    seen, f = c.frames_until(lambda f: f[0] == DATA and f[1] & END_STREAM)
    eq(b"".join(x[3] for x in seen if x[0] == DATA), b"ello, abcdef", "the rest after the update")


@case("6.5.2: SETTINGS_MAX_FRAME_SIZE raised: frames stay within it")
def _(c):
    c.send(settings((S_MAX_FRAME_SIZE, 16384)))
    c.send(headers(1, req_fields("POST", "/echo"), end_stream=False) +
           data(1, b"q" * 16384, end=False) + data(1, b"q" * 16384, end=False) +
           data(1, b"q", end=True))
    status, _, body = c.answer(1, "echo of 32 KiB")
    eq((status, len(body)), (200, 32769), "echo of 32 KiB")


@case("6.5.2: SETTINGS_HEADER_TABLE_SIZE of 0: answers still decode")
def _(c):
    c.send(settings((S_HEADER_TABLE_SIZE, 0)))
    c.served(1, "table size 0")
    c.served(3, "table size 0, again")


# -- 6.7 PING


@case("6.7: PING is answered with ACK and the same payload")
def _(c):
    c.send(ping(b"\x01\x02\x03\x04\x05\x06\x07\x08"))
    seen, f = c.frames_until(lambda f: f[0] in (PING, GOAWAY))
    eq((f[0], f[1] & ACK, f[3]), (PING, ACK, b"\x01\x02\x03\x04\x05\x06\x07\x08"), "PING ACK")


@case("6.7: a PING ACK is not answered")
def _(c):
    c.send(ping(b"unasked!", ack=True))
    c.send(ping(b"asked!!!"))
    seen, f = c.frames_until(lambda f: f[0] in (PING, GOAWAY))
    eq(f[3], b"asked!!!", "only the PING without ACK is answered")


conn_error("6.7: PING on a stream: PROTOCOL_ERROR", ping(sid=1), PROTOCOL_ERROR)
conn_error("6.7: PING of 7 octets: FRAME_SIZE_ERROR", ping(b"1234567"), FRAME_SIZE_ERROR)

# -- 6.8 GOAWAY

conn_error("6.8: GOAWAY on a stream: PROTOCOL_ERROR",
           frame(GOAWAY, 0, 1, struct.pack(">II", 0, 0)), PROTOCOL_ERROR)


@case("6.8: the client's GOAWAY: the server finishes and closes")
def _(c):
    half_closed(c)
    c.send(frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0)))
    status, _, body = c.answer(1, "the stream in flight after the client's GOAWAY")
    eq((status, body), (200, b"slow"), "the stream in flight finishes")


# -- 6.9 WINDOW_UPDATE

conn_error("6.9: WINDOW_UPDATE of 0 on the connection: PROTOCOL_ERROR", window_update(0, 0),
           PROTOCOL_ERROR)
stream_error("6.9: WINDOW_UPDATE of 0 on a stream: PROTOCOL_ERROR", 1, window_update(1, 0),
             PROTOCOL_ERROR, setup=half_closed, escalated=True)
conn_error("6.9: WINDOW_UPDATE of 3 octets: FRAME_SIZE_ERROR",
           frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x01"), FRAME_SIZE_ERROR)
conn_error("6.9.1: the connection's window past 2^31-1: FLOW_CONTROL_ERROR",
           window_update(0, 2 ** 31 - 1) + window_update(0, 2 ** 31 - 1), FLOW_CONTROL_ERROR)
stream_error("6.9.1: a stream's window past 2^31-1: FLOW_CONTROL_ERROR", 1,
             window_update(1, 2 ** 31 - 1) + window_update(1, 2 ** 31 - 1), FLOW_CONTROL_ERROR,
             setup=half_closed)
conn_error("6.9.2: INITIAL_WINDOW_SIZE pushing an open stream's window past 2^31-1: "
           "FLOW_CONTROL_ERROR",
           window_update(1, 2 ** 31 - 1 - 65535) + settings((S_INITIAL_WINDOW_SIZE, 65536)),
           FLOW_CONTROL_ERROR, setup=half_closed)
conn_error("6.9.2: the second of two INITIAL_WINDOW_SIZE entries pushes it past: "
           "FLOW_CONTROL_ERROR",
           window_update(1, 2 ** 31 - 1 - 65535 - 10) +
           settings((S_INITIAL_WINDOW_SIZE, 65535 + 5), (S_INITIAL_WINDOW_SIZE, 65535 + 11)),
           FLOW_CONTROL_ERROR, setup=half_closed)
ignored("6.9.2: INITIAL_WINDOW_SIZE bringing an open stream's window to 2^31-1 exactly",
        lambda c: (half_closed(c), window_update(1, 2 ** 31 - 1 - 65536) +
                   settings((S_INITIAL_WINDOW_SIZE, 65536)))[1], sid=3)


@case("6.9.2: INITIAL_WINDOW_SIZE of 0 holds DATA until a WINDOW_UPDATE")
def _(c):
    c.send(settings((S_INITIAL_WINDOW_SIZE, 0)))
    c.send(headers(1, req_fields(path="/greet/window")))
    seen, f = c.frames_until(lambda f: f[0] == HEADERS and f[2] == 1)
    c.send(ping(b"window!!"))
    seen, f = c.frames_until(lambda f: f[0] == PING)
    check(not any(x[0] == DATA for x in seen), "no DATA while the window is 0")
    c.send(window_update(1, 1000))
    seen, f = c.frames_until(lambda f: f[0] == DATA and f[1] & END_STREAM)
    eq(b"".join(x[3] for x in seen if x[0] == DATA), b"Hello, window", "DATA after the update")


@case("6.9.2: a window made negative by SETTINGS: DATA waits for it to turn positive")
def _(c):
    c.send(settings((S_INITIAL_WINDOW_SIZE, 5)))
    c.send(headers(1, req_fields(path="/greet/negative")))
    seen, f = c.frames_until(lambda f: f[0] == DATA)
    eq(f[3], b"Hello", "five octets")
    c.send(settings((S_INITIAL_WINDOW_SIZE, 0)))  # the window is now -5
    c.send(window_update(1, 5))  # 0: still nothing
    c.send(ping(b"negative"))
    seen, f = c.frames_until(lambda f: f[0] == PING)
    check(not any(x[0] == DATA for x in seen), "no DATA while the window is 0")
    c.send(window_update(1, 100))
    seen, f = c.frames_until(lambda f: f[0] == DATA and f[1] & END_STREAM)
    eq(b"".join(x[3] for x in seen if x[0] == DATA), b", negative", "the rest")


# -- 6.10 CONTINUATION


@case("6.10: a header block in HEADERS and several CONTINUATIONs is served")
def _(c):
    hb = block(req_fields(path="/greet/cont", extra=[("x-a", "1"), ("x-b", "2")]))
    c.send(headers(1, raw=hb[:10], end_headers=False) +
           frame(CONTINUATION, 0, 1, hb[10:20]) + frame(CONTINUATION, 0, 1, hb[20:30]) +
           frame(CONTINUATION, END_HEADERS, 1, hb[30:]))
    status, _, body = c.answer(1, "CONTINUATIONs")
    eq((status, body), (200, b"Hello, cont"), "CONTINUATIONs")


conn_error("6.10: CONTINUATION after END_HEADERS: PROTOCOL_ERROR",
           lambda c: (half_closed(c), frame(CONTINUATION, END_HEADERS, 1, b""))[1],
           PROTOCOL_ERROR)
conn_error("6.10: CONTINUATION on stream 0: PROTOCOL_ERROR",
           headers(1, end_headers=False) + frame(CONTINUATION, END_HEADERS, 0, b""),
           PROTOCOL_ERROR)
conn_error("6.10: CONTINUATION on another stream: PROTOCOL_ERROR",
           headers(1, end_headers=False) + frame(CONTINUATION, END_HEADERS, 3, b""),
           PROTOCOL_ERROR)
conn_error("6.10: CONTINUATION after HEADERS with END_HEADERS: PROTOCOL_ERROR",
           headers(1, end_stream=False) + frame(CONTINUATION, END_HEADERS, 1, b""),
           PROTOCOL_ERROR)
conn_error("6.10: PING inside a header block: PROTOCOL_ERROR",
           headers(1, end_headers=False) + ping() + frame(CONTINUATION, END_HEADERS, 1, b""),
           PROTOCOL_ERROR)

# -- 7 error codes

ignored("7: an unknown error code in RST_STREAM is taken as any other",
        lambda c: (half_closed(c), rst(1, 0xff))[1], sid=3)


@case("7: an unknown error code in GOAWAY is taken as any other")
def _(c):
    half_closed(c)
    c.send(frame(GOAWAY, 0, 0, struct.pack(">II", 0, 0xff)))
    status, _, body = c.answer(1, "the stream in flight after a GOAWAY of an unknown code")
    eq((status, body), (200, b"slow"), "the stream in flight finishes")


# -- 8.1 HTTP message framing


@case("8.1: a request with trailers is served")
def _(c):
    c.send(headers(1, req_fields("POST", "/echo"), end_stream=False) + data(1, b"abc", end=False)
           + headers(1, [("x-trailer", "t")]))
    status, _, body = c.answer(1, "trailers")
    eq((status, body), (200, b"abc"), "trailers")


stream_error("8.1: a second HEADERS without END_STREAM: PROTOCOL_ERROR", 1,
             lambda c: (open_stream(c), data(1, b"abc", end=False) +
                        headers(1, [("x-trailer", "t")], end_stream=False))[1], PROTOCOL_ERROR)
stream_error("8.1: trailers with a pseudo-header: PROTOCOL_ERROR", 1,
             lambda c: (open_stream(c), data(1, b"abc", end=False) +
                        headers(1, [(":method", "GET")]))[1], PROTOCOL_ERROR)


@case("8.1: a HEAD request: the head, no body")
def _(c):
    c.send(headers(1, req_fields("HEAD", "/greet/head")))
    status, hdrs, body = c.answer(1, "HEAD")
    eq((status, body), (200, b""), "HEAD")


# -- 8.2 fields


def bad_fields(name, fields, end_stream=True):
    stream_error(name, 1, headers(1, fields, end_stream=end_stream), PROTOCOL_ERROR)


bad_fields("8.2: an uppercase field name: PROTOCOL_ERROR",
           req_fields(extra=[("X-Upper", "1")]))
bad_fields("8.2: a field name with a space: PROTOCOL_ERROR",
           req_fields(extra=[("x bad", "1")]))
bad_fields("8.2: a field value with a NUL: PROTOCOL_ERROR",
           req_fields(extra=[("x-nul", "a\x00b")]))
bad_fields("8.2: a field value with CR LF: PROTOCOL_ERROR",
           req_fields(extra=[("x-crlf", "a\r\nb: c")]))
bad_fields("8.2.2: connection: PROTOCOL_ERROR", req_fields(extra=[("connection", "close")]))
bad_fields("8.2.2: keep-alive: PROTOCOL_ERROR", req_fields(extra=[("keep-alive", "5")]))
bad_fields("8.2.2: proxy-connection: PROTOCOL_ERROR",
           req_fields(extra=[("proxy-connection", "close")]))
bad_fields("8.2.2: transfer-encoding: PROTOCOL_ERROR",
           req_fields(extra=[("transfer-encoding", "chunked")]))
bad_fields("8.2.2: upgrade: PROTOCOL_ERROR", req_fields(extra=[("upgrade", "h2c")]))
bad_fields("8.2.2: TE other than trailers: PROTOCOL_ERROR",
           req_fields(extra=[("te", "gzip")]))
ignored("8.2.2: TE: trailers is allowed", headers(1, req_fields(extra=[("te", "trailers")])),
        sid=3)
bad_fields("8.3: an unknown pseudo-header: PROTOCOL_ERROR",
           req_fields(extra=[(":bogus", "1")]))
bad_fields("8.3: a response pseudo-header in a request: PROTOCOL_ERROR",
           req_fields() + [(":status", "200")])
bad_fields("8.3: a pseudo-header after a regular field: PROTOCOL_ERROR",
           [(":method", "GET"), (":scheme", "http"), ("x-a", "1"), (":path", "/"),
            (":authority", "localhost")])
bad_fields("8.3.1: no :method: PROTOCOL_ERROR", [(":scheme", "http"), (":path", "/")])
bad_fields("8.3.1: no :scheme: PROTOCOL_ERROR", [(":method", "GET"), (":path", "/")])
bad_fields("8.3.1: no :path: PROTOCOL_ERROR", [(":method", "GET"), (":scheme", "http")])
bad_fields("8.3.1: an empty :path: PROTOCOL_ERROR",
           [(":method", "GET"), (":scheme", "http"), (":path", "")])
bad_fields("8.3.1: two :method: PROTOCOL_ERROR", req_fields() + [(":method", "GET")])
bad_fields("8.3.1: two :scheme: PROTOCOL_ERROR",
           [(":method", "GET"), (":scheme", "http"), (":scheme", "http"), (":path", "/")])
bad_fields("8.3.1: two :path: PROTOCOL_ERROR",
           [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":path", "/")])
bad_fields("8.3.1: CONNECT with :path (no :protocol): PROTOCOL_ERROR",
           [(":method", "CONNECT"), (":authority", "x:1"), (":path", "/")])


def length_mismatch(name, body_frames):
    stream_error(name, 1, lambda c: headers(
        1, req_fields("POST", "/echo", extra=[("content-length", "5")]), end_stream=False) +
        body_frames, PROTOCOL_ERROR)


length_mismatch("8.1.1: content-length above the DATA: PROTOCOL_ERROR", data(1, b"abc"))
length_mismatch("8.1.1: content-length below the DATA: PROTOCOL_ERROR", data(1, b"abcdefgh"))
length_mismatch("8.1.1: content-length below the sum of DATA frames: PROTOCOL_ERROR",
                data(1, b"abc", end=False) + data(1, b"def"))
stream_error("8.1.1: content-length with no DATA: PROTOCOL_ERROR", 1,
             headers(1, req_fields("POST", "/echo", extra=[("content-length", "5")])),
             PROTOCOL_ERROR)


@case("8.1.1: content-length matching the DATA frames: served")
def _(c):
    c.send(headers(1, req_fields("POST", "/echo", extra=[("content-length", "6")]),
                   end_stream=False) + data(1, b"abc", end=False) + data(1, b"def"))
    status, _, body = c.answer(1, "content-length matched")
    eq((status, body), (200, b"abcdef"), "content-length matched")


@case("8.2.3: several cookie fields reach the handler as one")
def _(c):
    c.send(headers(1, req_fields(path="/info", extra=[("cookie", "a=1"), ("cookie", "b=2")])))
    status, _, body = c.answer(1, "cookies")
    eq(status, 200, "cookies")


# -- 8.4 server push

conn_error("8.4: PUSH_PROMISE from a client: PROTOCOL_ERROR",
           lambda c: (half_closed(c), frame(PUSH_PROMISE, END_HEADERS, 1,
                                            struct.pack(">I", 2) + block(req_fields())))[1],
           PROTOCOL_ERROR)

# -- HPACK (RFC 7541)

conn_error("HPACK 2.3.3: index 0: COMPRESSION_ERROR", headers(1, raw=b"\x80"), COMPRESSION_ERROR)
conn_error("HPACK 2.3.3: an index beyond both tables: COMPRESSION_ERROR",
           headers(1, raw=hint(70, 7, 0x80)), COMPRESSION_ERROR)
conn_error("HPACK 2.3.3: a name index beyond both tables: COMPRESSION_ERROR",
           headers(1, raw=hint(70, 4) + hstr("x")), COMPRESSION_ERROR)
conn_error("HPACK 4.2: a table size update beyond SETTINGS_HEADER_TABLE_SIZE: "
           "COMPRESSION_ERROR",
           headers(1, raw=hint(8192, 5, 0x20) + block(req_fields())), COMPRESSION_ERROR)
conn_error("HPACK 4.2: a table size update after a field: COMPRESSION_ERROR",
           headers(1, raw=block(req_fields()) + hint(100, 5, 0x20)), COMPRESSION_ERROR)
conn_error("HPACK 5.2: Huffman with the EOS symbol: COMPRESSION_ERROR",
           headers(1, raw=b"\x00\x85" + b"\xff\xff\xff\xff\xff" + hstr("v")), COMPRESSION_ERROR)
conn_error("HPACK 5.2: Huffman padding longer than 7 bits: COMPRESSION_ERROR",
           # 'a' is 00011 (5 bits), then 11 bits of padding
           headers(1, raw=b"\x00\x82\x1f\xff" + hstr("v")), COMPRESSION_ERROR)
conn_error("HPACK 5.2: Huffman padding not of ones: COMPRESSION_ERROR",
           # 'a' (00011) then 000 instead of 111
           headers(1, raw=b"\x00\x81\x18" + hstr("v")), COMPRESSION_ERROR)
conn_error("HPACK 5.1: an integer that overflows: COMPRESSION_ERROR",
           headers(1, raw=b"\x00\x7f" + b"\xff" * 10 + b"\x01"), COMPRESSION_ERROR)
conn_error("HPACK: a string longer than the block: COMPRESSION_ERROR",
           headers(1, raw=b"\x00\x10abc"), COMPRESSION_ERROR)


@case("HPACK: indexed fields from the static and dynamic tables are served")
def _(c):
    # :method GET (2), :scheme http (6), :path / (4), :authority with
    # incremental indexing: it enters the dynamic table at 62
    first = b"\x82\x86\x84" + b"\x41" + hstr("localhost")
    c.send(headers(1, raw=first))
    status, _, _ = c.answer(1, "indexed fields")
    eq(status, 200, "static table fields")
    c.send(headers(3, raw=b"\x82\x86\x84\xbe"))  # 62: the dynamic entry
    status, _, _ = c.answer(3, "a dynamic table entry")
    eq(status, 200, "dynamic table field")


@case("HPACK: a table size update to 0 at the block's start is taken")
def _(c):
    c.send(headers(1, raw=b"\x20" + block(req_fields(path="/greet/zero"))))
    status, _, body = c.answer(1, "table size update to 0")
    eq((status, body), (200, b"Hello, zero"), "table size update to 0")


@case("HPACK: a Huffman-coded :path is decoded")
def _(c):
    # "/greet/ab" in Huffman, by the RFC 7541 table: built bit by bit
    codes = {"/": "011000", "g": "100110", "r": "101100", "e": "00101", "t": "01001",
             "a": "00011", "b": "100011"}
    bits = "".join(codes[ch] for ch in "/greet/ab")
    bits += "1" * (-len(bits) % 8)
    enc = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    raw = b"\x82\x86" + b"\x04" + hint(len(enc), 7, 0x80) + enc + literal(":authority", "x")
    c.send(headers(1, raw=raw))
    status, _, body = c.answer(1, "a Huffman :path")
    eq((status, body), (200, b"Hello, ab"), "a Huffman :path")


# ---------------------------------------------------------------- the walk


def test_conformance_walk():
    for tool in ("openssl",):
        if not shutil.which(tool):
            fail("%s not found" % tool)
    g = start()

    def on_a_conn(fn):
        c = Conn(g)
        try:
            fn(c)
        finally:
            c.close()

    only = os.environ.get("H2SPEC_ONLY", "")  # a part of the names to run
    try:
        walk(g, CASES, only, on_a_conn)
    finally:
        shutil.rmtree(g.folder, ignore_errors=True)


if __name__ == "__main__":
    main()

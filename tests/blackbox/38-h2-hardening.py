#!/usr/bin/env python3
"""38-h2-hardening: the HTTP/2 attacks a public server meets, each answered
with the right error and no growth in the worker's memory: rapid reset
(CVE-2023-44487), CONTINUATION floods (CVE-2024-27316), HPACK bombs and
oversized header lists, SETTINGS, PING and empty DATA floods, a window that
never opens and a body that never ends.

One gale with one worker serves every case; each attack runs a few rounds
first (the allocator settles), then many, and the worker's VmRSS must not
have grown beyond a bound far below what the attack would cost if gale kept
it. Under AddressSanitizer RSS says nothing of what gale frees: the attacks
run, for the sanitizer's sake, and the bounds are not checked."""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import galetest  # noqa: E402
from galetest import Gale, asan_build, check, eq, fail, main, make_conf  # noqa: E402
from h2frames import *  # noqa: E402,F401,F403 - the framer, its constants and Conn

SANITIZED = asan_build()
KiB = 1024
MiB = 1024 * KiB
GROWTH = 3 * MiB  # what the worker may keep after an attack's rounds


def settled_rss(pid):
    """As galetest's, after the handlers of streams reset under them (0.2 s
    at most) are over."""
    return galetest.settled_rss(pid, pause=0.3, tries=30)


def gale():
    text = make_conf(0, workers=1, access_log="off", listens=[("127.0.0.1", 0)],
                     limits={"send_timeout": 1.0, "body_timeout": 1.0,
                             "max_header_size": 8192})
    entry = '  { address = "127.0.0.1"; port = 0; }'
    check(entry in text, "make_conf changed its listen format")
    return Gale(conf=text.replace(entry, '  { address = "127.0.0.1"; port = @PORT@; http2 = {'
                                  ' cleartext = true; max_resets = 100; reset_rate = 1; }; }'))


G = None


def worker():
    check(G.wait_workers(1), "no worker")
    return G.workers()[0]


def flat(what, attack, warm=3, rounds=20):
    """Run attack() warm times, then rounds times: RSS must stay flat."""
    pid = worker()
    t0 = time.monotonic()
    for _ in range(warm):
        attack()
    before = settled_rss(pid)
    for _ in range(rounds):
        attack()
    after = settled_rss(pid)
    print("# %s: %d KiB before, %d KiB after, %.1f s" % (what, before // KiB, after // KiB,
                                                        time.monotonic() - t0))
    eq(worker(), pid, "%s: the worker survived" % what)
    if not SANITIZED:
        check(after - before < GROWTH, "%s: the worker grew by %d KiB"
              % (what, (after - before) // KiB))
    # and the server goes on
    c = Conn(G)
    try:
        c.served(1, what + ": a fresh connection")
    finally:
        c.close()


def blast(c, data):
    """Send what the server may stop reading half-way."""
    c.sock.settimeout(5)
    try:
        c.sock.sendall(data)
    except OSError:
        pass


def goaway_code(c, timeout=10):
    """The error code of the GOAWAY that ends the connection (-1 for none)."""
    code = -1
    while True:
        try:
            f = c.read(timeout)
        except Exception:  # noqa: BLE001 - no close in time is the caller's failure
            fail("the server did not close the connection")
        if f is None:
            return code
        if f[0] == GOAWAY:
            code = struct.unpack(">I", f[3][4:8])[0]


# ---------------------------------------------------------------- the cases


def rapid_reset():
    """HEADERS and RST_STREAM at once, over and over (CVE-2023-44487)."""
    c = Conn(G)
    blast(c, b"".join(headers(1 + 2 * i, req_fields(path="/slow?delay=0.2")) + rst(1 + 2 * i)
                      for i in range(1000)))
    code = goaway_code(c)
    c.close()
    eq(code, ENHANCE_YOUR_CALM, "rapid reset: GOAWAY ENHANCE_YOUR_CALM")
    # the handlers of the streams taken before the GOAWAY run on (they are
    # the work the attack buys, bounded by max_resets): once they are over,
    # the next round starts from the same memory
    time.sleep(0.3)


def continuation_flood():
    """A header block that never ends (CVE-2024-27316)."""
    c = Conn(G)
    frames = [headers(1, end_headers=False)]
    frames += [frame(CONTINUATION, 0, 1, literal("x-flood-%d" % i, "v" * 100))
               for i in range(5000)]
    blast(c, b"".join(frames))
    code = goaway_code(c)
    c.close()
    check(code not in (-1, NO_ERROR), "a CONTINUATION flood is an error: %d" % code)


def continuation_one_big_field():
    """CONTINUATIONs that carry one endless field value."""
    c = Conn(G)
    value = b"v" * (4 * MiB)
    hb = b"\x00" + hstr("x-big") + hint(len(value), 7) + value
    frames = [headers(1, raw=hb[:16000], end_headers=False)]
    frames += [frame(CONTINUATION, 0, 1, hb[i:i + 16000]) for i in range(16000, len(hb), 16000)]
    blast(c, b"".join(frames))
    code = goaway_code(c)
    c.close()
    check(code not in (-1, NO_ERROR), "one endless field: an error: %d" % code)


def hpack_bomb():
    """A 4000-octet value put in the dynamic table, then named 2000 times in
    each head: 8 MB of fields from 2 KB on the wire."""
    c = Conn(G)
    # the entry goes in with a head of its own (it alone fits the limit)
    c.send(headers(1, raw=block(req_fields(path="/greet/bomb")) +
                   b"\x40" + hstr("x-bomb") + hstr("b" * 4000)))
    status, _, _ = c.answer(1, "the bomb's entry")
    eq(status, 200, "one 4 KB field fits the 8 KiB limit")
    for sid in range(3, 23, 2):
        c.send(headers(sid, raw=block(req_fields(path="/greet/bomb")) + b"\xbe" * 2000))
        seen, f = c.frames_until(lambda f: f[2] == sid and (f[0] == RST_STREAM or
                                                            f[1] & END_STREAM) or
                                 f[0] == GOAWAY)
        check(f is not None and f[0] != GOAWAY, "a bomb is a stream's error, not the connection's")
        if f[0] == HEADERS:
            eq(decode_block(f[3], f[1]), [(":status", "431")], "a bomb: 431")
    c.close()


def oversized_list():
    c = Conn(G)
    eq(c.server_settings.get(S_MAX_HEADER_LIST_SIZE), 8192, "SETTINGS_MAX_HEADER_LIST_SIZE")
    for sid in range(1, 21, 2):
        c.send(headers(sid, req_fields(extra=[("x-%d" % i, "y" * 1000) for i in range(12)])))
        status, _, _ = c.answer(sid, "an oversized header list")
        eq(status, 431, "an oversized header list: 431")
    c.close()


def settings_flood():
    c = Conn(G)
    blast(c, settings() * 100000)
    code = goaway_code(c)
    c.close()
    eq(code, ENHANCE_YOUR_CALM, "a SETTINGS flood: GOAWAY ENHANCE_YOUR_CALM")


def ping_flood():
    c = Conn(G)
    blast(c, ping() * 100000)
    code = goaway_code(c)
    c.close()
    eq(code, ENHANCE_YOUR_CALM, "a PING flood: GOAWAY ENHANCE_YOUR_CALM")


def empty_data_flood():
    c = Conn(G)
    c.send(headers(1, req_fields("POST", "/echo"), end_stream=False))
    blast(c, data(1, b"", end=False) * 20000)
    code = goaway_code(c)
    c.close()
    eq(code, ENHANCE_YOUR_CALM, "empty DATA frames: GOAWAY ENHANCE_YOUR_CALM")


def stuck_window():
    """Answers to a client whose windows never open: 50 streams wait, then
    the connection goes after send_timeout."""
    c = Conn(G, client_settings=[(S_INITIAL_WINDOW_SIZE, 0)])
    c.send(b"".join(headers(1 + 2 * i, req_fields(path="/stream?n=50")) for i in range(50)))
    code = goaway_code(c, 15)
    c.close()
    check(code in (-1, NO_ERROR), "a window that never opens: closed quietly (%d)" % code)


def stuck_window_with_pings():
    """A window that never opens, while the client keeps the connection
    lively with PINGs: the answer's own clock still runs out."""
    c = Conn(G, client_settings=[(S_INITIAL_WINDOW_SIZE, 0)])
    c.send(headers(1, req_fields(path="/greet/stuck")))
    code = None
    for i in range(40):
        c.send(ping(b"lively%02d" % i))
        seen, f = c.frames_until(lambda f: f[0] in (PING, GOAWAY))
        if f is None or f[0] == GOAWAY:
            code = NO_ERROR if f is None else struct.unpack(">I", f[3][4:8])[0]
            break
        time.sleep(0.25)  # livelier than send_timeout
    c.close()
    eq(code, NO_ERROR, "a window that never opens, with PINGs: closed with NO_ERROR")


def endless_body():
    """Bodies that never end: 408 after body_timeout."""
    c = Conn(G)
    c.send(b"".join(headers(1 + 2 * i, req_fields("POST", "/echo"), end_stream=False) +
                    data(1 + 2 * i, b"p" * 1000, end=False) for i in range(5)))
    status, _, _ = c.answer(1, "a body that never ends", timeout=15)
    eq(status, 408, "a body that never ends: 408")
    c.close()


def stalled_beside_busy():
    """A body that stops coming times out on its own, while other streams
    of the connection keep it busy (each stream's last DATA counts)."""
    c = Conn(G)
    c.send(headers(1, req_fields("POST", "/echo"), end_stream=False) +
           data(1, b"p" * 100, end=False))
    stalled = None
    for sid in range(3, 83, 2):
        c.send(headers(sid, req_fields(path="/greet/busy")))
        while True:
            f = c.read(10)
            if f is None:
                fail("closed while busy")
            if f[2] == 1 and f[0] == HEADERS:
                stalled = decode_block(f[3], f[1])
            if f[2] == sid and f[1] & END_STREAM:
                break
        if stalled:
            break
        time.sleep(0.2)  # busier than body_timeout: the connection is never silent that long
    eq(stalled, [(":status", "408")], "the stalled body beside a busy stream: 408")
    c.close()


def serve(cases):
    """Run (what, attack, keyword arguments of flat) on one fresh gale."""
    global G
    with gale() as G:
        for what, attack, kw in cases:
            flat(what, attack, **kw)


def test_resets_and_floods():
    serve([("rapid reset", rapid_reset, {"rounds": 10}),
           ("CONTINUATION flood", continuation_flood, {}),
           ("one endless field in CONTINUATIONs", continuation_one_big_field, {"rounds": 5}),
           ("SETTINGS flood", settings_flood, {"rounds": 5}),
           ("PING flood", ping_flood, {"rounds": 5}),
           ("empty DATA flood", empty_data_flood, {"rounds": 10})])


def test_header_bombs():
    serve([("HPACK bomb", hpack_bomb, {"rounds": 10}),
           ("oversized header lists", oversized_list, {})])


def test_stalls():
    serve([("a window that never opens", stuck_window, {"warm": 1, "rounds": 2}),
           ("a window that never opens, with PINGs", stuck_window_with_pings,
            {"warm": 1, "rounds": 1}),
           ("a body that never ends", endless_body, {"warm": 1, "rounds": 2}),
           ("a body that stalls beside busy streams", stalled_beside_busy,
            {"warm": 1, "rounds": 1})])


if __name__ == "__main__":
    main()

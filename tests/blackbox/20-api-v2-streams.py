#!/usr/bin/env python3
"""20-api-v2-streams: part B of module API 2, through the real server and
tests/modules/apiv2b.so: per-route settings, the module's timers (once,
periodic, cancelled inside their callback, no burst after a slow call,
freed at shutdown), gale_response_flush_then (a large answer streamed piece
by piece to a slow reader in bounded memory; never called after the client
left), streamed request bodies (data_received: a 50 MB upload hashed piece by
piece while the worker's RSS stays low, chunked and Content-Length, 100
Continue after prepare, XSRF and authentication before any piece, errors,
max_body_size) and the WebSocket extras (check_origin; path, captures and user
kept for the socket's life, read with the npm `ws` client)."""

import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (REPO, Gale, asan_build, check, eq, fail, main, module_path, node,  # noqa: E402
                      node_module, wait_for)

MiB = 1024 * 1024
CLIENT_JS = os.path.join(REPO, "tests", "node", "ws-client.js")

CONF = """
workers = 1;
access_log = "off";
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
limits = { max_body_size = %(max_body)d; };
websocket = { origins = ["https://listed.example"]; };
modules = (
  { path = "@TESTMODULES@/apiv2b.so";
    routes = (
      { path = "/settings/a"; handler = "settings";
        settings = { greeting = "hi"; n = 3; ratio = 0.5; on = true; list = [1, 2];
                     inner = { x = "y"; }; }; },
      { path = "/settings/b"; handler = "settings"; },
      { path = "/timers"; handler = "timers"; },
      { path = "/stream"; handler = "stream"; },
      { path = "/flushed"; handler = "flushed"; },
      { path = "/upload"; handler = "upload"; },
      { path = "/private"; handler = "upload"; authenticated = true; },
      { path = "/token"; handler = "token"; },
      { path = "/stats"; handler = "stats"; },
      { path = "/ws/([a-z]+)(?:/(x))?/([0-9]+)"; handler = "wsinfo"; websocket = true; } ); } );
%(extra)s
"""


def apiv2b(max_body=64 * MiB, extra=""):
    module_path("apiv2b")  # skips when the test module was not built
    return Gale(conf=CONF % {"max_body": max_body, "extra": extra})


def get_json(g, path, headers=None):
    status, _, body = g.get(path, headers=headers)
    eq(status, 200, "GET %s (%r)" % (path, body[:200]))
    return json.loads(body)


def stats(g):
    return get_json(g, "/stats")


def rss_kib(pid):
    """VmRSS of a process in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    fail("no VmRSS for %d" % pid)


def head(method, target, headers=()):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: x"]
    lines += ["%s: %s" % h for h in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def blocks(n, size=MiB):
    """n distinct blocks of size bytes (each starts with its index)."""
    base = os.urandom(size)
    for i in range(n):
        yield struct.pack(">I", i) + base[4:]


def send_quietly(sock, data):
    """Send data, ignoring a server that stopped reading and closed."""
    try:
        sock.sendall(data)
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- route settings


def test_route_settings_reach_the_handler():
    with apiv2b() as g:
        eq(get_json(g, "/settings/a"),
           {"greeting": "hi", "n": 3, "ratio": 0.5, "on": True, "list": [1, 2],
            "inner": {"x": "y"}}, "the route's settings")
        eq(get_json(g, "/settings/b"), {}, "a route without settings: an empty object")


# ---------------------------------------------------------------- timers


def test_timers_once_periodic_cancel():
    with apiv2b() as g:
        t = wait_for(lambda: (lambda t: t if t["overrun_calls"] >= 12 else None)(
            get_json(g, "/timers")), 10.0, 0.1)
        check(t, "the periodic timer did not make its 12 calls: %r" % get_json(g, "/timers"))
        eq(t["once"], 1, "the once-timer ran once")
        eq(t["cancelled"], 0, "a cancelled timer never runs")
        eq(t["self_once"], 1, "a once-timer that cancels itself inside its call")
        eq(t["self_periodic"], 3, "a periodic timer that cancels itself on its 3rd call")
        check(t["bad_args_refused"], "negative, NaN or zero times and NULL callbacks are refused")
        time.sleep(0.3)
        t2 = get_json(g, "/timers")
        eq((t2["once"], t2["self_periodic"], t2["overrun_calls"]), (1, 3, 12),
           "nothing runs after its end or cancel")


def test_periodic_skips_what_a_slow_call_ran_past():
    """Every 50 ms; the third call blocks 500 ms: the ten times it ran past are
    skipped, not made up in a burst, and the rhythm goes on."""
    with apiv2b() as g:
        t = wait_for(lambda: (lambda t: t if t["overrun_calls"] >= 12 else None)(
            get_json(g, "/timers")), 10.0, 0.1)
        check(t, "no 12 calls")
        calls = t["overrun"]
        slow_end = calls[2][1]
        check(calls[2][1] - calls[2][0] >= 0.45, "the third call was slow: %r" % calls[2])
        burst = [s for s, _ in calls[3:] if s - slow_end < 0.1]
        check(len(burst) <= 2, "calls right after the slow one (a burst): %r" % calls)
        # On time every 50 ms: a call the loop ran late (a busy machine) comes
        # closer to the next one, which keeps the schedule (89 ms then 4.6 ms
        # were seen under ASan on a loaded machine), but calls never come
        # back to back as in a burst, nor more often than the schedule has.
        gaps = [calls[i][0] - calls[i - 1][0] for i in range(4, len(calls))]
        short = [i for i, gap in enumerate(gaps) if gap < 0.010]
        check(all(b - a > 1 for a, b in zip(short, short[1:])),
              "the rhythm after it: calls back to back (a burst): gaps %r" % gaps)
        span = calls[-1][0] - calls[3][0]
        check(len(gaps) <= span / 0.05 + 1,
              "the rhythm after it: more calls than every 50 ms: gaps %r" % gaps)
        check(all(calls[i][0] - calls[i - 1][0] >= 0.010 for i in (1, 2)),
              "the rhythm before it: %r" % calls[:3])


def test_pending_timers_freed_at_shutdown():
    with apiv2b() as g:
        get_json(g, "/timers")
        g.signal(signal.SIGTERM)
        check(g.wait(10) is not None, "gale stopped")
        log = g.log()
        g.stop()  # checks the exit: no crash, no sanitizer report (a leak would be one)
        check("apiv2b: shutdown, a pending timer cancelled" in log,
              "the shutdown hook could still cancel a pending timer: %s" % log[-2000:])


# ---------------------------------------------------------------- flush_then


def dechunk(data):
    """The body of a chunked answer in data (bytes after the head), in O(n)."""
    parts, pos, mv = [], 0, memoryview(data)
    while True:
        eol = data.index(b"\r\n", pos)
        size = int(data[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            return b"".join(parts)
        parts.append(mv[pos:pos + size])
        pos += size + 2


def expected_stream(size, piece):
    pattern = bytes(j & 0xff for j in range(piece))
    out, i, left = [], 0, size
    while left > 0:
        n = min(piece, left)
        p = pattern[:n]
        p = struct.pack(">I", i)[:n] + p[4:] if n >= 4 else struct.pack(">I", i)[:n]
        out.append(p)
        left -= n
        i += 1
    return b"".join(out)


def test_flush_then_streams_to_a_slow_reader_in_bounded_memory():
    size, piece = 16 * MiB, 64 * 1024
    with apiv2b() as g:
        (pid,) = g.workers()
        get_json(g, "/stats")
        base = rss_kib(pid)
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        s.settimeout(20)
        s.connect(("127.0.0.1", g.port))
        s.sendall(head("GET", "/stream?size=%d&piece=%d" % (size, piece)))
        data, peak, n = bytearray(), base, 0
        while not data.endswith(b"\r\n0\r\n\r\n"):
            b = s.recv(16384)
            if not b:
                fail("closed after %d bytes" % len(data))
            data += b
            n += 1
            if n % 16 == 0:
                peak = max(peak, rss_kib(pid))
                time.sleep(0.002)  # a slow reader
        s.close()
        i = data.index(b"\r\n\r\n")
        check(b"transfer-encoding: chunked" in bytes(data[:i]).lower(), "a chunked answer")
        body = dechunk(bytes(data[i + 4:]))
        eq(len(body), size, "bytes received")
        check(hashlib.sha256(body).digest() == hashlib.sha256(expected_stream(size, piece)).digest(),
              "every piece arrived, in order")
        grew = (peak - base) / 1024.0
        # ASan's quarantine keeps freed memory: the bound means nothing there
        check(grew < 6 or asan_build(),
              "the worker's RSS grew by %.1f MiB for a %d MiB answer" % (grew, size // MiB))
        st = stats(g)
        eq(st["inside"], 0, "flush_then never calls back inside the call")
        check(st["drained"] >= size // piece, "a callback per piece: %r" % st)


def test_flush_then_calls_back_from_the_loop():
    with apiv2b() as g:
        status, _, body = g.get("/flushed")
        eq((status, body), (200, b"first;later"), "the callback came later, from the loop")


def test_flush_then_not_called_after_the_client_left():
    with apiv2b() as g:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        s.settimeout(10)
        s.connect(("127.0.0.1", g.port))
        s.sendall(head("GET", "/stream?size=%d&piece=65536" % (256 * MiB)))
        got = 0
        while got < MiB:
            got += len(s.recv(65536))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # a reset: the client is gone
        st = wait_for(lambda: (lambda st: st if st["stream_aborts"] == 1 else None)(stats(g)), 5)
        check(st, "the module's abort callback ran: %r" % stats(g))
        time.sleep(0.3)
        st = stats(g)
        eq(st["drained"], st["drained_at_abort"], "no flush_then callback after the client left")
        check(st["drained"] < 256 * 16, "the stream stopped early: %r" % st)


# ---------------------------------------------------------------- streamed request bodies


def test_streamed_upload_of_50_mb_is_never_held_whole():
    n = 50
    with apiv2b() as g:
        (pid,) = g.workers()
        get_json(g, "/stats")
        base = rss_kib(pid)
        c = g.conn(timeout=30)
        c.send(head("POST", "/upload?q=1", [("Content-Length", n * MiB)]))
        h, peak = hashlib.sha256(), base
        for blk in blocks(n):
            c.send(blk)
            h.update(blk)
            peak = max(peak, rss_kib(pid))
        r = c.read_response("POST", timeout=30)
        c.close()
        eq(r.status, 200, "POST (%r)" % r.body[:300])
        got = json.loads(r.body)
        eq(got["sha256"], h.hexdigest(), "sha256 of the body, hashed piece by piece")
        eq(got["bytes"], n * MiB, "bytes")
        check(got["pieces"] > n, "the body came in many pieces: %r" % got)
        eq((got["body_len"], got["body"]), (0, ""), "gale keeps none of it")
        eq(got["q"], "1", "query arguments are there")
        grew = (peak - base) / 1024.0
        check(grew < 16 or asan_build(),
              "the worker's RSS grew by %.1f MiB for a %d MiB body" % (grew, n))


def test_streamed_chunked_body_arrives_as_it_comes():
    with apiv2b() as g:
        c = g.conn(timeout=10)
        c.send(head("POST", "/upload", [("Transfer-Encoding", "chunked"),
                                        ("Expect", "100-continue")]))
        r = c.read_response("POST")
        eq(r.status, 100, "100 Continue once prepare has let the body come")
        eq(stats(g)["prepares"], 1, "prepare ran before any byte of the body")
        first = os.urandom(256 * 1024)
        c.send(b"%x\r\n" % len(first) + first + b"\r\n")
        st = wait_for(lambda: (lambda st: st if st["bytes_now"] >= len(first) else None)(stats(g)),
                      5)
        check(st, "data_received had the first chunk before the body's end: %r" % stats(g))
        eq(st["posts"], 0, "the method's callback waits for the end")
        rest = os.urandom(100000)
        c.send(b"%x\r\n" % len(rest) + rest + b"\r\n0\r\n\r\n")
        r = c.read_response("POST")
        eq(r.status, 200, "POST (%r)" % r.body[:300])
        got = json.loads(r.body)
        eq((got["sha256"], got["bytes"]),
           (hashlib.sha256(first + rest).hexdigest(), len(first) + len(rest)), "the whole body")
        # keep-alive: the next request on the same connection is served
        c.send(head("GET", "/settings/b"))
        eq(c.read_response().status, 200, "the connection goes on after a complete body")


def post_refused(g, target, size, headers=()):
    """POST size bytes (Content-Length) from a thread; the answer."""
    c = g.conn(timeout=10)
    c.send(head("POST", target, [("Content-Length", size)] + list(headers)))
    sender = threading.Thread(target=send_quietly, args=(c.sock, os.urandom(size)), daemon=True)
    sender.start()
    r = c.read_response("POST")
    closed = c.wait_closed(5)
    sender.join(10)
    c.close()
    return r, closed


def test_data_received_error_answers_500_and_stops_reading():
    with apiv2b() as g:
        r, closed = post_refused(g, "/upload?fail=%d" % MiB, 8 * MiB)
        eq(r.status, 500, "data_received failed (%r)" % r.body)
        eq(r.headers.get("Connection"), "close", "the rest of the body is not read")
        check(closed, "gale closes the connection")
        st = stats(g)
        eq(st["posts"], 0, "the method's callback did not run")
        check("handler upload failed" in g.log(), "the failure is logged")


def test_data_received_may_answer_itself():
    with apiv2b() as g:
        r, closed = post_refused(g, "/upload?answer=65536", 4 * MiB)
        eq(r.status, 422, "the handler's own answer (%r)" % r.body)
        check(closed, "gale closes the connection")
        eq(stats(g)["posts"], 0, "the method's callback did not run")


def test_max_body_size_still_applies():
    with apiv2b(max_body=MiB) as g:
        r, _ = post_refused(g, "/upload", 2 * MiB)
        eq(r.status, 413, "Content-Length above max_body_size")
        eq(stats(g)["prepares"], 0, "refused before prepare")
        c = g.conn(timeout=10)
        c.send(head("POST", "/upload", [("Transfer-Encoding", "chunked")]))
        piece = os.urandom(256 * 1024)
        for _ in range(8):
            if not send_quietly(c.sock, b"%x\r\n" % len(piece) + piece + b"\r\n"):
                break
        r = c.read_response("POST")
        c.close()
        eq(r.status, 413, "a chunked body above max_body_size")
        st = stats(g)
        eq(st["posts"], 0, "the method's callback did not run")
        check(st["data_calls"] > 0, "the pieces below the limit were streamed: %r" % st)


def test_client_leaving_mid_body_is_told():
    with apiv2b() as g:
        c = g.conn(timeout=10)
        c.send(head("POST", "/upload", [("Content-Length", 8 * MiB)]))
        c.send(os.urandom(MiB))
        check(wait_for(lambda: stats(g)["bytes_now"] >= MiB, 5), "the first MiB was streamed")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
        st = wait_for(lambda: (lambda st: st if st["upload_aborts"] == 1 else None)(stats(g)), 5)
        check(st, "the abort callback ran: %r" % stats(g))
        eq(st["posts"], 0, "the method's callback never runs")
        # on_finish ran for the aborted upload too (its bytes are no longer counted)
        eq(st["bytes_now"], 0, "on_finish ran: %r" % st)


def test_xsrf_and_authentication_run_before_any_piece():
    with apiv2b(extra="xsrf_cookies = true;") as g:
        r, _ = post_refused(g, "/upload", 64 * 1024)
        eq(r.status, 403, "no XSRF token (%r)" % r.body)
        st = stats(g)
        eq((st["prepares"], st["data_calls"]), (0, 0), "refused before prepare and the body")
        status, h, token = g.get("/token")
        eq(status, 200, "GET /token")
        cookie = h.get("Set-Cookie").split(";")[0]
        xsrf = [("Cookie", cookie), ("X-XSRFToken", token.decode())]
        r, _ = post_refused(g, "/private", 64 * 1024, xsrf)
        eq(r.status, 403, "no user on an authenticated route (%r)" % r.body)
        st = stats(g)
        eq((st["prepares"], st["data_calls"]), (0, 0), "refused before prepare and the body")
        body = os.urandom(300000)
        status, _, out = g.request("POST", "/private", body,
                                   headers=dict(xsrf + [("X-User", "bob")]))
        eq(status, 200, "token and user (%r)" % out[:300])
        got = json.loads(out)
        eq((got["sha256"], got["user"]), (hashlib.sha256(body).hexdigest(), "bob"), "the upload")


# ---------------------------------------------------------------- WebSocket extras


def run_ws(url, steps, options=None, timeout=15.0):
    job = {"url": url, "steps": steps, "options": options or {}, "timeout": int(timeout * 1000)}
    try:
        rc, out, err = node(CLIENT_JS, timeout=timeout + 10, stdin=json.dumps(job) + "\n")
    except subprocess.TimeoutExpired:
        fail("ws-client.js did not finish")
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    bad = [e for e in events if e["ev"] == "fail"]
    check(rc == 0 and not bad, "ws-client.js failed (rc %d): %r %s" % (rc, events, err[-1000:]))
    return events


def ws_info(g, path, options=None):
    """The info message of a socket on path, or the refusal's status."""
    events = run_ws("ws://127.0.0.1:%d%s" % (g.port, path),
                    [{"send": "info"}, {"expect": "message", "timeout": 5000},
                     {"close": 1000}, {"expect": "close", "timeout": 5000}], options)
    refused = [e for e in events if e["ev"] == "unexpected-response"]
    if refused:
        return refused[0]["status"]
    msgs = [e for e in events if e["ev"] == "message"]
    check(msgs, "no info message: %r" % events)
    return json.loads(msgs[0]["text"])


def test_ws_check_origin_decides_instead_of_the_config():
    node_module("ws")
    with apiv2b() as g:
        eq(ws_info(g, "/ws/abc/1", {"origin": "https://listed.example"}), 403,
           "an origin of the config's list, refused by check_origin")
        check(isinstance(ws_info(g, "/ws/abc/1", {"origin": "https://good.example"}), dict),
              "an origin check_origin allows")
        check(isinstance(ws_info(g, "/ws/abc/1"), dict), "no Origin: check_origin allows it")


def test_ws_keeps_path_captures_and_user():
    node_module("ws")
    with apiv2b() as g:
        eq(ws_info(g, "/ws/abc/x/7", {"headers": {"X-User": "carol"}}),
           {"path": "/ws/abc/x/7", "count": 3, "caps": ["abc", "x", "7", None], "user": "carol"},
           "read after open, from the socket")
        eq(ws_info(g, "/ws/def/42"),
           {"path": "/ws/def/42", "count": 3, "caps": ["def", None, "42", None], "user": None},
           "a group that took no part, and no user")


if __name__ == "__main__":
    main()

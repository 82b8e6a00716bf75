#!/usr/bin/env python3
"""27-h2: HTTP/2 with real clients (curl, nghttp, h2load) and raw frames
(tests/blackbox/h2frames.py): h2c with prior knowledge on a plain listener
that asks for it, h2 by ALPN on TLS (and tls.http2 = false turning it off);
hello routes, a POST body, a streamed answer, flow control with a window the
client opens late; GOAWAY on stop; hardening (rapid reset, oversized header
lists, invalid pseudo-headers, connection-specific headers, a body that
never ends)."""

import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import Gale, Skip, check, eq, free_port, main, make_conf, wait_for  # noqa: E402

from h2frames import (ACK, CONTINUATION, DATA, ENHANCE_YOUR_CALM, GOAWAY, HEADERS,  # noqa: E402
                      NO_ERROR, PING, PROTOCOL_ERROR, S_INITIAL_WINDOW_SIZE,
                      S_MAX_CONCURRENT_STREAMS, Conn, block, data, frame, headers, ping,
                      req_fields, rst, self_signed, settings, tls_folder, tls_listen)


def need(tool):
    if not shutil.which(tool):
        raise Skip("%s not found" % tool)


def h2c_conf(port, http2="cleartext = true;", limits=None, **kw):
    kw.setdefault("access_log", "off")
    text = make_conf(port, workers=1, limits=limits, **kw)
    entry = '  { address = "127.0.0.1"; port = %d; }' % port
    check(entry in text, "make_conf changed its listen format")
    return text.replace(entry, '  { address = "127.0.0.1"; port = %d; http2 = { %s }; }'
                        % (port, http2))


def curl(g, path, *args, tls=False):
    url = "%s://127.0.0.1:%d%s" % ("https" if tls else "http", g.port, path)
    cmd = ["curl", "-sS", "--max-time", "20", "-o", "-", "-w", "\n%{http_version} %{http_code}"]
    cmd += ["-k", "--http2"] if tls else ["--http2-prior-knowledge"]
    p = subprocess.run(cmd + list(args) + [url], capture_output=True, timeout=30)
    check(p.returncode == 0, "curl %s failed: %s" % (path, p.stderr.decode(errors="replace")))
    body, _, status = p.stdout.rpartition(b"\n")
    return status.decode(), body


# ---------------------------------------------------------------- real clients


def test_h2c_prior_knowledge_curl():
    need("curl")
    with Gale(conf=h2c_conf(0, access_log="stderr").replace("port = 0", "port = @PORT@")) as g:
        for path, want in (("/", b"Hello, world"), ("/greet/ana", b"Hello, ana")):
            status, body = curl(g, path)
            eq(status, "2 200", "status of " + path)
            check(want in body, "%s: %r" % (path, body))
        status, body = curl(g, "/echo", "--data-binary", "x" * 100000)
        eq(status, "2 200", "POST status")
        check(body.count(b"x") == 100000, "the POST body came back whole: %d" % body.count(b"x"))
        status, body = curl(g, "/stream?n=5")
        eq(status, "2 200", "stream status")
        eq(body.decode().split("\n")[:5], ["chunk %d" % i for i in range(1, 6)], "stream")
        status, body = curl(g, "/nowhere")
        eq(status, "2 404", "404 over h2")
        status, body = curl(g, "/", "-I")
        eq(status, "2 200", "HEAD")
        # the same listener still speaks HTTP/1.1 to a client without the preface
        p = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_version}",
                            "http://127.0.0.1:%d/" % g.port], capture_output=True, timeout=30)
        eq(p.stdout, b"1.1", "HTTP/1.1 beside h2c")
        check(wait_for(lambda: '"GET /greet/ana HTTP/2.0" 200' in g.log(), 5),
              "the access log says HTTP/2.0: %s" % g.log_tail())


def test_plain_listener_without_h2c_stays_http1():
    need("curl")
    with Gale(access_log="off", workers=1) as g:
        p = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "--max-time", "10",
                            "http://127.0.0.1:%d/" % g.port], capture_output=True, timeout=30)
        check(p.returncode != 0, "h2c is off by default: %r" % p.stdout)


def test_alpn_h2_over_tls_and_off_switch():
    need("curl")
    need("openssl")
    folder, cert, key = tls_folder("gale-h2-")
    port = free_port()
    for on in (True, False):
        text = tls_listen(make_conf(port, workers=1, access_log="off"), port, cert, key,
                          "" if on else " http2 = false;")
        with Gale(conf=text, port=port) as g:
            status, body = curl(g, "/greet/tls", tls=True)
            eq(status, ("2" if on else "1.1") + " 200", "ALPN (http2 %s)" % on)
            check(b"Hello, tls" in body, repr(body))
            if on:
                status, body = curl(g, "/echo", "--data-binary", "y" * 70000, tls=True)
                check(body.count(b"y") == 70000, "TLS POST body")
    shutil.rmtree(folder, ignore_errors=True)


def test_nghttp_many_streams_and_h2load():
    need("nghttp")
    need("h2load")
    with Gale(conf=h2c_conf(0).replace("port = 0", "port = @PORT@")) as g:
        url = "http://127.0.0.1:%d/" % g.port
        p = subprocess.run(["nghttp", "-n", "-s", "-m", "20", url], capture_output=True,
                           timeout=60, text=True)
        check(p.returncode == 0, "nghttp: %s %s" % (p.stdout, p.stderr))
        p = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "16", url],
                           capture_output=True, timeout=120, text=True)
        check(p.returncode == 0, "h2load: %s" % p.stderr)
        check("2000 succeeded, 0 failed, 0 errored" in p.stdout, p.stdout[-800:])


# ---------------------------------------------------------------- raw frames


def h2c_gale(**kw):
    return Gale(conf=h2c_conf(0, **kw).replace("port = 0", "port = @PORT@"))


def test_raw_streams_and_flow_control():
    with h2c_gale() as g:
        # the client's window is 1 byte: the answer waits, then flows as it opens
        c = Conn(g, client_settings=[(S_INITIAL_WINDOW_SIZE, 1)])
        c.send(headers(1, req_fields(path="/stream?n=3")))
        seen, f = c.frames_until(lambda f: f[0] == DATA, 3)
        got = f[3] if f else b""
        check(len(got) <= 1, "the stream window held the answer back: %r" % got)
        c.send(settings((S_INITIAL_WINDOW_SIZE, 65535)))
        _, _, body = c.answer(1, "after the window opened")
        head = [c.decode(x[3], x[1]) for x in seen if x[0] == HEADERS and x[2] == 1]
        eq(head and dict(head[0]).get(":status"), "200", "status after the window opened")
        eq(got + body, b"chunk 1\nchunk 2\nchunk 3\n", "body after the window opened")
        # several streams at once on one connection
        names = ["abcdefghij"[:i + 1] for i in range(10)]
        sids = list(range(3, 3 + 2 * len(names), 2))
        for n, sid in zip(names, sids):
            c.send(headers(sid, req_fields(path="/greet/" + n)))
        got = c.answers(sids, "ten streams")
        for n, sid in zip(names, sids):
            eq((got[sid][0], got[sid][2]), (200, b"Hello, " + n.encode()), "stream %d" % sid)
        c.close()


FEATURES = """
workers = 1;
access_log = "off";
cookie_secret = "0123456789abcdef0123456789abcdef";
xsrf_cookies = true;
listen = ( { address = "127.0.0.1"; port = @PORT@; http2 = { cleartext = true; }; } );
static = ( { prefix = "/static/"; path = "%s"; } );
modules = ( { path = "@HELLO@";
              routes = ( { path = "/greet/([a-z]+)"; handler = "greet"; },
                         { path = "/visits"; handler = "visits"; },
                         { path = "/note"; handler = "note"; } ); } );
"""


def test_features_over_h2():
    """Cookies, XSRF, ETag/304, a static file with a range and compression."""
    www = tempfile.mkdtemp(prefix="gale-h2-www-")
    os.chmod(www, 0o755)
    text = b"".join(b"line %04d of a static file\n" % i for i in range(400))
    with open(os.path.join(www, "a.txt"), "wb") as f:
        f.write(text)
    os.chmod(os.path.join(www, "a.txt"), 0o644)
    try:
        with Gale(conf=FEATURES % www) as g:
            c = Conn(g, full_heads=True)
            sids = iter(range(1, 200, 2))

            def request(method, path, extra=(), body=None):
                return c.request(next(sids), method, path, extra, body)

            status, h, body = request("GET", "/visits")
            eq((status, body), (200, b"visits: 1\n"), "first visit")
            cookie = h["set-cookie"].split(";")[0]
            status, h, body = request("GET", "/visits", [("cookie", "a=b"), ("cookie", cookie)])
            eq((status, body), (200, b"visits: 2\n"), "the signed cookie came back (split)")
            status, h, page = request("GET", "/note")
            xsrf = h["set-cookie"].split(";")[0]
            token = page.split(b'name="_xsrf" value="')[1].split(b'"')[0]
            form = [("content-type", "application/x-www-form-urlencoded")]
            status, _, _ = request("POST", "/note", form, b"text=hi")
            eq(status, 403, "POST without the XSRF token")
            status, _, body = request("POST", "/note", form + [("cookie", xsrf)],
                                      b"text=hi&_xsrf=" + token)
            eq((status, body), (200, b"saved: hi\n"), "POST with the token")
            status, h, body = request("GET", "/greet/abc")
            check("etag" in h, "an ETag: %r" % h)
            status, h2_, body = request("GET", "/greet/abc", [("if-none-match", h["etag"])])
            eq((status, body), (304, b""), "If-None-Match")
            status, h, body = request("GET", "/static/a.txt", [("range", "bytes=5-14")])
            eq((status, body, h.get("content-range")),
               (206, text[5:15], "bytes 5-14/%d" % len(text)), "a range of a static file")
            status, h, body = request("GET", "/static/a.txt")
            eq((status, body), (200, text), "a whole static file")
            status, h, body = request("GET", "/static/a.txt", [("accept-encoding", "gzip")])
            eq(h.get("content-encoding"), "gzip", "compressed over h2")
            import gzip
            eq(gzip.decompress(body), text, "the compressed body")
            c.close()
    finally:
        shutil.rmtree(www, ignore_errors=True)


STREAMS = """
workers = 1;
access_log = "off";
limits = { max_body_size = 104857600; };
listen = ( { address = "127.0.0.1"; port = @PORT@; http2 = { cleartext = true; }; } );
modules = ( { path = "@TESTMODULES@/apiv2b.so";
              routes = ( { path = "/stream"; handler = "stream"; },
                         { path = "/flushed"; handler = "flushed"; },
                         { path = "/upload"; handler = "upload"; } ); } );
"""


def test_streamed_bodies_both_ways():
    """A body streamed to data_received (8 MiB through 64 KiB windows that open
    as the handler takes it), an answer written piece by piece from
    gale_response_flush_then, and its callback run after the write."""
    need("curl")
    import hashlib
    import json
    from galetest import module_path
    module_path("apiv2b")
    with Gale(conf=STREAMS) as g:
        body = os.urandom(1024 * 1024) * 8
        src = os.path.join(g.tmp, "body.bin")
        with open(src, "wb") as f:
            f.write(body)
        status, out = curl(g, "/upload", "--data-binary", "@" + src)
        eq(status, "2 200", "streamed upload")
        got = json.loads(out)
        eq((got.get("bytes"), got.get("sha256")), (len(body), hashlib.sha256(body).hexdigest()),
           "the handler saw the whole body")
        status, out = curl(g, "/stream?size=300000&piece=16384")
        eq((status, len(out)), ("2 200", 300000), "an answer flushed piece by piece")
        status, out = curl(g, "/flushed")
        eq((status, out), ("2 200", b"first;later"), "flush_then runs after the write")


def test_static_file_over_tls_h2():
    """A 3 MiB static file and a range of it over h2 by ALPN (file pieces
    through the TLS writer)."""
    need("curl")
    www = tempfile.mkdtemp(prefix="gale-h2-www-")
    os.chmod(www, 0o755)
    try:
        need("openssl")
        cert, key = self_signed(www)
        data = os.urandom(3 * 1024 * 1024 + 17)
        with open(os.path.join(www, "big.bin"), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(www, "big.bin"), 0o644)
        conf = (FEATURES % www).replace("http2 = { cleartext = true; };",
                                        'tls = { certificate = "%s"; key = "%s"; };' % (cert, key))
        with Gale(conf=conf) as g:
            status, body = curl(g, "/static/big.bin", tls=True)
            eq((status, len(body), body == data), ("2 200", len(data), True), "the whole file")
            status, body = curl(g, "/static/big.bin", "-r", "1000-2999999", tls=True)
            eq((status, body == data[1000:3000000]), ("2 206", True), "a range of it")
    finally:
        shutil.rmtree(www, ignore_errors=True)


def test_raw_invalid_requests():
    with h2c_gale() as g:
        c = Conn(g)
        # a connection-specific field: a malformed request, the stream is reset
        c.send(headers(1, req_fields(extra=[("connection", "keep-alive")])))
        c.expect_reset(1, PROTOCOL_ERROR, "connection header")
        # an unknown pseudo-header
        c.send(headers(3, req_fields(extra=[(":bogus", "x")])))
        c.expect_reset(3, PROTOCOL_ERROR, "unknown pseudo-header")
        # uppercase field name
        c.send(headers(5, req_fields(extra=[("X-Upper", "x")])))
        c.expect_reset(5, PROTOCOL_ERROR, "uppercase field name")
        # the connection still serves
        status, _, body = c.request(7, path="/")
        eq(status, 200, "after the errors")
        c.close()


def test_max_concurrent_streams_and_early_answers():
    with h2c_gale(http2="cleartext = true; max_concurrent_streams = 2;",
                  limits={"max_body_size": 1000}) as g:
        c = Conn(g)
        eq(c.server_settings.get(S_MAX_CONCURRENT_STREAMS), 2, "SETTINGS_MAX_CONCURRENT_STREAMS")
        # a third stream beyond the limit
        for sid in (1, 3, 5):
            c.send(headers(sid, req_fields(path="/slow")))
        # after the client acknowledged the limit, nghttp2 takes it as a
        # connection error (RFC 9113 5.1.2 allows that or REFUSED_STREAM)
        eq(c.goaway(), (PROTOCOL_ERROR, 3), "GOAWAY PROTOCOL_ERROR, the last stream taken")
        c.close()
        # a body above max_body_size: 413 before its end, then the stream is reset
        c = Conn(g)
        c.send(headers(1, req_fields("POST", "/echo"), end_stream=False) +
               data(1, b"z" * 2000, end=False))
        status, _, _ = c.answer(1, "a body too large")
        eq(status, 413, "a body too large")
        c.expect_reset(1, NO_ERROR, "then RST_STREAM NO_ERROR: the rest is not wanted")
        c.close()


def test_oversized_header_list():
    with h2c_gale(limits={"max_header_size": 4096}) as g:
        c = Conn(g)
        c.send(headers(1, req_fields(extra=[("x-big", "a" * 3000), ("x-big2", "b" * 3000)])))
        status, _, _ = c.answer(1, "an oversized header list")
        eq(status, 431, "an oversized header list")
        c.close()


def test_rapid_reset_goaway():
    with h2c_gale(http2="cleartext = true; max_resets = 50; reset_rate = 1;") as g:
        c = Conn(g)
        seen = None
        for sid in range(1, 400, 2):
            c.send(headers(sid, req_fields(path="/slow")) + rst(sid))
            # stop once the server speaks: frames sent to a closed socket
            # draw a TCP reset, which may drop its GOAWAY unread
            while seen is None and not c.closed and select.select([c.sock], [], [], 0)[0]:
                f = c.read()
                if f is None or f[0] == GOAWAY:
                    seen = f or ()
            if seen is not None or c.closed:
                break
        if seen:
            code = struct.unpack(">I", seen[3][4:8])[0]
        else:
            code, _ = c.goaway()
        eq(code, ENHANCE_YOUR_CALM, "GOAWAY after rapid resets")
        c.close()
        # the server is fine
        c = Conn(g)
        status, _, body = c.request(1, path="/")
        eq(status, 200, "a new connection is served")
        c.close()


def test_body_that_never_ends():
    with h2c_gale(limits={"body_timeout": 1.0}) as g:
        c = Conn(g)
        c.send(headers(1, req_fields("POST", "/echo"), end_stream=False) +
               data(1, b"partial", end=False))
        status, _, _ = c.answer(1, "a body that never ends", timeout=15)
        eq(status, 408, "a body that never ends")
        c.close()


def test_window_that_never_opens():
    with h2c_gale(limits={"send_timeout": 1.0}) as g:
        c = Conn(g, client_settings=[(S_INITIAL_WINDOW_SIZE, 0)])
        c.send(headers(1, req_fields(path="/greet/abc")))
        t0 = time.monotonic()
        code = c.closed_code(15)
        check(code in (-1, NO_ERROR), "closed with NO_ERROR: %r" % code)
        check(time.monotonic() - t0 < 14, "closed by send_timeout")
        c.close()
        c = Conn(g)
        eq(c.request(1, path="/greet/abc")[0], 200, "the server goes on")
        c.close()


def test_continuation_flood():
    with h2c_gale() as g:
        c = Conn(g)
        flood = [headers(1, end_headers=False)]
        flood += [frame(CONTINUATION, 0, 1, block([("x-flood-%d" % i, "v")]))
                  for i in range(2000)]
        c.send(b"".join(flood))  # the server may have closed already
        code = c.closed_code()
        check(code != NO_ERROR, "a CONTINUATION flood is an error, not a clean end: %r" % code)
        c.close()
        c = Conn(g)
        eq(c.request(1, path="/greet/abc")[0], 200, "the server goes on")
        c.close()


def test_empty_data_and_settings_floods():
    with h2c_gale() as g:
        c = Conn(g)
        c.send(headers(1, req_fields("POST", "/echo"), end_stream=False))
        c.send(data(1, b"", end=False) * 5000)
        eq(c.closed_code(), ENHANCE_YOUR_CALM, "empty DATA frames: ENHANCE_YOUR_CALM")
        c.close()
        c = Conn(g)
        c.send(settings(*[(0x4 + 0x100 * i, 1) for i in range(1, 60)]))  # unknown ids: many
        eq(c.closed_code(), ENHANCE_YOUR_CALM, "a SETTINGS frame with too many entries")
        c.close()
        c = Conn(g)
        eq(c.request(1, path="/greet/abc")[0], 200, "the server goes on")
        c.close()


def test_goaway_on_stop_lets_streams_finish():
    """The stop's GOAWAY in two steps: 2^31-1 and a PING, then, once the PING
    is answered, the last stream taken; streams in flight finish."""
    need("curl")
    with h2c_gale(grace_period=10) as g:
        # curl opens a new connection when told to; its stream in flight finishes
        p = subprocess.Popen(["curl", "-sS", "--max-time", "20", "--http2-prior-knowledge",
                              "http://127.0.0.1:%d/slow" % g.port], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        c = Conn(g)
        c.send(headers(1, req_fields(path="/slow")))
        c.send(ping(b"in-flow!"))
        c.frames_until(lambda f: f[0] == PING)  # the stream has arrived
        time.sleep(0.3)  # and curl's (a connection still in the listen queue would be cut)
        g.signal(signal.SIGQUIT)
        status, _, body = c.answer(1, "the stream in flight")
        eq((status, body), (200, b"slow"), "the stream in flight finished")
        goaways = []
        while True:
            f = c.read(15)
            if f is None:
                break
            if f[0] == PING and not f[1] & ACK:
                c.send(ping(f[3], ack=True))
            if f[0] == GOAWAY:
                goaways.append(struct.unpack(">II", f[3][:8]))
        eq(goaways, [(2 ** 31 - 1, 0), (1, 0)], "GOAWAY notice, then the last stream id")
        out, err = p.communicate(timeout=30)
        eq((p.returncode, out), (0, b"slow"), "curl's stream in flight finished (%r)" % err)
        c.close()
        eq(g.wait(15), 0, "gale stopped after its streams")


def test_reload_under_load_h2load():
    """20 reloads while h2load runs against a TLS listener, one run after the
    other: every run's requests all succeed. h2load never opens a second
    connection when told GOAWAY, so a busy connection is told only once it
    has been idle (or half the grace period has gone): its runs end first."""
    need("h2load")
    import re
    import threading
    need("openssl")
    folder, cert, key = tls_folder("gale-h2-")
    port = free_port()
    text = tls_listen(make_conf(port, workers=2, access_log="off", grace_period=10), port, cert,
                      key)
    summary = re.compile(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                         r"(\d+) failed, (\d+) errored, (\d+) timeout")
    runs, stop = [], []
    with Gale(conf=text, port=port) as g:
        url = "https://127.0.0.1:%d" % port

        def load():
            while not stop:
                p = subprocess.run(["h2load", "-n", "400", "-c", "4", "-m", "10", url + "/",
                                    url + "/slow?delay=0.05"],
                                   capture_output=True, text=True, timeout=60)
                m = summary.search(p.stdout)
                runs.append(m.groups() if m else p.stdout[-400:] + p.stderr[-400:])

        t = threading.Thread(target=load)
        t.start()
        try:
            check(wait_for(lambda: runs, 30), "h2load's first run")
            ws = g.wait_workers(2)
            for i in range(20):
                g.signal(signal.SIGHUP)
                ws = g.wait_workers(2, timeout=10, without=ws)
                check(ws, "new workers after reload %d" % (i + 1))
            n = len(runs)
            check(wait_for(lambda: len(runs) > n, 30), "a run after the last reload")
        finally:
            stop.append(1)
            t.join()
    shutil.rmtree(folder, ignore_errors=True)
    bad = [r for r in runs if r != ("400", "400", "400", "400", "0", "0", "0")]
    check(not bad, "h2load runs with errors over the reloads: %r" % bad)
    check(len(runs) >= 3, "h2load ran over the reloads: %d runs" % len(runs))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""06-reload: SIGHUP rereads the config and replaces the workers without losing
a request; an invalid config on SIGHUP keeps the old one serving."""

import os
import signal
import time

from galetest import (Gale, Load, append_line, check, eq, fail, main, module_path, req,
                      wait_for)


def body_of(g, path="/"):
    try:
        return g.get(path, timeout=5)[2]
    except Exception as e:
        return repr(e).encode()


def wait_body(g, want, timeout=10):
    got = wait_for(lambda: body_of(g) == want, timeout)
    if not got:
        fail("GET / did not answer %r within %ss (last %r); log:\n%s"
             % (want, timeout, body_of(g), g.log_tail()))


def wait_count(load, n, timeout):
    return wait_for(lambda: load.count() >= n, timeout)


def test_reload_under_load():
    """Three reloads (~3 s) while 3 threads open new connections and 3 reuse
    keep-alive connections: no request fails, every answer is one of the
    greetings, old workers exit and keep-alive clients move to the new ones."""
    with Gale(workers=2, greeting="v0", grace_period=20.0) as g:
        ws = g.wait_workers(2)
        master = g.pid
        greetings = [b"v0"]
        load = Load(g.port, fresh=3, keepalive=3, pause=0.01, max_seconds=30).start()
        try:
            check(wait_count(load, 30, 5), "no load before the first reload")
            for k in range(1, 4):
                gr = "v%d" % k
                g.write_conf(greeting=gr)
                g.signal(signal.SIGHUP)
                greetings.append(gr.encode())
                wait_body(g, gr.encode())
                ws = g.wait_workers(2, timeout=10, without=ws)  # the old ones exited
                n = load.count()
                check(wait_count(load, n + 30, 5), "load stalled after reload %d" % k)
                time.sleep(0.7)
            n = load.count()
            check(wait_count(load, n + 60, 5), "load stalled after the last reload")
        finally:
            load.stop()
        eq(g.pid, master, "master pid")
        check(g.running(), "master died")
        check(not load.errors, "%d requests failed during reloads: %r"
              % (len(load.errors), load.errors[:10]))
        bad = [r[:3] for r in load.results if r[1] != 200 or r[2] not in greetings]
        check(not bad, "bad answers during reloads: %r" % bad[:10])
        for t in ("keep0", "keep1", "keep2"):
            mine = [r for r in load.results if r[0] == t]
            check(mine, "thread %s made no request" % t)
            eq(mine[-1][2], greetings[-1], "last answer on keep-alive thread %s" % t)
        seen = set(r[2] for r in load.results)
        check(len(seen) >= 3, "the load saw only greetings %r" % seen)


def test_reload_inflight_request_completes():
    with Gale(workers=1, greeting="old", grace_period=20.0) as g:
        ws = g.wait_workers(1)
        with g.conn(timeout=15) as c:
            c.send(req("GET", "/slow?delay=2"))
            time.sleep(0.5)
            g.write_conf(greeting="new")
            g.signal(signal.SIGHUP)
            wait_body(g, b"new")
            r = c.read_response(timeout=15)
            eq((r.status, r.body), (200, b"slow"), "request in flight during the reload")
        g.wait_workers(1, timeout=10, without=ws)


def _check_refused(g, line_text, what, mention=None):
    """Write the current config plus line_text, SIGHUP: the old config keeps serving."""
    ws = g.wait_workers(2)
    master = g.pid
    text, line = append_line(g.conf_text, line_text)
    _refused(g, text, line, ws, master, what, mention)


def _refused(g, text, line, ws, master, what, mention=None):
    g.write_conf(text)
    start = len(g.log())
    g.signal(signal.SIGHUP)
    # the error names FILE:LINE (or FILE, for a module error) and what is wrong
    where = "%s:%d:" % (g.conf_path, line) if line else g.conf_path + ":"
    want = [where] + ([mention] if mention else [])
    if not wait_for(lambda: all(w in g.log()[start:] for w in want), 5):
        fail("%s: no error naming %s in the log after SIGHUP:\n%s"
             % (what, " and ".join(map(repr, want)), g.log_tail()))
    time.sleep(0.5)
    check(g.running(), "%s: master died" % what)
    eq(g.pid, master, "master pid")
    eq(g.workers(), ws, "%s: workers changed" % what)
    for _ in range(5):
        eq(body_of(g), b"good", "%s: GET / answers the old greeting" % what)


def test_reload_syntax_error_keeps_old():
    with Gale(workers=2, greeting="good") as g:
        _check_refused(g, "workers = = 3;", "syntax error")
        # the next valid reload still works
        g.write_conf(greeting="better")
        g.signal(signal.SIGHUP)
        wait_body(g, b"better")


def test_reload_unknown_setting_keeps_old():
    with Gale(workers=2, greeting="good") as g:
        _check_refused(g, "no_such_setting = 1;", "unknown setting", "no_such_setting")
        g.write_conf(greeting="better")
        g.signal(signal.SIGHUP)
        wait_body(g, b"better")


def test_reload_missing_module_keeps_old():
    with Gale(workers=2, greeting="good") as g:
        ws = g.wait_workers(2)
        text = g.write_conf(greeting="good", module="/nonexistent/gale/missing.so")
        _refused(g, text, None, ws, g.pid, "missing module", "/nonexistent/gale/missing.so")


def test_reload_changes_worker_count():
    with Gale(workers=2, greeting="a") as g:
        ws = g.wait_workers(2)
        g.write_conf(workers=3, greeting="b")
        g.signal(signal.SIGHUP)
        wait_body(g, b"b")
        g.wait_workers(3, timeout=10, without=ws)


def test_reload_twice_quickly():
    with Gale(workers=2, greeting="r0") as g:
        ws = g.wait_workers(2)
        g.write_conf(greeting="r1")
        g.signal(signal.SIGHUP)
        time.sleep(0.05)
        g.write_conf(greeting="r2")
        g.signal(signal.SIGHUP)
        wait_body(g, b"r2")
        g.wait_workers(2, timeout=10, without=ws)
        time.sleep(0.5)
        for _ in range(10):
            eq(body_of(g), b"r2", "GET / after two quick reloads")
        check(g.running(), "master died")

def test_reload_with_workers_that_cannot_start_keeps_old_logs():
    """The new config is valid but its workers cannot start (a module's init
    fails): the old workers go on serving, and the logs stay where the old
    config put them (new workers forked later write there, not to the
    dropped config's files)."""
    module_path("apiv2b")  # skips when the test modules were not built
    conf = """
workers = 1;
error_log = "stderr";
access_log = "@TMP@/%s";
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
modules = ( { path = "@TESTMODULES@/apiv2b.so"; %s
              routes = ( { path = "/settings"; handler = "settings"; } ); } );
"""
    with Gale(conf=conf % ("old.log", "")) as g:
        eq(g.get("/settings")[0], 200, "GET before the reload")
        g.write_conf(conf % ("new.log", "settings = { fail_init = true; };"))
        g.signal(signal.SIGHUP)
        check(wait_for(lambda: "reload failed" in g.log(), 15),
              "no 'reload failed':\n%s" % g.log_tail())
        old = os.path.join(g.tmp, "old.log")
        before = os.path.getsize(old)
        for w in g.workers():  # a worker forked after the failure
            os.kill(w, signal.SIGKILL)
        check(wait_for(lambda: g.get("/settings", timeout=2)[0] == 200, 10),
              "no worker answers after the failed reload:\n%s" % g.log_tail())
        check(wait_for(lambda: os.path.getsize(old) > before, 5),
              "the access line went elsewhere than old.log:\n%s" % g.log_tail())
        new = os.path.join(g.tmp, "new.log")
        check(not os.path.exists(new) or os.path.getsize(new) == 0,
              "lines in the dropped config's access log")



if __name__ == "__main__":
    main()

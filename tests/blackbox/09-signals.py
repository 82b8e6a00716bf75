#!/usr/bin/env python3
"""09-signals: SIGTERM and SIGINT stop fast with status 0; SIGQUIT stops
gracefully (requests in flight complete); SIGUSR1 reopens the access log."""

import os
import signal
import time

from galetest import Gale, check, eq, main, req, unit_capabilities, wait_for


def _fast_stop(sig):
    with Gale(workers=2, notify=True) as g:  # fully started: see test_sigterm_right_after_...
        g.wait_workers(2)
        eq(g.get("/")[0], 200, "GET /")
        t0 = time.monotonic()
        g.stop(sig, timeout=5, strict=True)  # fails on a timeout, a signal or a non-zero status
        check(time.monotonic() - t0 < 5, "stop took %.1fs" % (time.monotonic() - t0))


def test_sigterm_fast():
    _fast_stop(signal.SIGTERM)


def test_sigint_fast():
    _fast_stop(signal.SIGINT)


def test_sigterm_right_after_first_answer():
    """Once gale has answered a request it is up: SIGTERM then exits 0 (even
    if the master has not yet noticed, or told systemd, that it is ready)."""
    for workers in (1, 2):
        with Gale(workers=workers) as g:
            eq(g.get("/")[0], 200, "GET /")
            g.stop(signal.SIGTERM, timeout=5, strict=True)


def test_sigterm_does_not_wait_for_connections():
    """A fast stop with an idle keep-alive connection and an 8 s request in flight."""
    with Gale(workers=2, grace_period=30.0, notify=True) as g:
        g.wait_workers(2)
        idle = g.conn()
        idle.send(req("GET", "/"))
        eq(idle.read_response().status, 200, "keep-alive request")
        busy = g.conn()
        busy.send(req("GET", "/slow?delay=8"))
        time.sleep(0.3)
        try:
            g.stop(signal.SIGTERM, timeout=5, strict=True)
        finally:
            idle.close()
            busy.close()


def test_sigquit_graceful():
    with Gale(workers=2, grace_period=20.0, notify=True) as g:
        g.wait_workers(2)
        with g.conn(timeout=15) as c:
            c.send(req("GET", "/slow?delay=1.5"))
            time.sleep(0.5)  # accepted and waiting in the handler
            g.signal(signal.SIGQUIT)
            r = c.read_response(timeout=15)
            eq((r.status, r.body), (200, b"slow"), "request in flight at SIGQUIT")
        rc = g.wait(10)
        check(rc is not None, "master still running 10 s after SIGQUIT; log:\n%s" % g.log_tail())
        g.check_exit(rc, "SIGQUIT")


def test_sigquit_closes_idle_keepalive():
    """A graceful stop does not wait the whole grace period for idle connections."""
    with Gale(workers=2, grace_period=25.0, notify=True) as g:
        g.wait_workers(2)
        with g.conn(timeout=15) as c:
            c.send(req("GET", "/"))
            eq(c.read_response().status, 200, "keep-alive request")
            g.signal(signal.SIGQUIT)
            rc = g.wait(10)
            check(rc is not None, "SIGQUIT with an idle keep-alive connection: master still "
                  "running after 10 s (grace_period = 25)")
            g.check_exit(rc, "SIGQUIT")


def test_sigquit_slow_request_cut_at_grace_period():
    """A request longer than grace_period does not keep gale alive past it."""
    with Gale(workers=1, grace_period=1.0, notify=True) as g:
        g.wait_workers(1)
        with g.conn(timeout=15) as c:
            c.send(req("GET", "/slow?delay=9"))
            time.sleep(0.3)
            g.signal(signal.SIGQUIT)
            rc = g.wait(7)
            check(rc is not None, "master still running 7 s after SIGQUIT with grace_period = 1")
            eq(rc, 0, "exit status after SIGQUIT")


def _lines_with(path, needle):
    try:
        with open(path, errors="replace") as f:
            return [l for l in f if needle in l]
    except OSError:
        return []


def test_sigusr1_reopens_access_log():
    with Gale(workers=2, access_log="@TMP@/access.log") as g:
        log = os.path.join(g.tmp, "access.log")
        g.wait_workers(2)
        eq(g.get("/greet/before")[0], 200, "GET /greet/before")
        check(wait_for(lambda: _lines_with(log, "/greet/before"), 5),
              "access log has no line for /greet/before")
        os.rename(log, log + ".1")
        g.signal(signal.SIGUSR1)
        # every worker must reopen: ask until both have written to the new file
        n = 0

        def new_file_has_line():
            nonlocal n
            n += 1
            g.get("/greet/after")
            return _lines_with(log, "/greet/after")

        check(wait_for(new_file_has_line, 8, step=0.2),
              "no new access log with /greet/after after SIGUSR1; log:\n%s" % g.log_tail())
        time.sleep(1.5)  # buffered lines are written at least once a second
        for i in range(20):
            g.get("/greet/later")
        check(wait_for(lambda: len(_lines_with(log, "/greet/later")) == 20, 5),
              "the new access log has %d of 20 /greet/later lines (a worker still writes "
              "to the renamed file?)" % len(_lines_with(log, "/greet/later")))
        eq(_lines_with(log + ".1", "/greet/later"), [], "lines written to the renamed file")
        check(_lines_with(log + ".1", "/greet/before"), "the old line left the renamed file")
        check(g.running(), "master died")


def test_sigusr1_under_the_units_capabilities():
    """As under systemd/gale.service: root without CAP_CHOWN, CAP_DAC_OVERRIDE
    and CAP_FOWNER. The workers (nobody) can neither reopen root's new files
    nor be given them: the master hands them the descriptors. Both logs move
    to the new files, in every worker."""
    if os.geteuid() != 0:
        return  # workers keep the user gale runs as: reopening by name works
    with unit_capabilities():
        with Gale(workers=2, access_log="@TMP@/access.log", error_log="@TMP@/error.log",
                  notify=True) as g:
            _check_rotation(g)


def _check_rotation(g):
    log, err = os.path.join(g.tmp, "access.log"), os.path.join(g.tmp, "error.log")
    g.wait_workers(2)
    eq(g.get("/greet/before")[0], 200, "GET /greet/before")
    check(wait_for(lambda: _lines_with(log, "/greet/before"), 5), "no line for /greet/before")
    os.rename(log, log + ".1")
    os.rename(err, err + ".1")
    g.signal(signal.SIGUSR1)
    # each worker says so in the new error log, once it writes there
    check(wait_for(lambda: len(_lines_with(err, "logs reopened")) == 2, 8),
          "not every worker logs to the new error log; old one:\n%s"
          % "".join(_lines_with(err + ".1", "")[-10:]))
    for i in range(20):
        g.get("/greet/later")
    check(wait_for(lambda: len(_lines_with(log, "/greet/later")) == 20, 5),
          "the new access log has %d of 20 /greet/later lines"
          % len(_lines_with(log, "/greet/later")))
    eq(_lines_with(log + ".1", "/greet/later"), [], "lines written to the renamed access log")
    eq(_lines_with(err + ".1", "reopen"), [], "reopen errors in the old error log")
    check(g.running(), "master died")


def test_pid_file():
    with Gale(workers=1, extra='pid_file = "@TMP@/gale.pid";') as g:
        path = os.path.join(g.tmp, "gale.pid")
        check(wait_for(lambda: os.path.exists(path), 5), "no pid file")
        with open(path) as f:
            eq(f.read().strip(), str(g.pid), "pid file content")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""42-upgrade: replacing the binary without dropping a connection.

gale runs from a copy of the binary in the test's folder. First a failed
upgrade: the file is replaced by a program that exits at once, SIGUSR2, and
the old master serves on under its own pid file. Then the real thing, under
a load of fresh and keep-alive requests: the file is replaced by a new copy
(so the new master runs the new file, not the old one's deleted inode),
SIGUSR2 starts it with the sockets (the pid file of the old one becomes
NAME.oldbin), SIGQUIT drains the old master. Every request of the load is
answered, none refused or reset, the new master serves afterwards, the
metrics socket went along with the others.
"""

import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import galetest  # noqa: E402
from galetest import Gale, Load, alive, check, children, curl, eq, free_port, wait_for  # noqa: E402


def replace(path, source=None, text=None):
    """Put a new file at path by rename (a running binary cannot be written)."""
    tmp = path + ".new"
    if source:
        shutil.copy(source, tmp)
    else:
        with open(tmp, "w") as f:
            f.write(text)
    os.chmod(tmp, 0o755)
    os.rename(tmp, path)


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def wait_count(load, n, timeout):
    return wait_for(lambda: load.count() >= n, timeout)


def test_failed_then_real_upgrade():
    bindir = galetest.tempfile.mkdtemp(prefix="gale-bin-")
    os.chmod(bindir, 0o755)
    binary = os.path.join(bindir, "gale")
    shutil.copy(galetest.GALE_BIN, binary)
    saved, galetest.GALE_BIN = galetest.GALE_BIN, binary
    mport = free_port()
    new = 0
    try:
        g = Gale(workers=2, access_log="off", extra='pid_file = "@TMP@/gale.pid";\n'
                 'metrics = { port = %d; };' % mport)
    finally:
        galetest.GALE_BIN = saved
    try:
        with g:
            pidfile = os.path.join(g.tmp, "gale.pid")
            old = g.pid
            eq(read_pid(pidfile), old, "pid file")

            # a binary that cannot start: the old master keeps everything
            replace(binary, text="#!/bin/sh\nexit 3\n")
            g.signal(signal.SIGUSR2)
            check(wait_for(lambda: "goes on serving" in g.log(), 10),
                  "no word of the failed upgrade; log:\n%s" % g.log_tail())
            check(wait_for(lambda: read_pid(pidfile) == old, 5), "pid file not given back")
            check(not os.path.exists(pidfile + ".oldbin"), ".oldbin left behind")
            eq(g.get("/")[0], 200, "served after the failed upgrade")

            # the real one, under load
            replace(binary, source=saved)
            load = Load(g.port, fresh=2, keepalive=2, pause=0.01, max_seconds=30).start()
            try:
                check(wait_count(load, 20, 5), "no load before the upgrade")
                g.signal(signal.SIGUSR2)
                check(wait_for(lambda: read_pid(pidfile) not in (0, old), 10),
                      "no new pid file; log:\n%s" % g.log_tail())
                new = read_pid(pidfile)
                eq(read_pid(pidfile + ".oldbin"), old, "NAME.oldbin")
                check(wait_for(lambda: "master[%d]: gale" % new in g.log()
                               and len(children(new)) == 2, 10),
                      "the new master's workers are not ready; log:\n%s" % g.log_tail())
                n = load.count()
                check(wait_count(load, n + 20, 5), "load stalled with two masters")
                g.signal(signal.SIGQUIT)
                eq(g.wait(10), 0, "the old master's exit status")
                n = load.count()
                check(wait_count(load, n + 40, 5), "load stalled after the old master left")
            finally:
                load.stop()
            check(not load.errors, "%d requests failed during the upgrade: %r"
                  % (len(load.errors), load.errors[:10]))
            bad = [r[:3] for r in load.results if r[1] != 200]
            check(not bad, "bad answers during the upgrade: %r" % bad[:10])
            check(alive(new), "the new master is gone")
            eq(os.readlink("/proc/%d/exe" % new), binary, "the new master's binary")
            eq(read_pid(pidfile), new, "pid file after the upgrade")
            check(not os.path.exists(pidfile + ".oldbin"), ".oldbin left after QUIT")
            eq(g.get("/")[0], 200, "served by the new master")
            eq(curl("http://127.0.0.1:%d/metrics" % mport).status, 200, "metrics after the upgrade")
            stop_new(new)  # its log is the same file: checked for sanitizer reports at the end
            check(wait_for(lambda: "master[%d]: stopped" % new in g.log(), 5),
                  "the new master did not log its stop")
    finally:
        stop_new(new)
        shutil.rmtree(bindir, ignore_errors=True)


def stop_new(pid):
    """The new master is no child of ours: stop it and check its workers went."""
    if not pid or not alive(pid):
        return
    workers = children(pid)
    os.kill(pid, signal.SIGTERM)
    check(wait_for(lambda: not alive(pid) and not any(alive(w) for w in workers), 10),
          "the new master or its workers did not stop")


if __name__ == "__main__":
    galetest.main()

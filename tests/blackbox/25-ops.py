#!/usr/bin/env python3
"""25-ops: running gale in production: the buffered access log and its
formats, descriptor exhaustion, the listen backlog, log levels and journald
priorities, errors found by `gale -t`, and workers outliving a killed master."""

import os
import re
import signal
import socket
import time

from galetest import Gale, check, eq, main, wait_for

COMBINED = re.compile(r'^(\S+) - (\S+) \[(\d\d/\w\w\w/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
                      r'"([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$')


def read_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    check(data == "" or data.endswith("\n"), "access log ends mid-line: %r" % data[-80:])
    return data.splitlines()


def test_access_log_combined():
    """The combined format, as log tools read it: referer and user agent
    quoted, an absent one as "-"."""
    extra = 'access_log_format = "combined";'
    with Gale(workers=1, access_log="@TMP@/access.log", extra=extra) as g:
        log = os.path.join(g.tmp, "access.log")
        eq(g.get("/greet/ann", headers={"Referer": "http://r.example/x",
                                        "User-Agent": "tester/1.0"})[0], 200, "GET")
        g.get("/greet/bob")
        lines = wait_for(lambda: len(read_lines(log)) >= 2 and read_lines(log), 5)
        check(lines, "no access lines; log:\n%s" % g.log_tail())
        m = [COMBINED.match(l) for l in lines]
        check(all(m), "not the combined format: %r" % lines)
        eq(m[0].group(1), "127.0.0.1", "remote_addr")
        eq(m[0].group(4), "GET /greet/ann HTTP/1.1", "request")
        eq(m[0].group(5), "200", "status")
        eq(m[0].group(6), str(len("Hello, ann")), "body_bytes_sent")
        eq(m[0].group(7), "http://r.example/x", "referer")
        eq(m[0].group(8), "tester/1.0", "user agent")
        eq(m[1].group(7), "-", "absent referer")


def test_access_log_custom_format():
    extra = 'access_log_format = "$status $request_method $request_uri $host rt=$request_time";'
    with Gale(workers=1, access_log="@TMP@/access.log", extra=extra) as g:
        log = os.path.join(g.tmp, "access.log")
        g.get("/greet/cat?q=1")
        lines = wait_for(lambda: read_lines(log), 5)
        check(lines and re.match(r"^200 GET /greet/cat\?q=1 127\.0\.0\.1:\d+ rt=\d+\.\d{6}$",
                                 lines[0]), "custom format line: %r" % lines)


def test_access_log_bad_format_is_a_config_error():
    from galetest import make_conf, run_gale, free_port
    import tempfile
    d = tempfile.mkdtemp(prefix="gale-conf-")
    path = os.path.join(d, "gale.conf")
    text = make_conf(free_port(), workers=1) + 'access_log_format = "$status $nosuch";\n'
    with open(path, "w") as f:
        f.write(text)
    p = run_gale(["-t", "-c", path])
    eq(p.returncode, 1, "gale -t with an unknown variable")
    n = text.count("\n")
    check("%s:%d:" % (path, n) in p.stderr and "$nosuch" in p.stderr,
          "error does not name the line and variable: %r" % p.stderr)


def test_access_log_buffered_flushed_on_usr1_and_graceful_stop():
    """With a long flush interval, lines wait in the buffer; SIGUSR1 and a
    graceful stop write them: no line is lost."""
    extra = "access_log_flush = 3600.0;"
    with Gale(workers=2, access_log="@TMP@/access.log", extra=extra) as g:
        log = os.path.join(g.tmp, "access.log")
        for i in range(10):
            g.get("/greet/usrone")
        g.signal(signal.SIGUSR1)
        check(wait_for(lambda: sum("/greet/usrone" in l for l in read_lines(log)) == 10, 5),
              "SIGUSR1 did not write the buffered lines: %r" % read_lines(log))
        for i in range(20):
            g.get("/greet/quit")
        g.signal(signal.SIGQUIT)
        rc = g.wait(15)
        eq(rc, 0, "status after SIGQUIT")
        eq(sum("/greet/quit" in l for l in read_lines(log)), 20, "lines after a graceful stop")


def test_access_log_small_buffer_whole_lines():
    """A buffer smaller than a few lines is written as it fills, whole lines
    only, by two workers appending to one file."""
    extra = "access_log_buffer = 300; access_log_flush = 3600.0;"
    with Gale(workers=2, access_log="@TMP@/access.log", extra=extra) as g:
        log = os.path.join(g.tmp, "access.log")
        for i in range(60):
            g.get("/greet/" + "w" * (i % 7 + 1))
        lines = read_lines(log)
        check(len(lines) >= 30, "a full buffer was not written: %d lines" % len(lines))
        pat = re.compile(r'^\S+ \S+ 127\.0\.0\.1 "GET /greet/w+ HTTP/1\.1" 200 \d+ \d+\.\d+$')
        bad = [l for l in lines if not pat.match(l)]
        check(not bad, "mixed or cut lines: %r" % bad[:3])


if __name__ == "__main__":
    main()

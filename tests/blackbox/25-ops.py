#!/usr/bin/env python3
"""25-ops: running gale in production: the buffered access log and its
formats, descriptor exhaustion, the listen backlog, log levels and journald
priorities, errors found by `gale -t`, and workers outliving a killed master."""

import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import time

from galetest import (GALE_BIN, Gale, check, children, cpu_ticks, eq, free_port, main, make_conf,
                      wait_for)

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


# ---------------------------------------------------------------- descriptors


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def soft_nofile(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return None


def test_out_of_descriptors_pauses_accepting():
    """A worker out of descriptors stops accepting for a moment instead of
    spinning on accept(2) and logging each failure; it serves the connections
    it holds, and the waiting ones once descriptors are free again."""
    limit = 40
    with Gale(workers=1, access_log="off", limits={"header_timeout": 60.0},
              extra="worker_rlimit_nofile = %d;" % limit) as g:
        (wpid,) = g.workers()
        eq(soft_nofile(wpid), limit, "the worker's descriptor limit")
        conns = []
        for i in range(30):
            s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
            # half a request head: the worker holds the connection, waiting
            s.sendall(b"GET /greet/held HTTP/1.1\r\nHost: x\r\n")
            conns.append(s)
        check(wait_for(lambda: open_fds(wpid) >= limit, 5),
              "the worker did not reach its limit (%d of %d fds)" % (open_fds(wpid), limit))
        time.sleep(0.5)
        t0 = cpu_ticks(wpid)
        time.sleep(1.0)
        spent = cpu_ticks(wpid) - t0
        hz = os.sysconf("SC_CLK_TCK")
        check(spent < hz * 0.3, "the worker spins out of descriptors: %d ticks in 1 s" % spent)
        lines = [l for l in g.log().splitlines() if "accept" in l]
        check(1 <= len(lines) <= 3, "accept failures logged %d times:\n%s"
              % (len(lines), "\n".join(lines[:5])))
        check("Too many open files" in lines[0], "the log does not say why: %r" % lines[0])
        # every connection is answered: the held ones at once, the waiting
        # ones as answered ones close and free their descriptors
        for i, s in enumerate(conns):
            s.sendall(b"Connection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            check(data.startswith(b"HTTP/1.1 200") and data.endswith(b"Hello, held"),
                  "connection %d got %r" % (i, data[:80]))
        check(g.running() and g.workers() == [wpid], "the worker did not survive")


def start_raw(conf, rlimit=None, journal=False):
    """Start gale on a config text outside Gale (which cannot set limits or
    name its log file beforehand); returns (proc, log reader, port)."""
    import tempfile
    tmp = tempfile.mkdtemp(prefix="gale-test-")
    os.chmod(tmp, 0o755)
    path = os.path.join(tmp, "gale.conf")
    with open(path, "w") as f:
        f.write(conf)
    logp = os.path.join(tmp, "gale.log")
    logf = open(logp, "wb")
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    env.pop("JOURNAL_STREAM", None)
    if journal:
        st = os.fstat(logf.fileno())
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    pre = None
    if rlimit:
        pre = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, rlimit)
    p = subprocess.Popen([GALE_BIN, "-c", path], stdout=logf, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, env=env, preexec_fn=pre)
    logf.close()

    def log():
        with open(logp, errors="replace") as f:
            return f.read()
    if not wait_for(lambda: " serving with " in log() or p.poll() is not None, 20):
        p.kill()
    return p, log


def start_limited(conf_extra, soft, hard, max_connections=10000):
    conf = make_conf(free_port(), workers=1, limits={"max_connections": max_connections},
                     extra=conf_extra)
    return start_raw(conf, rlimit=(soft, hard))


def stop_limited(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def test_descriptor_limit_raised_and_warned():
    """The soft limit is raised to the hard one by default; a max_connections
    beyond it is warned about at start, naming the numbers."""
    p, log = start_limited("", 100, 512, max_connections=2000)
    try:
        check(" serving with " in log(), "gale did not start:\n%s" % log())
        ws = wait_for(lambda: children(p.pid), 5)
        check(ws, "no worker")
        eq(soft_nofile(ws[0]), 512, "the worker's soft descriptor limit")
        check(re.search(r"max_connections = 2000 needs about \d+ descriptors.*limit "
                        r"\(RLIMIT_NOFILE\) is 512", log()), "no warning:\n%s" % log())
    finally:
        stop_limited(p)
    p, log = start_limited("worker_rlimit_nofile = 300;", 100, 512, max_connections=200)
    try:
        ws = wait_for(lambda: children(p.pid), 5)
        check(ws, "no worker:\n%s" % log())
        eq(soft_nofile(ws[0]), 300, "worker_rlimit_nofile")
        check("RLIMIT_NOFILE" not in log(), "a warning although 300 suffices:\n%s" % log())
    finally:
        stop_limited(p)


# ---------------------------------------------------------------- backlog


def listen_queues(port):
    """Send-Q of every listening socket on port: its backlog (ss -ltn)."""
    out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port], capture_output=True,
                         text=True).stdout
    return [int(l.split()[2]) for l in out.splitlines() if l.strip()]


def with_backlog(port, backlog):
    conf = make_conf(port, workers=2, access_log="off")
    return conf.replace("port = %d; }" % port, "port = %d; backlog = %d; }" % (port, backlog))


def test_backlog_is_honoured():
    """The backlog setting is the listen queue's length (it was 128 whatever
    the setting), also after a reload changes it."""
    port = free_port()
    with Gale(conf=with_backlog(port, 77), port=port) as g:
        q = listen_queues(port)
        eq(q, [77, 77], "listen queues (ss Send-Q) with backlog = 77")
        check("somaxconn" not in g.log(), "a warning for a backlog under the cap")
        g.write_conf(with_backlog(port, 99))
        g.signal(signal.SIGHUP)
        check(wait_for(lambda: "reload done" in g.log(), 15), "no reload:\n%s" % g.log_tail())
        eq(listen_queues(port), [99, 99], "listen queues after a reload to backlog = 99")


def test_backlog_over_somaxconn_warns():
    with open("/proc/sys/net/core/somaxconn") as f:
        cap = int(f.read())
    if cap >= 65535:
        from galetest import Skip
        raise Skip("somaxconn is %d: no backlog exceeds it" % cap)
    port = free_port()
    with Gale(conf=with_backlog(port, 65535), port=port) as g:
        line = [l for l in g.log().splitlines() if "somaxconn" in l]
        check(line and "65535" in line[0] and str(cap) in line[0]
              and "gale.conf:" in line[0], "no warning naming the cap: %r" % line)
        eq(listen_queues(port), [cap, cap], "listen queues, capped")


# ---------------------------------------------------------------- log levels


def slow_clients(port, n):
    """n clients that send half a request head and wait: each gets a 408."""
    conns = []
    for i in range(n):
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        conns.append(c)
    for c in conns:
        data = b""
        while True:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        c.close()
        check(data.startswith(b"HTTP/1.1 408"), "a slow client got %r" % data[:60])


def test_slow_clients_summarised_at_info():
    """408s are per-client noise: at info one summary line with their number,
    at debug a line each."""
    with Gale(workers=1, access_log="off", limits={"header_timeout": 0.3}) as g:
        slow_clients(g.port, 6)
        check(wait_for(lambda: "6 connections timed out (408) in the last 10 s" in g.log(), 15),
              "no summary line:\n%s" % g.log_tail())
        check(" 408 " not in g.log().replace("(408)", ""),
              "a line per slow client at info:\n%s" % g.log_tail())
    with Gale(workers=1, access_log="off", limits={"header_timeout": 0.3}) as g:
        slow_clients(g.port, 2)
        g.signal(signal.SIGQUIT)  # before the report is due: the stop writes it
        eq(g.wait(15), 0, "status after SIGQUIT")
        check("2 connections timed out (408)" in g.log(), "the count was lost at stop:\n%s"
              % g.log_tail())
    with Gale(workers=1, access_log="off", log_level="debug",
              limits={"header_timeout": 0.3}) as g:
        slow_clients(g.port, 3)
        lines = wait_for(lambda: [l for l in g.log().splitlines()
                                  if "[debug]" in l and ": 408 request head not received" in l]
                         if len([l for l in g.log().splitlines() if ": 408 request" in l]) >= 3
                         else None, 5)
        check(lines and len(lines) == 3, "expected 3 debug lines:\n%s" % g.log_tail())


def test_bad_requests_summarised_at_info():
    """Malformed or oversized requests (a scan, a fuzzer) are per-client noise
    too: one summary line at info, counted apart from the 408s."""
    with Gale(workers=1, access_log="off") as g:
        for bad in (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                    b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70000 + b"\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", g.port), timeout=5) as c:
                c.sendall(bad)
                check(c.recv(64).startswith(b"HTTP/1.1 4"), "no 4xx for %r" % bad[:40])
        g.signal(signal.SIGQUIT)
        eq(g.wait(15), 0, "status after SIGQUIT")
        check("3 requests refused as malformed or too large (4xx)" in g.log(),
              "no summary of the refused requests:\n%s" % g.log_tail())
        check(not re.search(r"\[info\].*: 4\d\d ", g.log()),
              "a line per bad request at info:\n%s" % g.log_tail())


def test_journal_priority_prefixes():
    """When stderr is the journal (JOURNAL_STREAM names it), each line starts
    with its sd-daemon priority <N> instead of a timestamp."""
    port = free_port()
    conf = make_conf(port, workers=1, log_level="debug", limits={"header_timeout": 0.3})
    p, log = start_raw(conf, journal=True)
    try:
        check(" serving with " in log(), "gale did not start:\n%s" % log())
        from galetest import request
        request(port, "GET", "/greet/journal")
        slow_clients(port, 1)
        check(wait_for(lambda: "/greet/journal" in log(), 5), "no access line")
        lines = log().splitlines()
        serving = [l for l in lines if " serving with " in l]
        check(serving and serving[0].startswith("<6>[info] master["),
              "info line not <6>: %r" % serving)
        debug = [l for l in lines if ": 408 " in l]
        check(debug and debug[0].startswith("<7>[debug] worker 0["),
              "debug line not <7>: %r" % debug)
        access = [l for l in lines if "/greet/journal" in l]
        check(access and access[0].startswith("<6>"), "access line not <6>: %r" % access)
        check(all(re.match(r"^<[3467]>", l) for l in lines), "lines without a priority: %r"
              % [l for l in lines if not re.match(r"^<[3467]>", l)][:3])
    finally:
        stop_limited(p)
    p, log = start_raw(make_conf(free_port(), workers=1), journal=False)
    try:
        check(re.match(r"^\d{4}-\d\d-\d\d ", log()), "no timestamp without a journal: %r"
              % log()[:80])
    finally:
        stop_limited(p)


# ---------------------------------------------------------------- gale -t


def check_config(extra, listen_extra="", as_user=None, **kw):
    """gale -t on make_conf + extra lines; returns (path, text, process)."""
    import tempfile
    from galetest import run_gale
    d = tempfile.mkdtemp(prefix="gale-conf-")
    os.chmod(d, 0o755)
    port = free_port()
    text = make_conf(port, workers=1, **kw) + extra + "\n"
    if listen_extra:
        text = text.replace("port = %d; }" % port, "port = %d; %s }" % (port, listen_extra))
    path = os.path.join(d, "gale.conf")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o644)
    if as_user is None:
        return path, text, run_gale(["-t", "-c", path])
    # a copy of the binary that user can run: the tree may sit where only
    # root may enter (a clone under /root)
    exe = os.path.join(d, "gale")
    shutil.copy(GALE_BIN, exe)
    os.chmod(exe, 0o755)
    p = subprocess.run([exe, "-t", "-c", path], capture_output=True, text=True,
                       timeout=20, preexec_fn=lambda: (os.setgid(as_user), os.setuid(as_user)))
    return path, text, p


def expect_error(path, text, p, needle, *parts):
    from galetest import line_of
    eq(p.returncode, 1, "gale -t status (stderr %r)" % p.stderr)
    want = "%s:%d: " % (path, line_of(text, needle))
    got = [l for l in p.stderr.splitlines() if l.startswith(want)]
    check(got and all(x in got[0] for x in parts),
          "expected %s... naming %s, got:\n%s" % (want, parts, p.stderr))
    check("system lib" not in p.stderr, "OpenSSL's reason instead of the file's: %r" % p.stderr)


def test_check_missing_log_and_pid_folders():
    """A log or pid file whose folder is missing fails `gale -t`, naming the
    line, the path and the reason (the start used to fail after -t passed)."""
    path, text, p = check_config("", error_log="/nonexistent-gale/logs/error.log")
    expect_error(path, text, p, "/nonexistent-gale/logs/error.log", "error_log",
                 "/nonexistent-gale/logs", "No such file or directory")
    path, text, p = check_config('pid_file = "/nonexistent-gale/run/gale.pid";')
    expect_error(path, text, p, "pid_file", "/nonexistent-gale/run", "No such file or directory")
    path, text, p = check_config("", access_log="/etc/passwd/access.log")
    expect_error(path, text, p, "access_log", "/etc/passwd", "not a folder")
    path, text, p = check_config('access_log_format = "combined";', access_log="access.log")
    eq(p.returncode, 0, "a valid config (stderr %r)" % p.stderr)


def test_check_unreadable_certificate():
    """A certificate that cannot be read is named with its errno, not with
    OpenSSL's "system lib"."""
    path, text, p = check_config("", 'tls = { certificate = "/nonexistent-gale/cert.pem"; '
                                     'key = "/nonexistent-gale/key.pem"; };')
    expect_error(path, text, p, "tls = ", "certificate", "/nonexistent-gale/cert.pem",
                 "No such file or directory")
    if os.getuid() != 0:
        return
    import tempfile
    d = tempfile.mkdtemp(prefix="gale-cert-")
    os.chmod(d, 0o755)
    cert = os.path.join(d, "cert.pem")
    with open(cert, "w") as f:
        f.write("not read\n")
    os.chmod(cert, 0)
    path, text, p = check_config("", 'tls = { certificate = "%s"; key = "%s"; };' % (cert, cert),
                                 as_user=65534)
    expect_error(path, text, p, "tls = ", "certificate", cert, "Permission denied")


# ---------------------------------------------------------------- master death


def test_master_killed_workers_finish_and_exit():
    """kill -9 on the master: the workers notice, answer the request in
    flight in full, say why in the log, and exit."""
    from galetest import alive
    with Gale(workers=2, access_log="off") as g:
        ws = g.workers()
        c = socket.create_connection(("127.0.0.1", g.port), timeout=15)
        c.sendall(b"GET /slow?delay=1.5 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)  # the request reached a worker
        os.kill(g.pid, signal.SIGKILL)
        g.proc.wait(5)
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.close()
        check(data.startswith(b"HTTP/1.1 200"), "the request in flight got %r" % data[:100])
        head, _, body = data.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)content-length:\s*(\d+)", head)
        check(m and len(body) == int(m.group(1)), "a cut answer: %r" % data[-100:])
        check(wait_for(lambda: g.log().count("the master is gone") == len(ws), 5),
              "the workers did not say why they stop:\n%s" % g.log_tail())
        check(wait_for(lambda: not any(alive(w) for w in ws), 10),
              "workers still run after the master died:\n%s" % g.log_tail())
        g.check_log()
        g.cleanup()  # the master's status is SIGKILL's, as intended


if __name__ == "__main__":
    main()

"""galetest - the harness of gale's black-box tests.

Every test starts the real `gale` binary with a config file written by the
test, on a free loopback port, and talks to it with real clients: curl,
http.client and raw sockets. Nothing is mocked.

Environment (set by `make check`; the defaults work from a built tree):
    GALE_BIN           the gale binary              (default <repo>/src/gale)
    GALE_MODULES       folder holding hello.so      (default <repo>/modules)
    GALE_TEST_MODULES  folder holding badabi.so and nodesc.so
                                                    (default <repo>/tests/modules)
    GALE_KEEP=1        keep each test's temp folder (config and log)

A test script defines test_* functions and ends with `galetest.main()`. Each
test prints "ok - NAME", "ok - NAME # SKIP why" or "not ok - NAME: reason";
the last line is "N passed, N failed, N skipped" (a skip is not a pass). Exit 0 when all passed, 1 otherwise, 77 (automake's
SKIP) when a requirement (the binary, hello.so) is missing. Run one test by
hand with `tests/blackbox/01-hello.py test_get_with_curl`.

The suite also runs under ASan/UBSan: Gale.stop() fails a test whose gale
exited by a signal, left workers behind, or logged a sanitizer report (a
non-zero exit status is printed as a note; 09-signals asserts status 0).
"""

import atexit
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

GALE_BIN = os.path.abspath(os.environ.get("GALE_BIN") or os.path.join(REPO, "src", "gale"))
GALE_MODULES = os.path.abspath(os.environ.get("GALE_MODULES") or os.path.join(REPO, "modules"))
GALE_TEST_MODULES = os.path.abspath(
    os.environ.get("GALE_TEST_MODULES") or os.path.join(REPO, "tests", "modules"))

START_TIMEOUT = 10.0  # seconds for gale to accept connections
STOP_TIMEOUT = 10.0   # seconds for gale to exit after SIGTERM
TEST_TIMEOUT = 120    # seconds for one test function, a hard bound against hangs (two test
                      # files run at once, under ASan, on a loaded machine: far above need)

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                   "ThreadSanitizer", "MemorySanitizer", "runtime error:")

DEFAULT_ROUTES = (
    ("/", "hello"),
    ("/greet/([a-z]+)", "greet"),
    ("/slow", "slow"),
    ("/echo", "echo"),
    ("/stream", "stream"),
    ("/info", "info"),
)


class Skip(Exception):
    """Raised by a test whose requirement (IPv6, curl, a test module) is missing."""


class Fail(AssertionError):
    pass


def fail(msg):
    raise Fail(msg)


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def eq(got, want, what="value"):
    if got != want:
        raise Fail("%s: expected %r, got %r" % (what, want, got))


# ---------------------------------------------------------------- files


def _find_module(folder, name):
    """The built module `name`.so in folder (or its libtool/per-module subfolders)."""
    for rel in (name + ".so", os.path.join(name, name + ".so"), os.path.join(".libs", name + ".so"),
                os.path.join(name, ".libs", name + ".so")):
        p = os.path.join(folder, rel)
        if os.path.isfile(p):
            return p
    return None


def hello_so():
    return _find_module(GALE_MODULES, "hello")


def module_path(name):
    """Path of tests/modules/NAME.so; the test is skipped when it was not built."""
    p = _find_module(GALE_TEST_MODULES, name)
    if p is None:
        raise Skip("%s.so not found in %s" % (name, GALE_TEST_MODULES))
    return p


def asan_build():
    """Whether GALE_BIN was built with AddressSanitizer: its quarantine keeps
    freed memory, so RSS says nothing of what gale frees."""
    try:
        with open(GALE_BIN, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def requirements():
    """What is missing for any test to run, or None."""
    if not (os.path.isfile(GALE_BIN) and os.access(GALE_BIN, os.X_OK)):
        return "gale binary not found: %s (set GALE_BIN)" % GALE_BIN
    if hello_so() is None:
        return "hello.so not found in %s (set GALE_MODULES)" % GALE_MODULES
    return None


def sanitizer_report(text):
    """The start of the first sanitizer report in text, or None."""
    found = [text.index(m) for m in SANITIZER_MARKS if m in text]
    if not found:
        return None
    i = text.rfind("\n", 0, min(found)) + 1
    return text[i:i + 3000]


# ---------------------------------------------------------------- ports


class unit_capabilities:
    """with unit_capabilities(): Gale(...) starts gale as root without
    CAP_CHOWN, CAP_DAC_OVERRIDE and CAP_FOWNER, as systemd/gale.service does
    (its CapabilityBoundingSet=). Only for root: fails without setpriv."""

    def __enter__(self):
        global GALE_BIN
        setpriv = shutil.which("setpriv")
        if not setpriv:
            fail("setpriv (util-linux) is missing")
        fd, self.wrapper = tempfile.mkstemp(prefix="gale-unit-caps-")
        os.write(fd, ("#!/bin/sh\nexec %s --bounding-set -chown,-dac_override,-fowner %s \"$@\"\n"
                      % (setpriv, GALE_BIN)).encode())
        os.close(fd)
        os.chmod(self.wrapper, 0o755)
        self.saved, GALE_BIN = GALE_BIN, self.wrapper
        return self

    def __exit__(self, *exc):
        global GALE_BIN
        GALE_BIN = self.saved
        os.unlink(self.wrapper)


_PORT_DIR = os.path.join(tempfile.gettempdir(), "galetest-ports")
_ports_held = []


def _port_unheld():
    for path in _ports_held:
        try:
            os.unlink(path)
        except OSError:
            pass


atexit.register(_port_unheld)


def _port_claim(port):
    """Whether this process may use port: a file per port in _PORT_DIR names
    the test process that was given it (one that is gone holds nothing)."""
    path = os.path.join(_PORT_DIR, str(port))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    os.kill(int(f.read() or 0), 0)
                return False  # a live test process has it
            except (OSError, ValueError):
                try:
                    os.unlink(path)  # its process is gone
                except OSError:
                    pass
                continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        _ports_held.append(path)
        return True
    return False


def free_port(host="127.0.0.1"):
    """A port that was free a moment ago (bind port 0, read it, close), and
    that no other test process running at the same time was given: gale
    listens with SO_REUSEPORT, so two test files' gales on one port would
    share its connections without a word."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    os.makedirs(_PORT_DIR, exist_ok=True)
    for _ in range(100):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.bind((host, 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if _port_claim(port):
            return port
    fail("no free port that another test process was not given")


def have_ipv6():
    try:
        free_port("::1")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------- config


def lc_str(s):
    """A libconfig string literal."""
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def lc_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    return lc_str(v)


def _route_line(route):
    """One route of make_conf: (path, handler) or (path, handler, {setting: value})."""
    path, handler = route[0], route[1]
    opts = route[2] if len(route) > 2 else {}
    more = "".join(" %s = %s;" % (k, lc_value(v)) for k, v in opts.items())
    return "      { path = %s; handler = %s;%s }" % (lc_str(path), lc_str(handler), more)


def make_conf(port, workers=2, address="127.0.0.1", listens=None, greeting=None, delay=None,
              settings=None, routes=DEFAULT_ROUTES, limits=None, access_log="stderr",
              error_log="stderr", log_level="info", grace_period=None, extra="", module=None):
    """The text of a gale config serving hello.so on address:port.

    listens: list of (address, port) to use instead of address/port.
    limits: dict of limit name -> value (written with its Python type).
    settings: dict of extra module settings; greeting/delay are shortcuts.
    routes: (path, handler) pairs, or (path, handler, dict) with more route
    settings, e.g. ("/ws", "echo", {"websocket": True}).
    extra: text appended at the top level.
    """
    if listens is None:
        listens = [(address, port)]
    sets = dict(settings or {})
    if greeting is not None:
        sets["greeting"] = greeting
    if delay is not None:
        sets["delay"] = float(delay)
    lines = []
    lines.append("workers = %s;" % (lc_str(workers) if isinstance(workers, str) else workers))
    lines.append("error_log = %s;" % lc_str(error_log))
    lines.append("log_level = %s;" % lc_str(log_level))
    lines.append("access_log = %s;" % lc_str(access_log))
    if grace_period is not None:
        lines.append("grace_period = %r;" % float(grace_period))
    lines.append("listen = (")
    lines.append(",\n".join("  { address = %s; port = %d; }" % (lc_str(a), p) for a, p in listens))
    lines.append(");")
    if limits:
        lines.append("limits = {")
        for k, v in limits.items():
            lines.append("  %s = %s;" % (k, lc_value(v)))
        lines.append("};")
    lines.append("modules = (")
    lines.append("  { path = %s;" % lc_str(module or hello_so()))
    if sets:
        lines.append("    settings = { %s };" % " ".join(
            "%s = %s;" % (k, lc_value(v)) for k, v in sets.items()))
    lines.append("    routes = (")
    lines.append(",\n".join(_route_line(r) for r in routes))
    lines.append("    );")
    lines.append("  }")
    lines.append(");")
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def append_line(text, line):
    """Append one line to a config; returns (new text, its 1-based line number)."""
    if not text.endswith("\n"):
        text += "\n"
    return text + line + "\n", text.count("\n") + 1


def line_of(text, needle):
    """1-based number of the first line of text containing needle."""
    for i, l in enumerate(text.split("\n"), 1):
        if needle in l:
            return i
    raise ValueError("%r not in config" % needle)


# ---------------------------------------------------------------- processes


def _stat(pid):
    """(state, ppid, starttime) of pid, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[19])


def children(ppid):
    """Live (not zombie) child processes of ppid, sorted."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _stat(int(name))
        if st and st[1] == ppid and st[0] not in ("Z", "X"):
            out.append(int(name))
    return sorted(out)


def rss(pid):
    """The resident memory of process pid in bytes (VmRSS)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    fail("no VmRSS for pid %d" % pid)


def settled_rss(pid, pause=0.0, tries=50):
    """pid's RSS once it stops moving (the process finished what it was
    sent): read every 0.1 s after `pause` seconds, until two reads agree or
    `tries` reads."""
    time.sleep(pause)
    last = rss(pid)
    for _ in range(tries):
        time.sleep(0.1)
        now = rss(pid)
        if now == last:
            return now
        last = now
    return last


def alive(pid, starttime=None):
    st = _stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return starttime is None or st[2] == starttime


def cpu_ticks(pid):
    """utime+stime of pid in clock ticks (0 when gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return 0
    rest = data[data.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def wait_for(cond, timeout, step=0.05):
    """Poll cond() until it returns a true value or timeout passes; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def run_gale(args, timeout=20, env=None):
    """Run gale with args to completion; returns CompletedProcess (text). Fails on a
    sanitizer report or a timeout."""
    e = dict(os.environ)
    e.pop("NOTIFY_SOCKET", None)
    if env:
        e.update(env)
    try:
        p = subprocess.run([GALE_BIN] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, errors="replace", timeout=timeout,
                           env=e)
    except subprocess.TimeoutExpired:
        fail("gale %s did not exit within %ss" % (" ".join(args), timeout))
    rep = sanitizer_report(p.stderr + p.stdout)
    if rep:
        fail("sanitizer report from gale %s:\n%s" % (" ".join(args), rep))
    return p


_running = []  # every Gale started by the current test, for cleanup


class Gale:
    """One gale master started with a config written by the test.

    Gale(**make_conf_args)        config from make_conf() on a free port
    Gale(conf=TEXT, port=P)       the given text; @PORT@, @HELLO@, @TMP@ and
                                  @TESTMODULES@ in it are replaced
    host: the address to probe for readiness (default the listen address)
    env: extra environment; args: extra arguments before -c
    wait: wait for the port to accept connections (default True)
    notify: also wait for READY=1 on a NOTIFY_SOCKET of our own (the systemd
            protocol), for tests that need gale fully started, not only bound
    """

    def __init__(self, conf=None, port=None, host=None, env=None, args=(), wait=True,
                 notify=False, **kw):
        self.tmp = tempfile.mkdtemp(prefix="gale-test-")
        # workers may run as another user (gale drops root): like /var/log/gale,
        # the folder of the logs must be reachable by them
        os.chmod(self.tmp, 0o755)
        self.host = host or kw.get("address") or "127.0.0.1"
        if kw.get("listens") and not host:
            self.host = kw["listens"][0][0]
        self.port = port or (kw["listens"][0][1] if kw.get("listens") else free_port(self.host))
        self.conf_kw = kw
        self.conf_path = os.path.join(self.tmp, "gale.conf")
        self.log_path = os.path.join(self.tmp, "gale.log")
        self.write_conf(conf, **kw)
        self.env = dict(os.environ)
        self.env.pop("NOTIFY_SOCKET", None)  # never notify a real systemd
        self.notify_sock = None
        if notify:
            self.notify_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.notify_sock.bind(os.path.join(self.tmp, "notify.sock"))
            self.env["NOTIFY_SOCKET"] = os.path.join(self.tmp, "notify.sock")
        if env:
            self.env.update(env)
        self.stopped = False
        self.rc = None
        self.seen_workers = {}  # pid -> starttime, every worker ever listed
        self._logf = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen([GALE_BIN] + list(args) + ["-c", self.conf_path],
                                         stdin=subprocess.DEVNULL, stdout=self._logf,
                                         stderr=subprocess.STDOUT, env=self.env, cwd=self.tmp)
        except OSError as e:
            self._logf.close()
            if self.notify_sock is not None:
                self.notify_sock.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
            fail("cannot start %s: %s" % (GALE_BIN, e))
        self.pid = self.proc.pid
        _running.append(self)
        if wait:
            self.wait_ready()

    # -- config

    def write_conf(self, conf=None, **kw):
        """(Re)write the config file atomically: text, or make_conf(**kw) on this port."""
        if conf is None:
            args = dict(self.conf_kw)
            args.update(kw)
            args.setdefault("address", self.host)
            conf = make_conf(self.port, **args)
        conf = (conf.replace("@PORT@", str(self.port)).replace("@HELLO@", hello_so() or "")
                .replace("@TMP@", self.tmp).replace("@TESTMODULES@", GALE_TEST_MODULES))
        self.conf_text = conf
        tmp = self.conf_path + ".new"
        with open(tmp, "w") as f:
            f.write(conf)
        os.rename(tmp, self.conf_path)
        return conf

    # -- state

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=25):
        return "\n".join(self.log().splitlines()[-n:])

    def running(self):
        return self.proc.poll() is None

    def workers(self):
        """Live worker pids (children of the master)."""
        ws = children(self.pid)
        for w in ws:
            st = _stat(w)
            if st:
                self.seen_workers.setdefault(w, st[2])
        return ws

    def wait_workers(self, n, timeout=10.0, without=()):
        """Wait until exactly n workers live, none of them in `without`; returns them."""
        without = set(without)

        def ok():
            ws = self.workers()
            return ws if len(ws) == n and not (set(ws) & without) else None

        ws = wait_for(ok, timeout)
        if not ws:
            fail("expected %d workers (not %s) within %ss, have %s; log:\n%s"
                 % (n, sorted(without), timeout, self.workers(), self.log_tail()))
        return ws

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait_ready(self, timeout=START_TIMEOUT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                fail("gale exited with status %s while starting; log:\n%s"
                     % (self.proc.returncode, self.log_tail()))
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            fail("gale did not accept connections on %s port %d within %ss; log:\n%s"
                 % (self.host, self.port, timeout, self.log_tail()))
        if self.notify_sock is None:
            # The sockets accept as soon as the master bound them; the workers
            # are ready when the master says so. A test that kills a worker
            # before that sees the master stop ("a worker failed to start"),
            # as it should: wait for it on a slow (sanitizer, loaded) machine.
            if not wait_for(lambda: " serving with " in self.log(), max(0.1, end - time.monotonic())):
                fail("gale did not report its workers ready within %ss; log:\n%s"
                     % (timeout, self.log_tail()))
            return
        while time.monotonic() < end:
            self.notify_sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                if b"READY=1" in self.notify_sock.recv(4096).split(b"\n"):
                    return
            except socket.timeout:
                break
        fail("no READY=1 from gale within %ss; log:\n%s" % (timeout, self.log_tail()))

    def url(self, path="/"):
        h = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s:%d%s" % (h, self.port, path)

    # -- requests

    def get(self, path="/", **kw):
        return request(self.port, "GET", path, host=self.host, **kw)

    def request(self, method, path, body=None, **kw):
        return request(self.port, method, path, body=body, host=self.host, **kw)

    def raw(self, data, timeout=5.0):
        return raw(self.port, data, timeout=timeout, host=self.host)

    def conn(self, timeout=5.0):
        return Conn(self.port, host=self.host, timeout=timeout)

    # -- stopping

    def wait(self, timeout):
        """Wait for the master to exit; returns its status or None."""
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.rc

    def check_log(self):
        rep = sanitizer_report(self.log())
        if rep:
            fail("sanitizer report in gale's log:\n%s" % rep)

    def check_exit(self, rc, how="SIGTERM", strict=True):
        """No signal death, no sanitizer report, no worker left behind; with
        strict, the status must be 0 too (otherwise a non-zero one is noted)."""
        self.check_log()
        if rc < 0:
            fail("gale exited by signal %d after %s; log:\n%s" % (-rc, how, self.log_tail()))
        if rc != 0:
            if strict:
                fail("gale exited with status %d after %s; log:\n%s" % (rc, how, self.log_tail()))
            _notes.append("gale exited with status %d after %s (09-signals checks the status)"
                          % (rc, how))
        left = lambda: [w for w, t in self.seen_workers.items() if alive(w, t)]
        if wait_for(lambda: not left(), 5.0):
            return
        fail("workers %s still run after the master exited" % left())

    def stop(self, sig=None, timeout=STOP_TIMEOUT, strict=False):
        """Send sig (SIGTERM) and check the exit (see check_exit); returns the status."""
        if sig is None:
            sig = signal.SIGTERM
        if self.stopped:
            return self.rc
        self.stopped = True
        try:
            if self.proc.poll() is None:
                self.workers()
                self.signal(sig)
                if self.wait(timeout) is None:
                    self.kill()
                    fail("gale did not exit within %ss of signal %d; log:\n%s"
                         % (timeout, sig, self.log_tail()))
            self.rc = self.proc.returncode
            self.check_exit(self.rc, "signal %d" % sig, strict)
            return self.rc
        finally:
            self.cleanup()

    def kill(self):
        """SIGKILL the master and every worker it had (our own processes only)."""
        self.workers()
        for w, t in list(self.seen_workers.items()):
            if alive(w, t):
                try:
                    os.kill(w, signal.SIGKILL)
                except OSError:
                    pass
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for w, t in list(self.seen_workers.items()):
            if alive(w, t):
                try:
                    os.kill(w, signal.SIGKILL)
                except OSError:
                    pass

    def cleanup(self):
        self.stopped = True
        self.kill()
        for f in (self._logf, self.notify_sock):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        if self in _running:
            _running.remove(self)
        if not os.environ.get("GALE_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, typ, val, tb):
        if typ is None:
            self.stop()
        else:
            _failed_logs.append(self.log_tail(40))
            try:
                self.stop()
            except Exception as e:  # the test's own failure is the one to report
                _failed_logs.append("(also at stop: %s)" % e)
        return False


_failed_logs = []
_notes = []  # remarks printed after a test's result line


# ---------------------------------------------------------------- HTTP


class Headers:
    """Response header fields in order; lookups ignore case."""

    def __init__(self, items=()):
        self.items = [(k, v) for k, v in items]

    def get(self, name, default=None):
        n = name.lower()
        for k, v in self.items:
            if k.lower() == n:
                return v
        return default

    def get_all(self, name):
        n = name.lower()
        return [v for k, v in self.items if k.lower() == n]

    def tokens(self, name):
        """Comma-separated values of every `name` field, lower-cased."""
        out = []
        for v in self.get_all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out

    def __contains__(self, name):
        return self.get(name) is not None

    def __getitem__(self, name):
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __repr__(self):
        return "Headers(%r)" % self.items


class Response(tuple):
    """(status, headers, body), with .version, .reason, .chunked, .chunks, .head
    (raw head bytes), .end (offset after it in the data parsed)."""

    def __new__(cls, status, headers, body, **extra):
        self = tuple.__new__(cls, (status, headers, body))
        self.__dict__.update(extra)
        return self

    status = property(lambda self: self[0])
    headers = property(lambda self: self[1])
    body = property(lambda self: self[2])


class ParseError(Exception):
    pass


def _decode_chunked(data, pos):
    """Decode a chunked body at data[pos:]; (body, chunks, end) or None when incomplete."""
    body, chunks = b"", []
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None
        line = data[pos:eol].split(b";")[0].strip()
        try:
            size = int(line, 16)
        except ValueError:
            raise ParseError("bad chunk size line %r" % data[pos:eol])
        pos = eol + 2
        if size == 0:
            while True:  # trailers until an empty line
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    return None
                empty = eol == pos
                pos = eol + 2
                if empty:
                    return body, chunks, pos
        if len(data) < pos + size + 2:
            return None
        chunk = data[pos:pos + size]
        if data[pos + size:pos + size + 2] != b"\r\n":
            raise ParseError("chunk data not followed by CRLF")
        body += chunk
        chunks.append(chunk)
        pos += size + 2


def parse_responses(data, methods=None, eof=True, strict=True):
    """Parse the HTTP/1.x responses in data (bytes from one connection).

    methods[i] is the request method of the i-th final response (HEAD has no
    body); interim 1xx responses are returned as entries of their own. A body
    without Content-Length or chunked framing runs to the end of data when eof.
    Returns the list of complete responses; with strict, bytes that do not
    start a response raise ParseError (an incomplete last response does not).
    """
    out, pos, i = [], 0, 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            if strict and not data[pos:pos + 5] == b"HTTP/"[:len(data) - pos]:
                raise ParseError("garbage instead of a response: %r" % data[pos:pos + 200])
            break
        head = data[pos:end].decode("latin-1")
        lines = head.split("\r\n")
        m = re.match(r"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            if strict:
                raise ParseError("bad status line %r" % lines[0])
            break
        hdrs = []
        for l in lines[1:]:
            if ":" not in l:
                raise ParseError("bad header line %r" % l)
            k, v = l.split(":", 1)
            hdrs.append((k, v.strip(" \t")))
        headers = Headers(hdrs)
        status = int(m.group(2))
        start = end + 4
        info = dict(version=m.group(1), reason=m.group(3) or "", head=data[pos:start],
                    chunked=False, chunks=[])
        if 100 <= status < 200:
            out.append(Response(status, headers, b"", end=start, **info))
            pos = start
            continue
        method = methods[i] if methods and i < len(methods) else "GET"
        i += 1
        te = headers.tokens("transfer-encoding")
        if method == "HEAD" or status in (204, 304):
            body, pos = b"", start
        elif te:
            if te[-1] != "chunked":
                raise ParseError("response transfer coding %r" % te)
            r = _decode_chunked(data, start)
            if r is None:
                break
            body, info["chunks"], pos = r
            info["chunked"] = True
        elif headers.get("content-length") is not None:
            try:
                n = int(headers["content-length"])
            except ValueError:
                raise ParseError("bad Content-Length %r" % headers["content-length"])
            if len(data) < start + n:
                break
            body, pos = data[start:start + n], start + n
        else:
            if not eof:
                break
            body, pos = data[start:], len(data)
        out.append(Response(status, headers, body, end=pos, **info))
    return out


def final(responses):
    """The final (non-1xx) responses of a list."""
    return [r for r in responses if r.status >= 200]


class RawBytes(bytes):
    """bytes read from a connection; .closed is True when the peer closed it
    (EOF or reset) before the timeout, .reset when it was a reset."""
    closed = False
    reset = False


def raw(port, data, timeout=5.0, host="127.0.0.1", shut_wr=False):
    """Send data on a new connection and read until the server closes it or
    `timeout` seconds pass without the close. Returns RawBytes."""
    s = socket.create_connection((host, port), timeout=timeout)
    buf, closed, reset = b"", False, False
    end = time.monotonic() + timeout
    try:
        try:
            s.sendall(data)
            if shut_wr:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass  # the server may refuse before reading everything; read its answer
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = reset = True
                break
            if not b:
                closed = True
                break
            buf += b
    finally:
        s.close()
    r = RawBytes(buf)
    r.closed, r.reset = closed, reset
    return r


class Conn:
    """A raw connection read response by response."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""
        self.closed = False
        self.reset = False

    def send(self, data):
        self.sock.sendall(data)

    def _recv(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0 or self.closed:
            return False
        self.sock.settimeout(left)
        try:
            b = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            self.closed = self.reset = True
            return False
        if not b:
            self.closed = True
            return False
        self.buf += b
        return True

    def read_response(self, method="GET", timeout=None):
        """The next response (interim 1xx included); fails on timeout or close."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            rs = parse_responses(self.buf, [method], eof=self.closed)
            if rs:
                r = rs[0]
                self.buf = self.buf[r.end:]
                return r
            if not self._recv(deadline):
                if self.closed:
                    fail("connection closed before a whole response; got %r" % self.buf[:500])
                if time.monotonic() >= deadline:
                    fail("no whole response within %ss; got %r"
                         % (timeout or self.timeout, self.buf[:500]))

    def read_until(self, marker, timeout=None):
        """Bytes up to and including marker (consumed); fails on timeout or close."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while marker not in self.buf:
            if not self._recv(deadline):
                fail("%r not received (closed=%s); got %r" % (marker, self.closed, self.buf[:500]))
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def wait_closed(self, timeout):
        """True when the server closes the connection within timeout (bytes read meanwhile
        stay in .buf)."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._recv(deadline)
        return self.closed

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
        return False


def request(port, method="GET", path="/", body=None, headers=None, host="127.0.0.1",
            timeout=10.0):
    """One request on a new http.client connection: (status, Headers, body)."""
    c = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, Headers(r.getheaders()), data
    finally:
        c.close()


def req(method, target, headers=(), body=b"", version="HTTP/1.1", host="x"):
    """Raw request bytes; Host is added first unless host is None; headers are
    (name, value) pairs written as given."""
    lines = ["%s %s %s" % (method, target, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    lines += ["%s: %s" % (k, v) for k, v in headers]
    if isinstance(body, str):
        body = body.encode()
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(*pieces, trailers=()):
    """A chunked body of pieces (bytes or str)."""
    out = b""
    for p in pieces:
        if isinstance(p, str):
            p = p.encode()
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    out += b"0\r\n"
    for k, v in trailers:
        out += ("%s: %s\r\n" % (k, v)).encode()
    return out + b"\r\n"


DATE_RE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|"
                     r"Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")


def check_common(r, what="response"):
    """Every answer has a Date (IMF-fixdate) and a Server header."""
    d = r.headers.get("date")
    check(d is not None, "%s %d has no Date header: %r" % (what, r.status, r.headers))
    check(DATE_RE.match(d), "%s: Date is not an IMF-fixdate: %r" % (what, d))
    check(r.headers.get("server"), "%s %d has no Server header: %r" % (what, r.status, r.headers))


def check_error(r, status, what="error"):
    """An error answer: the status, Date, Server and a short text body."""
    statuses = status if isinstance(status, (tuple, list, set)) else (status,)
    check(r.status in statuses, "%s: expected status %s, got %d %s; head %r"
          % (what, "/".join(map(str, statuses)), r.status, r.reason, r.head))
    check_common(r, what)
    check(len(r.body) > 0, "%s: error %d has an empty body (should say why)" % (what, r.status))


# ---------------------------------------------------------------- curl


class CurlResult:
    def __init__(self, rc, status, headers, body, stdout, stderr, blocks):
        self.rc, self.status, self.headers, self.body = rc, status, headers, body
        self.stdout, self.stderr, self.blocks = stdout, stderr, blocks

    def __repr__(self):
        return "CurlResult(rc=%d, status=%s, body=%r, stderr=%r)" % (
            self.rc, self.status, self.body[:200], self.stderr[-500:])


def curl(*args, timeout=20):
    """Run curl (no config file, no proxy) with args; returns CurlResult with the
    last header block parsed (blocks has every one, e.g. 100 Continue first)."""
    exe = shutil.which("curl")
    if not exe:
        raise Skip("curl not found")
    d = tempfile.mkdtemp(prefix="gale-curl-")
    try:
        hf, bf = os.path.join(d, "h"), os.path.join(d, "b")
        try:
            p = subprocess.run([exe, "-q", "-sS", "--noproxy", "*", "--max-time", str(timeout - 5),
                                "-D", hf, "-o", bf] + list(args), stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            fail("curl %s did not finish in %ss" % (" ".join(args), timeout))
        hdr = open(hf, "rb").read().decode("latin-1") if os.path.exists(hf) else ""
        body = open(bf, "rb").read() if os.path.exists(bf) else b""
        blocks = []
        for blk in hdr.split("\r\n\r\n"):
            lines = [l for l in blk.split("\r\n") if l]
            if not lines or not lines[0].startswith("HTTP/"):
                continue
            st = int(lines[0].split()[1])
            hs = Headers([(l.split(":", 1)[0], l.split(":", 1)[1].strip())
                          for l in lines[1:] if ":" in l])
            blocks.append((st, hs))
        st, hs = blocks[-1] if blocks else (None, Headers())
        return CurlResult(p.returncode, st, hs, body, p.stdout.decode("utf-8", "replace"),
                          p.stderr.decode("utf-8", "replace"), blocks)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- load


class Load:
    """Client threads hammering gale until stop() (bounded by count and time).

    kind "fresh": a new http.client connection per request;
    kind "keepalive": one http.client connection reused (it reconnects by
    itself after a response with Connection: close).
    Every outcome is recorded: results (thread, status, body, time) and errors
    (thread, repr(exception), time), times from time.monotonic()."""

    def __init__(self, port, path="/", fresh=2, keepalive=2, host="127.0.0.1", pause=0.005,
                 max_requests=5000, max_seconds=20.0):
        self.port, self.path, self.host, self.pause = port, path, host, pause
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.results, self.errors = [], []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=("fresh%d" % i, False), daemon=True)
                        for i in range(fresh)]
        self.threads += [threading.Thread(target=self._run, args=("keep%d" % i, True), daemon=True)
                         for i in range(keepalive)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def _run(self, name, keep):
        end = time.monotonic() + self.max_seconds
        c = None
        n = 0
        while not self.stopping.is_set() and time.monotonic() < end and n < self.max_requests:
            n += 1
            try:
                if c is None or not keep:
                    c = http.client.HTTPConnection(self.host, self.port, timeout=10)
                c.request("GET", self.path)
                r = c.getresponse()
                body = r.read()
                with self.lock:
                    self.results.append((name, r.status, body, time.monotonic()))
                if not keep:
                    c.close()
            except Exception as e:
                with self.lock:
                    self.errors.append((name, repr(e), time.monotonic()))
                if c is not None:
                    c.close()
                c = None
            time.sleep(self.pause)
        if c is not None:
            c.close()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(15)
        return self

    def count(self):
        with self.lock:
            return len(self.results) + len(self.errors)


# ---------------------------------------------------------------- runner


class _Timeout(BaseException):
    pass


NODE_MODULES = os.path.abspath(
    os.environ.get("GALE_NODE_MODULES") or os.path.join(REPO, "tests", "node", "node_modules"))


_www = None


def load_test(name):
    """Another black-box test file (without .py) as a module, to share its
    clients and helpers; its tests do not run."""
    import importlib.util
    path = os.path.join(HERE, name + ".py")
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def www_copy():
    """A copy of the demo pages (www/: templates, stylesheet, catalogs) that
    the workers can read: they drop to nobody, and the tree may sit in a
    folder only root can enter (a clone in `mktemp -d`). Made once."""
    global _www
    if _www is None:
        top = tempfile.mkdtemp(prefix="gale-www-")
        atexit.register(shutil.rmtree, top, True)
        os.chmod(top, 0o755)
        _www = os.path.join(top, "www")
        shutil.copytree(os.path.join(REPO, "www"), _www)
        readable_tree(top)
    return _www


def readable_tree(top):
    """Let the workers (nobody) read every folder and file below top."""
    for d, _, names in os.walk(top):
        os.chmod(d, 0o755)
        for n in names:
            p = os.path.join(d, n)
            if not os.path.islink(p):
                os.chmod(p, 0o644)


def www_conf():
    """The settings that serve the demo pages, as conf/gale.conf has them."""
    return ('template_path = "{0}/templates"; translations = "{0}/translations";\n'
            'static = ( {{ prefix = "/static/"; path = "{0}/static"; }} );'.format(www_copy()))


def node_module(name):
    """Skip the test when the npm package `name` is not installed (scripts/test installs it)."""
    if shutil.which("node") is None:
        raise Skip("node not found")
    if not os.path.isdir(os.path.join(NODE_MODULES, name)):
        raise Skip("npm package %s not found in %s (cd tests/node && npm ci)" % (name, NODE_MODULES))


def node(script, *args, timeout=40, stdin=None):
    """Run a Node.js script (path, or code when it does not end in .js) with
    the test's npm packages on NODE_PATH. Returns (rc, stdout, stderr) as text."""
    env = dict(os.environ)
    env["NODE_PATH"] = NODE_MODULES
    cmd = ["node", script] if script.endswith(".js") else ["node", "-e", script]
    p = subprocess.run(cmd + [str(a) for a in args], input=stdin, capture_output=True,
                       text=True, timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def _alarm(signum, frame):
    raise _Timeout()


def main(ns=None):
    """Run the test_* functions of the calling script (or the names in argv)."""
    ns = ns if ns is not None else sys.modules["__main__"].__dict__
    missing = requirements()
    if missing:
        print("# SKIP: %s" % missing)
        print("0 passed, 0 failed, 0 skipped")
        sys.exit(77)
    tests = [(n, f) for n, f in ns.items() if n.startswith("test_") and callable(f)]
    if len(sys.argv) > 1:
        tests = [(n, f) for n, f in tests if n in sys.argv[1:]]
    signal.signal(signal.SIGALRM, _alarm)
    passed = failed = skipped = 0
    for name, fn in tests:
        del _failed_logs[:]
        del _notes[:]
        t0 = time.monotonic()
        signal.alarm(TEST_TIMEOUT)
        err = None
        try:
            fn()
        except Skip as e:
            skipped += 1
            print("ok - %s # SKIP %s" % (name, e))
        except _Timeout:
            err = "test did not finish within %ss" % TEST_TIMEOUT
        except Fail as e:
            err = str(e)
        except Exception:
            err = traceback.format_exc()
        else:
            passed += 1
            print("ok - %s (%.1fs)" % (name, time.monotonic() - t0))
        finally:
            signal.alarm(0)
        for g in list(_running):  # a test that failed early leaves gale running
            _failed_logs.append(g.log_tail(40))
            g.cleanup()
        for note in sorted(set(_notes)):
            print("# note: " + note)
        if err is not None:
            failed += 1
            first, _, rest = err.partition("\n")
            print("not ok - %s: %s" % (name, first))
            for l in rest.splitlines():
                print("#   " + l)
            for log in _failed_logs:
                if log.strip():
                    print("#   --- gale log (tail):")
                    for l in log.splitlines():
                        print("#   | " + l)
        sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if tests and skipped == len(tests):
        sys.exit(77)
    sys.exit(0 if failed == 0 else 1)


def keepalive_gets(g, n, path="/", body=b"Hello, world"):
    """n GETs of path one after another on one connection to gale g, each
    answered 200 with body, and the connection kept open throughout."""
    with g.conn() as c:
        for i in range(n):
            c.send(req("GET", path))
            r = c.read_response()
            eq((r.status, r.body), (200, body), "request %d on one connection" % i)
            check("close" not in r.headers.tokens("connection"),
                  "HTTP/1.1 answer %d says Connection: close: %r" % (i, r.headers))
        check(not c.closed, "server closed a keep-alive connection")

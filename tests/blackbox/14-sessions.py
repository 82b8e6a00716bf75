#!/usr/bin/env python3
"""14-sessions: server-side sessions through the real server, with the LMDB
store (shared by the workers of one instance) and with a real redis-server
started here (shared by two gale instances), and routes marked
authenticated."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import Gale, check, eq, fail, free_port, main, unit_capabilities  # noqa: E402

CONF = """
workers = 2;
access_log = "off";
cookie_secret = "sessions test secret";
sessions = %s;
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
modules = (
  { path = "@HELLO@";
    routes = ( { path = "/login"; handler = "login"; },
               { path = "/logout"; handler = "logout"; },
               { path = "/whoami"; handler = "whoami"; },
               { path = "/private"; handler = "whoami"; authenticated = true; },
               { path = "/private-note"; handler = "note"; authenticated = true; } ); } );
"""


class Client:
    """A browser-ish client: keeps cookies (name -> value) across requests."""

    def __init__(self, g):
        self.g = g
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        status, hdrs, data = self.g.request(method, path, body, headers=h)
        for sc in hdrs.get_all("Set-Cookie"):
            name, _, rest = sc.partition("=")
            value = rest.split(";")[0]
            if "Max-Age=0" in sc:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return status, hdrs, data

    def login(self, user, next_path=None):
        body = "user=%s" % user + ("&next=%s" % next_path if next_path else "")
        return self.request("POST", "/login", body.encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})


def _flow(g):
    c = Client(g)
    eq(c.request("GET", "/whoami")[2], b"user: -\nn: 1\n", "a new visitor")
    sid1 = c.cookies.get("gale_session")
    check(sid1 and sid1.startswith("2|"), "a signed session cookie: %r" % sid1)
    for n in range(2, 8):  # fresh connections: both workers see the session
        eq(c.request("GET", "/whoami")[2], b"user: -\nn: %d\n" % n, "the session persists")
    status, h, _ = c.request("GET", "/private?x=1")
    eq((status, h.get("Location")), (302, "/login?next=%2Fprivate%3Fx%3D1"), "authenticated GET")
    eq(c.request("POST", "/private-note", b"text=x",
                 {"Content-Type": "application/x-www-form-urlencoded"})[0], 403,
       "authenticated POST without a user")
    status, h, _ = c.login("ann", "/private")
    eq((status, h.get("Location")), (303, "/private"), "login redirects to next")
    check(c.cookies["gale_session"] != sid1, "the session id changes at login")
    eq(c.request("GET", "/private")[2], b"user: ann\nn: 8\n", "logged in, data kept")
    old = Client(g)
    old.cookies["gale_session"] = sid1
    eq(old.request("GET", "/whoami")[2], b"user: -\nn: 1\n", "the pre-login id is dead")
    forged = Client(g)
    real = c.cookies["gale_session"]
    forged.cookies["gale_session"] = real[:-1] + ("0" if real[-1] != "0" else "1")
    eq(forged.request("GET", "/whoami")[2], b"user: -\nn: 1\n", "a forged cookie is no session")
    c.request("POST", "/logout")
    check("gale_session" not in c.cookies, "logout clears the cookie")
    eq(c.request("GET", "/whoami")[2], b"user: -\nn: 1\n", "logged out")


def test_lmdb_sessions_shared_by_workers():
    with Gale(conf=CONF % '{ store = "lmdb"; dir = "@TMP@/state"; }') as g:
        _flow(g)
        check(os.path.exists(os.path.join(g.tmp, "state")), "the LMDB folder was made")


def test_lmdb_folder_of_the_workers_under_the_units_capabilities():
    """As under systemd/gale.service (no CAP_CHOWN): a sessions folder made
    for the workers beforehand (tmpfiles.d) is used as it is. It once was
    chowned anyway, which failed there, and no worker started."""
    if os.geteuid() != 0:
        return  # nothing is chowned when gale does not start as root
    import pwd
    nobody = pwd.getpwnam("nobody")
    top = tempfile.mkdtemp(prefix="gale-test-state-")
    try:
        os.chmod(top, 0o755)
        state = os.path.join(top, "state")
        os.mkdir(state, 0o700)
        os.chown(state, nobody.pw_uid, nobody.pw_gid)
        with unit_capabilities():
            with Gale(conf=CONF % '{ store = "lmdb"; dir = "%s"; }' % state, notify=True) as g:
                c = Client(g)
                eq(c.request("GET", "/whoami")[2], b"user: -\nn: 1\n", "a new visitor")
                eq(c.request("GET", "/whoami")[2], b"user: -\nn: 2\n", "the session persists")
                check("cannot give" not in g.log(), "a chown was tried:\n%s" % g.log_tail())
    finally:
        shutil.rmtree(top, ignore_errors=True)


class Redis:
    def __init__(self):
        exe = shutil.which("redis-server")
        if not exe:
            fail("redis-server is not installed (scripts/test installs it)")
        self.port = free_port("127.0.0.1")
        self.proc = subprocess.Popen([exe, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.close()
        fail("redis-server did not start")

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def test_redis_sessions_shared_by_two_instances():
    redis = Redis()
    try:
        conf = CONF % ('{ store = "redis"; redis = { port = %d; prefix = "t:"; }; }' % redis.port)
        with Gale(conf=conf) as a, Gale(conf=conf) as b:
            _flow(a)
            c = Client(a)
            c.login("bob")
            other = Client(b)
            other.cookies = dict(c.cookies)
            eq(other.request("GET", "/whoami")[2].split(b"\n")[0], b"user: bob",
               "a login on one instance is seen on the other")
    finally:
        redis.close()


if __name__ == "__main__":
    main()

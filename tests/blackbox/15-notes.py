#!/usr/bin/env python3
"""15-notes: the framework demo (modules/notes) as a user drives it, with
curl and a cookie jar: sign up, log in, add notes (XSRF-protected forms),
log out; every refusal (400, 403, 409); and two gale instances sharing one
login and the notes through a real redis-server."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import GALE_MODULES, Gale, Skip, check, eq, fail, free_port, main, www_conf  # noqa: E402

NOTES = os.path.join(GALE_MODULES, "notes.so")
CONF = """
workers = 2;
access_log = "off";
cookie_secret = "notes test secret";
xsrf_cookies = true;
sessions = %s;
login_url = "/login";
%s
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
modules = ( { path = "%s"; settings = { iterations = 20000; };
              routes = ( { path = "/signup"; handler = "signup"; },
                         { path = "/login"; handler = "login"; },
                         { path = "/logout"; handler = "logout"; },
                         { path = "/notes"; handler = "notes"; authenticated = true; },
                         { path = "/notes/add"; handler = "add"; authenticated = true; } ); } );
"""


class Browser:
    """curl with a cookie jar, reading the XSRF token from each page."""

    def __init__(self, g, jar):
        self.g, self.jar = g, jar

    def run(self, *args):
        out = subprocess.run(["curl", "-s", "-b", self.jar, "-c", self.jar,
                              "-w", "\n%{http_code} %{redirect_url}"] + list(args),
                             capture_output=True, timeout=30)
        body, _, tail = out.stdout.rpartition(b"\n")
        code, _, location = tail.decode().partition(" ")
        return int(code), location, body

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.g.port, path)

    def get(self, path):
        return self.run(self.url(path))

    def token(self, path):
        code, _, page = self.get(path)
        m = re.search(rb'name="_xsrf" value="([^"]+)"', page)
        check(m, "%s has an XSRF token (status %d): %r" % (path, code, page[:200]))
        return m.group(1).decode()

    def post(self, path, fields, form=None):
        args = [self.url(path)]
        for k, v in fields.items():
            args += ["--data-urlencode", "%s=%s" % (k, v)]
        if form is not None:
            args += ["--data-urlencode", "_xsrf=" + self.token(form)]
        return self.run(*args)


def _notes(g):
    if not os.path.exists(NOTES):
        raise Skip("notes.so not built")
    b = Browser(g, os.path.join(g.tmp, "jar"))
    code, loc, _ = b.get("/notes")
    eq((code, loc.endswith("/login?next=%2Fnotes")), (302, True), "notes need a login")
    code, loc, _ = b.post("/signup", {"user": "ann", "password": "correct horse"}, "/signup")
    eq((code, loc.endswith("/notes")), (303, True), "sign up logs in")
    code, _, page = b.get("/notes")
    eq(code, 200, "the notes page")
    check(b'<span class="who">ann</span>' in page, "the user is shown: %r" % page[:300])
    for text in ("first <b>note</b>", "second \u00e9"):
        code, loc, _ = b.post("/notes/add", {"text": text}, "/notes")
        eq((code, loc.endswith("/notes")), (303, True), "add a note")
    page = b.get("/notes")[2]
    check(b'<div class="text">first &lt;b&gt;note&lt;/b&gt;</div>' in page, "notes escaped: %r" % page)
    check("second \u00e9".encode() in page, "UTF-8 kept")
    eq(b.post("/notes/add", {"text": "no token"})[0], 403, "a post without the XSRF token")
    eq(b.post("/logout", {}, "/notes")[1].endswith("/login"), True, "log out")
    eq(b.get("/notes")[0], 302, "logged out")
    eq(b.post("/login", {"user": "ann", "password": "wrong one!"}, "/login")[0], 403,
       "a wrong password")
    eq(b.post("/login", {"user": "nobody", "password": "whatever1"}, "/login")[0], 403,
       "an unknown user")
    eq(b.post("/signup", {"user": "ann", "password": "another pass"}, "/signup")[0], 409,
       "a taken name")
    eq(b.post("/signup", {"user": "Bad Name", "password": "whatever1"}, "/signup")[0], 400,
       "a bad name")
    eq(b.post("/signup", {"user": "bob"}, "/signup")[0], 400, "a missing password")
    code, loc, _ = b.post("/login", {"user": "ann", "password": "correct horse",
                                     "next": "/notes"}, "/login")
    eq((code, loc.endswith("/notes")), (303, True), "log in again")
    check(b"second" in b.get("/notes")[2], "the notes are still there")
    return b


def test_notes_flow_lmdb():
    with Gale(conf=CONF % ('{ store = "lmdb"; dir = "@TMP@/state"; }', www_conf(), NOTES)) as g:
        _notes(g)


def _redis():
    exe = shutil.which("redis-server")
    if not exe:
        fail("redis-server is not installed (scripts/test installs it)")
    port = free_port("127.0.0.1")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    fail("redis-server did not start")


def test_two_instances_share_login_and_notes():
    proc, port = _redis()
    try:
        conf = CONF % ('{ store = "redis"; redis = { port = %d; }; }' % port, www_conf(), NOTES)
        with Gale(conf=conf) as a, Gale(conf=conf) as other:
            b = _notes(a)
            there = Browser(other, b.jar)  # the same browser, another instance
            code, _, page = there.get("/notes")
            eq(code, 200, "logged in on the other instance too")
            check(b"second" in page, "the notes too")
            code, _, _ = there.post("/notes/add", {"text": "from B"}, "/notes")
            eq(code, 303, "add through the other instance")
            check(b"from B" in b.get("/notes")[2], "seen on the first instance")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()

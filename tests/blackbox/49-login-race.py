#!/usr/bin/env python3
"""49-login-race: a login's state is used once, even by callbacks that
arrive at the same instant.

The login module's demo provider (modules/login/login_demo.c) keeps
nothing: its codes are signed and can be exchanged again, so only the
state's single use stands between a copied callback URL (with its login
cookie) and a second session. Several copies of one callback are fired at
once, over separate connections, at two workers sharing LMDB and at two
instances sharing a redis-server started here; exactly one logs in, every
other one ends on the "already used" failure page. Rounds repeat it, each
with a new login.
"""

import http.client
import os
import shutil
import threading
import urllib.parse

import galetest
from galetest import GALE_MODULES, Gale, check, eq, fail

pubsub = galetest.load_test("17-pubsub")  # its Redis: a redis-server on a free port

COPIES = 6  # callbacks fired at once
ROUNDS = 4

CONF = """
workers = 2;
access_log = "off";
cookie_secret = "login race secret";
sessions = %(sessions)s;
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
modules = (
  { path = "%(login)s";
    settings = {
      after_login = "/whoami";
      demo_provider = "race demo secret";
      providers = {
        demo = { kind = "oauth2"; client_id = "race"; client_secret = "race demo secret";
                 authorize_url = "/mockauth/authorize";
                 token_url = "http://127.0.0.1:@PORT@/mockauth/token";
                 userinfo_url = "http://127.0.0.1:@PORT@/mockauth/user";
                 user_field = "login"; user_prefix = "demo:"; };
      };
    };
    routes = ( { path = "/auth/([a-z0-9_]+)"; handler = "login"; },
               { path = "/auth/([a-z0-9_]+)/callback"; handler = "callback"; },
               { path = "/mockauth/(authorize|token|user)"; handler = "demo"; xsrf = false; } ); },
  { path = "@HELLO@"; routes = ( { path = "/whoami"; handler = "whoami"; } ); }
);
"""


def start(sessions):
    login = os.path.join(GALE_MODULES, "login.so")
    if not os.path.exists(login):
        fail("login.so not built")
    return Gale(conf=CONF % {"sessions": sessions, "login": login})


def get(port, target, cookies=None):
    """One GET on its own connection: (status, Location, Set-Cookie pairs, body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        headers = {"Cookie": "; ".join("%s=%s" % kv for kv in cookies.items())} if cookies else {}
        c.request("GET", target, headers=headers)
        r = c.getresponse()
        body = r.read()
        jar = {}
        for v in r.msg.get_all("Set-Cookie") or []:
            name, _, rest = v.partition("=")
            jar[name] = rest.split(";")[0]
        return r.status, r.getheader("Location"), jar, body
    finally:
        c.close()


def path_of(url):
    u = urllib.parse.urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def callback(g, name):
    """A login started and approved at the demo provider: the callback's
    path and the browser's cookies (the login cookie)."""
    status, loc, jar, body = get(g.port, "/auth/demo")
    eq(status, 302, "the start: %r" % body[:200])
    status, back, _, body = get(g.port, path_of(loc) + "&name=" + name, jar)
    eq(status, 302, "the demo provider's approval: %r" % body[:200])
    check("/auth/demo/callback?" in back, "back to the callback: %s" % back)
    return path_of(back), jar


def fire(ports, target, jar):
    """COPIES GETs of target, released together, spread over ports."""
    results = [None] * COPIES
    barrier = threading.Barrier(COPIES)

    def one(i):
        barrier.wait()
        try:
            results[i] = get(ports[i % len(ports)], target, jar)
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=one, args=(i,)) for i in range(COPIES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def race(instances, what):
    for n in range(ROUNDS):
        name = "racer%d" % n
        target, jar = callback(instances[0], name)
        results = fire([g.port for g in instances], target, jar)
        for r in results:
            check(isinstance(r, tuple), "%s: a callback failed on the wire: %r" % (what, r))
        won = [r for r in results if r[0] == 302]
        lost = [r for r in results if r[0] == 400 and b"already used" in r[3]]
        eq((len(won), len(lost)), (1, COPIES - 1),
           "%s round %d: one login, the others refused: %r"
           % (what, n, [(r[0], r[3][-120:]) for r in results]))
        check(won[0][1].endswith("/whoami"), "the winner goes on: %r" % (won[0][1],))
        who = get(instances[0].port, "/whoami", won[0][2])[3].decode().splitlines()[0]
        eq(who, "user: demo:" + name, "the winner is logged in")
    for g in instances:
        n = g.log().count("logged in with demo")
        check(n <= ROUNDS, "%s: at most one login a round in the logs, not %d" % (what, n))


def test_two_workers_lmdb():
    with start('{ store = "lmdb"; dir = "@TMP@/sessions"; }') as g:
        g.wait_workers(2)
        race([g], "two workers on LMDB")


def test_two_instances_redis():
    if shutil.which("redis-server") is None:
        fail("redis-server not installed")
    redis = pubsub.Redis()
    try:
        sessions = '{ store = "redis"; redis = { port = %d; }; }' % redis.port
        with start(sessions) as a, start(sessions) as b:
            race([a, b], "two instances on Redis")
    finally:
        redis.close()


if __name__ == "__main__":
    galetest.main()

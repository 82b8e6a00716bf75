#!/usr/bin/env python3
"""18-chat: the chat demo (modules/chat), Tornado's chatdemo on gale's
publish/subscribe: the page and its token, posts (XSRF, validation, the
redirect of forms without JS), long polling with cursors across two workers
(at once, held then answered, the whole cache for an unknown cursor, the
timeout), the WebSocket room with the npm `ws` client, the page itself in
headless Chromium (long polling, WebSocket and Server-Sent Events, with the
line of who is here), and two gale instances sharing one room through a
real redis-server."""

import atexit
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (GALE_MODULES, REPO, Gale, Skip, check, eq, fail, free_port,  # noqa: E402
                      main, node, node_module, request)

CHAT = os.path.join(GALE_MODULES, "chat.so")
SOURCE_STATIC = os.path.join(REPO, "modules", "chat", "static")


def _readable_static():
    """A copy of the page's files that the workers can read: they drop to
    nobody, and the tree may sit in a folder only root can enter (a clone in
    `mktemp -d`)."""
    tmp = tempfile.mkdtemp(prefix="gale-chat-static-")
    os.chmod(tmp, 0o755)
    atexit.register(shutil.rmtree, tmp, True)
    for name in os.listdir(SOURCE_STATIC):
        shutil.copy(os.path.join(SOURCE_STATIC, name), tmp)
        os.chmod(os.path.join(tmp, name), 0o644)
    return tmp


NODE_DIR = os.path.join(REPO, "tests", "node")
CHROMIUM = "/usr/bin/chromium"

CONF = """
workers = 2;
access_log = "off";
cookie_secret = "chat test secret";
xsrf_cookies = true;
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
pubsub = %(pubsub)s;
modules = ( { path = "%(so)s";
              settings = { %(static)s poll_timeout = %(timeout)r;
                           cache_size = %(cache)d; title = "Test <room>"; };
              routes = ( { path = "/"; handler = "page"; },
                         { path = "/static/(chat\\\\.js|chat\\\\.css)"; handler = "static"; },
                         { path = "/a/message/new"; handler = "new"; },
                         { path = "/a/message/updates"; handler = "updates"; },
                         { path = "/a/message/events"; handler = "events"; },
                         { path = "/a/here"; handler = "here"; },
                         { path = "/chatsocket"; handler = "socket"; websocket = true; } ); } );
"""


# The room's messages live in its channel's history (the chat keeps none).
HISTORY = 'history = ( { channel = "chat"; size = 200; } );'


def chat(timeout=30.0, cache=200, pubsub='{ backend = "local"; %s }' % HISTORY, static=None):
    """gale with the chat room; its page from chat.so's own copy, or from the
    folder `static`."""
    if not os.path.exists(CHAT):
        raise Skip("chat.so not built")
    folder = 'static = "%s";' % static if static else ""
    return Gale(conf=CONF % dict(pubsub=pubsub, so=CHAT, static=folder, timeout=float(timeout),
                                 cache=cache))


def workers_of(g, local_ports):
    """The pids of the workers holding the server side of our connections
    from local_ports (from /proc), or None when /proc cannot tell. The
    requests must have been read already: a socket not yet accepted has no
    inode."""
    inodes = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    cols = line.split()
                    local, remote = int(cols[1].rsplit(":", 1)[1], 16), int(
                        cols[2].rsplit(":", 1)[1], 16)
                    if local == g.port and remote in local_ports:
                        inodes["socket:[%s]" % cols[9]] = remote
        except OSError:
            pass
    owner = {}
    for w in g.workers():
        try:
            for fd in os.listdir("/proc/%d/fd" % w):
                port = inodes.get(os.readlink("/proc/%d/fd/%s" % (w, fd)))
                if port is not None:
                    owner[port] = w
        except OSError:
            return None
    return [owner.get(p) for p in local_ports] if len(owner) == len(local_ports) else None


class Poll:
    """A long poll sent on a fresh connection; answer() reads its response."""

    def __init__(self, room, cursor):
        self.conn = http.client.HTTPConnection("127.0.0.1", room.g.port, timeout=15)
        self.conn.connect()
        self.port = self.conn.sock.getsockname()[1]
        body, headers = room.form({"cursor": cursor} if cursor is not None else {})
        self.conn.request("POST", "/a/message/updates", body=body, headers=headers)
        self.result = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            r = self.conn.getresponse()
            self.result = (r.status, r.read())
        except Exception as e:  # reported by answer()
            self.result = (None, repr(e).encode())
        finally:
            self.conn.close()

    def answer(self, timeout=10):
        self.thread.join(timeout)
        check(self.result is not None, "a long poll did not answer within %ss" % timeout)
        status, body = self.result
        eq(status, 200, "long poll status (%r)" % body[:200])
        return json.loads(body)["messages"]


class Room:
    """A visitor: the page's XSRF token and cookie, then posts on fresh
    connections (so that both workers answer some)."""

    def __init__(self, g):
        self.g = g
        status, headers, body = g.get("/")
        eq(status, 200, "GET /")
        m = re.search(rb'<meta name="xsrf-token" content="([^"]+)">', body)
        check(m, "the page has the token in a meta element: %r" % body[:400])
        self.token = m.group(1).decode()
        self.page = body
        self.headers = headers
        cookie = [c for c in headers.get_all("set-cookie") if c.startswith("_xsrf=")]
        check(cookie, "the page sets the _xsrf cookie: %r" % headers)
        self.cookie = cookie[0].split(";")[0]

    def form(self, fields, token=True):
        fields = dict(fields)
        if token:
            fields["_xsrf"] = self.token
        return (urllib.parse.urlencode(fields),
                {"Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie})

    def post(self, path, fields, token=True, headers=None):
        body, h = self.form(fields, token)
        h.update(headers or {})
        return request(self.g.port, "POST", path, body=body, headers=h)

    def new(self, body, name=None):
        fields = {"body": body}
        if name is not None:
            fields["name"] = name
        status, headers, answer = self.post("/a/message/new", fields)
        eq(status, 200, "posting %r (%r)" % (body[:40], answer[:200]))
        check(headers.get("content-type", "").startswith("application/json"),
              "a message is answered as JSON: %r" % headers)
        return json.loads(answer)

    def updates(self, cursor=None):
        fields = {"cursor": cursor} if cursor is not None else {}
        status, _, body = self.post("/a/message/updates", fields)
        eq(status, 200, "updates (%r)" % body[:200])
        return json.loads(body)["messages"]


def ids(messages):
    return [m["id"] for m in messages]


def settle():
    """Let a published message reach every worker (through the master)."""
    time.sleep(0.2)


# ---------------------------------------------------------------- HTTP


def test_page_and_static_files():
    with chat() as g:
        room = Room(g)
        eq(room.headers.get("content-type"), "text/html; charset=utf-8", "page type")
        eq(room.headers.get("cache-control"), "no-cache", "the page is not cached")
        check("default-src 'self'" in room.headers.get("content-security-policy", ""),
              "the page has a CSP: %r" % room.headers)
        page = room.page.decode()
        check('name="_xsrf" value="%s"' % room.token in page, "the form has the token too")
        check("<title>Test &lt;room&gt;</title>" in page, "the title is escaped")
        for needed in ('id="messageform"', 'id="message"', 'id="name"', 'id="inbox"'):
            check(needed in page, "the page has %s" % needed)
        check("{{" not in page, "every slot of the template is filled")
        for name, ctype in (("chat.js", "text/javascript"), ("chat.css", "text/css")):
            v = re.search(r'/static/%s\?v=([0-9a-f]{16})"' % re.escape(name), page)
            check(v, "the page links %s with its version" % name)
            status, headers, body = g.get("/static/%s?v=%s" % (name, v.group(1)))
            eq(status, 200, name)
            check(headers.get("content-type", "").startswith(ctype), "%s type %r" % (name, headers))
            with open(os.path.join(SOURCE_STATIC, name), "rb") as f:
                eq(body, f.read(), "%s is the file" % name)
            check("immutable" in headers.get("cache-control", ""), "a versioned URL is kept")
            status, headers, _ = g.get("/static/" + name)
            eq((status, headers.get("cache-control")), (200, "public, max-age=60"),
               "an unversioned URL is kept a minute")
        eq(g.get("/static/index.html")[0], 404, "only chat.js and chat.css are static")


def test_page_from_a_static_folder():
    """With the static setting the page, script and style come from that
    folder (read by the workers, as nobody) instead of chat.so's copy."""
    folder = _readable_static()
    with open(os.path.join(folder, "chat.css"), "ab") as f:
        f.write(b"\n/* from the folder */\n")
    with chat(static=folder) as g:
        status, _, body = g.get("/static/chat.css")
        eq(status, 200, "chat.css")
        check(body.endswith(b"/* from the folder */\n"), "chat.css comes from the folder")
        eq(g.get("/")[0], 200, "the page")


def test_posts_need_the_token_and_are_checked():
    with chat() as g:
        room = Room(g)
        status, _, body = room.post("/a/message/new", {"body": "no token"}, token=False)
        eq(status, 403, "a post without the XSRF token")
        status, _, body = room.post("/a/message/new", {"body": "x", "_xsrf": "2|00|11|22"},
                                    token=False)
        eq(status, 403, "a post with a wrong token")
        m = room.new("hello <b>", "ann")
        check(re.match(r"^[0-9a-f]{32}$", m["id"]), "the id is 32 hex digits: %r" % m)
        eq((m["from"], m["body"]), ("ann", "hello <b>"), "the message")
        check(isinstance(m["time"], float) and abs(m["time"] - time.time()) < 60, "time: %r" % m)
        eq(room.new("no name")["from"], "anonymous", "no name")
        eq(room.new("empty name", "")["from"], "anonymous", "an empty name")
        eq(room.new("\u00e9t\u00e9 \U0001f600", "\u00e9lo\u00efse")["body"],
           "\u00e9t\u00e9 \U0001f600", "UTF-8")
        eq(len(room.new("y" * 2000)["body"]), 2000, "2000 bytes is the limit")
        _, h = room.form({"body": "by header"}, token=False)
        h["X-XSRFToken"] = room.token
        status, _, body = request(g.port, "POST", "/a/message/new", body="body=by+header",
                                  headers=h)
        eq(status, 200, "the token in the X-XSRFToken header (%r)" % body)
        for fields, what in (({}, "no body"), ({"body": ""}, "an empty body"),
                             ({"body": "y" * 2001}, "a body of 2001 bytes"),
                             ({"body": "\u00e9" * 1001}, "1001 characters of 2 bytes"),
                             ({"body": b"\xff\xfe"}, "a body that is not UTF-8"),
                             ({"body": "ok", "name": "n" * 41}, "a name of 41 bytes")):
            status, _, body = room.post("/a/message/new", fields)
            eq(status, 400, what)
            check(len(body) > 0, "a 400 says why")
        # a form without JS: next sends the browser back
        for nxt, where in (("/", "/"), ("/room?x=1", "/room?x=1"), ("//evil.example/", "/"),
                           ("https://evil.example/", "/"), ("/\\evil.example", "/")):
            status, headers, _ = room.post("/a/message/new", {"body": "form", "next": nxt})
            eq((status, headers.get("location")), (303, where), "next=%r" % nxt)
        status, headers, body = room.post("/a/message/new?next=/", {"body": "<script>x"})
        eq(status, 303, "next in the query, as the page's form sends it")
        settle()
        page = Room(g).page.decode()
        check('<span class="body">&lt;script&gt;x</span>' in page, "the page shows the cache "
              "escaped: %r" % page[-1500:])
        eq(g.get("/a/message/new")[0], 405, "GET on a POST route")


def test_long_polls_across_workers_get_a_new_message():
    with chat() as g:
        room = Room(g)
        first = room.new("first")
        settle()
        polls = [Poll(room, None)]  # no cursor: the next message
        for _ in range(3):  # more polls until /proc shows both workers hold some
            polls += [Poll(room, first["id"]) for _ in range(8)]
            time.sleep(0.3)
            owners = workers_of(g, [p.port for p in polls])
            if owners is None or len(set(owners)) == 2:
                break
        if owners is not None:
            eq(len(set(owners)), 2, "the long polls wait in both workers")
        check(all(p.result is None for p in polls), "the polls wait: %r"
              % [p.result for p in polls if p.result])
        second = Room(g).new("second")
        for p in polls:  # the first has no cursor: the same answer
            eq(p.answer(), [second], "every long poll gets the new message")


def test_cursors_agree_in_every_worker():
    with chat() as g:
        room = Room(g)
        posted = [room.new("m%d" % i, "w") for i in range(10)]  # through both workers
        settle()
        all_ids = ids(posted)
        for _ in range(6):  # fresh connections: both workers answer
            eq(ids(room.updates(all_ids[3])), all_ids[4:], "after a cursor, in the order posted")
            eq(ids(room.updates("f" * 32)), all_ids, "an unknown cursor gets the whole cache")
            eq(ids(room.updates("")), all_ids, "an empty cursor gets the whole cache")
        page = Room(g).page.decode()
        eq(re.findall(r'class="message" id="m[0-9a-f]{32}" data-id="([0-9a-f]{32})"', page),
           all_ids, "the page shows the cache in order")
        check('data-cursor="%s"' % all_ids[-1] in page, "the page carries the cursor")


def test_the_cache_keeps_the_last_messages():
    with chat(cache=3) as g:
        room = Room(g)
        posted = ids(room.new("m%d" % i) for i in range(5))
        settle()
        eq(ids(room.updates(posted[0])), posted[2:], "an evicted cursor gets the whole cache")
        eq(ids(room.updates(posted[2])), posted[3:], "a cached cursor")


def test_a_long_poll_times_out_harmlessly():
    with chat(timeout=1.0) as g:
        room = Room(g)
        last = room.new("only")
        settle()
        for cursor in (last["id"], None):
            t0 = time.monotonic()
            eq(room.updates(cursor), [], "a poll that waited in vain is answered empty")
            took = time.monotonic() - t0
            check(0.8 < took < 5, "it waited poll_timeout (%.2fs)" % took)
        # a client that goes away while it waits, then life goes on
        gone = socket.create_connection(("127.0.0.1", g.port))
        body, h = room.form({"cursor": last["id"]})
        head = "".join("%s: %s\r\n" % kv for kv in h.items())
        gone.sendall(("POST /a/message/updates HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n"
                      "\r\n%s" % (head, len(body), body)).encode())
        time.sleep(0.2)
        gone.close()
        later = Poll(room, last["id"])
        time.sleep(0.2)
        after = room.new("after")
        eq(later.answer(), [after], "a poll still gets the next message")
        check(g.running(), "gale runs")


# ---------------------------------------------------------------- WebSocket and browsers


def run_node(script, *args, timeout=40):
    rc, out, err = node(os.path.join(NODE_DIR, script), *args, timeout=timeout)
    for line in out.splitlines():
        print("# " + line)
    check(rc == 0, "%s failed (%d): %s\n%s" % (script, rc, err.strip()[-3000:], out[-2000:]))


def test_websocket_room():
    node_module("ws")
    with chat() as g:
        run_node("chat-ws.js", g.url(""))


def browser():
    node_module("playwright-core")
    if not os.access(CHROMIUM, os.X_OK):
        raise Skip("%s not found" % CHROMIUM)


def test_browser_room_polling_and_websocket():
    browser()
    with chat() as g:
        run_node("chat-browser.js", g.url(""), g.url(""), "poll", "ws", timeout=40)


def test_browser_room_server_sent_events():
    browser()
    with chat() as g:
        run_node("chat-browser.js", g.url(""), g.url(""), "sse", timeout=40)


def redis():
    exe = shutil.which("redis-server")
    if not exe:
        fail("redis-server is not installed (scripts/test installs it)")
    port = free_port("127.0.0.1")
    d = __import__("tempfile").mkdtemp(prefix="gale-redis-")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", d], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port, d
        except OSError:
            time.sleep(0.05)
    proc.terminate()
    shutil.rmtree(d, ignore_errors=True)
    fail("redis-server did not start")


def test_two_instances_share_the_room_through_redis():
    browser()
    proc, port, d = redis()
    try:
        pubsub = '{ backend = "redis"; redis = { port = %d; prefix = "chat-test:"; }; %s }' % (
            port, HISTORY)
        with chat(pubsub=pubsub) as one, chat(pubsub=pubsub) as two:
            a, b = Room(one), Room(two)
            waiting = Poll(b, "")
            time.sleep(0.3)
            m = a.new("from instance one")
            eq(waiting.answer(), [m], "a post on one instance reaches a poll on the other")
            settle()
            eq(ids(b.updates("")), [m["id"]], "and the other instance's cache")
            run_node("chat-browser.js", one.url(""), two.url(""), "poll", "ws", timeout=40)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

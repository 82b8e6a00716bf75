#!/usr/bin/env python3
"""32-channels: causal publish, history and recovery, Server-Sent Events.

The chantest module (tests/modules/chantest.c) publishes with
gale_publish_then (POST /pub, answered once the master sequenced the
message: "WORKER EPOCH OFFSET"), streams a channel as Server-Sent Events
(GET /events: gale_request_sse) and tells which worker serves (GET
/whoami). The SSE clients here are raw sockets: they parse the chunked
text/event-stream themselves and, like EventSource, reconnect with
Last-Event-ID when a stream ends.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

import galetest
from galetest import Gale, check, eq, module_path, wait_for

ROUTES = (
    ("/pub", "pub"),
    ("/pubfast", "pubfast"),
    ("/events", "events"),
    ("/whoami", "whoami"),
    ("/since", "since", {"websocket": True}),
    ("/waitsince", "waitsince"),
)

HISTORY = """pubsub = { history = (
  { channel = "hist*"; size = 5; },
  { channel = "load*"; size = 10000; },
  { channel = "brief*"; size = 10; ttl = 1; } ); };"""


def start(workers=2, extra=HISTORY, **kw):
    return Gale(workers=workers, module=module_path("chantest"), routes=ROUTES, extra=extra, **kw)


def q(channel):
    return urllib.parse.quote(channel)


class Conn:
    """A keep-alive connection, and the worker that serves it."""

    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        self.c.request("GET", "/whoami")
        r = self.c.getresponse()
        self.worker = int(r.read().split()[0])

    def send_pub(self, channel, body):
        self.c.request("POST", "/pub?channel=" + q(channel), body=body.encode())

    def answer(self):
        r = self.c.getresponse()
        body = r.read()
        eq(r.status, 200, "publish status")
        worker, epoch, offset = body.split()
        return int(epoch), int(offset)

    def pub(self, channel, body):
        self.send_pub(channel, body)
        return self.answer()

    def close(self):
        self.c.close()


def conns_on_every_worker(port, n=2, tries=60):
    """{worker: Conn} with one connection per worker."""
    by = {}
    for _ in range(tries):
        c = Conn(port)
        if c.worker in by:
            c.close()
        else:
            by[c.worker] = c
        if len(by) == n:
            return by
    galetest.fail("no connection reached every worker: %r" % sorted(by))


def publish(port, channel, body):
    c = Conn(port)
    try:
        return c.pub(channel, body)
    finally:
        c.close()


class SSE(threading.Thread):
    """A raw-socket EventSource: events as (id, event, data); reconnects with
    Last-Event-ID when the stream ends (reconnect=True) as a browser does."""

    def __init__(self, port, channel, last_id=None, reconnect=False, extra=""):
        super().__init__(daemon=True)
        self.port, self.channel, self.last_id, self.reconnect = port, channel, last_id, reconnect
        self.extra = extra
        self.events, self.workers, self.comments = [], [], []
        self.streams = 0
        self.retry = None
        self.headers = None
        self.error = None
        self.stopping = False
        self.cond = threading.Condition()
        self.sock = None
        self.start()

    def run(self):
        try:
            while not self.stopping:
                self.one_stream()
                if not self.reconnect:
                    break
                time.sleep(0.05)
        except Exception as e:  # noqa: BLE001 - reported by the test
            if not self.stopping:
                self.error = e
        with self.cond:
            self.cond.notify_all()

    def one_stream(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        self.sock = s
        head = "GET /events?channel=%s%s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n" % (
            q(self.channel), self.extra)
        if self.last_id:
            head += "Last-Event-ID: %s\r\n" % self.last_id
        s.sendall((head + "\r\n").encode())
        f = s.makefile("rb")
        status = f.readline()
        if not status:  # a worker that drained just as we connected
            s.close()
            return
        check(status.startswith(b"HTTP/1.1 200"), "SSE status: %r" % status)
        headers = {}
        while True:
            line = f.readline()
            if line in (b"\r\n", b""):
                break
            k, v = line.decode().split(":", 1)
            headers[k.strip().lower()] = v.strip()
        with self.cond:
            self.headers = headers
            self.streams += 1
        check(headers.get("transfer-encoding") == "chunked", "chunked: %r" % headers)
        buf = b""
        while True:
            size_line = f.readline()
            if not size_line:
                break
            size = int(size_line.strip() or b"0", 16)
            if size == 0:
                f.readline()
                break
            buf += f.read(size)
            f.readline()
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                self.block(block.decode())
        s.close()

    def block(self, block):
        ev = {"data": []}
        for line in block.split("\n"):
            if line.startswith(":"):
                text = line[1:].strip()
                with self.cond:
                    if text.startswith("worker "):
                        self.workers.append(int(text.split()[1]))
                    self.comments.append(text)
                    self.cond.notify_all()
                continue
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            if k == "data":
                ev["data"].append(v)
            elif k in ("id", "event", "retry"):
                ev[k] = v
        if "retry" in ev:
            self.retry = int(ev["retry"])
        if "id" in ev:
            self.last_id = ev["id"]
        if ev["data"]:
            with self.cond:
                self.events.append((ev.get("id"), ev.get("event", "message"), "\n".join(ev["data"])))
                self.cond.notify_all()

    def wait(self, cond, timeout=15):
        end = time.monotonic() + timeout
        with self.cond:
            while not cond(self):
                left = end - time.monotonic()
                if left <= 0 or (self.error and not self.is_alive()):
                    return False
                self.cond.wait(min(left, 0.2))
        return True

    def wait_events(self, n, timeout=15):
        check(self.wait(lambda s: len(s.events) >= n, timeout),
              "SSE got %d of %d events (error %r): %r" % (len(self.events), n, self.error,
                                                         self.events[-5:]))
        return self.events

    def stop(self):
        self.stopping = True
        if self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.join(5)


def readers_on_every_worker(port, channel, workers=2, most=24):
    readers = []
    while len(readers) < most:
        r = SSE(port, channel)
        check(r.wait(lambda s: s.workers), "SSE stream did not start (%r)" % r.error)
        readers.append(r)
        if len(readers) >= 4 and len({w for x in readers for w in x.workers}) == workers:
            return readers
    galetest.fail("SSE streams all on one worker")


def ids(events):
    return [e[0] for e in events]


def datas(events):
    return [e[2] for e in events]


# ---- causal publish ----

def test_causal_pairs_across_workers_with_a_stalled_master():
    """Publish on worker A, wait for the report, publish on worker B: every
    subscriber on every worker sees A's before B's, also when the master
    was stopped while A's message waited for it (before causal publish,
    B's message could then overtake A's)."""
    with start() as g:
        readers = readers_on_every_worker(g.port, "pairs")
        conns = conns_on_every_worker(g.port)
        a, b = conns[0], conns[1]
        pairs = 150
        want, offsets = [], []
        for i in range(pairs):
            if i % 3 == 0:  # A's message waits in the master's socket
                os.kill(g.pid, signal.SIGSTOP)
                try:
                    a.send_pub("pairs", "a%d" % i)
                    time.sleep(0.005)
                finally:
                    os.kill(g.pid, signal.SIGCONT)
                ea, oa = a.answer()
            else:
                ea, oa = a.pub("pairs", "a%d" % i)
            eb, ob = b.pub("pairs", "b%d" % i)
            eq(eb, ea, "one epoch")
            eq(ob, oa + 1, "B's offset right after A's")
            want += ["a%d" % i, "b%d" % i]
            offsets += [oa, ob]
        eq(offsets, list(range(1, 2 * pairs + 1)), "offsets 1, 2, ...")
        epoch = ea
        for r in readers:
            evs = r.wait_events(2 * pairs)
            eq(datas(evs), want, "messages seen by a subscriber on worker %d" % r.workers[0])
            eq(ids(evs), ["%d:%d" % (epoch, o) for o in offsets], "event ids")
            r.stop()
        for c in conns.values():
            c.close()


def test_publish_report_waits_for_the_master():
    """The report comes only once the master has sequenced the message."""
    with start(workers=1) as g:
        c = Conn(g.port)
        os.kill(g.pid, signal.SIGSTOP)
        try:
            c.send_pub("slow", "x")
            c.c.sock.settimeout(0.3)
            try:
                c.c.getresponse()
                galetest.fail("answered while the master was stopped")
            except socket.timeout:
                pass
        finally:
            os.kill(g.pid, signal.SIGCONT)
        c.close()
        e, o = publish(g.port, "slow", "y")
        eq(o, 2, "the stalled message was sequenced first")


# ---- history and recovery ----

def test_resume_from_an_offset():
    with start() as g:
        e, o1 = publish(g.port, "hist", "one")
        publish(g.port, "hist", "two")
        publish(g.port, "hist", "three\nlines")
        r = SSE(g.port, "hist", last_id="%d:%d" % (e, o1))
        evs = r.wait_events(2)
        eq(evs, [("%d:2" % e, "message", "two"), ("%d:3" % e, "message", "three\nlines")],
           "missed messages")
        check(r.wait(lambda s: s.workers), "stream started")
        publish(g.port, "hist", "four")
        evs = r.wait_events(3)
        eq(evs[2], ("%d:4" % e, "message", "four"), "then live")
        eq(r.retry, 1000, "retry")
        eq(r.headers.get("content-type"), "text/event-stream; charset=utf-8", "type")
        eq(r.headers.get("cache-control"), "no-cache", "cache-control")
        # up to date: nothing again
        r2 = SSE(g.port, "hist", last_id="%d:4" % e)
        check(r2.wait(lambda s: s.workers), "stream started")
        publish(g.port, "hist", "five")
        eq(r2.wait_events(1), [("%d:5" % e, "message", "five")], "only the new one")
        time.sleep(0.2)
        eq(len(r.events), 4, "no repeat")
        eq(len(r2.events), 1, "no repeat")
        # a first connection says where it starts in the URL
        r3 = SSE(g.port, "hist", extra="&last_event_id=%d:3" % e)
        eq(datas(r3.wait_events(2)), ["four", "five"], "from the query argument")
        r.stop()
        r2.stop()
        r3.stop()


def test_cannot_recover():
    with start() as g:
        for i in range(8):
            e, _ = publish(g.port, "hist", "m%d" % i)  # offsets 1..8, 4..8 kept
        r = SSE(g.port, "hist", last_id="%d:3" % e)
        eq(datas(r.wait_events(5)), ["m%d" % i for i in range(3, 8)], "all kept: recovered")
        lost = SSE(g.port, "hist", last_id="%d:2" % e)
        eq(lost.wait_events(1), [("%d:8" % e, "lost", "%d:8" % e)], "fell out of the history")
        other = SSE(g.port, "hist", last_id="%d:8" % (e + 1))
        eq(other.wait_events(1), [("%d:8" % e, "lost", "%d:8" % e)], "another epoch")
        ahead = SSE(g.port, "hist", last_id="%d:99" % e)
        eq(ahead.wait_events(1)[0][1], "lost", "an offset never given")
        publish(g.port, "hist", "m8")
        for x in (lost, other, ahead):
            eq(x.wait_events(2)[1], ("%d:9" % e, "message", "m8"), "live after the loss")
            x.stop()
        r.stop()


def test_history_expires():
    with start(workers=1) as g:
        e, _ = publish(g.port, "brief", "soon gone")
        r = SSE(g.port, "brief", last_id="%d:0" % e)
        eq(r.wait_events(1), [("%d:1" % e, "message", "soon gone")], "within the ttl")
        r.stop()
        time.sleep(1.3)
        r = SSE(g.port, "brief", last_id="%d:0" % e)
        eq(r.wait_events(1)[0][1], "lost", "after the ttl")
        r.stop()


def test_no_gap_no_repeat_while_publishing():
    """Subscribers that join at many points of a stream of messages, each
    from an offset a little behind, see every message after it once."""
    with start() as g:
        n = 400
        done = []

        readers = []

        def publisher():
            c = conns_on_every_worker(g.port)
            for i in range(n):
                done.append(c[i % 2].pub("load", "m%d" % i))
                if i % 20 == 19:  # a reader joins every 20 messages, however fast this goes
                    wait_for(lambda: len(readers) > i // 20, 5)
            for x in c.values():
                x.close()
        t = threading.Thread(target=publisher, daemon=True)
        t.start()
        while t.is_alive() and len(readers) < 20:
            if done:
                e, top = done[-1]
                since = max(0, top - 3)
                readers.append((since, SSE(g.port, "load", last_id="%d:%d" % (e, since))))
            time.sleep(0.02)
        t.join(60)
        check(len(readers) >= 5, "few readers joined: %d" % len(readers))
        e = done[-1][0]
        for since, r in readers:
            evs = r.wait_events(n - since)
            eq(ids(evs), ["%d:%d" % (e, o) for o in range(since + 1, n + 1)],
               "offsets seen from %d" % since)
            eq(datas(evs), ["m%d" % (o - 1) for o in range(since + 1, n + 1)], "messages")
            r.stop()


def waitsince(port, channel, pos, timeout=0):
    e, o = pos
    r = galetest.request(port, "GET", "/waitsince?channel=%s&epoch=%d&offset=%d&timeout=%s"
                         % (q(channel), e, o, timeout), timeout=20)
    return r[0], r[2].decode()


def test_long_polls_from_an_offset():
    """A long poll that says where it is gets the next message at once from
    the history, or waits for it; a client following the offsets it is
    given sees every message once, across a reload."""
    with start(grace_period=10) as g:
        e, _ = publish(g.port, "hist", "one")
        publish(g.port, "hist", "two")
        eq(waitsince(g.port, "hist", (e, 0)), (200, "%d 1 one" % e), "from the history")
        eq(waitsince(g.port, "hist", (e, 1)), (200, "%d 2 two" % e), "the next one")
        eq(waitsince(g.port, "hist", (e, 2), timeout=0.3), (204, ""), "nothing new: timeout")
        eq(waitsince(g.port, "hist", (e + 1, 2)), (200, "lost %d 2" % e), "another epoch")
        got = []

        def poller():
            pos = (e, 0)
            while len(got) < 30:
                status, body = waitsince(g.port, "load", pos, timeout=5)
                if status == 200:
                    ep, off, msg = body.split(" ", 2)
                    got.append(msg)
                    pos = (int(ep), int(off))
        t = threading.Thread(target=poller, daemon=True)
        t.start()
        for i in range(30):
            if i == 15:
                old = set(g.workers())
                g.signal(signal.SIGHUP)
                check(wait_for(lambda: not (old & set(g.workers())), 15), "the reload finished")
            publish(g.port, "load", "m%d" % i)
        t.join(30)
        eq(got, ["m%d" % i for i in range(30)], "every message once, in order")


# ---- Server-Sent Events across reloads ----

def test_sse_resumes_across_reloads():
    """Streams end when their worker drains; the client reconnects with
    Last-Event-ID to a new worker and misses nothing, repeats nothing, and
    the history (in the master) outlives the workers."""
    with start(grace_period=10) as g:
        readers = [SSE(g.port, "load", reconnect=True) for _ in range(4)]
        for r in readers:
            check(r.wait(lambda s: s.workers), "stream started")
        n = 120
        stop = threading.Event()
        sent = []

        def publisher():
            for i in range(n):
                for _ in range(50):
                    try:
                        sent.append(publish(g.port, "load", "m%d" % i))
                        break
                    except (OSError, http.client.HTTPException):
                        time.sleep(0.05)  # a connection refused mid-reload: send again
                time.sleep(0.01)
            stop.set()
        t = threading.Thread(target=publisher, daemon=True)
        t.start()
        for _ in range(2):
            time.sleep(0.4)
            old = set(g.workers())
            g.signal(signal.SIGHUP)
            check(wait_for(lambda: not (old & set(g.workers())) and len(g.workers()) == 2, 15),
                  "the reload finished")
        t.join(60)
        eq(len(sent), n, "messages published")
        e = sent[0][0]
        for r in readers:
            evs = r.wait_events(n)
            eq(datas(evs), ["m%d" % i for i in range(n)], "every message once, in order")
            eq(ids(evs), ["%d:%d" % (e, o) for o in range(1, n + 1)], "ids")
            check(r.streams >= 2, "the stream was reconnected (%d)" % r.streams)
            r.stop()


def test_a_fresh_stream_resumes_from_its_start():
    """A stream opened without Last-Event-ID is told its position first (an
    id with no event): one that ends before any message came resumes from
    there, and gets what was published meanwhile."""
    with start(grace_period=10) as g:
        e, _ = publish(g.port, "load", "old one")
        publish(g.port, "load", "old two")
        r = SSE(g.port, "load", reconnect=True)
        check(r.wait(lambda s: s.last_id == "%d:2" % e), "position first: %r" % r.last_id)
        old = set(g.workers())
        g.signal(signal.SIGHUP)
        check(r.wait(lambda s: s.streams >= 2), "reconnected")
        publish(g.port, "load", "new")
        eq(r.wait_events(1), [("%d:3" % e, "message", "new")], "only what came after the start")
        check(wait_for(lambda: not (old & set(g.workers())), 15), "the reload finished")
        r.stop()


def test_browser_eventsource_across_reloads():
    """Chromium's own EventSource: two reloads while messages are published,
    and every message is shown once, in order."""
    galetest.node_module("playwright-core")
    if not os.access("/usr/bin/chromium", os.X_OK):
        raise galetest.Skip("/usr/bin/chromium not found")
    with start(grace_period=10) as g:
        n = 60
        env = dict(os.environ, NODE_PATH=galetest.NODE_MODULES)
        p = subprocess.Popen(["node", os.path.join(galetest.REPO, "tests", "node", "sse-browser.js"),
                              g.url("/whoami"), "/events?channel=load", str(n)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            line = p.stdout.readline().strip()
            eq(line, "READY", "EventSource open (%s)" % (line or p.stderr.read()[-2000:]))
            sent = []
            for i in range(n):
                if i in (20, 40):
                    old = set(g.workers())
                    g.signal(signal.SIGHUP)
                    check(wait_for(lambda: not (old & set(g.workers())) and len(g.workers()) == 2,
                                   15), "the reload finished")
                for _ in range(50):
                    try:
                        sent.append(publish(g.port, "load", "m%d" % i))
                        break
                    except (OSError, http.client.HTTPException):
                        time.sleep(0.05)
            out, err = p.communicate(timeout=90)
        finally:
            if p.poll() is None:
                p.kill()
        eq(p.returncode, 0, "node (%s)" % err[-2000:])
        got = json.loads(out.strip().splitlines()[-1])
        e = sent[0][0]
        eq(got["events"], [["%d:%d" % (e, i + 1), "m%d" % i] for i in range(n)],
           "every message once, in order")
        check(got["opens"] >= 3, "EventSource reconnected after each reload: %d" % got["opens"])


def test_sse_event_name_and_keepalive():
    with start(workers=1) as g:
        r = SSE(g.port, "named", extra="&event=chat&keepalive=0.2")
        check(r.wait(lambda s: "keepalive" in s.comments, 5), "keepalive comment")
        e, o = publish(g.port, "named", "hi")
        eq(r.wait_events(1), [("%d:%d" % (e, o), "chat", "hi")], "named event")
        r.stop()


def test_websocket_subscriber_from_an_offset():
    """gale_subscribe_since behind a WebSocket (the npm ws client): the
    missed messages, then the live ones, then a loss said as such."""
    galetest.node_module("ws")
    script = r"""
const WebSocket = require('ws');
const [url, n] = [process.argv[1], +process.argv[2]];
const got = [];
const ws = new WebSocket(url);
ws.on('open', () => console.log('READY'));
ws.on('message', (d) => { got.push(String(d)); if (got.length >= n) {
    console.log(JSON.stringify(got)); process.exit(0); } });
ws.on('error', (e) => { console.error(e.message); process.exit(2); });
setTimeout(() => { console.log(JSON.stringify(got)); process.exit(3); }, 20000);
"""
    with start() as g:
        for i in range(4):
            e, _ = publish(g.port, "hist", "m%d" % i)
        env = dict(os.environ, NODE_PATH=galetest.NODE_MODULES)
        runs = []
        for since, n in (((e, 2), 3), ((e + 1, 2), 2)):
            url = "ws://127.0.0.1:%d/since?channel=hist&epoch=%d&offset=%d" % (g.port, since[0],
                                                                                 since[1])
            runs.append(subprocess.Popen(["node", "-e", script, url, str(n)], stdout=subprocess.PIPE,
                                         text=True, env=env))
        for p in runs:
            eq(p.stdout.readline().strip(), "READY", "socket open")
        time.sleep(0.3)  # let both catch up before the live message
        publish(g.port, "hist", "live")
        outs = [json.loads(p.communicate(timeout=25)[0].strip().splitlines()[-1]) for p in runs]
        eq(outs[0], ["%d 3 m2" % e, "%d 4 m3" % e, "%d 5 live" % e], "recovered, then live")
        eq(outs[1], ["lost %d 4" % e, "%d 5 live" % e], "lost, then live")


def test_history_rules_are_checked():
    with start(workers=1) as g:
        path = os.path.join(g.tmp, "bad.conf")
        with open(path, "w") as f:
            f.write(g.conf_text.replace(HISTORY, 'pubsub = { history = ( { size = 5; } ); };'))
        p = galetest.run_gale(["-t", "-c", path])
        check(p.returncode != 0 and "channel" in p.stderr, "a rule with no channel: %r" % p.stderr)
        with open(path, "w") as f:
            f.write(g.conf_text.replace(HISTORY, 'pubsub = { history = ( { channel = "a"; '
                                                  'size = -1; } ); };'))
        p = galetest.run_gale(["-t", "-c", path])
        check(p.returncode != 0 and "size" in p.stderr, "a negative size: %r" % p.stderr)


# ---- the chat, on causal publish and history ----

CHAT_CONF = """
workers = 2;
access_log = "off";
cookie_secret = "chat test secret";
xsrf_cookies = true;
grace_period = 10.0;
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
pubsub = { history = ( { channel = "chat"; size = 200; } ); };
modules = ( { path = "%s";
              settings = { poll_timeout = 1.0; };
              routes = ( { path = "/"; handler = "page"; },
                         { path = "/a/message/new"; handler = "new"; },
                         { path = "/a/message/updates"; handler = "updates"; },
                         { path = "/a/message/events"; handler = "events"; } ); } );
"""


class Visitor:
    """The page's XSRF token and cookie, then posts on fresh connections."""

    def __init__(self, g):
        self.g = g
        status, headers, body = g.get("/")
        eq(status, 200, "GET /")
        self.token = re.search(rb'<meta name="xsrf-token" content="([^"]+)">', body).group(1).decode()
        self.cookie = [c for c in headers.get_all("set-cookie") if c.startswith("_xsrf=")][0]
        self.cookie = self.cookie.split(";")[0]

    def post(self, path, fields, timeout=10):
        fields = dict(fields, _xsrf=self.token)
        return galetest.request(self.g.port, "POST", path, body=urllib.parse.urlencode(fields),
                                headers={"Content-Type": "application/x-www-form-urlencoded",
                                         "Cookie": self.cookie}, timeout=timeout)

    def new(self, body):
        status, _, answer = self.post("/a/message/new", {"body": body})
        eq(status, 200, "post %r: %r" % (body, answer[:200]))
        return json.loads(answer)

    def updates(self, cursor):
        status, _, answer = self.post("/a/message/updates", {"cursor": cursor})
        eq(status, 200, "updates")
        return json.loads(answer)["messages"]


def chat():
    so = os.path.join(galetest.GALE_MODULES, "chat.so")
    if not os.path.exists(so):
        raise galetest.Skip("chat.so not built")
    return Gale(conf=CHAT_CONF % so)


def test_chat_answers_a_post_once_sequenced():
    with chat() as g:
        v = Visitor(g)
        got = []
        os.kill(g.pid, signal.SIGSTOP)
        try:
            t = threading.Thread(target=lambda: got.append(v.new("first")), daemon=True)
            t.start()
            t.join(0.5)
            check(not got, "the post was answered before the master sequenced it")
        finally:
            os.kill(g.pid, signal.SIGCONT)
        t.join(10)
        eq(got[0]["body"], "first", "answered once sequenced")


def test_chat_recovers_its_messages_after_a_reload():
    """New workers start with the room's history from the master: a cursor
    from before the reload gets exactly what came after it."""
    with chat() as g:
        v = Visitor(g)
        posted = [v.new("m%d" % i)["id"] for i in range(4)]
        old = set(g.workers())
        g.signal(signal.SIGHUP)
        check(wait_for(lambda: not (old & set(g.workers())) and len(g.workers()) == 2, 15),
              "the reload finished")
        v = Visitor(g)
        for _ in range(10):  # fresh connections: both new workers answer some
            got = []
            check(wait_for(lambda: got.append([m["id"] for m in v.updates(posted[1])]) or got[-1], 5),
                  "the new worker knows the cursor")
            eq(got[-1], posted[2:], "the messages after the cursor")


if __name__ == "__main__":
    galetest.main()

#!/usr/bin/env python3
"""52-chat-reloads: the chat in Chromium across two instances sharing Redis, under reloads.

Two gale instances with the chat module (18-chat's config) share a
redis-server started here (backend "redis", the room's history in Redis).
Three pairs of visitors in headless Chromium (tests/node/chat-reloads.js),
one pair per transport (WebSocket, Server-Sent Events, long polling), all
open at once, A of each pair on one instance and B on the other: in each
pair the visitors answer each other in turn while the instances are
reloaded twenty times (SIGHUP, alternately), every pair getting on between
two reloads. Every message must show once in both pages of its pair, in
the order posted (each answers the one before). A message a client sent
on a WebSocket just as the drain closed it still arrives, and an upgrade
that reaches a draining worker opens and is closed with 1001 (not
refused), so that the browser comes back at once; a post on a socket
sent again (same id) after a reload, when no ack came, shows once.
"""

import json
import os
import re
import signal
import subprocess
import tempfile
import threading

import galetest
from galetest import check, eq, fail, wait_for

chat = galetest.load_test("18-chat")
pubsub = galetest.load_test("17-pubsub")
websocket = galetest.load_test("16-websocket")

RELOADS = 20
MODES = ("ws", "sse", "poll")


def reload(g):
    done = g.log().count("reload done")
    g.signal(signal.SIGHUP)
    if not wait_for(lambda: g.log().count("reload done") > done, 15):
        fail("reload not done; log:\n%s" % g.log_tail())


def visitors(one, two):
    """Run chat-reloads.js with a pair per transport while the instances
    reload, each pair posting between two reloads."""
    stop = os.path.join(tempfile.mkdtemp(prefix="gale-chat-reloads-"), "stop")
    env = dict(os.environ, NODE_PATH=galetest.NODE_MODULES)
    proc = subprocess.Popen(["node", os.path.join(chat.NODE_DIR, "chat-reloads.js"), one.url(""),
                             two.url(""), stop] + list(MODES), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    out = []
    shown = dict.fromkeys(MODES, 0)  # messages each pair got across so far

    def read():
        for line in proc.stdout:
            print("# " + line.rstrip(), flush=True)
            out.append(line)
            m = re.match(r"shown (\w+) (\d+)", line)
            if m:
                shown[m.group(1)] = int(m.group(2))
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    k = 0
    try:
        if not wait_for(lambda: "ready\n" in out or proc.poll() is not None, 30):
            fail("the pages did not open")
        while k < RELOADS and proc.poll() is None:
            before = dict(shown)
            reload((one, two)[k % 2])
            k += 1
            # the chain goes on in every transport before the next reload
            if not wait_for(lambda: proc.poll() is not None or
                            all(shown[m] > before[m] for m in MODES), 20):
                fail("after reload %d no new message got across by %s" % (
                    k, ", ".join(m for m in MODES if shown[m] == before[m])))
        open(stop, "w").close()
        rc = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    err = proc.stderr.read()
    check(rc == 0, "chat-reloads.js failed (%d): %s" % (rc, err.strip()[-3000:]))
    eq(k, RELOADS, "reloads while they posted")


def test_three_transports_through_twenty_reloads():
    try:
        chat.browser()
        redis = pubsub.Redis()
    except galetest.Skip as e:  # scripts/lib/common.sh installs them: missing is a failure
        fail(str(e))
    try:
        conf = '{ backend = "redis"; redis = { port = %d; prefix = "chat-test:"; }; %s }' % (
            redis.port, chat.HISTORY)
        with chat.chat(pubsub=conf) as one, chat.chat(pubsub=conf) as two:
            visitors(one, two)
    finally:
        redis.close()


def test_a_message_sent_as_the_drain_closes_the_socket_is_kept():
    """The client sent its message before it saw the server's 1001 (here:
    after reading it, before answering): the draining worker still takes
    it, so the line typed during a reload is not lost."""
    with chat.chat() as g:
        ws = websocket.RawWS(g, "/chatsocket?visitor=%s&name=late" % ("ab" * 16)).check_upgraded()
        old = g.workers()
        g.signal(signal.SIGHUP)
        while True:
            f = ws.read_frame(timeout=15)
            check(f is not None, "the drain sends a close frame")
            if f.op == 8:  # close
                break
        eq(f.close_code(), 1001, "going away")
        ws.send(websocket.frame(1, json.dumps({"body": "typed during the reload",
                                              "name": "late"}).encode()))
        ws.send(websocket.close_frame(1001))
        ws.close()
        g.wait_workers(2, timeout=15, without=old)
        # the room's first message: an empty room would hold the poll
        status, _, body = galetest.request(g.port, "GET", "/", timeout=10)
        eq(status, 200, "the page")
        check(b"typed during the reload" in body,
              "the message reached the room; log:\n%s" % g.log_tail())


def acked(ws, mid):
    """Read frames until the ack of mid (True) or the close (False)."""
    while True:
        f = ws.read_frame(timeout=15)
        check(f is not None, "an ack or a close frame")
        if f.op == 8:
            return False
        if f.op == 1 and json.loads(f.payload).get("ack") == mid:
            return True


def test_a_socket_post_sent_again_after_a_reload_shows_once():
    """A page posts on its socket just before a reload: whether or not the
    post got through, no ack comes before the drain's close, so chat.js
    sends it again, with the same id, on its next socket. It is
    acknowledged there and shows once: on a fresh page, and in another
    socket's catch-up of the whole room."""
    mid = "5e" * 16
    post = json.dumps({"id": mid, "body": "posted as the reload began", "name": "late"})
    with chat.chat() as g:
        ws = websocket.RawWS(g, "/chatsocket?visitor=%s&name=late" % ("ef" * 16)).check_upgraded()
        old = g.workers()
        ws.send(websocket.frame(1, post.encode()))
        g.signal(signal.SIGHUP)
        if acked(ws, mid):  # it was sequenced before the drain: the close comes next
            check(not acked(ws, mid), "one ack")
        ws.close()
        g.wait_workers(2, timeout=15, without=old)
        again = websocket.RawWS(g, "/chatsocket?visitor=%s&name=late" % ("ef" * 16)).check_upgraded()
        again.send(websocket.frame(1, post.encode()))
        check(acked(again, mid), "the post sent again is acknowledged")
        again.close()
        status, _, body = galetest.request(g.port, "GET", "/", timeout=10)
        eq(status, 200, "the page")
        eq(body.count(b"posted as the reload began"), 1, "the page shows the post once")
        room = websocket.RawWS(g, "/chatsocket?cursor=").check_upgraded()
        f = room.read_frame(timeout=10)
        check(f is not None and f.op == 1, "the room's catch-up")
        eq([m["id"] for m in json.loads(f.payload)["messages"]].count(mid), 1,
           "the catch-up holds the post once")
        room.close()


def test_an_upgrade_reaching_a_draining_worker_opens_then_goes_away():
    """A connection the old worker accepted before the reload asks for the
    upgrade once it drains: the worker opens the socket and closes it with
    1001 at once, as the drain closes the others. A 503 would look like a
    failure to the browser, which then waits longer before each retry."""
    with chat.chat() as g:
        c = g.conn(10)
        c.send(websocket.req("GET", "/a/here", host="127.0.0.1:%d" % g.port))
        eq(c.read_response().status, 200, "a first request keeps the connection")
        drains = g.log().count("draining")
        g.signal(signal.SIGHUP)
        # the drain gives an idle connection a moment for the request on the wire
        check(wait_for(lambda: g.log().count("draining") >= drains + 2, 10),
              "the old workers drain; log:\n%s" % g.log_tail())
        key = websocket.new_key()
        c.send(websocket.req("GET", "/chatsocket?visitor=%s&name=late" % ("cd" * 16),
                             websocket.upgrade_headers(key), host="127.0.0.1:%d" % g.port))
        head = c.read_until(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 101 "), "the upgrade opens: %r" % head[:200])
        ws = websocket.RawWS.__new__(websocket.RawWS)
        ws.g, ws.c, ws.key = g, c, key
        while True:
            f = ws.read_frame(timeout=10)
            check(f is not None, "a close frame before the end")
            if f.op == 8:
                break
        eq(f.close_code(), 1001, "going away")
        c.close()


if __name__ == "__main__":
    galetest.main()

#!/usr/bin/env python3
"""52-chat-reloads: the chat in Chromium across two instances sharing Redis, under reloads.

Two gale instances with the chat module (18-chat's config) share a
redis-server started here (backend "redis", the room's history in Redis).
Two visitors in headless Chromium (tests/node/chat-reloads.js), A on one
instance and B on the other, answer each other in turn while the instances
are reloaded (SIGHUP, alternately; RELOADS in all, a third with each
transport, to stay within a minute on a loaded machine): every
message must show once in each page, in the order posted (each answers the
one before), by WebSocket, Server-Sent Events and long polling. A message
a client sent on a WebSocket just as the drain closed it still arrives.
"""

import json
import os
import signal
import subprocess
import tempfile
import threading

import galetest
from galetest import check, eq, fail, wait_for

chat = galetest.load_test("18-chat")
pubsub = galetest.load_test("17-pubsub")
websocket = galetest.load_test("16-websocket")

RELOADS = 21  # in all, a third for each transport


def reload(g):
    done = g.log().count("reload done")
    g.signal(signal.SIGHUP)
    if not wait_for(lambda: g.log().count("reload done") > done, 15):
        fail("reload not done; log:\n%s" % g.log_tail())


def visitors(one, two, modes, reloads):
    """Run chat-reloads.js for each mode while the instances reload."""
    stop = os.path.join(tempfile.mkdtemp(prefix="gale-chat-reloads-"), "stop")
    env = dict(os.environ, NODE_PATH=galetest.NODE_MODULES)
    proc = subprocess.Popen(["node", os.path.join(chat.NODE_DIR, "chat-reloads.js"), one.url(""),
                             two.url(""), stop] + list(modes), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    out = []

    def read():
        for line in proc.stdout:
            print("# " + line.rstrip(), flush=True)
            out.append(line)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    k = 0
    try:
        for mode in modes:
            if not wait_for(lambda: "ready %s\n" % mode in out or proc.poll() is not None, 30):
                fail("%s: the pages did not open" % mode)
            for _ in range(reloads // len(modes)):
                if proc.poll() is not None:
                    break
                reload((one, two)[k % 2])
                k += 1
            open(stop + "." + mode, "w").close()
        rc = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    err = proc.stderr.read()
    check(rc == 0, "chat-reloads.js failed (%d): %s" % (rc, err.strip()[-3000:]))
    check(k == reloads, "%d reloads while they posted" % k)


def room(mode):
    try:
        chat.browser()
        redis = pubsub.Redis()
    except galetest.Skip as e:  # scripts/lib/common.sh installs them: missing is a failure
        fail(str(e))
    try:
        conf = '{ backend = "redis"; redis = { port = %d; prefix = "chat-test:"; }; %s }' % (
            redis.port, chat.HISTORY)
        with chat.chat(pubsub=conf) as one, chat.chat(pubsub=conf) as two:
            visitors(one, two, [mode], RELOADS // 3)
    finally:
        redis.close()


def test_websocket_through_reloads():
    room("ws")


def test_server_sent_events_through_reloads():
    room("sse")


def test_long_polling_through_reloads():
    room("poll")


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


if __name__ == "__main__":
    galetest.main()

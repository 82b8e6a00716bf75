#!/usr/bin/env python3
"""52-big-history: a history far larger than the master's queue for a worker.

With the local backend the master answers a history request through the
worker's queue (pubsub.relay_queue_size, 1 MiB here) and socket (a few MB):
a history of 12 MB, asked by a worker that then stalls, is sent in pages,
each asked once the one before arrived, so that a subscriber recovering it
gets every message, then the live ones; the same history
kept in Redis arrives alike. The chantest module (tests/modules/chantest.c)
publishes (POST /pub), reads a history at once (GET /read:
gale_history_read) and streams Server-Sent Events (GET /events); the SSE
client is 32-channels' raw-socket EventSource.
"""

import urllib.parse

import galetest
from galetest import Gale, check, eq, module_path

channels = galetest.load_test("32-channels")
redis_history = galetest.load_test("45-redis-history")
redis_lag = galetest.load_test("48-redis-scripts-lag")

N = 200
SIZE = 60000  # below the 65,000-byte limit of a message
HISTORY = 'history = ( { channel = "big*"; size = 1000; } ); relay_queue_size = 1048576;'
ROUTES = channels.ROUTES + (("/read", "read"),)


def read(port, channel, epoch, offset, stall=0):
    """gale_history_read's lines; stall: ms the worker then does not read (the
    master's answer must wait in its queue)."""
    status, _, body = galetest.request(port, "GET", "/read?channel=%s&epoch=%d&offset=%d&stall=%d" % (
        urllib.parse.quote(channel), epoch, offset, stall), timeout=30)
    eq(status, 200, "read status")
    return body.decode().splitlines()


def message(i):
    """The i-th message: "i xxx...", SIZE bytes."""
    head = "%d " % i
    return head + "x" * (SIZE - len(head))


def fill(port, channel):
    """N messages; returns the epoch."""
    p = redis_lag.Publisher(port)
    try:
        got = [p.pub(channel, message(i)) for i in range(N)]
    finally:
        p.close()
    eq([o for _, o in got], list(range(1, N + 1)), "offsets")
    return got[0][0]


def check_big_history(g):
    e = fill(g.port, "big")
    lines = read(g.port, "big", e, 0, stall=300)
    eq(len(lines), N + 1, "every message read, then the end")
    eq([ln.split()[:3] for ln in lines[:-1]], [[str(e), str(i + 1), str(i)] for i in range(N)],
       "in order, none lost")
    eq(lines[-1], "end 0 %d %d" % (e, N), "complete")
    eq(len(read(g.port, "big", 0, 0)), N + 1, "epoch 0: everything kept")
    eq(read(g.port, "big", e, N - 2)[-1], "end 0 %d %d" % (e, N), "a short one still ends")
    # a subscriber resuming from the start: the whole history, then the live one
    sse = channels.SSE(g.port, "big", last_id="%d:0" % e)
    events = sse.wait_events(N, timeout=30)
    check(channels.datas(events) == [message(i) for i in range(N)],
          "SSE: every message of the history once, whole, in order: %r" % (
              [d.split()[0] for d in channels.datas(events)],))
    check(not any(ev[1] == "lost" for ev in sse.events), "nothing reported lost")
    channels.publish(g.port, "big", "live")
    check(sse.wait(lambda s: s.events[-1][2] == "live"), "then the live one: %r" % (sse.error,))
    eq(len(sse.events), N + 1, "no repeat")
    sse.stop()


def test_master_sends_a_big_history_in_pages():
    with Gale(workers=2, module=module_path("chantest"), routes=ROUTES,
              extra="pubsub = { %s };" % HISTORY) as g:
        check_big_history(g)
        check("dropped" not in g.log(), "no answer dropped; log:\n%s" % g.log_tail())


def test_redis_answers_a_big_history_alike():
    redis = redis_history.redis_server()
    try:
        with Gale(workers=2, module=module_path("chantest"), routes=ROUTES,
                  extra='pubsub = { backend = "redis"; redis = { port = %d; }; %s };'
                  % (redis.port, HISTORY)) as g:
            check_big_history(g)
    finally:
        redis.close()


if __name__ == "__main__":
    galetest.main()

#!/usr/bin/env python3
"""45-redis-history: channel history in Redis Streams, shared by instances.

Two gale instances share a redis-server started here (backend "redis",
a `history` rule for the channels). The chantest module
(tests/modules/chantest.c) publishes with gale_publish_then (POST /pub:
"WORKER EPOCH OFFSET" once Redis sequenced the message), long-polls from a
position (GET /waitsince) and streams Server-Sent Events (GET /events); the
SSE client is 32-channels' raw-socket EventSource.
"""

import shutil
import socket
import time
import urllib.parse

import galetest
from galetest import Gale, check, eq, fail, module_path




channels = galetest.load_test("32-channels")
pubsub = galetest.load_test("17-pubsub")
ROUTES = channels.ROUTES + (("/read", "read"),)

HISTORY = ('history = ( { channel = "hist*"; size = 5; }, { channel = "long*"; size = 1000; },'
           ' { channel = "brief*"; size = 10; ttl = 1; } );')


def redis_server():
    if shutil.which("redis-server") is None:
        fail("redis-server not installed")
    return pubsub.Redis()


def start(redis, workers=2):
    extra = 'pubsub = { backend = "redis"; redis = { port = %d; }; %s };' % (redis.port, HISTORY)
    return Gale(workers=workers, module=module_path("chantest"), routes=ROUTES,
                extra=extra)


def redis_command(port, *args):
    """One command over RESP; the first line of the reply."""
    out = "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(out.encode())
        return s.makefile("rb").readline().decode().strip()


def publish(port, channel, body):
    return channels.publish(port, channel, body)


def waitsince(port, channel, epoch, offset):
    status, _, body = galetest.request(
        port, "GET", "/waitsince?channel=%s&epoch=%d&offset=%d&timeout=5" % (
            urllib.parse.quote(channel), epoch, offset), timeout=15)
    eq(status, 200, "waitsince status")
    return body.decode()


def test_two_instances_agree_on_offsets():
    redis = redis_server()
    try:
        with start(redis) as a, start(redis) as b:
            # A fresh stream starts where the history stands when Redis
            # answers the worker's position read, which may come after a
            # publish the client makes at once: the stream's first id (no
            # data) says where it starts, so the channel gets a first
            # message and each reader waits for that id before the test
            # publishes.
            first = publish(a.port, "long", "first")
            readers = [channels.SSE(g.port, "long") for g in (a, b)]
            for r in readers:
                check(r.wait(lambda s: s.workers and s.last_id), "SSE stream started at a "
                      "position (%r, last id %r)" % (r.error, r.last_id))
                eq(r.last_id, "%d:%d" % first, "where the stream starts")
            got = [publish((a, b)[i % 2].port, "long", "m%d" % i) for i in range(20)]
            epochs = {e for e, _ in got}
            eq(len(epochs), 1, "one epoch for both instances")
            check(0 not in epochs, "a real epoch")
            eq([o for _, o in got], list(range(2, 22)), "offsets in publish order")
            e = epochs.pop()
            want = ["%d:%d" % (e, o) for o in range(2, 22)]
            for r in readers:
                eq(channels.ids(r.wait_events(20)), want, "ids seen on each instance")
                eq(channels.datas(r.events), ["m%d" % i for i in range(20)], "data")
                r.stop()
            # a channel with no history rule: no positions, every message still arrives
            plain = channels.SSE(b.port, "plain")
            check(plain.wait(lambda s: s.workers), "SSE stream started (%r)" % plain.error)
            for i in range(3):
                eq(publish(a.port, "plain", "p%d" % i), (0, 0), "no position without a rule")
            eq(channels.datas(plain.wait_events(3)), ["p0", "p1", "p2"], "each one once")
            plain.stop()
    finally:
        redis.close()


def test_recovery_since_an_offset_and_losses():
    redis = redis_server()
    try:
        with start(redis) as a, start(redis) as b:
            e = None
            for i in range(4):
                e, _ = publish(a.port, "hist", "m%d" % i)
            eq(waitsince(b.port, "hist", e, 2), "%d 3 m2" % e, "the next after 2, from the other")
            for i in range(4, 8):
                publish(b.port, "hist", "m%d" % i)
            # size 5 keeps 4..8: since 3 recovers, since 2 does not
            eq(waitsince(a.port, "hist", e, 3), "%d 4 m3" % e, "still kept")
            eq(waitsince(a.port, "hist", e, 2), "lost %d 8" % e, "fell out of MAXLEN")
            eq(waitsince(b.port, "hist", e + 1, 7), "lost %d 8" % e, "another epoch")
            eq(waitsince(b.port, "hist", 0, 0), "%d 4 m3" % e, "epoch 0: the oldest kept")
            # Redis loses everything: a new epoch, offsets start again
            eq(redis_command(redis.port, "FLUSHALL"), "+OK", "FLUSHALL")
            e2, o2 = publish(b.port, "hist", "after")
            check(e2 != e, "a new epoch after the loss")
            eq(o2, 1, "offsets start again")
            eq(waitsince(a.port, "hist", e, 8), "lost %d 1" % e2, "the old epoch is lost")
            eq(waitsince(a.port, "hist", e2, 0), "%d 1 after" % e2, "the new one recovers")
    finally:
        redis.close()


def read(port, channel, epoch, offset):
    status, _, body = galetest.request(port, "GET", "/read?channel=%s&epoch=%d&offset=%d" % (
        urllib.parse.quote(channel), epoch, offset))
    eq(status, 200, "read status")
    return body.decode().splitlines()


def test_reading_the_history_at_once():
    """gale_history_read answers alike from the master and from Redis."""
    redis = redis_server()
    try:
        local = Gale(workers=2, module=module_path("chantest"), routes=ROUTES,
                     extra="pubsub = { %s };" % HISTORY)
        with local, start(redis) as shared:
            for g in (local, shared):
                e = None
                for i in range(8):
                    e, _ = publish(g.port, "hist", "m%d" % i)
                kept = ["%d %d m%d" % (e, i + 1, i) for i in range(3, 8)]
                eq(read(g.port, "hist", e, 3), kept + ["end 0 %d 8" % e], "after 3")
                eq(read(g.port, "hist", 0, 0), kept + ["end 0 %d 8" % e], "all kept")
                eq(read(g.port, "hist", e, 8), ["end 0 %d 8" % e], "nothing new")
                eq(read(g.port, "hist", e, 2), ["end 1 %d 8" % e], "fell out")
                eq(read(g.port, "hist", e + 1, 5), ["end 1 %d 8" % e], "another epoch")
    finally:
        redis.close()


def test_history_expires_after_its_ttl():
    redis = redis_server()
    try:
        with start(redis) as a, start(redis) as b:
            e, _ = publish(a.port, "brief", "old1")
            publish(b.port, "brief", "old2")
            time.sleep(1.3)
            publish(a.port, "brief", "new")
            eq(waitsince(b.port, "brief", e, 2), "%d 3 new" % e, "kept within the ttl")
            eq(waitsince(b.port, "brief", e, 1), "lost %d 3" % e, "older than the ttl: gone")
    finally:
        redis.close()


def test_sse_last_event_id_across_instances():
    redis = redis_server()
    try:
        with start(redis) as a, start(redis) as b:
            first = channels.SSE(a.port, "hist-sse")
            check(first.wait(lambda s: s.workers), "SSE started (%r)" % first.error)
            for i in range(3):
                publish(a.port, "hist-sse", "s%d" % i)
            events = first.wait_events(3)
            first.stop()
            last = events[1][0]  # it saw s0 and s1 only, say, then moved to b
            for i in range(3, 5):
                publish(b.port, "hist-sse", "s%d" % i)
            again = channels.SSE(b.port, "hist-sse", last_id=last)
            got = again.wait_events(3)
            eq(channels.datas(got), ["s2", "s3", "s4"], "resumed on the other instance")
            publish(a.port, "hist-sse", "live")
            eq(channels.datas(again.wait_events(4))[-1], "live", "then the live ones")
            ids = channels.ids(again.events)
            eq(len(set(ids)), len(ids), "no repeat")
            again.stop()
            # a fresh stream is told where it is, and resumes from there elsewhere
            fresh = channels.SSE(b.port, "hist-sse")
            check(fresh.wait(lambda s: s.last_id), "a fresh stream gets its position")
            pos = fresh.last_id
            fresh.stop()
            publish(b.port, "hist-sse", "later")
            back = channels.SSE(a.port, "hist-sse", last_id=pos)
            eq(channels.datas(back.wait_events(1)), ["later"], "resumed from a fresh position")
            back.stop()
    finally:
        redis.close()


if __name__ == "__main__":
    galetest.main()

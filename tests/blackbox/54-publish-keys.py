#!/usr/bin/env python3
"""54-publish-keys: a publish repeated with the same idempotency key
(gale_publish_keyed) is published once.

The chat module (modules/chat) publishes a socket's post with the id the
page chose as its key, and acknowledges a repeat without publishing it: a
page sends again, on its next socket, a post whose ack a reload cut off.
Here the same id is posted on two sockets held by two different workers
(and, with Redis, by two gale instances sharing a redis-server), and after
a SIGHUP by a new worker: a live WebSocket subscriber gets one frame, a
Server-Sent Events stream one event, the history (read again from offset 0)
holds it once, and the offsets show that the repeat was never sequenced.
The master does the check with the local backend, the publish script in
Redis with the redis one.
"""

import json
import os
import signal
import time

import galetest
from galetest import Gale, Skip, check, eq, fail, wait_for

channels = galetest.load_test("32-channels")  # the SSE client
presence = galetest.load_test("44-presence")  # the raw WebSocket client
pubsub = galetest.load_test("17-pubsub")      # redis-server
chat = galetest.load_test("18-chat")          # which worker holds a connection
metrics = galetest.load_test("41-metrics")    # the /metrics scrape and its parser

CHAT = os.path.join(galetest.GALE_MODULES, "chat.so")

CONF = """
workers = 2;
access_log = "off";
grace_period = 5;
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
pubsub = { %(pubsub)s %(history)s };
modules = ( { path = "%(so)s";
              routes = ( { path = "/events"; handler = "events"; },
                         { path = "/chatsocket"; handler = "socket"; websocket = true; } ); } );
"""


def start(pubsub="", history=True, mport=None):
    if not os.path.exists(CHAT):
        raise Skip("chat.so not built")
    rule = 'history = ( { channel = "chat"; size = 100; } );' if history else ""
    conf = CONF % dict(pubsub=pubsub, history=rule, so=CHAT)
    if mport:
        conf = metrics.metrics_conf(mport) + conf
    return Gale(conf=conf)


def pubsub_counts(mport):
    """(published, repeats), summed over the workers."""
    s = metrics.scrape(mport)
    return (metrics.get(s, "gale_pubsub_published_total"),
            metrics.get(s, "gale_pubsub_repeats_total"))


def redis_pubsub(redis):
    return 'backend = "redis"; redis = { port = %d; prefix = "keys-test:"; };' % redis.port


def frames(ws):
    with ws.cond:
        return [json.loads(t) for t in ws.texts]


def live_ids(ws):
    return [m["id"] for f in frames(ws) for m in f.get("messages", [])]


def acks(ws, mid):
    return sum(1 for f in frames(ws) if f.get("ack") == mid)


def post(ws, mid, body):
    """Post on a socket and wait for its ack (a repeat is acknowledged too)."""
    before = acks(ws, mid)
    ws.send(json.dumps({"id": mid, "body": body, "name": "keys"}).encode())
    ws.wait(lambda t: acks(ws, mid) > before, what="the ack of %s" % mid)
    check(not any("error" in f for f in frames(ws)), "no error frame: %r" % frames(ws))


def new_id():
    return os.urandom(16).hex()


def socket_on(port):
    return presence.WS(port, "/chatsocket")


def sockets_on_two_workers(g, most=16):
    """Two chat sockets held by two different workers of g."""
    socks = []
    while len(socks) < most:
        socks.append(socket_on(g.port))
        time.sleep(0.05)  # accepted: /proc shows its worker
        owners = chat.workers_of(g, [s.sock.getsockname()[1] for s in socks])
        if owners and len(set(owners)) == 2:
            a = socks[0]
            b = socks[owners.index(next(w for w in owners if w != owners[0]))]
            for s in socks:
                if s not in (a, b):
                    s.close()
            return a, b
    fail("every socket went to one worker")


def sse_from_start(port, epoch, n):
    """The history read again: a stream resumed from offset 0."""
    r = channels.SSE(port, "chat", last_id="%d:0" % epoch)
    events = list(r.wait_events(n))
    time.sleep(0.2)  # a repeat would follow at once
    events = list(r.events)
    r.stop()
    return events


def ids_of(events):
    return [json.loads(d)["id"] for d in channels.datas(events)]


def offsets_of(events):
    return [int(i.split(":")[1]) for i in channels.ids(events)]


def check_once(listener, sse, want, first_body, what):
    """The listener and the stream got each id of want once, in order; the
    repeated one with the first post's body; offsets 1, 2, ... (a repeat
    took none)."""
    listener.wait(lambda t: live_ids(listener)[-1:] == want[-1:], what="%s: live frames" % what)
    got = sse.wait_events(len(want))
    time.sleep(0.2)  # a repeat would come right behind
    eq(live_ids(listener), want, "%s: one frame per id to a live WebSocket" % what)
    eq(ids_of(sse.events), want, "%s: one SSE event per id" % what)
    eq(offsets_of(got), list(range(1, len(want) + 1)), "%s: offsets, none for the repeat" % what)
    eq(json.loads(channels.datas(got)[1])["body"], first_body, "%s: the first post wins" % what)
    return int(channels.ids(got)[0].split(":")[0])


def repeat_across(a, b, listener, sse, what):
    """A post on a, the same id on b, then a marker on a."""
    first, repeat, marker = new_id(), new_id(), new_id()
    post(a, first, "warm-up")  # every subscriber is in place once this arrives
    sse.wait_events(1)
    post(a, repeat, "the post")
    post(b, repeat, "sent again")
    post(a, marker, "after it")
    eq(acks(a, repeat) + acks(b, repeat), 2, "%s: both sends acknowledged" % what)
    want = [first, repeat, marker]
    return want, check_once(listener, sse, want, "the post", what)


def after_reload(g, port_b, want, epoch, what):
    """A post whose ack was cut by a SIGHUP is sent again to a new worker:
    the master (or Redis) outlived the old one and drops the repeat."""
    s = socket_on(g.port)
    again, marker = new_id(), new_id()
    post(s, again, "before the reload")
    old = set(g.workers())
    g.signal(signal.SIGHUP)
    check(wait_for(lambda: len(g.workers()) == 2 and not (old & set(g.workers())), 15),
          "%s: the reload finished" % what)
    listener = socket_on(port_b)
    s2 = socket_on(g.port)
    post(s2, again, "before the reload")
    post(s2, marker, "after the reload")
    listener.wait(lambda t: marker in live_ids(listener), what="%s: the marker" % what)
    time.sleep(0.2)
    eq(live_ids(listener), [marker], "%s: the repeat reached no live socket" % what)
    want = want + [again, marker]
    history = sse_from_start(port_b, epoch, len(want))
    eq(ids_of(history), want, "%s: the history holds each post once" % what)
    eq(offsets_of(history), list(range(1, len(want) + 1)), "%s: offsets" % what)
    for w in (listener, s2):
        w.close()
    return want


def test_local_two_workers_and_a_reload():
    with start() as g:
        sse = channels.SSE(g.port, "chat")
        check(sse.wait(lambda s: s.streams), "SSE stream started (%r)" % sse.error)
        a, b = sockets_on_two_workers(g)
        listener = socket_on(g.port)
        want, epoch = repeat_across(a, b, listener, sse, "two workers")
        eq(ids_of(sse_from_start(g.port, epoch, len(want))), want, "the history, read again")
        sse.stop()
        for w in (a, b, listener):
            w.close()
        after_reload(g, g.port, want, epoch, "after a reload")


def test_redis_two_instances_and_a_reload():
    redis = pubsub.Redis()
    try:
        with start(redis_pubsub(redis)) as one, start(redis_pubsub(redis)) as two:
            sse = channels.SSE(two.port, "chat")
            check(sse.wait(lambda s: s.streams), "SSE stream started (%r)" % sse.error)
            a, b = socket_on(one.port), socket_on(two.port)
            listener = socket_on(two.port)
            time.sleep(0.3)  # every worker's PSUBSCRIBE is in place
            want, epoch = repeat_across(a, b, listener, sse, "two instances")
            sse.stop()
            for w in (a, b, listener):
                w.close()
            want = after_reload(one, two.port, want, epoch, "redis, after a reload")
            eq(redis_command(redis.port, "XLEN", "keys-test:history:chat"), ":%d" % len(want),
               "the stream in Redis")
            eq(redis_command(redis.port, "HLEN", "keys-test:keys:chat"), ":%d" % len(want),
               "the keys kept in Redis")
    finally:
        redis.close()


def test_without_a_history_rule():
    """No history: the keys are still kept (by the master, or in Redis with
    a plain PUBLISH from the script), and a repeat is still dropped: it
    counts in gale_pubsub_repeats_total, not in gale_pubsub_published_total."""
    redis = pubsub.Redis()
    mports = [galetest.free_port(), galetest.free_port()]
    try:
        with start(history=False, mport=mports[0]) as g, \
                start(redis_pubsub(redis), history=False, mport=mports[1]) as r:
            for what, gale, mport in (("local", g, mports[0]), ("redis", r, mports[1])):
                eq(pubsub_counts(mport), (0, 0), "%s: the counters at the start" % what)
                a, b = sockets_on_two_workers(gale)
                listener = socket_on(gale.port)
                time.sleep(0.3)  # every worker's PSUBSCRIBE is in place
                first, marker = new_id(), new_id()
                post(a, first, "the post")
                post(b, first, "sent again")
                post(a, marker, "after it")
                listener.wait(lambda t: marker in live_ids(listener), what="%s: marker" % what)
                time.sleep(0.2)
                eq(live_ids(listener), [first, marker], "%s: one frame per id" % what)
                # the acks came after the answers were counted (the chat
                # module acknowledges from the publish's report)
                eq(pubsub_counts(mport), (2, 1), "%s: published, repeats" % what)
                for w in (a, b, listener):
                    w.close()
            eq(redis_command(redis.port, "HLEN", "keys-test:keys:chat"), ":2", "keys in Redis")
            eq(redis_command(redis.port, "EXISTS", "keys-test:history:chat"), ":0",
               "no stream without a rule")
    finally:
        redis.close()


def test_a_key_is_forgotten_after_key_ttl():
    """The window is bounded in time too: past key_ttl the same key
    publishes again (the master's check; the script's, whose hash of keys
    a later key kept alive)."""
    redis = pubsub.Redis()
    try:
        ttl = "key_ttl = 1; "
        with start(ttl) as g, start(ttl + redis_pubsub(redis)) as r:
            for what, gale in (("local", g), ("redis", r)):
                a, listener = socket_on(gale.port), socket_on(gale.port)
                time.sleep(0.3)  # every worker's PSUBSCRIBE is in place
                old, fresh = new_id(), new_id()
                post(a, old, "once")
                time.sleep(0.5)
                post(a, fresh, "keeps the hash (and old's key) alive")
                time.sleep(0.7)
                post(a, old, "twice: its key is too old")
                listener.wait(lambda t: live_ids(listener).count(old) == 2,
                              what="%s: the old key published again" % what)
                time.sleep(0.2)
                eq(live_ids(listener), [old, fresh, old], "%s: frames" % what)
                for w in (a, listener):
                    w.close()
    finally:
        redis.close()


def redis_command(port, *args):
    return galetest.load_test("45-redis-history").redis_command(port, *args)


if __name__ == "__main__":
    galetest.main()

#!/usr/bin/env python3
"""48-channel-limits: Redis scripts, a worker that falls behind, a history larger than a queue.

gale runs its Redis scripts (history, presence) by EVALSHA, sending a
script's text again only when Redis lost it (SCRIPT FLUSH, a restart). A
worker that falls behind the messages (here: stopped with SIGSTOP while
another instance publishes) has its subscribed connection cut by Redis
(client-output-buffer-limit pubsub); when it reads again its subscribers
with a position recover what they missed through the history, or get the
clear "lost" event when it fell out of the history.

With the local backend the master answers a history request through the
worker's queue (pubsub.relay_queue_size, 1 MiB here) and socket (a few MB):
a history of 12 MB, asked by a worker that then stalls, is sent in pages,
each asked once the one before arrived, so that a subscriber recovering it
gets every message, then the live ones; the same history kept in Redis
arrives alike.

The chantest module (tests/modules/chantest.c) publishes with
gale_publish_then (POST /pub), reads a history at once (GET /read:
gale_history_read, ?stall=MS) and streams Server-Sent Events (GET
/events); the SSE client is 32-channels' raw-socket EventSource.
"""

import http.client
import os
import signal
import socket
import subprocess
import urllib.parse

import galetest
from galetest import Gale, check, eq, module_path, wait_for

channels = galetest.load_test("32-channels")
redis_history = galetest.load_test("45-redis-history")

HISTORY = ('history = ( { channel = "lag-kept*"; size = 2000; },'
           ' { channel = "lag-short*"; size = 20; }, { channel = "flush*"; size = 100; } );')


def start(redis, workers=1):
    extra = 'pubsub = { backend = "redis"; redis = { port = %d; }; %s };' % (redis.port, HISTORY)
    return Gale(workers=workers, module=module_path("chantest"), routes=channels.ROUTES,
                extra=extra)


def command(port, *args):
    """One Redis command over RESP; the whole reply's text (bulk strings read in full)."""
    out = "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(out.encode())
        f = s.makefile("rb")
        line = f.readline().decode()
        if line.startswith("$") and int(line[1:]) >= 0:
            return f.read(int(line[1:]) + 2).decode()[:-2]
        return line.strip()


def commandstats(port):
    """{command: calls} from INFO commandstats."""
    calls = {}
    for line in command(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, rest = line[len("cmdstat_"):].partition(":")
            calls[name] = int(rest.split(",")[0].split("=")[1])
    return calls


class Publisher:
    """Publishes on one keep-alive connection, each answered once sequenced."""

    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)

    def pub(self, channel, body):
        self.c.request("POST", "/pub?channel=" + urllib.parse.quote(channel), body=body.encode())
        r = self.c.getresponse()
        text = r.read()
        eq(r.status, 200, "publish status (%r)" % text)
        _, epoch, offset = text.split()
        return int(epoch), int(offset)

    def close(self):
        self.c.close()


def test_scripts_run_by_sha_and_survive_script_flush():
    redis = redis_history.redis_server()
    try:
        with start(redis, workers=2) as g:
            reader = channels.SSE(g.port, "flush")
            check(reader.wait(lambda s: s.last_id), "SSE started (%r)" % reader.error)
            eq(command(redis.port, "CONFIG", "RESETSTAT"), "+OK", "CONFIG RESETSTAT")
            p = Publisher(g.port)
            got = [p.pub("flush", "a%d" % i) for i in range(10)]
            eq(command(redis.port, "SCRIPT", "FLUSH"), "+OK", "SCRIPT FLUSH")
            got += [p.pub("flush", "b%d" % i) for i in range(10)]
            p.close()
            eq([o for _, o in got], list(range(1, 21)), "every publish sequenced, in order")
            events = reader.wait_events(20)
            eq(channels.datas(events), ["a%d" % i for i in range(10)] + ["b%d" % i for i in range(10)],
               "each message once, in order, across the flush")
            reader.stop()
            calls = commandstats(redis.port)
            check(calls.get("evalsha", 0) >= 20, "scripts run by EVALSHA: %r" % calls)
            # the text goes again only after NOSCRIPT: once per connection, script and flush
            check(calls.get("eval", 0) <= 8, "few EVAL (after NOSCRIPT only): %r" % calls)
            check("NOSCRIPT" not in g.log(), "NOSCRIPT is handled, not logged")
    finally:
        redis.close()


def restart(redis):
    """Stop the redis-server and start a new one on the same port: its script
    cache (and data) is empty."""
    args = redis.proc.args
    redis.proc.terminate()
    redis.proc.wait(5)
    redis.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up():
        try:
            return command(redis.port, "PING") == "+PONG"
        except OSError:
            return False
    check(wait_for(up, 5), "redis-server started again")


def test_a_restarted_redis_gets_the_scripts_again():
    redis = redis_history.redis_server()
    try:
        with start(redis) as g:
            e, o = channels.publish(g.port, "flush", "before")
            eq(o, 1, "first offset")
            restart(redis)

            def works():
                try:
                    return channels.publish(g.port, "flush", "after")
                except Exception:  # noqa: BLE001 - not reconnected yet (a 500)
                    return None
            pos = wait_for(works, 10, step=0.2)
            check(pos, "publishing works again after the restart; log:\n%s" % g.log_tail())
            check(pos[0] != e, "the new server's history has a new epoch")
            eq(pos[1], 1, "offsets start again")
            check(commandstats(redis.port).get("eval", 0) >= 1, "the script's text sent again")
    finally:
        redis.close()


def test_a_stopped_worker_recovers_through_history():
    N = 300
    redis = redis_history.redis_server()
    try:
        with start(redis) as a, start(redis) as b:
            # a subscriber that does not read is cut once 64 KiB wait for it
            eq(command(redis.port, "CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 0 0"),
               "+OK", "CONFIG SET")
            kept = channels.SSE(a.port, "lag-kept")
            short = channels.SSE(a.port, "lag-short")
            for r in (kept, short):
                check(r.wait(lambda s: s.last_id), "SSE started (%r)" % r.error)
            worker = a.workers()[0]
            p = Publisher(b.port)
            body = "x" * 40000
            os.kill(worker, signal.SIGSTOP)
            try:
                # 12 MB: more than the socket buffers (up to 4 MB sent, a
                # stopped reader's window) and Redis' limit hold
                for i in range(N):
                    p.pub("lag-kept", "%d %s" % (i, body))
                    if i % 3 == 0:
                        p.pub("lag-short", "%d" % i)
            finally:
                os.kill(worker, signal.SIGCONT)
            check(wait_for(lambda: "subscription restored" in a.log(), 10),
                  "Redis cut the stopped worker's subscription; log:\n%s" % a.log_tail())
            events = kept.wait_events(N, timeout=20)
            eq([d.split()[0] for d in channels.datas(events)], [str(i) for i in range(N)],
               "every message once, in order, after the worker read again")
            ids = channels.ids(events)
            eq([int(i.split(":")[1]) for i in ids], list(range(1, N + 1)), "offsets without a gap")
            # the short history kept 20 of 100: the subscriber is told, then goes on
            check(short.wait(lambda s: any(e[1] == "lost" for e in s.events)),
                  "a 'lost' event where the history could not recover: %r" % short.events[-3:])
            e, o = p.pub("lag-short", "live")
            check(short.wait(lambda s: s.events and s.events[-1][2] == "live"),
                  "then the live ones: %r" % short.events[-3:])
            offs = [int(i.split(":")[1]) for i in channels.ids(short.events)]
            eq(offs, sorted(set(offs)), "no repeat, in order")
            p.close()
            kept.stop()
            short.stop()
    finally:
        redis.close()


BIG = 200
SIZE = 60000  # below the 65,000-byte limit of a message
BIG_HISTORY = 'history = ( { channel = "big*"; size = 1000; } ); relay_queue_size = 1048576;'
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
    """BIG messages; returns the epoch."""
    p = Publisher(port)
    try:
        got = [p.pub(channel, message(i)) for i in range(BIG)]
    finally:
        p.close()
    eq([o for _, o in got], list(range(1, BIG + 1)), "offsets")
    return got[0][0]


def check_big_history(g):
    e = fill(g.port, "big")
    lines = read(g.port, "big", e, 0, stall=300)
    eq(len(lines), BIG + 1, "every message read, then the end")
    eq([ln.split()[:3] for ln in lines[:-1]], [[str(e), str(i + 1), str(i)] for i in range(BIG)],
       "in order, none lost")
    eq(lines[-1], "end 0 %d %d" % (e, BIG), "complete")
    eq(len(read(g.port, "big", 0, 0)), BIG + 1, "epoch 0: everything kept")
    eq(read(g.port, "big", e, BIG - 2)[-1], "end 0 %d %d" % (e, BIG), "a short one still ends")
    # a subscriber resuming from the start: the whole history, then the live one
    sse = channels.SSE(g.port, "big", last_id="%d:0" % e)
    events = sse.wait_events(BIG, timeout=30)
    check(channels.datas(events) == [message(i) for i in range(BIG)],
          "SSE: every message of the history once, whole, in order: %r" % (
              [d.split()[0] for d in channels.datas(events)],))
    check(not any(ev[1] == "lost" for ev in sse.events), "nothing reported lost")
    channels.publish(g.port, "big", "live")
    check(sse.wait(lambda s: s.events[-1][2] == "live"), "then the live one: %r" % (sse.error,))
    eq(len(sse.events), BIG + 1, "no repeat")
    sse.stop()


def test_master_sends_a_big_history_in_pages():
    with Gale(workers=2, module=module_path("chantest"), routes=ROUTES,
              extra="pubsub = { %s };" % BIG_HISTORY) as g:
        check_big_history(g)
        check("dropped" not in g.log(), "no answer dropped; log:\n%s" % g.log_tail())


def test_redis_answers_a_big_history_alike():
    redis = redis_history.redis_server()
    try:
        with Gale(workers=2, module=module_path("chantest"), routes=ROUTES,
                  extra='pubsub = { backend = "redis"; redis = { port = %d; }; %s };'
                  % (redis.port, BIG_HISTORY)) as g:
            check_big_history(g)
    finally:
        redis.close()


if __name__ == "__main__":
    galetest.main()

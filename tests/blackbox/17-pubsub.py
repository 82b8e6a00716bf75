#!/usr/bin/env python3
"""Publish/subscribe across workers and instances, and long polling.

The wstest module (tests/modules/wstest.c) publishes (POST /publish), waits
(GET /wait: gale_request_wait), counts subscribers per worker (GET
/subscribers) and bridges a channel to WebSockets (/subws). Messages go
through the master (backend "local") or a real redis-server started here
(backend "redis").
"""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

import galetest
from galetest import Gale, check, eq, fail, free_port, module_path, wait_for


class Answer:
    def __init__(self, t):
        self.status, self.headers, self.body = t


def request(*a, **kw):
    return Answer(galetest.request(*a, **kw))

ROUTES = (
    ("/publish", "publish"),
    ("/wait", "wait"),
    ("/subscribers", "subscribers"),
    ("/subws", "subws", {"websocket": True}),
    ("/wspid", "wspid", {"websocket": True}),
)


def start(workers=2, extra="", **kw):
    return Gale(workers=workers, module=module_path("wstest"), routes=ROUTES, extra=extra, **kw)


def publish(port, channel, body):
    r = request(port, "POST", "/publish?channel=" + urllib.parse.quote(channel),
                body=body.encode() if isinstance(body, str) else body,
                headers={"Connection": "close"})
    eq(r.status, 204, "publish status")


def subscribers(port, channel, tries=12):
    """{worker: count} seen over fresh connections (spread over the workers)."""
    seen = {}
    for _ in range(tries):
        r = request(port, "GET", "/subscribers?channel=" + channel,
                    headers={"Connection": "close"})
        count, worker = r.body.decode().split()
        seen[int(worker)] = int(count)
    return seen


class Poll(threading.Thread):
    """One long poll on its own connection; result is (status, body) or an exception."""

    def __init__(self, port, channel, timeout=0, read_timeout=15):
        super().__init__(daemon=True)
        self.port, self.channel, self.timeout, self.read_timeout = port, channel, timeout, read_timeout
        self.result = None
        self.start()

    def run(self):
        try:
            r = request(self.port, "GET", "/wait?channel=%s&timeout=%s" % (self.channel, self.timeout),
                        headers={"Connection": "close"}, timeout=self.read_timeout)
            self.result = (r.status, r.body, r.headers)
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.result = e


def wait_subscribed(port, channel, n, timeout=5.0):
    def ok():
        return sum(subscribers(port, channel).values()) >= n
    check(wait_for(ok, timeout), "%d waiters did not all subscribe: %r" % (n, subscribers(port, channel)))


def test_long_polls_on_every_worker_get_one_publish():
    with start() as g:
        # fresh connections land on either worker (SO_REUSEPORT hashes them):
        # add waiters until both workers hold some
        polls = []
        for _ in range(8):
            polls += [Poll(g.port, "room") for _ in range(4)]
            wait_subscribed(g.port, "room", len(polls))
            if len([c for c in subscribers(g.port, "room", 20).values() if c]) == 2:
                break
        check(len([c for c in subscribers(g.port, "room", 20).values() if c]) == 2,
              "waiters on both workers: %r" % subscribers(g.port, "room", 20))
        publish(g.port, "room", "hello everyone")
        for p in polls:
            p.join(5)
            check(not isinstance(p.result, Exception) and p.result is not None,
                  "poll failed: %r" % (p.result,))
            eq(p.result[0], 200, "poll status")
            eq(p.result[1], b"hello everyone", "poll body")
        check(wait_for(lambda: sum(subscribers(g.port, "room").values()) == 0, 3),
              "waiters left behind: %r" % subscribers(g.port, "room"))


def test_long_poll_timeout():
    with start() as g:
        t0 = time.monotonic()
        r = request(g.port, "GET", "/wait?channel=quiet&timeout=0.5")
        took = time.monotonic() - t0
        eq(r.status, 204, "timeout answer")
        check(0.4 < took < 3, "the wait took %.2f s" % took)
        eq(sum(subscribers(g.port, "quiet").values()), 0, "subscribers after the timeout")


def test_client_gone_frees_its_waiter():
    with start() as g:
        socks = []
        for _ in range(6):
            s = socket.create_connection(("127.0.0.1", g.port))
            s.sendall(b"GET /wait?channel=gone&timeout=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        wait_subscribed(g.port, "gone", 6)
        for s in socks:
            s.close()
        check(wait_for(lambda: sum(subscribers(g.port, "gone").values()) == 0, 3),
              "waiters of departed clients remain: %r" % subscribers(g.port, "gone"))
        # the workers are fine, and a publish now reaches nobody without harm
        publish(g.port, "gone", "late")
        eq(request(g.port, "GET", "/subscribers?channel=gone").status, 200, "still serving")


def test_one_order_for_every_subscriber():
    """Messages published concurrently through both workers reach WebSocket
    subscribers in both workers in the same order."""
    galetest.node_module("ws")
    with start() as g:
        n_msgs = 300
        script = r"""
const WebSocket = require('ws');
const [url, nsock, nmsg] = [process.argv[1], +process.argv[2], +process.argv[3]];
const got = []; let open = 0;
for (let i = 0; i < nsock; i++) {
  const ws = new WebSocket(url); got.push([]);
  ws.on('open', () => { if (++open === nsock) console.log('READY'); });
  ws.on('message', d => { got[i].push(String(d)); if (got.every(g => g.length >= nmsg)) {
      console.log(JSON.stringify(got)); process.exit(0); } });
  ws.on('error', e => { console.error(e.message); process.exit(2); });
}
setTimeout(() => { console.log(JSON.stringify(got)); process.exit(3); }, 20000);
"""
        env = dict(os.environ, NODE_PATH=galetest.NODE_MODULES)
        p = subprocess.Popen(["node", "-e", script, "ws://127.0.0.1:%d/subws?channel=order" % g.port,
                              "16", str(n_msgs)], stdout=subprocess.PIPE, text=True, env=env)
        try:
            eq(p.stdout.readline().strip(), "READY", "subscribers open")
            check(wait_for(lambda: len([c for c in subscribers(g.port, "order", 20).values() if c]) == 2,
                           5), "subscribers on both workers: %r" % subscribers(g.port, "order", 20))

            def burst(k):
                for i in range(n_msgs // 3):
                    publish(g.port, "order", "m%d-%d" % (k, i))
            threads = [threading.Thread(target=burst, args=(k,)) for k in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            out, _ = p.communicate(timeout=25)
        finally:
            if p.poll() is None:
                p.kill()
        import json
        got = json.loads(out.strip().splitlines()[-1])
        eq(p.returncode, 0, "node client (every socket got every message)")
        for seq in got[1:]:
            check(seq == got[0], "two subscribers saw different orders")
        eq(sorted(got[0]), sorted("m%d-%d" % (k, i) for k in range(3) for i in range(n_msgs // 3)),
           "messages delivered")


def test_drain_answers_long_polls_and_old_workers_leave():
    with start(grace_period=20) as g:
        old = set(g.workers())
        polls = [Poll(g.port, "drain", read_timeout=10) for _ in range(6)]
        wait_subscribed(g.port, "drain", 6)
        t0 = time.monotonic()
        g.signal(signal.SIGHUP)
        for p in polls:
            p.join(8)
            check(p.result is not None and not isinstance(p.result, Exception),
                  "poll not answered on drain: %r" % (p.result,))
            eq(p.result[0], 204, "drained poll status")
            check("close" in p.result[2].tokens("Connection"), "drained poll keeps its connection")
        check(time.monotonic() - t0 < 5, "long polls answered only after %.1f s" % (time.monotonic() - t0))
        check(wait_for(lambda: not (old & set(g.workers())), 8),
              "old workers still there long after the reload (grace period 20 s)")
        # a new poll on the new workers still gets messages
        p = Poll(g.port, "drain")
        wait_subscribed(g.port, "drain", 1)
        publish(g.port, "drain", "after reload")
        p.join(5)
        eq(p.result[1], b"after reload", "message after the reload")


def test_message_limits():
    with start(workers=1) as g:
        r = request(g.port, "POST", "/publish?channel=big", body=b"x" * 65000)
        eq(r.status, 204, "a 65,000-byte message")
        r = request(g.port, "POST", "/publish?channel=big", body=b"x" * 65001)
        eq(r.status, 500, "a message above 65,000 bytes is refused")
        r = request(g.port, "POST", "/publish?channel=" + "c" * 201, body=b"x")
        eq(r.status, 500, "a channel name above 200 bytes is refused")


def test_config_errors():
    text = galetest.make_conf(free_port(), module=module_path("wstest"), routes=ROUTES,
                              extra='pubsub = { backend = "carrier-pigeon"; };')
    tmp = tempfile.mkdtemp()
    try:
        path = os.path.join(tmp, "g.conf")
        with open(path, "w") as f:
            f.write(text)
        p = galetest.run_gale(["-t", "-c", path])
        rc, out = p.returncode, p.stderr + p.stdout
        check(rc != 0, "a bad backend passes gale -t")
        line = galetest.line_of(text, "carrier-pigeon")
        check(("g.conf:%d:" % line) in out and "backend" in out, "error message: %r" % out)
        text2 = galetest.make_conf(free_port(), module=module_path("wstest"),
                                   routes=(("/publish", "publish", {"websocket": True}),))
        with open(path, "w") as f:
            f.write(text2)
        p = galetest.run_gale(["-t", "-c", path])
        rc, out = p.returncode, p.stderr + p.stdout
        check(rc != 0 and "no WebSocket callbacks" in out, "websocket route on a plain handler: %r" % out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- Redis

class Redis:
    def __init__(self):
        if shutil.which("redis-server") is None:
            fail("redis-server is not installed (scripts/test installs it)")
        self.dir = tempfile.mkdtemp(prefix="gale-redis-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                return False
        if not wait_for(up, 5):
            self.close()
            fail("redis-server did not start")

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def test_redis_backend_reaches_every_instance():
    redis = Redis()
    try:
        extra = 'pubsub = { backend = "redis"; redis = { port = %d; }; };' % redis.port
        with start(extra=extra) as a, start(extra=extra) as b:
            polls = [Poll(a.port, "shared") for _ in range(3)] + [Poll(b.port, "shared") for _ in range(3)]
            wait_subscribed(a.port, "shared", 3)
            wait_subscribed(b.port, "shared", 3)
            time.sleep(0.3)  # every worker's PSUBSCRIBE is in place
            publish(a.port, "shared", "across instances")
            for p in polls:
                p.join(5)
                check(p.result is not None and not isinstance(p.result, Exception),
                      "poll failed: %r" % (p.result,))
                eq((p.result[0], p.result[1]), (200, b"across instances"), "poll answer")
    finally:
        redis.close()


def test_redis_down_then_up():
    """Publishing while Redis is away fails cleanly; once it is back, messages flow."""
    redis = Redis()
    port = redis.port
    redis.close()
    extra = 'pubsub = { backend = "redis"; redis = { port = %d; }; };' % port
    with start(workers=1, extra=extra) as g:
        r = request(g.port, "POST", "/publish?channel=x", body=b"lost")
        eq(r.status, 500, "publish without Redis")
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=g.tmp)
        try:
            def works():
                p = Poll(g.port, "x", timeout=1)
                time.sleep(0.2)
                rr = request(g.port, "POST", "/publish?channel=x", body=b"back")
                p.join(3)
                return rr.status == 204 and p.result is not None and \
                    not isinstance(p.result, Exception) and p.result[1] == b"back"
            check(wait_for(works, 8, step=0.3), "pub/sub did not recover after Redis came back")
        finally:
            proc.terminate()
            proc.wait(5)


if __name__ == "__main__":
    galetest.main()

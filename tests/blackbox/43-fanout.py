#!/usr/bin/env python3
"""43-fanout: one message to many WebSockets, and the limits of fan-out.

The fanouttest module (tests/modules/fanouttest.c) bridges a channel to
WebSockets (/room?channel=C: "hello PID", then "OFFSET MSG" for each
message, framed once per worker with gale_ws_message), publishes (POST
/pub, a body or a burst of numbered messages) and blocks a worker on
demand (GET /block?ms=N), which is how a worker falls behind the master.

Cases: 2,000 sockets (the npm ws package, half of them with
permessage-deflate without context takeover) each get every message once
and in order; a client that stops reading is closed with 1008 while the
others get everything; a message above the IPC limit is refused with
EMSGSIZE and one at the limit arrives whole; a burst that overflows a
blocked worker's queue in the master leaves no subscriber with a gap (they
recover from the history).
"""

import base64
import http.client
import os
import resource
import socket
import struct
import threading
import time

import galetest
from galetest import Gale, check, eq, module_path, wait_for

ROUTES = (
    ("/room", "room", {"websocket": True}),
    ("/pub", "pub"),
    ("/block", "block"),
    ("/whoami", "whoami"),
)


def start(workers=2, ws="", pubsub="", **kw):
    extra = "websocket = { ping_interval = 0.0; %s };\npubsub = { %s };" % (ws, pubsub)
    return Gale(workers=workers, module=module_path("fanouttest"), routes=ROUTES, extra=extra,
                **kw)


def post(port, path, body=b""):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", path, body=body)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


class WS:
    """A raw WebSocket client of /room: a thread reads every frame (unless
    paused) into self.frames as (opcode, payload)."""

    def __init__(self, port, channel, rcvbuf=None, read=True):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(30)
        self.s.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET /room?channel=%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n" % (channel, key)).encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            d = self.s.recv(4096)
            check(d, "the handshake was cut")
            self.buf += d
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 101"), "no 101: %r" % head[:80])
        self.frames = []
        self.closed = threading.Event()
        self.go = threading.Event()
        if read:
            self.go.set()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()
        check(wait_for(lambda: self.frames or self.closed.is_set(), 10), "no hello")
        self.hello = self.frames[0][1].decode()
        check(self.hello.startswith("hello "), "first frame: %r" % self.hello)
        self.pid = int(self.hello.split()[1])

    def _need(self, n):
        while len(self.buf) < n:
            d = self.s.recv(1 << 16)
            if not d:
                raise EOFError
            self.buf += d

    def _frame(self):
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, off = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, off = struct.unpack(">Q", self.buf[2:10])[0], 10
        self._need(off + n)
        payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
        return b0 & 0x0F, payload

    def _run(self):
        try:
            while True:
                if self.frames:  # the hello is read at once
                    self.go.wait()
                op, payload = self._frame()
                self.frames.append((op, payload))
                if op == 8:
                    break
        except (EOFError, OSError):
            pass
        self.closed.set()

    def messages(self):
        """The text messages after the hello: [(offset, body)]."""
        out = []
        for op, p in self.frames[1:]:
            if op == 1:
                off, _, body = p.partition(b" ")
                out.append((int(off) if off.isdigit() else off.decode(), body))
        return out

    def close_code(self):
        for op, p in self.frames:
            if op == 8:
                return struct.unpack(">H", p[:2])[0] if len(p) >= 2 else 1005
        return None

    def close(self):
        self.s.close()


def numbered(i, size):
    head = b"%d:" % i
    return head + b"x" * max(0, size - len(head))


def check_all(msgs, first, last, size, what):
    """msgs are exactly messages first..last of a burst, in order."""
    got = [o for o, _ in msgs]
    want = list(range(first, last + 1))
    if got != want:
        missing = sorted(set(want) - set(got))
        fail_at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
        check(False, "%s: %d messages (want %d), %d missing (first %r), first difference at %r"
              % (what, len(got), len(want), len(missing), missing[:3], fail_at))
    for o, body in msgs:
        if body != numbered(o, size):
            check(False, "%s: message %d altered (%d bytes)" % (what, o, len(body)))


NODE_MANY = r"""
// argv: URL N; stdin: the JSON list of texts every socket must get, in order.
const WebSocket = require('ws');
const [url, n] = [process.argv[1], parseInt(process.argv[2], 10)];
const socks = [], bad = [];
let hello = 0;
for (let i = 0; i < n; i++) {
  // odd sockets compress, without context takeover: they share one frame
  const opts = {perMessageDeflate: i % 2 ?
      {serverNoContextTakeover: true, clientNoContextTakeover: true} : false};
  const s = {ws: new WebSocket(url, opts), msgs: []};
  socks.push(s);
  s.ws.on('message', (d) => {
    const t = String(d);
    if (t.startsWith('hello ')) { if (++hello === n) console.log('READY'); }
    else s.msgs.push(t);
  });
  s.ws.on('error', (e) => { if (bad.length < 5) bad.push(String(e)); });
}
const finish = (want) => {
  let ok = 0, deflated = 0;
  socks.forEach((s, i) => {
    if (s.ws.extensions && s.ws.extensions.includes('permessage-deflate')) deflated++;
    if (s.msgs.length === want.length && s.msgs.every((m, k) => m === want[k])) ok++;
    else if (bad.length < 5) {
      const k = s.msgs.findIndex((m, j) => m !== want[j]);
      bad.push({i, n: s.msgs.length, at: k, got: (s.msgs[k] || '').slice(0, 40),
                want: (want[k] || '').slice(0, 40)});
    }
    s.ws.terminate();
  });
  console.log(JSON.stringify({ok, deflated, bad}));
  process.exit(0);
};
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const want = JSON.parse(input);
  const poll = () => {
    if (socks.every((s) => s.msgs.length >= want.length)) finish(want);
    else setTimeout(poll, 50);
  };
  poll();
  setTimeout(() => finish(want), 30000);
});
"""


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n if hard == resource.RLIM_INFINITY else min(n, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def test_many_sockets_get_every_message_once_in_order():
    """2,000 sockets on two workers, half compressing (one shared compressed
    frame per message and worker), each get all messages once, in order."""
    import json
    import subprocess
    galetest.node_module("ws")
    n = 2000
    raise_nofile(3 * n + 200)
    g = start(ws="compression = true;", limits={"max_connections": 3 * n})
    env = dict(os.environ, NODE_PATH=galetest.NODE_MODULES)
    p = subprocess.Popen(["node", "-e", NODE_MANY, "ws://127.0.0.1:%d/room?channel=many" % g.port,
                          str(n)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=env)
    try:
        line = p.stdout.readline().strip()
        eq(line, "READY", "every socket open")
        want = []
        # one connection, so one worker publishes: gale_publish from two
        # workers may be sequenced in either order
        c = http.client.HTTPConnection("127.0.0.1", g.port, timeout=30)
        for size in (20, 300, 3000, 300, 20, 5000, 64, 65, 1000, 7):
            i = len(want) + 1
            c.request("POST", "/pub?channel=many", body=numbered(i, size))
            r = c.getresponse()
            r.read()
            eq(r.status, 204, "publish")
            want.append("%d %s" % (i, numbered(i, size).decode()))
        c.close()
        out, _ = p.communicate(json.dumps(want), timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    res = json.loads(out.strip().splitlines()[-1])
    eq(res["bad"], [], "sockets that missed or reordered messages")
    eq(res["ok"], n, "sockets with every message")
    eq(res["deflated"], n // 2, "sockets that negotiated permessage-deflate")


def test_slow_reader_is_closed_and_the_others_get_everything():
    """A client that stops reading is closed with 1008 once its queue passes
    max_queue_size; it got a prefix of the messages in order; the others
    got all of them; the log names the cause."""
    g = start(workers=1)  # max_queue_size: the default, 1 MiB
    fast = [WS(g.port, "slow") for _ in range(4)]
    slow = WS(g.port, "slow", rcvbuf=4096, read=False)
    # 12 MB in all: above what the kernel holds for the slow one (its send
    # buffer grows to 4 MB) and the 1 MiB queue
    size, bursts, per = 30000, 40, 10
    for b in range(bursts):
        st, _ = post(g.port, "/pub?channel=slow&count=%d&size=%d" % (per, size))
        eq(st, 204, "publish")
        # the fast readers keep up (each burst is below their limit)
        check(wait_for(lambda: all(len(f.frames) > (b + 1) * per for f in fast), 20),
              "fast readers stalled at burst %d: %r" % (b, [len(f.frames) for f in fast]))
    for f in fast:
        eq([o for o, _ in f.messages()], list(range(1, bursts * per + 1)),
           "the offsets a fast reader got")
        check(f.close_code() is None, "a fast reader was closed")
    slow.go.set()
    check(wait_for(slow.closed.is_set, 20), "the slow reader was not closed")
    eq(slow.close_code(), 1008, "the slow reader's close code")
    got = slow.messages()
    check(len(got) < bursts * per, "the slow reader got everything (%d)" % len(got))
    eq([o for o, _ in got], list(range(1, len(got) + 1)), "the slow reader's prefix")
    check(wait_for(lambda: "too slow" in g.log(), 5), "no log line for the slow reader")
    check("127.0.0.1: WebSocket closed: 1008" in g.log(), "the log line names the peer")
    for f in fast + [slow]:
        f.close()


def test_message_above_the_ipc_limit_is_refused_with_emsgsize():
    g = start(workers=2)
    subs = [WS(g.port, "big") for _ in range(4)]
    st, body = post(g.port, "/pub?channel=big", b"y" * 65001)
    eq(st, 413, "a message of 65,001 bytes")
    check(b"EMSGSIZE" in body, "errno EMSGSIZE: %r" % body[:100])
    check(wait_for(lambda: "65001 bytes on big is refused" in g.log(), 5), "no log line")
    st, _ = post(g.port, "/pub?channel=big", b"z" * 65000)
    eq(st, 204, "a message of 65,000 bytes")
    for s in subs:
        check(wait_for(lambda: len(s.frames) >= 2, 10), "the 65,000-byte message did not arrive")
        eq(s.messages(), [(1, b"z" * 65000)], "what a subscriber got")
        s.close()


def worker_conn(port, pid, tries=60):
    """A keep-alive HTTP connection served by worker pid."""
    for _ in range(tries):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("GET", "/whoami")
        if int(c.getresponse().read()) == pid:
            return c
        c.close()
    check(False, "no connection reached worker %d" % pid)


def test_burst_past_a_blocked_worker_leaves_no_gap():
    """Worker A sleeps while worker B publishes a burst larger than what the
    master holds for A: the master drops A's messages (and says so), tells A
    when it reads again, and A's subscribers get every message from the
    history, once and in order, with no later message needed."""
    # the IPC socket itself holds 8 MB (ipc.c): the burst is well above that
    g = start(workers=2, ws="max_queue_size = 67108864;",
              pubsub='relay_queue_size = 1048576; '
              'history = ( { channel = "burst"; size = 10000; } );')
    subs = [WS(g.port, "burst") for _ in range(8)]
    pids = sorted({s.pid for s in subs})
    for _ in range(20):  # subscribers on both workers
        if len(pids) == 2:
            break
        subs.append(WS(g.port, "burst"))
        pids = sorted({s.pid for s in subs})
    eq(len(pids), 2, "workers with subscribers")
    a, b = pids
    ca, cb = worker_conn(g.port, a), worker_conn(g.port, b)
    ca.request("GET", "/block?ms=2500")
    time.sleep(0.3)  # let A start sleeping (not a timing assertion)
    n, size = 700, 20000
    cb.request("POST", "/pub?channel=burst&count=%d&size=%d" % (n, size), body=b"")
    r = cb.getresponse()
    r.read()
    eq(r.status, 204, "the burst")
    eq(int(ca.getresponse().read()), a, "the blocked worker answered")
    check(wait_for(lambda: "pub/sub messages are dropped" in g.log(), 5),
          "the master dropped nothing: the case did not happen")
    # no later message is needed: the master tells A once its queue has room
    check(wait_for(lambda: all(len(s.frames) >= n + 1 for s in subs), 30),
          "subscribers short of messages: %r" % sorted(len(s.frames) - 1 for s in subs))
    check(wait_for(lambda: "for this worker (it fell behind)" in g.log(), 5),
          "worker A was not told")
    for s in subs:
        check_all(s.messages(), 1, n, size, "subscriber on worker %d" % s.pid)
        s.close()
    ca.close()
    cb.close()


if __name__ == "__main__":
    galetest.main()

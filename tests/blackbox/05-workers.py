#!/usr/bin/env python3
"""05-workers: the prefork model. Worker count (fixed and "auto"), respawn of a
killed worker while clients keep being served, many concurrent connections,
dropping privileges to `user`.

(How connections spread over workers is not checked: gale exposes no worker id
to a client, and CPU time per worker is too noisy to assert on.)"""

import os
import re
import pwd
import signal
import time

from galetest import Gale, Load, Skip, check, eq, main, req


def test_workers_fixed_count():
    with Gale(workers=3) as g:
        ws = g.wait_workers(3)
        time.sleep(1.0)
        eq(g.workers(), ws, "workers one second later (respawning?)")
        for _ in range(20):
            status, _, body = g.get("/")
            eq((status, body), (200, b"Hello, world"), "GET /")


def test_workers_auto():
    n = os.cpu_count()
    with Gale(workers="auto") as g:
        g.wait_workers(n)


def test_one_worker():
    with Gale(workers=1) as g:
        g.wait_workers(1)
        eq(g.get("/")[0], 200, "GET /")


def test_kill_worker_respawn_under_load():
    with Gale(workers=2) as g:
        ws = g.wait_workers(2)
        load = Load(g.port, fresh=2, keepalive=0, pause=0.005, max_seconds=20).start()
        try:
            check(wait_count(load, 20, 5), "load made no requests before the kill")
            victim = ws[0]
            os.kill(victim, signal.SIGKILL)
            t_kill = time.monotonic()
            new = g.wait_workers(2, timeout=5, without=[victim])
            check(ws[1] in new, "the other worker %d went away too: %s" % (ws[1], new))
            n_at_respawn = load.count()
            check(wait_count(load, n_at_respawn + 50, 10), "requests stalled after the respawn")
        finally:
            load.stop()
        after = [r for r in load.results if r[3] > t_kill]
        check(len(after) >= 50, "only %d requests after the kill" % len(after))
        bad = [r[:3] for r in load.results if r[1] != 200 or r[2] != b"Hello, world"]
        check(not bad, "bad answers: %r" % bad[:5])
        # only a request in flight on the killed worker may fail: one per client thread
        check(len(load.errors) <= 2, "%d requests failed around the kill (at most 2 were in "
              "flight on the killed worker): %r" % (len(load.errors), load.errors[:5]))
        for i in range(50):
            status, _, body = g.get("/")
            eq((status, body), (200, b"Hello, world"), "fresh request %d after the respawn" % i)
        check(g.running(), "master died")


def wait_count(load, n, timeout):
    end = time.monotonic() + timeout
    while load.count() < n and time.monotonic() < end:
        time.sleep(0.05)
    return load.count() >= n


def test_kill_each_worker_in_turn():
    with Gale(workers=2) as g:
        ws = g.wait_workers(2)
        for round_ in range(3):
            for victim in list(ws):
                os.kill(victim, signal.SIGKILL)
                ws = g.wait_workers(2, timeout=5, without=[victim])
                status, _, body = g.get("/")
                eq((status, body), (200, b"Hello, world"), "GET / after killing %d" % victim)
        check(g.running(), "master died")


def test_worker_exit_by_sigterm_is_respawned():
    """A worker that stops (SIGTERM to it alone) is replaced too."""
    with Gale(workers=2) as g:
        ws = g.wait_workers(2)
        os.kill(ws[1], signal.SIGTERM)
        g.wait_workers(2, timeout=5, without=[ws[1]])
        eq(g.get("/")[0], 200, "GET / after the respawn")


def test_many_concurrent_connections():
    """100 connections open at once, each doing 3 requests, interleaved."""
    with Gale(workers=2) as g:
        conns = [g.conn(timeout=10) for _ in range(100)]
        try:
            for rnd in range(3):
                for i, c in enumerate(conns):
                    c.send(req("GET", "/greet/" + "abcdefghij"[i % 10] * (1 + rnd)))
                for i, c in enumerate(conns):
                    r = c.read_response(timeout=10)
                    want = ("Hello, " + "abcdefghij"[i % 10] * (1 + rnd)).encode()
                    eq((r.status, r.body), (200, want), "connection %d round %d" % (i, rnd))
        finally:
            for c in conns:
                c.close()


def test_new_connections_spread_over_workers():
    """Each worker has its own SO_REUSEPORT socket: 400 fresh connections from
    one client land on both workers, neither taking nearly all of them (the
    failure of a shared socket with an accept lock)."""
    with Gale(workers=2) as g:
        counts = {}
        for _ in range(400):
            status, _, body = g.get("/info")
            eq(status, 200, "GET /info")
            wid = re.search(rb"worker: (\d+)", body).group(1)
            counts[wid] = counts.get(wid, 0) + 1
        eq(sorted(counts), [b"0", b"1"], "workers that answered")
        check(min(counts.values()) >= 100, "uneven spread over the workers: %r" % counts)


def test_user_drops_privileges():
    """Workers load their modules before they drop root: this holds in a tree
    that nobody may enter (a clone under /root), as systemd setups have."""
    if os.geteuid() != 0:
        raise Skip("not root")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")
    with Gale(workers=2, extra='user = "nobody";') as g:
        ws = g.wait_workers(2)
        for w in ws:
            with open("/proc/%d/status" % w) as f:
                st = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
            uids = st["Uid"].split()
            eq(set(int(u) for u in uids), {nobody.pw_uid}, "uids of worker %d" % w)
            gids = st["Gid"].split()
            eq(set(int(x) for x in gids), {nobody.pw_gid}, "gids of worker %d" % w)
            groups = st.get("Groups", "").split()
            check(all(int(x) == nobody.pw_gid for x in groups) or not groups,
                  "worker %d kept supplementary groups %r" % (w, groups))
        eq(g.get("/")[0], 200, "GET / from unprivileged workers")


if __name__ == "__main__":
    main()

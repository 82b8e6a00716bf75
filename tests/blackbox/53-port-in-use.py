#!/usr/bin/env python3
"""53-port-in-use: gale listens with SO_REUSEPORT, which would let a second
gale of the same user bind a port the first holds and take half its
connections without a word. The master probes each port it does not hold
yet and refuses one in use, naming it: a second gale, a plain socket, and a
reload that adds a port in use; a reload of the ports it holds still works."""

import os
import signal
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (Gale, check, eq, free_port, main, make_conf, run_gale,  # noqa: E402
                      wait_for)


def run_second(port, **kw):
    """Start a gale on port to its end (it must not start); returns it."""
    with tempfile.TemporaryDirectory(prefix="gale-test-") as tmp:
        path = os.path.join(tmp, "gale.conf")
        with open(path, "w") as f:
            f.write(make_conf(port, workers=1, **kw))
        return run_gale(["-c", path])


def check_refused(p, port):
    want = "127.0.0.1:%d: address already in use" % port
    check(p.returncode != 0, "gale started on a port in use (status 0)")
    check(want in p.stderr, "no %r in:\n%s" % (want, p.stderr))


def test_second_gale_refused():
    """The second gale exits non-zero naming the address; the first gets
    every request (with the second listening too, some would go to it)."""
    with Gale(workers=2, greeting="first", access_log="off") as g:
        check_refused(run_second(g.port, greeting="second"), g.port)
        for i in range(40):
            status, _, body = g.request("GET", "/")
            eq((status, b"first" in body), (200, True), "request %d (body %r)" % (i, body))
        eq(len(g.workers()), 2, "the first gale's workers")


def test_plain_socket_refused():
    port = free_port()
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        s.listen(1)
        check_refused(run_second(port), port)
    finally:
        s.close()


def test_reload_adding_port_in_use():
    """A reload that adds a port in use is refused and the old ports serve on;
    a reload of the ports held (the same address, another backlog) passes."""
    busy = free_port()
    s = socket.socket()
    s.bind(("127.0.0.1", busy))
    s.listen(1)
    try:
        with Gale(workers=1, access_log="off") as g:
            g.write_conf(listens=[("127.0.0.1", g.port), ("127.0.0.1", busy)])
            g.signal(signal.SIGHUP)
            check(wait_for(lambda: "reload refused" in g.log(), 15), "no refusal:\n%s"
                  % g.log_tail())
            check("127.0.0.1:%d: address already in use" % busy in g.log(),
                  "the refusal names no address:\n%s" % g.log_tail())
            eq(g.request("GET", "/")[0], 200, "status after the refused reload")
            g.write_conf(greeting="again")
            g.signal(signal.SIGHUP)
            check(wait_for(lambda: "reload done" in g.log(), 15), "no reload:\n%s"
                  % g.log_tail())
            check(wait_for(lambda: b"again" in g.request("GET", "/")[2], 10),
                  "the reloaded config does not serve")
    finally:
        s.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""08-notify: the systemd notify protocol. With NOTIFY_SOCKET set gale sends
READY=1 once it serves, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on
SIGTERM."""

import os
import signal
import socket
import tempfile
import time

from galetest import Gale, eq, fail, main


class Notify:
    """A unix datagram socket standing in for systemd."""

    def __init__(self, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = "gale-test-%d-%d" % (os.getpid(), int(time.monotonic() * 1e6))
            self.sock.bind("\0" + name)
            self.env = "@" + name
            self.dir = None
        else:
            self.dir = tempfile.mkdtemp(prefix="gale-notify-")
            path = os.path.join(self.dir, "notify.sock")
            self.sock.bind(path)
            self.env = path
        self.msgs = []  # every datagram, split into lines

    def wait(self, field, timeout=10.0, after=0):
        """Wait for a datagram holding field (e.g. "READY=1") among messages
        number >= after; returns its index."""
        end = time.monotonic() + timeout
        while True:
            for i in range(after, len(self.msgs)):
                if field in self.msgs[i]:
                    return i
            left = end - time.monotonic()
            if left <= 0:
                fail("no %s within %ss; got %r" % (field, timeout, self.msgs))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            self.msgs.append(data.decode("utf-8", "replace").split("\n"))

    def close(self):
        self.sock.close()
        if self.dir:
            for n in os.listdir(self.dir):
                os.unlink(os.path.join(self.dir, n))
            os.rmdir(self.dir)


def _lifecycle(abstract):
    n = Notify(abstract)
    try:
        with Gale(workers=2, greeting="one", env={"NOTIFY_SOCKET": n.env}) as g:
            i = n.wait("READY=1")
            # READY means serving: a request right away succeeds
            status, _, body = g.get("/")
            eq((status, body), (200, b"one"), "GET / after READY=1")
            g.write_conf(greeting="two")
            g.signal(signal.SIGHUP)
            r = n.wait("RELOADING=1", after=i + 1)
            j = n.wait("READY=1", after=r + 1)
            # READY=1 ends the reload (`systemctl reload` returns): from now on
            # every new connection gets the new config
            for k in range(5):
                status, _, body = g.get("/")
                eq((status, body), (200, b"two"),
                   "new connection %d after RELOADING=1, READY=1" % k)
            g.stop()
            n.wait("STOPPING=1", timeout=5, after=j + 1)
    finally:
        n.close()


def test_notify_lifecycle():
    _lifecycle(False)


def test_notify_abstract_socket():
    _lifecycle(True)


def test_notify_ready_once_at_start():
    n = Notify()
    try:
        with Gale(workers=2, env={"NOTIFY_SOCKET": n.env}) as g:
            n.wait("READY=1")
            time.sleep(1.0)
            n.sock.settimeout(0.2)
            try:
                while True:
                    n.msgs.append(n.sock.recv(4096).decode().split("\n"))
            except socket.timeout:
                pass
            readies = [m for m in n.msgs if "READY=1" in m]
            eq(len(readies), 1, "READY=1 datagrams at start (%r)" % n.msgs)
    finally:
        n.close()


def test_no_notify_socket():
    with Gale(workers=1, env={"NOTIFY_SOCKET": ""}) as g:
        eq(g.get("/")[0], 200, "GET / with NOTIFY_SOCKET empty")


def test_notify_socket_missing_is_not_fatal():
    with Gale(workers=1, env={"NOTIFY_SOCKET": "/nonexistent/gale/notify.sock"}) as g:
        eq(g.get("/")[0], 200, "GET / with NOTIFY_SOCKET naming nothing")


if __name__ == "__main__":
    main()

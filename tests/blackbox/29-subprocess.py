#!/usr/bin/env python3
"""29-subprocess: programs run by a worker (gale_process_*), through the
routes of a test module (tests/modules/proctest.c): argv passed without a
shell, the environment and working folder given, stdin written and closed,
stdout and stderr read, exit codes and signals; bad inputs: a program that
does not exist, one that floods its output (killed at the limit), one that
never exits (SIGTERM at the timeout, SIGKILL after the grace when it ignores
SIGTERM), one that closes stdin early; the cap on children per worker; a
child ended when its request goes away (or left to run when it may outlive
it); no zombie left, and no child left when the worker stops."""

import json
import os
import socket
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import Gale, _stat, check, eq, main, module_path, wait_for  # noqa: E402

CONF = """
workers = 1;
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
process = { max_children = 3; kill_grace = 0.5; };
modules = (
  { path = "@TESTMODULES@/proctest.so";
    routes = ( { path = "/run"; handler = "run"; xsrf = false; },
               { path = "/hold"; handler = "hold"; },
               { path = "/detach"; handler = "detach"; } ); } );
"""


def server():
    module_path("proctest")
    return Gale(conf=CONF)


def target(path, argv, **extra):
    q = [("a", a) for a in argv] + sorted(extra.items())
    return path + "?" + urllib.parse.urlencode(q)


def run(g, argv, body=None, **extra):
    r = g.request("POST" if body is not None else "GET", target("/run", argv, **extra), body=body)
    return r[0], json.loads(r[2])


def reaped(pid):
    """Gone for good: neither running nor a zombie."""
    return _stat(pid) is None


def hold(g, argv, **extra):
    """Open /hold, read its "pid N" line; returns (socket, pid)."""
    s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target("/hold", argv, **extra)).encode())
    data = b""
    while b"pid " not in data or b"\n" not in data.split(b"pid ", 1)[1]:
        chunk = s.recv(4096)
        check(chunk, "connection closed before the pid: %r" % data)
        data += chunk
    check(data.startswith(b"HTTP/1.1 200"), "hold answered %r" % data[:80])
    return s, int(data.split(b"pid ", 1)[1].split(b"\n")[0])


def test_stdin_to_stdout():
    with server() as g:
        st, j = run(g, ["/bin/cat"], body=b"hello\x00world\n")
        eq(st, 200, "status")
        eq(j["out"], "hello\x00world\n", "what cat echoed")
        eq((j["code"], j["why"], j["err"]), (0, "exited", ""), "its end")


def test_argv_without_shell():
    with server() as g:
        st, j = run(g, ["/usr/bin/printf", "%s|", "a b;$(id)", "*", "'\""])
        eq(j["out"], "a b;$(id)|*|'\"|", "arguments passed as they are")


def test_environment_and_folder():
    with server() as g:
        st, j = run(g, ["/usr/bin/env"])
        eq(sorted(j["out"].split()), ["PATH=/usr/bin:/bin", "PROCTEST=yes"], "only the given env")
        st, j = run(g, ["/bin/pwd"], cwd="/tmp")
        eq(j["out"], "/tmp\n", "working folder")
        st, j = run(g, ["/bin/pwd"], cwd="/nonexistent-folder")
        eq(st, 500, "a missing working folder is refused")
        eq(j["errno"], 2, "ENOENT")


def test_exit_code_and_stderr():
    with server() as g:
        st, j = run(g, ["/bin/sh", "-c", "echo out; echo oops >&2; exit 3"])
        eq((j["code"], j["why"], j["out"], j["err"]), (3, "exited", "out\n", "oops\n"), "run")
        st, j = run(g, ["/bin/sh", "-c", "kill -USR1 $$"])
        eq((j["code"], j["why"]), (-10, "exited"), "a signal it sent itself")


def test_missing_program():
    with server() as g:
        for prog in ["/nonexistent/program", "/etc/passwd", "relative-name"]:
            st, j = run(g, [prog])
            eq(st, 500, "status for %s" % prog)
            check(j["errno"] in (2, 13), "errno for %s: %r" % (prog, j))
        st, j = run(g, ["/bin/echo", "still here"])
        eq(j["out"], "still here\n", "the worker goes on")


def test_flood_is_killed():
    with server() as g:
        st, j = run(g, ["/usr/bin/yes", "flood"], max="100000")
        eq((j["code"], j["why"]), (-9, "flooded"), "its end")
        check(len(j["out"]) <= 100000, "no more than the limit kept: %d" % len(j["out"]))
        st, j = run(g, ["/bin/sh", "-c", "head -c 300000 /dev/zero >&2"], max="100000")
        eq(j["why"], "flooded", "stderr counts too")


def test_timeout_terminates_then_kills():
    with server() as g:
        st, j = run(g, ["/bin/sleep", "100"], timeout="0.3")
        eq((j["code"], j["why"]), (-15, "timeout"), "SIGTERM at the timeout")
        st, j = run(g, ["/bin/sh", "-c", "trap '' TERM; echo ready; sleep 100; echo never"],
                    timeout="0.3")
        eq((j["code"], j["why"], j["out"]), (-9, "timeout", "ready\n"), "SIGKILL after the grace")


def test_stdin_closed_early():
    with server() as g:
        big = b"x" * (4 << 20)
        st, j = run(g, ["/bin/true"], body=big)
        eq((st, j["code"]), (200, 0), "a child that reads nothing")
        st, j = run(g, ["/usr/bin/head", "-c", "10"], body=big)
        eq((j["code"], j["out"]), (0, "x" * 10), "a child that stops reading")
        st, j = run(g, ["/bin/cat"], body=b"kept open", keepin="1", timeout="0.3")
        eq((j["out"], j["why"]), ("kept open", "timeout"), "stdin left open")
        eq(g.get("/detach?a=/bin/true")[0], 200, "the worker lives")


def test_child_ends_with_its_request():
    with server() as g:
        s, pid = hold(g, ["/bin/sleep", "100"])
        check(not reaped(pid), "the child runs while the request is open")
        s.close()
        check(wait_for(lambda: reaped(pid), 10), "child %d ended and reaped" % pid)


def test_child_may_outlive_its_request():
    with server() as g:
        s, pid = hold(g, ["/bin/sh", "-c", "read x; exit 0"], outlive="1")
        s.close()
        # the shell waits on stdin, which gale closed: it ends by itself
        check(wait_for(lambda: reaped(pid), 10), "child %d reaped after it ended" % pid)
        s, pid = hold(g, ["/bin/sleep", "2"], outlive="1")
        s.close()
        check(not reaped(pid), "left to run when the request went away")
        check(wait_for(lambda: reaped(pid), 10), "child %d reaped at its end" % pid)


def test_hold_answers_at_the_end():
    with server() as g:
        r = g.get(target("/hold", ["/bin/sh", "-c", "exit 7"]))
        check(r[2].endswith(b"end 7 exited\n"), "held answer: %r" % r[2])


def test_cap_per_worker():
    with server() as g:
        held = [hold(g, ["/bin/sleep", "100"]) for _ in range(3)]
        st, j = run(g, ["/bin/true"])
        eq(st, 503, "a fourth child is refused")
        eq(j["errno"], 11, "EAGAIN")
        for s, pid in held:
            s.close()
        for s, pid in held:
            check(wait_for(lambda: reaped(pid), 10), "child %d reaped" % pid)
        ok = wait_for(lambda: run(g, ["/bin/true"])[0] == 200, 10)
        check(ok, "children can run again")


def test_detached_child_reaped():
    with server() as g:
        r = g.get(target("/detach", ["/bin/sleep", "0.2"]))
        pid = int(r[2].split()[1])
        check(wait_for(lambda: reaped(pid), 10), "detached child %d reaped" % pid)


def test_no_child_left_when_the_worker_stops():
    with server() as g:
        s, pid = hold(g, ["/bin/sleep", "100"])
        outlive = hold(g, ["/bin/sleep", "100"], outlive="1")
        g.stop()
        check(wait_for(lambda: reaped(pid) and reaped(outlive[1]), 10),
              "children of a stopped worker are gone")
        s.close()
        outlive[0].close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""layers.py - includes point one way, down the layers of src/.

    core     config engine, modules, log, ipc, arena, thread pool, util: no protocol
    net      a connection, TLS under it, listening sockets
    store    the session and module stores (LMDB, Redis)
    http     the HTTP/1 wire and the request pipeline, cookies, forms, sessions
    ws       WebSockets
    pubsub   channels and long polls
    page     translations and templates
    proc     subprocesses, CGI
    daemon   main, master, worker: composition

A file of src/ may include its own folder's headers and those of folders on a
lower layer, and <gale/gale.h> (the module API, which every layer serves).
Folders on the same layer (net and store; ws and pubsub) do not include each
other. Includes are written with their folder ("core/log.h"), so that each
one shows where it points.

KNOWN lists the upward includes that are still there, each with what removes
it; the check fails on a new one, and on a listed one that is gone (take it
off the list, so that it cannot come back unseen). Prints one line per
problem and "N passed, N failed" like the other tests.
"""
import os
import re
import sys

RANK = {"core": 0, "net": 1, "store": 1, "http": 2, "ws": 3, "pubsub": 3, "page": 3, "proc": 3, "client": 3,
        "daemon": 4}

# (file, included header): why it is still there.
KNOWN = {
}


def includes(path):
    with open(path, errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if m:
                yield n, m.group(1)


def main():
    src = os.path.join(os.environ.get("GALE_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", ".."), "src")
    found = set()
    problems = []
    checked = 0
    for folder in sorted(os.listdir(src)):
        top = os.path.join(src, folder)
        if not os.path.isdir(top) or folder.startswith("."):
            continue
        if folder not in RANK:
            problems.append("src/%s/: a folder with no layer (add it to RANK in %s)" % (folder, __file__))
            continue
        for name in sorted(os.listdir(top)):
            if not name.endswith((".c", ".h")):
                continue
            rel = "src/%s/%s" % (folder, name)
            for line, inc in includes(os.path.join(top, name)):
                checked += 1
                if inc == "gale/gale.h":
                    continue
                to = inc.split("/")[0]
                if "/" not in inc or to not in RANK:
                    problems.append("%s:%d: #include \"%s\": write the folder (\"core/log.h\")" % (rel, line, inc))
                    continue
                if to == folder or RANK[to] < RANK[folder]:
                    continue
                found.add((rel, inc))
                if (rel, inc) not in KNOWN:
                    what = "up" if RANK[to] > RANK[folder] else "sideways"
                    problems.append("%s:%d: includes \"%s\": %s, from %s to %s"
                                    % (rel, line, inc, what, folder, to))
    for gone in sorted(set(KNOWN) - found):
        problems.append("%s no longer includes \"%s\": take it off KNOWN in tests/source/layers.py" % gone)
    for p in problems:
        print("not ok - " + p)
    print("# %d includes checked, %d known upward ones left" % (checked, len(found & set(KNOWN))))
    print("%d passed, %d failed, 0 skipped" % (0 if problems else 1, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

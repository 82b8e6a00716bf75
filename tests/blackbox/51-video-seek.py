#!/usr/bin/env python3
"""51-video-seek: a video served from a static folder plays in headless
Chromium and seeks to its middle. The video (WebM, VP8, some megabytes) is
made by the browser itself (tests/node/video-seek.js: WebCodecs and a small
muxer), so no media tool and no checked-in file is needed; the player
learns its duration, seeks, plays on from there without error, and the
access log shows the ranges it asked for answered 206: over plain HTTP/1.1
(sendfile) and over TLS with HTTP/2 (the file in pieces)."""

import atexit
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (REPO, Gale, check, fail, free_port, lc_str, main, node,  # noqa: E402
                      node_module, readable_tree, wait_for)

SECONDS = 8

CONF = """
workers = 1;
access_log = "stderr";
listen = ( { address = "127.0.0.1"; port = @PORT@; },
           { address = "127.0.0.1"; port = %(tport)d;
             tls = { certificate = %(crt)s; key = %(key)s; }; } );
static = ( { prefix = "/media/"; path = %(www)s; } );
"""


def test_video_seeks_to_the_middle():
    node_module("playwright-core")
    if not os.access("/usr/bin/chromium", os.X_OK):
        fail("/usr/bin/chromium not found (the chromium package)")
    d = tempfile.mkdtemp(prefix="gale-video-")
    atexit.register(shutil.rmtree, d, True)
    with open(os.path.join(d, "blank.html"), "w") as f:
        f.write("<!doctype html><title>blank</title>\n")
    with open(os.path.join(d, "player.html"), "w") as f:
        f.write('<!doctype html><title>player</title>'
                '<video id="v" src="clip.webm" preload="metadata" muted></video>\n')
    keys = tempfile.mkdtemp(prefix="gale-video-tls-")
    atexit.register(shutil.rmtree, keys, True)
    key, crt = os.path.join(keys, "k.pem"), os.path.join(keys, "c.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                        "-subj", "/CN=localhost", "-days", "2"], capture_output=True)
    check(p.returncode == 0, "openssl cannot make a certificate: %r" % p.stderr)
    readable_tree(keys)
    readable_tree(d)
    os.chmod(d, 0o777)  # the script writes the video here (gale only reads it)
    clip = os.path.join(d, "clip.webm")
    tport = free_port()
    with Gale(conf=CONF % {"www": lc_str(d), "tport": tport, "crt": lc_str(crt),
                           "key": lc_str(key)}) as g:
        rc, out, err = node(os.path.join(REPO, "tests", "node", "video-seek.js"),
                            g.url("/media/"), clip, SECONDS,
                            "https://127.0.0.1:%d/media/" % tport, timeout=90)
        for line in out.splitlines():
            print("#   " + line)
        check(rc == 0, "video-seek.js: %s%s" % (out[-1000:], err[-2000:]))
        size = os.path.getsize(clip)
        check(size > 2 * 1024 * 1024, "a video of some megabytes: %d bytes" % size)

        def ranges(version):  # the access log is written once a second
            return lambda: [int(n) for n in re.findall(
                r'"GET /media/clip\.webm HTTP/%s" 206 (\d+)' % re.escape(version), g.log())
                if int(n) < size]
        for version in ("1.1", "2.0"):
            check(wait_for(ranges(version), 5), "the player's ranges answered 206 over HTTP/%s: %s"
                  % (version, "\n".join(line for line in g.log().splitlines()
                                         if "clip.webm" in line)))
        for line in g.log().splitlines():
            if "clip.webm" in line:
                print("#   " + line[line.index('"'):])
        check(" 500 " not in g.log() and " 416 " not in g.log(), "no error answered")


if __name__ == "__main__":
    main()

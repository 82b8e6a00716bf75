#!/usr/bin/env python3
"""31-fastcgi: routes handed to Debian's php-fpm (modules/cgi, handler
"fastcgi") over a Unix socket and over TCP, php-fpm started by the test with
a config it writes: a page, GET arguments, a form POST, a cookie and a
header set by PHP, a redirect, a local redirect, a large answer streamed;
bad inputs: a script that does not exist (404), a slow script (504),
php-fpm stopped (502), a script that prints nothing at all (PHP adds its own
head, so only a FastCGI server that closes without an answer is 502); a
burst of more requests than php-fpm has children."""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (GALE_MODULES, Gale, Skip, _find_module, check, eq, free_port,  # noqa: E402
                      main, wait_for)

FPM = "/usr/sbin/php-fpm8.2"

PHP = {
    "index.php": """<?php
header('X-Php: yes');
setcookie('flavour', 'mint');
header('Content-Type: application/json');
echo json_encode(['get' => $_GET, 'post' => $_POST, 'method' => $_SERVER['REQUEST_METHOD'],
                  'path_info' => $_SERVER['PATH_INFO'] ?? '', 'https' => $_SERVER['HTTPS'] ?? '',
                  'proxy' => getenv('HTTP_PROXY') ?: '']);
""",
    "go.php": "<?php header('Location: /fpm/index.php?done=1'); http_response_code(303);\n",
    "local.php": "<?php header('Location: /fpm/index.php?local=1');\n",
    "hello.php": "<?php echo 'Hello from php-fpm';\n",
    "upload.php": """<?php
$f = $_FILES['f'];
echo json_encode(['name' => $f['name'], 'size' => $f['size'], 'md5' => md5_file($f['tmp_name']),
                  'note' => $_POST['note']]);
""",
    "slow.php": "<?php sleep(5); echo 'late';\n",
    "big.php": "<?php header('Content-Type: text/plain'); echo str_repeat('x', 3000000);\n",
}


def folder(files):
    top = tempfile.mkdtemp(prefix="gale-fpm-")
    os.chmod(top, 0o755)
    for name, text in files.items():
        with open(os.path.join(top, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(top, name), 0o644)
    return top


class Fpm:
    """php-fpm in the foreground, one pool on a Unix socket, one on TCP."""

    def __init__(self):
        if not os.path.exists(FPM):
            raise Skip("php-fpm not installed (Debian package php-fpm)")
        self.dir = folder({})
        self.sock = os.path.join(self.dir, "fpm.sock")
        self.port = free_port()
        conf = os.path.join(self.dir, "fpm.conf")
        pools = "".join("""
[%s]
listen = %s
listen.mode = 0666
user = nobody
group = nogroup
pm = static
pm.max_children = 2
catch_workers_output = yes
""" % (name, where) for name, where in (("unix", self.sock), ("tcp", "127.0.0.1:%d" % self.port)))
        with open(conf, "w") as f:
            f.write("[global]\npid = %s/fpm.pid\nerror_log = %s/fpm.log\ndaemonize = no\n%s"
                    % (self.dir, self.dir, pools))
        # -R: the test may run as root (the pools still run as nobody)
        self.proc = subprocess.Popen([FPM, "-F", "-R", "-y", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        if not wait_for(lambda: os.path.exists(self.sock) and self._tcp_up(), 10):
            self.stop()
            raise Skip("php-fpm did not start")

    def _tcp_up(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def server(fpm, root):
    cgi = _find_module(GALE_MODULES, "cgi")
    if cgi is None:
        raise Skip("cgi.so not built")
    route = ('{ path = "/%s/.*"; handler = "fastcgi"; xsrf = false; settings = { prefix = "/%s/";'
             ' root = "%s"; fastcgi = "%s"; index = "index.php"; timeout = 1.0; }; }')
    routes = [route % ("fpm", "fpm", root, "unix:" + fpm.sock),
              route % ("tcp", "tcp", root, "127.0.0.1:%d" % fpm.port)]
    conf = """
workers = 1;
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
modules = ( { path = "%s"; routes = ( %s ); } );
""" % (cgi, ", ".join(routes))
    return Gale(conf=conf)


def test_page_get_cookie_header():
    with Fpm() as fpm, server(fpm, folder(PHP)) as g:
        for top in ("fpm", "tcp"):
            r = g.get("/%s/hello.php" % top)
            eq((r[0], r[2]), (200, b"Hello from php-fpm"), "page over " + top)
            r = g.get("/%s/?q=sea&n=2" % top, headers={"Proxy": "http://evil:1"})
            j = json.loads(r[2])
            eq(j["get"], {"q": "sea", "n": "2"}, "$_GET")
            eq(j["proxy"], "", "no HTTP_PROXY from a Proxy header")
            eq(r[1].get("X-Php"), "yes", "header()")
            check("flavour=mint" in (r[1].get("Set-Cookie") or ""), "setcookie: %r" % r[1])


def test_form_post_and_redirects():
    with Fpm() as fpm, server(fpm, folder(PHP)) as g:
        body = urllib.parse.urlencode({"title": "a note", "text": "ça va" * 20000}).encode()
        r = g.request("POST", "/fpm/index.php/tail", body=body,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        j = json.loads(r[2])
        eq((j["method"], j["post"], j["path_info"]),
           ("POST", {"title": "a note", "text": "ça va" * 20000}, "/tail"), "$_POST (a large body)")
        r = g.get("/fpm/go.php")
        eq((r[0], r[1].get("Location")), (303, "/fpm/index.php?done=1"), "redirect by PHP")
        r = g.get("/fpm/local.php")
        eq(r[0], 302, "PHP answers Location with its own 302: a client redirect")


def test_upload():
    with Fpm() as fpm, server(fpm, folder(PHP)) as g:
        data = bytes(range(256)) * 4000
        boundary = "galeboundary42"
        body = ("--%s\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n"
                "--%s\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n" % (boundary, boundary)).encode()
        body += data + ("\r\n--%s--\r\n" % boundary).encode()
        r = g.request("POST", "/fpm/upload.php", body=body,
                      headers={"Content-Type": "multipart/form-data; boundary=" + boundary})
        eq(r[0], 200, "status")
        j = json.loads(r[2])
        eq((j["name"], j["size"], j["md5"], j["note"]),
           ("a.bin", len(data), hashlib.md5(data).hexdigest(), "hi"), "the file PHP got")


def test_connections_kept_and_renewed():
    with Fpm() as fpm, server(fpm, folder(PHP)) as g:
        for i in range(20):
            eq(g.get("/fpm/hello.php")[0], 200, "request %d in a row" % i)
        for i in range(3):  # a body (its STDIN records kept for a resend)
            r = g.request("POST", "/fpm/index.php", body=b"n=%d" % i,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
            eq(json.loads(r[2])["post"], {"n": str(i)}, "a POST in a row")
        r = g.get("/fpm/hello.php")
        eq(r[1].get("Content-Length"), str(len(r[2])),
           "a short answer, whole in one read, goes out with its length")
        # a reload closes every connection php-fpm holds, and resets some it
        # accepts meanwhile (a GET is then sent once more on a new one)
        fpm.proc.send_signal(signal.SIGUSR2)
        ok = wait_for(lambda: g.get("/fpm/hello.php")[0] == 200, 10)
        check(ok, "answers again after php-fpm reloaded")
        for i in range(5):
            eq(g.get("/fpm/hello.php")[0], 200, "request %d after the reload" % i)


def test_burst_beyond_children():
    """More requests at once than php-fpm has children (2) and than gale
    opens connections (4): the others wait in gale for a connection, none in
    php-fpm's accept queue behind a child held by a kept idle connection
    (they hung there until the timeout, 504 here); posted bodies wait with
    them."""
    results = {}

    def one(g, i):
        if i % 2:
            r = g.request("POST", "/fpm/index.php", body=b"n=%d" % i, timeout=20,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
            results[i] = (r[0], json.loads(r[2])["post"] if r[0] == 200 else r[2][:100])
        else:
            r = g.get("/fpm/hello.php", timeout=20)
            results[i] = (r[0], r[2])

    with Fpm() as fpm, server(fpm, folder(PHP)) as g:
        for rnd in range(3):
            threads = [threading.Thread(target=one, args=(g, i)) for i in range(12)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            want = {i: (200, {"n": str(i)} if i % 2 else b"Hello from php-fpm") for i in range(12)}
            eq(results, want, "round %d: every request of the burst answered" % rnd)
            results.clear()


def test_large_answer():
    with Fpm() as fpm, server(fpm, folder(PHP)) as g:
        r = g.get("/fpm/big.php", timeout=30)
        eq((r[0], len(r[2])), (200, 3000000), "3 MB through")


def test_missing_slow_and_stopped():
    with Fpm() as fpm, server(fpm, folder(PHP)) as g:
        eq(g.get("/fpm/missing.php")[0], 404, "a script that does not exist")
        eq(g.get("/fpm/slow.php")[0], 504, "a slow script")
        eq(g.get("/fpm/hello.php")[0], 200, "php-fpm still answers")
        fpm.stop()
        eq(g.get("/fpm/hello.php")[0], 502, "php-fpm stopped (Unix socket)")
        eq(g.get("/tcp/hello.php")[0], 502, "php-fpm stopped (TCP)")
        check(wait_for(lambda: "FastCGI server" in g.log(), 5), "logged:\n" + g.log_tail())


if __name__ == "__main__":
    main()

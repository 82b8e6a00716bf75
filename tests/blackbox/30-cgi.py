#!/usr/bin/env python3
"""30-cgi: CGI routes (modules/cgi, RFC 3875) running scripts written by the
test (shell and Python) and PHP pages through Debian's php-cgi: the
meta-variables (method, query, PATH_INFO, SCRIPT_NAME, SERVER_*, REMOTE_ADDR,
HTTP_* without Proxy), the body on stdin, Status, client and local
redirects, cookies and headers set by PHP, a form POST, a large answer
streamed; bad inputs: a script that does not exist or lies outside the root
(404), one that prints no head (502 and a log line), one that cannot run
(502), one that runs past its timeout (504)."""

import hashlib
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (GALE_MODULES, Gale, Skip, _find_module, check, eq, main,  # noqa: E402
                      parse_responses, req, wait_for)

SCRIPTS = {
    "env.py": """#!/usr/bin/python3
import json, os, sys
body = sys.stdin.buffer.read().decode("latin-1")
sys.stdout.write("Content-Type: application/json\\r\\nX-Cgi: yes\\r\\n\\r\\n")
sys.stdout.write(json.dumps({"env": dict(os.environ), "body": body, "cwd": os.getcwd()}))
""",
    "status.sh": "#!/bin/sh\nprintf 'Status: 201 Made\\r\\nContent-Type: text/plain\\r\\n\\r\\ncreated'\n",
    "away.sh": "#!/bin/sh\nprintf 'Location: https://example.com/x\\n\\n'\n",
    "local.sh": "#!/bin/sh\nprintf 'Location: /cgi/env.py/again?x=1\\n\\n'\n",
    "loop.sh": "#!/bin/sh\nprintf 'Location: /cgi/loop.sh\\n\\n'\n",
    "nohead.sh": "#!/bin/sh\necho hello\n",
    "nocolon.sh": "#!/bin/sh\nprintf 'hello world\\n\\nbody'\n",
    "fails.sh": "#!/bin/sh\necho 'broken script' >&2\nexit 1\n",
    "slow.sh": "#!/bin/sh\nsleep 100\n",
    "big.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nhead -c 3000000 /dev/zero | tr '\\000' x\n",
    "sub/deep.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s|%s' \"$SCRIPT_NAME\" \"$PATH_INFO\"\n",
    "pid.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'; echo $$; exec sleep 100\n",
    ".hidden.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhidden'\n",
}

PHP = {
    "index.php": """<?php
header('X-Php: yes');
setcookie('flavour', 'mint');
header('Content-Type: application/json');
echo json_encode(['get' => $_GET, 'post' => $_POST, 'method' => $_SERVER['REQUEST_METHOD'],
                  'path_info' => $_SERVER['PATH_INFO'] ?? '']);
""",
    "go.php": "<?php header('Location: /php/index.php?done=1'); http_response_code(303);\n",
    "hello.php": "<?php echo 'Hello from PHP ', PHP_MAJOR_VERSION;\n",
    "upload.php": "<?php $f = $_FILES['f']; echo $f['name'], ' ', $f['size'], ' ', md5_file($f['tmp_name']);\n",
}


def folder(files, executable=True):
    top = tempfile.mkdtemp(prefix="gale-cgi-")
    os.chmod(top, 0o755)
    for name, text in files.items():
        path = os.path.join(top, name)
        os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
        os.chmod(os.path.dirname(path), 0o755)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o755 if executable else 0o644)
    return top


def server(root, php=None):
    cgi = _find_module(GALE_MODULES, "cgi")
    if cgi is None:
        raise Skip("cgi.so not built")
    # /short/ for the timeout case; the others wait as long as a loaded
    # machine may need to start a script
    routes = ['{ path = "/cgi/.*"; handler = "cgi"; xsrf = false;'
              ' settings = { prefix = "/cgi/"; root = "%s"; timeout = 30.0; }; }' % root,
              '{ path = "/short/.*"; handler = "cgi"; xsrf = false;'
              ' settings = { prefix = "/short/"; root = "%s"; timeout = 0.5; }; }' % root,
              '{ path = "/long/.*"; handler = "cgi"; xsrf = false;'
              ' settings = { prefix = "/long/"; root = "%s"; timeout = 60.0; }; }' % root]
    if php:
        routes.append('{ path = "/php/.*"; handler = "cgi"; xsrf = false;'
                      ' settings = { prefix = "/php/"; root = "%s"; program = "/usr/bin/php-cgi";'
                      ' index = "index.php"; }; }' % php)
    conf = """
workers = 1;
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
process = { kill_grace = 0.2; };
modules = ( { path = "%s"; routes = ( %s ); } );
""" % (cgi, ", ".join(routes))
    return Gale(conf=conf)


def scripts():
    return folder(SCRIPTS)


def test_meta_variables():
    root = scripts()
    with server(root) as g:
        data = g.raw(req("GET", "/cgi/env.py/extra/p%20ath?a=1&b=%20", host="127.0.0.1:%d" % g.port,
                         headers=[("Proxy", "http://evil:1"), ("X-Foo", "bar"),
                                  ("X_Foo", "smuggled"), ("Cookie", "a=1"), ("Cookie", "b=2"),
                                  ("Connection", "close")]))
        r = parse_responses(data)[0]
        eq(r[0], 200, "status")
        eq(r[1].get("X-Cgi"), "yes", "a header of the script")
        j = json.loads(r[2])
        env = j["env"]
        want = {"REQUEST_METHOD": "GET", "QUERY_STRING": "a=1&b=%20", "PATH_INFO": "/extra/p ath",
                "SCRIPT_NAME": "/cgi/env.py", "SCRIPT_FILENAME": os.path.realpath(root) + "/env.py",
                "GATEWAY_INTERFACE": "CGI/1.1", "SERVER_PROTOCOL": "HTTP/1.1",
                "REMOTE_ADDR": "127.0.0.1", "SERVER_PORT": str(g.port), "HTTP_X_FOO": "bar",
                "HTTP_COOKIE": "a=1; b=2", "REQUEST_URI": "/cgi/env.py/extra/p%20ath?a=1&b=%20"}
        for k, v in want.items():
            eq(env.get(k), v, k)
        for k in ("HTTP_PROXY", "CONTENT_LENGTH", "CONTENT_TYPE", "HTTPS"):
            check(k not in env, "%s must not be set: %r" % (k, env.get(k)))
        eq(j["cwd"], os.path.realpath(root), "working folder: the script's")
        eq(j["body"], "", "no body")


def test_body_to_stdin():
    with server(scripts()) as g:
        body = b"name=gale&x=" + b"y" * 200000
        r = g.request("POST", "/cgi/env.py", body=body,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        j = json.loads(r[2])
        eq(j["env"]["CONTENT_LENGTH"], str(len(body)), "CONTENT_LENGTH")
        eq(j["env"]["CONTENT_TYPE"], "application/x-www-form-urlencoded", "CONTENT_TYPE")
        eq(j["body"], body.decode(), "the body on stdin")


def test_status_and_redirects():
    with server(scripts()) as g:
        r = g.get("/cgi/status.sh")
        eq((r[0], r[2]), (201, b"created"), "Status:")
        r = g.get("/cgi/away.sh")
        eq((r[0], r[1].get("Location")), (302, "https://example.com/x"), "client redirect")
        r = g.get("/cgi/local.sh")
        eq(r[0], 200, "local redirect followed")
        env = json.loads(r[2])["env"]
        eq((env["QUERY_STRING"], env["PATH_INFO"], env["REQUEST_METHOD"]), ("x=1", "/again", "GET"),
           "the redirect's target ran")
        eq(g.get("/cgi/loop.sh")[0], 502, "a local redirect loop is cut")


def test_folders_and_path_info():
    with server(scripts()) as g:
        r = g.get("/cgi/sub/deep.sh/more/x")
        eq(r[2], b"/cgi/sub/deep.sh|/more/x", "SCRIPT_NAME and PATH_INFO")


def test_script_confined_to_its_root():
    root = scripts()
    outside = tempfile.mkdtemp(prefix="gale-out-")
    os.chmod(outside, 0o755)
    shutil.copy(os.path.join(root, "status.sh"), os.path.join(outside, "out.sh"))
    os.chmod(os.path.join(outside, "out.sh"), 0o755)
    os.symlink(os.path.join(outside, "out.sh"), os.path.join(root, "link.sh"))
    with server(root) as g:
        for path in ["/cgi/nothere.sh", "/cgi/.hidden.sh", "/cgi/link.sh", "/cgi/sub/",
                     "/cgi/%2e%2e/etc/passwd", "/cgi/sub/..%2fstatus.sh", "/cgi/a%00b", "/cgi/"]:
            eq(g.get(path)[0], 404, path)
        s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
        s.sendall(b"GET /cgi/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
        check(not s.recv(4096).startswith(b"HTTP/1.1 200"), "dot segments")
        s.close()


def test_bad_scripts():
    root = scripts()
    with open(os.path.join(root, "plain.sh"), "w") as f:
        f.write("#!/bin/sh\necho no\n")
    os.chmod(os.path.join(root, "plain.sh"), 0o644)
    with server(root) as g:
        eq(g.get("/cgi/nohead.sh")[0], 502, "no head")
        eq(g.get("/cgi/nocolon.sh")[0], 502, "a head that is not one")
        eq(g.get("/cgi/fails.sh")[0], 502, "fails before its head")
        eq(g.get("/cgi/plain.sh")[0], 502, "cannot run")
        eq(g.get("/short/slow.sh")[0], 504, "past its timeout")
        eq(g.get("/cgi/status.sh")[0], 201, "the worker goes on")
        wait_for(lambda: "broken script" in g.log(), 5)
        log = g.log()
        check("nohead.sh: the program ended (0) without a head" in log, "log of no head:\n" + log)
        check("broken script" in log, "stderr in the log")


def test_large_answer_streamed():
    with server(scripts()) as g:
        r = g.get("/cgi/big.sh", timeout=30)
        eq((r[0], len(r[2]), r[2][:3]), (200, 3000000, b"xxx"), "3 MB through")


def test_chunked_body_needs_a_length():
    with server(scripts()) as g:
        data = g.raw(req("POST", "/cgi/env.py", headers=[("Transfer-Encoding", "chunked"),
                                                          ("Connection", "close")],
                         body=b"5\r\nhello\r\n0\r\n\r\n"))
        eq(parse_responses(data)[0][0], 411, "chunked body")


def test_script_ended_when_the_client_leaves():
    with server(scripts()) as g:
        s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        s.sendall(b"GET /long/pid.sh HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while not re.search(rb"\r\n\r\n[0-9a-f]+\r\n\d+\n", data):  # the pid, in a chunk
            chunk = s.recv(4096)
            check(chunk, "closed early: %r" % data)
            data += chunk
        pid = int(re.search(rb"\r\n\r\n[0-9a-f]+\r\n(\d+)\n", data).group(1))
        check(os.path.exists("/proc/%d" % pid), "the script runs")
        s.close()
        check(wait_for(lambda: not os.path.exists("/proc/%d" % pid), 10),
              "script %d ended when its client left" % pid)


def php_server():
    if not os.path.exists("/usr/bin/php-cgi"):
        raise Skip("php-cgi not installed (Debian package php-cgi)")
    return server(scripts(), php=folder(PHP, executable=False))


def test_php_page_and_get():
    with php_server() as g:
        r = g.get("/php/hello.php")
        eq(r[0], 200, "status")
        check(r[2].startswith(b"Hello from PHP "), "page: %r" % r[2][:100])
        r = g.get("/php/?q=sea&n=2")
        j = json.loads(r[2])
        eq(j["get"], {"q": "sea", "n": "2"}, "$_GET through the index")
        eq(r[1].get("X-Php"), "yes", "header()")
        check("flavour=mint" in (r[1].get("Set-Cookie") or ""), "setcookie: %r" % r[1])


def test_php_form_post_and_redirect():
    with php_server() as g:
        body = urllib.parse.urlencode({"title": "a note", "text": "ça va"}).encode()
        r = g.request("POST", "/php/index.php/tail", body=body,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        j = json.loads(r[2])
        eq((j["method"], j["post"], j["path_info"]), ("POST", {"title": "a note", "text": "ça va"},
                                                      "/tail"), "$_POST")
        r = g.get("/php/go.php")
        eq((r[0], r[1].get("Location")), (303, "/php/index.php?done=1"), "redirect by PHP")
        eq(g.get("/php/missing.php")[0], 404, "a PHP file that does not exist")
        data = bytes(range(256)) * 2000
        b = "galeboundary42"
        body = ("--%s\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n" % b).encode()
        body += data + ("\r\n--%s--\r\n" % b).encode()
        r = g.request("POST", "/php/upload.php", body=body,
                      headers={"Content-Type": "multipart/form-data; boundary=" + b})
        eq(r[2].decode(), "a.bin %d %s" % (len(data), hashlib.md5(data).hexdigest()), "an upload")


if __name__ == "__main__":
    main()

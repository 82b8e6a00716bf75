#!/usr/bin/env python3
"""13-framework: the web framework parts of the module API, through the real
server: JSON in and out (with "</" escaped), redirects to reverse URLs of
named routes, ETag and If-None-Match, and per-handler prepare / on_finish."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import Gale, check, eq, main, module_path  # noqa: E402

CONF = """
workers = 1;
access_log = "off";
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
modules = (
  { path = "@HELLO@";
    routes = ( { path = "/"; handler = "hello"; },
               { path = "/greet/([a-z]+)"; handler = "greet"; name = "greet"; },
               { path = "/json"; handler = "json"; },
               { path = "/go"; handler = "go"; },
               { path = "/echo"; handler = "echo"; },
               { path = "/form"; handler = "form"; xsrf = false; },
               { path = "/visits"; handler = "visits"; },
               { path = "/note"; handler = "note"; },
               { path = "/info"; handler = "info"; },
               { path = "/api"; handler = "json";
                 cors = { origins = ["https://a.example", "https://b.example"];
                          headers = ["Content-Type", "X-Token"]; expose = ["ETag"];
                          credentials = true; max_age = 120; }; },
               { path = "/open"; handler = "hello"; cors = { origins = "*"; }; } ); },
  { path = "@TESTMODULES@/hooks.so";
    routes = ( { path = "/guarded"; handler = "guarded"; },
               { path = "/count"; handler = "count"; } ); } );
%s
"""


def framework(extra=""):
    module_path("hooks")  # skips when the test module was not built
    return Gale(conf=CONF % extra)


def test_json_answer_is_escaped_for_script():
    with framework() as g:
        status, h, body = g.get("/json")
        eq(status, 200, "GET /json")
        eq(h.get("Content-Type"), "application/json; charset=utf-8", "Content-Type")
        check(b"</" not in body, "'</' must be escaped: %r" % body)
        eq(json.loads(body), {"text": "</script><b>", "n": 42}, "decoded JSON")


def test_json_body_round_trip_and_bad_json():
    with framework() as g:
        doc = {"a": [1, 2, {"b": None}], "u": "\u00e9\u4e2d"}
        status, _, body = g.request("POST", "/json", json.dumps(doc).encode(),
                                    headers={"Content-Type": "application/json"})
        eq((status, json.loads(body)), (200, {"got": doc}), "POST /json")
        for bad in (b"", b"{", b"{\"a\":}", b"\xff\xfe", b"[1,2"):
            status, _, body = g.request("POST", "/json", bad)
            eq(status, 400, "malformed JSON %r" % bad)
            check(b"JSON" in body, "the 400 says why: %r" % body)


def test_redirect_to_named_route():
    with framework() as g:
        status, h, body = g.get("/go?to=bob")
        eq((status, h.get("Location")), (302, "/greet/bob"), "redirect")
        eq(body, b"", "a redirect has no body")
        status, _, body = g.get(h.get("Location"))
        eq((status, body), (200, b"Hello, bob"), "following it")


def test_etag_and_if_none_match():
    with framework() as g:
        status, h, body = g.get("/")
        tag = h.get("ETag")
        check(tag and tag.startswith('"') and tag.endswith('"'), "a strong ETag: %r" % tag)
        for inm in (tag, "W/" + tag, '"nope", ' + tag, "*"):
            status, h2, body = g.request("GET", "/", headers={"If-None-Match": inm})
            eq((status, body), (304, b""), "If-None-Match: %s" % inm)
            eq(h2.get("ETag"), tag, "the 304 keeps the ETag")
            check("Content-Type" not in h2, "a 304 drops Content-Type")
        status, _, body = g.request("GET", "/", headers={"If-None-Match": '"other"'})
        eq((status, body), (200, b"Hello, world"), "a different tag gets the body")
        status, h3, _ = g.request("HEAD", "/")
        eq(h3.get("ETag"), tag, "HEAD has the same ETag")
        status, h4, _ = g.request("POST", "/echo", b"x")
        check("ETag" not in h4, "no ETag on POST answers")


def test_etag_off():
    with framework("etag = false;") as g:
        status, h, _ = g.get("/")
        check("ETag" not in h, "etag = false: no ETag")


def test_prepare_and_on_finish():
    with framework() as g:
        status, _, body = g.get("/guarded")
        eq(status, 403, "prepare refuses without the token")
        status, _, body = g.request("GET", "/guarded", headers={"X-Token": "let-me-in"})
        eq((status, body), (200, b"inside"), "prepare lets the handler run")
        status, _, body = g.get("/count")
        eq(body, b"2", "on_finish ran once per answer of the guarded handler")


def test_error_pages_from_config():
    d = tempfile.mkdtemp(prefix="gale-pages-")
    os.chmod(d, 0o755)
    with open(os.path.join(d, "404.html"), "w") as f:
        f.write("<h1>not here</h1>")
    with open(os.path.join(d, "405.txt"), "w") as f:
        f.write("wrong method")
    conf = (CONF % ('error_pages = ( { status = 404; file = "%s/404.html"; },'
                    ' { status = 405; file = "%s/405.txt"; type = "text/plain"; } );' % (d, d)))
    module_path("hooks")
    with Gale(conf=conf) as g:
        status, h, body = g.get("/nowhere")
        eq((status, body, h.get("Content-Type")),
           (404, b"<h1>not here</h1>", "text/html; charset=utf-8"), "404 page")
        status, h, body = g.request("DELETE", "/")
        eq((status, body, h.get("Content-Type")), (405, b"wrong method", "text/plain"), "405 page")
        check(h.get("Allow"), "the 405 page keeps Allow")
        status, _, body = g.request("POST", "/json", b"{")
        check(status == 400 and b"JSON" in body, "400 without a page keeps the short text")
    shutil.rmtree(d)


def test_trusted_proxy_headers():
    hdrs = {"X-Forwarded-For": "203.0.113.9, 10.1.2.3", "X-Forwarded-Proto": "https"}
    with framework('trusted_proxies = ["127.0.0.1", "10.0.0.0/8"];') as g:
        _, _, body = g.request("GET", "/info", headers=hdrs)
        check(b"client: 203.0.113.9" in body and b"scheme: https" in body,
              "through trusted proxies: %r" % body)
        _, _, body = g.request("GET", "/info", headers={"X-Real-IP": "198.51.100.7"})
        check(b"client: 198.51.100.7" in body, "X-Real-IP: %r" % body)
        _, _, body = g.request("GET", "/info", headers={"X-Forwarded-For": "not-an-ip"})
        check(b"client: 127.0.0.1" in body, "garbage is not believed: %r" % body)
    with framework('trusted_proxies = ["10.0.0.0/8"];') as g:
        _, _, body = g.request("GET", "/info", headers=hdrs)
        check(b"client: 127.0.0.1" in body and b"scheme: http\n" in body,
              "an untrusted peer's headers are ignored: %r" % body)
    with framework() as g:
        _, _, body = g.request("GET", "/info", headers=hdrs)
        check(b"client: 127.0.0.1" in body, "no trusted_proxies: ignored: %r" % body)


def test_cors_preflight_and_simple():
    with framework() as g:
        pre = {"Origin": "https://b.example", "Access-Control-Request-Method": "POST",
               "Access-Control-Request-Headers": "Content-Type"}
        status, h, body = g.request("OPTIONS", "/api", headers=pre)
        eq(status, 204, "preflight")
        eq(h.get("Access-Control-Allow-Origin"), "https://b.example", "allowed origin echoed")
        eq(h.get("Access-Control-Allow-Credentials"), "true", "credentials")
        eq(h.get("Access-Control-Allow-Headers"), "Content-Type, X-Token", "allowed headers")
        eq(h.get("Access-Control-Max-Age"), "120", "max age")
        check("POST" in h.get("Access-Control-Allow-Methods", ""), "methods default to the handler's")
        status, h, _ = g.request("POST", "/api", b"{}", headers={"Origin": "https://a.example"})
        eq((status, h.get("Access-Control-Allow-Origin")), (200, "https://a.example"), "simple")
        eq(h.get("Access-Control-Expose-Headers"), "ETag", "exposed headers")
        check("Origin" in h.get("Vary", ""), "Vary: Origin")
        status, h, _ = g.request("OPTIONS", "/api", headers=dict(pre, Origin="https://evil.example"))
        check("Access-Control-Allow-Origin" not in h, "a foreign origin gets no CORS headers")
        status, h, _ = g.request("GET", "/open", headers={"Origin": "https://any.example"})
        eq(h.get("Access-Control-Allow-Origin"), "*", "origins = \"*\" without credentials")
        status, h, _ = g.request("GET", "/", headers={"Origin": "https://a.example"})
        check("Access-Control-Allow-Origin" not in h, "no cors group, no CORS headers")


def _multipart(fields, files, boundary="gale-test-boundary-1234"):
    out = []
    for name, value in fields:
        out.append(b"--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                   % (boundary.encode(), name.encode(), value))
    for name, filename, ctype, data in files:
        out.append(b"--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                   b"Content-Type: %s\r\n\r\n%s\r\n"
                   % (boundary.encode(), name.encode(), filename.encode(), ctype.encode(), data))
    out.append(b"--%s--\r\n" % boundary.encode())
    return b"".join(out), "multipart/form-data; boundary=%s" % boundary


def test_arguments_query_urlencoded_repeated_required():
    with framework() as g:
        _, _, body = g.get("/form?who=q%20r&tag=1&tag=2")
        eq(body, b"who=q r\ntag=1\ntag=2\n", "query arguments, repeated")
        _, _, body = g.request("POST", "/form?tag=0", b"who=bob&tag=x+y&tag=%7E",
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        eq(body, b"who=bob\ntag=0\ntag=x y\ntag=~\n", "query then body arguments")
        status, _, body = g.request("POST", "/form", b"tag=1",
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        eq(status, 400, "a missing required argument")
        check(b"missing argument who" in body, "the 400 names it: %r" % body)


def test_multipart_fields_and_files_memory_and_disk():
    big = os.urandom(3 * 1024 * 1024 + 17)  # several MiB: above the memory limit
    payload, ctype = _multipart([("who", b"ann"), ("tag", b"t1")],
                                [("small", "a.txt", "text/plain", b"hi\r\n--not a boundary"),
                                 ("big", "b.bin", "application/octet-stream", big)])
    with framework("limits = { upload_memory_limit = 65536; max_body_size = 8388608; };") as g:
        status, _, body = g.request("POST", "/form", payload, headers={"Content-Type": ctype},
                                    timeout=30)
        eq(status, 200, "multipart upload")
        eq(body, b"who=ann\ntag=t1\nfile small a.txt text/plain 20 memory\n"
                 b"file big b.bin application/octet-stream %d disk\n" % len(big), "what arrived")
        left = [f for f in os.listdir("/tmp") if f.startswith("gale-upload-")]
        eq(left, [], "temporary upload files removed with the request")


def test_multipart_with_curl_and_malformed():
    with framework() as g:
        path = os.path.join(g.tmp, "up.txt")
        with open(path, "wb") as f:
            f.write(b"curl file\n")
        out = subprocess.run(["curl", "-s", "-F", "who=cu", "-F", "f=@%s" % path,
                              "http://127.0.0.1:%d/form" % g.port], capture_output=True, timeout=20)
        eq(out.stdout, b"who=cu\nfile f up.txt text/plain 10 memory\n", "curl -F")
        for bad, why in ((b"--zz\r\nContent-Disposition: form-data; name=\"who\"\r\n\r\nx\r\n--yy",
                          "truncated"),
                         (b"no boundary at all", "no initial boundary"),
                         (b"--zz\r\nX: y\r\n\r\nx\r\n--zz--\r\n", "no Content-Disposition")):
            status, _, body = g.request("POST", "/form", bad,
                                        headers={"Content-Type": "multipart/form-data; boundary=zz"})
            eq(status, 400, "malformed multipart (%s)" % why)
        eq(g.get("/form?who=after")[2], b"who=after\n", "still serving")


SECRET = "test secret 0123456789"


def _tornado():
    try:
        import tornado.web  # noqa: F401
        return tornado.web
    except ImportError:
        return None


def test_signed_cookie_round_trip_and_tamper():
    with framework('cookie_secret = "%s";' % SECRET) as g:
        jar = os.path.join(g.tmp, "jar")
        url = "http://127.0.0.1:%d/visits" % g.port
        for n in (1, 2, 3):
            out = subprocess.run(["curl", "-s", "-b", jar, "-c", jar, url], capture_output=True,
                                 timeout=20)
            eq(out.stdout, b"visits: %d\n" % n, "visit %d with a cookie jar" % n)
        status, h, body = g.request("GET", "/visits", headers={"Cookie": "visits=2|1:0|10:1|6:visits|4:OTk=|00"})
        eq(body, b"visits: 1\n", "a forged value reads as absent")
        cookie = h.get("Set-Cookie")
        check(cookie.startswith("visits=2|1:0|") and "HttpOnly" in cookie and "SameSite=Lax" in cookie,
              "signed, HttpOnly, SameSite: %r" % cookie)
        value = cookie.split(";")[0][len("visits="):]
        web = _tornado()
        if web:  # gale's value verifies in Tornado, Tornado's in gale
            eq(web.decode_signed_value(SECRET, "visits", value), b"1", "Tornado reads gale's cookie")
            theirs = web.create_signed_value(SECRET, "visits", "41").decode()
            _, _, body = g.request("GET", "/visits", headers={"Cookie": "visits=" + theirs})
            eq(body, b"visits: 42\n", "gale reads Tornado's cookie")
        tampered = value[:-1] + ("0" if value[-1] != "0" else "1")
        _, _, body = g.request("GET", "/visits", headers={"Cookie": "visits=" + tampered})
        eq(body, b"visits: 1\n", "a tampered signature reads as absent")


def test_signed_cookie_key_rotation():
    conf = 'cookie_keys = ( { version = 1; secret = "old key"; }, { version = 2; secret = "new key"; } );'
    with framework(conf) as g:
        _, h, _ = g.get("/visits")
        check(h.get("Set-Cookie").startswith("visits=2|1:2|"), "the newest key signs")
        web = _tornado()
        if web:
            old = web.create_signed_value({1: "old key", 2: "new key"}, "visits", "9",
                                          key_version=1).decode()
            _, _, body = g.request("GET", "/visits", headers={"Cookie": "visits=" + old})
            eq(body, b"visits: 10\n", "a value signed with the older key still verifies")


def test_xsrf_protects_unsafe_methods():
    with framework("xsrf_cookies = true;") as g:
        status, h, page = g.get("/note")
        eq(status, 200, "GET /note")
        cookie = h.get("Set-Cookie").split(";")[0]
        check(cookie.startswith("_xsrf=2|"), "the _xsrf cookie: %r" % cookie)
        _, h2, page = g.request("GET", "/note", headers={"Cookie": cookie})
        check("Set-Cookie" not in h2, "the cookie is set once")
        token = page.split(b'name="_xsrf" value="')[1].split(b'"')[0].decode()
        check(token != cookie[len("_xsrf="):], "the form's token is masked anew")
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _, body = g.request("POST", "/note", b"text=hi", headers=form)
        eq(status, 403, "no token: refused")
        status, _, body = g.request("POST", "/note", b"text=hi&_xsrf=" + token.encode(), headers=form)
        eq(status, 403, "a token but no cookie: refused")
        status, _, body = g.request("POST", "/note", b"text=hi&_xsrf=" + token.encode(),
                                    headers=dict(form, Cookie=cookie))
        eq((status, body), (200, b"saved: hi\n"), "form token matching the cookie")
        status, _, body = g.request("POST", "/note", b"text=js",
                                    headers=dict(form, Cookie=cookie, **{"X-XSRFToken": token}))
        eq(status, 200, "X-XSRFToken header")
        other = "2|00000000|" + "ab" * 16 + "|1700000000"
        status, _, _ = g.request("POST", "/note", b"text=x&_xsrf=" + other.encode(),
                                 headers=dict(form, Cookie=cookie))
        eq(status, 403, "a mismatching token: refused")
        status, _, _ = g.request("POST", "/form", b"who=api", headers=form)
        eq(status, 200, "a route with xsrf = false is not checked")


if __name__ == "__main__":
    main()

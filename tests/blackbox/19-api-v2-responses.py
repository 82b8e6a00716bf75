#!/usr/bin/env python3
"""19-api-v2-responses: module API 2, part A, through a real module
(tests/modules/apiv2a.c): set, replace and remove response headers; the
reason phrase on the wire; a module's default Content-Type; its write_error
hook (404, 405, a failing handler, gale_response_error, declining, no
recursion) and its check hook at `gale -t` (chat's cache_size too); a module
built for API 1 refused; random tokens; log lines with the request's
context."""

import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (Gale, GALE_MODULES, check, eq, lc_str, main, module_path,  # noqa: E402
                      parse_responses, req, run_gale)

CONF = """
workers = 1;
access_log = "off";
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
%(extra)s
modules = (
  { path = "@TESTMODULES@/apiv2a.so";
    settings = { limit = 3; };
    routes = ( { path = "/headers"; handler = "headers"; },
               { path = "/late"; handler = "late"; },
               { path = "/reason"; handler = "reason"; },
               { path = "/typed"; handler = "typed"; },
               { path = "/fail"; handler = "fail"; },
               { path = "/teapot"; handler = "teapot"; },
               { path = "/missing"; handler = "missing"; },
               { path = "/posted"; handler = "posted"; },
               { path = "/token"; handler = "token"; },
               { path = "/log"; handler = "log"; } ); },
  { path = "@HELLO@";
    routes = ( { path = "/hello"; handler = "hello"; } ); } );
"""


def apiv2a(extra=""):
    module_path("apiv2a")  # skips when the test module was not built
    return Gale(conf=CONF % {"extra": extra})


def get(g, target, headers=(), method="GET"):
    """One raw request; the parsed response (with .reason and .head)."""
    data = g.raw(req(method, target, headers=list(headers) + [("Connection", "close")]))
    rs = parse_responses(data, [method])
    check(len(rs) == 1, "%s %s: one response expected, got %r" % (method, target, data[:400]))
    return rs[0]


# ---------------------------------------------------------------- headers


def test_set_replace_remove_headers():
    with apiv2a() as g:
        r = get(g, "/headers")
        eq(r.status, 200, "GET /headers")
        # set, remove, remove-none; then five refusals
        eq(r.body, b"0 0 0 -1 -1 -1 -1 -1", "return codes")
        eq(r.headers.get_all("X-Multi"), ["c"], "set_header replaced both X-Multi")
        eq(r.headers.get_all("X-Gone"), [], "remove_header removed both X-Gone")
        eq(r.headers.get_all("X-Kept"), ["k1", "k2"], "gale_response_header still adds")
        eq(r.headers.get_all("X-Fresh"), ["only"], "set_header of a new name adds it")
        check(b"X-Injected" not in r.head and b"X-Split" not in r.head,
              "a value with CR LF was refused: %r" % r.head)
        eq(r.headers.get_all("Content-Length"), ["20"], "gale's own Content-Length")
        check(b"Bad Name" not in r.head, "a name that is not a token was refused")


def test_headers_refused_after_the_head():
    with apiv2a() as g:
        r = get(g, "/late")
        eq(r.status, 200, "GET /late")
        check(r.chunked, "a flushed answer is chunked: %r" % r.head)
        eq(r.body, b"first\n-1 -1 -1\n", "set, remove and reason refused once the head left")
        check("X-Late" not in r.headers, "no X-Late: %r" % r.head)


# ---------------------------------------------------------------- reason phrase


def status_line(r):
    return r.head.split(b"\r\n", 1)[0]


def test_reason_phrase_on_the_wire():
    with apiv2a() as g:
        r = get(g, "/reason?text=All+Fine")
        eq(status_line(r), b"HTTP/1.1 200 All Fine", "status line")
        eq(r.headers.get("X-Rc"), "0", "accepted")
        r = get(g, "/reason?status=201&text=Made+It%21+%28really%29")
        eq(status_line(r), b"HTTP/1.1 201 Made It! (really)", "status line of a 201")
        sixty_four = "R" * 64
        r = get(g, "/reason?text=" + sixty_four)
        eq(status_line(r), b"HTTP/1.1 200 " + sixty_four.encode(), "64 bytes are allowed")
        r = get(g, "/reason?text=Fine&reset=1")
        eq(status_line(r), b"HTTP/1.1 200 OK", "NULL goes back to the default")
        r = get(g, "/reason")
        eq(status_line(r), b"HTTP/1.1 200 OK", "default phrase")


def test_reason_phrase_refused():
    with apiv2a() as g:
        for text, what in (("R" * 65, "65 bytes"), ("a%09tab", "a tab"), ("caf%C3%A9", "UTF-8"),
                           ("bad%0D%0AX-Injected:+1", "CR LF"), ("del%7F", "DEL")):
            r = get(g, "/reason?status=202&text=" + text)
            eq(r.headers.get("X-Rc"), "-1", "%s refused" % what)
            eq(status_line(r), b"HTTP/1.1 202 Accepted", "%s: the default stays" % what)
            check(b"X-Injected" not in r.head, "no header injected: %r" % r.head)


# ---------------------------------------------------------------- default Content-Type


def test_default_content_type():
    with apiv2a() as g:
        html = "text/html; charset=utf-8"
        r = get(g, "/typed")
        eq((r.status, r.headers.get_all("Content-Type")), (200, [html]), "added when absent")
        r = get(g, "/typed?type=application/xml")
        eq(r.headers.get_all("Content-Type"), ["application/xml"], "a set one is kept")
        r = get(g, "/typed?status=404")
        eq((r.status, r.headers.get_all("Content-Type")), (404, [html]), "on a 404 with a body")
        r = get(g, "/typed?stream=1")
        eq(r.headers.get_all("Content-Type"), [html], "on a streamed answer")
        r = get(g, "/typed?body=0")
        eq(r.headers.get_all("Content-Type"), [], "no body, no Content-Type")
        for status in (204, 304):
            r = get(g, "/typed?body=0&status=%d" % status)
            eq((r.status, r.headers.get_all("Content-Type")), (status, []),
               "none on a %d" % status)
        r = get(g, "/typed?status=204")
        eq((r.status, r.headers.get_all("Content-Type"), r.body), (204, [], b""),
           "none on a 204 even when the handler wrote")
        # another module's answers keep today's behaviour
        r = get(g, "/hello")
        eq(r.headers.get_all("Content-Type"), ["text/plain; charset=utf-8"], "hello.so's own")


def test_default_content_type_and_etag_304():
    with apiv2a() as g:
        r = get(g, "/typed")
        tag = r.headers.get("ETag")
        check(tag, "a 200 has an ETag: %r" % r.head)
        r = get(g, "/typed", headers=[("If-None-Match", tag)])
        eq((r.status, r.headers.get_all("Content-Type")), (304, []), "no Content-Type on a 304")


# ---------------------------------------------------------------- write_error


def hooked(r, status, reason, what):
    eq(r.status, status, what)
    eq(status_line(r), b"HTTP/1.1 %d Hooked" % status, "%s: the hook's reason phrase" % what)
    eq(r.headers.get("X-Hook"), "1", "%s: the hook's header" % what)
    eq(r.headers.get("Content-Type"), "text/html; charset=utf-8",
       "%s: the module's default Content-Type" % what)
    eq(r.body, b"<h1>%d</h1><p>%s</p>\n" % (status, reason.encode()), "%s: the hook's body" % what)


def test_write_error_pages():
    with apiv2a() as g:
        hooked(get(g, "/missing"), 404, "no such thing", "gale_response_error 404")
        hooked(get(g, "/teapot"), 418, "short and stout", "gale_response_error 418")
        r = get(g, "/fail")
        hooked(r, 500, "the handler failed", "a handler returning GALE_ERROR")
        check("X-Handler" not in r.headers, "the handler's headers are dropped: %r" % r.head)
        r = get(g, "/posted")
        hooked(r, 405, "method not allowed here", "405 from gale")
        check("post" in r.headers.tokens("Allow"), "405 keeps gale's Allow: %r" % r.head)
        r = get(g, "/teapot", headers=[("X-Error-Hook", "finish")])
        hooked(r, 418, "short and stout", "a hook that finishes the answer itself")
        # no route, no module: gale's own page
        r = get(g, "/nowhere")
        eq((r.status, r.headers.get("X-Hook")), (404, None), "an unrouted 404 is gale's")
        # the connection stays usable after a hooked error
        with g.conn() as c:
            c.send(req("GET", "/fail") + req("GET", "/posted", headers=[("Connection", "close")]))
            eq(c.read_response().status, 500, "first on a kept-alive connection")
            eq(c.read_response().status, 405, "second on it")


def test_write_error_declines_to_gale_page():
    with apiv2a() as g:
        r = get(g, "/teapot", headers=[("X-Error-Hook", "decline")])
        eq(r.status, 418, "status kept")
        eq(status_line(r), b"HTTP/1.1 418 Client Error", "gale's reason phrase")
        check("X-Hook" not in r.headers, "what the hook wrote is dropped: %r" % r.head)
        eq(r.body, b"418 Client Error: short and stout\n", "gale's short text")
        eq(r.headers.get("Content-Type"), "text/plain; charset=utf-8", "gale's page type")


def test_write_error_declines_to_config_error_page():
    tmp = tempfile.mkdtemp(prefix="gale-page-")
    try:
        page = os.path.join(tmp, "500.html")
        with open(page, "w") as f:
            f.write("<p>our own 500</p>\n")
        extra = "error_pages = ( { status = 500; file = %s; } );" % lc_str(page)
        with apiv2a(extra) as g:
            r = get(g, "/fail", headers=[("X-Error-Hook", "decline")])
            eq((r.status, r.body), (500, b"<p>our own 500</p>\n"), "the config's error page")
            hooked(get(g, "/fail"), 500, "the handler failed", "the hook still comes first")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_write_error_does_not_recurse():
    with apiv2a() as g:
        r = get(g, "/teapot", headers=[("X-Error-Hook", "recurse")])
        eq(r.status, 503, "the error raised inside the hook")
        check("X-Hook" not in r.headers, "the hook did not run again: %r" % r.head)
        eq(r.body, b"503 Service Unavailable: raised inside write_error\n", "gale's own page")
        eq(get(g, "/missing").status, 404, "the worker still serves")


# ---------------------------------------------------------------- check hook and API 1


def conf_file(tmp, text):
    path = os.path.join(tmp, "gale.conf")
    with open(path, "w") as f:
        f.write(text)
    return path


def check_lines(module, settings):
    return [
        "workers = 1;",                                                   # 1
        'listen = ( { address = "127.0.0.1"; port = 8080; } );',         # 2
        "modules = (",                                                    # 3
        "  { path = %s;" % lc_str(module),                                # 4
        "    settings = { %s };" % settings,                              # 5
        '    routes = ( { path = "/"; handler = %s; } ); }' % (          # 6
            '"headers"' if "apiv2a" in module else '"page"'),
        ");",                                                             # 7
    ]


def expect_check_error(module, settings, message):
    tmp = tempfile.mkdtemp(prefix="gale-check-")
    try:
        path = conf_file(tmp, "\n".join(check_lines(module, settings)) + "\n")
        p = run_gale(["-t", "-c", path])
        eq(p.returncode, 1, "gale -t with settings { %s } (stderr %r)" % (settings, p.stderr))
        want = "%s:4: modules[0].settings: %s" % (path, message)
        check(want in p.stderr, "expected %r in stderr:\n%s" % (want, p.stderr))
        p = run_gale(["-c", path])
        eq(p.returncode, 1, "starting with settings { %s } (stderr %r)" % (settings, p.stderr))
        check(want in p.stderr, "the start says it too:\n%s" % p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_check_hook_at_gale_t():
    so = module_path("apiv2a")
    expect_check_error(so, "limit = 99;", "limit must be an integer 1..10")
    expect_check_error(so, 'limit = "lots";', "limit must be an integer 1..10")
    expect_check_error(so, "silent = true;", "refused by the module's check")
    tmp = tempfile.mkdtemp(prefix="gale-check-")
    try:
        path = conf_file(tmp, "\n".join(check_lines(so, "limit = 3;")) + "\n")
        p = run_gale(["-t", "-c", path])
        eq(p.returncode, 0, "good settings pass gale -t (stderr %r)" % p.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_chat_cache_size_fails_gale_t():
    chat = os.path.join(GALE_MODULES, "chat.so")
    if not os.path.isfile(chat):
        chat = module_path("chat")  # skips when it was not built
    expect_check_error(chat, 'cache_size = "lots";', "cache_size must be an integer 1..100000")
    expect_check_error(chat, "poll_timeout = -1;", "poll_timeout must be 0..86400 seconds")


def test_module_built_for_api_1_is_refused():
    so = module_path("badabi")
    tmp = tempfile.mkdtemp(prefix="gale-check-")
    try:
        lines = check_lines(so, "")
        lines[5] = '    routes = ( { path = "/"; handler = "hello"; } ); }'
        path = conf_file(tmp, "\n".join(lines) + "\n")
        p = run_gale(["-t", "-c", path])
        eq(p.returncode, 1, "gale -t with a module built for API 1")
        want = ("%s:4: %s was built for module API 1, this gale has 2: rebuild it against this "
                "gale's <gale/gale.h>" % (path, so))
        check(want in p.stderr, "expected %r in stderr:\n%s" % (want, p.stderr))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------- helpers


def test_random_tokens():
    with apiv2a() as g:
        r = get(g, "/token?size=33&count=200")
        eq(r.status, 200, "GET /token")
        eq(r.headers.get("X-Rc"), "-1 -1 0", "sizes 0 and 1 refused, out emptied")
        tokens = r.body.decode().split("\n")[:-1]
        eq(len(tokens), 200, "200 tokens")
        for t in tokens:
            check(re.fullmatch(r"[A-Za-z0-9_-]{32}", t), "32 URL-safe characters: %r" % t)
        eq(len(set(tokens)), 200, "all different")
        # every character of the alphabet turns up in 6,400 draws
        eq(len(set("".join(tokens))), 64, "the whole alphabet is used")
        r = get(g, "/token?size=2")
        check(re.fullmatch(rb"[A-Za-z0-9_-]\n", r.body), "size 2: one character: %r" % r.body)
        r = get(g, "/token?size=1001")
        eq(len(r.body), 1001, "size 1001: 1000 characters and a newline")
        other = get(g, "/token?size=33").body
        check(other.decode().strip() not in tokens, "a new request draws anew")


def test_request_log_line():
    with apiv2a() as g:
        eq(get(g, "/log?word=hello").status, 200, "GET /log")
        want = '127.0.0.1 "GET /log?word=hello": apiv2a says hello'
        check(want in g.log(), "expected %r in the log:\n%s" % (want, g.log_tail()))
        line = [l for l in g.log().splitlines() if want in l][0]
        check("[warn]" in line, "logged at the level asked for: %r" % line)
        long_target = "/log?word=x&pad=" + "p" * 2000
        eq(get(g, long_target).status, 200, "a long target")
        check("apiv2a says x" in g.log(), "the message survives a long target:\n%s"
              % g.log_tail())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""23-templates: Tornado-compatible templates.

The engine against Tornado 6.2 itself: every template of tests/templates/diff
rendered by gale's engine (the test driver tests/templates/render) and by
tornado.template with the same JSON context, compared byte for byte. Then
through a real route (tests/modules/pages.c): gale_template_render and
_render_string, the route's own template_path, xsrf_form_html and
reverse_url, a render error answering 500 with a log line naming the file
and line (details on the page only with debug), debug's re-read of a changed
file, and `gale -t` naming file:line of a syntax error and of Tornado's
{% import %} / {% from x import y %}, which run Python and are refused.
Blocks in included files take part in the inheritance through several
levels of extends (the deep_*.html templates), as in Tornado."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (Gale, GALE_TEST_MODULES, Skip, check, eq, main, module_path,  # noqa: E402
                      run_gale, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.environ.get("GALE_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
DIFF = os.path.join(REPO, "tests", "templates", "diff")
TORNADO = os.path.join(REPO, "tests", "templates", "tornado_render.py")
DRIVER = os.environ.get("GALE_TEMPLATE_DRIVER") or os.path.join(
    os.path.dirname(GALE_TEST_MODULES), "templates", "render")

# The templates compared with Tornado (mod.html and piece.html are parts of
# control.html; mod.html alone needs its arguments).
COMPARED = ["base.html", "middle.html", "child.html", "exprs.html", "funcs.html",
            "control.html", "whitespace.html", "plain.txt", "escapes.html", "oneline.js",
            "piece.html", "deep_base.html", "deep_mid.html", "deep_child.html",
            "deep_grand.html"]


def tornado_python():
    """An interpreter that has tornado (Debian's python3-tornado is 6.2)."""
    for py in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(py) and subprocess.run(
                [py, "-c", "import tornado.template"], capture_output=True).returncode == 0:
            return py
    return None


def test_same_bytes_as_tornado():
    py = tornado_python()
    if py is None:
        raise Skip("no python3 with tornado")
    if not os.path.exists(DRIVER):
        raise Skip("the driver %s was not built" % DRIVER)
    ctx = os.path.join(DIFF, "context.json")
    for name in COMPARED:
        want = subprocess.run([py, TORNADO, DIFF, name, ctx], capture_output=True)
        eq(want.returncode, 0, "tornado renders %s: %s" % (name, want.stderr[-500:]))
        got = subprocess.run([DRIVER, DIFF, name, ctx], capture_output=True)
        eq(got.returncode, 0, "gale renders %s: %s" % (name, got.stderr[-500:]))
        eq(got.stdout, want.stdout, "%s rendered by gale and by Tornado" % name)


CONF = """
workers = 1;
access_log = "off";
%(main)s
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
modules = (
  { path = "@TESTMODULES@/pages.so";
    routes = ( { path = "/page"; handler = "page"; },
               { path = "/string"; handler = "string"; },
               { path = "/other"; handler = "page"; template_path = "@TMP@/other"; },
               { path = "/item/([a-z]+)/([0-9]+)"; handler = "page"; name = "item"; } ); } );
"""

FILES = {
    "base.html": "<title>{% block title %}base{% end %}</title>\n"
                 "<main>{% block main %}{% end %}</main>\n",
    "index.html": "{% extends \"base.html\" %}\n{% block title %}{{ title }}{% end %}\n"
                  "{% block main %}{% for r in rows %}<td>{{ r }}</td>{% end %}"
                  "{% include \"inc/part.html\" %}{% end %}\n",
    "inc/part.html": "<p>{{ len(rows) }} rows</p>",
    "bad.html": "line one\nline two\n{{ 1 + missing }}\n",
    "funcs.html": "{% raw xsrf_form_html() %}|{{ reverse_url(\"item\", \"ab c\", 7) }}|"
                  "{{ static_url(\"a.css\") }}|{{ _(\"one\", \"many\", n) }}",
    "live.html": "version one",
}


def pages(main="", files=FILES, **kw):
    module_path("pages")  # skips when the test module was not built
    g = Gale(conf=CONF % {"main": main}, wait=False, **kw)
    for name, text in files.items():
        write(g, "tpl/" + name, text)
    write(g, "other/index.html", "other folder: {{ title }}")
    g.wait_ready()
    return g


def write(g, rel, text):
    path = os.path.join(g.tmp, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def target(path, name, ctx=None):
    q = {"t": name}
    if ctx is not None:
        q["ctx"] = json.dumps(ctx)
    return path + "?" + urllib.parse.urlencode(q)


def body_of(g, path):
    status, _, body = g.get(path)
    eq(status, 200, "GET %s" % path)
    return body


MAIN = 'template_path = "@TMP@/tpl";'


def test_render_through_a_route():
    with pages(MAIN) as g:
        status, headers, body = g.get(target("/page", "index.html",
                                             {"title": "A & B", "rows": [1, "<x>"]}))
        eq(status, 200, "GET /page")
        eq(headers.get("Content-Type"), "text/html; charset=UTF-8", "Content-Type")
        eq(body, b"<title>A &amp; B</title>\n<main><td>1</td><td>&lt;x&gt;</td>"
           b"<p>2 rows</p></main>\n", "the page")
        eq(body_of(g, target("/string", "inc/part.html", {"rows": []})), b"[<p>0 rows</p>]",
           "gale_template_render_string")
        eq(body_of(g, target("/string", "bad.html")), b"NULL",
           "render_string of a failing template")
        eq(body_of(g, target("/other", "index.html", {"title": "<o>"})),
           b"other folder: &lt;o&gt;", "the route's own template_path")


def test_request_functions():
    """The functions that need the request: xsrf_form_html, reverse_url,
    static_url (the static folder's file with its content hash), _ (the
    request's locale, from a Tornado CSV catalog), format_date (relative, in
    that language), and the names every template sees: locale, current_user,
    request."""
    import hashlib
    import tempfile
    d = tempfile.mkdtemp(prefix="gale-tpl-funcs-")
    os.makedirs(os.path.join(d, "static"))
    os.makedirs(os.path.join(d, "tr"))
    with open(os.path.join(d, "static", "a.css"), "w") as f:
        f.write("p { color: red }\n")
    with open(os.path.join(d, "tr", "es.csv"), "w") as f:
        f.write('"one","una","singular"\n"many","muchas","plural"\n')
    for root, dirs, names in os.walk(d):
        os.chmod(root, 0o755)
        for n in names:
            os.chmod(os.path.join(root, n), 0o644)
    version = hashlib.sha512(b"p { color: red }\n").hexdigest()
    main_ = MAIN + (' static = ( { prefix = "/static/"; path = "%s/static"; } );'
                    ' translations = "%s/tr";' % (d, d))
    files = dict(FILES)
    files["names.html"] = ("{{ locale }}|{{ current_user }}|{{ request.path }}|"
                           "{{ format_date(when) }}")
    try:
        with pages(main_, files) as g:
            status, _, body = g.get(target("/page", "funcs.html", {"n": 2}))
            eq(status, 200, "GET funcs.html")
            body = body.decode()
            form, rest = body.split('"/>|', 1)
            check(re.fullmatch(r'<input type="hidden" name="_xsrf" value="2\|[0-9a-f]{8}\|'
                               r'[0-9a-f]{32}\|[0-9]+', form), "xsrf_form_html: %r" % body)
            eq(rest.split("|"), ["/item/ab%20c/7", "/static/a.css?v=" + version, "many"],
               "reverse_url, static_url, _")
            es = target("/page", "funcs.html", {"n": 2}) + "&locale=es"
            eq(body_of(g, es).decode().split("|")[-1], "muchas", "_ in the request's locale")
            now = time.time()
            eq(body_of(g, target("/page", "names.html", {"when": now - 120})),
               b"en_US|None|/page|2 minutes ago", "locale, current_user, request, format_date")
    finally:
        shutil.rmtree(d, True)


def test_render_error_is_a_500_with_file_and_line():
    with pages(MAIN) as g:
        status, _, body = g.get(target("/page", "bad.html"))
        eq(status, 500, "a NameError while rendering")
        check(b"missing" not in body, "no details without debug: %r" % body)
        wait_for(lambda: "bad.html:3:" in g.log(), 5)
        check("bad.html:3: NameError: name 'missing' is not defined" in g.log(),
              "the log names the file and line: %s" % g.log_tail())
        eq(g.get(target("/page", "nothere.html"))[0], 500, "a missing template")
    with pages(MAIN + " debug = true;") as g:
        status, _, body = g.get(target("/page", "bad.html"))
        eq(status, 500, "the same with debug")
        check(b"bad.html:3: NameError" in body, "details on the page with debug: %r" % body)


def test_debug_reads_a_changed_file_again():
    with pages(MAIN + " debug = true;") as g:
        eq(body_of(g, target("/page", "live.html")), b"version one", "first version")
        write(g, "tpl/live.html", "version two, longer")
        eq(body_of(g, target("/page", "live.html")), b"version two, longer",
           "debug: compiled again")
    with pages(MAIN) as g:
        eq(body_of(g, target("/page", "live.html")), b"version one", "first version")
        write(g, "tpl/live.html", "version two, longer")
        eq(body_of(g, target("/page", "live.html")), b"version one",
           "without debug: compiled once per worker")


def test_check_names_file_and_line():
    module_path("pages")
    import tempfile
    tmp = tempfile.mkdtemp(prefix="gale-test-")
    os.makedirs(os.path.join(tmp, "tpl", "sub"))
    os.makedirs(os.path.join(tmp, "other"))
    with open(os.path.join(tmp, "tpl", "good.html"), "w") as f:
        f.write("{% if x %}fine{% end %}")
    with open(os.path.join(tmp, "tpl", "sub", "broken.html"), "w") as f:
        f.write("one\n{% for x in xs %}\ntwo\n")
    conf = os.path.join(tmp, "gale.conf")
    with open(conf, "w") as f:
        f.write((CONF % {"main": 'template_path = "tpl";'}).replace("@PORT@", "1")
                .replace("@TESTMODULES@", GALE_TEST_MODULES).replace("@TMP@", tmp))
    # Tornado's imports are Python: a compile error naming file:line here
    with open(os.path.join(tmp, "tpl", "sub", "imports.html"), "w") as f:
        f.write("<p>\n{% from os.path import join %}\n</p>\n")
    with open(os.path.join(tmp, "tpl", "import.html"), "w") as f:
        f.write("{% import json %}\n")
    p = run_gale(["-t", "-c", conf])
    eq(p.returncode, 1, "gale -t with a broken template: %s" % p.stderr)
    want = os.path.join(tmp, "tpl", "sub", "broken.html") + ":4: Missing {% end %} block for for"
    check(want in p.stderr, "gale -t names file:line: %r" % p.stderr)
    for rel, line, op in (("sub/imports.html", 2, "from"), ("import.html", 1, "import")):
        want = "%s:%d: %s: templates here cannot import Python modules" % (
            os.path.join(tmp, "tpl", rel), line, op)
        check(want in p.stderr, "gale -t: %r expected in %r" % (want, p.stderr))
    check("good.html" not in p.stderr, "a good template is not reported")
    os.remove(os.path.join(tmp, "tpl", "sub", "broken.html"))
    os.remove(os.path.join(tmp, "tpl", "sub", "imports.html"))
    os.remove(os.path.join(tmp, "tpl", "import.html"))
    p = run_gale(["-t", "-c", conf])
    eq(p.returncode, 0, "gale -t once it is fixed: %s" % p.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""26-demos: the demo pages as conf/gale.conf serves them (www/ and the
hello and notes modules). The home page for browsers and the greeting for
curl; every page valid HTML (html5lib's strict parser, python3-html5lib);
the notes app through HTTP: mistakes said in the form (a wrong password, a
taken name, an empty note), flash messages said once, notes of several
lines edited and deleted, a note that is gone; the pages in Spanish by
Accept-Language, argument and the switch's cookie; gale's error page for
browsers; and the whole in headless Chromium (tests/node/demo-browser.js):
styles applied, the language switch, a phone's width, screenshots."""

import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import (GALE_MODULES, REPO, Gale, Skip, check, eq, main, node,  # noqa: E402
                      node_module, www_conf, www_copy)

NOTES = os.path.join(GALE_MODULES, "notes.so")
HELLO = os.path.join(GALE_MODULES, "hello.so")
NODE_DIR = os.path.join(REPO, "tests", "node")
CHROMIUM = "/usr/bin/chromium"
HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

CONF = """
workers = 2;
access_log = "off";
cookie_secret = "demo test secret";
xsrf_cookies = true;
sessions = { store = "lmdb"; dir = "@TMP@/state"; };
login_url = "/login";
%s
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
modules = (
  { path = "%s"; settings = { greeting = "Hello, world"; };
    routes = ( { path = "/"; handler = "home"; },
               { path = "/lang"; handler = "lang"; } ); },
  { path = "%s"; settings = { iterations = 20000; };
    routes = ( { path = "/signup"; handler = "signup"; },
               { path = "/login"; handler = "login"; },
               { path = "/logout"; handler = "logout"; },
               { path = "/notes"; handler = "notes"; authenticated = true; },
               { path = "/notes/add"; handler = "add"; authenticated = true; },
               { path = "/notes/edit"; handler = "edit"; authenticated = true; },
               { path = "/notes/delete"; handler = "delete"; authenticated = true; } ); } );
"""


def demo():
    for so in (NOTES, HELLO):
        if not os.path.exists(so):
            raise Skip("%s not built" % so)
    return Gale(conf=CONF % (www_conf(), HELLO, NOTES))


def strict_parser():
    """html5lib's strict parser: the page must parse without one error."""
    try:
        import html5lib
    except ImportError:
        sys.path.append("/usr/lib/python3/dist-packages")  # Debian's, beside another python3
        try:
            import html5lib
        except ImportError:
            raise Skip("python3-html5lib is not installed")
    return html5lib.HTMLParser(strict=True)


def valid(page, what):
    try:
        strict_parser().parse(page)
    except Exception as e:  # html5lib raises ParseError with the position
        raise AssertionError("%s is not valid HTML: %s\n%s" % (what, e, page[:2000]))


class Browser:
    """curl with a cookie jar and a browser's Accept header."""

    def __init__(self, g, lang=None):
        self.g = g
        self.jar = os.path.join(g.tmp, "jar%d" % id(self))
        self.lang = lang

    def run(self, *args):
        head = ["-H", "Accept: " + HTML]
        if self.lang:
            head += ["-H", "Accept-Language: " + self.lang]
        out = subprocess.run(["curl", "-s", "-b", self.jar, "-c", self.jar] + head +
                             ["-w", "\n%{http_code} %{redirect_url}"] + list(args),
                             capture_output=True, timeout=30)
        body, _, tail = out.stdout.rpartition(b"\n")
        code, _, location = tail.decode().partition(" ")
        return int(code), location, body.decode()

    def get(self, path):
        return self.run("http://127.0.0.1:%d%s" % (self.g.port, path))

    def post(self, path, fields, form):
        """Post fields with the XSRF token of the page `form`."""
        page = self.get(form)[2]
        m = re.search(r'name="_xsrf" value="([^"]+)"', page)
        check(m, "%s has an XSRF token: %r" % (form, page[:300]))
        args = ["http://127.0.0.1:%d%s" % (self.g.port, path), "--data-urlencode",
                "_xsrf=" + m.group(1)]
        for k, v in fields.items():
            args += ["--data-urlencode", "%s=%s" % (k, v)]
        return self.run(*args)


def text_of(page, cls):
    m = re.search(r'<[a-z]+ class="%s"[^>]*>(.*?)</' % cls, page, re.S)
    return m.group(1) if m else None


def test_home_page():
    with demo() as g:
        b = Browser(g)
        code, _, page = b.get("/")
        eq(code, 200, "the home page")
        valid(page, "the home page")
        check("<h1>Hello, world</h1>" in page, "the greeting: %r" % page[:500])
        for link in ('href="/notes"', 'href="/chat/"', 'href="/greet/visitor"', 'href="/php/"',
                     "man gale.conf"):
            check(link in page, "the home page links %s" % link)
        m = re.search(r'href="(/static/style\.css\?v=[0-9a-f]{128})"', page)
        check(m, "the stylesheet by static_url: %r" % page[:600])
        status, headers, css = g.get(m.group(1))
        eq(status, 200, "the stylesheet")
        eq(headers.get("Cache-Control"), "max-age=31536000, public", "a versioned URL")
        check(b".bar" in css, "the stylesheet's text")
        status, headers, body = g.get("/")
        eq((status, body), (200, b"Hello, world"), "curl gets the greeting as text")
        code, _, page = b.get("/nope")
        eq(code, 404, "a missing page")
        valid(page, "the 404 page")
        check("<h1>404 Not Found</h1>" in page, "gale's error page: %r" % page[:300])


def shipped_conf():
    """conf/gale.conf as shipped, on a free port, with this build's modules
    and a copy of www/ the workers can read."""
    with open(os.path.join(REPO, "conf", "gale.conf")) as f:
        conf = f.read()
    return (conf.replace('"../modules/', '"%s/' % GALE_MODULES)
            .replace('"../www/', '"%s/' % www_copy())
            .replace('"../state"', '"@TMP@/state"').replace('"access.log"', '"off"')
            .replace('"0.0.0.0"', '"127.0.0.1"').replace("8888", "@PORT@")
            .replace('workers = "auto";', "workers = 2;"))


def test_php_page_of_the_shipped_config():
    """conf/gale.conf as shipped serves www/php/index.php through php-cgi
    (the cgi module): a valid page that says the name it was given."""
    if not os.path.exists("/usr/bin/php-cgi"):
        raise AssertionError("php-cgi is not installed (Debian package php-cgi; scripts/test "
                             "installs it)")
    with Gale(conf=shipped_conf()) as g:
        b = Browser(g)
        code, _, page = b.get("/php/?name=Ann+%3Cb%3E")
        eq(code, 200, "the PHP page: %r" % page[:300])
        valid(page, "the PHP page")
        check("<h1>Hello, Ann &lt;b&gt;!</h1>" in page, "PHP's greeting, escaped: %r" % page[:600])
        check("through gale" in page and "CGI/1.1" in page, "run as CGI: %r" % page[:600])
        code, _, page = b.get("/")
        check(code == 200 and 'href="/php/"' in page, "the home page links it")


def test_notes_pages_and_mistakes():
    with demo() as g:
        b = Browser(g)
        for path in ("/login", "/signup"):
            code, _, page = b.get(path)
            eq(code, 200, path)
            valid(page, path)
        code, _, page = b.post("/signup", {"user": "ann", "password": "short"}, "/signup")
        eq(code, 400, "a short password")
        valid(page, "the sign-up form with its mistake")
        eq(text_of(page, "error"), "Names are 1 to 32 of a-z 0-9 _ -, passwords 8 to 255 "
           "characters.", "the mistake said in the form")
        check('value="ann"' in page, "the name is kept")
        code, loc, _ = b.post("/signup", {"user": "ann", "password": "correct horse"}, "/signup")
        eq((code, loc.endswith("/notes")), (303, True), "signed up")
        other = Browser(g)
        code, _, page = other.post("/signup", {"user": "ann", "password": "another one"},
                                   "/signup")
        eq((code, text_of(page, "error")), (409, "That name is taken."), "a taken name")
        code, _, page = other.post("/login", {"user": "ann", "password": "not the one"}, "/login")
        eq((code, text_of(page, "error")), (403, "Wrong name or password."), "a wrong password")
        valid(page, "the login form with its mistake")
        check('name="password"' in page, "the form is there again")

        code, _, page = b.get("/notes")
        eq((code, text_of(page, "empty")), (200, "No notes yet."), "no notes")
        valid(page, "the empty notes page")
        code, _, page = b.post("/notes/add", {"text": ""}, "/notes")
        eq((code, text_of(page, "error")), (400, "A note is 1 to 1000 characters."),
           "an empty note")
        note = "first line <b>bold?</b>\nsecond line"
        code, loc, _ = b.post("/notes/add", {"text": note}, "/notes")
        eq((code, loc.endswith("/notes")), (303, True), "a note added")
        code, _, page = b.get("/notes")
        valid(page, "the notes page")
        eq(text_of(page, "flash"), "Note added.", "the flash message")
        eq(text_of(page, "text"), "first line &lt;b&gt;bold?&lt;/b&gt;\nsecond line",
           "lines kept, markup escaped")
        eq(text_of(page, "count"), "1 note", "the count")
        check(text_of(b.get("/notes")[2], "flash") is None, "a flash message is said once")
        m = re.search(r'href="/notes/edit\?id=(\d+)"', page)
        check(m, "an edit link")
        code, _, page = b.get("/notes/edit?id=" + m.group(1))
        eq(code, 200, "the edit page")
        valid(page, "the edit page")
        code, loc, _ = b.post("/notes/edit", {"id": m.group(1), "text": "changed\nagain"},
                              "/notes/edit?id=" + m.group(1))
        eq(code, 303, "saved")
        page = b.get("/notes")[2]
        eq((text_of(page, "flash"), text_of(page, "text")), ("Note saved.", "changed\nagain"),
           "the note edited")
        code, _, _ = b.post("/notes/delete", {"id": m.group(1)}, "/notes")
        eq(code, 303, "deleted")
        page = b.get("/notes")[2]
        eq((text_of(page, "flash"), text_of(page, "empty")), ("Note deleted.", "No notes yet."),
           "the note deleted")
        code, loc, _ = b.get("/notes/edit?id=" + m.group(1))
        eq(code, 303, "a note that is gone")
        eq(text_of(b.get("/notes")[2], "flash"), "That note is gone.", "said so")


def test_spanish():
    with demo() as g:
        code, _, page = Browser(g, lang="es-ES,es;q=0.9,en;q=0.5").get("/")
        eq(code, 200, "the home page in Spanish")
        valid(page, "the Spanish home page")
        check('<html lang="es">' in page and "<h2>Demostraciones</h2>" in page,
              "Spanish by Accept-Language: %r" % page[:800])
        b = Browser(g)
        check("<h1>Log in</h1>" in b.get("/login")[2], "English by default")
        check("<h1>Iniciar sesión</h1>" in b.get("/login?locale=es")[2], "by the argument")
        code, loc, _ = b.get("/lang?locale=es&next=/login")
        eq((code, loc.endswith("/login")), (303, True), "the switch goes back")
        page = b.get("/login")[2]
        check("<h1>Iniciar sesión</h1>" in page, "the switch's cookie: %r" % page[:800])
        valid(page, "the Spanish login page")
        code, loc, _ = b.get("/lang?locale=en_US&next=//evil.example/")
        eq((code, loc.endswith("127.0.0.1:%d/" % g.port)), (303, True), "no way off the site")
        check("<h1>Log in</h1>" in b.get("/login")[2], "English again")


def test_in_a_browser():
    node_module("playwright-core")
    if not os.access(CHROMIUM, os.X_OK):
        raise Skip("%s not found" % CHROMIUM)
    shots = tempfile.mkdtemp(prefix="gale-demo-shots-")
    with demo() as g:
        rc, out, err = node(os.path.join(NODE_DIR, "demo-browser.js"), g.url(""), shots,
                            timeout=90)
        for line in out.splitlines():
            print("#   " + line)
        check(rc == 0, "demo-browser.js: %s%s" % (out[-1500:], err[-2000:]))
    for name in ("home-en", "home-es", "notes", "edit", "login-error", "login-es", "phone"):
        p = os.path.join(shots, name + ".png")
        check(os.path.exists(p) and os.path.getsize(p) > 5000, "a screenshot of %s" % name)
        with open(p, "rb") as f:
            eq(f.read(8), b"\x89PNG\r\n\x1a\n", name + ".png is a PNG")
    print("#   screenshots in %s" % shots)


if __name__ == "__main__":
    main()

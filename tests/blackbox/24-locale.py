#!/usr/bin/env python3
"""24-locale: translations through a real module (tests/modules/localetest.c):
CSV catalogs and msgfmt-made .mo catalogs (both byte orders) loaded from the
`translations` folder; the request's locale from the locale argument, the
locale cookie, Accept-Language with q-values and closest matches, and the
default; plural rules, contexts, lists, numbers and dates in the chosen
language; a broken catalog is a `gale -t` error naming its file and line."""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from galetest import Gale, check, eq, main, module_path, run_gale, Skip  # noqa: E402
import localedata  # noqa: E402

CONF = """
workers = 1;
access_log = "off";
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
translations = "%(dir)s";
translation_domain = "app";
%(extra)s
modules = (
  { path = "@TESTMODULES@/localetest.so";
    routes = ( { path = "/show"; handler = "show"; } ); } );
"""


def catalogs(kind):
    """A folder with the test catalogs: "csv", "mo" or "both" (CSV for es, pt,
    zh_CN, fa, en, fr; .mo for pl, ru, ar, ja, fr_FR)."""
    if kind != "csv" and shutil.which("msgfmt") is None:
        raise Skip("msgfmt (gettext) is not installed")
    d = tempfile.mkdtemp(prefix="gale-locale-")
    os.chmod(d, 0o755)
    if kind in ("csv", "both"):
        localedata.write_csv(d)
    if kind in ("mo", "both"):
        localedata.write_mo(d, "app")
    for root, dirs, files in os.walk(d):
        for x in dirs + files:
            os.chmod(os.path.join(root, x), 0o755)
    return d


def start(d, extra=""):
    module_path("localetest")  # skips when the test module was not built
    return Gale(conf=CONF % {"dir": d, "extra": extra})


def show(g, path="/show", headers=None):
    status, _, body = g.request("GET", path, headers=headers or {})
    eq(status, 200, "status of %s" % path)
    lines = body.decode("utf-8").splitlines()
    return dict(line.split(" ", 1) for line in lines)


def test_choice_of_locale():
    d = catalogs("both")
    try:
        with start(d) as g:
            eq(show(g)["locale"], "en_US", "no hint: the default")
            eq(show(g, headers={"Accept-Language": "es"})["locale"], "es", "Accept-Language")
            eq(show(g, headers={"Accept-Language": "de, pt-BR;q=0.9"})["locale"], "pt",
               "pt-BR finds pt")
            eq(show(g, headers={"Accept-Language": "fr;q=0.5, pl;q=0.8, ru;q=0"})["locale"], "pl",
               "the highest q wins, q=0 never")
            eq(show(g, headers={"Accept-Language": "en-us;q=0.9, fr-fr"})["locale"], "fr_FR",
               "fr-fr finds fr_FR")
            eq(show(g, headers={"Accept-Language": "xx, yy"})["locale"], "en_US",
               "nothing close: the default")
            eq(show(g, "/show?locale=ru", {"Accept-Language": "es"})["locale"], "ru",
               "the argument before Accept-Language")
            eq(show(g, headers={"Cookie": "locale=ja", "Accept-Language": "es"})["locale"], "ja",
               "the cookie before Accept-Language")
            eq(show(g, "/show?locale=ar", {"Cookie": "locale=ja"})["locale"], "ar",
               "the argument before the cookie")
            eq(show(g, "/show?locale=klingon", {"Accept-Language": "es"})["locale"], "es",
               "an unknown argument is passed over")
    finally:
        shutil.rmtree(d)


def test_translations():
    d = catalogs("both")
    try:
        with start(d) as g:
            es = show(g, "/show?n=2", {"Accept-Language": "es"})
            eq(es["signout"], "Cerrar sesi\u00f3n", "CSV translation")
            eq(es["list"], "A, B y C", "list in Spanish")
            eq(es["number"], "1234567", "no grouping outside English")
            eq(es["ago"], "hace 3 horas", "relative date in Spanish")
            eq(es["date"], "1 de enero de 1970 a las 0:00", "full date, 24-hour clock")
            for n, want in [(1, "1 plik"), (3, "3 pliki"), (5, "5 plik\u00f3w"), (22, "22 pliki")]:
                pl = show(g, "/show?locale=pl&n=%d" % n)
                eq(pl["files"].replace("%(n)d", str(n)), want, "Polish plural for %d" % n)
            eq(show(g, "/show?locale=pl")["signout"], "Wyloguj", ".mo translation")
            eq(show(g, "/show?locale=ru&n=21")["files"], "%(n)d \u0444\u0430\u0439\u043b",
               "Russian plural (big-endian .mo)")
            eq(show(g, "/show?locale=ar&n=0")["files"], "\u0644\u0627 \u0645\u0644\u0641\u0627\u062a",
               "Arabic plural for 0")
            fr = show(g, "/show?locale=fr_FR&n=2")
            eq(fr["law"], "droit", "pgettext")
            eq(fr["club"], "b\u00e2tons", "npgettext")
            en = show(g)
            eq(en["number"], "1,234,567", "English grouping")
            eq(en["ago"], "3 hours ago", "relative date")
            eq(en["date"], "January 1, 1970 at 12:00 am", "full date")
            eq(en["day"], "January 1, 1970", "shorter full date")
            eq(en["law"], "right", "no catalog: the message")
            eq(en["weekday"], "Thursday, January 1", "format_day")
            eq(en["rtl"], "0", "English is left to right")
            eq(show(g, "/show?locale=ar")["rtl"], "1", "Arabic is right to left")
            eq(show(g, "/show?locale=es")["weekday"], "Thursday, 1 de enero",
               "format_day in Spanish (Thursday has no translation)")
    finally:
        shutil.rmtree(d)


def test_settings():
    d = catalogs("csv")
    try:
        extra = 'default_locale = "es"; locale_argument = "lang"; locale_cookie = "off";'
        with start(d, extra) as g:
            eq(show(g)["locale"], "es", "the configured default")
            eq(show(g, "/show?lang=fr")["locale"], "fr", "the configured argument")
            eq(show(g, "/show?locale=fr")["locale"], "es", "the old argument name is ignored")
            eq(show(g, headers={"Cookie": "locale=fr"})["locale"], "es", "no cookie configured")
    finally:
        shutil.rmtree(d)


def check_config_error(d, needle, what):
    tmp = tempfile.mkdtemp(prefix="gale-locale-conf-")
    try:
        path = os.path.join(tmp, "gale.conf")
        with open(path, "w") as f:
            f.write(CONF.replace("@PORT@", "8080").replace("@TESTMODULES@", os.environ.get(
                "GALE_TEST_MODULES", "")) % {"dir": d, "extra": ""})
        p = run_gale(["-t", "-c", path])
        eq(p.returncode, 1, "gale -t with %s (stderr %r)" % (what, p.stderr))
        check(needle in p.stderr, "gale -t names %r for %s: %r" % (needle, what, p.stderr))
        check("gale.conf:5:" in p.stderr, "the error points at translations: %r" % p.stderr)
    finally:
        shutil.rmtree(tmp)


def test_bad_catalogs():
    module_path("localetest")
    d = catalogs("csv")
    try:
        with open(os.path.join(d, "de.csv"), "w") as f:
            f.write('"a","b"\n"c","d","dual"\n')
        check_config_error(d, "de.csv:2:", "a bad plural indicator")
        os.unlink(os.path.join(d, "de.csv"))
        os.makedirs(os.path.join(d, "it", "LC_MESSAGES"))
        with open(os.path.join(d, "it", "LC_MESSAGES", "app.mo"), "wb") as f:
            f.write(b"\xde\x12\x04\x95" + b"\0" * 4 + b"\x01\0\0\0" + b"\x1c\0\0\0" + b"\x24\0\0\0"
                    + b"\0" * 8 + b"\xff\0\0\0\x40\0\0\0" * 2)
        check_config_error(d, "it/LC_MESSAGES/app.mo: the file is corrupt", "a corrupt .mo")
        check_config_error(os.path.join(d, "nowhere"), "nowhere: cannot open", "a missing folder")
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()

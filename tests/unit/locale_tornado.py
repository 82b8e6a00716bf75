#!/usr/bin/env python3
"""locale_tornado.py - src/page's translations against Tornado 6.2's
tornado.locale, byte for byte.

The same catalogs (tests/blackbox/localedata.py: CSV files, then msgfmt-made
.mo files of both byte orders) are loaded by tornado.locale and by
tests/unit/locale_driver; thousands of requests (locale matching,
Accept-Language, translate and pgettext with plurals, format_date around
midnight, month and year ends, in 12- and 24-hour languages, format_day,
list, friendly_number) go to both, and every answer must be the same.
Tornado's clock is replaced by the test's `now`. Prints one line per
difference (at most 20) and "N passed, N failed".
"""
import datetime
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
import localedata  # noqa: E402

try:
    import tornado.locale
    import tornado.web
except ImportError:  # another python3 first on PATH: Debian's has python3-tornado
    for python in [os.environ.get("GALE_PYTHON"), "/usr/bin/python3"]:
        if python and os.path.realpath(python) != os.path.realpath(sys.executable) and os.access(python, os.X_OK):
            os.execv(python, [python] + sys.argv)
    print("SKIP: tornado is not installed")
    sys.exit(77)

DRIVER = os.path.join(os.path.dirname(os.path.dirname(os.environ.get("GALE_BIN", os.path.join(HERE, "..", "..", "src", "gale")))),
                      "tests", "unit", "locale_driver")
NULL = "\x01"


class Clock:
    now = datetime.datetime(2024, 1, 1)


class FixedDateTime(datetime.datetime):
    @classmethod
    def utcnow(cls):
        return Clock.now


logging.getLogger("tornado.general").setLevel(logging.ERROR)  # pgettext on CSV warns
tornado.locale.datetime = types.SimpleNamespace(datetime=FixedDateTime, timedelta=datetime.timedelta)


def tornado_answer(req):
    f = req.split("\t")
    loc = tornado.locale.get(f[1]) if len(f) > 1 else None
    try:
        if f[0] == "get":
            return loc.code
        if f[0] == "accept":
            fake = types.SimpleNamespace(request=types.SimpleNamespace(headers={"Accept-Language": f[1]}))
            # gale falls back to its default_locale, where Tornado's
            # get_browser_locale takes the closest to its argument
            default = tornado.locale._default_locale
            return tornado.web.RequestHandler.get_browser_locale(fake, default).code
        if f[0] == "tr":
            ctx, msg, plural, count = f[2], f[3], f[4], int(f[5])
            plural = None if plural == NULL else plural
            if ctx == NULL:
                return loc.translate(msg, plural, count if plural is not None else None)
            return loc.pgettext(ctx, msg, plural, count if plural is not None else None)
        if f[0] == "date":
            Clock.now = FixedDateTime.utcfromtimestamp(float(f[7]))
            return loc.format_date(float(f[2]), int(f[3]), relative=f[4] == "1", shorter=f[5] == "1",
                                   full_format=f[6] == "1")
        if f[0] == "day":
            return loc.format_day(datetime.datetime.utcfromtimestamp(float(f[2])), int(f[3]), f[4] == "1")
        if f[0] == "list":
            return loc.list(f[2].split("\x1f") if f[2] else [])
        if f[0] == "num":
            return loc.friendly_number(int(f[2]))
    except (OverflowError, ValueError, OSError):
        return "ERROR"
    raise AssertionError(req)


CODES_GET = ["en", "en_US", "en-us", "EN", "en-GB", "es", "es_MX", "ES-mx", "es_mx_x", "pt_BR", "pt-br",
             "pt", "zh_CN", "zh-cn", "zh_TW", "zh", "fa", "fa_IR", "fr", "fr_FR", "fr-fr", "FR_fr", "pl",
             "pl_PL", "ru", "ar", "ar-EG", "ja", "ja_JP", "de", "", "_", "en_", "_US", "x-y-z", "-",
             "es_", "Es", "esp", "C"]

ACCEPT = ["es", "fr;q=0.5, es;q=0.8", "de, pt-BR;q=0.9", "da, en-gb;q=0.8, en;q=0.7",
          "de;q=0", "*", "zh-CN,zh;q=0.9,en;q=0.8", "pl;q=abc, ru;q=0.3", "ja;q=-1, ar;q=0.1",
          "ru ;q=0.9, fr", "fr; q= 0.5 , es ;q=0.4", "", ",,,", "es;level=1;q=0.5, fr;q=0.6",
          "fr;q=1e-3, es;q=0.0001", "fr;q=nan, pt;q=inf", "xx, yy, fa", "en-US;q=0.5, fr_FR",
          "pt-br;q=0.9, pt;q=0.9, es;q=0.9", "zh-TW, zh", "es;q=1.0;x=y", "ar-SA, ar;q=0.5"]

MESSAGES = ["Sign out", "Monday", "January", "March", 'He said "hi"', "padded", "two\\nlines",
            "dup", "only", "missing", "right", "%(commas)s and %(last)s"]
PLURALS = [("%(name)s liked this", "%(name)s liked this"), ("%(n)d file", "%(n)d files"),
           ("1 minute ago", "%(minutes)d minutes ago"), ("1 hour ago", "%(hours)d hours ago"),
           ("club", "clubs"), ("right", "rights")]
COUNTS = [0, 1, 2, 3, 4, 5, 11, 12, 14, 21, 22, 25, 101, 102, 103, 111, 112, 1000, 1001]
CONTEXTS = [NULL, "law", "direction", "stick", "organization", "nope"]


def date_requests(codes, rng):
    nows = [datetime.datetime(2024, 1, 1, 0, 0, 30), datetime.datetime(2023, 12, 31, 23, 59, 50),
            datetime.datetime(2024, 3, 1, 0, 5), datetime.datetime(2023, 6, 15, 12, 0),
            datetime.datetime(2024, 2, 29, 23, 30), datetime.datetime(2025, 3, 31, 1, 0),
            datetime.datetime(1970, 1, 2, 0, 0), datetime.datetime(2038, 1, 19, 3, 14, 8)]
    deltas = [0, 0.4, 1, 1.5, 49, 49.9, 50, 59, 60, 89, 90, 91, 150, 210, 2999, 3000, 5399, 5400,
              9000, 12600, 43200, 86399, 86399.9999995, 86400, 86401, 100000, 129600, 172800, 345600,
              431999, 432000, 432001, 864000, 334 * 86400 - 1, 334 * 86400, 400 * 86400,
              3650 * 86400, -0.5, -10, -59, -59.9, -60, -61, -3600, -86400 - 30, -86400 * 3,
              -86400 * 400]
    offsets = [0, 300, -60, -330, 720, -840, 1]
    reqs = []
    for now in nows:
        ts = (now - datetime.datetime(1970, 1, 1)).total_seconds()
        for delta in deltas:
            for off in offsets:
                flags = rng.randrange(8)
                reqs.append("date\t%s\t%r\t%d\t%d\t%d\t%d\t%r" % (
                    rng.choice(codes), ts - delta, off, 1 - (flags & 1), flags >> 1 & 1, flags >> 2 & 1, ts))
    for _ in range(1500):
        now = rng.uniform(0, 2e9)
        when = now - rng.choice([rng.uniform(-200000, 200000), rng.uniform(0, 4e7), rng.randrange(0, 2000000)])
        flags = rng.randrange(8)
        reqs.append("date\t%s\t%r\t%d\t%d\t%d\t%d\t%r" % (
            rng.choice(codes), when, rng.choice(offsets + [rng.randrange(-900, 900)]),
            1 - (flags & 1), flags >> 1 & 1, flags >> 2 & 1, now))
    for when in [0, 86399.5, 951782400, 1709251199.9999996, -86400 * 365, 253402300799, 253402300800,
                 -62135596800, -62135596801]:
        for code in codes:
            reqs.append("day\t%s\t%r\t%d\t%d" % (code, when, rng.choice(offsets), rng.randrange(2)))
            reqs.append("date\t%s\t%r\t0\t0\t0\t1\t%r" % (code, when, when + 7))
    return reqs


def requests(codes, rng):
    reqs = ["get\t" + c for c in CODES_GET] + ["accept\t" + a for a in ACCEPT]
    for code in codes:
        for m in MESSAGES:
            for ctx in CONTEXTS[:3]:
                reqs.append("tr\t%s\t%s\t%s\t%s\t0" % (code, ctx, m.replace("\\n", "\n").replace("\n", "\\n"), NULL))
        for one, many in PLURALS:
            for n in COUNTS:
                reqs.append("tr\t%s\t%s\t%s\t%s\t%d" % (code, rng.choice(CONTEXTS), one, many, n))
        for k in range(5):
            reqs.append("list\t%s\t%s" % (code, "\x1f".join("p%d" % i for i in range(k))))
        for v in [0, 7, -7, 123, -123, 1234, -1234, 999999, 1000000, -1000000, 9223372036854775807,
                  -9223372036854775808]:
            reqs.append("num\t%s\t%d" % (code, v))
    return reqs + date_requests(codes, rng)


def run(folder, domain, default, reqs, failures):
    out = subprocess.run([DRIVER, folder, domain, default], input="\n".join(reqs).encode() + b"\n",
                         capture_output=True, check=True).stdout.split(b"\n")
    passed = 0
    for req, got in zip(reqs, out):
        want = tornado_answer(req).encode()
        if got == want:
            passed += 1
        else:
            failures.append("%r: gale %r, tornado %r" % (req, got, want))
    if len(out) - 1 != len(reqs):
        failures.append("the driver answered %d of %d requests" % (len(out) - 1, len(reqs)))
    return passed


CSV_PIECES = ['"', '"', '""', ",", ",", "\n", "\r\n", "\r", "a", "b", " ", "\t", "\u00e9", "\u6ce8",
              "plural", "singular", "unknown", "%(n)s", "\\", "'"]


def csv_dump(folder):
    """tornado.locale's tables of folder's xx.csv, as the driver's dump."""
    tornado.locale.load_translations(folder)
    tables = tornado.locale._translations.get("xx", {})
    esc = lambda s: s.replace("\\", "\\\\").replace("\n", "\\n")  # noqa: E731
    return "\x1e".join("%s\x1f%s\x1f%s" % (t, esc(k), esc(v)) for t in ("unknown", "singular", "plural")
                       for k, v in sorted(tables.get(t, {}).items(), key=lambda kv: kv[0].encode()))


def csv_refusal_is_right(text):
    """gale refused text: Tornado would have logged (a bad plural indicator)
    or its reader would reject or guess (an unterminated quote)."""
    import csv
    import io
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=None)))
    if any(len(r) > 2 and r[2].strip() not in ("", "plural", "singular", "unknown") for r in rows):
        return True
    try:
        list(csv.reader(io.StringIO(text, newline=None), strict=True))
    except csv.Error:
        return True
    return text.count('"') % 2 == 1


def csv_differential(rng, tmp, failures):
    """Random CSV files read by both: the same tables, or a refusal Tornado
    would have logged."""
    passed = 0
    folder = os.path.join(tmp, "random")
    os.makedirs(folder)
    for i in range(300):
        text = "".join(rng.choice(CSV_PIECES) for _ in range(rng.randrange(1, 60)))
        with open(os.path.join(folder, "xx.csv"), "w", encoding="utf-8", newline="") as f:
            f.write(text)
        p = subprocess.run([DRIVER, folder, "app", "en_US"], input=b"dump\txx\n", capture_output=True)
        if p.returncode == 2:
            ok = csv_refusal_is_right(text)
            why = "gale refused it (%s)" % p.stderr.decode().strip()
        else:
            want = csv_dump(folder).encode()
            ok = p.stdout == want + b"\n"
            why = "gale %r, tornado %r" % (p.stdout, want)
        if ok:
            passed += 1
        else:
            failures.append("CSV %r: %s" % (text, why))
    return passed


def main():
    if shutil.which("msgfmt") is None:
        print("SKIP: msgfmt (gettext) is not installed")
        return 77
    rng = random.Random(6_2)
    failures = []
    passed = 0
    with tempfile.TemporaryDirectory() as tmp:
        csv_dir, mo_dir = os.path.join(tmp, "csv"), os.path.join(tmp, "mo")
        localedata.write_csv(csv_dir)
        localedata.write_mo(mo_dir, "app")
        # CSV first: tornado.locale's gettext mode, once set, stays set
        for default in ["en_US", "es"]:
            tornado.locale.Locale._cache = {}
            tornado.locale.set_default_locale(default)
            tornado.locale.load_translations(csv_dir)
            codes = sorted(tornado.locale.get_supported_locales())
            passed += run(csv_dir, "app", default, requests(codes, rng), failures)
        tornado.locale.set_default_locale("en_US")
        passed += csv_differential(rng, tmp, failures)
        tornado.locale.Locale._cache = {}
        tornado.locale.set_default_locale("en_US")
        tornado.locale.load_gettext_translations(mo_dir, "app")
        codes = sorted(tornado.locale.get_supported_locales())
        passed += run(mo_dir, "app", "en_US", requests(codes, rng), failures)
    for f in failures[:20]:
        print("FAIL", f)
    print("%d passed, %d failed" % (passed, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

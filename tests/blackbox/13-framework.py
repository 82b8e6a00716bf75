#!/usr/bin/env python3
"""13-framework: the web framework parts of the module API, through the real
server: JSON in and out (with "</" escaped), redirects to reverse URLs of
named routes, ETag and If-None-Match, and per-handler prepare / on_finish."""

import json
import os
import sys

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
               { path = "/echo"; handler = "echo"; } ); },
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


if __name__ == "__main__":
    main()

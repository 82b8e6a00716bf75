#!/usr/bin/env python3
"""login_tornado.py - modules/login's OAuth 1.0a signatures against Tornado
6.2's own (tornado.auth._oauth10a_signature), for the same inputs.

Thousands of random requests - methods, http and https URLs with upper-case
hosts and paths with escapes, oauth_* and other parameters whose values
hold spaces, "&", "=", "+", "%", "~", "/" and non-ASCII letters, consumer
and token secrets of the same kind, with and without a token - are signed by
tests/unit/login_driver and by Tornado, and every signature must be the
same. (Tornado leaves names unencoded and takes no query from the URL: the
names drawn here need no encoding and the URLs have no query; the query and
encoded names are checked against RFC 5849's examples in test_login.)
Prints one line per difference (at most 20) and "N passed, N failed".
"""
import json
import os
import random
import subprocess
import sys

try:
    from tornado.auth import _oauth10a_signature
except ImportError:  # another python3 first on PATH: Debian's has python3-tornado
    for python in [os.environ.get("GALE_PYTHON"), "/usr/bin/python3"]:
        if python and os.path.realpath(python) != os.path.realpath(sys.executable) and os.access(python, os.X_OK):
            os.execv(python, [python] + sys.argv)
    print("FAIL: tornado is not installed (python3-tornado)")
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(os.path.dirname(os.path.dirname(os.environ.get(
    "GALE_BIN", os.path.join(HERE, "..", "..", "src", "gale")))), "tests", "unit", "login_driver")
CHARS = "abcXYZ019 &=+%~/?#._-:\u00e9\u65e5"
COUNT = 3000


def text(rng, n):
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, n)))


def request(rng):
    scheme = rng.choice(["http", "https", "HTTP"])
    host = rng.choice(["api.example.com", "API.Example.COM", "127.0.0.1:8080", "x.test:8443"])
    path = "/" + "/".join(rng.choice(["oauth", "request_token", "a%20b", "%C3%A9", "1.1"])
                          for _ in range(rng.randint(0, 3)))
    names = rng.sample(["oauth_consumer_key", "oauth_nonce", "oauth_timestamp", "oauth_callback",
                        "oauth_verifier", "status", "a", "a2", "b_5", "include_entities"],
                       rng.randint(0, 8))
    params = [[n, text(rng, 12)] for n in names]
    token = text(rng, 10) if rng.random() < 0.6 else None
    return {"method": rng.choice(["GET", "POST", "post", "PUT"]), "url": scheme + "://" + host + path,
            "consumer_secret": text(rng, 16), "token_secret": token, "params": params}


def main():
    rng = random.Random(5849)
    reqs = [request(rng) for _ in range(COUNT)]
    out = subprocess.run([DRIVER], input="".join(json.dumps(r) + "\n" for r in reqs),
                         capture_output=True, text=True, timeout=60).stdout.splitlines()
    passed = failed = 0
    for r, got in zip(reqs, out + [""] * (COUNT - len(out))):
        token = {"key": "t", "secret": r["token_secret"]} if r["token_secret"] is not None else None
        want = _oauth10a_signature({"key": "c", "secret": r["consumer_secret"]}, r["method"],
                                   r["url"], dict(r["params"]), token).decode()
        if got == want:
            passed += 1
            continue
        failed += 1
        if failed <= 20:
            print("differs: %s: gale %r, tornado %r" % (json.dumps(r), got, want))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""34-login: the login module (modules/login) against mock providers
written here, which speak the real protocols on loopback: an OAuth 2.0
server (authorize page, token endpoint checking the client secret, the
redirect URI and the PKCE verifier, a GitHub-like /user and a Graph-API-like
/me), an OpenID Connect provider (discovery, a JWK Set, ID tokens signed
with RSA and EC keys made here with python3-cryptography, a userinfo
endpoint) and an OAuth 1.0a
provider that checks every HMAC-SHA1 signature with Tornado's own signing
code (tornado.auth._oauth10a_signature, python3-tornado).

A good login of each kind (hello.so's /whoami then shows the user, under a
new session id); then what must fail, each with a "Login failed" page, one
log line, and no user: a wrong or missing state, a replayed callback, a
replayed code, a provider's refusal, an ID token with a bad signature,
expired, for another audience, signed by an unknown key (the key set is
fetched again once; a rotated key then works), a provider that is down and
one that is slow (the module's timeout). Logout. And a login clicked
through the mock provider's page in headless Chromium
(tests/node/login-browser.js)."""

import atexit
import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse

# python3-cryptography and python3-tornado are Debian's: pyenv's python3 may not see them
sys.path.append("/usr/lib/python3/dist-packages")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import galetest  # noqa: E402
import httpmock  # noqa: E402
from galetest import (GALE_MODULES, REPO, Gale, Skip, check, eq, free_port, main,  # noqa: E402
                      node, node_module, run_gale, www_copy)

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils  # noqa: E402
from tornado.auth import _oauth10a_signature  # noqa: E402

LOGIN = os.path.join(GALE_MODULES, "login.so")
HELLO = os.path.join(GALE_MODULES, "hello.so")
NODE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "node")
CHROMIUM = "/usr/bin/chromium"

CLIENT_SECRET = "s3cr&t+/=~ \u00e9"  # every character class OAuth 1.0a must encode
TW_KEY = "tw-consumer"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_int(n):
    return b64u(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class Keys:
    """The provider's signing keys: RSA "rsa1", EC P-256 "ec1", and "rsa2"
    (published only once the test rotates keys)."""

    def __init__(self):
        self.priv = {"rsa1": rsa.generate_private_key(65537, 2048),
                     "rsa2": rsa.generate_private_key(65537, 2048),
                     "ec1": ec.generate_private_key(ec.SECP256R1()),
                     "nope": rsa.generate_private_key(65537, 2048)}
        self.published = ["rsa1", "ec1"]

    def jwk(self, kid):
        pub = self.priv[kid].public_key().public_numbers()
        if kid.startswith("ec"):
            return {"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
                    "x": b64u(pub.x.to_bytes(32, "big")), "y": b64u(pub.y.to_bytes(32, "big"))}
        return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64u_int(pub.n),
                "e": b64u_int(pub.e)}

    def jwks(self):
        return {"keys": [self.jwk(k) for k in self.published]}

    def sign(self, claims, kid, badsig=False):
        alg = "ES256" if kid.startswith("ec") else "RS256"
        head = b64u(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
        body = b64u(json.dumps(claims).encode())
        data = ("%s.%s" % (head, body)).encode()
        key = self.priv[kid]
        if alg == "ES256":
            r, s = utils.decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:
            sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        if badsig:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        return "%s.%s" % (data.decode(), b64u(sig))


class Provider:
    """The state of the mock providers, shared by their handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.keys = Keys()
        self.tx = {}         # authorize transaction -> its query
        self.codes = {}      # code -> what it was given for; used codes stay, marked
        self.tokens = {}     # access token -> profile
        self.oauth1 = {}     # request token -> {secret, callback, verifier, used}
        self.nonces = set()  # OAuth 1.0a nonces seen
        self.jwks_fetches = 0
        self.userinfo_fetches = 0
        self.mode = {}       # how the next ID token is made: kid, badsig, exp, aud;
                             # and the userinfo answer: "mismatch" (another sub), "down"
        self.port = 0
        self.errors = []     # what the mock refused, for the test's messages

    def base(self):
        return "http://127.0.0.1:%d" % self.port


P = Provider()


class Handler(httpmock.Handler):
    """The mock providers' endpoints (answer: JSON unless a type is given)."""

    def refuse(self, status, error, why):
        P.errors.append(why)
        self.answer(status, {"error": error, "error_description": why})

    def form(self):
        n = int(self.headers.get("Content-Length") or 0)
        return dict(urllib.parse.parse_qsl(self.rfile.read(n).decode(), keep_blank_values=True))

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        route = {"/authorize": self.authorize, "/approve": self.approve, "/user": self.user,
                 "/me": self.user, "/.well-known/openid-configuration": self.discovery,
                 "/jwks": self.jwks, "/oauth/authorize": self.oauth1_authorize,
                 "/oauth/approve": self.oauth1_approve}.get(u.path)
        if route is None:
            return self.answer(404, {"error": "not_found"})
        route(q)

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        route = {"/token": self.token, "/slow/token": self.slow_token,
                 "/oauth/request_token": self.oauth1_request,
                 "/oauth/access_token": self.oauth1_access}.get(u.path)
        if route is None:
            return self.answer(404, {"error": "not_found"})
        route()

    # ---- OAuth 2.0 and OpenID Connect

    def authorize(self, q):
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256" \
                or not q.get("code_challenge") or not q.get("state") or not q.get("redirect_uri"):
            return self.answer(400, "bad authorization request: %r" % q, "text/plain")
        tx = secrets.token_urlsafe(8)
        with P.lock:
            P.tx[tx] = q
        page = ('<!DOCTYPE html><html><head><title>Mock provider</title></head><body>'
                '<h1>Mock provider</h1><p>%s asks to know who you are.</p>'
                '<a id="allow" href="/approve?tx=%s">Allow</a> '
                '<a id="deny" href="/approve?tx=%s&deny=1">Deny</a></body></html>'
                % (q["client_id"], tx, tx))
        self.answer(200, page, "text/html; charset=utf-8")

    def approve(self, q):
        with P.lock:
            a = P.tx.pop(q.get("tx"), None)
        if a is None:
            return self.answer(400, "no such transaction", "text/plain")
        back = {"state": a["state"]}
        if q.get("deny"):
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(12)
            with P.lock:
                P.codes[code] = dict(a, used=False)
            back["code"] = code
        sep = "&" if "?" in a["redirect_uri"] else "?"
        self.answer(302, "", "text/plain",
                    [("Location", a["redirect_uri"] + sep + urllib.parse.urlencode(back))])

    def token(self):
        f = self.form()
        with P.lock:
            c = P.codes.get(f.get("code"))
            replay = c is not None and c["used"]
            if c is not None:
                c["used"] = True
        if f.get("grant_type") != "authorization_code" or c is None or replay:
            return self.refuse(400, "invalid_grant", "unknown or used code")
        if f.get("client_id") != c["client_id"] or f.get("client_secret") != CLIENT_SECRET:
            return self.refuse(401, "invalid_client", "wrong client or secret")
        if f.get("redirect_uri") != c["redirect_uri"]:
            return self.refuse(400, "invalid_grant", "another redirect_uri")
        want = b64u(hashlib.sha256(f.get("code_verifier", "").encode()).digest())
        if want != c["code_challenge"]:
            return self.refuse(400, "invalid_grant", "the PKCE verifier does not match")
        access = secrets.token_urlsafe(16)
        with P.lock:
            P.tokens[access] = c["client_id"]
        out = {"access_token": access, "token_type": "bearer"}
        if c["client_id"] == "oidc-client":
            out["id_token"] = self.id_token(c)
        self.answer(200, out)

    def id_token(self, c):
        m, now = P.mode, int(time.time())
        claims = {"iss": P.base(), "sub": "oidc-user-7", "aud": m.get("aud", "oidc-client"),
                  "iat": now, "exp": now + m.get("exp", 300), "nonce": c.get("nonce"),
                  "name": "Olive", "email": "olive@example.org"}
        return P.keys.sign(claims, m.get("kid", "rsa1"), m.get("badsig", False))

    def slow_token(self):
        self.form()
        time.sleep(3)  # above the module's timeout
        try:
            self.answer(200, {"access_token": "late"})
        except OSError:
            pass  # gale gave up and closed: what this case is about

    def user(self, q):
        auth = self.headers.get("Authorization", "")
        with P.lock:
            client = P.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if client is None:
            return self.refuse(401, "invalid_token", "no or unknown bearer token")
        if client == "oidc-client":  # OpenID Connect's userinfo endpoint
            with P.lock:
                P.userinfo_fetches += 1
            how = P.mode.get("userinfo")
            if how == "down":
                return self.answer(503, {"error": "temporarily_unavailable"})
            sub = "someone-else" if how == "mismatch" else "oidc-user-7"
            return self.answer(200, {"sub": sub, "preferred_username": "olive",
                                     "iss": "http://forged.example", "name": "Olive O."})
        if self.path.startswith("/me"):  # the Graph API's /me?fields=...
            fields = q.get("fields", "id").split(",")
            me = {"id": "1001", "name": "Fay", "email": "fay@example.org"}
            return self.answer(200, {k: me[k] for k in fields if k in me})
        self.answer(200, {"login": "alice", "id": 42, "name": "Alice"})

    def discovery(self, q):
        b = P.base()
        self.answer(200, {"issuer": b, "authorization_endpoint": b + "/authorize",
                          "token_endpoint": b + "/token", "jwks_uri": b + "/jwks",
                          "userinfo_endpoint": b + "/user",
                          "id_token_signing_alg_values_supported": ["RS256", "ES256"]})

    def jwks(self, q):
        with P.lock:
            P.jwks_fetches += 1
        self.answer(200, P.keys.jwks())

    # ---- OAuth 1.0a: every signature checked with Tornado's code

    def oauth1_params(self, body):
        h = self.headers.get("Authorization", "")
        if not h.startswith("OAuth "):
            return None
        p = {}
        for part in h[6:].split(","):
            k, _, v = part.strip().partition("=")
            p[k] = urllib.parse.unquote(v.strip('"'))
        p.update(body)
        return p

    def oauth1_check(self, p, token_secret, token=None):
        """None when p (the header's and body's parameters) is well signed."""
        if p is None or p.get("oauth_consumer_key") != TW_KEY:
            return "no Authorization or another consumer"
        if p.get("oauth_signature_method") != "HMAC-SHA1" or p.get("oauth_version") != "1.0":
            return "not HMAC-SHA1 1.0"
        if abs(int(p.get("oauth_timestamp", "0")) - time.time()) > 300:
            return "a stale timestamp"
        with P.lock:
            if p.get("oauth_nonce") in P.nonces:
                return "a nonce seen before"
            P.nonces.add(p.get("oauth_nonce"))
        sig = p.pop("oauth_signature", "")
        url = "http://127.0.0.1:%d%s" % (P.port, self.path)
        tok = {"key": token, "secret": token_secret} if token else None
        want = _oauth10a_signature({"key": TW_KEY, "secret": CLIENT_SECRET}, "POST", url, p, tok)
        if want.decode() != sig:
            return "signature %r, Tornado signs %r" % (sig, want.decode())
        return None

    def oauth1_request(self):
        p = self.oauth1_params(self.form())
        why = self.oauth1_check(p, None)
        if why or not p.get("oauth_callback"):
            return self.refuse(401, "bad_signature", why or "no oauth_callback")
        token, secret = secrets.token_urlsafe(10), secrets.token_urlsafe(10)
        with P.lock:
            P.oauth1[token] = {"secret": secret, "callback": p["oauth_callback"], "used": False}
        self.answer(200, urllib.parse.urlencode({"oauth_token": token, "oauth_token_secret": secret,
                                                 "oauth_callback_confirmed": "true"}),
                    "application/x-www-form-urlencoded")

    def oauth1_authorize(self, q):
        if q.get("oauth_token") not in P.oauth1:
            return self.answer(400, "unknown request token", "text/plain")
        self.answer(200, '<!DOCTYPE html><title>Mock</title><a id="allow" href="/oauth/approve?'
                    'oauth_token=%s">Authorize app</a>' % q["oauth_token"], "text/html")

    def oauth1_approve(self, q):
        t = P.oauth1.get(q.get("oauth_token"))
        if t is None:
            return self.answer(400, "unknown request token", "text/plain")
        t["verifier"] = secrets.token_urlsafe(8)
        back = urllib.parse.urlencode({"oauth_token": q["oauth_token"],
                                       "oauth_verifier": t["verifier"]})
        self.answer(302, "", "text/plain", [("Location", t["callback"] + "?" + back)])

    def oauth1_access(self):
        p = self.oauth1_params(self.form())
        t = P.oauth1.get((p or {}).get("oauth_token"))
        if t is None or t["used"]:
            return self.refuse(401, "bad_token", "unknown or used request token")
        why = self.oauth1_check(p, t["secret"], p["oauth_token"])
        if why or p.get("oauth_verifier") != t.get("verifier"):
            return self.refuse(401, "bad_signature", why or "wrong verifier")
        t["used"] = True
        self.answer(200, urllib.parse.urlencode({
            "oauth_token": "at-" + secrets.token_urlsafe(6), "oauth_token_secret": "as",
            "user_id": "777", "screen_name": "alice_tw"}), "application/x-www-form-urlencoded")


def start_provider():
    srv = httpmock.serve(Handler)
    P.port = srv.server_address[1]
    return srv


CONF = """
workers = 1;
access_log = "off";
cookie_secret = "login test secret";
sessions = { store = "lmdb"; dir = "@TMP@/sessions"; };
listen = ( { address = "127.0.0.1"; port = @PORT@; } );
modules = (
  { path = "%(login)s";
    settings = {
      timeout = 1.5;
      after_login = "/whoami";
      providers = {
        gh = { kind = "oauth2"; client_id = "gh-client"; client_secret = "%(secret)s";
               scopes = "read:user"; authorize_url = "%(mock)s/authorize";
               token_url = "%(mock)s/token"; userinfo_url = "%(mock)s/user";
               user_field = "login"; user_prefix = "gh:"; };
        fb = { kind = "oauth2"; client_id = "fb-client"; client_secret = "%(secret)s";
               scopes = "email"; authorize_url = "%(mock)s/authorize";
               token_url = "%(mock)s/token"; userinfo_url = "%(mock)s/me?fields=id,name,email";
               user_prefix = "fb:"; };
        oidc = { kind = "oidc"; client_id = "oidc-client"; client_secret = "%(secret)s";
                 discovery = "%(mock)s/.well-known/openid-configuration"; user_prefix = "id:"; };
        oidcu = { kind = "oidc"; client_id = "oidc-client"; client_secret = "%(secret)s";
                  discovery = "%(mock)s/.well-known/openid-configuration";
                  user_field = "preferred_username"; user_prefix = "u:"; };
        noui = { kind = "oidc"; client_id = "oidc-client"; client_secret = "%(secret)s";
                 discovery = "%(mock)s/.well-known/openid-configuration"; userinfo = false;
                 user_field = "preferred_username"; };
        tw = { kind = "oauth1"; client_id = "%(twkey)s"; client_secret = "%(secret)s";
               request_token_url = "%(mock)s/oauth/request_token";
               authorize_url = "%(mock)s/oauth/authorize";
               access_token_url = "%(mock)s/oauth/access_token"; user_prefix = "tw:"; };
        down = { kind = "oauth2"; client_id = "down-client"; client_secret = "%(secret)s";
                 authorize_url = "%(mock)s/authorize"; token_url = "%(dead)s/token";
                 userinfo_url = "%(dead)s/user"; };
        downid = { kind = "oidc"; client_id = "x"; client_secret = "y";
                   discovery = "%(dead)s/.well-known/openid-configuration"; };
        slow = { kind = "oauth2"; client_id = "slow-client"; client_secret = "%(secret)s";
                 authorize_url = "%(mock)s/authorize"; token_url = "%(mock)s/slow/token";
                 userinfo_url = "%(mock)s/user"; };
      };
    };
    routes = ( { path = "/logout"; handler = "logout"; },
               { path = "/auth/([a-z0-9_]+)"; handler = "login"; },
               { path = "/auth/([a-z0-9_]+)/callback"; handler = "callback"; } ); },
  { path = "%(hello)s"; routes = ( { path = "/whoami"; handler = "whoami"; } ); }
);
"""

_gale = None


def gale():
    """The one gale of this file (and the mock providers), started on first use."""
    global _gale
    if _gale is None:
        if not os.path.exists(LOGIN):
            raise Skip("login.so not built")
        start_provider()
        conf = CONF % {"login": LOGIN, "hello": HELLO, "mock": P.base(), "secret": CLIENT_SECRET,
                       "twkey": TW_KEY, "dead": "http://127.0.0.1:%d" % free_port()}
        _gale = Gale(conf=conf)
        # shared by every test of the file: galetest stops what it lists after each test
        galetest._running.remove(_gale)
        atexit.register(_gale.stop)
    return _gale


class Browser:
    """A client with a cookie jar that follows nothing by itself: each hop is seen."""

    def __init__(self):
        self.jar = {}

    def get(self, url):
        u = urllib.parse.urlsplit(url)
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=20)
        headers = {}
        if self.jar:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in self.jar.items())
        c.request("GET", u.path + ("?" + u.query if u.query else ""), headers=headers)
        r = c.getresponse()
        body = r.read()
        for v in r.msg.get_all("Set-Cookie") or []:
            name, _, rest = v.partition("=")
            value, _, attrs = rest.partition(";")
            # the attributes only: a signed value holds 64 random hex digits
            # of signature, and about one in a thousand holds "1970"
            attrs = [a.strip().lower() for a in attrs.split(";")]
            if "max-age=0" in attrs or any(a.startswith("expires=") and "1970" in a
                                           for a in attrs) or not value:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        c.close()
        loc = r.getheader("Location")
        return r.status, (urllib.parse.urljoin(url, loc) if loc else None), body

    def to_callback(self, g, provider, query="", deny=False):
        """Start a login and approve it at the provider: the callback URL it sends back to."""
        status, loc, body = self.get(g.url("/auth/%s%s" % (provider, query)))
        eq(status, 302, "the start of a login with %s: %r" % (provider, body[:300]))
        check(loc.startswith(P.base()), "sent to the provider: %s" % loc)
        status, _, page = self.get(loc)
        eq(status, 200, "the provider's page")
        m = re.search(rb'id="%s" href="([^"]+)"' % (b"deny" if deny else b"allow"), page)
        check(m, "an approval link: %r" % page)
        status, back, _ = self.get(P.base() + m.group(1).decode().replace("&amp;", "&"))
        eq(status, 302, "the provider sends back")
        check(back.startswith(g.url("/auth/%s/callback" % provider)), "to the callback: %s" % back)
        return back

    def whoami(self, g):
        return self.get(g.url("/whoami"))[2].decode().splitlines()[0]


def failures(g):
    return sum(1 for line in g.log().splitlines() if ": login with " in line and " failed: " in line)


def expect_failure(g, b, url, status, why):
    """The callback url fails: the page, one log line, nobody logged in."""
    before = failures(g)
    got, loc, page = b.get(url)
    # the page says why, should the status be another's
    eq(got, status, "status of a failed login (%s), the page: %r" % (why, page[:400]))
    check(b"<h1>Login failed</h1>" in page, "a login-failed page: %r" % page[:300])
    check(why.encode() in page, "the page says %r: %r" % (why, page))
    valid(page, "the login-failed page")
    check(failures(g) == before + 1, "one log line: %s" % g.log_tail(5))
    eq(b.whoami(g), "user: -", "nobody is logged in")
    return page


def login(provider):
    g, b = gale(), Browser()
    eq(b.whoami(g), "user: -", "nobody before")
    sid = b.jar.get("gale_session")
    status, loc, body = b.get(b.to_callback(g, provider))
    eq((status, loc), (302, g.url("/whoami")), "the login ends at after_login: %r" % body[:300])
    check(sid and b.jar.get("gale_session") not in (None, sid), "a new session id at login: %r" % b.jar)
    return g, b


def test_oauth2_github():
    g, b = login("gh")
    eq(b.whoami(g), "user: gh:alice", "the user from GitHub's /user")
    check("login: gh:alice logged in with gh" in g.log(), "a log line")
    eq(b.get(g.url("/logout"))[0], 303, "log out")
    eq(b.whoami(g), "user: -", "nobody after logout")


def test_oauth2_facebook():
    g, b = login("fb")
    eq(b.whoami(g), "user: fb:1001", "the user from the Graph API's /me")


def test_next_is_kept_and_local():
    g, b = gale(), Browser()
    status, loc, _ = b.get(b.to_callback(g, "gh", "?next=/whoami%3Fx%3D1"))
    eq((status, loc), (302, g.url("/whoami?x=1")), "the login goes on to next")
    b = Browser()
    status, loc, _ = b.get(b.to_callback(g, "gh", "?next=//evil.example/"))
    eq((status, loc), (302, g.url("/whoami")), "an off-site next is not followed")


def test_oidc_rs256_and_es256():
    for kid in ("rsa1", "ec1"):
        P.mode = {"kid": kid}
        g, b = login("oidc")
        eq(b.whoami(g), "user: id:oidc-user-7", "the user of the ID token signed by %s" % kid)


def test_oidc_userinfo():
    """The userinfo endpoint's claims join the ID token's (OIDC Core 5.3):
    a user_field only it has names the user; its sub must be the ID
    token's; it failing fails the login; `userinfo = false` skips it."""
    before = P.userinfo_fetches
    g, b = login("oidcu")
    eq(b.whoami(g), "user: u:olive", "named by the userinfo's preferred_username")
    eq(P.userinfo_fetches, before + 1, "userinfo asked once, with the access token")
    for how, status, why in (("mismatch", 502, "sub is not the ID token"),
                             ("down", 502, "the userinfo request was refused (status 503)")):
        P.mode = {"userinfo": how}
        try:
            b = Browser()
            expect_failure(g, b, b.to_callback(g, "oidcu"), status, why)
        finally:
            P.mode = {}
    before = P.userinfo_fetches
    b = Browser()
    expect_failure(g, b, b.to_callback(g, "noui"), 502, "profile has no preferred_username")
    eq(P.userinfo_fetches, before, "userinfo = false: not asked")


def test_wrong_and_missing_state():
    g, b = gale(), Browser()
    back = b.to_callback(g, "gh")
    expect_failure(g, b, re.sub(r"state=[^&]+", "state=forged", back), 400, "state")
    b2 = Browser()  # another browser (an attacker's link): no login cookie
    back = Browser().to_callback(g, "gh")
    expect_failure(g, b2, back, 400, "no login with gh was started in this browser")


def test_replayed_callback():
    g, b = gale(), Browser()
    back = b.to_callback(g, "gh")
    saved = dict(b.jar)
    eq(b.get(back)[0], 302, "the first use")
    b2 = Browser()
    b2.jar = saved  # the same cookie and state again
    expect_failure(g, b2, back, 400, "already used")


def test_replayed_code():
    g, b1 = gale(), Browser()
    back = b1.to_callback(g, "gh")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(back).query)["code"][0]
    eq(b1.get(back)[0], 302, "the code's first use")
    b2 = Browser()  # a new login of its own (state, cookie) with the used code
    back2 = b2.to_callback(g, "gh")
    expect_failure(g, b2, re.sub(r"code=[^&]+", "code=" + code, back2), 502, "invalid_grant")


def test_provider_refusal():
    g, b = gale(), Browser()
    expect_failure(g, b, b.to_callback(g, "gh", deny=True), 403, "access_denied")


def id_token_failure(mode, why):
    g, b = gale(), Browser()
    P.mode = mode
    try:
        return expect_failure(g, b, b.to_callback(g, "oidc"), 502, why)
    finally:
        P.mode = {}


def test_bad_signature():
    id_token_failure({"badsig": True}, "signature is not valid")
    id_token_failure({"kid": "ec1", "badsig": True}, "signature is not valid")


def test_expired_token():
    id_token_failure({"exp": -600}, "expired")


def test_wrong_audience():
    id_token_failure({"aud": "someone-else"}, "another client")
    id_token_failure({"aud": ["someone-else", "oidc-client"]}, "another client")  # no azp


def test_unknown_kid_and_rotation():
    login("oidc")  # the key set is cached
    before = P.jwks_fetches
    id_token_failure({"kid": "nope"}, "key id")
    eq(P.jwks_fetches, before + 1, "the key set is fetched again once for an unknown kid")
    P.keys.published.append("rsa2")  # the provider rotates its keys
    P.mode = {"kid": "rsa2"}
    try:
        g, b = login("oidc")
    finally:
        P.mode = {}
    eq(P.jwks_fetches, before + 2, "fetched again for the new kid")
    eq(b.whoami(g), "user: id:oidc-user-7", "a token of the new key")


def test_provider_down():
    g, b = gale(), Browser()
    expect_failure(g, b, b.to_callback(g, "down"), 502, "the token request failed")
    before = failures(g)
    status, _, page = b.get(g.url("/auth/downid"))
    eq(status, 502, "an OpenID provider whose discovery is down")
    check(b"discovery document" in page and failures(g) == before + 1, "said: %r" % page)


def test_provider_slow():
    g, b = gale(), Browser()
    page = expect_failure(g, b, b.to_callback(g, "slow"), 502, "the token request failed")
    check(b"timeout" in page.lower() or b"timed out" in page.lower(), "a timeout: %r" % page)


def test_oauth1_twitter():
    g, b = login("tw")
    eq(b.whoami(g), "user: tw:alice_tw", "the user of the access token's answer")
    check(not P.errors or "signature" not in " ".join(P.errors),
          "Tornado agreed with every signature: %s" % P.errors)
    b = Browser()
    back = b.to_callback(g, "tw")
    expect_failure(g, b, re.sub(r"oauth_token=[^&]+", "oauth_token=forged", back), 400,
                   "request token is not this browser")


def test_unknown_provider():
    g = gale()
    eq(Browser().get(g.url("/auth/nosuch"))[0], 404, "an unknown provider")


def valid(page, what):
    """page parses with html5lib's strict parser (python3-html5lib), as 26-demos checks."""
    import html5lib
    try:
        html5lib.HTMLParser(strict=True).parse(page)
    except Exception as e:
        raise galetest.Fail("%s is not valid HTML: %s: %r" % (what, e, page[:400]))


def demo_conf():
    """conf/notes.conf as shipped, on a free port, with this build's modules."""
    with open(os.path.join(REPO, "conf", "notes.conf")) as f:
        conf = f.read()
    return (conf.replace('"../modules/', '"%s/' % GALE_MODULES).replace('"../www/', '"%s/' % www_copy())
            .replace('"../state"', '"@TMP@/state"').replace("8889", "@PORT@")
            .replace('workers = "auto";', "workers = 2;"))


def test_demo_config():
    """conf/notes.conf as shipped: the notes app's "Log in with the demo
    provider" button, the module's own mock provider (labelled as a demo),
    and the notes of the user it logs in."""
    if not os.path.exists(os.path.join(GALE_MODULES, "notes.so")):
        raise Skip("notes.so not built")
    with Gale(conf=demo_conf()) as g:
        b = Browser()
        status, _, page = b.get(g.url("/login?next=/notes"))
        eq(status, 200, "the notes' login page")
        check(b'action="/auth/demo"' in page and b"Log in with the demo provider" in page,
              "a Log in with button: %r" % page)
        valid(page, "the login page with its button")
        status, loc, _ = b.get(g.url("/auth/demo?next=/notes"))
        check(status == 302 and loc.startswith(g.url("/mockauth/authorize?")), "to the demo: %s" % loc)
        status, _, page = b.get(loc)
        check(status == 200 and b"This is a demo" in page, "a page labelled as a demo: %r" % page)
        valid(page, "the demo provider's page")
        status, back, _ = b.get(loc + "&name=bob")
        check(status == 302 and back.startswith(g.url("/auth/demo/callback?")), "back: %s" % back)
        status, loc, page = b.get(back)
        eq((status, loc), (302, g.url("/notes")), "logged in: %r" % page[:300])
        status, _, page = b.get(loc)
        check(status == 200 and b'<span class="who">demo:bob</span>' in page, "the notes: %r" % page[:500])
        status, _, _ = b.get(g.url("/mockauth/authorize?redirect_uri=http://evil.example/&state=s"
                                   "&code_challenge=c&name=bob"))
        eq(status, 400, "the demo provider sends nobody to another site")


def test_config_check():
    """A provider the module cannot use is a config error at `gale -t`, with its name."""
    if not os.path.exists(LOGIN):
        raise Skip("login.so not built")
    d = tempfile.mkdtemp(prefix="gale-login-")
    try:
        for provider, want in (('x = { kind = "saml"; };', "providers.x: kind must be"),
                               ('gh = { kind = "oauth2"; client_id = "a"; client_secret = "b"; };',
                                "providers.gh: a provider of kind oauth2 needs authorize_url")):
            path = os.path.join(d, "gale.conf")
            with open(path, "w") as f:
                f.write('listen = ( { address = "127.0.0.1"; port = %d; } );\n'
                        'modules = ( { path = "%s"; settings = { providers = { %s }; };\n'
                        '  routes = ( { path = "/auth/(.*)"; handler = "login"; } ); } );\n'
                        % (free_port(), LOGIN, provider))
            p = run_gale(["-t", "-c", path])
            check(p.returncode != 0 and want in p.stderr + p.stdout,
                  "gale -t refuses %s: %s%s" % (provider, p.stdout, p.stderr))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_headless_browser():
    node_module("playwright-core")
    if not os.access(CHROMIUM, os.X_OK):
        raise Skip("%s not found" % CHROMIUM)
    g = gale()
    with Gale(conf=demo_conf()) as demo:
        rc, out, err = node(os.path.join(NODE_DIR, "login-browser.js"), g.url(""), demo.url(""),
                            timeout=60)
    for line in out.splitlines():
        print("#   " + line)
    check(rc == 0, "login-browser.js: %s%s" % (out[-1500:], err[-2000:]))


def test_shared_gale_stops_clean():
    """Last: the gale the tests shared exits on SIGTERM with no sanitizer report
    and no worker left (what galetest checks after each test of its own)."""
    if _gale is None:
        raise Skip("no test started gale")
    _gale.stop()


if __name__ == "__main__":
    main()

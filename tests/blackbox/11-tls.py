#!/usr/bin/env python3
"""11-tls: HTTPS listeners (listen[].tls) and the plain redirect listener
(listen[].redirect_https), through real clients: curl, Python's ssl module,
raw sockets.

The tests make their own CA and certificates with the `openssl` command, once
per run, in a temporary folder:
    ca        the root CA every client trusts
    a         default certificate: CN a.test, SAN DNS:a.test, DNS:localhost,
              IP:127.0.0.1 (EC P-256)
    a2        the same names, another key, serial and CN (a2.test): what a
              reload brings in
    b         CN b.test (RSA 2048, so that ECDHE-RSA is exercised too)
    wild      CN *.wild.test
    chain     CN chain.test, issued by an intermediate CA; chain.pem holds the
              leaf then the intermediate (clients trust the root only)
    client    a client certificate issued by the CA (CN gale test client)
    rogue     a self-signed client certificate no one trusts
"""

import atexit
import http.client
import os
import pwd
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings

from galetest import (DEFAULT_ROUTES, Conn, Gale, ParseError, Skip, check, check_common, chunked,
                      curl, eq, fail, free_port, lc_value, line_of, main, make_conf,
                      parse_responses, raw, req, run_gale, wait_for)

ROUTES = DEFAULT_ROUTES + (("/info", "info"),)
HOST = "127.0.0.1"

# ---------------------------------------------------------------- certificates

_certs = None


class Certs:
    """The CA and certificates of these tests; .NAME_pem / .NAME_key are paths."""

    def __init__(self):
        if not shutil.which("openssl"):
            raise Skip("openssl command not found")
        self.dir = tempfile.mkdtemp(prefix="gale-tls-certs-")
        os.chmod(self.dir, 0o755)
        atexit.register(shutil.rmtree, self.dir, True)
        self._ca("ca", "gale test CA")
        self._leaf("inter", "gale test intermediate CA", "ca", ext=CA_EXT)
        self._leaf("a", "a.test", "ca", san="DNS:a.test,DNS:localhost,IP:127.0.0.1")
        self._leaf("a2", "a2.test", "ca", san="DNS:a.test,DNS:localhost,IP:127.0.0.1")
        self._leaf("b", "b.test", "ca", san="DNS:b.test", rsa=True)
        self._leaf("wild", "*.wild.test", "ca", san="DNS:*.wild.test")
        self._leaf("chain", "chain.test", "inter", san="DNS:chain.test")
        with open(self.p("chain.pem"), "a") as out, open(self.p("inter.pem")) as inter:
            out.write(inter.read())  # leaf, then the chain
        self._leaf("client", "gale test client", "ca", ext=CLIENT_EXT)
        self._ca("rogue", "rogue client")
        self.garbage_pem = self.p("garbage.pem")
        with open(self.garbage_pem, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                    "-----END CERTIFICATE-----\n")
        for n in os.listdir(self.dir):
            os.chmod(self.p(n), 0o644)

    def p(self, name):
        return os.path.join(self.dir, name)

    def __getattr__(self, attr):
        name, _, kind = attr.rpartition("_")
        if kind in ("pem", "key") and name:
            return self.p(name + "." + kind)
        raise AttributeError(attr)

    def _run(self, *args):
        p = subprocess.run(["openssl"] + list(args), cwd=self.dir, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL, timeout=60)
        if p.returncode != 0:
            fail("openssl %s failed:\n%s" % (" ".join(args), p.stderr))

    def _newkey(self, rsa):
        return ["-newkey", "rsa:2048"] if rsa else ["-newkey", "ec", "-pkeyopt",
                                                     "ec_paramgen_curve:P-256"]

    def _ca(self, name, cn):
        with open(self.p(name + ".cnf"), "w") as f:
            f.write(REQ_CNF + CA_EXT_SECTION)
        self._run("req", "-x509", "-config", name + ".cnf", "-extensions", "ext", "-nodes",
                  *self._newkey(False), "-keyout", name + ".key", "-out", name + ".pem",
                  "-days", "30", "-subj", "/O=gale tests/CN=" + cn,
                  "-set_serial", str(random.getrandbits(63)))

    def _leaf(self, name, cn, issuer, san=None, rsa=False, ext=None):
        if ext is None:
            ext = SERVER_EXT + "subjectAltName = %s\n" % san
        with open(self.p(name + ".cnf"), "w") as f:
            f.write(REQ_CNF + "[ext]\n" + ext + KEYID_EXT)
        self._run("req", "-new", "-config", name + ".cnf", "-nodes", *self._newkey(rsa),
                  "-keyout", name + ".key", "-out", name + ".csr",
                  "-subj", "/O=gale tests/CN=" + cn)
        self._run("x509", "-req", "-in", name + ".csr", "-CA", issuer + ".pem",
                  "-CAkey", issuer + ".key", "-set_serial", str(random.getrandbits(63)),
                  "-days", "30", "-extfile", name + ".cnf", "-extensions", "ext",
                  "-out", name + ".pem")


REQ_CNF = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = x\n"
KEYID_EXT = "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
CA_EXT = "basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n"
CA_EXT_SECTION = "[ext]\n" + CA_EXT + "subjectKeyIdentifier = hash\n"
SERVER_EXT = ("basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
              "extendedKeyUsage = serverAuth\n")
CLIENT_EXT = ("basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
              "extendedKeyUsage = clientAuth\n")


def certs():
    global _certs
    if _certs is None:
        _certs = Certs()
    return _certs


# ---------------------------------------------------------------- config


def tls_settings(**over):
    """The tls group of most tests: the default certificate, plus `over`
    (a value None removes a setting)."""
    c = certs()
    t = {"certificate": c.a_pem, "key": c.a_key}
    t.update(over)
    return {k: v for k, v in t.items() if v is not None}


def sni_settings(**over):
    c = certs()
    return tls_settings(certificates=[
        {"server_name": "b.test", "certificate": c.b_pem, "key": c.b_key},
        {"server_name": "*.wild.test", "certificate": c.wild_pem, "key": c.wild_key},
        {"server_name": "chain.test", "certificate": c.chain_pem, "key": c.chain_key},
    ], **over)


def tls_group_text(tls, indent="      "):
    """libconfig text of a tls group, one setting a line (so errors have distinct lines)."""
    lines = [indent[:-2] + "tls = {"]
    for k, v in tls.items():
        if k == "certificates":
            lines.append(indent + "certificates = (")
            lines.append(",\n".join(
                indent + "  { " + " ".join("%s = %s;" % (ek, lc_value(ev)) for ek, ev in e.items())
                + " }" for e in v))
            lines.append(indent + ");")
        else:
            lines.append(indent + "%s = %s;" % (k, lc_value(v)))
    lines.append(indent[:-2] + "};")
    return "\n".join(lines)


def tls_conf(port, tls, plain=None, redirect=None, more_tls=(), workers=1, routes=ROUTES, **kw):
    """A make_conf() config whose listener on port has the tls group `tls`;
    plain: another port without TLS; redirect: (port, https port) of a
    redirect_https listener; more_tls: (port, tls) of other HTTPS listeners."""
    text = make_conf(port, workers=workers, routes=routes, **kw)
    entry = "  { address = %s; port = %d; }" % (lc_value(HOST), port)
    check(entry in text, "make_conf changed its listen format: %r" % text)
    listens = ["  { address = %s; port = %d;\n%s\n  }" % (lc_value(HOST), port,
                                                          tls_group_text(tls))]
    for p, t in more_tls:
        listens.append("  { address = %s; port = %d;\n%s\n  }" % (lc_value(HOST), p,
                                                                  tls_group_text(t)))
    if plain:
        listens.append("  { address = %s; port = %d; }" % (lc_value(HOST), plain))
    if redirect:
        listens.append("  { address = %s; port = %d; redirect_https = %d; }"
                       % (lc_value(HOST), redirect[0], redirect[1]))
    return text.replace(entry, ",\n".join(listens))


def tls_gale(tls=None, port=None, **kw):
    """A Gale serving HTTPS on a free port with tls (default tls_settings())."""
    port = port or free_port(HOST)
    return Gale(conf=tls_conf(port, tls if tls is not None else tls_settings(), **kw), port=port)


# ---------------------------------------------------------------- TLS clients


def client_ctx(minv=None, maxv=None, alpn=None, cert=None, ciphers=None, hostname=False):
    """A client context trusting the test CA. hostname: check the name too
    (otherwise only the chain is verified, so getpeercert() still works)."""
    c = certs()
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: we use them on purpose
        warnings.simplefilter("ignore")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = hostname
        ctx.load_verify_locations(c.ca_pem)
        if minv:
            ctx.minimum_version = getattr(ssl.TLSVersion, minv)
        if maxv:
            ctx.maximum_version = getattr(ssl.TLSVersion, maxv)
        if minv in ("TLSv1", "TLSv1_1") or maxv in ("TLSv1", "TLSv1_1"):
            # OpenSSL 3 offers nothing below TLS 1.2 at security level 1: make
            # the client really offer the old protocol, so that any refusal is
            # the server's
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if ciphers:
        ctx.set_ciphers(ciphers)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if cert:
        ctx.load_cert_chain(cert + ".pem", cert + ".key")
    return ctx


def tls_socket(port, name="localhost", ctx=None, session=None, timeout=5.0, strict_eof=False):
    """A TLS connection to gale, handshake done; name is the SNI (None: no SNI).
    strict_eof: a close without close_notify raises ssl.SSLEOFError."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    # as curl and browsers do: no client-side Nagle delay in the timings
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        return (ctx or client_ctx()).wrap_socket(s, server_hostname=name, session=session,
                                                 suppress_ragged_eofs=not strict_eof)
    except BaseException:
        s.close()
        raise


class TLSConn(Conn):
    """galetest.Conn over TLS: read_response(), read_until(), wait_closed();
    .error is the ssl.SSLError (alert, or EOF without close_notify with
    strict_eof) that ended the connection, if any."""

    error = None

    def __init__(self, port, name="localhost", ctx=None, session=None, timeout=5.0,
                 strict_eof=False):
        self.sock = tls_socket(port, name, ctx, session, timeout, strict_eof)
        self.timeout = timeout
        self.buf = b""
        self.closed = False
        self.reset = False

    def _recv(self, deadline):
        try:
            return Conn._recv(self, deadline)
        except ssl.SSLError as e:  # an alert from the server ends the connection
            self.closed, self.reset, self.error = True, True, e
            return False

    def peer_cn(self):
        return peer_cn(self.sock)


def peer_cn(s):
    subject = dict(x[0] for x in s.getpeercert()["subject"])
    return subject["commonName"]


def tls_request(port, method="GET", path="/", body=b"", headers=(), name="localhost", ctx=None,
                timeout=5.0):
    """One request on a new TLS connection: the Response (and the connection's CN)."""
    with TLSConn(port, name, ctx, timeout=timeout) as c:
        hs = list(headers)
        if body:
            hs.append(("Content-Length", str(len(body))))
        c.send(req(method, path, hs, body, host=name or "localhost"))
        r = c.read_response(method)
        r.cn = c.peer_cn()
        return r


def tls_get(port, path="/", **kw):
    return tls_request(port, "GET", path, **kw)


def info(body):
    """The /info answer as a dict."""
    out = {}
    for line in body.decode("utf-8", "replace").splitlines():
        k, sep, v = line.partition(": ")
        if sep:
            out[k] = v
    return out


def handshake_fails(port, ctx, name="localhost", path="/info", session=None):
    """Connect with ctx and ask for path: '' when a response came, else how it
    failed (a handshake error, or a close or alert before any response; with
    TLS 1.3 the server's verdict on a client certificate comes after the
    client's handshake)."""
    try:
        c = TLSConn(port, name, ctx, session=session)
    except (ssl.SSLError, OSError) as e:
        return "handshake: %r" % e
    with c:
        try:
            c.send(req("GET", path))
        except (ssl.SSLError, OSError) as e:
            return "send: %r" % e
        deadline = time.monotonic() + 5.0
        while True:
            try:
                if parse_responses(c.buf, eof=c.closed, strict=False):
                    return ""
            except ParseError:
                pass
            if c.closed:
                return "closed: %r (after %r)" % (c.error or "EOF", c.buf[:100])
            if not c._recv(deadline) and not c.closed:
                fail("connection neither answered nor closed within 5 s (got %r)" % c.buf[:200])


def client_hello(name="localhost"):
    """The bytes of a real ClientHello (TLS 1.2 and 1.3 offered)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def ok_hello(g_or_port, what="GET / over TLS"):
    port = g_or_port if isinstance(g_or_port, int) else g_or_port.port
    r = tls_get(port)
    eq((r.status, r.body), (200, b"Hello, world"), what)
    return r


# ---------------------------------------------------------------- basics


def test_curl_https_hello():
    c = certs()
    with tls_gale() as g:
        for url in ("https://localhost:%d/" % g.port, "https://127.0.0.1:%d/" % g.port):
            r = curl("--cacert", c.ca_pem, url)
            eq(r.rc, 0, "curl %s exit status (%s)" % (url, r.stderr))
            eq((r.status, r.body), (200, b"Hello, world"), "curl %s" % url)
            check_common(r, "curl %s" % url)
        r = curl("--cacert", c.ca_pem, "https://localhost:%d/greet/ada?x=1" % g.port)
        eq((r.status, r.body), (200, b"Hello, ada"), "curl /greet/ada over HTTPS")


def test_sni_curl_verifies_each_name():
    c = certs()
    with tls_gale(sni_settings()) as g:
        for name in ("b.test", "x.wild.test", "chain.test", "localhost", "a.test"):
            r = curl("--cacert", c.ca_pem, "--resolve", "%s:%d:%s" % (name, g.port, HOST),
                     "https://%s:%d/" % (name, g.port))
            eq(r.rc, 0, "curl https://%s (verifies the name; chain.test needs the "
               "intermediate sent) exit status (%s)" % (name, r.stderr))
            eq((r.status, r.body), (200, b"Hello, world"), "curl https://%s" % name)
        # a name no certificate has gets the default one, which curl refuses
        r = curl("--cacert", c.ca_pem, "--resolve", "nomatch.test:%d:%s" % (g.port, HOST),
                 "https://nomatch.test:%d/" % g.port)
        eq(r.rc, 60, "curl https://nomatch.test should fail to verify the name (%s)" % r.stderr)


def test_sni_picks_certificate():
    with tls_gale(sni_settings()) as g:
        cases = (("a.test", "a.test"), ("localhost", "a.test"), ("b.test", "b.test"),
                 ("x.wild.test", "*.wild.test"), ("other.wild.test", "*.wild.test"),
                 ("chain.test", "chain.test"),
                 # a wildcard matches one label, no more and no less
                 ("a.b.wild.test", "a.test"), ("wild.test", "a.test"),
                 ("unknown.test", "a.test"), ("test", "a.test"),
                 (None, "a.test"))  # no SNI at all
        for name, cn in cases:
            with TLSConn(g.port, name) as conn:
                eq(conn.peer_cn(), cn, "certificate for SNI %r" % name)
                conn.send(req("GET", "/", host=name or "x"))
                r = conn.read_response()
                eq((r.status, r.body), (200, b"Hello, world"), "GET / with SNI %r" % name)


def test_sni_case_insensitive():
    """Host names compare without case (RFC 6066 3, RFC 4343)."""
    with tls_gale(sni_settings()) as g:
        for name, cn in (("B.TEST", "b.test"), ("X.Wild.Test", "*.wild.test"),
                         ("Chain.Test", "chain.test")):
            with TLSConn(g.port, name) as conn:
                eq(conn.peer_cn(), cn, "certificate for SNI %r" % name)


def test_sni_chain_sent():
    """chain.test's file holds the leaf then the intermediate: the client,
    trusting only the root, verifies (and so both were sent)."""
    with tls_gale(sni_settings()) as g:
        with TLSConn(g.port, "chain.test", client_ctx(hostname=True)) as conn:
            eq(conn.peer_cn(), "chain.test", "certificate")
        p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (HOST, g.port),
                            "-servername", "chain.test", "-showcerts"],
                           input=b"", capture_output=True, timeout=20)
        n = p.stdout.count(b"-----BEGIN CERTIFICATE-----")
        eq(n, 2, "certificates sent for chain.test (openssl s_client -showcerts)")


# ---------------------------------------------------------------- protocols and ciphers


def test_old_protocols_refused():
    with tls_gale() as g:
        ws = g.wait_workers(1)
        for v in ("TLSv1", "TLSv1_1"):
            why = handshake_fails(g.port, client_ctx(minv=v, maxv=v), path="/")
            check(why, "%s: the handshake succeeded and / was answered" % v)
            check("NO_PROTOCOLS_AVAILABLE" not in why and "NO_CIPHERS" not in why,
                  "%s: the test client could not offer it (%s)" % (v, why))
        p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (HOST, g.port),
                            "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"],
                           input=b"", capture_output=True, timeout=20)
        check(p.returncode != 0, "openssl s_client -tls1_1 connected:\n%s" % p.stdout[-800:])
        ok_hello(g, "GET / after refused handshakes")
        eq(g.workers(), ws, "workers after refused handshakes")


def test_tls12_and_tls13():
    with tls_gale(sni_settings()) as g:
        for v, want in (("TLSv1_2", "TLSv1.2"), ("TLSv1_3", "TLSv1.3")):
            for name, cn in (("localhost", "a.test"), ("b.test", "b.test")):  # ECDSA, RSA
                ctx = client_ctx(minv=v, maxv=v)
                with TLSConn(g.port, name, ctx) as c:
                    eq(c.sock.version(), want, "protocol")
                    eq(c.peer_cn(), cn, "certificate")
                    cipher = c.sock.cipher()[0]
                    if want == "TLSv1.2":
                        check("ECDHE" in cipher and ("GCM" in cipher or "CHACHA" in cipher),
                              "TLS 1.2 default cipher should be ECDHE with an AEAD: %s" % cipher)
                    c.send(req("GET", "/greet/tls"))
                    r = c.read_response()
                    eq((r.status, r.body), (200, b"Hello, tls"), "GET over %s (%s)" % (want, cn))


def test_tls12_no_weak_ciphers():
    """The default TLS 1.2 list has no RSA key exchange, CBC, 3DES or RC4,
    with the EC certificate (localhost) or the RSA one (b.test)."""
    with tls_gale(sni_settings()) as g:
        for weak in ("AES128-SHA:AES256-SHA:AES128-GCM-SHA256:AES256-GCM-SHA384",
                     "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA",
                     "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES256-SHA384",
                     "ECDHE-RSA-DES-CBC3-SHA:DES-CBC3-SHA:RC4-SHA"):
            try:
                ctx = client_ctx(minv="TLSv1_2", maxv="TLSv1_2", ciphers=weak + ":@SECLEVEL=0")
            except ssl.SSLError:
                continue  # this OpenSSL has none of them
            for name in ("localhost", "b.test"):
                why = handshake_fails(g.port, ctx, name, path="/")
                check(why, "TLS 1.2 with only %s was accepted for %s" % (weak, name))


def test_min_protocol_tls13():
    with tls_gale(tls_settings(min_protocol="TLSv1.3")) as g:
        why = handshake_fails(g.port, client_ctx(maxv="TLSv1_2"), path="/")
        check(why, "min_protocol TLSv1.3: a TLS 1.2 client was answered")
        with TLSConn(g.port) as c:
            eq(c.sock.version(), "TLSv1.3", "protocol")
        ok_hello(g)
    with tls_gale(tls_settings(min_protocol="TLSv1.2")) as g:
        with TLSConn(g.port, ctx=client_ctx(maxv="TLSv1_2")) as c:
            eq(c.sock.version(), "TLSv1.2", "min_protocol TLSv1.2: protocol of a 1.2 client")


def test_server_cipher_preference():
    order = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"
    with tls_gale(tls_settings(ciphers=order,
                               ciphersuites="TLS_CHACHA20_POLY1305_SHA256")) as g:
        for client in ("ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256",
                       "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"):
            ctx = client_ctx(maxv="TLSv1_2", ciphers=client)
            with TLSConn(g.port, ctx=ctx) as c:
                eq(c.sock.cipher()[0], "ECDHE-ECDSA-AES128-GCM-SHA256",
                   "TLS 1.2 cipher chosen for client order %s (server preference)" % client)
        why = handshake_fails(g.port, client_ctx(maxv="TLSv1_2",
                                                 ciphers="ECDHE-ECDSA-AES256-GCM-SHA384"), path="/")
        check(why, "a TLS 1.2 cipher outside `ciphers` was accepted")
        with TLSConn(g.port) as c:
            eq(c.sock.cipher()[0], "TLS_CHACHA20_POLY1305_SHA256", "TLS 1.3 suite (ciphersuites)")
        ok_hello(g)


def test_alpn():
    """h2 is preferred when offered (HTTP/2 itself is 27-h2's); with
    tls.http2 = false only http/1.1 is, and curl falls back to it."""
    c = certs()
    for h2 in (True, False):
        tls = tls_settings()
        if not h2:
            tls["http2"] = False
        with tls_gale(tls) as g:
            for offer, want in ((["h2", "http/1.1"], "h2" if h2 else "http/1.1"),
                                (["http/1.1"], "http/1.1"), (["h2"], "h2" if h2 else None),
                                (None, None)):
                with TLSConn(g.port, ctx=client_ctx(alpn=offer)) as conn:
                    eq(conn.sock.selected_alpn_protocol(), want,
                       "ALPN selected for offer %r" % offer)
                    if want == "h2":
                        continue
                    conn.send(req("GET", "/"))
                    r = conn.read_response()
                    eq((r.status, r.version), (200, "HTTP/1.1"), "GET with ALPN offer %r" % offer)
            r = curl("--cacert", c.ca_pem, "-w", "%{http_version}",
                     "https://localhost:%d/" % g.port)
            eq((r.rc, r.status, r.body), (0, 200, b"Hello, world"),
               "curl (ALPN h2,http/1.1) %s" % r)
            eq(r.stdout, "2" if h2 else "1.1", "HTTP version curl used")


# ---------------------------------------------------------------- HTTP over TLS


def test_keepalive_and_pipelining():
    with tls_gale() as g:
        with TLSConn(g.port) as c:
            for i in range(5):
                c.send(req("GET", "/greet/k" + "x" * i))
                r = c.read_response()
                eq((r.status, r.body), (200, b"Hello, k" + b"x" * i), "keep-alive request %d" % i)
            body = b"pipelined body"
            c.send(req("HEAD", "/") + req("GET", "/greet/p")
                   + req("POST", "/echo", [("Content-Length", str(len(body)))], body)
                   + req("GET", "/stream?n=2") + req("GET", "/", [("Connection", "close")]))
            got = [c.read_response(m) for m in ("HEAD", "GET", "POST", "GET", "GET")]
            eq([r.status for r in got], [200] * 5, "pipelined statuses")
            eq([r.body for r in got],
               [b"", b"Hello, p", body, b"chunk 1\nchunk 2\n", b"Hello, world"],
               "pipelined bodies")
            check(c.wait_closed(5), "no close after Connection: close")


def test_chunked_upload_echo():
    with tls_gale() as g:
        with TLSConn(g.port) as c:
            c.send(req("POST", "/echo", [("Transfer-Encoding", "chunked"),
                                         ("Content-Type", "text/x-test")]))
            pieces = [b"hello", b" ", b"x" * 20000, b" world"]
            for p in pieces:  # one TLS record (or more) per chunk, spread in time
                c.send(chunked(p)[:-5])
                time.sleep(0.05)
            c.send(b"0\r\n\r\n")
            r = c.read_response()
            eq(r.status, 200, "status")
            eq(r.body, b"".join(pieces), "echoed chunked body")
            eq(r.headers.get("content-type"), "text/x-test", "echoed Content-Type")
            c.send(req("GET", "/"))  # the connection goes on
            eq(c.read_response().body, b"Hello, world", "next request on the connection")
        r = curl("--cacert", certs().ca_pem, "-H", "Transfer-Encoding: chunked",
                 "--data-binary", "curl chunked body", "https://localhost:%d/echo" % g.port)
        eq((r.rc, r.status, r.body), (0, 200, b"curl chunked body"), "curl chunked upload %r" % r)


def test_large_bodies():
    """1 MiB up and down: TLS records, partial SSL_write and back-pressure."""
    with tls_gale() as g:
        body = bytes((i * 7 + i // 251) & 0xFF for i in range(1 << 20))
        c = http.client.HTTPSConnection("localhost", g.port, timeout=30, context=client_ctx())
        try:
            c.request("POST", "/echo", body=body)
            r = c.getresponse()
            got = r.read()
            eq(r.status, 200, "status")
            check(got == body, "echoed 1 MiB differs (%d bytes back)" % len(got))
            c.request("GET", "/")  # same connection
            r = c.getresponse()
            eq((r.status, r.read()), (200, b"Hello, world"), "GET / after the big echo")
        finally:
            c.close()


def test_large_answer_to_a_slow_reader():
    """An 8 MiB answer the client reads only after a pause: gale's direct
    SSL_write fills the socket, OpenSSL holds a half-sent record, and the
    bufferevent finishes the answer byte for byte; the connection goes on."""
    with tls_gale(limits={"max_body_size": 16 << 20}) as g:
        body = bytes((i * 13 + i // 4093) & 0xFF for i in range(8 << 20))
        raw_sock = socket.create_connection(("127.0.0.1", g.port), timeout=30)
        s = client_ctx().wrap_socket(raw_sock, server_hostname="localhost")
        try:
            s.sendall(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n"
                      % len(body) + body)
            time.sleep(1.0)  # gale writes meanwhile, until the socket is full
            data = b""
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            head, rest = data.split(b"\r\n\r\n", 1)
            check(b" 200 " in head.split(b"\r\n")[0], "status line %r" % head[:60])
            while len(rest) < len(body):
                chunk = s.recv(1 << 20)
                check(chunk, "connection closed after %d bytes" % len(rest))
                rest += chunk
            check(rest == body, "the 8 MiB answer differs")
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            more = b""
            while b"Hello, world" not in more:
                chunk = s.recv(65536)
                check(chunk, "no answer to the next request")
                more += chunk
        finally:
            s.close()


def test_stream():
    with tls_gale() as g:
        with TLSConn(g.port) as c:
            c.send(req("GET", "/stream?n=3"))
            r = c.read_response()
        eq(r.status, 200, "status")
        check(r.chunked, "stream should be chunked: %r" % r.head)
        eq(r.body, b"chunk 1\nchunk 2\nchunk 3\n", "body")
        r = curl("--cacert", certs().ca_pem, "https://localhost:%d/stream" % g.port)
        eq((r.rc, r.body), (0, b"".join(b"chunk %d\n" % i for i in range(1, 6))),
           "curl /stream (%s)" % r.stderr)


def test_close_notify():
    """Every close of an established session sends close_notify first, so a
    client can tell a whole answer from a cut one (a body that ends with the
    connection, as HTTP/1.0 /stream's, depends on it)."""
    with tls_gale(limits={"idle_timeout": 1.0}) as g:
        cases = (("HTTP/1.0 /stream", b"GET /stream?n=3 HTTP/1.0\r\n\r\n", "GET"),
                 ("Connection: close", req("GET", "/", [("Connection", "close")]), "GET"),
                 ("idle_timeout", req("GET", "/"), "GET"),
                 ("400", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "GET"))
        bad = []
        for what, data, method in cases:
            with TLSConn(g.port, strict_eof=True) as c:
                c.send(data)
                closed = c.wait_closed(5)
                rs = parse_responses(c.buf, [method], eof=closed, strict=False)
                if not closed or not rs:
                    bad.append("%s: closed=%s, responses %r" % (what, closed, c.buf[:100]))
                elif c.error is not None:
                    bad.append("%s: closed without close_notify (%r)" % (what, c.error))
        check(not bad, "\n".join(bad))


def test_many_concurrent_clients():
    with tls_gale(workers=2) as g:
        res, lock = [], threading.Lock()

        def one(i):
            try:
                r = tls_get(g.port, "/greet/c", timeout=15)
                out = (r.status, r.body)
            except Exception as e:
                out = repr(e)
            with lock:
                res.append(out)

        ts = [threading.Thread(target=one, args=(i,)) for i in range(40)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(20)
        bad = [r for r in res if r != (200, b"Hello, c")]
        eq(len(res), 40, "finished clients")
        check(not bad, "failed concurrent HTTPS clients: %r" % bad[:5])


# ---------------------------------------------------------------- hostile and idle clients


def test_plaintext_on_tls_port():
    with tls_gale(limits={"header_timeout": 5.0}, workers=2) as g:
        ws = g.wait_workers(2)
        for data in (req("GET", "/"), b"GET / HTTP/1.0\r\n\r\n", b"\x16\x03\x01\x00\x05hello",
                     bytes(range(256)) * 4):
            t0 = time.monotonic()
            got = raw(g.port, data, timeout=3.0)
            check(got.closed, "%r...: not closed within 3 s (header_timeout is 5)" % data[:20])
            check(b"HTTP/" not in got, "%r...: answered with HTTP: %r" % (data[:20], got[:200]))
            check(not got or got[0] == 0x15, "%r...: answered with something else than a TLS "
                  "alert: %r" % (data[:20], got[:50]))
            check(time.monotonic() - t0 < 3.0, "slow close")
        for _ in range(4):
            ok_hello(g, "GET / over TLS after plaintext")
        eq(g.workers(), ws, "workers after plaintext requests (a crash respawns one)")


def _stall(port, how, out):
    t0 = time.monotonic()
    try:
        if how == "handshaken":  # handshake done, no request
            c = TLSConn(port, timeout=6)
            closed = c.wait_closed(6)
        elif how == "keepalive":  # one request, then idle
            c = TLSConn(port, timeout=6)
            c.send(req("GET", "/"))
            c.read_response()
            t0 = time.monotonic()
            closed = c.wait_closed(6)
        else:
            c = Conn(port, timeout=6)
            hello = client_hello()
            if how == "partial":
                c.send(hello[:40])
            elif how == "full":  # the server answers, then waits for our Finished
                c.send(hello)
            elif how == "dribble":
                for i in range(len(hello)):
                    try:
                        c.send(hello[i:i + 1])
                    except OSError:
                        break
                    if c.wait_closed(0.2):
                        break
            closed = c.wait_closed(6 - (time.monotonic() - t0))
        c.close()
        out[how] = (closed, time.monotonic() - t0)
    except Exception as e:
        out[how] = (None, repr(e))


def test_stalled_clients_closed():
    """header_timeout 1: a client that sends part of a ClientHello, a
    ClientHello and then nothing, a ClientHello a byte every 0.2 s, or
    finishes the handshake and sends no request is closed within ~1 s (2.5 s
    allowed); idle_timeout 1 after a response too. One that sends nothing at
    all waits up to 1 s more in the kernel first (TCP_DEFER_ACCEPT): 3.5 s."""
    with tls_gale(limits={"header_timeout": 1.0, "idle_timeout": 1.0}, workers=1) as g:
        out = {}
        ts = [threading.Thread(target=_stall, args=(g.port, how, out))
              for how in ("nothing", "partial", "full", "dribble", "handshaken", "keepalive")]
        for t in ts:
            t.start()
        for t in ts:
            t.join(15)
        bad = {}
        for how, (closed, took) in sorted(out.items()):
            if closed is None:
                bad[how] = took
            elif not closed or not 0.5 <= took <= (3.5 if how == "nothing" else 2.5):
                bad[how] = "closed=%s after %.2fs" % (closed, took)
        eq(len(out), 6, "stall clients finished (%r)" % out)
        check(not bad, "stalled clients not closed in time: %r" % bad)
        ok_hello(g, "GET / after the stalled clients")


def test_abrupt_clients():
    """Clients that vanish mid-handshake or mid-response leave gale serving."""
    with tls_gale(workers=1) as g:
        ws = g.wait_workers(1)
        hello = client_hello()
        for _ in range(5):
            s = socket.create_connection((HOST, g.port))
            s.sendall(hello)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # RST
        for _ in range(5):
            c = TLSConn(g.port)
            c.send(req("GET", "/stream?n=200") + req("POST", "/echo", [("Content-Length", "100")],
                                                     b"x" * 10))
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.sock.close()
        time.sleep(0.3)
        ok_hello(g, "GET / after abrupt clients")
        eq(g.workers(), ws, "workers after abrupt clients")


# ---------------------------------------------------------------- sessions


def _resumption(version, workers=2, n=30):
    with tls_gale(workers=workers) as g:
        g.wait_workers(workers)
        ctx = client_ctx(minv=version, maxv=version)
        with TLSConn(g.port, ctx=ctx) as c:
            c.send(req("GET", "/"))
            c.read_response()  # TLS 1.3 tickets come after the handshake
            session = c.sock.session
            check(session is not None and session.has_ticket,
                  "%s: no session ticket from the server" % version)
        reused, seen = [], set()
        for i in range(n):
            with TLSConn(g.port, ctx=ctx, session=session) as c:
                reused.append(c.sock.session_reused)
                c.send(req("GET", "/info"))
                r = c.read_response()
                eq(r.status, 200, "GET /info on resumed connection %d" % i)
                seen.add(info(r.body).get("worker"))
        # SO_REUSEPORT spreads the connections over the workers (all on one
        # of two has odds of 2^-29), so a key per worker would fail about half
        check(all(reused), "%s: %d of %d reconnects with the ticket were not resumed "
              "(ticket keys not shared by the %d workers?)"
              % (version, reused.count(False), n, workers))
        if None not in seen:  # /info names the worker (not in the contract): use it
            eq(len(seen), workers, "workers that resumed sessions (%r)" % seen)


def test_session_resumption_tls12():
    _resumption("TLSv1_2")


def test_session_resumption_tls13():
    _resumption("TLSv1_3")


def _first_response_times(port, ctx, session=None, n=7):
    times = []
    for _ in range(n):
        with TLSConn(port, ctx=ctx, session=session) as c:
            t0 = time.monotonic()
            c.send(req("GET", "/"))
            c.read_response()
            times.append(time.monotonic() - t0)
    return sorted(times)


def test_first_response_not_delayed():
    """The first answer on a new (or resumed) TLS connection leaves at once.
    The handshake's last flight is still unacknowledged then, so with Nagle's
    algorithm on, a small response waits for the client's delayed ACK (40 ms
    on Linux): TCP_NODELAY must be set before it, not from the second answer
    on as for plain HTTP."""
    with tls_gale(workers=1) as g:
        slow = []
        for v in ("TLSv1_2", "TLSv1_3"):
            ctx = client_ctx(minv=v, maxv=v)
            with TLSConn(g.port, ctx=ctx) as c:
                c.send(req("GET", "/"))
                c.read_response()
                session = c.sock.session
            for what, sess in (("new", None), ("resumed", session)):
                times = _first_response_times(g.port, ctx, sess)
                med = times[len(times) // 2]
                if med > 0.020:
                    slow.append("%s %s connections: median %.0f ms (%s)" % (
                        v, what, med * 1000, " ".join("%.0f" % (t * 1000) for t in times)))
        check(not slow, "first response on a TLS connection is slow:\n" + "\n".join(slow))


def test_resumption_across_reload():
    """A ticket issued before a reload resumes with the new workers."""
    with tls_gale(workers=2) as g:
        ws = g.wait_workers(2)
        for v in ("TLSv1_2", "TLSv1_3"):
            ctx = client_ctx(minv=v, maxv=v)
            with TLSConn(g.port, ctx=ctx) as c:
                c.send(req("GET", "/"))
                c.read_response()
                session = c.sock.session
            g.write_conf(g.conf_text)
            g.signal(signal.SIGHUP)
            ws = g.wait_workers(2, timeout=10, without=ws)
            for i in range(6):
                with TLSConn(g.port, ctx=ctx, session=session) as c:
                    check(c.sock.session_reused, "%s: a ticket from before the reload did not "
                          "resume on the new workers (reconnect %d)" % (v, i))


def test_session_tickets_off():
    with tls_gale(tls_settings(session_tickets=False)) as g:
        with TLSConn(g.port, ctx=client_ctx(maxv="TLSv1_2")) as c:
            check(not c.sock.session.has_ticket, "session_tickets = false: a TLS 1.2 ticket "
                  "was issued")
        ok_hello(g)


def _tickets_sent(port):
    """The NewSessionTicket messages a TLS 1.3 client gets with one answer."""
    p = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (HOST, port), "-tls1_3",
                        "-msg", "-ign_eof", "-no-CAfile", "-no-CApath", "-no-CAstore"],
                       input="GET / HTTP/1.0\r\n\r\n", capture_output=True, text=True, timeout=30)
    check("Hello" in p.stdout, "openssl s_client got no answer (%r)" % p.stderr[-300:])
    return sum(1 for line in p.stdout.splitlines()
               if line.startswith("<<<") and "NewSessionTicket" in line)


def test_ticket_count():
    with tls_gale() as g:
        eq(_tickets_sent(g.port), 2, "TLS 1.3 tickets by default")
    with tls_gale(tls_settings(ticket_count=1)) as g:
        eq(_tickets_sent(g.port), 1, "TLS 1.3 tickets with ticket_count = 1")
        # the one ticket resumes
        ctx = client_ctx(maxv="TLSv1_3")
        with TLSConn(g.port, ctx=ctx) as c:
            c.send(req("GET", "/"))
            c.read_response()  # TLS 1.3 tickets come after the handshake
            session = c.sock.session
        with TLSConn(g.port, ctx=ctx, session=session) as c:
            check(c.sock.session_reused, "ticket_count = 1: the ticket did not resume")


# ---------------------------------------------------------------- client certificates


def test_verify_client_require():
    c = certs()
    with tls_gale(tls_settings(verify_client="require", client_ca=c.ca_pem), workers=2) as g:
        ws = g.wait_workers(2)
        for v in ("TLSv1_2", "TLSv1_3"):
            why = handshake_fails(g.port, client_ctx(maxv=v))
            check(why, "%s: verify_client require: a client without a certificate was "
                  "answered" % v)
            why = handshake_fails(g.port, client_ctx(maxv=v, cert=c.p("rogue")))
            check(why, "%s: verify_client require: a client with an untrusted certificate was "
                  "answered" % v)
            r = tls_get(g.port, "/info", ctx=client_ctx(maxv=v, cert=c.p("client")))
            eq(r.status, 200, "%s: /info with the client certificate" % v)
            got = info(r.body)
            check("gale test client" in got.get("client_cert", ""),
                  "%s: /info should show the client certificate's subject: %r" % (v, r.body))
            eq(got.get("scheme"), "https", "scheme in /info")
        eq(g.workers(), ws, "workers")


def test_verify_client_optional():
    c = certs()
    with tls_gale(tls_settings(verify_client="optional", client_ca=c.ca_pem)) as g:
        for v in ("TLSv1_2", "TLSv1_3"):
            r = tls_get(g.port, "/info", ctx=client_ctx(maxv=v))
            eq((r.status, info(r.body).get("client_cert")), (200, "-"),
               "%s: /info without a client certificate (%r)" % (v, r.body))
            r = tls_get(g.port, "/info", ctx=client_ctx(maxv=v, cert=c.p("client")))
            check("gale test client" in info(r.body).get("client_cert", ""),
                  "%s: /info with the client certificate: %r" % (v, r.body))
            # an untrusted certificate is refused or ignored, never shown as verified
            try:
                r = tls_get(g.port, "/info", ctx=client_ctx(maxv=v, cert=c.p("rogue")))
            except Exception:
                continue
            check("rogue" not in r.body.decode("utf-8", "replace"),
                  "%s: an untrusted client certificate shown as verified: %r" % (v, r.body))
            eq(info(r.body).get("client_cert"), "-", "%s: untrusted certificate" % v)


def test_resumption_keeps_client_verification():
    """A session made on a listener that does not verify clients must not
    resume on one that requires a certificate (nginx gives each server its
    own session id context for this); a session made with a verified client
    certificate keeps it when resumed."""
    c = certs()
    p_off, p_req, p_opt = free_port(HOST), free_port(HOST), free_port(HOST)
    opt = tls_settings(verify_client="optional", client_ca=c.ca_pem)
    with tls_gale(tls_settings(), port=p_off,
                  more_tls=[(p_req, tls_settings(verify_client="require", client_ca=c.ca_pem)),
                            (p_opt, opt)]) as g:
        bad = []
        for v in ("TLSv1_2", "TLSv1_3"):
            ctx = client_ctx(minv=v, maxv=v)
            with TLSConn(g.port, ctx=ctx) as conn:
                conn.send(req("GET", "/"))
                conn.read_response()
                session = conn.sock.session
            why = handshake_fails(p_req, ctx)
            check(why, "%s: require listener answered a client without certificate" % v)
            if not handshake_fails(p_req, ctx, session=session):
                bad.append("%s: a session from the verify_client=off listener resumed on the "
                           "require listener, and /info was answered without a certificate" % v)
            # with a verified client certificate, then resumed: still shown
            ctx = client_ctx(minv=v, maxv=v, cert=c.p("client"))
            with TLSConn(p_opt, ctx=ctx) as conn:
                conn.send(req("GET", "/info"))
                conn.read_response()
                session = conn.sock.session
            with TLSConn(p_opt, ctx=ctx, session=session) as conn:
                conn.send(req("GET", "/info"))
                r = conn.read_response()
                if "gale test client" not in info(r.body).get("client_cert", ""):
                    bad.append("%s: resumed (%s) session lost the client certificate: %r"
                               % (v, conn.sock.session_reused, r.body))
        check(not bad, "\n".join(bad))


def test_info_scheme_and_client():
    c = certs()
    plain = free_port(HOST)
    with tls_gale(plain=plain) as g:
        # verify_client off: a certificate the client offers is not asked for
        r = tls_get(g.port, "/info", ctx=client_ctx(cert=c.p("client")))
        got = info(r.body)
        eq(r.status, 200, "status")
        eq((got.get("scheme"), got.get("client"), got.get("client_cert")),
           ("https", "127.0.0.1", "-"), "/info over TLS (%r)" % r.body)
        check(r.headers.get("content-type", "").startswith("text/plain"),
              "/info Content-Type: %r" % r.headers)
        st, _, body = _plain_get(plain, "/info")
        got = info(body)
        eq((st, got.get("scheme"), got.get("client"), got.get("client_cert")),
           (200, "http", "127.0.0.1", "-"), "/info on the plain listener (%r)" % body)


def _plain_get(port, path, headers=None):
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


# ---------------------------------------------------------------- HSTS and redirects


def test_hsts():
    plain = free_port(HOST)
    with tls_gale(tls_settings(hsts_max_age=3600), plain=plain) as g:
        for path, status in (("/", 200), ("/stream?n=1", 200), ("/no/such", 404)):
            r = tls_get(g.port, path)
            eq(r.status, status, "status of %s" % path)
            eq(r.headers.get_all("strict-transport-security"), ["max-age=3600"],
               "HSTS on %s %d" % (path, status))
        st, hs, _ = _plain_get(plain, "/")
        check(not [v for k, v in hs if k.lower() == "strict-transport-security"],
              "HSTS sent on a plain http listener: %r" % hs)
    with tls_gale(tls_settings(hsts_max_age=31536000, hsts_subdomains=True)) as g:
        eq(tls_get(g.port).headers.get("strict-transport-security"),
           "max-age=31536000; includeSubDomains", "HSTS with hsts_subdomains")
    with tls_gale() as g:
        check("strict-transport-security" not in tls_get(g.port).headers,
              "HSTS sent by default (hsts_max_age 0)")


def test_redirect_https():
    c = certs()
    q = free_port(HOST)
    with _redirect_gale(q) as g:
        p = g.port
        for host, loc in (("localhost:%d" % q, "https://localhost:%d/greet/x?y=1" % p),
                          ("localhost", "https://localhost:%d/greet/x?y=1" % p),
                          ("127.0.0.1:%d" % q, "https://127.0.0.1:%d/greet/x?y=1" % p),
                          ("[::1]:%d" % q, "https://[::1]:%d/greet/x?y=1" % p),
                          ("Example.COM", "https://Example.COM:%d/greet/x?y=1" % p)):
            with Conn(q) as conn:
                conn.send(req("GET", "/greet/x?y=1", host=host))
                r = conn.read_response()
            eq(r.status, 301, "status for Host %s" % host)
            loc_got = r.headers.get("location")
            check(loc_got in (loc, loc.replace("Example.COM", "example.com")),
                  "Location for Host %s: expected %r, got %r" % (host, loc, loc_got))
            check_common(r, "301")
            check("strict-transport-security" not in r.headers,
                  "HSTS on the plain redirect: %r" % r.headers)
        # every method is redirected; GET and HEAD with 301, the others may get
        # 308, which tells clients to keep the method and body (RFC 9110 15.4.9)
        for m in ("HEAD", "POST", "PUT", "DELETE", "OPTIONS"):
            body = b"" if m == "HEAD" else b"abc"
            with Conn(q) as conn:
                conn.send(req(m, "/echo?a=b", [("Content-Length", str(len(body)))], body,
                              host="localhost"))
                r = conn.read_response(m)
                conn.send(req("GET", "/", host="localhost"))  # the body was read: keep-alive
                r2 = conn.read_response()
            check(r.status == 301 or (r.status == 308 and m != "HEAD"),
                  "%s to the redirect listener: status %d" % (m, r.status))
            eq(r.headers.get("location"), "https://localhost:%d/echo?a=b" % p,
               "Location for %s" % m)
            eq((r2.status, r2.headers.get("location")), (301, "https://localhost:%d/" % p),
               "GET after %s on the same connection" % m)
        r = curl("--cacert", c.ca_pem, "-L", "http://localhost:%d/greet/x?y=1" % q)
        eq((r.rc, [b[0] for b in r.blocks], r.body), (0, [301, 200], b"Hello, x"),
           "curl -L from http to https (%s)" % r.stderr)


def test_redirect_https_request_forms():
    """The Location is a well-formed https URL for every request form: an
    absolute-form target (RFC 9112 3.2.2: its host wins over Host, its path
    and query are kept), and no target that is not a path (OPTIONS *,
    CONNECT's authority) is glued after the port."""
    q = free_port(HOST)
    with _redirect_gale(q) as g:
        p = g.port
        bad = []
        for data, want in (
                (b"GET http://localhost:%d/greet/x?y=1 HTTP/1.1\r\nHost: localhost:%d\r\n\r\n"
                 % (q, q), "https://localhost:%d/greet/x?y=1" % p),
                (b"GET http://other.test/greet/x HTTP/1.1\r\nHost: localhost\r\n\r\n",
                 "https://other.test:%d/greet/x" % p),
                (b"GET HTTP://localhost:%d HTTP/1.1\r\nHost: localhost:%d\r\n\r\n" % (q, q),
                 "https://localhost:%d/" % p)):
            with Conn(q) as conn:
                conn.send(data)
                r = conn.read_response()
            if (r.status, r.headers.get("location")) != (301, want):
                bad.append("%r: expected 301 %s, got %d %s"
                           % (data.split(b"\r\n")[0], want, r.status, r.headers.get("location")))
        for data in (b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n",
                     b"CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n"):
            with Conn(q) as conn:
                conn.send(data)
                r = conn.read_response()
            loc = r.headers.get("location") or ""
            if r.status in (301, 308) and not loc.startswith("https://localhost:%d/" % p):
                bad.append("%r: %d with Location %r" % (data.split(b"\r\n")[0], r.status, loc))
            elif r.status < 300:
                bad.append("%r: answered %d" % (data.split(b"\r\n")[0], r.status))
        for data in (b"GET / HTTP/1.0\r\n\r\n", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"):
            with Conn(q) as conn:
                conn.send(data)
                r = conn.read_response()
            if r.status != 400:
                bad.append("%r: no usable Host, expected 400, got %d %s"
                           % (data, r.status, r.headers.get("location")))
        check(not bad, "redirects:\n" + "\n".join(bad))


def _redirect_gale(q, https_port=None, tls_port=None):
    port = tls_port or free_port(HOST)
    return Gale(conf=tls_conf(port, tls_settings(hsts_max_age=600),
                              redirect=(q, https_port or port)), port=port)


def test_redirect_https_443():
    """redirect_https = 443 leaves the port out of Location."""
    if os.geteuid() != 0:
        raise Skip("not root: cannot bind port 443")
    try:
        s = socket.socket()
        s.bind((HOST, 443))
        s.close()
    except OSError:
        raise Skip("port 443 on %s is taken" % HOST)
    q = free_port(HOST)
    with _redirect_gale(q, 443, 443) as g:
        for host in ("localhost:%d" % q, "localhost"):
            with Conn(q) as conn:
                conn.send(req("GET", "/greet/x?y=1", host=host))
                r = conn.read_response()
            eq((r.status, r.headers.get("location")), (301, "https://localhost/greet/x?y=1"),
               "redirect to 443 for Host %s" % host)
        ok_hello(g, "GET / on port 443")


# ---------------------------------------------------------------- gale -t


def _conf_check(text):
    d = tempfile.mkdtemp(prefix="gale-tls-conf-")
    try:
        path = os.path.join(d, "gale.conf")
        with open(path, "w") as f:
            f.write(text)
        return path, run_gale(["-t", "-c", path])
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_config_check_valid():
    c = certs()
    port = free_port(HOST)
    text = tls_conf(port, sni_settings(min_protocol="TLSv1.2", session_tickets=True,
                                       ticket_rotation=3600.0, ticket_count=1,
                                       verify_client="optional",
                                       client_ca=c.ca_pem, hsts_max_age=60,
                                       hsts_subdomains=False,
                                       ciphers="ECDHE-ECDSA-AES128-GCM-SHA256",
                                       ciphersuites="TLS_AES_128_GCM_SHA256"),
                    redirect=(free_port(HOST), port))
    path, p = _conf_check(text)
    eq(p.returncode, 0, "gale -t on a valid TLS config (stderr %r)" % p.stderr)


def test_config_check_errors():
    c = certs()
    missing = os.path.join(c.dir, "no-such-file.pem")
    cases = [
        # (what, tls settings, needles of the lines the error may name, mentions)
        ("missing certificate file", tls_settings(certificate=missing),
         ['certificate = "%s"' % missing], [missing]),
        ("missing key file", tls_settings(key=missing), ['key = "%s"' % missing], [missing]),
        ("key of another certificate", tls_settings(key=c.b_key),
         ['key = "%s"' % c.b_key, 'certificate = "%s"' % c.a_pem], ["key"]),
        ("garbage certificate", tls_settings(certificate=c.garbage_pem),
         ['certificate = "%s"' % c.garbage_pem], [c.garbage_pem]),
        ("tls without certificate", tls_settings(certificate=None), [], ["certificate"]),
        ("tls without key", tls_settings(key=None), [], ["key"]),
        ("verify_client without client_ca", tls_settings(verify_client="require"),
         ['verify_client = "require"'], ["client_ca"]),
        ("verify_client optional without client_ca", tls_settings(verify_client="optional"),
         ['verify_client = "optional"'], ["client_ca"]),
        ("missing client_ca file", tls_settings(verify_client="require", client_ca=missing),
         ['client_ca = "%s"' % missing], [missing]),
        ("missing SNI certificate", tls_settings(certificates=[
            {"server_name": "b.test", "certificate": missing, "key": c.b_key}]),
         ['server_name = "b.test"'], [missing]),
        ("SNI key of another certificate", tls_settings(certificates=[
            {"server_name": "b.test", "certificate": c.b_pem, "key": c.a_key}]),
         ['server_name = "b.test"'], ["key"]),
        ("min_protocol TLSv1.1", tls_settings(min_protocol="TLSv1.1"),
         ['min_protocol = "TLSv1.1"'], ["min_protocol"]),
        ("verify_client bad word", tls_settings(verify_client="maybe", client_ca=c.ca_pem),
         ['verify_client = "maybe"'], ["verify_client"]),
    ]
    port = free_port(HOST)
    bad = []
    for what, tls, needles, mentions in cases:
        text = tls_conf(port, tls)
        lines = {line_of(text, "tls = {")} | {line_of(text, n) for n in needles}
        path, p = _conf_check(text)
        err = p.stderr
        problems = []
        if p.returncode != 1:
            problems.append("exit status %d" % p.returncode)
        named = ["%s:%d:" % (path, n) for n in sorted(lines)]
        if not any(n in err for n in named):
            problems.append("no %s" % " or ".join(named))
        for m in mentions:
            if m.lower() not in err.lower():
                problems.append("no mention of %r" % m)
        if problems:
            bad.append("%s: %s; stderr: %r" % (what, ", ".join(problems), err[-400:]))
    check(not bad, "gale -t on broken TLS configs:\n" + "\n".join(bad))


def test_config_redirect_https_range():
    port = free_port(HOST)
    text = tls_conf(port, tls_settings(), redirect=(free_port(HOST), 70000))
    path, p = _conf_check(text)
    eq(p.returncode, 1, "redirect_https = 70000: exit status (stderr %r)" % p.stderr)
    check("%s:%d:" % (path, line_of(text, "redirect_https = 70000")) in p.stderr,
          "redirect_https = 70000: no FILE:LINE in %r" % p.stderr)


def test_relative_certificate_paths():
    """Paths are relative to the config's folder (gale runs with another cwd)."""
    c = certs()
    tmp = tempfile.gettempdir()
    if os.path.dirname(c.dir) != tmp:
        raise Skip("certificates not in %s" % tmp)
    rel = os.path.join("..", os.path.basename(c.dir))
    # Gale's folder is a fresh mkdtemp() in the same temp folder
    with tls_gale(tls_settings(certificate=os.path.join(rel, "a.pem"),
                               key=os.path.join(rel, "a.key"))) as g:
        eq(ok_hello(g).cn, "a.test", "certificate")


# ---------------------------------------------------------------- privileges and reloads


def test_key_readable_by_root_only():
    """With user = "nobody", a key file 0600 root in a 0700 folder still works,
    at start and on reload: the master reads it before the workers drop root."""
    if os.geteuid() != 0:
        raise Skip("not root")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("no user nobody")
    c = certs()
    d = tempfile.mkdtemp(prefix="gale-tls-keys-")
    try:
        os.chmod(d, 0o700)
        for n in ("a.pem", "a.key"):
            shutil.copy(c.p(n), os.path.join(d, n))
            os.chmod(os.path.join(d, n), 0o600)
        with tls_gale(tls_settings(certificate=os.path.join(d, "a.pem"),
                                   key=os.path.join(d, "a.key")), workers=2,
                      extra='user = "nobody";') as g:
            ws = g.wait_workers(2)
            for w in ws:
                with open("/proc/%d/status" % w) as f:
                    uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
                eq(int(uid), nobody.pw_uid, "uid of worker %d" % w)
            ok_hello(g)
            _swap_cert(d, "a2")
            g.signal(signal.SIGHUP)
            got = wait_for(lambda: _cn_or_error(g.port) == "a2.test", 10)
            check(got, "no new certificate after SIGHUP with root-only keys (now %r); log:\n%s"
                  % (_cn_or_error(g.port), g.log_tail()))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _swap_cert(d, name, cert=None, key=None):
    """Replace d/a.pem and d/a.key with certificate `name`, each by a rename."""
    c = certs()
    for src, dst in ((cert or c.p(name + ".pem"), "a.pem"), (key or c.p(name + ".key"), "a.key")):
        tmp = os.path.join(d, dst + ".new")
        shutil.copy(src, tmp)
        os.chmod(tmp, os.stat(os.path.join(d, dst)).st_mode & 0o777)
        os.rename(tmp, os.path.join(d, dst))


def _cn_or_error(port):
    try:
        with TLSConn(port) as c:
            return c.peer_cn()
    except Exception as e:
        return repr(e)


def _own_cert_dir():
    c = certs()
    d = tempfile.mkdtemp(prefix="gale-tls-reload-")
    os.chmod(d, 0o755)
    for n in ("a.pem", "a.key"):
        shutil.copy(c.p(n), os.path.join(d, n))
    return d


class TLSLoad:
    """Threads each doing fresh HTTPS requests (handshake, GET /, close) until
    stop(); results are (start, cn, status, body), errors (start, repr)."""

    def __init__(self, port, threads=3, max_seconds=20.0):
        self.port, self.max_seconds = port, max_seconds
        self.results, self.errors = [], []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def _run(self):
        end = time.monotonic() + self.max_seconds
        while not self.stopping.is_set() and time.monotonic() < end:
            t0 = time.monotonic()
            try:
                r = tls_get(self.port, timeout=10)
                with self.lock:
                    self.results.append((t0, r.cn, r.status, r.body))
            except Exception as e:
                with self.lock:
                    self.errors.append((t0, repr(e)))
            time.sleep(0.005)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(15)
        return self


def test_reload_new_certificate_under_load():
    d = _own_cert_dir()
    try:
        tls = tls_settings(certificate=os.path.join(d, "a.pem"), key=os.path.join(d, "a.key"))
        with tls_gale(tls, workers=2, grace_period=10.0) as g:
            ws = g.wait_workers(2)
            load = TLSLoad(g.port)
            try:
                time.sleep(1.0)
                _swap_cert(d, "a2")
                g.signal(signal.SIGHUP)
                t_new = wait_for(lambda: any(r[1] == "a2.test" for r in load.results), 10)
                check(t_new, "no handshake saw the new certificate within 10 s; log:\n%s"
                      % g.log_tail())
                g.wait_workers(2, timeout=10, without=ws)
                t_replaced = time.monotonic()
                time.sleep(1.0)
            finally:
                load.stop()
            check(not load.errors, "%d of %d HTTPS requests failed during the certificate "
                  "reload: %r" % (len(load.errors), len(load.errors) + len(load.results),
                                  load.errors[:5]))
            bad = [r for r in load.results if r[2:] != (200, b"Hello, world")]
            check(not bad, "bad answers: %r" % bad[:5])
            late = [r[1] for r in load.results if r[0] > t_replaced]
            check(late, "no request after the old workers left")
            check(all(cn == "a2.test" for cn in late),
                  "old certificate after the old workers left: %r" % sorted(set(late)))
            check(any(r[1] == "a.test" for r in load.results), "the old certificate never seen")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_reload_broken_certificate_keeps_old():
    c = certs()
    d = _own_cert_dir()
    try:
        tls = tls_settings(certificate=os.path.join(d, "a.pem"), key=os.path.join(d, "a.key"))
        with tls_gale(tls, workers=2) as g:
            ws = g.wait_workers(2)
            for what, cert, key in (("garbage certificate", c.garbage_pem, c.a_key),
                                    ("key of another certificate", c.a2_pem, c.b_key),
                                    ("empty key file", c.a2_pem, os.devnull)):
                _swap_cert(d, None, cert, key)
                start = len(g.log())
                g.signal(signal.SIGHUP)
                check(wait_for(lambda: os.path.join(d, "a.") in g.log()[start:], 5),
                      "%s: no error naming the file after SIGHUP; log:\n%s"
                      % (what, g.log_tail()))
                time.sleep(0.5)
                check(g.running(), "%s: master died" % what)
                eq(g.workers(), ws, "%s: workers changed" % what)
                for _ in range(4):
                    eq(ok_hello(g, "%s: GET /" % what).cn, "a.test",
                       "%s: certificate served" % what)
            _swap_cert(d, "a2")
            g.signal(signal.SIGHUP)
            check(wait_for(lambda: _cn_or_error(g.port) == "a2.test", 10),
                  "a good certificate after the bad ones was not loaded (%r); log:\n%s"
                  % (_cn_or_error(g.port), g.log_tail()))
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()

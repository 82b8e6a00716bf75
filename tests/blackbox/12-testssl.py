#!/usr/bin/env python3
"""12-testssl: testssl.sh (Debian package testssl.sh, command `testssl` or
`testssl.sh`) against a gale HTTPS listener with the default TLS settings
plus HSTS. Skipped (exit 77) when testssl is not installed.

Checks run (about a minute on loopback; the whole scan is bounded to 7 min):
    -p protocols   -s cipher categories   -f forward secrecy
    -P server preference   -S server defaults   -h HTTP headers
    -U every vulnerability (Heartbleed, CCS, ROBOT, renegotiation, CRIME,
       BREACH, POODLE, SWEET32, FREAK, DROWN, LOGJAM, BEAST, LUCKY13, RC4...)
A finding of severity HIGH or CRITICAL fails, and so does any finding marked
vulnerable (even "potentially"), except what only says that the test
certificate is not a real one (self-signed: no chain of trust, no CRL or OCSP
URI). The contract's own points are checked by name too: TLS 1.2 and 1.3 only,
a server cipher order, HSTS.
"""

import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile

import galetest
from galetest import Gale, Skip, check, fail, free_port, make_conf, main

SCAN_TIMEOUT = 420  # seconds: about 80 on an idle 2-core machine, 240+ on a busy one
galetest.TEST_TIMEOUT = SCAN_TIMEOUT + 60  # the runner's per-test bound (120 s) is too short

# what a self-signed test certificate necessarily has
IGNORED = {
    "cert_chain_of_trust": "the test certificate is self-signed",
    "cert_revocation": "a test certificate has no CRL or OCSP URI",
    "DNS_CAArecord": "no DNS for 127.0.0.1",
}


def testssl():
    for name in ("testssl.sh", "testssl"):
        p = shutil.which(name)
        if p:
            return p
    raise Skip("testssl.sh not installed (Debian package testssl.sh)")


def make_cert(folder):
    """A self-signed RSA 2048 certificate for localhost and 127.0.0.1, valid a
    year (shorter ones are flagged as expiring)."""
    if not shutil.which("openssl"):
        raise Skip("openssl command not found")
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
                        "-keyout", key, "-out", cert, "-subj", "/O=gale tests/CN=localhost",
                        "-addext", "subjectAltName = DNS:localhost, IP:127.0.0.1",
                        "-addext", "keyUsage = critical, digitalSignature",
                        "-addext", "extendedKeyUsage = serverAuth"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        fail("openssl req failed:\n%s" % p.stderr)
    return cert, key


def tls_conf(port, cert, key):
    text = make_conf(port, workers=2, access_log="off")
    entry = '  { address = "127.0.0.1"; port = %d; }' % port
    check(entry in text, "make_conf changed its listen format")
    return text.replace(entry, '  { address = "127.0.0.1"; port = %d;\n'
                               '    tls = { certificate = "%s"; key = "%s";\n'
                               '            hsts_max_age = 31536000; }; }' % (port, cert, key))


def vulnerable(finding):
    f = finding.lower()
    return "vulnerable" in f and not re.search(r"\bnot vulnerable\b", f)


def by_id(findings, fid):
    return [x for x in findings if x.get("id") == fid]


def test_testssl():
    exe = testssl()
    d = tempfile.mkdtemp(prefix="gale-testssl-")
    try:
        os.chmod(d, 0o755)
        cert, key = make_cert(d)
        port = free_port()
        out = os.path.join(d, "findings.json")
        with Gale(conf=tls_conf(port, cert, key), port=port) as g:
            try:
                p = subprocess.run(
                    [exe, "--quiet", "--color", "0", "--warnings", "off", "--openssl",
                     shutil.which("openssl") or "/usr/bin/openssl", "--connect-timeout", "10",
                     "--openssl-timeout", "10", "-p", "-s", "-f", "-P", "-S", "-h", "-U",
                     "--jsonfile", out, "127.0.0.1:%d" % port],
                    capture_output=True, text=True, errors="replace", timeout=SCAN_TIMEOUT,
                    stdin=subprocess.DEVNULL, cwd=d)
            except subprocess.TimeoutExpired:
                fail("testssl did not finish within %d s" % SCAN_TIMEOUT)
            check(g.running(), "gale died during the scan; log:\n%s" % g.log_tail())
            status, _, body = request_ok(g)
        if not os.path.exists(out):
            fail("testssl wrote no findings (exit %d):\n%s" % (p.returncode, p.stdout[-3000:]))
        with open(out) as f:
            findings = json.load(f)
        check(isinstance(findings, list) and findings, "no findings in %s" % out)
        check((status, body) == (200, b"Hello, world"),
              "GET / after the scan: %r" % ((status, body),))
        problems, ignored = [], []
        for x in findings:
            sev, fid, text = x.get("severity", ""), x.get("id", ""), x.get("finding", "")
            if sev == "FATAL":
                problems.append("%s %s: %s" % (sev, fid, text))
            elif sev in ("HIGH", "CRITICAL") or vulnerable(text):
                (ignored if fid in IGNORED else problems).append("%s %s: %s" % (sev, fid, text))
        for fid, want in (("SSLv2", "not offered"), ("SSLv3", "not offered"),
                          ("TLS1", "not offered"), ("TLS1_1", "not offered"),
                          ("TLS1_2", "offered"), ("TLS1_3", "offered")):
            got = [x["finding"] for x in by_id(findings, fid)]
            if not got or not got[0].startswith(want):
                problems.append("protocol %s: expected %r, got %r" % (fid, want, got))
        got = [(x["severity"], x["finding"]) for x in by_id(findings, "cipher_order")]
        if [sev for sev, _ in got] != ["OK"]:
            problems.append("cipher_order: expected the server's order (OK), got %r" % got)
        # testssl writes HSTS_time when the header is there, HSTS when it is not
        got = [(x["id"], x["severity"], x["finding"]) for x in findings
               if x.get("id", "").startswith("HSTS")]
        if ("HSTS_time", "OK") not in [g[:2] for g in got]:
            problems.append("HSTS (hsts_max_age = 31536000): %r" % got)
        got = [x["finding"] for x in by_id(findings, "ALPN")]
        if got != ["http/1.1"]:
            problems.append("ALPN: expected only http/1.1, got %r" % got)
        for i in ignored:
            print("# ignored (test certificate): " + i)
        for x in findings:
            if x.get("severity") == "WARN":
                print("# testssl warning: %s: %s" % (x.get("id"), x.get("finding")))
        check(not problems, "testssl findings (%s):\n%s" % (out, "\n".join(problems)))
    finally:
        if not os.environ.get("GALE_KEEP"):
            shutil.rmtree(d, ignore_errors=True)


def request_ok(g):
    """GET / over TLS, without verifying (the certificate is self-signed)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection("127.0.0.1", g.port, timeout=10, context=ctx)
    try:
        c.request("GET", "/")
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Tornado's side of the signed-value cross-check run by test_cookie.c.

  tornado_cross.py sign SECRET NAME VALUE KEYVERSION TIMESTAMP
      prints tornado.web.create_signed_value(..., version=2) at TIMESTAMP
  tornado_cross.py verify SECRET NAME SIGNED TIMESTAMP
      prints tornado.web.decode_signed_value(..., min_version=2) at
      TIMESTAMP (max_age_days 31), or NONE

Any argument may be written "hex:<hex digits>" to pass arbitrary bytes
through the shell. SECRET is a plain secret (Tornado's str cookie_secret)
or a JSON object {"<version>": "<secret>", ...} (the dict form, with
KEYVERSION naming the signing key; "-" means none). Values are written to
stdout as raw bytes followed by a newline.
"""
import binascii
import json
import sys

import tornado.web


def arg(s):
    if s.startswith("hex:"):
        return binascii.a2b_hex(s[4:])
    return s.encode()


def secret_of(s):
    raw = arg(s)
    if raw.startswith(b"{"):
        return {int(k): v for k, v in json.loads(raw).items()}
    return raw.decode()


def main(argv):
    if len(argv) == 6 and argv[0] == "sign":
        secret, name, value, kv, ts = argv[1:]
        signed = tornado.web.create_signed_value(
            secret_of(secret),
            arg(name).decode(),
            arg(value),
            version=2,
            clock=lambda: float(ts),
            key_version=None if kv == "-" else int(kv),
        )
        out = signed
    elif len(argv) == 5 and argv[0] == "verify":
        secret, name, signed, ts = argv[1:]
        value = tornado.web.decode_signed_value(
            secret_of(secret),
            arg(name).decode(),
            arg(signed),
            max_age_days=31,
            clock=lambda: float(ts),
            min_version=2,
        )
        out = b"NONE" if value is None else value
    else:
        sys.stderr.write(__doc__)
        return 2
    sys.stdout.buffer.write(out + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

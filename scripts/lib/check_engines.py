#!/usr/bin/env python3
"""check_engines.py LOCKFILE NODE_VERSION: check that every package that
LOCKFILE (an npm package-lock.json, lockfileVersion 2 or 3) pins accepts the
Node.js that will run it, by the `engines.node` range it declares.

Why here and not only in npm: `npm ci` merely warns (EBADENGINE) and installs
a package that then refuses to run, minutes later, in a browser test. The
versions the scripts install must be the versions the tests run with, so the
check runs before anything is installed from npm, and names the fix.

Ranges understood: the forms packages use in `engines` - comparators
(>=, >, <=, <, =), bare versions with x/* wildcards, ^ and ~, hyphen ranges,
space-separated (all must hold) and || (one must hold). A range it cannot
read is reported as such, not passed silently.

Exit 0 when all accept the version, 1 when one does not (a line per package
on stderr), 2 on bad arguments or an unreadable range.
"""
import json
import re
import sys

VERSION = re.compile(r"^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+].*)?$")


def parse(text):
    """(major, minor, patch, wildcards) with None for a missing or x part."""
    m = VERSION.match(text.strip())
    if not m:
        raise ValueError("cannot read version %r" % text)
    parts = [None if p is None or p in "xX*" else int(p) for p in m.groups()]
    return parts


def floor(parts):
    return tuple(p or 0 for p in parts)


def bump(parts, index):
    """The first version above the wildcard range that fixes parts[:index+1]."""
    out = [p or 0 for p in parts[: index + 1]] + [0] * (2 - index)
    out[index] += 1
    for i in range(index + 1, 3):
        out[i] = 0
    return tuple(out)


def comparators(term):
    """A list of (op, version tuple) that must all hold for one space-joined term."""
    term = term.strip()
    if term in ("", "*", "x", "X"):
        return []
    hyphen = re.match(r"^(\S+)\s+-\s+(\S+)$", term)
    if hyphen:
        lo, hi = parse(hyphen.group(1)), parse(hyphen.group(2))
        upper = ("<=", floor(hi)) if None not in hi else ("<", bump(hi, known(hi) - 1))
        return [(">=", floor(lo)), upper]
    out = []
    for tok in re.findall(r"(?:[<>]=?|=|\^|~)?\s*[^\s<>=^~]+", term):
        m = re.match(r"^([<>]=?|=|\^|~)?\s*(.+)$", tok)
        op, v = m.group(1) or "", parse(m.group(2))
        n = known(v)
        if op == "^":
            first = next((i for i, p in enumerate(v) if p), n - 1 if n else 0)
            out += [(">=", floor(v)), ("<", bump(v, min(first, max(n - 1, 0))))]
        elif op == "~":
            out += [(">=", floor(v)), ("<", bump(v, 1 if n >= 2 else 0))]
        elif op in ("", "=") and n < 3:
            out += [(">=", floor(v))] + ([("<", bump(v, n - 1))] if n else [])
        elif op in (">", "<=") and n < 3:
            out.append((">=" if op == ">" else "<", bump(v, n - 1)))
        else:
            out.append((op or "=", floor(v)))
    return out


def known(parts):
    """How many leading parts are numbers."""
    n = 0
    while n < 3 and parts[n] is not None:
        n += 1
    return n


OPS = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    "=": lambda a, b: a == b,
}


def satisfies(version, rng):
    return any(all(OPS[op](version, v) for op, v in comparators(alt)) for alt in rng.split("||"))


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: check_engines.py LOCKFILE NODE_VERSION\n")
        return 2
    node = floor(parse(argv[2]))
    with open(argv[1]) as f:
        lock = json.load(f)
    bad = 0
    for path, meta in sorted(lock.get("packages", {}).items()):
        rng = (meta.get("engines") or {}).get("node") if isinstance(meta.get("engines"), dict) else None
        if not path or not rng:
            continue
        name = path.rsplit("node_modules/", 1)[-1]
        try:
            ok = satisfies(node, rng)
        except ValueError as e:
            sys.stderr.write("%s %s: engines.node %r: %s\n" % (name, meta.get("version"), rng, e))
            return 2
        if not ok:
            bad += 1
            sys.stderr.write("%s %s needs Node.js %s; this machine's node is %s\n"
                             % (name, meta.get("version"), rng, argv[2]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

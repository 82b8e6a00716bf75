#!/usr/bin/env python3
"""api-doc.py - every function of the module API is documented in gale-module(3).

A module author has the installed header, the man pages and gale.pc, nothing
else: a function that gale exports but the man page does not describe is one
they find only by reading gale.h's comments, or not at all. This collects

  (a) every function declared in include/gale/gale.h whose name starts with
      gale_ (comments are left out, so a name only mentioned there, such as
      a function that no longer exists, does not count as declared);
  (b) every gale_* symbol the built daemon exports (nm -D --defined-only on
      GALE_BIN, set by `make check`, else src/gale), skipped with a note when
      nm or the binary is missing;

and fails for each one that man/gale-module.3 does not name as a whole word,
for each exported gale_* symbol that gale.h does not declare (exported by
mistake, or declared nowhere a module can see it), and for each declared one
that is not exported (a module calling it would fail to load). Prints one
line per problem and "N passed, N failed, 0 skipped" like the other tests.
"""
import os
import re
import shutil
import subprocess
import sys


def strip_comments(text):
    """C text without its comments (string literals are kept as they are)."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def declared(header):
    """Names of the gale_* functions declared in header: a name followed by
    '(' (a function pointer type, `(*gale_x_fn)(`, is followed by ')')."""
    with open(header, errors="replace") as f:
        code = strip_comments(f.read())
    code = re.sub(r"^\s*#.*$", " ", code, flags=re.M)  # macros are not functions
    return set(re.findall(r"\b(gale_\w+)\s*\(", code))


def exported(binary):
    """The gale_* symbols binary exports, or (None, why) when it cannot tell."""
    if not shutil.which("nm"):
        return None, "nm is not installed (binutils)"
    if not os.path.isfile(binary):
        return None, "%s is not built" % binary
    out = subprocess.run(["nm", "-D", "--defined-only", binary], capture_output=True, text=True)
    if out.returncode != 0:
        return None, "nm -D %s failed: %s" % (binary, out.stderr.strip())
    names = set()
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[2].startswith("gale_"):
            names.add(parts[2].split("@")[0])
    return names, None


def man_words(page):
    """The words of the man page's text, roff escapes such as \\- and \\fB
    taken out, so that `.BR gale_x ()` and `\\fBgale_x\\fR` both count."""
    with open(page, errors="replace") as f:
        text = f.read()
    text = re.sub(r"^\.\\\".*$", " ", text, flags=re.M)  # roff comments
    text = re.sub(r"\\f[BIRP]|\\f\[[A-Z]*\]|\\&|\\c", "", text)
    return set(re.findall(r"\b\w+\b", text))


def main():
    srcdir = os.environ.get("GALE_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    header = os.path.join(srcdir, "include", "gale", "gale.h")
    page = os.path.join(srcdir, "man", "gale-module.3")
    binary = os.environ.get("GALE_BIN") or os.path.join(srcdir, "src", "gale")

    api = declared(header)
    words = man_words(page)
    syms, why = exported(binary)
    if syms is None:
        print("# exported symbols not checked: %s" % why)
        syms_known = set()
    else:
        syms_known = syms
    problems = []
    checks = 0
    for name in sorted(api | syms_known):
        checks += 1
        if name not in words:
            where = "declared in include/gale/gale.h" if name in api else "exported by gale"
            problems.append("%s: %s, not described in man/gale-module.3" % (name, where))
    if syms is not None:
        for name in sorted(syms | api):
            checks += 1
            if name not in api:
                problems.append("%s: exported by %s but not declared in include/gale/gale.h "
                                "(give it hidden visibility, or declare and document it)"
                                % (name, binary))
            elif name not in syms:
                problems.append("%s: declared in include/gale/gale.h but not exported by %s: "
                                "a module that calls it fails to load" % (name, binary))

    for p in problems:
        print("not ok - " + p)
    print("# %d functions declared in gale.h, %d exported" % (len(api), len(syms_known)))
    print("%d passed, %d failed, 0 skipped" % (checks - len(problems), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

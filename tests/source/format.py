#!/usr/bin/env python3
"""format.py - every C file is laid out as the repository's .clang-format says.

Runs `clang-format --dry-run --Werror` on each .c and .h file of src/,
include/, modules/, tests/unit/, tests/modules/ and tests/fuzz/: the files
git tracks when the source folder is a git checkout, else the files found
there (a release tarball). Generated files are left out (GENERATED). Prints
"not ok - FILE: not formatted (clang-format -i FILE)" for each file that
clang-format would change, and "N passed, N failed, 0 skipped" last, like the
other tests. KNOWN lists files left unformatted for now, as layers.py
lists upward includes. A missing clang-format is a failure, not a skip: a check that
silently does nothing would let the layout drift (scripts/test installs it).

CLANG_FORMAT names another clang-format binary than the one on PATH.
"""
import concurrent.futures
import os
import shutil
import subprocess
import sys

FOLDERS = ["src", "include", "modules", "tests/unit", "tests/modules", "tests/fuzz"]
# Written by the build, not by people.
GENERATED = {"modules/chat/chat_static.h"}

# Files not formatted yet, each with why it is left: the check passes over
# them, and fails once one is formatted (take it off, so that it stays so).
KNOWN = {
}


def tracked(srcdir):
    """The .c/.h files under FOLDERS, relative to srcdir: git's list when
    srcdir is a git checkout, else what is on disk."""
    try:
        out = subprocess.run(["git", "-C", srcdir, "ls-files", "--"] + FOLDERS,
                             capture_output=True, text=True)
    except OSError:
        out = None
    if out is not None and out.returncode == 0 and out.stdout.strip():
        files = out.stdout.splitlines()
    else:
        files = []
        for top in FOLDERS:
            for root, dirs, names in os.walk(os.path.join(srcdir, top)):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                files += [os.path.relpath(os.path.join(root, n), srcdir) for n in names]
    return sorted(f for f in set(files)
                  if f.endswith((".c", ".h")) and f not in GENERATED
                  and os.path.isfile(os.path.join(srcdir, f)))


def main():
    srcdir = os.environ.get("GALE_SRCDIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    srcdir = os.path.abspath(srcdir)
    tool = os.environ.get("CLANG_FORMAT") or shutil.which("clang-format")
    if not tool or not os.access(tool, os.X_OK):
        print("not ok - clang-format is not installed: apt-get install clang-format "
              "(scripts/test installs it), or set CLANG_FORMAT")
        print("0 passed, 1 failed, 0 skipped")
        return 1
    version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.strip()
    print("# %s, style from %s" % (version, os.path.join(srcdir, ".clang-format")))

    files = tracked(srcdir)
    if not files:
        print("not ok - no .c or .h file found under %s in %s" % (", ".join(FOLDERS), srcdir))
        print("0 passed, 1 failed, 0 skipped")
        return 1
    bad = []
    known_bad = []

    def check(f):
        # cwd = srcdir, so that clang-format finds the repository's .clang-format
        return subprocess.run([tool, "--dry-run", "--Werror", f], cwd=srcdir,
                              capture_output=True, text=True)

    # one clang-format per file, as many at a time as there are CPUs
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        outs = list(pool.map(check, files))
    for f, out in zip(files, outs):
        if out.returncode == 0:
            if f in KNOWN:
                bad.append("%s is formatted now: take it off KNOWN in tests/source/format.py" % f)
            continue
        if f in KNOWN:
            known_bad.append(f)
            continue
        bad.append("%s: not formatted (clang-format -i %s)" % (f, f))
        first = next((l for l in out.stderr.splitlines() if "error:" in l), "")
        if first:
            print("# " + first)
    for f in sorted(set(KNOWN) - set(files)):
        bad.append("%s is gone: take it off KNOWN in tests/source/format.py" % f)
    for p in bad:
        print("not ok - " + p)
    for f in known_bad:
        print("# %s: not formatted, known (%s)" % (f, KNOWN[f]))
    print("%d passed, %d failed, 0 skipped" % (len(files) - len(bad), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

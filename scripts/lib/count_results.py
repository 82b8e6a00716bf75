#!/usr/bin/env python3
"""count_results.py: add up the test cases that `make check` ran.

    count_results.py DIR...          totals of every build folder:
                                     "PASSED FAILED SKIPPED" on stdout,
                                     then one line per skip, "FILE: TEST: why"
    count_results.py --progress DIR  a filter for `make check`'s output: each
                                     "PASS: tests/x" line becomes one short
                                     line with that file's counts and time

A test file's counts come from its log: CUnit's run summary for unit tests,
the closing "N passed, N failed, N skipped" line of black-box tests. A test
program that died before its summary counts as one failure; a whole file
skipped (automake's exit 77) counts as one skip, with the reason it printed.
Skips are never counted as passes: a suite that skipped its browser tests has
not shown that the browser works.
"""
import glob
import os
import re
import sys
import time

SUMMARY = re.compile(r"^(?:\w+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?", re.M)
CUNIT = re.compile(r"^\s*tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", re.M)
SKIP_TEST = re.compile(r"^ok - (\S+) # SKIP (.*)$", re.M)
SKIP_FILE = re.compile(r"^# SKIP:? (.*)$", re.M)


def count_file(trs, top="", result=None):
    """(passed, failed, skipped, [reasons]) of one test file by its .trs and
    .log; `result` stands for the .trs text when given."""
    log = trs[:-4] + ".log"
    if result is None:
        result = open(trs).read() if os.path.exists(trs) else ""
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    name = os.path.relpath(trs[:-4], top) if top else trs[:-4]
    tests = ["%s: %s: %s" % (name, t, why) for t, why in SKIP_TEST.findall(text)]
    if ":test-result: SKIP" in result:
        if tests:  # every test of the file skipped itself
            return 0, 0, len(tests), tests
        why = SKIP_FILE.findall(text)
        return 0, 0, 1, ["%s: %s" % (name, why[-1] if why else "skipped")]
    p = f = s = None
    m = CUNIT.search(text)
    if m:
        p, f, s = int(m.group(3)), int(m.group(4)), 0
    else:
        found = SUMMARY.findall(text)
        if found:
            p, f, s = (int(x or 0) for x in found[-1])
    if p is None:
        p, f, s = (1, 0, 0) if ":test-result: PASS" in result else (0, 1, 0)
    elif ":test-result: PASS" not in result and f == 0:
        f = 1  # it failed after its summary (a sanitizer report at exit, say)
    return p, f, s, tests


def totals(tops):
    passed = failed = skipped = 0
    reasons = []
    for top in tops:
        for trs in sorted(glob.glob(os.path.join(top, "tests", "**", "*.trs"), recursive=True)):
            p, f, s, why = count_file(trs, top)
            passed, failed, skipped = passed + p, failed + f, skipped + s
            reasons += why
    print(passed, failed, skipped)
    for r in reasons:
        print(r)


def progress(top):
    """Read `make check` output on stdin; print one line per finished test file."""
    line_re = re.compile(r"^(PASS|FAIL|SKIP|ERROR|XFAIL|XPASS): (\S+)")
    last = time.monotonic()
    for line in sys.stdin:
        m = line_re.match(line)
        if not m:
            continue
        now = time.monotonic()
        # automake prints the line before it writes the .trs: take the verdict from the line
        base = os.path.join(top, re.sub(r"\.py$", "", m.group(2)))
        p, f, s, _ = count_file(base + ".trs", result=":test-result: " + m.group(1))
        extra = ", %d skipped" % s if s else ""
        print("   %-5s %-36s %3d passed, %d failed%s (%.0fs)"
              % (m.group(1), m.group(2), p, f, extra, now - last), flush=True)
        last = now


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--progress":
        progress(sys.argv[2])
    elif len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        totals(sys.argv[1:])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)

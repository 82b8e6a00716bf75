#!/usr/bin/env python3
"""count_results.py DIR...: add up the test cases that `make check` ran in
each build folder: CUnit's run summary for unit tests, the closing
"N passed, N failed" line of black-box tests. A test program that died
before its summary counts as one failure. Prints "PASSED FAILED"."""
import glob
import os
import re
import sys

passed = failed = 0
for top in sys.argv[1:]:
    for trs in glob.glob(os.path.join(top, "tests", "**", "*.trs"), recursive=True):
        log = trs[:-4] + ".log"
        result = open(trs).read()
        text = open(log, errors="replace").read() if os.path.exists(log) else ""
        p = f = None
        m = re.search(r"^\s*tests\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", text, re.M)
        if m:
            p, f = int(m.group(3)), int(m.group(4))
        else:
            found = re.findall(r"^(?:\w+: )?(\d+) passed, (\d+) failed", text, re.M)
            if found:
                p, f = int(found[-1][0]), int(found[-1][1])
        if ":test-result: SKIP" in result:
            continue
        if p is None:
            p, f = (1, 0) if ":test-result: PASS" in result else (0, 1)
        elif ":test-result: PASS" not in result and f == 0:
            f = 1  # it failed after its summary (a sanitizer report at exit, say)
        passed += p
        failed += f
print(passed, failed)

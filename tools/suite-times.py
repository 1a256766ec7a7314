#!/usr/bin/env python3
"""The time of each test binary in a `cargo test` log, slowest first, and their sum.

Usage: python3 tools/suite-times.py target/tests.out

cargo prints `Running <target> (<path>)` before a binary runs and `test result: ... finished in
<seconds>s` after it; this pairs them. The times are the binaries' own run times (what libtest
measures), without compilation: `.ci/run` prints them after the test step so that the suite's
time per binary is measured on every run.
"""
import re
import sys

RUNNING = re.compile(r"^\s*Running\s+(.+?)\s+\((\S+)\)\s*$")
DOC_TESTS = re.compile(r"^\s*Doc-tests\s+(\S+)")
RESULT = re.compile(r"test result: (\w+)\. (\d+) passed; (\d+) failed; (\d+) ignored.*finished in ([\d.]+)s")


def binaries(lines):
    current = None
    for line in lines:
        m = RUNNING.match(line)
        if m:
            target, path = m.group(1), m.group(2)
            crate = path.rsplit("/", 1)[-1].rsplit("-", 1)[0]
            current = f"{crate} {target}"
            continue
        m = DOC_TESTS.match(line)
        if m:
            current = f"doc-tests {m.group(1)}"
            continue
        m = RESULT.search(line)
        if m and current:
            yield current, int(m.group(2)), int(m.group(4)), float(m.group(5))
            current = None


def main() -> int:
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        rows = sorted(binaries(f), key=lambda r: -r[3])
    total = sum(r[3] for r in rows)
    print(f"{'seconds':>8}  {'passed':>6}  {'ignored':>7}  binary")
    for name, passed, ignored, secs in rows:
        print(f"{secs:8.1f}  {passed:6}  {ignored:7}  {name}")
    print(f"{total:8.1f}  {sum(r[1] for r in rows):6}  {sum(r[2] for r in rows):7}  total over {len(rows)} binaries")
    return 0


if __name__ == "__main__":
    sys.exit(main())

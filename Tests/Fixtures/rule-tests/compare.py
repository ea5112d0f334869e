#!/usr/bin/env python3
"""Run promtool and Strata on every *.test.yml in this directory and compare.

Usage: compare.py [--promtool PATH] [--strata PATH] [CASE ...]

For each case prints promtool's exit status, Strata's exit status and whether
the combined stdout+stderr texts are identical; a unified diff is printed when
they differ.  Both tools run with this directory as the working directory and
the test file's base name as argument, so file names in messages match.
Exit status: 0 if every case matches (same status, same text), 1 otherwise.
"""
import argparse
import difflib
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd, cwd):
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
    except subprocess.TimeoutExpired:
        return None, "<timeout>\n"
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    return p.returncode, "--- stdout ---\n" + out + "--- stderr ---\n" + err


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--promtool", default=os.environ.get("PROMTOOL", "/usr/bin/promtool"))
    ap.add_argument("--strata", default=os.environ.get("STRATA", os.path.join(HERE, "../../../.build/debug/strata")))
    ap.add_argument("-q", "--quiet", action="store_true", help="no diffs")
    ap.add_argument("cases", nargs="*")
    a = ap.parse_args()

    if a.cases:
        files = [c if c.endswith(".test.yml") else c + ".test.yml" for c in a.cases]
    else:
        files = sorted(os.path.basename(f) for f in glob.glob(os.path.join(HERE, "*.test.yml")))

    mismatches = 0
    for f in files:
        name = f[:-len(".test.yml")]
        prc, ptxt = run([a.promtool, "test", "rules", f], HERE)
        src, stxt = run([a.strata, "test", "rules", f], HERE)
        same = prc == src and ptxt == stxt
        if not same:
            mismatches += 1
        print(f"{name:45s} promtool={prc} strata={src} {'identical' if ptxt == stxt else 'DIFFERENT'}"
              + ("" if prc == src else " STATUS-MISMATCH"))
        if ptxt != stxt and not a.quiet:
            for line in difflib.unified_diff(ptxt.splitlines(True), stxt.splitlines(True),
                                             "promtool", "strata"):
                sys.stdout.write("    " + line if line.endswith("\n") else "    " + line + "\n")
    print(f"\n{len(files)} cases, {mismatches} mismatching")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())

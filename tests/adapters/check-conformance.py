#!/usr/bin/env python3
"""Runs each adapter over its conformance corpus and compares field by field.

tests/adapters/conformance/<format>/ holds public samples (their origin and
licence in SOURCES) and, beside each sample S, S.expected.json:

    {"args": ["--timezone", "Europe/Amsterdam"],          # adapter options
     "records": [{...every field of each record...}],     # in input order
     "refused": [{"record": 2, "reason": "...", "hint": "..."}]}

The adapter runs with --dry-run in the corpus directory (so reasons name the
sample by its file name) and the corpus's registries. Every record must
equal its expected record field by field (numbers to 1e-9), every refusal
must match, and the adapter must exit 0 or 1 (never crash). A record whose
time_source is "reception" has "date_observed": "reception" in the expected
file: its time must fall within the run, and its id end in that time.

Usage: check-conformance.py BUILD_DIR CONFORMANCE_DIR [--write]
  --write  (re)writes the expected files from the adapters' output; review
           every change against the sample's own documented values first.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

FORMATS = {
    "wmbus": ("adapters/water/sluice-water-adapter", ["--meters", "meters.csv"]),
    "dsmr": ("adapters/power/sluice-power-adapter", ["--meters", "meters.csv"]),
    "hl7": ("adapters/health/sluice-health-adapter", []),
    "apds": ("adapters/parking/sluice-parking-adapter", ["--plates", "plates.csv", "--places", "places.csv"]),
}
SKIP = {"SOURCES", "meters.csv", "plates.csv", "places.csv"}


def run(build, fmt, d, sample, args):
    prog, reg = FORMATS[fmt]
    with tempfile.TemporaryDirectory() as tmp:
        q = os.path.join(tmp, "q.jsonl")
        t0 = int(time.time())
        p = subprocess.run([os.path.join(build, prog), "--dry-run", "--quiet", "--quarantine", q] + reg + args
                           + [sample], cwd=d, capture_output=True, text=True, timeout=60)
        t1 = int(time.time()) + 1
        records = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        refused = []
        if os.path.exists(q):
            for l in open(q):
                e = json.loads(l)
                r = {"record": e["record"], "reason": e["reason"]}
                if "hint" in e:
                    r["hint"] = e["hint"]
                refused.append(r)
    return p.returncode, records, refused, (t0, t1), p.stderr


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            return False
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


def main():
    build, root = os.path.abspath(sys.argv[1]), sys.argv[2]
    write = "--write" in sys.argv[3:]
    bad = 0
    for fmt in sorted(FORMATS):
        d = os.path.join(root, fmt)
        if not os.path.isdir(d):
            continue
        acc = ref = n = 0
        for sample in sorted(os.listdir(d)):
            if sample in SKIP or sample.endswith(".expected.json"):
                continue
            n += 1
            exp_path = os.path.join(d, sample + ".expected.json")
            exp = json.load(open(exp_path)) if os.path.exists(exp_path) else {"args": []}
            rc, records, refused, (t0, t1), err = run(build, fmt, d, sample, exp.get("args", []))
            where = "%s/%s" % (fmt, sample)
            if rc not in (0, 1):
                print("FAIL %s: the adapter exited %d (crash or could not run):\n%s" % (where, rc, err))
                bad += 1
                continue
            for r in records:
                if r.get("time_source") == "reception":
                    if not t0 <= r["date_observed"] <= t1 or not r["id"].endswith(":%d" % r["date_observed"]):
                        print("FAIL %s: reception time %r outside the run" % (where, r["date_observed"]))
                        bad += 1
                    r["date_observed"] = "reception"
                    r["id"] = r["id"].rsplit(":", 1)[0] + ":reception"
            acc += len(records)
            ref += len(refused)
            if write:
                out = {"args": exp.get("args", []), "records": records, "refused": refused}
                with open(exp_path, "w") as f:
                    json.dump(out, f, indent=1, ensure_ascii=False)
                    f.write("\n")
                continue
            if "records" not in exp:
                print("FAIL %s: no expected file %s" % (where, exp_path))
                bad += 1
                continue
            if len(records) != len(exp["records"]):
                print("FAIL %s: %d records, expected %d" % (where, len(records), len(exp["records"])))
                bad += 1
            for i, (got, want) in enumerate(zip(records, exp["records"])):
                for k in sorted(set(got) | set(want)):
                    if k not in want or k not in got or not same(got[k], want[k]):
                        print("FAIL %s: record %d: field %s: got %r, expected %r"
                              % (where, i + 1, k, got.get(k, "(absent)"), want.get(k, "(absent)")))
                        bad += 1
            if refused != exp.get("refused", []):
                print("FAIL %s: refusals differ:\n  got      %r\n  expected %r" % (where, refused, exp.get("refused", [])))
                bad += 1
        print("%s: %d samples, %d records accepted, %d refused as expected" % (fmt, n, acc, ref)
              if not write else "%s: wrote %d expected files" % (fmt, n))
    if bad:
        print("%d mismatches" % bad)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

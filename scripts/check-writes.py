#!/usr/bin/env python3
"""Who may hold the broker's write transaction (broker/sl_commit.h note 1).

Fails when
  - an admin handler (broker/sl_admin*.c) includes sl_broker.h,
    sl_broker_int.h or sl_commit_int.h, or calls sl_broker_* or sl_batch_*:
    handlers get an sl_admin_ctx_t and write through sl_commit (sl_admin.h);
  - a file not listed below calls sl_batch_txn (the raw write transaction);
  - governance (broker/sl_govern*.c) commits, aborts or counts the batch
    itself (sl_batch_commit / _abort / _note): it writes through
    sl_commit_admin and registers listeners only.

KNOWN lists the files outside the commit pipeline that still take the
transaction; shrinking it is the way forward, growing it needs a reason.

usage: check-writes.py SOURCE_ROOT
"""
import glob
import os
import re
import sys

PIPELINE = {"broker/sl_batch.c", "broker/sl_batch.h", "broker/sl_commit.c"}
KNOWN = {
    "broker/sluiced.c": "`sluiced init` writes the first members before any broker runs",
}
ADMIN_BAD = re.compile(r'#include\s+"(sl_broker\.h|sl_broker_int\.h|sl_commit_int\.h)"'
                       r'|\bsl_broker_[a-z_]+\s*\(|\bsl_batch_[a-z_]+\s*\(')
TXN = re.compile(r"\bsl_batch_txn\s*\(")
GOVERN_BAD = re.compile(r"\bsl_batch_(commit|abort|note|sync)\s*\(")


def main(root):
    bad = []
    for path in sorted(glob.glob(os.path.join(root, "broker", "**", "*.[ch]"), recursive=True)):
        rel = os.path.relpath(path, root)
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.readlines()
        admin = os.path.basename(rel).startswith("sl_admin")
        govern = os.path.basename(rel).startswith("sl_govern")
        for n, line in enumerate(lines, 1):
            code = line.split("//")[0]
            if code.lstrip().startswith(("*", "/*")):
                continue
            if admin and ADMIN_BAD.search(code):
                bad.append(f"{rel}:{n}: admin handler reaches past its context: {line.strip()}")
            if govern and GOVERN_BAD.search(code):
                bad.append(f"{rel}:{n}: governance handles the batch itself: {line.strip()}")
            if TXN.search(code) and rel not in PIPELINE and rel not in KNOWN:
                bad.append(f"{rel}:{n}: takes the write transaction: {line.strip()}")
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))

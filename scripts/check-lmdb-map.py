#!/usr/bin/env python3
"""One mapping from LMDB return codes to SL_* (common/sl_lmdb.c, sl_lmdb_rc).

Fails when a source file outside common/sl_lmdb.c maps an LMDB code itself:
a `case MDB_...:` label, or a line that turns an MDB_* code into an SL_E*
code without calling sl_lmdb_rc (e.g. `rc == MDB_NOTFOUND ? SL_ENOTFOUND :
SL_ESTORE`). A line may override one code for its own meaning as long as it
hands the rest to sl_lmdb_rc (`rc == MDB_KEYEXIST ? SL_ECORRUPT :
sl_lmdb_rc (rc)`).

usage: check-lmdb-map.py SOURCE_ROOT
"""
import os
import re
import sys

DIRS = ("broker", "cli", "console", "common", "adapters", "policy", "gateway")
HOME = os.path.join("common", "sl_lmdb.c")
CASE = re.compile(r"\bcase\s+MDB_[A-Z_]+\s*:")
MDB = re.compile(r"\bMDB_(NOTFOUND|MAP_FULL|TXN_FULL|KEYEXIST|CORRUPTED|PANIC|BAD_TXN)\b")
SLE = re.compile(r"\bSL_E[A-Z]+\b")


def main(root):
    bad = []
    for d in DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in files:
                if not f.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                if rel == HOME:
                    continue
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for n, line in enumerate(fh, 1):
                        code = line.split("//")[0]
                        if code.lstrip().startswith(("*", "/*")):
                            continue
                        if CASE.search(code) or (MDB.search(code) and SLE.search(code)
                                                 and "sl_lmdb_rc" not in code):
                            bad.append(f"{rel}:{n}: {line.strip()}")
    for b in bad:
        print(b)
    if bad:
        print(f"{len(bad)} LMDB error mapping(s) outside {HOME}: use sl_lmdb_rc", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))

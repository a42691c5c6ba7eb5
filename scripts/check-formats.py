#!/usr/bin/env python3
"""One owner per stored format (docs/CONVENTIONS.md, "Stored formats").

Each LMDB database of a data directory is opened, read and written by the
module that owns its byte layout; everything else (sluicectl's offline
paths, the metrics sampler, the admin handlers) goes through that module's
functions. This check fails when a source file outside the owner names one
of the databases as a string literal (which is how a database is opened).

KNOWN lists the exceptions still waiting, each with its reason. Test
suites (tests/) are verifiers of the formats and are not checked.

usage: check-formats.py SOURCE_ROOT
"""
import os
import re
import sys

OWNERS = {
    "broker.members": ("broker/sl_store.c", "broker/sl_registry.c"),
    "broker.subs": ("broker/sl_store.c",),
    "broker.queue": ("broker/sl_store.c",),
    "broker.msgids": ("broker/sl_store.c",),
    "broker.meta": ("broker/sl_store.c",),
    "policy.versions": ("broker/sl_policy_store.c",),
    "policy.current": ("broker/sl_policy_store.c",),
    "schema.versions": ("broker/sl_schema_store.c",),
    "schema.current": ("broker/sl_schema_store.c",),
    "consent.records": ("broker/consent/sl_consent.c",),
    "consent.events": ("broker/consent/sl_consent.c",),
    "consent.index": ("broker/consent/sl_consent.c",),
    "consent.ends": ("broker/consent/sl_consent.c",),
    "audit.log": ("broker/audit/sl_audit_int.h",),
    "audit.checkpoints": ("broker/audit/sl_audit_int.h",),
    "audit.meta": ("broker/audit/sl_audit_int.h",),
    "spool.records": ("adapters/sdk/sl_spool.c",),
}
KNOWN = {
    ("bench/audit/bench_audit.c", "audit.log"):
        "the audit benchmark counts entries with a raw cursor; the audit library "
        "has no count function yet",
}
DIRS = ("broker", "cli", "console", "common", "adapters", "policy", "gateway", "bench")
LIT = re.compile(r'"([a-z]+\.[a-z_]+)"')


def main(root):
    bad = []
    for d in DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, d)):
            for f in sorted(files):
                if not f.endswith((".c", ".h")):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as fh:
                    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"),
                                  fh.read(), flags=re.S)
                for n, line in enumerate(text.split("\n"), 1):
                    for name in LIT.findall(line):
                        if name in OWNERS and rel not in OWNERS[name] \
                                and (rel, name) not in KNOWN:
                            bad.append(f"{rel}:{n}: names {name}, owned by "
                                       f"{' / '.join(OWNERS[name])}: {line.strip()}")
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))

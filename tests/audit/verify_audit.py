#!/usr/bin/env python3
"""verify_audit.py - an independent verifier of a sluice audit log.

Written from docs/AUDIT.md alone, with the Python standard library
(hashlib.blake2b) and, for Ed25519 signatures, python3-nacl when present
(without it, signatures are reported as unchecked).

    verify_audit.py --data DIR [--pubkey HEX | --pubkey-file FILE]
                    [--segment FILE ...] [--trust-start]
    verify_audit.py --export FILE.jsonl [--pubkey HEX | --pubkey-file FILE]

--data reads the live log of a (copied) data directory with `mdb_dump`
(lmdb-utils) in its hex format. --export reads `sluicectl audit export`
output: JSON lines of entries and checkpoints, each carrying its raw bytes.

Prints "ok entries=N checkpoints=M segments=S" and exits 0, or
"FAIL seq=N verdict=V: message" and exits 1. Usage errors exit 2.
"""
import argparse
import hashlib
import json
import os
import re
import struct
import subprocess
import sys

try:
    import nacl.signing
    import nacl.exceptions
    HAVE_NACL = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_NACL = False

ZERO = bytes(32)
CP_CONTEXT = b"sluice.audit.checkpoint.v1"
SEG_CONTEXT = b"sluice.audit.segment.v1"
NFIELDS = 13


class Bad(Exception):
    def __init__(self, seq, verdict, message):
        super().__init__(message)
        self.seq, self.verdict, self.message = seq, verdict, message


def h(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def decode(raw):
    """Entry bytes -> dict, or None if they do not follow the format."""
    if len(raw) < 49 + 2 * NFIELDS or raw[0] != 1:
        return None
    seq, time_us = struct.unpack_from("<Qq", raw, 1)
    prev = raw[17:49]
    fields, p = [], 49
    for _ in range(NFIELDS):
        if len(raw) - p < 2:
            return None
        (n,) = struct.unpack_from("<H", raw, p)
        p += 2
        if len(raw) - p < n:
            return None
        fields.append(raw[p:p + n])
        p += n
    if p != len(raw) or len(fields[0]) == 0:
        return None
    if len(fields[5]) not in (0, 16) or len(fields[6]) not in (0, 32):
        return None
    if not kind_shape_ok(fields):
        return None
    return {"seq": seq, "time_us": time_us, "prev": prev, "fields": fields}


FILTERED_DETAIL = re.compile(rb"rows=[1-9][0-9]* stage=(publish|reply)\Z")
LOOKUP_DETAIL = re.compile(rb"command=[a-z.]+ role=\S+\Z")


def kind_shape_ok(fields):
    """The kinds whose fields docs/AUDIT.md 6 fixes to the byte:
    `filtered` (rows a row condition left out, one entry per batch) and
    `lookup` (a person looked up by an administrator or auditor)."""
    kind, actor, counterpart, owner, rtype, msgid, subject = fields[:7]
    decision, reason, detail = fields[8], fields[11], fields[12]
    if kind == b"filtered":
        return (decision == b"filtered" and reason == b"condition-false"
                and len(msgid) == 0 and len(subject) == 0 and len(actor) > 0
                and actor == owner and len(counterpart) > 0 and len(rtype) > 0
                and FILTERED_DETAIL.match(detail) is not None)
    if kind == b"lookup":
        return (decision == b"ok" and len(actor) > 0 and len(subject) == 32
                and LOOKUP_DETAIL.match(detail) is not None)
    return True


class Verifier:
    def __init__(self, pubkey):
        self.pk = pubkey
        self.entries = self.checkpoints = self.segments = 0
        self.unchecked_signatures = 0
        self.published = None          # (seq, hash) published elsewhere (AUDIT.md 8.1)
        self.published_seen = False
        self.last = 0

    def note(self, seq, entry_hash):
        """Every entry walked: the one a published checkpoint names must match."""
        self.last = seq
        if self.published and self.published[0] == seq:
            self.published_seen = True
            if entry_hash != self.published[1]:
                raise Bad(seq, "hash", "entry %d differs from the published checkpoint" % seq)

    def published_done(self):
        if self.published and not self.published_seen:
            if self.published[0] > self.last:
                raise Bad(self.last + 1, "truncated", "entries from %d are missing: a published "
                          "checkpoint covers %d" % (self.last + 1, self.published[0]))
            raise Bad(self.published[0], "start", "the published entry %d is archived: give its "
                      "segment" % self.published[0])

    def signature_ok(self, sig, msg):
        if not HAVE_NACL:
            self.unchecked_signatures += 1
            return True
        try:
            nacl.signing.VerifyKey(self.pk).verify(msg, sig)
            return True
        except nacl.exceptions.BadSignatureError:
            return False

    # -- checkpoints ----------------------------------------------------
    def check_cp(self, key_seq, raw, entry_hash, missing_at=None):
        if len(raw) != 113 or raw[0] != 1 or struct.unpack_from("<Q", raw, 1)[0] != key_seq:
            raise Bad(key_seq, "checkpoint-mismatch",
                      "checkpoint %d is malformed or under the wrong key" % key_seq)
        if not self.signature_ok(raw[49:113], CP_CONTEXT + raw[0:49]):
            raise Bad(key_seq, "checkpoint-signature",
                      "checkpoint %d signature does not verify" % key_seq)
        if entry_hash is None:
            if missing_at is not None:
                raise Bad(missing_at, "truncated",
                          "entries from %d are missing: checkpoint %d covers them"
                          % (missing_at, key_seq))
            raise Bad(key_seq, "checkpoint-mismatch",
                      "checkpoint %d names an entry not in the log" % key_seq)
        if raw[17:49] != entry_hash:
            raise Bad(key_seq, "hash", "entry %d differs from its checkpoint" % key_seq)
        self.checkpoints += 1

    # -- segments -------------------------------------------------------
    def check_segment(self, path, seq, prev):
        with open(path, "rb") as f:
            d = f.read()
        if len(d) < 57 + 120 or d[0:8] != b"SLAUDSEG" or d[8] != 1:
            raise Bad(seq, "segment", "%s: not a version 1 segment" % path)
        first, last = struct.unpack_from("<QQ", d, 9)
        if first != seq:
            raise Bad(seq, "segment", "%s: starts at %d, expected %d" % (path, first, seq))
        if d[25:57] != prev:
            raise Bad(seq, "segment", "%s: does not join the chain before it" % path)
        tr = len(d) - 120
        p = 57
        records = []
        while p < tr:
            if tr - p < 4:
                raise Bad(seq, "segment", "%s: truncated record" % path)
            (n,) = struct.unpack_from("<I", d, p)
            if tr - p - 4 < n:
                raise Bad(seq, "segment", "%s: truncated record" % path)
            records.append(d[p + 4:p + 4 + n])
            p += 4 + n
        for i, raw in enumerate(records):
            e = decode(raw)
            if e is None:
                raise Bad(seq, "malformed", "%s: entry %d does not decode" % (path, seq))
            if e["seq"] != seq:
                raise Bad(seq, "seq", "%s: entry %d holds seq %d" % (path, seq, e["seq"]))
            hh = h(raw)
            if e["prev"] != prev:
                nxt = records[i + 1][17:49] if i + 1 < len(records) else d[tr + 24:tr + 56]
                if seq > first and nxt == hh:
                    raise Bad(seq - 1, "hash", "%s: entry %d was changed" % (path, seq - 1))
                raise Bad(seq, "link", "%s: entry %d does not link" % (path, seq))
            self.note(seq, hh)
            prev = hh
            seq += 1
            self.entries += 1
        t = d[tr:]
        count = struct.unpack_from("<Q", t, 8)[0]
        if t[0:8] != b"SLAUDEND" or count != last - first + 1 or seq != last + 1:
            raise Bad(seq, "segment", "%s: trailer does not match the entries" % path)
        if t[24:56] != prev:
            raise Bad(last, "segment", "%s: trailer hash differs from entry %d" % (path, last))
        if not self.signature_ok(t[56:120], SEG_CONTEXT + d[0:57] + t[0:56]):
            raise Bad(last, "segment", "%s: trailer signature does not verify" % path)
        self.segments += 1
        return seq, prev

    # -- the live log ----------------------------------------------------
    def check_live(self, log, cps, meta, seq, prev, have_segments, trust_start):
        """log, cps: sorted lists of (seq, bytes); meta: dict name -> bytes."""
        start = meta.get(b"start")
        head = meta.get(b"head")
        if start is None:
            if log or head is not None:
                raise Bad(1, "start", "entries exist but there is no start record")
            if cps:
                raise Bad(seq, "truncated", "checkpoints exist but no entries")
            if have_segments:
                raise Bad(seq, "start", "segments given but the live log is empty")
            return
        start_seq = struct.unpack_from("<Q", start, 0)[0]
        start_prev = start[8:40]
        if have_segments or start_seq == 1:
            if start_seq != seq or start_prev != prev:
                raise Bad(min(seq, start_seq), "start", "the live log does not join the chain")
        elif not trust_start:
            raise Bad(1, "start", "entries 1..%d were archived: give the segments" % (start_seq - 1))
        else:
            seq, prev = start_seq, start_prev
        by_seq = dict(log)
        ci = 0
        last = 0
        for key_seq, raw in log:
            while ci < len(cps) and cps[ci][0] < key_seq:
                if cps[ci][0] >= seq:
                    break
                self.check_cp(cps[ci][0], cps[ci][1], None)
            if key_seq < seq:
                raise Bad(key_seq, "start", "entry %d lies before the start" % key_seq)
            if key_seq > seq:
                raise Bad(seq, "gap", "entry %d is missing" % seq)
            e = decode(raw)
            if e is None:
                raise Bad(seq, "malformed", "entry %d does not decode" % seq)
            if e["seq"] != seq:
                raise Bad(seq, "seq", "entry stored as %d holds seq %d" % (seq, e["seq"]))
            hh = h(raw)
            if e["prev"] != prev:
                nxt = None
                if seq + 1 in by_seq and len(by_seq[seq + 1]) >= 49:
                    nxt = by_seq[seq + 1][17:49]
                elif head is not None and struct.unpack_from("<Q", head, 0)[0] == seq:
                    nxt = head[8:40]
                if seq > start_seq and nxt == hh:
                    raise Bad(seq - 1, "hash", "entry %d was changed" % (seq - 1))
                raise Bad(seq, "link", "entry %d does not link to the one before" % seq)
            while ci < len(cps) and cps[ci][0] == seq:
                self.check_cp(seq, cps[ci][1], hh)
                ci += 1
            self.note(seq, hh)
            prev = hh
            last = seq
            seq += 1
            self.entries += 1
        if ci < len(cps):
            self.check_cp(cps[ci][0], cps[ci][1], None, missing_at=seq)
        if head is None:
            raise Bad(seq, "truncated", "the head record is missing")
        head_seq = struct.unpack_from("<Q", head, 0)[0]
        if head_seq > last:
            raise Bad(seq, "truncated", "entries %d..%d are missing at the end" % (seq, head_seq))
        if head_seq < last:
            raise Bad(head_seq + 1, "seq", "entry %d lies past the head" % (head_seq + 1))
        if head[8:40] != prev:
            raise Bad(last, "hash", "entry %d differs from the head record" % last)


def mdb_dump(data_dir, name):
    """Pairs (key bytes, value bytes) of one named database, via mdb_dump's
    hex format (its -p format does not escape '\\' and is ambiguous)."""
    out = subprocess.run(["mdb_dump", "-s", name, data_dir], capture_output=True, text=True)
    if out.returncode != 0:
        if "MDB_NOTFOUND" in out.stderr:
            return []
        raise SystemExit("verify_audit: mdb_dump %s: %s" % (name, out.stderr.strip()))
    lines = out.stdout.split("\n")
    i = lines.index("HEADER=END") + 1
    pairs = []
    while lines[i] != "DATA=END":
        pairs.append((bytes.fromhex(lines[i][1:]), bytes.fromhex(lines[i + 1][1:])))
        i += 2
    return pairs


def be_seq(key):
    return struct.unpack(">Q", key)[0] if len(key) == 8 else -1


def verify_data(v, args):
    seq, prev = 1, ZERO
    segs = []
    for path in args.segment or []:
        with open(path, "rb") as f:
            head = f.read(57)
        segs.append((struct.unpack_from("<Q", head, 9)[0] if len(head) >= 17 else 0, path))
    for _, path in sorted(segs):
        seq, prev = v.check_segment(path, seq, prev)
    log = [(be_seq(k), val) for k, val in mdb_dump(args.data, "audit.log")]
    for k, _ in log:
        if k < 0:
            raise Bad(seq, "malformed", "a key in audit.log is not 8 bytes")
    cps = [(be_seq(k), val) for k, val in mdb_dump(args.data, "audit.checkpoints")]
    meta = dict(mdb_dump(args.data, "audit.meta"))
    v.check_live(log, cps, meta, seq, prev, bool(segs), args.trust_start)


def verify_export(v, path):
    """An export holds a contiguous range of entries (raw bytes) and the
    checkpoints that cover it; its first entry's link can only be checked
    against the entries before it, which are not in the export."""
    entries, cps = [], []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                o = json.loads(line)
                raw = bytes.fromhex(o["raw"])
            except (ValueError, KeyError) as exc:
                raise SystemExit("verify_audit: %s:%d: not an export line (%s)" % (path, n, exc))
            (entries if o.get("type") == "entry" else cps).append((o.get("seq"), raw))
    if not entries:
        return
    prev = None
    seq = entries[0][0]
    hashes = {}
    for i, (s, raw) in enumerate(entries):
        e = decode(raw)
        if e is None:
            raise Bad(s, "malformed", "entry %s does not decode" % s)
        if e["seq"] != seq or s != seq:
            raise Bad(seq, "gap" if e["seq"] > seq else "seq", "expected entry %d" % seq)
        hh = h(raw)
        if prev is not None and e["prev"] != prev:
            nxt = entries[i + 1][1][17:49] if i + 1 < len(entries) else None
            if nxt == hh:
                raise Bad(seq - 1, "hash", "entry %d was changed" % (seq - 1))
            raise Bad(seq, "link", "entry %d does not link" % seq)
        hashes[seq] = hh
        v.note(seq, hh)
        prev = hh
        seq += 1
        v.entries += 1
    for s, raw in cps:
        if s in hashes:
            v.check_cp(s, raw, hashes[s])


def published(v, arg):
    """(seq, hash) of a published checkpoint: a file in the AUDIT.md 5 text
    form (its signature checked when present) or SEQ:HASH."""
    if os.path.isfile(arg):
        with open(arg) as f:
            kv = dict(line.strip().split(" ", 1) for line in f if " " in line.strip())
        try:
            seq, hh = int(kv["seq"]), bytes.fromhex(kv["hash"])
        except (KeyError, ValueError):
            raise SystemExit("verify_audit: %s: not a published checkpoint" % arg)
        if "signature" in kv and "time-us" in kv:
            signed = struct.pack("<BQq", 1, seq, int(kv["time-us"])) + hh
            if not v.signature_ok(bytes.fromhex(kv["signature"]), CP_CONTEXT + signed):
                raise Bad(seq, "checkpoint-signature",
                          "the published checkpoint %d is not signed by this key" % seq)
    else:
        try:
            s, _, hx = arg.partition(":")
            seq, hh = int(s), bytes.fromhex(hx)
        except ValueError:
            raise SystemExit("verify_audit: --published %s: expected SEQ:HASH" % arg)
    if len(hh) != 32 or seq < 1:
        raise SystemExit("verify_audit: --published %s: expected SEQ:HASH" % arg)
    return seq, hh


def main():
    ap = argparse.ArgumentParser(description="verify a sluice audit log (docs/AUDIT.md)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="data directory (read with mdb_dump)")
    src.add_argument("--export", help="JSON lines export file")
    ap.add_argument("--pubkey", help="audit public key, 64 hex digits")
    ap.add_argument("--pubkey-file", help="audit-sign.pub")
    ap.add_argument("--segment", action="append", help="archive segment file (repeatable)")
    ap.add_argument("--trust-start", action="store_true",
                    help="accept a live log that starts after archived entries without segments")
    ap.add_argument("--published", help="a checkpoint published elsewhere: the text of "
                    "`sluicectl audit checkpoint` in a file, or SEQ:HASH (AUDIT.md 8.1)")
    args = ap.parse_args()
    hexkey = args.pubkey
    if args.pubkey_file:
        with open(args.pubkey_file) as f:
            for line in f:
                name, _, value = line.partition("=")
                if name.strip() == "public-key":
                    hexkey = value.strip()
    if not hexkey:
        ap.error("give --pubkey or --pubkey-file")
    try:
        pk = bytes.fromhex(hexkey)
        assert len(pk) == 32
    except (ValueError, AssertionError):
        ap.error("the public key must be 64 hex digits")
    v = Verifier(pk)
    try:
        if args.published:
            v.published = published(v, args.published)
        if args.data:
            if not os.path.isdir(args.data):
                ap.error("%s: not a directory" % args.data)
            verify_data(v, args)
        else:
            verify_export(v, args.export)
        v.published_done()
    except Bad as b:
        print("FAIL seq=%d verdict=%s: %s" % (b.seq, b.verdict, b.message))
        return 1
    print("ok entries=%d checkpoints=%d segments=%d%s" % (
        v.entries, v.checkpoints, v.segments,
        "" if HAVE_NACL else " (signatures NOT checked: python3-nacl missing)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

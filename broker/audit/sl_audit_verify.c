/*  sl_audit_verify — walks archive segments, the live log and its
 *  checkpoints, and names the first bad sequence number (docs/AUDIT.md §8).
 *  One cursor per database, each value hashed once, nothing allocated per
 *  entry.
 */
#include "sl_audit_int.h"
#include "sl_error.h"

#include <cjson/cJSON.h>

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/*  Verify                                                                  */

const char *sl_audit_verdict_str (sl_audit_verdict_t v)
{
    switch (v) {
        case SL_AUDIT_V_OK:            return "ok";
        case SL_AUDIT_V_MALFORMED:     return "malformed";
        case SL_AUDIT_V_HASH:          return "hash";
        case SL_AUDIT_V_LINK:          return "link";
        case SL_AUDIT_V_SEQ:           return "seq";
        case SL_AUDIT_V_GAP:           return "gap";
        case SL_AUDIT_V_TRUNCATED:     return "truncated";
        case SL_AUDIT_V_CP_SIGNATURE:  return "checkpoint-signature";
        case SL_AUDIT_V_CP_MISMATCH:   return "checkpoint-mismatch";
        case SL_AUDIT_V_SEGMENT:       return "segment";
        case SL_AUDIT_V_START:         return "start";
    }
    return "unknown";
}

typedef struct {
    const uint8_t        *pk;
    sl_audit_report_t    *r;
    sl_audit_progress_fn *progress;
    void                 *progress_arg;
    uint64_t              total;
    const sl_audit_verify_opts_t *o;
    int                   published_seen;
} s_vctx_t;

static int s_fail (sl_audit_report_t *r, sl_audit_verdict_t v, uint64_t seq,
                   const char *fmt, ...)
{
    r->verdict = v;
    r->bad_seq = seq;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (r->message, sizeof r->message, fmt, ap);
    va_end (ap);
    return SL_ECORRUPT;
}

/*  Entry `seq` hashes to `hash`: if a published checkpoint names it, the
 *  two must agree (AUDIT.md 8.1). */
static int s_published (s_vctx_t *v, uint64_t seq, const uint8_t *hash)
{
    if (!v->o || !v->o->published || v->o->published_seq != seq)
        return SL_OK;
    v->published_seen = 1;
    if (memcmp (hash, v->o->published_hash, SL_AUDIT_HASH_LEN) == 0)
        return SL_OK;
    return s_fail (v->r, SL_AUDIT_V_HASH, seq, "entry %" PRIu64 " differs from the published "
                   "checkpoint: the log was rewritten at or before %" PRIu64, seq, seq);
}

static int s_progress (s_vctx_t *v)
{
    if (v->progress && (v->r->entries & 0xFFFF) == 0
    &&  v->progress (v->progress_arg, v->r->entries, v->total))
        return SL_ECLOSED;
    return SL_OK;
}

typedef struct {
    const char *path;
    uint8_t    *data;
    size_t      size;
    uint64_t    first, last;
} s_segment_t;

static int s_seg_cmp (const void *a, const void *b)
{
    const s_segment_t *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int s_cp_check (const uint8_t *pk, const uint8_t *cp)
{
    uint8_t msg[CP_MSG_LEN];
    sl_audit__cp_message (cp, msg);
    return crypto_sign_verify_detached (cp + CP_SIGNED_LEN, msg, sizeof msg, pk);
}

static int s_seg_sig_check (const uint8_t *pk, const uint8_t *header, const uint8_t *trailer)
{
    uint8_t msg[SEG_MSG_LEN];
    sl_audit__seg_message (header, trailer, msg);
    return crypto_sign_verify_detached (trailer + SEG_TRAILER_SIGNED, msg, sizeof msg, pk);
}

/*  Checks one segment that must start at `*seq` after `prev`; advances both. */
static int s_verify_segment (s_vctx_t *v, const s_segment_t *seg, uint64_t *seq,
                             uint8_t prev[SL_AUDIT_HASH_LEN])
{
    sl_audit_report_t *r = v->r;
    const uint8_t *d = seg->data, *end = d + seg->size;
    if (seg->size < SEG_HEADER_LEN + SEG_TRAILER_LEN || memcmp (d, SEG_MAGIC, 8) || d[8] != SEG_VERSION)
        return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: not a version 1 audit segment", seg->path);
    if (seg->first != *seq)
        return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: starts at %" PRIu64 ", expected %" PRIu64
                       " (a segment is missing)", seg->path, seg->first, *seq);
    if (seg->last < seg->first)
        return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: last seq before first", seg->path);
    if (memcmp (d + 25, prev, SL_AUDIT_HASH_LEN))
        return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: previous hash does not join the "
                       "segment before it", seg->path);
    const uint8_t *p = d + SEG_HEADER_LEN, *trailer = end - SEG_TRAILER_LEN;
    while (p < trailer) {
        if (trailer - p < 4)
            return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: truncated record", seg->path);
        uint32_t len = (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
                     | (uint32_t) p[3] << 24;
        p += 4;
        if ((size_t) (trailer - p) < len)
            return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: truncated record", seg->path);
        sl_audit_entry_t e;
        if (sl_audit_decode (p, len, &e))
            return s_fail (r, SL_AUDIT_V_MALFORMED, *seq, "%s: entry %" PRIu64 " does not decode",
                           seg->path, *seq);
        if (e.seq != *seq)
            return s_fail (r, SL_AUDIT_V_SEQ, *seq, "%s: entry %" PRIu64 " holds seq %" PRIu64,
                           seg->path, *seq, e.seq);
        uint8_t hash[SL_AUDIT_HASH_LEN];
        sl_audit__hash (p, len, hash);
        if (memcmp (e.prev_hash, prev, SL_AUDIT_HASH_LEN)) {
            /* as in the live log: changed entry before, or changed link here */
            const uint8_t *np = p + len, *next_prev = NULL;
            if (trailer - np >= 4 + ENTRY_FIXED)
                next_prev = np + 4 + 17;
            else if (np == trailer)
                next_prev = trailer + 24;
            if (*seq > seg->first && next_prev && memcmp (next_prev, hash, SL_AUDIT_HASH_LEN) == 0)
                return s_fail (r, SL_AUDIT_V_HASH, *seq - 1, "%s: entry %" PRIu64 " was changed: "
                               "its hash differs from the one entry %" PRIu64 " records",
                               seg->path, *seq - 1, *seq);
            return s_fail (r, SL_AUDIT_V_LINK, *seq, "%s: entry %" PRIu64 " does not link to the "
                           "one before it", seg->path, *seq);
        }
        int prc = s_published (v, *seq, hash);
        if (prc != SL_OK)
            return prc;
        memcpy (prev, hash, SL_AUDIT_HASH_LEN);
        p += len;
        (*seq)++;
        r->entries++;
        if (s_progress (v))
            return SL_ECLOSED;
    }
    if (memcmp (trailer, SEG_END_MAGIC, 8)
    ||  sl_audit__get64le (trailer + 8) != seg->last - seg->first + 1 || *seq != seg->last + 1)
        return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: trailer does not match the entries "
                       "(entries missing or added)", seg->path);
    if (memcmp (trailer + 24, prev, SL_AUDIT_HASH_LEN))
        return s_fail (r, SL_AUDIT_V_SEGMENT, seg->last, "%s: trailer hash differs from entry %"
                       PRIu64, seg->path, seg->last);
    if (s_seg_sig_check (v->pk, d, trailer))
        return s_fail (r, SL_AUDIT_V_SEGMENT, seg->last, "%s: trailer signature does not verify "
                       "with this public key", seg->path);
    r->segments++;
    return SL_OK;
}

static int s_verify_segments (s_vctx_t *v, const sl_audit_verify_opts_t *o,
                              uint64_t *seq, uint8_t prev[SL_AUDIT_HASH_LEN])
{
    size_t n = o->n_segments;
    s_segment_t *segs = calloc (n ? n : 1, sizeof *segs);
    if (!segs)
        return SL_ENOMEM;
    int rc = SL_OK;
    for (size_t i = 0; i < n; i++) {
        segs[i].path = o->segments[i];
        rc = sl_audit__read_file (segs[i].path, &segs[i].data, &segs[i].size);
        if (rc) {
            snprintf (v->r->message, sizeof v->r->message, "%s: cannot read: %s",
                      segs[i].path, strerror (errno));
            goto out;
        }
        if (segs[i].size >= SEG_HEADER_LEN) {
            segs[i].first = sl_audit__get64le (segs[i].data + 9);
            segs[i].last = sl_audit__get64le (segs[i].data + 17);
        }
    }
    qsort (segs, n, sizeof *segs, s_seg_cmp);
    for (size_t i = 0; i < n && rc == SL_OK; i++)
        rc = s_verify_segment (v, &segs[i], seq, prev);
out:
    for (size_t i = 0; i < n; i++)
        free (segs[i].data);
    free (segs);
    return rc;
}

/*  Checks the checkpoint value `cv` stored under `cpseq`. `hash` is the
 *  hash of entry cpseq, or NULL when that entry does not exist. */
static int s_verify_cp (s_vctx_t *v, uint64_t cpseq, const MDB_val *cv, const uint8_t *hash,
                        uint64_t missing_at)
{
    const uint8_t *cp = cv->mv_data;
    if (cv->mv_size != CP_LEN || cp[0] != CP_VERSION || sl_audit__get64le (cp + 1) != cpseq)
        return s_fail (v->r, SL_AUDIT_V_CP_MISMATCH, cpseq, "checkpoint %" PRIu64
                       " is malformed or stored under the wrong key", cpseq);
    if (s_cp_check (v->pk, cp))
        return s_fail (v->r, SL_AUDIT_V_CP_SIGNATURE, cpseq, "checkpoint %" PRIu64
                       " signature does not verify with this public key", cpseq);
    if (!hash)
        return s_fail (v->r, missing_at ? SL_AUDIT_V_TRUNCATED : SL_AUDIT_V_CP_MISMATCH,
                       missing_at ? missing_at : cpseq,
                       missing_at ? "entries from %" PRIu64 " are missing: a signed checkpoint "
                                    "covers %" PRIu64
                                  : "checkpoint %" PRIu64 " names entry %" PRIu64
                                    " which is not in the live log",
                       missing_at ? missing_at : cpseq, cpseq);
    if (memcmp (cp + 17, hash, SL_AUDIT_HASH_LEN))
        return s_fail (v->r, SL_AUDIT_V_HASH, cpseq, "entry %" PRIu64 " differs from the one "
                       "its signed checkpoint covers", cpseq);
    v->r->checkpoints++;
    return SL_OK;
}

int sl_audit_verify (MDB_env *env, const uint8_t pk[SL_AUDIT_PK_LEN],
                     const sl_audit_verify_opts_t *opts, sl_audit_report_t *report)
{
    assert (env && pk && report);
    static const sl_audit_verify_opts_t none = { 0 };
    const sl_audit_verify_opts_t *o = opts ? opts : &none;
    sl_audit_report_t *r = report;
    memset (r, 0, sizeof *r);
    s_vctx_t v = { pk, r, o->progress, o->progress_arg, 0, o, 0 };
    MDB_txn *txn = NULL;
    MDB_cursor *lc = NULL, *cc = NULL;
    MDB_dbi db_log, db_cp, db_meta;
    uint64_t seq = 1, start_seq = 0, head_seq = 0;
    uint8_t prev[SL_AUDIT_HASH_LEN] = { 0 }, start_prev[SL_AUDIT_HASH_LEN], head_hash[SL_AUDIT_HASH_LEN];
    int rc, have_head = 0;

    if (sodium_init () < 0)
        return SL_EIO;
    if (o->n_segments) {
        rc = s_verify_segments (&v, o, &seq, prev);
        if (rc)
            return rc;
    }
    rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return SL_ESTORE;
    rc = sl_audit__open_dbs (txn, 0, &db_log, &db_cp, &db_meta);
    if (rc == MDB_NOTFOUND) {       /* no audit log at all */
        rc = o->n_segments ? s_fail (r, SL_AUDIT_V_START, seq, "archive segments given but "
                                     "this data directory has no live audit log") : SL_OK;
        goto out;
    }
    if (rc) {
        rc = SL_ESTORE;
        goto out;
    }
    rc = sl_audit__read_meta (txn, db_meta, "start", &start_seq, start_prev);
    if (rc == SL_ENOTFOUND)
        start_seq = 0;
    else if (rc) {
        rc = s_fail (r, SL_AUDIT_V_START, seq, "the live log's start record is damaged");
        goto out;
    }
    rc = sl_audit__read_meta (txn, db_meta, "head", &head_seq, head_hash);
    if (rc == SL_OK)
        have_head = 1;
    else if (rc != SL_ENOTFOUND) {
        rc = s_fail (r, SL_AUDIT_V_TRUNCATED, seq, "the head record is damaged");
        goto out;
    }
    if (mdb_cursor_open (txn, db_log, &lc) || mdb_cursor_open (txn, db_cp, &cc)) {
        rc = SL_ESTORE;
        goto out;
    }

    MDB_val k, val, ck, cv;
    int lrc = mdb_cursor_get (lc, &k, &val, MDB_FIRST);
    int crc = mdb_cursor_get (cc, &ck, &cv, MDB_FIRST);
    if (start_seq == 0) {
        if (lrc == 0 || have_head) {
            rc = s_fail (r, SL_AUDIT_V_START, 1, "entries exist but the live log has no start record");
            goto out;
        }
        if (crc == 0) {
            rc = s_fail (r, SL_AUDIT_V_TRUNCATED, seq, "checkpoints exist but no entries: the log "
                         "was emptied");
            goto out;
        }
        rc = o->n_segments ? s_fail (r, SL_AUDIT_V_START, seq, "archive segments given but the "
                                     "live log is empty") : SL_OK;
        goto out;
    }
    if (o->n_segments || start_seq == 1) {
        if (start_seq != seq || memcmp (start_prev, prev, SL_AUDIT_HASH_LEN)) {
            rc = s_fail (r, SL_AUDIT_V_START, seq < start_seq ? seq : start_seq,
                         "the live log starts at %" PRIu64 " but the %s ends before %" PRIu64,
                         start_seq, o->n_segments ? "archive" : "chain", seq);
            goto out;
        }
    }
    else if (!o->trust_start) {
        rc = s_fail (r, SL_AUDIT_V_START, 1, "entries 1..%" PRIu64 " were archived: give their "
                     "segment files to verify the whole chain", start_seq - 1);
        goto out;
    }
    else {
        seq = start_seq;
        memcpy (prev, start_prev, SL_AUDIT_HASH_LEN);
    }
    r->first_seq = o->n_segments ? 1 : seq;
    v.total = (have_head && head_seq >= seq ? head_seq - seq + 1 : 0) + r->entries;

    uint8_t hash[SL_AUDIT_HASH_LEN];
    uint64_t last = 0;
    while (lrc == 0) {
        if (k.mv_size != 8) {
            rc = s_fail (r, SL_AUDIT_V_MALFORMED, seq, "a key in %s is not 8 bytes", DB_LOG);
            goto out;
        }
        uint64_t kseq = sl_audit__get64be (k.mv_data);
        /* checkpoints that name entries before this one */
        while (crc == 0 && (ck.mv_size != 8 || sl_audit__get64be (ck.mv_data) < kseq)) {
            uint64_t cpseq = ck.mv_size == 8 ? sl_audit__get64be (ck.mv_data) : 0;
            if (cpseq >= seq)
                break;      /* inside a gap: the gap is reported below */
            rc = s_verify_cp (&v, cpseq, &cv, NULL, 0);
            goto out;
        }
        if (kseq < seq) {
            rc = s_fail (r, SL_AUDIT_V_START, kseq, "entry %" PRIu64 " lies before the live "
                         "log's recorded start %" PRIu64, kseq, seq);
            goto out;
        }
        if (kseq > seq) {
            rc = s_fail (r, SL_AUDIT_V_GAP, seq, "entry %" PRIu64 " is missing (next is %" PRIu64 ")",
                         seq, kseq);
            goto out;
        }
        sl_audit_entry_t e;
        if (sl_audit_decode (val.mv_data, val.mv_size, &e)) {
            rc = s_fail (r, SL_AUDIT_V_MALFORMED, seq, "entry %" PRIu64 " does not decode", seq);
            goto out;
        }
        if (e.seq != seq) {
            rc = s_fail (r, SL_AUDIT_V_SEQ, seq, "entry stored as %" PRIu64 " holds seq %" PRIu64
                         " (moved or swapped)", seq, e.seq);
            goto out;
        }
        sl_audit__hash (val.mv_data, val.mv_size, hash);
        if (memcmp (e.prev_hash, prev, SL_AUDIT_HASH_LEN)) {
            /* Either the entry before was changed (this entry's link is
             * intact and its successor still links to it), or this entry's
             * link field was changed (then its own hash changed too). */
            const uint8_t *next_prev = NULL;
            uint8_t nkey[8];
            sl_audit__put64be (nkey, seq + 1);
            MDB_val nk = { 8, nkey }, nv;
            if (mdb_get (txn, db_log, &nk, &nv) == 0 && nv.mv_size >= ENTRY_FIXED)
                next_prev = (const uint8_t *) nv.mv_data + 17;
            else if (have_head && head_seq == seq)
                next_prev = head_hash;
            if (seq > start_seq && next_prev && memcmp (next_prev, hash, SL_AUDIT_HASH_LEN) == 0)
                rc = s_fail (r, SL_AUDIT_V_HASH, seq - 1, "entry %" PRIu64 " was changed: its hash "
                             "differs from the one entry %" PRIu64 " records", seq - 1, seq);
            else
                rc = s_fail (r, SL_AUDIT_V_LINK, seq, "entry %" PRIu64 " does not link to the "
                             "entry before it", seq);
            goto out;
        }
        while (crc == 0 && ck.mv_size == 8 && sl_audit__get64be (ck.mv_data) == seq) {
            rc = s_verify_cp (&v, seq, &cv, hash, 0);
            if (rc)
                goto out;
            crc = mdb_cursor_get (cc, &ck, &cv, MDB_NEXT);
        }
        if ((rc = s_published (&v, seq, hash)) != SL_OK)
            goto out;
        memcpy (prev, hash, SL_AUDIT_HASH_LEN);
        last = seq++;
        r->entries++;
        if (s_progress (&v)) {
            rc = SL_ECLOSED;
            goto out;
        }
        lrc = mdb_cursor_get (lc, &k, &val, MDB_NEXT);
    }
    if (lrc != MDB_NOTFOUND) {
        rc = SL_ESTORE;
        goto out;
    }
    /* checkpoints past the last entry: the tail was cut off */
    if (crc == 0) {
        uint64_t cpseq = ck.mv_size == 8 ? sl_audit__get64be (ck.mv_data) : 0;
        rc = s_verify_cp (&v, cpseq, &cv, NULL, seq);
        goto out;
    }
    if (!have_head) {
        rc = s_fail (r, SL_AUDIT_V_TRUNCATED, seq, "the head record is missing");
        goto out;
    }
    if (head_seq > last) {
        rc = s_fail (r, SL_AUDIT_V_TRUNCATED, seq, "entries %" PRIu64 "..%" PRIu64 " are missing "
                     "at the end (the head record names %" PRIu64 ")", seq, head_seq, head_seq);
        goto out;
    }
    if (head_seq < last) {
        rc = s_fail (r, SL_AUDIT_V_SEQ, head_seq + 1, "entry %" PRIu64 " lies past the recorded "
                     "head %" PRIu64, head_seq + 1, head_seq);
        goto out;
    }
    if (memcmp (head_hash, prev, SL_AUDIT_HASH_LEN)) {
        rc = s_fail (r, SL_AUDIT_V_HASH, last, "entry %" PRIu64 " differs from the head record",
                     last);
        goto out;
    }
    if (o->published && !v.published_seen) {
        rc = o->published_seq > last
             ? s_fail (r, SL_AUDIT_V_TRUNCATED, seq, "entries from %" PRIu64 " are missing: a "
                       "published checkpoint covers %" PRIu64 " (the tail was cut off)", seq,
                       o->published_seq)
             : s_fail (r, SL_AUDIT_V_START, o->published_seq, "the published checkpoint names "
                       "entry %" PRIu64 ", which is archived: pass its segment with --segment",
                       o->published_seq);
        goto out;
    }
    r->last_seq = last;
    if (v.progress)
        v.progress (v.progress_arg, r->entries, v.total);
    snprintf (r->message, sizeof r->message, "ok: %" PRIu64 " entries (%" PRIu64 "..%" PRIu64
              "), %" PRIu64 " checkpoints, %" PRIu64 " segments", r->entries, r->first_seq,
              r->last_seq, r->checkpoints, r->segments);
    rc = SL_OK;
out:
    if (lc)
        mdb_cursor_close (lc);
    if (cc)
        mdb_cursor_close (cc);
    if (txn)
        mdb_txn_commit (txn);   /* read-only: keeps db handles it opened */
    return rc;
}


char *sl_audit_report_json (const sl_audit_report_t *r, int ok)
{
    cJSON *o = cJSON_CreateObject ();
    if (!o)
        return NULL;
    cJSON_AddBoolToObject (o, "ok", ok);
    cJSON_AddStringToObject (o, "verdict", sl_audit_verdict_str (r->verdict));
    cJSON_AddNumberToObject (o, "bad_seq", (double) r->bad_seq);
    cJSON_AddNumberToObject (o, "entries", (double) r->entries);
    cJSON_AddNumberToObject (o, "checkpoints", (double) r->checkpoints);
    cJSON_AddNumberToObject (o, "segments", (double) r->segments);
    cJSON_AddNumberToObject (o, "first_seq", (double) r->first_seq);
    cJSON_AddNumberToObject (o, "last_seq", (double) r->last_seq);
    cJSON_AddStringToObject (o, "message", r->message);
    char *text = cJSON_PrintUnformatted (o);
    cJSON_Delete (o);
    return text;
}

/*  sl_audit_archive — moves the oldest entries into a signed segment file
 *  (docs/AUDIT.md §7) and keeps the chain continuous.
 */
#include "sl_audit_int.h"
#include "sl_error.h"

#include <assert.h>
#include <fcntl.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/*  Retention                                                               */

void sl_audit__seg_message (const uint8_t *header, const uint8_t *trailer,
                            uint8_t msg[SEG_MSG_LEN])
{
    memcpy (msg, SEG_CONTEXT, sizeof SEG_CONTEXT - 1);
    memcpy (msg + sizeof SEG_CONTEXT - 1, header, SEG_HEADER_LEN);
    memcpy (msg + sizeof SEG_CONTEXT - 1 + SEG_HEADER_LEN, trailer, SEG_TRAILER_SIGNED);
}

static void s_seg_sign (const uint8_t *sk, const uint8_t *header, uint8_t *trailer)
{
    uint8_t msg[SEG_MSG_LEN];
    sl_audit__seg_message (header, trailer, msg);
    crypto_sign_detached (trailer + SEG_TRAILER_SIGNED, NULL, msg, sizeof msg, sk);
}

static int s_fwrite (FILE *f, const void *p, size_t n)
{
    return fwrite (p, 1, n, f) == n ? 0 : -1;
}

int sl_audit_archive (sl_audit_t *self, MDB_txn *txn, int64_t before_us,
                      const char *out_dir, char *path_out, size_t path_size,
                      uint64_t *n_out)
{
    assert (self && txn && out_dir);
    if (self->rdonly || !self->has_sk)
        return SL_EPERM;
    if (n_out)
        *n_out = 0;
    uint64_t head_seq, start_seq;
    uint8_t head_hash[SL_AUDIT_HASH_LEN], prev[SL_AUDIT_HASH_LEN];
    int rc = sl_audit__txn_head (self, txn, &head_seq, head_hash);
    if (rc || head_seq < 2)
        return rc;
    rc = sl_audit__read_meta (txn, self->db_meta, "start", &start_seq, prev);
    if (rc)
        return rc == SL_ENOTFOUND ? SL_ECORRUPT : rc;

    MDB_cursor *c = NULL;
    FILE *f = NULL;
    char tmp[4096] = "", final[4096];
    uint64_t n = 0, last = 0;
    uint8_t header[SEG_HEADER_LEN], trailer[SEG_TRAILER_LEN];
    MDB_val k, v;

    if (mdb_cursor_open (txn, self->db_log, &c))
        return SL_ESTORE;
    /* how many: the oldest entries before the date, never the head */
    int lrc = mdb_cursor_get (c, &k, &v, MDB_FIRST);
    while (lrc == 0) {
        sl_audit_entry_t e;
        if (sl_audit_decode (v.mv_data, v.mv_size, &e)) {
            rc = SL_ECORRUPT;
            goto out;
        }
        if (e.seq >= head_seq || e.time_us >= before_us)
            break;
        last = e.seq;
        n++;
        lrc = mdb_cursor_get (c, &k, &v, MDB_NEXT);
    }
    if (n == 0)
        goto out;

    snprintf (tmp, sizeof tmp, "%s/.audit-segment-XXXXXX", out_dir);
    int fd = mkstemp (tmp);
    if (fd < 0 || !(f = fdopen (fd, "wb"))) {
        if (fd >= 0)
            close (fd);
        tmp[0] = 0;
        rc = SL_EIO;
        goto out;
    }
    memcpy (header, SEG_MAGIC, 8);
    header[8] = SEG_VERSION;
    sl_audit__put64le (header + 9, start_seq);
    sl_audit__put64le (header + 17, last);
    memcpy (header + 25, prev, SL_AUDIT_HASH_LEN);
    if (s_fwrite (f, header, sizeof header)) {
        rc = SL_EIO;
        goto out;
    }
    uint64_t seq = start_seq;
    lrc = mdb_cursor_get (c, &k, &v, MDB_FIRST);
    for (uint64_t i = 0; i < n; i++, seq++) {
        sl_audit_entry_t e;
        if (lrc || sl_audit_decode (v.mv_data, v.mv_size, &e) || e.seq != seq
        ||  memcmp (e.prev_hash, prev, SL_AUDIT_HASH_LEN)) {
            rc = SL_ECORRUPT;       /* never archive a broken chain */
            goto out;
        }
        uint8_t len[4] = { (uint8_t) v.mv_size, (uint8_t) (v.mv_size >> 8),
                           (uint8_t) (v.mv_size >> 16), (uint8_t) (v.mv_size >> 24) };
        if (s_fwrite (f, len, 4) || s_fwrite (f, v.mv_data, v.mv_size)) {
            rc = SL_EIO;
            goto out;
        }
        sl_audit__hash (v.mv_data, v.mv_size, prev);
        lrc = mdb_cursor_get (c, &k, &v, MDB_NEXT);
    }
    memcpy (trailer, SEG_END_MAGIC, 8);
    sl_audit__put64le (trailer + 8, n);
    sl_audit__put64le (trailer + 16, (uint64_t) sl_audit__now_us ());
    memcpy (trailer + 24, prev, SL_AUDIT_HASH_LEN);
    s_seg_sign (self->sk, header, trailer);
    if (s_fwrite (f, trailer, sizeof trailer) || fflush (f) || fsync (fileno (f))) {
        rc = SL_EIO;
        goto out;
    }
    fclose (f);
    f = NULL;
    snprintf (final, sizeof final, "%s/audit-%020" PRIu64 "-%020" PRIu64 ".seg", out_dir,
              start_seq, last);
    if (rename (tmp, final) != 0) {
        rc = SL_EIO;
        goto out;
    }
    tmp[0] = 0;
    int dfd = open (out_dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync (dfd);
        close (dfd);
    }

    /* the file is durable: now drop the entries and the checkpoints they cover */
    for (uint64_t i = 0; i < n; i++) {
        if ((rc = mdb_cursor_get (c, &k, &v, MDB_FIRST)) || (rc = mdb_cursor_del (c, 0))) {
            rc = sl_audit__mdb_rc (rc);
            goto out;
        }
    }
    mdb_cursor_close (c);
    c = NULL;
    if (mdb_cursor_open (txn, self->db_cp, &c)) {
        rc = SL_ESTORE;
        goto out;
    }
    while ((lrc = mdb_cursor_get (c, &k, &v, MDB_FIRST)) == 0
           && (k.mv_size != 8 || sl_audit__get64be (k.mv_data) <= last)) {
        if ((rc = mdb_cursor_del (c, 0))) {
            rc = sl_audit__mdb_rc (rc);
            goto out;
        }
    }
    rc = sl_audit__write_meta (txn, self->db_meta, "start", last + 1, prev);
    if (rc)
        goto out;
    char detail[8400], hexh[65];
    sl_audit__hex (prev, SL_AUDIT_HASH_LEN, hexh);
    const char *base = strrchr (final, '/') ? strrchr (final, '/') + 1 : final;
    /* dir= lets review find the segment again (sl_audit_history.c) */
    snprintf (detail, sizeof detail, "segment=%s first=%" PRIu64 " last=%" PRIu64
              " last_hash=%s dir=%.4000s", base, start_seq, last, hexh, out_dir);
    sl_audit_event_t ev = { .kind = SL_AUDIT_AUDIT_ARCHIVE, .detail = detail };
    rc = sl_audit_append (self, txn, &ev, NULL);
    if (rc)
        goto out;
    if (path_out && path_size)
        snprintf (path_out, path_size, "%s", final);
    if (n_out)
        *n_out = n;
out:
    if (c)
        mdb_cursor_close (c);
    if (f)
        fclose (f);
    if (tmp[0])
        unlink (tmp);
    return rc;
}

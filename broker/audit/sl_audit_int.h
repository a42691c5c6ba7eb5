/*  sl_audit_int.h — what the files of the audit library share; not public.
 *  Formats: docs/AUDIT.md. The design notes are at the top of sl_audit.c.
 */
#ifndef SL_AUDIT_INT_H
#define SL_AUDIT_INT_H

#include "sl_audit.h"
#include "sl_error.h"

#include <sodium.h>
#include <string.h>

#define DB_LOG    "audit.log"
#define DB_CP     "audit.checkpoints"
#define DB_META   "audit.meta"

#define ENTRY_VERSION   1
#define ENTRY_FIXED     49          /* version + seq + time + prev_hash */
#define ENTRY_NFIELDS   13
#define CP_VERSION      1
#define CP_SIGNED_LEN   49          /* version + seq + time + hash */
#define CP_LEN          (CP_SIGNED_LEN + SL_AUDIT_SIG_LEN)
#define CP_CONTEXT      "sluice.audit.checkpoint.v1"
#define SEG_CONTEXT     "sluice.audit.segment.v1"
#define SEG_MAGIC       "SLAUDSEG"
#define SEG_END_MAGIC   "SLAUDEND"
#define SEG_VERSION     1
#define SEG_HEADER_LEN  57
#define SEG_TRAILER_SIGNED 56
#define SEG_TRAILER_LEN (SEG_TRAILER_SIGNED + SL_AUDIT_SIG_LEN)
#define CP_MSG_LEN      (sizeof CP_CONTEXT - 1 + CP_SIGNED_LEN)
#define SEG_MSG_LEN     (sizeof SEG_CONTEXT - 1 + SEG_HEADER_LEN + SEG_TRAILER_SIGNED)
#define META_LEN        40          /* seq (LE) + hash */

struct sl_audit_s {
    MDB_env  *env;
    MDB_dbi   db_log, db_cp, db_meta;
    int       rdonly;
    int       has_sk, has_pseudo;
    uint8_t   sk[crypto_sign_SECRETKEYBYTES];
    uint8_t   pk[SL_AUDIT_PK_LEN];
    uint8_t   pseudo_key[32];
    /* committed state */
    uint64_t  head_seq;
    uint8_t   head_hash[SL_AUDIT_HASH_LEN];
    uint64_t  cp_seq;
    int64_t   cp_time;
    /* state of the open transaction, promoted by after_commit */
    int       pend;
    uint64_t  pend_seq;
    uint8_t   pend_hash[SL_AUDIT_HASH_LEN];
    int       pend_cp;
    uint64_t  pend_cp_seq;
    int64_t   pend_cp_time;
    uint8_t  *buf;
    size_t    buf_size;
    /* the last subject's pseudonym: a record's publish, queue and deliver
     * entries name the same subject one after another */
    char      last_subject[128];
    uint8_t   last_pseudo[SL_AUDIT_PSEUDO_LEN];
};

/* ------------------------------------------------------------------------ */
/*  Byte helpers                                                            */

static inline void sl_audit__put64le (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static inline uint64_t sl_audit__get64le (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline void sl_audit__put64be (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[7 - i] = (uint8_t) (v >> (8 * i));
}

static inline uint64_t sl_audit__get64be (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static inline void sl_audit__hex (const uint8_t *bin, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bin[i] >> 4];
        out[2 * i + 1] = digits[bin[i] & 15];
    }
    out[2 * len] = 0;
}

static inline void sl_audit__hash (const void *data, size_t len, uint8_t out[SL_AUDIT_HASH_LEN])
{
    crypto_generichash (out, SL_AUDIT_HASH_LEN, data, len, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/*  Shared functions (sl_audit.c unless noted)                              */

int64_t sl_audit__now_us (void);
/*  "YYYY-MM-DDTHH:MM:SS.uuuuuuZ" */
void    sl_audit__utc (int64_t us, char out[64]);
/*  The `audit.meta` record `name`: u64 seq + 32-byte hash. SL_ENOTFOUND if absent. */
int     sl_audit__read_meta (MDB_txn *txn, MDB_dbi db, const char *name,
                             uint64_t *seq, uint8_t hash[SL_AUDIT_HASH_LEN]);
int     sl_audit__write_meta (MDB_txn *txn, MDB_dbi db, const char *name,
                              uint64_t seq, const uint8_t hash[SL_AUDIT_HASH_LEN]);
/*  Opens the three databases (flags 0 or MDB_CREATE); returns an LMDB code. */
int     sl_audit__open_dbs (MDB_txn *txn, unsigned flags, MDB_dbi *log, MDB_dbi *cp,
                            MDB_dbi *meta);
/*  The chain head as `txn` sees it (0 and zero hash when empty). */
int     sl_audit__txn_head (sl_audit_t *self, MDB_txn *txn, uint64_t *seq,
                            uint8_t hash[SL_AUDIT_HASH_LEN]);
/*  The bytes a checkpoint signature covers. */
void    sl_audit__cp_message (const uint8_t *cp, uint8_t msg[CP_MSG_LEN]);
/*  The bytes a segment trailer signature covers (sl_audit_archive.c). */
void    sl_audit__seg_message (const uint8_t *header, const uint8_t *trailer,
                               uint8_t msg[SEG_MSG_LEN]);

/*  Sets `err` (sl_err_set: errlen bytes at most, NULL allowed) and yields
 *  `rc`: a failure in one statement,
 *  `return sl_audit__fail (err, errlen, SL_EPARSE, "what", ...);`. */
#define sl_audit__fail(err, errlen, rc, ...) (sl_err_set ((err), (errlen), __VA_ARGS__), (rc))

/*  Reads a whole file into *data (malloc'ed, the caller frees) and *size
 *  (sl_audit_history.c): SL_EIO if unreadable, SL_ENOMEM. */
int     sl_audit__read_file (const char *path, uint8_t **data, size_t *size);
/*  sl_audit__read_file for a segment file: also SL_EIO, with nothing
 *  left allocated, if it is too short or without the segment magic. */
int     sl_audit__read_segment (const char *path, uint8_t **data, size_t *size);
/*  The next entry of segment bytes at *pos (0 = the first): 1, 0 at the
 *  trailer, SL_ECORRUPT. Entry pointers point into `data`. */
int     sl_audit__segment_next (const uint8_t *data, size_t size, size_t *pos,
                                sl_audit_entry_t *e);

#endif

/*  sl_consent_int.h — what the files of the consent registry share; not
 *  public. The storage layout is docs/CONSENT.md; the design notes are at
 *  the top of sl_consent.c (store, apply, epochs), sl_consent_check.c
 *  (validation, decisions) and sl_consent_json.c (reading, JSON forms).
 */
#ifndef SL_CONSENT_INT_H
#define SL_CONSENT_INT_H

#include "sl_consent.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


#define S_FORMAT_VERSION    1
#define S_HEADER_SIZE       24
#define S_STATE_ACTIVE      1
#define S_STATE_WITHDRAWN   2
#define S_END_EXPIRED       1
#define S_END_WITHDRAWN     2

#define S_SUBJECT_MAX       128
#define S_NAME_MAX          64      /* controller, recipient, purpose, field */
#define S_TEXT_MAX          256     /* collection method, evidence, jurisdiction */
#define S_LIST_MAX          32      /* purposes, record types, fields */
#define S_KEY_MAX           511     /* LMDB's default max key size */
#define S_TIME_MAX          ((int64_t) 1 << 40)  /* year ~36812: rejects garbage */

#define S_EPOCH_SLOTS 1024       /* a power of two */

struct _sl_consent_t {
    MDB_dbi records;
    MDB_dbi events;
    MDB_dbi index;
    MDB_dbi ends;
    sl_consent_stats_t stats;
    uint64_t epochs[S_EPOCH_SLOTS];   /* changes applied, per slot of subjects */
};

struct _sl_consent_record_t {
    Sluice__V1__ConsentEvent *terms;    /* unpacked; current terms */
    uint8_t state;
    uint32_t event_count;
    int64_t withdrawn_at;
    int64_t updated_at;
    Sluice__V1__ConsentEvent **history;
    size_t history_count;
};

static inline void
s_put_be32 (uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24); p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);  p[3] = (uint8_t) v;
}

static inline uint32_t
s_get_be32 (const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
         | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

static inline void
s_put_be64 (uint8_t *p, uint64_t v)
{
    s_put_be32 (p, (uint32_t) (v >> 32));
    s_put_be32 (p + 4, (uint32_t) v);
}

static inline uint64_t
s_get_be64 (const uint8_t *p)
{
    return (uint64_t) s_get_be32 (p) << 32 | s_get_be32 (p + 4);
}

static inline int
s_get (sl_consent_t *self, MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    __atomic_fetch_add (&self->stats.gets, 1, __ATOMIC_RELAXED);
    return mdb_get (txn, dbi, key, data);
}

static inline int
s_cursor_get (sl_consent_t *self, MDB_cursor *cur, MDB_val *key, MDB_val *data,
              MDB_cursor_op op)
{
    __atomic_fetch_add (&self->stats.cursor_ops, 1, __ATOMIC_RELAXED);
    return mdb_cursor_get (cur, key, data, op);
}

static inline bool
s_empty (const char *s)
{
    return s == NULL || *s == '\0';
}
/* --------------------------------------------------------------------- */
/*  Shared between the files (sl_consent__ names: library-private)         */

/*  sl_consent.c: the store. */

/*  Formats the error into result->error and returns rc. */
int     sl_consent__fail (sl_consent_result_t *result, int rc, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/*  Index key prefix: subject \0 controller \0 recipient \0 purpose \0.
 *  Returns its length, or 0 if it would not fit `size`. */
size_t  sl_consent__index_prefix (uint8_t *buf, size_t size, const char *subject,
                                  const char *controller, const char *recipient,
                                  const char *purpose);
/*  consent.events key: id \0 seq (u32 BE); returns its length. */
size_t  sl_consent__event_key (uint8_t *buf, const char *id, uint32_t seq);
/*  Frees a record (NULL is fine). */
void    sl_consent__record_free (sl_consent_record_t *rec);
/*  Loads a record by id (`len` bytes). SL_ENOTFOUND if absent. */
int     sl_consent__record_load (sl_consent_t *self, MDB_txn *txn, const char *id,
                                 size_t len, sl_consent_record_t **rec_p);
/*  The same for an id an index entry names: a record the index names but
 *  the store lacks means the index is damaged (SL_ECORRUPT). */
int     sl_consent__record_load_indexed (sl_consent_t *self, MDB_txn *txn, const char *id,
                                         size_t len, sl_consent_record_t **rec_p);

/*  sl_consent_check.c: validation and decisions. */

/*  Names (controller, recipient, purpose, field, consent id): letters,
 *  digits and . _ : - only. */
bool    sl_consent__is_token (const char *s);
/*  The checks of one member of an event: a time bound, a name (`token`:
 *  letters, digits and . _ : - only) of at most `max` bytes, a free text. */
int     sl_consent__check_time (const char *name, int64_t t, sl_consent_result_t *result);
int     sl_consent__check_name (const char *what, const char *value, size_t max, bool token,
                                sl_consent_result_t *result);
int     sl_consent__check_text (const char *what, const char *value,
                                sl_consent_result_t *result);
/*  The role rule for a change by `actor` to a consent of `controller`;
 *  `what` names the change in the error. */
int     sl_consent__check_role (const sl_consent_actor_t *actor, const char *controller,
                                const char *what, sl_consent_result_t *result);
/*  Every check of a grant, before the first write (design note 3 of
 *  sl_consent.c). */
int     sl_consent__validate_grant (const Sluice__V1__ConsentEvent *ev, int64_t valid_from,
                                    sl_consent_result_t *result);
/*  For renewals and withdrawals: the event may repeat the parties (they must
 *  match) but may not carry a scope. */
int     sl_consent__validate_change (const Sluice__V1__ConsentEvent *ev,
                                     const sl_consent_record_t *rec, const char *what,
                                     sl_consent_result_t *result);
/*  True if one of the record types of `rec` covers `record_type`. */
bool    sl_consent__record_covers_type (const sl_consent_record_t *rec,
                                        const char *record_type);

#endif

/*  sl_consent — the consent registry over LMDB. See sl_consent.h and
 *  docs/CONSENT.md (the storage layout there is the contract).
 *
 *  Design notes
 *
 *  1. Four named databases, all written in the caller's transaction:
 *     consent.records  id                                    -> record header + terms
 *     consent.events   id \0 seq(u32 BE)                     -> packed ConsentEvent
 *     consent.index    subject \0 controller \0 recipient \0 purpose \0 id -> ""
 *     consent.ends     end(u64 BE) id                        -> reason (1 byte)
 *     A decision is one MDB_SET_RANGE on consent.index plus one mdb_get per
 *     consent of that (subject, controller, recipient, purpose): O(log n).
 *
 *  2. Nothing is ever deleted from records, events or index. Only the
 *     consent.ends key of a record moves, when a renewal or a withdrawal
 *     changes the time its access ends.
 *
 *  3. Every check that can fail happens before the first write, so an
 *     invalid event leaves the transaction untouched. Only LMDB write errors
 *     (map full, I/O) can stop half-way; then LMDB has marked the
 *     transaction failed and the caller must abort it.
 *
 *  4. The scope of a consent (subject, controller, recipient, purposes,
 *     record types, fields) never changes after the grant; a renewal only
 *     moves the validity window. So the index keys written at the grant
 *     stay right for the life of the record.
 */
#include "sl_consent.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "sl_error.h"
#include "sl_lmdb.h"
#include "sl_log.h"
#include "sl_schema.h"
#include "sl_role.h"
#include "sl_time.h"

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

/*  The epoch slot of `subject` (FNV-1a): subjects sharing a slot share an
 *  epoch, which only makes a change look wider than it was. */
uint32_t
sl_consent_epoch_slot (const char *subject)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *) (subject ? subject : ""); *p; p++)
        h = (h ^ *p) * 16777619u;
    return h & (S_EPOCH_SLOTS - 1);
}

static void
s_epoch_bump (sl_consent_t *self, const char *subject)
{
    __atomic_fetch_add (&self->epochs[sl_consent_epoch_slot (subject)], 1, __ATOMIC_RELAXED);
}

uint64_t
sl_consent_epoch (sl_consent_t *self, const char *subject)
{
    return sl_consent_epoch_at (self, sl_consent_epoch_slot (subject));
}

uint64_t
sl_consent_epoch_at (sl_consent_t *self, uint32_t slot)
{
    assert (self);
    return __atomic_load_n (&self->epochs[slot & (S_EPOCH_SLOTS - 1)], __ATOMIC_RELAXED);
}

struct _sl_consent_record_t {
    Sluice__V1__ConsentEvent *terms;    /* unpacked; current terms */
    uint8_t state;
    uint32_t event_count;
    int64_t withdrawn_at;
    int64_t updated_at;
    Sluice__V1__ConsentEvent **history;
    size_t history_count;
};

/* --------------------------------------------------------------------- */
/*  Small helpers                                                           */

static void
s_put_be32 (uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24); p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);  p[3] = (uint8_t) v;
}

static uint32_t
s_get_be32 (const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
         | (uint32_t) p[2] << 8 | (uint32_t) p[3];
}

static void
s_put_be64 (uint8_t *p, uint64_t v)
{
    s_put_be32 (p, (uint32_t) (v >> 32));
    s_put_be32 (p + 4, (uint32_t) v);
}

static uint64_t
s_get_be64 (const uint8_t *p)
{
    return (uint64_t) s_get_be32 (p) << 32 | s_get_be32 (p + 4);
}

static int
s_get (sl_consent_t *self, MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *data)
{
    __atomic_fetch_add (&self->stats.gets, 1, __ATOMIC_RELAXED);
    return mdb_get (txn, dbi, key, data);
}

static int
s_cursor_get (sl_consent_t *self, MDB_cursor *cur, MDB_val *key, MDB_val *data,
              MDB_cursor_op op)
{
    __atomic_fetch_add (&self->stats.cursor_ops, 1, __ATOMIC_RELAXED);
    return mdb_cursor_get (cur, key, data, op);
}

static bool
s_empty (const char *s)
{
    return s == NULL || *s == '\0';
}

/*  Names (controller, recipient, purpose, field, consent id): letters,
 *  digits and . _ : - only. */
static bool
s_is_token (const char *s)
{
    if (s_empty (s))
        return false;
    for (; *s; s++)
        if (!isalnum ((unsigned char) *s) && !strchr ("._:-", *s))
            return false;
    return true;
}

static bool
s_is_printable (const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static const char *
s_kind_name (Sluice__V1__ConsentEvent__Kind kind)
{
    switch (kind) {
        case SLUICE__V1__CONSENT_EVENT__KIND__GIVEN: return "given";
        case SLUICE__V1__CONSENT_EVENT__KIND__RENEWED: return "renewed";
        case SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN: return "withdrawn";
        default: return "unspecified";
    }
}

static int
s_fail (sl_consent_result_t *result, int rc, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_fail (sl_consent_result_t *result, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (result->error, sizeof result->error, fmt, ap);
    va_end (ap);
    return rc;
}

/*  Index key prefix: subject \0 controller \0 recipient \0 purpose \0.
 *  Returns its length, or 0 if it would not fit `size`. */
static size_t
s_index_prefix (uint8_t *buf, size_t size, const char *subject,
                const char *controller, const char *recipient, const char *purpose)
{
    const char *parts[4] = { subject, controller, recipient, purpose };
    size_t n = 0;
    for (int i = 0; i < 4; i++) {
        size_t len = strlen (parts[i]);
        if (n + len + 1 > size)
            return 0;
        memcpy (buf + n, parts[i], len);
        n += len;
        buf[n++] = '\0';
    }
    return n;
}

/*  consent.ends key: end time (u64 BE) then the id. */
static size_t
s_end_key (uint8_t *buf, int64_t end, const char *id)
{
    size_t len = strlen (id);
    s_put_be64 (buf, (uint64_t) end);
    memcpy (buf + 8, id, len);
    return 8 + len;
}

/*  consent.events key: id \0 seq (u32 BE). */
static size_t
s_event_key (uint8_t *buf, const char *id, uint32_t seq)
{
    size_t len = strlen (id);
    memcpy (buf, id, len);
    buf[len] = '\0';
    s_put_be32 (buf + len + 1, seq);
    return len + 5;
}

/*  True if record type pattern `pattern` (exact, or "prefix.*") covers `type`. */
static bool
s_type_covers (const char *pattern, const char *type)
{
    size_t len = strlen (pattern);
    if (len >= 2 && pattern[len - 1] == '*' && pattern[len - 2] == '.')
        return strncmp (type, pattern, len - 1) == 0 && strlen (type) > len - 1;
    return strcmp (pattern, type) == 0;
}

/* --------------------------------------------------------------------- */
/*  Records                                                                 */

static void
s_record_free (sl_consent_record_t *rec)
{
    if (!rec)
        return;
    if (rec->terms)
        protobuf_c_message_free_unpacked (&rec->terms->base, NULL);
    for (size_t i = 0; i < rec->history_count; i++)
        protobuf_c_message_free_unpacked (&rec->history[i]->base, NULL);
    free (rec->history);
    free (rec);
}

void
sl_consent_record_destroy (sl_consent_record_t **record_p)
{
    assert (record_p);
    s_record_free (*record_p);
    *record_p = NULL;
}

static int
s_record_decode (const MDB_val *val, sl_consent_record_t **rec_p)
{
    const uint8_t *p = val->mv_data;
    if (val->mv_size < S_HEADER_SIZE || p[0] != S_FORMAT_VERSION
        || (p[1] != S_STATE_ACTIVE && p[1] != S_STATE_WITHDRAWN))
        return SL_ECORRUPT;
    sl_consent_record_t *rec = calloc (1, sizeof *rec);
    if (!rec)
        return SL_ENOMEM;
    rec->state = p[1];
    rec->event_count = s_get_be32 (p + 4);
    rec->withdrawn_at = (int64_t) s_get_be64 (p + 8);
    rec->updated_at = (int64_t) s_get_be64 (p + 16);
    rec->terms = sluice__v1__consent_event__unpack (NULL, val->mv_size - S_HEADER_SIZE,
                                                    p + S_HEADER_SIZE);
    if (!rec->terms) {
        free (rec);
        return SL_ECORRUPT;
    }
    *rec_p = rec;
    return SL_OK;
}

/*  Loads a record by id (`len` bytes). SL_ENOTFOUND if absent. */
static int
s_record_load (sl_consent_t *self, MDB_txn *txn, const char *id, size_t len,
               sl_consent_record_t **rec_p)
{
    MDB_val key = { len, (void *) id }, val;
    int rc = s_get (self, txn, self->records, &key, &val);
    if (rc)
        return sl_lmdb_rc (rc);
    return s_record_decode (&val, rec_p);
}

/*  Writes the record header and packed terms under terms->consent_id. */
static int
s_record_store (sl_consent_t *self, MDB_txn *txn, const Sluice__V1__ConsentEvent *terms,
                uint8_t state, uint32_t event_count, int64_t withdrawn_at,
                int64_t updated_at, unsigned flags)
{
    size_t packed = sluice__v1__consent_event__get_packed_size (terms);
    MDB_val key = { strlen (terms->consent_id), terms->consent_id };
    MDB_val val = { S_HEADER_SIZE + packed, NULL };
    int rc = mdb_put (txn, self->records, &key, &val, flags | MDB_RESERVE);
    if (rc)
        return sl_lmdb_rc (rc);
    uint8_t *p = val.mv_data;
    p[0] = S_FORMAT_VERSION;
    p[1] = state;
    p[2] = p[3] = 0;
    s_put_be32 (p + 4, event_count);
    s_put_be64 (p + 8, (uint64_t) withdrawn_at);
    s_put_be64 (p + 16, (uint64_t) updated_at);
    sluice__v1__consent_event__pack (terms, p + S_HEADER_SIZE);
    return SL_OK;
}

static int
s_event_store (sl_consent_t *self, MDB_txn *txn, const Sluice__V1__ConsentEvent *ev,
               uint32_t seq)
{
    uint8_t kbuf[SL_CONSENT_ID_MAX + 8];
    MDB_val key = { s_event_key (kbuf, ev->consent_id, seq), kbuf };
    MDB_val val = { sluice__v1__consent_event__get_packed_size (ev), NULL };
    int rc = mdb_put (txn, self->events, &key, &val, MDB_NOOVERWRITE | MDB_RESERVE);
    if (rc)
        return sl_lmdb_rc (rc);
    sluice__v1__consent_event__pack (ev, val.mv_data);
    return SL_OK;
}

static int
s_end_put (sl_consent_t *self, MDB_txn *txn, int64_t end, const char *id, uint8_t reason)
{
    uint8_t kbuf[8 + SL_CONSENT_ID_MAX];
    MDB_val key = { s_end_key (kbuf, end, id), kbuf };
    MDB_val val = { 1, &reason };
    return sl_lmdb_rc (mdb_put (txn, self->ends, &key, &val, 0));
}

static int
s_end_del (sl_consent_t *self, MDB_txn *txn, int64_t end, const char *id)
{
    uint8_t kbuf[8 + SL_CONSENT_ID_MAX];
    MDB_val key = { s_end_key (kbuf, end, id), kbuf };
    int rc = mdb_del (txn, self->ends, &key, NULL);
    return rc == MDB_NOTFOUND ? SL_OK : sl_lmdb_rc (rc);
}

/*  Status of a record at `at`, from its window and withdrawal. */
static sl_consent_status_code_t
s_status (int64_t valid_from, int64_t valid_to, int64_t withdrawn_at, int64_t at)
{
    if (withdrawn_at && at >= withdrawn_at)
        return SL_CONSENT_STATUS_WITHDRAWN;
    if (at < valid_from)
        return SL_CONSENT_STATUS_NOT_YET_VALID;
    if (valid_to && at >= valid_to)
        return SL_CONSENT_STATUS_EXPIRED;
    return SL_CONSENT_STATUS_VALID;
}

sl_consent_status_code_t
sl_consent_record_status (const sl_consent_record_t *record, int64_t at)
{
    assert (record);
    return s_status (record->terms->valid_from, record->terms->valid_to,
                     record->withdrawn_at, at);
}

/* --------------------------------------------------------------------- */
/*  Lifecycle                                                               */

sl_consent_t *
sl_consent_new (MDB_txn *txn, int *rc_p)
{
    static const char *const names[4] = {
        "consent.records", "consent.events", "consent.index", "consent.ends" };
    int rc = SL_OK;
    sl_consent_t *self = NULL;
    assert (txn);

    if (sodium_init () < 0) {
        rc = SL_ESTORE;
        goto out;
    }
    self = calloc (1, sizeof *self);
    if (!self) {
        rc = SL_ENOMEM;
        goto out;
    }
    MDB_dbi *dbis[4] = { &self->records, &self->events, &self->index, &self->ends };
    for (int i = 0; i < 4; i++) {
        int mrc = mdb_dbi_open (txn, names[i], MDB_CREATE, dbis[i]);
        if (mrc == EACCES || mrc == MDB_NOTFOUND) {
            /* read-only transaction and the database does not exist yet */
            rc = SL_ENOTFOUND;
            goto out;
        }
        if (mrc) {
            rc = SL_ESTORE;
            goto out;
        }
    }
out:
    if (rc_p)
        *rc_p = rc;
    if (rc) {
        free (self);
        return NULL;
    }
    return self;
}

void
sl_consent_destroy (sl_consent_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

void
sl_consent_stats (sl_consent_t *self, sl_consent_stats_t *stats)
{
    assert (self && stats);
    stats->gets = __atomic_load_n (&self->stats.gets, __ATOMIC_RELAXED);
    stats->cursor_ops = __atomic_load_n (&self->stats.cursor_ops, __ATOMIC_RELAXED);
}

void
sl_consent_stats_reset (sl_consent_t *self)
{
    assert (self);
    __atomic_store_n (&self->stats.gets, 0, __ATOMIC_RELAXED);
    __atomic_store_n (&self->stats.cursor_ops, 0, __ATOMIC_RELAXED);
}

/* --------------------------------------------------------------------- */
/*  Role rule                                                               */

bool
sl_consent_role_allows (sl_consent_via_t via, const char *role, const char *controller)
{
    if (s_empty (role) || s_empty (controller))
        return false;
    if (via == SL_CONSENT_VIA_DATA)
        return sl_role_is_consent_source (role);
    if (via == SL_CONSENT_VIA_ADMIN)
        return sl_role_administers (role, controller);
    return false;
}

static int
s_check_role (const sl_consent_actor_t *actor, const char *controller,
              const char *what, sl_consent_result_t *result)
{
    for (const char *const *r = actor->roles; r && *r; r++)
        if (sl_consent_role_allows (actor->via, *r, controller))
            return SL_OK;
    char roles[96] = "";
    size_t n = 0;
    for (const char *const *r = actor->roles; r && *r && n < sizeof roles; r++)
        n += (size_t) snprintf (roles + n, sizeof roles - n, "%s%s", n ? "," : "", *r);
    if (actor->via == SL_CONSENT_VIA_DATA)
        return s_fail (result, SL_EPERM,
                       "%s refused: member '%s' (roles: %s) may not publish consent "
                       "events; the data plane accepts them only from role consent-source",
                       what, actor->name ? actor->name : "?", *roles ? roles : "none");
    return s_fail (result, SL_EPERM,
                   "%s refused: '%s' (roles: %s) may not change consents of controller "
                   "'%s'; needs role admin:%s or admin:city",
                   what, actor->name ? actor->name : "?", *roles ? roles : "none",
                   controller, controller);
}

/* --------------------------------------------------------------------- */
/*  Validation of a grant                                                   */

static int
s_check_time (const char *name, int64_t t, sl_consent_result_t *result)
{
    if (t < 0 || t > S_TIME_MAX)
        return s_fail (result, SL_EINVAL,
                       "%s %" PRId64 " is out of range: use Unix seconds UTC, 0..%" PRId64,
                       name, t, S_TIME_MAX);
    return SL_OK;
}

static int
s_check_name (const char *what, const char *value, size_t max, bool token,
              sl_consent_result_t *result)
{
    if (s_empty (value))
        return s_fail (result, SL_EINVAL, "%s is missing", what);
    if (strlen (value) > max)
        return s_fail (result, SL_EINVAL, "%s '%.40s...' is longer than %zu bytes",
                       what, value, max);
    if (token && !s_is_token (value))
        return s_fail (result, SL_EINVAL,
                       "%s '%s' has characters other than letters, digits and . _ : -",
                       what, value);
    if (!token && !s_is_printable (value))
        return s_fail (result, SL_EINVAL, "%s holds control characters", what);
    return SL_OK;
}

static int
s_check_text (const char *what, const char *value, sl_consent_result_t *result)
{
    if (s_empty (value))
        return SL_OK;
    if (strlen (value) > S_TEXT_MAX)
        return s_fail (result, SL_EINVAL, "%s is longer than %d bytes", what, S_TEXT_MAX);
    if (!s_is_printable (value))
        return s_fail (result, SL_EINVAL, "%s holds control characters", what);
    return SL_OK;
}

/*  Validates a record type pattern against the schema registry. */
static int
s_check_record_type (const char *pattern, const char *controller, size_t i,
                     sl_consent_result_t *result)
{
    if (s_empty (pattern))
        return s_fail (result, SL_EINVAL, "record_types[%zu] is empty", i);
    size_t len = strlen (pattern);
    const char *star = strchr (pattern, '*');
    if (star) {
        if (star != pattern + len - 1 || len < 3 || pattern[len - 2] != '.')
            return s_fail (result, SL_EINVAL,
                           "record_types[%zu] '%s': a wildcard must be a whole last "
                           "name part, as in 'water.v1.*'", i, pattern);
        size_t matched = 0;
        for (size_t k = 0; k < sl_schema_count (); k++) {
            const sl_schema_t *s = sl_schema_at (k);
            if (!s_type_covers (pattern, s->record_type))
                continue;
            if (strcmp (s->owner, controller) != 0)
                return s_fail (result, SL_EINVAL,
                               "record_types[%zu] '%s' covers %s, owned by %s, not by "
                               "controller %s", i, pattern, s->record_type, s->owner,
                               controller);
            matched++;
        }
        if (!matched)
            return s_fail (result, SL_EINVAL,
                           "record_types[%zu] '%s' matches no known record type", i, pattern);
        return SL_OK;
    }
    const sl_schema_t *s = sl_schema_find (pattern);
    if (!s)
        return s_fail (result, SL_EINVAL, "record_types[%zu]: unknown record type '%s'",
                       i, pattern);
    if (strcmp (s->owner, controller) != 0)
        return s_fail (result, SL_EINVAL,
                       "record_types[%zu]: %s is owned by %s, not by controller %s",
                       i, pattern, s->owner, controller);
    return SL_OK;
}

static bool
s_field_known (const Sluice__V1__ConsentEvent *ev, const char *field)
{
    for (size_t k = 0; k < sl_schema_count (); k++) {
        const sl_schema_t *s = sl_schema_at (k);
        for (size_t i = 0; i < ev->n_record_types; i++)
            if (s_type_covers (ev->record_types[i], s->record_type)
                && sl_schema_field (s, field))
                return true;
    }
    return false;
}

static int
s_check_list_dups (const char *what, char **items, size_t n, sl_consent_result_t *result)
{
    if (n > S_LIST_MAX)
        return s_fail (result, SL_EINVAL, "%s lists %zu entries; at most %d",
                       what, n, S_LIST_MAX);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp (items[i], items[j]) == 0)
                return s_fail (result, SL_EINVAL, "%s[%zu] '%s' is listed twice",
                               what, i, items[i]);
    return SL_OK;
}

static int
s_validate_grant (const Sluice__V1__ConsentEvent *ev, int64_t valid_from,
                  sl_consent_result_t *result)
{
    int rc;
    if (!s_empty (ev->consent_id)
        && (rc = s_check_name ("consent_id", ev->consent_id, SL_CONSENT_ID_MAX, true, result)))
        return rc;
    if ((rc = s_check_name ("subject", ev->subject, S_SUBJECT_MAX, false, result))
        || (rc = s_check_name ("recipient", ev->recipient, S_NAME_MAX, true, result)))
        return rc;
    if (ev->n_purposes == 0)
        return s_fail (result, SL_EINVAL, "purposes is empty: a consent needs at least one purpose");
    for (size_t i = 0; i < ev->n_purposes; i++) {
        char what[32];
        snprintf (what, sizeof what, "purposes[%zu]", i);
        if ((rc = s_check_name (what, ev->purposes[i], S_NAME_MAX, true, result)))
            return rc;
    }
    if ((rc = s_check_list_dups ("purposes", ev->purposes, ev->n_purposes, result)))
        return rc;
    if (ev->n_record_types == 0)
        return s_fail (result, SL_EINVAL,
                       "record_types is empty: name the record types covered "
                       "(exact, or a wildcard like 'water.v1.*')");
    for (size_t i = 0; i < ev->n_record_types; i++)
        if ((rc = s_check_record_type (ev->record_types[i], ev->controller, i, result)))
            return rc;
    if ((rc = s_check_list_dups ("record_types", ev->record_types, ev->n_record_types, result)))
        return rc;
    size_t csv = 0;
    for (size_t i = 0; i < ev->n_fields; i++) {
        char what[32];
        snprintf (what, sizeof what, "fields[%zu]", i);
        if ((rc = s_check_name (what, ev->fields[i], S_NAME_MAX, true, result)))
            return rc;
        if (!s_field_known (ev, ev->fields[i]))
            return s_fail (result, SL_EINVAL,
                           "fields[%zu] '%s' is not a field of any covered record type",
                           i, ev->fields[i]);
        csv += strlen (ev->fields[i]) + 1;
    }
    if (csv > SL_CONSENT_FIELDS_MAX)
        return s_fail (result, SL_EINVAL, "fields are too many: the list is longer than %d bytes",
                       SL_CONSENT_FIELDS_MAX);
    if ((rc = s_check_list_dups ("fields", ev->fields, ev->n_fields, result)))
        return rc;
    if ((rc = s_check_time ("valid_from", ev->valid_from, result))
        || (rc = s_check_time ("valid_to", ev->valid_to, result)))
        return rc;
    if (ev->valid_to && ev->valid_to <= valid_from)
        return s_fail (result, SL_EINVAL,
                       "valid_to %" PRId64 " is not after valid_from %" PRId64
                       ": the consent would never be valid", ev->valid_to, valid_from);
    if ((rc = s_check_text ("collection_method", ev->collection_method, result))
        || (rc = s_check_text ("evidence", ev->evidence, result))
        || (rc = s_check_text ("jurisdiction", ev->jurisdiction, result)))
        return rc;
    return SL_OK;
}

/*  For renewals and withdrawals: the event may repeat the parties (they must
 *  match) but may not carry a scope. */
static int
s_validate_change (const Sluice__V1__ConsentEvent *ev, const sl_consent_record_t *rec,
                   const char *what, sl_consent_result_t *result)
{
    const Sluice__V1__ConsentEvent *t = rec->terms;
    const char *names[3] = { "subject", "controller", "recipient" };
    const char *given[3] = { ev->subject, ev->controller, ev->recipient };
    const char *stored[3] = { t->subject, t->controller, t->recipient };
    for (int i = 0; i < 3; i++)
        if (!s_empty (given[i]) && strcmp (given[i], stored[i]) != 0)
            return s_fail (result, SL_EINVAL,
                           "%s of consent %s: %s does not match the consent's %s",
                           what, t->consent_id, names[i], names[i]);
    if (ev->n_purposes || ev->n_record_types || ev->n_fields)
        return s_fail (result, SL_EINVAL,
                       "%s of consent %s may not carry purposes, record_types or fields: "
                       "the scope of a consent never changes; grant a new consent",
                       what, t->consent_id);
    return SL_OK;
}

/* --------------------------------------------------------------------- */
/*  Apply                                                                   */

static int
s_generate_id (sl_consent_t *self, MDB_txn *txn, char *id)
{
    for (int attempt = 0; attempt < 4; attempt++) {
        uint8_t raw[12];
        randombytes_buf (raw, sizeof raw);
        id[0] = 'c';
        id[1] = '-';
        sodium_bin2hex (id + 2, SL_CONSENT_ID_MAX - 1, raw, sizeof raw);
        MDB_val key = { strlen (id), id }, val;
        int rc = s_get (self, txn, self->records, &key, &val);
        if (rc == MDB_NOTFOUND)
            return SL_OK;
        if (rc)
            return sl_lmdb_rc (rc);
    }
    return SL_EEXIST;
}

static int
s_apply_grant (sl_consent_t *self, MDB_txn *txn, const Sluice__V1__ConsentEvent *event,
               const sl_consent_actor_t *actor, int64_t now, int64_t time,
               sl_consent_result_t *result)
{
    int rc;
    if ((rc = s_check_name ("controller", event->controller, S_NAME_MAX, true, result)))
        return rc;
    if ((rc = s_check_role (actor, event->controller, "grant", result)))
        return rc;
    int64_t valid_from = event->valid_from ? event->valid_from : now;
    if ((rc = s_validate_grant (event, valid_from, result)))
        return rc;

    char id[SL_CONSENT_ID_MAX + 1];
    if (s_empty (event->consent_id)) {
        if ((rc = s_generate_id (self, txn, id)))
            return s_fail (result, rc, "could not make a consent id: %s", sl_strerror (rc));
    }
    else {
        snprintf (id, sizeof id, "%s", event->consent_id);
        MDB_val key = { strlen (id), id }, val;
        rc = s_get (self, txn, self->records, &key, &val);
        if (rc == 0)
            return s_fail (result, SL_EEXIST,
                           "consent %s already exists: renew or withdraw it, or grant "
                           "with another id", id);
        if (rc != MDB_NOTFOUND)
            return s_fail (result, sl_lmdb_rc (rc), "reading consent %s: %s", id,
                           mdb_strerror (rc));
    }
    snprintf (result->consent_id, sizeof result->consent_id, "%s", id);

    /* Stored event = stored terms: the event as given, completed. */
    Sluice__V1__ConsentEvent ev = *event;
    ev.consent_id = id;
    ev.kind = SLUICE__V1__CONSENT_EVENT__KIND__GIVEN;
    ev.valid_from = valid_from;
    ev.time = time;
    ev.actor = (char *) (actor->name ? actor->name : "");
    ev.recorded = now;

    if ((rc = s_record_store (self, txn, &ev, S_STATE_ACTIVE, 1, 0, now, MDB_NOOVERWRITE))
        || (rc = s_event_store (self, txn, &ev, 0)))
        goto store_error;
    for (size_t i = 0; i < ev.n_purposes; i++) {
        uint8_t kbuf[S_KEY_MAX];
        size_t n = s_index_prefix (kbuf, sizeof kbuf, ev.subject, ev.controller,
                                   ev.recipient, ev.purposes[i]);
        size_t idlen = strlen (id);
        assert (n && n + idlen <= sizeof kbuf);     /* lengths were validated */
        memcpy (kbuf + n, id, idlen);
        MDB_val key = { n + idlen, kbuf }, val = { 0, "" };
        if ((rc = sl_lmdb_rc (mdb_put (txn, self->index, &key, &val, 0))))
            goto store_error;
    }
    if (ev.valid_to && (rc = s_end_put (self, txn, ev.valid_to, id, S_END_EXPIRED)))
        goto store_error;
    s_epoch_bump (self, ev.subject);
    return SL_OK;

store_error:
    return s_fail (result, rc, "storing consent %s: %s; abort the transaction", id,
                   sl_strerror (rc));
}

static int
s_apply_change (sl_consent_t *self, MDB_txn *txn, const Sluice__V1__ConsentEvent *event,
                const sl_consent_actor_t *actor, int64_t now, int64_t time,
                sl_consent_result_t *result, sl_consent_record_t **rec_p)
{
    bool renew = event->kind == SLUICE__V1__CONSENT_EVENT__KIND__RENEWED;
    const char *what = renew ? "renewal" : "withdrawal";
    sl_consent_record_t *rec = NULL;
    int rc;

    if (s_empty (event->consent_id))
        return s_fail (result, SL_EINVAL, "%s needs consent_id", what);
    if (strlen (event->consent_id) > SL_CONSENT_ID_MAX || !s_is_token (event->consent_id))
        return s_fail (result, SL_ENOTFOUND, "%s: unknown consent id '%.64s'", what,
                       event->consent_id);
    rc = s_record_load (self, txn, event->consent_id, strlen (event->consent_id), &rec);
    if (rc == SL_ENOTFOUND)
        return s_fail (result, rc, "%s: unknown consent id '%s'", what, event->consent_id);
    if (rc)
        return s_fail (result, rc, "%s: reading consent %s: %s", what, event->consent_id,
                       sl_strerror (rc));
    snprintf (result->consent_id, sizeof result->consent_id, "%s", event->consent_id);

    Sluice__V1__ConsentEvent t = *rec->terms;      /* shallow: modified copy of the terms */
    if ((rc = s_check_role (actor, t.controller, what, result))
        || (rc = s_validate_change (event, rec, what, result)))
        goto out;
    if (rec->state == S_STATE_WITHDRAWN) {
        rc = renew
           ? s_fail (result, SL_EINVAL,
                     "consent %s was withdrawn at %" PRId64 " and cannot be renewed; "
                     "grant a new consent", t.consent_id, rec->withdrawn_at)
           : s_fail (result, SL_EEXIST, "consent %s is already withdrawn (at %" PRId64 ")",
                     t.consent_id, rec->withdrawn_at);
        goto out;
    }
    if ((rc = s_check_text ("collection_method", event->collection_method, result))
        || (rc = s_check_text ("evidence", event->evidence, result))
        || (rc = s_check_text ("jurisdiction", event->jurisdiction, result)))
        goto out;

    sl_consent_status_code_t before = sl_consent_record_status (rec, now);
    int64_t old_end = t.valid_to;       /* consent.ends key now (0 = none) */
    int64_t withdrawn_at = 0;
    uint8_t state = S_STATE_ACTIVE, end_reason = S_END_EXPIRED;
    int64_t new_end;

    Sluice__V1__ConsentEvent ev = *event;
    ev.time = time;
    ev.actor = (char *) (actor->name ? actor->name : "");
    ev.recorded = now;

    if (renew) {
        if ((rc = s_check_time ("valid_from", event->valid_from, result))
            || (rc = s_check_time ("valid_to", event->valid_to, result)))
            goto out;
        if (event->valid_from)
            t.valid_from = event->valid_from;
        t.valid_to = event->valid_to;
        if (t.valid_to && t.valid_to <= t.valid_from) {
            rc = s_fail (result, SL_EINVAL,
                         "valid_to %" PRId64 " is not after valid_from %" PRId64
                         ": the renewed consent would never be valid", t.valid_to, t.valid_from);
            goto out;
        }
        if (!s_empty (event->collection_method))
            t.collection_method = event->collection_method;
        if (!s_empty (event->evidence))
            t.evidence = event->evidence;
        if (!s_empty (event->jurisdiction))
            t.jurisdiction = event->jurisdiction;
        new_end = t.valid_to;
        ev.valid_from = t.valid_from;
        ev.valid_to = t.valid_to;
    }
    else {
        if (event->valid_from || event->valid_to) {
            rc = s_fail (result, SL_EINVAL,
                         "withdrawal of consent %s may not carry valid_from or valid_to: "
                         "a withdrawal takes effect when it is applied", t.consent_id);
            goto out;
        }
        state = S_STATE_WITHDRAWN;
        withdrawn_at = now;
        if (t.valid_to && t.valid_to <= now)
            new_end = t.valid_to;            /* had already expired: end stays */
        else {
            new_end = now;
            end_reason = S_END_WITHDRAWN;
        }
    }
    ev.consent_id = t.consent_id;

    sl_consent_status_code_t after = s_status (t.valid_from, t.valid_to, withdrawn_at, now);
    if ((old_end && (rc = s_end_del (self, txn, old_end, t.consent_id)))
        || (new_end && (rc = s_end_put (self, txn, new_end, t.consent_id, end_reason)))
        || (rc = s_event_store (self, txn, &ev, rec->event_count))
        || (rc = s_record_store (self, txn, &t, state, rec->event_count + 1,
                                 withdrawn_at, now, 0))) {
        rc = s_fail (result, rc, "storing consent %s: %s; abort the transaction",
                     t.consent_id, sl_strerror (rc));
        goto out;
    }
    result->access_ended = before == SL_CONSENT_STATUS_VALID && after != SL_CONSENT_STATUS_VALID;
    s_epoch_bump (self, t.subject);
    if (rec_p) {
        /* Reload rather than patch: the returned record must own its strings. */
        sl_consent_record_t *fresh = NULL;
        rc = s_record_load (self, txn, t.consent_id, strlen (t.consent_id), &fresh);
        if (rc) {
            rc = s_fail (result, rc, "reading back consent %s: %s", t.consent_id,
                         sl_strerror (rc));
            goto out;
        }
        *rec_p = fresh;
    }
    rc = SL_OK;
out:
    s_record_free (rec);
    return rc;
}

int
sl_consent_apply (sl_consent_t *self, MDB_txn *txn, const Sluice__V1__ConsentEvent *event,
                  const sl_consent_actor_t *actor, int64_t now,
                  sl_consent_result_t *result, sl_consent_record_t **record_p)
{
    assert (self && txn && event && actor && result);
    memset (result, 0, sizeof *result);
    result->kind = event->kind;
    result->effective = now;
    if (record_p)
        *record_p = NULL;
    int rc;

    if (now < 0 || now > S_TIME_MAX)
        return s_fail (result, SL_EINVAL, "registry time %" PRId64 " is out of range", now);
    if (actor->via != SL_CONSENT_VIA_DATA && actor->via != SL_CONSENT_VIA_ADMIN)
        return s_fail (result, SL_EINVAL, "actor channel (via) is not set");
    if ((rc = s_check_time ("time", event->time, result)))
        return rc;
    int64_t time = event->time ? event->time : now;

    switch (event->kind) {
        case SLUICE__V1__CONSENT_EVENT__KIND__GIVEN:
            rc = s_apply_grant (self, txn, event, actor, now, time, result);
            if (rc == 0 && record_p) {
                rc = s_record_load (self, txn, result->consent_id,
                                    strlen (result->consent_id), record_p);
                if (rc)
                    s_fail (result, rc, "reading back consent %s: %s", result->consent_id,
                            sl_strerror (rc));
            }
            return rc;
        case SLUICE__V1__CONSENT_EVENT__KIND__RENEWED:
        case SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN:
            return s_apply_change (self, txn, event, actor, now, time, result, record_p);
        default:
            return s_fail (result, SL_EINVAL,
                           "event kind is missing or unknown (%d): use GIVEN, RENEWED "
                           "or WITHDRAWN", (int) event->kind);
    }
}

/* --------------------------------------------------------------------- */
/*  Decide                                                                  */

static int
s_rank (sl_consent_status_code_t s)
{
    switch (s) {
        case SL_CONSENT_STATUS_VALID: return 4;
        case SL_CONSENT_STATUS_NOT_YET_VALID: return 3;
        case SL_CONSENT_STATUS_WITHDRAWN: return 2;
        case SL_CONSENT_STATUS_EXPIRED: return 1;
        default: return 0;
    }
}

static void
s_decision_set (sl_consent_decision_t *d, sl_consent_status_code_t status,
                const sl_consent_record_t *rec)
{
    const Sluice__V1__ConsentEvent *t = rec->terms;
    d->status = status;
    snprintf (d->consent_id, sizeof d->consent_id, "%s", t->consent_id);
    d->valid_from = t->valid_from;
    d->valid_to = t->valid_to;
    d->withdrawn_at = rec->withdrawn_at;
    d->fields[0] = '\0';
    size_t n = 0;
    for (size_t i = 0; i < t->n_fields && n < sizeof d->fields; i++)
        n += (size_t) snprintf (d->fields + n, sizeof d->fields - n, "%s%s",
                                i ? "," : "", t->fields[i]);
}

static bool
s_record_covers_type (const sl_consent_record_t *rec, const char *record_type)
{
    for (size_t i = 0; i < rec->terms->n_record_types; i++)
        if (s_type_covers (rec->terms->record_types[i], record_type))
            return true;
    return false;
}

int
sl_consent_check (sl_consent_t *self, MDB_txn *txn, const char *subject,
                  const char *controller, const char *recipient, const char *purpose,
                  const char *record_type, int64_t at, sl_consent_decision_t *decision)
{
    assert (self && txn && decision);
    memset (decision, 0, sizeof *decision);
    decision->status = SL_CONSENT_STATUS_MISSING;
    if (s_empty (subject) || s_empty (controller) || s_empty (recipient)
        || s_empty (purpose) || s_empty (record_type))
        return SL_EINVAL;

    uint8_t prefix[S_KEY_MAX];
    size_t plen = s_index_prefix (prefix, sizeof prefix, subject, controller,
                                  recipient, purpose);
    if (plen == 0)
        return SL_OK;               /* longer than any stored key: nothing covers it */

    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open (txn, self->index, &cur);
    if (rc)
        return sl_lmdb_rc (rc);
    MDB_val key = { plen, prefix }, val;
    int best = 0;
    int64_t next = 0;
    for (rc = s_cursor_get (self, cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = s_cursor_get (self, cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size <= plen || memcmp (key.mv_data, prefix, plen) != 0)
            break;
        sl_consent_record_t *rec = NULL;
        int lrc = s_record_load (self, txn, (const char *) key.mv_data + plen,
                                 key.mv_size - plen, &rec);
        if (lrc) {
            rc = lrc == SL_ENOTFOUND ? SL_ECORRUPT : lrc;   /* index without record */
            goto out;
        }
        if (s_record_covers_type (rec, record_type)) {
            sl_consent_status_code_t st = sl_consent_record_status (rec, at);
            /* a covering consent that starts or ends later may change the answer */
            int64_t vf = rec->terms->valid_from, vt = rec->terms->valid_to;
            if (!rec->withdrawn_at && vf > at && (!next || vf < next))
                next = vf;
            if (!rec->withdrawn_at && vt > at && (!next || vt < next))
                next = vt;
            if (s_rank (st) > best) {
                best = s_rank (st);
                s_decision_set (decision, st, rec);
            }
        }
        s_record_free (rec);
        if (best == s_rank (SL_CONSENT_STATUS_VALID))
            break;
    }
    rc = rc == MDB_NOTFOUND || rc == 0 ? SL_OK : sl_lmdb_rc (rc);
    decision->next_change = next;
out:
    mdb_cursor_close (cur);
    if (rc) {
        memset (decision, 0, sizeof *decision);
        decision->status = SL_CONSENT_STATUS_MISSING;
    }
    return rc;
}

int
sl_consent_check_cb (void *binding, const char *subject, const char *controller,
                     const char *recipient, const char *purpose, const char *record_type,
                     int64_t at, sl_consent_decision_t *decision)
{
    sl_consent_binding_t *b = binding;
    assert (b);
    return sl_consent_check (b->registry, b->txn, subject, controller, recipient,
                             purpose, record_type, at, decision);
}

sl_consent_status_code_t
sl_consent_status (void *binding, const char *subject, const char *controller,
                   const char *recipient, const char *purpose, const char *record_type,
                   int64_t at)
{
    sl_consent_decision_t d;
    int rc = sl_consent_check_cb (binding, subject, controller, recipient, purpose,
                                  record_type, at, &d);
    if (rc && rc != SL_EINVAL)
        sl_error ("consent.check.error", "rc=%d error=\"%s\" record=%s purpose=%s",
                  rc, sl_strerror (rc), record_type ? record_type : "-",
                  purpose ? purpose : "-");
    return d.status;
}

const char *
sl_consent_status_reason (sl_consent_status_code_t status)
{
    switch (status) {
        case SL_CONSENT_STATUS_VALID: return "consent-valid";
        case SL_CONSENT_STATUS_MISSING: return "consent-missing";
        case SL_CONSENT_STATUS_EXPIRED: return "consent-expired";
        case SL_CONSENT_STATUS_WITHDRAWN: return "consent-withdrawn";
        case SL_CONSENT_STATUS_NOT_YET_VALID: return "consent-not-yet-valid";
    }
    return "consent-missing";
}

bool
sl_consent_decision_allows_field (const sl_consent_decision_t *decision, const char *field)
{
    if (!decision || !field || decision->status != SL_CONSENT_STATUS_VALID)
        return false;
    if (decision->fields[0] == '\0')
        return true;
    size_t len = strlen (field);
    for (const char *p = decision->fields; *p; ) {
        const char *comma = strchr (p, ',');
        size_t n = comma ? (size_t) (comma - p) : strlen (p);
        if (n == len && memcmp (p, field, n) == 0)
            return true;
        if (!comma)
            break;
        p = comma + 1;
    }
    return false;
}

/* --------------------------------------------------------------------- */
/*  Read                                                                    */

int
sl_consent_get (sl_consent_t *self, MDB_txn *txn, const char *consent_id,
                sl_consent_record_t **record_p)
{
    assert (self && txn && record_p);
    *record_p = NULL;
    if (s_empty (consent_id) || strlen (consent_id) > SL_CONSENT_ID_MAX)
        return s_empty (consent_id) ? SL_EINVAL : SL_ENOTFOUND;
    sl_consent_record_t *rec = NULL;
    MDB_cursor *cur = NULL;
    int rc = s_record_load (self, txn, consent_id, strlen (consent_id), &rec);
    if (rc)
        goto out;
    rec->history = calloc (rec->event_count ? rec->event_count : 1, sizeof *rec->history);
    if (!rec->history) {
        rc = SL_ENOMEM;
        goto out;
    }
    if ((rc = sl_lmdb_rc (mdb_cursor_open (txn, self->events, &cur))))
        goto out;
    for (uint32_t seq = 0; seq < rec->event_count; seq++) {
        uint8_t kbuf[SL_CONSENT_ID_MAX + 8];
        MDB_val key = { s_event_key (kbuf, consent_id, seq), kbuf }, val;
        int mrc = s_cursor_get (self, cur, &key, &val, MDB_SET_KEY);
        if (mrc) {
            rc = mrc == MDB_NOTFOUND ? SL_ECORRUPT : sl_lmdb_rc (mrc);
            goto out;
        }
        Sluice__V1__ConsentEvent *ev = sluice__v1__consent_event__unpack (NULL, val.mv_size,
                                                                          val.mv_data);
        if (!ev) {
            rc = SL_ECORRUPT;
            goto out;
        }
        rec->history[rec->history_count++] = ev;
    }
out:
    if (cur)
        mdb_cursor_close (cur);
    if (rc)
        s_record_free (rec);
    else
        *record_p = rec;
    return rc;
}

int
sl_consent_list_subject (sl_consent_t *self, MDB_txn *txn, const char *subject,
                         sl_consent_each_fn *fn, void *arg)
{
    assert (self && txn && fn);
    if (s_empty (subject) || strlen (subject) > S_SUBJECT_MAX)
        return SL_EINVAL;
    size_t plen = strlen (subject) + 1;
    uint8_t prefix[S_SUBJECT_MAX + 1];
    memcpy (prefix, subject, plen);     /* includes the NUL separator */

    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open (txn, self->index, &cur);
    if (rc)
        return sl_lmdb_rc (rc);
    MDB_val key = { plen, prefix }, val;
    for (rc = s_cursor_get (self, cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = s_cursor_get (self, cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size <= plen || memcmp (key.mv_data, prefix, plen) != 0)
            break;
        /* rest: controller \0 recipient \0 purpose \0 id */
        const char *p = (const char *) key.mv_data + plen;
        const char *end = (const char *) key.mv_data + key.mv_size;
        const char *purpose = NULL, *id = NULL;
        int parts = 0;
        for (const char *q = p; q < end; q++)
            if (*q == '\0' && ++parts == 2)
                purpose = q + 1;
            else if (*q == '\0' && parts == 3) {
                id = q + 1;
                break;
            }
        if (!purpose || !id || id >= end) {
            rc = SL_ECORRUPT;
            goto out;
        }
        sl_consent_record_t *rec = NULL;
        int lrc = s_record_load (self, txn, id, (size_t) (end - id), &rec);
        if (lrc) {
            rc = lrc == SL_ENOTFOUND ? SL_ECORRUPT : lrc;
            goto out;
        }
        /* A consent has one index entry per purpose: report it at its first. */
        int frc = 0;
        if (strcmp (purpose, rec->terms->purposes[0]) == 0)
            frc = fn (rec, arg);
        s_record_free (rec);
        if (frc) {
            rc = frc;
            goto out;
        }
    }
    rc = rc == MDB_NOTFOUND || rc == 0 ? SL_OK : sl_lmdb_rc (rc);
out:
    mdb_cursor_close (cur);
    return rc;
}

int
sl_consent_each_ended (sl_consent_t *self, MDB_txn *txn, int64_t from, int64_t to,
                       sl_consent_ended_fn *fn, void *arg)
{
    assert (self && txn && fn);
    if (from > to || from < 0)
        return SL_EINVAL;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open (txn, self->ends, &cur);
    if (rc)
        return sl_lmdb_rc (rc);
    uint8_t start[8];
    s_put_be64 (start, (uint64_t) from);
    MDB_val key = { 8, start }, val;
    for (rc = s_cursor_get (self, cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = s_cursor_get (self, cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size <= 8 || val.mv_size != 1) {
            rc = SL_ECORRUPT;
            goto out;
        }
        int64_t t = (int64_t) s_get_be64 (key.mv_data);
        if (t >= to)
            break;
        sl_consent_status_code_t why = *(const uint8_t *) val.mv_data == S_END_WITHDRAWN
                                ? SL_CONSENT_STATUS_WITHDRAWN : SL_CONSENT_STATUS_EXPIRED;
        sl_consent_record_t *rec = NULL;
        int lrc = s_record_load (self, txn, (const char *) key.mv_data + 8,
                                 key.mv_size - 8, &rec);
        if (lrc) {
            rc = lrc == SL_ENOTFOUND ? SL_ECORRUPT : lrc;
            goto out;
        }
        int frc = fn (rec, why, t, arg);
        s_record_free (rec);
        if (frc) {
            rc = frc;
            goto out;
        }
    }
    rc = rc == MDB_NOTFOUND || rc == 0 ? SL_OK : sl_lmdb_rc (rc);
out:
    mdb_cursor_close (cur);
    return rc;
}

/* --------------------------------------------------------------------- */
/*  Record accessors                                                        */

const char *sl_consent_record_id (const sl_consent_record_t *r) { return r->terms->consent_id; }
const char *sl_consent_record_subject (const sl_consent_record_t *r) { return r->terms->subject; }
const char *sl_consent_record_controller (const sl_consent_record_t *r) { return r->terms->controller; }
const char *sl_consent_record_recipient (const sl_consent_record_t *r) { return r->terms->recipient; }
size_t sl_consent_record_purpose_count (const sl_consent_record_t *r) { return r->terms->n_purposes; }
size_t sl_consent_record_type_count (const sl_consent_record_t *r) { return r->terms->n_record_types; }
size_t sl_consent_record_field_count (const sl_consent_record_t *r) { return r->terms->n_fields; }
int64_t sl_consent_record_valid_from (const sl_consent_record_t *r) { return r->terms->valid_from; }
int64_t sl_consent_record_valid_to (const sl_consent_record_t *r) { return r->terms->valid_to; }
int64_t sl_consent_record_withdrawn_at (const sl_consent_record_t *r) { return r->withdrawn_at; }
const char *sl_consent_record_collection_method (const sl_consent_record_t *r) { return r->terms->collection_method; }
const char *sl_consent_record_evidence (const sl_consent_record_t *r) { return r->terms->evidence; }
const char *sl_consent_record_jurisdiction (const sl_consent_record_t *r) { return r->terms->jurisdiction; }
size_t sl_consent_record_event_count (const sl_consent_record_t *r) { return r->history_count; }

const char *
sl_consent_record_purpose (const sl_consent_record_t *r, size_t i)
{
    return i < r->terms->n_purposes ? r->terms->purposes[i] : NULL;
}

const char *
sl_consent_record_type (const sl_consent_record_t *r, size_t i)
{
    return i < r->terms->n_record_types ? r->terms->record_types[i] : NULL;
}

const char *
sl_consent_record_field (const sl_consent_record_t *r, size_t i)
{
    return i < r->terms->n_fields ? r->terms->fields[i] : NULL;
}

bool
sl_consent_record_covers (const sl_consent_record_t *r, const char *purpose,
                          const char *record_type)
{
    if (!r || !purpose || !record_type || !s_record_covers_type (r, record_type))
        return false;
    for (size_t i = 0; i < r->terms->n_purposes; i++)
        if (strcmp (r->terms->purposes[i], purpose) == 0)
            return true;
    return false;
}

const Sluice__V1__ConsentEvent *
sl_consent_record_event (const sl_consent_record_t *r, size_t i)
{
    return i < r->history_count ? r->history[i] : NULL;
}

/* --------------------------------------------------------------------- */
/*  JSON                                                                    */

static cJSON *
s_string_array (char **items, size_t n)
{
    cJSON *a = cJSON_CreateArray ();
    for (size_t i = 0; a && i < n; i++)
        if (!cJSON_AddItemToArray (a, cJSON_CreateString (items[i]))) {
            cJSON_Delete (a);
            return NULL;
        }
    return a;
}

/*  Adds the members an event and the record terms share. Returns false on
 *  out of memory. */
static bool
s_add_terms (cJSON *o, const Sluice__V1__ConsentEvent *t)
{
    cJSON *p = s_string_array (t->purposes, t->n_purposes);
    if (!cJSON_AddItemToObject (o, "purposes", p))
        return cJSON_Delete (p), false;
    cJSON *r = s_string_array (t->record_types, t->n_record_types);
    if (!cJSON_AddItemToObject (o, "record_types", r))
        return cJSON_Delete (r), false;
    cJSON *f = s_string_array (t->fields, t->n_fields);
    if (!cJSON_AddItemToObject (o, "fields", f))
        return cJSON_Delete (f), false;
    return cJSON_AddStringToObject (o, "consent_id", t->consent_id)
        && cJSON_AddStringToObject (o, "subject", t->subject)
        && cJSON_AddStringToObject (o, "controller", t->controller)
        && cJSON_AddStringToObject (o, "recipient", t->recipient)
        && cJSON_AddNumberToObject (o, "valid_from", (double) t->valid_from)
        && cJSON_AddNumberToObject (o, "valid_to", (double) t->valid_to)
        && cJSON_AddStringToObject (o, "collection_method", t->collection_method)
        && cJSON_AddStringToObject (o, "evidence", t->evidence)
        && cJSON_AddStringToObject (o, "jurisdiction", t->jurisdiction);
}

cJSON *
sl_consent_event_json (const Sluice__V1__ConsentEvent *event)
{
    assert (event);
    cJSON *o = cJSON_CreateObject ();
    if (!o || !cJSON_AddStringToObject (o, "kind", s_kind_name (event->kind))
        || !s_add_terms (o, event)
        || !cJSON_AddNumberToObject (o, "time", (double) event->time)
        || !cJSON_AddStringToObject (o, "actor", event->actor)
        || !cJSON_AddNumberToObject (o, "recorded", (double) event->recorded)) {
        cJSON_Delete (o);
        return NULL;
    }
    return o;
}

cJSON *
sl_consent_record_json (const sl_consent_record_t *record, int64_t at)
{
    assert (record);
    const Sluice__V1__ConsentEvent *t = record->terms;
    sl_consent_status_code_t st = sl_consent_record_status (record, at);
    cJSON *o = cJSON_CreateObject ();
    if (!o || !s_add_terms (o, t)
        || !cJSON_AddStringToObject (o, "state",
                                     record->state == S_STATE_WITHDRAWN ? "withdrawn" : "active")
        || !cJSON_AddNumberToObject (o, "given_at", (double) t->time)
        || !cJSON_AddStringToObject (o, "given_by", t->actor)
        || !cJSON_AddNumberToObject (o, "withdrawn_at", (double) record->withdrawn_at)
        || !cJSON_AddNumberToObject (o, "updated_at", (double) record->updated_at)
        || !cJSON_AddNumberToObject (o, "event_count", (double) record->event_count)
        || !cJSON_AddNumberToObject (o, "at", (double) at)
        || !cJSON_AddStringToObject (o, "reason", sl_consent_status_reason (st)))
        goto fail;
    if (record->history_count) {
        cJSON *h = cJSON_AddArrayToObject (o, "history");
        if (!h)
            goto fail;
        for (size_t i = 0; i < record->history_count; i++)
            if (!cJSON_AddItemToArray (h, sl_consent_event_json (record->history[i])))
                goto fail;
    }
    return o;
fail:
    cJSON_Delete (o);
    return NULL;
}

typedef struct {
    cJSON *array;
    int64_t at;
} s_list_ctx_t;

static int
s_list_json_one (const sl_consent_record_t *record, void *arg)
{
    s_list_ctx_t *ctx = arg;
    return cJSON_AddItemToArray (ctx->array, sl_consent_record_json (record, ctx->at))
         ? 0 : SL_ENOMEM;
}

cJSON *
sl_consent_list_json (sl_consent_t *self, MDB_txn *txn, const char *subject,
                      int64_t at, int *rc_p)
{
    s_list_ctx_t ctx = { cJSON_CreateArray (), at };
    int rc = ctx.array ? sl_consent_list_subject (self, txn, subject, s_list_json_one, &ctx)
                       : SL_ENOMEM;
    if (rc_p)
        *rc_p = rc;
    if (rc) {
        cJSON_Delete (ctx.array);
        return NULL;
    }
    return ctx.array;
}

/* --------------------------------------------------------------------- */
/*  Events from JSON                                                        */

void
sl_consent_event_destroy (Sluice__V1__ConsentEvent **event_p)
{
    assert (event_p);
    Sluice__V1__ConsentEvent *ev = *event_p;
    if (!ev)
        return;
    char **strings[] = { &ev->consent_id, &ev->subject, &ev->controller, &ev->recipient,
                         &ev->collection_method, &ev->evidence, &ev->jurisdiction,
                         &ev->actor };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if (*strings[i] != protobuf_c_empty_string)
            free (*strings[i]);
    for (size_t i = 0; i < ev->n_purposes; i++)
        free (ev->purposes[i]);
    for (size_t i = 0; i < ev->n_record_types; i++)
        free (ev->record_types[i]);
    for (size_t i = 0; i < ev->n_fields; i++)
        free (ev->fields[i]);
    free (ev->purposes);
    free (ev->record_types);
    free (ev->fields);
    free (ev);
    *event_p = NULL;
}

/*  A consent bound written as text, in the one time syntax (common/sl_time.h):
    a date, a date and time (without Z or an offset: the city's zone), or
    Unix seconds. Relative times ("30d", "yesterday") are refused: a stored
    bound must not depend on when it was read. */
static bool
s_parse_time (const char *s, int64_t *t)
{
    int64_t us;
    int flags;
    if (sl_time_parse (s, sl_time_city_zone (), 0, &us, &flags, NULL, 0) != 0
        || (flags & SL_TIME_RELATIVE) || us < 0)
        return false;
    *t = us / 1000000;
    return true;
}

static int
s_json_string (const cJSON *json, const char *name, char **out, char *error, size_t size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (json, name);
    if (!item || cJSON_IsNull (item))
        return SL_OK;
    if (!cJSON_IsString (item)) {
        snprintf (error, size, "member '%s' must be a string", name);
        return SL_EPARSE;
    }
    *out = strdup (item->valuestring);
    return *out ? SL_OK : SL_ENOMEM;
}

static int
s_json_strings (const cJSON *json, const char *name, char ***out, size_t *n,
                char *error, size_t size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (json, name);
    if (!item || cJSON_IsNull (item))
        return SL_OK;
    if (cJSON_IsString (item)) {
        *out = malloc (sizeof **out);
        if (!*out || !((*out)[0] = strdup (item->valuestring)))
            return SL_ENOMEM;
        *n = 1;
        return SL_OK;
    }
    if (!cJSON_IsArray (item)) {
        snprintf (error, size, "member '%s' must be an array of strings", name);
        return SL_EPARSE;
    }
    int count = cJSON_GetArraySize (item);
    *out = calloc ((size_t) count + 1, sizeof **out);
    if (!*out)
        return SL_ENOMEM;
    const cJSON *el;
    cJSON_ArrayForEach (el, item) {
        if (!cJSON_IsString (el)) {
            snprintf (error, size, "member '%s'[%zu] must be a string", name, *n);
            return SL_EPARSE;
        }
        if (!((*out)[*n] = strdup (el->valuestring)))
            return SL_ENOMEM;
        (*n)++;
    }
    return SL_OK;
}

static int
s_json_time (const cJSON *json, const char *name, int64_t *out, char *error, size_t size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive (json, name);
    if (!item || cJSON_IsNull (item))
        return SL_OK;
    if (cJSON_IsNumber (item)) {
        double v = item->valuedouble;
        if (v < 0 || v > (double) S_TIME_MAX || v != (double) (int64_t) v) {
            snprintf (error, size, "member '%s' must be whole Unix seconds >= 0", name);
            return SL_EPARSE;
        }
        *out = (int64_t) v;
        return SL_OK;
    }
    if (cJSON_IsString (item) && s_parse_time (item->valuestring, out))
        return SL_OK;
    snprintf (error, size,
              "member '%s' must be Unix seconds or a time 'YYYY-MM-DD[THH:MM[:SS]]' "
              "(with Z or an offset, else in the city's time zone)", name);
    return SL_EPARSE;
}

int
sl_consent_event_from_json (const cJSON *json, Sluice__V1__ConsentEvent **event_p,
                            char *error, size_t error_size)
{
    assert (event_p && error && error_size);
    *event_p = NULL;
    error[0] = '\0';
    if (!cJSON_IsObject (json)) {
        snprintf (error, error_size, "consent event must be a JSON object");
        return SL_EPARSE;
    }
    Sluice__V1__ConsentEvent *ev = malloc (sizeof *ev);
    if (!ev)
        return SL_ENOMEM;
    sluice__v1__consent_event__init (ev);
    int rc = SL_OK;

    const cJSON *kind = cJSON_GetObjectItemCaseSensitive (json, "kind");
    if (!cJSON_IsString (kind)) {
        snprintf (error, error_size,
                  "member 'kind' must be \"given\", \"renewed\" or \"withdrawn\"");
        rc = SL_EPARSE;
        goto out;
    }
    if (strcmp (kind->valuestring, "given") == 0)
        ev->kind = SLUICE__V1__CONSENT_EVENT__KIND__GIVEN;
    else if (strcmp (kind->valuestring, "renewed") == 0)
        ev->kind = SLUICE__V1__CONSENT_EVENT__KIND__RENEWED;
    else if (strcmp (kind->valuestring, "withdrawn") == 0)
        ev->kind = SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN;
    else {
        snprintf (error, error_size,
                  "member 'kind' is '%.40s'; use \"given\", \"renewed\" or \"withdrawn\"",
                  kind->valuestring);
        rc = SL_EPARSE;
        goto out;
    }
    if ((rc = s_json_string (json, "consent_id", &ev->consent_id, error, error_size))
        || (rc = s_json_string (json, "subject", &ev->subject, error, error_size))
        || (rc = s_json_string (json, "controller", &ev->controller, error, error_size))
        || (rc = s_json_string (json, "recipient", &ev->recipient, error, error_size))
        || (rc = s_json_string (json, "collection_method", &ev->collection_method, error, error_size))
        || (rc = s_json_string (json, "evidence", &ev->evidence, error, error_size))
        || (rc = s_json_string (json, "jurisdiction", &ev->jurisdiction, error, error_size))
        || (rc = s_json_strings (json, "purposes", &ev->purposes, &ev->n_purposes, error, error_size))
        || (rc = s_json_strings (json, "record_types", &ev->record_types, &ev->n_record_types, error, error_size))
        || (rc = s_json_strings (json, "fields", &ev->fields, &ev->n_fields, error, error_size))
        || (rc = s_json_time (json, "valid_from", &ev->valid_from, error, error_size))
        || (rc = s_json_time (json, "valid_to", &ev->valid_to, error, error_size))
        || (rc = s_json_time (json, "time", &ev->time, error, error_size)))
        goto out;
    if (cJSON_GetObjectItemCaseSensitive (json, "purpose")) {
        if (ev->n_purposes) {
            snprintf (error, error_size, "give either 'purpose' or 'purposes', not both");
            rc = SL_EPARSE;
            goto out;
        }
        if ((rc = s_json_strings (json, "purpose", &ev->purposes, &ev->n_purposes,
                                  error, error_size)))
            goto out;
    }
out:
    if (rc == SL_ENOMEM)
        snprintf (error, error_size, "out of memory");
    if (rc)
        sl_consent_event_destroy (&ev);
    *event_p = ev;
    return rc;
}

int
sl_consent_count_states (sl_consent_t *self, MDB_txn *txn, int64_t now, uint64_t *active,
                         uint64_t *expired, uint64_t *withdrawn)
{
    MDB_stat st;
    MDB_cursor *c;
    MDB_val k, v;
    *active = *expired = *withdrawn = 0;
    if (mdb_stat (txn, self->records, &st) != 0 || mdb_cursor_open (txn, self->ends, &c) != 0)
        return SL_ESTORE;
    /* every withdrawn consent ends at or before its withdrawal, so the
     * entries up to now hold both ended kinds */
    for (int rc = mdb_cursor_get (c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get (c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 8 || (int64_t) s_get_be64 (k.mv_data) > now)
            break;
        if (v.mv_size == 1 && *(const uint8_t *) v.mv_data == S_END_WITHDRAWN)
            (*withdrawn)++;
        else
            (*expired)++;
    }
    mdb_cursor_close (c);
    uint64_t total = st.ms_entries;
    *active = total > *expired + *withdrawn ? total - *expired - *withdrawn : 0;
    return 0;
}

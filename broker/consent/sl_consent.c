/*  sl_consent — the consent registry over LMDB: the store and its state
 *  machine (open, record and key formats, grant / renew / withdraw, the
 *  epochs, counts). See sl_consent.h and docs/CONSENT.md (the storage
 *  layout there is the contract). The checks of an event and the decisions
 *  are in sl_consent_check.c; reading records and their JSON forms in
 *  sl_consent_json.c; what the files share in sl_consent_int.h.
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
#include "sl_consent_int.h"

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

/* --------------------------------------------------------------------- */
/*  Epochs                                                                  */

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

/* --------------------------------------------------------------------- */
/*  Small helpers                                                           */

int
sl_consent__fail (sl_consent_result_t *result, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (result->error, sizeof result->error, fmt, ap);
    va_end (ap);
    return rc;
}

/*  Index key prefix: subject \0 controller \0 recipient \0 purpose \0.
 *  Returns its length, or 0 if it would not fit `size`. */
size_t
sl_consent__index_prefix (uint8_t *buf, size_t size, const char *subject,
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
size_t
sl_consent__event_key (uint8_t *buf, const char *id, uint32_t seq)
{
    size_t len = strlen (id);
    memcpy (buf, id, len);
    buf[len] = '\0';
    s_put_be32 (buf + len + 1, seq);
    return len + 5;
}

/* --------------------------------------------------------------------- */
/*  Records                                                                 */

void
sl_consent__record_free (sl_consent_record_t *rec)
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
    sl_consent__record_free (*record_p);
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
int
sl_consent__record_load (sl_consent_t *self, MDB_txn *txn, const char *id, size_t len,
                         sl_consent_record_t **rec_p)
{
    MDB_val key = { len, (void *) id }, val;
    int rc = s_get (self, txn, self->records, &key, &val);
    if (rc)
        return sl_lmdb_rc (rc);
    return s_record_decode (&val, rec_p);
}

int
sl_consent__record_load_indexed (sl_consent_t *self, MDB_txn *txn, const char *id, size_t len,
                                 sl_consent_record_t **rec_p)
{
    int rc = sl_consent__record_load (self, txn, id, len, rec_p);
    return rc == SL_ENOTFOUND ? SL_ECORRUPT : rc;
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
    MDB_val key = { sl_consent__event_key (kbuf, ev->consent_id, seq), kbuf };
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
    if ((rc = sl_consent__check_name ("controller", event->controller, S_NAME_MAX, true, result)))
        return rc;
    if ((rc = sl_consent__check_role (actor, event->controller, "grant", result)))
        return rc;
    int64_t valid_from = event->valid_from ? event->valid_from : now;
    if ((rc = sl_consent__validate_grant (event, valid_from, result)))
        return rc;

    char id[SL_CONSENT_ID_MAX + 1];
    if (s_empty (event->consent_id)) {
        if ((rc = s_generate_id (self, txn, id)))
            return sl_consent__fail (result, rc, "could not make a consent id: %s",
                                     sl_strerror (rc));
    }
    else {
        snprintf (id, sizeof id, "%s", event->consent_id);
        MDB_val key = { strlen (id), id }, val;
        rc = s_get (self, txn, self->records, &key, &val);
        if (rc == 0)
            return sl_consent__fail (result, SL_EEXIST,
                                     "consent %s already exists: renew or withdraw it, or grant "
                                     "with another id", id);
        if (rc != MDB_NOTFOUND)
            return sl_consent__fail (result, sl_lmdb_rc (rc), "reading consent %s: %s", id,
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
        size_t n = sl_consent__index_prefix (kbuf, sizeof kbuf, ev.subject, ev.controller,
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
    return sl_consent__fail (result, rc, "storing consent %s: %s; abort the transaction", id,
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
        return sl_consent__fail (result, SL_EINVAL, "%s needs consent_id", what);
    if (strlen (event->consent_id) > SL_CONSENT_ID_MAX || !sl_consent__is_token (event->consent_id))
        return sl_consent__fail (result, SL_ENOTFOUND, "%s: unknown consent id '%.64s'", what,
                                 event->consent_id);
    rc = sl_consent__record_load (self, txn, event->consent_id, strlen (event->consent_id), &rec);
    if (rc == SL_ENOTFOUND)
        return sl_consent__fail (result, rc, "%s: unknown consent id '%s'", what,
                                 event->consent_id);
    if (rc)
        return sl_consent__fail (result, rc, "%s: reading consent %s: %s", what, event->consent_id,
                                 sl_strerror (rc));
    snprintf (result->consent_id, sizeof result->consent_id, "%s", event->consent_id);

    Sluice__V1__ConsentEvent t = *rec->terms;      /* shallow: modified copy of the terms */
    if ((rc = sl_consent__check_role (actor, t.controller, what, result))
        || (rc = sl_consent__validate_change (event, rec, what, result)))
        goto out;
    if (rec->state == S_STATE_WITHDRAWN) {
        rc = renew
           ? sl_consent__fail (result, SL_EINVAL,
                               "consent %s was withdrawn at %" PRId64 " and cannot be renewed; "
                               "grant a new consent", t.consent_id, rec->withdrawn_at)
           : sl_consent__fail (result, SL_EEXIST,
                               "consent %s is already withdrawn (at %" PRId64 ")",
                               t.consent_id, rec->withdrawn_at);
        goto out;
    }
    if ((rc = sl_consent__check_text ("collection_method", event->collection_method, result))
        || (rc = sl_consent__check_text ("evidence", event->evidence, result))
        || (rc = sl_consent__check_text ("jurisdiction", event->jurisdiction, result)))
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
        if ((rc = sl_consent__check_time ("valid_from", event->valid_from, result))
            || (rc = sl_consent__check_time ("valid_to", event->valid_to, result)))
            goto out;
        if (event->valid_from)
            t.valid_from = event->valid_from;
        t.valid_to = event->valid_to;
        if (t.valid_to && t.valid_to <= t.valid_from) {
            rc = sl_consent__fail (result, SL_EINVAL,
                                   "valid_to %" PRId64 " is not after valid_from %" PRId64
                                   ": the renewed consent would never be valid",
                                   t.valid_to, t.valid_from);
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
            rc = sl_consent__fail (result, SL_EINVAL,
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
        rc = sl_consent__fail (result, rc, "storing consent %s: %s; abort the transaction",
                               t.consent_id, sl_strerror (rc));
        goto out;
    }
    result->access_ended = before == SL_CONSENT_STATUS_VALID && after != SL_CONSENT_STATUS_VALID;
    s_epoch_bump (self, t.subject);
    if (rec_p) {
        /* Reload rather than patch: the returned record must own its strings. */
        sl_consent_record_t *fresh = NULL;
        rc = sl_consent__record_load (self, txn, t.consent_id, strlen (t.consent_id), &fresh);
        if (rc) {
            rc = sl_consent__fail (result, rc, "reading back consent %s: %s", t.consent_id,
                                   sl_strerror (rc));
            goto out;
        }
        *rec_p = fresh;
    }
    rc = SL_OK;
out:
    sl_consent__record_free (rec);
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
        return sl_consent__fail (result, SL_EINVAL, "registry time %" PRId64 " is out of range",
                                 now);
    if (actor->via != SL_CONSENT_VIA_DATA && actor->via != SL_CONSENT_VIA_ADMIN)
        return sl_consent__fail (result, SL_EINVAL, "actor channel (via) is not set");
    if ((rc = sl_consent__check_time ("time", event->time, result)))
        return rc;
    int64_t time = event->time ? event->time : now;

    switch (event->kind) {
        case SLUICE__V1__CONSENT_EVENT__KIND__GIVEN:
            rc = s_apply_grant (self, txn, event, actor, now, time, result);
            if (rc == 0 && record_p) {
                rc = sl_consent__record_load (self, txn, result->consent_id,
                                              strlen (result->consent_id), record_p);
                if (rc)
                    sl_consent__fail (result, rc, "reading back consent %s: %s", result->consent_id,
                                      sl_strerror (rc));
            }
            return rc;
        case SLUICE__V1__CONSENT_EVENT__KIND__RENEWED:
        case SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN:
            return s_apply_change (self, txn, event, actor, now, time, result, record_p);
        default:
            return sl_consent__fail (result, SL_EINVAL,
                                     "event kind is missing or unknown (%d): use GIVEN, RENEWED "
                                     "or WITHDRAWN", (int) event->kind);
    }
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

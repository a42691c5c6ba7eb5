/*  sl_consent_json — consent records as callers see them: reading them
 *  (by id, by subject, by end time), their accessors, and the JSON forms of
 *  events and records (print, and events parsed from JSON). See
 *  sl_consent.h and docs/CONSENT.md.
 */
#include "sl_consent_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"
#include "sl_lmdb.h"
#include "sl_log.h"
#include "sl_schema.h"
#include "sl_role.h"
#include "sl_time.h"

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
    int rc = sl_consent__record_load (self, txn, consent_id, strlen (consent_id), &rec);
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
        MDB_val key = { sl_consent__event_key (kbuf, consent_id, seq), kbuf }, val;
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
        sl_consent__record_free (rec);
    else
        *record_p = rec;
    return rc;
}

/*  The end of an index walk: closes `cur`; returns `rc` (an error, or a
    visitor's non-zero value), else the cursor's code `mrc` (MDB_NOTFOUND,
    the end of the index, is success). */
static int
s_walk_end (MDB_cursor *cur, int rc, int mrc)
{
    mdb_cursor_close (cur);
    return rc ? rc : mrc == 0 || mrc == MDB_NOTFOUND ? SL_OK : sl_lmdb_rc (mrc);
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
    int mrc;
    for (mrc = s_cursor_get (self, cur, &key, &val, MDB_SET_RANGE); mrc == 0;
         mrc = s_cursor_get (self, cur, &key, &val, MDB_NEXT)) {
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
            break;
        }
        sl_consent_record_t *rec = NULL;
        rc = sl_consent__record_load_indexed (self, txn, id, (size_t) (end - id), &rec);
        /* A consent has one index entry per purpose: report it at its first. */
        if (rc == 0 && strcmp (purpose, rec->terms->purposes[0]) == 0)
            rc = fn (rec, arg);
        sl_consent__record_free (rec);
        if (rc)
            break;
    }
    return s_walk_end (cur, rc, mrc);
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
    int mrc;
    for (mrc = s_cursor_get (self, cur, &key, &val, MDB_SET_RANGE); mrc == 0;
         mrc = s_cursor_get (self, cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size <= 8 || val.mv_size != 1) {
            rc = SL_ECORRUPT;
            break;
        }
        int64_t t = (int64_t) s_get_be64 (key.mv_data);
        if (t >= to)
            break;
        sl_consent_status_code_t why = *(const uint8_t *) val.mv_data == S_END_WITHDRAWN
                                ? SL_CONSENT_STATUS_WITHDRAWN : SL_CONSENT_STATUS_EXPIRED;
        sl_consent_record_t *rec = NULL;
        rc = sl_consent__record_load_indexed (self, txn, (const char *) key.mv_data + 8,
                                              key.mv_size - 8, &rec);
        if (rc == 0)
            rc = fn (rec, why, t, arg);
        sl_consent__record_free (rec);
        if (rc)
            break;
    }
    return s_walk_end (cur, rc, mrc);
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
    if (!r || !purpose || !record_type || !sl_consent__record_covers_type (r, record_type))
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


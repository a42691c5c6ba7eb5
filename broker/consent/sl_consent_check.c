/*  sl_consent_check — the checks of the consent registry: the role rule,
 *  the validation of a consent event before anything is written (design
 *  note 3 of sl_consent.c), and the decision for a record
 *  (sl_consent_check, sl_consent_status). See sl_consent.h and
 *  docs/CONSENT.md.
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

/* --------------------------------------------------------------------- */
/*  Small helpers                                                           */

/*  Names (controller, recipient, purpose, field, consent id): letters,
 *  digits and . _ : - only. */
bool
sl_consent__is_token (const char *s)
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

int
sl_consent__check_role (const sl_consent_actor_t *actor, const char *controller,
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
        return sl_consent__fail (result, SL_EPERM,
                                 "%s refused: member '%s' (roles: %s) may not publish consent "
                                 "events; the data plane accepts them only from role consent-source",
                                 what, actor->name ? actor->name : "?", *roles ? roles : "none");
    return sl_consent__fail (result, SL_EPERM,
                             "%s refused: '%s' (roles: %s) may not change consents of controller "
                             "'%s'; needs role admin:%s or admin:city",
                             what, actor->name ? actor->name : "?", *roles ? roles : "none",
                             controller, controller);
}

/* --------------------------------------------------------------------- */
/*  Validation of a grant                                                   */

int
sl_consent__check_time (const char *name, int64_t t, sl_consent_result_t *result)
{
    if (t < 0 || t > S_TIME_MAX)
        return sl_consent__fail (result, SL_EINVAL,
                                 "%s %" PRId64 " is out of range: use Unix seconds UTC, 0..%" PRId64,
                                 name, t, S_TIME_MAX);
    return SL_OK;
}

int
sl_consent__check_name (const char *what, const char *value, size_t max, bool token,
                        sl_consent_result_t *result)
{
    if (s_empty (value))
        return sl_consent__fail (result, SL_EINVAL, "%s is missing", what);
    if (strlen (value) > max)
        return sl_consent__fail (result, SL_EINVAL, "%s '%.40s...' is longer than %zu bytes",
                                 what, value, max);
    if (token && !sl_consent__is_token (value))
        return sl_consent__fail (result, SL_EINVAL,
                                 "%s '%s' has characters other than letters, digits and . _ : -",
                                 what, value);
    if (!token && !s_is_printable (value))
        return sl_consent__fail (result, SL_EINVAL, "%s holds control characters", what);
    return SL_OK;
}

int
sl_consent__check_text (const char *what, const char *value, sl_consent_result_t *result)
{
    if (s_empty (value))
        return SL_OK;
    if (strlen (value) > S_TEXT_MAX)
        return sl_consent__fail (result, SL_EINVAL, "%s is longer than %d bytes", what, S_TEXT_MAX);
    if (!s_is_printable (value))
        return sl_consent__fail (result, SL_EINVAL, "%s holds control characters", what);
    return SL_OK;
}

/*  Validates a record type pattern against the schema registry. */
static int
s_check_record_type (const char *pattern, const char *controller, size_t i,
                     sl_consent_result_t *result)
{
    if (s_empty (pattern))
        return sl_consent__fail (result, SL_EINVAL, "record_types[%zu] is empty", i);
    size_t len = strlen (pattern);
    const char *star = strchr (pattern, '*');
    if (star) {
        if (star != pattern + len - 1 || len < 3 || pattern[len - 2] != '.')
            return sl_consent__fail (result, SL_EINVAL,
                                     "record_types[%zu] '%s': a wildcard must be a whole last "
                                     "name part, as in 'water.v1.*'", i, pattern);
        size_t matched = 0;
        for (size_t k = 0; k < sl_schema_count (); k++) {
            const sl_schema_t *s = sl_schema_at (k);
            if (!s_type_covers (pattern, s->record_type))
                continue;
            if (strcmp (s->owner, controller) != 0)
                return sl_consent__fail (result, SL_EINVAL,
                                         "record_types[%zu] '%s' covers %s, owned by %s, not by "
                                         "controller %s", i, pattern, s->record_type, s->owner,
                                         controller);
            matched++;
        }
        if (!matched)
            return sl_consent__fail (result, SL_EINVAL,
                                     "record_types[%zu] '%s' matches no known record type", i, pattern);
        return SL_OK;
    }
    const sl_schema_t *s = sl_schema_find (pattern);
    if (!s)
        return sl_consent__fail (result, SL_EINVAL, "record_types[%zu]: unknown record type '%s'",
                                 i, pattern);
    if (strcmp (s->owner, controller) != 0)
        return sl_consent__fail (result, SL_EINVAL,
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
        return sl_consent__fail (result, SL_EINVAL, "%s lists %zu entries; at most %d",
                                 what, n, S_LIST_MAX);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp (items[i], items[j]) == 0)
                return sl_consent__fail (result, SL_EINVAL, "%s[%zu] '%s' is listed twice",
                                         what, i, items[i]);
    return SL_OK;
}

int
sl_consent__validate_grant (const Sluice__V1__ConsentEvent *ev, int64_t valid_from,
                            sl_consent_result_t *result)
{
    int rc;
    if (!s_empty (ev->consent_id)
        && (rc = sl_consent__check_name ("consent_id", ev->consent_id, SL_CONSENT_ID_MAX, true,
                                         result)))
        return rc;
    if ((rc = sl_consent__check_name ("subject", ev->subject, S_SUBJECT_MAX, false, result))
        || (rc = sl_consent__check_name ("recipient", ev->recipient, S_NAME_MAX, true, result)))
        return rc;
    if (ev->n_purposes == 0)
        return sl_consent__fail (result, SL_EINVAL,
                                 "purposes is empty: a consent needs at least one purpose");
    for (size_t i = 0; i < ev->n_purposes; i++) {
        char what[32];
        snprintf (what, sizeof what, "purposes[%zu]", i);
        if ((rc = sl_consent__check_name (what, ev->purposes[i], S_NAME_MAX, true, result)))
            return rc;
    }
    if ((rc = s_check_list_dups ("purposes", ev->purposes, ev->n_purposes, result)))
        return rc;
    if (ev->n_record_types == 0)
        return sl_consent__fail (result, SL_EINVAL,
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
        if ((rc = sl_consent__check_name (what, ev->fields[i], S_NAME_MAX, true, result)))
            return rc;
        if (!s_field_known (ev, ev->fields[i]))
            return sl_consent__fail (result, SL_EINVAL,
                                     "fields[%zu] '%s' is not a field of any covered record type",
                                     i, ev->fields[i]);
        csv += strlen (ev->fields[i]) + 1;
    }
    if (csv > SL_CONSENT_FIELDS_MAX)
        return sl_consent__fail (result, SL_EINVAL,
                                 "fields are too many: the list is longer than %d bytes",
                                 SL_CONSENT_FIELDS_MAX);
    if ((rc = s_check_list_dups ("fields", ev->fields, ev->n_fields, result)))
        return rc;
    if ((rc = sl_consent__check_time ("valid_from", ev->valid_from, result))
        || (rc = sl_consent__check_time ("valid_to", ev->valid_to, result)))
        return rc;
    if (ev->valid_to && ev->valid_to <= valid_from)
        return sl_consent__fail (result, SL_EINVAL,
                                 "valid_to %" PRId64 " is not after valid_from %" PRId64
                                 ": the consent would never be valid", ev->valid_to, valid_from);
    if ((rc = sl_consent__check_text ("collection_method", ev->collection_method, result))
        || (rc = sl_consent__check_text ("evidence", ev->evidence, result))
        || (rc = sl_consent__check_text ("jurisdiction", ev->jurisdiction, result)))
        return rc;
    return SL_OK;
}

/*  For renewals and withdrawals: the event may repeat the parties (they must
 *  match) but may not carry a scope. */
int
sl_consent__validate_change (const Sluice__V1__ConsentEvent *ev, const sl_consent_record_t *rec,
                             const char *what, sl_consent_result_t *result)
{
    const Sluice__V1__ConsentEvent *t = rec->terms;
    const char *names[3] = { "subject", "controller", "recipient" };
    const char *given[3] = { ev->subject, ev->controller, ev->recipient };
    const char *stored[3] = { t->subject, t->controller, t->recipient };
    for (int i = 0; i < 3; i++)
        if (!s_empty (given[i]) && strcmp (given[i], stored[i]) != 0)
            return sl_consent__fail (result, SL_EINVAL,
                                     "%s of consent %s: %s does not match the consent's %s",
                                     what, t->consent_id, names[i], names[i]);
    if (ev->n_purposes || ev->n_record_types || ev->n_fields)
        return sl_consent__fail (result, SL_EINVAL,
                                 "%s of consent %s may not carry purposes, record_types or fields: "
                                 "the scope of a consent never changes; grant a new consent",
                                 what, t->consent_id);
    return SL_OK;
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

bool
sl_consent__record_covers_type (const sl_consent_record_t *rec, const char *record_type)
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
    size_t plen = sl_consent__index_prefix (prefix, sizeof prefix, subject, controller,
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
        if ((rc = sl_consent__record_load_indexed (self, txn, (const char *) key.mv_data + plen,
                                                   key.mv_size - plen, &rec)) != 0)
            goto out;
        if (sl_consent__record_covers_type (rec, record_type)) {
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
        sl_consent__record_free (rec);
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

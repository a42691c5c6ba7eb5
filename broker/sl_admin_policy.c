/*  sl_admin_policy — policy.list, policy.show, policy.history, policy.diff,
 *  policy.rollback, policy.explain, and the dry-run rendering (see
 *  sl_admin_policy.h and docs/PROTOCOL.md 6.3).
 *
 *  Reads run in their own short read transaction: policy changes are
 *  committed before policy.apply / policy.rollback answer, so a read
 *  transaction sees every applied version. Rollback writes in the batch
 *  transaction and records its audit entry there too.
 */
#include "sl_admin_policy.h"
#include "sl_policy_sample.h"
#include "sl_time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_batch.h"
#include "sl_consent.h"
#include "sl_error.h"
#include "sl_govern.h"
#include "sl_log.h"
#include "sl_policy_store.h"
#include "sl_schema.h"
#include "sl_subs.h"
#include "sluice/v1/envelope.pb-c.h"
#include "sl_audit.h"
#include "sl_role.h"
#include "sl_reason.h"

#define S_BAD      SLUICE__V1__ERROR_CODE__BAD_REQUEST
#define S_NOTFOUND SLUICE__V1__ERROR_CODE__NOT_FOUND
#define S_INTERNAL SLUICE__V1__ERROR_CODE__INTERNAL
#define S_DENIED   SLUICE__V1__ERROR_CODE__NOT_PERMITTED

/* ------------------------------------------------------------------------ */
/*  Arguments                                                                */

/*  A string argument; NULL (and call->text set) when missing and required,
 *  or when present but not a non-empty string. */
static const char *
s_str (sl_admin_call_t *call, const char *name, int required, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (call->args, name);
    if (!v && !required)
        return NULL;
    if (!cJSON_IsString (v) || !v->valuestring || !*v->valuestring) {
        snprintf (call->text, sizeof call->text,
                  "%s argument '%s' (a non-empty string)", v ? "bad" : "missing", name);
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

/*  A version argument: a JSON number or a string of digits, 0..2^32-1.
 *  Returns 0 (absent: *out untouched, *present 0) or -1 with call->text. */
static int
s_version (sl_admin_call_t *call, const char *name, int required, uint32_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (call->args, name);
    if (!v && !required)
        return 0;
    double d = -1;
    if (cJSON_IsNumber (v))
        d = v->valuedouble;
    else if (cJSON_IsString (v) && v->valuestring && *v->valuestring) {
        char *end;
        d = strtod (v->valuestring, &end);
        if (*end)
            d = -1;
    }
    if (d < 0 || d > 4294967295.0 || d != (double) (uint32_t) d) {
        snprintf (call->text, sizeof call->text, "%s argument '%s' (a version number: 1, 2, ...)",
                  v ? "bad" : "missing", name);
        return -1;
    }
    *out = (uint32_t) d;
    return 0;
}

/*  The owner argument: "city" or a bureau that owns record types. */
static const char *
s_owner (sl_admin_call_t *call, int *bad)
{
    const char *owner = s_str (call, "owner", 1, bad);
    if (!owner)
        return NULL;
    if (strcmp (owner, SL_POLICY_CITY) == 0)
        return owner;
    for (size_t i = 0; i < sl_schema_count (); i++)
        if (strcmp (sl_schema_at (i)->owner, owner) == 0)
            return owner;
    snprintf (call->text, sizeof call->text,
              "unknown policy owner '%.40s': owners are 'city' and the bureaus that own record "
              "types (sluicectl schema list shows them)", owner);
    *bad = 1;
    return NULL;
}

/*  Reading a policy's text and history: the auditor and admin:city read
 *  every owner's; an admin:<bureau> reads its own bureau's and the city's
 *  (whose forbids bind it), not another bureau's. Returns 0, or S_DENIED
 *  with call->text set. */
static int
s_read_scope (sl_admin_call_t *call, const char *owner)
{
    const char *role = call->caller->role;
    if (!sl_role_bureau (role) || sl_role_administers (role, owner)
        || strcmp (owner, SL_POLICY_CITY) == 0)
        return 0;
    snprintf (call->text, sizeof call->text,
              "role %s reads the policies of %s and city, not of %.40s "
              "(the auditor and admin:city read every owner's)", role, sl_role_bureau (role), owner);
    return S_DENIED;
}

/*  Parses TIME (sl_time.h): Unix seconds, YYYY-MM-DD[THH:MM[:SS]] in the
 *  city's zone, or with Z or an offset, or relative (2h, yesterday). */
static int
s_parse_time (const char *s, int64_t *out)
{
    int64_t us;
    if (sl_time_parse (s, sl_time_city_zone (), (int64_t) time (NULL) * 1000000, &us, NULL,
                       NULL, 0) != 0)
        return -1;
    *out = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    return 0;
}

/*  The `at` argument: a number (Unix seconds) or a TIME string; now if absent. */
static int
s_at (sl_admin_call_t *call, int64_t *at)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (call->args, "at");
    *at = (int64_t) time (NULL);
    if (!v)
        return 0;
    if (cJSON_IsNumber (v)) {
        *at = (int64_t) v->valuedouble;
        return 0;
    }
    if (cJSON_IsString (v) && v->valuestring && s_parse_time (v->valuestring, at) == 0)
        return 0;
    snprintf (call->text, sizeof call->text,
              "bad argument 'at': give Unix seconds, YYYY-MM-DD[THH:MM[:SS]] (in %s, or with Z "
              "or an offset) or a relative time (2h, yesterday)", sl_tz_name (sl_time_city_zone ()));
    return -1;
}

/* ------------------------------------------------------------------------ */
/*  JSON output                                                              */

static const char *
s_access_name (sl_policy_access_t a)
{
    return a == SL_POLICY_ACCESS_FULL ? "full" : a == SL_POLICY_ACCESS_CONDITIONAL ? "conditional"
                                                                                     : "none";
}

static const char *
s_subject_name (sl_policy_subject_t s)
{
    return s == SL_POLICY_SUBJECT_KEEP ? "keep" : s == SL_POLICY_SUBJECT_DROP ? "drop"
                                                                                : "pseudonymize";
}

static const char *
s_coarsen_name (sl_policy_coarsen_t c)
{
    switch (c) {
    case SL_POLICY_COARSEN_MINUTE: return "minute";
    case SL_POLICY_COARSEN_HOUR:   return "hour";
    case SL_POLICY_COARSEN_DAY:    return "day";
    default:                       return "exact";
    }
}

/*  The names of the fields whose bits are set in `mask`, in descriptor order. */
static cJSON *
s_fields_json (const char *record_type, const uint64_t *mask)
{
    cJSON *a = cJSON_CreateArray ();
    const sl_schema_t *schema = sl_schema_find (record_type);
    if (!a || !schema)
        return a;
    const ProtobufCMessageDescriptor *d = schema->descriptor;
    for (unsigned i = 0; i < d->n_fields && i < SL_POLICY_MAX_FIELDS; i++)
        if (mask[i / 64] >> (i % 64) & 1)
            cJSON_AddItemToArray (a, cJSON_CreateString (d->fields[i].name));
    return a;
}

static cJSON *
s_change_json (const sl_policy_change_t *c)
{
    cJSON *o = cJSON_CreateObject ();
    if (!o)
        return NULL;
    cJSON_AddStringToObject (o, "consumer", c->consumer);
    cJSON_AddStringToObject (o, "record_type", c->record_type);
    cJSON_AddStringToObject (o, "purpose", c->purpose);
    cJSON_AddStringToObject (o, "before", s_access_name (c->before));
    cJSON_AddStringToObject (o, "after", s_access_name (c->after));
    cJSON_AddItemToObject (o, "fields_added", s_fields_json (c->record_type, c->fields_added));
    cJSON_AddItemToObject (o, "fields_removed", s_fields_json (c->record_type, c->fields_removed));
    cJSON_AddStringToObject (o, "subject_before", s_subject_name (c->subject_before));
    cJSON_AddStringToObject (o, "subject_after", s_subject_name (c->subject_after));
    cJSON_AddStringToObject (o, "time_before", s_coarsen_name (c->coarsen_before));
    cJSON_AddStringToObject (o, "time_after", s_coarsen_name (c->coarsen_after));
    return o;
}

/*  Adds "access" and "access_text" for diff `d` to `result`. */
static int
s_add_diff (cJSON *result, const sl_policy_diff_t *d)
{
    cJSON *changes = cJSON_AddArrayToObject (result, "access");
    if (!changes)
        return SL_ENOMEM;
    for (size_t i = 0; i < sl_policy_diff_count (d); i++) {
        cJSON *c = s_change_json (sl_policy_diff_at (d, i));
        if (!c)
            return SL_ENOMEM;
        cJSON_AddItemToArray (changes, c);
    }
    char *text = sl_policy_diff_render (d);
    if (!text)
        return SL_ENOMEM;
    cJSON_AddStringToObject (result, "access_text", text);
    free (text);
    return 0;
}

int
sl_admin_policy_dry_run (sl_broker_t *broker, const sl_policy_index_t *before,
                         const sl_policy_index_t *after, int64_t at, cJSON *result)
{
    sl_policy_diff_t *d = sl_policy_diff_new (before, after, at);
    if (!d)
        return SL_ENOMEM;
    int rc = s_add_diff (result, d);
    char *widening = NULL;
    size_t widens = 0;
    if (rc == 0 && (rc = sl_admin_policy_widening (d, &widening, &widens)) == 0) {
        cJSON_AddNumberToObject (result, "widens", (double) widens);
        cJSON_AddStringToObject (result, "widening_text", widening);
        free (widening);
    }
    cJSON *subs = rc == 0 ? cJSON_AddArrayToObject (result, "subscriptions") : NULL;
    if (rc == 0 && !subs)
        rc = SL_ENOMEM;
    sl_subs_t *all = sl_broker_subs (broker);
    for (size_t i = 0; rc == 0 && i < sl_subs_count (all); i++) {
        const sl_sub_t *s = sl_subs_at (all, i);
        for (size_t j = 0; j < sl_policy_diff_count (d); j++) {
            const sl_policy_change_t *c = sl_policy_diff_at (d, j);
            if (strcmp (c->consumer, s->consumer) || strcmp (c->record_type, s->record_type)
                || strcmp (c->purpose, s->purpose))
                continue;
            cJSON *o = s_change_json (c);
            if (!o) {
                rc = SL_ENOMEM;
                break;
            }
            cJSON_AddItemToArray (subs, o);
        }
    }
    sl_policy_diff_destroy (&d);
    return rc;
}

/* ------------------------------------------------------------------------ */
/*  Store access                                                             */

static int
s_read_txn (sl_admin_call_t *call, MDB_txn **txn)
{
    if (sl_store_read (sl_broker_store (call->broker), txn) != 0) {
        snprintf (call->text, sizeof call->text, "policy store unavailable");
        return -1;
    }
    return 0;
}

static int
s_store_code (sl_admin_call_t *call, int rc, const char *what, const char *owner, uint32_t v)
{
    if (rc == SL_ENOTFOUND) {
        if (v)
            snprintf (call->text, sizeof call->text, "owner '%s' has no version %u "
                      "(see sluicectl policy history %s)", owner, v, owner);
        else
            snprintf (call->text, sizeof call->text, "owner '%s' has no policy applied yet",
                      owner);
        return S_NOTFOUND;
    }
    snprintf (call->text, sizeof call->text, "%s: policy store: %s", what, sl_strerror (rc));
    return sl_reason_from_rc (rc);
}

/*  Number of rules in a stored summary (JSON text). */
static int
s_summary_rules (const char *summary)
{
    cJSON *j = summary ? cJSON_Parse (summary) : NULL;
    int n = cJSON_GetArraySize (cJSON_GetObjectItemCaseSensitive (j, "rules"));
    cJSON_Delete (j);
    return n;
}

static cJSON *
s_version_json (const sl_policy_version_t *v, int with_text)
{
    cJSON *o = cJSON_CreateObject ();
    if (!o)
        return NULL;
    char when[32];
    sl_time_format ((int64_t) v->time * 1000000, NULL, when, sizeof when);
    cJSON_AddStringToObject (o, "owner", v->owner);
    cJSON_AddNumberToObject (o, "version", v->version);
    cJSON_AddStringToObject (o, "actor", v->actor);
    cJSON_AddStringToObject (o, "role", v->role);
    cJSON_AddNumberToObject (o, "time", (double) v->time);
    cJSON_AddStringToObject (o, "time_utc", when);
    cJSON_AddStringToObject (o, "file", v->file);
    cJSON_AddNumberToObject (o, "rules", s_summary_rules (v->summary));
    cJSON_AddStringToObject (o, "changes", v->changes ? v->changes : "");
    if (with_text) {
        cJSON_AddStringToObject (o, "text", v->text ? v->text : "");
        cJSON *summary = v->summary ? cJSON_Parse (v->summary) : NULL;
        cJSON_AddItemToObject (o, "summary", summary ? summary : cJSON_CreateNull ());
    }
    return o;
}

/* ------------------------------------------------------------------------ */
/*  policy.list                                                              */

typedef struct {
    sl_policy_store_t *store;
    MDB_txn *txn;
    cJSON *out;
    int rc;
} s_list_t;

static int
s_list_owner (void *arg, const char *owner, uint32_t current)
{
    s_list_t *l = arg;
    sl_policy_version_t *v = NULL;
    l->rc = sl_policy_store_get (l->store, l->txn, owner, current, &v);
    if (l->rc != 0)
        return 1;
    cJSON *o = s_version_json (v, 0);
    sl_policy_version_destroy (&v);
    if (!o) {
        l->rc = SL_ENOMEM;
        return 1;
    }
    cJSON_AddItemToArray (l->out, o);
    return 0;
}

static int
s_list (sl_admin_call_t *call)
{
    MDB_txn *txn;
    if (s_read_txn (call, &txn) != 0)
        return S_INTERNAL;
    s_list_t l = { sl_broker_policy (call->broker), txn, cJSON_CreateArray (), 0 };
    call->result = l.out;
    int rc = sl_policy_store_each_owner (l.store, txn, s_list_owner, &l);
    mdb_txn_abort (txn);
    if (rc != 0)
        return s_store_code (call, l.rc ? l.rc : rc, "policy.list", "?", 0);
    snprintf (call->text, sizeof call->text, "%d policy owners", cJSON_GetArraySize (l.out));
    return 0;
}

/* ------------------------------------------------------------------------ */
/*  policy.show                                                              */

static int
s_show (sl_admin_call_t *call)
{
    int bad = 0;
    uint32_t version = 0;
    const char *owner = s_owner (call, &bad);
    if (!owner || s_version (call, "version", 0, &version) != 0)
        return S_BAD;
    if (s_read_scope (call, owner) != 0)
        return S_DENIED;
    MDB_txn *txn;
    if (s_read_txn (call, &txn) != 0)
        return S_INTERNAL;
    sl_policy_version_t *v = NULL;
    int rc = sl_policy_store_get (sl_broker_policy (call->broker), txn, owner, version, &v);
    uint32_t current = 0;
    if (rc == 0)
        rc = sl_policy_store_current (sl_broker_policy (call->broker), txn, owner, &current);
    mdb_txn_abort (txn);
    if (rc != 0) {
        sl_policy_version_destroy (&v);
        return s_store_code (call, rc, "policy.show", owner, version);
    }
    call->result = s_version_json (v, 1);
    cJSON_AddBoolToObject (call->result, "current", v->version == current);
    snprintf (call->text, sizeof call->text, "%s policy version %u%s", owner, v->version,
              v->version == current ? " (current)" : "");
    sl_policy_version_destroy (&v);
    return call->result ? 0 : S_INTERNAL;
}

/* ------------------------------------------------------------------------ */
/*  policy.history                                                           */

typedef struct {
    cJSON *out;
    int rc;
} s_hist_t;

static int
s_hist_version (void *arg, const sl_policy_version_t *v)
{
    s_hist_t *h = arg;
    cJSON *o = s_version_json (v, 0);
    if (!o) {
        h->rc = SL_ENOMEM;
        return 1;
    }
    cJSON_AddItemToArray (h->out, o);
    return 0;
}

static int
s_history (sl_admin_call_t *call)
{
    int bad = 0;
    const char *owner = s_owner (call, &bad);
    if (!owner)
        return S_BAD;
    if (s_read_scope (call, owner) != 0)
        return S_DENIED;
    MDB_txn *txn;
    if (s_read_txn (call, &txn) != 0)
        return S_INTERNAL;
    uint32_t current = 0;
    sl_policy_store_t *store = sl_broker_policy (call->broker);
    s_hist_t h = { cJSON_CreateArray (), 0 };
    int rc = sl_policy_store_current (store, txn, owner, &current);
    if (rc == 0)
        rc = sl_policy_store_each_version (store, txn, owner, s_hist_version, &h);
    mdb_txn_abort (txn);
    if (rc != 0 || h.rc != 0) {
        cJSON_Delete (h.out);
        return s_store_code (call, h.rc ? h.rc : rc, "policy.history", owner, 0);
    }
    if (cJSON_GetArraySize (h.out) == 0) {
        cJSON_Delete (h.out);
        return s_store_code (call, SL_ENOTFOUND, "policy.history", owner, 0);
    }
    call->result = cJSON_CreateObject ();
    cJSON_AddStringToObject (call->result, "owner", owner);
    cJSON_AddNumberToObject (call->result, "current", current);
    cJSON_AddItemToObject (call->result, "versions", h.out);
    snprintf (call->text, sizeof call->text, "%s: %d versions, current %u", owner,
              cJSON_GetArraySize (h.out), current);
    return 0;
}

/* ------------------------------------------------------------------------ */
/*  policy.diff                                                              */

/*  The rules of a stored summary, as an object id -> rule (version removed,
 *  so that unchanged rules compare equal between versions). */
static cJSON *
s_rules_by_id (const char *summary)
{
    cJSON *out = cJSON_CreateObject ();
    cJSON *j = summary ? cJSON_Parse (summary) : NULL;
    const cJSON *r;
    cJSON_ArrayForEach (r, cJSON_GetObjectItemCaseSensitive (j, "rules")) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive (r, "id");
        if (!cJSON_IsString (id))
            continue;
        cJSON *copy = cJSON_Duplicate (r, 1);
        cJSON_DeleteItemFromObjectCaseSensitive (copy, "version");
        cJSON_AddItemToObject (out, id->valuestring, copy);
    }
    cJSON_Delete (j);
    return out;
}

/*  Rule-level differences between two summaries: {"added":[ids],
 *  "removed":[ids], "changed":[{"id","clauses":[keys]}]} and a text form,
 *  one rule per line ("+ id", "- id", "~ id: fields, purposes"). */
static void
s_rule_diff (cJSON *result, const char *summary1, const char *summary2)
{
    cJSON *a = s_rules_by_id (summary1), *b = s_rules_by_id (summary2);
    cJSON *rules = cJSON_AddObjectToObject (result, "rule_changes");
    cJSON *added = cJSON_AddArrayToObject (rules, "added");
    cJSON *removed = cJSON_AddArrayToObject (rules, "removed");
    cJSON *changed = cJSON_AddArrayToObject (rules, "changed");
    size_t cap = 4096, len = 0;
    char *text = calloc (1, cap);
#define S_APPEND(...)                                                            \
    do {                                                                         \
        int n_ = snprintf (text ? text + len : NULL, text ? cap - len : 0, __VA_ARGS__); \
        if (text && n_ > 0 && (size_t) n_ < cap - len)                          \
            len += (size_t) n_;                                                  \
    } while (0)
    const cJSON *r;
    cJSON_ArrayForEach (r, a) {
        const cJSON *other = cJSON_GetObjectItemCaseSensitive (b, r->string);
        if (!other) {
            cJSON_AddItemToArray (removed, cJSON_CreateString (r->string));
            S_APPEND ("- %s\n", r->string);
            continue;
        }
        if (cJSON_Compare (r, other, 1))
            continue;
        cJSON *c = cJSON_CreateObject ();
        cJSON_AddStringToObject (c, "id", r->string);
        cJSON *clauses = cJSON_AddArrayToObject (c, "clauses");
        S_APPEND ("~ %s:", r->string);
        /* keys of either side whose values differ */
        for (int side = 0; side < 2; side++) {
            const cJSON *x = side ? other : r, *y = side ? r : other, *k;
            cJSON_ArrayForEach (k, x) {
                const cJSON *ky = cJSON_GetObjectItemCaseSensitive (y, k->string);
                if (side && ky)
                    continue;                  /* already compared in pass 0 */
                if (ky && cJSON_Compare (k, ky, 1))
                    continue;
                S_APPEND ("%s %s", cJSON_GetArraySize (clauses) ? "," : "", k->string);
                cJSON_AddItemToArray (clauses, cJSON_CreateString (k->string));
            }
        }
        S_APPEND ("\n");
        cJSON_AddItemToArray (changed, c);
    }
    cJSON_ArrayForEach (r, b)
        if (!cJSON_GetObjectItemCaseSensitive (a, r->string)) {
            cJSON_AddItemToArray (added, cJSON_CreateString (r->string));
            S_APPEND ("+ %s\n", r->string);
        }
#undef S_APPEND
    cJSON_AddStringToObject (result, "rule_changes_text", text ? text : "");
    free (text);
    cJSON_Delete (a);
    cJSON_Delete (b);
}

/*  Puts the errors of `diags` into call->text after `what`. */
static void
s_diags_text (sl_admin_call_t *call, const char *what, sl_policy_diags_t *diags)
{
    char *t = sl_policy_diags_render (diags);
    /* every error, however many: not cut to call->text */
    sl_admin_text (call, "%s%s%s", what, t && *t ? ":\n" : "", t ? t : "");
    free (t);
}

static int
s_diff (sl_admin_call_t *call)
{
    int bad = 0;
    uint32_t v1 = 0, v2 = 0;
    int64_t at;
    const char *owner = s_owner (call, &bad);
    if (!owner || s_version (call, "v1", 1, &v1) != 0 || s_version (call, "v2", 1, &v2) != 0
        || s_at (call, &at) != 0)
        return S_BAD;
    if (s_read_scope (call, owner) != 0)
        return S_DENIED;
    MDB_txn *txn;
    if (s_read_txn (call, &txn) != 0)
        return S_INTERNAL;
    sl_policy_store_t *store = sl_broker_policy (call->broker);
    sl_policy_version_t *a = NULL, *b = NULL;
    sl_policy_index_t *ia = NULL, *ib = NULL;
    sl_policy_diags_t *diags = sl_policy_diags_new ();
    int code = 0, rc = 0;
    if (v1 && (rc = sl_policy_store_get (store, txn, owner, v1, &a)) != 0) {
        code = s_store_code (call, rc, "policy.diff", owner, v1);
        goto out;
    }
    if (v2 && (rc = sl_policy_store_get (store, txn, owner, v2, &b)) != 0) {
        code = s_store_code (call, rc, "policy.diff", owner, v2);
        goto out;
    }
    for (int side = 0; side < 2; side++) {
        uint32_t v = side ? v2 : v1;
        rc = sl_policy_store_compile_at (store, txn, owner, v, diags, side ? &ib : &ia);
        if (rc == SL_EINVAL) {
            char what[160];
            snprintf (what, sizeof what, "%s version %u no longer checks against "
                      "today's registry and policies", owner, v);
            s_diags_text (call, what, diags);
            code = S_BAD;
            goto out;
        }
        if (rc != 0) {
            code = s_store_code (call, rc, "policy.diff", owner, v);
            goto out;
        }
    }
    call->result = cJSON_CreateObject ();
    cJSON_AddStringToObject (call->result, "owner", owner);
    cJSON_AddNumberToObject (call->result, "v1", v1);
    cJSON_AddNumberToObject (call->result, "v2", v2);
    cJSON_AddNumberToObject (call->result, "at", (double) at);
    sl_policy_diff_t *d = sl_policy_diff_new (ia, ib, at);
    if (!d || s_add_diff (call->result, d) != 0) {
        sl_policy_diff_destroy (&d);
        snprintf (call->text, sizeof call->text, "out of memory");
        code = S_INTERNAL;
        goto out;
    }
    s_rule_diff (call->result, a ? a->summary : NULL, b ? b->summary : NULL);
    snprintf (call->text, sizeof call->text, "%s v%u -> v%u: %zu access changes", owner, v1, v2,
              sl_policy_diff_count (d));
    sl_policy_diff_destroy (&d);
out:
    mdb_txn_abort (txn);
    sl_policy_index_destroy (&ia);
    sl_policy_index_destroy (&ib);
    sl_policy_version_destroy (&a);
    sl_policy_version_destroy (&b);
    sl_policy_diags_destroy (&diags);
    return code;
}

/* ------------------------------------------------------------------------ */
/*  policy.rollback                                                          */

/*  "id@version,..." of the rules in a summary, as they are after an apply
 *  that gave them `version`. */
static char *
s_rule_refs (const char *summary, uint32_t version)
{
    cJSON *j = summary ? cJSON_Parse (summary) : NULL;
    size_t cap = 1, len = 0;
    const cJSON *r;
    cJSON_ArrayForEach (r, cJSON_GetObjectItemCaseSensitive (j, "rules")) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive (r, "id");
        if (cJSON_IsString (id))
            cap += strlen (id->valuestring) + 16 + 64;
    }
    char *out = calloc (1, cap);
    cJSON_ArrayForEach (r, cJSON_GetObjectItemCaseSensitive (j, "rules")) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive (r, "id");
        const cJSON *owner = cJSON_GetObjectItemCaseSensitive (r, "owner");
        /* the id in its owner's namespace, as decisions cite it */
        bool plain = cJSON_IsString (id) && !strchr (id->valuestring, '/')
                  && cJSON_IsString (owner) && *owner->valuestring;
        if (out && cJSON_IsString (id))
            len += (size_t) snprintf (out + len, cap - len, "%s%s%s%s@%u", len ? "," : "",
                                      plain ? owner->valuestring : "", plain ? "/" : "",
                                      id->valuestring, version);
    }
    cJSON_Delete (j);
    return out;
}

static int
s_rollback (sl_admin_call_t *call)
{
    int bad = 0;
    uint32_t version = 0;
    const char *owner = s_owner (call, &bad);
    if (!owner || s_version (call, "version", 1, &version) != 0)
        return S_BAD;
    if (version == 0) {
        snprintf (call->text, sizeof call->text, "bad argument 'version': versions start at 1");
        return S_BAD;
    }
    MDB_txn *txn;
    if (sl_batch_txn (sl_broker_batch (call->broker), &txn) != 0) {
        snprintf (call->text, sizeof call->text, "store unavailable");
        return S_INTERNAL;
    }
    sl_policy_diags_t *diags = sl_policy_diags_new ();
    sl_policy_apply_result_t res;
    memset (&res, 0, sizeof res);
    int code = 0;
    int rc = sl_policy_store_rollback (sl_broker_policy (call->broker), txn, owner, version,
                                       call->caller->name, call->caller->role, 0, diags, &res);
    if (rc == SL_EFULL || rc == SL_ESTORE) {
        call->wrote = 1;                 /* the transaction is damaged: abort it */
        code = s_store_code (call, rc, "policy.rollback", owner, version);
        goto out;
    }
    if (rc == SL_ENOTFOUND) {
        code = s_store_code (call, rc, "policy.rollback", owner, version);
        goto out;
    }
    if (rc == SL_EPERM) {
        char what[200];
        snprintf (what, sizeof what, "role %s may not change the policy of '%s' "
                  "(only admin:%s may); nothing was changed", call->caller->role, owner, owner);
        s_diags_text (call, what, diags);
        code = S_DENIED;
        goto out;
    }
    if (rc == SL_EINVAL) {
        char what[200];
        snprintf (what, sizeof what, "%s version %u no longer checks; nothing "
                  "was changed", owner, version);
        s_diags_text (call, what, diags);
        code = S_BAD;
        goto out;
    }
    if (rc != 0) {
        code = s_store_code (call, rc, "policy.rollback", owner, version);
        goto out;
    }
    call->wrote = 1;
    char detail[160];
    snprintf (detail, sizeof detail, "previous=%u version=%u rollback_to=%u", res.previous,
              res.version, version);
    char *refs = s_rule_refs (res.summary, res.version);
    sl_event_t ev = { .kind = SL_AUDIT_POLICY_ROLLBACK, .actor = call->caller->name, .owner = owner,
                      .rules = refs, .detail = detail };
    rc = sl_broker_event (call->broker, &ev);
    free (refs);
    if (rc != 0) {
        snprintf (call->text, sizeof call->text,
                  "cannot record the change; nothing was changed");
        code = S_INTERNAL;
        goto out;
    }
    sl_info ("policy.rollback", "by=%s owner=%s to=%u version=%u", call->caller->name, owner,
             version, res.version);
    call->result = cJSON_CreateObject ();
    cJSON_AddStringToObject (call->result, "owner", owner);
    cJSON_AddNumberToObject (call->result, "version", res.version);
    cJSON_AddNumberToObject (call->result, "previous", res.previous);
    cJSON_AddNumberToObject (call->result, "rollback_to", version);
    cJSON_AddNumberToObject (call->result, "rules", (double) res.rules);
    cJSON_AddStringToObject (call->result, "changes", res.changes ? res.changes : "");
    snprintf (call->text, sizeof call->text, "%s policy rolled back to the text of version %u "
              "as version %u", owner, version, res.version);
out:
    sl_policy_apply_result_clear (&res);
    sl_policy_diags_destroy (&diags);
    return code;
}

/* ------------------------------------------------------------------------ */
/*  policy.explain                                                           */

static sl_consent_status_t
s_consent (void *b, const char *s, const char *o, const char *c, const char *p, const char *t,
           int64_t at)
{
    return (sl_consent_status_t) sl_consent_status (b, s, o, c, p, t, at);
}

static const char *
s_consent_word (sl_consent_status_t s)
{
    switch (s) {
    case SL_CONSENT_VALID:         return "valid";
    case SL_CONSENT_MISSING:       return "missing";
    case SL_CONSENT_EXPIRED:       return "expired";
    case SL_CONSENT_WITHDRAWN:     return "withdrawn";
    case SL_CONSENT_NOT_YET_VALID: return "not-yet-valid";
    }
    return "missing";
}

static cJSON *
s_refs_json (const char *refs)
{
    cJSON *a = cJSON_CreateArray ();
    char buf[2048];
    snprintf (buf, sizeof buf, "%s", refs);
    for (char *save = NULL, *t = strtok_r (buf, ",", &save); t; t = strtok_r (NULL, ",", &save))
        cJSON_AddItemToArray (a, cJSON_CreateString (t));
    return a;
}

static int
s_explain (sl_admin_call_t *call)
{
    int bad = 0;
    int64_t at;
    const char *consumer = s_str (call, "consumer", 1, &bad);
    const char *type = consumer ? s_str (call, "record_type", 1, &bad) : NULL;
    const char *purpose = type ? s_str (call, "purpose", 1, &bad) : NULL;
    const char *owner = purpose ? s_str (call, "owner", 0, &bad) : NULL;
    const char *subject = purpose && !bad ? s_str (call, "subject", 0, &bad) : NULL;
    if (!purpose || bad || s_at (call, &at) != 0)
        return S_BAD;
    const sl_schema_t *schema = sl_schema_find (type);
    if (!schema && !owner) {
        snprintf (call->text, sizeof call->text, "unknown record type '%.64s' (record types look "
                  "like water.v1.MeterReading)", type);
        return S_BAD;
    }
    if (schema && owner && strcmp (owner, schema->owner) != 0) {
        snprintf (call->text, sizeof call->text, "owner '%.32s' does not own %s; it belongs to "
                  "'%s' (leave owner out to use the record type's owner)", owner, type,
                  schema->owner);
        return S_BAD;
    }
    if (!owner)
        owner = schema->owner;
    if (subject) {
        int code = sl_admin_explain_subject (call, owner, consumer, type, purpose, subject);
        if (code != 0)
            return code;
    }
    MDB_txn *txn;
    if (s_read_txn (call, &txn) != 0)
        return S_INTERNAL;
    sl_consent_binding_t binding = { sl_broker_consent (call->broker), txn };
    sl_policy_request_t req = {
        .owner = owner, .consumer = consumer, .record_type = type, .purpose = purpose,
        .subject = subject, .time = at,
        .consent = subject && binding.registry ? s_consent : NULL, .consent_arg = &binding,
    };
    /* a sample record for `where`, and a draft to explain against
     * (sl_admin_policy_draft.c) */
    sl_policy_index_t *draft = NULL;
    ProtobufCMessage *sample = NULL;
    int xcode = sl_admin_policy_explain_inputs (call, txn, schema, &draft, &sample);
    if (xcode != 0) {
        mdb_txn_abort (txn);
        return xcode;
    }
    req.record = sample;
    sl_policy_explain_t ex;
    int rc = sl_policy_explain (draft ? draft : sl_policy_store_index (sl_broker_policy (call->broker)),
                                &req, &ex);
    if (rc != 0) {
        sl_policy_index_destroy (&draft);
        sl_policy_sample_destroy (&sample);
        mdb_txn_abort (txn);
        snprintf (call->text, sizeof call->text, "%s", sl_strerror (rc));
        return S_BAD;
    }
    cJSON *o = call->result = cJSON_CreateObject ();
    char refs[2048], text[4096];
    cJSON_AddStringToObject (o, "decision", ex.decision.permit ? "permit" : "deny");
    cJSON_AddStringToObject (o, "reason", ex.decision.reason);
    sl_policy_decision_rules (&ex.decision, refs, sizeof refs);
    cJSON_AddItemToObject (o, "rules", s_refs_json (refs));
    cJSON_AddStringToObject (o, "owner", owner);
    cJSON_AddNumberToObject (o, "at", (double) at);
    if (ex.decision.permit) {
        const char *names[SL_POLICY_MAX_FIELDS];
        size_t n = sl_policy_transform_fields (&ex.decision.transform, names, SL_POLICY_MAX_FIELDS);
        cJSON *fields = cJSON_AddArrayToObject (o, "fields");
        for (size_t i = 0; i < n && i < SL_POLICY_MAX_FIELDS; i++)
            cJSON_AddItemToArray (fields, cJSON_CreateString (names[i]));
        cJSON_AddStringToObject (o, "subject", s_subject_name (ex.decision.transform.subject));
        cJSON_AddStringToObject (o, "time", s_coarsen_name (ex.decision.transform.coarsen));
    }
    else if (ex.nearest) {
        static const char *conds[] = { "owner", "consumer", "records", "purpose", "valid",
                                       "where", "consent" };
        cJSON *n = cJSON_AddObjectToObject (o, "nearest");
        sl_policy_rule_ref (ex.nearest, refs, sizeof refs);
        cJSON_AddStringToObject (n, "rule", refs);
        cJSON_AddStringToObject (n, "file", sl_policy_rule_file (ex.nearest));
        cJSON_AddNumberToObject (n, "line", sl_policy_rule_line (ex.nearest));
        cJSON *failed = cJSON_AddArrayToObject (n, "failed");
        for (unsigned i = 0; i < sizeof conds / sizeof conds[0]; i++)
            if (ex.failed & (1u << i))
                cJSON_AddItemToArray (failed, cJSON_CreateString (conds[i]));
        if (ex.failed & SL_POLICY_COND_CONSENT)
            cJSON_AddStringToObject (n, "consent", s_consent_word (ex.consent));
    }
    if (ex.unknown & SL_POLICY_COND_WHERE)
        cJSON_AddItemToArray (cJSON_AddArrayToObject (cJSON_GetObjectItemCaseSensitive (o, "nearest"),
                                                      "not_evaluated"), cJSON_CreateString ("where"));
    cJSON_AddBoolToObject (o, "draft", draft != NULL);
    cJSON_AddBoolToObject (o, "sample", sample != NULL);
    sl_policy_explain_render (&ex, text, sizeof text);
    sl_policy_index_destroy (&draft);     /* after the last use of the decision */
    sl_policy_sample_destroy (&sample);
    mdb_txn_abort (txn);
    if (!subject)
        strncat (text, ex.decision.permit || !(ex.failed & SL_POLICY_COND_CONSENT) ? ""
                 : "  (no subject given: consent counts as missing)\n",
                 sizeof text - strlen (text) - 1);
    cJSON_AddStringToObject (o, "text", text);
    snprintf (call->text, sizeof call->text, "%s (%s)", ex.decision.permit ? "permit" : "deny",
              ex.decision.reason);
    return 0;
}

const sl_admin_command_t sl_admin_policy_commands[] = {
    { "policy.list",     "admin:*|auditor", s_list },
    { "policy.show",     "admin:*|auditor", s_show },
    { "policy.history",  "admin:*|auditor", s_history },
    { "policy.diff",     "admin:*|auditor", s_diff },
    { "policy.explain",  "admin:*|auditor", s_explain },
    { "policy.rollback", "admin:*",         s_rollback },
};
const size_t sl_admin_policy_count =
    sizeof sl_admin_policy_commands / sizeof sl_admin_policy_commands[0];

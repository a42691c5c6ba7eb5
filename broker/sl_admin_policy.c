/*  sl_admin_policy — policy.list, policy.show, policy.history, the
 *  command table of the policy group, the arguments and JSON shared by its
 *  files (sl_admin_policy_int.h), and the dry-run rendering (see
 *  sl_admin_policy.h and docs/PROTOCOL.md 6.3). policy.diff and
 *  policy.rollback are in sl_admin_policy_change.c, policy.explain in
 *  sl_admin_explain.c.
 *
 *  Reads run in their own short read transaction: policy changes are
 *  committed before policy.apply / policy.rollback answer, so a read
 *  transaction sees every applied version. Rollback writes in the batch
 *  transaction and records its audit entry there too.
 */
#include "sl_admin_policy.h"
#include "sl_admin_fail.h"
#include "sl_admin_policy_int.h"
#include "sl_policy_sample.h"
#include "sl_time.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_commit_admin.h"
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


/* ------------------------------------------------------------------------ */
/*  Arguments                                                                */

/*  A string argument; NULL (and call->text set) when missing and required,
 *  or when present but not a non-empty string. */
const char *
sl_admin_policy_arg_str (sl_admin_call_t *call, const char *name, int required, int *bad)
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
int
sl_admin_policy_arg_version (sl_admin_call_t *call, const char *name, int required, uint32_t *out)
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
const char *
sl_admin_policy_arg_owner (sl_admin_call_t *call, int *bad)
{
    const char *owner = sl_admin_policy_arg_str (call, "owner", 1, bad);
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

const char *
sl_admin_policy_arg_owner_version (sl_admin_call_t *call, int required, uint32_t *version)
{
    int bad = 0;
    const char *owner = sl_admin_policy_arg_owner (call, &bad);
    if (!owner || sl_admin_policy_arg_version (call, "version", required, version) != 0)
        return NULL;
    return owner;
}

/*  Reading a policy's text and history: the auditor and admin:city read
 *  every owner's; an admin:<bureau> reads its own bureau's and the city's
 *  (whose forbids bind it), not another bureau's. Returns 0 with *txn a
 *  read transaction (the caller aborts it), or S_BAD (owner NULL: the
 *  argument was bad), S_DENIED or S_INTERNAL with call->text set. */
int
sl_admin_policy_read_scope (sl_admin_call_t *call, const char *owner, MDB_txn **txn)
{
    const char *role = call->caller->role;
    if (!owner)
        return S_BAD;
    if (sl_role_bureau (role) && !sl_role_administers (role, owner)
        && strcmp (owner, SL_POLICY_CITY) != 0)
        return sl_admin_fail (call, S_DENIED, "role %s reads the policies of %s and city, not of "
                              "%.40s (the auditor and admin:city read every owner's)", role,
                              sl_role_bureau (role), owner);
    return sl_admin_policy_read_txn (call, txn) != 0 ? S_INTERNAL : 0;
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
int
sl_admin_policy_arg_at (sl_admin_call_t *call, int64_t *at)
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

const char *
sl_admin_policy_subject_name (sl_policy_subject_t s)
{
    return s == SL_POLICY_SUBJECT_KEEP ? "keep" : s == SL_POLICY_SUBJECT_DROP ? "drop"
                                                                                : "pseudonymize";
}

const char *
sl_admin_policy_coarsen_name (sl_policy_coarsen_t c)
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
    cJSON_AddStringToObject (o, "subject_before", sl_admin_policy_subject_name (c->subject_before));
    cJSON_AddStringToObject (o, "subject_after", sl_admin_policy_subject_name (c->subject_after));
    cJSON_AddStringToObject (o, "time_before", sl_admin_policy_coarsen_name (c->coarsen_before));
    cJSON_AddStringToObject (o, "time_after", sl_admin_policy_coarsen_name (c->coarsen_after));
    return o;
}

/*  Adds "access" and "access_text" for diff `d` to `result`. */
int
sl_admin_policy_add_diff (cJSON *result, const sl_policy_diff_t *d)
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
sl_admin_policy_dry_run (const sl_admin_ctx_t *ctx, const sl_policy_index_t *before,
                         const sl_policy_index_t *after, int64_t at, cJSON *result)
{
    sl_policy_diff_t *d = sl_policy_diff_new (before, after, at);
    if (!d)
        return SL_ENOMEM;
    int rc = sl_admin_policy_add_diff (result, d);
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
    sl_subs_t *all = ctx->subs;
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

int
sl_admin_policy_read_txn (sl_admin_call_t *call, MDB_txn **txn)
{
    if (sl_store_read (call->ctx->store, txn) != 0) {
        snprintf (call->text, sizeof call->text, "policy store unavailable");
        return -1;
    }
    return 0;
}

int
sl_admin_policy_store_code (sl_admin_call_t *call, int rc, const char *what, const char *owner, uint32_t v)
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

/*  Appends the summary of `v` (s_version_json without the text) to `arr`.
 *  Returns 0, or 1 with *rc = SL_ENOMEM: the value that stops a store walk
 *  (sl_policy_store_each_owner, sl_policy_store_each_version). */
static int
s_append_version (cJSON *arr, const sl_policy_version_t *v, int *rc)
{
    cJSON *o = s_version_json (v, 0);
    if (!o) {
        *rc = SL_ENOMEM;
        return 1;
    }
    cJSON_AddItemToArray (arr, o);
    return 0;
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
    int stop = s_append_version (l->out, v, &l->rc);
    sl_policy_version_destroy (&v);
    return stop;
}

static int
s_list (sl_admin_call_t *call)
{
    MDB_txn *txn;
    if (sl_admin_policy_read_txn (call, &txn) != 0)
        return S_INTERNAL;
    s_list_t l = { call->ctx->policy, txn, cJSON_CreateArray (), 0 };
    call->result = l.out;
    int rc = sl_policy_store_each_owner (l.store, txn, s_list_owner, &l);
    mdb_txn_abort (txn);
    if (rc != 0)
        return sl_admin_policy_store_code (call, l.rc ? l.rc : rc, "policy.list", "?", 0);
    snprintf (call->text, sizeof call->text, "%d policy owners", cJSON_GetArraySize (l.out));
    return 0;
}

/* ------------------------------------------------------------------------ */
/*  policy.show                                                              */

static int
s_show (sl_admin_call_t *call)
{
    uint32_t version = 0;
    const char *owner = sl_admin_policy_arg_owner_version (call, 0, &version);
    MDB_txn *txn;
    int code = sl_admin_policy_read_scope (call, owner, &txn);
    if (code)
        return code;
    sl_policy_version_t *v = NULL;
    int rc = sl_policy_store_get (call->ctx->policy, txn, owner, version, &v);
    uint32_t current = 0;
    if (rc == 0)
        rc = sl_policy_store_current (call->ctx->policy, txn, owner, &current);
    mdb_txn_abort (txn);
    if (rc != 0) {
        sl_policy_version_destroy (&v);
        return sl_admin_policy_store_code (call, rc, "policy.show", owner, version);
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
    return s_append_version (h->out, v, &h->rc);
}

static int
s_history (sl_admin_call_t *call)
{
    int bad = 0;
    const char *owner = sl_admin_policy_arg_owner (call, &bad);
    MDB_txn *txn;
    int code = sl_admin_policy_read_scope (call, owner, &txn);
    if (code)
        return code;
    uint32_t current = 0;
    sl_policy_store_t *store = call->ctx->policy;
    s_hist_t h = { cJSON_CreateArray (), 0 };
    int rc = sl_policy_store_current (store, txn, owner, &current);
    if (rc == 0)
        rc = sl_policy_store_each_version (store, txn, owner, s_hist_version, &h);
    mdb_txn_abort (txn);
    if (rc != 0 || h.rc != 0) {
        cJSON_Delete (h.out);
        return sl_admin_policy_store_code (call, h.rc ? h.rc : rc, "policy.history", owner, 0);
    }
    if (cJSON_GetArraySize (h.out) == 0) {
        cJSON_Delete (h.out);
        return sl_admin_policy_store_code (call, SL_ENOTFOUND, "policy.history", owner, 0);
    }
    call->result = cJSON_CreateObject ();
    cJSON_AddStringToObject (call->result, "owner", owner);
    cJSON_AddNumberToObject (call->result, "current", current);
    cJSON_AddItemToObject (call->result, "versions", h.out);
    snprintf (call->text, sizeof call->text, "%s: %d versions, current %u", owner,
              cJSON_GetArraySize (h.out), current);
    return 0;
}

const sl_admin_command_t sl_admin_policy_commands[] = {
    { "policy.list",     "admin:*|auditor", s_list },
    { "policy.show",     "admin:*|auditor", s_show },
    { "policy.history",  "admin:*|auditor", s_history },
    { "policy.diff",     "admin:*|auditor", sl_admin_policy_cmd_diff },
    { "policy.explain",  "admin:*|auditor", sl_admin_policy_cmd_explain },
    { "policy.rollback", "admin:*",         sl_admin_policy_cmd_rollback },
};
const size_t sl_admin_policy_count =
    sizeof sl_admin_policy_commands / sizeof sl_admin_policy_commands[0];

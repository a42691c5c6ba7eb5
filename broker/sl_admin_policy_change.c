/*  sl_admin_policy_change — policy.diff (what changed between two versions
 *  of an owner's policy: rules and access, each version compiled as the
 *  policy store compiles it, sl_policy_store_compile_at) and
 *  policy.rollback (a new version with an old text, through the commit
 *  pipeline). See sl_admin_policy.h and docs/PROTOCOL.md 6.3.
 */
#include "sl_admin_policy.h"
#include "sl_admin_fail.h"
#include "sl_admin_policy_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_commit_admin.h"
#include "sl_error.h"
#include "sl_log.h"
#include "sl_policy_store.h"
#include "sluice/v1/envelope.pb-c.h"

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

int
sl_admin_policy_cmd_diff (sl_admin_call_t *call)
{
    int bad = 0;
    uint32_t v1 = 0, v2 = 0;
    int64_t at;
    const char *owner = sl_admin_policy_arg_owner (call, &bad);
    if (!owner || sl_admin_policy_arg_version (call, "v1", 1, &v1) != 0 || sl_admin_policy_arg_version (call, "v2", 1, &v2) != 0
        || sl_admin_policy_arg_at (call, &at) != 0)
        return S_BAD;
    MDB_txn *txn;
    int code = sl_admin_policy_read_scope (call, owner, &txn);
    if (code)
        return code;
    sl_policy_store_t *store = call->ctx->policy;
    sl_policy_version_t *a = NULL, *b = NULL;
    sl_policy_index_t *ia = NULL, *ib = NULL;
    sl_policy_diags_t *diags = sl_policy_diags_new ();
    int rc = 0;
    if (v1 && (rc = sl_policy_store_get (store, txn, owner, v1, &a)) != 0) {
        code = sl_admin_policy_store_code (call, rc, "policy.diff", owner, v1);
        goto out;
    }
    if (v2 && (rc = sl_policy_store_get (store, txn, owner, v2, &b)) != 0) {
        code = sl_admin_policy_store_code (call, rc, "policy.diff", owner, v2);
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
            code = sl_admin_policy_store_code (call, rc, "policy.diff", owner, v);
            goto out;
        }
    }
    call->result = cJSON_CreateObject ();
    cJSON_AddStringToObject (call->result, "owner", owner);
    cJSON_AddNumberToObject (call->result, "v1", v1);
    cJSON_AddNumberToObject (call->result, "v2", v2);
    cJSON_AddNumberToObject (call->result, "at", (double) at);
    sl_policy_diff_t *d = sl_policy_diff_new (ia, ib, at);
    if (!d || sl_admin_policy_add_diff (call->result, d) != 0) {
        sl_policy_diff_destroy (&d);
        code = sl_admin_fail (call, S_INTERNAL, "out of memory");
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

int
sl_admin_policy_cmd_rollback (sl_admin_call_t *call)
{
    uint32_t version = 0;
    const char *owner = sl_admin_policy_arg_owner_version (call, 1, &version);
    if (!owner)
        return S_BAD;
    if (version == 0)
        return sl_admin_fail (call, S_BAD, "bad argument 'version': versions start at 1");
    if (sl_commit_ready (call->ctx->commit) != 0)
        return sl_admin_fail (call, S_INTERNAL, "store unavailable");
    sl_policy_diags_t *diags = sl_policy_diags_new ();
    sl_policy_apply_result_t res;
    memset (&res, 0, sizeof res);
    int code = 0;
    int rc = sl_commit_policy_rollback (call->ctx->commit, call->ctx->policy, owner, version,
                                       call->caller->name, call->caller->role, 0, diags, &res);
    if (rc == SL_EPERM || rc == SL_EINVAL) {
        char what[200];
        if (rc == SL_EPERM)
            snprintf (what, sizeof what, "role %s may not change the policy of '%s' (only "
                      "admin:%s may); nothing was changed", call->caller->role, owner, owner);
        else
            snprintf (what, sizeof what, "%s version %u no longer checks; nothing was changed",
                      owner, version);
        s_diags_text (call, what, diags);
        code = rc == SL_EPERM ? S_DENIED : S_BAD;
        goto out;
    }
    if (rc != 0) {
        if (rc == SL_EFULL || rc == SL_ESTORE)
            call->wrote = 1;             /* the transaction is damaged: abort it */
        code = sl_admin_policy_store_code (call, rc, "policy.rollback", owner, version);
        goto out;
    }
    call->wrote = 1;
    char detail[160];
    snprintf (detail, sizeof detail, "previous=%u version=%u rollback_to=%u", res.previous,
              res.version, version);
    char *refs = s_rule_refs (res.summary, res.version);
    sl_event_t ev = { .kind = SL_AUDIT_POLICY_ROLLBACK, .actor = call->caller->name, .owner = owner,
                      .rules = refs, .detail = detail };
    rc = call->ctx->event (call->ctx->hook, &ev);
    free (refs);
    if (rc != 0) {
        code = sl_admin_fail (call, S_INTERNAL, "cannot record the change; nothing was changed");
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

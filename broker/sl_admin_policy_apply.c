/*  sl_admin_policy_apply — the admin command policy.apply.
 *
 *  args: {"text": "...policy text..."  (or the text in AdminRequest.data),
 *         "owner": "water" | "city"     (default: the caller's admin role's),
 *         "file": "water.policy"        (name used in errors),
 *         "dry_run": false,
 *         "message": "why"             (optional: recorded in the policy.apply
 *                                       audit entry's detail as message=...)}
 *  result: {"owner","version","previous","rules","changes" (rule ids: "+a ~b -c"),
 *           "dry_run"; a dry run has "rule_changes" instead and the access
 *           changes of sl_admin_policy_dry_run ("changes", "changes_text",
 *           "subscriptions"),
 *           "errors":[{"file","line","col","message","hint"}],
 *           "diagnostics": "FILE:LINE:COL: error: ...\n...",
 *           "warnings": [...], "warnings_text": "FILE:LINE:COL: warning: ...",
 *           "strict"}
 *  With "strict": true in args, any lint warning refuses the text (the
 *  warnings are then rendered as errors) and nothing changes.
 *  On failure the result still carries "errors" and "diagnostics" (every
 *  error of the text, in one pass), and nothing changes.
 */
#include "sl_admin.h"
#include "sl_admin_fail.h"
#include "sl_clock.h"
#include "sl_admin_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_commit_admin.h"
#include "sl_error.h"
#include "sl_govern.h"
#include "sl_log.h"
#include "sl_policy_lint.h"
#include "sl_policy_store.h"
#include "sluice/v1/envelope.pb-c.h"
#include "sl_audit.h"
#include "sl_role.h"
#include "sl_reason.h"

static cJSON *
s_diags_json (const sl_policy_diags_t *diags, char **rendered)
{
    cJSON *arr = cJSON_CreateArray ();
    for (size_t i = 0; arr && i < sl_policy_diags_count (diags); i++) {
        const sl_policy_diag_t *d = sl_policy_diags_at (diags, i);
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddStringToObject (o, "file", d->file ? d->file : "");
        cJSON_AddNumberToObject (o, "line", d->line);
        cJSON_AddNumberToObject (o, "col", d->col);
        cJSON_AddStringToObject (o, "message", d->message ? d->message : "");
        if (d->hint)
            cJSON_AddStringToObject (o, "hint", d->hint);
        cJSON_AddItemToArray (arr, o);
    }
    *rendered = sl_policy_diags_render (diags);
    return arr;
}

static int
s_apply (sl_admin_call_t *call)
{
    const cJSON *jt = cJSON_GetObjectItemCaseSensitive (call->args, "text");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive (call->args, "owner");
    const cJSON *jf = cJSON_GetObjectItemCaseSensitive (call->args, "file");
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive (call->args, "dry_run");
    const char *text;
    size_t len;
    if (cJSON_IsString (jt) && jt->valuestring) {
        text = jt->valuestring;
        len = strlen (text);
    }
    else if (call->data_len > 0) {
        text = (const char *) call->data;
        len = call->data_len;
    }
    else
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                              "policy.apply: give the policy text in args \"text\" or in the "
                              "request data");
    const char *role = call->caller->role;
    const char *owner = cJSON_IsString (jo) && jo->valuestring && *jo->valuestring
                      ? jo->valuestring
                      : (sl_role_admin_scope (role) ? sl_role_admin_scope (role) : "");
    const char *file = cJSON_IsString (jf) && jf->valuestring ? jf->valuestring : NULL;
    int dry = cJSON_IsTrue (jd);
    int strict = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (call->args, "strict"));

    const sl_admin_ctx_t *b = call->ctx;
    sl_policy_store_t *store = b->policy;
    MDB_txn *txn;                    /* the pending state, for reading only */
    if (sl_commit_view (b->commit, &txn) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "policy.apply: store unavailable");
    sl_policy_diags_t *diags = sl_policy_diags_new ();
    sl_policy_apply_result_t r;
    memset (&r, 0, sizeof r);
    if (!diags)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "policy.apply: out of memory");
    /* lints first: with "strict" a warning refuses the text before anything
     * is written */
    sl_policy_diags_t *warns = sl_policy_diags_new ();
    int nwarn = warns ? sl_admin_policy_lint (b, txn, owner, file, text, len, sl_now_ms () / 1000,
                                              warns) : SL_ENOMEM;
    char *wrendered = nwarn >= 0 ? sl_policy_diags_render_as (warns, strict ? "error" : "warning")
                                 : NULL;
    if (nwarn < 0 || !wrendered) {
        sl_policy_diags_destroy (&warns);
        sl_policy_diags_destroy (&diags);
        free (wrendered);
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "policy.apply: out of memory");
    }
    int rc = strict && nwarn > 0 ? SL_EINVAL
           : sl_commit_policy_apply (b->commit, store, owner, file, text, len, call->caller->name,
                                    role, dry, diags, &r);
    char *rendered = NULL;
    cJSON *res = cJSON_CreateObject ();
    cJSON_AddItemToObject (res, "errors", s_diags_json (diags, &rendered));
    cJSON_AddStringToObject (res, "diagnostics", rendered ? rendered : "");
    char *unused = NULL;
    cJSON_AddItemToObject (res, "warnings", s_diags_json (warns, &unused));
    free (unused);
    cJSON_AddStringToObject (res, "warnings_text", wrendered);
    cJSON_AddBoolToObject (res, "strict", strict);
    cJSON_AddStringToObject (res, "owner", owner);
    cJSON_AddBoolToObject (res, "dry_run", dry);
    call->result = res;
    int code = 0;
    if (strict && nwarn > 0 && rc == SL_EINVAL) {
        code = SLUICE__V1__ERROR_CODE__BAD_REQUEST;
        sl_admin_text (call, "policy.apply: %d warning%s, which count as errors with strict; "
                       "nothing was changed\n%s", nwarn, nwarn == 1 ? "" : "s", wrendered);
        goto out;
    }
    if (rc != 0) {
        if (rc == SL_EFULL || rc == SL_ESTORE)
            call->wrote = 1;       /* the transaction may be damaged: abort it */
        code = sl_reason_from_rc (rc);
        size_t nd = sl_policy_diags_count (diags);
        /* every error, however many: the text is not cut */
        sl_admin_text (call, "policy.apply: %s%s%s%s",
                       r.error[0] ? r.error : "",
                       r.error[0] && nd ? "\n" : "",
                       nd ? rendered : "",
                       !r.error[0] && !nd ? sl_strerror (rc) : "");
        sl_info ("policy.refused", "by=%s owner=%s errors=%zu rc=%s", call->caller->name,
                 owner, nd, sl_strerror (rc));
        goto out;
    }
    cJSON_AddNumberToObject (res, "version", r.version);
    cJSON_AddNumberToObject (res, "previous", r.previous);
    cJSON_AddNumberToObject (res, "rules", (double) r.rules);
    if (dry) {
        /* access changes and the subscriptions they hit (sl_admin_policy.h) */
        cJSON_AddStringToObject (res, "rule_changes", r.changes ? r.changes : "");
        sl_admin_policy_purpose_changes (b, txn, owner, text, len, res);
        if (sl_admin_policy_dry_run (b, sl_policy_store_index (store), r.index,
                                     sl_now_ms () / 1000, res) != 0) {
            code = sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                                  "policy.apply: out of memory");
            goto out;
        }
        snprintf (call->text, sizeof call->text,
                  "dry run: %s version %u would have %zu rules (%s); nothing was changed",
                  owner, r.version, r.rules, r.changes && *r.changes ? r.changes : "no rule changes");
        goto out;
    }
    cJSON_AddStringToObject (res, "changes", r.changes ? r.changes : "");
    call->wrote = 1;
    char detail[600];
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive (call->args, "message");
    int n = snprintf (detail, sizeof detail, "owner=%s version=%u previous=%u rules=%zu "
                      "changes=%.200s", owner, r.version, r.previous, r.rules,
                      r.changes ? r.changes : "");
    if (cJSON_IsString (jm) && jm->valuestring && *jm->valuestring && n > 0
        && (size_t) n < sizeof detail)       /* the person's reason for the change */
        snprintf (detail + n, sizeof detail - (size_t) n, " message=%.240s", jm->valuestring);
    sl_event_t ev = { .kind = SL_AUDIT_POLICY_APPLY, .actor = call->caller->name, .owner = owner,
                      .decision = "ok", .detail = detail };
    if (b->event (b->hook, &ev) != 0) {
        code = sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "policy.apply: cannot record the change; nothing was changed");
        goto out;
    }
    snprintf (call->text, sizeof call->text, "applied %s version %u (%zu rules; %s)", owner,
              r.version, r.rules, r.changes && *r.changes ? r.changes : "no rule changes");
    sl_info ("policy.applied", "by=%s owner=%s version=%u rules=%zu", call->caller->name, owner,
             r.version, r.rules);
out:
    free (rendered);
    free (wrendered);
    sl_policy_diags_destroy (&warns);
    sl_policy_apply_result_clear (&r);
    sl_policy_diags_destroy (&diags);
    return code;
}

const sl_admin_command_t sl_admin_policy_apply_commands[] = {
    { "policy.apply", "admin:*", s_apply },
};
const size_t sl_admin_policy_apply_count = 1;

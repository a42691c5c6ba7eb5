/*  sl_admin_policy_draft — policy.explain's sample record and draft policy;
 *  see sl_admin_policy_explain_inputs in sl_admin_policy.h. */
#include "sl_admin_policy.h"
#include "sl_admin_fail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"
#include "sl_policy_sample.h"
#include "sl_registry.h"
#include "sluice/v1/envelope.pb-c.h"
#include "sl_role.h"

static int
s_draft (sl_admin_call_t *call, MDB_txn *txn, const char *text, sl_policy_index_t **draft_p)
{
    const cJSON *jf = cJSON_GetObjectItemCaseSensitive (call->args, "draft_file");
    const cJSON *jo = cJSON_GetObjectItemCaseSensitive (call->args, "draft_owner");
    const char *role = call->caller->role;
    const char *owner = cJSON_IsString (jo) && *jo->valuestring ? jo->valuestring
                      : sl_role_admin_scope (role) ? sl_role_admin_scope (role) : "";
    if (!*owner)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                              "policy.explain: a draft needs \"draft_owner\" (whose policy the "
                              "draft would replace)");
    const char *file = cJSON_IsString (jf) && *jf->valuestring ? jf->valuestring : "draft.policy";
    sl_policy_set_t *set = sl_policy_set_new ();
    sl_policy_catalog_t *cat = sl_policy_catalog_new ();
    sl_policy_diags_t *diags = sl_policy_diags_new ();
    int code = SLUICE__V1__ERROR_CODE__INTERNAL;
    if (!set || !cat || !diags)
        goto out;
    sl_registry_t *reg = call->ctx->registry;
    for (size_t i = 0; i < sl_registry_count (reg); i++) {
        const sl_member_t *m = sl_registry_at (reg, i);
        if (!m->revoked)
            sl_policy_catalog_add_member (cat, m->name, m->role);
    }
    /* the draft replaces its owner's text: everyone else's stays in force */
    if (sl_admin_policy_current_set (call->ctx, txn, owner, set) != 0)
        goto out;
    int prc = sl_policy_set_parse (set, file, text, strlen (text), 0, diags);
    if (prc == SL_ENOMEM)
        goto out;
    if (sl_policy_set_check (set, cat, diags) != 0 || prc != 0) {
        char *r = sl_policy_diags_render (diags);
        sl_admin_text (call, "policy.explain: the draft %s does not check (%zu error%s); "
                       "nothing was explained\n%s", file, sl_policy_diags_count (diags),
                       sl_policy_diags_count (diags) == 1 ? "" : "s", r ? r : "");
        free (r);
        code = SLUICE__V1__ERROR_CODE__BAD_REQUEST;
        goto out;
    }
    *draft_p = sl_policy_index_new (set, NULL);
    code = *draft_p ? 0 : SLUICE__V1__ERROR_CODE__INTERNAL;
out:
    if (code == SLUICE__V1__ERROR_CODE__INTERNAL && !call->long_text)
        snprintf (call->text, sizeof call->text, "policy.explain: out of memory or store error");
    sl_policy_diags_destroy (&diags);
    sl_policy_catalog_destroy (&cat);
    sl_policy_set_destroy (&set);
    return code;
}

int
sl_admin_policy_explain_inputs (sl_admin_call_t *call, MDB_txn *txn, const sl_schema_t *schema,
                                sl_policy_index_t **draft_p, ProtobufCMessage **sample_p)
{
    *draft_p = NULL;
    *sample_p = NULL;
    const cJSON *js = cJSON_GetObjectItemCaseSensitive (call->args, "sample");
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive (call->args, "draft");
    if (js && !cJSON_IsNull (js)) {
        char err[400];
        if (!schema)
            return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                                  "policy.explain: a sample record needs a registered record "
                                  "type");
        *sample_p = sl_policy_sample_new (schema, js, err, sizeof err);
        if (!*sample_p)
            return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                                  "policy.explain: sample record: %s", err);
    }
    if (jd && cJSON_IsString (jd)) {
        int code = s_draft (call, txn, jd->valuestring, draft_p);
        if (code != 0) {
            sl_policy_sample_destroy (sample_p);
            return code;
        }
    }
    return 0;
}

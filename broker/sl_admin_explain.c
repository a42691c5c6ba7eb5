/*  sl_admin_explain — policy.explain (docs/PROTOCOL.md 6.3): why a consumer
 *  gets, or does not get, a record type for a purpose, from the index in
 *  force or a draft, optionally for one person and one sample record; who
 *  may ask it about one person, and the audit entry every such question
 *  leaves.
 *
 *  Design notes:
 *   1. An explain with a subject reads that person's consent state (valid,
 *      withdrawn, expired, missing) for the owner's data. It is therefore
 *      limited to the roles that may read that consent with consent.show:
 *      the auditor, admin:city, and admin:<owner>. Any other administrator
 *      gets NOT_PERMITTED, exactly as consent.show answers it.
 *   2. Every explain with a subject is one `policy.explain` audit entry
 *      (actor = caller, owner, counterpart = consumer, record type, purpose,
 *      the subject's pseudonym, decision `ok` or `refused`). An allowed one
 *      is written in the batch transaction and committed by the dispatcher
 *      before the answer leaves (call->wrote); a refused one is committed
 *      here, because the dispatcher aborts what a failing command wrote.
 */
#include "sl_admin.h"
#include "sl_admin_fail.h"
#include "sl_admin_policy.h"
#include "sl_admin_policy_int.h"
#include "sl_policy_sample.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_audit.h"
#include "sl_consent.h"
#include "sl_policy_store.h"
#include "sl_schema.h"
#include "sl_commit_admin.h"
#include "sl_error.h"
#include "sl_govern.h"
#include "sl_log.h"
#include "sluice/v1/envelope.pb-c.h"
#include "sl_role.h"
#include "sl_reason.h"

int
sl_admin_explain_subject (sl_admin_call_t *call, const char *owner, const char *consumer,
                          const char *record_type, const char *purpose, const char *subject)
{
    const char *role = call->caller->role;
    int allowed = sl_role_is_auditor (role) || sl_role_administers (role, owner);
    sl_audit_t *audit = call->ctx->audit;
    if (!audit || sl_commit_ready (call->ctx->commit) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "cannot record this explain in the audit log (store unavailable); "
                              "nothing was evaluated");
    char detail[80];
    snprintf (detail, sizeof detail, "role=%s", role);
    sl_audit_event_t ev = {
        .kind = SL_AUDIT_POLICY_EXPLAIN, .actor = call->caller->name, .counterpart = consumer,
        .owner = owner, .record_type = record_type, .subject = subject, .purpose = purpose,
        .decision = allowed ? "ok" : "refused", .reason = allowed ? NULL : "not-permitted",
        .detail = detail,
    };
    int rc = sl_commit_audit_append (call->ctx->commit, audit, &ev, NULL);
    if (rc == 0 && !allowed)
        rc = sl_commit_flush (call->ctx->commit);
    else if (rc != 0)
        sl_commit_abort (call->ctx->commit);
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "cannot record this explain in the audit log "
                  "(%s); nothing was evaluated", sl_strerror (rc));
        return sl_reason_from_rc (rc);
    }
    if (!allowed) {
        sl_warn ("policy.explain_refused", "member=%s role=%s owner=%s", call->caller->name, role, owner);
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__NOT_PERMITTED,
                              "policy.explain with a subject reads that person's consent for %s's "
                              "data: only the auditor, admin:city and admin:%s may ask it; role "
                              "%s may ask without --subject", owner, owner, role);
    }
    call->wrote = 1;
    return 0;
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

int
sl_admin_policy_cmd_explain (sl_admin_call_t *call)
{
    int bad = 0;
    int64_t at;
    const char *consumer = sl_admin_policy_arg_str (call, "consumer", 1, &bad);
    const char *type = consumer ? sl_admin_policy_arg_str (call, "record_type", 1, &bad) : NULL;
    const char *purpose = type ? sl_admin_policy_arg_str (call, "purpose", 1, &bad) : NULL;
    const char *owner = purpose ? sl_admin_policy_arg_str (call, "owner", 0, &bad) : NULL;
    const char *subject = purpose && !bad ? sl_admin_policy_arg_str (call, "subject", 0, &bad)
                                          : NULL;
    if (!purpose || bad || sl_admin_policy_arg_at (call, &at) != 0)
        return S_BAD;
    const sl_schema_t *schema = sl_schema_find (type);
    if (!schema && !owner)
        return sl_admin_fail (call, S_BAD, "unknown record type '%.64s' (record types look like "
                              "water.v1.MeterReading)", type);
    if (schema && owner && strcmp (owner, schema->owner) != 0)
        return sl_admin_fail (call, S_BAD, "owner '%.32s' does not own %s; it belongs to '%s' "
                              "(leave owner out to use the record type's owner)", owner, type,
                              schema->owner);
    if (!owner)
        owner = schema->owner;
    if (subject) {
        int code = sl_admin_explain_subject (call, owner, consumer, type, purpose, subject);
        if (code != 0)
            return code;
    }
    MDB_txn *txn;
    if (sl_admin_policy_read_txn (call, &txn) != 0)
        return S_INTERNAL;
    sl_consent_binding_t binding = { call->ctx->consent, txn };
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
    int rc = sl_policy_explain (draft ? draft : sl_policy_store_index (call->ctx->policy),
                                &req, &ex);
    if (rc != 0) {
        sl_policy_index_destroy (&draft);
        sl_policy_sample_destroy (&sample);
        mdb_txn_abort (txn);
        return sl_admin_fail (call, S_BAD, "%s", sl_strerror (rc));
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
        cJSON_AddStringToObject (o, "subject",
                                 sl_admin_policy_subject_name (ex.decision.transform.subject));
        cJSON_AddStringToObject (o, "time",
                                 sl_admin_policy_coarsen_name (ex.decision.transform.coarsen));
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

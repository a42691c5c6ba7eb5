/*  sl_admin_consent — the consent.* admin commands: grant, renew, withdraw,
 *  list, show. docs/PROTOCOL.md §6.4 lists arguments and results;
 *  docs/CONSENT.md is the registry's contract.
 *
 *  Design notes:
 *
 *   1. A change is one sl_consent_apply() in the batch transaction followed
 *      by its audit entry (consent.grant / consent.renew / consent.withdraw)
 *      in the same transaction, both through the commit pipeline
 *      (sl_commit_consent_apply, sl_commit_audit_append); the dispatcher commits both before it
 *      answers, or neither (call->wrote = 1 on every path that may have
 *      written).
 *   2. The role rule is the registry's (sl_consent_role_allows, via the
 *      admin plane): admin:city, or admin:<controller> of the consent. The
 *      command table only lets admins in; the registry decides per consent.
 *   3. Reading: the auditor and admin:city see every consent; an
 *      admin:<bureau> sees only consents whose controller is its bureau
 *      (list filters, show of another bureau's consent is refused).
 */
#include "sl_admin.h"
#include "sl_admin_fail.h"
#include "sl_consent_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_audit.h"
#include "sl_commit_admin.h"
#include "sl_consent.h"
#include "sl_error.h"
#include "sl_govern.h"
#include "sl_log.h"
#include "sluice/v1/envelope.pb-c.h"
#include "sl_role.h"
#include "sl_reason.h"

static const char *
s_scope (const sl_admin_call_t *call)
{
    return sl_role_bureau (call->caller->role);
}

/*  Applies `event` and audits it as `kind`. Returns an ErrorCode. */
static int
s_apply (sl_admin_call_t *call, const char *kind,
         const Sluice__V1__ConsentEvent *event, const char *reason)
{
    sl_consent_t *reg = call->ctx->consent;
    sl_audit_t *audit = call->ctx->audit;
    if (!reg || !audit)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "this broker has no %s", reg ? "audit log" : "consent registry");
    if (sl_commit_ready (call->ctx->commit) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL, "store unavailable");
    const char *roles[] = { call->caller->role, NULL };
    sl_consent_actor_t actor = { call->caller->name, SL_CONSENT_VIA_ADMIN, roles };
    sl_consent_result_t res;
    sl_consent_record_t *rec = NULL;
    int64_t now = (int64_t) time (NULL);
    int rc = sl_commit_consent_apply (call->ctx->commit, reg, event, &actor, now, &res, &rec);
    if (rc != 0) {
        if (rc != SL_EINVAL && rc != SL_EPARSE && rc != SL_EEXIST && rc != SL_ENOTFOUND
            && rc != SL_EPERM)
            call->wrote = 1;     /* the transaction may be damaged: abort it */
        snprintf (call->text, sizeof call->text, "%s", res.error);
        return sl_reason_from_rc (rc);
    }
    call->wrote = 1;
    sl_consent_entry_buf_t buf;
    sl_audit_event_t ev;
    sl_consent_entry (&ev, &buf, &res, rec, call->caller->name, reason);
    rc = sl_commit_audit_append (call->ctx->commit, audit, &ev, NULL);
    if (rc != 0) {
        sl_consent_record_destroy (&rec);
        snprintf (call->text, sizeof call->text, "cannot record the change in the audit "
                  "log (%s); nothing was changed", sl_strerror (rc));
        return sl_reason_from_rc (rc == SL_EFULL ? rc : SL_ESTORE);
    }
    sl_info ("consent.changed", "by=%s kind=%s consent=%s controller=%s recipient=%s",
             call->caller->name, kind, res.consent_id, sl_consent_record_controller (rec),
             sl_consent_record_recipient (rec));
    call->result = sl_consent_record_json (rec, now);
    snprintf (call->text, sizeof call->text, "%s %s", kind, res.consent_id);
    sl_consent_record_destroy (&rec);
    return 0;
}

/*  grant and renew: the args are the event's JSON (CONSENT.md §2). */
static int
s_event (sl_admin_call_t *call, const char *kind_json, const char *audit_kind)
{
    cJSON *args = cJSON_Duplicate (call->args, 1);
    if (!args)
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    cJSON_DeleteItemFromObjectCaseSensitive (args, "kind");
    cJSON_AddStringToObject (args, "kind", kind_json);
    Sluice__V1__ConsentEvent *ev = NULL;
    char err[256];
    int rc = sl_consent_event_from_json (args, &ev, err, sizeof err);
    cJSON_Delete (args);
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "%s", err);
        return sl_reason_from_rc (rc);
    }
    int code = s_apply (call, audit_kind, ev, NULL);
    sl_consent_event_destroy (&ev);
    return code;
}

static int
s_grant (sl_admin_call_t *call)
{
    return s_event (call, "given", SL_AUDIT_CONSENT_GRANT);
}

static int
s_renew (sl_admin_call_t *call)
{
    return s_event (call, "renewed", SL_AUDIT_CONSENT_RENEW);
}

static const char *
s_id (sl_admin_call_t *call)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (call->args, "id");
    if (!cJSON_IsString (v) || !v->valuestring || !*v->valuestring) {
        snprintf (call->text, sizeof call->text, "missing argument 'id' (the consent id)");
        return NULL;
    }
    return v->valuestring;
}

static int
s_withdraw (sl_admin_call_t *call)
{
    const char *id = s_id (call);
    if (!id)
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive (call->args, "reason");
    if (r && !cJSON_IsString (r))
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST, "'reason' must be text");
    Sluice__V1__ConsentEvent ev = SLUICE__V1__CONSENT_EVENT__INIT;
    ev.kind = SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN;
    ev.consent_id = (char *) id;
    return s_apply (call, SL_AUDIT_CONSENT_WITHDRAW, &ev,
                    r ? r->valuestring : NULL);
}

/*  The consent registry and a read-only transaction on the store, which
    the caller aborts. Returns 0, or an error code with call->text set. */
static int
s_read (sl_admin_call_t *call, sl_consent_t **reg, MDB_txn **txn)
{
    *reg = call->ctx->consent;
    if (!*reg || sl_store_read (call->ctx->store, txn) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "consent registry unavailable");
    return 0;
}

static int
s_list (sl_admin_call_t *call)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (call->args, "subject");
    if (!cJSON_IsString (v) || !v->valuestring || !*v->valuestring)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                              "missing argument 'subject' (the person's id)");
    /* a person looked up by an administrator or auditor: audited (AUDIT.md §4) */
    char detail[160];
    snprintf (detail, sizeof detail, "command=consent.list role=%.64s", call->caller->role);
    sl_event_t lk = { .kind = SL_AUDIT_LOOKUP, .actor = call->caller->name,
                      .subject = v->valuestring, .decision = "ok", .detail = detail };
    call->wrote = 1;
    if (call->ctx->event (call->ctx->hook, &lk) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "consent.list: cannot record the look-up in the audit log; nothing "
                              "was read");
    sl_consent_t *reg;
    MDB_txn *txn;
    int code = s_read (call, &reg, &txn);
    if (code != 0)
        return code;
    int rc = 0;
    cJSON *arr = sl_consent_list_json (reg, txn, v->valuestring, (int64_t) time (NULL), &rc);
    mdb_txn_abort (txn);
    if (!arr) {
        snprintf (call->text, sizeof call->text, "%s", sl_strerror (rc));
        return sl_reason_from_rc (rc);
    }
    const char *scope = s_scope (call);
    if (scope) {
        for (int i = cJSON_GetArraySize (arr) - 1; i >= 0; i--) {
            const cJSON *c = cJSON_GetObjectItemCaseSensitive (cJSON_GetArrayItem (arr, i),
                                                               "controller");
            if (!cJSON_IsString (c) || strcmp (c->valuestring, scope) != 0)
                cJSON_DeleteItemFromArray (arr, i);
        }
    }
    call->result = arr;
    snprintf (call->text, sizeof call->text, "%d consents", cJSON_GetArraySize (arr));
    return 0;
}

static int
s_show (sl_admin_call_t *call)
{
    const char *id = s_id (call);
    if (!id)
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    sl_consent_t *reg;
    MDB_txn *txn;
    int code = s_read (call, &reg, &txn);
    if (code != 0)
        return code;
    sl_consent_record_t *rec = NULL;
    int rc = sl_consent_get (reg, txn, id, &rec);
    mdb_txn_abort (txn);
    if (rc == SL_ENOTFOUND || rc == SL_EINVAL)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__NOT_FOUND,
                              "no consent with id '%.64s'", id);
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "%s", sl_strerror (rc));
        return sl_reason_from_rc (rc);
    }
    const char *scope = s_scope (call);
    if (scope && strcmp (scope, sl_consent_record_controller (rec)) != 0) {
        snprintf (call->text, sizeof call->text,
                  "consent %.64s belongs to controller %s; role %s reads only "
                  "consents of %s", id, sl_consent_record_controller (rec), call->caller->role,
                  scope);
        sl_consent_record_destroy (&rec);
        return SLUICE__V1__ERROR_CODE__NOT_PERMITTED;
    }
    call->result = sl_consent_record_json (rec, (int64_t) time (NULL));
    sl_consent_record_destroy (&rec);
    snprintf (call->text, sizeof call->text, "consent %s", id);
    return call->result ? 0 : SLUICE__V1__ERROR_CODE__INTERNAL;
}

const sl_admin_command_t sl_admin_consent_commands[] = {
    { "consent.grant",    "admin:*",         s_grant },
    { "consent.renew",    "admin:*",         s_renew },
    { "consent.withdraw", "admin:*",         s_withdraw },
    { "consent.list",     "admin:*|auditor", s_list },
    { "consent.show",     "admin:*|auditor", s_show },
};
const size_t sl_admin_consent_count =
    sizeof sl_admin_consent_commands / sizeof sl_admin_consent_commands[0];

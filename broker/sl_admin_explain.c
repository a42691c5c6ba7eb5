/*  sl_admin_explain — who may ask `policy.explain` about one person, and the
 *  audit entry every such question leaves.
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

#include <stdio.h>
#include <string.h>

#include "sl_audit.h"
#include "sl_batch.h"
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
    sl_audit_t *audit = sl_broker_audit (call->broker);
    MDB_txn *txn;
    if (!audit || sl_batch_txn (sl_broker_batch (call->broker), &txn) != 0) {
        snprintf (call->text, sizeof call->text, "cannot record this explain in the audit log "
                  "(store unavailable); nothing was evaluated");
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    }
    char detail[80];
    snprintf (detail, sizeof detail, "role=%s", role);
    sl_audit_event_t ev = {
        .kind = SL_AUDIT_POLICY_EXPLAIN, .actor = call->caller->name, .counterpart = consumer,
        .owner = owner, .record_type = record_type, .subject = subject, .purpose = purpose,
        .decision = allowed ? "ok" : "refused", .reason = allowed ? NULL : "not-permitted",
        .detail = detail,
    };
    int rc = sl_audit_append (audit, txn, &ev, NULL);
    if (rc == 0 && !allowed)
        rc = sl_broker_commit (call->broker);
    else if (rc != 0)
        sl_batch_abort (sl_broker_batch (call->broker));
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "cannot record this explain in the audit log "
                  "(%s); nothing was evaluated", sl_strerror (rc));
        return sl_reason_from_rc (rc);
    }
    if (!allowed) {
        sl_warn ("policy.explain_refused", "member=%s role=%s owner=%s", call->caller->name, role, owner);
        snprintf (call->text, sizeof call->text,
                  "policy.explain with a subject reads that person's consent for %s's data: "
                  "only the auditor, admin:city and admin:%s may ask it; role %s may ask "
                  "without --subject", owner, owner, role);
        return SLUICE__V1__ERROR_CODE__NOT_PERMITTED;
    }
    call->wrote = 1;
    return 0;
}

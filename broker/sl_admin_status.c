/*  sl_admin_status — the `status` admin command. */
#include "sl_admin.h"
#include "sl_clock.h"

#include <stdio.h>
#include <string.h>

#include "sl_audit.h"
#include "sl_commit_admin.h"
#include "sl_govern.h"
#include "sl_policy_store.h"
#include "sl_queue.h"
#include "sl_session.h"
#include "sl_subs.h"
#include "sluice/v1/envelope.pb-c.h"

/*  Never brick: what the broker left out of force because it no longer
 *  checks or builds (docs/SCHEMAS.md, "Never brick"). */
void
sl_admin_status_set_aside (const sl_admin_ctx_t *b, cJSON *o)
{
    sl_policy_store_t *ps = b->policy;
    cJSON *aside = cJSON_AddArrayToObject (o, "policies_set_aside");
    for (size_t i = 0; i < sl_policy_store_aside_count (ps); i++) {
        uint32_t version;
        const char *owner = sl_policy_store_aside_owner (ps, i, &version);
        cJSON *a = cJSON_CreateObject ();
        cJSON_AddStringToObject (a, "owner", owner);
        cJSON_AddNumberToObject (a, "version", version);
        cJSON_AddItemToArray (aside, a);
    }
    cJSON_AddStringToObject (o, "policies_set_aside_errors", sl_policy_store_aside_text (ps));
    cJSON_AddStringToObject (o, "schemas_skipped",
                             sl_govern_schemas_skipped (b->govern));
}

static int
s_status (sl_admin_call_t *call)
{
    const sl_admin_ctx_t *b = call->ctx;
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "version", SLUICE_VERSION);
    cJSON_AddNumberToObject (o, "uptime_s",
                             (double) ((sl_now_ms () - b->started_ms) / 1000));
    cJSON *conn = cJSON_AddArrayToObject (o, "members_connected");
    sl_sessions_t *ss = b->sessions;
    for (size_t i = 0; i < sl_sessions_count (ss); i++) {
        sl_session_t *s = sl_sessions_at (ss, i);
        if (s->plane == SL_PLANE_DATA && s->current)
            cJSON_AddItemToArray (conn, cJSON_CreateString (s->member));
    }
    /* data-plane connections with their delivery state: a consumer that is
     * connected but receives nothing shows here why (no credit, a window
     * full of unacked deliveries, or not current) */
    cJSON *sess = cJSON_AddArrayToObject (o, "sessions");
    for (size_t i = 0; i < sl_sessions_count (ss); i++) {
        sl_session_t *s = sl_sessions_at (ss, i);
        if (s->plane != SL_PLANE_DATA)
            continue;
        cJSON *j = cJSON_CreateObject ();
        cJSON_AddStringToObject (j, "member", s->member);
        cJSON_AddStringToObject (j, "peer", s->peer);
        cJSON_AddBoolToObject (j, "current", s->current);
        cJSON_AddNumberToObject (j, "credit", s->credit);
        cJSON_AddNumberToObject (j, "inflight", (double) s->n_inflight);
        cJSON_AddNumberToObject (j, "scan_from", (double) s->scan_from);
        cJSON_AddBoolToObject (j, "dirty", s->dirty);
        cJSON_AddItemToArray (sess, j);
    }
    cJSON *queues = cJSON_AddObjectToObject (o, "queues");
    MDB_txn *txn;
    if (sl_store_read (b->store, &txn) == 0) {
        sl_subs_t *subs = b->subs;
        for (size_t i = 0; i < sl_subs_count (subs); i++) {
            const char *c = sl_subs_at (subs, i)->consumer;
            if (cJSON_GetObjectItemCaseSensitive (queues, c))
                continue;
            long d = sl_queue_depth (b->queue, txn, c);
            cJSON_AddNumberToObject (queues, c, (double) (d < 0 ? 0 : d));
        }
        mdb_txn_abort (txn);
    }
    sl_admin_status_set_aside (b, o);
    /* how full the store is and how far the audit log is signed: what a
     * monitoring key needs beside the queues (OPERATIONS.md §11 has the
     * same as metrics) */
    size_t used = 0, cap = 0;
    if (sl_store_usage (b->store, &used, &cap) == 0) {
        cJSON *st = cJSON_AddObjectToObject (o, "store");
        cJSON_AddNumberToObject (st, "used_bytes", (double) used);
        cJSON_AddNumberToObject (st, "capacity_bytes", (double) cap);
    }
    sl_audit_t *audit = b->audit;
    if (audit) {
        int64_t cp_us = 0;
        uint64_t cp = sl_audit_last_checkpoint (audit, &cp_us);
        cJSON *au = cJSON_AddObjectToObject (o, "audit");
        cJSON_AddNumberToObject (au, "head_seq", (double) sl_audit_head (audit, NULL));
        cJSON_AddNumberToObject (au, "checkpoint_seq", (double) cp);
        int64_t since = cp_us > 0 ? cp_us / 1000 : b->started_ms;
        cJSON_AddNumberToObject (au, "checkpoint_age_s", (double) ((sl_now_ms () - since) / 1000));
    }
    cJSON_AddNumberToObject (o, "pending", sl_commit_pending (b->commit));
    cJSON_AddNumberToObject (o, "commits", (double) sl_commit_commits (b->commit));
    call->result = o;
    snprintf (call->text, sizeof call->text, "sluiced %s", SLUICE_VERSION);
    return 0;
}

const sl_admin_command_t sl_admin_status_commands[] = {
    { "status", "admin:*|auditor|monitor", s_status },
};
const size_t sl_admin_status_count =
    sizeof sl_admin_status_commands / sizeof sl_admin_status_commands[0];

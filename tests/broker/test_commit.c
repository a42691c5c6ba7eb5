/*  sl_commit: the data path's typed writes. Everything written through it
 *  lands in the batch's one transaction, is seen by sl_commit_view before
 *  the commit, becomes durable with the batch, and disappears with an abort. */
#include "tu.h"

#include "sl_commit_admin.h"
#include "sl_error.h"

typedef struct {
    int n;
    char kinds[8][16];
} events_t;

static int
recorder (void *ctx, MDB_txn *txn, const sl_event_t *ev)
{
    events_t *e = ctx;
    cr_assert_not_null (txn, "the recorder runs inside the write transaction");
    if (e->n < 8)
        snprintf (e->kinds[e->n++], sizeof e->kinds[0], "%s", ev->kind);
    return 0;
}

static int
count_entries (void *ctx, const sl_queue_entry_t *e)
{
    (void) e;
    (*(int *) ctx)++;
    return 0;
}

static int
queued (sl_store_t *st, sl_queue_t *q, const char *consumer)
{
    MDB_txn *r;
    int n = 0;
    cr_assert_eq (sl_store_read (st, &r), 0);
    sl_queue_scan (q, r, consumer, 0, count_entries, &n);
    mdb_txn_abort (r);
    return n;
}

Test (commit, typed_writes_commit_with_the_batch)
{
    tu_t p;
    tu_pipe_open (&p);
    cr_assert_not_null (p.c);
    events_t ev = { 0 };
    cr_assert_eq (sl_commit_recording (p.c), 0);
    sl_commit_on_event (p.c, recorder, &ev);
    cr_assert_eq (sl_commit_recording (p.c), 1);

    cr_assert_eq (sl_commit_epoch_begin (p.c), 0);
    int created = 0;
    cr_assert_eq (sl_commit_subscription (p.c, 1, "power", "water.v1.MeterReading", "billing", &created), 0);
    cr_assert_eq (created, 1);
    uint8_t id[SL_MSGID_LEN] = { 1, 2, 3 };
    cr_assert_eq (sl_commit_msgid_seen (p.c, "water", id), 0);
    cr_assert_eq (sl_commit_msgid_put (p.c, "water", id, 1000), 0);
    cr_assert_eq (sl_commit_msgid_seen (p.c, "water", id), 1, "a pending id counts as seen");
    Sluice__V1__RecordMeta m = SLUICE__V1__RECORD_META__INIT;
    m.owner = "water";
    m.record_type = "water.v1.MeterReading";
    uint64_t t1, t2;
    cr_assert_eq (sl_commit_queue_append (p.c, "power", &m, "one", 3, &t1), 0);
    cr_assert_eq (sl_commit_queue_append (p.c, "power", &m, "two", 3, &t2), 0);
    cr_assert_gt (t2, t1);
    sl_event_t e = { .kind = "publish", .actor = "water" };
    cr_assert_eq (sl_commit_event (p.c, &e), 0);
    MDB_txn *view;
    cr_assert_eq (sl_commit_view (p.c, &view), 0);
    cr_assert_eq (sl_queue_count (p.q, view, "power"), 2, "the view sees the pending appends");
    cr_assert_eq (queued (p.st, p.q, "power"), 0, "nothing is visible before the commit");
    sl_commit_note (p.c, 1);
    cr_assert_eq (sl_batch_commit (p.b), 0);
    cr_assert_eq (queued (p.st, p.q, "power"), 2);
    cr_assert_eq (ev.n, 1);
    cr_assert_str_eq (ev.kinds[0], "publish");

    cr_assert_eq (sl_commit_queue_remove (p.c, "power", t1), 0);
    cr_assert_eq (sl_commit_queue_remove (p.c, "power", t1), SL_ENOTFOUND);
    cr_assert_eq (sl_batch_commit (p.b), 0);
    cr_assert_eq (queued (p.st, p.q, "power"), 1);

    sl_commit_destroy (&p.c);
    sl_commit_destroy (&p.c);         /* harmless twice */
    tu_close (&p);
}

Test (commit, an_abort_undoes_every_typed_write)
{
    tu_t p;
    tu_pipe_open (&p);
    uint8_t id[SL_MSGID_LEN] = { 9 };
    Sluice__V1__RecordMeta m = SLUICE__V1__RECORD_META__INIT;
    m.owner = "water";
    uint64_t tag;
    cr_assert_eq (sl_commit_queue_append (p.c, "power", &m, "x", 1, &tag), 0);
    cr_assert_eq (sl_commit_msgid_put (p.c, "water", id, 1), 0);
    sl_commit_abort (p.c);
    cr_assert_eq (queued (p.st, p.q, "power"), 0);
    cr_assert_eq (sl_commit_msgid_seen (p.c, "water", id), 0, "the aborted id is not remembered");
    sl_commit_abort (p.c);
    tu_close (&p);
}

/*  The admin plane's typed writes (sl_commit_admin.h): they land in the
 *  batch's transaction through the owning module, are durable after
 *  sl_commit_flush and gone after sl_commit_abort. */
Test (commit, admin_writes_go_through_the_owning_module)
{
    tu_t p;
    tu_pipe_open (&p);
    sl_registry_t *reg = sl_registry_new (p.st);
    cr_assert_not_null (reg);
    sl_keypair_t k1, k2;
    cr_assert_eq (sl_keys_generate (&k1), 0);
    cr_assert_eq (sl_keys_generate (&k2), 0);
    char err[256];
    uint64_t commits = sl_commit_commits (p.c);

    cr_assert_eq (sl_commit_ready (p.c), 0);
    cr_assert_eq (sl_commit_member_add (p.c, reg, "water", "admin:water", k1.public_key, err,
                                        sizeof err), 0, "%s", err);
    cr_assert_eq (sl_commit_flush (p.c), 0);
    cr_assert_eq (sl_commit_commits (p.c), commits + 1);
    sl_registry_t *fresh = sl_registry_new (p.st);
    cr_assert_not_null (sl_registry_by_name (fresh, "water"), "durable after the flush");
    sl_registry_destroy (&fresh);

    /* an aborted write is not stored */
    cr_assert_eq (sl_commit_member_add (p.c, reg, "power", "member", k2.public_key, err,
                                        sizeof err), 0, "%s", err);
    sl_commit_abort (p.c);
    fresh = sl_registry_new (p.st);
    cr_assert_null (sl_registry_by_name (fresh, "power"), "the aborted member was stored");
    cr_assert_not_null (sl_registry_by_name (fresh, "water"));
    sl_registry_destroy (&fresh);

    /* a refused write (the module's own check) reports the module's error */
    cr_assert_eq (sl_registry_reload (reg), 0);
    cr_assert_eq (sl_commit_member_add (p.c, reg, "Bad Name", "member", k2.public_key, err,
                                        sizeof err), SL_EINVAL);
    cr_assert_eq (sl_commit_member_revoke (p.c, reg, "nobody"), SL_ENOTFOUND);
    cr_assert_eq (sl_commit_member_revoke (p.c, reg, "water"), 0);
    cr_assert_eq (sl_commit_flush (p.c), 0);
    fresh = sl_registry_new (p.st);
    cr_assert (sl_registry_by_name (fresh, "water")->revoked);
    sl_registry_destroy (&fresh);

    sl_registry_destroy (&reg);
    tu_close (&p);
}

/*  Governance's audit writes (sl_govern: data-plane consent entries,
 *  checkpoints) go through the pipeline too: pending until the batch
 *  commits, gone with an abort, the chain head kept in step by the audit
 *  log's batch listener. */
Test (commit, audit_appends_and_checkpoints_ride_the_batch)
{
    tu_t p;
    tu_pipe_open (&p);
    char err[256] = "";
    cr_assert_eq (sl_audit_keygen (u_dir, err, sizeof err), 0, "%s", err);
    sl_audit_t *a = sl_audit_open (sl_store_env (p.st), u_dir, 0, err, sizeof err);
    cr_assert_not_null (a, "%s", err);
    cr_assert_eq (sl_batch_listen (p.b, sl_audit_txn_outcome, a), 0);
    sl_audit_event_t e = { .kind = "consent.grant", .actor = "registry" };

    uint64_t seq = 0;
    cr_assert_eq (sl_commit_audit_append (p.c, a, &e, &seq), 0);
    cr_assert_eq (seq, 1);
    cr_assert_eq (sl_commit_audit_checkpoint (p.c, a, 0), 0);
    sl_commit_abort (p.c);
    cr_assert_eq (sl_audit_head (a, NULL), 0, "an aborted batch leaves no entry");

    cr_assert_eq (sl_commit_audit_append (p.c, a, &e, &seq), 0);
    cr_assert_eq (seq, 1, "the aborted sequence number is used again: no hole");
    cr_assert_eq (sl_audit_checkpoint_due (a, 1, 0, 0), 0, "nothing committed yet");
    cr_assert_eq (sl_batch_commit (p.b), 0);
    cr_assert_eq (sl_audit_head (a, NULL), 1);
    cr_assert_eq (sl_audit_checkpoint_due (a, 1, 0, 0), 1);
    cr_assert_eq (sl_commit_audit_checkpoint (p.c, a, 0), 0);
    cr_assert_eq (sl_audit_checkpoint_due (a, 1, 0, 0), 1, "a pending checkpoint does not count");
    cr_assert_eq (sl_commit_flush (p.c), 0);
    cr_assert_eq (sl_audit_checkpoint_due (a, 1, 0, 0), 0, "the committed checkpoint counts");

    sl_audit_destroy (&a);
    tu_close (&p);
}

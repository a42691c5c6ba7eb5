/*  sl_batch: group commit and outcome listeners. */
#include "tu.h"

#include "sl_batch.h"
#include "sl_error.h"

typedef struct {
    int commits, aborts;
} count_t;

static void
listener (void *ctx, int committed)
{
    count_t *c = ctx;
    if (committed)
        c->commits++;
    else
        c->aborts++;
}

Test (batch, due_by_count)
{
    sl_store_t *st = u_store ();
    sl_batch_t *b = sl_batch_new (st, 3, 1000000);
    count_t c = { 0, 0 };
    cr_assert_eq (sl_batch_listen (b, listener, &c), 0);
    MDB_txn *txn;
    cr_assert_eq (sl_batch_due (b), 0);
    cr_assert_eq (sl_batch_wait_ms (b), -1);
    cr_assert_eq (sl_batch_txn (b, &txn), 0);
    sl_batch_note (b, 2);
    cr_assert_eq (sl_batch_due (b), 0);
    cr_assert_gt (sl_batch_wait_ms (b), 0);
    sl_batch_note (b, 1);
    cr_assert_eq (sl_batch_due (b), 1);
    cr_assert_eq (sl_batch_commit (b), 0);
    cr_assert_eq (c.commits, 1);
    cr_assert_eq (sl_batch_pending (b), 0);
    cr_assert_eq (sl_batch_open (b), 0);
    cr_assert_eq (sl_batch_commits (b), 1);
    cr_assert_eq (sl_batch_commit (b), 0, "commit without a transaction is a no-op");
    cr_assert_eq (c.commits, 1);
    sl_batch_destroy (&b);
    u_cleanup (&st);
}

Test (batch, due_by_time)
{
    sl_store_t *st = u_store ();
    sl_batch_t *b = sl_batch_new (st, 1000, 2000);   /* 2 ms */
    MDB_txn *txn;
    sl_batch_txn (b, &txn);
    sl_batch_note (b, 1);
    cr_assert_eq (sl_batch_due (b), 0);
    usleep (3000);
    cr_assert_eq (sl_batch_due (b), 1);
    cr_assert_eq (sl_batch_wait_ms (b), 0);
    sl_batch_destroy (&b);
    u_cleanup (&st);
}

Test (batch, abort_tells_listeners_and_discards)
{
    sl_store_t *st = u_store ();
    sl_batch_t *b = sl_batch_new (st, 10, 1000);
    count_t c = { 0, 0 };
    sl_batch_listen (b, listener, &c);
    MDB_txn *txn;
    sl_batch_txn (b, &txn);
    MDB_val k = { 3, "key" }, v = { 3, "val" };
    cr_assert_eq (mdb_put (txn, sl_store_dbi (st, SL_DB_META), &k, &v, 0), 0);
    sl_batch_abort (b);
    cr_assert_eq (c.aborts, 1);
    cr_assert_eq (sl_batch_last_rc (b), SL_ESTORE);
    MDB_txn *r;
    sl_store_read (st, &r);
    cr_assert_eq (mdb_get (r, sl_store_dbi (st, SL_DB_META), &k, &v), MDB_NOTFOUND);
    mdb_txn_abort (r);
    /* and a committed write is there after reopening */
    sl_batch_txn (b, &txn);
    mdb_put (txn, sl_store_dbi (st, SL_DB_META), &k, &v, 0);
    cr_assert_eq (sl_batch_commit (b), 0);
    cr_assert_eq (sl_batch_last_rc (b), 0);
    sl_batch_destroy (&b);
    st = u_reopen (&st);
    sl_store_read (st, &r);
    cr_assert_eq (mdb_get (r, sl_store_dbi (st, SL_DB_META), &k, &v), 0);
    mdb_txn_abort (r);
    u_cleanup (&st);
}

/*  With the meta page deferred (MDB_NOMETASYNC), a commit is durable once
 *  the next commit's flush or sl_batch_sync has run; with full syncs, at
 *  once. The listener hears every advance, never a step back. */
Test (batch, durable_follows_the_meta_page)
{
    sl_store_t *st = u_store ();
    sl_batch_t *b = sl_batch_new (st, 256, 1000000);
    tu_durable_t d = { 0 };
    sl_batch_on_durable (b, tu_on_durable, &d);
    MDB_txn *txn;
    cr_assert_eq (sl_batch_txn (b, &txn), 0);
    cr_assert_eq (sl_batch_commit (b), 0);
    cr_assert_eq (sl_batch_durable (b), 1, "full syncs: durable at once");
    cr_assert_eq (d.durable, 1);

    cr_assert_eq (mdb_env_set_flags (sl_store_env (st), MDB_NOMETASYNC, 1), 0);
    cr_assert_eq (sl_batch_txn (b, &txn), 0);
    cr_assert_eq (sl_batch_commit (b), 0);
    cr_assert_eq (sl_batch_commits (b), 2);
    cr_assert_eq (sl_batch_durable (b), 1, "the second commit's meta page is not flushed yet");
    cr_assert_eq (sl_batch_txn (b, &txn), 0);
    cr_assert_eq (sl_batch_commit (b), 0);
    cr_assert_eq (sl_batch_durable (b), 2, "the third commit's flush carried the second's meta");
    cr_assert_eq (d.durable, 2);
    int calls = d.calls;
    cr_assert_eq (sl_batch_sync (b), 0);
    cr_assert_eq (sl_batch_durable (b), 3);
    cr_assert_eq (d.durable, 3);
    cr_assert_eq (d.calls, calls + 1);
    cr_assert_eq (sl_batch_sync (b), 0, "nothing waiting: a no-op");
    cr_assert_eq (d.calls, calls + 1);
    sl_batch_destroy (&b);
    u_cleanup (&st);
}

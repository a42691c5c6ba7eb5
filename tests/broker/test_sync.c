/*  sl_sync: the store's flush in a thread of its own, and sl_batch's use of
 *  it (sl_batch_sync_async / sl_batch_sync_collect). */
#include "tu.h"

#include <poll.h>
#include <pthread.h>

#include "sl_batch.h"
#include "sl_error.h"
#include "sl_sync.h"

/*  Waits up to 5 s for `fd` to be readable. */
static int
wait_readable (int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll (&p, 1, 5000) == 1 && (p.revents & POLLIN);
}

Test (sync, a_request_is_answered_through_the_descriptor)
{
    sl_store_t *st = u_store ();
    sl_sync_t *s = sl_sync_new (sl_store_env (st));
    cr_assert_not_null (s);
    uint64_t durable = 99;
    cr_assert_eq (sl_sync_take (s, &durable), 0, "nothing reported: not an error");
    cr_assert_eq (durable, 0);
    cr_assert_eq (sl_sync_busy (s), 0);

    sl_sync_request (s, 7);
    cr_assert (wait_readable (sl_sync_fd (s)), "the thread reports the flush");
    cr_assert_eq (sl_sync_take (s, &durable), 0);
    cr_assert_eq (durable, 7);
    cr_assert_eq (sl_sync_busy (s), 0);

    sl_sync_request (s, 3);         /* less than already covered: no-op */
    cr_assert_eq (sl_sync_busy (s), 0);
    uint64_t flushes = 0, us = 0;
    sl_sync_stats (s, &flushes, &us);
    cr_assert_eq (flushes, 1);
    sl_sync_destroy (&s);
    cr_assert_null (s);
    sl_sync_destroy (&s);           /* twice is harmless */
    u_cleanup (&st);
}

/*  Under MDB_NOMETASYNC a commit waits for its meta page: the flush thread
 *  makes it durable while the caller goes on (here: commits again), and the
 *  durability listener hears it only from sl_batch_sync_collect, in the
 *  caller's thread, never for a commit made after the flush was asked. */
Test (sync, the_batch_learns_durability_from_the_thread)
{
    sl_store_t *st = u_store ();
    cr_assert_eq (mdb_env_set_flags (sl_store_env (st), MDB_NOMETASYNC, 1), 0);
    sl_batch_t *b = sl_batch_new (st, 256, 1000000);
    tu_durable_t d = { 0 };
    sl_batch_on_durable (b, tu_on_durable, &d);
    cr_assert_eq (sl_batch_sync_fd (b), -1, "no thread yet");
    cr_assert_eq (sl_batch_sync_start (b), 0);
    cr_assert_geq (sl_batch_sync_fd (b), 0);

    MDB_txn *txn;
    MDB_dbi dbi = sl_store_dbi (st, SL_DB_META);
    MDB_val k = { 4, "test" }, v = { 1, "1" };
    cr_assert_eq (sl_batch_txn (b, &txn), 0);
    cr_assert_eq (mdb_put (txn, dbi, &k, &v, 0), 0);
    cr_assert_eq (sl_batch_commit (b), 0);
    cr_assert_eq (sl_batch_durable (b), 0, "its meta page is not flushed yet");

    sl_batch_sync_async (b);            /* returns at once */
    cr_assert_eq (sl_batch_txn (b, &txn), 0);   /* the caller goes on */
    v.mv_data = "2";
    cr_assert_eq (mdb_put (txn, dbi, &k, &v, 0), 0);
    cr_assert (wait_readable (sl_batch_sync_fd (b)));
    cr_assert_eq (d.calls, 0, "nothing is told before collect");
    cr_assert_eq (sl_batch_commit (b), 0);
    /* the second commit's own page flush carried the first's meta page */
    cr_assert_eq (sl_batch_durable (b), 1);
    cr_assert_eq (sl_batch_sync_collect (b), 0);
    cr_assert_eq (sl_batch_durable (b), 1, "the flush was asked before commit 2: covers 1 only");
    cr_assert_eq (d.durable, 1);

    sl_batch_sync_async (b);
    cr_assert (wait_readable (sl_batch_sync_fd (b)));
    cr_assert_eq (sl_batch_sync_collect (b), 0);
    cr_assert_eq (sl_batch_durable (b), 2);
    cr_assert_eq (d.durable, 2);
    cr_assert (pthread_equal (d.thread, pthread_self ()), "told in the caller's thread");
    int calls = d.calls;
    sl_batch_sync_async (b);            /* nothing waiting: no request */
    cr_assert_eq (sl_batch_sync_collect (b), 0);
    cr_assert_eq (d.calls, calls);
    sl_batch_destroy (&b);
    u_cleanup (&st);
}

/*  Without a thread, sl_batch_sync_async flushes in the caller. */
Test (sync, without_a_thread_async_flushes_at_once)
{
    sl_store_t *st = u_store ();
    cr_assert_eq (mdb_env_set_flags (sl_store_env (st), MDB_NOMETASYNC, 1), 0);
    sl_batch_t *b = sl_batch_new (st, 256, 1000000);
    MDB_txn *txn;
    cr_assert_eq (sl_batch_txn (b, &txn), 0);
    cr_assert_eq (sl_batch_commit (b), 0);
    cr_assert_eq (sl_batch_durable (b), 0);
    sl_batch_sync_async (b);
    cr_assert_eq (sl_batch_durable (b), 1);
    cr_assert_eq (sl_batch_sync_collect (b), 0);
    sl_batch_destroy (&b);
    u_cleanup (&st);
}

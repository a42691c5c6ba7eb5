/*  sl_sync — the store's flush (mdb_env_sync) in a thread of its own, so the
 *  broker loop never waits for the disk to make a commit durable.
 *
 *  Design notes:
 *
 *  1. The store runs with MDB_NOMETASYNC (sl_batch.h note 5): mdb_txn_commit
 *     writes the transaction's pages, flushes them (fdatasync), then writes
 *     its meta page without flushing it. What is left to make commit N
 *     durable is one more fdatasync of the data file, started after commit N
 *     returned. This module runs that fdatasync (mdb_env_sync with force) in
 *     a second thread, on request.
 *  2. Overlapping a write transaction is allowed. In LMDB 0.9 mdb_env_sync
 *     takes no lock: it reads the environment's flags and calls fdatasync on
 *     the data file's descriptor, nothing else (mdb.c, mdb_env_sync); the
 *     writer mutex is never touched, so the loop's write transaction (begun,
 *     written, committed in the loop's thread, as LMDB requires) is not
 *     disturbed. A flush running during commit N+1 may carry some of N+1's
 *     pages to the disk early; that is harmless: N+1 writes no page of
 *     snapshot N-1 or N (a writer reuses only pages freed by transactions
 *     at least two before it: mdb_page_alloc, mdb_find_oldest), the newest
 *     meta page on disk is N-1's at least (N's commit flushed it), and
 *     N+1's own meta page is written only after N+1's page flush returned.
 *  3. Why not MDB_NOSYNC in the loop and every flush here: under MDB_NOSYNC
 *     a commit writes its meta page right after its data pages with no flush
 *     between them; the kernel may write the meta page back first, and a power
 *     cut then leaves a meta page that points to pages never written — a
 *     store that does not open. The page flush that orders "data before meta"
 *     has to happen inside mdb_txn_commit, under the writer lock, in the
 *     thread that owns the write transaction. So the loop keeps one page
 *     flush per group commit; the meta flush (the second fdatasync a
 *     durable commit costs) is the one that moves here.
 *  4. A request names the commit count (sl_batch_commits) it must cover; it
 *     is read under the mutex before the fdatasync starts, and the loop makes
 *     it only after that commit returned, so the flush covers the meta page.
 *     Results are reported through an eventfd the loop polls; the loop alone
 *     tells the durability listener (sl_batch_sync_collect), so answers are
 *     only ever sent from the loop's thread.
 *  5. A failed flush reports an error and makes nothing durable; the next
 *     request (or the next commit's own page flush) tries again.
 */
#ifndef SL_SYNC_H
#define SL_SYNC_H

#include <lmdb.h>
#include <stdint.h>

typedef struct sl_sync_t sl_sync_t;

/*  Starts the flush thread for `env` (borrowed: must stay open until
 *  sl_sync_destroy returned). Returns NULL when the thread or its eventfd
 *  cannot be made. */
sl_sync_t *sl_sync_new (MDB_env *env);

/*  Stops the thread (a flush in progress is finished first) and frees.
 *  Cannot fail. */
void sl_sync_destroy (sl_sync_t **self_p);

/*  A descriptor that is readable when a flush finished (for poll). Valid
 *  for the life of `self`. */
int sl_sync_fd (sl_sync_t *self);

/*  Asks for a flush that makes every commit up to number `upto` durable.
 *  Returns at once; a request for less than one already asked is a no-op.
 *  Cannot fail. */
void sl_sync_request (sl_sync_t *self, uint64_t upto);

/*  True while a request is not yet answered. */
int sl_sync_busy (sl_sync_t *self);

/*  Reads what the thread reported (clears the descriptor): `*durable` is the
 *  highest commit number a finished flush covered (0 if none yet). Returns 0,
 *  or SL_ESTORE when a flush failed since the last call (the failure is
 *  logged; `*durable` still holds what earlier flushes covered). */
int sl_sync_take (sl_sync_t *self, uint64_t *durable);

/*  Statistics: flushes done and their total time in microseconds. */
void sl_sync_stats (sl_sync_t *self, uint64_t *flushes, uint64_t *total_us);

#endif

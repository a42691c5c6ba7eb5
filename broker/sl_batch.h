/*  sl_batch — the broker's one write transaction (group commit).
 *
 *  Design notes (the commit ordering every part relies on):
 *
 *  1. There is at most one write transaction, and only this module begins,
 *     commits or aborts it. Callers (publish, consumer ack, admin commands,
 *     and later the audit log, policy and consent stores) get it from
 *     sl_batch_txn() and only append within it.
 *  2. Each operation that must not be answered before it is durable counts
 *     itself with sl_batch_note(); the broker commits when `max_pending`
 *     operations are pending or `max_delay_us` after the first one, whichever
 *     comes first, or at once when asked (admin changes, shutdown).
 *  3. Answers (ACKs) are sent only after sl_batch_commit() returned 0, i.e.
 *     after mdb_txn_commit() has fsynced. If the commit fails, every listener
 *     is told "aborted" and all answers of the batch become errors; nothing of
 *     the batch is visible.
 *  4. Listeners (sl_batch_listen) learn the outcome of each transaction, in
 *     registration order, so a library that mirrors its writes in memory (the
 *     audit chain head, the registry cache) can keep or roll back that state.
 *  5. Committed is not yet durable when the store defers its meta page
 *     (MDB_NOMETASYNC, sl_store): a commit flushes its data pages, and its
 *     meta page — what makes the commit visible after a power loss — reaches
 *     the disk with the next commit's flush or with sl_batch_sync(). The
 *     durability listener (sl_batch_on_durable) is told how far commits are
 *     durable; answers wait for it (note 3 then reads "durable" for
 *     "returned 0"). A crash can undo commits that were not yet durable, never
 *     damage the map (LMDB keeps integrity under MDB_NOMETASYNC).
 *
 *  6. The flush that makes a commit's meta page durable can run in a thread
 *     of its own (sl_batch_sync_start, sl_sync.h): sl_batch_sync_async asks
 *     for it and returns, sl_batch_sync_collect (called by the loop when
 *     sl_batch_sync_fd is readable) tells the durability listener. The
 *     listener is only ever called from the thread that calls the batch.
 *
 *  Durability trade-off: a larger `max_pending` or `max_delay_us` means fewer
 *  fsyncs (throughput) but a longer wait for each ACK (latency). It never
 *  weakens durability: nothing is ACKed before its transaction is on disk.
 */
#ifndef SL_BATCH_H
#define SL_BATCH_H

#include <lmdb.h>
#include <stdint.h>

#include "sl_store.h"

typedef struct sl_batch_t sl_batch_t;

/*  Outcome listener: `committed` is 1 after a successful commit, 0 after an
 *  abort. Called with no transaction open. */
typedef void (sl_batch_listener_fn) (void *ctx, int committed);

/*  New batch over `store` (borrowed; must outlive the batch). Returns NULL
 *  when out of memory. */
sl_batch_t *sl_batch_new (sl_store_t *store, unsigned max_pending, unsigned max_delay_us);

/*  Aborts an open transaction (telling listeners) and frees. */
void sl_batch_destroy (sl_batch_t **self_p);

/*  Adds an outcome listener. Returns 0 or SL_ENOMEM. */
int sl_batch_listen (sl_batch_t *self, sl_batch_listener_fn *fn, void *ctx);

/*  The open write transaction, begun if none is open. Borrowed: valid until
 *  the next sl_batch_commit() / sl_batch_abort(). Returns 0 or SL_ESTORE. */
int sl_batch_txn (sl_batch_t *self, MDB_txn **txn);

/*  Counts `n` operations waiting for this transaction; starts the delay clock
 *  with the first one. Cannot fail. */
void sl_batch_note (sl_batch_t *self, unsigned n);

/*  True if a transaction is open. */
int sl_batch_open (sl_batch_t *self);

/*  Pending operation count. */
unsigned sl_batch_pending (sl_batch_t *self);

/*  True if the batch should be committed now (enough pending or delay
 *  passed). */
int sl_batch_due (sl_batch_t *self);

/*  Milliseconds until the batch is due (0 if due, -1 if nothing pending),
 *  for a poll timeout. Rounded up, so at least 1 while not due. */
long sl_batch_wait_ms (sl_batch_t *self);

/*  Commits the open transaction (no-op returning 0 if none), then tells the
 *  listeners. Returns 0, SL_EFULL (map full: the batch is lost) or
 *  SL_ESTORE. */
int sl_batch_commit (sl_batch_t *self);

/*  Durability listener: every commit up to number `durable` (counted as
 *  sl_batch_commits) is on disk. Called with no transaction open. */
typedef void (sl_batch_durable_fn) (void *ctx, uint64_t durable);

/*  Sets the one durability listener (design note 5). */
void sl_batch_on_durable (sl_batch_t *self, sl_batch_durable_fn *fn, void *ctx);

/*  Commits known to be on disk: sl_batch_commits() when the store flushes
 *  every meta page, one less between a commit and the next commit or
 *  sl_batch_sync() when it defers them (MDB_NOMETASYNC). Cannot fail. */
uint64_t sl_batch_durable (sl_batch_t *self);

/*  Flushes the store (mdb_env_sync), so that every commit so far is on disk,
 *  and tells the durability listener. No-op returning 0 when nothing is
 *  waiting. Returns 0 or SL_ESTORE (the flush failed: nothing more is known
 *  durable; try again). */
int sl_batch_sync (sl_batch_t *self);

/*  Starts the flush thread (design note 6). Returns 0 or SL_ENOMEM (no
 *  thread; sl_batch_sync_async then flushes in the caller). */
int sl_batch_sync_start (sl_batch_t *self);

/*  The flush thread's descriptor, readable when a flush finished; -1 when
 *  there is no thread. */
int sl_batch_sync_fd (sl_batch_t *self);

/*  Makes every commit so far durable without waiting: asks the flush
 *  thread, or flushes at once when there is none (as sl_batch_sync). No-op
 *  when nothing is waiting. Cannot fail (a failed flush is reported by
 *  sl_batch_sync_collect). */
void sl_batch_sync_async (sl_batch_t *self);

/*  After sl_batch_sync_fd became readable: tells the durability listener
 *  what the flush thread made durable. Returns 0 or SL_ESTORE (a flush
 *  failed: nothing more is known durable; ask again). */
int sl_batch_sync_collect (sl_batch_t *self);

/*  Aborts the open transaction (if any) and tells the listeners. */
void sl_batch_abort (sl_batch_t *self);

/*  Result of the last commit or abort, for listeners: 0 committed, SL_EFULL
 *  (map full), SL_ESTORE (other failure or explicit abort). */
int sl_batch_last_rc (sl_batch_t *self);

/*  Statistics: transactions committed so far. */
uint64_t sl_batch_commits (sl_batch_t *self);

/*  Timing of the last sl_batch_commit(), for listeners and metrics:
 *  `wait_us` from the first pending operation to the end of the commit (what
 *  the oldest ACK of the batch waited), `sync_us` the mdb_txn_commit() call
 *  alone (page writes and fsync), `ops` the pending operations it made
 *  durable. Cannot fail. */
void sl_batch_last_timing (sl_batch_t *self, uint64_t *wait_us, uint64_t *sync_us,
                           unsigned *ops);

#endif

/*  sl_commit — the data path's writes, typed: the only way sl_publish,
 *  sl_deliver, sl_route and the broker core change the store.
 *
 *  Design notes:
 *
 *  1. Every write goes into the batch's one write transaction (sl_batch),
 *     which this module alone asks for on the data path; callers never hold
 *     an MDB_txn for writing. A write that fails leaves the transaction
 *     unusable: the caller aborts it with sl_commit_abort (LMDB rule).
 *  2. The typed writes are what a commit record will carry when the commit
 *     moves to a writer thread: audit events, queue appends and removals,
 *     message ids, subscriptions, the queue epoch.
 *  3. Decisions and duplicate detection at PUBLISH read the pending state
 *     ("a consent granted earlier in the same batch counts", sl_govern.c
 *     design note 1). sl_commit_view lends that state for reading only.
 *  4. The event recorder (the audit log, installed by the broker from
 *     sl_govern) is called inside the transaction, so an entry commits with
 *     the change it describes.
 */
#ifndef SL_COMMIT_H
#define SL_COMMIT_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_batch.h"
#include "sl_event.h"
#include "sl_msgids.h"
#include "sl_queue.h"
#include "sl_store.h"
#include "sl_subs.h"
#include "sluice/v1/envelope.pb-c.h"

typedef struct sl_commit_t sl_commit_t;

/*  A commit pipeline over these (borrowed; they must outlive it). Returns
 *  NULL when out of memory. */
sl_commit_t *sl_commit_new (sl_store_t *store, sl_batch_t *batch, sl_queue_t *queue,
                            sl_subs_t *subs);
/*  Frees. Harmless on NULL. The batch is the caller's. */
void sl_commit_destroy (sl_commit_t **self_p);

/*  Installs the event recorder (NULL: events are not recorded). */
void sl_commit_on_event (sl_commit_t *self, sl_event_fn *fn, void *ctx);
/*  True when a recorder is installed. */
int sl_commit_recording (sl_commit_t *self);

/*  Appends the audit entry of `ev`. Returns 0 or the recorder's error
 *  (SL_ESTORE when no transaction can be begun). */
int sl_commit_event (sl_commit_t *self, const sl_event_t *ev);

/*  Queues record (meta, body) for `consumer`; *tag gets its delivery tag.
 *  Returns as sl_queue_append. */
int sl_commit_queue_append (sl_commit_t *self, const char *consumer,
                            const Sluice__V1__RecordMeta *meta, const void *body, size_t body_len,
                            uint64_t *tag);
/*  Removes `consumer`'s entry `tag`. Returns 0, SL_ENOTFOUND or a store error. */
int sl_commit_queue_remove (sl_commit_t *self, const char *consumer, uint64_t tag);
/*  1 if (publisher, id) is stored or pending, 0 if not, negative SL_E*. */
int sl_commit_msgid_seen (sl_commit_t *self, const char *publisher, const uint8_t id[SL_MSGID_LEN]);
/*  Records (publisher, id). Returns as sl_msgids_put. */
int sl_commit_msgid_put (sl_commit_t *self, const char *publisher, const uint8_t id[SL_MSGID_LEN],
                         uint64_t now_ms);
/*  Adds (add 1; *created set) or removes (add 0) a subscription. Returns as
 *  sl_subs_add / sl_subs_remove. */
int sl_commit_subscription (sl_commit_t *self, int add, const char *consumer, const char *type,
                            const char *purpose, int *created);
/*  Starts a new delivery-tag epoch (sl_queue_epoch_begin). */
int sl_commit_epoch_begin (sl_commit_t *self);

/*  The pending state for reading only (design note 3): decisions and queue
 *  depth at PUBLISH. Borrowed until the next commit or abort; never write
 *  through it. Returns 0 or SL_ESTORE. */
int sl_commit_view (sl_commit_t *self, MDB_txn **txn);

/*  Counts `n` operations waiting for durability (sl_batch_note). */
void sl_commit_note (sl_commit_t *self, unsigned n);
/*  Aborts the batch: every write since the last commit is undone, every
 *  answer waiting for it becomes an error (sl_batch_abort). */
void sl_commit_abort (sl_commit_t *self);

/*  Commits the batch now and flushes it to disk (sl_batch_commit, then
 *  sl_batch_sync): what an admin change does before it is answered.
 *  Returns 0, SL_EFULL (map full: the batch is lost) or SL_ESTORE. */
int sl_commit_flush (sl_commit_t *self);
/*  Operations pending in the open batch; commits so far. For status. */
unsigned sl_commit_pending (sl_commit_t *self);
uint64_t sl_commit_commits (sl_commit_t *self);

/*  The admin plane's typed writes (member, key, policy, schema, consent,
 *  audit) are in sl_commit_admin.h. */

#endif

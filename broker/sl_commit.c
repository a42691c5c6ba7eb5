/*  sl_commit — see sl_commit.h. */
#include "sl_commit.h"
#include "sl_commit_int.h"

#include <stdlib.h>

#include "sl_error.h"

struct sl_commit_t {
    sl_store_t *store;
    sl_batch_t *batch;
    sl_queue_t *queue;
    sl_subs_t *subs;
    sl_event_fn *event_fn;
    void *event_ctx;
};

sl_commit_t *
sl_commit_new (sl_store_t *store, sl_batch_t *batch, sl_queue_t *queue, sl_subs_t *subs)
{
    sl_commit_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->batch = batch;
    self->queue = queue;
    self->subs = subs;
    return self;
}

void
sl_commit_destroy (sl_commit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

void
sl_commit_on_event (sl_commit_t *self, sl_event_fn *fn, void *ctx)
{
    self->event_fn = fn;
    self->event_ctx = ctx;
}

int
sl_commit_recording (sl_commit_t *self)
{
    return self->event_fn != NULL;
}

int
sl_commit_event (sl_commit_t *self, const sl_event_t *ev)
{
    if (!self->event_fn)
        return 0;
    MDB_txn *txn;
    int rc = sl_batch_txn (self->batch, &txn);
    return rc == 0 ? self->event_fn (self->event_ctx, txn, ev) : rc;
}

int
sl_commit_queue_append (sl_commit_t *self, const char *consumer, const Sluice__V1__RecordMeta *meta,
                        const void *body, size_t body_len, uint64_t *tag)
{
    MDB_txn *txn;
    int rc = sl_batch_txn (self->batch, &txn);
    return rc == 0 ? sl_queue_append (self->queue, txn, consumer, meta, body, body_len, tag) : rc;
}

int
sl_commit_queue_remove (sl_commit_t *self, const char *consumer, uint64_t tag)
{
    MDB_txn *txn;
    int rc = sl_batch_txn (self->batch, &txn);
    return rc == 0 ? sl_queue_remove (self->queue, txn, consumer, tag) : rc;
}

int
sl_commit_msgid_seen (sl_commit_t *self, const char *publisher, const uint8_t id[SL_MSGID_LEN])
{
    MDB_txn *txn;
    int rc = sl_batch_txn (self->batch, &txn);
    return rc == 0 ? sl_msgids_seen (self->store, txn, publisher, id) : rc;
}

int
sl_commit_msgid_put (sl_commit_t *self, const char *publisher, const uint8_t id[SL_MSGID_LEN],
                     uint64_t now_ms)
{
    MDB_txn *txn;
    int rc = sl_batch_txn (self->batch, &txn);
    return rc == 0 ? sl_msgids_put (self->store, txn, publisher, id, now_ms) : rc;
}

int
sl_commit_subscription (sl_commit_t *self, int add, const char *consumer, const char *type,
                        const char *purpose, int *created)
{
    MDB_txn *txn;
    int rc = sl_batch_txn (self->batch, &txn);
    if (rc != 0)
        return rc;
    return add ? sl_subs_add (self->subs, txn, consumer, type, purpose, created)
               : sl_subs_remove (self->subs, txn, consumer, type, purpose);
}

int
sl_commit_epoch_begin (sl_commit_t *self)
{
    MDB_txn *txn;
    int rc = sl_batch_txn (self->batch, &txn);
    return rc == 0 ? sl_queue_epoch_begin (self->queue, txn) : rc;
}

int
sl_commit_view (sl_commit_t *self, MDB_txn **txn)
{
    return sl_batch_txn (self->batch, txn);
}

void
sl_commit_note (sl_commit_t *self, unsigned n)
{
    sl_batch_note (self->batch, n);
}

void
sl_commit_abort (sl_commit_t *self)
{
    sl_batch_abort (self->batch);
}

int
sl_commit_flush (sl_commit_t *self)
{
    int rc = sl_batch_commit (self->batch);
    return rc == 0 ? sl_batch_sync (self->batch) : rc;
}

unsigned
sl_commit_pending (sl_commit_t *self)
{
    return sl_batch_pending (self->batch);
}

uint64_t
sl_commit_commits (sl_commit_t *self)
{
    return sl_batch_commits (self->batch);
}

int
sl_commit_txn (sl_commit_t *self, MDB_txn **txn)
{
    return sl_batch_txn (self->batch, txn);
}

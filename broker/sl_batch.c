/*  sl_batch — group commit. See sl_batch.h for the ordering rules. */
#include "sl_batch.h"

#include <stdlib.h>
#include <time.h>

#include "sl_error.h"
#include "sl_lmdb.h"
#include "sl_log.h"
#include "sl_sync.h"

typedef struct {
    sl_batch_listener_fn *fn;
    void *ctx;
} s_listener_t;

struct sl_batch_t {
    sl_store_t *store;
    MDB_txn *txn;
    unsigned max_pending;
    unsigned max_delay_us;
    unsigned pending;
    uint64_t first_us;       /* monotonic time of the first pending op */
    uint64_t commits;
    uint64_t durable;        /* commits known to be on disk (design note 5) */
    sl_batch_durable_fn *durable_fn;
    void *durable_ctx;
    int last_rc;
    uint64_t last_wait_us, last_sync_us;   /* of the last commit, for metrics */
    unsigned last_ops;
    s_listener_t *listeners;
    int n_listeners;
    sl_sync_t *sync;         /* the flush thread (design note 6), or NULL */
};

static uint64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

sl_batch_t *
sl_batch_new (sl_store_t *store, unsigned max_pending, unsigned max_delay_us)
{
    sl_batch_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->max_pending = max_pending ? max_pending : 1;
    self->max_delay_us = max_delay_us;
    return self;
}

void
sl_batch_destroy (sl_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_batch_t *self = *self_p;
    sl_batch_abort (self);
    sl_sync_destroy (&self->sync);
    free (self->listeners);
    free (self);
    *self_p = NULL;
}

int
sl_batch_listen (sl_batch_t *self, sl_batch_listener_fn *fn, void *ctx)
{
    s_listener_t *l = realloc (self->listeners,
                               (size_t) (self->n_listeners + 1) * sizeof *l);
    if (!l)
        return SL_ENOMEM;
    l[self->n_listeners].fn = fn;
    l[self->n_listeners].ctx = ctx;
    self->listeners = l;
    self->n_listeners++;
    return 0;
}

int
sl_batch_txn (sl_batch_t *self, MDB_txn **txn)
{
    if (!self->txn) {
        int rc = mdb_txn_begin (sl_store_env (self->store), NULL, 0, &self->txn);
        if (rc != 0) {
            sl_error ("store.begin_failed", "error=\"%s\"", mdb_strerror (rc));
            self->txn = NULL;
            return SL_ESTORE;
        }
    }
    *txn = self->txn;
    return 0;
}

void
sl_batch_note (sl_batch_t *self, unsigned n)
{
    if (self->pending == 0)
        self->first_us = s_now_us ();
    self->pending += n;
}

int
sl_batch_open (sl_batch_t *self)
{
    return self->txn != NULL;
}

unsigned
sl_batch_pending (sl_batch_t *self)
{
    return self->pending;
}

int
sl_batch_due (sl_batch_t *self)
{
    if (!self->txn)
        return 0;
    if (self->pending >= self->max_pending)
        return 1;
    if (self->pending == 0)
        return 0;
    return s_now_us () - self->first_us >= self->max_delay_us;
}

long
sl_batch_wait_ms (sl_batch_t *self)
{
    if (!self->txn || self->pending == 0)
        return -1;
    if (sl_batch_due (self))
        return 0;
    uint64_t left = self->max_delay_us - (s_now_us () - self->first_us);
    return (long) ((left + 999) / 1000);
}

static void
s_tell (sl_batch_t *self, int committed)
{
    for (int i = 0; i < self->n_listeners; i++)
        self->listeners[i].fn (self->listeners[i].ctx, committed);
}

static void
s_durable (sl_batch_t *self, uint64_t upto)
{
    if (upto <= self->durable)
        return;
    self->durable = upto;
    if (self->durable_fn)
        self->durable_fn (self->durable_ctx, upto);
}

int
sl_batch_commit (sl_batch_t *self)
{
    if (!self->txn)
        return 0;
    uint64_t t0 = s_now_us ();
    int rc = mdb_txn_commit (self->txn);
    uint64_t t1 = s_now_us ();
    self->txn = NULL;
    unsigned n = self->pending;
    self->last_sync_us = t1 - t0;
    self->last_wait_us = n ? t1 - self->first_us : self->last_sync_us;
    self->last_ops = n;
    self->pending = 0;
    if (rc != 0) {
        sl_error ("store.commit_failed", "pending=%u error=\"%s\"", n, mdb_strerror (rc));
        self->last_rc = sl_lmdb_rc (rc);
        s_tell (self, 0);
        return sl_lmdb_rc (rc);
    }
    self->commits++;
    self->last_rc = 0;
    sl_debug ("store.commit", "pending=%u", n);
    s_tell (self, 1);
    /* this commit's data flush carried the previous commits' meta pages;
     * its own meta page is on disk too unless the store defers it */
    unsigned flags = 0;
    mdb_env_get_flags (sl_store_env (self->store), &flags);
    s_durable (self, flags & MDB_NOMETASYNC ? self->commits - 1 : self->commits);
    return 0;
}

int
sl_batch_sync (sl_batch_t *self)
{
    if (self->durable == self->commits)
        return 0;
    uint64_t upto = self->commits;
    int rc = mdb_env_sync (sl_store_env (self->store), 1);
    if (rc != 0) {
        sl_error ("store.sync_failed", "error=\"%s\"", mdb_strerror (rc));
        return SL_ESTORE;
    }
    s_durable (self, upto);
    return 0;
}

int
sl_batch_sync_start (sl_batch_t *self)
{
    if (!self->sync && !(self->sync = sl_sync_new (sl_store_env (self->store))))
        return SL_ENOMEM;
    return 0;
}

int
sl_batch_sync_fd (sl_batch_t *self)
{
    return self->sync ? sl_sync_fd (self->sync) : -1;
}

void
sl_batch_sync_async (sl_batch_t *self)
{
    if (self->durable == self->commits)
        return;
    if (self->sync)
        sl_sync_request (self->sync, self->commits);
    else
        sl_batch_sync (self);
}

int
sl_batch_sync_collect (sl_batch_t *self)
{
    if (!self->sync)
        return 0;
    uint64_t covered = 0;
    int rc = sl_sync_take (self->sync, &covered);
    /* a flush covers commits made before it started, never later ones */
    s_durable (self, covered < self->commits ? covered : self->commits);
    return rc;
}

uint64_t
sl_batch_durable (sl_batch_t *self)
{
    return self->durable;
}

void
sl_batch_on_durable (sl_batch_t *self, sl_batch_durable_fn *fn, void *ctx)
{
    self->durable_fn = fn;
    self->durable_ctx = ctx;
}

void
sl_batch_abort (sl_batch_t *self)
{
    if (!self->txn)
        return;
    mdb_txn_abort (self->txn);
    self->txn = NULL;
    self->pending = 0;
    self->last_rc = SL_ESTORE;
    s_tell (self, 0);
}

uint64_t
sl_batch_commits (sl_batch_t *self)
{
    return self->commits;
}

int
sl_batch_last_rc (sl_batch_t *self)
{
    return self->last_rc;
}

void
sl_batch_last_timing (sl_batch_t *self, uint64_t *wait_us, uint64_t *sync_us, unsigned *ops)
{
    *wait_us = self->last_wait_us;
    *sync_us = self->last_sync_us;
    *ops = self->last_ops;
}

/*  tu — what several broker unit suites build on a fresh store
 *  (unit_util.h): the data path's write pipeline, the registry's and the
 *  queue's starting points, a durability listener that records what it
 *  hears, and a RecordMeta round trip. Header only. */
#ifndef TESTS_BROKER_TU_H
#define TESTS_BROKER_TU_H

#include <pthread.h>

#include "unit_util.h"
#include "sl_batch.h"
#include "sl_commit.h"
#include "sl_queue.h"
#include "sl_registry.h"
#include "sl_subs.h"
#include "sluice/v1/envelope.pb-c.h"

/*  The objects a test builds on a fresh store (u_store); tu_pipe_open,
 *  tu_reg_open and tu_queue_open each say which, the others stay NULL. */
typedef struct {
    sl_store_t *st;
    sl_batch_t *b;
    sl_queue_t *q;
    sl_subs_t *subs;
    sl_commit_t *c;
    sl_registry_t *reg;
    MDB_txn *txn;                 /* tu_reg_open: the batch's open transaction */
    sl_keypair_t k1, k2;          /* tu_reg_open: two new key pairs */
} tu_t;

/*  Empties t, then a fresh store and a batch over it of at most `records`
 *  records or `us` microseconds. Asserts. */
static inline void
tu_store_and_batch (tu_t *t, unsigned records, unsigned us)
{
    memset (t, 0, sizeof *t);
    t->st = u_store ();
    t->b = sl_batch_new (t->st, records, us);
    cr_assert_not_null (t->b, "the batch could not be built");
}

/*  The write pipeline: a batch (at most 256 records or 1 s), the queue,
 *  the subscriptions, and sl_commit over all four. Asserts. */
static inline void
tu_pipe_open (tu_t *t)
{
    tu_store_and_batch (t, 256, 1000000);
    t->q = sl_queue_new (t->st);
    t->subs = sl_subs_new (t->st);
    t->c = sl_commit_new (t->st, t->b, t->q, t->subs);
    cr_assert (t->q && t->subs && t->c, "the pipeline could not be built");
}

/*  The registry suites' start: the registry, a batch (at most 10 records
 *  or 1 ms) with its transaction open in txn, and two new key pairs.
 *  Asserts. */
static inline void
tu_reg_open (tu_t *t)
{
    tu_store_and_batch (t, 10, 1000);
    t->reg = sl_registry_new (t->st);
    cr_assert_not_null (t->reg, "the registry could not be built");
    cr_assert_eq (sl_keys_generate (&t->k1), 0);
    cr_assert_eq (sl_keys_generate (&t->k2), 0);
    cr_assert_eq (sl_batch_txn (t->b, &t->txn), 0);
}

/*  The queue suites' start: the queue and a batch (at most 100 records or
 *  1 ms). Asserts. */
static inline void
tu_queue_open (tu_t *t)
{
    tu_store_and_batch (t, 100, 1000);
    t->q = sl_queue_new (t->st);
    cr_assert_not_null (t->q, "the queue could not be built");
}

/*  Destroys what is left of it (any object may be gone already), the
 *  store and its directory (u_cleanup). */
static inline void
tu_close (tu_t *t)
{
    sl_commit_destroy (&t->c);
    sl_subs_destroy (&t->subs);
    sl_queue_destroy (&t->q);
    sl_registry_destroy (&t->reg);
    sl_batch_destroy (&t->b);
    u_cleanup (&t->st);
}

/*  What a durability listener (sl_batch_on_durable) heard: the last
 *  durable commit, how many calls, and the thread of the last one. */
typedef struct {
    uint64_t durable;
    int calls;
    pthread_t thread;
} tu_durable_t;

/*  A durability listener recording into the tu_durable_t at ctx. */
static inline void
tu_on_durable (void *ctx, uint64_t durable)
{
    tu_durable_t *d = ctx;
    d->durable = durable;
    d->calls++;
    d->thread = pthread_self ();
}

/*  `uf` as the one unknown field of a RecordMeta (owner water), packed and
 *  unpacked again as the queue stores it. The unpacked meta (free with
 *  sluice__v1__record_meta__free_unpacked), asserted to carry one unknown
 *  field. */
static inline Sluice__V1__RecordMeta *
tu_meta_round_trip (ProtobufCMessageUnknownField *uf)
{
    Sluice__V1__RecordMeta m = SLUICE__V1__RECORD_META__INIT;
    m.owner = "water";
    m.base.n_unknown_fields = 1;
    m.base.unknown_fields = uf;
    uint8_t packed[1024];
    cr_assert_lt (sluice__v1__record_meta__get_packed_size (&m), sizeof packed);
    size_t len = sluice__v1__record_meta__pack (&m, packed);
    Sluice__V1__RecordMeta *u = sluice__v1__record_meta__unpack (NULL, len, packed);
    cr_assert_not_null (u);
    cr_assert_eq (u->base.n_unknown_fields, 1);
    return u;
}

#endif

/*  tu — what several broker unit suites build on a fresh store
 *  (unit_util.h): the data path's write pipeline, and a durability
 *  listener that records what it hears. Header only. */
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

/*  The write pipeline: the store, a batch over it (at most 256 records or
 *  1 s), the queue and the subscriptions, and sl_commit over all four. */
typedef struct {
    sl_store_t *st;
    sl_batch_t *b;
    sl_queue_t *q;
    sl_subs_t *subs;
    sl_commit_t *c;
} tu_pipe_t;

/*  Builds the pipeline on a fresh store (u_store). Asserts. */
static inline void
tu_pipe_open (tu_pipe_t *p)
{
    p->st = u_store ();
    p->b = sl_batch_new (p->st, 256, 1000000);
    p->q = sl_queue_new (p->st);
    p->subs = sl_subs_new (p->st);
    p->c = sl_commit_new (p->st, p->b, p->q, p->subs);
    cr_assert (p->b && p->q && p->subs && p->c, "the pipeline could not be built");
}

/*  Destroys the pipeline, the store and its directory (u_cleanup). */
static inline void
tu_pipe_close (tu_pipe_t *p)
{
    sl_commit_destroy (&p->c);
    sl_subs_destroy (&p->subs);
    sl_queue_destroy (&p->q);
    sl_batch_destroy (&p->b);
    u_cleanup (&p->st);
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

/*  The registry suites' start: a fresh store, its registry, a batch (at
 *  most 10 records or 1 ms) with its transaction open in txn, and two new
 *  key pairs. */
typedef struct {
    sl_store_t *st;
    sl_registry_t *reg;
    sl_batch_t *b;
    MDB_txn *txn;
    sl_keypair_t k1, k2;
} tu_reg_t;

/*  Builds it. Asserts. */
static inline void
tu_reg_open (tu_reg_t *r)
{
    r->st = u_store ();
    r->reg = sl_registry_new (r->st);
    r->b = sl_batch_new (r->st, 10, 1000);
    cr_assert (r->reg && r->b, "the registry or the batch could not be built");
    cr_assert_eq (sl_keys_generate (&r->k1), 0);
    cr_assert_eq (sl_keys_generate (&r->k2), 0);
    cr_assert_eq (sl_batch_txn (r->b, &r->txn), 0);
}

/*  Destroys the batch and the registry (either may be gone already), the
 *  store and its directory. */
static inline void
tu_reg_close (tu_reg_t *r)
{
    sl_batch_destroy (&r->b);
    sl_registry_destroy (&r->reg);
    u_cleanup (&r->st);
}

/*  The queue suites' start: a fresh store, its queue and a batch (at most
 *  100 records or 1 ms). */
typedef struct {
    sl_store_t *st;
    sl_queue_t *q;
    sl_batch_t *b;
} tu_queue_t;

/*  Builds it. Asserts. */
static inline void
tu_queue_open (tu_queue_t *u)
{
    u->st = u_store ();
    u->q = sl_queue_new (u->st);
    u->b = sl_batch_new (u->st, 100, 1000);
    cr_assert (u->q && u->b, "the queue or the batch could not be built");
}

/*  Destroys the batch and the queue (either may be gone already), the
 *  store and its directory. */
static inline void
tu_queue_close (tu_queue_t *u)
{
    sl_batch_destroy (&u->b);
    sl_queue_destroy (&u->q);
    u_cleanup (&u->st);
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

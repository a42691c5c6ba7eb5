/*  sl_queue + sl_msgids + sl_store: durable per-consumer queues. */
#include "tu.h"

#include "sl_error.h"
#include "sl_lmdb.h"
#include "sl_msgids.h"
#include "sl_queue.h"

typedef struct {
    uint64_t tags[16];
    char bodies[16][16];
    int n;
} seen_t;

static int
collect (void *ctx, const sl_queue_entry_t *e)
{
    seen_t *s = ctx;
    s->tags[s->n] = e->tag;
    snprintf (s->bodies[s->n], 16, "%.*s", (int) e->body_len, (const char *) e->body);
    Sluice__V1__RecordMeta *m = sluice__v1__record_meta__unpack (NULL, e->meta_len, e->meta);
    cr_assert_not_null (m, "stored meta does not decode");
    cr_assert_str_eq (m->owner, "water");
    sluice__v1__record_meta__free_unpacked (m, NULL);
    s->n++;
    return 0;
}

static void
append (sl_queue_t *q, MDB_txn *txn, const char *consumer, const char *body, uint64_t *tag)
{
    Sluice__V1__RecordMeta m = SLUICE__V1__RECORD_META__INIT;
    m.owner = "water";
    m.record_type = "water.v1.MeterReading";
    cr_assert_eq (sl_queue_append (q, txn, consumer, &m, body, strlen (body), tag), 0);
}

Test (queue, append_scan_remove_in_order)
{
    tu_t u;
    tu_queue_open (&u);
    MDB_txn *txn;
    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    uint64_t t1, t2, t3, o1;
    append (u.q, txn, "power", "one", &t1);
    append (u.q, txn, "power", "two", &t2);
    append (u.q, txn, "pow", "other", &o1);      /* a prefix of another name */
    append (u.q, txn, "power", "three", &t3);
    cr_assert_eq (t1, 1);
    cr_assert_eq (t2, 2);
    cr_assert_eq (t3, 3);
    cr_assert_eq (o1, 1);
    cr_assert_eq (sl_batch_commit (u.b), 0);

    MDB_txn *r;
    cr_assert_eq (sl_store_read (u.st, &r), 0);
    seen_t s = { .n = 0 };
    cr_assert_eq (sl_queue_scan (u.q, r, "power", 0, collect, &s), 0);
    cr_assert_eq (s.n, 3);
    cr_assert_str_eq (s.bodies[0], "one");
    cr_assert_str_eq (s.bodies[2], "three");
    cr_assert_eq (sl_queue_depth (u.q, r, "pow"), 1);
    seen_t s2 = { .n = 0 };
    sl_queue_scan (u.q, r, "power", 2, collect, &s2);
    cr_assert_eq (s2.n, 2);
    cr_assert_eq (s2.tags[0], 2);
    mdb_txn_abort (r);

    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    cr_assert_eq (sl_queue_remove (u.q, txn, "power", 2), 0);
    cr_assert_eq (sl_queue_remove (u.q, txn, "power", 2), SL_ENOTFOUND);
    cr_assert_eq (sl_batch_commit (u.b), 0);
    cr_assert_eq (sl_store_read (u.st, &r), 0);
    cr_assert_eq (sl_queue_depth (u.q, r, "power"), 2);
    mdb_txn_abort (r);

    sl_batch_destroy (&u.b);
    sl_queue_destroy (&u.q);
    cr_assert_null (u.q);
    u_cleanup (&u.st);
}

Test (queue, tags_continue_after_reopen)
{
    tu_t u;
    tu_queue_open (&u);
    MDB_txn *txn;
    uint64_t t;
    sl_batch_txn (u.b, &txn);
    for (int i = 0; i < 300; i++)               /* crosses a byte boundary in the key */
        append (u.q, txn, "power", "x", &t);
    cr_assert_eq (t, 300);
    sl_batch_commit (u.b);
    sl_batch_destroy (&u.b);
    sl_queue_destroy (&u.q);
    u.st = u_reopen (&u.st);
    u.q = sl_queue_new (u.st);
    u.b = sl_batch_new (u.st, 100, 1000);
    sl_batch_txn (u.b, &txn);
    append (u.q, txn, "power", "y", &t);
    cr_assert_eq (t, 301, "tag after reopen: %llu", (unsigned long long) t);
    sl_batch_commit (u.b);
    tu_close (&u);
}

Test (queue, aborted_appends_leave_nothing)
{
    tu_t u;
    tu_queue_open (&u);
    MDB_txn *txn;
    uint64_t t;
    sl_batch_txn (u.b, &txn);
    append (u.q, txn, "power", "lost", &t);
    sl_batch_abort (u.b);
    sl_queue_forget (u.q);
    /* a read transaction never sees uncommitted writes, so the check needs a
     * later commit: if the abort left "lost" in the batch, it is saved now */
    uint64_t t2 = 0;
    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    append (u.q, txn, "power", "kept", &t2);
    cr_assert_eq (sl_batch_commit (u.b), 0);
    MDB_txn *r;
    cr_assert_eq (sl_store_read (u.st, &r), 0);
    seen_t s = { .n = 0 };
    cr_assert_eq (sl_queue_scan (u.q, r, "power", 0, collect, &s), 0);
    cr_assert_eq (s.n, 1, "%d records queued after an aborted and a committed append", s.n);
    cr_assert_str_eq (s.bodies[0], "kept");
    mdb_txn_abort (r);
    tu_close (&u);
}

Test (msgids, seen_within_and_after_the_transaction)
{
    sl_store_t *st = u_store ();
    sl_batch_t *b = sl_batch_new (st, 100, 1000);
    MDB_txn *txn;
    uint8_t id[16] = { 1, 2, 3 }, other[16] = { 9 };
    sl_batch_txn (b, &txn);
    cr_assert_eq (sl_msgids_seen (st, txn, "water", id), 0);
    cr_assert_eq (sl_msgids_put (st, txn, "water", id, 1000), 0);
    cr_assert_eq (sl_msgids_seen (st, txn, "water", id), 1, "own write not visible");
    cr_assert_eq (sl_msgids_seen (st, txn, "power", id), 0, "ids are per publisher");
    cr_assert_eq (sl_msgids_seen (st, txn, "water", other), 0);
    cr_assert_eq (sl_batch_commit (b), 0);
    st = u_reopen (&st);
    MDB_txn *r;
    sl_store_read (st, &r);
    cr_assert_eq (sl_msgids_seen (st, r, "water", id), 1);
    mdb_txn_abort (r);
    sl_batch_destroy (&b);
    u_cleanup (&st);
}

Test (store, big_endian_helpers)
{
    unsigned char b[8];
    sl_store_put_u64 (b, 0x0102030405060708ull);
    cr_assert_eq (b[0], 1);
    cr_assert_eq (b[7], 8);
    cr_assert_eq (sl_store_get_u64 (b), 0x0102030405060708ull);
    cr_assert_eq (sl_lmdb_rc (MDB_MAP_FULL), SL_EFULL);
    cr_assert_eq (sl_lmdb_rc (MDB_NOTFOUND), SL_ENOTFOUND);
}

Test (store, full_map_is_reported)
{
    char dir[64], err[256], path[128];
    snprintf (dir, sizeof dir, "/tmp/sluice-unit-XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
    snprintf (path, sizeof path, "%s/store", dir);
    sl_store_t *st = sl_store_open (path, 256 << 10, 1, err, sizeof err);   /* 256 KiB */
    cr_assert_not_null (st, "%s", err);
    sl_queue_t *q = sl_queue_new (st);
    sl_batch_t *b = sl_batch_new (st, 100, 1000);
    MDB_txn *txn;
    sl_batch_txn (b, &txn);
    static char body[8192];
    memset (body, 'x', sizeof body - 1);
    int rc = 0;
    uint64_t t;
    Sluice__V1__RecordMeta m = SLUICE__V1__RECORD_META__INIT;
    for (int i = 0; i < 200 && rc == 0; i++)
        rc = sl_queue_append (q, txn, "power", &m, body, sizeof body, &t);
    cr_assert_eq (rc, SL_EFULL, "rc %d", rc);
    sl_batch_abort (b);
    sl_batch_destroy (&b);
    sl_queue_destroy (&q);
    sl_store_destroy (&st);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq (system (cmd), 0);
}

/*  Tags are never reused: not after an abort that lost the last entries,
 *  not after a restart that finds the queue empty (a new epoch). */
Test (queue, tags_are_never_reused_after_an_abort_or_a_restart)
{
    tu_t u;
    tu_queue_open (&u);
    MDB_txn *txn;
    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    cr_assert_eq (sl_queue_epoch_begin (u.q, txn), 0);
    cr_assert_eq (sl_queue_epoch (u.q), 1);
    uint64_t t1, t2, t3;
    append (u.q, txn, "power", "one", &t1);
    cr_assert_eq (t1, ((uint64_t) 1 << SL_QUEUE_EPOCH_SHIFT) | 1);
    cr_assert_eq (sl_batch_commit (u.b), 0);
    /* delivered and acked: the queue is empty again */
    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    cr_assert_eq (sl_queue_remove (u.q, txn, "power", t1), 0);
    cr_assert_eq (sl_batch_commit (u.b), 0);
    /* an aborted batch re-reads the queue but does not go back */
    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    append (u.q, txn, "power", "lost", &t2);
    sl_batch_abort (u.b);
    sl_queue_forget (u.q);
    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    append (u.q, txn, "power", "two", &t3);
    cr_assert_gt (t3, t1);
    cr_assert_eq (sl_batch_commit (u.b), 0);
    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    cr_assert_eq (sl_queue_remove (u.q, txn, "power", t3), 0);
    cr_assert_eq (sl_batch_commit (u.b), 0);
    sl_queue_destroy (&u.q);

    /* a restart on the emptied queue: a new epoch, tags above all earlier */
    u.q = sl_queue_new (u.st);
    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    cr_assert_eq (sl_queue_epoch_begin (u.q, txn), 0);
    cr_assert_eq (sl_queue_epoch (u.q), 2);
    uint64_t t4;
    append (u.q, txn, "power", "three", &t4);
    cr_assert_gt (t4, t3);
    cr_assert_eq (t4 >> SL_QUEUE_EPOCH_SHIFT, 2);
    cr_assert_eq (sl_batch_commit (u.b), 0);
    tu_close (&u);
}

/*  The sealed subject rides in an unknown field of the queued RecordMeta:
 *  what sl_queue_sealed_field writes survives a pack/unpack and reads back;
 *  a field with a wrong length prefix is refused, another field ignored. */
Test (queue, sealed_subject_field_round_trip)
{
    uint8_t buf[2 + SL_QUEUE_SEALED_MAX];
    size_t n = 300;                           /* > 127: both prefix bytes used */
    for (size_t i = 0; i < n; i++)
        buf[2 + i] = (uint8_t) i;
    ProtobufCMessageUnknownField uf;
    sl_queue_sealed_field (&uf, buf, n);
    Sluice__V1__RecordMeta *u = tu_meta_round_trip (&uf);
    const uint8_t *data;
    size_t dlen;
    cr_assert_eq (sl_queue_sealed_read (&u->base.unknown_fields[0], &data, &dlen), 1);
    cr_assert_eq (dlen, n);
    cr_assert_eq (memcmp (data, buf + 2, n), 0);
    u->base.unknown_fields[0].data[1] ^= 1;   /* the prefix no longer matches the length */
    cr_assert_eq (sl_queue_sealed_read (&u->base.unknown_fields[0], &data, &dlen), -1);
    u->base.unknown_fields[0].tag = 101;
    cr_assert_eq (sl_queue_sealed_read (&u->base.unknown_fields[0], &data, &dlen), 0);
    sluice__v1__record_meta__free_unpacked (u, NULL);
}

/*  The kept count is read without a transaction (sl_overload does, outside
 *  the batch): known once counted, -1 after an abort until the batch counts
 *  again, never refreshed from anywhere else. */
Test (queue, known_count_is_the_batch_view_or_unknown)
{
    tu_t u;
    tu_queue_open (&u);
    MDB_txn *txn;
    cr_assert_eq (sl_queue_known_count (u.q, "power"), -1, "never counted");
    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    cr_assert_eq (sl_queue_epoch_begin (u.q, txn), 0);
    uint64_t t;
    append (u.q, txn, "power", "one", &t);
    append (u.q, txn, "power", "two", &t);
    cr_assert_eq (sl_queue_known_count (u.q, "power"), 2, "the open batch's view");
    cr_assert_eq (sl_batch_commit (u.b), 0);
    cr_assert_eq (sl_queue_known_count (u.q, "power"), 2);
    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    append (u.q, txn, "power", "lost", &t);
    sl_batch_abort (u.b);
    sl_queue_forget (u.q);
    cr_assert_eq (sl_queue_known_count (u.q, "power"), -1, "forgotten after the abort");
    cr_assert_eq (sl_batch_txn (u.b, &txn), 0);
    cr_assert_eq (sl_queue_count (u.q, txn, "power"), 2);
    cr_assert_eq (sl_queue_known_count (u.q, "power"), 2);
    tu_close (&u);
}

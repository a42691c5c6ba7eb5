/*  sl_queue — see sl_queue.h. */
#include "sl_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"
#include "sl_lmdb.h"

#define S_NAME_MAX 32

typedef struct {
    char consumer[S_NAME_MAX + 1];
    uint64_t next;           /* never lowered (sl_queue.h note 2) */
    long depth;              /* entries in the queue, as of the open batch */
    int stale;               /* depth must be read again (after an abort) */
} s_next_t;

struct sl_queue_t {
    sl_store_t *store;
    s_next_t *next;          /* cached next tag per consumer */
    size_t n_next, cap_next;
    uint64_t epoch;          /* this incarnation's (note 1) */
};

sl_queue_t *
sl_queue_new (sl_store_t *store)
{
    sl_queue_t *self = calloc (1, sizeof *self);
    if (self)
        self->store = store;
    return self;
}

void
sl_queue_destroy (sl_queue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->next);
    free (*self_p);
    *self_p = NULL;
}

void
sl_queue_forget (sl_queue_t *self)
{
    for (size_t i = 0; i < self->n_next; i++)
        self->next[i].stale = 1;
}

uint64_t
sl_queue_epoch (const sl_queue_t *self)
{
    return self->epoch;
}

int
sl_queue_epoch_begin (sl_queue_t *self, MDB_txn *txn)
{
    static const char key[] = "queue.epoch";
    MDB_dbi dbi = sl_store_dbi (self->store, SL_DB_META);
    MDB_val k = { sizeof key - 1, (void *) key }, v;
    uint64_t epoch = 0;
    int rc = mdb_get (txn, dbi, &k, &v);
    if (rc == 0) {
        char buf[32];
        size_t n = v.mv_size < sizeof buf - 1 ? v.mv_size : sizeof buf - 1;
        memcpy (buf, v.mv_data, n);
        buf[n] = 0;
        epoch = strtoull (buf, NULL, 10);
    }
    else if (rc != MDB_NOTFOUND)
        return sl_lmdb_rc (rc);
    epoch++;
    char text[32];
    int len = snprintf (text, sizeof text, "%llu", (unsigned long long) epoch);
    MDB_val nv = { (size_t) len, text };
    rc = mdb_put (txn, dbi, &k, &nv, 0);
    if (rc != 0)
        return sl_lmdb_rc (rc);
    self->epoch = epoch;
    self->n_next = 0;
    return 0;
}

static size_t
s_key (unsigned char *buf, const char *consumer, uint64_t tag)
{
    size_t n = strlen (consumer);
    memcpy (buf, consumer, n);
    buf[n] = 0;
    sl_store_put_u64 (buf + n + 1, tag);
    return n + 9;
}

/*  The tag after the consumer's last entry (1 for an empty queue). */
static int
s_last_tag (sl_queue_t *self, MDB_txn *txn, const char *consumer, uint64_t *last)
{
    MDB_cursor *cur;
    size_t n = strlen (consumer);
    unsigned char kb[S_NAME_MAX + 2];
    memcpy (kb, consumer, n);
    kb[n] = 1;                       /* just after every "consumer\0..." key */
    MDB_val k = { n + 1, kb }, v;
    *last = 0;
    if (mdb_cursor_open (txn, sl_store_dbi (self->store, SL_DB_QUEUE), &cur) != 0)
        return SL_ESTORE;
    int rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0)
        rc = mdb_cursor_get (cur, &k, &v, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get (cur, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == n + 9 && memcmp (k.mv_data, consumer, n) == 0
        && ((unsigned char *) k.mv_data)[n] == 0)
        *last = sl_store_get_u64 ((unsigned char *) k.mv_data + n + 1);
    mdb_cursor_close (cur);
    return rc == MDB_NOTFOUND ? 0 : sl_lmdb_rc (rc);
}

static int s_count (void *ctx, const sl_queue_entry_t *e);

/*  The cached state of `consumer`'s queue, read from `txn` on first use
 *  (and again after sl_queue_forget). */
static int
s_state (sl_queue_t *self, MDB_txn *txn, const char *consumer, s_next_t **out)
{
    s_next_t *known = NULL;
    for (size_t i = 0; i < self->n_next && !known; i++)
        if (strcmp (self->next[i].consumer, consumer) == 0)
            known = &self->next[i];
    if (known && !known->stale) {
        *out = known;
        return 0;
    }
    uint64_t last;
    long depth = 0;
    int rc = s_last_tag (self, txn, consumer, &last);
    if (rc == 0)
        rc = sl_queue_scan (self, txn, consumer, 0, s_count, &depth);
    if (rc != 0)
        return rc;
    uint64_t next = last + 1, floor = (self->epoch << SL_QUEUE_EPOCH_SHIFT) | 1;
    if (next < floor)
        next = floor;
    if (known) {
        if (known->next < next)
            known->next = next;
        known->depth = depth;
        known->stale = 0;
        *out = known;
        return 0;
    }
    if (self->n_next == self->cap_next) {
        size_t cap = self->cap_next ? self->cap_next * 2 : 16;
        s_next_t *p = realloc (self->next, cap * sizeof *p);
        if (!p)
            return SL_ENOMEM;
        self->next = p;
        self->cap_next = cap;
    }
    s_next_t *e = &self->next[self->n_next++];
    strcpy (e->consumer, consumer);
    e->next = next;
    e->depth = depth;
    e->stale = 0;
    *out = e;
    return 0;
}

static int
s_next_tag (sl_queue_t *self, MDB_txn *txn, const char *consumer, uint64_t *tag)
{
    s_next_t *e;
    int rc = s_state (self, txn, consumer, &e);
    if (rc == 0)
        *tag = e->next++;
    return rc;
}

long
sl_queue_count (sl_queue_t *self, MDB_txn *txn, const char *consumer)
{
    if (strlen (consumer) > S_NAME_MAX)
        return SL_EINVAL;
    s_next_t *e;
    int rc = s_state (self, txn, consumer, &e);
    return rc != 0 ? rc : e->depth;
}

long
sl_queue_known_count (sl_queue_t *self, const char *consumer)
{
    for (size_t i = 0; i < self->n_next; i++)
        if (strcmp (self->next[i].consumer, consumer) == 0)
            return self->next[i].stale ? -1 : self->next[i].depth;
    return -1;
}

int
sl_queue_append (sl_queue_t *self, MDB_txn *txn, const char *consumer,
                 const Sluice__V1__RecordMeta *meta, const void *body,
                 size_t body_len, uint64_t *tag)
{
    if (strlen (consumer) > S_NAME_MAX || strlen (consumer) == 0)
        return SL_EINVAL;
    int rc = s_next_tag (self, txn, consumer, tag);
    if (rc != 0)
        return rc;
    unsigned char kb[S_NAME_MAX + 9];
    size_t mlen = protobuf_c_message_get_packed_size (&meta->base);
    MDB_val k = { s_key (kb, consumer, *tag), kb };
    MDB_val v = { 4 + mlen + body_len, NULL };
    rc = mdb_put (txn, sl_store_dbi (self->store, SL_DB_QUEUE), &k, &v, MDB_RESERVE);
    if (rc != 0)
        return sl_lmdb_rc (rc);
    unsigned char *p = v.mv_data;
    p[0] = (unsigned char) (mlen >> 24);
    p[1] = (unsigned char) (mlen >> 16);
    p[2] = (unsigned char) (mlen >> 8);
    p[3] = (unsigned char) mlen;
    protobuf_c_message_pack (&meta->base, p + 4);
    if (body_len)
        memcpy (p + 4 + mlen, body, body_len);
    s_next_t *e;
    if (s_state (self, txn, consumer, &e) == 0)
        e->depth++;
    return 0;
}

int
sl_queue_remove (sl_queue_t *self, MDB_txn *txn, const char *consumer, uint64_t tag)
{
    unsigned char kb[S_NAME_MAX + 9];
    if (strlen (consumer) > S_NAME_MAX)
        return SL_EINVAL;
    MDB_val k = { s_key (kb, consumer, tag), kb };
    int rc = sl_lmdb_rc (mdb_del (txn, sl_store_dbi (self->store, SL_DB_QUEUE), &k, NULL));
    for (size_t i = 0; rc == 0 && i < self->n_next; i++)
        if (strcmp (self->next[i].consumer, consumer) == 0 && !self->next[i].stale
            && self->next[i].depth > 0)
            self->next[i].depth--;
    return rc;
}

int
sl_queue_scan (sl_queue_t *self, MDB_txn *txn, const char *consumer,
               uint64_t from, sl_queue_scan_fn *fn, void *ctx)
{
    size_t n = strlen (consumer);
    unsigned char kb[S_NAME_MAX + 9];
    MDB_cursor *cur;
    if (n > S_NAME_MAX)
        return SL_EINVAL;
    MDB_val k = { s_key (kb, consumer, from), kb }, v;
    if (mdb_cursor_open (txn, sl_store_dbi (self->store, SL_DB_QUEUE), &cur) != 0)
        return SL_ESTORE;
    int rc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        const unsigned char *kd = k.mv_data;
        if (k.mv_size != n + 9 || memcmp (kd, consumer, n) != 0 || kd[n] != 0)
            break;
        const unsigned char *vd = v.mv_data;
        if (v.mv_size >= 4) {
            size_t mlen = ((size_t) vd[0] << 24) | ((size_t) vd[1] << 16)
                          | ((size_t) vd[2] << 8) | vd[3];
            if (mlen <= v.mv_size - 4) {
                sl_queue_entry_t e = {
                    sl_store_get_u64 (kd + n + 1), vd + 4, mlen,
                    vd + 4 + mlen, v.mv_size - 4 - mlen
                };
                if (fn (ctx, &e))
                    break;
            }
        }
        rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close (cur);
    return rc == MDB_NOTFOUND ? 0 : sl_lmdb_rc (rc);
}

static int
s_count (void *ctx, const sl_queue_entry_t *e)
{
    (void) e;
    (*(long *) ctx)++;
    return 0;
}

long
sl_queue_depth (sl_queue_t *self, MDB_txn *txn, const char *consumer)
{
    long n = 0;
    int rc = sl_queue_scan (self, txn, consumer, 0, s_count, &n);
    return rc != 0 ? rc : n;
}

void
sl_queue_sealed_field (ProtobufCMessageUnknownField *uf, uint8_t *buf, size_t len)
{
    /* protobuf-c packs unknown field data as is: it carries its length */
    buf[0] = (uint8_t) (0x80 | (len & 0x7f));
    buf[1] = (uint8_t) (len >> 7);
    uf->tag = SL_QUEUE_SEALED_SUBJECT_TAG;
    uf->wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
    uf->len = len + 2;
    uf->data = buf;
}

int
sl_queue_sealed_read (const ProtobufCMessageUnknownField *uf, const uint8_t **data, size_t *len)
{
    if (uf->tag != SL_QUEUE_SEALED_SUBJECT_TAG)
        return 0;
    if (uf->len < 2 || (uf->data[0] & 0x80) == 0 || (uf->data[1] & 0x80) != 0
        || (size_t) ((uf->data[0] & 0x7f) | (size_t) uf->data[1] << 7) != uf->len - 2)
        return -1;
    *data = uf->data + 2;
    *len = uf->len - 2;
    return 1;
}

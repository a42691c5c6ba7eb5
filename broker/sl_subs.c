/*  sl_subs — see sl_subs.h. */
#include "sl_subs.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_error.h"
#include "sl_lmdb.h"

struct sl_subs_t {
    sl_store_t *store;
    sl_sub_t *subs;
    size_t count, cap;
};

static size_t
s_key (char *buf, const char *c, const char *t, const char *p)
{
    size_t a = strlen (c), b = strlen (t), d = strlen (p);
    memcpy (buf, c, a + 1);
    memcpy (buf + a + 1, t, b + 1);
    memcpy (buf + a + b + 2, p, d);
    return a + b + d + 2;
}

int
sl_subs_reload (sl_subs_t *self)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    if (sl_store_read (self->store, &txn) != 0)
        return SL_ESTORE;
    if (mdb_cursor_open (txn, sl_store_dbi (self->store, SL_DB_SUBS), &cur) != 0) {
        mdb_txn_abort (txn);
        return SL_ESTORE;
    }
    self->count = 0;
    int rc = 0;
    for (int op = MDB_FIRST; mdb_cursor_get (cur, &k, &v, op) == 0; op = MDB_NEXT) {
        char buf[sizeof (sl_sub_t)];
        if (k.mv_size >= sizeof buf)
            continue;
        memcpy (buf, k.mv_data, k.mv_size);
        buf[k.mv_size] = 0;
        const char *c = buf;
        const char *t = memchr (buf, 0, k.mv_size);
        if (!t)
            continue;
        t++;
        const char *p = memchr (t, 0, k.mv_size - (size_t) (t - buf));
        if (!p)
            continue;
        p++;
        if (strlen (c) > 32 || strlen (t) > SL_TYPE_MAX || strlen (p) > SL_PURPOSE_MAX)
            continue;
        if (self->count == self->cap) {
            size_t cap = self->cap ? self->cap * 2 : 16;
            sl_sub_t *n = realloc (self->subs, cap * sizeof *n);
            if (!n) {
                rc = SL_ENOMEM;
                break;
            }
            self->subs = n;
            self->cap = cap;
        }
        sl_sub_t *s = &self->subs[self->count++];
        strcpy (s->consumer, c);
        strcpy (s->record_type, t);
        strcpy (s->purpose, p);
    }
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    return rc;
}

sl_subs_t *
sl_subs_new (sl_store_t *store)
{
    sl_subs_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    if (sl_subs_reload (self) != 0)
        sl_subs_destroy (&self);
    return self;
}

void
sl_subs_destroy (sl_subs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->subs);
    free (*self_p);
    *self_p = NULL;
}

int
sl_subs_valid_purpose (const char *purpose)
{
    size_t n = strlen (purpose);
    if (n == 0 || n > SL_PURPOSE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = purpose[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-')))
            return 0;
    }
    return 1;
}

static ptrdiff_t
s_find (sl_subs_t *self, const char *c, const char *t, const char *p)
{
    for (size_t i = 0; i < self->count; i++) {
        sl_sub_t *s = &self->subs[i];
        if (!strcmp (s->consumer, c) && !strcmp (s->record_type, t) && !strcmp (s->purpose, p))
            return (ptrdiff_t) i;
    }
    return -1;
}

int
sl_subs_add (sl_subs_t *self, MDB_txn *txn, const char *consumer,
             const char *record_type, const char *purpose, int *created)
{
    *created = 0;
    if (strlen (consumer) > 32 || strlen (record_type) > SL_TYPE_MAX
        || strlen (purpose) > SL_PURPOSE_MAX)
        return SL_EINVAL;
    if (s_find (self, consumer, record_type, purpose) >= 0)
        return 0;
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        sl_sub_t *n = realloc (self->subs, cap * sizeof *n);
        if (!n)
            return SL_ENOMEM;
        self->subs = n;
        self->cap = cap;
    }
    char kbuf[sizeof (sl_sub_t)];
    unsigned char vbuf[8];
    sl_store_put_u64 (vbuf, (unsigned long long) time (NULL) * 1000ull);
    MDB_val k = { s_key (kbuf, consumer, record_type, purpose), kbuf }, v = { 8, vbuf };
    int rc = sl_lmdb_rc (mdb_put (txn, sl_store_dbi (self->store, SL_DB_SUBS), &k, &v, 0));
    if (rc != 0)
        return rc;
    sl_sub_t *s = &self->subs[self->count++];
    strcpy (s->consumer, consumer);
    strcpy (s->record_type, record_type);
    strcpy (s->purpose, purpose);
    *created = 1;
    return 0;
}

int
sl_subs_remove (sl_subs_t *self, MDB_txn *txn, const char *consumer,
                const char *record_type, const char *purpose)
{
    ptrdiff_t i = s_find (self, consumer, record_type, purpose);
    if (i < 0)
        return SL_ENOTFOUND;
    char kbuf[sizeof (sl_sub_t)];
    MDB_val k = { s_key (kbuf, consumer, record_type, purpose), kbuf };
    int rc = mdb_del (txn, sl_store_dbi (self->store, SL_DB_SUBS), &k, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return sl_lmdb_rc (rc);
    self->subs[i] = self->subs[--self->count];
    return 0;
}

size_t
sl_subs_count (sl_subs_t *self)
{
    return self->count;
}

const sl_sub_t *
sl_subs_at (sl_subs_t *self, size_t i)
{
    return i < self->count ? &self->subs[i] : NULL;
}

int
sl_subs_has_consumer (sl_subs_t *self, const char *consumer)
{
    for (size_t i = 0; i < self->count; i++)
        if (!strcmp (self->subs[i].consumer, consumer))
            return 1;
    return 0;
}

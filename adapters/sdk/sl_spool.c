/*  sl_spool — see sl_spool.h for the layout and the durability trade. */
#include "sl_spool.h"
#include "sl_outbox.h"
#include "sl_error.h"
#include "sl_lmdb.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

struct sl_spool {
    MDB_env *env;
    MDB_dbi dbi;
    uint64_t next_key;
};

static void
s_put_be64 (uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t) v;
}

static uint64_t
s_get_be64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

int
sl_spool_open (const char *dir, sl_spool_t **spool_p, char *err, size_t errlen)
{
    int rc;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    *spool_p = NULL;
    if (mkdir (dir, 0700) != 0 && errno != EEXIST) {
        sl_err_set (err, errlen, "spool %s: cannot create: %s", dir, strerror (errno));
        return SL_EIO;
    }
    sl_spool_t *self = calloc (1, sizeof *self);
    if (!self)
        return SL_ENOMEM;
    self->next_key = 1;
    if ((rc = mdb_env_create (&self->env)) != 0
        || (rc = mdb_env_set_maxdbs (self->env, 4)) != 0
        || (rc = mdb_env_set_mapsize (self->env, (size_t) 1 << 30)) != 0
        || (rc = mdb_env_open (self->env, dir, MDB_NOSYNC | MDB_NOTLS, 0600)) != 0
        || (rc = mdb_txn_begin (self->env, NULL, 0, &txn)) != 0
        || (rc = mdb_dbi_open (txn, "spool.records", MDB_CREATE, &self->dbi)) != 0
        || (rc = mdb_cursor_open (txn, self->dbi, &cur)) != 0)
        goto fail;
    MDB_val k, v;
    rc = mdb_cursor_get (cur, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == 8)
        self->next_key = s_get_be64 (k.mv_data) + 1;
    else if (rc != MDB_NOTFOUND && rc != 0)
        goto fail;
    mdb_cursor_close (cur);
    cur = NULL;
    if ((rc = mdb_txn_commit (txn)) != 0) {
        txn = NULL;
        goto fail;
    }
    *spool_p = self;
    return 0;
fail:
    sl_err_set (err, errlen, "spool %s: %s", dir, mdb_strerror (rc));
    if (cur)
        mdb_cursor_close (cur);
    if (txn)
        mdb_txn_abort (txn);
    if (self->env)
        mdb_env_close (self->env);
    free (self);
    return sl_lmdb_rc (rc) == SL_ENOTFOUND ? SL_ESTORE : sl_lmdb_rc (rc);
}

void
sl_spool_destroy (sl_spool_t **spool_p)
{
    if (!spool_p || !*spool_p)
        return;
    sl_spool_t *self = *spool_p;
    mdb_env_sync (self->env, 1);
    mdb_env_close (self->env);
    free (self);
    *spool_p = NULL;
}

int
sl_spool_put (sl_spool_t *self, const sl_outrec_t *rec, uint64_t *key_out)
{
    size_t tlen = strlen (rec->record_type), slen = rec->subject ? strlen (rec->subject) : 0;
    if (tlen > 0xffff || slen > 0xffff)
        return SL_EINVAL;
    size_t len = 16 + 8 + 2 + tlen + 2 + slen + rec->size;
    uint8_t keybuf[8];
    s_put_be64 (keybuf, self->next_key);
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc != 0)
        return sl_lmdb_rc (rc);
    MDB_val k = { 8, keybuf }, v = { len, NULL };
    rc = mdb_put (txn, self->dbi, &k, &v, MDB_RESERVE | MDB_APPEND);
    if (rc != 0) {
        mdb_txn_abort (txn);
        return sl_lmdb_rc (rc);
    }
    uint8_t *p = v.mv_data;
    memcpy (p, rec->id, 16);
    p += 16;
    s_put_be64 (p, (uint64_t) rec->event_time_ms);
    p += 8;
    p[0] = (uint8_t) (tlen >> 8);
    p[1] = (uint8_t) tlen;
    memcpy (p + 2, rec->record_type, tlen);
    p += 2 + tlen;
    p[0] = (uint8_t) (slen >> 8);
    p[1] = (uint8_t) slen;
    if (slen)
        memcpy (p + 2, rec->subject, slen);
    p += 2 + slen;
    if (rec->size)
        memcpy (p, rec->body, rec->size);
    rc = mdb_txn_commit (txn);
    if (rc != 0)
        return sl_lmdb_rc (rc);
    *key_out = self->next_key++;
    return 0;
}

int
sl_spool_del (sl_spool_t *self, uint64_t key)
{
    uint8_t keybuf[8];
    s_put_be64 (keybuf, key);
    MDB_txn *txn;
    int rc = mdb_txn_begin (self->env, NULL, 0, &txn);
    if (rc != 0)
        return sl_lmdb_rc (rc);
    MDB_val k = { 8, keybuf };
    rc = mdb_del (txn, self->dbi, &k, NULL);
    if (rc != 0) {
        mdb_txn_abort (txn);
        return sl_lmdb_rc (rc);
    }
    return sl_lmdb_rc (mdb_txn_commit (txn));
}

int
sl_spool_each (sl_spool_t *self, sl_spool_each_fn *fn, void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return sl_lmdb_rc (rc);
    if ((rc = mdb_cursor_open (txn, self->dbi, &cur)) != 0) {
        mdb_txn_abort (txn);
        return sl_lmdb_rc (rc);
    }
    MDB_val k, v;
    int result = 0;
    char type[0x10000], subject[0x10000];
    for (rc = mdb_cursor_get (cur, &k, &v, MDB_FIRST); rc == 0 && result == 0;
         rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        const uint8_t *p = v.mv_data, *end = p + v.mv_size;
        if (k.mv_size != 8 || v.mv_size < 28) {
            result = SL_ECORRUPT;
            break;
        }
        const uint8_t *id = p;
        int64_t when = (int64_t) s_get_be64 (p + 16);
        p += 24;
        size_t tlen = ((size_t) p[0] << 8) | p[1];
        if (p + 2 + tlen + 2 > end) {
            result = SL_ECORRUPT;
            break;
        }
        memcpy (type, p + 2, tlen);
        type[tlen] = '\0';
        p += 2 + tlen;
        size_t slen = ((size_t) p[0] << 8) | p[1];
        if (p + 2 + slen > end) {
            result = SL_ECORRUPT;
            break;
        }
        memcpy (subject, p + 2, slen);
        subject[slen] = '\0';
        p += 2 + slen;
        result = fn (s_get_be64 (k.mv_data), id, type, slen ? subject : NULL, when, p,
                     (size_t) (end - p), arg);
    }
    if (result == 0 && rc != 0 && rc != MDB_NOTFOUND)
        result = sl_lmdb_rc (rc);
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    return result;
}

size_t
sl_spool_count (sl_spool_t *self)
{
    MDB_txn *txn;
    MDB_stat st;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn) != 0)
        return 0;
    int rc = mdb_stat (txn, self->dbi, &st);
    mdb_txn_abort (txn);
    return rc == 0 ? st.ms_entries : 0;
}

int
sl_spool_sync (sl_spool_t *self)
{
    return mdb_env_sync (self->env, 1) == 0 ? 0 : SL_ESTORE;
}

/*  sl_store — see sl_store.h. */
#include "sl_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "sl_error.h"

struct sl_store_t {
    MDB_env *env;
    MDB_dbi dbi[SL_DB_COUNT_];
};

static const char *s_names[SL_DB_COUNT_] = {
    "broker.members", "broker.subs", "broker.queue", "broker.msgids", "broker.meta"
};

sl_store_t *
sl_store_open (const char *dir, size_t map_size, int create, char *err, size_t errlen)
{
    sl_store_t *self = calloc (1, sizeof *self);
    MDB_txn *txn = NULL;
    int rc;
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    if (create && mkdir (dir, 0700) != 0 && errno != EEXIST) {
        snprintf (err, errlen, "%s: cannot create: %s", dir, strerror (errno));
        goto fail;
    }
    if ((rc = mdb_env_create (&self->env)) != 0)
        goto lmdb_fail;
    mdb_env_set_maxdbs (self->env, 64);
    mdb_env_set_mapsize (self->env, map_size ? map_size : (size_t) 1 << 30);
    if ((rc = mdb_env_open (self->env, dir, MDB_NOTLS, 0600)) != 0)
        goto lmdb_fail;
    if ((rc = mdb_txn_begin (self->env, NULL, 0, &txn)) != 0)
        goto lmdb_fail;
    for (int i = 0; i < SL_DB_COUNT_; i++)
        if ((rc = mdb_dbi_open (txn, s_names[i], MDB_CREATE, &self->dbi[i])) != 0)
            goto lmdb_fail;
    MDB_val k = { 6, (void *) "format" }, v = { 1, (void *) "1" };
    if ((rc = mdb_put (txn, self->dbi[SL_DB_META], &k, &v, 0)) != 0)
        goto lmdb_fail;
    rc = mdb_txn_commit (txn);
    txn = NULL;
    if (rc != 0)
        goto lmdb_fail;
    return self;

lmdb_fail:
    snprintf (err, errlen, "%s: LMDB: %s", dir, mdb_strerror (rc));
fail:
    if (txn)
        mdb_txn_abort (txn);
    if (self->env)
        mdb_env_close (self->env);
    free (self);
    return NULL;
}

int
sl_store_env_open_rdonly (const char *dir, int force_nolock, MDB_env **env, char *err,
                          size_t errlen)
{
    char lock[4096];
    struct stat st;
    snprintf (lock, sizeof lock, "%s/lock.mdb", dir);
    unsigned flags = MDB_RDONLY | MDB_NOTLS;
    if (force_nolock || (stat (lock, &st) != 0 && errno == ENOENT))
        flags |= MDB_NOLOCK;
    *env = NULL;
    int rc = mdb_env_create (env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs (*env, 64);
    if (rc == 0)
        rc = mdb_env_open (*env, dir, flags, 0600);
    if (rc != 0) {
        snprintf (err, errlen, "%s: cannot open the store read-only: %s", dir,
                  mdb_strerror (rc));
        if (*env)
            mdb_env_close (*env);
        *env = NULL;
    }
    return rc;
}

sl_store_t *
sl_store_open_rdonly (const char *dir, int force_nolock, char *err, size_t errlen)
{
    sl_store_t *self = calloc (1, sizeof *self);
    MDB_txn *txn = NULL;
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    if (sl_store_env_open_rdonly (dir, force_nolock, &self->env, err, errlen) != 0) {
        free (self);
        return NULL;
    }
    int rc = mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn);
    for (int i = 0; rc == 0 && i < SL_DB_COUNT_; i++)
        if ((rc = mdb_dbi_open (txn, s_names[i], 0, &self->dbi[i])) != 0)
            snprintf (err, errlen, "%s: no database %s: %s (is this a broker data "
                      "directory? `sluiced init --data DIR` makes one)", dir, s_names[i],
                      mdb_strerror (rc));
    if (rc == 0) {
        rc = mdb_txn_commit (txn);      /* keeps the handles for later transactions */
        txn = NULL;
        if (rc != 0)
            snprintf (err, errlen, "%s: %s", dir, mdb_strerror (rc));
    }
    else if (!txn)
        snprintf (err, errlen, "%s: %s", dir, mdb_strerror (rc));
    if (txn)
        mdb_txn_abort (txn);
    if (rc != 0) {
        mdb_env_close (self->env);
        free (self);
        return NULL;
    }
    return self;
}

void
sl_store_destroy (sl_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_store_t *self = *self_p;
    mdb_env_close (self->env);
    free (self);
    *self_p = NULL;
}

MDB_env *
sl_store_env (sl_store_t *self)
{
    return self->env;
}

MDB_dbi
sl_store_dbi (sl_store_t *self, sl_db_t db)
{
    return self->dbi[db];
}

int
sl_store_read (sl_store_t *self, MDB_txn **txn)
{
    return sl_lmdb_rc (mdb_txn_begin (self->env, NULL, MDB_RDONLY, txn));
}

void
sl_store_put_u64 (unsigned char *p, unsigned long long v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char) (v & 0xff);
        v >>= 8;
    }
}

unsigned long long
sl_store_get_u64 (const unsigned char *p)
{
    unsigned long long v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

int
sl_store_usage (sl_store_t *self, size_t *used, size_t *capacity)
{
    MDB_envinfo info;
    MDB_stat st;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    const char *path = NULL;
    if (mdb_env_info (self->env, &info) != 0 || mdb_env_stat (self->env, &st) != 0
        || mdb_env_get_path (self->env, &path) != 0)
        return SL_ESTORE;
    /* pages on the free list are reused by later transactions */
    size_t free_pages = 0;
    if (mdb_txn_begin (self->env, NULL, MDB_RDONLY, &txn) != 0)
        return SL_ESTORE;
    if (mdb_cursor_open (txn, 0, &cur) == 0) {
        while (mdb_cursor_get (cur, &k, &v, MDB_NEXT) == 0)
            if (v.mv_size >= sizeof (size_t))
                free_pages += *(const size_t *) v.mv_data;   /* an MDB_IDL: count first */
        mdb_cursor_close (cur);
    }
    mdb_txn_abort (txn);
    size_t pages = (size_t) info.me_last_pgno + 1;
    *used = (pages > free_pages ? pages - free_pages : 0) * st.ms_psize;
    /* the map can grow only as far as the disk under it allows */
    size_t cap = info.me_mapsize;
    char file[1100];
    snprintf (file, sizeof file, "%s/data.mdb", path);
    struct stat fs;
    struct statvfs vfs;
    if (stat (file, &fs) == 0 && statvfs (path, &vfs) == 0) {
        size_t disk = (size_t) fs.st_size + (size_t) vfs.f_bavail * vfs.f_frsize;
        if (disk < cap)
            cap = disk;
    }
    *capacity = cap;
    return 0;
}

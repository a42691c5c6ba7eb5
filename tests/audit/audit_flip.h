/*  Stores for the audit CLI suites: a data directory laid out as sluiced
 *  lays it out (DIR/store = the LMDB environment, DIR/audit-*.key|pub)
 *  with a log written by the library, and tampering that changes bytes of a
 *  stored entry the way an attacker with write access to the store would,
 *  so that verify has something to find. */
#ifndef AUDIT_FLIP_H
#define AUDIT_FLIP_H

#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sl_audit.h"

/*  Runs sluicectl ($SLUICECTL) with the printf-formatted shell words `fmt`
 *  (end them with 2>&1 for stderr too); stdout into out[size]. The exit
 *  status. (Needs harness.h, as do the suites that use it.) */
#define audit_ctl(out, size, fmt, ...) \
    tl_sh ((out), (size), "'%s' " fmt, tb_program ("SLUICECTL"), __VA_ARGS__)

/*  Opens DIR/store (made when missing) with room for 2 GiB and `flags`
 *  besides MDB_NOTLS (MDB_RDONLY, MDB_NOSYNC). Asserts. */
static inline MDB_env *
audit_env (const char *dir, unsigned flags)
{
    char path[1400];
    snprintf (path, sizeof path, "%s/store", dir);
    mkdir (path, 0700);
    MDB_env *env;
    cr_assert_eq (mdb_env_create (&env), 0);
    mdb_env_set_maxdbs (env, 64);
    mdb_env_set_mapsize (env, (size_t) 2 << 30);
    int rc = mdb_env_open (env, path, MDB_NOTLS | flags, 0600);
    cr_assert_eq (rc, 0, "%s: %s", path, mdb_strerror (rc));
    return env;
}

/*  The key of audit entry `seq` in audit.log: the sequence number, big-endian. */
static inline void
audit_key (uint8_t key[8], uint64_t seq)
{
    for (int b = 0; b < 8; b++)
        key[b] = (uint8_t) (seq >> (56 - 8 * b));
}

/*  Begins a write transaction on `env` and opens audit.log into *log and,
 *  when they are not NULL, audit.checkpoints into *cps and audit.meta into
 *  *meta. Asserts. */
static inline MDB_txn *
audit_write_txn (MDB_env *env, MDB_dbi *log, MDB_dbi *cps, MDB_dbi *meta)
{
    MDB_txn *txn;
    cr_assert_eq (mdb_txn_begin (env, NULL, 0, &txn), 0);
    cr_assert_eq (mdb_dbi_open (txn, "audit.log", 0, log), 0);
    cr_assert (!cps || mdb_dbi_open (txn, "audit.checkpoints", 0, cps) == 0);
    cr_assert (!meta || mdb_dbi_open (txn, "audit.meta", 0, meta) == 0);
    return txn;
}

/*  Makes a data directory /tmp/PREFIX-XXXXXX (its path into dir[size]) with
 *  a new audit key and a log of `n` entries: entry i (from 0) is what
 *  `event` fills in, at T0 + i ms (T0: `t0_us`), written 100,000 to a
 *  transaction, with a checkpoint after every `cp_every`-th. Asserts. */
static inline void
audit_build (char *dir, size_t size, const char *prefix, uint64_t n, uint64_t cp_every,
             int64_t t0_us, void (*event) (uint64_t i, sl_audit_event_t *ev))
{
    snprintf (dir, size, "/tmp/%s-XXXXXX", prefix);
    cr_assert_not_null (mkdtemp (dir));
    char err[256] = "";
    cr_assert_eq (sl_audit_keygen (dir, err, sizeof err), 0, "%s", err);
    MDB_env *env = audit_env (dir, MDB_NOSYNC);
    sl_audit_t *a = sl_audit_open (env, dir, 0, err, sizeof err);
    cr_assert_not_null (a, "%s", err);
    for (uint64_t i = 0; i < n;) {
        MDB_txn *txn;
        cr_assert_eq (mdb_txn_begin (env, NULL, 0, &txn), 0);
        for (uint64_t j = 0; j < 100000 && i < n; j++, i++) {
            sl_audit_event_t ev = { .time_us = t0_us + (int64_t) i * 1000 };
            event (i, &ev);
            cr_assert_eq (sl_audit_append (a, txn, &ev, NULL), 0);
            if ((i + 1) % cp_every == 0)
                cr_assert_eq (sl_audit_checkpoint (a, txn, t0_us + (int64_t) i * 1000), 0);
        }
        cr_assert_eq (mdb_txn_commit (txn), 0);
        sl_audit_after_commit (a);
    }
    sl_audit_destroy (&a);
    mdb_env_close (env);
}

/*  Inverts the low bit of byte `offset` of audit entry `seq` in the store
 *  of data directory `dir`, in its own write transaction. */
static inline void
audit_flip (const char *dir, uint64_t seq, size_t offset)
{
    MDB_env *env = audit_env (dir, 0);
    MDB_dbi db;
    MDB_txn *txn = audit_write_txn (env, &db, NULL, NULL);
    uint8_t key[8];
    audit_key (key, seq);
    MDB_val k = { 8, key }, v;
    cr_assert_eq (mdb_get (txn, db, &k, &v), 0);
    cr_assert_lt (offset, v.mv_size);
    uint8_t *copy = malloc (v.mv_size);
    memcpy (copy, v.mv_data, v.mv_size);
    copy[offset] ^= 0x01;
    MDB_val nv = { v.mv_size, copy };
    cr_assert_eq (mdb_put (txn, db, &k, &nv, 0), 0);
    cr_assert_eq (mdb_txn_commit (txn), 0);
    free (copy);
    mdb_env_close (env);
}

#endif

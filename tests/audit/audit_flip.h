/*  Tampering for the audit CLI suites: changes bytes of a stored entry the
 *  way an attacker with write access to the store would, so that verify
 *  has something to find. */
#ifndef AUDIT_FLIP_H
#define AUDIT_FLIP_H

#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*  Inverts the low bit of byte `offset` of audit entry `seq` (key: the
 *  sequence number, big-endian) in `env`, in its own write transaction. */
static inline void
audit_flip (MDB_env *env, uint64_t seq, size_t offset)
{
    MDB_txn *txn;
    MDB_dbi db;
    cr_assert_eq (mdb_txn_begin (env, NULL, 0, &txn), 0);
    cr_assert_eq (mdb_dbi_open (txn, "audit.log", 0, &db), 0);
    uint8_t key[8];
    for (int b = 0; b < 8; b++)
        key[b] = (uint8_t) (seq >> (56 - 8 * b));
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
}

#endif

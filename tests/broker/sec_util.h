/*  sec_util — reading a test broker's audit log from the test process (a
 *  separate read-only LMDB environment, so the broker may be running,
 *  stopped or killed). Included by the security tests; needs a global
 *  tc_broker_t B. */
#ifndef SEC_UTIL_H
#define SEC_UTIL_H

#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "sl_audit.h"
#include "tc.h"

typedef struct {
    char kind[32], actor[40], counterpart[40], owner[40], rules[128], fields[256];
    char decision[16], reason[128], detail[256], purpose[64];
    int has_subject, has_msgid;
} entry_t;

/*  Entries of `kind` (prefix if it ends in '.') in B's store, read from a
 *  separate read-only environment (the broker may be running or killed). */
static size_t
entries (const char *kind, entry_t *out, size_t max)
{
    MDB_env *env;
    MDB_txn *txn;
    char path[600];
    cr_assert_eq (mdb_env_create (&env), 0);
    mdb_env_set_maxdbs (env, 64);
    mdb_env_set_mapsize (env, (size_t) 1 << 30);
    snprintf (path, sizeof path, "%s/store", B.dir);
    cr_assert_eq (mdb_env_open (env, path, MDB_RDONLY | MDB_NOTLS, 0600), 0);
    cr_assert_eq (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    sl_audit_filter_t f;
    memset (&f, 0, sizeof f);
    f.kind = kind;
    sl_audit_iter_t *it = sl_audit_iter_new (txn, &f);
    cr_assert_not_null (it);
    sl_audit_entry_t e;
    size_t n = 0;
    while (sl_audit_iter_next (it, &e) == 1) {
        if (n < max) {
            entry_t *o = &out[n];
#define S_COPY(dst, src) snprintf (dst, sizeof dst, "%.*s", (int) src.len, src.ptr)
            S_COPY (o->kind, e.kind);
            S_COPY (o->actor, e.actor);
            S_COPY (o->counterpart, e.counterpart);
            S_COPY (o->owner, e.owner);
            S_COPY (o->rules, e.rules);
            S_COPY (o->fields, e.fields);
            S_COPY (o->decision, e.decision);
            S_COPY (o->reason, e.reason);
            S_COPY (o->detail, e.detail);
            S_COPY (o->purpose, e.purpose);
            o->has_subject = e.subject != NULL;
            o->has_msgid = e.message_id != NULL;
        }
        n++;
    }
    sl_audit_iter_destroy (&it);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return n;
}

/*  Delivery tags the `ack` entries in B's store list (AUDIT.md 6.2: one
 *  entry per ACK, its tags in the detail); -1 if a list is malformed. */
static inline long
acked_tags (void)
{
    MDB_env *env;
    MDB_txn *txn;
    char path[600];
    cr_assert_eq (mdb_env_create (&env), 0);
    mdb_env_set_maxdbs (env, 64);
    mdb_env_set_mapsize (env, (size_t) 1 << 30);
    snprintf (path, sizeof path, "%s/store", B.dir);
    cr_assert_eq (mdb_env_open (env, path, MDB_RDONLY | MDB_NOTLS, 0600), 0);
    cr_assert_eq (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    sl_audit_filter_t f;
    memset (&f, 0, sizeof f);
    f.kind = "ack";
    sl_audit_iter_t *it = sl_audit_iter_new (txn, &f);
    cr_assert_not_null (it);
    sl_audit_entry_t e;
    long n = 0;
    while (n >= 0 && sl_audit_iter_next (it, &e) == 1) {
        long k = sl_audit_ack_tags (e.detail.ptr, e.detail.len, NULL, NULL);
        n = k < 0 ? -1 : n + k;
    }
    sl_audit_iter_destroy (&it);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return n;
}

#endif

/*  What bench_audit and fill_audit (bench/console) share: writing many
 *  audit entries the way the broker does. */
#ifndef BENCH_AUDIT_FILL_H
#define BENCH_AUDIT_FILL_H

#include <string.h>

#include "sl_audit.h"

/*  Fills entry i (from 1) of a run; its message id (i in the first 8
 *  bytes) and `subject`, a 32-byte buffer the function writes, are set. */
typedef void (bench_audit_entry_fn) (uint64_t i, char *subject, sl_audit_event_t *ev);

/*  Appends entries 1..n to `a` in `env`: transactions of 10,000 entries,
 *  a signed checkpoint after each. Returns 0, a negative SL_E* code or a
 *  positive LMDB one. */
static inline int
bench_audit_fill (MDB_env *env, sl_audit_t *a, uint64_t n, bench_audit_entry_fn *entry)
{
    uint8_t msgid[16] = { 0 };
    char subject[32];
    int rc = 0;
    for (uint64_t i = 1; i <= n && rc == 0;) {
        MDB_txn *txn;
        if ((rc = mdb_txn_begin (env, NULL, 0, &txn)))
            break;
        for (int j = 0; j < 10000 && i <= n && rc == 0; j++, i++) {
            sl_audit_event_t ev;
            memcpy (msgid, &i, sizeof i);
            entry (i, subject, &ev);
            ev.message_id = msgid;
            ev.subject = subject;
            rc = sl_audit_append (a, txn, &ev, NULL);
        }
        if (rc == 0)
            rc = sl_audit_checkpoint (a, txn, 0);
        if (rc) {
            mdb_txn_abort (txn);
            break;
        }
        rc = mdb_txn_commit (txn);
        sl_audit_after_commit (a);
    }
    return rc;
}

#endif

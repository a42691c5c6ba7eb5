/*  sl_commit_int — private to the commit pipeline's own files (sl_commit.c,
 *  sl_commit_admin.c). Nothing else includes it.
 */
#ifndef SL_COMMIT_INT_H
#define SL_COMMIT_INT_H

#include <lmdb.h>

#include "sl_commit.h"

/*  The open write transaction, begun if none is open (sl_batch_txn), for a
 *  typed write of the pipeline. Returns 0 or SL_ESTORE. */
int sl_commit_txn (sl_commit_t *self, MDB_txn **txn);

#endif

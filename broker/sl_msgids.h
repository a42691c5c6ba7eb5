/*  sl_msgids — the idempotency index: which (publisher, message_id) pairs the
 *  broker has stored. broker.msgids: publisher \0 message_id(16) -> accepted
 *  time (u64 BE, Unix ms). Entries are kept for good in protocol v1.
 */
#ifndef SL_MSGIDS_H
#define SL_MSGIDS_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_store.h"

#define SL_MSGID_LEN 16

/*  1 if (publisher, id) is recorded in `txn` (which sees its own uncommitted
 *  writes), 0 if not, negative SL_E* on error. */
int sl_msgids_seen (sl_store_t *store, MDB_txn *txn, const char *publisher,
                    const uint8_t id[SL_MSGID_LEN]);

/*  Records (publisher, id) with time `now_ms`. Returns 0, SL_EFULL, SL_ESTORE. */
int sl_msgids_put (sl_store_t *store, MDB_txn *txn, const char *publisher,
                   const uint8_t id[SL_MSGID_LEN], uint64_t now_ms);

#endif

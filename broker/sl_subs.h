/*  sl_subs — durable subscriptions (consumer, record type, purpose).
 *
 *  Stored in broker.subs and mirrored in memory, so routing a publish is a
 *  scan of the in-memory list for its record type. Same abort rule as the
 *  registry: on a batch abort, sl_subs_reload().
 */
#ifndef SL_SUBS_H
#define SL_SUBS_H

#include <lmdb.h>
#include <stddef.h>

#include "sl_store.h"

#define SL_PURPOSE_MAX 64
#define SL_TYPE_MAX 64

typedef struct {
    char consumer[33];
    char record_type[SL_TYPE_MAX + 1];
    char purpose[SL_PURPOSE_MAX + 1];
} sl_sub_t;

typedef struct sl_subs_t sl_subs_t;

/*  Loads the subscriptions from `store` (borrowed). NULL on failure. */
sl_subs_t *sl_subs_new (sl_store_t *store);
void sl_subs_destroy (sl_subs_t **self_p);
int sl_subs_reload (sl_subs_t *self);

/*  True if `purpose` is a purpose word: [a-z0-9][a-z0-9-]*, <= 64 chars. */
int sl_subs_valid_purpose (const char *purpose);

/*  Adds a subscription in `txn`. Returns 0 (also when it already existed:
 *  then *created = 0), SL_EINVAL for over-long fields, SL_EFULL / SL_ESTORE. */
int sl_subs_add (sl_subs_t *self, MDB_txn *txn, const char *consumer,
                 const char *record_type, const char *purpose, int *created);

/*  Removes one. Returns 0, SL_ENOTFOUND, SL_ESTORE. */
int sl_subs_remove (sl_subs_t *self, MDB_txn *txn, const char *consumer,
                    const char *record_type, const char *purpose);

/*  Number of subscriptions and the i-th. Pointers borrowed until the next
 *  add/remove/reload. */
size_t sl_subs_count (sl_subs_t *self);
const sl_sub_t *sl_subs_at (sl_subs_t *self, size_t i);

/*  True if `consumer` has any subscription. */
int sl_subs_has_consumer (sl_subs_t *self, const char *consumer);

#endif

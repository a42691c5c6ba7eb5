/*  sl_registry — the member registry: name, role, CURVE public key, revoked.
 *
 *  Stored in broker.members (see sl_store.h) and mirrored in memory for the
 *  ZAP handler and per-message checks. Writes go to LMDB inside the batch
 *  transaction and to the mirror at once; if that transaction aborts, call
 *  sl_registry_reload() (the broker does so from its batch listener).
 */
#ifndef SL_REGISTRY_H
#define SL_REGISTRY_H

#include <lmdb.h>
#include <stddef.h>

#include "sl_keys.h"
#include "sl_store.h"

#define SL_NAME_MAX 32
#define SL_ROLE_MAX 48

typedef struct {
    char name[SL_NAME_MAX + 1];
    char role[SL_ROLE_MAX + 1];
    char public_key[SL_KEY_Z85_LEN + 1];
    int revoked;
} sl_member_t;

typedef struct sl_registry_t sl_registry_t;

/*  Loads the registry from `store` (borrowed). NULL on failure. */
sl_registry_t *sl_registry_new (sl_store_t *store);
void sl_registry_destroy (sl_registry_t **self_p);

/*  For offline readers holding only a read transaction of the broker's
 *  environment (sluicectl audit, beside the audit library): calls `fn` for
 *  every member stored in broker.members as `txn` sees it (revoked ones
 *  too), by name; `fn` returns 0 to go on, non-zero to stop (that value is
 *  returned). The member is borrowed for the call. A store without the
 *  database has no members. Returns 0, fn's value, or SL_ESTORE. */
typedef int (sl_registry_member_fn) (void *arg, const sl_member_t *m);
int sl_registry_each (MDB_txn *txn, sl_registry_member_fn *fn, void *arg);

/*  Re-reads the mirror from committed data. Returns 0 or SL_ESTORE. */
int sl_registry_reload (sl_registry_t *self);

/*  True if `name` is a valid member name: [a-z0-9][a-z0-9_-]*, <= 32 chars. */
int sl_registry_valid_name (const char *name);

/*  True if `role` is member, auditor, consent-source, monitor (reads
 *  `status` only), admin:city or admin:<valid name>. */
int sl_registry_valid_role (const char *role);

/*  Adds a member in `txn`. A revoked member's name may be added again with a
 *  new key (key rotation: the new key and role replace the revoked ones; the
 *  member's queues, subscriptions and the records it owns stay with the
 *  name); a revoked key is never accepted again. Returns 0; SL_EINVAL (bad
 *  name, role or key; `err` says which); SL_EEXIST (name registered and not
 *  revoked, or key already registered); SL_EFULL / SL_ESTORE from LMDB. */
int sl_registry_add (sl_registry_t *self, MDB_txn *txn, const char *name,
                     const char *role, const char *public_key, char *err, size_t errlen);

/*  Marks `name` revoked in `txn`. Returns 0, SL_ENOTFOUND, SL_EFULL, SL_ESTORE. */
int sl_registry_revoke (sl_registry_t *self, MDB_txn *txn, const char *name);

/*  Lookups. The pointer is borrowed until the next add/revoke/reload. NULL if
 *  none. Revoked members are returned too (check ->revoked). */
const sl_member_t *sl_registry_by_key (sl_registry_t *self, const char *public_key);
const sl_member_t *sl_registry_by_name (sl_registry_t *self, const char *name);

/*  Number of members and the i-th (names sorted at load; later additions
 *  appended). */
size_t sl_registry_count (sl_registry_t *self);
const sl_member_t *sl_registry_at (sl_registry_t *self, size_t i);

/*  Key rollover (a second key for a while; see the note in sl_registry.c).
 *
 *  sl_registry_for_key: the member a key authenticates as: its own record,
 *  or for a member's second key that member. NULL if unknown. Revoked
 *  members and retired keys are returned with ->revoked set. Borrowed like
 *  the lookups above.
 *
 *  sl_registry_key_add: gives active member `name` a second key in `txn`.
 *  Returns 0; SL_ENOTFOUND (no such active member), SL_EINVAL (bad key),
 *  SL_EEXIST (key registered anywhere, or the member holds two keys
 *  already); SL_EFULL / SL_ESTORE. `err` says which.
 *
 *  sl_registry_key_retire: retires the key of `name` whose fingerprint
 *  starts with `fingerprint` (8..16 hex digits); the other key stays (it
 *  becomes the member's key). The retired key is refused from the next
 *  handshake on and never accepted again. *retired_fp gets its full
 *  fingerprint. Returns 0; SL_ENOTFOUND; SL_EINVAL (it is the only key);
 *  SL_EFULL / SL_ESTORE.
 *
 *  sl_registry_keys: fingerprints of `name`'s active keys (its own first);
 *  returns how many (0..2). Cannot fail. */
const sl_member_t *sl_registry_for_key (sl_registry_t *self, const char *public_key);
int sl_registry_key_add (sl_registry_t *self, MDB_txn *txn, const char *name,
                         const char *public_key, char *err, size_t errlen);
int sl_registry_key_retire (sl_registry_t *self, MDB_txn *txn, const char *name,
                            const char *fingerprint, char retired_fp[17], char *err,
                            size_t errlen);
int sl_registry_keys (sl_registry_t *self, const char *name, char fps[2][17]);


#endif

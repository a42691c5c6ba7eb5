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

/*  True if `role` is allowed where `required` is asked: exact match, or
 *  `required` "admin:*" and role starts with "admin:", or `required` "*". */
int sl_registry_role_allows (const char *role, const char *required);

#endif

/*  sl_schema_store — the registered record types, every version of them,
 *  in LMDB, and what is put in force in the process's schema table
 *  (schemas/sl_schema.h).
 *
 *  Databases (inside the broker's environment):
 *
 *    schema.versions  record_type \0 version (u32 BE) -> packed
 *                     sluice.v1.SchemaVersion (schemas/sluice/v1/registry.proto)
 *    schema.current   record_type -> version (u32 BE)
 *
 *  Design notes:
 *
 *  1. Writes happen only in the broker's batch transaction (or, for
 *     `sluiced init --with-examples`, the init transaction); the store never
 *     begins or commits a write transaction after sl_schema_store_new().
 *  2. A registered version is put in force when its transaction commits
 *     (sl_schema_store_txn_outcome), never before: a publish decided in the
 *     same batch still sees the table the stored state describes. After the
 *     commit the `on_change` callback runs (the broker recompiles the
 *     policies in force against the new descriptors).
 *  3. Loading never stops the broker: a stored version that no longer
 *     builds (a set an older or newer build wrote with something this one
 *     does not read) is logged, counted and left out; its policies are then
 *     set aside by the policy store (never brick).
 *  4. Single-threaded: the broker's loop thread calls everything here.
 */
#ifndef SL_SCHEMA_STORE_H
#define SL_SCHEMA_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_schema.h"
#include "sluice/v1/registry.pb-c.h"

typedef struct sl_schema_store_t sl_schema_store_t;

/*  Opens (creating) schema.versions and schema.current in the write
 *  transaction `txn` (the caller commits it before other transactions use
 *  the store). Returns the store or NULL with *rc_p (may be NULL):
 *  SL_ESTORE, SL_ENOMEM. */
sl_schema_store_t *sl_schema_store_new (MDB_txn *txn, int *rc_p);

/*  For offline readers (sluicectl, on a store from sl_store_open_rdonly):
 *  the registered versions read in `txn`, a read transaction, through the
 *  same functions as the broker (sl_schema_store_load, _get,
 *  _each_version) — the only code that knows the layout above. A store
 *  where nothing was ever registered reads as empty. Nothing can be written
 *  through it. Returns the store or NULL with *rc_p: SL_ESTORE, SL_ENOMEM. */
sl_schema_store_t *sl_schema_store_open_rdonly (MDB_txn *txn, int *rc_p);

/*  Frees the store (not the table in force). Harmless on NULL. */
void sl_schema_store_destroy (sl_schema_store_t **self_p);

/*  Puts the current version of every stored record type in force, read in
 *  `txn`. Types that do not build are skipped (design note 3): their names
 *  and reasons go to `skipped` ("type: reason\n" lines, may be NULL, cut at
 *  `size`). Returns how many were put in force (>= 0), or SL_ESTORE /
 *  SL_ENOMEM. */
int sl_schema_store_load (sl_schema_store_t *self, MDB_txn *txn, char *skipped, size_t size);

/*  Called after a commit put new versions in force. */
typedef void (sl_schema_change_fn) (void *arg);
void sl_schema_store_on_change (sl_schema_store_t *self, sl_schema_change_fn *fn, void *arg);

/*  One record type of a registration, prepared and checked. */
typedef struct {
    sl_schema_t *entry;          /* built, not in force (NULL once written) */
    const sl_schema_t *prev;     /* the version in force, or NULL (new type) */
    uint32_t version;            /* the version it gets */
    bool unchanged;              /* same descriptor set as the version in force */
    int breaking;                /* breaking changes against prev (see report) */
    char touched[1024];          /* ",field,field,": top-level fields they touch */
    char *report;                /* sl_schema_evolve's text (malloc), or NULL */
} sl_schema_change_t;

/*  Prepares a registration: parses the FileDescriptorSet `set` (`len`
 *  bytes), takes the record types it declares (option (sluice.v1.record))
 *  or only `message` when given, checks each name, the caller's right
 *  (`role` admin:city, or admin:<bureau> for types of that bureau),
 *  builds it and compares it with the version in force (evolution rules).
 *  Nothing is written. Returns 0 and *changes (*n of them; free with
 *  sl_schema_changes_free); SL_EINVAL (bad set, name or options; no
 *  record type), SL_EPERM (namespace), SL_ENOMEM, with `err` saying what
 *  and where. Breaking changes are not an error here: see ->breaking. */
int sl_schema_store_prepare (sl_schema_store_t *self, MDB_txn *txn, const uint8_t *set,
                             size_t len, const char *message, const char *role,
                             sl_schema_change_t **changes, size_t *n, char *err, size_t errlen);

void sl_schema_changes_free (sl_schema_change_t *changes, size_t n);

/*  Stores change `c` as a new version in `txn` (by `actor` with `role`,
 *  from `file`, `breaking` as given) and keeps its entry pending until the
 *  commit (design note 2). Returns 0, SL_EFULL / SL_ESTORE (the caller
 *  aborts `txn`), SL_ENOMEM. */
int sl_schema_store_write (sl_schema_store_t *self, MDB_txn *txn, sl_schema_change_t *c,
                           const char *actor, const char *role, const char *file,
                           bool breaking);

/*  Loads `record_type`'s `version` (0 = current). Returns 0 and *out
 *  (free with sluice__v1__schema_version__free_unpacked (*out, NULL));
 *  SL_ENOTFOUND, SL_ECORRUPT, SL_ESTORE. */
int sl_schema_store_get (sl_schema_store_t *self, MDB_txn *txn, const char *record_type,
                         uint32_t version, Sluice__V1__SchemaVersion **out);

/*  Every stored version of `record_type`, oldest first; `fn` returns
 *  non-zero to stop. Returns 0, fn's value, SL_ECORRUPT, SL_ESTORE. */
typedef int (sl_schema_version_fn) (void *arg, const Sluice__V1__SchemaVersion *v);
int sl_schema_store_each_version (sl_schema_store_t *self, MDB_txn *txn,
                                  const char *record_type, sl_schema_version_fn *fn, void *arg);

/*  Registers, as version 1 by `actor` (role admin:city), every record type
 *  of the FileDescriptorSet file `path` that is not stored yet, in `txn`
 *  (`sluiced init --with-examples`). Returns how many (>= 0) or SL_EIO /
 *  SL_EINVAL / SL_ESTORE with `err` saying why. */
int sl_schema_store_register_file (sl_schema_store_t *self, MDB_txn *txn, const char *path,
                                   const char *actor, char *err, size_t errlen);

/*  The batch outcome listener (ctx = the store): puts pending versions in
 *  force after a commit (then runs on_change), drops them after an abort.
 *  Cannot fail. */
void sl_schema_store_txn_outcome (void *ctx, int committed);

#endif

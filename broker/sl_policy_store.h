/*  sl_policy_store — the owners' policy texts, every version of them, in
 *  LMDB, and the compiled decision index the broker decides with.
 *
 *  Owners: a bureau name ("water") holds the text written by admin:water;
 *  "city" (SL_POLICY_CITY) holds the purpose declarations and city-wide
 *  forbids written by admin:city. Each apply stores a new version (1, 2, …)
 *  of that owner's text; the current version of every owner, parsed into one
 *  set (city first, then bureaus by name), checked and compiled, is the
 *  index in force.
 *
 *  Databases (inside the broker's environment):
 *
 *    policy.versions  owner \0 version (u32 BE) -> JSON object
 *                     {"owner","version","actor","role","time" (Unix s),
 *                      "file","text","summary" (sl_policy_set_summary JSON),
 *                      "changes" (text, e.g. "+a ~b -c")}
 *    policy.current   owner -> version (u32 BE)
 *
 *  Design notes:
 *
 *  1. Writes happen only in the broker's batch transaction (sl_batch) given
 *     to sl_policy_store_apply(); the store never begins, commits or aborts a
 *     write transaction after sl_policy_store_new().
 *  2. A non-dry apply compiles the new index at once but keeps it pending:
 *     it becomes the index in force only when the batch commits
 *     (sl_policy_store_txn_outcome with committed=1), and is dropped if the
 *     batch aborts. Decisions made in the same batch before the commit still
 *     use the old index, which is what the stored state says until then.
 *  3. The swap replaces the whole index; connections and queues are not
 *     touched. Everything queued is decided again at delivery against the
 *     index then in force, so a removed rule stops queued records.
 *  4. Apply is atomic: any syntax, schema, registry or role error and
 *     nothing is written, the index in force stays.
 *
 *  Single-threaded: the broker's loop thread calls everything here.
 */
#ifndef SL_POLICY_STORE_H
#define SL_POLICY_STORE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_policy.h"

#define SL_POLICY_CITY "city"
#define SL_POLICY_OWNER_MAX 32
#define SL_POLICY_ASIDE_MAX 64

typedef struct sl_policy_store_t sl_policy_store_t;
typedef struct sl_registry_t sl_registry_t;

/*  Opens (creating) policy.versions and policy.current in `txn`, a write
 *  transaction the caller commits before using the store in other
 *  transactions (LMDB rule for new db handles). `registry` (borrowed, may be
 *  NULL: no members known) gives the members for the checker's catalogue.
 *  Returns the store, or NULL with *rc_p (may be NULL) set: SL_ESTORE,
 *  SL_ENOMEM. The index in force starts empty (everything denied) until
 *  sl_policy_store_load(). */
sl_policy_store_t *sl_policy_store_new (MDB_txn *txn, sl_registry_t *registry, int *rc_p);

/*  For offline readers (sluicectl, on a store from sl_store_open_rdonly):
 *  the stored versions read in `txn`, a read transaction, through the same
 *  functions as the broker (sl_policy_store_current, _get, _each_owner,
 *  _each_version, _compile_at) — the only code that knows the layout above.
 *  The database handles are valid in `txn` (and in later transactions once
 *  a write transaction that opened them committed). A store where no policy
 *  was ever applied reads as empty. Nothing can be applied through it.
 *  Returns the store, or NULL with *rc_p (may be NULL) set: SL_ESTORE,
 *  SL_ENOMEM. */
sl_policy_store_t *sl_policy_store_open_rdonly (MDB_txn *txn, sl_registry_t *registry,
                                                int *rc_p);

/*  Frees the store and its indexes. Sets *self_p to NULL; harmless on NULL. */
void sl_policy_store_destroy (sl_policy_store_t **self_p);

/*  Parses, checks and compiles the current version of every owner read in
 *  `txn` (read or write) and puts the result in force at once. Problems go
 *  to `diags` (may be NULL). Never brick: when the stored set no longer
 *  checks (a record type or field it names is not registered, a member is
 *  gone), each owner whose text makes it fail is set aside (logged
 *  policy.set-aside; see sl_policy_store_aside_*) and the others are put in
 *  force. Set-aside owners are left out of later applies too, until a load
 *  finds that they check again (each load retries them all). Returns 0;
 *  SL_EINVAL only if what remains still does not check; SL_ESTORE,
 *  SL_ECORRUPT, SL_ENOMEM. */
int sl_policy_store_load (sl_policy_store_t *self, MDB_txn *txn, sl_policy_diags_t *diags);

/*  The owners set aside by the last load: how many, the i-th (its version
 *  in *version), and the errors that set them aside ("OWNER version N set
 *  aside:\nFILE:LINE:COL: error: ...\n"). Borrowed until the next load.
 *  Cannot fail. */
size_t sl_policy_store_aside_count (const sl_policy_store_t *self);
const char *sl_policy_store_aside_owner (const sl_policy_store_t *self, size_t i,
                                         uint32_t *version);
const char *sl_policy_store_aside_text (const sl_policy_store_t *self);

/*  The one compile path for "what if": the index the broker would decide
 *  with if `owner` were at `version` (0: no policy of that owner) and every
 *  other owner (not set aside) at its current version, checked against the
 *  same catalogue as load and apply (every registered member, revoked ones
 *  included). policy.diff, rollback checks and explain-at-version use it.
 *  Returns 0 and *index_p (caller destroys); SL_ENOTFOUND (no such
 *  version), SL_EINVAL (that combination does not check; diags say why),
 *  SL_ESTORE, SL_ECORRUPT, SL_ENOMEM. */
int sl_policy_store_compile_at (sl_policy_store_t *self, MDB_txn *txn, const char *owner,
                                uint32_t version, sl_policy_diags_t *diags,
                                sl_policy_index_t **index_p);

/*  Checks the current version of every owner (not set aside) against the
 *  record types in force now, without changing anything: what a schema
 *  registration must keep true. Errors go to `diags`. Returns 0, SL_EINVAL,
 *  SL_ESTORE, SL_ENOMEM. */
int sl_policy_store_check (sl_policy_store_t *self, MDB_txn *txn, sl_policy_diags_t *diags);

/*  The index in force. Borrowed: valid until the next commit of an apply
 *  (the swap) or the store's destruction; never NULL (an empty index denies
 *  everything). Decisions must not keep pointers into it across loop turns. */
const sl_policy_index_t *sl_policy_store_index (const sl_policy_store_t *self);

/*  A counter that grows each time a new index is put in force. Cannot fail. */
uint64_t sl_policy_store_generation (const sl_policy_store_t *self);

/*  What an apply did (or, dry run, would do). */
typedef struct {
    char owner[SL_POLICY_OWNER_MAX + 1];
    uint32_t previous;           /* the version in force before (0 = none) */
    uint32_t version;            /* the new version (dry run: the one it would get) */
    size_t rules;                /* rules in the new text */
    char *summary;               /* sl_policy_set_summary of the new text (malloc) */
    char *changes;               /* "+id ~id -id" against the previous version (malloc;
                                    "" when the rules did not change) */
    /*  Dry run only: the index the whole set would compile to (caller owns;
     *  compare with sl_policy_store_index() using sl_policy_diff_new). NULL
     *  after a real apply. */
    sl_policy_index_t *index;
    /*  On failure: what was wrong when it is not about a place in the text
     *  (owner, role, storage), "" otherwise (see diags). */
    char error[256];
} sl_policy_apply_result_t;

/*  Frees the strings and index of a result (not the struct). Cannot fail. */
void sl_policy_apply_result_clear (sl_policy_apply_result_t *result);

/*  Applies `text` (`len` bytes) as the new policy of `owner`, by `actor`
 *  holding `role`, in the batch write transaction `txn`. `file` names the
 *  text in errors (NULL: "<owner>.policy").
 *
 *  Checks, all in one pass (every error goes to `diags` as
 *  FILE:LINE:COL, see sl_policy_diags_render): `owner` is "city" or a bureau
 *  of the schema registry; `role` is "admin:<owner>" (SL_EPERM otherwise);
 *  syntax; sl_policy_set_check_role(new text, role); the whole set (the
 *  other owners' current texts plus this one) against the schemas and the
 *  catalogue (members of the registry, purposes declared in the set).
 *
 *  dry_run: nothing is written; result->index holds what would be in force.
 *  Otherwise the version is stored (policy.versions, policy.current) in
 *  `txn` and the compiled index goes in force when the batch commits (design
 *  note 2). Auditing is the caller's (same transaction).
 *
 *  Returns 0 and fills *result (clear it with sl_policy_apply_result_clear);
 *  SL_EINVAL (bad owner, syntax, check errors: see diags), SL_EPERM (role),
 *  SL_EFULL / SL_ESTORE (LMDB; the caller must abort `txn`), SL_ENOMEM. */
int sl_policy_store_apply (sl_policy_store_t *self, MDB_txn *txn,
                           const char *owner, const char *file,
                           const char *text, size_t len,
                           const char *actor, const char *role, int dry_run,
                           sl_policy_diags_t *diags,
                           sl_policy_apply_result_t *result);

/*  Rollback: applies the text of `owner`'s stored `version` as a new version
 *  (history is never rewritten), exactly as sl_policy_store_apply with that
 *  text (same checks: the old text must still check against today's
 *  registry and the other owners' policies). Returns as apply, plus
 *  SL_ENOTFOUND if that version does not exist. */
int sl_policy_store_rollback (sl_policy_store_t *self, MDB_txn *txn,
                              const char *owner, uint32_t version,
                              const char *actor, const char *role, int dry_run,
                              sl_policy_diags_t *diags,
                              sl_policy_apply_result_t *result);

/*  One stored version. */
typedef struct {
    char owner[SL_POLICY_OWNER_MAX + 1];
    uint32_t version;
    char actor[64];
    char role[64];
    int64_t time;                /* Unix seconds UTC */
    char file[256];
    char *text;                  /* malloc, NUL-terminated */
    char *summary;               /* malloc, JSON */
    char *changes;               /* malloc */
} sl_policy_version_t;

/*  Frees one (from sl_policy_store_get). Sets *self_p NULL; harmless on NULL. */
void sl_policy_version_destroy (sl_policy_version_t **self_p);

/*  Loads `owner`'s `version` (0 = the current one) read in `txn`. Returns 0
 *  and *out (caller owns); SL_ENOTFOUND; SL_ECORRUPT; SL_ESTORE; SL_ENOMEM. */
int sl_policy_store_get (sl_policy_store_t *self, MDB_txn *txn, const char *owner,
                         uint32_t version, sl_policy_version_t **out);

/*  The current version of `owner` (0 if it never applied one). Returns 0 or
 *  SL_ESTORE. */
int sl_policy_store_current (sl_policy_store_t *self, MDB_txn *txn, const char *owner,
                             uint32_t *version);

/*  Visitors: `fn` returns 0 to go on, non-zero to stop (that value is then
 *  returned). Borrowed arguments, for the call only. */
typedef int (sl_policy_owner_fn) (void *arg, const char *owner, uint32_t current);
typedef int (sl_policy_version_fn) (void *arg, const sl_policy_version_t *v);

/*  Every owner with a current version, by name. Returns 0, fn's value,
 *  SL_ESTORE. */
int sl_policy_store_each_owner (sl_policy_store_t *self, MDB_txn *txn,
                                sl_policy_owner_fn *fn, void *arg);

/*  Every stored version of `owner`, oldest first (history). Returns 0, fn's
 *  value, SL_ECORRUPT, SL_ESTORE, SL_ENOMEM. */
int sl_policy_store_each_version (sl_policy_store_t *self, MDB_txn *txn,
                                  const char *owner,
                                  sl_policy_version_fn *fn, void *arg);

/*  The batch outcome listener (sl_batch_listener_fn shape; ctx = the store):
 *  puts a pending index in force after a commit, drops it after an abort.
 *  Cannot fail. */
void sl_policy_store_txn_outcome (void *ctx, int committed);

#endif

/*  sl_policy_store_int — private to the policy store's files:
 *  sl_policy_store.c (the index in force: open, compile, load, never
 *  brick), sl_policy_versions.c (the stored format of policy.versions and
 *  policy.current: the only code that reads or writes those bytes) and
 *  sl_policy_apply.c (apply and rollback). Nothing else includes it.
 */
#ifndef SL_POLICY_STORE_INT_H
#define SL_POLICY_STORE_INT_H

#include <cJSON.h>

#include "sl_policy_store.h"

struct sl_policy_store_t {
    MDB_dbi versions, current;
    int absent;                    /* read-only open of a store where no policy was
                                      ever applied: no databases, nothing stored */
    sl_registry_t *registry;
    sl_policy_index_t *index;      /* in force, never NULL */
    sl_policy_index_t *pending;    /* compiled by an apply, waiting for commit */
    uint64_t generation;
    /* never brick: owners whose stored text no longer checks (a type or
       field it names is not registered), left out of the index in force */
    char aside[SL_POLICY_ASIDE_MAX][SL_POLICY_OWNER_MAX + 1];
    uint32_t aside_version[SL_POLICY_ASIDE_MAX];
    size_t n_aside;
    char *aside_text;
};

/* one current source while a set is built */
typedef struct {
    char owner[SL_POLICY_OWNER_MAX + 1];
    uint32_t version;
    char file[256];
    char *text;
} sl_policy_source_t;

/*  Big-endian u32 of a version key or of policy.current. Cannot fail. */
void sl_policy_u32_put (unsigned char *p, uint32_t v);
uint32_t sl_policy_u32_get (const unsigned char *p);
/*  Member `name` of JSON object `o` as a string, "" when absent. */
const char *sl_policy_json_str (const cJSON *o, const char *name);

/*  (sl_policy_versions.c) Writes version r->version of r->owner (text,
 *  file, actor, role, now, r->summary, r->changes) and makes it current,
 *  in write transaction `txn`. Returns 0, SL_ENOMEM, or as sl_lmdb_rc
 *  (SL_EEXIST: that version exists). */
int sl_policy_store_put_version (sl_policy_store_t *self, MDB_txn *txn,
                                 const sl_policy_apply_result_t *r, const char *file,
                                 const char *text, size_t len, const char *actor,
                                 const char *role);

/*  (sl_policy_store.c) The current text of every owner read in `txn`, city
 *  first then bureaus by name, into *out (*n of them; free with
 *  sl_policy_store_sources_free). Returns 0, SL_ENOMEM, SL_ESTORE,
 *  SL_ECORRUPT. */
int sl_policy_store_sources (sl_policy_store_t *self, MDB_txn *txn, sl_policy_source_t **out,
                             size_t *n);
void sl_policy_store_sources_free (sl_policy_source_t *src, size_t n);
/*  (sl_policy_store.c) Parses `src` (skipping `skip_owner`'s), then `extra`
 *  if given, into one set, checks and compiles it into *out. Returns 0,
 *  SL_EINVAL (errors in `diags`), SL_ENOMEM. */
int sl_policy_store_compile_sources (sl_policy_store_t *self, sl_policy_source_t *src, size_t n,
                                     const char *skip_owner, const sl_policy_source_t *extra,
                                     size_t extra_len, sl_policy_diags_t *diags,
                                     sl_policy_index_t **out);

#endif

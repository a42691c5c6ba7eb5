/*  sl_commit_admin — the commit pipeline's typed writes for the admin plane
 *  and for governance (sl_govern: consent events from the data plane, audit
 *  checkpoints): each one writes through the module that owns the stored
 *  format (registry, policy store, schema store, consent registry, audit
 *  log) in the batch's write transaction (sl_commit.h design note 1).
 *  Neither admin handlers nor sl_govern hold an MDB_txn for writing; they
 *  call these. An admin handler then sets call->wrote so the dispatcher
 *  commits (sl_commit_flush) before answering, or aborts (sl_commit_abort)
 *  when the handler fails after writing; sl_govern's writes join the open
 *  batch and commit with it.
 *
 *  Each function returns what the owning module's function returns, or
 *  SL_ESTORE when no write transaction can be begun. A failed write leaves
 *  the transaction unusable: the caller aborts it (the dispatcher does).
 */
#ifndef SL_COMMIT_ADMIN_H
#define SL_COMMIT_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_audit.h"
#include "sl_commit.h"
#include "sl_consent.h"
#include "sl_policy_store.h"
#include "sl_registry.h"
#include "sl_schema_store.h"


/*  Begins the batch's write transaction if none is open, so that a command
 *  can refuse ("store unavailable") before it changes anything. Returns 0
 *  or SL_ESTORE. */
int sl_commit_ready (sl_commit_t *self);

/*  sl_registry_add / sl_registry_revoke. */
int sl_commit_member_add (sl_commit_t *self, sl_registry_t *reg, const char *name,
                          const char *role, const char *public_key, char *err, size_t errlen);
int sl_commit_member_revoke (sl_commit_t *self, sl_registry_t *reg, const char *name);

/*  sl_registry_key_add / sl_registry_key_retire. */
int sl_commit_key_add (sl_commit_t *self, sl_registry_t *reg, const char *name,
                       const char *public_key, char *err, size_t errlen);
int sl_commit_key_retire (sl_commit_t *self, sl_registry_t *reg, const char *name,
                          const char *fingerprint, char retired_fp[17], char *err, size_t errlen);

/*  sl_policy_store_apply / sl_policy_store_rollback (a dry run writes
 *  nothing but still reads the pending state). */
int sl_commit_policy_apply (sl_commit_t *self, sl_policy_store_t *ps, const char *owner,
                            const char *file, const char *text, size_t len, const char *actor,
                            const char *role, int dry_run, sl_policy_diags_t *diags,
                            sl_policy_apply_result_t *result);
int sl_commit_policy_rollback (sl_commit_t *self, sl_policy_store_t *ps, const char *owner,
                               uint32_t version, const char *actor, const char *role,
                               int dry_run, sl_policy_diags_t *diags,
                               sl_policy_apply_result_t *result);

/*  sl_schema_store_write of one prepared change. */
int sl_commit_schema_write (sl_commit_t *self, sl_schema_store_t *store, sl_schema_change_t *c,
                            const char *actor, const char *role, const char *file,
                            bool breaking);

/*  sl_consent_apply (the caller writes the audit entry with
 *  sl_commit_audit_append in the same batch). */
int sl_commit_consent_apply (sl_commit_t *self, sl_consent_t *reg,
                             const Sluice__V1__ConsentEvent *event,
                             const sl_consent_actor_t *actor, int64_t now,
                             sl_consent_result_t *result, sl_consent_record_t **record_p);

/*  sl_audit_append (*seq_out may be NULL) / sl_audit_archive. */
int sl_commit_audit_append (sl_commit_t *self, sl_audit_t *audit, const sl_audit_event_t *ev,
                            uint64_t *seq_out);
int sl_commit_audit_archive (sl_commit_t *self, sl_audit_t *audit, int64_t before_us,
                             const char *out_dir, char *path_out, size_t path_size,
                             uint64_t *n_out);
/*  sl_audit_checkpoint: a signed checkpoint over the head (now_us 0: the
 *  current time). Governance's periodic and shutdown checkpoints. */
int sl_commit_audit_checkpoint (sl_commit_t *self, sl_audit_t *audit, int64_t now_us);

#endif

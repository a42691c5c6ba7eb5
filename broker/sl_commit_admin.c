/*  sl_commit_admin — see sl_commit_admin.h. */
#include "sl_commit_admin.h"
#include "sl_commit_int.h"

int
sl_commit_ready (sl_commit_t *self)
{
    MDB_txn *txn;
    return sl_commit_txn (self, &txn);
}

int
sl_commit_member_add (sl_commit_t *self, sl_registry_t *reg, const char *name, const char *role,
                      const char *public_key, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = sl_commit_txn (self, &txn);
    return rc == 0 ? sl_registry_add (reg, txn, name, role, public_key, err, errlen) : rc;
}

int
sl_commit_member_revoke (sl_commit_t *self, sl_registry_t *reg, const char *name)
{
    MDB_txn *txn;
    int rc = sl_commit_txn (self, &txn);
    return rc == 0 ? sl_registry_revoke (reg, txn, name) : rc;
}

int
sl_commit_key_add (sl_commit_t *self, sl_registry_t *reg, const char *name,
                   const char *public_key, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = sl_commit_txn (self, &txn);
    return rc == 0 ? sl_registry_key_add (reg, txn, name, public_key, err, errlen) : rc;
}

int
sl_commit_key_retire (sl_commit_t *self, sl_registry_t *reg, const char *name,
                      const char *fingerprint, char retired_fp[17], char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = sl_commit_txn (self, &txn);
    return rc == 0 ? sl_registry_key_retire (reg, txn, name, fingerprint, retired_fp, err, errlen)
                   : rc;
}

int
sl_commit_policy_apply (sl_commit_t *self, sl_policy_store_t *ps, const char *owner,
                        const char *file, const char *text, size_t len, const char *actor,
                        const char *role, int dry_run, sl_policy_diags_t *diags,
                        sl_policy_apply_result_t *result)
{
    MDB_txn *txn;
    int rc = sl_commit_txn (self, &txn);
    return rc == 0 ? sl_policy_store_apply (ps, txn, owner, file, text, len, actor, role, dry_run,
                                            diags, result)
                   : rc;
}

int
sl_commit_policy_rollback (sl_commit_t *self, sl_policy_store_t *ps, const char *owner,
                           uint32_t version, const char *actor, const char *role, int dry_run,
                           sl_policy_diags_t *diags, sl_policy_apply_result_t *result)
{
    MDB_txn *txn;
    int rc = sl_commit_txn (self, &txn);
    return rc == 0 ? sl_policy_store_rollback (ps, txn, owner, version, actor, role, dry_run,
                                               diags, result)
                   : rc;
}

int
sl_commit_schema_write (sl_commit_t *self, sl_schema_store_t *store, sl_schema_change_t *c,
                        const char *actor, const char *role, const char *file, bool breaking)
{
    MDB_txn *txn;
    int rc = sl_commit_txn (self, &txn);
    return rc == 0 ? sl_schema_store_write (store, txn, c, actor, role, file, breaking) : rc;
}

int
sl_commit_consent_apply (sl_commit_t *self, sl_consent_t *reg,
                         const Sluice__V1__ConsentEvent *event, const sl_consent_actor_t *actor,
                         int64_t now, sl_consent_result_t *result, sl_consent_record_t **record_p)
{
    MDB_txn *txn;
    int rc = sl_commit_txn (self, &txn);
    return rc == 0 ? sl_consent_apply (reg, txn, event, actor, now, result, record_p) : rc;
}

int
sl_commit_audit_append (sl_commit_t *self, sl_audit_t *audit, const sl_audit_event_t *ev,
                        uint64_t *seq_out)
{
    MDB_txn *txn;
    int rc = sl_commit_txn (self, &txn);
    return rc == 0 ? sl_audit_append (audit, txn, ev, seq_out) : rc;
}

int
sl_commit_audit_archive (sl_commit_t *self, sl_audit_t *audit, int64_t before_us,
                         const char *out_dir, char *path_out, size_t path_size, uint64_t *n_out)
{
    MDB_txn *txn;
    int rc = sl_commit_txn (self, &txn);
    return rc == 0 ? sl_audit_archive (audit, txn, before_us, out_dir, path_out, path_size, n_out)
                   : rc;
}

int
sl_commit_audit_checkpoint (sl_commit_t *self, sl_audit_t *audit, int64_t now_us)
{
    MDB_txn *txn;
    int rc = sl_commit_txn (self, &txn);
    return rc == 0 ? sl_audit_checkpoint (audit, txn, now_us) : rc;
}

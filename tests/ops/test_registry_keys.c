/*  sl_registry key rollover: a second key authenticates as the member, the
 *  retired key is refused for ever, the last key cannot be retired, the
 *  state survives a reopen. Reads as the usage example of the functions. */
#include "unit_util.h"

#include "sl_batch.h"
#include "sl_error.h"
#include "sl_registry.h"

Test (registry_keys, second_key_then_retire_the_first)
{
    sl_store_t *st = u_store ();
    sl_registry_t *reg = sl_registry_new (st);
    sl_batch_t *b = sl_batch_new (st, 10, 1000);
    sl_keypair_t k1, k2, k3;
    sl_keys_generate (&k1);
    sl_keys_generate (&k2);
    sl_keys_generate (&k3);
    MDB_txn *txn;
    char err[300], fp1[17], fp2[17], retired[17], fps[2][17];
    sl_keys_fingerprint (k1.public_key, fp1);
    sl_keys_fingerprint (k2.public_key, fp2);
    sl_batch_txn (b, &txn);
    cr_assert_eq (sl_registry_add (reg, txn, "water", "member", k1.public_key, err, sizeof err), 0);
    cr_assert_eq (sl_registry_key_add (reg, txn, "water", k2.public_key, err, sizeof err), 0, "%s", err);
    /* both authenticate as water */
    cr_assert_str_eq (sl_registry_for_key (reg, k1.public_key)->name, "water");
    cr_assert_str_eq (sl_registry_for_key (reg, k2.public_key)->name, "water");
    cr_assert_null (sl_registry_for_key (reg, k3.public_key));
    cr_assert_eq (sl_registry_keys (reg, "water", fps), 2);
    cr_assert_str_eq (fps[0], fp1);
    cr_assert_str_eq (fps[1], fp2);
    /* at most two keys; a key in use cannot be added again; no such member */
    cr_assert_eq (sl_registry_key_add (reg, txn, "water", k3.public_key, err, sizeof err), SL_EEXIST);
    cr_assert (strstr (err, "two keys"), "%s", err);
    cr_assert_eq (sl_registry_key_add (reg, txn, "power", k3.public_key, err, sizeof err), SL_ENOTFOUND);
    cr_assert_eq (sl_registry_add (reg, txn, "power", "member", k2.public_key, err, sizeof err), SL_EEXIST);
    /* an unknown fingerprint is named */
    cr_assert_eq (sl_registry_key_retire (reg, txn, "water", "0000000000000000", retired, err, sizeof err),
                  SL_ENOTFOUND);
    cr_assert (strstr (err, fp1) && strstr (err, fp2), "%s", err);
    /* retire the first: the second becomes water's key */
    cr_assert_eq (sl_registry_key_retire (reg, txn, "water", fp1, retired, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (retired, fp1);
    cr_assert_eq (sl_batch_commit (b), 0);
    const sl_member_t *m = sl_registry_for_key (reg, k1.public_key);
    cr_assert (m == NULL || m->revoked, "the retired key still authenticates");
    cr_assert_str_eq (sl_registry_for_key (reg, k2.public_key)->name, "water");
    cr_assert_eq (sl_registry_by_name (reg, "water")->revoked, 0);
    cr_assert_eq (sl_registry_keys (reg, "water", fps), 1);
    /* the last key cannot be retired, the retired one never comes back */
    sl_batch_txn (b, &txn);
    cr_assert_eq (sl_registry_key_retire (reg, txn, "water", fp2, retired, err, sizeof err), SL_EINVAL);
    cr_assert (strstr (err, "only key"), "%s", err);
    cr_assert_eq (sl_registry_key_add (reg, txn, "water", k1.public_key, err, sizeof err), SL_EEXIST);
    cr_assert_eq (sl_batch_commit (b), 0);
    sl_registry_destroy (&reg);
    sl_batch_destroy (&b);

    /* persisted */
    st = u_reopen (&st);
    reg = sl_registry_new (st);
    cr_assert_str_eq (sl_registry_for_key (reg, k2.public_key)->name, "water");
    m = sl_registry_for_key (reg, k1.public_key);
    cr_assert (m == NULL || m->revoked);
    sl_registry_destroy (&reg);
    u_cleanup (&st);
}

Test (registry_keys, retiring_the_second_key_keeps_the_first)
{
    sl_store_t *st = u_store ();
    sl_registry_t *reg = sl_registry_new (st);
    sl_batch_t *b = sl_batch_new (st, 10, 1000);
    sl_keypair_t k1, k2;
    sl_keys_generate (&k1);
    sl_keys_generate (&k2);
    MDB_txn *txn;
    char err[300], fp2[17], retired[17];
    sl_keys_fingerprint (k2.public_key, fp2);
    sl_batch_txn (b, &txn);
    cr_assert_eq (sl_registry_add (reg, txn, "admin-water", "admin:water", k1.public_key, err, sizeof err), 0);
    cr_assert_eq (sl_registry_key_add (reg, txn, "admin-water", k2.public_key, err, sizeof err), 0);
    /* the second key carries the member's role */
    cr_assert_str_eq (sl_registry_by_key (reg, k2.public_key)->role, "admin:water");
    cr_assert_eq (sl_registry_key_retire (reg, txn, "admin-water", fp2, retired, err, sizeof err), 0);
    cr_assert_eq (sl_batch_commit (b), 0);
    cr_assert_str_eq (sl_registry_by_name (reg, "admin-water")->public_key, k1.public_key);
    const sl_member_t *m = sl_registry_for_key (reg, k2.public_key);
    cr_assert (m == NULL || m->revoked);
    sl_registry_destroy (&reg);
    sl_batch_destroy (&b);
    u_cleanup (&st);
}

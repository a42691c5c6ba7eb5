/*  sl_registry: members, validation, revocation, persistence. */
#include "unit_util.h"

#include "sl_batch.h"
#include "sl_error.h"
#include "sl_registry.h"

Test (registry, add_lookup_revoke_persist)
{
    sl_store_t *st = u_store ();
    sl_registry_t *reg = sl_registry_new (st);
    sl_batch_t *b = sl_batch_new (st, 10, 1000);
    sl_keypair_t k1, k2;
    sl_keys_generate (&k1);
    sl_keys_generate (&k2);
    MDB_txn *txn;
    char err[256];
    sl_batch_txn (b, &txn);
    cr_assert_eq (sl_registry_add (reg, txn, "water", "member", k1.public_key, err, sizeof err), 0);
    cr_assert_eq (sl_registry_add (reg, txn, "water", "member", k2.public_key, err, sizeof err), SL_EEXIST);
    cr_assert (strstr (err, "already exists"));
    cr_assert_eq (sl_registry_add (reg, txn, "water2", "member", k1.public_key, err, sizeof err), SL_EEXIST);
    cr_assert (strstr (err, "'water'"), "%s", err);
    cr_assert_eq (sl_registry_add (reg, txn, "Water", "member", k2.public_key, err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_registry_add (reg, txn, "power", "superuser", k2.public_key, err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_registry_add (reg, txn, "power", "member", "short", err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_registry_add (reg, txn, "power", "admin:power", k2.public_key, err, sizeof err), 0);
    cr_assert_eq (sl_batch_commit (b), 0);

    const sl_member_t *m = sl_registry_by_key (reg, k1.public_key);
    cr_assert_not_null (m);
    cr_assert_str_eq (m->name, "water");
    cr_assert_eq (m->revoked, 0);

    sl_batch_txn (b, &txn);
    cr_assert_eq (sl_registry_revoke (reg, txn, "water"), 0);
    cr_assert_eq (sl_registry_revoke (reg, txn, "nobody"), SL_ENOTFOUND);
    cr_assert_eq (sl_batch_commit (b), 0);
    sl_registry_destroy (&reg);
    sl_batch_destroy (&b);

    st = u_reopen (&st);
    reg = sl_registry_new (st);
    cr_assert_eq (sl_registry_count (reg), 2);
    m = sl_registry_by_name (reg, "water");
    cr_assert_not_null (m);
    cr_assert_eq (m->revoked, 1, "revocation not persisted");
    cr_assert_str_eq (m->public_key, k1.public_key);
    m = sl_registry_by_name (reg, "power");
    cr_assert_str_eq (m->role, "admin:power");
    sl_registry_destroy (&reg);
    u_cleanup (&st);
}

Test (registry, reload_drops_aborted_additions)
{
    sl_store_t *st = u_store ();
    sl_registry_t *reg = sl_registry_new (st);
    sl_batch_t *b = sl_batch_new (st, 10, 1000);
    sl_keypair_t k;
    sl_keys_generate (&k);
    MDB_txn *txn;
    char err[256];
    sl_batch_txn (b, &txn);
    cr_assert_eq (sl_registry_add (reg, txn, "water", "member", k.public_key, err, sizeof err), 0);
    cr_assert_not_null (sl_registry_by_name (reg, "water"));
    sl_batch_abort (b);
    cr_assert_eq (sl_registry_reload (reg), 0);
    cr_assert_null (sl_registry_by_name (reg, "water"));
    sl_batch_destroy (&b);
    sl_registry_destroy (&reg);
    u_cleanup (&st);
}

Test (registry, names_and_roles)
{
    cr_assert (sl_registry_valid_name ("water"));
    cr_assert (sl_registry_valid_name ("city-2_b"));
    cr_assert_not (sl_registry_valid_name (""));
    cr_assert_not (sl_registry_valid_name ("-water"));
    cr_assert_not (sl_registry_valid_name ("wa ter"));
    cr_assert_not (sl_registry_valid_name ("abcdefghijabcdefghijabcdefghijabc"));   /* 33 */
    cr_assert (sl_registry_valid_role ("admin:city"));
    cr_assert (sl_registry_valid_role ("admin:water"));
    cr_assert (sl_registry_valid_role ("consent-source"));
    cr_assert_not (sl_registry_valid_role ("admin:"));
    cr_assert_not (sl_registry_valid_role ("root"));
    cr_assert (sl_registry_valid_role ("monitor"));
    cr_assert_not (sl_registry_valid_role ("admin:Water"));
}

typedef struct {
    int n, revoked;
    char names[4][SL_NAME_MAX + SL_ROLE_MAX + 2];
} seen_t;

static int
seen (void *arg, const sl_member_t *m)
{
    seen_t *s = arg;
    if (s->n < 4)
        snprintf (s->names[s->n], sizeof s->names[0], "%s/%s", m->name, m->role);
    s->n++;
    s->revoked += m->revoked;
    return 0;
}

/*  The offline reader (sluicectl audit --consumer) sees every stored member
 *  through the registry's own decoder, revoked ones too, by name. */
Test (registry, each_reads_members_in_a_transaction)
{
    sl_store_t *st = u_store ();
    sl_registry_t *reg = sl_registry_new (st);
    sl_batch_t *b = sl_batch_new (st, 10, 1000);
    sl_keypair_t k1, k2;
    sl_keys_generate (&k1);
    sl_keys_generate (&k2);
    MDB_txn *txn;
    char err[256];
    sl_batch_txn (b, &txn);
    cr_assert_eq (sl_registry_add (reg, txn, "water", "admin:water", k1.public_key, err, sizeof err), 0);
    cr_assert_eq (sl_registry_add (reg, txn, "power", "member", k2.public_key, err, sizeof err), 0);
    cr_assert_eq (sl_registry_revoke (reg, txn, "power"), 0);
    cr_assert_eq (sl_batch_commit (b), 0);
    cr_assert_eq (sl_store_read (st, &txn), 0);
    seen_t s = { 0 };
    cr_assert_eq (sl_registry_each (txn, seen, &s), 0);
    mdb_txn_abort (txn);
    cr_assert_eq (s.n, 2);
    cr_assert_str_eq (s.names[0], "power/member");
    cr_assert_str_eq (s.names[1], "water/admin:water");
    cr_assert_eq (s.revoked, 1);
    sl_batch_destroy (&b);
    sl_registry_destroy (&reg);
    u_cleanup (&st);
}

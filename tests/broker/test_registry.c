/*  sl_registry: members, validation, revocation, persistence. */
#include "tu.h"

#include "sl_error.h"
#include "sl_registry.h"

Test (registry, add_lookup_revoke_persist)
{
    tu_t r;
    tu_reg_open (&r);
    char err[256];
    cr_assert_eq (sl_registry_add (r.reg, r.txn, "water", "member", r.k1.public_key, err, sizeof err), 0);
    cr_assert_eq (sl_registry_add (r.reg, r.txn, "water", "member", r.k2.public_key, err, sizeof err), SL_EEXIST);
    cr_assert (strstr (err, "already exists"));
    cr_assert_eq (sl_registry_add (r.reg, r.txn, "water2", "member", r.k1.public_key, err, sizeof err), SL_EEXIST);
    cr_assert (strstr (err, "'water'"), "%s", err);
    cr_assert_eq (sl_registry_add (r.reg, r.txn, "Water", "member", r.k2.public_key, err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_registry_add (r.reg, r.txn, "power", "superuser", r.k2.public_key, err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_registry_add (r.reg, r.txn, "power", "member", "short", err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_registry_add (r.reg, r.txn, "power", "admin:power", r.k2.public_key, err, sizeof err), 0);
    cr_assert_eq (sl_batch_commit (r.b), 0);

    const sl_member_t *m = sl_registry_by_key (r.reg, r.k1.public_key);
    cr_assert_not_null (m);
    cr_assert_str_eq (m->name, "water");
    cr_assert_eq (m->revoked, 0);

    sl_batch_txn (r.b, &r.txn);
    cr_assert_eq (sl_registry_revoke (r.reg, r.txn, "water"), 0);
    cr_assert_eq (sl_registry_revoke (r.reg, r.txn, "nobody"), SL_ENOTFOUND);
    cr_assert_eq (sl_batch_commit (r.b), 0);
    sl_registry_destroy (&r.reg);
    sl_batch_destroy (&r.b);

    r.st = u_reopen (&r.st);
    r.reg = sl_registry_new (r.st);
    cr_assert_eq (sl_registry_count (r.reg), 2);
    m = sl_registry_by_name (r.reg, "water");
    cr_assert_not_null (m);
    cr_assert_eq (m->revoked, 1, "revocation not persisted");
    cr_assert_str_eq (m->public_key, r.k1.public_key);
    m = sl_registry_by_name (r.reg, "power");
    cr_assert_str_eq (m->role, "admin:power");
    tu_close (&r);
}

Test (registry, reload_drops_aborted_additions)
{
    tu_t r;
    tu_reg_open (&r);
    char err[256];
    cr_assert_eq (sl_registry_add (r.reg, r.txn, "water", "member", r.k1.public_key, err, sizeof err), 0);
    cr_assert_not_null (sl_registry_by_name (r.reg, "water"));
    sl_batch_abort (r.b);
    cr_assert_eq (sl_registry_reload (r.reg), 0);
    cr_assert_null (sl_registry_by_name (r.reg, "water"));
    tu_close (&r);
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
    tu_t r;
    tu_reg_open (&r);
    char err[256];
    cr_assert_eq (sl_registry_add (r.reg, r.txn, "water", "admin:water", r.k1.public_key, err, sizeof err), 0);
    cr_assert_eq (sl_registry_add (r.reg, r.txn, "power", "member", r.k2.public_key, err, sizeof err), 0);
    cr_assert_eq (sl_registry_revoke (r.reg, r.txn, "power"), 0);
    cr_assert_eq (sl_batch_commit (r.b), 0);
    cr_assert_eq (sl_store_read (r.st, &r.txn), 0);
    seen_t s = { 0 };
    cr_assert_eq (sl_registry_each (r.txn, seen, &s), 0);
    mdb_txn_abort (r.txn);
    cr_assert_eq (s.n, 2);
    cr_assert_str_eq (s.names[0], "power/member");
    cr_assert_str_eq (s.names[1], "water/admin:water");
    cr_assert_eq (s.revoked, 1);
    tu_close (&r);
}

/*  sl_consent_entry: one audit entry shape for a consent change, whichever
 *  plane applied it (broker/sl_consent_entry.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "fixture.h"
#include "sl_consent_entry.h"

static fx_t fx;
static void setup (void) { fx_open (&fx, 64u << 20, MDB_NOSYNC); }
static void teardown (void) { fx_close (&fx); }
TestSuite (consent_entry, .init = setup, .fini = teardown);

static void
s_apply (fx_event_t *e, const sl_consent_actor_t *actor, int64_t now,
         sl_consent_result_t *r, sl_consent_record_t **rec)
{
    MDB_txn *txn = fx_write (&fx);
    cr_assert_eq (sl_consent_apply (fx.registry, txn, &e->ev, actor, now, r, rec), 0, "%s", r->error);
    fx_commit (txn);
}

Test (consent_entry, both_planes_give_the_same_entry)
{
    fx_event_t e;
    sl_consent_result_t r;
    sl_consent_record_t *rec = NULL;
    fx_grant (&e, "c1", "CIT-1", 1000, 5000);
    s_apply (&e, &fx_app, 1000, &r, &rec);
    sl_consent_entry_buf_t b1, b2;
    sl_audit_event_t data, admin;
    sl_consent_entry (&data, &b1, &r, rec, "registry", NULL);
    sl_consent_entry (&admin, &b2, &r, rec, "registry", NULL);
    cr_assert_str_eq (data.kind, SL_AUDIT_CONSENT_GRANT);
    cr_assert_str_eq (data.owner, "health");
    cr_assert_str_eq (data.counterpart, "parking");
    cr_assert_str_eq (data.subject, "CIT-1");
    cr_assert_str_eq (data.purpose, "parking-fee-waiver");
    cr_assert_str_eq (data.record_type, "health.v1.Encounter");
    cr_assert_str_eq (data.decision, "ok");
    cr_assert_str_eq (data.detail, "consent=c1");
    cr_assert_null (data.reason);
    cr_assert_str_eq (admin.detail, data.detail);
    cr_assert_str_eq (admin.record_type, data.record_type);
    sl_consent_record_destroy (&rec);

    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN, "c1");
    s_apply (&e, &fx_health_admin, 1500, &r, &rec);
    sl_consent_entry (&admin, &b2, &r, rec, "admin-health", "patient asked");
    cr_assert_str_eq (admin.kind, SL_AUDIT_CONSENT_WITHDRAW);
    cr_assert_str_eq (admin.actor, "admin-health");
    cr_assert_str_eq (admin.reason, "patient asked");
    sl_consent_record_destroy (&rec);
}

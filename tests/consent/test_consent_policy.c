/*  The consent registry behind the real policy engine: a `consent required`
 *  permit decided with sl_consent_status as the policy's consent callback,
 *  over real LMDB. Also proves sl_policy.h and sl_consent.h can be included
 *  together. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sl_policy.h"
#include "fixture.h"
#include "sl_error.h"

static fx_t fx;
static sl_policy_index_t *ix;

static const char *s_policy =
    "permit \"health-visit-parking-waiver\" {\n"
    "  owner health consumer parking records health.v1.Encounter\n"
    "  purpose parking-fee-waiver fields status, period_start subject keep\n"
    "  consent required\n"
    "}\n";

static void
setup (void)
{
    fx_open (&fx, 64u << 20, MDB_NOSYNC);
    sl_policy_catalog_t *cat = sl_policy_catalog_new ();
    cr_assert_eq (sl_policy_catalog_add_member (cat, "health", "member"), 0);
    cr_assert_eq (sl_policy_catalog_add_member (cat, "parking", "member"), 0);
    cr_assert_eq (sl_policy_catalog_add_purpose (cat, "parking-fee-waiver", "fee waiver"), 0);
    sl_policy_diags_t *d = sl_policy_diags_new ();
    sl_policy_set_t *set = sl_policy_set_new ();
    int prc = sl_policy_set_parse (set, "t.policy", s_policy, strlen (s_policy), 1, d);
    int crc = sl_policy_set_check (set, cat, d);
    char *errs = sl_policy_diags_render (d);
    cr_assert (prc == 0 && crc == 0, "policy: %s", errs);
    free (errs);
    ix = sl_policy_index_new (set, NULL);
    cr_assert_not_null (ix);
    sl_policy_set_destroy (&set);
    sl_policy_diags_destroy (&d);
    sl_policy_catalog_destroy (&cat);
}

static void
teardown (void)
{
    sl_policy_index_destroy (&ix);
    fx_close (&fx);
}

TestSuite (policy, .init = setup, .fini = teardown, .timeout = 20);

/*  The adapter a broker writes: one cast between the two enums. */
static sl_consent_status_t
s_consent (void *b, const char *subject, const char *owner, const char *consumer,
           const char *purpose, const char *record_type, int64_t at)
{
    return (sl_consent_status_t) sl_consent_status (b, subject, owner, consumer, purpose,
                                                    record_type, at);
}

static sl_policy_decision_t
s_decide (const char *subject, int64_t at)
{
    MDB_txn *txn = fx_read (&fx);
    sl_consent_binding_t b = { fx.registry, txn };
    sl_policy_request_t req = {
        .owner = "health", .consumer = "parking", .record_type = "health.v1.Encounter",
        .purpose = "parking-fee-waiver", .subject = subject, .time = at,
        .consent = s_consent, .consent_arg = &b,
    };
    sl_policy_decision_t d;
    cr_assert_eq (sl_policy_decide (ix, &req, &d), 0);
    mdb_txn_abort (txn);
    return d;
}

static void
s_apply (fx_event_t *e, int64_t now)
{
    MDB_txn *txn = fx_write (&fx);
    sl_consent_result_t r;
    cr_assert_eq (sl_consent_apply (fx.registry, txn, &e->ev, &fx_app, now, &r, NULL), 0,
                  "%s", r.error);
    fx_commit (txn);
}

Test (policy, values_agree_between_the_two_enums)
{
    cr_assert_eq ((int) SL_CONSENT_STATUS_VALID, (int) SL_CONSENT_VALID);
    cr_assert_eq ((int) SL_CONSENT_STATUS_MISSING, (int) SL_CONSENT_MISSING);
    cr_assert_eq ((int) SL_CONSENT_STATUS_EXPIRED, (int) SL_CONSENT_EXPIRED);
    cr_assert_eq ((int) SL_CONSENT_STATUS_WITHDRAWN, (int) SL_CONSENT_WITHDRAWN);
}

Test (policy, hospital_visit_permitted_with_consent_denied_after_withdrawal)
{
    sl_policy_decision_t d = s_decide ("CIT-1", 1500);
    cr_assert_not (d.permit);
    cr_assert_str_eq (d.reason, "consent-missing");

    fx_event_t e;
    fx_grant (&e, "v1", "CIT-1", 1000, 2000);
    s_apply (&e, 1000);
    d = s_decide ("CIT-1", 1500);
    cr_assert (d.permit, "%s", d.reason);
    cr_assert_str_eq (d.reason, "permitted");
    d = s_decide ("CIT-2", 1500);
    cr_assert_not (d.permit);
    cr_assert_str_eq (d.reason, "consent-missing");

    /* expiry to the second */
    cr_assert (s_decide ("CIT-1", 1999).permit);
    d = s_decide ("CIT-1", 2000);
    cr_assert_not (d.permit);
    cr_assert_str_eq (d.reason, "consent-expired");

    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN, "v1");
    s_apply (&e, 1600);
    cr_assert (s_decide ("CIT-1", 1599).permit);
    d = s_decide ("CIT-1", 1600);
    cr_assert_not (d.permit);
    cr_assert_str_eq (d.reason, "consent-withdrawn");
}

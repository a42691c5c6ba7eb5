/*  sl_consent — the consent registry, used as the broker, the policy
 *  engine's consent callback and sluicectl use it. Real LMDB in a temporary
 *  directory per test. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "sl_error.h"

static fx_t fx;

static void setup (void) { fx_open (&fx, 64u << 20, MDB_NOSYNC); }
static void teardown (void) { fx_close (&fx); }

TestSuite (consent, .init = setup, .fini = teardown, .timeout = 20);

#define ENC "health.v1.Encounter"
#define WAIVER "parking-fee-waiver"

/*  Applies an event in its own committed write transaction. */
static int
apply (const Sluice__V1__ConsentEvent *ev, const sl_consent_actor_t *actor, int64_t now,
       sl_consent_result_t *result)
{
    MDB_txn *txn = fx_write (&fx);
    int rc = sl_consent_apply (fx.registry, txn, ev, actor, now, result, NULL);
    fx_commit (txn);
    return rc;
}

static sl_consent_status_code_t
check_at (const char *subject, const char *recipient, const char *purpose,
          const char *type, int64_t at, sl_consent_decision_t *d)
{
    sl_consent_decision_t local;
    if (!d)
        d = &local;
    MDB_txn *txn = fx_read (&fx);
    int rc = sl_consent_check (fx.registry, txn, subject, "health", recipient, purpose,
                               type, at, d);
    mdb_txn_abort (txn);
    cr_assert_eq (rc, 0, "check: %s", sl_strerror (rc));
    return d->status;
}

static void
grant_ok (const char *id, const char *subject, int64_t from, int64_t to)
{
    fx_event_t e;
    sl_consent_result_t r;
    fx_grant (&e, id, subject, from, to);
    int rc = apply (&e.ev, &fx_app, from ? from : 100, &r);
    cr_assert_eq (rc, 0, "grant %s: %s", id, r.error);
}

Test (consent, grant_gives_valid_and_only_for_its_scope)
{
    fx_event_t e;
    sl_consent_result_t r;
    fx_grant (&e, "c1", "CIT-1", 1000, 0);
    cr_assert_eq (apply (&e.ev, &fx_app, 900, &r), 0, "%s", r.error);
    cr_assert_str_eq (r.consent_id, "c1");
    cr_assert_str_eq (r.error, "");
    cr_assert_eq (r.kind, SLUICE__V1__CONSENT_EVENT__KIND__GIVEN);
    cr_assert_not (r.access_ended);

    sl_consent_decision_t d;
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 5000, &d), SL_CONSENT_STATUS_VALID);
    cr_assert_str_eq (d.consent_id, "c1");
    cr_assert_eq (d.valid_from, 1000);
    cr_assert_eq (d.valid_to, 0);
    cr_assert_str_eq (d.fields, "");
    cr_assert (sl_consent_decision_allows_field (&d, "status"));

    /* every other coordinate must miss */
    cr_assert_eq (check_at ("CIT-2", "parking", WAIVER, ENC, 5000, NULL), SL_CONSENT_STATUS_MISSING);
    cr_assert_eq (check_at ("CIT-1", "water", WAIVER, ENC, 5000, NULL), SL_CONSENT_STATUS_MISSING);
    cr_assert_eq (check_at ("CIT-1", "parking", "billing", ENC, 5000, NULL), SL_CONSENT_STATUS_MISSING);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, "health.v1.Charge", 5000, NULL),
                  SL_CONSENT_STATUS_MISSING);
    /* a prefix of the subject is another subject */
    cr_assert_eq (check_at ("CIT-", "parking", WAIVER, ENC, 5000, NULL), SL_CONSENT_STATUS_MISSING);

    MDB_txn *txn = fx_read (&fx);
    cr_assert_eq (sl_consent_check (fx.registry, txn, "CIT-1", "water", "parking", WAIVER,
                                    ENC, 5000, &d), 0);
    cr_assert_eq (d.status, SL_CONSENT_STATUS_MISSING, "other controller");
    mdb_txn_abort (txn);
}

Test (consent, no_consent_is_missing_with_reason)
{
    sl_consent_decision_t d;
    cr_assert_eq (check_at ("CIT-9", "parking", WAIVER, ENC, 5000, &d), SL_CONSENT_STATUS_MISSING);
    cr_assert_str_eq (d.consent_id, "");
    cr_assert_str_eq (sl_consent_status_reason (d.status), "consent-missing");
    cr_assert_str_eq (sl_consent_status_reason (SL_CONSENT_STATUS_VALID), "consent-valid");
    cr_assert_str_eq (sl_consent_status_reason (SL_CONSENT_STATUS_EXPIRED), "consent-expired");
    cr_assert_str_eq (sl_consent_status_reason (SL_CONSENT_STATUS_WITHDRAWN), "consent-withdrawn");
    cr_assert_str_eq (sl_consent_status_reason (SL_CONSENT_STATUS_NOT_YET_VALID),
                      "consent-not-yet-valid");
    cr_assert_not (sl_consent_decision_allows_field (&d, "status"));

    /* empty arguments are refused, and the decision still denies */
    MDB_txn *txn = fx_read (&fx);
    cr_assert_eq (sl_consent_check (fx.registry, txn, "", "health", "parking", WAIVER, ENC,
                                    1, &d), SL_EINVAL);
    cr_assert_eq (d.status, SL_CONSENT_STATUS_MISSING);
    mdb_txn_abort (txn);
}

Test (consent, validity_window_boundaries_to_the_second)
{
    grant_ok ("c1", "CIT-1", 1000, 2000);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 999, NULL), SL_CONSENT_STATUS_NOT_YET_VALID);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 1000, NULL), SL_CONSENT_STATUS_VALID);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 1999, NULL), SL_CONSENT_STATUS_VALID);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 2000, NULL), SL_CONSENT_STATUS_EXPIRED);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 2001, NULL), SL_CONSENT_STATUS_EXPIRED);
}

Test (consent, next_change_and_epoch_bound_a_decision)
{
    sl_consent_decision_t d;
    uint64_t e0 = sl_consent_epoch (fx.registry, "CIT-1");
    grant_ok ("c1", "CIT-1", 1000, 2000);
    uint64_t e1 = sl_consent_epoch (fx.registry, "CIT-1");
    cr_assert_gt (e1, e0, "a grant raises the subject's epoch");
    /* before the start, the answer changes at the start; inside, at the end */
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 999, &d), SL_CONSENT_STATUS_NOT_YET_VALID);
    cr_assert_eq (d.next_change, 1000);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 1500, &d), SL_CONSENT_STATUS_VALID);
    cr_assert_eq (d.next_change, 2000);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 2000, &d), SL_CONSENT_STATUS_EXPIRED);
    cr_assert_eq (d.next_change, 0, "nothing ahead after the end");
    /* a consent without an end bounds nothing once valid */
    grant_ok ("c2", "CIT-2", 1000, 0);
    cr_assert_eq (check_at ("CIT-2", "parking", WAIVER, ENC, 1500, &d), SL_CONSENT_STATUS_VALID);
    cr_assert_eq (d.next_change, 0);
    /* a withdrawal raises the epoch of its subject */
    uint64_t e2 = sl_consent_epoch (fx.registry, "CIT-2");
    fx_event_t w;
    sl_consent_result_t r;
    fx_change (&w, SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN, "c2");
    cr_assert_eq (apply (&w.ev, &fx_app, 1600, &r), 0, "%s", r.error);
    cr_assert_gt (sl_consent_epoch (fx.registry, "CIT-2"), e2);
    /* a refused event changes nothing */
    uint64_t e3 = sl_consent_epoch (fx.registry, "CIT-2");
    cr_assert_neq (apply (&w.ev, &fx_app, 1700, &r), 0, "withdrawn twice");
    cr_assert_eq (sl_consent_epoch (fx.registry, "CIT-2"), e3);
}

Test (consent, withdrawal_ends_access_and_keeps_history)
{
    grant_ok ("c1", "CIT-1", 1000, 5000);
    fx_event_t e;
    sl_consent_result_t r;
    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN, "c1");
    e.ev.time = 1490;        /* stated by the source; effect is at registry time */
    e.ev.actor = "mallory";  /* a sender cannot choose the recorded actor ... */
    e.ev.recorded = 1;       /* ... nor the registry time */
    MDB_txn *txn = fx_write (&fx);
    sl_consent_record_t *rec = NULL;
    cr_assert_eq (sl_consent_apply (fx.registry, txn, &e.ev, &fx_app, 1500, &r, &rec), 0,
                  "%s", r.error);
    fx_commit (txn);
    cr_assert (r.access_ended);
    cr_assert_eq (r.effective, 1500);
    cr_assert_not_null (rec);
    cr_assert_str_eq (sl_consent_record_subject (rec), "CIT-1");
    cr_assert_str_eq (sl_consent_record_recipient (rec), "parking");
    cr_assert_eq (sl_consent_record_withdrawn_at (rec), 1500);
    sl_consent_record_destroy (&rec);
    cr_assert_null (rec);

    sl_consent_decision_t d;
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 1499, NULL), SL_CONSENT_STATUS_VALID);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 1500, &d), SL_CONSENT_STATUS_WITHDRAWN);
    cr_assert_str_eq (d.consent_id, "c1");
    cr_assert_eq (d.withdrawn_at, 1500);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 9000, NULL), SL_CONSENT_STATUS_WITHDRAWN);

    /* kept, with its history */
    txn = fx_read (&fx);
    cr_assert_eq (sl_consent_get (fx.registry, txn, "c1", &rec), 0);
    mdb_txn_abort (txn);
    cr_assert_eq (sl_consent_record_event_count (rec), 2);
    const Sluice__V1__ConsentEvent *given = sl_consent_record_event (rec, 0);
    const Sluice__V1__ConsentEvent *gone = sl_consent_record_event (rec, 1);
    cr_assert_eq (given->kind, SLUICE__V1__CONSENT_EVENT__KIND__GIVEN);
    cr_assert_str_eq (given->actor, "city-app");
    cr_assert_eq (given->recorded, 1000);
    cr_assert_eq (gone->kind, SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN);
    cr_assert_eq (gone->time, 1490);
    cr_assert_eq (gone->recorded, 1500);
    cr_assert_str_eq (gone->actor, "city-app");
    cr_assert_str_eq (gone->consent_id, "c1");
    cr_assert_null (sl_consent_record_event (rec, 2));
    cr_assert_eq (sl_consent_record_status (rec, 1600), SL_CONSENT_STATUS_WITHDRAWN);
    sl_consent_record_destroy (&rec);

    /* a second withdrawal and a renewal are refused, precisely */
    cr_assert_eq (apply (&e.ev, &fx_app, 1600, &r), SL_EEXIST);
    cr_assert_str_eq (r.error, "consent c1 is already withdrawn (at 1500)");
    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__RENEWED, "c1");
    e.ev.valid_to = 9000;
    cr_assert_eq (apply (&e.ev, &fx_app, 1600, &r), SL_EINVAL);
    cr_assert_str_eq (r.error, "consent c1 was withdrawn at 1500 and cannot be renewed; "
                      "grant a new consent");
}

Test (consent, renewal_extends_an_expired_consent)
{
    grant_ok ("c1", "CIT-1", 1000, 2000);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 2500, NULL), SL_CONSENT_STATUS_EXPIRED);
    fx_event_t e;
    sl_consent_result_t r;
    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__RENEWED, "c1");
    e.ev.valid_to = 3000;
    e.ev.subject = "CIT-1";          /* repeating the parties is allowed */
    e.ev.evidence = "receipt-4712";
    cr_assert_eq (apply (&e.ev, &fx_health_admin, 2500, &r), 0, "%s", r.error);
    cr_assert_not (r.access_ended);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 2500, NULL), SL_CONSENT_STATUS_VALID);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 2999, NULL), SL_CONSENT_STATUS_VALID);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 3000, NULL), SL_CONSENT_STATUS_EXPIRED);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 999, NULL), SL_CONSENT_STATUS_NOT_YET_VALID);

    sl_consent_record_t *rec = NULL;
    MDB_txn *txn = fx_read (&fx);
    cr_assert_eq (sl_consent_get (fx.registry, txn, "c1", &rec), 0);
    mdb_txn_abort (txn);
    cr_assert_eq (sl_consent_record_valid_to (rec), 3000);
    cr_assert_eq (sl_consent_record_valid_from (rec), 1000);
    cr_assert_str_eq (sl_consent_record_evidence (rec), "receipt-4712");
    cr_assert_eq (sl_consent_record_event_count (rec), 2);
    cr_assert_eq (sl_consent_record_event (rec, 1)->kind, SLUICE__V1__CONSENT_EVENT__KIND__RENEWED);
    cr_assert_str_eq (sl_consent_record_event (rec, 1)->actor, "ana");
    cr_assert_eq (sl_consent_record_event (rec, 1)->valid_to, 3000);
    sl_consent_record_destroy (&rec);

    /* a renewal that shortens the window to before now ends access now */
    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__RENEWED, "c1");
    e.ev.valid_to = 2600;
    cr_assert_eq (apply (&e.ev, &fx_health_admin, 2700, &r), 0, "%s", r.error);
    cr_assert (r.access_ended);
}

Test (consent, wildcards_cover_record_types_of_the_controller)
{
    fx_event_t e;
    sl_consent_result_t r;
    fx_grant (&e, "cw", "CIT-1", 1000, 0);
    e.types[0] = "health.v1.*";
    cr_assert_eq (apply (&e.ev, &fx_app, 1000, &r), 0, "%s", r.error);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 1000, NULL), SL_CONSENT_STATUS_VALID);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, "health.v1.Charge", 1000, NULL),
                  SL_CONSENT_STATUS_VALID);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, "health.v2.Encounter", 1000, NULL),
                  SL_CONSENT_STATUS_MISSING);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, "health.v1.", 1000, NULL),
                  SL_CONSENT_STATUS_MISSING);

    /* exact type plus a second purpose */
    fx_grant (&e, "cx", "CIT-2", 1000, 0);
    e.types[0] = "health.v1.Charge";
    e.purposes[1] = "billing";
    e.ev.n_purposes = 2;
    cr_assert_eq (apply (&e.ev, &fx_app, 1000, &r), 0, "%s", r.error);
    cr_assert_eq (check_at ("CIT-2", "parking", "billing", "health.v1.Charge", 1000, NULL),
                  SL_CONSENT_STATUS_VALID);
    cr_assert_eq (check_at ("CIT-2", "parking", WAIVER, "health.v1.Charge", 1000, NULL),
                  SL_CONSENT_STATUS_VALID);
    cr_assert_eq (check_at ("CIT-2", "parking", "billing", ENC, 1000, NULL), SL_CONSENT_STATUS_MISSING);

    /* the record-level predicate the broker uses on ended consents */
    sl_consent_record_t *rec = NULL;
    MDB_txn *txn = fx_read (&fx);
    cr_assert_eq (sl_consent_get (fx.registry, txn, "cw", &rec), 0);
    mdb_txn_abort (txn);
    cr_assert (sl_consent_record_covers (rec, WAIVER, "health.v1.Charge"));
    cr_assert (sl_consent_record_covers (rec, WAIVER, ENC));
    cr_assert_not (sl_consent_record_covers (rec, "billing", ENC));
    cr_assert_not (sl_consent_record_covers (rec, WAIVER, "water.v1.MeterReading"));
    cr_assert_not (sl_consent_record_covers (rec, NULL, ENC));
    sl_consent_record_destroy (&rec);
}

Test (consent, fields_limit_the_decision)
{
    fx_event_t e;
    sl_consent_result_t r;
    fx_grant (&e, "cf", "CIT-1", 1000, 0);
    e.fields[0] = "status";
    e.fields[1] = "period_start";
    e.ev.n_fields = 2;
    cr_assert_eq (apply (&e.ev, &fx_app, 1000, &r), 0, "%s", r.error);
    sl_consent_decision_t d;
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 1000, &d), SL_CONSENT_STATUS_VALID);
    cr_assert_str_eq (d.fields, "status,period_start");
    cr_assert (sl_consent_decision_allows_field (&d, "status"));
    cr_assert (sl_consent_decision_allows_field (&d, "period_start"));
    cr_assert_not (sl_consent_decision_allows_field (&d, "period"));
    cr_assert_not (sl_consent_decision_allows_field (&d, "diagnosis"));
}

Test (consent, best_status_among_several_consents)
{
    grant_ok ("a-old", "CIT-1", 1000, 2000);             /* expired at 3000 */
    grant_ok ("b-next", "CIT-1", 4000, 5000);            /* not yet valid at 3000 */
    sl_consent_decision_t d;
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 3000, &d), SL_CONSENT_STATUS_NOT_YET_VALID);
    cr_assert_str_eq (d.consent_id, "b-next");
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 4500, &d), SL_CONSENT_STATUS_VALID);
    cr_assert_str_eq (d.consent_id, "b-next");
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 6000, &d), SL_CONSENT_STATUS_EXPIRED);
}

Test (consent, role_rule)
{
    cr_assert (sl_consent_role_allows (SL_CONSENT_VIA_DATA, "consent-source", "health"));
    cr_assert_not (sl_consent_role_allows (SL_CONSENT_VIA_DATA, "member", "health"));
    cr_assert_not (sl_consent_role_allows (SL_CONSENT_VIA_DATA, "admin:city", "health"));
    cr_assert_not (sl_consent_role_allows (SL_CONSENT_VIA_DATA, "admin:health", "health"));
    cr_assert (sl_consent_role_allows (SL_CONSENT_VIA_ADMIN, "admin:health", "health"));
    cr_assert (sl_consent_role_allows (SL_CONSENT_VIA_ADMIN, "admin:city", "health"));
    cr_assert_not (sl_consent_role_allows (SL_CONSENT_VIA_ADMIN, "admin:water", "health"));
    cr_assert_not (sl_consent_role_allows (SL_CONSENT_VIA_ADMIN, "admin:healthcare", "health"));
    cr_assert_not (sl_consent_role_allows (SL_CONSENT_VIA_ADMIN, "admin:", "health"));
    cr_assert_not (sl_consent_role_allows (SL_CONSENT_VIA_ADMIN, "consent-source", "health"));
    cr_assert_not (sl_consent_role_allows (SL_CONSENT_VIA_ADMIN, "auditor", "health"));
    cr_assert_not (sl_consent_role_allows (SL_CONSENT_VIA_ADMIN, NULL, "health"));
    cr_assert_not (sl_consent_role_allows (SL_CONSENT_VIA_ADMIN, "admin:city", NULL));
    cr_assert_not (sl_consent_role_allows ((sl_consent_via_t) 0, "admin:city", "health"));

    /* enforced by apply, before anything is written */
    static const char *const member_roles[] = { "member", NULL };
    static const char *const water_roles[] = { "admin:water", NULL };
    const sl_consent_actor_t parking = { "parking", SL_CONSENT_VIA_DATA, member_roles };
    const sl_consent_actor_t water_admin = { "wei", SL_CONSENT_VIA_ADMIN, water_roles };
    fx_event_t e;
    sl_consent_result_t r;
    fx_grant (&e, "c1", "CIT-1", 1000, 0);
    cr_assert_eq (apply (&e.ev, &parking, 1000, &r), SL_EPERM);
    cr_assert_str_eq (r.error, "grant refused: member 'parking' (roles: member) may not "
                      "publish consent events; the data plane accepts them only from role "
                      "consent-source");
    cr_assert_eq (apply (&e.ev, &water_admin, 1000, &r), SL_EPERM);
    cr_assert_str_eq (r.error, "grant refused: 'wei' (roles: admin:water) may not change "
                      "consents of controller 'health'; needs role admin:health or admin:city");
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 1000, NULL), SL_CONSENT_STATUS_MISSING);

    cr_assert_eq (apply (&e.ev, &fx_city_admin, 1000, &r), 0, "%s", r.error);
    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN, "c1");
    cr_assert_eq (apply (&e.ev, &water_admin, 1100, &r), SL_EPERM);
    cr_assert_str_eq (r.error, "withdrawal refused: 'wei' (roles: admin:water) may not change "
                      "consents of controller 'health'; needs role admin:health or admin:city");
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 1200, NULL), SL_CONSENT_STATUS_VALID);
    cr_assert_eq (apply (&e.ev, &fx_health_admin, 1100, &r), 0, "%s", r.error);
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 1200, NULL), SL_CONSENT_STATUS_WITHDRAWN);
}

typedef struct {
    char ids[16][16];
    sl_consent_status_code_t why[16];
    int64_t at[16];
    int n;
} ended_t;

static int
on_ended (const sl_consent_record_t *rec, sl_consent_status_code_t why, int64_t at, void *arg)
{
    ended_t *e = arg;
    cr_assert_lt (e->n, 16);
    snprintf (e->ids[e->n], sizeof e->ids[0], "%s", sl_consent_record_id (rec));
    e->why[e->n] = why;
    e->at[e->n] = at;
    e->n++;
    return 0;
}

static ended_t
ended (int64_t from, int64_t to)
{
    ended_t e = { .n = 0 };
    MDB_txn *txn = fx_read (&fx);
    int rc = sl_consent_each_ended (fx.registry, txn, from, to, on_ended, &e);
    mdb_txn_abort (txn);
    cr_assert_eq (rc, 0, "%s", sl_strerror (rc));
    return e;
}

Test (consent, ended_iterator_reports_expiry_and_withdrawal_once)
{
    grant_ok ("e1", "CIT-1", 1000, 2000);
    grant_ok ("e2", "CIT-2", 1000, 3000);
    grant_ok ("e3", "CIT-3", 1000, 0);          /* never expires */
    grant_ok ("e4", "CIT-4", 1000, 2500);       /* renewed to 4000 */
    grant_ok ("e5", "CIT-5", 1000, 1500);       /* expired, then withdrawn: stays expired */

    fx_event_t e;
    sl_consent_result_t r;
    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN, "e2");
    cr_assert_eq (apply (&e.ev, &fx_app, 2200, &r), 0, "%s", r.error);
    cr_assert (r.access_ended);
    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN, "e3");
    cr_assert_eq (apply (&e.ev, &fx_app, 2300, &r), 0, "%s", r.error);
    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__RENEWED, "e4");
    e.ev.valid_to = 4000;
    cr_assert_eq (apply (&e.ev, &fx_app, 2400, &r), 0, "%s", r.error);
    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN, "e5");
    cr_assert_eq (apply (&e.ev, &fx_app, 1800, &r), 0, "%s", r.error);
    cr_assert_not (r.access_ended, "e5 had already expired");

    ended_t all = ended (0, 10000);
    cr_assert_eq (all.n, 5);
    const char *ids[] = { "e5", "e1", "e2", "e3", "e4" };
    int64_t at[] = { 1500, 2000, 2200, 2300, 4000 };
    sl_consent_status_code_t why[] = { SL_CONSENT_STATUS_EXPIRED, SL_CONSENT_STATUS_EXPIRED, SL_CONSENT_STATUS_WITHDRAWN,
                                  SL_CONSENT_STATUS_WITHDRAWN, SL_CONSENT_STATUS_EXPIRED };
    for (int i = 0; i < 5; i++) {
        cr_assert_str_eq (all.ids[i], ids[i], "entry %d", i);
        cr_assert_eq (all.at[i], at[i], "entry %d", i);
        cr_assert_eq (all.why[i], why[i], "entry %d", i);
    }
    /* windows are [from, to): the exact boundary second */
    ended_t w = ended (2000, 2200);
    cr_assert_eq (w.n, 1);
    cr_assert_str_eq (w.ids[0], "e1");
    w = ended (2001, 2200);
    cr_assert_eq (w.n, 0);
    w = ended (2200, 2201);
    cr_assert_eq (w.n, 1);
    cr_assert_str_eq (w.ids[0], "e2");
    w = ended (2500, 3999);
    cr_assert_eq (w.n, 0, "e4's old end moved by the renewal, e2's by the withdrawal");

    MDB_txn *txn = fx_read (&fx);
    cr_assert_eq (sl_consent_each_ended (fx.registry, txn, 10, 5, on_ended, &w), SL_EINVAL);
    /* the same ends, counted by state (the metrics gauge sluice_consents) */
    uint64_t active, expired, withdrawn;
    cr_assert_eq (sl_consent_count_states (fx.registry, txn, 2250, &active, &expired,
                                           &withdrawn), 0);
    cr_assert_eq (expired, 2, "e5 at 1500, e1 at 2000");
    cr_assert_eq (withdrawn, 1, "e2 at 2200");
    cr_assert_eq (active, 2, "e3 (withdrawn only at 2300) and e4");
    cr_assert_eq (sl_consent_count_states (fx.registry, txn, 10000, &active, &expired,
                                           &withdrawn), 0);
    cr_assert_eq (active + expired + withdrawn, 5);
    cr_assert_eq (withdrawn, 2);
    mdb_txn_abort (txn);
}

typedef struct {
    int n;
    char ids[8][16];
} listed_t;

static int
on_listed (const sl_consent_record_t *rec, void *arg)
{
    listed_t *l = arg;
    cr_assert_lt (l->n, 8);
    snprintf (l->ids[l->n++], sizeof l->ids[0], "%s", sl_consent_record_id (rec));
    return 0;
}

Test (consent, list_by_subject_and_json)
{
    fx_event_t e;
    sl_consent_result_t r;
    fx_grant (&e, "l1", "CIT-1", 1000, 2000);
    e.purposes[1] = "billing";               /* two index entries, listed once */
    e.ev.n_purposes = 2;
    cr_assert_eq (apply (&e.ev, &fx_app, 1000, &r), 0, "%s", r.error);
    grant_ok ("l2", "CIT-1", 1000, 0);
    grant_ok ("l3", "CIT-10", 1000, 0);       /* other subject sharing a prefix */
    fx_change (&e, SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN, "l2");
    cr_assert_eq (apply (&e.ev, &fx_health_admin, 1500, &r), 0, "%s", r.error);

    listed_t l = { 0 };
    MDB_txn *txn = fx_read (&fx);
    cr_assert_eq (sl_consent_list_subject (fx.registry, txn, "CIT-1", on_listed, &l), 0);
    cr_assert_eq (l.n, 2);
    cr_assert_str_eq (l.ids[0], "l1");
    cr_assert_str_eq (l.ids[1], "l2");

    int rc = -1;
    cJSON *list = sl_consent_list_json (fx.registry, txn, "CIT-1", 1600, &rc);
    cr_assert_eq (rc, 0);
    cr_assert_eq (cJSON_GetArraySize (list), 2);
    cJSON *first = cJSON_GetArrayItem (list, 0);
    cr_assert_str_eq (cJSON_GetObjectItem (first, "consent_id")->valuestring, "l1");
    cr_assert_str_eq (cJSON_GetObjectItem (first, "reason")->valuestring, "consent-valid");
    cr_assert_eq (cJSON_GetArraySize (cJSON_GetObjectItem (first, "purposes")), 2);
    cr_assert_null (cJSON_GetObjectItem (first, "history"), "lists carry no history");
    cJSON *second = cJSON_GetArrayItem (list, 1);
    cr_assert_str_eq (cJSON_GetObjectItem (second, "state")->valuestring, "withdrawn");
    cr_assert_str_eq (cJSON_GetObjectItem (second, "reason")->valuestring, "consent-withdrawn");
    cr_assert_eq (cJSON_GetObjectItem (second, "withdrawn_at")->valuedouble, 1500);
    cJSON_Delete (list);

    sl_consent_record_t *rec = NULL;
    cr_assert_eq (sl_consent_get (fx.registry, txn, "l2", &rec), 0);
    fx_json_has (sl_consent_record_json (rec, 1600), "\"history\":[{\"kind\":\"given\"",
                 "{\"kind\":\"withdrawn\"", "\"actor\":\"ana\"", "\"evidence\":\"receipt-4711\"",
                 "\"jurisdiction\":\"CN-ZJ\"", NULL);
    sl_consent_record_destroy (&rec);

    cr_assert_eq (sl_consent_get (fx.registry, txn, "nope", &rec), SL_ENOTFOUND);
    cr_assert_null (rec);
    l.n = 0;
    cr_assert_eq (sl_consent_list_subject (fx.registry, txn, "CIT-404", on_listed, &l), 0);
    cr_assert_eq (l.n, 0);
    mdb_txn_abort (txn);
}

Test (consent, generated_id_and_aborted_txn_leaves_nothing)
{
    fx_event_t e;
    sl_consent_result_t r;
    fx_grant (&e, "", "CIT-1", 1000, 0);
    MDB_txn *txn = fx_write (&fx);
    cr_assert_eq (sl_consent_apply (fx.registry, txn, &e.ev, &fx_app, 1000, &r, NULL), 0,
                  "%s", r.error);
    cr_assert_eq (strlen (r.consent_id), 26, "%s", r.consent_id);
    cr_assert_eq (strncmp (r.consent_id, "c-", 2), 0);
    sl_consent_decision_t d;
    cr_assert_eq (sl_consent_check (fx.registry, txn, "CIT-1", "health", "parking", WAIVER,
                                    ENC, 1000, &d), 0);
    cr_assert_eq (d.status, SL_CONSENT_STATUS_VALID, "visible inside the writing txn");
    mdb_txn_abort (txn);     /* the broker's group commit failed */
    cr_assert_eq (check_at ("CIT-1", "parking", WAIVER, ENC, 1000, NULL), SL_CONSENT_STATUS_MISSING);
}

Test (consent, callback_binding_fits_a_policy_engine)
{
    grant_ok ("c1", "CIT-1", 1000, 0);
    MDB_txn *txn = fx_read (&fx);
    sl_consent_binding_t b = { fx.registry, txn };
    int (*cb) (void *, const char *, const char *, const char *, const char *,
               const char *, int64_t, sl_consent_decision_t *) = sl_consent_check_cb;
    sl_consent_decision_t d;
    cr_assert_eq (cb (&b, "CIT-1", "health", "parking", WAIVER, ENC, 1000, &d), 0);
    cr_assert_eq (d.status, SL_CONSENT_STATUS_VALID);
    cr_assert_eq (cb (&b, "CIT-1", "health", "parking", WAIVER, ENC, 999, &d), 0);
    cr_assert_eq (d.status, SL_CONSENT_STATUS_NOT_YET_VALID);
    mdb_txn_abort (txn);
}

Test (consent, read_only_open_before_creation)
{
    fx_t bare;
    memset (&bare, 0, sizeof bare);
    snprintf (bare.dir, sizeof bare.dir, "%s/sl-consent-ro-XXXXXX", getenv ("TMPDIR") ? getenv ("TMPDIR") : "/tmp");
    cr_assert_not_null (mkdtemp (bare.dir));
    cr_assert_eq (mdb_env_create (&bare.env), 0);
    cr_assert_eq (mdb_env_set_maxdbs (bare.env, 64), 0);
    cr_assert_eq (mdb_env_open (bare.env, bare.dir, MDB_NOTLS, 0600), 0);
    MDB_txn *txn = fx_read (&bare);
    int rc = 0;
    cr_assert_null (sl_consent_new (txn, &rc));
    cr_assert_eq (rc, SL_ENOTFOUND);
    mdb_txn_abort (txn);

    /* once created (sluiced's first start), offline tools open read-only */
    txn = fx_write (&bare);
    sl_consent_t *rw = sl_consent_new (txn, &rc);
    cr_assert_not_null (rw, "%s", sl_strerror (rc));
    fx_commit (txn);
    sl_consent_destroy (&rw);
    cr_assert_null (rw);
    sl_consent_destroy (&rw);
    txn = fx_read (&bare);
    sl_consent_t *ro = sl_consent_new (txn, &rc);
    cr_assert_not_null (ro, "%s", sl_strerror (rc));
    sl_consent_decision_t d;
    cr_assert_eq (sl_consent_check (ro, txn, "CIT-1", "health", "parking", WAIVER, ENC, 1, &d), 0);
    cr_assert_eq (d.status, SL_CONSENT_STATUS_MISSING);
    mdb_txn_abort (txn);
    sl_consent_destroy (&ro);
    fx_close (&bare);
}

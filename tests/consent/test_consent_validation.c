/*  sl_consent — every validation error of sl_consent_apply, with its exact
 *  message, and proof that a refused event writes nothing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "sl_error.h"

static fx_t fx;

static void setup (void) { fx_open (&fx, 64u << 20, MDB_NOSYNC); }
static void teardown (void) { fx_close (&fx); }

TestSuite (validation, .init = setup, .fini = teardown, .timeout = 20);

typedef struct {
    const char *name;
    void (*mutate) (fx_event_t *e);
    int rc;
    const char *error;
} case_t;

static char s_long[400];

static const char *
s_repeat (char c, size_t n)
{
    memset (s_long, c, n);
    s_long[n] = '\0';
    return s_long;
}

static void m_kind (fx_event_t *e) { e->ev.kind = SLUICE__V1__CONSENT_EVENT__KIND__KIND_UNSPECIFIED; }
static void m_kind_bad (fx_event_t *e) { e->ev.kind = (Sluice__V1__ConsentEvent__Kind) 9; }
static void m_time (fx_event_t *e) { e->ev.time = -1; }
static void m_no_controller (fx_event_t *e) { e->ev.controller = ""; }
static void m_bad_controller (fx_event_t *e) { e->ev.controller = "hea lth"; }
static void m_bad_id (fx_event_t *e) { e->ev.consent_id = "c 1"; }
static void m_long_id (fx_event_t *e) { e->ev.consent_id = (char *) s_repeat ('x', 65); }
static void m_no_subject (fx_event_t *e) { e->ev.subject = ""; }
static void m_ctl_subject (fx_event_t *e) { e->ev.subject = "CIT\n1"; }
static void m_long_subject (fx_event_t *e) { e->ev.subject = (char *) s_repeat ('s', 129); }
static void m_no_recipient (fx_event_t *e) { e->ev.recipient = ""; }
static void m_no_purposes (fx_event_t *e) { e->ev.n_purposes = 0; }
static void m_empty_purpose (fx_event_t *e) { e->purposes[0] = ""; }
static void m_bad_purpose (fx_event_t *e) { e->purposes[0] = "fee waiver"; }
static void m_dup_purpose (fx_event_t *e) { e->purposes[1] = e->purposes[0]; e->ev.n_purposes = 2; }
static void m_no_types (fx_event_t *e) { e->ev.n_record_types = 0; }
static void m_empty_type (fx_event_t *e) { e->types[0] = ""; }
static void m_unknown_type (fx_event_t *e) { e->types[0] = "health.v1.Nope"; }
static void m_foreign_type (fx_event_t *e) { e->types[0] = "water.v1.MeterReading"; }
static void m_bad_wildcard (fx_event_t *e) { e->types[0] = "health*"; }
static void m_star (fx_event_t *e) { e->types[0] = "*"; }
static void m_mid_star (fx_event_t *e) { e->types[0] = "health.*.Encounter"; }
static void m_no_match (fx_event_t *e) { e->types[0] = "health.v9.*"; }
static void m_foreign_wild (fx_event_t *e) { e->types[0] = "power.*"; }
static void m_dup_type (fx_event_t *e) { e->types[1] = e->types[0]; e->ev.n_record_types = 2; }
static void m_bad_field (fx_event_t *e) { e->fields[0] = "diagnosis_x"; e->ev.n_fields = 1; }
static void m_foreign_field (fx_event_t *e) { e->fields[0] = "water_consumption_m3"; e->ev.n_fields = 1; }
static void m_dup_field (fx_event_t *e)
{
    e->fields[0] = "status"; e->fields[1] = "status"; e->ev.n_fields = 2;
}
static void m_to_before (fx_event_t *e) { e->ev.valid_to = 900; }
static void m_to_equal (fx_event_t *e) { e->ev.valid_to = 1000; }
static void m_to_before_now (fx_event_t *e) { e->ev.valid_from = 0; e->ev.valid_to = 500; }
static void m_from_negative (fx_event_t *e) { e->ev.valid_from = -5; }
static void m_to_huge (fx_event_t *e) { e->ev.valid_to = (int64_t) 1 << 50; }
static void m_long_evidence (fx_event_t *e) { e->ev.evidence = (char *) s_repeat ('e', 257); }
static void m_ctl_jurisdiction (fx_event_t *e) { e->ev.jurisdiction = "CN\tZJ"; }
static void m_ctl_method (fx_event_t *e) { e->ev.collection_method = "app\x7f"; }

static char *s_many[40];
static void m_many_purposes (fx_event_t *e)
{
    static char names[40][8];
    for (int i = 0; i < 33; i++) {
        snprintf (names[i], sizeof names[i], "p%d", i);
        s_many[i] = names[i];
    }
    e->ev.purposes = s_many;
    e->ev.n_purposes = 33;
}

static const case_t s_grant_cases[] = {
    { "kind", m_kind, SL_EINVAL,
      "event kind is missing or unknown (0): use GIVEN, RENEWED or WITHDRAWN" },
    { "kind-bad", m_kind_bad, SL_EINVAL,
      "event kind is missing or unknown (9): use GIVEN, RENEWED or WITHDRAWN" },
    { "time", m_time, SL_EINVAL,
      "time -1 is out of range: use Unix seconds UTC, 0..1099511627776" },
    { "no-controller", m_no_controller, SL_EINVAL, "controller is missing" },
    { "bad-controller", m_bad_controller, SL_EINVAL,
      "controller 'hea lth' has characters other than letters, digits and . _ : -" },
    { "bad-id", m_bad_id, SL_EINVAL,
      "consent_id 'c 1' has characters other than letters, digits and . _ : -" },
    { "long-id", m_long_id, SL_EINVAL,
      "consent_id 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is longer than 64 bytes" },
    { "no-subject", m_no_subject, SL_EINVAL, "subject is missing" },
    { "ctl-subject", m_ctl_subject, SL_EINVAL, "subject holds control characters" },
    { "long-subject", m_long_subject, SL_EINVAL,
      "subject 'ssssssssssssssssssssssssssssssssssssssss...' is longer than 128 bytes" },
    { "no-recipient", m_no_recipient, SL_EINVAL, "recipient is missing" },
    { "no-purposes", m_no_purposes, SL_EINVAL,
      "purposes is empty: a consent needs at least one purpose" },
    { "empty-purpose", m_empty_purpose, SL_EINVAL, "purposes[0] is missing" },
    { "bad-purpose", m_bad_purpose, SL_EINVAL,
      "purposes[0] 'fee waiver' has characters other than letters, digits and . _ : -" },
    { "dup-purpose", m_dup_purpose, SL_EINVAL,
      "purposes[1] 'parking-fee-waiver' is listed twice" },
    { "many-purposes", m_many_purposes, SL_EINVAL, "purposes lists 33 entries; at most 32" },
    { "no-types", m_no_types, SL_EINVAL,
      "record_types is empty: name the record types covered (exact, or a wildcard like "
      "'water.v1.*')" },
    { "empty-type", m_empty_type, SL_EINVAL, "record_types[0] is empty" },
    { "unknown-type", m_unknown_type, SL_EINVAL,
      "record_types[0]: unknown record type 'health.v1.Nope'" },
    { "foreign-type", m_foreign_type, SL_EINVAL,
      "record_types[0]: water.v1.MeterReading is owned by water, not by controller health" },
    { "bad-wildcard", m_bad_wildcard, SL_EINVAL,
      "record_types[0] 'health*': a wildcard must be a whole last name part, as in "
      "'water.v1.*'" },
    { "star", m_star, SL_EINVAL,
      "record_types[0] '*': a wildcard must be a whole last name part, as in 'water.v1.*'" },
    { "mid-star", m_mid_star, SL_EINVAL,
      "record_types[0] 'health.*.Encounter': a wildcard must be a whole last name part, as "
      "in 'water.v1.*'" },
    { "no-match", m_no_match, SL_EINVAL,
      "record_types[0] 'health.v9.*' matches no known record type" },
    { "foreign-wildcard", m_foreign_wild, SL_EINVAL,
      "record_types[0] 'power.*' covers power.v1.MeterReading, owned by power, not by "
      "controller health" },
    { "dup-type", m_dup_type, SL_EINVAL, "record_types[1] 'health.v1.Encounter' is listed twice" },
    { "bad-field", m_bad_field, SL_EINVAL,
      "fields[0] 'diagnosis_x' is not a field of any covered record type" },
    { "foreign-field", m_foreign_field, SL_EINVAL,
      "fields[0] 'water_consumption_m3' is not a field of any covered record type" },
    { "dup-field", m_dup_field, SL_EINVAL, "fields[1] 'status' is listed twice" },
    { "to-before-from", m_to_before, SL_EINVAL,
      "valid_to 900 is not after valid_from 1000: the consent would never be valid" },
    { "to-equal-from", m_to_equal, SL_EINVAL,
      "valid_to 1000 is not after valid_from 1000: the consent would never be valid" },
    { "to-before-now", m_to_before_now, SL_EINVAL,
      "valid_to 500 is not after valid_from 1200: the consent would never be valid" },
    { "from-negative", m_from_negative, SL_EINVAL,
      "valid_from -5 is out of range: use Unix seconds UTC, 0..1099511627776" },
    { "to-huge", m_to_huge, SL_EINVAL,
      "valid_to 1125899906842624 is out of range: use Unix seconds UTC, 0..1099511627776" },
    { "long-evidence", m_long_evidence, SL_EINVAL, "evidence is longer than 256 bytes" },
    { "ctl-jurisdiction", m_ctl_jurisdiction, SL_EINVAL, "jurisdiction holds control characters" },
    { "ctl-method", m_ctl_method, SL_EINVAL, "collection_method holds control characters" },
};

Test (validation, every_grant_error_is_precise_and_writes_nothing)
{
    MDB_txn *txn = fx_write (&fx);
    for (size_t i = 0; i < sizeof s_grant_cases / sizeof s_grant_cases[0]; i++) {
        const case_t *c = &s_grant_cases[i];
        fx_event_t e;
        sl_consent_result_t r;
        fx_grant (&e, "cv", "CIT-1", 1000, 2000);
        c->mutate (&e);
        sl_consent_record_t *rec = (sl_consent_record_t *) 1;
        int rc = sl_consent_apply (fx.registry, txn, &e.ev, &fx_app, 1200, &r, &rec);
        cr_expect_eq (rc, c->rc, "%s: rc %d (%s)", c->name, rc, r.error);
        cr_expect_str_eq (r.error, c->error, "%s", c->name);
        cr_expect_null (rec, "%s", c->name);
    }
    /* nothing was written, and the transaction is still good */
    sl_consent_record_t *rec = NULL;
    cr_assert_eq (sl_consent_get (fx.registry, txn, "cv", &rec), SL_ENOTFOUND);
    sl_consent_decision_t d;
    cr_assert_eq (sl_consent_check (fx.registry, txn, "CIT-1", "health", "parking",
                                    "parking-fee-waiver", "health.v1.Encounter", 1500, &d), 0);
    cr_assert_eq (d.status, SL_CONSENT_STATUS_MISSING);
    fx_event_t e;
    sl_consent_result_t r;
    fx_grant (&e, "cv", "CIT-1", 1000, 2000);
    cr_assert_eq (sl_consent_apply (fx.registry, txn, &e.ev, &fx_app, 1200, &r, NULL), 0,
                  "%s", r.error);
    fx_commit (txn);

    /* same id again */
    txn = fx_write (&fx);
    cr_assert_eq (sl_consent_apply (fx.registry, txn, &e.ev, &fx_app, 1200, &r, NULL), SL_EEXIST);
    cr_assert_str_eq (r.error, "consent cv already exists: renew or withdraw it, or grant "
                      "with another id");
    mdb_txn_abort (txn);
}

Test (validation, caller_errors)
{
    MDB_txn *txn = fx_write (&fx);
    fx_event_t e;
    sl_consent_result_t r;
    fx_grant (&e, "cv", "CIT-1", 1000, 2000);
    sl_consent_actor_t no_via = fx_app;
    no_via.via = (sl_consent_via_t) 0;
    cr_assert_eq (sl_consent_apply (fx.registry, txn, &e.ev, &no_via, 1200, &r, NULL), SL_EINVAL);
    cr_assert_str_eq (r.error, "actor channel (via) is not set");
    cr_assert_eq (sl_consent_apply (fx.registry, txn, &e.ev, &fx_app, -1, &r, NULL), SL_EINVAL);
    cr_assert_str_eq (r.error, "registry time -1 is out of range");
    sl_consent_actor_t no_roles = fx_app;
    no_roles.roles = NULL;
    cr_assert_eq (sl_consent_apply (fx.registry, txn, &e.ev, &no_roles, 1200, &r, NULL), SL_EPERM);
    cr_assert_str_eq (r.error, "grant refused: member 'city-app' (roles: none) may not publish "
                      "consent events; the data plane accepts them only from role consent-source");
    mdb_txn_abort (txn);
}

static void c_no_id (fx_event_t *e) { e->ev.consent_id = ""; }
static void c_unknown (fx_event_t *e) { e->ev.consent_id = "nope"; }
static void c_bad_id (fx_event_t *e) { e->ev.consent_id = "no pe"; }
static void c_subject (fx_event_t *e) { e->ev.subject = "CIT-2"; }
static void c_controller (fx_event_t *e) { e->ev.controller = "water"; }
static void c_recipient (fx_event_t *e) { e->ev.recipient = "power"; }
static void c_purposes (fx_event_t *e) { e->purposes[0] = "billing"; e->ev.n_purposes = 1; }
static void c_types (fx_event_t *e) { e->types[0] = "health.v1.Charge"; e->ev.n_record_types = 1; }
static void c_fields (fx_event_t *e) { e->fields[0] = "status"; e->ev.n_fields = 1; }
static void c_to_before (fx_event_t *e) { e->ev.valid_to = 900; }
static void c_from_after (fx_event_t *e) { e->ev.valid_from = 3000; e->ev.valid_to = 2500; }
static void c_to_negative (fx_event_t *e) { e->ev.valid_to = -1; }
static void c_evidence (fx_event_t *e) { e->ev.evidence = (char *) s_repeat ('e', 300); }
static void c_valid_to (fx_event_t *e) { e->ev.valid_to = 5000; }
static void c_valid_from (fx_event_t *e) { e->ev.valid_from = 5000; }

static const case_t s_renew_cases[] = {
    { "no-id", c_no_id, SL_EINVAL, "renewal needs consent_id" },
    { "unknown", c_unknown, SL_ENOTFOUND, "renewal: unknown consent id 'nope'" },
    { "bad-id", c_bad_id, SL_ENOTFOUND, "renewal: unknown consent id 'no pe'" },
    { "subject", c_subject, SL_EINVAL,
      "renewal of consent c1: subject does not match the consent's subject" },
    { "controller", c_controller, SL_EINVAL,
      "renewal of consent c1: controller does not match the consent's controller" },
    { "recipient", c_recipient, SL_EINVAL,
      "renewal of consent c1: recipient does not match the consent's recipient" },
    { "purposes", c_purposes, SL_EINVAL,
      "renewal of consent c1 may not carry purposes, record_types or fields: the scope of a "
      "consent never changes; grant a new consent" },
    { "types", c_types, SL_EINVAL,
      "renewal of consent c1 may not carry purposes, record_types or fields: the scope of a "
      "consent never changes; grant a new consent" },
    { "fields", c_fields, SL_EINVAL,
      "renewal of consent c1 may not carry purposes, record_types or fields: the scope of a "
      "consent never changes; grant a new consent" },
    { "to-before", c_to_before, SL_EINVAL,
      "valid_to 900 is not after valid_from 1000: the renewed consent would never be valid" },
    { "from-after", c_from_after, SL_EINVAL,
      "valid_to 2500 is not after valid_from 3000: the renewed consent would never be valid" },
    { "to-negative", c_to_negative, SL_EINVAL,
      "valid_to -1 is out of range: use Unix seconds UTC, 0..1099511627776" },
    { "evidence", c_evidence, SL_EINVAL, "evidence is longer than 256 bytes" },
};

static const case_t s_withdraw_cases[] = {
    { "no-id", c_no_id, SL_EINVAL, "withdrawal needs consent_id" },
    { "unknown", c_unknown, SL_ENOTFOUND, "withdrawal: unknown consent id 'nope'" },
    { "subject", c_subject, SL_EINVAL,
      "withdrawal of consent c1: subject does not match the consent's subject" },
    { "purposes", c_purposes, SL_EINVAL,
      "withdrawal of consent c1 may not carry purposes, record_types or fields: the scope of "
      "a consent never changes; grant a new consent" },
    { "valid-to", c_valid_to, SL_EINVAL,
      "withdrawal of consent c1 may not carry valid_from or valid_to: a withdrawal takes "
      "effect when it is applied" },
    { "valid-from", c_valid_from, SL_EINVAL,
      "withdrawal of consent c1 may not carry valid_from or valid_to: a withdrawal takes "
      "effect when it is applied" },
};

static void
s_run_change_cases (Sluice__V1__ConsentEvent__Kind kind, const case_t *cases, size_t n)
{
    fx_event_t e;
    sl_consent_result_t r;
    MDB_txn *txn = fx_write (&fx);
    fx_grant (&e, "c1", "CIT-1", 1000, 2000);
    cr_assert_eq (sl_consent_apply (fx.registry, txn, &e.ev, &fx_app, 1000, &r, NULL), 0,
                  "%s", r.error);
    for (size_t i = 0; i < n; i++) {
        fx_change (&e, kind, "c1");
        if (kind == SLUICE__V1__CONSENT_EVENT__KIND__RENEWED)
            e.ev.valid_to = 4000;
        cases[i].mutate (&e);
        int rc = sl_consent_apply (fx.registry, txn, &e.ev, &fx_app, 1500, &r, NULL);
        cr_expect_eq (rc, cases[i].rc, "%s: rc %d (%s)", cases[i].name, rc, r.error);
        cr_expect_str_eq (r.error, cases[i].error, "%s", cases[i].name);
    }
    /* the record is untouched: one event, same window, still valid */
    sl_consent_record_t *rec = NULL;
    cr_assert_eq (sl_consent_get (fx.registry, txn, "c1", &rec), 0);
    cr_assert_eq (sl_consent_record_event_count (rec), 1);
    cr_assert_eq (sl_consent_record_valid_to (rec), 2000);
    cr_assert_eq (sl_consent_record_withdrawn_at (rec), 0);
    cr_assert_str_eq (sl_consent_record_evidence (rec), "receipt-4711");
    sl_consent_record_destroy (&rec);
    mdb_txn_abort (txn);
}

Test (validation, every_renewal_error_is_precise)
{
    s_run_change_cases (SLUICE__V1__CONSENT_EVENT__KIND__RENEWED, s_renew_cases,
                        sizeof s_renew_cases / sizeof s_renew_cases[0]);
}

Test (validation, every_withdrawal_error_is_precise)
{
    s_run_change_cases (SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN, s_withdraw_cases,
                        sizeof s_withdraw_cases / sizeof s_withdraw_cases[0]);
}

/*  Decisions: default deny, forbid wins, field-scoped forbids, validity edges,
 *  wildcards, row conditions, consent statuses, explain, diff. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "policy_test_util.h"
#include "water/v1/water.pb-c.h"
#include "health/v1/health.pb-c.h"

#define T_2026   1767225600LL   /* 2026-01-01T00:00:00Z */
#define T_2027   1798761600LL   /* 2027-01-01T00:00:00Z */
#define T_2028   1830297600LL   /* 2028-01-01T00:00:00Z */
#define T_MID    1781519862LL   /* 2026-06-15T10:37:42Z */

static sl_consent_status_t g_consent;
static int g_consent_calls;
static char g_consent_args[256];

static sl_consent_status_t
fake_consent (void *arg, const char *subject, const char *owner, const char *consumer,
              const char *purpose, const char *record_type, int64_t time)
{
    (void) arg;
    g_consent_calls++;
    snprintf (g_consent_args, sizeof g_consent_args, "%s|%s|%s|%s|%s|%lld", subject, owner,
              consumer, purpose, record_type, (long long) time);
    return g_consent;
}

static sl_policy_request_t
req (const char *owner, const char *consumer, const char *rt, const char *purpose, int64_t t)
{
    return (sl_policy_request_t) { .owner = owner, .consumer = consumer, .record_type = rt,
                                   .purpose = purpose, .subject = "CIT-1", .time = t,
                                   .consent = fake_consent };
}

static const char *
fields_of (const sl_policy_decision_t *d, char *buf, size_t cap)
{
    const char *names[64];
    size_t n = sl_policy_transform_fields (&d->transform, names, 64);
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen (buf);
        snprintf (buf + l, cap - l, "%s%s", i ? "," : "", names[i]);
    }
    return buf;
}

static const char *WATER =
    "permit \"w2p\" {\n"
    "  owner water\n  consumer power\n  records water.v1.MeterReading\n"
    "  purpose joint-metering\n  fields district, date_observed, water_consumption_m3\n"
    "  subject pseudonymize\n  time coarsen hour\n  valid 2026-01-01 .. 2027-12-31\n}\n";

Test (decide, default_deny)
{
    sl_policy_index_t *ix = tu_index_ok (WATER);
    sl_policy_decision_t d;
    struct { const char *o, *c, *rt, *p; const char *reason; } cases[] = {
        { "water", "parking", "water.v1.MeterReading", "joint-metering", "no-matching-rule" },
        { "water", "power", "water.v1.MeterReading", "billing", "no-matching-rule" },
        { "power", "water", "power.v1.MeterReading", "joint-metering", "no-matching-rule" },
        { "water", "power", "water.v9.Nothing", "joint-metering", "unknown-record-type" },
        { "health", "power", "water.v1.MeterReading", "joint-metering", "no-matching-rule" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_policy_request_t r = req (cases[i].o, cases[i].c, cases[i].rt, cases[i].p, T_MID);
        cr_assert_eq (sl_policy_decide (ix, &r, &d), 0);
        cr_expect_not (d.permit, "case %zu", i);
        cr_expect_str_eq (d.reason, cases[i].reason, "case %zu", i);
        cr_expect_null (d.rule, "case %zu", i);
    }
    sl_policy_request_t r = req ("water", "power", "water.v1.MeterReading", "joint-metering", T_MID);
    cr_assert_eq (sl_policy_decide (ix, &r, &d), 0);
    cr_expect (d.permit);
    cr_expect_str_eq (d.reason, "permitted");
    cr_expect_str_eq (sl_policy_rule_id (d.rule), "w2p");
    char ref[64], f[256];
    sl_policy_rule_ref (d.rule, ref, sizeof ref);
    cr_expect_str_eq (ref, "water/w2p@1");
    cr_expect_str_eq (fields_of (&d, f, sizeof f), "subject,district,date_observed,water_consumption_m3");
    cr_expect_eq (d.transform.subject, SL_POLICY_SUBJECT_PSEUDONYMIZE);
    cr_expect_eq (d.transform.coarsen, SL_POLICY_COARSEN_HOUR);
    cr_expect_not (sl_policy_transform_is_identity (&d.transform));
    r.owner = NULL;
    cr_expect_eq (sl_policy_decide (ix, &r, &d), SL_EINVAL);
    sl_policy_index_destroy (&ix);
    cr_expect_null (ix);
}

Test (decide, validity_edges)
{
    /* FROM inclusive; a date as TO includes that whole day; a time as TO is exclusive */
    const char *text =
        "permit \"d\" { owner water consumer power records water.v1.MeterReading purpose billing "
        "fields district valid 2026-01-01 .. 2027-12-31 }\n"
        "permit \"t\" { owner water consumer parking records water.v1.MeterReading purpose billing "
        "fields district valid 2026-01-01T08:30 .. 2026-01-01T09:00:00Z }\n"
        "permit \"o\" { owner power consumer water records power.v1.MeterReading purpose billing "
        "fields district valid 2026-01-01 .. }\n";
    sl_policy_index_t *ix = tu_index_ok (text);
    struct { const char *o, *c, *rt; int64_t t; bool permit; } cases[] = {
        { "water", "power", "water.v1.MeterReading", T_2026 - 1, false },
        { "water", "power", "water.v1.MeterReading", T_2026, true },
        { "water", "power", "water.v1.MeterReading", T_2028 - 1, true },      /* 2027-12-31T23:59:59 */
        { "water", "power", "water.v1.MeterReading", T_2028, false },
        { "water", "parking", "water.v1.MeterReading", T_2026 + 8 * 3600 + 1799, false },
        { "water", "parking", "water.v1.MeterReading", T_2026 + 8 * 3600 + 1800, true },
        { "water", "parking", "water.v1.MeterReading", T_2026 + 9 * 3600 - 1, true },
        { "water", "parking", "water.v1.MeterReading", T_2026 + 9 * 3600, false },
        { "power", "water", "power.v1.MeterReading", T_2026 - 1, false },
        { "power", "water", "power.v1.MeterReading", INT64_MAX, true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_policy_request_t r = req (cases[i].o, cases[i].c, cases[i].rt, "billing", cases[i].t);
        sl_policy_decision_t d;
        cr_assert_eq (sl_policy_decide (ix, &r, &d), 0);
        cr_expect_eq (d.permit, cases[i].permit, "case %zu", i);
        if (!cases[i].permit) {
            cr_expect_str_eq (d.reason, "outside-validity", "case %zu", i);
            cr_expect_not_null (d.rule, "case %zu", i);
        }
    }
    sl_policy_index_destroy (&ix);
}

Test (decide, until_names_the_next_window_edge_that_could_change_the_answer)
{
    /* a permit for the whole of 2026-2027 and a forbid from 2027 on: the
     * answer given in 2026 holds until the forbid starts, then until the
     * permit ends; an open window bounds nothing */
    const char *text =
        "permit \"d\" { owner water consumer power records water.v1.MeterReading purpose billing "
        "fields district valid 2026-01-01 .. 2027-12-31 }\n"
        "forbid \"f\" { owner water consumer power records water.v1.MeterReading purpose billing "
        "valid 2027-01-01 .. }\n"
        "permit \"o\" { owner power consumer water records power.v1.MeterReading purpose billing "
        "fields district valid 2026-01-01 .. }\n";
    sl_policy_index_t *ix = tu_index_ok (text);
    struct { const char *o, *c, *rt; int64_t t; bool permit; int64_t until; } cases[] = {
        { "water", "power", "water.v1.MeterReading", T_2026 - 1, false, T_2026 },
        { "water", "power", "water.v1.MeterReading", T_2026, true, T_2027 },
        { "water", "power", "water.v1.MeterReading", T_2027, false, INT64_MAX },   /* the forbid holds for good */
        { "water", "power", "water.v1.MeterReading", T_2028, false, INT64_MAX },
        { "power", "water", "power.v1.MeterReading", T_2026 - 1, false, T_2026 },
        { "power", "water", "power.v1.MeterReading", T_2026, true, INT64_MAX },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_policy_request_t r = req (cases[i].o, cases[i].c, cases[i].rt, "billing", cases[i].t);
        sl_policy_decision_t d;
        cr_assert_eq (sl_policy_decide (ix, &r, &d), 0);
        cr_expect_eq (d.permit, cases[i].permit, "case %zu", i);
        cr_expect_eq (d.until, cases[i].until, "case %zu: until %lld", i, (long long) d.until);
    }
    sl_policy_index_destroy (&ix);
}

Test (decide, forbid_wins)
{
    const char *text =
        "permit \"p\" { owner water consumer power, parking records water.v1.* purpose billing fields * subject keep }\n"
        "forbid \"no-parking\" { owner water consumer parking }\n"
        "forbid \"no-billing-2027\" { owner water purpose billing valid 2027-01-01 .. }\n";
    sl_policy_index_t *ix = tu_index_ok (text);
    sl_policy_decision_t d;
    sl_policy_request_t r = req ("water", "power", "water.v1.MeterReading", "billing", T_MID);
    sl_policy_decide (ix, &r, &d);
    cr_expect (d.permit);
    cr_expect (sl_policy_transform_is_identity (&d.transform));
    r.consumer = "parking";
    sl_policy_decide (ix, &r, &d);
    cr_expect_not (d.permit);
    cr_expect_str_eq (d.reason, "forbidden");
    cr_expect_str_eq (sl_policy_rule_id (d.rule), "no-parking");
    /* a '*' forbid applies to named and unnamed consumers alike */
    r.consumer = "power";
    r.time = T_2028;
    sl_policy_decide (ix, &r, &d);
    cr_expect_not (d.permit);
    cr_expect_str_eq (sl_policy_rule_id (d.rule), "no-billing-2027");
    r.consumer = "health";
    sl_policy_decide (ix, &r, &d);
    cr_expect_str_eq (d.reason, "forbidden");
    r.time = T_MID;
    sl_policy_decide (ix, &r, &d);
    cr_expect_str_eq (d.reason, "no-matching-rule");
    sl_policy_index_destroy (&ix);
}

Test (decide, field_forbid_strips)
{
    const char *text =
        "permit \"h\" { owner health consumer parking records health.v1.Encounter purpose billing "
        "fields status, diagnosis, reason_code, location subject drop }\n"
        "forbid \"no-dx\" { owner health consumer * fields reason_code, diagnosis }\n"
        "forbid \"no-loc-billing\" { owner health consumer parking purpose billing fields location }\n"
        "forbid \"other-purpose\" { owner health purpose joint-metering fields status }\n";
    sl_policy_index_t *ix = tu_index_ok (text);
    sl_policy_decision_t d;
    sl_policy_request_t r = req ("health", "parking", "health.v1.Encounter", "billing", T_MID);
    sl_policy_decide (ix, &r, &d);
    cr_assert (d.permit);
    char f[256];
    cr_expect_str_eq (fields_of (&d, f, sizeof f), "status");
    cr_expect_eq (d.n_strips, 2);
    cr_expect_str_eq (sl_policy_rule_id (d.strips[0]), "no-dx");
    cr_expect_str_eq (sl_policy_rule_id (d.strips[1]), "no-loc-billing");
    char refs[128];
    cr_expect_eq (sl_policy_decision_rules (&d, refs, sizeof refs), 49);
    cr_expect_str_eq (refs, "health/h@1,health/no-dx@1,health/no-loc-billing@1");
    cr_expect_eq (sl_policy_decision_rules (&d, refs, 12), 49);
    cr_expect_str_eq (refs, "health/h@1,");
    sl_policy_index_destroy (&ix);
}

Test (decide, wildcards_and_first_permit)
{
    const char *text =
        "permit \"all-health\" { owner health consumer parking records health.v1.* purpose billing "
        "fields status, code }\n"
        "permit \"later\" { owner health consumer parking records health.v1.Charge purpose billing fields * }\n";
    sl_policy_index_t *ix = tu_index_ok (text);
    sl_policy_decision_t d;
    char f[256];
    sl_policy_request_t r = req ("health", "parking", "health.v1.Encounter", "billing", T_MID);
    sl_policy_decide (ix, &r, &d);
    cr_expect (d.permit);
    cr_expect_str_eq (fields_of (&d, f, sizeof f), "subject,status");
    r.record_type = "health.v1.Charge";
    sl_policy_decide (ix, &r, &d);
    cr_expect (d.permit);
    cr_expect_str_eq (sl_policy_rule_id (d.rule), "all-health");   /* source order decides */
    cr_expect_str_eq (fields_of (&d, f, sizeof f), "subject,code");
    sl_policy_index_destroy (&ix);
}

Test (decide, row_conditions)
{
    const char *text =
        "permit \"east\" { owner water consumer power records water.v1.MeterReading purpose billing "
        "fields district where district in (\"Xihu\", \"Binjiang\") and water_consumption_m3 >= 10 "
        "or alarm_in_progress = true }\n"
        "forbid \"no-test-meters\" { owner water where meter_name = \"TEST\" }\n";
    sl_policy_index_t *ix = tu_index_ok (text);
    struct { const char *district; double m3; bool alarm; const char *name; const char *reason; } cases[] = {
        { "Xihu", 10, false, "m", "permitted" },
        { "Binjiang", 12.5, false, "m", "permitted" },
        { "Xihu", 9.99, false, "m", "condition-false" },
        { "Gongshu", 50, false, "m", "condition-false" },
        { "Gongshu", 0, true, "m", "permitted" },
        { "Xihu", 10, false, "TEST", "forbidden" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Water__V1__MeterReading m = WATER__V1__METER_READING__INIT;
        m.district = (char *) cases[i].district;
        m.water_consumption_m3 = cases[i].m3;
        m.alarm_in_progress = cases[i].alarm;
        m.meter_name = (char *) cases[i].name;
        sl_policy_request_t r = req ("water", "power", "water.v1.MeterReading", "billing", T_MID);
        r.record = &m.base;
        sl_policy_decision_t d;
        cr_assert_eq (sl_policy_decide (ix, &r, &d), 0);
        cr_expect_str_eq (d.reason, cases[i].reason, "case %zu", i);
    }
    /* without a record a permit's condition cannot hold, and a forbid's counts as holding */
    sl_policy_request_t r = req ("water", "power", "water.v1.MeterReading", "billing", T_MID);
    sl_policy_decision_t d;
    sl_policy_decide (ix, &r, &d);
    cr_expect_str_eq (d.reason, "forbidden");
    /* unless the caller vouches that the record passed them (delivery of a queued copy) */
    r.rows_checked = true;
    sl_policy_decide (ix, &r, &d);
    cr_expect_str_eq (d.reason, "permitted");
    r.rows_checked = false;
    /* a record of the wrong type is a caller error */
    Health__V1__Encounter e = HEALTH__V1__ENCOUNTER__INIT;
    r.record = &e.base;
    cr_expect_eq (sl_policy_decide (ix, &r, &d), SL_EINVAL);
    sl_policy_index_destroy (&ix);
}

Test (decide, consent_statuses)
{
    const char *text =
        "permit \"v\" { owner health consumer parking records health.v1.Encounter "
        "purpose parking-fee-waiver fields status subject keep consent required }\n"
        "permit \"nc\" { owner health consumer parking records health.v1.Encounter "
        "purpose billing fields status }\n";
    sl_policy_index_t *ix = tu_index_ok (text);
    struct { sl_consent_status_t st; bool permit; const char *reason; } cases[] = {
        { SL_CONSENT_VALID, true, "permitted" },
        { SL_CONSENT_MISSING, false, "consent-missing" },
        { SL_CONSENT_EXPIRED, false, "consent-expired" },
        { SL_CONSENT_WITHDRAWN, false, "consent-withdrawn" },
        { SL_CONSENT_NOT_YET_VALID, false, "consent-not-yet-valid" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        g_consent = cases[i].st;
        g_consent_calls = 0;
        sl_policy_request_t r = req ("health", "parking", "health.v1.Encounter", "parking-fee-waiver", T_MID);
        sl_policy_decision_t d;
        sl_policy_decide (ix, &r, &d);
        cr_expect_eq (d.permit, cases[i].permit, "case %zu", i);
        cr_expect_str_eq (d.reason, cases[i].reason, "case %zu", i);
        cr_expect_eq (g_consent_calls, 1, "case %zu", i);
        cr_expect_str_eq (g_consent_args, "CIT-1|health|parking|parking-fee-waiver|health.v1.Encounter|1781519862");
        cr_expect_str_eq (sl_policy_rule_id (d.rule), "v");
    }
    /* a permit without `consent required` never asks */
    g_consent = SL_CONSENT_WITHDRAWN;
    g_consent_calls = 0;
    sl_policy_request_t r = req ("health", "parking", "health.v1.Encounter", "billing", T_MID);
    sl_policy_decision_t d;
    sl_policy_decide (ix, &r, &d);
    cr_expect (d.permit);
    cr_expect_eq (g_consent_calls, 0);
    /* no callback at all: consent is missing */
    r.purpose = "parking-fee-waiver";
    r.consent = NULL;
    sl_policy_decide (ix, &r, &d);
    cr_expect_str_eq (d.reason, "consent-missing");
    sl_policy_index_destroy (&ix);
}

Test (decide, explain)
{
    const char *text =
        "permit \"v\" { owner health consumer parking records health.v1.Encounter "
        "purpose parking-fee-waiver fields status subject keep consent required }\n"
        "permit \"w\" { owner water consumer power records water.v1.MeterReading "
        "purpose joint-metering fields district valid 2026-01-01 .. 2026-12-31 }\n"
        "forbid \"f\" { owner water consumer parking }\n";
    sl_policy_index_t *ix = tu_index_ok (text);
    char buf[1024];
    sl_policy_explain_t ex;

    g_consent = SL_CONSENT_WITHDRAWN;
    sl_policy_request_t r = req ("health", "parking", "health.v1.Encounter", "parking-fee-waiver", T_MID);
    cr_assert_eq (sl_policy_explain (ix, &r, &ex), 0);
    cr_expect_not (ex.decision.permit);
    cr_expect_str_eq (sl_policy_rule_id (ex.nearest), "v");
    cr_expect_eq (ex.failed, SL_POLICY_COND_CONSENT);
    cr_expect_eq (ex.consent, SL_CONSENT_WITHDRAWN);
    sl_policy_explain_render (&ex, buf, sizeof buf);
    cr_expect_str_eq (buf, "deny (consent-withdrawn)\n"
                           "  nearest rule: health/v@1 (t.policy:1)\n"
                           "    failed: consent (withdrawn)\n");

    r = req ("water", "power", "water.v1.MeterReading", "billing", T_2028);
    sl_policy_explain (ix, &r, &ex);
    cr_expect_str_eq (ex.decision.reason, "no-matching-rule");
    cr_expect_str_eq (sl_policy_rule_id (ex.nearest), "w");
    cr_expect_eq (ex.failed, SL_POLICY_COND_PURPOSE | SL_POLICY_COND_VALID);
    sl_policy_explain_render (&ex, buf, sizeof buf);
    cr_expect_str_eq (buf, "deny (no-matching-rule)\n"
                           "  nearest rule: water/w@1 (t.policy:2)\n"
                           "    failed: purpose, valid\n");

    r = req ("water", "parking", "water.v1.MeterReading", "joint-metering", T_MID);
    sl_policy_explain (ix, &r, &ex);
    cr_expect_str_eq (ex.decision.reason, "forbidden");
    sl_policy_explain_render (&ex, buf, sizeof buf);
    cr_expect_str_eq (buf, "deny (forbidden)\n"
                           "  forbidden by water/f@1 (t.policy:3)\n"
                           "  nearest rule: water/w@1 (t.policy:2)\n"
                           "    failed: consumer\n");

    r = req ("water", "power", "water.v1.MeterReading", "joint-metering", T_MID);
    sl_policy_explain (ix, &r, &ex);
    cr_expect (ex.decision.permit);
    sl_policy_explain_render (&ex, buf, sizeof buf);
    cr_expect_str_eq (buf, "permit by water/w@1 (t.policy:2)\n  fields: subject, district\n"
                           "  subject: pseudonymize\n  time: exact\n");
    /* truncation reports the length needed */
    char small[8];
    int need = sl_policy_explain_render (&ex, small, sizeof small);
    cr_expect_eq ((size_t) need, strlen (buf));
    cr_expect_eq (strlen (small), 7);
    sl_policy_index_destroy (&ix);
}

Test (decide, diff)
{
    const char *before =
        "permit \"w\" { owner water consumer power records water.v1.MeterReading "
        "purpose joint-metering fields district, date_observed time coarsen hour }\n"
        "permit \"h\" { owner health consumer parking records health.v1.Encounter "
        "purpose parking-fee-waiver fields status consent required }\n";
    const char *after =
        "permit \"w\" { owner water consumer power records water.v1.MeterReading "
        "purpose joint-metering fields district, water_consumption_m3 time coarsen day }\n"
        "permit \"p\" { owner power consumer water records power.v1.MeterReading "
        "purpose joint-metering fields district }\n";
    sl_policy_index_t *a = tu_index (before), *b = tu_index (after);
    cr_assert (a && b);
    sl_policy_diff_t *d = sl_policy_diff_new (a, b, T_MID);
    cr_assert_not_null (d);
    cr_assert_eq (sl_policy_diff_count (d), 3);
    const sl_policy_change_t *c = sl_policy_diff_at (d, 0);
    cr_expect_str_eq (c->consumer, "parking");
    cr_expect_eq (c->before, SL_POLICY_ACCESS_CONDITIONAL);
    cr_expect_eq (c->after, SL_POLICY_ACCESS_NONE);
    char *text = sl_policy_diff_render (d);
    cr_expect_str_eq (text,
        "- parking health.v1.Encounter parking-fee-waiver: lost (was conditional); fields -subject -status\n"
        "~ power water.v1.MeterReading joint-metering: access full; fields +water_consumption_m3 -date_observed; "
        "time 3600 -> 86400 s\n"
        "+ water power.v1.MeterReading joint-metering: gained (full); fields +subject +district\n");
    free (text);
    sl_policy_diff_destroy (&d);
    /* nothing changes against itself; everything is gained from nothing */
    d = sl_policy_diff_new (a, a, T_MID);
    cr_expect_eq (sl_policy_diff_count (d), 0);
    sl_policy_diff_destroy (&d);
    d = sl_policy_diff_new (NULL, a, T_MID);
    cr_expect_eq (sl_policy_diff_count (d), 2);
    sl_policy_diff_destroy (&d);
    sl_policy_index_destroy (&a);
    sl_policy_index_destroy (&b);
}

/*  Overlapping permits combine "most restrictive wins" (POLICY.md 5): the
 *  order of the rules never matters, and a broad rule added next to a
 *  careful one never widens what the careful one releases. */
static const char *CAREFUL =
    "permit \"careful\" { owner water consumer power records water.v1.MeterReading "
    "purpose joint-metering fields district, date_observed subject pseudonymize time coarsen hour }\n";
static const char *BROAD =
    "permit \"broad\" { owner water consumer power records water.v1.MeterReading "
    "purpose joint-metering fields * subject keep }\n";

static void
expect_careful_copy (const char *text, const char *refs_want)
{
    sl_policy_index_t *ix = tu_index_ok (text);
    sl_policy_decision_t d;
    char f[256], refs[128];
    sl_policy_request_t r = req ("water", "power", "water.v1.MeterReading", "joint-metering", T_MID);
    cr_assert_eq (sl_policy_decide (ix, &r, &d), 0);
    cr_expect (d.permit);
    cr_expect_str_eq (fields_of (&d, f, sizeof f), "subject,district,date_observed");
    cr_expect_eq (d.transform.subject, SL_POLICY_SUBJECT_PSEUDONYMIZE);
    cr_expect_eq (d.transform.coarsen, SL_POLICY_COARSEN_HOUR);
    sl_policy_decision_rules (&d, refs, sizeof refs);
    cr_expect_str_eq (refs, refs_want);
    sl_policy_index_destroy (&ix);
}

Test (combine, most_restrictive_wins_in_any_order)
{
    char both[1024];
    snprintf (both, sizeof both, "%s%s", BROAD, CAREFUL);
    expect_careful_copy (both, "water/broad@1,water/careful@1");    /* first decides, second narrows */
    snprintf (both, sizeof both, "%s%s", CAREFUL, BROAD);
    expect_careful_copy (both, "water/careful@1");            /* broad narrows nothing */
}

Test (combine, strictest_subject_and_coarsest_time)
{
    const char *text =
        "permit \"a\" { owner water consumer power records water.v1.MeterReading "
        "purpose joint-metering fields district subject drop time coarsen minute }\n"
        "permit \"b\" { owner water consumer power records water.v1.MeterReading "
        "purpose joint-metering fields district, date_observed subject keep time coarsen day }\n";
    sl_policy_index_t *ix = tu_index (text);
    sl_policy_decision_t d;
    char f[256];
    sl_policy_request_t r = req ("water", "power", "water.v1.MeterReading", "joint-metering", T_MID);
    sl_policy_decide (ix, &r, &d);
    cr_expect_eq (d.transform.subject, SL_POLICY_SUBJECT_DROP);
    cr_expect_eq (d.transform.coarsen, SL_POLICY_COARSEN_DAY);
    cr_expect_str_eq (fields_of (&d, f, sizeof f), "district");
    cr_expect_eq (d.n_narrows, 1);
    sl_policy_index_destroy (&ix);
}

Test (combine, only_matching_permits_narrow)
{
    /* a permit whose row condition fails, or whose window is over, does not
     * narrow; one that needs a consent not given does not either */
    const char *text =
        "permit \"all\" { owner water consumer power records water.v1.MeterReading "
        "purpose joint-metering fields district, date_observed }\n"
        "permit \"alarms\" { owner water consumer power records water.v1.MeterReading "
        "purpose joint-metering fields district where alarm_in_progress = true }\n"
        "permit \"old\" { owner water consumer power records water.v1.MeterReading "
        "purpose joint-metering fields district valid 2020-01-01 .. 2020-12-31 }\n"
        "permit \"consented\" { owner water consumer power records water.v1.MeterReading "
        "purpose joint-metering fields district consent required }\n";
    sl_policy_index_t *ix = tu_index_ok (text);
    Water__V1__MeterReading m = WATER__V1__METER_READING__INIT;
    m.district = "Xihu";
    sl_policy_decision_t d;
    char f[256];
    sl_policy_request_t r = req ("water", "power", "water.v1.MeterReading", "joint-metering", T_MID);
    r.record = &m.base;
    g_consent = SL_CONSENT_MISSING;
    g_consent_calls = 0;
    sl_policy_decide (ix, &r, &d);
    cr_expect_str_eq (fields_of (&d, f, sizeof f), "subject,district,date_observed");
    cr_expect_eq (g_consent_calls, 1);
    m.alarm_in_progress = true;
    sl_policy_decide (ix, &r, &d);
    cr_expect_str_eq (fields_of (&d, f, sizeof f), "subject,district");
    cr_expect_eq (d.n_narrows, 1);
    cr_expect_str_eq (sl_policy_rule_id (d.narrows[0]), "alarms");
    /* consent given: asked once for the decision, however many permits need it */
    m.alarm_in_progress = false;
    g_consent = SL_CONSENT_VALID;
    g_consent_calls = 0;
    sl_policy_decide (ix, &r, &d);
    cr_expect_str_eq (fields_of (&d, f, sizeof f), "subject,district");
    cr_expect_eq (g_consent_calls, 1);
    sl_policy_index_destroy (&ix);
}

Test (combine, adding_a_broad_rule_never_widens)
{
    char both[1024];
    snprintf (both, sizeof both, "%s%s", BROAD, CAREFUL);
    sl_policy_index_t *a = tu_index (CAREFUL), *b = tu_index (both);
    cr_assert (a && b);
    sl_policy_diff_t *d = sl_policy_diff_new (a, b, T_MID);
    cr_expect_eq (sl_policy_diff_count (d), 0);
    sl_policy_diff_destroy (&d);
    sl_policy_index_destroy (&a);
    sl_policy_index_destroy (&b);
}

/*  The nearest rule is chosen by the conditions that can be evaluated:
 *  without a record a `where` is unknown, not failed, and a rule about the
 *  same consumer and purpose beats one about another (usability review 9). */
Test (explain, nearest_rule_ignores_unevaluable_where)
{
    const char *text =
        "permit \"w2p\" { owner water consumer power records water.v1.MeterReading "
        "purpose joint-metering fields district }\n"
        "permit \"alarms\" { owner water consumer parking records water.v1.MeterReading "
        "purpose billing fields district valid 2026-01-01 .. 2026-03-31 "
        "where alarm_in_progress = true }\n";
    sl_policy_index_t *ix = tu_index_ok (text);
    sl_policy_explain_t ex;
    sl_policy_request_t r = req ("water", "parking", "water.v1.MeterReading", "billing", T_MID);
    cr_assert_eq (sl_policy_explain (ix, &r, &ex), 0);
    cr_expect (!ex.decision.permit);
    cr_expect_str_eq (ex.decision.reason, "outside-validity");
    cr_assert_not_null (ex.nearest);
    cr_expect_str_eq (sl_policy_rule_id (ex.nearest), "alarms");
    cr_expect_eq (ex.failed, SL_POLICY_COND_VALID);
    cr_expect_eq (ex.unknown, SL_POLICY_COND_WHERE);
    char buf[512];
    sl_policy_explain_render (&ex, buf, sizeof buf);
    cr_expect_str_eq (buf, "deny (outside-validity)\n"
                           "  nearest rule: water/alarms@1 (t.policy:2)\n"
                           "    failed: valid\n"
                           "    not evaluated: where (no record given; explain with a sample record)\n");
    /* with a sample record the condition is evaluated: inside the window and
     * with an alarm, it permits */
    Water__V1__MeterReading m = WATER__V1__METER_READING__INIT;
    m.alarm_in_progress = true;
    r.record = &m.base;
    r.time = 1769904000;   /* 2026-02-01 */
    cr_assert_eq (sl_policy_explain (ix, &r, &ex), 0);
    cr_expect (ex.decision.permit);
    m.alarm_in_progress = false;
    cr_assert_eq (sl_policy_explain (ix, &r, &ex), 0);
    cr_expect (!ex.decision.permit);
    cr_expect_str_eq (ex.decision.reason, "condition-false");
    cr_expect_eq (ex.failed, SL_POLICY_COND_WHERE);
    cr_expect_eq (ex.unknown, 0);
    sl_policy_index_destroy (&ix);
}

/*  `valid` windows are the city's wall clock (sl_time_set_city_zone): a
 *  Hangzhou window ending 2026-12-31 ends at local midnight, 16:00 UTC
 *  (usability review 7), and Z or an offset names an instant. */
#include "sl_time.h"

Test (zones, valid_windows_in_the_city_zone)
{
    char err[200];
    sl_tz_t *z = sl_tz_load ("Asia/Shanghai", err, sizeof err);
    cr_assert_not_null (z, "%s", err);
    sl_time_set_city_zone (z);
    const char *text =
        "permit \"w\" { owner water consumer power records water.v1.MeterReading "
        "purpose joint-metering fields district valid 2026-01-01 .. 2026-12-31 }\n"
        "permit \"x\" { owner water consumer parking records water.v1.MeterReading "
        "purpose joint-metering fields district valid 2026-06-01T08:00+08:00 .. 2026-06-01T09:00Z }\n";
    sl_policy_index_t *ix = tu_index_ok (text);
    sl_policy_decision_t d;
    sl_policy_request_t r = req ("water", "power", "water.v1.MeterReading", "joint-metering",
                                 1798732799);                     /* 2026-12-31T15:59:59Z */
    sl_policy_decide (ix, &r, &d);
    cr_expect (d.permit);
    r.time = 1798732800;                                          /* 16:00Z = 00:00 in Hangzhou */
    sl_policy_decide (ix, &r, &d);
    cr_expect (!d.permit);
    cr_expect_str_eq (d.reason, "outside-validity");
    r.time = 1767196800;                                          /* 2025-12-31T16:00Z: starts */
    sl_policy_decide (ix, &r, &d);
    cr_expect (d.permit);
    r.time = 1767196799;
    sl_policy_decide (ix, &r, &d);
    cr_expect (!d.permit);
    /* explicit instants: 08:00+08:00 = 00:00Z until 09:00Z */
    r.consumer = "parking";
    r.time = 1780272000;                                          /* 2026-06-01T00:00Z */
    sl_policy_decide (ix, &r, &d);
    cr_expect (d.permit);
    r.time = 1780272000 + 9 * 3600;
    sl_policy_decide (ix, &r, &d);
    cr_expect (!d.permit);
    sl_policy_index_destroy (&ix);
    sl_time_set_city_zone (NULL);
}

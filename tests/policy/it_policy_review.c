/*  Integration: what an administrator sees before and after a change, on the
 *  real sluiced — lints in apply (and --strict), the dry run's first line
 *  when a change widens what leaves, full error texts with one prefix,
 *  explain with sample records and drafts and its exit status, check
 *  --data against the applied policies and subscriptions, namespaced ids.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_it.h"

static const char *CITY =
    "purpose joint-metering     \"Water and power reconcile consumption\"\n"
    "purpose parking-fee-waiver \"Parking waives fees for hospital visits\"\n";

static const char *CAREFUL =
    TL_RULE ("careful", "water", "power", TL_WATER, "joint-metering", "district, date_observed",
             "  subject   pseudonymize\n  time      coarsen hour\n");

static sl_keypair_t k_power, k_wadmin;
static char tmp[400];   /* b.dir/..: the key of wadmin, the policy files */

static void
setup (void)
{
    sl_keypair_t k;
    cr_assert_eq (tc_scene (&b, NULL, &k, &k_power, NULL, NULL), 0);
    cr_assert_eq (tc_member (&b, "parking", "member", &k), 0);
    cr_assert_eq (tc_member (&b, "health", "member", &k), 0);
    cr_assert_eq (tc_member (&b, "wadmin", "admin:water", &k_wadmin), 0);
    snprintf (tmp, sizeof tmp, "%s/..", b.dir);
    char err[300];
    cr_assert_eq (sl_keys_write (tmp, "wadmin", &k_wadmin, 0, err, sizeof err), 0, "%s", err);
}

/*  The city's purposes, then (when not NULL) `water` as water's policy
 *  and power subscribed to water readings for joint-metering. */
static void
scene (const char *water)
{
    cJSON_Delete (apply (&b.admin, "city", CITY, 0, OK));
    if (water) {
        cJSON_Delete (apply (&k_wadmin, "water", water, 0, OK));
        subscribe_water (&k_power, "power", "joint-metering");
    }
}

/*  `sluicectl policy apply --dry-run` of file `path` as water's
 *  administrator (stderr dropped; what it printed in out); asserts exit 0. */
static void
dry_run (const char *path)
{
    cr_assert_eq (ctl ("--data %s --key %s/wadmin.key policy apply --dry-run %s 2>/dev/null",
                       b.dir, tmp, path), 0, "%s", out);
}

/*  Past the lint lines sluicectl writes on stderr first (FILE:L:C:
 *  warning|note: ...): where its standard output begins. */
static const char *
s_stdout (const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr (p, '\n');
        size_t l = nl ? (size_t) (nl - p) : strlen (p);
        if (!memmem (p, l, ": warning: ", 11) && !memmem (p, l, ": note: ", 8))
            break;
        p += l + (nl ? 1 : 0);
    }
    return p;
}

TestSuite (policy_review, .init = setup, .fini = teardown, .timeout = 90);

Test (policy_review, apply_lints_and_strict_refuses)
{
    scene (NULL);
    char text[4096];
    snprintf (text, sizeof text, "%s%s", CAREFUL,
              WATER_PERMIT ("all-to-health", "health", "joint-metering", "*", "  subject keep\n"));
    /* strict: the warning refuses the text, nothing is stored */
    cJSON *r = apply (&k_wadmin, "water", text, STRICT, BAD_REQUEST);
    TL_HAS (last_text, "test.policy:15:3: error: permit \"all-to-health\" releases every "
                       "field with the raw citizen id",
            "with strict; nothing was changed");
    cJSON_Delete (r);
    cJSON_Delete (adm (&k_wadmin, "policy.show", args_owner ("water"), NOT_FOUND));
    /* without strict: applied, with the warnings in the result */
    r = apply (&k_wadmin, "water", text, 0, OK);
    cr_assert_eq (num (r, "version"), 1);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive (r, "warnings");
    cr_assert_geq (cJSON_GetArraySize (w), 1, "%s", str (r, "warnings_text"));
    cr_assert (strstr (str (r, "warnings_text"), "test.policy:15:3: warning: permit \"all-to-health\""),
               "%s", str (r, "warnings_text"));
    cJSON_Delete (r);
}

Test (policy_review, dry_run_says_first_when_a_change_widens)
{
    scene (CAREFUL);

    /* a broad rule placed before the careful one narrows nothing: no widening */
    char text[4096];
    snprintf (text, sizeof text, "%s%s", TL_PERMIT ("broad", "*", "keep", ""), CAREFUL);
    const char *path = write_tmp ("broad-first.policy", text);
    TL_EXPECT (ctl ("--data %s --key %s/wadmin.key policy apply --dry-run %s", b.dir, tmp, path),
               0, out, "access changes: none\n");
    cr_assert (!strstr (out, "WARNING"), "%s", out);
    TL_HAS (out, "warning: permit \"broad\" has no effect: permit \"careful\"");

    /* the careful rule replaced by a raw-id one: said in the first line, and
     * at the live subscription */
    dry_run (write_tmp ("raw.policy", TL_PERMIT ("careful", "district, date_observed, ref_device",
                                                 "keep", "  time coarsen hour\n")));
    cr_assert (strncmp (s_stdout (out), "WARNING: this change widens what leaves for 1 (consumer, "
                             "record type, purpose):\n  power water.v1.MeterReading joint-metering: fields "
                             "+ref_device; subject pseudonymize -> keep\n", 155) == 0, "%s", out);
    TL_HAS (out, "live subscriptions affected:\n  power water.v1.MeterReading "
                 "joint-metering: copy would change (full -> full); fields +ref_device; "
                 "subject pseudonymize -> keep\n");

    /* a new consumer gains access: also in the first line */
    char text2[4096];
    snprintf (text2, sizeof text2, "%s%s", CAREFUL,
              WATER_PERMIT ("to-parking", "parking", "joint-metering", "district", ""));
    dry_run (write_tmp ("more.policy", text2));
    cr_assert (strncmp (s_stdout (out), "WARNING: this change widens what leaves for 1 (consumer, "
                             "record type, purpose):\n  parking water.v1.MeterReading "
                             "joint-metering: gains access\n", 128) == 0, "%s", out);
    /* a narrowing change does not warn */
    dry_run (write_tmp ("narrow.policy", TL_PERMIT ("careful", "district", "drop", "  time coarsen day\n")));
    cr_assert (strncmp (s_stdout (out), "dry run: ", 9) == 0, "%s", out);

    /* the city's dry run lists the purposes it adds and removes */
    path = write_tmp ("city.policy", "purpose joint-metering \"x\"\npurpose road-works \"Road works\"\n");
    TL_EXPECT (ctl ("--data %s policy apply --dry-run --owner city %s", b.dir, path),
               0, out, "purposes: +road-works -parking-fee-waiver\n");
}

Test (policy_review, every_error_of_a_long_apply_with_one_prefix)
{
    scene (NULL);
    /* ten unknown fields, one per rule: far more than 600 bytes of errors */
    char text[8192] = "";
    for (int i = 0; i < 10; i++) {
        size_t l = strlen (text);
        snprintf (text + l, sizeof text - l,
                  "permit \"rule-%d\" {\n  owner water\n  consumer power\n"
                  "  records water.v1.MeterReading\n  purpose joint-metering\n"
                  "  fields no_such_field_%d\n}\n", i, i);
    }
    cJSON_Delete (apply (&k_wadmin, "water", text, 0, BAD_REQUEST));
    cr_assert_gt (strlen (last_text), 600);
    cr_assert_eq (tl_count (last_text, ": error: unknown field 'no_such_field_"), 10, "%s", last_text);
    cr_assert (strstr (last_text, "test.policy:69:10: error: unknown field 'no_such_field_9'"), "%s",
               last_text);

    const char *path = write_tmp ("ten.policy", text);
    TL_EXPECT (ctl ("--data %s --key %s/wadmin.key policy apply %s", b.dir, tmp, path),
               1, out, "sluicectl: policy: policy.apply: ");
    cr_assert_eq (tl_count (out, ": error: unknown field 'no_such_field_"), 10, "%s", out);
    cr_assert_eq (tl_count (out, "policy.apply:"), 1, "%s", out);
}

Test (policy_review, explain_with_sample_records_drafts_and_exit_status)
{
    scene (NULL);
    cJSON_Delete (apply (&k_wadmin, "water", WATER_PERMIT ("alarms", "power", "joint-metering", "district",
                                                          "  where alarm_in_progress = true\n"), 0, OK));
    const char *q = "--consumer power --type water.v1.MeterReading --purpose joint-metering";
    /* no record: the condition is not evaluated, deny, exit 1 */
    TL_EXPECT (ctl ("--data %s policy explain %s", b.dir, q),
               1, out, "deny (condition-false)\n  nearest rule: water/alarms@1 (test.policy:1)\n"
                            "    not evaluated: where");
    /* a sample record with the alarm: permit, exit 0 */
    const char *yes = write_tmp ("alarm.json", "{\"district\":\"Xihu\",\"alarm_in_progress\":true}");
    const char *no = write_tmp ("quiet.json", "{\"district\":\"Xihu\",\"alarm_in_progress\":false}");
    const char *bad = write_tmp ("bad.json", "{\"distrct\":\"Xihu\"}");
    TL_EXPECT (ctl ("--data %s policy explain %s --record %s", b.dir, q, yes),
               0, out, "permit by water/alarms@1");
    TL_EXPECT (ctl ("--data %s policy explain %s --record %s", b.dir, q, no),
               1, out, "    failed: where\n");
    /* errors: exit 2 */
    TL_EXPECT (ctl ("--data %s policy explain %s --record %s", b.dir, q, bad),
               2, out, "did you mean 'district'?");
    cr_assert_eq (ctl ("--data %s policy explain --consumer power --record water.v1.Nope "
                       "--purpose joint-metering", b.dir), 2, "%s", out);
    /* a draft without the condition permits, the policy in force is untouched */
    const char *draft = write_tmp ("draft.policy",
                                   WATER_PERMIT ("all", "power", "joint-metering", "district", ""));
    TL_EXPECT (ctl ("--data %s --key %s/wadmin.key policy explain %s --draft %s", b.dir, tmp, q,
                       draft), 0, out, "permit by water/all@0 (draft.policy:1)");
    TL_HAS (out, "explained against the draft");
    cr_assert_eq (ctl ("--data %s policy explain %s", b.dir, q), 1, "%s", out);
    const char *broken = write_tmp ("broken.policy", "permit \"x\" { owner water consumer powr }\n");
    TL_EXPECT (ctl ("--data %s --key %s/wadmin.key policy explain %s --draft %s", b.dir, tmp, q,
                       broken), 2, out, "does not check");
    /* the purposes listing */
    TL_EXPECT (ctl ("--data %s policy purposes", b.dir),
               0, out, "joint-metering      Water and power reconcile consumption\n");
}

Test (policy_review, check_with_data_checks_against_applied_policies_and_subscriptions)
{
    scene (CAREFUL);
    /* a new version of water's own file: its applied text is not counted twice */
    const char *w = write_tmp ("water.policy", CAREFUL);
    TL_EXPECT (ctl ("policy check --data %s %s", b.dir, w),
               0, out, "1 other applied policy, 1 subscription");
    /* power may use the same rule id: ids are namespaced by owner */
    const char *p = write_tmp ("power.policy",
                               "permit \"careful\" {\n  owner power\n  consumer water\n"
                               "  records power.v1.MeterReading\n  purpose joint-metering\n"
                               "  fields district\n}\n");
    /* nobody subscribes to power's readings: a warning, an error with --strict */
    TL_EXPECT (ctl ("policy check --data %s %s", b.dir, p), 0, out,
               "warning: no consumer subscribes for purpose 'joint-metering' to what "
               "permit \"careful\" releases");
    cr_assert_eq (ctl ("policy check --strict --data %s %s", b.dir, p), 1, "%s", out);
    cr_assert_eq (ctl ("policy check --data %s/nonexistent %s", b.dir, p), 2, "%s", out);
    /* --against: the broker judges, with the caller's role */
    TL_EXPECT (ctl ("--data %s --key %s/wadmin.key policy check --against %s", b.dir, tmp, w),
               0, out, "ok against the broker: water policy would become version 2");
    TL_EXPECT (ctl ("--data %s --key %s/wadmin.key policy check --against %s", b.dir, tmp, p),
               1, out, "policy.apply: role 'admin:water' may not apply the policy of 'power'");
}

/* ------------------------------------------------------------------------ */
/*  The city's time zone (sluiced --timezone): `valid` windows and explain's
 *  --at without a zone are the city's wall clock; Z and offsets are instants. */

static void
zone_setup (void)
{
    static const char *const extra[] = { "--timezone", "Asia/Shanghai", NULL };
    sl_keypair_t k;
    cr_assert_eq (tc_broker_start (&b, extra), 0);
    cr_assert_eq (tc_member (&b, "power", "member", &k_power), 0);
    cr_assert_eq (tc_member (&b, "water", "member", &k), 0);
    cr_assert_eq (tc_member (&b, "wadmin", "admin:water", &k_wadmin), 0);
    snprintf (tmp, sizeof tmp, "%s/..", b.dir);
}

TestSuite (policy_zone, .init = zone_setup, .fini = teardown, .timeout = 90);

Test (policy_zone, windows_and_times_in_the_city_zone)
{
    char path[500];
    snprintf (path, sizeof path, "%s/timezone", b.dir);
    FILE *f = fopen (path, "r");
    cr_assert_not_null (f, "sluiced did not write DIR/timezone");
    char name[64] = "";
    cr_assert_not_null (fgets (name, sizeof name, f));
    fclose (f);
    cr_assert_str_eq (name, "Asia/Shanghai\n");

    scene (NULL);
    cJSON_Delete (apply (&k_wadmin, "water", WATER_PERMIT ("w", "power", "joint-metering", "district",
                                                          "  valid 2026-01-01 .. 2026-12-31\n"), 0, OK));
    const char *q = "--consumer power --record water.v1.MeterReading --purpose joint-metering";
    /* the window ends at midnight in Hangzhou: 16:00 UTC; zone-less --at is
     * the city's clock too; offsets name instants */
    static const struct { const char *at; int status; const char *says; } at[] = {
        { "2026-12-31T15:59:59Z", 0, NULL }, { "2026-12-31T16:00:00Z", 1, "deny (outside-validity)" },
        { "2026-12-31T23:59", 0, NULL }, { "2027-01-01T00:00", 1, NULL },
        { "2026-12-31T10:00-06:00", 1, NULL },
    };
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        int st = ctl ("--data %s policy explain %s --at %s", b.dir, q, at[i].at);
        cr_assert_eq (st, at[i].status, "--at %s: exit %d: %s", at[i].at, st, out);
        cr_assert (!at[i].says || strstr (out, at[i].says), "--at %s: %s", at[i].at, out);
    }
    /* strict calendar and relative times in the CLI's filters */
    TL_EXPECT (ctl ("--data %s audit query --since 2026-02-30", b.dir),
               2, out, "'2026-02-30': February 2026 has 28 days");
    TL_EXPECT (ctl ("--data %s audit query --since 2h --kind policy.apply", b.dir),
               0, out, "policy.apply");
    cr_assert_eq (ctl ("--data %s audit query --since yesterday --until 2h --kind policy.apply",
                       b.dir), 0, "%s", out);
    cr_assert (!strstr (out, "policy.apply "), "%s", out);
}

/*  The review's file: each problem once, one warning each at its line. */
Test (policy_review, check_warns_once_per_problem_at_its_line)
{
    scene (NULL);
    subscribe_water (&k_power, "power", "joint-metering");
    const char *path = write_tmp ("water.policy",
        "permit \"careful\" {\n"                                 /* 1 */
        "  owner water\n  consumer power\n  records water.v1.MeterReading\n"
        "  purpose joint-metering\n  fields district, date_observed\n}\n"
        "permit \"careful-again\" {\n"                           /* 8: duplicate */
        "  owner water\n  consumer power\n  records water.v1.MeterReading\n"
        "  purpose joint-metering\n  fields district, date_observed\n}\n"
        "permit \"last-year\" {\n"                               /* 15 */
        "  owner water\n  consumer parking\n  records water.v1.MeterReading\n"
        "  purpose joint-metering\n  fields district\n"
        "  valid 2025-01-01 .. 2025-06-30\n}\n"                  /* 21: expired */
        "forbid \"no-parking\" {\n  owner water\n  consumer parking\n}\n"   /* 23: cancels 15 */
        "permit \"to-health\" {\n"                               /* 27 */
        "  owner water\n  consumer health\n  records water.v1.MeterReading\n"
        "  purpose parking-fee-waiver\n"                         /* 31: nobody subscribes */
        "  fields *\n  subject keep\n"                           /* 32: raw ids */
        "  where max_flow_m3h > 5 and max_flow_m3h < 3\n}\n");   /* 34: never true */
    cr_assert_eq (ctl ("policy check --data %s %s 2>&1", b.dir, path), 0, "%s", out);
    static const char *const warned[] = {
        ":8:8: warning: permit \"careful-again\" duplicates permit \"careful\"",
        ":21:3: warning: permit \"last-year\" has expired",
        ":23:8: warning: forbid \"no-parking\" cancels permit \"last-year\"",
        ":31:11: warning: no consumer subscribes for purpose 'parking-fee-waiver'",
        ":32:3: warning: permit \"to-health\" releases every field with the raw citizen id",
        ":34:9: warning: the row condition of permit \"to-health\" can never be true",
    };
    for (size_t i = 0; i < sizeof warned / sizeof *warned; i++) {
        char want[400];
        snprintf (want, sizeof want, "%s%s", path, warned[i]);
        cr_expect_eq (tl_count (out, want), 1, "%s\n--- in:\n%s", want, out);
    }
    /* and, rightly, nobody subscribes for what "last-year" released either */
    cr_expect (strstr (out, ":19:11: warning: no consumer subscribes for purpose 'joint-metering' to "
                            "what permit \"last-year\" releases"), "%s", out);
    cr_expect_eq (tl_count (out, ": warning: "), 7, "%s", out);
    TL_HAS (out, "1 file ok: 5 rules, 0 purposes declared; 7 warnings");
    cr_assert_eq (ctl ("policy check --strict --data %s %s", b.dir, path), 1, "%s", out);
    cr_expect_eq (tl_count (out, ": error: "), 7, "%s", out);
}

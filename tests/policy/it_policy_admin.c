/*  Integration: the policy management surface against the real sluiced —
 *  policy.apply / list / show / history / diff / rollback / explain, the
 *  dry run against live subscriptions, role enforcement, and sluicectl
 *  policy (online, and `check` offline on files and on a data directory).
 *
 *  Each test starts its own broker on a fresh temporary data directory with
 *  ephemeral loopback ports (tests/lib/tc.h), so tests run in parallel.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy_it.h"
#include "sl_audit.h"
#include "sluice/v1/consent.pb-c.h"

static const char *CITY =
    "purpose joint-metering     \"Water and power reconcile consumption\"\n"
    "purpose parking-fee-waiver \"Parking waives fees for hospital visits\"\n"
    "forbid \"no-diagnoses-leave-health\" {\n"
    "  owner     health\n"
    "  fields    reason_code, diagnosis\n"
    "}\n";

#define W2P_VALID "  valid     2026-01-01 .. 2027-12-31\n"

static const char *WATER_V1 =
    "# version 1\n"
    TL_RULE ("water-to-power", "water", "power", TL_WATER, "joint-metering",
             "district, date_observed, water_consumption_m3",
             "  subject   pseudonymize\n  time      coarsen hour\n" W2P_VALID)
    TL_RULE ("water-to-parking", "water", "parking", TL_WATER, "parking-fee-waiver", "district", "");

/*  v2: power loses date_observed (and gets daily times), parking loses
 *  access, health gains it. */
static const char *WATER_V2 =
    TL_RULE ("water-to-power", "water", "power", TL_WATER, "joint-metering",
             "district, water_consumption_m3",
             "  subject   pseudonymize\n  time      coarsen day\n" W2P_VALID)
    TL_RULE ("water-to-health", "water", "health", TL_WATER, "joint-metering", "district", "");

static const char *POWER_V1 = TL_RULE ("power-to-water", "power", "water", "power.v1.MeterReading",
                                       "joint-metering", "district, date_observed", "");

/*  health may have district for joint-metering: nothing for power. */
#define HEALTH_ONLY WATER_PERMIT ("water-to-health", "health", "joint-metering", "district", "")

/*  2026-06-01T00:00:00Z: inside the validity windows above. */
#define AT_JUNE 1780272000

static sl_keypair_t k_water, k_power, k_parking, k_health;   /* data members */
static sl_keypair_t k_wadmin, k_padmin, k_auditor;          /* admin:water, admin:power, auditor */

static void
setup (void)
{
    cr_assert_eq (tc_scene (&b, NULL, &k_water, &k_power, NULL, NULL), 0);
    cr_assert_eq (tc_member (&b, "parking", "member", &k_parking), 0);
    cr_assert_eq (tc_member (&b, "health", "member", &k_health), 0);
    cr_assert_eq (tc_member (&b, "wadmin", "admin:water", &k_wadmin), 0);
    cr_assert_eq (tc_member (&b, "padmin", "admin:power", &k_padmin), 0);
    cr_assert_eq (tc_member (&b, "auditor", "auditor", &k_auditor), 0);
}

/*  args_owner with "version": v. */
static cJSON *
args_version (const char *owner, double v)
{
    cJSON *a = args_owner (owner);
    cJSON_AddNumberToObject (a, "version", v);
    return a;
}

/*  The arguments of policy.diff: owner, v1, v2 and, when not 0, at. */
static cJSON *
args_diff (const char *owner, double v1, double v2, double at)
{
    cJSON *a = args_owner (owner);
    cJSON_AddNumberToObject (a, "v1", v1);
    cJSON_AddNumberToObject (a, "v2", v2);
    if (at != 0)
        cJSON_AddNumberToObject (a, "at", at);
    return a;
}

/*  The arguments of policy.explain (no time, no subject). */
static cJSON *
args_explain (const char *consumer, const char *type, const char *purpose)
{
    cJSON *a = cJSON_CreateObject ();
    cJSON_AddStringToObject (a, "consumer", consumer);
    cJSON_AddStringToObject (a, "record_type", type);
    cJSON_AddStringToObject (a, "purpose", purpose);
    return a;
}

/*  Asserts that the string members of `o` named in the NULL-terminated
 *  list of (name, value) pairs have those values; the message names the
 *  member. */
static void
expect_strs (const cJSON *o, ...)
{
    va_list ap;
    va_start (ap, o);
    for (const char *name; (name = va_arg (ap, const char *));) {
        const char *want = va_arg (ap, const char *);
        cr_assert_str_eq (str (o, name), want, "'%s' is '%s', expected '%s' in %s", name,
                          str (o, name), want, cJSON_PrintUnformatted (o));
    }
    va_end (ap);
}

/*  True if the JSON array `a` holds exactly the strings given (in order),
 *  NULL-terminated. */
static int
strings_are (const cJSON *a, ...)
{
    va_list ap;
    va_start (ap, a);
    int i = 0, ok = cJSON_IsArray (a);
    for (const char *s; ok && (s = va_arg (ap, const char *)); i++) {
        const cJSON *e = cJSON_GetArrayItem (a, i);
        ok = cJSON_IsString (e) && strcmp (e->valuestring, s) == 0;
    }
    va_end (ap);
    return ok && cJSON_GetArraySize (a) == i;
}

/*  Member `name` of `o` (NULL when missing). */
#define item(o, name) cJSON_GetObjectItemCaseSensitive ((o), (name))

/*  policy.explain as the auditor at `at` (Unix seconds). */
static cJSON *
explain (const char *consumer, const char *type, const char *purpose, double at)
{
    cJSON *a = args_explain (consumer, type, purpose);
    cJSON_AddNumberToObject (a, "at", at);
    return adm (&k_auditor, "policy.explain", a, OK);
}

/*  The change for (consumer, type, purpose) in array `changes`, or NULL. */
static const cJSON *
change_for (const cJSON *changes, const char *consumer, const char *type, const char *purpose)
{
    const cJSON *c;
    cJSON_ArrayForEach (c, changes)
        if (!strcmp (str (c, "consumer"), consumer) && !strcmp (str (c, "record_type"), type)
            && !strcmp (str (c, "purpose"), purpose))
            return c;
    return NULL;
}

/*  Stops the broker and reads its audit log (read-only): the entries of
 *  `kind`, as "actor|owner|rules|detail" lines, into out (cap bytes).
 *  Returns how many there are. */
static int
audit_entries (const char *kind, char *lines, size_t cap)
{
    cr_assert_eq (tc_broker_stop (&b), 0, "sluiced did not stop cleanly");
    static tc_entry_t e[64];
    long n = tc_audit_read (b.dir, kind, e, 64);
    cr_assert (n >= 0 && n <= 64, "%ld %s entries", n, kind);
    size_t len = 0;
    lines[0] = 0;
    for (long i = 0; i < n; i++) {
        len += (size_t) snprintf (lines + len, cap - len, "%s|%s|%s|%s\n", e[i].actor, e[i].owner,
                                  e[i].rules, e[i].detail);
        cr_assert (len < cap);
    }
    return (int) n;
}

/*  Asserts that policy.history of `owner` lists `versions` versions, the
 *  current one `current`. */
static void
expect_history (const char *owner, int versions, int current)
{
    cJSON *h = adm (&k_auditor, "policy.history", args_owner (owner), OK);
    cr_assert_eq (cJSON_GetArraySize (item (h, "versions")), versions, "%s", cJSON_PrintUnformatted (h));
    cr_assert_eq (num (h, "current"), current);
    cJSON_Delete (h);
}

static void
apply_base (void)
{
    cJSON_Delete (apply (&b.admin, "city", CITY, 0, OK));
    cJSON *r = apply (&k_wadmin, "water", WATER_V1, 0, OK);
    cr_assert_eq (num (r, "version"), 1);
    cJSON_Delete (r);
}

TestSuite (policy_admin, .init = setup, .fini = teardown, .timeout = 90);

Test (policy_admin, apply_then_list_show_history)
{
    apply_base ();
    cJSON *l = adm (&k_auditor, "policy.list", cJSON_CreateObject (), OK);
    cr_assert_eq (cJSON_GetArraySize (l), 2, "%s", cJSON_PrintUnformatted (l));
    const cJSON *city = cJSON_GetArrayItem (l, 0), *water = cJSON_GetArrayItem (l, 1);
    expect_strs (city, "owner", "city", "actor", "admin", "role", "admin:city", NULL);
    cr_assert_eq (num (city, "rules"), 1);
    expect_strs (water, "owner", "water", "actor", "wadmin", "role", "admin:water", NULL);
    cr_assert_eq (num (water, "version"), 1);
    cr_assert_eq (num (water, "rules"), 2);
    int64_t now = time (NULL);
    cr_assert (num (water, "time") > now - 60 && num (water, "time") <= now + 1);
    cJSON_Delete (l);

    cJSON *s = adm (&k_auditor, "policy.show", args_owner ("water"), OK);
    cr_assert_str_eq (str (s, "text"), WATER_V1);
    cr_assert_eq (num (s, "version"), 1);
    cr_assert (cJSON_IsTrue (item (s, "current")));
    const cJSON *rules = item (item (s, "summary"), "rules");
    cr_assert_eq (cJSON_GetArraySize (rules), 2);
    cr_assert_str_eq (str (cJSON_GetArrayItem (rules, 0), "id"), "water-to-power");
    cr_assert_str_eq (str (cJSON_GetArrayItem (rules, 1), "id"), "water-to-parking");
    cJSON_Delete (s);

    cJSON_Delete (adm (&k_auditor, "policy.show", args_version ("water", 2), NOT_FOUND));
    TL_HAS (last_text, "owner 'water' has no version 2");

    cJSON *h = adm (&k_wadmin, "policy.history", args_owner ("water"), OK);
    cr_assert_eq (cJSON_GetArraySize (item (h, "versions")), 1);
    cr_assert_eq (num (h, "current"), 1);
    cr_assert_str_eq (str (cJSON_GetArrayItem (item (h, "versions"), 0), "actor"), "wadmin");
    cJSON_Delete (h);

    cJSON_Delete (adm (&k_auditor, "policy.history", args_owner ("parking"), NOT_FOUND));
    cJSON_Delete (adm (&k_auditor, "policy.history", args_owner ("sewage"), BAD_REQUEST));
    TL_HAS (last_text, "unknown policy owner 'sewage'");
}

Test (policy_admin, diff_names_gained_lost_and_changed_fields)
{
    apply_base ();
    cJSON *r = apply (&k_wadmin, "water", WATER_V2, 0, OK);
    cr_assert_eq (num (r, "version"), 2);
    cJSON_Delete (r);

    cJSON *d = adm (&k_auditor, "policy.diff", args_diff ("water", 1, 2, AT_JUNE), OK);
    const cJSON *changes = item (d, "access");
    cr_assert_eq (cJSON_GetArraySize (changes), 3, "%s", cJSON_PrintUnformatted (d));
    /* health gains access, parking loses it, power's copy changes */
    static const struct { const char *consumer, *purpose, *before, *after; } want[] = {
        { "health", "joint-metering", "none", "full" },
        { "parking", "parking-fee-waiver", "full", "none" },
        { "power", "joint-metering", "full", "full" },
    };
    const cJSON *c = NULL;
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        c = change_for (changes, want[i].consumer, TL_WATER, want[i].purpose);
        cr_assert_not_null (c, "no change for %s", want[i].consumer);
        expect_strs (c, "before", want[i].before, "after", want[i].after, NULL);
    }
    cr_assert (strings_are (item (c, "fields_removed"), "date_observed", NULL), "%s",
               cJSON_PrintUnformatted (c));
    cr_assert (strings_are (item (c, "fields_added"), NULL));
    expect_strs (c, "time_before", "hour", "time_after", "day", NULL);

    const cJSON *rules = item (d, "rule_changes");
    cr_assert (strings_are (item (rules, "added"), "water-to-health", NULL));
    cr_assert (strings_are (item (rules, "removed"), "water-to-parking", NULL));
    const cJSON *changed = item (rules, "changed");
    cr_assert_eq (cJSON_GetArraySize (changed), 1);
    cr_assert_str_eq (str (cJSON_GetArrayItem (changed, 0), "id"), "water-to-power");
    cr_assert (strings_are (item (cJSON_GetArrayItem (changed, 0), "clauses"), "fields", "time", NULL),
               "%s", cJSON_PrintUnformatted (changed));
    cr_assert_str_eq (str (d, "rule_changes_text"),
                      "~ water-to-power: fields, time\n- water-to-parking\n+ water-to-health\n");
    cJSON_Delete (d);

    cJSON_Delete (adm (&k_auditor, "policy.diff", args_diff ("water", 1, 7, 0), NOT_FOUND));
}

/*  Revokes member `name` through the admin plane. */
static void
revoke_member (const char *name)
{
    cJSON *rv = cJSON_CreateObject ();
    cJSON_AddStringToObject (rv, "name", name);
    cJSON_Delete (adm (&b.admin, "member.revoke", rv, OK));
}

/*  apply, diff, rollback and explain compile through one path: a policy
 *  that apply accepts with a revoked member named in it is diffed by the
 *  same rules (diff once compiled without revoked members and refused).
 *  `policy check --data` reads the members through the registry, as the
 *  broker's own catalogue does, so it accepts that policy offline too (the
 *  CLI used to decode broker.members itself and skip revoked members:
 *  "unknown member 'parking'"). */
Test (policy_admin, diff_and_check_agree_with_apply_on_revoked_members)
{
    apply_base ();                         /* water v1 names parking */
    revoke_member ("parking");
    /* still accepted by apply: a revoked member may stay named */
    cJSON *r = apply (&k_wadmin, "water", WATER_V1, 0, OK);
    cr_assert_eq (num (r, "version"), 2);
    cJSON_Delete (r);
    cJSON *d = adm (&k_auditor, "policy.diff", args_diff ("water", 1, 2, AT_JUNE), OK);
    cr_assert_eq (cJSON_GetArraySize (item (d, "access")), 0, "%s", cJSON_PrintUnformatted (d));
    cJSON_Delete (d);
    const char *path = write_tmp ("w.policy", WATER_V1);
    cr_assert_eq (ctl ("policy check --data %s %s", b.dir, path), 0, "%s", out);
    cr_assert (!strstr (out, "unknown member"), "%s", out);
}

Test (policy_admin, rollback_stores_a_new_version_with_the_old_text)
{
    apply_base ();
    cJSON_Delete (apply (&k_wadmin, "water", WATER_V2, 0, OK));
    tc_client_t w, p;
    tc_msg_t m;
    cr_assert_eq (tc_consumer (&p, &b, &k_parking, "parking", TL_WATER, "parking-fee-waiver", 10), 0);
    cr_assert_eq (tc_join (&w, &b, &k_water, "water"), 0);
    TC_PUBLISH_OK (&w, 1, "C-1", 1.5);
    cr_assert_neq (tc_recv_cmd (&p, &m, SLUICE__V1__COMMAND__DELIVER, 700), 0,
                   "delivered under v2, which gives parking nothing");
    cJSON *e = explain ("parking", TL_WATER, "parking-fee-waiver", AT_JUNE);
    expect_strs (e, "decision", "deny", "reason", "no-matching-rule", NULL);
    cJSON_Delete (e);

    cJSON *r = adm (&k_wadmin, "policy.rollback", args_version ("water", 1), OK);
    cr_assert_eq (num (r, "version"), 3);
    cr_assert_eq (num (r, "previous"), 2);
    cr_assert_eq (num (r, "rollback_to"), 1);
    cJSON_Delete (r);

    cJSON *s = adm (&k_auditor, "policy.show", args_owner ("water"), OK);
    cr_assert_eq (num (s, "version"), 3);
    expect_strs (s, "text", WATER_V1, "actor", "wadmin", NULL);
    cJSON_Delete (s);
    expect_history ("water", 3, 3);

    /* v1 behaviour is back: parking has access again, from the rule at v3 */
    e = explain ("parking", TL_WATER, "parking-fee-waiver", AT_JUNE);
    cr_assert_str_eq (str (e, "decision"), "permit", "%s", str (e, "text"));
    cr_assert (strings_are (item (e, "rules"), "water/water-to-parking@3", NULL));
    cJSON_Delete (e);
    e = explain ("health", TL_WATER, "joint-metering", AT_JUNE);
    cr_assert_str_eq (str (e, "decision"), "deny");
    cJSON_Delete (e);
    /* ... and the broker decides so on the data plane */
    TC_PUBLISH_OK (&w, 2, "C-2", 1.5);
    cr_assert_eq (tc_recv_cmd (&p, &m, SLUICE__V1__COMMAND__DELIVER, 5000), 0, "nothing delivered");
    cr_assert_eq (m.h->command, SLUICE__V1__COMMAND__DELIVER);
    cr_assert_eq (m.h->n_records, 1);
    cr_assert_eq (m.h->records[0]->n_rules, 1);
    cr_assert_str_eq (m.h->records[0]->rules[0], "water/water-to-parking@3");
    cr_assert_str_neq (m.h->records[0]->subject, "C-2", "subject not pseudonymized");
    tc_msg_free (&m);
    tc_close_all (&w, &p, NULL);

    /* nothing changed between v1 and v3 */
    cJSON *d = adm (&k_auditor, "policy.diff", args_diff ("water", 1, 3, 0), OK);
    cr_assert_eq (cJSON_GetArraySize (item (d, "access")), 0);
    cr_assert_str_eq (str (d, "rule_changes_text"), "");
    cJSON_Delete (d);

    cJSON_Delete (adm (&k_wadmin, "policy.rollback", args_version ("water", 9), NOT_FOUND));

    /* the rollback is in the audit log, once, with the rules it put in force */
    char lines[1024];
    cr_assert_eq (audit_entries ("policy.rollback", lines, sizeof lines), 1, "%s", lines);
    cr_assert_str_eq (lines, "wadmin|water|water/water-to-power@3,water/water-to-parking@3|"
                             "previous=2 version=3 rollback_to=1\n");
}

Test (policy_admin, explain_names_the_deciding_rule_or_the_nearest_and_what_failed)
{
    apply_base ();
    /* a permit names its rules and the fields that leave */
    cJSON *e = explain ("power", TL_WATER, "joint-metering", AT_JUNE);
    expect_strs (e, "decision", "permit", "reason", "permitted", "owner", "water",
                 "subject", "pseudonymize", "time", "hour",
                 "text", "permit by water/water-to-power@1 (test.policy:2)\n"
                         "  fields: subject, district, date_observed, water_consumption_m3\n"
                         "  subject: pseudonymize\n"
                         "  time: coarsen hour\n", NULL);
    cr_assert (strings_are (item (e, "rules"), "water/water-to-power@1", NULL));
    cr_assert (strings_are (item (e, "fields"), "subject", "district", "date_observed",
                            "water_consumption_m3", NULL), "%s", cJSON_PrintUnformatted (e));
    cJSON_Delete (e);

    /* wrong purpose: power asks for parking-fee-waiver */
    e = explain ("power", TL_WATER, "parking-fee-waiver", AT_JUNE);
    expect_strs (e, "decision", "deny", "reason", "no-matching-rule",
                 "text", "deny (no-matching-rule)\n"
                         "  nearest rule: water/water-to-power@1 (test.policy:2)\n"
                         "    failed: purpose\n", NULL);
    const cJSON *n = item (e, "nearest");
    cr_assert_not_null (n, "%s", cJSON_PrintUnformatted (e));
    cr_assert_str_eq (str (n, "rule"), "water/water-to-power@1");
    cr_assert (strings_are (item (n, "failed"), "purpose", NULL));
    cJSON_Delete (e);

    /* outside the validity window: 2028-06-01 */
    e = explain ("power", TL_WATER, "joint-metering", 1843430400);
    cr_assert_str_eq (str (e, "reason"), "outside-validity");
    n = item (e, "nearest");
    cr_assert_str_eq (str (n, "rule"), "water/water-to-power@1");
    cr_assert (strings_are (item (n, "failed"), "valid", NULL));
    cJSON_Delete (e);

    /* a TIME string works as well as Unix seconds; bad ones are refused */
    cJSON *a = args_explain ("power", TL_WATER, "joint-metering");
    cJSON_AddStringToObject (a, "at", "2028-06-01T00:00:00Z");
    e = adm (&k_auditor, "policy.explain", a, OK);
    cr_assert_str_eq (str (e, "reason"), "outside-validity");
    cr_assert_eq (num (e, "at"), 1843430400);
    cJSON_Delete (e);
    a = args_explain ("power", TL_WATER, "joint-metering");
    cJSON_AddStringToObject (a, "at", "2027-02-29");
    cJSON_Delete (adm (&k_auditor, "policy.explain", a, BAD_REQUEST));
    TL_HAS (last_text, "bad argument 'at'");
}

/*  Publishes one ConsentEvent (kind, subject C-7 for parking, from health)
 *  as the consent source and waits for its ACK. */
static void
publish_consent (tc_client_t *c, uint32_t n, Sluice__V1__ConsentEvent__Kind kind)
{
    static const tc_consent_t consent = {
        .id = "c-7", .subject = "C-7", .controller = "health", .recipient = "parking",
        .purpose = "parking-fee-waiver", .type = "health.v1.Encounter", .method = "kiosk",
    };
    size_t len;
    uint8_t *body = tc_consent_pack (&consent, kind, &len);
    cr_assert_not_null (body);
    char err[400];
    int rc = tc_publish_wait (c, "sluice.v1.ConsentEvent", 1000 + n, "C-7", body, len, 5000, err, sizeof err);
    free (body);
    cr_assert_eq (rc, 0, "consent event refused or not answered: %s", err);
}

Test (policy_admin, explain_looks_consent_up_for_a_subject)
{
    sl_keypair_t k_hadmin, k_source;
    cr_assert_eq (tc_member (&b, "hadmin", "admin:health", &k_hadmin), 0);
    cr_assert_eq (tc_member (&b, "registry", "consent-source", &k_source), 0);
    cJSON_Delete (apply (&b.admin, "city", CITY, 0, OK));
    cJSON_Delete (apply (&k_hadmin, "health", TL_HEALTH_VISITS, 0, OK));
    double now = (double) time (NULL);

    cJSON *a = args_explain ("parking", "health.v1.Encounter", "parking-fee-waiver");
    cJSON_AddStringToObject (a, "subject", "C-7");
    cJSON *e = adm (&k_auditor, "policy.explain", cJSON_Duplicate (a, 1), OK);
    expect_strs (e, "decision", "deny", "reason", "consent-missing", NULL);
    const cJSON *n = item (e, "nearest");
    expect_strs (n, "rule", "health/health-visit-parking-waiver@1", "consent", "missing", NULL);
    cr_assert (strings_are (item (n, "failed"), "consent", NULL));
    cJSON_Delete (e);

    tc_client_t c;
    cr_assert_eq (tc_join (&c, &b, &k_source, "registry"), 0);
    publish_consent (&c, 1, SLUICE__V1__CONSENT_EVENT__KIND__GIVEN);
    e = adm (&k_auditor, "policy.explain", cJSON_Duplicate (a, 1), OK);
    cr_assert_str_eq (str (e, "decision"), "permit", "%s", str (e, "text"));
    /* the city's field-scoped forbid shaped the copy: it is a deciding rule too */
    cr_assert (strings_are (item (e, "rules"), "health/health-visit-parking-waiver@1",
                            "health/no-diagnoses-leave-health@1", NULL),
               "%s", cJSON_PrintUnformatted (item (e, "rules")));
    cr_assert_str_eq (str (e, "subject"), "keep");
    cr_assert (num (e, "at") >= now);
    cJSON_Delete (e);

    /* the same question without a subject cannot find the consent */
    cJSON *nosub = cJSON_Duplicate (a, 1);
    cJSON_DeleteItemFromObject (nosub, "subject");
    e = adm (&k_auditor, "policy.explain", nosub, OK);
    cr_assert_str_eq (str (e, "reason"), "consent-missing");
    cr_assert (strstr (str (e, "text"), "(no subject given: consent counts as missing)"),
               "%s", str (e, "text"));
    cJSON_Delete (e);

    publish_consent (&c, 2, SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN);
    tc_close (&c);
    e = adm (&k_auditor, "policy.explain", a, OK);
    cr_assert_str_eq (str (e, "reason"), "consent-withdrawn", "%s", str (e, "text"));
    cr_assert_str_eq (str (item (e, "nearest"), "consent"), "withdrawn");
    cJSON_Delete (e);
}

Test (policy_admin, dry_run_reports_a_live_subscription_and_changes_nothing)
{
    apply_base ();
    subscribe_water (&k_power, "power", "joint-metering");

    cJSON *r = apply (&k_wadmin, "water", WATER_V2, DRY_RUN, OK);
    cr_assert (cJSON_IsTrue (item (r, "dry_run")), "%s", cJSON_PrintUnformatted (r));
    const cJSON *subs = item (r, "subscriptions");
    cr_assert_eq (cJSON_GetArraySize (subs), 1, "%s", cJSON_PrintUnformatted (r));
    const cJSON *s = cJSON_GetArrayItem (subs, 0);
    expect_strs (s, "consumer", "power", "purpose", "joint-metering", NULL);
    cr_assert (strings_are (item (s, "fields_removed"), "date_observed", NULL));
    cr_assert_eq (cJSON_GetArraySize (item (r, "access")), 3);
    cJSON_Delete (r);

    /* a text without the power rule: the live subscription would lose access */
    r = apply (&k_wadmin, "water", HEALTH_ONLY, DRY_RUN, OK);
    subs = item (r, "subscriptions");
    cr_assert_eq (cJSON_GetArraySize (subs), 1, "%s", cJSON_PrintUnformatted (r));
    expect_strs (cJSON_GetArrayItem (subs, 0), "consumer", "power", "before", "full", "after", "none", NULL);
    cJSON_Delete (r);

    /* nothing was applied */
    expect_history ("water", 1, 1);
    cJSON *e = explain ("power", TL_WATER, "joint-metering", AT_JUNE);
    cr_assert_str_eq (str (e, "decision"), "permit");
    cr_assert (strings_are (item (e, "rules"), "water/water-to-power@1", NULL));
    cJSON_Delete (e);
}

/*  The role x command grid: `as` runs `command` on `owner`'s policy (n: the
 *  version of rollback, v2 of diff, the dry run of apply) and gets `code`;
 *  when `says` is given, the answer's text contains it. */
static const struct role_case {
    const char *name;
    const sl_keypair_t *as;
    const char *command, *owner;
    int n, code;
    const char *says;
} ROLES[] = {
    /* water's admin cannot roll back or apply power's policy */
    { "wadmin rolls power back", &k_wadmin, "policy.rollback", "power", 1, NOT_PERMITTED, "admin:water" },
    { "wadmin applies power's", &k_wadmin, "policy.apply", "power", 0, NOT_PERMITTED, NULL },
    { "wadmin dry-runs power's", &k_wadmin, "policy.apply", "power", 1, NOT_PERMITTED, NULL },
    /* water's admin reads its own and the city's, not power's (text, history, diff) */
    { "wadmin shows water's", &k_wadmin, "policy.show", "water", 0, OK, NULL },
    { "wadmin shows power's", &k_wadmin, "policy.show", "power", 0, NOT_PERMITTED,
      "role admin:water reads the policies of water and city" },
    { "wadmin reads power's history", &k_wadmin, "policy.history", "power", 0, NOT_PERMITTED, NULL },
    { "wadmin diffs power's", &k_wadmin, "policy.diff", "power", 1, NOT_PERMITTED, NULL },
    /* power's admin reads power's */
    { "padmin reads power's history", &k_padmin, "policy.history", "power", 0, OK, NULL },
    /* the auditor reads everything but changes nothing */
    { "auditor lists", &k_auditor, "policy.list", NULL, 0, OK, NULL },
    { "auditor shows power's", &k_auditor, "policy.show", "power", 0, OK, NULL },
    { "auditor shows water's", &k_auditor, "policy.show", "water", 0, OK, NULL },
    { "auditor reads power's history", &k_auditor, "policy.history", "power", 0, OK, NULL },
    { "auditor applies water's", &k_auditor, "policy.apply", "water", 0, NOT_PERMITTED, NULL },
    { "auditor rolls water back", &k_auditor, "policy.rollback", "water", 1, NOT_PERMITTED, NULL },
    /* a data member reads nothing */
    { "water lists", &k_water, "policy.list", NULL, 0, NOT_PERMITTED, NULL },
    { "water shows water's", &k_water, "policy.show", "water", 0, NOT_PERMITTED, NULL },
};

/*  The arguments of a row of ROLES (apply: POWER_V1 for power, WATER_V2
 *  for water). */
static cJSON *
role_args (const struct role_case *r)
{
    if (!r->owner)
        return cJSON_CreateObject ();
    if (!strcmp (r->command, "policy.rollback"))
        return args_version (r->owner, r->n);
    if (!strcmp (r->command, "policy.diff"))
        return args_diff (r->owner, 0, r->n, 0);
    cJSON *a = args_owner (r->owner);
    if (!strcmp (r->command, "policy.apply")) {
        cJSON_AddStringToObject (a, "text", strcmp (r->owner, "power") ? WATER_V2 : POWER_V1);
        cJSON_AddStringToObject (a, "file", "test.policy");
        cJSON_AddBoolToObject (a, "dry_run", r->n);
    }
    return a;
}

Test (policy_admin, roles_are_enforced_by_the_broker)
{
    apply_base ();
    cJSON_Delete (apply (&k_padmin, "power", POWER_V1, 0, OK));
    for (size_t i = 0; i < sizeof ROLES / sizeof *ROLES; i++) {
        const struct role_case *r = &ROLES[i];
        int code;
        cJSON *res = tc_adm (&b, r->as, r->command, role_args (r), &code, last_text, sizeof last_text);
        cr_assert_eq (code, r->code, "%s: code %d, expected %d: %s", r->name, code, r->code, last_text);
        cr_assert (code != 0 || res, "%s: the result is not JSON", r->name);
        cr_assert (!r->says || strstr (last_text, r->says), "%s: %s", r->name, last_text);
        cJSON_Delete (res);
    }

    /* nothing moved: power at 1, water at 1 */
    cJSON *l = adm (&k_auditor, "policy.list", cJSON_CreateObject (), OK);
    const cJSON *o;
    cJSON_ArrayForEach (o, l)
        cr_assert_eq (num (o, "version"), 1, "%s", str (o, "owner"));
    cJSON_Delete (l);

    /* power's own admin may roll back */
    cJSON *r = adm (&k_padmin, "policy.rollback", args_version ("power", 1), OK);
    cr_assert_eq (num (r, "version"), 2);
    cJSON_Delete (r);
    /* refused attempts changed nothing and recorded no rollback */
    char lines[1024];
    cr_assert_eq (audit_entries ("policy.rollback", lines, sizeof lines), 1, "%s", lines);
    cr_assert (strncmp (lines, "padmin|power|power/power-to-water@2|", 36) == 0, "%s", lines);
}

/* ------------------------------------------------------------------------ */
/*  sluicectl policy                                                         */

#define write_file(path, text) cr_assert_eq (tl_write (path, text), 0, "%s", path)

Test (policy_cli, check_examples_offline)
{
    /* the record types are data: the CLI knows them from --schemas (or --data) */
    TL_EXPECT (ctl ("policy check --schemas " EXAMPLES_BINPB
                    " %s/city.policy %s/health.policy %s/power.policy %s/water.policy",
                    EXAMPLES_DIR, EXAMPLES_DIR, EXAMPLES_DIR, EXAMPLES_DIR), 0, out, NULL);
    TL_HAS (out, "4 files ok: 4 rules, 2 purposes declared\n", "note: no --data DIR given");
}

static char dir[] = "/tmp/sluice-pcheck-XXXXXX";

static void
rm_dir (void)
{
    if (strncmp (dir, "/tmp/sluice-pcheck-", 19) == 0 && tl_rm_rf (dir) != 0)
        fprintf (stderr, "cannot remove %s\n", dir);
}

Test (policy_cli, check_reports_every_error_with_position, .fini = rm_dir)
{
    char path[64], city[80];
    cr_assert_not_null (mkdtemp (dir));
    snprintf (path, sizeof path, "%s/bad.policy", dir);
    snprintf (city, sizeof city, "%s/city.policy", dir);
    write_file (city, CITY);
    write_file (path,
                TL_RULE ("w", "water", "power", "water.v1.MeterReadin", "joint-meterin", "district", "")
                TL_RULE ("x", "water", "power", TL_WATER, "joint-metering", "distrct, date_observed", ""));
    int st = ctl ("policy check --schemas " EXAMPLES_BINPB " %s %s", city, path);
    cr_assert_eq (st, 1, "%s", out);
    char want[2048];
    snprintf (want, sizeof want,
              "%s:4:13: error: unknown record type 'water.v1.MeterReadin'\n"
              "%s:4:13: note: did you mean 'water.v1.MeterReading'?\n"
              "%s:5:13: error: unknown purpose 'joint-meterin'\n"
              "%s:5:13: note: did you mean 'joint-metering'?\n"
              "%s:13:13: error: unknown field 'distrct' in water.v1.MeterReading\n"
              "%s:13:13: note: did you mean 'district'?\n"
              "sluicectl: policy: 3 errors in 2 files (checked without --data DIR: members "
              "were not known, and purposes only from these files)\n",
              path, path, path, path, path, path);
    cr_assert_str_eq (out, want);

    st = ctl ("policy check --schemas " EXAMPLES_BINPB " --json %s %s", city, path);
    cr_assert_eq (st, 1);
    cJSON *j = cJSON_Parse (out);
    cr_assert_not_null (j, "%s", out);
    cr_assert (cJSON_IsFalse (cJSON_GetObjectItemCaseSensitive (j, "ok")));
    const cJSON *e = cJSON_GetArrayItem (cJSON_GetObjectItemCaseSensitive (j, "errors"), 2);
    cr_assert_eq (num (e, "line"), 13);
    cr_assert_eq (num (e, "col"), 13);
    cr_assert_str_eq (str (e, "hint"), "did you mean 'district'?");
    cJSON_Delete (j);

    cr_assert_eq (ctl ("policy check %s/missing.policy", dir), 2);   /* could not run */
    TL_HAS (out, "cannot read");
    cr_assert_eq (ctl ("policy check"), 2);
}

Test (policy_cli, check_with_data_dir_knows_members_and_city_purposes,
      .init = setup, .fini = teardown)
{
    cJSON_Delete (apply (&b.admin, "city", CITY, 0, OK));
    /* alone, water's file names a purpose only the city's applied text declares */
    const char *path = write_tmp ("w.policy", WATER_V1);
    TL_EXPECT (ctl ("policy check --data %s %s", b.dir, path),
               0, out, "2 purposes of the city's policy (version 1)");
    write_file (path, WATER_PERMIT ("p", "powr", "joint-metering", "district", ""));
    char want[1200];
    snprintf (want, sizeof want, "%s:3:12: error: unknown member 'powr'\n"
                                 "%s:3:12: note: did you mean 'power'?\n", path, path);
    TL_EXPECT (ctl ("policy check --data %s %s", b.dir, path), 1, out, want);
    /* without --data the same file is only missing its purpose */
    TL_EXPECT (ctl ("policy check --schemas " EXAMPLES_BINPB " %s", path),
               1, out, "unknown purpose 'joint-metering'");
    cr_assert (!strstr (out, "unknown member"), "%s", out);
}

/*  The offline check opens a copy of a store (no lock.mdb, as `sluicectl
 *  backup` makes one) without creating a lock file in it: the schema
 *  registry used to be read with a plain read-only open, which created
 *  lock.mdb with the caller's owner. */
Test (policy_cli, check_with_data_creates_no_lock_file_in_a_copy, .fini = rm_dir)
{
    cr_assert_not_null (mkdtemp (dir));
    const char *sluiced = getenv ("SLUICED");
    cr_assert_not_null (sluiced);
    char cmd[600], lock[200], path[200];
    snprintf (cmd, sizeof cmd, "'%s' init --data %s/d >/dev/null 2>&1", sluiced, dir);
    cr_assert_eq (system (cmd), 0);
    snprintf (lock, sizeof lock, "%s/d/store/lock.mdb", dir);
    unlink (lock);
    snprintf (path, sizeof path, "%s/city.policy", dir);
    write_file (path, "purpose joint-metering \"joint metering\"\n");
    cr_assert_eq (ctl ("policy check --data %s/d %s", dir, path), 0, "%s", out);
    cr_assert_neq (access (lock, F_OK), 0, "policy check --data created lock.mdb in a copy");
}

Test (policy_cli, online_commands_print_what_the_broker_says, .init = setup, .fini = teardown)
{
    const char *path = write_tmp ("city.policy", CITY);
    TL_EXPECT (ctl ("--data %s policy apply %s --owner city", b.dir, path),
               0, out, "applied city policy version 1");
    cJSON_Delete (apply (&k_wadmin, "water", WATER_V1, 0, OK));
    cJSON_Delete (apply (&k_wadmin, "water", WATER_V2, 0, OK));

    TL_EXPECT (ctl ("--data %s policy list", b.dir), 0, out, "OWNER");
    TL_HAS (out, "\nwater      2        2      wadmin           admin:water    ");

    TL_EXPECT (ctl ("--data %s policy show water --version 1", b.dir), 0, out, WATER_V1);
    TL_HAS (out, "# 2 rules: permit water-to-power@1; permit water-to-parking@1;");

    TL_EXPECT (ctl ("--data %s policy history water", b.dir),
               0, out, "water policy history (current version 2)");

    TL_EXPECT (ctl ("--data %s policy diff water 1 2", b.dir),
               0, out, "rules:\n  ~ water-to-power: fields, time\n  - water-to-parking\n"
                            "  + water-to-health\n");
    TL_HAS (out, "  + health water.v1.MeterReading joint-metering: gained",
            "  - parking water.v1.MeterReading parking-fee-waiver: lost",
            "  ~ power water.v1.MeterReading joint-metering:");
    /* in 2028 neither version's power rule is valid any more: no change for power */
    TL_EXPECT (ctl ("--data %s policy diff water 1 2 --at 2028-06-01", b.dir),
               0, out, "  - parking water.v1.MeterReading parking-fee-waiver: lost");
    cr_assert (!strstr (out, "power water.v1.MeterReading"), "%s", out);

    cr_assert_eq (ctl ("--data %s policy explain --consumer power --record water.v1.MeterReading "
                       "--purpose parking-fee-waiver --at 2026-06-01", b.dir), 1, "%s", out);
    cr_assert_str_eq (out, "deny (no-matching-rule)\n"
                           "  nearest rule: water/water-to-power@2 (test.policy:1)\n"
                           "    failed: purpose\n");

    cr_assert_eq (ctl ("--data %s --json policy explain --consumer power --record "
                       "water.v1.MeterReading --purpose joint-metering --at 2026-06-01", b.dir), 0);
    cJSON *j = cJSON_Parse (out);
    cr_assert_str_eq (str (j, "decision"), "permit", "%s", out);
    cJSON_Delete (j);

    /* a dry run as water's administrator, with power subscribed */
    subscribe_water (&k_power, "power", "joint-metering");
    char keydir[400], err[300];
    snprintf (keydir, sizeof keydir, "%s/..", b.dir);
    cr_assert_eq (sl_keys_write (keydir, "wadmin", &k_wadmin, 0, err, sizeof err), 0, "%s", err);
    path = write_tmp ("health-only.policy", HEALTH_ONLY);
    cr_assert_eq (ctl ("--data %s --key %s/wadmin.key policy apply --dry-run %s", b.dir, keydir, path),
                  0, "%s", out);
    TL_HAS (out, "dry run: water policy would become version 3 (now 2); nothing was applied\n"
                 "access changes:\n"
                 "  - power water.v1.MeterReading joint-metering: lost",
            "live subscriptions affected:\n"
            "  power water.v1.MeterReading joint-metering: would lose access (full -> none)");
    cr_assert_eq (ctl ("--data %s policy history water", b.dir), 0, "%s", out);
    cr_assert (strstr (out, "(current version 2)"), "dry run applied something: %s", out);

    /* admin:city (the data dir's admin key) may not roll back water's policy */
    TL_EXPECT (ctl ("--data %s policy rollback water 1", b.dir),
               1, out, "sluicectl: policy: policy.rollback: ");

    TL_EXPECT (ctl ("--data %s policy diff water one 2", b.dir),
               2, out, "v1 must be a version number (1, 2, ...), not 'one'");
    cr_assert_eq (ctl ("policy explain --consumer power"), 2, "%s", out);
    TL_EXPECT (ctl ("policy rollback --help"),
               0, out, "usage: sluicectl policy rollback OWNER VERSION");
}

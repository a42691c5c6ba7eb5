/*  sluicectl consent against the real sluiced: grant, list, show, withdraw
 *  round trip with its audit entries; the controller rule for bureau
 *  administrators; bad input named. Each test has its own broker, data
 *  directory and ephemeral loopback ports (tests/lib/harness.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "harness.h"
#include "health/v1/health.pb-c.h"

static const char *s_city =
    "purpose parking-fee-waiver \"Parking waives fees for visits confirmed by a hospital\"\n";

static tb_t tb;
static char health_key[320], parking_key[320], health_admin[320], water_admin[320], auditor_key[320];
static char out[1 << 16];   /* what the last sluicectl printed */

static void
s_setup (void)
{
    tb_init (&tb);
    tb_start (&tb);
    tb_member (&tb, "health", "member", health_key);
    tb_member (&tb, "parking", "member", parking_key);
    tb_member (&tb, "admin-health", "admin:health", health_admin);
    tb_member (&tb, "admin-water", "admin:water", water_admin);
    tb_member (&tb, "auditor", "auditor", auditor_key);
    tb_policy (&tb, "city", s_city);
}

static void
s_teardown (void)
{
    tb_cleanup (&tb);
}

TestSuite (consent_cli, .init = s_setup, .fini = s_teardown, .timeout = 60);

/*  sluicectl `args` as the member of `key`: asserts it exits with
 *  `status` and, when `want` is not NULL, that its output (in out) has it. */
static void
s_expect (const char *key, const char *args, int status, const char *want)
{
    tb_ctl_expect (&tb, key, args, status, want, out, sizeof out);
}

#define GRANT "consent grant --subject P-1001 --controller health --recipient parking " \
              "--purpose parking-fee-waiver --records health.v1.Encounter --to 2099-01-01 " \
              "--method app --evidence receipt-88 --jurisdiction CN-ZJ"

Test (consent_cli, grant_list_show_withdraw_round_trip_with_audit_entries)
{
    s_expect (health_admin, GRANT " --id c-visit-1001", 0, "granted consent c-visit-1001");
    TL_HAS (out, "status      active (consent-valid)", "2099-01-01 00:00:00Z", "given       ",
            "by admin-health");

    /* a second grant without id gets a generated one; admin:city may grant for any controller */
    s_expect (tb.admin_key, GRANT " --json", 0, NULL);
    cr_assert (strstr (out, "\"consent_id\":\t\"c-") || strstr (out, "\"consent_id\": \"c-"), "%s", out);

    s_expect (auditor_key, "consent list --subject P-1001", 0, "c-visit-1001");
    TL_HAS (out, "CONSENT");
    cr_assert_eq (tl_count (out, "\nc-"), 2, "%s", out);

    s_expect (health_admin, "consent withdraw c-visit-1001 --reason 'asked at the desk'",
              0, "parking may no longer");
    TL_HAS (out, "withdrew consent c-visit-1001 at ");
    /* a second withdrawal is refused */
    s_expect (health_admin, "consent withdraw c-visit-1001", 1, "already withdrawn");

    s_expect (auditor_key, "consent show c-visit-1001", 0, "status      withdrawn (consent-withdrawn)");
    TL_HAS (out, "history:", "given", "withdrawn", "evidence    receipt-88", "jurisdiction CN-ZJ");
    s_expect (auditor_key, "consent show c-visit-1001 --json", 0, "\"history\"");
    s_expect (auditor_key, "consent show c-nope", 1, "no consent with id 'c-nope'");

    /* the audit log holds both events: pseudonymized subject, consent id,
       controller as owner, recipient as counterpart */
    s_expect (auditor_key, "audit query --kind consent. --json", 0, "consent.withdraw");
    cr_assert_eq (tl_count (out, "\"kind\":\"consent.grant\""), 2, "%s", out);
    const char *w = strstr (out, "\"kind\":\"consent.withdraw\"");
    cr_assert (w && strstr (w, "\"owner\":\"health\"") && strstr (w, "\"counterpart\":\"parking\"")
               && strstr (w, "\"detail\":\"consent=c-visit-1001\"")
               && strstr (w, "\"reason\":\"asked at the desk\"")
               && strstr (w, "\"actor\":\"admin-health\""), "%s", out);
    cr_assert_null (strstr (out, "P-1001"), "raw subject id in the audit log");
    s_expect (auditor_key, "audit report --subject P-1001", 0, "consent=c-visit-1001");
    TL_HAS (out, "consent.grant", "consent.withdraw");
}

Test (consent_cli, another_bureaus_admin_cannot_grant_or_read)
{
    s_expect (water_admin, GRANT, 1, "may not change consents of controller 'health'");
    TL_HAS (out, "admin:health or admin:city");
    s_expect (health_admin, GRANT " --id c-1", 0, NULL);
    s_expect (water_admin, "consent withdraw c-1", 1, "may not change consents of controller 'health'");
    s_expect (water_admin, "consent show c-1", 1, "reads only consents of water");
    s_expect (water_admin, "consent list --subject P-1001 --json", 0, NULL);
    cr_assert_null (strstr (out, "c-1"), "%s", out);
    /* nothing of the refused grant reached the audit log */
    s_expect (auditor_key, "audit query --kind consent. --actor admin-water", 0, NULL);
    cr_assert_null (strstr (out, "consent.grant"), "%s", out);
}

Test (consent_cli, bad_input_is_named)
{
    s_expect (health_admin, "consent grant --subject P-1 --controller health --recipient parking "
              "--purpose parking-fee-waiver --records health.v1.Nope",
              1, "record_types[0]: unknown record type 'health.v1.Nope'");
    s_expect (health_admin, "consent grant --subject P-1 --controller health --recipient parking "
              "--purpose x --records health.v1.Encounter --to tomorrow", 1, "valid_to");
    s_expect (health_admin, "consent grant --subject P-1", 2, "grant needs --controller");
    s_expect (health_admin, "consent withdraw c-unknown", 1, "unknown consent id 'c-unknown'");
}

static void
s_visit (sl_client_t *h, const char *id)
{
    Health__V1__Encounter e = HEALTH__V1__ENCOUNTER__INIT;
    e.id = (char *) id;
    e.subject = "P-1001";
    e.status = "finished";
    e.period_start = 1795870000;
    e.period_end = 1795873600;
    e.service_provider = "city-hospital";
    uint8_t buf[512];
    size_t n = health__v1__encounter__pack (&e, buf);
    sl_publish_meta_t meta = { NULL, "P-1001", 0 };
    cr_assert_eq (sl_client_publish (h, "health.v1.Encounter", &meta, buf, n, 10000), 0, "%s",
                  sl_client_last_error (h));
}

/*  Notes the first consent notice for c-v2 into arg (char[200]). */
static void
s_on_notice (const char *kind, const sl_param_t *args, size_t n, void *arg)
{
    char *seen = arg;
    const char *id = sl_notice_arg (args, n, "consent_id");
    if (!seen[0] && id && strcmp (id, "c-v2") == 0)
        snprintf (seen, 200, "%s consent=%s owner=%s purpose=%s", kind, id,
                  sl_notice_arg (args, n, "owner"), sl_notice_arg (args, n, "purpose"));
}

Test (consent_cli, withdrawal_through_sluicectl_stops_queued_records_and_notifies)
{
    char seen[200] = "";
    tb_policy (&tb, "health", TL_HEALTH_VISITS);
    s_expect (health_admin, GRANT " --id c-v1", 0, NULL);

    /* with consent: a visit reaches parking */
    sl_client_t *p = tb_connect (&tb, parking_key);
    cr_assert_eq (sl_client_subscribe (p, "health.v1.Encounter", "parking-fee-waiver"), 0, "%s",
                  sl_client_last_error (p));
    sl_client_t *h = tb_connect (&tb, health_key);
    s_visit (h, "V-1");
    tb_take_one (&p);

    /* parking is away: two visits wait in its queue; then the consent is
       withdrawn through sluicectl */
    s_visit (h, "V-2");
    s_visit (h, "V-3");
    s_expect (auditor_key, "audit query --kind queue --consumer parking --json", 0, NULL);
    cr_assert_eq (tl_count (out, "\"kind\":\"queue\""), 3, "%s", out);
    s_expect (health_admin, "consent withdraw c-v1", 0, NULL);

    /* back: nothing of the queued visits arrives, and the audit says why */
    p = tb_connect (&tb, parking_key);
    sl_client_on_notice (p, s_on_notice, seen);
    cr_assert_eq (sl_client_subscribe (p, "health.v1.Encounter", "parking-fee-waiver"), 0);
    sl_delivery_t *d = NULL;
    cr_assert_eq (sl_client_recv (p, &d, 2500), SL_ETIMEOUT,
                  "a queued record was delivered after the withdrawal");
    s_expect (auditor_key, "audit query --kind deny --consumer parking --json", 0, "consent-withdrawn");

    /* a connected recipient is told when a consent ends */
    s_expect (health_admin, GRANT " --id c-v2", 0, NULL);
    s_expect (health_admin, "consent withdraw c-v2", 0, NULL);
    for (int i = 0; i < 50 && !seen[0]; i++)
        if (sl_client_recv (p, &d, 100) == 0)   /* notices arrive while the session is served */
            sl_delivery_destroy (&d);
    cr_assert_str_eq (seen, "consent-withdrawn consent=c-v2 owner=health purpose=parking-fee-waiver",
                      "parking was not told that consent c-v2 ended");
    sl_client_destroy (&p, 0);
    sl_client_destroy (&h, 1000);
}

Test (consent_cli, renew_moves_the_window_and_is_refused_after_a_withdrawal)
{
    s_expect (health_admin, "consent grant --subject P-1002 --controller health --recipient parking "
              "--purpose parking-fee-waiver --records health.v1.Encounter --from 2026-01-01 "
              "--to 2026-06-01 --id c-r1", 0, NULL);
    s_expect (health_admin, "consent renew c-r1 --to 2099-01-01 --evidence renewal-7",
              0, "renewed consent c-r1");
    TL_HAS (out, "2099-01-01 00:00:00Z", "status      active (consent-valid)");
    /* the history has the renewal */
    s_expect (auditor_key, "consent show c-r1", 0, "renewed");
    /* only the controller's administrators or the city */
    cr_assert_neq (tb_ctl (&tb, water_admin, "consent renew c-r1 --to 2100-01-01", out, sizeof out),
                   0, "%s", out);
    /* --to is required */
    s_expect (health_admin, "consent renew c-r1", 2, "--to");
    s_expect (health_admin, "consent withdraw c-r1", 0, NULL);
    cr_assert_neq (tb_ctl (&tb, health_admin, "consent renew c-r1 --to 2100-01-01", out, sizeof out),
                   0, "%s", out);
    TL_HAS (out, "withdrawn");
}

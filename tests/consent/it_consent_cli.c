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

static int
s_ctl (const char *key, const char *args, char *out, size_t size)
{
    return tb_ctl (&tb, key, args, out, size);
}

#define GRANT "consent grant --subject P-1001 --controller health --recipient parking " \
              "--purpose parking-fee-waiver --records health.v1.Encounter --to 2099-01-01 " \
              "--method app --evidence receipt-88 --jurisdiction CN-ZJ"

Test (consent_cli, grant_list_show_withdraw_round_trip_with_audit_entries)
{
    static char out[1 << 16];
    int rc = s_ctl (health_admin, GRANT " --id c-visit-1001", out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
    cr_assert (strstr (out, "granted consent c-visit-1001"), "%s", out);
    cr_assert (strstr (out, "status      active (consent-valid)"), "%s", out);
    cr_assert (strstr (out, "2099-01-01 00:00:00Z"), "%s", out);
    cr_assert (strstr (out, "given       ") && strstr (out, "by admin-health"), "%s", out);

    /* a second grant without id gets a generated one */
    rc = s_ctl (tb.admin_key, GRANT " --json", out, sizeof out);
    cr_assert_eq (rc, 0, "admin:city may grant for any controller: %s", out);
    cr_assert (strstr (out, "\"consent_id\":\t\"c-") || strstr (out, "\"consent_id\": \"c-"), "%s", out);

    tb_ctl_expect (&tb, auditor_key, "consent list --subject P-1001", 0, NULL, out, sizeof out);
    cr_assert (strstr (out, "CONSENT") && strstr (out, "c-visit-1001"), "%s", out);
    int rows = 0;
    for (char *p = out; (p = strstr (p, "\nc-")); p++)
        rows++;
    cr_assert_eq (rows, 2, "%s", out);

    rc = s_ctl (health_admin, "consent withdraw c-visit-1001 --reason 'asked at the desk'",
                out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
    cr_assert (strstr (out, "withdrew consent c-visit-1001 at ") && strstr (out, "parking may no longer"),
               "%s", out);
    rc = s_ctl (health_admin, "consent withdraw c-visit-1001", out, sizeof out);
    cr_assert_eq (rc, 1, "a second withdrawal is refused: %s", out);
    cr_assert (strstr (out, "already withdrawn"), "%s", out);

    tb_ctl_expect (&tb, auditor_key, "consent show c-visit-1001",
                   0, "status      withdrawn (consent-withdrawn)", out, sizeof out);
    cr_assert (strstr (out, "history:") && strstr (out, "given") && strstr (out, "withdrawn"), "%s", out);
    cr_assert (strstr (out, "evidence    receipt-88") && strstr (out, "jurisdiction CN-ZJ"), "%s", out);
    tb_ctl_expect (&tb, auditor_key, "consent show c-visit-1001 --json",
                   0, "\"history\"", out, sizeof out);
    tb_ctl_expect (&tb, auditor_key, "consent show c-nope",
                   1, "no consent with id 'c-nope'", out, sizeof out);

    /* the audit log holds both events: pseudonymized subject, consent id,
       controller as owner, recipient as counterpart */
    tb_ctl_expect (&tb, auditor_key, "audit query --kind consent. --json",
                   0, NULL, out, sizeof out);
    cr_assert_eq ((int) (strstr (out, "consent.withdraw") != NULL), 1, "%s", out);
    int grants = 0;
    for (char *p = out; (p = strstr (p, "\"kind\":\"consent.grant\"")); p++)
        grants++;
    cr_assert_eq (grants, 2, "%s", out);
    const char *w = strstr (out, "\"kind\":\"consent.withdraw\"");
    cr_assert (w && strstr (w, "\"owner\":\"health\"") && strstr (w, "\"counterpart\":\"parking\"")
               && strstr (w, "\"detail\":\"consent=c-visit-1001\"")
               && strstr (w, "\"reason\":\"asked at the desk\"")
               && strstr (w, "\"actor\":\"admin-health\""), "%s", out);
    cr_assert_null (strstr (out, "P-1001"), "raw subject id in the audit log");
    tb_ctl_expect (&tb, auditor_key, "audit report --subject P-1001", 0, NULL, out, sizeof out);
    cr_assert (strstr (out, "consent.grant") && strstr (out, "consent.withdraw")
               && strstr (out, "consent=c-visit-1001"), "%s", out);
}

Test (consent_cli, another_bureaus_admin_cannot_grant_or_read)
{
    static char out[1 << 16];
    int rc = s_ctl (water_admin, GRANT, out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert (strstr (out, "may not change consents of controller 'health'")
               && strstr (out, "admin:health or admin:city"), "%s", out);
    tb_ctl_expect (&tb, health_admin, GRANT " --id c-1", 0, NULL, out, sizeof out);
    tb_ctl_expect (&tb, water_admin, "consent withdraw c-1",
                   1, "may not change consents of controller 'health'", out, sizeof out);
    tb_ctl_expect (&tb, water_admin, "consent show c-1",
                   1, "reads only consents of water", out, sizeof out);
    tb_ctl_expect (&tb, water_admin, "consent list --subject P-1001 --json",
                   0, NULL, out, sizeof out);
    cr_assert_null (strstr (out, "c-1"), "%s", out);
    /* nothing of the refused grant reached the audit log */
    tb_ctl_expect (&tb, auditor_key, "audit query --kind consent. --actor admin-water",
                   0, NULL, out, sizeof out);
    cr_assert_null (strstr (out, "consent.grant"), "%s", out);
}

Test (consent_cli, bad_input_is_named)
{
    static char out[1 << 16];
    int rc = s_ctl (health_admin, "consent grant --subject P-1 --controller health "
                    "--recipient parking --purpose parking-fee-waiver --records health.v1.Nope",
                    out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert (strstr (out, "record_types[0]: unknown record type 'health.v1.Nope'"), "%s", out);
    rc = s_ctl (health_admin, "consent grant --subject P-1 --controller health "
                "--recipient parking --purpose x --records health.v1.Encounter --to tomorrow",
                out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert (strstr (out, "valid_to"), "%s", out);
    tb_ctl_expect (&tb, health_admin, "consent grant --subject P-1",
                   2, "grant needs --controller", out, sizeof out);
    tb_ctl_expect (&tb, health_admin, "consent withdraw c-unknown",
                   1, "unknown consent id 'c-unknown'", out, sizeof out);
}

static const char *s_health =
    "permit \"health-visit-parking-waiver\" {\n"
    "  owner     health\n"
    "  consumer  parking\n"
    "  records   health.v1.Encounter\n"
    "  purpose   parking-fee-waiver\n"
    "  fields    status, period_start, period_end, service_provider\n"
    "  subject   keep\n"
    "  consent   required\n"
    "}\n";

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
    static char out[1 << 16];
    char seen[200] = "";
    tb_policy (&tb, "health", s_health);
    int rc = s_ctl (health_admin, GRANT " --id c-v1", out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);

    /* with consent: a visit reaches parking */
    sl_client_t *p = tb_connect (&tb, parking_key);
    cr_assert_eq (sl_client_subscribe (p, "health.v1.Encounter", "parking-fee-waiver"), 0, "%s",
                  sl_client_last_error (p));
    sl_client_t *h = tb_connect (&tb, health_key);
    s_visit (h, "V-1");
    sl_delivery_t *d = NULL;
    cr_assert_eq (sl_client_recv (p, &d, 10000), 0, "%s", sl_client_last_error (p));
    cr_assert_eq (sl_client_ack (p, d), 0);
    sl_delivery_destroy (&d);
    cr_assert_eq (sl_client_flush (p, 5000), 0);
    sl_client_destroy (&p, 1000);

    /* parking is away: two visits wait in its queue; then the consent is
       withdrawn through sluicectl */
    s_visit (h, "V-2");
    s_visit (h, "V-3");
    tb_ctl_expect (&tb, auditor_key, "audit query --kind queue --consumer parking --json",
                   0, NULL, out, sizeof out);
    int queued = 0;
    for (char *q = out; (q = strstr (q, "\"kind\":\"queue\"")); q++)
        queued++;
    cr_assert_eq (queued, 3, "%s", out);
    tb_ctl_expect (&tb, health_admin, "consent withdraw c-v1", 0, NULL, out, sizeof out);

    /* back: nothing of the queued visits arrives, and the audit says why */
    p = tb_connect (&tb, parking_key);
    sl_client_on_notice (p, s_on_notice, seen);
    cr_assert_eq (sl_client_subscribe (p, "health.v1.Encounter", "parking-fee-waiver"), 0);
    rc = sl_client_recv (p, &d, 2500);
    cr_assert_eq (rc, SL_ETIMEOUT, "a queued record was delivered after the withdrawal");
    tb_ctl_expect (&tb, auditor_key, "audit query --kind deny --consumer parking --json",
                   0, "consent-withdrawn", out, sizeof out);

    /* a connected recipient is told when a consent ends */
    tb_ctl_expect (&tb, health_admin, GRANT " --id c-v2", 0, NULL, out, sizeof out);
    tb_ctl_expect (&tb, health_admin, "consent withdraw c-v2", 0, NULL, out, sizeof out);
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
    static char out[1 << 16];
    int rc = s_ctl (health_admin, "consent grant --subject P-1002 --controller health "
                    "--recipient parking --purpose parking-fee-waiver "
                    "--records health.v1.Encounter --from 2026-01-01 --to 2026-06-01 --id c-r1",
                    out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
    rc = s_ctl (health_admin, "consent renew c-r1 --to 2099-01-01 --evidence renewal-7", out,
                sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
    cr_assert (strstr (out, "renewed consent c-r1"), "%s", out);
    cr_assert (strstr (out, "2099-01-01 00:00:00Z"), "%s", out);
    cr_assert (strstr (out, "status      active (consent-valid)"), "%s", out);
    tb_ctl_expect (&tb, auditor_key, "consent show c-r1", 0, NULL, out, sizeof out);
    cr_assert (strstr (out, "renewed"), "history has the renewal: %s", out);
    /* only the controller's administrators or the city */
    rc = s_ctl (water_admin, "consent renew c-r1 --to 2100-01-01", out, sizeof out);
    cr_assert_neq (rc, 0, "%s", out);
    /* --to is required */
    tb_ctl_expect (&tb, health_admin, "consent renew c-r1", 2, "--to", out, sizeof out);
    tb_ctl_expect (&tb, health_admin, "consent withdraw c-r1", 0, NULL, out, sizeof out);
    rc = s_ctl (health_admin, "consent renew c-r1 --to 2100-01-01", out, sizeof out);
    cr_assert_neq (rc, 0, "%s", out);
    cr_assert (strstr (out, "withdrawn"), "%s", out);
}

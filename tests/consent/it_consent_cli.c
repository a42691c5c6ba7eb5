/*  sluicectl consent against the real sluiced: grant, list, show, withdraw
 *  round trip with its audit entries; the controller rule for bureau
 *  administrators; bad input named. Each test has its own broker, data
 *  directory and ephemeral loopback ports (tests/sdk/harness.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

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
    char cmd[4096];
    snprintf (cmd, sizeof cmd, "'%s' --endpoint '%s' --broker-key '%s' --key '%s' %s 2>&1",
              tb_program ("SLUICECTL"), tb.admin_ep, tb.broker_pub, key, args);
    return tb_run (cmd, out, size);
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

    rc = s_ctl (auditor_key, "consent list --subject P-1001", out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
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

    rc = s_ctl (auditor_key, "consent show c-visit-1001", out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
    cr_assert (strstr (out, "status      withdrawn (consent-withdrawn)"), "%s", out);
    cr_assert (strstr (out, "history:") && strstr (out, "given") && strstr (out, "withdrawn"), "%s", out);
    cr_assert (strstr (out, "evidence    receipt-88") && strstr (out, "jurisdiction CN-ZJ"), "%s", out);
    rc = s_ctl (auditor_key, "consent show c-visit-1001 --json", out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
    cr_assert (strstr (out, "\"history\""), "%s", out);
    rc = s_ctl (auditor_key, "consent show c-nope", out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert (strstr (out, "no consent with id 'c-nope'"), "%s", out);

    /* the audit log holds both events: pseudonymized subject, consent id,
       controller as owner, recipient as counterpart */
    rc = s_ctl (auditor_key, "audit query --kind consent. --json", out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
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
    rc = s_ctl (auditor_key, "audit report --subject P-1001", out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
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
    rc = s_ctl (health_admin, GRANT " --id c-1", out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
    rc = s_ctl (water_admin, "consent withdraw c-1", out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert (strstr (out, "may not change consents of controller 'health'"), "%s", out);
    rc = s_ctl (water_admin, "consent show c-1", out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert (strstr (out, "reads only consents of water"), "%s", out);
    rc = s_ctl (water_admin, "consent list --subject P-1001 --json", out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
    cr_assert_null (strstr (out, "c-1"), "%s", out);
    /* nothing of the refused grant reached the audit log */
    rc = s_ctl (auditor_key, "audit query --kind consent. --actor admin-water", out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
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
    rc = s_ctl (health_admin, "consent grant --subject P-1", out, sizeof out);
    cr_assert_eq (rc, 2, "%s", out);
    cr_assert (strstr (out, "grant needs --controller"), "%s", out);
    rc = s_ctl (health_admin, "consent withdraw c-unknown", out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert (strstr (out, "unknown consent id 'c-unknown'"), "%s", out);
}

/*  sl_gw_config and the gateway's idempotency ids: the configuration a
 *  bureau writes, and what a wrong one is told. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_error.h"
#include "sl_gw_config.h"
#include "sl_gw_http.h"

static char s_path[64];

static void
s_write (const char *text)
{
    snprintf (s_path, sizeof s_path, "/tmp/sl-gw-config-XXXXXX");
    int fd = mkstemp (s_path);
    cr_assert (fd >= 0);
    cr_assert_eq (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
}

static int
s_load (const char *text, sl_gw_config_t *cfg, char *err, size_t errlen)
{
    s_write (text);
    sl_gw_config_defaults (cfg);
    int rc = sl_gw_config_load (cfg, s_path, err, errlen);
    unlink (s_path);
    return rc;
}

static sl_gw_config_t s_cfg;

Test (gw_config, a_full_configuration)
{
    char err[512];
    int rc = s_load ("[gateway]\nlisten = 127.0.0.1:9000\ndata = /var/lib/sluice\n"
                     "key = /etc/sluice/parking.key\nspool = /tmp/spool\nmax_body = 2048\n"
                     "[app desk]\ntoken = 0123456789abcdefXYZ\nscopes = publish, query\n"
                     "[app ops]\ntoken = another-token-0123456789\n"
                     "[subscription visits]\nrecord_type = health.v1.Encounter\n"
                     "purpose = parking-fee-waiver\nwebhook = http://127.0.0.1:9001/x\n"
                     "webhook_secret = s3cret\n[owner]\nurl = http://127.0.0.1:9002/q\n",
                     &s_cfg, err, sizeof err);
    cr_assert_eq (rc, 0, "%s", err);
    cr_assert_str_eq (s_cfg.listen, "127.0.0.1:9000");
    cr_assert_eq (s_cfg.max_body, 2048);
    cr_assert_eq (s_cfg.napps, 2);
    cr_assert_eq (s_cfg.apps[0].scopes, SL_GW_SCOPE_PUBLISH | SL_GW_SCOPE_QUERY);
    cr_assert_eq (s_cfg.apps[1].scopes, SL_GW_SCOPE_ALL, "no scopes line: every scope");
    cr_assert_eq (s_cfg.publish_timeout_ms, 10000, "defaults stay");
    cr_assert_eq (s_cfg.nsubs, 1);
    cr_assert_str_eq (s_cfg.owner_url, "http://127.0.0.1:9002/q");

    const sl_gw_app_t *a = sl_gw_config_app_by_token (&s_cfg, "another-token-0123456789");
    cr_assert_not_null (a);
    cr_assert_str_eq (a->name, "ops");
    cr_assert_null (sl_gw_config_app_by_token (&s_cfg, "another-token-012345678"));
    cr_assert_null (sl_gw_config_app_by_token (&s_cfg, ""));
    cr_assert_not_null (sl_gw_config_sub (&s_cfg, "health.v1.Encounter", "parking-fee-waiver"));
    cr_assert_null (sl_gw_config_sub (&s_cfg, "health.v1.Encounter", "other"));
}

Test (gw_config, errors_name_file_and_line)
{
    char err[512];
    struct { const char *text, *want; } cases[] = {
        { "[gateway]\nkey = k\ndata = d\nlisten_port = 3\n", ":4: unknown key 'listen_port' in [gateway]" },
        { "[gateway]\nkey = k\ndata = d\nmax_body = lots\n", ":4: max_body: 'lots' is not a whole number" },
        { "[gateway]\nkey = k\ndata = d\n[app x]\ntoken = short\n", ":5: token of app 'x': at least 16" },
        { "[gateway]\nkey = k\ndata = d\n[subscription s]\nwebhook = ftp://x\n", ":5: webhook: 'ftp://x' is not" },
        { "[gateway]\nkey = k\ndata = d\n[app x]\nscopes = publish, delete\n", ":5: scopes: 'delete'" },
        { "[gateway]\nkey = k\ndata = d\n[consumer]\nx = 1\n", ":5: unknown section [consumer]" },
        { "[gateway]\ndata = d\n", "key = the bureau's secret key file is required" },
        { "[gateway]\nkey = k\n", "needs data = the broker's data directory" },
        { "[gateway]\nkey = k\ndata = d\n[app x]\nscopes = query\n", "[app x] has no token" },
        { "[gateway]\nkey = k\ndata = d\n[subscription s]\nrecord_type = t\n", "[subscription s] needs record_type and purpose" },
        { "[gateway]\nkey = k\ndata = d\ntls_cert = c\n", "tls_cert and tls_key go together" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cr_assert_eq (s_load (cases[i].text, &s_cfg, err, sizeof err), SL_EPARSE, "accepted: %s",
                      cases[i].text);
        cr_assert_not_null (strstr (err, cases[i].want), "case %zu: %s", i, err);
        cr_assert_eq (strncmp (err, "/tmp/sl-gw-config-", 18), 0, "names the file: %s", err);
    }
    sl_gw_config_defaults (&s_cfg);
    cr_assert_eq (sl_gw_config_load (&s_cfg, "/nonexistent/gw.ini", err, sizeof err), SL_EIO);
    cr_assert_not_null (strstr (err, "/nonexistent/gw.ini: cannot open"), "%s", err);
}

Test (gw_config, idempotency_ids)
{
    uint8_t a[16], b[16], c[16], d[16];
    sl_gw_idempotent_id ("water.v1.MeterReading", "export-1", 1, a);
    sl_gw_idempotent_id ("water.v1.MeterReading", "export-1", 1, b);
    sl_gw_idempotent_id ("water.v1.MeterReading", "export-1", 2, c);
    sl_gw_idempotent_id ("power.v1.MeterReading", "export-1", 1, d);
    cr_assert_eq (memcmp (a, b, 16), 0, "the same key and line: the same id");
    cr_assert_neq (memcmp (a, c, 16), 0, "another line: another id");
    cr_assert_neq (memcmp (a, d, 16), 0, "another record type: another id");
}

/*  sl_allow: the admin plane's address allow-list (broker/sl_allow.h). */
#include <criterion/criterion.h>

#include "sl_allow.h"
#include "sl_config.h"
#include "sl_error.h"
#include "sl_zap.h"

#include <string.h>
#include <zmq.h>

Test (allow, matches_networks_and_loopback)
{
    char err[200];
    sl_allow_t *a = sl_allow_new ("10.213.13.0/30, 192.0.2.7 2001:db8::/48", err, sizeof err);
    cr_assert_not_null (a, "%s", err);
    cr_expect_eq (sl_allow_count (a), 3);
    cr_expect (sl_allow_match (a, "10.213.13.2"));
    cr_expect (sl_allow_match (a, "10.213.13.3"));
    cr_expect (!sl_allow_match (a, "10.213.13.4"));
    cr_expect (!sl_allow_match (a, "10.213.13.6"));
    cr_expect (sl_allow_match (a, "192.0.2.7"));
    cr_expect (!sl_allow_match (a, "192.0.2.8"));
    cr_expect (sl_allow_match (a, "2001:db8:0:1::5"));
    cr_expect (!sl_allow_match (a, "2001:db9::1"));
    cr_expect (sl_allow_match (a, "::ffff:10.213.13.1"));   /* v4-mapped */
    cr_expect (sl_allow_match (a, "127.0.0.1"));             /* loopback always */
    cr_expect (sl_allow_match (a, "127.8.9.10"));
    cr_expect (sl_allow_match (a, "::1"));
    cr_expect (!sl_allow_match (a, "not an address"));
    cr_expect (!sl_allow_match (a, ""));
    sl_allow_destroy (&a);
    cr_expect_null (a);
    sl_allow_destroy (&a);
}

Test (allow, zero_prefix_and_odd_bits)
{
    char err[200];
    sl_allow_t *a = sl_allow_new ("172.16.0.0/12", err, sizeof err);
    cr_expect (sl_allow_match (a, "172.31.255.1"));
    cr_expect (!sl_allow_match (a, "172.32.0.1"));
    sl_allow_destroy (&a);
    a = sl_allow_new ("0.0.0.0/0", err, sizeof err);
    cr_expect (sl_allow_match (a, "203.0.113.9"));
    cr_expect (!sl_allow_match (a, "2001:db8::1"));     /* an IPv4 network only */
    sl_allow_destroy (&a);
}

Test (allow, bad_lists_name_the_item)
{
    char err[200];
    cr_expect_null (sl_allow_new ("10.0.0.0/33", err, sizeof err));
    cr_expect (strstr (err, "'10.0.0.0/33'") && strstr (err, "0..32"), "%s", err);
    cr_expect_null (sl_allow_new ("10.0.0.0/", err, sizeof err));
    cr_expect_null (sl_allow_new ("10.0.0.0/8x", err, sizeof err));
    cr_expect_null (sl_allow_new ("water.example", err, sizeof err));
    cr_expect (strstr (err, "'water.example'"), "%s", err);
    cr_expect_null (sl_allow_new (" , ", err, sizeof err));
    cr_expect (strstr (err, "empty"), "%s", err);
    cr_expect_null (sl_allow_new (NULL, err, sizeof err));
}

Test (allow, local_endpoints)
{
    cr_expect (sl_allow_endpoint_is_local ("tcp://127.0.0.1:5571"));
    cr_expect (sl_allow_endpoint_is_local ("tcp://127.0.0.1:*"));
    cr_expect (sl_allow_endpoint_is_local ("tcp://localhost:5571"));
    cr_expect (sl_allow_endpoint_is_local ("tcp://[::1]:5571"));
    cr_expect (sl_allow_endpoint_is_local ("ipc:///run/sluice/admin"));
    cr_expect (!sl_allow_endpoint_is_local ("tcp://*:5571"));
    cr_expect (!sl_allow_endpoint_is_local ("tcp://0.0.0.0:5571"));
    cr_expect (!sl_allow_endpoint_is_local ("tcp://10.213.13.1:5571"));
    cr_expect (!sl_allow_endpoint_is_local ("tcp://eth0:5571"));
}

Test (allow, config_key_and_its_value)
{
    sl_config_t cfg;
    char err[300];
    sl_config_defaults (&cfg);
    cr_expect_str_eq (cfg.admin_allow, "");              /* no list by default */
    cr_expect_eq (sl_config_set (&cfg, "admin_allow", "10.20.0.0/24, 192.0.2.7", err,
                                 sizeof err), 0, "%s", err);
    cr_expect_str_eq (cfg.admin_allow, "10.20.0.0/24, 192.0.2.7");
    /* the list is checked when the broker starts (sl_zap_guard_admin) */
    sl_allow_t *a = sl_allow_new (cfg.admin_allow, err, sizeof err);
    cr_expect_not_null (a, "%s", err);
    sl_allow_destroy (&a);
    sl_config_clear (&cfg);
}

Test (allow, the_admin_plane_is_not_opened_unguarded)
{
    void *ctx = zmq_ctx_new ();
    sl_zap_t *zap = sl_zap_new (ctx, NULL);
    char err[400];
    cr_assert_not_null (zap);
    cr_expect_eq (sl_zap_guard_admin (zap, "sluice.admin", "tcp://127.0.0.1:5571", NULL, err,
                                      sizeof err), 0);
    cr_expect_eq (sl_zap_guard_admin (zap, "sluice.admin", "tcp://*:5571", "", err, sizeof err),
                  SL_EINVAL);
    cr_expect (strstr (err, "--admin-allow"), "%s", err);
    cr_expect_eq (sl_zap_guard_admin (zap, "sluice.admin", "tcp://*:5571", "10.20.0.0/24", err,
                                      sizeof err), 0, "%s", err);
    cr_expect_eq (sl_zap_guard_admin (zap, "sluice.admin", "tcp://*:5571", "10.20.0.0/99", err,
                                      sizeof err), SL_EINVAL);
    cr_expect (strstr (err, "0..32"), "%s", err);
    sl_zap_destroy (&zap);
    zmq_ctx_term (ctx);
}

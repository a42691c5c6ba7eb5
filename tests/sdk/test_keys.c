/*  Key files as libsluice uses them (common/sl_keys.h): a client refuses a
    secret key others may read, a malformed one, or a missing broker key,
    before it touches the network. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sl_keys.h"
#include "sluice.h"
#include "sdk_unit.h"

static void
s_pair (const char *name)
{
    sl_keypair_t kp;
    char err[256];
    cr_assert_eq (sl_keys_generate (&kp), 0);
    cr_assert_eq (sl_keys_write (s_dir, name, &kp, 0, err, sizeof err), 0, "%s", err);
}

static int
s_connect (const char *key, const char *broker, char *err, size_t errlen)
{
    sl_client_options_t o;
    memset (&o, 0, sizeof o);
    o.endpoint = "tcp://127.0.0.1:1";     /* never reached: keys fail first */
    o.key_file = key;
    o.broker_key_file = broker;
    o.connect_timeout_ms = 200;
    sl_client_t *c = NULL;
    int rc = sl_client_connect (&o, &c, err, errlen);
    cr_assert_null (c);
    return rc;
}

Test (keys, written_pair_has_safe_modes_and_loads, .init = s_setup, .fini = s_teardown)
{
    char path[512], err[256], pub[SL_KEY_Z85_LEN + 1];
    struct stat st;
    sl_keypair_t kp;
    s_pair ("water");
    snprintf (path, sizeof path, "%s/water.key", s_dir);
    cr_assert_eq (stat (path, &st), 0);
    cr_assert_eq (st.st_mode & 0777, 0600);
    cr_assert_eq (sl_keys_load_secret (path, &kp, err, sizeof err), 0, "%s", err);
    snprintf (path, sizeof path, "%s/water.pub", s_dir);
    cr_assert_eq (sl_keys_load_public (path, pub, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (pub, kp.public_key);
}

Test (keys, client_refuses_group_readable_secret_key, .init = s_setup, .fini = s_teardown)
{
    char key[512], broker[512], err[512] = "";
    s_pair ("water");
    s_pair ("broker");
    snprintf (key, sizeof key, "%s/water.key", s_dir);
    snprintf (broker, sizeof broker, "%s/broker.pub", s_dir);
    cr_assert_eq (chmod (key, 0640), 0);
    cr_assert_eq (s_connect (key, broker, err, sizeof err), SL_EKEY);
    cr_assert (strstr (err, "water.key") != NULL, "the error names the file: %s", err);
    cr_assert (strstr (err, "client key") != NULL, "the error says which key: %s", err);
}

Test (keys, client_refuses_missing_or_malformed_keys, .init = s_setup, .fini = s_teardown)
{
    char key[512], broker[512], bad[512], err[512] = "";
    s_pair ("water");
    snprintf (key, sizeof key, "%s/water.key", s_dir);
    snprintf (broker, sizeof broker, "%s/nobroker.pub", s_dir);
    int rc = s_connect (key, broker, err, sizeof err);
    cr_assert (rc == SL_EIO || rc == SL_EKEY, "rc %d", rc);
    cr_assert (strstr (err, "broker key") != NULL, "%s", err);

    snprintf (bad, sizeof bad, "%s/bad.key", s_dir);
    cr_assert_eq (tl_write (bad, "public-key = short\nsecret-key = short\n"), 0);
    cr_assert_eq (chmod (bad, 0600), 0);
    snprintf (broker, sizeof broker, "%s/water.pub", s_dir);
    cr_assert_eq (s_connect (bad, broker, err, sizeof err), SL_EKEY);
    cr_assert (strstr (err, "bad.key") != NULL, "%s", err);

    cr_assert_eq (s_connect (NULL, broker, err, sizeof err), SL_EKEY);
    cr_assert (strstr (err, "keygen") != NULL, "says what to do: %s", err);
}

Test (keys, options_from_data_dir_reads_endpoints, .init = s_setup, .fini = s_teardown)
{
    char path[512], buf[4096], err[512] = "";
    sl_client_options_t o;
    memset (&o, 0, sizeof o);
    cr_assert_eq (sl_options_from_data_dir (&o, s_dir, 0, buf, sizeof buf, err, sizeof err),
                  SL_ENOTFOUND);
    cr_assert (strstr (err, "endpoints") != NULL, "%s", err);
    snprintf (path, sizeof path, "%s/endpoints", s_dir);
    cr_assert_eq (tl_write (path, "data = tcp://127.0.0.1:40123\nadmin = tcp://127.0.0.1:40124\npid = 1\n"), 0);
    cr_assert_eq (sl_options_from_data_dir (&o, s_dir, 0, buf, sizeof buf, err, sizeof err), 0);
    cr_assert_str_eq (o.endpoint, "tcp://127.0.0.1:40123");
    cr_assert (strstr (o.broker_key_file, "/broker.pub") != NULL);
    cr_assert_eq (sl_options_from_data_dir (&o, s_dir, 1, buf, sizeof buf, err, sizeof err), 0);
    cr_assert_str_eq (o.endpoint, "tcp://127.0.0.1:40124");
}

Test (keys, wire_errors_map_to_sl_codes)
{
    cr_assert_eq (sl_wire_error_to_rc (0), 0);
    cr_assert_eq (sl_wire_error_to_rc (6), SL_EPERM);      /* not-owner */
    cr_assert_eq (sl_wire_error_to_rc (7), SL_EDECODE);    /* bad-body */
    cr_assert_eq (sl_wire_error_to_rc (8), SL_EDENIED);
    cr_assert_eq (sl_wire_error_to_rc (10), SL_ETIMEOUT);
    cr_assert_eq (sl_wire_error_to_rc (999), SL_EPROTO);
    char hex[33];
    uint8_t id[16] = { 0x00, 0x01, 0xab, 0xff };
    sl_message_id_hex (id, hex);
    cr_assert_str_eq (hex, "0001abff000000000000000000000000");
}

/*  harness — see harness.h. */
#include "harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sl_keys.h"
#include "sl_test_scale.h"
#include "water/v1/water.pb-c.h"
#include "tl.h"

const char *
tb_program (const char *var)
{
    const char *p = getenv (var);
    cr_assert (p && *p, "environment variable %s (path of the program) is not set", var);
    return p;
}

int
tb_run (const char *cmd, char *out, size_t size)
{
    int st = tl_sh (out, size, "%s", cmd);
    cr_assert_neq (st, -1, "could not run %s", cmd);
    return st;
}

int
tb_ctl (tb_t *tb, const char *key, const char *args, char *out, size_t size)
{
    char cmd[4096];
    snprintf (cmd, sizeof cmd, "'%s' --endpoint '%s' --broker-key '%s' --key '%s' %s 2>&1",
              tb_program ("SLUICECTL"), tb->admin_ep, tb->broker_pub, key, args);
    return tb_run (cmd, out, size);
}

void
tb_ctl_expect (tb_t *tb, const char *key, const char *args, int status, const char *want,
               char *out, size_t size)
{
    int rc = tb_ctl (tb, key, args, out, size);
    cr_assert_eq (rc, status, "sluicectl %s: exit %d, expected %d: %s", args, rc, status, out);
    if (want)
        cr_assert (strstr (out, want), "sluicectl %s: no '%s' in: %s", args, want, out);
}

void
tb_init (tb_t *tb)
{
    memset (tb, 0, sizeof *tb);
    snprintf (tb->dir, sizeof tb->dir, "/tmp/sl-sdk-e2e-XXXXXX");
    cr_assert_not_null (mkdtemp (tb->dir));
    snprintf (tb->data_bind, sizeof tb->data_bind, "tcp://127.0.0.1:*");
    snprintf (tb->admin_bind, sizeof tb->admin_bind, "tcp://127.0.0.1:*");
    char data[300], log[300];
    snprintf (data, sizeof data, "%s/data", tb->dir);
    snprintf (log, sizeof log, "%s/init.log", tb->dir);
    cr_assert_eq (tl_broker_init (tb_program ("SLUICED"), data, log), 0, "sluiced init failed: see %s", log);
    snprintf (tb->admin_key, sizeof tb->admin_key, "%s/data/admin.key", tb->dir);
    snprintf (tb->broker_pub, sizeof tb->broker_pub, "%s/data/broker.pub", tb->dir);
    cr_assert_eq (access (tb->admin_key, R_OK), 0, "sluiced init wrote no %s", tb->admin_key);
    snprintf (data, sizeof data, "%s/keys", tb->dir);
    cr_assert_eq (mkdir (data, 0700), 0);
}

void
tb_start (tb_t *tb)
{
    char data[400], log[400];
    snprintf (data, sizeof data, "%s/data", tb->dir);
    snprintf (log, sizeof log, "%s/sluiced.log", tb->dir);
    tl_run_t r = { .sluiced = tb_program ("SLUICED"), .data = data, .log = log,
                   .data_bind = tb->data_bind, .admin_bind = tb->admin_bind };
    tb->pid = tl_broker_run (&r, tb->data_ep, sizeof tb->data_ep, tb->admin_ep, sizeof tb->admin_ep);
    if (tb->pid < 0) {
        tb->pid = 0;
        char cmd[500], out[4096];
        snprintf (cmd, sizeof cmd, "tail -c 3000 '%s'", log);
        tb_run (cmd, out, sizeof out);
        cr_assert_fail ("sluiced did not start: %s", out);
    }
}

int
tb_wait (int ms)
{
    return tl_wait (ms);
}

void
tb_restart (tb_t *tb)
{
    snprintf (tb->data_bind, sizeof tb->data_bind, "%s", tb->data_ep);
    snprintf (tb->admin_bind, sizeof tb->admin_bind, "%s", tb->admin_ep);
    tb_start (tb);
}

int
tb_stop (tb_t *tb)
{
    int st = tl_broker_stop (tb->pid, SIGTERM, 10000);
    tb->pid = 0;
    return st;
}

void
tb_kill (tb_t *tb)
{
    if (tb->pid)
        tl_broker_stop (tb->pid, SIGKILL, 0);
    tb->pid = 0;
}

void
tb_cleanup (tb_t *tb)
{
    if (tb->pid)
        tb_stop (tb);
    if (tb->dir[0] && !getenv ("SLUICE_TEST_KEEP")) {
        if (tl_rm_rf (tb->dir) != 0)
            fprintf (stderr, "could not remove %s\n", tb->dir);
    }
}

void
tb_member (tb_t *tb, const char *name, const char *role, char key[320])
{
    char dir[300], err[512], pub[320];
    sl_keypair_t kp;
    snprintf (dir, sizeof dir, "%s/keys", tb->dir);
    cr_assert_eq (sl_keys_generate (&kp), 0);
    cr_assert_eq (sl_keys_write (dir, name, &kp, 0, err, sizeof err), 0, "%s", err);
    snprintf (key, 320, "%s/%s.key", dir, name);
    snprintf (pub, sizeof pub, "%s/%s.pub", dir, name);
    if (!role)
        return;
    sl_client_options_t o;
    memset (&o, 0, sizeof o);
    o.endpoint = tb->admin_ep;
    o.key_file = tb->admin_key;
    o.broker_key_file = tb->broker_pub;
    char args[512], *result = NULL;
    snprintf (args, sizeof args, "{\"name\":\"%s\",\"role\":\"%s\",\"public_key\":\"%s\"}",
              name, role, kp.public_key);
    int rc = sl_admin_call (&o, "member.add", args, NULL, 0, tb_wait (5000), &result, err, sizeof err);
    cr_assert_eq (rc, 0, "member.add %s: %s", name, err);
    free (result);
}

void
tb_policy (tb_t *tb, const char *owner, const char *text)
{
    char key[400], err[4096], *result = NULL;
    if (strcmp (owner, "city") == 0)
        snprintf (key, sizeof key, "%s", tb->admin_key);
    else {
        char name[64];
        snprintf (name, sizeof name, "admin-%s", owner);
        snprintf (key, sizeof key, "%s/keys/%s.key", tb->dir, name);
        if (access (key, R_OK) != 0) {
            char role[64];
            snprintf (role, sizeof role, "admin:%s", owner);
            char made[320];
            tb_member (tb, name, role, made);
        }
    }
    sl_client_options_t o;
    memset (&o, 0, sizeof o);
    o.endpoint = tb->admin_ep;
    o.key_file = key;
    o.broker_key_file = tb->broker_pub;
    char args[128];
    snprintf (args, sizeof args, "{\"file\":\"%s.policy\"}", owner);
    int rc = sl_admin_call (&o, "policy.apply", args, text, strlen (text), tb_wait (5000), &result,
                            err, sizeof err);
    cr_assert_eq (rc, 0, "policy.apply %s: %s", owner, err);
    free (result);
}

void
tb_scene (tb_t *tb, char kw[320], char kp[320], const char *city, const char *water)
{
    tb_init (tb);
    tb_start (tb);
    tb_member (tb, "water", "member", kw);
    tb_member (tb, "power", "member", kp);
    if (city)
        tb_policy (tb, "city", city);
    if (water)
        tb_policy (tb, "water", water);
}

sl_client_t *
tb_publish_readings (tb_t *tb, const char *water_key, const char *power_key, int n,
                     const char *(*subject) (int i))
{
    sl_client_t *p = tb_connect (tb, power_key);
    cr_assert_eq (sl_client_subscribe (p, TL_WATER, "joint-metering"), 0, "%s", sl_client_last_error (p));
    sl_client_t *w = tb_connect (tb, water_key);
    uint8_t buf[256];
    for (int i = 0; i < n; i++) {
        Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
        r.subject = (char *) subject (i);
        r.district = "Nord";
        r.date_observed = 1767225600 + i;
        r.water_consumption_m3 = i;
        size_t len = water__v1__meter_reading__pack (&r, buf);
        sl_publish_meta_t meta = { NULL, r.subject, 0 };
        cr_assert_eq (sl_client_publish_async (w, TL_WATER, &meta, buf, len, NULL, NULL, NULL), 0);
    }
    cr_assert_eq (sl_client_flush (w, 60000), 0, "%s", sl_client_last_error (w));
    sl_client_destroy (&w, 1000);
    return p;
}

sl_client_options_t
tb_options (tb_t *tb, const char *key)
{
    sl_client_options_t o;
    memset (&o, 0, sizeof o);
    o.endpoint = tb->data_ep;
    o.key_file = key;
    o.broker_key_file = tb->broker_pub;
    o.connect_timeout_ms = tb_wait (5000);
    o.ack_timeout_ms = tb_wait (2000);
    return o;
}

sl_client_t *
tb_connect (tb_t *tb, const char *key)
{
    sl_client_options_t o = tb_options (tb, key);
    sl_client_t *c = NULL;
    char err[512];
    int rc = sl_client_connect (&o, &c, err, sizeof err);
    cr_assert_eq (rc, 0, "connect with %s: %s (%s)", key, err, sl_strerror (rc));
    return c;
}

/* ---- policy, consent and audit suites ------------------------------------ */

void
tb_take_one (sl_client_t **p)
{
    sl_delivery_t *d = NULL;
    cr_assert_eq (sl_client_recv (*p, &d, 10000), 0, "%s", sl_client_last_error (*p));
    cr_assert_eq (sl_client_ack (*p, d), 0);
    sl_delivery_destroy (&d);
    cr_assert_eq (sl_client_flush (*p, 10000), 0, "%s", sl_client_last_error (*p));
    sl_client_destroy (p, 1000);
}

/*  ---- added for the SDK, adapter and demo suites ---- */

void
tb_file_has (const char *path, const char *needle, int timeout_ms)
{
    int64_t until = tl_ms () + tl_wait (timeout_ms);
    char *text = tl_slurp (path, NULL);
    while (!(text && strstr (text, needle)) && tl_ms () < until) {
        usleep (20000);
        free (text);
        text = tl_slurp (path, NULL);
    }
    int found = text && strstr (text, needle);
    cr_assert (found, "no '%s' in %s: %s", needle, path, text ? text : "(cannot read it)");
    free (text);
}

/*  Integration: a member key rolls over while clients stay connected.
 *  water gets a second key (sluicectl member key add), a second connection
 *  uses it beside the first, the old key is retired (member key retire):
 *  only the session on the old key is closed (NOTICE key-retired), the one
 *  on the new key and the consumer carry on, the old key is refused from
 *  then on, and both steps are in the audit log. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "ot.h"
#include "tc.h"

#define WATER "water.v1.MeterReading"

static tc_broker_t B;
static sl_keypair_t k1, k2, kp;
static char out[8192], tmp[64];

static void
setup (void)
{
    cr_assert_eq (tc_broker_start (&B, NULL), 0);
    cr_assert_eq (tc_member (&B, "water", "member", &k1), 0);
    cr_assert_eq (tc_member (&B, "power", "member", &kp), 0);
    cr_assert_eq (tc_policy (&B, "city", "purpose joint-metering \"water and power reconcile household consumption\"\n"), 1);
    cr_assert_eq (tc_policy (&B, "water",
                             "permit \"w2p\" {\n  owner water\n  consumer power\n"
                             "  records " WATER "\n  purpose joint-metering\n  fields *\n"
                             "  subject pseudonymize\n}\n"), 1);
    snprintf (tmp, sizeof tmp, "/tmp/ot-roll-XXXXXX");
    cr_assert_not_null (mkdtemp (tmp));
}

static void
teardown (void)
{
    tc_broker_cleanup (&B);
    char cmd[120];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system (cmd) != 0)
        fprintf (stderr, "cannot remove %s\n", tmp);
}

TestSuite (rollover, .init = setup, .fini = teardown, .timeout = 120);

static int
ctl (const char *fmt, ...)
{
    char args[2000], cmd[2400];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (args, sizeof args, fmt, ap);
    va_end (ap);
    snprintf (cmd, sizeof cmd, "'%s' --data '%s' %s 2>&1", getenv ("SLUICECTL"), B.dir, args);
    FILE *p = popen (cmd, "r");
    size_t n = fread (out, 1, sizeof out - 1, p);
    out[n] = 0;
    int st = pclose (p);
    return WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

/*  Publishes one record and expects its ACK (skipping NOTICEs). */
static void
publish_ok (tc_client_t *c, uint32_t n)
{
    uint8_t id[16];
    size_t len;
    tc_msgid (id, n);
    uint8_t *body = tc_water_reading ("CIT-9", 3.0, &len);
    tc_publish1 (c, WATER, id, "CIT-9", body, len);
    free (body);
    tc_msg_t m;
    cr_assert_eq (tc_recv_cmd (c, &m, SLUICE__V1__COMMAND__ACK, tc_wait (5000)), 0, "no ACK");
    cr_assert_eq (m.h->command, SLUICE__V1__COMMAND__ACK, "refused: %s",
                  m.h->n_errors ? m.h->errors[0]->text : "");
    tc_msg_free (&m);
}

Test (rollover, member_key_rolls_over_with_clients_connected)
{
    tc_client_t a, b, p;
    cr_assert_eq (tc_join (&p, &B, &kp, "power"), 0);
    cr_assert_eq (tc_subscribe (&p, WATER, "joint-metering"), 0);
    tc_credit (&p, 1000);
    cr_assert_eq (tc_join (&a, &B, &k1, "water"), 0);
    publish_ok (&a, 1);

    /* the second key, registered with the CLI as an operator would */
    cr_assert_eq (sl_keys_generate (&k2), 0);
    cr_assert_eq (sl_keys_write (tmp, "water-2", &k2, 0, NULL, 0), 0);
    cr_assert_eq (ctl ("member key add water --pub '%s/water-2.pub'", tmp), 0, "%s", out);
    cr_assert_not_null (strstr (out, "2 key(s)"), "%s", out);
    /* both keys authenticate as water, side by side */
    cr_assert_eq (tc_join (&b, &B, &k2, "water"), 0);
    publish_ok (&b, 2);
    publish_ok (&a, 3);

    char fp1[17];
    sl_keys_fingerprint (k1.public_key, fp1);
    cr_assert_eq (ctl ("member key retire water --fingerprint %s", fp1), 0, "%s", out);
    cr_assert_not_null (strstr (out, "1 session(s) on it closed"), "%s", out);
    /* the session on the old key is told, and then closed */
    tc_msg_t m;
    cr_assert_eq (tc_recv_cmd (&a, &m, SLUICE__V1__COMMAND__NOTICE, tc_wait (5000)), 0);
    cr_assert_str_eq (m.h->notice, "key-retired");
    tc_msg_free (&m);
    usleep ((useconds_t) tc_wait (800) * 1000);
    /* the new key's session and the consumer carry on */
    publish_ok (&b, 4);
    int got = 0;
    int64_t until = tc_ms () + tc_wait (5000);
    while (got < 4 && tc_ms () < until) {
        if (tc_recv_cmd (&p, &m, SLUICE__V1__COMMAND__DELIVER, 500) != 0)
            continue;
        got += (int) m.h->n_records;
        tc_msg_free (&m);
    }
    cr_assert_eq (got, 4, "the consumer got %d of 4 records across the rollover", got);
    /* the old key is refused from now on */
    tc_client_t c;
    cr_assert_eq (tc_connect (&c, B.data_ep, B.broker_pub, &k1), 0);
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__HELLO;
    tc_send (&c, &h, NULL, NULL, 0);
    cr_assert_neq (tc_recv (&c, &m, tc_wait (1500)), 0, "the retired key got an answer");
    tc_close (&c);
    /* and cannot be added back */
    char pub1[200];
    snprintf (pub1, sizeof pub1, "%s/old", tmp);
    cr_assert_eq (sl_keys_write (tmp, "old", &k1, 0, NULL, 0), 0);
    cr_assert_neq (ctl ("member key add water --pub '%s.pub'", pub1), 0);
    /* audited */
    cr_assert_eq (ot_audit_count (&B, &B.admin, "member.key.add"), 1);
    cr_assert_eq (ot_audit_count (&B, &B.admin, "member.key.retire"), 1);
    /* the only key left cannot be retired */
    char fp2[17];
    sl_keys_fingerprint (k2.public_key, fp2);
    cr_assert_neq (ctl ("member key retire water --fingerprint %s", fp2), 0);
    cr_assert_not_null (strstr (out, "only key"), "%s", out);
    tc_close (&a);
    tc_close (&b);
    tc_close (&p);
}

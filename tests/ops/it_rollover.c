/*  Integration: a member key rolls over while clients stay connected.
 *  water gets a second key (sluicectl member key add), a second connection
 *  uses it beside the first, the old key is retired (member key retire):
 *  only the session on the old key is closed (NOTICE key-retired), the one
 *  on the new key and the consumer carry on, the old key is refused from
 *  then on, and both steps are in the audit log. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <cJSON.h>

#include "ot.h"
#include "tc.h"
#include "tl.h"


static tc_broker_t B;
static sl_keypair_t k1, k2, kp;
static char out[8192], tmp[64];

static void
setup (void)
{
    cr_assert_eq (tc_scene (&B, NULL, &k1, &kp, TL_CITY, TL_PERMIT ("w2p", "*", "pseudonymize", "")), 0);
    ot_tmpdir (tmp, "roll");
}

static void
teardown (void)
{
    ot_cleanup (&B, tmp);
}

TestSuite (rollover, .init = setup, .fini = teardown, .timeout = 120);

/*  sluicectl --data DIR ARGS (stderr folded in): the exit status. */
#define ctl(fmt, ...) tc_ctl (out, sizeof out, "--data '%s' " fmt, B.dir, ##__VA_ARGS__)

/*  Publishes record n (about CIT-9) and expects its ACK (skipping NOTICEs). */
#define publish_ok(c, n) TC_PUBLISH_OK (c, n, "CIT-9", 3.0)

/*  The consumer p (credit 1000) and water's session a on key k1, which
 *  publishes record n. */
static void
s_sessions (tc_client_t *a, tc_client_t *p, uint32_t n)
{
    cr_assert_eq (tc_consumer (p, &B, &kp, "power", TL_WATER, "joint-metering", 1000), 0);
    cr_assert_eq (tc_join (a, &B, &k1, "water"), 0);
    publish_ok (a, n);
}

/*  The session c is told `notice`, then closed (0.8 s for that). */
static void
s_told (tc_client_t *c, const char *notice)
{
    tc_msg_t m;
    cr_assert_eq (tc_recv_cmd (c, &m, SLUICE__V1__COMMAND__NOTICE, tc_wait (5000)), 0);
    cr_assert_str_eq (m.h->notice, notice);
    tc_msg_free (&m);
    usleep ((useconds_t) tc_wait (800) * 1000);
}

Test (rollover, member_key_rolls_over_with_clients_connected)
{
    tc_client_t a, b, p;
    s_sessions (&a, &p, 1);

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
    s_told (&a, "key-retired");
    /* the new key's session and the consumer carry on */
    publish_ok (&b, 4);
    int got = tc_drain (&p, 4, 0, NULL, 5000);
    cr_assert_eq (got, 4, "the consumer got %d of 4 records across the rollover", got);
    /* the old key is refused from now on */
    cr_assert (tc_refused (B.data_ep, B.broker_pub, &k1, 1500), "the retired key got an answer");
    /* and cannot be added back */
    char pub1[200];
    snprintf (pub1, sizeof pub1, "%s/old", tmp);
    cr_assert_eq (sl_keys_write (tmp, "old", &k1, 0, NULL, 0), 0);
    cr_assert_neq (ctl ("member key add water --pub '%s.pub'", pub1), 0);
    /* audited */
    cr_assert_eq (tc_audit_count (&B, "kind=member.key.add", NULL), 1);
    cr_assert_eq (tc_audit_count (&B, "kind=member.key.retire", NULL), 1);
    /* the only key left cannot be retired */
    char fp2[17];
    sl_keys_fingerprint (k2.public_key, fp2);
    cr_assert_neq (ctl ("member key retire water --fingerprint %s", fp2), 0);
    cr_assert_not_null (strstr (out, "only key"), "%s", out);
    tc_close_all (&a, &b, &p, NULL);
}

/*  The `KEY = value` line of DIR/endpoints into out. 0 or -1. */
#define endpoint(key, out, size) tl_endpoint (B.dir, key, out, size)

/*  Whether DIR/endpoints lists `key` (into out) within 5 s when `present`,
 *  or stops listing it when not. */
#define listed(key, out, size, present) \
    TC_AWAIT (5000, (endpoint (key, out, size) == 0) == (present))

Test (rollover, broker_key_overlaps_then_the_old_one_is_retired)
{
    tc_client_t a, b, p;
    s_sessions (&a, &p, 11);                /* a on the current broker key */

    /* the next broker key, as the operator makes it, served after a reload */
    char old_data[256];
    snprintf (old_data, sizeof old_data, "%s", B.data_ep);
    cr_assert_eq (ctl ("keygen broker-next --dir '%s'", B.dir), 0, "%s", out);
    cr_assert_not_null (strstr (out, "reload"), "keygen broker-next: %s", out);
    /* promoting before the broker serves it is refused */
    cr_assert_eq (ctl ("broker-key promote"), 1, "%s", out);
    cr_assert_not_null (strstr (out, "does not serve"), "%s", out);
    cr_assert_eq (kill (B.pid, SIGHUP), 0);
    char next_ep[256], next_pub[64];
    cr_assert (listed ("data.next", next_ep, sizeof next_ep, 1), "no data.next");
    cr_assert_eq (endpoint ("broker_key.next", next_pub, sizeof next_pub), 0);
    cr_assert_str_neq (next_pub, B.broker_pub);
    /* a client on the next key, beside the one on the current key */
    cr_assert_eq (tc_connect (&b, next_ep, next_pub, &k1), 0);
    cr_assert_eq (tc_hello (&b, "water"), 0, "no HELLO through the next broker key");
    publish_ok (&b, 12);
    publish_ok (&a, 13);
    cr_assert_eq (tc_audit_count (&B, "kind=broker.key.add", NULL), 1);

    /* promotion: the next key becomes broker.key; a reload retires the old one */
    cr_assert_eq (ctl ("broker-key promote"), 0, "%s", out);
    cr_assert_not_null (strstr (out, "systemctl reload"), "%s", out);
    cr_assert_eq (kill (B.pid, SIGHUP), 0);
    char now_ep[256];
    cr_assert (listed ("data.next", now_ep, sizeof now_ep, 0), "data.next still listed");
    cr_assert_eq (endpoint ("data", now_ep, sizeof now_ep), 0);
    cr_assert_str_eq (now_ep, next_ep);
    /* the old key's session is told and closed; the new key's carries on */
    s_told (&a, "broker-key-retired");
    publish_ok (&b, 14);
    int got = tc_drain (&p, 4, 0, NULL, 5000);
    /* power's session was on the old key too: it was closed with it */
    cr_assert_geq (got, 2, "power got %d records", got);
    /* nothing answers on the old key any more */
    cr_assert (tc_refused (old_data, B.broker_pub, &k1, 1500), "the retired broker key still answers");
    /* the admin plane moved with the key; the retirement is audited */
    cr_assert_eq (endpoint ("admin", B.admin_ep, sizeof B.admin_ep), 0);
    snprintf (B.broker_pub, sizeof B.broker_pub, "%.40s", next_pub);
    cr_assert_eq (tc_audit_count (&B, "kind=broker.key.retire", NULL), 1);
    tc_close_all (&a, &b, &p, NULL);
}

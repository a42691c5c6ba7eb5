/*  libsluice against the real sluiced: connect, publish, deliver, query,
    reconnect and resend, spool. Every test has its own broker, data
    directory and ephemeral ports. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "water/v1/water.pb-c.h"


static tb_t tb;
static char water_key[320], power_key[320];
static sl_client_t *W, *P;           /* water's and power's clients, closed by s_teardown */

static void
s_setup (void)
{
    /* water's written policy: power receives readings for joint metering */
    tb_scene (&tb, water_key, power_key, TL_CITY, TL_PERMIT ("water-to-power", "*", "keep", ""));
}

static void
s_teardown (void)
{
    sl_client_destroy (&W, 0);
    sl_client_destroy (&P, 0);
    tb_cleanup (&tb);
}

/*  A packed water.v1.MeterReading about `subject` with reading `m3`. */
static size_t
s_reading (uint8_t *buf, const char *subject, double m3)
{
    Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
    r.id = "WM-17:1767225600";
    r.ref_device = "WM-17";
    r.subject = (char *) subject;
    r.district = "Nord";
    r.date_observed = 1767225600;
    r.water_consumption_m3 = m3;
    return water__v1__meter_reading__pack (&r, buf);
}

static double
s_m3 (const void *body, size_t size)
{
    Water__V1__MeterReading *r = water__v1__meter_reading__unpack (NULL, size, body);
    cr_assert_not_null (r, "delivered body decodes as %s", TL_WATER);
    double v = r->water_consumption_m3;
    water__v1__meter_reading__free_unpacked (r, NULL);
    return v;
}

/*  Receives one delivery on p within timeout_ms (`what` in the message
 *  when none comes), acks it and returns its reading's m3. */
static double
s_take (sl_client_t *p, int timeout_ms, const char *what)
{
    sl_delivery_t *d = NULL;
    cr_assert_eq (sl_client_recv (p, &d, timeout_ms), 0, "%s", what);
    size_t size;
    const void *body = sl_delivery_body (d, &size);
    double m3 = s_m3 (body, size);
    sl_client_ack (p, d);
    sl_delivery_destroy (&d);
    return m3;
}

/*  Receives n readings whose m3 are 0..n-1, each once (any order), acks
 *  each, and then nothing more. */
static void
s_receive_each (sl_client_t *p, int n, int timeout_ms)
{
    char *seen = calloc ((size_t) n, 1);
    for (int i = 0; i < n; i++) {
        char what[48];
        snprintf (what, sizeof what, "record %d of %d", i, n);
        int v = (int) s_take (p, timeout_ms, what);
        cr_assert (v >= 0 && v < n);
        cr_assert_not (seen[v], "record %d delivered twice", v);
        seen[v] = 1;
    }
    free (seen);
    sl_delivery_t *d = NULL;
    cr_assert_eq (sl_client_recv (p, &d, 500), SL_ETIMEOUT);
}

/*  power, connected and subscribed to water readings for joint-metering. */
static sl_client_t *
s_power (void)
{
    sl_client_t *p = tb_connect (&tb, power_key);
    cr_assert_eq (sl_client_subscribe (p, TL_WATER, "joint-metering"), 0, "%s", sl_client_last_error (p));
    return p;
}

/*  The usual pair: P is power, subscribed (s_power), W is water, connected. */
static void
s_water_and_power (void)
{
    P = s_power ();
    W = tb_connect (&tb, water_key);
}

/*  Publishes a reading about `subject` of `m3` as w (meta may be NULL) and
 *  waits up to 5 s for the answer. The result of sl_client_publish. */
static int
s_publish (sl_client_t *w, const sl_publish_meta_t *meta, const char *subject, double m3)
{
    uint8_t buf[256];
    size_t n = s_reading (buf, subject, m3);
    return sl_client_publish (w, TL_WATER, meta, buf, n, 5000);
}

/*  As water (W), s_publish with the message id of 16 bytes `fill` (left in
 *  id[]) and the event time event_ms (0: none). */
static int
s_publish_id (uint8_t id[SL_MESSAGE_ID_LEN], int fill, const char *subject, int64_t event_ms, double m3)
{
    memset (id, fill, SL_MESSAGE_ID_LEN);
    sl_publish_meta_t meta = { id, subject, event_ms };
    return s_publish (W, &meta, subject, m3);
}

TestSuite (e2e, .init = s_setup, .fini = s_teardown, .timeout = 60);

Test (e2e, hello_names_the_member)
{
    sl_client_t *c = tb_connect (&tb, water_key);
    cr_assert_str_eq (sl_client_member (c), "water");
    cr_assert (strlen (sl_client_broker_version (c)) > 0);
    cr_assert_gt (sl_client_max_message_size (c), 1024);
    cr_assert (sl_client_connected (c));
    sl_client_destroy (&c, 0);
    cr_assert_null (c);
}

Test (e2e, unknown_key_is_refused)
{
    char stranger[320], err[512] = "";
    tb_member (&tb, "stranger", NULL, stranger);       /* keys, but never registered */
    sl_client_options_t o = tb_options (&tb, stranger);
    sl_client_t *c = NULL;
    int rc = sl_client_connect (&o, &c, err, sizeof err);
    cr_assert_eq (rc, SL_EPERM, "rc %d: %s", rc, err);
    cr_assert_null (c);
    cr_assert (strstr (err, "refused") && strstr (err, "member add"), "says what to do: %s", err);
}

Test (e2e, secret_key_readable_by_others_is_refused)
{
    char err[512] = "";
    cr_assert_eq (chmod (water_key, 0644), 0);
    sl_client_options_t o = tb_options (&tb, water_key);
    sl_client_t *c = NULL;
    cr_assert_eq (sl_client_connect (&o, &c, err, sizeof err), SL_EKEY);
    cr_assert (strstr (err, water_key) != NULL, "names the file: %s", err);
    cr_assert (strstr (err, "mode 644") != NULL, "says why: %s", err);
    cr_assert_eq (chmod (water_key, 0600), 0);
    cr_assert_eq (sl_client_connect (&o, &c, err, sizeof err), 0, "fixed mode connects: %s", err);
    sl_client_destroy (&c, 0);
}

Test (e2e, blocking_publish_is_acked_and_refusals_are_precise)
{
    uint8_t buf[256];
    size_t n = s_reading (buf, "C-1001", 12.5);
    W = tb_connect (&tb, water_key);
    cr_assert_eq (sl_client_publish (W, TL_WATER, NULL, buf, n, 5000), 0, "%s", sl_client_last_error (W));
    cr_assert_eq (sl_client_unacked (W), 0);

    /* a body that does not decode */
    uint8_t junk[] = { 0xff, 0xff, 0xff, 0x07 };
    cr_assert_eq (sl_client_publish (W, TL_WATER, NULL, junk, sizeof junk, 5000), SL_EDECODE);
    cr_assert (strlen (sl_client_last_error (W)) > 0);
    /* an unknown record type */
    cr_assert_eq (sl_client_publish (W, "water.v9.Nothing", NULL, buf, n, 5000), SL_EINVAL);
    /* the client keeps working after refusals */
    cr_assert_eq (s_publish (W, NULL, "C-1001", 12.5), 0);
    sl_client_destroy (&W, 0);

    /* power does not own water's records */
    P = tb_connect (&tb, power_key);
    cr_assert_eq (s_publish (P, NULL, "C-1001", 12.5), SL_EPERM);
}

typedef struct {
    int ok, failed;
} s_counts_t;

static void
s_count_cb (const uint8_t *id, int rc, const char *text, void *arg)
{
    (void) id;
    (void) text;
    s_counts_t *c = arg;
    if (rc == 0)
        c->ok++;
    else
        c->failed++;
}

/*  Publishes readings of m3 from, from + 1, ... (n of them) about C-1001
 *  as w without waiting; each answer counted in *counts (NULL: no
 *  callback). */
static void
s_publish_async (sl_client_t *w, int from, int n, s_counts_t *counts)
{
    uint8_t buf[256];
    for (int i = from; i < from + n; i++) {
        size_t len = s_reading (buf, "C-1001", i);
        cr_assert_eq (sl_client_publish_async (w, TL_WATER, NULL, buf, len, counts ? s_count_cb : NULL,
                                               counts, NULL), 0, "record %d", i);
    }
}

Test (e2e, async_publish_calls_back_once_per_record_and_delivers_all)
{
    s_water_and_power ();
    s_counts_t counts = { 0, 0 };
    s_publish_async (W, 0, 300, &counts);
    cr_assert_eq (sl_client_flush (W, 20000), 0, "%s", sl_client_last_error (W));
    cr_assert_eq (counts.ok, 300);
    cr_assert_eq (counts.failed, 0);
    sl_client_stats_t st;
    sl_client_stats (W, &st);
    cr_assert_eq (st.records_acked, 300);
    cr_assert_eq (st.records_sent, 300);
    cr_assert_lt (st.publish_messages, 300, "records queued faster than ACKs come back share "
                  "PUBLISH messages (%llu messages)", (unsigned long long) st.publish_messages);

    s_receive_each (P, 300, 10000);
}

Test (e2e, delivery_carries_metadata_and_ack_removes_it)
{
    s_water_and_power ();
    uint8_t id[SL_MESSAGE_ID_LEN];
    cr_assert_eq (s_publish_id (id, 0x5a, "C-2002", 1767225600123, 42.0), 0);

    sl_delivery_t *d;
    cr_assert_eq (sl_client_recv (P, &d, 5000), 0);
    cr_assert_str_eq (sl_delivery_record_type (d), TL_WATER);
    cr_assert_str_eq (sl_delivery_owner (d), "water");
    cr_assert_str_eq (sl_delivery_purpose (d), "joint-metering");
    cr_assert_str_eq (sl_delivery_subject (d), "C-2002");
    cr_assert_eq (sl_delivery_event_time_ms (d), 1767225600123);
    cr_assert_eq (memcmp (sl_delivery_message_id (d), id, sizeof id), 0);
    cr_assert_gt (sl_delivery_rule_count (d), 0, "a delivery says which rule permitted it");
    cr_assert (strstr (sl_delivery_rule (d, 0), "power") != NULL, "%s", sl_delivery_rule (d, 0));
    size_t size;
    const void *body = sl_delivery_body (d, &size);
    cr_assert_eq (s_m3 (body, size), 42.0);
    cr_assert_eq (sl_client_ack (P, d), 0);
    sl_delivery_destroy (&d);
    sl_client_destroy (&P, 1000);            /* sends the batched ack */

    /* acked: a new connection gets nothing again */
    P = s_power ();
    cr_assert_eq (sl_client_recv (P, &d, 700), SL_ETIMEOUT);
}

Test (e2e, unacked_delivery_comes_again_after_reconnect)
{
    s_water_and_power ();
    uint8_t first[SL_MESSAGE_ID_LEN];
    cr_assert_eq (s_publish (W, NULL, "C-3003", 7.0), 0);
    sl_delivery_t *d;
    cr_assert_eq (sl_client_recv (P, &d, 5000), 0);
    memcpy (first, sl_delivery_message_id (d), sizeof first);
    sl_delivery_destroy (&d);                /* not acked */
    sl_client_destroy (&P, 0);

    P = s_power ();
    cr_assert_eq (sl_client_recv (P, &d, 5000), 0, "redelivered after reconnect");
    cr_assert_eq (memcmp (sl_delivery_message_id (d), first, sizeof first), 0);
    sl_client_ack (P, d);
    sl_delivery_destroy (&d);
}

Test (e2e, consumer_without_a_permit_receives_nothing)
{
    char health_key[320];
    tb_member (&tb, "health", "member", health_key);
    sl_client_t *h = tb_connect (&tb, health_key);
    /* the subscription itself is accepted: the decision is per record */
    int rc = sl_client_subscribe (h, TL_WATER, "joint-metering");
    cr_assert_eq (rc, 0, "subscribe: %s", sl_strerror (rc));
    /* positive control: power holds the permit and subscribes the same way */
    s_water_and_power ();
    cr_assert_eq (s_publish (W, NULL, "C-1001", 1.0), 0);
    s_take (P, 5000, "the permitted consumer got nothing");
    sl_delivery_t *d = NULL;
    cr_assert_eq (sl_client_recv (h, &d, 700), SL_ETIMEOUT, "default deny: nothing reaches health");
    sl_client_destroy (&h, 0);
}

Test (e2e, resent_message_id_is_stored_once)
{
    s_water_and_power ();
    uint8_t id[SL_MESSAGE_ID_LEN];
    cr_assert_eq (s_publish_id (id, 0x11, "C-1001", 0, 3.0), 0);
    cr_assert_eq (s_publish_id (id, 0x11, "C-1001", 0, 3.0), 0, "a resend is ACKed too");
    s_take (P, 5000, "the record is delivered");
    sl_delivery_t *d;
    cr_assert_eq (sl_client_recv (P, &d, 700), SL_ETIMEOUT, "but queued once");
}

/*  ---- queries: the owner serves from its own thread ---- */

typedef struct {
    sl_client_t *client;
    volatile int stop;
    int served;
} s_owner_t;

static int
s_serve (sl_query_t *q, void *arg)
{
    s_owner_t *o = arg;
    o->served++;
    if (strcmp (sl_query_subject (q), "C-404") == 0) {
        sl_query_fail (q, "no such account");
        return SL_ENOTFOUND;
    }
    const char *from = sl_query_param (q, "from");
    uint8_t buf[256];
    size_t n = s_reading (buf, sl_query_subject (q), from ? atof (from) : -1.0);
    cr_assert_eq (sl_query_add (q, buf, n, sl_query_subject (q), 0), 0);
    cr_assert_str_eq (sl_query_asker (q), "power");
    return 0;
}

static void *
s_owner_thread (void *arg)
{
    s_owner_t *o = arg;
    while (!o->stop)
        sl_client_poll (o->client, 50);
    return NULL;
}

Test (e2e, query_is_served_by_the_owner_and_checked)
{
    s_owner_t owner = { tb_connect (&tb, water_key), 0, 0 };
    sl_client_serve (owner.client, s_serve, &owner);
    pthread_t th;
    cr_assert_eq (pthread_create (&th, NULL, s_owner_thread, &owner), 0);

    P = tb_connect (&tb, power_key);
    sl_param_t params[] = { { "from", "77" } };
    sl_reply_t *r = NULL;
    int rc = sl_client_query (P, TL_WATER, "C-1001", "joint-metering", params, 1, 3000, &r);
    cr_assert_eq (rc, 0, "%s", sl_client_last_error (P));
    cr_assert_eq (sl_reply_count (r), 1);
    size_t size;
    const void *body = sl_reply_body (r, 0, &size);
    cr_assert_eq (s_m3 (body, size), 77.0, "the owner saw the parameter");
    cr_assert_str_eq (sl_reply_record_type (r, 0), TL_WATER);
    cr_assert_null (sl_reply_body (r, 1, &size));
    sl_reply_destroy (&r);

    /* the owner's refusal reaches the asker */
    rc = sl_client_query (P, TL_WATER, "C-404", "joint-metering", NULL, 0, 3000, &r);
    cr_assert_eq (rc, SL_ENOTFOUND, "rc %d", rc);
    cr_assert (strstr (sl_client_last_error (P), "no such account") != NULL, "%s",
               sl_client_last_error (P));

    /* a purpose no permit names is denied by the broker, the owner never asked */
    int before = owner.served;
    rc = sl_client_query (P, TL_WATER, "C-1001", "marketing", NULL, 0, 3000, &r);
    cr_assert_eq (rc, SL_EDENIED, "rc %d", rc);
    cr_assert_null (r);
    cr_assert_eq (owner.served, before);

    owner.stop = 1;
    pthread_join (th, NULL);
    sl_client_destroy (&owner.client, 0);

    /* owner gone */
    rc = sl_client_query (P, TL_WATER, "C-1001", "joint-metering", NULL, 0, 3000, &r);
    cr_assert_eq (rc, SL_ENOTFOUND, "owner offline: rc %d (%s)", rc, sl_client_last_error (P));
}

Test (e2e, query_times_out_when_the_owner_is_silent)
{
    W = tb_connect (&tb, water_key);   /* connected, but never polled */
    P = tb_connect (&tb, power_key);
    sl_reply_t *r = NULL;
    int rc = sl_client_query (P, TL_WATER, "C-1001", "joint-metering", NULL, 0, 500, &r);
    cr_assert_eq (rc, SL_ETIMEOUT, "rc %d (%s)", rc, sl_client_last_error (P));
    cr_assert_null (r);
}

/*  ---- reconnect, resend, spool ---- */

Test (e2e, publishes_survive_a_broker_restart_without_duplicates)
{
    P = s_power ();
    sl_client_destroy (&P, 0);

    W = tb_connect (&tb, water_key);
    for (int i = 0; i < 5; i++)
        cr_assert_eq (s_publish (W, NULL, "C-1001", i), 0);
    cr_assert_eq (tb_stop (&tb), 0, "sluiced exits 0 on SIGTERM");
    s_counts_t counts = { 0, 0 };
    s_publish_async (W, 5, 5, &counts);
    sl_client_poll (W, 300);
    cr_assert_eq (counts.ok, 0, "nothing is acked while the broker is down");
    cr_assert_eq (sl_client_unacked (W), 5);

    tb_restart (&tb);
    cr_assert_eq (sl_client_flush (W, 15000), 0, "%s", sl_client_last_error (W));
    cr_assert_eq (counts.ok, 5);
    cr_assert (sl_client_connected (W));
    sl_client_stats_t st;
    sl_client_stats (W, &st);
    cr_assert_eq (st.reconnects, 1, "one new session after the restart");
    cr_assert_eq (st.records_acked, 10);

    P = s_power ();
    s_receive_each (P, 10, 5000);
}

Test (e2e, spool_keeps_records_while_the_broker_is_away)
{
    char spool[400];
    snprintf (spool, sizeof spool, "%s/spool", tb.dir);
    P = s_power ();
    sl_client_destroy (&P, 0);
    cr_assert_eq (tb_stop (&tb), 0);

    /* the adapter starts while the broker is down, spools, and exits */
    sl_client_options_t o = tb_options (&tb, water_key);
    o.spool_dir = spool;
    o.connect_timeout_ms = 300;
    char err[512];
    cr_assert_eq (sl_client_connect (&o, &W, err, sizeof err), 0, "%s", err);
    cr_assert_not (sl_client_connected (W));
    s_publish_async (W, 100, 3, NULL);
    sl_client_destroy (&W, 0);

    /* broker back; the adapter restarts and sends what it spooled */
    tb_restart (&tb);
    o.connect_timeout_ms = 5000;
    cr_assert_eq (sl_client_connect (&o, &W, err, sizeof err), 0, "%s", err);
    cr_assert_eq (sl_client_unacked (W), 3, "the spool was reloaded");
    cr_assert_eq (sl_client_flush (W, 10000), 0, "%s", sl_client_last_error (W));
    sl_client_destroy (&W, 0);

    P = s_power ();
    for (int i = 0; i < 3; i++) {
        char what[32];
        snprintf (what, sizeof what, "spooled record %d", i);
        cr_assert_eq (s_take (P, 5000, what), 100.0 + i, "in publish order");
    }
    sl_client_destroy (&P, 1000);

    /* and the spool is empty now: a third start resends nothing */
    cr_assert_eq (sl_client_connect (&o, &W, err, sizeof err), 0, "%s", err);
    cr_assert_eq (sl_client_unacked (W), 0);
}

Test (e2e, revoked_member_is_cut_off)
{
    W = tb_connect (&tb, water_key);
    sl_client_options_t o = tb_options (&tb, tb.admin_key);
    o.endpoint = tb.admin_ep;
    char *result = NULL, err[512];
    cr_assert_eq (sl_admin_call (&o, "member.revoke", "{\"name\":\"water\"}", NULL, 0, 5000,
                                 &result, err, sizeof err), 0, "%s", err);
    free (result);
    uint8_t buf[256];
    size_t n = s_reading (buf, "C-1001", 1.0);
    int rc = sl_client_publish (W, TL_WATER, NULL, buf, n, 3000);
    cr_assert (rc == SL_EPERM || rc == SL_ECLOSED, "rc %d (%s)", rc, sl_client_last_error (W));
    sl_client_destroy (&W, 0);
    sl_client_options_t wo = tb_options (&tb, water_key);
    cr_assert_eq (sl_client_connect (&wo, &W, err, sizeof err), SL_EPERM, "%s", err);
}

Test (e2e, nack_gives_a_record_back_and_unsubscribe_ends_deliveries)
{
    s_water_and_power ();
    cr_assert_eq (s_publish (W, NULL, "C-1001", 5.0), 0);
    sl_delivery_t *d, *again;
    cr_assert_eq (sl_client_recv (P, &d, 5000), 0);
    cr_assert_eq (sl_client_nack (P, d), 0);
    cr_assert_eq (sl_client_recv (P, &again, 5000), 0, "a nacked record is delivered again");
    cr_assert_eq (memcmp (sl_delivery_message_id (again), sl_delivery_message_id (d),
                          SL_MESSAGE_ID_LEN), 0);
    sl_client_ack (P, again);
    sl_delivery_destroy (&again);
    sl_delivery_destroy (&d);
    cr_assert_eq (sl_client_flush (P, 5000), 0, "%s", sl_client_last_error (P));

    cr_assert_eq (sl_client_unsubscribe (P, TL_WATER, "joint-metering"), 0, "%s", sl_client_last_error (P));
    cr_assert_eq (sl_client_unsubscribe (P, TL_WATER, "joint-metering"), SL_ENOTFOUND);
    cr_assert_eq (s_publish (W, NULL, "C-1001", 5.0), 0);
    cr_assert_eq (sl_client_recv (P, &d, 700), SL_ETIMEOUT, "no subscription, no delivery");
}

Test (e2e, oversized_record_is_refused_before_sending)
{
    W = tb_connect (&tb, water_key);
    size_t big = sl_client_max_message_size (W) + 1;
    uint8_t *body = calloc (1, big);
    cr_assert_not_null (body);
    cr_assert_eq (sl_client_publish_async (W, TL_WATER, NULL, body, big, NULL, NULL, NULL), SL_ETOOBIG);
    cr_assert (strstr (sl_client_last_error (W), "split") != NULL, "%s", sl_client_last_error (W));
    cr_assert_eq (sl_client_unacked (W), 0);
    free (body);
}

Test (e2e, no_broker_is_a_timeout_that_says_what_to_check)
{
    cr_assert_eq (tb_stop (&tb), 0);
    sl_client_options_t o = tb_options (&tb, water_key);
    o.connect_timeout_ms = 300;
    sl_client_t *c = NULL;
    char err[512] = "";
    cr_assert_eq (sl_client_connect (&o, &c, err, sizeof err), SL_ETIMEOUT);
    cr_assert_null (c);
    cr_assert (strstr (err, tb.data_ep) && strstr (err, "sluiced running"), "%s", err);
}

Test (e2e, broker_crash_mid_stream_loses_nothing_and_duplicates_nothing)
{
    enum { N = 2000 };
    P = s_power ();
    sl_client_destroy (&P, 0);

    W = tb_connect (&tb, water_key);
    s_counts_t counts = { 0, 0 };
    s_publish_async (W, 0, N / 2 + 1, &counts);
    sl_client_poll (W, 20);   /* some are stored and ACKed, some in flight */
    tb_kill (&tb);
    s_publish_async (W, N / 2 + 1, N - (N / 2 + 1), &counts);
    cr_assert_lt (counts.ok, N, "the crash came before everything was ACKed");
    tb_restart (&tb);
    cr_assert_eq (sl_client_flush (W, 30000), 0, "%s", sl_client_last_error (W));
    cr_assert_eq (counts.ok, N);
    cr_assert_eq (counts.failed, 0);
    sl_client_destroy (&W, 0);

    P = s_power ();
    s_receive_each (P, N, 10000);
}

/* ------------------------------------------------ consent notices (callback) */

typedef struct {
    int calls;
    char kind[40], subject[64], consent_id[64], owner[32], purpose[64], ended_at[24];
} s_notices_t;

static void
s_on_notice (const char *kind, const sl_param_t *args, size_t n, void *arg)
{
    s_notices_t *t = arg;
    if (strncmp (kind, "consent-", 8) != 0)
        return;
    t->calls++;
    snprintf (t->kind, sizeof t->kind, "%s", kind);
#define S_ARG(f) snprintf (t->f, sizeof t->f, "%s", sl_notice_arg (args, n, #f) ? sl_notice_arg (args, n, #f) : "?")
    S_ARG (subject);
    S_ARG (consent_id);
    S_ARG (owner);
    S_ARG (purpose);
    S_ARG (ended_at);
#undef S_ARG
}

Test (e2e, consent_notices_reach_the_application_through_a_callback)
{
    static char out[1 << 14];
    tb_policy (&tb, "city", "purpose joint-metering \"water and power reconcile consumption\"\n"
                            "purpose leak-alerts \"power warns consenting households\"\n");
    tb_policy (&tb, "water", TL_PERMIT ("water-to-power", "*", "keep", "")
                             "permit \"leaks\" {\n  owner water\n  consumer power\n"
                             "  records " TL_WATER "\n  purpose leak-alerts\n  fields *\n"
                             "  subject keep\n  consent required\n}\n");
    P = tb_connect (&tb, power_key);
    cr_assert_not_null (P);
    s_notices_t got;
    memset (&got, 0, sizeof got);
    sl_client_on_notice (P, s_on_notice, &got);
    cr_assert_eq (sl_client_subscribe (P, TL_WATER, "leak-alerts"), 0);
    tb_ctl_expect (&tb, tb.admin_key, "consent grant --subject C-9 --controller water --recipient power "
                   "--purpose leak-alerts --records " TL_WATER " --id c-n1", 0, NULL, out, sizeof out);
    tb_ctl_expect (&tb, tb.admin_key, "consent withdraw c-n1 --reason test", 0, NULL, out, sizeof out);
    for (int waited = 0; got.calls == 0 && waited < tb_wait (10000); waited += 100)
        sl_client_poll (P, 100);
    cr_assert_eq (got.calls, 1, "notices: %d", got.calls);
    cr_assert_str_eq (got.kind, "consent-withdrawn");
    cr_assert_str_eq (got.subject, "C-9");
    cr_assert_str_eq (got.consent_id, "c-n1");
    cr_assert_str_eq (got.owner, "water");
    cr_assert_str_eq (got.purpose, "leak-alerts");
    cr_assert_neq (atoll (got.ended_at), 0);
}

/*  sl_broker events: the recorder runs inside the batch transaction, so its
 *  entries commit with the change they describe, and a recorder failure
 *  undoes the change. An in-process broker (real sockets, real LMDB) served
 *  from a thread; the data dir comes from the real `sluiced init`. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sl_broker.h"
#include "sl_error.h"
#include "sl_queue.h"
#include "power/v1/power.pb-c.h"
#include "tc.h"
#include "tl.h"


static tc_broker_t B;
static sl_broker_t *broker;
static pthread_t thread;
static volatile sig_atomic_t stop_flag;
static MDB_dbi events_dbi;
static uint64_t events_seq;

/*  Commit settings of the broker the next setup starts. A test that needs
 *  others restarts the suite's broker itself (s_restart): a test-level
 *  .init would run after the suite's and start a second broker that
 *  nothing tears down. */
static unsigned cfg_batch_max = 256, cfg_batch_delay_us = 1000;

/*  A record with subject "HOLD" stops the broker's loop in the recorder
 *  (while it reads that PUBLISH) until the test releases it, so the test can
 *  place messages that the loop then reads in one turn. 0: off, 1: armed,
 *  2: holding, 3: released. */
static pthread_mutex_t hold_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_cv = PTHREAD_COND_INITIALIZER;
static int hold_state;

static void
s_hold (void)
{
    pthread_mutex_lock (&hold_mu);
    if (hold_state == 1) {
        hold_state = 2;
        pthread_cond_broadcast (&hold_cv);
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        until.tv_sec += 10;                   /* never hang the broker for good */
        while (hold_state == 2)
            if (pthread_cond_timedwait (&hold_cv, &hold_mu, &until) != 0)
                break;
    }
    pthread_mutex_unlock (&hold_mu);
}

/*  Waits until the loop holds (1) or 5 s passed (0). */
static int
s_wait_held (void)
{
    struct timespec until;
    clock_gettime (CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    pthread_mutex_lock (&hold_mu);
    while (hold_state != 2)
        if (pthread_cond_timedwait (&hold_cv, &hold_mu, &until) != 0)
            break;
    int held = hold_state == 2;
    pthread_mutex_unlock (&hold_mu);
    return held;
}

static void
s_release (void)
{
    pthread_mutex_lock (&hold_mu);
    hold_state = 3;
    pthread_cond_broadcast (&hold_cv);
    pthread_mutex_unlock (&hold_mu);
}

static int fail_entries;         /* entries naming subject FAIL offered so far */

static int
recorder (void *ctx, MDB_txn *txn, const sl_event_t *ev)
{
    (void) ctx;
    /* a recorder that cannot record the second entry of a publish: the
     * first entry of subject FAIL (its copy for one subscription) is written
     * into the transaction, the second (the other subscription's) is
     * refused, so the undo must also remove the first */
    if (ev->subject && strcmp (ev->subject, "FAIL") == 0 && ++fail_entries >= 2)
        return SL_EFULL;
    if (ev->subject && strcmp (ev->subject, "HOLD") == 0 && strcmp (ev->kind, "publish") == 0)
        s_hold ();
    char val[512];
    int n = snprintf (val, sizeof val, "%s|%s|%s|%s|%s", ev->kind, ev->actor ? ev->actor : "",
                      ev->counterpart ? ev->counterpart : "", ev->subject ? ev->subject : "",
                      ev->rules ? ev->rules : "");
    unsigned char key[8];
    sl_store_put_u64 (key, ++events_seq);
    MDB_val k = { 8, key }, v = { (size_t) n, val };
    return mdb_put (txn, events_dbi, &k, &v, 0) == 0 ? 0 : SL_ESTORE;
}

/*  Number of committed events whose text contains `needle`. */
static int
events (const char *needle)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int n = 0;
    cr_assert_eq (mdb_txn_begin (sl_store_env (sl_broker_store (broker)), NULL, MDB_RDONLY, &txn), 0);
    mdb_cursor_open (txn, events_dbi, &cur);
    for (int op = MDB_FIRST; mdb_cursor_get (cur, &k, &v, op) == 0; op = MDB_NEXT) {
        char buf[600];
        snprintf (buf, sizeof buf, "%.*s", (int) v.mv_size, (const char *) v.mv_data);
        if (strstr (buf, needle))
            n++;
    }
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    return n;
}

static void *
serve (void *arg)
{
    (void) arg;
    sl_broker_run (broker, &stop_flag);
    return NULL;
}

static void
setup (void)
{
    cr_assert_eq (tc_broker_init (&B, NULL), 0, "sluiced init failed");
    char err[300];

    sl_broker_config_t cfg = {
        .data_dir = B.dir, .data_endpoint = "tcp://127.0.0.1:*",
        .admin_endpoint = "tcp://127.0.0.1:*", .max_message_size = 1 << 20,
        .batch_max = cfg_batch_max, .batch_delay_us = cfg_batch_delay_us, .map_size = 64 << 20,
        .query_timeout_ms = 2000,
    };
    broker = sl_broker_new (&cfg, err, sizeof err);
    cr_assert_not_null (broker, "%s", err);
    MDB_txn *txn;
    cr_assert_eq (mdb_txn_begin (sl_store_env (sl_broker_store (broker)), NULL, 0, &txn), 0);
    cr_assert_eq (mdb_dbi_open (txn, "test.events", MDB_CREATE, &events_dbi), 0);
    cr_assert_eq (mdb_txn_commit (txn), 0);
    sl_broker_on_event (broker, recorder, NULL);

    /* in-process broker: the endpoints file names this test's own pid */
    cr_assert_eq (tl_endpoints (B.dir, getpid (), B.data_ep, sizeof B.data_ep,
                                B.admin_ep, sizeof B.admin_ep), 0);
    stop_flag = 0;
    cr_assert_eq (pthread_create (&thread, NULL, serve, NULL), 0);
}

static void s_release (void);

static void
teardown (void)
{
    if (!broker)
        return;
    s_release ();                /* a loop held in the recorder goes on */
    stop_flag = 1;
    pthread_join (thread, NULL);
    sl_broker_destroy (&broker);
    tc_broker_cleanup (&B);      /* pid 0: only removes the directory */
}

/*  Replaces the suite's broker by one with these commit settings, in a new
 *  data dir; the suite's .fini tears it down. */
static void
s_restart (unsigned batch_max, unsigned batch_delay_us)
{
    teardown ();
    cfg_batch_max = batch_max;
    cfg_batch_delay_us = batch_delay_us;
    setup ();
}

TestSuite (events, .init = setup, .fini = teardown, .timeout = 60);

/*  Members water (key into kw) and power (kp); water permits power its
 *  readings for joint metering, subject kept. */
static void
scene (sl_keypair_t *kw, sl_keypair_t *kp)
{
    cr_assert_eq (tc_member (&B, "water", "member", kw), 0);
    cr_assert_eq (tc_member (&B, "power", "member", kp), 0);
    cr_assert_eq (tc_policy (&B, "city", "purpose joint-metering \"joint metering\"\n"), 1);
    cr_assert_eq (tc_policy (&B, "water",
                             "permit \"w2p\" {\n  owner water\n  consumer power\n"
                             "  records " TL_WATER "\n  purpose joint-metering\n  fields *\n"
                             "  subject keep\n}\n"), 1);
}

static int
publish (tc_client_t *w, uint32_t n, const char *subject)
{
    int rc = tc_publish_water (w, n, subject, 1.0, NULL, 0);
    cr_assert_neq (rc, -1, "no answer to PUBLISH %u", n);
    return rc == 0 ? SLUICE__V1__COMMAND__ACK : SLUICE__V1__COMMAND__ERROR;
}

Test (events, entries_commit_with_the_publish)
{
    sl_keypair_t kw, kp;
    scene (&kw, &kp);
    cr_assert_eq (events ("member.add|admin|water"), 1, "member.add not recorded with the change");
    cr_assert_eq (events ("policy.apply|admin-water|"), 1, "policy.apply not recorded");
    cr_assert_eq (events ("broker.start|sluiced"), 1);
    tc_client_t w, p;
    cr_assert_eq (tc_consumer (&p, &B, &kp, "power", TL_WATER, "joint-metering", 0), 0);
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    cr_assert_eq (publish (&w, 1, "C-42"), SLUICE__V1__COMMAND__ACK);
    /* the ACK came after the commit: the entries are already committed; the
     * queue entry also stands for the acceptance (AUDIT.md 6.2) */
    cr_assert_eq (events ("queue|water|power|C-42|water/w2p@1"), 1);
    cr_assert_eq (events ("publish|water||C-42|"), 0, "the acceptance was recorded twice");
    tc_credit (&p, 5);
    tc_msg_t m;
    cr_assert_eq (tc_recv_cmd (&p, &m, SLUICE__V1__COMMAND__DELIVER, 5000), 0);
    uint64_t tag = m.h->records[0]->delivery_tag;
    tc_msg_free (&m);
    cr_assert_eq (tc_ack (&p, tag, 0), 1);
    cr_assert_eq (events ("deliver|water|power|C-42"), 1);
    cr_assert_eq (events ("ack|power|"), 1);
    tc_close_all (&w, &p, NULL);
}

Test (events, a_recorder_failure_undoes_the_publish)
{
    sl_keypair_t kw, kp;
    scene (&kw, &kp);
    tc_client_t w, p;
    cr_assert_eq (tc_consumer (&p, &B, &kp, "power", TL_WATER, "joint-metering", 0), 0);
    /* a second subscription, which no rule permits: a second entry (deny) */
    cr_assert_eq (tc_subscribe (&p, TL_WATER, "billing"), 0);
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    fail_entries = 0;
    cr_assert_eq (publish (&w, 2, "FAIL"), SLUICE__V1__COMMAND__ERROR);
    cr_assert_eq (fail_entries, 2, "the record's first entry was not offered before the refused one");
    MDB_txn *txn;
    mdb_txn_begin (sl_store_env (sl_broker_store (broker)), NULL, MDB_RDONLY, &txn);
    cr_assert_eq (sl_queue_depth (sl_broker_queue (broker), txn, "power"), 0,
                  "a record whose event could not be recorded was queued");
    mdb_txn_abort (txn);
    cr_assert_eq (events ("|FAIL|"), 0,
                  "the publish entry written before the refused one was committed");
    /* and the broker goes on: the same id can be published once it records */
    cr_assert_eq (publish (&w, 3, "C-43"), SLUICE__V1__COMMAND__ACK);
    cr_assert_eq (events ("queue|water|power|C-43|"), 1);
    /* a later commit must not carry anything of the undone publish either */
    cr_assert_eq (events ("|FAIL|"), 0, "the undone publish was committed with a later batch");
    tc_close_all (&w, &p, NULL);
}

/*  A batch that commits while deliveries are prepared (the DELIVERs wait for
 *  their audit entries) also commits the publishes read in the same loop
 *  turn. The consumer's scan ran before that commit and saw none of them;
 *  they must still be delivered, with no further commit to wake the
 *  consumer up. (A consumer that had acked everything once waited for good
 *  here while its queue held the publishers' last records.) */
Test (events, records_committed_while_delivering_are_delivered)
{
    /* commit at the third record, never by time in this test */
    s_restart (3, 30u * 1000 * 1000);
    hold_state = 0;
    sl_keypair_t kw, kp;
    scene (&kw, &kp);
    tc_client_t w, p;
    cr_assert_eq (tc_consumer (&p, &B, &kp, "power", TL_WATER, "joint-metering", 10), 0);
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    tc_msg_t m;
    cr_assert_neq (tc_recv (&p, &m, 300), 0, "delivered from an empty queue");

    /* One loop turn reads: power's own reading HOLD (1 pending; the loop
     * stops in the recorder meanwhile), power's CREDIT (which makes the turn
     * look for deliveries to power), and water's C-1 and C-2 (3 pending: the
     * batch is due, reading stops). The CREDIT is read before water's
     * second record: libzmq goes on with the connection it read HOLD from
     * and turns to water's at the latest after one record. */
    Power__V1__MeterReading pr = POWER__V1__METER_READING__INIT;
    pr.id = "pm-1:1767225600";
    pr.ref_device = "pm-1";
    pr.subject = "HOLD";
    pr.district = "north";
    pr.date_observed = 1767225600;
    uint8_t pbody[256], id[16];
    size_t plen = power__v1__meter_reading__pack (&pr, pbody);
    hold_state = 1;
    tc_msgid (id, 1);
    cr_assert_neq (tc_publish1 (&p, "power.v1.MeterReading", id, "HOLD", pbody, plen), 0);
    cr_assert (s_wait_held (), "the broker did not read the HOLD record");
    tc_credit (&p, 1);
    for (uint32_t i = 0; i < 2; i++) {
        char subj[8];
        size_t len;
        snprintf (subj, sizeof subj, "C-%u", i + 1);
        uint8_t *body = tc_water_reading (subj, 1.0, &len);
        tc_msgid (id, 2 + i);
        cr_assert_neq (tc_publish1 (&w, TL_WATER, id, subj, body, len), 0);
        free (body);
    }
    usleep (300 * 1000);                     /* all are in the broker's queues */
    s_release ();

    for (int i = 0; i < 2; i++) {
        cr_assert_eq (tc_recv_cmd (&w, &m, SLUICE__V1__COMMAND__ACK, 5000), 0, "publish %d not answered", i);
        cr_assert_eq (m.h->command, SLUICE__V1__COMMAND__ACK, "publish refused: %s",
                      m.h->n_errors ? m.h->errors[0]->text : "");
        tc_msg_free (&m);
    }
    /* power: the ACK of HOLD, and both records */
    size_t got = 0;
    int acked = 0;
    while ((got < 2 || !acked) && tc_recv (&p, &m, 3000) == 0) {
        cr_assert (m.h->command == SLUICE__V1__COMMAND__DELIVER || m.h->command == SLUICE__V1__COMMAND__ACK,
                   "power got command %d: %s", m.h->command, m.h->n_errors ? m.h->errors[0]->text : "");
        if (m.h->command == SLUICE__V1__COMMAND__DELIVER)
            got += m.h->n_records;
        else
            acked = 1;
        tc_msg_free (&m);
    }
    cr_assert (acked, "power's HOLD record was not answered");
    cr_assert_eq (got, 2, "2 records committed and credit 11, but %zu delivered", got);
    tc_close_all (&w, &p, NULL);
}

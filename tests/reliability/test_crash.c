/*  Crash consistency: publishers and a consumer run at load against the real
 *  sluiced under a real policy while the broker is killed with SIGKILL at
 *  random moments and restarted on the same ports.
 *
 *  After every kill (broker down, its data directory read by rel_check):
 *    - the audit chain verifies;
 *    - every record the publisher saw ACKed is in broker.msgids (durable);
 *    - every effect has its audit entry and every entry its effect;
 *    - every record the consumer has received has a `deliver` entry.
 *  At the end: every acknowledged record was delivered at least once, and
 *  exactly once after de-duplication by message_id; nothing else was
 *  delivered; the queue is empty and its counts agree with the log.
 *
 *  $SLUICE_CRASH_KILLS sets the number of kills (default 20).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rel_check.h"
#include "water/v1/water.pb-c.h"

#define MAX_RECORDS 400000

static tb_t tb;
static uint32_t run_tag;

typedef struct {
    uint8_t *acked;          /* per record: publisher saw ACK */
    uint32_t *delivered;     /* per record: times received by the consumer */
    uint8_t *durable;        /* per record: seen in broker.msgids at the last check */
    uint8_t *audited;        /* per record: has a `deliver` entry */
    uint32_t next;           /* records handed to the library */
    uint64_t refused, foreign;
} state_t;

static state_t st;

#define s_id(id, n) tl_run_id (id, "crash", run_tag, n)
#define s_num(id) tl_run_num (id, "crash", run_tag, MAX_RECORDS)

static void
s_on_ack (const uint8_t *id, int rc, const char *text, void *arg)
{
    (void) arg;
    int64_t n = s_num (id);
    if (n < 0)
        return;
    if (rc == 0)
        st.acked[n] = 1;
    else {
        st.refused++;
        fprintf (stderr, "crash: record %lld refused: %s\n", (long long) n, text);
    }
}

static void
s_on_msgid (void *arg, const uint8_t id[16])
{
    (void) arg;
    int64_t n = s_num (id);
    if (n >= 0)
        st.durable[n] = 1;
}

static void
s_on_deliver (void *arg, const uint8_t id[16])
{
    (void) arg;
    int64_t n = s_num (id);
    if (n >= 0)
        st.audited[n] = 1;
}

static size_t
s_body (uint32_t n, uint8_t *buf, size_t size)
{
    Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
    char subj[32], meter[32];
    snprintf (subj, sizeof subj, "citizen-%u", n % 97);
    snprintf (meter, sizeof meter, "m-%u", n % 13);
    r.subject = subj;
    r.ref_device = meter;
    r.date_observed = 1764300000 + n;
    r.district = "north";
    r.water_consumption_m3 = n * 0.5;
    size_t len = water__v1__meter_reading__get_packed_size (&r);
    cr_assert (len <= size);
    return water__v1__meter_reading__pack (&r, buf);
}

static void
s_publish_some (sl_client_t *pub, unsigned count)
{
    uint8_t body[256], id[16];
    for (unsigned i = 0; i < count && st.next < MAX_RECORDS; i++) {
        if (sl_client_unacked (pub) > 3000)
            return;
        s_id (id, st.next);
        char subj[32];
        snprintf (subj, sizeof subj, "citizen-%u", st.next % 97);
        sl_publish_meta_t m = { .message_id = id, .subject = subj };
        size_t len = s_body (st.next, body, sizeof body);
        int rc = sl_client_publish_async (pub, TL_WATER, &m, body, len, s_on_ack, NULL, NULL);
        cr_assert_eq (rc, 0, "publish_async: %s", sl_strerror (rc));
        st.next++;
    }
}

static int
s_consume (sl_client_t *con, int timeout_ms)
{
    int got = 0;
    sl_delivery_t *d;
    while (sl_client_recv (con, &d, got ? 0 : timeout_ms) == 0) {
        int64_t n = s_num (sl_delivery_message_id (d));
        if (n < 0)
            st.foreign++;
        else
            st.delivered[n]++;
        cr_assert_eq (sl_client_ack (con, d), 0);
        sl_delivery_destroy (&d);
        got++;
    }
    return got;
}

static void
s_check (const char *when)
{
    char data[300];
    snprintf (data, sizeof data, "%s/data", tb.dir);
    rel_report_t r;
    memset (st.audited, 0, MAX_RECORDS);
    memset (st.durable, 0, MAX_RECORDS);
    int rc = rel_check (data, "water", "power", s_on_msgid, s_on_deliver, NULL, &r);
    cr_assert_eq (rc, 0, "%s: %s", when, r.problem);
    for (uint32_t n = 0; n < st.next; n++) {
        cr_assert (!st.acked[n] || st.durable[n],
                   "%s: record %u was ACKed to the publisher but is not in broker.msgids", when, n);
        cr_assert (!st.delivered[n] || st.audited[n],
                   "%s: record %u was delivered to the consumer without a `deliver` audit entry",
                   when, n);
    }
}

/*  When the drain gives up: what the broker thinks of the connections
 *  (credit, in flight, scan position) and what it logged last, so a stall
 *  can be told from a slow drain after the fact. */
static void
s_diagnose (void)
{
    char cmd[1200], out[16384];
    snprintf (cmd, sizeof cmd, "SLUICE_TIMEOUT=5000 '%s' --data '%s/data' status --json 2>&1",
              tb_program ("SLUICECTL"), tb.dir);
    tb_run (cmd, out, sizeof out);
    fprintf (stderr, "crash: data directory %s\ncrash: broker status: %s\n", tb.dir, out);
    snprintf (cmd, sizeof cmd, "tail -n 40 '%s/sluiced.log'", tb.dir);
    tb_run (cmd, out, sizeof out);
    fprintf (stderr, "crash: broker log tail:\n%s\n", out);
}

Test (crash, broker_sigkill_under_load, .timeout = 280)
{
    int kills = getenv ("SLUICE_CRASH_KILLS") ? atoi (getenv ("SLUICE_CRASH_KILLS")) : 20;
    cr_assert (kills >= 1);
    unsigned seed = getenv ("SLUICE_CRASH_SEED") ? (unsigned) atoi (getenv ("SLUICE_CRASH_SEED"))
                                                  : (unsigned) time (NULL);
    fprintf (stderr, "crash: %d kills, seed %u\n", kills, seed);
    srand (seed);
    run_tag = (uint32_t) rand ();
    st.acked = calloc (MAX_RECORDS, 1);
    st.delivered = calloc (MAX_RECORDS, sizeof *st.delivered);
    st.durable = calloc (MAX_RECORDS, 1);
    st.audited = calloc (MAX_RECORDS, 1);
    cr_assert (st.acked && st.delivered && st.durable && st.audited);

    char kw[320], kp[320];
    tb_scene (&tb, kw, kp, TL_CITY, TL_PERMIT ("water-to-power", "*", "pseudonymize", ""));
    /* two publisher connections of the water bureau (two import jobs) */
    sl_client_t *pubs[2] = { tb_connect (&tb, kw), tb_connect (&tb, kw) };
    sl_client_t *con = tb_connect (&tb, kp);
    cr_assert_eq (sl_client_subscribe (con, TL_WATER, "joint-metering"), 0);

    for (int k = 0; k < kills; k++) {
        int64_t run_ms = 80 + rand () % 400;
        struct timespec t0, t;
        clock_gettime (CLOCK_MONOTONIC, &t0);
        for (;;) {
            clock_gettime (CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= run_ms)
                break;
            for (int p = 0; p < 2; p++) {
                s_publish_some (pubs[p], 1 + (unsigned) (rand () % 64));
                sl_client_poll (pubs[p], 0);
            }
            s_consume (con, 1);
        }
        tb_kill (&tb);
        char when[64];
        snprintf (when, sizeof when, "after kill %d", k + 1);
        s_check (when);
        if (rand () % 4 == 0)
            usleep ((useconds_t) (rand () % 300) * 1000);   /* down for a while */
        tb_restart (&tb);
    }

    /* drain: every publish answered, every queued record delivered and acked */
    struct timespec t0, t;
    clock_gettime (CLOCK_MONOTONIC, &t0);
    int quiet = 0;
    for (;;) {
        sl_client_poll (pubs[0], 3);
        sl_client_poll (pubs[1], 3);
        int got = s_consume (con, 20);
        uint32_t missing = 0;
        for (uint32_t n = 0; n < st.next; n++)
            missing += st.acked[n] && !st.delivered[n];
        size_t unacked = sl_client_unacked (pubs[0]) + sl_client_unacked (pubs[1]);
        quiet = (got == 0 && unacked == 0) ? quiet + 1 : 0;
        if (quiet >= 20 && missing == 0)
            break;
        clock_gettime (CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec >= 60) {
            fprintf (stderr, "crash: drain gave up after 60 s: %zu unacked publishes, %u acked "
                     "records not delivered, consumer connected=%d\n", unacked,
                     missing, sl_client_connected (con));
            s_diagnose ();
            break;
        }
    }
    cr_assert_eq (sl_client_flush (con, 10000), 0, "consumer acks not confirmed");
    sl_client_stats_t ps;
    sl_client_stats (pubs[0], &ps);
    sl_client_destroy (&pubs[0], 1000);
    sl_client_destroy (&pubs[1], 1000);
    sl_client_destroy (&con, 1000);
    cr_assert_eq (tb_stop (&tb), 0, "sluiced did not stop cleanly");
    s_check ("at the end");

    uint64_t acked = 0, dup = 0, lost = 0;
    for (uint32_t n = 0; n < st.next; n++) {
        acked += st.acked[n];
        if (st.acked[n] && st.delivered[n] == 0)
            lost++;
        if (st.delivered[n] > 1)
            dup += st.delivered[n] - 1;
        cr_assert (st.delivered[n] == 0 || st.durable[n],
                   "record %u delivered but never stored", n);
    }
    char data[300];
    snprintf (data, sizeof data, "%s/data", tb.dir);
    rel_report_t r;
    cr_assert_eq (rel_check (data, "water", "power", NULL, NULL, NULL, &r), 0, "%s", r.problem);
    fprintf (stderr, "crash: %d kills survived; %u records published, %llu acked, %llu delivered "
             "(%llu redelivered duplicates), %llu reconnects, %llu audit entries verified, "
             "queue depth %llu\n", kills, st.next, (unsigned long long) acked,
             (unsigned long long) (acked - lost), (unsigned long long) dup,
             (unsigned long long) ps.reconnects, (unsigned long long) r.audit_entries,
             (unsigned long long) r.queued);
    cr_assert_eq (st.refused, 0, "%llu records refused", (unsigned long long) st.refused);
    cr_assert_eq (st.foreign, 0, "deliveries of records nobody published");
    cr_assert_eq (lost, 0, "%llu acknowledged records never delivered", (unsigned long long) lost);
    cr_assert_eq (acked, st.next, "every record is acknowledged in the end");
    cr_assert_eq (r.queued, 0, "queue not empty after everything was acked");
    cr_assert_gt (acked, 1000, "the load was too light to mean anything");
    tb_cleanup (&tb);
}

/*  Exhaustion (issue 7, item 2): a full LMDB map, a full disk, a consumer
 *  that does not keep up, a member that floods, connection floods and
 *  oversized frames. Each time publishers get a precise error, nothing is
 *  corrupted (audit verifies, effects match entries, acked records are still
 *  delivered) and service resumes when the cause goes away.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "rel_check.h"
#include "tc.h"
#include "water/v1/water.pb-c.h"


static tc_broker_t B;
static sl_keypair_t kw, kp;
static size_t pad;         /* bytes of meter_name in published records */

/*  A water reading for `subject` carrying `pad` bytes of name: records
 *  larger than the audit entries their delivery and ack add, so acks free
 *  space (as real records with a payload do). */
static uint8_t *
s_reading (const char *subject, double m3, size_t *len)
{
    if (!pad)
        return tc_water_reading (subject, m3, len);
    Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
    char *name = malloc (pad + 1);
    cr_assert_not_null (name);
    memset (name, 'n', pad);
    name[pad] = 0;
    r.subject = (char *) subject;
    r.district = "north";
    r.water_consumption_m3 = m3;
    r.meter_name = name;
    *len = water__v1__meter_reading__get_packed_size (&r);
    uint8_t *b = malloc (*len);
    cr_assert_not_null (b);
    water__v1__meter_reading__pack (&r, b);
    free (name);
    return b;
}

static void
s_setup (const char *const *extra)
{
    cr_assert_eq (tc_scene (&B, extra, &kw, &kp, TL_CITY,
                            TL_PERMIT ("water-to-power", "*", "pseudonymize", "")), 0);
}

#define FILL_MAX 60000

static uint8_t *acked;     /* per record (FILL_MAX): stored */
static uint8_t *seen;      /* ... delivered (by its tc_msgid counter) */
static char text[400];     /* the broker's text of the last s_pub */

static void
teardown (void)
{
    tc_broker_cleanup (&B);
    free (acked);
    free (seen);
    acked = seen = NULL;
}

/*  Publishes record n; returns 0 on ACK, else the error code (its text
 *  in text[]). */
static int
s_pub (tc_client_t *w, uint32_t n)
{
    char subj[32];
    snprintf (subj, sizeof subj, "C-%u", n % 50);
    size_t len;
    uint8_t *body = s_reading (subj, n * 1.0, &len);
    int code = tc_publish_wait (w, TL_WATER, n, subj, body, len, 10000, text, sizeof text);
    free (body);
    cr_assert_neq (code, -1, "publish %u: %s", n, text);
    return code;
}

/*  tc_take's count: 1 for a record not seen before. */
static int
s_first (void *arg, const Sluice__V1__RecordMeta *r)
{
    (void) arg;
    const uint8_t *d = r->message_id.data;
    uint32_t n = (uint32_t) d[8] << 24 | d[9] << 16 | d[10] << 8 | d[11];   /* tc_msgid */
    if (n >= FILL_MAX || seen[n])
        return 0;
    seen[n] = 1;
    return 1;
}

/*  tc_take of up to `want` records not seen before, none coming for 2 s
 *  ends it. How many came. */
#define s_take(p, want) tc_take (p, want, 2000, s_first, NULL)

/*  The broker's directory checks (rel_check.h); the report. */
#define s_check(when) REL_CHECKED (when, B.dir, "water", "power")

/*  Publishes record n until it is acknowledged or ms (scaled) have passed. */
static void
s_resumes (tc_client_t *w, uint32_t n, int ms)
{
    cr_assert (TC_AWAIT (ms, s_pub (w, n) == 0),
               "publishing did not resume after the consumer acked: %s", text);
}

/*  Fills the store until publishes are refused with store-full; returns
 *  the first refused record number, with acked[] marking what was stored. */
static uint32_t
s_fill (tc_client_t *w, uint32_t from)
{
    int want = SLUICE__V1__ERROR_CODE__STORE_FULL;
    for (uint32_t n = from; n < FILL_MAX; n++) {
        int code = s_pub (w, n);
        if (code == 0) {
            acked[n] = 1;
            continue;
        }
        cr_assert_eq (code, want, "record %u: code %d, expected %d: %s", n, code, want, text);
        cr_assert (strstr (text, "store-full"), "%s", text);
        cr_assert (strstr (text, "resend later"), "the error does not say what to do: %s", text);
        return n;
    }
    cr_assert_fail ("the store never filled up (%u records)", FILL_MAX - from);
    return FILL_MAX;
}

/*  A consumer p (no credit yet) and the publisher w; w fills the store (the
 *  first refused record number). */
static uint32_t
s_filled (tc_client_t *w, tc_client_t *p)
{
    cr_assert_eq (tc_consumer (p, &B, &kp, "power", TL_WATER, "joint-metering", 0), 0);
    cr_assert_eq (tc_join (w, &B, &kw, "water"), 0);
    acked = calloc (FILL_MAX, 1);
    seen = calloc (FILL_MAX, 1);
    cr_assert (acked && seen);
    uint32_t full_at = s_fill (w, 0);
    cr_assert_gt (full_at, 100, "the store filled after %u records", full_at);
    return full_at;
}

/*  The consumer takes every acked record of the full store `what` (the
 *  first full_at), then publishing record full_at resumes. */
static void
s_drain_resumes (tc_client_t *w, tc_client_t *p, uint32_t full_at, const char *what)
{
    tc_credit (p, 64);
    uint32_t got = s_take (p, full_at);
    cr_assert_eq (got, full_at, "%u of %u acked records delivered from a full %s", got, full_at,
                  what);
    s_resumes (w, full_at, 10000);
}

TestSuite (exhaust, .fini = teardown);

Test (exhaust, a_full_map_is_back_pressure_and_service_resumes, .timeout = 150)
{
    const char *extra[] = { "--map-size-mb", "4", NULL };
    pad = 1500;
    s_setup (extra);
    tc_client_t w, p;
    uint32_t full_at = s_filled (&w, &p);
    /* still full, still answering, nothing corrupted */
    cr_assert_eq (s_pub (&w, full_at), SLUICE__V1__ERROR_CODE__STORE_FULL);
    tc_client_t w2;
    cr_assert_eq (tc_join (&w2, &B, &kw, "water"), 0, "a member could not say HELLO to a full broker");
    tc_close (&w2);
    s_check ("map full");

    /* the consumer drains: every acked record arrives, acks free space */
    s_drain_resumes (&w, &p, full_at, "map");
    acked[full_at] = 1;

    /* fill again, then give the broker a bigger map on restart */
    uint32_t full2 = s_fill (&w, full_at + 1);
    tc_close_all (&w, &p, NULL);
    cr_assert_eq (tc_broker_stop (&B), 0);
    s_check ("full, stopped");
    snprintf (B.extra[1], sizeof B.extra[1], "8");
    cr_assert_eq (tc_broker_restart (&B), 0);
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    cr_assert_eq (s_pub (&w, full2), 0, "a bigger map did not help: %s", text);
    acked[full2] = 1;
    cr_assert_eq (tc_consumer (&p, &B, &kp, "power", TL_WATER, "joint-metering", 64), 0);
    uint32_t want = 0;
    for (uint32_t n = 0; n <= full2; n++)
        want += acked[n] && !seen[n];
    uint32_t got = s_take (&p, want);
    cr_assert_eq (got, want, "after the restart %u of %u acked records delivered", got, want);
    for (uint32_t n = 0; n <= full2; n++)
        cr_assert (!acked[n] || seen[n], "acked record %u never delivered", n);
    tc_close_all (&w, &p, NULL);
    cr_assert_eq (tc_broker_stop (&B), 0);
    s_check ("at the end");
    fprintf (stderr, "exhaust: map of 4 MiB full after %u records, again after %u more; "
             "every acked record delivered\n", full_at, full2 - full_at);
    teardown ();
}

static char mnt[380];

/*  Unmounts the small filesystem (also after a failed assertion), then
 *  removes the broker's directory. */
static void
s_disk_fini (void)
{
    if (B.pid > 0)
        tc_broker_stop (&B);
    if (mnt[0]) {
        umount2 (mnt, MNT_DETACH);
        rmdir (mnt);
    }
    teardown ();
}

Test (exhaust, a_full_disk_is_back_pressure_and_service_resumes, .timeout = 150,
      .fini = s_disk_fini)
{
    if (geteuid () != 0)
        cr_skip_test ("disk full needs a small tmpfs: run as root to mount one");
    const char *extra[] = { "--map-size-mb", "64", NULL };
    pad = 1500;
    s_setup (extra);
    cr_assert_eq (tc_broker_stop (&B), 0);
    char cmd[2400], store[380];
    snprintf (mnt, sizeof mnt, "%.360s-small", B.dir);
    snprintf (store, sizeof store, "%s/store", B.dir);
    cr_assert_eq (mkdir (mnt, 0700), 0);
    if (mount ("tmpfs", mnt, "tmpfs", 0, "size=3m,mode=0700") != 0) {
        int e = errno;
        rmdir (mnt);
        mnt[0] = 0;
        cr_skip_test ("cannot mount a tmpfs (%s): disk full not tested", strerror (e));
    }
    snprintf (cmd, sizeof cmd, "cp -a '%s/.' '%s/' && rm -rf '%s' && ln -s '%s' '%s'", store,
              mnt, store, mnt, store);
    cr_assert_eq (system (cmd), 0, "could not move the store onto the tmpfs");
    cr_assert_eq (tc_broker_restart (&B), 0);

    tc_client_t w, p;
    uint32_t full_at = s_filled (&w, &p);
    s_check ("disk full");
    s_drain_resumes (&w, &p, full_at, "disk");
    tc_close_all (&w, &p, NULL);
    cr_assert_eq (tc_broker_stop (&B), 0);
    s_check ("at the end");
    cr_assert_eq (tc_broker_log_count (&B, "commit-failed"), 0);
    fprintf (stderr, "exhaust: a 3 MiB disk full after %u records; drained and resumed\n", full_at);
}

Test (exhaust, a_consumer_queue_limit_refuses_per_record_then_resumes, .timeout = 60)
{
    const char *extra[] = { "--queue-max", "50", NULL };
    s_setup (extra);
    tc_client_t w, p;
    cr_assert_eq (tc_consumer (&p, &B, &kp, "power", TL_WATER, "joint-metering", 0), 0);
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    for (uint32_t n = 0; n < 50; n++)
        cr_assert_eq (s_pub (&w, n), 0, "record %u: %s", n, text);
    cr_assert_eq (s_pub (&w, 50), SLUICE__V1__ERROR_CODE__QUEUE_FULL, "%s", text);
    cr_assert (strstr (text, "'power'") && strstr (text, "queue-full"), "%s", text);
    /* in a batch, each record gets its own answer */
    cr_assert_neq (tc_publish_waters (&w, 100, 3, "C-1"), 0);
    tc_msg_t m;
    cr_assert_eq (tc_recv_cmd (&w, &m, SLUICE__V1__COMMAND__ACK, 5000), 0);
    cr_assert_eq (m.h->n_errors, 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq (m.h->errors[i]->code, SLUICE__V1__ERROR_CODE__QUEUE_FULL);
        cr_assert_eq (m.h->errors[i]->message_id.len, 16);
        uint8_t id[16];
        tc_msgid (id, 100 + (uint32_t) i);
        cr_assert_eq (memcmp (m.h->errors[i]->message_id.data, id, 16), 0);
    }
    tc_msg_free (&m);
    /* the consumer takes 10: 10 more fit */
    seen = calloc (FILL_MAX, 1);
    tc_credit (&p, 10);
    cr_assert_eq (s_take (&p, 10), 10);
    s_resumes (&w, 50, 5000);
    tc_close_all (&w, &p, NULL);
    cr_assert_eq (tc_broker_stop (&B), 0);
    rel_report_t r = s_check ("at the end");
    cr_assert_eq (r.queued, 41, "queue depth %llu", (unsigned long long) r.queued);
    teardown ();
}

Test (exhaust, a_flooding_member_does_not_starve_a_quiet_one, .timeout = 90)
{
    s_setup (NULL);
    sl_keypair_t kh;
    cr_assert_eq (tc_member (&B, "health", "member", &kh), 0);
    tc_client_t noisy, quiet;
    cr_assert_eq (tc_join (&noisy, &B, &kw, "water"), 0);
    cr_assert_eq (tc_join (&quiet, &B, &kp, "power"), 0);
    /* the flood: many large PUBLISH messages sent without waiting */
    enum { FLOOD = 400, PER = 200 };
    uint8_t *bodies[PER];
    size_t lens[PER];
    for (int i = 0; i < PER; i++)
        bodies[i] = tc_water_reading ("C-1", i, &lens[i]);
    static uint8_t ids[FLOOD][PER][16];
    Sluice__V1__RecordMeta rm[PER], *rp[PER];
    int64_t t0 = tc_ms ();
    for (int k = 0; k < FLOOD; k++) {
        for (int i = 0; i < PER; i++) {
            tc_msgid (ids[k][i], (uint32_t) (k * PER + i));
            sluice__v1__record_meta__init (&rm[i]);
            rm[i].message_id.data = ids[k][i];
            rm[i].message_id.len = 16;
            rm[i].subject = "C-1";
            rp[i] = &rm[i];
        }
        Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
        h.command = SLUICE__V1__COMMAND__PUBLISH;
        h.record_type = TL_WATER;
        h.n_records = PER;
        h.records = rp;
        tc_send (&noisy, &h, (const uint8_t *const *) bodies, lens, PER);
    }
    int64_t flood_sent = tc_ms () - t0;
    /* the quiet member's requests are answered while the flood is worked off */
    int64_t worst = 0;
    for (int i = 0; i < 10; i++) {
        int64_t t = tc_ms ();
        Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
        h.command = SLUICE__V1__COMMAND__PING;
        uint64_t seq = tc_send (&quiet, &h, NULL, NULL, 0);
        tc_msg_t m;
        cr_assert_eq (tc_recv_cmd (&quiet, &m, SLUICE__V1__COMMAND__PONG, 10000), 0, "quiet member not answered");
        cr_assert_eq (m.h->seq, seq);
        tc_msg_free (&m);
        int64_t dt = tc_ms () - t;
        worst = dt > worst ? dt : worst;
    }
    /* count the flood's answers still to come: the flood was not over */
    int pending = 0;
    tc_msg_t m;
    while (tc_recv (&noisy, &m, 3000) == 0) {
        pending++;
        tc_msg_free (&m);
        if (pending == FLOOD)
            break;
    }
    for (int i = 0; i < PER; i++)
        free (bodies[i]);
    fprintf (stderr, "exhaust: flood of %d x %d records sent in %lld ms; quiet member's worst "
             "answer %lld ms; %d flood answers came after\n", FLOOD, PER, (long long) flood_sent,
             (long long) worst, pending);
    cr_assert_eq (pending, FLOOD, "every flood message is answered too");
    cr_assert_lt (worst, 1500, "the quiet member waited %lld ms behind the flood", (long long) worst);
    tc_close_all (&noisy, &quiet, NULL);
    teardown ();
}

Test (exhaust, connection_floods_and_oversized_frames_are_refused, .timeout = 90)
{
    const char *extra[] = { "--max-message-size", "65536", NULL };
    s_setup (extra);
    tc_client_t good;
    cr_assert_eq (tc_join (&good, &B, &kw, "water"), 0);
    /* 200 connections with unknown keys and 50 speaking garbage at the TCP level */
    void *socks[250];
    for (int i = 0; i < 200; i++) {
        sl_keypair_t k;
        cr_assert_eq (sl_keys_generate (&k), 0);
        tc_client_t c;
        cr_assert_eq (tc_connect (&c, B.data_ep, B.broker_pub, &k), 0);
        socks[i] = c.sock;
    }
    for (int i = 200; i < 250; i++) {
        socks[i] = zmq_socket (tc_ctx (), ZMQ_STREAM);
        cr_assert_eq (zmq_connect (socks[i], B.data_ep), 0);
        uint8_t rid[256];
        size_t rl = sizeof rid;
        usleep (2000);
        if (zmq_getsockopt (socks[i], ZMQ_ROUTING_ID, rid, &rl) == 0) {
            zmq_send (socks[i], rid, rl, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send (socks[i], "\xff\x00\x00\x00garbage-handshake-garbage", 29, ZMQ_DONTWAIT);
        }
    }
    /* the connected member keeps working during the flood */
    for (uint32_t n = 0; n < 20; n++)
        cr_assert_eq (s_pub (&good, n), 0, "publish during a connection flood: %s", text);
    for (int i = 0; i < 250; i++) {
        int linger = 0;
        zmq_setsockopt (socks[i], ZMQ_LINGER, &linger, sizeof linger);
        zmq_close (socks[i]);
    }
    /* an oversized message: refused, the sender is cut off, others unhurt */
    tc_client_t big;
    cr_assert_eq (tc_join (&big, &B, &kw, "water"), 0);
    size_t blen = 4 * 65536 + 8192;      /* past the socket's ZMQ_MAXMSGSIZE */
    uint8_t *blob = calloc (1, blen);
    const void *frames[] = { blob };
    size_t lens[] = { blen };
    tc_send_raw (&big, frames, lens, 1);
    tc_msg_t m;
    cr_assert_neq (tc_recv (&big, &m, 1500) == 0 && m.h->command == SLUICE__V1__COMMAND__ACK, 1);
    free (blob);
    tc_close (&big);
    for (uint32_t n = 20; n < 30; n++)
        cr_assert_eq (s_pub (&good, n), 0, "publish after an oversized frame: %s", text);
    tc_close (&good);
    cr_assert_gt (tc_audit_await (&B, 3000, "kind=auth.denied", "reason=unknown-key", NULL), 0,
                  "unknown keys were not refused");
    cr_assert_eq (tc_broker_stop (&B), 0);
    cr_assert_eq (s_check ("at the end").msgids, 30);
    teardown ();
}

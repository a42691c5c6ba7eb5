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
#include "rel_load.h"

#define MAX_RECORDS 400000

static tb_t tb;
static rel_load_t L;
static char data[300];     /* the broker's data directory */

/*  After a kill: every record the publisher saw ACKed is durable, every
 *  one the consumer received has a `deliver` entry. The report. */
static rel_report_t
s_check (const char *when)
{
    rel_report_t r = rel_load_check (&L, data, when);
    for (uint32_t n = 0; n < L.next; n++) {
        cr_assert (!L.ack_ns[n] || L.durable[n],
                   "%s: record %u was ACKed to the publisher but is not in broker.msgids", when, n);
        cr_assert (!L.delivered[n] || L.audited[n],
                   "%s: record %u was delivered to the consumer without a `deliver` audit entry",
                   when, n);
    }
    return r;
}

/*  When the drain gives up: what the broker thinks of the connections
 *  (credit, in flight, scan position) and what it logged last, so a stall
 *  can be told from a slow drain after the fact. */
static void
s_diagnose (void)
{
    char out[16384];
    tl_sh (out, sizeof out, "SLUICE_TIMEOUT=5000 '%s' --data '%s' status --json 2>&1",
           tb_program ("SLUICECTL"), data);
    fprintf (stderr, "crash: data directory %s\ncrash: broker status: %s\n", tb.dir, out);
    tl_sh (out, sizeof out, "tail -n 40 '%s/sluiced.log'", tb.dir);
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
    rel_load_init (&L, "crash", (uint32_t) rand (), MAX_RECORDS, 3000, NULL);

    char kw[320], kp[320];
    tb_scene (&tb, kw, kp, TL_CITY, TL_PERMIT ("water-to-power", "*", "pseudonymize", ""));
    snprintf (data, sizeof data, "%s/data", tb.dir);
    /* two publisher connections of the water bureau (two import jobs) */
    sl_client_t *pubs[2] = { tb_connect (&tb, kw), tb_connect (&tb, kw) };
    sl_client_t *con = tb_connect (&tb, kp);
    cr_assert_eq (sl_client_subscribe (con, TL_WATER, "joint-metering"), 0);

    for (int k = 0; k < kills; k++) {
        int64_t until = tl_ms () + 80 + rand () % 400;
        while (tl_ms () < until) {
            for (int p = 0; p < 2; p++) {
                rel_load_publish (&L, pubs[p], 1 + (unsigned) (rand () % 64));
                sl_client_poll (pubs[p], 0);
            }
            rel_load_consume (&L, con, 1);
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
    int64_t t0 = tl_ms ();
    int quiet = 0;
    for (;;) {
        sl_client_poll (pubs[0], 3);
        sl_client_poll (pubs[1], 3);
        int got = rel_load_consume (&L, con, 20);
        uint32_t missing = 0;
        for (uint32_t n = 0; n < L.next; n++)
            missing += L.ack_ns[n] && !L.delivered[n];
        size_t unacked = sl_client_unacked (pubs[0]) + sl_client_unacked (pubs[1]);
        quiet = (got == 0 && unacked == 0) ? quiet + 1 : 0;
        if (quiet >= 20 && missing == 0)
            break;
        if (tl_ms () - t0 >= 60000) {
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
    rel_report_t r = s_check ("at the end");

    uint64_t acked = 0, dup = 0, lost = 0;
    for (uint32_t n = 0; n < L.next; n++) {
        acked += L.ack_ns[n] != 0;
        if (L.ack_ns[n] && L.delivered[n] == 0)
            lost++;
        if (L.delivered[n] > 1)
            dup += L.delivered[n] - 1;
        cr_assert (L.delivered[n] == 0 || L.durable[n], "record %u delivered but never stored", n);
    }
    fprintf (stderr, "crash: %d kills survived; %u records published, %llu acked, %llu delivered "
             "(%llu redelivered duplicates), %llu reconnects, %llu audit entries verified, "
             "queue depth %llu\n", kills, L.next, (unsigned long long) acked,
             (unsigned long long) (acked - lost), (unsigned long long) dup,
             (unsigned long long) ps.reconnects, (unsigned long long) r.audit_entries,
             (unsigned long long) r.queued);
    cr_assert_eq (L.refused, 0, "%llu records refused", (unsigned long long) L.refused);
    cr_assert_eq (L.foreign, 0, "deliveries of records nobody published");
    cr_assert_eq (lost, 0, "%llu acknowledged records never delivered", (unsigned long long) lost);
    cr_assert_eq (acked, L.next, "every record is acknowledged in the end");
    cr_assert_eq (r.queued, 0, "queue not empty after everything was acked");
    cr_assert_gt (acked, 1000, "the load was too light to mean anything");
    rel_load_free (&L);
    tb_cleanup (&tb);
}

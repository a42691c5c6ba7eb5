/*  Graceful overload (docs/PROTOCOL.md 5.2.1): past saturation the broker
 *  pushes back on publishers by withholding their ACKs while a connected
 *  consumer their records went to has more than `overload_queue` records
 *  queued, for at most `overload_hold_ms`. The publisher here keeps a
 *  window of WINDOW unacknowledged PUBLISH messages, as libsluice does
 *  (inflight_max), so a withheld ACK stops it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rel_check.h"
#include "tc.h"

#define PER 50            /* records per PUBLISH */
#define WINDOW 4          /* PUBLISH messages awaiting their ACK */
#define BOUND 200         /* --overload-queue */

static tc_broker_t B;
static sl_keypair_t kw, kp;

static void
s_setup (const char *hold_ms)
{
    const char *extra[] = { "--overload-queue", "200", "--overload-hold-ms", hold_ms, NULL };
    cr_assert_eq (tc_scene (&B, extra, &kw, &kp, TL_CITY,
                            TL_PERMIT ("water-to-power", "*", "pseudonymize", "")), 0);
}

/*  The publisher: message k carries records k*PER .. k*PER+PER-1. */
typedef struct {
    tc_client_t *c;
    uint32_t sent, acked;      /* messages */
    uint64_t last_seq;         /* of the last ACK */
} pub_t;

static void
s_send (pub_t *p)
{
    cr_assert_neq (tc_publish_waters (p->c, p->sent * PER, PER, "C-1"), 0);
    p->sent++;
}

/*  Keeps the window full until `total` messages are sent and acked, or no
 *  ACK comes for `quiet_ms`. Returns messages acked so far. */
static uint32_t
s_pump (pub_t *p, uint32_t total, int quiet_ms)
{
    while (p->acked < total) {
        while (p->sent < total && p->sent - p->acked < WINDOW)
            s_send (p);
        tc_msg_t m;
        if (tc_recv_cmd (p->c, &m, SLUICE__V1__COMMAND__ACK, quiet_ms) != 0)
            break;
        cr_assert_eq (m.h->command, SLUICE__V1__COMMAND__ACK, "publish refused: %s",
                      m.h->n_errors ? m.h->errors[0]->text : "?");
        cr_assert_eq (m.h->n_errors, 0);
        cr_assert_gt (m.h->seq, p->last_seq, "ACKs out of order");
        p->last_seq = m.h->seq;
        p->acked++;
        tc_msg_free (&m);
    }
    return p->acked;
}

/*  Takes and acks every delivery until none comes for quiet_ms; returns
 *  how many records. */
#define s_consume(c, quiet_ms) tc_take (c, UINT32_MAX, quiet_ms, NULL, NULL)

/*  A connected consumer that stops taking records: the publisher is held
 *  at its window once the queue passes the bound, so the queue stays
 *  bounded; when the consumer catches up, the ACKs come and publishing
 *  goes on to the end. */
Test (overload, a_lagging_consumer_holds_its_publishers_at_their_window, .timeout = 90)
{
    s_setup ("60000");
    tc_client_t w, p;
    cr_assert_eq (tc_join (&p, &B, &kp, "power"), 0);
    cr_assert_eq (tc_subscribe (&p, TL_WATER, "joint-metering"), 0);
    tc_credit (&p, 10);        /* takes 10, acks nothing */
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    pub_t pub = { &w, 0, 0, 0 };
    enum { TOTAL = 40 };       /* 2,000 records */
    uint32_t acked = s_pump (&pub, TOTAL, 2000 * tc_wait (1));
    fprintf (stderr, "overload: held after %u of %u messages acked (%u sent)\n", acked, TOTAL,
             pub.sent);
    cr_assert_lt (acked, TOTAL, "never held: the queue grew without bound");
    /* held only past the bound: what was acked fit under it, give or take
     * the message that crossed it */
    cr_assert_geq (acked * PER, BOUND - PER);
    cr_assert_leq (acked * PER, BOUND + PER);
    cr_assert_eq (pub.sent, acked + WINDOW, "the publisher is at its window");
    cr_assert_geq (tc_broker_log_count (&B, "overload.start"), 1);

    /* the consumer catches up: the held ACKs come, then the rest; consumer
     * and publisher take turns in short steps (neither waits for the other
     * to go quiet), until both are done or nothing moves for 10 s */
    uint32_t got = 0;
    int64_t idle_since = tl_ms ();
    while (pub.acked < TOTAL || got < TOTAL * PER) {
        uint32_t before = pub.acked + got;
        got += s_consume (&p, 50);
        s_pump (&pub, TOTAL, 50);
        if (pub.acked + got != before)
            idle_since = tl_ms ();
        cr_assert_lt (tl_ms () - idle_since, 10000 * tc_wait (1),
                      "no progress: %u of %u acked, %u consumed", pub.acked, TOTAL, got);
    }
    cr_assert_eq (s_consume (&p, 300), 0, "more records than were published");
    cr_assert_eq (got, TOTAL * PER, "every record delivered once (%u)", got);
    /* the broker logs the end after sending the last withheld ACK */
    cr_assert (TC_AWAIT (5000, tc_broker_log_count (&B, "overload.end") >= 1), "no overload.end");
    tc_close_all (&w, &p, NULL);
    cr_assert_eq (tc_broker_stop (&B), 0);
    cr_assert_eq (REL_CHECKED ("at the end", B.dir, "water", "power").queued, 0);
    tc_broker_cleanup (&B);
}

/*  A consumer that is not connected is away, not lagging: its queue grows
 *  (store and forward) and the publisher is not held. And a connected one
 *  that never takes anything holds its publishers only overload_hold_ms
 *  per ACK: they get every ACK in the end. */
Test (overload, an_absent_consumer_does_not_hold_and_the_hold_is_bounded, .timeout = 90)
{
    s_setup ("200");
    tc_client_t w, p;
    cr_assert_eq (tc_join (&p, &B, &kp, "power"), 0);
    cr_assert_eq (tc_subscribe (&p, TL_WATER, "joint-metering"), 0);
    tc_close (&p);             /* subscribed, then gone */
    cr_assert (TC_AWAIT (5000, tc_broker_log_count (&B, "session.closed member=power plane=data") >= 1),
               "the broker did not see the consumer go");
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    pub_t pub = { &w, 0, 0, 0 };
    cr_assert_eq (s_pump (&pub, 20, 5000 * tc_wait (1)), 20, "held for an absent consumer");
    cr_assert_eq (tc_broker_log_count (&B, "overload.start"), 0);

    /* connected, takes nothing: over the bound already (1,000 queued) */
    cr_assert_eq (tc_join (&p, &B, &kp, "power"), 0);
    cr_assert_eq (s_pump (&pub, 28, 5000 * tc_wait (1)), 28,
                  "the hold must end after overload_hold_ms");
    cr_assert_geq (tc_broker_log_count (&B, "overload.start"), 1, "the ACKs were not held");
    tc_close_all (&w, &p, NULL);
    cr_assert_eq (tc_broker_stop (&B), 0);
    cr_assert_eq (REL_CHECKED ("at the end", B.dir, "water", "power").queued, 28 * PER);
    tc_broker_cleanup (&B);
}

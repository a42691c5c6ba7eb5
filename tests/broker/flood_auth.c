/*  Refused handshakes do not flood the audit log (AUDIT.md §6.1): 10,000
 *  handshakes with random keys from one address leave a handful of
 *  entries whose counts add up to exactly 10,000. A test of its own, kept
 *  out of the valgrind stage (10,000 CURVE handshakes under memcheck would
 *  take minutes and find nothing the sanitizer stage does not). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "tc.h"

static tc_broker_t B;

static void
teardown (void)
{
    tc_broker_cleanup (&B);
}

TestSuite (flood, .fini = teardown, .timeout = 300);

/*  `n` handshakes with fresh random keys, `wave` at a time; each socket
 *  tries once (no reconnect) and is closed once its handshake ended.
 *  Returns how many ended refused. */
static int
flood (int n, int wave)
{
    void *ctx = zmq_ctx_new ();
    cr_assert_not_null (ctx);
    zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, 8192);
    zmq_ctx_set (ctx, ZMQ_IO_THREADS, 2);
    int refused = 0, admitted = 0;
    void **socks = calloc ((size_t) wave, sizeof *socks), **mons = calloc ((size_t) wave, sizeof *mons);
    int *done = calloc ((size_t) wave, sizeof *done);
    for (int base = 0; base < n; base += wave) {
        int k = n - base < wave ? n - base : wave;
        for (int i = 0; i < k; i++) {
            char pub[41], sec[41], ep[64];
            int no = -1, zero = 0;
            cr_assert_eq (zmq_curve_keypair (pub, sec), 0);
            void *s = socks[i] = tc_curve_socket (ctx, ZMQ_DEALER, B.broker_pub, pub, sec);
            cr_assert_not_null (s);
            zmq_setsockopt (s, ZMQ_RECONNECT_IVL, &no, sizeof no);
            snprintf (ep, sizeof ep, "inproc://flood-%d", base + i);
            cr_assert_eq (zmq_socket_monitor (s, ep, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                                              | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                              | ZMQ_EVENT_HANDSHAKE_SUCCEEDED
                                              | ZMQ_EVENT_DISCONNECTED), 0,
                          "monitor %d: %s", base + i, zmq_strerror (zmq_errno ()));
            mons[i] = zmq_socket (ctx, ZMQ_PAIR);
            zmq_setsockopt (mons[i], ZMQ_LINGER, &zero, sizeof zero);
            cr_assert_eq (zmq_connect (mons[i], ep), 0);
            cr_assert_eq (zmq_connect (s, B.data_ep), 0);
            done[i] = 0;
        }
        int left = k;
        int64_t until = tc_ms () + tc_wait (30000);
        while (left > 0 && tc_ms () < until) {
            for (int i = 0; i < k; i++) {
                if (done[i])
                    continue;
                zmq_msg_t ev;
                zmq_msg_init (&ev);
                if (zmq_msg_recv (&ev, mons[i], ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close (&ev);
                    continue;
                }
                uint16_t event = 0;
                if (zmq_msg_size (&ev) >= 2)
                    memcpy (&event, zmq_msg_data (&ev), 2);
                int more = zmq_msg_more (&ev);
                zmq_msg_close (&ev);
                if (more) {
                    zmq_msg_init (&ev);
                    zmq_msg_recv (&ev, mons[i], 0);
                    zmq_msg_close (&ev);
                }
                if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                    admitted++;
                else
                    refused++;
                done[i] = 1;
                left--;
            }
            if (left > 0) {
                zmq_pollitem_t items[256];
                int np = 0;
                for (int i = 0; i < k && np < 256; i++)
                    if (!done[i])
                        items[np++] = (zmq_pollitem_t) { mons[i], 0, ZMQ_POLLIN, 0 };
                zmq_poll (items, np, 100);
            }
        }
        for (int i = 0; i < k; i++) {
            zmq_socket_monitor (socks[i], NULL, 0);
            zmq_close (socks[i]);
            zmq_close (mons[i]);
        }
        cr_assert_eq (left, 0, "%d handshakes of wave %d did not end", left, base / wave);
    }
    free (socks);
    free (mons);
    free (done);
    zmq_ctx_term (ctx);
    cr_assert_eq (admitted, 0);
    return refused;
}

/*  The count= of a summary's detail. */
static unsigned long long
detail_count (const char *detail)
{
    const char *c = strstr (detail, "count=");
    return c ? strtoull (c + 6, NULL, 10) : 0;
}

Test (flood, ten_thousand_refused_handshakes_leave_a_bounded_and_exact_trace)
{
    cr_assert_eq (tc_broker_start (&B, NULL), 0, "sluiced did not start");
    const int n = 10000;
    int64_t t0 = tc_ms ();
    cr_assert_eq (flood (n, 64), n);
    int64_t took = tc_ms () - t0;
    cr_assert_eq (tc_broker_stop (&B), 0);    /* clean stop: summaries are written */

    static tc_entry_t e[64];
    size_t full = (size_t) tc_audit_read (B.dir, "auth.denied", e, 64);
    size_t sums = (size_t) tc_audit_read (B.dir, "auth.denied.summary", e, 64);
    unsigned long long counted = 0;
    for (size_t i = 0; i < sums && i < 64; i++) {
        counted += detail_count (e[i].detail);
        cr_assert_not_null (strstr (e[i].detail, "peer=127.0.0.1"), "%s", e[i].detail);
    }
    /* bounded: a few full entries for the one source, one summary */
    cr_assert_leq (full, 8, "auth.denied entries: %zu", full);
    cr_assert_leq (sums, 2, "auth.denied.summary entries: %zu", sums);
    /* exact: every refusal is accounted for */
    cr_assert_eq (full + counted, (unsigned long long) n, "full %zu + counted %llu != %d", full,
                  counted, n);
    fprintf (stderr, "flood: %d refused handshakes in %lld ms, %zu full entries, %zu summaries\n",
             n, (long long) took, full, sums);
}

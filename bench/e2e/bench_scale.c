/*  bench-scale — what sluiced costs at scale, on a private broker:
 *
 *  1. anonymous RSS (/proc/PID/status RssAnon) idle, and with MEMBERS members
 *     connected (each a CURVE session that said HELLO);
 *  2. restart time with QUEUED records waiting in a consumer's queue: the
 *     queue is filled through the normal publish path in big batches, the
 *     broker is stopped with SIGTERM and started again; timed until it
 *     wrote its endpoints, until a client's HELLO is answered, and until the
 *     first queued record is delivered;
 *  3. recovery after SIGKILL while a publisher is sending: the broker is
 *     killed, started again and timed the same way; every record the broker
 *     had acknowledged before the kill must still be queued (checked).
 *
 *  Output: key=value lines (sluice_rss, sluice_fill, sluice_restart,
 *  sluice_recovery) for bench/run.sh. Bounded: fill stops after --fill-max-s.
 *  Usage: bench-scale --sluiced PATH --setup SCRIPT --sluicectl PATH
 *                     [--members N] [--queued N]
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "bench_broker.h"
#include "bench_records.h"
#include "bench_util.h"
#include "sluice.h"

static bench_broker_t s_broker;

static int
s_connect (const char *name, unsigned batch_max, unsigned inflight, sl_client_t **c)
{
    sl_client_options_t t = { .batch_max = batch_max, .inflight_max = inflight, .credit = 64,
                              .connect_timeout_ms = 30000, .ack_timeout_ms = 60000 };
    return bench_broker_connect (&s_broker, "bench-scale", name, &t, c);
}

/*  Queue depth of consumer c0 from the admin `status` command, or -1. */
static long
s_depth (void)
{
    char *res = NULL;
    if (bench_broker_admin (&s_broker, "status", NULL, &res) != 0)
        return -1;
    long d = -1;
    cJSON *j = cJSON_Parse (res);
    cJSON *q = j ? cJSON_GetObjectItemCaseSensitive (j, "queues") : NULL;
    cJSON *c = q ? cJSON_GetObjectItemCaseSensitive (q, "c0") : NULL;
    if (cJSON_IsNumber (c))
        d = (long) c->valuedouble;
    cJSON_Delete (j);
    free (res);
    return d;
}

/*  Publishes until `count` records are acknowledged or `max_s` passes. */
static long
s_fill (sl_client_t *pub, bench_bodies_t *bodies, long count, double max_s, double *secs)
{
    uint64_t t0 = bench_now_ns ();
    long sent = 0;
    sl_client_stats_t st = { 0 };
    while ((long) st.records_acked < count) {
        while (sent < count && sl_client_unacked (pub) < 32768) {
            size_t k = (size_t) sent % bodies->n;
            sl_publish_meta_t meta = { .subject = bodies->subjects[k] };
            if (sl_client_publish_async (pub, "water.v1.MeterReading", &meta, bodies->body[k],
                                         bodies->size[k], NULL, NULL, NULL) != 0) {
                fprintf (stderr, "bench-scale: publish: %s\n", sl_client_last_error (pub));
                return -1;
            }
            sent++;
        }
        sl_client_poll (pub, 5);
        sl_client_stats (pub, &st);
        if ((double) (bench_now_ns () - t0) / 1e9 > max_s)
            break;
    }
    *secs = (double) (bench_now_ns () - t0) / 1e9;
    return (long) st.records_acked;
}

/*  Starts the broker again and times it: endpoints written, HELLO answered,
 *  first queued record delivered to c0. */
static int
s_restart_timed (const char *label, long expect_depth_min)
{
    uint64_t t0 = bench_now_ns (), ready = 0;
    if (bench_broker_start (&s_broker, &ready) != 0)
        return -1;
    sl_client_t *c = NULL;
    if (s_connect ("c0", 0, 0, &c) != 0)
        return -1;
    uint64_t hello = bench_now_ns () - t0;
    int rc = sl_client_subscribe (c, "water.v1.MeterReading", "bench");
    sl_delivery_t *d = NULL;
    if (rc == 0)
        rc = sl_client_recv (c, &d, 30000);
    uint64_t first = bench_now_ns () - t0;
    if (rc != 0) {
        fprintf (stderr, "bench-scale: %s: no delivery after restart: %s\n", label, sl_strerror (rc));
        sl_client_destroy (&c, 0);
        return -1;
    }
    sl_delivery_destroy (&d);           /* not acked: it stays queued */
    sl_client_destroy (&c, 0);
    long rss = bench_broker_rss_anon_kib (&s_broker);
    long depth = s_depth ();
    printf ("%s ready_ms=%.1f hello_ms=%.1f first_delivery_ms=%.1f queued=%ld rss_anon_kib=%ld "
            "lost=%ld\n", label, (double) ready / 1e6, (double) hello / 1e6, (double) first / 1e6,
            depth, rss, depth >= 0 && depth < expect_depth_min ? expect_depth_min - depth : 0);
    fflush (stdout);
    return depth >= expect_depth_min ? 0 : -1;
}

typedef struct {
    sl_client_t *pub;
    bench_bodies_t *bodies;
    volatile int stop;
    uint64_t acked;
} s_load_t;

static void *
s_load (void *arg)
{
    s_load_t *l = arg;
    long sent = 0;
    sl_client_stats_t st;
    while (!l->stop) {
        while (sl_client_unacked (l->pub) < 8192 && !l->stop) {
            size_t k = (size_t) sent % l->bodies->n;
            sl_publish_meta_t meta = { .subject = l->bodies->subjects[k] };
            sl_client_publish_async (l->pub, "water.v1.MeterReading", &meta, l->bodies->body[k],
                                     l->bodies->size[k], NULL, NULL, NULL);
            sent++;
        }
        sl_client_poll (l->pub, 1);
        sl_client_stats (l->pub, &st);
        __atomic_store_n (&l->acked, st.records_acked, __ATOMIC_RELEASE);
    }
    return NULL;
}

int
main (int argc, char **argv)
{
    const char *sluiced = NULL, *setup = NULL, *sluicectl = NULL;
    int members = 100;
    long queued = 1000000;
    double fill_max_s = 240;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp (a, "--help") || !strcmp (a, "-h") || !v) {
            printf ("usage: bench-scale --sluiced PATH --setup bench/e2e/city-setup.sh --sluicectl PATH\n"
                    "                   [--members N] [--queued N] [--fill-max-s S]\n");
            return !strcmp (a, "--help") || !strcmp (a, "-h") ? 0 : 2;
        }
        i++;
        if (!strcmp (a, "--sluiced")) sluiced = v;
        else if (!strcmp (a, "--setup")) setup = v;
        else if (!strcmp (a, "--sluicectl")) sluicectl = v;
        else if (!strcmp (a, "--members")) members = atoi (v);
        else if (!strcmp (a, "--queued")) queued = atol (v);
        else if (!strcmp (a, "--fill-max-s")) fill_max_s = atof (v);
        else {
            fprintf (stderr, "bench-scale: unknown option %s\n", a);
            return 2;
        }
    }
    if (!sluiced || !setup || !sluicectl || members < 1 || members > 1000 || queued < 1)
        return 2;
    signal (SIGPIPE, SIG_IGN);
    int rc = 1;
    char name[32];
    sl_client_t **cl = calloc ((size_t) members, sizeof *cl);
    sl_client_t *pub = NULL;
    bench_bodies_t bodies = { 0 };
    if (!cl || bench_bodies_make (&bodies, &bench_types[0], 0, 1024, BENCH_RECORD_SIZE) != 0)
        goto out;
    if (bench_broker_init (&s_broker, sluiced) != 0)
        goto out;
    bench_broker_arg (&s_broker, "--map-size-mb");
    bench_broker_arg (&s_broker, "4096");
    if (bench_broker_start (&s_broker, NULL) != 0)
        goto out;
    for (int k = 0; k < BENCH_N_TYPES; k++) {
        snprintf (name, sizeof name, "c%d", k);
        if (bench_broker_add_member (&s_broker, bench_types[k].owner, "member") != 0
            || bench_broker_add_member (&s_broker, name, "member") != 0)
            goto out;
    }
    /* identity permits: water -> c0 for purpose bench (and the other three) */
    if (bench_broker_setup (&s_broker, setup, sluicectl, "plain") != 0)
        goto out;

    /* 1. RSS with members connected */
    long rss_idle = bench_broker_rss_anon_kib (&s_broker);
    for (int i = 0; i < members; i++) {
        snprintf (name, sizeof name, "m%03d", i);
        if (bench_broker_add_member (&s_broker, name, "member") != 0)
            goto out;
    }
    for (int i = 0; i < members; i++) {
        snprintf (name, sizeof name, "m%03d", i);
        if (s_connect (name, 0, 0, &cl[i]) != 0)
            goto out;
    }
    usleep (200000);
    long rss_conn = bench_broker_rss_anon_kib (&s_broker);
    printf ("sluice_rss members=%d rss_anon_idle_kib=%ld rss_anon_connected_kib=%ld\n", members,
            rss_idle, rss_conn);
    fflush (stdout);
    for (int i = 0; i < members; i++)
        sl_client_destroy (&cl[i], 0);

    /* 2. fill c0's queue through the publish path, in big batches */
    sl_client_t *c0 = NULL;
    if (s_connect ("c0", 0, 0, &c0) != 0
        || sl_client_subscribe (c0, "water.v1.MeterReading", "bench") != 0)
        goto out;
    sl_client_destroy (&c0, 0);           /* durable subscription, nobody consuming */
    if (s_connect ("water", 1024, 16, &pub) != 0)
        goto out;
    double fill_s = 0;
    long filled = s_fill (pub, &bodies, queued, fill_max_s, &fill_s);
    sl_client_destroy (&pub, 0);
    long depth = s_depth ();
    printf ("sluice_fill records=%ld seconds=%.1f rps=%.0f queued=%ld rss_anon_kib=%ld\n", filled,
            fill_s, (double) filled / fill_s, depth, bench_broker_rss_anon_kib (&s_broker));
    fflush (stdout);
    if (filled <= 0 || depth < filled)
        goto out;

    /* 3. restart with the queue full */
    uint64_t t_stop = bench_now_ns ();
    bench_broker_stop (&s_broker, SIGTERM);
    printf ("sluice_stop seconds=%.3f\n", (double) (bench_now_ns () - t_stop) / 1e9);
    if (s_restart_timed ("sluice_restart", depth) != 0)
        goto out;

    /* 4. SIGKILL under load, then recovery */
    s_load_t load = { .bodies = &bodies };
    if (s_connect ("water", 256, 4, &load.pub) != 0)
        goto out;
    pthread_t th;
    pthread_create (&th, NULL, s_load, &load);
    sleep (2);
    uint64_t acked_before = __atomic_load_n (&load.acked, __ATOMIC_ACQUIRE);
    bench_broker_stop (&s_broker, SIGKILL);
    load.stop = 1;
    pthread_join (th, NULL);
    sl_client_stats_t st;
    sl_client_stats (load.pub, &st);
    sl_client_destroy (&load.pub, 0);   /* no linger: what was not acked is not counted */
    printf ("sluice_kill acked_before_kill=%llu acked_total=%llu\n",
            (unsigned long long) acked_before, (unsigned long long) st.records_acked);
    if (s_restart_timed ("sluice_recovery", depth + (long) st.records_acked) != 0)
        goto out;
    rc = 0;
out:
    for (int i = 0; cl && i < members; i++)
        sl_client_destroy (&cl[i], 0);
    free (cl);
    sl_client_destroy (&pub, 0);
    bench_bodies_free (&bodies);
    bench_broker_destroy (&s_broker);
    return rc;
}

/*  bench-e2e — end to end through a private sluiced: N publishers -> broker
 *  (CURVE, durable group commit with fsync) -> M consumers, 256-byte records.
 *
 *  The city mix: publisher i is a connection of bureau i % 4 (water, power,
 *  health, parking) publishing that bureau's record type; consumer j is
 *  member "c<j>", subscribed to record type j % 4 for purpose "bench". With
 *  N = M = 4 every record reaches exactly one consumer.
 *
 *  Phases, each bounded: saturation (publishers keep a window of
 *  unacknowledged records full; records/s counted at the consumers), then
 *  fixed offered loads at 10, 50 and 90 % of it (publishers paced, latency
 *  from the publish call to the consumer's receipt: the send time travels
 *  in the message id). Between phases everything published is drained.
 *
 *  Decisions: policies applied through sluicectl by bench/e2e/city-setup.sh
 *  (--setup, --sluicectl) after the members exist: --policy plain gives
 *  identity permits (every field, subject kept); --policy mixed (default) a
 *  field transform on half the traffic and a consent check on a quarter
 *  (the consents for every health subject are granted here, admin plane
 *  consent.grant).
 *
 *  Output: key=value lines (sluice_e2e, sluice_e2e_latency) for bench/run.sh;
 *  sluice_e2e also gives the broker's CPU time (user + system, all threads,
 *  /proc) over the saturation phase and per record moved: a figure a loaded
 *  machine disturbs far less than records/s.
 *  Usage: bench-e2e --sluiced PATH [options]; --help lists them.
 */
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_broker.h"
#include "bench_consumer.h"
#include "bench_records.h"
#include "bench_util.h"
#include "sluice.h"

#define S_MAX_CLIENTS 64

typedef struct {
    sl_client_t *client;
    int idx;
    const bench_type_t *type;
    bench_bodies_t bodies;
    double rate;                   /* records/s; 0 = as fast as the window allows */
    uint64_t published;            /* records handed to the library in this phase */
    int failed;
    uint64_t *acks;                /* publish -> ACK latency ns, while measuring */
    size_t n_acks, cap_acks;
} s_pub_t;

static volatile int s_pub_stop;
static volatile int s_con_stop;
static unsigned s_window = 4096;

static void
s_stamp_id (uint8_t id[SL_MESSAGE_ID_LEN], uint64_t t, uint32_t pub, uint32_t seq)
{
    memcpy (id, &t, 8);
    memcpy (id + 8, &pub, 4);
    memcpy (id + 12, &seq, 4);
}

static volatile int s_measuring;

/*  The broker stored the record (after its commit): publish -> ACK latency. */
static void
s_on_ack (const uint8_t *message_id, int rc, const char *text, void *arg)
{
    s_pub_t *p = arg;
    (void) text;
    uint64_t t;
    memcpy (&t, message_id, 8);
    if (rc == 0 && __atomic_load_n (&s_measuring, __ATOMIC_ACQUIRE) && p->n_acks < p->cap_acks)
        p->acks[p->n_acks++] = bench_now_ns () - t;
}

static int
s_publish_one (s_pub_t *p)
{
    uint8_t id[SL_MESSAGE_ID_LEN];
    size_t k = p->published % p->bodies.n;
    s_stamp_id (id, bench_now_ns (), (uint32_t) p->idx, (uint32_t) p->published);
    sl_publish_meta_t meta = { .message_id = id, .subject = p->bodies.subjects[k] };
    int rc = sl_client_publish_async (p->client, p->type->record_type, &meta,
                                      p->bodies.body[k], p->bodies.size[k], s_on_ack, p, NULL);
    if (rc != 0) {
        fprintf (stderr, "bench-e2e: publish: %s (%s)\n", sl_strerror (rc),
                 sl_client_last_error (p->client));
        p->failed = 1;
        return rc;
    }
    p->published++;
    return 0;
}

static void *
s_publisher (void *arg)
{
    s_pub_t *p = arg;
    p->published = 0;
    uint64_t start = bench_now_ns ();
    while (!s_pub_stop && !p->failed) {
        if (p->rate <= 0) {
            while (sl_client_unacked (p->client) < s_window && !s_pub_stop)
                if (s_publish_one (p) != 0)
                    break;
            sl_client_poll (p->client, 1);
        }
        else {
            uint64_t now = bench_now_ns ();
            uint64_t due = (uint64_t) ((double) (now - start) * p->rate / 1e9);
            while (p->published < due && !s_pub_stop)
                if (s_publish_one (p) != 0)
                    break;
            uint64_t next = start + (uint64_t) ((double) (p->published + 1) * 1e9 / p->rate);
            now = bench_now_ns ();
            /* wait at least 1 ms: a 0 ms poll would spin and take the CPU
               the broker needs; records due meanwhile go out together */
            int ms = next > now ? (int) ((next - now) / 1000000) : 0;
            sl_client_poll (p->client, ms < 1 ? 1 : ms);
        }
    }
    return NULL;
}

typedef struct {
    int n_pub, n_con;
    double seconds, warmup;
    unsigned batch_max, inflight, credit;
    const char *sluiced, *sluicectl, *setup, *perf, *policy;
    s_pub_t pubs[S_MAX_CLIENTS];
    bench_consumer_t cons[S_MAX_CLIENTS];
    pthread_t con_th[S_MAX_CLIENTS];
    bench_broker_t broker;
} s_bench_t;

static uint64_t
s_consumed (s_bench_t *b)
{
    uint64_t n = 0;
    for (int j = 0; j < b->n_con; j++)
        n += __atomic_load_n (&b->cons[j].consumed, __ATOMIC_ACQUIRE);
    return n;
}

/*  Published records acknowledged by the broker, over all publishers (call
 *  only while no publisher thread runs). */
static uint64_t
s_acked (s_bench_t *b)
{
    uint64_t n = 0;
    for (int i = 0; i < b->n_pub; i++) {
        sl_client_stats_t st;
        sl_client_stats (b->pubs[i].client, &st);
        n += st.records_acked;
    }
    return n;
}

/*  Waits until the publishers' records are acknowledged and consumed. */
static int
s_drain (s_bench_t *b, double *drain_s)
{
    uint64_t t0 = bench_now_ns ();
    for (int i = 0; i < b->n_pub; i++)
        if (sl_client_flush (b->pubs[i].client, 30000) != 0) {
            fprintf (stderr, "bench-e2e: publisher %d: flush: %s\n", i,
                     sl_client_last_error (b->pubs[i].client));
            return -1;
        }
    uint64_t want = s_acked (b);
    while (s_consumed (b) < want) {
        if (bench_now_ns () - t0 > 60000000000ull) {
            fprintf (stderr, "bench-e2e: drain: %llu of %llu records consumed after 60 s\n",
                     (unsigned long long) s_consumed (b), (unsigned long long) want);
            return -1;
        }
        usleep (1000);
    }
    if (drain_s)
        *drain_s = (double) (bench_now_ns () - t0) / 1e9;
    return 0;
}

static pid_t
s_perf_start (s_bench_t *b, double seconds)
{
    char pid[32], secs[32];
    snprintf (pid, sizeof pid, "%d", (int) b->broker.pid);
    snprintf (secs, sizeof secs, "%.1f", seconds);
    pid_t p = fork ();
    if (p == 0) {
        int fd = open ("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2 (fd, 1);
            dup2 (fd, 2);
        }
        execlp ("perf", "perf", "record", "-q", "-g", "-F", "1999", "-p", pid, "-o", b->perf,
                "--", "sleep", secs, (char *) NULL);
        _exit (127);
    }
    return p;
}

/*  CPU seconds the broker process has used so far (user + system, all its
 *  threads: the loop and ZeroMQ's I/O threads), from /proc; -1 if unknown. */
static double
s_broker_cpu_s (s_bench_t *b)
{
    char path[64], buf[1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) b->broker.pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    size_t n = fread (buf, 1, sizeof buf - 1, f);
    fclose (f);
    buf[n] = 0;
    char *p = strrchr (buf, ')');      /* the command may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                      &ut, &st) != 2)
        return -1;
    return (double) (ut + st) / (double) sysconf (_SC_CLK_TCK);
}

/*  One phase: publishers at `total_rate` (0: saturation) for warmup +
 *  seconds; returns consumed records/s over the measured part, and the
 *  latency samples gathered in it stay in the consumers. */
static int
s_phase (s_bench_t *b, double total_rate, double *consumed_rps, double *acked_rps)
{
    for (int j = 0; j < b->n_con; j++)
        b->cons[j].n_samples = 0;
    for (int i = 0; i < b->n_pub; i++)
        b->pubs[i].n_acks = 0;
    pthread_t th[S_MAX_CLIENTS];
    s_pub_stop = 0;
    for (int i = 0; i < b->n_pub; i++) {
        b->pubs[i].rate = total_rate / b->n_pub;
        pthread_create (&th[i], NULL, s_publisher, &b->pubs[i]);
    }
    usleep ((useconds_t) (b->warmup * 1e6));
    pid_t perf = 0;
    if (b->perf && total_rate <= 0)
        perf = s_perf_start (b, b->seconds);
    uint64_t c0 = s_consumed (b), t0 = bench_now_ns ();
    __atomic_store_n (&s_measuring, 1, __ATOMIC_RELEASE);
    if (getenv ("BENCH_TRACE"))
        for (double t = 0; t < b->seconds; t += 0.5) {
            usleep (500000);
            fprintf (stderr, "trace t=%.1f consumed=%llu\n", t,
                     (unsigned long long) s_consumed (b));
        }
    else
        usleep ((useconds_t) (b->seconds * 1e6));
    __atomic_store_n (&s_measuring, 0, __ATOMIC_RELEASE);
    uint64_t c1 = s_consumed (b), t1 = bench_now_ns ();
    s_pub_stop = 1;
    uint64_t published = 0;
    int failed = 0;
    for (int i = 0; i < b->n_pub; i++) {
        pthread_join (th[i], NULL);
        published += b->pubs[i].published;
        failed |= b->pubs[i].failed;
    }
    if (perf > 0)
        waitpid (perf, NULL, 0);
    *consumed_rps = (double) (c1 - c0) * 1e9 / (double) (t1 - t0);
    *acked_rps = (double) published * 1e9 / (double) (t1 - t0 + (uint64_t) (b->warmup * 1e9));
    usleep (20000);          /* consumers see s_measuring = 0 */
    return failed ? -1 : 0;
}

static void
s_latency_report (s_bench_t *b, int pct, double offered, double achieved)
{
    size_t n = 0;
    for (int j = 0; j < b->n_con; j++)
        n += b->cons[j].n_samples;
    uint64_t *all = malloc ((n ? n : 1) * sizeof *all);
    size_t k = 0;
    for (int j = 0; j < b->n_con; j++) {
        memcpy (all + k, b->cons[j].samples, b->cons[j].n_samples * sizeof *all);
        k += b->cons[j].n_samples;
    }
    uint64_t p50 = bench_percentile (all, n, 50), p99 = bench_percentile (all, n, 99);
    uint64_t p999 = bench_percentile (all, n, 99.9), max = n ? all[n - 1] : 0;
    size_t na = 0;
    for (int i = 0; i < b->n_pub; i++)
        na += b->pubs[i].n_acks;
    uint64_t *acks = malloc ((na ? na : 1) * sizeof *acks);
    k = 0;
    for (int i = 0; acks && i < b->n_pub; i++) {
        memcpy (acks + k, b->pubs[i].acks, b->pubs[i].n_acks * sizeof *acks);
        k += b->pubs[i].n_acks;
    }
    if (!acks)
        na = 0;
    printf ("sluice_e2e_latency load_pct=%d offered_rps=%.0f achieved_rps=%.0f samples=%zu "
            "p50_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f ack_samples=%zu ack_p50_us=%.0f "
            "ack_p99_us=%.0f ack_p999_us=%.0f\n", pct, offered, achieved, n,
            (double) p50 / 1e3, (double) p99 / 1e3, (double) p999 / 1e3, (double) max / 1e3, na,
            (double) bench_percentile (acks, na, 50) / 1e3, (double) bench_percentile (acks, na, 99) / 1e3,
            (double) bench_percentile (acks, na, 99.9) / 1e3);
    fflush (stdout);
    free (acks);
    free (all);
}

static int
s_connect (s_bench_t *b, const char *name, unsigned credit, sl_client_t **c)
{
    sl_client_options_t t = { .batch_max = b->batch_max, .inflight_max = b->inflight,
                              .credit = credit, .connect_timeout_ms = 10000, .ack_timeout_ms = 30000 };
    return bench_broker_connect (&b->broker, "bench-e2e", name, &t, c);
}

/*  Policy mode: the health stream's permit requires consent, so every
 *  subject the health publishers use gets one (admin plane consent.grant,
 *  docs/CONSENT.md), for each consumer of health records. */
static int
s_grant_consents (s_bench_t *b)
{
    char args[1024];
    for (int i = 0; i < b->n_pub; i++) {
        if (i % BENCH_N_TYPES != 2)
            continue;
        for (int j = 0; j < b->n_con; j++) {
            if (j % BENCH_N_TYPES != 2)
                continue;
            for (size_t k = 0; k < 1024; k++) {
                snprintf (args, sizeof args,
                          "{\"kind\":\"given\",\"consent_id\":\"bench-%d-%d-%zu\","
                          "\"subject\":\"C-%d%06zu\",\"controller\":\"health\","
                          "\"recipient\":\"c%d\",\"purposes\":[\"bench\"],"
                          "\"record_types\":[\"health.v1.Encounter\"],"
                          "\"valid_from\":\"2026-01-01\",\"valid_to\":\"2030-12-31\","
                          "\"collection_method\":\"benchmark\",\"evidence\":\"bench-e2e\"}",
                          i, j, k, i, k, j);
                if (bench_broker_admin (&b->broker, "consent.grant", args, NULL) != 0)
                    return -1;
            }
        }
    }
    return 0;
}

static void
s_usage (void)
{
    printf ("usage: bench-e2e --sluiced PATH [options]\n"
            "  --publishers N     publisher connections (default 4)\n"
            "  --consumers M      consumer members c0..cM-1 (default 4)\n"
            "  --seconds S        measured seconds per phase (default 3)\n"
            "  --batch-max N      libsluice batch_max (default: library default)\n"
            "  --inflight N       libsluice inflight_max (default: library default)\n"
            "  --credit N         libsluice credit window (default: library default)\n"
            "  --window N         unacknowledged records per publisher at saturation (4096)\n"
            "  --sluiced-arg ARG  extra argument for sluiced run (repeatable)\n"
            "  --setup SCRIPT     applies the policies: SCRIPT DATA_DIR ADMIN_KEY SLUICECTL MODE\n"
            "                     (bench/e2e/city-setup.sh)\n"
            "  --sluicectl PATH   sluicectl for --setup\n"
            "  --policy MODE      plain (identity permits) or mixed (default: transform on\n"
            "                     half the traffic, consent check on a quarter)\n"
            "  --perf FILE        perf record the broker during the saturation phase\n");
}

int
main (int argc, char **argv)
{
    static s_bench_t b;
    b.n_pub = 4;
    b.n_con = 4;
    b.seconds = 3;
    b.warmup = 0.7;
    b.policy = "mixed";
    const char *bargs[BENCH_MAX_ARGS];
    int n_bargs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp (a, "--help") || !strcmp (a, "-h")) {
            s_usage ();
            return 0;
        }
        if (!v) {
            fprintf (stderr, "bench-e2e: %s needs a value (see --help)\n", a);
            return 2;
        }
        i++;
        if (!strcmp (a, "--publishers")) b.n_pub = atoi (v);
        else if (!strcmp (a, "--consumers")) b.n_con = atoi (v);
        else if (!strcmp (a, "--seconds")) b.seconds = atof (v);
        else if (!strcmp (a, "--batch-max")) b.batch_max = (unsigned) atoi (v);
        else if (!strcmp (a, "--inflight")) b.inflight = (unsigned) atoi (v);
        else if (!strcmp (a, "--credit")) b.credit = (unsigned) atoi (v);
        else if (!strcmp (a, "--window")) s_window = (unsigned) atoi (v);
        else if (!strcmp (a, "--sluiced")) b.sluiced = v;
        else if (!strcmp (a, "--sluicectl")) b.sluicectl = v;
        else if (!strcmp (a, "--setup")) b.setup = v;
        else if (!strcmp (a, "--policy")) b.policy = v;
        else if (!strcmp (a, "--perf")) b.perf = v;
        else if (!strcmp (a, "--sluiced-arg") && n_bargs < BENCH_MAX_ARGS) bargs[n_bargs++] = v;
        else {
            fprintf (stderr, "bench-e2e: unknown option %s (see --help)\n", a);
            return 2;
        }
    }
    if (!b.sluiced || b.n_pub < 1 || b.n_con < 1 || b.n_pub > S_MAX_CLIENTS
        || b.n_con > S_MAX_CLIENTS || !b.setup || !b.sluicectl
        || (strcmp (b.policy, "plain") != 0 && strcmp (b.policy, "mixed") != 0)) {
        s_usage ();
        return 2;
    }
    /* every published type needs a consumer, or drains never finish */
    for (int i = 0; i < b.n_pub && i < BENCH_N_TYPES; i++)
        if (b.n_con <= i) {
            fprintf (stderr, "bench-e2e: publisher %d's record type has no consumer: "
                             "use --consumers >= min(publishers, %d)\n", i, BENCH_N_TYPES);
            return 2;
        }
    signal (SIGPIPE, SIG_IGN);

    int rc = 1;
    if (bench_broker_init (&b.broker, b.sluiced) != 0)
        goto out;
    for (int i = 0; i < n_bargs; i++)
        bench_broker_arg (&b.broker, bargs[i]);
    char name[32];
    if (bench_broker_start (&b.broker, NULL) != 0)
        goto out;
    for (int k = 0; k < BENCH_N_TYPES && k < b.n_pub; k++)
        if (bench_broker_add_member (&b.broker, bench_types[k].owner, "member") != 0)
            goto out;
    for (int j = 0; j < b.n_con; j++) {
        snprintf (name, sizeof name, "c%d", j);
        if (bench_broker_add_member (&b.broker, name, "member") != 0)
            goto out;
    }
    for (int k = b.n_pub; k < BENCH_N_TYPES; k++)      /* the policies name all four */
        if (bench_broker_add_member (&b.broker, bench_types[k].owner, "member") != 0)
            goto out;
    for (int j = b.n_con; j < BENCH_N_TYPES; j++) {
        snprintf (name, sizeof name, "c%d", j);
        if (bench_broker_add_member (&b.broker, name, "member") != 0)
            goto out;
    }
    if (bench_broker_setup (&b.broker, b.setup, b.sluicectl, b.policy) != 0)
        goto out;
    if (!strcmp (b.policy, "mixed") && s_grant_consents (&b) != 0)
        goto out;

    for (int j = 0; j < b.n_con; j++) {
        bench_consumer_t *c = &b.cons[j];
        snprintf (c->name, sizeof c->name, "bench-e2e: consumer c%d", j);
        c->stop = &s_con_stop;
        c->measuring = &s_measuring;
        c->cap = 4000000;
        c->samples = malloc (c->cap * sizeof *c->samples);
        snprintf (name, sizeof name, "c%d", j);
        if (!c->samples || s_connect (&b, name, b.credit, &c->client) != 0)
            goto out;
        int src = sl_client_subscribe (c->client, bench_types[j % BENCH_N_TYPES].record_type, "bench");
        if (src != 0) {
            fprintf (stderr, "bench-e2e: c%d subscribe: %s (%s)\n", j, sl_strerror (src),
                     sl_client_last_error (c->client));
            goto out;
        }
    }
    for (int i = 0; i < b.n_pub; i++) {
        s_pub_t *p = &b.pubs[i];
        p->idx = i;
        p->type = &bench_types[i % BENCH_N_TYPES];
        p->cap_acks = 4000000;
        if (!(p->acks = malloc (p->cap_acks * sizeof *p->acks)))
            goto out;
        if (bench_bodies_make (&p->bodies, p->type, i, 1024, BENCH_RECORD_SIZE) != 0
            || s_connect (&b, p->type->owner, 0, &p->client) != 0)
            goto out;
    }
    for (int j = 0; j < b.n_con; j++)
        pthread_create (&b.con_th[j], NULL, bench_consumer_run, &b.cons[j]);

    /* Saturation = records published as fast as the window allows for
       warmup + seconds, divided by the time until the last one was consumed.
       It counts deliveries made while publishing and after it alike, so it
       stays honest whether or not the broker interleaves the two. */
    double during = 0, pub_rps = 0, drain = 0;
    uint64_t before = s_consumed (&b), t_start = bench_now_ns ();
    double cpu0 = s_broker_cpu_s (&b);
    if (s_phase (&b, 0, &during, &pub_rps) != 0)
        goto stop;
    uint64_t at_stop = s_consumed (&b);
    if (s_drain (&b, &drain) != 0)
        goto stop;
    double drain_rps = drain > 0 ? (double) (s_consumed (&b) - at_stop) / drain : 0;
    double total_s = (double) (bench_now_ns () - t_start) / 1e9;
    uint64_t moved = s_consumed (&b) - before;
    double sat = (double) moved / total_s;
    double cpu1 = s_broker_cpu_s (&b);
    double cpu = cpu0 >= 0 && cpu1 >= 0 ? cpu1 - cpu0 : 0;
    printf ("sluice_e2e mode=%s publishers=%d consumers=%d size=%d seconds=%.1f "
            "saturation_rps=%.0f records=%llu total_s=%.2f publish_rps=%.0f "
            "consumed_while_publishing_rps=%.0f drain_s=%.2f drain_rps=%.0f "
            "broker_cpu_s=%.2f broker_cpu_us_per_record=%.2f\n",
            b.policy, b.n_pub, b.n_con, BENCH_RECORD_SIZE, b.seconds,
            sat, (unsigned long long) moved, total_s, pub_rps, during, drain, drain_rps,
            cpu, moved ? cpu * 1e6 / (double) moved : 0);
    if (getenv ("BENCH_SATURATION"))      /* offered loads relative to a given figure */
        sat = atof (getenv ("BENCH_SATURATION"));
    static const int loads[] = { 10, 50, 90 };
    for (size_t l = 0; l < sizeof loads / sizeof loads[0]; l++) {
        double offered = sat * loads[l] / 100.0, got = 0, prps = 0;
        if (s_phase (&b, offered, &got, &prps) != 0 || s_drain (&b, NULL) != 0)
            goto stop;
        s_latency_report (&b, loads[l], offered, got);
    }
    rc = 0;
stop:
    s_con_stop = 1;
    for (int j = 0; j < b.n_con; j++)
        pthread_join (b.con_th[j], NULL);
    for (int j = 0; j < b.n_con; j++)
        rc |= b.cons[j].failed;
out:
    for (int i = 0; i < b.n_pub; i++) {
        sl_client_destroy (&b.pubs[i].client, 0);
        bench_bodies_free (&b.pubs[i].bodies);
        free (b.pubs[i].acks);
    }
    for (int j = 0; j < b.n_con; j++) {
        sl_client_destroy (&b.cons[j].client, 0);
        free (b.cons[j].samples);
    }
    bench_broker_destroy (&b.broker);
    return rc;
}

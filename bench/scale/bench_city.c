/*  bench-city — the scale case on a private sluiced: 32 member
 *  bureaus, 1,000 policy rules and 1,000,000 consents.
 *
 *  1. `sluiced init`, then the broker is started once on the empty store
 *     (start-up time of an empty data directory, the baseline);
 *  2. CONSENTS consents are written into DIR/store with the consent library
 *     (sl_consent_apply, the code the broker runs, in write transactions of
 *     100,000) while no broker runs: the admin plane's consent.grant, one
 *     call and one commit per consent, would take far longer;
 *  3. the broker starts on it (start-up time with the consents); BUREAUS
 *     member bureaus and one administrator each (admin:<bureau>) are
 *     registered through the admin plane (member.add); the city declares the
 *     purposes and each data-owning bureau applies its policy with
 *     `sluicectl policy apply` (admin plane policy.apply): RULES permits in
 *     all, spread over owners, consumers, record types and purposes;
 *  4. the broker is restarted (SIGTERM, start) on the full data set and
 *     timed to endpoints written and HELLO answered;
 *  5. traffic: water, power, health and parking publish their record type
 *     (256 bytes) to four consuming bureaus: a field transform on half the
 *     traffic, a consent check on a quarter (health: 7 of 8 subjects hold a
 *     consent among the million, 1 of 8 do not and are denied), a quarter
 *     untouched. Saturation (window of 4096 per publisher), then latency at
 *     10 % and 50 % of it. Every record whose subject has no consent must be
 *     denied and every other one delivered: the consumed count must equal
 *     the expected count exactly, or the run fails;
 *  6. broker RssAnon after start-up and after the traffic.
 *
 *  Output: key=value lines (sluice_city_*) for bench/run.sh.
 *  Usage: bench-city --sluiced PATH --sluicectl PATH [--bureaus N]
 *                    [--rules N] [--consents N] [--seconds S] [--perf FILE]
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>

#include "bench_broker.h"
#include "bench_consumer.h"
#include "bench_records.h"
#include "bench_util.h"
#include "health/v1/health.pb-c.h"
#include "sl_consent.h"
#include "sl_schema.h"
#include "sluice.h"

#define S_MAX_BUREAUS 64
#define S_N_PURPOSES 10
#define S_HEALTH_BODIES 4096
#define S_TXN_CONSENTS 100000

static const char *s_purposes[S_N_PURPOSES] = {
    "bench", "billing", "planning", "research", "fraud", "audit-check", "statistics",
    "emergency", "outreach", "maintenance"
};

static bench_broker_t s_broker;
static int s_bureaus = 32;
static char s_names[S_MAX_BUREAUS][32];    /* 0..3 the data owners, then consumers */

/*  Record type i of the schema registry and its owner (5 types, 4 owners). */
static const sl_schema_t *
s_type (size_t i)
{
    return sl_schema_at (i % sl_schema_count ());
}

/*  Consumer bureau j (0 .. bureaus-5) of the consents: never the owner. */
static const char *
s_recipient (size_t j)
{
    return s_names[4 + j % (size_t) (s_bureaus - 4)];
}

/*  Consent i: subject P<i>, controller/type/recipient/purpose cycle so that
 *  every combination is covered evenly. */
static void
s_consent_of (size_t i, char *subject, const sl_schema_t **type, const char **recipient,
              const char **purpose)
{
    size_t n_types = sl_schema_count (), n_rcp = (size_t) (s_bureaus - 4);
    snprintf (subject, 32, "P%07zu", i);
    *type = s_type (i);
    *recipient = s_recipient (i / n_types);
    *purpose = s_purposes[(i / (n_types * n_rcp)) % 4];
}

/*  The consent check itself against the loaded store, in process (the
 *  library the broker calls): S_CHECKS look-ups of random loaded consents,
 *  7 of 8 for their own recipient (VALID), 1 of 8 for another recipient
 *  (MISSING). Every answer is checked. */
#define S_CHECKS 200000
static int
s_time_checks (MDB_env *env, sl_consent_t *reg, size_t n)
{
    MDB_txn *txn = NULL;
    uint64_t *ns = malloc (S_CHECKS * sizeof *ns);
    if (!ns || mdb_txn_begin (env, NULL, MDB_RDONLY, &txn) != 0) {
        free (ns);
        return -1;
    }
    uint64_t rnd = 0x2545f4914f6cdd1dull, total = 0;
    int64_t at = (int64_t) time (NULL);
    size_t wrong = 0;
    for (size_t c = 0; c < S_CHECKS; c++) {
        rnd ^= rnd << 13; rnd ^= rnd >> 7; rnd ^= rnd << 17;
        size_t i = rnd % n;
        char subject[32];
        const sl_schema_t *t;
        const char *r, *pu;
        s_consent_of (i, subject, &t, &r, &pu);
        int miss = c % 8 == 7;
        if (miss)
            r = s_recipient ((i / sl_schema_count ()) + 1);
        sl_consent_decision_t d;
        uint64_t t0 = bench_now_ns ();
        int rc = sl_consent_check (reg, txn, subject, t->owner, r, pu, t->record_type, at, &d);
        ns[c] = bench_now_ns () - t0;
        total += ns[c];
        if (rc != 0 || (d.status == SL_CONSENT_STATUS_VALID) == miss)
            wrong++;
    }
    mdb_txn_abort (txn);
    printf ("sluice_city_consent_check consents=%zu checks=%d mean_ns=%.0f p50_ns=%llu p99_ns=%llu "
            "wrong=%zu\n", n, S_CHECKS, (double) total / S_CHECKS,
            (unsigned long long) bench_percentile (ns, S_CHECKS, 50),
            (unsigned long long) bench_percentile (ns, S_CHECKS, 99), wrong);
    fflush (stdout);
    free (ns);
    if (wrong)
        fprintf (stderr, "bench-city: %zu consent checks gave the wrong answer\n", wrong);
    return wrong ? -1 : 0;
}

/*  Writes `n` consents into DIR/data/store with the consent library. */
static int
s_load_consents (size_t n, double *secs)
{
    char path[400];
    snprintf (path, sizeof path, "%s/data/store", s_broker.dir);
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    sl_consent_t *reg = NULL;
    int rc = -1, mrc;
    uint64_t t0 = bench_now_ns ();
    if ((mrc = mdb_env_create (&env)) != 0 || (mrc = mdb_env_set_maxdbs (env, 64)) != 0
        || (mrc = mdb_env_set_mapsize (env, (size_t) 4096 << 20)) != 0
        || (mrc = mdb_env_open (env, path, MDB_NOTLS, 0600)) != 0) {
        fprintf (stderr, "bench-city: open %s: %s\n", path, mdb_strerror (mrc));
        goto out;
    }
    if ((mrc = mdb_txn_begin (env, NULL, 0, &txn)) != 0 || !(reg = sl_consent_new (txn, NULL))
        || (mrc = mdb_txn_commit (txn)) != 0) {
        fprintf (stderr, "bench-city: consent registry: %s\n", mdb_strerror (mrc));
        txn = NULL;
        goto out;
    }
    txn = NULL;
    const char *roles[] = { "admin:city", NULL };
    sl_consent_actor_t actor = { "bench-import", SL_CONSENT_VIA_ADMIN, roles };
    int64_t now = (int64_t) time (NULL);
    for (size_t i = 0; i < n; i++) {
        if (!txn && (mrc = mdb_txn_begin (env, NULL, 0, &txn)) != 0) {
            fprintf (stderr, "bench-city: txn: %s\n", mdb_strerror (mrc));
            goto out;
        }
        char id[32], subject[32];
        const sl_schema_t *type;
        const char *recipient, *purpose;
        s_consent_of (i, subject, &type, &recipient, &purpose);
        snprintf (id, sizeof id, "k-%07zu", i);
        Sluice__V1__ConsentEvent ev = SLUICE__V1__CONSENT_EVENT__INIT;
        char *purposes[1] = { (char *) purpose }, *types[1] = { (char *) type->record_type };
        ev.kind = SLUICE__V1__CONSENT_EVENT__KIND__GIVEN;
        ev.consent_id = id;
        ev.subject = subject;
        ev.controller = (char *) type->owner;
        ev.recipient = (char *) recipient;
        ev.n_purposes = 1;
        ev.purposes = purposes;
        ev.n_record_types = 1;
        ev.record_types = types;
        ev.valid_from = 1767225600;     /* 2026-01-01 */
        ev.valid_to = 1924905600;       /* 2030-12-31 */
        ev.collection_method = "bulk-import";
        ev.evidence = "bench-city";
        sl_consent_result_t res;
        int arc = sl_consent_apply (reg, txn, &ev, &actor, now, &res, NULL);
        if (arc != 0) {
            fprintf (stderr, "bench-city: consent %zu: %s (%s)\n", i, sl_strerror (arc), res.error);
            goto out;
        }
        if ((i + 1) % S_TXN_CONSENTS == 0 || i + 1 == n) {
            mrc = mdb_txn_commit (txn);
            txn = NULL;
            if (mrc != 0) {
                fprintf (stderr, "bench-city: commit: %s\n", mdb_strerror (mrc));
                goto out;
            }
        }
    }
    *secs = (double) (bench_now_ns () - t0) / 1e9;
    rc = s_time_checks (env, reg, n);
out:
    if (txn)
        mdb_txn_abort (txn);
    sl_consent_destroy (&reg);
    if (env)
        mdb_env_close (env);
    return rc;
}

/*  Writes DIR/policy/<owner>.policy files with `rules` permits in all, and
 *  city.policy with the purposes. The four traffic rules are those of
 *  bench/e2e/policy/mixed (consumers s_names[4..7]). */
static int
s_write_policies (int rules, int *per_owner)
{
    char dir[400], path[500];
    snprintf (dir, sizeof dir, "%s/policy", s_broker.dir);
    if (mkdir (dir, 0700) != 0)
        return -1;
    snprintf (path, sizeof path, "%s/city.policy", dir);
    FILE *f = fopen (path, "w");
    if (!f)
        return -1;
    for (int p = 0; p < S_N_PURPOSES; p++)
        fprintf (f, "purpose %s \"bench-city purpose %d\"\n", s_purposes[p], p);
    fclose (f);
    FILE *fo[4];
    for (int o = 0; o < 4; o++) {
        snprintf (path, sizeof path, "%s/%s.policy", dir, bench_types[o].owner);
        if (!(fo[o] = fopen (path, "w")))
            return -1;
        per_owner[o] = 0;
    }
    /* the traffic: transform, transform, consent, untouched */
    fprintf (fo[0], "permit \"t-water\" {\n owner water\n consumer %s\n records water.v1.MeterReading\n"
             " purpose bench\n fields district, date_observed, water_consumption_m3\n"
             " subject pseudonymize\n time coarsen hour\n}\n", s_names[4]);
    fprintf (fo[1], "permit \"t-power\" {\n owner power\n consumer %s\n records power.v1.MeterReading\n"
             " purpose bench\n fields district, date_observed, active_energy_import_kwh\n"
             " subject pseudonymize\n}\n", s_names[5]);
    fprintf (fo[2], "permit \"t-health\" {\n owner health\n consumer %s\n records health.v1.Encounter\n"
             " purpose bench\n fields status, period_start, period_end, service_provider\n"
             " subject keep\n consent required\n}\n", s_names[6]);
    fprintf (fo[3], "permit \"t-parking\" {\n owner parking\n consumer %s\n records parking.v1.Session\n"
             " purpose bench\n fields *\n subject keep\n}\n", s_names[7]);
    int n = 4;
    /* the rest: every (type, consumer, purpose) in turn, skipping the four above */
    size_t n_types = sl_schema_count ();
    for (size_t k = 0; n < rules && k < 100000; k++) {
        const sl_schema_t *t = s_type (k);
        int ci = (int) ((k / n_types) % (size_t) (s_bureaus - 1));
        int pi = (int) ((k / (n_types * (size_t) (s_bureaus - 1))) % S_N_PURPOSES);
        /* consumers: every bureau but the owner */
        const char *cons = NULL;
        for (int b = 0, seen = 0; b < s_bureaus; b++) {
            if (!strcmp (s_names[b], t->owner))
                continue;
            if (seen++ == ci) {
                cons = s_names[b];
                break;
            }
        }
        if (!cons || k / (n_types * (size_t) (s_bureaus - 1)) >= S_N_PURPOSES)
            break;
        if (pi == 0 && ((!strcmp (t->record_type, "water.v1.MeterReading") && cons == s_names[4])
                        || (!strcmp (t->record_type, "power.v1.MeterReading") && cons == s_names[5])
                        || (!strcmp (t->record_type, "health.v1.Encounter") && cons == s_names[6])
                        || (!strcmp (t->record_type, "parking.v1.Session") && cons == s_names[7])))
            continue;
        int o = 0;
        while (o < 4 && strcmp (bench_types[o].owner, t->owner))
            o++;
        if (o == 4)
            continue;
        fprintf (fo[o], "permit \"r%04d\" {\n owner %s\n consumer %s\n records %s\n purpose %s\n"
                 " fields *\n subject %s\n%s}\n", n, t->owner, cons, t->record_type,
                 s_purposes[pi], k % 2 ? "pseudonymize" : "keep",
                 k % 3 == 0 ? " consent required\n" : "");
        n++;
    }
    for (int o = 0; o < 4; o++) {
        fclose (fo[o]);
    }
    for (int o = 0; o < 4; o++) {
        snprintf (path, sizeof path, "%s/%s.policy", dir, bench_types[o].owner);
        f = fopen (path, "r");
        char line[256];
        while (f && fgets (line, sizeof line, f))
            per_owner[o] += !strncmp (line, "permit ", 7);
        if (f)
            fclose (f);
    }
    return n == rules ? 0 : -1;
}

/*  sluicectl --data DIR --key KEY policy apply FILE [--owner city] */
static int
s_apply (const char *sluicectl, const char *key_name, const char *file, int city)
{
    char data[400], key[400], path[500];
    snprintf (data, sizeof data, "%s/data", s_broker.dir);
    if (city)
        snprintf (key, sizeof key, "%s/data/admin.key", s_broker.dir);
    else
        snprintf (key, sizeof key, "%s/keys/%s.key", s_broker.dir, key_name);
    snprintf (path, sizeof path, "%s/policy/%s", s_broker.dir, file);
    pid_t pid = fork ();
    if (pid == 0) {
        int fd = open ("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2 (fd, 1);
            close (fd);
        }
        if (city)
            execl (sluicectl, "sluicectl", "--data", data, "--key", key, "policy", "apply", path,
                   "--owner", "city", (char *) NULL);
        else
            execl (sluicectl, "sluicectl", "--data", data, "--key", key, "policy", "apply", path,
                   (char *) NULL);
        _exit (127);
    }
    int st = 0;
    if (pid < 0 || waitpid (pid, &st, 0) != pid || !WIFEXITED (st) || WEXITSTATUS (st) != 0) {
        fprintf (stderr, "bench-city: sluicectl policy apply %s failed\n", path);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- traffic */

typedef struct {
    sl_client_t *client;
    int idx;
    const bench_type_t *type;
    bench_bodies_t bodies;
    unsigned char *allowed;        /* per body: 1 = will be delivered */
    double rate;
    uint64_t published, expected;  /* this phase; expected = deliveries due */
    int failed;
} s_pub_t;

static volatile int s_pub_stop, s_con_stop, s_measuring;
static s_pub_t s_pubs[4];
static bench_consumer_t s_cons[4];

static void *
s_publisher (void *arg)
{
    s_pub_t *p = arg;
    p->published = p->expected = 0;
    uint64_t start = bench_now_ns ();
    while (!s_pub_stop && !p->failed) {
        uint64_t due = p->rate <= 0 ? UINT64_MAX
                       : (uint64_t) ((double) (bench_now_ns () - start) * p->rate / 1e9);
        while (!s_pub_stop && p->published < due
               && (p->rate > 0 || sl_client_unacked (p->client) < 4096)) {
            uint8_t id[SL_MESSAGE_ID_LEN] = { 0 };
            size_t k = p->published % p->bodies.n;
            uint64_t t = bench_now_ns ();
            memcpy (id, &t, 8);
            uint32_t seq = (uint32_t) p->published, who = (uint32_t) p->idx;
            memcpy (id + 8, &who, 4);
            memcpy (id + 12, &seq, 4);
            sl_publish_meta_t meta = { .message_id = id, .subject = p->bodies.subjects[k] };
            if (sl_client_publish_async (p->client, p->type->record_type, &meta, p->bodies.body[k],
                                         p->bodies.size[k], NULL, NULL, NULL) != 0) {
                fprintf (stderr, "bench-city: publish: %s\n", sl_client_last_error (p->client));
                p->failed = 1;
                break;
            }
            p->published++;
            p->expected += p->allowed[k];
        }
        int ms = 1;
        if (p->rate > 0) {
            uint64_t next = start + (uint64_t) ((double) (p->published + 1) * 1e9 / p->rate);
            uint64_t now = bench_now_ns ();
            ms = next > now ? (int) ((next - now) / 1000000) : 0;
            if (ms < 1)
                ms = 1;
        }
        sl_client_poll (p->client, ms);
    }
    return NULL;
}

static uint64_t
s_consumed (void)
{
    uint64_t n = 0;
    for (int j = 0; j < 4; j++)
        n += __atomic_load_n (&s_cons[j].consumed, __ATOMIC_ACQUIRE);
    return n;
}

/*  Flushes the publishers and waits until every record due is consumed;
 *  then checks that no more arrive (a denied record delivered would show). */
static int
s_drain (uint64_t want, double *secs)
{
    uint64_t t0 = bench_now_ns ();
    for (int i = 0; i < 4; i++)
        if (sl_client_flush (s_pubs[i].client, 30000) != 0) {
            fprintf (stderr, "bench-city: flush: %s\n", sl_client_last_error (s_pubs[i].client));
            return -1;
        }
    while (s_consumed () < want) {
        if (bench_now_ns () - t0 > 60000000000ull) {
            fprintf (stderr, "bench-city: drain: %llu of %llu records consumed after 60 s\n",
                     (unsigned long long) s_consumed (), (unsigned long long) want);
            return -1;
        }
        usleep (1000);
    }
    if (secs)
        *secs = (double) (bench_now_ns () - t0) / 1e9;
    usleep (100000);
    if (s_consumed () != want) {
        fprintf (stderr, "bench-city: %llu records consumed, %llu expected: a record without "
                 "consent was delivered\n", (unsigned long long) s_consumed (),
                 (unsigned long long) want);
        return -1;
    }
    return 0;
}

static uint64_t s_expected_total;

/*  One phase at `rate` records/s in all (0 = saturation): warmup 0.7 s,
 *  then `seconds` measured. */
static int
s_phase (double rate, double seconds, const char *perf, double *consumed_rps, double *pub_rps)
{
    pthread_t th[4];
    for (int j = 0; j < 4; j++)
        s_cons[j].n_samples = 0;
    s_pub_stop = 0;
    for (int i = 0; i < 4; i++) {
        s_pubs[i].rate = rate / 4;
        pthread_create (&th[i], NULL, s_publisher, &s_pubs[i]);
    }
    usleep (700000);
    pid_t pp = 0;
    if (perf) {
        char pid[32], secs[32];
        snprintf (pid, sizeof pid, "%d", (int) s_broker.pid);
        snprintf (secs, sizeof secs, "%.1f", seconds);
        if ((pp = fork ()) == 0) {
            int fd = open ("/dev/null", O_WRONLY);
            if (fd >= 0) {
                dup2 (fd, 1);
                dup2 (fd, 2);
            }
            execlp ("perf", "perf", "record", "-q", "-g", "-F", "1999", "-p", pid, "-o", perf,
                    "--", "sleep", secs, (char *) NULL);
            _exit (127);
        }
    }
    uint64_t c0 = s_consumed (), t0 = bench_now_ns ();
    __atomic_store_n (&s_measuring, 1, __ATOMIC_RELEASE);
    usleep ((useconds_t) (seconds * 1e6));
    __atomic_store_n (&s_measuring, 0, __ATOMIC_RELEASE);
    uint64_t c1 = s_consumed (), t1 = bench_now_ns ();
    s_pub_stop = 1;
    uint64_t published = 0;
    int failed = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join (th[i], NULL);
        published += s_pubs[i].published;
        s_expected_total += s_pubs[i].expected;
        failed |= s_pubs[i].failed;
    }
    if (pp > 0)
        waitpid (pp, NULL, 0);
    *consumed_rps = (double) (c1 - c0) * 1e9 / (double) (t1 - t0);
    *pub_rps = (double) published * 1e9 / ((double) (t1 - t0) + 0.7e9);
    usleep (20000);
    return failed ? -1 : 0;
}

static void
s_latency (int pct, double offered, double got)
{
    size_t n = 0;
    for (int j = 0; j < 4; j++)
        n += s_cons[j].n_samples;
    uint64_t *all = malloc ((n ? n : 1) * sizeof *all);
    if (!all)
        return;
    size_t k = 0;
    for (int j = 0; j < 4; j++) {
        memcpy (all + k, s_cons[j].samples, s_cons[j].n_samples * sizeof *all);
        k += s_cons[j].n_samples;
    }
    printf ("sluice_city_latency load_pct=%d offered_rps=%.0f achieved_rps=%.0f samples=%zu "
            "p50_us=%.0f p99_us=%.0f p999_us=%.0f\n", pct, offered, got, n,
            (double) bench_percentile (all, n, 50) / 1e3, (double) bench_percentile (all, n, 99) / 1e3,
            (double) bench_percentile (all, n, 99.9) / 1e3);
    fflush (stdout);
    free (all);
}

/*  Health bodies: 7 of 8 subjects hold a consent for (health,
 *  health.v1.Encounter, consumer s_names[6], bench) among the loaded ones;
 *  of the 8th, half are unknown subjects and half hold consents for other
 *  recipients or purposes only: both are denied. */
static int
s_health_bodies (s_pub_t *p, size_t consents)
{
    bench_bodies_t *b = &p->bodies;
    memset (b, 0, sizeof *b);
    b->n = S_HEALTH_BODIES;
    b->body = calloc (b->n, sizeof *b->body);
    b->size = calloc (b->n, sizeof *b->size);
    b->subjects = calloc (b->n, sizeof *b->subjects);
    p->allowed = calloc (b->n, 1);
    size_t *pool = malloc (consents * sizeof *pool), n_pool = 0, *other = malloc (4096 * sizeof *other), n_other = 0;
    if (!b->body || !b->size || !b->subjects || !p->allowed || !pool || !other)
        return -1;
    for (size_t i = 0; i < consents; i++) {
        char subject[32];
        const sl_schema_t *t;
        const char *r, *pu;
        s_consent_of (i, subject, &t, &r, &pu);
        if (!strcmp (t->record_type, "health.v1.Encounter") && r == s_names[6] && !strcmp (pu, "bench"))
            pool[n_pool++] = i;
        else if (n_other < 4096 && i % 97 == 0 && !strcmp (t->record_type, "health.v1.Encounter")
                 && r != s_names[6])
            other[n_other++] = i;
    }
    if (n_pool == 0 || n_other == 0) {
        fprintf (stderr, "bench-city: no consents for the health traffic (%zu loaded)\n", consents);
        return -1;
    }
    printf ("sluice_city_health_subjects with_consent_pool=%zu bodies=%d\n", n_pool, S_HEALTH_BODIES);
    uint64_t rnd = 0x9e3779b97f4a7c15ull;
    for (size_t k = 0; k < b->n; k++) {
        rnd ^= rnd << 13; rnd ^= rnd >> 7; rnd ^= rnd << 17;
        char subject[32];
        int allowed = k % 8 != 7;
        if (allowed)
            snprintf (subject, sizeof subject, "P%07zu", pool[rnd % n_pool]);
        else if (k % 16 == 7)
            snprintf (subject, sizeof subject, "N%07zu", k);          /* no consent at all */
        else
            snprintf (subject, sizeof subject, "P%07zu", other[rnd % n_other]);
        char id[48], text[900];
        uint8_t buf[1024];
        size_t got = 0;
        for (size_t pad = 0; pad < 800; pad++) {
            memset (text, 'x', pad);
            text[pad] = 0;
            snprintf (id, sizeof id, "E-%06zu:1781519862", k);
            Health__V1__Encounter m = HEALTH__V1__ENCOUNTER__INIT;
            m.id = id; m.subject = subject; m.status = "finished"; m.class_code = "AMB";
            m.period_start = 1781519862 + (int64_t) k * 60; m.period_end = m.period_start + 3600;
            m.service_provider = "CITY-HOSPITAL"; m.discharge_disposition = "home";
            m.trigger_event = "A03"; m.location = text;
            got = health__v1__encounter__pack (&m, buf);
            if (got >= BENCH_RECORD_SIZE)
                break;
        }
        if (got != BENCH_RECORD_SIZE)
            return -1;
        b->body[k] = malloc (got);
        b->subjects[k] = strdup (subject);
        if (!b->body[k] || !b->subjects[k])
            return -1;
        memcpy (b->body[k], buf, got);
        b->size[k] = got;
        p->allowed[k] = (unsigned char) allowed;
    }
    free (pool);
    free (other);
    return 0;
}

static int
s_connect (const char *name, unsigned credit, sl_client_t **c)
{
    sl_client_options_t t = { .credit = credit, .connect_timeout_ms = 10000, .ack_timeout_ms = 30000 };
    return bench_broker_connect (&s_broker, "bench-city", name, &t, c);
}

/*  Starts the broker (after SIGTERM if `stop_first`) and times it: endpoints
 *  written, first admin-plane answer (`status`), and, once `probe` is a
 *  registered member, its data-plane HELLO answered. */
static int
s_start_timed (const char *label, int stop_first, const char *probe)
{
    if (stop_first)
        bench_broker_stop (&s_broker, SIGTERM);
    uint64_t t0 = bench_now_ns (), ready = 0;
    if (bench_broker_start (&s_broker, &ready) != 0)
        return -1;
    if (bench_broker_admin (&s_broker, "status", NULL, NULL) != 0)
        return -1;
    uint64_t admin = bench_now_ns () - t0, hello = 0;
    if (probe) {
        sl_client_t *c = NULL;
        if (s_connect (probe, 0, &c) != 0)
            return -1;
        hello = bench_now_ns () - t0;
        sl_client_destroy (&c, 0);
    }
    printf ("sluice_city_start state=%s ready_ms=%.1f admin_ms=%.1f hello_ms=%.1f "
            "rss_anon_kib=%ld\n", label, (double) ready / 1e6, (double) admin / 1e6,
            probe ? (double) hello / 1e6 : 0.0, bench_broker_rss_anon_kib (&s_broker));
    fflush (stdout);
    return 0;
}

int
main (int argc, char **argv)
{
    const char *sluiced = NULL, *sluicectl = NULL, *perf = NULL;
    char lerr[600];
    if (sl_schema_load_file (EXAMPLES_BINPB, lerr, sizeof lerr) < 0) {   /* the example types */
        fprintf (stderr, "bench-city: %s\n", lerr);
        return 1;
    }
    int rules = 1000;
    long consents = 1000000;
    double seconds = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp (a, "--help") || !strcmp (a, "-h") || !v) {
            printf ("usage: bench-city --sluiced PATH --sluicectl PATH [--bureaus N (32)]\n"
                    "                  [--rules N (1000)] [--consents N (1000000)]\n"
                    "                  [--seconds S (3)] [--perf FILE]\n");
            return !strcmp (a, "--help") || !strcmp (a, "-h") ? 0 : 2;
        }
        i++;
        if (!strcmp (a, "--sluiced")) sluiced = v;
        else if (!strcmp (a, "--sluicectl")) sluicectl = v;
        else if (!strcmp (a, "--perf")) perf = v;
        else if (!strcmp (a, "--bureaus")) s_bureaus = atoi (v);
        else if (!strcmp (a, "--rules")) rules = atoi (v);
        else if (!strcmp (a, "--consents")) consents = atol (v);
        else if (!strcmp (a, "--seconds")) seconds = atof (v);
        else {
            fprintf (stderr, "bench-city: unknown option %s\n", a);
            return 2;
        }
    }
    if (!sluiced || !sluicectl || s_bureaus < 8 || s_bureaus > S_MAX_BUREAUS || rules < 4
        || consents < 1000 || seconds <= 0) {
        fprintf (stderr, "bench-city: needs --sluiced, --sluicectl, 8 <= bureaus <= %d, "
                 "rules >= 4, consents >= 1000\n", S_MAX_BUREAUS);
        return 2;
    }
    signal (SIGPIPE, SIG_IGN);
    for (int b = 0; b < s_bureaus; b++) {
        if (b < 4)
            snprintf (s_names[b], sizeof s_names[b], "%s", bench_types[b].owner);
        else
            snprintf (s_names[b], sizeof s_names[b], "bureau%02d", b);
    }
    int rc = 1;
    char name[64], role[64];
    if (bench_broker_init (&s_broker, sluiced) != 0)
        goto out;
    bench_broker_arg (&s_broker, "--map-size-mb");
    bench_broker_arg (&s_broker, "4096");

    /* 1. empty store: the baseline start-up */
    if (s_start_timed ("empty", 0, NULL) != 0)
        goto out;
    bench_broker_stop (&s_broker, SIGTERM);

    /* 2. the consents, offline with the consent library */
    double load_s = 0;
    if (s_load_consents ((size_t) consents, &load_s) != 0)
        goto out;
    struct stat st;
    char path[400];
    snprintf (path, sizeof path, "%s/data/store/data.mdb", s_broker.dir);
    long long store_kib = stat (path, &st) == 0 ? (long long) st.st_blocks / 2 : -1;
    printf ("sluice_city_consents loaded=%ld seconds=%.1f rps=%.0f store_kib=%lld\n", consents,
            load_s, (double) consents / load_s, store_kib);
    fflush (stdout);

    /* 3. start on the consents; bureaus, administrators, policies */
    if (s_start_timed ("consents", 0, NULL) != 0)
        goto out;
    uint64_t t_setup = bench_now_ns ();
    for (int b = 0; b < s_bureaus; b++) {
        snprintf (name, sizeof name, "adm-%.27s", s_names[b]);
        snprintf (role, sizeof role, "admin:%.27s", s_names[b]);
        if (bench_broker_add_member (&s_broker, s_names[b], "member") != 0
            || bench_broker_add_member (&s_broker, name, role) != 0)
            goto out;
    }
    if (bench_broker_add_member (&s_broker, "admin-probe", "member") != 0)
        goto out;
    double members_s = (double) (bench_now_ns () - t_setup) / 1e9;
    int per_owner[4];
    if (s_write_policies (rules, per_owner) != 0) {
        fprintf (stderr, "bench-city: could not write %d rules\n", rules);
        goto out;
    }
    uint64_t t_pol = bench_now_ns ();
    if (s_apply (sluicectl, NULL, "city.policy", 1) != 0)
        goto out;
    double apply_max = 0;
    for (int o = 0; o < 4; o++) {
        char file[64];
        uint64_t t = bench_now_ns ();
        snprintf (name, sizeof name, "adm-%s", bench_types[o].owner);
        snprintf (file, sizeof file, "%s.policy", bench_types[o].owner);
        if (s_apply (sluicectl, name, file, 0) != 0)
            goto out;
        double d = (double) (bench_now_ns () - t) / 1e6;
        apply_max = d > apply_max ? d : apply_max;
    }
    printf ("sluice_city_setup bureaus=%d members=%d members_s=%.2f rules=%d water=%d power=%d "
            "health=%d parking=%d applies=5 apply_s=%.2f apply_max_ms=%.0f\n", s_bureaus,
            2 * s_bureaus + 1, members_s, rules, per_owner[0], per_owner[1], per_owner[2],
            per_owner[3], (double) (bench_now_ns () - t_pol) / 1e9, apply_max);
    fflush (stdout);

    /* 4. restart on the full data set */
    if (s_start_timed ("full", 1, "admin-probe") != 0)
        goto out;

    /* 5. traffic */
    pthread_t con_th[4];
    for (int j = 0; j < 4; j++) {
        bench_consumer_t *c = &s_cons[j];
        snprintf (c->name, sizeof c->name, "bench-city: consumer");
        c->stop = &s_con_stop;
        c->measuring = &s_measuring;
        c->cap = 4000000;
        if (!(c->samples = malloc (c->cap * sizeof *c->samples))
            || s_connect (s_names[4 + j], 0, &c->client) != 0)
            goto out;
        if (sl_client_subscribe (c->client, bench_types[j].record_type, "bench") != 0) {
            fprintf (stderr, "bench-city: %s subscribe: %s\n", s_names[4 + j],
                     sl_client_last_error (c->client));
            goto out;
        }
    }
    for (int i = 0; i < 4; i++) {
        s_pub_t *p = &s_pubs[i];
        p->idx = i;
        p->type = &bench_types[i];
        if (i == 2) {
            if (s_health_bodies (p, (size_t) consents) != 0)
                goto out;
        }
        else {
            if (bench_bodies_make (&p->bodies, p->type, i, 1024, BENCH_RECORD_SIZE) != 0
                || !(p->allowed = malloc (p->bodies.n)))
                goto out;
            memset (p->allowed, 1, p->bodies.n);
        }
        if (s_connect (p->type->owner, 0, &p->client) != 0)
            goto out;
    }
    for (int j = 0; j < 4; j++)
        pthread_create (&con_th[j], NULL, bench_consumer_run, &s_cons[j]);
    double during = 0, pub_rps = 0, drain = 0;
    uint64_t before = s_consumed (), t_sat = bench_now_ns ();
    int trc = s_phase (0, seconds, perf, &during, &pub_rps);
    if (trc == 0)
        trc = s_drain (s_expected_total, &drain);
    if (trc == 0) {
        double total = (double) (bench_now_ns () - t_sat) / 1e9;
        uint64_t moved = s_consumed () - before;
        double sat = (double) moved / total;
        uint64_t pubd = 0;
        for (int i = 0; i < 4; i++)
            pubd += s_pubs[i].published;
        printf ("sluice_city_e2e saturation_rps=%.0f delivered=%llu published=%llu denied=%llu "
                "total_s=%.2f publish_rps=%.0f consumed_while_publishing_rps=%.0f\n", sat,
                (unsigned long long) moved, (unsigned long long) pubd,
                (unsigned long long) (pubd - moved), total, pub_rps, during);
        fflush (stdout);
        static const int loads[] = { 10, 50 };
        for (size_t l = 0; trc == 0 && l < 2; l++) {
            double off = sat * loads[l] / 100, got = 0, pr = 0;
            trc = s_phase (off, seconds, NULL, &got, &pr);
            if (trc == 0)
                trc = s_drain (s_expected_total, NULL);
            if (trc == 0)
                s_latency (loads[l], off, got);
        }
    }
    s_con_stop = 1;
    for (int j = 0; j < 4; j++)
        pthread_join (con_th[j], NULL);
    printf ("sluice_city_rss rss_anon_after_traffic_kib=%ld\n", bench_broker_rss_anon_kib (&s_broker));
    fflush (stdout);
    rc = trc != 0;
out:
    for (int i = 0; i < 4; i++) {
        sl_client_destroy (&s_pubs[i].client, 0);
        bench_bodies_free (&s_pubs[i].bodies);
        free (s_pubs[i].allowed);
    }
    for (int j = 0; j < 4; j++) {
        sl_client_destroy (&s_cons[j].client, 0);
        free (s_cons[j].samples);
    }
    bench_broker_destroy (&s_broker);
    return rc;
}

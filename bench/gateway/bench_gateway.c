/*  bench-gateway: records/s and latency through sluice-gateway, as a ratio
 *  of direct libsluice in the same run (docs/GATEWAY.md §9).
 *
 *  One private sluiced (loopback, temporary directory), member `water`.
 *  Phases, each --seconds long, all publishing water.v1.MeterReading:
 *    direct     libsluice publish_async + flush in windows of 1,000 records
 *    ndjson     POST /v1/records with NDJSON batches of 1,000 (keep-alive)
 *    single     one record per POST, one after the other (keep-alive)
 *    single16   the same from 16 local clients at once (16 connections)
 *    latency    at 10% of the single-POST rate: p50/p99 of one POST (201
 *               after the broker's ACK) against one sl_client_publish
 *               (returns after the ACK), interleaved at the same pace
 *  Prints one line `bench_gateway key=value ...` for bench/run.sh.
 *
 *  usage: bench-gateway --sluiced PATH --gateway PATH [--seconds S]
 */
#include <getopt.h>
#include <pthread.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench_broker.h"
#include "sl_mono.h"
#include "sluice.h"
#include "water/v1/water.pb-c.h"

static void
s_sleep_until (uint64_t t)
{
    uint64_t now = sl_mono_ns ();
    if (t > now) {
        struct timespec ts = { (time_t) ((t - now) / 1000000000ull),
                               (long) ((t - now) % 1000000000ull) };
        nanosleep (&ts, NULL);
    }
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

static uint64_t
s_pct (uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort (v, n, sizeof *v, s_cmp_u64);
    size_t i = (size_t) (p * (double) (n - 1));
    return v[i];
}

/*  The same record in both forms: packed, and its JSON line. */
static size_t
s_packed (uint64_t n, uint8_t *buf)
{
    Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
    char id[64], dev[32];
    snprintf (dev, sizeof dev, "WM-%06" PRIu64, n % 1000000);
    snprintf (id, sizeof id, "%s:%" PRIu64, dev, 1795861842 + n);
    r.id = id;
    r.ref_device = dev;
    r.subject = "CIT-100201";
    r.district = "Xihu";
    r.date_observed = (int64_t) (1795861842 + n % 86400);
    r.water_consumption_m3 = 440.25 + (double) (n % 100);
    return water__v1__meter_reading__pack (&r, buf);
}

static int
s_json (uint64_t n, char *buf, size_t size)
{
    time_t t = (time_t) (1795861842 + n % 86400);
    struct tm tm;
    gmtime_r (&t, &tm);
    return snprintf (buf, size, "{\"id\":\"WM-%06" PRIu64 ":%" PRIu64 "\",\"refDevice\":\"WM-%06"
                     PRIu64 "\",\"subject\":\"CIT-100201\",\"district\":\"Xihu\","
                     "\"dateObserved\":\"%04d-%02d-%02dT%02d:%02d:%02dZ\","
                     "\"waterConsumptionM3\":%.2f}\n", n % 1000000, 1795861842 + n,
                     n % 1000000, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, 440.25 + (double) (n % 100));
}

static size_t
s_sink (char *p, size_t size, size_t n, void *arg)
{
    (void) p, (void) arg;
    return size * n;
}

typedef struct {
    CURL *c;
    struct curl_slist *h_json, *h_ndjson;
    char url[256];
} s_http_t;

/*  A curl handle that POSTs water.v1.MeterReading records to the gateway
    on `port` with the bench app's token (JSON; NDJSON too when `ndjson`). */
static void
s_http_open (s_http_t *h, unsigned port, int ndjson)
{
    h->c = curl_easy_init ();
    snprintf (h->url, sizeof h->url, "http://127.0.0.1:%u/v1/records/water.v1.MeterReading", port);
    h->h_json = curl_slist_append (NULL, "Content-Type: application/json");
    h->h_json = curl_slist_append (h->h_json, "Authorization: Bearer bench-token-0123456789");
    if (ndjson) {
        h->h_ndjson = curl_slist_append (NULL, "Content-Type: application/x-ndjson");
        h->h_ndjson = curl_slist_append (h->h_ndjson, "Authorization: Bearer bench-token-0123456789");
    }
    curl_easy_setopt (h->c, CURLOPT_URL, h->url);
    curl_easy_setopt (h->c, CURLOPT_WRITEFUNCTION, s_sink);
    curl_easy_setopt (h->c, CURLOPT_NOSIGNAL, 1L);
}

static long
s_post (s_http_t *h, const char *body, size_t len, int ndjson)
{
    curl_easy_setopt (h->c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt (h->c, CURLOPT_POSTFIELDSIZE, (long) len);
    curl_easy_setopt (h->c, CURLOPT_HTTPHEADER, ndjson ? h->h_ndjson : h->h_json);
    if (curl_easy_perform (h->c) != CURLE_OK)
        return 0;
    long status = 0;
    curl_easy_getinfo (h->c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

#define S_CONC 16

typedef struct {
    unsigned port;
    uint64_t end, base, done;
    int failed;
} s_conc_t;

static void *
s_conc_main (void *arg)
{
    s_conc_t *cc = arg;
    s_http_t h = { 0 };
    s_http_open (&h, cc->port, 0);
    char line[512];
    while (sl_mono_ns () < cc->end) {
        int len = s_json (cc->base + cc->done, line, sizeof line);
        if (s_post (&h, line, (size_t) len, 0) != 201) {
            cc->failed = 1;
            break;
        }
        cc->done++;
    }
    curl_easy_cleanup (h.c);
    curl_slist_free_all (h.h_json);
    return NULL;
}

int
main (int argc, char **argv)
{
    const char *sluiced = NULL, *gateway = NULL;
    double seconds = 3;
    static const struct option lo[] = {
        { "sluiced", required_argument, NULL, 's' }, { "gateway", required_argument, NULL, 'g' },
        { "seconds", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 } };
    int c;
    while ((c = getopt_long (argc, argv, "", lo, NULL)) != -1) {
        if (c == 's')
            sluiced = optarg;
        else if (c == 'g')
            gateway = optarg;
        else if (c == 't')
            seconds = atof (optarg);
        else {
            fprintf (c == 'h' ? stdout : stderr,
                     "usage: bench-gateway --sluiced PATH --gateway PATH [--seconds S]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (!sluiced || !gateway || seconds <= 0) {
        fprintf (stderr, "usage: bench-gateway --sluiced PATH --gateway PATH [--seconds S]\n");
        return 2;
    }
    bench_broker_t b;
    pid_t gw = -1;
    int status = 1;
    sl_client_t *cl = NULL;
    s_http_t h = { 0 };
    if (bench_broker_init (&b, sluiced) != 0 || bench_broker_start (&b, NULL) != 0
        || bench_broker_add_member (&b, "water", "member") != 0)
        return 1;
    sl_client_options_t o;
    char obuf[1024], err[512];
    bench_broker_options (&b, "water", &o, obuf, sizeof obuf);
    o.connect_timeout_ms = 10000;
    if (sl_client_connect (&o, &cl, err, sizeof err) != 0) {
        fprintf (stderr, "bench-gateway: %s\n", err);
        goto out;
    }
    uint8_t body[512];
    uint64_t n = 0;

    /* direct */
    uint64_t t0 = sl_mono_ns (), end = t0 + (uint64_t) (seconds * 1e9), direct = 0;
    while (sl_mono_ns () < end) {
        for (int i = 0; i < 1000; i++, n++) {
            size_t len = s_packed (n, body);
            sl_publish_meta_t meta = { NULL, "CIT-100201", 0 };
            sl_client_publish_async (cl, "water.v1.MeterReading", &meta, body, len, NULL, NULL, NULL);
        }
        if (sl_client_flush (cl, 30000) != 0) {
            fprintf (stderr, "bench-gateway: direct flush: %s\n", sl_client_last_error (cl));
            goto out;
        }
        direct += 1000;
    }
    double direct_rps = (double) direct / ((double) (sl_mono_ns () - t0) / 1e9);

    /* the gateway */
    char ini[400], pf[400];
    snprintf (ini, sizeof ini, "%s/gateway.ini", b.dir);
    snprintf (pf, sizeof pf, "%s/gateway.port", b.dir);
    FILE *f = fopen (ini, "w");
    if (!f)
        goto out;
    fprintf (f, "[gateway]\nlisten = 127.0.0.1:0\nendpoint = %s\nadmin_endpoint = %s\n"
             "broker_key = %s\nkey = %s\nmax_body = 16777216\n"
             "[app bench]\ntoken = bench-token-0123456789\n",
             o.endpoint, b.admin_ep, o.broker_key_file, o.key_file);
    fclose (f);
    gw = fork ();
    if (gw == 0) {
        setenv ("SLUICE_LOG", "warn", 1);
        execl (gateway, gateway, "--config", ini, "--port-file", pf, (char *) NULL);
        _exit (127);
    }
    struct stat st;
    for (int i = 0; i < 300 && stat (pf, &st) != 0; i++)
        usleep (20000);
    f = fopen (pf, "r");
    unsigned port = 0;
    if (!f || fscanf (f, "%u", &port) != 1) {
        fprintf (stderr, "bench-gateway: the gateway did not start\n");
        if (f)
            fclose (f);
        goto out;
    }
    fclose (f);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    s_http_open (&h, port, 1);
    /* wait until the gateway is connected: the first POST answers 201 */
    char line[512];
    long code = 0;
    for (int i = 0; i < 200 && code != 201; i++) {
        int len = s_json (n++, line, sizeof line);
        code = s_post (&h, line, (size_t) len, 0);
        if (code != 201)
            usleep (50000);
    }
    if (code != 201) {
        fprintf (stderr, "bench-gateway: the gateway answers %ld\n", code);
        goto out;
    }

    /* ndjson batches of 1,000 */
    size_t cap = 1000 * 512;
    char *batch = malloc (cap);
    t0 = sl_mono_ns ();
    end = t0 + (uint64_t) (seconds * 1e9);
    uint64_t nd = 0;
    while (batch && sl_mono_ns () < end) {
        size_t len = 0;
        for (int i = 0; i < 1000; i++)
            len += (size_t) s_json (n++, batch + len, cap - len);
        if ((code = s_post (&h, batch, len, 1)) != 201) {
            fprintf (stderr, "bench-gateway: NDJSON batch answered %ld\n", code);
            free (batch);
            goto out;
        }
        nd += 1000;
    }
    free (batch);
    double nd_rps = (double) nd / ((double) (sl_mono_ns () - t0) / 1e9);

    /* single POSTs */
    t0 = sl_mono_ns ();
    end = t0 + (uint64_t) (seconds * 1e9);
    uint64_t single = 0;
    while (sl_mono_ns () < end) {
        int len = s_json (n++, line, sizeof line);
        if ((code = s_post (&h, line, (size_t) len, 0)) != 201) {
            fprintf (stderr, "bench-gateway: POST answered %ld\n", code);
            goto out;
        }
        single++;
    }
    double single_rps = (double) single / ((double) (sl_mono_ns () - t0) / 1e9);

    /* single POSTs from S_CONC local clients at once (one connection each) */
    s_conc_t conc[S_CONC];
    pthread_t th[S_CONC];
    uint64_t cstart = sl_mono_ns ();
    for (int i = 0; i < S_CONC; i++) {
        conc[i] = (s_conc_t) { .port = port, .end = cstart + (uint64_t) (seconds * 1e9),
                               .base = n + (uint64_t) i * 100000000ull };
        pthread_create (&th[i], NULL, s_conc_main, &conc[i]);
    }
    uint64_t conc_total = 0;
    int conc_failed = 0;
    for (int i = 0; i < S_CONC; i++) {
        pthread_join (th[i], NULL);
        conc_total += conc[i].done;
        conc_failed |= conc[i].failed;
    }
    n += (uint64_t) S_CONC * 100000000ull;
    if (conc_failed) {
        fprintf (stderr, "bench-gateway: a concurrent POST failed\n");
        goto out;
    }
    double conc_rps = (double) conc_total / ((double) (sl_mono_ns () - cstart) / 1e9);

    /* latency at 10% of the single-POST rate, direct then gateway */
    double rate = single_rps / 10;
    if (rate < 10)
        rate = 10;
    uint64_t gap = (uint64_t) (1e9 / rate);
    size_t samples = (size_t) (rate * seconds);
    if (samples < 50)
        samples = 50;
    if (samples > 5000)
        samples = 5000;
    uint64_t *lat_d = calloc (samples, sizeof *lat_d), *lat_g = calloc (samples, sizeof *lat_g);
    if (!lat_d || !lat_g)
        goto out;
    /* interleaved, so both see the same load on the machine */
    uint64_t next = sl_mono_ns ();
    for (size_t i = 0; i < samples; i++, next += gap) {
        s_sleep_until (next);
        size_t len = s_packed (n++, body);
        sl_publish_meta_t meta = { NULL, "CIT-100201", 0 };
        uint64_t a = sl_mono_ns ();
        if (sl_client_publish (cl, "water.v1.MeterReading", &meta, body, len, 30000) != 0)
            goto out;
        lat_d[i] = sl_mono_ns () - a;
        int jlen = s_json (n++, line, sizeof line);
        a = sl_mono_ns ();
        if (s_post (&h, line, (size_t) jlen, 0) != 201)
            goto out;
        lat_g[i] = sl_mono_ns () - a;
    }
    uint64_t d50 = s_pct (lat_d, samples, 0.5), d99 = s_pct (lat_d, samples, 0.99);
    uint64_t g50 = s_pct (lat_g, samples, 0.5), g99 = s_pct (lat_g, samples, 0.99);
    free (lat_d);
    free (lat_g);
    printf ("bench_gateway direct_rps=%.0f ndjson_rps=%.0f single_rps=%.0f ndjson_ratio=%.2f "
            "single_ratio=%.2f single%d_rps=%.0f single%d_ratio=%.2f rate=%.0f p50_direct_us=%.0f p99_direct_us=%.0f "
            "p50_gateway_us=%.0f p99_gateway_us=%.0f added_p50_us=%.0f samples=%zu\n",
            direct_rps, nd_rps, single_rps, nd_rps / direct_rps, single_rps / direct_rps,
            S_CONC, conc_rps, S_CONC, conc_rps / direct_rps, rate,
            (double) d50 / 1e3, (double) d99 / 1e3, (double) g50 / 1e3, (double) g99 / 1e3,
            ((double) g50 - (double) d50) / 1e3, samples);
    status = 0;
out:
    if (h.c) {
        curl_easy_cleanup (h.c);
        curl_slist_free_all (h.h_json);
        curl_slist_free_all (h.h_ndjson);
        curl_global_cleanup ();
    }
    if (gw > 0) {
        kill (gw, SIGTERM);
        waitpid (gw, NULL, 0);
    }
    sl_client_destroy (&cl, 1000);
    bench_broker_destroy (&b);
    return status;
}

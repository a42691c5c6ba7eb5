/*  Killing an adapter mid-import: sluice-water-adapter reads a large export
 *  with --spool and is killed with SIGKILL at random moments, then run again
 *  on the same input with the same spool until it completes. Every input
 *  record must reach the broker exactly once after de-duplication by
 *  message_id: one stored message id per input line (a re-read line must
 *  not become a second record), every line delivered to the consumer.
 *
 *  $SLUICE_ADAPTER_KILLS sets the number of kills (default 5).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rel_check.h"
#include "water/v1/water.pb-c.h"

#define LINES 12000
#define BASE_S 1764316800       /* 2026-11-28 08:00:00 UTC */

static tb_t tb;
static uint8_t first_id[LINES][16];
static uint32_t delivered[LINES];
static uint64_t stored_ids;

static void
s_count (void *arg, const uint8_t id[16])
{
    (void) arg;
    (void) id;
    stored_ids++;
}

static char data[300];     /* the broker's data directory */

static pid_t
s_adapter (const char *key, const char *meters, const char *input, const char *spool,
           const char *log)
{
    char q[300];
    snprintf (q, sizeof q, "%s/water-q.jsonl", tb.dir);
    const char *argv[] = { tb_program ("SLUICE_WATER_ADAPTER"), "--data", data, "--key", key,
                           "--quarantine", q, "--meters", meters, "--spool", spool, input, NULL };
    pid_t pid = tl_spawn (argv, log);
    cr_assert_neq (pid, -1);
    return pid;
}

static int
s_consume (sl_client_t *con, int timeout_ms)
{
    int got = 0;
    sl_delivery_t *d;
    while (sl_client_recv (con, &d, got ? 0 : timeout_ms) == 0) {
        size_t len;
        const void *body = sl_delivery_body (d, &len);
        Water__V1__MeterReading *r = water__v1__meter_reading__unpack (NULL, len, body);
        cr_assert_not_null (r, "a delivered body does not decode");
        int64_t n = (r->date_observed - BASE_S) / 60;
        cr_assert (n >= 0 && n < LINES, "delivered reading at %lld is not from the input",
                   (long long) r->date_observed);
        const uint8_t *id = sl_delivery_message_id (d);
        static const uint8_t zero[16];
        if (memcmp (first_id[n], zero, 16) == 0)
            memcpy (first_id[n], id, 16);
        else
            cr_assert (memcmp (first_id[n], id, 16) == 0,
                       "input line %lld reached the broker twice, under two message ids",
                       (long long) n + 2);
        delivered[n]++;
        water__v1__meter_reading__free_unpacked (r, NULL);
        cr_assert_eq (sl_client_ack (con, d), 0);
        sl_delivery_destroy (&d);
        got++;
    }
    return got;
}

Test (crash, adapter_sigkill_mid_import, .timeout = 240)
{
    int kills = getenv ("SLUICE_ADAPTER_KILLS") ? atoi (getenv ("SLUICE_ADAPTER_KILLS")) : 5;
    srand ((unsigned) time (NULL));
    char kw[320], kp[320];
    tb_scene (&tb, kw, kp, TL_CITY, TL_PERMIT ("water-to-power", "*", "keep", ""));
    snprintf (data, sizeof data, "%s/data", tb.dir);
    sl_client_t *con = tb_connect (&tb, kp);
    cr_assert_eq (sl_client_subscribe (con, TL_WATER, "joint-metering"), 0);

    char meters[300], input[300], spool[300], log[300];
    snprintf (meters, sizeof meters, "%s/meters.csv", tb.dir);
    snprintf (input, sizeof input, "%s/readings.csv", tb.dir);
    snprintf (spool, sizeof spool, "%s/spool", tb.dir);
    snprintf (log, sizeof log, "%s/adapter.log", tb.dir);
    FILE *f = fopen (meters, "w");
    cr_assert_not_null (f);
    fprintf (f, "meter_id,citizen_id,district\n");
    for (int m = 0; m < 50; m++)
        fprintf (f, "%d,NL-CIT-%06d,Centrum\n", 76340000 + m, 100 + m);
    fclose (f);
    f = fopen (input, "w");
    cr_assert_not_null (f);
    fprintf (f, "name;id;total_m3;max_flow_m3h;timestamp\n");
    for (int n = 0; n < LINES; n++) {
        time_t t = BASE_S + (time_t) n * 60;
        struct tm tm;
        gmtime_r (&t, &tm);
        char ts[32];
        strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf (f, "Flat %d;%d;%d.5;0.02;%s\n", n % 50, 76340000 + n % 50, n, ts);
    }
    fclose (f);

    int killed = 0;
    for (int k = 0; k < kills; k++) {
        pid_t pid = s_adapter (kw, meters, input, spool, log);
        int64_t wait_ms = 100 + rand () % 700;
        int st, done = 0;
        for (int64_t t = 0; t < wait_ms && !done; t += 10) {
            s_consume (con, 10);
            done = waitpid (pid, &st, WNOHANG) == pid;
        }
        if (!done) {
            kill (pid, SIGKILL);
            waitpid (pid, &st, 0);
            killed++;
        }
    }
    /* the last run completes */
    pid_t pid = s_adapter (kw, meters, input, spool, log);
    int st;
    for (int i = 0; waitpid (pid, &st, WNOHANG) != pid; i++) {
        s_consume (con, 10);
        cr_assert (i < 9000, "the adapter did not finish in 90 s");
    }
    char out[4096];
    tl_sh (out, sizeof out, "tail -c 2000 '%s'", log);
    cr_assert (WIFEXITED (st) && WEXITSTATUS (st) == 0, "the final adapter run failed: %s", out);

    size_t missing = LINES;
    for (int i = 0; i < 3000 && missing > 0; i++) {
        s_consume (con, 20);
        missing = 0;
        for (int n = 0; n < LINES; n++)
            missing += delivered[n] == 0;
    }
    cr_assert_eq (sl_client_flush (con, 10000), 0);
    sl_client_destroy (&con, 1000);
    cr_assert_eq (tb_stop (&tb), 0);
    rel_report_t r;
    cr_assert_eq (rel_check (data, "water", "power", s_count, NULL, NULL, &r), 0, "%s", r.problem);
    uint64_t dup = 0;
    for (int n = 0; n < LINES; n++)
        dup += delivered[n] > 1 ? delivered[n] - 1 : 0;
    fprintf (stderr, "adapter: %d kills mid-import, %d input records, %llu message ids stored, "
             "%zu not delivered, %llu redelivered\n", killed, LINES,
             (unsigned long long) stored_ids, missing, (unsigned long long) dup);
    cr_assert_eq (missing, 0, "%zu input records never reached the consumer", missing);
    cr_assert_eq (stored_ids, LINES, "%llu message ids stored for %d input records",
                  (unsigned long long) stored_ids, LINES);
    cr_assert_eq (r.queued, 0);
    tb_cleanup (&tb);
}

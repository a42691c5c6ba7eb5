/*  The adapter programs against the real sluiced on loopback: each reads
 *  its bureau's files (or, for health, HL7 over MLLP), publishes what it can
 *  read, quarantines the rest, and a subscribed consumer receives exactly
 *  the good records. One broker and data directory per test. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "sl_mllp.h"
#include "water/v1/water.pb-c.h"
#include "health/v1/health.pb-c.h"

static tb_t tb;
static char keys [4][320];
enum { WATER, POWER, HEALTH, PARKING };
static const char *names [4] = { "water", "power", "health", "parking" };

static void
setup (void)
{
    tb_init (&tb);
    tb.grants [0] = "power:water.v1.MeterReading:joint-metering";
    tb.grants [1] = "parking:health.v1.Encounter:parking-fee-waiver";
    tb.grants [2] = "water:power.v1.MeterReading:joint-metering";
    tb.grants [3] = "health:parking.v1.Session:parking-fee-waiver";
    tb_start (&tb);
    for (int i = 0; i < 4; i++)
        tb_member (&tb, names [i], "member", keys [i]);
}

static void
teardown (void)
{
    tb_cleanup (&tb);
}

TestSuite (adapters_e2e, .init = setup, .fini = teardown, .timeout = 120);

static const char *
example (const char *rel)
{
    static char path [8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf (path [k], sizeof path [k], "%s/%s", SL_EXAMPLES, rel);
    return path [k];
}

/*  Runs an adapter program; returns its exit status, output in out. */
static int
run_adapter (const char *var, int bureau, const char *args, char *out, size_t size)
{
    char cmd [4096];
    snprintf (cmd, sizeof cmd, "'%s' --data '%s/data' --key '%s' --quarantine '%s/%s-q.jsonl' %s 2>&1",
              tb_program (var), tb.dir, keys [bureau], tb.dir, names [bureau], args);
    return tb_run (cmd, out, size);
}

static size_t
quarantined (int bureau)
{
    char path [512], line [8192];
    snprintf (path, sizeof path, "%s/%s-q.jsonl", tb.dir, names [bureau]);
    FILE *f = fopen (path, "r");
    if (!f)
        return 0;
    size_t n = 0;
    while (fgets (line, sizeof line, f))
        n++;
    fclose (f);
    return n;
}

/*  Receives `n` deliveries, acks them, returns how many came. */
static size_t
receive (sl_client_t *c, size_t n, const char *record_type, char subjects [][32])
{
    size_t got = 0;
    while (got < n) {
        sl_delivery_t *d = NULL;
        if (sl_client_recv (c, &d, 10000) != 0)
            break;
        cr_assert_str_eq (sl_delivery_record_type (d), record_type);
        if (subjects)
            snprintf (subjects [got], 32, "%s", sl_delivery_subject (d));
        sl_client_ack (c, d);
        sl_delivery_destroy (&d);
        got++;
    }
    sl_delivery_t *extra = NULL;
    cr_assert_neq (sl_client_recv (c, &extra, 300), 0, "no more than %zu deliveries", n);
    return got;
}

Test (adapters_e2e, water_good_and_bad_lines)
{
    sl_client_t *power = tb_connect (&tb, keys [POWER]);
    cr_assert_eq (sl_client_subscribe (power, "water.v1.MeterReading", "joint-metering"), 0,
                  "%s", sl_client_last_error (power));
    char args [2048], out [8192];
    snprintf (args, sizeof args, "--meters '%s' '%s' '%s'", example ("water-meters.csv"),
              example ("malformed/water-bad.jsonl"), example ("malformed/water-bad.csv"));
    int rc = run_adapter ("SLUICE_WATER_ADAPTER", WATER, args, out, sizeof out);
    cr_assert_eq (rc, 1, "some lines are rejected: exit 1, got %d: %s", rc, out);
    cr_assert_not_null (strstr (out, "water: 4 published, 4 stored, 0 refused by the broker, 6 rejected"), "%s", out);
    cr_assert_not_null (strstr (out, "water-bad.csv:3:18: field 3 (total_m3): expected a non-negative number, found '55,230'"), "%s", out);
    cr_assert_eq (quarantined (WATER), 6);
    char subjects [8][32];
    cr_assert_eq (receive (power, 4, "water.v1.MeterReading", subjects), 4);
    int a = 0, b = 0;
    for (int i = 0; i < 4; i++) {
        a += strcmp (subjects [i], "CIT-100001") == 0;
        b += strcmp (subjects [i], "CIT-100002") == 0;
    }
    cr_assert_eq (a, 2);
    cr_assert_eq (b, 2);
    sl_client_destroy (&power, 1000);
}

Test (adapters_e2e, water_full_csv_and_power_telegrams)
{
    char args [2048], out [8192];
    snprintf (args, sizeof args, "--meters '%s' '%s'", example ("water-meters.csv"),
              example ("water/wmbus-2026-11-28.csv"));
    int rc = run_adapter ("SLUICE_WATER_ADAPTER", WATER, args, out, sizeof out);
    cr_assert_eq (rc, 0, "%s", out);
    cr_assert_not_null (strstr (out, "water: 2400 published, 2400 stored, 0 refused by the broker, 0 rejected"), "%s", out);

    sl_client_t *water = tb_connect (&tb, keys [WATER]);
    cr_assert_eq (sl_client_subscribe (water, "power.v1.MeterReading", "joint-metering"), 0);
    snprintf (args, sizeof args, "--meters '%s' '%s'", example ("power-meters.csv"),
              example ("malformed/p1-bad.txt"));
    rc = run_adapter ("SLUICE_POWER_ADAPTER", POWER, args, out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert_not_null (strstr (out, "power: 2 published, 2 stored, 0 refused by the broker, 4 rejected"), "%s", out);
    cr_assert_not_null (strstr (out, "telegram 2: CRC mismatch: telegram says 0097, computed 0F98"), "%s", out);
    cr_assert_eq (quarantined (POWER), 4);
    cr_assert_eq (receive (water, 2, "power.v1.MeterReading", NULL), 2);
    sl_client_destroy (&water, 1000);
}

Test (adapters_e2e, parking_sessions)
{
    sl_client_t *health = tb_connect (&tb, keys [HEALTH]);
    cr_assert_eq (sl_client_subscribe (health, "parking.v1.Session", "parking-fee-waiver"), 0);
    char args [2048], out [8192];
    snprintf (args, sizeof args, "--plates '%s' --places '%s' '%s'", example ("plates.csv"),
              example ("places.csv"), example ("malformed/parking-bad.jsonl"));
    int rc = run_adapter ("SLUICE_PARKING_ADAPTER", PARKING, args, out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert_not_null (strstr (out, "parking: 2 published, 2 stored, 0 refused by the broker, 5 rejected"), "%s", out);
    cr_assert_eq (quarantined (PARKING), 5);
    cr_assert_eq (receive (health, 2, "parking.v1.Session", NULL), 2);
    sl_client_destroy (&health, 1000);
}

/*  Reads one MLLP frame (an ACK) from fd into out. */
static void
read_ack (int fd, sl_mllp_decoder_t *d, char *out, size_t size)
{
    for (;;) {
        const char *msg;
        size_t len;
        int rc = sl_mllp_decoder_next (d, 0, &msg, &len);
        if (rc == 1) {
            snprintf (out, size, "%.*s", (int) len, msg);
            return;
        }
        char buf [4096];
        ssize_t n = recv (fd, buf, sizeof buf, 0);
        cr_assert_gt (n, 0, "the adapter answers every message");
        sl_mllp_decoder_feed (d, buf, (size_t) n);
    }
}

Test (adapters_e2e, health_mllp_listener_acks)
{
    sl_client_t *parking = tb_connect (&tb, keys [PARKING]);
    cr_assert_eq (sl_client_subscribe (parking, "health.v1.Encounter", "parking-fee-waiver"), 0);

    char data [400], q [400];
    snprintf (data, sizeof data, "%s/data", tb.dir);
    snprintf (q, sizeof q, "%s/health-q.jsonl", tb.dir);
    int out [2];
    cr_assert_eq (pipe (out), 0);
    pid_t pid = fork ();
    if (pid == 0) {
        dup2 (out [1], 1);
        close (out [0]);
        execl (tb_program ("SLUICE_HEALTH_ADAPTER"), "sluice-health-adapter", "--data", data,
               "--key", keys [HEALTH], "--quarantine", q, "--listen", "127.0.0.1:0", (char *) NULL);
        _exit (127);
    }
    close (out [1]);
    FILE *f = fdopen (out [0], "r");
    char line [256] = "";
    cr_assert_not_null (fgets (line, sizeof line, f), "the adapter says where it listens");
    int port = 0;
    cr_assert_eq (sscanf (line, "listening for MLLP on 127.0.0.1:%d", &port), 1, "%s", line);

    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    inet_pton (AF_INET, "127.0.0.1", &sa.sin_addr);
    cr_assert_eq (connect (fd, (struct sockaddr *) &sa, sizeof sa), 0);

    /* the fixture's four framed messages, sent three bytes at a time */
    char path [1024];
    snprintf (path, sizeof path, "%s/adt.mllp", SL_FIXTURES);
    FILE *m = fopen (path, "rb");
    char frames [4096];
    size_t flen = fread (frames, 1, sizeof frames, m);
    fclose (m);
    for (size_t off = 0; off < flen; off += 3)
        cr_assert_gt (send (fd, frames + off, off + 3 <= flen ? 3 : flen - off, 0), 0);
    sl_mllp_decoder_t *d = sl_mllp_decoder_new (0);
    char ack [1024];
    for (int i = 1; i <= 4; i++) {
        read_ack (fd, d, ack, sizeof ack);
        char want [64];
        snprintf (want, sizeof want, "\rMSA|AA|MSG000%d\r", i);
        cr_assert_not_null (strstr (ack, want), "ACK %d: %s", i, ack);
    }
    /* a message it cannot read is answered AE, with the reason */
    const char bad [] = "\x0bMSH|^~\\&|EPIC|ST-LUKE|SLUICE|CITY|20261128090000||ORU^R01|Q1|P|2.5\r\x1c\x0d";
    cr_assert_eq (send (fd, bad, sizeof bad - 1, 0), (ssize_t) (sizeof bad - 1));
    read_ack (fd, d, ack, sizeof ack);
    cr_assert_not_null (strstr (ack, "\rMSA|AE|Q1|tcp:127.0.0.1:"), "%s", ack);
    cr_assert_not_null (strstr (ack, "message type 'ORU\\S\\R01' is not ADT\\S\\A01"), "%s", ack);
    close (fd);
    sl_mllp_decoder_destroy (&d);

    char subjects [4][32];
    cr_assert_eq (receive (parking, 3, "health.v1.Encounter", subjects), 3);
    kill (pid, SIGTERM);
    int st;
    cr_assert_eq (waitpid (pid, &st, 0), pid);
    cr_assert (WIFEXITED (st));
    cr_assert_eq (WEXITSTATUS (st), 1, "one message was rejected");
    fclose (f);
    cr_assert_eq (quarantined (HEALTH), 1);
    sl_client_destroy (&parking, 1000);
}

Test (adapters_e2e, health_files_plain_and_framed)
{
    char args [2048], out [8192];
    snprintf (args, sizeof args, "'%s/adt.mllp' '%s'", SL_FIXTURES, example ("malformed/adt-bad.hl7"));
    int rc = run_adapter ("SLUICE_HEALTH_ADAPTER", HEALTH, args, out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    /* adt.mllp: 3 encounters + 2 charges; adt-bad.hl7: 2 encounters */
    cr_assert_not_null (strstr (out, "health: 7 published, 7 stored, 0 refused by the broker, 4 rejected"), "%s", out);
    cr_assert_eq (quarantined (HEALTH), 4);
}

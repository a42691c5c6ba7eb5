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
#include "sl_testutil.h"
#include <cjson/cJSON.h>
#include "sl_mllp.h"
#include "sl_dsmr.h"
#include "water/v1/water.pb-c.h"
#include "power/v1/power.pb-c.h"
#include "health/v1/health.pb-c.h"
#include "parking/v1/parking.pb-c.h"

static tb_t tb;
static char keys [4][320];
enum { WATER, POWER, HEALTH, PARKING };
static const char *names [4] = { "water", "power", "health", "parking" };

/*  A permit releasing every field and the subject as is. Returns a static buffer. */
static const char *
s_permit (const char *owner, const char *consumer, const char *records, const char *purpose)
{
    static char text [512];
    snprintf (text, sizeof text,
              "permit \"%s-to-%s\" {\n  owner %s\n  consumer %s\n  records %s\n"
              "  purpose %s\n  fields *\n  subject keep\n}\n",
              owner, consumer, owner, consumer, records, purpose);
    return text;
}

static void
setup (void)
{
    tb_init (&tb);
    tb_start (&tb);
    for (int i = 0; i < 4; i++)
        tb_member (&tb, names [i], "member", keys [i]);
    /* Each owner releases its records whole to one partner, for one purpose:
       these tests are about the adapters, not about shaping. */
    tb_policy (&tb, "city", "purpose joint-metering \"water and power reconcile consumption\"\n"
                            "purpose parking-fee-waiver \"hospital visitors park free\"\n");
    tb_policy (&tb, "water", s_permit ("water", "power", "water.v1.MeterReading", "joint-metering"));
    tb_policy (&tb, "power", s_permit ("power", "water", "power.v1.MeterReading", "joint-metering"));
    tb_policy (&tb, "health", s_permit ("health", "parking", "health.v1.Encounter", "parking-fee-waiver"));
    tb_policy (&tb, "parking", s_permit ("parking", "health", "parking.v1.Session", "parking-fee-waiver"));
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

/*  Runs an adapter program, output in out; asserts it exits with `status`
 *  (1: some input was rejected). */
static void
run_adapter (const char *var, int bureau, const char *args, int status, char *out, size_t size)
{
    char cmd [4096];
    snprintf (cmd, sizeof cmd, "'%s' --data '%s/data' --key '%s' --quarantine '%s/%s-q.jsonl' %s 2>&1",
              tb_program (var), tb.dir, keys [bureau], tb.dir, names [bureau], args);
    int rc = tb_run (cmd, out, size);
    cr_assert_eq (rc, status, "%s: exit %d, expected %d: %s", var, rc, status, out);
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
    snprintf (args, sizeof args, "--timezone Europe/Amsterdam --meters '%s' '%s' '%s'", example ("water-meters.csv"),
              example ("malformed/water-bad.jsonl"), example ("malformed/water-bad.csv"));
    run_adapter ("SLUICE_WATER_ADAPTER", WATER, args, 1, out, sizeof out);
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
    snprintf (args, sizeof args, "--timezone Europe/Amsterdam --meters '%s' '%s'", example ("water-meters.csv"),
              example ("water/wmbus-2026-11-28.csv"));
    run_adapter ("SLUICE_WATER_ADAPTER", WATER, args, 0, out, sizeof out);
    cr_assert_not_null (strstr (out, "water: 2400 published, 2400 stored, 0 refused by the broker, 0 rejected"), "%s", out);

    sl_client_t *water = tb_connect (&tb, keys [WATER]);
    cr_assert_eq (sl_client_subscribe (water, "power.v1.MeterReading", "joint-metering"), 0);
    snprintf (args, sizeof args, "--meters '%s' '%s'", example ("power-meters.csv"),
              example ("malformed/p1-bad.txt"));
    run_adapter ("SLUICE_POWER_ADAPTER", POWER, args, 1, out, sizeof out);
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
    run_adapter ("SLUICE_PARKING_ADAPTER", PARKING, args, 1, out, sizeof out);
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
    run_adapter ("SLUICE_HEALTH_ADAPTER", HEALTH, args, 1, out, sizeof out);
    /* adt.mllp: 3 encounters + 2 charges; adt-bad.hl7: 2 encounters */
    cr_assert_not_null (strstr (out, "health: 7 published, 7 stored, 0 refused by the broker, 4 rejected"), "%s", out);
    cr_assert_eq (quarantined (HEALTH), 4);
}

/*  Waits up to 10 s until the file `log` (a program's stderr) holds
 *  `needle`; asserts that it does. */
static void
wait_log (const char *log, const char *needle)
{
    char cmd [600], out [8192];
    snprintf (cmd, sizeof cmd, "cat '%s'", log);
    for (int i = 0; i < 500; i++) {
        tb_run (cmd, out, sizeof out);
        if (strstr (out, needle))
            break;
        usleep (20000);
    }
    cr_assert_not_null (strstr (out, needle), "%s", out);
}

static void
append (const char *path, const char *text)
{
    FILE *f = fopen (path, "a");
    cr_assert_not_null (f);
    fputs (text, f);
    fclose (f);
}

Test (adapters_e2e, water_follows_a_growing_file)
{
    sl_client_t *power = tb_connect (&tb, keys [POWER]);
    cr_assert_eq (sl_client_subscribe (power, "water.v1.MeterReading", "joint-metering"), 0);
    char live [400], q [400], data [400], log [400];
    snprintf (live, sizeof live, "%s/live.jsonl", tb.dir);
    snprintf (q, sizeof q, "%s/water-q.jsonl", tb.dir);
    snprintf (data, sizeof data, "%s/data", tb.dir);
    snprintf (log, sizeof log, "%s/water.log", tb.dir);
    const char *good = "{\"media\":\"water\",\"id\":\"76340000\",\"total_m3\":1.5,\"timestamp\":\"2026-11-28T08:00:00Z\"}\n";
    append (live, good);
    const char *argv [] = { tb_program ("SLUICE_WATER_ADAPTER"), "--data", data, "--key", keys [WATER],
                            "--quarantine", q, "--meters", example ("water-meters.csv"),
                            "--follow", live, NULL };
    pid_t pid = tl_spawn (argv, log);
    cr_assert_neq (pid, -1);
    char subj [4][32];
    cr_assert_eq (receive (power, 1, "water.v1.MeterReading", subj), 1);
    append (live, "{\"media\":\"water\",\"id\":\"76340037\",\"total_m3\":2.5,\"timestamp\":\"2026-11-28T09:00:00Z\"}\n"
                  "{\"media\":\"water\",\"id\":\"nope\",\"total_m3\":2.5,\"timestamp\":\"2026-11-28T09:00:00Z\"}\n"
                  "{\"media\":\"water\",\"id\":\"76340074\",");
    cr_assert_eq (receive (power, 1, "water.v1.MeterReading", subj), 1, "the half line waits");
    cr_assert_str_eq (subj [0], "CIT-100002");
    append (live, "\"total_m3\":3.5,\"timestamp\":\"2026-11-28T10:00:00Z\"}\n");
    cr_assert_eq (receive (power, 1, "water.v1.MeterReading", subj), 1, "completed line");
    cr_assert_str_eq (subj [0], "CIT-100003");
    kill (pid, SIGTERM);
    int st;
    cr_assert_eq (waitpid (pid, &st, 0), pid);
    cr_assert (WIFEXITED (st));
    cr_assert_eq (WEXITSTATUS (st), 1, "one line was rejected");
    cr_assert_eq (quarantined (WATER), 1);
    char cmd [600], out [4096];
    snprintf (cmd, sizeof cmd, "cat '%s'", log);
    tb_run (cmd, out, sizeof out);
    cr_assert_not_null (strstr (out, "live.jsonl:3:1: meter 'nope' is not in the meter registry"), "%s", out);
    cr_assert_not_null (strstr (out, "water: 3 published, 3 stored, 0 refused by the broker, 1 rejected"), "%s", out);
    sl_client_destroy (&power, 1000);
}

Test (adapters_e2e, spool_keeps_records_while_the_broker_is_down)
{
    tb_stop (&tb);
    char args [2048], out [8192], cmd [4096];
    /* the broker's data directory has no endpoints file while it is down */
    snprintf (cmd, sizeof cmd, "'%s' --endpoint '%s' --broker-key '%s' --key '%s' --quarantine '%s/water-q.jsonl' "
              "--spool '%s/spool' --wait 1 --meters '%s' '%s' 2>&1",
              tb_program ("SLUICE_WATER_ADAPTER"), tb.data_ep, tb.broker_pub, keys [WATER], tb.dir, tb.dir,
              example ("water-meters.csv"), example ("malformed/water-bad.jsonl"));
    int rc = tb_run (cmd, out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert_not_null (strstr (out, "water: 2 published, 0 stored, 0 refused by the broker, 4 rejected"), "%s", out);
    cr_assert_not_null (strstr (out, "(kept in the spool)"), "%s", out);

    tb_restart (&tb);
    sl_client_t *power = tb_connect (&tb, keys [POWER]);
    cr_assert_eq (sl_client_subscribe (power, "water.v1.MeterReading", "joint-metering"), 0);
    snprintf (args, sizeof args, "--spool '%s/spool' --wait 20 --meters '%s' /dev/null", tb.dir,
              example ("water-meters.csv"));
    run_adapter ("SLUICE_WATER_ADAPTER", WATER, args, 0, out, sizeof out);
    char subj [4][32];
    cr_assert_eq (receive (power, 2, "water.v1.MeterReading", subj), 2, "the spooled records arrive");
    cr_assert_str_eq (subj [0], "CIT-100001");
    sl_client_destroy (&power, 1000);
}

Test (adapters_e2e, power_receives_water_readings_as_json_lines)
{
    char data [400], log [400], outp [400];
    snprintf (data, sizeof data, "%s/data", tb.dir);
    snprintf (log, sizeof log, "%s/power-consumer.log", tb.dir);
    snprintf (outp, sizeof outp, "%s/received.jsonl", tb.dir);
    const char *argv [] = { tb_program ("SLUICE_POWER_ADAPTER"), "--data", data, "--key", keys [POWER],
                            "--meters", example ("power-meters.csv"), "--subscribe",
                            "water.v1.MeterReading:joint-metering", "--output", outp, "--max", "2", NULL };
    pid_t pid = tl_spawn (argv, log);
    cr_assert_neq (pid, -1);
    wait_log (log, "subscribed to water.v1.MeterReading for joint-metering");

    char args [2048], out [8192];
    snprintf (args, sizeof args, "--meters '%s' '%s'", example ("water-meters.csv"),
              example ("malformed/water-bad.jsonl"));
    run_adapter ("SLUICE_WATER_ADAPTER", WATER, args, 1, out, sizeof out);

    int st = 0;
    for (int i = 0; i < 1000 && waitpid (pid, &st, WNOHANG) != pid; i++)
        usleep (10000);
    cr_assert (WIFEXITED (st), "the consumer stops after --max 2");
    cr_assert_eq (WEXITSTATUS (st), 0);
    FILE *f = fopen (outp, "r");
    cr_assert_not_null (f);
    char line [4096];
    int n = 0;
    while (fgets (line, sizeof line, f)) {
        cJSON *o = cJSON_Parse (line);
        cr_assert_not_null (o, "line %d is JSON: %s", n + 1, line);
        cr_assert_str_eq (cJSON_GetObjectItem (o, "record_type")->valuestring, "water.v1.MeterReading");
        cr_assert_str_eq (cJSON_GetObjectItem (o, "owner")->valuestring, "water");
        cr_assert_str_eq (cJSON_GetObjectItem (o, "purpose")->valuestring, "joint-metering");
        cJSON *rec = cJSON_GetObjectItem (o, "record");
        cr_assert_str_eq (cJSON_GetObjectItem (rec, "ref_device")->valuestring, "76340000");
        cr_assert_str_eq (cJSON_GetObjectItem (rec, "meter_name")->valuestring, "Flat 1");
        cr_assert_float_eq (cJSON_GetObjectItem (rec, "water_consumption_m3")->valuedouble,
                            n == 0 ? 101.5 : 101.9, 1e-9);
        cJSON_Delete (o);
        n++;
    }
    fclose (f);
    cr_assert_eq (n, 2);
}

Test (adapters_e2e, health_answers_parking_queries_about_visits)
{
    char data [400], log [400], q [400], mllp [1024];
    snprintf (data, sizeof data, "%s/data", tb.dir);
    snprintf (log, sizeof log, "%s/health.log", tb.dir);
    snprintf (q, sizeof q, "%s/health-q.jsonl", tb.dir);
    snprintf (mllp, sizeof mllp, "%s/adt.mllp", SL_FIXTURES);
    const char *argv [] = { tb_program ("SLUICE_HEALTH_ADAPTER"), "--data", data, "--key", keys [HEALTH],
                            "--quarantine", q, "--serve", mllp, NULL };
    pid_t pid = tl_spawn (argv, log);
    cr_assert_neq (pid, -1);
    wait_log (log, "answering queries about 5 records");
    char cmd [600], out [8192];
    snprintf (cmd, sizeof cmd, "cat '%s'", log);

    sl_client_t *parking = tb_connect (&tb, keys [PARKING]);
    sl_reply_t *reply = NULL;
    int rc = sl_client_query (parking, "health.v1.Encounter", "NL-CIT-000101", "parking-fee-waiver",
                              NULL, 0, 5000, &reply);
    cr_assert_eq (rc, 0, "%s", sl_client_last_error (parking));
    cr_assert_eq (sl_reply_count (reply), 2, "admission and discharge of one visit");
    size_t size;
    const void *body = sl_reply_body (reply, 1, &size);
    Health__V1__Encounter *e = health__v1__encounter__unpack (NULL, size, body);
    cr_assert_not_null (e);
    cr_assert_str_eq (e->id, "V2026-0001");
    cr_assert_str_eq (e->status, "finished");
    health__v1__encounter__free_unpacked (e, NULL);
    sl_reply_destroy (&reply);

    sl_param_t later [] = { { "since", "1795852800" } };     /* after both period starts */
    rc = sl_client_query (parking, "health.v1.Encounter", "NL-CIT-000101", "parking-fee-waiver",
                          later, 1, 5000, &reply);
    cr_assert_eq (rc, 0);
    cr_assert_eq (sl_reply_count (reply), 0);
    sl_reply_destroy (&reply);

    rc = sl_client_query (parking, "health.v1.Encounter", "NL-CIT-000101", "marketing",
                          NULL, 0, 5000, &reply);
    cr_assert_eq (rc, SL_EDENIED, "no grant for that purpose: rc %d", rc);
    sl_client_destroy (&parking, 0);

    kill (pid, SIGTERM);
    int st;
    cr_assert_eq (waitpid (pid, &st, 0), pid);
    cr_assert (WIFEXITED (st));
    cr_assert_eq (WEXITSTATUS (st), 0);
    tb_run (cmd, out, sizeof out);
    cr_assert_not_null (strstr (out, "health: answered parking's query for health.v1.Encounter (parking-fee-waiver): 2 records"), "%s", out);
}

/*  ---------------------------------------------------------------------
 *  The real forms of issue 16, each from the bureau's file through its
 *  adapter and the broker to the permitted consumer, values checked there.
 */

static const char *
conformance (const char *rel)
{
    static char path [4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf (path [k], sizeof path [k], "%s/%s", SL_CONFORMANCE, rel);
    return path [k];
}

/*  Receives one delivery of `type`, acks it; returns its body (malloc'd). */
static uint8_t *
receive_body (sl_client_t *c, const char *type, size_t *size, char subject [64])
{
    sl_delivery_t *d = NULL;
    cr_assert_eq (sl_client_recv (c, &d, 10000), 0, "a %s arrives: %s", type, sl_client_last_error (c));
    cr_assert_str_eq (sl_delivery_record_type (d), type);
    const void *body = sl_delivery_body (d, size);
    uint8_t *copy = malloc (*size ? *size : 1);
    memcpy (copy, body, *size);
    snprintf (subject, 64, "%s", sl_delivery_subject (d));
    sl_client_ack (c, d);
    sl_delivery_destroy (&d);
    return copy;
}

Test (adapters_e2e, apds_v4_session_reaches_health)
{
    sl_client_t *health = tb_connect (&tb, keys [HEALTH]);
    cr_assert_eq (sl_client_subscribe (health, "parking.v1.Session", "parking-fee-waiver"), 0);
    char args [2048], out [8192];
    snprintf (args, sizeof args, "--plates '%s' --places '%s' '%s'", conformance ("apds/plates.csv"),
              conformance ("apds/places.csv"), conformance ("apds/a03-v4-session-from-the-openapi-description.json"));
    run_adapter ("SLUICE_PARKING_ADAPTER", PARKING, args, 0, out, sizeof out);
    size_t size;
    char subject [64];
    uint8_t *body = receive_body (health, "parking.v1.Session", &size, subject);
    Parking__V1__Session *s = parking__v1__session__unpack (NULL, size, body);
    cr_assert_not_null (s);
    cr_assert_str_eq (subject, "CIT-700001");
    cr_assert_str_eq (s->id, "98bccb9c-2ffe-4ca4-8e7f-eb1ae4439c29");
    cr_assert_str_eq (s->licence_plate, "BD18SMR");
    cr_assert_str_eq (s->place_reference, "805430");
    cr_assert_str_eq (s->district, "Manchester City Centre");
    cr_assert_eq (s->actual_start, 1782889920, "09:12+02:00 is 07:12 UTC");
    cr_assert_eq (s->actual_end, 1782898800);
    cr_assert_float_eq (s->amount, 9.7, 1e-9);
    cr_assert_str_eq (s->currency, "GBP");
    cr_assert_eq (s->n_segments, 1);
    cr_assert_str_eq (s->segments [0]->rate_reference, "ar-77");
    parking__v1__session__free_unpacked (s, NULL);
    free (body);
    sl_client_destroy (&health, 1000);
}

Test (adapters_e2e, cold_water_multical21_alarm_reaches_power)
{
    sl_client_t *power = tb_connect (&tb, keys [POWER]);
    cr_assert_eq (sl_client_subscribe (power, "water.v1.MeterReading", "joint-metering"), 0);
    char args [2048], out [8192];
    snprintf (args, sizeof args, "--meters '%s' '%s'", conformance ("wmbus/meters.csv"),
              conformance ("wmbus/w01-multical21-cold-water-dry.jsonl"));
    run_adapter ("SLUICE_WATER_ADAPTER", WATER, args, 0, out, sizeof out);
    size_t size;
    char subject [64];
    uint8_t *body = receive_body (power, "water.v1.MeterReading", &size, subject);
    Water__V1__MeterReading *m = water__v1__meter_reading__unpack (NULL, size, body);
    cr_assert_not_null (m);
    cr_assert_str_eq (subject, "CIT-900001");
    cr_assert_str_eq (m->media, "cold water");
    cr_assert_str_eq (m->ref_device, "76348799");
    cr_assert_eq (m->alarm_in_progress, 1, "status DRY is an alarm");
    cr_assert_str_eq (m->alarms, "DRY");
    cr_assert_float_eq (m->water_consumption_m3, 6.408, 1e-9);
    cr_assert_float_eq (m->target_m3, 6.408, 1e-9);
    cr_assert_eq (m->date_observed, 1795852800);
    water__v1__meter_reading__free_unpacked (m, NULL);
    free (body);
    sl_client_destroy (&power, 1000);
}

Test (adapters_e2e, luxembourg_smarty_telegram_reaches_water)
{
    /* dsmr_parser's Sagemcom T210-D-r capture with the logical device name
       (0-0:42.0.0) a Smarty meter sends first, and its CRC recomputed */
    char *orig = read_whole (SL_CONFORMANCE, "dsmr/lu-smarty-sagemcom-t210dr.txt", "", NULL);
    char *hdr_end = strstr (orig, "\r\n\r\n");
    char *bang = strchr (orig, '!');
    cr_assert (hdr_end && bang);
    char tg [2048];
    int n = snprintf (tg, sizeof tg, "%.*s\r\n\r\n0-0:42.0.0(53414731303330373030303839303637)\r\n%.*s",
                      (int) (hdr_end - orig), orig, (int) (bang + 1 - (hdr_end + 4)), hdr_end + 4);
    snprintf (tg + n, sizeof tg - (size_t) n, "%04X\r\n", sl_dsmr_crc16 (tg, (size_t) n));
    free (orig);
    char path [600], reg [600];
    snprintf (path, sizeof path, "%s/smarty.txt", tb.dir);
    snprintf (reg, sizeof reg, "%s/lu-meters.csv", tb.dir);
    append (path, tg);
    append (reg, "meter_id,citizen_id,district\nSAG1030700089067,LU-CIT-0042,Luxembourg-Ville\n");

    sl_client_t *water = tb_connect (&tb, keys [WATER]);
    cr_assert_eq (sl_client_subscribe (water, "power.v1.MeterReading", "joint-metering"), 0);
    char args [2048], out [8192];
    snprintf (args, sizeof args, "--timezone Europe/Luxembourg --require-crc yes --meters '%s' '%s'", reg, path);
    run_adapter ("SLUICE_POWER_ADAPTER", POWER, args, 0, out, sizeof out);
    size_t size;
    char subject [64];
    uint8_t *body = receive_body (water, "power.v1.MeterReading", &size, subject);
    Power__V1__MeterReading *m = power__v1__meter_reading__unpack (NULL, size, body);
    cr_assert_not_null (m);
    cr_assert_str_eq (subject, "LU-CIT-0042");
    cr_assert_str_eq (m->ref_device, "SAG1030700089067", "0-0:42.0.0, hex-decoded");
    cr_assert_str_eq (m->district, "Luxembourg-Ville");
    cr_assert_float_eq (m->active_energy_import_kwh, 6545.766, 1e-9, "1-0:1.8.0 in Wh, as kWh");
    cr_assert_float_eq (m->active_energy_import_t1_kwh, 5017.120, 1e-9);
    cr_assert_float_eq (m->active_energy_import_t2_kwh, 1528.646, 1e-9);
    cr_assert_float_eq (m->active_energy_export_kwh, 0.058, 1e-9);
    cr_assert_float_eq (m->active_power_kw, 0.286, 1e-9, "286 W");
    cr_assert_str_eq (m->time_source, "meter");
    cr_assert_eq (m->date_observed, 1665064214, "2022-10-06 15:50:14 CEST");
    cr_assert_str_eq (m->profile, "DSMR 5.0");
    power__v1__meter_reading__free_unpacked (m, NULL);
    free (body);
    sl_client_destroy (&water, 1000);
}

Test (adapters_e2e, adt_a08_untyped_pid3_by_authority_reaches_parking)
{
    sl_client_t *parking = tb_connect (&tb, keys [PARKING]);
    cr_assert_eq (sl_client_subscribe (parking, "health.v1.Encounter", "parking-fee-waiver"), 0);
    char args [2048], out [8192];
    /* by default the untyped identifier is not taken: refused, with the option that would select it */
    snprintf (args, sizeof args, "'%s'", conformance ("hl7/h02-lfh-adt-a08-untyped-pid3-by-authority.hl7"));
    run_adapter ("SLUICE_HEALTH_ADAPTER", HEALTH, args, 1, out, sizeof out);
    cr_assert_not_null (strstr (out, "(to accept it: if repetition 1 is the citizen id, give --pid3-authority MRN)"), "%s", out);
    char q [600], cmd [800], qtext [8192];
    snprintf (q, sizeof q, "%s/health-q.jsonl", tb.dir);
    snprintf (cmd, sizeof cmd, "cat '%s'", q);
    tb_run (cmd, qtext, sizeof qtext);
    cr_assert_not_null (strstr (qtext, "\"hint\":\"if repetition 1 is the citizen id, give --pid3-authority MRN\""), "%s", qtext);

    snprintf (args, sizeof args, "--pid3-authority MRN --timezone America/Toronto '%s'",
              conformance ("hl7/h02-lfh-adt-a08-untyped-pid3-by-authority.hl7"));
    run_adapter ("SLUICE_HEALTH_ADAPTER", HEALTH, args, 0, out, sizeof out);
    size_t size;
    char subject [64];
    uint8_t *body = receive_body (parking, "health.v1.Encounter", &size, subject);
    Health__V1__Encounter *e = health__v1__encounter__unpack (NULL, size, body);
    cr_assert_not_null (e);
    cr_assert_str_eq (subject, "0a8a1752-e336-43e1-bf7f-0c8f6f437ca3");
    cr_assert_str_eq (e->trigger_event, "A08");
    cr_assert_str_eq (e->status, "in-progress");
    cr_assert_str_eq (e->id, "Visit_0a3be81e-144b-4885-9b4e-c5cd33c8f038");
    cr_assert_str_eq (e->class_code, "IMP");
    cr_assert_eq (e->period_start, 1617837222, "2021-04-07 19:13:42 in Toronto (EDT)");
    health__v1__encounter__free_unpacked (e, NULL);
    free (body);
    sl_client_destroy (&parking, 1000);
}

/*  The adapter programs against the real sluiced on loopback: each reads
 *  its bureau's files (or, for health, HL7 over MLLP), publishes what it can
 *  read, quarantines the rest, and a subscribed consumer receives exactly
 *  the good records. One broker and data directory per test. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
static char keys[4][320];
static char out[16384];           /* the last adapter run's output (stderr too) */
static sl_client_t *C;            /* the test's consumer, closed by teardown */
enum { WATER, POWER, HEALTH, PARKING };

/*  Each bureau, its adapter program (environment variable with its path),
 *  and the records it releases whole to one partner for one purpose: these
 *  tests are about the adapters, not about shaping. */
static const struct {
    const char *name, *program, *type, *purpose;
    int partner;
    const ProtobufCMessageDescriptor *desc;
} B[4] = {
    { "water", "SLUICE_WATER_ADAPTER", "water.v1.MeterReading", "joint-metering", POWER,
      &water__v1__meter_reading__descriptor },
    { "power", "SLUICE_POWER_ADAPTER", "power.v1.MeterReading", "joint-metering", WATER,
      &power__v1__meter_reading__descriptor },
    { "health", "SLUICE_HEALTH_ADAPTER", "health.v1.Encounter", "parking-fee-waiver", PARKING,
      &health__v1__encounter__descriptor },
    { "parking", "SLUICE_PARKING_ADAPTER", "parking.v1.Session", "parking-fee-waiver", HEALTH,
      &parking__v1__session__descriptor },
};

/*  dir/rel, in one of eight buffers used in turn (so one call may take
 *  several). */
static const char *
s_path (const char *dir, const char *rel)
{
    static char path[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf (path[k], sizeof path[k], "%s/%s", dir, rel);
    return path[k];
}
#define EXAMPLE(rel) s_path (SL_EXAMPLES, rel)
#define CONFORMANCE(rel) s_path (SL_CONFORMANCE, rel)
#define IN_DIR(rel) s_path (tb.dir, rel)

static void
setup (void)
{
    char text[512];
    tb_init (&tb);
    tb_start (&tb);
    for (int i = 0; i < 4; i++)
        tb_member (&tb, B[i].name, "member", keys[i]);
    tb_policy (&tb, "city", "purpose joint-metering \"water and power reconcile consumption\"\n"
                            "purpose parking-fee-waiver \"hospital visitors park free\"\n");
    for (int i = 0; i < 4; i++) {
        const char *owner = B[i].name, *consumer = B[B[i].partner].name;
        snprintf (text, sizeof text,
                  "permit \"%s-to-%s\" {\n  owner %s\n  consumer %s\n  records %s\n"
                  "  purpose %s\n  fields *\n  subject keep\n}\n",
                  owner, consumer, owner, consumer, B[i].type, B[i].purpose);
        tb_policy (&tb, owner, text);
    }
}

static void
teardown (void)
{
    sl_client_destroy (&C, 0);
    tb_cleanup (&tb);
}

TestSuite (adapters_e2e, .init = setup, .fini = teardown, .timeout = 120);

/*  Runs `bureau`'s adapter program as that bureau (--data, --key,
 *  --quarantine DIR/NAME-q.jsonl) with the printf-formatted further
 *  arguments, its output in `out`; asserts it exits with `status` (1: some
 *  input was rejected). */
static void __attribute__ ((format (printf, 3, 4)))
run_adapter (int bureau, int status, const char *fmt, ...)
{
    char args[2048], cmd[4096];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (args, sizeof args, fmt, ap);
    va_end (ap);
    snprintf (cmd, sizeof cmd, "'%s' --data '%s/data' --key '%s' --quarantine '%s/%s-q.jsonl' %s 2>&1",
              tb_program (B[bureau].program), tb.dir, keys[bureau], tb.dir, B[bureau].name, args);
    int rc = tb_run (cmd, out, sizeof out);
    cr_assert_eq (rc, status, "%s: exit %d, expected %d: %s", B[bureau].program, rc, status, out);
}

/*  Starts `bureau`'s adapter as that bureau (--data, --key) with the further
 *  arguments (NULL-terminated), stdout and stderr into DIR/log. The pid. */
static pid_t
s_spawn (int bureau, const char *log, ...)
{
    const char *argv[24] = { tb_program (B[bureau].program), "--data", IN_DIR ("data"), "--key",
                             keys[bureau] };
    int n = 5;
    va_list ap;
    va_start (ap, log);
    while (n < 23 && (argv[n] = va_arg (ap, const char *)) != NULL)
        n++;
    va_end (ap);
    argv[n] = NULL;
    pid_t pid = tl_spawn (argv, IN_DIR (log));
    cr_assert_neq (pid, -1);
    return pid;
}

static void
append (const char *path, const char *text)
{
    FILE *f = fopen (path, "a");
    cr_assert_not_null (f);
    fputs (text, f);
    fclose (f);
}

/*  How many lines `bureau`'s adapter wrote to its quarantine file. */
static size_t
quarantined (int bureau)
{
    char name[64];
    snprintf (name, sizeof name, "%s-q.jsonl", B[bureau].name);
    char *text = tl_slurp (IN_DIR (name), NULL);
    size_t n = text ? (size_t) tl_count (text, "\n") : 0;
    free (text);
    return n;
}

/*  `owner`'s partner, connected and subscribed to owner's records. */
static sl_client_t *
s_partner_of (int owner)
{
    sl_client_t *c = tb_connect (&tb, keys[B[owner].partner]);
    cr_assert_eq (sl_client_subscribe (c, B[owner].type, B[owner].purpose), 0, "%s",
                  sl_client_last_error (c));
    return c;
}

/*  Receives `n` deliveries of `owner`'s records, acks them, returns how
 *  many came (their subjects in subjects[] when not NULL); then asserts that
 *  no more come. */
static size_t
receive (sl_client_t *c, size_t n, int owner, char subjects[][32])
{
    size_t got = 0;
    while (got < n) {
        sl_delivery_t *d = NULL;
        if (sl_client_recv (c, &d, 10000) != 0)
            break;
        cr_assert_str_eq (sl_delivery_record_type (d), B[owner].type);
        if (subjects)
            snprintf (subjects[got], 32, "%s", sl_delivery_subject (d));
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
    C = s_partner_of (WATER);
    run_adapter (WATER, 1, "--timezone Europe/Amsterdam --meters '%s' '%s' '%s'",
                 EXAMPLE ("water-meters.csv"), EXAMPLE ("malformed/water-bad.jsonl"),
                 EXAMPLE ("malformed/water-bad.csv"));
    TL_HAS (out, "water: 4 published, 4 stored, 0 refused by the broker, 6 rejected",
            "water-bad.csv:3:18: field 3 (total_m3): expected a non-negative number, found '55,230'");
    cr_assert_eq (quarantined (WATER), 6);
    char subjects[8][32];
    cr_assert_eq (receive (C, 4, WATER, subjects), 4);
    int a = 0, b = 0;
    for (int i = 0; i < 4; i++) {
        a += strcmp (subjects[i], "CIT-100001") == 0;
        b += strcmp (subjects[i], "CIT-100002") == 0;
    }
    cr_assert_eq (a, 2);
    cr_assert_eq (b, 2);
}

Test (adapters_e2e, water_full_csv_and_power_telegrams)
{
    run_adapter (WATER, 0, "--timezone Europe/Amsterdam --meters '%s' '%s'",
                 EXAMPLE ("water-meters.csv"), EXAMPLE ("water/wmbus-2026-11-28.csv"));
    TL_HAS (out, "water: 2400 published, 2400 stored, 0 refused by the broker, 0 rejected");

    C = s_partner_of (POWER);
    run_adapter (POWER, 1, "--meters '%s' '%s'", EXAMPLE ("power-meters.csv"),
                 EXAMPLE ("malformed/p1-bad.txt"));
    TL_HAS (out, "power: 2 published, 2 stored, 0 refused by the broker, 4 rejected",
            "telegram 2: CRC mismatch: telegram says 0097, computed 0F98");
    cr_assert_eq (quarantined (POWER), 4);
    cr_assert_eq (receive (C, 2, POWER, NULL), 2);
}

Test (adapters_e2e, parking_sessions)
{
    C = s_partner_of (PARKING);
    run_adapter (PARKING, 1, "--plates '%s' --places '%s' '%s'", EXAMPLE ("plates.csv"),
                 EXAMPLE ("places.csv"), EXAMPLE ("malformed/parking-bad.jsonl"));
    TL_HAS (out, "parking: 2 published, 2 stored, 0 refused by the broker, 5 rejected");
    cr_assert_eq (quarantined (PARKING), 5);
    cr_assert_eq (receive (C, 2, PARKING, NULL), 2);
}

/*  Reads one MLLP frame (an ACK) from fd into ack[size]. */
static void
read_ack (int fd, sl_mllp_decoder_t *d, char *ack, size_t size)
{
    for (;;) {
        const char *msg;
        size_t len;
        int rc = sl_mllp_decoder_next (d, 0, &msg, &len);
        if (rc == 1) {
            snprintf (ack, size, "%.*s", (int) len, msg);
            return;
        }
        char buf[4096];
        ssize_t n = recv (fd, buf, sizeof buf, 0);
        cr_assert_gt (n, 0, "the adapter answers every message");
        sl_mllp_decoder_feed (d, buf, (size_t) n);
    }
}

Test (adapters_e2e, health_mllp_listener_acks)
{
    C = s_partner_of (HEALTH);
    pid_t pid = s_spawn (HEALTH, "health.log", "--quarantine", IN_DIR ("health-q.jsonl"), "--listen",
                         "127.0.0.1:0", NULL);
    /* the adapter says where it listens */
    tb_file_has (IN_DIR ("health.log"), "listening for MLLP on 127.0.0.1:", 10000);
    char *log = tl_slurp (IN_DIR ("health.log"), NULL);
    int port = 0;
    cr_assert_eq (sscanf (strstr (log, "listening for MLLP"), "listening for MLLP on 127.0.0.1:%d", &port),
                  1, "%s", log);
    free (log);

    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    inet_pton (AF_INET, "127.0.0.1", &sa.sin_addr);
    cr_assert_eq (connect (fd, (struct sockaddr *) &sa, sizeof sa), 0);

    /* the fixture's four framed messages, sent three bytes at a time */
    size_t flen;
    char *frames = read_whole (SL_FIXTURES, "adt.mllp", "", &flen);
    for (size_t off = 0; off < flen; off += 3)
        cr_assert_gt (send (fd, frames + off, off + 3 <= flen ? 3 : flen - off, 0), 0);
    free (frames);
    sl_mllp_decoder_t *d = sl_mllp_decoder_new (0);
    char ack[1024];
    for (int i = 1; i <= 4; i++) {
        read_ack (fd, d, ack, sizeof ack);
        char want[64];
        snprintf (want, sizeof want, "\rMSA|AA|MSG000%d\r", i);
        cr_assert_not_null (strstr (ack, want), "ACK %d: %s", i, ack);
    }
    /* a message it cannot read is answered AE, with the reason */
    const char bad[] = "\x0bMSH|^~\\&|EPIC|ST-LUKE|SLUICE|CITY|20261128090000||ORU^R01|Q1|P|2.5\r\x1c\x0d";
    cr_assert_eq (send (fd, bad, sizeof bad - 1, 0), (ssize_t) (sizeof bad - 1));
    read_ack (fd, d, ack, sizeof ack);
    TL_HAS (ack, "\rMSA|AE|Q1|tcp:127.0.0.1:", "message type 'ORU\\S\\R01' is not ADT\\S\\A01");
    close (fd);
    sl_mllp_decoder_destroy (&d);

    char subjects[4][32];
    cr_assert_eq (receive (C, 3, HEALTH, subjects), 3);
    cr_assert_eq (tl_broker_stop (pid, SIGTERM, 10000), 1, "one message was rejected");
    cr_assert_eq (quarantined (HEALTH), 1);
}

Test (adapters_e2e, health_files_plain_and_framed)
{
    run_adapter (HEALTH, 1, "'%s/adt.mllp' '%s'", SL_FIXTURES, EXAMPLE ("malformed/adt-bad.hl7"));
    /* adt.mllp: 3 encounters + 2 charges; adt-bad.hl7: 2 encounters */
    TL_HAS (out, "health: 7 published, 7 stored, 0 refused by the broker, 4 rejected");
    cr_assert_eq (quarantined (HEALTH), 4);
}

Test (adapters_e2e, water_follows_a_growing_file)
{
    C = s_partner_of (WATER);
    append (IN_DIR ("live.jsonl"), "{\"media\":\"water\",\"id\":\"76340000\",\"total_m3\":1.5,"
                                   "\"timestamp\":\"2026-11-28T08:00:00Z\"}\n");
    pid_t pid = s_spawn (WATER, "water.log", "--quarantine", IN_DIR ("water-q.jsonl"), "--meters",
                         EXAMPLE ("water-meters.csv"), "--follow", IN_DIR ("live.jsonl"), NULL);
    char subj[4][32];
    cr_assert_eq (receive (C, 1, WATER, subj), 1);
    append (IN_DIR ("live.jsonl"),
            "{\"media\":\"water\",\"id\":\"76340037\",\"total_m3\":2.5,\"timestamp\":\"2026-11-28T09:00:00Z\"}\n"
            "{\"media\":\"water\",\"id\":\"nope\",\"total_m3\":2.5,\"timestamp\":\"2026-11-28T09:00:00Z\"}\n"
            "{\"media\":\"water\",\"id\":\"76340074\",");
    cr_assert_eq (receive (C, 1, WATER, subj), 1, "the half line waits");
    cr_assert_str_eq (subj[0], "CIT-100002");
    append (IN_DIR ("live.jsonl"), "\"total_m3\":3.5,\"timestamp\":\"2026-11-28T10:00:00Z\"}\n");
    cr_assert_eq (receive (C, 1, WATER, subj), 1, "completed line");
    cr_assert_str_eq (subj[0], "CIT-100003");
    cr_assert_eq (tl_broker_stop (pid, SIGTERM, 10000), 1, "one line was rejected");
    cr_assert_eq (quarantined (WATER), 1);
    tb_file_has (IN_DIR ("water.log"), "live.jsonl:3:1: meter 'nope' is not in the meter registry", 0);
    tb_file_has (IN_DIR ("water.log"), "water: 3 published, 3 stored, 0 refused by the broker, 1 rejected", 0);
}

Test (adapters_e2e, spool_keeps_records_while_the_broker_is_down)
{
    tb_stop (&tb);
    char cmd[4096];
    /* the broker's data directory has no endpoints file while it is down */
    snprintf (cmd, sizeof cmd, "'%s' --endpoint '%s' --broker-key '%s' --key '%s' --quarantine '%s/water-q.jsonl' "
              "--spool '%s/spool' --wait 1 --meters '%s' '%s' 2>&1",
              tb_program ("SLUICE_WATER_ADAPTER"), tb.data_ep, tb.broker_pub, keys[WATER], tb.dir, tb.dir,
              EXAMPLE ("water-meters.csv"), EXAMPLE ("malformed/water-bad.jsonl"));
    int rc = tb_run (cmd, out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    TL_HAS (out, "water: 2 published, 0 stored, 0 refused by the broker, 4 rejected",
            "(kept in the spool)");

    tb_restart (&tb);
    C = s_partner_of (WATER);
    run_adapter (WATER, 0, "--spool '%s/spool' --wait 20 --meters '%s' /dev/null", tb.dir,
                 EXAMPLE ("water-meters.csv"));
    char subj[4][32];
    cr_assert_eq (receive (C, 2, WATER, subj), 2, "the spooled records arrive");
    cr_assert_str_eq (subj[0], "CIT-100001");
}

Test (adapters_e2e, power_receives_water_readings_as_json_lines)
{
    pid_t pid = s_spawn (POWER, "power-consumer.log", "--meters", EXAMPLE ("power-meters.csv"),
                         "--subscribe", "water.v1.MeterReading:joint-metering", "--output",
                         IN_DIR ("received.jsonl"), "--max", "2", NULL);
    tb_file_has (IN_DIR ("power-consumer.log"), "subscribed to water.v1.MeterReading for joint-metering", 10000);
    run_adapter (WATER, 1, "--meters '%s' '%s'", EXAMPLE ("water-meters.csv"),
                 EXAMPLE ("malformed/water-bad.jsonl"));

    cr_assert_eq (tl_broker_stop (pid, 0, 10000), 0, "the consumer stops after --max 2");
    FILE *f = fopen (IN_DIR ("received.jsonl"), "r");
    cr_assert_not_null (f);
    char line[4096];
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
    pid_t pid = s_spawn (HEALTH, "health.log", "--quarantine", IN_DIR ("health-q.jsonl"), "--serve",
                         s_path (SL_FIXTURES, "adt.mllp"), NULL);
    tb_file_has (IN_DIR ("health.log"), "answering queries about 5 records", 10000);

    sl_client_t *parking = tb_connect (&tb, keys[PARKING]);
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

    sl_param_t later[] = { { "since", "1795852800" } };     /* after both period starts */
    rc = sl_client_query (parking, "health.v1.Encounter", "NL-CIT-000101", "parking-fee-waiver",
                          later, 1, 5000, &reply);
    cr_assert_eq (rc, 0);
    cr_assert_eq (sl_reply_count (reply), 0);
    sl_reply_destroy (&reply);

    rc = sl_client_query (parking, "health.v1.Encounter", "NL-CIT-000101", "marketing",
                          NULL, 0, 5000, &reply);
    cr_assert_eq (rc, SL_EDENIED, "no grant for that purpose: rc %d", rc);
    sl_client_destroy (&parking, 0);

    cr_assert_eq (tl_broker_stop (pid, SIGTERM, 10000), 0, "the query server stops cleanly");
    tb_file_has (IN_DIR ("health.log"), "health: answered parking's query for health.v1.Encounter (parking-fee-waiver): 2 records", 0);
}

/*  ---------------------------------------------------------------------
 *  The real forms of issue 16, each from the bureau's file through its
 *  adapter and the broker to the permitted consumer, values checked there.
 */

/*  One expected field of a record: its name, its value as text (a string
 *  as is; a number, integer or boolean in C syntax), and what the value
 *  shows (NULL: nothing to say). */
typedef struct {
    const char *field, *want, *why;
} s_field_t;

/*  Receives one delivery of `owner`'s record type on c, acks it, and
 *  asserts its subject and each row of fields[n] on the decoded record:
 *  strings equal, integers and booleans equal, floating point within 1e-9;
 *  a failing row names its field. Returns the record (free with
 *  protobuf_c_message_free_unpacked). */
static ProtobufCMessage *
s_expect_record (sl_client_t *c, int owner, const char *subject, const s_field_t *fields, size_t n)
{
    const ProtobufCMessageDescriptor *desc = B[owner].desc;
    sl_delivery_t *d = NULL;
    cr_assert_eq (sl_client_recv (c, &d, 10000), 0, "a %s arrives: %s", B[owner].type,
                  sl_client_last_error (c));
    cr_assert_str_eq (sl_delivery_record_type (d), B[owner].type);
    cr_assert_str_eq (sl_delivery_subject (d), subject);
    size_t size;
    const void *body = sl_delivery_body (d, &size);
    ProtobufCMessage *m = protobuf_c_message_unpack (desc, NULL, size, body);
    cr_assert_not_null (m, "the body decodes as %s", B[owner].type);
    sl_client_ack (c, d);
    sl_delivery_destroy (&d);
    for (size_t i = 0; i < n; i++) {
        const char *name = fields[i].field, *want = fields[i].want;
        const char *why = fields[i].why ? fields[i].why : "";
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name (desc, name);
        cr_assert (f && f->label != PROTOBUF_C_LABEL_REPEATED, "%s has no single field %s",
                   B[owner].type, name);
        const void *v = (const char *) m + f->offset;
        if (f->type == PROTOBUF_C_TYPE_STRING)
            cr_assert_str_eq (*(char *const *) v, want, "%s %s", name, why);
        else if (f->type == PROTOBUF_C_TYPE_DOUBLE)
            cr_assert_float_eq (*(const double *) v, strtod (want, NULL), 1e-9, "%s %s", name, why);
        else if (f->type == PROTOBUF_C_TYPE_INT64)
            cr_assert_eq (*(const int64_t *) v, strtoll (want, NULL, 10), "%s %s", name, why);
        else if (f->type == PROTOBUF_C_TYPE_BOOL)
            cr_assert_eq (*(const protobuf_c_boolean *) v, atoi (want), "%s %s", name, why);
        else
            cr_assert_fail ("%s: field type %d is not checked here", name, (int) f->type);
    }
    return m;
}

#define S_EXPECT(c, owner, subject, fields) \
    s_expect_record ((c), (owner), (subject), (fields), sizeof (fields) / sizeof (fields)[0])

Test (adapters_e2e, apds_v4_session_reaches_health)
{
    static const s_field_t want[] = {
        { "id", "98bccb9c-2ffe-4ca4-8e7f-eb1ae4439c29", NULL },
        { "licence_plate", "BD18SMR", NULL },
        { "place_reference", "805430", NULL },
        { "district", "Manchester City Centre", NULL },
        { "actual_start", "1782889920", "09:12+02:00 is 07:12 UTC" },
        { "actual_end", "1782898800", NULL },
        { "amount", "9.7", NULL },
        { "currency", "GBP", NULL },
    };
    C = s_partner_of (PARKING);
    run_adapter (PARKING, 0, "--plates '%s' --places '%s' '%s'", CONFORMANCE ("apds/plates.csv"),
                 CONFORMANCE ("apds/places.csv"),
                 CONFORMANCE ("apds/a03-v4-session-from-the-openapi-description.json"));
    Parking__V1__Session *s = (Parking__V1__Session *) S_EXPECT (C, PARKING, "CIT-700001", want);
    cr_assert_eq (s->n_segments, 1);
    cr_assert_str_eq (s->segments[0]->rate_reference, "ar-77");
    protobuf_c_message_free_unpacked (&s->base, NULL);
}

Test (adapters_e2e, cold_water_multical21_alarm_reaches_power)
{
    static const s_field_t want[] = {
        { "media", "cold water", NULL },
        { "ref_device", "76348799", NULL },
        { "alarm_in_progress", "1", "status DRY is an alarm" },
        { "alarms", "DRY", NULL },
        { "water_consumption_m3", "6.408", NULL },
        { "target_m3", "6.408", NULL },
        { "date_observed", "1795852800", NULL },
    };
    C = s_partner_of (WATER);
    run_adapter (WATER, 0, "--meters '%s' '%s'", CONFORMANCE ("wmbus/meters.csv"),
                 CONFORMANCE ("wmbus/w01-multical21-cold-water-dry.jsonl"));
    protobuf_c_message_free_unpacked (S_EXPECT (C, WATER, "CIT-900001", want), NULL);
}

Test (adapters_e2e, luxembourg_smarty_telegram_reaches_water)
{
    static const s_field_t want[] = {
        { "ref_device", "SAG1030700089067", "0-0:42.0.0, hex-decoded" },
        { "district", "Luxembourg-Ville", NULL },
        { "active_energy_import_kwh", "6545.766", "1-0:1.8.0 in Wh, as kWh" },
        { "active_energy_import_t1_kwh", "5017.120", NULL },
        { "active_energy_import_t2_kwh", "1528.646", NULL },
        { "active_energy_export_kwh", "0.058", NULL },
        { "active_power_kw", "0.286", "286 W" },
        { "time_source", "meter", NULL },
        { "date_observed", "1665064214", "2022-10-06 15:50:14 CEST" },
        { "profile", "DSMR 5.0", NULL },
    };
    /* dsmr_parser's Sagemcom T210-D-r capture with the logical device name
       (0-0:42.0.0) a Smarty meter sends first, and its CRC recomputed */
    char *orig = read_whole (SL_CONFORMANCE, "dsmr/lu-smarty-sagemcom-t210dr.txt", "", NULL);
    char *hdr_end = strstr (orig, "\r\n\r\n");
    char *bang = strchr (orig, '!');
    cr_assert (hdr_end && bang);
    char tg[2048];
    int n = snprintf (tg, sizeof tg, "%.*s\r\n\r\n0-0:42.0.0(53414731303330373030303839303637)\r\n%.*s",
                      (int) (hdr_end - orig), orig, (int) (bang + 1 - (hdr_end + 4)), hdr_end + 4);
    snprintf (tg + n, sizeof tg - (size_t) n, "%04X\r\n", sl_dsmr_crc16 (tg, (size_t) n));
    free (orig);
    append (IN_DIR ("smarty.txt"), tg);
    append (IN_DIR ("lu-meters.csv"), "meter_id,citizen_id,district\nSAG1030700089067,LU-CIT-0042,Luxembourg-Ville\n");

    C = s_partner_of (POWER);
    run_adapter (POWER, 0, "--timezone Europe/Luxembourg --require-crc yes --meters '%s' '%s'",
                 IN_DIR ("lu-meters.csv"), IN_DIR ("smarty.txt"));
    protobuf_c_message_free_unpacked (S_EXPECT (C, POWER, "LU-CIT-0042", want), NULL);
}

Test (adapters_e2e, adt_a08_untyped_pid3_by_authority_reaches_parking)
{
    static const s_field_t want[] = {
        { "trigger_event", "A08", NULL },
        { "status", "in-progress", NULL },
        { "id", "Visit_0a3be81e-144b-4885-9b4e-c5cd33c8f038", NULL },
        { "class_code", "IMP", NULL },
        { "period_start", "1617837222", "2021-04-07 19:13:42 in Toronto (EDT)" },
    };
    const char *a08 = CONFORMANCE ("hl7/h02-lfh-adt-a08-untyped-pid3-by-authority.hl7");
    C = s_partner_of (HEALTH);
    /* by default the untyped identifier is not taken: refused, with the option that would select it */
    run_adapter (HEALTH, 1, "'%s'", a08);
    TL_HAS (out, "(to accept it: if repetition 1 is the citizen id, give --pid3-authority MRN)");
    tb_file_has (IN_DIR ("health-q.jsonl"), "\"hint\":\"if repetition 1 is the citizen id, give --pid3-authority MRN\"", 0);

    run_adapter (HEALTH, 0, "--pid3-authority MRN --timezone America/Toronto '%s'", a08);
    protobuf_c_message_free_unpacked (
        S_EXPECT (C, HEALTH, "0a8a1752-e336-43e1-bf7f-0c8f6f437ca3", want), NULL);
}

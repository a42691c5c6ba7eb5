/*  sluice-minimal-adapter: the smallest complete bureau adapter, as
    docs/ADAPTERS.md walks through it. One program, three jobs:

      publish   reads the bureau's export from stdin, one reading per line
                "METER;CITIZEN;DISTRICT;M3;UNIX_TIME", turns each good line
                into a water.v1.MeterReading and publishes it (waiting for the
                broker's ACK, which comes only after the record is on disk);
                a bad line is reported as "stdin:LINE:COL: reason", counted,
                and skipped: the rest carries on.
      receive   subscribes to TYPE for PURPOSE and prints what the owner's
                policy lets through, one JSON object per line, acking each
                after it is printed (the bureau's system has it then).
      ask       asks the owner of TYPE, through the broker, for the records
                about SUBJECT for PURPOSE and prints the answer.

    usage: sluice-minimal-adapter --data DIR --key NAME.key publish
           sluice-minimal-adapter --data DIR --key NAME.key receive TYPE PURPOSE COUNT
           sluice-minimal-adapter --data DIR --key NAME.key ask TYPE SUBJECT PURPOSE
    (--data and --key also from SLUICE_DATA and SLUICE_KEY.)

    Exit status: 0 done; 1 something was refused, denied or rejected (said
    on stderr); 2 bad usage; 3 could not connect. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include "sl_schema.h"
#include "sluice.h"
#include "water/v1/water.pb-c.h"

static int
s_is_default (const ProtobufCFieldDescriptor *f, const char *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: return !*(char *const *) p || !**(char *const *) p;
    case PROTOBUF_C_TYPE_INT64: return *(const int64_t *) p == 0;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM: return *(const int32_t *) p == 0;
    case PROTOBUF_C_TYPE_DOUBLE: return *(const double *) p == 0.0;
    case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *) p;
    default: return 1;
    }
}

/*  Renders a packed record of `record_type` as a JSON object text, field by
    field from its protobuf-c descriptor (fetched from the broker's schema
    registry by s_learn_type). Returns a malloc'ed string or NULL. */
static char *
s_record_json (const char *record_type, const void *body, size_t size)
{
    const sl_schema_t *schema = sl_schema_find (record_type);
    if (!schema)
        return NULL;
    ProtobufCMessage *m = protobuf_c_message_unpack (schema->descriptor, NULL, size, body);
    if (!m)
        return NULL;
    cJSON *o = cJSON_CreateObject ();
    for (unsigned i = 0; i < schema->descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &schema->descriptor->fields[i];
        const char *p = (const char *) m + f->offset;
        /* proto3: a field at its default value is not on the wire; a field
         * the owner's policy did not release arrives that way */
        if (f->label == PROTOBUF_C_LABEL_REPEATED
            || s_is_default (f, p))
            continue;
        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING:
            cJSON_AddStringToObject (o, f->name, *(char *const *) p);
            break;
        case PROTOBUF_C_TYPE_INT64:
            cJSON_AddNumberToObject (o, f->name, (double) *(const int64_t *) p);
            break;
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_ENUM:
            cJSON_AddNumberToObject (o, f->name, *(const int32_t *) p);
            break;
        case PROTOBUF_C_TYPE_DOUBLE:
            cJSON_AddNumberToObject (o, f->name, *(const double *) p);
            break;
        case PROTOBUF_C_TYPE_BOOL:
            cJSON_AddBoolToObject (o, f->name, *(const protobuf_c_boolean *) p);
            break;
        default:
            break;
        }
    }
    protobuf_c_message_free_unpacked (m, NULL);
    char *text = cJSON_PrintUnformatted (o);
    cJSON_Delete (o);
    return text;
}

/*  Splits one export line into its 5 fields and checks them. On a bad line
    returns -1 with the column and the reason. */
static int
s_parse_line (char *line, Water__V1__MeterReading *r, int *col, const char **why)
{
    char *field[5], *p = line;
    for (int i = 0; i < 5; i++) {
        field[i] = p;
        char *semi = strchr (p, ';');
        if (i < 4 && !semi) {
            *col = (int) (p - line) + (int) strlen (p) + 1;
            *why = "expected 5 fields METER;CITIZEN;DISTRICT;M3;UNIX_TIME";
            return -1;
        }
        if (semi)
            *semi = '\0';
        p = semi ? semi + 1 : p + strlen (p);
    }
    char *end;
    errno = 0;
    double m3 = strtod (field[3], &end);
    if (end == field[3] || *end || errno || m3 < 0) {
        *col = (int) (field[3] - line) + 1;
        *why = "M3 is not a non-negative number";
        return -1;
    }
    long long t = strtoll (field[4], &end, 10);
    if (end == field[4] || *end || t <= 0) {
        *col = (int) (field[4] - line) + 1;
        *why = "UNIX_TIME is not a positive number of seconds";
        return -1;
    }
    if (!*field[0] || !*field[1]) {
        *col = !*field[0] ? 1 : (int) (field[1] - line) + 1;
        *why = "METER and CITIZEN must not be empty";
        return -1;
    }
    r->ref_device = field[0];
    r->subject = field[1];
    r->district = field[2];
    r->water_consumption_m3 = m3;
    r->date_observed = t;
    return 0;
}

static int
s_publish (sl_client_t *client)
{
    char line[1024];
    int lineno = 0, stored = 0, rejected = 0, refused = 0;
    while (fgets (line, sizeof line, stdin)) {
        lineno++;
        line[strcspn (line, "\r\n")] = '\0';
        if (!*line || *line == '#')
            continue;
        Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
        char id[128];
        int col;
        const char *why;
        if (s_parse_line (line, &r, &col, &why) != 0) {
            /* bad input: say where and why, count it, carry on */
            fprintf (stderr, "stdin:%d:%d: %s\n", lineno, col, why);
            rejected++;
            continue;
        }
        int idlen = snprintf (id, sizeof id, "%s:%lld", r.ref_device,
                              (long long) r.date_observed);
        if (idlen < 0 || (size_t) idlen >= sizeof id) {
            fprintf (stderr, "stdin:%d:1: meter id too long (at most %zu bytes)\n",
                     lineno, sizeof id - 24);
            rejected++;
            continue;
        }
        r.id = id;
        uint8_t body[1024];
        size_t len = water__v1__meter_reading__pack (&r, body);
        sl_publish_meta_t meta = { NULL, r.subject, r.date_observed * 1000 };
        int rc = sl_client_publish (client, "water.v1.MeterReading", &meta, body, len, 10000);
        if (rc == 0)
            stored++;
        else {
            fprintf (stderr, "stdin:%d: refused by the broker: %s\n", lineno,
                     sl_client_last_error (client));
            refused++;
        }
    }
    printf ("%d stored, %d refused, %d rejected\n", stored, refused, rejected);
    return stored > 0 && !refused && !rejected ? 0 : 1;
}

/*  Record types are data registered in the broker: learn TYPE's
    descriptor once (admin command schema.get, open to every member), built
    at run time, so s_record_json can render it. */
static void
s_learn_type (const char *data, const char *key, const char *type)
{
    sl_client_options_t admin = { 0 };
    char buf[8192], err[512];
    if (sl_options_from_data_dir (&admin, data, 1, buf, sizeof buf, err, sizeof err) == 0) {
        admin.key_file = key;
        if (sl_schema_learn (&admin, type, 5000, NULL, err, sizeof err) == 0)
            return;
    }
    fprintf (stderr, "%s: %s (records are printed as null)\n", type, err);
}

static int
s_receive (sl_client_t *client, const char *type, const char *purpose, int count)
{
    int rc = sl_client_subscribe (client, type, purpose);
    if (rc != 0) {
        fprintf (stderr, "subscribe %s for %s: %s\n", type, purpose, sl_client_last_error (client));
        return 1;
    }
    fprintf (stderr, "subscribed to %s for %s\n", type, purpose);
    for (int n = 0; n < count; n++) {
        sl_delivery_t *d;
        if ((rc = sl_client_recv (client, &d, 10000)) != 0) {
            fprintf (stderr, "received %d of %d: %s\n", n, count, sl_strerror (rc));
            return 1;
        }
        size_t size;
        const void *body = sl_delivery_body (d, &size);
        char *record = s_record_json (sl_delivery_record_type (d), body, size);
        printf ("{\"owner\":\"%s\",\"rule\":\"%s\",\"record\":%s}\n", sl_delivery_owner (d),
                sl_delivery_rule_count (d) ? sl_delivery_rule (d, 0) : "",
                record ? record : "null");
        fflush (stdout);
        free (record);
        sl_client_ack (client, d);     /* after our system has it, not before */
        sl_delivery_destroy (&d);
    }
    return 0;
}

static int
s_ask (sl_client_t *client, const char *type, const char *subject, const char *purpose)
{
    sl_reply_t *reply;
    int rc = sl_client_query (client, type, subject, purpose, NULL, 0, 10000, &reply);
    if (rc != 0) {
        printf ("denied: %s\n", sl_client_last_error (client));
        return 1;
    }
    printf ("permitted: %zu record(s)\n", sl_reply_count (reply));
    for (size_t i = 0; i < sl_reply_count (reply); i++) {
        size_t size;
        const void *body = sl_reply_body (reply, i, &size);
        char *record = s_record_json (sl_reply_record_type (reply, i), body, size);
        printf ("%s\n", record ? record : "null");
        free (record);
    }
    sl_reply_destroy (&reply);
    return 0;
}

int
main (int argc, char **argv)
{
    const char *data = getenv ("SLUICE_DATA"), *key = getenv ("SLUICE_KEY");
    static const struct option longopts[] = {
        { "data", required_argument, NULL, 'd' }, { "key", required_argument, NULL, 'k' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
    static const char *usage =
        "usage: sluice-minimal-adapter --data DIR --key NAME.key\n"
        "         publish | receive TYPE PURPOSE COUNT | ask TYPE SUBJECT PURPOSE\n";
    int c;
    while ((c = getopt_long (argc, argv, "+", longopts, NULL)) != -1) {
        if (c == 'd')
            data = optarg;
        else if (c == 'k')
            key = optarg;
        else if (c == 'h') {
            printf ("%s\npublish  reads METER;CITIZEN;DISTRICT;M3;UNIX_TIME lines from stdin\n"
                    "receive  prints COUNT deliveries of TYPE for PURPOSE as JSON lines\n"
                    "ask      asks the owner of TYPE about SUBJECT for PURPOSE\n"
                    "--data and --key also from SLUICE_DATA and SLUICE_KEY\n", usage);
            return 0;
        } else
            return 2;
    }
    argv += optind;
    argc -= optind;
    int nargs = argc < 1 ? -1 : !strcmp (argv[0], "publish") ? 1
              : !strcmp (argv[0], "receive") || !strcmp (argv[0], "ask") ? 4 : -1;
    if (nargs != argc || !data || !key) {
        fputs (usage, stderr);
        return 2;
    }

    /* 1. connect: the broker's endpoint and public key from its data
     *    directory, our secret key; the CURVE handshake proves who we are */
    sl_client_options_t opts = { 0 };
    char buf[8192], err[512];
    if (sl_options_from_data_dir (&opts, data, 0, buf, sizeof buf, err, sizeof err) != 0) {
        fprintf (stderr, "%s\n", err);
        return 3;
    }
    opts.key_file = key;
    sl_client_t *client;
    if (sl_client_connect (&opts, &client, err, sizeof err) != 0) {
        fprintf (stderr, "connect: %s\n", err);
        return 3;
    }

    /* 2. do the job */
    int rc = !strcmp (argv[0], "publish") ? s_publish (client)
           : !strcmp (argv[0], "receive") ? (s_learn_type (data, key, argv[1]),
                                             s_receive (client, argv[1], argv[2], atoi (argv[3])))
           : s_ask (client, argv[1], argv[2], argv[3]);

    /* 3. leave: sends the last acks and waits a little for outstanding ACKs */
    sl_client_destroy (&client, 2000);
    return rc;
}

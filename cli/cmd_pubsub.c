/*  sluicectl pub / sub: generic tools for any registered record type, as
    mosquitto_pub/_sub are for an MQTT broker (docs/SCHEMAS.md, "pub and
    sub").

    Both learn the record type from the broker's registry (schema.get, open
    to every member) and convert with the proto3 JSON mapping
    (schemas/sl_json.h; time fields as RFC 3339). Both act as the member
    whose key --key gives. */
#include "ctl.h"
#include "sl_error.h"
#include "sl_json.h"
#include "sl_log.h"
#include "sl_schema.h"

#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t s_stop;

static void
s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

/*  Puts TYPE's registered version in force in this process. */
static const sl_schema_t *
s_learn (ctl_ctx_t *ctx, const char *type)
{
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    cJSON_AddStringToObject (args, "record_type", type);
    int rc = ctl_admin (ctx, "schema.get", args, &res);
    cJSON_Delete (args);
    if (rc != 0)
        return NULL;
    const char *b64 = ctl_str (res, "descriptor_set");
    size_t cap = strlen (b64) / 4 * 3 + 3, len = 0;
    uint8_t *set = malloc (cap);
    sl_schema_t *s = NULL;
    char err[600];
    const sl_schema_t *found = NULL;
    if (!*b64)
        found = sl_schema_find (type);      /* built into the broker (and this program) */
    else if (!set || sodium_base642bin (set, cap, b64, strlen (b64), NULL, &len, NULL,
                                        sodium_base64_VARIANT_ORIGINAL) != 0)
        ctl_error (ctx, "%s: the broker's descriptor set is not base64", type);
    else if (sl_schema_build (set, len, type, (uint32_t) ctl_num (res, "version"), &s, err,
                              sizeof err) != 0)
        ctl_error (ctx, "%s: %s", type, err);
    else if (sl_schema_install (&s, NULL) == 0)
        found = sl_schema_find (type);
    sl_schema_free (&s);
    free (set);
    cJSON_Delete (res);
    return found;
}

/*  Data-plane client as --key. */
static sl_client_t *
s_connect (ctl_ctx_t *ctx)
{
    const char *data = ctx->data_dir ? ctx->data_dir : getenv ("SLUICE_DATA");
    const char *key = ctx->key ? ctx->key : getenv ("SLUICE_KEY");
    if (!data || !*data)
        data = "./var/sluice";
    if (!key || !*key) {
        ctl_error (ctx, "give the member's key with --key FILE (or SLUICE_KEY)");
        return NULL;
    }
    if (!getenv ("SLUICE_LOG"))
        sl_log_set_level (SL_LOG_WARN);     /* stdout/stderr are the tool's output */
    sl_client_options_t opts;
    char buf[8192], err[1024];
    memset (&opts, 0, sizeof opts);
    if (sl_options_from_data_dir (&opts, data, 0, buf, sizeof buf, err, sizeof err) != 0) {
        ctl_error (ctx, "%s", err);
        return NULL;
    }
    opts.key_file = key;
    sl_client_t *c = NULL;
    int rc = sl_client_connect (&opts, &c, err, sizeof err);
    if (rc != 0) {
        ctl_error (ctx, "cannot connect to the broker: %s (%s)", err, sl_strerror (rc));
        return NULL;
    }
    return c;
}

/* ------------------------------------------------------------------- pub */

typedef struct {
    const char *subject, *purpose;
    long count;
    int ack;
    double wait_s;
} s_opts_t;

static int
s_opt (int c, const char *arg, void *p)
{
    s_opts_t *o = p;
    if (c == 's')
        o->subject = arg;
    else if (c == 'p')
        o->purpose = arg;
    else if (c == 'c')
        o->count = strtol (arg, NULL, 10);
    else if (c == 'a')
        o->ack = 1;
    else if (c == 'w')
        o->wait_s = strtod (arg, NULL);
    else
        return -1;
    return 0;
}

typedef struct {
    const char *source;
    long stored, refused;
} s_pub_t;

static s_pub_t *s_pub;

static void
s_on_ack (const uint8_t *id, int rc, const char *text, void *arg)
{
    (void) id;
    long line = (long) (intptr_t) arg;
    if (rc == 0)
        s_pub->stored++;
    else {
        s_pub->refused++;
        fprintf (stderr, "%s:%ld: refused by the broker: %s (%s)\n", s_pub->source, line,
                 text && *text ? text : sl_strerror (rc), sl_strerror (rc));
    }
}

/*  The string in field `name` of `m`, or NULL. */
static const char *
s_string_field (const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f =
        name ? protobuf_c_message_descriptor_get_field_by_name (m->descriptor, name) : NULL;
    if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    return *(const char *const *) ((const char *) m + f->offset);
}

static int64_t
s_event_time_ms (const sl_schema_t *s, const ProtobufCMessage *m)
{
    for (const char *const *t = s->time_fields; t && *t; t++) {
        const ProtobufCFieldDescriptor *f = sl_schema_field (s, *t);
        int64_t v;
        memcpy (&v, (const char *) m + f->offset, 8);
        if (v > 0 && v < INT64_MAX / 1000)
            return v * 1000;
    }
    return 0;
}

static int
s_pub_run (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("subject", 's'), { NULL, 0, NULL, 0 } };
    s_opts_t o = { 0 };
    int first, rc = ctl_parse (ctx, cmd, argc, argv, extra, s_opt, &o, &first);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (argc - first < 1 || argc - first > 2)
        return ctl_fail (ctx, 2, "pub needs TYPE and at most one FILE (default: standard input)");
    const char *type = argv[first];
    const char *path = argc - first == 2 ? argv[first + 1] : "-";
    FILE *in = strcmp (path, "-") == 0 ? stdin : fopen (path, "r");
    if (!in)
        return ctl_fail (ctx, 1, "%s: cannot open", path);
    s_pub_t st = { strcmp (path, "-") == 0 ? "stdin" : path, 0, 0 };
    s_pub = &st;
    const sl_schema_t *schema = s_learn (ctx, type);
    sl_client_t *client = schema ? s_connect (ctx) : NULL;
    if (!client) {
        if (in != stdin)
            fclose (in);
        return 1;
    }
    sl_json_options_t jo = { .is_time = sl_json_schema_is_time };
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0, rejected = 0, published = 0;
    while ((n = getline (&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t) n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '))
            len--;
        if (len == 0)
            continue;
        char err[600];
        cJSON *j = NULL;
        ProtobufCMessage *m = NULL;
        int l = 0, c = 0;
        if (sl_json_parse (line, len, &j, &l, &c, err, sizeof err) != 0) {
            const char *what = strstr (err, ": ");      /* after "line L, column C" */
            fprintf (stderr, "%s:%ld:%d: %s\n", st.source, lineno, c, what ? what + 2 : err);
            rejected++;
            continue;
        }
        if (sl_json_decode (j, schema->descriptor, &jo, &m, err, sizeof err) != 0) {
            fprintf (stderr, "%s:%ld: %s\n", st.source, lineno, err);
            cJSON_Delete (j);
            rejected++;
            continue;
        }
        cJSON_Delete (j);
        size_t size = protobuf_c_message_get_packed_size (m);
        uint8_t *body = malloc (size ? size : 1);
        if (!body) {
            protobuf_c_message_free_unpacked (m, NULL);
            ctl_error (ctx, "out of memory");
            break;
        }
        protobuf_c_message_pack (m, body);
        sl_publish_meta_t meta = {
            .subject = o.subject ? o.subject : s_string_field (m, schema->subject_field),
            .event_time_ms = s_event_time_ms (schema, m),
        };
        rc = sl_client_publish_async (client, type, &meta, body, size, s_on_ack,
                                      (void *) (intptr_t) lineno, NULL);
        free (body);
        protobuf_c_message_free_unpacked (m, NULL);
        if (rc != 0) {
            fprintf (stderr, "%s:%ld: not sent: %s\n", st.source, lineno, sl_strerror (rc));
            rejected++;
            continue;
        }
        published++;
    }
    free (line);
    if (in != stdin)
        fclose (in);
    rc = sl_client_flush (client, ctx->timeout_ms > 0 ? ctx->timeout_ms * 4 : 30000);
    if (rc != 0)
        ctl_error (ctx, "not every record was acknowledged: %s", sl_strerror (rc));
    sl_client_destroy (&client, 1000);
    if (ctx->json) {
        cJSON *r = cJSON_CreateObject ();
        cJSON_AddNumberToObject (r, "published", (double) published);
        cJSON_AddNumberToObject (r, "stored", (double) st.stored);
        cJSON_AddNumberToObject (r, "refused", (double) st.refused);
        cJSON_AddNumberToObject (r, "rejected", (double) rejected);
        ctl_print_json (r);
        cJSON_Delete (r);
    }
    else
        printf ("%s: %ld published, %ld stored, %ld refused by the broker, %ld rejected\n", type,
                published, st.stored, st.refused, rejected);
    return rc == 0 && st.refused == 0 && rejected == 0 && st.stored == published ? 0 : 1;
}

/* ------------------------------------------------------------------- sub */

static int
s_sub_run (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("purpose", 'p'), CTL_ARG ("count", 'c'), CTL_FLAG ("ack", 'a'),
        CTL_ARG ("wait", 'w'), { NULL, 0, NULL, 0 } };
    s_opts_t o = { 0 };
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_opt, &o, 1,
                                    "sub needs TYPE and --purpose P", &first);
    if (rc >= 0)
        return rc;
    if (!o.purpose)
        return ctl_fail (ctx, 2, "sub needs --purpose P (the purpose the owner's policy permits)");
    const char *type = argv[first];
    const sl_schema_t *schema = s_learn (ctx, type);
    sl_client_t *client = schema ? s_connect (ctx) : NULL;
    if (!client)
        return 1;
    if ((rc = sl_client_subscribe (client, type, o.purpose)) != 0) {
        ctl_error (ctx, "cannot subscribe to %s for %s: %s (%s)", type, o.purpose,
                   sl_client_last_error (client), sl_strerror (rc));
        sl_client_destroy (&client, 0);
        return 1;
    }
    fprintf (stderr, "subscribed to %s for %s\n", type, o.purpose);
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    sl_json_options_t jo = { .is_time = sl_json_schema_is_time };
    long got = 0;
    int64_t idle_ms = 0;
    int status = 0;
    while (!s_stop && (o.count <= 0 || got < o.count)) {
        sl_delivery_t *d = NULL;
        rc = sl_client_recv (client, &d, 250);
        if (rc == SL_ETIMEOUT) {
            idle_ms += 250;
            if (o.wait_s > 0 && idle_ms >= (int64_t) (o.wait_s * 1000))
                break;
            continue;
        }
        if (rc != 0) {
            status = ctl_fail (ctx, 1, "receiving stopped: %s", sl_strerror (rc));
            break;
        }
        idle_ms = 0;
        size_t size;
        const void *body = sl_delivery_body (d, &size);
        cJSON *rec = NULL, *out = cJSON_CreateObject ();
        char err[300], hex[2 * SL_MESSAGE_ID_LEN + 1];
        const sl_schema_t *s = sl_schema_find (sl_delivery_record_type (d));
        sl_message_id_hex (sl_delivery_message_id (d), hex);
        cJSON_AddStringToObject (out, "record_type", sl_delivery_record_type (d));
        cJSON_AddStringToObject (out, "owner", sl_delivery_owner (d));
        cJSON_AddStringToObject (out, "purpose", sl_delivery_purpose (d));
        cJSON_AddStringToObject (out, "subject", sl_delivery_subject (d));
        cJSON_AddStringToObject (out, "message_id", hex);
        cJSON_AddNumberToObject (out, "event_time_ms", (double) sl_delivery_event_time_ms (d));
        cJSON *rules = cJSON_AddArrayToObject (out, "rules");
        for (size_t k = 0; k < sl_delivery_rule_count (d); k++)
            cJSON_AddItemToArray (rules, cJSON_CreateString (sl_delivery_rule (d, k)));
        if (s && sl_json_encode_packed (s->descriptor, body, size, &jo, &rec, err, sizeof err) == 0)
            cJSON_AddItemToObject (out, "record", rec);
        else {
            cJSON_AddNullToObject (out, "record");
            fprintf (stderr, "%s: %s\n", hex, s ? err : "record type not known here");
        }
        char *text = cJSON_PrintUnformatted (out);
        cJSON_Delete (out);
        if (text) {
            printf ("%s\n", text);
            free (text);
        }
        fflush (stdout);
        if (o.ack)
            sl_client_ack (client, d);
        sl_delivery_destroy (&d);
        got++;
    }
    if (o.ack)
        sl_client_flush (client, 5000);
    sl_client_destroy (&client, 1000);
    fprintf (stderr, "%ld record%s received%s\n", got, got == 1 ? "" : "s",
             o.ack ? " and acknowledged" : " (not acknowledged: they stay queued)");
    return status;
}

static const ctl_cmd_t s_pub_cmds[] = {
    { NULL, "TYPE [--subject ID] [FILE|-]",
      "publish NDJSON records (one JSON object a line, proto3 JSON mapping) as the --key member",
      "Each line is converted with the record type's registered descriptor (int64 as\n"
      "strings or numbers, bytes as base64, enums by name, time fields as RFC 3339 or\n"
      "Unix seconds) and published; every record is acknowledged durably before the\n"
      "end. Bad lines are reported as FILE:LINE: $.path: what was wrong, and skipped.\n"
      "Prints counts; exit status 1 if a line was rejected or refused.\n"
      "  --subject ID     the data subject of every record (default: the record's\n"
      "                   subject field)\n",
      1, s_pub_run },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

static const ctl_cmd_t s_sub_cmds[] = {
    { NULL, "TYPE --purpose P [--count N] [--ack] [--wait S]",
      "print the records delivered to the --key member as NDJSON",
      "One line per delivery: {record_type, owner, purpose, subject, message_id,\n"
      "event_time_ms, rules, record} with the record in the proto3 JSON mapping, as the\n"
      "owner's policy leaves it.\n"
      "  --purpose P      the purpose to subscribe for\n"
      "  --count N        stop after N records (default: until interrupted)\n"
      "  --ack            acknowledge what was printed (default: it stays queued)\n"
      "  --wait S         stop after S seconds without a delivery\n",
      1, s_sub_run },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_pub = { "pub", "publish NDJSON records of any registered type", s_pub_cmds };
const ctl_group_t ctl_group_sub = { "sub", "receive records of any registered type as NDJSON", s_sub_cmds };

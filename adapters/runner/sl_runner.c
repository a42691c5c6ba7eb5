/*  sl_runner — see sl_runner.h.
 *
 *  Design notes:
 *  1. One source at a time. The format's callbacks see begin, feed... and
 *     end for one source before the next begins, so a parser's stream state
 *     (a partial line, half a telegram) never mixes two files. With --follow
 *     the last source is kept open and read as it grows; the others are read
 *     to their end first.
 *  2. Publishing is asynchronous: records are queued with
 *     sl_client_publish_async and the broker's ACKs are taken in between
 *     reads (sl_client_poll with no wait), so reading never waits for the
 *     broker. At the end the runner flushes: it waits until every record is
 *     stored or refused. With --spool, records not yet stored survive an
 *     adapter restart and are sent when the broker is back.
 *  3. Nothing is dropped silently: every record is counted as published,
 *     stored, refused (by the broker) or rejected (quarantined with its
 *     reason and raw bytes).
 */
#include "sl_runner.h"
#include "sl_quarantine.h"
#include "sl_explain.h"
#include "sl_mono.h"
#include "sl_signal.h"
#include "sl_text.h"
#include "sluice.h"
#include "sl_schema.h"

#include <dirent.h>
#include <sodium.h>
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct sl_runner {
    const sl_format_t *format;
    void *state;
    sl_client_t *client;        /* NULL with --dry-run */
    sl_quarantine_t *quarantine;
    const char *quarantine_path;
    const char *source;
    int following, quiet, progress;
    uint64_t published, stored, refused, failed;
    off_t size, done;           /* of the current source, for progress */
    double last_progress;
    int serve;                  /* keep records to answer queries */
    sl_client_options_t admin;  /* admin plane, to fetch record types (--data) */
    char admin_buf [8192];
    int has_admin;
    struct s_kept *kept;        /* what was published, for queries */
    size_t nkept, capkept;
    uint64_t queries;
    sl_explain_t *explain;      /* with --explain: what the parser read from where */
    size_t explained;
};

/*  One published record, kept to answer queries (--serve). */
struct s_kept {
    char *record_type, *subject;
    int64_t event_time_s;
    uint8_t *body;
    size_t size;
};

const char *
sl_runner_source (const sl_runner_t *r)
{
    return r->source;
}

int
sl_runner_following (const sl_runner_t *r)
{
    return r->following;
}

sl_explain_t *
sl_runner_explain (sl_runner_t *r)
{
    return r->explain;
}

/*  With --explain: prints what the parser noted for the record just read. */
static void
s_explain_flush (sl_runner_t *r, const char *verdict)
{
    if (!r->explain)
        return;
    r->explained++;
    printf ("record %zu: %s\n%s", r->explained, verdict, sl_explain_text (r->explain));
    sl_explain_clear (r->explain);
}

/*  ---------------------------------------------------------------------
 *  --dry-run prints records as JSON lines; the field names are the schema's.
 */

static void s_print_message (FILE *out, const ProtobufCMessage *m);

static void
s_print_string (FILE *out, const char *s)
{
    size_t n = strlen (s);
    char *buf = malloc (6 * n + 1);
    if (!buf)
        return;
    sl_json_escape (s, n, buf);
    fprintf (out, "\"%s\"", buf);
    free (buf);
}

static void
s_print_value (FILE *out, const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: s_print_string (out, *(char *const *) p); break;
    case PROTOBUF_C_TYPE_INT64: fprintf (out, "%lld", (long long) *(const int64_t *) p); break;
    case PROTOBUF_C_TYPE_DOUBLE: fprintf (out, "%.15g", *(const double *) p); break;
    case PROTOBUF_C_TYPE_BOOL: fputs (*(const protobuf_c_boolean *) p ? "true" : "false", out); break;
    case PROTOBUF_C_TYPE_MESSAGE: s_print_message (out, *(ProtobufCMessage *const *) p); break;
    default: fputs ("null", out); break;
    }
}

static size_t
s_size_of (const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64: return sizeof (int64_t);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof (double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof (protobuf_c_boolean);
    default: return sizeof (void *);
    }
}

static void
s_print_message (FILE *out, const ProtobufCMessage *m)
{
    fputc ('{', out);
    for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &m->descriptor->fields [i];
        const char *p = (const char *) m + f->offset;
        fprintf (out, "%s\"%s\":", i ? "," : "", f->name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *) ((const char *) m + f->quantifier_offset);
            const char *arr = *(char *const *) p;
            fputc ('[', out);
            for (size_t k = 0; k < n; k++) {
                if (k)
                    fputc (',', out);
                s_print_value (out, f, arr + k * s_size_of (f));
            }
            fputc (']', out);
        }
        else
            s_print_value (out, f, p);
    }
    fputc ('}', out);
}

/*  --------------------------------------------------------------------- */

static void
s_progress (sl_runner_t *r, int final)
{
    if (!r->progress)
        return;
    double now = sl_mono_s ();
    if (!final && now - r->last_progress < 0.2)
        return;
    r->last_progress = now;
    char pct [16] = "";
    if (r->size > 0)
        snprintf (pct, sizeof pct, " %3d%%", (int) (100.0 * (double) r->done / (double) r->size));
    fprintf (stderr, "\r\033[K%s: %s%s  published %llu, stored %llu, rejected %llu",
             r->format->bureau, r->source ? r->source : "", pct,
             (unsigned long long) r->published, (unsigned long long) r->stored,
             (unsigned long long) sl_quarantine_rejected (r->quarantine));
    if (final)
        fputc ('\n', stderr);
}

static void
s_on_publish (const uint8_t *message_id, int rc, const char *text, void *arg)
{
    sl_runner_t *r = arg;
    if (rc == 0) {
        r->stored++;
        return;
    }
    r->refused++;
    char hex [2 * SL_MESSAGE_ID_LEN + 1];
    sl_message_id_hex (message_id, hex);
    if (r->progress)
        fputs ("\r\033[K", stderr);
    fprintf (stderr, "%s: the broker refused record %s: %s (%s)\n", r->format->bureau, hex,
             text && *text ? text : "no reason given", sl_strerror (rc));
}

/*  Keeps a copy of a published record when serving queries. Out of memory
 *  only means the record cannot be found by a query; it is still published. */
static void
s_keep (sl_runner_t *r, const char *record_type, const char *subject, int64_t when,
        const uint8_t *body, size_t size)
{
    if (!r->serve)
        return;
    if (r->nkept == r->capkept) {
        size_t ncap = r->capkept ? r->capkept * 2 : 256;
        struct s_kept *nk = realloc (r->kept, ncap * sizeof *nk);
        if (!nk)
            return;
        r->kept = nk;
        r->capkept = ncap;
    }
    struct s_kept *k = &r->kept [r->nkept];
    k->record_type = strdup (record_type);
    k->subject = strdup (subject ? subject : "");
    k->body = malloc (size ? size : 1);
    if (!k->record_type || !k->subject || !k->body) {
        free (k->record_type);
        free (k->subject);
        free (k->body);
        return;
    }
    if (size)
        memcpy (k->body, body, size);
    k->size = size;
    k->event_time_s = when;
    r->nkept++;
}

/*  Owner side: answers a query with the kept records of its type and
 *  subject, optionally within [since, until] (Unix seconds, parameters). */
static int
s_on_query (sl_query_t *q, void *arg)
{
    sl_runner_t *r = arg;
    const char *type = sl_query_record_type (q), *subject = sl_query_subject (q);
    const char *since = sl_query_param (q, "since"), *until = sl_query_param (q, "until");
    int64_t lo = since ? atoll (since) : INT64_MIN, hi = until ? atoll (until) : INT64_MAX;
    size_t n = 0;
    r->queries++;
    for (size_t i = 0; i < r->nkept; i++) {
        struct s_kept *k = &r->kept [i];
        if (strcmp (k->record_type, type) || strcmp (k->subject, subject ? subject : "")
         || k->event_time_s < lo || k->event_time_s > hi)
            continue;
        if (sl_query_add (q, k->body, k->size, k->subject, k->event_time_s * 1000)) {
            sl_query_fail (q, "the adapter ran out of memory answering");
            return SL_ENOMEM;
        }
        n++;
    }
    if (!r->quiet)
        fprintf (stderr, "%s: answered %s's query for %s (%s): %zu records\n", r->format->bureau,
                 sl_query_asker (q), type, sl_query_purpose (q), n);
    return 0;
}

/*  The message id of a record: BLAKE2b-128 of its record type and packed
 *  body. An adapter that is killed and run again over the same export sends
 *  the records it sent before under the same ids, so the broker stores each
 *  one once (its de-duplication is by message_id); random ids would turn
 *  every re-read record into a second copy. Records with identical bytes
 *  are the same fact and are stored once. Cannot fail. */
static void
s_message_id (const char *record_type, const uint8_t *body, size_t size,
              uint8_t id [SL_MESSAGE_ID_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init (&st, NULL, 0, SL_MESSAGE_ID_LEN);
    crypto_generichash_update (&st, (const unsigned char *) record_type, strlen (record_type) + 1);
    crypto_generichash_update (&st, body, size);
    crypto_generichash_final (&st, id, SL_MESSAGE_ID_LEN);
}

/*  Packs `msg` into body[size], keeps it (--keep) and gives its message id
    (into id) and publish meta. */
static sl_publish_meta_t
s_stage (sl_runner_t *r, const char *record_type, const ProtobufCMessage *msg,
         const char *subject, int64_t event_time_s, uint8_t *body, size_t size,
         uint8_t id [SL_MESSAGE_ID_LEN])
{
    protobuf_c_message_pack (msg, body);
    s_keep (r, record_type, subject, event_time_s, body, size);
    s_message_id (record_type, body, size, id);
    return (sl_publish_meta_t) { id, subject, event_time_s * 1000 };
}

int
sl_runner_publish (sl_runner_t *r, const char *record_type, const ProtobufCMessage *msg,
                   const char *subject, int64_t event_time_s)
{
    sl_quarantine_accept (r->quarantine);
    if (!r->client) {
        s_explain_flush (r, "accepted, as this record:");
        if (r->explain)
            fputs ("  => ", stdout);
        s_print_message (stdout, msg);
        fputc ('\n', stdout);
        r->published++;
        r->stored++;
        return 0;
    }
    size_t size = protobuf_c_message_get_packed_size (msg);
    uint8_t small [1024];
    uint8_t *body = size <= sizeof small ? small : malloc (size);
    if (!body) {
        r->failed++;
        return SL_ENOMEM;
    }
    uint8_t id [SL_MESSAGE_ID_LEN];
    sl_publish_meta_t meta = s_stage (r, record_type, msg, subject, event_time_s, body, size, id);
    int rc = sl_client_publish_async (r->client, record_type, &meta, body, size,
                                      s_on_publish, r, NULL);
    if (body != small)
        free (body);
    if (rc) {
        r->failed++;
        fprintf (stderr, "%s: could not queue a %s record: %s\n", r->format->bureau,
                 record_type, sl_client_last_error (r->client));
        return rc;
    }
    r->published++;
    return 0;
}

int
sl_runner_publish_wait (sl_runner_t *r, const char *record_type, const ProtobufCMessage *msg,
                        const char *subject, int64_t event_time_s, char *err, size_t errlen)
{
    if (!r->client)
        return sl_runner_publish (r, record_type, msg, subject, event_time_s);
    sl_quarantine_accept (r->quarantine);
    size_t size = protobuf_c_message_get_packed_size (msg);
    uint8_t *body = malloc (size ? size : 1);
    if (!body) {
        snprintf (err, errlen, "out of memory");
        return SL_ENOMEM;
    }
    uint8_t id [SL_MESSAGE_ID_LEN];
    sl_publish_meta_t meta = s_stage (r, record_type, msg, subject, event_time_s, body, size, id);
    r->published++;
    int rc = sl_client_publish (r->client, record_type, &meta, body, size, 30000);
    free (body);
    if (rc == 0)
        r->stored++;
    else {
        r->refused++;
        snprintf (err, errlen, "%s", sl_client_last_error (r->client));
    }
    return rc;
}

void
sl_runner_set_source (sl_runner_t *r, const char *source)
{
    r->source = source;
}

int
sl_runner_stopping (void)
{
    return sl_signal_stop != 0;
}

void
sl_runner_reject (sl_runner_t *r, size_t record, const char *reason, const void *raw, size_t rawlen)
{
    if (r->progress)
        fputs ("\r\033[K", stderr);
    /* a parser's reason may end in '\n' and the advice that would accept it */
    char text [2048];
    snprintf (text, sizeof text, "%s", reason ? reason : "");
    char *hint = strchr (text, '\n');
    if (hint)
        *hint++ = 0;
    if (!r->quiet)
        fprintf (stderr, "%s: rejected: %s%s%s%s\n", r->format->bureau, text,
                 hint ? " (to accept it: " : "", hint ? hint : "", hint ? ")" : "");
    if (r->explain) {
        s_explain_flush (r, "rejected");
        printf ("  reason: %s\n%s%s%s", text, hint ? "  to accept it: " : "", hint ? hint : "",
                hint ? "\n" : "");
    }
    if (sl_quarantine_add_hint (r->quarantine, r->source, record, text, hint, raw, rawlen))
        fprintf (stderr, "%s: could not write to the quarantine file %s\n",
                 r->format->bureau, r->quarantine_path);
}

/*  Adds the regular files of directory `dir`, sorted, to the source list. */
static int
s_add_dir (const char *dir, char ***list, size_t *n)
{
    struct dirent **ents;
    int k = scandir (dir, &ents, NULL, alphasort);
    if (k < 0)
        return -1;
    for (int i = 0; i < k; i++) {
        char path [4096];
        struct stat st;
        snprintf (path, sizeof path, "%s/%s", dir, ents [i]->d_name);
        if (ents [i]->d_name [0] != '.' && stat (path, &st) == 0 && S_ISREG (st.st_mode)) {
            char **nl = realloc (*list, (*n + 1) * sizeof *nl);
            if (nl) {
                *list = nl;
                nl [(*n)++] = strdup (path);
            }
        }
        free (ents [i]);
    }
    free (ents);
    return 0;
}

/*  Reads one source through the format. Returns 0, or -1 if it could not be
 *  opened or read (reported). */
static int
s_read_source (sl_runner_t *r, const char *path, int follow)
{
    int fd = strcmp (path, "-") == 0 ? 0 : open (path, O_RDONLY);
    if (fd < 0) {
        fprintf (stderr, "%s: %s: %s\n", r->format->bureau, path, strerror (errno));
        return -1;
    }
    struct stat st;
    r->size = fstat (fd, &st) == 0 && S_ISREG (st.st_mode) ? st.st_size : 0;
    r->done = 0;
    r->source = fd == 0 ? "stdin" : path;
    r->following = follow && fd != 0;
    r->format->begin (r->state, r, r->source);
    static char buf [65536];
    int rc = 0;
    while (!sl_signal_stop) {
        ssize_t n = read (fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf (stderr, "%s: %s: %s\n", r->format->bureau, path, strerror (errno));
            rc = -1;
            break;
        }
        if (n == 0) {
            if (!r->following)
                break;
            /* following: wait for more, keep the broker link busy meanwhile */
            if (r->client)
                sl_client_poll (r->client, 250);
            else
                usleep (250 * 1000);
            s_progress (r, 0);
            continue;
        }
        r->done += n;
        if (r->size && r->done > r->size)
            r->size = r->done;
        r->format->feed (r->state, r, buf, (size_t) n);
        if (r->client)
            sl_client_poll (r->client, 0);
        s_progress (r, 0);
    }
    r->format->end (r->state, r);
    if (fd != 0)
        close (fd);
    return rc;
}

/*  Consumer side: subscribes, and writes every delivered record as one JSON
 *  line for the bureau's system to ingest; a delivery is acked only after
 *  its line is written and flushed, so a crash repeats a line rather than
 *  losing one (the message_id tells repeats apart). Runs until SIGINT /
 *  SIGTERM or `max` deliveries. Returns 0, or -1 (reported). */
static int
s_consume (sl_runner_t *r, const char *const *subs, size_t nsubs, const char *output, long max)
{
    FILE *out = output ? fopen (output, "a") : stdout;
    if (!out) {
        fprintf (stderr, "%s: %s: %s\n", r->format->program, output, strerror (errno));
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < nsubs; i++) {
        char type [128];
        const char *colon = strchr (subs [i], ':');
        snprintf (type, sizeof type, "%.*s", (int) (colon - subs [i]), subs [i]);
        int src = sl_client_subscribe (r->client, type, colon + 1);
        if (src) {
            fprintf (stderr, "%s: cannot subscribe to %s for %s: %s (%s)\n", r->format->program,
                     type, colon + 1, sl_client_last_error (r->client), sl_strerror (src));
            rc = -1;
            goto out;
        }
        /* the record type's descriptor comes from the broker's registry */
        char err [600];
        if (!r->has_admin)
            fprintf (stderr, "%s: %s: no --data DIR to fetch the record type from; its records "
                     "are written with \"record\": null\n", r->format->program, type);
        else if ((src = sl_schema_learn (&r->admin, type, 5000, NULL, err, sizeof err)) != 0)
            fprintf (stderr, "%s: %s: cannot fetch the record type: %s; its records are "
                     "written with \"record\": null\n", r->format->program, type, err);
        fprintf (stderr, "%s: subscribed to %s for %s\n", r->format->bureau, type, colon + 1);
    }
    long n = 0;
    while (!sl_signal_stop && (max <= 0 || n < max)) {
        sl_delivery_t *d = NULL;
        int src = sl_client_recv (r->client, &d, 250);
        if (src == SL_ETIMEOUT)
            continue;
        if (src) {
            fprintf (stderr, "%s: receiving stopped: %s\n", r->format->program, sl_client_last_error (r->client));
            rc = -1;
            break;
        }
        const char *type = sl_delivery_record_type (d);
        size_t size;
        const void *body = sl_delivery_body (d, &size);
        const sl_schema_t *schema = sl_schema_find (type);
        ProtobufCMessage *m = schema ? protobuf_c_message_unpack (schema->descriptor, NULL, size, body) : NULL;
        char hex [2 * SL_MESSAGE_ID_LEN + 1];
        sl_message_id_hex (sl_delivery_message_id (d), hex);
        fprintf (out, "{\"record_type\":");
        s_print_string (out, type);
        fprintf (out, ",\"owner\":");
        s_print_string (out, sl_delivery_owner (d));
        fprintf (out, ",\"purpose\":");
        s_print_string (out, sl_delivery_purpose (d));
        fprintf (out, ",\"message_id\":\"%s\",\"event_time_ms\":%lld,\"rules\":[", hex,
                 (long long) sl_delivery_event_time_ms (d));
        for (size_t k = 0; k < sl_delivery_rule_count (d); k++) {
            if (k)
                fputc (',', out);
            s_print_string (out, sl_delivery_rule (d, k));
        }
        fprintf (out, "],\"record\":");
        if (m)
            s_print_message (out, m);
        else
            fputs ("null", out);
        fputs ("}\n", out);
        if (m)
            protobuf_c_message_free_unpacked (m, NULL);
        if (fflush (out) != 0) {
            fprintf (stderr, "%s: cannot write deliveries: %s\n", r->format->program, strerror (errno));
            sl_delivery_destroy (&d);
            rc = -1;
            break;
        }
        sl_client_ack (r->client, d);
        sl_delivery_destroy (&d);
        n++;
    }
    sl_client_flush (r->client, 5000);
    fprintf (stderr, "%s: %ld records received\n", r->format->bureau, n);
out:
    if (out != stdout)
        fclose (out);
    return rc;
}

static void
s_usage (const sl_format_t *f, FILE *out)
{
    fprintf (out,
        "usage: %s [OPTIONS] [FILE|DIR|-]...\n"
        "%s\n\n"
        "Reads FILEs, the files of each DIR (sorted by name), or stdin ('-' or\n"
        "nothing), publishes the records through the sluice broker, and writes\n"
        "every input record it cannot read to the quarantine file.\n\n"
        "Broker:\n"
        "  --data DIR         broker data directory (endpoints, broker.pub) [$SLUICE_DATA]\n"
        "  --endpoint EP      or the broker's data endpoint, tcp://HOST:PORT, ...\n"
        "  --broker-key FILE  ... with its public key file (broker.pub)\n"
        "  --key FILE         this bureau's secret key file, mode 0600 [$SLUICE_KEY]\n"
        "  --spool DIR        keep records not yet stored by the broker here (LMDB),\n"
        "                     so they survive a restart of the adapter\n"
        "  --wait SECONDS     at the end, wait this long for the broker to store\n"
        "                     every record [60]; what is left stays in the spool\n"
        "  --dry-run          do not connect: print the records as JSON lines\n"
        "  --explain FILE     do not connect: for each record of FILE print what is read\n"
        "                     from where (field, position, value, unit, zone), then the\n"
        "                     record or why it is refused and what would accept it\n"
        "Receiving (this bureau as a consumer):\n"
        "  --subscribe TYPE:PURPOSE  receive records of TYPE for PURPOSE (repeatable);\n"
        "                     without FILE arguments, only receive\n"
        "  --output FILE      append received records as JSON lines [stdout]\n"
        "  --max N            stop after N records\n"
        "Answering (this bureau as the owner):\n"
        "  --serve            answer queries about the records read in this run\n"
        "                     (parameters since/until: Unix seconds), and keep\n"
        "                     running after the inputs until SIGINT/SIGTERM\n"
        "Input:\n"
        "  --follow           keep reading the last FILE as it grows, until SIGINT/SIGTERM\n"
        "  --quarantine FILE  where rejected input goes, as JSON lines [%s-quarantine.jsonl]\n"
        "  --quiet            do not log each rejected record on stderr\n"
        "  --help             this text\n"
        "%s\n"
        "Exit status: 0 all records stored; 1 some rejected or refused; 2 bad\n"
        "options; 3 could not run.\n",
        f->program, f->summary, f->bureau, f->options_help ? f->options_help : "");
}

int
sl_runner_load (const char *program, const char *tz_name, sl_tz_t **tz, const char *option,
                const char *what, const char *path, int flags, sl_lookup_t **registry)
{
    char err [512];
    if (option && !path) {
        fprintf (stderr, "%s: need --%s FILE (%s)\n", program, option, what);
        return -1;
    }
    if (tz_name && !(*tz = sl_tz_load (tz_name, err, sizeof err))) {
        fprintf (stderr, "%s: --timezone: %s\n", program, err);
        return -1;
    }
    if (option && !(*registry = sl_lookup_load (path, flags, err, sizeof err))) {
        fprintf (stderr, "%s: %s\n", program, err);
        return -1;
    }
    return 0;
}

int
sl_runner_main (int argc, char **argv, const sl_format_t *format, void *state)
{
    enum { O_DATA = 1, O_KEY, O_SPOOL, O_DRY, O_FOLLOW, O_QUAR, O_QUIET, O_HELP, O_WAIT, O_ENDPOINT, O_BROKER_KEY, O_SUBSCRIBE, O_OUTPUT, O_MAX, O_SERVE, O_EXPLAIN, O_BUREAU = 100 };
    struct option opts [32] = {
        { "data", required_argument, NULL, O_DATA }, { "key", required_argument, NULL, O_KEY },
        { "spool", required_argument, NULL, O_SPOOL }, { "dry-run", no_argument, NULL, O_DRY },
        { "follow", no_argument, NULL, O_FOLLOW }, { "quarantine", required_argument, NULL, O_QUAR },
        { "quiet", no_argument, NULL, O_QUIET }, { "help", no_argument, NULL, O_HELP },
        { "wait", required_argument, NULL, O_WAIT },
        { "endpoint", required_argument, NULL, O_ENDPOINT },
        { "broker-key", required_argument, NULL, O_BROKER_KEY },
        { "subscribe", required_argument, NULL, O_SUBSCRIBE },
        { "output", required_argument, NULL, O_OUTPUT },
        { "max", required_argument, NULL, O_MAX },
        { "serve", no_argument, NULL, O_SERVE },
        { "explain", required_argument, NULL, O_EXPLAIN },
    };
    size_t nopt = O_EXPLAIN;   /* the common options above: one per O_* code, from 1 */
    const size_t cap = sizeof opts / sizeof opts [0] - 1;   /* room for the terminator */
    for (size_t i = 0; format->options && format->options [i].name && nopt < cap; i++)
        opts [nopt++] = (struct option) { format->options [i].name, required_argument, NULL, O_BUREAU + (int) i };
    opts [nopt] = (struct option) { NULL, 0, NULL, 0 };

    const char *data = getenv ("SLUICE_DATA"), *key = getenv ("SLUICE_KEY"), *spool = NULL;
    const char *endpoint = NULL, *broker_key = NULL, *output = NULL;
    const char *subs [8];
    size_t nsubs = 0;
    long max_deliveries = 0;
    char qdefault [256];
    snprintf (qdefault, sizeof qdefault, "%s-quarantine.jsonl", format->bureau);
    sl_runner_t r = { .format = format, .state = state, .quarantine_path = qdefault };
    int dry = 0, follow = 0, wait_s = 60, c;
    const char *explain_file = NULL;
    while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: data = optarg; break;
        case O_KEY: key = optarg; break;
        case O_ENDPOINT: endpoint = optarg; break;
        case O_SUBSCRIBE:
            if (nsubs == 8 || !strchr (optarg, ':')) {
                fprintf (stderr, "%s: --subscribe RECORD_TYPE:PURPOSE, at most 8 times\n", format->program);
                return 2;
            }
            subs [nsubs++] = optarg;
            break;
        case O_OUTPUT: output = optarg; break;
        case O_MAX: max_deliveries = atol (optarg); break;
        case O_SERVE: r.serve = 1; break;
        case O_EXPLAIN:
            explain_file = optarg;
            dry = 1;
            if (!r.explain && !(r.explain = sl_explain_new ()))
                return 3;
            break;
        case O_BROKER_KEY: broker_key = optarg; break;
        case O_SPOOL: spool = optarg; break;
        case O_DRY: dry = 1; break;
        case O_FOLLOW: follow = 1; break;
        case O_QUAR: r.quarantine_path = optarg; break;
        case O_QUIET: r.quiet = 1; break;
        case O_WAIT:
            wait_s = atoi (optarg);
            if (wait_s < 0 || wait_s > 86400) {
                fprintf (stderr, "%s: --wait takes seconds, 0 to 86400\n", format->program);
                return 2;
            }
            break;
        case O_HELP: s_usage (format, stdout); return 0;
        default:
            if (c >= O_BUREAU && c < O_BUREAU + 32) {
                const sl_runner_option_t *o = &format->options [c - O_BUREAU];
                if (o->at != SL_RUNNER_CALL)
                    *(const char **) ((char *) state + o->at) = optarg;
                else if (format->option (state, o->name, optarg))
                    return 2;
                break;
            }
            fprintf (stderr, "%s: see --help\n", format->program);
            return 2;
        }
    }
    if (dry && (nsubs || r.serve)) {
        fprintf (stderr, "%s: --subscribe and --serve need a broker, not --dry-run\n", format->program);
        return 2;
    }
    if (!dry && (!key || (!data && !(endpoint && broker_key)))) {
        fprintf (stderr, "%s: need --key FILE and either --data DIR or --endpoint EP with "
                 "--broker-key FILE (or $SLUICE_KEY, $SLUICE_DATA), or --dry-run\n", format->program);
        return 2;
    }
    if (format->start (state)) {
        if (format->stop)
            format->stop (state);   /* what start made before it failed */
        sl_explain_destroy (&r.explain);
        return 2;
    }

    int status = 3;
    char **sources = NULL;
    size_t nsources = 0;
    r.quarantine = sl_quarantine_new (r.quarantine_path);
    if (!r.quarantine) {
        fprintf (stderr, "%s: cannot open the quarantine file %s: %s\n", format->program,
                 r.quarantine_path, strerror (errno));
        goto out;
    }
    if (!dry) {
        sl_client_options_t copts;
        char buf [8192], err [512];
        memset (&copts, 0, sizeof copts);
        if (endpoint && broker_key) {
            copts.endpoint = endpoint;
            copts.broker_key_file = broker_key;
        }
        else
        if (sl_options_from_data_dir (&copts, data, 0, buf, sizeof buf, err, sizeof err)) {
            fprintf (stderr, "%s: %s\n", format->program, err);
            goto out;
        }
        copts.key_file = key;
        copts.spool_dir = spool;
        if (data && sl_options_from_data_dir (&r.admin, data, 1, r.admin_buf, sizeof r.admin_buf,
                                              err, sizeof err) == 0) {
            r.admin.key_file = key;
            r.has_admin = 1;
        }
        int rc = sl_client_connect (&copts, &r.client, err, sizeof err);
        if (rc) {
            fprintf (stderr, "%s: cannot connect to the broker: %s (%s)\n", format->program,
                     err, sl_strerror (rc));
            goto out;
        }
        if (r.serve)
            sl_client_serve (r.client, s_on_query, &r);
    }
    if (explain_file) {
        if (optind < argc || nsubs || r.serve || follow) {
            fprintf (stderr, "%s: --explain FILE reads that one file; give no other inputs\n", format->program);
            status = 2;
            goto out;
        }
        sources = malloc (sizeof *sources);
        if (!sources)
            goto out;
        sources [nsources++] = strdup (explain_file);
    }
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (strcmp (argv [i], "-") != 0 && stat (argv [i], &st) == 0 && S_ISDIR (st.st_mode)) {
            if (s_add_dir (argv [i], &sources, &nsources)) {
                fprintf (stderr, "%s: %s: %s\n", format->program, argv [i], strerror (errno));
                goto out;
            }
            continue;
        }
        char **nl = realloc (sources, (nsources + 1) * sizeof *nl);
        if (!nl)
            goto out;
        sources = nl;
        sources [nsources++] = strdup (argv [i]);
    }
    if (nsources == 0 && nsubs == 0 && !r.serve) {
        sources = malloc (sizeof *sources);
        if (!sources)
            goto out;
        sources [nsources++] = strdup ("-");
    }
    sl_signal_catch (0);
    r.progress = !r.quiet && isatty (2);

    int unreadable = 0;
    if (format->serving && format->serving (state))
        unreadable = format->serve (state, &r) != 0;
    else
    for (size_t i = 0; i < nsources && !sl_signal_stop; i++)
        unreadable |= s_read_source (&r, sources [i], follow && i + 1 == nsources) != 0;
    if (r.client) {
        int rc = sl_client_flush (r.client, wait_s * 1000);
        if (rc)
            fprintf (stderr, "%s: %llu records not yet stored by the broker: %s%s\n", format->program,
                     (unsigned long long) sl_client_unacked (r.client), sl_client_last_error (r.client),
                     spool ? " (kept in the spool)" : "");
    }
    if (nsubs && !sl_signal_stop && s_consume (&r, subs, nsubs, output, max_deliveries))
        unreadable = 1;
    if (r.serve && r.client && !sl_signal_stop) {
        fprintf (stderr, "%s: answering queries about %zu records until stopped\n", format->bureau, r.nkept);
        while (!sl_signal_stop)
            if (sl_client_poll (r.client, 250) == SL_ECLOSED) {
                fprintf (stderr, "%s: %s\n", format->program, sl_client_last_error (r.client));
                unreadable = 1;
                break;
            }
    }
    s_progress (&r, 1);
    uint64_t rejected = sl_quarantine_rejected (r.quarantine);
    if (dry)
        fprintf (stderr, "%s: dry run: %llu records read, %llu rejected%s%s%s\n", format->bureau,
                 (unsigned long long) r.published, (unsigned long long) rejected,
                 rejected ? " (see " : "", rejected ? r.quarantine_path : "", rejected ? ")" : "");
    else
        fprintf (stderr, "%s: %llu published, %llu stored, %llu refused by the broker, %llu rejected%s%s%s\n",
                 format->bureau, (unsigned long long) r.published, (unsigned long long) r.stored,
                 (unsigned long long) r.refused, (unsigned long long) rejected,
                 rejected ? " (see " : "", rejected ? r.quarantine_path : "", rejected ? ")" : "");
    status = unreadable ? 3
           : rejected || r.refused || r.failed || r.stored < r.published ? 1 : 0;
out:
    for (size_t i = 0; i < nsources; i++)
        free (sources [i]);
    free (sources);
    sl_client_destroy (&r.client, 1000);
    sl_quarantine_destroy (&r.quarantine);
    for (size_t i = 0; i < r.nkept; i++) {
        free (r.kept [i].record_type);
        free (r.kept [i].subject);
        free (r.kept [i].body);
    }
    free (r.kept);
    if (format->stop)
        format->stop (state);
    sl_explain_destroy (&r.explain);
    return status;
}

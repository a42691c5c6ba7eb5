/*  sl_gw_http — see sl_gw_http.h. */
#include "sl_gw_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>
#include <sodium.h>

#include "sl_error.h"
#include "sl_file.h"
#include "sl_reason.h"
#include "sl_json.h"
#include "sl_log.h"
#include "sl_schema.h"
#include "sluice.h"
#include "openapi_json.h"
#include "sl_gw_types.h"

struct sl_gw_http {
    struct MHD_Daemon *d;
    const sl_gw_config_t *cfg;
    sl_gateway_t *gw;
    char *tls_cert, *tls_key;
};

/*  One request: its body as it arrives. */
typedef struct {
    char *body;
    size_t len, cap;
    int too_big;
    int started;
    struct timespec t0;
} s_req_t;

/*  What a handler answers. */
typedef struct {
    int status;
    cJSON *json;                    /* body (owned) */
    int problem;                    /* application/problem+json */
    const char *www_auth;           /* WWW-Authenticate */
    const char *raw;                /* a static body instead of json */
} s_resp_t;

/*  ---- Answers --------------------------------------------------------------- */

static const char *
s_title (int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Error";
    }
}

/*  An RFC 9457 problem: type "urn:sluice:problem:REASON", the broker's
    reason code also as "reason". */
static void
s_problem (s_resp_t *r, int status, const char *reason, const char *instance,
           const char *fmt, ...) __attribute__ ((format (printf, 5, 6)));

static void
s_problem (s_resp_t *r, int status, const char *reason, const char *instance,
           const char *fmt, ...)
{
    char detail[1024], type[128];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (detail, sizeof detail, fmt, ap);
    va_end (ap);
    snprintf (type, sizeof type, "urn:sluice:problem:%s", reason);
    cJSON_Delete (r->json);
    r->json = cJSON_CreateObject ();
    cJSON_AddStringToObject (r->json, "type", type);
    cJSON_AddStringToObject (r->json, "title", s_title (status));
    cJSON_AddNumberToObject (r->json, "status", status);
    cJSON_AddStringToObject (r->json, "detail", detail);
    if (instance)
        cJSON_AddStringToObject (r->json, "instance", instance);
    cJSON_AddStringToObject (r->json, "reason", reason);
    r->status = status;
    r->problem = 1;
}

/*  HTTP status for a refusal with SL_E* `rc` and broker reason `reason`:
    common/sl_reason's table (PROTOCOL.md 3); the broker being unreachable
    (SL_EAGAIN without a reason) is the gateway's own 503. */
static int
s_status_for (int rc, const char *reason)
{
    if ((!reason || !*reason) && rc == SL_EAGAIN)
        return 503;
    return sl_reason_http (reason, rc);
}

/*  The problem's reason word: the broker's, else the code for `rc`. */
static const char *
s_reason_for (int rc, const char *reason)
{
    if (reason && *reason)
        return reason;
    if (rc == SL_EAGAIN)
        return "broker-unreachable";
    return sl_reason_name (sl_reason_from_rc (rc));
}

static enum MHD_Result
s_send (struct MHD_Connection *c, s_resp_t *r)
{
    char *text = NULL;
    size_t len;
    if (r->raw) {
        len = strlen (r->raw);
    } else {
        if (!r->json) {
            r->json = cJSON_CreateObject ();
            if (!r->status)
                r->status = 200;
        }
        text = cJSON_PrintUnformatted (r->json);
        if (!text)
            return MHD_NO;
        len = strlen (text);
        /* one line per answer: NDJSON-friendly, curl prints a newline */
        char *t = realloc (text, len + 2);
        if (!t) {
            free (text);
            return MHD_NO;
        }
        text = t;
        text[len++] = '\n';
        text[len] = '\0';
    }
    struct MHD_Response *resp = r->raw
        ? MHD_create_response_from_buffer (len, (void *) r->raw, MHD_RESPMEM_PERSISTENT)
        : MHD_create_response_from_buffer (len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free (text);
        return MHD_NO;
    }
    MHD_add_response_header (resp, "Content-Type", r->problem ? "application/problem+json"
                                                              : "application/json");
    MHD_add_response_header (resp, "Cache-Control", "no-store");
    if (r->www_auth)
        MHD_add_response_header (resp, "WWW-Authenticate", r->www_auth);
    enum MHD_Result ok = MHD_queue_response (c, (unsigned) r->status, resp);
    MHD_destroy_response (resp);
    return ok;
}

/*  ---- Publishing -------------------------------------------------------------- */

void
sl_gw_idempotent_id (const char *record_type, const char *key, int line, uint8_t id[16])
{
    crypto_generichash_state st;
    char ln[16];
    snprintf (ln, sizeof ln, "%d", line);
    crypto_generichash_init (&st, (const unsigned char *) "sluice-gateway-idempotency", 26, 16);
    crypto_generichash_update (&st, (const unsigned char *) record_type, strlen (record_type) + 1);
    crypto_generichash_update (&st, (const unsigned char *) key, strlen (key) + 1);
    crypto_generichash_update (&st, (const unsigned char *) ln, strlen (ln));
    crypto_generichash_final (&st, id, 16);
}

typedef struct {
    sl_gw_rec_t rec;
    int line;
    char *subject;
} s_line_t;

/*  Reads the subject and event time the schema names from a decoded record. */
static void
s_meta (const sl_schema_t *s, const ProtobufCMessage *m, char **subject, int64_t *event_ms)
{
    *subject = NULL;
    *event_ms = 0;
    const ProtobufCFieldDescriptor *f = s->subject_field ? sl_schema_field (s, s->subject_field)
                                                         : NULL;
    if (f && f->type == PROTOBUF_C_TYPE_STRING && f->label != PROTOBUF_C_LABEL_REPEATED) {
        const char *v = *(char *const *) ((const char *) m + f->offset);
        if (v && *v)
            *subject = strdup (v);
    }
    if (s->time_fields && s->time_fields[0]) {
        const ProtobufCFieldDescriptor *t = sl_schema_field (s, s->time_fields[0]);
        if (t && t->type == PROTOBUF_C_TYPE_INT64 && t->label != PROTOBUF_C_LABEL_REPEATED) {
            int64_t v = *(const int64_t *) ((const char *) m + t->offset);
            if (v > 0 && v < INT64_MAX / 1000)
                *event_ms = v * 1000;
        }
    }
}

static void
s_publish (sl_gw_http_t *h, struct MHD_Connection *c, const char *url, const char *type,
           s_req_t *req, s_resp_t *r)
{
    char terr[300];
    int trc = 0;
    const sl_schema_t *s = sl_gw_types_find (type, &trc, terr, sizeof terr);
    if (!s && trc == SL_EAGAIN) {
        s_problem (r, 503, "broker-unreachable", url, "this gateway does not know record type "
                   "'%s' yet and cannot ask the broker's registry now (%s); nothing was "
                   "published, send it again later", type, terr);
        return;
    }
    if (!s) {
        s_problem (r, 404, "unknown-record-type", url,
                   "record type '%s': %s (GET /v1/schemas lists the registered ones)", type, terr);
        return;
    }
    sl_json_options_t jopts = sl_gw_types_json (s);
    const char *ctype = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Content-Type");
    int ndjson = ctype && (!strncasecmp (ctype, "application/x-ndjson", 20)
                           || !strncasecmp (ctype, "application/ndjson", 18)
                           || !strncasecmp (ctype, "application/jsonl", 17));
    if (ctype && !ndjson && strncasecmp (ctype, "application/json", 16)) {
        s_problem (r, 415, "unsupported-media-type", url, "Content-Type '%s': send "
                   "application/json (one record) or application/x-ndjson (one per line)", ctype);
        return;
    }
    const char *idem = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Idempotency-Key");
    if (idem && (strlen (idem) == 0 || strlen (idem) > 255)) {
        s_problem (r, 400, "bad-idempotency-key", url,
                   "Idempotency-Key must be 1 to 255 characters");
        return;
    }
    size_t cap = 16, n = 0;
    s_line_t *lines = calloc (cap, sizeof *lines);
    sl_gw_result_t *results = NULL;
    cJSON *errors = cJSON_CreateArray ();
    int syntax = 0;
    char err[512];
    const char *p = req->body ? req->body : "", *end = p + req->len;
    int lineno = 0;
    if (!lines)
        goto nomem;
    while (p < end || (lineno == 0 && !ndjson)) {
        const char *nl = ndjson ? memchr (p, '\n', (size_t) (end - p)) : NULL;
        const char *stop = nl ? nl : end;
        lineno++;
        const char *q = p;
        while (q < stop && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q == stop && ndjson) {          /* blank line */
            p = nl ? nl + 1 : end;
            continue;
        }
        cJSON *j = NULL;
        int l = 0, col = 0;
        ProtobufCMessage *m = NULL;
        if (sl_json_parse (p, (size_t) (stop - p), &j, &l, &col, err, sizeof err) != 0) {
            cJSON *e = cJSON_CreateObject ();
            int line = ndjson ? lineno : l;
            cJSON_AddNumberToObject (e, "line", line);
            cJSON_AddNumberToObject (e, "column", col);
            cJSON_AddStringToObject (e, "reason", "bad-json");
            /* the parser counts from the start of the line; say it as the whole body's line */
            const char *msg = strstr (err, ": ");
            char d[600];
            snprintf (d, sizeof d, "line %d, column %d: %s", line, col, msg ? msg + 2 : err);
            cJSON_AddStringToObject (e, "detail", d);
            cJSON_AddItemToArray (errors, e);
            syntax = 1;
        } else if (sl_json_decode (j, s->descriptor, &jopts, &m, err, sizeof err) != 0) {
            cJSON *e = cJSON_CreateObject ();
            cJSON_AddNumberToObject (e, "line", ndjson ? lineno : 1);
            cJSON_AddStringToObject (e, "reason", "bad-record");
            cJSON_AddStringToObject (e, "detail", err);
            cJSON_AddItemToArray (errors, e);
        } else {
            if (n == cap) {
                s_line_t *nlines = realloc (lines, 2 * cap * sizeof *lines);
                if (!nlines) {
                    cJSON_Delete (j);
                    protobuf_c_message_free_unpacked (m, NULL);
                    goto nomem;
                }
                lines = nlines;
                cap *= 2;
            }
            s_line_t *ln = &lines[n];
            memset (ln, 0, sizeof *ln);
            ln->line = ndjson ? lineno : 1;
            ln->rec.size = protobuf_c_message_get_packed_size (m);
            ln->rec.body = malloc (ln->rec.size ? ln->rec.size : 1);
            if (!ln->rec.body) {
                cJSON_Delete (j);
                protobuf_c_message_free_unpacked (m, NULL);
                goto nomem;
            }
            protobuf_c_message_pack (m, ln->rec.body);
            s_meta (s, m, &ln->subject, &ln->rec.event_time_ms);
            ln->rec.subject = ln->subject;
            if (idem)
                sl_gw_idempotent_id (type, idem, ln->line, ln->rec.id);
            else
                randombytes_buf (ln->rec.id, sizeof ln->rec.id);
            n++;
            protobuf_c_message_free_unpacked (m, NULL);
        }
        cJSON_Delete (j);
        if (!ndjson)
            break;
        p = nl ? nl + 1 : end;
    }
    if (cJSON_GetArraySize (errors) > 0) {
        int status = syntax ? 400 : 422;
        s_problem (r, status, syntax ? "bad-json" : "bad-record", url,
                   "%d of %d records could not be read; nothing was published",
                   cJSON_GetArraySize (errors), (int) n + cJSON_GetArraySize (errors));
        cJSON_AddItemToObject (r->json, "errors", errors);
        errors = NULL;
        goto out;
    }
    if (n == 0) {
        s_problem (r, 400, "no-records", url, "the body holds no record");
        goto out;
    }
    results = calloc (n, sizeof *results);
    sl_gw_rec_t *recs = calloc (n, sizeof *recs);
    if (!results || !recs) {
        free (recs);
        goto nomem;
    }
    for (size_t i = 0; i < n; i++)
        recs[i] = lines[i].rec;
    int rc = sl_gateway_publish (h->gw, type, recs, n, results);
    free (recs);
    if (rc == SL_EAGAIN) {
        s_problem (r, 503, "broker-unreachable", url, "the broker is not reachable and this "
                   "gateway has no spool; nothing was stored, send it again later");
        goto out;
    }
    if (rc == SL_ENOMEM)
        goto nomem;
    cJSON *list = cJSON_CreateArray ();
    size_t stored = 0, spooled = 0, refused = 0, pending = 0;
    int first_rc = 0;
    const char *first_reason = NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject ();
        char hex[33];
        sl_message_id_hex (lines[i].rec.id, hex);
        cJSON_AddNumberToObject (o, "line", lines[i].line);
        cJSON_AddStringToObject (o, "messageId", hex);
        const sl_gw_result_t *res = &results[i];
        if (res->rc == 0) {
            cJSON_AddStringToObject (o, "status", "stored");
            stored++;
        } else if (res->spooled) {
            cJSON_AddStringToObject (o, "status", "spooled");
            spooled++;
        } else if (res->rc == SL_ETIMEOUT) {
            cJSON_AddStringToObject (o, "status", "pending");
            pending++;
        } else {
            const char *why = s_reason_for (res->rc, res->reason);
            cJSON_AddStringToObject (o, "status", "refused");
            cJSON_AddStringToObject (o, "reason", why);
            cJSON_AddStringToObject (o, "detail", res->text);
            if (!refused++) {
                first_rc = res->rc;
                first_reason = res->reason;
            }
        }
        cJSON_AddItemToArray (list, o);
    }
    if (refused) {
        s_problem (r, s_status_for (first_rc, first_reason), s_reason_for (first_rc, first_reason),
                   url, "%zu of %zu records were refused by the broker (%zu stored%s); see records",
                   refused, n, stored, spooled ? ", some spooled" : "");
        cJSON_AddItemToObject (r->json, "records", list);
    } else if (pending) {
        s_problem (r, 504, "timeout", url, "no answer from the broker within %d ms for %zu "
                   "records; they may still be stored: send the same request again with the "
                   "same Idempotency-Key", h->cfg->publish_timeout_ms, pending);
        cJSON_AddItemToObject (r->json, "records", list);
    } else {
        r->status = spooled ? 202 : 201;
        r->json = cJSON_CreateObject ();
        cJSON_AddStringToObject (r->json, "recordType", type);
        cJSON_AddStringToObject (r->json, "status", spooled ? "spooled" : "stored");
        cJSON_AddNumberToObject (r->json, "stored", (double) stored);
        cJSON_AddNumberToObject (r->json, "spooled", (double) spooled);
        cJSON_AddItemToObject (r->json, "records", list);
    }
    goto out;
nomem:
    s_problem (r, 503, "memory", url, "out of memory; nothing was published");
out:
    for (size_t i = 0; i < n; i++) {
        free (lines[i].rec.body);
        free (lines[i].subject);
    }
    free (lines);
    free (results);
    cJSON_Delete (errors);
}

/*  ---- Subscriptions ------------------------------------------------------------ */

static long
s_arg_int (struct MHD_Connection *c, const char *name, long def, long min, long max, int *bad)
{
    const char *v = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, name);
    if (!v)
        return def;
    char *end;
    errno = 0;
    long n = strtol (v, &end, 10);
    if (errno || end == v || *end || n < min || n > max) {
        *bad = 1;
        return def;
    }
    return n;
}

static int
s_find_sub (sl_gw_http_t *h, struct MHD_Connection *c, const char *url, const char *type,
            s_resp_t *r, size_t *idx)
{
    const char *purpose = MHD_lookup_connection_value (c, MHD_GET_ARGUMENT_KIND, "purpose");
    size_t found = SIZE_MAX, matches = 0;
    for (size_t i = 0; i < h->cfg->nsubs; i++)
        if (!strcmp (h->cfg->subs[i].record_type, type)
            && (!purpose || !strcmp (h->cfg->subs[i].purpose, purpose))) {
            found = i;
            matches++;
        }
    if (matches == 0) {
        s_problem (r, 404, "not-subscribed", url, "this gateway holds no subscription to %s%s%s "
                   "(the [subscription] sections of its configuration)", type,
                   purpose ? " for purpose " : "", purpose ? purpose : "");
        return -1;
    }
    if (matches > 1) {
        s_problem (r, 400, "bad-purpose", url, "several subscriptions to %s: say which with "
                   "?purpose=", type);
        return -1;
    }
    *idx = found;
    return 0;
}

static void
s_deliveries (sl_gw_http_t *h, struct MHD_Connection *c, const char *url, const char *type,
              s_resp_t *r)
{
    size_t idx;
    if (s_find_sub (h, c, url, type, r, &idx) != 0)
        return;
    if (h->cfg->subs[idx].webhook[0]) {
        s_problem (r, 409, "webhook-subscription", url, "subscription '%s' is delivered to its "
                   "webhook, not by long-poll", h->cfg->subs[idx].name);
        return;
    }
    int bad = 0;
    long max = s_arg_int (c, "max", 100, 1, 1000, &bad);
    long wait = s_arg_int (c, "wait", 0, 0, h->cfg->max_wait_s, &bad);
    if (bad) {
        s_problem (r, 400, "bad-request", url, "max must be 1..1000 and wait 0..%d (seconds)",
                   h->cfg->max_wait_s);
        return;
    }
    cJSON *out = NULL;
    if (sl_gateway_poll (h->gw, idx, (unsigned) max, (int) wait * 1000, &out) != 0 || !out) {
        s_problem (r, 503, "memory", url, "out of memory");
        return;
    }
    cJSON_AddStringToObject (out, "subscription", h->cfg->subs[idx].name);
    r->status = 200;
    r->json = out;
}

/*  The request body as JSON into *j (the caller deletes it); -1 after
    answering 400 bad-json. */
static int
s_json_body (const s_req_t *req, const char *url, s_resp_t *r, cJSON **j)
{
    char err[512];
    if (sl_json_parse (req->body ? req->body : "", req->len, j, NULL, NULL, err, sizeof err) == 0)
        return 0;
    s_problem (r, 400, "bad-json", url, "%s", err);
    return -1;
}

static void
s_ack (sl_gw_http_t *h, struct MHD_Connection *c, const char *url, const char *type,
       s_req_t *req, s_resp_t *r)
{
    size_t idx;
    if (s_find_sub (h, c, url, type, r, &idx) != 0)
        return;
    cJSON *j = NULL;
    if (s_json_body (req, url, r, &j) != 0)
        return;
    cJSON *ids = cJSON_GetObjectItemCaseSensitive (j, "ids");
    if (!cJSON_IsArray (ids) || cJSON_GetArraySize (j) != 1) {
        s_problem (r, 400, "bad-request", url, "expected {\"ids\": [\"deliveryId\", ...]}");
        cJSON_Delete (j);
        return;
    }
    r->json = cJSON_CreateObject ();
    cJSON *acked = cJSON_AddArrayToObject (r->json, "acked");
    cJSON *unknown = cJSON_AddArrayToObject (r->json, "unknown");
    sl_gateway_ack (h->gw, idx, ids, acked, unknown);
    r->status = 200;
    cJSON_Delete (j);
}

/*  ---- Queries -------------------------------------------------------------------- */

static void
s_query (sl_gw_http_t *h, const char *url, const char *type, s_req_t *req, s_resp_t *r)
{
    cJSON *j = NULL;
    if (s_json_body (req, url, r, &j) != 0)
        return;
    const cJSON *subject = cJSON_GetObjectItemCaseSensitive (j, "subject");
    const cJSON *purpose = cJSON_GetObjectItemCaseSensitive (j, "purpose");
    const cJSON *params = cJSON_GetObjectItemCaseSensitive (j, "parameters");
    int extra = 0;
    for (const cJSON *it = j ? j->child : NULL; it; it = it->next)
        if (strcmp (it->string, "subject") && strcmp (it->string, "purpose")
            && strcmp (it->string, "parameters"))
            extra = 1;
    if (!cJSON_IsObject (j) || !cJSON_IsString (subject) || !cJSON_IsString (purpose) || extra
        || (params && !cJSON_IsObject (params))) {
        s_problem (r, 400, "bad-request", url, "expected {\"subject\": \"...\", \"purpose\": "
                   "\"...\", \"parameters\": {\"key\": \"value\"}?}");
        cJSON_Delete (j);
        return;
    }
    cJSON *records = NULL;
    char reason[64] = "", text[256] = "";
    int rc = sl_gateway_query (h->gw, type, subject->valuestring, purpose->valuestring, params,
                               &records, reason, sizeof reason, text, sizeof text);
    if (rc != 0) {
        if (rc == SL_EAGAIN && !reason[0])
            snprintf (reason, sizeof reason, "broker-unreachable");
        s_problem (r, s_status_for (rc, reason), s_reason_for (rc, reason), url, "%s",
                   text[0] ? text : sl_strerror (rc));
    } else {
        r->status = 200;
        r->json = cJSON_CreateObject ();
        cJSON_AddStringToObject (r->json, "recordType", type);
        cJSON_AddItemToObject (r->json, "records", records);
    }
    cJSON_Delete (j);
}

/*  ---- Schemas, health -------------------------------------------------------------- */

static void
s_schemas (const char *url, const char *type, s_resp_t *r)
{
    if (!type) {
        r->json = cJSON_CreateObject ();
        cJSON *arr = cJSON_AddArrayToObject (r->json, "schemas");
        const sl_schema_t *all[512];
        size_t n = sl_gw_types_list (all, 512);
        for (size_t i = 0; i < n; i++) {
            const sl_schema_t *s = all[i];
            cJSON *o = cJSON_CreateObject ();
            char href[256];
            cJSON_AddStringToObject (o, "recordType", s->record_type);
            cJSON_AddStringToObject (o, "owner", s->owner);
            snprintf (href, sizeof href, "/v1/schemas/%s", s->record_type);
            cJSON_AddStringToObject (o, "href", href);
            cJSON_AddItemToArray (arr, o);
        }
        r->status = 200;
        return;
    }
    const sl_schema_t *s = sl_gw_types_find (type, NULL, NULL, 0);
    if (!s) {
        s_problem (r, 404, "unknown-record-type", url, "record type '%s' is not registered", type);
        return;
    }
    sl_json_options_t jopts = sl_gw_types_json (s);
    char id[256];
    snprintf (id, sizeof id, "urn:sluice:schema:%s", type);
    r->json = sl_json_schema (s->descriptor, &jopts, id);
    r->status = r->json ? 200 : 503;
}

static void
s_readyz (sl_gw_http_t *h, s_resp_t *r)
{
    sl_gw_status_t st;
    sl_gateway_status (h->gw, &st);
    r->json = cJSON_CreateObject ();
    cJSON_AddStringToObject (r->json, "status", st.connected ? "ready" : "broker-unreachable");
    cJSON_AddBoolToObject (r->json, "broker", st.connected);
    cJSON_AddStringToObject (r->json, "member", st.member);
    cJSON_AddNumberToObject (r->json, "spoolDepth", (double) st.spooled);
    cJSON_AddNumberToObject (r->json, "unacked", (double) st.unacked);
    cJSON_AddNumberToObject (r->json, "heldDeliveries", (double) st.held);
    if (!st.connected && st.last_error[0])
        cJSON_AddStringToObject (r->json, "error", st.last_error);
    r->status = st.connected ? 200 : 503;
}

/*  ---- Dispatch ------------------------------------------------------------------------- */

/*  Checks the bearer token; on failure fills r (401) and returns NULL. */
static const sl_gw_app_t *
s_auth (sl_gw_http_t *h, struct MHD_Connection *c, const char *url, s_resp_t *r)
{
    const char *a = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Authorization");
    if (!a || strncasecmp (a, "Bearer ", 7) != 0 || !a[7]) {
        s_problem (r, 401, "token-missing", url, "send Authorization: Bearer TOKEN (the token "
                   "of an [app] in the gateway's configuration)");
        r->www_auth = "Bearer realm=\"sluice-gateway\"";
        return NULL;
    }
    const sl_gw_app_t *app = sl_gw_config_app_by_token (h->cfg, a + 7);
    if (!app) {
        s_problem (r, 401, "token-invalid", url, "the bearer token is not one of this gateway's");
        r->www_auth = "Bearer realm=\"sluice-gateway\", error=\"invalid_token\"";
        return NULL;
    }
    return app;
}

static int
s_scope (const sl_gw_app_t *app, unsigned scope, const char *url, s_resp_t *r)
{
    if (app->scopes & scope)
        return 1;
    s_problem (r, 403, "scope", url, "app '%s' may not %s", app->name,
               scope == SL_GW_SCOPE_PUBLISH ? "publish" : scope == SL_GW_SCOPE_QUERY
               ? "query" : "read subscriptions");
    return 0;
}

static void
s_route (sl_gw_http_t *h, struct MHD_Connection *c, const char *url, const char *method,
         s_req_t *req, s_resp_t *r, const char **app_name)
{
    int get = !strcmp (method, "GET"), post = !strcmp (method, "POST");
    if (!strcmp (url, "/healthz")) {
        if (!get)
            goto method;
        r->status = 200;
        r->json = cJSON_CreateObject ();
        cJSON_AddStringToObject (r->json, "status", "ok");
        return;
    }
    if (!strcmp (url, "/readyz")) {
        if (!get)
            goto method;
        s_readyz (h, r);
        return;
    }
    if (!strcmp (url, "/openapi.json")) {
        if (!get)
            goto method;
        r->status = 200;
        r->raw = sl_gw_openapi_json;
        return;
    }
    if (strncmp (url, "/v1/", 4) != 0) {
        s_problem (r, 404, "not-found", url, "no such resource (GET /openapi.json describes them)");
        return;
    }
    if (req->too_big) {
        s_problem (r, 413, "too-big", url, "the body is over this gateway's limit of %zu bytes "
                   "(max_body); nothing was published", h->cfg->max_body);
        return;
    }
    const sl_gw_app_t *app = s_auth (h, c, url, r);
    if (!app)
        return;
    *app_name = app->name;
    const char *rest;
    if (!strcmp (url, "/v1/schemas") || !strncmp (url, "/v1/schemas/", 12)) {
        if (!get)
            goto method;
        s_schemas (url, url[11] == '/' ? url + 12 : NULL, r);
        return;
    }
    if (!strncmp (url, "/v1/records/", 12)) {
        if (!post)
            goto method;
        if (s_scope (app, SL_GW_SCOPE_PUBLISH, url, r))
            s_publish (h, c, url, url + 12, req, r);
        return;
    }
    if (!strncmp (url, "/v1/query/", 10)) {
        if (!post)
            goto method;
        if (s_scope (app, SL_GW_SCOPE_QUERY, url, r))
            s_query (h, url, url + 10, req, r);
        return;
    }
    if (!strncmp (url, "/v1/subscriptions/", 18)) {
        rest = url + 18;
        const char *slash = strchr (rest, '/');
        if (!slash)
            goto notfound;
        char type[160];
        if ((size_t) (slash - rest) >= sizeof type)
            goto notfound;
        memcpy (type, rest, (size_t) (slash - rest));
        type[slash - rest] = '\0';
        if (!s_scope (app, SL_GW_SCOPE_SUBSCRIBE, url, r))
            return;
        if (!strcmp (slash, "/deliveries")) {
            if (!get)
                goto method;
            s_deliveries (h, c, url, type, r);
            return;
        }
        if (!strcmp (slash, "/ack")) {
            if (!post)
                goto method;
            s_ack (h, c, url, type, req, r);
            return;
        }
        goto notfound;
    }
    if (!strcmp (url, "/v1/subscriptions")) {
        if (!get)
            goto method;
        if (!s_scope (app, SL_GW_SCOPE_SUBSCRIBE, url, r))
            return;
        r->status = 200;
        r->json = cJSON_CreateObject ();
        cJSON *arr = cJSON_AddArrayToObject (r->json, "subscriptions");
        for (size_t i = 0; i < h->cfg->nsubs; i++) {
            const sl_gw_sub_t *s = &h->cfg->subs[i];
            cJSON *o = cJSON_CreateObject ();
            cJSON_AddStringToObject (o, "name", s->name);
            cJSON_AddStringToObject (o, "recordType", s->record_type);
            cJSON_AddStringToObject (o, "purpose", s->purpose);
            cJSON_AddStringToObject (o, "delivery", s->webhook[0] ? "webhook" : "long-poll");
            cJSON_AddItemToArray (arr, o);
        }
        return;
    }
notfound:
    s_problem (r, 404, "not-found", url, "no such resource (GET /openapi.json describes them)");
    return;
method:
    s_problem (r, 405, "method-not-allowed", url, "%s is not allowed on %s", method, url);
}

static enum MHD_Result
s_handler (void *cls, struct MHD_Connection *c, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_data_size,
           void **con_cls)
{
    (void) version;
    sl_gw_http_t *h = cls;
    s_req_t *req = *con_cls;
    if (!req) {
        req = calloc (1, sizeof *req);
        if (!req)
            return MHD_NO;
        clock_gettime (CLOCK_MONOTONIC, &req->t0);
        *con_cls = req;
        const char *cl = MHD_lookup_connection_value (c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull (cl, NULL, 10) > h->cfg->max_body) {
            /* answer now: the body is not read at all */
            req->too_big = 1;
            s_resp_t r = { 0 };
            s_problem (&r, 413, "too-big", url, "the body is over this gateway's limit of %zu "
                       "bytes (max_body); nothing was published", h->cfg->max_body);
            char q[300];
            sl_info ("gateway.request", "app=- method=%s path=%s status=413 bytes=%s",
                     method, sl_log_quote (url, q, sizeof q), cl);
            enum MHD_Result ok = s_send (c, &r);
            cJSON_Delete (r.json);
            return ok;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->too_big) {
            if (req->len + *upload_data_size > h->cfg->max_body)
                req->too_big = 1;
            else {
                if (req->len + *upload_data_size + 1 > req->cap) {
                    size_t cap = (req->len + *upload_data_size + 1) * 2;
                    if (cap > h->cfg->max_body + 1)
                        cap = h->cfg->max_body + 1;
                    char *b = realloc (req->body, cap);
                    if (!b)
                        return MHD_NO;
                    req->body = b;
                    req->cap = cap;
                }
                memcpy (req->body + req->len, upload_data, *upload_data_size);
                req->len += *upload_data_size;
                req->body[req->len] = '\0';
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    s_resp_t r = { 0 };
    const char *app = NULL;
    s_route (h, c, url, method, req, &r, &app);
    struct timespec t1;
    clock_gettime (CLOCK_MONOTONIC, &t1);
    double ms = (double) (t1.tv_sec - req->t0.tv_sec) * 1e3
              + (double) (t1.tv_nsec - req->t0.tv_nsec) / 1e6;
    char q[300];
    /* every use of a token is visible; so is every refused one */
    if (strncmp (url, "/v1/", 4) == 0)
        sl_info ("gateway.request", "app=%s method=%s path=%s status=%d bytes=%zu ms=%.1f",
                 app ? app : "-", method, sl_log_quote (url, q, sizeof q), r.status, req->len, ms);
    enum MHD_Result ok = s_send (c, &r);
    cJSON_Delete (r.json);
    return ok;
}

static void
s_completed (void *cls, struct MHD_Connection *c, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    (void) cls, (void) c, (void) toe;
    s_req_t *req = *con_cls;
    if (req) {
        free (req->body);
        free (req);
        *con_cls = NULL;
    }
}

int
sl_gw_http_start (const sl_gw_config_t *cfg, sl_gateway_t *gw, sl_gw_http_t **http_p,
                  unsigned *port, char *err, size_t errlen)
{
    *http_p = NULL;
    char host[128];
    const char *colon = strrchr (cfg->listen, ':');
    if (!colon || (size_t) (colon - cfg->listen) >= sizeof host) {
        snprintf (err, errlen, "listen = '%s': expected ADDRESS:PORT, e.g. 127.0.0.1:8480",
                  cfg->listen);
        return SL_EINVAL;
    }
    memcpy (host, cfg->listen, (size_t) (colon - cfg->listen));
    host[colon - cfg->listen] = '\0';
    char *end;
    long p = strtol (colon + 1, &end, 10);
    struct sockaddr_in sa;
    memset (&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons ((uint16_t) p);
    if (*end || p < 0 || p > 65535 || inet_pton (AF_INET, host, &sa.sin_addr) != 1) {
        snprintf (err, errlen, "listen = '%s': expected an IPv4 ADDRESS:PORT, e.g. "
                  "127.0.0.1:8480", cfg->listen);
        return SL_EINVAL;
    }
    sl_gw_http_t *h = calloc (1, sizeof *h);
    if (!h) {
        snprintf (err, errlen, "out of memory");
        return SL_ENOMEM;
    }
    h->cfg = cfg;
    h->gw = gw;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD
                   | MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (cfg->tls_cert[0]) {
        size_t len;
        if (sl_file_read (cfg->tls_cert, &h->tls_cert, &len, err, errlen)
            || sl_file_read (cfg->tls_key, &h->tls_key, &len, err, errlen)) {
            free (h->tls_cert);
            free (h);
            return SL_EIO;
        }
        flags |= MHD_USE_TLS;
        h->d = MHD_start_daemon (flags, 0, NULL, NULL, s_handler, h,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                                 MHD_OPTION_NOTIFY_COMPLETED, s_completed, h,
                                 MHD_OPTION_HTTPS_MEM_CERT, h->tls_cert,
                                 MHD_OPTION_HTTPS_MEM_KEY, h->tls_key,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 120,
                                 MHD_OPTION_END);
    } else
        h->d = MHD_start_daemon (flags, 0, NULL, NULL, s_handler, h,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                                 MHD_OPTION_NOTIFY_COMPLETED, s_completed, h,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 120,
                                 MHD_OPTION_END);
    if (!h->d) {
        snprintf (err, errlen, "cannot listen on %s%s (address in use, or the TLS files are "
                  "not a PEM certificate and key)", cfg->listen, cfg->tls_cert[0] ? " with TLS" : "");
        free (h->tls_cert);
        free (h->tls_key);
        free (h);
        return SL_EIO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (h->d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info ? info->port : (unsigned) p;
    *http_p = h;
    return 0;
}

void
sl_gw_http_stop (sl_gw_http_t **http_p)
{
    if (!http_p || !*http_p)
        return;
    sl_gw_http_t *h = *http_p;
    MHD_stop_daemon (h->d);
    free (h->tls_cert);
    if (h->tls_key)
        sodium_memzero (h->tls_key, strlen (h->tls_key));
    free (h->tls_key);
    free (h);
    *http_p = NULL;
}

/*  sl_gateway — see sl_gateway.h for the design note. */
#include "sl_gateway.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "sl_error.h"
#include "sl_json.h"
#include "sl_log.h"
#include "sl_schema.h"
#include "sluice.h"
#include "sl_gw_types.h"

#define S_MAX_NOTICES 1000          /* per subscription, waiting to be read */

/*  ---- Types --------------------------------------------------------------- */

/*  A delivery, or a notice (then only json is set). */
typedef struct s_item {
    uint64_t id;                    /* deliveryId handed to local systems */
    uint64_t gen;                   /* connection generation it came on */
    sl_delivery_t *d;
    char *json;                     /* the delivery or notice as JSON text */
    int64_t lease_until;            /* 0: not handed out */
    struct s_item *next;
} s_item_t;

typedef struct {                    /* oldest first */
    s_item_t *head, *tail;
    size_t count;
} s_list_t;

typedef struct {
    const sl_gw_sub_t *cfg;
    s_list_t items, notices;
    int subscribed;                 /* the broker accepted SUBSCRIBE */
    int64_t next_try_ms;
    char error[256];                /* why SUBSCRIBE failed */
    pthread_t webhook;
    int webhook_running;
} s_sub_t;

enum { S_JOB_PUBLISH, S_JOB_QUERY };

struct s_job;
typedef struct {
    struct sl_gateway *gw;
    struct s_job *job;
    size_t idx;
} s_pubarg_t;

typedef struct s_job {
    int kind;
    int refs;                       /* the HTTP thread and the broker thread */
    int done;
    int rc;
    int64_t deadline_ms;
    struct s_job *next;             /* queue, then the broker's live list */
    /* publish */
    const char *record_type;
    const sl_gw_rec_t *recs;
    sl_gw_result_t *results;        /* the HTTP thread's, while it waits */
    sl_gw_result_t *own;            /* the job's copy, for callbacks after the wait */
    s_pubarg_t *args;               /* one per record: the callbacks' argument */
    size_t n, remaining;
    int queued;                     /* records were given to the client */
    /* query */
    const char *subject, *purpose;
    const cJSON *params;
    cJSON *records;
    char reason[64], text[256];
} s_job_t;

typedef struct s_ack {
    sl_delivery_t *d;
    uint64_t gen;
    struct s_ack *next;
} s_ack_t;

struct sl_gateway {
    const sl_gw_config_t *cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv;              /* deliveries, notices, job completion, stop */
    int efd;
    int stop;
    pthread_t broker;
    int broker_running;
    /* under mu */
    s_job_t *jobs_head, *jobs_tail;
    s_ack_t *acks;
    s_sub_t subs[SL_GW_MAX_SUBS];
    uint64_t next_id, gen;
    char boot[17];                  /* random per process: ids never repeat across restarts */
    sl_gw_status_t status;
    /* broker thread only */
    sl_client_t *client;
    s_job_t *live;                  /* publish jobs with callbacks still due */
    uint64_t reconnects;
};

/*  ---- Small helpers ------------------------------------------------------- */

static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
s_deadline (struct timespec *ts, int64_t ms)
{
    ts->tv_sec = (time_t) (ms / 1000);
    ts->tv_nsec = (long) (ms % 1000) * 1000000L;
}

static void
s_wake (sl_gateway_t *gw)
{
    uint64_t one = 1;
    ssize_t r = write (gw->efd, &one, sizeof one);
    (void) r;
}

void
sl_gateway_format_ms (int64_t ms, char *out, size_t size)
{
    char buf[40];
    int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    if (sl_json_format_time (s, buf, sizeof buf) != 0) {
        snprintf (out, size, "%" PRId64, ms);
        return;
    }
    buf[strlen (buf) - 1] = '\0';
    snprintf (out, size, "%s.%03dZ", buf, (int) (ms - s * 1000));
}

/*  Frees a job when both sides let go. Call with mu held. */
static void
s_job_release (s_job_t *j)
{
    if (--j->refs > 0)
        return;
    free (j->own);
    free (j->args);
    cJSON_Delete (j->records);
    free (j);
}

static void
s_item_free (s_item_t *it)
{
    sl_delivery_destroy (&it->d);
    free (it->json);
    free (it);
}

/*  Appends `it` (taken) to `l` (gw->mu held). Cannot fail. */
static void
s_push (s_list_t *l, s_item_t *it)
{
    *(l->tail ? &l->tail->next : &l->head) = it;
    l->tail = it;
    l->count++;
}

/*  Takes the oldest item off `l` (gw->mu held); the caller owns it
    (s_item_free). NULL when there is none. */
static s_item_t *
s_pop (s_list_t *l)
{
    s_item_t *it = l->head;
    if (!it)
        return NULL;
    l->head = it->next;
    if (!l->head)
        l->tail = NULL;
    l->count--;
    return it;
}

/*  Frees every item of `l` (gw->mu held, or no other thread left); for
    deliveries, the broker delivers them again. Returns how many. */
static size_t
s_list_clear (s_list_t *l)
{
    size_t n = 0;
    for (s_item_t *it; (it = s_pop (l)) != NULL; n++)
        s_item_free (it);
    return n;
}

/*  Takes item `it`, already unlinked from its subscription, and queues the
    ack of its delivery for the client thread (gw->mu held); frees the item.
    Returns 1, or 0 when out of memory (the broker redelivers it). */
static int
s_ack_item (sl_gateway_t *gw, s_item_t *it)
{
    s_ack_t *a = calloc (1, sizeof *a);
    if (a) {
        a->d = it->d;
        a->gen = it->gen;
        it->d = NULL;
        a->next = gw->acks;
        gw->acks = a;
    }
    s_item_free (it);
    return a != NULL;
}

/*  ---- Deliveries and notices (broker thread) --------------------------------- */

static cJSON *
s_delivery_json (sl_gateway_t *gw, const sl_delivery_t *d, uint64_t id)
{
    char buf[64], hex[33];
    cJSON *o = cJSON_CreateObject ();
    snprintf (buf, sizeof buf, "%s-%" PRIu64, gw->boot, id);
    cJSON_AddStringToObject (o, "deliveryId", buf);
    sl_message_id_hex (sl_delivery_message_id (d), hex);
    cJSON_AddStringToObject (o, "messageId", hex);
    cJSON_AddStringToObject (o, "recordType", sl_delivery_record_type (d));
    cJSON_AddStringToObject (o, "owner", sl_delivery_owner (d));
    cJSON_AddStringToObject (o, "purpose", sl_delivery_purpose (d));
    cJSON_AddStringToObject (o, "subject", sl_delivery_subject (d) ? sl_delivery_subject (d) : "");
    sl_gateway_format_ms (sl_delivery_event_time_ms (d), buf, sizeof buf);
    cJSON_AddStringToObject (o, "eventTime", buf);
    cJSON *rules = cJSON_AddArrayToObject (o, "rules");
    for (size_t i = 0; i < sl_delivery_rule_count (d); i++)
        cJSON_AddItemToArray (rules, cJSON_CreateString (sl_delivery_rule (d, i)));
    const sl_schema_t *s = sl_gw_types_find (sl_delivery_record_type (d), NULL, NULL, 0);
    size_t size = 0;
    const void *body = sl_delivery_body (d, &size);
    cJSON *rec = NULL;
    char err[256] = "";
    sl_json_options_t jo = sl_gw_types_json (s);
    if (s && sl_json_encode_packed (s->descriptor, body, size, &jo, &rec, err,
                                    sizeof err) == 0)
        cJSON_AddItemToObject (o, "record", rec);
    else {
        /* a type this gateway does not know: hand the bytes over as they came */
        size_t n = sodium_base64_ENCODED_LEN (size, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = malloc (n);
        if (b64) {
            sodium_bin2base64 (b64, n, body, size, sodium_base64_VARIANT_ORIGINAL);
            cJSON_AddStringToObject (o, "recordBase64", b64);
            free (b64);
        }
        cJSON_AddStringToObject (o, "recordError", s ? err : "record type not known to this gateway");
    }
    return o;
}

static void
s_route_delivery (sl_gateway_t *gw, sl_delivery_t *d)
{
    s_sub_t *sub = NULL;
    for (size_t i = 0; i < gw->cfg->nsubs; i++)
        if (!strcmp (gw->subs[i].cfg->record_type, sl_delivery_record_type (d))
            && !strcmp (gw->subs[i].cfg->purpose, sl_delivery_purpose (d)))
            sub = &gw->subs[i];
    if (!sub) {
        /* not ours (a subscription left from another configuration): give it back */
        sl_warn ("gateway.delivery_unrouted", "record_type=%s purpose=%s",
                 sl_delivery_record_type (d), sl_delivery_purpose (d));
        sl_client_nack (gw->client, d);
        sl_delivery_destroy (&d);
        return;
    }
    s_item_t *it = calloc (1, sizeof *it);
    pthread_mutex_lock (&gw->mu);
    uint64_t id = ++gw->next_id;
    pthread_mutex_unlock (&gw->mu);
    cJSON *j = it ? s_delivery_json (gw, d, id) : NULL;
    char *text = j ? cJSON_PrintUnformatted (j) : NULL;
    cJSON_Delete (j);
    if (!text) {
        free (it);
        sl_client_nack (gw->client, d);       /* no memory: the broker keeps it */
        sl_delivery_destroy (&d);
        return;
    }
    it->id = id;
    it->d = d;
    it->json = text;
    pthread_mutex_lock (&gw->mu);
    it->gen = gw->gen;
    s_push (&sub->items, it);
    pthread_cond_broadcast (&gw->cv);
    pthread_mutex_unlock (&gw->mu);
}

static void
s_on_notice (const char *notice, const sl_param_t *args, size_t nargs, void *arg)
{
    sl_gateway_t *gw = arg;
    if (strncmp (notice, "consent-", 8) != 0)
        return;                     /* revoked / shutdown: the client handles those */
    const char *purpose = NULL;
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "notice", notice);
    for (size_t i = 0; i < nargs; i++) {
        const char *k = args[i].key, *v = args[i].value;
        if (!strcmp (k, "purpose"))
            purpose = v;
        if (!strcmp (k, "ended_at")) {
            char t[40];
            if (sl_json_format_time (strtoll (v, NULL, 10), t, sizeof t) == 0) {
                cJSON_AddStringToObject (o, "endedAt", t);
                continue;
            }
        }
        if (!strcmp (k, "consent_id"))
            k = "consentId";
        cJSON_AddStringToObject (o, k, v);
    }
    char *text = cJSON_PrintUnformatted (o);
    cJSON_Delete (o);
    if (!text)
        return;
    sl_info ("gateway.notice", "notice=%s purpose=%s", notice, purpose ? purpose : "");
    pthread_mutex_lock (&gw->mu);
    for (size_t i = 0; i < gw->cfg->nsubs; i++) {
        s_sub_t *sub = &gw->subs[i];
        if (purpose && strcmp (purpose, sub->cfg->purpose))
            continue;
        if (sub->notices.count >= S_MAX_NOTICES)
            /* nobody reads them: keep the newest (the broker stopped the data anyway) */
            s_item_free (s_pop (&sub->notices));
        s_item_t *n = calloc (1, sizeof *n);
        if (!n || !(n->json = strdup (text))) {
            free (n);
            continue;
        }
        s_push (&sub->notices, n);
    }
    pthread_cond_broadcast (&gw->cv);
    pthread_mutex_unlock (&gw->mu);
    free (text);
}

/*  A new connection: what was held came on the old one (design note 3). */
static void
s_drop_held (sl_gateway_t *gw)
{
    pthread_mutex_lock (&gw->mu);
    gw->gen++;
    size_t dropped = 0;
    for (size_t i = 0; i < gw->cfg->nsubs; i++)
        dropped += s_list_clear (&gw->subs[i].items);
    pthread_mutex_unlock (&gw->mu);
    if (dropped)
        sl_info ("gateway.reconnected", "dropped=%zu (the broker delivers them again)", dropped);
}

/*  ---- The owner's side: queries about our own data -------------------------- */

typedef struct {
    char *data;
    size_t len, cap, max;
} s_buf_t;

static size_t
s_curl_write (char *p, size_t size, size_t n, void *arg)
{
    s_buf_t *b = arg;
    size_t len = size * n;
    if (b->len + len + 1 > b->max)
        return 0;                   /* too big: curl fails the transfer */
    if (b->len + len + 1 > b->cap) {
        size_t cap = (b->len + len + 1) * 2;
        char *d = realloc (b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy (b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/*  POSTs `body` (JSON) to `url`; returns the HTTP status (0 on a transport
    error, with `err`), the answer in *answer (caller frees) if wanted. */
static long
s_post (const char *url, const char *body, struct curl_slist *headers, int timeout_ms,
        char **answer, char *err, size_t errlen)
{
    CURL *c = curl_easy_init ();
    if (!c) {
        snprintf (err, errlen, "curl_easy_init failed");
        return 0;
    }
    s_buf_t b = { NULL, 0, 0, 16u << 20 };
    char cerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = curl_slist_append (headers, "Content-Type: application/json");
    curl_easy_setopt (c, CURLOPT_URL, url);
    curl_easy_setopt (c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
    curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, s_curl_write);
    curl_easy_setopt (c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt (c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
    long status = 0;
    CURLcode rc = curl_easy_perform (c);
    if (rc == CURLE_OK)
        curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
    else
        snprintf (err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror (rc));
    curl_easy_cleanup (c);
    curl_slist_free_all (h);
    if (answer && status)
        *answer = b.data;
    else
        free (b.data);
    return status;
}

static int
s_serve (sl_query_t *q, void *arg)
{
    sl_gateway_t *gw = arg;
    const char *type = sl_query_record_type (q);
    const sl_schema_t *s = sl_gw_types_find (type, NULL, NULL, 0);
    sl_json_options_t jo = sl_gw_types_json (s);
    if (!gw->cfg->owner_url[0]) {
        sl_query_fail (q, "this bureau's gateway has no [owner] url to answer queries");
        return SL_ENOTFOUND;
    }
    if (!s) {
        sl_query_fail (q, "record type not known to the owner's gateway");
        return SL_EINVAL;
    }
    cJSON *req = cJSON_CreateObject ();
    cJSON_AddStringToObject (req, "recordType", type);
    cJSON_AddStringToObject (req, "subject", sl_query_subject (q) ? sl_query_subject (q) : "");
    cJSON_AddStringToObject (req, "purpose", sl_query_purpose (q) ? sl_query_purpose (q) : "");
    cJSON_AddStringToObject (req, "asker", sl_query_asker (q) ? sl_query_asker (q) : "");
    char *body = cJSON_PrintUnformatted (req);
    cJSON_Delete (req);
    char *answer = NULL, err[256] = "";
    long status = body ? s_post (gw->cfg->owner_url, body, NULL, gw->cfg->owner_timeout_ms,
                                 &answer, err, sizeof err) : 0;
    free (body);
    int rc = 0;
    char text[300];
    if (status != 200) {
        snprintf (text, sizeof text, "the owner's system answered %s%ld%s", status ? "HTTP " : "",
                  status, status ? "" : err);
        if (!status)
            snprintf (text, sizeof text, "the owner's system is not reachable: %s", err);
        sl_query_fail (q, text);
        sl_warn ("gateway.owner_query_failed", "record_type=%s status=%ld", type, status);
        free (answer);
        return SL_ENOTFOUND;
    }
    cJSON *j = NULL;
    int line, col;
    if (sl_json_parse (answer, strlen (answer), &j, &line, &col, err, sizeof err) != 0
        || !cJSON_IsArray (cJSON_GetObjectItemCaseSensitive (j, "records"))) {
        snprintf (text, sizeof text, "the owner's system answered no {\"records\": [...]}: %s", err);
        sl_query_fail (q, text);
        rc = SL_EINVAL;
        goto out;
    }
    const cJSON *it;
    size_t i = 0;
    cJSON_ArrayForEach (it, cJSON_GetObjectItemCaseSensitive (j, "records")) {
        uint8_t *packed = NULL;
        size_t size = 0;
        char e2[256];
        if (sl_json_decode_packed (it, s->descriptor, &jo, &packed, &size, e2,
                                   sizeof e2) != 0) {
            snprintf (text, sizeof text, "the owner's record %zu: %s", i, e2);
            sl_query_fail (q, text);
            rc = SL_EINVAL;
            goto out;
        }
        const char *subject = sl_query_subject (q);
        sl_query_add (q, packed, size, subject, 0);
        free (packed);
        i++;
    }
    sl_info ("gateway.owner_query", "record_type=%s records=%zu", type, i);
out:
    cJSON_Delete (j);
    free (answer);
    return rc;
}

/*  ---- Jobs (broker thread) ------------------------------------------------- */

static void
s_finish_record (sl_gateway_t *gw, s_job_t *j, size_t idx, int rc, const char *reason,
                 const char *text)
{
    pthread_mutex_lock (&gw->mu);
    sl_gw_result_t *r = &j->own[idx];
    r->rc = rc;
    r->spooled = 0;
    snprintf (r->reason, sizeof r->reason, "%s", reason ? reason : "");
    snprintf (r->text, sizeof r->text, "%s", text ? text : "");
    if (!j->done && j->results)
        j->results[idx] = *r;
    if (--j->remaining == 0 && !j->done) {
        j->done = 1;
        j->rc = 0;
        pthread_cond_broadcast (&gw->cv);
    }
    pthread_mutex_unlock (&gw->mu);
}

static void
s_on_published (const uint8_t *message_id, int rc, const char *text, void *arg)
{
    (void) message_id;
    s_pubarg_t *a = arg;
    const char *reason = rc ? sl_client_last_reason (a->gw->client) : NULL;
    s_finish_record (a->gw, a->job, a->idx, rc, reason, text);
}

static void
s_run_publish (sl_gateway_t *gw, s_job_t *j)
{
    sl_client_t *c = gw->client;
    int spool = gw->cfg->spool[0] != 0;
    if (!c || (!sl_client_connected (c) && !spool)) {
        pthread_mutex_lock (&gw->mu);
        j->done = 1;
        j->rc = SL_EAGAIN;
        pthread_cond_broadcast (&gw->cv);
        s_job_release (j);          /* the broker's reference: nothing was queued */
        pthread_mutex_unlock (&gw->mu);
        return;
    }
    j->queued = 1;
    j->next = gw->live;             /* kept until every callback ran */
    gw->live = j;
    for (size_t i = 0; i < j->n; i++) {
        const sl_gw_rec_t *r = &j->recs[i];
        sl_publish_meta_t meta = { r->id, r->subject, r->event_time_ms };
        s_pubarg_t *a = &j->args[i];
        *a = (s_pubarg_t) { gw, j, i };
        int rc = sl_client_publish_async (c, j->record_type, &meta, r->body, r->size,
                                          s_on_published, a, NULL);
        if (rc != 0)
            s_finish_record (gw, j, i, rc, NULL, sl_client_last_error (c));
    }
    sl_client_poll (c, 0);          /* send now */
    if (spool && !sl_client_connected (c)) {
        /* design note 2: unreachable broker, records in the spool: make it durable */
        int rc = sl_client_spool_sync (c);
        pthread_mutex_lock (&gw->mu);
        if (!j->done) {
            j->done = 1;
            j->rc = rc == 0 ? 1 : SL_EAGAIN;
            pthread_cond_broadcast (&gw->cv);
        }
        pthread_mutex_unlock (&gw->mu);
    }
}

static void
s_run_query (sl_gateway_t *gw, s_job_t *j)
{
    sl_client_t *c = gw->client;
    sl_reply_t *reply = NULL;
    int rc;
    sl_param_t params[32];
    size_t np = 0;
    const cJSON *p;
    cJSON_ArrayForEach (p, j->params) {
        if (np < 32 && cJSON_IsString (p))
            params[np++] = (sl_param_t) { p->string, p->valuestring };
    }
    if (!c || !sl_client_connected (c)) {
        rc = SL_EAGAIN;
        snprintf (j->text, sizeof j->text, "the broker is not reachable from this gateway");
    } else {
        rc = sl_client_query (c, j->record_type, j->subject, j->purpose, params, np,
                              gw->cfg->query_timeout_ms, &reply);
        if (rc != 0) {
            snprintf (j->reason, sizeof j->reason, "%s", sl_client_last_reason (c));
            snprintf (j->text, sizeof j->text, "%s", sl_client_last_error (c));
        }
    }
    cJSON *arr = NULL;
    if (rc == 0) {
        arr = cJSON_CreateArray ();
        for (size_t i = 0; i < sl_reply_count (reply); i++) {
            size_t size;
            const void *body = sl_reply_body (reply, i, &size);
            const char *type = sl_reply_record_type (reply, i);
            const sl_schema_t *s = sl_gw_types_find (type ? type : j->record_type, NULL, NULL, 0);
            sl_json_options_t jo = sl_gw_types_json (s);
            cJSON *o = cJSON_CreateObject (), *rec = NULL;
            cJSON_AddStringToObject (o, "recordType", type ? type : j->record_type);
            cJSON_AddStringToObject (o, "subject", sl_reply_subject (reply, i)
                                     ? sl_reply_subject (reply, i) : "");
            char err[200];
            if (s && sl_json_encode_packed (s->descriptor, body, size, &jo, &rec, err,
                                            sizeof err) == 0)
                cJSON_AddItemToObject (o, "record", rec);
            else
                cJSON_AddStringToObject (o, "recordError", s ? err : "unknown record type");
            cJSON_AddItemToArray (arr, o);
        }
        sl_reply_destroy (&reply);
    }
    pthread_mutex_lock (&gw->mu);
    j->rc = rc;
    j->records = arr;
    j->done = 1;
    pthread_cond_broadcast (&gw->cv);
    s_job_release (j);
    pthread_mutex_unlock (&gw->mu);
}

/*  Jobs past their deadline (design note 2) and live jobs whose callbacks
    all ran. */
static void
s_check_jobs (sl_gateway_t *gw)
{
    int64_t now = s_now_ms ();
    int need_sync = 0;
    pthread_mutex_lock (&gw->mu);
    for (s_job_t *j = gw->live; j; j = j->next)
        if (!j->done && now >= j->deadline_ms)
            need_sync = 1;
    pthread_mutex_unlock (&gw->mu);
    int synced = need_sync && gw->cfg->spool[0] && sl_client_spool_sync (gw->client) == 0;
    pthread_mutex_lock (&gw->mu);
    s_job_t **pp = &gw->live;
    while (*pp) {
        s_job_t *j = *pp;
        if (!j->done && now >= j->deadline_ms) {
            j->done = 1;
            j->rc = synced ? 1 : SL_ETIMEOUT;
            pthread_cond_broadcast (&gw->cv);
        }
        if (j->remaining == 0) {
            *pp = j->next;
            s_job_release (j);
        } else
            pp = &j->next;
    }
    pthread_mutex_unlock (&gw->mu);
}

/*  The client is gone (refused by the broker, or stopped): callbacks of the
    live jobs will never run (gw->mu held). Records in the spool go out with
    the next client (it reloads the spool); without a spool their fate is
    unknown: 504, retry with the same Idempotency-Key. */
static void
s_fail_live (sl_gateway_t *gw)
{
    while (gw->live) {
        s_job_t *j = gw->live;
        gw->live = j->next;
        if (!j->done) {
            j->done = 1;
            j->rc = gw->cfg->spool[0] ? 1 : SL_ETIMEOUT;
        }
        j->remaining = 0;
        s_job_release (j);
    }
}

/*  s_fail_live, taking gw->mu, and wakes the waiters. */
static void
s_abandon_live (sl_gateway_t *gw)
{
    pthread_mutex_lock (&gw->mu);
    s_fail_live (gw);
    pthread_cond_broadcast (&gw->cv);
    pthread_mutex_unlock (&gw->mu);
}

/*  ---- The broker thread ---------------------------------------------------- */

static int
s_connect (sl_gateway_t *gw)
{
    const sl_gw_config_t *cfg = gw->cfg;
    sl_client_options_t o = { 0 };
    char buf[4096], err[512] = "";
    if (cfg->data[0]) {
        if (sl_options_from_data_dir (&o, cfg->data, 0, buf, sizeof buf, err, sizeof err) != 0)
            goto fail;
    }
    if (cfg->endpoint[0])
        o.endpoint = cfg->endpoint;
    if (cfg->broker_key[0])
        o.broker_key_file = cfg->broker_key;
    o.key_file = cfg->key;
    o.spool_dir = cfg->spool[0] ? cfg->spool : NULL;
    o.connect_timeout_ms = 3000;
    if (sl_client_connect (&o, &gw->client, err, sizeof err) != 0)
        goto fail;
    sl_client_set_wakeup_fd (gw->client, gw->efd);
    sl_client_on_notice (gw->client, s_on_notice, gw);
    sl_client_serve (gw->client, s_serve, gw);
    sl_client_stats_t st;
    sl_client_stats (gw->client, &st);
    gw->reconnects = st.reconnects;
    sl_info ("gateway.broker", "member=%s connected=%d spool=%s", sl_client_member (gw->client),
             sl_client_connected (gw->client), cfg->spool[0] ? cfg->spool : "none");
    return 0;
fail:
    pthread_mutex_lock (&gw->mu);
    snprintf (gw->status.last_error, sizeof gw->status.last_error, "%s", err);
    pthread_mutex_unlock (&gw->mu);
    return -1;
}

static void
s_subscribe_pending (sl_gateway_t *gw)
{
    int64_t now = s_now_ms ();
    for (size_t i = 0; i < gw->cfg->nsubs; i++) {
        s_sub_t *sub = &gw->subs[i];
        if (sub->subscribed || now < sub->next_try_ms || !sl_client_connected (gw->client))
            continue;
        sl_gw_types_find (sub->cfg->record_type, NULL, NULL, 0);     /* learn it before deliveries */
        int rc = sl_client_subscribe (gw->client, sub->cfg->record_type, sub->cfg->purpose);
        pthread_mutex_lock (&gw->mu);
        if (rc == 0) {
            sub->subscribed = 1;
            sub->error[0] = '\0';
        } else {
            sub->next_try_ms = now + 5000;
            snprintf (sub->error, sizeof sub->error, "%s", sl_client_last_error (gw->client));
        }
        pthread_mutex_unlock (&gw->mu);
        if (rc == 0)
            sl_info ("gateway.subscribed", "record_type=%s purpose=%s", sub->cfg->record_type,
                     sub->cfg->purpose);
        else
            sl_warn ("gateway.subscribe_failed", "record_type=%s purpose=%s rc=%d",
                     sub->cfg->record_type, sub->cfg->purpose, rc);
    }
}

static void *
s_broker_main (void *arg)
{
    sl_gateway_t *gw = arg;
    int64_t next_connect = 0;
    while (1) {
        pthread_mutex_lock (&gw->mu);
        int stop = gw->stop;
        pthread_mutex_unlock (&gw->mu);
        if (stop)
            break;
        if (!gw->client) {
            if (s_now_ms () >= next_connect && s_connect (gw) != 0)
                next_connect = s_now_ms () + 1000;
        }
        if (gw->client) {
            s_subscribe_pending (gw);
            int rc = sl_client_poll (gw->client, 200);
            if (rc == SL_ECLOSED) {
                sl_error ("gateway.refused", "the broker refused or revoked this gateway's key: %s",
                          sl_client_last_error (gw->client));
                pthread_mutex_lock (&gw->mu);
                snprintf (gw->status.last_error, sizeof gw->status.last_error, "%s",
                          sl_client_last_error (gw->client));
                pthread_mutex_unlock (&gw->mu);
                sl_client_destroy (&gw->client, 0);
                s_abandon_live (gw);
                s_drop_held (gw);
                for (size_t i = 0; i < gw->cfg->nsubs; i++)
                    gw->subs[i].subscribed = 0;
                next_connect = s_now_ms () + 5000;
                continue;
            }
            sl_client_stats_t st;
            sl_client_stats (gw->client, &st);
            if (st.reconnects != gw->reconnects) {
                gw->reconnects = st.reconnects;
                s_drop_held (gw);
            }
            sl_delivery_t *d = NULL;
            while (sl_client_recv (gw->client, &d, 0) == 0)
                s_route_delivery (gw, d);
        } else {
            struct pollfd p = { gw->efd, POLLIN, 0 };
            poll (&p, 1, 200);
        }
        uint64_t v;
        while (read (gw->efd, &v, sizeof v) > 0)
            ;
        /* acks the local systems gave */
        pthread_mutex_lock (&gw->mu);
        s_ack_t *acks = gw->acks;
        gw->acks = NULL;
        uint64_t gen = gw->gen;
        pthread_mutex_unlock (&gw->mu);
        while (acks) {
            s_ack_t *a = acks;
            acks = a->next;
            if (gw->client && a->gen == gen)
                sl_client_ack (gw->client, a->d);
            sl_delivery_destroy (&a->d);
            free (a);
        }
        /* new jobs */
        pthread_mutex_lock (&gw->mu);
        s_job_t *jobs = gw->jobs_head;
        gw->jobs_head = gw->jobs_tail = NULL;
        pthread_mutex_unlock (&gw->mu);
        while (jobs) {
            s_job_t *j = jobs;
            jobs = j->next;
            j->next = NULL;
            if (j->kind == S_JOB_PUBLISH)
                s_run_publish (gw, j);
            else
                s_run_query (gw, j);
        }
        if (gw->client) {
            sl_client_poll (gw->client, 0);
            s_check_jobs (gw);
        }
        /* status */
        pthread_mutex_lock (&gw->mu);
        gw->status.connected = gw->client && sl_client_connected (gw->client);
        if (gw->client) {
            snprintf (gw->status.member, sizeof gw->status.member, "%s",
                      sl_client_member (gw->client));
            gw->status.unacked = sl_client_unacked (gw->client);
            gw->status.spooled = sl_client_spool_depth (gw->client);
            if (!gw->status.connected)
                snprintf (gw->status.last_error, sizeof gw->status.last_error, "%s",
                          sl_client_last_error (gw->client));
        }
        size_t held = 0;
        for (size_t i = 0; i < gw->cfg->nsubs; i++)
            held += gw->subs[i].items.count;
        gw->status.held = held;
        pthread_mutex_unlock (&gw->mu);
    }
    if (gw->client) {
        sl_client_flush (gw->client, 2000);
        sl_client_destroy (&gw->client, 1000);
    }
    /* jobs whose callbacks will never come now */
    pthread_mutex_lock (&gw->mu);
    s_fail_live (gw);
    while (gw->jobs_head) {
        s_job_t *j = gw->jobs_head;
        gw->jobs_head = j->next;
        j->done = 1;
        j->rc = SL_EAGAIN;
        s_job_release (j);
    }
    pthread_cond_broadcast (&gw->cv);
    pthread_mutex_unlock (&gw->mu);
    return NULL;
}

/*  ---- Webhooks ---------------------------------------------------------------- */

typedef struct {
    sl_gateway_t *gw;
    s_sub_t *sub;
} s_hookarg_t;

/*  Signs and POSTs one event; returns 1 on a 2xx answer. */
static int
s_webhook_post (sl_gateway_t *gw, s_sub_t *sub, const char *event, const char *id,
                const char *body)
{
    char t[32], sig[200], hdr_sig[260], hdr_event[80], hdr_id[96], err[256] = "";
    snprintf (t, sizeof t, "%lld", (long long) (s_now_ms () / 1000));
    /* Sluice-Signature: t=UNIX,v1=hex(HMAC-SHA256(secret, "UNIX." + body)) */
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    const char *key = sub->cfg->webhook_secret;
    crypto_auth_hmacsha256_init (&st, (const unsigned char *) key, strlen (key));
    crypto_auth_hmacsha256_update (&st, (const unsigned char *) t, strlen (t));
    crypto_auth_hmacsha256_update (&st, (const unsigned char *) ".", 1);
    crypto_auth_hmacsha256_update (&st, (const unsigned char *) body, strlen (body));
    crypto_auth_hmacsha256_final (&st, mac);
    char hex[2 * sizeof mac + 1];
    sodium_bin2hex (hex, sizeof hex, mac, sizeof mac);
    snprintf (sig, sizeof sig, "t=%s,v1=%s", t, hex);
    snprintf (hdr_sig, sizeof hdr_sig, "Sluice-Signature: %s", sig);
    snprintf (hdr_event, sizeof hdr_event, "Sluice-Event: %s", event);
    snprintf (hdr_id, sizeof hdr_id, "Sluice-Delivery-Id: %s", id);
    struct curl_slist *h = curl_slist_append (NULL, hdr_sig);
    h = curl_slist_append (h, hdr_event);
    h = curl_slist_append (h, hdr_id);
    long status = s_post (sub->cfg->webhook, body, h, gw->cfg->webhook_timeout_ms, NULL, err,
                          sizeof err);
    if (status >= 200 && status < 300) {
        sl_info ("gateway.webhook", "subscription=%s event=%s id=%s status=%ld", sub->cfg->name,
                 event, id, status);
        return 1;
    }
    char q[300];
    sl_warn ("gateway.webhook_failed", "subscription=%s event=%s id=%s status=%ld error=%s",
             sub->cfg->name, event, id, status, sl_log_quote (err, q, sizeof q));
    return 0;
}

static void *
s_webhook_main (void *arg)
{
    s_hookarg_t *ha = arg;
    sl_gateway_t *gw = ha->gw;
    s_sub_t *sub = ha->sub;
    free (ha);
    int64_t backoff = gw->cfg->webhook_retry_min_ms;
    pthread_mutex_lock (&gw->mu);
    while (!gw->stop) {
        /* notices first: best effort, a few tries */
        if (sub->notices.head) {
            s_item_t *n = s_pop (&sub->notices);
            pthread_mutex_unlock (&gw->mu);
            for (int i = 0; i < 3 && !s_webhook_post (gw, sub, "notice", "-", n->json); i++)
                usleep (100000);
            s_item_free (n);
            pthread_mutex_lock (&gw->mu);
            continue;
        }
        s_item_t *it = sub->items.head;
        if (!it) {
            pthread_cond_wait (&gw->cv, &gw->mu);
            continue;
        }
        uint64_t id = it->id;
        char *body = strdup (it->json);
        it->lease_until = INT64_MAX;        /* the webhook owns it */
        pthread_mutex_unlock (&gw->mu);
        char ids[48];
        snprintf (ids, sizeof ids, "%s-%" PRIu64, gw->boot, id);
        int ok = body && s_webhook_post (gw, sub, "delivery", ids, body);
        free (body);
        pthread_mutex_lock (&gw->mu);
        if (ok) {
            backoff = gw->cfg->webhook_retry_min_ms;
            /* still the head? (a reconnect drops what was held) */
            if (sub->items.head && sub->items.head->id == id
                && s_ack_item (gw, s_pop (&sub->items)))
                s_wake (gw);
            continue;
        }
        /* back off, interruptibly; the same delivery goes first next time */
        struct timespec ts;
        s_deadline (&ts, s_now_ms () + backoff);
        while (!gw->stop && pthread_cond_timedwait (&gw->cv, &gw->mu, &ts) != ETIMEDOUT)
            ;
        backoff = backoff * 2 > gw->cfg->webhook_retry_max_ms ? gw->cfg->webhook_retry_max_ms
                                                              : backoff * 2;
    }
    pthread_mutex_unlock (&gw->mu);
    return NULL;
}

/*  ---- Public ------------------------------------------------------------------ */

int
sl_gateway_new (const sl_gw_config_t *cfg, sl_gateway_t **gw_p, char *err, size_t errlen)
{
    *gw_p = NULL;
    sl_gateway_t *gw = calloc (1, sizeof *gw);
    if (!gw) {
        snprintf (err, errlen, "out of memory");
        return SL_ENOMEM;
    }
    gw->cfg = cfg;
    uint8_t boot[8];
    randombytes_buf (boot, sizeof boot);
    sodium_bin2hex (gw->boot, sizeof gw->boot, boot, sizeof boot);
    pthread_mutex_init (&gw->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init (&ca);
    pthread_condattr_setclock (&ca, CLOCK_REALTIME);
    pthread_cond_init (&gw->cv, &ca);
    pthread_condattr_destroy (&ca);
    gw->efd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (gw->efd < 0) {
        snprintf (err, errlen, "eventfd: %s", strerror (errno));
        free (gw);
        return SL_EIO;
    }
    for (size_t i = 0; i < cfg->nsubs; i++)
        gw->subs[i].cfg = &cfg->subs[i];
    if (pthread_create (&gw->broker, NULL, s_broker_main, gw) != 0) {
        snprintf (err, errlen, "cannot start the broker thread");
        close (gw->efd);
        free (gw);
        return SL_EIO;
    }
    gw->broker_running = 1;
    for (size_t i = 0; i < cfg->nsubs; i++) {
        if (!cfg->subs[i].webhook[0])
            continue;
        s_hookarg_t *ha = malloc (sizeof *ha);
        if (!ha)
            continue;
        *ha = (s_hookarg_t) { gw, &gw->subs[i] };
        if (pthread_create (&gw->subs[i].webhook, NULL, s_webhook_main, ha) == 0)
            gw->subs[i].webhook_running = 1;
        else
            free (ha);
    }
    *gw_p = gw;
    return 0;
}

void
sl_gateway_stop (sl_gateway_t *gw)
{
    pthread_mutex_lock (&gw->mu);
    gw->stop = 1;
    pthread_cond_broadcast (&gw->cv);
    pthread_mutex_unlock (&gw->mu);
    s_wake (gw);
}

void
sl_gateway_destroy (sl_gateway_t **gw_p)
{
    if (!gw_p || !*gw_p)
        return;
    sl_gateway_t *gw = *gw_p;
    sl_gateway_stop (gw);
    for (size_t i = 0; i < gw->cfg->nsubs; i++)
        if (gw->subs[i].webhook_running)
            pthread_join (gw->subs[i].webhook, NULL);
    /* acks the webhooks took in while stopping go out with the last pass */
    if (gw->broker_running)
        pthread_join (gw->broker, NULL);
    for (size_t i = 0; i < gw->cfg->nsubs; i++) {
        s_sub_t *sub = &gw->subs[i];
        s_list_clear (&sub->items);
        s_list_clear (&sub->notices);
    }
    while (gw->acks) {
        s_ack_t *a = gw->acks;
        gw->acks = a->next;
        sl_delivery_destroy (&a->d);
        free (a);
    }
    close (gw->efd);
    pthread_cond_destroy (&gw->cv);
    pthread_mutex_destroy (&gw->mu);
    free (gw);
    *gw_p = NULL;
}

static void
s_enqueue (sl_gateway_t *gw, s_job_t *j)
{
    *(gw->jobs_tail ? &gw->jobs_tail->next : &gw->jobs_head) = j;
    gw->jobs_tail = j;
}

/*  Hands job `j` to the client thread and waits until it is done. Returns
    0 with gw->mu held (the caller reads the job, releases it, unlocks), or
    SL_EAGAIN with nothing held when the gateway is stopping (the job was
    not queued). */
static int
s_run_job (sl_gateway_t *gw, s_job_t *j)
{
    pthread_mutex_lock (&gw->mu);
    if (gw->stop) {
        pthread_mutex_unlock (&gw->mu);
        return SL_EAGAIN;
    }
    s_enqueue (gw, j);
    pthread_mutex_unlock (&gw->mu);
    s_wake (gw);
    pthread_mutex_lock (&gw->mu);
    while (!j->done)
        pthread_cond_wait (&gw->cv, &gw->mu);
    return 0;
}

int
sl_gateway_publish (sl_gateway_t *gw, const char *record_type, const sl_gw_rec_t *recs,
                    size_t n, sl_gw_result_t *results)
{
    s_job_t *j = calloc (1, sizeof *j);
    sl_gw_result_t *own = calloc (n ? n : 1, sizeof *own);
    s_pubarg_t *args = calloc (n ? n : 1, sizeof *args);
    if (!j || !own || !args) {
        free (j);
        free (own);
        free (args);
        return SL_ENOMEM;
    }
    j->args = args;
    j->kind = S_JOB_PUBLISH;
    j->refs = 2;
    j->record_type = record_type;
    j->recs = recs;
    j->results = results;
    j->own = own;
    j->n = j->remaining = n;
    j->deadline_ms = s_now_ms () + gw->cfg->publish_timeout_ms;
    for (size_t i = 0; i < n; i++) {
        results[i].rc = SL_ETIMEOUT;
        results[i].spooled = 0;
        results[i].reason[0] = results[i].text[0] = '\0';
    }
    if (s_run_job (gw, j) != 0) {
        free (own);
        free (args);
        free (j);
        return SL_EAGAIN;
    }
    int rc = j->rc;
    if (rc == 1 || rc == SL_ETIMEOUT)
        for (size_t i = 0; i < n; i++)
            if (results[i].rc == SL_ETIMEOUT && j->own[i].rc == 0 && j->own[i].text[0] == '\0')
                results[i].spooled = rc == 1;
    /* recs and results belong to the caller: the job must not touch them
       after this; late callbacks write into j->own only */
    j->results = NULL;
    j->recs = NULL;
    s_job_release (j);
    pthread_mutex_unlock (&gw->mu);
    return rc;
}

int
sl_gateway_poll (sl_gateway_t *gw, size_t subi, unsigned max, int wait_ms, cJSON **out)
{
    *out = NULL;
    s_sub_t *sub = &gw->subs[subi];
    if (sub->cfg->webhook[0])
        return SL_EINVAL;
    cJSON *o = cJSON_CreateObject ();
    cJSON *dels = cJSON_AddArrayToObject (o, "deliveries");
    cJSON *nots = cJSON_AddArrayToObject (o, "notices");
    int64_t deadline = s_now_ms () + wait_ms;
    struct timespec ts;
    s_deadline (&ts, deadline);
    pthread_mutex_lock (&gw->mu);
    while (1) {
        int64_t now = s_now_ms ();
        unsigned got = 0;
        for (s_item_t *it = sub->items.head; it && got < max; it = it->next)
            if (it->lease_until <= now) {
                it->lease_until = now + (int64_t) gw->cfg->lease_s * 1000;
                cJSON *d = cJSON_Parse (it->json);
                if (d)
                    cJSON_AddItemToArray (dels, d);
                got++;
            }
        for (s_item_t *n; (n = s_pop (&sub->notices)) != NULL; got++) {
            cJSON *j = cJSON_Parse (n->json);
            if (j)
                cJSON_AddItemToArray (nots, j);
            s_item_free (n);
        }
        if (got || now >= deadline || gw->stop)
            break;
        /* wake at the deadline, or when a lease runs out */
        int64_t wake = deadline;
        for (s_item_t *it = sub->items.head; it; it = it->next)
            if (it->lease_until > now && it->lease_until < wake)
                wake = it->lease_until;
        s_deadline (&ts, wake);
        pthread_cond_timedwait (&gw->cv, &gw->mu, &ts);
    }
    if (!sub->subscribed && sub->error[0])
        cJSON_AddStringToObject (o, "subscriptionError", sub->error);
    pthread_mutex_unlock (&gw->mu);
    *out = o;
    return 0;
}

int
sl_gateway_ack (sl_gateway_t *gw, size_t subi, const cJSON *ids, cJSON *acked, cJSON *unknown)
{
    s_sub_t *sub = &gw->subs[subi];
    const cJSON *v;
    int any = 0;
    pthread_mutex_lock (&gw->mu);
    cJSON_ArrayForEach (v, ids) {
        const char *text = cJSON_IsString (v) ? v->valuestring : NULL;
        size_t bl = strlen (gw->boot);
        char *end = NULL;
        uint64_t id = 0;
        /* BOOT-N: ids of an earlier run of the gateway never match */
        if (text && !strncmp (text, gw->boot, bl) && text[bl] == '-' && text[bl + 1])
            id = strtoull (text + bl + 1, &end, 10);
        s_item_t **pp = &sub->items.head, *prev = NULL;
        int found = 0;
        if (id && end && !*end)
            for (; *pp; prev = *pp, pp = &(*pp)->next)
                if ((*pp)->id == id && (*pp)->lease_until != 0) {
                    s_item_t *it = *pp;
                    *pp = it->next;
                    if (sub->items.tail == it)
                        sub->items.tail = prev;
                    sub->items.count--;
                    any |= s_ack_item (gw, it);
                    found = 1;
                    break;
                }
        cJSON_AddItemToArray (found ? acked : unknown, cJSON_Duplicate (v, 1));
    }
    pthread_mutex_unlock (&gw->mu);
    if (any)
        s_wake (gw);
    return 0;
}

int
sl_gateway_query (sl_gateway_t *gw, const char *record_type, const char *subject,
                  const char *purpose, const cJSON *parameters, cJSON **records,
                  char *reason, size_t reasonlen, char *text, size_t textlen)
{
    *records = NULL;
    s_job_t *j = calloc (1, sizeof *j);
    if (!j)
        return SL_ENOMEM;
    j->kind = S_JOB_QUERY;
    j->refs = 2;
    j->record_type = record_type;
    j->subject = subject;
    j->purpose = purpose;
    j->params = parameters;
    if (s_run_job (gw, j) != 0) {
        free (j);
        return SL_EAGAIN;
    }
    int rc = j->rc;
    *records = j->records;
    j->records = NULL;
    snprintf (reason, reasonlen, "%s", j->reason);
    snprintf (text, textlen, "%s", j->text);
    s_job_release (j);
    pthread_mutex_unlock (&gw->mu);
    return rc;
}

void
sl_gateway_status (sl_gateway_t *gw, sl_gw_status_t *out)
{
    pthread_mutex_lock (&gw->mu);
    *out = gw->status;
    pthread_mutex_unlock (&gw->mu);
}

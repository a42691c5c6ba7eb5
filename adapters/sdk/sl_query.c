/*  sl_query — asking queries (QUERY -> REPLY) and serving them as an owner. */
#include "sl_internal.h"
#include "sl_error.h"
#include "sl_log.h"
#include "sl_reason.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_query {
    const sl_header_t *h;
    sl_reply_rec_t *recs;
    size_t count, cap;
    char fail_text[512];
};

/*  ---- replies (asker side) ---- */

void
sl_reply_destroy (sl_reply_t **r_p)
{
    if (!r_p || !*r_p)
        return;
    sl_reply_t *r = *r_p;
    for (size_t i = 0; i < r->count; i++) {
        free (r->recs[i].record_type);
        free (r->recs[i].subject);
        free (r->recs[i].body);
    }
    free (r->recs);
    free (r);
    *r_p = NULL;
}

size_t sl_reply_count (const sl_reply_t *r) { return r->count; }

const void *
sl_reply_body (const sl_reply_t *r, size_t i, size_t *size)
{
    if (i >= r->count) {
        if (size)
            *size = 0;
        return NULL;
    }
    if (size)
        *size = r->recs[i].size;
    return r->recs[i].body;
}

const char *
sl_reply_subject (const sl_reply_t *r, size_t i)
{
    return i < r->count ? r->recs[i].subject : NULL;
}

const char *
sl_reply_record_type (const sl_reply_t *r, size_t i)
{
    return i < r->count ? r->recs[i].record_type : NULL;
}

int
sl__on_reply (sl_client_t *self, const sl_header_t *h, zmq_msg_t *frames, size_t nframes)
{
    sl_waiter_t *w = sl__waiter_find (self, h->seq);
    if (!w)
        return 0;                 /* an answer nobody waits for any more */
    w->done = 1;
    if (nframes != 1 + h->n_records) {
        w->rc = SL_EPROTO;
        snprintf (w->text, sizeof w->text, "REPLY with %zu records but %zu frames", h->n_records,
                  nframes - 1);
        return 1;
    }
    sl_reply_t *r = calloc (1, sizeof *r);
    if (!r || !(r->recs = calloc (h->n_records ? h->n_records : 1, sizeof *r->recs)))
        goto nomem;
    for (size_t i = 0; i < h->n_records; i++, r->count++) {
        const Sluice__V1__RecordMeta *m = h->records[i];
        sl_reply_rec_t *rec = &r->recs[i];
        rec->record_type = strdup (m->record_type && *m->record_type ? m->record_type : h->record_type);
        rec->subject = strdup (m->subject ? m->subject : "");
        rec->size = zmq_msg_size (&frames[1 + i]);
        rec->body = malloc (rec->size ? rec->size : 1);
        if (!rec->record_type || !rec->subject || !rec->body) {
            r->count++;
            goto nomem;
        }
        memcpy (rec->body, zmq_msg_data (&frames[1 + i]), rec->size);
    }
    w->reply = r;
    w->rc = 0;
    return 1;
nomem:
    sl_reply_destroy (&r);
    w->rc = SL_ENOMEM;
    snprintf (w->text, sizeof w->text, "out of memory holding the reply");
    return 1;
}

int
sl_client_query (sl_client_t *self, const char *record_type, const char *subject,
                 const char *purpose, const sl_param_t *params, size_t nparams,
                 int timeout_ms, sl_reply_t **reply_p)
{
    sl__set_reason (self, NULL);
    *reply_p = NULL;
    if (!record_type || !*record_type || !purpose || !*purpose) {
        sl__set_error (self, "query: a record type and a purpose are required");
        return SL_EINVAL;
    }
    if (timeout_ms <= 0)
        timeout_ms = 5000;
    Sluice__V1__Header__ParametersEntry entries[nparams ? nparams : 1];
    Sluice__V1__Header__ParametersEntry *ep[nparams ? nparams : 1];
    for (size_t i = 0; i < nparams; i++) {
        sluice__v1__header__parameters_entry__init (&entries[i]);
        entries[i].key = (char *) params[i].key;
        entries[i].value = (char *) params[i].value;
        ep[i] = &entries[i];
    }
    /* the broker answers `timeout` itself at timeout_ms; wait a little longer */
    int64_t deadline = sl_mono_ms () + timeout_ms + 2000;
    for (;;) {
        int rc = sl__wait_up (self, deadline);
        if (rc != 0) {
            if (rc == SL_ETIMEOUT)
                sl__set_error (self, "query: not connected to the broker");
            return rc;
        }
        sl_header_t h = SLUICE__V1__HEADER__INIT;
        sl_waiter_t w;
        sl__waiter_add (self, &w, sl__next_seq (self));
        h.command = SLUICE__V1__COMMAND__QUERY;
        h.seq = w.seq;
        h.record_type = (char *) record_type;
        h.purpose = (char *) purpose;
        h.subject = (char *) (subject ? subject : "");
        h.n_parameters = nparams;
        h.parameters = ep;
        h.timeout_ms = (uint32_t) timeout_ms;
        rc = sl__send (self, &h, NULL, NULL, 0);
        if (rc == 0)
            rc = sl__wait (self, &w, deadline);
        sl__waiter_remove (self, &w);
        if (rc == SL_ECLOSED || rc == SL_EAGAIN)
            continue;             /* PROTOCOL.md 5.7: lost with the connection; ask again */
        if (rc == 0) {
            *reply_p = w.reply;
            return 0;
        }
        sl_reply_destroy (&w.reply);
        if (rc == SL_ETIMEOUT && !w.done)
            sl__set_error (self, "query %s: no answer within %d ms", record_type, timeout_ms);
        else
            sl__set_error (self, "query %s for %s: %s", record_type, purpose, w.text);
        return rc;
    }
}

/*  ---- serving (owner side) ---- */

const char *sl_query_record_type (const sl_query_t *q) { return q->h->record_type; }
const char *sl_query_subject (const sl_query_t *q) { return q->h->subject; }
const char *sl_query_purpose (const sl_query_t *q) { return q->h->purpose; }
const char *sl_query_asker (const sl_query_t *q) { return q->h->member; }

const char *
sl_query_param (const sl_query_t *q, const char *key)
{
    for (size_t i = 0; i < q->h->n_parameters; i++)
        if (strcmp (q->h->parameters[i]->key, key) == 0)
            return q->h->parameters[i]->value;
    return NULL;
}

int
sl_query_add (sl_query_t *q, const void *body, size_t size, const char *subject,
              int64_t event_time_ms)
{
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        sl_reply_rec_t *r = realloc (q->recs, cap * sizeof *r);
        if (!r)
            return SL_ENOMEM;
        q->recs = r;
        q->cap = cap;
    }
    sl_reply_rec_t *rec = &q->recs[q->count];
    memset (rec, 0, sizeof *rec);
    rec->subject = strdup (subject ? subject : "");
    rec->body = malloc (size ? size : 1);
    if (!rec->subject || !rec->body) {
        free (rec->subject);
        free (rec->body);
        return SL_ENOMEM;
    }
    memcpy (rec->body, body, size);
    rec->size = size;
    rec->event_time_ms = event_time_ms;
    rec->record_type = NULL;      /* the query's type */
    q->count++;
    return 0;
}

void
sl_query_fail (sl_query_t *q, const char *text)
{
    snprintf (q->fail_text, sizeof q->fail_text, "%s", text ? text : "");
}

static void
s_send_query_error (sl_client_t *self, uint64_t query_id, int rc, const char *text)
{
    sl_header_t h = SLUICE__V1__HEADER__INIT;
    Sluice__V1__Error e = SLUICE__V1__ERROR__INIT;
    Sluice__V1__Error *ep = &e;
    e.code = (Sluice__V1__ErrorCode) sl_reason_from_rc (rc);
    e.text = (char *) text;
    h.command = SLUICE__V1__COMMAND__ERROR;
    h.seq = sl__next_seq (self);
    h.query_id = query_id;
    h.n_errors = 1;
    h.errors = &ep;
    sl__send (self, &h, NULL, NULL, 0);
}

void
sl__on_query (sl_client_t *self, const sl_header_t *h)
{
    if (!self->serve) {
        s_send_query_error (self, h->query_id, SL_ENOTFOUND,
                            "this member does not serve queries");
        return;
    }
    sl_query_t q = { .h = h };
    int rc = self->serve (&q, self->serve_arg);
    if (rc != 0) {
        s_send_query_error (self, h->query_id, rc,
                            q.fail_text[0] ? q.fail_text : sl_strerror (rc));
    }
    else {
        size_t n = q.count;
        Sluice__V1__RecordMeta *metas = calloc (n ? n : 1, sizeof *metas);
        Sluice__V1__RecordMeta **mp = calloc (n ? n : 1, sizeof *mp);
        const void **bodies = calloc (n ? n : 1, sizeof *bodies);
        size_t *sizes = calloc (n ? n : 1, sizeof *sizes);
        if (!metas || !mp || !bodies || !sizes)
            s_send_query_error (self, h->query_id, SL_ENOMEM, "owner out of memory");
        else {
            for (size_t i = 0; i < n; i++) {
                sluice__v1__record_meta__init (&metas[i]);
                metas[i].subject = q.recs[i].subject;
                metas[i].event_time = q.recs[i].event_time_ms;
                mp[i] = &metas[i];
                bodies[i] = q.recs[i].body;
                sizes[i] = q.recs[i].size;
            }
            sl_header_t r = SLUICE__V1__HEADER__INIT;
            r.command = SLUICE__V1__COMMAND__REPLY;
            r.seq = sl__next_seq (self);
            r.query_id = h->query_id;
            r.record_type = h->record_type;
            r.n_records = n;
            r.records = mp;
            if (sl__send (self, &r, bodies, sizes, n) != 0)
                sl_warn ("query.reply_failed", "query_id=%llu", (unsigned long long) h->query_id);
        }
        free (metas);
        free (mp);
        free (bodies);
        free (sizes);
    }
    for (size_t i = 0; i < q.count; i++) {
        free (q.recs[i].subject);
        free (q.recs[i].body);
    }
    free (q.recs);
}

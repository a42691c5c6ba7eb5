/*  sl_publish — publishing: the outbox on the wire, ACK handling, resend.
    The batching rules are in sl_outbox.h; here they meet the socket. */
#include "sl_internal.h"
#include "sl_error.h"
#include "sl_log.h"
#include "sl_reason.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define S_BATCH_CAP 1024

static int64_t
s_wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*  The record is finished (stored or refused): out of the outbox and the
    spool, then its callback. */
static void
s_complete (sl_client_t *self, sl_outrec_t *rec, int rc, const char *text, const char *reason)
{
    sl__set_reason (self, rc ? reason : NULL);
    sl_outbox_take (self->outbox, rec);
    if (self->spool && rec->spool_key)
        sl_spool_del (self->spool, rec->spool_key);
    if (rc == 0)
        self->stats.records_acked++;
    else
        self->stats.records_refused++;
    if (rc != 0) {
        char hex[33];
        sl_message_id_hex (rec->id, hex);
        sl__set_error (self, "record %s (%s) refused: %s", hex, rec->record_type, text);
    }
    if (rec->cb)
        rec->cb (rec->id, rc, text ? text : "", rec->arg);
    sl_outrec_free (&rec);
}

void
sl__publish_flush (sl_client_t *self)
{
    sl_outrec_t *batch[S_BATCH_CAP];
    Sluice__V1__RecordMeta metas[S_BATCH_CAP];
    Sluice__V1__RecordMeta *mp[S_BATCH_CAP];
    const void *bodies[S_BATCH_CAP];
    size_t sizes[S_BATCH_CAP];

    while (self->up && !self->refused) {
        uint64_t seq = self->seq + 1;
        size_t n = sl_outbox_next_batch (self->outbox, seq, sl_mono_ms (), batch, S_BATCH_CAP);
        if (n == 0)
            return;
        self->seq = seq;
        sl_header_t h = SLUICE__V1__HEADER__INIT;
        h.command = SLUICE__V1__COMMAND__PUBLISH;
        h.seq = seq;
        h.record_type = batch[0]->record_type;
        for (size_t i = 0; i < n; i++) {
            sluice__v1__record_meta__init (&metas[i]);
            metas[i].message_id.data = batch[i]->id;
            metas[i].message_id.len = SL_MESSAGE_ID_LEN;
            if (batch[i]->subject)
                metas[i].subject = batch[i]->subject;
            metas[i].event_time = batch[i]->event_time_ms;
            mp[i] = &metas[i];
            bodies[i] = batch[i]->body;
            sizes[i] = batch[i]->size;
        }
        h.n_records = n;
        h.records = mp;
        int rc = sl__send (self, &h, bodies, sizes, n);
        if (rc == 0) {
            self->stats.publish_messages++;
            self->stats.records_sent += n;
        }
        if (rc != 0) {
            /* the batch stays in flight and is resent when its ACK times out */
            sl_debug ("publish.send_failed", "seq=%llu n=%zu rc=%d", (unsigned long long) seq, n, rc);
            return;
        }
    }
}

void
sl__publish_expire (sl_client_t *self)
{
    size_t n = sl_outbox_expire (self->outbox, sl_mono_ms (), self->opts.ack_timeout_ms);
    self->stats.records_resent += n;
    if (n)
        sl_info ("publish.resend", "reason=ack-timeout records=%zu", n);
}

void
sl__publish_on_reconnect (sl_client_t *self)
{
    size_t n = sl_outbox_requeue_all (self->outbox);
    self->stats.records_resent += n;
    if (n)
        sl_info ("publish.resend", "reason=reconnect records=%zu", n);
}

/*  Whole-message failures worth resending later with the same ids. */
static int
s_transient (int code)
{
    return sl_reason_retry (code);
}

int
sl__publish_on_answer (sl_client_t *self, const sl_header_t *h)
{
    if (!sl_outbox_has_batch (self->outbox, h->seq))
        return 0;
    for (size_t i = 0; i < h->n_message_ids; i++) {
        if (h->message_ids[i].len != SL_MESSAGE_ID_LEN)
            continue;
        sl_outrec_t *rec = sl_outbox_find (self->outbox, h->message_ids[i].data);
        if (rec && rec->seq == h->seq)
            s_complete (self, rec, 0, "", NULL);
    }
    for (size_t i = 0; i < h->n_errors; i++) {
        const Sluice__V1__Error *e = h->errors[i];
        int rc = sl_wire_error_to_rc ((int) e->code);
        const char *text = e->text && *e->text ? e->text : sl_strerror (rc);
        if (e->message_id.len == SL_MESSAGE_ID_LEN) {
            sl_outrec_t *rec = sl_outbox_find (self->outbox, e->message_id.data);
            if (rec && rec->seq == h->seq && !s_transient ((int) e->code))
                s_complete (self, rec, rc, text, e->reason);
            continue;
        }
        /* an error for the whole message */
        if (s_transient ((int) e->code)) {
            sl__set_error (self, "the broker could not store a batch (%s); it is resent", text);
            sl_warn ("publish.retry_later", "seq=%llu code=%d", (unsigned long long) h->seq, (int) e->code);
            continue;             /* stays in flight; resent after ack_timeout_ms */
        }
        sl_outrec_t *recs[S_BATCH_CAP];
        size_t n = sl_outbox_batch_records (self->outbox, h->seq, recs, S_BATCH_CAP);
        for (size_t k = 0; k < n; k++)
            s_complete (self, recs[k], rc, text, e->reason);
    }
    return 1;
}

static int
sl__spool_reload_one (uint64_t key, const uint8_t *id, const char *record_type,
                      const char *subject, int64_t event_time_ms, const void *body,
                      size_t size, void *arg)
{
    sl_client_t *self = arg;
    sl_outrec_t *rec = sl_outbox_add (self->outbox, id, record_type, subject, event_time_ms,
                                      body, size);
    if (!rec)
        return SL_ENOMEM;
    rec->spool_key = key;
    return 0;
}

int
sl__spool_reload (sl_client_t *self)
{
    int rc = sl_spool_each (self->spool, sl__spool_reload_one, self);
    if (rc == 0 && sl_outbox_count (self->outbox))
        sl_info ("spool.reload", "records=%zu", sl_outbox_count (self->outbox));
    return rc;
}

int
sl_client_publish_async (sl_client_t *self, const char *record_type,
                         const sl_publish_meta_t *meta, const void *body, size_t size,
                         sl_publish_fn *cb, void *arg, uint8_t *message_id_out)
{
    uint8_t id[SL_MESSAGE_ID_LEN];
    if (!record_type || !*record_type || (size && !body)) {
        sl__set_error (self, "publish: a record type and a body are required");
        return SL_EINVAL;
    }
    size_t limit = self->max_message_size > 65536 ? self->max_message_size - 32768
                 : self->max_message_size / 2;
    if (size > limit) {
        sl__set_error (self, "publish: the record is %zu bytes, over the broker's limit of %zu "
                       "for one record; split it", size, limit);
        return SL_ETOOBIG;
    }
    if (meta && meta->message_id)
        memcpy (id, meta->message_id, SL_MESSAGE_ID_LEN);
    else
        randombytes_buf (id, sizeof id);
    int64_t when = meta && meta->event_time_ms ? meta->event_time_ms : s_wall_ms ();
    const char *subject = meta ? meta->subject : NULL;
    sl_outrec_t *rec = sl_outbox_add (self->outbox, id, record_type, subject, when, body, size);
    if (!rec) {
        sl__set_error (self, "publish: out of memory");
        return SL_ENOMEM;
    }
    if (self->spool) {
        int rc = sl_spool_put (self->spool, rec, &rec->spool_key);
        if (rc != 0) {
            sl_outbox_take (self->outbox, rec);
            sl_outrec_free (&rec);
            sl__set_error (self, "publish: cannot write the record to the spool: %s", sl_strerror (rc));
            return rc;
        }
    }
    rec->cb = cb;
    rec->arg = arg;
    if (message_id_out)
        memcpy (message_id_out, id, SL_MESSAGE_ID_LEN);
    sl__publish_flush (self);
    /* a full window: take in the ACKs that are ready, so a publisher that
       never polls still makes progress */
    if (sl_outbox_batches (self->outbox) >= (self->opts.inflight_max ? self->opts.inflight_max : 4))
        sl__pump (self, 0);
    return 0;
}

typedef struct {
    int done, rc;
    char text[512];
} s_sync_t;

static void
s_sync_cb (const uint8_t *id, int rc, const char *text, void *arg)
{
    (void) id;
    s_sync_t *s = arg;
    s->done = 1;
    s->rc = rc;
    snprintf (s->text, sizeof s->text, "%s", text);
}

int
sl_client_publish (sl_client_t *self, const char *record_type,
                   const sl_publish_meta_t *meta, const void *body, size_t size,
                   int timeout_ms)
{
    sl__set_reason (self, NULL);
    s_sync_t sync = { 0, 0, "" };
    uint8_t id[SL_MESSAGE_ID_LEN];
    int rc = sl_client_publish_async (self, record_type, meta, body, size, s_sync_cb, &sync, id);
    if (rc != 0)
        return rc;
    int64_t deadline = timeout_ms < 0 ? -1 : sl_mono_ms () + timeout_ms;
    while (!sync.done) {
        if (self->refused)
            rc = self->refused;
        else {
            int64_t left = deadline < 0 ? 200 : deadline - sl_mono_ms ();
            if (left <= 0)
                rc = SL_ETIMEOUT;
            else
                sl__pump (self, (int) (left < 200 ? left : 200));
        }
        if (rc != 0 && !sync.done) {
            sl_outrec_t *rec = sl_outbox_find (self->outbox, id);
            if (rec)
                rec->cb = NULL;   /* stays queued; nobody waits for it now */
            if (rc == SL_ETIMEOUT)
                sl__set_error (self, "publish: no ACK within %d ms; the record stays queued and "
                               "is resent with the same message id", timeout_ms);
            return rc;
        }
    }
    if (sync.rc != 0)
        sl__set_error (self, "publish refused: %s", sync.text);
    return sync.rc;
}

size_t
sl_client_unacked (sl_client_t *self)
{
    return sl_outbox_count (self->outbox);
}

int
sl_client_flush (sl_client_t *self, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : sl_mono_ms () + timeout_ms;
    sl__acks_flush (self);
    while (sl_outbox_count (self->outbox) > 0 || self->n_acks > 0 || self->n_ack_seqs > 0) {
        if (self->refused)
            return self->refused;
        int64_t left = deadline < 0 ? 200 : deadline - sl_mono_ms ();
        if (left <= 0) {
            sl__set_error (self, "flush: %zu records (and %zu delivery acks) still "
                           "unacknowledged after %d ms", sl_outbox_count (self->outbox),
                           self->n_acks + self->n_ack_seqs, timeout_ms);
            return SL_ETIMEOUT;
        }
        sl__pump (self, (int) (left < 200 ? left : 200));
    }
    if (self->spool)
        sl_spool_sync (self->spool);
    return 0;
}

/*  sl_subscribe — subscriptions, deliveries, consumer acks and credit.

    Credit (PROTOCOL.md 5.4) belongs to the connection and starts at 0. The
    library keeps a window of `credit` deliveries: it grants the whole window
    once per connection (after the first subscription is in place), and
    grants again as the application acks or n_acks, in steps of half the
    window so CREDIT messages stay few. */
#include "sl_internal.h"
#include "sl_error.h"
#include "sl_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ACK_BATCH 64

static char *
s_dup (const char *s)
{
    return strdup (s ? s : "");
}

/*  Returns 0 when sent; otherwise the caller keeps the credit to grant later. */
static int
s_send_credit (sl_client_t *self, unsigned n)
{
    sl_header_t h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__CREDIT;
    h.seq = sl__next_seq (self);
    h.credit = n;
    return sl__send (self, &h, NULL, NULL, 0);
}

static void
s_credit_start (sl_client_t *self)
{
    if (self->credit_started || !self->subs || !self->up)
        return;
    if (s_send_credit (self, self->opts.credit) != 0)
        return;                   /* tried again at the next subscribe or reconnect */
    self->credit_started = 1;
    self->freed = 0;
}

static int
s_send_sub (sl_client_t *self, int command, const char *record_type, const char *purpose,
            uint64_t seq)
{
    sl_header_t h = SLUICE__V1__HEADER__INIT;
    h.command = command;
    h.seq = seq;
    h.record_type = (char *) record_type;
    h.purpose = (char *) purpose;
    return sl__send (self, &h, NULL, NULL, 0);
}

void
sl__subscribe_on_up (sl_client_t *self)
{
    for (sl_csub_t *s = self->subs; s; s = s->next)
        s_send_sub (self, SLUICE__V1__COMMAND__SUBSCRIBE, s->record_type, s->purpose,
                    sl__next_seq (self));
    s_credit_start (self);
}

void
sl__subs_free (sl_client_t *self)
{
    while (self->subs) {
        sl_csub_t *s = self->subs;
        self->subs = s->next;
        free (s->record_type);
        free (s->purpose);
        free (s);
    }
}

static sl_csub_t **
s_sub_find (sl_client_t *self, const char *record_type, const char *purpose)
{
    for (sl_csub_t **p = &self->subs; *p; p = &(*p)->next)
        if (strcmp ((*p)->record_type, record_type) == 0 && strcmp ((*p)->purpose, purpose) == 0)
            return p;
    return NULL;
}

/*  Sends a (UN)SUBSCRIBE and waits for its answer, asking again if the
    connection breaks meanwhile. */
static int
s_request (sl_client_t *self, int command, const char *record_type, const char *purpose)
{
    int64_t deadline = sl_mono_ms () + self->opts.connect_timeout_ms;
    for (;;) {
        int rc = sl__wait_up (self, deadline);
        if (rc != 0)
            return rc;
        sl_waiter_t w;
        sl__waiter_add (self, &w, sl__next_seq (self));
        rc = s_send_sub (self, command, record_type, purpose, w.seq);
        if (rc == 0)
            rc = sl__wait (self, &w, deadline);
        sl__waiter_remove (self, &w);
        if (rc == SL_ECLOSED || rc == SL_EAGAIN)
            continue;
        if (rc != 0 && rc != SL_ETIMEOUT)
            sl__set_error (self, "%s %s for %s refused: %s",
                           command == SLUICE__V1__COMMAND__SUBSCRIBE ? "subscribe" : "unsubscribe",
                           record_type, purpose, w.text);
        else if (rc == SL_ETIMEOUT)
            sl__set_error (self, "no answer from the broker within %d ms", self->opts.connect_timeout_ms);
        return rc;
    }
}

int
sl_client_subscribe (sl_client_t *self, const char *record_type, const char *purpose)
{
    sl__set_reason (self, NULL);
    if (!record_type || !purpose || !*record_type || !*purpose) {
        sl__set_error (self, "subscribe: a record type and a purpose are required");
        return SL_EINVAL;
    }
    int rc = s_request (self, SLUICE__V1__COMMAND__SUBSCRIBE, record_type, purpose);
    if (rc != 0)
        return rc;
    if (!s_sub_find (self, record_type, purpose)) {
        sl_csub_t *s = calloc (1, sizeof *s);
        if (!s || !(s->record_type = strdup (record_type)) || !(s->purpose = strdup (purpose))) {
            if (s)
                free (s->record_type);
            free (s);
            return SL_ENOMEM;
        }
        s->next = self->subs;
        self->subs = s;
    }
    s_credit_start (self);
    return 0;
}

int
sl_client_unsubscribe (sl_client_t *self, const char *record_type, const char *purpose)
{
    if (!record_type || !purpose) {
        sl__set_error (self, "unsubscribe: a record type and a purpose are required");
        return SL_EINVAL;
    }
    int rc = s_request (self, SLUICE__V1__COMMAND__UNSUBSCRIBE, record_type, purpose);
    sl_csub_t **p = s_sub_find (self, record_type, purpose);
    if (p && (rc == 0 || rc == SL_ENOTFOUND)) {
        sl_csub_t *s = *p;
        *p = s->next;
        free (s->record_type);
        free (s->purpose);
        free (s);
    }
    return rc;
}

/*  ---- deliveries ---- */

void
sl_delivery_destroy (sl_delivery_t **d_p)
{
    if (!d_p || !*d_p)
        return;
    sl_delivery_t *d = *d_p;
    free (d->record_type);
    free (d->subject);
    free (d->owner);
    free (d->purpose);
    for (size_t i = 0; i < d->nrules; i++)
        free (d->rules[i]);
    free (d->rules);
    free (d->body);
    free (d);
    *d_p = NULL;
}

void
sl__deliveries_drop (sl_client_t *self)
{
    while (self->dq_head) {
        sl_delivery_t *d = self->dq_head;
        self->dq_head = d->next;
        sl_delivery_destroy (&d);
    }
    self->dq_tail = NULL;
}

static sl_delivery_t *
s_delivery_new (const Sluice__V1__RecordMeta *m, const char *default_type, zmq_msg_t *frame)
{
    sl_delivery_t *d = calloc (1, sizeof *d);
    if (!d)
        return NULL;
    d->record_type = s_dup (m->record_type && *m->record_type ? m->record_type : default_type);
    d->subject = s_dup (m->subject);
    d->owner = s_dup (m->owner);
    d->purpose = s_dup (m->purpose);
    if (m->message_id.len == SL_MESSAGE_ID_LEN)
        memcpy (d->message_id, m->message_id.data, SL_MESSAGE_ID_LEN);
    d->event_time_ms = m->event_time;
    d->tag = m->delivery_tag;
    d->size = zmq_msg_size (frame);
    d->body = malloc (d->size ? d->size : 1);
    d->rules = calloc (m->n_rules ? m->n_rules : 1, sizeof *d->rules);
    int ok = d->record_type && d->subject && d->owner && d->purpose && d->body && d->rules;
    for (size_t i = 0; ok && i < m->n_rules; i++, d->nrules++)
        ok = (d->rules[i] = s_dup (m->rules[i])) != NULL;
    if (!ok) {
        sl_delivery_destroy (&d);
        return NULL;
    }
    memcpy (d->body, zmq_msg_data (frame), d->size);
    return d;
}

void
sl__on_deliver (sl_client_t *self, const sl_header_t *h, zmq_msg_t *frames, size_t nframes)
{
    if (nframes != 1 + h->n_records) {
        sl_warn ("deliver.bad_frames", "records=%zu frames=%zu", h->n_records, nframes);
        return;
    }
    for (size_t i = 0; i < h->n_records; i++) {
        self->outstanding++;
        sl_delivery_t *d = s_delivery_new (h->records[i], h->record_type, &frames[1 + i]);
        if (!d) {
            /* cannot hold it: give it back so it is delivered again */
            sl_warn ("deliver.dropped", "reason=out-of-memory tag=%llu",
                     (unsigned long long) h->records[i]->delivery_tag);
            continue;
        }
        self->stats.deliveries++;
        if (self->dq_tail)
            self->dq_tail->next = d;
        else
            self->dq_head = d;
        self->dq_tail = d;
    }
}

int
sl_client_recv (sl_client_t *self, sl_delivery_t **delivery_p, int timeout_ms)
{
    int64_t deadline = timeout_ms < 0 ? -1 : sl_mono_ms () + timeout_ms;
    *delivery_p = NULL;
    for (;;) {
        if (self->dq_head) {
            sl_delivery_t *d = self->dq_head;
            self->dq_head = d->next;
            if (!self->dq_head)
                self->dq_tail = NULL;
            d->next = NULL;
            *delivery_p = d;
            return 0;
        }
        if (self->refused)
            return SL_ECLOSED;
        int64_t left = deadline < 0 ? 200 : deadline - sl_mono_ms ();
        if (left <= 0)
            return SL_ETIMEOUT;
        sl__pump (self, (int) (left < 200 ? left : 200));
    }
}

static void
s_freed (sl_client_t *self)
{
    if (self->outstanding > 0)
        self->outstanding--;
    self->freed++;
}

void
sl__acks_flush (sl_client_t *self)
{
    if (!self->up)
        return;
    if (self->n_acks > 0) {
        sl_header_t h = SLUICE__V1__HEADER__INIT;
        h.command = SLUICE__V1__COMMAND__ACK;
        h.seq = sl__next_seq (self);
        h.n_delivery_tags = self->n_acks;
        h.delivery_tags = self->acks;
        if (sl__send (self, &h, NULL, NULL, 0) == 0) {
            self->n_acks = 0;
            if (self->n_ack_seqs < sizeof self->ack_seqs / sizeof self->ack_seqs[0])
                self->ack_seqs[self->n_ack_seqs++] = h.seq;
        }
    }
    unsigned step = self->opts.credit / 2 ? self->opts.credit / 2 : 1;
    if (!self->credit_started)
        s_credit_start (self);
    else if (self->freed >= step && s_send_credit (self, self->freed) == 0)
        self->freed = 0;
}

int
sl__ack_on_answer (sl_client_t *self, const sl_header_t *h)
{
    for (size_t i = 0; i < self->n_ack_seqs; i++) {
        if (self->ack_seqs[i] != h->seq)
            continue;
        self->ack_seqs[i] = self->ack_seqs[--self->n_ack_seqs];
        for (size_t k = 0; k < h->n_errors; k++) {
            char q[600];
            sl_warn ("ack.refused", "text=%s",
                     sl_log_quote (h->errors[k]->text ? h->errors[k]->text : "", q, sizeof q));
        }
        return 1;
    }
    return 0;
}

int
sl_client_ack (sl_client_t *self, const sl_delivery_t *d)
{
    if (!d)
        return SL_EINVAL;
    if (self->n_acks == self->acks_cap) {
        size_t cap = self->acks_cap ? self->acks_cap * 2 : S_ACK_BATCH;
        uint64_t *a = realloc (self->acks, cap * sizeof *a);
        if (!a)
            return SL_ENOMEM;
        self->acks = a;
        self->acks_cap = cap;
    }
    self->acks[self->n_acks++] = d->tag;
    s_freed (self);
    if (self->n_acks >= S_ACK_BATCH)
        sl__acks_flush (self);
    return 0;
}

int
sl_client_nack (sl_client_t *self, const sl_delivery_t *d)
{
    if (!d)
        return SL_EINVAL;
    sl__acks_flush (self);      /* keep acks before the nack, in order */
    uint64_t tag = d->tag;
    sl_header_t h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__NACK;
    h.seq = sl__next_seq (self);
    h.n_delivery_tags = 1;
    h.delivery_tags = &tag;
    int rc = sl__send (self, &h, NULL, NULL, 0);
    s_freed (self);
    return rc == SL_EAGAIN ? 0 : rc;   /* not connected: the broker redelivers anyway */
}

const char *sl_delivery_record_type (const sl_delivery_t *d) { return d->record_type; }
const char *sl_delivery_subject (const sl_delivery_t *d) { return d->subject; }
const char *sl_delivery_owner (const sl_delivery_t *d) { return d->owner; }
const char *sl_delivery_purpose (const sl_delivery_t *d) { return d->purpose; }
const uint8_t *sl_delivery_message_id (const sl_delivery_t *d) { return d->message_id; }
int64_t sl_delivery_event_time_ms (const sl_delivery_t *d) { return d->event_time_ms; }
uint64_t sl_delivery_tag (const sl_delivery_t *d) { return d->tag; }
size_t sl_delivery_rule_count (const sl_delivery_t *d) { return d->nrules; }

const char *
sl_delivery_rule (const sl_delivery_t *d, size_t i)
{
    return i < d->nrules ? d->rules[i] : NULL;
}

const void *
sl_delivery_body (const sl_delivery_t *d, size_t *size)
{
    if (size)
        *size = d->size;
    return d->body;
}

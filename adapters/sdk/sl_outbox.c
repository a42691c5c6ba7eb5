/*  sl_outbox — see sl_outbox.h for the batching rules. */
#include "sl_outbox.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t seq;          /* 0: slot free */
    size_t remaining;      /* records of the batch still in the outbox */
    int64_t sent_ms;
} s_batch_t;

struct sl_outbox {
    sl_outrec_t *head, *tail;
    size_t count, inflight;
    unsigned batch_max, inflight_max;
    size_t max_bytes;
    s_batch_t *batches;    /* inflight_max slots */
    size_t nbatches;
};

sl_outbox_t *
sl_outbox_new (unsigned batch_max, unsigned inflight_max, size_t max_bytes)
{
    sl_outbox_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->batch_max = batch_max ? batch_max : 256;
    self->inflight_max = inflight_max ? inflight_max : 4;
    self->max_bytes = max_bytes ? max_bytes : 1024 * 1024;
    self->batches = calloc (self->inflight_max, sizeof *self->batches);
    if (!self->batches) {
        free (self);
        return NULL;
    }
    return self;
}

void
sl_outrec_free (sl_outrec_t **rec_p)
{
    if (!rec_p || !*rec_p)
        return;
    sl_outrec_t *rec = *rec_p;
    free (rec->record_type);
    free (rec->subject);
    free (rec->body);
    free (rec);
    *rec_p = NULL;
}

void
sl_outbox_destroy (sl_outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_outbox_t *self = *self_p;
    sl_outrec_t *rec = self->head;
    while (rec) {
        sl_outrec_t *next = rec->next;
        sl_outrec_free (&rec);
        rec = next;
    }
    free (self->batches);
    free (self);
    *self_p = NULL;
}

void
sl_outbox_set_max_bytes (sl_outbox_t *self, size_t max_bytes)
{
    if (max_bytes)
        self->max_bytes = max_bytes;
}

sl_outrec_t *
sl_outbox_add (sl_outbox_t *self, const uint8_t id[SL_MESSAGE_ID_LEN],
               const char *record_type, const char *subject,
               int64_t event_time_ms, const void *body, size_t size)
{
    sl_outrec_t *rec = calloc (1, sizeof *rec);
    if (!rec)
        return NULL;
    memcpy (rec->id, id, SL_MESSAGE_ID_LEN);
    rec->record_type = strdup (record_type);
    rec->subject = subject ? strdup (subject) : NULL;
    rec->body = malloc (size ? size : 1);
    if (!rec->record_type || (subject && !rec->subject) || !rec->body) {
        sl_outrec_free (&rec);
        return NULL;
    }
    if (size)
        memcpy (rec->body, body, size);
    rec->size = size;
    rec->event_time_ms = event_time_ms;
    rec->prev = self->tail;
    if (self->tail)
        self->tail->next = rec;
    else
        self->head = rec;
    self->tail = rec;
    self->count++;
    return rec;
}

static s_batch_t *
s_batch (sl_outbox_t *self, uint64_t seq)
{
    for (unsigned i = 0; i < self->inflight_max; i++)
        if (self->batches[i].seq == seq && seq != 0)
            return &self->batches[i];
    return NULL;
}

size_t
sl_outbox_next_batch (sl_outbox_t *self, uint64_t seq, int64_t now_ms,
                      sl_outrec_t **out, size_t cap)
{
    if (self->nbatches >= self->inflight_max || cap == 0 || seq == 0)
        return 0;
    sl_outrec_t *first = self->head;
    while (first && first->seq != 0)
        first = first->next;
    if (!first)
        return 0;
    s_batch_t *slot = s_batch (self, 0);
    for (unsigned i = 0; !slot && i < self->inflight_max; i++)
        if (self->batches[i].seq == 0)
            slot = &self->batches[i];
    size_t n = 0, bytes = 0;
    for (sl_outrec_t *rec = first; rec && n < cap && n < self->batch_max; rec = rec->next) {
        if (rec->seq != 0 || strcmp (rec->record_type, first->record_type) != 0)
            continue;
        if (n > 0 && bytes + rec->size > self->max_bytes)
            break;
        rec->seq = seq;
        bytes += rec->size;
        out[n++] = rec;
    }
    slot->seq = seq;
    slot->remaining = n;
    slot->sent_ms = now_ms;
    self->nbatches++;
    self->inflight += n;
    return n;
}

sl_outrec_t *
sl_outbox_find (sl_outbox_t *self, const uint8_t id[SL_MESSAGE_ID_LEN])
{
    for (sl_outrec_t *rec = self->head; rec; rec = rec->next)
        if (memcmp (rec->id, id, SL_MESSAGE_ID_LEN) == 0)
            return rec;
    return NULL;
}

/*  Takes `rec` out of its batch; frees the batch slot when it was the last. */
static void
s_leave_batch (sl_outbox_t *self, sl_outrec_t *rec)
{
    if (rec->seq == 0)
        return;
    s_batch_t *b = s_batch (self, rec->seq);
    rec->seq = 0;
    self->inflight--;
    if (b && --b->remaining == 0) {
        b->seq = 0;
        self->nbatches--;
    }
}

void
sl_outbox_take (sl_outbox_t *self, sl_outrec_t *rec)
{
    s_leave_batch (self, rec);
    if (rec->prev)
        rec->prev->next = rec->next;
    else
        self->head = rec->next;
    if (rec->next)
        rec->next->prev = rec->prev;
    else
        self->tail = rec->prev;
    rec->prev = rec->next = NULL;
    self->count--;
}

size_t
sl_outbox_batch_records (sl_outbox_t *self, uint64_t seq, sl_outrec_t **out, size_t cap)
{
    size_t n = 0;
    for (sl_outrec_t *rec = self->head; rec && n < cap; rec = rec->next)
        if (rec->seq == seq && seq != 0)
            out[n++] = rec;
    return n;
}

int
sl_outbox_has_batch (sl_outbox_t *self, uint64_t seq)
{
    return s_batch (self, seq) != NULL;
}

static size_t
s_requeue_where (sl_outbox_t *self, int64_t before_ms, int all)
{
    size_t n = 0;
    for (unsigned i = 0; i < self->inflight_max; i++) {
        s_batch_t *b = &self->batches[i];
        if (b->seq == 0 || (!all && b->sent_ms > before_ms))
            continue;
        for (sl_outrec_t *rec = self->head; rec; rec = rec->next)
            if (rec->seq == b->seq) {
                rec->seq = 0;
                self->inflight--;
                n++;
            }
        b->seq = 0;
        b->remaining = 0;
        self->nbatches--;
    }
    return n;
}

size_t
sl_outbox_expire (sl_outbox_t *self, int64_t now_ms, int timeout_ms)
{
    return s_requeue_where (self, now_ms - timeout_ms, 0);
}

size_t
sl_outbox_requeue_all (sl_outbox_t *self)
{
    return s_requeue_where (self, 0, 1);
}

size_t sl_outbox_count (const sl_outbox_t *self) { return self->count; }
size_t sl_outbox_inflight (const sl_outbox_t *self) { return self->inflight; }
size_t sl_outbox_batches (const sl_outbox_t *self) { return self->nbatches; }

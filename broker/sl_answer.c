/*  sl_answer — the broker's answers: those that promise durability wait
 *  for their batch (pending), then for the commit to be durable (held), and
 *  are sent by the durability listener; ERROR and header-only answers.
 *  See sl_broker.c design note 3 and sl_batch.h design note 5.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "sl_broker_int.h"
#include "sl_error.h"
#include "sl_log.h"

/* ------------------------------------------------- pending durable answers */

int
sl_broker_pending_push (sl_broker_t *self, const void *rid, size_t rid_len, uint64_t seq,
                        const Sluice__V1__Header *a)
{
    size_t len;
    void *packed = sl_wire_pack (a, &len);
    if (!packed)
        return SL_ENOMEM;
    if (self->n_pending == self->cap_pending) {
        size_t cap = self->cap_pending ? self->cap_pending * 2 : 64;
        sl_pending_t *p = realloc (self->pending, cap * sizeof *p);
        if (!p) {
            free (packed);
            return SL_ENOMEM;
        }
        self->pending = p;
        self->cap_pending = cap;
    }
    sl_pending_t *p = &self->pending[self->n_pending++];
    memcpy (p->rid, rid, rid_len);
    p->rid_len = rid_len;
    p->seq = seq;
    p->packed = packed;
    p->len = len;
    p->lag[0] = 0;
    p->at_ms = 0;
    return 0;
}

/*  Batch outcome: send or fail the answers that waited for it, settle
 *  consumer acks, and on abort reload the mirrors of what the batch wrote. */
void
sl_answer_on_batch (void *ctx, int committed)
{
    sl_broker_t *self = ctx;
    sl_sessions_settle (self->sessions, committed);
    if (!committed) {
        self->aborts++;
        sl_registry_reload (self->registry);
        sl_subs_reload (self->subs);
        sl_queue_forget (self->queue);
    }
    if (committed && self->n_pending > 0) {
        /* held until durable: sl_answer_on_durable sends them */
        if (self->n_held + self->n_pending > self->cap_held) {
            size_t cap = self->cap_held ? self->cap_held : 64;
            while (cap < self->n_held + self->n_pending)
                cap *= 2;
            sl_pending_t *h = realloc (self->held, cap * sizeof *h);
            if (!h) {
                /* out of memory: these answers are lost; the clients resend
                 * and their message ids make the resend harmless */
                for (size_t i = 0; i < self->n_pending; i++)
                    free (self->pending[i].packed);
                self->n_pending = 0;
            }
            else {
                self->held = h;
                self->cap_held = cap;
            }
        }
        uint64_t n = sl_batch_commits (self->batch);
        for (size_t i = 0; i < self->n_pending; i++) {
            self->held[self->n_held] = self->pending[i];
            self->held[self->n_held++].commit = n;
        }
        self->n_pending = 0;
    }
    for (size_t i = 0; i < self->n_pending; i++) {
        sl_pending_t *p = &self->pending[i];
        {
            int full = sl_batch_last_rc (self->batch) == SL_EFULL;
            sl_wire_error (self->data, p->rid, p->rid_len, p->seq, 0,
                           full ? SLUICE__V1__ERROR_CODE__STORE_FULL : SLUICE__V1__ERROR_CODE__INTERNAL,
                           full ? "broker store is full; nothing of this message was stored: resend later with the same message_ids"
                                : "broker could not commit; nothing of this message was stored: resend with the same message_ids",
                           full ? "store-full" : "commit-failed");
        }
        free (p->packed);
    }
    self->n_pending = 0;
    if (committed)
        sl_deliver_wake (self);     /* new queue entries may be deliverable */
}

/*  Commits up to `durable` are on disk: send their held answers, then their
 *  held DELIVERs. */
void
sl_answer_on_durable (void *ctx, uint64_t durable)
{
    sl_broker_t *self = ctx;
    size_t i = 0;
    for (; i < self->n_held && self->held[i].commit <= durable; i++) {
        sl_pending_t *p = &self->held[i];
        if (sl_overload_withhold (self, p))
            continue;
        sl_wire_send_packed (self->data, p->rid, p->rid_len, p->packed, p->len);
        free (p->packed);
    }
    if (i > 0) {
        memmove (self->held, self->held + i, (self->n_held - i) * sizeof *self->held);
        self->n_held -= i;
    }
    sl_deliver_release (self, durable);
}

int
sl_broker_holding (sl_broker_t *self)
{
    return self->n_held > 0 || self->n_held_deliver > 0;
}

int
sl_broker_commit_group (sl_broker_t *self)
{
    return sl_batch_commit (self->batch);
}

int
sl_broker_commit (sl_broker_t *self)
{
    int rc = sl_batch_commit (self->batch);
    return rc == 0 ? sl_batch_sync (self->batch) : rc;
}


/* ------------------------------------------------------------- answers */

void
sl_broker_send_error (sl_broker_t *self, const void *rid, size_t rid_len, const char *member,
              uint64_t seq, int code, const char *reason, const char *fmt, ...)
{
    char text[512], q[560];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    sl_info ("proto.error", "member=%s seq=%llu code=%s text=%s", member ? member : "?",
             (unsigned long long) seq, sl_wire_code_name (code),
             sl_log_quote (text, q, sizeof q));
    sl_wire_error (self->data, rid, rid_len, seq, 0, (Sluice__V1__ErrorCode) code, text, reason);
}

Sluice__V1__Header
sl_broker_header (Sluice__V1__Command command, uint64_t seq)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.version = 1;
    h.command = command;
    h.seq = seq;
    return h;
}

void
sl_broker_send_header (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h)
{
    h->version = 1;
    sl_wire_send (self->data, s->rid, s->rid_len, h, NULL, 0);
}


/*  Answers and DELIVERs wait for their commit's meta page (sl_batch.h note
 *  5). Ask the flush thread for it as soon as something is held: the loop
 *  does not wait (sl_sync.h), and the next group commit's own page flush
 *  carries it too if that comes first. */
void
sl_answer_settle (sl_broker_t *self)
{
    sl_overload_release (self, 0);
    if (sl_broker_holding (self))
        sl_batch_sync_async (self->batch);
}

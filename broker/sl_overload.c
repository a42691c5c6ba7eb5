/*  sl_overload — push-back past saturation: a publisher's ACK is withheld
 *  while a connected consumer its records went to has more than
 *  `overload_queue` records queued, for at most `overload_hold_ms`
 *  (docs/PROTOCOL.md 5.2.1).
 *
 *  Design notes:
 *
 *  1. Why withheld ACKs: a client keeps a bounded number of PUBLISH
 *     messages waiting for their ACK (libsluice: inflight_max); holding the
 *     ACK holds the publisher at that window, so past saturation records
 *     wait in the publisher's own outbox (or spool) instead of piling up in
 *     the broker's queues, and the broker's turns go to delivery. Nothing
 *     is weakened: a withheld ACK is already durable; it is only sent later.
 *  2. Only queues that someone drains count: a consumer without a data
 *     session is not lagging, it is away, and its queue is meant to grow
 *     (store and forward, bounded by queue_max). Only publishers whose
 *     records went to the lagging consumer wait.
 *  3. The hold is bounded, so a stalled but connected consumer slows its
 *     publishers (to about one window per overload_hold_ms) but never stops
 *     them; it must stay under the clients' ACK timeout, or they resend.
 *  4. ACKs of one connection stay in the order of their commits: once one
 *     is withheld, the later ones of the same connection queue behind it.
 *  5. Consumer ACK answers are never withheld: they drain the queues.
 */
#include <stdlib.h>
#include <string.h>

#include "sl_broker_int.h"
#include "sl_error.h"
#include "sl_log.h"
#include "sl_queue.h"
#include "sl_session.h"

void
sl_overload_fed (sl_broker_t *self, MDB_txn *txn, const char *consumer, sl_overload_lag_t *lag)
{
    if (!self->cfg.overload_queue)
        return;
    long depth = sl_queue_count (self->queue, txn, consumer);
    if (depth < 0 || (uint64_t) depth <= self->cfg.overload_queue || depth <= lag->depth
        || !sl_sessions_of (self->sessions, consumer))
        return;
    lag->depth = depth;
    sl_broker_copy (lag->consumer, sizeof lag->consumer, consumer);
}

void
sl_overload_mark (sl_broker_t *self, const sl_overload_lag_t *lag)
{
    if (!lag->consumer[0] || self->n_pending == 0)
        return;
    sl_pending_t *p = &self->pending[self->n_pending - 1];
    memcpy (p->lag, lag->consumer, sizeof p->lag);
    p->at_ms = sl_now_ms ();
}

/*  True while `consumer` is connected and over the bound, by the count the
 *  queue keeps for the open batch (unknown after an abort: not lagging, so
 *  nothing is held on a guess). */
static int
s_lagging (sl_broker_t *self, const char *consumer)
{
    if (!sl_sessions_of (self->sessions, consumer))
        return 0;
    long depth = sl_queue_known_count (self->queue, consumer);
    return depth > 0 && (uint64_t) depth > self->cfg.overload_queue;
}

static int
s_same_rid (const sl_pending_t *a, const sl_pending_t *b)
{
    return a->rid_len == b->rid_len && memcmp (a->rid, b->rid, a->rid_len) == 0;
}

int
sl_overload_withhold (sl_broker_t *self, sl_pending_t *p)
{
    int behind = 0;
    for (size_t i = 0; i < self->n_withheld && !behind; i++)
        behind = s_same_rid (&self->withheld[i], p);
    if (!behind) {
        if (!p->lag[0] || !self->cfg.overload_queue
            || sl_now_ms () - p->at_ms >= (int64_t) self->cfg.overload_hold_ms)
            return 0;
        if (!s_lagging (self, p->lag))
            return 0;
    }
    if (self->n_withheld == self->cap_withheld) {
        size_t cap = self->cap_withheld ? self->cap_withheld * 2 : 64;
        sl_pending_t *w = realloc (self->withheld, cap * sizeof *w);
        if (!w)
            return 0;       /* no memory to hold it: send it now */
        self->withheld = w;
        self->cap_withheld = cap;
    }
    if (self->n_withheld == 0) {
        sl_warn ("overload.start", "consumer=%s queue_over=%llu hold_ms=%u", p->lag,
                 (unsigned long long) self->cfg.overload_queue, self->cfg.overload_hold_ms);
        self->overload_started_ms = sl_now_ms ();
    }
    if (!p->lag[0])
        p->at_ms = sl_now_ms ();        /* queued behind another: its own clock */
    self->withheld[self->n_withheld++] = *p;
    self->withheld_total++;
    return 1;
}

void
sl_overload_release (sl_broker_t *self, int all)
{
    if (self->n_withheld == 0)
        return;
    int64_t now = sl_now_ms ();
    size_t k = 0;
    for (size_t i = 0; i < self->n_withheld; i++) {
        sl_pending_t *p = &self->withheld[i];
        int blocked = 0;
        for (size_t j = 0; j < k && !blocked; j++)
            blocked = s_same_rid (&self->withheld[j], p);
        int go = all || (!blocked && (now - p->at_ms >= (int64_t) self->cfg.overload_hold_ms
                                      || !p->lag[0] || !s_lagging (self, p->lag)));
        if (go) {
            sl_wire_send_packed (self->data, p->rid, p->rid_len, p->packed, p->len);
            free (p->packed);
        }
        else
            self->withheld[k++] = *p;
    }
    self->n_withheld = k;
    if (k == 0)
        sl_info ("overload.end", "ms=%lld acks_withheld=%llu",
                 (long long) (now - self->overload_started_ms),
                 (unsigned long long) self->withheld_total);
}

long
sl_overload_wait_ms (sl_broker_t *self)
{
    if (self->n_withheld == 0)
        return -1;
    int64_t now = sl_now_ms (), first = -1;
    for (size_t i = 0; i < self->n_withheld; i++) {
        int64_t due = self->withheld[i].at_ms + (int64_t) self->cfg.overload_hold_ms;
        if (first < 0 || due < first)
            first = due;
    }
    return first > now ? (long) (first - now) : 0;
}

void
sl_overload_drop (sl_broker_t *self)
{
    for (size_t i = 0; i < self->n_withheld; i++)
        free (self->withheld[i].packed);
    self->n_withheld = 0;
    free (self->withheld);
    self->withheld = NULL;
    self->cap_withheld = 0;
}

/*  sl_deliver — the delivery scheduler: consumer ACK, NACK and CREDIT, and
 *  DELIVER. It is the only writer of a data session's delivery state
 *  (`credit`, `scan_from`, `dirty`; sl_session.h), apart from sl_session's
 *  hand-over of a closed connection's records to the member's others.
 *
 *  Design notes:
 *
 *  1. A session is scanned when it is dirty and has credit. It becomes dirty
 *     when credit arrives, when a NACK returns a record, and when a batch
 *     commits (sl_deliver_wake: new queue entries may be deliverable).
 *  2. Deliveries are prepared from a read transaction (committed data only),
 *     their `deliver` audit entries join the batch, and the DELIVER is sent
 *     only after that batch committed: no record reaches a consumer before
 *     its audit entry is on disk.
 *  3. A scan that reached the end of the queue saw it as of its read
 *     transaction. When a batch committed after the scan, the session stays
 *     dirty so that the entries of that commit are scanned next turn (the
 *     stall fixed in a0c86b8; test events/records_committed_while_delivering).
 *  4. The loop's commit does not wait for its meta page (sl_batch.h note 5).
 *     DELIVERs prepared for a commit that is not yet durable are held, in
 *     order, and sent by sl_deliver_release once it is; their tags stay in
 *     the session's in-flight set meanwhile, and the session prepares no
 *     more until they are sent, so its credit and scan_from stay exact. A
 *     session that closes first drops them (sl_deliver_forget): its records
 *     are delivered again to the member's other connections or later.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "sl_broker_int.h"
#include "sl_audit.h"
#include "sl_batch.h"
#include "sl_disclose.h"
#include "sl_error.h"
#include "sl_filtered.h"
#include "sl_govern.h"
#include "sl_log.h"
#include "sl_metrics.h"
#include "sl_msgids.h"
#include "sl_queue.h"
#include "sl_registry.h"
#include "sl_schema.h"
#include "sl_session.h"
#include "sl_subs.h"
#include "sl_wire.h"

/* ---------------------------------------------- consumer ACK, NACK, CREDIT */

/*  The in-flight entry for `tag` on another data session of s's member
 *  (queue group, sl_session.h), or NULL. */
static sl_inflight_t *
s_inflight_sibling (sl_broker_t *self, sl_session_t *s, uint64_t tag)
{
    for (size_t i = 0; i < sl_sessions_count (self->sessions); i++) {
        sl_session_t *o = sl_sessions_at (self->sessions, i);
        if (o == s || o->plane != SL_PLANE_DATA || o->n_inflight == 0
            || strcmp (o->member, s->member) != 0)
            continue;
        sl_inflight_t *f = sl_session_inflight_find (o, tag);
        if (f)
            return f;
    }
    return NULL;
}

/*  The `ack` entries of one ACK (AUDIT.md §6.2): the tags it removed, in
 *  ascending order, as many entries as the list needs. Sorts `tags`.
 *  Returns 0 or the recorder's error. */
static int
s_ack_entries (sl_broker_t *self, const char *consumer, uint64_t *tags, size_t n)
{
    for (size_t i = 1; i < n; i++)           /* insertion sort: ACKs come nearly sorted */
        for (size_t j = i; j > 0 && tags[j - 1] > tags[j]; j--) {
            uint64_t t = tags[j];
            tags[j] = tags[j - 1];
            tags[j - 1] = t;
        }
    char detail[SL_AUDIT_ACK_DETAIL_CAP];
    for (size_t i = 0; i < n;) {
        size_t k = sl_audit_ack_detail (tags + i, n - i, detail);
        sl_event_t ev = { .kind = "ack", .actor = consumer, .detail = detail,
                          .records = (unsigned) k };
        int rc = sl_broker_record (self, &ev, 0);
        if (rc != 0)
            return rc;
        i += k;
    }
    return 0;
}

void
sl_deliver_ack (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, int nack)
{
    const char *what = nack ? "NACK" : "ACK";
    if (h->n_delivery_tags == 0) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "no-tags",
                      "%s carries no delivery_tags", what);
        return;
    }
    if (!sl_subs_has_consumer (self->subs, s->member)) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__NOT_SUBSCRIBED, "not-subscribed",
                      "%s from member '%s', which has no subscriptions", what, s->member);
        return;
    }
    size_t n = h->n_delivery_tags;
    uint64_t *done = calloc (n, sizeof *done);
    sl_rec_error_t *errs = calloc (n, sizeof *errs);
    Sluice__V1__Error **errp = calloc (n, sizeof *errp);
    size_t n_done = 0, n_errs = 0;
    int store_rc = 0;
    if (!done || !errs || !errp)
        goto out;
    for (size_t i = 0; i < n && store_rc == 0; i++) {
        uint64_t tag = h->delivery_tags[i];
        sl_inflight_t *f = sl_session_inflight_find (s, tag);
        int ok = 0;
        if (nack) {
            if (f && !f->acked) {
                sl_session_inflight_drop (s, tag);
                if (tag < s->scan_from)
                    s->scan_from = tag;
                s->dirty = 1;
                ok = 1;
            }
        }
        else if (!f || !f->acked) {
            if (!f)
                f = s_inflight_sibling (self, s, tag);
            int rc = f && f->acked ? SL_ENOTFOUND : sl_commit_queue_remove (self->commit, s->member, tag);
            if (rc == 0) {
                if (f)
                    f->acked = 1;
                ok = 1;
            }
            else if (rc != SL_ENOTFOUND)
                store_rc = rc;
        }
        if (ok)
            done[n_done++] = tag;
        else if (store_rc == 0) {
            sl_rec_error_t *re = &errs[n_errs];
            sluice__v1__error__init (&re->e);
            re->e.code = SLUICE__V1__ERROR_CODE__NOT_FOUND;
            re->e.reason = "not-found";
            re->e.text = re->text;
            snprintf (re->text, sizeof re->text,
                      "%s: delivery tag %llu is not %s for member '%s'", what,
                      (unsigned long long) tag, nack ? "in flight" : "queued", s->member);
            errp[n_errs++] = &re->e;
        }
    }
    if (store_rc == 0 && !nack && n_done > 0) {
        uint64_t *sorted = malloc (n_done * sizeof *sorted);
        if (sorted) {
            memcpy (sorted, done, n_done * sizeof *sorted);
            store_rc = s_ack_entries (self, s->member, sorted, n_done);
            free (sorted);
        }
        else
            store_rc = SL_ENOMEM;
    }
    if (store_rc != 0) {
        sl_commit_abort (self->commit);
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__INTERNAL, "store-error",
                      "%s failed: %s; nothing was removed, send it again", what, sl_strerror (store_rc));
        goto out;
    }
    Sluice__V1__Header a = sl_broker_header (SLUICE__V1__COMMAND__ACK, h->seq);
    a.n_delivery_tags = n_done;
    a.delivery_tags = done;
    a.n_errors = n_errs;
    a.errors = errp;
    if (nack || n_done == 0) {
        sl_wire_send (self->data, s->rid, s->rid_len, &a, NULL, 0);
        goto out;
    }
    if (sl_broker_pending_push (self, s->rid, s->rid_len, h->seq, &a) != 0) {
        sl_commit_abort (self->commit);
        goto out;
    }
    sl_commit_note (self->commit, (unsigned) n_done);
out:
    free (done);
    free (errs);
    free (errp);
}

void
sl_deliver_credit (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h)
{
    if (h->credit == 0) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "no-credit", "CREDIT of 0: send credit >= 1");
        return;
    }
    if (!sl_subs_has_consumer (self->subs, s->member)) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__NOT_SUBSCRIBED, "not-subscribed",
                      "CREDIT from member '%s', which has no subscriptions", s->member);
        return;
    }
    uint64_t c = (uint64_t) s->credit + h->credit;
    s->credit = c > SL_CREDIT_MAX ? SL_CREDIT_MAX : (uint32_t) c;
    s->dirty = 1;
}

/* -------------------------------------------------------------- DELIVER */

typedef struct {
    sl_broker_t *self;
    sl_session_t *s;
    MDB_txn *rtxn;
    Sluice__V1__RecordMeta *metas[SL_DELIVER_MAX];
    zmq_msg_t bodies[SL_DELIVER_MAX];
    size_t n;
    size_t bytes;
    uint32_t budget;
    uint64_t denied[SL_DELIVER_MAX];
    size_t n_denied;
    char raw[SL_DELIVER_MAX][128];   /* raw subjects of metas[], for the audit */
    uint8_t pseud[SL_DELIVER_MAX][32];  /* or their audit pseudonyms, if has_pseud */
    int has_pseud[SL_DELIVER_MAX];
    sl_session_t *sib[32];          /* the member's other sessions with records in flight */
    size_t n_sib;
    int tentative;                  /* metas' tags are in s's in-flight until sent */
    char *fields[SL_DELIVER_MAX];    /* fields released by metas[], for the audit */
    int exhausted;
    uint64_t next;                  /* where a following scan goes on */
    int64_t now_ms;                 /* when the scan decides */
} s_deliver_t;

/*  zmq_msg_init_data's free function for transformed bodies. */
static void
s_free_body (void *data, void *hint)
{
    (void) hint;
    free (data);
}

static int
s_deliver_one (void *ctx, const sl_queue_entry_t *e)
{
    s_deliver_t *d = ctx;
    if (d->n == SL_DELIVER_MAX || d->n >= d->budget || d->n_denied == SL_DELIVER_MAX
        || (d->n > 0 && d->bytes + e->body_len + e->meta_len + 64 > d->self->cfg.max_message_size)) {
        d->exhausted = 0;
        return 1;
    }
    d->next = e->tag + 1;
    if (sl_session_inflight_find (d->s, e->tag))
        return 0;
    for (size_t i = 0; i < d->n_sib; i++)
        if (sl_session_inflight_find (d->sib[i], e->tag))
            return 0;           /* another connection of the member holds it */
    Sluice__V1__RecordMeta *m = sluice__v1__record_meta__unpack (NULL, e->meta_len, e->meta);
    if (!m) {
        sl_error ("queue.corrupt", "consumer=%s tag=%llu", d->s->member, (unsigned long long) e->tag);
        return 0;
    }
    /* the raw subject: sealed beside the consumer's view, or the view itself */
    char raw[128], then[SL_DISCLOSE_FIELDS_MAX];
    int shaped = 0, queued_fields = 0, bounded = 0;
    sl_disclose_bound_t bound;
    const ProtobufCMessageUnknownField *sealed_uf = NULL;
    sl_broker_copy (raw, sizeof raw, m->subject);
    for (size_t u = 0; u < m->base.n_unknown_fields; u++) {
        ProtobufCMessageUnknownField *uf = &m->base.unknown_fields[u];
        if (uf->tag == SL_DISCLOSE_FIELDS_TAG)
            queued_fields = sl_disclose_fields_read (uf, then, sizeof then) == 1;
        if (uf->tag == SL_DISCLOSE_BOUND_TAG)
            bounded = sl_disclose_bound_read (uf, &bound) == 1;
        if (uf->tag == SL_QUEUE_SEALED_SUBJECT_TAG)
            sealed_uf = uf;
    }
    shaped = sealed_uf != NULL;
    sl_decide_output_t out;
    /* the permit it was queued under still holds (sl_disclose.h note 3):
     * its rules, fields and shape are the queued copy's, and its entry names
     * the subject by the pseudonym made at publish, so the sealed subject
     * stays closed */
    int holds = bounded && queued_fields && (bound.has_pseudonym || !sealed_uf)
                && e->tag >> SL_QUEUE_EPOCH_SHIFT == sl_queue_epoch (d->self->queue)
                && sl_govern_bound_holds (d->self->govern, &bound, d->now_ms);
    if (sealed_uf && !holds) {
        const uint8_t *sealed;
        size_t sealed_len;
        if (sl_queue_sealed_read (sealed_uf, &sealed, &sealed_len) < 0
            || sl_govern_open_subject (d->self->govern, sealed, sealed_len, raw, sizeof raw) != 0) {
            sl_error ("queue.subject_unreadable", "consumer=%s tag=%llu", d->s->member,
                      (unsigned long long) e->tag);
            raw[0] = 0;
        }
    }
    for (size_t u = 0; u < m->base.n_unknown_fields; u++)
        free (m->base.unknown_fields[u].data);
    m->base.n_unknown_fields = 0;       /* never leaves the broker */
    sl_decide_input_t in = {
        .stage = SL_DECIDE_DELIVER, .owner = m->owner, .consumer = d->s->member,
        .record_type = m->record_type, .purpose = m->purpose, .subject = raw,
        .event_time_ms = m->event_time, .record = NULL, .txn = d->rtxn,
        .body = e->body, .body_len = e->body_len, .subject_shaped = shaped,
    };
    if (holds) {
        memset (&out, 0, sizeof out);
        out.permit = 1;
    }
    else
        sl_broker_decide (d->self, &in, &out);
    if (!out.permit) {
        char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX];
        sl_event_t ev = { .kind = "deny", .actor = m->owner, .counterpart = d->s->member,
                          .owner = m->owner, .record_type = m->record_type,
                          .message_id = m->message_id.len == 16 ? m->message_id.data : NULL,
                          .subject = raw, .purpose = m->purpose, .decision = "deny",
                          .rules = sl_broker_rules (out.rules, out.n_rules, rbuf, sizeof rbuf),
                          .reason = out.reason, .detail = "stage=deliver" };
        sl_broker_event (d->self, &ev);
        sl_info ("deliver.denied", "owner=%s consumer=%s record=%s purpose=%s tag=%llu reason=%s",
                 m->owner, d->s->member, m->record_type, m->purpose,
                 (unsigned long long) e->tag, out.reason);
        d->denied[d->n_denied++] = e->tag;
        free (out.body);
        sluice__v1__record_meta__free_unpacked (m, NULL);
        return 0;
    }
    m->delivery_tag = e->tag;
    if (holds)
        goto shaped;
    /* the rules and the shape in force now (a permit may have narrowed) */
    m->event_time = sl_decide_coarsen_ms (m->event_time, out.coarsen_s);
    if (out.subject_set) {
        char *subj = strdup (out.subject);
        if (subj) {
            /* an empty string field points at protobuf-c's shared empty string */
            if (m->subject != protobuf_c_empty_string)
                free (m->subject);
            m->subject = subj;
        }
    }
    char **rules = out.n_rules ? calloc ((size_t) out.n_rules, sizeof *rules) : NULL;
    int nr = 0;
    for (; rules && nr < out.n_rules && (rules[nr] = strdup (out.rules[nr])); nr++)
        ;
    if (rules && nr == out.n_rules) {
        for (size_t r = 0; r < m->n_rules; r++)
            free (m->rules[r]);
        free (m->rules);
        m->rules = rules;
        m->n_rules = (size_t) nr;
    }
    else if (rules) {
        while (nr > 0)
            free (rules[--nr]);
        free (rules);
    }
shaped:
    d->has_pseud[d->n] = holds && bound.has_pseudonym;
    if (d->has_pseud[d->n]) {
        memcpy (d->pseud[d->n], bound.pseudonym, sizeof d->pseud[d->n]);
        if (sealed_uf)
            raw[0] = 0;     /* still sealed: the entry names the pseudonym */
    }
    sl_broker_copy (d->raw[d->n], sizeof d->raw[d->n], raw);
    char released[SL_DISCLOSE_FIELDS_MAX];
    if (holds)
        memcpy (released, then, sizeof released);
    else
        sl_disclose_fields_meet (queued_fields ? then : NULL, out.fields_set ? out.fields : "",
                                 released, sizeof released);
    if (!(d->fields[d->n] = strdup (released))) {
        /* out of memory: this one and the rest wait for a later turn */
        free (out.body);
        sluice__v1__record_meta__free_unpacked (m, NULL);
        d->next = e->tag;
        d->exhausted = 0;
        return 1;
    }
    /* a body the transform made is handed to the frame as it is; the
     * queued body lives in the read transaction's map, which ends before
     * the DELIVER is sent, so that one is copied */
    if (!out.body || zmq_msg_init_data (&d->bodies[d->n], out.body, out.body_len,
                                        s_free_body, NULL) != 0) {
        const void *bd = out.body ? out.body : e->body;
        size_t bl = out.body ? out.body_len : e->body_len;
        zmq_msg_init_size (&d->bodies[d->n], bl);
        memcpy (zmq_msg_data (&d->bodies[d->n]), bd, bl);
        free (out.body);
    }
    d->metas[d->n++] = m;
    d->bytes += e->body_len + e->meta_len + 16;
    return 0;
}

/*  Releases the records a delivery holds (n becomes 0); when `tentative`,
 *  their tags leave s's in-flight first (not sent: deliverable again). */
static void
s_deliver_clear (s_deliver_t *d, int tentative)
{
    for (size_t i = 0; i < d->n; i++) {
        if (tentative)
            sl_session_inflight_drop (d->s, d->metas[i]->delivery_tag);
        zmq_msg_close (&d->bodies[i]);
        sluice__v1__record_meta__free_unpacked (d->metas[i], NULL);
        free (d->fields[i]);
        d->fields[i] = NULL;
    }
    d->n = 0;
}

/*  Frees what a prepared delivery holds. */
static void
s_deliver_free (s_deliver_t **d_p)
{
    s_deliver_t *d = *d_p;
    if (!d)
        return;
    s_deliver_clear (d, d->tentative);
    free (d);
    *d_p = NULL;
}

/*  Reads up to 64 deliverable records of `s`, from tag `from` on and at most
 *  `budget` of them, and writes their `deliver` entries into the batch. The
 *  DELIVER itself is sent by s_deliver_send only after that batch has
 *  committed: a record never reaches a consumer without its audit entry on
 *  disk (AUDIT.md, atomicity). d->next is where a following DELIVER of the
 *  same turn starts. Returns the prepared delivery (n may be 0), or NULL when
 *  there is nothing to do. */
static s_deliver_t *
s_deliver_prepare (sl_broker_t *self, sl_session_t *s, uint64_t from, uint32_t budget)
{
    if (budget == 0)
        return NULL;
    s_deliver_t *d = calloc (1, sizeof *d);
    if (!d)
        return NULL;
    d->self = self;
    d->s = s;
    d->budget = budget;
    d->exhausted = 1;
    d->next = from;
    d->now_ms = sl_now_ms ();
    if (sl_store_read (self->store, &d->rtxn) != 0) {
        free (d);
        return NULL;
    }
    d->n_sib = sl_sessions_siblings (self->sessions, s, d->sib, sizeof d->sib / sizeof d->sib[0]);
    if (d->n_sib == sizeof d->sib / sizeof d->sib[0]) {
        /* more connections than we check record by record: skip this turn */
        mdb_txn_abort (d->rtxn);
        free (d);
        return NULL;
    }
    sl_queue_scan (self->queue, d->rtxn, s->member, from, s_deliver_one, d);
    mdb_txn_abort (d->rtxn);
    d->rtxn = NULL;
    for (size_t i = 0; i < d->n; i++) {
        Sluice__V1__RecordMeta *m = d->metas[i];
        char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX], dt[SL_TAG_DETAIL_MAX];
        sl_broker_tag_detail (dt, m->delivery_tag);
        sl_event_t ev = { .kind = "deliver", .actor = m->owner, .counterpart = s->member,
                          .owner = m->owner, .record_type = m->record_type,
                          .message_id = m->message_id.len == 16 ? m->message_id.data : NULL,
                          .subject = d->raw[i],
                          .subject_pseudonym = d->has_pseud[i] ? d->pseud[i] : NULL,
                          .purpose = m->purpose, .decision = "permit",
                          .rules = sl_broker_rules_meta (m->rules, m->n_rules, rbuf, sizeof rbuf),
                          .fields = d->fields[i], .detail = dt };
        if (sl_broker_event (self, &ev) != 0) {
            /* the batch is aborted: nothing is sent, the records stay queued */
            s_deliver_clear (d, 0);
            d->n_denied = 0;
            break;
        }
    }
    /* held for s until sent, so the member's other sessions preparing in
     * the same turn skip them (s_deliver_free drops them if not sent) */
    for (size_t i = 0; i < d->n; i++)
        if (sl_session_inflight_add (s, d->metas[i]->delivery_tag) != 0) {
            for (size_t j = 0; j < i; j++)
                sl_session_inflight_drop (s, d->metas[j]->delivery_tag);
            s_deliver_clear (d, 0);
            break;
        }
    d->tentative = d->n > 0;
    if (d->n_denied > 0) {
        for (size_t i = 0; i < d->n_denied; i++)
            sl_commit_queue_remove (self->commit, s->member, d->denied[i]);
        sl_commit_note (self->commit, (unsigned) d->n_denied);
    }
    return d;
}

/*  Sends a prepared DELIVER (its entries are committed) and frees `d`.
 *  `stale`: a batch committed after the DELIVER's scan read the queue, so
 *  entries the scan could not see may be there. Returns 1 if the session may
 *  have more to deliver, 0 if not, -1 if the session is gone (removed). */
static int
s_deliver_send (sl_broker_t *self, s_deliver_t **d_p, int stale)
{
    s_deliver_t *d = *d_p;
    sl_session_t *s = d->s;
    int gone = 0, busy = 0;
    if (d->n > 0) {
        Sluice__V1__Header h = sl_broker_header (SLUICE__V1__COMMAND__DELIVER, ++self->seq);
        h.n_records = d->n;
        h.records = d->metas;
        int rc = sl_wire_send (self->data, s->rid, s->rid_len, &h, d->bodies, d->n);
        if (rc == SL_ECLOSED) {
            sl_info ("session.gone", "member=%s plane=data", s->member);
            gone = 1;
        }
        else if (rc == 0) {
            d->tentative = 0;     /* in flight for good (added in prepare) */
            s->credit -= (uint32_t) d->n;
            s->scan_from = d->metas[d->n - 1]->delivery_tag + 1;
            sl_debug ("deliver", "member=%s records=%zu credit=%u", s->member, d->n, s->credit);
        }
        else
            busy = 1;             /* peer busy: retry when it sends again */
    }
    int exhausted = d->exhausted;
    s_deliver_free (d_p);
    if (gone) {
        sl_broker_session_drop (self, s);
        return -1;
    }
    /* A scan that reached the end of the queue saw it as of its read
     * transaction. If a batch committed since (the one of this turn, which
     * also holds the publishes read this turn), s_on_batch marked the session
     * dirty for the entries it added: keep that mark, or those entries wait
     * for some later commit, and if none comes (the publishers are done and
     * the consumer has acked everything) they are never delivered. */
    s->dirty = !busy && s->credit > 0 && (!exhausted || stale);
    return s->dirty;
}

/* ------------------------------------------------ DELIVERs held until durable */

struct sl_held_deliver_t {
    s_deliver_t *d;
    uint64_t commit;         /* the commit holding its `deliver` entries */
    int stale;               /* as s_deliver_send's */
};

/*  True when `s` has DELIVERs waiting for durability. */
static int
s_holds (sl_broker_t *self, sl_session_t *s)
{
    for (size_t i = 0; i < self->n_held_deliver; i++)
        if (self->held_deliver[i].d->s == s)
            return 1;
    return 0;
}

/*  Appends ready[0..np) (taken on success) for commit `commit`. Returns 0 or
 *  SL_ENOMEM (nothing taken). */
static int
s_hold (sl_broker_t *self, s_deliver_t **ready, size_t np, uint64_t commit, int stale)
{
    if (self->n_held_deliver + np > self->cap_held_deliver) {
        size_t cap = self->cap_held_deliver ? self->cap_held_deliver : 64;
        while (cap < self->n_held_deliver + np)
            cap *= 2;
        struct sl_held_deliver_t *h = realloc (self->held_deliver, cap * sizeof *h);
        if (!h)
            return SL_ENOMEM;
        self->held_deliver = h;
        self->cap_held_deliver = cap;
    }
    for (size_t i = 0; i < np; i++) {
        struct sl_held_deliver_t *h = &self->held_deliver[self->n_held_deliver++];
        h->d = ready[i];
        h->commit = commit;
        h->stale = stale;
    }
    return 0;
}

void
sl_deliver_release (sl_broker_t *self, uint64_t durable)
{
    size_t n = 0;
    while (n < self->n_held_deliver && self->held_deliver[n].commit <= durable)
        n++;
    if (n == 0)
        return;
    /* detached first: sending may forget a session (sl_deliver_forget), which
     * edits the held list */
    struct sl_held_deliver_t *out = malloc (n * sizeof *out);
    if (!out)
        return;              /* tried again at the next durable point */
    memcpy (out, self->held_deliver, n * sizeof *out);
    memmove (self->held_deliver, self->held_deliver + n,
             (self->n_held_deliver - n) * sizeof *out);
    self->n_held_deliver -= n;
    /* as in sl_deliver_all: DELIVERs of one session are consecutive and in
     * tag order; once one is not sent, the later ones are not either */
    sl_session_t *stopped = NULL;
    int stopped_gone = 0;
    for (size_t i = 0; i < n; i++) {
        if (out[i].d->s == stopped) {
            if (stopped_gone)
                out[i].d->tentative = 0;     /* its session is freed */
            s_deliver_free (&out[i].d);
            continue;
        }
        sl_session_t *s = out[i].d->s;
        int r = s_deliver_send (self, &out[i].d, out[i].stale);
        if (r <= 0) {
            stopped = s;
            stopped_gone = r < 0;
        }
    }
    free (out);
}

void
sl_deliver_forget (sl_broker_t *self, sl_session_t *s)
{
    size_t k = 0;
    for (size_t i = 0; i < self->n_held_deliver; i++) {
        if (self->held_deliver[i].d->s == s)
            s_deliver_free (&self->held_deliver[i].d);   /* deliverable again */
        else
            self->held_deliver[k++] = self->held_deliver[i];
    }
    self->n_held_deliver = k;
}

void
sl_deliver_drop_held (sl_broker_t *self)
{
    for (size_t i = 0; i < self->n_held_deliver; i++)
        s_deliver_free (&self->held_deliver[i].d);
    self->n_held_deliver = 0;
}

/*  Delivers to every session marked dirty, as much as its credit allows (up
 *  to SL_DELIVER_TURN DELIVERs each): prepares every DELIVER (entries into
 *  the batch, which also holds the publishes read this turn), commits the
 *  batch once, then sends them all. Commits a batch that is due even when
 *  there is nothing to deliver. Returns 1 if some session still has more
 *  (poll again without waiting). */
int
sl_deliver_all (sl_broker_t *self)
{
    size_t n = sl_sessions_count (self->sessions), np = 0, records = 0;
    s_deliver_t **ready = n ? calloc (n * SL_DELIVER_TURN, sizeof *ready) : NULL;
    if (!ready) {
        if (sl_batch_due (self->batch))
            sl_broker_commit_group (self);
        return 0;
    }
    uint64_t aborts = self->aborts, commits = sl_batch_commits (self->batch);
    for (size_t i = 0; i < n; i++) {
        sl_session_t *s = sl_sessions_at (self->sessions, i);
        if (s->plane != SL_PLANE_DATA || !s->dirty || s_holds (self, s))
            continue;
        if (s->credit == 0) {
            s->dirty = 0;
            continue;
        }
        uint64_t from = s->scan_from;
        uint32_t budget = s->credit;
        for (int k = 0; k < SL_DELIVER_TURN && budget > 0; k++) {
            s_deliver_t *d = s_deliver_prepare (self, s, from, budget);
            if (!d)
                break;
            ready[np++] = d;
            records += d->n;
            budget -= (uint32_t) d->n;
            from = d->next;
            if (d->exhausted || d->n == 0 || self->aborts != aborts)
                break;
        }
    }
    int more = 0;
    if ((records > 0 || sl_batch_due (self->batch))
        && (sl_broker_commit_group (self) != 0 || self->aborts != aborts)) {
        /* not audited (the commit failed, or an abort while preparing took
         * entries of earlier sessions with it), so not sent: the records
         * stay queued for later */
        for (size_t i = 0; i < np; i++)
            s_deliver_free (&ready[i]);
        np = 0;
    }
    /* DELIVERs of one session are consecutive in `ready`, in tag order: once
     * one of them is not sent, the later ones must not be either (they would
     * move scan_from past it), and once the session is gone it is freed */
    sl_session_t *stopped = NULL;
    int stopped_gone = 0;
    int stale = sl_batch_commits (self->batch) != commits;
    if (records > 0 && sl_batch_durable (self->batch) < sl_batch_commits (self->batch)) {
        /* their `deliver` entries are committed, not yet durable: hold them
         * (design note 4); if that fails they are not sent now, and the
         * records stay queued for later */
        if (s_hold (self, ready, np, sl_batch_commits (self->batch), stale) != 0)
            for (size_t i = 0; i < np; i++)
                s_deliver_free (&ready[i]);
        free (ready);
        return 0;
    }
    for (size_t i = 0; i < np; i++) {
        if (ready[i]->s == stopped) {
            if (stopped_gone)
                ready[i]->tentative = 0;     /* its session is freed */
            s_deliver_free (&ready[i]);
            continue;
        }
        sl_session_t *s = ready[i]->s;
        int r = s_deliver_send (self, &ready[i], stale);
        if (r > 0)
            more = 1;
        else {
            stopped = s;    /* gone, peer busy, or nothing more */
            stopped_gone = r < 0;
        }
    }
    free (ready);
    return more;
}


void
sl_deliver_wake (sl_broker_t *self)
{
    for (size_t i = 0; i < sl_sessions_count (self->sessions); i++) {
        sl_session_t *s = sl_sessions_at (self->sessions, i);
        if (s->plane == SL_PLANE_DATA && s->credit > 0)
            s->dirty = 1;
    }
}

/*  sl_publish — PUBLISH and SUBSCRIBE on the data plane (PROTOCOL.md §4).
 *
 *  A PUBLISH is validated, decided per subscription, staged into the batch
 *  (queue entries, audit events, message ids) and answered only after the
 *  batch commits (sl_broker_pending_push; sl_broker.c design note 3).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "sl_broker_int.h"
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
#include "sl_reason.h"
#include "sl_role.h"

/*  The data subject a record is about: its schema's subject field, "" when
 *  it has none. RecordMeta.subject must agree with it (PROTOCOL.md §4): a
 *  publisher may not claim another person's consent for a record. Sets
 *  m->subject from the body when the header left it empty. Returns 0,
 *  SL_EINVAL (the two differ) or SL_ENOMEM. */
int
sl_publish_subject_from_body (const sl_schema_t *schema, const ProtobufCMessage *rec,
                     Sluice__V1__RecordMeta *m)
{
    const char *body = "";
    const ProtobufCFieldDescriptor *fd = schema->subject_field
        ? sl_schema_field (schema, schema->subject_field) : NULL;
    if (fd && fd->type == PROTOBUF_C_TYPE_STRING) {
        const char *v = *(char *const *) ((const char *) rec + fd->offset);
        body = v ? v : "";
    }
    if (m->subject && *m->subject)
        return strcmp (m->subject, body) == 0 ? 0 : SL_EINVAL;
    if (!*body)
        return 0;
    char *copy = strdup (body);
    if (!copy)
        return SL_ENOMEM;
    if (m->subject != protobuf_c_empty_string)
        free (m->subject);
    m->subject = copy;
    return 0;
}



/* ------------------------------------------------------------- PUBLISH */

/*  True when the store is so full that publishes must wait: the last
 *  eighth of the map (or of the disk under it), and at least 1 MiB, is kept
 *  for what drains it — deliveries, consumer acks and their audit entries,
 *  and the pages LMDB's copy-on-write needs for them — so consumers can
 *  always free space. Read at most every 20 ms. */
static int
s_store_tight (sl_broker_t *self)
{
    int64_t now = sl_now_ms ();
    if (now - self->usage_ms >= 20 || now < self->usage_ms) {
        if (sl_store_usage (self->store, &self->used, &self->capacity) != 0)
            self->used = self->capacity = 0;
        self->usage_ms = now;
    }
    size_t reserve = self->capacity / 8 > SL_STORE_RESERVE_MIN ? self->capacity / 8
                                                              : SL_STORE_RESERVE_MIN;
    return self->capacity > 0 && self->used + reserve > self->capacity;
}

/*  The publish-stage decision on record `rec` (of `type`, sent by session
 *  `s` with meta `m`) for subscription `sub`, into *out (sl_broker_decide's
 *  contract: the caller frees out->body). */
static void
s_decide_for (sl_broker_t *self, MDB_txn *txn, sl_session_t *s, const char *type,
              const Sluice__V1__RecordMeta *m, ProtobufCMessage *rec, const sl_sub_t *sub,
              sl_decide_output_t *out)
{
    sl_decide_input_t in = {
        .stage = SL_DECIDE_PUBLISH, .owner = s->member, .consumer = sub->consumer,
        .record_type = type, .purpose = sub->purpose, .subject = m->subject,
        .event_time_ms = m->event_time, .record = rec, .txn = txn
    };
    sl_broker_decide (self, &in, out);
}

/*  Refuses one record of a batch: `re` (code, reason and text set) joins the
 *  answer's errors (errp[*n_errs], counted) and `ev`, completed as its
 *  publish.refused entry (sl_event.h: the reason and text added), goes to the
 *  audit log. Returns sl_broker_record's result. */
static int
s_refuse (sl_broker_t *self, sl_rec_error_t *re, Sluice__V1__Error **errp, size_t *n_errs,
          sl_event_t ev)
{
    errp[(*n_errs)++] = &re->e;
    ev.kind = SL_AUDIT_PUBLISH_REFUSED;
    ev.reason = re->e.reason;
    ev.detail = re->text;
    return sl_broker_record (self, &ev, 1);
}

/*  The consumer whose full queue keeps record `rec` of `type` out, or NULL:
 *  a subscriber at cfg.queue_max that the policy would give the record. */
static const char *
s_queue_full (sl_broker_t *self, MDB_txn *txn, sl_session_t *s, const char *type,
              const Sluice__V1__RecordMeta *m, ProtobufCMessage *rec)
{
    if (!self->cfg.queue_max)
        return NULL;
    for (size_t j = 0; j < sl_subs_count (self->subs); j++) {
        const sl_sub_t *sub = sl_subs_at (self->subs, j);
        if (strcmp (sub->record_type, type) != 0)
            continue;
        long depth = sl_queue_count (self->queue, txn, sub->consumer);
        if (depth < 0 || (uint64_t) depth < self->cfg.queue_max)
            continue;
        sl_decide_output_t out;
        s_decide_for (self, txn, s, type, m, rec, sub, &out);
        free (out.body);
        if (out.permit)
            return sub->consumer;
    }
    return NULL;
}

void
sl_publish_handle (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    size_t n = h->n_records;
    if (n == 0) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "no-records",
                      "PUBLISH carries no records: put one RecordMeta per record frame in Header.records");
        return;
    }
    if (s_store_tight (self)) {
        sl_warn ("publish.store_full", "member=%s records=%zu used_kib=%zu capacity_kib=%zu",
                 s->member, n, self->used >> 10, self->capacity >> 10);
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__STORE_FULL, "store-full",
                      "broker store is full (%zu of %zu KiB in use; the last eighth, at least "
                      "1 MiB, is kept for deliveries and acks): nothing of this message was stored; resend later "
                      "with the same message_ids", self->used >> 10, self->capacity >> 10);
        return;
    }
    MDB_txn *txn;       /* the pending state, read only (sl_commit_view) */
    sl_overload_lag_t lag = { 0, "" };   /* push-back (sl_overload.c) */
    if (sl_commit_view (self->commit, &txn) != 0) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__INTERNAL, "store-error", "broker store unavailable; resend later");
        return;
    }
    ProtobufCBinaryData *ids = calloc (n, sizeof *ids);
    sl_rec_error_t *errs = calloc (n, sizeof *errs);
    Sluice__V1__Error **errp = calloc (n, sizeof *errp);
    size_t n_ids = 0, n_errs = 0, queued = 0, dups = 0, denied = 0;
    sl_filtered_t filtered;     /* rows a `where` left out: one entry per key (sl_filtered.h) */
    sl_filtered_init (&filtered);
    int store_rc = 0;
    if (!ids || !errs || !errp) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__INTERNAL, "memory", "broker out of memory; resend later");
        goto out;
    }
    int64_t now = sl_now_ms ();
    for (size_t i = 0; i < n && store_rc == 0; i++) {
        Sluice__V1__RecordMeta *m = h->records[i];
        const char *type = (m->record_type && *m->record_type) ? m->record_type : h->record_type;
        sl_rec_error_t *re = &errs[n_errs];
        sluice__v1__error__init (&re->e);
        re->e.text = re->text;
        re->e.message_id = m->message_id;
        int code = 0, consent = 0;
        const sl_schema_t *schema = NULL;
        if (m->message_id.len != SL_MSGID_LEN) {
            code = SLUICE__V1__ERROR_CODE__BAD_REQUEST;
            snprintf (re->text, sizeof re->text, "record %zu: message_id must be 16 bytes, got %zu",
                      i, m->message_id.len);
        }
        else if (!type || !*type || !(schema = sl_schema_find (type))) {
            code = SLUICE__V1__ERROR_CODE__UNKNOWN_RECORD_TYPE;
            snprintf (re->text, sizeof re->text, "record %zu: unknown record type '%.64s'", i,
                      type ? type : "");
        }
        else if (strcmp (schema->record_type, SL_CONSENT_TYPE) == 0) {
            /* the consent channel: only consent sources publish consent events */
            const sl_member_t *mem = sl_registry_by_name (self->registry, s->member);
            if (!mem || !sl_role_is_consent_source (mem->role)) {
                code = SLUICE__V1__ERROR_CODE__NOT_PERMITTED;
                snprintf (re->text, sizeof re->text,
                          "record %zu: member '%s' (role %s) may not publish %s: only members "
                          "with role consent-source may", i, s->member, mem ? mem->role : "?", type);
            }
            else
                consent = 1;
        }
        else if (strcmp (schema->owner, s->member) != 0) {
            code = SLUICE__V1__ERROR_CODE__NOT_OWNER;
            snprintf (re->text, sizeof re->text,
                      "record %zu: member '%s' does not own %s (owner: %s)", i, s->member,
                      type, schema->owner);
        }
        if (code) {
            re->e.code = (Sluice__V1__ErrorCode) code;
            re->e.reason = (char *) sl_wire_code_name (code);
            store_rc = s_refuse (self, re, errp, &n_errs, (sl_event_t) {
                .actor = s->member, .record_type = type,
                .message_id = m->message_id.len == SL_MSGID_LEN ? m->message_id.data : NULL });
            continue;
        }
        int seen = sl_commit_msgid_seen (self->commit, s->member, m->message_id.data);
        if (seen < 0) {
            store_rc = seen;
            break;
        }
        if (seen) {
            ids[n_ids++] = m->message_id;
            dups++;
            continue;
        }
        zmq_msg_t *body = &bodies[i];
        if (consent) {
            int crc = sl_govern_consent_event (self->govern, s->member, SL_ROLE_CONSENT_SOURCE,
                                               zmq_msg_data (body), zmq_msg_size (body),
                                               re->text, sizeof re->text);
            if (crc == SL_EFULL || crc == SL_ESTORE || crc == SL_ENOMEM) {
                store_rc = crc;
                break;
            }
            if (crc != 0) {
                re->e.code = (Sluice__V1__ErrorCode) sl_reason_from_rc (crc);
                re->e.reason = (char *) sl_wire_code_name (re->e.code);
                store_rc = s_refuse (self, re, errp, &n_errs, (sl_event_t) {
                    .actor = s->member, .record_type = type, .message_id = m->message_id.data });
                continue;
            }
            store_rc = sl_commit_msgid_put (self->commit, s->member, m->message_id.data, (uint64_t) now);
            if (store_rc == 0)
                ids[n_ids++] = m->message_id;
            continue;
        }
        ProtobufCMessage *rec = protobuf_c_message_unpack (schema->descriptor, NULL,
                                                           zmq_msg_size (body), zmq_msg_data (body));
        if (!rec) {
            re->e.code = SLUICE__V1__ERROR_CODE__BAD_BODY;
            re->e.reason = "bad-body";
            snprintf (re->text, sizeof re->text, "record %zu: body (%zu bytes) does not decode as %s",
                      i, zmq_msg_size (body), type);
            store_rc = s_refuse (self, re, errp, &n_errs, (sl_event_t) {
                .actor = s->member, .record_type = type, .message_id = m->message_id.data,
                .subject = m->subject });
            continue;
        }
        int src = sl_publish_subject_from_body (schema, rec, m);
        if (src == SL_ENOMEM) {
            protobuf_c_message_free_unpacked (rec, NULL);
            store_rc = src;
            break;
        }
        if (src != 0) {
            protobuf_c_message_free_unpacked (rec, NULL);
            re->e.code = SLUICE__V1__ERROR_CODE__BAD_REQUEST;
            re->e.reason = "bad-request";
            snprintf (re->text, sizeof re->text,
                      "record %zu: RecordMeta.subject differs from the body's %s field; "
                      "leave it empty or make the two equal", i, schema->subject_field);
            store_rc = s_refuse (self, re, errp, &n_errs, (sl_event_t) {
                .actor = s->member, .record_type = type, .message_id = m->message_id.data });
            continue;
        }
        const char *full = s_queue_full (self, txn, s, type, m, rec);
        if (full) {
            re->e.code = SLUICE__V1__ERROR_CODE__QUEUE_FULL;
            re->e.reason = "queue-full";
            snprintf (re->text, sizeof re->text,
                      "record %zu: the queue of consumer '%.32s' is full (%llu records): not "
                      "stored; resend later with the same message_id", i, full,
                      (unsigned long long) self->cfg.queue_max);
            store_rc = s_refuse (self, re, errp, &n_errs, (sl_event_t) {
                .actor = s->member, .counterpart = full, .record_type = type,
                .message_id = m->message_id.data, .subject = m->subject });
            protobuf_c_message_free_unpacked (rec, NULL);
            continue;
        }
        int named = 0;      /* a queue / deny entry names the record (AUDIT.md §6.2) */
        for (size_t j = 0; j < sl_subs_count (self->subs) && store_rc == 0; j++) {
            const sl_sub_t *sub = sl_subs_at (self->subs, j);
            if (strcmp (sub->record_type, type) != 0)
                continue;
            sl_decide_output_t out;
            s_decide_for (self, txn, s, type, m, rec, sub, &out);
            char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX];
            sl_broker_rules (out.rules, out.n_rules, rbuf, sizeof rbuf);
            if (!out.permit && strcmp (out.reason, "condition-false") == 0
                && sl_filtered_add (&filtered, sub->consumer, type, sub->purpose, rbuf)) {
                denied++;
                continue;
            }
            /* how long a permit holds, so delivery may skip asking again;
             * with the subject's audit pseudonym, made once for both entries */
            sl_disclose_bound_t bound;
            if (out.permit)
                sl_govern_bound (self->govern, m->subject, out.until_s, &bound);
            sl_event_t ev = { .kind = out.permit ? "queue" : "deny", .actor = s->member,
                              .counterpart = sub->consumer, .owner = s->member, .record_type = type,
                              .message_id = m->message_id.data, .subject = m->subject,
                              .subject_pseudonym = out.permit && bound.has_pseudonym
                                                   ? bound.pseudonym : NULL,
                              .purpose = sub->purpose, .decision = out.permit ? "permit" : "deny",
                              .rules = rbuf, .fields = out.fields_set ? out.fields : NULL,
                              .reason = out.permit ? NULL : out.reason,
                              .detail = "stage=publish", .accepts = !named };
            store_rc = sl_broker_record (self, &ev, 0);
            named = 1;
            if (!out.permit) {
                denied++;
                sl_info ("publish.denied", "owner=%s consumer=%s record=%s purpose=%s reason=%s",
                         s->member, sub->consumer, type, sub->purpose, out.reason);
                continue;
            }
            if (store_rc != 0) {
                free (out.body);
                break;
            }
            char *rules[SL_DECIDE_MAX_RULES];
            for (int r = 0; r < out.n_rules; r++)
                rules[r] = out.rules[r];
            Sluice__V1__RecordMeta qm = SLUICE__V1__RECORD_META__INIT;
            qm.message_id = m->message_id;
            qm.subject = out.subject_set ? out.subject : m->subject;
            qm.event_time = sl_decide_coarsen_ms (m->event_time, out.coarsen_s);
            qm.record_type = (char *) type;
            qm.owner = s->member;
            qm.purpose = (char *) sub->purpose;
            qm.n_rules = (size_t) out.n_rules;
            qm.rules = rules;
            /* the queued copy's subject is the consumer's view; the raw one
             * travels sealed for delivery-time consent checks */
            uint8_t sealed[2 + SL_QUEUE_SEALED_MAX];   /* length prefix | nonce | box */
            uint8_t flist[2 + SL_DISCLOSE_FIELDS_MAX];
            uint8_t bbuf[SL_DISCLOSE_BOUND_LEN];
            ProtobufCMessageUnknownField uf[3];
            size_t sl = 0;
            if (out.subject_set && m->subject && *m->subject
                && sl_govern_seal_subject (self->govern, m->subject, sealed + 2,
                                           SL_QUEUE_SEALED_MAX, &sl) == 0) {
                sl_queue_sealed_field (&uf[0], sealed, sl);
                qm.base.n_unknown_fields = 1;
            }
            /* the fields this copy released, for its `deliver` entry */
            if (out.fields_set
                && sl_disclose_fields_field (&uf[qm.base.n_unknown_fields], flist, sizeof flist,
                                             out.fields) == 0)
                qm.base.n_unknown_fields++;
            sl_disclose_bound_field (&uf[qm.base.n_unknown_fields++], bbuf, &bound);
            qm.base.unknown_fields = uf;
            uint64_t tag;
            const void *bd = out.body ? out.body : zmq_msg_data (body);
            size_t bl = out.body ? out.body_len : zmq_msg_size (body);
            store_rc = sl_commit_queue_append (self->commit, sub->consumer, &qm, bd, bl, &tag);
            free (out.body);
            if (store_rc == 0) {
                queued++;
                sl_overload_fed (self, txn, sub->consumer, &lag);
            }
        }
        protobuf_c_message_free_unpacked (rec, NULL);
        if (store_rc == 0 && !named) {
            /* no copy names the record: its acceptance gets an entry of its own */
            sl_event_t ev = { .kind = "publish", .actor = s->member, .owner = s->member,
                              .record_type = type, .message_id = m->message_id.data,
                              .subject = m->subject, .decision = "ok" };
            store_rc = sl_broker_record (self, &ev, 0);
        }
        if (store_rc == 0)
            store_rc = sl_commit_msgid_put (self->commit, s->member, m->message_id.data, (uint64_t) now);
        if (store_rc == 0)
            ids[n_ids++] = m->message_id;
    }
    if (store_rc == 0)
        store_rc = sl_filtered_flush (&filtered, s->member, "publish", sl_broker_record_cb, self);

    if (store_rc != 0) {
        /* LMDB leaves a failed write transaction unusable: everything pending fails */
        sl_error ("publish.store_failed", "member=%s error=\"%s\"", s->member, sl_strerror (store_rc));
        sl_commit_abort (self->commit);
        int full = store_rc == SL_EFULL;
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      full ? SLUICE__V1__ERROR_CODE__STORE_FULL : SLUICE__V1__ERROR_CODE__INTERNAL,
                      full ? "store-full" : "store-error",
                      "nothing of this message was stored (%s); resend later with the same message_ids",
                      sl_strerror (store_rc));
        goto out;
    }
    Sluice__V1__Header a = sl_broker_header (n_ids ? SLUICE__V1__COMMAND__ACK
                                                   : SLUICE__V1__COMMAND__ERROR, h->seq);
    a.n_errors = n_errs;
    a.errors = errp;
    if (n_ids == 0) {
        char q[300];
        sl_info ("proto.error", "member=%s seq=%llu code=%s records=%zu text=%s", s->member,
                 (unsigned long long) h->seq, sl_wire_code_name (errp[0]->code), n,
                 sl_log_quote (errp[0]->text, q, sizeof q));
        sl_wire_send (self->data, s->rid, s->rid_len, &a, NULL, 0);
        goto out;
    }
    a.n_message_ids = n_ids;
    a.message_ids = ids;
    if (sl_broker_pending_push (self, s->rid, s->rid_len, h->seq, &a) != 0) {
        sl_commit_abort (self->commit);
        goto out;
    }
    sl_overload_mark (self, &lag);
    sl_commit_note (self->commit, (unsigned) n_ids);
    sl_debug ("publish.accepted", "member=%s seq=%llu records=%zu stored=%zu duplicates=%zu queued=%zu denied=%zu refused=%zu",
              s->member, (unsigned long long) h->seq, n, n_ids - dups, dups, queued, denied, n_errs);
out:
    free (ids);
    free (errs);
    free (errp);
}

/* ------------------------------------------------- SUBSCRIBE / UNSUBSCRIBE */

void
sl_publish_subscribe (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, int add)
{
    const char *what = add ? "SUBSCRIBE" : "UNSUBSCRIBE";
    if (!h->record_type || !sl_schema_find (h->record_type)) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__UNKNOWN_RECORD_TYPE, "unknown-record-type",
                      "%s: unknown record type '%.64s'", what, h->record_type ? h->record_type : "");
        return;
    }
    if (!h->purpose || !sl_subs_valid_purpose (h->purpose)) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "bad-purpose",
                      "%s: purpose '%.64s' is not a purpose word ([a-z0-9][a-z0-9-]*, at most 64 characters)",
                      what, h->purpose ? h->purpose : "");
        return;
    }
    int created = 0;
    int rc = sl_commit_subscription (self->commit, add, s->member, h->record_type, h->purpose,
                                     &created);
    if (rc == SL_ENOTFOUND) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__NOT_FOUND, "not-found",
                      "UNSUBSCRIBE: no subscription to %s for purpose %s", h->record_type, h->purpose);
        return;
    }
    if (rc == 0)
        rc = sl_broker_commit (self);     /* subscriptions are rare: make them durable now */
    if (rc != 0) {
        sl_commit_abort (self->commit);
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__INTERNAL, "store-error",
                      "%s failed: %s; try again", what, sl_strerror (rc));
        return;
    }
    sl_info (add ? "subscribe" : "unsubscribe", "member=%s record=%s purpose=%s new=%d",
             s->member, h->record_type, h->purpose, add ? created : 1);
    Sluice__V1__Header a = sl_broker_header (SLUICE__V1__COMMAND__ACK, h->seq);
    sl_broker_send_header (self, s, &a);
    s->dirty = 1;
}


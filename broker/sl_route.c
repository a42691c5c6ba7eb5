/*  sl_route — QUERY and REPLY: a consumer asks an owner for records, the
 *  broker forwards the question to the owner's current session, checks the
 *  owner's answer against the policy and passes it on (PROTOCOL.md §5).
 *  Owns the table of open queries, their deadlines, and their failure when
 *  the owner leaves.
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

/* --------------------------------------------------------- QUERY / REPLY */

static sl_broker_query_t *
s_query_find (sl_broker_t *self, uint64_t query_id)
{
    for (size_t i = 0; i < self->n_queries; i++)
        if (self->queries[i].query_id == query_id)
            return &self->queries[i];
    return NULL;
}

void
sl_route_drop (sl_broker_t *self, sl_broker_query_t *q)
{
    *q = self->queries[--self->n_queries];
}

void
sl_route_query (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h)
{
    const sl_schema_t *schema = h->record_type ? sl_schema_find (h->record_type) : NULL;
    if (!schema) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__UNKNOWN_RECORD_TYPE, "unknown-record-type",
                      "QUERY: unknown record type '%.64s'", h->record_type ? h->record_type : "");
        return;
    }
    if (!h->purpose || !sl_subs_valid_purpose (h->purpose)) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "bad-purpose",
                      "QUERY: purpose '%.64s' is not a purpose word", h->purpose ? h->purpose : "");
        return;
    }
    if (h->subject && strlen (h->subject) >= sizeof ((sl_broker_query_t *) 0)->subject) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "bad-subject",
                      "QUERY: subject longer than 127 bytes");
        return;
    }
    MDB_txn *rtxn = NULL;
    sl_store_read (self->store, &rtxn);
    sl_decide_input_t in = {
        .stage = SL_DECIDE_QUERY, .owner = schema->owner, .consumer = s->member,
        .record_type = schema->record_type, .purpose = h->purpose, .subject = h->subject,
        .record = NULL, .txn = rtxn
    };
    sl_decide_output_t out;
    sl_broker_decide (self, &in, &out);
    free (out.body);
    if (rtxn)
        mdb_txn_abort (rtxn);
    if (out.permit && h->subject && *h->subject && out.subject_set) {
        /* the permit hides the subject (pseudonymize or drop): answering a
         * query by clear id would tie the asker's own clear ids to the
         * pseudonyms of its stream (POLICY.md 6.1) */
        out.permit = 0;
        snprintf (out.reason, sizeof out.reason, "subject-not-clear");
    }
    {
        char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX];
        sl_event_t ev = { .kind = "query", .actor = s->member, .counterpart = schema->owner,
                          .owner = schema->owner, .record_type = schema->record_type,
                          .subject = h->subject, .purpose = h->purpose,
                          .decision = out.permit ? "permit" : "deny",
                          .rules = sl_broker_rules (out.rules, out.n_rules, rbuf, sizeof rbuf),
                          .reason = out.permit ? NULL : out.reason };
        sl_broker_event (self, &ev);
    }
    if (!out.permit) {
        sl_info ("query.denied", "owner=%s consumer=%s record=%s purpose=%s reason=%s",
                 schema->owner, s->member, schema->record_type, h->purpose, out.reason);
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__DENIED, out.reason,
                      "QUERY denied: %s may not receive %s for purpose %s (%s)", s->member,
                      schema->record_type, h->purpose, out.reason);
        return;
    }
    sl_session_t *o = sl_sessions_of (self->sessions, schema->owner);
    if (!o) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__OWNER_OFFLINE, "owner-offline",
                      "QUERY: owner '%s' of %s is not connected; try again later",
                      schema->owner, schema->record_type);
        return;
    }
    if (self->n_queries == self->cap_queries) {
        size_t cap = self->cap_queries ? self->cap_queries * 2 : 16;
        sl_broker_query_t *p = realloc (self->queries, cap * sizeof *p);
        if (!p) {
            sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                          SLUICE__V1__ERROR_CODE__INTERNAL, "memory", "broker out of memory");
            return;
        }
        self->queries = p;
        self->cap_queries = cap;
    }
    unsigned tmo = h->timeout_ms ? h->timeout_ms : self->cfg.query_timeout_ms;
    if (tmo > SL_QUERY_MAX_MS)
        tmo = SL_QUERY_MAX_MS;
    sl_broker_query_t *q = &self->queries[self->n_queries];
    memset (q, 0, sizeof *q);
    q->query_id = self->next_query_id++;
    memcpy (q->rid, s->rid, s->rid_len);
    q->rid_len = s->rid_len;
    q->seq = h->seq;
    strcpy (q->asker, s->member);
    snprintf (q->owner, sizeof q->owner, "%s", schema->owner);
    snprintf (q->record_type, sizeof q->record_type, "%s", schema->record_type);
    snprintf (q->purpose, sizeof q->purpose, "%s", h->purpose);
    snprintf (q->subject, sizeof q->subject, "%s", h->subject ? h->subject : "");
    q->deadline_ms = sl_now_ms () + tmo;

    Sluice__V1__Header f = sl_broker_header (SLUICE__V1__COMMAND__QUERY, ++self->seq);
    f.query_id = q->query_id;
    f.member = s->member;
    f.record_type = q->record_type;
    f.subject = q->subject;
    f.purpose = q->purpose;
    f.n_parameters = h->n_parameters;
    f.parameters = h->parameters;
    f.timeout_ms = tmo;
    int rc = sl_wire_send (self->data, o->rid, o->rid_len, &f, NULL, 0);
    if (rc != 0) {
        if (rc == SL_ECLOSED)
            sl_broker_session_drop (self, o);
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__OWNER_OFFLINE, "owner-offline",
                      "QUERY: owner '%s' of %s is not reachable; try again later",
                      schema->owner, schema->record_type);
        return;
    }
    self->n_queries++;
    sl_info ("query.routed", "asker=%s owner=%s record=%s purpose=%s query_id=%llu timeout_ms=%u",
             s->member, schema->owner, schema->record_type, h->purpose,
             (unsigned long long) q->query_id, tmo);
}

/*  The `reply` entries of an answer: one per released record (its subject,
 *  message id, deciding rules with versions and the fields released), or
 *  one with `records=0` for an empty answer; then the batch is committed,
 *  so the entries are on disk before the REPLY leaves. Returns 0, or the
 *  error (the batch is aborted: nothing may be sent). */
static int
s_reply_record (sl_broker_t *self, const sl_broker_query_t *q, const Sluice__V1__RecordMeta *metas,
                char (*raw)[128], char (*released)[SL_DISCLOSE_FIELDS_MAX], size_t kept,
                size_t dropped)
{
    int rc = 0;
    for (size_t i = 0; i < kept && rc == 0; i++) {
        const Sluice__V1__RecordMeta *m = &metas[i];
        char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX], dt[96];
        snprintf (dt, sizeof dt, "query_id=%llu record=%zu records=%zu dropped=%zu",
                  (unsigned long long) q->query_id, i, kept, dropped);
        sl_event_t ev = { .kind = "reply", .actor = q->owner, .counterpart = q->asker,
                          .owner = q->owner, .record_type = q->record_type,
                          .message_id = m->message_id.len == 16 ? m->message_id.data : NULL,
                          .subject = raw[i], .purpose = q->purpose, .decision = "permit",
                          .rules = sl_broker_rules_meta (m->rules, m->n_rules, rbuf, sizeof rbuf),
                          .fields = released[i], .detail = dt };
        rc = sl_broker_event (self, &ev);
    }
    if (kept == 0) {
        char dt[96];
        snprintf (dt, sizeof dt, "query_id=%llu records=0 dropped=%zu",
                  (unsigned long long) q->query_id, dropped);
        sl_event_t ev = { .kind = "reply", .actor = q->owner, .counterpart = q->asker,
                          .owner = q->owner, .record_type = q->record_type, .subject = q->subject,
                          .purpose = q->purpose, .decision = "ok", .detail = dt };
        rc = sl_broker_event (self, &ev);
    }
    if (rc == 0)
        rc = sl_broker_commit (self);
    return rc;
}

/*  REPLY or ERROR from an owner for a query. */
void
sl_route_answer (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    sl_broker_query_t *q = s_query_find (self, h->query_id);
    if (!q || strcmp (q->owner, s->member) != 0) {
        sl_info ("query.late", "member=%s query_id=%llu", s->member, (unsigned long long) h->query_id);
        return;
    }
    if (h->command == SLUICE__V1__COMMAND__ERROR) {
        Sluice__V1__Header a = sl_broker_header (SLUICE__V1__COMMAND__ERROR, q->seq);
        a.n_errors = h->n_errors;
        a.errors = h->errors;
        Sluice__V1__Error e = SLUICE__V1__ERROR__INIT, *ep = &e;
        if (a.n_errors == 0) {
            e.code = SLUICE__V1__ERROR_CODE__INTERNAL;
            e.text = "the owner refused the query without saying why";
            a.n_errors = 1;
            a.errors = &ep;
        }
        sl_info ("query.refused", "asker=%s owner=%s query_id=%llu code=%s", q->asker, q->owner,
                 (unsigned long long) q->query_id, sl_wire_code_name (a.errors[0]->code));
        sl_wire_send (self->data, q->rid, q->rid_len, &a, NULL, 0);
        sl_route_drop (self, q);
        return;
    }
    size_t n = h->n_records;
    const sl_schema_t *schema = sl_schema_find (q->record_type);
    Sluice__V1__RecordMeta *metas = calloc (n ? n : 1, sizeof *metas);
    Sluice__V1__RecordMeta **mp = calloc (n ? n : 1, sizeof *mp);
    zmq_msg_t *out_bodies = calloc (n ? n : 1, sizeof *out_bodies);
    char (*rules)[SL_DECIDE_MAX_RULES][SL_DECIDE_RULE_MAX] = calloc (n ? n : 1, sizeof *rules);
    char *(*rulep)[SL_DECIDE_MAX_RULES] = calloc (n ? n : 1, sizeof *rulep);
    char (*subj)[128] = calloc (n ? n : 1, sizeof *subj);
    char (*raw)[128] = calloc (n ? n : 1, sizeof *raw);
    char (*released)[SL_DISCLOSE_FIELDS_MAX] = calloc (n ? n : 1, sizeof *released);
    size_t kept = 0, dropped = 0;
    long bad = -1;
    if (!metas || !mp || !out_bodies || !rules || !rulep || !subj || !raw || !released)
        goto out;
    MDB_txn *rtxn = NULL;
    sl_store_read (self->store, &rtxn);
    sl_filtered_t filtered;     /* rows a `where` left out (sl_filtered.h) */
    sl_filtered_init (&filtered);
    for (size_t i = 0; i < n; i++) {
        Sluice__V1__RecordMeta *m = h->records[i];
        const char *type = (m->record_type && *m->record_type) ? m->record_type : q->record_type;
        ProtobufCMessage *rec = NULL;
        if (strcmp (type, q->record_type) != 0
            || !(rec = protobuf_c_message_unpack (schema->descriptor, NULL,
                                                  zmq_msg_size (&bodies[i]), zmq_msg_data (&bodies[i])))
            || sl_publish_subject_from_body (schema, rec, m) != 0) {
            if (rec)
                protobuf_c_message_free_unpacked (rec, NULL);
            bad = (long) i;
            break;
        }
        sl_decide_input_t in = {
            .stage = SL_DECIDE_REPLY, .owner = q->owner, .consumer = q->asker,
            .record_type = q->record_type, .purpose = q->purpose, .subject = m->subject,
            .event_time_ms = m->event_time, .record = rec, .txn = rtxn
        };
        sl_decide_output_t d;
        sl_broker_decide (self, &in, &d);
        protobuf_c_message_free_unpacked (rec, NULL);
        if (!d.permit) {
            char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX];
            sl_broker_rules (d.rules, d.n_rules, rbuf, sizeof rbuf);
            if (strcmp (d.reason, "condition-false") == 0
                && sl_filtered_add (&filtered, q->asker, q->record_type, q->purpose, rbuf)) {
                dropped++;
                continue;
            }
            sl_event_t ev = { .kind = "deny", .actor = q->owner, .counterpart = q->asker,
                              .owner = q->owner, .record_type = q->record_type,
                              .subject = m->subject, .purpose = q->purpose, .decision = "deny",
                              .rules = sl_broker_rules (d.rules, d.n_rules, rbuf, sizeof rbuf),
                              .reason = d.reason, .detail = "stage=reply" };
            sl_broker_event (self, &ev);
            dropped++;
            sl_info ("reply.denied", "owner=%s consumer=%s record=%s purpose=%s reason=%s",
                     q->owner, q->asker, q->record_type, q->purpose, d.reason);
            continue;
        }
        Sluice__V1__RecordMeta *om = &metas[kept];
        sluice__v1__record_meta__init (om);
        om->message_id = m->message_id;
        snprintf (subj[kept], sizeof subj[kept], "%s", d.subject_set ? d.subject : (m->subject ? m->subject : ""));
        snprintf (raw[kept], sizeof raw[kept], "%s", m->subject ? m->subject : "");
        snprintf (released[kept], sizeof released[kept], "%s", d.fields_set ? d.fields : "");
        om->subject = subj[kept];
        om->event_time = sl_decide_coarsen_ms (m->event_time, d.coarsen_s);
        om->record_type = q->record_type;
        om->owner = q->owner;
        om->purpose = q->purpose;
        for (int r = 0; r < d.n_rules; r++) {
            memcpy (rules[kept][r], d.rules[r], SL_DECIDE_RULE_MAX);
            rulep[kept][r] = rules[kept][r];
        }
        om->n_rules = (size_t) d.n_rules;
        om->rules = rulep[kept];
        if (d.body) {
            zmq_msg_init_size (&out_bodies[kept], d.body_len);
            memcpy (zmq_msg_data (&out_bodies[kept]), d.body, d.body_len);
            free (d.body);
        }
        else {
            zmq_msg_init (&out_bodies[kept]);
            zmq_msg_move (&out_bodies[kept], &bodies[i]);     /* forwarded untouched */
        }
        mp[kept] = om;
        kept++;
    }
    if (sl_filtered_flush (&filtered, q->owner, "reply", sl_broker_record_cb, self) != 0)
        sl_commit_abort (self->commit);
    if (rtxn)
        mdb_txn_abort (rtxn);
    if (bad >= 0) {
        char text[300];
        snprintf (text, sizeof text, "the owner's reply record %ld is not a valid %s", bad, q->record_type);
        sl_info ("reply.bad", "owner=%s query_id=%llu record=%ld", q->owner,
                 (unsigned long long) q->query_id, bad);
        sl_wire_error (self->data, q->rid, q->rid_len, q->seq, 0, SLUICE__V1__ERROR_CODE__BAD_BODY,
                       text, "bad-reply");
        sl_wire_error (self->data, s->rid, s->rid_len, h->seq, q->query_id,
                       SLUICE__V1__ERROR_CODE__BAD_BODY, text, "bad-reply");
    }
    else if (s_reply_record (self, q, metas, raw, released, kept, dropped) != 0) {
        /* not on disk, so not sent (AUDIT.md §6: durable before data leaves) */
        sl_wire_error (self->data, q->rid, q->rid_len, q->seq, 0, SLUICE__V1__ERROR_CODE__INTERNAL,
                       "the broker could not record the reply in its audit log; nothing was "
                       "disclosed: ask again", "commit-failed");
        sl_wire_error (self->data, s->rid, s->rid_len, h->seq, q->query_id,
                       SLUICE__V1__ERROR_CODE__INTERNAL,
                       "the broker could not record this reply; nothing was passed on", "commit-failed");
    }
    else {
        Sluice__V1__Header a = sl_broker_header (SLUICE__V1__COMMAND__REPLY, q->seq);
        a.n_records = kept;
        a.records = mp;
        sl_wire_send (self->data, q->rid, q->rid_len, &a, out_bodies, kept);
        sl_info ("query.answered", "asker=%s owner=%s query_id=%llu records=%zu dropped=%zu",
                 q->asker, q->owner, (unsigned long long) q->query_id, kept, dropped);
    }
    sl_route_drop (self, q);
out:
    for (size_t i = 0; i < kept; i++)
        zmq_msg_close (&out_bodies[i]);
    free (metas);
    free (mp);
    free (out_bodies);
    free (rules);
    free (rulep);
    free (subj);
    free (raw);
    free (released);
}

/*  Fails queries whose owner did not answer in time. Returns ms until the
 *  next deadline, or -1. */
long
sl_route_timeouts (sl_broker_t *self)
{
    int64_t now = sl_now_ms ();
    long next = -1;
    for (size_t i = 0; i < self->n_queries;) {
        sl_broker_query_t *q = &self->queries[i];
        if (q->deadline_ms <= now) {
            char text[200];
            snprintf (text, sizeof text, "QUERY: owner '%s' did not answer within the timeout", q->owner);
            sl_info ("query.timeout", "asker=%s owner=%s query_id=%llu", q->asker, q->owner,
                     (unsigned long long) q->query_id);
            sl_wire_error (self->data, q->rid, q->rid_len, q->seq, 0,
                           SLUICE__V1__ERROR_CODE__TIMEOUT, text, "timeout");
            sl_route_drop (self, q);
            continue;
        }
        long left = (long) (q->deadline_ms - now);
        if (next < 0 || left < next)
            next = left;
        i++;
    }
    return next;
}


void
sl_route_owner_left (sl_broker_t *self, const char *member)
{
    for (size_t j = 0; j < self->n_queries;) {
        sl_broker_query_t *q = &self->queries[j];
        if (strcmp (q->owner, member) != 0) {
            j++;
            continue;
        }
        sl_info ("query.owner_left", "asker=%s owner=%s query_id=%llu", q->asker, q->owner,
                 (unsigned long long) q->query_id);
        sl_wire_error (self->data, q->rid, q->rid_len, q->seq, 0,
                       SLUICE__V1__ERROR_CODE__OWNER_OFFLINE,
                       "QUERY: the owner disconnected before answering; try again later",
                       "owner-offline");
        sl_route_drop (self, q);
    }
}

void
sl_route_shutdown (sl_broker_t *self)
{
    for (size_t i = 0; i < self->n_queries; i++) {
        sl_broker_query_t *q = &self->queries[i];
        sl_wire_error (self->data, q->rid, q->rid_len, q->seq, 0,
                       SLUICE__V1__ERROR_CODE__INTERNAL,
                       "the broker is shutting down; ask again when it is back", "shutdown");
    }
    self->n_queries = 0;
}

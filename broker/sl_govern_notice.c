/*  sl_govern_notice — the notices of ended consents: when a consent's
 *  access ends (withdrawal, expiry) its recipient gets one notice per
 *  purpose, naming the subject as that recipient sees it.
 *
 *  Design note (note 4 of sl_govern.c):
 *
 *  4. Ended consents (withdrawal, expiry) are found with
 *     sl_consent_each_ended over consecutive time windows; windows overlap by
 *     a few seconds and a short memory of sent notices keeps each notice
 *     single. A data-plane withdrawal asks for a scan right after its commit.
 */
#include "sl_govern_int.h"

#include <stdio.h>
#include <string.h>

#include "sl_clock.h"
#include "sl_error.h"
#include "sl_log.h"
#include "sl_schema.h"
#include "sl_store.h"

/*  For "what did the consumer see": decide as if consent held. */
static sl_consent_status_t
s_assume_valid (void *arg, const char *subject, const char *owner, const char *consumer,
                const char *purpose, const char *record_type, int64_t time)
{
    (void) arg; (void) subject; (void) owner; (void) consumer;
    (void) purpose; (void) record_type; (void) time;
    return SL_CONSENT_VALID;
}

/*  The subject as the recipient sees it under the policy in force for the
 *  consent's scope: its pseudonym, the id itself, or "" when the policy
 *  drops it. */
static void
s_subject_seen (sl_govern_t *self, const sl_consent_record_t *r, const char *purpose,
                int64_t at, char *out, size_t size)
{
    const char *subject = sl_consent_record_subject (r);
    const char *owner = sl_consent_record_controller (r);
    const char *consumer = sl_consent_record_recipient (r);
    snprintf (out, size, "%s", subject);
    for (size_t i = 0; i < sl_schema_count (); i++) {
        const sl_schema_t *s = sl_schema_at (i);
        if (strcmp (s->owner, owner) != 0 || !sl_consent_record_covers (r, purpose, s->record_type))
            continue;
        sl_policy_request_t req = {
            .owner = owner, .consumer = consumer, .record_type = s->record_type,
            .purpose = purpose, .subject = subject, .time = at,
            .consent = s_assume_valid, .rows_checked = true,
        };
        sl_policy_decision_t d;
        if (sl_policy_decide (sl_policy_store_index (self->policy), &req, &d) != 0 || !d.permit)
            continue;
        if (d.transform.subject == SL_POLICY_SUBJECT_PSEUDONYMIZE) {
            const uint8_t *key = sl_govern__key (self, consumer);
            char p[SL_POLICY_PSEUDONYM_LEN + 1];
            if (key) {
                sl_policy_pseudonymize (key, subject, p);
                snprintf (out, size, "%s", p);
            }
        }
        else if (d.transform.subject == SL_POLICY_SUBJECT_DROP)
            out[0] = 0;
        return;
    }
}

static int
s_sent_before (sl_govern_t *self, const char *id, int64_t ended_at)
{
    for (size_t i = 0; i < self->n_sent; i++)
        if (self->sent[i].ended_at == ended_at && strcmp (self->sent[i].consent_id, id) == 0)
            return 1;
    s_sent_t *s = &self->sent[self->sent_at];
    self->sent_at = (self->sent_at + 1) % S_SENT_MAX;
    if (self->n_sent < S_SENT_MAX)
        self->n_sent++;
    snprintf (s->consent_id, sizeof s->consent_id, "%s", id);
    s->ended_at = ended_at;
    return 0;
}

static int
s_ended (const sl_consent_record_t *r, sl_consent_status_code_t why, int64_t ended_at, void *arg)
{
    sl_govern_t *self = arg;
    if (s_sent_before (self, sl_consent_record_id (r), ended_at))
        return 0;
    const char *kind = why == SL_CONSENT_STATUS_WITHDRAWN ? "consent-withdrawn" : "consent-expired";
    for (size_t p = 0; p < sl_consent_record_purpose_count (r); p++) {
        const char *purpose = sl_consent_record_purpose (r, p);
        char subject[128], at[24];
        s_subject_seen (self, r, purpose, ended_at, subject, sizeof subject);
        snprintf (at, sizeof at, "%lld", (long long) ended_at);
        const char *keys[] = { "subject", "owner", "purpose", "consent_id", "ended_at" };
        const char *vals[] = { subject, sl_consent_record_controller (r), purpose,
                               sl_consent_record_id (r), at };
        int sent = self->w.notice (self->w.ctx, sl_consent_record_recipient (r), kind,
                                  keys, vals, 5);
        sl_info ("consent.notice", "kind=%s consumer=%s owner=%s purpose=%s consent=%s sent=%d",
                 kind, sl_consent_record_recipient (r), sl_consent_record_controller (r),
                 purpose, sl_consent_record_id (r), sent);
    }
    return 0;
}

/*  Notices for consents whose access ended up to now. */
void
sl_govern__scan_ended (sl_govern_t *self, int64_t now_ms)
{
    /* [from, to) with to = now + 1 s: every end at or before the current
     * second, i.e. already passed (an end at second S means invalid from
     * S.000 on), never one still ahead */
    int64_t to = now_ms / 1000 + 1;
    int64_t from = self->scanned_to - 5; /* overlap: the sent list dedups */
    MDB_txn *txn;
    if (sl_store_read (self->w.store, &txn) != 0)
        return;
    int rc = sl_consent_each_ended (self->consent, txn, from, to, s_ended, self);
    mdb_txn_abort (txn);
    if (rc != 0)
        sl_warn ("consent.scan_failed", "error=\"%s\"", sl_strerror (rc));
    else
        self->scanned_to = to;
}

void
sl_govern__outcome (void *ctx, int committed)
{
    sl_govern_t *self = ctx;
    if (committed && self->scan_soon) {
        self->scan_soon = 0;
        sl_govern__scan_ended (self, sl_now_ms ());
    }
    else if (!committed)
        self->scan_soon = 0;
}

/*  sl_metrics_sample — the gauges the event loop samples for sl_metrics
 *  (sl_metrics.h note 3): per-consumer queue depth, oldest queued age,
 *  in-flight and lag; store use; audit head and checkpoint age; sessions by
 *  plane and role; members by role; policy version per owner; consents by
 *  state. One read transaction per sample; the result is one text block.
 */
#include "sl_metrics.h"
#include "sl_metrics_int.h"
#include "sl_mono.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_batch.h"
#include "sl_broker.h"
#include "sl_error.h"
#include "sl_govern.h"
#include "sl_policy_store.h"
#include "sl_queue.h"
#include "sl_registry.h"
#include "sl_session.h"
#include "sl_subs.h"
#include "sl_audit.h"
#include "sluice/v1/envelope.pb-c.h"

#define S_PERIOD_MS 1000


typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} s_text_t;

static void
s_out (s_text_t *t, const char *fmt, ...)
{
    while (!t->oom) {
        va_list ap;
        va_start (ap, fmt);
        int n = vsnprintf (t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
        va_end (ap);
        if (n < 0) {
            t->oom = 1;
            break;
        }
        if (t->p && (size_t) n < t->cap - t->len) {
            t->len += (size_t) n;
            break;
        }
        size_t cap = (t->cap + (size_t) n + 1) * 2;
        char *p = realloc (t->p, cap);
        if (!p) {
            t->oom = 1;
            break;
        }
        t->p = p;
        t->cap = cap;
    }
}

static void
s_head (s_text_t *t, const char *name, const char *type, const char *help)
{
    s_out (t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ---- oldest queued entry: when its publisher's record was accepted */

typedef struct {
    sl_store_t *store;
    MDB_txn *txn;
    int64_t accepted_ms;     /* 0 if unknown */
    int found;
} s_oldest_t;

static int
s_first (void *ctx, const sl_queue_entry_t *e)
{
    s_oldest_t *o = ctx;
    o->found = 1;
    Sluice__V1__RecordMeta *m = sluice__v1__record_meta__unpack (NULL, e->meta_len, e->meta);
    if (!m)
        return 1;
    if (m->owner && m->message_id.len == 16 && strlen (m->owner) <= 40) {
        unsigned char kb[64];
        size_t n = strlen (m->owner);
        memcpy (kb, m->owner, n);
        kb[n] = 0;
        memcpy (kb + n + 1, m->message_id.data, 16);
        MDB_val k = { n + 17, kb }, v;
        if (mdb_get (o->txn, sl_store_dbi (o->store, SL_DB_MSGIDS), &k, &v) == 0 && v.mv_size == 8)
            o->accepted_ms = (int64_t) sl_store_get_u64 (v.mv_data);
    }
    if (!o->accepted_ms && m->event_time > 0)
        o->accepted_ms = m->event_time;
    sluice__v1__record_meta__free_unpacked (m, NULL);
    return 1;
}

/* ---- policy versions */

static int
s_policy (void *arg, const char *owner, uint32_t current)
{
    s_out (arg, "sluice_policy_version{owner=\"%s\"} %u\n", owner, current);
    return 0;
}

/* ---- consents by state (the consent registry counts them: sl_consent.h) */

static void
s_consents (s_text_t *t, sl_consent_t *reg, MDB_txn *txn, int64_t now_s)
{
    uint64_t active, expired, withdrawn;
    if (!reg || sl_consent_count_states (reg, txn, now_s, &active, &expired, &withdrawn) != 0)
        return;
    s_head (t, "sluice_consents", "gauge",
            "Consent records by state: active (not withdrawn, not past valid_to), expired, withdrawn.");
    s_out (t, "sluice_consents{state=\"active\"} %llu\nsluice_consents{state=\"expired\"} %llu\n"
              "sluice_consents{state=\"withdrawn\"} %llu\n", (unsigned long long) active,
           (unsigned long long) expired, (unsigned long long) withdrawn);
}

/* ---- roles */

static const char *
s_role_label (const char *role)
{
    /* admin:<bureau> roles are one label value each (bureau names, no subject) */
    return role && *role ? role : "unknown";
}

static void
s_sample (sl_metrics_t *self, sl_broker_t *b, int64_t now_ms)
{
    s_text_t t = { 0 };
    sl_store_t *store = sl_broker_store (b);
    sl_sessions_t *ss = sl_broker_sessions (b);
    sl_registry_t *reg = sl_broker_registry (b);
    sl_subs_t *subs = sl_broker_subs (b);
    char why[160] = "";

    s_head (&t, "sluice_build_info", "gauge", "Always 1; the version label says which sluiced runs.");
    s_out (&t, "sluice_build_info{version=\"%s\"} 1\n", SLUICE_VERSION);
    s_head (&t, "sluice_start_time_seconds", "gauge", "When this sluiced started (Unix seconds).");
    s_out (&t, "sluice_start_time_seconds %.3f\n", (double) sl_broker_started_ms (b) / 1000.0);

    /* store */
    size_t used = 0, cap = 0;
    int store_ok = sl_store_usage (store, &used, &cap) == 0;
    MDB_envinfo ei;
    mdb_env_info (sl_store_env (store), &ei);
    s_head (&t, "sluice_store_used_bytes", "gauge",
            "Bytes in LMDB pages the last committed transaction uses (free-list pages count as free).");
    s_out (&t, "sluice_store_used_bytes %zu\n", used);
    s_head (&t, "sluice_store_capacity_bytes", "gauge",
            "What the store can grow to: the map size, or less when the filesystem cannot hold it.");
    s_out (&t, "sluice_store_capacity_bytes %zu\n", cap);
    s_head (&t, "sluice_store_map_bytes", "gauge", "The configured LMDB map size (map_size_mb).");
    s_out (&t, "sluice_store_map_bytes %zu\n", ei.me_mapsize);
    s_head (&t, "sluice_batch_pending", "gauge", "Operations waiting in the open group commit.");
    s_out (&t, "sluice_batch_pending %u\n", sl_batch_pending (sl_broker_batch (b)));
    size_t withheld;
    uint64_t withheld_total;
    sl_broker_overload_stats (b, &withheld, &withheld_total);
    s_head (&t, "sluice_acks_withheld", "gauge",
            "Publisher ACKs (durable) held back by the overload push-back now.");
    s_out (&t, "sluice_acks_withheld %zu\n", withheld);
    s_head (&t, "sluice_acks_withheld_total", "counter",
            "Publisher ACKs held back by the overload push-back since start.");
    s_out (&t, "sluice_acks_withheld_total %llu\n", (unsigned long long) withheld_total);
    if (!store_ok)
        snprintf (why, sizeof why, "the store's fill level cannot be read");
    else if (sl_batch_last_rc (sl_broker_batch (b)) != 0) {
        store_ok = 0;
        snprintf (why, sizeof why, "the last group commit failed (%s)",
                  sl_strerror (sl_batch_last_rc (sl_broker_batch (b))));
    }
    else if (cap && used >= cap) {
        store_ok = 0;
        snprintf (why, sizeof why, "the store is full (%zu of %zu bytes)", used, cap);
    }

    /* audit */
    sl_audit_t *audit = sl_broker_audit (b);
    int signing_ok = audit != NULL;
    if (!signing_ok && !why[0])
        snprintf (why, sizeof why, "the audit log and its signing key are not loaded");
    if (audit) {
        int64_t cp_us = 0;
        uint64_t head = sl_audit_head (audit, NULL);
        uint64_t cp = sl_audit_last_checkpoint (audit, &cp_us);
        int64_t since = cp_us > 0 ? cp_us / 1000 : sl_broker_started_ms (b);
        s_head (&t, "sluice_audit_head_seq", "gauge", "Sequence number of the last committed audit entry.");
        s_out (&t, "sluice_audit_head_seq %llu\n", (unsigned long long) head);
        s_head (&t, "sluice_audit_checkpoint_seq", "gauge", "Sequence number the last signed checkpoint covers.");
        s_out (&t, "sluice_audit_checkpoint_seq %llu\n", (unsigned long long) cp);
        s_head (&t, "sluice_audit_unsigned_entries", "gauge",
                "Audit entries after the last signed checkpoint.");
        s_out (&t, "sluice_audit_unsigned_entries %llu\n",
               (unsigned long long) (head > cp ? head - cp : 0));
        s_head (&t, "sluice_audit_checkpoint_age_seconds", "gauge",
                "Seconds since the last signed checkpoint (since start if there is none).");
        s_out (&t, "sluice_audit_checkpoint_age_seconds %.3f\n",
               (double) (now_ms - since) / 1000.0);
    }

    /* sessions by plane and role; members by role */
    s_head (&t, "sluice_sessions", "gauge",
            "Authenticated connections, by plane, role and the broker key they came through "
            "(current, or next during a broker key rollover).");
    for (int plane = 0; plane < 2; plane++)
        for (int next = 0; next < 2; next++) {
            /* count per distinct role, in order of first sight */
            const char *roles[64];
            unsigned counts[64];
            size_t nr = 0;
            for (size_t i = 0; i < sl_sessions_count (ss); i++) {
                sl_session_t *s = sl_sessions_at (ss, i);
                if ((int) s->plane != plane || s->broker_next != next)
                    continue;
                const sl_member_t *m = sl_registry_by_name (reg, s->member);
                const char *r = s_role_label (m ? m->role : NULL);
                size_t j = 0;
                while (j < nr && strcmp (roles[j], r) != 0)
                    j++;
                if (j == nr && nr < 64) {
                    roles[nr] = r;
                    counts[nr++] = 0;
                }
                if (j < nr)
                    counts[j]++;
            }
            for (size_t j = 0; j < nr; j++)
                s_out (&t, "sluice_sessions{plane=\"%s\",role=\"%s\",broker_key=\"%s\"} %u\n",
                       plane == SL_PLANE_DATA ? "data" : "admin", roles[j],
                       next ? "next" : "current", counts[j]);
        }
    s_head (&t, "sluice_members", "gauge", "Registered members, by role and state.");
    {
        const char *roles[128];
        unsigned act[128], rev[128];
        size_t nr = 0;
        for (size_t i = 0; i < sl_registry_count (reg); i++) {
            const sl_member_t *m = sl_registry_at (reg, i);
            size_t j = 0;
            while (j < nr && strcmp (roles[j], m->role) != 0)
                j++;
            if (j == nr && nr < 128) {
                roles[nr] = m->role;
                act[nr] = rev[nr] = 0;
                nr++;
            }
            if (j < nr)
                (m->revoked ? rev : act)[j]++;
        }
        for (size_t j = 0; j < nr; j++)
            s_out (&t, "sluice_members{role=\"%s\",state=\"active\"} %u\n"
                       "sluice_members{role=\"%s\",state=\"revoked\"} %u\n",
                   roles[j], act[j], roles[j], rev[j]);
    }

    MDB_txn *txn = NULL;
    if (sl_store_read (store, &txn) == 0) {
        /* consumers: those with a subscription, as `status` lists them */
        s_text_t d = { 0 }, a = { 0 }, f = { 0 }, l = { 0 }, c = { 0 };
        for (size_t i = 0; i < sl_subs_count (subs); i++) {
            const char *con = sl_subs_at (subs, i)->consumer;
            int seen = 0;
            for (size_t j = 0; j < i && !seen; j++)
                seen = strcmp (sl_subs_at (subs, j)->consumer, con) == 0;
            if (seen)
                continue;
            long depth = sl_queue_depth (sl_broker_queue (b), txn, con);
            if (depth < 0)
                depth = 0;
            s_oldest_t o = { store, txn, 0, 0 };
            sl_queue_scan (sl_broker_queue (b), txn, con, 0, s_first, &o);
            double age = o.found && o.accepted_ms ? (double) (now_ms - o.accepted_ms) / 1000.0 : 0;
            if (age < 0)
                age = 0;
            sl_session_t *s = sl_sessions_of (ss, con);
            size_t inflight = s ? s->n_inflight : 0;
            s_out (&d, "sluice_queue_depth{consumer=\"%s\"} %ld\n", con, depth);
            s_out (&a, "sluice_queue_oldest_age_seconds{consumer=\"%s\"} %.3f\n", con, age);
            s_out (&f, "sluice_consumer_inflight{consumer=\"%s\"} %zu\n", con, inflight);
            s_out (&l, "sluice_consumer_lag_records{consumer=\"%s\"} %ld\n", con,
                   depth > (long) inflight ? depth - (long) inflight : 0);
            s_out (&c, "sluice_consumer_connected{consumer=\"%s\"} %d\n", con, s != NULL);
        }
        s_head (&t, "sluice_queue_depth", "gauge", "Records queued for a consumer (delivered but unacknowledged ones included).");
        s_out (&t, "%s", d.p ? d.p : "");
        s_head (&t, "sluice_queue_oldest_age_seconds", "gauge",
                "Age of the oldest record in a consumer's queue, from when the broker accepted it; 0 when empty.");
        s_out (&t, "%s", a.p ? a.p : "");
        s_head (&t, "sluice_consumer_inflight", "gauge", "Records delivered to a consumer and not yet acknowledged.");
        s_out (&t, "%s", f.p ? f.p : "");
        s_head (&t, "sluice_consumer_lag_records", "gauge",
                "Records queued for a consumer and not yet delivered (queue depth minus in-flight).");
        s_out (&t, "%s", l.p ? l.p : "");
        s_head (&t, "sluice_consumer_connected", "gauge", "1 when the consumer has a current data-plane session.");
        s_out (&t, "%s", c.p ? c.p : "");
        t.oom |= d.oom | a.oom | f.oom | l.oom | c.oom;
        free (d.p);
        free (a.p);
        free (f.p);
        free (l.p);
        free (c.p);

        s_head (&t, "sluice_policy_version", "gauge", "The version of each owner's policy in force.");
        sl_policy_store_each_owner (sl_broker_policy (b), txn, s_policy, &t);
        s_consents (&t, sl_broker_consent (b), txn, now_ms / 1000);
        mdb_txn_commit (txn);   /* read-only: keeps the db handles opened above */
    }
    if (t.oom) {
        free (t.p);
        return;
    }
    sl_metrics__publish_sample (self, t.p, now_ms, store_ok, signing_ok, why);
}


long
sl_metrics_tick (sl_metrics_t *self, sl_broker_t *broker, int64_t now_ms)
{
    if (!self)
        return -1;
    int64_t *next = sl_metrics__next_sample (self);
    if (now_ms < *next)
        return (long) (*next - now_ms);
    int64_t t0 = (int64_t) (sl_mono_ns () / 1000);
    s_sample (self, broker, now_ms);
    int64_t cost_us = (int64_t) (sl_mono_ns () / 1000) - t0, cost_ms = cost_us / 1000;
    sl_metrics__sample_cost (self, cost_us);
    /* at most ~1% of the loop: a 30 ms sample waits 3 s */
    int64_t period = cost_ms * 100 > S_PERIOD_MS ? cost_ms * 100 : S_PERIOD_MS;
    *next = now_ms + period;
    return (long) period;
}

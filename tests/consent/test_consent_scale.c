/*  sl_consent at scale: a million consents load in big transactions, and a
 *  decision is answered by index lookups, not a scan — proved with the
 *  registry's LMDB operation counters, which must not grow with n. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "tl.h"
#include "sl_error.h"

#define N_CONSENTS  1000000
#define PER_TXN     250000
#define N_LOOKUPS   20000

static fx_t fx;

static void setup (void) { fx_open (&fx, (size_t) 3 << 30, MDB_NOSYNC | MDB_WRITEMAP); }
static void teardown (void) { fx_close (&fx); }

TestSuite (scale, .init = setup, .fini = teardown, .timeout = 120);

/*  Consent i: subject CIT-<i>, half with an expiry, every 10th for two purposes. */
static void
s_event (fx_event_t *e, char *id, char *subject, size_t i)
{
    snprintf (id, 16, "k%07zu", i);
    snprintf (subject, 24, "CIT-%07zu", (i * 7919) % N_CONSENTS);   /* not in id order */
    fx_grant (e, id, subject, 1000, i % 2 ? 0 : 1000000 + (int64_t) i);
    e->ev.evidence = "";
    e->ev.jurisdiction = "";
    if (i % 10 == 0) {
        e->purposes[1] = "billing";
        e->ev.n_purposes = 2;
    }
}

Test (scale, million_consents_decide_by_index_lookups)
{
    double t0 = tl_ms () / 1e3;
    for (size_t base = 0; base < N_CONSENTS; base += PER_TXN) {
        MDB_txn *txn = fx_write (&fx);
        for (size_t i = base; i < base + PER_TXN; i++) {
            fx_event_t e;
            char id[16], subject[24];
            sl_consent_result_t r;
            s_event (&e, id, subject, i);
            int rc = sl_consent_apply (fx.registry, txn, &e.ev, &fx_app, 1000, &r, NULL);
            if (rc)
                cr_assert_fail ("consent %zu: %s", i, r.error);
        }
        fx_commit (txn);
    }
    double load = tl_ms () / 1e3 - t0;

    MDB_txn *txn = fx_read (&fx);
    MDB_dbi index;
    MDB_stat st;
    cr_assert_eq (mdb_dbi_open (txn, "consent.index", 0, &index), 0);
    cr_assert_eq (mdb_stat (txn, index, &st), 0);
    cr_assert_eq (st.ms_entries, N_CONSENTS + N_CONSENTS / 10);
    cr_assert_geq (st.ms_depth, 3, "a tree this size has several levels");

    /* Each decision: one positioning on consent.index, one record read per
     * consent of that (subject, controller, recipient, purpose) — here one. */
    sl_consent_stats_reset (fx.registry);
    size_t valid = 0, expired = 0;
    double t1 = tl_ms () / 1e3;
    for (size_t k = 0; k < N_LOOKUPS; k++) {
        size_t i = (k * 104729) % N_CONSENTS;
        char subject[24];
        snprintf (subject, sizeof subject, "CIT-%07zu", (i * 7919) % N_CONSENTS);
        sl_consent_decision_t d;
        sl_consent_stats_t before, after;
        sl_consent_stats (fx.registry, &before);
        int rc = sl_consent_check (fx.registry, txn, subject, "health", "parking",
                                   "parking-fee-waiver", "health.v1.Encounter",
                                   1500000, &d);
        sl_consent_stats (fx.registry, &after);
        cr_assert_eq (rc, 0);
        char id[16];
        snprintf (id, sizeof id, "k%07zu", i);
        cr_assert_str_eq (d.consent_id, id);
        if (d.status == SL_CONSENT_STATUS_VALID)
            valid++;
        else if (d.status == SL_CONSENT_STATUS_EXPIRED)
            expired++;
        /* VALID stops at the first covering consent; EXPIRED looks one step on */
        cr_assert_leq (after.cursor_ops - before.cursor_ops, 2, "lookup %zu", k);
        cr_assert_eq (after.gets - before.gets, 1, "lookup %zu", k);
    }
    double lookups = tl_ms () / 1e3 - t1;
    cr_assert_eq (valid + expired, N_LOOKUPS);
    cr_assert_gt (valid, 0);
    cr_assert_gt (expired, 0);

    /* a subject with no consent costs one positioning and no record read */
    sl_consent_stats_reset (fx.registry);
    sl_consent_decision_t d;
    cr_assert_eq (sl_consent_check (fx.registry, txn, "CIT-nobody", "health", "parking",
                                    "parking-fee-waiver", "health.v1.Encounter", 1500000, &d), 0);
    cr_assert_eq (d.status, SL_CONSENT_STATUS_MISSING);
    sl_consent_stats_t s;
    sl_consent_stats (fx.registry, &s);
    cr_assert_eq (s.cursor_ops, 1);
    cr_assert_eq (s.gets, 0);
    mdb_txn_abort (txn);

    MDB_envinfo info;
    MDB_stat env_stat;
    cr_assert_eq (mdb_env_info (fx.env, &info), 0);
    cr_assert_eq (mdb_env_stat (fx.env, &env_stat), 0);
    double mib = (double) (info.me_last_pgno + 1) * env_stat.ms_psize / (1 << 20);
    fprintf (stderr, "consent scale: loaded %d consents in %.2f s (%.1f us each), "
             "%.0f MiB; %d decisions in %.3f s (%.2f us each)\n",
             N_CONSENTS, load, load * 1e6 / N_CONSENTS, mib, N_LOOKUPS, lookups,
             lookups * 1e6 / N_LOOKUPS);
}

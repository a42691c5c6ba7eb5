/*  bench_audit — how fast the audit log is written and verified.
 *
 *  usage: bench_audit [N]   (default 1000000)
 *
 *  Builds N typical entries in a fresh data directory (transactions of
 *  10,000 entries, a checkpoint every 10,000), then times sl_audit_verify
 *  and, as the baseline measured in the same run, BLAKE2b-256 alone over the
 *  same stored values. Prints entries/s for each and the ratio.
 */
#include "bench_audit_fill.h"
#include "sl_mono.h"
#include "sl_error.h"

#include <sodium.h>

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int s_rm (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

/*  A typical entry: water records delivered to power. */
static void
s_entry (uint64_t i, char *subject, sl_audit_event_t *ev)
{
    snprintf (subject, 32, "CITIZEN-%06" PRIu64, i % 100000);
    *ev = (sl_audit_event_t) { .kind = "deliver", .actor = "water", .counterpart = "power",
                               .owner = "water", .record_type = "water.v1.MeterReading",
                               .purpose = "joint-metering", .decision = "permit",
                               .rules = "water-to-power-joint-metering@3",
                               .fields = "district,date_observed,water_consumption_m3" };
}

int main (int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull (argv[1], NULL, 10) : 1000000;
    if (n == 0) {
        fprintf (stderr, "usage: bench_audit [N > 0]\n");
        return 2;
    }
    char dir[] = "/tmp/sl-audit-bench-XXXXXX", err[256] = "";
    if (!mkdtemp (dir) || sl_audit_keygen (dir, err, sizeof err)) {
        fprintf (stderr, "bench_audit: %s\n", err);
        return 1;
    }
    MDB_env *env;
    mdb_env_create (&env);
    mdb_env_set_maxdbs (env, 64);
    mdb_env_set_mapsize (env, (size_t) (n / 1000000 + 1) << 30);
    int rc = mdb_env_open (env, dir, MDB_NOTLS | MDB_NOSYNC, 0600);
    sl_audit_t *a = rc ? NULL : sl_audit_open (env, dir, 0, err, sizeof err);
    if (!a) {
        fprintf (stderr, "bench_audit: %s\n", rc ? mdb_strerror (rc) : err);
        return 1;
    }
    double t0 = sl_mono_s ();
    rc = bench_audit_fill (env, a, n, s_entry);
    double t1 = sl_mono_s ();
    if (rc) {
        fprintf (stderr, "bench_audit: append: %s\n", rc < 0 ? sl_strerror (rc) : mdb_strerror (rc));
        return 1;
    }

    /* baseline: hash every stored value once, nothing else */
    MDB_txn *txn;
    MDB_dbi db;
    MDB_cursor *c;
    MDB_val k, v;
    uint8_t h[32];
    uint64_t bytes = 0, count = 0;
    mdb_txn_begin (env, NULL, MDB_RDONLY, &txn);
    mdb_dbi_open (txn, "audit.log", 0, &db);
    mdb_cursor_open (txn, db, &c);
    double t2 = sl_mono_s ();
    for (int r = mdb_cursor_get (c, &k, &v, MDB_FIRST); r == 0; r = mdb_cursor_get (c, &k, &v, MDB_NEXT)) {
        crypto_generichash (h, 32, v.mv_data, v.mv_size, NULL, 0);
        bytes += v.mv_size;
        count++;
    }
    double t3 = sl_mono_s ();
    mdb_cursor_close (c);
    mdb_txn_abort (txn);

    sl_audit_report_t rep;
    double t4 = sl_mono_s ();
    rc = sl_audit_verify (env, sl_audit_pubkey (a), NULL, &rep);
    double t5 = sl_mono_s ();
    if (rc) {
        fprintf (stderr, "bench_audit: verify: %s\n", rep.message);
        return 1;
    }
    double ver = (double) rep.entries / (t5 - t4), base = (double) count / (t3 - t2);
    printf ("audit entries          %" PRIu64 " (mean %.0f bytes)\n", count, (double) bytes / (double) count);
    printf ("audit append           %.0f entries/s (transactions of 10000, MDB_NOSYNC)\n",
            (double) n / (t1 - t0));
    printf ("blake2b+cursor (base)  %.0f entries/s\n", base);
    printf ("audit verify           %.0f entries/s (%" PRIu64 " checkpoints)\n", ver, rep.checkpoints);
    printf ("verify / baseline      %.2f\n", ver / base);
    printf ("target >= 1000000 entries/s: %s\n", ver >= 1e6 ? "met" : "NOT met");
    sl_audit_destroy (&a);
    mdb_env_close (env);
    nftw (dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

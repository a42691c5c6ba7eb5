/*  sluicectl audit offline (--data DIR) on data directories written with the
 *  audit library directly, the way sluiced lays them out (DIR/store = the
 *  LMDB environment, DIR/audit-*.key|pub): a log of a million entries
 *  (query with a narrow filter, verify), and tampering that verify names.
 */
#include "audit_flip.h"
#include "harness.h"
#include "tl.h"
#include "sl_audit.h"
#include "sl_error.h"

#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define T0 1795878000000000LL            /* 2026-11-28 15:00:00 UTC, in µs */

static const char *
s_ctl (void)
{
    return tb_program ("SLUICECTL");
}

static int64_t
s_ms (void)
{
    struct timeval tv;
    gettimeofday (&tv, NULL);
    return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static MDB_env *
s_env (const char *dir, int rdonly)
{
    char path[400];
    snprintf (path, sizeof path, "%s/store", dir);
    mkdir (path, 0700);
    MDB_env *env;
    cr_assert_eq (mdb_env_create (&env), 0);
    mdb_env_set_maxdbs (env, 64);
    mdb_env_set_mapsize (env, (size_t) 2 << 30);
    int rc = mdb_env_open (env, path, MDB_NOTLS | MDB_NOSYNC | (rdonly ? MDB_RDONLY : 0), 0600);
    cr_assert_eq (rc, 0, "%s: %s", path, mdb_strerror (rc));
    return env;
}

/*  Writes `n` entries in big transactions: every 1000th is a deliver of
 *  parking.v1.Session to 'health' for subject 'P-rare', the rest are water
 *  deliveries to power for many subjects; a checkpoint every 50,000. */
static void
s_build (char *dir, size_t size, uint64_t n)
{
    snprintf (dir, size, "/tmp/sl-audit-offline-XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
    char err[256] = "";
    cr_assert_eq (sl_audit_keygen (dir, err, sizeof err), 0, "%s", err);
    MDB_env *env = s_env (dir, 0);
    sl_audit_t *a = sl_audit_open (env, dir, 0, err, sizeof err);
    cr_assert_not_null (a, "%s", err);
    uint64_t i = 0;
    char subj[32];
    while (i < n) {
        MDB_txn *txn;
        cr_assert_eq (mdb_txn_begin (env, NULL, 0, &txn), 0);
        for (uint64_t j = 0; j < 100000 && i < n; j++, i++) {
            int rare = i % 1000 == 999;
            snprintf (subj, sizeof subj, "W-%06" PRIu64, i % 50000);
            sl_audit_event_t ev = {
                .time_us = T0 + (int64_t) i * 1000, .kind = "deliver",
                .actor = rare ? "parking" : "water", .counterpart = rare ? "health" : "power",
                .owner = rare ? "parking" : "water",
                .record_type = rare ? "parking.v1.Session" : "water.v1.MeterReading",
                .subject = rare ? "P-rare" : subj, .purpose = rare ? "visit-check" : "joint-metering",
                .decision = "permit", .rules = rare ? "parking-to-health@2" : "water-to-power@3",
                .fields = "district,date_observed",
            };
            cr_assert_eq (sl_audit_append (a, txn, &ev, NULL), 0);
            if ((i + 1) % 50000 == 0)
                cr_assert_eq (sl_audit_checkpoint (a, txn, T0 + (int64_t) i * 1000), 0);
        }
        cr_assert_eq (mdb_txn_commit (txn), 0);
        sl_audit_after_commit (a);
    }
    sl_audit_destroy (&a);
    mdb_env_close (env);
}

static void
s_rmrf (const char *dir)
{
    if (tl_rm_rf (dir) != 0)
        fprintf (stderr, "could not remove %s\n", dir);
}

/*  Changes one byte of entry `seq` in place. */
static void
s_flip (const char *dir, uint64_t seq, size_t offset)
{
    MDB_env *env = s_env (dir, 0);
    audit_flip (env, seq, offset);
    mdb_env_close (env);
}

Test (audit_offline, million_entries_query_and_verify, .timeout = 120)
{
    char dir[256], cmd[1024], out[1 << 16];
    int64_t t = s_ms ();
    s_build (dir, sizeof dir, 1000000);
    int64_t built = s_ms () - t;

    t = s_ms ();
    snprintf (cmd, sizeof cmd, "'%s' audit query --data '%s' --record parking.v1.Session "
              "--consumer health --since 2026-11-28T15:10:00Z --until 2026-11-28T15:11:00Z 2>&1",
              s_ctl (), dir);
    int rc = tb_run (cmd, out, sizeof out);
    int64_t query_ms = s_ms () - t;
    cr_assert_eq (rc, 0, "%s", out);
    /* entry seq s is written at T0 + (s - 1) ms, so seqs 600,001..660,000
       fall in that minute; the rare ones are the multiples of 1000 */
    int rows = 0;
    for (char *p = out; (p = strstr (p, "parking.v1.Session")); p++)
        rows++;
    cr_assert_eq (rows, 60, "expected 60 rows, got %d:\n%.2000s", rows, out);
    cr_assert (strstr (out, "\n601000 ") && strstr (out, "\n660000 "), "%.1500s", out);
    cr_assert (strstr (out, "parking-to-health@2"));

    /* the subject filter looks the raw id up by its pseudonym */
    snprintf (cmd, sizeof cmd, "'%s' audit query --data '%s' --subject P-rare --limit 5 --json",
              s_ctl (), dir);
    cr_assert_eq (tb_run (cmd, out, sizeof out), 0, "%s", out);
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    cr_assert_eq (lines, 5, "%s", out);
    cr_assert (strstr (out, "\"seq\":1000,") && strstr (out, "\"record_type\":\"parking.v1.Session\""),
               "%.800s", out);
    cr_assert_null (strstr (out, "P-rare"), "a raw subject id is in the output");

    t = s_ms ();
    snprintf (cmd, sizeof cmd, "'%s' audit verify --data '%s' 2>/dev/null", s_ctl (), dir);
    rc = tb_run (cmd, out, sizeof out);
    int64_t verify_ms = s_ms () - t;
    cr_assert_eq (rc, 0, "%s", out);
    cr_assert (strstr (out, "OK: 1000000 entries (seq 1..1000000), 20 checkpoint signatures"),
               "%s", out);
    fprintf (stderr, "1M entries: build %" PRId64 " ms, query %" PRId64 " ms, verify %" PRId64
             " ms\n", built, query_ms, verify_ms);
    s_rmrf (dir);
}

Test (audit_offline, one_changed_byte_names_the_seq)
{
    char dir[256], cmd[1024], out[8192];
    s_build (dir, sizeof dir, 3000);
    snprintf (cmd, sizeof cmd, "'%s' audit verify --data '%s' 2>&1", s_ctl (), dir);
    cr_assert_eq (tb_run (cmd, out, sizeof out), 0, "%s", out);
    cr_assert (strstr (out, "OK: 3000 entries"), "%s", out);

    /* a copy verifies the same; then one byte of entry 1234 (inside its
       kind text, offset 51) changes in the copy */
    char copy[300];
    snprintf (copy, sizeof copy, "%s-copy", dir);
    snprintf (cmd, sizeof cmd, "cp -a '%s' '%s'", dir, copy);
    cr_assert_eq (system (cmd), 0);
    s_flip (copy, 1234, 51);
    snprintf (cmd, sizeof cmd, "'%s' audit verify --data '%s' 2>&1", s_ctl (), copy);
    int rc = tb_run (cmd, out, sizeof out);
    cr_assert_eq (rc, 1, "verify of a changed log exited %d: %s", rc, out);
    cr_assert (strstr (out, "FAILED at seq 1234 (hash)"), "%s", out);

    /* --json says the same for a program */
    snprintf (cmd, sizeof cmd, "'%s' audit verify --json --data '%s' 2>&1", s_ctl (), copy);
    rc = tb_run (cmd, out, sizeof out);
    cr_assert_eq (rc, 1);
    cr_assert (strstr (out, "\"ok\":\tfalse") || strstr (out, "\"ok\": false")
               || strstr (out, "\"ok\":false"), "%s", out);
    cr_assert (strstr (out, "1234"), "%s", out);

    /* the public key comes from --pubkey when given: a wrong key fails the
       first checkpoint signature (a checkpoint every 50,000: none here, so
       use the key of another log) */
    snprintf (cmd, sizeof cmd, "'%s' audit pubkey --data '%s'", s_ctl (), dir);
    cr_assert_eq (tb_run (cmd, out, sizeof out), 0);
    cr_assert_eq (strlen (out), 65, "%s", out);
    s_rmrf (dir);
    s_rmrf (copy);
}

Test (audit_offline, bad_data_dir_is_named)
{
    char cmd[600], out[4096];
    snprintf (cmd, sizeof cmd, "'%s' audit verify --data /nonexistent/sluice 2>&1", s_ctl ());
    int rc = tb_run (cmd, out, sizeof out);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert (strstr (out, "/nonexistent/sluice"), "%s", out);
}

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

#define T0 1795878000000000LL            /* 2026-11-28 15:00:00 UTC, in µs */

/*  Entry i: every 1000th is a deliver of parking.v1.Session to 'health'
 *  for subject 'P-rare', the rest are water deliveries to power for many
 *  subjects. */
static void
s_event (uint64_t i, sl_audit_event_t *ev)
{
    static char subj[32];
    int rare = i % 1000 == 999;
    snprintf (subj, sizeof subj, "W-%06" PRIu64, i % 50000);
    ev->kind = "deliver";
    ev->actor = ev->owner = rare ? "parking" : "water";
    ev->counterpart = rare ? "health" : "power";
    ev->record_type = rare ? "parking.v1.Session" : "water.v1.MeterReading";
    ev->subject = rare ? "P-rare" : subj;
    ev->purpose = rare ? "visit-check" : "joint-metering";
    ev->decision = "permit";
    ev->rules = rare ? "parking-to-health@2" : "water-to-power@3";
    ev->fields = "district,date_observed";
}

/*  Writes `n` entries of s_event in big transactions, a checkpoint every
 *  50,000. */
static void
s_build (char *dir, size_t size, uint64_t n)
{
    audit_build (dir, size, "sl-audit-offline", n, 50000, T0, s_event);
}

static void
s_rmrf (const char *dir)
{
    if (tl_rm_rf (dir) != 0)
        fprintf (stderr, "could not remove %s\n", dir);
}

Test (audit_offline, million_entries_query_and_verify, .timeout = 120)
{
    char dir[256], out[1 << 16];
    int64_t t = tl_ms ();
    s_build (dir, sizeof dir, 1000000);
    int64_t built = tl_ms () - t;

    t = tl_ms ();
    int rc = audit_ctl (out, sizeof out, "audit query --data '%s' --record parking.v1.Session "
                        "--consumer health --since 2026-11-28T15:10:00Z --until 2026-11-28T15:11:00Z 2>&1",
                        dir);
    int64_t query_ms = tl_ms () - t;
    cr_assert_eq (rc, 0, "%s", out);
    /* entry seq s is written at T0 + (s - 1) ms, so seqs 600,001..660,000
       fall in that minute; the rare ones are the multiples of 1000 */
    int rows = tl_count (out, "parking.v1.Session");
    cr_assert_eq (rows, 60, "expected 60 rows, got %d:\n%.2000s", rows, out);
    cr_assert (strstr (out, "\n601000 ") && strstr (out, "\n660000 "), "%.1500s", out);
    cr_assert (strstr (out, "parking-to-health@2"));

    /* the subject filter looks the raw id up by its pseudonym */
    cr_assert_eq (audit_ctl (out, sizeof out, "audit query --data '%s' --subject P-rare --limit 5 --json",
                             dir), 0, "%s", out);
    cr_assert_eq (tl_count (out, "\n"), 5, "%s", out);
    cr_assert (strstr (out, "\"seq\":1000,") && strstr (out, "\"record_type\":\"parking.v1.Session\""),
               "%.800s", out);
    cr_assert_null (strstr (out, "P-rare"), "a raw subject id is in the output");

    t = tl_ms ();
    rc = audit_ctl (out, sizeof out, "audit verify --data '%s' 2>/dev/null", dir);
    int64_t verify_ms = tl_ms () - t;
    cr_assert_eq (rc, 0, "%s", out);
    cr_assert (strstr (out, "OK: 1000000 entries (seq 1..1000000), 20 checkpoint signatures"),
               "%s", out);
    fprintf (stderr, "1M entries: build %" PRId64 " ms, query %" PRId64 " ms, verify %" PRId64
             " ms\n", built, query_ms, verify_ms);
    s_rmrf (dir);
}

Test (audit_offline, one_changed_byte_names_the_seq)
{
    char dir[256], out[8192];
    s_build (dir, sizeof dir, 3000);
    TL_EXPECT (audit_ctl (out, sizeof out, "audit verify --data '%s' 2>&1", dir), 0, out, "OK: 3000 entries");

    /* a copy verifies the same; then one byte of entry 1234 (inside its
       kind text, offset 51) changes in the copy */
    char copy[300];
    snprintf (copy, sizeof copy, "%s-copy", dir);
    cr_assert_eq (tl_sh (NULL, 0, "cp -a '%s' '%s'", dir, copy), 0);
    audit_flip (copy, 1234, 51);
    int rc = audit_ctl (out, sizeof out, "audit verify --data '%s' 2>&1", copy);
    cr_assert_eq (rc, 1, "verify of a changed log exited %d: %s", rc, out);
    TL_HAS (out, "FAILED at seq 1234 (hash)");

    /* --json says the same for a program */
    cr_assert_eq (audit_ctl (out, sizeof out, "audit verify --json --data '%s' 2>&1", copy), 1);
    cr_assert (strstr (out, "\"ok\":\tfalse") || strstr (out, "\"ok\": false")
               || strstr (out, "\"ok\":false"), "%s", out);
    TL_HAS (out, "1234");

    /* the public key comes from --pubkey when given: a wrong key fails the
       first checkpoint signature (a checkpoint every 50,000: none here, so
       use the key of another log) */
    cr_assert_eq (audit_ctl (out, sizeof out, "audit pubkey --data '%s'", dir), 0);
    cr_assert_eq (strlen (out), 65, "%s", out);
    s_rmrf (dir);
    s_rmrf (copy);
}

Test (audit_offline, bad_data_dir_is_named)
{
    char out[4096];
    TL_EXPECT (audit_ctl (out, sizeof out, "audit verify --data %s 2>&1", "/nonexistent/sluice"),
               1, out, "/nonexistent/sluice");
}

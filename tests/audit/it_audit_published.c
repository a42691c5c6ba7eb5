/*  sluicectl audit verify --published (AUDIT.md 8.1): a log whose tail was
 *  cut off, whose head record was rewritten to match and whose last
 *  checkpoint was dropped verifies on its own; a checkpoint published
 *  elsewhere catches it. */
#include "audit_flip.h"
#include "harness.h"
#include "sl_audit.h"

#include <criterion/criterion.h>
#include <sodium.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1795878000000000LL

static char dir[256];

static void
s_event (uint64_t i, sl_audit_event_t *ev)
{
    (void) i;
    ev->kind = "deliver";
    ev->actor = ev->owner = "water";
    ev->counterpart = "power";
    ev->subject = "C-1";
    ev->decision = "permit";
    ev->rules = "w2p@1";
    ev->fields = "district";
}

/*  1000 entries, a checkpoint every 100 (the last at 1000). */
static void
s_build (void)
{
    audit_build (dir, sizeof dir, "sl-audit-pub", 1000, 100, T0, s_event);
}

static void
s_rm_dir (void)
{
    cr_assert_eq (tl_rm_rf (dir), 0, "could not remove %s", dir);
}

/*  The attack: entries and checkpoints after `keep` deleted, the head
 *  record rewritten to (keep, hash(keep)), so the log is consistent. */
static void
s_cut_tail (uint64_t keep)
{
    MDB_env *env = audit_env (dir, 0);
    MDB_dbi log, cps, meta;
    MDB_txn *txn = audit_write_txn (env, &log, &cps, &meta);
    uint8_t k[8];
    for (uint64_t s = keep + 1; s <= 1000; s++) {
        audit_key (k, s);
        MDB_val kv = { 8, k };
        cr_assert_eq (mdb_del (txn, log, &kv, NULL), 0);
        mdb_del (txn, cps, &kv, NULL);
    }
    audit_key (k, keep);
    MDB_val kv = { 8, k }, v;
    cr_assert_eq (mdb_get (txn, log, &kv, &v), 0);
    uint8_t head[40];
    for (int b = 0; b < 8; b++)
        head[b] = (uint8_t) (keep >> (8 * b));
    crypto_generichash (head + 8, 32, v.mv_data, v.mv_size, NULL, 0);
    MDB_val hk = { 4, "head" }, hv = { 40, head };
    cr_assert_eq (mdb_put (txn, meta, &hk, &hv, 0), 0);
    cr_assert_eq (mdb_txn_commit (txn), 0);
    mdb_env_close (env);
}

static int
s_verify (const char *extra, char *out, size_t size)
{
    char path[400], line[200], pub[100] = "";
    snprintf (path, sizeof path, "%s/audit-sign.pub", dir);
    FILE *f = fopen (path, "r");
    cr_assert_not_null (f);
    while (fgets (line, sizeof line, f))
        if (sscanf (line, "public-key = %64s", pub) == 1)
            break;
    fclose (f);
    int rc = audit_ctl (out, size, "audit verify --data '%s' --pubkey %s %s 2>&1", dir, pub, extra);
    cr_assert_neq (rc, -1, "could not run sluicectl");
    return rc;
}

/*  Runs the verifier written from AUDIT.md alone on the store with `extra`
 *  arguments; its exit status. */
static int
s_verify_py (const char *extra, char *out, size_t size)
{
    return tl_sh (out, size, "%s %s --data '%s/store' --pubkey-file '%s/audit-sign.pub' %s 2>&1",
                  PYTHON3, VERIFY_AUDIT_PY, dir, dir, extra);
}

Test (audit_published, a_cut_tail_with_a_rewritten_head_is_caught_by_a_published_checkpoint,
      .fini = s_rm_dir)
{
    char out[4096], path[400], extra[600];
    s_build ();
    /* published elsewhere: the latest checkpoint, seq 1000 */
    snprintf (path, sizeof path, "%s/published.txt", dir);
    cr_assert_eq (audit_ctl (NULL, 0, "audit checkpoint --data '%s' > '%s'", dir, path), 0);
    snprintf (extra, sizeof extra, "--published '%s'", path);
    TL_EXPECT (s_verify (extra, out, sizeof out), 0, out, "OK: 1000 entries");
    /* the hash line, for the SEQ:HASH form */
    char hash[80] = "", *text = tl_slurp (path, NULL);
    cr_assert_not_null (text);
    const char *h = strstr (text, "\nhash ");
    cr_assert (h && sscanf (h, "\nhash %64s", hash) == 1, "%s", text);
    cr_assert_eq (strlen (hash), 64);

    s_cut_tail (900);
    /* on its own the shortened log is consistent */
    TL_EXPECT (s_verify ("", out, sizeof out), 0, out, "OK: 900 entries");
    /* against the published checkpoint it is not, in either form */
    TL_EXPECT (s_verify (extra, out, sizeof out), 1, out, "FAILED at seq 901 (truncated)");
    snprintf (extra, sizeof extra, "--published 1000:%s", hash);
    TL_EXPECT (s_verify (extra, out, sizeof out), 1, out, "FAILED at seq 901 (truncated)");
    /* the verifier written from AUDIT.md alone agrees */
    snprintf (extra, sizeof extra, "--published '%s'", path);
    TL_EXPECT (s_verify_py (extra, out, sizeof out), 1, out, "FAIL seq=901 verdict=truncated");
    TL_EXPECT (s_verify_py ("", out, sizeof out), 0, out, "ok entries=900");
    /* a publication naming an entry still there, with another hash: rewritten */
    snprintf (extra, sizeof extra, "--published 500:%s", hash);
    TL_EXPECT (s_verify (extra, out, sizeof out), 1, out, "FAILED at seq 500 (hash)");
    /* a forged publication is refused, not trusted */
    char *sig = strstr (text, "signature ");
    cr_assert_not_null (sig);
    sig[10] = sig[10] == '0' ? '1' : '0';
    cr_assert_eq (tl_write (path, text), 0);
    free (text);
    snprintf (extra, sizeof extra, "--published '%s'", path);
    TL_EXPECT (s_verify (extra, out, sizeof out), 1, out, "not signed by this audit key");
    /* bad arguments */
    cr_assert_eq (s_verify ("--published 12:nothex", out, sizeof out), 2, "%s", out);
}

Test (audit_published, offline_export_to_a_file_exits_0_and_says_what_it_wrote, .fini = s_rm_dir)
{
    char out[4096], path[400];
    s_build ();
    snprintf (path, sizeof path, "%s/export.jsonl", dir);
    int rc = audit_ctl (out, sizeof out, "audit export --data '%s' --since 1970-01-01 --out '%s' 2>&1",
                        dir, path);
    cr_assert_eq (rc, 0, "exit %d: %s", rc, out);
    cr_assert_not_null (strstr (out, "exported 1000 entries and 10 checkpoints to"), "%s", out);
    char *text = tl_slurp (path, NULL);
    cr_assert_not_null (text);
    cr_assert_eq (tl_count (text, "\n"), 1010);
    free (text);
}

Test (audit_published, a_date_that_does_not_exist_is_refused, .fini = s_rm_dir)
{
    char out[4096];
    s_build ();
    int rc = audit_ctl (out, sizeof out, "audit query --data '%s' --since 2026-02-30 2>&1", dir);
    cr_assert_eq (rc, 2, "exit %d: %s", rc, out);
    cr_assert_not_null (strstr (out, "2026-02-30"), "%s", out);
    cr_assert_eq (audit_ctl (out, sizeof out, "audit query --data '%s' --since 2026-02-28 --limit 1 2>&1",
                             dir), 0, "%s", out);
}

/*  sluicectl audit verify --published (AUDIT.md 8.1): a log whose tail was
 *  cut off, whose head record was rewritten to match and whose last
 *  checkpoint was dropped verifies on its own; a checkpoint published
 *  elsewhere catches it. */
#include "harness.h"
#include "sl_audit.h"

#include <criterion/criterion.h>
#include <sodium.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define T0 1795878000000000LL

static char dir[256];

static MDB_env *
s_env (int rdonly)
{
    char path[400];
    snprintf (path, sizeof path, "%s/store", dir);
    mkdir (path, 0700);
    MDB_env *env;
    cr_assert_eq (mdb_env_create (&env), 0);
    mdb_env_set_maxdbs (env, 64);
    mdb_env_set_mapsize (env, (size_t) 64 << 20);
    cr_assert_eq (mdb_env_open (env, path, MDB_NOTLS | (rdonly ? MDB_RDONLY : 0), 0600), 0);
    return env;
}

/*  1000 entries, a checkpoint every 100 (the last at 1000). */
static void
s_build (void)
{
    snprintf (dir, sizeof dir, "/tmp/sl-audit-pub-XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
    char err[256] = "";
    cr_assert_eq (sl_audit_keygen (dir, err, sizeof err), 0, "%s", err);
    MDB_env *env = s_env (0);
    sl_audit_t *a = sl_audit_open (env, dir, 0, err, sizeof err);
    cr_assert_not_null (a, "%s", err);
    MDB_txn *txn;
    cr_assert_eq (mdb_txn_begin (env, NULL, 0, &txn), 0);
    for (int i = 0; i < 1000; i++) {
        sl_audit_event_t ev = { .time_us = T0 + i * 1000, .kind = "deliver", .actor = "water",
                                .counterpart = "power", .owner = "water", .subject = "C-1",
                                .decision = "permit", .rules = "w2p@1", .fields = "district" };
        cr_assert_eq (sl_audit_append (a, txn, &ev, NULL), 0);
        if ((i + 1) % 100 == 0)
            cr_assert_eq (sl_audit_checkpoint (a, txn, T0 + i * 1000), 0);
    }
    cr_assert_eq (mdb_txn_commit (txn), 0);
    sl_audit_destroy (&a);
    mdb_env_close (env);
}

static void
s_key (uint8_t k[8], uint64_t seq)
{
    for (int b = 0; b < 8; b++)
        k[b] = (uint8_t) (seq >> (56 - 8 * b));
}

/*  The attack: entries and checkpoints after `keep` deleted, the head
 *  record rewritten to (keep, hash(keep)), so the log is consistent. */
static void
s_cut_tail (uint64_t keep)
{
    MDB_env *env = s_env (0);
    MDB_txn *txn;
    MDB_dbi log, cps, meta;
    cr_assert_eq (mdb_txn_begin (env, NULL, 0, &txn), 0);
    cr_assert_eq (mdb_dbi_open (txn, "audit.log", 0, &log), 0);
    cr_assert_eq (mdb_dbi_open (txn, "audit.checkpoints", 0, &cps), 0);
    cr_assert_eq (mdb_dbi_open (txn, "audit.meta", 0, &meta), 0);
    uint8_t k[8];
    for (uint64_t s = keep + 1; s <= 1000; s++) {
        s_key (k, s);
        MDB_val kv = { 8, k };
        cr_assert_eq (mdb_del (txn, log, &kv, NULL), 0);
        mdb_del (txn, cps, &kv, NULL);
    }
    s_key (k, keep);
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
    char cmd[2048], pub[100];
    FILE *f;
    snprintf (cmd, sizeof cmd, "%s/audit-sign.pub", dir);
    cr_assert_not_null (f = fopen (cmd, "r"));
    char line[200];
    pub[0] = 0;
    while (fgets (line, sizeof line, f))
        if (sscanf (line, "public-key = %64s", pub) == 1)
            break;
    fclose (f);
    snprintf (cmd, sizeof cmd, "'%s' audit verify --data '%s' --pubkey %s %s 2>&1",
              tb_program ("SLUICECTL"), dir, pub, extra);
    return tb_run (cmd, out, size);
}

Test (audit_published, a_cut_tail_with_a_rewritten_head_is_caught_by_a_published_checkpoint)
{
    char out[4096], cmd[4096], path[400], extra[600];
    s_build ();
    /* published elsewhere: the latest checkpoint, seq 1000 */
    snprintf (path, sizeof path, "%s/published.txt", dir);
    snprintf (cmd, sizeof cmd, "'%s' audit checkpoint --data '%s' > '%s'", tb_program ("SLUICECTL"),
              dir, path);
    cr_assert_eq (system (cmd), 0);
    snprintf (extra, sizeof extra, "--published '%s'", path);
    cr_assert_eq (s_verify (extra, out, sizeof out), 0, "%s", out);
    cr_assert_not_null (strstr (out, "OK: 1000 entries"), "%s", out);
    /* the hash line, for the SEQ:HASH form */
    char hash[80] = "", line[300];
    FILE *f = fopen (path, "r");
    while (f && fgets (line, sizeof line, f))
        sscanf (line, "hash %64s", hash);
    if (f)
        fclose (f);
    cr_assert_eq (strlen (hash), 64);

    s_cut_tail (900);
    /* on its own the shortened log is consistent */
    cr_assert_eq (s_verify ("", out, sizeof out), 0, "%s", out);
    cr_assert_not_null (strstr (out, "OK: 900 entries"), "%s", out);
    /* against the published checkpoint it is not */
    cr_assert_eq (s_verify (extra, out, sizeof out), 1, "%s", out);
    cr_assert_not_null (strstr (out, "FAILED at seq 901 (truncated)"), "%s", out);
    snprintf (extra, sizeof extra, "--published 1000:%s", hash);
    cr_assert_eq (s_verify (extra, out, sizeof out), 1, "%s", out);
    cr_assert_not_null (strstr (out, "FAILED at seq 901 (truncated)"), "%s", out);
    /* the verifier written from AUDIT.md alone agrees */
    snprintf (cmd, sizeof cmd, "%s %s --data '%s/store' --pubkey-file '%s/audit-sign.pub' "
              "--published '%s' 2>&1", PYTHON3, VERIFY_AUDIT_PY, dir, dir, path);
    cr_assert_eq (tb_run (cmd, out, sizeof out), 1, "%s", out);
    cr_assert_not_null (strstr (out, "FAIL seq=901 verdict=truncated"), "%s", out);
    snprintf (cmd, sizeof cmd, "%s %s --data '%s/store' --pubkey-file '%s/audit-sign.pub' 2>&1",
              PYTHON3, VERIFY_AUDIT_PY, dir, dir);
    cr_assert_eq (tb_run (cmd, out, sizeof out), 0, "%s", out);
    cr_assert_not_null (strstr (out, "ok entries=900"), "%s", out);
    /* a publication naming an entry still there, with another hash: rewritten */
    snprintf (extra, sizeof extra, "--published 500:%s", hash);
    cr_assert_eq (s_verify (extra, out, sizeof out), 1, "%s", out);
    cr_assert_not_null (strstr (out, "FAILED at seq 500 (hash)"), "%s", out);
    /* a forged publication is refused, not trusted */
    FILE *g = fopen (path, "r+");
    cr_assert_not_null (g);
    char text[2048];
    size_t n = fread (text, 1, sizeof text - 1, g);
    text[n] = 0;
    char *sig = strstr (text, "signature ");
    cr_assert_not_null (sig);
    sig[10] = sig[10] == '0' ? '1' : '0';
    rewind (g);
    fwrite (text, 1, n, g);
    fclose (g);
    snprintf (extra, sizeof extra, "--published '%s'", path);
    cr_assert_eq (s_verify (extra, out, sizeof out), 1, "%s", out);
    cr_assert_not_null (strstr (out, "not signed by this audit key"), "%s", out);
    /* bad arguments */
    cr_assert_eq (s_verify ("--published 12:nothex", out, sizeof out), 2, "%s", out);
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq (system (cmd), 0);
}

Test (audit_published, offline_export_to_a_file_exits_0_and_says_what_it_wrote)
{
    char out[4096], cmd[1024], path[400];
    s_build ();
    snprintf (path, sizeof path, "%s/export.jsonl", dir);
    snprintf (cmd, sizeof cmd, "'%s' audit export --data '%s' --since 1970-01-01 --out '%s' 2>&1",
              tb_program ("SLUICECTL"), dir, path);
    int rc = tb_run (cmd, out, sizeof out);
    cr_assert_eq (rc, 0, "exit %d: %s", rc, out);
    cr_assert_not_null (strstr (out, "exported 1000 entries and 10 checkpoints to"), "%s", out);
    FILE *f = fopen (path, "r");
    cr_assert_not_null (f);
    int lines = 0, c;
    while ((c = fgetc (f)) != EOF)
        lines += c == '\n';
    fclose (f);
    cr_assert_eq (lines, 1010);
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq (system (cmd), 0);
}

Test (audit_published, a_date_that_does_not_exist_is_refused)
{
    char out[4096], cmd[1024];
    s_build ();
    snprintf (cmd, sizeof cmd, "'%s' audit query --data '%s' --since 2026-02-30 2>&1",
              tb_program ("SLUICECTL"), dir);
    int rc = tb_run (cmd, out, sizeof out);
    cr_assert_eq (rc, 2, "exit %d: %s", rc, out);
    cr_assert_not_null (strstr (out, "2026-02-30"), "%s", out);
    snprintf (cmd, sizeof cmd, "'%s' audit query --data '%s' --since 2026-02-28 --limit 1 2>&1",
              tb_program ("SLUICECTL"), dir);
    cr_assert_eq (tb_run (cmd, out, sizeof out), 0, "%s", out);
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq (system (cmd), 0);
}

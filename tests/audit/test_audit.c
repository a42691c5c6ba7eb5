/*  Criterion suite for sl_audit: reads as the module's usage example.
 *
 *  The broker's pattern is:  open once; per batch { begin write txn;
 *  sl_audit_append ... ; maybe sl_audit_checkpoint; commit;
 *  sl_audit_after_commit }  (or abort + sl_audit_after_abort).
 */
#include "audit_flip.h"
#include "sl_audit.h"
#include "sl_error.h"

#include <criterion/criterion.h>
#include <sodium.h>

#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1764340000000000LL            /* 2025-11-28, Unix microseconds */

typedef struct {
    char        dir[256];
    MDB_env    *env;
    sl_audit_t *a;
} fx_t;

static MDB_env *s_env_open (const char *dir, size_t mapsize)
{
    MDB_env *env;
    cr_assert_eq (mdb_env_create (&env), 0);
    mdb_env_set_maxdbs (env, 64);
    mdb_env_set_mapsize (env, mapsize);
    int rc = mdb_env_open (env, dir, MDB_NOTLS | MDB_NOSYNC, 0600);
    cr_assert_eq (rc, 0, "mdb_env_open %s: %s", dir, mdb_strerror (rc));
    return env;
}

static void s_tmpdir (char *dir, size_t size)
{
    snprintf (dir, size, "/tmp/sl-audit-test-XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
}

static void fx_open (fx_t *fx, size_t mapsize)
{
    char err[256] = "";
    s_tmpdir (fx->dir, sizeof fx->dir);
    cr_assert_eq (sl_audit_keygen (fx->dir, err, sizeof err), 0, "%s", err);
    fx->env = s_env_open (fx->dir, mapsize);
    fx->a = sl_audit_open (fx->env, fx->dir, 0, err, sizeof err);
    cr_assert_not_null (fx->a, "%s", err);
}

static int s_rm (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st; (void) flag; (void) ftw;
    return remove (path);
}

static void s_rmrf (const char *dir)
{
    nftw (dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void fx_close (fx_t *fx)
{
    sl_audit_destroy (&fx->a);
    if (fx->env)
        mdb_env_close (fx->env);
    fx->env = NULL;
    s_rmrf (fx->dir);
}

static const char *bureaus[] = { "water", "power", "health", "parking" };
static const char *kinds[] = { "publish", "queue", "deliver", "ack", "deny", "query", "reply",
                               "consent.grant" };

/*  A varied but reproducible event for entry number i (from 1). */
static void s_event (uint64_t i, sl_audit_event_t *ev, char subj[32], uint8_t msgid[16])
{
    memset (ev, 0, sizeof *ev);
    snprintf (subj, 32, "CITIZEN-%05" PRIu64, i % 50);
    memset (msgid, 0, 16);
    memcpy (msgid, &i, sizeof i);
    ev->time_us = T0 + (int64_t) i * 1000;
    ev->kind = kinds[i % 8];
    ev->actor = bureaus[i % 4];
    ev->owner = bureaus[i % 4];
    ev->counterpart = bureaus[(i + 1) % 4];
    ev->record_type = i % 2 ? "water.v1.MeterReading" : "health.v1.Encounter";
    ev->message_id = msgid;
    ev->subject = subj;
    ev->purpose = i % 3 ? "joint-metering" : "parking-fee-waiver";
    ev->decision = i % 8 == 4 ? "deny" : "permit";
    ev->rules = i % 5 ? "water-to-power@3" : "health-visit-parking-waiver@1,consent@2";
    ev->fields = "district,date_observed";
    ev->reason = i % 8 == 4 ? "no permit rule" : NULL;
}

/*  Appends entries first..last in transactions of `per_txn`, with a
 *  checkpoint after every `cp_every` entries (0: none). */
static void s_fill (fx_t *fx, uint64_t first, uint64_t last, uint64_t per_txn, uint64_t cp_every)
{
    uint64_t i = first;
    while (i <= last) {
        MDB_txn *txn;
        cr_assert_eq (mdb_txn_begin (fx->env, NULL, 0, &txn), 0);
        for (uint64_t j = 0; j < per_txn && i <= last; j++, i++) {
            sl_audit_event_t ev;
            char subj[32];
            uint8_t msgid[16];
            s_event (i, &ev, subj, msgid);
            uint64_t seq;
            int rc = sl_audit_append (fx->a, txn, &ev, &seq);
            cr_assert_eq (rc, 0, "append %" PRIu64 ": %s", i, sl_strerror (rc));
            cr_assert_eq (seq, i);
            if (cp_every && i % cp_every == 0)
                cr_assert_eq (sl_audit_checkpoint (fx->a, txn, T0 + (int64_t) i * 1000), 0);
        }
        cr_assert_eq (mdb_txn_commit (txn), 0);
        sl_audit_after_commit (fx->a);
    }
}

static int s_verify_env (MDB_env *env, const sl_audit_t *a, const sl_audit_verify_opts_t *o,
                         sl_audit_report_t *r)
{
    return sl_audit_verify (env, sl_audit_pubkey (a), o, r);
}

/* ------------------------------------------------------------------------ */

Test (audit, keys_files_and_modes)
{
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 24);
    char path[512], err[256] = "";
    struct stat st;
    snprintf (path, sizeof path, "%s/%s", fx.dir, SL_AUDIT_SIGN_KEY_FILE);
    cr_assert_eq (stat (path, &st), 0);
    cr_assert_eq (st.st_mode & 0777, 0600);
    snprintf (path, sizeof path, "%s/%s", fx.dir, SL_AUDIT_PSEUDO_KEY_FILE);
    cr_assert_eq (stat (path, &st), 0);
    cr_assert_eq (st.st_mode & 0777, 0600);

    /* keygen never overwrites */
    cr_assert_eq (sl_audit_keygen (fx.dir, err, sizeof err), SL_EEXIST);

    /* the .pub file holds the handle's public key, as hex */
    uint8_t pk[32];
    snprintf (path, sizeof path, "%s/%s", fx.dir, SL_AUDIT_SIGN_PUB_FILE);
    cr_assert_eq (sl_audit_load_pubkey (path, pk, err, sizeof err), 0, "%s", err);
    cr_assert_eq (memcmp (pk, sl_audit_pubkey (fx.a), 32), 0);
    char hex[65];
    sl_audit_pubkey_hex (pk, hex);
    cr_assert_eq (strlen (hex), 64);
    uint8_t pk2[32];
    cr_assert_eq (sl_audit_pubkey_from_hex (hex, pk2), 0);
    cr_assert_eq (memcmp (pk, pk2, 32), 0);
    cr_assert_eq (sl_audit_pubkey_from_hex ("abc", pk2), SL_EKEY);

    /* an unsafe secret key file is refused, with the path in the message */
    snprintf (path, sizeof path, "%s/%s", fx.dir, SL_AUDIT_SIGN_KEY_FILE);
    chmod (path, 0644);
    sl_audit_t *bad = sl_audit_open (fx.env, fx.dir, 0, err, sizeof err);
    cr_assert_null (bad);
    cr_assert_not_null (strstr (err, SL_AUDIT_SIGN_KEY_FILE), "%s", err);
    /* a read-only handle needs only the public key */
    sl_audit_t *ro = sl_audit_open (fx.env, fx.dir, SL_AUDIT_RDONLY, err, sizeof err);
    cr_assert_not_null (ro, "%s", err);
    MDB_txn *txn;
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    sl_audit_event_t ev = { .kind = "broker.start" };
    cr_assert_eq (sl_audit_append (ro, txn, &ev, NULL), SL_EPERM);
    mdb_txn_abort (txn);
    sl_audit_destroy (&ro);
    cr_assert_null (ro);
    chmod (path, 0600);
    fx_close (&fx);
}

Test (audit, entry_bytes_are_canonical)
{
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 24);
    MDB_txn *txn;
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    uint8_t msgid[16];
    for (int i = 0; i < 16; i++)
        msgid[i] = (uint8_t) i;
    sl_audit_event_t ev = {
        .time_us = 0x0102030405060708LL, .kind = "deliver", .actor = "water",
        .counterpart = "power", .owner = "water", .record_type = "water.v1.MeterReading",
        .message_id = msgid, .subject = "CITIZEN-1", .purpose = "joint-metering",
        .decision = "permit", .rules = "w2p@3", .fields = "district", .reason = NULL,
        .detail = "x"
    };
    uint64_t seq;
    cr_assert_eq (sl_audit_append (fx.a, txn, &ev, &seq), 0);
    cr_assert_eq (seq, 1);
    MDB_dbi db;
    cr_assert_eq (mdb_dbi_open (txn, "audit.log", 0, &db), 0);
    uint8_t key[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
    MDB_val k = { 8, key }, v;
    cr_assert_eq (mdb_get (txn, db, &k, &v), 0);
    const uint8_t *p = v.mv_data;
    /* version, seq LE, time LE, 32 zero bytes (genesis), then fields */
    cr_assert_eq (p[0], 1);
    cr_assert_eq (p[1], 1);
    for (int i = 2; i < 9; i++)
        cr_assert_eq (p[i], 0);
    cr_assert_eq (p[9], 0x08);
    cr_assert_eq (p[16], 0x01);
    for (int i = 17; i < 49; i++)
        cr_assert_eq (p[i], 0);
    cr_assert_eq (p[49], 7);
    cr_assert_eq (p[50], 0);
    cr_assert_eq (memcmp (p + 51, "deliver", 7), 0);
    size_t expect = 49 + 2 * 13 + 7 + 5 + 5 + 5 + 21 + 16 + 32 + 14 + 6 + 5 + 8 + 0 + 1;
    cr_assert_eq (v.mv_size, expect);

    sl_audit_entry_t e;
    cr_assert_eq (sl_audit_decode (v.mv_data, v.mv_size, &e), 0);
    cr_assert_eq (e.seq, 1);
    cr_assert_eq (e.time_us, 0x0102030405060708LL);
    cr_assert_eq (e.record_type.len, 21);
    cr_assert_eq (memcmp (e.message_id, msgid, 16), 0);
    uint8_t pseudo[32];
    cr_assert_eq (sl_audit_pseudonym (fx.a, "CITIZEN-1", pseudo), 0);
    cr_assert_eq (memcmp (e.subject, pseudo, 32), 0);
    cr_assert_eq (e.reason.len, 0);
    /* any trailing or missing byte is refused */
    cr_assert_eq (sl_audit_decode (v.mv_data, v.mv_size - 1, &e), SL_ECORRUPT);
    uint8_t longer[512];
    memcpy (longer, v.mv_data, v.mv_size);
    longer[v.mv_size] = 0;
    cr_assert_eq (sl_audit_decode (longer, v.mv_size + 1, &e), SL_ECORRUPT);

    cr_assert_eq (sl_audit_decode (v.mv_data, v.mv_size, &e), 0);
    char *json = sl_audit_entry_json (&e);
    cr_assert_not_null (json);
    cr_assert_not_null (strstr (json, "\"kind\":\"deliver\""), "%s", json);
    cr_assert_not_null (strstr (json, "\"message_id\":\"000102030405060708090a0b0c0d0e0f\""), "%s", json);
    cr_assert_null (strstr (json, "CITIZEN-1"), "%s", json);
    cr_assert_null (strchr (json, '\n'));
    free (json);

    /* no kind: refused, nothing written */
    sl_audit_event_t nokind = { .actor = "water" };
    cr_assert_eq (sl_audit_append (fx.a, txn, &nokind, NULL), SL_EINVAL);
    mdb_txn_abort (txn);
    sl_audit_after_abort (fx.a);
    fx_close (&fx);
}

Test (audit, head_follows_commit_and_abort)
{
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 24);
    s_fill (&fx, 1, 3, 10, 0);
    uint8_t h3[32];
    cr_assert_eq (sl_audit_head (fx.a, h3), 3);

    /* an aborted batch leaves no trace, in the log or in the handle */
    MDB_txn *txn;
    sl_audit_event_t ev = { .kind = "publish", .actor = "water" };
    uint64_t seq;
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    cr_assert_eq (sl_audit_append (fx.a, txn, &ev, &seq), 0);
    cr_assert_eq (seq, 4);
    cr_assert_eq (sl_audit_append (fx.a, txn, &ev, &seq), 0);
    cr_assert_eq (seq, 5);
    cr_assert_eq (sl_audit_head (fx.a, NULL), 3, "uncommitted entries are not the head");
    mdb_txn_abort (txn);
    sl_audit_after_abort (fx.a);
    uint8_t h[32];
    cr_assert_eq (sl_audit_head (fx.a, h), 3);
    cr_assert_eq (memcmp (h, h3, 32), 0);

    /* even if the caller forgets after_abort, the chain continues from
     * what the transaction holds: seq 4 again, linked to entry 3 */
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    cr_assert_eq (sl_audit_append (fx.a, txn, &ev, &seq), 0);
    mdb_txn_abort (txn);
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    cr_assert_eq (sl_audit_append (fx.a, txn, &ev, &seq), 0);
    cr_assert_eq (seq, 4);
    cr_assert_eq (mdb_txn_commit (txn), 0);
    sl_audit_after_commit (fx.a);
    cr_assert_eq (sl_audit_head (fx.a, NULL), 4);

    cr_assert_eq (mdb_txn_begin (fx.env, NULL, MDB_RDONLY, &txn), 0);
    sl_audit_iter_t *it = sl_audit_iter_new (txn, &(sl_audit_filter_t) { .after_seq = 3 });
    sl_audit_entry_t e;
    cr_assert_eq (sl_audit_iter_next (it, &e), 1);
    cr_assert_eq (e.seq, 4);
    cr_assert_eq (memcmp (e.prev_hash, h3, 32), 0, "entry 4 links to entry 3");
    cr_assert_eq (sl_audit_iter_next (it, &e), 0);
    sl_audit_iter_destroy (&it);
    mdb_txn_abort (txn);

    sl_audit_report_t r;
    cr_assert_eq (s_verify_env (fx.env, fx.a, NULL, &r), 0, "%s", r.message);
    cr_assert_eq (r.entries, 4);

    /* a handle opened later starts from the committed head */
    sl_audit_t *again = sl_audit_open (fx.env, fx.dir, 0, NULL, 0);
    cr_assert_not_null (again);
    cr_assert_eq (sl_audit_head (again, NULL), 4);
    sl_audit_destroy (&again);
    fx_close (&fx);
}

static int s_stop_at (void *arg, uint64_t done, uint64_t total)
{
    uint64_t *calls = arg;
    calls[0]++;
    calls[1] = done;
    calls[2] = total;
    return calls[3] && done >= calls[3];
}

Test (audit, verify_progress_and_malformed, .timeout = 60)
{
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 27);
    s_fill (&fx, 1, 200000, 100000, 0);
    sl_audit_report_t r;
    uint64_t calls[4] = { 0 };
    sl_audit_verify_opts_t o = { .progress = s_stop_at, .progress_arg = calls };
    cr_assert_eq (s_verify_env (fx.env, fx.a, &o, &r), 0, "%s", r.message);
    cr_assert_eq (calls[0], 4, "every 65536 entries and once at the end");
    cr_assert_eq (calls[1], 200000);
    cr_assert_eq (calls[2], 200000);
    /* a terminal's Ctrl-C: the callback stops the walk */
    memset (calls, 0, sizeof calls);
    calls[3] = 65536;
    cr_assert_eq (s_verify_env (fx.env, fx.a, &o, &r), SL_ECLOSED);
    cr_assert_eq (calls[0], 1);

    /* garbage under a valid key */
    MDB_txn *txn;
    MDB_dbi db;
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    cr_assert_eq (mdb_dbi_open (txn, "audit.log", 0, &db), 0);
    uint8_t key[8] = { 0, 0, 0, 0, 0, 0, 0x03, 0xe8 };  /* 1000 */
    MDB_val k = { 8, key }, v = { 5, "junk" };
    cr_assert_eq (mdb_put (txn, db, &k, &v, 0), 0);
    cr_assert_eq (mdb_txn_commit (txn), 0);
    cr_assert_eq (s_verify_env (fx.env, fx.a, NULL, &r), SL_ECORRUPT);
    cr_assert_eq (r.verdict, SL_AUDIT_V_MALFORMED);
    cr_assert_eq (r.bad_seq, 1000);
    fx_close (&fx);
}

Test (audit, outcome_listener)
{
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 24);
    MDB_txn *txn;
    sl_audit_event_t ev = { .kind = "broker.start", .actor = "sluiced" };
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    cr_assert_eq (sl_audit_append (fx.a, txn, &ev, NULL), 0);
    mdb_txn_abort (txn);
    sl_audit_txn_outcome (fx.a, 0);
    cr_assert_eq (sl_audit_head (fx.a, NULL), 0);
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    cr_assert_eq (sl_audit_append (fx.a, txn, &ev, NULL), 0);
    cr_assert_eq (mdb_txn_commit (txn), 0);
    sl_audit_txn_outcome (fx.a, 1);
    cr_assert_eq (sl_audit_head (fx.a, NULL), 1);
    fx_close (&fx);
}

Test (audit, checkpoints_due_and_text)
{
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 24);
    cr_assert_eq (sl_audit_checkpoint_due (fx.a, 10, 0, 0), 0, "empty log needs none");
    s_fill (&fx, 1, 9, 100, 0);
    cr_assert_eq (sl_audit_checkpoint_due (fx.a, 10, 0, T0), 0);
    s_fill (&fx, 10, 10, 100, 0);
    cr_assert_eq (sl_audit_checkpoint_due (fx.a, 10, 0, T0), 1);

    /* a checkpoint in an aborted txn does not count */
    MDB_txn *txn;
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    cr_assert_eq (sl_audit_checkpoint (fx.a, txn, T0 + 20000), 0);
    mdb_txn_abort (txn);
    sl_audit_after_abort (fx.a);
    cr_assert_eq (sl_audit_checkpoint_due (fx.a, 10, 0, T0), 1);

    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    cr_assert_eq (sl_audit_checkpoint (fx.a, txn, T0 + 20000), 0);
    cr_assert_eq (mdb_txn_commit (txn), 0);
    sl_audit_after_commit (fx.a);
    cr_assert_eq (sl_audit_checkpoint_due (fx.a, 10, 0, T0), 0);
    /* time-based: new entries and enough time since the last checkpoint */
    s_fill (&fx, 11, 11, 1, 0);
    cr_assert_eq (sl_audit_checkpoint_due (fx.a, 10, 5000000, T0 + 20000 + 4999999), 0);
    cr_assert_eq (sl_audit_checkpoint_due (fx.a, 10, 5000000, T0 + 20000 + 5000000), 1);

    char text[512];
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, MDB_RDONLY, &txn), 0);
    cr_assert_eq (sl_audit_checkpoint_text (txn, text, sizeof text), 0);
    cr_assert_not_null (strstr (text, "sluice-audit-checkpoint v1\nseq 10\n"), "%s", text);
    cr_assert_eq (sl_audit_checkpoint_text (txn, text, 40), SL_ETOOBIG);
    mdb_txn_abort (txn);
    fx_close (&fx);
}

/* ------------------------------------------------------------------------ */
/*  Tampering: every case on a copy of the data directory                   */

typedef enum { T_BYTE, T_PREV_BYTE, T_DELETE, T_SWAP, T_TRUNCATE, T_TRUNCATE_FIX_HEAD,
               T_CP_SIG, T_CP_HASH, T_CP_RESIGN, T_CP_SEQ } tamper_t;

static MDB_val s_get (MDB_txn *txn, MDB_dbi db, uint64_t seq)
{
    uint8_t key[8];
    audit_key (key, seq);
    MDB_val k = { 8, key }, v;
    cr_assert_eq (mdb_get (txn, db, &k, &v), 0, "no key %" PRIu64, seq);
    return v;
}

static void s_put (MDB_txn *txn, MDB_dbi db, uint64_t seq, const void *data, size_t len)
{
    uint8_t key[8];
    audit_key (key, seq);
    MDB_val k = { 8, key }, v = { len, (void *) data };
    cr_assert_eq (mdb_put (txn, db, &k, &v, 0), 0);
}

static void s_del (MDB_txn *txn, MDB_dbi db, uint64_t seq)
{
    uint8_t key[8];
    audit_key (key, seq);
    MDB_val k = { 8, key };
    cr_assert_eq (mdb_del (txn, db, &k, NULL), 0);
}

/*  Copies fx's environment into a new directory `dir` and applies `how` at
 *  `seq` with plain LMDB writes, as an attacker with file access would. */
static void s_tamper_copy (fx_t *fx, tamper_t how, uint64_t seq, char dir[256])
{
    s_tmpdir (dir, 256);
    cr_assert_eq (mdb_env_copy (fx->env, dir), 0);
    MDB_env *env = s_env_open (dir, 1 << 26);
    MDB_dbi log, cp, meta;
    MDB_txn *txn = audit_write_txn (env, &log, &cp, &meta);
    uint8_t buf[1024];
    MDB_val v;
    switch (how) {
        case T_BYTE:            /* one byte of the time field */
        case T_PREV_BYTE:       /* one byte of the stored previous hash */
            v = s_get (txn, log, seq);
            memcpy (buf, v.mv_data, v.mv_size);
            buf[how == T_BYTE ? 10 : 20] ^= 0x01;
            s_put (txn, log, seq, buf, v.mv_size);
            break;
        case T_DELETE:
            s_del (txn, log, seq);
            break;
        case T_SWAP: {
            v = s_get (txn, log, seq);
            uint8_t other[1024];
            memcpy (buf, v.mv_data, v.mv_size);
            size_t len = v.mv_size;
            v = s_get (txn, log, seq + 1);
            size_t olen = v.mv_size;
            memcpy (other, v.mv_data, olen);
            s_put (txn, log, seq, other, olen);
            s_put (txn, log, seq + 1, buf, len);
            break;
        }
        case T_TRUNCATE:
        case T_TRUNCATE_FIX_HEAD: {
            MDB_cursor *c;
            MDB_val k;
            cr_assert_eq (mdb_cursor_open (txn, log, &c), 0);
            while (mdb_cursor_get (c, &k, &v, MDB_LAST) == 0) {
                const uint8_t *kp = k.mv_data;
                uint64_t ks = 0;
                for (int i = 0; i < 8; i++)
                    ks = ks << 8 | kp[i];
                if (ks < seq)
                    break;
                cr_assert_eq (mdb_cursor_del (c, 0), 0);
            }
            mdb_cursor_close (c);
            if (how == T_TRUNCATE_FIX_HEAD) {
                /* also rewrite the head record to the new last entry */
                v = s_get (txn, log, seq - 1);
                uint8_t head[40];
                for (int i = 0; i < 8; i++)
                    head[i] = (uint8_t) ((seq - 1) >> (8 * i));
                crypto_generichash (head + 8, 32, v.mv_data, v.mv_size, NULL, 0);
                MDB_val hk = { 4, "head" }, hv = { 40, head };
                cr_assert_eq (mdb_put (txn, meta, &hk, &hv, 0), 0);
            }
            break;
        }
        case T_CP_SIG:
        case T_CP_HASH:
        case T_CP_RESIGN:
        case T_CP_SEQ:
            v = s_get (txn, cp, seq);
            cr_assert_eq (v.mv_size, 113);
            memcpy (buf, v.mv_data, 113);
            if (how == T_CP_SIG)
                buf[49 + 10] ^= 0x80;
            else if (how == T_CP_HASH)
                buf[17] ^= 0x01;
            else if (how == T_CP_SEQ)
                buf[1] ^= 0x01;
            else {
                /* a valid signature, but by a key that is not the audit key */
                uint8_t pk[32], sk[64], msg[26 + 49];
                crypto_sign_keypair (pk, sk);
                buf[17] ^= 0x01;
                memcpy (msg, "sluice.audit.checkpoint.v1", 26);
                memcpy (msg + 26, buf, 49);
                crypto_sign_detached (buf + 49, NULL, msg, sizeof msg, sk);
            }
            s_put (txn, cp, seq, buf, 113);
            break;
    }
    cr_assert_eq (mdb_txn_commit (txn), 0);
    mdb_env_close (env);
}

/*  Tampers with a copy and verifies it. */
static int s_tamper (fx_t *fx, tamper_t how, uint64_t seq, sl_audit_report_t *r)
{
    char dir[256];
    s_tamper_copy (fx, how, seq, dir);
    MDB_env *env = s_env_open (dir, 1 << 26);
    int rc = sl_audit_verify (env, sl_audit_pubkey (fx->a), NULL, r);
    mdb_env_close (env);
    s_rmrf (dir);
    return rc;
}

static fx_t tfx;

static void s_tamper_setup (void)
{
    /* 100 entries, checkpoints every 10 and one at the end (clean shutdown) */
    fx_open (&tfx, 1 << 26);
    s_fill (&tfx, 1, 100, 25, 10);
    /* and 5 more after the last checkpoint */
    s_fill (&tfx, 101, 105, 25, 0);
}

static void s_tamper_teardown (void)
{
    fx_close (&tfx);
}

static void s_expect (tamper_t how, uint64_t seq, sl_audit_verdict_t verdict, uint64_t bad)
{
    sl_audit_report_t r;
    int rc = s_tamper (&tfx, how, seq, &r);
    cr_assert_eq (rc, SL_ECORRUPT, "tamper %d at %" PRIu64 " not detected: %s", how, seq, r.message);
    cr_assert_eq (r.verdict, verdict, "tamper %d at %" PRIu64 ": verdict %s, expected %s (%s)",
                  how, seq, sl_audit_verdict_str (r.verdict), sl_audit_verdict_str (verdict),
                  r.message);
    cr_assert_eq (r.bad_seq, bad, "tamper %d at %" PRIu64 ": bad seq %" PRIu64 ", expected %"
                  PRIu64 " (%s)", how, seq, r.bad_seq, bad, r.message);
}

TestSuite (tamper, .init = s_tamper_setup, .fini = s_tamper_teardown, .timeout = 60);

Test (tamper, untouched_copy_verifies)
{
    sl_audit_report_t r;
    char dir[256];
    s_tmpdir (dir, sizeof dir);
    cr_assert_eq (mdb_env_copy (tfx.env, dir), 0);
    MDB_env *env = s_env_open (dir, 1 << 26);
    cr_assert_eq (sl_audit_verify (env, sl_audit_pubkey (tfx.a), NULL, &r), 0, "%s", r.message);
    cr_assert_eq (r.verdict, SL_AUDIT_V_OK);
    cr_assert_eq (r.entries, 105);
    cr_assert_eq (r.checkpoints, 10);
    cr_assert_eq (r.last_seq, 105);
    /* the wrong public key fails on the first checkpoint */
    uint8_t other[32], sk[64];
    crypto_sign_keypair (other, sk);
    cr_assert_eq (sl_audit_verify (env, other, NULL, &r), SL_ECORRUPT);
    cr_assert_eq (r.verdict, SL_AUDIT_V_CP_SIGNATURE);
    cr_assert_eq (r.bad_seq, 10);
    mdb_env_close (env);
    s_rmrf (dir);
}

Test (tamper, one_byte_changed)
{
    s_expect (T_BYTE, 37, SL_AUDIT_V_HASH, 37);     /* between checkpoints */
    s_expect (T_BYTE, 40, SL_AUDIT_V_HASH, 40);     /* a checkpointed entry */
    s_expect (T_BYTE, 1, SL_AUDIT_V_HASH, 1);       /* the first */
    s_expect (T_BYTE, 103, SL_AUDIT_V_HASH, 103);   /* after the last checkpoint */
    s_expect (T_BYTE, 105, SL_AUDIT_V_HASH, 105);   /* the last entry */
}

Test (tamper, link_field_changed)
{
    s_expect (T_PREV_BYTE, 55, SL_AUDIT_V_LINK, 55);
    s_expect (T_PREV_BYTE, 105, SL_AUDIT_V_LINK, 105);
    s_expect (T_PREV_BYTE, 1, SL_AUDIT_V_LINK, 1);
}

Test (tamper, entry_deleted)
{
    s_expect (T_DELETE, 42, SL_AUDIT_V_GAP, 42);
    s_expect (T_DELETE, 50, SL_AUDIT_V_GAP, 50);    /* its checkpoint remains */
    s_expect (T_DELETE, 1, SL_AUDIT_V_GAP, 1);
}

Test (tamper, entries_swapped)
{
    s_expect (T_SWAP, 30, SL_AUDIT_V_SEQ, 30);
    s_expect (T_SWAP, 104, SL_AUDIT_V_SEQ, 104);
}

Test (tamper, tail_truncated)
{
    /* cut after the last checkpoint: the head record shows it */
    s_expect (T_TRUNCATE, 103, SL_AUDIT_V_TRUNCATED, 103);
    /* cut across signed checkpoints */
    s_expect (T_TRUNCATE, 96, SL_AUDIT_V_TRUNCATED, 96);
    /* cut and head record rewritten: the signed checkpoint at 100 shows it */
    s_expect (T_TRUNCATE_FIX_HEAD, 96, SL_AUDIT_V_TRUNCATED, 96);
}

Test (tamper, checkpoint_forged_or_edited)
{
    s_expect (T_CP_SIG, 50, SL_AUDIT_V_CP_SIGNATURE, 50);
    s_expect (T_CP_HASH, 70, SL_AUDIT_V_CP_SIGNATURE, 70);
    s_expect (T_CP_RESIGN, 20, SL_AUDIT_V_CP_SIGNATURE, 20);
    s_expect (T_CP_SEQ, 80, SL_AUDIT_V_CP_MISMATCH, 80);
}

/* ------------------------------------------------------------------------ */

Test (audit, pseudonyms_only)
{
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 24);
    s_fill (&fx, 1, 200, 50, 50);   /* subjects CITIZEN-00000 .. CITIZEN-00049 */
    mdb_env_sync (fx.env, 1);
    char path[512];
    snprintf (path, sizeof path, "%s/data.mdb", fx.dir);
    FILE *f = fopen (path, "rb");
    cr_assert_not_null (f);
    static uint8_t data[1 << 22];
    size_t n = fread (data, 1, sizeof data, f);
    fclose (f);
    cr_assert_gt (n, 0);
    cr_assert_not_null (memmem (data, n, "joint-metering", 14), "the scan sees entry text");
    cr_assert_null (memmem (data, n, "CITIZEN-", 8), "a raw citizen id is stored");
    uint8_t pseudo[32];
    cr_assert_eq (sl_audit_pseudonym (fx.a, "CITIZEN-00007", pseudo), 0);
    cr_assert_not_null (memmem (data, n, pseudo, 32), "the pseudonym is stored");
    fx_close (&fx);
}

static uint64_t s_count (MDB_txn *txn, const sl_audit_filter_t *f)
{
    sl_audit_iter_t *it = sl_audit_iter_new (txn, f);
    cr_assert_not_null (it);
    sl_audit_entry_t e;
    uint64_t n = 0, last = 0;
    int rc;
    while ((rc = sl_audit_iter_next (it, &e)) == 1) {
        cr_assert_gt (e.seq, last);
        last = e.seq;
        n++;
    }
    cr_assert_eq (rc, 0);
    sl_audit_iter_destroy (&it);
    return n;
}

Test (audit, filters_and_paging)
{
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 26);
    s_fill (&fx, 1, 1000, 500, 100);
    MDB_txn *txn;
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, MDB_RDONLY, &txn), 0);
    cr_assert_eq (s_count (txn, NULL), 1000);
    cr_assert_eq (s_count (txn, &(sl_audit_filter_t) { .kind = "deliver" }), 125);   /* i%8==2 */
    cr_assert_eq (s_count (txn, &(sl_audit_filter_t) { .kind = "consent." }), 125);  /* prefix */
    cr_assert_eq (s_count (txn, &(sl_audit_filter_t) { .actor = "power" }), 250);
    cr_assert_eq (s_count (txn, &(sl_audit_filter_t) { .owner = "power", .counterpart = "health" }), 250);
    cr_assert_eq (s_count (txn, &(sl_audit_filter_t) { .owner = "power", .counterpart = "water" }), 0);
    cr_assert_eq (s_count (txn, &(sl_audit_filter_t) { .record_type = "water.v1.MeterReading" }), 500);
    cr_assert_eq (s_count (txn, &(sl_audit_filter_t) { .decision = "deny" }), 125);
    /* time: entry i has T0 + i ms; [T0+100ms, T0+200ms) = entries 100..199 */
    cr_assert_eq (s_count (txn, &(sl_audit_filter_t) { .since_us = T0 + 100000,
                                                       .until_us = T0 + 200000 }), 100);
    uint8_t pseudo[32];
    cr_assert_eq (sl_audit_pseudonym (fx.a, "CITIZEN-00007", pseudo), 0);
    cr_assert_eq (s_count (txn, &(sl_audit_filter_t) { .subject = pseudo }), 20);
    /* i%50 == 7 and i%8 == 5 (query): 157, 357, 557, 757, 957 */
    cr_assert_eq (s_count (txn, &(sl_audit_filter_t) { .subject = pseudo, .kind = "query" }), 5);
    /* paging: pages of 64 entries of kind deliver, resumed by seq */
    sl_audit_filter_t f = { .kind = "deliver" };
    uint64_t seen = 0, after = 0, pages = 0;
    for (;;) {
        f.after_seq = after;
        sl_audit_iter_t *it = sl_audit_iter_new (txn, &f);
        sl_audit_entry_t e;
        int got = 0;
        while (got < 64 && sl_audit_iter_next (it, &e) == 1) {
            cr_assert_eq (e.seq % 8, 2);
            cr_assert_gt (e.seq, after);
            after = e.seq;
            got++;
        }
        sl_audit_iter_destroy (&it);
        if (!got)
            break;
        seen += (uint64_t) got;
        pages++;
    }
    cr_assert_eq (seen, 125);
    cr_assert_eq (pages, 2);
    mdb_txn_abort (txn);
    fx_close (&fx);
}

static int s_collect (void *arg, const sl_audit_entry_t *e)
{
    uint64_t *seqs = arg;
    seqs[++seqs[0]] = e->seq;
    return 0;
}

Test (audit, summary_and_subject_report)
{
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 24);
    MDB_txn *txn;
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    struct { const char *kind, *to, *rec, *purpose, *rules, *subject; } rows[] = {
        { "deliver", "power", "water.v1.MeterReading", "joint-metering", "w2p@3", "C-1" },
        { "deliver", "power", "water.v1.MeterReading", "joint-metering", "w2p@3", "C-2" },
        { "deliver", "power", "water.v1.MeterReading", "joint-metering", "w2p@4", "C-1" },
        { "deny",    "parking", "water.v1.MeterReading", "billing", "", "C-1" },
        { "queue",   "power", "water.v1.MeterReading", "joint-metering", "w2p@3", "C-3" },
        { "ack",     "power", "water.v1.MeterReading", "joint-metering", "", "C-1" },
    };
    for (int i = 0; i < 6; i++) {
        sl_audit_event_t ev = { .time_us = T0 + i, .kind = rows[i].kind, .actor = "water",
                                .owner = "water", .counterpart = rows[i].to,
                                .record_type = rows[i].rec, .purpose = rows[i].purpose,
                                .rules = rows[i].rules, .subject = rows[i].subject };
        cr_assert_eq (sl_audit_append (fx.a, txn, &ev, NULL), 0);
    }
    sl_audit_event_t other = { .time_us = T0 + 9, .kind = "deliver", .owner = "health",
                               .counterpart = "parking", .subject = "C-1" };
    cr_assert_eq (sl_audit_append (fx.a, txn, &other, NULL), 0);

    sl_audit_summary_t *s = sl_audit_summary_new (txn, "water", NULL);
    cr_assert_not_null (s);
    cr_assert_eq (sl_audit_summary_size (s), 4);
    const sl_audit_summary_row_t *r = sl_audit_summary_row (s, 0);
    cr_assert_str_eq (r->kind, "deliver");
    cr_assert_str_eq (r->consumer, "power");
    cr_assert_str_eq (r->rules, "w2p@3");
    cr_assert_eq (r->count, 2);
    cr_assert_eq (r->first_us, T0);
    cr_assert_eq (r->last_us, T0 + 1);
    cr_assert_eq (sl_audit_summary_row (s, 1)->count, 1);
    cr_assert_str_eq (sl_audit_summary_row (s, 1)->rules, "w2p@4");
    cr_assert_str_eq (sl_audit_summary_row (s, 2)->kind, "deny");
    cr_assert_str_eq (sl_audit_summary_row (s, 3)->kind, "queue");
    cr_assert_null (sl_audit_summary_row (s, 4));
    char *json = sl_audit_summary_json (s);
    cr_assert_not_null (strstr (json, "\"count\":2"), "%s", json);
    free (json);
    sl_audit_summary_destroy (&s);
    cr_assert_null (s);

    uint64_t seqs[16] = { 0 };
    cr_assert_eq (sl_audit_subject_report (fx.a, txn, "C-1", s_collect, seqs), 5);
    cr_assert_eq (seqs[1], 1);
    cr_assert_eq (seqs[2], 3);
    cr_assert_eq (seqs[3], 4);
    cr_assert_eq (seqs[4], 6);
    cr_assert_eq (seqs[5], 7);
    memset (seqs, 0, sizeof seqs);
    cr_assert_eq (sl_audit_subject_report (fx.a, txn, "C-404", s_collect, seqs), 0);
    mdb_txn_abort (txn);
    fx_close (&fx);
}

static int s_export_line (void *arg, const char *line)
{
    int *n = arg;
    cr_assert_not_null (strstr (line, "\"type\":\"checkpoint\""));
    (*n)++;
    return 0;
}

Test (audit, export_checkpoints)
{
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 24);
    s_fill (&fx, 1, 50, 50, 10);
    MDB_txn *txn;
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, MDB_RDONLY, &txn), 0);
    int n = 0;
    cr_assert_eq (sl_audit_export_checkpoints (txn, 25, s_export_line, &n), 3);
    cr_assert_eq (n, 3);
    mdb_txn_abort (txn);
    fx_close (&fx);
}

/* ------------------------------------------------------------------------ */

Test (audit, archive_and_verify_across_segments, .timeout = 60)
{
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 26);
    s_fill (&fx, 1, 300, 100, 20);
    MDB_txn *txn;
    char seg1[512], seg2[512];
    uint64_t n;
    /* entries 1..99 have time < T0 + 100 ms */
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    cr_assert_eq (sl_audit_archive (fx.a, txn, T0 + 100000, fx.dir, seg1, sizeof seg1, &n), 0);
    cr_assert_eq (n, 99);
    cr_assert_eq (mdb_txn_commit (txn), 0);
    sl_audit_after_commit (fx.a);
    cr_assert_eq (sl_audit_head (fx.a, NULL), 301, "the archive itself is audited");
    cr_assert_not_null (strstr (seg1, "audit-00000000000000000001-00000000000000000099.seg"), "%s", seg1);

    sl_audit_report_t r;
    /* the live log alone no longer starts at 1 */
    cr_assert_eq (s_verify_env (fx.env, fx.a, NULL, &r), SL_ECORRUPT);
    cr_assert_eq (r.verdict, SL_AUDIT_V_START);
    cr_assert_eq (r.bad_seq, 1);
    sl_audit_verify_opts_t o = { .trust_start = 1 };
    cr_assert_eq (s_verify_env (fx.env, fx.a, &o, &r), 0, "%s", r.message);
    cr_assert_eq (r.entries, 202);
    const char *segs[2] = { seg1, NULL };
    o = (sl_audit_verify_opts_t) { .segments = segs, .n_segments = 1 };
    cr_assert_eq (s_verify_env (fx.env, fx.a, &o, &r), 0, "%s", r.message);
    cr_assert_eq (r.entries, 301);
    cr_assert_eq (r.segments, 1);

    /* a second archive; segments can be given in any order */
    s_fill (&fx, 302, 310, 100, 0);
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    cr_assert_eq (sl_audit_archive (fx.a, txn, T0 + 200000, fx.dir, seg2, sizeof seg2, &n), 0);
    cr_assert_eq (n, 100);
    cr_assert_eq (mdb_txn_commit (txn), 0);
    sl_audit_after_commit (fx.a);
    const char *both[2] = { seg2, seg1 };
    o = (sl_audit_verify_opts_t) { .segments = both, .n_segments = 2 };
    cr_assert_eq (s_verify_env (fx.env, fx.a, &o, &r), 0, "%s", r.message);
    cr_assert_eq (r.entries, 311);
    cr_assert_eq (r.segments, 2);
    /* only the newer segment: the older entries are missing */
    o = (sl_audit_verify_opts_t) { .segments = both, .n_segments = 1 };
    cr_assert_eq (s_verify_env (fx.env, fx.a, &o, &r), SL_ECORRUPT);
    cr_assert_eq (r.verdict, SL_AUDIT_V_SEGMENT);
    cr_assert_eq (r.bad_seq, 1);

    /* one byte changed inside the first segment: entry 50's time */
    FILE *f = fopen (seg1, "r+b");
    cr_assert_not_null (f);
    long off = 57;
    for (int i = 1; i < 50; i++) {
        uint8_t len[4];
        fseek (f, off, SEEK_SET);
        cr_assert_eq (fread (len, 1, 4, f), 4);
        off += 4 + (long) (len[0] | len[1] << 8 | len[2] << 16 | (uint32_t) len[3] << 24);
    }
    long at = off + 4 + 10;
    fseek (f, at, SEEK_SET);
    int c = fgetc (f);
    fseek (f, at, SEEK_SET);
    fputc (c ^ 1, f);
    fclose (f);
    o = (sl_audit_verify_opts_t) { .segments = both, .n_segments = 2 };
    cr_assert_eq (s_verify_env (fx.env, fx.a, &o, &r), SL_ECORRUPT);
    cr_assert_eq (r.verdict, SL_AUDIT_V_HASH, "%s", r.message);
    cr_assert_eq (r.bad_seq, 50, "%s", r.message);
    fx_close (&fx);
}

Test (audit, million_entries_verify, .timeout = 120)
{
    fx_t fx = { 0 };
    fx_open (&fx, (size_t) 1 << 30);
    MDB_txn *txn;
    const uint64_t N = 1000000;
    uint8_t msgid[16] = { 0 };
    for (uint64_t i = 1; i <= N;) {
        cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
        for (int j = 0; j < 200000; j++, i++) {
            memcpy (msgid, &i, sizeof i);
            sl_audit_event_t ev = { .time_us = T0 + (int64_t) i, .kind = "deliver",
                                    .actor = "water", .counterpart = "power", .owner = "water",
                                    .record_type = "water.v1.MeterReading", .message_id = msgid,
                                    .purpose = "joint-metering", .decision = "permit",
                                    .rules = "water-to-power-joint-metering@3",
                                    .fields = "district,date_observed,water_consumption_m3" };
            cr_assert_eq (sl_audit_append (fx.a, txn, &ev, NULL), 0);
            if (i % 10000 == 0)
                cr_assert_eq (sl_audit_checkpoint (fx.a, txn, T0 + (int64_t) i), 0);
        }
        cr_assert_eq (mdb_txn_commit (txn), 0);
        sl_audit_after_commit (fx.a);
    }
    sl_audit_report_t r;
    cr_assert_eq (s_verify_env (fx.env, fx.a, NULL, &r), 0, "%s", r.message);
    cr_assert_eq (r.entries, N);
    cr_assert_eq (r.checkpoints, 100);
    /* query over the whole log */
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, MDB_RDONLY, &txn), 0);
    cr_assert_eq (s_count (txn, &(sl_audit_filter_t) { .since_us = T0 + 999001 }), 1000);
    mdb_txn_abort (txn);
    fx_close (&fx);
}

/* ------------------------------------------------------------------------ */
/*  The independent verifier (tests/audit/verify_audit.py, docs/AUDIT.md    */
/*  only) agrees with the library on good and tampered logs.                */

static int s_python (const char *args, char *out, size_t size)
{
    char cmd[2048];
    snprintf (cmd, sizeof cmd, "%s %s %s 2>&1", PYTHON3, VERIFY_AUDIT_PY, args);
    FILE *p = popen (cmd, "r");
    cr_assert_not_null (p);
    size_t n = fread (out, 1, size - 1, p);
    out[n] = 0;
    int st = pclose (p);
    return WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

/*  The verifier checks Ed25519 signatures with PyNaCl (Debian python3-nacl);
 *  without it these tests would prove less than they claim, so they stop. */
static void s_require_nacl (void)
{
    char cmd[512];
    snprintf (cmd, sizeof cmd, "%s -c 'import nacl.signing' 2>/dev/null", PYTHON3);
    cr_assert_eq (system (cmd), 0, "%s has no PyNaCl: apt-get install python3-nacl", PYTHON3);
}

static void s_python_expect (tamper_t how, uint64_t seq)
{
    sl_audit_report_t r;
    cr_assert_eq (s_tamper (&tfx, how, seq, &r), SL_ECORRUPT);
    char dir[256], args[1024], out[4096], want[128];
    s_tamper_copy (&tfx, how, seq, dir);
    snprintf (args, sizeof args, "--data %s --pubkey-file %s/%s", dir, tfx.dir,
              SL_AUDIT_SIGN_PUB_FILE);
    cr_assert_eq (s_python (args, out, sizeof out), 1, "%s", out);
    snprintf (want, sizeof want, "FAIL seq=%" PRIu64 " verdict=%s:", r.bad_seq,
              sl_audit_verdict_str (r.verdict));
    cr_assert_eq (strncmp (out, want, strlen (want)), 0, "python: %s C: %s", out, want);
    s_rmrf (dir);
}

Test (tamper, python_verifier_agrees, .timeout = 120)
{
    s_require_nacl ();
    char dir[256], args[1024], out[4096];
    s_tmpdir (dir, sizeof dir);
    cr_assert_eq (mdb_env_copy (tfx.env, dir), 0);
    snprintf (args, sizeof args, "--data %s --pubkey-file %s/%s", dir, tfx.dir,
              SL_AUDIT_SIGN_PUB_FILE);
    cr_assert_eq (s_python (args, out, sizeof out), 0, "%s", out);
    cr_assert_eq (strncmp (out, "ok entries=105 checkpoints=10 segments=0", 40), 0, "%s", out);
    /* another key: the first checkpoint fails */
    uint8_t pk[32], sk[64];
    char hex[65];
    crypto_sign_keypair (pk, sk);
    sl_audit_pubkey_hex (pk, hex);
    snprintf (args, sizeof args, "--data %s --pubkey %s", dir, hex);
    cr_assert_eq (s_python (args, out, sizeof out), 1, "%s", out);
    cr_assert_eq (strncmp (out, "FAIL seq=10 verdict=checkpoint-signature", 40), 0, "%s", out);
    s_rmrf (dir);

    s_python_expect (T_BYTE, 37);
    s_python_expect (T_BYTE, 105);
    s_python_expect (T_PREV_BYTE, 55);
    s_python_expect (T_DELETE, 42);
    s_python_expect (T_SWAP, 30);
    s_python_expect (T_TRUNCATE, 103);
    s_python_expect (T_TRUNCATE_FIX_HEAD, 96);
    s_python_expect (T_CP_SIG, 50);
    s_python_expect (T_CP_RESIGN, 20);
    s_python_expect (T_CP_SEQ, 80);
}

static int s_write_line (void *arg, const char *line)
{
    fprintf (arg, "%s\n", line);
    return 0;
}

/*  Writes an export (entries with seq > after, then their checkpoints). */
static void s_export (MDB_env *env, uint64_t after, const char *path)
{
    FILE *f = fopen (path, "w");
    cr_assert_not_null (f);
    MDB_txn *txn;
    cr_assert_eq (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn), 0);
    sl_audit_iter_t *it = sl_audit_iter_new (txn, &(sl_audit_filter_t) { .after_seq = after });
    sl_audit_entry_t e;
    while (sl_audit_iter_next (it, &e) == 1) {
        char *json = sl_audit_entry_json (&e);
        fprintf (f, "%s\n", json);
        free (json);
    }
    sl_audit_iter_destroy (&it);
    cr_assert_geq (sl_audit_export_checkpoints (txn, after + 1, s_write_line, f), 0);
    mdb_txn_abort (txn);
    fclose (f);
}

Test (tamper, python_verifies_export, .timeout = 60)
{
    s_require_nacl ();
    char dir[256], path[512], args[1024], out[4096];
    s_tmpdir (dir, sizeof dir);
    snprintf (path, sizeof path, "%s/export.jsonl", dir);
    s_export (tfx.env, 20, path);
    snprintf (args, sizeof args, "--export %s --pubkey-file %s/%s", path, tfx.dir,
              SL_AUDIT_SIGN_PUB_FILE);
    cr_assert_eq (s_python (args, out, sizeof out), 0, "%s", out);
    cr_assert_eq (strncmp (out, "ok entries=85 checkpoints=8", 27), 0, "%s", out);

    /* change entry 60's time inside its raw bytes (hex digit 20 = byte 10) */
    char cmd[1024];
    snprintf (cmd, sizeof cmd, "%s -c 'import json,sys\n"
              "p=sys.argv[1]\nL=open(p).read().splitlines()\nout=[]\n"
              "for l in L:\n o=json.loads(l)\n"
              " if o[\"type\"]==\"entry\" and o[\"seq\"]==60:\n"
              "  r=o[\"raw\"]; o[\"raw\"]=r[:20]+(\"0\" if r[20]!=\"0\" else \"1\")+r[21:]\n"
              " out.append(json.dumps(o))\n"
              "open(p,\"w\").write(\"\\n\".join(out)+\"\\n\")' %s", PYTHON3, path);
    cr_assert_eq (system (cmd), 0);
    cr_assert_eq (s_python (args, out, sizeof out), 1, "%s", out);
    cr_assert_eq (strncmp (out, "FAIL seq=60 verdict=hash", 24), 0, "%s", out);
    s_rmrf (dir);
}

Test (audit, python_verifies_segments, .timeout = 60)
{
    s_require_nacl ();
    fx_t fx = { 0 };
    fx_open (&fx, 1 << 26);
    s_fill (&fx, 1, 120, 60, 20);
    MDB_txn *txn;
    char seg[512], args[2048], out[4096];
    uint64_t n;
    cr_assert_eq (mdb_txn_begin (fx.env, NULL, 0, &txn), 0);
    cr_assert_eq (sl_audit_archive (fx.a, txn, T0 + 50000, fx.dir, seg, sizeof seg, &n), 0);
    cr_assert_eq (mdb_txn_commit (txn), 0);
    sl_audit_after_commit (fx.a);
    cr_assert_eq (n, 49);
    snprintf (args, sizeof args, "--data %s --segment %s --pubkey-file %s/%s", fx.dir, seg,
              fx.dir, SL_AUDIT_SIGN_PUB_FILE);
    cr_assert_eq (s_python (args, out, sizeof out), 0, "%s", out);
    cr_assert_eq (strncmp (out, "ok entries=121 checkpoints=4 segments=1", 39), 0, "%s", out);
    /* without the segment: refused, unless told to trust the start */
    snprintf (args, sizeof args, "--data %s --pubkey-file %s/%s", fx.dir, fx.dir,
              SL_AUDIT_SIGN_PUB_FILE);
    cr_assert_eq (s_python (args, out, sizeof out), 1, "%s", out);
    cr_assert_eq (strncmp (out, "FAIL seq=1 verdict=start", 24), 0, "%s", out);
    /* a flipped signature bit in the trailer */
    FILE *f = fopen (seg, "r+b");
    fseek (f, -1, SEEK_END);
    int c = fgetc (f);
    fseek (f, -1, SEEK_END);
    fputc (c ^ 1, f);
    fclose (f);
    snprintf (args, sizeof args, "--data %s --segment %s --pubkey-file %s/%s", fx.dir, seg,
              fx.dir, SL_AUDIT_SIGN_PUB_FILE);
    cr_assert_eq (s_python (args, out, sizeof out), 1, "%s", out);
    cr_assert_eq (strncmp (out, "FAIL seq=49 verdict=segment", 27), 0, "%s", out);
    sl_audit_report_t r;
    const char *segs[1] = { seg };
    sl_audit_verify_opts_t o = { .segments = segs, .n_segments = 1 };
    cr_assert_eq (sl_audit_verify (fx.env, sl_audit_pubkey (fx.a), &o, &r), SL_ECORRUPT);
    cr_assert_eq (r.verdict, SL_AUDIT_V_SEGMENT);
    cr_assert_eq (r.bad_seq, 49);
    fx_close (&fx);
}

static void
s_ranges (uint64_t first, uint64_t last, void *arg)
{
    char *out = arg;
    size_t o = strlen (out);
    snprintf (out + o, 256 - o, "[%llu,%llu]", (unsigned long long) first, (unsigned long long) last);
}

Test (audit, ack_tag_lists_parse_exactly_as_documented)
{
    char got[256] = "";
    const char *d = "tags=1099511627777-1099511627840,1099511627843";
    cr_assert_eq (sl_audit_ack_tags (d, strlen (d), s_ranges, got), 65);
    cr_assert_str_eq (got, "[1099511627777,1099511627840][1099511627843,1099511627843]");
    cr_assert_eq (sl_audit_ack_tags ("tags=7", 6, NULL, NULL), 1);
    const char *bad[] = { "tags=", "tag=7", "tags=7,", "tags=07", "tags=8,7", "tags=7,7",
                          "tags=5-5", "tags=9-3", "tags=1-3,3", "tags=1 2", "tags=-3",
                          "tags=99999999999999999999" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq (sl_audit_ack_tags (bad[i], strlen (bad[i]), NULL, NULL), SL_ECORRUPT,
                      "accepted '%s'", bad[i]);
}

static void
s_collect_tags (uint64_t first, uint64_t last, void *arg)
{
    uint64_t **p = arg;
    for (uint64_t t = first; t <= last; t++)
        *(*p)++ = t;
}

Test (audit, ack_details_hold_runs_and_split_long_lists)
{
    /* runs are written FIRST-LAST */
    uint64_t run[] = { 1099511627777ull, 1099511627778ull, 1099511627779ull, 1099511627790ull };
    char buf[SL_AUDIT_ACK_DETAIL_CAP];
    cr_assert_eq (sl_audit_ack_detail (run, 4, buf), 4);
    cr_assert_str_eq (buf, "tags=1099511627777-1099511627779,1099511627790");
    /* 1000 tags with gaps: several details, each within the bound, which
     * read back give exactly the tags, in order */
    static uint64_t tags[1000], back[1000];
    for (size_t i = 0; i < 1000; i++)
        tags[i] = 1099511627777ull + 2 * i;
    uint64_t *w = back;
    size_t done = 0, entries = 0;
    while (done < 1000) {
        size_t k = sl_audit_ack_detail (tags + done, 1000 - done, buf);
        cr_assert_gt (k, 0);
        cr_assert_lt (strlen (buf), SL_AUDIT_ACK_DETAIL_CAP);
        cr_assert_eq (sl_audit_ack_tags (buf, strlen (buf), s_collect_tags, &w), (long) k, "%s", buf);
        done += k;
        entries++;
    }
    cr_assert_gt (entries, 1, "a 14 KB list in one entry");
    cr_assert_eq (memcmp (back, tags, sizeof tags), 0);
}

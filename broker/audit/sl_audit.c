/*  sl_audit — the tamper-evident audit log.
 *
 *  Design notes (docs/AUDIT.md has the byte-exact formats):
 *
 *  1. Entries live in `audit.log`, key = seq as 8 bytes big-endian, value =
 *     the canonical entry bytes (version 1, little-endian integers, 13
 *     length-prefixed fields in a fixed order). An entry's hash is
 *     BLAKE2b-256 of its whole stored value; each value contains the hash of
 *     the entry before it (32 zero bytes before seq 1). Changing, inserting or
 *     deleting an entry therefore breaks the chain at that point.
 *  2. `audit.meta` holds two records written in the same transaction as the
 *     entries: "head" (last seq + its hash) and "start" (first live seq + the
 *     hash of the entry before it). The head makes a truncated tail visible;
 *     start lets the live log begin after archived segments.
 *  3. The chain head for an append is read from the caller's transaction
 *     (the "head" record), never from memory. So whether the caller commits
 *     or aborts, the next append continues from what the transaction really
 *     contains. The in-memory copy (`committed`) only schedules checkpoints
 *     and answers sl_audit_head(); after_commit/after_abort keep it exact.
 *  4. A checkpoint signs (seq, time, hash of entry seq). Archive segments end
 *     with a signed trailer over their header and their last hash, which by
 *     (1) covers every entry inside.
 *  5. Verification walks one cursor over `audit.log` and one over
 *     `audit.checkpoints` side by side, hashes each value once and allocates
 *     nothing per entry.
 *
 *  Files: this one holds keys, opening, the entry encoding, append and
 *  checkpoints; sl_audit_review.c reading (filters, JSON, summary, subject
 *  report); sl_audit_verify.c verification; sl_audit_archive.c segments.
 */
#include "sl_audit_int.h"
#include "sl_error.h"
#include "sl_lmdb.h"
#include "sl_time.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/*  Small helpers                                                           */

static int s_unhex (const char *hex, size_t hexlen, uint8_t *out, size_t outlen)
{
    if (hexlen != 2 * outlen)
        return -1;
    for (size_t i = 0; i < hexlen; i++) {
        char c = hex[i];
        int v = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (v < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t) (v << 4);
        else
            out[i / 2] |= (uint8_t) v;
    }
    return 0;
}

int64_t sl_audit__now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sl_audit__utc (int64_t us, char out[64])
{
    sl_time_format_us (us, NULL, out, 64);
}

/* ------------------------------------------------------------------------ */
/*  Keys                                                                    */

/*  Writes `text` to DIR/NAME with `mode`, exclusively. */
static int s_write_file (const char *dir, const char *name, const char *text,
                         mode_t mode, char *err, size_t errlen)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (fd < 0) {
        sl_err_set (err, errlen, "%s: %s", path, strerror (errno));
        return errno == EEXIST ? SL_EEXIST : SL_EIO;
    }
    size_t len = strlen (text);
    int rc = SL_OK;
    if (fchmod (fd, mode) != 0 || write (fd, text, len) != (ssize_t) len || fsync (fd) != 0)
        rc = sl_audit__fail (err, errlen, SL_EIO, "%s: %s", path, strerror (errno));
    close (fd);
    return rc;
}

/*  Writes key bytes as DIR/NAME: "# TITLE\nFIELD = HEX\n", exclusively.
 *  The text is wiped from memory afterwards. */
static int s_write_key (const char *dir, const char *name, const char *title,
                        const char *field, const uint8_t *key, size_t len, mode_t mode,
                        char *err, size_t errlen)
{
    char hex[2 * crypto_sign_SECRETKEYBYTES + 1], text[512];
    assert (len <= crypto_sign_SECRETKEYBYTES);
    sl_audit__hex (key, len, hex);
    snprintf (text, sizeof text, "# %s\n%s = %s\n", title, field, hex);
    int rc = s_write_file (dir, name, text, mode, err, errlen);
    sodium_memzero (text, sizeof text);
    sodium_memzero (hex, sizeof hex);
    return rc;
}

int sl_audit_keygen (const char *dir, char *err, size_t errlen)
{
    assert (dir);
    if (sodium_init () < 0)
        return SL_EIO;
    const char *names[] = { SL_AUDIT_SIGN_KEY_FILE, SL_AUDIT_SIGN_PUB_FILE,
                            SL_AUDIT_PSEUDO_KEY_FILE };
    for (int i = 0; i < 3; i++) {
        char path[4096];
        struct stat st;
        snprintf (path, sizeof path, "%s/%s", dir, names[i]);
        if (stat (path, &st) == 0)
            return sl_audit__fail (err, errlen, SL_EEXIST, "%s: exists; refusing to overwrite "
                                   "audit keys", path);
    }
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], pkey[32];
    crypto_sign_keypair (pk, sk);
    randombytes_buf (pkey, sizeof pkey);

    int rc = s_write_key (dir, SL_AUDIT_SIGN_KEY_FILE,
                          "sluice audit signing key (Ed25519) - keep private", "secret-key",
                          sk, sizeof sk, 0600, err, errlen);
    if (rc == 0)
        rc = s_write_key (dir, SL_AUDIT_SIGN_PUB_FILE,
                          "sluice audit public key (Ed25519): publish it", "public-key",
                          pk, sizeof pk, 0644, err, errlen);
    if (rc == 0)
        rc = s_write_key (dir, SL_AUDIT_PSEUDO_KEY_FILE,
                          "sluice audit pseudonym key - keep private", "pseudonym-key",
                          pkey, sizeof pkey, 0600, err, errlen);
    sodium_memzero (sk, sizeof sk);
    sodium_memzero (pkey, sizeof pkey);
    return rc;
}

/*  Reads `name = HEX` from a key file into `out` (outlen bytes). With
 *  `secret`, refuses a file group or others may read. */
static int s_read_key (const char *path, const char *name, int secret,
                       uint8_t *out, size_t outlen, char *err, size_t errlen)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return sl_audit__fail (err, errlen, SL_EIO, "%s: %s", path, strerror (errno));
    int rc = SL_EKEY;
    struct stat st;
    if (secret && (fstat (fileno (f), &st) != 0 || (st.st_mode & 077))) {
        sl_err_set (err, errlen, "%s: readable by group or others; chmod 600 it", path);
        goto out;
    }
    char line[1024];
    int lineno = 0, found = 0;
    while (fgets (line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == 0)
            continue;
        char *eq = strchr (p, '=');
        if (!eq) {
            sl_err_set (err, errlen, "%s:%d: expected 'name = value'", path, lineno);
            goto out;
        }
        char *kend = eq;
        while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
            kend--;
        if ((size_t) (kend - p) != strlen (name) || memcmp (p, name, strlen (name)) != 0)
            continue;
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vlen = strcspn (v, " \t\r\n");
        if (s_unhex (v, vlen, out, outlen) != 0) {
            sl_err_set (err, errlen, "%s:%d: %s must be %zu hex digits", path, lineno,
                   name, 2 * outlen);
            goto out;
        }
        found = 1;
        break;
    }
    if (!found) {
        sl_err_set (err, errlen, "%s:%d: no '%s = ...' line", path, lineno, name);
        goto out;
    }
    rc = SL_OK;
out:
    sodium_memzero (line, sizeof line);
    fclose (f);
    return rc;
}

int sl_audit_load_pubkey (const char *path, uint8_t pk[SL_AUDIT_PK_LEN],
                          char *err, size_t errlen)
{
    assert (path && pk);
    return s_read_key (path, "public-key", 0, pk, SL_AUDIT_PK_LEN, err, errlen);
}

int sl_audit_pubkey_from_hex (const char *hex, uint8_t pk[SL_AUDIT_PK_LEN])
{
    assert (hex && pk);
    return s_unhex (hex, strlen (hex), pk, SL_AUDIT_PK_LEN) == 0 ? SL_OK : SL_EKEY;
}

void sl_audit_pubkey_hex (const uint8_t pk[SL_AUDIT_PK_LEN], char out[SL_AUDIT_PK_HEX_LEN + 1])
{
    sl_audit__hex (pk, SL_AUDIT_PK_LEN, out);
}

/* ------------------------------------------------------------------------ */
/*  Open / close                                                            */

int sl_audit__read_meta (MDB_txn *txn, MDB_dbi db, const char *name,
                        uint64_t *seq, uint8_t hash[SL_AUDIT_HASH_LEN])
{
    MDB_val k = { strlen (name), (void *) name }, v;
    int rc = mdb_get (txn, db, &k, &v);
    if (rc)
        return sl_lmdb_rc (rc);
    if (v.mv_size != META_LEN)
        return SL_ECORRUPT;
    *seq = sl_audit__get64le (v.mv_data);
    memcpy (hash, (uint8_t *) v.mv_data + 8, SL_AUDIT_HASH_LEN);
    return SL_OK;
}

int sl_audit__write_meta (MDB_txn *txn, MDB_dbi db, const char *name,
                         uint64_t seq, const uint8_t hash[SL_AUDIT_HASH_LEN])
{
    uint8_t buf[META_LEN];
    sl_audit__put64le (buf, seq);
    memcpy (buf + 8, hash, SL_AUDIT_HASH_LEN);
    MDB_val k = { strlen (name), (void *) name }, v = { sizeof buf, buf };
    return sl_lmdb_rc (mdb_put (txn, db, &k, &v, 0));
}

int sl_audit__open_dbs (MDB_txn *txn, unsigned flags, MDB_dbi *log, MDB_dbi *cp, MDB_dbi *meta)
{
    int rc = mdb_dbi_open (txn, DB_LOG, flags, log);
    if (!rc)
        rc = mdb_dbi_open (txn, DB_CP, flags, cp);
    if (!rc)
        rc = mdb_dbi_open (txn, DB_META, flags, meta);
    return rc;
}

/*  Reads the committed head and the last checkpoint into `self`. */
static int s_load_state (sl_audit_t *self, MDB_txn *txn)
{
    int rc = sl_audit__read_meta (txn, self->db_meta, "head", &self->head_seq, self->head_hash);
    if (rc == SL_ENOTFOUND) {
        self->head_seq = 0;
        memset (self->head_hash, 0, SL_AUDIT_HASH_LEN);
        rc = SL_OK;
    }
    if (rc)
        return rc;
    MDB_cursor *c;
    if (mdb_cursor_open (txn, self->db_cp, &c))
        return SL_ESTORE;
    MDB_val k, v;
    self->cp_seq = 0;
    self->cp_time = 0;
    if (mdb_cursor_get (c, &k, &v, MDB_LAST) == 0 && v.mv_size == CP_LEN) {
        self->cp_seq = sl_audit__get64le ((uint8_t *) v.mv_data + 1);
        self->cp_time = (int64_t) sl_audit__get64le ((uint8_t *) v.mv_data + 9);
    }
    mdb_cursor_close (c);
    return SL_OK;
}

sl_audit_t *sl_audit_open (MDB_env *env, const char *key_dir, int flags,
                           char *err, size_t errlen)
{
    assert (env && key_dir);
    if (sodium_init () < 0) {
        sl_err_set (err, errlen, "libsodium failed to initialise");
        return NULL;
    }
    sl_audit_t *self = calloc (1, sizeof *self);
    if (!self) {
        sl_err_set (err, errlen, "out of memory");
        return NULL;
    }
    self->env = env;
    self->rdonly = (flags & SL_AUDIT_RDONLY) != 0;
    char path[4096];
    MDB_txn *txn = NULL;
    int rc;

    snprintf (path, sizeof path, "%s/%s", key_dir, SL_AUDIT_PSEUDO_KEY_FILE);
    rc = s_read_key (path, "pseudonym-key", 1, self->pseudo_key, 32, err, errlen);
    if (rc == SL_OK)
        self->has_pseudo = 1;
    else if (!self->rdonly || rc != SL_EIO)
        goto fail;
    if (!self->rdonly) {
        snprintf (path, sizeof path, "%s/%s", key_dir, SL_AUDIT_SIGN_KEY_FILE);
        if (s_read_key (path, "secret-key", 1, self->sk, sizeof self->sk, err, errlen))
            goto fail;
        self->has_sk = 1;
        memcpy (self->pk, self->sk + 32, SL_AUDIT_PK_LEN);
        uint8_t check[32];
        crypto_sign_ed25519_sk_to_pk (check, self->sk);
        if (memcmp (check, self->pk, 32) != 0) {
            sl_err_set (err, errlen, "%s: secret key is damaged (public half does not match)", path);
            goto fail;
        }
    }
    else {
        snprintf (path, sizeof path, "%s/%s", key_dir, SL_AUDIT_SIGN_PUB_FILE);
        if (sl_audit_load_pubkey (path, self->pk, err, errlen))
            goto fail;
    }

    rc = mdb_txn_begin (env, NULL, self->rdonly ? MDB_RDONLY : 0, &txn);
    if (rc) {
        sl_err_set (err, errlen, "audit: cannot begin transaction: %s", mdb_strerror (rc));
        goto fail;
    }
    rc = sl_audit__open_dbs (txn, self->rdonly ? 0 : MDB_CREATE, &self->db_log, &self->db_cp,
                     &self->db_meta);
    if (rc) {
        sl_err_set (err, errlen, "audit: cannot open databases: %s%s", mdb_strerror (rc),
               rc == MDB_NOTFOUND ? " (no audit log in this data directory)" : "");
        goto fail;
    }
    if (s_load_state (self, txn)) {
        sl_err_set (err, errlen, "audit: %s record is damaged", DB_META);
        goto fail;
    }
    /* commit even a read-only txn: an abort would close the new db handles */
    rc = mdb_txn_commit (txn);
    txn = NULL;
    if (rc) {
        sl_err_set (err, errlen, "audit: cannot commit: %s", mdb_strerror (rc));
        goto fail;
    }
    return self;
fail:
    if (txn)
        mdb_txn_abort (txn);
    sl_audit_destroy (&self);
    return NULL;
}

void sl_audit_destroy (sl_audit_t **self_p)
{
    assert (self_p);
    sl_audit_t *self = *self_p;
    if (!self)
        return;
    sodium_memzero (self->sk, sizeof self->sk);
    sodium_memzero (self->pseudo_key, sizeof self->pseudo_key);
    sodium_memzero (self->last_subject, sizeof self->last_subject);
    free (self->buf);
    free (self);
    *self_p = NULL;
}

/* ------------------------------------------------------------------------ */
/*  Encoding                                                                */

int sl_audit_pseudonym (const sl_audit_t *self, const char *raw_id,
                        uint8_t out[SL_AUDIT_PSEUDO_LEN])
{
    assert (self && raw_id && out);
    if (!self->has_pseudo)
        return SL_EKEY;
    crypto_generichash (out, SL_AUDIT_PSEUDO_LEN, (const uint8_t *) raw_id,
                        strlen (raw_id), self->pseudo_key, sizeof self->pseudo_key);
    return SL_OK;
}

static uint8_t *s_put_field (uint8_t *p, const void *data, size_t len)
{
    p[0] = (uint8_t) len;
    p[1] = (uint8_t) (len >> 8);
    if (len)
        memcpy (p + 2, data, len);
    return p + 2 + len;
}

/*  Encodes `ev` as entry `seq` after `prev` into self->buf. */
static int s_encode (sl_audit_t *self, const sl_audit_event_t *ev, uint64_t seq,
                     const uint8_t prev[SL_AUDIT_HASH_LEN], size_t *len_out)
{
    uint8_t pseudo[SL_AUDIT_PSEUDO_LEN];
    const uint8_t *subject = ev->subject_pseudonym;
    if (!subject && ev->subject && *ev->subject) {
        /* the key never changes while open, so the pseudonym of the subject
         * asked for last time can be reused */
        if (self->last_subject[0] && strcmp (self->last_subject, ev->subject) == 0)
            memcpy (pseudo, self->last_pseudo, sizeof pseudo);
        else {
            if (sl_audit_pseudonym (self, ev->subject, pseudo))
                return SL_EINVAL;
            size_t n = strlen (ev->subject);
            if (n < sizeof self->last_subject) {
                memcpy (self->last_subject, ev->subject, n + 1);
                memcpy (self->last_pseudo, pseudo, sizeof pseudo);
            }
            else
                self->last_subject[0] = 0;
        }
        subject = pseudo;
    }
    const char *s[ENTRY_NFIELDS] = {
        ev->kind, ev->actor, ev->counterpart, ev->owner, ev->record_type,
        NULL, NULL, ev->purpose, ev->decision, ev->rules, ev->fields,
        ev->reason, ev->detail
    };
    size_t lens[ENTRY_NFIELDS];
    size_t total = ENTRY_FIXED;
    for (int i = 0; i < ENTRY_NFIELDS; i++) {
        if (i == 5)
            lens[i] = ev->message_id ? SL_AUDIT_MSGID_LEN : 0;
        else if (i == 6)
            lens[i] = subject ? SL_AUDIT_PSEUDO_LEN : 0;
        else
            lens[i] = s[i] ? strlen (s[i]) : 0;
        if (lens[i] > SL_AUDIT_FIELD_MAX)
            return SL_EINVAL;
        total += 2 + lens[i];
    }
    if (total > self->buf_size) {
        uint8_t *nb = realloc (self->buf, total + 256);
        if (!nb)
            return SL_ENOMEM;
        self->buf = nb;
        self->buf_size = total + 256;
    }
    uint8_t *p = self->buf;
    p[0] = ENTRY_VERSION;
    sl_audit__put64le (p + 1, seq);
    sl_audit__put64le (p + 9, (uint64_t) (ev->time_us ? ev->time_us : sl_audit__now_us ()));
    memcpy (p + 17, prev, SL_AUDIT_HASH_LEN);
    p += ENTRY_FIXED;
    for (int i = 0; i < ENTRY_NFIELDS; i++) {
        const void *d = i == 5 ? (const void *) ev->message_id
                      : i == 6 ? (const void *) subject : (const void *) s[i];
        p = s_put_field (p, d, lens[i]);
    }
    *len_out = total;
    return SL_OK;
}

int sl_audit_decode (const void *data, size_t len, sl_audit_entry_t *out)
{
    assert (data && out);
    const uint8_t *p = data, *end = p + len;
    if (len < ENTRY_FIXED + 2 * ENTRY_NFIELDS || p[0] != ENTRY_VERSION)
        return SL_ECORRUPT;
    out->seq = sl_audit__get64le (p + 1);
    out->time_us = (int64_t) sl_audit__get64le (p + 9);
    out->prev_hash = p + 17;
    out->raw = p;
    out->raw_len = len;
    p += ENTRY_FIXED;
    sl_audit_str_t f[ENTRY_NFIELDS];
    for (int i = 0; i < ENTRY_NFIELDS; i++) {
        if (end - p < 2)
            return SL_ECORRUPT;
        size_t flen = (size_t) p[0] | ((size_t) p[1] << 8);
        p += 2;
        if ((size_t) (end - p) < flen)
            return SL_ECORRUPT;
        f[i].ptr = (const char *) p;
        f[i].len = flen;
        p += flen;
    }
    if (p != end)
        return SL_ECORRUPT;
    if ((f[5].len != 0 && f[5].len != SL_AUDIT_MSGID_LEN)
    ||  (f[6].len != 0 && f[6].len != SL_AUDIT_PSEUDO_LEN) || f[0].len == 0)
        return SL_ECORRUPT;
    out->kind = f[0];
    out->actor = f[1];
    out->counterpart = f[2];
    out->owner = f[3];
    out->record_type = f[4];
    out->message_id = f[5].len ? (const uint8_t *) f[5].ptr : NULL;
    out->subject = f[6].len ? (const uint8_t *) f[6].ptr : NULL;
    out->purpose = f[7];
    out->decision = f[8];
    out->rules = f[9];
    out->fields = f[10];
    out->reason = f[11];
    out->detail = f[12];
    return SL_OK;
}

/* ------------------------------------------------------------------------ */
/*  Writer                                                                  */

/*  The head as `txn` sees it: from the meta record, or empty. */
int sl_audit__txn_head (sl_audit_t *self, MDB_txn *txn, uint64_t *seq,
                       uint8_t hash[SL_AUDIT_HASH_LEN])
{
    int rc = sl_audit__read_meta (txn, self->db_meta, "head", seq, hash);
    if (rc == SL_ENOTFOUND) {
        *seq = 0;
        memset (hash, 0, SL_AUDIT_HASH_LEN);
        return SL_OK;
    }
    return rc;
}

int sl_audit_append (sl_audit_t *self, MDB_txn *txn, const sl_audit_event_t *ev,
                     uint64_t *seq_out)
{
    assert (self && txn && ev);
    if (self->rdonly)
        return SL_EPERM;
    if (!ev->kind || !*ev->kind)
        return SL_EINVAL;
    uint64_t seq;
    uint8_t prev[SL_AUDIT_HASH_LEN];
    int rc = sl_audit__txn_head (self, txn, &seq, prev);
    if (rc)
        return rc;
    if (seq == 0) {
        /* the first entry ever: record where the live log starts */
        rc = sl_audit__write_meta (txn, self->db_meta, "start", 1, prev);
        if (rc)
            return rc;
    }
    seq++;
    size_t len;
    rc = s_encode (self, ev, seq, prev, &len);
    if (rc)
        return rc;
    uint8_t key[8], hash[SL_AUDIT_HASH_LEN];
    sl_audit__put64be (key, seq);
    MDB_val k = { 8, key }, v = { len, self->buf };
    rc = mdb_put (txn, self->db_log, &k, &v, MDB_APPEND);
    if (rc)
        return rc == MDB_KEYEXIST ? SL_ECORRUPT : sl_lmdb_rc (rc);
    sl_audit__hash (self->buf, len, hash);
    rc = sl_audit__write_meta (txn, self->db_meta, "head", seq, hash);
    if (rc)
        return rc;
    self->pend = 1;
    self->pend_seq = seq;
    memcpy (self->pend_hash, hash, SL_AUDIT_HASH_LEN);
    if (seq_out)
        *seq_out = seq;
    return SL_OK;
}

void sl_audit__cp_message (const uint8_t *cp, uint8_t msg[CP_MSG_LEN])
{
    memcpy (msg, CP_CONTEXT, sizeof CP_CONTEXT - 1);
    memcpy (msg + sizeof CP_CONTEXT - 1, cp, CP_SIGNED_LEN);
}

static void s_cp_sign (const uint8_t *sk, uint8_t cp[CP_LEN])
{
    uint8_t msg[CP_MSG_LEN];
    sl_audit__cp_message (cp, msg);
    crypto_sign_detached (cp + CP_SIGNED_LEN, NULL, msg, sizeof msg, sk);
}

int sl_audit_checkpoint (sl_audit_t *self, MDB_txn *txn, int64_t now_us)
{
    assert (self && txn);
    if (self->rdonly || !self->has_sk)
        return SL_EPERM;
    uint64_t seq;
    uint8_t hash[SL_AUDIT_HASH_LEN];
    int rc = sl_audit__txn_head (self, txn, &seq, hash);
    if (rc || seq == 0)
        return rc;
    uint8_t key[8];
    sl_audit__put64be (key, seq);
    MDB_val k = { 8, key }, v;
    rc = mdb_get (txn, self->db_cp, &k, &v);
    if (rc == 0)
        return SL_OK;              /* this head is already signed */
    if (rc != MDB_NOTFOUND)
        return sl_lmdb_rc (rc);
    int64_t t = now_us ? now_us : sl_audit__now_us ();
    uint8_t cp[CP_LEN];
    cp[0] = CP_VERSION;
    sl_audit__put64le (cp + 1, seq);
    sl_audit__put64le (cp + 9, (uint64_t) t);
    memcpy (cp + 17, hash, SL_AUDIT_HASH_LEN);
    s_cp_sign (self->sk, cp);
    v.mv_size = CP_LEN;
    v.mv_data = cp;
    rc = mdb_put (txn, self->db_cp, &k, &v, 0);
    if (rc)
        return sl_lmdb_rc (rc);
    self->pend_cp = 1;
    self->pend_cp_seq = seq;
    self->pend_cp_time = t;
    return SL_OK;
}

void sl_audit_after_commit (sl_audit_t *self)
{
    assert (self);
    if (self->pend) {
        self->head_seq = self->pend_seq;
        memcpy (self->head_hash, self->pend_hash, SL_AUDIT_HASH_LEN);
    }
    if (self->pend_cp) {
        self->cp_seq = self->pend_cp_seq;
        self->cp_time = self->pend_cp_time;
    }
    self->pend = self->pend_cp = 0;
}

void sl_audit_after_abort (sl_audit_t *self)
{
    assert (self);
    self->pend = self->pend_cp = 0;
}

void sl_audit_txn_outcome (void *ctx, int committed)
{
    if (committed)
        sl_audit_after_commit (ctx);
    else
        sl_audit_after_abort (ctx);
}

int sl_audit_checkpoint_due (const sl_audit_t *self, uint64_t every_n,
                             int64_t every_us, int64_t now_us)
{
    assert (self);
    if (self->head_seq <= self->cp_seq)
        return 0;
    if (every_n && self->head_seq - self->cp_seq >= every_n)
        return 1;
    if (every_us) {
        int64_t now = now_us ? now_us : sl_audit__now_us ();
        if (now - self->cp_time >= every_us)
            return 1;
    }
    return 0;
}

uint64_t sl_audit_head (const sl_audit_t *self, uint8_t hash[SL_AUDIT_HASH_LEN])
{
    assert (self);
    if (hash)
        memcpy (hash, self->head_hash, SL_AUDIT_HASH_LEN);
    return self->head_seq;
}

uint64_t sl_audit_last_checkpoint (const sl_audit_t *self, int64_t *time_us)
{
    assert (self);
    if (time_us)
        *time_us = self->cp_time;
    return self->cp_seq;
}

const uint8_t *sl_audit_pubkey (const sl_audit_t *self)
{
    assert (self);
    return self->pk;
}

/* ------------------------------------------------------------------------ */
/*  Checkpoint text and export                                              */

int sl_audit_checkpoint_text (MDB_txn *txn, char *buf, size_t size)
{
    assert (txn && buf);
    MDB_dbi db;
    if (mdb_dbi_open (txn, DB_CP, 0, &db))
        return SL_ENOTFOUND;
    MDB_cursor *c;
    if (mdb_cursor_open (txn, db, &c))
        return SL_ESTORE;
    MDB_val k, v;
    int rc = mdb_cursor_get (c, &k, &v, MDB_LAST);
    mdb_cursor_close (c);
    if (rc)
        return sl_lmdb_rc (rc);
    if (v.mv_size != CP_LEN)
        return SL_ECORRUPT;
    const uint8_t *cp = v.mv_data;
    char hash[65], sig[129], when[64];
    sl_audit__hex (cp + 17, 32, hash);
    sl_audit__hex (cp + CP_SIGNED_LEN, 64, sig);
    int64_t t = (int64_t) sl_audit__get64le (cp + 9);
    sl_audit__utc (t, when);
    int n = snprintf (buf, size,
                      "sluice-audit-checkpoint v1\n"
                      "seq %" PRIu64 "\n"
                      "time %s\n"
                      "time-us %" PRId64 "\n"
                      "hash %s\n"
                      "signature %s\n",
                      sl_audit__get64le (cp + 1), when, t, hash, sig);
    return n < 0 || (size_t) n >= size ? SL_ETOOBIG : SL_OK;
}

static char *s_cp_json (const uint8_t *cp)
{
    char hash[65], sig[129], when[64], raw[2 * CP_LEN + 1];
    sl_audit__hex (cp + 17, 32, hash);
    sl_audit__hex (cp + CP_SIGNED_LEN, 64, sig);
    sl_audit__hex (cp, CP_LEN, raw);
    int64_t t = (int64_t) sl_audit__get64le (cp + 9);
    sl_audit__utc (t, when);
    char *out = NULL;
    if (asprintf (&out, "{\"type\":\"checkpoint\",\"seq\":%" PRIu64 ",\"time_us\":%" PRId64
                  ",\"time\":\"%s\",\"hash\":\"%s\",\"signature\":\"%s\",\"raw\":\"%s\"}",
                  sl_audit__get64le (cp + 1), t, when, hash, sig, raw) < 0)
        return NULL;
    return out;
}

int64_t sl_audit_export_checkpoints (MDB_txn *txn, uint64_t from_seq,
                                     sl_audit_text_fn *fn, void *arg)
{
    assert (txn && fn);
    MDB_dbi db;
    if (mdb_dbi_open (txn, DB_CP, 0, &db))
        return 0;
    MDB_cursor *c;
    if (mdb_cursor_open (txn, db, &c))
        return SL_ESTORE;
    uint8_t key[8];
    sl_audit__put64be (key, from_seq);
    MDB_val k = { 8, key }, v;
    int64_t n = 0;
    int rc = mdb_cursor_get (c, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (v.mv_size != CP_LEN) {
            n = SL_ECORRUPT;
            break;
        }
        char *line = s_cp_json (v.mv_data);
        if (!line) {
            n = SL_ENOMEM;
            break;
        }
        int stop = fn (arg, line);
        free (line);
        n++;
        if (stop)
            break;
        rc = mdb_cursor_get (c, &k, &v, MDB_NEXT);
    }
    if (rc && rc != MDB_NOTFOUND && n >= 0)
        n = SL_ESTORE;
    mdb_cursor_close (c);
    return n;
}


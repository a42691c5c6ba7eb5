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
 */
#include "sl_audit.h"
#include "sl_error.h"

#include <sodium.h>
#include <cjson/cJSON.h>

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

#define DB_LOG    "audit.log"
#define DB_CP     "audit.checkpoints"
#define DB_META   "audit.meta"

#define ENTRY_VERSION   1
#define ENTRY_FIXED     49          /* version + seq + time + prev_hash */
#define ENTRY_NFIELDS   13
#define CP_VERSION      1
#define CP_SIGNED_LEN   49          /* version + seq + time + hash */
#define CP_LEN          (CP_SIGNED_LEN + SL_AUDIT_SIG_LEN)
#define CP_CONTEXT      "sluice.audit.checkpoint.v1"
#define SEG_CONTEXT     "sluice.audit.segment.v1"
#define SEG_MAGIC       "SLAUDSEG"
#define SEG_END_MAGIC   "SLAUDEND"
#define SEG_VERSION     1
#define SEG_HEADER_LEN  57
#define SEG_TRAILER_SIGNED 56
#define SEG_TRAILER_LEN (SEG_TRAILER_SIGNED + SL_AUDIT_SIG_LEN)
#define META_LEN        40          /* seq (LE) + hash */

struct sl_audit_s {
    MDB_env  *env;
    MDB_dbi   db_log, db_cp, db_meta;
    int       rdonly;
    int       has_sk, has_pseudo;
    uint8_t   sk[crypto_sign_SECRETKEYBYTES];
    uint8_t   pk[SL_AUDIT_PK_LEN];
    uint8_t   pseudo_key[32];
    /* committed state */
    uint64_t  head_seq;
    uint8_t   head_hash[SL_AUDIT_HASH_LEN];
    uint64_t  cp_seq;
    int64_t   cp_time;
    /* state of the open transaction, promoted by after_commit */
    int       pend;
    uint64_t  pend_seq;
    uint8_t   pend_hash[SL_AUDIT_HASH_LEN];
    int       pend_cp;
    uint64_t  pend_cp_seq;
    int64_t   pend_cp_time;
    uint8_t  *buf;
    size_t    buf_size;
};

/* ------------------------------------------------------------------------ */
/*  Small helpers                                                           */

static void s_put64le (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t s_get64le (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void s_put64be (uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[7 - i] = (uint8_t) (v >> (8 * i));
}

static uint64_t s_get64be (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static int64_t s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void s_err (char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err, errlen, fmt, ap);
    va_end (ap);
}

static void s_hex (const uint8_t *bin, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[bin[i] >> 4];
        out[2 * i + 1] = digits[bin[i] & 15];
    }
    out[2 * len] = 0;
}

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

static void s_hash (const void *data, size_t len, uint8_t out[SL_AUDIT_HASH_LEN])
{
    crypto_generichash (out, SL_AUDIT_HASH_LEN, data, len, NULL, 0);
}

static int s_mdb_rc (int rc)
{
    if (rc == 0)
        return SL_OK;
    if (rc == MDB_MAP_FULL || rc == MDB_TXN_FULL)
        return SL_EFULL;
    if (rc == MDB_NOTFOUND)
        return SL_ENOTFOUND;
    return SL_ESTORE;
}

static void s_utc (int64_t us, char out[64])
{
    time_t secs = (time_t) (us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    int64_t frac = us - (int64_t) secs * 1000000;
    struct tm tm;
    gmtime_r (&secs, &tm);
    snprintf (out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06" PRId64 "Z",
              tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
              tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
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
        s_err (err, errlen, "%s: %s", path, strerror (errno));
        return errno == EEXIST ? SL_EEXIST : SL_EIO;
    }
    size_t len = strlen (text);
    int rc = SL_OK;
    if (fchmod (fd, mode) != 0 || write (fd, text, len) != (ssize_t) len || fsync (fd) != 0) {
        s_err (err, errlen, "%s: %s", path, strerror (errno));
        rc = SL_EIO;
    }
    close (fd);
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
        if (stat (path, &st) == 0) {
            s_err (err, errlen, "%s: exists; refusing to overwrite audit keys", path);
            return SL_EEXIST;
        }
    }
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], pkey[32];
    crypto_sign_keypair (pk, sk);
    randombytes_buf (pkey, sizeof pkey);

    char hex[2 * crypto_sign_SECRETKEYBYTES + 1];
    char text[512];
    int rc;
    s_hex (sk, sizeof sk, hex);
    snprintf (text, sizeof text,
              "# sluice audit signing key (Ed25519) - keep private\nsecret-key = %s\n", hex);
    rc = s_write_file (dir, SL_AUDIT_SIGN_KEY_FILE, text, 0600, err, errlen);
    if (rc)
        goto out;
    s_hex (pk, sizeof pk, hex);
    snprintf (text, sizeof text,
              "# sluice audit public key (Ed25519): publish it\npublic-key = %s\n", hex);
    rc = s_write_file (dir, SL_AUDIT_SIGN_PUB_FILE, text, 0644, err, errlen);
    if (rc)
        goto out;
    s_hex (pkey, sizeof pkey, hex);
    snprintf (text, sizeof text,
              "# sluice audit pseudonym key - keep private\npseudonym-key = %s\n", hex);
    rc = s_write_file (dir, SL_AUDIT_PSEUDO_KEY_FILE, text, 0600, err, errlen);
out:
    sodium_memzero (sk, sizeof sk);
    sodium_memzero (pkey, sizeof pkey);
    sodium_memzero (text, sizeof text);
    sodium_memzero (hex, sizeof hex);
    return rc;
}

/*  Reads `name = HEX` from a key file into `out` (outlen bytes). With
 *  `secret`, refuses a file group or others may read. */
static int s_read_key (const char *path, const char *name, int secret,
                       uint8_t *out, size_t outlen, char *err, size_t errlen)
{
    FILE *f = fopen (path, "r");
    if (!f) {
        s_err (err, errlen, "%s: %s", path, strerror (errno));
        return SL_EIO;
    }
    int rc = SL_EKEY;
    struct stat st;
    if (secret && (fstat (fileno (f), &st) != 0 || (st.st_mode & 077))) {
        s_err (err, errlen, "%s: readable by group or others; chmod 600 it", path);
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
            s_err (err, errlen, "%s:%d: expected 'name = value'", path, lineno);
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
            s_err (err, errlen, "%s:%d: %s must be %zu hex digits", path, lineno,
                   name, 2 * outlen);
            goto out;
        }
        found = 1;
        break;
    }
    if (!found) {
        s_err (err, errlen, "%s:%d: no '%s = ...' line", path, lineno, name);
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
    s_hex (pk, SL_AUDIT_PK_LEN, out);
}

/* ------------------------------------------------------------------------ */
/*  Open / close                                                            */

static int s_read_meta (MDB_txn *txn, MDB_dbi db, const char *name,
                        uint64_t *seq, uint8_t hash[SL_AUDIT_HASH_LEN])
{
    MDB_val k = { strlen (name), (void *) name }, v;
    int rc = mdb_get (txn, db, &k, &v);
    if (rc)
        return s_mdb_rc (rc);
    if (v.mv_size != META_LEN)
        return SL_ECORRUPT;
    *seq = s_get64le (v.mv_data);
    memcpy (hash, (uint8_t *) v.mv_data + 8, SL_AUDIT_HASH_LEN);
    return SL_OK;
}

static int s_write_meta (MDB_txn *txn, MDB_dbi db, const char *name,
                         uint64_t seq, const uint8_t hash[SL_AUDIT_HASH_LEN])
{
    uint8_t buf[META_LEN];
    s_put64le (buf, seq);
    memcpy (buf + 8, hash, SL_AUDIT_HASH_LEN);
    MDB_val k = { strlen (name), (void *) name }, v = { sizeof buf, buf };
    return s_mdb_rc (mdb_put (txn, db, &k, &v, 0));
}

static int s_open_dbs (MDB_txn *txn, unsigned flags, MDB_dbi *log, MDB_dbi *cp, MDB_dbi *meta)
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
    int rc = s_read_meta (txn, self->db_meta, "head", &self->head_seq, self->head_hash);
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
        self->cp_seq = s_get64le ((uint8_t *) v.mv_data + 1);
        self->cp_time = (int64_t) s_get64le ((uint8_t *) v.mv_data + 9);
    }
    mdb_cursor_close (c);
    return SL_OK;
}

sl_audit_t *sl_audit_open (MDB_env *env, const char *key_dir, int flags,
                           char *err, size_t errlen)
{
    assert (env && key_dir);
    if (sodium_init () < 0) {
        s_err (err, errlen, "libsodium failed to initialise");
        return NULL;
    }
    sl_audit_t *self = calloc (1, sizeof *self);
    if (!self) {
        s_err (err, errlen, "out of memory");
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
            s_err (err, errlen, "%s: secret key is damaged (public half does not match)", path);
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
        s_err (err, errlen, "audit: cannot begin transaction: %s", mdb_strerror (rc));
        goto fail;
    }
    rc = s_open_dbs (txn, self->rdonly ? 0 : MDB_CREATE, &self->db_log, &self->db_cp,
                     &self->db_meta);
    if (rc) {
        s_err (err, errlen, "audit: cannot open databases: %s%s", mdb_strerror (rc),
               rc == MDB_NOTFOUND ? " (no audit log in this data directory)" : "");
        goto fail;
    }
    if (s_load_state (self, txn)) {
        s_err (err, errlen, "audit: %s record is damaged", DB_META);
        goto fail;
    }
    /* commit even a read-only txn: an abort would close the new db handles */
    rc = mdb_txn_commit (txn);
    txn = NULL;
    if (rc) {
        s_err (err, errlen, "audit: cannot commit: %s", mdb_strerror (rc));
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
        if (sl_audit_pseudonym (self, ev->subject, pseudo))
            return SL_EINVAL;
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
    s_put64le (p + 1, seq);
    s_put64le (p + 9, (uint64_t) (ev->time_us ? ev->time_us : s_now_us ()));
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
    out->seq = s_get64le (p + 1);
    out->time_us = (int64_t) s_get64le (p + 9);
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
static int s_txn_head (sl_audit_t *self, MDB_txn *txn, uint64_t *seq,
                       uint8_t hash[SL_AUDIT_HASH_LEN])
{
    int rc = s_read_meta (txn, self->db_meta, "head", seq, hash);
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
    int rc = s_txn_head (self, txn, &seq, prev);
    if (rc)
        return rc;
    if (seq == 0) {
        /* the first entry ever: record where the live log starts */
        rc = s_write_meta (txn, self->db_meta, "start", 1, prev);
        if (rc)
            return rc;
    }
    seq++;
    size_t len;
    rc = s_encode (self, ev, seq, prev, &len);
    if (rc)
        return rc;
    uint8_t key[8], hash[SL_AUDIT_HASH_LEN];
    s_put64be (key, seq);
    MDB_val k = { 8, key }, v = { len, self->buf };
    rc = mdb_put (txn, self->db_log, &k, &v, MDB_APPEND);
    if (rc)
        return rc == MDB_KEYEXIST ? SL_ECORRUPT : s_mdb_rc (rc);
    s_hash (self->buf, len, hash);
    rc = s_write_meta (txn, self->db_meta, "head", seq, hash);
    if (rc)
        return rc;
    self->pend = 1;
    self->pend_seq = seq;
    memcpy (self->pend_hash, hash, SL_AUDIT_HASH_LEN);
    if (seq_out)
        *seq_out = seq;
    return SL_OK;
}

static void s_cp_sign (const uint8_t *sk, uint8_t cp[CP_LEN])
{
    uint8_t msg[sizeof CP_CONTEXT - 1 + CP_SIGNED_LEN];
    memcpy (msg, CP_CONTEXT, sizeof CP_CONTEXT - 1);
    memcpy (msg + sizeof CP_CONTEXT - 1, cp, CP_SIGNED_LEN);
    crypto_sign_detached (cp + CP_SIGNED_LEN, NULL, msg, sizeof msg, sk);
}

static int s_cp_check (const uint8_t *pk, const uint8_t *cp)
{
    uint8_t msg[sizeof CP_CONTEXT - 1 + CP_SIGNED_LEN];
    memcpy (msg, CP_CONTEXT, sizeof CP_CONTEXT - 1);
    memcpy (msg + sizeof CP_CONTEXT - 1, cp, CP_SIGNED_LEN);
    return crypto_sign_verify_detached (cp + CP_SIGNED_LEN, msg, sizeof msg, pk);
}

int sl_audit_checkpoint (sl_audit_t *self, MDB_txn *txn, int64_t now_us)
{
    assert (self && txn);
    if (self->rdonly || !self->has_sk)
        return SL_EPERM;
    uint64_t seq;
    uint8_t hash[SL_AUDIT_HASH_LEN];
    int rc = s_txn_head (self, txn, &seq, hash);
    if (rc || seq == 0)
        return rc;
    uint8_t key[8];
    s_put64be (key, seq);
    MDB_val k = { 8, key }, v;
    rc = mdb_get (txn, self->db_cp, &k, &v);
    if (rc == 0)
        return SL_OK;              /* this head is already signed */
    if (rc != MDB_NOTFOUND)
        return s_mdb_rc (rc);
    int64_t t = now_us ? now_us : s_now_us ();
    uint8_t cp[CP_LEN];
    cp[0] = CP_VERSION;
    s_put64le (cp + 1, seq);
    s_put64le (cp + 9, (uint64_t) t);
    memcpy (cp + 17, hash, SL_AUDIT_HASH_LEN);
    s_cp_sign (self->sk, cp);
    v.mv_size = CP_LEN;
    v.mv_data = cp;
    rc = mdb_put (txn, self->db_cp, &k, &v, 0);
    if (rc)
        return s_mdb_rc (rc);
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

int sl_audit_checkpoint_due (const sl_audit_t *self, uint64_t every_n,
                             int64_t every_us, int64_t now_us)
{
    assert (self);
    if (self->head_seq <= self->cp_seq)
        return 0;
    if (every_n && self->head_seq - self->cp_seq >= every_n)
        return 1;
    if (every_us) {
        int64_t now = now_us ? now_us : s_now_us ();
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
        return rc == MDB_NOTFOUND ? SL_ENOTFOUND : SL_ESTORE;
    if (v.mv_size != CP_LEN)
        return SL_ECORRUPT;
    const uint8_t *cp = v.mv_data;
    char hash[65], sig[129], when[64];
    s_hex (cp + 17, 32, hash);
    s_hex (cp + CP_SIGNED_LEN, 64, sig);
    int64_t t = (int64_t) s_get64le (cp + 9);
    s_utc (t, when);
    int n = snprintf (buf, size,
                      "sluice-audit-checkpoint v1\n"
                      "seq %" PRIu64 "\n"
                      "time %s\n"
                      "time-us %" PRId64 "\n"
                      "hash %s\n"
                      "signature %s\n",
                      s_get64le (cp + 1), when, t, hash, sig);
    return n < 0 || (size_t) n >= size ? SL_ETOOBIG : SL_OK;
}

static char *s_cp_json (const uint8_t *cp)
{
    char hash[65], sig[129], when[64], raw[2 * CP_LEN + 1];
    s_hex (cp + 17, 32, hash);
    s_hex (cp + CP_SIGNED_LEN, 64, sig);
    s_hex (cp, CP_LEN, raw);
    int64_t t = (int64_t) s_get64le (cp + 9);
    s_utc (t, when);
    char *out = NULL;
    if (asprintf (&out, "{\"type\":\"checkpoint\",\"seq\":%" PRIu64 ",\"time_us\":%" PRId64
                  ",\"time\":\"%s\",\"hash\":\"%s\",\"signature\":\"%s\",\"raw\":\"%s\"}",
                  s_get64le (cp + 1), t, when, hash, sig, raw) < 0)
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
    s_put64be (key, from_seq);
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

/* ------------------------------------------------------------------------ */
/*  JSON                                                                    */

static int s_add_str (cJSON *o, const char *name, sl_audit_str_t s)
{
    char stackbuf[256];
    char *tmp = s.len < sizeof stackbuf ? stackbuf : malloc (s.len + 1);
    if (!tmp)
        return -1;
    memcpy (tmp, s.ptr, s.len);
    tmp[s.len] = 0;
    cJSON *item = cJSON_AddStringToObject (o, name, tmp);
    if (tmp != stackbuf)
        free (tmp);
    return item ? 0 : -1;
}

static int s_add_hex (cJSON *o, const char *name, const uint8_t *bin, size_t len)
{
    if (!bin)
        return cJSON_AddNullToObject (o, name) ? 0 : -1;
    char stackbuf[512];
    char *tmp = 2 * len < sizeof stackbuf ? stackbuf : malloc (2 * len + 1);
    if (!tmp)
        return -1;
    s_hex (bin, len, tmp);
    cJSON *item = cJSON_AddStringToObject (o, name, tmp);
    if (tmp != stackbuf)
        free (tmp);
    return item ? 0 : -1;
}

char *sl_audit_entry_json (const sl_audit_entry_t *e)
{
    assert (e);
    cJSON *o = cJSON_CreateObject ();
    char *out = NULL;
    if (!o)
        return NULL;
    char when[64];
    uint8_t hash[SL_AUDIT_HASH_LEN];
    s_utc (e->time_us, when);
    s_hash (e->raw, e->raw_len, hash);
    if (!cJSON_AddStringToObject (o, "type", "entry")
    ||  !cJSON_AddNumberToObject (o, "seq", (double) e->seq)
    ||  !cJSON_AddNumberToObject (o, "time_us", (double) e->time_us)
    ||  !cJSON_AddStringToObject (o, "time", when)
    ||  s_add_str (o, "kind", e->kind) || s_add_str (o, "actor", e->actor)
    ||  s_add_str (o, "counterpart", e->counterpart) || s_add_str (o, "owner", e->owner)
    ||  s_add_str (o, "record_type", e->record_type)
    ||  s_add_hex (o, "message_id", e->message_id, SL_AUDIT_MSGID_LEN)
    ||  s_add_hex (o, "subject", e->subject, SL_AUDIT_PSEUDO_LEN)
    ||  s_add_str (o, "purpose", e->purpose) || s_add_str (o, "decision", e->decision)
    ||  s_add_str (o, "rules", e->rules) || s_add_str (o, "fields", e->fields)
    ||  s_add_str (o, "reason", e->reason) || s_add_str (o, "detail", e->detail)
    ||  s_add_hex (o, "prev_hash", e->prev_hash, SL_AUDIT_HASH_LEN)
    ||  s_add_hex (o, "hash", hash, SL_AUDIT_HASH_LEN)
    ||  s_add_hex (o, "raw", e->raw, e->raw_len))
        goto out;
    out = cJSON_PrintUnformatted (o);
out:
    cJSON_Delete (o);
    return out;
}

/* ------------------------------------------------------------------------ */
/*  Iteration                                                               */

struct sl_audit_iter_s {
    MDB_cursor       *cur;
    sl_audit_filter_t f;
    uint8_t           subject[SL_AUDIT_PSEUDO_LEN];
    size_t            lens[6];
    int               started;
};

static int s_str_eq (sl_audit_str_t s, const char *want, size_t wlen)
{
    return s.len == wlen && memcmp (s.ptr, want, wlen) == 0;
}

static int s_match (const sl_audit_iter_t *it, const sl_audit_entry_t *e)
{
    const sl_audit_filter_t *f = &it->f;
    if (f->since_us && e->time_us < f->since_us)
        return 0;
    if (f->until_us && e->time_us >= f->until_us)
        return 0;
    if (f->kind) {
        size_t n = it->lens[4];
        if (n && f->kind[n - 1] == '.') {
            if (e->kind.len < n || memcmp (e->kind.ptr, f->kind, n) != 0)
                return 0;
        }
        else if (!s_str_eq (e->kind, f->kind, n))
            return 0;
    }
    if (f->actor && !s_str_eq (e->actor, f->actor, it->lens[0]))
        return 0;
    if (f->owner && !s_str_eq (e->owner, f->owner, it->lens[1]))
        return 0;
    if (f->counterpart && !s_str_eq (e->counterpart, f->counterpart, it->lens[2]))
        return 0;
    if (f->record_type && !s_str_eq (e->record_type, f->record_type, it->lens[3]))
        return 0;
    if (f->decision && !s_str_eq (e->decision, f->decision, it->lens[5]))
        return 0;
    if (f->subject && (!e->subject || memcmp (e->subject, it->subject, SL_AUDIT_PSEUDO_LEN)))
        return 0;
    return 1;
}

sl_audit_iter_t *sl_audit_iter_new (MDB_txn *txn, const sl_audit_filter_t *filter)
{
    assert (txn);
    MDB_dbi db;
    if (mdb_dbi_open (txn, DB_LOG, 0, &db))
        return NULL;
    sl_audit_iter_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (filter)
        self->f = *filter;
    if (self->f.subject) {
        memcpy (self->subject, self->f.subject, SL_AUDIT_PSEUDO_LEN);
        self->f.subject = self->subject;
    }
    /* the strings stay borrowed from the caller for the iterator's life */
    const char *s[6] = { self->f.actor, self->f.owner, self->f.counterpart,
                         self->f.record_type, self->f.kind, self->f.decision };
    for (int i = 0; i < 6; i++)
        self->lens[i] = s[i] ? strlen (s[i]) : 0;
    if (mdb_cursor_open (txn, db, &self->cur)) {
        free (self);
        return NULL;
    }
    return self;
}

int sl_audit_iter_next (sl_audit_iter_t *self, sl_audit_entry_t *out)
{
    assert (self && out);
    MDB_val k, v;
    int rc;
    if (!self->started) {
        uint8_t key[8];
        s_put64be (key, self->f.after_seq + 1);
        k.mv_size = 8;
        k.mv_data = key;
        rc = mdb_cursor_get (self->cur, &k, &v, MDB_SET_RANGE);
        self->started = 1;
    }
    else
        rc = mdb_cursor_get (self->cur, &k, &v, MDB_NEXT);
    while (rc == 0) {
        if (sl_audit_decode (v.mv_data, v.mv_size, out))
            return SL_ECORRUPT;
        if (s_match (self, out))
            return 1;
        rc = mdb_cursor_get (self->cur, &k, &v, MDB_NEXT);
    }
    return rc == MDB_NOTFOUND ? 0 : SL_ESTORE;
}

void sl_audit_iter_destroy (sl_audit_iter_t **self_p)
{
    assert (self_p);
    sl_audit_iter_t *self = *self_p;
    if (!self)
        return;
    mdb_cursor_close (self->cur);
    free (self);
    *self_p = NULL;
}

/* ------------------------------------------------------------------------ */
/*  Summary                                                                 */

struct sl_audit_summary_s {
    sl_audit_summary_row_t *rows;
    char   **keys;            /* packed key per row, owns the row strings */
    size_t  *klens;
    size_t   n, cap;
    size_t  *table;           /* open addressing: row index + 1, 0 = empty */
    size_t   tcap;
};

static uint64_t s_fnv (const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t) p[i]) * 1099511628211ULL;
    return h;
}

static int s_summary_grow (sl_audit_summary_t *s)
{
    size_t tcap = s->tcap ? s->tcap * 2 : 64;
    size_t *t = calloc (tcap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        size_t h = (size_t) s_fnv (s->keys[i], s->klens[i]) & (tcap - 1);
        while (t[h])
            h = (h + 1) & (tcap - 1);
        t[h] = i + 1;
    }
    free (s->table);
    s->table = t;
    s->tcap = tcap;
    return 0;
}

/*  Adds one entry to the row for its key (5 NUL-separated strings). */
static int s_summary_add (sl_audit_summary_t *s, const sl_audit_entry_t *e)
{
    sl_audit_str_t parts[5] = { e->kind, e->counterpart, e->record_type, e->purpose, e->rules };
    char stackkey[1024];
    size_t klen = 0;
    for (int i = 0; i < 5; i++)
        klen += parts[i].len + 1;
    char *key = klen <= sizeof stackkey ? stackkey : malloc (klen);
    if (!key)
        return -1;
    size_t off = 0;
    for (int i = 0; i < 5; i++) {
        memcpy (key + off, parts[i].ptr, parts[i].len);
        off += parts[i].len;
        key[off++] = 0;
    }
    if ((s->n + 1) * 2 > s->tcap && s_summary_grow (s))
        goto fail;
    size_t h = (size_t) s_fnv (key, klen) & (s->tcap - 1);
    while (s->table[h]) {
        size_t i = s->table[h] - 1;
        if (s->klens[i] == klen && memcmp (s->keys[i], key, klen) == 0) {
            sl_audit_summary_row_t *r = &s->rows[i];
            r->count++;
            if (e->time_us < r->first_us)
                r->first_us = e->time_us;
            if (e->time_us > r->last_us)
                r->last_us = e->time_us;
            if (key != stackkey)
                free (key);
            return 0;
        }
        h = (h + 1) & (s->tcap - 1);
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        sl_audit_summary_row_t *rows = realloc (s->rows, cap * sizeof *rows);
        if (!rows)
            goto fail;
        s->rows = rows;
        char **keys = realloc (s->keys, cap * sizeof *keys);
        if (!keys)
            goto fail;
        s->keys = keys;
        size_t *klens = realloc (s->klens, cap * sizeof *klens);
        if (!klens)
            goto fail;
        s->klens = klens;
        s->cap = cap;
    }
    char *owned = malloc (klen);
    if (!owned)
        goto fail;
    memcpy (owned, key, klen);
    sl_audit_summary_row_t *r = &s->rows[s->n];
    const char *p = owned;
    const char **fields[5] = { &r->kind, &r->consumer, &r->record_type, &r->purpose, &r->rules };
    for (int i = 0; i < 5; i++) {
        *fields[i] = p;
        p += strlen (p) + 1;
    }
    r->count = 1;
    r->first_us = r->last_us = e->time_us;
    s->keys[s->n] = owned;
    s->klens[s->n] = klen;
    s->table[h] = ++s->n;
    if (key != stackkey)
        free (key);
    return 0;
fail:
    if (key != stackkey)
        free (key);
    return -1;
}

static int s_row_cmp (const void *a, const void *b)
{
    const sl_audit_summary_row_t *x = a, *y = b;
    int c;
    if ((c = strcmp (x->kind, y->kind)) || (c = strcmp (x->consumer, y->consumer))
    ||  (c = strcmp (x->record_type, y->record_type)) || (c = strcmp (x->purpose, y->purpose)))
        return c;
    return strcmp (x->rules, y->rules);
}

sl_audit_summary_t *sl_audit_summary_new (MDB_txn *txn, const char *owner,
                                          const sl_audit_filter_t *filter)
{
    assert (txn && owner);
    sl_audit_filter_t f = { 0 };
    if (filter)
        f = *filter;
    f.owner = owner;
    sl_audit_summary_t *s = calloc (1, sizeof *s);
    sl_audit_iter_t *it = s ? sl_audit_iter_new (txn, &f) : NULL;
    if (!it)
        goto fail;
    sl_audit_entry_t e;
    int rc;
    while ((rc = sl_audit_iter_next (it, &e)) == 1) {
        if (!s_str_eq (e.kind, "queue", 5) && !s_str_eq (e.kind, "deliver", 7)
        &&  !s_str_eq (e.kind, "reply", 5) && !s_str_eq (e.kind, "deny", 4))
            continue;
        if (s_summary_add (s, &e))
            goto fail;
    }
    if (rc < 0)
        goto fail;
    sl_audit_iter_destroy (&it);
    /* rows point into keys[]; sorting reorders rows only, keys[] is kept to
     * be freed */
    qsort (s->rows, s->n, sizeof *s->rows, s_row_cmp);
    free (s->table);
    s->table = NULL;
    s->tcap = 0;
    return s;
fail:
    sl_audit_iter_destroy (&it);
    sl_audit_summary_destroy (&s);
    return NULL;
}

size_t sl_audit_summary_size (const sl_audit_summary_t *self)
{
    assert (self);
    return self->n;
}

const sl_audit_summary_row_t *sl_audit_summary_row (const sl_audit_summary_t *self, size_t i)
{
    assert (self);
    return i < self->n ? &self->rows[i] : NULL;
}

char *sl_audit_summary_json (const sl_audit_summary_t *self)
{
    assert (self);
    cJSON *arr = cJSON_CreateArray ();
    char *out = NULL;
    if (!arr)
        return NULL;
    for (size_t i = 0; i < self->n; i++) {
        const sl_audit_summary_row_t *r = &self->rows[i];
        cJSON *o = cJSON_CreateObject ();
        if (!o || !cJSON_AddItemToArray (arr, o))
            goto out;
        char first[64], last[64];
        s_utc (r->first_us, first);
        s_utc (r->last_us, last);
        if (!cJSON_AddStringToObject (o, "kind", r->kind)
        ||  !cJSON_AddStringToObject (o, "consumer", r->consumer)
        ||  !cJSON_AddStringToObject (o, "record_type", r->record_type)
        ||  !cJSON_AddStringToObject (o, "purpose", r->purpose)
        ||  !cJSON_AddStringToObject (o, "rules", r->rules)
        ||  !cJSON_AddNumberToObject (o, "count", (double) r->count)
        ||  !cJSON_AddStringToObject (o, "first", first)
        ||  !cJSON_AddStringToObject (o, "last", last))
            goto out;
    }
    out = cJSON_PrintUnformatted (arr);
out:
    cJSON_Delete (arr);
    return out;
}

void sl_audit_summary_destroy (sl_audit_summary_t **self_p)
{
    assert (self_p);
    sl_audit_summary_t *s = *self_p;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free (s->keys[i]);
    free (s->keys);
    free (s->klens);
    free (s->rows);
    free (s->table);
    free (s);
    *self_p = NULL;
}

int64_t sl_audit_subject_report (const sl_audit_t *self, MDB_txn *txn,
                                 const char *raw_id, sl_audit_entry_fn *fn, void *arg)
{
    assert (self && txn && raw_id && fn);
    uint8_t pseudo[SL_AUDIT_PSEUDO_LEN];
    if (sl_audit_pseudonym (self, raw_id, pseudo))
        return SL_EKEY;
    sl_audit_filter_t f = { .subject = pseudo };
    sl_audit_iter_t *it = sl_audit_iter_new (txn, &f);
    if (!it)
        return SL_ESTORE;
    sl_audit_entry_t e;
    int64_t n = 0;
    int rc;
    while ((rc = sl_audit_iter_next (it, &e)) == 1) {
        n++;
        if (fn (arg, &e))
            break;
    }
    sl_audit_iter_destroy (&it);
    return rc < 0 ? rc : n;
}

/* ------------------------------------------------------------------------ */
/*  Verify                                                                  */

const char *sl_audit_verdict_str (sl_audit_verdict_t v)
{
    switch (v) {
        case SL_AUDIT_V_OK:            return "ok";
        case SL_AUDIT_V_MALFORMED:     return "malformed";
        case SL_AUDIT_V_HASH:          return "hash";
        case SL_AUDIT_V_LINK:          return "link";
        case SL_AUDIT_V_SEQ:           return "seq";
        case SL_AUDIT_V_GAP:           return "gap";
        case SL_AUDIT_V_TRUNCATED:     return "truncated";
        case SL_AUDIT_V_CP_SIGNATURE:  return "checkpoint-signature";
        case SL_AUDIT_V_CP_MISMATCH:   return "checkpoint-mismatch";
        case SL_AUDIT_V_SEGMENT:       return "segment";
        case SL_AUDIT_V_START:         return "start";
    }
    return "unknown";
}

typedef struct {
    const uint8_t        *pk;
    sl_audit_report_t    *r;
    sl_audit_progress_fn *progress;
    void                 *progress_arg;
    uint64_t              total;
} s_vctx_t;

static int s_fail (sl_audit_report_t *r, sl_audit_verdict_t v, uint64_t seq,
                   const char *fmt, ...)
{
    r->verdict = v;
    r->bad_seq = seq;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (r->message, sizeof r->message, fmt, ap);
    va_end (ap);
    return SL_ECORRUPT;
}

static int s_progress (s_vctx_t *v)
{
    if (v->progress && (v->r->entries & 0xFFFF) == 0
    &&  v->progress (v->progress_arg, v->r->entries, v->total))
        return SL_ECLOSED;
    return SL_OK;
}

typedef struct {
    const char *path;
    uint8_t    *data;
    size_t      size;
    uint64_t    first, last;
} s_segment_t;

static int s_seg_cmp (const void *a, const void *b)
{
    const s_segment_t *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int s_read_whole (const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return SL_EIO;
    int rc = SL_EIO;
    struct stat st;
    if (fstat (fileno (f), &st) != 0)
        goto out;
    *size = (size_t) st.st_size;
    *data = malloc (*size ? *size : 1);
    if (!*data) {
        rc = SL_ENOMEM;
        goto out;
    }
    if (fread (*data, 1, *size, f) != *size) {
        free (*data);
        *data = NULL;
        goto out;
    }
    rc = SL_OK;
out:
    fclose (f);
    return rc;
}

static int s_seg_sig_check (const uint8_t *pk, const uint8_t *header, const uint8_t *trailer)
{
    uint8_t msg[sizeof SEG_CONTEXT - 1 + SEG_HEADER_LEN + SEG_TRAILER_SIGNED];
    memcpy (msg, SEG_CONTEXT, sizeof SEG_CONTEXT - 1);
    memcpy (msg + sizeof SEG_CONTEXT - 1, header, SEG_HEADER_LEN);
    memcpy (msg + sizeof SEG_CONTEXT - 1 + SEG_HEADER_LEN, trailer, SEG_TRAILER_SIGNED);
    return crypto_sign_verify_detached (trailer + SEG_TRAILER_SIGNED, msg, sizeof msg, pk);
}

static void s_seg_sign (const uint8_t *sk, const uint8_t *header, uint8_t *trailer)
{
    uint8_t msg[sizeof SEG_CONTEXT - 1 + SEG_HEADER_LEN + SEG_TRAILER_SIGNED];
    memcpy (msg, SEG_CONTEXT, sizeof SEG_CONTEXT - 1);
    memcpy (msg + sizeof SEG_CONTEXT - 1, header, SEG_HEADER_LEN);
    memcpy (msg + sizeof SEG_CONTEXT - 1 + SEG_HEADER_LEN, trailer, SEG_TRAILER_SIGNED);
    crypto_sign_detached (trailer + SEG_TRAILER_SIGNED, NULL, msg, sizeof msg, sk);
}

/*  Checks one segment that must start at `*seq` after `prev`; advances both. */
static int s_verify_segment (s_vctx_t *v, const s_segment_t *seg, uint64_t *seq,
                             uint8_t prev[SL_AUDIT_HASH_LEN])
{
    sl_audit_report_t *r = v->r;
    const uint8_t *d = seg->data, *end = d + seg->size;
    if (seg->size < SEG_HEADER_LEN + SEG_TRAILER_LEN || memcmp (d, SEG_MAGIC, 8) || d[8] != SEG_VERSION)
        return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: not a version 1 audit segment", seg->path);
    if (seg->first != *seq)
        return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: starts at %" PRIu64 ", expected %" PRIu64
                       " (a segment is missing)", seg->path, seg->first, *seq);
    if (seg->last < seg->first)
        return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: last seq before first", seg->path);
    if (memcmp (d + 25, prev, SL_AUDIT_HASH_LEN))
        return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: previous hash does not join the "
                       "segment before it", seg->path);
    const uint8_t *p = d + SEG_HEADER_LEN, *trailer = end - SEG_TRAILER_LEN;
    while (p < trailer) {
        if (trailer - p < 4)
            return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: truncated record", seg->path);
        uint32_t len = (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
                     | (uint32_t) p[3] << 24;
        p += 4;
        if ((size_t) (trailer - p) < len)
            return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: truncated record", seg->path);
        sl_audit_entry_t e;
        if (sl_audit_decode (p, len, &e))
            return s_fail (r, SL_AUDIT_V_MALFORMED, *seq, "%s: entry %" PRIu64 " does not decode",
                           seg->path, *seq);
        if (e.seq != *seq)
            return s_fail (r, SL_AUDIT_V_SEQ, *seq, "%s: entry %" PRIu64 " holds seq %" PRIu64,
                           seg->path, *seq, e.seq);
        uint8_t hash[SL_AUDIT_HASH_LEN];
        s_hash (p, len, hash);
        if (memcmp (e.prev_hash, prev, SL_AUDIT_HASH_LEN)) {
            /* as in the live log: changed entry before, or changed link here */
            const uint8_t *np = p + len, *next_prev = NULL;
            if (trailer - np >= 4 + ENTRY_FIXED)
                next_prev = np + 4 + 17;
            else if (np == trailer)
                next_prev = trailer + 24;
            if (*seq > seg->first && next_prev && memcmp (next_prev, hash, SL_AUDIT_HASH_LEN) == 0)
                return s_fail (r, SL_AUDIT_V_HASH, *seq - 1, "%s: entry %" PRIu64 " was changed: "
                               "its hash differs from the one entry %" PRIu64 " records",
                               seg->path, *seq - 1, *seq);
            return s_fail (r, SL_AUDIT_V_LINK, *seq, "%s: entry %" PRIu64 " does not link to the "
                           "one before it", seg->path, *seq);
        }
        memcpy (prev, hash, SL_AUDIT_HASH_LEN);
        p += len;
        (*seq)++;
        r->entries++;
        if (s_progress (v))
            return SL_ECLOSED;
    }
    if (memcmp (trailer, SEG_END_MAGIC, 8)
    ||  s_get64le (trailer + 8) != seg->last - seg->first + 1 || *seq != seg->last + 1)
        return s_fail (r, SL_AUDIT_V_SEGMENT, *seq, "%s: trailer does not match the entries "
                       "(entries missing or added)", seg->path);
    if (memcmp (trailer + 24, prev, SL_AUDIT_HASH_LEN))
        return s_fail (r, SL_AUDIT_V_SEGMENT, seg->last, "%s: trailer hash differs from entry %"
                       PRIu64, seg->path, seg->last);
    if (s_seg_sig_check (v->pk, d, trailer))
        return s_fail (r, SL_AUDIT_V_SEGMENT, seg->last, "%s: trailer signature does not verify "
                       "with this public key", seg->path);
    r->segments++;
    return SL_OK;
}

static int s_verify_segments (s_vctx_t *v, const sl_audit_verify_opts_t *o,
                              uint64_t *seq, uint8_t prev[SL_AUDIT_HASH_LEN])
{
    size_t n = o->n_segments;
    s_segment_t *segs = calloc (n ? n : 1, sizeof *segs);
    if (!segs)
        return SL_ENOMEM;
    int rc = SL_OK;
    for (size_t i = 0; i < n; i++) {
        segs[i].path = o->segments[i];
        rc = s_read_whole (segs[i].path, &segs[i].data, &segs[i].size);
        if (rc) {
            snprintf (v->r->message, sizeof v->r->message, "%s: cannot read: %s",
                      segs[i].path, strerror (errno));
            goto out;
        }
        if (segs[i].size >= SEG_HEADER_LEN) {
            segs[i].first = s_get64le (segs[i].data + 9);
            segs[i].last = s_get64le (segs[i].data + 17);
        }
    }
    qsort (segs, n, sizeof *segs, s_seg_cmp);
    for (size_t i = 0; i < n && rc == SL_OK; i++)
        rc = s_verify_segment (v, &segs[i], seq, prev);
out:
    for (size_t i = 0; i < n; i++)
        free (segs[i].data);
    free (segs);
    return rc;
}

/*  Checks the checkpoint value `cv` stored under `cpseq`. `hash` is the
 *  hash of entry cpseq, or NULL when that entry does not exist. */
static int s_verify_cp (s_vctx_t *v, uint64_t cpseq, const MDB_val *cv, const uint8_t *hash,
                        uint64_t missing_at)
{
    const uint8_t *cp = cv->mv_data;
    if (cv->mv_size != CP_LEN || cp[0] != CP_VERSION || s_get64le (cp + 1) != cpseq)
        return s_fail (v->r, SL_AUDIT_V_CP_MISMATCH, cpseq, "checkpoint %" PRIu64
                       " is malformed or stored under the wrong key", cpseq);
    if (s_cp_check (v->pk, cp))
        return s_fail (v->r, SL_AUDIT_V_CP_SIGNATURE, cpseq, "checkpoint %" PRIu64
                       " signature does not verify with this public key", cpseq);
    if (!hash)
        return s_fail (v->r, missing_at ? SL_AUDIT_V_TRUNCATED : SL_AUDIT_V_CP_MISMATCH,
                       missing_at ? missing_at : cpseq,
                       missing_at ? "entries from %" PRIu64 " are missing: a signed checkpoint "
                                    "covers %" PRIu64
                                  : "checkpoint %" PRIu64 " names entry %" PRIu64
                                    " which is not in the live log",
                       missing_at ? missing_at : cpseq, cpseq);
    if (memcmp (cp + 17, hash, SL_AUDIT_HASH_LEN))
        return s_fail (v->r, SL_AUDIT_V_HASH, cpseq, "entry %" PRIu64 " differs from the one "
                       "its signed checkpoint covers", cpseq);
    v->r->checkpoints++;
    return SL_OK;
}

int sl_audit_verify (MDB_env *env, const uint8_t pk[SL_AUDIT_PK_LEN],
                     const sl_audit_verify_opts_t *opts, sl_audit_report_t *report)
{
    assert (env && pk && report);
    static const sl_audit_verify_opts_t none = { 0 };
    const sl_audit_verify_opts_t *o = opts ? opts : &none;
    sl_audit_report_t *r = report;
    memset (r, 0, sizeof *r);
    s_vctx_t v = { pk, r, o->progress, o->progress_arg, 0 };
    MDB_txn *txn = NULL;
    MDB_cursor *lc = NULL, *cc = NULL;
    MDB_dbi db_log, db_cp, db_meta;
    uint64_t seq = 1, start_seq = 0, head_seq = 0;
    uint8_t prev[SL_AUDIT_HASH_LEN] = { 0 }, start_prev[SL_AUDIT_HASH_LEN], head_hash[SL_AUDIT_HASH_LEN];
    int rc, have_head = 0;

    if (sodium_init () < 0)
        return SL_EIO;
    if (o->n_segments) {
        rc = s_verify_segments (&v, o, &seq, prev);
        if (rc)
            return rc;
    }
    rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return SL_ESTORE;
    rc = s_open_dbs (txn, 0, &db_log, &db_cp, &db_meta);
    if (rc == MDB_NOTFOUND) {       /* no audit log at all */
        rc = o->n_segments ? s_fail (r, SL_AUDIT_V_START, seq, "archive segments given but "
                                     "this data directory has no live audit log") : SL_OK;
        goto out;
    }
    if (rc) {
        rc = SL_ESTORE;
        goto out;
    }
    rc = s_read_meta (txn, db_meta, "start", &start_seq, start_prev);
    if (rc == SL_ENOTFOUND)
        start_seq = 0;
    else if (rc) {
        rc = s_fail (r, SL_AUDIT_V_START, seq, "the live log's start record is damaged");
        goto out;
    }
    rc = s_read_meta (txn, db_meta, "head", &head_seq, head_hash);
    if (rc == SL_OK)
        have_head = 1;
    else if (rc != SL_ENOTFOUND) {
        rc = s_fail (r, SL_AUDIT_V_TRUNCATED, seq, "the head record is damaged");
        goto out;
    }
    if (mdb_cursor_open (txn, db_log, &lc) || mdb_cursor_open (txn, db_cp, &cc)) {
        rc = SL_ESTORE;
        goto out;
    }

    MDB_val k, val, ck, cv;
    int lrc = mdb_cursor_get (lc, &k, &val, MDB_FIRST);
    int crc = mdb_cursor_get (cc, &ck, &cv, MDB_FIRST);
    if (start_seq == 0) {
        if (lrc == 0 || have_head) {
            rc = s_fail (r, SL_AUDIT_V_START, 1, "entries exist but the live log has no start record");
            goto out;
        }
        if (crc == 0) {
            rc = s_fail (r, SL_AUDIT_V_TRUNCATED, seq, "checkpoints exist but no entries: the log "
                         "was emptied");
            goto out;
        }
        rc = o->n_segments ? s_fail (r, SL_AUDIT_V_START, seq, "archive segments given but the "
                                     "live log is empty") : SL_OK;
        goto out;
    }
    if (o->n_segments || start_seq == 1) {
        if (start_seq != seq || memcmp (start_prev, prev, SL_AUDIT_HASH_LEN)) {
            rc = s_fail (r, SL_AUDIT_V_START, seq < start_seq ? seq : start_seq,
                         "the live log starts at %" PRIu64 " but the %s ends before %" PRIu64,
                         start_seq, o->n_segments ? "archive" : "chain", seq);
            goto out;
        }
    }
    else if (!o->trust_start) {
        rc = s_fail (r, SL_AUDIT_V_START, 1, "entries 1..%" PRIu64 " were archived: give their "
                     "segment files to verify the whole chain", start_seq - 1);
        goto out;
    }
    else {
        seq = start_seq;
        memcpy (prev, start_prev, SL_AUDIT_HASH_LEN);
    }
    r->first_seq = o->n_segments ? 1 : seq;
    v.total = (have_head && head_seq >= seq ? head_seq - seq + 1 : 0) + r->entries;

    uint8_t hash[SL_AUDIT_HASH_LEN];
    uint64_t last = 0;
    while (lrc == 0) {
        if (k.mv_size != 8) {
            rc = s_fail (r, SL_AUDIT_V_MALFORMED, seq, "a key in %s is not 8 bytes", DB_LOG);
            goto out;
        }
        uint64_t kseq = s_get64be (k.mv_data);
        /* checkpoints that name entries before this one */
        while (crc == 0 && (ck.mv_size != 8 || s_get64be (ck.mv_data) < kseq)) {
            uint64_t cpseq = ck.mv_size == 8 ? s_get64be (ck.mv_data) : 0;
            if (cpseq >= seq)
                break;      /* inside a gap: the gap is reported below */
            rc = s_verify_cp (&v, cpseq, &cv, NULL, 0);
            goto out;
        }
        if (kseq < seq) {
            rc = s_fail (r, SL_AUDIT_V_START, kseq, "entry %" PRIu64 " lies before the live "
                         "log's recorded start %" PRIu64, kseq, seq);
            goto out;
        }
        if (kseq > seq) {
            rc = s_fail (r, SL_AUDIT_V_GAP, seq, "entry %" PRIu64 " is missing (next is %" PRIu64 ")",
                         seq, kseq);
            goto out;
        }
        sl_audit_entry_t e;
        if (sl_audit_decode (val.mv_data, val.mv_size, &e)) {
            rc = s_fail (r, SL_AUDIT_V_MALFORMED, seq, "entry %" PRIu64 " does not decode", seq);
            goto out;
        }
        if (e.seq != seq) {
            rc = s_fail (r, SL_AUDIT_V_SEQ, seq, "entry stored as %" PRIu64 " holds seq %" PRIu64
                         " (moved or swapped)", seq, e.seq);
            goto out;
        }
        s_hash (val.mv_data, val.mv_size, hash);
        if (memcmp (e.prev_hash, prev, SL_AUDIT_HASH_LEN)) {
            /* Either the entry before was changed (this entry's link is
             * intact and its successor still links to it), or this entry's
             * link field was changed (then its own hash changed too). */
            const uint8_t *next_prev = NULL;
            uint8_t nkey[8];
            s_put64be (nkey, seq + 1);
            MDB_val nk = { 8, nkey }, nv;
            if (mdb_get (txn, db_log, &nk, &nv) == 0 && nv.mv_size >= ENTRY_FIXED)
                next_prev = (const uint8_t *) nv.mv_data + 17;
            else if (have_head && head_seq == seq)
                next_prev = head_hash;
            if (seq > start_seq && next_prev && memcmp (next_prev, hash, SL_AUDIT_HASH_LEN) == 0)
                rc = s_fail (r, SL_AUDIT_V_HASH, seq - 1, "entry %" PRIu64 " was changed: its hash "
                             "differs from the one entry %" PRIu64 " records", seq - 1, seq);
            else
                rc = s_fail (r, SL_AUDIT_V_LINK, seq, "entry %" PRIu64 " does not link to the "
                             "entry before it", seq);
            goto out;
        }
        while (crc == 0 && ck.mv_size == 8 && s_get64be (ck.mv_data) == seq) {
            rc = s_verify_cp (&v, seq, &cv, hash, 0);
            if (rc)
                goto out;
            crc = mdb_cursor_get (cc, &ck, &cv, MDB_NEXT);
        }
        memcpy (prev, hash, SL_AUDIT_HASH_LEN);
        last = seq++;
        r->entries++;
        if (s_progress (&v)) {
            rc = SL_ECLOSED;
            goto out;
        }
        lrc = mdb_cursor_get (lc, &k, &val, MDB_NEXT);
    }
    if (lrc != MDB_NOTFOUND) {
        rc = SL_ESTORE;
        goto out;
    }
    /* checkpoints past the last entry: the tail was cut off */
    if (crc == 0) {
        uint64_t cpseq = ck.mv_size == 8 ? s_get64be (ck.mv_data) : 0;
        rc = s_verify_cp (&v, cpseq, &cv, NULL, seq);
        goto out;
    }
    if (!have_head) {
        rc = s_fail (r, SL_AUDIT_V_TRUNCATED, seq, "the head record is missing");
        goto out;
    }
    if (head_seq > last) {
        rc = s_fail (r, SL_AUDIT_V_TRUNCATED, seq, "entries %" PRIu64 "..%" PRIu64 " are missing "
                     "at the end (the head record names %" PRIu64 ")", seq, head_seq, head_seq);
        goto out;
    }
    if (head_seq < last) {
        rc = s_fail (r, SL_AUDIT_V_SEQ, head_seq + 1, "entry %" PRIu64 " lies past the recorded "
                     "head %" PRIu64, head_seq + 1, head_seq);
        goto out;
    }
    if (memcmp (head_hash, prev, SL_AUDIT_HASH_LEN)) {
        rc = s_fail (r, SL_AUDIT_V_HASH, last, "entry %" PRIu64 " differs from the head record",
                     last);
        goto out;
    }
    r->last_seq = last;
    if (v.progress)
        v.progress (v.progress_arg, r->entries, v.total);
    snprintf (r->message, sizeof r->message, "ok: %" PRIu64 " entries (%" PRIu64 "..%" PRIu64
              "), %" PRIu64 " checkpoints, %" PRIu64 " segments", r->entries, r->first_seq,
              r->last_seq, r->checkpoints, r->segments);
    rc = SL_OK;
out:
    if (lc)
        mdb_cursor_close (lc);
    if (cc)
        mdb_cursor_close (cc);
    if (txn)
        mdb_txn_commit (txn);   /* read-only: keeps db handles it opened */
    return rc;
}

/* ------------------------------------------------------------------------ */
/*  Retention                                                               */

static int s_fwrite (FILE *f, const void *p, size_t n)
{
    return fwrite (p, 1, n, f) == n ? 0 : -1;
}

int sl_audit_archive (sl_audit_t *self, MDB_txn *txn, int64_t before_us,
                      const char *out_dir, char *path_out, size_t path_size,
                      uint64_t *n_out)
{
    assert (self && txn && out_dir);
    if (self->rdonly || !self->has_sk)
        return SL_EPERM;
    if (n_out)
        *n_out = 0;
    uint64_t head_seq, start_seq;
    uint8_t head_hash[SL_AUDIT_HASH_LEN], prev[SL_AUDIT_HASH_LEN];
    int rc = s_txn_head (self, txn, &head_seq, head_hash);
    if (rc || head_seq < 2)
        return rc;
    rc = s_read_meta (txn, self->db_meta, "start", &start_seq, prev);
    if (rc)
        return rc == SL_ENOTFOUND ? SL_ECORRUPT : rc;

    MDB_cursor *c = NULL;
    FILE *f = NULL;
    char tmp[4096] = "", final[4096];
    uint64_t n = 0, last = 0;
    uint8_t header[SEG_HEADER_LEN], trailer[SEG_TRAILER_LEN];
    MDB_val k, v;

    if (mdb_cursor_open (txn, self->db_log, &c))
        return SL_ESTORE;
    /* how many: the oldest entries before the date, never the head */
    int lrc = mdb_cursor_get (c, &k, &v, MDB_FIRST);
    while (lrc == 0) {
        sl_audit_entry_t e;
        if (sl_audit_decode (v.mv_data, v.mv_size, &e)) {
            rc = SL_ECORRUPT;
            goto out;
        }
        if (e.seq >= head_seq || e.time_us >= before_us)
            break;
        last = e.seq;
        n++;
        lrc = mdb_cursor_get (c, &k, &v, MDB_NEXT);
    }
    if (n == 0)
        goto out;

    snprintf (tmp, sizeof tmp, "%s/.audit-segment-XXXXXX", out_dir);
    int fd = mkstemp (tmp);
    if (fd < 0 || !(f = fdopen (fd, "wb"))) {
        if (fd >= 0)
            close (fd);
        tmp[0] = 0;
        rc = SL_EIO;
        goto out;
    }
    memcpy (header, SEG_MAGIC, 8);
    header[8] = SEG_VERSION;
    s_put64le (header + 9, start_seq);
    s_put64le (header + 17, last);
    memcpy (header + 25, prev, SL_AUDIT_HASH_LEN);
    if (s_fwrite (f, header, sizeof header)) {
        rc = SL_EIO;
        goto out;
    }
    uint64_t seq = start_seq;
    lrc = mdb_cursor_get (c, &k, &v, MDB_FIRST);
    for (uint64_t i = 0; i < n; i++, seq++) {
        sl_audit_entry_t e;
        if (lrc || sl_audit_decode (v.mv_data, v.mv_size, &e) || e.seq != seq
        ||  memcmp (e.prev_hash, prev, SL_AUDIT_HASH_LEN)) {
            rc = SL_ECORRUPT;       /* never archive a broken chain */
            goto out;
        }
        uint8_t len[4] = { (uint8_t) v.mv_size, (uint8_t) (v.mv_size >> 8),
                           (uint8_t) (v.mv_size >> 16), (uint8_t) (v.mv_size >> 24) };
        if (s_fwrite (f, len, 4) || s_fwrite (f, v.mv_data, v.mv_size)) {
            rc = SL_EIO;
            goto out;
        }
        s_hash (v.mv_data, v.mv_size, prev);
        lrc = mdb_cursor_get (c, &k, &v, MDB_NEXT);
    }
    memcpy (trailer, SEG_END_MAGIC, 8);
    s_put64le (trailer + 8, n);
    s_put64le (trailer + 16, (uint64_t) s_now_us ());
    memcpy (trailer + 24, prev, SL_AUDIT_HASH_LEN);
    s_seg_sign (self->sk, header, trailer);
    if (s_fwrite (f, trailer, sizeof trailer) || fflush (f) || fsync (fileno (f))) {
        rc = SL_EIO;
        goto out;
    }
    fclose (f);
    f = NULL;
    snprintf (final, sizeof final, "%s/audit-%020" PRIu64 "-%020" PRIu64 ".seg", out_dir,
              start_seq, last);
    if (rename (tmp, final) != 0) {
        rc = SL_EIO;
        goto out;
    }
    tmp[0] = 0;
    int dfd = open (out_dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync (dfd);
        close (dfd);
    }

    /* the file is durable: now drop the entries and the checkpoints they cover */
    for (uint64_t i = 0; i < n; i++) {
        if ((rc = mdb_cursor_get (c, &k, &v, MDB_FIRST)) || (rc = mdb_cursor_del (c, 0))) {
            rc = s_mdb_rc (rc);
            goto out;
        }
    }
    mdb_cursor_close (c);
    c = NULL;
    if (mdb_cursor_open (txn, self->db_cp, &c)) {
        rc = SL_ESTORE;
        goto out;
    }
    while ((lrc = mdb_cursor_get (c, &k, &v, MDB_FIRST)) == 0
           && (k.mv_size != 8 || s_get64be (k.mv_data) <= last)) {
        if ((rc = mdb_cursor_del (c, 0))) {
            rc = s_mdb_rc (rc);
            goto out;
        }
    }
    rc = s_write_meta (txn, self->db_meta, "start", last + 1, prev);
    if (rc)
        goto out;
    char detail[4400], hexh[65];
    s_hex (prev, SL_AUDIT_HASH_LEN, hexh);
    const char *base = strrchr (final, '/') ? strrchr (final, '/') + 1 : final;
    snprintf (detail, sizeof detail, "segment=%s first=%" PRIu64 " last=%" PRIu64 " last_hash=%s",
              base, start_seq, last, hexh);
    sl_audit_event_t ev = { .kind = SL_AUDIT_AUDIT_ARCHIVE, .detail = detail };
    rc = sl_audit_append (self, txn, &ev, NULL);
    if (rc)
        goto out;
    if (path_out && path_size)
        snprintf (path_out, path_size, "%s", final);
    if (n_out)
        *n_out = n;
out:
    if (c)
        mdb_cursor_close (c);
    if (f)
        fclose (f);
    if (tmp[0])
        unlink (tmp);
    return rc;
}

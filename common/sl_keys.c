/*  sl_keys — CURVE key files. See sl_keys.h for the format. */
#include "sl_keys.h"
#include "sl_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zmq.h>

int
sl_keys_valid_z85 (const char *z85)
{
    uint8_t raw[32];
    if (!z85 || strlen (z85) != SL_KEY_Z85_LEN)
        return 0;
    return zmq_z85_decode (raw, z85) != NULL;
}

int
sl_keys_generate (sl_keypair_t *out)
{
    memset (out, 0, sizeof *out);
    if (zmq_curve_keypair (out->public_key, out->secret_key) != 0)
        return SL_EIO;
    return 0;
}

static int
s_write_file (const char *path, int mode, int excl, const char *text)
{
    int flags = O_WRONLY | O_CREAT | (excl ? O_EXCL : O_TRUNC);
    int fd = open (path, flags, mode);
    if (fd < 0)
        return errno == EEXIST ? SL_EEXIST : SL_EIO;
    size_t len = strlen (text);
    int rc = (fchmod (fd, (mode_t) mode) == 0 && write (fd, text, len) == (ssize_t) len
              && fsync (fd) == 0) ? 0 : SL_EIO;
    if (close (fd) != 0)
        rc = SL_EIO;
    return rc;
}

int
sl_keys_write (const char *dir, const char *name, const sl_keypair_t *kp,
               int overwrite, char *err, size_t errlen)
{
    char path[4096], text[256];
    snprintf (path, sizeof path, "%s/%s.key", dir, name);
    snprintf (text, sizeof text,
              "# sluice CURVE secret key for %s - keep private (mode 0600)\n"
              "public-key = %s\nsecret-key = %s\n", name, kp->public_key, kp->secret_key);
    int rc = s_write_file (path, 0600, !overwrite, text);
    sodium_memzero (text, sizeof text);
    if (rc == SL_EEXIST) {
        sl_err_set (err, errlen, "%s: already exists; remove it or choose another name", path);
        return rc;
    }
    if (rc != 0) {
        sl_err_set (err, errlen, "%s: cannot write: %s", path, strerror (errno));
        return rc;
    }
    snprintf (path, sizeof path, "%s/%s.pub", dir, name);
    snprintf (text, sizeof text, "# sluice CURVE public key for %s\npublic-key = %s\n",
              name, kp->public_key);
    rc = s_write_file (path, 0644, 0, text);
    if (rc != 0)
        sl_err_set (err, errlen, "%s: cannot write: %s", path, strerror (errno));
    return rc;
}

/*  Parses "key = value" lines; fills public/secret when present. */
static int
s_parse (const char *path, FILE *f, char *pub, char *sec, char *err, size_t errlen)
{
    char line[512];
    int lineno = 0;
    while (fgets (line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        char *eq = strchr (p, '=');
        if (!eq) {
            sl_err_set (err, errlen, "%s:%d: expected 'public-key = ...' or 'secret-key = ...'", path, lineno);
            return SL_EKEY;
        }
        char *kend = eq;
        while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
            kend--;
        *kend = '\0';
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strcspn (v, " \t\r\n");
        v[vl] = '\0';
        char *dst = strcmp (p, "public-key") == 0 ? pub
                  : strcmp (p, "secret-key") == 0 ? sec : NULL;
        if (!dst) {
            sl_err_set (err, errlen, "%s:%d: unknown key '%s'", path, lineno, p);
            return SL_EKEY;
        }
        if (!sl_keys_valid_z85 (v)) {
            sl_err_set (err, errlen, "%s:%d: %s is not a 40-character Z85 CURVE key", path, lineno, p);
            return SL_EKEY;
        }
        memcpy (dst, v, SL_KEY_Z85_LEN + 1);
    }
    return 0;
}

int
sl_keys_load_secret (const char *path, sl_keypair_t *out, char *err, size_t errlen)
{
    memset (out, 0, sizeof *out);
    FILE *f = fopen (path, "r");
    if (!f) {
        sl_err_set (err, errlen, "%s: cannot open: %s", path, strerror (errno));
        return SL_EIO;
    }
    struct stat st;
    int rc = 0;
    if (fstat (fileno (f), &st) != 0) {
        sl_err_set (err, errlen, "%s: cannot stat: %s", path, strerror (errno));
        rc = SL_EIO;
        goto out;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        sl_err_set (err, errlen, "%s: secret key file is accessible by group or others (mode %03o); "
               "run: chmod 600 %s", path, (unsigned) (st.st_mode & 0777), path);
        rc = SL_EKEY;
        goto out;
    }
    rc = s_parse (path, f, out->public_key, out->secret_key, err, errlen);
    if (rc != 0)
        goto out;
    if (!out->secret_key[0] || !out->public_key[0]) {
        sl_err_set (err, errlen, "%s: needs both public-key and secret-key lines", path);
        rc = SL_EKEY;
        goto out;
    }
    char derived[SL_KEY_Z85_LEN + 1];
    if (zmq_curve_public (derived, out->secret_key) != 0 || strcmp (derived, out->public_key) != 0) {
        sl_err_set (err, errlen, "%s: public-key does not belong to secret-key", path);
        rc = SL_EKEY;
    }
out:
    fclose (f);
    if (rc != 0)
        sodium_memzero (out, sizeof *out);
    return rc;
}

int
sl_keys_load_public (const char *path, char public_key[SL_KEY_Z85_LEN + 1], char *err, size_t errlen)
{
    char sec[SL_KEY_Z85_LEN + 1] = "";
    public_key[0] = '\0';
    FILE *f = fopen (path, "r");
    if (!f) {
        sl_err_set (err, errlen, "%s: cannot open: %s", path, strerror (errno));
        return SL_EIO;
    }
    int rc = s_parse (path, f, public_key, sec, err, errlen);
    fclose (f);
    sodium_memzero (sec, sizeof sec);
    if (rc == 0 && !public_key[0]) {
        sl_err_set (err, errlen, "%s: no 'public-key = ...' line", path);
        rc = SL_EKEY;
    }
    return rc;
}

int
sl_keys_fingerprint (const char *public_z85, char out[17])
{
    uint8_t raw[32], h[32];
    if (!sl_keys_valid_z85 (public_z85) || !zmq_z85_decode (raw, public_z85))
        return SL_EINVAL;
    crypto_generichash (h, sizeof h, raw, sizeof raw, NULL, 0);
    sodium_bin2hex (out, 17, h, 8);
    return 0;
}

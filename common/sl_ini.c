/*  sl_ini — see sl_ini.h. */
#include "sl_ini.h"
#include "sl_error.h"

#include <assert.h>
#include <errno.h>
#include <ini.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sl_ini_load (const char *path, sl_ini_handler_fn handler, void *user, const char *why,
             char *err, size_t errlen)
{
    int line = ini_parse (path, handler, user);
    if (line == -1) {
        snprintf (err, errlen, "%s: cannot open: %s", path, strerror (errno));
        return SL_EIO;
    }
    if (line != 0) {
        snprintf (err, errlen, "%s:%d: %s", path, line, why[0] ? why : "syntax error");
        return SL_EPARSE;
    }
    return 0;
}

static int
s_number (const sl_ini_key_t *k, unsigned char *dst, const char *value, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull (value, &end, 10);
    if (errno || end == value || *end || value[0] == '-' || v < k->lo || v > k->hi) {
        snprintf (err, errlen, "%s: '%s' is not a whole number from %llu to %llu", k->key, value,
                  k->lo, k->hi);
        return SL_EINVAL;
    }
    v <<= k->shift;
    assert (k->size == sizeof (uint64_t) || k->size == sizeof (uint32_t));
    if (k->size == sizeof (uint64_t)) {
        uint64_t x = v;
        memcpy (dst, &x, sizeof x);
    }
    else {
        uint32_t x = (uint32_t) v;
        memcpy (dst, &x, sizeof x);
    }
    return 0;
}

int
sl_ini_set (void *settings, const sl_ini_key_t *keys, size_t n, const char *key,
            const char *value, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const sl_ini_key_t *k = &keys[i];
        unsigned char *dst = (unsigned char *) settings + k->offset;
        if (strcmp (k->key, key))
            continue;
        if (k->kind == SL_INI_NUMBER)
            return s_number (k, dst, value, err, errlen);
        size_t len = strlen (value);
        if (len < k->lo || len >= k->size) {
            snprintf (err, errlen, "%s: value must be %llu to %zu characters", key, k->lo,
                      k->size - 1);
            return SL_EINVAL;
        }
        memcpy (dst, value, len + 1);
        return 0;
    }
    return SL_ENOTFOUND;
}

void
sl_ini_defaults (void *settings, const sl_ini_key_t *keys, size_t n)
{
    char err[200];
    for (size_t i = 0; i < n; i++)
        if (keys[i].def) {
            int rc = sl_ini_set (settings, &keys[i], 1, keys[i].key, keys[i].def, err, sizeof err);
            assert (rc == 0);
            (void) rc;
        }
}

const char *
sl_ini_env (const char *value, const char *name)
{
    if (value)
        return value;
    const char *e = getenv (name);
    return e && *e ? e : NULL;
}

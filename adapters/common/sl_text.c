/*  sl_text — see sl_text.h. */
#include "sl_text.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int
sl_parse_double (const char *s, size_t len, double *out)
{
    char buf [64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char c = s [i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+'
           || c == 'e' || c == 'E'))
            return -1;
    }
    memcpy (buf, s, len);
    buf [len] = 0;
    char *end;
    double v = strtod (buf, &end);
    if (end != buf + len || !isfinite (v))
        return -1;
    *out = v;
    return 0;
}

char *
sl_strndup (const char *s, size_t len)
{
    char *p = malloc (len + 1);
    if (p) {
        if (len)
            memcpy (p, s, len);
        p [len] = 0;
    }
    return p;
}

const char *
sl_excerpt (const char *s, size_t len, char *out, size_t outlen)
{
    size_t max = outlen > 4 ? outlen - 4 : 0;
    if (max > 40)
        max = 40;
    size_t n = 0;
    for (; n < len && n < max; n++) {
        unsigned char c = (unsigned char) s [n];
        out [n] = c >= 0x20 && c < 0x7f ? (char) c : '?';
    }
    if (n < len && outlen >= 4) {
        memcpy (out + n, "...", 3);
        n += 3;
    }
    if (outlen)
        out [n < outlen ? n : outlen - 1] = 0;
    return out;
}

int
sl_hexval (char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

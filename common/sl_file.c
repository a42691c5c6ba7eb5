/*  sl_file — see sl_file.h. */
#include "sl_file.h"
#include "sl_error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sl_file_read (const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen (path, "rb");
    if (!f) {
        snprintf (err, errlen, "%s: %s", path, strerror (errno));
        return SL_EIO;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    int rc = 0;
    do {
        if (n + 1 >= cap) {         /* room for more and the NUL */
            char *p = realloc (buf, cap = cap ? cap * 2 : 65536);
            if (!p) {
                snprintf (err, errlen, "%s: out of memory", path);
                rc = SL_ENOMEM;
                goto out;
            }
            buf = p;
        }
        got = fread (buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    if (ferror (f)) {
        snprintf (err, errlen, "%s: read error", path);
        rc = SL_EIO;
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
out:
    free (buf);
    fclose (f);
    return rc;
}

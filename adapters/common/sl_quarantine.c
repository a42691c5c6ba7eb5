/*  sl_quarantine — see sl_quarantine.h. */
#include "sl_quarantine.h"
#include "sl_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct _sl_quarantine_t {
    FILE *file;            /* NULL: counters only */
    char *created;         /* path, if we created the file (removed again if unused) */
    uint64_t accepted;
    uint64_t rejected;
};

sl_quarantine_t *
sl_quarantine_new (const char *path)
{
    sl_quarantine_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (path) {
        struct stat st;
        int existed = stat (path, &st) == 0;
        self->file = fopen (path, "ab");
        if (!self->file) {
            free (self);
            return NULL;
        }
        if (!existed)
            self->created = strdup (path);
    }
    return self;
}

void
sl_quarantine_destroy (sl_quarantine_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_quarantine_t *self = *self_p;
    if (self->file)
        fclose (self->file);
    if (self->created && self->rejected == 0)
        unlink (self->created);          /* nothing was quarantined: leave no empty file */
    free (self->created);
    free (self);
    *self_p = NULL;
}

size_t
sl_json_escape (const void *s, size_t len, char *out)
{
    static const char hex [] = "0123456789abcdef";
    const unsigned char *p = s;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p [i];
        if (c == '"' || c == '\\') { out [n++] = '\\'; out [n++] = (char) c; }
        else if (c == '\n') { out [n++] = '\\'; out [n++] = 'n'; }
        else if (c == '\r') { out [n++] = '\\'; out [n++] = 'r'; }
        else if (c == '\t') { out [n++] = '\\'; out [n++] = 't'; }
        else if (c < 0x20 || c >= 0x7f) {
            memcpy (out + n, "\\u00", 4);
            n += 4;
            out [n++] = hex [c >> 4];
            out [n++] = hex [c & 15];
        }
        else
            out [n++] = (char) c;
    }
    out [n] = 0;
    return n;
}

static int
s_put_string (FILE *f, const char *s, size_t len)
{
    char small [1024];
    char *buf = len * 6 + 1 <= sizeof small ? small : malloc (len * 6 + 1);
    if (!buf)
        return -1;
    size_t n = sl_json_escape (s, len, buf);
    int rc = fputc ('"', f) == EOF || fwrite (buf, 1, n, f) != n || fputc ('"', f) == EOF;
    if (buf != small)
        free (buf);
    return rc ? -1 : 0;
}

int
sl_quarantine_add (sl_quarantine_t *self, const char *source, size_t record,
                   const char *reason, const void *raw, size_t rawlen)
{
    return sl_quarantine_add_hint (self, source, record, reason, NULL, raw, rawlen);
}

int
sl_quarantine_add_hint (sl_quarantine_t *self, const char *source, size_t record,
                        const char *reason, const char *hint, const void *raw, size_t rawlen)
{
    self->rejected++;
    if (!self->file)
        return 0;
    FILE *f = self->file;
    int bad = fprintf (f, "{\"at\":%lld,\"source\":", (long long) time (NULL)) < 0
           || s_put_string (f, source ? source : "", source ? strlen (source) : 0)
           || fprintf (f, ",\"record\":%zu,\"reason\":", record) < 0
           || s_put_string (f, reason ? reason : "", reason ? strlen (reason) : 0)
           || (hint && *hint && (fputs (",\"hint\":", f) == EOF
                                 || s_put_string (f, hint, strlen (hint))))
           || fputs (",\"raw\":", f) == EOF
           || s_put_string (f, raw ? raw : "", raw ? rawlen : 0)
           || fputs ("}\n", f) == EOF
           || fflush (f) != 0;
    return bad ? SL_EIO : 0;
}

void
sl_quarantine_accept (sl_quarantine_t *self)
{
    self->accepted++;
}

uint64_t
sl_quarantine_accepted (const sl_quarantine_t *self)
{
    return self->accepted;
}

uint64_t
sl_quarantine_rejected (const sl_quarantine_t *self)
{
    return self->rejected;
}

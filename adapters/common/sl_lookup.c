/*  sl_lookup — see sl_lookup.h.
 *
 *  Rows are kept in one array sorted by key; lookups are a binary search.
 *  All strings live in one copy of the input with separators replaced by
 *  NUL, so a registry is three allocations whatever its size.
 */
#include "sl_lookup.h"
#include "sl_file.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _sl_lookup_t {
    char *text;            /* the input, cut into NUL-terminated cells */
    char **cells;          /* rows * ncols pointers into text; row 0 = header */
    size_t ncols;
    size_t rows;           /* data rows */
    size_t *order;         /* data row indexes, sorted by key */
    int flags;
};

size_t
sl_lookup_normalize_plate (const char *plate, size_t len, char *out, size_t outlen)
{
    size_t n = 0;
    if (outlen == 0)
        return 0;
    for (size_t i = 0; i < len && n + 1 < outlen; i++) {
        unsigned char c = (unsigned char) plate [i];
        if (c == ' ' || c == '-' || c == '\t')
            continue;
        out [n++] = (char) toupper (c);
    }
    out [n] = 0;
    return n;
}

static int
s_cmp_rows (const void *a, const void *b, void *arg)
{
    const sl_lookup_t *self = arg;
    size_t ra = *(const size_t *) a, rb = *(const size_t *) b;
    return strcmp (self->cells [(ra + 1) * self->ncols], self->cells [(rb + 1) * self->ncols]);
}

sl_lookup_t *
sl_lookup_parse (const char *buf, size_t len, const char *source, int flags,
                   char *err, size_t errlen)
{
    sl_lookup_t *self = calloc (1, sizeof *self);
    if (!self)
        goto nomem;
    self->flags = flags;
    self->text = malloc (len + 1);
    if (!self->text)
        goto nomem;
    memcpy (self->text, buf, len);
    self->text [len] = 0;

    /* Separator: whichever of ',' ';' comes first on the header line. */
    char sep = 0;
    for (size_t i = 0; i < len && buf [i] != '\n'; i++)
        if (buf [i] == ',' || buf [i] == ';') { sep = buf [i]; break; }

    size_t cap = 0, ncells = 0, line = 0;
    char *p = self->text, *end = self->text + len;
    while (p < end) {
        char *eol = memchr (p, '\n', (size_t) (end - p));
        if (!eol)
            eol = end;
        line++;
        char *stop = eol;
        if (stop > p && stop [-1] == '\r')
            stop--;
        *stop = 0;
        if (stop == p || *p == '#') {           /* blank or comment line */
            p = eol + 1;
            continue;
        }
        size_t ncol = 0;
        char *cell = p;
        for (;;) {
            char *q = sep ? strchr (cell, sep) : NULL;
            if (q)
                *q = 0;
            if (ncells + 1 > cap) {
                size_t ncap = cap ? cap * 2 : 64;
                char **nc = realloc (self->cells, ncap * sizeof *nc);
                if (!nc)
                    goto nomem;
                self->cells = nc;
                cap = ncap;
            }
            self->cells [ncells++] = cell;
            ncol++;
            if (!q)
                break;
            cell = q + 1;
        }
        if (self->ncols == 0)
            self->ncols = ncol;
        else {
            if (ncol != self->ncols) {
                snprintf (err, errlen, "%s:%zu: expected %zu columns, found %zu",
                          source, line, self->ncols, ncol);
                goto fail;
            }
            char *key = self->cells [ncells - ncol];
            if (*key == 0) {
                snprintf (err, errlen, "%s:%zu: empty key in column 1", source, line);
                goto fail;
            }
            if (flags & SL_LOOKUP_PLATE)
                sl_lookup_normalize_plate (key, strlen (key), key, strlen (key) + 1);
            self->rows++;
        }
        p = eol + 1;
    }
    if (self->ncols == 0) {
        snprintf (err, errlen, "%s:1: missing header line", source);
        goto fail;
    }
    self->order = malloc ((self->rows + 1) * sizeof *self->order);
    if (!self->order)
        goto nomem;
    for (size_t r = 0; r < self->rows; r++)
        self->order [r] = r;
    qsort_r (self->order, self->rows, sizeof *self->order, s_cmp_rows, self);
    for (size_t r = 1; r < self->rows; r++) {
        const char *a = self->cells [(self->order [r - 1] + 1) * self->ncols];
        const char *b = self->cells [(self->order [r] + 1) * self->ncols];
        if (strcmp (a, b) == 0) {
            snprintf (err, errlen, "%s: duplicate key '%s'", source, b);
            goto fail;
        }
    }
    return self;

nomem:
    snprintf (err, errlen, "%s: out of memory", source);
fail:
    sl_lookup_destroy (&self);
    return NULL;
}

sl_lookup_t *
sl_lookup_load (const char *path, int flags, char *err, size_t errlen)
{
    char *buf;
    size_t len;
    if (sl_file_read (path, &buf, &len, err, errlen))
        return NULL;
    sl_lookup_t *self = sl_lookup_parse (buf, len, path, flags, err, errlen);
    free (buf);
    return self;
}

void
sl_lookup_destroy (sl_lookup_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_lookup_t *self = *self_p;
    free (self->order);
    free (self->cells);
    free (self->text);
    free (self);
    *self_p = NULL;
}

int
sl_lookup_column (const sl_lookup_t *self, const char *name)
{
    for (size_t c = 0; c < self->ncols; c++)
        if (strcmp (self->cells [c], name) == 0)
            return (int) c;
    return -1;
}

const char *
sl_lookup_get (const sl_lookup_t *self, const char *key, size_t klen, int column)
{
    char norm [128];
    if (column < 0 || (size_t) column >= self->ncols || klen >= sizeof norm)
        return NULL;
    if (self->flags & SL_LOOKUP_PLATE)
        klen = sl_lookup_normalize_plate (key, klen, norm, sizeof norm);
    else {
        memcpy (norm, key, klen);
        norm [klen] = 0;
    }
    if (memchr (norm, 0, klen))
        return NULL;
    size_t lo = 0, hi = self->rows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t row = self->order [mid] + 1;
        int c = strcmp (norm, self->cells [row * self->ncols]);
        if (c == 0)
            return self->cells [row * self->ncols + (size_t) column];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t
sl_lookup_size (const sl_lookup_t *self)
{
    return self->rows;
}

/*  sl_html — see sl_html.h. */
#include "sl_html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_html_t {
    char *buf;
    size_t len, cap;
    int failed;
};

sl_html_t *
sl_html_new (void)
{
    sl_html_t *self = calloc (1, sizeof *self);
    if (self && !(self->buf = malloc (self->cap = 4096))) {
        free (self);
        return NULL;
    }
    if (self)
        self->buf[0] = 0;
    return self;
}

void
sl_html_destroy (sl_html_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->buf);
    free (*self_p);
    *self_p = NULL;
}

/*  Makes room for `n` more bytes and the NUL. 0 or -1 (failed set). */
static int
s_reserve (sl_html_t *self, size_t n)
{
    if (self->failed)
        return -1;
    if (self->len + n + 1 <= self->cap)
        return 0;
    size_t cap = self->cap;
    while (self->len + n + 1 > cap)
        cap *= 2;
    char *p = realloc (self->buf, cap);
    if (!p) {
        self->failed = 1;
        return -1;
    }
    self->buf = p;
    self->cap = cap;
    return 0;
}

static void
s_append (sl_html_t *self, const char *text, size_t n)
{
    if (s_reserve (self, n) != 0)
        return;
    memcpy (self->buf + self->len, text, n);
    self->len += n;
    self->buf[self->len] = 0;
}

void
sl_html_raw (sl_html_t *self, const char *text)
{
    if (text)
        s_append (self, text, strlen (text));
}

void
sl_html_bytes (sl_html_t *self, const void *data, size_t len)
{
    if (data && len)
        s_append (self, data, len);
}

void
sl_html_printf (sl_html_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (NULL, 0, fmt, ap);
    va_end (ap);
    if (n < 0 || s_reserve (self, (size_t) n) != 0)
        return;
    va_start (ap, fmt);
    vsnprintf (self->buf + self->len, (size_t) n + 1, fmt, ap);
    va_end (ap);
    self->len += (size_t) n;
}

void
sl_html_textn (sl_html_t *self, const char *text, size_t len)
{
    size_t from = 0;
    for (size_t i = 0; text && i < len; i++) {
        const char *ent = NULL;
        switch (text[i]) {
        case '&': ent = "&amp;"; break;
        case '<': ent = "&lt;"; break;
        case '>': ent = "&gt;"; break;
        case '"': ent = "&quot;"; break;
        case '\'': ent = "&#39;"; break;
        default: continue;
        }
        s_append (self, text + from, i - from);
        s_append (self, ent, strlen (ent));
        from = i + 1;
    }
    if (text)
        s_append (self, text + from, len - from);
}

void
sl_html_text (sl_html_t *self, const char *text)
{
    if (text)
        sl_html_textn (self, text, strlen (text));
}

void
sl_html_cell (sl_html_t *self, const char *text)
{
    sl_html_raw (self, "<td>");
    sl_html_text (self, text);
    sl_html_raw (self, "</td>");
}

void
sl_html_input (sl_html_t *self, const char *prefix, const char *label, const char *name,
               const char *value, const char *placeholder)
{
    sl_html_printf (self, "<label>%s <input name=\"%s\" id=\"%s-%s\" value=\"", label, name,
                    prefix, name);
    sl_html_text (self, value);
    sl_html_raw (self, "\" placeholder=\"");
    sl_html_text (self, placeholder);
    sl_html_raw (self, "\"></label>\n");
}

void
sl_html_url (sl_html_t *self, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *) text; p && *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
            || *p == '-' || *p == '_' || *p == '.' || *p == '~')
            s_append (self, (const char *) p, 1);
        else {
            char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            s_append (self, e, 3);
        }
    }
}

void
sl_html_csv (sl_html_t *self, const char *text)
{
    if (!text)
        return;
    int formula = strchr ("=+-@", text[0]) && text[0];
    if (!formula && !strpbrk (text, ",\"\r\n")) {
        sl_html_raw (self, text);
        return;
    }
    s_append (self, "\"", 1);
    if (formula)
        s_append (self, "'", 1);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            s_append (self, "\"", 1);
        s_append (self, p, 1);
    }
    s_append (self, "\"", 1);
}

const char *
sl_html_data (const sl_html_t *self)
{
    return self->buf;
}

size_t
sl_html_len (const sl_html_t *self)
{
    return self->len;
}

char *
sl_html_take (sl_html_t *self, size_t *len)
{
    char *out = self->failed ? NULL : self->buf;
    if (len)
        *len = self->len;
    if (self->failed)
        free (self->buf);
    self->buf = malloc (self->cap = 4096);
    self->len = 0;
    self->failed = self->buf == NULL;
    if (self->buf)
        self->buf[0] = 0;
    return out;
}

int
sl_html_failed (const sl_html_t *self)
{
    return self->failed;
}

static int
s_hex (int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *
sl_form_get (const char *form, size_t len, const char *name)
{
    size_t nl = strlen (name);
    const char *p = form, *end = form + len;
    while (p && p < end) {
        const char *amp = memchr (p, '&', (size_t) (end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr (p, '=', (size_t) (stop - p));
        const char *kend = eq ? eq : stop;
        if ((size_t) (kend - p) == nl && memcmp (p, name, nl) == 0) {
            const char *v = eq ? eq + 1 : stop;
            char *out = malloc ((size_t) (stop - v) + 1), *o = out;
            if (!out)
                return NULL;
            for (const char *q = v; q < stop; q++) {
                if (*q == '+')
                    *o++ = ' ';
                else if (*q == '%' && q + 2 < stop && s_hex (q[1]) >= 0 && s_hex (q[2]) >= 0) {
                    int c = s_hex (q[1]) << 4 | s_hex (q[2]);
                    if (c == 0) {
                        free (out);
                        return NULL;
                    }
                    *o++ = (char) c;
                    q += 2;
                }
                else
                    *o++ = *q;
            }
            *o = 0;
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

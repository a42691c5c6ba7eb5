/*  sl_explain — see sl_explain.h. */
#include "sl_explain.h"
#include "sl_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _sl_explain_t {
    char *text;
    size_t len, cap;
};

sl_explain_t *
sl_explain_new (void)
{
    return calloc (1, sizeof (sl_explain_t));
}

void
sl_explain_destroy (sl_explain_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->text);
    free (*self_p);
    *self_p = NULL;
}

static void
s_vappend (sl_explain_t *self, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy (aq, ap);
    int n = vsnprintf (NULL, 0, fmt, aq);
    va_end (aq);
    if (n < 0)
        return;
    if (self->len + (size_t) n + 1 > self->cap) {
        size_t ncap = (self->len + (size_t) n + 1) * 2;
        char *p = realloc (self->text, ncap);
        if (!p)
            return;
        self->text = p;
        self->cap = ncap;
    }
    vsnprintf (self->text + self->len, self->cap - self->len, fmt, ap);
    self->len += (size_t) n;
}

static void
s_append (sl_explain_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vappend (self, fmt, ap);
    va_end (ap);
}

void
sl_explain_add (sl_explain_t *self, const char *field, const char *from, const char *fmt, ...)
{
    if (!self)
        return;
    s_append (self, "  %-28s <- %-34s ", field, from);
    va_list ap;
    va_start (ap, fmt);
    s_vappend (self, fmt, ap);
    va_end (ap);
    s_append (self, "\n");
}

void
sl_explain_note (sl_explain_t *self, const char *fmt, ...)
{
    if (!self)
        return;
    va_list ap;
    va_start (ap, fmt);
    s_vappend (self, fmt, ap);
    va_end (ap);
    s_append (self, "\n");
}

const char *
sl_explain_text (const sl_explain_t *self)
{
    return self && self->text ? self->text : "";
}

void
sl_explain_clear (sl_explain_t *self)
{
    if (self) {
        self->len = 0;
        if (self->text)
            self->text [0] = 0;
    }
}

int
sl_explain_absent (sl_explain_t *self, const char *const *names, size_t n,
                   const char *source, char ***fields, size_t *n_fields)
{
    if (n == 0)
        return 0;
    if (!(*fields = calloc (n, sizeof (char *))))
        return SL_ENOMEM;
    char from[64];
    snprintf (from, sizeof from, "(not in the %s)", source);
    for (size_t i = 0; i < n; i++) {
        if (!((*fields)[*n_fields] = strdup (names[i])))
            return SL_ENOMEM;
        (*n_fields)++;
        sl_explain_add (self, names[i], from, "left 0/empty, listed in absent_fields");
    }
    return 0;
}

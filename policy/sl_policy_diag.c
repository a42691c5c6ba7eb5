/*  sl_policy_diag — error lists, the member/purpose catalogue and the small
 *  functions shared by the checker and the index ("did you mean"). */
#include "sl_policy_int.h"
#include "sl_error.h"
#include "sl_role.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sl_policy_diags_s {
    sl_policy_diag_t *v;
    size_t n, cap;
};

sl_policy_diags_t *
sl_policy_diags_new (void)
{
    return calloc (1, sizeof (sl_policy_diags_t));
}

void
sl_policy_diags_destroy (sl_policy_diags_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_policy_diags_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++) {
        free ((char *) self->v[i].file);
        free ((char *) self->v[i].message);
        free ((char *) self->v[i].hint);
    }
    free (self->v);
    free (self);
    *self_p = NULL;
}

size_t
sl_policy_diags_count (const sl_policy_diags_t *self)
{
    return self ? self->n : 0;
}

const sl_policy_diag_t *
sl_policy_diags_at (const sl_policy_diags_t *self, size_t i)
{
    return self && i < self->n ? &self->v[i] : NULL;
}

int
sl_pdiag_add (sl_policy_diags_t *d, const char *file, unsigned line, unsigned col,
              const char *hint, const char *fmt, ...)
{
    if (!d)
        return 0;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        sl_policy_diag_t *v = realloc (d->v, cap * sizeof *v);
        if (!v)
            return SL_ENOMEM;
        d->v = v;
        d->cap = cap;
    }
    char *msg = NULL;
    va_list ap;
    va_start (ap, fmt);
    int rc = vasprintf (&msg, fmt, ap);
    va_end (ap);
    if (rc < 0)
        return SL_ENOMEM;
    sl_policy_diag_t *e = &d->v[d->n];
    e->file = strdup (file ? file : "<input>");
    e->line = line;
    e->col = col;
    e->message = msg;
    e->hint = hint ? strdup (hint) : NULL;
    if (!e->file || (hint && !e->hint)) {
        free ((char *) e->file);
        free (msg);
        free ((char *) e->hint);
        return SL_ENOMEM;
    }
    d->n++;
    return 0;
}

char *
sl_policy_diags_render (const sl_policy_diags_t *self)
{
    return sl_policy_diags_render_as (self, "error");
}

char *
sl_policy_diags_render_as (const sl_policy_diags_t *self, const char *severity)
{
    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream (&out, &size);
    if (!f)
        return NULL;
    for (size_t i = 0; self && i < self->n; i++) {
        const sl_policy_diag_t *e = &self->v[i];
        fprintf (f, "%s:%u:%u: %s: %s\n", e->file, e->line, e->col, severity, e->message);
        if (e->hint)
            fprintf (f, "%s:%u:%u: note: %s\n", e->file, e->line, e->col, e->hint);
    }
    if (fclose (f) != 0) {
        free (out);
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------------ */

typedef struct {
    char *name;
    char *extra;    /* role or description */
} s_entry_t;

struct sl_policy_catalog_s {
    s_entry_t *members;
    size_t n_members, cap_members;
    s_entry_t *purposes;
    size_t n_purposes, cap_purposes;
};

sl_policy_catalog_t *
sl_policy_catalog_new (void)
{
    return calloc (1, sizeof (sl_policy_catalog_t));
}

void
sl_policy_catalog_destroy (sl_policy_catalog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_policy_catalog_t *self = *self_p;
    for (size_t i = 0; i < self->n_members; i++) {
        free (self->members[i].name);
        free (self->members[i].extra);
    }
    for (size_t i = 0; i < self->n_purposes; i++) {
        free (self->purposes[i].name);
        free (self->purposes[i].extra);
    }
    free (self->members);
    free (self->purposes);
    free (self);
    *self_p = NULL;
}

static int
s_add (s_entry_t **v, size_t *n, size_t *cap, const char *name, const char *extra)
{
    if (!name || !*name)
        return SL_EINVAL;
    for (size_t i = 0; i < *n; i++)
        if (strcmp ((*v)[i].name, name) == 0)
            return SL_EEXIST;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        s_entry_t *nv = realloc (*v, c * sizeof *nv);
        if (!nv)
            return SL_ENOMEM;
        *v = nv;
        *cap = c;
    }
    char *a = strdup (name);
    char *b = strdup (extra ? extra : "");
    if (!a || !b) {
        free (a);
        free (b);
        return SL_ENOMEM;
    }
    (*v)[*n].name = a;
    (*v)[*n].extra = b;
    (*n)++;
    return 0;
}

int
sl_policy_catalog_add_member (sl_policy_catalog_t *self, const char *name, const char *role)
{
    return s_add (&self->members, &self->n_members, &self->cap_members, name, role);
}

int
sl_policy_catalog_add_purpose (sl_policy_catalog_t *self, const char *name,
                               const char *description)
{
    return s_add (&self->purposes, &self->n_purposes, &self->cap_purposes, name, description);
}

/*  Private accessors for the checker. */
size_t sl_pcatalog_members (const sl_policy_catalog_t *c, const char ***names);
const char *sl_pcatalog_role (const sl_policy_catalog_t *c, const char *name);
size_t sl_pcatalog_purposes (const sl_policy_catalog_t *c, const char ***names);

static size_t
s_names (const s_entry_t *v, size_t n, const char ***names)
{
    *names = NULL;
    if (n == 0)
        return 0;
    const char **a = malloc (n * sizeof *a);
    if (!a)
        return 0;
    for (size_t i = 0; i < n; i++)
        a[i] = v[i].name;
    *names = a;
    return n;
}

/*  Names of the data-plane members (role "member"): the possible consumers. */
size_t
sl_pcatalog_members (const sl_policy_catalog_t *c, const char ***names)
{
    *names = NULL;
    if (!c || !c->n_members)
        return 0;
    const char **a = malloc (c->n_members * sizeof *a);
    if (!a)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < c->n_members; i++)
        if (sl_role_is_member (c->members[i].extra))
            a[n++] = c->members[i].name;
    *names = a;
    return n;
}

/*  The role of `name`, or NULL if the catalogue does not know it. */
const char *
sl_pcatalog_role (const sl_policy_catalog_t *c, const char *name)
{
    for (size_t i = 0; c && i < c->n_members; i++)
        if (strcmp (c->members[i].name, name) == 0)
            return c->members[i].extra;
    return NULL;
}

size_t
sl_pcatalog_purposes (const sl_policy_catalog_t *c, const char ***names)
{
    *names = NULL;
    return c ? s_names (c->purposes, c->n_purposes, names) : 0;
}

/* ------------------------------------------------------------------------ */

size_t
sl_pedit_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    if (la > 64 || lb > 64)
        return la > lb ? la : lb;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *
sl_pbest_match (const char *name, const char *const *cands, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t) -1;
    size_t len = strlen (name);
    size_t limit = len <= 3 ? 1 : len <= 8 ? 2 : 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = sl_pedit_distance (name, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best && best_d <= limit && best_d > 0 ? best : NULL;
}

/*  sl_grants — see sl_grants.h. */
#include "sl_grants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"
#include "sl_registry.h"
#include "sl_schema.h"
#include "sl_subs.h"

typedef struct {
    char consumer[SL_NAME_MAX + 1];
    char record_type[SL_TYPE_MAX + 1];
    char purpose[SL_PURPOSE_MAX + 1];
} s_grant_t;

struct sl_grants_t {
    s_grant_t *g;
    size_t n, cap;
};

sl_grants_t *
sl_grants_new (void)
{
    return calloc (1, sizeof (sl_grants_t));
}

void
sl_grants_destroy (sl_grants_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->g);
    free (*self_p);
    *self_p = NULL;
}

int
sl_grants_add (sl_grants_t *self, const char *spec, char *err, size_t errlen)
{
    char buf[256];
    if (strlen (spec) >= sizeof buf) {
        snprintf (err, errlen, "grant too long");
        return SL_EINVAL;
    }
    strcpy (buf, spec);
    char *c = buf, *t = strchr (buf, ':'), *p = t ? strchr (t + 1, ':') : NULL;
    if (!t || !p || strchr (p + 1, ':')) {
        snprintf (err, errlen, "grant '%s': expected CONSUMER:RECORD_TYPE:PURPOSE", spec);
        return SL_EINVAL;
    }
    *t++ = 0;
    *p++ = 0;
    if (!sl_registry_valid_name (c)) {
        snprintf (err, errlen, "grant '%s': '%s' is not a member name", spec, c);
        return SL_EINVAL;
    }
    if (!sl_schema_find (t)) {
        snprintf (err, errlen, "grant '%s': unknown record type '%s'", spec, t);
        return SL_EINVAL;
    }
    if (!sl_subs_valid_purpose (p)) {
        snprintf (err, errlen, "grant '%s': '%s' is not a purpose word ([a-z0-9][a-z0-9-]*)", spec, p);
        return SL_EINVAL;
    }
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 8;
        s_grant_t *g = realloc (self->g, cap * sizeof *g);
        if (!g)
            return SL_ENOMEM;
        self->g = g;
        self->cap = cap;
    }
    s_grant_t *g = &self->g[self->n++];
    strcpy (g->consumer, c);
    strcpy (g->record_type, t);
    strcpy (g->purpose, p);
    return 0;
}

size_t
sl_grants_count (sl_grants_t *self)
{
    return self->n;
}

int
sl_grants_decide (void *ctx, const sl_decide_input_t *in, sl_decide_output_t *out)
{
    sl_grants_t *self = ctx;
    for (size_t i = 0; self && i < self->n; i++) {
        s_grant_t *g = &self->g[i];
        if (!strcmp (g->consumer, in->consumer) && !strcmp (g->record_type, in->record_type)
            && !strcmp (g->purpose, in->purpose)) {
            out->permit = 1;
            snprintf (out->rules[0], SL_DECIDE_RULE_MAX, "grant:%s:%s:%s@0",
                      g->consumer, g->record_type, g->purpose);
            out->n_rules = 1;
            return 0;
        }
    }
    out->permit = 0;
    snprintf (out->reason, sizeof out->reason, "no-grant");
    return 0;
}

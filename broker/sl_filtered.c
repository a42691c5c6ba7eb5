/*  sl_filtered — see sl_filtered.h. */
#include "sl_filtered.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sl_audit.h"

void
sl_filtered_init (sl_filtered_t *self)
{
    self->n = 0;
}

static int
s_fits (const char *s, size_t cap)
{
    return s && strlen (s) < cap;
}

int
sl_filtered_add (sl_filtered_t *self, const char *consumer, const char *record_type,
                 const char *purpose, const char *rules)
{
    rules = rules ? rules : "";
    for (size_t i = 0; i < self->n; i++)
        if (!strcmp (self->v[i].consumer, consumer) && !strcmp (self->v[i].record_type, record_type)
            && !strcmp (self->v[i].purpose, purpose) && !strcmp (self->v[i].rules, rules)) {
            self->v[i].rows++;
            return 1;
        }
    if (self->n == SL_FILTERED_KEYS || !s_fits (consumer, sizeof self->v[0].consumer)
        || !s_fits (record_type, sizeof self->v[0].record_type)
        || !s_fits (purpose, sizeof self->v[0].purpose) || !s_fits (rules, sizeof self->v[0].rules))
        return 0;
    strcpy (self->v[self->n].consumer, consumer);
    strcpy (self->v[self->n].record_type, record_type);
    strcpy (self->v[self->n].purpose, purpose);
    strcpy (self->v[self->n].rules, rules);
    self->v[self->n++].rows = 1;
    return 1;
}

int
sl_filtered_flush (sl_filtered_t *self, const char *owner, const char *stage,
                   int (*record) (void *ctx, const sl_event_t *ev), void *ctx)
{
    int rc = 0;
    for (size_t i = 0; i < self->n && rc == 0; i++) {
        char detail[64];
        snprintf (detail, sizeof detail, "rows=%" PRIu64 " stage=%s", self->v[i].rows, stage);
        sl_event_t ev = { .kind = SL_AUDIT_FILTERED, .actor = owner, .owner = owner,
                          .counterpart = self->v[i].consumer,
                          .record_type = self->v[i].record_type, .purpose = self->v[i].purpose,
                          .decision = "filtered", .rules = self->v[i].rules,
                          .reason = "condition-false", .detail = detail };
        rc = record (ctx, &ev);
    }
    self->n = 0;
    return rc;
}

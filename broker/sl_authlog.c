/*  sl_authlog — see sl_authlog.h. */
#include "sl_authlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char address[64], fp[17], domain[24], reason[24];
    uint64_t count;              /* repeats after the full entry */
    int64_t first_ms, last_ms;
} s_kind_t;

typedef struct {
    char address[64];
    unsigned full;               /* full entries this interval */
    uint64_t count;              /* kinds past the limit, counted */
    int64_t first_ms, last_ms;
} s_source_t;

struct sl_authlog_t {
    s_kind_t kinds[SL_AUTHLOG_KINDS];
    size_t n_kinds;
    s_source_t sources[SL_AUTHLOG_SOURCES];
    size_t n_sources;
    uint64_t overflow;           /* refusals of untracked sources or kinds */
    int64_t overflow_first, overflow_last;
    int64_t started_ms;          /* 0: no interval running */
    uint64_t total;
};

sl_authlog_t *
sl_authlog_new (void)
{
    return calloc (1, sizeof (sl_authlog_t));
}

void
sl_authlog_destroy (sl_authlog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free (*self_p);
    *self_p = NULL;
}

static void
s_span (int64_t *first, int64_t *last, int64_t now)
{
    if (*first == 0)
        *first = now;
    *last = now;
}

static void
s_overflow (sl_authlog_t *self, int64_t now)
{
    self->overflow++;
    s_span (&self->overflow_first, &self->overflow_last, now);
}

int
sl_authlog_note (sl_authlog_t *self, int64_t now_ms, const char *fp, const char *address,
                 const char *domain, const char *reason)
{
    self->total++;
    if (self->started_ms == 0)
        self->started_ms = now_ms ? now_ms : 1;
    for (size_t i = 0; i < self->n_kinds; i++) {
        s_kind_t *k = &self->kinds[i];
        if (strcmp (k->fp, fp) == 0 && strcmp (k->address, address) == 0
            && strcmp (k->domain, domain) == 0 && strcmp (k->reason, reason) == 0) {
            k->count++;
            s_span (&k->first_ms, &k->last_ms, now_ms);
            return 0;
        }
    }
    s_source_t *src = NULL;
    for (size_t i = 0; i < self->n_sources && !src; i++)
        if (strcmp (self->sources[i].address, address) == 0)
            src = &self->sources[i];
    if (!src) {
        if (self->n_sources == SL_AUTHLOG_SOURCES) {
            s_overflow (self, now_ms);
            return 0;
        }
        src = &self->sources[self->n_sources++];
        memset (src, 0, sizeof *src);
        snprintf (src->address, sizeof src->address, "%s", address);
    }
    if (src->full >= SL_AUTHLOG_PER_SOURCE) {
        src->count++;
        s_span (&src->first_ms, &src->last_ms, now_ms);
        return 0;
    }
    if (self->n_kinds == SL_AUTHLOG_KINDS) {
        s_overflow (self, now_ms);
        return 0;
    }
    s_kind_t *k = &self->kinds[self->n_kinds++];
    memset (k, 0, sizeof *k);
    snprintf (k->address, sizeof k->address, "%s", address);
    snprintf (k->fp, sizeof k->fp, "%s", fp);
    snprintf (k->domain, sizeof k->domain, "%s", domain);
    snprintf (k->reason, sizeof k->reason, "%s", reason);
    src->full++;
    return 1;
}

long
sl_authlog_flush (sl_authlog_t *self, int64_t now_ms, int force,
                  sl_authlog_summary_fn *fn, void *ctx)
{
    if (self->started_ms == 0)
        return -1;
    int64_t end = self->started_ms + SL_AUTHLOG_INTERVAL_MS;
    if (!force && now_ms < end)
        return (long) (end - now_ms);
    int64_t iv = now_ms - self->started_ms;
    for (size_t i = 0; i < self->n_kinds; i++) {
        s_kind_t *k = &self->kinds[i];
        if (k->count == 0)
            continue;
        sl_authlog_summary_t s = { k->fp, k->address, k->domain, k->reason, k->count,
                                   k->first_ms, k->last_ms, iv };
        fn (ctx, &s);
    }
    for (size_t i = 0; i < self->n_sources; i++) {
        s_source_t *src = &self->sources[i];
        if (src->count == 0)
            continue;
        sl_authlog_summary_t s = { "*", src->address, "*", "*", src->count,
                                   src->first_ms, src->last_ms, iv };
        fn (ctx, &s);
    }
    if (self->overflow) {
        sl_authlog_summary_t s = { "*", "*", "*", "*", self->overflow,
                                   self->overflow_first, self->overflow_last, iv };
        fn (ctx, &s);
    }
    self->n_kinds = self->n_sources = 0;
    self->overflow = 0;
    self->overflow_first = self->overflow_last = 0;
    self->started_ms = 0;
    return -1;
}

uint64_t
sl_authlog_total (const sl_authlog_t *self)
{
    return self->total;
}

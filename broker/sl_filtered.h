/*  sl_filtered — rows a `where` condition leaves out, counted per batch.
 *
 *  A permit with a row condition that a record does not meet is not a
 *  refusal: the policy says that row is not shared. Writing one `deny`
 *  entry per such row floods the log of a busy feed and hides the real
 *  refusals, so the broker counts them per (consumer, record type, purpose,
 *  rules) while it handles one PUBLISH (or one REPLY) and then appends one
 *  `filtered` entry per key with the number of rows (docs/AUDIT.md §4).
 *  Refusals (forbidden, no rule, consent, validity) stay one entry each.
 *
 *  A plain value on the caller's stack; no allocation. */
#ifndef SL_FILTERED_H
#define SL_FILTERED_H

#include <stddef.h>
#include <stdint.h>

#include "sl_event.h"

#define SL_FILTERED_KEYS 16

typedef struct {
    size_t n;
    struct {
        char consumer[64];
        char record_type[96];
        char purpose[72];
        char rules[256];
        uint64_t rows;
    } v[SL_FILTERED_KEYS];
} sl_filtered_t;

/*  Empties the counters. Cannot fail. */
void sl_filtered_init (sl_filtered_t *self);

/*  Counts one filtered row. Returns 1, or 0 when the key does not fit
 *  (more than SL_FILTERED_KEYS keys, or a name too long): the caller then
 *  records that row as a deny entry of its own, as before. */
int sl_filtered_add (sl_filtered_t *self, const char *consumer, const char *record_type,
                     const char *purpose, const char *rules);

/*  Records one `filtered` event per key through `record` (kind "filtered",
 *  actor and owner `owner`, counterpart the consumer, decision "filtered",
 *  reason "condition-false", detail "rows=N stage=STAGE") and empties the
 *  counters. Returns 0 or the first non-zero value of `record`. */
int sl_filtered_flush (sl_filtered_t *self, const char *owner, const char *stage,
                       int (*record) (void *ctx, const sl_event_t *ev), void *ctx);

#endif

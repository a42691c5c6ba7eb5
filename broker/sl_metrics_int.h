/*  sl_metrics_int — what sl_metrics_sample.c (the loop's gauge sampler)
 *  needs of sl_metrics.c. Not for other modules. */
#ifndef SL_METRICS_INT_H
#define SL_METRICS_INT_H

#include <stdint.h>

#include "sl_metrics.h"

/*  Takes `text` (malloc'd, NUL-terminated, rendered gauges) as the new
 *  gauge block and the readiness flags of that sample (`why` says what is
 *  not ready). Loop thread. Cannot fail. */
void sl_metrics__publish_sample (sl_metrics_t *self, char *text, int64_t now_ms, int store_ok,
                                 int signing_ok, const char *why);

/*  When the next sample is due (ms, loop thread only). Cannot fail. */
int64_t *sl_metrics__next_sample (sl_metrics_t *self);

/*  Records what the last sample cost (µs), for sluice_metrics_sample_seconds.
 *  Cannot fail. */
void sl_metrics__sample_cost (sl_metrics_t *self, int64_t us);

#endif

/*  sl_mono — the monotonic clock (CLOCK_MONOTONIC), for intervals,
 *  timeouts, deadlines and benchmarks. It never gives an instant: it does
 *  not follow the wall clock (instants are sl_time's). */
#ifndef SL_COMMON_MONO_H
#define SL_COMMON_MONO_H

#include <stdint.h>

/*  The monotonic clock in nanoseconds. Cannot fail. */
uint64_t sl_mono_ns (void);

/*  ... in milliseconds. Cannot fail. */
int64_t sl_mono_ms (void);

/*  ... in seconds. Cannot fail. */
double sl_mono_s (void);

#endif

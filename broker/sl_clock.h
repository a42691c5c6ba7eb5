/*  sl_clock — the broker's wall clock, in one place. */
#ifndef SL_CLOCK_H
#define SL_CLOCK_H

#include <stdint.h>

/*  Milliseconds since the Unix epoch (CLOCK_REALTIME). Cannot fail. */
int64_t sl_now_ms (void);

#endif

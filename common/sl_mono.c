/*  sl_mono — see sl_mono.h. */
#include "sl_mono.h"

#include <time.h>

uint64_t
sl_mono_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

int64_t
sl_mono_ms (void)
{
    return (int64_t) (sl_mono_ns () / 1000000u);
}

double
sl_mono_s (void)
{
    return (double) sl_mono_ns () / 1e9;
}

/*  torn_journal — the layout of the write journal torn_shim.c appends and
 *  test_torn.c reads (same machine, same build). */
#ifndef TORN_JOURNAL_H
#define TORN_JOURNAL_H

#include <stdint.h>
#include <time.h>

enum {
    TORN_WRITE = 1,          /* `len` bytes at `off` follow */
    TORN_WRITE_DSYNC = 2,    /* same, on an O_DSYNC descriptor: durable at t_end */
    TORN_SYNC = 3,           /* a flush: what was written before t_start is durable at t_end */
};

typedef struct {
    uint32_t kind;
    uint32_t tid;            /* the thread that made the call */
    uint64_t t_start, t_end;  /* CLOCK_MONOTONIC ns around the real call */
    uint64_t off;
    uint64_t len;
} torn_entry_t;

/*  The journal's clock: CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t
torn_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

#endif

/*  bench_consumer — the consumer thread of the end-to-end benchmarks
 *  (bench-e2e, bench-city): receives, keeps the latency of each delivery
 *  while measuring, acks.
 *
 *  The latency of a delivery is now minus the CLOCK_MONOTONIC nanoseconds
 *  the publisher wrote into the first 8 bytes of its message id
 *  (bench_now_ns, bench_util.h).
 */
#ifndef BENCH_CONSUMER_H
#define BENCH_CONSUMER_H

#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

typedef struct {
    sl_client_t *client;           /* subscribed; owned by the caller */
    char name[48];                 /* for messages: "bench-e2e: consumer c3" */
    const volatile int *stop;      /* the loop ends once *stop is set */
    const volatile int *measuring; /* latencies are kept while *measuring is set */
    uint64_t *samples;             /* latency ns; the caller allocates cap of them */
    size_t n_samples, cap;
    uint64_t consumed;             /* total, written by the consumer thread (atomic) */
    int failed;                    /* set when a receive failed (the loop then ends) */
} bench_consumer_t;

/*  The thread function (pthread_create's shape; `arg` is a bench_consumer_t
 *  that outlives the thread). Receives with a 50 ms timeout until *stop,
 *  adds each latency to samples while *measuring and there is room, acks
 *  and counts every delivery. A receive error other than a timeout is
 *  printed on stderr, sets `failed` and ends the loop. Returns NULL. */
void *bench_consumer_run (void *arg);

#endif

/*  bench_consumer — see bench_consumer.h. */
#include "bench_consumer.h"

#include <stdio.h>
#include <string.h>

#include "bench_util.h"

void *
bench_consumer_run (void *arg)
{
    bench_consumer_t *c = arg;
    while (!*c->stop) {
        sl_delivery_t *d = NULL;
        int rc = sl_client_recv (c->client, &d, 50);
        if (rc == SL_ETIMEOUT)
            continue;
        if (rc != 0) {
            fprintf (stderr, "%s: %s\n", c->name, sl_strerror (rc));
            c->failed = 1;
            break;
        }
        uint64_t t;
        memcpy (&t, sl_delivery_message_id (d), 8);
        if (__atomic_load_n (c->measuring, __ATOMIC_ACQUIRE) && c->n_samples < c->cap)
            c->samples[c->n_samples++] = bench_now_ns () - t;
        sl_client_ack (c->client, d);
        sl_delivery_destroy (&d);
        __atomic_add_fetch (&c->consumed, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

/*  rel_load — the load the crash and torn-write tests put on a broker
 *  through libsluice: water readings numbered n = 0, 1, ... with message ids
 *  tl_run_id (prefix, tag, n), published without waiting, taken and acked
 *  by a consumer, and what was seen of each record (acknowledged, delivered,
 *  durable, audited) to hold against what rel_check finds on disk.
 *
 *  Reading n: subject citizen-<n % 97>, ref_device `device` (NULL:
 *  m-<n % 13>), district north, n * 0.5 m3, observed at 1764300000 + n.
 */
#ifndef REL_LOAD_H
#define REL_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "rel_check.h"
#include "sluice.h"

typedef struct {
    const char *prefix;        /* of the message ids (tl_run_id), at most 8 bytes */
    uint32_t tag, max;         /* the run's tag; room for max records */
    size_t unacked_max;        /* no more publishing while this many await their ACK */
    const char *device;        /* ref_device of every reading; NULL: m-<n % 13> */
    uint32_t next;             /* records handed to the library */
    uint64_t *ack_ns;          /* per record: when its ACK came (monotonic ns; 0: not yet) */
    uint32_t *delivered;       /* per record: times the consumer received it */
    uint8_t *durable;          /* per record: in broker.msgids at the last rel_load_check */
    uint8_t *audited;          /* per record: has a `deliver` entry, ditto */
    uint64_t refused;          /* records the broker refused (each printed on stderr) */
    uint64_t foreign;          /* deliveries of ids of no record of the run */
    uint64_t consumed;         /* deliveries taken */
} rel_load_t;

/*  Sets up a run (the per-record arrays zeroed). Asserts. */
void rel_load_init (rel_load_t *l, const char *prefix, uint32_t tag, uint32_t max,
                    size_t unacked_max, const char *device);

/*  Frees the arrays. */
void rel_load_free (rel_load_t *l);

/*  Monotonic nanoseconds: the clock of ack_ns and of the torn-write
 *  journal (torn_journal.h). */
uint64_t rel_now_ns (void);

/*  Hands up to `count` more records to `pub` (fewer when unacked_max
 *  records await their ACK or max is reached). Asserts that the library
 *  took each. */
void rel_load_publish (rel_load_t *l, sl_client_t *pub, unsigned count);

/*  Takes and acks the deliveries of `con`: waits up to timeout_ms for the
 *  first, then takes what has come. Asserts each ack. The number taken. */
int rel_load_consume (rel_load_t *l, sl_client_t *con, int timeout_ms);

/*  rel_check of `data_dir` (water -> power) that must pass (`when` opens
 *  the failure message), with durable[] and audited[] filled anew. The
 *  report. */
rel_report_t rel_load_check (rel_load_t *l, const char *data_dir, const char *when);

#endif

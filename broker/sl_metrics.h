/*  sl_metrics — the broker's counters, histograms and gauges, rendered in the
 *  Prometheus text format (version 0.0.4) for the metrics listener
 *  (sl_metrics_http.h). docs/OPERATIONS.md §Monitoring lists every name.
 *
 *  Design notes:
 *
 *  1. Two threads. The event loop is the only writer; the metrics listener
 *     only reads. Everything the listener reads (the series table, the
 *     values, the gauge text, the readiness flags) is changed under one
 *     mutex; the loop takes it once per commit, once per new series and once
 *     per gauge sample, never per record. The loop may read the series table
 *     without the mutex because nobody else writes it.
 *  2. Counters follow the audit log, not the wire: sl_metrics_event() is
 *     called for each event the broker records (sl_event.h) and only stages
 *     an increment; the batch listener adds the staged increments when the
 *     transaction commits and drops them when it aborts. So a counter equals
 *     the number of matching committed audit entries since start, which is
 *     how the test cross-checks them.
 *  3. Gauges (queue depth, oldest queued age, lag, store use, audit head,
 *     sessions, policy versions) are sampled by the loop in
 *     sl_metrics_tick() into a ready-rendered text block that replaces the
 *     previous one; a scrape sees one consistent sample, at most a second
 *     old (longer when sampling is costly: the period is stretched so that
 *     sampling uses at most ~1% of the loop).
 *  4. Labels carry bureau (member) names, record types, purposes, reasons,
 *     event kinds and roles — never a subject: sl_event_t.subject is not read.
 */
#ifndef SL_METRICS_H
#define SL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "sl_event.h"

typedef struct sl_metrics_t sl_metrics_t;
typedef struct sl_batch_t sl_batch_t;
typedef struct sl_broker_t sl_broker_t;

/*  New metrics registry listening to `batch` (borrowed; must outlive the
 *  registry) for commit outcomes and timings. Returns NULL when out of
 *  memory. */
sl_metrics_t *sl_metrics_new (sl_batch_t *batch);

/*  Frees. The listener thread (if any) must be stopped first. Cannot fail. */
void sl_metrics_destroy (sl_metrics_t **self_p);

/*  Stages the counters `ev` moves (loop thread only; see note 2). Strings of
 *  `ev` are copied as needed. Cannot fail (an increment that cannot be
 *  staged for lack of memory is counted in sluice_metrics_dropped_total). */
void sl_metrics_event (sl_metrics_t *self, const sl_event_t *ev);

/*  Batch listener (sl_batch_listener_fn): applies or drops the staged
 *  increments and records the commit timings. Registered by
 *  sl_metrics_new; exposed for tests. */
void sl_metrics_txn_outcome (void *ctx, int committed);

/*  Loop hook: samples the gauges of `broker` when the period has passed.
 *  Returns ms until the next sample, for the poll timeout. Cannot fail. */
long sl_metrics_tick (sl_metrics_t *self, sl_broker_t *broker, int64_t now_ms);

/*  Renders everything in the Prometheus text format into a new
 *  NUL-terminated string (caller frees), *len its length. Any thread.
 *  Returns NULL when out of memory. */
char *sl_metrics_render (sl_metrics_t *self, size_t *len);

/*  Readiness for /readyz, any thread: 1 when the last sample found the
 *  store writable (last commit succeeded, below the map size) and the audit
 *  signing key loaded, and that sample is less than `max_age_ms` old (a
 *  loop that stopped sampling is not ready). Otherwise 0 with the reason in
 *  `why`. */
int sl_metrics_ready (sl_metrics_t *self, int64_t now_ms, int64_t max_age_ms,
                      char *why, size_t whylen);

/*  One value as a scrape would show it, for tests: `name` is the series
 *  name with its labels exactly as rendered, e.g.
 *  `sluice_records_published_total{owner="water",type="water.v1.MeterReading"}`.
 *  Returns 1 and *value, or 0 if there is no such series. Any thread. */
int sl_metrics_value (sl_metrics_t *self, const char *series, double *value);

#endif

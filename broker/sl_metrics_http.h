/*  sl_metrics_http — sluiced's monitoring listener (libmicrohttpd, its own
 *  thread): GET /metrics (Prometheus text format 0.0.4, sl_metrics_render),
 *  GET /healthz (200 while the process serves HTTP), GET /readyz (200 when
 *  sl_metrics_ready, else 503 with the reason). Anything else: 404; methods
 *  other than GET and HEAD: 405.
 *
 *  The listener carries no citizen data and takes no input beyond the path,
 *  so it has no authentication of its own: bind it to loopback or to a
 *  monitoring network (docs/OPERATIONS.md §Monitoring). It never touches
 *  the broker's state: it reads only what sl_metrics publishes.
 */
#ifndef SL_METRICS_HTTP_H
#define SL_METRICS_HTTP_H

#include <stddef.h>

#include "sl_metrics.h"

typedef struct sl_metrics_http_t sl_metrics_http_t;

/*  Starts listening on `bind` ("HOST:PORT", "[V6]:PORT" or ":PORT" for all
 *  IPv4 addresses; PORT 0 picks a free one) serving `metrics` (borrowed;
 *  must outlive the listener). Signals are blocked in the listener's
 *  thread, so they reach the event loop. Returns NULL with the reason in
 *  `err` (bad address, port in use). */
sl_metrics_http_t *sl_metrics_http_start (sl_metrics_t *metrics, const char *bind,
                                          char *err, size_t errlen);

/*  The address actually bound, "HOST:PORT". Borrowed for the listener's
 *  life. Cannot fail. */
const char *sl_metrics_http_address (const sl_metrics_http_t *self);

/*  Stops the thread and closes the socket. Cannot fail. */
void sl_metrics_http_destroy (sl_metrics_http_t **self_p);

#endif

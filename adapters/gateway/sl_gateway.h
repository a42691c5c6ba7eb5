/*  sl_gateway — the broker side of sluice-gateway: one libsluice client on
 *  a thread of its own, fed by the HTTP threads.
 *
 *  Design (docs/GATEWAY.md §6 states the guarantees):
 *   1. One sl_client, used only by the broker thread (libsluice clients are
 *      single-threaded). HTTP threads hand it jobs (publish, ack, query)
 *      through a queue and wake it with an eventfd it polls together with
 *      the broker socket (sl_client_set_wakeup_fd), so a job costs no
 *      polling delay.
 *   2. Publish: a job's records are published with sl_client_publish_async
 *      and the job ends when the broker ACKed or refused every record
 *      (answer 201 / problem), or — with a spool — when the broker is
 *      unreachable or slower than publish_timeout_ms, once the records are
 *      in the spool and the spool is synced to disk (answer 202 spooled).
 *      Without a spool an unreachable broker is refused (503) before
 *      anything is queued.
 *   3. Deliveries are held by the gateway, one FIFO per configured
 *      subscription, and acknowledged to the broker only when the local
 *      system acks them (long-poll + POST ack) or its webhook answered 2xx.
 *      A delivery handed out and not acked within lease_s is handed out
 *      again. When the connection to the broker is re-established, every
 *      held delivery is dropped (the broker redelivers them; their old tags
 *      mean nothing on the new connection), so ids from before are
 *      answered as unknown.
 *   4. Webhook subscriptions have a thread each that POSTs deliveries in
 *      order, retrying one delivery with exponential back-off until a 2xx.
 *   5. NOTICEs about ended consents go to the subscriptions with the
 *      notice's purpose (long-poll "notices", or a webhook POST).
 */
#ifndef SL_GATEWAY_H
#define SL_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "sl_gw_config.h"

typedef struct sl_gateway sl_gateway_t;

/*  Starts the broker thread (it connects, and keeps reconnecting, in the
    background) and the webhook threads. `cfg` must outlive the gateway.
    Returns 0 with *gw_p set, or SL_ENOMEM / SL_EIO with `err`. */
int sl_gateway_new (const sl_gw_config_t *cfg, sl_gateway_t **gw_p, char *err, size_t errlen);

/*  Asks the threads to stop and wakes every waiting long-poll, without
    waiting; call before stopping the HTTP side. Cannot fail. */
void sl_gateway_stop (sl_gateway_t *gw);

/*  Stops the threads, sends pending acks, closes the client (records not
    yet acknowledged stay in the spool) and frees everything. Sets *gw_p to
    NULL; harmless on NULL. */
void sl_gateway_destroy (sl_gateway_t **gw_p);

/*  One record to publish (packed body, owned by the caller). */
typedef struct {
    uint8_t *body;
    size_t size;
    const char *subject;            /* may be NULL */
    int64_t event_time_ms;
    uint8_t id[16];
} sl_gw_rec_t;

/*  What became of one record. */
typedef struct {
    int rc;                         /* 0 stored; SL_E* refused */
    int spooled;                    /* in the spool, not yet acknowledged */
    char reason[64];                /* the broker's Error.reason when refused */
    char text[256];
} sl_gw_result_t;

/*  Publishes `n` records of `record_type` and waits as design note 2 says.
    Fills results[0..n). Returns 0 (every record answered: see results),
    1 (some records spooled, durably, not yet acknowledged), SL_EAGAIN
    (broker unreachable and no spool: nothing was queued), SL_ETIMEOUT (no
    ACK in time and no spool: the records are still queued in memory and
    may yet be stored), SL_ENOMEM. */
int sl_gateway_publish (sl_gateway_t *gw, const char *record_type, const sl_gw_rec_t *recs,
                        size_t n, sl_gw_result_t *results);

/*  Long-poll: waits up to `wait_ms` for deliveries or notices of the
    subscription `sub` (an index into cfg->subs), hands out at most `max`
    and returns {"deliveries": [...], "notices": [...]} in *out (caller
    frees). Returns 0, SL_EINVAL (a webhook subscription), SL_ENOMEM. */
int sl_gateway_poll (sl_gateway_t *gw, size_t sub, unsigned max, int wait_ms, cJSON **out);

/*  Acknowledges deliveries of subscription `sub` by their ids (strings as
    handed out). Adds each id to `acked` or `unknown` (JSON arrays).
    Returns 0 or SL_ENOMEM. */
int sl_gateway_ack (sl_gateway_t *gw, size_t sub, const cJSON *ids, cJSON *acked,
                    cJSON *unknown);

/*  Asks the owner of `record_type` about `subject` for `purpose` through
    the broker. On success *records gets a JSON array of
    {"recordType","subject","eventTime","record"}; on refusal returns the
    SL_E* code with the broker's reason and text. */
int sl_gateway_query (sl_gateway_t *gw, const char *record_type, const char *subject,
                      const char *purpose, const cJSON *parameters, cJSON **records,
                      char *reason, size_t reasonlen, char *text, size_t textlen);

/*  Health, for /readyz. */
typedef struct {
    int connected;                  /* session with the broker up */
    char member[128];               /* as the broker authenticated us ("" before) */
    size_t unacked;                 /* records sent or queued, not yet ACKed */
    size_t spooled;                 /* records in the spool */
    size_t held;                    /* deliveries held for local systems */
    char last_error[256];
} sl_gw_status_t;

void sl_gateway_status (sl_gateway_t *gw, sl_gw_status_t *out);

/*  Formats Unix milliseconds as RFC 3339 UTC with milliseconds. */
void sl_gateway_format_ms (int64_t ms, char *out, size_t size);

#endif

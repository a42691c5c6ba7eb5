/*  sl_broker — sluiced's event loop: the data plane, the admin plane, ZAP,
 *  group commit, deliveries and query routing. See docs/PROTOCOL.md.
 *
 *  Hook points for later parts:
 *    - decisions: sl_govern_decide (owners' policies + consent, sl_govern.h);
 *    - the write transaction: sl_broker_batch() -> sl_batch_txn() and
 *      sl_batch_listen() (sl_batch.h) — append within it, never commit;
 *    - admin commands: sl_admin_register() on sl_broker_admin() (sl_admin.h);
 *      handlers get sl_broker_admin_ctx(), never the broker;
 *    - events for the audit log: sl_broker_on_event() (sl_event.h), called
 *      inside the batch transaction.
 */
#ifndef SL_BROKER_H
#define SL_BROKER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_decide.h"
#include "sl_event.h"
#include "sl_store.h"

typedef struct sl_broker_t sl_broker_t;
typedef struct sl_batch_t sl_batch_t;
typedef struct sl_registry_t sl_registry_t;
typedef struct sl_subs_t sl_subs_t;
typedef struct sl_queue_t sl_queue_t;
typedef struct sl_sessions_t sl_sessions_t;
typedef struct sl_admin_t sl_admin_t;
typedef struct sl_zap_t sl_zap_t;

typedef struct {
    const char *data_dir;          /* holds store/, broker.key, endpoints */
    const char *data_endpoint;     /* e.g. "tcp://0.0.0.0:5570" */
    const char *admin_endpoint;    /* e.g. "tcp://127.0.0.1:5571" */
    const char *admin_allow;       /* networks allowed on a non-loopback admin
                                      endpoint (sl_allow.h), or NULL */
    size_t max_message_size;       /* bytes, all frames of one message */
    unsigned batch_max;            /* commit at this many pending operations */
    unsigned batch_delay_us;       /* ... or this long after the first */
    size_t map_size;               /* LMDB map size, bytes */
    unsigned query_timeout_ms;     /* default QUERY timeout */
    uint64_t checkpoint_every;     /* audit checkpoint every N entries (0 = off) */
    unsigned checkpoint_interval_ms; /* ... or after this long with new entries (0 = off) */
    unsigned consent_scan_ms;      /* how often ended (expired) consents are looked for */
    uint64_t queue_max;            /* records per consumer queue; a record that would go
                                      past it is refused with QUEUE_FULL (0 = no limit) */
    uint64_t overload_queue;       /* a publisher's ACK is withheld while a connected
                                      consumer it fed holds more (0 = off; 5.2.1) */
    unsigned overload_hold_ms;     /* ... but for at most this long */
    const char *metrics_endpoint;  /* "HOST:PORT" of the metrics listener, NULL/"" = off */
    const char *next_data_endpoint;  /* broker key rollover: where the next key listens */
    const char *next_admin_endpoint; /* (NULL/"": the main endpoint's port + 10) */
} sl_broker_config_t;

/*  Opens the store in DIR/store, loads DIR/broker.key, binds ZAP and both
 *  endpoints and writes DIR/endpoints. Returns NULL on failure with `err`
 *  saying why (e.g. "DIR/broker.key: no such file; run sluiced init"). */
sl_broker_t *sl_broker_new (const sl_broker_config_t *cfg, char *err, size_t errlen);

/*  Commits what is pending, answers in-flight queries with ERROR, tells
 *  sessions NOTICE shutdown, closes sockets and the store, removes
 *  DIR/endpoints. */
void sl_broker_destroy (sl_broker_t **self_p);

/*  Replaces the decision function (set by sl_govern at start). */
void sl_broker_set_decide (sl_broker_t *self, sl_decide_fn *fn, void *ctx);

/*  Sets the event recorder (NULL to clear); see sl_event.h. Set it before
 *  sl_broker_run. Cannot fail. */
void sl_broker_on_event (sl_broker_t *self, sl_event_fn *fn, void *ctx);

/*  Reports one event to the recorder within the batch transaction (begun if
 *  needed) and counts it as pending, so it is committed within the batch
 *  delay. For admin command files. Returns 0, or the recorder's error after
 *  aborting the batch. No-op returning 0 without a recorder. */
int sl_broker_event (sl_broker_t *self, const sl_event_t *ev);

/*  Serves until *stop becomes non-zero (set from a signal handler). Returns
 *  0; never returns early because of peer input. */
int sl_broker_run (sl_broker_t *self, volatile sig_atomic_t *stop);

/*  Reload hook: when *flag is non-zero (set from a SIGHUP handler) the loop
 *  clears it and calls fn(ctx, broker) between two loop turns (a batch may
 *  be open: fn must not touch the store). Set it before sl_broker_run.
 *  Cannot fail. */
typedef void (sl_broker_reload_fn) (void *ctx, sl_broker_t *broker);
void sl_broker_on_reload (sl_broker_t *self, volatile sig_atomic_t *flag,
                          sl_broker_reload_fn *fn, void *ctx);

/*  Broker key rollover, at start and on SIGHUP (docs/OPERATIONS.md §10):
 *  - DIR/broker-next.key exists and is not served yet: bind the data and
 *    admin planes once more, on the next endpoints, with that key; list
 *    them in DIR/endpoints (data.next, admin.next, broker_key.next); audit
 *    broker.key.add. Sessions keep their key.
 *  - DIR/broker.key now holds the next key (the operator promoted it): stop
 *    listening with the old key, close the sessions that used it (NOTICE
 *    broker-key-retired), make the next endpoints the broker's; audit
 *    broker.key.retire. Sessions on the new key carry on.
 *  Returns 0 (also when there is nothing to do) or -1 (logged). */
int sl_broker_keys_reload (sl_broker_t *self);

/*  Settings that may change while serving (SIGHUP): queue_max and
 *  query_timeout_ms. Cannot fail. */
void sl_broker_set_limits (sl_broker_t *self, uint64_t queue_max, unsigned query_timeout_ms);

/*  Accessors for admin commands and later parts. Borrowed for the broker's
 *  lifetime. */
sl_store_t *sl_broker_store (sl_broker_t *self);
sl_batch_t *sl_broker_batch (sl_broker_t *self);
sl_registry_t *sl_broker_registry (sl_broker_t *self);
sl_subs_t *sl_broker_subs (sl_broker_t *self);
sl_queue_t *sl_broker_queue (sl_broker_t *self);
sl_sessions_t *sl_broker_sessions (sl_broker_t *self);
sl_admin_t *sl_broker_admin (sl_broker_t *self);
/*  What the admin handlers get (sl_admin.h), for sl_admin_dispatch. */
typedef struct sl_admin_ctx_t sl_admin_ctx_t;
const sl_admin_ctx_t *sl_broker_admin_ctx (sl_broker_t *self);
sl_zap_t *sl_broker_zap (sl_broker_t *self);
int64_t sl_broker_started_ms (sl_broker_t *self);
typedef struct sl_metrics_t sl_metrics_t;
sl_metrics_t *sl_broker_metrics (sl_broker_t *self);

/*  Governance parts (sl_govern.h), borrowed for the broker's lifetime:
 *  the audit log, the consent registry and the policy store. Admin handlers
 *  do not use these: they get the same parts in their sl_admin_ctx_t and
 *  write through sl_commit (sl_admin.h). Never NULL once sl_broker_new
 *  returned. */
typedef struct sl_audit_s sl_audit_t;
typedef struct _sl_consent_t sl_consent_t;
typedef struct sl_policy_store_t sl_policy_store_t;
sl_audit_t *sl_broker_audit (sl_broker_t *self);
sl_consent_t *sl_broker_consent (sl_broker_t *self);
sl_policy_store_t *sl_broker_policy (sl_broker_t *self);

/*  The governance object itself (sl_govern.h). */
typedef struct sl_govern_t sl_govern_t;
sl_govern_t *sl_broker_govern (sl_broker_t *self);

/*  Sends NOTICE `kind` with notice_args keys[i]=vals[i] (n pairs) to the
 *  current data-plane session of `member`. Returns 1 if sent, 0 if the
 *  member is not connected. Cannot fail otherwise. */
int sl_broker_notice (sl_broker_t *self, const char *member, const char *kind,
                      const char *const *keys, const char *const *vals, size_t n);

/*  Closes every session of `member` on both planes: NOTICE revoked on the
 *  data plane, then the TCP connections are shut down ~50 ms later. Returns
 *  the number of sessions closed. Cannot fail. */
int sl_broker_close_member (sl_broker_t *self, const char *member);

/*  Closes the sessions of `member` that authenticated with the key whose
 *  fingerprint is `key_fp` (key rollover: a retired key), as
 *  sl_broker_close_member does, with NOTICE key-retired. Sessions on the
 *  member's other key stay. Returns the number closed. Cannot fail. */
int sl_broker_close_key (sl_broker_t *self, const char *member, const char *key_fp);

/*  Commits the batch now. Returns as sl_batch_commit(). */
int sl_broker_commit (sl_broker_t *self);

/*  Unix time in milliseconds: sl_now_ms (sl_clock.h). */
#include "sl_clock.h"

#endif

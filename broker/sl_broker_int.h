/*  sl_broker_int — what the broker's own modules share: the broker struct
 *  and the services of sl_broker.c (events, decisions, answers). Private to
 *  broker/ (sl_broker.c, sl_proto.c, sl_publish.c, sl_deliver.c, sl_route.c,
 *  sl_broker_keys.c); nothing outside includes it.
 *
 *  The data path, one loop turn (sl_broker.c design note 5):
 *    sl_proto (frames, session, command table)
 *      -> sl_publish / sl_deliver (ACK, NACK, CREDIT) / sl_route
 *      -> the batch (sl_batch, committed by sl_deliver_all)
 *      -> answers (sl_broker_pending_push, sent in the commit listener)
 *      -> DELIVERs (sl_deliver, after the commit)
 */
#ifndef SL_BROKER_INT_H
#define SL_BROKER_INT_H

#include <signal.h>
#include <stdint.h>
#include <zmq.h>

#include "sl_authlog.h"
#include "sl_admin.h"
#include "sl_batch.h"
#include "sl_commit.h"
#include "sl_broker.h"
#include "sl_decide.h"
#include "sl_event.h"
#include "sl_keys.h"
#include "sl_metrics.h"
#include "sl_metrics_http.h"
#include "sl_queue.h"
#include "sl_registry.h"
#include "sl_schema.h"
#include "sl_session.h"
#include "sl_store.h"
#include "sl_subs.h"
#include "sl_wire.h"
#include "sl_zap.h"
#include "sluice/v1/envelope.pb-c.h"

#define SL_BROKER_MAX_FRAMES   4097      /* header + 4096 records */
#define SL_DELIVER_MAX  64        /* records per DELIVER */
#define SL_DELIVER_TURN 16        /* DELIVERs per session per loop turn */
#define SL_CREDIT_MAX   1000000u
#define SL_QUERY_MAX_MS 60000u
#define SL_CONSENT_TYPE "sluice.v1.ConsentEvent"
#define SL_STORE_RESERVE_MIN ((size_t) 1 << 20)   /* see s_store_tight */

typedef struct {
    unsigned char rid[SL_RID_MAX];
    size_t rid_len;
    uint64_t seq;
    void *packed;            /* the ACK to send after commit */
    size_t len;
    uint64_t commit;         /* held: the commit it waits for (sl_batch_commits) */
    char lag[33];            /* publisher ACK: the lagging consumer it waits for
                                (sl_overload.c), "" when none */
    int64_t at_ms;           /* ... since when */
} sl_pending_t;

/*  The fullest connected consumer over overload_queue a publish fed. */
typedef struct {
    long depth;
    char consumer[33];
} sl_overload_lag_t;

typedef struct {
    uint64_t query_id;
    unsigned char rid[SL_RID_MAX];
    size_t rid_len;
    uint64_t seq;
    char asker[33];
    char owner[33];
    char record_type[SL_TYPE_MAX + 1];
    char purpose[SL_PURPOSE_MAX + 1];
    char subject[128];
    int64_t deadline_ms;
} sl_broker_query_t;

struct sl_broker_t {
    sl_broker_config_t cfg;
    char data_dir[512];
    char data_ep[256], admin_ep[256];
    void *ctx, *data, *admin;
    void *mon_data, *mon_admin;   /* PAIR sockets receiving DISCONNECTED events */
    sl_store_t *store;
    sl_batch_t *batch;
    sl_registry_t *registry;
    sl_subs_t *subs;
    sl_queue_t *queue;
    sl_sessions_t *sessions;
    sl_zap_t *zap;
    sl_authlog_t *authlog;        /* refused handshakes, aggregated */
    sl_admin_t *admin_table;
    sl_admin_ctx_t admin_ctx;     /* what admin handlers get (sl_admin.h) */
    sl_govern_t *govern;
    sl_decide_fn *decide;
    void *decide_ctx;
    sl_commit_t *commit;          /* the data path's writes (sl_commit.h) */
    sl_pending_t *pending;         /* answers waiting for the open batch */
    size_t n_pending, cap_pending;
    sl_pending_t *held;            /* answers of committed batches waiting until */
    size_t n_held, cap_held;       /* ... those are durable (sl_batch.h note 5) */
    struct sl_held_deliver_t *held_deliver;   /* DELIVERs likewise (sl_deliver.c) */
    size_t n_held_deliver, cap_held_deliver;
    sl_pending_t *withheld;        /* durable publisher ACKs held back by overload */
    size_t n_withheld, cap_withheld;   /* ... in commit order (sl_overload.c) */
    uint64_t withheld_total;
    int64_t overload_started_ms;
    sl_broker_query_t *queries;
    size_t n_queries, cap_queries;
    uint64_t seq, next_query_id;
    int64_t started_ms;
    uint64_t aborts;               /* batches aborted so far */
    int64_t usage_ms;              /* when the store's fill level was last read */
    size_t used, capacity;         /* ... and what it was */
    sl_metrics_t *metrics;         /* counters and gauges (sl_metrics.h) */
    sl_metrics_http_t *http;       /* the metrics listener, if configured */
    char key_fp[17];               /* the broker key served on data_ep/admin_ep */
    char next_ep[256], next_admin_ep[256];   /* broker key rollover: the next key's */
    char next_fp[17], next_pub[SL_KEY_Z85_LEN + 1];   /* endpoints; "" when none */
    char retire_data[256], retire_admin[256];  /* the old key's listeners, closed at */
    int64_t retire_at_ms;                      /* ... this time (0 = none) */
    volatile sig_atomic_t *reload; /* SIGHUP: see sl_broker_on_reload */
    sl_broker_reload_fn *reload_fn;
    void *reload_ctx;
    zmq_msg_t frames[SL_BROKER_MAX_FRAMES + 1];   /* routing id + message */
};

/*  One refused record of a batch: the Error that goes into the answer. */
typedef struct {
    Sluice__V1__Error e;
    char text[200];
} sl_rec_error_t;

/* ------------------------------------------------- sl_broker.c services */

/*  Hands `ev` to the recorder inside the batch transaction. `note`: count it
 *  as a pending operation. Does not abort on failure: the caller does.
 *  Returns 0 or the recorder's error. */
int sl_broker_record (sl_broker_t *self, const sl_event_t *ev, int note);

/*  sl_broker_record (self, ev, 0) in the shape sl_filtered_flush wants. */
int sl_broker_record_cb (void *self, const sl_event_t *ev);

/*  Asks the decision function (sl_govern, installed with
 *  sl_broker_set_decide); a failing function denies. Cannot fail. */
void sl_broker_decide (sl_broker_t *self, sl_decide_input_t *in, sl_decide_output_t *out);

/*  "a@1,b@2" from decision rules into buf. Cannot fail (truncates). These
 *  helpers run per record: they copy, never format (no snprintf). */
const char *sl_broker_rules (char rules[][SL_DECIDE_RULE_MAX], int n, char *buf, size_t size);
const char *sl_broker_rules_meta (char **rules, size_t n, char *buf, size_t size);

/*  "tag=N", the detail of `ack` and `deliver` events. Returns buf. */
#define SL_TAG_DETAIL_MAX 32
const char *sl_broker_tag_detail (char buf[SL_TAG_DETAIL_MAX], uint64_t tag);

/*  Copies src (NULL: "") into dst of `size` bytes, truncating; always
 *  terminated. Cannot fail. */
void sl_broker_copy (char *dst, size_t size, const char *src);

/*  Sends ERROR `code`/`reason` with a formatted text to (rid) on the data
 *  plane and logs it. Cannot fail (a send that fails is dropped). */
void sl_broker_send_error (sl_broker_t *self, const void *rid, size_t rid_len, const char *member,
                           uint64_t seq, int code, const char *reason, const char *fmt, ...)
    __attribute__ ((format (printf, 8, 9)));

/*  A header of `command` for `seq` (version 1, the rest empty), to fill
 *  and send. Cannot fail. */
Sluice__V1__Header sl_broker_header (Sluice__V1__Command command, uint64_t seq);

/*  Sends header-only message `h` (version set here) to data session `s`. */
void sl_broker_send_header (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h);

/*  Forgets session `s` (pointer invalid afterwards); see sl_broker.c.
 *  Returns 1 if `s` was the member's current session. */
int sl_broker_session_drop (sl_broker_t *self, sl_session_t *s);

/*  Packs the answer `a` (borrowed) and holds it for (rid, seq) until the
 *  batch outcome: sent if it commits, replaced by an ERROR if it aborts.
 *  Returns 0 or SL_ENOMEM (nothing is held). */
int sl_broker_pending_push (sl_broker_t *self, const void *rid, size_t rid_len, uint64_t seq,
                            const Sluice__V1__Header *a);

/*  Commits the batch without waiting for its meta page (the loop's group
 *  commit); its answers and DELIVERs are held until it is durable.
 *  Returns as sl_batch_commit(). sl_broker_commit() also flushes. */
int sl_broker_commit_group (sl_broker_t *self);

/*  True when answers or DELIVERs wait for a commit to become durable. */
int sl_broker_holding (sl_broker_t *self);

/* ------------------------------------------------------------- sl_answer.c */

/*  sl_batch listener: a batch committed (answers move to held) or aborted
 *  (answers become ERRORs, mirrors are reloaded). */
void sl_answer_on_batch (void *ctx, int committed);
/*  sl_batch durability listener: sends the held answers and DELIVERs of
 *  commits up to `durable`. */
void sl_answer_on_durable (void *ctx, uint64_t durable);
/*  After a loop turn: asks the flush thread to make what is held durable
 *  (design note in sl_answer.c). Does not wait. */
void sl_answer_settle (sl_broker_t *self);

/* ----------------------------------------------------------- sl_overload.c */

/*  A publish queued a record for `consumer` (in `txn`): note it in `lag`
 *  if that consumer is connected and over overload_queue, and fuller than
 *  what `lag` holds. Cannot fail. */
void sl_overload_fed (sl_broker_t *self, MDB_txn *txn, const char *consumer,
                      sl_overload_lag_t *lag);
/*  Marks the answer just pushed (sl_broker_pending_push) as waiting for
 *  `lag`'s consumer. No-op when `lag` names none. */
void sl_overload_mark (sl_broker_t *self, const sl_overload_lag_t *lag);
/*  A durable answer about to be sent: returns 1 if it is withheld instead
 *  (taken: `p->packed` belongs to the overload list), 0 to send it now. */
int sl_overload_withhold (sl_broker_t *self, sl_pending_t *p);
/*  Sends the withheld answers whose consumer caught up or whose hold
 *  ended (`all`: every one, at shutdown). */
void sl_overload_release (sl_broker_t *self, int all);
/*  Milliseconds until the first hold ends, -1 when none is withheld. */
long sl_overload_wait_ms (sl_broker_t *self);
/*  Frees every withheld answer unsent. */
void sl_overload_drop (sl_broker_t *self);

/*  Writes data_dir/endpoints. Returns 0 or -1 (errno set). */
int sl_broker_write_endpoints (sl_broker_t *self);

/* ------------------------------------------------------------ sl_publish.c */

/*  PUBLISH of `h` with its record bodies (h->n_records frames). */
void sl_publish_handle (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies);
/*  The data subject a record is about (its schema's subject field, "" when
 *  none); m->subject must agree with it and is set from it when empty.
 *  Returns 0, SL_EINVAL (they differ) or SL_ENOMEM. */
int sl_publish_subject_from_body (const sl_schema_t *schema, const ProtobufCMessage *rec,
                                  Sluice__V1__RecordMeta *m);
/*  SUBSCRIBE (add 1) or UNSUBSCRIBE (add 0). */
void sl_publish_subscribe (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, int add);

/* ------------------------------------------------------------ sl_deliver.c */

/*  Consumer ACK (nack 0) or NACK (nack 1). */
void sl_deliver_ack (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, int nack);
/*  CREDIT: more records the consumer will take. */
void sl_deliver_credit (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h);
/*  A batch committed: every data session with credit may have new entries. */
void sl_deliver_wake (sl_broker_t *self);
/*  Sends the held DELIVERs of commits up to `durable` (in order; sl_deliver.c). */
void sl_deliver_release (sl_broker_t *self, uint64_t durable);
/*  Frees the held DELIVERs of session `s`, which is being forgotten: its
 *  records are deliverable again. */
void sl_deliver_forget (sl_broker_t *self, sl_session_t *s);
/*  Frees every held DELIVER (shutdown). */
void sl_deliver_drop_held (sl_broker_t *self);
/*  Prepares, commits and sends this turn's deliveries (sl_deliver.c).
 *  Returns 1 if some session has more (poll again without waiting). */
int sl_deliver_all (sl_broker_t *self);

/* -------------------------------------------------------------- sl_route.c */

void sl_route_query (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h);
/*  REPLY (bodies: its record frames) or ERROR with a query_id (bodies NULL). */
void sl_route_answer (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies);
/*  Fails queries past their deadline. Returns ms until the next, or -1. */
long sl_route_timeouts (sl_broker_t *self);
/*  Fails at once the queries waiting for `member`, whose current session left. */
void sl_route_owner_left (sl_broker_t *self, const char *member);
/*  Fails every open query: the broker is shutting down. */
void sl_route_shutdown (sl_broker_t *self);

/* -------------------------------------------------------------- sl_proto.c */

void sl_proto_data_input (sl_broker_t *self);
void sl_proto_admin_input (sl_broker_t *self);
void sl_proto_monitor_input (sl_broker_t *self, void *pair, sl_plane_t plane);
/*  Shuts connections whose close time came. Returns ms until the next, or -1. */
long sl_proto_close_due (sl_broker_t *self);

#endif

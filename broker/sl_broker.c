/*  sl_broker — sluiced's event loop. See sl_broker.h and docs/PROTOCOL.md.
 *
 *  Design notes:
 *
 *  1. One thread. zmq_poll over the ZAP socket, the data ROUTER and the admin
 *     ROUTER; the poll timeout is the earliest of: batch due, query deadline,
 *     deferred connection close, 1 s.
 *  2. The sender of every message is zmq_msg_gets("User-Id") of its first
 *     frame, set by sl_zap from the registry. A member revoked since its
 *     handshake is refused per message.
 *  3. Answers that promise durability (publisher ACK, consumer ACK) wait in
 *     `pending` until sl_batch_commit() returns; they are sent in s_on_batch,
 *     or replaced by ERROR store-full/internal if the transaction aborted.
 *  4. Deliveries are read from committed data only (a read transaction), so a
 *     consumer never sees a record whose publisher has not been ACKed.
 *  5. One loop turn: read data messages until the batch is due (or 256, or
 *     none waiting), prepare every session's deliveries as far as its credit
 *     goes (their `deliver` audit entries join the same batch), commit once,
 *     then send the ACKs and the DELIVERs. Input never commits by itself, so
 *     publishers that are ACKed and send again at once cannot starve
 *     delivery, and a turn costs one commit, not one for input and one for
 *     delivery.
 */
#include "sl_broker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <zmq.h>

#include "sl_admin.h"
#include "sl_admin_policy.h"
#include "sl_authlog.h"
#include "sl_batch.h"
#include "sl_disclose.h"
#include "sl_error.h"
#include "sl_filtered.h"
#include "sl_govern.h"
#include "sl_keys.h"
#include "sl_log.h"
#include "sl_metrics.h"
#include "sl_metrics_http.h"
#include "sl_msgids.h"
#include "sl_queue.h"
#include "sl_registry.h"
#include "sl_schema.h"
#include "sl_session.h"
#include "sl_subs.h"
#include "sl_wire.h"
#include "sl_zap.h"
#include "sluice/v1/admin.pb-c.h"

#define S_MAX_FRAMES   4097      /* header + 4096 records */
#define S_DELIVER_MAX  64        /* records per DELIVER */
#define S_DELIVER_TURN 16        /* DELIVERs per session per loop turn */
#define S_CREDIT_MAX   1000000u
#define S_QUERY_MAX_MS 60000u
#define S_CONSENT_TYPE "sluice.v1.ConsentEvent"
#define S_SEALED_SUBJECT_TAG 100  /* queued RecordMeta only: sealed raw subject */
#define S_STORE_RESERVE_MIN ((size_t) 1 << 20)   /* see s_store_tight */

typedef struct {
    unsigned char rid[SL_RID_MAX];
    size_t rid_len;
    uint64_t seq;
    void *packed;            /* the ACK to send after commit */
    size_t len;
} s_pending_t;

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
} s_query_t;

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
    sl_govern_t *govern;
    sl_decide_fn *decide;
    void *decide_ctx;
    sl_event_fn *event_fn;
    void *event_ctx;
    s_pending_t *pending;
    size_t n_pending, cap_pending;
    s_query_t *queries;
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
    zmq_msg_t frames[S_MAX_FRAMES + 1];   /* routing id + message */
};

int64_t
sl_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- setup */

static void s_on_batch (void *ctx, int committed);

static void *
s_router (sl_broker_t *self, const char *endpoint, const char *domain,
          const sl_keypair_t *kp, char *bound, size_t bound_len, char *err, size_t errlen)
{
    void *s = zmq_socket (self->ctx, ZMQ_ROUTER);
    int one = 1, ivl = 1000, hbto = 3000, linger = 200, hwm = 10000;
    int64_t maxmsg = (int64_t) self->cfg.max_message_size * 4 + 4096;
    if (!s)
        goto fail;
    if (zmq_setsockopt (s, ZMQ_CURVE_SERVER, &one, sizeof one) != 0
        || zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, kp->secret_key, SL_KEY_Z85_LEN) != 0
        || zmq_setsockopt (s, ZMQ_ZAP_DOMAIN, domain, strlen (domain)) != 0
        || zmq_setsockopt (s, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0
        || zmq_setsockopt (s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) != 0
        || zmq_setsockopt (s, ZMQ_HEARTBEAT_TIMEOUT, &hbto, sizeof hbto) != 0
        || zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger) != 0
        || zmq_setsockopt (s, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0
        || zmq_setsockopt (s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0)
        goto fail;
    if (zmq_bind (s, endpoint) != 0)
        goto fail;
    size_t bl = bound_len;
    if (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, bound, &bl) != 0)
        goto fail;
    return s;
fail:
    snprintf (err, errlen, "%s: cannot bind %s: %s", domain, endpoint, zmq_strerror (zmq_errno ()));
    if (s)
        zmq_close (s);
    return NULL;
}

/*  A PAIR socket that receives `sock`'s DISCONNECTED events, so sessions of
 *  closed connections are forgotten. */
static void *
s_monitor (sl_broker_t *self, void *sock, const char *endpoint)
{
    if (zmq_socket_monitor (sock, endpoint, ZMQ_EVENT_DISCONNECTED) != 0)
        return NULL;
    void *pair = zmq_socket (self->ctx, ZMQ_PAIR);
    int linger = 0;
    if (!pair)
        return NULL;
    zmq_setsockopt (pair, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect (pair, endpoint) != 0) {
        zmq_close (pair);
        return NULL;
    }
    return pair;
}

static int
s_write_endpoints (sl_broker_t *self)
{
    char path[600], tmp[620];
    snprintf (path, sizeof path, "%s/endpoints", self->data_dir);
    snprintf (tmp, sizeof tmp, "%s/endpoints.tmp", self->data_dir);
    FILE *f = fopen (tmp, "w");
    if (!f)
        return SL_EIO;
    fprintf (f, "data = %s\nadmin = %s\npid = %ld\n", self->data_ep, self->admin_ep,
             (long) getpid ());
    if (self->http)
        fprintf (f, "metrics = %s\n", sl_metrics_http_address (self->http));
    if (self->next_fp[0])
        fprintf (f, "data.next = %s\nadmin.next = %s\nbroker_key.next = %s\n", self->next_ep,
                 self->next_admin_ep, self->next_pub);
    if (fclose (f) != 0 || rename (tmp, path) != 0)
        return SL_EIO;
    return 0;
}

/*  At a clean stop the file stays, marked stopped: an adapter started with
 *  --data DIR --spool while the broker is down still finds where to
 *  connect (and spools until it is back); sluicectl says "stopped" instead
 *  of waiting for an answer (docs/OPERATIONS.md, DATA/endpoints). */
static void
s_write_endpoints_stopped (sl_broker_t *self)
{
    char path[600], tmp[620], ts[32];
    snprintf (path, sizeof path, "%s/endpoints", self->data_dir);
    snprintf (tmp, sizeof tmp, "%s/endpoints.tmp", self->data_dir);
    time_t now = time (NULL);
    struct tm tm;
    gmtime_r (&now, &tm);
    strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    FILE *f = fopen (tmp, "w");
    if (!f || fprintf (f, "data = %s\nadmin = %s\npid = 0\nstate = stopped\nstopped = %s\n",
                       self->data_ep, self->admin_ep, ts) < 0
        || fclose (f) != 0 || rename (tmp, path) != 0) {
        unlink (path);      /* never leave a file that names a dead pid */
        unlink (tmp);
    }
}

static void s_event (sl_broker_t *self, const sl_event_t *ev);

/*  A refused handshake: the first of its kind is written in full, the rest
 *  are counted into summaries (sl_authlog.h). */
static void
s_auth_denied (void *ctx, const char *fp, const char *address, const char *domain,
               const char *reason)
{
    sl_broker_t *self = ctx;
    if (!sl_authlog_note (self->authlog, sl_now_ms (), fp, address, domain, reason)) {
        sl_debug ("auth.denied", "key=%s address=%s domain=%s reason=%s counted=1", fp, address,
                  domain, reason);
        return;
    }
    sl_warn ("auth.denied", "key=%s address=%s domain=%s reason=%s", fp, address, domain, reason);
    char d[160];
    snprintf (d, sizeof d, "fp=%s peer=%s domain=%s", fp, address, domain);
    sl_event_t ev = { .kind = "auth.denied", .decision = "refused", .reason = reason, .detail = d };
    s_event (self, &ev);
}

static void
s_auth_summary (void *ctx, const sl_authlog_summary_t *sm)
{
    char d[300];
    snprintf (d, sizeof d, "fp=%s peer=%s domain=%s count=%llu first_ms=%lld last_ms=%lld "
              "interval_ms=%lld", sm->fp, sm->address, sm->domain, (unsigned long long) sm->count,
              (long long) sm->first_ms, (long long) sm->last_ms, (long long) sm->interval_ms);
    sl_warn ("auth.denied_summary", "%s reason=%s", d, sm->reason);
    sl_event_t ev = { .kind = "auth.denied.summary", .decision = "refused", .reason = sm->reason,
                      .detail = d };
    s_event (ctx, &ev);
}

/*  Writes the refusal summaries whose interval ended (all of them when
 *  `force`). Returns ms until the next is due, or -1. */
static long
s_authlog_tick (sl_broker_t *self, int force)
{
    return self->authlog ? sl_authlog_flush (self->authlog, sl_now_ms (), force, s_auth_summary, self)
                         : -1;
}

sl_broker_t *
sl_broker_new (const sl_broker_config_t *cfg, char *err, size_t errlen)
{
    sl_broker_t *self = calloc (1, sizeof *self);
    sl_keypair_t kp;
    char path[600], kerr[300];
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    self->cfg = *cfg;
    snprintf (self->data_dir, sizeof self->data_dir, "%s", cfg->data_dir);
    self->started_ms = sl_now_ms ();
    self->next_query_id = 1;

    snprintf (path, sizeof path, "%s/broker.key", self->data_dir);
    if (sl_keys_load_secret (path, &kp, kerr, sizeof kerr) != 0) {
        snprintf (err, errlen, "%s (run `sluiced init --data %s` first)", kerr, self->data_dir);
        goto fail;
    }
    snprintf (path, sizeof path, "%s/store", self->data_dir);
    if (!(self->store = sl_store_open (path, cfg->map_size, 0, err, errlen)))
        goto fail;
    self->batch = sl_batch_new (self->store, cfg->batch_max, cfg->batch_delay_us);
    self->registry = sl_registry_new (self->store);
    self->subs = sl_subs_new (self->store);
    self->queue = sl_queue_new (self->store);
    self->sessions = sl_sessions_new ();
    self->admin_table = sl_admin_new ();
    self->authlog = sl_authlog_new ();
    if (!self->batch || !self->authlog || !self->registry || !self->subs || !self->queue || !self->sessions
        || !self->admin_table
        || sl_batch_listen (self->batch, s_on_batch, self) != 0
        || !(self->metrics = sl_metrics_new (self->batch))
        || sl_admin_register (self->admin_table, sl_admin_member_commands, sl_admin_member_count) != 0
        || sl_admin_register (self->admin_table, sl_admin_status_commands, sl_admin_status_count) != 0
        || sl_admin_register (self->admin_table, sl_admin_keys_commands, sl_admin_keys_count) != 0
        || sl_admin_register (self->admin_table, sl_admin_policy_apply_commands, sl_admin_policy_apply_count) != 0
        || sl_admin_register (self->admin_table, sl_admin_policy_commands, sl_admin_policy_count) != 0
        || sl_admin_register (self->admin_table, sl_admin_audit_commands, sl_admin_audit_count) != 0
        || sl_admin_register (self->admin_table, sl_admin_consent_commands, sl_admin_consent_count) != 0
        || sl_admin_register (self->admin_table, sl_admin_schema_commands, sl_admin_schema_count) != 0) {
        snprintf (err, errlen, "cannot initialise the broker (out of memory or store unreadable)");
        goto fail;
    }
    /* a new queue epoch, durable before anything is delivered: delivery
     * tags are never reused across restarts (sl_queue.h) */
    MDB_txn *etxn;
    if (sl_batch_txn (self->batch, &etxn) != 0 || sl_queue_epoch_begin (self->queue, etxn) != 0
        || sl_broker_commit (self) != 0) {
        snprintf (err, errlen, "cannot start a new delivery-tag epoch in the store");
        goto fail;
    }
    /* policies, consent and the audit log: sets the decision function and
     * the event recorder (until then everything is denied) */
    sl_govern_config_t gc = { .checkpoint_every = cfg->checkpoint_every,
                              .checkpoint_interval_ms = cfg->checkpoint_interval_ms,
                              .consent_scan_ms = cfg->consent_scan_ms };
    if (!(self->govern = sl_govern_new (self, self->data_dir, &gc, err, errlen)))
        goto fail;

    self->ctx = zmq_ctx_new ();
    if (!self->ctx || !(self->zap = sl_zap_new (self->ctx, self->registry))) {
        snprintf (err, errlen, "cannot start the ZAP handler");
        goto fail;
    }
    sl_zap_on_denied (self->zap, s_auth_denied, self);
    if (sl_zap_guard_admin (self->zap, "sluice.admin", cfg->admin_endpoint, cfg->admin_allow,
                            err, errlen) != 0)
        goto fail;
    self->data = s_router (self, cfg->data_endpoint, "sluice.data", &kp,
                           self->data_ep, sizeof self->data_ep, err, errlen);
    if (!self->data)
        goto fail;
    self->admin = s_router (self, cfg->admin_endpoint, "sluice.admin", &kp,
                            self->admin_ep, sizeof self->admin_ep, err, errlen);
    if (!self->admin)
        goto fail;
    sl_keys_fingerprint (kp.public_key, self->key_fp);
    sodium_memzero (&kp, sizeof kp);
    if (!(self->mon_data = s_monitor (self, self->data, "inproc://sluiced-monitor-data"))
        || !(self->mon_admin = s_monitor (self, self->admin, "inproc://sluiced-monitor-admin"))) {
        snprintf (err, errlen, "cannot monitor the broker sockets: %s", zmq_strerror (zmq_errno ()));
        goto fail;
    }
    if (cfg->metrics_endpoint && *cfg->metrics_endpoint
        && !(self->http = sl_metrics_http_start (self->metrics, cfg->metrics_endpoint, err, errlen)))
        goto fail;
    if (s_write_endpoints (self) != 0) {
        snprintf (err, errlen, "%s/endpoints: cannot write: %s", self->data_dir, strerror (errno));
        goto fail;
    }
    sl_broker_keys_reload (self);      /* a rollover in progress: serve the next key too */
    sl_info ("broker.started", "version=%s data=%s admin=%s dir=%s members=%zu subscriptions=%zu",
             SLUICE_VERSION, self->data_ep, self->admin_ep, self->data_dir,
             sl_registry_count (self->registry), sl_subs_count (self->subs));
    return self;

fail:
    sl_broker_destroy (&self);
    return NULL;
}


sl_audit_t *sl_broker_audit (sl_broker_t *self) { return sl_govern_audit (self->govern); }
sl_consent_t *sl_broker_consent (sl_broker_t *self) { return sl_govern_consent (self->govern); }
sl_policy_store_t *sl_broker_policy (sl_broker_t *self) { return sl_govern_policy (self->govern); }
sl_govern_t *sl_broker_govern (sl_broker_t *self) { return self->govern; }

void
sl_broker_set_decide (sl_broker_t *self, sl_decide_fn *fn, void *ctx)
{
    self->decide = fn;
    self->decide_ctx = ctx;
}

void
sl_broker_on_event (sl_broker_t *self, sl_event_fn *fn, void *ctx)
{
    self->event_fn = fn;
    self->event_ctx = ctx;
}

/*  Hands `ev` to the recorder inside the batch transaction. `note`: count it
 *  as a pending operation (events outside a publish, so they are committed
 *  within the batch delay). Does not abort on failure: the caller does. */
/*  The data subject a record is about: its schema's subject field, "" when
 *  it has none. RecordMeta.subject must agree with it (PROTOCOL.md §4): a
 *  publisher may not claim another person's consent for a record. Sets
 *  m->subject from the body when the header left it empty. Returns 0,
 *  SL_EINVAL (the two differ) or SL_ENOMEM. */
static int
s_subject_from_body (const sl_schema_t *schema, const ProtobufCMessage *rec,
                     Sluice__V1__RecordMeta *m)
{
    const char *body = "";
    const ProtobufCFieldDescriptor *fd = schema->subject_field
        ? sl_schema_field (schema, schema->subject_field) : NULL;
    if (fd && fd->type == PROTOBUF_C_TYPE_STRING) {
        const char *v = *(char *const *) ((const char *) rec + fd->offset);
        body = v ? v : "";
    }
    if (m->subject && *m->subject)
        return strcmp (m->subject, body) == 0 ? 0 : SL_EINVAL;
    if (!*body)
        return 0;
    char *copy = strdup (body);
    if (!copy)
        return SL_ENOMEM;
    if (m->subject != protobuf_c_empty_string)
        free (m->subject);
    m->subject = copy;
    return 0;
}

static int
s_record (sl_broker_t *self, const sl_event_t *ev, int note)
{
    if (!self->event_fn)
        return 0;
    MDB_txn *txn;
    int rc = sl_batch_txn (self->batch, &txn);
    if (rc == 0)
        rc = self->event_fn (self->event_ctx, txn, ev);
    if (rc != 0) {
        sl_error ("event.failed", "kind=%s error=\"%s\"", ev->kind, sl_strerror (rc));
        return rc;
    }
    sl_metrics_event (self->metrics, ev);
    if (note)
        sl_batch_note (self->batch, 1);
    return 0;
}

/*  s_record in the shape sl_filtered_flush wants. */
static int
s_record_cb (void *self, const sl_event_t *ev)
{
    return s_record (self, ev, 0);
}

int
sl_broker_event (sl_broker_t *self, const sl_event_t *ev)
{
    int rc = s_record (self, ev, 1);
    if (rc != 0)
        sl_batch_abort (self->batch);
    return rc;
}

/*  Same, for events outside a publish: a failure aborts the batch. */
static void
s_event (sl_broker_t *self, const sl_event_t *ev)
{
    sl_broker_event (self, ev);
}

/*  "a@1,b@2" from decision rules into buf. Cannot fail (truncates). */
static const char *
s_rules (char rules[][SL_DECIDE_RULE_MAX], int n, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = 0;
    for (int i = 0; i < n && o + 1 < size; i++) {
        int w = snprintf (buf + o, size - o, "%s%s", i ? "," : "", rules[i]);
        if (w < 0)
            break;
        o += (size_t) w;
    }
    return buf;
}

static const char *
s_rules_meta (char **rules, size_t n, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && o + 1 < size; i++) {
        int w = snprintf (buf + o, size - o, "%s%s", i ? "," : "", rules[i]);
        if (w < 0)
            break;
        o += (size_t) w;
    }
    return buf;
}

sl_store_t *sl_broker_store (sl_broker_t *self) { return self->store; }
sl_batch_t *sl_broker_batch (sl_broker_t *self) { return self->batch; }
sl_registry_t *sl_broker_registry (sl_broker_t *self) { return self->registry; }
sl_subs_t *sl_broker_subs (sl_broker_t *self) { return self->subs; }
sl_queue_t *sl_broker_queue (sl_broker_t *self) { return self->queue; }
sl_sessions_t *sl_broker_sessions (sl_broker_t *self) { return self->sessions; }
sl_admin_t *sl_broker_admin (sl_broker_t *self) { return self->admin_table; }
sl_zap_t *sl_broker_zap (sl_broker_t *self) { return self->zap; }
int64_t sl_broker_started_ms (sl_broker_t *self) { return self->started_ms; }
sl_metrics_t *sl_broker_metrics (sl_broker_t *self) { return self->metrics; }

void
sl_broker_on_reload (sl_broker_t *self, volatile sig_atomic_t *flag, sl_broker_reload_fn *fn,
                     void *ctx)
{
    self->reload = flag;
    self->reload_fn = fn;
    self->reload_ctx = ctx;
}

void
sl_broker_set_limits (sl_broker_t *self, uint64_t queue_max, unsigned query_timeout_ms)
{
    self->cfg.queue_max = queue_max;
    self->cfg.query_timeout_ms = query_timeout_ms;
}

/* ------------------------------------------------- pending durable answers */

static int
s_pending_push (sl_broker_t *self, const void *rid, size_t rid_len, uint64_t seq,
                void *packed, size_t len)
{
    if (self->n_pending == self->cap_pending) {
        size_t cap = self->cap_pending ? self->cap_pending * 2 : 64;
        s_pending_t *p = realloc (self->pending, cap * sizeof *p);
        if (!p)
            return SL_ENOMEM;
        self->pending = p;
        self->cap_pending = cap;
    }
    s_pending_t *p = &self->pending[self->n_pending++];
    memcpy (p->rid, rid, rid_len);
    p->rid_len = rid_len;
    p->seq = seq;
    p->packed = packed;
    p->len = len;
    return 0;
}

/*  Batch outcome: send or fail the answers that waited for it, settle
 *  consumer acks, and on abort reload the mirrors of what the batch wrote. */
static void
s_on_batch (void *ctx, int committed)
{
    sl_broker_t *self = ctx;
    sl_sessions_settle (self->sessions, committed);
    if (!committed) {
        self->aborts++;
        sl_registry_reload (self->registry);
        sl_subs_reload (self->subs);
        sl_queue_forget (self->queue);
    }
    for (size_t i = 0; i < self->n_pending; i++) {
        s_pending_t *p = &self->pending[i];
        if (committed)
            sl_wire_send_packed (self->data, p->rid, p->rid_len, p->packed, p->len);
        else {
            int full = sl_batch_last_rc (self->batch) == SL_EFULL;
            sl_wire_error (self->data, p->rid, p->rid_len, p->seq, 0,
                           full ? SLUICE__V1__ERROR_CODE__STORE_FULL : SLUICE__V1__ERROR_CODE__INTERNAL,
                           full ? "broker store is full; nothing of this message was stored: resend later with the same message_ids"
                                : "broker could not commit; nothing of this message was stored: resend with the same message_ids",
                           full ? "store-full" : "commit-failed");
        }
        free (p->packed);
    }
    self->n_pending = 0;
    if (committed) {
        /* new queue entries may be deliverable */
        for (size_t i = 0; i < sl_sessions_count (self->sessions); i++) {
            sl_session_t *s = sl_sessions_at (self->sessions, i);
            if (s->plane == SL_PLANE_DATA && s->credit > 0)
                s->dirty = 1;
        }
    }
}

int
sl_broker_commit (sl_broker_t *self)
{
    return sl_batch_commit (self->batch);
}

/* ------------------------------------------------------------ decisions */

/*  Asks the decision function; a failing function denies. */
static void
s_decide (sl_broker_t *self, sl_decide_input_t *in, sl_decide_output_t *out)
{
    memset (out, 0, sizeof *out);
    in->time_ms = sl_now_ms ();
    if (!in->subject)
        in->subject = "";
    int rc = self->decide ? self->decide (self->decide_ctx, in, out) : SL_EINVAL;
    if (rc != 0) {
        free (out->body);
        memset (out, 0, sizeof *out);
        snprintf (out->reason, sizeof out->reason, "decide-error");
    }
    /* the arrays hold SL_DECIDE_MAX_RULES: never trust a count beyond them */
    if (out->n_rules < 0)
        out->n_rules = 0;
    if (out->n_rules > SL_DECIDE_MAX_RULES)
        out->n_rules = SL_DECIDE_MAX_RULES;
}

/* ------------------------------------------------------------- answers */

static void
s_send_error (sl_broker_t *self, const void *rid, size_t rid_len, const char *member,
              uint64_t seq, int code, const char *reason, const char *fmt, ...)
    __attribute__ ((format (printf, 8, 9)));

static void
s_send_error (sl_broker_t *self, const void *rid, size_t rid_len, const char *member,
              uint64_t seq, int code, const char *reason, const char *fmt, ...)
{
    char text[512], q[560];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    sl_info ("proto.error", "member=%s seq=%llu code=%s text=%s", member ? member : "?",
             (unsigned long long) seq, sl_wire_code_name (code),
             sl_log_quote (text, q, sizeof q));
    sl_wire_error (self->data, rid, rid_len, seq, 0, (Sluice__V1__ErrorCode) code, text, reason);
}

static void
s_send_header (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h)
{
    h->version = 1;
    sl_wire_send (self->data, s->rid, s->rid_len, h, NULL, 0);
}

/*  Forgets data or admin session `s` (pointer invalid afterwards). For a
 *  data session, the member's other connections take over its in-flight
 *  records and, if it was current, its role (sl_session.h, queue group).
 *  Returns 1 if `s` was the member's current session. */
static int
s_session_drop (sl_broker_t *self, sl_session_t *s)
{
    char member[sizeof s->member];
    int data = s->plane == SL_PLANE_DATA, was_current = s->current;
    snprintf (member, sizeof member, "%s", s->member);
    sl_sessions_remove (self->sessions, s);
    if (data && sl_sessions_closed (self->sessions, member) && was_current)
        sl_info ("session.current", "member=%s previous=closed", member);
    return was_current;
}

/* ------------------------------------------------------------- PUBLISH */

typedef struct {
    Sluice__V1__Error e;
    char text[200];
} s_rec_error_t;

/*  True when the store is so full that publishes must wait: the last
 *  eighth of the map (or of the disk under it), and at least 1 MiB, is kept
 *  for what drains it — deliveries, consumer acks and their audit entries,
 *  and the pages LMDB's copy-on-write needs for them — so consumers can
 *  always free space. Read at most every 20 ms. */
static int
s_store_tight (sl_broker_t *self)
{
    int64_t now = sl_now_ms ();
    if (now - self->usage_ms >= 20 || now < self->usage_ms) {
        if (sl_store_usage (self->store, &self->used, &self->capacity) != 0)
            self->used = self->capacity = 0;
        self->usage_ms = now;
    }
    size_t reserve = self->capacity / 8 > S_STORE_RESERVE_MIN ? self->capacity / 8
                                                              : S_STORE_RESERVE_MIN;
    return self->capacity > 0 && self->used + reserve > self->capacity;
}

/*  The consumer whose full queue keeps record `rec` of `type` out, or NULL:
 *  a subscriber at cfg.queue_max that the policy would give the record. */
static const char *
s_queue_full (sl_broker_t *self, MDB_txn *txn, sl_session_t *s, const char *type,
              const Sluice__V1__RecordMeta *m, ProtobufCMessage *rec)
{
    if (!self->cfg.queue_max)
        return NULL;
    for (size_t j = 0; j < sl_subs_count (self->subs); j++) {
        const sl_sub_t *sub = sl_subs_at (self->subs, j);
        if (strcmp (sub->record_type, type) != 0)
            continue;
        long depth = sl_queue_count (self->queue, txn, sub->consumer);
        if (depth < 0 || (uint64_t) depth < self->cfg.queue_max)
            continue;
        sl_decide_input_t in = {
            .stage = SL_DECIDE_PUBLISH, .owner = s->member, .consumer = sub->consumer,
            .record_type = type, .purpose = sub->purpose, .subject = m->subject,
            .event_time_ms = m->event_time, .record = rec, .txn = txn
        };
        sl_decide_output_t out;
        s_decide (self, &in, &out);
        free (out.body);
        if (out.permit)
            return sub->consumer;
    }
    return NULL;
}

static void
s_publish (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    size_t n = h->n_records;
    if (n == 0) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "no-records",
                      "PUBLISH carries no records: put one RecordMeta per record frame in Header.records");
        return;
    }
    if (s_store_tight (self)) {
        sl_warn ("publish.store_full", "member=%s records=%zu used_kib=%zu capacity_kib=%zu",
                 s->member, n, self->used >> 10, self->capacity >> 10);
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__STORE_FULL, "store-full",
                      "broker store is full (%zu of %zu KiB in use; the last eighth, at least "
                      "1 MiB, is kept for deliveries and acks): nothing of this message was stored; resend later "
                      "with the same message_ids", self->used >> 10, self->capacity >> 10);
        return;
    }
    MDB_txn *txn;
    if (sl_batch_txn (self->batch, &txn) != 0) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__INTERNAL, "store", "broker store unavailable; resend later");
        return;
    }
    ProtobufCBinaryData *ids = calloc (n, sizeof *ids);
    s_rec_error_t *errs = calloc (n, sizeof *errs);
    Sluice__V1__Error **errp = calloc (n, sizeof *errp);
    size_t n_ids = 0, n_errs = 0, queued = 0, dups = 0, denied = 0;
    sl_filtered_t filtered;     /* rows a `where` left out: one entry per key (sl_filtered.h) */
    sl_filtered_init (&filtered);
    int store_rc = 0;
    if (!ids || !errs || !errp) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__INTERNAL, "memory", "broker out of memory; resend later");
        goto out;
    }
    int64_t now = sl_now_ms ();
    for (size_t i = 0; i < n && store_rc == 0; i++) {
        Sluice__V1__RecordMeta *m = h->records[i];
        const char *type = (m->record_type && *m->record_type) ? m->record_type : h->record_type;
        s_rec_error_t *re = &errs[n_errs];
        sluice__v1__error__init (&re->e);
        re->e.text = re->text;
        re->e.message_id = m->message_id;
        int code = 0, consent = 0;
        const sl_schema_t *schema = NULL;
        if (m->message_id.len != SL_MSGID_LEN) {
            code = SLUICE__V1__ERROR_CODE__BAD_REQUEST;
            snprintf (re->text, sizeof re->text, "record %zu: message_id must be 16 bytes, got %zu",
                      i, m->message_id.len);
        }
        else if (!type || !*type || !(schema = sl_schema_find (type))) {
            code = SLUICE__V1__ERROR_CODE__UNKNOWN_RECORD_TYPE;
            snprintf (re->text, sizeof re->text, "record %zu: unknown record type '%.64s'", i,
                      type ? type : "");
        }
        else if (strcmp (schema->record_type, S_CONSENT_TYPE) == 0) {
            /* the consent channel: only consent sources publish consent events */
            const sl_member_t *mem = sl_registry_by_name (self->registry, s->member);
            if (!mem || strcmp (mem->role, "consent-source") != 0) {
                code = SLUICE__V1__ERROR_CODE__NOT_PERMITTED;
                snprintf (re->text, sizeof re->text,
                          "record %zu: member '%s' (role %s) may not publish %s: only members "
                          "with role consent-source may", i, s->member, mem ? mem->role : "?", type);
            }
            else
                consent = 1;
        }
        else if (strcmp (schema->owner, s->member) != 0) {
            code = SLUICE__V1__ERROR_CODE__NOT_OWNER;
            snprintf (re->text, sizeof re->text,
                      "record %zu: member '%s' does not own %s (owner: %s)", i, s->member,
                      type, schema->owner);
        }
        if (code) {
            re->e.code = (Sluice__V1__ErrorCode) code;
            re->e.reason = (char *) sl_wire_code_name (code);
            errp[n_errs++] = &re->e;
            sl_event_t ev = { .kind = "publish.refused", .actor = s->member, .record_type = type,
                              .message_id = m->message_id.len == SL_MSGID_LEN ? m->message_id.data : NULL,
                              .reason = re->e.reason, .detail = re->text };
            store_rc = s_record (self, &ev, 1);
            continue;
        }
        int seen = sl_msgids_seen (self->store, txn, s->member, m->message_id.data);
        if (seen < 0) {
            store_rc = seen;
            break;
        }
        if (seen) {
            ids[n_ids++] = m->message_id;
            dups++;
            continue;
        }
        zmq_msg_t *body = &bodies[i];
        if (consent) {
            int crc = sl_govern_consent_event (self->govern, s->member, "consent-source",
                                               zmq_msg_data (body), zmq_msg_size (body),
                                               re->text, sizeof re->text);
            if (crc == SL_EFULL || crc == SL_ESTORE || crc == SL_ENOMEM) {
                store_rc = crc;
                break;
            }
            if (crc != 0) {
                re->e.code = crc == SL_EDECODE ? SLUICE__V1__ERROR_CODE__BAD_BODY
                           : crc == SL_EPERM ? SLUICE__V1__ERROR_CODE__NOT_PERMITTED
                           : crc == SL_ENOTFOUND ? SLUICE__V1__ERROR_CODE__NOT_FOUND
                           : SLUICE__V1__ERROR_CODE__BAD_REQUEST;
                re->e.reason = (char *) sl_wire_code_name (re->e.code);
                errp[n_errs++] = &re->e;
                sl_event_t ev = { .kind = "publish.refused", .actor = s->member, .record_type = type,
                                  .message_id = m->message_id.data,
                                  .reason = re->e.reason, .detail = re->text };
                store_rc = s_record (self, &ev, 1);
                continue;
            }
            store_rc = sl_msgids_put (self->store, txn, s->member, m->message_id.data, (uint64_t) now);
            if (store_rc == 0)
                ids[n_ids++] = m->message_id;
            continue;
        }
        ProtobufCMessage *rec = protobuf_c_message_unpack (schema->descriptor, NULL,
                                                           zmq_msg_size (body), zmq_msg_data (body));
        if (!rec) {
            re->e.code = SLUICE__V1__ERROR_CODE__BAD_BODY;
            re->e.reason = "bad-body";
            snprintf (re->text, sizeof re->text, "record %zu: body (%zu bytes) does not decode as %s",
                      i, zmq_msg_size (body), type);
            errp[n_errs++] = &re->e;
            sl_event_t ev = { .kind = "publish.refused", .actor = s->member, .record_type = type,
                              .message_id = m->message_id.data, .subject = m->subject,
                              .reason = re->e.reason, .detail = re->text };
            store_rc = s_record (self, &ev, 1);
            continue;
        }
        int src = s_subject_from_body (schema, rec, m);
        if (src == SL_ENOMEM) {
            protobuf_c_message_free_unpacked (rec, NULL);
            store_rc = src;
            break;
        }
        if (src != 0) {
            protobuf_c_message_free_unpacked (rec, NULL);
            re->e.code = SLUICE__V1__ERROR_CODE__BAD_REQUEST;
            re->e.reason = "bad-request";
            snprintf (re->text, sizeof re->text,
                      "record %zu: RecordMeta.subject differs from the body's %s field; "
                      "leave it empty or make the two equal", i, schema->subject_field);
            errp[n_errs++] = &re->e;
            sl_event_t ev = { .kind = "publish.refused", .actor = s->member, .record_type = type,
                              .message_id = m->message_id.data,
                              .reason = re->e.reason, .detail = re->text };
            store_rc = s_record (self, &ev, 1);
            continue;
        }
        const char *full = s_queue_full (self, txn, s, type, m, rec);
        if (full) {
            re->e.code = SLUICE__V1__ERROR_CODE__QUEUE_FULL;
            re->e.reason = "queue-full";
            snprintf (re->text, sizeof re->text,
                      "record %zu: the queue of consumer '%.32s' is full (%llu records): not "
                      "stored; resend later with the same message_id", i, full,
                      (unsigned long long) self->cfg.queue_max);
            errp[n_errs++] = &re->e;
            sl_event_t ev = { .kind = "publish.refused", .actor = s->member, .counterpart = full,
                              .record_type = type, .message_id = m->message_id.data,
                              .subject = m->subject, .reason = re->e.reason, .detail = re->text };
            store_rc = s_record (self, &ev, 1);
            protobuf_c_message_free_unpacked (rec, NULL);
            continue;
        }
        {
            sl_event_t ev = { .kind = "publish", .actor = s->member, .owner = s->member,
                              .record_type = type, .message_id = m->message_id.data,
                              .subject = m->subject, .decision = "ok" };
            store_rc = s_record (self, &ev, 0);
        }
        for (size_t j = 0; j < sl_subs_count (self->subs) && store_rc == 0; j++) {
            const sl_sub_t *sub = sl_subs_at (self->subs, j);
            if (strcmp (sub->record_type, type) != 0)
                continue;
            sl_decide_input_t in = {
                .stage = SL_DECIDE_PUBLISH, .owner = s->member, .consumer = sub->consumer,
                .record_type = type, .purpose = sub->purpose, .subject = m->subject,
                .event_time_ms = m->event_time, .record = rec, .txn = txn
            };
            sl_decide_output_t out;
            s_decide (self, &in, &out);
            char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX];
            s_rules (out.rules, out.n_rules, rbuf, sizeof rbuf);
            if (!out.permit && strcmp (out.reason, "condition-false") == 0
                && sl_filtered_add (&filtered, sub->consumer, type, sub->purpose, rbuf)) {
                denied++;
                continue;
            }
            sl_event_t ev = { .kind = out.permit ? "queue" : "deny", .actor = s->member,
                              .counterpart = sub->consumer, .owner = s->member, .record_type = type,
                              .message_id = m->message_id.data, .subject = m->subject,
                              .purpose = sub->purpose, .decision = out.permit ? "permit" : "deny",
                              .rules = rbuf, .fields = out.fields_set ? out.fields : NULL,
                              .reason = out.permit ? NULL : out.reason,
                              .detail = "stage=publish" };
            store_rc = s_record (self, &ev, 0);
            if (!out.permit) {
                denied++;
                sl_info ("publish.denied", "owner=%s consumer=%s record=%s purpose=%s reason=%s",
                         s->member, sub->consumer, type, sub->purpose, out.reason);
                continue;
            }
            if (store_rc != 0) {
                free (out.body);
                break;
            }
            char *rules[SL_DECIDE_MAX_RULES];
            for (int r = 0; r < out.n_rules; r++)
                rules[r] = out.rules[r];
            Sluice__V1__RecordMeta qm = SLUICE__V1__RECORD_META__INIT;
            qm.message_id = m->message_id;
            qm.subject = out.subject_set ? out.subject : m->subject;
            qm.event_time = sl_decide_coarsen_ms (m->event_time, out.coarsen_s);
            qm.record_type = (char *) type;
            qm.owner = s->member;
            qm.purpose = (char *) sub->purpose;
            qm.n_rules = (size_t) out.n_rules;
            qm.rules = rules;
            /* the queued copy's subject is the consumer's view; the raw one
             * travels sealed for delivery-time consent checks */
            uint8_t sealed[2 + 512];   /* varint length | nonce | box */
            uint8_t flist[2 + SL_DISCLOSE_FIELDS_MAX];
            ProtobufCMessageUnknownField uf[2];
            size_t sl = 0;
            if (out.subject_set && m->subject && *m->subject
                && sl_govern_seal_subject (self->govern, m->subject, sealed + 2, 512, &sl) == 0) {
                /* protobuf-c packs unknown field data as is: it carries its
                 * length, here always as a two-byte varint */
                sealed[0] = (uint8_t) (0x80 | (sl & 0x7f));
                sealed[1] = (uint8_t) (sl >> 7);
                uf[0].len = sl + 2;
                uf[0].tag = S_SEALED_SUBJECT_TAG;
                uf[0].wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
                uf[0].data = sealed;
                qm.base.n_unknown_fields = 1;
            }
            /* the fields this copy released, for its `deliver` entry */
            if (out.fields_set
                && sl_disclose_fields_field (&uf[qm.base.n_unknown_fields], flist, sizeof flist,
                                             out.fields) == 0)
                qm.base.n_unknown_fields++;
            if (qm.base.n_unknown_fields)
                qm.base.unknown_fields = uf;
            uint64_t tag;
            const void *bd = out.body ? out.body : zmq_msg_data (body);
            size_t bl = out.body ? out.body_len : zmq_msg_size (body);
            store_rc = sl_queue_append (self->queue, txn, sub->consumer, &qm, bd, bl, &tag);
            free (out.body);
            if (store_rc == 0)
                queued++;
        }
        protobuf_c_message_free_unpacked (rec, NULL);
        if (store_rc == 0)
            store_rc = sl_msgids_put (self->store, txn, s->member, m->message_id.data, (uint64_t) now);
        if (store_rc == 0)
            ids[n_ids++] = m->message_id;
    }
    if (store_rc == 0)
        store_rc = sl_filtered_flush (&filtered, s->member, "publish", s_record_cb, self);

    if (store_rc != 0) {
        /* LMDB leaves a failed write transaction unusable: everything pending fails */
        sl_error ("publish.store_failed", "member=%s error=\"%s\"", s->member, sl_strerror (store_rc));
        sl_batch_abort (self->batch);
        int full = store_rc == SL_EFULL;
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      full ? SLUICE__V1__ERROR_CODE__STORE_FULL : SLUICE__V1__ERROR_CODE__INTERNAL,
                      full ? "store-full" : "store-error",
                      "nothing of this message was stored (%s); resend later with the same message_ids",
                      sl_strerror (store_rc));
        goto out;
    }
    Sluice__V1__Header a = SLUICE__V1__HEADER__INIT;
    a.version = 1;
    a.seq = h->seq;
    a.n_errors = n_errs;
    a.errors = errp;
    if (n_ids == 0) {
        a.command = SLUICE__V1__COMMAND__ERROR;
        char q[300];
        sl_info ("proto.error", "member=%s seq=%llu code=%s records=%zu text=%s", s->member,
                 (unsigned long long) h->seq, sl_wire_code_name (errp[0]->code), n,
                 sl_log_quote (errp[0]->text, q, sizeof q));
        sl_wire_send (self->data, s->rid, s->rid_len, &a, NULL, 0);
        goto out;
    }
    a.command = SLUICE__V1__COMMAND__ACK;
    a.n_message_ids = n_ids;
    a.message_ids = ids;
    size_t len;
    void *packed = sl_wire_pack (&a, &len);
    if (!packed || s_pending_push (self, s->rid, s->rid_len, h->seq, packed, len) != 0) {
        free (packed);
        sl_batch_abort (self->batch);
        goto out;
    }
    sl_batch_note (self->batch, (unsigned) n_ids);
    sl_debug ("publish.accepted", "member=%s seq=%llu records=%zu stored=%zu duplicates=%zu queued=%zu denied=%zu refused=%zu",
              s->member, (unsigned long long) h->seq, n, n_ids - dups, dups, queued, denied, n_errs);
out:
    free (ids);
    free (errs);
    free (errp);
}

/* ------------------------------------------------- SUBSCRIBE / UNSUBSCRIBE */

static void
s_subscribe (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, int add)
{
    const char *what = add ? "SUBSCRIBE" : "UNSUBSCRIBE";
    if (!h->record_type || !sl_schema_find (h->record_type)) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__UNKNOWN_RECORD_TYPE, "unknown-record-type",
                      "%s: unknown record type '%.64s'", what, h->record_type ? h->record_type : "");
        return;
    }
    if (!h->purpose || !sl_subs_valid_purpose (h->purpose)) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "bad-purpose",
                      "%s: purpose '%.64s' is not a purpose word ([a-z0-9][a-z0-9-]*, at most 64 characters)",
                      what, h->purpose ? h->purpose : "");
        return;
    }
    MDB_txn *txn;
    int rc = sl_batch_txn (self->batch, &txn), created = 0;
    if (rc == 0)
        rc = add ? sl_subs_add (self->subs, txn, s->member, h->record_type, h->purpose, &created)
                 : sl_subs_remove (self->subs, txn, s->member, h->record_type, h->purpose);
    if (rc == SL_ENOTFOUND) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__NOT_FOUND, "not-found",
                      "UNSUBSCRIBE: no subscription to %s for purpose %s", h->record_type, h->purpose);
        return;
    }
    if (rc == 0)
        rc = sl_broker_commit (self);     /* subscriptions are rare: make them durable now */
    if (rc != 0) {
        sl_batch_abort (self->batch);
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__INTERNAL, "store-error",
                      "%s failed: %s; try again", what, sl_strerror (rc));
        return;
    }
    sl_info (add ? "subscribe" : "unsubscribe", "member=%s record=%s purpose=%s new=%d",
             s->member, h->record_type, h->purpose, add ? created : 1);
    Sluice__V1__Header a = SLUICE__V1__HEADER__INIT;
    a.command = SLUICE__V1__COMMAND__ACK;
    a.seq = h->seq;
    s_send_header (self, s, &a);
    s->dirty = 1;
}

/* ---------------------------------------------- consumer ACK, NACK, CREDIT */

/*  The in-flight entry for `tag` on another data session of s's member
 *  (queue group, sl_session.h), or NULL. */
static sl_inflight_t *
s_inflight_sibling (sl_broker_t *self, sl_session_t *s, uint64_t tag)
{
    for (size_t i = 0; i < sl_sessions_count (self->sessions); i++) {
        sl_session_t *o = sl_sessions_at (self->sessions, i);
        if (o == s || o->plane != SL_PLANE_DATA || o->n_inflight == 0
            || strcmp (o->member, s->member) != 0)
            continue;
        sl_inflight_t *f = sl_session_inflight_find (o, tag);
        if (f)
            return f;
    }
    return NULL;
}

static void
s_consumer_ack (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, int nack)
{
    const char *what = nack ? "NACK" : "ACK";
    if (h->n_delivery_tags == 0) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "no-tags",
                      "%s carries no delivery_tags", what);
        return;
    }
    if (!sl_subs_has_consumer (self->subs, s->member)) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__NOT_SUBSCRIBED, "not-subscribed",
                      "%s from member '%s', which has no subscriptions", what, s->member);
        return;
    }
    size_t n = h->n_delivery_tags;
    uint64_t *done = calloc (n, sizeof *done);
    s_rec_error_t *errs = calloc (n, sizeof *errs);
    Sluice__V1__Error **errp = calloc (n, sizeof *errp);
    size_t n_done = 0, n_errs = 0;
    int store_rc = 0;
    MDB_txn *txn = NULL;
    if (!done || !errs || !errp)
        goto out;
    if (!nack && sl_batch_txn (self->batch, &txn) != 0)
        store_rc = SL_ESTORE;
    for (size_t i = 0; i < n && store_rc == 0; i++) {
        uint64_t tag = h->delivery_tags[i];
        sl_inflight_t *f = sl_session_inflight_find (s, tag);
        int ok = 0;
        if (nack) {
            if (f && !f->acked) {
                sl_session_inflight_drop (s, tag);
                if (tag < s->scan_from)
                    s->scan_from = tag;
                s->dirty = 1;
                ok = 1;
            }
        }
        else if (!f || !f->acked) {
            if (!f)
                f = s_inflight_sibling (self, s, tag);
            int rc = f && f->acked ? SL_ENOTFOUND : sl_queue_remove (self->queue, txn, s->member, tag);
            if (rc == 0) {
                if (f)
                    f->acked = 1;
                ok = 1;
                char d[40];
                snprintf (d, sizeof d, "tag=%llu", (unsigned long long) tag);
                sl_event_t ev = { .kind = "ack", .actor = s->member, .detail = d };
                rc = s_record (self, &ev, 0);
                if (rc != 0)
                    store_rc = rc;
            }
            else if (rc != SL_ENOTFOUND)
                store_rc = rc;
        }
        if (ok)
            done[n_done++] = tag;
        else if (store_rc == 0) {
            s_rec_error_t *re = &errs[n_errs];
            sluice__v1__error__init (&re->e);
            re->e.code = SLUICE__V1__ERROR_CODE__NOT_FOUND;
            re->e.reason = "not-found";
            re->e.text = re->text;
            snprintf (re->text, sizeof re->text,
                      "%s: delivery tag %llu is not %s for member '%s'", what,
                      (unsigned long long) tag, nack ? "in flight" : "queued", s->member);
            errp[n_errs++] = &re->e;
        }
    }
    if (store_rc != 0) {
        sl_batch_abort (self->batch);
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__INTERNAL, "store-error",
                      "%s failed: %s; nothing was removed, send it again", what, sl_strerror (store_rc));
        goto out;
    }
    Sluice__V1__Header a = SLUICE__V1__HEADER__INIT;
    a.version = 1;
    a.command = SLUICE__V1__COMMAND__ACK;
    a.seq = h->seq;
    a.n_delivery_tags = n_done;
    a.delivery_tags = done;
    a.n_errors = n_errs;
    a.errors = errp;
    if (nack || n_done == 0) {
        sl_wire_send (self->data, s->rid, s->rid_len, &a, NULL, 0);
        goto out;
    }
    size_t len;
    void *packed = sl_wire_pack (&a, &len);
    if (!packed || s_pending_push (self, s->rid, s->rid_len, h->seq, packed, len) != 0) {
        free (packed);
        sl_batch_abort (self->batch);
        goto out;
    }
    sl_batch_note (self->batch, (unsigned) n_done);
out:
    free (done);
    free (errs);
    free (errp);
}

static void
s_credit (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h)
{
    if (h->credit == 0) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "no-credit", "CREDIT of 0: send credit >= 1");
        return;
    }
    if (!sl_subs_has_consumer (self->subs, s->member)) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__NOT_SUBSCRIBED, "not-subscribed",
                      "CREDIT from member '%s', which has no subscriptions", s->member);
        return;
    }
    uint64_t c = (uint64_t) s->credit + h->credit;
    s->credit = c > S_CREDIT_MAX ? S_CREDIT_MAX : (uint32_t) c;
    s->dirty = 1;
}

/* -------------------------------------------------------------- DELIVER */

typedef struct {
    sl_broker_t *self;
    sl_session_t *s;
    MDB_txn *rtxn;
    Sluice__V1__RecordMeta *metas[S_DELIVER_MAX];
    zmq_msg_t bodies[S_DELIVER_MAX];
    size_t n;
    size_t bytes;
    uint32_t budget;
    uint64_t denied[S_DELIVER_MAX];
    size_t n_denied;
    char raw[S_DELIVER_MAX][128];   /* raw subjects of metas[], for the audit */
    sl_session_t *sib[32];          /* the member's other sessions with records in flight */
    size_t n_sib;
    int tentative;                  /* metas' tags are in s's in-flight until sent */
    char *fields[S_DELIVER_MAX];    /* fields released by metas[], for the audit */
    int exhausted;
    uint64_t next;                  /* where a following scan goes on */
} s_deliver_t;

static int
s_deliver_one (void *ctx, const sl_queue_entry_t *e)
{
    s_deliver_t *d = ctx;
    if (d->n == S_DELIVER_MAX || d->n >= d->budget || d->n_denied == S_DELIVER_MAX
        || (d->n > 0 && d->bytes + e->body_len + e->meta_len + 64 > d->self->cfg.max_message_size)) {
        d->exhausted = 0;
        return 1;
    }
    d->next = e->tag + 1;
    if (sl_session_inflight_find (d->s, e->tag))
        return 0;
    for (size_t i = 0; i < d->n_sib; i++)
        if (sl_session_inflight_find (d->sib[i], e->tag))
            return 0;           /* another connection of the member holds it */
    Sluice__V1__RecordMeta *m = sluice__v1__record_meta__unpack (NULL, e->meta_len, e->meta);
    if (!m) {
        sl_error ("queue.corrupt", "consumer=%s tag=%llu", d->s->member, (unsigned long long) e->tag);
        return 0;
    }
    /* the raw subject: sealed beside the consumer's view, or the view itself */
    char raw[128], then[SL_DISCLOSE_FIELDS_MAX];
    int shaped = 0, queued_fields = 0;
    snprintf (raw, sizeof raw, "%s", m->subject ? m->subject : "");
    for (size_t u = 0; u < m->base.n_unknown_fields; u++) {
        ProtobufCMessageUnknownField *uf = &m->base.unknown_fields[u];
        shaped |= uf->tag == S_SEALED_SUBJECT_TAG;
        if (uf->tag == SL_DISCLOSE_FIELDS_TAG)
            queued_fields = sl_disclose_fields_read (uf, then, sizeof then) == 1;
        if (uf->tag == S_SEALED_SUBJECT_TAG
            && (uf->len < 2 || (uf->data[0] & 0x80) == 0 || (uf->data[1] & 0x80) != 0
                || (size_t) ((uf->data[0] & 0x7f) | (size_t) uf->data[1] << 7) != uf->len - 2
                || sl_govern_open_subject (d->self->govern, uf->data + 2, uf->len - 2,
                                           raw, sizeof raw) != 0)) {
            sl_error ("queue.subject_unreadable", "consumer=%s tag=%llu", d->s->member,
                      (unsigned long long) e->tag);
            raw[0] = 0;
        }
        free (uf->data);
    }
    m->base.n_unknown_fields = 0;       /* never leaves the broker */
    sl_decide_input_t in = {
        .stage = SL_DECIDE_DELIVER, .owner = m->owner, .consumer = d->s->member,
        .record_type = m->record_type, .purpose = m->purpose, .subject = raw,
        .event_time_ms = m->event_time, .record = NULL, .txn = d->rtxn,
        .body = e->body, .body_len = e->body_len, .subject_shaped = shaped,
    };
    sl_decide_output_t out;
    s_decide (d->self, &in, &out);
    if (!out.permit) {
        char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX];
        sl_event_t ev = { .kind = "deny", .actor = m->owner, .counterpart = d->s->member,
                          .owner = m->owner, .record_type = m->record_type,
                          .message_id = m->message_id.len == 16 ? m->message_id.data : NULL,
                          .subject = raw, .purpose = m->purpose, .decision = "deny",
                          .rules = s_rules (out.rules, out.n_rules, rbuf, sizeof rbuf),
                          .reason = out.reason, .detail = "stage=deliver" };
        s_event (d->self, &ev);
        sl_info ("deliver.denied", "owner=%s consumer=%s record=%s purpose=%s tag=%llu reason=%s",
                 m->owner, d->s->member, m->record_type, m->purpose,
                 (unsigned long long) e->tag, out.reason);
        d->denied[d->n_denied++] = e->tag;
        free (out.body);
        sluice__v1__record_meta__free_unpacked (m, NULL);
        return 0;
    }
    m->delivery_tag = e->tag;
    /* the rules and the shape in force now (a permit may have narrowed) */
    m->event_time = sl_decide_coarsen_ms (m->event_time, out.coarsen_s);
    if (out.subject_set) {
        char *subj = strdup (out.subject);
        if (subj) {
            /* an empty string field points at protobuf-c's shared empty string */
            if (m->subject != protobuf_c_empty_string)
                free (m->subject);
            m->subject = subj;
        }
    }
    char **rules = out.n_rules ? calloc ((size_t) out.n_rules, sizeof *rules) : NULL;
    int nr = 0;
    for (; rules && nr < out.n_rules && (rules[nr] = strdup (out.rules[nr])); nr++)
        ;
    if (rules && nr == out.n_rules) {
        for (size_t r = 0; r < m->n_rules; r++)
            free (m->rules[r]);
        free (m->rules);
        m->rules = rules;
        m->n_rules = (size_t) nr;
    }
    else if (rules) {
        while (nr > 0)
            free (rules[--nr]);
        free (rules);
    }
    snprintf (d->raw[d->n], sizeof d->raw[d->n], "%s", raw);
    char released[SL_DISCLOSE_FIELDS_MAX];
    sl_disclose_fields_meet (queued_fields ? then : NULL, out.fields_set ? out.fields : "",
                             released, sizeof released);
    if (!(d->fields[d->n] = strdup (released))) {
        /* out of memory: this one and the rest wait for a later turn */
        free (out.body);
        sluice__v1__record_meta__free_unpacked (m, NULL);
        d->next = e->tag;
        d->exhausted = 0;
        return 1;
    }
    const void *bd = out.body ? out.body : e->body;
    size_t bl = out.body ? out.body_len : e->body_len;
    zmq_msg_init_size (&d->bodies[d->n], bl);
    memcpy (zmq_msg_data (&d->bodies[d->n]), bd, bl);
    free (out.body);
    d->metas[d->n++] = m;
    d->bytes += e->body_len + e->meta_len + 16;
    return 0;
}

/*  Frees what a prepared delivery holds. */
static void
s_deliver_free (s_deliver_t **d_p)
{
    s_deliver_t *d = *d_p;
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        if (d->tentative)       /* not sent: deliverable again */
            sl_session_inflight_drop (d->s, d->metas[i]->delivery_tag);
        zmq_msg_close (&d->bodies[i]);
        sluice__v1__record_meta__free_unpacked (d->metas[i], NULL);
        free (d->fields[i]);
    }
    free (d);
    *d_p = NULL;
}

/*  Reads up to 64 deliverable records of `s`, from tag `from` on and at most
 *  `budget` of them, and writes their `deliver` entries into the batch. The
 *  DELIVER itself is sent by s_deliver_send only after that batch has
 *  committed: a record never reaches a consumer without its audit entry on
 *  disk (AUDIT.md, atomicity). d->next is where a following DELIVER of the
 *  same turn starts. Returns the prepared delivery (n may be 0), or NULL when
 *  there is nothing to do. */
static s_deliver_t *
s_deliver_prepare (sl_broker_t *self, sl_session_t *s, uint64_t from, uint32_t budget)
{
    if (budget == 0)
        return NULL;
    s_deliver_t *d = calloc (1, sizeof *d);
    if (!d)
        return NULL;
    d->self = self;
    d->s = s;
    d->budget = budget;
    d->exhausted = 1;
    d->next = from;
    if (sl_store_read (self->store, &d->rtxn) != 0) {
        free (d);
        return NULL;
    }
    d->n_sib = sl_sessions_siblings (self->sessions, s, d->sib, sizeof d->sib / sizeof d->sib[0]);
    if (d->n_sib == sizeof d->sib / sizeof d->sib[0]) {
        /* more connections than we check record by record: skip this turn */
        mdb_txn_abort (d->rtxn);
        free (d);
        return NULL;
    }
    sl_queue_scan (self->queue, d->rtxn, s->member, from, s_deliver_one, d);
    mdb_txn_abort (d->rtxn);
    d->rtxn = NULL;
    for (size_t i = 0; i < d->n; i++) {
        Sluice__V1__RecordMeta *m = d->metas[i];
        char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX], dt[40];
        snprintf (dt, sizeof dt, "tag=%llu", (unsigned long long) m->delivery_tag);
        sl_event_t ev = { .kind = "deliver", .actor = m->owner, .counterpart = s->member,
                          .owner = m->owner, .record_type = m->record_type,
                          .message_id = m->message_id.len == 16 ? m->message_id.data : NULL,
                          .subject = d->raw[i], .purpose = m->purpose, .decision = "permit",
                          .rules = s_rules_meta (m->rules, m->n_rules, rbuf, sizeof rbuf),
                          .fields = d->fields[i], .detail = dt };
        if (sl_broker_event (self, &ev) != 0) {
            /* the batch is aborted: nothing is sent, the records stay queued */
            for (size_t j = 0; j < d->n; j++) {
                zmq_msg_close (&d->bodies[j]);
                sluice__v1__record_meta__free_unpacked (d->metas[j], NULL);
                free (d->fields[j]);
                d->fields[j] = NULL;
            }
            d->n = 0;
            d->n_denied = 0;
            break;
        }
    }
    /* held for s until sent, so the member's other sessions preparing in
     * the same turn skip them (s_deliver_free drops them if not sent) */
    for (size_t i = 0; i < d->n; i++)
        if (sl_session_inflight_add (s, d->metas[i]->delivery_tag) != 0) {
            for (size_t j = 0; j < i; j++)
                sl_session_inflight_drop (s, d->metas[j]->delivery_tag);
            for (size_t j = 0; j < d->n; j++) {
                zmq_msg_close (&d->bodies[j]);
                sluice__v1__record_meta__free_unpacked (d->metas[j], NULL);
                free (d->fields[j]);
                d->fields[j] = NULL;
            }
            d->n = 0;
            break;
        }
    d->tentative = d->n > 0;
    if (d->n_denied > 0) {
        MDB_txn *txn;
        if (sl_batch_txn (self->batch, &txn) == 0) {
            for (size_t i = 0; i < d->n_denied; i++)
                sl_queue_remove (self->queue, txn, s->member, d->denied[i]);
            sl_batch_note (self->batch, (unsigned) d->n_denied);
        }
    }
    return d;
}

/*  Sends a prepared DELIVER (its entries are committed) and frees `d`.
 *  `stale`: a batch committed after the DELIVER's scan read the queue, so
 *  entries the scan could not see may be there. Returns 1 if the session may
 *  have more to deliver, 0 if not, -1 if the session is gone (removed). */
static int
s_deliver_send (sl_broker_t *self, s_deliver_t **d_p, int stale)
{
    s_deliver_t *d = *d_p;
    sl_session_t *s = d->s;
    int gone = 0, busy = 0;
    if (d->n > 0) {
        Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
        h.version = 1;
        h.command = SLUICE__V1__COMMAND__DELIVER;
        h.seq = ++self->seq;
        h.n_records = d->n;
        h.records = d->metas;
        int rc = sl_wire_send (self->data, s->rid, s->rid_len, &h, d->bodies, d->n);
        if (rc == SL_ECLOSED) {
            sl_info ("session.gone", "member=%s plane=data", s->member);
            gone = 1;
        }
        else if (rc == 0) {
            d->tentative = 0;     /* in flight for good (added in prepare) */
            s->credit -= (uint32_t) d->n;
            s->scan_from = d->metas[d->n - 1]->delivery_tag + 1;
            sl_debug ("deliver", "member=%s records=%zu credit=%u", s->member, d->n, s->credit);
        }
        else
            busy = 1;             /* peer busy: retry when it sends again */
    }
    int exhausted = d->exhausted;
    s_deliver_free (d_p);
    if (gone) {
        s_session_drop (self, s);
        return -1;
    }
    /* A scan that reached the end of the queue saw it as of its read
     * transaction. If a batch committed since (the one of this turn, which
     * also holds the publishes read this turn), s_on_batch marked the session
     * dirty for the entries it added: keep that mark, or those entries wait
     * for some later commit, and if none comes (the publishers are done and
     * the consumer has acked everything) they are never delivered. */
    s->dirty = !busy && s->credit > 0 && (!exhausted || stale);
    return s->dirty;
}

/*  Delivers to every session marked dirty, as much as its credit allows (up
 *  to S_DELIVER_TURN DELIVERs each): prepares every DELIVER (entries into
 *  the batch, which also holds the publishes read this turn), commits the
 *  batch once, then sends them all. Commits a batch that is due even when
 *  there is nothing to deliver. Returns 1 if some session still has more
 *  (poll again without waiting). */
static int
s_deliver_all (sl_broker_t *self)
{
    size_t n = sl_sessions_count (self->sessions), np = 0, records = 0;
    s_deliver_t **ready = n ? calloc (n * S_DELIVER_TURN, sizeof *ready) : NULL;
    if (!ready) {
        if (sl_batch_due (self->batch))
            sl_broker_commit (self);
        return 0;
    }
    uint64_t aborts = self->aborts, commits = sl_batch_commits (self->batch);
    for (size_t i = 0; i < n; i++) {
        sl_session_t *s = sl_sessions_at (self->sessions, i);
        if (s->plane != SL_PLANE_DATA || !s->dirty)
            continue;
        if (s->credit == 0) {
            s->dirty = 0;
            continue;
        }
        uint64_t from = s->scan_from;
        uint32_t budget = s->credit;
        for (int k = 0; k < S_DELIVER_TURN && budget > 0; k++) {
            s_deliver_t *d = s_deliver_prepare (self, s, from, budget);
            if (!d)
                break;
            ready[np++] = d;
            records += d->n;
            budget -= (uint32_t) d->n;
            from = d->next;
            if (d->exhausted || d->n == 0 || self->aborts != aborts)
                break;
        }
    }
    int more = 0;
    if ((records > 0 || sl_batch_due (self->batch))
        && (sl_broker_commit (self) != 0 || self->aborts != aborts)) {
        /* not audited (the commit failed, or an abort while preparing took
         * entries of earlier sessions with it), so not sent: the records
         * stay queued for later */
        for (size_t i = 0; i < np; i++)
            s_deliver_free (&ready[i]);
        np = 0;
    }
    /* DELIVERs of one session are consecutive in `ready`, in tag order: once
     * one of them is not sent, the later ones must not be either (they would
     * move scan_from past it), and once the session is gone it is freed */
    sl_session_t *stopped = NULL;
    int stopped_gone = 0;
    int stale = sl_batch_commits (self->batch) != commits;
    for (size_t i = 0; i < np; i++) {
        if (ready[i]->s == stopped) {
            if (stopped_gone)
                ready[i]->tentative = 0;     /* its session is freed */
            s_deliver_free (&ready[i]);
            continue;
        }
        sl_session_t *s = ready[i]->s;
        int r = s_deliver_send (self, &ready[i], stale);
        if (r > 0)
            more = 1;
        else {
            stopped = s;    /* gone, peer busy, or nothing more */
            stopped_gone = r < 0;
        }
    }
    free (ready);
    return more;
}

/* --------------------------------------------------------- QUERY / REPLY */

static s_query_t *
s_query_find (sl_broker_t *self, uint64_t query_id)
{
    for (size_t i = 0; i < self->n_queries; i++)
        if (self->queries[i].query_id == query_id)
            return &self->queries[i];
    return NULL;
}

static void
s_query_drop (sl_broker_t *self, s_query_t *q)
{
    *q = self->queries[--self->n_queries];
}

static void
s_query (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h)
{
    const sl_schema_t *schema = h->record_type ? sl_schema_find (h->record_type) : NULL;
    if (!schema) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__UNKNOWN_RECORD_TYPE, "unknown-record-type",
                      "QUERY: unknown record type '%.64s'", h->record_type ? h->record_type : "");
        return;
    }
    if (!h->purpose || !sl_subs_valid_purpose (h->purpose)) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "bad-purpose",
                      "QUERY: purpose '%.64s' is not a purpose word", h->purpose ? h->purpose : "");
        return;
    }
    if (h->subject && strlen (h->subject) >= sizeof ((s_query_t *) 0)->subject) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "bad-subject",
                      "QUERY: subject longer than 127 bytes");
        return;
    }
    MDB_txn *rtxn = NULL;
    sl_store_read (self->store, &rtxn);
    sl_decide_input_t in = {
        .stage = SL_DECIDE_QUERY, .owner = schema->owner, .consumer = s->member,
        .record_type = schema->record_type, .purpose = h->purpose, .subject = h->subject,
        .record = NULL, .txn = rtxn
    };
    sl_decide_output_t out;
    s_decide (self, &in, &out);
    free (out.body);
    if (rtxn)
        mdb_txn_abort (rtxn);
    if (out.permit && h->subject && *h->subject && out.subject_set) {
        /* the permit hides the subject (pseudonymize or drop): answering a
         * query by clear id would tie the asker's own clear ids to the
         * pseudonyms of its stream (POLICY.md 6.1) */
        out.permit = 0;
        snprintf (out.reason, sizeof out.reason, "subject-not-clear");
    }
    {
        char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX];
        sl_event_t ev = { .kind = "query", .actor = s->member, .counterpart = schema->owner,
                          .owner = schema->owner, .record_type = schema->record_type,
                          .subject = h->subject, .purpose = h->purpose,
                          .decision = out.permit ? "permit" : "deny",
                          .rules = s_rules (out.rules, out.n_rules, rbuf, sizeof rbuf),
                          .reason = out.permit ? NULL : out.reason };
        s_event (self, &ev);
    }
    if (!out.permit) {
        sl_info ("query.denied", "owner=%s consumer=%s record=%s purpose=%s reason=%s",
                 schema->owner, s->member, schema->record_type, h->purpose, out.reason);
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__DENIED, out.reason,
                      "QUERY denied: %s may not receive %s for purpose %s (%s)", s->member,
                      schema->record_type, h->purpose, out.reason);
        return;
    }
    sl_session_t *o = sl_sessions_of (self->sessions, schema->owner);
    if (!o) {
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__OWNER_OFFLINE, "owner-offline",
                      "QUERY: owner '%s' of %s is not connected; try again later",
                      schema->owner, schema->record_type);
        return;
    }
    if (self->n_queries == self->cap_queries) {
        size_t cap = self->cap_queries ? self->cap_queries * 2 : 16;
        s_query_t *p = realloc (self->queries, cap * sizeof *p);
        if (!p) {
            s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                          SLUICE__V1__ERROR_CODE__INTERNAL, "memory", "broker out of memory");
            return;
        }
        self->queries = p;
        self->cap_queries = cap;
    }
    unsigned tmo = h->timeout_ms ? h->timeout_ms : self->cfg.query_timeout_ms;
    if (tmo > S_QUERY_MAX_MS)
        tmo = S_QUERY_MAX_MS;
    s_query_t *q = &self->queries[self->n_queries];
    memset (q, 0, sizeof *q);
    q->query_id = self->next_query_id++;
    memcpy (q->rid, s->rid, s->rid_len);
    q->rid_len = s->rid_len;
    q->seq = h->seq;
    strcpy (q->asker, s->member);
    snprintf (q->owner, sizeof q->owner, "%s", schema->owner);
    snprintf (q->record_type, sizeof q->record_type, "%s", schema->record_type);
    snprintf (q->purpose, sizeof q->purpose, "%s", h->purpose);
    snprintf (q->subject, sizeof q->subject, "%s", h->subject ? h->subject : "");
    q->deadline_ms = sl_now_ms () + tmo;

    Sluice__V1__Header f = SLUICE__V1__HEADER__INIT;
    f.version = 1;
    f.command = SLUICE__V1__COMMAND__QUERY;
    f.seq = ++self->seq;
    f.query_id = q->query_id;
    f.member = s->member;
    f.record_type = q->record_type;
    f.subject = q->subject;
    f.purpose = q->purpose;
    f.n_parameters = h->n_parameters;
    f.parameters = h->parameters;
    f.timeout_ms = tmo;
    int rc = sl_wire_send (self->data, o->rid, o->rid_len, &f, NULL, 0);
    if (rc != 0) {
        if (rc == SL_ECLOSED)
            s_session_drop (self, o);
        s_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                      SLUICE__V1__ERROR_CODE__OWNER_OFFLINE, "owner-offline",
                      "QUERY: owner '%s' of %s is not reachable; try again later",
                      schema->owner, schema->record_type);
        return;
    }
    self->n_queries++;
    sl_info ("query.routed", "asker=%s owner=%s record=%s purpose=%s query_id=%llu timeout_ms=%u",
             s->member, schema->owner, schema->record_type, h->purpose,
             (unsigned long long) q->query_id, tmo);
}

/*  The `reply` entries of an answer: one per released record (its subject,
 *  message id, deciding rules with versions and the fields released), or
 *  one with `records=0` for an empty answer; then the batch is committed,
 *  so the entries are on disk before the REPLY leaves. Returns 0, or the
 *  error (the batch is aborted: nothing may be sent). */
static int
s_reply_record (sl_broker_t *self, const s_query_t *q, const Sluice__V1__RecordMeta *metas,
                char (*raw)[128], char (*released)[SL_DISCLOSE_FIELDS_MAX], size_t kept,
                size_t dropped)
{
    int rc = 0;
    for (size_t i = 0; i < kept && rc == 0; i++) {
        const Sluice__V1__RecordMeta *m = &metas[i];
        char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX], dt[96];
        snprintf (dt, sizeof dt, "query_id=%llu record=%zu records=%zu dropped=%zu",
                  (unsigned long long) q->query_id, i, kept, dropped);
        sl_event_t ev = { .kind = "reply", .actor = q->owner, .counterpart = q->asker,
                          .owner = q->owner, .record_type = q->record_type,
                          .message_id = m->message_id.len == 16 ? m->message_id.data : NULL,
                          .subject = raw[i], .purpose = q->purpose, .decision = "permit",
                          .rules = s_rules_meta (m->rules, m->n_rules, rbuf, sizeof rbuf),
                          .fields = released[i], .detail = dt };
        rc = sl_broker_event (self, &ev);
    }
    if (kept == 0) {
        char dt[96];
        snprintf (dt, sizeof dt, "query_id=%llu records=0 dropped=%zu",
                  (unsigned long long) q->query_id, dropped);
        sl_event_t ev = { .kind = "reply", .actor = q->owner, .counterpart = q->asker,
                          .owner = q->owner, .record_type = q->record_type, .subject = q->subject,
                          .purpose = q->purpose, .decision = "ok", .detail = dt };
        rc = sl_broker_event (self, &ev);
    }
    if (rc == 0)
        rc = sl_broker_commit (self);
    return rc;
}

/*  REPLY or ERROR from an owner for a query. */
static void
s_owner_answer (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    s_query_t *q = s_query_find (self, h->query_id);
    if (!q || strcmp (q->owner, s->member) != 0) {
        sl_info ("query.late", "member=%s query_id=%llu", s->member, (unsigned long long) h->query_id);
        return;
    }
    if (h->command == SLUICE__V1__COMMAND__ERROR) {
        Sluice__V1__Header a = SLUICE__V1__HEADER__INIT;
        a.version = 1;
        a.command = SLUICE__V1__COMMAND__ERROR;
        a.seq = q->seq;
        a.n_errors = h->n_errors;
        a.errors = h->errors;
        Sluice__V1__Error e = SLUICE__V1__ERROR__INIT, *ep = &e;
        if (a.n_errors == 0) {
            e.code = SLUICE__V1__ERROR_CODE__INTERNAL;
            e.text = "the owner refused the query without saying why";
            a.n_errors = 1;
            a.errors = &ep;
        }
        sl_info ("query.refused", "asker=%s owner=%s query_id=%llu code=%s", q->asker, q->owner,
                 (unsigned long long) q->query_id, sl_wire_code_name (a.errors[0]->code));
        sl_wire_send (self->data, q->rid, q->rid_len, &a, NULL, 0);
        s_query_drop (self, q);
        return;
    }
    size_t n = h->n_records;
    const sl_schema_t *schema = sl_schema_find (q->record_type);
    Sluice__V1__RecordMeta *metas = calloc (n ? n : 1, sizeof *metas);
    Sluice__V1__RecordMeta **mp = calloc (n ? n : 1, sizeof *mp);
    zmq_msg_t *out_bodies = calloc (n ? n : 1, sizeof *out_bodies);
    char (*rules)[SL_DECIDE_MAX_RULES][SL_DECIDE_RULE_MAX] = calloc (n ? n : 1, sizeof *rules);
    char *(*rulep)[SL_DECIDE_MAX_RULES] = calloc (n ? n : 1, sizeof *rulep);
    char (*subj)[128] = calloc (n ? n : 1, sizeof *subj);
    char (*raw)[128] = calloc (n ? n : 1, sizeof *raw);
    char (*released)[SL_DISCLOSE_FIELDS_MAX] = calloc (n ? n : 1, sizeof *released);
    size_t kept = 0, dropped = 0;
    long bad = -1;
    if (!metas || !mp || !out_bodies || !rules || !rulep || !subj || !raw || !released)
        goto out;
    MDB_txn *rtxn = NULL;
    sl_store_read (self->store, &rtxn);
    sl_filtered_t filtered;     /* rows a `where` left out (sl_filtered.h) */
    sl_filtered_init (&filtered);
    for (size_t i = 0; i < n; i++) {
        Sluice__V1__RecordMeta *m = h->records[i];
        const char *type = (m->record_type && *m->record_type) ? m->record_type : q->record_type;
        ProtobufCMessage *rec = NULL;
        if (strcmp (type, q->record_type) != 0
            || !(rec = protobuf_c_message_unpack (schema->descriptor, NULL,
                                                  zmq_msg_size (&bodies[i]), zmq_msg_data (&bodies[i])))
            || s_subject_from_body (schema, rec, m) != 0) {
            if (rec)
                protobuf_c_message_free_unpacked (rec, NULL);
            bad = (long) i;
            break;
        }
        sl_decide_input_t in = {
            .stage = SL_DECIDE_REPLY, .owner = q->owner, .consumer = q->asker,
            .record_type = q->record_type, .purpose = q->purpose, .subject = m->subject,
            .event_time_ms = m->event_time, .record = rec, .txn = rtxn
        };
        sl_decide_output_t d;
        s_decide (self, &in, &d);
        protobuf_c_message_free_unpacked (rec, NULL);
        if (!d.permit) {
            char rbuf[SL_DECIDE_MAX_RULES * SL_DECIDE_RULE_MAX];
            s_rules (d.rules, d.n_rules, rbuf, sizeof rbuf);
            if (strcmp (d.reason, "condition-false") == 0
                && sl_filtered_add (&filtered, q->asker, q->record_type, q->purpose, rbuf)) {
                dropped++;
                continue;
            }
            sl_event_t ev = { .kind = "deny", .actor = q->owner, .counterpart = q->asker,
                              .owner = q->owner, .record_type = q->record_type,
                              .subject = m->subject, .purpose = q->purpose, .decision = "deny",
                              .rules = s_rules (d.rules, d.n_rules, rbuf, sizeof rbuf),
                              .reason = d.reason, .detail = "stage=reply" };
            s_event (self, &ev);
            dropped++;
            sl_info ("reply.denied", "owner=%s consumer=%s record=%s purpose=%s reason=%s",
                     q->owner, q->asker, q->record_type, q->purpose, d.reason);
            continue;
        }
        Sluice__V1__RecordMeta *om = &metas[kept];
        sluice__v1__record_meta__init (om);
        om->message_id = m->message_id;
        snprintf (subj[kept], sizeof subj[kept], "%s", d.subject_set ? d.subject : (m->subject ? m->subject : ""));
        snprintf (raw[kept], sizeof raw[kept], "%s", m->subject ? m->subject : "");
        snprintf (released[kept], sizeof released[kept], "%s", d.fields_set ? d.fields : "");
        om->subject = subj[kept];
        om->event_time = sl_decide_coarsen_ms (m->event_time, d.coarsen_s);
        om->record_type = q->record_type;
        om->owner = q->owner;
        om->purpose = q->purpose;
        for (int r = 0; r < d.n_rules; r++) {
            memcpy (rules[kept][r], d.rules[r], SL_DECIDE_RULE_MAX);
            rulep[kept][r] = rules[kept][r];
        }
        om->n_rules = (size_t) d.n_rules;
        om->rules = rulep[kept];
        if (d.body) {
            zmq_msg_init_size (&out_bodies[kept], d.body_len);
            memcpy (zmq_msg_data (&out_bodies[kept]), d.body, d.body_len);
            free (d.body);
        }
        else {
            zmq_msg_init (&out_bodies[kept]);
            zmq_msg_move (&out_bodies[kept], &bodies[i]);     /* forwarded untouched */
        }
        mp[kept] = om;
        kept++;
    }
    if (sl_filtered_flush (&filtered, q->owner, "reply", s_record_cb, self) != 0)
        sl_batch_abort (self->batch);
    if (rtxn)
        mdb_txn_abort (rtxn);
    if (bad >= 0) {
        char text[300];
        snprintf (text, sizeof text, "the owner's reply record %ld is not a valid %s", bad, q->record_type);
        sl_info ("reply.bad", "owner=%s query_id=%llu record=%ld", q->owner,
                 (unsigned long long) q->query_id, bad);
        sl_wire_error (self->data, q->rid, q->rid_len, q->seq, 0, SLUICE__V1__ERROR_CODE__BAD_BODY,
                       text, "bad-reply");
        sl_wire_error (self->data, s->rid, s->rid_len, h->seq, q->query_id,
                       SLUICE__V1__ERROR_CODE__BAD_BODY, text, "bad-reply");
    }
    else if (s_reply_record (self, q, metas, raw, released, kept, dropped) != 0) {
        /* not on disk, so not sent (AUDIT.md §6: durable before data leaves) */
        sl_wire_error (self->data, q->rid, q->rid_len, q->seq, 0, SLUICE__V1__ERROR_CODE__INTERNAL,
                       "the broker could not record the reply in its audit log; nothing was "
                       "disclosed: ask again", "commit-failed");
        sl_wire_error (self->data, s->rid, s->rid_len, h->seq, q->query_id,
                       SLUICE__V1__ERROR_CODE__INTERNAL,
                       "the broker could not record this reply; nothing was passed on", "commit-failed");
    }
    else {
        Sluice__V1__Header a = SLUICE__V1__HEADER__INIT;
        a.version = 1;
        a.command = SLUICE__V1__COMMAND__REPLY;
        a.seq = q->seq;
        a.n_records = kept;
        a.records = mp;
        sl_wire_send (self->data, q->rid, q->rid_len, &a, out_bodies, kept);
        sl_info ("query.answered", "asker=%s owner=%s query_id=%llu records=%zu dropped=%zu",
                 q->asker, q->owner, (unsigned long long) q->query_id, kept, dropped);
    }
    s_query_drop (self, q);
out:
    for (size_t i = 0; i < kept; i++)
        zmq_msg_close (&out_bodies[i]);
    free (metas);
    free (mp);
    free (out_bodies);
    free (rules);
    free (rulep);
    free (subj);
    free (raw);
    free (released);
}

/*  Fails queries whose owner did not answer in time. Returns ms until the
 *  next deadline, or -1. */
static long
s_query_timeouts (sl_broker_t *self)
{
    int64_t now = sl_now_ms ();
    long next = -1;
    for (size_t i = 0; i < self->n_queries;) {
        s_query_t *q = &self->queries[i];
        if (q->deadline_ms <= now) {
            char text[200];
            snprintf (text, sizeof text, "QUERY: owner '%s' did not answer within the timeout", q->owner);
            sl_info ("query.timeout", "asker=%s owner=%s query_id=%llu", q->asker, q->owner,
                     (unsigned long long) q->query_id);
            sl_wire_error (self->data, q->rid, q->rid_len, q->seq, 0,
                           SLUICE__V1__ERROR_CODE__TIMEOUT, text, "timeout");
            s_query_drop (self, q);
            continue;
        }
        long left = (long) (q->deadline_ms - now);
        if (next < 0 || left < next)
            next = left;
        i++;
    }
    return next;
}

/* ---------------------------------------------------------------- input */

static void
s_hello (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h)
{
    static char *caps[] = { "batch", "query", "credit" };
    Sluice__V1__Header a = SLUICE__V1__HEADER__INIT;
    a.command = SLUICE__V1__COMMAND__HELLO;
    a.seq = h->seq;
    a.member = s->member;
    a.broker_version = SLUICE_VERSION;
    a.max_message_size = (uint32_t) self->cfg.max_message_size;
    a.n_capabilities = 3;
    a.capabilities = caps;
    s_send_header (self, s, &a);
    sl_debug ("hello", "member=%s", s->member);
}

static void
s_peer_name (int fd, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    buf[0] = 0;
    if (fd < 0 || getpeername (fd, (struct sockaddr *) &ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *) &ss;
        inet_ntop (AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs (a->sin_port);
    }
    else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;
        inet_ntop (AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs (a->sin6_port);
    }
    else
        return;
    snprintf (buf, size, "%s:%d", host, port);
}

/*  Looks up or opens the session for (plane, rid). NULL (after answering)
 *  if the sender is not an active member. */
static sl_session_t *
s_session (sl_broker_t *self, sl_plane_t plane, zmq_msg_t *rid, zmq_msg_t *first)
{
    const char *user = zmq_msg_gets (first, "User-Id");
    const sl_member_t *m = user ? sl_registry_by_name (self->registry, user) : NULL;
    if (!m || m->revoked) {
        sl_warn ("proto.refused", "member=%s plane=%s reason=%s", user ? user : "?",
                 plane == SL_PLANE_DATA ? "data" : "admin", m ? "revoked" : "unknown-member");
        if (plane == SL_PLANE_DATA)
            sl_wire_error (self->data, zmq_msg_data (rid), zmq_msg_size (rid), 0, 0,
                           SLUICE__V1__ERROR_CODE__NOT_PERMITTED,
                           "this member is revoked or unknown; the connection will be closed",
                           "revoked");
        else {
            Sluice__V1__AdminResponse r = SLUICE__V1__ADMIN_RESPONSE__INIT;
            uint8_t buf[256];
            r.code = SLUICE__V1__ERROR_CODE__NOT_PERMITTED;
            r.text = "this member is revoked or unknown";
            size_t len = sluice__v1__admin_response__pack (&r, buf);
            sl_wire_send_packed (self->admin, zmq_msg_data (rid), zmq_msg_size (rid), buf, len);
        }
        return NULL;
    }
    if (plane == SL_PLANE_DATA && strcmp (m->role, "monitor") == 0) {
        /* a monitoring key reads status on the admin plane, nothing else */
        sl_warn ("proto.refused", "member=%s plane=data reason=monitor-role", m->name);
        sl_wire_error (self->data, zmq_msg_data (rid), zmq_msg_size (rid), 0, 0,
                       SLUICE__V1__ERROR_CODE__NOT_PERMITTED,
                       "role monitor may only read status on the admin plane", "not-permitted");
        return NULL;
    }
    sl_session_t *s = sl_sessions_find (self->sessions, plane, zmq_msg_data (rid), zmq_msg_size (rid));
    if (s)
        return s;
    int fd = zmq_msg_get (first, ZMQ_SRCFD);
    s = sl_sessions_add (self->sessions, plane, zmq_msg_data (rid), zmq_msg_size (rid),
                         m->name, fd);
    if (!s)
        return NULL;
    s_peer_name (fd, s->peer, sizeof s->peer);
    const char *kfp = zmq_msg_gets (first, "Key-Fp");
    snprintf (s->key_fp, sizeof s->key_fp, "%s", kfp ? kfp : "");
    const char *bk = zmq_msg_gets (first, "Broker-Key");
    s->broker_next = bk && strcmp (bk, "next") == 0;
    sl_info ("session.opened", "member=%s plane=%s peer=%s key=%s", m->name,
             plane == SL_PLANE_DATA ? "data" : "admin", s->peer[0] ? s->peer : "?", s->key_fp);
    return s;
}

static void
s_data_message (sl_broker_t *self, zmq_msg_t *f, size_t nf, size_t total, int overflow)
{
    /* f[0] routing id, f[1] header, f[2..] bodies */
    sl_session_t *s = s_session (self, SL_PLANE_DATA, &f[0], &f[1]);
    if (!s)
        return;
    Sluice__V1__Header *h = NULL;
    if (zmq_msg_size (&f[1]) <= self->cfg.max_message_size)
        h = sluice__v1__header__unpack (NULL, zmq_msg_size (&f[1]), zmq_msg_data (&f[1]));
    uint64_t seq = h ? h->seq : 0;
    if (total > self->cfg.max_message_size) {
        s_send_error (self, s->rid, s->rid_len, s->member, seq, SLUICE__V1__ERROR_CODE__TOO_BIG,
                      "too-big", "message of %zu bytes is over the limit of %zu bytes; split the batch",
                      total, self->cfg.max_message_size);
        goto out;
    }
    if (overflow) {
        s_send_error (self, s->rid, s->rid_len, s->member, seq, SLUICE__V1__ERROR_CODE__BAD_FRAME,
                      "too-many-frames", "message has more than %d frames", S_MAX_FRAMES);
        goto out;
    }
    if (!h) {
        s_send_error (self, s->rid, s->rid_len, s->member, 0, SLUICE__V1__ERROR_CODE__BAD_FRAME,
                      "bad-header", "frame 1 (%zu bytes) is not a sluice.v1.Header",
                      zmq_msg_size (&f[1]));
        goto out;
    }
    if (h->version != 1) {
        s_send_error (self, s->rid, s->rid_len, s->member, seq,
                      SLUICE__V1__ERROR_CODE__UNSUPPORTED_VERSION, "unsupported-version",
                      "protocol version %u is not supported; this broker speaks version 1", h->version);
        goto out;
    }
    int with_records = h->command == SLUICE__V1__COMMAND__PUBLISH
                       || h->command == SLUICE__V1__COMMAND__REPLY;
    size_t want = with_records ? 1 + h->n_records : 1;
    if (nf - 1 != want) {
        s_send_error (self, s->rid, s->rid_len, s->member, seq, SLUICE__V1__ERROR_CODE__BAD_FRAME,
                      "frame-count", "command %d with %zu records needs %zu frames, got %zu",
                      (int) h->command, with_records ? h->n_records : 0, want, nf - 1);
        goto out;
    }
    /* HELLO, SUBSCRIBE and CREDIT make a connection the member's current
     * session; so does any message while the member has none */
    if (h->command == SLUICE__V1__COMMAND__HELLO || h->command == SLUICE__V1__COMMAND__SUBSCRIBE
        || h->command == SLUICE__V1__COMMAND__CREDIT || !sl_sessions_of (self->sessions, s->member)) {
        if (sl_sessions_make_current (self->sessions, s))
            sl_info ("session.current", "member=%s peer=%s previous=kept", s->member, s->peer);
    }
    switch (h->command) {
    case SLUICE__V1__COMMAND__HELLO:       s_hello (self, s, h); break;
    case SLUICE__V1__COMMAND__PUBLISH:     s_publish (self, s, h, &f[2]); break;
    case SLUICE__V1__COMMAND__SUBSCRIBE:   s_subscribe (self, s, h, 1); break;
    case SLUICE__V1__COMMAND__UNSUBSCRIBE: s_subscribe (self, s, h, 0); break;
    case SLUICE__V1__COMMAND__ACK:         s_consumer_ack (self, s, h, 0); break;
    case SLUICE__V1__COMMAND__NACK:        s_consumer_ack (self, s, h, 1); break;
    case SLUICE__V1__COMMAND__CREDIT:      s_credit (self, s, h); break;
    case SLUICE__V1__COMMAND__QUERY:       s_query (self, s, h); break;
    case SLUICE__V1__COMMAND__REPLY:
        if (h->query_id == 0)
            s_send_error (self, s->rid, s->rid_len, s->member, seq,
                          SLUICE__V1__ERROR_CODE__BAD_REQUEST, "no-query-id",
                          "REPLY without query_id");
        else
            s_owner_answer (self, s, h, &f[2]);
        break;
    case SLUICE__V1__COMMAND__ERROR:
        if (h->query_id != 0)
            s_owner_answer (self, s, h, NULL);
        else
            sl_info ("proto.client_error", "member=%s seq=%llu", s->member, (unsigned long long) seq);
        break;
    case SLUICE__V1__COMMAND__PING: {
        Sluice__V1__Header a = SLUICE__V1__HEADER__INIT;
        a.command = SLUICE__V1__COMMAND__PONG;
        a.seq = seq;
        s_send_header (self, s, &a);
        break;
    }
    default:
        s_send_error (self, s->rid, s->rid_len, s->member, seq,
                      SLUICE__V1__ERROR_CODE__UNKNOWN_COMMAND, "unknown-command",
                      "command %d is not a client-to-broker command", (int) h->command);
    }
out:
    if (h)
        sluice__v1__header__free_unpacked (h, NULL);
}

/*  Receives one whole message into self->frames. Returns the number of
 *  frames (0 if none waiting); *total gets the bytes after the routing id,
 *  *overflow is set if frames had to be dropped. */
static size_t
s_recv (sl_broker_t *self, void *sock, size_t *total, int *overflow)
{
    size_t n = 0;
    *total = 0;
    *overflow = 0;
    zmq_msg_init (&self->frames[0]);
    if (zmq_msg_recv (&self->frames[0], sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&self->frames[0]);
        return 0;
    }
    n = 1;
    int more = zmq_msg_more (&self->frames[0]);
    while (more) {
        zmq_msg_t *f = &self->frames[n < S_MAX_FRAMES + 1 ? n : S_MAX_FRAMES];
        if (n >= S_MAX_FRAMES + 1) {
            *overflow = 1;
            zmq_msg_close (f);   /* reuse the last slot */
        }
        zmq_msg_init (f);
        if (zmq_msg_recv (f, sock, 0) < 0) {
            zmq_msg_close (f);
            break;
        }
        *total += zmq_msg_size (f);
        more = zmq_msg_more (f);
        if (n < S_MAX_FRAMES + 1)
            n++;
    }
    return n;
}

static void
s_close_frames (sl_broker_t *self, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zmq_msg_close (&self->frames[i]);
}

/*  Reads data-plane messages until none is waiting, 256 were read, or the
 *  batch is due. It does not commit: s_deliver_all adds this turn's
 *  `deliver` entries to the same batch and commits once, so publishers who
 *  are ACKed and send more at once cannot keep the loop from delivering. */
static void
s_data_input (sl_broker_t *self)
{
    for (int k = 0; k < 256 && !sl_batch_due (self->batch); k++) {
        size_t total;
        int overflow;
        size_t n = s_recv (self, self->data, &total, &overflow);
        if (n == 0)
            break;
        if (n >= 2)
            s_data_message (self, self->frames, n, total, overflow);
        s_close_frames (self, n);
    }
}

/*  The ERROR answer to an admin request that is not exactly one frame
 *  (`body` NULL) or is over max_message_size: too-big names the limit, and
 *  carries the request's seq when the request decodes, so the client can
 *  match it (PROTOCOL.md 6.1). Returns the packed AdminResponse (malloc'd,
 *  *len its size) or NULL (out of memory). */
static void *
s_admin_refuse (sl_broker_t *self, const sl_session_t *s, zmq_msg_t *body, size_t total,
                size_t *len)
{
    Sluice__V1__AdminResponse r = SLUICE__V1__ADMIN_RESPONSE__INIT;
    char text[200];
    if (!body) {
        r.code = SLUICE__V1__ERROR_CODE__BAD_FRAME;
        snprintf (text, sizeof text, "admin requests are exactly one AdminRequest frame");
    }
    else {
        Sluice__V1__AdminRequest *req = sluice__v1__admin_request__unpack (
            NULL, zmq_msg_size (body), zmq_msg_data (body));
        r.code = SLUICE__V1__ERROR_CODE__TOO_BIG;
        r.seq = req ? req->seq : 0;
        snprintf (text, sizeof text, "admin request %s of %zu bytes is over the broker's limit of "
                  "%zu bytes (max_message_size); nothing was done",
                  req && req->command ? req->command : "?", total, self->cfg.max_message_size);
        if (req)
            sluice__v1__admin_request__free_unpacked (req, NULL);
    }
    r.text = text;
    sl_warn ("admin.refused", "member=%s code=%s bytes=%zu", s->member, sl_wire_code_name (r.code),
             total);
    *len = sluice__v1__admin_response__get_packed_size (&r);
    void *resp = malloc (*len ? *len : 1);
    if (resp)
        sluice__v1__admin_response__pack (&r, resp);
    return resp;
}

static void
s_admin_input (sl_broker_t *self)
{
    for (int k = 0; k < 64; k++) {
        size_t total;
        int overflow;
        size_t n = s_recv (self, self->admin, &total, &overflow);
        if (n == 0)
            break;
        sl_session_t *s = n >= 2 ? s_session (self, SL_PLANE_ADMIN, &self->frames[0], &self->frames[1]) : NULL;
        /* a REQ client puts an empty delimiter frame first */
        int req = n == 3 && zmq_msg_size (&self->frames[1]) == 0;
        zmq_msg_t *body = &self->frames[req ? 2 : 1];
        if (s) {
            void *resp = NULL;
            size_t len = 0;
            if (n != 2 + (size_t) req || total > self->cfg.max_message_size)
                resp = s_admin_refuse (self, s, n != 2 + (size_t) req ? NULL : body, total, &len);
            else {
                const sl_member_t *m = sl_registry_by_name (self->registry, s->member);
                resp = sl_admin_dispatch (self->admin_table, self, m, zmq_msg_data (body),
                                          zmq_msg_size (body), &len);
            }
            if (resp && req
                && zmq_send (self->admin, s->rid, s->rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0
                && zmq_send (self->admin, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
                zmq_send (self->admin, resp, len, ZMQ_DONTWAIT);
            else if (resp)
                sl_wire_send_packed (self->admin, s->rid, s->rid_len, resp, len);
            free (resp);
        }
        s_close_frames (self, n);
    }
}

/* ------------------------------------------------------ revoke, shutdown */

int
sl_broker_close_member (sl_broker_t *self, const char *member)
{
    int n = 0;
    /* The connection is shut a moment after the NOTICE, so that libzmq's I/O
       thread has written it; until then every message from the member is
       refused (the session lookup checks the registry), so the grace costs nothing. */
    int64_t at = sl_now_ms () + 500;
    for (size_t i = 0; i < sl_sessions_count (self->sessions); i++) {
        sl_session_t *s = sl_sessions_at (self->sessions, i);
        if (strcmp (s->member, member) != 0)
            continue;
        if (s->plane == SL_PLANE_DATA) {
            Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
            h.command = SLUICE__V1__COMMAND__NOTICE;
            h.seq = ++self->seq;
            h.notice = "revoked";
            s_send_header (self, s, &h);
        }
        s->close_at_ms = at;
        n++;
    }
    return n;
}

int
sl_broker_close_key (sl_broker_t *self, const char *member, const char *key_fp)
{
    int n = 0;
    int64_t at = sl_now_ms () + 500;      /* as sl_broker_close_member */
    for (size_t i = 0; i < sl_sessions_count (self->sessions); i++) {
        sl_session_t *s = sl_sessions_at (self->sessions, i);
        if (strcmp (s->member, member) != 0 || strcmp (s->key_fp, key_fp) != 0)
            continue;
        if (s->plane == SL_PLANE_DATA) {
            Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
            h.command = SLUICE__V1__COMMAND__NOTICE;
            h.seq = ++self->seq;
            h.notice = "key-retired";
            s_send_header (self, s, &h);
        }
        s->close_at_ms = at;
        n++;
    }
    return n;
}

int
sl_broker_notice (sl_broker_t *self, const char *member, const char *kind,
                  const char *const *keys, const char *const *vals, size_t n)
{
    sl_session_t *s = sl_sessions_of (self->sessions, member);
    if (!s || s->plane != SL_PLANE_DATA)
        return 0;
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    Sluice__V1__Header__NoticeArgsEntry ent[8], *ep[8];
    if (n > 8)
        n = 8;
    for (size_t i = 0; i < n; i++) {
        sluice__v1__header__notice_args_entry__init (&ent[i]);
        ent[i].key = (char *) keys[i];
        ent[i].value = (char *) vals[i];
        ep[i] = &ent[i];
    }
    h.version = 1;
    h.command = SLUICE__V1__COMMAND__NOTICE;
    h.seq = ++self->seq;
    h.notice = (char *) kind;
    h.n_notice_args = n;
    h.notice_args = ep;
    s_send_header (self, s, &h);
    return 1;
}

/*  Shuts down connections whose close time has come. The fd is only shut
 *  down if it still is the same TCP connection (same peer address and port).
 *  Returns ms until the next close, or -1. */
static long
s_close_due (sl_broker_t *self)
{
    int64_t now = sl_now_ms ();
    long next = -1;
    for (size_t i = 0; i < sl_sessions_count (self->sessions);) {
        sl_session_t *s = sl_sessions_at (self->sessions, i);
        if (s->close_at_ms <= 0) {
            i++;
            continue;
        }
        if (s->close_at_ms > now) {
            long left = (long) (s->close_at_ms - now);
            if (next < 0 || left < next)
                next = left;
            i++;
            continue;
        }
        char peer[64];
        s_peer_name (s->fd, peer, sizeof peer);
        int same = s->peer[0] && strcmp (peer, s->peer) == 0;
        if (same)
            shutdown (s->fd, SHUT_RDWR);
        sl_info ("session.closed", "member=%s plane=%s peer=%s reason=revoked shut=%d", s->member,
                 s->plane == SL_PLANE_DATA ? "data" : "admin", s->peer, same);
        s_session_drop (self, s);
    }
    return next;
}

/*  DISCONNECTED events: forget the sessions on that fd. libzmq emits the
 *  event before it closes the fd, and a new connection reusing the fd needs
 *  a ZAP round trip through this loop before its first message, so an event
 *  is always handled (monitors are read first in each loop turn) before a
 *  session of a later connection on the same fd exists: every session on
 *  that fd and plane belongs to the closed connection. Queries waiting for
 *  an owner that left fail at once. */
static void
s_monitor_input (sl_broker_t *self, void *pair, sl_plane_t plane)
{
    for (int k = 0; k < 256; k++) {
        zmq_msg_t ev, addr;
        zmq_msg_init (&ev);
        if (zmq_msg_recv (&ev, pair, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&ev);
            return;
        }
        int more = zmq_msg_more (&ev);
        zmq_msg_init (&addr);
        if (more)
            zmq_msg_recv (&addr, pair, 0);
        zmq_msg_close (&addr);
        if (zmq_msg_size (&ev) < 6) {
            zmq_msg_close (&ev);
            continue;
        }
        const uint8_t *d = zmq_msg_data (&ev);
        uint16_t event;
        uint32_t value;
        memcpy (&event, d, 2);
        memcpy (&value, d + 2, 4);
        zmq_msg_close (&ev);
        if (event != ZMQ_EVENT_DISCONNECTED)
            continue;
        int fd = (int) value;
        sl_debug ("monitor.disconnected", "plane=%s fd=%d", plane == SL_PLANE_DATA ? "data" : "admin", fd);
        for (size_t i = 0; i < sl_sessions_count (self->sessions);) {
            sl_session_t *s = sl_sessions_at (self->sessions, i);
            if (s->plane != plane || s->fd != fd) {
                i++;
                continue;
            }
            char member[33];
            snprintf (member, sizeof member, "%s", s->member);
            sl_info ("session.closed", "member=%s plane=%s peer=%s reason=disconnected inflight=%zu",
                     member, plane == SL_PLANE_DATA ? "data" : "admin", s->peer, s->n_inflight);
            /* queries went to the current session: if that one closed,
             * they fail at once even when another connection takes over */
            if (!s_session_drop (self, s) || plane != SL_PLANE_DATA)
                continue;
            for (size_t j = 0; j < self->n_queries;) {
                s_query_t *q = &self->queries[j];
                if (strcmp (q->owner, member) != 0) {
                    j++;
                    continue;
                }
                sl_info ("query.owner_left", "asker=%s owner=%s query_id=%llu", q->asker, q->owner,
                         (unsigned long long) q->query_id);
                sl_wire_error (self->data, q->rid, q->rid_len, q->seq, 0,
                               SLUICE__V1__ERROR_CODE__OWNER_OFFLINE,
                               "QUERY: the owner disconnected before answering; try again later",
                               "owner-offline");
                s_query_drop (self, q);
            }
        }
    }
}

static long
s_min_timeout (long a, long b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

int
sl_broker_run (sl_broker_t *self, volatile sig_atomic_t *stop)
{
    int more = 0;
    sl_event_t start = { .kind = "broker.start", .actor = "sluiced", .detail = SLUICE_VERSION };
    if (sl_broker_event (self, &start) == 0) {
        sl_govern_report_start (self->govern);     /* never brick: what was set aside */
        sl_broker_commit (self);
    }
    while (!*stop) {
        long tmo = 1000;
        tmo = s_min_timeout (tmo, sl_batch_wait_ms (self->batch));
        tmo = s_min_timeout (tmo, s_query_timeouts (self));
        tmo = s_min_timeout (tmo, s_close_due (self));
        tmo = s_min_timeout (tmo, sl_govern_tick (self->govern, sl_now_ms ()));
        tmo = s_min_timeout (tmo, sl_metrics_tick (self->metrics, self, sl_now_ms ()));
        if (self->retire_at_ms)
            tmo = s_min_timeout (tmo, (long) (self->retire_at_ms > sl_now_ms ()
                                              ? self->retire_at_ms - sl_now_ms () : 0));
        tmo = s_min_timeout (tmo, s_authlog_tick (self, 0));
        if (more)
            tmo = 0;
        zmq_pollitem_t items[] = {
            { sl_zap_socket (self->zap), 0, ZMQ_POLLIN, 0 },
            { self->data, 0, ZMQ_POLLIN, 0 },
            { self->admin, 0, ZMQ_POLLIN, 0 },
            { self->mon_data, 0, ZMQ_POLLIN, 0 },
            { self->mon_admin, 0, ZMQ_POLLIN, 0 },
        };
        int rc = zmq_poll (items, 5, tmo);
        if (rc < 0) {
            if (zmq_errno () == EINTR)
                continue;
            sl_error ("broker.poll_failed", "error=\"%s\"", zmq_strerror (zmq_errno ()));
            break;
        }
        /* disconnects first: see s_monitor_input */
        s_monitor_input (self, self->mon_data, SL_PLANE_DATA);
        s_monitor_input (self, self->mon_admin, SL_PLANE_ADMIN);
        if (items[0].revents & ZMQ_POLLIN)
            sl_zap_handle (self->zap);
        if (items[1].revents & ZMQ_POLLIN)
            s_data_input (self);
        if (items[2].revents & ZMQ_POLLIN)
            s_admin_input (self);
        /* prepares deliveries and commits (the input above left a due
         * batch for it) */
        more = s_deliver_all (self);
        if (sl_batch_due (self->batch))
            sl_broker_commit (self);
        if (self->reload && *self->reload) {
            *self->reload = 0;
            self->reload_fn (self->reload_ctx, self);
        }
        if (self->retire_at_ms && sl_now_ms () >= self->retire_at_ms) {
            zmq_unbind (self->data, self->retire_data);     /* broker key rollover */
            zmq_unbind (self->admin, self->retire_admin);
            self->retire_at_ms = 0;
        }
    }
    return 0;
}

void
sl_broker_destroy (sl_broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_broker_t *self = *self_p;
    if (self->batch && self->data) {
        s_authlog_tick (self, 1);
        sl_event_t stop = { .kind = "broker.stop", .actor = "sluiced" };
        s_event (self, &stop);
        if (self->govern)
            sl_govern_checkpoint (self->govern);   /* clean shutdown: sign the head */
        int rc = sl_broker_commit (self);
        sl_info ("broker.stopping", "commit=%s queries_failed=%zu sessions=%zu",
                 rc == 0 ? "ok" : sl_strerror (rc), self->n_queries,
                 self->sessions ? sl_sessions_count (self->sessions) : 0);
        for (size_t i = 0; i < self->n_queries; i++) {
            s_query_t *q = &self->queries[i];
            sl_wire_error (self->data, q->rid, q->rid_len, q->seq, 0,
                           SLUICE__V1__ERROR_CODE__INTERNAL,
                           "the broker is shutting down; ask again when it is back", "shutdown");
        }
        self->n_queries = 0;
        for (size_t i = 0; self->sessions && i < sl_sessions_count (self->sessions); i++) {
            sl_session_t *s = sl_sessions_at (self->sessions, i);
            if (s->plane != SL_PLANE_DATA)
                continue;
            Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
            h.command = SLUICE__V1__COMMAND__NOTICE;
            h.seq = ++self->seq;
            h.notice = "shutdown";
            s_send_header (self, s, &h);
        }
    }
    sl_metrics_http_destroy (&self->http);
    sl_batch_destroy (&self->batch);
    if (self->data)
        zmq_socket_monitor (self->data, NULL, 0);
    if (self->admin)
        zmq_socket_monitor (self->admin, NULL, 0);
    if (self->mon_data)
        zmq_close (self->mon_data);
    if (self->mon_admin)
        zmq_close (self->mon_admin);
    if (self->data)
        zmq_close (self->data);
    if (self->admin)
        zmq_close (self->admin);
    sl_zap_destroy (&self->zap);
    if (self->ctx)
        zmq_ctx_term (self->ctx);
    if (self->data_ep[0])
        s_write_endpoints_stopped (self);
    for (size_t i = 0; i < self->n_pending; i++)
        free (self->pending[i].packed);
    free (self->pending);
    free (self->queries);
    sl_admin_destroy (&self->admin_table);
    sl_authlog_destroy (&self->authlog);
    sl_govern_destroy (&self->govern);
    sl_sessions_destroy (&self->sessions);
    sl_queue_destroy (&self->queue);
    sl_subs_destroy (&self->subs);
    sl_registry_destroy (&self->registry);
    sl_metrics_destroy (&self->metrics);
    sl_store_destroy (&self->store);
    if (self->data_ep[0])
        sl_info ("broker.stopped", NULL);
    free (self);
    *self_p = NULL;
}

/* ------------------------------------------------- broker key rollover */

/*  The next key's endpoint: `configured`, else `base` with its port + 10
 *  (port 5570 -> 5580 on the same address), or `base` itself when its port is not a
 *  number (a wildcard port: any free one). */
static void
s_next_endpoint (const char *configured, const char *base, char *out, size_t size)
{
    if (configured && *configured) {
        snprintf (out, size, "%s", configured);
        return;
    }
    const char *colon = strrchr (base, ':');
    char *end;
    long port = colon ? strtol (colon + 1, &end, 10) : -1;
    if (!colon || port <= 0 || *end || port + 10 > 65535)
        snprintf (out, size, "%s", base);
    else
        snprintf (out, size, "%.*s:%ld", (int) (colon - base), base, port + 10);
}

/*  Binds `sock` once more, on `ep`, with the key pair `kp` and ZAP domain
 *  `domain`: libzmq copies a socket's options into each listener when it
 *  binds, so this listener serves `kp` while the earlier ones keep theirs. */
static int
s_bind_key (void *sock, const sl_keypair_t *kp, const char *domain, const char *ep, char *bound,
            size_t bound_len)
{
    size_t bl = bound_len;
    if (zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, kp->secret_key, SL_KEY_Z85_LEN) != 0
        || zmq_setsockopt (sock, ZMQ_ZAP_DOMAIN, domain, strlen (domain)) != 0
        || zmq_bind (sock, ep) != 0
        || zmq_getsockopt (sock, ZMQ_LAST_ENDPOINT, bound, &bl) != 0)
        return -1;
    return 0;
}

int
sl_broker_keys_reload (sl_broker_t *self)
{
    char path[600], kerr[300], fp[17] = "";
    sl_keypair_t kp;
    snprintf (path, sizeof path, "%s/broker.key", self->data_dir);
    if (sl_keys_load_secret (path, &kp, kerr, sizeof kerr) != 0) {
        sl_error ("broker.key_unreadable", "error=\"%s\"", kerr);
        return -1;
    }
    sl_keys_fingerprint (kp.public_key, fp);
    sodium_memzero (&kp, sizeof kp);
    if (self->next_fp[0] && strcmp (fp, self->next_fp) == 0) {
        /* promoted: broker.key is now the next key. The old key's
         * listeners close, and so do the sessions that came through them;
         * the next key's listeners become the broker's endpoints. */
        char old_fp[17], old_data[256], old_admin[256], d[80];
        memcpy (old_fp, self->key_fp, sizeof old_fp);
        memcpy (old_data, self->data_ep, sizeof old_data);
        memcpy (old_admin, self->admin_ep, sizeof old_admin);
        /* the listeners close after the NOTICEs went out: libzmq drops the
         * connections a listener accepted when it is unbound */
        memcpy (self->retire_data, old_data, sizeof self->retire_data);
        memcpy (self->retire_admin, old_admin, sizeof self->retire_admin);
        self->retire_at_ms = sl_now_ms () + 500;
        int closed = 0;
        int64_t at = sl_now_ms () + 500;
        for (size_t i = 0; i < sl_sessions_count (self->sessions); i++) {
            sl_session_t *s = sl_sessions_at (self->sessions, i);
            if (s->broker_next) {
                s->broker_next = 0;
                continue;
            }
            if (s->plane == SL_PLANE_DATA) {
                Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
                h.command = SLUICE__V1__COMMAND__NOTICE;
                h.seq = ++self->seq;
                h.notice = "broker-key-retired";
                s_send_header (self, s, &h);
            }
            s->close_at_ms = at;
            closed++;
        }
        memcpy (self->data_ep, self->next_ep, sizeof self->data_ep);
        memcpy (self->admin_ep, self->next_admin_ep, sizeof self->admin_ep);
        memcpy (self->key_fp, fp, sizeof self->key_fp);
        self->next_ep[0] = self->next_admin_ep[0] = self->next_fp[0] = self->next_pub[0] = 0;
        s_write_endpoints (self);
        snprintf (d, sizeof d, "fp=%s next=%s", old_fp, fp);
        sl_event_t ev = { .kind = SL_AUDIT_BROKER_KEY_RETIRE, .actor = "sluiced", .detail = d };
        if (sl_broker_event (self, &ev) == 0)
            sl_broker_commit (self);
        sl_warn ("broker.key_retired", "key=%s closed=%s,%s sessions_closed=%d now=%s,%s key_now=%s "
                 "note=\"set bind = %s and admin_bind = %s in the settings before the next restart\"",
                 old_fp, old_data, old_admin, closed, self->data_ep, self->admin_ep, fp,
                 self->data_ep, self->admin_ep);
        return 0;
    }
    if (strcmp (fp, self->key_fp) != 0) {
        sl_error ("broker.key_changed", "file=%s key=%s serving=%s note=\"a new broker key takes "
                  "effect at a restart; for an overlap make it broker-next (OPERATIONS.md)\"",
                  path, fp, self->key_fp);
        return -1;
    }
    snprintf (path, sizeof path, "%s/broker-next.key", self->data_dir);
    if (self->next_fp[0] || access (path, F_OK) != 0)
        return 0;
    if (sl_keys_load_secret (path, &kp, kerr, sizeof kerr) != 0) {
        sl_error ("broker.next_key_unreadable", "error=\"%s\"", kerr);
        return -1;
    }
    char dep[256], aep[256], d[80];
    s_next_endpoint (self->cfg.next_data_endpoint, self->cfg.data_endpoint, dep, sizeof dep);
    s_next_endpoint (self->cfg.next_admin_endpoint, self->cfg.admin_endpoint, aep, sizeof aep);
    if (s_bind_key (self->data, &kp, "sluice.data.next", dep, self->next_ep, sizeof self->next_ep) != 0
        || s_bind_key (self->admin, &kp, "sluice.admin.next", aep, self->next_admin_ep,
                       sizeof self->next_admin_ep) != 0) {
        sl_error ("broker.next_key_bind_failed", "data=%s admin=%s error=\"%s\"", dep, aep,
                  zmq_strerror (zmq_errno ()));
        if (self->next_ep[0])
            zmq_unbind (self->data, self->next_ep);
        self->next_ep[0] = self->next_admin_ep[0] = 0;
        sodium_memzero (&kp, sizeof kp);
        return -1;
    }
    sl_keys_fingerprint (kp.public_key, self->next_fp);
    memcpy (self->next_pub, kp.public_key, sizeof self->next_pub);
    sodium_memzero (&kp, sizeof kp);
    s_write_endpoints (self);
    snprintf (d, sizeof d, "fp=%s current=%s", self->next_fp, self->key_fp);
    sl_event_t ev = { .kind = SL_AUDIT_BROKER_KEY_ADD, .actor = "sluiced", .detail = d };
    if (sl_broker_event (self, &ev) == 0)
        sl_broker_commit (self);
    sl_info ("broker.next_key", "key=%s data=%s admin=%s current=%s", self->next_fp, self->next_ep,
             self->next_admin_ep, self->key_fp);
    return 0;
}

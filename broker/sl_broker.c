/*  sl_broker — sluiced's event loop. See sl_broker.h and docs/PROTOCOL.md.
 *
 *  This file holds setup, the services the stages share (events, decisions,
 *  answers held until their commit), the loop and shutdown. The stages of
 *  the data path are modules of their own (sl_broker_int.h):
 *
 *    sl_proto          frames, sessions, the data-plane command table,
 *                      admin input, socket monitors, revoke and notices
 *    sl_publish        PUBLISH (validate, decide, stage) and SUBSCRIBE
 *    sl_deliver        consumer ACK/NACK/CREDIT and the delivery scheduler,
 *                      sole writer of a session's credit/scan_from/dirty
 *    sl_route          QUERY/REPLY and the open-query table
 *    sl_commit         the data path's typed writes into the batch
 *    sl_answer         answers held until their commit is durable, errors
 *    sl_broker_keys    broker key rollover
 *
 *  Governance (sl_govern) is reached through sl_broker_decide and
 *  sl_broker_record; it is built from its neighbours and two hooks, with no
 *  pointer back to the broker.
 *
 *  Design notes:
 *
 *  1. One thread runs the loop (a second one only flushes the store,
 *     sl_sync.h). zmq_poll over the ZAP socket, the data ROUTER, the admin
 *     ROUTER and the flush thread's eventfd; the poll timeout is the earliest
 *     of: batch due, query deadline, end of an overload hold, deferred
 *     connection close, 1 s.
 *  2. The sender of every message is zmq_msg_gets("User-Id") of its first
 *     frame, set by sl_zap from the registry. A member revoked since its
 *     handshake is refused per message.
 *  3. Answers that promise durability (publisher ACK, consumer ACK) wait in
 *     `pending` for the batch outcome: replaced by ERROR store-full/internal
 *     if the transaction aborted, else moved to `held` until the commit is
 *     durable (sl_batch.h note 5; sl_answer_on_durable sends them, and
 *     sl_deliver its held DELIVERs). The flush that makes them durable runs
 *     in a thread of its own (sl_sync.h): sl_answer_settle asks for it at
 *     the end of a turn, the loop polls the thread's descriptor and goes on
 *     reading and committing meanwhile. The loop itself still waits for the
 *     page flush inside each group commit (sl_sync.h note 3 says why), and
 *     for a full flush after admin changes, subscriptions, start and
 *     shutdown (sl_broker_commit), which are rare.
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
#include "sl_broker_int.h"

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
#include "sluice/v1/admin.pb-c.h"
#include "sl_time.h"

/* ---------------------------------------------------------------- setup */


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

int
sl_broker_write_endpoints (sl_broker_t *self)
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
    sl_time_format ((int64_t) time (NULL) * 1000000, NULL, ts, sizeof ts);
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

/*  sl_govern's hooks (sl_govern_wiring_t). */
static int
s_govern_event (void *ctx, const sl_event_t *ev)
{
    return sl_broker_event (ctx, ev);
}

static int
s_govern_notice (void *ctx, const char *member, const char *kind, const char *const *keys,
                 const char *const *vals, size_t n)
{
    return sl_broker_notice (ctx, member, kind, keys, vals, n);
}

static int
s_admin_close_member (void *ctx, const char *member)
{
    return sl_broker_close_member (ctx, member);
}

static int
s_admin_close_key (void *ctx, const char *member, const char *key_fp)
{
    return sl_broker_close_key (ctx, member, key_fp);
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
        || !(self->commit = sl_commit_new (self->store, self->batch, self->queue, self->subs))
        || sl_batch_listen (self->batch, sl_answer_on_batch, self) != 0
        || mdb_env_set_flags (sl_store_env (self->store), MDB_NOMETASYNC, 1) != 0
        || sl_batch_sync_start (self->batch) != 0
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
    sl_batch_on_durable (self->batch, sl_answer_on_durable, self);
    /* a new queue epoch, durable before anything is delivered: delivery
     * tags are never reused across restarts (sl_queue.h) */
    if (sl_commit_epoch_begin (self->commit) != 0
        || sl_broker_commit (self) != 0) {
        snprintf (err, errlen, "cannot start a new delivery-tag epoch in the store");
        goto fail;
    }
    /* policies, consent and the audit log: sets the decision function and
     * the event recorder (until then everything is denied) */
    sl_govern_config_t gc = { .checkpoint_every = cfg->checkpoint_every,
                              .checkpoint_interval_ms = cfg->checkpoint_interval_ms,
                              .consent_scan_ms = cfg->consent_scan_ms };
    sl_govern_wiring_t gw = { .store = self->store, .batch = self->batch,
                              .commit = self->commit, .registry = self->registry, .event = s_govern_event,
                              .notice = s_govern_notice, .ctx = self };
    if (!(self->govern = sl_govern_new (&gw, self->data_dir, &gc, err, errlen)))
        goto fail;
    sl_broker_set_decide (self, sl_govern_decide, self->govern);
    sl_broker_on_event (self, sl_govern_record, self->govern);
    self->admin_ctx = (sl_admin_ctx_t) {
        .store = self->store, .commit = self->commit, .registry = self->registry,
        .subs = self->subs, .queue = self->queue, .sessions = self->sessions,
        .policy = sl_govern_policy (self->govern), .consent = sl_govern_consent (self->govern),
        .audit = sl_govern_audit (self->govern), .govern = self->govern,
        .started_ms = self->started_ms, .hook = self, .event = s_govern_event,
        .close_member = s_admin_close_member, .close_key = s_admin_close_key,
    };

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
    if (sl_broker_write_endpoints (self) != 0) {
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
    sl_commit_on_event (self->commit, fn, ctx);
}

/*  Hands `ev` to the recorder inside the batch transaction. `note`: count it
 *  as a pending operation (events outside a publish, so they are committed
 *  within the batch delay). Does not abort on failure: the caller does. */
int
sl_broker_record (sl_broker_t *self, const sl_event_t *ev, int note)
{
    if (!sl_commit_recording (self->commit))
        return 0;
    int rc = sl_commit_event (self->commit, ev);
    if (rc != 0) {
        sl_error ("event.failed", "kind=%s error=\"%s\"", ev->kind, sl_strerror (rc));
        return rc;
    }
    sl_metrics_event (self->metrics, ev);
    if (note)
        sl_commit_note (self->commit, 1);
    return 0;
}

/*  sl_broker_record in the shape sl_filtered_flush wants. */
/*  sl_broker_record in the shape sl_filtered_flush wants. */
int
sl_broker_record_cb (void *self, const sl_event_t *ev)
{
    return sl_broker_record (self, ev, 0);
}

int
sl_broker_event (sl_broker_t *self, const sl_event_t *ev)
{
    int rc = sl_broker_record (self, ev, 1);
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

/*  Appends `src` to buf (o bytes used of size), truncating; keeps buf
 *  terminated. Returns the new length. No formatting: this runs per record. */
static size_t
s_append (char *buf, size_t size, size_t o, const char *src)
{
    size_t n = strlen (src);
    if (o + 1 >= size)
        return o;
    if (n > size - 1 - o)
        n = size - 1 - o;
    memcpy (buf + o, src, n);
    buf[o + n] = 0;
    return o + n;
}

const char *
sl_broker_rules (char rules[][SL_DECIDE_RULE_MAX], int n, char *buf, size_t size)
{
    char *p[SL_DECIDE_MAX_RULES];
    size_t k;
    for (k = 0; k < (size_t) n && k < SL_DECIDE_MAX_RULES; k++)
        p[k] = rules[k];
    return sl_broker_rules_meta (p, k, buf, size);
}

const char *
sl_broker_rules_meta (char **rules, size_t n, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n; i++) {
        if (i)
            o = s_append (buf, size, o, ",");
        o = s_append (buf, size, o, rules[i]);
    }
    return buf;
}

const char *
sl_broker_tag_detail (char buf[SL_TAG_DETAIL_MAX], uint64_t tag)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char) ('0' + tag % 10);
        tag /= 10;
    } while (tag);
    memcpy (buf, "tag=", 4);
    for (size_t i = 0; i < n; i++)
        buf[4 + i] = digits[n - 1 - i];
    buf[4 + n] = 0;
    return buf;
}

void
sl_broker_copy (char *dst, size_t size, const char *src)
{
    dst[0] = 0;
    s_append (dst, size, 0, src ? src : "");
}

sl_store_t *sl_broker_store (sl_broker_t *self) { return self->store; }
sl_batch_t *sl_broker_batch (sl_broker_t *self) { return self->batch; }
sl_registry_t *sl_broker_registry (sl_broker_t *self) { return self->registry; }
sl_subs_t *sl_broker_subs (sl_broker_t *self) { return self->subs; }
sl_queue_t *sl_broker_queue (sl_broker_t *self) { return self->queue; }
sl_sessions_t *sl_broker_sessions (sl_broker_t *self) { return self->sessions; }
sl_admin_t *sl_broker_admin (sl_broker_t *self) { return self->admin_table; }
const sl_admin_ctx_t *sl_broker_admin_ctx (sl_broker_t *self) { return &self->admin_ctx; }
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

/* ------------------------------------------------------------ decisions */

/*  Asks the decision function; a failing function denies. */
void
sl_broker_decide (sl_broker_t *self, sl_decide_input_t *in, sl_decide_output_t *out)
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

/*  Forgets data or admin session `s` (pointer invalid afterwards). For a
 *  data session, the member's other connections take over its in-flight
 *  records and, if it was current, its role (sl_session.h, queue group).
 *  Returns 1 if `s` was the member's current session. */
int
sl_broker_session_drop (sl_broker_t *self, sl_session_t *s)
{
    char member[sizeof s->member];
    int data = s->plane == SL_PLANE_DATA, was_current = s->current;
    snprintf (member, sizeof member, "%s", s->member);
    sl_deliver_forget (self, s);
    sl_sessions_remove (self->sessions, s);
    if (data && sl_sessions_closed (self->sessions, member) && was_current)
        sl_info ("session.current", "member=%s previous=closed", member);
    return was_current;
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
        tmo = s_min_timeout (tmo, sl_route_timeouts (self));
        tmo = s_min_timeout (tmo, sl_overload_wait_ms (self));
        tmo = s_min_timeout (tmo, sl_proto_close_due (self));
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
            { NULL, sl_batch_sync_fd (self->batch), ZMQ_POLLIN, 0 },
        };
        int rc = zmq_poll (items, 6, tmo);
        if (rc < 0) {
            if (zmq_errno () == EINTR)
                continue;
            sl_error ("broker.poll_failed", "error=\"%s\"", zmq_strerror (zmq_errno ()));
            break;
        }
        /* the flush thread made commits durable: send what they held */
        if (items[5].revents & ZMQ_POLLIN)
            sl_batch_sync_collect (self->batch);
        /* disconnects first: see sl_proto_monitor_input */
        sl_proto_monitor_input (self, self->mon_data, SL_PLANE_DATA);
        sl_proto_monitor_input (self, self->mon_admin, SL_PLANE_ADMIN);
        if (items[0].revents & ZMQ_POLLIN)
            sl_zap_handle (self->zap);
        if (items[1].revents & ZMQ_POLLIN)
            sl_proto_data_input (self);
        if (items[2].revents & ZMQ_POLLIN)
            sl_proto_admin_input (self);
        /* prepares deliveries and commits (the input above left a due
         * batch for it) */
        more = sl_deliver_all (self);
        if (sl_batch_due (self->batch))
            sl_broker_commit_group (self);
        sl_answer_settle (self);
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
        sl_overload_release (self, 1);     /* durable: answer them */
        sl_route_shutdown (self);
        for (size_t i = 0; self->sessions && i < sl_sessions_count (self->sessions); i++) {
            sl_session_t *s = sl_sessions_at (self->sessions, i);
            if (s->plane != SL_PLANE_DATA)
                continue;
            Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
            h.command = SLUICE__V1__COMMAND__NOTICE;
            h.seq = ++self->seq;
            h.notice = "shutdown";
            sl_broker_send_header (self, s, &h);
        }
    }
    sl_metrics_http_destroy (&self->http);
    sl_batch_destroy (&self->batch);
    sl_commit_destroy (&self->commit);
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
    for (size_t i = 0; i < self->n_held; i++)
        free (self->held[i].packed);
    free (self->held);
    sl_deliver_drop_held (self);
    sl_overload_drop (self);
    free (self->held_deliver);
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


/*  sl_client — the connection: keys, CURVE socket, HELLO, the I/O pump,
    dispatch of incoming messages, and reconnecting.

    Design notes:
    1. libzmq reconnects the DEALER by itself. A socket monitor tells us when
       a connection's CURVE handshake succeeded (then we say HELLO), failed
       authentication (our key is refused: fatal), or broke.
    2. ZMQ_IMMEDIATE is set, so nothing is queued towards a connection that
       is not complete, and we send data only after HELLO is answered. What
       was sent on a connection that broke is treated as lost: in-flight
       publishes go back to pending (resent with the same message ids),
       waiting requests fail with SL_ECLOSED and are asked again by the
       blocking calls, undelivered local deliveries are dropped (the broker
       redelivers them, PROTOCOL.md 5.7).
    3. When HELLO is answered: subscriptions are renewed, credit granted,
       and publishing resumes.
*/
#include "sl_internal.h"
#include "sl_error.h"
#include "sl_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#define S_MAX_FRAMES_START 16

void
sl__set_error (sl_client_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (self->last_error, sizeof self->last_error, fmt, ap);
    va_end (ap);
}

uint64_t
sl__next_seq (sl_client_t *self)
{
    return ++self->seq;
}

int
sl__load_keys (const sl_client_options_t *opts, sl_keypair_t *keys,
               char broker_pub[SL_KEY_Z85_LEN + 1], char *err, size_t errlen)
{
    char why[512];
    if (!opts->key_file || !*opts->key_file) {
        sl_err_set (err, errlen, "no client key file given: pass the member's NAME.key "
               "(sluicectl keygen NAME writes one)");
        return SL_EKEY;
    }
    if (!opts->broker_key_file || !*opts->broker_key_file) {
        sl_err_set (err, errlen, "no broker public key file given: pass DATA/broker.pub "
               "(written by sluiced init)");
        return SL_EKEY;
    }
    int rc = sl_keys_load_secret (opts->key_file, keys, why, sizeof why);
    if (rc != 0) {
        sl_err_set (err, errlen, "client key: %s", why);
        return rc;
    }
    rc = sl_keys_load_public (opts->broker_key_file, broker_pub, why, sizeof why);
    if (rc != 0) {
        sl_err_set (err, errlen, "broker key: %s", why);
        return rc;
    }
    return 0;
}

int
sl__open_socket (void *ctx, const char *endpoint, const sl_keypair_t *keys,
                 const char *broker_pub, void **sock_p, void **mon_p,
                 char *err, size_t errlen)
{
    static int counter;
    char mon_ep[64];
    int zero = 0, one = 1, hb_ivl = 1000, hb_timeout = 3000, reconnect = 100, reconnect_max = 1000;
    void *sock = zmq_socket (ctx, ZMQ_DEALER);
    void *mon = NULL;
    if (!sock)
        goto fail;
    if (zmq_setsockopt (sock, ZMQ_LINGER, &zero, sizeof zero)
        || zmq_setsockopt (sock, ZMQ_IMMEDIATE, &one, sizeof one)
        || zmq_setsockopt (sock, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl)
        || zmq_setsockopt (sock, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout)
        || zmq_setsockopt (sock, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect)
        || zmq_setsockopt (sock, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max)
        || zmq_setsockopt (sock, ZMQ_CURVE_SERVERKEY, broker_pub, SL_KEY_Z85_LEN)
        || zmq_setsockopt (sock, ZMQ_CURVE_PUBLICKEY, keys->public_key, SL_KEY_Z85_LEN)
        || zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, keys->secret_key, SL_KEY_Z85_LEN))
        goto fail;
    snprintf (mon_ep, sizeof mon_ep, "inproc://sl-monitor-%p-%d", (void *) sock,
              __atomic_add_fetch (&counter, 1, __ATOMIC_RELAXED));
    if (zmq_socket_monitor (sock, mon_ep, ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED
                            | ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
                            | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                            | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
        goto fail;
    mon = zmq_socket (ctx, ZMQ_PAIR);
    if (!mon || zmq_setsockopt (mon, ZMQ_LINGER, &zero, sizeof zero)
        || zmq_connect (mon, mon_ep) != 0)
        goto fail;
    if (zmq_connect (sock, endpoint) != 0) {
        sl_err_set (err, errlen, "cannot connect to '%s': %s (expected tcp://HOST:PORT; "
               "see DATA/endpoints)", endpoint, zmq_strerror (errno));
        goto fail_quiet;
    }
    *sock_p = sock;
    *mon_p = mon;
    return 0;
fail:
    sl_err_set (err, errlen, "cannot create the ZeroMQ socket: %s", zmq_strerror (errno));
fail_quiet:
    if (mon)
        zmq_close (mon);
    if (sock)
        zmq_close (sock);
    return SL_EIO;
}

int
sl__monitor_event (void *mon)
{
    zmq_msg_t m;
    zmq_msg_init (&m);
    if (zmq_msg_recv (&m, mon, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&m);
        return 0;
    }
    int event = 0;
    if (zmq_msg_size (&m) >= 2) {
        const uint8_t *d = zmq_msg_data (&m);
        event = d[0] | (d[1] << 8);
    }
    while (zmq_msg_more (&m)) {
        zmq_msg_close (&m);
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, mon, 0) < 0)
            break;
    }
    zmq_msg_close (&m);
    return event;
}

int
sl__header_error (const sl_header_t *h, char *text, size_t len)
{
    if (h->n_errors == 0) {
        snprintf (text, len, "the broker answered ERROR without details");
        return SL_EPROTO;
    }
    const Sluice__V1__Error *e = h->errors[0];
    snprintf (text, len, "%s", e->text && *e->text ? e->text : "the broker refused the request");
    return sl_wire_error_to_rc ((int) e->code);
}

int
sl__send (sl_client_t *self, sl_header_t *h, const void *const *bodies,
          const size_t *sizes, size_t nbodies)
{
    h->version = SL_PROTOCOL_VERSION;
    size_t len = sluice__v1__header__get_packed_size (h);
    zmq_msg_t msg;
    if (zmq_msg_init_size (&msg, len) != 0)
        return SL_ENOMEM;
    sluice__v1__header__pack (h, zmq_msg_data (&msg));
    if (zmq_msg_send (&msg, self->sock, ZMQ_DONTWAIT | (nbodies ? ZMQ_SNDMORE : 0)) < 0) {
        zmq_msg_close (&msg);
        return errno == EAGAIN ? SL_EAGAIN : SL_EIO;
    }
    for (size_t i = 0; i < nbodies; i++) {
        /* after the first frame libzmq takes the rest atomically */
        if (zmq_send (self->sock, bodies[i], sizes[i], i + 1 < nbodies ? ZMQ_SNDMORE : 0) < 0)
            return SL_EIO;
    }
    return 0;
}

/*  ---- waiters ---- */

void
sl__waiter_add (sl_client_t *self, sl_waiter_t *w, uint64_t seq)
{
    memset (w, 0, sizeof *w);
    w->seq = seq;
    w->next = self->waiters;
    self->waiters = w;
}

void
sl__waiter_remove (sl_client_t *self, sl_waiter_t *w)
{
    for (sl_waiter_t **p = &self->waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            return;
        }
}

sl_waiter_t *
sl__waiter_find (sl_client_t *self, uint64_t seq)
{
    for (sl_waiter_t *w = self->waiters; w; w = w->next)
        if (w->seq == seq && !w->done)
            return w;
    return NULL;
}

static void
s_fail_waiters (sl_client_t *self, int rc, const char *text)
{
    for (sl_waiter_t *w = self->waiters; w; w = w->next)
        if (!w->done) {
            w->done = 1;
            w->rc = rc;
            snprintf (w->text, sizeof w->text, "%s", text);
        }
}

/*  ---- connection events ---- */

static void
s_send_hello (sl_client_t *self)
{
    sl_header_t h = SLUICE__V1__HEADER__INIT;
    char *caps[] = { "batch", "query", "credit" };
    h.command = SLUICE__V1__COMMAND__HELLO;
    h.seq = self->hello_seq = sl__next_seq (self);
    h.n_capabilities = 3;
    h.capabilities = caps;
    if (sl__send (self, &h, NULL, NULL, 0) != 0)
        self->hello_seq = 0;      /* retried by the pump */
}

static void
s_link_lost (sl_client_t *self)
{
    int was_up = self->up;
    self->link = 0;
    self->up = 0;
    self->hello_seq = 0;
    self->credit_started = 0;
    self->freed = 0;
    self->outstanding = 0;
    /* delivery acks sent on the lost link are never answered; the broker
     * redelivers whatever it did not commit, and those are acked again */
    self->n_ack_seqs = 0;
    sl__deliveries_drop (self);
    sl__publish_on_reconnect (self);
    s_fail_waiters (self, SL_ECLOSED, "the connection to the broker broke; ask again");
    if (was_up)
        sl_warn ("client.disconnected", "endpoint=%s unacked=%zu", self->endpoint,
                 sl_outbox_count (self->outbox));
}

static int
s_monitor (sl_client_t *self)
{
    int n = 0, ev;
    while ((ev = sl__monitor_event (self->mon)) != 0) {
        n++;
        switch (ev) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
            if (self->link)
                s_link_lost (self);       /* a new connection replaced one we missed closing */
            self->link = 1;
            s_send_hello (self);
            break;
        case ZMQ_EVENT_DISCONNECTED:
            if (self->link)
                s_link_lost (self);
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            self->refused = SL_EPERM;
            sl__set_error (self, "the broker at %s refused our key (%s): the member is unknown or "
                           "revoked; register the public key with `sluicectl member add`",
                           self->endpoint, self->key_file);
            s_fail_waiters (self, SL_EPERM, self->last_error);
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            sl__set_error (self, "CURVE handshake with %s failed: is the broker key "
                           "(broker.pub) the one of this broker?", self->endpoint);
            break;
        default:
            break;
        }
    }
    return n;
}

static void
s_on_hello (sl_client_t *self, const sl_header_t *h)
{
    snprintf (self->member, sizeof self->member, "%s", h->member ? h->member : "");
    snprintf (self->broker_version, sizeof self->broker_version, "%s",
              h->broker_version ? h->broker_version : "");
    self->max_message_size = h->max_message_size ? h->max_message_size : 1048576;
    /* leave room for the header frame */
    sl_outbox_set_max_bytes (self->outbox, self->max_message_size > 65536
                             ? self->max_message_size - 32768 : self->max_message_size / 2);
    self->up = 1;
    self->hello_seq = 0;
    if (self->sessions++ > 0)
        self->stats.reconnects++;
    sl_debug ("client.hello", "member=%s broker=%s", self->member, self->broker_version);
    sl__subscribe_on_up (self);
}

/*  Reads one whole multipart message into a growing frame array. Returns the
    frame count, 0 when nothing is ready. */
static size_t
s_recv_frames (sl_client_t *self, zmq_msg_t **frames_p, size_t *cap_p)
{
    size_t n = 0;
    for (;;) {
        if (n == *cap_p) {
            size_t cap = *cap_p ? *cap_p * 2 : S_MAX_FRAMES_START;
            zmq_msg_t *f = realloc (*frames_p, cap * sizeof *f);
            if (!f)
                break;           /* drop the rest of the message below */
            *frames_p = f;
            *cap_p = cap;
        }
        zmq_msg_t *m = &(*frames_p)[n];
        zmq_msg_init (m);
        if (zmq_msg_recv (m, self->sock, n ? 0 : ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (m);
            return n;
        }
        n++;
        if (!zmq_msg_more (m))
            return n;
    }
    /* out of memory: drain and discard */
    zmq_msg_t m;
    zmq_msg_init (&m);
    while (zmq_msg_more (&(*frames_p)[n - 1]) && zmq_msg_recv (&m, self->sock, 0) >= 0 && zmq_msg_more (&m))
        ;
    zmq_msg_close (&m);
    return n;
}

static void
s_dispatch (sl_client_t *self, zmq_msg_t *frames, size_t nframes)
{
    sl_header_t *h = sluice__v1__header__unpack (NULL, zmq_msg_size (&frames[0]),
                                                 zmq_msg_data (&frames[0]));
    if (!h) {
        sl_warn ("client.bad_frame", "endpoint=%s size=%zu", self->endpoint,
                 zmq_msg_size (&frames[0]));
        return;
    }
    sl_waiter_t *w;
    switch (h->command) {
    case SLUICE__V1__COMMAND__HELLO:
        if (h->seq == self->hello_seq && self->hello_seq)
            s_on_hello (self, h);
        break;
    case SLUICE__V1__COMMAND__ACK:
    case SLUICE__V1__COMMAND__ERROR:
        if (h->command == SLUICE__V1__COMMAND__ERROR && h->seq == self->hello_seq && self->hello_seq) {
            char text[512];
            sl__header_error (h, text, sizeof text);
            self->refused = SL_EPROTO;
            sl__set_error (self, "the broker refused HELLO: %s", text);
            s_fail_waiters (self, SL_EPROTO, self->last_error);
            break;
        }
        if (sl__publish_on_answer (self, h) || sl__ack_on_answer (self, h))
            break;
        if ((w = sl__waiter_find (self, h->seq))) {
            w->done = 1;
            w->rc = h->command == SLUICE__V1__COMMAND__ACK ? 0
                  : sl__header_error (h, w->text, sizeof w->text);
            if (h->command == SLUICE__V1__COMMAND__ERROR)
                sl__set_reason (self, h->n_errors ? h->errors[0]->reason : NULL);
            break;
        }
        if (h->command == SLUICE__V1__COMMAND__ERROR) {
            char text[512];
            int rc = sl__header_error (h, text, sizeof text);
            sl__set_error (self, "%s", text);
            if (h->n_errors && h->errors[0]->reason && !strcmp (h->errors[0]->reason, "revoked")) {
                /* PROTOCOL.md 1: a member revoked after its handshake */
                self->refused = SL_EPERM;
                sl__set_error (self, "the broker revoked member '%s': %s", self->member, text);
                s_fail_waiters (self, SL_EPERM, self->last_error);
            }
            char q[600];
            sl_warn ("client.error", "seq=%llu rc=%d text=%s", (unsigned long long) h->seq, rc,
                     sl_log_quote (text, q, sizeof q));
        }
        break;
    case SLUICE__V1__COMMAND__DELIVER:
        sl__on_deliver (self, h, frames, nframes);
        break;
    case SLUICE__V1__COMMAND__QUERY:
        sl__on_query (self, h);
        break;
    case SLUICE__V1__COMMAND__REPLY:
        sl__on_reply (self, h, frames, nframes);
        break;
    case SLUICE__V1__COMMAND__PING: {
        sl_header_t pong = SLUICE__V1__HEADER__INIT;
        pong.command = SLUICE__V1__COMMAND__PONG;
        pong.seq = h->seq;
        sl__send (self, &pong, NULL, NULL, 0);
        break;
    }
    case SLUICE__V1__COMMAND__NOTICE:
        if (h->notice && strcmp (h->notice, "revoked") == 0) {
            self->refused = SL_EPERM;
            sl__set_error (self, "the broker revoked member '%s'; this key can no longer connect",
                           self->member);
            s_fail_waiters (self, SL_EPERM, self->last_error);
        }
        sl__on_notice (self, h);
        break;
    default:
        break;                    /* PONG and unknown commands: ignored (PROTOCOL.md 7) */
    }
    sluice__v1__header__free_unpacked (h, NULL);
}

static int s_pump (sl_client_t *self, int timeout_ms);

int
sl__pump (sl_client_t *self, int timeout_ms)
{
    if (self->in_pump)
        return 0;                 /* called from a callback: the outer pump does the I/O */
    self->in_pump = 1;
    int events = s_pump (self, timeout_ms);
    self->in_pump = 0;
    return events;
}

static int
s_pump (sl_client_t *self, int timeout_ms)
{
    int events = 0;

    if (self->up) {
        sl__acks_flush (self);
        sl__publish_expire (self);
        sl__publish_flush (self);
    }
    else if (self->link && !self->hello_seq)
        s_send_hello (self);

    /* wake up in time to resend what the broker did not ACK */
    if (sl_outbox_inflight (self->outbox) > 0
        && (timeout_ms < 0 || timeout_ms > self->opts.ack_timeout_ms / 4))
        timeout_ms = self->opts.ack_timeout_ms / 4;

    zmq_pollitem_t items[] = { { self->sock, 0, ZMQ_POLLIN, 0 }, { self->mon, 0, ZMQ_POLLIN, 0 },
                               { NULL, self->wakeup_fd, ZMQ_POLLIN, 0 } };
    if (zmq_poll (items, self->wakeup_fd >= 0 ? 3 : 2, timeout_ms) < 0)
        return errno == EINTR ? 0 : SL_EIO;
    if (items[1].revents & ZMQ_POLLIN)
        events += s_monitor (self);
    for (int budget = 1000; budget > 0 && !self->refused; budget--) {
        size_t n = s_recv_frames (self, &self->frames, &self->frames_cap);
        if (n == 0)
            break;
        s_dispatch (self, self->frames, n);
        for (size_t i = 0; i < n; i++)
            zmq_msg_close (&self->frames[i]);
        events++;
    }
    if (self->up) {
        sl__acks_flush (self);
        sl__publish_flush (self);
    }
    return self->refused ? SL_ECLOSED : events;
}

/*  Pumps until *flag is set. Returns 0, the refusal, or SL_ETIMEOUT at
    `deadline_ms` (< 0: none). */
static int
s_wait_flag (sl_client_t *self, const int *flag, int64_t deadline_ms)
{
    while (!*flag) {
        if (self->refused)
            return self->refused;
        int64_t left = deadline_ms - sl_mono_ms ();
        if (deadline_ms >= 0 && left <= 0)
            return SL_ETIMEOUT;
        sl__pump (self, deadline_ms < 0 ? 200 : (int) (left < 200 ? left : 200));
    }
    return 0;
}

int
sl__wait (sl_client_t *self, sl_waiter_t *w, int64_t deadline_ms)
{
    int rc = s_wait_flag (self, &w->done, deadline_ms);
    return rc ? rc : w->rc;
}

int
sl__wait_up (sl_client_t *self, int64_t deadline_ms)
{
    return s_wait_flag (self, &self->up, deadline_ms);
}

/*  ---- public ---- */

int
sl_client_connect (const sl_client_options_t *opts, sl_client_t **client_p,
                   char *err, size_t errlen)
{
    int rc;
    *client_p = NULL;
    if (!opts || !opts->endpoint || !*opts->endpoint) {
        sl_err_set (err, errlen, "no broker endpoint given: pass tcp://HOST:PORT or a data "
               "directory (DATA/endpoints)");
        return SL_EINVAL;
    }
    if (sodium_init () < 0) {
        sl_err_set (err, errlen, "libsodium failed to initialise");
        return SL_EIO;
    }
    sl_client_t *self = calloc (1, sizeof *self);
    if (self)
        self->wakeup_fd = -1;
    if (!self) {
        sl_err_set (err, errlen, "out of memory");
        return SL_ENOMEM;
    }
    self->opts = *opts;
    self->opts.endpoint = self->opts.key_file = self->opts.broker_key_file = NULL;
    self->opts.spool_dir = NULL;
    if (!self->opts.connect_timeout_ms)
        self->opts.connect_timeout_ms = 5000;
    if (!self->opts.ack_timeout_ms)
        self->opts.ack_timeout_ms = 5000;
    if (!self->opts.credit)
        self->opts.credit = 1024;
    snprintf (self->endpoint, sizeof self->endpoint, "%s", opts->endpoint);
    snprintf (self->key_file, sizeof self->key_file, "%s", opts->key_file ? opts->key_file : "");
    self->max_message_size = 1048576;

    rc = sl__load_keys (opts, &self->keys, self->broker_pub, err, errlen);
    if (rc != 0)
        goto fail;
    rc = SL_ENOMEM;
    self->outbox = sl_outbox_new (opts->batch_max, opts->inflight_max, 0);
    if (!self->outbox) {
        sl_err_set (err, errlen, "out of memory");
        goto fail;
    }
    if (opts->spool_dir) {
        rc = sl_spool_open (opts->spool_dir, &self->spool, err, errlen);
        if (rc != 0)
            goto fail;
        rc = sl__spool_reload (self);
        if (rc != 0) {
            sl_err_set (err, errlen, "spool %s: cannot read spooled records: %s", opts->spool_dir,
                   sl_strerror (rc));
            goto fail;
        }
    }
    self->ctx = zmq_ctx_new ();
    if (!self->ctx) {
        rc = SL_EIO;
        sl_err_set (err, errlen, "cannot create a ZeroMQ context");
        goto fail;
    }
    rc = sl__open_socket (self->ctx, self->endpoint, &self->keys, self->broker_pub,
                          &self->sock, &self->mon, err, errlen);
    if (rc != 0)
        goto fail;
    rc = sl__wait_up (self, sl_mono_ms () + self->opts.connect_timeout_ms);
    if (rc == SL_ETIMEOUT && self->spool) {
        /* an adapter with a spool starts even while the broker is away:
           records are kept on disk and sent when the connection comes up */
        sl_warn ("client.offline", "endpoint=%s spooled=%zu", self->endpoint,
                 sl_outbox_count (self->outbox));
        sl__set_error (self, "the broker at %s is not reachable yet; publishing to the spool",
                       self->endpoint);
        *client_p = self;
        return 0;
    }
    if (rc == SL_ETIMEOUT) {
        sl_err_set (err, errlen, "no answer from the broker at %s within %d ms%s%s: is sluiced "
               "running, and is this its endpoint (DATA/endpoints)?", self->endpoint,
               self->opts.connect_timeout_ms, self->last_error[0] ? "; " : "", self->last_error);
        goto fail;
    }
    if (rc != 0) {
        sl_err_set (err, errlen, "%s", self->last_error);
        goto fail;
    }
    *client_p = self;
    sl_info ("client.connected", "endpoint=%s member=%s broker=%s", self->endpoint,
             self->member, self->broker_version);
    return 0;
fail:
    sl_client_destroy (&self, 0);
    return rc;
}

void
sl_client_destroy (sl_client_t **client_p, int linger_ms)
{
    if (!client_p || !*client_p)
        return;
    sl_client_t *self = *client_p;
    if (self->sock && self->up && !self->refused) {
        sl__acks_flush (self);
        if (linger_ms > 0)
            sl_client_flush (self, linger_ms);
    }
    if (self->sock)
        zmq_socket_monitor (self->sock, NULL, 0);
    if (self->mon)
        zmq_close (self->mon);
    if (self->sock)
        zmq_close (self->sock);
    if (self->ctx)
        zmq_ctx_term (self->ctx);
    sl__deliveries_drop (self);
    sl__subs_free (self);
    sl_outbox_destroy (&self->outbox);
    sl_spool_destroy (&self->spool);
    free (self->acks);
    free (self->frames);
    sodium_memzero (&self->keys, sizeof self->keys);
    free (self);
    *client_p = NULL;
}

const char *sl_client_member (sl_client_t *self) { return self->member; }
const char *sl_client_broker_version (sl_client_t *self) { return self->broker_version; }
uint32_t sl_client_max_message_size (sl_client_t *self) { return self->max_message_size; }
const char *sl_client_last_error (sl_client_t *self) { return self->last_error; }
int sl_client_connected (sl_client_t *self) { return self->up && !self->refused; }

void sl_client_set_wakeup_fd (sl_client_t *self, int fd) { self->wakeup_fd = fd; }
const char *sl_client_last_reason (sl_client_t *self) { return self->last_reason; }

void
sl__set_reason (sl_client_t *self, const char *reason)
{
    snprintf (self->last_reason, sizeof self->last_reason, "%s", reason ? reason : "");
}

size_t
sl_client_spool_depth (sl_client_t *self)
{
    return self->spool ? sl_spool_count (self->spool) : 0;
}

int
sl_client_spool_sync (sl_client_t *self)
{
    return self->spool ? sl_spool_sync (self->spool) : SL_ENOTFOUND;
}

int
sl_client_poll (sl_client_t *self, int timeout_ms)
{
    return sl__pump (self, timeout_ms);
}

void
sl_client_stats (sl_client_t *self, sl_client_stats_t *out)
{
    *out = self->stats;
}

void
sl_client_serve (sl_client_t *self, sl_serve_fn *fn, void *arg)
{
    self->serve = fn;
    self->serve_arg = arg;
}

/*  sl_proto — frames and sessions: reads data-plane and admin-plane
 *  messages, checks the header, finds or opens the session and dispatches
 *  through the data-plane command table; socket monitor events; revoke,
 *  key retirement and notices; deferred connection close.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "sl_admin.h"
#include "sluice/v1/admin.pb-c.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "sl_broker_int.h"
#include "sl_batch.h"
#include "sl_disclose.h"
#include "sl_error.h"
#include "sl_filtered.h"
#include "sl_govern.h"
#include "sl_log.h"
#include "sl_metrics.h"
#include "sl_msgids.h"
#include "sl_queue.h"
#include "sl_registry.h"
#include "sl_schema.h"
#include "sl_session.h"
#include "sl_subs.h"
#include "sl_wire.h"
#include "sl_role.h"

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
    sl_broker_send_header (self, s, &a);
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
    if (plane == SL_PLANE_DATA && sl_role_is_monitor (m->role)) {
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

/* ------------------------------------------------- data-plane commands */

/*  A client-to-broker command: `bodies` are its record frames when
 *  with_records is set (one per h->records), else NULL. */
typedef void s_handler_fn (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h,
                           zmq_msg_t *bodies);

typedef struct {
    Sluice__V1__Command command;
    int with_records;       /* one frame per record follows the header */
    int makes_current;      /* makes the connection the member's current session */
    s_handler_fn *fn;
} s_command_t;

static void
s_cmd_hello (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    (void) bodies;
    s_hello (self, s, h);
}

static void
s_cmd_subscribe (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    (void) bodies;
    sl_publish_subscribe (self, s, h, 1);
}

static void
s_cmd_unsubscribe (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    (void) bodies;
    sl_publish_subscribe (self, s, h, 0);
}

static void
s_cmd_ack (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    (void) bodies;
    sl_deliver_ack (self, s, h, 0);
}

static void
s_cmd_nack (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    (void) bodies;
    sl_deliver_ack (self, s, h, 1);
}

static void
s_cmd_credit (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    (void) bodies;
    sl_deliver_credit (self, s, h);
}

static void
s_cmd_query (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    (void) bodies;
    sl_route_query (self, s, h);
}

static void
s_cmd_reply (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    if (h->query_id == 0)
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, h->seq,
                              SLUICE__V1__ERROR_CODE__BAD_REQUEST, "no-query-id",
                              "REPLY without query_id");
    else
        sl_route_answer (self, s, h, bodies);
}

/*  A client's ERROR: the owner's refusal of a QUERY, or only logged. */
static void
s_cmd_error (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    (void) bodies;
    if (h->query_id != 0)
        sl_route_answer (self, s, h, NULL);
    else
        sl_info ("proto.client_error", "member=%s seq=%llu", s->member, (unsigned long long) h->seq);
}

static void
s_cmd_ping (sl_broker_t *self, sl_session_t *s, Sluice__V1__Header *h, zmq_msg_t *bodies)
{
    (void) bodies;
    Sluice__V1__Header a = SLUICE__V1__HEADER__INIT;
    a.command = SLUICE__V1__COMMAND__PONG;
    a.seq = h->seq;
    sl_broker_send_header (self, s, &a);
}

static const s_command_t s_commands[] = {
    { SLUICE__V1__COMMAND__HELLO,       0, 1, s_cmd_hello },
    { SLUICE__V1__COMMAND__PUBLISH,     1, 0, sl_publish_handle },
    { SLUICE__V1__COMMAND__SUBSCRIBE,   0, 1, s_cmd_subscribe },
    { SLUICE__V1__COMMAND__UNSUBSCRIBE, 0, 0, s_cmd_unsubscribe },
    { SLUICE__V1__COMMAND__ACK,         0, 0, s_cmd_ack },
    { SLUICE__V1__COMMAND__NACK,        0, 0, s_cmd_nack },
    { SLUICE__V1__COMMAND__CREDIT,      0, 1, s_cmd_credit },
    { SLUICE__V1__COMMAND__QUERY,       0, 0, s_cmd_query },
    { SLUICE__V1__COMMAND__REPLY,       1, 0, s_cmd_reply },
    { SLUICE__V1__COMMAND__ERROR,       0, 0, s_cmd_error },
    { SLUICE__V1__COMMAND__PING,        0, 0, s_cmd_ping },
};

/*  The table's entry for `command`, or NULL (not a client-to-broker command). */
static const s_command_t *
s_command (Sluice__V1__Command command)
{
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (s_commands[i].command == command)
            return &s_commands[i];
    return NULL;
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
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, seq, SLUICE__V1__ERROR_CODE__TOO_BIG,
                      "too-big", "message of %zu bytes is over the limit of %zu bytes; split the batch",
                      total, self->cfg.max_message_size);
        goto out;
    }
    if (overflow) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, seq, SLUICE__V1__ERROR_CODE__BAD_FRAME,
                      "too-many-frames", "message has more than %d frames", SL_BROKER_MAX_FRAMES);
        goto out;
    }
    if (!h) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, 0, SLUICE__V1__ERROR_CODE__BAD_FRAME,
                      "bad-header", "frame 1 (%zu bytes) is not a sluice.v1.Header",
                      zmq_msg_size (&f[1]));
        goto out;
    }
    if (h->version != 1) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, seq,
                      SLUICE__V1__ERROR_CODE__UNSUPPORTED_VERSION, "unsupported-version",
                      "protocol version %u is not supported; this broker speaks version 1", h->version);
        goto out;
    }
    const s_command_t *c = s_command (h->command);
    int with_records = c && c->with_records;
    size_t want = with_records ? 1 + h->n_records : 1;
    if (nf - 1 != want) {
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, seq, SLUICE__V1__ERROR_CODE__BAD_FRAME,
                      "frame-count", "command %d with %zu records needs %zu frames, got %zu",
                      (int) h->command, with_records ? h->n_records : 0, want, nf - 1);
        goto out;
    }
    /* HELLO, SUBSCRIBE and CREDIT make a connection the member's current
     * session; so does any message while the member has none */
    if ((c && c->makes_current) || !sl_sessions_of (self->sessions, s->member)) {
        if (sl_sessions_make_current (self->sessions, s))
            sl_info ("session.current", "member=%s peer=%s previous=kept", s->member, s->peer);
    }
    if (c)
        c->fn (self, s, h, with_records ? &f[2] : NULL);
    else
        sl_broker_send_error (self, s->rid, s->rid_len, s->member, seq,
                      SLUICE__V1__ERROR_CODE__UNKNOWN_COMMAND, "unknown-command",
                      "command %d is not a client-to-broker command", (int) h->command);
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
        zmq_msg_t *f = &self->frames[n < SL_BROKER_MAX_FRAMES + 1 ? n : SL_BROKER_MAX_FRAMES];
        if (n >= SL_BROKER_MAX_FRAMES + 1) {
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
        if (n < SL_BROKER_MAX_FRAMES + 1)
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
 *  batch is due. It does not commit: sl_deliver_all adds this turn's
 *  `deliver` entries to the same batch and commits once, so publishers who
 *  are ACKed and send more at once cannot keep the loop from delivering. */
void
sl_proto_data_input (sl_broker_t *self)
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

void
sl_proto_admin_input (sl_broker_t *self)
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
                resp = sl_admin_dispatch (self->admin_table, &self->admin_ctx, m, zmq_msg_data (body),
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
            sl_broker_send_header (self, s, &h);
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
            sl_broker_send_header (self, s, &h);
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
    sl_broker_send_header (self, s, &h);
    return 1;
}

/*  Shuts down connections whose close time has come. The fd is only shut
 *  down if it still is the same TCP connection (same peer address and port).
 *  Returns ms until the next close, or -1. */
long
sl_proto_close_due (sl_broker_t *self)
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
        sl_broker_session_drop (self, s);
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
void
sl_proto_monitor_input (sl_broker_t *self, void *pair, sl_plane_t plane)
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
            if (!sl_broker_session_drop (self, s) || plane != SL_PLANE_DATA)
                continue;
            sl_route_owner_left (self, member);
        }
    }
}


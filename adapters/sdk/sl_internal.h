/*  sl_internal — the client structure shared by libsluice's modules.
    Not installed, not for adapters: only sluice.h is public. */
#ifndef SL_INTERNAL_H
#define SL_INTERNAL_H

#include <stdint.h>
#include <zmq.h>

#include "sluice.h"
#include "sl_mono.h"
#include "sl_keys.h"
#include "sl_outbox.h"
#include "sl_spool.h"
#include "sluice/v1/envelope.pb-c.h"

typedef Sluice__V1__Header sl_header_t;

/*  A durable subscription this client holds; renewed after each reconnect. */
typedef struct sl_sub {
    char *record_type, *purpose;
    struct sl_sub *next;
} sl_csub_t;

/*  A blocking request waiting for its answer (by seq). */
typedef struct sl_waiter {
    uint64_t seq;
    int done, rc;
    char text[512];
    sl_reply_t *reply;             /* QUERY: the REPLY */
    struct sl_waiter *next;
} sl_waiter_t;

struct sl_delivery {
    char *record_type, *subject, *owner, *purpose;
    uint8_t message_id[SL_MESSAGE_ID_LEN];
    int64_t event_time_ms;
    uint64_t tag;
    char **rules;
    size_t nrules;
    void *body;
    size_t size;
    struct sl_delivery *next;
};

typedef struct {
    char *record_type, *subject;
    int64_t event_time_ms;
    void *body;
    size_t size;
} sl_reply_rec_t;

struct sl_reply {
    sl_reply_rec_t *recs;
    size_t count;
};

struct sl_client {
    void *ctx, *sock, *mon;
    sl_client_options_t opts;      /* string fields NULL: copied below */
    char endpoint[512];
    char key_file[512];            /* for messages */
    sl_keypair_t keys;
    char broker_pub[SL_KEY_Z85_LEN + 1];
    char member[128], broker_version[64];
    uint32_t max_message_size;
    int link;                      /* CURVE handshake done on the current connection */
    int up;                        /* ... and HELLO answered */
    int refused;                   /* 0, or SL_EPERM / SL_EPROTO: cannot continue */
    uint64_t seq, hello_seq;
    sl_outbox_t *outbox;
    sl_spool_t *spool;
    sl_csub_t *subs;
    sl_delivery_t *dq_head, *dq_tail;   /* delivered, not yet taken by sl_client_recv */
    uint64_t *acks;                /* delivery tags to ACK at the next flush */
    size_t n_acks, acks_cap;
    uint64_t ack_seqs[64];         /* consumer ACK messages awaiting the broker's answer */
    size_t n_ack_seqs;
    unsigned outstanding;          /* deliveries on this connection neither acked nor nacked */
    int credit_started;            /* the first CREDIT went out on this connection */
    unsigned freed;                /* acked/nacked since the last CREDIT: to grant again */
    sl_waiter_t *waiters;
    sl_serve_fn *serve;
    void *serve_arg;
    sl_notice_fn *notice_fn;       /* sl_notice.c */
    void *notice_arg;
    sl_client_stats_t stats;
    int sessions;                  /* HELLOs answered on this client */
    int in_pump;                   /* the pump is running (callbacks): do not re-enter */
    zmq_msg_t *frames;             /* receive buffer of the pump */
    size_t frames_cap;
    char last_error[512];
    char last_reason[64];          /* Error.reason of the last refusal (sl_client_last_reason) */
    int wakeup_fd;                 /* extra fd sl_client_poll watches, or -1 */
};

/*  sl_client.c */
void sl__set_error (sl_client_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
uint64_t sl__next_seq (sl_client_t *self);
/*  Packs `h` (version is set here) and sends it with `nbodies` body frames.
    Returns 0, SL_EAGAIN (not connected / would block), SL_ENOMEM, SL_EIO. */
int sl__send (sl_client_t *self, sl_header_t *h, const void *const *bodies,
              const size_t *sizes, size_t nbodies);
int sl__pump (sl_client_t *self, int timeout_ms);
/*  Pumps until `w->done`, the deadline, or a fatal refusal. Returns w->rc,
    SL_ETIMEOUT or the refusal. */
int sl__wait (sl_client_t *self, sl_waiter_t *w, int64_t deadline_ms);
/*  Pumps until the session is up (HELLO answered). Returns 0, SL_ETIMEOUT. */
int sl__wait_up (sl_client_t *self, int64_t deadline_ms);
void sl__waiter_add (sl_client_t *self, sl_waiter_t *w, uint64_t seq);
void sl__waiter_remove (sl_client_t *self, sl_waiter_t *w);
sl_waiter_t *sl__waiter_find (sl_client_t *self, uint64_t seq);
/*  Opens a CURVE DEALER to opts->endpoint with the keys in `self`, with a
    socket monitor. Used by the client and the admin call. */
int sl__open_socket (void *ctx, const char *endpoint, const sl_keypair_t *keys,
                     const char *broker_pub, void **sock_p, void **mon_p,
                     char *err, size_t errlen);
/*  Loads the two key files. Returns 0, SL_EKEY, SL_EIO with `err`. */
int sl__load_keys (const sl_client_options_t *opts, sl_keypair_t *keys,
                   char broker_pub[SL_KEY_Z85_LEN + 1], char *err, size_t errlen);
/*  Reads one monitor event; returns the event number or 0 when none. */
int sl__monitor_event (void *mon);
/*  Remembers Error.reason of `e` (may be NULL) as the last reason. */
void sl__set_reason (sl_client_t *self, const char *reason);
/*  Text of the first error in an ERROR header, and its rc. */
int sl__header_error (const sl_header_t *h, char *text, size_t len);

/*  sl_publish.c */
void sl__publish_flush (sl_client_t *self);
void sl__publish_expire (sl_client_t *self);
int sl__publish_on_answer (sl_client_t *self, const sl_header_t *h);   /* 1 if it was ours */
void sl__publish_on_reconnect (sl_client_t *self);
int sl__spool_reload (sl_client_t *self);

/*  sl_subscribe.c */
void sl__on_deliver (sl_client_t *self, const sl_header_t *h, zmq_msg_t *frames, size_t nframes);
void sl__acks_flush (sl_client_t *self);
void sl__subscribe_on_up (sl_client_t *self);
void sl__deliveries_drop (sl_client_t *self);
void sl__subs_free (sl_client_t *self);
/*  1 if `h` answers one of our consumer ACK/NACK messages (then consumed). */
int sl__ack_on_answer (sl_client_t *self, const sl_header_t *h);

/*  sl_query.c */
void sl__on_query (sl_client_t *self, const sl_header_t *h);
/*  sl_notice.c: a NOTICE from the broker (logged; the callback, if any). */
void sl__on_notice (sl_client_t *self, const sl_header_t *h);
int sl__on_reply (sl_client_t *self, const sl_header_t *h, zmq_msg_t *frames, size_t nframes);

#endif

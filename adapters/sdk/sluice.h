/*  sluice.h — libsluice, the client library of the sluice broker.

    A client is one CURVE-encrypted DEALER connection to `sluiced` (PROTOCOL.md,
    data plane), or a one-shot call to its admin plane (sl_admin_call).

    Threading: a client has no thread of its own. All I/O happens inside the
    calls below (sl_client_poll, sl_client_recv, the blocking calls); callbacks
    run inside them, on the caller's thread. Use one client from one thread at
    a time, as you would a ZeroMQ socket. A callback may call
    sl_client_publish_async, sl_client_ack and the accessors of its own
    client, but not the calls that wait (publish, subscribe, query, recv,
    poll, flush, destroy).

    Errors: functions return 0 or a negative SL_E* code (sl_error.h,
    sl_strerror). sl_client_last_error() gives a sentence for a person: what
    went wrong and what to do.

    Reliability: a publish is kept by the library until the broker ACKs it (the
    broker ACKs only after the record is committed to disk). When the
    connection breaks, the library reconnects by itself, says HELLO again,
    subscribes again and resends every unacknowledged publish; the broker drops
    resent duplicates by message_id, so a record is stored once. With a spool
    directory (sl_client_options_t.spool_dir), unacknowledged publishes are
    also kept in LMDB and survive a restart of the adapter itself.

    Batching: records given to sl_client_publish_async are sent at once while
    the link is idle; while earlier PUBLISH messages still await their ACK,
    new records of the same record type gather into one PUBLISH (up to
    batch_max), so a busy publisher pays the per-message costs per batch.
*/
#ifndef SLUICE_H
#define SLUICE_H

#include <stddef.h>
#include <stdint.h>

#include "sl_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SL_MESSAGE_ID_LEN 16
#define SL_PROTOCOL_VERSION 1

typedef struct sl_client sl_client_t;       /* opaque: one broker connection */
typedef struct sl_delivery sl_delivery_t;   /* opaque: one delivered record */
typedef struct sl_query sl_query_t;         /* opaque: a query to answer (owner side) */
typedef struct sl_reply sl_reply_t;         /* opaque: the answer to a query we asked */

/*  Connection settings. Zero-initialise, fill what you need; a zero field
    takes the default in brackets. Strings are borrowed for the duration of
    sl_client_connect() / sl_admin_call() only. */
typedef struct {
    const char *endpoint;          /* broker data (or admin) endpoint, "tcp://127.0.0.1:5570" */
    const char *key_file;          /* our secret key file NAME.key (mode 0600) */
    const char *broker_key_file;   /* the broker's public key file broker.pub */
    const char *spool_dir;         /* LMDB spool for unacknowledged publishes [none] */
    int connect_timeout_ms;        /* wait for the handshake and HELLO [5000] */
    int ack_timeout_ms;            /* resend an unacknowledged PUBLISH after [5000] */
    unsigned batch_max;            /* records per PUBLISH [256] */
    unsigned inflight_max;         /* PUBLISH messages awaiting ACK at once [4] */
    unsigned credit;               /* deliveries the broker may send ahead [1024] */
} sl_client_options_t;

/*  Fills `opts->endpoint` / `opts->broker_key_file` from a broker data
    directory as PROTOCOL.md describes (DIR/endpoints, DIR/broker.pub), for
    the data plane (`admin` = 0) or the admin plane (`admin` = 1). The strings
    are written into `buf` (size `size`), which must outlive their use.
    Returns 0; SL_ENOTFOUND (no DIR/endpoints: the broker is not running, or
    no such line), SL_EIO (unreadable) or SL_EINVAL (too long for `buf`),
    with `err` (may be NULL) naming the file and what to do. */
int sl_options_from_data_dir (sl_client_options_t *opts, const char *dir, int admin,
                              char *buf, size_t size, char *err, size_t errlen);

/*  ---- Connecting --------------------------------------------------------- */

/*  Loads the key files, connects to the broker, completes the CURVE
    handshake and the HELLO exchange (protocol version 1). On success stores
    a new client in *client_p (destroy with sl_client_destroy) and returns 0.
    Errors, with the reason in `err` (may be NULL):
      SL_EKEY      key file missing, malformed, or readable by group/others
      SL_EIO       key file unreadable, or the socket could not be made
      SL_EPERM     the broker refused our key (unknown or revoked member)
      SL_ETIMEOUT  no handshake/HELLO answer in connect_timeout_ms
      SL_EPROTO    the broker does not speak protocol version 1
      SL_ESTORE    the spool directory could not be opened
    With a spool, records spooled by an earlier run are resent at once, and
    an unreachable broker is not an error: the client is returned
    unconnected (sl_client_connected() = 0), publishes go to the spool, and
    the connection is made in the background of later calls. */
int sl_client_connect (const sl_client_options_t *opts, sl_client_t **client_p,
                       char *err, size_t errlen);

/*  Sends pending acks, waits up to `linger_ms` for unacknowledged publishes
    (with a spool they stay spooled), closes the connection and frees the
    client and everything it still holds (deliveries already handed to the
    caller stay the caller's). Sets *client_p to NULL; harmless on NULL. */
void sl_client_destroy (sl_client_t **client_p, int linger_ms);

/*  The member name the broker authenticated us as (from HELLO). Valid for
    the life of the client. Cannot fail. */
const char *sl_client_member (sl_client_t *self);

/*  The broker's version string and message size limit (from HELLO). */
const char *sl_client_broker_version (sl_client_t *self);
uint32_t sl_client_max_message_size (sl_client_t *self);

/*  A sentence about the last failure on this client ("" if none). Valid
    until the next call on the client. Cannot fail. */
const char *sl_client_last_error (sl_client_t *self);

/*  True while the connection is up and HELLO has been answered. */
int sl_client_connected (sl_client_t *self);

/*  Does pending I/O for up to `timeout_ms` (0: only what is ready now,
    -1: until something happened): sends batched publishes and acks,
    processes ACKs (running publish callbacks), queues deliveries for
    sl_client_recv, answers queries with the serve callback, and reconnects
    after a broken connection. Returns the number of events handled (>= 0),
    SL_ECLOSED if the broker refused or revoked our key (the client cannot
    continue), or SL_EIO if polling the socket failed. */
int sl_client_poll (sl_client_t *self, int timeout_ms);

/*  An extra file descriptor for sl_client_poll to watch (-1: none, the
    default): when it becomes readable the poll returns early, without
    reading it (the caller drains it). Lets a program that feeds the client
    from other threads (the gateway) wake its client thread at once, e.g.
    with an eventfd. Cannot fail. */
void sl_client_set_wakeup_fd (sl_client_t *self, int fd);

/*  The machine-readable reason (PROTOCOL.md 3, `Error.reason`: "not-owner",
    "consent-missing", "no-matching-rule", ...) of the broker's last refusal
    seen by this client: of the last failed blocking call, or, inside a
    publish callback, of the record being refused. "" if the last failure
    did not come from the broker. Valid until the next call. Cannot fail. */
const char *sl_client_last_reason (sl_client_t *self);

/*  Records held in the spool (written, not yet acknowledged by the
    broker); 0 without a spool. Cannot fail. */
size_t sl_client_spool_depth (sl_client_t *self);

/*  Forces the spool to disk (fsync), so what it holds survives a power
    loss, not only a crash of the process. Returns 0, SL_ENOTFOUND (no
    spool) or SL_ESTORE. */
int sl_client_spool_sync (sl_client_t *self);

/*  Counters since sl_client_connect, for monitoring and benchmarks. */
typedef struct {
    uint64_t publish_messages;     /* PUBLISH messages sent (resends included) */
    uint64_t records_sent;         /* records in them */
    uint64_t records_acked;        /* records the broker stored */
    uint64_t records_refused;      /* records the broker refused */
    uint64_t records_resent;       /* requeued after a reconnect or an ACK timeout */
    uint64_t reconnects;           /* sessions re-established after a broken connection */
    uint64_t deliveries;           /* records delivered to us */
} sl_client_stats_t;

/*  Copies the counters into *out. Cannot fail. */
void sl_client_stats (sl_client_t *self, sl_client_stats_t *out);

/*  ---- Publishing --------------------------------------------------------- */

/*  Metadata of one record to publish. `message_id` NULL: the library draws 16
    random bytes. `subject` may be NULL. `event_time_ms`: Unix milliseconds
    (0: now). */
typedef struct {
    const uint8_t *message_id;     /* SL_MESSAGE_ID_LEN bytes, or NULL */
    const char *subject;
    int64_t event_time_ms;
} sl_publish_meta_t;

/*  Called once per record published with sl_client_publish_async: rc 0 when
    the broker stored it, or the error (SL_EDENIED, SL_EPERM for a record
    type we do not own, SL_EDECODE for a bad body, SL_ETOOBIG, ...), with the
    broker's text in `text` (valid during the call). `message_id` is 16 bytes,
    valid during the call. */
typedef void (sl_publish_fn) (const uint8_t *message_id, int rc, const char *text, void *arg);

/*  Queues one record (packed protobuf `body` of `size` bytes, of
    `record_type`) for publishing and returns without waiting. The body and
    strings are copied. If `message_id_out` is non-NULL it receives the
    record's 16-byte id. `cb` (may be NULL) runs later inside a poll/recv/
    publish call. Returns 0, SL_ETOOBIG (over the broker's limit), SL_EINVAL
    (no record type, or a body pointer missing), SL_ESTORE / SL_EFULL (the
    spool could not take it), or SL_ENOMEM. The record is not lost if
    the broker is down: it is sent when the connection returns. When the
    window of in-flight PUBLISH messages is full this also takes in the ACKs
    that are ready (without waiting), so callbacks may run inside it. */
int sl_client_publish_async (sl_client_t *self, const char *record_type,
                             const sl_publish_meta_t *meta, const void *body, size_t size,
                             sl_publish_fn *cb, void *arg, uint8_t *message_id_out);

/*  Publishes one record and waits until the broker has stored it (ACK) or
    refused it, at most `timeout_ms` (-1: forever). Returns 0 when stored;
    the broker's refusal (SL_EPERM not owner, SL_EDECODE, SL_EDENIED,
    SL_ETOOBIG, SL_EINVAL unknown record type, ...); SL_ETIMEOUT when no
    answer came in time — the record then stays queued and will still be
    sent (with the same message_id) unless the client is destroyed. */
int sl_client_publish (sl_client_t *self, const char *record_type,
                       const sl_publish_meta_t *meta, const void *body, size_t size,
                       int timeout_ms);

/*  Number of records queued or sent but not yet acknowledged. Cannot fail. */
size_t sl_client_unacked (sl_client_t *self);

/*  Polls until every queued publish is acknowledged or failed and the
    broker has answered every delivery ack we sent (so they are durable), or
    `timeout_ms` passes (-1: no limit). Acks sent on a connection that broke
    are not waited for: the broker redelivers what they did not remove. Returns 0, SL_ETIMEOUT, or the
    refusal (SL_EPERM) if the key was revoked meanwhile. */
int sl_client_flush (sl_client_t *self, int timeout_ms);

/*  ---- Subscribing and receiving ----------------------------------------- */

/*  Subscribes to `record_type` for `purpose` and waits for the broker's
    answer (at most connect_timeout_ms). Grants the broker `credit`
    deliveries and keeps granting as deliveries are acked. The subscription
    is renewed by itself after a reconnect. Returns 0, SL_EINVAL unknown
    record type, SL_EDENIED / SL_EPERM refused, SL_ETIMEOUT. */
int sl_client_subscribe (sl_client_t *self, const char *record_type, const char *purpose);

/*  Ends a subscription. Returns 0, SL_ENOTFOUND, SL_ETIMEOUT. */
int sl_client_unsubscribe (sl_client_t *self, const char *record_type, const char *purpose);

/*  Waits up to `timeout_ms` (-1: forever) for the next delivered record and
    gives it to the caller in *delivery_p (destroy with sl_delivery_destroy).
    Returns 0, SL_ETIMEOUT (nothing arrived), SL_ECLOSED (key refused). */
int sl_client_recv (sl_client_t *self, sl_delivery_t **delivery_p, int timeout_ms);

/*  Acknowledges a delivery: the broker removes it from our queue. Acks are
    batched and sent with the next I/O (or at once when 64 are pending).
    Does not destroy the delivery. Returns 0, SL_EINVAL (NULL delivery) or
    SL_ENOMEM. */
int sl_client_ack (sl_client_t *self, const sl_delivery_t *delivery);

/*  Gives a delivery back for redelivery later (NACK), sent at once. Returns
    0 (also when not connected: the broker then redelivers anyway),
    SL_EINVAL (NULL delivery) or SL_EIO. */
int sl_client_nack (sl_client_t *self, const sl_delivery_t *delivery);

/*  Accessors of a delivery; strings and body are valid until the delivery is
    destroyed. Cannot fail. */
const char *sl_delivery_record_type (const sl_delivery_t *d);
const char *sl_delivery_subject (const sl_delivery_t *d);       /* as the policy leaves it */
const char *sl_delivery_owner (const sl_delivery_t *d);
const char *sl_delivery_purpose (const sl_delivery_t *d);
const uint8_t *sl_delivery_message_id (const sl_delivery_t *d); /* 16 bytes */
int64_t sl_delivery_event_time_ms (const sl_delivery_t *d);
uint64_t sl_delivery_tag (const sl_delivery_t *d);
size_t sl_delivery_rule_count (const sl_delivery_t *d);
const char *sl_delivery_rule (const sl_delivery_t *d, size_t i); /* "id@version" */
const void *sl_delivery_body (const sl_delivery_t *d, size_t *size);

/*  Frees a delivery (without acking it). Sets *d_p to NULL; harmless on NULL. */
void sl_delivery_destroy (sl_delivery_t **d_p);

/*  ---- Queries ----------------------------------------------------------- */

/*  One key/value query parameter. */
typedef struct { const char *key; const char *value; } sl_param_t;

/*  Asks the owner of `record_type`, through the broker, for records about
    `subject` for `purpose`, with `nparams` owner-defined parameters, and
    waits up to `timeout_ms` for the reply. On success stores the reply in
    *reply_p (destroy with sl_reply_destroy) and returns 0. Errors:
    SL_EDENIED (policy), SL_ENOTFOUND (owner offline), SL_ETIMEOUT (owner or
    broker did not answer in time), SL_EINVAL, SL_EPERM. */
int sl_client_query (sl_client_t *self, const char *record_type, const char *subject,
                     const char *purpose, const sl_param_t *params, size_t nparams,
                     int timeout_ms, sl_reply_t **reply_p);

/*  Records in a reply; index 0 <= i < count. Valid until the reply is
    destroyed. Cannot fail (out-of-range i gives NULL / 0). */
size_t sl_reply_count (const sl_reply_t *r);
const void *sl_reply_body (const sl_reply_t *r, size_t i, size_t *size);
const char *sl_reply_subject (const sl_reply_t *r, size_t i);
const char *sl_reply_record_type (const sl_reply_t *r, size_t i);
void sl_reply_destroy (sl_reply_t **r_p);

/*  The owner's side: called for each query the broker routes to us. Add
    records with sl_query_add and return 0 to send them as the REPLY; return
    a negative SL_E* code (text via sl_query_fail) to answer with an error.
    The query is valid during the call only. */
typedef int (sl_serve_fn) (sl_query_t *q, void *arg);

/*  Installs the serve callback (NULL: stop serving; queries then get an
    error answer). Runs inside poll/recv/blocking calls. Cannot fail. */
void sl_client_serve (sl_client_t *self, sl_serve_fn *fn, void *arg);

/*  A NOTICE from the broker (PROTOCOL.md 5.8): `kind` is "consent-withdrawn"
    or "consent-expired" (args subject — as this consumer sees it: the id, its
    pseudonym, or "" —, owner, purpose, consent_id, ended_at in Unix seconds),
    "revoked" or "shutdown" (no args), or a kind a later broker adds. Strings
    are valid during the call only. A consumer that keeps data received under
    a consent deletes or stops using that person's data for that purpose when
    the consent ended. */
typedef void (sl_notice_fn) (const char *kind, const sl_param_t *args, size_t n_args, void *arg);

/*  Installs the notice callback (NULL: notices are only logged). Runs inside
    poll/recv/blocking calls, like the serve callback. Cannot fail. */
void sl_client_on_notice (sl_client_t *self, sl_notice_fn *fn, void *arg);

/*  The value of `key` among a notice's args, or NULL. Cannot fail. */
const char *sl_notice_arg (const sl_param_t *args, size_t n, const char *key);

const char *sl_query_record_type (const sl_query_t *q);
const char *sl_query_subject (const sl_query_t *q);
const char *sl_query_purpose (const sl_query_t *q);
const char *sl_query_asker (const sl_query_t *q);            /* asking member */
const char *sl_query_param (const sl_query_t *q, const char *key); /* NULL if absent */

/*  Adds one record (packed body, copied) to the answer. Returns 0, SL_ENOMEM. */
int sl_query_add (sl_query_t *q, const void *body, size_t size, const char *subject,
                  int64_t event_time_ms);

/*  Sets the text sent with an error answer. Cannot fail. */
void sl_query_fail (sl_query_t *q, const char *text);

/*  ---- Admin plane -------------------------------------------------------- */

/*  One admin command (PROTOCOL.md, admin plane): connects to `opts->endpoint`
    (the admin endpoint) with opts' keys, sends `command` with `args_json`
    (a JSON object text; NULL means "{}") and optional bulk `data`, and
    waits up to `timeout_ms` for the answer. On success *result_json_p gets a
    malloc'ed JSON text (caller frees): the result, or a JSON array of the
    results when the broker streams several responses. Errors: as
    sl_client_connect for keys/handshake; SL_EPERM (role does not allow it,
    or key refused), SL_EINVAL (bad or duplicate arguments), SL_ENOTFOUND,
    SL_EPROTO (unknown command), SL_ETIMEOUT, SL_ECLOSED; the broker's text
    goes to `err`. */
int sl_admin_call (const sl_client_options_t *opts, const char *command,
                   const char *args_json, const void *data, size_t size,
                   int timeout_ms, char **result_json_p, char *err, size_t errlen);

/*  sl_admin_call, and when the broker refuses the command with a result
    attached (policy.apply's list of errors with file, line and column),
    *error_json_p gets that result as a malloc'ed JSON text (caller frees;
    NULL when there is none). `error_json_p` may be NULL. */
int sl_admin_call_ex (const sl_client_options_t *opts, const char *command,
                      const char *args_json, const void *data, size_t size,
                      int timeout_ms, char **result_json_p, char **error_json_p,
                      char *err, size_t errlen);

/*  ---- Record types -------------------------------------------------------- */

/*  Fetches the registered google.protobuf.FileDescriptorSet of
    `record_type` (docs/SCHEMAS.md) with the admin command schema.get, which
    any authenticated member may run: `opts` are admin-plane options with
    the member's own key. `version` 0 asks for the version in force. On
    success *set_p gets the set (malloc'ed, *len_p bytes; caller frees) and
    *version_p (may be NULL) its version. Build the protobuf-c descriptor
    with sl_schema_build (schemas/sl_schema.h: record_type, set, version)
    and free it with sl_schema_free. Errors: as sl_admin_call; SL_ENOTFOUND
    (not registered, or built into the broker: sluice.v1.*); SL_EPROTO (the
    answer carries no set). */
int sl_schema_fetch (const sl_client_options_t *opts, const char *record_type,
                     uint32_t version, int timeout_ms, uint8_t **set_p, size_t *len_p,
                     uint32_t *version_p, char *err, size_t errlen);

/*  sl_schema_fetch of the version in force, then builds it and puts it in
    force in this process's record type table (schemas/sl_schema.h: one
    thread at a time), so sl_schema_find (record_type) and the JSON mapping
    know it. A type already in the table is not fetched again. On success
    *schema_p (may be NULL) gets the entry, valid for the life of the process.
    Errors: as sl_schema_fetch; SL_EINVAL (the set does not build: `err`
    says where), SL_ENOMEM. */
struct sl_schema;
int sl_schema_learn (const sl_client_options_t *opts, const char *record_type, int timeout_ms,
                     const struct sl_schema **schema_p, char *err, size_t errlen);

/*  ---- Error codes and message ids --------------------------------------- */

/*  Maps a wire ErrorCode (envelope.proto) to an SL_E* code, as the table in
    PROTOCOL.md section 3 says. Cannot fail. */
int sl_wire_error_to_rc (int wire_code);

/*  Writes 32 lowercase hex digits of a message id into `out` (33 bytes). */
void sl_message_id_hex (const uint8_t *id, char out[2 * SL_MESSAGE_ID_LEN + 1]);

#ifdef __cplusplus
}
#endif
#endif

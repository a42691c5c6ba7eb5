/*  tc — a small raw sluice client for the broker's integration tests.
 *
 *  It speaks docs/PROTOCOL.md with libzmq and protobuf-c directly (no
 *  libsluice), so the tests also check that the protocol document is enough
 *  to write a client. It also starts the real sluiced binary (path in
 *  $SLUICED) on a fresh temporary data directory with ephemeral loopback
 *  ports, and finds its endpoints in DIR/endpoints.
 */
#ifndef TC_H
#define TC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sl_keys.h"
#include "tl.h"
#include "sluice/v1/admin.pb-c.h"
#include "sluice/v1/envelope.pb-c.h"

typedef struct {
    char dir[340];
    char data_ep[256];
    char admin_ep[256];
    char broker_pub[SL_KEY_Z85_LEN + 1];
    sl_keypair_t admin;           /* DIR/admin.key: member 'admin', admin:city */
    pid_t pid;
    char extra[16][128];          /* extra sluiced run arguments */
    int n_extra;
    char adm_name[8][40];         /* bureau administrators made by tc_policy */
    sl_keypair_t adm_key[8];
    int n_adm;
} tc_broker_t;

/*  Creates a temp dir, runs `sluiced init` in DIR (b->dir), reads the
 *  broker's public key and the admin key; keeps `extra` (NULL-terminated,
 *  may be NULL) for `sluiced run`. Nothing is started (an in-process broker
 *  can use the directory). Returns 0 or -1 (message on stderr). */
int tc_broker_init (tc_broker_t *b, const char *const *extra);

/*  tc_broker_init, then starts `sluiced run` with
 *  the given extra arguments (NULL-terminated list, may be NULL). Returns
 *  0 or -1 (message on stderr). */
int tc_broker_start (tc_broker_t *b, const char *const *extra);

/*  Starts sluiced again on the same directory (after tc_broker_stop). */
int tc_broker_restart (tc_broker_t *b);

/*  SIGTERM, wait up to 5 s (then SIGKILL). Returns the exit status (0..255),
 *  128 + the signal it died of, or -1 if it had to be killed or was not
 *  running. */
int tc_broker_stop (tc_broker_t *b);

/*  The usual scene (tl.h): tc_broker_start with `extra`, members water and
 *  power (keys into kw, kp), then `city` as the city's policy and `water` as
 *  water's (each skipped when NULL; each must become version 1). Returns 0
 *  or -1 (message on stderr). */
int tc_scene (tc_broker_t *b, const char *const *extra, sl_keypair_t *kw, sl_keypair_t *kp,
              const char *city, const char *water);

/*  Stops (if running) and removes the directory. */
void tc_broker_cleanup (tc_broker_t *b);

/*  Number of lines in DIR/sluiced.log containing `needle`. */
int tc_broker_log_count (tc_broker_t *b, const char *needle);

typedef struct {
    void *sock;
    uint64_t seq;
} tc_client_t;

typedef struct {
    Sluice__V1__Header *h;
    size_t n_bodies;
    uint8_t *bodies[64];
    size_t lens[64];
} tc_msg_t;

/*  The process-wide ZeroMQ context for tests. */
void *tc_ctx (void);

/*  Connects a DEALER to endpoint `ep` as CURVE client `kp` (broker key
 *  `server_pub`). Returns 0 or -1. */
int tc_connect (tc_client_t *c, const char *ep, const char *server_pub, const sl_keypair_t *kp);
void tc_close (tc_client_t *c);
/*  tc_close on each client of the list, which ends with NULL. */
void tc_close_all (tc_client_t *c, ...) __attribute__ ((sentinel));

/*  Sends a header (seq set from c->seq++ when h->seq == 0) and `n` bodies.
 *  Returns the seq used, or 0 on failure. */
uint64_t tc_send (tc_client_t *c, Sluice__V1__Header *h, const uint8_t *const *bodies,
                  const size_t *lens, size_t n);

/*  Sends raw frames as given. Returns 0 or -1. */
int tc_send_raw (tc_client_t *c, const void *const *frames, const size_t *lens, size_t n);

/*  Receives one message within timeout_ms. Returns 0 (msg filled; free with
 *  tc_msg_free) or -1 on timeout / undecodable header. */
int tc_recv (tc_client_t *c, tc_msg_t *msg, int timeout_ms);

/*  Receives, skipping DELIVER/NOTICE/QUERY messages unless `command` asks
 *  for one of those, until a message with `command` (or ERROR) arrives. */
int tc_recv_cmd (tc_client_t *c, tc_msg_t *msg, int command, int timeout_ms);
void tc_msg_free (tc_msg_t *msg);

/*  Sends HELLO and waits for the answer. Returns 0 if it came back as HELLO
 *  naming `member` (may be NULL to skip the check). */
int tc_hello (tc_client_t *c, const char *member);

/*  Runs sluicectl ($SLUICECTL) with the printf-formatted `fmt` as its
 *  shell words, stdout and stderr into out[size] (cut to fit, always
 *  terminated). Returns the exit status (-1 if it did not exit). */
int tc_ctl (char *out, size_t size, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  One admin command as the broker's admin key; returns the response
 *  (free with sluice__v1__admin_response__free_unpacked) or NULL. */
Sluice__V1__AdminResponse *tc_admin (tc_broker_t *b, const sl_keypair_t *as,
                                     const char *command, const char *args_json);

/*  One admin command as `as` with `args` (a cJSON object, consumed; NULL:
 *  none). The response code into *code (-1: no response) and its text into
 *  text[size]; returns the result parsed (free with cJSON_Delete), or NULL
 *  when there is none or it is not JSON. */
struct cJSON *tc_adm (tc_broker_t *b, const sl_keypair_t *as, const char *command,
                      struct cJSON *args, int *code, char *text, size_t size);

/*  Registers member `name` with `role` and a new key pair (written to kp).
 *  Returns 0 or -1. */
int tc_member (tc_broker_t *b, const char *name, const char *role, sl_keypair_t *kp);

/*  policy.apply of `text` (sent in AdminRequest.data) as `as`, with args
 *  {"file": file} (file may be NULL). Returns the response (free with
 *  sluice__v1__admin_response__free_unpacked) or NULL. */
Sluice__V1__AdminResponse *tc_policy_apply (tc_broker_t *b, const sl_keypair_t *as,
                                            const char *file, const char *text);

/*  The key of bureau `owner`'s administrator: member "admin-OWNER" with role
 *  admin:OWNER, registered on first use ("city": the broker's admin key,
 *  role admin:city). NULL on failure. */
const sl_keypair_t *tc_owner_admin (tc_broker_t *b, const char *owner);

/*  Applies `text` as `owner`'s policy through its administrator. Returns the
 *  new version (>= 1) or -1 (the broker's answer on stderr). */
int tc_policy (tc_broker_t *b, const char *owner, const char *text);

/*  Connects to the data plane as kp and says HELLO. Returns 0 or -1. */
int tc_join (tc_client_t *c, tc_broker_t *b, const sl_keypair_t *kp, const char *member);

/*  A packed water.v1.MeterReading (malloc()ed, *len size) for `subject`. */
uint8_t *tc_water_reading (const char *subject, double m3, size_t *len);

/*  Fills a 16-byte message id from a counter and the pid. */
void tc_msgid (uint8_t id[16], uint32_t n);

/*  Publishes one record (type, subject, body) with id; returns the seq. */
uint64_t tc_publish1 (tc_client_t *c, const char *type, const uint8_t id[16],
                      const char *subject, const uint8_t *body, size_t len);

/*  Publish and wait: publishes one record of `type` with id tc_msgid (n)
 *  and waits up to timeout_ms (scaled) for the answer to it (DELIVER and
 *  NOTICE skipped). 0: an ACK naming exactly that id; > 0: the ERROR's
 *  first code, its text and reason in err[size] (err may be NULL); -1: no
 *  answer, or an ACK that names other ids (said in err). */
int tc_publish_wait (tc_client_t *c, const char *type, uint32_t n, const char *subject,
                     const uint8_t *body, size_t len, int timeout_ms, char *err, size_t size);

/*  tc_publish_wait of tc_water_reading (subject, m3), 5 s. */
int tc_publish_water (tc_client_t *c, uint32_t n, const char *subject, double m3, char *err,
                      size_t size);
/*  In a Criterion suite: asserts that tc_publish_water (c, n, subject, m3)
 *  was acknowledged; the message has the broker's error text. */
#define TC_PUBLISH_OK(c, n, subject, m3)                                                    \
    do {                                                                                    \
        char tc_err_[400];                                                                  \
        cr_assert_eq (tc_publish_water ((c), (n), (subject), (m3), tc_err_, sizeof tc_err_), \
                      0, "publish %u refused: %s", (unsigned) (n), tc_err_);                \
    } while (0)

/*  One PUBLISH of n (at most 64) water readings (tc_water_reading): record
 *  i has id tc_msgid (base + i), base + i m3, and is about `subject`, or
 *  "CIT-<base + i>" when subject is NULL; not waiting for the answer. The
 *  seq, or 0. */
uint64_t tc_publish_waters (tc_client_t *c, uint32_t base, int n, const char *subject);

/*  Sends a QUERY for `subject` of `type` for `purpose`, with the broker's
 *  timeout_ms (not scaled). The seq, or 0. */
uint64_t tc_query (tc_client_t *c, const char *type, const char *subject, const char *purpose,
                   uint32_t timeout_ms);

/*  Sends the REPLY to query `query_id`: one record (subject, event_time in
 *  Unix ms, message id tc_msgid (n) when n > 0, body) or, when body is NULL,
 *  none. Returns the seq, or 0. */
uint64_t tc_reply1 (tc_client_t *c, uint64_t query_id, const char *subject, int64_t event_time,
                    uint32_t n, const uint8_t *body, size_t len);

/*  Drain: receives DELIVERs (NOTICEs skipped) until `want` records came or
 *  timeout_ms (scaled) passed, acknowledging each (one ACK per record) when
 *  `ack`; their delivery tags go to tags[] (room for `want`; may be NULL).
 *  The number received, or -1 when the broker did not confirm an ACK. */
int tc_drain (tc_client_t *c, int want, int ack, uint64_t *tags, int timeout_ms);

/*  A consumer: tc_join as kp (member `member`), tc_subscribe to `type` for
 *  `purpose`, then CREDIT `credit` (0: none). Returns 0 or -1. */
int tc_consumer (tc_client_t *c, tc_broker_t *b, const sl_keypair_t *kp, const char *member,
                 const char *type, const char *purpose, uint32_t credit);

/*  1 when a HELLO as kp on endpoint `ep` (broker key `server_pub`) gets no
 *  answer within wait_ms (scaled): the handshake was refused. 0 when it was
 *  answered (or the socket could not be made). */
int tc_refused (const char *ep, const char *server_pub, const sl_keypair_t *kp, int wait_ms);

/*  Subscribes and waits for the ACK. Returns 0 or -1. */
int tc_subscribe (tc_client_t *c, const char *type, const char *purpose);

/*  Sends CREDIT n. */
void tc_credit (tc_client_t *c, uint32_t n);

/*  Sends consumer ACK (nack=0) or NACK for one tag and waits for the answer.
 *  Returns the number of tags the broker confirmed, or -1. */
int tc_ack (tc_client_t *c, uint64_t tag, int nack);

/*  Entries of the broker's audit log (audit.query as the broker's admin
 *  key, every page) that meet every condition of the NULL-terminated list:
 *  "FIELD=VALUE" (the entry's member FIELD, AUDIT.md section 9, equals
 *  VALUE) or "FIELD~TEXT" (it contains TEXT). "=" conditions on kind,
 *  actor, owner, counterpart, record_type and decision also narrow the
 *  query on the broker. The count, or -1 when the query failed (the
 *  broker's answer on stderr). Example:
 *  tc_audit_count (&B, "kind=deny", "counterpart=power", "reason=forbidden", NULL). */
long tc_audit_count (tc_broker_t *b, ...) __attribute__ ((sentinel));

/*  tc_audit_count, asked again until it is > 0 or timeout_ms (scaled) has
 *  passed: for entries written after the event the test caused. The last
 *  count. */
long tc_audit_await (tc_broker_t *b, int timeout_ms, ...) __attribute__ ((sentinel));

/*  One audit entry's members (AUDIT.md section 9) as read from the store. */
typedef struct {
    char kind[32], actor[64], counterpart[64], owner[64], purpose[64], decision[16];
    char rules[512], fields[512], reason[256], detail[1024];
    int has_subject, has_msgid;
} tc_entry_t;

/*  Offline: the entries of `kind` (a prefix when it ends in '.'; NULL: all)
 *  in DIR/store, read through a separate read-only LMDB environment, so the
 *  broker may be running, stopped or killed. The first `max` go into out;
 *  returns how many there are, or -1 when the store could not be read. */
long tc_audit_read (const char *dir, const char *kind, tc_entry_t *out, size_t max);

/*  Offline, as tc_audit_read: how many delivery tags the `ack` entries in
 *  DIR/store list (AUDIT.md 6.2: one entry per ACK, its tags in the
 *  detail); -1 if the store could not be read or a list is malformed. */
long tc_audit_acked_tags (const char *dir);

/*  `status` as `as` (NULL: the broker's admin key): the JSON result (free
 *  with cJSON_Delete) or NULL. */
struct cJSON *tc_status (tc_broker_t *b, const sl_keypair_t *as);
/*  The depth of `member`'s queue in the admin status, or -1 when the
 *  status or the queue is missing. */
long tc_queue_depth (tc_broker_t *b, const char *member);

/*  Milliseconds (monotonic). */
int64_t tc_ms (void);

/*  `ms` stretched by SLUICE_TEST_TIME_SCALE (an integer, default 1), for runs
    under valgrind where everything is ~10x slower. Every wait in the harness
    goes through it. */
int tc_wait (int ms);

/* --------------------------------------------------------------------------
 * Broker integration suites (tests/broker/it_*.c, flood_auth.c)
 * ------------------------------------------------------------------------ */
#include "sl_audit.h"

/*  tc_entry_t and what it leaves out: the record type, and the subject's
 *  audit pseudonym in hex ("" when the entry has none). */
typedef struct {
    tc_entry_t m;
    char record_type[64];
    char subject[2 * SL_AUDIT_PSEUDO_LEN + 1];
} tc_full_entry_t;

/*  tc_audit_read with tc_full_entry_t: the first `max` entries of `kind` go
 *  into out (may be NULL when max is 0); returns how many there are, or -1
 *  when the store could not be read. */
long tc_audit_read_full (const char *dir, const char *kind, tc_full_entry_t *out, size_t max);

/*  One admin command as `as` (tc_admin): the response's code, or -1 when
 *  there was none. Its text goes to text[tsize] ("no response" when there
 *  was none) and its result_json to result[rsize] ("" when none); each
 *  buffer may be NULL. */
int tc_admin_answer (tc_broker_t *b, const sl_keypair_t *as, const char *command,
                   const char *args_json, char *text, size_t tsize, char *result, size_t rsize);

/*  A socket of `type` in ZeroMQ context `ctx` (NULL: tc_ctx ()) with linger
 *  0 and CURVE client keys (the server's public key, then ours), not yet
 *  connected. NULL on failure. */
void *tc_curve_socket (void *ctx, int type, const char *server_pub, const char *public_key,
                       const char *secret_key);

/*  Waits up to timeout_ms (scaled) for one frame on `sock` and decodes it
 *  as an AdminResponse (free with sluice__v1__admin_response__free_unpacked);
 *  NULL on timeout or when it does not decode. */
Sluice__V1__AdminResponse *tc_admin_recv (void *sock, int timeout_ms);

/*  Sends one AdminRequest on `sock`: version 1, `seq`, `command`,
 *  `args_json` (NULL: none) and `len` bytes of `data` (may be NULL).
 *  Returns 0 or -1. */
int tc_admin_send (void *sock, uint64_t seq, const char *command, const char *args_json,
                   const uint8_t *data, size_t len);

/*  One PUBLISH of `type` with n records, not waiting for the answer:
 *  record i has message id tc_msgid (first + i), no event time, body
 *  bodies[i] (lens[i] bytes), is about `subject` and claims owner `owner`;
 *  the header claims member `member` (each NULL: not set). The seq, or 0. */
uint64_t tc_publish_n (tc_client_t *c, const char *type, const char *member, const char *owner,
                       const char *subject, uint32_t first, size_t n,
                       const uint8_t *const *bodies, const size_t *lens);

/*  One consent as a consent source publishes it (sluice.v1.ConsentEvent,
 *  docs/CONSENT.md): `id` about `subject`, from `controller` to
 *  `recipient`; a GIVEN one covers `purpose` and records of `type`,
 *  collected by `method` with `evidence` (may be NULL), until valid_to
 *  (Unix seconds; 0: no expiry), for only `field` when it is not NULL. */
typedef struct {
    const char *id, *subject, *controller, *recipient, *purpose, *type, *method, *evidence;
    const char *field;
    int64_t valid_to;
} tc_consent_t;

/*  The ConsentEvent of `kind` (Sluice__V1__ConsentEvent__Kind) for `c`,
 *  packed (malloc()ed, *len bytes; the purposes, types, method, evidence,
 *  expiry and field only when kind is GIVEN). NULL when out of memory. */
uint8_t *tc_consent_pack (const tc_consent_t *c, int kind, size_t *len);

/*  tc_audit_await (timeout_ms) of auth.denied entries for `reason` whose
 *  detail names the fingerprint of `public_key` (Z85): the count. */
long tc_auth_denied_await (tc_broker_t *b, const char *public_key, const char *reason,
                           int timeout_ms);

/*  Offline: verifies the audit chain in DIR/store against the key in
 *  DIR/audit-sign.pub (sl_audit_verify, its report into *rep). Returns
 *  sl_audit_verify's result, or -1 when the key or the store could not be
 *  read (said in rep->message). */
int tc_audit_verify (const char *dir, sl_audit_report_t *rep);

/* ---- reliability and operations suites (tests/reliability, tests/ops) ---- */

/*  Evaluates `cond` every 20 ms until it is true or `ms` (scaled by tc_wait)
 *  have passed. The value: whether it came true (a GNU statement
 *  expression). Example: cr_assert (TC_AWAIT (5000, tc_queue_depth (&B, "power") == 0)). */
#define TC_AWAIT(ms, cond)                                                \
    __extension__ ({                                                      \
        int64_t tc_until_ = tc_ms () + tc_wait (ms);                      \
        int tc_ok_;                                                       \
        while (!(tc_ok_ = !!(cond)) && tc_ms () < tc_until_)              \
            usleep (20000);                                               \
        tc_ok_;                                                           \
    })

/*  Lines of the file at `path` that contain `needle`; 0 when it cannot be
 *  read. */
int tc_file_count (const char *path, const char *needle);

/*  One admin command as `as` (args_json may be NULL): the response code, or
 *  -1 when none came; the response text (or "no response") into text[size]
 *  when text is not NULL. */
int tc_admin_code (tc_broker_t *b, const sl_keypair_t *as, const char *command,
                   const char *args_json, char *text, size_t size);

/*  Takes deliveries: receives DELIVERs (other messages skipped) until
 *  `want` records counted or none comes for quiet_ms (scaled), answering
 *  each DELIVER with one ACK of all its delivery tags (at most 64), not
 *  waiting for the confirmation, and a CREDIT of as many. A record counts
 *  1, or what on_record (arg, record) returns when on_record is not NULL.
 *  The count. */
uint32_t tc_take (tc_client_t *c, uint32_t want, int quiet_ms,
                  int (*on_record) (void *arg, const Sluice__V1__RecordMeta *r), void *arg);

/*  The answers to `n` PUBLISH messages sent without waiting: receives n
 *  answers (DELIVER and NOTICE skipped), each within timeout_ms (scaled).
 *  The number of message ids they acknowledge, or -1 when one is missing
 *  or is an ERROR. */
long tc_acks (tc_client_t *c, int n, int timeout_ms);

/*  One PUBLISH of water reading n (tc_water_reading (subject, 1.0), id
 *  tc_msgid (n)) whose header claims sender `member` and whose record claims
 *  owner `owner` (either may be NULL: not set). The seq, or 0. */
uint64_t tc_publish_claiming (tc_client_t *c, uint32_t n, const char *subject,
                              const char *member, const char *owner);

#endif

/*  sl_consent — the consent registry: citizens' grants, renewals and
 *  withdrawals, stored in LMDB, looked up by the policy engine at decision
 *  and delivery time.
 *
 *  The registry is a library over LMDB transactions it is given. It never
 *  begins, commits or aborts a transaction, never writes audit entries and
 *  keeps no in-memory state mirroring the database (only db handles and
 *  debug counters), so a broker that aborts its group-commit transaction has
 *  nothing to roll back here. docs/CONSENT.md is the contract: the record,
 *  event semantics, statuses, the storage layout to the byte, role rules.
 *
 *  Time is int64 Unix seconds UTC everywhere. A consent is valid at time t
 *  when valid_from <= t < valid_to (valid_to 0 = no expiry) and it was not
 *  withdrawn at or before t: valid_from inclusive, valid_to and the
 *  withdrawal time exclusive ends.
 *
 *  Thread use: an sl_consent_t holds LMDB db handles (valid for the whole
 *  environment) and atomic debug counters, nothing else: threads may share
 *  one, each with its own transaction.
 */
#ifndef SL_CONSENT_H
#define SL_CONSENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>
#include <cjson/cJSON.h>

#include "sluice/v1/consent.pb-c.h"

#define SL_CONSENT_ID_MAX       64      /* bytes of a consent id, without NUL */
#define SL_CONSENT_ERROR_MAX    256     /* size of an error text buffer */
#define SL_CONSENT_FIELDS_MAX   1024    /* size of the decision's field list */

/*  The registry: the handles of the consent.* databases. Opaque. */
typedef struct _sl_consent_t sl_consent_t;

/*  One consent record as loaded from the store (terms, state, and — when
 *  loaded by sl_consent_get — its event history). Opaque; owned by whoever
 *  received it, freed with sl_consent_record_destroy. Independent of any
 *  transaction once returned. */
typedef struct _sl_consent_record_t sl_consent_record_t;

/*  The status of consent for one (subject, controller, recipient, purpose,
 *  record type) at one time. Only VALID permits. The values 0..3 are the
 *  same as those of sl_policy.h's sl_consent_status_t (VALID, MISSING,
 *  EXPIRED, WITHDRAWN), so a status converts to it by a cast; the names
 *  differ so that both headers can be included in one file. */
typedef enum {
    SL_CONSENT_STATUS_VALID = 0,
    SL_CONSENT_STATUS_MISSING = 1,          /* no consent covers the request */
    SL_CONSENT_STATUS_EXPIRED = 2,          /* covering consent(s) ended at valid_to */
    SL_CONSENT_STATUS_WITHDRAWN = 3,        /* covering consent(s) withdrawn */
    SL_CONSENT_STATUS_NOT_YET_VALID = 4,    /* covering consent starts after that time */
} sl_consent_status_code_t;

/*  The channel an event arrived through; the role rule depends on it. */
typedef enum {
    SL_CONSENT_VIA_DATA = 1,    /* data plane: a published sluice.v1.ConsentEvent */
    SL_CONSENT_VIA_ADMIN = 2,   /* admin plane: consent.grant / consent.withdraw / ... */
} sl_consent_via_t;

/*  Who applies an event. All fields are borrowed for the call only. */
typedef struct {
    const char *name;               /* authenticated member / administrator (ZAP User-Id) */
    sl_consent_via_t via;
    const char *const *roles;       /* NULL-terminated list of the actor's roles */
} sl_consent_actor_t;

/*  What sl_consent_apply did, for the caller's audit entry and notices.
 *  Filled on success and on failure (error text). */
typedef struct {
    char consent_id[SL_CONSENT_ID_MAX + 1];   /* the consent the event applied to
                                                 (generated when a grant had none) */
    Sluice__V1__ConsentEvent__Kind kind;      /* GIVEN, RENEWED or WITHDRAWN */
    int64_t effective;                        /* when it took effect (= `now`) */
    bool access_ended;                        /* the event ended access that was valid
                                                 at `now`: notify the recipient and drop
                                                 its queued records now */
    char error[SL_CONSENT_ERROR_MAX];         /* on failure: what was wrong and what
                                                 to do; "" on success */
} sl_consent_result_t;

/*  The answer of sl_consent_check. */
typedef struct {
    sl_consent_status_code_t status;
    char consent_id[SL_CONSENT_ID_MAX + 1];   /* the deciding consent; "" when MISSING */
    int64_t valid_from;                       /* of the deciding consent (0 when MISSING) */
    int64_t valid_to;                         /* 0 = no expiry */
    int64_t withdrawn_at;                     /* 0 = not withdrawn */
    char fields[SL_CONSENT_FIELDS_MAX];       /* VALID: comma-separated fields the consent
                                                 is limited to; "" = not limited (all the
                                                 policy releases) */
    int64_t next_change;                      /* the earliest valid_from or valid_to after
                                                 `at` of a covering consent the check read:
                                                 until then (and until an event changes
                                                 the subject's epoch) the answer holds;
                                                 0 = none ahead */
} sl_consent_decision_t;

/*  The binding sl_consent_check_cb expects as its context pointer. */
typedef struct {
    sl_consent_t *registry;
    MDB_txn *txn;
} sl_consent_binding_t;

/*  Debug counters: LMDB operations the registry performed (mdb_get, and
 *  each cursor positioning or step). Used by tests to prove that a decision
 *  is answered by index lookups, not a scan. */
typedef struct {
    uint64_t gets;              /* mdb_get calls */
    uint64_t cursor_ops;        /* mdb_cursor_get calls (positioning and steps) */
} sl_consent_stats_t;

/*  --- lifecycle --------------------------------------------------------- */

/*  Opens the consent.* databases inside `txn`, creating them if `txn` is a
 *  write transaction. LMDB rule: handles opened in a transaction become
 *  usable in other transactions only after that transaction commits (and
 *  are closed if it aborts), so open once at startup in a write transaction
 *  you commit. Returns the registry, or NULL with *rc_p (if not NULL) set:
 *  SL_ENOTFOUND (read-only txn and the databases were never created),
 *  SL_ESTORE (other LMDB error, e.g. maxdbs too small), SL_ENOMEM. */
sl_consent_t *sl_consent_new (MDB_txn *txn, int *rc_p);

/*  Frees the registry (db handles stay open in the environment, as LMDB
 *  intends). Sets *self_p to NULL; harmless on NULL. Cannot fail. */
void sl_consent_destroy (sl_consent_t **self_p);

/*  --- changing consent -------------------------------------------------- */

/*  Applies one consent event inside the caller's write transaction `txn`:
 *  GIVEN creates a record (consent_id generated when empty), RENEWED changes
 *  the validity window of an existing, not withdrawn record, WITHDRAWN ends
 *  an existing record from `now` on. The event is validated in full (see
 *  CONSENT.md for every rule) and the actor's roles are checked against the
 *  record's controller (sl_consent_role_allows); nothing is written unless
 *  all checks pass. The stored event gets actor = actor->name and
 *  recorded = `now`; the event passed in is not modified (borrowed).
 *  On success returns 0, fills `result` and, if record_p is not NULL,
 *  *record_p = the record after the event (caller owns; for the audit
 *  entry: subject, controller, recipient, purposes).
 *  Errors (result->error says what and where): SL_EINVAL (invalid event),
 *  SL_ENOTFOUND (renew/withdraw of an unknown consent id), SL_EEXIST (grant
 *  of an existing id, withdrawal of a withdrawn consent), SL_EPERM (role
 *  rule), SL_EFULL (LMDB map full), SL_ESTORE, SL_ECORRUPT, SL_ENOMEM.
 *  After SL_EFULL / SL_ESTORE the caller must abort `txn` (LMDB marks it
 *  failed); after the others `txn` is untouched and usable. */
int sl_consent_apply (sl_consent_t *self, MDB_txn *txn,
                      const Sluice__V1__ConsentEvent *event,
                      const sl_consent_actor_t *actor, int64_t now,
                      sl_consent_result_t *result,
                      sl_consent_record_t **record_p);

/*  The role rule, a pure function: may an actor holding `role` apply an
 *  event about a consent whose controller is `controller`, arriving via
 *  `via`? Data plane: only role "consent-source" (for any controller).
 *  Admin plane: "admin:city", or "admin:<controller>". Anything else,
 *  including NULL arguments, is refused. Cannot fail. */
bool sl_consent_role_allows (sl_consent_via_t via, const char *role,
                             const char *controller);

/*  --- deciding ------------------------------------------------------------ */

/*  Decides consent for (subject, controller, recipient, purpose,
 *  record_type) at time `at`, inside `txn` (read or write). A consent covers
 *  the request when subject, controller, recipient match exactly, `purpose`
 *  is one of its purposes, and `record_type` equals one of its record types
 *  or matches a wildcard ("water.v1.*" covers every type whose name starts
 *  with "water.v1."). VALID if any covering consent is valid at `at`;
 *  otherwise, among covering consents, NOT_YET_VALID before WITHDRAWN before
 *  EXPIRED; MISSING if none covers. Cost: one index range lookup plus one
 *  record read per consent of that (subject, controller, recipient,
 *  purpose) — O(log n), no scan. Returns 0 and fills `decision`; SL_EINVAL
 *  for a NULL or empty argument; SL_ESTORE / SL_ECORRUPT on storage errors
 *  (decision->status is then MISSING, so a caller that ignores the error
 *  still denies). */
int sl_consent_check (sl_consent_t *self, MDB_txn *txn,
                      const char *subject, const char *controller,
                      const char *recipient, const char *purpose,
                      const char *record_type, int64_t at,
                      sl_consent_decision_t *decision);

/*  sl_consent_check with a void * context, for use as the policy engine's
 *  consent callback: `binding` is an sl_consent_binding_t * (registry and
 *  the transaction of the current decision). Same results. */
int sl_consent_check_cb (void *binding, const char *subject,
                         const char *controller, const char *recipient,
                         const char *purpose, const char *record_type,
                         int64_t at, sl_consent_decision_t *decision);

/*  The policy engine's consent callback shape (sl_policy.h
 *  sl_policy_consent_fn): `binding` is an sl_consent_binding_t *; returns
 *  the status only. A storage error counts as MISSING (deny) and is logged
 *  (event consent.check.error). The broker adapts it with a cast:
 *
 *      static sl_consent_status_t
 *      s_consent (void *b, const char *s, const char *o, const char *c,
 *                 const char *p, const char *t, int64_t at)
 *      {
 *          return (sl_consent_status_t) sl_consent_status (b, s, o, c, p, t, at);
 *      }
 *
 *  Thread-safe as long as each thread passes its own read transaction. */
sl_consent_status_code_t sl_consent_status (void *binding, const char *subject,
                                            const char *controller,
                                            const char *recipient,
                                            const char *purpose,
                                            const char *record_type, int64_t at);

/*  The subject's consent epoch: a counter that every consent event applied
 *  to one of its consents (grant, renewal, withdrawal) raises, in memory, at
 *  sl_consent_apply (an aborted transaction leaves it raised: it can only
 *  say "changed" too often, never too rarely). Subjects are spread over
 *  1024 slots, so another subject's change may raise it as well. A decision
 *  taken at epoch E still holds while the epoch is E and the time is before
 *  its next_change. Starts at 0 with each process. Cannot fail. */
uint64_t sl_consent_epoch (sl_consent_t *self, const char *subject);

/*  The slot of `subject` (0..1023), and the epoch of a slot: so a holder of
 *  the slot can ask without the subject. Cannot fail. */
uint32_t sl_consent_epoch_slot (const char *subject);
uint64_t sl_consent_epoch_at (sl_consent_t *self, uint32_t slot);

/*  The reason code of a status, as used in denies, `policy explain` and
 *  the audit log: "consent-valid", "consent-missing", "consent-expired",
 *  "consent-withdrawn", "consent-not-yet-valid". Static string; cannot fail. */
const char *sl_consent_status_reason (sl_consent_status_code_t status);

/*  True if the decision allows releasing `field` (its field list is empty
 *  or names the field). False when status is not VALID. Cannot fail. */
bool sl_consent_decision_allows_field (const sl_consent_decision_t *decision,
                                       const char *field);

/*  --- reading --------------------------------------------------------------- */

/*  Loads the record with id `consent_id` and its full event history.
 *  Returns 0 and *record_p (caller owns); SL_ENOTFOUND; SL_EINVAL;
 *  SL_ECORRUPT / SL_ESTORE / SL_ENOMEM. */
int sl_consent_get (sl_consent_t *self, MDB_txn *txn, const char *consent_id,
                    sl_consent_record_t **record_p);

/*  Visitor for listings. `record` is borrowed for the call only (no event
 *  history loaded). Return 0 to go on, non-zero to stop: that value is then
 *  returned by the listing function. */
typedef int (sl_consent_each_fn) (const sl_consent_record_t *record, void *arg);

/*  Calls `fn` for each consent of `subject` (withdrawn and expired ones
 *  included), ordered by controller, recipient, first purpose, id. Returns
 *  0, fn's non-zero value, SL_EINVAL, or a storage error. */
int sl_consent_list_subject (sl_consent_t *self, MDB_txn *txn,
                             const char *subject,
                             sl_consent_each_fn *fn, void *arg);

/*  Visitor for ended consents: `why` is SL_CONSENT_STATUS_EXPIRED or
 *  SL_CONSENT_STATUS_WITHDRAWN, `ended_at` the time access ended. */
typedef int (sl_consent_ended_fn) (const sl_consent_record_t *record,
                                   sl_consent_status_code_t why, int64_t ended_at,
                                   void *arg);

/*  Calls `fn` for each consent whose access ended (valid_to reached, or
 *  withdrawn) at a time in [from, to), in order of that time: the broker
 *  calls it with consecutive windows to notify recipients and drop queued
 *  records. A consent withdrawn before its valid_to is reported once, as
 *  WITHDRAWN at the withdrawal time; a renewal moves its end. Returns 0,
 *  fn's non-zero value, SL_EINVAL (from > to), or a storage error. */
int sl_consent_each_ended (sl_consent_t *self, MDB_txn *txn,
                           int64_t from, int64_t to,
                           sl_consent_ended_fn *fn, void *arg);

/*  --- records ------------------------------------------------------------ */

/*  Accessors. Strings are owned by the record; counts and indexes are
 *  bounded by the matching *_count. Cannot fail. */
const char *sl_consent_record_id (const sl_consent_record_t *record);
const char *sl_consent_record_subject (const sl_consent_record_t *record);
const char *sl_consent_record_controller (const sl_consent_record_t *record);
const char *sl_consent_record_recipient (const sl_consent_record_t *record);
size_t sl_consent_record_purpose_count (const sl_consent_record_t *record);
const char *sl_consent_record_purpose (const sl_consent_record_t *record, size_t i);
size_t sl_consent_record_type_count (const sl_consent_record_t *record);
const char *sl_consent_record_type (const sl_consent_record_t *record, size_t i);
size_t sl_consent_record_field_count (const sl_consent_record_t *record);
const char *sl_consent_record_field (const sl_consent_record_t *record, size_t i);
int64_t sl_consent_record_valid_from (const sl_consent_record_t *record);
int64_t sl_consent_record_valid_to (const sl_consent_record_t *record);      /* 0 = none */
int64_t sl_consent_record_withdrawn_at (const sl_consent_record_t *record);  /* 0 = not */
const char *sl_consent_record_collection_method (const sl_consent_record_t *record);
const char *sl_consent_record_evidence (const sl_consent_record_t *record);
const char *sl_consent_record_jurisdiction (const sl_consent_record_t *record);

/*  Status of the record on its own at time `at` (VALID, EXPIRED, WITHDRAWN
 *  or NOT_YET_VALID). Cannot fail. */
sl_consent_status_code_t sl_consent_record_status (const sl_consent_record_t *record,
                                              int64_t at);

/*  True if the record's scope covers `purpose` and `record_type` (one of its
 *  purposes; an exact or wildcard record type), whatever its status: lets
 *  the broker pick the queued records an ended consent concerned. Subject,
 *  controller and recipient are the record's own. Cannot fail. */
bool sl_consent_record_covers (const sl_consent_record_t *record,
                               const char *purpose, const char *record_type);

/*  Number of events in the record's history (0 unless loaded by
 *  sl_consent_get) and the i-th, oldest first; borrowed from the record. */
size_t sl_consent_record_event_count (const sl_consent_record_t *record);
const Sluice__V1__ConsentEvent *sl_consent_record_event (const sl_consent_record_t *record,
                                                         size_t i);

/*  The record as JSON (for `sluicectl consent show --json`), with its
 *  status and reason at time `at` and its history if loaded. Returns a new
 *  cJSON object the caller frees with cJSON_Delete, or NULL (out of memory). */
cJSON *sl_consent_record_json (const sl_consent_record_t *record, int64_t at);

/*  All consents of `subject` as a JSON array of records (no history), for
 *  `sluicectl consent list --subject ID --json`. Returns a new array, or
 *  NULL with *rc_p set (SL_EINVAL, SL_ENOMEM, storage errors). */
cJSON *sl_consent_list_json (sl_consent_t *self, MDB_txn *txn,
                             const char *subject, int64_t at, int *rc_p);

/*  Frees a record; sets *record_p to NULL; harmless on NULL. */
void sl_consent_record_destroy (sl_consent_record_t **record_p);

/*  --- events from JSON (admin plane, sluicectl) --------------------------- */

/*  Builds a ConsentEvent from admin-plane JSON args:
 *  {"kind":"given"|"renewed"|"withdrawn", "consent_id", "subject",
 *   "controller", "recipient", "purposes":[..] (or "purpose":"x"),
 *   "record_types":[..], "fields":[..], "valid_from", "valid_to", "time",
 *   "collection_method", "evidence", "jurisdiction"}; times are integers
 *  (Unix seconds) or strings "YYYY-MM-DD" / "YYYY-MM-DDTHH:MM:SSZ" (UTC).
 *  Only the shape is checked here; sl_consent_apply validates the content.
 *  Returns 0 and *event_p (caller frees with sl_consent_event_destroy), or
 *  SL_EPARSE with a message naming the member in `error` (size
 *  `error_size`), or SL_ENOMEM. */
int sl_consent_event_from_json (const cJSON *json,
                                Sluice__V1__ConsentEvent **event_p,
                                char *error, size_t error_size);

/*  Frees an event made by sl_consent_event_from_json; sets *event_p to
 *  NULL; harmless on NULL. */
void sl_consent_event_destroy (Sluice__V1__ConsentEvent **event_p);

/*  The event as JSON (history entries, audit details). New object or NULL. */
cJSON *sl_consent_event_json (const Sluice__V1__ConsentEvent *event);

/*  Consent records by state as `txn` sees them at `now` (Unix seconds):
 *  *expired and *withdrawn are the records whose access ended by then for
 *  that reason (consent.ends), *active the others. For the metrics sampler,
 *  which must not know the layout. Returns 0 or SL_ESTORE. */
int sl_consent_count_states (sl_consent_t *self, MDB_txn *txn, int64_t now, uint64_t *active,
                             uint64_t *expired, uint64_t *withdrawn);

/*  --- debug counters --------------------------------------------------------- */

/*  Copies the counters into *stats; sl_consent_stats_reset zeroes them.
 *  Cannot fail. */
void sl_consent_stats (sl_consent_t *self, sl_consent_stats_t *stats);
void sl_consent_stats_reset (sl_consent_t *self);

#endif

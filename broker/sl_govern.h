/*  sl_govern — the broker's governance: policy decisions, consent and the
 *  audit log wired into sluiced.
 *
 *  One sl_govern_t per broker, created by sl_broker_new(). It owns
 *
 *    - the audit log (sl_audit, keys in the data directory), recording every
 *      sl_event inside the batch transaction and signing checkpoints every
 *      N entries / T seconds and at clean shutdown;
 *    - the consent registry (sl_consent), fed by admin commands and by the
 *      data-plane channel (PUBLISH of sluice.v1.ConsentEvent by a member with
 *      role consent-source);
 *    - the policy store (sl_policy_store): versions in LMDB, the compiled
 *      index in force;
 *    - the decision function (sl_decide_fn): sl_policy_decide on the index
 *      in force, consent looked up in the decision's transaction, transforms
 *      with per-consumer pseudonym keys derived from DIR/pseudonym.key.
 *
 *  Admin command files reach these through sl_broker_audit(),
 *  sl_broker_consent() and sl_broker_policy() (sl_broker.h).
 *
 *  It knows nothing of the broker: it is built from its neighbours (store,
 *  batch, commit pipeline, registry) and two hooks the broker installs
 *  (sl_govern_wiring_t), and the broker installs sl_govern_decide and
 *  sl_govern_record on itself. Its writes into the batch (consent events,
 *  checkpoints) are typed writes of the commit pipeline (sl_commit_admin.h);
 *  it never takes the batch's write transaction itself.
 */
#ifndef SL_GOVERN_H
#define SL_GOVERN_H

#include <stddef.h>
#include <stdint.h>

#include "sl_audit.h"
#include "sl_consent.h"
#include "sl_decide.h"
#include "sl_disclose.h"
#include "sl_event.h"
#include "sl_policy_store.h"

#define SL_PSEUDONYM_KEY_FILE "pseudonym.key"   /* 32 random bytes, mode 0600 */

typedef struct sl_govern_t sl_govern_t;
#include "sl_batch.h"
#include "sl_commit.h"
#include "sl_registry.h"
#include "sl_store.h"

/*  What governance reaches outside itself, all borrowed for its life. */
typedef struct {
    sl_store_t *store;
    sl_batch_t *batch;           /* for its listeners only */
    sl_commit_t *commit;         /* every write into the batch (sl_commit_admin.h) */
    sl_registry_t *registry;
    /*  Records `ev` in the batch (with the recorder governance itself
     *  provides); a failure aborts the batch. Returns 0 or an error. */
    int (*event) (void *ctx, const sl_event_t *ev);
    /*  Sends NOTICE `kind` with n key/value arguments to the member's
     *  current data session. Returns 1 if sent, 0 if the member has none. */
    int (*notice) (void *ctx, const char *member, const char *kind,
                   const char *const *keys, const char *const *vals, size_t n);
    void *ctx;
} sl_govern_wiring_t;

typedef struct {
    uint64_t checkpoint_every;        /* audit entries between checkpoints (0 = off) */
    unsigned checkpoint_interval_ms;  /* ... or this long with new entries (0 = off) */
    unsigned consent_scan_ms;         /* how often expired consents are looked for */
} sl_govern_config_t;

/*  Creates the keys `sluiced init` makes besides broker.key: the audit keys
 *  (sl_audit_keygen) and DIR/pseudonym.key. Returns 0, SL_EEXIST (a key file
 *  exists; nothing more is written) or SL_EIO, with `err` naming the file. */
int sl_govern_init_keys (const char *dir, char *err, size_t errlen);

/*  Opens the audit log, the consent registry and the policy store in the
 *  broker's environment (one write transaction of its own, committed, before
 *  the broker's batch starts), loads the policies in force, and registers
 *  its batch listeners on w->batch. The caller installs sl_govern_decide
 *  and sl_govern_record where it decides and records. Returns NULL with `err` saying why (missing or unsafe key file,
 *  a stored policy that no longer checks, LMDB error). */
sl_govern_t *sl_govern_new (const sl_govern_wiring_t *w, const char *data_dir,
                            const sl_govern_config_t *cfg, char *err, size_t errlen);

/*  Frees everything (the caller has written broker.stop and committed the
 *  final checkpoint with sl_govern_shutdown). Harmless on NULL. */
void sl_govern_destroy (sl_govern_t **self_p);

/*  Accessors, borrowed for the life of the broker. */
sl_audit_t *sl_govern_audit (sl_govern_t *self);
sl_consent_t *sl_govern_consent (sl_govern_t *self);
sl_policy_store_t *sl_govern_policy (sl_govern_t *self);

/*  The schema registry's store (record types in LMDB). Borrowed. */
typedef struct sl_schema_store_t sl_schema_store_t;
sl_schema_store_t *sl_govern_schemas (sl_govern_t *self);

/*  Stored record types that did not build at start ("type: reason\n"
 *  lines; "" when none). Borrowed. */
const char *sl_govern_schemas_skipped (sl_govern_t *self);

/*  Writes, in the batch transaction, the audit entries of what start set
 *  aside (never brick): policy.set-aside per owner, schema.skipped. The
 *  caller commits. Cannot fail (a failed write aborts the batch). */
void sl_govern_report_start (sl_govern_t *self);

/*  The decision function (ctx = sl_govern_t *). See sl_decide.h. */
sl_decide_fn sl_govern_decide;

/*  The event recorder (ctx = sl_govern_t *): one audit entry per event, in
 *  `txn`. See sl_event.h. */
sl_event_fn sl_govern_record;

/*  Periodic work from the broker loop: a checkpoint when due (written in the
 *  batch transaction), ended consents (expiry) turned into notices. Returns
 *  the milliseconds until it wants to run again. Cannot fail (errors are
 *  logged; the batch is aborted if a write failed). */
long sl_govern_tick (sl_govern_t *self, int64_t now_ms);

/*  Writes a checkpoint over the current head in the batch transaction (clean
 *  shutdown; the caller commits). Returns 0 or an SL_E* code. */
int sl_govern_checkpoint (sl_govern_t *self);

/*  The consent data-plane channel: applies one published
 *  sluice.v1.ConsentEvent body from `member` in the batch transaction and
 *  writes its audit entry (consent.grant / consent.renew / consent.withdraw).
 *  `err` gets the reason for a person on failure. Returns 0; SL_EPERM (the
 *  member is not a consent-source); SL_EDECODE; SL_EINVAL, SL_ENOTFOUND,
 *  SL_EEXIST (the event does not apply); SL_EFULL / SL_ESTORE (the caller
 *  aborts the batch). When the event ended access, the consumers concerned
 *  get NOTICE consent-withdrawn after the commit. */
int sl_govern_consent_event (sl_govern_t *self, const char *member, const char *role,
                             const uint8_t *body, size_t len,
                             char *err, size_t errlen);

/*  The bound of a permit decided now about raw `subject` (sl_disclose.h
 *  design note 3): the policy generation, the subject's consent epoch slot
 *  and epoch, `until_s` from the decision, and the subject's audit
 *  pseudonym (none for an empty subject). Cannot fail. */
void sl_govern_bound (sl_govern_t *self, const char *subject, int64_t until_s,
                      sl_disclose_bound_t *out);

/*  True (1) when a permit with bound `b` still holds at `now_ms`: no policy
 *  put in force and no consent event in the subject's epoch slot since, and
 *  the time before b->until_s; then asking again would give the same
 *  answer. 0 otherwise. Cannot fail. */
int sl_govern_bound_holds (sl_govern_t *self, const sl_disclose_bound_t *b, int64_t now_ms);

/*  The raw subject of a queued record is kept only sealed (secretbox with a
 *  key derived from the pseudonym secret), so delivery-time consent checks
 *  see it while the store never holds it in clear. Seal: writes
 *  nonce|box into out (cap bytes), *len its size; SL_ETOOBIG if cap is too
 *  small. Open: the subject into out (size bytes, NUL-terminated);
 *  SL_ECORRUPT if it does not authenticate, SL_ETOOBIG. */
int sl_govern_seal_subject (sl_govern_t *self, const char *subject, uint8_t *out,
                            size_t cap, size_t *len);
int sl_govern_open_subject (sl_govern_t *self, const uint8_t *sealed, size_t len,
                            char *out, size_t size);

#endif

/*  sl_admin_policy — the admin commands that read and manage policy
 *  versions: policy.list, policy.show, policy.history, policy.diff,
 *  policy.rollback and policy.explain (docs/PROTOCOL.md 6.3), and the
 *  rendering of a dry run that policy.apply returns.
 *
 *  Everything here goes through the policy store (sl_policy_store.h): the
 *  store owns the versions and the index in force; these commands only read
 *  it, or (rollback) ask it for a new version in the batch transaction.
 */
#ifndef SL_ADMIN_POLICY_H
#define SL_ADMIN_POLICY_H

#include <lmdb.h>
#include <stdint.h>
#include <cJSON.h>

#include "sl_admin.h"
#include "sl_policy.h"

/*  The command group, registered by the broker at start-up. */
extern const sl_admin_command_t sl_admin_policy_commands[];
extern const size_t sl_admin_policy_count;

/*  Describes what replacing the index `before` (may be NULL: nothing in
 *  force) by `after` changes at time `at` (Unix seconds UTC), into the JSON
 *  object `result`:
 *
 *    "access":        [change...] every (consumer, record type, purpose)
 *                     whose access or released copy differs
 *                     (sl_policy_diff), sorted;
 *    "access_text":   the same as text (sl_policy_diff_render);
 *    "widens", "widening_text": how many of the changes widen what leaves,
 *                     and those lines (sl_admin_policy_widening);
 *    "subscriptions": [change...] those changes that hit a stored
 *                     subscription (broker.subs): who would gain or lose
 *                     access, or get different fields, right away;
 *
 *  where a change is {"consumer","record_type","purpose","before","after"
 *  ("none"|"conditional"|"full"),"fields_added":[..],"fields_removed":[..],
 *  "subject_before","subject_after","time_before","time_after"}.
 *  Both indexes are borrowed for the call. Returns 0 or SL_ENOMEM. */
int sl_admin_policy_dry_run (const sl_admin_ctx_t *ctx, const sl_policy_index_t *before,
                             const sl_policy_index_t *after, int64_t at, cJSON *result);

/*  (sl_admin_policy_lint.c) Lints `text` (`len` bytes, named `file`, to be
 *  applied as `owner`'s policy) together with every other owner's current
 *  policy read in `txn` and the broker's live subscriptions, at time `now`
 *  (Unix seconds); warnings located in `text` go to `warnings`
 *  (sl_policy_lint.h). Returns the number of warnings, or SL_ENOMEM /
 *  SL_ESTORE. */
int sl_admin_policy_lint (const sl_admin_ctx_t *ctx, MDB_txn *txn, const char *owner,
                          const char *file, const char *text, size_t len, int64_t now,
                          sl_policy_diags_t *warnings);

/*  (sl_admin_policy_lint.c) Parses every owner's current policy except
 *  `skip_owner` (may be NULL) into `set`, city first then bureaus by name,
 *  as the store does; texts that no longer parse contribute what parses.
 *  Returns 0, SL_ENOMEM, SL_ESTORE. */
int sl_admin_policy_current_set (const sl_admin_ctx_t *ctx, MDB_txn *txn, const char *skip_owner,
                                 sl_policy_set_t *set);

/*  (sl_admin_policy_draft.c) The optional inputs of policy.explain:
 *  args "sample" (a JSON object: a record of `schema`'s type whose row
 *  conditions are then evaluated, sl_policy_sample.h) into *sample_p, and
 *  args "draft" (policy text, named args "draft_file", as args
 *  "draft_owner"'s policy, default the caller's bureau) compiled with every
 *  other owner's current policy into *draft_p, which explain then uses in
 *  place of the index in force. Both NULL when not asked for; the caller
 *  frees them (sl_policy_sample_destroy, sl_policy_index_destroy). Returns 0,
 *  or a sluice.v1.ErrorCode with call's text set (a sample that does not
 *  fit the record type; a draft with errors, all of them listed). */
int sl_admin_policy_explain_inputs (sl_admin_call_t *call, MDB_txn *txn,
                                    const sl_schema_t *schema, sl_policy_index_t **draft_p,
                                    ProtobufCMessage **sample_p);

/*  (sl_admin_policy_lint.c) For the city's text: the purposes it declares
 *  that the city's policy in force does not ("purposes_added") and the
 *  other way round ("purposes_removed"), added to `result` as arrays of
 *  names; nothing for a bureau's text. Returns 0 or SL_ENOMEM. */
int sl_admin_policy_purpose_changes (const sl_admin_ctx_t *ctx, MDB_txn *txn, const char *owner,
                                     const char *text, size_t len, cJSON *result);

/*  (sl_admin_policy_lint.c) The changes of `d` that widen what leaves:
 *  access gained or made unconditional, fields added, the subject less
 *  protected (drop > pseudonymize > keep), times less coarse. One line per
 *  (consumer, record type, purpose), e.g.
 *      power water.v1.MeterReading joint-metering: fields +id; subject pseudonymize -> keep
 *  into *text_p (malloc'ed, "" when none) and their number into *count.
 *  Returns 0 or SL_ENOMEM. */
int sl_admin_policy_widening (const sl_policy_diff_t *d, char **text_p, size_t *count);

#endif

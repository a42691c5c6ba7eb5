/*  sl_admin_policy_int — private to the policy command files
 *  (sl_admin_policy.c, sl_admin_policy_change.c, sl_admin_explain.c): the
 *  arguments, store access and JSON they share. Defined in
 *  sl_admin_policy.c. Each argument getter sets call->text when it refuses.
 */
#ifndef SL_ADMIN_POLICY_INT_H
#define SL_ADMIN_POLICY_INT_H

#include <lmdb.h>
#include <stdint.h>
#include <cJSON.h>

#include "sl_admin.h"
#include "sl_policy.h"

#define S_BAD      SLUICE__V1__ERROR_CODE__BAD_REQUEST
#define S_NOTFOUND SLUICE__V1__ERROR_CODE__NOT_FOUND
#define S_INTERNAL SLUICE__V1__ERROR_CODE__INTERNAL
#define S_DENIED   SLUICE__V1__ERROR_CODE__NOT_PERMITTED

/*  A string argument; NULL (and call->text set, *bad = 1) when missing and
 *  required, or when present but not a non-empty string; NULL alone when
 *  absent and optional. */
const char *sl_admin_policy_arg_str (sl_admin_call_t *call, const char *name, int required,
                                     int *bad);
/*  A version argument: a JSON number or a string of digits, 0..2^32-1.
 *  Returns 0 (absent and optional: *out untouched) or -1. */
int sl_admin_policy_arg_version (sl_admin_call_t *call, const char *name, int required,
                                 uint32_t *out);
/*  The "owner" argument: "city" or a bureau that owns record types; NULL
 *  with *bad = 1 otherwise. */
const char *sl_admin_policy_arg_owner (sl_admin_call_t *call, int *bad);
/*  The "owner" and "version" arguments (policy.show, policy.rollback): the
 *  owner, with *version set (untouched when absent and not `required`);
 *  NULL with call->text set when either is missing or bad. */
const char *sl_admin_policy_arg_owner_version (sl_admin_call_t *call, int required,
                                              uint32_t *version);
/*  The "at" argument: Unix seconds or a TIME string (sl_time.h); now if
 *  absent. Returns 0 or -1. */
int sl_admin_policy_arg_at (sl_admin_call_t *call, int64_t *at);
/*  May the caller read `owner`'s policy texts? Returns 0 with *txn a read
 *  transaction (the caller aborts it), or S_BAD (owner NULL: its argument
 *  was bad, call->text says why), S_DENIED or S_INTERNAL. */
int sl_admin_policy_read_scope (sl_admin_call_t *call, const char *owner, MDB_txn **txn);
/*  A read transaction on the store. Returns 0 or -1 ("policy store
 *  unavailable"). */
int sl_admin_policy_read_txn (sl_admin_call_t *call, MDB_txn **txn);
/*  The ErrorCode and text for a policy store failure `rc` of command
 *  `what` on (`owner`, version `v`; 0 = current). */
int sl_admin_policy_store_code (sl_admin_call_t *call, int rc, const char *what,
                                const char *owner, uint32_t v);
/*  Adds "access" (changes as JSON) and "access_text" for `d` to `result`.
 *  Returns 0 or SL_ENOMEM. */
int sl_admin_policy_add_diff (cJSON *result, const sl_policy_diff_t *d);
/*  Names used in JSON: "keep"/"pseudonymize"/"drop"; "none"/"hour"/... */
const char *sl_admin_policy_subject_name (sl_policy_subject_t s);
const char *sl_admin_policy_coarsen_name (sl_policy_coarsen_t c);

/*  The commands defined outside sl_admin_policy.c. */
int sl_admin_policy_cmd_diff (sl_admin_call_t *call);       /* sl_admin_policy_change.c */
int sl_admin_policy_cmd_rollback (sl_admin_call_t *call);   /* sl_admin_policy_change.c */
int sl_admin_policy_cmd_explain (sl_admin_call_t *call);    /* sl_admin_explain.c */

#endif

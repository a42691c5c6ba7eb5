/*  sl_policy_lint — warnings about policies that check clean but do not
 *  mean what their author probably meant (docs/POLICY.md 8.2).
 *
 *  The checker (sl_policy_set_check) answers "can this be applied?"; the
 *  lints answer "should it?": permits that have no effect or overlap,
 *  windows that have ended or not begun, forbids that cancel the owner's own
 *  permits, purposes nobody subscribes to, every field with the raw citizen
 *  id, and row conditions that can never hold. Each lint is one warning at
 *  FILE:LINE:COL with a note saying what to do; `sluicectl policy check
 *  --strict` and `policy apply --strict` treat warnings as errors.
 *
 *  Like the rest of the policy library this does no I/O: the caller passes
 *  the time and, when it knows them, the live subscriptions.
 */
#ifndef SL_POLICY_LINT_H
#define SL_POLICY_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_policy.h"

/*  One subscription (consumer, record type, purpose). Borrowed. */
typedef struct {
    const char *consumer;
    const char *record_type;
    const char *purpose;
} sl_policy_lint_sub_t;

typedef struct {
    int64_t now;                       /* Unix seconds UTC: for the validity lints */
    /*  The subscriptions the broker holds. When subs_known is false the
     *  "no consumer subscribes" lint is skipped (offline check without a
     *  data directory). */
    bool subs_known;
    const sl_policy_lint_sub_t *subs;
    size_t n_subs;
    /*  Report only on rules parsed from these file names (n_only_files 0:
     *  every rule). The broker and `check --data` lint the whole set but
     *  report on the texts being checked or applied. */
    const char *const *only_files;
    size_t n_only_files;
} sl_policy_lint_opts_t;

/*  Appends one warning per finding to `warnings` (a diags list, rendered
 *  with sl_policy_diags_render_as (warnings, "warning")). The set need not
 *  have passed sl_policy_set_check: names the registry does not know are
 *  simply ignored here (the checker reports them). Pairs of permits come
 *  first, then the other lints rule by rule. Returns the number of warnings added (>= 0) or SL_ENOMEM. */
int sl_policy_set_lint (const sl_policy_set_t *set, const sl_policy_lint_opts_t *opts,
                        sl_policy_diags_t *warnings);


#endif

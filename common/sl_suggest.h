/*  sl_suggest — "did you mean" for names a person typed (audit filters,
 *  command arguments): the closest known name by edit distance, at most 1
 *  edit for names up to 3 characters, 2 up to 8, 3 beyond (the thresholds
 *  of the policy checker, docs/POLICY.md 8). */
#ifndef SL_SUGGEST_H
#define SL_SUGGEST_H

#include <stddef.h>

/*  The closest of cands[0..n) to `name` within the threshold, or NULL
 *  (also when `name` is one of them). Borrowed from cands. Cannot fail. */
const char *sl_suggest (const char *name, const char *const *cands, size_t n);

/*  True if `name` is one of cands[0..n). Cannot fail. */
int sl_suggest_known (const char *name, const char *const *cands, size_t n);

#endif

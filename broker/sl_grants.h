/*  sl_grants — the bootstrap decision function: an explicit grant list.
 *
 *  Until the policy engine is plugged in, the broker permits exactly what the
 *  operator (or a test) lists with `--grant CONSUMER:RECORD_TYPE:PURPOSE` or
 *  INI `[grants] grant = ...`, and denies everything else (reason "no-grant").
 *  A grant names one consumer, one record type and one purpose; there are no
 *  wildcards. Permitted records pass untransformed; the deciding rule is
 *  "grant:CONSUMER:RECORD_TYPE:PURPOSE@0".
 */
#ifndef SL_GRANTS_H
#define SL_GRANTS_H

#include <stddef.h>

#include "sl_decide.h"

typedef struct sl_grants_t sl_grants_t;

sl_grants_t *sl_grants_new (void);
void sl_grants_destroy (sl_grants_t **self_p);

/*  Adds "CONSUMER:RECORD_TYPE:PURPOSE". The record type must be in the schema
 *  registry, the consumer a valid member name, the purpose a purpose word.
 *  Returns 0, SL_EINVAL (with `err` saying what is wrong) or SL_ENOMEM. */
int sl_grants_add (sl_grants_t *self, const char *spec, char *err, size_t errlen);

/*  Number of grants. */
size_t sl_grants_count (sl_grants_t *self);

/*  The decision function (ctx = sl_grants_t *). Cannot fail. */
sl_decide_fn sl_grants_decide;

#endif

/*  sl_schema_evolve — the evolution rules between two versions of a record
 *  type (docs/SCHEMAS.md, "Evolution rules").
 *
 *  Allowed: adding fields (new numbers) and adding enum values. Breaking,
 *  each with its rule name:
 *
 *    removed       a field number of the old version is gone
 *    renamed       a field number keeps its place under another name
 *    renumbered    a field name moved to another number
 *    type          a field's type (or message / enum type) changed
 *    label         singular <-> repeated, or presence (optional) changed
 *    options       the record's subject, a field's time flag or its data
 *                  classes changed
 *    enum-value    an enum value was removed or renumbered
 *
 *  Nested message types reached by a field are compared the same way; a
 *  field in them is named by its path ("segments.amount").
 */
#ifndef SL_SCHEMA_EVOLVE_H
#define SL_SCHEMA_EVOLVE_H

#include <stddef.h>

#include "sl_schema.h"

/*  Compares `next` against `prev` (same record type). Returns the number
 *  of breaking changes (0: `next` may replace `prev`), or SL_ENOMEM. When
 *  `report` is not NULL it gets a malloc()ed text, one line per change,
 *  breaking ones first ("breaking: field 'x' (5): removed: ...") and then
 *  the allowed ones ("added: field 'y' (11)"); the caller frees it. */
int sl_schema_evolve (const sl_schema_t *prev, const sl_schema_t *next, char **report);

/*  sl_schema_evolve, and the top-level fields the breaking changes touch
 *  (a nested field counts as the record field that holds it; a subject
 *  change touches both subject fields) written to `touched` as
 *  ",name,name," ("" when none; `size` bytes, truncated to fit). */
int sl_schema_evolve_touched (const sl_schema_t *prev, const sl_schema_t *next, char **report,
                              char *touched, size_t size);

#endif

/*  sl_explain — what a parser read from where, for an adapter's --explain.
 *
 *  A parser given an sl_explain_t notes, for each record field it sets,
 *  where in the input the value came from and the value it read, or that
 *  the input did not have it and what it did instead (default, derived,
 *  left absent). The adapter prints the notes after each record, so an
 *  operator sees the mapping applied to their own data. Every function is a
 *  no-op on a NULL sink, so parsers call them unconditionally.
 */
#ifndef SL_EXPLAIN_H
#define SL_EXPLAIN_H

#include <stddef.h>

typedef struct _sl_explain_t sl_explain_t;

/*  An empty sink, or NULL on out of memory. */
sl_explain_t *sl_explain_new (void);

/*  Frees; sets *self_p to NULL. Harmless on NULL. */
void sl_explain_destroy (sl_explain_t **self_p);

/*  Notes that record field `field` was read from `from` (e.g. "column 3
 *  'total_m3'", "register 1-0:1.8.1", "PID-3 repetition 2") as the text
 *  formatted by fmt. Out of memory loses the note silently (it is advice). */
void sl_explain_add (sl_explain_t *self, const char *field, const char *from,
                     const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));

/*  Adds a free line (what kind of input this is, which options applied). */
void sl_explain_note (sl_explain_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  The notes so far, "" when none. Valid until the next call on self. */
const char *sl_explain_text (const sl_explain_t *self);

/*  The fields a record leaves empty: copies the `n` names into a new array
 *  *fields (count in *n_fields, a protobuf-c repeated string such as
 *  absent_fields) and notes each as not in `source` ("telegram", "reading"),
 *  left 0/empty. Nothing when n is 0. Returns 0, or SL_ENOMEM (what was
 *  copied stays in *fields for the record's own free). */
int sl_explain_absent (sl_explain_t *self, const char *const *names, size_t n,
                       const char *source, char ***fields, size_t *n_fields);

/*  Forgets the notes. */
void sl_explain_clear (sl_explain_t *self);

#endif

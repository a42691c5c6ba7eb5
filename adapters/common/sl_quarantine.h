/*  sl_quarantine — where rejected input goes, and the counts an adapter shows.
 *
 *  Nothing an adapter reads is dropped silently: a record that does not
 *  parse or does not join is appended to a quarantine file as one JSON line
 *
 *    {"at":1795852800,"source":"meters.csv","record":17,
 *     "reason":"meters.csv:17:9: ...","hint":"...","raw":"..."}
 *
 *  "hint", present when the parser knows one, says what would have accepted
 *  the record: the adapter option or mapping to give, or the fix to make at
 *  the source (docs/ADAPTERS.md lists them per format).
 *  so an operator can see why, fix the source and feed the line back. `raw`
 *  holds the input bytes as a JSON string: printable ASCII as is, JSON's
 *  escapes for '"', '\\' and control characters, and every byte >= 0x80 as
 *  \u00XX, so the exact bytes can be recovered whatever the encoding.
 *  Each line is flushed as it is written. A file this module created and
 *  never wrote to is removed again when it is destroyed.
 */
#ifndef SL_QUARANTINE_H
#define SL_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

typedef struct _sl_quarantine_t sl_quarantine_t;

/*  Opens (creating, appending) the quarantine file at `path`, or keeps only
 *  counters if path is NULL. Returns NULL if the file cannot be opened
 *  (errno tells why) or on out of memory. */
sl_quarantine_t *sl_quarantine_new (const char *path);

/*  Closes the file and frees. Sets *self_p to NULL; harmless on NULL. */
void sl_quarantine_destroy (sl_quarantine_t **self_p);

/*  Records one rejected input: its source (file name or peer), record
 *  number (1-based line, telegram or message number), reason, and raw
 *  bytes (raw may be NULL when rawlen is 0). Counts it. Returns 0, or
 *  SL_EIO if the line could not be written (it is still counted). */
int sl_quarantine_add (sl_quarantine_t *self, const char *source, size_t record,
                       const char *reason, const void *raw, size_t rawlen);

/*  The same with a hint (may be NULL or "": no "hint" member). */
int sl_quarantine_add_hint (sl_quarantine_t *self, const char *source, size_t record,
                            const char *reason, const char *hint, const void *raw,
                            size_t rawlen);

/*  Counts one accepted record. Cannot fail. */
void sl_quarantine_accept (sl_quarantine_t *self);

/*  Counters since creation. Cannot fail. */
uint64_t sl_quarantine_accepted (const sl_quarantine_t *self);
uint64_t sl_quarantine_rejected (const sl_quarantine_t *self);

/*  Appends `s` (len bytes) to `out` as the body of a JSON string (no
 *  quotes), escaped as described above. `out` must have room for 6*len+1
 *  bytes. Returns the number of bytes written, not counting the NUL. */
size_t sl_json_escape (const void *s, size_t len, char *out);

#endif

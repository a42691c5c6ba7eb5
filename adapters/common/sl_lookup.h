/*  sl_lookup — a keyed CSV table that the parsers join records with.
 *
 *  The bureaus keep their own registries: which citizen holds the account
 *  of a water or power meter and in which district it is, which citizen a
 *  licence plate is registered to. They export them as CSV with a header
 *  line; the first column is the key, the others are looked up by header
 *  name ("citizen_id", "district"). Separator ',' or ';', whichever the
 *  header uses first. No quoting: registry values never contain separators.
 *
 *  The table is read once and is immutable afterwards, so lookups need no
 *  lock and returned strings live as long as the registry.
 */
#ifndef SL_LOOKUP_H
#define SL_LOOKUP_H

#include <stddef.h>

typedef struct _sl_lookup_t sl_lookup_t;

/*  Keys are compared as written, or, with SL_LOOKUP_PLATE, after
 *  normalizing licence plates: letters upper-cased, spaces and '-' removed
 *  ("ab-123-c" and "AB 123 C" are the same plate). */
enum { SL_LOOKUP_EXACT = 0, SL_LOOKUP_PLATE = 1 };

/*  Builds a registry from CSV text `buf` (len bytes, need not be
 *  NUL-terminated); `source` names it in errors. Returns the registry or
 *  NULL, with the reason in err ("<source>:<line>: <reason>"): missing
 *  header, a row with the wrong number of columns, an empty or duplicate
 *  key, out of memory. */
sl_lookup_t *sl_lookup_parse (const char *buf, size_t len, const char *source,
                                  int flags, char *err, size_t errlen);

/*  Reads the file at `path` and parses it as above (source = path).
 *  NULL on error, with "<path>: <strerror>" or a parse error in err. */
sl_lookup_t *sl_lookup_load (const char *path, int flags,
                                 char *err, size_t errlen);

/*  Frees the registry and sets *self_p to NULL. Harmless on NULL. */
void sl_lookup_destroy (sl_lookup_t **self_p);

/*  Index of the column named `name` in the header, or -1. */
int sl_lookup_column (const sl_lookup_t *self, const char *name);

/*  The value in `column` of the row whose key is `key` (klen bytes), or NULL
 *  if no row has that key or column is out of range. The string is owned by
 *  the registry and valid until it is destroyed. */
const char *sl_lookup_get (const sl_lookup_t *self, const char *key,
                             size_t klen, int column);

/*  Number of rows (not counting the header). Cannot fail. */
size_t sl_lookup_size (const sl_lookup_t *self);

/*  Writes the normalized form of licence plate `plate` (len bytes) into out
 *  (NUL-terminated, truncated to outlen-1). Returns the length written. */
size_t sl_lookup_normalize_plate (const char *plate, size_t len,
                                    char *out, size_t outlen);

#endif

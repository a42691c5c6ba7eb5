/*  sl_ini — the one reader of INI settings files (sluiced's --config and
 *  sluice-gateway's configuration): opening and parsing with inih, the
 *  "FILE:LINE: what" error, and the plain settings described by a table
 *  (text of bounded length, whole numbers in a range).
 *
 *  Design note:
 *  1. A settings table names, for each plain key, where its value goes in
 *     the caller's settings struct (an offset and a size), its range and
 *     its default, so one loop reads every plain key and one sets the
 *     defaults; keys with their own rules (a choice of words, a URL, a
 *     zone) stay with their module, which tries the table first.
 *  2. Numbers are decimal, without a sign, checked against the range as
 *     written (before any unit shift), and stored in an unsigned or int
 *     field of 4 or 8 bytes.
 */
#ifndef SL_COMMON_INI_H
#define SL_COMMON_INI_H

#include <stddef.h>

/*  One setting of a file: called for each `name = value` of `section`
 *  ("" before any section). Returns 1 to go on, or 0 to stop at this line
 *  after writing why into the buffer the caller gave sl_ini_load. */
typedef int (*sl_ini_handler_fn) (void *user, const char *section, const char *name,
                                  const char *value);

/*  Reads the INI file `path`, calling `handler (user, ...)` for each
 *  setting in order. `why` is the caller's buffer the handler writes its
 *  reason into (read only when the handler stops; empty means a syntax
 *  error). Returns 0; SL_EIO with err "FILE: cannot open: REASON"; or
 *  SL_EPARSE with err "FILE:LINE: why" at the first refused line. */
int sl_ini_load (const char *path, sl_ini_handler_fn handler, void *user, const char *why,
                 char *err, size_t errlen);

typedef enum {
    SL_INI_TEXT,        /* a char array of `size` bytes; length from lo to size - 1 */
    SL_INI_NUMBER,      /* an integer field of `size` (4 or 8) bytes; value from lo to hi */
} sl_ini_kind_t;

/*  A plain setting: its key, kind and where it goes (SL_INI_AT). */
typedef struct {
    const char *key;
    sl_ini_kind_t kind;
    size_t offset, size;
    unsigned long long lo, hi;  /* TEXT: lo is the least length (0 or 1); hi unused */
    unsigned shift;             /* NUMBER: stored = written << shift (MiB -> bytes: 20) */
    const char *def;            /* the default, as a file would write it; NULL: none */
} sl_ini_key_t;

/*  The offset and size of `field` in the settings struct `type`. */
#define SL_INI_AT(type, field) offsetof (type, field), sizeof ((type *) 0)->field

/*  Table rows: `field` of `type` holds text of at least `min` characters,
 *  or a whole number from lo to hi; `def` is its default (or NULL). */
#define SL_INI_TEXT_KEY(key, type, field, min, def) \
    { key, SL_INI_TEXT, SL_INI_AT (type, field), min, 0, 0, def }
#define SL_INI_NUMBER_KEY(key, type, field, lo, hi, def) \
    { key, SL_INI_NUMBER, SL_INI_AT (type, field), lo, hi, 0, def }

/*  Sets `key` = `value` in `settings` (the struct the n entries of `keys`
 *  describe). Returns 0 when set; SL_ENOTFOUND when `key` is not in the
 *  table (err untouched); SL_EINVAL with err "KEY: 'VALUE' is not a whole
 *  number from LO to HI" or "KEY: value must be LO to MAX characters". */
int sl_ini_set (void *settings, const sl_ini_key_t *keys, size_t n, const char *key,
                const char *value, char *err, size_t errlen);

/*  Sets every key of the table that has a default to it (as sl_ini_set
 *  would from a file); the others are left as they are. Cannot fail: a
 *  default its own row refuses is a bug of the table (assert). */
void sl_ini_defaults (void *settings, const sl_ini_key_t *keys, size_t n);

/*  A setting given on the command line or else in the environment:
 *  `value` when it is not NULL, else the variable `name` when it is set
 *  and not empty, else NULL. Used by sluicectl and sluice-console for
 *  SLUICE_DATA, SLUICE_ENDPOINT, SLUICE_KEY and SLUICE_BROKER_KEY. */
const char *sl_ini_env (const char *value, const char *name);

#endif

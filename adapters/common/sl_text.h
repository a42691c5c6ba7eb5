/*  sl_text — small text helpers shared by the bureau parsers. */
#ifndef SL_TEXT_H
#define SL_TEXT_H

#include <stddef.h>

/*  Parses all of s[0..len) as a finite decimal number (strtod syntax, no
 *  surrounding spaces, no hex, no inf/nan). Returns 0 and sets *out, or -1. */
int sl_parse_double (const char *s, size_t len, double *out);

/*  Copies s[0..len) into a new NUL-terminated heap string, or NULL on out of
 *  memory. The caller frees it. */
char *sl_strndup (const char *s, size_t len);

/*  Writes s[0..len) into out for use inside an error message: at most 40
 *  bytes, non-printable bytes as '?', "..." appended when cut. Returns out. */
const char *sl_excerpt (const char *s, size_t len, char *out, size_t outlen);

/*  The value of hex digit c (0-9, A-F, a-f), or -1. */
int sl_hexval (char c);

#endif

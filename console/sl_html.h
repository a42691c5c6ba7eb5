/*  sl_html — a growable text buffer for building HTTP answers: HTML with
    escaping, CSV and JSON text, and the decoding of form fields
    (application/x-www-form-urlencoded) that the console's forms send.

    Errors: running out of memory is sticky — the buffer remembers it, every
    later append is a no-op, and sl_html_failed() says so once the page is
    built, so callers need not check each append.
*/
#ifndef SL_HTML_H
#define SL_HTML_H

#include <stddef.h>

typedef struct sl_html_t sl_html_t;

/*  A new, empty buffer, or NULL when out of memory. */
sl_html_t *sl_html_new (void);

/*  Frees the buffer; sets *self_p to NULL. Harmless on NULL. */
void sl_html_destroy (sl_html_t **self_p);

/*  Appends text as is (no escaping). */
void sl_html_raw (sl_html_t *self, const char *text);

/*  Appends `len` bytes as they are (binary content). */
void sl_html_bytes (sl_html_t *self, const void *data, size_t len);

/*  Appends printf-formatted text as is: only for trusted text (markup,
    numbers). Anything that came from a person or the broker goes through
    sl_html_text / sl_html_printf with %s arguments escaped first. */
void sl_html_printf (sl_html_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

/*  Appends `text` escaped for HTML element content and quoted attribute
    values: & < > " ' become entities. NULL appends nothing. */
void sl_html_text (sl_html_t *self, const char *text);

/*  Appends the first `len` bytes of `text`, escaped as sl_html_text. */
void sl_html_textn (sl_html_t *self, const char *text, size_t len);

/*  Appends one table cell: <td>, `text` escaped (NULL: empty), </td>. */
void sl_html_cell (sl_html_t *self, const char *text);

/*  Appends a labelled text input: <label>LABEL <input name="NAME"
    id="PREFIX-NAME" value="VALUE" placeholder="PLACEHOLDER"></label>, the
    value and placeholder escaped (NULL: empty). `label`, `prefix` and
    `name` are the page's own literals (not escaped). */
void sl_html_input (sl_html_t *self, const char *prefix, const char *label, const char *name,
                    const char *value, const char *placeholder);

/*  Appends `text` percent-encoded for a URL query value (RFC 3986
    unreserved characters kept). */
void sl_html_url (sl_html_t *self, const char *text);

/*  Appends `text` as one CSV field (RFC 4180): quoted when it holds a comma,
    quote, CR or LF, with quotes doubled. A field that starts with = + - @
    gets a leading apostrophe, so a spreadsheet does not run it as a
    formula. */
void sl_html_csv (sl_html_t *self, const char *text);

/*  The text so far (NUL-terminated, owned by the buffer, valid until the
    next append or destroy) and its length. */
const char *sl_html_data (const sl_html_t *self);
size_t sl_html_len (const sl_html_t *self);

/*  Takes the text out of the buffer: a malloc'ed string the caller frees
    (NULL when an append failed); the buffer is empty afterwards. */
char *sl_html_take (sl_html_t *self, size_t *len);

/*  True when an append ran out of memory. */
int sl_html_failed (const sl_html_t *self);

/*  Looks `name` up in a urlencoded body or query string (`a=1&b=x+y`) and
    decodes its value (+ is a space, %XX a byte) into a malloc'ed string
    the caller frees. The first occurrence wins. NULL when absent or out of
    memory. A value holding a NUL byte (%00) counts as absent. */
char *sl_form_get (const char *form, size_t len, const char *name);

#endif

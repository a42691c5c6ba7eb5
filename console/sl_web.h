/*  sl_web — the console's HTTP side: a libmicrohttpd server on loopback
    that admits one browser session and guards it.

    Design notes:

     1. Login. At start the server makes a one-time token (32 random bytes,
        hex). The URL printed on the terminal carries it:
        http://127.0.0.1:PORT/login?token=TOKEN. The first request with the
        right token gets a session cookie and is sent on to "/"; the token
        is spent then, so a URL copied from shell history or a log later
        opens nothing.
     2. Session. The cookie `sluice_console_PORT` (HttpOnly,
        SameSite=Strict, Path=/; named for the port, because browsers share
        cookies between the ports of one host, and two consoles may run
        side by side) holds a second random value; every request but /login and
        /static/ must present it. No cookie, or a wrong one: 401.
     3. Changes. Every POST must carry the form field `csrf` equal to the
        session's CSRF token (a third random value, written into each form),
        compared in constant time, and a urlencoded body; when the browser
        sends Origin, it must be this server's origin. Anything else: 403
        and nothing is done. GET handlers change nothing.
     4. Host. The Host header must name the address the server listens on
        (127.0.0.1:PORT or localhost:PORT): a page on another site cannot
        reach the console by rebinding a DNS name to 127.0.0.1.
     5. Headers on every answer: a Content-Security-Policy that allows
        scripts, styles and images from the console itself only (no inline
        script or style, no framing, forms post only to itself),
        X-Content-Type-Options nosniff, Referrer-Policy same-origin (a
        browser then sends a true Origin with our own form posts, not "null"),
        Cache-Control no-store.
     6. One thread: libmicrohttpd's internal polling thread runs every
        handler, one request at a time, so handlers need no locks.
*/
#ifndef SL_WEB_H
#define SL_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "sl_html.h"

typedef struct sl_web_t sl_web_t;
typedef struct sl_web_req_t sl_web_req_t;

/*  A streamed body: writes up to `max` bytes of the next part into `buf`
    and returns how many (> 0), or 0 at the end. Called from the server's
    thread as the client reads, so a long answer never sits in memory
    whole. */
typedef size_t (sl_web_stream_fn) (void *ctx, char *buf, size_t max);

/*  What a handler answers. `body` is created by the server; the handler
    appends to it. A handler that sets `stream` answers with what `stream`
    writes after `body` (body first); the server calls `stream_free(ctx)`
    when the answer ends or the client goes away. */
typedef struct {
    int status;                   /* 200 unless set */
    const char *content_type;     /* "text/html; charset=utf-8" unless set */
    char location[1024];          /* set with status 303 to redirect */
    char filename[128];           /* set to answer as an attachment */
    sl_html_t *body;
    sl_web_stream_fn *stream;
    void (*stream_free) (void *ctx);
    void *stream_ctx;
} sl_web_resp_t;

/*  Handles one admitted request (session checked, CSRF checked for POST).
    Returns nothing: it fills `resp`. */
typedef void (sl_web_handler_fn) (void *app, sl_web_req_t *req, sl_web_resp_t *resp);

/*  Starts the server on 127.0.0.1:`port` (0: a free port the system picks)
    with `handler` for every admitted request. `app` is passed through.
    Returns the server, or NULL with `err` saying why (port taken, no
    memory). */
sl_web_t *sl_web_new (const char *host, uint16_t port, sl_web_handler_fn *handler, void *app,
                      char *err, size_t errlen);

/*  Stops the server and frees it. Sets *self_p to NULL; harmless on NULL. */
void sl_web_destroy (sl_web_t **self_p);

/*  The port the server listens on. */
uint16_t sl_web_port (const sl_web_t *self);

/*  The login URL with the one-time token (valid for the server's life). */
const char *sl_web_login_url (const sl_web_t *self);

/*  Request accessors. Strings are valid until the handler returns. */
const char *sl_web_method (const sl_web_req_t *req);      /* "GET" or "POST" */
const char *sl_web_path (const sl_web_req_t *req);        /* "/audit" */

/*  A request argument: for GET the query string's, for POST the form
    body's. NULL when absent. An empty value is returned as "". */
const char *sl_web_arg (sl_web_req_t *req, const char *name);

/*  The session's CSRF token, to write into forms as the field `csrf`. */
const char *sl_web_csrf (const sl_web_req_t *req);

/*  Ends the session (logout): its cookie stops working at once. */
void sl_web_end_session (sl_web_req_t *req);

/*  Compares two NUL-terminated secrets in time independent of where they
    differ. True when equal. Exposed for the unit suite. */
int sl_web_secret_eq (const char *a, const char *b);

/*  The value of cookie `name` in a Cookie header (`a=1; b=2`), copied into
    out (size outlen). Returns 0, or -1 when absent or too long. */
int sl_web_cookie (const char *header, const char *name, char *out, size_t outlen);

#endif

/*  sl_web — see sl_web.h. */
#include "sl_web.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <sodium.h>

#define S_SECRET_HEX  65          /* 32 random bytes as hex, and the NUL */
#define S_BODY_MAX    (2u << 20)  /* a policy text is far smaller */
#define S_COOKIE      "sluice_console"

static const char s_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

struct sl_web_t {
    struct MHD_Daemon *daemon;
    sl_web_handler_fn *handler;
    void *app;
    uint16_t port;
    char host[64];
    char token[S_SECRET_HEX];     /* one-time login token */
    int token_spent;
    char session[S_SECRET_HEX];   /* the session cookie's value; "" = none */
    char csrf[S_SECRET_HEX];
    char url[160];
    char origin[96];
};

/*  Decoded POST values handed out by sl_web_arg, freed with the request. */
typedef struct s_arg {
    char *value;
    struct s_arg *next;
} s_arg_t;

struct sl_web_req_t {
    sl_web_t *web;
    struct MHD_Connection *conn;
    char method[8];
    char *path;
    char *body;
    size_t body_len;
    int too_large;
    s_arg_t *args;
};

static void
s_random_hex (char out[S_SECRET_HEX])
{
    unsigned char b[32];
    randombytes_buf (b, sizeof b);
    sodium_bin2hex (out, S_SECRET_HEX, b, sizeof b);
    sodium_memzero (b, sizeof b);
}

int
sl_web_secret_eq (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    if (la != lb || la == 0)
        return 0;
    return sodium_memcmp (a, b, la) == 0;
}

int
sl_web_cookie (const char *header, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen (name);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr (p, ';');
        size_t len = end ? (size_t) (end - p) : strlen (p);
        if (len > nl && strncmp (p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = len - nl - 1;
            if (vl >= outlen)
                return -1;
            memcpy (out, p + nl + 1, vl);
            out[vl] = 0;
            return 0;
        }
        p = end;
    }
    return -1;
}

const char *
sl_web_method (const sl_web_req_t *req)
{
    return req->method;
}

const char *
sl_web_path (const sl_web_req_t *req)
{
    return req->path;
}

const char *
sl_web_csrf (const sl_web_req_t *req)
{
    return req->web->csrf;
}

void
sl_web_end_session (sl_web_req_t *req)
{
    sodium_memzero (req->web->session, sizeof req->web->session);
    sodium_memzero (req->web->csrf, sizeof req->web->csrf);
}

const char *
sl_web_arg (sl_web_req_t *req, const char *name)
{
    if (strcmp (req->method, "POST") != 0)
        return MHD_lookup_connection_value (req->conn, MHD_GET_ARGUMENT_KIND, name);
    char *v = req->body ? sl_form_get (req->body, req->body_len, name) : NULL;
    s_arg_t *a = v ? malloc (sizeof *a) : NULL;
    if (!a) {
        free (v);
        return NULL;
    }
    a->value = v;
    a->next = req->args;
    req->args = a;
    return v;
}

static void
s_req_free (sl_web_req_t *req)
{
    while (req->args) {
        s_arg_t *n = req->args->next;
        free (req->args->value);
        free (req->args);
        req->args = n;
    }
    free (req->path);
    free (req->body);
    free (req);
}

static void
s_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
    (void) cls;
    (void) conn;
    (void) toe;
    if (*con_cls)
        s_req_free (*con_cls);
    *con_cls = NULL;
}

/*  A streamed answer: the handler's body first, then its stream. */
typedef struct {
    char *head;
    size_t head_len, head_off;
    sl_web_resp_t resp;            /* stream, stream_free, stream_ctx */
} s_stream_t;

static ssize_t
s_stream_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    (void) pos;
    s_stream_t *st = cls;
    if (st->head_off < st->head_len) {
        size_t n = st->head_len - st->head_off < max ? st->head_len - st->head_off : max;
        memcpy (buf, st->head + st->head_off, n);
        st->head_off += n;
        return (ssize_t) n;
    }
    size_t n = st->resp.stream (st->resp.stream_ctx, buf, max);
    return n ? (ssize_t) n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void
s_stream_free (void *cls)
{
    s_stream_t *st = cls;
    if (st->resp.stream_free)
        st->resp.stream_free (st->resp.stream_ctx);
    free (st->head);
    free (st);
}

/*  Sends `body` (taken) with the security headers of note 5; with
    `stream` (taken too), the body and then the stream. */
static enum MHD_Result
s_send_r (struct MHD_Connection *conn, int status, const char *type, char *body, size_t len,
          const char *location, const char *cookie, const char *filename,
          const sl_web_resp_t *stream)
{
    struct MHD_Response *r = NULL;
    if (stream && stream->stream) {
        s_stream_t *st = calloc (1, sizeof *st);
        if (st) {
            st->head = body;
            st->head_len = len;
            st->resp = *stream;
            r = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 32 * 1024, s_stream_read,
                                                   st, s_stream_free);
            if (!r)
                s_stream_free (st);
        }
        else {
            free (body);
            if (stream->stream_free)
                stream->stream_free (stream->stream_ctx);
        }
        if (!r)
            return MHD_NO;
    }
    else
        r = MHD_create_response_from_buffer (len, body ? body : (char *) "",
                                             body ? MHD_RESPMEM_MUST_FREE
                                                  : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free (body);
        return MHD_NO;
    }
    MHD_add_response_header (r, "Content-Type", type);
    MHD_add_response_header (r, "Content-Security-Policy", s_csp);
    MHD_add_response_header (r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (r, "X-Frame-Options", "DENY");
    MHD_add_response_header (r, "Referrer-Policy", "same-origin");
    MHD_add_response_header (r, "Cache-Control", "no-store");
    if (location)
        MHD_add_response_header (r, "Location", location);
    if (cookie)
        MHD_add_response_header (r, "Set-Cookie", cookie);
    if (filename) {
        char cd[200];
        snprintf (cd, sizeof cd, "attachment; filename=\"%s\"", filename);
        MHD_add_response_header (r, "Content-Disposition", cd);
    }
    enum MHD_Result rc = MHD_queue_response (conn, (unsigned) status, r);
    MHD_destroy_response (r);
    return rc;
}

static enum MHD_Result
s_send (struct MHD_Connection *conn, int status, const char *type, char *body, size_t len,
        const char *location, const char *cookie, const char *filename)
{
    return s_send_r (conn, status, type, body, len, location, cookie, filename, NULL);
}

/*  A short refusal page (plain text is enough: the person reads it). */
static enum MHD_Result
s_refuse (struct MHD_Connection *conn, int status, const char *text)
{
    char *body = strdup (text);
    return s_send (conn, status, "text/plain; charset=utf-8", body, body ? strlen (body) : 0,
                   NULL, NULL, NULL);
}

/*  Note 4: the Host header names our address. */
static int
s_host_ok (sl_web_t *self, struct MHD_Connection *conn)
{
    const char *host = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Host");
    char a[96], b[96];
    snprintf (a, sizeof a, "%s:%u", self->host, self->port);
    snprintf (b, sizeof b, "localhost:%u", self->port);
    return host && (strcmp (host, a) == 0 || strcmp (host, b) == 0);
}

static int
s_session_ok (sl_web_t *self, struct MHD_Connection *conn)
{
    const char *header = MHD_lookup_connection_value (conn, MHD_HEADER_KIND, "Cookie");
    char value[S_SECRET_HEX + 8], name[48];
    snprintf (name, sizeof name, "%s_%u", S_COOKIE, self->port);
    if (!header || !self->session[0]
        || sl_web_cookie (header, name, value, sizeof value) != 0)
        return 0;
    return sl_web_secret_eq (value, self->session);
}

/*  Note 3. Returns NULL when the change may go ahead, else why not. */
static const char *
s_post_refusal (sl_web_t *self, sl_web_req_t *req)
{
    const char *type = MHD_lookup_connection_value (req->conn, MHD_HEADER_KIND, "Content-Type");
    if (!type || strncmp (type, "application/x-www-form-urlencoded", 33) != 0)
        return "refused: a change must be sent by the console's own form "
               "(application/x-www-form-urlencoded)\n";
    const char *origin = MHD_lookup_connection_value (req->conn, MHD_HEADER_KIND, "Origin");
    if (origin && strcmp (origin, self->origin) != 0
        && !(strncmp (origin, "http://localhost:", 17) == 0
             && (unsigned) atoi (origin + 17) == self->port))
        return "refused: the request comes from another site (Origin)\n";
    char *token = req->body ? sl_form_get (req->body, req->body_len, "csrf") : NULL;
    int ok = token && sl_web_secret_eq (token, self->csrf);
    free (token);
    if (!ok)
        return "refused: the form's CSRF token is missing or wrong; reload the page and "
               "try again\n";
    return NULL;
}

static enum MHD_Result
s_login (sl_web_t *self, struct MHD_Connection *conn)
{
    const char *token = MHD_lookup_connection_value (conn, MHD_GET_ARGUMENT_KIND, "token");
    if (self->token_spent)
        return s_refuse (conn, 403, "this login link was used already; restart sluice-console "
                         "for a new one\n");
    if (!token || !sl_web_secret_eq (token, self->token))
        return s_refuse (conn, 403, "wrong login token: open the URL sluice-console printed\n");
    self->token_spent = 1;
    sodium_memzero (self->token, sizeof self->token);
    sodium_memzero (self->url, sizeof self->url);
    s_random_hex (self->session);
    s_random_hex (self->csrf);
    char cookie[200];
    snprintf (cookie, sizeof cookie, "%s_%u=%s; HttpOnly; SameSite=Strict; Path=/", S_COOKIE,
              self->port, self->session);
    return s_send (conn, 303, "text/plain; charset=utf-8", NULL, 0, "/", cookie, NULL);
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void) version;
    sl_web_t *self = cls;
    sl_web_req_t *req = *con_cls;
    if (!req) {
        req = calloc (1, sizeof *req);
        if (!req || !(req->path = strdup (url))) {
            free (req);
            return MHD_NO;
        }
        req->web = self;
        req->conn = conn;
        snprintf (req->method, sizeof req->method, "%s", method);
        *con_cls = req;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!req->too_large && req->body_len + *upload_data_size <= S_BODY_MAX) {
            char *p = realloc (req->body, req->body_len + *upload_data_size + 1);
            if (!p)
                return MHD_NO;
            memcpy (p + req->body_len, upload_data, *upload_data_size);
            req->body = p;
            req->body_len += *upload_data_size;
            p[req->body_len] = 0;
        }
        else
            req->too_large = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    int get = strcmp (method, "GET") == 0 || strcmp (method, "HEAD") == 0;
    if (!get && strcmp (method, "POST") != 0)
        return s_refuse (conn, 405, "method not allowed\n");
    if (!s_host_ok (self, conn))
        return s_refuse (conn, 421, "refused: the Host header does not name this console\n");
    if (req->too_large)
        return s_refuse (conn, 413, "refused: the request is larger than 2 MiB\n");
    if (get && strcmp (url, "/login") == 0)
        return s_login (self, conn);
    int is_static = get && strncmp (url, "/static/", 8) == 0;
    if (!is_static && !s_session_ok (self, conn))
        return s_refuse (conn, 401, "not logged in: open the URL with the token that "
                         "sluice-console printed when it started\n");
    if (!get) {
        const char *why = s_post_refusal (self, req);
        if (why)
            return s_refuse (conn, 403, why);
    }
    sl_web_resp_t resp;
    memset (&resp, 0, sizeof resp);
    resp.status = 200;
    resp.content_type = "text/html; charset=utf-8";
    if (!(resp.body = sl_html_new ()))
        return MHD_NO;
    self->handler (self->app, req, &resp);
    size_t len = 0;
    char *body = sl_html_take (resp.body, &len);
    sl_html_destroy (&resp.body);
    if (!body) {
        if (resp.stream && resp.stream_free)
            resp.stream_free (resp.stream_ctx);
        return s_refuse (conn, 500, "out of memory\n");
    }
    return s_send_r (conn, resp.status, resp.content_type, body, len,
                     resp.location[0] ? resp.location : NULL, NULL,
                     resp.filename[0] ? resp.filename : NULL, &resp);
}

sl_web_t *
sl_web_new (const char *host, uint16_t port, sl_web_handler_fn *handler, void *app, char *err,
            size_t errlen)
{
    if (sodium_init () < 0) {
        snprintf (err, errlen, "libsodium does not initialise");
        return NULL;
    }
    sl_web_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    snprintf (self->host, sizeof self->host, "%s", host);
    self->handler = handler;
    self->app = app;
    struct sockaddr_in sa;
    memset (&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons (port);
    if (inet_pton (AF_INET, host, &sa.sin_addr) != 1) {
        snprintf (err, errlen, "--listen: '%s' is not an IPv4 address", host);
        free (self);
        return NULL;
    }
    s_random_hex (self->token);
    self->daemon = MHD_start_daemon (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, port,
                                     NULL, NULL, s_access, self,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &sa,
                                     MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 60,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned) 64,
                                     MHD_OPTION_END);
    if (!self->daemon) {
        snprintf (err, errlen, "cannot listen on %s:%u (is the port taken?)", host, port);
        free (self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon,
                                                            MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : port;
    snprintf (self->origin, sizeof self->origin, "http://%s:%u", host, self->port);
    snprintf (self->url, sizeof self->url, "http://%s:%u/login?token=%s", host, self->port,
              self->token);
    return self;
}

void
sl_web_destroy (sl_web_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    MHD_stop_daemon ((*self_p)->daemon);
    sodium_memzero (*self_p, sizeof **self_p);
    free (*self_p);
    *self_p = NULL;
}

uint16_t
sl_web_port (const sl_web_t *self)
{
    return self->port;
}

const char *
sl_web_login_url (const sl_web_t *self)
{
    return self->url;
}

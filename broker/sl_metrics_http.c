/*  sl_metrics_http — see sl_metrics_http.h. */
#include "sl_metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "sl_log.h"

#define S_READY_MAX_AGE_MS 30000

struct sl_metrics_http_t {
    struct MHD_Daemon *daemon;
    sl_metrics_t *metrics;
    char address[80];
};

static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum MHD_Result
s_reply (struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len,
         int owned)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!r) {
        if (owned)
            free (body);
        return MHD_NO;
    }
    MHD_add_response_header (r, "Content-Type", type);
    MHD_add_response_header (r, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response (c, status, r);
    MHD_destroy_response (r);
    return rc;
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *c, const char *url, const char *method,
          const char *version, const char *upload, size_t *upload_len, void **state)
{
    sl_metrics_http_t *self = cls;
    (void) version;
    (void) upload;
    static int first;
    if (*state == NULL) {       /* headers only so far: answer on the next call */
        *state = &first;
        return MHD_YES;
    }
    if (*upload_len) {
        *upload_len = 0;        /* ignore any body */
        return MHD_YES;
    }
    const char *text = "text/plain; charset=utf-8";
    if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
        return s_reply (c, 405, text, "method not allowed: use GET\n", 28, 0);
    if (strcmp (url, "/metrics") == 0) {
        size_t len = 0;
        char *body = sl_metrics_render (self->metrics, &len);
        if (!body)
            return s_reply (c, 500, text, "out of memory\n", 14, 0);
        return s_reply (c, 200, "text/plain; version=0.0.4; charset=utf-8", body, len, 1);
    }
    if (strcmp (url, "/healthz") == 0)
        return s_reply (c, 200, text, "ok\n", 3, 0);
    if (strcmp (url, "/readyz") == 0) {
        char why[200], body[220];
        int ok = sl_metrics_ready (self->metrics, s_now_ms (), S_READY_MAX_AGE_MS, why, sizeof why);
        int n = snprintf (body, sizeof body, "%s\n", why);
        return s_reply (c, ok ? 200 : 503, text, body, (size_t) n, 0);
    }
    return s_reply (c, 404, text, "not found: /metrics, /healthz, /readyz\n", 39, 0);
}

/*  Parses "HOST:PORT", "[V6]:PORT", ":PORT". */
static int
s_parse (const char *bind, struct sockaddr_storage *ss, socklen_t *sl, int *v6)
{
    char host[64];
    const char *port;
    memset (ss, 0, sizeof *ss);
    if (bind[0] == '[') {
        const char *e = strchr (bind, ']');
        if (!e || e[1] != ':' || (size_t) (e - bind - 1) >= sizeof host)
            return -1;
        memcpy (host, bind + 1, (size_t) (e - bind - 1));
        host[e - bind - 1] = 0;
        port = e + 2;
    }
    else {
        const char *e = strrchr (bind, ':');
        if (!e || (size_t) (e - bind) >= sizeof host)
            return -1;
        memcpy (host, bind, (size_t) (e - bind));
        host[e - bind] = 0;
        port = e + 1;
    }
    char *end;
    long p = strtol (port, &end, 10);
    if (!*port || *end || p < 0 || p > 65535)
        return -1;
    struct sockaddr_in *a4 = (struct sockaddr_in *) ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) ss;
    if (!host[0] || !strcmp (host, "*"))
        snprintf (host, sizeof host, "0.0.0.0");
    if (inet_pton (AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons ((uint16_t) p);
        *sl = sizeof *a4;
        *v6 = 0;
        return 0;
    }
    if (inet_pton (AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons ((uint16_t) p);
        *sl = sizeof *a6;
        *v6 = 1;
        return 0;
    }
    return -1;
}

sl_metrics_http_t *
sl_metrics_http_start (sl_metrics_t *metrics, const char *bind, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int v6;
    if (s_parse (bind, &ss, &sl, &v6) != 0) {
        snprintf (err, errlen, "metrics_bind: '%s' is not HOST:PORT (e.g. 127.0.0.1:9570, "
                  "[::1]:9570, :9570) with a numeric address", bind);
        return NULL;
    }
    sl_metrics_http_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    self->metrics = metrics;
    /* the listener thread inherits this mask: signals stay with the loop */
    sigset_t all, old;
    sigfillset (&all);
    pthread_sigmask (SIG_BLOCK, &all, &old);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | (v6 ? MHD_USE_IPv6 : 0);
    errno = 0;
    self->daemon = MHD_start_daemon (flags, 0, NULL, NULL, s_handle, self,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &ss,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned) 32,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 10,
                                     MHD_OPTION_END);
    int e = errno;
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    if (!self->daemon) {
        snprintf (err, errlen, "metrics_bind: cannot listen on %s: %s", bind,
                  e ? strerror (e) : "libmicrohttpd refused to start");
        free (self);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : 0;
    char host[64] = "";
    if (v6)
        inet_ntop (AF_INET6, &((struct sockaddr_in6 *) &ss)->sin6_addr, host, sizeof host);
    else
        inet_ntop (AF_INET, &((struct sockaddr_in *) &ss)->sin_addr, host, sizeof host);
    snprintf (self->address, sizeof self->address, v6 ? "[%s]:%u" : "%s:%u", host, port);
    sl_info ("metrics.listening", "address=%s paths=/metrics,/healthz,/readyz", self->address);
    return self;
}

const char *
sl_metrics_http_address (const sl_metrics_http_t *self)
{
    return self->address;
}

void
sl_metrics_http_destroy (sl_metrics_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    MHD_stop_daemon ((*self_p)->daemon);
    free (*self_p);
    *self_p = NULL;
}

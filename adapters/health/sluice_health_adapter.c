/*  sluice-health-adapter: HL7 v2 ADT A01/A02/A03/A04/A08/A11/A13 and DFT^P03 messages from
 *  files (plain or MLLP-framed), stdin, or an MLLP listener on TCP, published
 *  as health.v1.Encounter and health.v1.Charge.
 *
 *  As an MLLP listener (--listen HOST:PORT) it answers every message with an
 *  HL7 ACK: AA once every record of the message is stored by the broker, AE
 *  with the reason when the message cannot be read (it is quarantined) or
 *  the broker did not store it (the sender keeps it and sends it again).
 */
#include "sl_runner.h"
#include "sl_inbuf.h"
#include "sl_adt.h"
#include "sl_hl7.h"
#include "sl_time.h"
#include "sl_mllp.h"
#include "sl_error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    sl_adt_opts_t opts;
    const char *tz_name;
    sl_tz_t *tz;
    const char *listen;
    int mllp;                    /* current file is MLLP-framed */
    int mode_known;
    sl_mllp_decoder_t *decoder;
    sl_inbuf_t in;               /* plain text not yet split */
    sl_hl7_split_t split;
    size_t messages;
} health_t;

/*  Maps one message and publishes its records; on failure fills err. With
 *  `wait`, each record is stored before the next (for ACKs). Returns 0, or
 *  -1 (unreadable: quarantined) or -2 (broker did not store it). */
static int
s_message (health_t *h, sl_runner_t *r, const char *msg, size_t len, int wait,
           char *err, size_t errlen)
{
    sl_adt_result_t res;
    h->messages++;
    if (sl_adt_map (msg, len, sl_runner_source (r), h->messages, &h->opts, &res, err, errlen)) {
        sl_runner_reject (r, h->messages, err, msg, len);
        /* the advice after '\n' goes into the ACK text too, on the same line */
        for (char *p = err; *p; p++)
            if (*p == '\n')
                *p = ';';
        return -1;
    }
    int rc = 0;
    if (res.encounter) {
        Health__V1__Encounter *e = res.encounter;
        int64_t when = e->period_start ? e->period_start : e->period_end;
        rc = wait ? sl_runner_publish_wait (r, "health.v1.Encounter", &e->base, e->subject,
                                            when, err, errlen)
                  : sl_runner_publish (r, "health.v1.Encounter", &e->base, e->subject, when);
    }
    for (size_t i = 0; i < res.n_charges && rc == 0; i++) {
        Health__V1__Charge *c = res.charges [i];
        rc = wait ? sl_runner_publish_wait (r, "health.v1.Charge", &c->base, c->subject,
                                            c->occurrence_time, err, errlen)
                  : sl_runner_publish (r, "health.v1.Charge", &c->base, c->subject, c->occurrence_time);
    }
    sl_adt_result_clear (&res);
    return rc ? -2 : 0;
}

static int
s_option (void *st, const char *name, const char *value)
{
    health_t *h = st;
    if (strcmp (name, "pid3-repetition") == 0) {
        h->opts.pid3_repetition = atoi (value);
        if (h->opts.pid3_repetition < 1 || h->opts.pid3_repetition > 99) {
            fprintf (stderr, "sluice-health-adapter: --pid3-repetition takes 1 to 99\n");
            return -1;
        }
    }
    else if (strcmp (name, "default-offset") == 0 && sl_time_parse_offset (value, &h->opts.default_offset_s)) {
        fprintf (stderr, "sluice-health-adapter: --default-offset %s: expected +HH:MM\n", value);
        return -1;
    }
    return 0;
}

static int
s_start (void *st)
{
    health_t *h = st;
    int rc = sl_runner_load ("sluice-health-adapter", h->tz_name, &h->tz, NULL, NULL, NULL, 0, NULL);
    h->opts.tz = h->tz;
    return rc;
}

static void
s_stop (void *st)
{
    health_t *h = st;
    sl_mllp_decoder_destroy (&h->decoder);
    sl_inbuf_release (&h->in);
    sl_tz_destroy (&h->tz);
}

static void
s_begin (void *st, sl_runner_t *r, const char *source)
{
    (void) source;
    health_t *h = st;
    h->opts.explain = sl_runner_explain (r);
    h->mode_known = 0;
    h->in.pos = h->in.len = 0;
    h->messages = 0;
    h->split = (sl_hl7_split_t) SL_HL7_SPLIT_INIT;
    sl_mllp_decoder_destroy (&h->decoder);
}

static void
s_drain_mllp (health_t *h, sl_runner_t *r, int eof)
{
    const char *msg;
    size_t len;
    int rc;
    char err [1024];
    while ((rc = sl_mllp_decoder_next (h->decoder, eof, &msg, &len)) != 0) {
        if (rc == 1)
            s_message (h, r, msg, len, 0, err, sizeof err);
        else {
            h->messages++;
            snprintf (err, sizeof err, "%s: message %zu: MLLP frame %s", sl_runner_source (r),
                      h->messages, rc == SL_ETOOBIG ? "over 1 MiB" : "cut off before its end (0x1C 0x0D)");
            sl_runner_reject (r, h->messages, err, msg, len);
        }
    }
}

/*  Plain text: a message is complete when the next MSH begins, or at the end. */
static void
s_drain_text (health_t *h, sl_runner_t *r, int eof)
{
    const char *msg;
    size_t mlen, line;
    char err [1024];
    const char *text = h->in.buf ? h->in.buf + h->in.pos : "";
    size_t len = h->in.len - h->in.pos;
    for (;;) {
        sl_hl7_split_t before = h->split;
        if (!sl_hl7_split (text, len, &h->split, &msg, &mlen, &line))
            break;
        if (h->split.pos == len && !eof) {
            h->split = before;          /* may still grow */
            break;
        }
        s_message (h, r, msg, mlen, 0, err, sizeof err);
    }
    h->in.pos += h->split.pos;
    h->split.pos = 0;
}

static void
s_feed (void *st, sl_runner_t *r, const char *data, size_t len)
{
    health_t *h = st;
    if (!h->mode_known && len) {
        /* 0x0B never occurs in plain HL7 text: a file holding one is MLLP */
        h->mllp = memchr (data, SL_MLLP_START, len) != NULL;
        h->mode_known = 1;
        if (h->mllp)
            h->decoder = sl_mllp_decoder_new (0);
    }
    if (h->mllp) {
        if (h->decoder && sl_mllp_decoder_feed (h->decoder, data, len) == 0)
            s_drain_mllp (h, r, 0);
        return;
    }
    if (sl_inbuf_append (&h->in, data, len) == 0)
        s_drain_text (h, r, 0);
}

static void
s_end (void *st, sl_runner_t *r)
{
    health_t *h = st;
    if (h->mllp && h->decoder)
        s_drain_mllp (h, r, 1);
    else if (!h->mllp)
        s_drain_text (h, r, 1);
}

/*  ---------------------------------------------------------------------
 *  MLLP listener
 */

typedef struct {
    int fd;
    sl_mllp_decoder_t *dec;
    char peer [64];
} s_conn_t;

static int
s_serving (void *st)
{
    return ((health_t *) st)->listen != NULL;
}

static int
s_send_all (int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send (fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t) k;
    }
    return 0;
}

static void
s_answer (int fd, const char *msg, size_t len, const char *code, const char *text)
{
    char *ack, *framed;
    size_t alen, flen;
    if (sl_hl7_ack (msg, len, code, text, (int64_t) time (NULL), &ack, &alen))
        return;
    if (sl_mllp_wrap (ack, alen, &framed, &flen) == 0) {
        s_send_all (fd, framed, flen);
        free (framed);
    }
    free (ack);
}

static int
s_serve (void *st, sl_runner_t *r)
{
    health_t *h = st;
    char host [64] = "127.0.0.1";
    int port;
    const char *colon = strrchr (h->listen, ':');
    if (!colon || sscanf (colon + 1, "%d", &port) != 1 || port < 0 || port > 65535
     || (size_t) (colon - h->listen) >= sizeof host) {
        fprintf (stderr, "sluice-health-adapter: --listen %s: expected HOST:PORT\n", h->listen);
        return -1;
    }
    if (colon != h->listen) {
        memcpy (host, h->listen, (size_t) (colon - h->listen));
        host [colon - h->listen] = 0;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    int lfd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (lfd < 0 || inet_pton (AF_INET, host, &sa.sin_addr) != 1
     || setsockopt (lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)
     || bind (lfd, (struct sockaddr *) &sa, sizeof sa) || listen (lfd, 16)) {
        fprintf (stderr, "sluice-health-adapter: cannot listen on %s: %s\n", h->listen, strerror (errno));
        if (lfd >= 0)
            close (lfd);
        return -1;
    }
    socklen_t sl = sizeof sa;
    getsockname (lfd, (struct sockaddr *) &sa, &sl);
    printf ("listening for MLLP on %s:%d\n", host, ntohs (sa.sin_port));
    fflush (stdout);

    enum { MAXC = 64 };
    s_conn_t conns [MAXC];
    size_t nc = 0;
    while (!sl_runner_stopping ()) {
        struct pollfd pf [MAXC + 1];
        pf [0] = (struct pollfd) { .fd = lfd, .events = POLLIN };
        for (size_t i = 0; i < nc; i++)
            pf [i + 1] = (struct pollfd) { .fd = conns [i].fd, .events = POLLIN };
        int n = poll (pf, nc + 1, 250);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if ((pf [0].revents & POLLIN) && nc < MAXC) {
            struct sockaddr_in peer;
            socklen_t pl = sizeof peer;
            int fd = accept4 (lfd, (struct sockaddr *) &peer, &pl, SOCK_CLOEXEC);
            if (fd >= 0) {
                /* not polled yet: no events this round (revents was unset) */
                pf [nc + 1] = (struct pollfd) { .fd = fd, .events = POLLIN };
                conns [nc].fd = fd;
                conns [nc].dec = sl_mllp_decoder_new (0);
                char ip [32];
                inet_ntop (AF_INET, &peer.sin_addr, ip, sizeof ip);
                snprintf (conns [nc].peer, sizeof conns [nc].peer, "tcp:%s:%d", ip, ntohs (peer.sin_port));
                nc++;
            }
        }
        for (size_t i = 0; i < nc; i++) {
            if (!(pf [i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            s_conn_t *c = &conns [i];
            char buf [16384];
            ssize_t k = recv (c->fd, buf, sizeof buf, 0);
            int closed = k <= 0 && !(k < 0 && errno == EINTR);
            if (k > 0)
                sl_mllp_decoder_feed (c->dec, buf, (size_t) k);
            sl_runner_set_source (r, c->peer);
            const char *msg;
            size_t len;
            int rc;
            while ((rc = sl_mllp_decoder_next (c->dec, closed, &msg, &len)) != 0) {
                char err [1024];
                if (rc != 1) {
                    h->messages++;
                    snprintf (err, sizeof err, "%s: message %zu: MLLP frame %s", c->peer, h->messages,
                              rc == SL_ETOOBIG ? "over 1 MiB" : "cut off before its end (0x1C 0x0D)");
                    sl_runner_reject (r, h->messages, err, msg, len);
                    continue;
                }
                int m = s_message (h, r, msg, len, 1, err, sizeof err);
                s_answer (c->fd, msg, len, m == 0 ? "AA" : "AE", m == 0 ? NULL : err);
            }
            if (closed) {
                close (c->fd);
                sl_mllp_decoder_destroy (&c->dec);
                conns [i] = conns [--nc];
                pf [i + 1] = pf [nc + 1];
                i--;
            }
        }
    }
    for (size_t i = 0; i < nc; i++) {
        close (conns [i].fd);
        sl_mllp_decoder_destroy (&conns [i].dec);
    }
    close (lfd);
    return 0;
}

int
main (int argc, char **argv)
{
    static const sl_runner_option_t options [] = {
        SL_RUNNER_TEXT ("listen", health_t, listen),
        SL_RUNNER_TEXT ("citizen-id-type", health_t, opts.citizen_id_type),
        SL_RUNNER_TEXT ("currency", health_t, opts.currency), { "default-offset", SL_RUNNER_CALL },
        SL_RUNNER_TEXT ("timezone", health_t, tz_name),
        SL_RUNNER_TEXT ("pid3-authority", health_t, opts.pid3_authority),
        { "pid3-repetition", SL_RUNNER_CALL }, { NULL, 0 } };
    static const sl_format_t format = {
        .program = "sluice-health-adapter", .bureau = "health",
        .summary = "Health bureau: HL7 v2 ADT A01/A02/A03/A04/A08/A11/A13 -> health.v1.Encounter, "
                   "DFT^P03 -> health.v1.Charge.",
        .options_help = "Health:\n"
                        "  --listen HOST:PORT     receive HL7 over MLLP (TCP) instead of reading files;\n"
                        "                         each message is answered with an ACK (AA or AE)\n"
                        "  --citizen-id-type LIST PID-3.5 identifier types of the citizen id, ',' separated,\n"
                        "                         'NN*' = any NNxxx [NI,NN*,SS]\n"
                        "  --pid3-authority AUTH  the citizen id is the PID-3 repetition assigned by AUTH\n"
                        "                         (PID-3.4.1 or .4.2), typed or not\n"
                        "  --pid3-repetition N    the citizen id is PID-3 repetition N\n"
                        "  --currency CUR         when FT1-11 names none [EUR]\n"
                        "  --timezone ZONE        IANA zone of HL7 times without +ZZZZ (e.g. Europe/Paris)\n"
                        "  --default-offset OFF   without --timezone: fixed offset of such times [+00:00]\n"
                        "Files may hold MLLP frames (0x0B ... 0x1C 0x0D) or plain messages.\n",
        .options = options, .option = s_option, .start = s_start,
        .begin = s_begin, .feed = s_feed, .end = s_end, .stop = s_stop,
        .serve = s_serve, .serving = s_serving,
    };
    health_t h = { .opts = SL_ADT_OPTS_DEFAULT };
    setvbuf (stdout, NULL, _IOLBF, 0);
    return sl_runner_main (argc, argv, &format, &h);
}

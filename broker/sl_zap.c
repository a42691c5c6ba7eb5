/*  sl_zap — see sl_zap.h. */
#include "sl_zap.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "sl_allow.h"
#include "sl_error.h"
#include "sl_log.h"

struct sl_zap_t {
    void *sock;
    sl_registry_t *registry;
    sl_zap_denied_fn *denied;
    void *denied_ctx;
    sl_allow_t *admin_allow;       /* NULL: no address check */
    char admin_domain[64];
};

sl_zap_t *
sl_zap_new (void *zmq_ctx, sl_registry_t *registry)
{
    sl_zap_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->registry = registry;
    self->sock = zmq_socket (zmq_ctx, ZMQ_REP);
    int linger = 0;
    if (!self->sock
        || zmq_setsockopt (self->sock, ZMQ_LINGER, &linger, sizeof linger) != 0
        || zmq_bind (self->sock, "inproc://zeromq.zap.01") != 0) {
        sl_error ("zap.bind_failed", "error=\"%s\"", zmq_strerror (zmq_errno ()));
        if (self->sock)
            zmq_close (self->sock);
        free (self);
        return NULL;
    }
    return self;
}

void
sl_zap_destroy (sl_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zmq_close ((*self_p)->sock);
    sl_allow_destroy (&(*self_p)->admin_allow);
    free (*self_p);
    *self_p = NULL;
}

int
sl_zap_guard_admin (sl_zap_t *self, const char *domain, const char *endpoint,
                    const char *allow_list, char *err, size_t errlen)
{
    sl_allow_destroy (&self->admin_allow);
    if (allow_list && *allow_list) {
        if (!(self->admin_allow = sl_allow_new (allow_list, err, errlen)))
            return SL_EINVAL;
        snprintf (self->admin_domain, sizeof self->admin_domain, "%s", domain);
        sl_info ("zap.admin_allow", "networks=%zu list=\"%.200s\"",
                 sl_allow_count (self->admin_allow), allow_list);
        return 0;
    }
    if (!sl_allow_endpoint_is_local (endpoint)) {
        snprintf (err, errlen, "the admin plane would listen on %.200s, beyond loopback, with no "
                  "allow-list: give --admin-allow (admin_allow) with the administrators' "
                  "networks, e.g. --admin-allow 10.20.0.0/24", endpoint);
        return SL_EINVAL;
    }
    return 0;
}

void *
sl_zap_socket (sl_zap_t *self)
{
    return self->sock;
}

void
sl_zap_on_denied (sl_zap_t *self, sl_zap_denied_fn *fn, void *ctx)
{
    self->denied = fn;
    self->denied_ctx = ctx;
}

/*  Copies frame `i` into buf as a string (truncated). */
static void
s_str (zmq_msg_t *f, char *buf, size_t size)
{
    size_t n = zmq_msg_size (f);
    if (n >= size)
        n = size - 1;
    memcpy (buf, zmq_msg_data (f), n);
    buf[n] = 0;
}

/*  `key_fp` (may be NULL) goes out as ZAP metadata property "Key-Fp", so
 *  the broker learns which of a member's keys a connection used
 *  (zmq_msg_gets (msg, "Key-Fp")): key rollover closes only the sessions
 *  of a retired key. */
static void
s_reply_meta (void *sock, zmq_msg_t *req_id, const char *code, const char *text,
              const char *user, const char *key_fp, int broker_next)
{
    unsigned char meta[96];
    size_t ml = 0;
    if (broker_next) {          /* "Broker-Key" = "next": the rollover's listener */
        meta[ml++] = 10;
        memcpy (meta + ml, "Broker-Key", 10);
        ml += 10;
        meta[ml++] = 0;
        meta[ml++] = 0;
        meta[ml++] = 0;
        meta[ml++] = 4;
        memcpy (meta + ml, "next", 4);
        ml += 4;
    }
    if (key_fp && *key_fp) {
        size_t vl = strlen (key_fp);
        meta[ml++] = 6;
        memcpy (meta + ml, "Key-Fp", 6);
        ml += 6;
        meta[ml++] = 0;
        meta[ml++] = 0;
        meta[ml++] = 0;
        meta[ml++] = (unsigned char) vl;
        memcpy (meta + ml, key_fp, vl);
        ml += vl;
    }
    zmq_send (sock, "1.0", 3, ZMQ_SNDMORE);
    zmq_send (sock, zmq_msg_data (req_id), zmq_msg_size (req_id), ZMQ_SNDMORE);
    zmq_send (sock, code, strlen (code), ZMQ_SNDMORE);
    zmq_send (sock, text, strlen (text), ZMQ_SNDMORE);
    zmq_send (sock, user, strlen (user), ZMQ_SNDMORE);
    zmq_send (sock, meta, ml, 0);
}

static void
s_reply (void *sock, zmq_msg_t *req_id, const char *code, const char *text,
         const char *user)
{
    s_reply_meta (sock, req_id, code, text, user, NULL, 0);
}

/*  The admin plane's domain, or one derived from it ("sluice.admin.next",
    a second admin listener): the allow-list guards them all. */
static int
s_admin_domain (const sl_zap_t *self, const char *domain)
{
    size_t n = strlen (self->admin_domain);
    return strncmp (domain, self->admin_domain, n) == 0 && (domain[n] == 0 || domain[n] == '.');
}

static void
s_handle_one (sl_zap_t *self, zmq_msg_t *f, int n)
{
    char version[8], domain[64], address[64], mechanism[16];
    if (n < 6) {
        sl_warn ("zap.malformed", "frames=%d", n);
        return;
    }
    s_str (&f[0], version, sizeof version);
    s_str (&f[2], domain, sizeof domain);
    s_str (&f[3], address, sizeof address);
    s_str (&f[5], mechanism, sizeof mechanism);
    if (strcmp (version, "1.0") != 0) {
        s_reply (self->sock, &f[1], "500", "unsupported ZAP version", "");
        return;
    }
    if (strcmp (mechanism, "CURVE") != 0 || n != 7 || zmq_msg_size (&f[6]) != 32) {
        if (self->denied)           /* logs and audits it (aggregated) */
            self->denied (self->denied_ctx, "", address, domain, "not-curve");
        s_reply (self->sock, &f[1], "400", "CURVE only", "");
        return;
    }
    char z85[41], fp[17] = "";
    zmq_z85_encode (z85, zmq_msg_data (&f[6]), 32);
    sl_keys_fingerprint (z85, fp);
    if (self->admin_allow && s_admin_domain (self, domain)
        && !sl_allow_match (self->admin_allow, address)) {
        sl_warn ("auth.denied", "key=%s address=%s domain=%s reason=address-not-allowed",
                 fp, address, domain);
        if (self->denied)
            self->denied (self->denied_ctx, fp, address, domain, "address-not-allowed");
        s_reply (self->sock, &f[1], "400", "address-not-allowed", "");
        return;
    }
    const sl_member_t *m = sl_registry_for_key (self->registry, z85);
    if (!m || m->revoked) {
        const char *reason = m ? "revoked" : "unknown-key";
        if (m)
            sl_info ("auth.revoked_key", "key=%s address=%s reason=revoked member=%s", fp, address,
                     m->name);
        if (self->denied)           /* logs and audits it (aggregated) */
            self->denied (self->denied_ctx, fp, address, domain, reason);
        s_reply (self->sock, &f[1], "400", reason, "");
        return;
    }
    sl_debug ("auth.ok", "member=%s key=%s address=%s domain=%s", m->name, fp, address, domain);
    size_t dl = strlen (domain);
    s_reply_meta (self->sock, &f[1], "200", "OK", m->name, fp,
                  dl > 5 && strcmp (domain + dl - 5, ".next") == 0);
}

int
sl_zap_handle (sl_zap_t *self)
{
    int handled = 0;
    for (;;) {
        zmq_msg_t f[8];
        int n = 0, more = 1, extra = 0;
        zmq_msg_init (&f[0]);
        if (zmq_msg_recv (&f[0], self->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&f[0]);
            break;
        }
        n = 1;
        more = zmq_msg_more (&f[0]);
        while (more) {
            zmq_msg_t tmp;
            zmq_msg_init (&tmp);
            if (zmq_msg_recv (&tmp, self->sock, 0) < 0) {
                zmq_msg_close (&tmp);
                break;
            }
            more = zmq_msg_more (&tmp);
            if (n < 8) {
                zmq_msg_init (&f[n]);
                zmq_msg_move (&f[n], &tmp);
                n++;
            }
            else
                extra++;
            zmq_msg_close (&tmp);
        }
        s_handle_one (self, f, extra ? 0 : n);
        if (extra || n < 6) {
            /* REP must answer before it can receive again */
            zmq_msg_t empty;
            zmq_msg_init (&empty);
            s_reply (self->sock, n > 1 ? &f[1] : &empty, "500", "malformed ZAP request", "");
            zmq_msg_close (&empty);
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close (&f[i]);
        handled++;
    }
    return handled;
}

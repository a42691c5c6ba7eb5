/*  sl_broker_keys — broker key rollover: serve the next key beside the
 *  current one, and retire the old listeners (docs/OPERATIONS.md).
 */
#include <sodium.h>

#include "sl_keys.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "sl_broker_int.h"
#include "sl_batch.h"
#include "sl_disclose.h"
#include "sl_error.h"
#include "sl_filtered.h"
#include "sl_govern.h"
#include "sl_log.h"
#include "sl_metrics.h"
#include "sl_msgids.h"
#include "sl_queue.h"
#include "sl_registry.h"
#include "sl_schema.h"
#include "sl_session.h"
#include "sl_subs.h"
#include "sl_wire.h"

/* ------------------------------------------------- broker key rollover */

/*  The next key's endpoint: `configured`, else `base` with its port + 10
 *  (port 5570 -> 5580 on the same address), or `base` itself when its port is not a
 *  number (a wildcard port: any free one). */
static void
s_next_endpoint (const char *configured, const char *base, char *out, size_t size)
{
    if (configured && *configured) {
        snprintf (out, size, "%s", configured);
        return;
    }
    const char *colon = strrchr (base, ':');
    char *end;
    long port = colon ? strtol (colon + 1, &end, 10) : -1;
    if (!colon || port <= 0 || *end || port + 10 > 65535)
        snprintf (out, size, "%s", base);
    else
        snprintf (out, size, "%.*s:%ld", (int) (colon - base), base, port + 10);
}

/*  Binds `sock` once more, on `ep`, with the key pair `kp` and ZAP domain
 *  `domain`: libzmq copies a socket's options into each listener when it
 *  binds, so this listener serves `kp` while the earlier ones keep theirs. */
static int
s_bind_key (void *sock, const sl_keypair_t *kp, const char *domain, const char *ep, char *bound,
            size_t bound_len)
{
    size_t bl = bound_len;
    if (zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, kp->secret_key, SL_KEY_Z85_LEN) != 0
        || zmq_setsockopt (sock, ZMQ_ZAP_DOMAIN, domain, strlen (domain)) != 0
        || zmq_bind (sock, ep) != 0
        || zmq_getsockopt (sock, ZMQ_LAST_ENDPOINT, bound, &bl) != 0)
        return -1;
    return 0;
}

int
sl_broker_keys_reload (sl_broker_t *self)
{
    char path[600], kerr[300], fp[17] = "";
    sl_keypair_t kp;
    snprintf (path, sizeof path, "%s/broker.key", self->data_dir);
    if (sl_keys_load_secret (path, &kp, kerr, sizeof kerr) != 0) {
        sl_error ("broker.key_unreadable", "error=\"%s\"", kerr);
        return -1;
    }
    sl_keys_fingerprint (kp.public_key, fp);
    sodium_memzero (&kp, sizeof kp);
    if (self->next_fp[0] && strcmp (fp, self->next_fp) == 0) {
        /* promoted: broker.key is now the next key. The old key's
         * listeners close, and so do the sessions that came through them;
         * the next key's listeners become the broker's endpoints. */
        char old_fp[17], old_data[256], old_admin[256], d[80];
        memcpy (old_fp, self->key_fp, sizeof old_fp);
        memcpy (old_data, self->data_ep, sizeof old_data);
        memcpy (old_admin, self->admin_ep, sizeof old_admin);
        /* the listeners close after the NOTICEs went out: libzmq drops the
         * connections a listener accepted when it is unbound */
        memcpy (self->retire_data, old_data, sizeof self->retire_data);
        memcpy (self->retire_admin, old_admin, sizeof self->retire_admin);
        self->retire_at_ms = sl_now_ms () + 500;
        int closed = 0;
        int64_t at = sl_now_ms () + 500;
        for (size_t i = 0; i < sl_sessions_count (self->sessions); i++) {
            sl_session_t *s = sl_sessions_at (self->sessions, i);
            if (s->broker_next) {
                s->broker_next = 0;
                continue;
            }
            if (s->plane == SL_PLANE_DATA) {
                Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
                h.command = SLUICE__V1__COMMAND__NOTICE;
                h.seq = ++self->seq;
                h.notice = "broker-key-retired";
                sl_broker_send_header (self, s, &h);
            }
            s->close_at_ms = at;
            closed++;
        }
        memcpy (self->data_ep, self->next_ep, sizeof self->data_ep);
        memcpy (self->admin_ep, self->next_admin_ep, sizeof self->admin_ep);
        memcpy (self->key_fp, fp, sizeof self->key_fp);
        self->next_ep[0] = self->next_admin_ep[0] = self->next_fp[0] = self->next_pub[0] = 0;
        sl_broker_write_endpoints (self);
        snprintf (d, sizeof d, "fp=%s next=%s", old_fp, fp);
        sl_event_t ev = { .kind = SL_AUDIT_BROKER_KEY_RETIRE, .actor = "sluiced", .detail = d };
        if (sl_broker_event (self, &ev) == 0)
            sl_broker_commit (self);
        sl_warn ("broker.key_retired", "key=%s closed=%s,%s sessions_closed=%d now=%s,%s key_now=%s "
                 "note=\"set bind = %s and admin_bind = %s in the settings before the next restart\"",
                 old_fp, old_data, old_admin, closed, self->data_ep, self->admin_ep, fp,
                 self->data_ep, self->admin_ep);
        return 0;
    }
    if (strcmp (fp, self->key_fp) != 0) {
        sl_error ("broker.key_changed", "file=%s key=%s serving=%s note=\"a new broker key takes "
                  "effect at a restart; for an overlap make it broker-next (OPERATIONS.md)\"",
                  path, fp, self->key_fp);
        return -1;
    }
    snprintf (path, sizeof path, "%s/broker-next.key", self->data_dir);
    if (self->next_fp[0] || access (path, F_OK) != 0)
        return 0;
    if (sl_keys_load_secret (path, &kp, kerr, sizeof kerr) != 0) {
        sl_error ("broker.next_key_unreadable", "error=\"%s\"", kerr);
        return -1;
    }
    char dep[256], aep[256], d[80];
    s_next_endpoint (self->cfg.next_data_endpoint, self->cfg.data_endpoint, dep, sizeof dep);
    s_next_endpoint (self->cfg.next_admin_endpoint, self->cfg.admin_endpoint, aep, sizeof aep);
    if (s_bind_key (self->data, &kp, "sluice.data.next", dep, self->next_ep, sizeof self->next_ep) != 0
        || s_bind_key (self->admin, &kp, "sluice.admin.next", aep, self->next_admin_ep,
                       sizeof self->next_admin_ep) != 0) {
        sl_error ("broker.next_key_bind_failed", "data=%s admin=%s error=\"%s\"", dep, aep,
                  zmq_strerror (zmq_errno ()));
        if (self->next_ep[0])
            zmq_unbind (self->data, self->next_ep);
        self->next_ep[0] = self->next_admin_ep[0] = 0;
        sodium_memzero (&kp, sizeof kp);
        return -1;
    }
    sl_keys_fingerprint (kp.public_key, self->next_fp);
    memcpy (self->next_pub, kp.public_key, sizeof self->next_pub);
    sodium_memzero (&kp, sizeof kp);
    sl_broker_write_endpoints (self);
    snprintf (d, sizeof d, "fp=%s current=%s", self->next_fp, self->key_fp);
    sl_event_t ev = { .kind = SL_AUDIT_BROKER_KEY_ADD, .actor = "sluiced", .detail = d };
    if (sl_broker_event (self, &ev) == 0)
        sl_broker_commit (self);
    sl_info ("broker.next_key", "key=%s data=%s admin=%s current=%s", self->next_fp, self->next_ep,
             self->next_admin_ep, self->key_fp);
    return 0;
}


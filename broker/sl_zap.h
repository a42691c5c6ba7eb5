/*  sl_zap — the ZAP handler (ZeroMQ RFC 27) that admits members.
 *
 *  Bound at inproc://zeromq.zap.01 in the broker's ZeroMQ context *before*
 *  any CURVE socket binds, and served from the broker's own poll loop (ZAP is
 *  asynchronous for libzmq's I/O threads, so no thread is needed). A CURVE
 *  client key that is registered and not revoked is admitted with User-Id =
 *  member name; anything else gets status 400 and an `auth.denied` log line
 *  with the key fingerprint, peer address and ZAP domain.
 */
#ifndef SL_ZAP_H
#define SL_ZAP_H

#include <stddef.h>

#include "sl_registry.h"

typedef struct sl_zap_t sl_zap_t;

/*  Called for every refused handshake (e.g. to write an audit entry).
 *  Strings are borrowed for the duration of the call. */
typedef void (sl_zap_denied_fn) (void *ctx, const char *fingerprint,
                                 const char *address, const char *domain,
                                 const char *reason);

/*  Binds the handler in `zmq_ctx`. `registry` is borrowed. NULL on failure
 *  (e.g. another handler is already bound in this context). */
sl_zap_t *sl_zap_new (void *zmq_ctx, sl_registry_t *registry);
void sl_zap_destroy (sl_zap_t **self_p);

/*  The socket to poll for ZMQ_POLLIN. */
void *sl_zap_socket (sl_zap_t *self);

/*  Sets the refusal hook (NULL to clear). */
void sl_zap_on_denied (sl_zap_t *self, sl_zap_denied_fn *fn, void *ctx);

/*  Guards the admin plane (ZAP domain `domain`, and any domain that extends
 *  it after a dot, e.g. "sluice.admin.next") bound at `endpoint`: with
 *  `allow_list` (sl_allow.h syntax; NULL or "" for none) a peer whose
 *  address is not on it is refused before its key is looked at, with
 *  reason `address-not-allowed` (logged and passed to the refusal hook
 *  like any refused handshake). Without a list, an endpoint that is not
 *  loopback is an error: the admin plane is not opened to the network
 *  unguarded. Returns 0, or SL_EINVAL with `err` saying what to give. */
int sl_zap_guard_admin (sl_zap_t *self, const char *domain, const char *endpoint,
                        const char *allow_list, char *err, size_t errlen);

/*  Answers every waiting ZAP request without blocking. Returns the number
 *  handled. Malformed requests are answered 500 (or dropped if not even the
 *  envelope is readable) and logged; never fails otherwise. */
int sl_zap_handle (sl_zap_t *self);

#endif

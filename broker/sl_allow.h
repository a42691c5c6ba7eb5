/*  sl_allow — the admin plane's address allow-list: which peers may even
 *  try a CURVE handshake on the admin endpoint when it listens beyond
 *  loopback (sluiced --admin-bind ... --admin-allow LIST).
 *
 *  A list is IPv4 or IPv6 networks in CIDR form ("10.20.0.0/24",
 *  "192.0.2.7", "2001:db8::/48"), separated by commas or spaces. Loopback
 *  (127.0.0.0/8, ::1) is always allowed: whoever is on the broker host
 *  already reaches the data directory. An IPv4 peer seen on a dual-stack
 *  socket as ::ffff:a.b.c.d is matched as a.b.c.d. The check comes on top
 *  of CURVE, never instead of it: an allowed address still needs a
 *  registered key.
 */
#ifndef SL_ALLOW_H
#define SL_ALLOW_H

#include <stddef.h>

typedef struct sl_allow_t sl_allow_t;

/*  Parses `list`. Returns the list, or NULL with `err` naming the bad item
 *  ("admin_allow: '10.0.0.0/33': prefix length must be 0..32") or saying
 *  the list is empty or memory ran out. */
sl_allow_t *sl_allow_new (const char *list, char *err, size_t errlen);

/*  Frees the list; sets *self_p to NULL. Harmless on NULL. */
void sl_allow_destroy (sl_allow_t **self_p);

/*  True when `address` (a peer IP as text, as ZAP gives it) is loopback or
 *  in one of the networks. An address that does not parse is not allowed.
 *  Cannot fail. */
int sl_allow_match (const sl_allow_t *self, const char *address);

/*  The number of networks in the list. */
size_t sl_allow_count (const sl_allow_t *self);

/*  True when a ZeroMQ endpoint binds loopback only: tcp:// on 127.x.x.x,
 *  localhost or [::1], or ipc:// / inproc://. tcp://\*, 0.0.0.0 or any
 *  other host is not. Cannot fail. */
int sl_allow_endpoint_is_local (const char *endpoint);

#endif

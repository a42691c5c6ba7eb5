/*  sl_wire — sending data-plane messages through the broker's ROUTER.
 *
 *  Frames are [routing id][packed Header][body]... (PROTOCOL.md section 2).
 *  Sends never block: the ROUTER is ZMQ_ROUTER_MANDATORY, so an unknown or
 *  gone peer fails at once with SL_ECLOSED, a full peer with SL_EAGAIN.
 */
#ifndef SL_WIRE_H
#define SL_WIRE_H

#include <stddef.h>
#include <zmq.h>

#include "sluice/v1/envelope.pb-c.h"

/*  Sends `h` and the `n` bodies to peer `rid`. The bodies are moved into the
 *  socket on success and left initialised-empty on failure; the caller still
 *  closes them either way (closing an empty message is harmless). Returns 0,
 *  SL_ECLOSED (peer not connected), SL_EAGAIN (peer's queue full) or
 *  SL_ENOMEM. */
int sl_wire_send (void *sock, const void *rid, size_t rid_len,
                  const Sluice__V1__Header *h, zmq_msg_t *bodies, size_t n);

/*  Sends already packed header bytes (no bodies). Same returns. */
int sl_wire_send_packed (void *sock, const void *rid, size_t rid_len,
                         const void *packed, size_t len);

/*  Sends ERROR {seq, errors=[{code, text, message_id}]}; `query_id` may be 0.
 *  Returns as sl_wire_send. */
int sl_wire_error (void *sock, const void *rid, size_t rid_len, uint64_t seq,
                   uint64_t query_id, Sluice__V1__ErrorCode code, const char *text,
                   const char *reason);

/*  Kebab-case name of an error code ("bad-frame"); "unknown" if out of range.
 *  The names are common/sl_reason's table. */
const char *sl_wire_code_name (int code);

/*  Packs `h` into a new malloc()ed buffer; *len gets its size. NULL when out
 *  of memory. */
void *sl_wire_pack (const Sluice__V1__Header *h, size_t *len);

#endif

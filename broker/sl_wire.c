/*  sl_wire — see sl_wire.h. */
#include "sl_wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"
#include "sl_reason.h"

const char *
sl_wire_code_name (int code)
{
    return sl_reason_name (code);
}

void *
sl_wire_pack (const Sluice__V1__Header *h, size_t *len)
{
    *len = sluice__v1__header__get_packed_size (h);
    void *buf = malloc (*len ? *len : 1);
    if (buf)
        sluice__v1__header__pack (h, buf);
    return buf;
}

static int
s_errno_rc (void)
{
    int e = zmq_errno ();
    if (e == EHOSTUNREACH)
        return SL_ECLOSED;
    if (e == EAGAIN)
        return SL_EAGAIN;
    return SL_EIO;
}

int
sl_wire_send_packed (void *sock, const void *rid, size_t rid_len,
                     const void *packed, size_t len)
{
    if (zmq_send (sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return s_errno_rc ();
    if (zmq_send (sock, packed, len, ZMQ_DONTWAIT) < 0)
        return s_errno_rc ();
    return 0;
}

int
sl_wire_send (void *sock, const void *rid, size_t rid_len,
              const Sluice__V1__Header *h, zmq_msg_t *bodies, size_t n)
{
    size_t len = sluice__v1__header__get_packed_size (h);
    zmq_msg_t hm;
    if (zmq_msg_init_size (&hm, len) != 0)
        return SL_ENOMEM;
    sluice__v1__header__pack (h, zmq_msg_data (&hm));
    if (zmq_send (sock, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&hm);
        return s_errno_rc ();
    }
    /* after the identity frame was accepted the rest of the message goes */
    if (zmq_msg_send (&hm, sock, (n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&hm);
        return s_errno_rc ();
    }
    for (size_t i = 0; i < n; i++)
        if (zmq_msg_send (&bodies[i], sock, (i + 1 < n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
            return s_errno_rc ();
    return 0;
}

int
sl_wire_error (void *sock, const void *rid, size_t rid_len, uint64_t seq,
               uint64_t query_id, Sluice__V1__ErrorCode code, const char *text,
               const char *reason)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    Sluice__V1__Error e = SLUICE__V1__ERROR__INIT;
    Sluice__V1__Error *ep = &e;
    e.code = code;
    e.text = (char *) (text ? text : "");
    e.reason = (char *) (reason ? reason : "");
    h.version = 1;
    h.command = SLUICE__V1__COMMAND__ERROR;
    h.seq = seq;
    h.query_id = query_id;
    h.n_errors = 1;
    h.errors = &ep;
    return sl_wire_send (sock, rid, rid_len, &h, NULL, 0);
}

/*  sl_error — the one error convention of sluice's libraries.
 *
 *  Functions return int: 0 on success, a negative SL_E* code on failure.
 *  sl_strerror() gives the text. The protocol's ERROR codes (PROTOCOL.md) are
 *  a separate, wire-stable list; this one is for the C API and may grow.
 */
#ifndef SL_ERROR_H
#define SL_ERROR_H

#include <stddef.h>

enum {
    SL_OK          =   0,
    SL_ENOMEM      =  -1,   /* out of memory */
    SL_EINVAL      =  -2,   /* invalid argument */
    SL_EIO         =  -3,   /* I/O error (see errno / log) */
    SL_ENOTFOUND   =  -4,   /* no such thing */
    SL_EEXIST      =  -5,   /* already exists */
    SL_EFULL       =  -6,   /* store full (LMDB map or disk) */
    SL_EPROTO      =  -7,   /* protocol violation by a peer */
    SL_EPERM       =  -8,   /* not permitted for this member or role */
    SL_ETIMEOUT    =  -9,   /* timed out */
    SL_EPARSE      = -10,   /* input could not be parsed */
    SL_EDECODE     = -11,   /* protobuf body does not decode */
    SL_ETOOBIG     = -12,   /* over a configured size limit */
    SL_ECORRUPT    = -13,   /* stored data is damaged / verification failed */
    SL_ECLOSED     = -14,   /* connection or object closed */
    SL_EKEY        = -15,   /* key file missing, malformed or unsafe */
    SL_EDENIED     = -16,   /* policy denied */
    SL_EAGAIN      = -17,   /* try again (flow control, back-pressure) */
    SL_ESTORE      = -18,   /* storage engine error other than full */
    SL_ELIMIT      = -19,   /* a per-member or per-queue limit was reached */
};

/*  Text for an SL_E* code. Returns a static string; cannot fail. */
const char *sl_strerror (int rc);

/*  Writes the printf-formatted sentence into err[errlen] (cut to fit), the
 *  one way a function fills its `err, errlen` pair; nothing when err is
 *  NULL or errlen 0. Cannot fail. */
void sl_err_set (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#endif

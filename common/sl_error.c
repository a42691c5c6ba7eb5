#include "sl_error.h"

#include <stdarg.h>
#include <stdio.h>

const char *
sl_strerror (int rc)
{
    switch (rc) {
    case SL_OK:        return "success";
    case SL_ENOMEM:    return "out of memory";
    case SL_EINVAL:    return "invalid argument";
    case SL_EIO:       return "input/output error";
    case SL_ENOTFOUND: return "not found";
    case SL_EEXIST:    return "already exists";
    case SL_EFULL:     return "store full";
    case SL_EPROTO:    return "protocol error";
    case SL_EPERM:     return "not permitted";
    case SL_ETIMEOUT:  return "timed out";
    case SL_EPARSE:    return "parse error";
    case SL_EDECODE:   return "body does not decode";
    case SL_ETOOBIG:   return "too big";
    case SL_ECORRUPT:  return "data corrupt or verification failed";
    case SL_ECLOSED:   return "closed";
    case SL_EKEY:      return "bad or unsafe key file";
    case SL_EDENIED:   return "denied by policy";
    case SL_EAGAIN:    return "try again";
    case SL_ESTORE:    return "storage error";
    case SL_ELIMIT:    return "limit reached";
    default:           return "unknown error";
    }
}

void
sl_err_set (char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err, errlen, fmt, ap);
    va_end (ap);
}

/*  sl_admin_fail — see sl_admin_fail.h. */
#include "sl_admin_fail.h"

#include <stdarg.h>
#include <stdio.h>

int
sl_admin_fail (sl_admin_call_t *call, int code, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (call->text, sizeof call->text, fmt, ap);
    va_end (ap);
    return code;
}

/*  sl_admin_fail — a handler's failure in one statement: the text that says
    what was wrong, and the ErrorCode returned with it. */
#ifndef SL_ADMIN_FAIL_H
#define SL_ADMIN_FAIL_H

#include "sl_admin.h"

/*  Formats call->text (cut to fit it, as snprintf does; call->long_text is
    left alone) and returns `code`, so that a handler writes
    `return sl_admin_fail (call, CODE, "what was wrong", ...);`.
    Cannot fail. */
int sl_admin_fail (sl_admin_call_t *call, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#endif

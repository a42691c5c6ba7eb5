/*  sl_admin_fail — a handler's failure in one statement: the text that says
    what was wrong, and the ErrorCode returned with it. */
#ifndef SL_ADMIN_FAIL_H
#define SL_ADMIN_FAIL_H

#include <stdio.h>

#include "sl_admin.h"

/*  Formats call->text (cut to fit it, as snprintf does; call->long_text is
    left alone) and yields `code`, so that a handler writes
    `return sl_admin_fail (call, CODE, "what was wrong", ...);`. `call` is
    evaluated twice. Cannot fail. */
#define sl_admin_fail(call, code, ...) \
    (snprintf ((call)->text, sizeof (call)->text, __VA_ARGS__), (code))

#endif

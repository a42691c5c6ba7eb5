/*  sl_admin_fail: a handler's failure text and code in one statement. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sl_admin_fail.h"
#include "sluice/v1/envelope.pb-c.h"

Test (admin_fail, sets_the_text_and_returns_the_code)
{
    sl_admin_call_t call;
    memset (&call, 0, sizeof call);
    int code = sl_admin_fail (&call, SLUICE__V1__ERROR_CODE__BAD_REQUEST, "limit must be 1..%d",
                              1000);
    cr_assert_eq (code, SLUICE__V1__ERROR_CODE__BAD_REQUEST);
    cr_assert_str_eq (call.text, "limit must be 1..1000");
    cr_assert_null (call.long_text, "the long text is not touched");
}

Test (admin_fail, cuts_a_long_text_to_fit)
{
    sl_admin_call_t call;
    memset (&call, 0, sizeof call);
    char *big = malloc (2000);
    cr_assert_not_null (big);
    memset (big, 'x', 1999);
    big[1999] = 0;
    cr_assert_eq (sl_admin_fail (&call, SLUICE__V1__ERROR_CODE__INTERNAL, "%s", big),
                  SLUICE__V1__ERROR_CODE__INTERNAL);
    free (big);
    cr_assert_eq (strlen (call.text), sizeof call.text - 1, "cut to %zu bytes, not %zu",
                  sizeof call.text - 1, strlen (call.text));
}

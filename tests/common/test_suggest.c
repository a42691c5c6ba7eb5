/*  sl_suggest: "did you mean" for names people type. */
#include <criterion/criterion.h>

#include "sl_suggest.h"

Test (suggest, closest_within_threshold)
{
    const char *kinds[] = { "publish", "queue", "deliver", "deny", "lookup" };
    cr_expect_str_eq (sl_suggest ("delivr", kinds, 5), "deliver");
    cr_expect_str_eq (sl_suggest ("lokup", kinds, 5), "lookup");
    cr_expect_null (sl_suggest ("deliver", kinds, 5));          /* known: no suggestion */
    cr_expect_null (sl_suggest ("consent.grant", kinds, 5));    /* nothing close */
    cr_expect_null (sl_suggest ("xy", kinds, 5));
    cr_expect (sl_suggest_known ("deny", kinds, 5));
    cr_expect (!sl_suggest_known ("den", kinds, 5));
}

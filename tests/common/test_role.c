/*  sl_role: the one parser of role strings (common/sl_role.h). */
#include <criterion/criterion.h>

#include "sl_role.h"

Test (role, admin_scope_and_bureau)
{
    cr_assert_str_eq (sl_role_admin_scope ("admin:water"), "water");
    cr_assert_str_eq (sl_role_admin_scope ("admin:city"), "city");
    cr_assert_null (sl_role_admin_scope ("member"));
    cr_assert_null (sl_role_admin_scope ("admin"));
    cr_assert_null (sl_role_admin_scope (NULL));
    cr_assert_str_eq (sl_role_bureau ("admin:water"), "water");
    cr_assert_null (sl_role_bureau ("admin:city"));
    cr_assert_null (sl_role_bureau ("consent-source"));
}

Test (role, predicates)
{
    cr_assert (sl_role_is_city_admin ("admin:city"));
    cr_assert (!sl_role_is_city_admin ("admin:cityhall"));
    cr_assert (!sl_role_is_city_admin ("auditor"));
    cr_assert (sl_role_administers ("admin:city", "water"));
    cr_assert (sl_role_administers ("admin:water", "water"));
    cr_assert (!sl_role_administers ("admin:water", "power"));
    cr_assert (!sl_role_administers ("auditor", "water"));
    cr_assert (!sl_role_administers ("member", "member"));
}

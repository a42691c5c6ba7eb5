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

Test (role, kinds)
{
    cr_assert (sl_role_is_member ("member"));
    cr_assert (!sl_role_is_member ("members"));
    cr_assert (sl_role_is_auditor ("auditor"));
    cr_assert (sl_role_is_consent_source ("consent-source"));
    cr_assert (sl_role_is_monitor ("monitor"));
    cr_assert (!sl_role_is_monitor (NULL));
    cr_assert (sl_role_is_admin ("admin:water") && sl_role_is_admin ("admin:city"));
    cr_assert (!sl_role_is_admin ("administrator"));
    const char *fixed[] = { SL_ROLE_MEMBER, SL_ROLE_AUDITOR, SL_ROLE_CONSENT_SOURCE,
                            SL_ROLE_MONITOR, SL_ROLE_CITY_ADMIN };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        cr_assert (sl_role_is_fixed (fixed[i]), "%s", fixed[i]);
    cr_assert (!sl_role_is_fixed ("admin:water"));
    cr_assert (!sl_role_is_fixed (""));
}

/*  A command's role pattern (the admin plane's command tables). */
Test (role, patterns)
{
    cr_assert (sl_role_matches ("admin:water", "admin:*"));
    cr_assert (!sl_role_matches ("member", "admin:*"));
    cr_assert (!sl_role_matches ("admin:water", "admin:city"));
    cr_assert (sl_role_matches ("member", "*"));
    cr_assert (sl_role_matches ("auditor", "admin:*|auditor"));
    cr_assert (sl_role_matches ("admin:city", "admin:*|auditor"));
    cr_assert (sl_role_matches ("monitor", "admin:*|auditor|monitor"));
    cr_assert (!sl_role_matches ("monitor", "admin:*|auditor"));
    cr_assert (!sl_role_matches ("audit", "admin:city|auditor"));
    cr_assert (!sl_role_matches ("auditors", "admin:city|auditor"));
    cr_assert (!sl_role_matches ("admin:", "admin:city"));
    cr_assert (!sl_role_matches (NULL, "*"));
}

/*  sl_role — see sl_role.h. */
#include "sl_role.h"

#include <string.h>

#define S_ADMIN "admin:"
#define S_CITY  "city"

static int
s_is (const char *role, const char *name)
{
    return role && strcmp (role, name) == 0;
}

const char *
sl_role_admin_scope (const char *role)
{
    return role && strncmp (role, S_ADMIN, strlen (S_ADMIN)) == 0 ? role + strlen (S_ADMIN) : NULL;
}

const char *
sl_role_bureau (const char *role)
{
    const char *scope = sl_role_admin_scope (role);
    return scope && strcmp (scope, S_CITY) != 0 ? scope : NULL;
}

int
sl_role_is_admin (const char *role)
{
    return sl_role_admin_scope (role) != NULL;
}

int
sl_role_is_city_admin (const char *role)
{
    return s_is (role, SL_ROLE_CITY_ADMIN);
}

int
sl_role_is_member (const char *role)
{
    return s_is (role, SL_ROLE_MEMBER);
}

int
sl_role_is_auditor (const char *role)
{
    return s_is (role, SL_ROLE_AUDITOR);
}

int
sl_role_is_consent_source (const char *role)
{
    return s_is (role, SL_ROLE_CONSENT_SOURCE);
}

int
sl_role_is_monitor (const char *role)
{
    return s_is (role, SL_ROLE_MONITOR);
}

int
sl_role_is_fixed (const char *role)
{
    return sl_role_is_member (role) || sl_role_is_auditor (role) || sl_role_is_consent_source (role)
        || sl_role_is_monitor (role) || sl_role_is_city_admin (role);
}

int
sl_role_administers (const char *role, const char *owner)
{
    const char *scope = sl_role_admin_scope (role);
    return scope && owner && (strcmp (scope, S_CITY) == 0 || strcmp (scope, owner) == 0);
}

int
sl_role_matches (const char *role, const char *required)
{
    if (!role || !required)
        return 0;
    for (const char *alt = required; *alt; ) {
        size_t n = strcspn (alt, "|");
        if ((n == 1 && alt[0] == '*')
            || (n == strlen (S_ADMIN) + 1 && strncmp (alt, S_ADMIN "*", n) == 0 && sl_role_is_admin (role))
            || (strlen (role) == n && strncmp (role, alt, n) == 0))
            return 1;
        alt += n + (alt[n] == '|');
    }
    return 0;
}

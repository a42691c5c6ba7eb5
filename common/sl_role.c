/*  sl_role — see sl_role.h. */
#include "sl_role.h"

#include <string.h>

#define S_ADMIN "admin:"
#define S_CITY  "city"

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
sl_role_is_city_admin (const char *role)
{
    const char *scope = sl_role_admin_scope (role);
    return scope && strcmp (scope, S_CITY) == 0;
}

int
sl_role_administers (const char *role, const char *owner)
{
    const char *scope = sl_role_admin_scope (role);
    return scope && owner && (strcmp (scope, S_CITY) == 0 || strcmp (scope, owner) == 0);
}

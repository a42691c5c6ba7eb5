/*  sl_roles — see sl_roles.h. */
#include "sl_roles.h"

#include <stdio.h>
#include <string.h>

#include "sl_error.h"
#include "sl_schema.h"
#include "sl_role.h"

int
sl_roles_known_bureau (sl_registry_t *reg, const char *bureau)
{
    if (strcmp (bureau, "city") == 0)
        return 1;
    for (size_t i = 0; i < sl_schema_count (); i++) {
        const sl_schema_t *s = sl_schema_at (i);
        if (s && s->owner && strcmp (s->owner, bureau) == 0)
            return 1;
    }
    const sl_member_t *m = sl_registry_by_name (reg, bureau);
    return m && !m->revoked && sl_role_is_member (m->role);
}

int
sl_roles_check (sl_registry_t *reg, const char *role, char *err, size_t errlen)
{
    const char *scope = sl_role_admin_scope (role);
    if (!scope || sl_roles_known_bureau (reg, scope))
        return 0;
    snprintf (err, errlen, "role '%.60s' names no bureau this broker knows: '%.32s' owns no "
              "record type and is no member with role member (add the bureau as a member, "
              "or register its record types, first)", role, scope);
    return SL_EINVAL;
}

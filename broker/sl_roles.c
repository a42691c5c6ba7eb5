/*  sl_roles — see sl_roles.h. */
#include "sl_roles.h"

#include <stdio.h>
#include <string.h>

#include "sl_error.h"
#include "sl_schema.h"

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
    return m && !m->revoked && strcmp (m->role, "member") == 0;
}

int
sl_roles_check (sl_registry_t *reg, const char *role, char *err, size_t errlen)
{
    if (strncmp (role, "admin:", 6) != 0 || sl_roles_known_bureau (reg, role + 6))
        return 0;
    snprintf (err, errlen, "role '%.60s' names no bureau this broker knows: '%.32s' owns no "
              "record type and is no member with role member (add the bureau as a member, "
              "or register its record types, first)", role, role + 6);
    return SL_EINVAL;
}

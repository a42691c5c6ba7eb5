/*  sl_role — the one parser of member role strings (docs/PROTOCOL.md,
    member roles): `member`, `auditor`, `consent-source`, `admin:city` and
    `admin:<bureau>`. Pure functions on the string; whether a bureau exists
    is sl_roles (broker) and whether a name is valid is sl_registry. */
#ifndef SL_ROLE_H
#define SL_ROLE_H

/*  The part after "admin:" of an admin role ("city" for admin:city), or
 *  NULL when `role` is not an admin role (or is NULL). Borrowed from role. */
const char *sl_role_admin_scope (const char *role);

/*  The bureau of an `admin:<bureau>` role, or NULL for admin:city and every
 *  non-admin role. Borrowed from role. */
const char *sl_role_bureau (const char *role);

/*  True for `admin:city`. */
int sl_role_is_city_admin (const char *role);

/*  True if `role` administers `owner`: admin:city administers every owner,
 *  admin:<b> administers b. */
int sl_role_administers (const char *role, const char *owner);

#endif

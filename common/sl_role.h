/*  sl_role — the one parser of member role strings (docs/PROTOCOL.md,
    member roles): `member`, `auditor`, `consent-source`, `monitor`,
    `admin:city` and `admin:<bureau>`. Pure functions on the string; whether
    a bureau exists is sl_roles (broker) and whether a name is valid is
    sl_registry. Every function is false (or NULL) for a NULL role. */
#ifndef SL_ROLE_H
#define SL_ROLE_H

/*  The roles without a bureau, as stored and sent. */
#define SL_ROLE_MEMBER         "member"
#define SL_ROLE_AUDITOR        "auditor"
#define SL_ROLE_CONSENT_SOURCE "consent-source"
#define SL_ROLE_MONITOR        "monitor"
#define SL_ROLE_CITY_ADMIN     "admin:city"

/*  The part after "admin:" of an admin role ("city" for admin:city), or
 *  NULL when `role` is not an admin role (or is NULL). Borrowed from role. */
const char *sl_role_admin_scope (const char *role);

/*  The bureau of an `admin:<bureau>` role, or NULL for admin:city and every
 *  non-admin role. Borrowed from role. */
const char *sl_role_bureau (const char *role);

/*  True for any `admin:<scope>` role (admin:city included). */
int sl_role_is_admin (const char *role);

/*  True for `admin:city`. */
int sl_role_is_city_admin (const char *role);

/*  True for `member` (a bureau's data-plane identity). */
int sl_role_is_member (const char *role);

/*  True for `auditor`. */
int sl_role_is_auditor (const char *role);

/*  True for `consent-source`. */
int sl_role_is_consent_source (const char *role);

/*  True for `monitor`. */
int sl_role_is_monitor (const char *role);

/*  True for the five roles that name no bureau: member, auditor,
 *  consent-source, monitor, admin:city. */
int sl_role_is_fixed (const char *role);

/*  True if `role` administers `owner`: admin:city administers every owner,
 *  admin:<b> administers b. */
int sl_role_administers (const char *role, const char *owner);

/*  True if `role` meets `required`, a command's role pattern: `*` (any
 *  role), `admin:*` (any admin role), a role, or alternatives joined with
 *  `|` ("admin:*|auditor"). */
int sl_role_matches (const char *role, const char *required);

#endif

/*  sl_roles — which bureau an `admin:<bureau>` role may name.
 *
 *  An admin role grants reads of every policy and the writes of its
 *  bureau, so a role naming a bureau that does not exist is a key with
 *  admin reads and no one to answer for it. A bureau is *known* when it is
 *  `city`, the owner of a registered record type, or an active member with
 *  role `member` (the bureau's own data-plane identity).
 *
 *   1. member.add refuses an admin:<bureau> role whose bureau is unknown.
 *   2. A member holding such a role already (added before this rule, or
 *      whose bureau was revoked since) is refused every admin command until
 *      the bureau exists again; the broker logs `admin.role_unknown_bureau`.
 */
#ifndef SL_ROLES_H
#define SL_ROLES_H

#include <stddef.h>

#include "sl_registry.h"

/*  True if `bureau` is known (above). `reg` is borrowed. */
int sl_roles_known_bureau (sl_registry_t *reg, const char *bureau);

/*  0 if `role` may be held now: any role that is not admin:<bureau>, or one
 *  whose bureau is known. SL_EINVAL otherwise, with `err` saying which
 *  bureaus exist and what to do. */
int sl_roles_check (sl_registry_t *reg, const char *role, char *err, size_t errlen);

#endif

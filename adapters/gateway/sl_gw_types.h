/*  sl_gw_types — the record types as the gateway's threads see them.
 *
 *  Record types are data registered in the broker (docs/SCHEMAS.md). The
 *  gateway learns a type the first time it needs it: it fetches the type's
 *  descriptor set with schema.get on the broker's admin plane (any member
 *  may; with the bureau's own key), builds it and installs it in sl_schema's
 *  table. A type the broker does not know is looked for again at most every
 *  10 s.
 *
 *  sl_schema's table is used from one thread at a time; the gateway has
 *  many (HTTP connections, the broker thread, webhooks). Every look-up goes
 *  through here, under one lock. An entry found stays valid for the life of
 *  the process (sl_schema never frees an installed entry while it runs), so
 *  callers keep the pointer after the lock is released.
 */
#ifndef SL_GW_TYPES_H
#define SL_GW_TYPES_H

#include <stddef.h>

#include "sl_gw_config.h"
#include "sl_json.h"
#include "sl_schema.h"

/*  Where to fetch types from: cfg->admin_endpoint, or the admin endpoint in
    cfg->data's endpoints file (read at each fetch, so a restarted broker is
    found); the bureau's key and the broker's public key. `cfg` must outlive
    every other call. Cannot fail. */
void sl_gw_types_configure (const sl_gw_config_t *cfg);

/*  The record type `record_type`, fetched from the broker if not known yet;
    NULL if the broker does not have it, or cannot be asked: then *rc (may
    be NULL) is SL_ENOTFOUND or SL_EAGAIN and `err` (may be NULL) says why.
    Thread-safe; may wait for the broker (up to 5 s). */
const sl_schema_t *sl_gw_types_find (const char *record_type, int *rc, char *err, size_t errlen);

/*  The record types registered in the broker (schema.list), each fetched as
    sl_gw_types_find does, into `out` (up to `max`); returns how many. When
    the broker cannot be asked, the types already known. Thread-safe. */
size_t sl_gw_types_list (const sl_schema_t **out, size_t max);

/*  JSON options for records of `schema`: its time fields as RFC 3339
    (sl_json.h §10), decided from `schema` itself, without the table. */
sl_json_options_t sl_gw_types_json (const sl_schema_t *schema);

#endif

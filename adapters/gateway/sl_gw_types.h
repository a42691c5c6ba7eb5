/*  sl_gw_types — the record types as the gateway's threads see them.
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

#include "sl_json.h"
#include "sl_schema.h"

/*  The record type `record_type`, or NULL if the gateway does not know it.
    Thread-safe. */
const sl_schema_t *sl_gw_types_find (const char *record_type);

/*  Up to `max` known record types into `out`; returns how many. Thread-safe. */
size_t sl_gw_types_list (const sl_schema_t **out, size_t max);

/*  JSON options for records of `schema`: its time fields as RFC 3339
    (sl_json.h §10), decided from `schema` itself, without the table. */
sl_json_options_t sl_gw_types_json (const sl_schema_t *schema);

#endif

/*  sl_schema — the registry of record types.
 *
 *  The one place that says, for each record type sluice carries, which bureau
 *  owns it, which field holds the data subject (a citizen id) and which fields
 *  are timestamps. Everything else (broker ownership checks, the policy
 *  checker, transforms, adapters) asks this table; nobody repeats it.
 */
#ifndef SL_SCHEMA_H
#define SL_SCHEMA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

typedef struct {
    const char *record_type;                         /* "water.v1.MeterReading" */
    const char *owner;                               /* owning bureau: "water" */
    const ProtobufCMessageDescriptor *descriptor;    /* protobuf-c descriptor */
    const char *subject_field;                       /* field with the citizen id, or NULL */
    const char *const *time_fields;                  /* NULL-terminated; int64 Unix seconds */
} sl_schema_t;

/*  Looks a record type up by its full name. Returns a pointer into a static
 *  table (valid for the life of the process), or NULL if unknown. */
const sl_schema_t *sl_schema_find (const char *record_type);

/*  Number of record types, and the i-th (0 <= i < count). Cannot fail. */
size_t sl_schema_count (void);
const sl_schema_t *sl_schema_at (size_t i);

/*  True if `member` owns `record_type` (the record type is known and its
 *  owner is `member`). */
int sl_schema_is_owner (const char *record_type, const char *member);

/*  The field descriptor named `name` in `schema`, or NULL. */
const ProtobufCFieldDescriptor *sl_schema_field (const sl_schema_t *schema,
                                                 const char *name);

/*  True if field `name` of `schema` is listed as a timestamp. */
int sl_schema_is_time_field (const sl_schema_t *schema, const char *name);

#endif

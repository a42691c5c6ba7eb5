/*  sl_policy_sample — a sample record written as JSON, for `policy explain
 *  --record FILE.json`: the row conditions (`where`) are then evaluated on
 *  it instead of counting as failed.
 *
 *  The JSON is one object whose members are the record type's fields by
 *  their protobuf names: strings as JSON strings, numbers (integers,
 *  floats, enums by number) as JSON numbers, enums also by value name, bools
 *  as true/false. Repeated, message and bytes fields cannot be given (a
 *  `where` cannot compare them either). Unknown names are errors with a
 *  "did you mean". No I/O. */
#ifndef SL_POLICY_SAMPLE_H
#define SL_POLICY_SAMPLE_H

#include <stddef.h>
#include <cJSON.h>
#include <protobuf-c/protobuf-c.h>

#include "sl_schema.h"

/*  Builds an unpacked record of `schema`'s type from the JSON object `obj`
 *  (borrowed). Returns the record (free it with sl_policy_sample_destroy),
 *  or NULL with a message in err ("member 'distrct': unknown field of
 *  water.v1.MeterReading; did you mean 'district'?"). */
ProtobufCMessage *sl_policy_sample_new (const sl_schema_t *schema, const cJSON *obj,
                                        char *err, size_t errlen);

/*  Frees a record from sl_policy_sample_new; sets *msg_p NULL. Safe on NULL. */
void sl_policy_sample_destroy (ProtobufCMessage **msg_p);

#endif

/*  sl_disclose — what a disclosure released, for its audit entry.
 *
 *  A `deliver` entry must name the fields the consumer actually received
 *  (AUDIT.md §6). A queued copy was shaped at publish by the permit then in
 *  force and is shaped again at delivery by the permit in force now; the
 *  consumer receives the fields both released. The publish-time list
 *  travels with the queued copy as an unknown field of its RecordMeta
 *  (tag SL_DISCLOSE_FIELDS_TAG, stripped before DELIVER, like the sealed
 *  subject), so the delivery entry is exact even after a policy changed.
 *
 *  Design notes:
 *   1. Field lists are "a,b,c" in the schema's field order, as
 *      sl_decide_output_t.fields gives them; the meet keeps that order.
 *   2. The unknown field's length is always written as a two-byte varint
 *      (lists are < 16 KiB), as the sealed subject's is.
 */
#ifndef SL_DISCLOSE_H
#define SL_DISCLOSE_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#define SL_DISCLOSE_FIELDS_TAG 101
#define SL_DISCLOSE_FIELDS_MAX 512      /* sl_decide_output_t.fields */

/*  Fills `uf` (data pointing into `buf`, at least SL_DISCLOSE_FIELDS_MAX + 2
 *  bytes, which must outlive `uf`) with `fields` as unknown field
 *  SL_DISCLOSE_FIELDS_TAG. Returns 0, or SL_EINVAL if `fields` is too long
 *  (nothing filled). */
int sl_disclose_fields_field (ProtobufCMessageUnknownField *uf, uint8_t *buf, size_t size,
                              const char *fields);

/*  If `uf` is the queued field list, copies it into out (NUL-terminated)
 *  and returns 1; 0 if `uf` is another field; -1 if it is malformed (out
 *  is then ""). */
int sl_disclose_fields_read (const ProtobufCMessageUnknownField *uf, char *out, size_t size);

/*  The names of list `now` that list `then` holds too, in `now`'s order,
 *  into out (truncated to size). `then` NULL: out = now. Cannot fail. */
void sl_disclose_fields_meet (const char *then, const char *now, char *out, size_t size);

#endif

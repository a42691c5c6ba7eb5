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
 *   3. Delivery asks the decision again only when something it depends on
 *      may have changed since the copy was queued: a policy was put in
 *      force, a consent event touched the subject, or the time reached a
 *      rule's `valid` edge or a consent's start or end (the bound). Else the
 *      publish-time permit stands: its rules, fields and shape are the
 *      queued copy's. The counters live in memory, so a copy queued by an
 *      earlier process (another queue epoch) is always decided again.
 */
#ifndef SL_DISCLOSE_H
#define SL_DISCLOSE_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#define SL_DISCLOSE_FIELDS_TAG 101
#define SL_DISCLOSE_BOUND_TAG 102
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

/*  How long the publish-time permit of a queued copy holds (design note 3):
 *  the policy generation and the subject's consent epoch it was decided at,
 *  and the second before which no `valid` window or consent starts or ends.
 *  Travels as unknown field SL_DISCLOSE_BOUND_TAG. */
typedef struct {
    uint64_t policy;     /* sl_policy_store_generation at the decision */
    uint64_t consent;    /* sl_consent_epoch of the raw subject at the decision */
    int64_t until_s;     /* sl_decide_output_t.until_s */
    uint32_t slot;       /* sl_consent_epoch_slot of the raw subject */
    int has_pseudonym;   /* the record has a subject: */
    uint8_t pseudonym[32];  /* its audit pseudonym (AUDIT.md §2), so a
                               delivery that stands need not open the
                               sealed subject for its entry */
} sl_disclose_bound_t;

#define SL_DISCLOSE_BOUND_LEN 61        /* length byte + 28 (+ 32 with a pseudonym) */

/*  Fills `uf` (data pointing into `buf`, SL_DISCLOSE_BOUND_LEN bytes, which
 *  must outlive `uf`) with `b`: policy, consent, until_s (8 bytes each),
 *  slot (4), then the pseudonym if any, little-endian. Cannot fail. */
void sl_disclose_bound_field (ProtobufCMessageUnknownField *uf,
                              uint8_t buf[SL_DISCLOSE_BOUND_LEN], const sl_disclose_bound_t *b);

/*  If `uf` is the bound field, fills *b and returns 1; 0 if `uf` is another
 *  field; -1 if it is malformed. */
int sl_disclose_bound_read (const ProtobufCMessageUnknownField *uf, sl_disclose_bound_t *b);

/*  The names of list `now` that list `then` holds too, in `now`'s order,
 *  into out (truncated to size). `then` NULL: out = now. Cannot fail. */
void sl_disclose_fields_meet (const char *then, const char *now, char *out, size_t size);

#endif

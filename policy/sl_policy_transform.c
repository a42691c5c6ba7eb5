/*  sl_policy_transform — applying a decision's transform to a record, and
 *  keyed pseudonyms.
 *
 *  The input message is never modified: the transform works on a shallow
 *  copy of the message struct whose dropped fields are reset to defaults
 *  (proto3 packing then omits them), whose subject pointer is swapped for
 *  the pseudonym buffer and whose time fields are rounded down. Nothing the
 *  copy points to is freed; only the copy itself. */
#include "sl_policy_int.h"
#include "sl_error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char s_kdf_context[] = "sluice.policy.pseudonym.v1";

bool
sl_policy_transform_is_identity (const sl_policy_transform_t *t)
{
    if (!t->schema || t->subject != SL_POLICY_SUBJECT_KEEP || t->coarsen != SL_POLICY_COARSEN_NONE)
        return false;
    unsigned n = t->schema->descriptor->n_fields;
    for (unsigned i = 0; i < n && i < SL_POLICY_MAX_FIELDS; i++)
        if (!(t->keep[i / 64] & (1ull << (i % 64))))
            return false;
    return true;
}

size_t
sl_policy_transform_fields (const sl_policy_transform_t *t, const char **names, size_t max)
{
    if (!t->schema)
        return 0;
    const ProtobufCMessageDescriptor *d = t->schema->descriptor;
    size_t n = 0;
    for (unsigned i = 0; i < d->n_fields && i < SL_POLICY_MAX_FIELDS; i++)
        if (t->keep[i / 64] & (1ull << (i % 64))) {
            if (n < max)
                names[n] = d->fields[i].name;
            n++;
        }
    return n;
}

int
sl_policy_pseudonym_key (const uint8_t secret[SL_POLICY_SECRET_LEN], const char *consumer,
                         uint8_t key[SL_POLICY_KEY_LEN])
{
    if (!consumer || !*consumer)
        return SL_EINVAL;
    /* key = BLAKE2b-256(key = secret, message = context || 0x00 || consumer) */
    crypto_generichash_state st;
    crypto_generichash_init (&st, secret, SL_POLICY_SECRET_LEN, SL_POLICY_KEY_LEN);
    crypto_generichash_update (&st, (const unsigned char *) s_kdf_context, sizeof s_kdf_context);
    crypto_generichash_update (&st, (const unsigned char *) consumer, strlen (consumer));
    crypto_generichash_final (&st, key, SL_POLICY_KEY_LEN);
    return 0;
}

void
sl_policy_pseudonymize (const uint8_t key[SL_POLICY_KEY_LEN], const char *subject,
                        char out[SL_POLICY_PSEUDONYM_LEN + 1])
{
    if (!subject || !*subject) {
        out[0] = 0;
        return;
    }
    uint8_t h[SL_POLICY_PSEUDONYM_LEN / 2];
    crypto_generichash (h, sizeof h, (const unsigned char *) subject, strlen (subject),
                        key, SL_POLICY_KEY_LEN);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof h; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[SL_POLICY_PSEUDONYM_LEN] = 0;
}

static int64_t
s_floor (int64_t v, int64_t unit)
{
    int64_t q = v / unit;
    if (v % unit < 0)
        q--;
    return q * unit;
}

/*  Resets field `fd` of `m` to its default, so packing omits it. */
static void
s_clear (ProtobufCMessage *m, const ProtobufCFieldDescriptor *fd)
{
    char *base = (char *) m;
    if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
        *(size_t *) (base + fd->quantifier_offset) = 0;
        *(void **) (base + fd->offset) = NULL;
        return;
    }
    if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *cs = (uint32_t *) (base + fd->quantifier_offset);
        if (*cs == fd->id)
            *cs = 0;
        return;
    }
    if (fd->label == PROTOBUF_C_LABEL_OPTIONAL && fd->quantifier_offset
        && fd->type != PROTOBUF_C_TYPE_STRING && fd->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *) (base + fd->quantifier_offset) = 0;
    switch (fd->type) {
    case PROTOBUF_C_TYPE_STRING:
        *(const char **) (base + fd->offset) =
            fd->label == PROTOBUF_C_LABEL_NONE || !fd->default_value
            ? (fd->label == PROTOBUF_C_LABEL_NONE ? (const char *) &protobuf_c_empty_string : NULL)
            : NULL;
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        *(void **) (base + fd->offset) = NULL;
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *bd = (ProtobufCBinaryData *) (base + fd->offset);
        bd->len = 0;
        bd->data = NULL;
        break;
    }
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        memset (base + fd->offset, 0, 8);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        memset (base + fd->offset, 0, sizeof (protobuf_c_boolean));
        break;
    default:
        memset (base + fd->offset, 0, 4);
        break;
    }
}

int
sl_policy_transform_pack (const sl_policy_transform_t *t, const ProtobufCMessage *in,
                          const uint8_t *key, uint8_t *buf, size_t cap, size_t *len)
{
    if (!t->schema || !in || !sl_schema_describes (t->schema, in->descriptor))
        return SL_EINVAL;
    if (t->subject == SL_POLICY_SUBJECT_PSEUDONYMIZE && !key)
        return SL_EINVAL;
    const ProtobufCMessageDescriptor *d = in->descriptor;
    ProtobufCMessage *m = malloc (d->sizeof_message);
    if (!m)
        return SL_ENOMEM;
    memcpy (m, in, d->sizeof_message);
    m->n_unknown_fields = 0;
    m->unknown_fields = NULL;
    char pseudonym[SL_POLICY_PSEUDONYM_LEN + 1];
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        bool kept = i < SL_POLICY_MAX_FIELDS && (t->keep[i / 64] & (1ull << (i % 64)));
        if (!kept) {
            s_clear (m, fd);
            continue;
        }
        char *base = (char *) m + fd->offset;
        if (t->schema->subject_field && strcmp (fd->name, t->schema->subject_field) == 0
            && fd->type == PROTOBUF_C_TYPE_STRING && fd->label != PROTOBUF_C_LABEL_REPEATED) {
            if (t->subject == SL_POLICY_SUBJECT_DROP)
                s_clear (m, fd);
            else if (t->subject == SL_POLICY_SUBJECT_PSEUDONYMIZE) {
                const char *raw = *(const char **) base;
                if (raw && *raw) {
                    sl_policy_pseudonymize (key, raw, pseudonym);
                    *(const char **) base = pseudonym;
                }
            }
            continue;
        }
        if (t->coarsen != SL_POLICY_COARSEN_NONE && fd->label != PROTOBUF_C_LABEL_REPEATED
            && sl_schema_is_time_field (t->schema, fd->name)) {
            if (fd->type == PROTOBUF_C_TYPE_INT64 || fd->type == PROTOBUF_C_TYPE_SINT64
                || fd->type == PROTOBUF_C_TYPE_SFIXED64) {
                int64_t v;
                memcpy (&v, base, 8);
                v = s_floor (v, (int64_t) t->coarsen);
                memcpy (base, &v, 8);
            } else if (fd->type == PROTOBUF_C_TYPE_UINT64 || fd->type == PROTOBUF_C_TYPE_FIXED64) {
                uint64_t v;
                memcpy (&v, base, 8);
                v -= v % (uint64_t) t->coarsen;
                memcpy (base, &v, 8);
            }
        }
    }
    size_t need = protobuf_c_message_get_packed_size (m);
    *len = need;
    int rc = 0;
    if (need > cap)
        rc = SL_ETOOBIG;
    else
        protobuf_c_message_pack (m, buf);
    free (m);
    return rc;
}

int
sl_policy_transform_bytes (const sl_policy_transform_t *t, const uint8_t *body, size_t body_len,
                           const uint8_t *key, uint8_t *buf, size_t cap, size_t *len)
{
    if (!t->schema)
        return SL_EINVAL;
    ProtobufCMessage *m = protobuf_c_message_unpack (t->schema->descriptor, NULL, body_len, body);
    if (!m)
        return SL_EDECODE;
    int rc = sl_policy_transform_pack (t, m, key, buf, cap, len);
    protobuf_c_message_free_unpacked (m, NULL);
    return rc;
}

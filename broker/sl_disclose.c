/*  sl_disclose — see sl_disclose.h. */
#include "sl_disclose.h"

#include <stdio.h>
#include <string.h>

#include "sl_error.h"

int
sl_disclose_fields_field (ProtobufCMessageUnknownField *uf, uint8_t *buf, size_t size,
                          const char *fields)
{
    size_t n = strlen (fields);
    if (n >= SL_DISCLOSE_FIELDS_MAX || n + 2 > size)
        return SL_EINVAL;
    buf[0] = (uint8_t) (0x80 | (n & 0x7f));
    buf[1] = (uint8_t) (n >> 7);
    memcpy (buf + 2, fields, n);
    uf->tag = SL_DISCLOSE_FIELDS_TAG;
    uf->wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
    uf->len = n + 2;
    uf->data = buf;
    return 0;
}

int
sl_disclose_fields_read (const ProtobufCMessageUnknownField *uf, char *out, size_t size)
{
    if (uf->tag != SL_DISCLOSE_FIELDS_TAG)
        return 0;
    out[0] = 0;
    if (uf->len < 2 || (uf->data[0] & 0x80) == 0 || (uf->data[1] & 0x80) != 0)
        return -1;
    size_t n = (size_t) (uf->data[0] & 0x7f) | (size_t) uf->data[1] << 7;
    if (n != uf->len - 2 || n >= size)
        return -1;
    memcpy (out, uf->data + 2, n);
    out[n] = 0;
    return 1;
}

/*  True if the ','-separated list holds `name` (len bytes). */
static int
s_has (const char *list, const char *name, size_t len)
{
    for (const char *p = list; *p;) {
        const char *e = strchr (p, ',');
        size_t l = e ? (size_t) (e - p) : strlen (p);
        if (l == len && memcmp (p, name, len) == 0)
            return 1;
        if (!e)
            break;
        p = e + 1;
    }
    return 0;
}

void
sl_disclose_fields_meet (const char *then, const char *now, char *out, size_t size)
{
    size_t o = 0;
    out[0] = 0;
    if (!then) {
        snprintf (out, size, "%s", now);
        return;
    }
    for (const char *p = now; *p;) {
        const char *e = strchr (p, ',');
        size_t l = e ? (size_t) (e - p) : strlen (p);
        if (l > 0 && s_has (then, p, l) && o + l + 2 <= size) {
            if (o)
                out[o++] = ',';
            memcpy (out + o, p, l);
            o += l;
            out[o] = 0;
        }
        if (!e)
            break;
        p = e + 1;
    }
}

void
sl_disclose_bound_field (ProtobufCMessageUnknownField *uf, uint8_t buf[SL_DISCLOSE_BOUND_LEN],
                         const sl_disclose_bound_t *b)
{
    uint64_t v[3] = { b->policy, b->consent, (uint64_t) b->until_s };
    size_t n = 28 + (b->has_pseudonym ? 32 : 0);
    buf[0] = (uint8_t) n;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 8; k++)
            buf[1 + i * 8 + k] = (uint8_t) (v[i] >> (8 * k));
    for (int k = 0; k < 4; k++)
        buf[25 + k] = (uint8_t) (b->slot >> (8 * k));
    if (b->has_pseudonym)
        memcpy (buf + 29, b->pseudonym, 32);
    uf->tag = SL_DISCLOSE_BOUND_TAG;
    uf->wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
    uf->len = n + 1;
    uf->data = buf;
}

int
sl_disclose_bound_read (const ProtobufCMessageUnknownField *uf, sl_disclose_bound_t *b)
{
    if (uf->tag != SL_DISCLOSE_BOUND_TAG)
        return 0;
    if ((uf->len != 29 && uf->len != 61) || uf->data[0] != uf->len - 1)
        return -1;
    uint64_t v[3] = { 0, 0, 0 };
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 8; k++)
            v[i] |= (uint64_t) uf->data[1 + i * 8 + k] << (8 * k);
    b->policy = v[0];
    b->consent = v[1];
    b->until_s = (int64_t) v[2];
    b->slot = 0;
    for (int k = 0; k < 4; k++)
        b->slot |= (uint32_t) uf->data[25 + k] << (8 * k);
    b->has_pseudonym = uf->len == 61;
    if (b->has_pseudonym)
        memcpy (b->pseudonym, uf->data + 29, 32);
    return 1;
}

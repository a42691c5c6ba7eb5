/*  sl_policy_sample — see sl_policy_sample.h. */
#include "sl_policy_sample.h"
#include "sl_policy_int.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_set_number (const ProtobufCFieldDescriptor *fd, void *p, double v, char *err, size_t errlen)
{
    bool integral = v == floor (v);
    switch (fd->type) {
    case PROTOBUF_C_TYPE_FLOAT: *(float *) p = (float) v; return 0;
    case PROTOBUF_C_TYPE_DOUBLE: *(double *) p = v; return 0;
    default: break;
    }
    if (!integral) {
        snprintf (err, errlen, "member '%s': %g is not a whole number", fd->name, v);
        return -1;
    }
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        if (v < INT32_MIN || v > INT32_MAX)
            break;
        *(int32_t *) p = (int32_t) v;
        return 0;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        if (v < 0 || v > UINT32_MAX)
            break;
        *(uint32_t *) p = (uint32_t) v;
        return 0;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        if (v < -9223372036854775808.0 || v >= 9223372036854775808.0)
            break;
        *(int64_t *) p = (int64_t) v;
        return 0;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        if (v < 0 || v >= 18446744073709551616.0)
            break;
        *(uint64_t *) p = (uint64_t) v;
        return 0;
    default:
        snprintf (err, errlen, "member '%s': the field is not a number", fd->name);
        return -1;
    }
    snprintf (err, errlen, "member '%s': %g is out of range for the field", fd->name, v);
    return -1;
}

ProtobufCMessage *
sl_policy_sample_new (const sl_schema_t *schema, const cJSON *obj, char *err, size_t errlen)
{
    const ProtobufCMessageDescriptor *d = schema->descriptor;
    if (!cJSON_IsObject (obj)) {
        snprintf (err, errlen, "the sample record must be a JSON object of %s fields",
                  schema->record_type);
        return NULL;
    }
    ProtobufCMessage *m = calloc (1, d->sizeof_message);
    if (!m) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    d->message_init (m);
    const cJSON *v;
    cJSON_ArrayForEach (v, obj) {
        const ProtobufCFieldDescriptor *fd = sl_schema_field (schema, v->string);
        if (!fd) {
            const char *names[SL_POLICY_MAX_FIELDS];
            size_t n = 0;
            for (unsigned i = 0; i < d->n_fields && n < SL_POLICY_MAX_FIELDS; i++)
                names[n++] = d->fields[i].name;
            const char *best = sl_pbest_match (v->string, names, n);
            snprintf (err, errlen, "member '%s': unknown field of %s%s%s%s", v->string,
                      schema->record_type, best ? "; did you mean '" : "", best ? best : "",
                      best ? "'?" : "");
            goto fail;
        }
        if (fd->label == PROTOBUF_C_LABEL_REPEATED || fd->type == PROTOBUF_C_TYPE_MESSAGE
            || fd->type == PROTOBUF_C_TYPE_BYTES) {
            snprintf (err, errlen, "member '%s': repeated, message and bytes fields cannot be "
                      "given (row conditions compare single strings, numbers and bools)", fd->name);
            goto fail;
        }
        void *p = (char *) m + fd->offset;
        if (fd->type == PROTOBUF_C_TYPE_STRING) {
            if (!cJSON_IsString (v)) {
                snprintf (err, errlen, "member '%s': the field is a string", fd->name);
                goto fail;
            }
            char *s = strdup (v->valuestring);
            if (!s) {
                snprintf (err, errlen, "out of memory");
                goto fail;
            }
            *(char **) p = s;
        }
        else if (fd->type == PROTOBUF_C_TYPE_BOOL) {
            if (!cJSON_IsBool (v)) {
                snprintf (err, errlen, "member '%s': the field is a bool (true or false)", fd->name);
                goto fail;
            }
            *(protobuf_c_boolean *) p = cJSON_IsTrue (v);
        }
        else if (fd->type == PROTOBUF_C_TYPE_ENUM && cJSON_IsString (v)) {
            const ProtobufCEnumValue *ev =
                protobuf_c_enum_descriptor_get_value_by_name (fd->descriptor, v->valuestring);
            if (!ev) {
                snprintf (err, errlen, "member '%s': '%s' is not a value of its enum", fd->name,
                          v->valuestring);
                goto fail;
            }
            *(int32_t *) p = ev->value;
        }
        else if (cJSON_IsNumber (v)) {
            if (s_set_number (fd, p, v->valuedouble, err, errlen) != 0)
                goto fail;
        }
        else {
            snprintf (err, errlen, "member '%s': the field is a number", fd->name);
            goto fail;
        }
        if (fd->quantifier_offset)
            *(protobuf_c_boolean *) ((char *) m + fd->quantifier_offset) = 1;
    }
    return m;
fail:
    sl_policy_sample_destroy (&m);
    return NULL;
}

void
sl_policy_sample_destroy (ProtobufCMessage **msg_p)
{
    if (!msg_p || !*msg_p)
        return;
    protobuf_c_message_free_unpacked (*msg_p, NULL);
    *msg_p = NULL;
}

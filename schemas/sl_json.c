/*  sl_json — the proto3 canonical JSON mapping. See sl_json.h (§ numbers
 *  below refer to its design note).
 *
 *  Implementation notes:
 *   1. Everything goes through the descriptor: offsets, quantifier offsets
 *      and element sizes come from ProtobufCFieldDescriptor, so a descriptor
 *      built at run time works as well as a generated one.
 *   2. Decoded messages are allocated with malloc and initialised either by
 *      the descriptor's message_init or, when that is NULL (a run-time
 *      descriptor), by zeroing and copying default values, so that
 *      protobuf_c_message_free_unpacked (msg, NULL) frees them.
 *   3. A field's value is assigned only once the JSON value has been
 *      converted completely; on error the partly built message is freed by
 *      free_unpacked, which needs every pointer it sees to be either NULL,
 *      the default, or malloc'ed — so nothing is stored half-made.
 */
#include "sl_json.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "sl_error.h"
#include "sl_schema.h"
#include "sl_time.h"

#define S_MAX_DEPTH 64             /* nesting of JSON objects accepted on input */
#define S_PATH_MAX 512
#define S_TWO53 9007199254740992.0 /* 2^53: doubles hold every integer up to here */

static const sl_json_options_t s_no_options = { 0 };

/*  ---- Field helpers --------------------------------------------------- */

size_t
sl_json_field_name (const ProtobufCFieldDescriptor *field, char *out, size_t size)
{
    size_t n = 0;
    int upper = 0;
    if (size == 0)
        return 0;
    for (const char *p = field->name; *p; p++) {
        if (*p == '_') {
            upper = 1;
            continue;
        }
        char c = *p;
        if (upper && c >= 'a' && c <= 'z')
            c = (char) (c - 'a' + 'A');
        upper = 0;
        if (n + 1 < size)
            out[n++] = c;
    }
    out[n] = '\0';
    return n;
}

/*  Size in bytes of one value of `type` as protobuf-c stores it. */
static size_t
s_elem_size (ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_FLOAT: return sizeof (float);
    case PROTOBUF_C_TYPE_DOUBLE: return sizeof (double);
    case PROTOBUF_C_TYPE_BOOL: return sizeof (protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING: return sizeof (char *);
    case PROTOBUF_C_TYPE_BYTES: return sizeof (ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE: return sizeof (ProtobufCMessage *);
    }
    return 0;
}

static int
s_is_int64_kind (ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_SINT64
        || t == PROTOBUF_C_TYPE_SFIXED64 || t == PROTOBUF_C_TYPE_UINT64
        || t == PROTOBUF_C_TYPE_FIXED64;
}

static int
s_is_time_field (const sl_json_options_t *o, const ProtobufCMessageDescriptor *md,
                 const ProtobufCFieldDescriptor *f)
{
    return o->is_time && f->label != PROTOBUF_C_LABEL_REPEATED
        && (f->type == PROTOBUF_C_TYPE_INT64 || f->type == PROTOBUF_C_TYPE_SINT64
            || f->type == PROTOBUF_C_TYPE_SFIXED64)
        && o->is_time (md, f, o->time_arg);
}

static int
s_is_timestamp (const ProtobufCMessageDescriptor *md)
{
    return md && strcmp (md->name, "google.protobuf.Timestamp") == 0;
}

/*  True if `f` is a map field (§8): repeated message "<CamelName>Entry" with
    key = 1 and value = 2. */
static int
s_is_map (const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return 0;
    const ProtobufCMessageDescriptor *e = f->descriptor;
    if (!e || e->n_fields != 2 || strcmp (e->fields[0].name, "key") != 0
        || strcmp (e->fields[1].name, "value") != 0 || e->fields[0].id != 1
        || e->fields[1].id != 2)
        return 0;
    char want[256];
    size_t n = sl_json_field_name (f, want, sizeof want - 8);
    if (n > 0 && want[0] >= 'a' && want[0] <= 'z')
        want[0] = (char) (want[0] - 'a' + 'A');
    strcat (want, "Entry");
    return strcmp (e->short_name, want) == 0;
}

int
sl_json_schema_is_time (const ProtobufCMessageDescriptor *msg,
                        const ProtobufCFieldDescriptor *field, void *arg)
{
    (void) arg;
    const sl_schema_t *s = sl_schema_find (msg->name);
    return s && sl_schema_is_time_field (s, field->name);
}

/*  ---- Time ------------------------------------------------------------ */

/*  Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define S_TIME_MIN (-62135596800LL)
#define S_TIME_MAX (253402300799LL)

int
sl_json_format_time (int64_t t, char *out, size_t size)
{
    if (t < S_TIME_MIN || t > S_TIME_MAX || size < 21)
        return SL_EINVAL;
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t sec = t - days * 86400;
    int64_t y;
    unsigned m, d;
    sl_time_civil_from_days (days, &y, &m, &d);
    snprintf (out, size, "%04d-%02u-%02uT%02d:%02d:%02dZ", (int) y, m, d,
              (int) (sec / 3600), (int) (sec / 60 % 60), (int) (sec % 60));
    return 0;
}

int
sl_json_parse_time (const char *s, int64_t *t, int32_t *nanos)
{
    return sl_time_parse_rfc3339 (s, t, nanos);
}

/*  ---- Encoding -------------------------------------------------------- */

static cJSON *s_encode_message (const ProtobufCMessage *msg, const sl_json_options_t *o,
                                int depth);

/*  A double holding the shortest decimal that reads back as float `f`. */
static double
s_float_as_double (float f)
{
    char buf[40];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf (buf, sizeof buf, "%.*g", prec, (double) f);
        double d = strtod (buf, NULL);
        if ((float) d == f)
            return d;
    }
    return (double) f;
}

static cJSON *
s_encode_real (double d)
{
    if (isnan (d))
        return cJSON_CreateString ("NaN");
    if (isinf (d))
        return cJSON_CreateString (d > 0 ? "Infinity" : "-Infinity");
    /* cJSON prints 15 digits when they come within an epsilon of d, which
       can lose the last bit; 17 digits always read back exactly */
    char buf[32];
    snprintf (buf, sizeof buf, "%.15g", d);
    if (strtod (buf, NULL) == d)
        return cJSON_CreateNumber (d);
    snprintf (buf, sizeof buf, "%.17g", d);
    return cJSON_CreateRaw (buf);
}

static cJSON *
s_encode_timestamp (const ProtobufCMessage *m)
{
    /* google.protobuf.Timestamp: seconds = 1 (int64), nanos = 2 (int32) */
    const ProtobufCMessageDescriptor *md = m->descriptor;
    const ProtobufCFieldDescriptor *fs = protobuf_c_message_descriptor_get_field (md, 1);
    const ProtobufCFieldDescriptor *fn = protobuf_c_message_descriptor_get_field (md, 2);
    int64_t sec = fs ? *(const int64_t *) ((const char *) m + fs->offset) : 0;
    int32_t ns = fn ? *(const int32_t *) ((const char *) m + fn->offset) : 0;
    char buf[48];
    if (ns < 0 || ns > 999999999 || sl_json_format_time (sec, buf, sizeof buf) != 0)
        return cJSON_CreateString ("invalid-timestamp");
    if (ns) {
        char frac[16];
        if (ns % 1000000 == 0)
            snprintf (frac, sizeof frac, ".%03d", (int) (ns / 1000000));
        else if (ns % 1000 == 0)
            snprintf (frac, sizeof frac, ".%06d", (int) (ns / 1000));
        else
            snprintf (frac, sizeof frac, ".%09d", (int) ns);
        size_t n = strlen (buf);
        buf[n - 1] = '\0';               /* drop the Z, add the fraction, put Z back */
        strcat (buf, frac);
        strcat (buf, "Z");
    }
    return cJSON_CreateString (buf);
}

/*  One value of field `f` stored at `p`. */
static cJSON *
s_encode_value (const ProtobufCMessageDescriptor *md, const ProtobufCFieldDescriptor *f,
                const void *p, const sl_json_options_t *o, int depth)
{
    char buf[64];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        return cJSON_CreateNumber (*(const int32_t *) p);
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        return cJSON_CreateNumber (*(const uint32_t *) p);
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64: {
        int64_t v = *(const int64_t *) p;
        if (s_is_time_field (o, md, f) && sl_json_format_time (v, buf, sizeof buf) == 0)
            return cJSON_CreateString (buf);
        snprintf (buf, sizeof buf, "%" PRId64, v);
        return cJSON_CreateString (buf);
    }
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        snprintf (buf, sizeof buf, "%" PRIu64, *(const uint64_t *) p);
        return cJSON_CreateString (buf);
    case PROTOBUF_C_TYPE_FLOAT: {
        float v = *(const float *) p;
        return isfinite (v) ? cJSON_CreateNumber (s_float_as_double (v)) : s_encode_real (v);
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        return s_encode_real (*(const double *) p);
    case PROTOBUF_C_TYPE_BOOL:
        return cJSON_CreateBool (*(const protobuf_c_boolean *) p);
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t v = *(const int32_t *) p;
        const ProtobufCEnumValue *ev = f->descriptor
            ? protobuf_c_enum_descriptor_get_value (f->descriptor, v) : NULL;
        return ev ? cJSON_CreateString (ev->name) : cJSON_CreateNumber (v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *) p;
        return cJSON_CreateString (s ? s : "");
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        size_t n = sodium_base64_ENCODED_LEN (b->len, sodium_base64_VARIANT_ORIGINAL);
        char *text = malloc (n);
        if (!text)
            return NULL;
        if (b->len)
            sodium_bin2base64 (text, n, b->data, b->len, sodium_base64_VARIANT_ORIGINAL);
        else
            text[0] = '\0';
        cJSON *j = cJSON_CreateString (text);
        free (text);
        return j;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *) p;
        if (!m)
            return cJSON_CreateNull ();
        if (s_is_timestamp (m->descriptor))
            return s_encode_timestamp (m);
        return s_encode_message (m, o, depth + 1);
    }
    }
    return NULL;
}

/*  True if a proto3 field without presence holds its default (§9). */
static int
s_is_default (const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *) p;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *) p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *) p == NULL;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *) p == 0 && !signbit (*(const float *) p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *) p == 0 && !signbit (*(const double *) p);
    default: {
        size_t n = s_elem_size (f->type);
        const unsigned char *b = p;
        for (size_t i = 0; i < n; i++)
            if (b[i])
                return 0;
        return 1;
    }
    }
}

/*  Map key text of an entry's key field. */
static int
s_map_key_text (const ProtobufCFieldDescriptor *kf, const void *p, char *buf, size_t size)
{
    switch (kf->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *) p;
        snprintf (buf, size, "%s", s ? s : "");
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        snprintf (buf, size, "%s", *(const protobuf_c_boolean *) p ? "true" : "false");
        return 0;
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        snprintf (buf, size, "%" PRId32, *(const int32_t *) p);
        return 0;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        snprintf (buf, size, "%" PRIu32, *(const uint32_t *) p);
        return 0;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        snprintf (buf, size, "%" PRId64, *(const int64_t *) p);
        return 0;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        snprintf (buf, size, "%" PRIu64, *(const uint64_t *) p);
        return 0;
    default:
        return -1;
    }
}

static cJSON *
s_encode_message (const ProtobufCMessage *msg, const sl_json_options_t *o, int depth)
{
    const ProtobufCMessageDescriptor *md = msg->descriptor;
    cJSON *obj = cJSON_CreateObject ();
    if (!obj || depth > S_MAX_DEPTH)
        goto fail;
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &md->fields[i];
        const char *base = (const char *) msg;
        const void *p = base + f->offset;
        char name[256];
        if (o->proto_names)
            snprintf (name, sizeof name, "%s", f->name);
        else
            sl_json_field_name (f, name, sizeof name);
        cJSON *v = NULL;

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *) (base + f->quantifier_offset);
            if (n == 0 && !o->emit_defaults)
                continue;
            const char *arr = *(char *const *) p;
            size_t es = s_elem_size (f->type);
            if (s_is_map (f)) {
                v = cJSON_CreateObject ();
                if (!v)
                    goto fail;
                const ProtobufCFieldDescriptor *kf = &((const ProtobufCMessageDescriptor *) f->descriptor)->fields[0];
                const ProtobufCFieldDescriptor *vf = &((const ProtobufCMessageDescriptor *) f->descriptor)->fields[1];
                for (size_t k = 0; k < n; k++) {
                    const ProtobufCMessage *e = ((ProtobufCMessage *const *) arr)[k];
                    char buf[128];
                    const char *key = buf;
                    if (kf->type == PROTOBUF_C_TYPE_STRING) {
                        /* any length: a string key is never cut */
                        key = *(char *const *) ((const char *) e + kf->offset);
                        if (!key)
                            key = "";
                    } else if (s_map_key_text (kf, (const char *) e + kf->offset, buf,
                                               sizeof buf) != 0)
                        continue;
                    cJSON *ev = s_encode_value (e->descriptor, vf,
                                                (const char *) e + vf->offset, o, depth);
                    if (!ev) {
                        cJSON_Delete (v);
                        goto fail;
                    }
                    cJSON_DeleteItemFromObjectCaseSensitive (v, key);  /* last one wins */
                    cJSON_AddItemToObject (v, key, ev);
                }
            } else {
                v = cJSON_CreateArray ();
                if (!v)
                    goto fail;
                for (size_t k = 0; k < n; k++) {
                    cJSON *ev = s_encode_value (md, f, arr + k * es, o, depth);
                    if (!ev) {
                        cJSON_Delete (v);
                        goto fail;
                    }
                    cJSON_AddItemToArray (v, ev);
                }
            }
        } else {
            int present;
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                present = *(const uint32_t *) (base + f->quantifier_offset) == f->id;
            else if (f->label == PROTOBUF_C_LABEL_REQUIRED)
                present = 1;
            else if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
                if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
                    present = *(void *const *) p != NULL
                        && (f->type == PROTOBUF_C_TYPE_MESSAGE
                            || *(void *const *) p != f->default_value);
                else
                    present = *(const protobuf_c_boolean *) (base + f->quantifier_offset);
            } else
                present = !s_is_default (f, p);
            if (!present && !(o->emit_defaults && f->label == PROTOBUF_C_LABEL_NONE
                              && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                              && f->type != PROTOBUF_C_TYPE_MESSAGE))
                continue;
            v = s_encode_value (md, f, p, o, depth);
        }
        if (!v)
            goto fail;
        cJSON_AddItemToObject (obj, name, v);
    }
    return obj;
fail:
    cJSON_Delete (obj);
    return NULL;
}

cJSON *
sl_json_encode (const ProtobufCMessage *msg, const sl_json_options_t *opts)
{
    if (!msg)
        return NULL;
    return s_encode_message (msg, opts ? opts : &s_no_options, 0);
}

int
sl_json_encode_packed (const ProtobufCMessageDescriptor *desc, const void *body,
                       size_t size, const sl_json_options_t *opts, cJSON **json_p,
                       char *err, size_t errlen)
{
    *json_p = NULL;
    ProtobufCMessage *m = protobuf_c_message_unpack (desc, NULL, size, body);
    if (!m) {
        if (err && errlen)
            snprintf (err, errlen, "the %zu-byte body does not decode as %s", size, desc->name);
        return SL_EDECODE;
    }
    *json_p = sl_json_encode (m, opts);
    protobuf_c_message_free_unpacked (m, NULL);
    if (!*json_p) {
        if (err && errlen)
            snprintf (err, errlen, "out of memory encoding %s as JSON", desc->name);
        return SL_ENOMEM;
    }
    return 0;
}

/*  ---- Decoding -------------------------------------------------------- */

typedef struct {
    const sl_json_options_t *o;
    char path[S_PATH_MAX];
    size_t plen;
    char *err;
    size_t errlen;
    int rc;
} s_dec_t;

static void
s_path_push (s_dec_t *d, const char *fmt, ...)
{
    if (d->plen >= sizeof d->path - 1)
        return;
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (d->path + d->plen, sizeof d->path - d->plen, fmt, ap);
    va_end (ap);
    if (n > 0)
        d->plen += (size_t) n < sizeof d->path - d->plen ? (size_t) n : sizeof d->path - d->plen - 1;
}

static void
s_path_pop (s_dec_t *d, size_t plen)
{
    d->plen = plen;
    d->path[plen] = '\0';
}

/*  A short description of a JSON value for error messages. */
static void
s_describe (const cJSON *v, char *buf, size_t size)
{
    if (!v)
        snprintf (buf, size, "nothing");
    else if (cJSON_IsString (v)) {
        const char *s = v->valuestring;
        if (strlen (s) > 40)
            snprintf (buf, size, "the string \"%.37s...\"", s);
        else
            snprintf (buf, size, "the string \"%s\"", s);
    } else if (cJSON_IsNumber (v))
        snprintf (buf, size, "the number %.17g", v->valuedouble);
    else if (cJSON_IsBool (v))
        snprintf (buf, size, "%s", cJSON_IsTrue (v) ? "true" : "false");
    else if (cJSON_IsNull (v))
        snprintf (buf, size, "null");
    else if (cJSON_IsArray (v))
        snprintf (buf, size, "an array");
    else if (cJSON_IsObject (v))
        snprintf (buf, size, "an object");
    else
        snprintf (buf, size, "an invalid value");
}

static int
s_fail (s_dec_t *d, const cJSON *v, const char *fmt, ...)
{
    if (d->rc == 0)
        d->rc = SL_EPARSE;
    if (!d->err || !d->errlen)
        return d->rc;
    char what[256], got[96];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (what, sizeof what, fmt, ap);
    va_end (ap);
    if (v) {
        s_describe (v, got, sizeof got);
        snprintf (d->err, d->errlen, "%s: %s, got %s", d->path, what, got);
    } else
        snprintf (d->err, d->errlen, "%s: %s", d->path, what);
    return d->rc;
}

static int
s_oom (s_dec_t *d)
{
    d->rc = SL_ENOMEM;
    if (d->err && d->errlen)
        snprintf (d->err, d->errlen, "%s: out of memory", d->path);
    return SL_ENOMEM;
}

static int
s_utf8_valid (const unsigned char *s)
{
    while (*s) {
        unsigned c = *s;
        int n;
        unsigned min;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xe0) == 0xc0)
            n = 1, min = 0x80, c &= 0x1f;
        else if ((c & 0xf0) == 0xe0)
            n = 2, min = 0x800, c &= 0x0f;
        else if ((c & 0xf8) == 0xf0)
            n = 3, min = 0x10000, c &= 0x07;
        else
            return 0;
        s++;
        for (int i = 0; i < n; i++, s++) {
            if ((*s & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (*s & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
    }
    return 1;
}

/*  Parses a decimal integer string exactly (optional '-' for signed). */
static int
s_parse_int_text (const char *s, int is_signed, int64_t *sv, uint64_t *uv)
{
    if (!*s || (s[0] == '-' && !is_signed) || s[0] == '+' || s[0] == ' ')
        return -1;
    const char *digits = s[0] == '-' ? s + 1 : s;
    if (!*digits)
        return -1;
    for (const char *p = digits; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    char *end;
    errno = 0;
    if (is_signed)
        *sv = strtoll (s, &end, 10);
    else
        *uv = strtoull (s, &end, 10);
    if (errno == ERANGE || *end)
        return -1;
    return 0;
}

/*  Integer value of `v` for an integer field of type `t`. */
static int
s_decode_int (s_dec_t *d, const ProtobufCFieldDescriptor *f, const cJSON *v, void *out)
{
    ProtobufCType t = f->type;
    int is_signed = !(t == PROTOBUF_C_TYPE_UINT32 || t == PROTOBUF_C_TYPE_FIXED32
                      || t == PROTOBUF_C_TYPE_UINT64 || t == PROTOBUF_C_TYPE_FIXED64);
    int wide = s_is_int64_kind (t);
    int64_t sv = 0;
    uint64_t uv = 0;
    const char *kind = wide ? (is_signed ? "a 64-bit integer" : "an unsigned 64-bit integer")
                            : (is_signed ? "a 32-bit integer" : "an unsigned 32-bit integer");
    if (cJSON_IsNumber (v)) {
        double x = v->valuedouble;
        if (!isfinite (x) || x != floor (x))
            return s_fail (d, v, "expected %s", kind);
        if (wide && fabs (x) > S_TWO53)
            return s_fail (d, v, "expected %s; beyond 2^53 send it as a decimal string", kind);
        if (is_signed) {
            if (x < -9223372036854775808.0 || x >= 9223372036854775808.0)
                return s_fail (d, v, "%s is out of range", kind);
            sv = (int64_t) x;
        } else {
            if (x < 0 || x >= 18446744073709551616.0)
                return s_fail (d, v, "expected %s (not negative)", kind);
            uv = (uint64_t) x;
        }
    } else if (cJSON_IsString (v)) {
        if (s_parse_int_text (v->valuestring, is_signed, &sv, &uv) != 0)
            return s_fail (d, v, "expected %s as decimal digits", kind);
    } else
        return s_fail (d, v, "expected %s", kind);

    switch (t) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        if (sv < INT32_MIN || sv > INT32_MAX)
            return s_fail (d, v, "%s is out of range", kind);
        *(int32_t *) out = (int32_t) sv;
        return 0;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        if (uv > UINT32_MAX)
            return s_fail (d, v, "%s is out of range", kind);
        *(uint32_t *) out = (uint32_t) uv;
        return 0;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        *(uint64_t *) out = uv;
        return 0;
    default:
        *(int64_t *) out = sv;
        return 0;
    }
}

static int
s_decode_real (s_dec_t *d, const cJSON *v, double *out, int is_float)
{
    double x;
    if (cJSON_IsNumber (v))
        x = v->valuedouble;
    else if (cJSON_IsString (v)) {
        const char *s = v->valuestring;
        if (strcmp (s, "NaN") == 0)
            x = NAN;
        else if (strcmp (s, "Infinity") == 0)
            x = INFINITY;
        else if (strcmp (s, "-Infinity") == 0)
            x = -INFINITY;
        else {
            char *end;
            errno = 0;
            if (!*s || isspace ((unsigned char) *s))
                return s_fail (d, v, "expected a number");
            x = strtod (s, &end);
            if (*end || !isfinite (x) || errno == ERANGE)
                return s_fail (d, v, "expected a number");
        }
    } else
        return s_fail (d, v, "expected a number");
    /* doubles from FLT_MAX up to (not including) the midpoint to 2^128 round to FLT_MAX */
    if (is_float && isfinite (x) && fabs (x) >= 0x1.ffffffp127)
        return s_fail (d, v, "the number is out of range for a float");
    *out = x;
    return 0;
}

static int
s_decode_bytes (s_dec_t *d, const cJSON *v, ProtobufCBinaryData *out)
{
    if (!cJSON_IsString (v))
        return s_fail (d, v, "expected base64 text");
    const char *s = v->valuestring;
    size_t n = strlen (s);
    out->len = 0;
    out->data = NULL;
    if (n == 0)
        return 0;
    uint8_t *buf = malloc (n);  /* base64 never decodes to more bytes than its length */
    if (!buf)
        return s_oom (d);
    static const int variants[] = {
        sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING,
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        size_t len = 0;
        const char *end = NULL;
        if (sodium_base642bin (buf, n, s, n, NULL, &len, &end, variants[i]) == 0
            && end == s + n) {
            out->data = buf;
            out->len = len;
            return 0;
        }
    }
    free (buf);
    return s_fail (d, v, "expected base64 text (RFC 4648, standard or URL-safe alphabet)");
}

static int s_decode_object (s_dec_t *d, const cJSON *json,
                            const ProtobufCMessageDescriptor *md, ProtobufCMessage **out,
                            int depth);

static ProtobufCMessage *
s_new_message (const ProtobufCMessageDescriptor *md)
{
    ProtobufCMessage *m = calloc (1, md->sizeof_message);
    if (!m)
        return NULL;
    if (md->message_init) {
        md->message_init (m);
        return m;
    }
    m->descriptor = md;
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &md->fields[i];
        if (!f->default_value || f->label == PROTOBUF_C_LABEL_REPEATED
            || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            continue;
        char *p = (char *) m + f->offset;
        if (f->type == PROTOBUF_C_TYPE_STRING)
            *(const void **) p = f->default_value;
        else if (f->type == PROTOBUF_C_TYPE_BYTES)
            memcpy (p, f->default_value, sizeof (ProtobufCBinaryData));
        else if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            memcpy (p, f->default_value, s_elem_size (f->type));
    }
    return m;
}

static int
s_decode_timestamp (s_dec_t *d, const cJSON *v, const ProtobufCMessageDescriptor *md,
                    ProtobufCMessage **out)
{
    int64_t t;
    int32_t ns;
    if (!cJSON_IsString (v) || sl_json_parse_time (v->valuestring, &t, &ns) != 0)
        return s_fail (d, v, "expected an RFC 3339 time such as \"2026-03-01T10:00:00Z\"");
    if (t < S_TIME_MIN || t > S_TIME_MAX)
        return s_fail (d, v, "the time is outside 0001-01-01 .. 9999-12-31");
    ProtobufCMessage *m = s_new_message (md);
    if (!m)
        return s_oom (d);
    const ProtobufCFieldDescriptor *fs = protobuf_c_message_descriptor_get_field (md, 1);
    const ProtobufCFieldDescriptor *fn = protobuf_c_message_descriptor_get_field (md, 2);
    if (fs)
        *(int64_t *) ((char *) m + fs->offset) = t;
    if (fn)
        *(int32_t *) ((char *) m + fn->offset) = ns;
    *out = m;
    return 0;
}

/*  Converts one JSON value for field `f` into `out` (storage of one
    element). Allocated results (strings, bytes, messages) are owned by
    `out` on success only. */
static int
s_decode_value (s_dec_t *d, const ProtobufCMessageDescriptor *md,
                const ProtobufCFieldDescriptor *f, const cJSON *v, void *out, int depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        if (s_is_time_field (d->o, md, f) && cJSON_IsString (v)
            && strchr (v->valuestring, '-') && strchr (v->valuestring, ':')) {
            int64_t t;
            if (sl_json_parse_time (v->valuestring, &t, NULL) != 0)
                return s_fail (d, v, "expected an RFC 3339 time such as "
                               "\"2026-03-01T10:00:00Z\" (whole seconds) or Unix seconds");
            *(int64_t *) out = t;
            return 0;
        }
        if (s_is_time_field (d->o, md, f) && !cJSON_IsNumber (v)
            && !(cJSON_IsString (v) && s_parse_int_text (v->valuestring, 1,
                                                         &(int64_t) { 0 }, &(uint64_t) { 0 }) == 0))
            return s_fail (d, v, "expected an RFC 3339 time such as "
                           "\"2026-03-01T10:00:00Z\" or Unix seconds");
        return s_decode_int (d, f, v, out);
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        return s_decode_int (d, f, v, out);
    case PROTOBUF_C_TYPE_FLOAT: {
        double x;
        if (s_decode_real (d, v, &x, 1) != 0)
            return d->rc;
        *(float *) out = (float) x;
        return 0;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        return s_decode_real (d, v, (double *) out, 0);
    case PROTOBUF_C_TYPE_BOOL:
        if (!cJSON_IsBool (v))
            return s_fail (d, v, "expected true or false");
        *(protobuf_c_boolean *) out = cJSON_IsTrue (v) ? 1 : 0;
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        if (cJSON_IsString (v)) {
            const ProtobufCEnumValue *ev = ed
                ? protobuf_c_enum_descriptor_get_value_by_name (ed, v->valuestring) : NULL;
            if (!ev) {
                char names[160] = "";
                size_t used = 0;
                for (unsigned i = 0; ed && i < ed->n_values && used < sizeof names - 40; i++)
                    used += (size_t) snprintf (names + used, sizeof names - used, "%s%s",
                                               i ? ", " : "", ed->values[i].name);
                return s_fail (d, v, "expected one of %s%s (or its number)", names,
                               ed && used >= sizeof names - 40 ? ", ..." : "");
            }
            *(int32_t *) out = ev->value;
            return 0;
        }
        if (cJSON_IsNumber (v)) {
            double x = v->valuedouble;
            if (x != floor (x) || x < INT32_MIN || x > INT32_MAX)
                return s_fail (d, v, "expected an enum value name or a 32-bit integer");
            *(int32_t *) out = (int32_t) x;
            return 0;
        }
        return s_fail (d, v, "expected an enum value name");
    }
    case PROTOBUF_C_TYPE_STRING: {
        if (!cJSON_IsString (v))
            return s_fail (d, v, "expected a string");
        if (!s_utf8_valid ((const unsigned char *) v->valuestring))
            return s_fail (d, NULL, "the string is not valid UTF-8");
        char *s = strdup (v->valuestring);
        if (!s)
            return s_oom (d);
        *(char **) out = s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return s_decode_bytes (d, v, out);
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessageDescriptor *sub = f->descriptor;
        if (s_is_timestamp (sub))
            return s_decode_timestamp (d, v, sub, out);
        if (!cJSON_IsObject (v))
            return s_fail (d, v, "expected an object (%s)", sub->name);
        return s_decode_object (d, v, sub, out, depth + 1);
    }
    }
    return s_fail (d, v, "unsupported field type");
}

/*  Frees one element's owned storage after a failed conversion. */
static void
s_free_value (const ProtobufCFieldDescriptor *f, void *p)
{
    if (f->type == PROTOBUF_C_TYPE_STRING)
        free (*(char **) p);
    else if (f->type == PROTOBUF_C_TYPE_BYTES)
        free (((ProtobufCBinaryData *) p)->data);
    else if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage **) p)
        protobuf_c_message_free_unpacked (*(ProtobufCMessage **) p, NULL);
}

/*  Releases what a singular field held before a new value is stored (only
    the default could be there: duplicates are refused). */
static void
s_release_singular (const ProtobufCFieldDescriptor *f, void *p)
{
    if (f->type == PROTOBUF_C_TYPE_STRING) {
        char *s = *(char **) p;
        if (s && s != f->default_value && s != protobuf_c_empty_string)
            free (s);
    } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
        ProtobufCBinaryData *b = p;
        const ProtobufCBinaryData *def = f->default_value;
        if (b->data && (!def || b->data != def->data))
            free (b->data);
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage **) p)
        protobuf_c_message_free_unpacked (*(ProtobufCMessage **) p, NULL);
}

/*  Parses a map key (JSON object member name) as the entry's key type. */
static int
s_decode_map_key (s_dec_t *d, const ProtobufCFieldDescriptor *kf, const char *key, void *out)
{
    switch (kf->type) {
    case PROTOBUF_C_TYPE_STRING: {
        if (!s_utf8_valid ((const unsigned char *) key))
            return s_fail (d, NULL, "the map key is not valid UTF-8");
        char *s = strdup (key);
        if (!s)
            return s_oom (d);
        *(char **) out = s;
        return 0;
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (strcmp (key, "true") == 0 || strcmp (key, "false") == 0) {
            *(protobuf_c_boolean *) out = key[0] == 't';
            return 0;
        }
        return s_fail (d, NULL, "the map key \"%s\" is not true or false", key);
    default: {
        cJSON tmp;
        memset (&tmp, 0, sizeof tmp);
        tmp.type = cJSON_String;
        tmp.valuestring = (char *) key;
        return s_decode_int (d, kf, &tmp, out);
    }
    }
}

static int
s_strcmp_p (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

/*  Refuses a map that names one key twice ("1" and "01" are one int key). */
static int
s_check_map_keys (s_dec_t *d, const ProtobufCFieldDescriptor *kf, ProtobufCMessage **e,
                  size_t n)
{
    if (n < 2)
        return 0;
    char **keys = calloc (n, sizeof *keys);
    int rc = 0;
    if (!keys)
        return s_oom (d);
    for (size_t i = 0; i < n; i++) {
        char buf[128];
        if (s_map_key_text (kf, (const char *) e[i] + kf->offset, buf, sizeof buf) != 0)
            buf[0] = '\0';
        if (kf->type == PROTOBUF_C_TYPE_STRING)
            keys[i] = strdup (*(char **) ((char *) e[i] + kf->offset));
        else
            keys[i] = strdup (buf);
        if (!keys[i]) {
            rc = s_oom (d);
            goto out;
        }
    }
    qsort (keys, n, sizeof *keys, s_strcmp_p);
    for (size_t i = 1; i < n; i++)
        if (strcmp (keys[i - 1], keys[i]) == 0) {
            rc = s_fail (d, NULL, "the map key \"%.60s\" is given twice", keys[i]);
            goto out;
        }
out:
    for (size_t i = 0; i < n; i++)
        free (keys[i]);
    free (keys);
    return rc;
}

/*  Appends `n` converted elements to repeated field `f` of `m`. Takes the
    elements in `arr` (n * element size bytes, malloc'ed). */
static void
s_set_repeated (ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, void *arr, size_t n)
{
    char *base = (char *) m;
    *(size_t *) (base + f->quantifier_offset) = n;
    *(void **) (base + f->offset) = arr;
}

static int
s_decode_repeated (s_dec_t *d, const ProtobufCMessageDescriptor *md,
                   const ProtobufCFieldDescriptor *f, const cJSON *v,
                   ProtobufCMessage *m, int depth)
{
    size_t es = s_elem_size (f->type);
    size_t n = 0, cap = 0;
    char *arr = NULL;
    size_t plen = d->plen;
    int rc = 0;

    if (cJSON_IsNull (v))
        return 0;
    if (s_is_map (f)) {
        if (!cJSON_IsObject (v))
            return s_fail (d, v, "expected an object (a map)");
        const ProtobufCMessageDescriptor *ed = f->descriptor;
        const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
        size_t count = (size_t) cJSON_GetArraySize (v);
        arr = calloc (count ? count : 1, sizeof (ProtobufCMessage *));
        if (!arr)
            return s_oom (d);
        for (const cJSON *it = v->child; it; it = it->next) {
            s_path_push (d, "[\"%s\"]", it->string);
            ProtobufCMessage *e = s_new_message (ed);
            if (!e) {
                rc = s_oom (d);
                goto out;
            }
            ((ProtobufCMessage **) arr)[n++] = e;
            /* decode into scratch then move, so a failure leaves `e` freeable */
            union { char *s; uint64_t u; ProtobufCBinaryData b; ProtobufCMessage *m; double x; } tmp;
            memset (&tmp, 0, sizeof tmp);
            if ((rc = s_decode_map_key (d, kf, it->string, &tmp)) != 0)
                goto out;
            s_release_singular (kf, (char *) e + kf->offset);
            memcpy ((char *) e + kf->offset, &tmp, s_elem_size (kf->type));
            if (cJSON_IsNull (it)) {
                s_path_pop (d, plen);
                continue;
            }
            memset (&tmp, 0, sizeof tmp);
            if ((rc = s_decode_value (d, ed, vf, it, &tmp, depth)) != 0)
                goto out;
            s_release_singular (vf, (char *) e + vf->offset);
            memcpy ((char *) e + vf->offset, &tmp, s_elem_size (vf->type));
            s_path_pop (d, plen);
        }
        if ((rc = s_check_map_keys (d, kf, (ProtobufCMessage **) arr, n)) != 0)
            goto out;
        s_set_repeated (m, f, arr, n);
        return 0;
    }
    if (!cJSON_IsArray (v))
        return s_fail (d, v, "expected an array");
    cap = (size_t) cJSON_GetArraySize (v);
    arr = calloc (cap ? cap : 1, es);
    if (!arr)
        return s_oom (d);
    size_t i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        s_path_push (d, "[%zu]", i);
        if (cJSON_IsNull (it) && f->type != PROTOBUF_C_TYPE_MESSAGE) {
            rc = s_fail (d, it, "expected an element (null is not allowed in a list)");
            goto out;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && cJSON_IsNull (it)) {
            rc = s_fail (d, it, "expected an object (null is not allowed in a list)");
            goto out;
        }
        if ((rc = s_decode_value (d, md, f, it, arr + n * es, depth)) != 0)
            goto out;
        n++;
        s_path_pop (d, plen);
    }
    s_set_repeated (m, f, arr, n);
    return 0;
out:
    if (arr) {
        if (s_is_map (f)) {
            for (size_t k = 0; k < n; k++)
                protobuf_c_message_free_unpacked (((ProtobufCMessage **) arr)[k], NULL);
        } else
            for (size_t k = 0; k < n; k++)
                s_free_value (f, arr + k * es);
        free (arr);
    }
    return rc;
}

/*  The field of `md` that JSON member `key` names (§1), or NULL. */
static const ProtobufCFieldDescriptor *
s_find_field (const ProtobufCMessageDescriptor *md, const char *key)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name (md, key);
    if (f)
        return f;
    char name[256];
    for (unsigned i = 0; i < md->n_fields; i++) {
        sl_json_field_name (&md->fields[i], name, sizeof name);
        if (strcmp (name, key) == 0)
            return &md->fields[i];
    }
    return NULL;
}

static int
s_decode_object (s_dec_t *d, const cJSON *json, const ProtobufCMessageDescriptor *md,
                 ProtobufCMessage **out, int depth)
{
    int rc = 0;
    size_t plen = d->plen;
    unsigned char *seen = NULL;
    ProtobufCMessage *m = NULL;

    if (depth > S_MAX_DEPTH)
        return s_fail (d, NULL, "nested deeper than %d objects", S_MAX_DEPTH);
    m = s_new_message (md);
    seen = calloc (md->n_fields ? md->n_fields : 1, 1);
    if (!m || !seen) {
        rc = s_oom (d);
        goto out;
    }
    for (const cJSON *it = json->child; it; it = it->next) {
        const char *key = it->string ? it->string : "";
        const ProtobufCFieldDescriptor *f = s_find_field (md, key);
        if (!f) {
            rc = s_fail (d, NULL, "unknown field \"%s\" (%s has no such field)", key, md->name);
            goto out;
        }
        s_path_push (d, ".%s", key);
        size_t fi = (size_t) (f - md->fields);
        if (seen[fi]) {
            rc = s_fail (d, NULL, "field \"%s\" is given twice", f->name);
            goto out;
        }
        seen[fi] = 1;
        char *p = (char *) m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if ((rc = s_decode_repeated (d, md, f, it, m, depth)) != 0)
                goto out;
        } else if (cJSON_IsNull (it)) {
            /* null: keep the default (§9) */
        } else {
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                uint32_t *kase = (uint32_t *) ((char *) m + f->quantifier_offset);
                if (*kase != 0) {
                    const ProtobufCFieldDescriptor *other =
                        protobuf_c_message_descriptor_get_field (md, (unsigned) *kase);
                    rc = s_fail (d, NULL, "\"%s\" and \"%s\" are members of one oneof; "
                                 "give only one", other ? other->name : "?", f->name);
                    goto out;
                }
            }
            union { char *s; uint64_t u; ProtobufCBinaryData b; ProtobufCMessage *m; double x; } tmp;
            memset (&tmp, 0, sizeof tmp);
            if ((rc = s_decode_value (d, md, f, it, &tmp, depth)) != 0)
                goto out;
            if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
                s_release_singular (f, p);
            memcpy (p, &tmp, s_elem_size (f->type));
            if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                *(uint32_t *) ((char *) m + f->quantifier_offset) = f->id;
            else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING
                     && f->type != PROTOBUF_C_TYPE_MESSAGE)
                *(protobuf_c_boolean *) ((char *) m + f->quantifier_offset) = 1;
        }
        s_path_pop (d, plen);
    }
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &md->fields[i];
        if (f->label == PROTOBUF_C_LABEL_REQUIRED && f->type == PROTOBUF_C_TYPE_MESSAGE
            && !*(ProtobufCMessage **) ((char *) m + f->offset)) {
            rc = s_fail (d, NULL, "the required field \"%s\" is missing", f->name);
            goto out;
        }
    }
    *out = m;
    m = NULL;
out:
    if (m)
        protobuf_c_message_free_unpacked (m, NULL);
    free (seen);
    return rc;
}

int
sl_json_decode (const cJSON *json, const ProtobufCMessageDescriptor *desc,
                const sl_json_options_t *opts, ProtobufCMessage **msg_p,
                char *err, size_t errlen)
{
    s_dec_t d;
    memset (&d, 0, sizeof d);
    d.o = opts ? opts : &s_no_options;
    d.err = err;
    d.errlen = errlen;
    strcpy (d.path, "$");
    d.plen = 1;
    *msg_p = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!cJSON_IsObject (json))
        return s_fail (&d, json, "expected a JSON object (a %s record)", desc->name);
    return s_decode_object (&d, json, desc, msg_p, 0);
}

int
sl_json_decode_packed (const cJSON *json, const ProtobufCMessageDescriptor *desc,
                       const sl_json_options_t *opts, uint8_t **body_p,
                       size_t *size_p, char *err, size_t errlen)
{
    ProtobufCMessage *m = NULL;
    *body_p = NULL;
    *size_p = 0;
    int rc = sl_json_decode (json, desc, opts, &m, err, errlen);
    if (rc != 0)
        return rc;
    size_t n = protobuf_c_message_get_packed_size (m);
    uint8_t *buf = malloc (n ? n : 1);
    if (!buf) {
        protobuf_c_message_free_unpacked (m, NULL);
        if (err && errlen)
            snprintf (err, errlen, "out of memory packing %s", desc->name);
        return SL_ENOMEM;
    }
    protobuf_c_message_pack (m, buf);
    protobuf_c_message_free_unpacked (m, NULL);
    *body_p = buf;
    *size_p = n;
    return 0;
}

/*  ---- Parsing text ---------------------------------------------------- */

static void
s_line_col (const char *text, size_t off, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n')
            l++, c = 1;
        else
            c++;
    }
    *line = l;
    *col = c;
}

int
sl_json_parse (const char *text, size_t len, cJSON **json_p,
               int *line, int *col, char *err, size_t errlen)
{
    *json_p = NULL;
    const char *end = NULL;
    int l = 0, c = 0;
    /* cJSON reads until NUL or `len`: an embedded NUL ends the text early */
    size_t real = strnlen (text, len);
    cJSON *j = cJSON_ParseWithLengthOpts (text, real, &end, 0);
    if (j) {
        /* only white space may follow the value */
        const char *p = end;
        while (p < text + real && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
            p++;
        if (p == text + real && real == len) {
            *json_p = j;
            return 0;
        }
        cJSON_Delete (j);
        size_t off = (size_t) (p - text);
        s_line_col (text, off, &l, &c);
        if (err && errlen)
            snprintf (err, errlen, "line %d, column %d: %s after the JSON value", l, c,
                      off < real ? "unexpected text" : "a NUL byte");
    } else {
        size_t off = end && end >= text && end <= text + real ? (size_t) (end - text) : 0;
        s_line_col (text, off, &l, &c);
        if (err && errlen) {
            if (real == 0 || off >= real)
                snprintf (err, errlen, "line %d, column %d: the JSON text ends too soon", l, c);
            else {
                unsigned char ch = (unsigned char) text[off];
                if (ch >= 0x20 && ch < 0x7f)
                    snprintf (err, errlen, "line %d, column %d: invalid JSON at '%c'", l, c, ch);
                else
                    snprintf (err, errlen, "line %d, column %d: invalid JSON at byte 0x%02x",
                              l, c, ch);
            }
        }
    }
    if (line)
        *line = l;
    if (col)
        *col = c;
    return SL_EPARSE;
}

/*  ---- JSON Schema ----------------------------------------------------- */

static cJSON *s_schema_message (const ProtobufCMessageDescriptor *md, const sl_json_options_t *o,
                                cJSON *defs);

static void
s_def_name (const ProtobufCMessageDescriptor *md, char *out, size_t size)
{
    snprintf (out, size, "%s", md->name);
}

static cJSON *
s_schema_ref (const ProtobufCMessageDescriptor *md, const sl_json_options_t *o, cJSON *defs)
{
    char name[256], ref[300];
    s_def_name (md, name, sizeof name);
    if (!cJSON_GetObjectItemCaseSensitive (defs, name)) {
        cJSON *placeholder = cJSON_CreateObject ();     /* breaks recursion */
        cJSON_AddItemToObject (defs, name, placeholder);
        cJSON *s = s_schema_message (md, o, defs);
        if (!s)
            return NULL;
        cJSON_ReplaceItemInObjectCaseSensitive (defs, name, s);
    }
    snprintf (ref, sizeof ref, "#/$defs/%s", name);
    cJSON *r = cJSON_CreateObject ();
    cJSON_AddStringToObject (r, "$ref", ref);
    return r;
}

static cJSON *
s_schema_int (int wide, int is_signed, int bits)
{
    cJSON *s = cJSON_CreateObject ();
    if (wide) {
        cJSON *types = cJSON_AddArrayToObject (s, "type");
        cJSON_AddItemToArray (types, cJSON_CreateString ("string"));
        cJSON_AddItemToArray (types, cJSON_CreateString ("integer"));
        cJSON_AddStringToObject (s, "pattern", is_signed ? "^-?[0-9]+$" : "^[0-9]+$");
        cJSON_AddStringToObject (s, "description", is_signed
            ? "64-bit signed integer, printed as a decimal string; integers up to 2^53 accepted"
            : "64-bit unsigned integer, printed as a decimal string; integers up to 2^53 accepted");
        return s;
    }
    cJSON_AddStringToObject (s, "type", "integer");
    (void) bits;
    if (is_signed) {
        cJSON_AddNumberToObject (s, "minimum", INT32_MIN);
        cJSON_AddNumberToObject (s, "maximum", INT32_MAX);
    } else {
        cJSON_AddNumberToObject (s, "minimum", 0);
        cJSON_AddNumberToObject (s, "maximum", UINT32_MAX);
    }
    return s;
}

static cJSON *
s_schema_value (const ProtobufCMessageDescriptor *md, const ProtobufCFieldDescriptor *f,
                const sl_json_options_t *o, cJSON *defs)
{
    cJSON *s = NULL;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        return s_schema_int (0, 1, 32);
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        return s_schema_int (0, 0, 32);
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        if (s_is_time_field (o, md, f)) {
            s = cJSON_CreateObject ();
            cJSON *types = cJSON_AddArrayToObject (s, "type");
            cJSON_AddItemToArray (types, cJSON_CreateString ("string"));
            cJSON_AddItemToArray (types, cJSON_CreateString ("integer"));
            cJSON_AddStringToObject (s, "format", "date-time");
            cJSON_AddStringToObject (s, "description",
                "time: RFC 3339 (whole seconds), printed in UTC with Z; Unix seconds accepted");
            return s;
        }
        return s_schema_int (1, 1, 64);
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        return s_schema_int (1, 0, 64);
    case PROTOBUF_C_TYPE_FLOAT: case PROTOBUF_C_TYPE_DOUBLE: {
        s = cJSON_CreateObject ();
        cJSON *any = cJSON_AddArrayToObject (s, "anyOf");
        cJSON *num = cJSON_CreateObject ();
        cJSON_AddStringToObject (num, "type", "number");
        cJSON_AddItemToArray (any, num);
        cJSON *special = cJSON_CreateObject ();
        cJSON *e = cJSON_AddArrayToObject (special, "enum");
        cJSON_AddItemToArray (e, cJSON_CreateString ("NaN"));
        cJSON_AddItemToArray (e, cJSON_CreateString ("Infinity"));
        cJSON_AddItemToArray (e, cJSON_CreateString ("-Infinity"));
        cJSON_AddItemToArray (any, special);
        return s;
    }
    case PROTOBUF_C_TYPE_BOOL:
        s = cJSON_CreateObject ();
        cJSON_AddStringToObject (s, "type", "boolean");
        return s;
    case PROTOBUF_C_TYPE_STRING:
        s = cJSON_CreateObject ();
        cJSON_AddStringToObject (s, "type", "string");
        return s;
    case PROTOBUF_C_TYPE_BYTES:
        s = cJSON_CreateObject ();
        cJSON_AddStringToObject (s, "type", "string");
        cJSON_AddStringToObject (s, "contentEncoding", "base64");
        return s;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        s = cJSON_CreateObject ();
        cJSON *any = cJSON_AddArrayToObject (s, "anyOf");
        cJSON *names = cJSON_CreateObject ();
        cJSON *e = cJSON_AddArrayToObject (names, "enum");
        for (unsigned i = 0; ed && i < ed->n_values; i++)
            cJSON_AddItemToArray (e, cJSON_CreateString (ed->values[i].name));
        cJSON_AddItemToArray (any, names);
        cJSON_AddItemToArray (any, s_schema_int (0, 1, 32));
        if (ed)
            cJSON_AddStringToObject (s, "title", ed->name);
        return s;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        if (s_is_timestamp (f->descriptor)) {
            s = cJSON_CreateObject ();
            cJSON_AddStringToObject (s, "type", "string");
            cJSON_AddStringToObject (s, "format", "date-time");
            return s;
        }
        return s_schema_ref (f->descriptor, o, defs);
    }
    return cJSON_CreateObject ();
}

static cJSON *
s_schema_message (const ProtobufCMessageDescriptor *md, const sl_json_options_t *o, cJSON *defs)
{
    cJSON *s = cJSON_CreateObject ();
    if (!s)
        return NULL;
    cJSON_AddStringToObject (s, "type", "object");
    cJSON_AddStringToObject (s, "title", md->name);
    cJSON *props = cJSON_AddObjectToObject (s, "properties");
    cJSON *required = NULL;
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &md->fields[i];
        char name[256];
        if (o->proto_names)
            snprintf (name, sizeof name, "%s", f->name);
        else
            sl_json_field_name (f, name, sizeof name);
        cJSON *v;
        if (s_is_map (f)) {
            v = cJSON_CreateObject ();
            cJSON_AddStringToObject (v, "type", "object");
            cJSON_AddItemToObject (v, "additionalProperties",
                                   s_schema_value (f->descriptor, &((const ProtobufCMessageDescriptor *) f->descriptor)->fields[1], o, defs));
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            v = cJSON_CreateObject ();
            cJSON_AddStringToObject (v, "type", "array");
            cJSON_AddItemToObject (v, "items", s_schema_value (md, f, o, defs));
        } else
            v = s_schema_value (md, f, o, defs);
        if (!v) {
            cJSON_Delete (s);
            return NULL;
        }
        cJSON_AddItemToObject (props, name, v);
        if (f->label == PROTOBUF_C_LABEL_REQUIRED) {
            if (!required)
                required = cJSON_AddArrayToObject (s, "required");
            cJSON_AddItemToArray (required, cJSON_CreateString (name));
        }
    }
    cJSON_AddBoolToObject (s, "additionalProperties", 0);
    return s;
}

cJSON *
sl_json_schema (const ProtobufCMessageDescriptor *desc, const sl_json_options_t *opts,
                const char *id)
{
    const sl_json_options_t *o = opts ? opts : &s_no_options;
    cJSON *defs = cJSON_CreateObject ();
    cJSON *body = defs ? s_schema_message (desc, o, defs) : NULL;
    if (!body) {
        cJSON_Delete (defs);
        return NULL;
    }
    cJSON *root = cJSON_CreateObject ();
    cJSON_AddStringToObject (root, "$schema", "https://json-schema.org/draft/2020-12/schema");
    if (id)
        cJSON_AddStringToObject (root, "$id", id);
    /* the body's members follow $schema/$id, then $defs if any */
    cJSON *it = body->child;
    while (it) {
        cJSON *next = it->next;
        cJSON_AddItemToObject (root, it->string, cJSON_DetachItemViaPointer (body, it));
        it = next;
    }
    cJSON_Delete (body);
    if (defs->child)
        cJSON_AddItemToObject (root, "$defs", defs);
    else
        cJSON_Delete (defs);
    return root;
}

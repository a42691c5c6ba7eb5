/*  sl_descset — run-time protobuf-c descriptors. See sl_descset.h. */
#include "sl_descset.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "sluice/v1/options.pb-c.h"
#include "sl_error.h"
#include "sl_file.h"

typedef Google__Protobuf__FileDescriptorProto s_file_t;
typedef Google__Protobuf__DescriptorProto s_msg_t;
typedef Google__Protobuf__EnumDescriptorProto s_enum_t;
typedef Google__Protobuf__FieldDescriptorProto s_field_t;

/* ------------------------------------------------------------------ arena */

typedef struct s_block {
    struct s_block *next;
    size_t used, cap;
    max_align_t data[];
} s_block_t;

/*  One named message or enum of the set, and what was built for it. */
typedef struct {
    char *full;                  /* ".pkg.Outer.Inner" */
    const s_file_t *file;
    const s_msg_t *msg;          /* one of msg / en */
    const s_enum_t *en;
    int32_t path[16];            /* source-info path of the declaration */
    size_t path_len;
    void *built;                 /* ProtobufC{Message,Enum}Descriptor */
} s_named_t;

struct sl_descset_t {
    uint8_t *bytes;
    size_t len;
    Google__Protobuf__FileDescriptorSet *set;
    s_named_t *named;
    size_t n_named, cap_named;
    s_block_t *blocks;
    unsigned *slots;             /* init slots taken (design note 2) */
    size_t n_slots, cap_slots;
};

/* ------------------------------------------------------- message_init slots */

/*  protobuf-c's message_init takes no descriptor, so a run-time descriptor
 *  cannot share one function. A fixed pool of functions, one per slot, each
 *  copying its slot's template (the empty message: defaults set, base
 *  descriptor filled) — what protoc-c's generated init does with a static
 *  initialiser. A descriptor without a free slot keeps message_init NULL
 *  and protobuf-c's generic initialisation (correct, a little slower). */
#define S_SLOTS 128
typedef struct {
    const ProtobufCMessageDescriptor *d;    /* NULL: free */
    const void *tmpl;
    size_t size;
} s_slot_t;
static s_slot_t s_slot[S_SLOTS];
static pthread_mutex_t s_slot_lock = PTHREAD_MUTEX_INITIALIZER;

#define S_INIT(a, b) static void s_init_##a##_##b (ProtobufCMessage *m) \
    { memcpy (m, s_slot[(a) * 8 + (b)].tmpl, s_slot[(a) * 8 + (b)].size); }
#define S_INIT8(a) S_INIT(a, 0) S_INIT(a, 1) S_INIT(a, 2) S_INIT(a, 3) \
                   S_INIT(a, 4) S_INIT(a, 5) S_INIT(a, 6) S_INIT(a, 7)
S_INIT8(0) S_INIT8(1) S_INIT8(2) S_INIT8(3) S_INIT8(4) S_INIT8(5) S_INIT8(6) S_INIT8(7)
S_INIT8(8) S_INIT8(9) S_INIT8(10) S_INIT8(11) S_INIT8(12) S_INIT8(13) S_INIT8(14) S_INIT8(15)
#define S_REF8(a) s_init_##a##_0, s_init_##a##_1, s_init_##a##_2, s_init_##a##_3, \
                  s_init_##a##_4, s_init_##a##_5, s_init_##a##_6, s_init_##a##_7
static const ProtobufCMessageInit s_inits[S_SLOTS] = {
    S_REF8(0), S_REF8(1), S_REF8(2), S_REF8(3), S_REF8(4), S_REF8(5), S_REF8(6), S_REF8(7),
    S_REF8(8), S_REF8(9), S_REF8(10), S_REF8(11), S_REF8(12), S_REF8(13), S_REF8(14), S_REF8(15),
};

static void *
s_alloc (sl_descset_t *self, size_t size)
{
    size = (size + sizeof (max_align_t) - 1) / sizeof (max_align_t) * sizeof (max_align_t);
    s_block_t *b = self->blocks;
    if (!b || b->cap - b->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        b = malloc (sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = self->blocks;
        b->used = 0;
        b->cap = cap;
        self->blocks = b;
    }
    void *p = (char *) b->data + b->used;
    b->used += size;
    memset (p, 0, size);
    return p;
}

static char *
s_strdup (sl_descset_t *self, const char *s)
{
    size_t n = strlen (s) + 1;
    char *p = s_alloc (self, n);
    if (p)
        memcpy (p, s, n);
    return p;
}

/* ------------------------------------------------------------------ errors */

/*  "FILE:LINE:COL: " for the declaration at `path` when the file carries
 *  source info, else "FILE: ". */
static void
s_where (const s_file_t *f, const int32_t *path, size_t path_len, char *out, size_t size)
{
    const char *name = f && f->name ? f->name : "<set>";
    if (f && f->source_code_info)
        for (size_t i = 0; i < f->source_code_info->n_location; i++) {
            const Google__Protobuf__SourceCodeInfo__Location *l = f->source_code_info->location[i];
            if (l->n_path != path_len || l->n_span < 3
                || memcmp (l->path, path, path_len * sizeof *path) != 0)
                continue;
            snprintf (out, size, "%s:%d:%d: ", name, l->span[0] + 1, l->span[1] + 1);
            return;
        }
    snprintf (out, size, "%s: ", name);
}

static void
s_err (char *err, size_t errlen, const s_file_t *f, const int32_t *path, size_t path_len,
       const char *fmt, ...)
{
    char where[512];
    s_where (f, path, path_len, where, sizeof where);
    size_t n = (size_t) snprintf (err, errlen, "%s", where);
    if (n >= errlen)
        return;
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err + n, errlen - n, fmt, ap);
    va_end (ap);
}

/* ------------------------------------------------------------------ index */

static int
s_add_named (sl_descset_t *self, const char *prefix, const char *name, const s_file_t *f,
             const s_msg_t *m, const s_enum_t *e, const int32_t *path, size_t path_len)
{
    if (path_len > 16)
        return 0;                 /* nested deeper than any record needs: not indexed */
    if (self->n_named == self->cap_named) {
        size_t cap = self->cap_named ? self->cap_named * 2 : 64;
        s_named_t *p = realloc (self->named, cap * sizeof *p);
        if (!p)
            return SL_ENOMEM;
        self->named = p;
        self->cap_named = cap;
    }
    size_t n = strlen (prefix) + strlen (name) + 2;
    char *full = s_alloc (self, n);
    if (!full)
        return SL_ENOMEM;
    snprintf (full, n, "%s.%s", prefix, name);
    s_named_t *x = &self->named[self->n_named++];
    memset (x, 0, sizeof *x);
    x->full = full;
    x->file = f;
    x->msg = m;
    x->en = e;
    memcpy (x->path, path, path_len * sizeof *path);
    x->path_len = path_len;
    return 0;
}

static int
s_index_msg (sl_descset_t *self, const char *prefix, const s_file_t *f, const s_msg_t *m,
             int32_t *path, size_t path_len)
{
    int rc = s_add_named (self, prefix, m->name ? m->name : "", f, m, NULL, path, path_len);
    if (rc != 0 || path_len + 2 > 16)
        return rc;
    const char *full = self->named[self->n_named - 1].full;
    for (size_t i = 0; i < m->n_nested_type; i++) {
        path[path_len] = 3;
        path[path_len + 1] = (int32_t) i;
        if ((rc = s_index_msg (self, full, f, m->nested_type[i], path, path_len + 2)) != 0)
            return rc;
    }
    for (size_t i = 0; i < m->n_enum_type; i++) {
        path[path_len] = 4;
        path[path_len + 1] = (int32_t) i;
        if ((rc = s_add_named (self, full, m->enum_type[i]->name ? m->enum_type[i]->name : "",
                               f, NULL, m->enum_type[i], path, path_len + 2)) != 0)
            return rc;
    }
    return 0;
}

static s_named_t *
s_find (const sl_descset_t *self, const char *full)
{
    for (size_t i = 0; i < self->n_named; i++)
        if (strcmp (self->named[i].full, full) == 0)
            return &self->named[i];
    return NULL;
}

sl_descset_t *
sl_descset_parse (const uint8_t *data, size_t len, char *err, size_t errlen)
{
    sl_descset_t *self = calloc (1, sizeof *self);
    if (!self || !(self->bytes = malloc (len ? len : 1))) {
        snprintf (err, errlen, "out of memory");
        free (self);
        return NULL;
    }
    memcpy (self->bytes, data, len);
    self->len = len;
    self->set = google__protobuf__file_descriptor_set__unpack (NULL, len, self->bytes);
    if (!self->set) {
        snprintf (err, errlen, "not a FileDescriptorSet (a .proto is compiled with "
                  "`protoc --include_imports --descriptor_set_out=FILE`)");
        goto fail;
    }
    if (self->set->n_file == 0) {
        snprintf (err, errlen, "the FileDescriptorSet holds no file");
        goto fail;
    }
    for (size_t i = 0; i < self->set->n_file; i++) {
        const s_file_t *f = self->set->file[i];
        if (!f->name || !*f->name) {
            snprintf (err, errlen, "file %zu of the set has no name", i + 1);
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp (self->set->file[j]->name, f->name) == 0) {
                snprintf (err, errlen, "%s appears twice in the set", f->name);
                goto fail;
            }
        char prefix[512];
        snprintf (prefix, sizeof prefix, "%s%s", f->package && *f->package ? "." : "",
                  f->package ? f->package : "");
        int32_t path[16];
        for (size_t m = 0; m < f->n_message_type; m++) {
            path[0] = 4;
            path[1] = (int32_t) m;
            if (s_index_msg (self, prefix, f, f->message_type[m], path, 2) != 0)
                goto oom;
        }
        for (size_t e = 0; e < f->n_enum_type; e++) {
            path[0] = 5;
            path[1] = (int32_t) e;
            if (s_add_named (self, prefix, f->enum_type[e]->name ? f->enum_type[e]->name : "",
                             f, NULL, f->enum_type[e], path, 2) != 0)
                goto oom;
        }
    }
    return self;
oom:
    snprintf (err, errlen, "out of memory");
fail:
    sl_descset_destroy (&self);
    return NULL;
}

void
sl_descset_destroy (sl_descset_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_descset_t *self = *self_p;
    if (self->set)
        google__protobuf__file_descriptor_set__free_unpacked (self->set, NULL);
    pthread_mutex_lock (&s_slot_lock);
    for (size_t i = 0; i < self->n_slots; i++)
        s_slot[self->slots[i]].d = NULL;
    pthread_mutex_unlock (&s_slot_lock);
    free (self->slots);
    while (self->blocks) {
        s_block_t *b = self->blocks;
        self->blocks = b->next;
        free (b);
    }
    free (self->named);
    free (self->bytes);
    free (self);
    *self_p = NULL;
}

const uint8_t *
sl_descset_bytes (const sl_descset_t *self, size_t *len)
{
    *len = self->len;
    return self->bytes;
}

/* ---------------------------------------------------------------- options */

/*  Length of the varint length prefix of an unknown length-prefixed field
 *  whose value it announces exactly; 0 if it does not. */
static size_t
s_prefix (const ProtobufCMessageUnknownField *u)
{
    uint64_t v = 0;
    for (size_t i = 0; i < u->len && i < 10; i++) {
        v |= (uint64_t) (u->data[i] & 0x7f) << (7 * i);
        if (!(u->data[i] & 0x80))
            return v == u->len - i - 1 ? i + 1 : 0;
    }
    return 0;
}

/*  The bytes of extension `number` in an options message (unknown fields to
 *  protoc-c's descriptor.proto code), concatenated as protobuf merges
 *  repeated occurrences, unpacked with `desc`. NULL if absent or broken
 *  (*broken set). */
static ProtobufCMessage *
s_ext (const ProtobufCMessage *opts, uint32_t number, const ProtobufCMessageDescriptor *desc,
       bool *broken)
{
    *broken = false;
    if (!opts)
        return NULL;
    /* protobuf-c keeps an unknown length-prefixed field with its length
       varint in front: skip it */
    size_t total = 0;
    bool found = false;
    for (unsigned i = 0; i < opts->n_unknown_fields; i++)
        if (opts->unknown_fields[i].tag == number) {
            found = true;
            if (opts->unknown_fields[i].wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED
                || s_prefix (&opts->unknown_fields[i]) == 0) {
                *broken = true;
                return NULL;
            }
            total += opts->unknown_fields[i].len - s_prefix (&opts->unknown_fields[i]);
        }
    if (!found)
        return NULL;
    uint8_t *buf = malloc (total ? total : 1);
    if (!buf) {
        *broken = true;
        return NULL;
    }
    size_t at = 0;
    for (unsigned i = 0; i < opts->n_unknown_fields; i++)
        if (opts->unknown_fields[i].tag == number) {
            size_t p = s_prefix (&opts->unknown_fields[i]);
            memcpy (buf + at, opts->unknown_fields[i].data + p, opts->unknown_fields[i].len - p);
            at += opts->unknown_fields[i].len - p;
        }
    ProtobufCMessage *m = protobuf_c_message_unpack (desc, NULL, total, buf);
    free (buf);
    if (!m)
        *broken = true;
    return m;
}

bool
sl_descset_has_message (const sl_descset_t *self, const char *full_name)
{
    char dotted[512];
    snprintf (dotted, sizeof dotted, ".%s", full_name);
    const s_named_t *n = s_find (self, dotted);
    return n && n->msg;
}

size_t
sl_descset_records (const sl_descset_t *self, const char **names, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_named; i++) {
        const s_named_t *x = &self->named[i];
        if (!x->msg)
            continue;
        bool broken;
        ProtobufCMessage *r = s_ext ((const ProtobufCMessage *) x->msg->options,
                                     SL_DESCSET_EXT_RECORD, &sluice__v1__record_option__descriptor,
                                     &broken);
        if (r || broken) {
            if (names && n < cap)
                names[n] = x->full + 1;
            n++;
        }
        if (r)
            protobuf_c_message_free_unpacked (r, NULL);
    }
    return n;
}

/* ---------------------------------------------------------------- building */

static bool
s_grow_slots (sl_descset_t *self)
{
    size_t cap = self->cap_slots ? self->cap_slots * 2 : 8;
    unsigned *p = realloc (self->slots, cap * sizeof *p);
    if (!p)
        return false;
    self->slots = p;
    self->cap_slots = cap;
    return true;
}

typedef struct {
    ProtobufCType type;
    size_t size;                 /* in the message */
} s_kind_t;

static int
s_kind (int proto_type, s_kind_t *k)
{
    switch (proto_type) {
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE:   *k = (s_kind_t) { PROTOBUF_C_TYPE_DOUBLE, 8 }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT:    *k = (s_kind_t) { PROTOBUF_C_TYPE_FLOAT, 4 }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64:    *k = (s_kind_t) { PROTOBUF_C_TYPE_INT64, 8 }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64:   *k = (s_kind_t) { PROTOBUF_C_TYPE_UINT64, 8 }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32:    *k = (s_kind_t) { PROTOBUF_C_TYPE_INT32, 4 }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64:  *k = (s_kind_t) { PROTOBUF_C_TYPE_FIXED64, 8 }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32:  *k = (s_kind_t) { PROTOBUF_C_TYPE_FIXED32, 4 }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL:     *k = (s_kind_t) { PROTOBUF_C_TYPE_BOOL, sizeof (protobuf_c_boolean) }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING:   *k = (s_kind_t) { PROTOBUF_C_TYPE_STRING, sizeof (char *) }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE:  *k = (s_kind_t) { PROTOBUF_C_TYPE_MESSAGE, sizeof (void *) }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES:    *k = (s_kind_t) { PROTOBUF_C_TYPE_BYTES, sizeof (ProtobufCBinaryData) }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32:   *k = (s_kind_t) { PROTOBUF_C_TYPE_UINT32, 4 }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM:     *k = (s_kind_t) { PROTOBUF_C_TYPE_ENUM, sizeof (int) }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32: *k = (s_kind_t) { PROTOBUF_C_TYPE_SFIXED32, 4 }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64: *k = (s_kind_t) { PROTOBUF_C_TYPE_SFIXED64, 8 }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32:   *k = (s_kind_t) { PROTOBUF_C_TYPE_SINT32, 4 }; break;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64:   *k = (s_kind_t) { PROTOBUF_C_TYPE_SINT64, 8 }; break;
    default:
        return -1;                /* groups, unknown */
    }
    return 0;
}

static size_t
s_align (size_t off, size_t a)
{
    return (off + a - 1) / a * a;
}

/*  Gives `d` an init function from the pool when one is free (design
 *  note 2). Cannot fail: without a slot, message_init stays NULL. */
static void
s_take_slot (sl_descset_t *self, ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *tmpl = s_alloc (self, d->sizeof_message);
    if (!tmpl || (self->n_slots == self->cap_slots && !s_grow_slots (self)))
        return;
    tmpl->descriptor = d;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].default_value && d->fields[i].label != PROTOBUF_C_LABEL_REPEATED
            && d->fields[i].type == PROTOBUF_C_TYPE_STRING)
            *(const void **) ((char *) tmpl + d->fields[i].offset) = d->fields[i].default_value;
    pthread_mutex_lock (&s_slot_lock);
    for (unsigned k = 0; k < S_SLOTS; k++)
        if (!s_slot[k].d) {
            s_slot[k] = (s_slot_t) { d, tmpl, d->sizeof_message };
            d->message_init = s_inits[k];
            self->slots[self->n_slots++] = k;
            break;
        }
    pthread_mutex_unlock (&s_slot_lock);
}

static const char *
s_short (const char *full)
{
    const char *dot = strrchr (full, '.');
    return dot ? dot + 1 : full;
}

static const char *
s_package (sl_descset_t *self, const s_file_t *f)
{
    return s_strdup (self, f->package ? f->package : "");
}

static int
s_by_name (const void *a, const void *b, void *arg)
{
    const ProtobufCFieldDescriptor *fields = arg;
    return strcmp (fields[*(const unsigned *) a].name, fields[*(const unsigned *) b].name);
}

static int
s_by_id (const void *a, const void *b)
{
    const ProtobufCFieldDescriptor *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int
s_by_value (const void *a, const void *b)
{
    const ProtobufCEnumValue *x = a, *y = b;
    return x->value < y->value ? -1 : x->value > y->value;
}

static int
s_value_by_name (const void *a, const void *b)
{
    const ProtobufCEnumValueIndex *x = a, *y = b;
    return strcmp (x->name, y->name);
}

/*  Fills ranges[] (protobuf-c's value_ranges / field_ranges) from n sorted
    numbers: the int at byte `at` of each `size`-byte item. A range starts
    where a number does not follow the one before; a last entry holds n.
    Returns the number of ranges. Cannot fail. */
static size_t
s_ranges (ProtobufCIntRange *ranges, const void *items, size_t n, size_t size, size_t at)
{
    size_t nr = 0;
    int32_t prev = 0, v;
    for (size_t i = 0; i < n; i++, prev = v) {
        memcpy (&v, (const char *) items + i * size + at, sizeof v);
        if (i == 0 || (int64_t) v != (int64_t) prev + 1) {
            ranges[nr].start_value = v;
            ranges[nr].orig_index = (unsigned) i;
            nr++;
        }
    }
    ranges[nr].start_value = 0;
    ranges[nr].orig_index = (unsigned) n;
    return nr;
}

static const ProtobufCEnumDescriptor *
s_build_enum (sl_descset_t *self, s_named_t *x, char *err, size_t errlen)
{
    if (x->built)
        return x->built;
    const s_enum_t *e = x->en;
    ProtobufCEnumDescriptor *d = s_alloc (self, sizeof *d);
    size_t n = e->n_value;
    ProtobufCEnumValue *values = s_alloc (self, (n ? n : 1) * sizeof *values);
    ProtobufCEnumValueIndex *by_name = s_alloc (self, (n ? n : 1) * sizeof *by_name);
    ProtobufCIntRange *ranges = s_alloc (self, (n + 1) * sizeof *ranges);
    if (!d || !values || !by_name || !ranges)
        goto oom;
    if (n == 0) {
        s_err (err, errlen, x->file, x->path, x->path_len, "enum %s has no value", x->full + 1);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = e->value[i]->name ? e->value[i]->name : "";
        values[i].name = s_strdup (self, name);
        values[i].c_name = values[i].name;
        values[i].value = e->value[i]->number;
        if (!values[i].name)
            goto oom;
    }
    qsort (values, n, sizeof *values, s_by_value);
    for (size_t i = 1; i < n; i++)
        if (values[i].value == values[i - 1].value) {
            s_err (err, errlen, x->file, x->path, x->path_len,
                   "enum %s: %s and %s share the number %d (allow_alias is not supported)",
                   x->full + 1, values[i - 1].name, values[i].name, values[i].value);
            return NULL;
        }
    for (size_t i = 0; i < n; i++) {
        by_name[i].name = values[i].name;
        by_name[i].index = (unsigned) i;
    }
    qsort (by_name, n, sizeof *by_name, s_value_by_name);
    size_t nr = s_ranges (ranges, values, n, sizeof *values, offsetof (ProtobufCEnumValue, value));
    d->magic = PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC;
    d->name = x->full + 1;
    d->short_name = s_short (x->full);
    d->c_name = d->name;
    d->package_name = s_package (self, x->file);
    d->n_values = (unsigned) n;
    d->values = values;
    d->n_value_names = (unsigned) n;
    d->values_by_name = by_name;
    d->n_value_ranges = (unsigned) nr;
    d->value_ranges = ranges;
    x->built = d;
    return d;
oom:
    snprintf (err, errlen, "out of memory");
    return NULL;
}

static const ProtobufCMessageDescriptor *
s_build_msg (sl_descset_t *self, s_named_t *x, char *err, size_t errlen)
{
    if (x->built)
        return x->built;
    const s_msg_t *m = x->msg;
    const s_file_t *f = x->file;
    if (!f->syntax || strcmp (f->syntax, "proto3") != 0) {
        s_err (err, errlen, f, x->path, x->path_len,
               "message %s: syntax \"%s\" is not supported (record types are proto3)",
               x->full + 1, f->syntax ? f->syntax : "proto2");
        return NULL;
    }
    ProtobufCMessageDescriptor *d = s_alloc (self, sizeof *d);
    size_t n = m->n_field;
    ProtobufCFieldDescriptor *fields = s_alloc (self, (n ? n : 1) * sizeof *fields);
    unsigned *by_name = s_alloc (self, (n ? n : 1) * sizeof *by_name);
    ProtobufCIntRange *ranges = s_alloc (self, (n + 1) * sizeof *ranges);
    /* per oneof: case offset, union offset */
    size_t n_oneof = m->n_oneof_decl;
    size_t *oneof_size = s_alloc (self, (n_oneof ? n_oneof : 1) * sizeof *oneof_size);
    size_t *oneof_case = s_alloc (self, (n_oneof ? n_oneof : 1) * sizeof *oneof_case);
    size_t *oneof_at = s_alloc (self, (n_oneof ? n_oneof : 1) * sizeof *oneof_at);
    if (!d || !fields || !by_name || !ranges || !oneof_size || !oneof_case || !oneof_at)
        goto oom;
    x->built = d;                    /* before recursing: messages may refer to themselves */
    int32_t path[18];
    memcpy (path, x->path, x->path_len * sizeof *path);
    size_t path_len = x->path_len + 2;
    path[x->path_len] = 2;

    /* pass 1: kinds, and each real oneof's largest member */
    for (size_t i = 0; i < n; i++) {
        const s_field_t *fp = m->field[i];
        path[x->path_len + 1] = (int32_t) i;
        s_kind_t k;
        if (!fp->name || !*fp->name) {
            s_err (err, errlen, f, path, path_len, "message %s: field %zu has no name",
                   x->full + 1, i + 1);
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp (m->field[j]->name, fp->name) == 0) {
                s_err (err, errlen, f, path, path_len, "message %s: two fields are named %s",
                       x->full + 1, fp->name);
                goto fail;
            }
        if (!fp->has_type || s_kind (fp->type, &k) != 0) {
            s_err (err, errlen, f, path, path_len, "message %s, field %s: %s", x->full + 1,
                   fp->name ? fp->name : "?",
                   "groups are not supported");
            goto fail;
        }
        if (fp->extendee) {
            s_err (err, errlen, f, path, path_len, "message %s: extensions are not supported",
                   x->full + 1);
            goto fail;
        }
        bool real_oneof = fp->has_oneof_index && !(fp->has_proto3_optional && fp->proto3_optional);
        if (real_oneof) {
            if (fp->oneof_index < 0 || (size_t) fp->oneof_index >= n_oneof) {
                s_err (err, errlen, f, path, path_len, "message %s, field %s: bad oneof index",
                       x->full + 1, fp->name ? fp->name : "?");
                goto fail;
            }
            if (k.size > oneof_size[fp->oneof_index])
                oneof_size[fp->oneof_index] = k.size;
        }
    }
    /* pass 2: layout, in declaration order (design note 1) */
    size_t off = sizeof (ProtobufCMessage);
    for (size_t i = 0; i < n_oneof; i++)
        oneof_at[i] = 0;
    for (size_t i = 0; i < n; i++) {
        const s_field_t *fp = m->field[i];
        ProtobufCFieldDescriptor *fd = &fields[i];
        path[x->path_len + 1] = (int32_t) i;
        s_kind_t k;
        s_kind (fp->type, &k);
        fd->name = s_strdup (self, fp->name ? fp->name : "");
        if (!fd->name)
            goto oom;
        if (!fp->has_number || fp->number < 1 || fp->number > 536870911) {
            s_err (err, errlen, f, path, path_len, "message %s, field %s: bad field number",
                   x->full + 1, fd->name);
            goto fail;
        }
        fd->id = (uint32_t) fp->number;
        fd->type = k.type;
        bool repeated = fp->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
        bool optional3 = fp->has_proto3_optional && fp->proto3_optional;
        bool real_oneof = fp->has_oneof_index && !optional3;
        if (fp->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED) {
            s_err (err, errlen, f, path, path_len, "message %s, field %s: required fields are "
                   "not supported", x->full + 1, fd->name);
            goto fail;
        }
        if (k.type == PROTOBUF_C_TYPE_MESSAGE || k.type == PROTOBUF_C_TYPE_ENUM) {
            s_named_t *t = fp->type_name ? s_find (self, fp->type_name) : NULL;
            if (!t || (k.type == PROTOBUF_C_TYPE_MESSAGE ? !t->msg : !t->en)) {
                s_err (err, errlen, f, path, path_len,
                       "message %s, field %s: type %s is not in the set (compile with "
                       "--include_imports)", x->full + 1, fd->name,
                       fp->type_name ? fp->type_name : "?");
                goto fail;
            }
            fd->descriptor = k.type == PROTOBUF_C_TYPE_MESSAGE
                ? (const void *) s_build_msg (self, t, err, errlen)
                : (const void *) s_build_enum (self, t, err, errlen);
            if (!fd->descriptor)
                goto fail;
        }
        if (repeated) {
            fd->label = PROTOBUF_C_LABEL_REPEATED;
            off = s_align (off, sizeof (size_t));
            fd->quantifier_offset = (unsigned) off;
            off += sizeof (size_t);
            off = s_align (off, sizeof (void *));
            fd->offset = (unsigned) off;
            off += sizeof (void *);
            bool scalar = k.type != PROTOBUF_C_TYPE_STRING && k.type != PROTOBUF_C_TYPE_BYTES
                          && k.type != PROTOBUF_C_TYPE_MESSAGE;
            bool unpacked = fp->options && fp->options->has_packed && !fp->options->packed;
            if (scalar && !unpacked)
                fd->flags |= PROTOBUF_C_FIELD_FLAG_PACKED;
        }
        else if (real_oneof) {
            int o = fp->oneof_index;
            fd->label = PROTOBUF_C_LABEL_NONE;
            fd->flags |= PROTOBUF_C_FIELD_FLAG_ONEOF;
            if (!oneof_at[o]) {
                off = s_align (off, 4);
                oneof_case[o] = off;
                off += 4;
                off = s_align (off, 8);
                oneof_at[o] = off;
                off += oneof_size[o];
            }
            fd->quantifier_offset = (unsigned) oneof_case[o];
            fd->offset = (unsigned) oneof_at[o];
        }
        else {
            fd->label = optional3 ? PROTOBUF_C_LABEL_OPTIONAL : PROTOBUF_C_LABEL_NONE;
            if (optional3 && k.type != PROTOBUF_C_TYPE_STRING && k.type != PROTOBUF_C_TYPE_MESSAGE) {
                off = s_align (off, sizeof (protobuf_c_boolean));
                fd->quantifier_offset = (unsigned) off;
                off += sizeof (protobuf_c_boolean);
            }
            off = s_align (off, k.size >= 8 ? 8 : k.size);
            fd->offset = (unsigned) off;
            off += k.size;
            if (k.type == PROTOBUF_C_TYPE_STRING && !optional3)
                fd->default_value = &protobuf_c_empty_string;
        }
        if (fp->options && fp->options->has_deprecated && fp->options->deprecated)
            fd->flags |= PROTOBUF_C_FIELD_FLAG_DEPRECATED;
    }
    qsort (fields, n, sizeof *fields, s_by_id);
    for (size_t i = 1; i < n; i++)
        if (fields[i].id == fields[i - 1].id) {
            s_err (err, errlen, f, x->path, x->path_len,
                   "message %s: fields %s and %s share the number %u", x->full + 1,
                   fields[i - 1].name, fields[i].name, fields[i].id);
            goto fail;
        }
    for (size_t i = 0; i < n; i++)
        by_name[i] = (unsigned) i;
    qsort_r (by_name, n, sizeof *by_name, s_by_name, fields);
    size_t nr = s_ranges (ranges, fields, n, sizeof *fields, offsetof (ProtobufCFieldDescriptor, id));
    d->magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC;
    d->name = x->full + 1;
    d->short_name = s_short (x->full);
    d->c_name = d->name;
    d->package_name = s_package (self, f);
    d->sizeof_message = s_align (off, sizeof (max_align_t) > 8 ? 8 : sizeof (max_align_t));
    d->n_fields = (unsigned) n;
    d->fields = fields;
    d->fields_sorted_by_name = by_name;
    d->n_field_ranges = (unsigned) nr;
    d->field_ranges = ranges;
    d->message_init = NULL;           /* design note 2 */
    s_take_slot (self, d);
    return d;
oom:
    snprintf (err, errlen, "out of memory");
fail:
    x->built = NULL;
    return NULL;
}

const ProtobufCMessageDescriptor *
sl_descset_message (sl_descset_t *self, const char *full_name, char *err, size_t errlen)
{
    char dotted[512];
    snprintf (dotted, sizeof dotted, ".%s", full_name);
    s_named_t *x = s_find (self, dotted);
    if (!x || !x->msg) {
        snprintf (err, errlen, "the set has no message %s", full_name);
        return NULL;
    }
    return s_build_msg (self, x, err, errlen);
}

/* --------------------------------------------------------------- records */

static bool
s_class_ok (const char *c)
{
    if (!(*c >= 'a' && *c <= 'z'))
        return false;
    for (; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return false;
    return true;
}

int
sl_descset_record (sl_descset_t *self, const char *full_name, sl_record_info_t *info,
                   char *err, size_t errlen)
{
    memset (info, 0, sizeof *info);
    const ProtobufCMessageDescriptor *d = sl_descset_message (self, full_name, err, errlen);
    if (!d)
        return strstr (err, "out of memory") ? SL_ENOMEM : SL_EINVAL;
    char dotted[512];
    snprintf (dotted, sizeof dotted, ".%s", full_name);
    const s_named_t *x = s_find (self, dotted);
    const s_msg_t *m = x->msg;
    bool broken;
    Sluice__V1__RecordOption *ro = (Sluice__V1__RecordOption *) s_ext (
        (const ProtobufCMessage *) m->options, SL_DESCSET_EXT_RECORD,
        &sluice__v1__record_option__descriptor, &broken);
    int rc = SL_EINVAL;
    int32_t path[18];
    memcpy (path, x->path, x->path_len * sizeof *path);
    size_t path_len = x->path_len + 2;
    path[x->path_len] = 2;
    const char **times = NULL;
    const char *const **classes = NULL;
    if (!ro) {
        s_err (err, errlen, x->file, x->path, x->path_len,
               broken ? "message %s: option (sluice.v1.record) does not decode"
                      : "message %s is not a record type: it has no option (sluice.v1.record) "
                        "(see docs/SCHEMAS.md)", full_name);
        return SL_EINVAL;
    }
    bool has_subject = ro->subject && *ro->subject;
    if (has_subject == (bool) ro->aggregate) {
        s_err (err, errlen, x->file, x->path, x->path_len,
               "message %s: option (sluice.v1.record) must set exactly one of subject "
               "(the field with the data subject's id) or aggregate: true", full_name);
        goto out;
    }
    if (has_subject) {
        const ProtobufCFieldDescriptor *sf =
            protobuf_c_message_descriptor_get_field_by_name (d, ro->subject);
        if (!sf) {
            s_err (err, errlen, x->file, x->path, x->path_len,
                   "message %s: subject field '%s' does not exist", full_name, ro->subject);
            goto out;
        }
        if (sf->type != PROTOBUF_C_TYPE_STRING || sf->label == PROTOBUF_C_LABEL_REPEATED
            || (sf->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
            s_err (err, errlen, x->file, x->path, x->path_len,
                   "message %s: subject field '%s' must be a singular string", full_name,
                   ro->subject);
            goto out;
        }
        info->subject_field = sf->name;
    }
    times = s_alloc (self, (d->n_fields + 1) * sizeof *times);
    classes = s_alloc (self, (d->n_fields ? d->n_fields : 1) * sizeof *classes);
    if (!times || !classes) {
        rc = SL_ENOMEM;
        snprintf (err, errlen, "out of memory");
        goto out;
    }
    static const char *const s_none[] = { NULL };
    for (unsigned i = 0; i < d->n_fields; i++)
        classes[i] = s_none;
    size_t n_times = 0;
    for (size_t i = 0; i < m->n_field; i++) {
        const s_field_t *fp = m->field[i];
        path[x->path_len + 1] = (int32_t) i;
        Sluice__V1__FieldOption *fo = (Sluice__V1__FieldOption *) s_ext (
            (const ProtobufCMessage *) fp->options, SL_DESCSET_EXT_FIELD,
            &sluice__v1__field_option__descriptor, &broken);
        if (!fo) {
            if (broken) {
                s_err (err, errlen, x->file, path, path_len,
                       "message %s, field %s: option (sluice.v1.field) does not decode",
                       full_name, fp->name);
                goto out;
            }
            continue;
        }
        const ProtobufCFieldDescriptor *fd =
            protobuf_c_message_descriptor_get_field_by_name (d, fp->name);
        if (!fd) {
            protobuf_c_message_free_unpacked (&fo->base, NULL);
            continue;
        }
        unsigned idx = (unsigned) (fd - d->fields);
        bool bad = false;
        if (fo->time) {
            bool int64ish = fd->type == PROTOBUF_C_TYPE_INT64 || fd->type == PROTOBUF_C_TYPE_SINT64
                            || fd->type == PROTOBUF_C_TYPE_SFIXED64
                            || fd->type == PROTOBUF_C_TYPE_UINT64
                            || fd->type == PROTOBUF_C_TYPE_FIXED64;
            if (!int64ish || fd->label == PROTOBUF_C_LABEL_REPEATED) {
                s_err (err, errlen, x->file, path, path_len,
                       "message %s, field %s: a time field must be a singular 64-bit integer "
                       "(Unix seconds UTC)", full_name, fd->name);
                bad = true;
            }
            else
                times[n_times++] = fd->name;
        }
        if (!bad && fo->n_classes) {
            const char **cl = s_alloc (self, (fo->n_classes + 1) * sizeof *cl);
            if (!cl) {
                protobuf_c_message_free_unpacked (&fo->base, NULL);
                rc = SL_ENOMEM;
                snprintf (err, errlen, "out of memory");
                goto out;
            }
            for (size_t c = 0; c < fo->n_classes && !bad; c++) {
                if (!s_class_ok (fo->classes[c])) {
                    s_err (err, errlen, x->file, path, path_len,
                           "message %s, field %s: class '%s' is not a name ([a-z][a-z0-9_-]*)",
                           full_name, fd->name, fo->classes[c]);
                    bad = true;
                }
                else if (!(cl[c] = s_strdup (self, fo->classes[c])))
                    bad = true;
            }
            classes[idx] = cl;
        }
        protobuf_c_message_free_unpacked (&fo->base, NULL);
        if (bad)
            goto out;
    }
    times[n_times] = NULL;
    info->record_type = x->full + 1;
    info->descriptor = d;
    info->time_fields = times;
    info->field_classes = (const char *const *const *) classes;
    info->file = x->file->name;
    rc = 0;
out:
    protobuf_c_message_free_unpacked (&ro->base, NULL);
    if (rc != 0)
        memset (info, 0, sizeof *info);
    return rc;
}

ProtobufCMessage *
sl_descset_message_new (const ProtobufCMessageDescriptor *desc)
{
    static const uint8_t s_empty[1];
    return protobuf_c_message_unpack (desc, NULL, 0, s_empty);
}

int
sl_descset_read_file (const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    char *buf;
    int rc = sl_file_read (path, &buf, len, err, errlen);
    *out = (uint8_t *) buf;
    return rc;
}

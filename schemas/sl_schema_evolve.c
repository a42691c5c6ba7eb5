/*  sl_schema_evolve — evolution rules. See sl_schema_evolve.h. */
#include "sl_schema_evolve.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"

typedef struct {
    char *breaking, *allowed;
    size_t nb, na, cb, ca;
    int n_breaking;
    bool oom;
    char touched[2048];          /* ",name,name," top-level fields of breaking changes */
} s_out_t;

/*  Notes the top-level field of `path` ("bins.kg" -> "bins") as touched. */
static void
s_touch (s_out_t *o, const char *path)
{
    char name[256];
    size_t n = strcspn (path, ".");
    snprintf (name, sizeof name, ",%.*s,", (int) (n < 250 ? n : 250), path);
    if (!o->touched[0])
        snprintf (o->touched, sizeof o->touched, ",");
    if (strstr (o->touched, name))
        return;
    size_t l = strlen (o->touched);
    snprintf (o->touched + l, sizeof o->touched - l, "%s", name + 1);
}

static void
s_add (s_out_t *o, bool breaking, const char *fmt, ...)
{
    char line[600];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (line, sizeof line, fmt, ap);
    va_end (ap);
    char **buf = breaking ? &o->breaking : &o->allowed;
    size_t *n = breaking ? &o->nb : &o->na, *cap = breaking ? &o->cb : &o->ca;
    size_t need = *n + strlen (line) + 2;
    if (need > *cap) {
        char *p = realloc (*buf, need * 2);
        if (!p) {
            o->oom = true;
            return;
        }
        *buf = p;
        *cap = need * 2;
    }
    *n += (size_t) sprintf (*buf + *n, "%s\n", line);
    if (breaking)
        o->n_breaking++;
}

static const char *
s_label (const ProtobufCFieldDescriptor *f)
{
    return f->label == PROTOBUF_C_LABEL_REPEATED ? "repeated"
         : f->label == PROTOBUF_C_LABEL_OPTIONAL ? "optional"
         : (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? "oneof member" : "singular";
}

/*  Data classes of field index i as one comma-separated text. */
static void
s_classes (const sl_schema_t *s, const ProtobufCFieldDescriptor *f, char *out, size_t size)
{
    out[0] = 0;
    if (!s->field_classes)
        return;
    size_t at = 0;
    for (const char *const *c = s->field_classes[f - s->descriptor->fields]; c && *c && at < size; c++)
        at += (size_t) snprintf (out + at, size - at, "%s%s", at ? "," : "", *c);
}

static void
s_enum (s_out_t *o, const char *path, const ProtobufCEnumDescriptor *a,
        const ProtobufCEnumDescriptor *b)
{
    for (unsigned i = 0; i < a->n_values; i++) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value (b, a->values[i].value);
        if (!v || strcmp (v->name, a->values[i].name) != 0)
            s_touch (o, path);
        if (!v)
            s_add (o, true, "breaking: field '%s': enum %s value %s (%d) removed (rule enum-value)",
                   path, a->name, a->values[i].name, a->values[i].value);
        else if (strcmp (v->name, a->values[i].name) != 0)
            s_add (o, true, "breaking: field '%s': enum %s value %d renamed %s -> %s "
                   "(rule enum-value)", path, a->name, v->value, a->values[i].name, v->name);
    }
    for (unsigned i = 0; i < b->n_values; i++)
        if (!protobuf_c_enum_descriptor_get_value (a, b->values[i].value))
            s_add (o, false, "added: field '%s': enum %s value %s (%d)", path, b->name,
                   b->values[i].name, b->values[i].value);
}

static void
s_msg (s_out_t *o, const char *prefix, const sl_schema_t *sa, const sl_schema_t *sb,
       const ProtobufCMessageDescriptor *a, const ProtobufCMessageDescriptor *b, int depth)
{
    if (depth > 16)
        return;
    for (unsigned i = 0; i < a->n_fields; i++) {
        const ProtobufCFieldDescriptor *fa = &a->fields[i];
        const ProtobufCFieldDescriptor *fb = protobuf_c_message_descriptor_get_field (b, fa->id);
        char path[400];
        snprintf (path, sizeof path, "%s%s", prefix, fa->name);
        if (!fb) {
            s_touch (o, path);
            const ProtobufCFieldDescriptor *moved =
                protobuf_c_message_descriptor_get_field_by_name (b, fa->name);
            if (moved)
                s_add (o, true, "breaking: field '%s' (%u): renumbered %u -> %u (rule renumbered: "
                       "a field keeps its number for ever)", path, fa->id, fa->id, moved->id);
            else
                s_add (o, true, "breaking: field '%s' (%u): removed (rule removed: a field is "
                       "never removed; mark it deprecated instead)", path, fa->id);
            continue;
        }
        if (strcmp (fa->name, fb->name) != 0) {
            s_touch (o, path);
            s_add (o, true, "breaking: field '%s' (%u): renamed to '%s' (rule renamed)", path,
                   fa->id, fb->name);
            continue;
        }
        if (fa->type != fb->type || strcmp (sl_schema_type_name (fa), sl_schema_type_name (fb)) != 0) {
            s_touch (o, path);
            s_add (o, true, "breaking: field '%s' (%u): type %s -> %s (rule type)", path, fa->id,
                   sl_schema_type_name (fa), sl_schema_type_name (fb));
            continue;
        }
        if (fa->label != fb->label
            || (fa->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != (fb->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
            s_touch (o, path);
            s_add (o, true, "breaking: field '%s' (%u): %s -> %s (rule label)", path, fa->id,
                   s_label (fa), s_label (fb));
            continue;
        }
        if (depth == 0) {
            bool ta = sl_schema_is_time_field (sa, fa->name), tb = sl_schema_is_time_field (sb, fb->name);
            if (ta != tb)
                s_touch (o, path);
            if (ta != tb)
                s_add (o, true, "breaking: field '%s' (%u): time option %s (rule options)", path,
                       fa->id, ta ? "removed" : "added");
            char ca[300], cb[300];
            s_classes (sa, fa, ca, sizeof ca);
            s_classes (sb, fb, cb, sizeof cb);
            if (strcmp (ca, cb) != 0)
                s_touch (o, path);
            if (strcmp (ca, cb) != 0)
                s_add (o, true, "breaking: field '%s' (%u): classes [%s] -> [%s] (rule options)",
                       path, fa->id, ca, cb);
        }
        if (fa->type == PROTOBUF_C_TYPE_MESSAGE && fa->descriptor != a) {
            char sub[420];
            snprintf (sub, sizeof sub, "%s.", path);
            s_msg (o, sub, sa, sb, fa->descriptor, fb->descriptor, depth + 1);
        }
        else if (fa->type == PROTOBUF_C_TYPE_ENUM)
            s_enum (o, path, fa->descriptor, fb->descriptor);
    }
    for (unsigned i = 0; i < b->n_fields; i++)
        if (!protobuf_c_message_descriptor_get_field (a, b->fields[i].id)
            && !protobuf_c_message_descriptor_get_field_by_name (a, b->fields[i].name))
            s_add (o, false, "added: field '%s%s' (%u)", prefix, b->fields[i].name,
                   b->fields[i].id);
}

int
sl_schema_evolve (const sl_schema_t *prev, const sl_schema_t *next, char **report)
{
    return sl_schema_evolve_touched (prev, next, report, NULL, 0);
}

int
sl_schema_evolve_touched (const sl_schema_t *prev, const sl_schema_t *next, char **report,
                          char *touched, size_t size)
{
    s_out_t o;
    memset (&o, 0, sizeof o);
    const char *sa = prev->subject_field ? prev->subject_field : "";
    const char *sb = next->subject_field ? next->subject_field : "";
    if (strcmp (sa, sb) != 0) {
        if (*sa)
            s_touch (&o, sa);
        if (*sb)
            s_touch (&o, sb);
    }
    if (strcmp (sa, sb) != 0)
        s_add (&o, true, "breaking: record option: subject '%s' -> '%s' (rule options)",
               *sa ? sa : "(aggregate)", *sb ? sb : "(aggregate)");
    s_msg (&o, "", prev, next, prev->descriptor, next->descriptor, 0);
    if (o.oom) {
        free (o.breaking);
        free (o.allowed);
        return SL_ENOMEM;
    }
    if (report) {
        size_t n = o.nb + o.na;
        *report = malloc (n + 1);
        if (!*report) {
            free (o.breaking);
            free (o.allowed);
            return SL_ENOMEM;
        }
        memcpy (*report, o.breaking ? o.breaking : "", o.nb);
        memcpy (*report + o.nb, o.allowed ? o.allowed : "", o.na);
        (*report)[n] = 0;
    }
    if (touched && size)
        snprintf (touched, size, "%s", o.touched);
    free (o.breaking);
    free (o.allowed);
    return o.n_breaking;
}

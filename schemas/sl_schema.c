/*  sl_schema — the record types in force. See sl_schema.h. */
#include "sl_schema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_descset.h"
#include "sl_error.h"
#include "sluice/v1/consent.pb-c.h"

/*  An entry with what it owns. `pub` comes first so a sl_schema_t pointer
 *  is the entry's. */
typedef struct {
    sl_schema_t pub;
    sl_descset_t *set;
    char owner[SL_SCHEMA_OWNER_MAX + 1];
} s_entry_t;

/* The broker's own record type (design note 3). */
static const char *const s_consent_times[] = { "valid_from", "valid_to", "time", NULL };
static const sl_schema_t s_builtin[] = {
    { .record_type = "sluice.v1.ConsentEvent", .owner = "sluice",
      .descriptor = &sluice__v1__consent_event__descriptor, .subject_field = "subject",
      .time_fields = s_consent_times, .file = "sluice/v1/consent.proto" },
};
#define S_BUILTIN (sizeof s_builtin / sizeof s_builtin[0])

static const sl_schema_t **s_table;     /* in force, sorted by name */
static size_t s_n, s_cap;
static s_entry_t **s_retired;
static size_t s_n_retired, s_cap_retired;

static int
s_ensure (void)
{
    if (s_table)
        return 0;
    s_cap = 16;
    if (!(s_table = malloc (s_cap * sizeof *s_table)))
        return SL_ENOMEM;
    for (size_t i = 0; i < S_BUILTIN; i++)
        s_table[s_n++] = &s_builtin[i];
    return 0;
}

/*  Index of `name` in the table, or where it would go (*found = 0). */
static size_t
s_search (const char *name, int *found)
{
    size_t lo = 0, hi = s_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp (s_table[mid]->record_type, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

const sl_schema_t *
sl_schema_find (const char *record_type)
{
    if (!record_type || s_ensure () != 0)
        return NULL;
    int found;
    size_t i = s_search (record_type, &found);
    return found ? s_table[i] : NULL;
}

size_t
sl_schema_count (void)
{
    return s_ensure () == 0 ? s_n : 0;
}

const sl_schema_t *
sl_schema_at (size_t i)
{
    return s_ensure () == 0 && i < s_n ? s_table[i] : NULL;
}

int
sl_schema_is_owner (const char *record_type, const char *member)
{
    const sl_schema_t *s = sl_schema_find (record_type);
    return s && strcmp (s->owner, member) == 0;
}

bool
sl_schema_owner_known (const char *owner)
{
    for (size_t i = 0; i < sl_schema_count (); i++)
        if (strcmp (sl_schema_at (i)->owner, owner) == 0)
            return true;
    return false;
}

const ProtobufCFieldDescriptor *
sl_schema_field (const sl_schema_t *schema, const char *name)
{
    return protobuf_c_message_descriptor_get_field_by_name (schema->descriptor, name);
}

int
sl_schema_is_time_field (const sl_schema_t *schema, const char *name)
{
    for (const char *const *t = schema->time_fields; t && *t; t++)
        if (strcmp (*t, name) == 0)
            return 1;
    return 0;
}

bool
sl_schema_describes (const sl_schema_t *schema, const ProtobufCMessageDescriptor *d)
{
    const ProtobufCMessageDescriptor *s = schema->descriptor;
    if (d == s)
        return true;
    if (!d || strcmp (d->name, s->name) != 0 || d->n_fields != s->n_fields)
        return false;
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].id != s->fields[i].id || d->fields[i].type != s->fields[i].type
            || d->fields[i].label != s->fields[i].label
            || strcmp (d->fields[i].name, s->fields[i].name) != 0)
            return false;
    return true;
}

bool
sl_schema_field_has_class (const sl_schema_t *schema, const char *name, const char *cls)
{
    const ProtobufCFieldDescriptor *fd = sl_schema_field (schema, name);
    if (!fd || !schema->field_classes)
        return false;
    for (const char *const *c = schema->field_classes[fd - schema->descriptor->fields]; c && *c; c++)
        if (strcmp (*c, cls) == 0)
            return true;
    return false;
}

int
sl_schema_check_name (const char *t, char *owner, char *err, size_t errlen)
{
    const char *d1 = strchr (t, '.');
    const char *d2 = d1 ? strchr (d1 + 1, '.') : NULL;
    if (!d1 || !d2 || strchr (d2 + 1, '.')) {
        snprintf (err, errlen, "record type '%s': the name must be <bureau>.v<N>.<Message> "
                  "(three parts, e.g. transport.v1.Trip)", t);
        return SL_EINVAL;
    }
    size_t bl = (size_t) (d1 - t);
    bool ok = bl >= 1 && bl <= SL_SCHEMA_OWNER_MAX && t[0] >= 'a' && t[0] <= 'z';
    for (size_t i = 0; ok && i < bl; i++)
        ok = (t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'
             || t[i] == '-';
    if (!ok) {
        snprintf (err, errlen, "record type '%s': the bureau part must be [a-z][a-z0-9_-]*, "
                  "at most %d characters", t, SL_SCHEMA_OWNER_MAX);
        return SL_EINVAL;
    }
    if (bl == 6 && strncmp (t, "sluice", 6) == 0) {
        snprintf (err, errlen, "record type '%s': the namespace 'sluice' is the broker's own", t);
        return SL_EINVAL;
    }
    ok = d1[1] == 'v' && d1 + 2 < d2 && d1[2] >= '1' && d1[2] <= '9';
    for (const char *p = d1 + 2; ok && p < d2; p++)
        ok = *p >= '0' && *p <= '9';
    if (!ok) {
        snprintf (err, errlen, "record type '%s': the second part must be the major version "
                  "v1, v2, ... (a new major version is a new type)", t);
        return SL_EINVAL;
    }
    const char *m = d2 + 1;
    ok = *m >= 'A' && *m <= 'Z' && strlen (t) <= SL_SCHEMA_NAME_MAX;
    for (const char *p = m; ok && *p; p++)
        ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
             || *p == '_';
    if (!ok) {
        snprintf (err, errlen, "record type '%s': the message part must be [A-Z][A-Za-z0-9_]* "
                  "(a top-level message) and the name at most %d characters", t,
                  SL_SCHEMA_NAME_MAX);
        return SL_EINVAL;
    }
    if (owner) {
        memcpy (owner, t, bl);
        owner[bl] = 0;
    }
    return 0;
}

int
sl_schema_build (const uint8_t *set, size_t len, const char *record_type, uint32_t version,
                 sl_schema_t **out, char *err, size_t errlen)
{
    *out = NULL;
    s_entry_t *e = calloc (1, sizeof *e);
    if (!e) {
        snprintf (err, errlen, "out of memory");
        return SL_ENOMEM;
    }
    int rc = sl_schema_check_name (record_type, e->owner, err, errlen);
    if (rc != 0)
        goto fail;
    if (!(e->set = sl_descset_parse (set, len, err, errlen))) {
        rc = SL_EINVAL;
        goto fail;
    }
    sl_record_info_t info;
    if ((rc = sl_descset_record (e->set, record_type, &info, err, errlen)) != 0)
        goto fail;
    size_t blen;
    e->pub.record_type = info.record_type;
    e->pub.owner = e->owner;
    e->pub.descriptor = info.descriptor;
    e->pub.subject_field = info.subject_field;
    e->pub.time_fields = info.time_fields;
    e->pub.field_classes = info.field_classes;
    e->pub.version = version;
    e->pub.descriptor_set = sl_descset_bytes (e->set, &blen);
    e->pub.descriptor_set_len = blen;
    e->pub.file = info.file;
    *out = &e->pub;
    return 0;
fail:
    sl_descset_destroy (&e->set);
    free (e);
    return rc;
}

void
sl_schema_free (sl_schema_t **entry_p)
{
    if (!entry_p || !*entry_p)
        return;
    s_entry_t *e = (s_entry_t *) *entry_p;
    sl_descset_destroy (&e->set);
    free (e);
    *entry_p = NULL;
}

static int
s_retire (const sl_schema_t *old)
{
    for (size_t i = 0; i < S_BUILTIN; i++)
        if (old == &s_builtin[i])
            return 0;
    for (size_t i = 0; i < s_n_retired; i++)
        if (&s_retired[i]->pub == old)
            return 0;
    if (s_n_retired == s_cap_retired) {
        size_t cap = s_cap_retired ? s_cap_retired * 2 : 16;
        s_entry_t **p = realloc (s_retired, cap * sizeof *p);
        if (!p)
            return SL_ENOMEM;
        s_retired = p;
        s_cap_retired = cap;
    }
    s_retired[s_n_retired++] = (s_entry_t *) old;
    return 0;
}

int
sl_schema_install (sl_schema_t **entry_p, const sl_schema_t **retired)
{
    if (retired)
        *retired = NULL;
    if (s_ensure () != 0)
        return SL_ENOMEM;
    sl_schema_t *e = *entry_p;
    int found;
    size_t i = s_search (e->record_type, &found);
    if (found) {
        if (s_retire (s_table[i]) != 0)
            return SL_ENOMEM;
        if (retired)
            *retired = s_table[i];
        s_table[i] = e;
    }
    else {
        if (s_n == s_cap) {
            const sl_schema_t **p = realloc (s_table, s_cap * 2 * sizeof *p);
            if (!p)
                return SL_ENOMEM;
            s_table = p;
            s_cap *= 2;
        }
        memmove (&s_table[i + 1], &s_table[i], (s_n - i) * sizeof *s_table);
        s_table[i] = e;
        s_n++;
    }
    *entry_p = NULL;
    return 0;
}

/*  Puts `entry` (a retired one, taken off the retired list) in force at
    table slot i, or removes slot i when `entry` is NULL. */
static void
s_put_back (size_t i, const sl_schema_t *entry)
{
    if (entry) {
        s_table[i] = entry;
        for (size_t r = 0; r < s_n_retired; r++)
            if (&s_retired[r]->pub == entry) {
                s_retired[r] = s_retired[--s_n_retired];
                break;
            }
    }
    else {
        memmove (&s_table[i], &s_table[i + 1], (s_n - i - 1) * sizeof *s_table);
        s_n--;
    }
}

void
sl_schema_restore (const char *record_type, const sl_schema_t *entry)
{
    if (s_ensure () != 0)
        return;
    int found;
    size_t i = s_search (entry ? entry->record_type : record_type, &found);
    /* when the current one cannot be retired safely, it is left in force */
    if (found && s_retire (s_table[i]) == 0)
        s_put_back (i, entry);
}

void
sl_schema_uninstall (sl_schema_t *entry, const sl_schema_t *prev)
{
    int found;
    size_t i = s_search (entry->record_type, &found);
    if (found && s_table[i] == entry)
        s_put_back (i, prev);
}

const char *
sl_schema_type_name (const ProtobufCFieldDescriptor *f)
{
    static const char *const names[] = {
        "int32", "sint32", "sfixed32", "int64", "sint64", "sfixed64", "uint32", "fixed32",
        "uint64", "fixed64", "float", "double", "bool", "enum", "string", "bytes", "message" };
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
        return ((const ProtobufCMessageDescriptor *) f->descriptor)->name;
    if (f->type == PROTOBUF_C_TYPE_ENUM)
        return ((const ProtobufCEnumDescriptor *) f->descriptor)->name;
    return (unsigned) f->type < sizeof names / sizeof names[0] ? names[f->type] : "?";
}

int
sl_schema_load_file (const char *path, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    int rrc = sl_descset_read_file (path, &buf, &len, err, errlen);
    if (rrc != 0)
        return rrc;
    sl_descset_t *set = sl_descset_parse (buf, len, err, errlen);
    int n = 0, rc = 0;
    if (!set) {
        free (buf);
        return SL_EINVAL;
    }
    const char *names[256];
    size_t count = sl_descset_records (set, names, 256);
    for (size_t i = 0; i < count && i < 256 && rc == 0; i++) {
        sl_schema_t *e;
        char e2[512];
        if ((rc = sl_schema_build (buf, len, names[i], 1, &e, e2, sizeof e2)) != 0) {
            snprintf (err, errlen, "%s: %s", path, e2);
            break;
        }
        if ((rc = sl_schema_install (&e, NULL)) != 0) {
            sl_schema_free (&e);
            snprintf (err, errlen, "out of memory");
            break;
        }
        n++;
    }
    sl_descset_destroy (&set);
    free (buf);
    return rc != 0 ? rc : n;
}

void
sl_schema_reset (void)
{
    for (size_t i = 0; i < s_n; i++) {
        bool builtin = false;
        for (size_t b = 0; b < S_BUILTIN; b++)
            builtin |= s_table[i] == &s_builtin[b];
        if (!builtin) {
            sl_schema_t *e = (sl_schema_t *) s_table[i];
            sl_schema_free (&e);
        }
    }
    for (size_t i = 0; i < s_n_retired; i++) {
        sl_schema_t *e = &s_retired[i]->pub;
        sl_schema_free (&e);
    }
    free (s_table);
    free (s_retired);
    s_table = NULL;
    s_retired = NULL;
    s_n = s_cap = s_n_retired = s_cap_retired = 0;
}

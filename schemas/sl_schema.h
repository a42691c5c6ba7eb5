/*  sl_schema — the record types in force in this process.
 *
 *  Record types are data: each comes from a registered FileDescriptorSet
 *  (sl_descset) whose sluice options say which field holds the data subject,
 *  which fields are timestamps and which data classes fields carry
 *  (schemas/sluice/v1/options.proto, docs/SCHEMAS.md). The broker loads the
 *  registered versions from its store at start (broker/sl_schema_store.c)
 *  and installs new ones as administrators register them; sluicectl and the
 *  tests install them from files. Everything else (ownership checks at
 *  publish, the policy checker, transforms, consent, the CLI) asks here.
 *
 *  Design notes:
 *
 *  1. One process-wide table, used from one thread at a time (the broker's
 *     loop thread; a tool's main thread).
 *  2. An installed entry is never freed while the process runs: installing
 *     a new version of a type retires the old entry but keeps it, so the
 *     policy index, transforms and decisions that still point to it stay
 *     valid until they are rebuilt. sl_schema_reset() frees everything (at
 *     exit, or between tests).
 *  3. The owner of a type is its bureau, the first part of its name
 *     `<bureau>.v<N>.<Message>`. The namespace "sluice" is the broker's own:
 *     sluice.v1.ConsentEvent is always present (compiled in, version 0) and
 *     nothing can be registered under it.
 */
#ifndef SL_SCHEMA_H
#define SL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#define SL_SCHEMA_NAME_MAX 128
#define SL_SCHEMA_OWNER_MAX 32

typedef struct sl_schema {
    const char *record_type;                         /* "water.v1.MeterReading" */
    const char *owner;                               /* owning bureau: "water" */
    const ProtobufCMessageDescriptor *descriptor;    /* protobuf-c descriptor */
    const char *subject_field;                       /* field with the citizen id, or NULL */
    const char *const *time_fields;                  /* NULL-terminated; int64 Unix seconds */
    /*  Per field (index as in descriptor->fields): its data classes,
     *  NULL-terminated; NULL when the type declares none. */
    const char *const *const *field_classes;
    uint32_t version;                                /* registered version; 0 = built in */
    const uint8_t *descriptor_set;                   /* the registered set; NULL if built in */
    size_t descriptor_set_len;
    const char *file;                                /* the .proto that declares it */
} sl_schema_t;

/*  Looks a record type up by its full name: the version in force. Returns a
 *  pointer valid for the life of the process (design note 2), or NULL. */
const sl_schema_t *sl_schema_find (const char *record_type);

/*  Number of record types in force, and the i-th (0 <= i < count), sorted
 *  by name. Cannot fail. */
size_t sl_schema_count (void);
const sl_schema_t *sl_schema_at (size_t i);

/*  True if `member` owns `record_type` (the record type is known and its
 *  owner is `member`). */
int sl_schema_is_owner (const char *record_type, const char *member);

/*  True if some record type in force is owned by `owner`. */
bool sl_schema_owner_known (const char *owner);

/*  The field descriptor named `name` in `schema`, or NULL. */
const ProtobufCFieldDescriptor *sl_schema_field (const sl_schema_t *schema,
                                                 const char *name);

/*  The type of field `f` as a .proto file spells it: "int32", "string"...,
 *  or the full name of its message or enum type ("?" for a type protobuf-c
 *  does not know). Borrowed from `f` or static. Cannot fail. */
const char *sl_schema_type_name (const ProtobufCFieldDescriptor *f);

/*  True if field `name` of `schema` is listed as a timestamp. */
int sl_schema_is_time_field (const sl_schema_t *schema, const char *name);

/*  True if messages of descriptor `d` are records of `schema`: `d` is its
 *  descriptor, or one of the same message (full name) with the same fields
 *  in the same order (number, name, type, label) — e.g. the protoc-c
 *  generated descriptor an adapter compiled from the same .proto. Field
 *  indices then agree, so masks made for one apply to the other; code
 *  must still read a message through its own descriptor's offsets. */
bool sl_schema_describes (const sl_schema_t *schema, const ProtobufCMessageDescriptor *d);

/*  True if field `name` of `schema` carries data class `cls`. */
bool sl_schema_field_has_class (const sl_schema_t *schema, const char *name, const char *cls);

/*  Checks a record type name: `<bureau>.v<N>.<Message>`, bureau
 *  [a-z][a-z0-9_-]{0,31} and not "sluice", N >= 1, Message [A-Z][A-Za-z0-9_]*.
 *  Writes the bureau to `owner` (SL_SCHEMA_OWNER_MAX + 1 bytes). Returns 0 or
 *  SL_EINVAL with `err` saying which rule. */
int sl_schema_check_name (const char *record_type, char *owner, char *err, size_t errlen);

/*  Builds (does not install) the entry for `record_type` at `version` from
 *  a serialized FileDescriptorSet. Returns 0 and *out (free it with
 *  sl_schema_free unless it is installed); SL_EINVAL with `err` naming the
 *  place and rule (name, options, descriptor), SL_ENOMEM. */
int sl_schema_build (const uint8_t *set, size_t len, const char *record_type,
                     uint32_t version, sl_schema_t **out, char *err, size_t errlen);

/*  Frees an entry that was never installed. Harmless on NULL. */
void sl_schema_free (sl_schema_t **entry_p);

/*  Puts `*entry_p` in force (taking it; *entry_p is set NULL), replacing
 *  the version in force of the same type, which is retired (design note 2).
 *  If `retired` is not NULL it gets the replaced entry (or NULL).
 *  Returns 0 or SL_ENOMEM (nothing changed). */
int sl_schema_install (sl_schema_t **entry_p, const sl_schema_t **retired);

/*  Puts a retired entry back in force in place of the current one of its
 *  type (which is retired in turn), or removes the type when `entry` is
 *  NULL and `record_type` given. For undoing an install whose transaction
 *  did not commit. Cannot fail. */
void sl_schema_restore (const char *record_type, const sl_schema_t *entry);

/*  Takes `entry` (installed by sl_schema_install, nothing since has kept a
 *  pointer to it) back out of the table and puts `prev` (what that install
 *  retired, or NULL) back in force. The caller owns `entry` again. For
 *  trying a version against the policies without committing to it.
 *  Cannot fail. */
void sl_schema_uninstall (sl_schema_t *entry, const sl_schema_t *prev);

/*  Installs every record type declared (option (sluice.v1.record)) in the
 *  FileDescriptorSet file `path`, as version 1 (a tool's or a test's view,
 *  without a broker). Returns how many (>= 0) or SL_EIO / SL_EINVAL with
 *  `err` saying why. */
int sl_schema_load_file (const char *path, char *err, size_t errlen);

/*  Frees every installed and retired entry (only the built-in types stay).
 *  Pointers from sl_schema_find become invalid. Cannot fail. */
void sl_schema_reset (void);

#endif

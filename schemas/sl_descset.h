/*  sl_descset — protobuf-c descriptors built at run time from a
 *  FileDescriptorSet, and the sluice options read from it.
 *
 *  protobuf-c has no dynamic messages, but all of its message code
 *  (unpack, pack, get_packed_size, free_unpacked, field look-ups) is driven
 *  by ProtobufCMessageDescriptor tables. This module writes those tables
 *  from the google.protobuf.FileDescriptorSet that protoc produces
 *  (`protoc --include_imports --descriptor_set_out`), so a record type
 *  registered at run time is handled by exactly the same code as one
 *  compiled with protoc-c.
 *
 *  Design notes:
 *
 *  1. Layout. Each message gets a C layout of its own: the ProtobufCMessage
 *     base, then the fields in declaration order, each at its natural
 *     alignment; a repeated field is a size_t count followed by a pointer; a
 *     proto3 `optional` scalar has a protobuf_c_boolean has_ flag; a oneof is
 *     a uint32 case followed by a union as large as its largest member.
 *     Nothing outside reads the layout by name: code goes through the field
 *     descriptors' offsets, as protobuf-c does.
 *  2. protobuf-c's invariants are established here: fields sorted by
 *     number with no duplicates, fields_sorted_by_name, field_ranges with
 *     the {0, n_fields} sentinel, enum values sorted with value ranges and a
 *     by-name index. message_init: protobuf-c's init function takes no
 *     descriptor, so each run-time descriptor gets one of a fixed pool of
 *     128 functions (a slot holding its empty-message template; released
 *     by sl_descset_destroy; guarded by a mutex), as fast as protoc-c's
 *     generated init. With the pool exhausted message_init is NULL and
 *     protobuf_c_message_unpack initialises generically (correct, slower);
 *     protobuf_c_message_init() must then not be called on it: use
 *     sl_descset_message_new(), which works in both cases.
 *  3. Only proto3 is accepted for messages a record reaches (no proto2
 *     defaults, required fields, groups or extensions in records). Imports
 *     may be proto2 (descriptor.proto is) as long as no record field uses
 *     their messages.
 *  4. Every descriptor, name and table of a set lives in one arena owned by
 *     the sl_descset_t; pointers stay valid until sl_descset_destroy.
 *  5. Errors name the place: "FILE:LINE:COL: ..." when the set carries
 *     source info (protoc --include_source_info, which sluicectl passes),
 *     "FILE: message M, field F: ..." otherwise.
 */
#ifndef SL_DESCSET_H
#define SL_DESCSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

typedef struct sl_descset_t sl_descset_t;

/*  Field numbers of the sluice options (schemas/sluice/v1/options.proto). */
#define SL_DESCSET_EXT_RECORD 50710   /* MessageOptions: sluice.v1.RecordOption */
#define SL_DESCSET_EXT_FIELD  50711   /* FieldOptions: sluice.v1.FieldOption */

/*  What the sluice options say about one record type. Borrowed from the
 *  set (valid until sl_descset_destroy). */
typedef struct {
    const char *record_type;                       /* full name, no leading dot */
    const ProtobufCMessageDescriptor *descriptor;
    const char *subject_field;                     /* NULL for an aggregate record */
    const char *const *time_fields;                /* NULL-terminated */
    /*  Per field of `descriptor` (same index as descriptor->fields): its data
     *  classes, NULL-terminated (never NULL itself). */
    const char *const *const *field_classes;
    const char *file;                              /* the .proto it is declared in */
} sl_record_info_t;

/*  Reads the whole file `path` (a serialized FileDescriptorSet, as protoc
 *  writes it) into a new buffer, as sl_file_read (common/sl_file.h) does.
 *  Returns 0 with *out (the caller frees it) and *len; SL_EIO with `err` =
 *  "PATH: reason" when it cannot be opened or read; SL_ENOMEM with `err` =
 *  "PATH: out of memory". Parses nothing. */
int sl_descset_read_file (const char *path, uint8_t **out, size_t *len, char *err, size_t errlen);

/*  Unpacks a serialized FileDescriptorSet (`len` bytes, copied). Returns
 *  the set or NULL with `err` saying why (not a FileDescriptorSet, no file,
 *  two files of one name, out of memory). */
sl_descset_t *sl_descset_parse (const uint8_t *data, size_t len, char *err, size_t errlen);

/*  Frees the set and every descriptor built from it. Harmless on NULL. */
void sl_descset_destroy (sl_descset_t **self_p);

/*  The serialized set as given to sl_descset_parse. Borrowed. */
const uint8_t *sl_descset_bytes (const sl_descset_t *self, size_t *len);

/*  The record types the set declares: messages with option
 *  (sluice.v1.record) in the set's files, in file order, full names.
 *  Returns how many; `names` (may be NULL) gets up to `cap` of them,
 *  borrowed. Cannot fail. */
size_t sl_descset_records (const sl_descset_t *self, const char **names, size_t cap);

/*  True if the set has a message of this full name (no leading dot). */
bool sl_descset_has_message (const sl_descset_t *self, const char *full_name);

/*  Builds (once; later calls return the same pointer) the descriptor of
 *  message `full_name` and of every message and enum it reaches. Returns
 *  NULL with `err` naming the place (design note 5): unknown message, a
 *  type missing from the set (compile with --include_imports), proto2,
 *  groups, duplicate field numbers, out of memory. */
const ProtobufCMessageDescriptor *sl_descset_message (sl_descset_t *self, const char *full_name,
                                                      char *err, size_t errlen);

/*  Builds `full_name` and reads its sluice options into *info. Checks: the
 *  message carries (sluice.v1.record); exactly one of subject / aggregate;
 *  the subject names a singular string field; every time field is a
 *  singular 64-bit integer; class names are [a-z][a-z0-9_-]*. Returns 0, or
 *  SL_EINVAL with `err` naming file, line, column, field and rule;
 *  SL_ENOMEM. */
int sl_descset_record (sl_descset_t *self, const char *full_name, sl_record_info_t *info,
                       char *err, size_t errlen);

/*  A new, empty message of a run-time (or compiled) descriptor, as
 *  protobuf_c_message_unpack would leave it before reading any field;
 *  free it with protobuf_c_message_free_unpacked (m, NULL). NULL if out of
 *  memory. */
ProtobufCMessage *sl_descset_message_new (const ProtobufCMessageDescriptor *desc);

#endif

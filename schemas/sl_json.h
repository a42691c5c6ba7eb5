/*  sl_json — the proto3 canonical JSON mapping, for any message descriptor.
 *
 *  Converts between protobuf-c messages and cJSON trees as the proto3 JSON
 *  mapping says (https://protobuf.dev/programming-guides/proto3/#json), over
 *  any `const ProtobufCMessageDescriptor *` — one compiled into the program or
 *  one built at run time from a registered descriptor set. Used by the HTTP
 *  gateway, `sluicectl pub/sub` and the console; docs/GATEWAY.md states the
 *  mapping as a contract.
 *
 *  The mapping, numbered so other files can cite it:
 *
 *   1. Field names: output uses the lowerCamelCase JSON name protoc derives
 *      from the field name ("period_start" -> "periodStart": each '_' is
 *      dropped and the letter after it upper-cased). Input accepts that name
 *      and the original proto name. (A custom `json_name` option is not
 *      visible through protobuf-c descriptors and is not honoured.)
 *   2. Scalars: int32, sint32, sfixed32, uint32, fixed32 -> JSON numbers;
 *      int64, sint64, sfixed64, uint64, fixed64 -> decimal strings
 *      ("-9223372036854775808"). Input accepts numbers and decimal strings
 *      for every integer kind; a JSON number given for a 64-bit field must be
 *      an integer of magnitude <= 2^53 (beyond that a double cannot hold it
 *      exactly: send a string). Out-of-range and fractional values are
 *      refused.
 *   3. float, double -> JSON numbers; NaN and infinities as the strings
 *      "NaN", "Infinity", "-Infinity". Input also accepts numeric strings.
 *      A float is printed with the fewest digits that read back to the same
 *      float.
 *   4. bool -> true / false (strings are refused).
 *   5. string -> JSON string; input must be valid UTF-8.
 *   6. bytes -> standard base64 with padding (RFC 4648 §4). Input accepts
 *      standard or URL-safe base64, padded or not.
 *   7. enum -> the value's name; a number that has no name is printed as a
 *      number. Input accepts a name or an integer.
 *   8. message -> JSON object; repeated -> JSON array; map<K,V> (a repeated
 *      message "XxxEntry" with fields key = 1 and value = 2, as protoc
 *      generates it) -> JSON object whose keys are the map keys as strings.
 *   9. Defaults: a proto3 field without presence that holds its default
 *      (0, "", empty bytes, first enum value, empty list) is omitted on
 *      output unless `emit_defaults` is set; fields with presence (proto2
 *      optional/required, proto3 `optional`, oneof members, messages) are
 *      printed when present. On input JSON null means "default".
 *  10. Time fields: when the options' `is_time` callback says a field is a
 *      time field (today: int64 Unix seconds, sl_schema.h), it is printed as
 *      an RFC 3339 UTC time "2026-03-01T10:00:00Z"; input accepts RFC 3339
 *      with 'Z' or a numeric offset ("+01:00"), fractional seconds only if
 *      they are zero, or plain Unix seconds (number or string).
 *      google.protobuf.Timestamp is always an RFC 3339 string (with up to 9
 *      fraction digits), as the proto3 mapping says.
 *  11. Unknown JSON members are refused, naming their path; so is a field
 *      given twice (by either name), and two members of one oneof.
 *  12. Error paths are JSONPath-like: "$.readings[2].meterId". Every error
 *      names the path, what was expected and what was found.
 *
 *  Memory: messages built by sl_json_decode are allocated with the default
 *  protobuf-c allocator (malloc); free them with
 *  protobuf_c_message_free_unpacked (msg, NULL). cJSON trees are the
 *  caller's, freed with cJSON_Delete.
 *
 *  Thread safety: no global state; every function may be called from any
 *  thread at once.
 */
#ifndef SL_JSON_H
#define SL_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Says whether `field` of message type `msg` is a time field (int64 Unix
    seconds shown as RFC 3339). Return non-zero for yes. */
typedef int (sl_json_time_fn) (const ProtobufCMessageDescriptor *msg,
                               const ProtobufCFieldDescriptor *field, void *arg);

/*  Options; zero-initialised means: canonical output, no time fields. */
typedef struct {
    sl_json_time_fn *is_time;   /* NULL: no time fields (§10) */
    void *time_arg;             /* passed to is_time */
    int emit_defaults;          /* print proto3 fields holding defaults (§9) */
    int proto_names;            /* print original proto field names, not lowerCamelCase (§1) */
} sl_json_options_t;

/*  An sl_json_time_fn for the record types of sl_schema.h: yes when
    `msg` is a registered record type (sl_schema_find (msg->name)) and
    `field` is one of its time fields. `arg` is unused. Cannot fail. */
int sl_json_schema_is_time (const ProtobufCMessageDescriptor *msg,
                            const ProtobufCFieldDescriptor *field, void *arg);

/*  Encodes `msg` as a JSON object (§1-§10). `opts` may be NULL. Returns a
    new cJSON tree (the caller's, cJSON_Delete), or NULL when out of
    memory. */
cJSON *sl_json_encode (const ProtobufCMessage *msg, const sl_json_options_t *opts);

/*  Decodes the JSON object `json` into a new message of type `desc`
    (§1-§12). `opts` may be NULL. On success stores the message in *msg_p
    (free with protobuf_c_message_free_unpacked (*msg_p, NULL)) and returns
    0. Errors: SL_EPARSE — `json` does not match the type; `err` (may be
    NULL) gets "$.path: what was expected, what was found"; SL_ENOMEM.
    *msg_p is left NULL on error. */
int sl_json_decode (const cJSON *json, const ProtobufCMessageDescriptor *desc,
                    const sl_json_options_t *opts, ProtobufCMessage **msg_p,
                    char *err, size_t errlen);

/*  Unpacks the protobuf `body` (`size` bytes) of type `desc` and encodes it
    as sl_json_encode does. Returns 0 with the tree in *json_p; SL_EDECODE
    (the body does not decode as `desc`) or SL_ENOMEM, with `err`. */
int sl_json_encode_packed (const ProtobufCMessageDescriptor *desc, const void *body,
                           size_t size, const sl_json_options_t *opts, cJSON **json_p,
                           char *err, size_t errlen);

/*  Decodes `json` as sl_json_decode does and packs the message. Returns 0
    with a malloc'ed body in *body_p (caller frees) and its length in
    *size_p; SL_EPARSE or SL_ENOMEM as sl_json_decode. */
int sl_json_decode_packed (const cJSON *json, const ProtobufCMessageDescriptor *desc,
                           const sl_json_options_t *opts, uint8_t **body_p,
                           size_t *size_p, char *err, size_t errlen);

/*  Parses JSON text (`len` bytes, need not be NUL-terminated) into a new
    cJSON tree in *json_p. Anything but white space after the value is an
    error. On a syntax error returns SL_EPARSE and writes "line L, column
    C: ..." to `err` (lines and columns count from 1, columns in bytes), and
    stores the position in *line / *col when non-NULL. SL_ENOMEM. */
int sl_json_parse (const char *text, size_t len, cJSON **json_p,
                   int *line, int *col, char *err, size_t errlen);

/*  Writes the lowerCamelCase JSON name of `field` (§1) into `out` (size
    `size`, truncated to fit, always terminated). Returns its length.
    Cannot fail. */
size_t sl_json_field_name (const ProtobufCFieldDescriptor *field, char *out, size_t size);

/*  A JSON Schema (draft 2020-12) for the canonical JSON form of message
    type `desc` with options `opts` (may be NULL): an object schema with one
    property per field under its JSON name, nested and recursive message
    types in "$defs", "additionalProperties": false, 64-bit integers as
    decimal strings or integers, bytes with "contentEncoding": "base64",
    enums as their names or integers, time fields as "format": "date-time"
    (or Unix seconds). `id` (may be NULL) becomes "$id". The schema
    describes what sl_json_decode accepts under canonical names; original
    proto names are accepted too but not listed. Returns a new tree or NULL
    when out of memory. */
cJSON *sl_json_schema (const ProtobufCMessageDescriptor *desc,
                       const sl_json_options_t *opts, const char *id);

/*  Formats Unix seconds `t` as RFC 3339 UTC ("2026-03-01T10:00:00Z") into
    `out` (at least 32 bytes). Years outside 0001-9999 are refused with
    SL_EINVAL. */
int sl_json_format_time (int64_t t, char *out, size_t size);

/*  Parses an RFC 3339 date-time ("2026-03-01T10:00:00Z", "...+01:00",
    "...T10:00:00.5Z") into Unix seconds (*t) and nanoseconds (*nanos, may
    be NULL: then a non-zero fraction is an error): common/sl_time's
    sl_time_parse_rfc3339, the one time scanner. Returns 0 or SL_EPARSE. */
int sl_json_parse_time (const char *s, int64_t *t, int32_t *nanos);

#ifdef __cplusplus
}
#endif
#endif

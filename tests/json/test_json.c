/*  sl_json: the proto3 JSON mapping, read as its usage example.
 *
 *  sltest.v1.Kinds (kinds.proto) has one field of every kind; the record
 *  types of sl_schema.h show time fields. Each case states one clause of
 *  sl_json.h's design note.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kinds.pb-c.h"
#include "sl_error.h"
#include "sl_json.h"
#include "sl_schema.h"
#include "water/v1/water.pb-c.h"

static int
s_kinds_time (const ProtobufCMessageDescriptor *msg, const ProtobufCFieldDescriptor *field,
              void *arg)
{
    (void) arg;
    return msg == &sltest__v1__kinds__descriptor && strcmp (field->name, "seen_at") == 0;
}

static const sl_json_options_t s_opts = { .is_time = s_kinds_time };

/*  Decodes `text` as Kinds; returns the rc and fills err. */
static int
s_decode_text (const char *text, const ProtobufCMessageDescriptor *desc,
               const sl_json_options_t *o, ProtobufCMessage **m, char *err, size_t errlen)
{
    cJSON *j = NULL;
    int rc = sl_json_parse (text, strlen (text), &j, NULL, NULL, err, errlen);
    if (rc != 0)
        return rc;
    rc = sl_json_decode (j, desc, o, m, err, errlen);
    cJSON_Delete (j);
    return rc;
}

static char *
s_encode_text (const ProtobufCMessage *m, const sl_json_options_t *o)
{
    cJSON *j = sl_json_encode (m, o);
    cr_assert_not_null (j);
    char *t = cJSON_PrintUnformatted (j);
    cJSON_Delete (j);
    return t;
}

/*  Pack, encode, print, parse, decode, pack: the same bytes. */
static void
s_assert_round_trip (const ProtobufCMessage *m, const sl_json_options_t *o)
{
    size_t n1 = protobuf_c_message_get_packed_size (m);
    uint8_t *p1 = malloc (n1 + 1);
    protobuf_c_message_pack (m, p1);
    char *text = s_encode_text (m, o);
    ProtobufCMessage *back = NULL;
    char err[256];
    cr_assert_eq (s_decode_text (text, m->descriptor, o, &back, err, sizeof err), 0,
                  "%s on %s", err, text);
    size_t n2 = protobuf_c_message_get_packed_size (back);
    uint8_t *p2 = malloc (n2 + 1);
    protobuf_c_message_pack (back, p2);
    cr_assert_eq (n1, n2, "packed sizes differ after the round trip of %s", text);
    cr_assert_eq (memcmp (p1, p2, n1), 0, "bytes differ after the round trip of %s", text);
    protobuf_c_message_free_unpacked (back, NULL);
    free (text);
    free (p1);
    free (p2);
}

static const char *
s_member_text (cJSON *obj, const char *name)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, name);
    cr_assert_not_null (v, "no member %s", name);
    cr_assert (cJSON_IsString (v), "member %s is not a string", name);
    return v->valuestring;
}

Test (json, every_field_kind_round_trips)
{
    Sltest__V1__Kinds k = SLTEST__V1__KINDS__INIT;
    Sltest__V1__Inner child = SLTEST__V1__INNER__INIT, inner = SLTEST__V1__INNER__INIT;
    Sltest__V1__Inner r0 = SLTEST__V1__INNER__INIT, r1 = SLTEST__V1__INNER__INIT;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t) i;

    k.f_int32 = INT32_MIN;
    k.f_sint32 = INT32_MAX;
    k.f_sfixed32 = -1;
    k.f_uint32 = UINT32_MAX;
    k.f_fixed32 = 7;
    k.f_int64 = INT64_MIN;
    k.f_sint64 = INT64_MAX;
    k.f_sfixed64 = -9007199254740993LL;     /* 2^53 + 1: not a double */
    k.f_uint64 = UINT64_MAX;
    k.f_fixed64 = 1;
    k.f_float = 0.1f;
    k.f_double = -1.0e-300;
    k.f_bool = 1;
    k.f_string = "héllo \"quoted\" \\ \n tab\t ✓";
    k.f_bytes.data = all;
    k.f_bytes.len = sizeof all;
    k.f_enum = SLTEST__V1__COLOR__GREEN;
    child.name = "child";
    child.count = -2;
    inner.name = "inner";
    inner.child = &child;
    k.f_message = &inner;
    int32_t ri[] = { 0, -1, 2147483647 };
    k.r_int32 = ri;
    k.n_r_int32 = 3;
    int64_t r64[] = { INT64_MIN, 0, INT64_MAX };
    k.r_int64 = r64;
    k.n_r_int64 = 3;
    char *rs[] = { "", "a", "b c" };
    k.r_string = rs;
    k.n_r_string = 3;
    ProtobufCBinaryData rb[] = { { 0, NULL }, { 1, all + 255 }, { 3, all } };
    k.r_bytes = rb;
    k.n_r_bytes = 3;
    Sltest__V1__Color re[] = { SLTEST__V1__COLOR__RED, (Sltest__V1__Color) 42 };
    k.r_enum = re;
    k.n_r_enum = 2;
    r0.name = "r0";
    r1.count = 5;
    Sltest__V1__Inner *rm[] = { &r0, &r1 };
    k.r_message = rm;
    k.n_r_message = 2;
    double rd[] = { 1.5, -0.0, 1e308 };
    k.r_double = rd;
    k.n_r_double = 3;
    protobuf_c_boolean rbool[] = { 1, 0 };
    k.r_bool = rbool;
    k.n_r_bool = 2;
    Sltest__V1__Kinds__MStrEntry e1 = SLTEST__V1__KINDS__MSTR_ENTRY__INIT,
                                 e2 = SLTEST__V1__KINDS__MSTR_ENTRY__INIT;
    e1.key = "alpha";
    e1.value = INT64_MAX;
    e2.key = "beta";
    e2.value = -3;
    Sltest__V1__Kinds__MStrEntry *ms[] = { &e1, &e2 };
    k.m_str = ms;
    k.n_m_str = 2;
    Sltest__V1__Kinds__MIntEntry mi = SLTEST__V1__KINDS__MINT_ENTRY__INIT;
    mi.key = -7;
    mi.value = &r0;
    Sltest__V1__Kinds__MIntEntry *mis[] = { &mi };
    k.m_int = mis;
    k.n_m_int = 1;
    k.choice_case = SLTEST__V1__KINDS__CHOICE_O_TEXT;
    k.o_text = "";                           /* a oneof member is present even when empty */
    k.seen_at = 1772359200;                  /* 2026-03-01T10:00:00Z */
    ts.seconds = 1772359200;
    ts.nanos = 500000000;
    k.ts = &ts;
    float rf[] = { 3.4028235e38f, 1e-45f, -0.3f };
    k.r_float = rf;
    k.n_r_float = 3;
    uint64_t ru[] = { 0, 9007199254740993ULL, UINT64_MAX };
    k.r_uint64 = ru;
    k.n_r_uint64 = 3;

    cJSON *j = sl_json_encode (&k.base, &s_opts);
    cr_assert_not_null (j);
    cr_assert_eq (cJSON_GetObjectItemCaseSensitive (j, "fInt32")->valuedouble, INT32_MIN);
    cr_assert_eq (cJSON_GetObjectItemCaseSensitive (j, "fUint32")->valuedouble, UINT32_MAX);
    cr_assert_str_eq (s_member_text (j, "fInt64"), "-9223372036854775808");
    cr_assert_str_eq (s_member_text (j, "fSint64"), "9223372036854775807");
    cr_assert_str_eq (s_member_text (j, "fSfixed64"), "-9007199254740993");
    cr_assert_str_eq (s_member_text (j, "fUint64"), "18446744073709551615");
    cr_assert_str_eq (s_member_text (j, "fEnum"), "GREEN");
    cr_assert_str_eq (s_member_text (j, "seenAt"), "2026-03-01T10:00:00Z");
    cr_assert_str_eq (s_member_text (j, "ts"), "2026-03-01T10:00:00.500Z");
    cr_assert_str_eq (s_member_text (j, "oText"), "");
    cJSON *renum = cJSON_GetObjectItemCaseSensitive (j, "rEnum");
    cr_assert_str_eq (cJSON_GetArrayItem (renum, 0)->valuestring, "RED");
    cr_assert_eq (cJSON_GetArrayItem (renum, 1)->valuedouble, 42, "a value without a name is a number");
    cr_assert_str_eq (s_member_text (cJSON_GetObjectItemCaseSensitive (j, "mStr"), "alpha"),
                      "9223372036854775807");
    cr_assert_not_null (cJSON_GetObjectItemCaseSensitive (
        cJSON_GetObjectItemCaseSensitive (j, "mInt"), "-7"));
    const char *b64 = s_member_text (j, "fBytes");
    cr_assert_eq (strncmp (b64, "AAECAwQFBgcICQoLDA0ODx", 22), 0, "standard base64: %s", b64);
    cr_assert_eq (b64[strlen (b64) - 1], '=', "padded: %s", b64);
    cr_assert_str_eq (cJSON_GetArrayItem (cJSON_GetObjectItemCaseSensitive (j, "rBytes"), 1)
                      ->valuestring, "/w==");
    char *text = cJSON_PrintUnformatted (j);
    cr_assert_not_null (strstr (text, "\"fFloat\":0.1,"), "a float prints short: %s", text);
    cJSON_Delete (j);
    free (text);

    s_assert_round_trip (&k.base, &s_opts);
    sl_json_options_t names = s_opts;
    names.proto_names = 1;
    names.emit_defaults = 1;
    s_assert_round_trip (&k.base, &names);
}

Test (json, int64_accepts_strings_and_safe_numbers)
{
    ProtobufCMessage *m = NULL;
    char err[256];
    cr_assert_eq (s_decode_text ("{\"fInt64\": 9007199254740992, \"fUint64\": \"18446744073709551615\","
                                 " \"fSint64\": \"-9223372036854775808\", \"fInt32\": \"-12\","
                                 " \"fFixed64\": 1e3}",
                                 &sltest__v1__kinds__descriptor, NULL, &m, err, sizeof err), 0, "%s", err);
    Sltest__V1__Kinds *k = (Sltest__V1__Kinds *) m;
    cr_assert_eq (k->f_int64, 9007199254740992LL);
    cr_assert_eq (k->f_uint64, UINT64_MAX);
    cr_assert_eq (k->f_sint64, INT64_MIN);
    cr_assert_eq (k->f_int32, -12);
    cr_assert_eq (k->f_fixed64, 1000);
    protobuf_c_message_free_unpacked (m, NULL);

    cr_assert_eq (s_decode_text ("{\"fInt64\": 9007199254740994}", &sltest__v1__kinds__descriptor,
                                 NULL, &m, err, sizeof err), SL_EPARSE);
    cr_assert_null (m);
    cr_assert_not_null (strstr (err, "$.fInt64: "), "%s", err);
    cr_assert_not_null (strstr (err, "decimal string"), "%s", err);

    const char *bad[][2] = {
        { "{\"fInt32\": 2147483648}", "$.fInt32: " },
        { "{\"fUint32\": -1}", "$.fUint32: " },
        { "{\"fInt32\": 1.5}", "$.fInt32: " },
        { "{\"fInt64\": \"9223372036854775808\"}", "$.fInt64: " },
        { "{\"fUint64\": \"-1\"}", "$.fUint64: " },
        { "{\"fInt64\": \"12abc\"}", "$.fInt64: " },
        { "{\"fInt64\": \" 12\"}", "$.fInt64: " },
        { "{\"fBool\": \"true\"}", "$.fBool: " },
        { "{\"fString\": 5}", "$.fString: " },
        { "{\"fFloat\": 1e39}", "$.fFloat: " },
        { "{\"rInt32\": [1, null]}", "$.rInt32[1]: " },
        { "{\"rInt32\": {}}", "$.rInt32: " },
        { "{\"fMessage\": []}", "$.fMessage: " },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq (s_decode_text (bad[i][0], &sltest__v1__kinds__descriptor, NULL, &m, err,
                                     sizeof err), SL_EPARSE, "accepted %s", bad[i][0]);
        cr_assert_eq (strncmp (err, bad[i][1], strlen (bad[i][1])), 0, "%s -> %s", bad[i][0], err);
    }
}

Test (json, errors_name_the_path)
{
    ProtobufCMessage *m = NULL;
    char err[256];
    cr_assert_eq (s_decode_text ("{\"fMessage\": {\"child\": {\"nope\": 1}}}",
                                 &sltest__v1__kinds__descriptor, NULL, &m, err, sizeof err), SL_EPARSE);
    cr_assert_str_eq (err, "$.fMessage.child: unknown field \"nope\" (sltest.v1.Inner has no such field)");
    cr_assert_eq (s_decode_text ("{\"rMessage\": [{}, {\"count\": \"x\"}]}",
                                 &sltest__v1__kinds__descriptor, NULL, &m, err, sizeof err), SL_EPARSE);
    cr_assert_str_eq (err, "$.rMessage[1].count: expected a 64-bit integer as decimal digits, "
                      "got the string \"x\"");
    cr_assert_eq (s_decode_text ("{\"mInt\": {\"x\": {}}}",
                                 &sltest__v1__kinds__descriptor, NULL, &m, err, sizeof err), SL_EPARSE);
    cr_assert_eq (strncmp (err, "$.mInt[\"x\"]: ", 13), 0, "%s", err);
    cr_assert_eq (s_decode_text ("[1]", &sltest__v1__kinds__descriptor, NULL, &m, err, sizeof err),
                  SL_EPARSE);
    cr_assert_eq (strncmp (err, "$: expected a JSON object", 25), 0, "%s", err);
    cr_assert_null (m);
}

Test (json, proto_names_accepted_duplicates_refused)
{
    ProtobufCMessage *m = NULL;
    char err[256];
    cr_assert_eq (s_decode_text ("{\"f_int32\": 3, \"r_string\": [\"a\"], \"seen_at\": 5}",
                                 &sltest__v1__kinds__descriptor, NULL, &m, err, sizeof err), 0, "%s", err);
    Sltest__V1__Kinds *k = (Sltest__V1__Kinds *) m;
    cr_assert_eq (k->f_int32, 3);
    cr_assert_eq (k->n_r_string, 1);
    cr_assert_eq (k->seen_at, 5);
    protobuf_c_message_free_unpacked (m, NULL);
    m = NULL;

    cr_assert_eq (s_decode_text ("{\"f_int32\": 3, \"fInt32\": 4}",
                                 &sltest__v1__kinds__descriptor, NULL, &m, err, sizeof err), SL_EPARSE);
    cr_assert_str_eq (err, "$.fInt32: field \"f_int32\" is given twice");
    cr_assert_eq (s_decode_text ("{\"oText\": \"a\", \"oInner\": {}}",
                                 &sltest__v1__kinds__descriptor, NULL, &m, err, sizeof err), SL_EPARSE);
    cr_assert_not_null (strstr (err, "one oneof"), "%s", err);
    cr_assert_eq (s_decode_text ("{\"mStr\": {\"a\": 1, \"a\": 2}}",
                                 &sltest__v1__kinds__descriptor, NULL, &m, err, sizeof err), SL_EPARSE);
    cr_assert_not_null (strstr (err, "given twice"), "%s", err);
    cr_assert_eq (s_decode_text ("{\"mInt\": {\"1\": {}, \"01\": {}}}",
                                 &sltest__v1__kinds__descriptor, NULL, &m, err, sizeof err), SL_EPARSE);
    cr_assert_not_null (strstr (err, "given twice"), "%s", err);
    cr_assert_null (m);
}

Test (json, enums_bytes_reals_and_null)
{
    ProtobufCMessage *m = NULL;
    char err[256];
    cr_assert_eq (s_decode_text ("{\"fEnum\": 2, \"rEnum\": [\"RED\", 9], \"fBytes\": \"_-8\","
                                 " \"rBytes\": [\"AAE\", \"AAE=\"], \"fDouble\": \"-Infinity\","
                                 " \"fFloat\": \"NaN\", \"rDouble\": [\"1.25\"], \"fMessage\": null,"
                                 " \"rString\": null}",
                                 &sltest__v1__kinds__descriptor, NULL, &m, err, sizeof err), 0, "%s", err);
    Sltest__V1__Kinds *k = (Sltest__V1__Kinds *) m;
    cr_assert_eq (k->f_enum, SLTEST__V1__COLOR__GREEN);
    cr_assert_eq (k->r_enum[0], SLTEST__V1__COLOR__RED);
    cr_assert_eq ((int) k->r_enum[1], 9);
    cr_assert_eq (k->f_bytes.len, 2);
    cr_assert_eq (k->f_bytes.data[0], 0xff);
    cr_assert_eq (k->f_bytes.data[1], 0xef);
    cr_assert_eq (k->r_bytes[0].len, 2);
    cr_assert_eq (k->r_bytes[1].len, 2);
    cr_assert (isinf (k->f_double) && k->f_double < 0);
    cr_assert (isnan (k->f_float));
    cr_assert_eq (k->r_double[0], 1.25);
    cr_assert_null (k->f_message);
    cr_assert_eq (k->n_r_string, 0);
    char *text = s_encode_text (m, NULL);
    cr_assert_not_null (strstr (text, "\"fDouble\":\"-Infinity\""), "%s", text);
    cr_assert_not_null (strstr (text, "\"fFloat\":\"NaN\""), "%s", text);
    cr_assert_not_null (strstr (text, "\"fBytes\":\"/+8=\""), "%s", text);
    free (text);
    protobuf_c_message_free_unpacked (m, NULL);
    m = NULL;

    cr_assert_eq (s_decode_text ("{\"fEnum\": \"BLUE\"}", &sltest__v1__kinds__descriptor, NULL,
                                 &m, err, sizeof err), SL_EPARSE);
    cr_assert_str_eq (err, "$.fEnum: expected one of COLOR_UNSPECIFIED, RED, GREEN (or its number), "
                      "got the string \"BLUE\"");
    cr_assert_eq (s_decode_text ("{\"fBytes\": \"a*b\"}", &sltest__v1__kinds__descriptor, NULL,
                                 &m, err, sizeof err), SL_EPARSE);
    cr_assert_eq (strncmp (err, "$.fBytes: expected base64", 25), 0, "%s", err);
    cr_assert_eq (s_decode_text ("{\"fString\": \"\xff\"}", &sltest__v1__kinds__descriptor, NULL,
                                 &m, err, sizeof err), SL_EPARSE);
    cr_assert_str_eq (err, "$.fString: the string is not valid UTF-8");
}

Test (json, defaults_omitted_unless_asked)
{
    Sltest__V1__Kinds k = SLTEST__V1__KINDS__INIT;
    char *text = s_encode_text (&k.base, NULL);
    cr_assert_str_eq (text, "{}");
    free (text);
    sl_json_options_t o = { .emit_defaults = 1, .proto_names = 1 };
    cJSON *j = sl_json_encode (&k.base, &o);
    cr_assert_str_eq (s_member_text (j, "f_int64"), "0");
    cr_assert (cJSON_IsArray (cJSON_GetObjectItemCaseSensitive (j, "r_int32")));
    cr_assert_str_eq (s_member_text (j, "f_enum"), "COLOR_UNSPECIFIED");
    cr_assert_null (cJSON_GetObjectItemCaseSensitive (j, "f_message"), "unset messages stay out");
    cr_assert_null (cJSON_GetObjectItemCaseSensitive (j, "o_text"), "unset oneof members stay out");
    cJSON_Delete (j);
}

Test (json, time_fields_of_record_types)
{
    sl_json_options_t o = { .is_time = sl_json_schema_is_time };
    const sl_schema_t *s = sl_schema_find ("water.v1.MeterReading");
    ProtobufCMessage *m = NULL;
    char err[256];
    cr_assert_eq (s_decode_text ("{\"id\": \"m:1\", \"subject\": \"CIT-1\","
                                 " \"dateObserved\": \"2026-03-01T11:30:00+01:30\","
                                 " \"waterConsumptionM3\": 12.5}",
                                 s->descriptor, &o, &m, err, sizeof err), 0, "%s", err);
    Water__V1__MeterReading *r = (Water__V1__MeterReading *) m;
    cr_assert_eq (r->date_observed, 1772359200);
    char *text = s_encode_text (m, &o);
    cr_assert_str_eq (text, "{\"id\":\"m:1\",\"subject\":\"CIT-1\","
                      "\"dateObserved\":\"2026-03-01T10:00:00Z\",\"waterConsumptionM3\":12.5}");
    free (text);
    protobuf_c_message_free_unpacked (m, NULL);
    m = NULL;

    cr_assert_eq (s_decode_text ("{\"dateObserved\": 1772359200}", s->descriptor, &o, &m, err,
                                 sizeof err), 0, "Unix seconds are accepted: %s", err);
    protobuf_c_message_free_unpacked (m, NULL);
    m = NULL;
    const char *bad[] = { "{\"dateObserved\": \"2026-03-01T10:00:00.5Z\"}",
                          "{\"dateObserved\": \"2026-02-29T10:00:00Z\"}",
                          "{\"dateObserved\": \"2026-03-01 10:00\"}",
                          "{\"dateObserved\": \"yesterday\"}",
                          "{\"dateObserved\": true}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq (s_decode_text (bad[i], s->descriptor, &o, &m, err, sizeof err), SL_EPARSE,
                      "accepted %s", bad[i]);
        cr_assert_eq (strncmp (err, "$.dateObserved: expected an RFC 3339 time", 41), 0, "%s", err);
    }
    /* without the option the field is a plain int64 */
    cr_assert_eq (s_decode_text ("{\"dateObserved\": \"2026-03-01T10:00:00Z\"}", s->descriptor,
                                 NULL, &m, err, sizeof err), SL_EPARSE);

    char buf[32];
    int64_t t;
    int32_t ns;
    cr_assert_eq (sl_json_format_time (0, buf, sizeof buf), 0);
    cr_assert_str_eq (buf, "1970-01-01T00:00:00Z");
    cr_assert_eq (sl_json_format_time (-1, buf, sizeof buf), 0);
    cr_assert_str_eq (buf, "1969-12-31T23:59:59Z");
    cr_assert_eq (sl_json_format_time (253402300799LL, buf, sizeof buf), 0);
    cr_assert_str_eq (buf, "9999-12-31T23:59:59Z");
    cr_assert_eq (sl_json_format_time (253402300800LL, buf, sizeof buf), SL_EINVAL);
    cr_assert_eq (sl_json_parse_time ("2000-02-29T23:59:59.123456789-00:30", &t, &ns), 0);
    cr_assert_eq (t, 951868799 + 1800);
    cr_assert_eq (ns, 123456789);
}

Test (json, parse_errors_name_line_and_column)
{
    cJSON *j = NULL;
    char err[128];
    int line = 0, col = 0;
    const char *text = "{\n  \"a\": 1,\n  \"b\": tru\n}";
    cr_assert_eq (sl_json_parse (text, strlen (text), &j, &line, &col, err, sizeof err), SL_EPARSE);
    cr_assert_eq (line, 3, "%s", err);
    cr_assert_eq (strncmp (err, "line 3, column ", 15), 0, "%s", err);
    cr_assert_null (j);
    cr_assert_eq (sl_json_parse ("{} x", 4, &j, &line, &col, err, sizeof err), SL_EPARSE);
    cr_assert_str_eq (err, "line 1, column 4: unexpected text after the JSON value");
    cr_assert_eq (sl_json_parse ("{\"a\":", 5, &j, &line, &col, err, sizeof err), SL_EPARSE);
    cr_assert_eq (strncmp (err, "line 1, column ", 15), 0, "%s", err);
    cr_assert_eq (sl_json_parse ("{\"a\":1}\n", 8, &j, NULL, NULL, err, sizeof err), 0);
    cJSON_Delete (j);
}

Test (json, schema_describes_the_canonical_form)
{
    cJSON *s = sl_json_schema (&sltest__v1__kinds__descriptor, &s_opts, "urn:test:kinds");
    cr_assert_not_null (s);
    cr_assert_str_eq (s_member_text (s, "$schema"), "https://json-schema.org/draft/2020-12/schema");
    cr_assert_str_eq (s_member_text (s, "$id"), "urn:test:kinds");
    cr_assert_str_eq (s_member_text (s, "type"), "object");
    cr_assert (cJSON_IsFalse (cJSON_GetObjectItemCaseSensitive (s, "additionalProperties")));
    cJSON *props = cJSON_GetObjectItemCaseSensitive (s, "properties");
    cr_assert_str_eq (s_member_text (cJSON_GetObjectItemCaseSensitive (props, "fInt64"), "pattern"),
                      "^-?[0-9]+$");
    cr_assert_str_eq (s_member_text (cJSON_GetObjectItemCaseSensitive (props, "fBytes"),
                                     "contentEncoding"), "base64");
    cr_assert_str_eq (s_member_text (cJSON_GetObjectItemCaseSensitive (props, "seenAt"), "format"),
                      "date-time");
    cr_assert_str_eq (s_member_text (cJSON_GetObjectItemCaseSensitive (props, "fMessage"), "$ref"),
                      "#/$defs/sltest.v1.Inner");
    cJSON *mstr = cJSON_GetObjectItemCaseSensitive (props, "mStr");
    cr_assert_str_eq (s_member_text (mstr, "type"), "object");
    cJSON *defs = cJSON_GetObjectItemCaseSensitive (s, "$defs");
    cJSON *inner = cJSON_GetObjectItemCaseSensitive (defs, "sltest.v1.Inner");
    cr_assert_not_null (inner);
    cJSON *child = cJSON_GetObjectItemCaseSensitive (
        cJSON_GetObjectItemCaseSensitive (inner, "properties"), "child");
    cr_assert_str_eq (s_member_text (child, "$ref"), "#/$defs/sltest.v1.Inner",
                      "a recursive type refers to itself");
    cJSON *fenum = cJSON_GetObjectItemCaseSensitive (props, "fEnum");
    cJSON *names = cJSON_GetObjectItemCaseSensitive (
        cJSON_GetArrayItem (cJSON_GetObjectItemCaseSensitive (fenum, "anyOf"), 0), "enum");
    cr_assert_eq (cJSON_GetArraySize (names), 3);
    cJSON_Delete (s);
}

Test (json, packed_helpers)
{
    cJSON *j = NULL;
    char err[256];
    const char *in = "{\"fString\":\"x\",\"rInt64\":[\"1\",2]}";
    cr_assert_eq (sl_json_parse (in, strlen (in), &j, NULL, NULL,
                                 err, sizeof err), 0, "%s", err);
    uint8_t *body = NULL;
    size_t n = 0;
    cr_assert_eq (sl_json_decode_packed (j, &sltest__v1__kinds__descriptor, NULL, &body, &n, err,
                                         sizeof err), 0, "%s", err);
    cJSON_Delete (j);
    cr_assert_eq (sl_json_encode_packed (&sltest__v1__kinds__descriptor, body, n, NULL, &j, err,
                                         sizeof err), 0);
    char *text = cJSON_PrintUnformatted (j);
    cr_assert_str_eq (text, "{\"fString\":\"x\",\"rInt64\":[\"1\",\"2\"]}");
    free (text);
    cJSON_Delete (j);
    free (body);
    const uint8_t junk[] = { 0xff, 0xff, 0xff };
    cr_assert_eq (sl_json_encode_packed (&sltest__v1__kinds__descriptor, junk, sizeof junk, NULL,
                                         &j, err, sizeof err), SL_EDECODE);
    cr_assert_null (j);
}

Test (json, field_names)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name (&water__v1__meter_reading__descriptor,
                                                         "water_consumption_m3");
    char name[64];
    cr_assert_eq (sl_json_field_name (f, name, sizeof name), 18);
    cr_assert_str_eq (name, "waterConsumptionM3");
    cr_assert_eq (sl_json_field_name (f, name, 6), 5);
    cr_assert_str_eq (name, "water");
}

/*  Criterion suite for sl_descset and sl_schema: descriptors built at run
 *  time from a FileDescriptorSet decode and encode exactly as protoc and
 *  protoc-c do; the sluice options are read from the set; bad sets get
 *  errors that name the place. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_descset.h"
#include "sl_error.h"
#include "sl_json.h"
#include "sl_schema.h"
#include "water/v1/water.pb-c.h"
#include "parking/v1/parking.pb-c.h"
#include "tl.h"

static uint8_t *
s_read (const char *path, size_t *len)
{
    FILE *f = fopen (path, "rb");
    cr_assert (f, "%s", path);
    fseek (f, 0, SEEK_END);
    long n = ftell (f);
    fseek (f, 0, SEEK_SET);
    uint8_t *buf = malloc ((size_t) n + 1);
    cr_assert_eq (fread (buf, 1, (size_t) n, f), (size_t) n);
    fclose (f);
    *len = (size_t) n;
    return buf;
}

/*  tests/schemas/kinds.proto's FileDescriptorSet (set) and protoc's
 *  encoding of kinds.txtpb (bin), read for every test. */
static uint8_t *set, *bin;
static size_t sl, bl;

static void
s_kinds (void)
{
    set = s_read (KINDS_BINPB, &sl);
    bin = s_read (KINDS_BIN, &bl);
}

static void
s_reset (void)
{
    sl_schema_reset ();
    free (set);
    free (bin);
    set = bin = NULL;
}

TestSuite (descset, .init = s_kinds, .fini = s_reset);

Test (descset, examples_install_as_data)
{
    char err[600] = "";
    /* only the broker's own type before anything is registered */
    cr_assert_eq (sl_schema_count (), 1);
    cr_assert_null (sl_schema_find ("water.v1.MeterReading"));
    cr_assert_eq (sl_schema_load_file (EXAMPLES_BINPB, err, sizeof err), 5, "%s", err);
    cr_assert_eq (sl_schema_count (), 6);
    const sl_schema_t *w = sl_schema_find ("water.v1.MeterReading");
    cr_assert (w);
    cr_assert_str_eq (w->owner, "water");
    cr_assert_str_eq (w->subject_field, "subject");
    cr_assert_str_eq (w->time_fields[0], "date_observed");
    cr_assert_null (w->time_fields[1]);
    cr_assert (sl_schema_field_has_class (w, "district", "location"));
    cr_assert_not (sl_schema_field_has_class (w, "district", "personal"));
    const sl_schema_t *e = sl_schema_find ("health.v1.Encounter");
    cr_assert (e && sl_schema_is_time_field (e, "period_start") && sl_schema_is_time_field (e, "period_end"));
    cr_assert (sl_schema_is_owner ("parking.v1.Session", "parking"));
    cr_assert_not (sl_schema_is_owner ("parking.v1.Session", "water"));
    cr_assert (sl_schema_find ("sluice.v1.ConsentEvent"));
    /* sorted by name */
    for (size_t i = 1; i < sl_schema_count (); i++)
        cr_assert_lt (strcmp (sl_schema_at (i - 1)->record_type, sl_schema_at (i)->record_type), 0);
}

/*  What protoc-c's compiled code packs, the run-time descriptor unpacks to
 *  the same values and packs to the same bytes. */
Test (descset, compiled_and_runtime_agree)
{
    char err[600] = "";
    cr_assert_gt (sl_schema_load_file (EXAMPLES_BINPB, err, sizeof err), 0, "%s", err);
    Parking__V1__Segment s1 = PARKING__V1__SEGMENT__INIT, s2 = PARKING__V1__SEGMENT__INIT;
    s1.id = "a"; s1.valid_from = 1767225600; s1.amount = 1.5;
    s2.id = "b"; s2.rate_reference = "R2"; s2.valid_to = -5;
    Parking__V1__Segment *segs[] = { &s1, &s2 };
    Parking__V1__Session in = PARKING__V1__SESSION__INIT;
    in.id = "p-1"; in.subject = "CN-1"; in.licence_plate = "ZJ-A12345";
    in.actual_start = 1767225600; in.actual_end = 1767229200;
    in.n_segments = 2; in.segments = segs; in.amount = 12.25; in.currency = "CNY";
    uint8_t a[512], b[512];
    size_t na = parking__v1__session__pack (&in, a);
    const sl_schema_t *s = sl_schema_find ("parking.v1.Session");
    cr_assert (s && s->descriptor != &parking__v1__session__descriptor);
    ProtobufCMessage *m = protobuf_c_message_unpack (s->descriptor, NULL, na, a);
    cr_assert (m);
    const ProtobufCFieldDescriptor *fd = sl_schema_field (s, "licence_plate");
    cr_assert_str_eq (*(char **) ((char *) m + fd->offset), "ZJ-A12345");
    fd = sl_schema_field (s, "segments");
    cr_assert_eq (*(size_t *) ((char *) m + fd->quantifier_offset), 2);
    ProtobufCMessage *seg = (*(ProtobufCMessage ***) ((char *) m + fd->offset))[1];
    const ProtobufCFieldDescriptor *vt =
        protobuf_c_message_descriptor_get_field_by_name (seg->descriptor, "valid_to");
    cr_assert_eq (*(int64_t *) ((char *) seg + vt->offset), -5);
    /* an absent string is "" as with compiled code */
    fd = sl_schema_field (s, "place_reference");
    cr_assert_str_eq (*(char **) ((char *) m + fd->offset), "");
    size_t nb = protobuf_c_message_get_packed_size (m);
    cr_assert_eq (nb, na);
    protobuf_c_message_pack (m, b);
    cr_assert_eq (memcmp (a, b, na), 0);
    protobuf_c_message_free_unpacked (m, NULL);
}

/*  Every field kind: protoc's own encoding of kinds.txtpb decodes and
 *  re-encodes byte for byte. */
Test (descset, every_kind_round_trips)
{
    char err[600] = "";
    sl_schema_t *t = NULL;
    cr_assert_eq (sl_schema_build (set, sl, "transport.v1.Trip", 1, &t, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (t->owner, "transport");
    cr_assert_str_eq (t->subject_field, "card_holder");
    cr_assert_str_eq (t->time_fields[0], "started");
    cr_assert_str_eq (t->time_fields[1], "ended");
    ProtobufCMessage *m = protobuf_c_message_unpack (t->descriptor, NULL, bl, bin);
    cr_assert (m, "protoc's encoding does not decode");
    cr_assert_eq (m->n_unknown_fields, 0, "a field was not recognised");
    const ProtobufCFieldDescriptor *fd = sl_schema_field (t, "fare_micros");
    cr_assert_eq (*(uint64_t *) ((char *) m + fd->offset), UINT64_MAX);
    fd = sl_schema_field (t, "legs_ms");
    cr_assert_eq (*(size_t *) ((char *) m + fd->quantifier_offset), 3);
    cr_assert_eq ((*(int64_t **) ((char *) m + fd->offset))[1], INT64_MIN);
    fd = sl_schema_field (t, "rating");
    cr_assert_eq (fd->label, PROTOBUF_C_LABEL_OPTIONAL);
    cr_assert_eq (*(protobuf_c_boolean *) ((char *) m + fd->quantifier_offset), 1, "presence kept");
    fd = sl_schema_field (t, "cash_cents");
    cr_assert_eq (*(uint32_t *) ((char *) m + fd->quantifier_offset), 18, "oneof case");
    cr_assert_eq (*(int64_t *) ((char *) m + fd->offset), 350);
    fd = sl_schema_field (t, "ticket");
    ProtobufCBinaryData *bd = (ProtobufCBinaryData *) ((char *) m + fd->offset);
    cr_assert_eq (bd->len, 9);
    cr_assert_eq (bd->data[2], 0xff);
    fd = sl_schema_field (t, "mode");
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value (fd->descriptor,
                                                                        *(int *) ((char *) m + fd->offset));
    cr_assert_str_eq (ev->name, "FERRY");
    cr_assert (protobuf_c_enum_descriptor_get_value_by_name (fd->descriptor, "TRAM"));
    size_t n = protobuf_c_message_get_packed_size (m);
    cr_assert_eq (n, bl, "size %zu, protoc %zu", n, bl);
    uint8_t *out = malloc (n);
    protobuf_c_message_pack (m, out);
    cr_assert_eq (memcmp (out, bin, bl), 0, "re-encoding differs from protoc's");
    free (out);
    protobuf_c_message_free_unpacked (m, NULL);
    /* an empty message: all defaults, packs to nothing */
    ProtobufCMessage *e = sl_descset_message_new (t->descriptor);
    cr_assert (e);
    cr_assert_eq (protobuf_c_message_get_packed_size (e), 0);
    protobuf_c_message_free_unpacked (e, NULL);
    /* an init function from the pool, as generated code has one */
    cr_assert (t->descriptor->message_init);
    uint8_t raw[1024];
    cr_assert_leq (t->descriptor->sizeof_message, sizeof raw);
    memset (raw, 0xa5, sizeof raw);
    protobuf_c_message_init (t->descriptor, raw);
    cr_assert_eq (((ProtobufCMessage *) raw)->descriptor, t->descriptor);
    cr_assert_str_eq (*(char **) (raw + sl_schema_field (t, "card_holder")->offset), "");
    cr_assert_eq (*(int64_t *) (raw + sl_schema_field (t, "started")->offset), 0);
    sl_schema_t *agg = NULL;
    cr_assert_eq (sl_schema_build (set, sl, "transport.v1.Ridership", 1, &agg, err, sizeof err), 0, "%s", err);
    cr_assert_null (agg->subject_field);
    sl_schema_free (&agg);
    sl_schema_free (&t);
}

Test (descset, errors_name_the_place)
{
    char err[600] = "";
    sl_schema_t *t = NULL;
    /* not a record type: line and column of the declaration */
    cr_assert_eq (sl_schema_build (set, sl, "transport.v1.Stop", 1, &t, err, sizeof err), SL_EINVAL);
    cr_assert (strstr (err, "kinds.proto:15:1: message transport.v1.Stop is not a record type"), "%s", err);
    cr_assert_eq (sl_schema_build (set, sl, "transport.v1.Nope", 1, &t, err, sizeof err), SL_EINVAL);
    cr_assert (strstr (err, "no message transport.v1.Nope"), "%s", err);
    cr_assert_eq (sl_schema_build (set, sl, "transport.Trip", 1, &t, err, sizeof err), SL_EINVAL);
    cr_assert (strstr (err, "<bureau>.v<N>.<Message>"), "%s", err);
    cr_assert_eq (sl_schema_build (set, 5, "transport.v1.Trip", 1, &t, err, sizeof err), SL_EINVAL);
    cr_assert (strstr (err, "not a FileDescriptorSet"), "%s", err);
    cr_assert_null (t);
}

Test (descset, install_retires_and_restores)
{
    char err[600] = "";
    sl_schema_t *v1 = NULL, *v2 = NULL;
    cr_assert_eq (sl_schema_build (set, sl, "transport.v1.Trip", 1, &v1, err, sizeof err), 0);
    cr_assert_eq (sl_schema_build (set, sl, "transport.v1.Trip", 2, &v2, err, sizeof err), 0);
    const sl_schema_t *p1 = v1, *retired = NULL;
    cr_assert_eq (sl_schema_install (&v1, &retired), 0);
    cr_assert_null (v1);
    cr_assert_null (retired);
    cr_assert (sl_schema_owner_known ("transport"));
    cr_assert_eq (sl_schema_install (&v2, &retired), 0);
    cr_assert_eq (retired, p1);
    cr_assert_eq (sl_schema_find ("transport.v1.Trip")->version, 2);
    /* the retired entry stays readable (design note 2) */
    cr_assert_str_eq (p1->record_type, "transport.v1.Trip");
    sl_schema_restore ("transport.v1.Trip", p1);
    cr_assert_eq (sl_schema_find ("transport.v1.Trip")->version, 1);
    sl_schema_restore ("transport.v1.Trip", NULL);
    cr_assert_null (sl_schema_find ("transport.v1.Trip"));
}

/*  JSON for a run-time type: protoc's encoding of every field kind -> the
 *  proto3 JSON mapping -> back, byte for byte (schemas/sl_json.h). */
Test (descset, every_kind_through_json)
{
    char err[600] = "";
    sl_schema_t *t = NULL;
    cr_assert_eq (sl_schema_build (set, sl, "transport.v1.Trip", 1, &t, err, sizeof err), 0, "%s", err);
    cr_assert_eq (sl_schema_install (&t, NULL), 0);
    const sl_schema_t *s = sl_schema_find ("transport.v1.Trip");
    sl_json_options_t jo = { .is_time = sl_json_schema_is_time };
    cJSON *j = NULL;
    cr_assert_eq (sl_json_encode_packed (s->descriptor, bin, bl, &jo, &j, err, sizeof err), 0, "%s", err);
    char *text = cJSON_PrintUnformatted (j);
    /* int64 as strings, bytes as base64, enums by name, time fields RFC 3339 */
    TL_HAS (text,
            "\"legsMs\":[\"9223372036854775807\",\"-9223372036854775808\",\"0\"]",
            "\"fareMicros\":\"18446744073709551615\"",
            "\"ticket\":\"AAH/YmluYXJ5\"",
            "\"mode\":\"FERRY\"",
            "\"started\":\"2026-01-01T00:00:00Z\"",
            "\"tags\":{\"a\":\"1\"}");
    uint8_t *back = NULL;
    size_t blen = 0;
    cr_assert_eq (sl_json_decode_packed (j, s->descriptor, &jo, &back, &blen, err, sizeof err), 0,
                  "%s", err);
    cr_assert_eq (blen, bl, "%s", text);
    cr_assert_eq (memcmp (back, bin, bl), 0, "JSON round trip changed the bytes: %s", text);
    free (back);
    free (text);
    cJSON_Delete (j);
}

/*  sl_descset_read_file: the whole file, byte for byte; a file that cannot
 *  be opened is SL_EIO with its path in the message. */
Test (descset, read_file_whole_or_names_the_path)
{
    size_t want_len, len = 0;
    uint8_t *want = s_read (EXAMPLES_BINPB, &want_len), *got = NULL;
    char err[600] = "";
    cr_assert_eq (sl_descset_read_file (EXAMPLES_BINPB, &got, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq (len, want_len);
    cr_assert_eq (memcmp (got, want, len), 0);
    free (got);
    free (want);
    got = NULL;
    cr_assert_eq (sl_descset_read_file ("/nonexistent/set.binpb", &got, &len, err, sizeof err),
                  SL_EIO);
    cr_assert (strstr (err, "/nonexistent/set.binpb: "), "%s", err);
    cr_assert_null (got);
}

/*  sl_schema_type_name: scalar types as .proto spells them, message types
 *  by full name. */
Test (descset, type_names)
{
    const ProtobufCMessageDescriptor *w = &water__v1__meter_reading__descriptor;
    const ProtobufCMessageDescriptor *p = &parking__v1__session__descriptor;
    cr_assert_str_eq (sl_schema_type_name (protobuf_c_message_descriptor_get_field_by_name (w, "district")), "string");
    cr_assert_str_eq (sl_schema_type_name (protobuf_c_message_descriptor_get_field_by_name (w, "date_observed")), "int64");
    cr_assert_str_eq (sl_schema_type_name (protobuf_c_message_descriptor_get_field_by_name (w, "max_flow_m3h")), "double");
    cr_assert_str_eq (sl_schema_type_name (protobuf_c_message_descriptor_get_field_by_name (w, "alarm_in_progress")), "bool");
    cr_assert_str_eq (sl_schema_type_name (protobuf_c_message_descriptor_get_field_by_name (p, "segments")), "parking.v1.Segment");
}

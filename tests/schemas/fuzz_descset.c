/*  Fuzz target: the FileDescriptorSet intake (what schema.register and the
 *  broker's start read from the store). Any bytes: parse the set, build the
 *  descriptor of every record type it declares, check its sluice options;
 *  then use each built descriptor as protobuf-c does — unpack the input as
 *  that message, pack it, unpack the result again — so a layout or range
 *  table the builder got wrong shows up as a crash or a failed check.
 *  Seeds: corpus/descset; replayed in the suite by replay_descset. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_descset.h"
#include "sl_schema.h"

#define CHECK(c) do { if (!(c)) { fprintf (stderr, "check failed: %s\n", #c); abort (); } } while (0)

static void
s_use (const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t size)
{
    ProtobufCMessage *e = sl_descset_message_new (d);
    CHECK (e);
    CHECK (protobuf_c_message_get_packed_size (e) == 0);
    protobuf_c_message_free_unpacked (e, NULL);
    ProtobufCMessage *m = protobuf_c_message_unpack (d, NULL, size, data);
    if (!m)
        return;
    size_t n = protobuf_c_message_get_packed_size (m);
    uint8_t *buf = malloc (n ? n : 1);
    CHECK (buf);
    CHECK (protobuf_c_message_pack (m, buf) == n);
    ProtobufCMessage *again = protobuf_c_message_unpack (d, NULL, n, buf);
    CHECK (again);
    CHECK (protobuf_c_message_get_packed_size (again) == n);
    protobuf_c_message_free_unpacked (again, NULL);
    protobuf_c_message_free_unpacked (m, NULL);
    free (buf);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err[600];
    sl_descset_t *ds = sl_descset_parse (data, size, err, sizeof err);
    if (!ds)
        return 0;
    const char *names[32];
    size_t n = sl_descset_records (ds, names, 32);
    for (size_t i = 0; i < n && i < 32; i++) {
        sl_record_info_t info;
        if (sl_descset_record (ds, names[i], &info, err, sizeof err) == 0) {
            CHECK (info.descriptor && info.record_type);
            s_use (info.descriptor, data, size);
        }
        sl_schema_t *s = NULL;
        if (sl_schema_build (data, size, names[i], 1, &s, err, sizeof err) == 0) {
            CHECK (s->descriptor_set_len == size);
            sl_schema_free (&s);
        }
    }
    sl_descset_destroy (&ds);
    return 0;
}

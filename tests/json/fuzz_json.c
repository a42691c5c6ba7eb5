/*  libFuzzer target: JSON text -> protobuf (sl_json_parse, sl_json_decode)
 *  for the test type sltest.v1.Kinds (every field kind) and every record
 *  type of sl_schema.h.
 *
 *  Input: byte 0 picks the type (0 = Kinds, i = the (i-1)-th record type,
 *  modulo their number); the rest is the JSON text.
 *
 *  Checks, besides the sanitizers: whatever decodes must survive the round
 *  trip — pack, encode to JSON, print, parse, decode, pack again — and give
 *  the same bytes; a refusal must come with an error text that names a
 *  place ("$" path or "line L, column C").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.pb-c.h"
#include "sl_json.h"
#include "sl_schema.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
s_kinds_time (const ProtobufCMessageDescriptor *msg, const ProtobufCFieldDescriptor *field,
              void *arg)
{
    (void) arg;
    return msg == &sltest__v1__kinds__descriptor && strcmp (field->name, "seen_at") == 0;
}

static void
s_check (int cond, const char *what)
{
    if (!cond) {
        fprintf (stderr, "fuzz_json: check failed: %s\n", what);
        abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const ProtobufCMessageDescriptor *desc;
    sl_json_options_t opts = { 0 };
    size_t pick = data[0] % (sl_schema_count () + 1);
    if (pick == 0) {
        desc = &sltest__v1__kinds__descriptor;
        opts.is_time = s_kinds_time;
    } else {
        desc = sl_schema_at (pick - 1)->descriptor;
        opts.is_time = sl_json_schema_is_time;
    }
    opts.emit_defaults = data[0] & 0x80 ? 1 : 0;

    cJSON *json = NULL;
    char err[512];
    int line = 0, col = 0;
    if (sl_json_parse ((const char *) data + 1, size - 1, &json, &line, &col, err,
                       sizeof err) != 0) {
        s_check (strncmp (err, "line ", 5) == 0 && line >= 1 && col >= 1,
                 "a syntax error names line and column");
        return 0;
    }
    uint8_t *p1 = NULL, *p2 = NULL;
    size_t n1 = 0, n2 = 0;
    int rc = sl_json_decode_packed (json, desc, &opts, &p1, &n1, err, sizeof err);
    cJSON_Delete (json);
    if (rc != 0) {
        s_check (err[0] == '$', "a refusal names its JSON path");
        return 0;
    }
    cJSON *again = NULL;
    s_check (sl_json_encode_packed (desc, p1, n1, &opts, &again, err, sizeof err) == 0,
             "what was packed decodes");
    char *text = cJSON_PrintUnformatted (again);
    cJSON_Delete (again);
    s_check (text != NULL, "the encoded JSON prints");
    cJSON *reparsed = NULL;
    s_check (sl_json_parse (text, strlen (text), &reparsed, NULL, NULL, err, sizeof err) == 0,
             "the printed JSON parses");
    rc = sl_json_decode_packed (reparsed, desc, &opts, &p2, &n2, err, sizeof err);
    if (rc != 0)
        fprintf (stderr, "fuzz_json: %s\n  on %s\n", err, text);
    s_check (rc == 0, "the encoded JSON decodes again");
    s_check (n1 == n2 && memcmp (p1, p2, n1) == 0, "the round trip keeps every byte");
    cJSON_Delete (reparsed);
    free (text);
    free (p1);
    free (p2);
    return 0;
}

/*  Criterion suite for sl_schema_evolve: each rule, on descriptor sets
 *  compiled from .proto text by protoc at test time. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_error.h"
#include "sl_schema.h"
#include "sl_schema_evolve.h"

/*  Compiles `text` as tr.proto (package transport.v1) and builds Trip. */
static sl_schema_t *
s_build (const char *body)
{
    char dir[] = "/tmp/sl-evolve-XXXXXX";
    cr_assert (mkdtemp (dir));
    char path[300], out[300], cmd[1200];
    snprintf (path, sizeof path, "%s/tr.proto", dir);
    snprintf (out, sizeof out, "%s/tr.binpb", dir);
    FILE *f = fopen (path, "w");
    fprintf (f, "syntax = \"proto3\";\npackage transport.v1;\nimport \"sluice/v1/options.proto\";\n"
                "enum Mode { MODE_UNSPECIFIED = 0; BUS = 1; TRAM = 2; }\n%s\n", body);
    fclose (f);
    snprintf (cmd, sizeof cmd, "protoc -I%s -I%s -I/usr/include --include_imports "
              "--descriptor_set_out=%s %s", dir, SCHEMAS_DIR, out, path);
    cr_assert_eq (system (cmd), 0, "%s", cmd);
    f = fopen (out, "rb");
    uint8_t buf[65536];
    size_t n = fread (buf, 1, sizeof buf, f);
    fclose (f);
    unlink (path);
    unlink (out);
    rmdir (dir);
    sl_schema_t *s = NULL;
    char err[600];
    cr_assert_eq (sl_schema_build (buf, n, "transport.v1.Trip", 1, &s, err, sizeof err), 0, "%s", err);
    return s;
}

#define V1 "message Trip { option (sluice.v1.record) = { subject: \"holder\" };\n" \
           "  string holder = 1;\n  int64 started = 2 [(sluice.v1.field) = { time: true }];\n" \
           "  Mode mode = 3;\n  string stop = 4 [(sluice.v1.field) = { classes: \"location\" }];\n" \
           "  Leg leg = 5; }\nmessage Leg { int32 n = 1; string to = 2; }"

static int
s_check (const char *next, char **report)
{
    sl_schema_t *a = s_build (V1), *b = s_build (next);
    int n = sl_schema_evolve (a, b, report);
    sl_schema_free (&a);
    sl_schema_free (&b);
    return n;
}

Test (evolve, adding_is_allowed)
{
    char *r = NULL;
    int n = s_check ("message Trip { option (sluice.v1.record) = { subject: \"holder\" };\n"
                     "  string holder = 1;\n  int64 started = 2 [(sluice.v1.field) = { time: true }];\n"
                     "  Mode mode = 3;\n  string stop = 4 [(sluice.v1.field) = { classes: \"location\" }];\n"
                     "  Leg leg = 5; double fare = 6; }\nmessage Leg { int32 n = 1; string to = 2; string via = 3; }", &r);
    cr_assert_eq (n, 0, "%s", r);
    cr_assert (strstr (r, "added: field 'fare' (6)"), "%s", r);
    cr_assert (strstr (r, "added: field 'leg.via' (3)"), "%s", r);
    free (r);
}

Test (evolve, each_rule)
{
    static const struct { const char *next, *expect; } cases[] = {
        { "message Trip { option (sluice.v1.record) = { subject: \"holder\" };\n string holder = 1;\n"
          " Mode mode = 3; string stop = 4 [(sluice.v1.field) = { classes: \"location\" }]; Leg leg = 5; }\n"
          "message Leg { int32 n = 1; string to = 2; }",
          "field 'started' (2): removed (rule removed" },
        { "message Trip { option (sluice.v1.record) = { subject: \"holder\" };\n string holder = 1;\n"
          " int64 begun = 2 [(sluice.v1.field) = { time: true }]; Mode mode = 3;"
          " string stop = 4 [(sluice.v1.field) = { classes: \"location\" }]; Leg leg = 5; }\n"
          "message Leg { int32 n = 1; string to = 2; }",
          "field 'started' (2): renamed to 'begun' (rule renamed)" },
        { "message Trip { option (sluice.v1.record) = { subject: \"holder\" };\n string holder = 1;\n"
          " int64 started = 9 [(sluice.v1.field) = { time: true }]; Mode mode = 3;"
          " string stop = 4 [(sluice.v1.field) = { classes: \"location\" }]; Leg leg = 5; }\n"
          "message Leg { int32 n = 1; string to = 2; }",
          "field 'started' (2): renumbered 2 -> 9 (rule renumbered" },
        { "message Trip { option (sluice.v1.record) = { subject: \"holder\" };\n string holder = 1;\n"
          " uint64 started = 2 [(sluice.v1.field) = { time: true }]; Mode mode = 3;"
          " string stop = 4 [(sluice.v1.field) = { classes: \"location\" }]; Leg leg = 5; }\n"
          "message Leg { int32 n = 1; string to = 2; }",
          "field 'started' (2): type int64 -> uint64 (rule type)" },
        { "message Trip { option (sluice.v1.record) = { subject: \"holder\" };\n string holder = 1;\n"
          " int64 started = 2 [(sluice.v1.field) = { time: true }]; repeated Mode mode = 3;"
          " string stop = 4 [(sluice.v1.field) = { classes: \"location\" }]; Leg leg = 5; }\n"
          "message Leg { int32 n = 1; string to = 2; }",
          "field 'mode' (3): singular -> repeated (rule label)" },
        { "message Trip { option (sluice.v1.record) = { subject: \"holder\" };\n string holder = 1;\n"
          " int64 started = 2; Mode mode = 3;"
          " string stop = 4 [(sluice.v1.field) = { classes: \"location\" }]; Leg leg = 5; }\n"
          "message Leg { int32 n = 1; string to = 2; }",
          "field 'started' (2): time option removed (rule options)" },
        { "message Trip { option (sluice.v1.record) = { subject: \"holder\" };\n string holder = 1;\n"
          " int64 started = 2 [(sluice.v1.field) = { time: true }]; Mode mode = 3;"
          " string stop = 4 [(sluice.v1.field) = { classes: [\"location\", \"personal\"] }]; Leg leg = 5; }\n"
          "message Leg { int32 n = 1; string to = 2; }",
          "field 'stop' (4): classes [location] -> [location,personal] (rule options)" },
        { "message Trip { option (sluice.v1.record) = { aggregate: true };\n string holder = 1;\n"
          " int64 started = 2 [(sluice.v1.field) = { time: true }]; Mode mode = 3;"
          " string stop = 4 [(sluice.v1.field) = { classes: \"location\" }]; Leg leg = 5; }\n"
          "message Leg { int32 n = 1; string to = 2; }",
          "subject 'holder' -> '(aggregate)' (rule options)" },
        { "message Trip { option (sluice.v1.record) = { subject: \"holder\" };\n string holder = 1;\n"
          " int64 started = 2 [(sluice.v1.field) = { time: true }]; Mode mode = 3;"
          " string stop = 4 [(sluice.v1.field) = { classes: \"location\" }]; Leg leg = 5; }\n"
          "message Leg { string to = 2; }",
          "field 'leg.n' (1): removed" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *r = NULL;
        int n = s_check (cases[i].next, &r);
        cr_assert_geq (n, 1, "case %zu: not refused:\n%s", i, r);
        cr_assert (strstr (r, cases[i].expect), "case %zu: want '%s' in:\n%s", i, cases[i].expect, r);
        free (r);
    }
}

Test (evolve, touched_fields)
{
    sl_schema_t *a = s_build (V1);
    sl_schema_t *b = s_build ("message Trip { option (sluice.v1.record) = { subject: \"holder\" };\n"
                              "  string holder = 1;\n  int64 started = 2;\n  Mode mode = 3;\n"
                              "  string stop = 4 [(sluice.v1.field) = { classes: \"location\" }];\n"
                              "  Leg leg = 5; }\nmessage Leg { int64 n = 1; string to = 2; }");
    char touched[256];
    int n = sl_schema_evolve_touched (a, b, NULL, touched, sizeof touched);
    cr_assert_eq (n, 2);
    cr_assert_str_eq (touched, ",started,leg,", "the time flag, and leg.n's type");
    n = sl_schema_evolve_touched (a, a, NULL, touched, sizeof touched);
    cr_assert_eq (n, 0);
    cr_assert_str_eq (touched, "");
    sl_schema_free (&a);
    sl_schema_free (&b);
}

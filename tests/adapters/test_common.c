/*  adapters/common: ISO 8601 times, registries, the quarantine file. */
#include "sl_testutil.h"
#include "sl_time.h"
#include "sl_text.h"
#include "sl_registry.h"
#include "sl_quarantine.h"
#include "sl_error.h"

#include <cjson/cJSON.h>
#include <unistd.h>

static int64_t
iso (const char *s)
{
    int64_t t = -1;
    cr_assert_eq (sl_time_parse_iso8601 (s, strlen (s), &t, NULL, NULL), 0, "%s", s);
    return t;
}

Test (time, iso8601_forms)
{
    cr_assert_eq (iso ("2026-11-28T08:00:00Z"), T0800);
    cr_assert_eq (iso ("2026-11-28T08:00:00"), T0800);
    cr_assert_eq (iso ("2026-11-28 08:00:00"), T0800);
    cr_assert_eq (iso ("2026-11-28T08:00Z"), T0800);
    cr_assert_eq (iso ("2026-11-28T09:00:00+01:00"), T0800);
    cr_assert_eq (iso ("2026-11-28T09:00:00+0100"), T0800);
    cr_assert_eq (iso ("2026-11-28T03:00:00.250-05:00"), T0800);
    cr_assert_eq (iso ("1970-01-01T00:00:00Z"), 0);
    cr_assert_eq (iso ("2000-02-29T12:34:56Z"), 951827696);
}

Test (time, iso8601_errors)
{
    static const struct { const char *s; size_t at; const char *why; } cases [] = {
        { "2026-11-28",             10, "expected 'T' between date and time" },
        { "26-11-28T08:00:00Z",      0, "expected 4-digit year" },
        { "2026-13-28T08:00:00Z",    0, "no such date or time" },
        { "2026-02-29T08:00:00Z",    0, "no such date or time" },
        { "2026-11-28T24:00:00Z",    0, "no such date or time" },
        { "2026-11-28T08:00:00X",   19, "unexpected character after time" },
        { "2026-11-28T08:00:00+1",  20, "expected 2-digit zone hour" },
        { "2026-11-28T08:00:00.Z",  20, "expected digits after decimal point" },
        { "2026-11-28T08:00:00+15:00", 23, "zone offset out of range" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        int64_t t;
        size_t at = 99;
        const char *why = NULL;
        cr_assert_eq (sl_time_parse_iso8601 (cases [i].s, strlen (cases [i].s), &t, &at, &why),
                      SL_EPARSE, "%s", cases [i].s);
        cr_assert_eq (at, cases [i].at, "%s: at %zu", cases [i].s, at);
        cr_assert_str_eq (why, cases [i].why, "%s", cases [i].s);
    }
    /* not NUL-terminated: only len bytes are read */
    int64_t t;
    cr_assert_eq (sl_time_parse_iso8601 ("2026-11-28T08:00:00Zgarbage", 20, &t, NULL, NULL), 0);
    cr_assert_eq (t, T0800);
}

Test (text, numbers_and_excerpts)
{
    double v;
    cr_assert_eq (sl_parse_double ("6.408", 5, &v), 0);
    cr_assert_float_eq (v, 6.408, 1e-12);
    cr_assert_eq (sl_parse_double ("-1e3", 4, &v), 0);
    cr_assert_float_eq (v, -1000.0, 1e-12);
    cr_assert_eq (sl_parse_double ("", 0, &v), -1);
    cr_assert_eq (sl_parse_double ("6,4", 3, &v), -1);
    cr_assert_eq (sl_parse_double ("inf", 3, &v), -1);
    cr_assert_eq (sl_parse_double ("1e999", 5, &v), -1);
    cr_assert_eq (sl_parse_double ("0x10", 4, &v), -1);
    char ex [48];
    cr_assert_str_eq (sl_excerpt ("a\nb", 3, ex, sizeof ex), "a?b");
    cr_assert_str_eq (sl_excerpt ("0123456789012345678901234567890123456789XYZ", 43, ex, sizeof ex),
                      "0123456789012345678901234567890123456789...");
}

Test (registry, lookup_and_plates)
{
    char err [256];
    sl_registry_t *r = sl_registry_load (fixture_path ("water-meters.csv"), SL_REGISTRY_EXACT, err, sizeof err);
    cr_assert_not_null (r, "%s", err);
    cr_assert_eq (sl_registry_size (r), 3);
    int c = sl_registry_column (r, "citizen_id"), d = sl_registry_column (r, "district");
    cr_assert_eq (c, 1);
    cr_assert_eq (d, 2);
    cr_assert_eq (sl_registry_column (r, "nope"), -1);
    cr_assert_str_eq (sl_registry_get (r, "76348800", 8, c), "NL-CIT-000102");
    cr_assert_str_eq (sl_registry_get (r, "76348801xyz", 8, d), "Oost");
    cr_assert_null (sl_registry_get (r, "76348802", 8, c));
    cr_assert_null (sl_registry_get (r, "76348800", 8, 3));
    sl_registry_destroy (&r);
    sl_registry_destroy (&r);
    cr_assert_null (r);

    r = sl_registry_load (fixture_path ("plates.csv"), SL_REGISTRY_PLATE, err, sizeof err);
    cr_assert_not_null (r, "%s", err);
    c = sl_registry_column (r, "citizen_id");
    cr_assert_str_eq (sl_registry_get (r, "ab-123-c", 8, c), "NL-CIT-000101");
    cr_assert_str_eq (sl_registry_get (r, "XZ 99 KL", 8, c), "NL-CIT-000102");
    cr_assert_str_eq (sl_registry_get (r, "xz99kl", 6, c), "NL-CIT-000102");
    sl_registry_destroy (&r);

    /* ';' separated, comments and blank lines skipped */
    const char *semi = "meter_id;citizen_id;district\n# note\n\nA;C1;North\r\n";
    r = sl_registry_parse (semi, strlen (semi), "semi.csv", 0, err, sizeof err);
    cr_assert_not_null (r, "%s", err);
    cr_assert_str_eq (sl_registry_get (r, "A", 1, 2), "North");
    sl_registry_destroy (&r);
}

Test (registry, errors)
{
    static const struct { const char *text; const char *err; } cases [] = {
        { "id,citizen_id,district\nA,C1,N\nB,C2\n", "reg.csv:3: expected 3 columns, found 2" },
        { "id,citizen_id\nA,C1\nB,C2\nA,C3\n", "reg.csv: duplicate key 'A'" },
        { "id,citizen_id\n,C1\n", "reg.csv:2: empty key in column 1" },
        { "", "reg.csv:1: missing header line" },
        { "# only a comment\n", "reg.csv:1: missing header line" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char err [256] = "";
        sl_registry_t *r = sl_registry_parse (cases [i].text, strlen (cases [i].text), "reg.csv", 0, err, sizeof err);
        cr_assert_null (r, "case %zu", i);
        cr_assert_str_eq (err, cases [i].err, "case %zu", i);
    }
    char err [256];
    cr_assert_null (sl_registry_load ("/nonexistent/reg.csv", 0, err, sizeof err));
    cr_assert_str_eq (err, "/nonexistent/reg.csv: No such file or directory");
}

Test (quarantine, json_lines_round_trip)
{
    char path [] = "/tmp/sl-quarantine-XXXXXX";
    int fd = mkstemp (path);
    cr_assert_geq (fd, 0);
    close (fd);
    sl_quarantine_t *q = sl_quarantine_new (path);
    cr_assert_not_null (q);
    const char raw1 [] = "Flat 12;76348799;6,408;0.02;2026-11-28 08:00:00";
    const char raw2 [] = { 'a', '"', '\\', '\n', 0, (char) 0xff, (char) 0xc3, (char) 0xa9, 'z' };
    cr_assert_eq (sl_quarantine_add (q, "meters.csv", 10, "meters.csv:10:18: field 3 (total_m3): bad", raw1, strlen (raw1)), 0);
    sl_quarantine_accept (q);
    sl_quarantine_accept (q);
    cr_assert_eq (sl_quarantine_add (q, "tcp:127.0.0.1:2575", 2, "message 2: \"quoted\"", raw2, sizeof raw2), 0);
    cr_assert_eq (sl_quarantine_accepted (q), 2);
    cr_assert_eq (sl_quarantine_rejected (q), 2);
    sl_quarantine_destroy (&q);
    cr_assert_null (q);

    size_t len;
    FILE *f = fopen (path, "rb");
    char text [4096];
    len = fread (text, 1, sizeof text - 1, f);
    fclose (f);
    text [len] = 0;
    unlink (path);
    char *nl = strchr (text, '\n');
    cr_assert_not_null (nl);
    *nl = 0;
    cr_assert_eq (strchr (nl + 1, '\n'), text + len - 1, "exactly two lines");

    cJSON *a = cJSON_Parse (text), *b = cJSON_Parse (nl + 1);
    cr_assert_not_null (a);
    cr_assert_not_null (b);
    cr_assert (cJSON_IsNumber (cJSON_GetObjectItem (a, "at")));
    cr_assert_str_eq (cJSON_GetObjectItem (a, "source")->valuestring, "meters.csv");
    cr_assert_eq (cJSON_GetObjectItem (a, "record")->valueint, 10);
    cr_assert_str_eq (cJSON_GetObjectItem (a, "reason")->valuestring, "meters.csv:10:18: field 3 (total_m3): bad");
    cr_assert_str_eq (cJSON_GetObjectItem (a, "raw")->valuestring, raw1);
    cr_assert_str_eq (cJSON_GetObjectItem (b, "reason")->valuestring, "message 2: \"quoted\"");
    cr_assert_eq (cJSON_GetObjectItem (b, "record")->valueint, 2);
    /* the raw bytes as written: NUL and 0xff escaped as \u00XX */
    cr_assert_not_null (strstr (nl + 1, "\"raw\":\"a\\\"\\\\\\n\\u0000\\u00ff\\u00c3\\u00a9z\"}"));
    cJSON_Delete (a);
    cJSON_Delete (b);

    /* a quarantine file that received nothing is not left behind */
    char empty [] = "/tmp/sl-quarantine-empty-XXXXXX";
    cr_assert_not_null (mkdtemp (empty));
    char epath [128];
    snprintf (epath, sizeof epath, "%s/q.jsonl", empty);
    q = sl_quarantine_new (epath);
    cr_assert_not_null (q);
    cr_assert_eq (access (epath, F_OK), 0, "opened at once, so errors show early");
    sl_quarantine_accept (q);
    sl_quarantine_destroy (&q);
    cr_assert_neq (access (epath, F_OK), 0);
    cr_assert_eq (rmdir (empty), 0);

    /* counters only */
    q = sl_quarantine_new (NULL);
    cr_assert_eq (sl_quarantine_add (q, "x", 1, "r", NULL, 0), 0);
    cr_assert_eq (sl_quarantine_rejected (q), 1);
    sl_quarantine_destroy (&q);
    cr_assert_null (sl_quarantine_new ("/nonexistent/dir/q.jsonl"));
}

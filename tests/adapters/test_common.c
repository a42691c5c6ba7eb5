/*  adapters/common: ISO 8601 times, IANA zones, registries, the quarantine
 *  file and its hints, --explain notes. */
#include "sl_testutil.h"
#include "sl_time.h"
#include "sl_time.h"
#include "sl_explain.h"
#include "sl_text.h"
#include "sl_lookup.h"
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

/*  sl_hexval: the digits of both cases, nothing else. */
Test (text, hex_digits)
{
    const char *digits = "0123456789abcdefABCDEF";
    for (int i = 0; digits[i]; i++)
        cr_assert_eq (sl_hexval (digits[i]), i < 16 ? i : i - 6, "digit '%c'", digits[i]);
    const char *not_hex = "gG/:@`xz -";
    for (int i = 0; not_hex[i]; i++)
        cr_assert_eq (sl_hexval (not_hex[i]), -1, "'%c' is not a hex digit", not_hex[i]);
}

Test (registry, lookup_and_plates)
{
    char err [256];
    sl_lookup_t *r = sl_lookup_load (fixture_path ("water-meters.csv"), SL_LOOKUP_EXACT, err, sizeof err);
    cr_assert_not_null (r, "%s", err);
    cr_assert_eq (sl_lookup_size (r), 3);
    int c = sl_lookup_column (r, "citizen_id"), d = sl_lookup_column (r, "district");
    cr_assert_eq (c, 1);
    cr_assert_eq (d, 2);
    cr_assert_eq (sl_lookup_column (r, "nope"), -1);
    cr_assert_str_eq (sl_lookup_get (r, "76348800", 8, c), "NL-CIT-000102");
    cr_assert_str_eq (sl_lookup_get (r, "76348801xyz", 8, d), "Oost");
    cr_assert_null (sl_lookup_get (r, "76348802", 8, c));
    cr_assert_null (sl_lookup_get (r, "76348800", 8, 3));
    sl_lookup_destroy (&r);
    sl_lookup_destroy (&r);
    cr_assert_null (r);

    r = sl_lookup_load (fixture_path ("plates.csv"), SL_LOOKUP_PLATE, err, sizeof err);
    cr_assert_not_null (r, "%s", err);
    c = sl_lookup_column (r, "citizen_id");
    cr_assert_str_eq (sl_lookup_get (r, "ab-123-c", 8, c), "NL-CIT-000101");
    cr_assert_str_eq (sl_lookup_get (r, "XZ 99 KL", 8, c), "NL-CIT-000102");
    cr_assert_str_eq (sl_lookup_get (r, "xz99kl", 6, c), "NL-CIT-000102");
    sl_lookup_destroy (&r);

    /* ';' separated, comments and blank lines skipped */
    const char *semi = "meter_id;citizen_id;district\n# note\n\nA;C1;North\r\n";
    r = sl_lookup_parse (semi, strlen (semi), "semi.csv", 0, err, sizeof err);
    cr_assert_not_null (r, "%s", err);
    cr_assert_str_eq (sl_lookup_get (r, "A", 1, 2), "North");
    sl_lookup_destroy (&r);
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
        sl_lookup_t *r = sl_lookup_parse (cases [i].text, strlen (cases [i].text), "reg.csv", 0, err, sizeof err);
        cr_assert_null (r, "case %zu", i);
        cr_assert_str_eq (err, cases [i].err, "case %zu", i);
    }
    char err [256];
    cr_assert_null (sl_lookup_load ("/nonexistent/reg.csv", 0, err, sizeof err));
    cr_assert_str_eq (err, "/nonexistent/reg.csv: No such file or directory");
}

/*  Makes a new empty file from the mkstemp template `path` (the name is
 *  written back into it). */
static void
temp_file (char *path)
{
    int fd = mkstemp (path);
    cr_assert_geq (fd, 0, "%s", path);
    close (fd);
}

Test (quarantine, json_lines_round_trip)
{
    char path [] = "/tmp/sl-quarantine-XXXXXX";
    temp_file (path);
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

/*  Zone-less local times in IANA zones, both directions of DST, in zones
 *  with and without it, south of the equator too. */
Test (tz, local_times_to_utc)
{
    char err [256];
    sl_tz_t *syd = sl_tz_load ("Australia/Sydney", err, sizeof err);
    sl_tz_t *sh = sl_tz_load ("Asia/Shanghai", err, sizeof err);
    sl_tz_t *utc = sl_tz_load ("UTC", err, sizeof err);
    cr_assert (syd && sh && utc, "%s", err);
    cr_assert_str_eq (sl_tz_name (sh), "Asia/Shanghai");
    int64_t t;
    /* January is summer in Sydney (+11), July winter (+10) */
    cr_assert_eq (sl_tz_to_utc (syd, sl_time_from_civil (2026, 1, 15, 12, 0, 0), -1, &t, NULL), 0);
    cr_assert_eq (t, sl_time_from_civil (2026, 1, 15, 1, 0, 0));
    cr_assert_eq (sl_tz_to_utc (syd, sl_time_from_civil (2026, 7, 15, 12, 0, 0), -1, &t, NULL), 0);
    cr_assert_eq (t, sl_time_from_civil (2026, 7, 15, 2, 0, 0));
    int dst = -1;
    cr_assert_eq (sl_tz_offset_dst (syd, sl_time_from_civil (2026, 1, 15, 1, 0, 0), &dst), 39600);
    cr_assert_eq (dst, 1);
    /* switching zones back and forth gives each its own answer */
    cr_assert_eq (sl_tz_to_utc (sh, sl_time_from_civil (2026, 7, 15, 12, 0, 0), -1, &t, NULL), 0);
    cr_assert_eq (t, sl_time_from_civil (2026, 7, 15, 4, 0, 0));
    cr_assert_eq (sl_tz_to_utc (utc, sl_time_from_civil (2026, 7, 15, 12, 0, 0), -1, &t, NULL), 0);
    cr_assert_eq (t, sl_time_from_civil (2026, 7, 15, 12, 0, 0));
    cr_assert_eq (sl_tz_offset_dst (syd, sl_time_from_civil (2026, 7, 15, 2, 0, 0), &dst), 36000);
    cr_assert_eq (dst, 0);
    /* ISO 8601: a written zone wins, none means the zone's wall clock */
    cr_assert_eq (sl_tz_parse_iso8601 (sh, "2026-11-28 16:00:00", 19, &t, NULL, NULL), 0);
    cr_assert_eq (t, T0800);
    cr_assert_eq (sl_tz_parse_iso8601 (NULL, "2026-11-28 08:00:00", 19, &t, NULL, NULL), 0, "no zone: UTC");
    cr_assert_eq (t, T0800);
    size_t bad = 99;
    const char *why = NULL;
    cr_assert_eq (sl_tz_parse_iso8601 (sh, "2026-11-28 8:00", 15, &t, &bad, &why), SL_EPARSE);
    cr_assert_eq (bad, 11);
    cr_assert_null (sl_tz_load ("", err, sizeof err));
    cr_assert_null (sl_tz_load ("/etc/localtime", err, sizeof err));
    cr_assert_not_null (strstr (err, "expected an IANA zone name"), "%s", err);
    sl_tz_destroy (&syd);
    sl_tz_destroy (&sh);
    sl_tz_destroy (&utc);
    sl_tz_destroy (&utc);       /* harmless on NULL */
}

Test (explain, notes_accumulate_and_clear)
{
    sl_explain_add (NULL, "f", "g", "%d", 1);        /* no sink: nothing */
    sl_explain_t *ex = sl_explain_new ();
    cr_assert_not_null (ex);
    cr_assert_str_eq (sl_explain_text (ex), "");
    sl_explain_note (ex, "line %d", 7);
    sl_explain_add (ex, "total", "column 3 'total_m3'", "%.3f m3", 6.408);
    cr_assert_str_eq (sl_explain_text (ex),
                      "line 7\n  total                        <- column 3 'total_m3'                6.408 m3\n");
    sl_explain_clear (ex);
    cr_assert_str_eq (sl_explain_text (ex), "");
    for (int i = 0; i < 200; i++)
        sl_explain_add (ex, "x", "y", "%0100d", i);
    cr_assert_gt (strlen (sl_explain_text (ex)), 200 * 100);
    sl_explain_destroy (&ex);
    cr_assert_null (ex);
}

Test (quarantine, hint_member)
{
    char path [] = "/tmp/sl-qhint-XXXXXX";
    temp_file (path);
    sl_quarantine_t *q = sl_quarantine_new (path);
    cr_assert_eq (sl_quarantine_add_hint (q, "a.csv", 2, "a.csv:2:1: why", "give --timezone ZONE", "x;y", 3), 0);
    cr_assert_eq (sl_quarantine_add_hint (q, "a.csv", 3, "a.csv:3:1: why", NULL, "z", 1), 0);
    sl_quarantine_destroy (&q);
    char *text = read_whole ("/tmp", path + 5, "", NULL);
    char *nl = strchr (text, '\n');
    cr_assert_not_null (nl);
    *nl = 0;
    cJSON *a = cJSON_Parse (text), *b = cJSON_Parse (nl + 1);
    cr_assert (a && b);
    cr_assert_str_eq (cJSON_GetObjectItem (a, "hint")->valuestring, "give --timezone ZONE");
    cr_assert_str_eq (cJSON_GetObjectItem (a, "raw")->valuestring, "x;y");
    cr_assert_null (cJSON_GetObjectItem (b, "hint"), "no hint: no member");
    cJSON_Delete (a);
    cJSON_Delete (b);
    free (text);
    unlink (path);
}

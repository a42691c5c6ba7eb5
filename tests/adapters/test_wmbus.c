/*  adapters/water: wmbusmeters JSON lines and CSV to water.v1.MeterReading.
 *  Reads like an adapter's inner loop: split lines, parse, count, quarantine. */
#include "sl_testutil.h"
#include "sl_wmbus.h"
#include "sl_error.h"

static sl_registry_t *meters;

static void
setup (void)
{
    char err [256];
    meters = sl_registry_load (fixture_path ("water-meters.csv"), 0, err, sizeof err);
    cr_assert_not_null (meters, "%s", err);
}

static void
teardown (void)
{
    sl_registry_destroy (&meters);
}

/*  Parses every line of fixture `name`; returns records in out[], rc and
 *  error text per line in rcs[] / errs[]. Returns the number of lines. */
static size_t
parse_all (const char *name, Water__V1__MeterReading **out, int *rcs, char errs [][256], size_t max)
{
    size_t len;
    char *buf = fixture (name, &len);
    size_t n = 0, pos = 0;
    while (pos < len && n < max) {
        char *eol = memchr (buf + pos, '\n', len - pos);
        size_t ll = eol ? (size_t) (eol - buf) - pos : len - pos;
        out [n] = NULL;
        errs [n][0] = 0;
        rcs [n] = sl_wmbus_parse_line (buf + pos, ll, name, n + 1, meters, &out [n], errs [n], 256);
        n++;
        pos += ll + 1;
    }
    free (buf);
    return n;
}

TestSuite (wmbus, .init = setup, .fini = teardown);

Test (wmbus, json_lines)
{
    Water__V1__MeterReading *r [8];
    int rc [8];
    char errs [8][256];
    size_t n = parse_all ("wmbus.jsonl", r, rc, errs, 8);
    cr_assert_eq (n, 5);
    int want [5] = { 0, 1, 0, 1, 0 };
    for (size_t i = 0; i < n; i++)
        cr_assert_eq (rc [i], want [i], "line %zu: %s", i + 1, errs [i]);

    cr_assert_str_eq (r [0]->id, "76348799:1795852800");
    cr_assert_str_eq (r [0]->ref_device, "76348799");
    cr_assert_str_eq (r [0]->subject, "NL-CIT-000101");
    cr_assert_str_eq (r [0]->district, "Centrum");
    cr_assert_str_eq (r [0]->meter_name, "Flat 12");
    cr_assert_eq (r [0]->date_observed, T0800);
    cr_assert_float_eq (r [0]->water_consumption_m3, 6.408, 1e-9);
    cr_assert_float_eq (r [0]->max_flow_m3h, 0.02, 1e-9);
    cr_assert_eq (r [0]->alarm_in_progress, 0);

    cr_assert_str_eq (r [2]->subject, "NL-CIT-000102");
    cr_assert_eq (r [2]->date_observed, T0800);        /* 09:00+01:00 */
    cr_assert_float_eq (r [2]->min_flow_m3h, 0.01, 1e-9);
    cr_assert_eq (r [2]->alarm_in_progress, 1);         /* current_status LEAK */

    cr_assert_str_eq (r [4]->meter_name, "");
    cr_assert_float_eq (r [4]->water_consumption_m3, 0.0, 1e-12);
    cr_assert_eq (r [4]->date_observed, T0800 + 7200);

    /* the record packs and unpacks as its schema says */
    size_t sz = water__v1__meter_reading__get_packed_size (r [0]);
    uint8_t buf [512];
    cr_assert_lt (sz, sizeof buf);
    water__v1__meter_reading__pack (r [0], buf);
    Water__V1__MeterReading *back = water__v1__meter_reading__unpack (NULL, sz, buf);
    cr_assert_not_null (back);
    cr_assert_str_eq (back->subject, "NL-CIT-000101");
    water__v1__meter_reading__free_unpacked (back, NULL);

    for (size_t i = 0; i < n; i++)
        if (r [i])
            water__v1__meter_reading__free_unpacked (r [i], NULL);
}

Test (wmbus, csv_with_header_and_crlf)
{
    Water__V1__MeterReading *r [8];
    int rc [8];
    char errs [8][256];
    size_t n = parse_all ("wmbus.csv", r, rc, errs, 8);
    cr_assert_eq (n, 3);
    cr_assert_eq (rc [0], 1, "header line yields no record");
    cr_assert_eq (rc [1], 0, "%s", errs [1]);
    cr_assert_eq (rc [2], 0, "%s", errs [2]);
    cr_assert_str_eq (r [1]->meter_name, "Flat 12");
    cr_assert_str_eq (r [1]->subject, "NL-CIT-000101");
    cr_assert_eq (r [1]->date_observed, T0800);
    cr_assert_float_eq (r [1]->water_consumption_m3, 6.408, 1e-9);
    cr_assert_str_eq (r [2]->district, "Noord");
    cr_assert_float_eq (r [2]->max_flow_m3h, 0.0, 1e-12);   /* empty field */
    cr_assert_eq (r [2]->date_observed, T0800 + 3600);
    water__v1__meter_reading__free_unpacked (r [1], NULL);
    water__v1__meter_reading__free_unpacked (r [2], NULL);

    /* without the header line */
    Water__V1__MeterReading *one = NULL;
    char err [256];
    const char *line = "Flat 12;76348799;6.408;0.02;2026-11-28 08:00:00";
    cr_assert_eq (sl_wmbus_parse_line (line, strlen (line), "x.csv", 1, meters, &one, err, sizeof err), 0);
    water__v1__meter_reading__free_unpacked (one, NULL);
}

Test (wmbus, every_bad_line_has_its_reason)
{
    static const struct { int rc; const char *err; } want [] = {
        { SL_EPARSE, "wmbus-bad.txt:1:82: invalid JSON" },
        { SL_EPARSE, "wmbus-bad.txt:2:1: member 'media': expected \"water\"" },
        { SL_ENOTFOUND, "wmbus-bad.txt:3:1: meter '99999999' is not in the meter registry" },
        { SL_EPARSE, "wmbus-bad.txt:4:1: member 'total_m3': missing or not a number" },
        { SL_EPARSE, "wmbus-bad.txt:5:1: member 'total_m3': negative meter total -1" },
        { SL_EPARSE, "wmbus-bad.txt:6:1: member 'timestamp': '2026-11-31T08:00:00Z': no such date or time at offset 0" },
        { SL_EPARSE, "wmbus-bad.txt:7:81: unexpected text after the JSON object" },
        { SL_EPARSE, "wmbus-bad.txt:8:1: expected a JSON object" },
        { SL_EPARSE, "wmbus-bad.txt:9:1: member 'id': missing or not a non-empty string" },
        { SL_EPARSE, "wmbus-bad.txt:10:18: field 3 (total_m3): expected a non-negative number, found '6,408'" },
        { SL_EPARSE, "wmbus-bad.txt:11:28: expected 5 ';'-separated fields (name;id;total_m3;max_flow_m3h;timestamp), found 4" },
        { SL_EPARSE, "wmbus-bad.txt:12:48: expected 5 ';'-separated fields (name;id;total_m3;max_flow_m3h;timestamp), found more" },
        { SL_EPARSE, "wmbus-bad.txt:13:9: field 2 (id): empty meter id" },
        { SL_EPARSE, "wmbus-bad.txt:14:40: field 5 (timestamp): expected 2-digit hour" },
        { SL_EPARSE, "wmbus-bad.txt:15:24: field 4 (max_flow_m3h): expected a number, found 'fast'" },
    };
    Water__V1__MeterReading *r [20];
    int rc [20];
    char errs [20][256];
    size_t n = parse_all ("wmbus-bad.txt", r, rc, errs, 20);
    cr_assert_eq (n, sizeof want / sizeof want [0]);
    for (size_t i = 0; i < n; i++) {
        cr_expect_eq (rc [i], want [i].rc, "line %zu: rc %d", i + 1, rc [i]);
        cr_expect_str_eq (errs [i], want [i].err, "line %zu: got \"%s\"", i + 1, errs [i]);
        cr_expect_null (r [i]);
    }
}

Test (wmbus, registry_without_needed_columns)
{
    char err [256];
    const char *csv = "meter_id,owner\n76348799,NL-CIT-000101\n";
    sl_registry_t *bad = sl_registry_parse (csv, strlen (csv), "bad.csv", 0, err, sizeof err);
    cr_assert_not_null (bad);
    const char *line = "Flat 12;76348799;6.408;0.02;2026-11-28 08:00:00";
    Water__V1__MeterReading *r = NULL;
    cr_assert_eq (sl_wmbus_parse_line (line, strlen (line), "x.csv", 4, bad, &r, err, sizeof err), SL_EINVAL);
    cr_assert_str_eq (err, "x.csv:4:9: meter registry lacks column 'citizen_id' or 'district'");
    sl_registry_destroy (&bad);
}

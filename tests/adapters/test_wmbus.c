/*  adapters/water: wmbusmeters JSON lines and fields (CSV) lines to
 *  water.v1.MeterReading. Reads like an adapter's inner loop: split lines,
 *  parse, count, quarantine. */
#include "sl_testutil.h"
#include "sl_wmbus.h"
#include "sl_error.h"
#include "sl_time.h"

static sl_lookup_t *meters;
static sl_tz_t *amsterdam;

static void
setup (void)
{
    char err [256];
    meters = sl_lookup_load (fixture_path ("water-meters.csv"), 0, err, sizeof err);
    cr_assert_not_null (meters, "%s", err);
    amsterdam = sl_tz_load ("Europe/Amsterdam", err, sizeof err);
    cr_assert_not_null (amsterdam, "%s", err);
}

static void
teardown (void)
{
    sl_lookup_destroy (&meters);
    sl_tz_destroy (&amsterdam);
}

/*  Parses every line of fixture `name` with options `opts`; returns records
 *  in out[], rc and error text per line in rcs[] / errs[]. Returns the
 *  number of lines. */
static size_t
parse_all (const char *name, const sl_wmbus_opts_t *opts, Water__V1__MeterReading **out, int *rcs,
           char errs [][512], size_t max)
{
    size_t len;
    char *buf = fixture (name, &len);
    char err [256];
    sl_wmbus_t *p = sl_wmbus_new (opts, err, sizeof err);
    cr_assert_not_null (p, "%s", err);
    size_t n = 0, pos = 0;
    while (pos < len && n < max) {
        char *eol = memchr (buf + pos, '\n', len - pos);
        size_t ll = eol ? (size_t) (eol - buf) - pos : len - pos;
        out [n] = NULL;
        errs [n][0] = 0;
        rcs [n] = sl_wmbus_parse_line (p, buf + pos, ll, name, n + 1, meters, &out [n], errs [n], 512);
        n++;
        pos += ll + 1;
    }
    sl_wmbus_destroy (&p);
    free (buf);
    return n;
}

static int
absent (const Water__V1__MeterReading *r, const char *field)
{
    for (size_t i = 0; i < r->n_absent_fields; i++)
        if (strcmp (r->absent_fields [i], field) == 0)
            return 1;
    return 0;
}

TestSuite (wmbus, .init = setup, .fini = teardown);

Test (wmbus, json_lines)
{
    Water__V1__MeterReading *r [8];
    int rc [8];
    char errs [8][512];
    size_t n = parse_all ("wmbus.jsonl", NULL, r, rc, errs, 8);
    cr_assert_eq (n, 5);
    int want [5] = { 0, 1, 0, 1, 0 };
    for (size_t i = 0; i < n; i++)
        cr_assert_eq (rc [i], want [i], "line %zu: %s", i + 1, errs [i]);

    cr_assert_str_eq (r [0]->id, "76348799:1795852800");
    cr_assert_str_eq (r [0]->ref_device, "76348799");
    cr_assert_str_eq (r [0]->subject, "NL-CIT-000101");
    cr_assert_str_eq (r [0]->district, "Centrum");
    cr_assert_str_eq (r [0]->meter_name, "Flat 12");
    cr_assert_str_eq (r [0]->media, "water");
    cr_assert_eq (r [0]->date_observed, T0800);
    cr_assert_float_eq (r [0]->water_consumption_m3, 6.408, 1e-9);
    cr_assert_float_eq (r [0]->max_flow_m3h, 0.02, 1e-9);
    cr_assert_eq (r [0]->alarm_in_progress, 0);
    cr_assert (absent (r [0], "alarm_in_progress"), "no status member: alarm unknown");
    cr_assert (absent (r [0], "target_m3"));
    cr_assert (!absent (r [0], "max_flow_m3h"));

    cr_assert_str_eq (r [2]->subject, "NL-CIT-000102");
    cr_assert_eq (r [2]->date_observed, T0800);        /* 09:00+01:00 */
    cr_assert_float_eq (r [2]->min_flow_m3h, 0.01, 1e-9);
    cr_assert_eq (r [2]->alarm_in_progress, 1);         /* current_status LEAK */
    cr_assert_str_eq (r [2]->alarms, "LEAK");

    cr_assert_str_eq (r [4]->meter_name, "");
    cr_assert (absent (r [4], "meter_name"));
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

/*  What wmbusmeters prints for a Kamstrup multical21 that reports DRY. */
Test (wmbus, cold_water_with_alarm_in_status)
{
    char err [512];
    sl_wmbus_t *p = sl_wmbus_new (NULL, err, sizeof err);
    const char *line = "{\"_\":\"telegram\",\"media\":\"cold water\",\"meter\":\"multical21\",\"name\":\"MyTapWater\","
                       "\"id\":\"76348799\",\"total_m3\":6.408,\"target_m3\":6.391,\"max_flow_m3h\":0,"
                       "\"current_status\":\"DRY\",\"status\":\"DRY\",\"time_dry\":\"22-31 days\","
                       "\"timestamp\":\"2026-11-28T08:00:00Z\"}";
    Water__V1__MeterReading *r = NULL;
    cr_assert_eq (sl_wmbus_parse_line (p, line, strlen (line), "c.json", 1, meters, &r, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (r->media, "cold water");
    cr_assert_eq (r->alarm_in_progress, 1);
    cr_assert_str_eq (r->alarms, "DRY", "status and current_status say the same: one alarm");
    cr_assert_float_eq (r->target_m3, 6.391, 1e-9);
    cr_assert_float_eq (r->water_consumption_m3, 6.408, 1e-9);
    cr_assert (!absent (r, "alarm_in_progress"));
    water__v1__meter_reading__free_unpacked (r, NULL);

    /* izar: current_alarms no_alarm is no alarm; anything else is */
    static const struct {
        const char *line;
        int alarm;
        const char *alarms;
    } izar[] = {
        { "{\"media\":\"water\",\"meter\":\"izar\",\"id\":\"76348800\",\"total_m3\":835.689,"
          "\"current_alarms\":\"no_alarm\",\"previous_alarms\":\"leakage\",\"timestamp\":\"2026-11-28T08:00:00Z\"}",
          0, "" },
        { "{\"media\":\"warm water\",\"id\":\"76348800\",\"total_m3\":1,"
          "\"current_alarms\":\"meter_blocked,underflow\",\"status\":\"OK\",\"timestamp\":\"2026-11-28T08:00:00Z\"}",
          1, "meter_blocked,underflow" },
    };
    for (size_t i = 0; i < sizeof izar / sizeof izar[0]; i++) {
        line = izar[i].line;
        cr_assert_eq (sl_wmbus_parse_line (p, line, strlen (line), "c.json", i + 2, meters, &r, err, sizeof err), 0,
                      "line %zu: %s", i + 2, err);
        cr_assert_eq (r->alarm_in_progress, izar[i].alarm, "line %zu", i + 2);
        cr_assert_str_eq (r->alarms, izar[i].alarms, "line %zu", i + 2);
        water__v1__meter_reading__free_unpacked (r, NULL);
    }
    /* every water medium wmbusmeters prints */
    const char *media [] = { "water", "cold water", "warm water", "hot water", "hot/cold water", "waste water" };
    for (size_t i = 0; i < 6; i++)
        cr_assert (sl_wmbus_is_water_media (media [i]), "%s", media [i]);
    cr_assert (!sl_wmbus_is_water_media ("heat"));
    sl_wmbus_destroy (&p);
}

Test (wmbus, csv_with_header_and_crlf)
{
    Water__V1__MeterReading *r [8];
    int rc [8];
    char errs [8][512];
    sl_wmbus_opts_t opts = { .tz = amsterdam };
    size_t n = parse_all ("wmbus.csv", &opts, r, rc, errs, 8);
    cr_assert_eq (n, 3);
    cr_assert_eq (rc [0], 1, "header line yields no record");
    cr_assert_eq (rc [1], 0, "%s", errs [1]);
    cr_assert_eq (rc [2], 0, "%s", errs [2]);
    cr_assert_str_eq (r [1]->meter_name, "Flat 12");
    cr_assert_str_eq (r [1]->subject, "NL-CIT-000101");
    cr_assert_eq (r [1]->date_observed, T0800 - 3600, "08:00 in Amsterdam in November is 07:00 UTC");
    cr_assert_float_eq (r [1]->water_consumption_m3, 6.408, 1e-9);
    cr_assert_str_eq (r [2]->district, "Noord");
    cr_assert_float_eq (r [2]->max_flow_m3h, 0.0, 1e-12);   /* empty field */
    cr_assert (absent (r [2], "max_flow_m3h"));
    cr_assert_eq (r [2]->date_observed, T0800 + 3600);      /* written with Z */
    water__v1__meter_reading__free_unpacked (r [1], NULL);
    water__v1__meter_reading__free_unpacked (r [2], NULL);
}

/*  The columns the issue found misread: target_m3 is not max flow, and the
 *  local timestamp is not UTC. */
Test (wmbus, csv_columns_by_name_never_by_position)
{
    char err [512];
    const char *line = "Flat 12;76348799;6.408;6.391;2026-07-01 08:00:00";
    Water__V1__MeterReading *r = NULL;

    /* no header, no --csv-fields: refused with the advice */
    sl_wmbus_t *p = sl_wmbus_new (NULL, err, sizeof err);
    cr_assert_eq (sl_wmbus_parse_line (p, line, strlen (line), "x.csv", 1, meters, &r, err, sizeof err), SL_EPARSE);
    cr_assert_not_null (strstr (err, "x.csv:1:1: a fields line without a header line"), "%s", err);
    cr_assert_not_null (strstr (err, "\ngive --csv-fields"), "%s", err);
    sl_wmbus_destroy (&p);

    /* --csv-fields but no --timezone: the local time is refused, not read as UTC */
    sl_wmbus_opts_t opts = { .csv_fields = "name,id,total_m3,target_m3,timestamp" };
    p = sl_wmbus_new (&opts, err, sizeof err);
    cr_assert_eq (sl_wmbus_parse_line (p, line, strlen (line), "x.csv", 1, meters, &r, err, sizeof err), SL_EPARSE);
    cr_assert_not_null (strstr (err, "x.csv:1:30: field 5 (timestamp): '2026-07-01 08:00:00': a local time without a zone"), "%s", err);
    cr_assert_not_null (strstr (err, "\ngive --timezone ZONE"), "%s", err);
    sl_wmbus_destroy (&p);

    opts.tz = amsterdam;
    p = sl_wmbus_new (&opts, err, sizeof err);
    cr_assert_eq (sl_wmbus_parse_line (p, line, strlen (line), "x.csv", 1, meters, &r, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq (r->target_m3, 6.391, 1e-9);
    cr_assert_float_eq (r->max_flow_m3h, 0, 1e-12);
    cr_assert (absent (r, "max_flow_m3h"));
    cr_assert_eq (r->date_observed, 1782885600, "08:00 CEST on 1 July is 06:00 UTC");
    water__v1__meter_reading__free_unpacked (r, NULL);
    sl_wmbus_destroy (&p);

    /* a header in the file wins, with its own order and separator */
    sl_wmbus_opts_t tab = { .tz = amsterdam, .separator = '\t' };
    p = sl_wmbus_new (&tab, err, sizeof err);
    const char *h = "id\ttimestamp_utc\ttotal_m3\tcurrent_status";
    cr_assert_eq (sl_wmbus_parse_line (p, h, strlen (h), "t.tsv", 1, meters, &r, err, sizeof err), 1, "%s", err);
    const char *l2 = "76348800\t2026-11-28T08:00:00Z\t3.5\tLEAK";
    cr_assert_eq (sl_wmbus_parse_line (p, l2, strlen (l2), "t.tsv", 2, meters, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq (r->date_observed, T0800);
    cr_assert_eq (r->alarm_in_progress, 1);
    cr_assert_float_eq (r->water_consumption_m3, 3.5, 1e-9);
    water__v1__meter_reading__free_unpacked (r, NULL);
    /* --format=hr: tab-separated, units after the numbers */
    sl_wmbus_t *hr = sl_wmbus_new (&(sl_wmbus_opts_t) { .tz = amsterdam, .separator = '\t',
                                   .csv_fields = "name,id,total_m3,target_m3,max_flow_m3h,current_status,timestamp" },
                                   err, sizeof err);
    const char *l4 = "MyTapWater\t76348799\t6.408 m3\t6.391 m3\t0.020 m3/h\tDRY\t2026-11-28 09:00:00";
    cr_assert_eq (sl_wmbus_parse_line (hr, l4, strlen (l4), "hr.txt", 1, meters, &r, err, sizeof err), 0, "%s", err);
    cr_assert_float_eq (r->water_consumption_m3, 6.408, 1e-9);
    cr_assert_float_eq (r->target_m3, 6.391, 1e-9);
    cr_assert_float_eq (r->max_flow_m3h, 0.02, 1e-9);
    cr_assert_str_eq (r->alarms, "DRY");
    cr_assert_eq (r->date_observed, T0800);
    water__v1__meter_reading__free_unpacked (r, NULL);
    const char *l5 = "MyTapWater\t76348799\t6.408 kWh\t6.391 m3\t0.020 m3/h\tDRY\t2026-11-28 09:00:00";
    cr_assert_eq (sl_wmbus_parse_line (hr, l5, strlen (l5), "hr.txt", 2, meters, &r, err, sizeof err), SL_EPARSE);
    cr_assert_not_null (strstr (err, "field 3 (total_m3): expected a non-negative number, found '6.408 kWh'"), "%s", err);
    sl_wmbus_destroy (&hr);
    /* a status field starting with a NUL byte ends; it is not an alarm text */
    const char l3 [] = "76348800\t2026-11-28T08:00:00Z\t3.5\t\0X";
    cr_assert_eq (sl_wmbus_parse_line (p, l3, sizeof l3 - 1, "t.tsv", 3, meters, &r, err, sizeof err), 0, "%s", err);
    cr_assert_eq (r->alarm_in_progress, 1);
    cr_assert_str_eq (r->alarms, "");
    water__v1__meter_reading__free_unpacked (r, NULL);
    sl_wmbus_destroy (&p);
}

Test (wmbus, every_bad_line_has_its_reason)
{
    static const struct { int rc; const char *err; } want [] = {
        { SL_EPARSE, "wmbus-bad.txt:1:82: invalid JSON" },
        { SL_EPARSE, "wmbus-bad.txt:2:1: media 'gas' is not a water medium" },
        { SL_ENOTFOUND, "wmbus-bad.txt:3:1: meter '99999999' is not in the meter registry\nadd a row" },
        { SL_EPARSE, "wmbus-bad.txt:4:1: member 'total_m3': expected a number" },
        { SL_EPARSE, "wmbus-bad.txt:5:1: member 'total_m3': negative meter total -1" },
        { SL_EPARSE, "wmbus-bad.txt:6:1: member 'timestamp': '2026-11-31T08:00:00Z': no such date or time" },
        { SL_EPARSE, "wmbus-bad.txt:7:81: unexpected text after the JSON object" },
        { SL_EPARSE, "wmbus-bad.txt:8:1: expected a JSON object" },
        { SL_EPARSE, "wmbus-bad.txt:9:1: member 'id': missing or not a non-empty string" },
        { 1, "" },
        { SL_EPARSE, "wmbus-bad.txt:11:18: field 3 (total_m3): expected a non-negative number, found '6,408'" },
        { SL_EPARSE, "wmbus-bad.txt:12:28: expected 5 ';'-separated fields (as the header line says), found 4" },
        { SL_EPARSE, "wmbus-bad.txt:13:54: expected 5 ';'-separated fields (as the header line says), found 6" },
        { SL_EPARSE, "wmbus-bad.txt:14:9: meter id ('id') missing or empty" },
        { SL_EPARSE, "wmbus-bad.txt:15:40: field 5 (timestamp): '2026-11-28 8:00:00': expected 2-digit hour" },
        { SL_EPARSE, "wmbus-bad.txt:16:24: field 4 (max_flow_m3h): expected a number, found 'fast'" },
        { SL_EPARSE, "wmbus-bad.txt:17:1: no time ('timestamp'" },
        { SL_EPARSE, "wmbus-bad.txt:18:1: meter total ('total_m3') missing" },
    };
    Water__V1__MeterReading *r [20];
    int rc [20];
    char errs [20][512];
    sl_wmbus_opts_t opts = { .tz = amsterdam };
    size_t n = parse_all ("wmbus-bad.txt", &opts, r, rc, errs, 20);
    cr_assert_eq (n, sizeof want / sizeof want [0]);
    for (size_t i = 0; i < n; i++) {
        cr_expect_eq (rc [i], want [i].rc, "line %zu: rc %d: %s", i + 1, rc [i], errs [i]);
        cr_expect_eq (strncmp (errs [i], want [i].err, strlen (want [i].err)), 0,
                      "line %zu: got \"%s\", want \"%s...\"", i + 1, errs [i], want [i].err);
        cr_expect_null (r [i]);
    }
}

Test (wmbus, registry_without_needed_columns)
{
    char err [512];
    const char *csv = "meter_id,owner\n76348799,NL-CIT-000101\n";
    sl_lookup_t *bad = sl_lookup_parse (csv, strlen (csv), "bad.csv", 0, err, sizeof err);
    cr_assert_not_null (bad);
    sl_wmbus_opts_t opts = { .csv_fields = "name,id,total_m3,max_flow_m3h,timestamp_utc" };
    sl_wmbus_t *p = sl_wmbus_new (&opts, err, sizeof err);
    const char *line = "Flat 12;76348799;6.408;0.02;2026-11-28T08:00:00Z";
    Water__V1__MeterReading *r = NULL;
    cr_assert_eq (sl_wmbus_parse_line (p, line, strlen (line), "x.csv", 4, bad, &r, err, sizeof err), SL_EINVAL);
    cr_assert_str_eq (err, "x.csv:4:9: meter registry lacks column 'citizen_id' or 'district'");
    sl_wmbus_destroy (&p);
    sl_lookup_destroy (&bad);
}

/*  The zone helper: DST-correct both ways, gaps refused, overlaps chosen. */
Test (wmbus, timezone_conversion_is_dst_correct)
{
    char err [256];
    sl_tz_t *sh = sl_tz_load ("Asia/Shanghai", err, sizeof err);
    cr_assert_not_null (sh, "%s", err);
    int64_t t;
    cr_assert_eq (sl_tz_to_utc (sh, sl_time_from_civil (2026, 11, 28, 8, 0, 0), -1, &t, NULL), 0);
    cr_assert_eq (t, T0800 - 8 * 3600);
    sl_tz_destroy (&sh);
    cr_assert_null (sl_tz_load ("Mars/Olympus_Mons", err, sizeof err));
    cr_assert_not_null (strstr (err, "not in the installed tzdata"), "%s", err);
    cr_assert_null (sl_tz_load ("../../etc/passwd", err, sizeof err));
    /* 2026-03-29 02:30 does not exist in Amsterdam; 2026-10-25 02:30 happens twice */
    const char *why = NULL;
    cr_assert_eq (sl_tz_to_utc (amsterdam, sl_time_from_civil (2026, 3, 29, 2, 30, 0), -1, &t, &why), SL_EPARSE);
    cr_assert_not_null (strstr (why, "clocks went forward"));
    int64_t fold = sl_time_from_civil (2026, 10, 25, 2, 30, 0);
    cr_assert_eq (sl_tz_to_utc (amsterdam, fold, -1, &t, NULL), 0);
    cr_assert_eq (t, fold - 7200, "the earlier, summer-time one by default");
    cr_assert_eq (sl_tz_to_utc (amsterdam, fold, 0, &t, NULL), 0);
    cr_assert_eq (t, fold - 3600, "the winter-time one when asked");
    cr_assert_eq (sl_tz_parse_iso8601 (amsterdam, "2026-07-01T12:00:00", 19, &t, NULL, NULL), 0);
    cr_assert_eq (t, sl_time_from_civil (2026, 7, 1, 10, 0, 0));
    cr_assert_eq (sl_tz_parse_iso8601 (amsterdam, "2026-07-01T12:00:00Z", 20, &t, NULL, NULL), 0);
    cr_assert_eq (t, sl_time_from_civil (2026, 7, 1, 12, 0, 0), "a written zone wins");
}

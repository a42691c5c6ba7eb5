/*  adapters/power: DSMR P1 telegrams — stream splitting, CRC, OBIS parsing. */
#include "sl_testutil.h"
#include "sl_dsmr.h"
#include "sl_error.h"
#include "sl_time.h"

static sl_lookup_t *meters;

static void
setup (void)
{
    char err [256];
    meters = sl_lookup_load (fixture_path ("power-meters.csv"), 0, err, sizeof err);
    cr_assert_not_null (meters, "%s", err);
}

static void
teardown (void)
{
    sl_lookup_destroy (&meters);
}

TestSuite (dsmr, .init = setup, .fini = teardown);

Test (dsmr, crc16_arc)
{
    cr_assert_eq (sl_dsmr_crc16 ("123456789", 9), 0xBB3D);
    cr_assert_eq (sl_dsmr_crc16 ("", 0), 0);
}

typedef struct {
    int rc;                 /* reader result */
    size_t line;
    char *text;             /* the telegram or bad bytes */
} got_t;

/*  Feeds `buf` to a reader `chunk` bytes at a time and collects everything
 *  it hands out. Returns the count; *skipped gets the noise byte count. */
static size_t
split (const char *buf, size_t len, size_t chunk, got_t *got, size_t max, size_t *skipped)
{
    sl_dsmr_reader_t *r = sl_dsmr_reader_new (0);
    cr_assert_not_null (r);
    size_t n = 0;
    for (size_t off = 0; off <= len; off += chunk) {
        size_t take = off + chunk <= len ? chunk : len - off;
        cr_assert_eq (sl_dsmr_reader_feed (r, buf + off, take), 0);
        int eof = off + take >= len;
        const char *tg;
        size_t tl, line;
        int rc;
        while ((rc = sl_dsmr_reader_next (r, eof, &tg, &tl, &line)) != 0 && n < max) {
            got [n].rc = rc;
            got [n].line = line;
            got [n].text = strndup (tg, tl);
            n++;
        }
        if (eof)
            break;
    }
    *skipped = sl_dsmr_reader_skipped (r);
    sl_dsmr_reader_destroy (&r);
    cr_assert_null (r);
    return n;
}

Test (dsmr, good_telegrams)
{
    size_t len, skipped;
    char *buf = fixture ("p1.txt", &len);
    got_t g [4];
    size_t n = split (buf, len, len, g, 4, &skipped);
    cr_assert_eq (n, 2);
    cr_assert_eq (skipped, 14, "\"garbage before\" is noise");
    cr_assert_eq (g [0].rc, 1);
    cr_assert_eq (g [0].line, 2);
    cr_assert_eq (g [1].line, 16);

    char err [256];
    Power__V1__MeterReading *m = NULL;
    cr_assert_eq (sl_dsmr_parse (g [0].text, strlen (g [0].text), "p1.txt", 1, g [0].line,
                                 NULL, meters, &m, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (m->ref_device, "E0004001594754414");
    cr_assert_str_eq (m->subject, "NL-CIT-000101");
    cr_assert_str_eq (m->district, "Centrum");
    cr_assert_eq (m->date_observed, T0800 - 3600, "08:00 winter time is 07:00 UTC");
    cr_assert_str_eq (m->id, "E0004001594754414:1795849200");
    cr_assert_float_eq (m->active_energy_import_t1_kwh, 1234.567, 1e-9);
    cr_assert_float_eq (m->active_energy_import_t2_kwh, 987.654, 1e-9);
    cr_assert_float_eq (m->active_energy_export_t1_kwh, 10.0, 1e-9);
    cr_assert_float_eq (m->active_energy_export_t2_kwh, 2.5, 1e-9);
    cr_assert_float_eq (m->active_energy_import_kwh, 2222.221, 1e-9);
    cr_assert_float_eq (m->active_energy_export_kwh, 12.5, 1e-9);
    cr_assert_float_eq (m->active_power_kw, 1.193, 1e-9);
    cr_assert_str_eq (m->tariff, "0002");
    power__v1__meter_reading__free_unpacked (m, NULL);

    /* no CRC (DSMR 2/3 style): accepted unless required; summer time */
    cr_assert_eq (sl_dsmr_parse (g [1].text, strlen (g [1].text), "p1.txt", 2, g [1].line,
                                 NULL, meters, &m, err, sizeof err), 0, "%s", err);
    cr_assert_eq (m->date_observed, 1785222000, "09:00 summer time is 07:00 UTC");
    cr_assert_str_eq (m->subject, "NL-CIT-000102");
    cr_assert_str_eq (m->tariff, "");
    power__v1__meter_reading__free_unpacked (m, NULL);
    sl_dsmr_opts_t strict = SL_DSMR_OPTS_DEFAULT;
    strict.require_crc = 1;
    m = NULL;
    cr_assert_eq (sl_dsmr_parse (g [1].text, strlen (g [1].text), "p1.txt", 2, g [1].line,
                                 &strict, meters, &m, err, sizeof err), SL_EPARSE);
    cr_assert_null (m);
    cr_assert_str_eq (err, "p1.txt:22: telegram 2: no CRC after '!' (required)\n"
                      "give --require-crc no to accept telegrams of meters that send none (DSMR 2.2, 3.0)");
    /* another city's offsets */
    sl_dsmr_opts_t utc = SL_DSMR_OPTS_DEFAULT;
    utc.winter_offset_s = utc.summer_offset_s = 0;
    cr_assert_eq (sl_dsmr_parse (g [0].text, strlen (g [0].text), "p1.txt", 1, 2, &utc, meters, &m, err, sizeof err), 0);
    cr_assert_eq (m->date_observed, T0800);
    power__v1__meter_reading__free_unpacked (m, NULL);

    /* the same stream one byte at a time gives the same telegrams */
    got_t h [4];
    cr_assert_eq (split (buf, len, 1, h, 4, &skipped), 2);
    cr_assert_eq (skipped, 14);
    for (int i = 0; i < 2; i++) {
        cr_assert_str_eq (h [i].text, g [i].text);
        cr_assert_eq (h [i].line, g [i].line);
        free (g [i].text);
        free (h [i].text);
    }
    free (buf);
}

Test (dsmr, bad_telegrams_each_reported)
{
    size_t len, skipped;
    char *buf = fixture ("p1-bad.txt", &len);
    got_t g [16];
    size_t n = split (buf, len, 7, g, 16, &skipped);
    cr_assert_eq (n, 9);
    cr_assert_eq (skipped, 2, "'G4' after the short CRC is noise");
    static const struct { int rc; const char *err; } want [9] = {
        { SL_ECORRUPT, "p1-bad.txt:7: telegram 1: CRC mismatch: telegram says 85E7, computed 94F6" },
        { SL_EPARSE, "p1-bad.txt:10: telegram 2: 0-0:1.0.0: expected (YYMMDDhhmmssW) or (...S), found '(261128080000X)'" },
        { SL_EPARSE, "p1-bad.txt:19: telegram 3: 1-0:1.8.1: unit 'm3' is not kWh or Wh" },
        { SL_EPARSE, "p1-bad.txt:27: telegram 4: no energy imported: neither 1-0:1.8.1 with 1-0:1.8.2 nor the total 1-0:1.8.0" },
        { SL_ENOTFOUND, "p1-bad.txt:28: telegram 5: meter 'E9999' is not in the meter registry\nadd a row for meter id 'E9999' to the meter registry (--meters)" },
        { SL_EPARSE, "p1-bad.txt:38: telegram 6: 'this is not obis' is not an OBIS register line <obis>(value)" },
        { 0, NULL },        /* cut off by the next telegram: the reader says so */
        { SL_EPARSE, "p1-bad.txt:47: telegram 8: 0-0:1.0.0: no such date or time '(261131080000W)'" },
        { SL_ECORRUPT, "p1-bad.txt:58: telegram 9: CRC mismatch: telegram says 0012, computed 94F6" },
    };
    for (size_t i = 0; i < n; i++) {
        if (i == 6) {
            cr_expect_eq (g [i].rc, SL_EPARSE);
            cr_expect_eq (g [i].line, 42);
            cr_expect_str_eq (g [i].text, "/ISK5\\2M550T-1012\r\n\r\n0-0:1.0.0(2611\r\n");
            free (g [i].text);
            continue;
        }
        cr_expect_eq (g [i].rc, 1, "telegram %zu", i + 1);
        char err [256] = "";
        Power__V1__MeterReading *m = NULL;
        int rc = sl_dsmr_parse (g [i].text, strlen (g [i].text), "p1-bad.txt", i + 1, g [i].line,
                                NULL, meters, &m, err, sizeof err);
        cr_expect_eq (rc, want [i].rc, "telegram %zu: rc %d", i + 1, rc);
        cr_expect_str_eq (err, want [i].err, "telegram %zu: got \"%s\"", i + 1, err);
        cr_expect_null (m);
        free (g [i].text);
    }
    free (buf);
}

Test (dsmr, reader_edges)
{
    sl_dsmr_reader_t *r = sl_dsmr_reader_new (64);
    const char *tg;
    size_t tl, line;
    /* found by fuzzing: asking before anything was fed (UBSan: offset on NULL) */
    cr_assert_eq (sl_dsmr_reader_feed (r, "", 0), 0);
    cr_assert_eq (sl_dsmr_reader_next (r, 1, &tg, &tl, &line), 0);
    /* the CRC may come in a later read: wait for it */
    const char *a = "/ABC5 x\r\n1-0:1.8.1(1*kWh)\r\n!1", *b = "2AB\r\n";
    cr_assert_eq (sl_dsmr_reader_feed (r, a, strlen (a)), 0);
    cr_assert_eq (sl_dsmr_reader_next (r, 0, &tg, &tl, &line), 0);
    cr_assert_eq (sl_dsmr_reader_feed (r, b, strlen (b)), 0);
    cr_assert_eq (sl_dsmr_reader_next (r, 0, &tg, &tl, &line), 1);
    cr_assert_eq (tl, strlen (a) + 3);
    cr_assert_eq (memcmp (tg + tl - 5, "!12AB", 5), 0);
    cr_assert_eq (sl_dsmr_reader_next (r, 0, &tg, &tl, &line), 0);
    /* over the size limit */
    char big [100];
    memset (big, 'A', sizeof big);
    big [0] = '/';
    cr_assert_eq (sl_dsmr_reader_feed (r, big, sizeof big), 0);
    cr_assert_eq (sl_dsmr_reader_next (r, 0, &tg, &tl, &line), SL_ETOOBIG);
    cr_assert_eq (tl, 64);
    cr_assert_eq (line, 4, "three lines came before");
    cr_assert_eq (sl_dsmr_reader_next (r, 1, &tg, &tl, &line), 0, "the rest has no '/': noise");
    cr_assert_eq (sl_dsmr_reader_skipped (r), 36);
    /* cut off by the end of the stream */
    const char *c = "/ABC5 x\r\n1-0:1.8.1(";
    cr_assert_eq (sl_dsmr_reader_feed (r, c, strlen (c)), 0);
    cr_assert_eq (sl_dsmr_reader_next (r, 0, &tg, &tl, &line), 0);
    cr_assert_eq (sl_dsmr_reader_next (r, 1, &tg, &tl, &line), SL_EPARSE);
    cr_assert_eq (tl, strlen (c));
    sl_dsmr_reader_destroy (&r);
}

Test (dsmr, parser_never_reads_past_len)
{
    /* A telegram without '!' inside len, followed in memory by one: not seen. */
    const char *t = "/ISK5\\2M550T-1012\r\n!ABCD";
    char err [256];
    Power__V1__MeterReading *m = NULL;
    cr_assert_eq (sl_dsmr_parse (t, 19, "x", 1, 1, NULL, meters, &m, err, sizeof err), SL_EPARSE);
    cr_assert_str_eq (err, "x:2: telegram 1: no end marker '!'");
    cr_assert_eq (sl_dsmr_parse (t, 0, "x", 1, 1, NULL, meters, &m, err, sizeof err), SL_EPARSE);
    cr_assert_str_eq (err, "x:1: telegram 1: does not start with '/'");
    cr_assert_eq (sl_dsmr_parse ("/AB\r\n!", 6, "x", 1, 1, NULL, meters, &m, err, sizeof err), SL_EPARSE);
    cr_assert_str_eq (err, "x:1: telegram 1: header '/AB' is not /XXXn<identification>");
}

/*  Builds a telegram from its register lines, with its CRC. Returns a static buffer. */
static const char *
telegram (const char *regs, int with_crc)
{
    static char tg [2048];
    int n = snprintf (tg, sizeof tg, "/XMX5LGBBFG1012463177\r\n\r\n%s!", regs);
    if (with_crc)
        snprintf (tg + n, sizeof tg - (size_t) n, "%X\r\n", sl_dsmr_crc16 (tg, (size_t) n));
    return tg;
}

Test (dsmr, profiles_units_ids_and_times)
{
    char err [512];
    Power__V1__MeterReading *m = NULL;
    sl_dsmr_opts_t o = SL_DSMR_OPTS_DEFAULT;
    /* Smarty-like: id in 0-0:42.0.0 (hex ASCII), single totals in Wh, power in W; unpadded CRC */
    const char *tg = telegram ("0-0:42.0.0(4530303034303031353934373534343134)\r\n0-0:1.0.0(261128090000W)\r\n"
                               "1-0:1.8.0(001234567*Wh)\r\n1-0:1.7.0(000001500*W)\r\n", 1);
    cr_assert_eq (sl_dsmr_parse (tg, strlen (tg), "t", 1, 1, &o, meters, &m, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (m->ref_device, "E0004001594754414");
    cr_assert_float_eq (m->active_energy_import_kwh, 1234.567, 1e-9);
    cr_assert_float_eq (m->active_power_kw, 1.5, 1e-12);
    cr_assert_eq (m->date_observed, T0800);
    cr_assert_str_eq (m->time_source, "meter");
    cr_assert_eq (m->n_absent_fields, 6, "tariffs, export, tariff register");
    power__v1__meter_reading__free_unpacked (m, NULL);
    /* no time register: the reception time, said so; no id register: --meter-id */
    o.reception_time = 1234567890;
    o.meter_id = "E0004001594754415";
    tg = telegram ("1-0:1.8.1*255(000001.000*kWh)\r\n1-0:1.8.2*255(000002.000*kWh)\r\n", 0);
    cr_assert_eq (sl_dsmr_parse (tg, strlen (tg), "t", 1, 1, &o, meters, &m, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (m->time_source, "reception");
    cr_assert_eq (m->date_observed, 1234567890);
    cr_assert_str_eq (m->ref_device, "E0004001594754415");
    cr_assert_float_eq (m->active_energy_import_kwh, 3.0, 1e-12, "*255 suffix ignored");
    power__v1__meter_reading__free_unpacked (m, NULL);
    o.meter_id = NULL;
    cr_assert_eq (sl_dsmr_parse (tg, strlen (tg), "t", 1, 1, &o, meters, &m, err, sizeof err), SL_EPARSE);
    cr_assert_not_null (strstr (err, "no meter id"), "%s", err);
    cr_assert_not_null (strstr (err, "\ngive --meter-id ID"), "%s", err);
    /* the hour that happens twice: the flag picks it in an IANA zone */
    sl_tz_t *ams = sl_tz_load ("Europe/Amsterdam", err, sizeof err);
    o.tz = ams;
    const char *regs_s = "0-0:96.1.1(4530303034303031353934373534343134)\r\n0-0:1.0.0(261025023000S)\r\n"
                         "1-0:1.8.0(1*kWh)\r\n";
    tg = telegram (regs_s, 1);
    cr_assert_eq (sl_dsmr_parse (tg, strlen (tg), "t", 1, 1, &o, meters, &m, err, sizeof err), 0, "%s", err);
    int64_t fold = sl_time_from_civil (2026, 10, 25, 2, 30, 0);
    cr_assert_eq (m->date_observed, fold - 7200, "S: summer time");
    power__v1__meter_reading__free_unpacked (m, NULL);
    tg = telegram ("0-0:96.1.1(4530303034303031353934373534343134)\r\n0-0:1.0.0(261025023000W)\r\n"
                   "1-0:1.8.0(1*kWh)\r\n", 1);
    cr_assert_eq (sl_dsmr_parse (tg, strlen (tg), "t", 1, 1, &o, meters, &m, err, sizeof err), 0, "%s", err);
    cr_assert_eq (m->date_observed, fold - 3600, "W: winter time");
    power__v1__meter_reading__free_unpacked (m, NULL);
    /* a time without the flag needs a zone */
    tg = telegram ("0-0:96.1.1(4530303034303031353934373534343134)\r\n0-0:1.0.0(261128090000)\r\n"
                   "1-0:1.8.0(1*kWh)\r\n", 1);
    cr_assert_eq (sl_dsmr_parse (tg, strlen (tg), "t", 1, 1, &o, meters, &m, err, sizeof err), 0, "%s", err);
    cr_assert_eq (m->date_observed, T0800);
    power__v1__meter_reading__free_unpacked (m, NULL);
    o.tz = NULL;
    cr_assert_eq (sl_dsmr_parse (tg, strlen (tg), "t", 1, 1, &o, meters, &m, err, sizeof err), SL_EPARSE);
    cr_assert_not_null (strstr (err, "has no W/S flag"), "%s", err);
    sl_tz_destroy (&ams);
    /* a register without a unit is refused, not guessed */
    tg = telegram ("0-0:96.1.1(4530303034303031353934373534343134)\r\n1-0:1.8.0(12.5)\r\n", 1);
    cr_assert_eq (sl_dsmr_parse (tg, strlen (tg), "t", 1, 1, &o, meters, &m, err, sizeof err), SL_EPARSE);
    cr_assert_not_null (strstr (err, "1-0:1.8.0: unit '' is not kWh or Wh"), "%s", err);
}

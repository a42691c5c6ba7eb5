/*  examples/data: every sample file goes through its parser the way an
 *  adapter reads it — good files without a single rejection, the malformed
 *  files with exactly the faults they were made with, each quarantined. */
#include "sl_testutil.h"
#include "sl_wmbus.h"
#include "sl_dsmr.h"
#include "sl_mllp.h"
#include "sl_adt.h"
#include "sl_apds.h"
#include "sl_quarantine.h"
#include "sl_error.h"

#include <cjson/cJSON.h>
#include <unistd.h>

static char *
slurp (const char *rel, size_t *len)
{
    return read_whole (SL_EXAMPLES, rel, " (run examples/gen-data)", len);
}

static sl_lookup_t *
registry (const char *rel, int flags)
{
    char path [1024], err [256];
    snprintf (path, sizeof path, "%s/%s", SL_EXAMPLES, rel);
    sl_lookup_t *r = sl_lookup_load (path, flags, err, sizeof err);
    cr_assert_not_null (r, "%s", err);
    return r;
}

typedef struct { size_t ok, bad; } count_t;

static count_t
run_water (const char *rel, sl_quarantine_t *q)
{
    sl_lookup_t *meters = registry ("water-meters.csv", 0);
    size_t len, pos = 0, line = 0;
    char *buf = slurp (rel, &len);
    count_t c = { 0, 0 };
    char err [512];
    /* the demo city's collectors write local time (examples/gen-data) */
    sl_tz_t *tz = sl_tz_load ("Europe/Amsterdam", err, sizeof err);
    cr_assert_not_null (tz, "%s", err);
    sl_wmbus_opts_t opts = { .tz = tz };
    sl_wmbus_t *p = sl_wmbus_new (&opts, err, sizeof err);
    cr_assert_not_null (p, "%s", err);
    while (pos < len) {
        char *eol = memchr (buf + pos, '\n', len - pos);
        size_t ll = eol ? (size_t) (eol - buf) - pos : len - pos;
        Water__V1__MeterReading *r = NULL;
        int rc = sl_wmbus_parse_line (p, buf + pos, ll, rel, ++line, meters, &r, err, sizeof err);
        if (rc == 0) {
            c.ok++;
            water__v1__meter_reading__free_unpacked (r, NULL);
        }
        else if (rc < 0) {
            c.bad++;
            sl_quarantine_add (q, rel, line, err, buf + pos, ll);
        }
        pos += ll + 1;
    }
    sl_wmbus_destroy (&p);
    sl_tz_destroy (&tz);
    free (buf);
    sl_lookup_destroy (&meters);
    return c;
}

static count_t
run_power (const char *rel, sl_quarantine_t *q)
{
    sl_lookup_t *meters = registry ("power-meters.csv", 0);
    size_t len;
    char *buf = slurp (rel, &len);
    sl_dsmr_reader_t *rd = sl_dsmr_reader_new (0);
    count_t c = { 0, 0 };
    size_t n = 0;
    for (size_t off = 0; off < len; off += 4096) {         /* as read(2) would hand it over */
        size_t take = off + 4096 <= len ? 4096 : len - off;
        sl_dsmr_reader_feed (rd, buf + off, take);
        const char *tg;
        size_t tl, line;
        int rc;
        while ((rc = sl_dsmr_reader_next (rd, off + take == len, &tg, &tl, &line)) != 0) {
            char err [256];
            n++;
            if (rc == 1) {
                Power__V1__MeterReading *m = NULL;
                rc = sl_dsmr_parse (tg, tl, rel, n, line, NULL, meters, &m, err, sizeof err);
                if (rc == 0) {
                    c.ok++;
                    power__v1__meter_reading__free_unpacked (m, NULL);
                    continue;
                }
            }
            else
                snprintf (err, sizeof err, "%s:%zu: telegram %zu: %s", rel, line, n,
                          rc == SL_ETOOBIG ? "telegram too long" : "telegram cut off before its end '!'");
            c.bad++;
            sl_quarantine_add (q, rel, n, err, tg, tl);
        }
    }
    cr_assert_eq (sl_dsmr_reader_skipped (rd), 0);
    sl_dsmr_reader_destroy (&rd);
    free (buf);
    sl_lookup_destroy (&meters);
    return c;
}

static count_t
run_health (const char *rel, sl_quarantine_t *q, size_t *charges)
{
    size_t len;
    char *buf = slurp (rel, &len);
    sl_hl7_split_t st = SL_HL7_SPLIT_INIT;
    const char *msg;
    size_t mlen, line, n = 0;
    count_t c = { 0, 0 };
    while (sl_hl7_split (buf, len, &st, &msg, &mlen, &line)) {
        sl_adt_result_t res;
        char err [256];
        if (sl_adt_map (msg, mlen, rel, ++n, NULL, &res, err, sizeof err) == 0) {
            c.ok++;
            *charges += res.n_charges;
        }
        else {
            c.bad++;
            sl_quarantine_add (q, rel, n, err, msg, mlen);
        }
        sl_adt_result_clear (&res);
    }
    free (buf);
    return c;
}

static count_t
run_parking (const char *rel, sl_quarantine_t *q, size_t *at_hospital)
{
    sl_lookup_t *plates = registry ("plates.csv", SL_LOOKUP_PLATE);
    sl_lookup_t *places = registry ("places.csv", 0);
    size_t len;
    char *buf = slurp (rel, &len);
    sl_apds_reader_t *rd = sl_apds_reader_new (buf, len, rel);
    count_t c = { 0, 0 };
    int rc;
    do {
        Parking__V1__Session *s = NULL;
        const char *raw;
        size_t rawlen, recno;
        char err [256];
        rc = sl_apds_reader_next (rd, plates, places, &s, &raw, &rawlen, &recno, err, sizeof err);
        if (rc == 1) {
            c.ok++;
            *at_hospital += strcmp (s->place_reference, "P-HOSPITAL-STLUKE") == 0
                         && strcmp (s->district, "Oost") == 0;
            parking__v1__session__free_unpacked (s, NULL);
        }
        else if (rc < 0) {
            c.bad++;
            sl_quarantine_add (q, rel, recno, err, raw, rawlen);
        }
    } while (rc != 0);
    sl_apds_reader_destroy (&rd);
    free (buf);
    sl_lookup_destroy (&plates);
    sl_lookup_destroy (&places);
    return c;
}

Test (sample_data, good_files_parse_completely, .timeout = 60)
{
    sl_quarantine_t *q = sl_quarantine_new (NULL);
    count_t c = run_water ("water/wmbus-2026-11-28.jsonl", q);
    cr_expect_eq (c.ok, 200 * 24);
    cr_expect_eq (c.bad, 0);
    c = run_water ("water/wmbus-2026-11-28.csv", q);
    cr_expect_eq (c.ok, 100 * 24);
    cr_expect_eq (c.bad, 0);
    c = run_power ("power/p1-2026-11-28.txt", q);
    cr_expect_eq (c.ok, 300 * 24);
    cr_expect_eq (c.bad, 0);
    size_t charges = 0;
    c = run_health ("health/adt-2026-11-28.hl7", q, &charges);
    cr_expect_eq (c.ok, 265);
    cr_expect_eq (c.bad, 0);
    cr_expect_eq (charges, 0);
    c = run_health ("health/dft-2026-11-28.hl7", q, &charges);
    cr_expect_eq (c.ok, 95);
    cr_expect_eq (c.bad, 0);
    cr_expect_geq (charges, 95);
    size_t at_hospital = 0;
    c = run_parking ("parking/sessions-2026-11-28.jsonl", q, &at_hospital);
    cr_expect_eq (c.bad, 0);
    cr_expect_geq (c.ok, 330);
    cr_expect_geq (at_hospital, 20, "drivers who were at the hospital: %zu", at_hospital);
    cr_expect_eq (sl_quarantine_rejected (q), 0);
    sl_quarantine_destroy (&q);
}

Test (sample_data, malformed_files_are_quarantined, .timeout = 60)
{
    char path [] = "/tmp/sl-sample-quarantine-XXXXXX";
    int fd = mkstemp (path);
    cr_assert_geq (fd, 0);
    close (fd);
    sl_quarantine_t *q = sl_quarantine_new (path);
    count_t c = run_water ("malformed/water-bad.jsonl", q);
    cr_expect_eq (c.ok, 2);
    cr_expect_eq (c.bad, 4);
    c = run_water ("malformed/water-bad.csv", q);
    cr_expect_eq (c.ok, 2);
    cr_expect_eq (c.bad, 2);
    c = run_power ("malformed/p1-bad.txt", q);
    cr_expect_eq (c.ok, 2);
    cr_expect_eq (c.bad, 4);
    size_t charges = 0;
    c = run_health ("malformed/adt-bad.hl7", q, &charges);
    cr_expect_eq (c.ok, 2);
    cr_expect_eq (c.bad, 4);
    size_t at_hospital = 0;
    c = run_parking ("malformed/parking-bad.jsonl", q, &at_hospital);
    cr_expect_eq (c.ok, 2);
    cr_expect_eq (c.bad, 5);
    cr_expect_eq (sl_quarantine_rejected (q), 19);
    sl_quarantine_destroy (&q);

    /* 19 JSON lines, each naming its source, record and reason */
    FILE *f = fopen (path, "rb");
    char line [8192];
    size_t n = 0;
    while (fgets (line, sizeof line, f)) {
        cJSON *o = cJSON_Parse (line);
        cr_assert_not_null (o, "quarantine line %zu is JSON", n + 1);
        const char *src = cJSON_GetObjectItem (o, "source")->valuestring;
        const char *why = cJSON_GetObjectItem (o, "reason")->valuestring;
        cr_expect_eq (strncmp (src, "malformed/", 10), 0);
        cr_expect_eq (strncmp (why, src, strlen (src)), 0, "reason starts with the source: %s", why);
        cr_expect_gt (strlen (cJSON_GetObjectItem (o, "raw")->valuestring), 0);
        cJSON_Delete (o);
        n++;
    }
    fclose (f);
    if (n == 19)
        unlink (path);
    cr_expect_eq (n, 19, "quarantine lines in %s", path);
}

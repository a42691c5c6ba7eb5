/*  sluice-power-adapter: DSMR P1 telegrams (a P1 log file, a serial port
 *  captured to a file, or stdin) joined with the meter registry, published
 *  as power.v1.MeterReading. */
#include "sl_runner.h"
#include "sl_dsmr.h"
#include "sl_error.h"
#include "sl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *meters_path, *tz_name;
    sl_tz_t *tz;
    sl_lookup_t *meters;
    sl_dsmr_opts_t opts;
    sl_dsmr_reader_t *reader;
    size_t telegrams;
} power_t;

static int
s_option (void *st, const char *name, const char *value)
{
    power_t *p = st;
    if (strcmp (name, "require-crc") != 0) {   /* --winter-offset, --summer-offset */
        int32_t *o = name [0] == 'w' ? &p->opts.winter_offset_s : &p->opts.summer_offset_s;
        if (sl_time_parse_offset (value, o)) {
            fprintf (stderr, "sluice-power-adapter: --%s %s: expected an offset like +01:00\n", name, value);
            return -1;
        }
    }
    else if (strcmp (value, "yes") && strcmp (value, "no")) {
        fprintf (stderr, "sluice-power-adapter: --require-crc takes yes or no\n");
        return -1;
    }
    else
        p->opts.require_crc = strcmp (value, "yes") == 0;
    return 0;
}

static int
s_start (void *st)
{
    power_t *p = st;
    int rc = sl_runner_load ("sluice-power-adapter", p->tz_name, &p->tz, "meters", "the meter registry",
                             p->meters_path, SL_LOOKUP_EXACT, &p->meters);
    p->opts.tz = p->tz;
    return rc;
}

static void
s_stop (void *st)
{
    power_t *p = st;
    sl_lookup_destroy (&p->meters);
    sl_dsmr_reader_destroy (&p->reader);
    sl_tz_destroy (&p->tz);
}

static void
s_begin (void *st, sl_runner_t *r, const char *source)
{
    (void) r; (void) source;
    power_t *p = st;
    sl_dsmr_reader_destroy (&p->reader);
    p->reader = sl_dsmr_reader_new (0);
    p->telegrams = 0;
    p->opts.explain = sl_runner_explain (r);
}

static void
s_drain (power_t *p, sl_runner_t *r, int eof)
{
    const char *tg;
    size_t len, line;
    int rc;
    while ((rc = sl_dsmr_reader_next (p->reader, eof, &tg, &len, &line)) != 0) {
        char err [1024];
        p->telegrams++;
        if (rc == 1) {
            Power__V1__MeterReading *m = NULL;
            p->opts.reception_time = (int64_t) time (NULL);
            rc = sl_dsmr_parse (tg, len, sl_runner_source (r), p->telegrams, line, &p->opts,
                                p->meters, &m, err, sizeof err);
            if (rc == 0) {
                sl_runner_publish (r, "power.v1.MeterReading", &m->base, m->subject, m->date_observed);
                power__v1__meter_reading__free_unpacked (m, NULL);
                continue;
            }
        }
        else
            snprintf (err, sizeof err, "%s:%zu: telegram %zu: %s", sl_runner_source (r), line,
                      p->telegrams, rc == SL_ETOOBIG ? "longer than 16 KiB, no end '!' found"
                                                     : "cut off before its end '!'");
        sl_runner_reject (r, p->telegrams, err, tg, len);
    }
}

static void
s_feed (void *st, sl_runner_t *r, const char *data, size_t len)
{
    power_t *p = st;
    if (!p->reader || sl_dsmr_reader_feed (p->reader, data, len)) {
        sl_runner_reject (r, p->telegrams + 1, "out of memory", NULL, 0);
        return;
    }
    s_drain (p, r, 0);
}

static void
s_end (void *st, sl_runner_t *r)
{
    power_t *p = st;
    if (p->reader)
        s_drain (p, r, 1);
}

int
main (int argc, char **argv)
{
    static const sl_runner_option_t options [] = {
        SL_RUNNER_TEXT ("meters", power_t, meters_path), { "winter-offset", SL_RUNNER_CALL },
        { "summer-offset", SL_RUNNER_CALL }, { "require-crc", SL_RUNNER_CALL },
        SL_RUNNER_TEXT ("timezone", power_t, tz_name), SL_RUNNER_TEXT ("meter-id", power_t, opts.meter_id),
        { NULL, 0 } };
    static const sl_format_t format = {
        .program = "sluice-power-adapter", .bureau = "power",
        .summary = "Power bureau: DSMR P1 / IEC 62056-21 telegrams -> power.v1.MeterReading.",
        .options_help = "Power:\n"
                        "  --meters FILE        meter registry CSV: meter_id,citizen_id,district (required)\n"
                        "  --timezone ZONE      IANA zone of the meters' clocks (e.g. Europe/Dublin);\n"
                        "                       replaces the two offsets below, DST by the zone's rules\n"
                        "  --winter-offset OFF  meter clock offset when the time flag is W [+01:00]\n"
                        "  --summer-offset OFF  ... when the flag is S [+02:00]\n"
                        "  --meter-id ID        meter id for telegrams with no id register (one reader,\n"
                        "                       one meter); telegrams with no time register take the\n"
                        "                       reception time (time_source \"reception\")\n"
                        "  --require-crc yes|no reject telegrams without a CRC [no]\n",
        .options = options, .option = s_option, .start = s_start,
        .begin = s_begin, .feed = s_feed, .end = s_end, .stop = s_stop,
    };
    power_t p = { .opts = SL_DSMR_OPTS_DEFAULT };
    return sl_runner_main (argc, argv, &format, &p);
}

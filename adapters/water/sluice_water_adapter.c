/*  sluice-water-adapter: wmbusmeters output (JSON lines or fields lines)
 *  joined with the meter registry, published as water.v1.MeterReading. */
#include "sl_runner.h"
#include "sl_inbuf.h"
#include "sl_wmbus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *meters_path, *tz_name, *csv_fields;
    char separator;
    sl_lookup_t *meters;
    sl_tz_t *tz;
    sl_wmbus_t *parser;
    sl_inbuf_t in;              /* a line not yet ended */
    size_t lineno;
} water_t;

static int
s_option (void *st, const char *name, const char *value)
{
    (void) name;                /* --separator */
    water_t *w = st;
    if (strlen (value) != 1 && strcmp (value, "tab") != 0) {
        fprintf (stderr, "sluice-water-adapter: --separator takes one character (or 'tab')\n");
        return -1;
    }
    w->separator = strcmp (value, "tab") == 0 ? '\t' : value [0];
    return 0;
}

static int
s_start (void *st)
{
    water_t *w = st;
    char err [512];
    if (sl_runner_load ("sluice-water-adapter", w->tz_name, &w->tz, "meters", "the meter registry",
                        w->meters_path, SL_LOOKUP_EXACT, &w->meters))
        return -1;
    sl_wmbus_opts_t opts = { .tz = w->tz, .csv_fields = w->csv_fields, .separator = w->separator };
    w->parser = sl_wmbus_new (&opts, err, sizeof err);
    if (!w->parser) {
        fprintf (stderr, "sluice-water-adapter: %s\n", err);
        return -1;
    }
    return 0;
}

static void
s_stop (void *st)
{
    water_t *w = st;
    sl_lookup_destroy (&w->meters);
    sl_wmbus_destroy (&w->parser);
    sl_tz_destroy (&w->tz);
    sl_inbuf_release (&w->in);
}

static void
s_begin (void *st, sl_runner_t *r, const char *source)
{
    (void) source;
    water_t *w = st;
    w->in.pos = w->in.len = 0;
    w->lineno = 0;
    sl_wmbus_reset (w->parser);
    sl_wmbus_set_explain (w->parser, sl_runner_explain (r));
}

static void
s_line (water_t *w, sl_runner_t *r, const char *line, size_t len)
{
    Water__V1__MeterReading *m = NULL;
    char err [1024];
    w->lineno++;
    int rc = sl_wmbus_parse_line (w->parser, line, len, sl_runner_source (r), w->lineno, w->meters,
                                  &m, err, sizeof err);
    if (rc == 0) {
        sl_runner_publish (r, "water.v1.MeterReading", &m->base, m->subject, m->date_observed);
        water__v1__meter_reading__free_unpacked (m, NULL);
    }
    else
    if (rc < 0)
        sl_runner_reject (r, w->lineno, err, line, len);
}

static void
s_feed (void *st, sl_runner_t *r, const char *data, size_t len)
{
    water_t *w = st;
    if (sl_inbuf_append (&w->in, data, len) != 0) {
        sl_runner_reject (r, w->lineno + 1, "out of memory for a long line", NULL, 0);
        return;
    }
    const char *line, *nl;
    while (w->in.pos < w->in.len
           && (nl = memchr (line = w->in.buf + w->in.pos, '\n', w->in.len - w->in.pos))) {
        w->in.pos += (size_t) (nl - line) + 1;
        s_line (w, r, line, (size_t) (nl - line));
    }
}

static void
s_end (void *st, sl_runner_t *r)
{
    water_t *w = st;
    if (w->in.len > w->in.pos)
        s_line (w, r, w->in.buf + w->in.pos, w->in.len - w->in.pos);
    w->in.pos = w->in.len = 0;
}

int
main (int argc, char **argv)
{
    static const sl_runner_option_t options [] = {
        SL_RUNNER_TEXT ("meters", water_t, meters_path), SL_RUNNER_TEXT ("timezone", water_t, tz_name),
        SL_RUNNER_TEXT ("csv-fields", water_t, csv_fields), { "separator", SL_RUNNER_CALL }, { NULL, 0 } };
    static const sl_format_t format = {
        .program = "sluice-water-adapter", .bureau = "water",
        .summary = "Water bureau: wmbusmeters JSON lines or fields (CSV) lines -> water.v1.MeterReading.",
        .options_help = "Water:\n"
                        "  --meters FILE      meter registry CSV: meter_id,citizen_id,district (required)\n"
                        "  --timezone ZONE    IANA zone of zone-less times (wmbusmeters' CSV 'timestamp'\n"
                        "                     is the collector's local time), e.g. Europe/Stockholm;\n"
                        "                     without it such readings are refused, never read as UTC\n"
                        "  --csv-fields LIST  column names of fields lines that have no header line,\n"
                        "                     as wmbusmeters' selectfields: name,id,total_m3,timestamp\n"
                        "  --separator C      fields separator, as wmbusmeters' --separator [;]\n",
        .options = options, .option = s_option, .start = s_start,
        .begin = s_begin, .feed = s_feed, .end = s_end, .stop = s_stop,
    };
    water_t w = { 0 };
    return sl_runner_main (argc, argv, &format, &w);
}

/*  sluice-parking-adapter: APDS sessions (an array, an object, or JSON
 *  lines) joined with the plate and place registries, published as
 *  parking.v1.Session. A file is read whole before parsing, so arrays may
 *  span lines; with --follow the growing file must be JSON lines, and each
 *  line is parsed when it is complete. */
#include "sl_runner.h"
#include "sl_inbuf.h"
#include "sl_apds.h"
#include "sl_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *plates_path, *places_path, *tz_name, *currency;
    sl_tz_t *tz;
    sl_explain_t *explain;
    sl_lookup_t *plates, *places;
    sl_inbuf_t in;              /* read, not parsed yet */
    size_t lines, records;      /* consumed so far (following) */
} parking_t;

static int
s_start (void *st)
{
    parking_t *p = st;
    if (sl_runner_load ("sluice-parking-adapter", p->tz_name, &p->tz, "plates", "the plate registry",
                        p->plates_path, SL_LOOKUP_PLATE, &p->plates))
        return -1;
    return p->places_path ? sl_runner_load ("sluice-parking-adapter", NULL, NULL, "places", NULL,
                                            p->places_path, SL_LOOKUP_EXACT, &p->places) : 0;
}

static void
s_stop (void *st)
{
    parking_t *p = st;
    sl_lookup_destroy (&p->plates);
    sl_lookup_destroy (&p->places);
    sl_tz_destroy (&p->tz);
    sl_inbuf_release (&p->in);
}

static void
s_begin (void *st, sl_runner_t *r, const char *source)
{
    (void) source;
    parking_t *p = st;
    p->explain = sl_runner_explain (r);
    p->in.pos = p->in.len = 0;
    p->lines = 0;
    p->records = 0;
}

/*  Parses buf[0..len), whose first line is line `first_line` of the source. */
static void
s_parse (parking_t *p, sl_runner_t *r, const char *buf, size_t len)
{
    sl_apds_reader_t *rd = sl_apds_reader_new (buf, len, sl_runner_source (r));
    if (!rd) {
        sl_runner_reject (r, p->records + 1, "out of memory", NULL, 0);
        return;
    }
    sl_apds_reader_set_position (rd, p->lines + 1, p->records);
    sl_apds_reader_set_options (rd, p->tz, p->currency, p->explain);
    int rc;
    do {
        Parking__V1__Session *s = NULL;
        const char *raw;
        size_t rawlen, recno;
        char err [1024];
        rc = sl_apds_reader_next (rd, p->plates, p->places, &s, &raw, &rawlen, &recno, err, sizeof err);
        if (rc == 1) {
            sl_runner_publish (r, "parking.v1.Session", &s->base, s->subject, s->actual_start);
            parking__v1__session__free_unpacked (s, NULL);
        }
        else
        if (rc < 0)
            sl_runner_reject (r, recno, err, raw, rawlen);
        if (rc != 0)
            p->records = recno;
    } while (rc != 0);
    sl_apds_reader_destroy (&rd);
    for (size_t i = 0; i < len; i++)
        p->lines += buf [i] == '\n';
}

static void
s_feed (void *st, sl_runner_t *r, const char *data, size_t len)
{
    parking_t *p = st;
    if (sl_inbuf_append (&p->in, data, len) != 0) {
        sl_runner_reject (r, p->records + 1, "out of memory", NULL, 0);
        return;
    }
    if (!sl_runner_following (r))
        return;
    /* following: parse the complete lines, keep the rest */
    size_t done = p->in.len;
    while (done > p->in.pos && p->in.buf [done - 1] != '\n')
        done--;
    if (done > p->in.pos) {
        s_parse (p, r, p->in.buf + p->in.pos, done - p->in.pos);
        p->in.pos = done;
    }
}

static void
s_end (void *st, sl_runner_t *r)
{
    parking_t *p = st;
    if (p->in.len > p->in.pos)
        s_parse (p, r, p->in.buf + p->in.pos, p->in.len - p->in.pos);
    p->in.pos = p->in.len = 0;
}

int
main (int argc, char **argv)
{
    static const sl_runner_option_t options [] = {
        SL_RUNNER_TEXT ("plates", parking_t, plates_path), SL_RUNNER_TEXT ("places", parking_t, places_path),
        SL_RUNNER_TEXT ("timezone", parking_t, tz_name), SL_RUNNER_TEXT ("currency", parking_t, currency),
        { NULL, 0 } };
    static const sl_format_t format = {
        .program = "sluice-parking-adapter", .bureau = "parking",
        .summary = "Parking bureau: APDS v4 Sessions (SessionList pages, arrays, objects or JSON lines) "
                   "-> parking.v1.Session.",
        .options_help = "Parking:\n"
                        "  --plates FILE      plate registry CSV: plate,citizen_id (required)\n"
                        "  --places FILE      car park registry CSV: place_id,name,district\n"
                        "  --timezone ZONE    IANA zone of date-times written without a zone\n"
                        "  --currency CUR     ISO 4217 currency of amounts that name none (segmentValue)\n",
        .options = options, .start = s_start,
        .begin = s_begin, .feed = s_feed, .end = s_end, .stop = s_stop,
    };
    parking_t p = { 0 };
    return sl_runner_main (argc, argv, &format, &p);
}

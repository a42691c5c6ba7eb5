/*  adapters/parking: APDS Session JSON (array, object, JSON lines) to
 *  parking.v1.Session, joined with the plate and place registries. */
#include "sl_testutil.h"
#include "sl_apds.h"
#include "sl_error.h"

static sl_lookup_t *plates, *places;

static void
setup (void)
{
    char err [256];
    plates = sl_lookup_load (fixture_path ("plates.csv"), SL_LOOKUP_PLATE, err, sizeof err);
    cr_assert_not_null (plates, "%s", err);
    places = sl_lookup_load (fixture_path ("places.csv"), 0, err, sizeof err);
    cr_assert_not_null (places, "%s", err);
}

static void
teardown (void)
{
    sl_lookup_destroy (&plates);
    sl_lookup_destroy (&places);
}

TestSuite (apds, .init = setup, .fini = teardown);

typedef struct {
    int rc;
    size_t recno;
    char err [512];
    char *raw;
    Parking__V1__Session *s;
} got_t;

static size_t
read_all (const char *name, got_t *g, size_t max)
{
    size_t len;
    char *buf = fixture (name, &len);
    sl_apds_reader_t *r = sl_apds_reader_new (buf, len, name);
    cr_assert_not_null (r);
    size_t n = 0;
    for (;;) {
        cr_assert_lt (n, max);
        const char *raw;
        size_t rawlen;
        g [n].s = NULL;
        g [n].err [0] = 0;
        g [n].rc = sl_apds_reader_next (r, plates, places, &g [n].s, &raw, &rawlen,
                                        &g [n].recno, g [n].err, sizeof g [n].err);
        if (g [n].rc == 0)
            break;
        g [n].raw = strndup (raw, rawlen);
        n++;
    }
    sl_apds_reader_destroy (&r);
    cr_assert_null (r);
    free (buf);
    return n;
}

/*  read_all, then asserts that the file held `want` records, each read
 *  well. Returns how many. */
static size_t
read_good (const char *name, got_t *g, size_t max, size_t want)
{
    size_t n = read_all (name, g, max);
    cr_assert_eq (n, want, "%s: %zu records", name, n);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq (g [i].rc, 1, "%s record %zu: %s", name, i + 1, g [i].err);
    return n;
}

static void
release (got_t *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (g [i].s)
            parking__v1__session__free_unpacked (g [i].s, NULL);
        free (g [i].raw);
    }
}

static int
absent (const Parking__V1__Session *s, const char *f)
{
    for (size_t i = 0; i < s->n_absent_fields; i++)
        if (strcmp (s->absent_fields [i], f) == 0)
            return 1;
    return 0;
}

Test (apds, array_of_sessions)
{
    got_t g [8];
    size_t n = read_good ("apds.json", g, 8, 2);
    Parking__V1__Session *s = g [0].s;
    cr_assert_str_eq (s->id, "S-2026-11-28-0001");
    cr_assert_str_eq (s->licence_plate, "AB123C");
    cr_assert_str_eq (s->subject, "NL-CIT-000101");
    cr_assert_str_eq (s->place_reference, "P-GARAGE-STATION");
    cr_assert_str_eq (s->district, "Centrum");
    cr_assert_eq (s->actual_start, T0800 + 300);
    cr_assert_eq (s->actual_end, 1795858500);
    cr_assert_float_eq (s->amount, 3.5, 1e-9, "payment and validation lines");
    cr_assert_str_eq (s->currency, "EUR");
    cr_assert_eq (s->n_absent_fields, 0);
    cr_assert_eq (s->n_segments, 2);
    cr_assert_str_eq (s->segments [0]->id, "1");
    cr_assert_eq (s->segments [0]->valid_from, T0800 + 300);
    cr_assert_eq (s->segments [0]->valid_to, T0800 + 3600);
    cr_assert_str_eq (s->segments [0]->rate_reference, "DAY");
    cr_assert_str_eq (s->segments [1]->rate_reference, "PEAK");
    cr_assert_eq (g [0].recno, 1);
    cr_assert_eq (g [0].raw [0], '{');
    cr_assert_eq (g [0].raw [strlen (g [0].raw) - 1], '}');

    s = g [1].s;
    cr_assert_eq (g [1].recno, 2);
    cr_assert_str_eq (s->licence_plate, "XZ99KL");
    cr_assert_str_eq (s->subject, "NL-CIT-000102");
    cr_assert_str_eq (s->district, "", "P-UNKNOWN is not in the place registry");
    cr_assert_eq (s->actual_end, 0, "still parked");
    cr_assert_str_eq (s->currency, "");
    cr_assert (absent (s, "amount") && absent (s, "currency"), "no financialTransactions: amount unknown, not 0");
    cr_assert_eq (s->n_segments, 1);
    release (g, n);
}

Test (apds, json_lines_and_session_list_pages)
{
    got_t g [8];
    size_t n = read_good ("apds.jsonl", g, 8, 2);
    cr_assert_str_eq (g [0].s->id, "S-3");
    cr_assert_float_eq (g [0].s->amount, 1.2, 1e-9, "a MonetaryValue");
    cr_assert_eq (g [0].s->actual_end, T0800 + 4.5 * 3600);
    cr_assert_str_eq (g [1].s->id, "S-4", "the session inside a SessionList page");
    cr_assert_eq (g [1].recno, 2);
    cr_assert_str_eq (g [1].raw, "", "a page's session read well has no raw bytes to keep");
    cr_assert_eq (strncmp (g [0].raw, "{\"id\":\"S-3\",", 11), 0);
    release (g, n);

    const char *one = "  {\"id\":\"S-5\",\"identifiedCredentials\":[{\"type\":\"licensePlate\",\"identifier\":{\"id\":\"ab 123 c\"}}],\"actualStart\":\"2026-11-28T08:00:00Z\"}  ";
    sl_apds_reader_t *r = sl_apds_reader_new (one, strlen (one), "one.json");
    Parking__V1__Session *s = NULL;
    const char *raw;
    size_t rawlen, recno;
    char err [512];
    cr_assert_eq (sl_apds_reader_next (r, plates, NULL, &s, &raw, &rawlen, &recno, err, sizeof err), 1, "%s", err);
    cr_assert_str_eq (s->subject, "NL-CIT-000101");
    cr_assert_str_eq (s->district, "");
    parking__v1__session__free_unpacked (s, NULL);
    cr_assert_eq (sl_apds_reader_next (r, plates, NULL, &s, &raw, &rawlen, &recno, err, sizeof err), 0);
    sl_apds_reader_destroy (&r);
}

Test (apds, every_bad_record_has_its_reason)
{
    static const struct { int rc; const char *err; } want [] = {
        { SL_EPARSE, "apds-bad.jsonl:2:2: record 1: invalid JSON" },
        { SL_ENOTFOUND, "apds-bad.jsonl:2: record 2: licence plate 'ZZ999Z' is not in the plate registry\na visitor's plate" },
        { SL_EPARSE, "apds-bad.jsonl:3: record 3: member 'identifiedCredentials': no licence plate credential (type licensePlate or vehicleplate; found ticket)" },
        { SL_EPARSE, "apds-bad.jsonl:4: record 4: member 'actualStart': expected 4-digit year" },
        { SL_EPARSE, "apds-bad.jsonl:5: record 5: member 'actualEnd': before actualStart" },
        { SL_EPARSE, "apds-bad.jsonl:6: record 6: member 'id': missing or not a non-empty string" },
        { SL_EPARSE, "apds-bad.jsonl:7: record 7: member 'financialTransactions[0].paymentLines[1].value': currency USD differs from EUR" },
        { SL_EPARSE, "apds-bad.jsonl:8:1: record 8: expected '{' to start a Session object" },
        { SL_EPARSE, "apds-bad.jsonl:9: record 9: member 'segments[0].actualStart': expected 4-digit year" },
        { SL_EPARSE, "apds-bad.jsonl:10: record 10: member 'identifiedCredentials[0].identifier': expected a Reference" },
        { SL_EPARSE, "apds-bad.jsonl:11: record 11: member 'actualStart': a date-time without a zone (APDS date-times carry one)\ngive --timezone ZONE" },
        { 1, "" },
    };
    got_t g [16];
    size_t n = read_all ("apds-bad.jsonl", g, 16);
    cr_assert_eq (n, sizeof want / sizeof want [0]);
    for (size_t i = 0; i < n; i++) {
        cr_expect_eq (g [i].rc, want [i].rc, "record %zu: rc %d", i + 1, g [i].rc);
        cr_expect_eq (strncmp (g [i].err, want [i].err, strlen (want [i].err)), 0,
                      "record %zu: got \"%s\", want \"%s...\"", i + 1, g [i].err, want [i].err);
        cr_expect_eq (g [i].recno, i + 1);
        cr_expect (g [i].rc == 1 ? g [i].s != NULL : g [i].s == NULL);
    }
    /* the raw bytes of a syntax error are its line, for the quarantine */
    cr_assert_eq (strncmp (g [0].raw, "{\"id\":\"B-1\"", 11), 0);
    cr_assert_eq (g [0].raw [strlen (g [0].raw) - 1], '\n');
    cr_assert_str_eq (g [7].raw, "not json at all\n");
    cr_assert_str_eq (g [11].s->id, "OK-12");
    release (g, n);
}

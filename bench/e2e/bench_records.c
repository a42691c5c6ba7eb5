/*  bench_records — fixed-size bureau records (see bench_records.h). */
#include "bench_records.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/v1/health.pb-c.h"
#include "parking/v1/parking.pb-c.h"
#include "power/v1/power.pb-c.h"
#include "water/v1/water.pb-c.h"

const bench_type_t bench_types[BENCH_N_TYPES] = {
    { "water.v1.MeterReading", "water" },
    { "power.v1.MeterReading", "power" },
    { "health.v1.Encounter", "health" },
    { "parking.v1.Session", "parking" },
};

/*  Packs record k of the type with a padding text of `pad` characters into
 *  buf (>= 1024 bytes); returns the packed size. */
static size_t
s_pack (int type, int seed, size_t k, const char *subject, size_t pad, uint8_t *buf)
{
    char id[64], dev[32], text[900];
    memset (text, 'x', pad);
    text[pad] = 0;
    snprintf (id, sizeof id, "M-%d-%06zu:1781519862", seed, k);
    snprintf (dev, sizeof dev, "M-%d-%06zu", seed, k);
    int64_t t = 1781519862 + (int64_t) k * 60;
    switch (type) {
    case 0: {
        Water__V1__MeterReading m = WATER__V1__METER_READING__INIT;
        m.id = id; m.ref_device = dev; m.subject = (char *) subject; m.district = "Kallio";
        m.date_observed = t; m.water_consumption_m3 = 1234.5 + (double) k;
        m.max_flow_m3h = 1.25; m.min_flow_m3h = 0.01; m.meter_name = text;
        return water__v1__meter_reading__pack (&m, buf);
    }
    case 1: {
        Power__V1__MeterReading m = POWER__V1__METER_READING__INIT;
        m.id = id; m.ref_device = dev; m.subject = (char *) subject; m.district = "Kallio";
        m.date_observed = t; m.active_energy_import_t1_kwh = 5321.25 + (double) k;
        m.active_energy_import_t2_kwh = 2011.5; m.active_energy_import_kwh = 7332.75;
        m.active_power_kw = 1.75; m.tariff = text;
        return power__v1__meter_reading__pack (&m, buf);
    }
    case 2: {
        Health__V1__Encounter m = HEALTH__V1__ENCOUNTER__INIT;
        m.id = id; m.subject = (char *) subject; m.status = "finished"; m.class_code = "AMB";
        m.period_start = t; m.period_end = t + 3600; m.service_provider = "CITY-HOSPITAL";
        m.discharge_disposition = "home"; m.trigger_event = "A03"; m.location = text;
        return health__v1__encounter__pack (&m, buf);
    }
    default: {
        Parking__V1__Session m = PARKING__V1__SESSION__INIT;
        m.id = id; m.subject = (char *) subject; m.licence_plate = "ABC-123";
        m.district = "Kallio"; m.actual_start = t; m.actual_end = t + 5400;
        m.amount = 4.5; m.currency = "EUR"; m.place_reference = text;
        return parking__v1__session__pack (&m, buf);
    }
    }
}

int
bench_bodies_make (bench_bodies_t *out, const bench_type_t *type, int seed, size_t n,
                   size_t size)
{
    memset (out, 0, sizeof *out);
    int t = (int) (type - bench_types);
    out->body = calloc (n, sizeof *out->body);
    out->size = calloc (n, sizeof *out->size);
    out->subjects = calloc (n, sizeof *out->subjects);
    if (!out->body || !out->size || !out->subjects)
        return -1;
    out->n = n;
    uint8_t buf[1024];
    for (size_t k = 0; k < n; k++) {
        char subject[32];
        snprintf (subject, sizeof subject, "C-%d%06zu", seed, k);
        /* the padding text's own length prefix grows at 128: search upward */
        size_t got = 0, pad = 0;
        for (pad = 0; pad < 800; pad++) {
            got = s_pack (t, seed, k, subject, pad, buf);
            if (got >= size)
                break;
        }
        if (got != size) {
            fprintf (stderr, "bench: cannot make a %zu-byte %s (got %zu)\n", size,
                     type->record_type, got);
            return -1;
        }
        out->body[k] = malloc (got);
        out->subjects[k] = strdup (subject);
        if (!out->body[k] || !out->subjects[k])
            return -1;
        memcpy (out->body[k], buf, got);
        out->size[k] = got;
    }
    return 0;
}

void
bench_bodies_free (bench_bodies_t *b)
{
    for (size_t k = 0; k < b->n; k++) {
        if (b->body)
            free (b->body[k]);
        if (b->subjects)
            free (b->subjects[k]);
    }
    free (b->body);
    free (b->size);
    free (b->subjects);
    memset (b, 0, sizeof *b);
}

/*  libFuzzer target: wmbusmeters lines (JSON and CSV), and the registry
 *  parser on the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include "fuzz_registries.h"
#include "sl_wmbus.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static sl_lookup_t *meters;
    static sl_tz_t *tz;
    char err [512];
    if (!meters) {
        meters = fuzz_registry (FUZZ_WATER_METERS, 0);
        tz = sl_tz_load ("Europe/Amsterdam", err, sizeof err);
    }
    /* the first byte picks the options: header-less columns, zone, separator */
    sl_wmbus_opts_t opts = { .tz = size && (data [0] & 1) ? tz : NULL,
                             .csv_fields = size && (data [0] & 2) ? "name,id,total_m3,target_m3,current_status,timestamp" : NULL,
                             .separator = size && (data [0] & 4) ? ',' : 0 };
    sl_wmbus_t *p = sl_wmbus_new (&opts, err, sizeof err);
    const char *buf = (const char *) data;
    size_t pos = 0, lineno = 0;
    while (pos < size) {
        const char *eol = memchr (buf + pos, '\n', size - pos);
        size_t ll = eol ? (size_t) (eol - buf) - pos : size - pos;
        Water__V1__MeterReading *r = NULL;
        if (sl_wmbus_parse_line (p, buf + pos, ll, "fuzz", ++lineno, meters, &r, err, sizeof err) == 0)
            water__v1__meter_reading__free_unpacked (r, NULL);
        pos += ll + 1;
    }
    sl_wmbus_destroy (&p);
    sl_lookup_t *reg = sl_lookup_parse (buf, size, "fuzz", size & 1, err, sizeof err);
    if (reg) {
        sl_lookup_get (reg, buf, size < 16 ? size : 16, 1);
        sl_lookup_destroy (&reg);
    }
    return 0;
}

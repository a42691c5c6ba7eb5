/*  libFuzzer target: the DSMR stream reader (fed in chunks whose size the
 *  first byte picks) and the telegram parser on what it hands out. */
#include <stdint.h>
#include <stdlib.h>
#include "fuzz_registries.h"
#include "sl_dsmr.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static sl_lookup_t *meters;
    if (!meters)
        meters = fuzz_registry (FUZZ_POWER_METERS, 0);
    if (size == 0)
        return 0;
    size_t chunk = (size_t) data [0] % 64 + 1;
    sl_dsmr_opts_t opts = SL_DSMR_OPTS_DEFAULT;
    opts.require_crc = data [0] & 1;
    data++, size--;
    sl_dsmr_reader_t *r = sl_dsmr_reader_new (2048);
    size_t n = 0;
    for (size_t off = 0; off <= size; off += chunk) {
        size_t take = off + chunk <= size ? chunk : size - off;
        sl_dsmr_reader_feed (r, data + off, take);
        int eof = off + take >= size;
        const char *tg;
        size_t tl, line;
        int rc;
        while ((rc = sl_dsmr_reader_next (r, eof, &tg, &tl, &line)) != 0) {
            n++;
            if (rc != 1)
                continue;
            /* parse a private copy, so reads past tl are caught by ASan */
            char *copy = malloc (tl ? tl : 1);
            memcpy (copy, tg, tl);
            Power__V1__MeterReading *m = NULL;
            char err [256];
            if (sl_dsmr_parse (copy, tl, "fuzz", n, line, &opts, meters, &m, err, sizeof err) == 0)
                power__v1__meter_reading__free_unpacked (m, NULL);
            free (copy);
        }
        if (eof)
            break;
    }
    sl_dsmr_reader_destroy (&r);
    return 0;
}

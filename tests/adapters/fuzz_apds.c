/*  libFuzzer target: the APDS Session reader over arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include "fuzz_registries.h"
#include "sl_apds.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static sl_lookup_t *plates, *places;
    if (!plates) {
        plates = fuzz_registry (FUZZ_PLATES, SL_LOOKUP_PLATE);
        places = fuzz_registry (FUZZ_PLACES, 0);
    }
    sl_apds_reader_t *r = sl_apds_reader_new ((const char *) data, size, "fuzz");
    int rc;
    do {
        Parking__V1__Session *s = NULL;
        const char *raw;
        size_t rawlen, recno;
        char err [256];
        rc = sl_apds_reader_next (r, plates, places, &s, &raw, &rawlen, &recno, err, sizeof err);
        if (rc == 1)
            parking__v1__session__free_unpacked (s, NULL);
    } while (rc != 0);
    sl_apds_reader_destroy (&r);
    return 0;
}

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
    static sl_registry_t *meters;
    if (!meters)
        meters = fuzz_registry (FUZZ_WATER_METERS, 0);
    const char *buf = (const char *) data;
    size_t pos = 0, lineno = 0;
    while (pos < size) {
        const char *eol = memchr (buf + pos, '\n', size - pos);
        size_t ll = eol ? (size_t) (eol - buf) - pos : size - pos;
        Water__V1__MeterReading *r = NULL;
        char err [256];
        if (sl_wmbus_parse_line (buf + pos, ll, "fuzz", ++lineno, meters, &r, err, sizeof err) == 0)
            water__v1__meter_reading__free_unpacked (r, NULL);
        pos += ll + 1;
    }
    char err [256];
    sl_registry_t *reg = sl_registry_parse (buf, size, "fuzz", size & 1, err, sizeof err);
    if (reg) {
        sl_registry_get (reg, buf, size < 16 ? size : 16, 1);
        sl_registry_destroy (&reg);
    }
    return 0;
}

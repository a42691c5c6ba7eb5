/*  libFuzzer target: the MLLP decoder fed in chunks (size from the first
 *  byte), with each frame mapped as HL7. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sl_mllp.h"
#include "sl_adt.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t chunk = (size_t) data [0] % 32 + 1;
    data++, size--;
    sl_mllp_decoder_t *d = sl_mllp_decoder_new (512);
    size_t n = 0;
    for (size_t off = 0; off <= size; off += chunk) {
        size_t take = off + chunk <= size ? chunk : size - off;
        sl_mllp_decoder_feed (d, data + off, take);
        int eof = off + take >= size;
        const char *msg;
        size_t ml;
        int rc;
        while ((rc = sl_mllp_decoder_next (d, eof, &msg, &ml)) != 0) {
            if (rc != 1)
                continue;
            char *copy = malloc (ml ? ml : 1);
            memcpy (copy, msg, ml);
            sl_adt_result_t res;
            char err [512];
            sl_adt_map (copy, ml, "fuzz", ++n, NULL, &res, err, sizeof err);
            sl_adt_result_clear (&res);
            free (copy);
        }
        if (eof)
            break;
    }
    sl_mllp_decoder_destroy (&d);
    return 0;
}

/*  libFuzzer target: HL7 file splitting, ADT/DFT mapping and the ACK
 *  builder on every message found. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sl_hl7.h"
#include "sl_mllp.h"
#include "sl_adt.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    sl_hl7_split_t st = SL_HL7_SPLIT_INIT;
    const char *msg;
    size_t mlen, line, n = 0;
    while (sl_hl7_split ((const char *) data, size, &st, &msg, &mlen, &line)) {
        char *copy = malloc (mlen ? mlen : 1);
        memcpy (copy, msg, mlen);
        sl_adt_result_t res;
        char err [512];
        int rc = sl_adt_map (copy, mlen, "fuzz", ++n, NULL, &res, err, sizeof err);
        sl_adt_result_clear (&res);
        char *ack;
        size_t alen;
        if (sl_hl7_ack (copy, mlen, rc ? "AE" : "AA", rc ? err : NULL, 1795852800, &ack, &alen) == 0)
            free (ack);
        free (copy);
    }
    return 0;
}

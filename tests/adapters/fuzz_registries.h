/*  Registries built into the fuzz targets, so a target needs no files. */
#ifndef FUZZ_REGISTRIES_H
#define FUZZ_REGISTRIES_H

#include <string.h>
#include "sl_lookup.h"

static sl_lookup_t *
fuzz_registry (const char *text, int flags)
{
    char err [256];
    return sl_lookup_parse (text, strlen (text), "fuzz", flags, err, sizeof err);
}

#define FUZZ_WATER_METERS "meter_id,citizen_id,district\n76348799,NL-CIT-000101,Centrum\n76348800,NL-CIT-000102,Noord\n"
#define FUZZ_POWER_METERS "meter_id;citizen_id;district\nE0004001594754414;NL-CIT-000101;Centrum\nE0004001594754415;NL-CIT-000102;Noord\n"
#define FUZZ_PLATES "plate,citizen_id\nAB123C,NL-CIT-000101\nXZ99KL,NL-CIT-000102\n"
#define FUZZ_PLACES "place_id,name,district\nP-GARAGE-STATION,Station garage,Centrum\n"

#endif

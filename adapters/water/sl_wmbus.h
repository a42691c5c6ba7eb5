/*  sl_wmbus — water meter readings as wmbusmeters writes them.
 *
 *  wmbusmeters prints one reading per line, either as JSON
 *
 *    {"media":"water","meter":"multical21","name":"Flat 12","id":"76348799",
 *     "total_m3":6.408,"max_flow_m3h":0.02,"timestamp":"2026-11-28T08:00:00Z"}
 *
 *  or, with --format=csv, as ';'-separated fields
 *
 *    name;id;total_m3;max_flow_m3h;timestamp          (optional header line)
 *    Flat 12;76348799;6.408;0.02;2026-11-28 08:00:00
 *
 *  A timestamp without a zone is taken as UTC (wmbusmeters' --addconversions
 *  and our deployments run meters' collectors on UTC). Each reading is joined
 *  with the meter registry (columns: meter_id, citizen_id, district) to find
 *  the account holder, and becomes a water.v1.MeterReading named after
 *  FIWARE WaterConsumptionObserved. JSON members used besides the above:
 *  "min_flow_m3h" (optional) and "current_status" (alarmInProgress is true
 *  when it is present and neither empty nor "OK").
 *
 *  The parser is pure: a line in, a record or an error out.
 */
#ifndef SL_WMBUS_H
#define SL_WMBUS_H

#include <stddef.h>
#include "sl_registry.h"
#include "water/v1/water.pb-c.h"

/*  Parses one line (len bytes, without its newline; need not be
 *  NUL-terminated) of wmbusmeters output, JSON or CSV, chosen by its first
 *  non-blank character ('{' or '[' means JSON). `source` and `lineno` name the
 *  line in errors. `meters` is the meter registry (borrowed).
 *
 *  Returns 0 and a new record in *out, which the caller frees with
 *  water__v1__meter_reading__free_unpacked (*out, NULL); 1 if the line holds
 *  no reading (blank, '#' comment, CSV header), *out untouched; or a negative
 *  code with the reason in err, formatted "<source>:<line>:<col>: <reason>":
 *  SL_EPARSE (malformed), SL_ENOTFOUND (meter id not in the registry),
 *  SL_ENOMEM. Never reads outside line[0..len). */
int sl_wmbus_parse_line (const char *line, size_t len, const char *source,
                         size_t lineno, const sl_registry_t *meters,
                         Water__V1__MeterReading **out, char *err, size_t errlen);

#endif

/*  sl_wmbus — water meter readings as wmbusmeters prints them.
 *
 *  wmbusmeters prints one reading per line, as JSON (--format=json)
 *
 *    {"_":"telegram","media":"cold water","meter":"multical21","name":"Flat 12",
 *     "id":"76348799","total_m3":6.408,"target_m3":6.408,"current_status":"DRY",
 *     "status":"DRY","timestamp":"2026-11-28T08:00:00Z"}
 *
 *  or as separated fields (--format=fields, ';' unless --separator), whose
 *  columns are those of its --selectfields list (or the driver's default
 *  list) and which wmbusmeters writes without a header:
 *
 *    name;id;total_m3;target_m3;timestamp                 (header, if any)
 *    Flat 12;76348799;6.408;6.391;2026-11-28 09:00:00
 *
 *  --format=hr lines (tab-separated, " m3" / " m3/h" after the numbers)
 *  are read the same way with separator '\t'.
 *
 *  Columns are found by name, never by position alone: from a header line
 *  in the file (a line whose fields include "id" and only field names), or
 *  from the --csv-fields list the operator gives (the same list as
 *  wmbusmeters' selectfields). A fields line with neither is refused with
 *  that advice.
 *
 *  Media: every water medium wmbusmeters prints ("water", "cold water",
 *  "warm water", "hot water", "hot/cold water", "waste water") is accepted
 *  and kept in the record; any other ("heat", "electricity") is refused.
 *
 *  Alarms: "status", "current_status" and "current_alarms" are each an
 *  alarm unless empty, "OK" or "no_alarm"; alarm_in_progress is true when
 *  any is, `alarms` holds their distinct texts joined with ' '. When the
 *  reading has none of the three, alarm_in_progress is false and
 *  "alarm_in_progress" is listed in absent_fields.
 *
 *  Time: JSON "timestamp" and "timestamp_utc" are UTC (they end in 'Z');
 *  "timestamp_ut" is Unix seconds; CSV "timestamp" and "timestamp_lt" are
 *  the collector's local time without a zone and are converted with the
 *  configured IANA zone (--timezone); without one such a reading is refused
 *  with that advice, never read as UTC.
 *
 *  Each reading is joined with the meter registry (columns: meter_id,
 *  citizen_id, district) and becomes a water.v1.MeterReading (FIWARE
 *  WaterConsumptionObserved names). Optional values the reading lacks
 *  (target_m3, max_flow_m3h, min_flow_m3h, meter_name, media) are zero/empty
 *  and listed in absent_fields. The field table is docs/ADAPTERS.md 6.1.
 */
#ifndef SL_WMBUS_H
#define SL_WMBUS_H

#include <stddef.h>
#include "sl_lookup.h"
#include "sl_time.h"
#include "sl_explain.h"
#include "water/v1/water.pb-c.h"

typedef struct {
    const sl_tz_t *tz;          /* zone of zone-less times, or NULL */
    const char *csv_fields;     /* column names of header-less fields lines, ',' separated, or NULL */
    char separator;             /* fields separator, 0 for ';' */
    sl_explain_t *explain;      /* where to note the mapping, or NULL */
} sl_wmbus_opts_t;

typedef struct _sl_wmbus_t sl_wmbus_t;

/*  A parser with options `opts` (copied; tz and explain are borrowed), or
 *  NULL with the reason in err (an unknown name in csv_fields is not an
 *  error: the column is ignored, as any other the adapter does not read). */
sl_wmbus_t *sl_wmbus_new (const sl_wmbus_opts_t *opts, char *err, size_t errlen);

/*  Frees; sets *self_p to NULL. Harmless on NULL. */
void sl_wmbus_destroy (sl_wmbus_t **self_p);

/*  Sets (or with NULL clears) the sink for --explain notes. */
void sl_wmbus_set_explain (sl_wmbus_t *self, sl_explain_t *explain);

/*  A new source begins: forgets the header line of the last one. */
void sl_wmbus_reset (sl_wmbus_t *self);

/*  Parses one line (len bytes, without its newline; need not be
 *  NUL-terminated) of wmbusmeters output, JSON or fields, chosen by its
 *  first non-blank character ('{' means JSON). `source` and `lineno` name
 *  the line in errors. `meters` is the meter registry (borrowed).
 *
 *  Returns 0 and a new record in *out, which the caller frees with
 *  water__v1__meter_reading__free_unpacked (*out, NULL); 1 if the line holds
 *  no reading (blank, '#' comment, header line), *out untouched; or a
 *  negative code with the reason in err, formatted
 *  "<source>:<line>:<col>: <reason>", followed, when some option or mapping
 *  would have accepted the line, by '\n' and that advice:
 *  SL_EPARSE (malformed), SL_ENOTFOUND (meter id not in the registry),
 *  SL_ENOMEM. Never reads outside line[0..len). */
int sl_wmbus_parse_line (sl_wmbus_t *self, const char *line, size_t len, const char *source,
                         size_t lineno, const sl_lookup_t *meters,
                         Water__V1__MeterReading **out, char *err, size_t errlen);

/*  True if `media` (as wmbusmeters prints it) is a water medium. */
int sl_wmbus_is_water_media (const char *media);

#endif

/*  sl_dsmr — electricity meter telegrams: DSMR P1 / IEC 62056-21.
 *
 *  A smart meter's P1 port writes a telegram every few seconds:
 *
 *    /ISK5\2M550T-1012                       header: '/', maker, baud, model
 *                                            (blank line)
 *    0-0:96.1.1(4530303034303031353934373534343134)   equipment id, hex
 *    0-0:1.0.0(261128080000W)                time YYMMDDhhmmss + DST flag
 *    1-0:1.8.1(001234.567*kWh)               import, tariff 1
 *    1-0:1.8.2(000987.654*kWh)               import, tariff 2
 *    1-0:2.8.1(000000.000*kWh)               export, tariff 1 (optional)
 *    1-0:2.8.2(000000.000*kWh)               export, tariff 2 (optional)
 *    0-0:96.14.0(0002)                       current tariff (optional)
 *    1-0:1.7.0(01.193*kW)                    power drawn now (optional)
 *    !E1D3                                   end, CRC-16 (DSMR 4 and 5)
 *
 *  Versions and profiles read: DSMR 2.2, 3.0 (no time register, no CRC),
 *  4.x, 5.0, Belgium's e-MUCS (Fluvius), Luxembourg's Smarty (values in Wh
 *  and W), and the national profiles that put the meter id elsewhere or send
 *  only totals (Ireland, Hungary, Sweden), as docs/ADAPTERS.md 6.2 tabulates.
 *
 *  Design notes:
 *  1. CRC. DSMR 4/5 telegrams end in "!" and four hex digits: the
 *     CRC-16/ARC (poly 0x8005 reflected, init 0) of every byte from '/'
 *     through '!'. Some meters drop leading zeros ("!B9F"); one to four
 *     digits are read as the number they write. Older meters send "!" alone;
 *     the CRC is then not checked unless the caller demands it (require_crc).
 *  2. Time. The meter's clock is local time, and the 13th character says
 *     which offset applies: 'W' (winter) or 'S' (summer). With an IANA zone
 *     (tz) the time is converted with the zone's rules and the flag picks the
 *     hour that occurs twice; without one, with two fixed offsets, by default
 *     +01:00 and +02:00. A telegram with no time register (DSMR 2.2 and 3.0,
 *     some national meters) takes the reception time given by the caller, and
 *     the record says so: time_source "reception" (else "meter").
 *  3. Meter id. The first of 0-0:96.1.1 (DSMR, e-MUCS), 0-0:96.1.0
 *     (Ireland, Hungary, Sweden), 0-0:42.0.0 (Luxembourg, Hungary: the COSEM
 *     logical device name) and 0-0:96.1.255 that is present and not empty;
 *     hex-encoded ASCII is decoded when it decodes to printable ASCII, and
 *     kept as written otherwise. A telegram with none takes the configured
 *     meter_id (one P1 reader on one meter) or is refused. The id is the key
 *     into the meter registry (columns: meter_id, citizen_id, district).
 *  4. Energy. Import: 1-0:1.8.1 and 1-0:1.8.2 (tariffs), or the single
 *     total 1-0:1.8.0; active_energy_import_kwh is 1-0:1.8.0 when sent, else
 *     the sum of the tariffs. Export likewise from 1-0:2.8.x; a meter that
 *     sends none has export listed in absent_fields. Units: kWh and Wh
 *     (divided by 1000); power kW and W. A register in any other unit, or
 *     without a unit, is refused.
 *  5. OBIS codes may carry a "*255" billing suffix (1-0:1.8.0*255); it is
 *     ignored. Unknown registers (gas, voltages, failure logs) are ignored;
 *     a line that is not "<obis>(value)..." is an error.
 *
 *  The reader splits a byte stream (serial port, TCP, file) into telegrams;
 *  the parser turns one telegram into a power.v1.MeterReading (FIWARE
 *  ACMeasurement names). Both are pure and never read outside their input.
 */
#ifndef SL_DSMR_H
#define SL_DSMR_H

#include <stddef.h>
#include <stdint.h>
#include "sl_lookup.h"
#include "sl_time.h"
#include "sl_explain.h"
#include "power/v1/power.pb-c.h"

typedef struct {
    int32_t winter_offset_s;   /* local time = UTC + this when flag is 'W' */
    int32_t summer_offset_s;   /* ... when flag is 'S' */
    int require_crc;           /* reject telegrams without a CRC */
    const sl_tz_t *tz;         /* meter clock's IANA zone; NULL: the two offsets */
    int64_t reception_time;    /* Unix time the telegram arrived, for telegrams without 0-0:1.0.0 */
    const char *meter_id;      /* id for telegrams without an id register, or NULL */
    sl_explain_t *explain;     /* where to note the mapping, or NULL */
} sl_dsmr_opts_t;

/*  Default options: +3600 / +7200 s, CRC checked where present. */
#define SL_DSMR_OPTS_DEFAULT { 3600, 7200, 0, NULL, 0, NULL, NULL }

/*  CRC-16/ARC of data[0..len). Cannot fail. */
uint16_t sl_dsmr_crc16 (const void *data, size_t len);

/*  Parses one telegram tg[0..len), from '/' through the CRC (as the reader
 *  returns it). `source` names the input, `tgno` is the telegram's 1-based
 *  number in it and `line` the line its '/' is on, for errors formatted
 *  "<source>:<line>: telegram <n>: <reason>" with the line of the fault.
 *  opts may be NULL for the defaults; `meters` is borrowed.
 *  Returns 0 and a new record in *out (free with
 *  power__v1__meter_reading__free_unpacked (*out, NULL)), or SL_EPARSE,
 *  SL_ECORRUPT (CRC mismatch, with both CRCs in err), SL_ENOTFOUND (meter
 *  not in the registry) or SL_ENOMEM. */
int sl_dsmr_parse (const char *tg, size_t len, const char *source, size_t tgno,
                   size_t line, const sl_dsmr_opts_t *opts,
                   const sl_lookup_t *meters, Power__V1__MeterReading **out,
                   char *err, size_t errlen);

/*  The stream reader. Bytes go in with _feed, telegrams come out of _next. */
typedef struct _sl_dsmr_reader_t sl_dsmr_reader_t;

/*  A reader that rejects telegrams longer than max_telegram bytes (0 means
 *  the default, 16 KiB). NULL on out of memory. */
sl_dsmr_reader_t *sl_dsmr_reader_new (size_t max_telegram);

/*  Frees the reader; sets *self_p to NULL. Harmless on NULL. */
void sl_dsmr_reader_destroy (sl_dsmr_reader_t **self_p);

/*  Appends len bytes read from the stream. Returns 0 or SL_ENOMEM. */
int sl_dsmr_reader_feed (sl_dsmr_reader_t *self, const void *data, size_t len);

/*  Takes the next telegram out of what was fed. Set `eof` when no more
 *  bytes will come, so that a last telegram without a line end, or a cut-off
 *  one, is returned rather than waited for.
 *  Returns 1 with the telegram in *tg / *len, SL_EPARSE (a telegram cut off
 *  by the start of another or by the end of the stream) or SL_ETOOBIG (over
 *  max_telegram) with the offending bytes in *tg / *len, or 0 if more bytes
 *  are needed. *line is the 1-based line of the telegram's first byte.
 *  *tg points into the reader and is valid until the next _feed or _next.
 *  Bytes outside telegrams (noise on the line) are skipped and counted. */
int sl_dsmr_reader_next (sl_dsmr_reader_t *self, int eof, const char **tg,
                         size_t *len, size_t *line);

/*  Number of bytes skipped outside telegrams so far. Cannot fail. */
size_t sl_dsmr_reader_skipped (const sl_dsmr_reader_t *self);

#endif

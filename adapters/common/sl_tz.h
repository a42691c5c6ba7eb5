/*  sl_tz — local wall-clock times in an IANA time zone, turned into UTC.
 *
 *  Bureau systems often write times without a zone: wmbusmeters' CSV
 *  (the collector's local time), HL7 timestamps without +ZZZZ, DSMR's
 *  meter clock. An adapter given `--timezone Europe/Amsterdam` converts
 *  them with this module, which reads the zone from the system's tzdata
 *  (Debian package tzdata, $TZDIR or /usr/share/zoneinfo) through the C
 *  library, so daylight saving time follows the zone's real rules for that
 *  date. This is the one place in the adapters that does so.
 *
 *  Two wall-clock cases need a decision:
 *  - a time in the gap when clocks go forward (02:30 on the spring-forward
 *    night in Europe) does not exist: it is an error, never guessed;
 *  - a time in the overlap when clocks go back occurs twice: the caller may
 *    say which one it means (a DSMR S/W flag does); otherwise the earlier
 *    one (the daylight-saving one) is taken, and the record says so only
 *    through its zone rules — documented in docs/ADAPTERS.md.
 *
 *  The C library keeps one current zone per process; this module sets it
 *  (TZ) when a conversion needs another zone, so adapters, which are
 *  single-threaded, may hold several sl_tz_t. Not thread-safe.
 */
#ifndef SL_TZ_H
#define SL_TZ_H

#include <stddef.h>
#include <stdint.h>

typedef struct _sl_tz_t sl_tz_t;

/*  The zone named `name` ("Asia/Shanghai", "UTC"). Returns NULL with the
 *  reason in err if the name is not a zone in the installed tzdata (the C
 *  library would silently use UTC for an unknown name; we refuse) or on out
 *  of memory. */
sl_tz_t *sl_tz_new (const char *name, char *err, size_t errlen);

/*  Frees; sets *self_p to NULL. Harmless on NULL. */
void sl_tz_destroy (sl_tz_t **self_p);

/*  The zone's name as given. Cannot fail. */
const char *sl_tz_name (const sl_tz_t *self);

/*  Seconds east of UTC in force at Unix time `utc`, and (if is_dst is not
 *  NULL) whether that is daylight-saving time. Cannot fail. */
int32_t sl_tz_offset_at (const sl_tz_t *self, int64_t utc, int *is_dst);

/*  Converts a wall-clock time, given as the seconds sl_time_from_civil
 *  returns for it, to Unix time. `want_dst` picks the occurrence of a
 *  time that occurs twice: 1 the daylight-saving one, 0 the standard one,
 *  -1 the earlier one. Returns 0 and *out, or SL_EPARSE with a static
 *  reason in *why (may be NULL) when the time does not exist in the zone. */
int sl_tz_to_utc (const sl_tz_t *self, int64_t local, int want_dst, int64_t *out,
                  const char **why);

/*  Parses an ISO 8601 time like sl_time_parse_iso8601; a time without a
 *  zone designator is wall-clock time in `tz` (UTC when tz is NULL).
 *  Returns 0 or SL_EPARSE with *bad_at and *why as sl_time_parse_iso8601. */
int sl_tz_parse_iso8601 (const sl_tz_t *tz, const char *s, size_t len, int64_t *out,
                         size_t *bad_at, const char **why);

#endif

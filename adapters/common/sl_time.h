/*  sl_time — timestamp parsing shared by the bureau input parsers.
 *
 *  All records carry int64 Unix seconds UTC. Inputs write time in several
 *  ways (ISO 8601, HL7 DTM, DSMR YYMMDDhhmmssX); this module turns the
 *  calendar part into seconds without consulting the process time zone, so
 *  results do not depend on TZ or on the machine the adapter runs on.
 */
#ifndef SL_TIME_H
#define SL_TIME_H

#include <stddef.h>
#include <stdint.h>

/*  Seconds since the epoch for a proleptic Gregorian UTC date and time.
 *  Fields are not range-checked here; use sl_time_valid first. Cannot fail. */
int64_t sl_time_from_civil (int year, int month, int day,
                            int hour, int min, int sec);

/*  True if the fields name a real calendar date and time of day
 *  (sec may be 60 only for a leap second, which is folded into :59). */
int sl_time_valid (int year, int month, int day, int hour, int min, int sec);

/*  Parses ISO 8601 "YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm|-hh:mm|+hhmm]";
 *  a space may stand for 'T'. Without a zone the time is taken as UTC.
 *  `s` need not be NUL-terminated. Returns 0 and sets *out, or SL_EPARSE
 *  with the 0-based offset of the first bad character in *bad_at (if not
 *  NULL) and a short reason in *why (static string). */
int sl_time_parse_iso8601 (const char *s, size_t len, int64_t *out,
                           size_t *bad_at, const char **why);

/*  Like sl_time_parse_iso8601, but returns the parts: the wall-clock time
 *  as sl_time_from_civil seconds in *civil, whether a zone designator was
 *  written in *has_zone, and its offset east of UTC in *offset_s (0 when
 *  none). UTC = *civil - *offset_s when *has_zone. */
int sl_time_parse_iso8601_parts (const char *s, size_t len, int64_t *civil, int *has_zone,
                                 int32_t *offset_s, size_t *bad_at, const char **why);

#endif

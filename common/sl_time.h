/*  sl_time — the one place that reads and writes times: for people (RFC 3339
 *  with `Z` or an offset, a date alone, Unix seconds, relative times like
 *  `2h` or `yesterday`), for data (the ISO 8601 timestamps of the bureau
 *  formats, with the byte offset of an error; RFC 3339 for the JSON mapping),
 *  and IANA time zones read from tzdata (TZif files) without touching the
 *  process's TZ, so that a time written without a zone means the city's (or
 *  the source's) wall clock.
 *
 *  Design note:
 *  1. Instants are Unix microseconds (int64) in UTC. A zone only changes how
 *     a zone-less text is read and how an instant is printed.
 *  2. A zone is a TZif file (RFC 8536, versions 1–4) from $TZDIR or
 *     /usr/share/zoneinfo, with its POSIX TZ footer for instants after the
 *     last transition (Debian's tzdata is "slim": recent rules live only in
 *     the footer). "UTC" needs no file.
 *  3. Calendar checks are strict: 2026-02-30, month 13, hour 24 and second
 *     60 are errors, not normalized into another day.
 *  4. A local time that a clock change skips (spring forward) is read with
 *     the offset before the change (so 02:30 on that day is 03:30 after it);
 *     one that happens twice (fall back) is read as the first of the two.
 *  5. One scanner reads every written date and time:
 *     YYYY-MM-DD[(T|t| )hh:mm[:ss[(.|,)digits]]][Z|z|(+|-)hh[:]mm], an
 *     offset at most 14:59. sl_time_parse (people) also takes a date alone,
 *     Unix seconds and relative times, and refuses second 60;
 *     sl_time_parse_iso8601 (data) needs the time of day, years 1900-9999,
 *     and reads a leap second :60 as :59 (meters write them);
 *     sl_time_parse_rfc3339 (proto3 JSON) needs seconds and a zone, takes
 *     nanoseconds and reads :60 as :59 too.
 *  6. A zone-less data time in a zone (sl_tz_to_utc) that a clock change
 *     skips is an error there, never guessed; one that happens twice is
 *     the caller's choice (a DSMR S/W flag) or the earlier.
 */
#ifndef SL_COMMON_TIME_H
#define SL_COMMON_TIME_H

#include <stddef.h>
#include <stdint.h>

typedef struct sl_tz_s sl_tz_t;

/*  Loads IANA zone `name` ("Europe/Berlin", "Asia/Shanghai", "UTC"). The
 *  name must be a relative path of letters, digits, '_', '-', '+' and '/'
 *  without "..". Returns the zone, or NULL with a sentence in err: unknown
 *  zone (no such tzdata file), unreadable or malformed file. */
sl_tz_t *sl_tz_load (const char *name, char *err, size_t errlen);

/*  Frees it; sets *self_p NULL. Safe on NULL. */
void sl_tz_destroy (sl_tz_t **self_p);

/*  The zone's name as loaded. Cannot fail. */
const char *sl_tz_name (const sl_tz_t *self);

/*  Seconds east of UTC in force at Unix second `t` (0 for a NULL zone).
 *  Cannot fail. */
int32_t sl_tz_offset (const sl_tz_t *self, int64_t t);

/*  The same, and in *is_dst (may be NULL) whether tzdata calls that
 *  daylight-saving time. Cannot fail. */
int32_t sl_tz_offset_dst (const sl_tz_t *self, int64_t t, int *is_dst);

/*  The Unix second at which the zone's wall clock shows `local`, strictly:
 *  SL_EPARSE with a static reason in *why (may be NULL) when the clocks
 *  skip that time; for a time shown twice `want_dst` picks: 1 the
 *  daylight-saving one, 0 the standard one, -1 the earlier. NULL zone =
 *  UTC. Returns 0 and *out. */
int sl_tz_to_utc (const sl_tz_t *self, int64_t local, int want_dst, int64_t *out,
                  const char **why);

/*  The Unix second at which the wall clock of the zone shows `local`
 *  (seconds since 1970-01-01T00:00 of that wall clock); NULL zone = UTC.
 *  Gaps and repeats as in the design note. Cannot fail. */
int64_t sl_tz_from_local (const sl_tz_t *self, int64_t local);

/*  What sl_time_parse found. */
enum {
    SL_TIME_DATE_ONLY = 1,   /* "2026-12-31": midnight of that day */
    SL_TIME_EXPLICIT  = 2,   /* the text carried Z, an offset, or was Unix seconds */
    SL_TIME_RELATIVE  = 4,   /* "2h", "yesterday", "now", ... */
};

/*  Parses a time written by a person into Unix microseconds:
 *    2026-12-31                      midnight, in `zone`
 *    2026-12-31T08:30[:15[.123456]]  in `zone` ('T' or one space)
 *    ...Z, ...+08:00, ...-0500       at that offset
 *    1796428800[.5]                  Unix seconds
 *    now, today, yesterday           `now`; midnight today / yesterday in `zone`
 *    30s, 15m, 2h, 3d, 1w            that long before `now`
 *  `zone` NULL means UTC; `now_us` is the reference for relative times.
 *  Returns 0 (flags, may be NULL, gets SL_TIME_* bits), or -1 with a
 *  sentence in err saying what was wrong ("2026-02-30: February 2026 has 28
 *  days"). */
int sl_time_parse (const char *text, const sl_tz_t *zone, int64_t now_us, int64_t *out_us,
                   int *flags, char *err, size_t errlen);

/*  Parses an ISO 8601 data timestamp (design note 5) from s[0..len) (need
 *  not be NUL-terminated): "YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm|-hhmm]".
 *  Without a zone the time is UTC. Returns 0 and *out (Unix seconds), or
 *  SL_EPARSE with the 0-based offset of the first bad character in *bad_at
 *  and a short static reason in *why (both may be NULL). */
int sl_time_parse_iso8601 (const char *s, size_t len, int64_t *out, size_t *bad_at,
                           const char **why);

/*  A fixed UTC offset as written after a time: "+01:00" or "+0100" (hours
 *  at most 14, two digits each), into seconds east of UTC. Returns 0 or
 *  SL_EPARSE. */
int sl_time_parse_offset (const char *text, int32_t *out);

/*  Parses an RFC 3339 date-time as the proto3 JSON mapping writes it
 *  (NUL-terminated): "YYYY-MM-DDThh:mm:ss[.f](Z|+hh:mm|-hh:mm)" — seconds and
 *  a zone required, the offset with its colon, up to nine fraction digits
 *  (more only as zeros), years 0001-9999, a leap second :60 read as :59.
 *  Returns 0 with *t (Unix seconds) and *nanos (may be NULL: then a
 *  non-zero fraction is refused), or SL_EPARSE. */
int sl_time_parse_rfc3339 (const char *s, int64_t *t, int32_t *nanos);

/*  The same, a time without a zone being wall-clock time in `tz` (NULL:
 *  UTC), strictly as sl_tz_to_utc (a skipped time: SL_EPARSE, *bad_at 0). */
int sl_tz_parse_iso8601 (const sl_tz_t *tz, const char *s, size_t len, int64_t *out,
                         size_t *bad_at, const char **why);

/*  Like sl_time_parse_iso8601 but returns the parts: the wall-clock time
 *  as sl_time_from_civil seconds in *civil, whether a zone was written in
 *  *has_zone, and its offset east of UTC in *offset_s (0 when none). */
int sl_time_parse_iso8601_parts (const char *s, size_t len, int64_t *civil, int *has_zone,
                                 int32_t *offset_s, size_t *bad_at, const char **why);

/*  Seconds since the epoch of a proleptic Gregorian date and time of day
 *  read as UTC. Fields are not checked (sl_time_valid). Cannot fail. */
int64_t sl_time_from_civil (int year, int month, int day, int hour, int min, int sec);

/*  True if the fields are a real date of 1900-9999 and a time of day (sec
 *  60 allowed: a leap second). Cannot fail. */
int sl_time_valid (int year, int month, int day, int hour, int min, int sec);

/*  Checks a calendar date: 1 <= month <= 12, 1 <= day <= days of that
 *  month (Gregorian leap years). Returns 1 if valid. Cannot fail. */
int sl_time_valid_date (int year, int month, int day);

/*  Days since 1970-01-01 of a (valid) civil date, and back. Cannot fail. */
int64_t sl_time_days_from_civil (int64_t y, unsigned m, unsigned d);
void    sl_time_civil_from_days (int64_t z, int64_t *y, unsigned *m, unsigned *d);

/*  The city's zone (broker config `timezone`, sluicectl --timezone or
 *  SLUICE_TIMEZONE): what a zone-less time means in policy `valid` windows
 *  and in the filters and `--at` of the admin plane. Process-wide, set once
 *  at start-up before any parsing (not thread-safe); the module takes
 *  ownership of `zone` (NULL: UTC again; the previous zone is freed).
 *  Cannot fail. */
void sl_time_set_city_zone (sl_tz_t *zone);

/*  The city's zone, or NULL (UTC). Borrowed for the process. Cannot fail. */
const sl_tz_t *sl_time_city_zone (void);

/*  Writes `us` as RFC 3339 in `zone` (NULL: UTC, with 'Z'), seconds
 *  precision: "2026-12-31T23:59:59+08:00". Returns the length needed, as
 *  snprintf. Cannot fail. */
int sl_time_format (int64_t us, const sl_tz_t *zone, char *buf, size_t cap);

/*  The same with six digits of microseconds: "2026-12-31T23:59:59.000250Z"
 *  (the audit log's time form). Cannot fail. */
int sl_time_format_us (int64_t us, const sl_tz_t *zone, char *buf, size_t cap);

/*  The styles of sl_time_format_as, OR-ed. */
enum {
    SL_TIME_FMT_US      = 1,    /* ".ffffff" after the seconds */
    SL_TIME_FMT_SPACE   = 2,    /* ' ' between date and time, not 'T' (tables) */
    SL_TIME_FMT_NO_ZONE = 4,    /* no Z or offset (a column headed "UTC") */
    SL_TIME_FMT_DATE    = 8,    /* the date alone: "2026-12-31" */
};

/*  The one printer: `us` in `zone` (NULL: UTC) in RFC 3339 as
 *  sl_time_format, changed by `style` (SL_TIME_FMT_*). Returns the length
 *  needed, as snprintf. Cannot fail. */
int sl_time_format_as (int64_t us, const sl_tz_t *zone, int style, char *buf, size_t cap);

#endif

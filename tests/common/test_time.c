/*  sl_time: every written form, strict calendar checks, relative times and
 *  IANA zones from tzdata (Debian's tzdata package; TZif with POSIX footer). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"

#include "sl_time.h"

/* 2026-12-05T12:00:00Z */
#define NOW_US (1796472000LL * 1000000)

static int64_t
parse (const char *text, const sl_tz_t *z, int *flags)
{
    int64_t us = 0;
    char err[300] = "";
    int rc = sl_time_parse (text, z, NOW_US, &us, flags, err, sizeof err);
    cr_assert_eq (rc, 0, "%s: %s", text, err);
    return us;
}

static void
refused (const char *text, const char *want)
{
    int64_t us = 0;
    char err[300] = "";
    cr_expect_eq (sl_time_parse (text, NULL, NOW_US, &us, NULL, err, sizeof err), -1, "%s", text);
    cr_expect_str_eq (err, want);
}

Test (time, utc_forms)
{
    int fl;
    cr_expect_eq (parse ("2026-12-31", NULL, &fl), 1798675200LL * 1000000);
    cr_expect_eq (fl, SL_TIME_DATE_ONLY);
    cr_expect_eq (parse ("2026-12-31T08:30", NULL, &fl), (1798675200LL + 8 * 3600 + 1800) * 1000000);
    cr_expect_eq (fl, 0);
    cr_expect_eq (parse ("2026-12-31 08:30:15.25Z", NULL, &fl),
                  (1798675200LL + 8 * 3600 + 1815) * 1000000 + 250000);
    cr_expect_eq (fl, SL_TIME_EXPLICIT);
    cr_expect_eq (parse ("2026-12-31T08:30:00+08:00", NULL, NULL), 1798675200LL * 1000000 + 1800000000LL);
    cr_expect_eq (parse ("2026-12-31T08:30:00-0130", NULL, NULL), (1798675200LL + 10 * 3600) * 1000000);
    cr_expect_eq (parse ("1796428800", NULL, &fl), 1796428800LL * 1000000);
    cr_expect_eq (fl, SL_TIME_EXPLICIT);
    cr_expect_eq (parse ("1796428800.5", NULL, NULL), 1796428800LL * 1000000 + 500000);
    cr_expect_eq (parse ("1969-12-31T23:59:59Z", NULL, NULL), -1000000);
}

Test (time, strict_calendar)
{
    refused ("2026-02-30", "'2026-02-30': February 2026 has 28 days");
    refused ("2028-02-30", "'2028-02-30': February 2028 has 29 days");
    refused ("2026-13-01", "'2026-13-01': month 13 does not exist");
    refused ("2026-04-31", "'2026-04-31': April 2026 has 30 days");
    refused ("2026-01-01T24:00", "'2026-01-01T24:00': 24:00:00 is not a time of day");
    refused ("2026-01-01T12:00:60Z", "'2026-01-01T12:00:60Z': 12:00:60 is not a time of day");
    refused ("21:43", "'21:43' is not a time: write YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (in UTC), "
             "with Z or an offset (+08:00), Unix seconds, or a relative time (2h, 3d, yesterday)");
    refused ("2026-01-01T12:00+25:00", "'2026-01-01T12:00+25:00' is not a time: write YYYY-MM-DD, "
             "YYYY-MM-DDTHH:MM[:SS] (in UTC), with Z or an offset (+08:00), Unix seconds, or a "
             "relative time (2h, 3d, yesterday)");
    cr_expect (sl_time_valid_date (2024, 2, 29));
    cr_expect (!sl_time_valid_date (2100, 2, 29));
    cr_expect (sl_time_valid_date (2000, 2, 29));
}

Test (time, relative)
{
    int fl;
    cr_expect_eq (parse ("2h", NULL, &fl), NOW_US - 7200LL * 1000000);
    cr_expect_eq (fl, SL_TIME_RELATIVE);
    cr_expect_eq (parse ("90m", NULL, NULL), NOW_US - 5400LL * 1000000);
    cr_expect_eq (parse ("3d", NULL, NULL), NOW_US - 3 * 86400LL * 1000000);
    cr_expect_eq (parse ("1w", NULL, NULL), NOW_US - 7 * 86400LL * 1000000);
    cr_expect_eq (parse ("now", NULL, NULL), NOW_US);
    cr_expect_eq (parse ("today", NULL, NULL), 1796428800LL * 1000000);
    cr_expect_eq (parse ("yesterday", NULL, &fl), (1796428800LL - 86400) * 1000000);
    cr_expect_eq (fl, SL_TIME_RELATIVE | SL_TIME_DATE_ONLY);
}

Test (time, zones_from_tzdata)
{
    char err[300];
    sl_tz_t *sh = sl_tz_load ("Asia/Shanghai", err, sizeof err);
    cr_assert_not_null (sh, "%s", err);
    /* the review's case: a window ending 2026-12-31 in Hangzhou ends at
     * local midnight, 16:00 UTC, not at 08:00 local on 1 January */
    cr_expect_eq (parse ("2026-12-31", sh, NULL), (1798675200LL - 8 * 3600) * 1000000);
    cr_expect_eq (parse ("2026-12-31T00:00Z", sh, NULL), 1798675200LL * 1000000);
    char buf[64];
    sl_time_format (1798675200LL * 1000000, sh, buf, sizeof buf);
    cr_expect_str_eq (buf, "2026-12-31T08:00:00+08:00");
    sl_time_format (1798675200LL * 1000000, NULL, buf, sizeof buf);
    cr_expect_str_eq (buf, "2026-12-31T00:00:00Z");
    /* yesterday at 12:00Z is local 20:00 of the 5th: midnight of the 4th local */
    cr_expect_eq (parse ("yesterday", sh, NULL), (1796428800LL - 86400 - 8 * 3600) * 1000000);
    sl_tz_destroy (&sh);
    cr_expect_null (sh);

    sl_tz_t *be = sl_tz_load ("Europe/Berlin", err, sizeof err);
    cr_assert_not_null (be, "%s", err);
    /* winter +01:00, summer +02:00, also in years past the file's table */
    cr_expect_eq (sl_tz_offset (be, 1798675200), 3600);
    cr_expect_eq (sl_tz_offset (be, 1782864000), 7200);            /* 2026-07-01 */
    cr_expect_eq (sl_tz_offset (be, 4102444800 + 182 * 86400), 7200); /* 2100-07-02 */
    /* 2026-03-29: 02:00 -> 03:00 (gap), 2026-10-25: 03:00 -> 02:00 (repeat) */
    cr_expect_eq (parse ("2026-03-29T01:59", be, NULL), (1774745940LL) * 1000000);
    cr_expect_eq (parse ("2026-03-29T02:30", be, NULL), (1774747800LL) * 1000000);  /* = 03:30 CEST */
    cr_expect_eq (parse ("2026-03-29T03:00", be, NULL), (1774746000LL) * 1000000);
    cr_expect_eq (parse ("2026-10-25T02:30", be, NULL), (1792888200LL) * 1000000);  /* first, CEST */
    sl_time_format (1792891800LL * 1000000, be, buf, sizeof buf);
    cr_expect_str_eq (buf, "2026-10-25T02:30:00+01:00");           /* the second 02:30 */
    sl_tz_destroy (&be);

    sl_tz_t *sy = sl_tz_load ("Australia/Sydney", err, sizeof err);  /* southern summer */
    cr_assert_not_null (sy, "%s", err);
    cr_expect_eq (sl_tz_offset (sy, 1798675200), 11 * 3600);
    cr_expect_eq (sl_tz_offset (sy, 1782864000), 10 * 3600);
    sl_tz_destroy (&sy);

    sl_tz_t *utc = sl_tz_load ("UTC", err, sizeof err);
    cr_assert_not_null (utc);
    cr_expect_eq (sl_tz_offset (utc, 1782864000), 0);
    sl_tz_destroy (&utc);

    cr_expect_null (sl_tz_load ("Europe/Atlantis", err, sizeof err));
    cr_expect (strstr (err, "unknown time zone 'Europe/Atlantis'"), "%s", err);
    cr_expect_null (sl_tz_load ("../etc/passwd", err, sizeof err));
    cr_expect_str_eq (err, "time zone '../etc/passwd': expected an IANA zone name such as Europe/Berlin");
}

/*  One scanner for people and data: the forms one copy took and the other
 *  refused before are read the same way by both now. */
Test (time, people_and_data_read_the_same_forms)
{
    int64_t t = 0;
    /* RFC 3339's lower-case t and z: the data parser refused them */
    cr_expect_eq (sl_time_parse_iso8601 ("2026-12-31t08:30:00z", 20, &t, NULL, NULL), 0);
    cr_expect_eq (t, 1798675200LL + 8 * 3600 + 1800);
    cr_expect_eq (parse ("2026-12-31t08:30:00z", NULL, NULL), (1798675200LL + 8 * 3600 + 1800) * 1000000);
    /* ISO 8601's decimal comma: the people parser refused it */
    cr_expect_eq (parse ("2026-12-31T08:30:15,25Z", NULL, NULL),
                  (1798675200LL + 8 * 3600 + 1815) * 1000000 + 250000);
    cr_expect_eq (sl_time_parse_iso8601 ("2026-12-31T08:30:15,25Z", 23, &t, NULL, NULL), 0);
    /* an offset no clock uses: the people parser took +15:00 .. +23:59 */
    refused ("2026-01-01T12:00+15:00", "'2026-01-01T12:00+15:00' is not a time: write YYYY-MM-DD, "
             "YYYY-MM-DDTHH:MM[:SS] (in UTC), with Z or an offset (+08:00), Unix seconds, or a "
             "relative time (2h, 3d, yesterday)");
    size_t at = 0;
    const char *why = NULL;
    cr_expect_eq (sl_time_parse_iso8601 ("2026-01-01T12:00+15:00", 22, &t, &at, &why), SL_EPARSE);
    cr_expect_str_eq (why, "zone offset out of range");
    cr_expect_eq (parse ("2026-01-01T12:00+14:00", NULL, NULL), (1767268800LL - 14 * 3600) * 1000000);
    /* what stays different, by contract: data takes a leap second, people not */
    cr_expect_eq (sl_time_parse_iso8601 ("2016-12-31T23:59:60Z", 20, &t, NULL, NULL), 0);
    cr_expect_eq (t, 1483228799);
    cr_expect_eq (sl_time_parse_iso8601 ("2026-12-31", 10, &t, &at, &why), SL_EPARSE);
    cr_expect_eq (at, 10);
}

/*  Zone-less data times: gaps refused, repeats chosen, and the process's TZ
 *  is never touched (the adapters' copy set TZ and called tzset). */
Test (time, strict_local_times_leave_tz_alone)
{
    setenv ("TZ", "America/New_York", 1);
    char err[300];
    sl_tz_t *ams = sl_tz_load ("Europe/Amsterdam", err, sizeof err);
    sl_tz_t *sh = sl_tz_load ("Asia/Shanghai", err, sizeof err);
    cr_assert (ams && sh, "%s", err);
    int64_t t;
    const char *why = NULL;
    cr_expect_eq (sl_tz_to_utc (ams, sl_time_from_civil (2026, 3, 29, 2, 30, 0), -1, &t, &why), SL_EPARSE);
    cr_expect (why && strstr (why, "clocks went forward"));
    int64_t fold = sl_time_from_civil (2026, 10, 25, 2, 30, 0);
    cr_expect_eq (sl_tz_to_utc (ams, fold, -1, &t, NULL), 0);
    cr_expect_eq (t, fold - 7200);                       /* the earlier, CEST */
    cr_expect_eq (sl_tz_to_utc (ams, fold, 0, &t, NULL), 0);
    cr_expect_eq (t, fold - 3600);                       /* standard time */
    cr_expect_eq (sl_tz_to_utc (ams, fold, 1, &t, NULL), 0);
    cr_expect_eq (t, fold - 7200);
    int dst = -1;
    cr_expect_eq (sl_tz_offset_dst (ams, fold - 7200, &dst), 7200);
    cr_expect_eq (dst, 1);
    cr_expect_eq (sl_tz_offset_dst (sh, fold, &dst), 8 * 3600);
    cr_expect_eq (dst, 0);
    cr_expect_eq (sl_tz_parse_iso8601 (sh, "2026-11-28 16:00:00", 19, &t, NULL, NULL), 0);
    cr_expect_eq (t, sl_time_from_civil (2026, 11, 28, 8, 0, 0));
    cr_expect_str_eq (getenv ("TZ"), "America/New_York");
    sl_tz_destroy (&ams);
    sl_tz_destroy (&sh);
}

/*  The audit log's time form: microseconds, before 1970 too. */
Test (time, format_with_microseconds)
{
    char buf[64];
    sl_time_format_us (1798675200LL * 1000000 + 250, NULL, buf, sizeof buf);
    cr_expect_str_eq (buf, "2026-12-31T00:00:00.000250Z");
    sl_time_format_us (-1, NULL, buf, sizeof buf);
    cr_expect_str_eq (buf, "1969-12-31T23:59:59.999999Z");
    sl_time_format (-1, NULL, buf, sizeof buf);
    cr_expect_str_eq (buf, "1969-12-31T23:59:59Z");
}

/*  The proto3 JSON profile of RFC 3339 (schemas/sl_json's timestamps) on the
 *  same scanner: seconds and a zone required, hh:mm offsets, nanoseconds. */
Test (time, rfc3339_for_json)
{
    int64_t t = 0;
    int32_t ns = -1;
    cr_expect_eq (sl_time_parse_rfc3339 ("2000-02-29T23:59:59.123456789-00:30", &t, &ns), 0);
    cr_expect_eq (t, 951868799 + 1800);
    cr_expect_eq (ns, 123456789);
    cr_expect_eq (sl_time_parse_rfc3339 ("2026-03-01t10:00:00.5000000000z", &t, &ns), 0);
    cr_expect_eq (ns, 500000000);
    cr_expect_eq (sl_time_parse_rfc3339 ("2016-12-31T23:59:60Z", &t, NULL), 0);
    cr_expect_eq (t, 1483228799);
    cr_expect_eq (sl_time_parse_rfc3339 ("0001-01-01T00:00:00Z", &t, NULL), 0);
    cr_expect_eq (t, -62135596800LL);
    static const char *const bad[] = {
        "2026-03-01T10:00Z",                 /* no seconds */
        "2026-03-01T10:00:00",               /* no zone */
        "2026-03-01T10:00:00+0100",          /* offset without its colon */
        "2026-03-01T10:00:00,5Z",            /* decimal comma */
        "2026-03-01T10:00:00.1234567891Z",   /* finer than nanoseconds */
        "2026-03-01T10:00:00.5Z",            /* a fraction where none is taken (NULL nanos) */
        "2026-02-29T10:00:00Z",
        "0000-01-01T00:00:00Z",
        "2026-03-01",
        "2026-03-01T10:00:00+20:00",         /* the JSON parser took offsets up to +23:59 */
        "2026-03-01T10:00:00Z ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq (sl_time_parse_rfc3339 (bad[i], &t, i == 5 ? NULL : &ns), SL_EPARSE, "%s", bad[i]);
}

/*  Fixed offsets of the adapters' options (--winter-offset, --default-offset):
 *  one reader. The power adapter took bare seconds ("3600") and both took a
 *  one-digit hour ("+1:00") through sscanf's %2d; the documented form is
 *  +HH:MM. */
Test (time, fixed_offsets)
{
    int32_t o = 0;
    cr_expect_eq (sl_time_parse_offset ("+01:00", &o), 0);
    cr_expect_eq (o, 3600);
    cr_expect_eq (sl_time_parse_offset ("-0530", &o), 0);
    cr_expect_eq (o, -(5 * 3600 + 1800));
    cr_expect_eq (sl_time_parse_offset ("+14:00", &o), 0);
    static const char *const bad[] = { "3600", "+1:00", "+15:00", "+01:60", "01:00", "+01:00x", "", "+" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq (sl_time_parse_offset (bad[i], &o), SL_EPARSE, "%s", bad[i]);
    cr_expect_eq (sl_time_parse_offset (NULL, &o), SL_EPARSE);
}

/*  The one printer's styles (the CLI's and the console's tables). */
Test (time, format_styles)
{
    char buf[64];
    int64_t us = 1798675200LL * 1000000 + 8 * 3600000000LL + 250;   /* 2026-12-31T08:00:00.000250Z */
    sl_time_format_as (us, NULL, SL_TIME_FMT_SPACE, buf, sizeof buf);
    cr_expect_str_eq (buf, "2026-12-31 08:00:00Z");
    sl_time_format_as (us, NULL, SL_TIME_FMT_SPACE | SL_TIME_FMT_NO_ZONE, buf, sizeof buf);
    cr_expect_str_eq (buf, "2026-12-31 08:00:00");
    sl_time_format_as (us, NULL, SL_TIME_FMT_DATE, buf, sizeof buf);
    cr_expect_str_eq (buf, "2026-12-31");
    sl_time_format_as (us, NULL, SL_TIME_FMT_US, buf, sizeof buf);
    cr_expect_str_eq (buf, "2026-12-31T08:00:00.000250Z");
}

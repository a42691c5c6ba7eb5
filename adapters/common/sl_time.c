/*  sl_time — see sl_time.h. */
#include "sl_time.h"
#include "sl_error.h"

int64_t
sl_time_from_civil (int year, int month, int day, int hour, int min, int sec)
{
    /* Howard Hinnant's days_from_civil. */
    int64_t y = (int64_t) year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = era * 146097 + doe - 719468;
    return days * 86400 + (int64_t) hour * 3600 + (int64_t) min * 60 + sec;
}

int
sl_time_valid (int year, int month, int day, int hour, int min, int sec)
{
    static const int mdays [12] = { 31,28,31,30,31,30,31,31,30,31,30,31 };
    if (year < 1900 || year > 9999 || month < 1 || month > 12 || day < 1)
        return 0;
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int dim = mdays [month - 1] + (month == 2 && leap);
    if (day > dim)
        return 0;
    return hour >= 0 && hour <= 23 && min >= 0 && min <= 59
        && sec >= 0 && sec <= 60;
}

/*  Reads exactly n decimal digits at s[*i]; returns -1 if any is missing. */
static int
s_digits (const char *s, size_t len, size_t *i, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || s [*i] < '0' || s [*i] > '9') {
            *i -= (size_t) k;           /* report the start of the number */
            return -1;
        }
        v = v * 10 + (s [*i] - '0');
        (*i)++;
    }
    return v;
}

#define FAIL(at, text) do { \
        if (bad_at) \
            *bad_at = (at); \
        if (why) \
            *why = (text); \
        return SL_EPARSE; \
    } while (0)

int
sl_time_parse_iso8601_parts (const char *s, size_t len, int64_t *civil, int *has_zone,
                             int32_t *offset_s, size_t *bad_at, const char **why)
{
    size_t i = 0;
    int Y, M, D, h, m, sec = 0;
    if ((Y = s_digits (s, len, &i, 4)) < 0) FAIL (i, "expected 4-digit year");
    if (i >= len || s [i] != '-') FAIL (i, "expected '-' after year");
    i++;
    if ((M = s_digits (s, len, &i, 2)) < 0) FAIL (i, "expected 2-digit month");
    if (i >= len || s [i] != '-') FAIL (i, "expected '-' after month");
    i++;
    if ((D = s_digits (s, len, &i, 2)) < 0) FAIL (i, "expected 2-digit day");
    if (i >= len || (s [i] != 'T' && s [i] != ' '))
        FAIL (i, "expected 'T' between date and time");
    i++;
    if ((h = s_digits (s, len, &i, 2)) < 0) FAIL (i, "expected 2-digit hour");
    if (i >= len || s [i] != ':') FAIL (i, "expected ':' after hour");
    i++;
    if ((m = s_digits (s, len, &i, 2)) < 0) FAIL (i, "expected 2-digit minute");
    if (i < len && s [i] == ':') {
        i++;
        if ((sec = s_digits (s, len, &i, 2)) < 0) FAIL (i, "expected 2-digit second");
        if (i < len && (s [i] == '.' || s [i] == ',')) {
            i++;
            size_t start = i;
            while (i < len && s [i] >= '0' && s [i] <= '9')
                i++;
            if (i == start) FAIL (i, "expected digits after decimal point");
        }
    }
    if (!sl_time_valid (Y, M, D, h, m, sec))
        FAIL (0, "no such date or time");
    int64_t offset = 0;
    *has_zone = 0;
    if (i < len && s [i] == 'Z') {
        i++;
        *has_zone = 1;
    }
    else
    if (i < len && (s [i] == '+' || s [i] == '-')) {
        int sign = s [i] == '-' ? -1 : 1;
        i++;
        int oh, om;
        if ((oh = s_digits (s, len, &i, 2)) < 0) FAIL (i, "expected 2-digit zone hour");
        if (i < len && s [i] == ':')
            i++;
        if ((om = s_digits (s, len, &i, 2)) < 0) FAIL (i, "expected 2-digit zone minute");
        if (oh > 14 || om > 59) FAIL (i - 2, "zone offset out of range");
        offset = sign * (oh * 3600 + om * 60);
        *has_zone = 1;
    }
    if (i != len) FAIL (i, "unexpected character after time");
    if (sec == 60)
        sec = 59;
    *civil = sl_time_from_civil (Y, M, D, h, m, sec);
    *offset_s = (int32_t) offset;
    return 0;
}

int
sl_time_parse_iso8601 (const char *s, size_t len, int64_t *out,
                       size_t *bad_at, const char **why)
{
    int64_t civil;
    int32_t offset;
    int has_zone;
    int rc = sl_time_parse_iso8601_parts (s, len, &civil, &has_zone, &offset, bad_at, why);
    if (rc == 0)
        *out = civil - offset;
    return rc;
}

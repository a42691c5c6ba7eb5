/*  sl_time — see sl_time.h (design note there). */
#include "sl_time.h"
#include "sl_error.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/*  Civil calendar (proleptic Gregorian), exact for any year                */

int64_t
sl_time_days_from_civil (int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned) (y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t) doe - 719468;
}

void
sl_time_civil_from_days (int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned) (z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t) yoe + era * 400 + (*m <= 2);
}

static bool
s_leap (int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
s_mdays (int64_t y, unsigned m)
{
    static const unsigned char n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && s_leap (y) ? 29 : n[m - 1];
}

int
sl_time_valid_date (int year, int month, int day)
{
    return month >= 1 && month <= 12 && day >= 1 && (unsigned) day <= s_mdays (year, (unsigned) month);
}

static int64_t
s_floor_div (int64_t a, int64_t b)
{
    return a / b - ((a % b) != 0 && ((a < 0) != (b < 0)));
}

/* ------------------------------------------------------------------------ */
/*  POSIX TZ rules (the TZif footer)                                         */

typedef struct {
    char kind;          /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' */
    int  a, b, c;       /* J/N: day; M: month, week, weekday */
    int32_t time;       /* seconds after local midnight (may be < 0 or > 24 h) */
} s_rule_t;

typedef struct {
    bool    ok, has_dst;
    int32_t std_off, dst_off;   /* seconds east of UTC */
    s_rule_t start, end;
} s_posix_t;

static const char *
s_posix_name (const char *p)
{
    if (*p == '<') {
        const char *q = strchr (p, '>');
        return q ? q + 1 : NULL;
    }
    const char *q = p;
    while (isalpha ((unsigned char) *q))
        q++;
    return q - p >= 3 ? q : NULL;
}

/*  [+-]hh[:mm[:ss]] -> seconds (POSIX sign: positive = west). */
static const char *
s_posix_hms (const char *p, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit ((unsigned char) *p))
        return NULL;
    int32_t v = 0, part = 0;
    for (int k = 0; k < 3; k++) {
        part = 0;
        if (!isdigit ((unsigned char) *p))
            return NULL;
        while (isdigit ((unsigned char) *p))
            part = part * 10 + (*p++ - '0');
        v += part * (k == 0 ? 3600 : k == 1 ? 60 : 1);
        if (*p != ':' || k == 2)
            break;
        p++;
    }
    *out = sign * v;
    return p;
}

static const char *
s_posix_rule (const char *p, s_rule_t *r)
{
    r->time = 7200;
    if (*p == 'M') {
        r->kind = 'M';
        if (sscanf (p + 1, "%d.%d.%d", &r->a, &r->b, &r->c) != 3 || r->a < 1 || r->a > 12
            || r->b < 1 || r->b > 5 || r->c < 0 || r->c > 6)
            return NULL;
        p++;
        while (isdigit ((unsigned char) *p) || *p == '.')
            p++;
    }
    else {
        r->kind = *p == 'J' ? 'J' : 'N';
        if (*p == 'J')
            p++;
        if (!isdigit ((unsigned char) *p))
            return NULL;
        r->a = 0;
        while (isdigit ((unsigned char) *p))
            r->a = r->a * 10 + (*p++ - '0');
    }
    if (*p == '/' && !(p = s_posix_hms (p + 1, &r->time)))
        return NULL;
    return p;
}

static void
s_posix_parse (const char *text, s_posix_t *z)
{
    memset (z, 0, sizeof *z);
    const char *p = s_posix_name (text);
    int32_t v;
    if (!p || !(p = s_posix_hms (p, &v)))
        return;
    z->std_off = -v;
    z->dst_off = z->std_off;
    if (*p) {
        const char *q = s_posix_name (p);
        if (!q)
            return;
        p = q;
        z->dst_off = z->std_off + 3600;
        if (*p && *p != ',') {
            if (!(p = s_posix_hms (p, &v)))
                return;
            z->dst_off = -v;
        }
        if (*p != ',' || !(p = s_posix_rule (p + 1, &z->start)) || *p != ','
            || !(p = s_posix_rule (p + 1, &z->end)))
            return;
        z->has_dst = true;
    }
    z->ok = *p == 0;
}

/*  Local midnight (as a day number) of the rule's date in year y. */
static int64_t
s_rule_day (const s_rule_t *r, int64_t y)
{
    int64_t jan1 = sl_time_days_from_civil (y, 1, 1);
    if (r->kind == 'J')
        return jan1 + r->a - 1 + (s_leap (y) && r->a >= 60);
    if (r->kind == 'N')
        return jan1 + r->a;
    int64_t first = sl_time_days_from_civil (y, (unsigned) r->a, 1);
    int wd = (int) (((first + 4) % 7 + 7) % 7);           /* 1970-01-01 was a Thursday */
    int64_t day = first + (r->c - wd + 7) % 7 + (int64_t) (r->b - 1) * 7;
    while (day >= first + s_mdays (y, (unsigned) r->a))
        day -= 7;
    return day;
}

static int32_t
s_posix_offset (const s_posix_t *z, int64_t t, int *is_dst)
{
    *is_dst = 0;
    if (!z->has_dst)
        return z->std_off;
    int64_t y;
    unsigned m, d;
    sl_time_civil_from_days (s_floor_div (t + z->std_off, 86400), &y, &m, &d);
    /* the transitions of that year, as UTC instants */
    int64_t s = s_rule_day (&z->start, y) * 86400 + z->start.time - z->std_off;
    int64_t e = s_rule_day (&z->end, y) * 86400 + z->end.time - z->dst_off;
    bool dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    *is_dst = dst;
    return dst ? z->dst_off : z->std_off;
}

/* ------------------------------------------------------------------------ */
/*  TZif                                                                     */

struct sl_tz_s {
    char     name[128];
    int64_t *trans;
    uint8_t *idx;
    size_t   n_trans;
    int32_t *utoff;
    uint8_t *isdst;
    size_t   n_types;
    s_posix_t footer;
};

static uint32_t
s_be32 (const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static int64_t
s_be64 (const uint8_t *p)
{
    return (int64_t) ((uint64_t) s_be32 (p) << 32 | s_be32 (p + 4));
}

static int
s_tzif (sl_tz_t *z, const uint8_t *d, size_t n)
{
    if (n < 44 || memcmp (d, "TZif", 4) != 0)
        return -1;
    int version = d[4] ? d[4] - '0' : 1;
    uint32_t c[6];
    for (int i = 0; i < 6; i++)
        c[i] = s_be32 (d + 20 + 4 * i);     /* isut, isstd, leap, time, type, char */
    size_t v1 = (size_t) c[3] * 5 + (size_t) c[4] * 6 + c[5] + (size_t) c[2] * 8 + c[1] + c[0];
    size_t tsize = 4, off = 44;
    if (version >= 2) {
        off = 44 + v1;
        if (n < off + 44 || memcmp (d + off, "TZif", 4) != 0)
            return -1;
        for (int i = 0; i < 6; i++)
            c[i] = s_be32 (d + off + 20 + 4 * i);
        off += 44;
        tsize = 8;
    }
    size_t need = (size_t) c[3] * (tsize + 1) + (size_t) c[4] * 6 + c[5]
                + (size_t) c[2] * (tsize + 4) + c[1] + c[0];
    if (c[4] == 0 || n < off + need)
        return -1;
    z->n_trans = c[3];
    z->n_types = c[4];
    z->trans = calloc (z->n_trans + 1, sizeof *z->trans);
    z->idx = calloc (z->n_trans + 1, 1);
    z->utoff = calloc (z->n_types, sizeof *z->utoff);
    z->isdst = calloc (z->n_types, 1);
    if (!z->trans || !z->idx || !z->utoff || !z->isdst)
        return -1;
    const uint8_t *p = d + off;
    for (size_t i = 0; i < z->n_trans; i++, p += tsize)
        z->trans[i] = tsize == 8 ? s_be64 (p) : (int32_t) s_be32 (p);
    for (size_t i = 0; i < z->n_trans; i++) {
        z->idx[i] = *p++;
        if (z->idx[i] >= z->n_types)
            return -1;
    }
    for (size_t i = 0; i < z->n_types; i++, p += 6) {
        z->utoff[i] = (int32_t) s_be32 (p);
        z->isdst[i] = p[4] != 0;
    }
    if (version >= 2) {
        const uint8_t *f = d + off + need;
        if (f < d + n && *f == '\n') {
            const uint8_t *e = memchr (f + 1, '\n', (size_t) (d + n - f - 1));
            if (e && e - f - 1 < 128) {
                char s[128];
                memcpy (s, f + 1, (size_t) (e - f - 1));
                s[e - f - 1] = 0;
                if (*s)
                    s_posix_parse (s, &z->footer);
            }
        }
    }
    return 0;
}

sl_tz_t *
sl_tz_load (const char *name, char *err, size_t errlen)
{
    size_t len = name ? strlen (name) : 0;
    if (!len || len >= 100 || name[0] == '/' || strstr (name, "..")
        || strspn (name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/") != len) {
        sl_err_set (err, errlen, "time zone '%s': expected an IANA zone name such as Europe/Berlin",
               name ? name : "");
        return NULL;
    }
    sl_tz_t *z = calloc (1, sizeof *z);
    if (!z) {
        sl_err_set (err, errlen, "out of memory");
        return NULL;
    }
    snprintf (z->name, sizeof z->name, "%s", name);
    if (!strcmp (name, "UTC") || !strcmp (name, "Etc/UTC")) {
        z->footer.ok = true;                 /* offset 0, no file needed */
        return z;
    }
    const char *dir = getenv ("TZDIR");
    char path[1200];
    snprintf (path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen (path, "rb");
    if (!f) {
        sl_err_set (err, errlen, "unknown time zone '%s': not in the installed tzdata (%s: %s; "
               "Debian package tzdata)", name, path, strerror (errno));
        sl_tz_destroy (&z);
        return NULL;
    }
    uint8_t *buf = malloc (1 << 20);
    size_t n = buf ? fread (buf, 1, 1 << 20, f) : 0;
    fclose (f);
    if (!buf || s_tzif (z, buf, n) != 0) {
        sl_err_set (err, errlen, "%s: not a TZif time zone file", path);
        free (buf);
        sl_tz_destroy (&z);
        return NULL;
    }
    free (buf);
    return z;
}

void
sl_tz_destroy (sl_tz_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->trans);
    free ((*self_p)->idx);
    free ((*self_p)->utoff);
    free ((*self_p)->isdst);
    free (*self_p);
    *self_p = NULL;
}

const char *
sl_tz_name (const sl_tz_t *self)
{
    return self ? self->name : "UTC";
}

int32_t
sl_tz_offset_dst (const sl_tz_t *z, int64_t t, int *is_dst)
{
    int scratch;
    if (!is_dst)
        is_dst = &scratch;
    *is_dst = 0;
    if (!z || !z->n_types)
        return z && z->footer.ok ? s_posix_offset (&z->footer, t, is_dst) : 0;
    if (z->n_trans == 0 && z->footer.ok)
        return s_posix_offset (&z->footer, t, is_dst);
    if (z->n_trans == 0 || t < z->trans[0]) {
        *is_dst = z->isdst[0];
        return z->utoff[0];
    }
    if (t >= z->trans[z->n_trans - 1] && z->footer.ok)
        return s_posix_offset (&z->footer, t, is_dst);
    size_t lo = 0, hi = z->n_trans - 1;        /* largest i with trans[i] <= t */
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    *is_dst = z->isdst[z->idx[lo]];
    return z->utoff[z->idx[lo]];
}

int32_t
sl_tz_offset (const sl_tz_t *z, int64_t t)
{
    return sl_tz_offset_dst (z, t, NULL);
}

int
sl_tz_to_utc (const sl_tz_t *z, int64_t local, int want_dst, int64_t *out, const char **why)
{
    /* The offsets in force a day either side bracket any one transition;
       each offset whose UTC instant really has that offset is a reading of
       the wall-clock time. */
    int32_t cand[2] = { sl_tz_offset (z, local - 86400), sl_tz_offset (z, local + 86400) };
    int64_t hit[2];
    int dst[2], n = 0;
    for (int i = 0; i < 2; i++) {
        if (i == 1 && cand[1] == cand[0])
            break;
        int64_t t = local - cand[i];
        int d;
        if (sl_tz_offset_dst (z, t, &d) == cand[i]) {
            hit[n] = t;
            dst[n++] = d;
        }
    }
    if (n == 0) {
        if (why)
            *why = "no such local time in the time zone (clocks went forward)";
        return SL_EPARSE;
    }
    int pick = n == 2 && hit[1] < hit[0];       /* the earlier by default */
    if (n == 2 && want_dst >= 0)
        for (int i = 0; i < 2; i++)
            if (dst[i] == (want_dst > 0))
                pick = i;
    *out = hit[pick];
    return 0;
}

int64_t
sl_tz_from_local (const sl_tz_t *z, int64_t local)
{
    int64_t t;
    if (sl_tz_to_utc (z, local, -1, &t, NULL) == 0)
        return t;                             /* also the first of a repeated hour */
    return local - sl_tz_offset (z, local - 86400);   /* a gap: the offset before */
}

/* ------------------------------------------------------------------------ */
/*  Parsing and printing                                                     */

/*  The parts of a written date and time, as written: the one scanner of
 *  YYYY-MM-DD[(T|t| )hh:mm[:ss[(.|,)digits]]][Z|z|(+|-)hh[:]mm] for both
 *  sl_time_parse (people) and sl_time_parse_iso8601 (data). It checks the
 *  form and the zone offset (at most 14:59, as real clocks); the calendar
 *  is the callers'. */
typedef struct {
    int y, mo, d, h, mi, s;
    int64_t frac_us;        /* fraction of the second, microseconds */
    int32_t frac_ns;        /* the same in nanoseconds (nine digits) */
    bool frac_finer;        /* non-zero digits past the ninth */
    bool has_time, has_sec, has_zone;
    bool frac_comma;        /* the fraction was written with ',' */
    bool off_colon;         /* the offset was written hh:mm */
    int32_t off;            /* seconds east of UTC, when has_zone */
    size_t at_time;         /* where the time of day starts */
} s_parts_t;

/*  Reads exactly n digits at s[*i]; -1 (and *i at the number's start) if not. */
static int
s_num (const char *s, size_t len, size_t *i, int n)
{
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || !isdigit ((unsigned char) s[*i])) {
            *i -= (size_t) k;
            return -1;
        }
        v = v * 10 + (s[(*i)++] - '0');
    }
    return v;
}

#define S_FAIL(pos, text) do { *at = (pos); *why = (text); return -1; } while (0)

/*  The offset at s[*i] ('+' or '-', hh, an optional ':', mm; at most
 *  14:59) into *off (seconds east) and *colon. Returns 0 with *i past it,
 *  or -1 with *i at the bad character and *why. */
static int
s_scan_offset (const char *s, size_t len, size_t *i, int32_t *off, bool *colon,
               const char **why)
{
    int sign = s[(*i)++] == '-' ? -1 : 1, oh, om;
    *colon = false;
    if ((oh = s_num (s, len, i, 2)) < 0) {
        *why = "expected 2-digit zone hour";
        return -1;
    }
    if (*i < len && s[*i] == ':') {
        (*i)++;
        *colon = true;
    }
    if ((om = s_num (s, len, i, 2)) < 0) {
        *why = "expected 2-digit zone minute";
        return -1;
    }
    if (oh > 14 || om > 59) {
        *i -= 2;
        *why = "zone offset out of range";
        return -1;
    }
    *off = sign * (oh * 3600 + om * 60);
    return 0;
}

/*  Scans s[0..len) up to the first character that is not part of a date
 *  and time; *at gets the length scanned. Returns 0, or -1 with *at the
 *  offset of the bad character and *why a static reason. */
static int
s_scan (const char *s, size_t len, s_parts_t *p, size_t *at, const char **why)
{
    size_t i = 0;
    memset (p, 0, sizeof *p);
    if ((p->y = s_num (s, len, &i, 4)) < 0) S_FAIL (i, "expected 4-digit year");
    if (i >= len || s[i] != '-') S_FAIL (i, "expected '-' after year");
    i++;
    if ((p->mo = s_num (s, len, &i, 2)) < 0) S_FAIL (i, "expected 2-digit month");
    if (i >= len || s[i] != '-') S_FAIL (i, "expected '-' after month");
    i++;
    if ((p->d = s_num (s, len, &i, 2)) < 0) S_FAIL (i, "expected 2-digit day");
    if (i == len) {
        *at = i;
        return 0;                         /* a date alone */
    }
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
        S_FAIL (i, "expected 'T' between date and time");
    p->at_time = ++i;
    p->has_time = true;
    if ((p->h = s_num (s, len, &i, 2)) < 0) S_FAIL (i, "expected 2-digit hour");
    if (i >= len || s[i] != ':') S_FAIL (i, "expected ':' after hour");
    i++;
    if ((p->mi = s_num (s, len, &i, 2)) < 0) S_FAIL (i, "expected 2-digit minute");
    if (i < len && s[i] == ':') {
        i++;
        if ((p->s = s_num (s, len, &i, 2)) < 0) S_FAIL (i, "expected 2-digit second");
        p->has_sec = true;
        if (i < len && (s[i] == '.' || s[i] == ',')) {
            p->frac_comma = s[i] == ',';
            size_t start = ++i;
            for (int32_t scale = 100000000; i < len && isdigit ((unsigned char) s[i]); i++) {
                p->frac_ns += (s[i] - '0') * scale;
                p->frac_finer |= scale == 0 && s[i] != '0';
                scale /= 10;
            }
            if (i == start) S_FAIL (i, "expected digits after decimal point");
            p->frac_us = p->frac_ns / 1000;
        }
    }
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
        p->has_zone = true;
    }
    else if (i < len && (s[i] == '+' || s[i] == '-')) {
        if (s_scan_offset (s, len, &i, &p->off, &p->off_colon, why) != 0) {
            *at = i;
            return -1;
        }
        p->has_zone = true;
    }
    *at = i;
    return 0;
}

static const char *const s_months[] = { "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December" };

int
sl_time_parse (const char *text, const sl_tz_t *zone, int64_t now_us, int64_t *out_us,
               int *flags, char *err, size_t errlen)
{
    const char *p = text ? text : "";
    size_t len = strlen (p);
    int64_t now_s = s_floor_div (now_us, 1000000);
    /* words */
    if (!strcmp (p, "now")) {
        *out_us = now_us;
        if (flags)
            *flags = SL_TIME_RELATIVE;
        return 0;
    }
    if (!strcmp (p, "today") || !strcmp (p, "yesterday")) {
        int64_t local_day = s_floor_div (now_s + sl_tz_offset (zone, now_s), 86400);
        if (p[0] == 'y')
            local_day--;
        *out_us = sl_tz_from_local (zone, local_day * 86400) * 1000000;
        if (flags)
            *flags = SL_TIME_RELATIVE | SL_TIME_DATE_ONLY;
        return 0;
    }
    /* relative: N{s,m,h,d,w} */
    if (len >= 2 && strchr ("smhdw", p[len - 1]) && strspn (p, "0123456789") == len - 1) {
        char *end;
        errno = 0;
        long long n = strtoll (p, &end, 10);
        static const int64_t unit[] = { 1, 60, 3600, 86400, 604800 };
        int64_t u = unit[strchr ("smhdw", p[len - 1]) - "smhdw"];
        if (errno || n > 1000000000LL / (u / 60 + 1)) {
            sl_err_set (err, errlen, "'%s': too far back", p);
            return -1;
        }
        *out_us = now_us - (int64_t) n * u * 1000000;
        if (flags)
            *flags = SL_TIME_RELATIVE;
        return 0;
    }
    /* Unix seconds */
    if (len && strspn (p, "0123456789.") == len && strchr (p, '.') == strrchr (p, '.')
        && isdigit ((unsigned char) p[0])) {
        double v = strtod (p, NULL);
        if (v > 1e11) {
            sl_err_set (err, errlen, "'%s': Unix seconds past the year 5000", p);
            return -1;
        }
        *out_us = (int64_t) (v * 1e6 + 0.5);
        if (flags)
            *flags = SL_TIME_EXPLICIT;
        return 0;
    }
    s_parts_t t;
    size_t at;
    const char *why;
    if (s_scan (p, len, &t, &at, &why) != 0 || at != len) {
        sl_err_set (err, errlen, "'%s' is not a time: write YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (in %s), "
               "with Z or an offset (+08:00), Unix seconds, or a relative time (2h, 3d, yesterday)",
               p, sl_tz_name (zone));
        return -1;
    }
    if (t.mo < 1 || t.mo > 12) {
        sl_err_set (err, errlen, "'%s': month %02d does not exist", p, t.mo);
        return -1;
    }
    if (!sl_time_valid_date (t.y, t.mo, t.d)) {
        sl_err_set (err, errlen, "'%s': %s %d has %u days", p, s_months[t.mo - 1], t.y,
               s_mdays (t.y, (unsigned) t.mo));
        return -1;
    }
    if (t.h > 23 || t.mi > 59 || t.s > 59) {
        sl_err_set (err, errlen, "'%s': %02d:%02d:%02d is not a time of day", p, t.h, t.mi, t.s);
        return -1;
    }
    int64_t local = sl_time_days_from_civil (t.y, (unsigned) t.mo, (unsigned) t.d) * 86400
                  + t.h * 3600 + t.mi * 60 + t.s;
    *out_us = (t.has_zone ? local - t.off : sl_tz_from_local (zone, local)) * 1000000 + t.frac_us;
    if (flags)
        *flags = (t.has_time ? 0 : SL_TIME_DATE_ONLY) | (t.has_zone ? SL_TIME_EXPLICIT : 0);
    return 0;
}

int64_t
sl_time_from_civil (int year, int month, int day, int hour, int min, int sec)
{
    return sl_time_days_from_civil (year, (unsigned) month, (unsigned) day) * 86400
         + (int64_t) hour * 3600 + (int64_t) min * 60 + sec;
}

int
sl_time_valid (int year, int month, int day, int hour, int min, int sec)
{
    return year >= 1900 && year <= 9999 && sl_time_valid_date (year, month, day)
        && hour >= 0 && hour <= 23 && min >= 0 && min <= 59 && sec >= 0 && sec <= 60;
}

int
sl_time_parse_iso8601_parts (const char *s, size_t len, int64_t *civil, int *has_zone,
                             int32_t *offset_s, size_t *bad_at, const char **why)
{
    s_parts_t t;
    size_t at = 0;
    const char *w = NULL;
    if (s_scan (s, len, &t, &at, &w) == 0) {
        if (!t.has_time)
            at = len, w = "expected 'T' between date and time";
        else if (!sl_time_valid (t.y, t.mo, t.d, t.h, t.mi, t.s))
            at = 0, w = "no such date or time";
        else if (at != len)
            w = "unexpected character after time";
    }
    if (w) {
        if (bad_at)
            *bad_at = at;
        if (why)
            *why = w;
        return SL_EPARSE;
    }
    *civil = sl_time_from_civil (t.y, t.mo, t.d, t.h, t.mi, t.s == 60 ? 59 : t.s);
    *has_zone = t.has_zone;
    *offset_s = t.off;
    return 0;
}

int
sl_time_parse_offset (const char *text, int32_t *out)
{
    size_t i = 0, len = text ? strlen (text) : 0;
    int32_t off;
    bool colon;
    const char *why;
    if (len < 5 || (text[0] != '+' && text[0] != '-')
        || s_scan_offset (text, len, &i, &off, &colon, &why) != 0 || i != len)
        return SL_EPARSE;
    *out = off;
    return 0;
}

int
sl_time_parse_rfc3339 (const char *s, int64_t *t, int32_t *nanos)
{
    s_parts_t p;
    size_t at;
    const char *why;
    size_t len = s ? strlen (s) : 0;
    if (!s || s_scan (s, len, &p, &at, &why) != 0 || at != len || !p.has_sec || !p.has_zone
        || p.frac_comma || p.frac_finer || (s[len - 1] != 'Z' && s[len - 1] != 'z' && !p.off_colon)
        || p.y < 1 || !sl_time_valid_date (p.y, p.mo, p.d) || p.h > 23 || p.mi > 59 || p.s > 60
        || (p.frac_ns && !nanos))
        return SL_EPARSE;
    *t = sl_time_from_civil (p.y, p.mo, p.d, p.h, p.mi, p.s == 60 ? 59 : p.s) - p.off;
    if (nanos)
        *nanos = p.frac_ns;
    return 0;
}

int
sl_time_parse_iso8601 (const char *s, size_t len, int64_t *out, size_t *bad_at, const char **why)
{
    return sl_tz_parse_iso8601 (NULL, s, len, out, bad_at, why);
}

int
sl_tz_parse_iso8601 (const sl_tz_t *tz, const char *s, size_t len, int64_t *out,
                     size_t *bad_at, const char **why)
{
    int64_t civil;
    int32_t offset;
    int has_zone;
    int rc = sl_time_parse_iso8601_parts (s, len, &civil, &has_zone, &offset, bad_at, why);
    if (rc)
        return rc;
    if (has_zone || !tz) {
        *out = civil - offset;
        return 0;
    }
    if (sl_tz_to_utc (tz, civil, -1, out, why)) {
        if (bad_at)
            *bad_at = 0;
        return SL_EPARSE;
    }
    return 0;
}

int
sl_time_format_as (int64_t us, const sl_tz_t *zone, int style, char *buf, size_t cap)
{
    int64_t t = s_floor_div (us, 1000000);
    int32_t off = zone ? sl_tz_offset (zone, t) : 0;
    int64_t local = t + off, y;
    unsigned m, d;
    int64_t day = s_floor_div (local, 86400), sec = local - day * 86400;
    sl_time_civil_from_days (day, &y, &m, &d);
    if (style & SL_TIME_FMT_DATE)
        return snprintf (buf, cap, "%04lld-%02u-%02u", (long long) y, m, d);
    char z[16] = "", frac[8] = "";
    if (style & SL_TIME_FMT_NO_ZONE)
        ;
    else if (!zone)
        snprintf (z, sizeof z, "Z");
    else
        snprintf (z, sizeof z, "%c%02d:%02d", off < 0 ? '-' : '+', abs (off) / 3600,
                  abs (off) % 3600 / 60);
    if (style & SL_TIME_FMT_US)
        snprintf (frac, sizeof frac, ".%06d", (int) (us - t * 1000000));
    return snprintf (buf, cap, "%04lld-%02u-%02u%c%02d:%02d:%02d%s%s", (long long) y, m, d,
                     style & SL_TIME_FMT_SPACE ? ' ' : 'T', (int) (sec / 3600),
                     (int) (sec % 3600 / 60), (int) (sec % 60), frac, z);
}

int
sl_time_format (int64_t us, const sl_tz_t *zone, char *buf, size_t cap)
{
    return sl_time_format_as (us, zone, 0, buf, cap);
}

int
sl_time_format_us (int64_t us, const sl_tz_t *zone, char *buf, size_t cap)
{
    return sl_time_format_as (us, zone, SL_TIME_FMT_US, buf, cap);
}

static sl_tz_t *s_city;

void
sl_time_set_city_zone (sl_tz_t *zone)
{
    sl_tz_destroy (&s_city);
    s_city = zone;
}

const sl_tz_t *
sl_time_city_zone (void)
{
    return s_city;
}

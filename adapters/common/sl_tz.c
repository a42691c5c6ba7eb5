/*  sl_tz — see sl_tz.h. */
#define _DEFAULT_SOURCE
#include "sl_tz.h"
#include "sl_error.h"
#include "sl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct _sl_tz_t {
    char *name;
};

/*  The zone the C library currently uses, as set by s_use. */
static char s_current [128];

static void
s_use (const sl_tz_t *self)
{
    if (strcmp (s_current, self->name) == 0)
        return;
    setenv ("TZ", self->name, 1);
    tzset ();
    snprintf (s_current, sizeof s_current, "%s", self->name);
}

sl_tz_t *
sl_tz_new (const char *name, char *err, size_t errlen)
{
    if (!name || !*name || strlen (name) >= sizeof s_current || strstr (name, "..")
     || name [0] == '/' || name [0] == ':') {
        snprintf (err, errlen, "time zone '%s': expected an IANA zone name such as Europe/Amsterdam",
                  name ? name : "");
        return NULL;
    }
    const char *dir = getenv ("TZDIR");
    char path [512];
    snprintf (path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    FILE *f = fopen (path, "rb");
    char magic [4] = { 0 };
    int ok = f && fread (magic, 1, 4, f) == 4 && memcmp (magic, "TZif", 4) == 0;
    if (f)
        fclose (f);
    if (!ok) {
        snprintf (err, errlen, "time zone '%s': not in the installed tzdata (%s); "
                  "expected an IANA zone name such as Europe/Amsterdam (package tzdata)", name, path);
        return NULL;
    }
    sl_tz_t *self = calloc (1, sizeof *self);
    if (!self || !(self->name = strdup (name))) {
        free (self);
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    return self;
}

void
sl_tz_destroy (sl_tz_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->name);
    free (*self_p);
    *self_p = NULL;
}

const char *
sl_tz_name (const sl_tz_t *self)
{
    return self->name;
}

int32_t
sl_tz_offset_at (const sl_tz_t *self, int64_t utc, int *is_dst)
{
    s_use (self);
    time_t t = (time_t) utc;
    struct tm tm;
    if (!localtime_r (&t, &tm)) {
        if (is_dst)
            *is_dst = 0;
        return 0;
    }
    if (is_dst)
        *is_dst = tm.tm_isdst > 0;
    return (int32_t) tm.tm_gmtoff;
}

int
sl_tz_to_utc (const sl_tz_t *self, int64_t local, int want_dst, int64_t *out,
              const char **why)
{
    /* The offsets in force a day either side bracket any one transition;
       each offset whose UTC instant really has that offset is a reading of
       the wall-clock time. */
    int32_t cand [2] = { sl_tz_offset_at (self, local - 86400, NULL),
                         sl_tz_offset_at (self, local + 86400, NULL) };
    int64_t hit [2];
    int dst [2], n = 0;
    for (int i = 0; i < 2; i++) {
        if (i == 1 && cand [1] == cand [0])
            break;
        int64_t t = local - cand [i];
        int d;
        if (sl_tz_offset_at (self, t, &d) == cand [i]) {
            hit [n] = t;
            dst [n] = d;
            n++;
        }
    }
    if (n == 0) {
        if (why)
            *why = "no such local time in the time zone (clocks went forward)";
        return SL_EPARSE;
    }
    int pick = 0;
    if (n == 2) {
        if (hit [1] < hit [0])
            pick = 1;                   /* the earlier by default */
        if (want_dst >= 0)
            for (int i = 0; i < 2; i++)
                if (dst [i] == (want_dst > 0))
                    pick = i;
    }
    *out = hit [pick];
    return 0;
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

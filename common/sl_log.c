#include "sl_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int s_level = -1;

static const char *s_names[] = { "debug", "info", "warn", "error" };

static void
s_init_level (void)
{
    const char *env = getenv ("SLUICE_LOG");
    s_level = SL_LOG_INFO;
    for (int i = 0; env && i < 4; i++)
        if (strcasecmp (env, s_names[i]) == 0)
            s_level = i;
}

void
sl_log_set_level (sl_log_level_t level)
{
    s_level = (int) level;
}

void
sl_log (sl_log_level_t level, const char *event, const char *fmt, ...)
{
    if (s_level < 0)
        s_init_level ();
    if ((int) level < s_level)
        return;

    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime (CLOCK_REALTIME, &ts);
    gmtime_r (&ts.tv_sec, &tm);
    int n = snprintf (line, sizeof line,
                      "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                      tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                      s_names[level], event);
    if (fmt && n > 0 && (size_t) n < sizeof line - 2) {
        line[n++] = ' ';
        va_list ap;
        va_start (ap, fmt);
        int m = vsnprintf (line + n, sizeof line - (size_t) n, fmt, ap);
        va_end (ap);
        if (m > 0)
            n += m;
    }
    if (n < 0)
        return;
    if ((size_t) n > sizeof line - 2)
        n = (int) sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write (STDERR_FILENO, line, (size_t) n);
    (void) w;
}

const char *
sl_log_quote (const char *s, char *buf, unsigned size)
{
    if (size == 0)
        return buf;
    if (!s)
        s = "";
    int needs = *s == '\0';
    for (const char *p = s; *p && !needs; p++)
        if (*p == ' ' || *p == '=' || *p == '"' || *p == '\\' || (unsigned char) *p < 0x20)
            needs = 1;
    if (!needs) {
        snprintf (buf, size, "%s", s);
        return buf;
    }
    unsigned o = 0;
    if (o + 1 < size)
        buf[o++] = '"';
    for (const char *p = s; *p && o + 3 < size; p++) {
        unsigned char c = (unsigned char) *p;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char) c;
        }
        else if (c < 0x20)
            buf[o++] = '?';
        else
            buf[o++] = (char) c;
    }
    if (o + 1 < size)
        buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

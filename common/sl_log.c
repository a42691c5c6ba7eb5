#include "sl_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int s_level = -1;
static int s_format = SL_LOG_LOGFMT;

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
sl_log_set_format (sl_log_format_t format)
{
    s_format = (int) format;
}

int
sl_log_open_file (const char *path)
{
    int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return -1;
    if (fd != STDERR_FILENO) {
        if (dup2 (fd, STDERR_FILENO) < 0) {
            int e = errno;
            close (fd);
            errno = e;
            return -1;
        }
        close (fd);
    }
    return 0;
}

/*  Appends `s` (n bytes) as a JSON string body (no quotes) to out at *o. */
static void
s_json_str (char *out, size_t size, size_t *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n && *o + 7 < size; i++) {
        unsigned char c = (unsigned char) s[i];
        if (c == '"' || c == '\\') {
            out[(*o)++] = '\\';
            out[(*o)++] = (char) c;
        }
        else if (c < 0x20)
            *o += (size_t) snprintf (out + *o, size - *o, "\\u%04x", c);
        else
            out[(*o)++] = (char) c;
    }
}

static int
s_is_number (const char *v, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && v[i] == '-')
        i++;
    if (i < n && v[i] == '0' && i + 1 < n && v[i + 1] != '.')
        return 0;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++)
        digits++;
    if (i < n && v[i] == '.') {
        i++;
        size_t frac = 0;
        for (; i < n && v[i] >= '0' && v[i] <= '9'; i++)
            frac++;
        if (!frac)
            return 0;
    }
    return digits > 0 && i == n && n < 16;
}

/*  Rewrites a logfmt line (without newline) as one JSON object. */
static int
s_to_json (const char *in, char *out, size_t size)
{
    size_t o = 0;
    const char *p = in;
    out[o++] = '{';
    int first = 1;
    while (*p && o + 16 < size) {
        while (*p == ' ')
            p++;
        const char *k = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        size_t kn = (size_t) (p - k);
        if (!kn)
            break;
        char vbuf[1024];
        size_t vn = 0;
        int quoted = 0;
        if (*p == '=') {
            p++;
            if (*p == '"') {
                quoted = 1;
                p++;
                while (*p && *p != '"' && vn + 1 < sizeof vbuf) {
                    if (*p == '\\' && p[1])
                        p++;
                    vbuf[vn++] = *p++;
                }
                if (*p == '"')
                    p++;
            }
            else
                while (*p && *p != ' ' && vn + 1 < sizeof vbuf)
                    vbuf[vn++] = *p++;
        }
        if (!first)
            out[o++] = ',';
        first = 0;
        out[o++] = '"';
        s_json_str (out, size, &o, k, kn);
        out[o++] = '"';
        out[o++] = ':';
        if (!quoted && s_is_number (vbuf, vn)) {
            if (o + vn + 2 < size) {
                memcpy (out + o, vbuf, vn);
                o += vn;
            }
        }
        else {
            out[o++] = '"';
            s_json_str (out, size, &o, vbuf, vn);
            if (o + 2 < size)
                out[o++] = '"';
        }
    }
    if (o + 1 < size)
        out[o++] = '}';
    return (int) o;
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
    line[n] = 0;
    char json[4096];
    char *outp = line;
    if (s_format == SL_LOG_JSON) {
        /* the logfmt line's "ts=... level=... event=..." become keys too */
        n = s_to_json (line, json, sizeof json - 1);
        outp = json;
    }
    outp[n++] = '\n';
    ssize_t w = write (STDERR_FILENO, outp, (size_t) n);
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

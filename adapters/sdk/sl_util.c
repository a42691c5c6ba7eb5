/*  sl_util — error codes (common/sl_reason's table), message id text, finding the broker. */
#include "sl_internal.h"
#include "sl_error.h"
#include "sl_reason.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int
sl_wire_error_to_rc (int code)
{
    return sl_reason_to_rc (code);
}

void
sl_message_id_hex (const uint8_t *id, char out[2 * SL_MESSAGE_ID_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < SL_MESSAGE_ID_LEN; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[2 * SL_MESSAGE_ID_LEN] = '\0';
}

/*  Trims spaces at both ends in place; returns the start. */
static char *
s_trim (char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen (s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int
sl_options_from_data_dir (sl_client_options_t *opts, const char *dir, int admin,
                          char *buf, size_t size, char *err, size_t errlen)
{
    char path[4096], line[1024], scratch[8];
    const char *want = admin ? "admin" : "data";
    if (!err || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    snprintf (path, sizeof path, "%s/endpoints", dir);
    FILE *f = fopen (path, "r");
    if (!f) {
        snprintf (err, errlen, "%s: %s: is sluiced running with --data %s? (it writes this "
                  "file when it has bound its endpoints)", path, strerror (errno), dir);
        return errno == ENOENT ? SL_ENOTFOUND : SL_EIO;
    }
    int found = 0, stopped = 0, next = 0;
    long pid = 0;
    char want_next[16];
    snprintf (want_next, sizeof want_next, "%s.next", want);
    while (fgets (line, sizeof line, f)) {
        char *eq = strchr (line, '=');
        if (line[0] == '#' || !eq)
            continue;
        *eq = '\0';
        const char *key = s_trim (line);
        if (!strcmp (key, "pid"))
            pid = atol (eq + 1);
        if (!strcmp (key, "state") && !strcmp (s_trim (eq + 1), "stopped"))
            stopped = 1;
        /* a broker key rollover is under way: the next key's endpoint is
         * the one to move to (OPERATIONS.md, Key rollover) */
        int is_next = !strcmp (key, want_next);
        if (is_next)
            found = 0;
        if ((found || next || strcmp (key, want) != 0) && !is_next)
            continue;
        next |= is_next;
        const char *value = s_trim (eq + 1);
        size_t half = size / 2;
        if (strlen (value) + 1 > half) {
            fclose (f);
            snprintf (err, errlen, "%s: the %s endpoint is too long", path, want);
            return SL_EINVAL;
        }
        memcpy (buf, value, strlen (value) + 1);
        opts->endpoint = buf;
        found = 1;
    }
    fclose (f);
    /* The data plane may be used while the broker is down (the client
     * spools and connects when it is back); an administrator is told at
     * once instead of waiting for an answer. */
    if (admin && stopped) {
        snprintf (err, errlen, "%s: sluiced is stopped (it stopped cleanly); start it with "
                  "`sluiced run --data %s`", path, dir);
        return SL_ENOTFOUND;
    }
    if (admin && pid > 0 && kill ((pid_t) pid, 0) != 0 && errno == ESRCH) {
        snprintf (err, errlen, "%s: names pid %ld, which is not running: sluiced stopped "
                  "without cleaning up; start it again with `sluiced run --data %s`", path,
                  pid, dir);
        return SL_ENOTFOUND;
    }
    if (!found) {
        snprintf (err, errlen, "%s: no '%s = ENDPOINT' line", path, want);
        return SL_ENOTFOUND;
    }
    size_t half = size / 2;
    int n = snprintf (buf + half, size - half, "%s/%s", dir, next ? "broker-next.pub" : "broker.pub");
    if (n < 0 || (size_t) n >= size - half) {
        snprintf (err, errlen, "%s: path too long", dir);
        return SL_EINVAL;
    }
    opts->broker_key_file = buf + half;
    return 0;
}

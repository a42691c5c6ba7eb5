/*  sl_util — error code mapping, message id text, finding the broker. */
#include "sl_internal.h"
#include "sl_error.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

int
sl_wire_error_to_rc (int code)
{
    switch (code) {
    case SLUICE__V1__ERROR_CODE__OK:                  return 0;
    case SLUICE__V1__ERROR_CODE__BAD_FRAME:           return SL_EPROTO;
    case SLUICE__V1__ERROR_CODE__UNKNOWN_COMMAND:     return SL_EPROTO;
    case SLUICE__V1__ERROR_CODE__UNSUPPORTED_VERSION: return SL_EPROTO;
    case SLUICE__V1__ERROR_CODE__TOO_BIG:             return SL_ETOOBIG;
    case SLUICE__V1__ERROR_CODE__UNKNOWN_RECORD_TYPE: return SL_EINVAL;
    case SLUICE__V1__ERROR_CODE__NOT_OWNER:           return SL_EPERM;
    case SLUICE__V1__ERROR_CODE__BAD_BODY:            return SL_EDECODE;
    case SLUICE__V1__ERROR_CODE__DENIED:              return SL_EDENIED;
    case SLUICE__V1__ERROR_CODE__OWNER_OFFLINE:       return SL_ENOTFOUND;
    case SLUICE__V1__ERROR_CODE__TIMEOUT:             return SL_ETIMEOUT;
    case SLUICE__V1__ERROR_CODE__STORE_FULL:          return SL_EFULL;
    case SLUICE__V1__ERROR_CODE__QUEUE_FULL:          return SL_ELIMIT;
    case SLUICE__V1__ERROR_CODE__NOT_PERMITTED:       return SL_EPERM;
    case SLUICE__V1__ERROR_CODE__BAD_REQUEST:         return SL_EINVAL;
    case SLUICE__V1__ERROR_CODE__INTERNAL:            return SL_ESTORE;
    case SLUICE__V1__ERROR_CODE__NOT_FOUND:           return SL_ENOTFOUND;
    case SLUICE__V1__ERROR_CODE__NOT_SUBSCRIBED:      return SL_ENOTFOUND;
    default:                                          return SL_EPROTO;
    }
}

int
sl__rc_to_wire (int rc)
{
    switch (rc) {
    case SL_EDENIED:   return SLUICE__V1__ERROR_CODE__DENIED;
    case SL_ENOTFOUND: return SLUICE__V1__ERROR_CODE__NOT_FOUND;
    case SL_EINVAL:    return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    case SL_EPERM:     return SLUICE__V1__ERROR_CODE__NOT_PERMITTED;
    case SL_ETIMEOUT:  return SLUICE__V1__ERROR_CODE__TIMEOUT;
    case SL_EDECODE:   return SLUICE__V1__ERROR_CODE__BAD_BODY;
    default:           return SLUICE__V1__ERROR_CODE__INTERNAL;
    }
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

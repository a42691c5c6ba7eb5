/*  sl_config — see sl_config.h. */
#include "sl_config.h"

#include <errno.h>
#include <ini.h>

#include "sl_time.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"

void
sl_config_defaults (sl_config_t *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    const char *env = getenv ("SLUICE_DATA");
    snprintf (cfg->data_dir, sizeof cfg->data_dir, "%s", env && *env ? env : "./var/sluice");
    snprintf (cfg->data_endpoint, sizeof cfg->data_endpoint, "tcp://*:5570");
    snprintf (cfg->admin_endpoint, sizeof cfg->admin_endpoint, "tcp://127.0.0.1:5571");
    cfg->max_message_size = 1048576;
    cfg->batch_max = 256;
    cfg->batch_delay_us = 1000;
    cfg->map_size = (size_t) 1 << 30;
    cfg->query_timeout_ms = 5000;
    cfg->checkpoint_every = 4096;
    cfg->checkpoint_interval_ms = 60000;
    cfg->consent_scan_ms = 1000;
    cfg->queue_max = 1000000;
    cfg->overload_queue = 2048;
    cfg->overload_hold_ms = 1000;
    snprintf (cfg->log_level, sizeof cfg->log_level, "info");
    snprintf (cfg->log_format, sizeof cfg->log_format, "logfmt");
}

void
sl_config_clear (sl_config_t *cfg)
{
    (void) cfg;     /* nothing allocated */
}

static int
s_number (const char *key, const char *value, unsigned long long lo, unsigned long long hi,
          unsigned long long *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull (value, &end, 10);
    if (errno || end == value || *end || value[0] == '-' || v < lo || v > hi) {
        snprintf (err, errlen, "%s: '%s' is not a number between %llu and %llu", key, value, lo, hi);
        return SL_EINVAL;
    }
    *out = v;
    return 0;
}

static int
s_string (char *dst, size_t size, const char *key, const char *value, char *err, size_t errlen)
{
    if (!*value || strlen (value) >= size) {
        snprintf (err, errlen, "%s: value must be 1 to %zu characters", key, size - 1);
        return SL_EINVAL;
    }
    memcpy (dst, value, strlen (value) + 1);
    return 0;
}

int
sl_config_set (sl_config_t *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    unsigned long long v;
    int rc;
    if (!strcmp (key, "data"))
        return s_string (cfg->data_dir, sizeof cfg->data_dir, key, value, err, errlen);
    if (!strcmp (key, "bind"))
        return s_string (cfg->data_endpoint, sizeof cfg->data_endpoint, key, value, err, errlen);
    if (!strcmp (key, "admin_bind"))
        return s_string (cfg->admin_endpoint, sizeof cfg->admin_endpoint, key, value, err, errlen);
    if (!strcmp (key, "admin_allow"))
        return s_string (cfg->admin_allow, sizeof cfg->admin_allow, key, value, err, errlen);
    if (!strcmp (key, "max_message_size")) {
        if ((rc = s_number (key, value, 1024, 256ull << 20, &v, err, errlen)) == 0)
            cfg->max_message_size = (size_t) v;
        return rc;
    }
    if (!strcmp (key, "batch")) {
        if ((rc = s_number (key, value, 1, 100000, &v, err, errlen)) == 0)
            cfg->batch_max = (unsigned) v;
        return rc;
    }
    if (!strcmp (key, "batch_delay_us")) {
        if ((rc = s_number (key, value, 0, 1000000, &v, err, errlen)) == 0)
            cfg->batch_delay_us = (unsigned) v;
        return rc;
    }
    if (!strcmp (key, "map_size_mb")) {
        if ((rc = s_number (key, value, 1, 1ull << 24, &v, err, errlen)) == 0)
            cfg->map_size = (size_t) v << 20;
        return rc;
    }
    if (!strcmp (key, "query_timeout_ms")) {
        if ((rc = s_number (key, value, 1, 60000, &v, err, errlen)) == 0)
            cfg->query_timeout_ms = (unsigned) v;
        return rc;
    }
    if (!strcmp (key, "log_level")) {
        if (strcmp (value, "debug") && strcmp (value, "info") && strcmp (value, "warn")
            && strcmp (value, "error")) {
            snprintf (err, errlen, "log_level: '%s' is not debug, info, warn or error", value);
            return SL_EINVAL;
        }
        snprintf (cfg->log_level, sizeof cfg->log_level, "%s", value);
        return 0;
    }
    if (!strcmp (key, "checkpoint_every")) {
        if ((rc = s_number (key, value, 0, 1ull << 40, &v, err, errlen)) == 0)
            cfg->checkpoint_every = (uint64_t) v;
        return rc;
    }
    if (!strcmp (key, "checkpoint_interval_ms")) {
        if ((rc = s_number (key, value, 0, 86400000, &v, err, errlen)) == 0)
            cfg->checkpoint_interval_ms = (unsigned) v;
        return rc;
    }
    if (!strcmp (key, "consent_scan_ms")) {
        if ((rc = s_number (key, value, 10, 3600000, &v, err, errlen)) == 0)
            cfg->consent_scan_ms = (unsigned) v;
        return rc;
    }
    if (!strcmp (key, "queue_max")) {
        if ((rc = s_number (key, value, 0, 1ull << 40, &v, err, errlen)) == 0)
            cfg->queue_max = (uint64_t) v;
        return rc;
    }
    if (!strcmp (key, "overload_queue")) {
        if ((rc = s_number (key, value, 0, 1ull << 40, &v, err, errlen)) == 0)
            cfg->overload_queue = (uint64_t) v;
        return rc;
    }
    if (!strcmp (key, "overload_hold_ms")) {
        if ((rc = s_number (key, value, 1, 60000, &v, err, errlen)) == 0)
            cfg->overload_hold_ms = (unsigned) v;
        return rc;
    }
    if (!strcmp (key, "metrics_bind")) {
        if (!strcmp (value, "off") || !*value) {
            cfg->metrics_bind[0] = 0;
            return 0;
        }
        return s_string (cfg->metrics_bind, sizeof cfg->metrics_bind, key, value, err, errlen);
    }
    if (!strcmp (key, "next_bind"))
        return s_string (cfg->next_bind, sizeof cfg->next_bind, key, value, err, errlen);
    if (!strcmp (key, "next_admin_bind"))
        return s_string (cfg->next_admin_bind, sizeof cfg->next_admin_bind, key, value, err, errlen);
    if (!strcmp (key, "log_file"))
        return s_string (cfg->log_file, sizeof cfg->log_file, key, value, err, errlen);
    if (!strcmp (key, "log_format")) {
        if (strcmp (value, "logfmt") && strcmp (value, "json")) {
            snprintf (err, errlen, "log_format: '%s' is not logfmt or json", value);
            return SL_EINVAL;
        }
        snprintf (cfg->log_format, sizeof cfg->log_format, "%s", value);
        return 0;
    }
    if (!strcmp (key, "timezone")) {
        sl_tz_t *z = sl_tz_load (value, err, errlen);   /* refuse a zone tzdata lacks */
        if (!z || strlen (value) >= sizeof cfg->timezone) {
            if (z)
                snprintf (err, errlen, "timezone: '%s' is too long", value);
            sl_tz_destroy (&z);
            return SL_EINVAL;
        }
        sl_tz_destroy (&z);
        snprintf (cfg->timezone, sizeof cfg->timezone, "%s", value);
        return 0;
    }
    if (!strcmp (key, "grant")) {
        snprintf (err, errlen, "grant: there are no grants any more; what leaves is decided by "
                  "the owners' policies (sluicectl policy apply, docs/POLICY.md)");
        return SL_EINVAL;
    }
    snprintf (err, errlen, "unknown setting '%s'", key);
    return SL_EINVAL;
}

typedef struct {
    sl_config_t *cfg;
    char err[300];
} s_ini_t;

static int
s_ini_handler (void *user, const char *section, const char *name, const char *value)
{
    s_ini_t *ctx = user;
    if (*section && strcmp (section, "sluiced") != 0) {
        snprintf (ctx->err, sizeof ctx->err, "unknown section [%s] (use [sluiced])", section);
        return 0;
    }
    return sl_config_set (ctx->cfg, name, value, ctx->err, sizeof ctx->err) == 0;
}

int
sl_config_load (sl_config_t *cfg, const char *path, char *err, size_t errlen)
{
    s_ini_t ctx = { cfg, "" };
    int line = ini_parse (path, s_ini_handler, &ctx);
    if (line == -1) {
        snprintf (err, errlen, "%s: cannot open: %s", path, strerror (errno));
        return SL_EIO;
    }
    if (line != 0) {
        snprintf (err, errlen, "%s:%d: %s", path, line, ctx.err[0] ? ctx.err : "syntax error");
        return SL_EPARSE;
    }
    return 0;
}

/*  sl_config — see sl_config.h. */
#include "sl_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"
#include "sl_ini.h"
#include "sl_time.h"

void
sl_config_clear (sl_config_t *cfg)
{
    (void) cfg;     /* nothing allocated */
}

#define S_TEXT(key, field, def) SL_INI_TEXT_KEY (key, sl_config_t, field, 1, def)
#define S_NUMBER(key, field, lo, hi, def) SL_INI_NUMBER_KEY (key, sl_config_t, field, lo, hi, def)

/*  The plain settings (sl_ini.h design note 1); the others follow in sl_config_set. */
static const sl_ini_key_t s_keys[] = {
    S_TEXT ("data", data_dir, NULL),
    S_TEXT ("bind", data_endpoint, "tcp://*:5570"),
    S_TEXT ("admin_bind", admin_endpoint, "tcp://127.0.0.1:5571"),
    S_TEXT ("admin_allow", admin_allow, NULL),
    S_NUMBER ("max_message_size", max_message_size, 1024, 256ull << 20, "1048576"),
    S_NUMBER ("batch", batch_max, 1, 100000, "256"),
    S_NUMBER ("batch_delay_us", batch_delay_us, 0, 1000000, "1000"),
    /* written in MiB, kept in bytes */
    { "map_size_mb", SL_INI_NUMBER, SL_INI_AT (sl_config_t, map_size), 1, 1ull << 24, 20, "1024" },
    S_NUMBER ("query_timeout_ms", query_timeout_ms, 1, 60000, "5000"),
    S_NUMBER ("checkpoint_every", checkpoint_every, 0, 1ull << 40, "4096"),
    S_NUMBER ("checkpoint_interval_ms", checkpoint_interval_ms, 0, 86400000, "60000"),
    S_NUMBER ("consent_scan_ms", consent_scan_ms, 10, 3600000, "1000"),
    S_NUMBER ("queue_max", queue_max, 0, 1ull << 40, "1000000"),
    S_NUMBER ("overload_queue", overload_queue, 0, 1ull << 40, "2048"),
    S_NUMBER ("overload_hold_ms", overload_hold_ms, 1, 60000, "1000"),
    S_TEXT ("metrics_bind", metrics_bind, NULL),
    S_TEXT ("next_bind", next_bind, NULL),
    S_TEXT ("next_admin_bind", next_admin_bind, NULL),
    S_TEXT ("log_file", log_file, NULL),
};

void
sl_config_defaults (sl_config_t *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    sl_ini_defaults (cfg, s_keys, sizeof s_keys / sizeof s_keys[0]);
    const char *env = getenv ("SLUICE_DATA");
    snprintf (cfg->data_dir, sizeof cfg->data_dir, "%s", env && *env ? env : "./var/sluice");
    snprintf (cfg->log_level, sizeof cfg->log_level, "info");
    snprintf (cfg->log_format, sizeof cfg->log_format, "logfmt");
}

int
sl_config_set (sl_config_t *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    if (!strcmp (key, "metrics_bind") && (!strcmp (value, "off") || !*value)) {
        cfg->metrics_bind[0] = 0;
        return 0;
    }
    int rc = sl_ini_set (cfg, s_keys, sizeof s_keys / sizeof s_keys[0], key, value, err, errlen);
    if (rc != SL_ENOTFOUND)
        return rc;
    if (!strcmp (key, "log_level")) {
        if (strcmp (value, "debug") && strcmp (value, "info") && strcmp (value, "warn")
            && strcmp (value, "error")) {
            snprintf (err, errlen, "log_level: '%s' is not debug, info, warn or error", value);
            return SL_EINVAL;
        }
        snprintf (cfg->log_level, sizeof cfg->log_level, "%s", value);
        return 0;
    }
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
    return sl_ini_load (path, s_ini_handler, &ctx, ctx.err, err, errlen);
}

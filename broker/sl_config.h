/*  sl_config — sluiced's settings: defaults < $SLUICE_DATA < INI file
 *  (--config FILE) < command-line flags. docs/OPERATIONS.md lists them.
 */
#ifndef SL_CONFIG_H
#define SL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char data_dir[512];
    char data_endpoint[256];
    char admin_endpoint[256];
    char admin_allow[1024];             /* networks allowed on the admin plane (sl_allow.h) */
    size_t max_message_size;
    unsigned batch_max;
    unsigned batch_delay_us;
    size_t map_size;
    unsigned query_timeout_ms;
    char log_level[16];
    uint64_t checkpoint_every;          /* audit checkpoint every N entries (0 = off) */
    unsigned checkpoint_interval_ms;    /* ... or this long after new entries (0 = off) */
    unsigned consent_scan_ms;           /* expired-consent scan period */
    uint64_t queue_max;                 /* records per consumer queue (0 = no limit) */
    uint64_t overload_queue;            /* withhold ACKs past this queue depth (0 = off) */
    unsigned overload_hold_ms;          /* ... for at most this long */
    char metrics_bind[128];             /* HOST:PORT of /metrics, /healthz, /readyz; "" = off */
    char log_file[512];                 /* append log lines here; "" = stderr */
    char log_format[16];                /* logfmt | json */
    char next_bind[256];                /* broker key rollover: the next key's data endpoint */
    char next_admin_bind[256];          /* ... and admin endpoint ("" = port + 10) */
    char timezone[64];                  /* the city's IANA zone ("" = UTC): zone-less
                                           times in policies and admin filters */
} sl_config_t;

/*  Fills defaults (data dir from $SLUICE_DATA or ./var/sluice). Cannot fail. */
void sl_config_defaults (sl_config_t *cfg);

/*  Releases what the config holds (nothing today). Cannot fail. */
void sl_config_clear (sl_config_t *cfg);

/*  Sets one setting by its INI key (data, bind, admin_bind, admin_allow, max_message_size,
 *  batch, batch_delay_us, map_size_mb, query_timeout_ms, log_level,
 *  checkpoint_every, checkpoint_interval_ms, consent_scan_ms, queue_max,
 *  overload_queue, overload_hold_ms,
 *  metrics_bind, log_file, log_format, next_bind, next_admin_bind, timezone).
 *  Returns 0 or SL_EINVAL (unknown key or bad value; `err` says which). */
int sl_config_set (sl_config_t *cfg, const char *key, const char *value,
                   char *err, size_t errlen);

/*  Reads an INI file: keys in section [sluiced] (or before any section).
 *  Returns 0, SL_EIO (cannot open) or SL_EPARSE with `err` = "FILE:LINE: what". */
int sl_config_load (sl_config_t *cfg, const char *path, char *err, size_t errlen);

#endif

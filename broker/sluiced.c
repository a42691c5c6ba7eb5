/*  sluiced — the sluice broker. `sluiced init` prepares a data directory;
 *  `sluiced run` (the default) serves. See docs/OPERATIONS.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sl_batch.h"
#include "sl_broker.h"
#include "sl_config.h"
#include "sl_time.h"
#include "sl_error.h"
#include "sl_govern.h"
#include "sl_keys.h"
#include "sl_log.h"
#include "sl_registry.h"
#include "sl_store.h"

static volatile sig_atomic_t s_stop = 0;

static void
s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

static void
s_usage (FILE *f)
{
    fprintf (f,
"usage: sluiced init [--data DIR]\n"
"       sluiced [run] [options]\n"
"\n"
"init      create DIR (default $SLUICE_DATA or ./var/sluice): the LMDB store,\n"
"          the broker key pair DIR/broker.key + DIR/broker.pub and a first\n"
"          administrator key pair DIR/admin.key + DIR/admin.pub, registered as\n"
"          member 'admin' with role admin:city\n"
"run       serve (the default); writes the bound endpoints to DIR/endpoints\n"
"\n"
"options (each also an INI key in section [sluiced] of --config FILE):\n"
"  --config FILE              read settings from an INI file first\n"
"  --data DIR                 data directory                 (data)\n"
"  --bind ENDPOINT            data plane, default tcp://*:5570 (bind)\n"
"  --admin-bind ENDPOINT      admin plane, default tcp://127.0.0.1:5571 (admin_bind)\n"
"  --admin-allow NETS         networks that may reach a non-loopback admin plane,\n"
"                             e.g. 10.20.0.0/24,192.0.2.7; loopback always may\n"
"                             (admin_allow; required when admin_bind is not loopback)\n"
"  --max-message-size BYTES   per message, default 1048576   (max_message_size)\n"
"  --batch N                  commit at N pending operations, default 256 (batch)\n"
"  --batch-delay-us US        ... or US after the first, default 1000 (batch_delay_us)\n"
"  --map-size-mb MB           LMDB map size, default 1024    (map_size_mb)\n"
"  --query-timeout-ms MS      default QUERY timeout, 5000    (query_timeout_ms)\n"
"  --log-level LEVEL          debug, info, warn, error       (log_level)\n"
"  --checkpoint-every N       sign an audit checkpoint every N entries,\n"
"                             default 4096, 0 = off       (checkpoint_every)\n"
"  --checkpoint-interval-ms MS  ... or MS after new entries, default 60000,\n"
"                             0 = off               (checkpoint_interval_ms)\n"
"  --consent-scan-ms MS       look for expired consents every MS, default 1000\n"
"                                                          (consent_scan_ms)\n"
"  --queue-max N              records a consumer's queue may hold; a record\n"
"                             past it is refused (queue-full), default\n"
"                             1000000, 0 = no limit               (queue_max)\n"
"  --timezone ZONE            the city's IANA time zone, e.g. Europe/Berlin;\n"
"                             zone-less times in policy windows and admin\n"
"                             filters are read in it, default UTC (timezone)\n"
"  --help                     this text\n"
"\n"
"signals: SIGINT/SIGTERM commit what is pending, fail in-flight queries and exit 0.\n");
}

static const struct { const char *flag, *key; } s_flags[] = {
    { "--data", "data" }, { "--bind", "bind" }, { "--admin-bind", "admin_bind" },
    { "--admin-allow", "admin_allow" },
    { "--max-message-size", "max_message_size" }, { "--batch", "batch" },
    { "--batch-delay-us", "batch_delay_us" }, { "--map-size-mb", "map_size_mb" },
    { "--query-timeout-ms", "query_timeout_ms" }, { "--log-level", "log_level" },
    { "--checkpoint-every", "checkpoint_every" },
    { "--checkpoint-interval-ms", "checkpoint_interval_ms" },
    { "--consent-scan-ms", "consent_scan_ms" }, { "--queue-max", "queue_max" },
    { "--timezone", "timezone" },
};

static int
s_mkdirs (const char *dir)
{
    char buf[512];
    snprintf (buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir (buf, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return (mkdir (buf, 0700) != 0 && errno != EEXIST) ? -1 : 0;
}

static int
s_init (const sl_config_t *cfg)
{
    const char *dir = cfg->data_dir;
    char path[600], err[400];
    snprintf (path, sizeof path, "%s/broker.key", dir);
    if (access (path, F_OK) == 0) {
        fprintf (stderr, "sluiced init: %s already exists: %s is initialised already\n", path, dir);
        return 1;
    }
    if (s_mkdirs (dir) != 0) {
        fprintf (stderr, "sluiced init: cannot create %s: %s\n", dir, strerror (errno));
        return 1;
    }
    snprintf (path, sizeof path, "%s/store", dir);
    sl_store_t *store = sl_store_open (path, cfg->map_size, 1, err, sizeof err);
    if (!store) {
        fprintf (stderr, "sluiced init: %s\n", err);
        return 1;
    }
    sl_keypair_t broker, admin;
    int rc = 1;
    sl_registry_t *reg = NULL;
    sl_batch_t *batch = NULL;
    MDB_txn *txn;
    if (sl_keys_generate (&broker) != 0 || sl_keys_generate (&admin) != 0) {
        fprintf (stderr, "sluiced init: libzmq has no CURVE support\n");
        goto out;
    }
    if (sl_keys_write (dir, "broker", &broker, 0, err, sizeof err) != 0
        || sl_keys_write (dir, "admin", &admin, 0, err, sizeof err) != 0) {
        fprintf (stderr, "sluiced init: %s\n", err);
        goto out;
    }
    if (sl_govern_init_keys (dir, err, sizeof err) != 0) {
        fprintf (stderr, "sluiced init: %s\n", err);
        goto out;
    }
    reg = sl_registry_new (store);
    batch = sl_batch_new (store, 1, 0);
    if (!reg || !batch || sl_batch_txn (batch, &txn) != 0) {
        fprintf (stderr, "sluiced init: cannot open the member registry\n");
        goto out;
    }
    if (sl_registry_add (reg, txn, "admin", "admin:city", admin.public_key, err, sizeof err) != 0) {
        fprintf (stderr, "sluiced init: %s\n", err);
        goto out;
    }
    if (sl_batch_commit (batch) != 0) {
        fprintf (stderr, "sluiced init: cannot commit the member registry\n");
        goto out;
    }
    char fp[17] = "";
    sl_keys_fingerprint (broker.public_key, fp);
    printf ("initialised %s\n"
            "  store:             %s/store\n"
            "  broker public key: %s/broker.pub (fingerprint %s)\n"
            "  admin key:         %s/admin.key (member 'admin', role admin:city; keep it private)\n"
            "  audit keys:        %s/audit-sign.key, %s/audit-sign.pub, %s/audit-pseudonym.key\n"
            "  pseudonym secret:  %s/pseudonym.key (keep it private)\n",
            dir, dir, dir, fp, dir, dir, dir, dir, dir);
    rc = 0;
out:
    sl_batch_destroy (&batch);
    sl_registry_destroy (&reg);
    sl_store_destroy (&store);
    return rc;
}

static int
s_run (sl_config_t *cfg)
{
    char path[600], err[600];
    snprintf (path, sizeof path, "%s/sluiced.lock", cfg->data_dir);
    int lock = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0) {
        fprintf (stderr, "sluiced: %s: %s (run `sluiced init --data %s` first)\n", path,
                 strerror (errno), cfg->data_dir);
        return 1;
    }
    if (flock (lock, LOCK_EX | LOCK_NB) != 0) {
        fprintf (stderr, "sluiced: another sluiced is running on %s\n", cfg->data_dir);
        close (lock);
        return 1;
    }
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);

    /* the city's zone, before any policy is parsed; DIR/timezone tells
     * sluicectl offline (sl_time.h) */
    snprintf (path, sizeof path, "%s/timezone", cfg->data_dir);
    if (cfg->timezone[0]) {
        sl_tz_t *zone = sl_tz_load (cfg->timezone, err, sizeof err);
        if (!zone) {
            fprintf (stderr, "sluiced: %s\n", err);
            close (lock);
            return 1;
        }
        sl_time_set_city_zone (zone);
        FILE *tf = fopen (path, "w");
        if (tf) {
            fprintf (tf, "%s\n", cfg->timezone);
            fclose (tf);
        }
    }
    else
        unlink (path);
    sl_broker_config_t bc = {
        .data_dir = cfg->data_dir, .data_endpoint = cfg->data_endpoint,
        .admin_endpoint = cfg->admin_endpoint, .admin_allow = cfg->admin_allow,
        .max_message_size = cfg->max_message_size,
        .batch_max = cfg->batch_max, .batch_delay_us = cfg->batch_delay_us,
        .map_size = cfg->map_size, .query_timeout_ms = cfg->query_timeout_ms,
        .checkpoint_every = cfg->checkpoint_every,
        .checkpoint_interval_ms = cfg->checkpoint_interval_ms,
        .consent_scan_ms = cfg->consent_scan_ms, .queue_max = cfg->queue_max,
    };
    sl_broker_t *b = sl_broker_new (&bc, err, sizeof err);
    if (!b) {
        fprintf (stderr, "sluiced: %s\n", err);
        close (lock);
        return 1;
    }
    sl_broker_run (b, &s_stop);
    sl_broker_destroy (&b);
    close (lock);
    return 0;
}

int
main (int argc, char **argv)
{
    sl_config_t cfg;
    char err[600];
    int i = 1, init = 0, rc;
    sl_config_defaults (&cfg);
    if (i < argc && strcmp (argv[i], "init") == 0) {
        init = 1;
        i++;
    }
    else if (i < argc && strcmp (argv[i], "run") == 0)
        i++;
    /* --config first, so flags override the file */
    for (int j = i; j < argc; j++) {
        if (!strcmp (argv[j], "--help") || !strcmp (argv[j], "-h")) {
            s_usage (stdout);
            return 0;
        }
        if (!strcmp (argv[j], "--config")) {
            if (j + 1 >= argc) {
                fprintf (stderr, "sluiced: --config needs a FILE\n");
                return 2;
            }
            if (sl_config_load (&cfg, argv[j + 1], err, sizeof err) != 0) {
                fprintf (stderr, "sluiced: %s\n", err);
                sl_config_clear (&cfg);
                return 2;
            }
        }
    }
    for (; i < argc; i++) {
        if (!strcmp (argv[i], "--config")) {
            i++;
            continue;
        }
        const char *key = NULL;
        for (size_t k = 0; k < sizeof s_flags / sizeof s_flags[0]; k++)
            if (!strcmp (argv[i], s_flags[k].flag))
                key = s_flags[k].key;
        if (!key) {
            fprintf (stderr, "sluiced: unknown argument '%s' (see sluiced --help)\n", argv[i]);
            sl_config_clear (&cfg);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf (stderr, "sluiced: %s needs a value\n", argv[i]);
            sl_config_clear (&cfg);
            return 2;
        }
        if (sl_config_set (&cfg, key, argv[++i], err, sizeof err) != 0) {
            fprintf (stderr, "sluiced: %s: %s\n", argv[i - 1], err);
            sl_config_clear (&cfg);
            return 2;
        }
    }
    const char *levels[] = { "debug", "info", "warn", "error" };
    for (int l = 0; l < 4; l++)
        if (!strcmp (cfg.log_level, levels[l]) && !getenv ("SLUICE_LOG"))
            sl_log_set_level ((sl_log_level_t) l);
    rc = init ? s_init (&cfg) : s_run (&cfg);
    sl_config_clear (&cfg);
    return rc;
}

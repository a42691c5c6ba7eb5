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
#include "sl_schema_store.h"
#include "sl_store.h"
#include "sl_role.h"
#include "sl_signal.h"

/*  What the process was started with, for SIGHUP: the INI file is read
 *  again, then the command-line flags are applied again on top. */
static const char *s_config_path;
static int s_argc;
static char **s_argv;
static int s_argi;

static void
s_usage (FILE *f)
{
    fprintf (f,
"usage: sluiced init [--data DIR] [--with-examples [FILE]]\n"
"       sluiced [run] [options]\n"
"       sluiced --version\n"
"\n"
"init      create DIR (default $SLUICE_DATA or ./var/sluice): the LMDB store,\n"
"          the broker key pair DIR/broker.key + DIR/broker.pub and a first\n"
"          administrator key pair DIR/admin.key + DIR/admin.pub, registered as\n"
"          member 'admin' with role admin:city\n"
"          --with-examples [FILE]  also register the example bureaus' record\n"
"          types (a FileDescriptorSet; default: examples.binpb built from\n"
"          schemas/, see docs/SCHEMAS.md)\n"
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
"%s"

"  --timezone ZONE            the city's IANA time zone, e.g. Europe/Berlin;\n"
"                             zone-less times in policy windows and admin\n"
"                             filters are read in it, default UTC (timezone)\n"
"  --metrics-bind HOST:PORT   serve /metrics, /healthz, /readyz over HTTP,\n"
"                             e.g. 127.0.0.1:9570; default off (metrics_bind)\n"
"  --log-file FILE            append log lines to FILE, reopened on SIGHUP;\n"
"                             default stderr                      (log_file)\n"
"  --log-format FORMAT        logfmt (default) or json          (log_format)\n"
"  --next-bind ENDPOINT       broker key rollover: where DIR/broker-next.key\n"
"                             serves the data plane, default --bind's port + 10\n"
"                                                                (next_bind)\n"
"  --next-admin-bind ENDPOINT ... and the admin plane         (next_admin_bind)\n"
"  --version                  print the version and exit\n"
"  --help                     this text\n"
"\n"
"signals: SIGINT/SIGTERM commit what is pending, sign a checkpoint, fail\n"
"in-flight queries and exit 0. SIGHUP reads --config FILE again (then the\n"
"flags), applies log_level, log_format, log_file (reopened: logrotate),\n"
"queue_max and query_timeout_ms at once, logs which other changed\n"
"settings need a restart, and starts or ends a broker key rollover\n"
"(DIR/broker-next.key; docs/OPERATIONS.md).\n",
"  --overload-queue N         past saturation: withhold a publisher's ACK while\n"
"                             a connected consumer it fed has more than N\n"
"                             records queued, default 2048, 0 = off\n"
"                                                          (overload_queue)\n"
"  --overload-hold-ms MS      ... for at most MS, default 1000\n"
"                                                        (overload_hold_ms)\n");
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
    { "--overload-queue", "overload_queue" }, { "--overload-hold-ms", "overload_hold_ms" },
    { "--metrics-bind", "metrics_bind" }, { "--log-file", "log_file" },
    { "--log-format", "log_format" }, { "--next-bind", "next_bind" },
    { "--next-admin-bind", "next_admin_bind" },
    { "--timezone", "timezone" },
};

/*  Applies the flags argv[from..] on top of cfg. Returns 0 or 2 (usage
 *  error, printed). */
static int
s_apply_flags (sl_config_t *cfg, int argc, char **argv, int from)
{
    char err[600];
    for (int i = from; i < argc; i++) {
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
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf (stderr, "sluiced: %s needs a value\n", argv[i]);
            return 2;
        }
        if (sl_config_set (cfg, key, argv[++i], err, sizeof err) != 0) {
            fprintf (stderr, "sluiced: %s: %s\n", argv[i - 1], err);
            return 2;
        }
    }
    return 0;
}

/*  Log level, format and file from cfg. Returns 0 or -1 (printed). */
static int
s_apply_log (const sl_config_t *cfg)
{
    const char *levels[] = { "debug", "info", "warn", "error" };
    for (int l = 0; l < 4; l++)
        if (!strcmp (cfg->log_level, levels[l]) && !getenv ("SLUICE_LOG"))
            sl_log_set_level ((sl_log_level_t) l);
    sl_log_set_format (strcmp (cfg->log_format, "json") == 0 ? SL_LOG_JSON : SL_LOG_LOGFMT);
    if (cfg->log_file[0] && sl_log_open_file (cfg->log_file) != 0) {
        sl_error ("log.open_failed", "file=%s error=\"%s\"", cfg->log_file, strerror (errno));
        fprintf (stderr, "sluiced: %s: cannot open the log file: %s\n", cfg->log_file,
                 strerror (errno));
        return -1;
    }
    return 0;
}

/*  SIGHUP (sl_broker_on_reload): cfg is what runs; read the file and the
 *  flags again into a fresh config, apply what can change live. */
static void
s_reload_config (void *ctx, sl_broker_t *b)
{
    sl_config_t *cur = ctx, next;
    char err[600];
    sl_config_defaults (&next);
    if (s_config_path && sl_config_load (&next, s_config_path, err, sizeof err) != 0) {
        sl_error ("config.reload_failed", "error=\"%s\" kept=previous", err);
        return;
    }
    if (s_apply_flags (&next, s_argc, s_argv, s_argi) != 0) {
        sl_error ("config.reload_failed", "error=\"bad flags\" kept=previous");
        return;
    }
    /* settings that only a restart applies */
    const char *restart = NULL;
    if (strcmp (next.data_dir, cur->data_dir))
        restart = "data";
    else if (strcmp (next.data_endpoint, cur->data_endpoint))
        restart = "bind";
    else if (strcmp (next.admin_endpoint, cur->admin_endpoint))
        restart = "admin_bind";
    else if (strcmp (next.metrics_bind, cur->metrics_bind))
        restart = "metrics_bind";
    else if (strcmp (next.timezone, cur->timezone))
        restart = "timezone";
    else if (next.map_size != cur->map_size)
        restart = "map_size_mb";
    else if (next.max_message_size != cur->max_message_size)
        restart = "max_message_size";
    else if (next.batch_max != cur->batch_max || next.batch_delay_us != cur->batch_delay_us)
        restart = "batch";
    else if (next.checkpoint_every != cur->checkpoint_every
             || next.checkpoint_interval_ms != cur->checkpoint_interval_ms
             || next.consent_scan_ms != cur->consent_scan_ms)
        restart = "checkpoint/consent_scan";
    if (restart)
        sl_warn ("config.restart_needed", "setting=%s note=\"changed in the file; applied at the next start\"",
                 restart);
    /* what applies now; the log file is reopened even when unchanged
     * (logrotate moved it) */
    if (s_apply_log (&next) != 0)
        return;
    sl_broker_set_limits (b, next.queue_max, next.query_timeout_ms);
    sl_broker_keys_reload (b);   /* broker key rollover: DIR/broker-next.key, promotion */
    memcpy (cur->log_level, next.log_level, sizeof cur->log_level);
    memcpy (cur->log_format, next.log_format, sizeof cur->log_format);
    memcpy (cur->log_file, next.log_file, sizeof cur->log_file);
    cur->queue_max = next.queue_max;
    cur->query_timeout_ms = next.query_timeout_ms;
    sl_info ("config.reloaded", "file=%s log_level=%s log_format=%s queue_max=%llu "
             "query_timeout_ms=%u", s_config_path ? s_config_path : "none", cur->log_level,
             cur->log_format, (unsigned long long) cur->queue_max, cur->query_timeout_ms);
}

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

/*  The example bureaus' FileDescriptorSet: next to the build tree's
 *  sluiced (build/broker/../schemas/examples.binpb), else the installed one. */
static void
s_examples_path (char *out, size_t size)
{
    char exe[400];
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr (exe, '/');
        if (slash) {
            *slash = 0;
            snprintf (out, size, "%s/../schemas/examples.binpb", exe);
            if (access (out, R_OK) == 0)
                return;
        }
    }
    snprintf (out, size, "%s", SL_EXAMPLES_INSTALLED);
}

static const char *s_with_examples;   /* init --with-examples: the file */

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
    if (sl_registry_add (reg, txn, "admin", SL_ROLE_CITY_ADMIN, admin.public_key, err, sizeof err) != 0) {
        fprintf (stderr, "sluiced init: %s\n", err);
        goto out;
    }
    int n_examples = 0;
    if (s_with_examples) {
        sl_schema_store_t *ss = sl_schema_store_new (txn, NULL);
        n_examples = ss ? sl_schema_store_register_file (ss, txn, s_with_examples, "admin",
                                                         err, sizeof err) : SL_ENOMEM;
        sl_schema_store_destroy (&ss);
        if (n_examples < 0) {
            fprintf (stderr, "sluiced init: --with-examples: %s\n", n_examples == SL_ENOMEM
                     ? "cannot open the schema registry" : err);
            goto out;
        }
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
    if (s_with_examples)
        printf ("  record types:      %d registered from %s\n", n_examples, s_with_examples);
    rc = 0;
out:
    sl_batch_destroy (&batch);
    sl_registry_destroy (&reg);
    sl_store_destroy (&store);
    return rc;
}

/*  Called with the data directory locked, so no other sluiced serves it: an
 *  endpoints file naming a pid is what a broker that did not stop cleanly
 *  (kill -9, power loss) left. Say so; sl_broker_new replaces it. */
static void
s_check_stale_endpoints (const char *dir)
{
    char path[600], line[300];
    snprintf (path, sizeof path, "%s/endpoints", dir);
    FILE *f = fopen (path, "r");
    if (!f)
        return;
    long pid = 0;
    while (fgets (line, sizeof line, f))
        if (strncmp (line, "pid = ", 6) == 0)
            pid = atol (line + 6);
    fclose (f);
    if (pid > 0 && pid != (long) getpid ()) {
        sl_warn ("endpoints.stale", "file=%s pid=%ld note=\"left by a sluiced that did not stop "
                 "cleanly; replaced\"", path, pid);
    }
}

/*  The store holds citizen ids (consents, kept subjects) and the queues:
 *  like the key files, it must be the broker's alone. Refuses (returns -1,
 *  printed with the fix) a store directory or LMDB file with any group or
 *  other permission, or owned by another user than the one sluiced runs as
 *  (what a restore or an offline check run as root used to leave). */
static int
s_check_store_modes (const char *dir)
{
    static const char *names[] = { "store", "store/data.mdb", "store/lock.mdb" };
    for (size_t i = 0; i < 3; i++) {
        char path[700];
        struct stat st;
        snprintf (path, sizeof path, "%s/%s", dir, names[i]);
        if (stat (path, &st) != 0)
            continue;
        if (geteuid () != 0 && st.st_uid != geteuid ()) {
            fprintf (stderr, "sluiced: %s is owned by uid %u, but sluiced runs as uid %u: "
                     "LMDB could not open it; fix with: chown -R $(id -un %u): %s\n", path,
                     (unsigned) st.st_uid, (unsigned) geteuid (), (unsigned) geteuid (), dir);
            return -1;
        }
        if (st.st_mode & 077) {
            fprintf (stderr, "sluiced: %s has mode %04o: it holds citizen ids and must be "
                     "the broker's alone; fix with: chmod 700 %s/store && chmod 600 %s/store/*.mdb\n",
                     path, (unsigned) (st.st_mode & 07777), dir, dir);
            return -1;
        }
    }
    return 0;
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
    if (s_check_store_modes (cfg->data_dir) != 0) {
        close (lock);
        return 1;
    }
    s_check_stale_endpoints (cfg->data_dir);
    sl_signal_catch (1);
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
        .overload_queue = cfg->overload_queue, .overload_hold_ms = cfg->overload_hold_ms,
        .metrics_endpoint = cfg->metrics_bind,
        .next_data_endpoint = cfg->next_bind, .next_admin_endpoint = cfg->next_admin_bind,
    };
    sl_broker_t *b = sl_broker_new (&bc, err, sizeof err);
    if (!b) {
        fprintf (stderr, "sluiced: %s\n", err);
        close (lock);
        return 1;
    }
    sl_broker_on_reload (b, &sl_signal_hup, s_reload_config, cfg);
    sl_broker_run (b, &sl_signal_stop);
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
        if (!strcmp (argv[j], "--version")) {
            printf ("sluiced %s\n", SLUICE_VERSION);
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
            s_config_path = argv[j + 1];
        }
    }
    static char examples[512];
    /* init --with-examples [FILE] is taken out here; what is left are the
     * config flags, parsed again on SIGHUP */
    int w = i;
    for (int r = i; r < argc; r++) {
        if (init && !strcmp (argv[r], "--with-examples")) {
            if (r + 1 < argc && strncmp (argv[r + 1], "--", 2) != 0)
                snprintf (examples, sizeof examples, "%s", argv[++r]);
            else
                s_examples_path (examples, sizeof examples);
            s_with_examples = examples;
            continue;
        }
        argv[w++] = argv[r];
    }
    argv[w] = NULL;
    argc = w;
    if (s_apply_flags (&cfg, argc, argv, i) != 0) {
        sl_config_clear (&cfg);
        return 2;
    }
    s_argc = argc;
    s_argv = argv;
    s_argi = i;
    if (s_apply_log (&cfg) != 0) {
        sl_config_clear (&cfg);
        return 1;
    }
    rc = init ? s_init (&cfg) : s_run (&cfg);
    sl_config_clear (&cfg);
    return rc;
}

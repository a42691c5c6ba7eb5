/*  ctl — option parsing, help, admin calls and output shared by every
    sluicectl command (see ctl.h). */
#include "ctl.h"
#include "sl_error.h"
#include "sl_ini.h"
#include "sl_time.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct option s_common[] = {
    CTL_ARG ("data", CTL_OPT_DATA), CTL_ARG ("endpoint", CTL_OPT_ENDPOINT),
    CTL_ARG ("key", CTL_OPT_KEY), CTL_ARG ("broker-key", CTL_OPT_BROKER_KEY),
    CTL_FLAG ("json", CTL_OPT_JSON), CTL_ARG ("timeout", CTL_OPT_TIMEOUT),
    CTL_FLAG ("help", CTL_OPT_HELP) };
#define S_NCOMMON (sizeof s_common / sizeof s_common[0])

int
ctl_fail (ctl_ctx_t *ctx, int status, const char *fmt, ...)
{
    va_list ap;
    fprintf (stderr, "sluicectl: %s%s", ctx->group ? ctx->group : "", ctx->group ? ": " : "");
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fputc ('\n', stderr);
    return status;
}

void
ctl_usage (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, FILE *out)
{
    fprintf (out, "usage: sluicectl %s%s%s %s\n\n%s\n", ctx->group, cmd->name ? " " : "",
             cmd->name ? cmd->name : "", cmd->usage ? cmd->usage : "", cmd->summary);
    if (cmd->help)
        fprintf (out, "\n%s", cmd->help);
    if (cmd->uses_broker)
        fprintf (out,
                 "\nconnection (also as environment variables):\n"
                 "  --data DIR          broker data directory: DIR/endpoints, DIR/broker.pub,\n"
                 "                      DIR/admin.key  [SLUICE_DATA, default ./var/sluice]\n"
                 "  --endpoint EP       admin endpoint, overrides DIR/endpoints  [SLUICE_ENDPOINT]\n"
                 "  --key FILE          our secret key file (NAME.key, mode 0600)  [SLUICE_KEY]\n"
                 "  --broker-key FILE   the broker's public key  [SLUICE_BROKER_KEY]\n"
                 "  --timeout MS        how long to wait for the broker (default $SLUICE_TIMEOUT or 5000)\n"
                 "  --json              print the result as JSON\n");
    fprintf (out, "  --help              show this help\n");
}

int
ctl_parse (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv,
           const struct option *extra, int (*on_opt) (int c, const char *optarg, void *arg),
           void *arg, int *first)
{
    struct option table[64];
    size_t n = 0;
    for (size_t i = 0; i < S_NCOMMON; i++)
        table[n++] = s_common[i];
    for (size_t i = 0; extra && extra[i].name && n < 63; i++)
        table[n++] = extra[i];
    memset (&table[n], 0, sizeof table[n]);
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long (argc, argv, ":", table, NULL)) != -1) {
        switch (c) {
        case CTL_OPT_DATA: ctx->data_dir = optarg; break;
        case CTL_OPT_ENDPOINT: ctx->endpoint = optarg; break;
        case CTL_OPT_KEY: ctx->key = optarg; break;
        case CTL_OPT_BROKER_KEY: ctx->broker_key = optarg; break;
        case CTL_OPT_JSON: ctx->json = 1; break;
        case CTL_OPT_TIMEOUT: ctx->timeout_ms = atoi (optarg); break;
        case CTL_OPT_HELP:
            ctl_usage (ctx, cmd, stdout);
            return 1;
        case ':':
            ctl_error (ctx, "option '%s' needs a value (see --help)", argv[optind - 1]);
            return 2;
        case '?':
            ctl_error (ctx, "unknown option '%s' (see `sluicectl %s%s%s --help`)", argv[optind - 1],
                       ctx->group, cmd->name ? " " : "", cmd->name ? cmd->name : "");
            return 2;
        default:
            if (!on_opt || on_opt (c, optarg, arg) != 0)
                return 2;
        }
    }
    *first = optind;
    return 0;
}

int
ctl_parse_args (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv,
                const struct option *extra, int (*on_opt) (int c, const char *optarg, void *arg),
                void *arg, int npos, const char *wrong, int *first)
{
    int rc = ctl_parse (ctx, cmd, argc, argv, extra, on_opt, arg, first);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (npos >= 0 && argc - *first != npos)
        return ctl_fail (ctx, 2, "%s", wrong);
    return -1;
}

/*  --timeout, else $SLUICE_TIMEOUT, else 5000 ms. */
static int
s_timeout (const ctl_ctx_t *ctx)
{
    if (ctx->timeout_ms > 0)
        return ctx->timeout_ms;
    const char *e = getenv ("SLUICE_TIMEOUT");
    return e && atoi (e) > 0 ? atoi (e) : 5000;
}

int
ctl_admin (ctl_ctx_t *ctx, const char *command, const cJSON *args, cJSON **result)
{
    return ctl_admin_data (ctx, command, args, NULL, 0, result);
}

int
ctl_admin_data (ctl_ctx_t *ctx, const char *command, const cJSON *args, const void *bulk,
                size_t bulk_len, cJSON **result)
{
    char buf[8192], keypath[4096], brokerpath[4096], err[1024];
    sl_client_options_t opts;
    memset (&opts, 0, sizeof opts);
    *result = NULL;
    const char *data = sl_ini_env (ctx->data_dir, "SLUICE_DATA");
    const char *endpoint = sl_ini_env (ctx->endpoint, "SLUICE_ENDPOINT");
    const char *key = sl_ini_env (ctx->key, "SLUICE_KEY");
    const char *broker_key = sl_ini_env (ctx->broker_key, "SLUICE_BROKER_KEY");
    if (!data)
        data = "./var/sluice";
    if (!endpoint || !broker_key) {
        int rc = sl_options_from_data_dir (&opts, data, 1, buf, sizeof buf, err, sizeof err);
        if (rc != 0 && !endpoint)
            return ctl_fail (ctx, 1, "%s; or give --endpoint and --broker-key", err);
        if (rc != 0) {
            snprintf (brokerpath, sizeof brokerpath, "%s/broker.pub", data);
            opts.broker_key_file = brokerpath;
        }
    }
    if (endpoint)
        opts.endpoint = endpoint;
    if (broker_key)
        opts.broker_key_file = broker_key;
    if (!key) {
        snprintf (keypath, sizeof keypath, "%s/admin.key", data);
        if (access (keypath, F_OK) != 0)
            return ctl_fail (ctx, 1, "no key given: pass --key FILE (or SLUICE_KEY) with an "
                             "admin's secret key; `sluiced init` wrote one as %s", keypath);
        key = keypath;
    }
    opts.key_file = key;
    char *args_text = cJSON_PrintUnformatted (args);
    char *result_text = NULL;
    /* the broker's text is never cut: an apply with many errors lists each */
    size_t big_len = 1u << 20;
    char *big = malloc (big_len);
    if (!big) {
        free (args_text);
        return ctl_fail (ctx, 1, "%s: out of memory", command);
    }
    big[0] = 0;
    int rc = sl_admin_call (&opts, command, args_text ? args_text : "{}", bulk, bulk_len,
                            s_timeout (ctx), &result_text, big, big_len);
    free (args_text);
    if (rc != 0) {
        /* one prefix: the broker's texts already start with the command */
        size_t cl = strlen (command);
        if (strncmp (big, command, cl) == 0 && big[cl] == ':')
            ctl_error (ctx, "%s", big);
        else
            ctl_error (ctx, "%s: %s", command, big);
        free (big);
        return 1;
    }
    free (big);
    *result = cJSON_Parse (result_text);
    if (!*result) {
        ctl_error (ctx, "%s: the broker's result is not JSON: %.200s", command, result_text);
        free (result_text);
        return 1;
    }
    free (result_text);
    return 0;
}

int
ctl_city_zone (const char *given, const char *dir, char *err, size_t errlen)
{
    char name[128] = "";
    const char *env = getenv ("SLUICE_TIMEZONE");
    if (given)
        snprintf (name, sizeof name, "%s", given);
    else if (env && *env)
        snprintf (name, sizeof name, "%s", env);
    else if (dir) {
        char path[4200];
        snprintf (path, sizeof path, "%s/timezone", dir);
        FILE *f = fopen (path, "r");
        if (f) {
            if (fgets (name, sizeof name, f))
                name[strcspn (name, "\r\n")] = 0;
            fclose (f);
        }
    }
    sl_tz_t *zone = *name ? sl_tz_load (name, err, errlen) : NULL;
    if (zone)
        sl_time_set_city_zone (zone);       /* owned there */
    return *name && !zone ? -1 : 0;
}

void
ctl_print_json (const cJSON *json)
{
    char *text = cJSON_Print (json);
    if (text) {
        printf ("%s\n", text);
        free (text);
    }
}

int
ctl_call (ctl_ctx_t *ctx, const char *command, cJSON *args, void (*print) (const cJSON *res))
{
    cJSON *res = NULL;
    int rc = ctl_admin (ctx, command, args, &res);
    cJSON_Delete (args);
    if (rc != 0)
        return rc;
    if (ctx->json)
        ctl_print_json (res);
    else
        print (res);
    cJSON_Delete (res);
    return 0;
}

int
ctl_call_simple (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv, const char *wrong,
                 const char *command, const char *key, void (*print) (const cJSON *res))
{
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, NULL, NULL, NULL, key ? 1 : 0, wrong,
                                    &first);
    if (rc >= 0)
        return rc;
    cJSON *args = cJSON_CreateObject ();
    if (key)
        cJSON_AddStringToObject (args, key, argv[first]);
    return ctl_call (ctx, command, args, print);
}

int
ctl_opt_text (int c, const char *optarg, void *arg)
{
    (void) c;
    *(const char **) arg = optarg;
    return 0;
}

const char *
ctl_str (const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, name);
    return cJSON_IsString (v) ? v->valuestring : "";
}

double
ctl_num (const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, name);
    return cJSON_IsNumber (v) ? v->valuedouble : 0;
}

/*  sluice-gateway: the HTTP/JSON edge a bureau runs on its own network.
 *
 *  Local systems in any language publish, receive and ask over HTTP
 *  (docs/GATEWAY.md); the gateway holds the bureau's CURVE key and speaks
 *  to the broker through libsluice, so the broker still sees one
 *  authenticated member.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "sl_error.h"
#include "sl_gateway.h"
#include "sl_gw_config.h"
#include "sl_gw_http.h"
#include "sl_gw_types.h"
#include "sl_log.h"
#include "sl_signal.h"

static void
s_usage (FILE *f)
{
    fprintf (f,
        "usage: sluice-gateway --config FILE [--listen ADDR:PORT] [--port-file FILE]\n"
        "       sluice-gateway --config FILE --check\n"
        "\n"
        "Serves the bureau's local systems over HTTP/JSON (docs/GATEWAY.md) and\n"
        "speaks to the broker with the bureau's key (CURVE, through libsluice).\n"
        "\n"
        "  --config FILE      the INI file: [gateway], [app NAME], [subscription NAME],\n"
        "                     [owner] (docs/GATEWAY.md section 2)\n"
        "  --listen ADDR:PORT overrides [gateway] listen (default 127.0.0.1:8480;\n"
        "                     port 0 picks a free one)\n"
        "  --port-file FILE   writes the bound port to FILE once listening\n"
        "  --check            reads the configuration, says what is wrong, exits\n"
        "  --help             this text\n"
        "\n"
        "Exit status: 0 stopped by SIGTERM/SIGINT or --check passed; 2 bad usage or\n"
        "configuration; 3 cannot listen.\n");
}

int
main (int argc, char **argv)
{
    const char *config = NULL, *listen = NULL, *port_file = NULL;
    int check = 0;
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' }, { "listen", required_argument, NULL, 'l' },
        { "port-file", required_argument, NULL, 'p' }, { "check", no_argument, NULL, 'k' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
    int c;
    while ((c = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'l': listen = optarg; break;
        case 'p': port_file = optarg; break;
        case 'k': check = 1; break;
        case 'h': s_usage (stdout); return 0;
        default: s_usage (stderr); return 2;
        }
    }
    if (!config || optind != argc) {
        s_usage (stderr);
        return 2;
    }
    if (sodium_init () < 0)
        return 1;
    static sl_gw_config_t cfg;
    char err[600];
    sl_gw_config_defaults (&cfg);
    if (sl_gw_config_load (&cfg, config, err, sizeof err) != 0) {
        fprintf (stderr, "sluice-gateway: %s\n", err);
        return 2;
    }
    if (listen)
        snprintf (cfg.listen, sizeof cfg.listen, "%s", listen);
    if (check) {
        printf ("%s: ok (%zu apps, %zu subscriptions%s)\n", config, cfg.napps, cfg.nsubs,
                cfg.owner_url[0] ? ", answers queries" : "");
        return 0;
    }
    sl_gw_types_configure (&cfg);
    curl_global_init (CURL_GLOBAL_DEFAULT);
    sl_signal_catch (0);
    signal (SIGPIPE, SIG_IGN);

    sl_gateway_t *gw = NULL;
    sl_gw_http_t *http = NULL;
    unsigned port = 0;
    int status = 0;
    if (sl_gateway_new (&cfg, &gw, err, sizeof err) != 0) {
        fprintf (stderr, "sluice-gateway: %s\n", err);
        status = 1;
        goto out;
    }
    if (sl_gw_http_start (&cfg, gw, &http, &port, err, sizeof err) != 0) {
        fprintf (stderr, "sluice-gateway: %s\n", err);
        status = 3;
        goto out;
    }
    sl_info ("gateway.listening", "url=%s://%.*s:%u apps=%zu subscriptions=%zu",
             cfg.tls_cert[0] ? "https" : "http", (int) (strrchr (cfg.listen, ':') - cfg.listen),
             cfg.listen, port, cfg.napps, cfg.nsubs);
    if (port_file) {
        char tmp[600];
        snprintf (tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen (tmp, "w");
        if (!f || fprintf (f, "%u\n", port) < 0 || fclose (f) != 0 || rename (tmp, port_file) != 0) {
            fprintf (stderr, "sluice-gateway: cannot write %s\n", port_file);
            status = 1;
            goto out;
        }
    }
    while (!sl_signal_stop)
        pause ();
    sl_info ("gateway.stopping", NULL);
out:
    if (gw)
        sl_gateway_stop (gw);
    sl_gw_http_stop (&http);
    sl_gateway_destroy (&gw);
    curl_global_cleanup ();
    return status;
}

/*  sluice-console — the web console for bureau administrators, the city
    administrator and auditors (docs/CONSOLE.md). It holds the user's own
    key, talks to the broker's admin plane as sluicectl does, and serves
    pages on 127.0.0.1 to one browser session opened with a one-time URL. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_console.h"
#include "sl_ini.h"

static void
s_usage (FILE *f)
{
    fprintf (f,
"usage: sluice-console [options]\n"
"\n"
"Serves the sluice web console on 127.0.0.1 and prints the URL to open, with a\n"
"one-time login token. Every action goes to the broker's admin plane signed\n"
"with your key: the broker checks your role and records what you do.\n"
"\n"
"options (also as environment variables, as for sluicectl):\n"
"  --data DIR          broker data directory: DIR/endpoints, DIR/broker.pub,\n"
"                      DIR/admin.key  [SLUICE_DATA, default ./var/sluice]\n"
"  --endpoint EP       admin endpoint, overrides DIR/endpoints  [SLUICE_ENDPOINT]\n"
"  --key FILE          your secret key file (NAME.key, mode 0600)  [SLUICE_KEY]\n"
"  --broker-key FILE   the broker's public key  [SLUICE_BROKER_KEY]\n"
"  --listen ADDR:PORT  where to serve (a 127.x.x.x address; port 0 picks a\n"
"                      free one), default 127.0.0.1:5580\n"
"  --timeout MS        how long to wait for the broker (default 5000)\n"
"  --consent-source    the key is the city's consent channel (role\n"
"                      consent-source): only the Consents page, whose grants and\n"
"                      withdrawals go as ConsentEvent publishes on the data plane\n"
"  --data-endpoint EP  data plane endpoint for --consent-source, overrides\n"
"                      DIR/endpoints\n"
"  --help              this text\n");
}

/*  Prints "sluice-console: " and the message (a string literal and its
    arguments) to stderr, and yields `status`. */
#define S_FAIL(status, ...) (fprintf (stderr, "sluice-console: " __VA_ARGS__), (status))

int
main (int argc, char **argv)
{
    static const struct option opts[] = {
        { "data", required_argument, NULL, 'd' }, { "endpoint", required_argument, NULL, 'e' },
        { "key", required_argument, NULL, 'k' }, { "broker-key", required_argument, NULL, 'b' },
        { "listen", required_argument, NULL, 'l' }, { "timeout", required_argument, NULL, 't' },
        { "consent-source", no_argument, NULL, 'C' },
        { "data-endpoint", required_argument, NULL, 'D' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
    const char *data = NULL, *endpoint = NULL, *key = NULL, *broker_key = NULL;
    const char *listen = "127.0.0.1:5580";
    sl_console_t c;
    memset (&c, 0, sizeof c);
    c.timeout_ms = 5000;
    int ch;
    opterr = 0;
    while ((ch = getopt_long (argc, argv, ":", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': data = optarg; break;
        case 'e': endpoint = optarg; break;
        case 'k': key = optarg; break;
        case 'b': broker_key = optarg; break;
        case 'l': listen = optarg; break;
        case 't': c.timeout_ms = atoi (optarg) > 0 ? atoi (optarg) : 5000; break;
        case 'C': c.consent_source = 1; break;
        case 'D': snprintf (c.data_endpoint, sizeof c.data_endpoint, "%s", optarg); break;
        case 'h': s_usage (stdout); return 0;
        case ':':
            return S_FAIL (2, "option '%s' needs a value (see --help)\n", argv[optind - 1]);
        default:
            return S_FAIL (2, "unknown option '%s' (see --help)\n", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return S_FAIL (2, "unexpected argument '%s' (see --help)\n", argv[optind]);
    /* the connection, resolved as sluicectl resolves it */
    data = sl_ini_env (data, "SLUICE_DATA");
    endpoint = sl_ini_env (endpoint, "SLUICE_ENDPOINT");
    key = sl_ini_env (key, "SLUICE_KEY");
    broker_key = sl_ini_env (broker_key, "SLUICE_BROKER_KEY");
    if (!data)
        data = "./var/sluice";
    char buf[4096], err[1024];
    if (!endpoint || !broker_key) {
        sl_client_options_t o;
        memset (&o, 0, sizeof o);
        int rc = sl_options_from_data_dir (&o, data, 1, buf, sizeof buf, err, sizeof err);
        if (rc != 0 && !endpoint)
            return S_FAIL (1, "%s; or give --endpoint and --broker-key\n", err);
        if (rc == 0) {
            snprintf (c.endpoint, sizeof c.endpoint, "%s", o.endpoint);
            snprintf (c.broker_key_file, sizeof c.broker_key_file, "%s", o.broker_key_file);
        }
        else
            snprintf (c.broker_key_file, sizeof c.broker_key_file, "%s/broker.pub", data);
    }
    if (endpoint)
        snprintf (c.endpoint, sizeof c.endpoint, "%s", endpoint);
    if (broker_key)
        snprintf (c.broker_key_file, sizeof c.broker_key_file, "%s", broker_key);
    if (key)
        snprintf (c.key_file, sizeof c.key_file, "%s", key);
    else {
        snprintf (c.key_file, sizeof c.key_file, "%s/admin.key", data);
        if (access (c.key_file, F_OK) != 0)
            return S_FAIL (1, "no key given: pass --key FILE (or SLUICE_KEY) with your own "
                           "secret key\n");
    }
    /* where to listen: loopback only */
    char host[64];
    const char *colon = strrchr (listen, ':');
    char *end = NULL;
    long port = colon ? strtol (colon + 1, &end, 10) : -1;
    struct in_addr a;
    if (!colon || (size_t) (colon - listen) >= sizeof host || !end || *end || port < 0
        || port > 65535)
        return S_FAIL (2, "--listen '%s': expected ADDR:PORT, e.g. 127.0.0.1:5580\n", listen);
    memcpy (host, listen, (size_t) (colon - listen));
    host[colon - listen] = 0;
    if (inet_pton (AF_INET, host, &a) != 1 || (ntohl (a.s_addr) >> 24) != 127)
        return S_FAIL (2, "--listen '%s': the console serves on loopback only "
                       "(127.x.x.x); reach it from elsewhere through an SSH tunnel\n", listen);
    if (c.consent_source && !c.data_endpoint[0]) {
        sl_client_options_t o;
        memset (&o, 0, sizeof o);
        if (sl_options_from_data_dir (&o, data, 0, buf, sizeof buf, err, sizeof err) == 0)
            snprintf (c.data_endpoint, sizeof c.data_endpoint, "%s", o.endpoint);
    }
    if (c.consent_source ? sl_console_whoami_data (&c, err, sizeof err) != 0
                         : sl_console_whoami (&c, err, sizeof err) != 0)
        return S_FAIL (1, "%s\n", err);
    /* the server's thread inherits this mask: the main thread alone takes
       the signals, with sigwait */
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGHUP);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    signal (SIGPIPE, SIG_IGN);
    sl_web_t *web = sl_web_new (host, (uint16_t) port, sl_console_handle, &c, err, sizeof err);
    if (!web)
        return S_FAIL (1, "%s\n", err);
    printf ("sluice-console: signed in to %s as %s (%s)\n", c.endpoint, c.member, c.role);
    printf ("open this URL in your browser (it works once):\n%s\n", sl_web_login_url (web));
    fflush (stdout);
    int sig = 0;
    sigwait (&set, &sig);
    sl_web_destroy (&web);
    fprintf (stderr, "sluice-console: stopped (signal %d)\n", sig);
    return 0;
}

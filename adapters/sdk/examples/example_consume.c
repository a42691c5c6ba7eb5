/*  sluice-example-consume: subscribes to a record type for a purpose,
    receives records through libsluice, prints and acknowledges them.

    usage: sluice-example-consume --data DIR --key power.key
               --record-type water.v1.MeterReading --purpose joint-metering
               [--count N] [--timeout MS]
*/
#include "example_common.h"

#include <getopt.h>

int
main (int argc, char **argv)
{
    const char *data = NULL, *key = NULL, *type = NULL, *purpose = NULL;
    setvbuf (stdout, NULL, _IOLBF, 0);
    int count = 1, timeout = 10000, c;
    static const struct option longopts[] = {
        { "data", required_argument, NULL, 'd' }, { "key", required_argument, NULL, 'k' },
        { "record-type", required_argument, NULL, 't' }, { "purpose", required_argument, NULL, 'p' },
        { "count", required_argument, NULL, 'n' }, { "timeout", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
    while ((c = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'k': key = optarg; break;
        case 't': type = optarg; break;
        case 'p': purpose = optarg; break;
        case 'n': count = atoi (optarg); break;
        case 'T': timeout = atoi (optarg); break;
        case 'h':
            printf ("usage: %s --data DIR --key power.key --record-type TYPE --purpose WORD "
                    "[--count N] [--timeout MS]\n", argv[0]);
            return 0;
        default: return 2;
        }
    }
    if (!type || !purpose) {
        fprintf (stderr, "need --record-type TYPE and --purpose WORD\n");
        return 2;
    }
    sl_client_t *client = example_connect (data, key);
    if (!client)
        return 1;
    printf ("connected as member '%s'\n", sl_client_member (client));
    int rc = sl_client_subscribe (client, type, purpose);
    if (rc != 0) {
        fprintf (stderr, "subscribe: %s\n", sl_client_last_error (client));
        sl_client_destroy (&client, 0);
        return 1;
    }
    printf ("subscribed to %s for purpose %s\n", type, purpose);
    int got = 0;
    while (got < count) {
        sl_delivery_t *d;
        rc = sl_client_recv (client, &d, timeout);
        if (rc != 0) {
            fprintf (stderr, "receive: nothing arrived within %d ms (%s)\n", timeout, sl_strerror (rc));
            sl_client_destroy (&client, 0);
            return 1;
        }
        size_t size;
        const void *body = sl_delivery_body (d, &size);
        printf ("received %s from %s (purpose %s, subject %s, delivery tag %llu):\n",
                sl_delivery_record_type (d), sl_delivery_owner (d), sl_delivery_purpose (d),
                sl_delivery_subject (d), (unsigned long long) sl_delivery_tag (d));
        for (size_t i = 0; i < sl_delivery_rule_count (d); i++)
            printf ("  decided by rule %s\n", sl_delivery_rule (d, i));
        example_print_record (stdout, sl_delivery_record_type (d), body, size);
        sl_client_ack (client, d);
        sl_delivery_destroy (&d);
        got++;
    }
    sl_client_flush (client, 2000);
    printf ("acknowledged %d record(s)\n", got);
    sl_client_destroy (&client, 1000);
    return 0;
}

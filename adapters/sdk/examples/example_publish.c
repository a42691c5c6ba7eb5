/*  sluice-example-publish: publishes water.v1.MeterReading records through
    libsluice and waits for the broker's ACK of each.

    usage: sluice-example-publish --data DIR --key water.key
               [--subject C-1001] [--count N] [--district Nord]
*/
#include "example_common.h"

#include <getopt.h>
#include <time.h>

#include "water/v1/water.pb-c.h"

int
main (int argc, char **argv)
{
    const char *data = NULL, *key = NULL, *subject = "C-1001", *district = "Nord";
    setvbuf (stdout, NULL, _IOLBF, 0);
    int count = 1, c;
    static const struct option longopts[] = {
        { "data", required_argument, NULL, 'd' }, { "key", required_argument, NULL, 'k' },
        { "subject", required_argument, NULL, 's' }, { "count", required_argument, NULL, 'n' },
        { "district", required_argument, NULL, 'D' }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 } };
    while ((c = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'k': key = optarg; break;
        case 's': subject = optarg; break;
        case 'n': count = atoi (optarg); break;
        case 'D': district = optarg; break;
        case 'h':
            printf ("usage: %s --data DIR --key water.key [--subject ID] [--count N] "
                    "[--district NAME]\n", argv[0]);
            return 0;
        default: return 2;
        }
    }
    sl_client_t *client = example_connect (data, key);
    if (!client)
        return 1;
    printf ("connected as member '%s' (broker %s)\n", sl_client_member (client),
            sl_client_broker_version (client));
    for (int i = 0; i < count; i++) {
        Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
        char id[96], dev[32], subj[64];
        time_t now = time (NULL);
        snprintf (dev, sizeof dev, "WM-%04d", 17 + i);
        snprintf (id, sizeof id, "%s:%lld", dev, (long long) now);
        snprintf (subj, sizeof subj, "%s", subject);
        r.id = id;
        r.ref_device = dev;
        r.subject = subj;
        r.district = (char *) district;
        r.date_observed = now;
        r.water_consumption_m3 = 1234.5 + i;
        r.max_flow_m3h = 1.2;
        r.min_flow_m3h = 0.0;
        uint8_t body[512];
        size_t len = water__v1__meter_reading__pack (&r, body);
        sl_publish_meta_t meta = { NULL, subj, (int64_t) now * 1000 };
        int rc = sl_client_publish (client, "water.v1.MeterReading", &meta, body, len, 10000);
        if (rc != 0) {
            fprintf (stderr, "publish: %s\n", sl_client_last_error (client));
            sl_client_destroy (&client, 0);
            return 1;
        }
        printf ("published water.v1.MeterReading %s for subject %s: stored by the broker (ACK)\n",
                id, subj);
    }
    sl_client_destroy (&client, 1000);
    return 0;
}

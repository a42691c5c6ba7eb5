/*  sluice-consent-app: the back end of a city's consent app, which a
    citizen uses to give or withdraw consent. It is a member with role
    `consent-source` and publishes each decision as a sluice.v1.ConsentEvent
    through the ordinary data plane (docs/CONSENT.md); the broker's consent
    registry applies it, audits it, and from then on decides with it.

    usage: sluice-consent-app --data DIR --key city-app.key
               (give|withdraw) --id CONSENT_ID --subject CITIZEN
               [--controller health --recipient parking --purpose P --record-type T
                --valid-days N --evidence REF]

    `give` needs controller, recipient, purpose and record type; `withdraw`
    needs only the consent id and subject. Exit status: 0 applied; 1 refused
    by the broker (the reason on stderr); 2 bad usage; 3 could not connect. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sluice.h"
#include "sluice/v1/consent.pb-c.h"

int
main (int argc, char **argv)
{
    const char *data = getenv ("SLUICE_DATA"), *key = getenv ("SLUICE_KEY");
    char *id = NULL, *subject = NULL, *controller = NULL, *recipient = NULL, *purpose = NULL,
         *record_type = NULL, *evidence = "app-receipt";
    long valid_days = 365;
    static const struct option longopts[] = {
        { "data", required_argument, NULL, 'd' }, { "key", required_argument, NULL, 'k' },
        { "id", required_argument, NULL, 'i' }, { "subject", required_argument, NULL, 's' },
        { "controller", required_argument, NULL, 'c' }, { "recipient", required_argument, NULL, 'r' },
        { "purpose", required_argument, NULL, 'p' }, { "record-type", required_argument, NULL, 't' },
        { "valid-days", required_argument, NULL, 'v' }, { "evidence", required_argument, NULL, 'e' },
        { NULL, 0, NULL, 0 } };
    int c;
    while ((c = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'k': key = optarg; break;
        case 'i': id = optarg; break;
        case 's': subject = optarg; break;
        case 'c': controller = optarg; break;
        case 'r': recipient = optarg; break;
        case 'p': purpose = optarg; break;
        case 't': record_type = optarg; break;
        case 'v': valid_days = atol (optarg); break;
        case 'e': evidence = optarg; break;
        default: return 2;
        }
    }
    const char *verb = optind + 1 == argc ? argv[optind] : "";
    int give = !strcmp (verb, "give");
    if ((!give && strcmp (verb, "withdraw")) || !data || !key || !id || !subject
        || (give && (!controller || !recipient || !purpose || !record_type))) {
        fprintf (stderr, "usage: sluice-consent-app --data DIR --key KEY (give|withdraw) --id ID "
                         "--subject CITIZEN\n    [--controller OWNER --recipient MEMBER --purpose P "
                         "--record-type TYPE --valid-days N --evidence REF]\n");
        return 2;
    }

    Sluice__V1__ConsentEvent ev = SLUICE__V1__CONSENT_EVENT__INIT;
    int64_t now = (int64_t) time (NULL);
    ev.consent_id = id;
    ev.kind = give ? SLUICE__V1__CONSENT_EVENT__KIND__GIVEN : SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN;
    ev.subject = subject;
    ev.time = now;
    if (give) {
        ev.controller = controller;
        ev.recipient = recipient;
        ev.n_purposes = 1;
        ev.purposes = &purpose;
        ev.n_record_types = 1;
        ev.record_types = &record_type;
        ev.valid_from = now - 60;
        ev.valid_to = valid_days > 0 ? now + valid_days * 86400 : 0;
        ev.collection_method = "app";
        ev.evidence = evidence;
    }
    size_t len = sluice__v1__consent_event__get_packed_size (&ev);
    uint8_t *body = malloc (len ? len : 1);
    if (!body)
        return 3;
    sluice__v1__consent_event__pack (&ev, body);

    sl_client_options_t opts = { 0 };
    char buf[8192], err[512];
    sl_client_t *client = NULL;
    int rc = 3;
    if (sl_options_from_data_dir (&opts, data, 0, buf, sizeof buf, err, sizeof err) != 0
        || (opts.key_file = key, sl_client_connect (&opts, &client, err, sizeof err)) != 0) {
        fprintf (stderr, "sluice-consent-app: %s\n", err);
        goto out;
    }
    /* the subject travels in the header too: the broker never logs it raw */
    sl_publish_meta_t meta = { NULL, subject, now * 1000 };
    if (sl_client_publish (client, "sluice.v1.ConsentEvent", &meta, body, len, 10000) != 0) {
        fprintf (stderr, "sluice-consent-app: refused: %s\n", sl_client_last_error (client));
        rc = 1;
        goto out;
    }
    printf ("consent %s %s by %s: applied by the broker\n", id, give ? "given" : "withdrawn",
            subject);
    rc = 0;
out:
    sl_client_destroy (&client, 1000);
    free (body);
    return rc;
}

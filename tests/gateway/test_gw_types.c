/*  sl_gw_types: record types as the gateway's threads see them. The example
 *  bureaus' types are installed before main (tests/schemas/examples_ctor.c),
 *  as if learned from the broker; no broker runs here. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sl_error.h"
#include "sl_gw_config.h"
#include "sl_gw_types.h"

Test (gw_types, known_types_and_what_is_a_time_field)
{
    int rc = -1;
    const sl_schema_t *s = sl_gw_types_find ("water.v1.MeterReading", &rc, NULL, 0);
    cr_assert_not_null (s);
    cr_assert_eq (rc, 0);
    sl_json_options_t o = sl_gw_types_json (s);
    const ProtobufCFieldDescriptor *t =
        protobuf_c_message_descriptor_get_field_by_name (s->descriptor, "date_observed");
    const ProtobufCFieldDescriptor *v =
        protobuf_c_message_descriptor_get_field_by_name (s->descriptor, "water_consumption_m3");
    cr_assert (o.is_time (s->descriptor, t, o.time_arg), "date_observed is a time field");
    cr_assert_not (o.is_time (s->descriptor, v, o.time_arg));
    const sl_schema_t *h = sl_gw_types_find ("health.v1.Encounter", NULL, NULL, 0);
    cr_assert_not_null (h);
    cr_assert_not (o.is_time (h->descriptor, t, o.time_arg),
                   "only on the record's own message");

    const sl_schema_t *all[64];
    size_t n = sl_gw_types_list (all, 64);
    int water = 0;
    for (size_t i = 0; i < n; i++)
        water += !strcmp (all[i]->record_type, "water.v1.MeterReading");
    cr_assert_eq (water, 1, "the list holds each known type once");
}

Test (gw_types, unknown_types_say_why)
{
    char err[300];
    int rc = 0;
    /* no broker configured: the gateway cannot ask, so it must not say "not registered" */
    cr_assert_null (sl_gw_types_find ("waste.v1.Collection", &rc, err, sizeof err));
    cr_assert_eq (rc, SL_EAGAIN, "%s", err);
    static sl_gw_config_t cfg;
    sl_gw_config_defaults (&cfg);
    snprintf (cfg.key, sizeof cfg.key, "/nonexistent/water.key");
    snprintf (cfg.data, sizeof cfg.data, "/nonexistent/data");
    sl_gw_types_configure (&cfg);
    cr_assert_null (sl_gw_types_find ("waste.v1.Collection", &rc, err, sizeof err));
    cr_assert_eq (rc, SL_EAGAIN);
    cr_assert_not_null (strstr (err, "/nonexistent/data/endpoints"), "%s", err);
    char longname[300];
    memset (longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    cr_assert_null (sl_gw_types_find (longname, &rc, err, sizeof err));
    cr_assert_eq (rc, SL_ENOTFOUND);
}

static void *
s_lookups (void *arg)
{
    (void) arg;
    for (int i = 0; i < 2000; i++)
        if (!sl_gw_types_find (i % 2 ? "water.v1.MeterReading" : "power.v1.MeterReading", NULL,
                               NULL, 0))
            return (void *) 1;
    return NULL;
}

Test (gw_types, many_threads_at_once)
{
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create (&th[i], NULL, s_lookups, NULL);
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join (th[i], &r);
        cr_assert_null (r);
    }
}

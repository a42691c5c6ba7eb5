/*  rel_load — see rel_load.h. */
#include "rel_load.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl.h"
#include "torn_journal.h"
#include "water/v1/water.pb-c.h"

#define WATER "water.v1.MeterReading"

void
rel_load_init (rel_load_t *l, const char *prefix, uint32_t tag, uint32_t max, size_t unacked_max,
               const char *device)
{
    *l = (rel_load_t) { .prefix = prefix, .tag = tag, .max = max, .unacked_max = unacked_max,
                        .device = device };
    l->ack_ns = calloc (max, sizeof *l->ack_ns);
    l->delivered = calloc (max, sizeof *l->delivered);
    l->durable = calloc (max, 1);
    l->audited = calloc (max, 1);
    cr_assert (l->ack_ns && l->delivered && l->durable && l->audited);
}

void
rel_load_free (rel_load_t *l)
{
    free (l->ack_ns);
    free (l->delivered);
    free (l->durable);
    free (l->audited);
    l->ack_ns = NULL;
    l->delivered = NULL;
    l->durable = l->audited = NULL;
}

/*  The torn-write journal's clock, so ACK times compare with its entries. */
uint64_t
rel_now_ns (void)
{
    return torn_now_ns ();
}

/*  The record number of a message id of the run, or -1. */
static int64_t
s_num (const rel_load_t *l, const uint8_t *id)
{
    return tl_run_num (id, l->prefix, l->tag, l->max);
}

static void
s_on_ack (const uint8_t *id, int rc, const char *text, void *arg)
{
    rel_load_t *l = arg;
    int64_t n = s_num (l, id);
    if (n < 0)
        return;
    if (rc != 0) {
        l->refused++;
        fprintf (stderr, "%s: record %lld refused: %s\n", l->prefix, (long long) n, text);
    }
    else if (!l->ack_ns[n])
        l->ack_ns[n] = rel_now_ns ();
}

void
rel_load_publish (rel_load_t *l, sl_client_t *pub, unsigned count)
{
    uint8_t body[256], id[16];
    for (unsigned i = 0; i < count && l->next < l->max; i++) {
        if (sl_client_unacked (pub) > l->unacked_max)
            return;
        uint32_t n = l->next;
        Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
        char subj[32], meter[32];
        snprintf (subj, sizeof subj, "citizen-%u", n % 97);
        snprintf (meter, sizeof meter, "m-%u", n % 13);
        r.subject = subj;
        r.ref_device = l->device ? (char *) l->device : meter;
        r.date_observed = 1764300000 + n;
        r.district = "north";
        r.water_consumption_m3 = n * 0.5;
        cr_assert (water__v1__meter_reading__get_packed_size (&r) <= sizeof body);
        size_t len = water__v1__meter_reading__pack (&r, body);
        tl_run_id (id, l->prefix, l->tag, n);
        sl_publish_meta_t m = { .message_id = id, .subject = subj };
        int rc = sl_client_publish_async (pub, WATER, &m, body, len, s_on_ack, l, NULL);
        cr_assert_eq (rc, 0, "publish_async: %s", sl_strerror (rc));
        l->next++;
    }
}

int
rel_load_consume (rel_load_t *l, sl_client_t *con, int timeout_ms)
{
    int got = 0;
    sl_delivery_t *d;
    while (sl_client_recv (con, &d, got ? 0 : timeout_ms) == 0) {
        int64_t n = s_num (l, sl_delivery_message_id (d));
        if (n < 0)
            l->foreign++;
        else
            l->delivered[n]++;
        cr_assert_eq (sl_client_ack (con, d), 0);
        sl_delivery_destroy (&d);
        got++;
        l->consumed++;
    }
    return got;
}

/*  Sets marks[n] for the id of record n of the run. */
static void
s_mark (const rel_load_t *l, uint8_t *marks, const uint8_t *id)
{
    int64_t n = s_num (l, id);
    if (n >= 0)
        marks[n] = 1;
}

static void
s_on_msgid (void *arg, const uint8_t id[16])
{
    s_mark (arg, ((rel_load_t *) arg)->durable, id);
}

static void
s_on_deliver (void *arg, const uint8_t id[16])
{
    s_mark (arg, ((rel_load_t *) arg)->audited, id);
}

rel_report_t
rel_load_check (rel_load_t *l, const char *data_dir, const char *when)
{
    rel_report_t r;
    memset (l->durable, 0, l->max);
    memset (l->audited, 0, l->max);
    int rc = rel_check (data_dir, "water", "power", s_on_msgid, s_on_deliver, l, &r);
    cr_assert_eq (rc, 0, "%s: %s", when, r.problem);
    return r;
}

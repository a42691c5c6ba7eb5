/*  sl_outbox: how libsluice batches publishes and resends them. */
#include <criterion/criterion.h>
#include <string.h>

#include "sl_outbox.h"

static void
s_id (uint8_t id[SL_MESSAGE_ID_LEN], int n)
{
    memset (id, 0, SL_MESSAGE_ID_LEN);
    id[0] = (uint8_t) n;
    id[1] = (uint8_t) (n >> 8);
}

static sl_outrec_t *
s_add (sl_outbox_t *ob, int n, const char *type, size_t size)
{
    uint8_t id[SL_MESSAGE_ID_LEN];
    char body[4096];
    memset (body, 'x', sizeof body);
    s_id (id, n);
    return sl_outbox_add (ob, id, type, "C-1", 1000 + n, body, size);
}

Test (outbox, idle_link_sends_each_record_at_once)
{
    sl_outbox_t *ob = sl_outbox_new (256, 4, 0);
    sl_outrec_t *batch[16];
    s_add (ob, 1, "water.v1.MeterReading", 10);
    cr_assert_eq (sl_outbox_next_batch (ob, 1, 0, batch, 16), 1);
    cr_assert_eq (batch[0]->seq, 1);
    cr_assert_eq (sl_outbox_inflight (ob), 1);
    cr_assert_eq (sl_outbox_batches (ob), 1);
    sl_outbox_take (ob, batch[0]);
    sl_outrec_free (&batch[0]);
    cr_assert_null (batch[0]);
    cr_assert_eq (sl_outbox_count (ob), 0);
    cr_assert_eq (sl_outbox_batches (ob), 0, "the batch ends with its last record");
    sl_outbox_destroy (&ob);
    cr_assert_null (ob);
    sl_outbox_destroy (&ob);      /* twice is harmless */
}

Test (outbox, busy_link_gathers_records_into_one_batch)
{
    sl_outbox_t *ob = sl_outbox_new (256, 1, 0);
    sl_outrec_t *batch[512];
    s_add (ob, 1, "water.v1.MeterReading", 10);
    cr_assert_eq (sl_outbox_next_batch (ob, 1, 0, batch, 512), 1);
    for (int i = 2; i <= 101; i++)
        s_add (ob, i, "water.v1.MeterReading", 10);
    cr_assert_eq (sl_outbox_next_batch (ob, 2, 0, batch, 512), 0,
                  "the window (inflight_max 1) is full: records wait and gather");
    sl_outrec_t *first = sl_outbox_find (ob, (uint8_t[SL_MESSAGE_ID_LEN]) { 1 });
    cr_assert_not_null (first);
    sl_outbox_take (ob, first);
    sl_outrec_free (&first);
    cr_assert_eq (sl_outbox_next_batch (ob, 2, 0, batch, 512), 100, "one PUBLISH for 100 records");
    for (int i = 0; i < 100; i++)
        cr_assert_eq (batch[i]->id[0], (uint8_t) (i + 2), "publish order is kept");
    sl_outbox_destroy (&ob);
}

Test (outbox, batch_respects_batch_max_and_bytes)
{
    /* an outbox of batch_max and batch_bytes (inflight_max 8), n records of
       `size` bytes: the sizes of its batches in turn (0: no more) */
    static const struct {
        const char *name;
        size_t batch_max, batch_bytes;
        int n, size, want[4];
    } rows[] = {
        { "10 records a batch", 10, 3000, 25, 100, { 10, 10, 5 } },
        { "3 x 1000 bytes fit in 3000", 100, 3000, 5, 1000, { 3, 2 } },
        { "one record always goes alone", 100, 100, 1, 4000, { 1 } },
    };
    sl_outrec_t *batch[64];
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        sl_outbox_t *ob = sl_outbox_new (rows[r].batch_max, 8, rows[r].batch_bytes);
        for (int i = 1; i <= rows[r].n; i++)
            s_add (ob, i, "water.v1.MeterReading", (size_t) rows[r].size);
        for (int k = 0; k < 4 && rows[r].want[k]; k++)
            cr_assert_eq (sl_outbox_next_batch (ob, (uint64_t) k + 1, 0, batch, 64), rows[r].want[k],
                          "%s: batch %d", rows[r].name, k + 1);
        sl_outbox_destroy (&ob);
    }
}

Test (outbox, a_batch_holds_one_record_type)
{
    sl_outbox_t *ob = sl_outbox_new (256, 4, 0);
    sl_outrec_t *batch[16];
    s_add (ob, 1, "water.v1.MeterReading", 10);
    s_add (ob, 2, "power.v1.MeterReading", 10);
    s_add (ob, 3, "water.v1.MeterReading", 10);
    cr_assert_eq (sl_outbox_next_batch (ob, 1, 0, batch, 16), 2);
    cr_assert_str_eq (batch[0]->record_type, "water.v1.MeterReading");
    cr_assert_eq (batch[1]->id[0], 3);
    cr_assert_eq (sl_outbox_next_batch (ob, 2, 0, batch, 16), 1);
    cr_assert_str_eq (batch[0]->record_type, "power.v1.MeterReading");
    sl_outbox_destroy (&ob);
}

Test (outbox, reconnect_requeues_in_order_with_same_ids)
{
    sl_outbox_t *ob = sl_outbox_new (2, 4, 0);
    sl_outrec_t *batch[16];
    for (int i = 1; i <= 5; i++)
        s_add (ob, i, "water.v1.MeterReading", 10);
    cr_assert_eq (sl_outbox_next_batch (ob, 1, 0, batch, 16), 2);
    cr_assert_eq (sl_outbox_next_batch (ob, 2, 0, batch, 16), 2);
    cr_assert_eq (sl_outbox_inflight (ob), 4);
    cr_assert_eq (sl_outbox_requeue_all (ob), 4);
    cr_assert_eq (sl_outbox_inflight (ob), 0);
    cr_assert_eq (sl_outbox_batches (ob), 0);
    cr_assert_not (sl_outbox_has_batch (ob, 1));
    cr_assert_eq (sl_outbox_next_batch (ob, 7, 0, batch, 16), 2);
    cr_assert_eq (batch[0]->id[0], 1);
    cr_assert_eq (batch[1]->id[0], 2);
    cr_assert_eq (sl_outbox_count (ob), 5, "nothing is lost by a reconnect");
    sl_outbox_destroy (&ob);
}

Test (outbox, unacked_batches_expire_and_are_resent)
{
    sl_outbox_t *ob = sl_outbox_new (256, 4, 0);
    sl_outrec_t *batch[16];
    s_add (ob, 1, "water.v1.MeterReading", 10);
    cr_assert_eq (sl_outbox_next_batch (ob, 1, 1000, batch, 16), 1);
    s_add (ob, 2, "water.v1.MeterReading", 10);
    cr_assert_eq (sl_outbox_next_batch (ob, 2, 4000, batch, 16), 1);
    cr_assert_eq (sl_outbox_expire (ob, 3500, 3000), 0, "nothing older than 3 s yet");
    cr_assert_eq (sl_outbox_expire (ob, 6000, 3000), 1, "batch 1 sent at 1000 expired");
    cr_assert_not (sl_outbox_has_batch (ob, 1));
    cr_assert (sl_outbox_has_batch (ob, 2));
    cr_assert_eq (sl_outbox_next_batch (ob, 3, 6000, batch, 16), 1);
    cr_assert_eq (batch[0]->id[0], 1);
    sl_outbox_destroy (&ob);
}

Test (outbox, batch_records_lists_what_is_left)
{
    sl_outbox_t *ob = sl_outbox_new (256, 4, 0);
    sl_outrec_t *batch[16], *left[16];
    for (int i = 1; i <= 3; i++)
        s_add (ob, i, "water.v1.MeterReading", 10);
    cr_assert_eq (sl_outbox_next_batch (ob, 9, 0, batch, 16), 3);
    sl_outrec_t *r = batch[1];
    sl_outbox_take (ob, r);
    sl_outrec_free (&r);
    cr_assert_eq (sl_outbox_batch_records (ob, 9, left, 16), 2);
    cr_assert_eq (left[0]->id[0], 1);
    cr_assert_eq (left[1]->id[0], 3);
    cr_assert (sl_outbox_has_batch (ob, 9));
    cr_assert_eq (sl_outbox_batch_records (ob, 8, left, 16), 0);
    sl_outbox_destroy (&ob);
}

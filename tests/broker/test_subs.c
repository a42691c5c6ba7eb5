/*  sl_subs: durable subscriptions. */
#include "unit_util.h"

#include "sl_batch.h"
#include "sl_error.h"
#include "sl_subs.h"

Test (subs, add_remove_persist)
{
    sl_store_t *st = u_store ();
    sl_subs_t *s = sl_subs_new (st);
    sl_batch_t *b = sl_batch_new (st, 10, 1000);
    MDB_txn *txn;
    int created;
    sl_batch_txn (b, &txn);
    cr_assert_eq (sl_subs_add (s, txn, "power", "water.v1.MeterReading", "joint-metering", &created), 0);
    cr_assert_eq (created, 1);
    cr_assert_eq (sl_subs_add (s, txn, "power", "water.v1.MeterReading", "joint-metering", &created), 0);
    cr_assert_eq (created, 0, "a second identical subscription was created");
    cr_assert_eq (sl_subs_add (s, txn, "power", "water.v1.MeterReading", "billing", &created), 0);
    cr_assert_eq (sl_subs_add (s, txn, "parking", "health.v1.Encounter", "parking-fee-waiver", &created), 0);
    cr_assert_eq (sl_batch_commit (b), 0);
    cr_assert_eq (sl_subs_count (s), 3);
    sl_batch_txn (b, &txn);
    cr_assert_eq (sl_subs_remove (s, txn, "power", "water.v1.MeterReading", "billing"), 0);
    cr_assert_eq (sl_subs_remove (s, txn, "power", "water.v1.MeterReading", "billing"), SL_ENOTFOUND);
    cr_assert_eq (sl_batch_commit (b), 0);
    sl_subs_destroy (&s);
    sl_batch_destroy (&b);

    st = u_reopen (&st);
    s = sl_subs_new (st);
    cr_assert_eq (sl_subs_count (s), 2);
    cr_assert (sl_subs_has_consumer (s, "power"));
    cr_assert (sl_subs_has_consumer (s, "parking"));
    cr_assert_not (sl_subs_has_consumer (s, "water"));
    int found = 0;
    for (size_t i = 0; i < sl_subs_count (s); i++) {
        const sl_sub_t *x = sl_subs_at (s, i);
        if (!strcmp (x->consumer, "power")) {
            cr_assert_str_eq (x->record_type, "water.v1.MeterReading");
            cr_assert_str_eq (x->purpose, "joint-metering");
            found = 1;
        }
    }
    cr_assert (found);
    sl_subs_destroy (&s);
    u_cleanup (&st);
}

Test (subs, purpose_words)
{
    cr_assert (sl_subs_valid_purpose ("joint-metering"));
    cr_assert (sl_subs_valid_purpose ("a1"));
    cr_assert_not (sl_subs_valid_purpose (""));
    cr_assert_not (sl_subs_valid_purpose ("-x"));
    cr_assert_not (sl_subs_valid_purpose ("Joint"));
    cr_assert_not (sl_subs_valid_purpose ("a b"));
}

/*  sl_disclose: the released-field list carried by a queued copy, and the
 *  meet of the publish-time and delivery-time lists. */
#include <criterion/criterion.h>
#include <string.h>

#include "tu.h"

#include "sl_disclose.h"
#include "sl_error.h"
#include "sluice/v1/envelope.pb-c.h"

Test (disclose, field_list_round_trips_as_an_unknown_field)
{
    ProtobufCMessageUnknownField uf;
    uint8_t buf[2 + SL_DISCLOSE_FIELDS_MAX];
    cr_assert_eq (sl_disclose_fields_field (&uf, buf, sizeof buf, "subject,district"), 0);
    cr_assert_eq (uf.tag, SL_DISCLOSE_FIELDS_TAG);
    char out[SL_DISCLOSE_FIELDS_MAX];
    cr_assert_eq (sl_disclose_fields_read (&uf, out, sizeof out), 1);
    cr_assert_str_eq (out, "subject,district");
    uf.tag = 100;
    cr_assert_eq (sl_disclose_fields_read (&uf, out, sizeof out), 0, "another field");
    uf.tag = SL_DISCLOSE_FIELDS_TAG;
    uf.len = 5;
    cr_assert_eq (sl_disclose_fields_read (&uf, out, sizeof out), -1, "length disagrees");
    char big[SL_DISCLOSE_FIELDS_MAX + 8];
    memset (big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    cr_assert_eq (sl_disclose_fields_field (&uf, buf, sizeof buf, big), SL_EINVAL);
}

Test (disclose, meet_keeps_what_both_released_in_delivery_order)
{
    char out[128];
    sl_disclose_fields_meet ("subject,district", "subject,district,date_observed", out, sizeof out);
    cr_assert_str_eq (out, "subject,district");
    sl_disclose_fields_meet ("subject,district,date_observed", "district", out, sizeof out);
    cr_assert_str_eq (out, "district");
    sl_disclose_fields_meet (NULL, "a,b", out, sizeof out);
    cr_assert_str_eq (out, "a,b", "no queued list: the delivery-time one");
    sl_disclose_fields_meet ("ab,b", "a,b", out, sizeof out);
    cr_assert_str_eq (out, "b", "names match whole");
    sl_disclose_fields_meet ("a", "", out, sizeof out);
    cr_assert_str_eq (out, "");
}

Test (disclose, bound_round_trips_through_a_packed_record_meta)
{
    sl_disclose_bound_t b = { .policy = 7, .consent = 1ull << 40, .until_s = INT64_MAX,
                              .slot = 1023, .has_pseudonym = 1 };
    for (int i = 0; i < 32; i++)
        b.pseudonym[i] = (uint8_t) (0xa0 + i);
    ProtobufCMessageUnknownField uf;
    uint8_t buf[SL_DISCLOSE_BOUND_LEN];
    sl_disclose_bound_field (&uf, buf, &b);
    cr_assert_eq (uf.tag, SL_DISCLOSE_BOUND_TAG);
    /* packed and unpacked again, as the queue stores it */
    Sluice__V1__RecordMeta *u = tu_meta_round_trip (&uf);
    sl_disclose_bound_t got = { 0 };
    cr_assert_eq (sl_disclose_bound_read (&u->base.unknown_fields[0], &got), 1);
    cr_assert_eq (got.policy, 7);
    cr_assert_eq (got.consent, 1ull << 40);
    cr_assert_eq (got.until_s, INT64_MAX);
    cr_assert_eq (got.slot, 1023);
    cr_assert_eq (got.has_pseudonym, 1);
    cr_assert_eq (memcmp (got.pseudonym, b.pseudonym, 32), 0);
    sluice__v1__record_meta__free_unpacked (u, NULL);
    /* without a subject: no pseudonym travels */
    b.has_pseudonym = 0;
    sl_disclose_bound_field (&uf, buf, &b);
    cr_assert_eq (uf.len, 29);
    cr_assert_eq (sl_disclose_bound_read (&uf, &got), 1);
    cr_assert_eq (got.has_pseudonym, 0);
    cr_assert_eq (got.slot, 1023);
    uf.tag = SL_DISCLOSE_FIELDS_TAG;
    cr_assert_eq (sl_disclose_bound_read (&uf, &got), 0, "another field");
    uf.tag = SL_DISCLOSE_BOUND_TAG;
    uf.len = 9;
    cr_assert_eq (sl_disclose_bound_read (&uf, &got), -1, "wrong length");
}

/*  sl_disclose: the released-field list carried by a queued copy, and the
 *  meet of the publish-time and delivery-time lists. */
#include <criterion/criterion.h>
#include <string.h>

#include "sl_disclose.h"
#include "sl_error.h"

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

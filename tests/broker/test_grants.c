/*  sl_grants: the bootstrap decision list permits exactly what is listed. */
#include <criterion/criterion.h>
#include <string.h>

#include "sl_error.h"
#include "sl_grants.h"

static int
decide (sl_grants_t *g, const char *consumer, const char *type, const char *purpose,
        sl_decide_output_t *out)
{
    sl_decide_input_t in = { .stage = SL_DECIDE_PUBLISH, .owner = "water", .consumer = consumer,
                             .record_type = type, .purpose = purpose, .subject = "C-1" };
    memset (out, 0, sizeof *out);
    cr_assert_eq (sl_grants_decide (g, &in, out), 0);
    return out->permit;
}

Test (grants, empty_list_denies_everything)
{
    sl_grants_t *g = sl_grants_new ();
    sl_decide_output_t out;
    cr_assert_eq (decide (g, "power", "water.v1.MeterReading", "joint-metering", &out), 0);
    cr_assert_str_eq (out.reason, "no-grant");
    cr_assert_eq (out.n_rules, 0);
    sl_grants_destroy (&g);
    cr_assert_null (g);
}

Test (grants, exact_match_only)
{
    sl_grants_t *g = sl_grants_new ();
    char err[256];
    cr_assert_eq (sl_grants_add (g, "power:water.v1.MeterReading:joint-metering", err, sizeof err), 0);
    cr_assert_eq (sl_grants_count (g), 1);
    sl_decide_output_t out;
    cr_assert_eq (decide (g, "power", "water.v1.MeterReading", "joint-metering", &out), 1);
    cr_assert_eq (out.n_rules, 1);
    cr_assert_str_eq (out.rules[0], "grant:power:water.v1.MeterReading:joint-metering@0");
    cr_assert_null (out.body, "grants never transform");
    cr_assert_eq (decide (g, "parking", "water.v1.MeterReading", "joint-metering", &out), 0);
    cr_assert_eq (decide (g, "power", "water.v1.MeterReading", "marketing", &out), 0);
    cr_assert_eq (decide (g, "power", "power.v1.MeterReading", "joint-metering", &out), 0);
    sl_grants_destroy (&g);
}

Test (grants, bad_specs_are_refused_with_the_reason)
{
    sl_grants_t *g = sl_grants_new ();
    char err[256];
    cr_assert_eq (sl_grants_add (g, "power:water.v1.MeterReading", err, sizeof err), SL_EINVAL);
    cr_assert (strstr (err, "CONSUMER:RECORD_TYPE:PURPOSE"), "%s", err);
    cr_assert_eq (sl_grants_add (g, "power:water.v1.Nope:x", err, sizeof err), SL_EINVAL);
    cr_assert (strstr (err, "unknown record type"), "%s", err);
    cr_assert_eq (sl_grants_add (g, "*:water.v1.MeterReading:x", err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_grants_add (g, "power:water.v1.MeterReading:*", err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_grants_add (g, "power:water.v1.MeterReading:a:b", err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_grants_count (g), 0);
    sl_grants_destroy (&g);
}

/*  Sample records from JSON (policy/sl_policy_sample.h), as `policy explain
 *  --record FILE.json` builds them. */
#include <criterion/criterion.h>
#include <string.h>

#include "sl_policy_sample.h"
#include "water/v1/water.pb-c.h"

static ProtobufCMessage *
sample (const char *json, char *err, size_t cap)
{
    cJSON *o = cJSON_Parse (json);
    cr_assert_not_null (o, "bad test JSON: %s", json);
    ProtobufCMessage *m = sl_policy_sample_new (sl_schema_find ("water.v1.MeterReading"), o, err, cap);
    cJSON_Delete (o);
    return m;
}

Test (sample, fills_scalar_fields)
{
    char err[256] = "";
    ProtobufCMessage *m = sample ("{\"district\":\"Xihu\",\"date_observed\":1780272000,"
                                  "\"max_flow_m3h\":2.5,\"alarm_in_progress\":true}", err, sizeof err);
    cr_assert_not_null (m, "%s", err);
    const Water__V1__MeterReading *r = (const void *) m;
    cr_expect_str_eq (r->district, "Xihu");
    cr_expect_eq (r->date_observed, 1780272000);
    cr_expect_eq (r->max_flow_m3h, 2.5);
    cr_expect (r->alarm_in_progress);
    cr_expect_str_eq (r->meter_name, "");          /* not given: the default */
    sl_policy_sample_destroy (&m);
    cr_expect_null (m);
    m = sample ("{}", err, sizeof err);             /* nothing given, nothing to free */
    cr_assert_not_null (m);
    sl_policy_sample_destroy (&m);
}

Test (sample, refuses_what_it_cannot_hold)
{
    static const struct { const char *json, *err; } cases[] = {
        { "{\"distrct\":\"Xihu\"}",
          "member 'distrct': unknown field of water.v1.MeterReading; did you mean 'district'?" },
        { "{\"district\":3}", "member 'district': the field is a string" },
        { "{\"date_observed\":1.5}", "member 'date_observed': 1.5 is not a whole number" },
        { "{\"alarm_in_progress\":1}", "member 'alarm_in_progress': the field is a bool (true or false)" },
        { "{\"max_flow_m3h\":\"x\"}", "member 'max_flow_m3h': the field is a number" },
        { "[1]", "the sample record must be a JSON object of water.v1.MeterReading fields" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        ProtobufCMessage *m = sample (cases[i].json, err, sizeof err);
        cr_expect_null (m, "%s", cases[i].json);
        cr_expect_str_eq (err, cases[i].err);
        sl_policy_sample_destroy (&m);
    }
}

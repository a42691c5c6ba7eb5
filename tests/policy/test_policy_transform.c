/*  Transforms on real records, checked byte for byte against the record a
 *  person would build by hand; pseudonym properties. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>

#include "policy_test_util.h"
#include "water/v1/water.pb-c.h"
#include "health/v1/health.pb-c.h"

#define T_MID 1781519862LL   /* 2026-06-15T10:37:42Z */

static const uint8_t SECRET[SL_POLICY_SECRET_LEN] = "0123456789abcdef0123456789abcde";

static sl_consent_status_t
always (void *arg, const char *s, const char *o, const char *c, const char *p, const char *rt, int64_t t)
{
    (void) arg; (void) s; (void) o; (void) c; (void) p; (void) rt; (void) t;
    return SL_CONSENT_VALID;
}

static sl_policy_decision_t
decide_for (sl_policy_index_t *ix, const char *owner, const char *consumer, const char *rt,
            const char *purpose)
{
    sl_policy_request_t r = { .owner = owner, .consumer = consumer, .record_type = rt,
                              .purpose = purpose, .subject = "CIT-1", .time = T_MID,
                              .consent = always };
    sl_policy_decision_t d;
    cr_assert_eq (sl_policy_decide (ix, &r, &d), 0);
    cr_assert (d.permit, "%s", d.reason);
    return d;
}

static char *
load_examples (void)
{
    static const char *files[] = { "city.policy", "water.policy", "power.policy", "health.policy" };
    size_t total = 0;
    char *all = calloc (1, 1);
    for (size_t i = 0; i < 4; i++) {
        char path[512];
        snprintf (path, sizeof path, "%s/%s", EXAMPLES_DIR, files[i]);
        FILE *f = fopen (path, "r");
        cr_assert_not_null (f, "%s", path);
        char buf[8192];
        size_t n = fread (buf, 1, sizeof buf, f);
        fclose (f);
        all = realloc (all, total + n + 2);
        memcpy (all + total, buf, n);
        total += n;
        all[total++] = '\n';
        all[total] = 0;
    }
    return all;
}

static void
expect_same_bytes (const uint8_t *got, size_t got_len, const ProtobufCMessage *want)
{
    uint8_t exp[1024];
    size_t n = protobuf_c_message_pack (want, exp);
    cr_assert_eq (got_len, n, "packed size %zu, expected %zu", got_len, n);
    cr_expect_eq (memcmp (got, exp, n), 0, "bytes differ");
}

Test (transform, water_meter_reading_byte_for_byte)
{
    char *text = load_examples ();
    sl_policy_index_t *ix = tu_index (text);
    free (text);
    cr_assert_not_null (ix);
    sl_policy_decision_t d = decide_for (ix, "water", "power", "water.v1.MeterReading", "joint-metering");

    Water__V1__MeterReading in = WATER__V1__METER_READING__INIT;
    in.id = "WM-77:1781519862";
    in.ref_device = "WM-77";
    in.subject = "330106199001011234";
    in.district = "Xihu";
    in.date_observed = T_MID;
    in.water_consumption_m3 = 1234.567;
    in.max_flow_m3h = 1.5;
    in.min_flow_m3h = 0.01;
    in.alarm_in_progress = 1;
    in.meter_name = "kitchen";
    uint8_t body[512];
    size_t body_len = water__v1__meter_reading__pack (&in, body);

    uint8_t key[SL_POLICY_KEY_LEN];
    cr_assert_eq (sl_policy_pseudonym_key (SECRET, "power", key), 0);
    char pseud[SL_POLICY_PSEUDONYM_LEN + 1];
    sl_policy_pseudonymize (key, in.subject, pseud);

    Water__V1__MeterReading want = WATER__V1__METER_READING__INIT;
    want.subject = pseud;
    want.district = "Xihu";
    want.date_observed = 1781517600;        /* 2026-06-15T10:00:00Z */
    want.water_consumption_m3 = 1234.567;

    uint8_t out[512];
    size_t len = 0;
    cr_assert_eq (sl_policy_transform_pack (&d.transform, &in.base, key, out, sizeof out, &len), 0);
    expect_same_bytes (out, len, &want.base);

    /* from packed bytes: the same result */
    uint8_t out2[512];
    size_t len2 = 0;
    cr_assert_eq (sl_policy_transform_bytes (&d.transform, body, body_len, key, out2, sizeof out2, &len2), 0);
    cr_expect_eq (len2, len);
    cr_expect_eq (memcmp (out, out2, len), 0);

    /* the input is untouched */
    cr_expect_str_eq (in.subject, "330106199001011234");
    cr_expect_eq (in.date_observed, T_MID);

    /* unpack and look */
    Water__V1__MeterReading *u = water__v1__meter_reading__unpack (NULL, len, out);
    cr_assert_not_null (u);
    cr_expect_str_eq (u->id, "");
    cr_expect_str_eq (u->ref_device, "");
    cr_expect_str_eq (u->subject, pseud);
    cr_expect_eq (u->max_flow_m3h, 0);
    cr_expect_eq (u->alarm_in_progress, 0);
    water__v1__meter_reading__free_unpacked (u, NULL);

    /* errors: small buffer, missing key, wrong descriptor, bad body */
    size_t need = 0;
    cr_expect_eq (sl_policy_transform_pack (&d.transform, &in.base, key, out, 4, &need), SL_ETOOBIG);
    cr_expect_eq (need, len);
    cr_expect_eq (sl_policy_transform_pack (&d.transform, &in.base, NULL, out, sizeof out, &len2), SL_EINVAL);
    Health__V1__Encounter e = HEALTH__V1__ENCOUNTER__INIT;
    cr_expect_eq (sl_policy_transform_pack (&d.transform, &e.base, key, out, sizeof out, &len2), SL_EINVAL);
    const uint8_t junk[] = { 0xff, 0xff, 0xff };
    cr_expect_eq (sl_policy_transform_bytes (&d.transform, junk, sizeof junk, key, out, sizeof out, &len2),
                  SL_EDECODE);
    sl_policy_index_destroy (&ix);
}

Test (transform, health_encounter_byte_for_byte)
{
    /* the permit lists only safe fields, and a second permit that lists the
     * diagnosis shows the city forbid stripping it */
    char *text = load_examples ();
    const char *extra =
        "permit \"health-research\" { owner health consumer power records health.v1.Encounter "
        "purpose joint-metering fields status, diagnosis, reason_code, class_code subject drop "
        "time coarsen day }\n";
    text = realloc (text, strlen (text) + strlen (extra) + 1);
    strcat (text, extra);
    sl_policy_index_t *ix = tu_index (text);
    free (text);
    cr_assert_not_null (ix);

    char *dx[] = { "I10", "E11.9" };
    char *rc[] = { "chest pain" };
    Health__V1__Encounter in = HEALTH__V1__ENCOUNTER__INIT;
    in.id = "V-9";
    in.subject = "330106199001011234";
    in.status = "finished";
    in.class_code = "AMB";
    in.period_start = 1781510400 + 125;
    in.period_end = 1781519862;
    in.service_provider = "CITY-HOSP-1";
    in.location = "ER-3";
    in.n_reason_code = 1;
    in.reason_code = rc;
    in.n_diagnosis = 2;
    in.diagnosis = dx;
    in.discharge_disposition = "home";
    in.trigger_event = "A03";

    /* parking: kept subject, four fields, exact times */
    sl_policy_decision_t d = decide_for (ix, "health", "parking", "health.v1.Encounter", "parking-fee-waiver");
    uint8_t out[1024];
    size_t len = 0;
    cr_assert_eq (sl_policy_transform_pack (&d.transform, &in.base, NULL, out, sizeof out, &len), 0);
    Health__V1__Encounter want = HEALTH__V1__ENCOUNTER__INIT;
    want.subject = in.subject;
    want.status = "finished";
    want.period_start = in.period_start;
    want.period_end = in.period_end;
    want.service_provider = "CITY-HOSP-1";
    expect_same_bytes (out, len, &want.base);
    cr_expect_eq (d.n_strips, 1);
    cr_expect_str_eq (sl_policy_rule_id (d.strips[0]), "no-diagnoses-leave-health");

    /* research: diagnosis and reason stripped by the city forbid, subject dropped, day */
    d = decide_for (ix, "health", "power", "health.v1.Encounter", "joint-metering");
    cr_assert_eq (sl_policy_transform_pack (&d.transform, &in.base, NULL, out, sizeof out, &len), 0);
    Health__V1__Encounter want2 = HEALTH__V1__ENCOUNTER__INIT;
    want2.status = "finished";
    want2.class_code = "AMB";
    expect_same_bytes (out, len, &want2.base);
    Health__V1__Encounter *u = health__v1__encounter__unpack (NULL, len, out);
    cr_assert_not_null (u);
    cr_expect_eq (u->n_diagnosis, 0);
    cr_expect_eq (u->n_reason_code, 0);
    cr_expect_str_eq (u->subject, "");
    health__v1__encounter__free_unpacked (u, NULL);
    cr_expect_eq (in.n_diagnosis, 2);
    sl_policy_index_destroy (&ix);
}

Test (transform, coarsening_units)
{
    const char *tmpl = "permit \"c\" { owner water consumer power records water.v1.MeterReading "
                       "purpose billing fields date_observed subject keep time coarsen %s }";
    struct { const char *unit; int64_t in, want; } cases[] = {
        { "minute", 1781519862, 1781519820 },
        { "hour", 1781519862, 1781517600 },
        { "day", 1781519862, 1781481600 },
        { "hour", -1, -3600 },               /* before 1970: rounds down, not toward zero */
        { "day", 1781481600, 1781481600 },   /* already on the boundary */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf (text, sizeof text, tmpl, cases[i].unit);
        sl_policy_index_t *ix = tu_index_ok (text);
        sl_policy_decision_t d = decide_for (ix, "water", "power", "water.v1.MeterReading", "billing");
        Water__V1__MeterReading in = WATER__V1__METER_READING__INIT;
        in.date_observed = cases[i].in;
        in.subject = "S";
        uint8_t out[256];
        size_t len;
        cr_assert_eq (sl_policy_transform_pack (&d.transform, &in.base, NULL, out, sizeof out, &len), 0);
        Water__V1__MeterReading *u = water__v1__meter_reading__unpack (NULL, len, out);
        cr_expect_eq (u->date_observed, cases[i].want, "case %zu", i);
        cr_expect_str_eq (u->subject, "S");
        water__v1__meter_reading__free_unpacked (u, NULL);
        sl_policy_index_destroy (&ix);
    }
}

Test (transform, pseudonym_properties)
{
    uint8_t kp[SL_POLICY_KEY_LEN], kp2[SL_POLICY_KEY_LEN], kw[SL_POLICY_KEY_LEN];
    cr_assert_eq (sl_policy_pseudonym_key (SECRET, "power", kp), 0);
    cr_assert_eq (sl_policy_pseudonym_key (SECRET, "power", kp2), 0);
    cr_assert_eq (sl_policy_pseudonym_key (SECRET, "water", kw), 0);
    cr_expect_eq (memcmp (kp, kp2, sizeof kp), 0);
    cr_expect_neq (memcmp (kp, kw, sizeof kp), 0);
    cr_expect_eq (sl_policy_pseudonym_key (SECRET, "", kp2), SL_EINVAL);

    char a[SL_POLICY_PSEUDONYM_LEN + 1], b[SL_POLICY_PSEUDONYM_LEN + 1], c[SL_POLICY_PSEUDONYM_LEN + 1];
    sl_policy_pseudonymize (kp, "330106199001011234", a);
    sl_policy_pseudonymize (kp, "330106199001011234", b);
    sl_policy_pseudonymize (kw, "330106199001011234", c);
    cr_expect_str_eq (a, b);                    /* stable for one consumer */
    cr_expect_str_neq (a, c);                   /* unlinkable between two */
    cr_expect_str_neq (a, "330106199001011234");
    cr_expect_eq (strlen (a), SL_POLICY_PSEUDONYM_LEN);
    cr_expect_eq (strspn (a, "0123456789abcdef"), SL_POLICY_PSEUDONYM_LEN);
    sl_policy_pseudonymize (kp, "330106199001011235", b);
    cr_expect_str_neq (a, b);
    sl_policy_pseudonymize (kp, "", b);
    cr_expect_str_eq (b, "");

    /* the documented construction, recomputed here from libsodium directly */
    uint8_t k[32];
    crypto_generichash_state st;
    crypto_generichash_init (&st, SECRET, 32, 32);
    crypto_generichash_update (&st, (const uint8_t *) "sluice.policy.pseudonym.v1", 27);  /* with NUL */
    crypto_generichash_update (&st, (const uint8_t *) "power", 5);
    crypto_generichash_final (&st, k, 32);
    cr_expect_eq (memcmp (k, kp, 32), 0);
    uint8_t h[16];
    crypto_generichash (h, 16, (const uint8_t *) "330106199001011234", 18, k, 32);
    char hex[33];
    sodium_bin2hex (hex, sizeof hex, h, 16);
    cr_expect_str_eq (a, hex);
}

Test (transform, identity_and_field_list)
{
    sl_policy_index_t *ix = tu_index ("permit \"all\" { owner water consumer power records water.v1.MeterReading "
                                      "purpose billing fields * subject keep }");
    cr_assert_not_null (ix);
    sl_policy_decision_t d = decide_for (ix, "water", "power", "water.v1.MeterReading", "billing");
    cr_expect (sl_policy_transform_is_identity (&d.transform));
    const char *names[4];
    /* every field of the registered type: as many as its descriptor has */
    cr_expect_eq (sl_policy_transform_fields (&d.transform, names, 4),
                  (int) water__v1__meter_reading__descriptor.n_fields);
    cr_expect_str_eq (names[0], "id");
    cr_expect_str_eq (names[3], "district");
    sl_policy_index_destroy (&ix);
}

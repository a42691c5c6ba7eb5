/*  sl_consent — consent events from admin-plane JSON (`sluicectl consent
 *  grant|withdraw`), and events rendered as JSON. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "sl_error.h"
#include "sl_time.h"

static fx_t fx;

static void setup (void) { fx_open (&fx, 64u << 20, MDB_NOSYNC); }
static void teardown (void) { fx_close (&fx); }

TestSuite (json, .init = setup, .fini = teardown, .timeout = 20);

static int
parse (const char *text, Sluice__V1__ConsentEvent **ev, char *error, size_t size)
{
    cJSON *json = cJSON_Parse (text);
    cr_assert_not_null (json, "test JSON does not parse: %s", text);
    int rc = sl_consent_event_from_json (json, ev, error, size);
    cJSON_Delete (json);
    return rc;
}

Test (json, grant_from_json_applies_and_renders)
{
    char error[SL_CONSENT_ERROR_MAX];
    Sluice__V1__ConsentEvent *ev = NULL;
    int rc = parse ("{\"kind\":\"given\",\"consent_id\":\"j1\",\"subject\":\"CIT-7\","
                    "\"controller\":\"health\",\"recipient\":\"parking\","
                    "\"purpose\":\"parking-fee-waiver\","
                    "\"record_types\":[\"health.v1.Encounter\"],"
                    "\"fields\":[\"status\",\"period_start\"],"
                    "\"valid_from\":\"2026-01-01\",\"valid_to\":\"2026-03-01T12:00:00Z\","
                    "\"collection_method\":\"kiosk\",\"evidence\":\"form-12\","
                    "\"jurisdiction\":\"CN-ZJ\",\"time\":1767225000}",
                    &ev, error, sizeof error);
    cr_assert_eq (rc, 0, "%s", error);
    cr_assert_eq (ev->kind, SLUICE__V1__CONSENT_EVENT__KIND__GIVEN);
    cr_assert_eq (ev->valid_from, 1767225600);
    cr_assert_eq (ev->valid_to, 1772366400);
    cr_assert_eq (ev->time, 1767225000);
    cr_assert_eq (ev->n_purposes, 1);
    cr_assert_str_eq (ev->purposes[0], "parking-fee-waiver");
    cr_assert_eq (ev->n_fields, 2);

    MDB_txn *txn = fx_write (&fx);
    sl_consent_result_t r;
    sl_consent_record_t *rec = NULL;
    cr_assert_eq (sl_consent_apply (fx.registry, txn, ev, &fx_health_admin, 1767225100, &r,
                                    &rec), 0, "%s", r.error);
    sl_consent_event_destroy (&ev);
    cr_assert_null (ev);
    sl_consent_event_destroy (&ev);         /* harmless twice */

    cJSON *o = sl_consent_record_json (rec, 1767225600);
    cr_assert_str_eq (cJSON_GetObjectItem (o, "reason")->valuestring, "consent-valid");
    cr_assert_str_eq (cJSON_GetObjectItem (o, "given_by")->valuestring, "ana");
    cr_assert_eq (cJSON_GetObjectItem (o, "given_at")->valuedouble, 1767225000);
    cr_assert_eq (cJSON_GetObjectItem (o, "valid_to")->valuedouble, 1772366400);
    cr_assert_str_eq (cJSON_GetObjectItem (o, "collection_method")->valuestring, "kiosk");
    cJSON_Delete (o);
    o = sl_consent_record_json (rec, 1772366400);
    cr_assert_str_eq (cJSON_GetObjectItem (o, "reason")->valuestring, "consent-expired");
    cJSON_Delete (o);
    sl_consent_record_destroy (&rec);

    /* withdraw through JSON too */
    cr_assert_eq (parse ("{\"kind\":\"withdrawn\",\"consent_id\":\"j1\"}", &ev, error,
                         sizeof error), 0, "%s", error);
    cr_assert_eq (sl_consent_apply (fx.registry, txn, ev, &fx_health_admin, 1767300000, &r,
                                    NULL), 0, "%s", r.error);
    cr_assert (r.access_ended);
    sl_consent_event_destroy (&ev);
    cr_assert_eq (sl_consent_get (fx.registry, txn, "j1", &rec), 0);
    fx_json_has (sl_consent_event_json (sl_consent_record_event (rec, 1)), "\"kind\":\"withdrawn\"",
                 "\"recorded\":1767300000", "\"actor\":\"ana\"", NULL);
    sl_consent_record_destroy (&rec);
    fx_commit (txn);
}

Test (json, shape_errors_name_the_member)
{
    static const struct { const char *json; const char *error; } cases[] = {
        { "[]", "consent event must be a JSON object" },
        { "{}", "member 'kind' must be \"given\", \"renewed\" or \"withdrawn\"" },
        { "{\"kind\":\"revoked\"}",
          "member 'kind' is 'revoked'; use \"given\", \"renewed\" or \"withdrawn\"" },
        { "{\"kind\":\"given\",\"subject\":42}", "member 'subject' must be a string" },
        { "{\"kind\":\"given\",\"evidence\":[]}", "member 'evidence' must be a string" },
        { "{\"kind\":\"given\",\"purposes\":{}}", "member 'purposes' must be an array of strings" },
        { "{\"kind\":\"given\",\"record_types\":[\"a\",1]}",
          "member 'record_types'[1] must be a string" },
        { "{\"kind\":\"given\",\"valid_from\":1.5}",
          "member 'valid_from' must be whole Unix seconds >= 0" },
        { "{\"kind\":\"given\",\"valid_from\":-1}",
          "member 'valid_from' must be whole Unix seconds >= 0" },
        { "{\"kind\":\"given\",\"valid_to\":\"2026-02-30\"}",
          "member 'valid_to' must be Unix seconds or a time 'YYYY-MM-DD[THH:MM[:SS]]' "
          "(with Z or an offset, else in the city's time zone)" },
        { "{\"kind\":\"given\",\"time\":\"2026-01-01 24:00\"}",
          "member 'time' must be Unix seconds or a time 'YYYY-MM-DD[THH:MM[:SS]]' "
          "(with Z or an offset, else in the city's time zone)" },
        { "{\"kind\":\"given\",\"valid_to\":\"30d\"}",
          "member 'valid_to' must be Unix seconds or a time 'YYYY-MM-DD[THH:MM[:SS]]' "
          "(with Z or an offset, else in the city's time zone)" },
        { "{\"kind\":\"given\",\"purpose\":\"a\",\"purposes\":[\"b\"]}",
          "give either 'purpose' or 'purposes', not both" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char error[SL_CONSENT_ERROR_MAX];
        Sluice__V1__ConsentEvent *ev = (Sluice__V1__ConsentEvent *) 1;
        int rc = parse (cases[i].json, &ev, error, sizeof error);
        cr_expect_eq (rc, SL_EPARSE, "%s", cases[i].json);
        cr_expect_null (ev, "%s", cases[i].json);
        cr_expect_str_eq (error, cases[i].error, "%s", cases[i].json);
    }
}

Test (json, json_grant_is_validated_by_apply)
{
    char error[SL_CONSENT_ERROR_MAX];
    Sluice__V1__ConsentEvent *ev = NULL;
    cr_assert_eq (parse ("{\"kind\":\"given\",\"subject\":\"CIT-7\",\"controller\":\"health\","
                         "\"recipient\":\"parking\",\"purposes\":[],"
                         "\"record_types\":\"health.v1.*\"}", &ev, error, sizeof error), 0);
    MDB_txn *txn = fx_write (&fx);
    sl_consent_result_t r;
    cr_assert_eq (sl_consent_apply (fx.registry, txn, ev, &fx_health_admin, 1000, &r, NULL),
                  SL_EINVAL);
    cr_assert_str_eq (r.error, "purposes is empty: a consent needs at least one purpose");
    mdb_txn_abort (txn);
    sl_consent_event_destroy (&ev);
}

/*  Consent bounds are read in the one time syntax of the CLI and the policy
 *  language (common/sl_time.h): a date or a zone-less time is the city's
 *  wall clock, offsets are taken. The consent module had its own parser
 *  that read dates as UTC midnight and refused offsets and zone-less times. */
Test (json, times_use_the_city_zone_and_every_written_form)
{
    char error[SL_CONSENT_ERROR_MAX], err[200];
    sl_tz_t *sh = sl_tz_load ("Asia/Shanghai", err, sizeof err);
    cr_assert_not_null (sh, "%s", err);
    sl_time_set_city_zone (sh);
    Sluice__V1__ConsentEvent *ev = NULL;
    int rc = parse ("{\"kind\":\"given\",\"valid_from\":\"2026-01-01\","
                    "\"valid_to\":\"2026-03-01T12:00:00+08:00\",\"time\":\"2026-01-01 10:00\"}",
                    &ev, error, sizeof error);
    sl_time_set_city_zone (NULL);
    cr_assert_eq (rc, 0, "%s", error);
    cr_expect_eq (ev->valid_from, 1767225600 - 8 * 3600);     /* local midnight */
    cr_expect_eq (ev->valid_to, 1772366400 - 8 * 3600);
    cr_expect_eq (ev->time, 1767225600 + 2 * 3600);           /* 10:00 +08:00 */
    sl_consent_event_destroy (&ev);
    /* without a city zone: UTC, as before */
    cr_assert_eq (parse ("{\"kind\":\"given\",\"valid_from\":\"2026-01-01\"}", &ev, error,
                         sizeof error), 0, "%s", error);
    cr_expect_eq (ev->valid_from, 1767225600);
    sl_consent_event_destroy (&ev);
}

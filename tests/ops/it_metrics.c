/*  Integration: the metrics listener of the real sluiced under load.
 *  A publisher keeps 1,000 records in flight while /metrics is scraped and
 *  checked with `promtool check metrics`; the counters are then compared
 *  with the audit log and `status`, per-consumer lag is read before and
 *  after the consumer takes part, and the monitor role reads status and
 *  nothing else. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "ot.h"
#include "tc.h"

#define N_MSG 40
#define PER_MSG 25
#define N_REC (N_MSG * PER_MSG)

static tc_broker_t B;
static sl_keypair_t kw, kp, km;
static char addr[80];

static void
setup (void)
{
    const char *extra[] = { "--metrics-bind", "127.0.0.1:0", NULL };
    cr_assert_eq (tc_scene (&B, extra, &kw, &kp, TL_CITY, TL_PERMIT ("w2p", "*", "pseudonymize", "")), 0);
    cr_assert_eq (ot_metrics_addr (&B, addr, sizeof addr), 0, "no metrics line in DIR/endpoints");
    cr_assert_eq (tc_member (&B, "prometheus", "monitor", &km), 0);
}

static void
teardown (void)
{
    tc_broker_cleanup (&B);
}

TestSuite (metrics, .init = setup, .fini = teardown, .timeout = 120);

/*  A scrape of /metrics (malloc()ed); frees `last`. */
static char *
scrape (char *last)
{
    char *text = NULL;
    free (last);
    cr_assert_eq (ot_get (addr, "/metrics", &text), 200);
    return text;
}

/*  Scrapes until `series` reads `want` (the gauges are sampled about once
 *  a second). Returns the last scrape (caller frees). */
static char *
scrape_until (const char *series, double want)
{
    char *text = NULL;
    double v;
    TC_AWAIT (8000, (text = scrape (text)) && ot_value (text, series, &v) && v == want);
    return text;
}

static double
value (const char *text, const char *series)
{
    double v = -1;
    cr_assert (ot_value (text, series, &v), "no series %s in the scrape:\n%.3000s", series, text);
    return v;
}

Test (metrics, scrape_under_load_passes_promtool_and_matches_audit_and_status)
{
    tc_client_t w, p;
    cr_assert_eq (tc_consumer (&p, &B, &kp, "power", TL_WATER, "joint-metering", 0), 0);
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);

    /* all PUBLISHes in flight, scraped while the broker works through them */
    for (uint32_t i = 0; i < N_MSG; i++)
        cr_assert_neq (tc_publish_waters (&w, 1000 + i * PER_MSG, PER_MSG, NULL), 0);
    for (int i = 0; i < 3; i++) {
        char *text = scrape (NULL), *out = NULL;
        int rc = ot_promtool (text, &out);
        cr_assert_eq (rc, 0, "promtool check metrics failed (%d):\n%s", rc, out ? out : "");
        cr_assert_null (strstr (text, "CIT-"), "a citizen id in the metrics");
        free (out);
        free (text);
    }
    long acks = tc_acks (&w, N_MSG, tc_wait (10000));
    cr_assert_eq (acks, N_REC, "%ld records acked (-1: an answer missing or an ERROR)", acks);

    /* the consumer has given no credit yet: everything lags */
    char series[200];
    snprintf (series, sizeof series, "sluice_consumer_lag_records{consumer=\"power\"}");
    char *text = scrape_until (series, N_REC);
    cr_assert_eq (value (text, series), N_REC, "lag of power");
    cr_assert_eq (value (text, "sluice_queue_depth{consumer=\"power\"}"), N_REC);
    cr_assert_geq (value (text, "sluice_queue_oldest_age_seconds{consumer=\"power\"}"), 0);
    cr_assert_eq (value (text, "sluice_records_published_total{owner=\"water\",type=\"" TL_WATER "\"}"), N_REC);
    cr_assert_eq (value (text, "sluice_records_stored_total{owner=\"water\",consumer=\"power\",type=\"" TL_WATER "\"}"), N_REC);
    cr_assert_eq (value (text, "sluice_policy_version{owner=\"water\"}"), 1);
    cr_assert_eq (value (text, "sluice_sessions{plane=\"data\",role=\"member\",broker_key=\"current\"}"), 2);
    cr_assert_gt (value (text, "sluice_commit_seconds_count"), 0);
    cr_assert_gt (value (text, "sluice_store_used_bytes"), 0);
    cr_assert_gt (value (text, "sluice_audit_head_seq"), N_REC);
    char *out = NULL;
    cr_assert_eq (ot_promtool (text, &out), 0, "promtool: %s", out);
    free (out);

    /* the same figures from the audit log and from status (as the monitor) */
    /* each record's queue entry stands for its acceptance (AUDIT.md 6.2):
     * published_total counts them all the same */
    cr_assert_eq (tc_audit_count (&B, "kind=publish", NULL), 0);
    cr_assert_eq (tc_audit_count (&B, "kind=queue", NULL), N_REC);
    cJSON *st = tc_status (&B, &km);
    cr_assert_not_null (st, "status refused to the monitor role");
    cr_assert_eq (cJSON_GetNumberValue (cJSON_GetObjectItem (cJSON_GetObjectItem (st, "queues"), "power")), N_REC);
    double audit_head = value (text, "sluice_audit_head_seq");
    cJSON *au = cJSON_GetObjectItem (st, "audit"), *sto = cJSON_GetObjectItem (st, "store");
    cr_assert_not_null (au);
    cr_assert_geq (cJSON_GetNumberValue (cJSON_GetObjectItem (au, "head_seq")), audit_head);
    cr_assert_eq (cJSON_GetNumberValue (cJSON_GetObjectItem (sto, "capacity_bytes")),
                  value (text, "sluice_store_capacity_bytes"));
    cJSON_Delete (st);
    free (text);

    /* the consumer takes 100 and acknowledges them */
    tc_credit (&p, 100);
    uint64_t tags[100];
    cr_assert_eq (tc_drain (&p, 100, 0, tags, 10000), 100);
    for (int i = 0; i < 100; i++)
        cr_assert_eq (tc_ack (&p, tags[i], 0), 1);
    /* (lag was N_REC - 100 already while the 100 were in flight: wait for
     * the depth, which drops only when the acks are committed) */
    text = scrape_until ("sluice_queue_depth{consumer=\"power\"}", N_REC - 100);
    cr_assert_eq (value (text, series), N_REC - 100);
    cr_assert_eq (value (text, "sluice_queue_depth{consumer=\"power\"}"), N_REC - 100);
    cr_assert_eq (value (text, "sluice_records_delivered_total{owner=\"water\",consumer=\"power\",type=\"" TL_WATER "\"}"), 100);
    cr_assert_eq (value (text, "sluice_records_acked_total{consumer=\"power\"}"), 100);
    cr_assert_gt (value (text, "sluice_audit_head_seq"), audit_head);
    cr_assert_eq (tc_audit_count (&B, "kind=deliver", NULL), 100);
    /* every metric the Grafana dashboard plots exists */
    char path[600];
    snprintf (path, sizeof path, "%s/contrib/grafana-sluice.json", getenv ("SOURCE_ROOT"));
    char *dash = tl_slurp (path, NULL);
    cr_assert_not_null (dash, "%s", path);
    int names = 0;
    for (char *p = strstr (dash, "sluice_"); p; p = strstr (p + 1, "sluice_")) {
        char name[96], type[128];
        size_t k = 0;
        while (k + 1 < sizeof name && (p[k] == '_' || (p[k] >= 'a' && p[k] <= 'z')))
            name[k] = p[k], k++;
        name[k] = 0;
        if (!strcmp (name, "sluice_broker") || !strcmp (name, "sluice_build_info"))
            continue;
        char *suffix = strstr (name, "_bucket");
        if (suffix && !suffix[7])
            *suffix = 0;
        snprintf (type, sizeof type, "# TYPE %s ", name);
        cr_assert_not_null (strstr (text, type), "the dashboard plots %s, which sluiced does not export", name);
        names++;
    }
    cr_assert_gt (names, 15);
    free (dash);
    free (text);
    tc_close_all (&w, &p, NULL);
}

Test (metrics, health_and_readiness)
{
    char *body = NULL;
    cr_assert_eq (ot_get (addr, "/healthz", &body), 200);
    cr_assert_str_eq (body, "ok\n");
    free (body);
    body = NULL;
    int ready = TC_AWAIT (5000, (free (body), body = NULL, ot_get (addr, "/readyz", &body) == 200));
    cr_assert (ready, "/readyz: %s", body ? body : "");
    free (body);
    cr_assert_eq (ot_get (addr, "/nothing", NULL), 404);
}

Test (metrics, monitor_reads_status_and_nothing_else)
{
    const char *asks[][2] = {
        { "audit.query", "{\"limit\":1}" },
        { "member.list", "{}" },
        { "consent.list", "{\"subject\":\"CIT-1\"}" },
    };
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        char text[400];
        int code = tc_admin_code (&B, &km, asks[i][0], asks[i][1], text, sizeof text);
        cr_assert_eq (code, SLUICE__V1__ERROR_CODE__NOT_PERMITTED, "%s as monitor: code %d: %s",
                      asks[i][0], code, text);
    }
    /* and the data plane is closed to it */
    tc_client_t c;
    cr_assert_eq (tc_connect (&c, B.data_ep, B.broker_pub, &km), 0);
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__HELLO;
    tc_send (&c, &h, NULL, NULL, 0);
    tc_msg_t m;
    cr_assert_eq (tc_recv (&c, &m, tc_wait (5000)), 0);
    cr_assert_eq (m.h->command, SLUICE__V1__COMMAND__ERROR);
    cr_assert_eq (m.h->errors[0]->code, SLUICE__V1__ERROR_CODE__NOT_PERMITTED);
    tc_msg_free (&m);
    tc_close (&c);
}

Test (metrics, consents_by_state)
{
    char out[4096];
    for (int i = 1; i <= 2; i++)
        cr_assert_eq (tc_ctl (out, sizeof out, "--data '%s' consent grant --subject CIT-1 "
                              "--controller water --recipient power --purpose joint-metering "
                              "--records " TL_WATER " --to 2099-01-01 --method app "
                              "--evidence form-1 --id c-%d", B.dir, i), 0, "grant c-%d: %s", i, out);
    cr_assert_eq (tc_ctl (out, sizeof out, "--data '%s' consent withdraw c-2", B.dir), 0, "%s", out);
    char *text = scrape_until ("sluice_consents{state=\"withdrawn\"}", 1);
    cr_assert_eq (value (text, "sluice_consents{state=\"withdrawn\"}"), 1);
    cr_assert_eq (value (text, "sluice_consents{state=\"active\"}"), 1);
    cr_assert_eq (value (text, "sluice_consents{state=\"expired\"}"), 0);
    cr_assert_null (strstr (text, "CIT-1"), "a citizen id in the metrics");
    free (text);
}

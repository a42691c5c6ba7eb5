/*  sl_metrics: counters follow committed events only, labels never carry a
 *  subject, the text format is well formed, readiness needs a fresh sample.
 *  Reads as the module's usage example. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_metrics.h"

#define T "water.v1.MeterReading"

static double
get (sl_metrics_t *m, const char *series)
{
    double v = -1;
    cr_assert (sl_metrics_value (m, series, &v), "no series %s", series);
    return v;
}

/*  Feeds the events (sl_event_t pointers) of one transaction, then its
 *  outcome: 1 committed, 0 aborted. */
#define FEED(m, committed, ...)                                                  \
    do {                                                                         \
        const sl_event_t *feed_[] = { __VA_ARGS__ };                             \
        for (size_t feed_i_ = 0; feed_i_ < sizeof feed_ / sizeof *feed_; feed_i_++) \
            sl_metrics_event (m, feed_[feed_i_]);                                \
        sl_metrics_txn_outcome (m, committed);                                   \
    } while (0)

Test (metrics, counts_committed_events_and_drops_aborted_ones)
{
    sl_metrics_t *m = sl_metrics_new (NULL);
    cr_assert_not_null (m);
    sl_event_t pub = { .kind = "publish", .actor = "water", .owner = "water", .record_type = T,
                       .subject = "CIT-42" };
    sl_event_t q = { .kind = "queue", .actor = "water", .owner = "water", .counterpart = "power",
                     .record_type = T, .subject = "CIT-42" };
    FEED (m, 1, &pub, &q);                  /* the batch committed */
    FEED (m, 0, &pub);                      /* this one aborted: not counted */
    FEED (m, 1, &pub, &pub);
    cr_assert_eq (get (m, "sluice_records_published_total{owner=\"water\",type=\"" T "\"}"), 3);
    cr_assert_eq (get (m, "sluice_records_stored_total{owner=\"water\",consumer=\"power\",type=\"" T "\"}"), 1);
    cr_assert_eq (get (m, "sluice_audit_entries_total{kind=\"publish\"}"), 3);
    cr_assert_eq (get (m, "sluice_commits_total"), 2);
    cr_assert_eq (get (m, "sluice_commit_aborts_total"), 1);
    char *text = sl_metrics_render (m, NULL);
    cr_assert_null (strstr (text, "CIT-42"), "a subject reached the metrics");
    free (text);
    sl_metrics_destroy (&m);
    cr_assert_null (m);
    sl_metrics_destroy (&m);                /* harmless twice */
}

Test (metrics, denials_carry_stage_and_reason_refusals_the_sender)
{
    sl_metrics_t *m = sl_metrics_new (NULL);
    sl_event_t d = { .kind = "deny", .actor = "health", .owner = "health", .counterpart = "parking",
                     .record_type = "health.v1.Encounter", .reason = "consent-missing",
                     .detail = "stage=deliver" };
    sl_event_t r = { .kind = "publish.refused", .actor = "water", .record_type = T,
                     .reason = "bad-body", .detail = "record 0: ..." };
    sl_event_t a = { .kind = "auth.denied", .reason = "unknown-key",
                     .detail = "fp=0011 peer=127.0.0.1 domain=sluice.admin" };
    FEED (m, 1, &d, &r, &a);
    cr_assert_eq (get (m, "sluice_records_denied_total{owner=\"health\",consumer=\"parking\","
                          "type=\"health.v1.Encounter\",stage=\"deliver\",reason=\"consent-missing\"}"), 1);
    cr_assert_eq (get (m, "sluice_records_refused_total{member=\"water\",type=\"" T "\",reason=\"bad-body\"}"), 1);
    cr_assert_eq (get (m, "sluice_auth_denied_total{plane=\"admin\",reason=\"unknown-key\"}"), 1);
    sl_metrics_destroy (&m);
}

Test (metrics, label_values_are_escaped)
{
    sl_metrics_t *m = sl_metrics_new (NULL);
    sl_event_t ev = { .kind = "publish.refused", .actor = "water", .record_type = "a\"b\\c\nd",
                      .reason = "bad-request" };
    FEED (m, 1, &ev);
    cr_assert_eq (get (m, "sluice_records_refused_total{member=\"water\",type=\"a\\\"b\\\\c\\nd\","
                          "reason=\"bad-request\"}"), 1);
    sl_metrics_destroy (&m);
}

Test (metrics, every_family_has_help_and_type_once)
{
    sl_metrics_t *m = sl_metrics_new (NULL);
    sl_event_t pub = { .kind = "publish", .owner = "water", .record_type = T };
    FEED (m, 1, &pub);
    size_t len;
    char *text = sl_metrics_render (m, &len);
    cr_assert_eq (strlen (text), len);
    const char *p = strstr (text, "# TYPE sluice_records_published_total counter\n");
    cr_assert_not_null (p);
    cr_assert_null (strstr (p + 1, "# TYPE sluice_records_published_total"));
    cr_assert_not_null (strstr (text, "sluice_commit_seconds_bucket{le=\"+Inf\"} "));
    cr_assert_not_null (strstr (text, "# TYPE sluice_store_sync_seconds histogram\n"));
    free (text);
    sl_metrics_destroy (&m);
}

Test (metrics, not_ready_before_a_sample)
{
    sl_metrics_t *m = sl_metrics_new (NULL);
    char why[200];
    cr_assert_eq (sl_metrics_ready (m, 1000, 30000, why, sizeof why), 0);
    cr_assert_not_null (strstr (why, "not sampled"), "%s", why);
    sl_metrics_destroy (&m);
}

Test (metrics, many_label_sets_count_apart_through_the_memo)
{
    /* more (owner, consumer, type) sets than the memo has slots, each seen
     * several times, interleaved: every series gets exactly its own count */
    sl_metrics_t *m = sl_metrics_new (NULL);
    char consumer[600][16];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 600; i++) {
            snprintf (consumer[i], sizeof consumer[i], "c%d", i);
            sl_event_t d = { .kind = "deliver", .actor = "water", .owner = "water",
                             .counterpart = consumer[i], .record_type = T };
            for (int k = 0; k <= i % 3; k++)
                sl_metrics_event (m, &d);
        }
    sl_metrics_txn_outcome (m, 1);
    char series[200];
    for (int i = 0; i < 600; i++) {
        snprintf (series, sizeof series, "sluice_records_delivered_total{owner=\"water\","
                  "consumer=\"c%d\",type=\"" T "\"}", i);
        cr_assert_eq (get (m, series), 3 * (i % 3 + 1), "%s", series);
    }
    /* an absent value and an empty one are the same label, "none" */
    sl_event_t a = { .kind = "ack", .actor = NULL }, b = { .kind = "ack", .actor = "" };
    FEED (m, 1, &a, &b);
    cr_assert_eq (get (m, "sluice_records_acked_total{consumer=\"none\"}"), 2);
    sl_metrics_destroy (&m);
}

Test (metrics, folded_acceptance_and_ack_lists_count_records)
{
    /* AUDIT.md 6.2: a record's first queue / deny entry stands for its
     * acceptance; one ack entry counts every tag it lists */
    sl_metrics_t *m = sl_metrics_new (NULL);
    sl_event_t q1 = { .kind = "queue", .actor = "water", .owner = "water", .counterpart = "power",
                      .record_type = T, .accepts = 1 };
    sl_event_t q2 = { .kind = "queue", .actor = "water", .owner = "water", .counterpart = "parking",
                      .record_type = T };
    sl_event_t d = { .kind = "deny", .actor = "water", .owner = "water", .counterpart = "power",
                     .record_type = T, .reason = "forbidden", .detail = "stage=publish", .accepts = 1 };
    sl_event_t a = { .kind = "ack", .actor = "power", .detail = "tags=5-9,12", .records = 6 };
    FEED (m, 1, &q1, &q2, &d, &a);
    cr_assert_eq (get (m, "sluice_records_published_total{owner=\"water\",type=\"" T "\"}"), 2);
    cr_assert_eq (get (m, "sluice_records_stored_total{owner=\"water\",consumer=\"parking\",type=\"" T "\"}"), 1);
    cr_assert_eq (get (m, "sluice_records_acked_total{consumer=\"power\"}"), 6);
    cr_assert_eq (get (m, "sluice_audit_entries_total{kind=\"ack\"}"), 1);
    sl_metrics_destroy (&m);
}

/*  Integration: the owners' policies, citizens' consent and the audit log as
 *  the real sluiced enforces them — transforms on the delivered bytes,
 *  default deny, forbid wins, re-decision at delivery, separation of duties
 *  for policy.apply, FILE:LINE:COL errors, the consent channel and its
 *  notices, a verifying audit chain and no raw citizen id in the store. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "tc.h"
#include "sluice/v1/consent.pb-c.h"
#include "water/v1/water.pb-c.h"

#define CONSENT "sluice.v1.ConsentEvent"
#define T_OBSERVED 1767238523         /* 2026-01-01T03:35:23Z */
#define T_HOUR     1767236400         /* 2026-01-01T03:00:00Z */
#define T_DAY      1767225600         /* 2026-01-01T00:00:00Z */
#define GIVEN      SLUICE__V1__CONSENT_EVENT__KIND__GIVEN
#define WITHDRAWN  SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN
#define ACK        SLUICE__V1__COMMAND__ACK

static tc_broker_t B;
static sl_keypair_t kw, kp, kk, ka;   /* water, power, parking, app (consent-source) */

#define CITY "purpose joint-metering \"water and power reconcile consumption\"\n"

/*  Water's permit of its readings for joint-metering; `rest` ends the rule. */
#define WATER_PERMIT(name, consumers, fields, rest) \
    TL_RULE (name, "water", consumers, TL_WATER, "joint-metering", fields, rest)

static const char *WATER_SHARES = "# water shares pseudonymized hourly readings\n"
    WATER_PERMIT ("w2p", "power, parking", "district, date_observed, water_consumption_m3",
                  "  subject   pseudonymize\n  time      coarsen hour\n");

static void
setup (void)
{
    const char *extra[] = { "--consent-scan-ms", "100", "--checkpoint-every", "10", NULL };
    cr_assert_eq (tc_scene (&B, extra, &kw, &kp, CITY, NULL), 0);
    cr_assert_eq (tc_member (&B, "parking", "member", &kk), 0);
    cr_assert_eq (tc_member (&B, "app", "consent-source", &ka), 0);
}

static void
teardown (void)
{
    tc_broker_cleanup (&B);
}

TestSuite (govern, .init = setup, .fini = teardown, .timeout = 90);

/*  A full water reading (every field set) about `subject`. */
static uint8_t *
reading (const char *subject, size_t *len)
{
    Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
    r.id = "WM-1:1767227723";
    r.ref_device = "WM-1";
    r.subject = (char *) subject;
    r.district = "north";
    r.date_observed = T_OBSERVED;
    r.water_consumption_m3 = 12.5;
    r.max_flow_m3h = 3.25;
    r.min_flow_m3h = 0.5;
    r.alarm_in_progress = 1;
    r.meter_name = "Main street 4";
    *len = water__v1__meter_reading__get_packed_size (&r);
    uint8_t *buf = malloc (*len);
    water__v1__meter_reading__pack (&r, buf);
    return buf;
}

/*  Publishes one record of `type`: 0 when it was acknowledged, else the
 *  ERROR's first code (tc_publish_wait; an answer must come). */
static int
publish (tc_client_t *c, const char *type, uint32_t n, const char *subject,
         const uint8_t *body, size_t len)
{
    char err[300];
    int rc = tc_publish_wait (c, type, n, subject, body, len, 5000, err, sizeof err);
    cr_assert_neq (rc, -1, "%s", err);
    return rc;
}

static void
publish_reading (tc_client_t *w, uint32_t n, const char *subject)
{
    size_t len;
    uint8_t *body = reading (subject, &len);
    cr_assert_eq (publish (w, TL_WATER, n, subject, body, len), 0, "publish %u refused", n);
    free (body);
}

/*  Receives one DELIVER with one record; returns 0 or -1 (nothing). */
static int
deliver (tc_client_t *c, tc_msg_t *m, int timeout_ms)
{
    if (tc_recv_cmd (c, m, SLUICE__V1__COMMAND__DELIVER, timeout_ms) != 0)
        return -1;
    cr_assert_eq (m->h->command, SLUICE__V1__COMMAND__DELIVER, "got command %d", m->h->command);
    cr_assert_eq (m->h->n_records, 1);
    return 0;
}

/*  Acknowledges the one record of DELIVER m (the broker confirms it) and
 *  frees m. */
static void
ack_one (tc_client_t *c, tc_msg_t *m)
{
    cr_assert_eq (tc_ack (c, m->h->records[0]->delivery_tag, 0), 1);
    tc_msg_free (m);
}

/*  The first body of m decoded as a water reading (free with
 *  water__v1__meter_reading__free_unpacked). */
static Water__V1__MeterReading *
decoded (const tc_msg_t *m)
{
    Water__V1__MeterReading *r = water__v1__meter_reading__unpack (NULL, m->lens[0], m->bodies[0]);
    cr_assert_not_null (r, "delivered body does not decode");
    return r;
}

/*  Water's `policy` applied as its version 1 (NULL: none), power
 *  subscribed for joint-metering with `credit`, water joined. */
static void
power_and_water (tc_client_t *p, tc_client_t *w, const char *policy, uint32_t credit)
{
    if (policy)
        cr_assert_eq (tc_policy (&B, "water", policy), 1, "%s", policy);
    cr_assert_eq (tc_consumer (p, &B, &kp, "power", TL_WATER, "joint-metering", credit), 0);
    cr_assert_eq (tc_join (w, &B, &kw, "water"), 0);
}

/*  After `credit` more (0: none), nothing reaches consumer `p` (`why` names
 *  what did), power's queue is empty, and a deny entry for power meets the
 *  conditions (tc_audit_count's). */
#define ASSERT_DENIED(p, credit, why, ...)                                                     \
    do {                                                                                       \
        tc_msg_t m_;                                                                           \
        if (credit)                                                                            \
            tc_credit ((p), (credit));                                                         \
        cr_assert_neq (deliver ((p), &m_, 700), 0, why);                                       \
        cr_assert_eq (tc_queue_depth (&B, "power"), 0, "denied records stay queued");          \
        cr_assert_gt (tc_audit_await (&B, 2000, "kind=deny", "counterpart=power", __VA_ARGS__, \
                                      NULL), 0);                                               \
    } while (0)

/*  1 when s is a pseudonym: 32 lowercase hex digits. */
static int
is_hex32 (const char *s)
{
    return strlen (s) == 32 && strspn (s, "0123456789abcdef") == 32;
}

/*  Water shares with power and parking (WATER_SHARES, version 1), both
 *  subscribed with credit, and water publishes reading 1 about `subject`. */
static void
shares_scene (tc_client_t *w, tc_client_t *p, tc_client_t *k, const char *subject)
{
    power_and_water (p, w, WATER_SHARES, 10);
    cr_assert_eq (tc_consumer (k, &B, &kk, "parking", TL_WATER, "joint-metering", 10), 0);
    publish_reading (w, 1, subject);
}

Test (govern, permit_releases_exactly_what_the_policy_says)
{
    tc_client_t w, p, k;
    tc_msg_t m;
    shares_scene (&w, &p, &k, "C-1001");

    cr_assert_eq (deliver (&p, &m, 5000), 0, "power got nothing");
    Sluice__V1__RecordMeta *r = m.h->records[0];
    cr_assert_eq (r->n_rules, 1);
    cr_assert_str_eq (r->rules[0], "water/w2p@1");
    cr_assert (is_hex32 (r->subject), "subject not pseudonymized: %s", r->subject);
    char pseudo_power[64];
    snprintf (pseudo_power, sizeof pseudo_power, "%s", r->subject);
    Water__V1__MeterReading *got = decoded (&m);
    cr_assert_str_eq (got->subject, pseudo_power, "body and header disagree on the subject");
    cr_assert_str_eq (got->district, "north");
    cr_assert_eq (got->date_observed, T_HOUR, "time not coarsened to the hour: %lld",
                  (long long) got->date_observed);
    cr_assert_eq (got->water_consumption_m3, 12.5);
    /* fields the policy does not release are absent from the bytes */
    cr_assert_str_eq (got->id, "");
    cr_assert_str_eq (got->ref_device, "");
    cr_assert_str_eq (got->meter_name, "");
    cr_assert_eq (got->max_flow_m3h, 0);
    cr_assert_eq (got->alarm_in_progress, 0);
    cr_assert_null (memmem (m.bodies[0], m.lens[0], "C-1001", 6), "raw id in the delivered bytes");
    cr_assert_null (memmem (m.bodies[0], m.lens[0], "Main street", 11));
    water__v1__meter_reading__free_unpacked (got, NULL);
    ack_one (&p, &m);

    /* the same citizen gets another pseudonym at parking (unlinkable) */
    cr_assert_eq (deliver (&k, &m, 5000), 0, "parking got nothing");
    cr_assert (is_hex32 (m.h->records[0]->subject));
    cr_assert_str_neq (m.h->records[0]->subject, pseudo_power);
    ack_one (&k, &m);

    /* and the same one again at power (stable) */
    publish_reading (&w, 2, "C-1001");
    cr_assert_eq (deliver (&p, &m, 5000), 0);
    cr_assert_str_eq (m.h->records[0]->subject, pseudo_power);
    tc_msg_free (&m);
    tc_close_all (&w, &p, &k, NULL);
}

Test (govern, default_deny_without_a_policy)
{
    tc_client_t w, p;
    power_and_water (&p, &w, NULL, 10);
    publish_reading (&w, 1, "C-1");
    ASSERT_DENIED (&p, 0, "delivered without any permit", "reason=no-matching-rule");
    tc_close_all (&w, &p, NULL);
}

Test (govern, a_city_forbid_beats_the_owners_permit)
{
    cr_assert_eq (tc_policy (&B, "city", CITY "forbid \"no-water-to-power\" {\n  owner water\n"
                                              "  consumer power\n}\n"), 2);
    tc_client_t w, p, k;
    tc_msg_t m;
    shares_scene (&w, &p, &k, "C-1");
    cr_assert_eq (deliver (&k, &m, 5000), 0, "parking (not forbidden) got nothing");
    tc_msg_free (&m);
    ASSERT_DENIED (&p, 0, "a forbidden copy reached power", "record_type=" TL_WATER,
                   "purpose=joint-metering", "reason=forbidden");
    tc_close_all (&w, &p, &k, NULL);
}

Test (govern, a_rule_removed_after_queueing_stops_queued_records)
{
    tc_client_t w, p;
    power_and_water (&p, &w, WATER_SHARES, 0);
    publish_reading (&w, 1, "C-1");
    publish_reading (&w, 2, "C-2");
    cr_assert_eq (tc_queue_depth (&B, "power"), 2, "records were not queued");
    /* water withdraws the permit: version 2 has no rule for power */
    cr_assert_eq (tc_policy (&B, "water", "# nothing is shared any more\n"), 2);
    ASSERT_DENIED (&p, 10, "a queued record left after its rule was removed", "owner=water",
                   "detail=stage=deliver");
    tc_close_all (&w, &p, NULL);
}

/*  The time in Unix seconds as the broker reads it (clock_gettime). Not
 *  time(): glibc answers that from a coarse clock that lags a few
 *  milliseconds behind at each second boundary, so a notice the broker sent
 *  at second S looked as if it came at S - 1 — the cause of the occasional
 *  failure of an_expiring_consent_notifies_and_stops_the_queue. */
static int64_t
now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec;
}

/*  A time-bound test needs a whole window however slow the run: waits for
 *  the start of the next second and returns the end of a window of
 *  `seconds` (stretched by SLUICE_TEST_TIME_SCALE, at most 20 s) from there.
 *  Second-granular times (consent valid_to, a rule's `valid`) then leave
 *  the full window, not 1 to 2 s of it. */
static int64_t
window_end (int seconds)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    usleep ((useconds_t) ((1000000000L - ts.tv_nsec) / 1000 + 1000));
    int ms = tc_wait (seconds * 1000);
    if (ms > 20000)
        ms = 20000;
    return now_s () + (ms + 999) / 1000;
}

Test (govern, a_rule_whose_validity_ends_stops_queued_records)
{
    /* the slow parts (handshakes) before the window starts */
    tc_client_t w, p;
    tc_msg_t m;
    power_and_water (&p, &w, NULL, 0);
    int64_t ends = window_end (2);
    struct tm tm;
    time_t te = (time_t) ends;
    gmtime_r (&te, &tm);
    char until[32], policy[512];
    strftime (until, sizeof until, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf (policy, sizeof policy, WATER_PERMIT ("w2p-until", "power", "district, water_consumption_m3",
                                                   "  valid     .. %s\n"), until);
    cr_assert_eq (tc_policy (&B, "water", policy), 1);
    /* inside the window the rule permits: the control */
    tc_credit (&p, 1);
    publish_reading (&w, 1, "C-1");
    cr_assert_eq (deliver (&p, &m, 5000), 0, "nothing delivered inside the rule's window");
    ack_one (&p, &m);
    /* queued inside the window, no credit yet */
    publish_reading (&w, 2, "C-2");
    cr_assert_lt (now_s (), ends, "the run was too slow for the window");
    cr_assert_eq (tc_queue_depth (&B, "power"), 1, "not queued while the rule was valid");
    while (now_s () < ends)
        usleep (50000);
    /* the window ended between enqueue and delivery: nothing with the same
     * policy and consent changed, yet the time did, so it is decided again */
    ASSERT_DENIED (&p, 10, "a queued record left after its rule's window ended",
                   "reason=outside-validity", "detail=stage=deliver");
    tc_close_all (&w, &p, NULL);
}

/*  Nothing changed between publish and delivery: the delivery is not
 *  decided again, and names the rule that decided at publish. (Decided
 *  again without the record, a permit whose `where` the record failed
 *  would count as holding and be named too.) */
Test (govern, a_delivery_that_stands_names_the_rule_that_decided_at_publish)
{
    tc_client_t w, p;
    tc_msg_t m;
    power_and_water (&p, &w,
                     WATER_PERMIT ("w2p-south", "power", "district, water_consumption_m3",
                                   "  where district = \"south\"\n")
                     WATER_PERMIT ("w2p-any", "power", "district", ""), 0);
    publish_reading (&w, 1, "C-1");          /* district north: only w2p-any permits */
    tc_credit (&p, 1);
    cr_assert_eq (deliver (&p, &m, 5000), 0, "nothing delivered");
    cr_assert_eq (m.h->records[0]->n_rules, 1, "rules: %zu", m.h->records[0]->n_rules);
    cr_assert_str_eq (m.h->records[0]->rules[0], "water/w2p-any@1");
    Water__V1__MeterReading *got = decoded (&m);
    cr_assert_str_eq (got->district, "north");
    cr_assert_eq (got->water_consumption_m3, 0, "a field only w2p-south releases");
    water__v1__meter_reading__free_unpacked (got, NULL);
    tc_msg_free (&m);
    tc_close_all (&w, &p, NULL);
}

Test (govern, a_narrowed_permit_reshapes_queued_records)
{
    tc_client_t w, p;
    tc_msg_t m;
    power_and_water (&p, &w, WATER_SHARES, 0);
    publish_reading (&w, 1, "C-1");
    cr_assert_eq (tc_queue_depth (&B, "power"), 1);
    /* version 2 no longer releases the district and rounds to the day */
    const char *v2 = WATER_PERMIT ("w2p", "power, parking", "date_observed, water_consumption_m3",
                                   "  subject   pseudonymize\n  time      coarsen day\n");
    cr_assert_eq (tc_policy (&B, "water", v2), 2, "%s", v2);
    tc_credit (&p, 10);
    cr_assert_eq (deliver (&p, &m, 5000), 0, "nothing delivered");
    cr_assert_str_eq (m.h->records[0]->rules[0], "water/w2p@2", "delivered under the old rule");
    Water__V1__MeterReading *got = decoded (&m);
    cr_assert_str_eq (got->district, "", "a field the permit no longer releases was delivered");
    cr_assert_eq (got->water_consumption_m3, 12.5);
    cr_assert_eq (got->date_observed, T_DAY, "not rounded to the day");
    /* the subject is still power's pseudonym of C-1, not a pseudonym of it */
    cr_assert (is_hex32 (got->subject));
    cr_assert_str_eq (got->subject, m.h->records[0]->subject);
    water__v1__meter_reading__free_unpacked (got, NULL);
    char first[64];
    snprintf (first, sizeof first, "%s", m.h->records[0]->subject);
    tc_msg_free (&m);
    publish_reading (&w, 2, "C-1");
    cr_assert_eq (deliver (&p, &m, 5000), 0);
    cr_assert_str_eq (m.h->records[0]->subject, first, "pseudonym differs between queued and fresh copies");
    tc_msg_free (&m);
    tc_close_all (&w, &p, NULL);
}

/*  policy.apply as `as`, which must be answered with `code`; returns the
 *  response (caller frees). */
static Sluice__V1__AdminResponse *
apply_as (const sl_keypair_t *as, const char *text, int code)
{
    Sluice__V1__AdminResponse *r = tc_policy_apply (&B, as, "water.policy", text);
    cr_assert_not_null (r, "no answer to policy.apply");
    cr_assert_eq (r->code, code, "%s", r->text);
    return r;
}

Test (govern, only_the_owners_admin_may_grant_its_data)
{
    const sl_keypair_t *power_admin = tc_owner_admin (&B, "power");
    cr_assert_not_null (power_admin);
    Sluice__V1__AdminResponse *r =
        apply_as (power_admin, WATER_SHARES, SLUICE__V1__ERROR_CODE__NOT_PERMITTED);
    cr_assert (strstr (r->text, "water.policy:2:"), "no position for the offending rule: %s", r->text);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    /* the city administrator may forbid, but not permit */
    r = apply_as (&B.admin, WATER_SHARES, SLUICE__V1__ERROR_CODE__NOT_PERMITTED);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    /* nothing was stored: water's own first apply is version 1 */
    cr_assert_eq (tc_policy (&B, "water", WATER_SHARES), 1);
}

Test (govern, a_bad_policy_gives_every_error_with_its_position_and_changes_nothing)
{
    cr_assert_eq (tc_policy (&B, "water", WATER_SHARES), 1);
    const char *bad =
        "permit \"w2p\" {\n"
        "  owner     water\n"
        "  consumer  power\n"
        "  records   water.v1.MeterReading\n"
        "  purpose   joint-meterin\n"
        "  fields    distrct, date_observed\n"
        "}\n";
    Sluice__V1__AdminResponse *r =
        apply_as (tc_owner_admin (&B, "water"), bad, SLUICE__V1__ERROR_CODE__BAD_REQUEST);
    TL_HAS (r->text, "water.policy:5:13: error:", "water.policy:6:13: error:", "did you mean 'district'");
    cJSON *j = cJSON_Parse (r->result_json);
    cr_assert_not_null (j, "no result with the errors");
    cr_assert_geq (cJSON_GetArraySize (cJSON_GetObjectItemCaseSensitive (j, "errors")), 2);
    cJSON_Delete (j);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    /* version 1 is still in force and the next good apply is version 2 */
    tc_client_t w, p;
    tc_msg_t m;
    power_and_water (&p, &w, NULL, 10);
    publish_reading (&w, 1, "C-1");
    cr_assert_eq (deliver (&p, &m, 5000), 0, "the refused apply changed the policy in force");
    cr_assert_str_eq (m.h->records[0]->rules[0], "water/w2p@1");
    tc_msg_free (&m);
    cr_assert_eq (tc_policy (&B, "water", WATER_SHARES), 2);
    tc_close_all (&w, &p, NULL);
}

/*  Power asks for `subject` for `purpose`: the answer is a DENIED error
 *  with `reason` for that QUERY, and the owner w never sees the query
 *  (`what` names the query in the message). */
static void
query_denied (tc_client_t *p, tc_client_t *w, const char *subject, const char *purpose,
              const char *reason, const char *what)
{
    tc_msg_t a, q;
    uint64_t seq = tc_query (p, TL_WATER, subject, purpose, 3000);
    cr_assert_eq (tc_recv_cmd (p, &a, SLUICE__V1__COMMAND__REPLY, 5000), 0, "%s: no answer", what);
    cr_assert_eq (a.h->command, SLUICE__V1__COMMAND__ERROR, "%s", what);
    cr_assert_eq (a.h->seq, seq, "%s", what);
    cr_assert_eq (a.h->errors[0]->code, SLUICE__V1__ERROR_CODE__DENIED, "%s", what);
    cr_assert_str_eq (a.h->errors[0]->reason, reason, "%s", what);
    tc_msg_free (&a);
    cr_assert_neq (tc_recv (w, &q, 300), 0, "%s reached the owner", what);
}

Test (govern, queries_are_checked_both_ways_and_replies_shaped)
{
    cr_assert_eq (tc_policy (&B, "water", WATER_SHARES), 1);
    tc_client_t w, p;
    tc_msg_t q, a;
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    cr_assert_eq (tc_join (&p, &B, &kp, "power"), 0);

    /* a purpose no permit names: denied before the owner sees the query */
    query_denied (&p, &w, "C-1001", "marketing", "no-matching-rule", "a denied query");
    /* by clear id under a pseudonymizing permit: denied (POLICY.md 6.1) */
    query_denied (&p, &w, "C-1001", "joint-metering", "subject-not-clear", "a clear-id query");

    /* permitted without a subject: the owner answers with the full record,
     * power gets the shaped copy */
    uint64_t seq = tc_query (&p, TL_WATER, "", "joint-metering", 3000);
    cr_assert_eq (tc_recv_cmd (&w, &q, SLUICE__V1__COMMAND__QUERY, 5000), 0, "owner got no QUERY");
    size_t len;
    uint8_t *body = reading ("C-1001", &len);
    tc_reply1 (&w, q.h->query_id, "C-1001", (int64_t) T_OBSERVED * 1000, 0, body, len);
    tc_msg_free (&q);
    free (body);
    cr_assert_eq (tc_recv_cmd (&p, &a, SLUICE__V1__COMMAND__REPLY, 5000), 0, "asker got no answer");
    cr_assert_eq (a.h->command, SLUICE__V1__COMMAND__REPLY);
    cr_assert_eq (a.h->seq, seq);
    cr_assert_eq (a.h->n_records, 1);
    cr_assert_str_eq (a.h->records[0]->rules[0], "water/w2p@1");
    cr_assert (is_hex32 (a.h->records[0]->subject), "%s", a.h->records[0]->subject);
    Water__V1__MeterReading *got = decoded (&a);
    cr_assert_str_eq (got->subject, a.h->records[0]->subject);
    cr_assert_str_eq (got->meter_name, "");
    cr_assert_eq (got->date_observed, T_HOUR);
    water__v1__meter_reading__free_unpacked (got, NULL);
    tc_msg_free (&a);
    tc_close_all (&w, &p, NULL);
}

/* ------------------------------------------------------------- consent */

static const char *WATER_WITH_CONSENT =
    WATER_PERMIT ("w2p-consent", "power", "district, water_consumption_m3",
                  "  subject   pseudonymize\n  consent   required\n");

/*  The consent of every event; consent_event sets its id, expiry and field. */
static tc_consent_t s_consent = { .subject = "C-7", .controller = "water", .recipient = "power",
                                  .purpose = "joint-metering", .type = TL_WATER, .method = "app",
                                  .evidence = "receipt-42" };

/*  Publishes consent event `kind` of `consent_id` (s_consent; a GIVEN one
 *  until valid_to, 0: no expiry, and for only `field` unless NULL) as c;
 *  returns what publish does (0: acknowledged). */
static int
consent_event (tc_client_t *c, uint32_t n, Sluice__V1__ConsentEvent__Kind kind,
               const char *consent_id, int64_t valid_to, const char *field)
{
    s_consent.id = consent_id;
    s_consent.valid_to = valid_to;
    s_consent.field = field;
    size_t len;
    uint8_t *buf = tc_consent_pack (&s_consent, kind, &len);
    cr_assert_not_null (buf);
    int rc = publish (c, CONSENT, n, "", buf, len);
    free (buf);
    return rc;
}

/*  The consent scene: water's policy needs consent; power subscribed with
 *  `credit`, water and the app (the consent source) joined. */
static void
consent_scene (tc_client_t *w, tc_client_t *p, tc_client_t *a, uint32_t credit)
{
    power_and_water (p, w, WATER_WITH_CONSENT, credit);
    cr_assert_eq (tc_join (a, &B, &ka, "app"), 0);
}

/*  The next NOTICE to p, within timeout_ms, is `notice`: into *m (free it),
 *  or freed when m is NULL. */
static void
expect_notice (tc_client_t *p, tc_msg_t *m, const char *notice, int timeout_ms)
{
    tc_msg_t own;
    tc_msg_t *n = m ? m : &own;
    cr_assert_eq (tc_recv_cmd (p, n, SLUICE__V1__COMMAND__NOTICE, timeout_ms), 0, "no NOTICE %s", notice);
    cr_assert_eq (n->h->command, SLUICE__V1__COMMAND__NOTICE);
    cr_assert_str_eq (n->h->notice, notice);
    if (!m)
        tc_msg_free (&own);
}

/*  The value of NOTICE argument `key` ("" when absent). */
static const char *
notice_arg (const tc_msg_t *m, const char *key)
{
    for (size_t i = 0; i < m->h->n_notice_args; i++)
        if (!strcmp (m->h->notice_args[i]->key, key))
            return m->h->notice_args[i]->value;
    return "";
}

Test (govern, consent_gates_queues_and_notifies)
{
    tc_client_t w, p, a;
    tc_msg_t m;
    consent_scene (&w, &p, &a, 1);

    /* no consent: denied, and the reason says so */
    publish_reading (&w, 1, "C-7");
    ASSERT_DENIED (&p, 0, "delivered without consent", "reason=consent-missing");

    /* the citizen consents through the city app (a consent-source member) */
    cr_assert_eq (consent_event (&a, 1, GIVEN, "c-7-power", 0, NULL), 0);
    publish_reading (&w, 2, "C-7");
    cr_assert_eq (deliver (&p, &m, 5000), 0, "nothing delivered with a valid consent");
    cr_assert_str_eq (m.h->records[0]->rules[0], "water/w2p-consent@1");
    char seen[64];
    snprintf (seen, sizeof seen, "%s", m.h->records[0]->subject);
    cr_assert (is_hex32 (seen));
    ack_one (&p, &m);

    /* two more wait in power's queue (no credit left) */
    publish_reading (&w, 3, "C-7");
    publish_reading (&w, 4, "C-7");
    cr_assert_eq (tc_queue_depth (&B, "power"), 2);

    /* withdrawal: power is told, in its own pseudonym, and the queue stops */
    cr_assert_eq (consent_event (&a, 2, WITHDRAWN, "c-7-power", 0, NULL), 0);
    expect_notice (&p, &m, "consent-withdrawn", 5000);
    cr_assert_str_eq (notice_arg (&m, "subject"), seen, "notice names the subject as power does not see it");
    cr_assert_str_eq (notice_arg (&m, "owner"), "water");
    cr_assert_str_eq (notice_arg (&m, "purpose"), "joint-metering");
    tc_msg_free (&m);
    ASSERT_DENIED (&p, 10, "a queued record left after the withdrawal", "reason=consent-withdrawn");
    tc_close_all (&w, &p, &a, NULL);
}

Test (govern, an_expiring_consent_notifies_and_stops_the_queue)
{
    tc_client_t w, p, a;
    consent_scene (&w, &p, &a, 0);
    int64_t ends = window_end (2);
    cr_assert_eq (consent_event (&a, 1, GIVEN, "c-7-short", ends, NULL), 0);
    publish_reading (&w, 1, "C-7");
    cr_assert_lt (now_s (), ends, "the run was too slow for the window");
    cr_assert_eq (tc_queue_depth (&B, "power"), 1, "not queued while the consent was valid");
    /* valid_to passes: the broker finds it within its scan period */
    expect_notice (&p, NULL, "consent-expired", 8000);
    cr_assert_geq (now_s (), ends, "notice before the consent expired");
    ASSERT_DENIED (&p, 10, "a queued record left after the consent expired", "reason=consent-expired");
    tc_close_all (&w, &p, &a, NULL);
}

Test (govern, a_consent_limited_to_fields_releases_only_those)
{
    tc_client_t w, p, a;
    tc_msg_t m;
    consent_scene (&w, &p, &a, 10);
    cr_assert_eq (consent_event (&a, 1, GIVEN, "c-7-m3", 0, "water_consumption_m3"), 0);
    publish_reading (&w, 1, "C-7");
    cr_assert_eq (deliver (&p, &m, 5000), 0, "nothing delivered");
    Water__V1__MeterReading *got = decoded (&m);
    cr_assert_eq (got->water_consumption_m3, 12.5);
    cr_assert_str_eq (got->district, "", "a field the citizen did not consent to was released");
    water__v1__meter_reading__free_unpacked (got, NULL);
    tc_msg_free (&m);
    tc_close_all (&w, &p, &a, NULL);
}

Test (govern, consent_events_from_other_members_are_refused)
{
    tc_client_t w, a;
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    cr_assert_eq (consent_event (&w, 1, GIVEN, "c-forged", 0, NULL), SLUICE__V1__ERROR_CODE__NOT_PERMITTED);
    /* and it did not count: the app can still grant that id */
    cr_assert_eq (tc_join (&a, &B, &ka, "app"), 0);
    cr_assert_eq (consent_event (&a, 1, GIVEN, "c-forged", 0, NULL), 0);
    tc_close_all (&w, &a, NULL);
}

/* --------------------------------------------------------------- audit */

Test (govern, both_planes_write_the_same_consent_entry)
{
    /* the same consent granted by the city app (data plane) and by water's
     * administrator (admin plane) */
    tc_client_t a;
    cr_assert_eq (tc_join (&a, &B, &ka, "app"), 0);
    cr_assert_eq (consent_event (&a, 1, GIVEN, "c-7-data", 0, NULL), 0);
    tc_close (&a);
    const sl_keypair_t *adm = tc_owner_admin (&B, "water");
    cr_assert_not_null (adm);
    char text[256];
    cr_assert_eq (tc_admin_answer (&B, adm, "consent.grant",
        "{\"consent_id\":\"c-7-admin\",\"subject\":\"C-7\",\"controller\":\"water\","
        "\"recipient\":\"power\",\"purposes\":[\"joint-metering\"],"
        "\"record_types\":[\"" TL_WATER "\"],\"collection_method\":\"app\","
        "\"evidence\":\"receipt-42\"}", text, sizeof text, NULL, 0),
                  SLUICE__V1__ERROR_CODE__OK, "%s", text);
    cr_assert_eq (tc_broker_stop (&B), 0);

    tc_full_entry_t e[4];
    cr_assert_eq (tc_audit_read_full (B.dir, "consent.grant", e, 4), 2);
    const tc_full_entry_t *data = &e[0], *admin = &e[1];
    cr_assert_str_eq (data->m.detail, "consent=c-7-data");
    cr_assert_str_eq (admin->m.detail, "consent=c-7-admin");
    /* field by field the same, record_type included; only who acted differs */
#define SAME(f) cr_assert_str_eq (data->f, admin->f, "%s differs", #f)
    SAME (m.counterpart);
    SAME (m.owner);
    SAME (record_type);
    SAME (subject);
    SAME (m.purpose);
    SAME (m.decision);
    SAME (m.rules);
    SAME (m.fields);
    SAME (m.reason);
#undef SAME
    cr_assert_eq (data->m.has_msgid, admin->m.has_msgid, "message_id differs");
    cr_assert_str_eq (data->record_type, TL_WATER);
    cr_assert_str_eq (data->m.purpose, "joint-metering");
    cr_assert_str_eq (data->m.actor, "app");
    cr_assert_str_eq (admin->m.actor, "admin-water");
}

Test (govern, the_audit_log_verifies_and_holds_no_raw_citizen_id)
{
    /* long ids are sealed in queued copies too */
    const char *raw = "CIT-93a7f2-SECRET-0123456789-0123456789-0123456789-0123456789-0123456789-0123456789";
    tc_client_t w, p;
    tc_msg_t m;
    power_and_water (&p, &w, WATER_SHARES, 0);
    for (uint32_t i = 1; i <= 5; i++)
        publish_reading (&w, i, raw);
    tc_credit (&p, 3);
    uint64_t tags[3];
    cr_assert_eq (tc_drain (&p, 3, 0, tags, 5000), 3);
    /* one ACK for the three, out of order, with a tag that is not queued */
    uint64_t acks[4] = { tags[2], tags[0], 77, tags[1] };
    Sluice__V1__Header ah = SLUICE__V1__HEADER__INIT;
    ah.command = ACK;
    ah.n_delivery_tags = 4;
    ah.delivery_tags = acks;
    uint64_t aseq = tc_send (&p, &ah, NULL, NULL, 0);
    cr_assert_eq (tc_recv_cmd (&p, &m, ACK, 5000), 0);
    cr_assert_eq (m.h->seq, aseq);
    cr_assert_eq (m.h->n_delivery_tags, 3);
    tc_msg_free (&m);
    char want_ack[96];
    if (tags[1] == tags[0] + 1 && tags[2] == tags[1] + 1)
        snprintf (want_ack, sizeof want_ack, "tags=%llu-%llu", (unsigned long long) tags[0],
                  (unsigned long long) tags[2]);
    else
        snprintf (want_ack, sizeof want_ack, "tags=%llu,%llu,%llu", (unsigned long long) tags[0],
                  (unsigned long long) tags[1], (unsigned long long) tags[2]);
    tc_close_all (&w, &p, NULL);
    cr_assert_eq (tc_broker_stop (&B), 0);

    /* the raw id appears nowhere in the store file, queued copies included */
    char path[600];
    snprintf (path, sizeof path, "%s/store/data.mdb", B.dir);
    size_t len;
    char *bytes = tl_slurp (path, &len);
    cr_assert_not_null (bytes, "%s", path);
    cr_assert_null (memmem (bytes, len, raw, strlen (raw)), "raw citizen id found in data.mdb");
    cr_assert_not_null (memmem (bytes, len, "w2p@1", 5), "scan sanity: rule ids are in the file");
    free (bytes);

    /* the chain verifies with the published key, checkpoint included */
    sl_audit_report_t rep;
    cr_assert_eq (tc_audit_verify (B.dir, &rep), 0, "%s", rep.message);
    /* every 10 entries while running, and one at clean shutdown */
    cr_assert_geq (rep.checkpoints, 2, "checkpoints: %llu", (unsigned long long) rep.checkpoints);

    /* the kinds of a traffic run, with the deciding rules; each record's
     * queue entry stands for its acceptance (AUDIT.md 6.2) */
    tc_full_entry_t q[8], d[8];
    cr_assert_eq (tc_audit_read_full (B.dir, "queue", q, 8), 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_neq (q[i].subject[0], 0, "queue entry without a subject pseudonym");
        cr_assert_str_eq (q[i].m.rules, "water/w2p@1");
        cr_assert_str_eq (q[i].m.fields, "subject,district,date_observed,water_consumption_m3");
    }
    cr_assert_eq (tc_audit_read_full (B.dir, "deliver", d, 8), 3);
    for (int i = 0; i < 3; i++) {
        cr_assert_str_eq (d[i].m.rules, "water/w2p@1");
        /* the subject the copy carries (its audit pseudonym made at
         * publish, or the sealed raw id): the same audit pseudonym */
        cr_assert_str_eq (d[i].subject, q[4].subject, "deliver entry names another subject");
    }
    tc_entry_t ack;
    cr_assert_eq (tc_audit_read (B.dir, "ack", &ack, 1), 1, "one ack entry per ACK");
    cr_assert_str_eq (ack.detail, want_ack);
    cr_assert_eq (tc_audit_read (B.dir, "publish", NULL, 0), 0);
    cr_assert_eq (tc_audit_read (B.dir, "policy.apply", NULL, 0), 2, "city and water applies");
    cr_assert_eq (tc_audit_read (B.dir, "broker.start", NULL, 0), 1);
    cr_assert_eq (tc_audit_read (B.dir, "broker.stop", NULL, 0), 1);
}

/*  Integration: QUERY routed to the owner and REPLY routed back; denied,
 *  owner offline, owner too slow, owner refuses. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tc.h"

static tc_broker_t B;
static sl_keypair_t kw, kp;

static void
setup (void)
{
    cr_assert_eq (tc_scene (&B, NULL, &kw, &kp, "purpose billing-check \"power checks bills\"\n",
                            TL_RULE ("w2p", "water", "power", TL_WATER, "billing-check", "*",
                                     "  subject   keep\n")), 0);
}

static void
teardown (void)
{
    tc_broker_cleanup (&B);
}

TestSuite (query, .init = setup, .fini = teardown, .timeout = 60);

static uint64_t
ask (tc_client_t *c, const char *purpose, uint32_t timeout_ms)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    Sluice__V1__Header__ParametersEntry pe = SLUICE__V1__HEADER__PARAMETERS_ENTRY__INIT, *pp = &pe;
    pe.key = "from";
    pe.value = "1767225600";
    h.command = SLUICE__V1__COMMAND__QUERY;
    h.record_type = TL_WATER;
    h.subject = "C-1001";
    h.purpose = (char *) purpose;
    h.timeout_ms = timeout_ms;
    h.n_parameters = 1;
    h.parameters = &pp;
    return tc_send (c, &h, NULL, NULL, 0);
}

static int
error_code (tc_client_t *c, uint64_t seq, int timeout_ms)
{
    tc_msg_t m;
    if (tc_recv_cmd (c, &m, SLUICE__V1__COMMAND__REPLY, timeout_ms) != 0)
        return -1;
    int code = -2;
    if (m.h->command == SLUICE__V1__COMMAND__ERROR && m.h->seq == seq && m.h->n_errors > 0)
        code = m.h->errors[0]->code;
    tc_msg_free (&m);
    return code;
}

/* joins the owner w and the asker p, asks for billing-check (asked_at, if given, is the time just
 * before asking) and waits for the QUERY at the owner, into *q */
static uint64_t
ask_owner (tc_client_t *w, tc_client_t *p, uint32_t timeout_ms, int64_t *asked_at, tc_msg_t *q)
{
    cr_assert_eq (tc_join (w, &B, &kw, "water"), 0);
    cr_assert_eq (tc_join (p, &B, &kp, "power"), 0);
    if (asked_at)
        *asked_at = tc_ms ();
    uint64_t seq = ask (p, "billing-check", timeout_ms);
    cr_assert_eq (tc_recv_cmd (w, q, SLUICE__V1__COMMAND__QUERY, 5000), 0, "owner got no QUERY");
    cr_assert_eq (q->h->command, SLUICE__V1__COMMAND__QUERY);
    return seq;
}

/* the asker's REPLY to seq, into *a */
static void
answer (tc_client_t *p, uint64_t seq, tc_msg_t *a)
{
    cr_assert_eq (tc_recv_cmd (p, a, SLUICE__V1__COMMAND__REPLY, 5000), 0, "asker got no answer");
    cr_assert_eq (a->h->command, SLUICE__V1__COMMAND__REPLY);
    cr_assert_eq (a->h->seq, seq);
}

Test (query, query_reply_round_trip)
{
    tc_client_t w, p;
    tc_msg_t q, a;
    uint64_t seq = ask_owner (&w, &p, 3000, NULL, &q);
    cr_assert_str_eq (q.h->member, "power");
    cr_assert_str_eq (q.h->subject, "C-1001");
    cr_assert_str_eq (q.h->purpose, "billing-check");
    cr_assert_eq (q.h->n_parameters, 1);
    cr_assert_str_eq (q.h->parameters[0]->value, "1767225600");
    cr_assert_gt (q.h->query_id, 0);

    size_t len;
    uint8_t *body = tc_water_reading ("C-1001", 99.5, &len);
    tc_reply1 (&w, q.h->query_id, "C-1001", 1767225600000, 0, body, len);
    tc_msg_free (&q);

    answer (&p, seq, &a);
    cr_assert_eq (a.h->n_records, 1);
    cr_assert_str_eq (a.h->records[0]->owner, "water");
    cr_assert_str_eq (a.h->records[0]->record_type, TL_WATER);
    cr_assert_str_eq (a.h->records[0]->purpose, "billing-check");
    cr_assert_eq (a.lens[0], len);
    cr_assert_eq (memcmp (a.bodies[0], body, len), 0);
    free (body);
    tc_msg_free (&a);
    tc_close_all (&w, &p, NULL);
}

Test (query, empty_reply_is_an_answer)
{
    tc_client_t w, p;
    tc_msg_t q, a;
    uint64_t seq = ask_owner (&w, &p, 3000, NULL, &q);
    tc_reply1 (&w, q.h->query_id, NULL, 0, 0, NULL, 0);
    tc_msg_free (&q);
    answer (&p, seq, &a);
    cr_assert_eq (a.h->n_records, 0);
    tc_msg_free (&a);
    tc_close_all (&w, &p, NULL);
}

Test (query, owner_refusal_is_passed_on)
{
    tc_client_t w, p;
    tc_msg_t q;
    uint64_t seq = ask_owner (&w, &p, 3000, NULL, &q);
    Sluice__V1__Header r = SLUICE__V1__HEADER__INIT;
    Sluice__V1__Error e = SLUICE__V1__ERROR__INIT, *ep = &e;
    e.code = SLUICE__V1__ERROR_CODE__NOT_FOUND;
    e.text = "no readings for this subject";
    r.command = SLUICE__V1__COMMAND__ERROR;
    r.query_id = q.h->query_id;
    r.n_errors = 1;
    r.errors = &ep;
    tc_send (&w, &r, NULL, NULL, 0);
    tc_msg_free (&q);
    cr_assert_eq (error_code (&p, seq, 5000), SLUICE__V1__ERROR_CODE__NOT_FOUND);
    tc_close_all (&w, &p, NULL);
}

/*  QUERYs the broker answers itself, each with its code: the owner never
 *  connected, a record type nobody registered, a purpose no permit names
 *  (the owner, online, never sees it), an owner that was connected and
 *  left. */
Test (query, refused_queries_get_their_code)
{
    tc_client_t w, p;
    tc_msg_t q;
    cr_assert_eq (tc_join (&p, &B, &kp, "power"), 0);
    cr_assert_eq (error_code (&p, ask (&p, "billing-check", 3000), 5000),
                  SLUICE__V1__ERROR_CODE__OWNER_OFFLINE);
    cr_assert_eq (error_code (&p, tc_query (&p, "water.v9.Nothing", NULL, "billing-check", 0), 5000),
                  SLUICE__V1__ERROR_CODE__UNKNOWN_RECORD_TYPE);
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    cr_assert_eq (error_code (&p, ask (&p, "marketing", 3000), 5000), SLUICE__V1__ERROR_CODE__DENIED);
    cr_assert_neq (tc_recv (&w, &q, 300), 0, "a denied query reached the owner");
    tc_close (&w);
    usleep (300000);
    cr_assert_eq (error_code (&p, ask (&p, "billing-check", 3000), 5000),
                  SLUICE__V1__ERROR_CODE__OWNER_OFFLINE);
    tc_close (&p);
}

Test (query, slow_owner_times_out_and_late_reply_is_dropped)
{
    tc_client_t w, p;
    tc_msg_t q, a;
    int64_t t0;
    uint64_t seq = ask_owner (&w, &p, 300, &t0, &q);
    cr_assert_eq (q.h->timeout_ms, 300);
    cr_assert_eq (error_code (&p, seq, 5000), SLUICE__V1__ERROR_CODE__TIMEOUT);
    int64_t took = tc_ms () - t0;
    cr_assert (took >= 250 && took < 3000, "timeout after %lld ms", (long long) took);
    /* the late reply goes nowhere: the asker gets exactly one answer */
    tc_reply1 (&w, q.h->query_id, NULL, 0, 0, NULL, 0);
    tc_msg_free (&q);
    cr_assert_neq (tc_recv (&p, &a, 500), 0, "a second answer to one QUERY");
    cr_assert (TC_AWAIT (2000, tc_broker_log_count (&B, "event=query.late") > 0),
               "no event=query.late in the log");
    tc_close_all (&w, &p, NULL);
}

Test (query, owner_leaving_mid_query_fails_it_at_once)
{
    tc_client_t w, p;
    tc_msg_t q;
    int64_t t0;
    uint64_t seq = ask_owner (&w, &p, 20000, &t0, &q);
    tc_msg_free (&q);
    tc_close (&w);
    cr_assert_eq (error_code (&p, seq, 5000), SLUICE__V1__ERROR_CODE__OWNER_OFFLINE);
    cr_assert_lt (tc_ms () - t0, 5000, "waited for the timeout instead");
    tc_close (&p);
}

Test (query, shutdown_fails_waiting_queries)
{
    tc_client_t w, p;
    tc_msg_t q, a, n;
    uint64_t seq = ask_owner (&w, &p, 20000, NULL, &q);
    tc_msg_free (&q);
    cr_assert_eq (tc_broker_stop (&B), 0, "sluiced did not exit 0 on SIGTERM");
    cr_assert_eq (tc_recv_cmd (&p, &a, SLUICE__V1__COMMAND__REPLY, 3000), 0, "query left unanswered");
    cr_assert_eq (a.h->command, SLUICE__V1__COMMAND__ERROR);
    cr_assert_eq (a.h->seq, seq);
    cr_assert_eq (a.h->errors[0]->code, SLUICE__V1__ERROR_CODE__INTERNAL);
    cr_assert_str_eq (a.h->errors[0]->reason, "shutdown");
    tc_msg_free (&a);
    cr_assert_eq (tc_recv_cmd (&w, &n, SLUICE__V1__COMMAND__NOTICE, 3000), 0);
    cr_assert_eq (n.h->command, SLUICE__V1__COMMAND__NOTICE);
    cr_assert_str_eq (n.h->notice, "shutdown");
    tc_msg_free (&n);
    tc_close_all (&w, &p, NULL);
}

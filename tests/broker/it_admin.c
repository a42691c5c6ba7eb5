/*  Integration: the admin plane (roles, member.add/list/revoke, status) and
 *  revocation closing open sessions. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "tc.h"

static tc_broker_t B;

static void
setup (void)
{
    cr_assert_eq (tc_broker_start (&B, NULL), 0, "sluiced did not start");
}

static void
teardown (void)
{
    tc_broker_cleanup (&B);
}

TestSuite (admin, .init = setup, .fini = teardown, .timeout = 60);

Test (admin, member_add_and_list)
{
    sl_keypair_t kw;
    cr_assert_eq (tc_member (&B, "water", "member", &kw), 0);
    Sluice__V1__AdminResponse *r = tc_admin (&B, &B.admin, "member.list", NULL);
    cr_assert_not_null (r);
    cr_assert_eq (r->code, 0, "%s", r->text);
    cr_assert (strstr (r->result_json, "\"name\":\"water\""), "%s", r->result_json);
    cr_assert (strstr (r->result_json, kw.public_key), "%s", r->result_json);
    cr_assert (strstr (r->result_json, "\"role\":\"admin:city\""), "%s", r->result_json);
    sluice__v1__admin_response__free_unpacked (r, NULL);
}

Test (admin, member_add_refuses_bad_and_duplicate_input)
{
    sl_keypair_t kw;
    cr_assert_eq (tc_member (&B, "water", "member", &kw), 0);
    char args[256];
    snprintf (args, sizeof args, "{\"name\":\"water2\",\"role\":\"member\",\"public_key\":\"%s\"}",
              kw.public_key);
    Sluice__V1__AdminResponse *r = tc_admin (&B, &B.admin, "member.add", args);
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__BAD_REQUEST);
    cr_assert (strstr (r->text, "already registered to member 'water'"), "%s", r->text);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    r = tc_admin (&B, &B.admin, "member.add", "{\"name\":\"Bad Name\",\"role\":\"member\",\"public_key\":\"x\"}");
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__BAD_REQUEST);
    cr_assert (strstr (r->text, "name"), "%s", r->text);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    r = tc_admin (&B, &B.admin, "member.add", "{\"name\":\"x\"}");
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__BAD_REQUEST);
    cr_assert (strstr (r->text, "'role'"), "%s", r->text);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    r = tc_admin (&B, &B.admin, "member.add", "{not json");
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__BAD_REQUEST);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    r = tc_admin (&B, &B.admin, "no.such.command", NULL);
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__UNKNOWN_COMMAND);
    sluice__v1__admin_response__free_unpacked (r, NULL);
}

Test (admin, roles_are_enforced)
{
    sl_keypair_t kw, ka, kn;
    cr_assert_eq (tc_member (&B, "water", "member", &kw), 0);
    cr_assert_eq (tc_member (&B, "aud", "auditor", &ka), 0);
    cr_assert_eq (sl_keys_generate (&kn), 0);
    char args[256];
    snprintf (args, sizeof args, "{\"name\":\"intruder\",\"role\":\"admin:city\",\"public_key\":\"%s\"}",
              kn.public_key);
    Sluice__V1__AdminResponse *r = tc_admin (&B, &kw, "member.add", args);
    cr_assert_not_null (r);
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__NOT_PERMITTED, "%s", r->text);
    sluice__v1__admin_response__free_unpacked (r, NULL);
    r = tc_admin (&B, &ka, "member.add", args);
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__NOT_PERMITTED);
    sluice__v1__admin_response__free_unpacked (r, NULL);
    r = tc_admin (&B, &kw, "status", NULL);
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__NOT_PERMITTED);
    sluice__v1__admin_response__free_unpacked (r, NULL);
    r = tc_admin (&B, &ka, "status", NULL);
    cr_assert_eq (r->code, 0);
    sluice__v1__admin_response__free_unpacked (r, NULL);
    r = tc_admin (&B, &B.admin, "member.list", NULL);
    cr_assert_null (strstr (r->result_json, "intruder"), "a member role added a member");
    sluice__v1__admin_response__free_unpacked (r, NULL);
}

Test (admin, status_reports_connections_and_queues)
{
    sl_keypair_t kw;
    cr_assert_eq (tc_member (&B, "water", "member", &kw), 0);
    tc_client_t w;
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    Sluice__V1__AdminResponse *r = tc_admin (&B, &B.admin, "status", NULL);
    cr_assert_eq (r->code, 0);
    cr_assert (strstr (r->result_json, "\"version\":\"0.1.0\""), "%s", r->result_json);
    cr_assert (strstr (r->result_json, "\"members_connected\":[\"water\"]"), "%s", r->result_json);
    cr_assert (strstr (r->result_json, "\"uptime_s\":"), "%s", r->result_json);
    sluice__v1__admin_response__free_unpacked (r, NULL);
    tc_close (&w);
    /* the broker notices the disconnect and forgets the session */
    int gone = 0;
    for (int64_t until = tc_ms () + 3000; !gone && tc_ms () < until;) {
        usleep (50000);
        r = tc_admin (&B, &B.admin, "status", NULL);
        cr_assert_not_null (r);
        gone = strstr (r->result_json, "\"members_connected\":[]") != NULL;
        sluice__v1__admin_response__free_unpacked (r, NULL);
    }
    cr_assert (gone, "a closed connection is still listed as connected");
    cr_assert_gt (tc_broker_log_count (&B, "plane=admin peer="), 0);
    cr_assert_gt (tc_broker_log_count (&B, "reason=disconnected"), 0);
}

Test (admin, revoke_closes_sessions_and_refuses_the_key)
{
    sl_keypair_t kw;
    cr_assert_eq (tc_member (&B, "water", "member", &kw), 0);
    tc_client_t w;
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    Sluice__V1__AdminResponse *r = tc_admin (&B, &B.admin, "member.revoke", "{\"name\":\"water\"}");
    cr_assert_eq (r->code, 0, "%s", r->text);
    cr_assert (strstr (r->result_json, "\"sessions_closed\":1"), "%s", r->result_json);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    tc_msg_t m;
    cr_assert_eq (tc_recv (&w, &m, 3000), 0, "no NOTICE");
    cr_assert_eq (m.h->command, SLUICE__V1__COMMAND__NOTICE);
    cr_assert_str_eq (m.h->notice, "revoked");
    tc_msg_free (&m);
    int64_t until = tc_ms () + tc_wait (3000);
    while (tc_broker_log_count (&B, "event=session.closed member=water") == 0 && tc_ms () < until)
        usleep (20000);
    cr_assert_gt (tc_broker_log_count (&B, "reason=revoked shut=1"), 0, "connection not shut down");

    /* the old socket reconnects by itself, but the handshake is refused now */
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__HELLO;
    tc_send (&w, &h, NULL, NULL, 0);
    cr_assert_neq (tc_recv (&w, &m, 1500), 0, "a revoked member got an answer");
    tc_close (&w);
    cr_assert (tc_refused (B.data_ep, B.broker_pub, &kw, 1500), "a revoked key was admitted");
    char fp[17], needle[40];
    sl_keys_fingerprint (kw.public_key, fp);
    snprintf (needle, sizeof needle, "detail~fp=%s ", fp);
    cr_assert_gt (tc_audit_await (&B, 3000, "kind=auth.denied", "reason=revoked", needle, NULL), 0);
    r = tc_admin (&B, &B.admin, "member.list", NULL);
    cr_assert (strstr (r->result_json, "\"revoked\":true"), "%s", r->result_json);
    sluice__v1__admin_response__free_unpacked (r, NULL);
}

Test (admin, unknown_admin_key_is_refused)
{
    sl_keypair_t stranger;
    cr_assert_eq (sl_keys_generate (&stranger), 0);
    Sluice__V1__AdminResponse *r = tc_admin (&B, &stranger, "status", NULL);
    cr_assert_null (r, "an unregistered key got an admin answer");
}

Test (admin, a_req_socket_works_too)
{
    void *req = zmq_socket (tc_ctx (), ZMQ_REQ);
    int linger = 0;
    zmq_setsockopt (req, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (req, ZMQ_CURVE_SERVERKEY, B.broker_pub, 40);
    zmq_setsockopt (req, ZMQ_CURVE_PUBLICKEY, B.admin.public_key, 40);
    zmq_setsockopt (req, ZMQ_CURVE_SECRETKEY, B.admin.secret_key, 40);
    cr_assert_eq (zmq_connect (req, B.admin_ep), 0);
    Sluice__V1__AdminRequest r = SLUICE__V1__ADMIN_REQUEST__INIT;
    r.version = 1;
    r.seq = 5;
    r.command = "member.list";
    uint8_t buf[256];
    size_t len = sluice__v1__admin_request__pack (&r, buf);
    cr_assert_eq (zmq_send (req, buf, len, 0), (int) len);
    zmq_pollitem_t it = { req, 0, ZMQ_POLLIN, 0 };
    cr_assert_eq (zmq_poll (&it, 1, 5000), 1, "no answer to a REQ client");
    zmq_msg_t f;
    zmq_msg_init (&f);
    cr_assert_geq (zmq_msg_recv (&f, req, 0), 0);
    Sluice__V1__AdminResponse *resp =
        sluice__v1__admin_response__unpack (NULL, zmq_msg_size (&f), zmq_msg_data (&f));
    zmq_msg_close (&f);
    cr_assert_not_null (resp);
    cr_assert_eq (resp->seq, 5);
    cr_assert_eq (resp->code, 0);
    cr_assert (strstr (resp->result_json, "\"admin\""), "%s", resp->result_json);
    sluice__v1__admin_response__free_unpacked (resp, NULL);
    zmq_close (req);
}

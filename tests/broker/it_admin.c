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
static char text[1024], res[8192];   /* the last answer's text and result */

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

/*  The code of `command` with `args` as `as`; its text and result in
 *  text and res. */
static int
code_of (const sl_keypair_t *as, const char *command, const char *args)
{
    return tc_admin_answer (&B, as, command, args, text, sizeof text, res, sizeof res);
}

Test (admin, member_add_and_list)
{
    sl_keypair_t kw;
    cr_assert_eq (tc_member (&B, "water", "member", &kw), 0);
    cr_assert_eq (code_of (&B.admin, "member.list", NULL), 0, "%s", text);
    TL_HAS (res, "\"name\":\"water\"", kw.public_key, "\"role\":\"admin:city\"");
}

/*  Who asks what of the admin plane, and the code (and a part of the text)
 *  the answer has. In args, %s is water's key, or with `fresh` a key nobody
 *  has. */
enum { CITY, WATER, AUDITOR };
static const struct {
    const char *name;
    int as;
    const char *command, *args;
    int fresh, code;
    const char *text;
} ANSWERS[] = {
    { "a key registered twice", CITY, "member.add",
      "{\"name\":\"water2\",\"role\":\"member\",\"public_key\":\"%s\"}", 0,
      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "already registered to member 'water'" },
    { "a bad name", CITY, "member.add", "{\"name\":\"Bad Name\",\"role\":\"member\",\"public_key\":\"x\"}", 0,
      SLUICE__V1__ERROR_CODE__BAD_REQUEST, "name" },
    { "no role", CITY, "member.add", "{\"name\":\"x\"}", 0, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
      "'role'" },
    { "not JSON", CITY, "member.add", "{not json", 0, SLUICE__V1__ERROR_CODE__BAD_REQUEST, NULL },
    { "an unknown command", CITY, "no.such.command", NULL, 0, SLUICE__V1__ERROR_CODE__UNKNOWN_COMMAND,
      NULL },
    { "a member adds an administrator", WATER, "member.add",
      "{\"name\":\"intruder\",\"role\":\"admin:city\",\"public_key\":\"%s\"}", 1,
      SLUICE__V1__ERROR_CODE__NOT_PERMITTED, NULL },
    { "an auditor adds an administrator", AUDITOR, "member.add",
      "{\"name\":\"intruder\",\"role\":\"admin:city\",\"public_key\":\"%s\"}", 1,
      SLUICE__V1__ERROR_CODE__NOT_PERMITTED, NULL },
    { "a member asks for the status", WATER, "status", NULL, 0, SLUICE__V1__ERROR_CODE__NOT_PERMITTED,
      NULL },
    { "an auditor asks for the status", AUDITOR, "status", NULL, 0, 0, NULL },
};

Test (admin, bad_input_and_roles_get_their_answers)
{
    sl_keypair_t k[3], kn;
    k[CITY] = B.admin;
    cr_assert_eq (tc_member (&B, "water", "member", &k[WATER]), 0);
    cr_assert_eq (tc_member (&B, "aud", "auditor", &k[AUDITOR]), 0);
    cr_assert_eq (sl_keys_generate (&kn), 0);
    for (size_t i = 0; i < sizeof ANSWERS / sizeof ANSWERS[0]; i++) {
        char args[512] = "";
        if (ANSWERS[i].args)
            snprintf (args, sizeof args, ANSWERS[i].args,
                      ANSWERS[i].fresh ? kn.public_key : k[WATER].public_key);
        int code = code_of (&k[ANSWERS[i].as], ANSWERS[i].command, ANSWERS[i].args ? args : NULL);
        cr_assert_eq (code, ANSWERS[i].code, "%s: code %d: %s", ANSWERS[i].name, code, text);
        cr_assert (!ANSWERS[i].text || strstr (text, ANSWERS[i].text), "%s: no '%s' in %s",
                   ANSWERS[i].name, ANSWERS[i].text, text);
    }
    cr_assert_eq (code_of (&B.admin, "member.list", NULL), 0, "%s", text);
    cr_assert_null (strstr (res, "intruder"), "a member role added a member");
}

Test (admin, status_reports_connections_and_queues)
{
    sl_keypair_t kw;
    cr_assert_eq (tc_member (&B, "water", "member", &kw), 0);
    tc_client_t w;
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    cr_assert_eq (code_of (&B.admin, "status", NULL), 0, "%s", text);
    TL_HAS (res, "\"version\":\"0.1.0\"", "\"members_connected\":[\"water\"]", "\"uptime_s\":");
    tc_close (&w);
    /* the broker notices the disconnect and forgets the session */
    cr_assert (TC_AWAIT (3000, code_of (&B.admin, "status", NULL) == 0
                               && strstr (res, "\"members_connected\":[]")),
               "a closed connection is still listed as connected: %s %s", text, res);
    cr_assert_gt (tc_broker_log_count (&B, "plane=admin peer="), 0);
    cr_assert_gt (tc_broker_log_count (&B, "reason=disconnected"), 0);
}

Test (admin, revoke_closes_sessions_and_refuses_the_key)
{
    sl_keypair_t kw;
    cr_assert_eq (tc_member (&B, "water", "member", &kw), 0);
    tc_client_t w;
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    cr_assert_eq (code_of (&B.admin, "member.revoke", "{\"name\":\"water\"}"), 0, "%s", text);
    cr_assert (strstr (res, "\"sessions_closed\":1"), "%s", res);

    tc_msg_t m;
    cr_assert_eq (tc_recv (&w, &m, 3000), 0, "no NOTICE");
    cr_assert_eq (m.h->command, SLUICE__V1__COMMAND__NOTICE);
    cr_assert_str_eq (m.h->notice, "revoked");
    tc_msg_free (&m);
    (void) TC_AWAIT (3000, tc_broker_log_count (&B, "event=session.closed member=water") > 0);
    cr_assert_gt (tc_broker_log_count (&B, "reason=revoked shut=1"), 0, "connection not shut down");

    /* the old socket reconnects by itself, but the handshake is refused now */
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__HELLO;
    tc_send (&w, &h, NULL, NULL, 0);
    cr_assert_neq (tc_recv (&w, &m, 1500), 0, "a revoked member got an answer");
    tc_close (&w);
    cr_assert (tc_refused (B.data_ep, B.broker_pub, &kw, 1500), "a revoked key was admitted");
    cr_assert_gt (tc_auth_denied_await (&B, kw.public_key, "revoked", 3000), 0);
    cr_assert_eq (code_of (&B.admin, "member.list", NULL), 0, "%s", text);
    cr_assert (strstr (res, "\"revoked\":true"), "%s", res);
}

Test (admin, unknown_admin_key_is_refused)
{
    sl_keypair_t stranger;
    cr_assert_eq (sl_keys_generate (&stranger), 0);
    cr_assert_eq (code_of (&stranger, "status", NULL), -1, "an unregistered key got an admin answer");
}

Test (admin, a_req_socket_works_too)
{
    void *req = tc_curve_socket (NULL, ZMQ_REQ, B.broker_pub, B.admin.public_key, B.admin.secret_key);
    cr_assert_not_null (req);
    cr_assert_eq (zmq_connect (req, B.admin_ep), 0);
    cr_assert_eq (tc_admin_send (req, 5, "member.list", NULL, NULL, 0), 0);
    Sluice__V1__AdminResponse *resp = tc_admin_recv (req, 5000);
    cr_assert_not_null (resp, "no answer to a REQ client");
    cr_assert_eq (resp->seq, 5);
    cr_assert_eq (resp->code, 0);
    cr_assert (strstr (resp->result_json, "\"admin\""), "%s", resp->result_json);
    sluice__v1__admin_response__free_unpacked (resp, NULL);
    zmq_close (req);
}

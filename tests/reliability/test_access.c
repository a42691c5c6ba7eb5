/*  Access (issue 7, item 5): who may connect, who may write what, and that a
 *  replayed message id has no second effect. Raw protocol client (tc), the
 *  real sluiced, real policies.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "rel_check.h"
#include "tc.h"
#include "tl.h"


static tc_broker_t B;
static sl_keypair_t kw, kp;

static void
setup (void)
{
    cr_assert_eq (tc_scene (&B, NULL, &kw, &kp, TL_CITY,
                            TL_PERMIT ("water-to-power", "*", "pseudonymize", "")), 0);
}

static void
teardown (void)
{
    tc_broker_cleanup (&B);
}

TestSuite (access, .init = setup, .fini = teardown, .timeout = 90);

static char text[400];     /* the text of the last s_adm answer */

/*  Admin `command` with `args` (may be NULL) as `as`: the response code
 *  (-1: none), its text in text[]. */
static int
s_adm (const sl_keypair_t *as, const char *command, const char *args)
{
    return tc_admin_code (&B, as, command, args, text, sizeof text);
}

/*  rel_check of the broker's directory `dir` for publisher -> consumer,
 *  which must pass (rel_check.h). The report. */
#define s_checked(dir, publisher, consumer) REL_CHECKED ("rel_check", dir, publisher, consumer)

/*  A member that still works: the broker was not hurt. */
static void
s_still_serves (void)
{
    tc_client_t w;
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0, "the broker stopped serving members");
    tc_close (&w);
}

Test (access, a_plaintext_connection_is_refused)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.version = 1;
    h.command = SLUICE__V1__COMMAND__HELLO;
    h.seq = 1;
    uint8_t hello[256];
    size_t hello_len = sluice__v1__header__pack (&h, hello);
    /* a HELLO on the data plane, a request on the admin plane */
    const struct {
        const char *who, *ep;
        const void *msg;
        size_t len;
        int wait_ms;
    } tries[] = {
        { "a plaintext client", B.data_ep, hello, hello_len, 1500 },
        { "a plaintext admin client", B.admin_ep, "{}", 2, 1000 },
    };
    for (size_t i = 0; i < 2; i++) {
        void *s = zmq_socket (tc_ctx (), ZMQ_DEALER);     /* NULL mechanism: no CURVE */
        int linger = 0;
        zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger);
        cr_assert_eq (zmq_connect (s, tries[i].ep), 0);
        zmq_send (s, tries[i].msg, tries[i].len, ZMQ_DONTWAIT);
        zmq_pollitem_t it = { s, 0, ZMQ_POLLIN, 0 };
        cr_assert_eq (zmq_poll (&it, 1, tries[i].wait_ms), 0, "%s got an answer", tries[i].who);
        zmq_close (s);
    }
    s_still_serves ();
}

Test (access, a_revoked_key_loses_its_open_session_at_once)
{
    tc_client_t w;
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    cr_assert_eq (s_adm (&B.admin, "member.revoke", "{\"name\":\"water\"}"), 0, "%s", text);
    /* the next publish on the open session has no effect */
    uint8_t id[16];
    size_t len;
    tc_msgid (id, 77);
    uint8_t *body = tc_water_reading ("C-77", 1.0, &len);
    tc_publish1 (&w, TL_WATER, id, "C-77", body, len);
    free (body);
    tc_msg_t m;
    int acked = 0;
    for (int64_t until = tc_ms () + 1500; tc_ms () < until;)
        if (tc_recv (&w, &m, 100) == 0) {
            acked |= m.h->command == SLUICE__V1__COMMAND__ACK;
            tc_msg_free (&m);
        }
    cr_assert (!acked, "a revoked member's publish was stored");
    tc_close (&w);
    char data[400];
    snprintf (data, sizeof data, "%s", B.dir);
    cr_assert_eq (tc_broker_stop (&B), 0);
    cr_assert_eq (s_checked (data, "water", "power").msgids, 0, "the revoked member's record was stored");
}

Test (access, a_bureau_admin_cannot_change_another_bureaus_rules)
{
    const sl_keypair_t *aw = tc_owner_admin (&B, "water");
    cr_assert_not_null (aw);
    cr_assert_not_null (tc_owner_admin (&B, "power"));
    const char *pp = "permit \"p\" {\n  owner power\n  consumer water\n"
                     "  records power.v1.MeterReading\n  purpose joint-metering\n  fields *\n}\n";
    cr_assert_eq (tc_policy (&B, "power", pp), 1);
    cr_assert_eq (tc_policy (&B, "power", "# nothing shared\n"), 2);
    Sluice__V1__AdminResponse *r = tc_policy_apply (&B, aw, "power.policy",
        "permit \"steal\" {\n  owner power\n  consumer water\n  records power.v1.MeterReading\n"
        "  purpose joint-metering\n  fields *\n}\n");
    cr_assert_not_null (r);
    cr_assert_neq (r->code, 0, "water's admin wrote power's rules");
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__NOT_PERMITTED, "code %d: %s", r->code, r->text);
    sluice__v1__admin_response__free_unpacked (r, NULL);
    int code = s_adm (aw, "policy.rollback", "{\"owner\":\"power\",\"version\":1}");
    cr_assert_eq (code, SLUICE__V1__ERROR_CODE__NOT_PERMITTED, "code %d: %s", code, text);
    r = tc_admin (&B, &B.admin, "policy.history", "{\"owner\":\"power\"}");
    cr_assert_not_null (r);
    cr_assert_null (strstr (r->result_json ? r->result_json : "", "steal"), "%s", r->result_json);
    sluice__v1__admin_response__free_unpacked (r, NULL);
}

Test (access, an_auditor_cannot_write_anything)
{
    sl_keypair_t ka, kn;
    cr_assert_eq (tc_member (&B, "aud", "auditor", &ka), 0);
    cr_assert_eq (sl_keys_generate (&kn), 0);
    char add[256];
    snprintf (add, sizeof add, "{\"name\":\"x\",\"role\":\"member\",\"public_key\":\"%s\"}",
              kn.public_key);
    const char *writes[][2] = {
        { "member.add", add },
        { "member.revoke", "{\"name\":\"water\"}" },
        { "policy.rollback", "{\"owner\":\"water\",\"version\":1}" },
        { "consent.grant", "{\"subject\":\"C-1\",\"owner\":\"health\",\"consumer\":\"parking\","
                           "\"purposes\":[\"parking-fee-waiver\"]}" },
        { "consent.withdraw", "{\"id\":\"c-1\"}" },
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        int code = s_adm (&ka, writes[i][0], writes[i][1]);
        cr_assert_neq (code, -1, "%s: no answer", writes[i][0]);
        cr_assert_eq (code, SLUICE__V1__ERROR_CODE__NOT_PERMITTED, "%s as auditor: code %d: %s",
                      writes[i][0], code, text);
    }
    Sluice__V1__AdminResponse *r = tc_policy_apply (&B, &ka, "water.policy",
        "permit \"aud\" {\n  owner water\n  consumer power\n  records " TL_WATER "\n"
        "  purpose joint-metering\n  fields *\n}\n");
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__NOT_PERMITTED, "policy.apply: %s", r->text);
    sluice__v1__admin_response__free_unpacked (r, NULL);
    /* reading is what an auditor is for */
    cr_assert_eq (s_adm (&ka, "audit.verify", NULL), 0, "audit.verify as auditor: %s", text);
    r = tc_admin (&B, &B.admin, "member.list", NULL);
    cr_assert_null (strstr (r->result_json, "\"x\""), "%s", r->result_json);
    cr_assert_null (strstr (r->result_json, "\"revoked\":true"), "%s", r->result_json);
    sluice__v1__admin_response__free_unpacked (r, NULL);
}

Test (access, no_member_can_publish_as_another)
{
    tc_client_t p;
    cr_assert_eq (tc_join (&p, &B, &kp, "power"), 0);
    cr_assert_neq (tc_publish_claiming (&p, 5, "C-5", "water", "water"), 0);
    tc_msg_t m;
    cr_assert_eq (tc_recv_cmd (&p, &m, SLUICE__V1__COMMAND__ACK, 5000), 0);
    cr_assert_eq (m.h->command, SLUICE__V1__COMMAND__ERROR);
    cr_assert_eq (m.h->errors[0]->code, SLUICE__V1__ERROR_CODE__NOT_OWNER);
    tc_msg_free (&m);
    tc_close (&p);
    cr_assert_eq (tc_broker_stop (&B), 0);
    cr_assert_eq (s_checked (B.dir, "water", "power").msgids, 0, "a record was stored as water's");
    cr_assert_eq (s_checked (B.dir, "power", "water").msgids, 0);
}

Test (access, a_replayed_message_id_has_no_second_effect)
{
    tc_client_t w, p;
    cr_assert_eq (tc_consumer (&p, &B, &kp, "power", TL_WATER, "joint-metering", 0), 0);
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    char err[300];
    for (int i = 0; i < 3; i++)   /* the replay carries another body: still the same record */
        cr_assert_eq (tc_publish_water (&w, 9, "C-9", 1.0 + i, err, sizeof err), 0, "replay %d: %s", i, err);
    /* the same id again after a restart (msgids are durable) */
    tc_close_all (&w, &p, NULL);
    cr_assert_eq (tc_broker_stop (&B), 0);
    cr_assert_eq (tc_broker_restart (&B), 0);
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    cr_assert_eq (tc_publish_water (&w, 9, "C-9", 4.0, err, sizeof err), 0, "%s", err);
    tc_close (&w);
    cr_assert_eq (tc_broker_stop (&B), 0);
    /* rel_check fails on a second `publish` or `queue` entry for one id */
    rel_report_t rr = s_checked (B.dir, "water", "power");
    cr_assert_eq (rr.msgids, 1);
    cr_assert_eq (rr.queued, 1, "the replays were queued again (%llu queued)",
                  (unsigned long long) rr.queued);
    cr_assert_eq (rr.audit_queue, 1);
}

Test (access, key_files_readable_by_others_are_refused)
{
    /* sluiced's own key */
    cr_assert_eq (tc_broker_stop (&B), 0);
    char path[400], log[400], key[400], out[2000];
    snprintf (path, sizeof path, "%s/broker.key", B.dir);
    cr_assert_eq (chmod (path, 0644), 0);
    snprintf (log, sizeof log, "%s/sluiced.log", B.dir);
    truncate (log, 0);
    cr_assert_neq (tc_broker_restart (&B), 0, "sluiced ran with a world-readable secret key");
    cr_assert_gt (tc_broker_log_count (&B, "broker.key"), 0, "the error does not name the file");
    cr_assert_eq (chmod (path, 0600), 0);
    cr_assert_eq (tc_broker_restart (&B), 0);
    /* a client's key, through sluicectl (libsluice) */
    snprintf (key, sizeof key, "%s/admin.key", B.dir);
    cr_assert_eq (chmod (key, 0640), 0);
    int st = tc_ctl (out, sizeof out, "--data '%s' --key '%s' status", B.dir, key);
    cr_assert_neq (st, 0, "sluicectl used a group-readable key: %s", out);
    cr_assert (strstr (out, "admin.key"), "the error does not name the key file: %s", out);
    cr_assert_eq (chmod (key, 0600), 0);
    s_still_serves ();
}

/*  Operations: a hot backup (mdb_copy -c of DIR/store while the broker
 *  serves) restores to a data directory whose audit log verifies with
 *  `sluicectl audit verify --data` and whose queued records are delivered. */
Test (access, a_hot_backup_restores_and_verifies, .timeout = 120)
{
    if (system ("command -v mdb_copy >/dev/null 2>&1") != 0)
        cr_skip_test ("mdb_copy (Debian package lmdb-utils) is not installed");
    tc_client_t w;
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    tc_client_t p;
    cr_assert_eq (tc_consumer (&p, &B, &kp, "power", TL_WATER, "joint-metering", 0), 0);
    tc_close (&p);
    for (uint32_t n = 0; n < 40; n++)
        cr_assert_eq (tc_publish_water (&w, n, "C-1", n, NULL, 0), 0);
    /* the backup, while the broker runs */
    char bk[340], out[2000];
    snprintf (bk, sizeof bk, "%.320s-restored", B.dir);
    /* (the documented backup: a consistent copy, files 0600 in 0700
     * directories; a copy others can read is refused at start) */
    cr_assert_eq (tc_ctl (out, sizeof out, "backup --data '%s' '%s'", B.dir, bk), 0, "%s", out);
    tc_close (&w);
    cr_assert_eq (tc_broker_stop (&B), 0);
    /* verified restore */
    cr_assert_eq (tc_ctl (out, sizeof out, "audit verify --data '%s' --pubkey '%s/audit-sign.pub'",
                          bk, B.dir), 0, "verify of the restored copy failed: %s", out);
    rel_report_t rr = s_checked (bk, "water", "power");
    cr_assert_eq (rr.queued, 40, "the restored queue holds %llu", (unsigned long long) rr.queued);
    /* the restored directory serves (B.dir is set back before asserting) */
    char orig[340];
    snprintf (orig, sizeof orig, "%s", B.dir);
    snprintf (B.dir, sizeof B.dir, "%s", bk);
    int got = -1;
    if (tc_broker_restart (&B) == 0) {
        if (tc_join (&p, &B, &kp, "power") == 0) {
            tc_credit (&p, 100);
            got = tc_drain (&p, 40, 0, NULL, 10000);
            tc_close (&p);
        }
        tc_broker_stop (&B);
    }
    if (tl_rm_rf (bk) != 0)
        fprintf (stderr, "could not remove %s\n", bk);
    snprintf (B.dir, sizeof B.dir, "%s", orig);
    cr_assert_eq (got, 40, "the restored data directory did not serve its queue (%d records; "
                  "-1: it did not start)", got);
}

/*  Key rotation of a member: revoke, add the same name with a new key. The
 *  old key stays refused, the new one acts as the member (owns its record
 *  types, receives its queue), and a revoked key cannot be registered again. */
Test (access, a_member_key_is_rotated_by_revoke_and_add)
{
    tc_client_t w, p;
    cr_assert_eq (tc_consumer (&p, &B, &kp, "power", TL_WATER, "joint-metering", 0), 0);
    tc_close (&p);
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    cr_assert_eq (tc_publish_water (&w, 1, "C-1", 1.0, NULL, 0), 0);
    tc_close (&w);

    /* rotate both members' keys */
    sl_keypair_t kw2, kp2;
    cr_assert_eq (sl_keys_generate (&kw2), 0);
    cr_assert_eq (sl_keys_generate (&kp2), 0);
    char args[256];
    snprintf (args, sizeof args, "{\"name\":\"water\",\"role\":\"member\",\"public_key\":\"%s\"}",
              kw2.public_key);
    cr_assert_eq (s_adm (&B.admin, "member.add", args), SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                  "a live member was re-keyed");
    cr_assert (strstr (text, "revoke it first"), "%s", text);
    const char *names[2] = { "water", "power" };
    sl_keypair_t *fresh[2] = { &kw2, &kp2 };
    for (int i = 0; i < 2; i++) {
        snprintf (args, sizeof args, "{\"name\":\"%s\"}", names[i]);
        cr_assert_eq (s_adm (&B.admin, "member.revoke", args), 0, "%s", text);
        snprintf (args, sizeof args, "{\"name\":\"%s\",\"role\":\"member\",\"public_key\":\"%s\"}",
                  names[i], fresh[i]->public_key);
        cr_assert_eq (s_adm (&B.admin, "member.add", args), 0, "re-adding %s with a new key: %s",
                      names[i], text);
    }
    /* the old key is refused, and cannot be registered again */
    cr_assert (tc_refused (B.data_ep, B.broker_pub, &kw, 1500), "the old key was admitted");
    snprintf (args, sizeof args, "{\"name\":\"water2\",\"role\":\"member\",\"public_key\":\"%s\"}",
              kw.public_key);
    cr_assert_eq (s_adm (&B.admin, "member.add", args), SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                  "a revoked key was registered again");
    /* the new keys act as the members: water publishes, power gets its queue */
    cr_assert_eq (tc_join (&w, &B, &kw2, "water"), 0);
    cr_assert_eq (tc_publish_water (&w, 2, "C-2", 2.0, NULL, 0), 0, "the re-keyed water could not publish");
    tc_close (&w);
    cr_assert_eq (tc_join (&p, &B, &kp2, "power"), 0);
    tc_credit (&p, 10);
    int got = tc_drain (&p, 2, 0, NULL, 6000);
    tc_close (&p);
    cr_assert_eq (got, 2, "the re-keyed consumer received %d of 2 records", got);
    /* survives a restart (the registry on disk holds the new key) */
    cr_assert_eq (tc_broker_stop (&B), 0);
    cr_assert_eq (tc_broker_restart (&B), 0);
    cr_assert_eq (tc_join (&w, &B, &kw2, "water"), 0);
    tc_close (&w);
}

/*  The last administrator of the city cannot be revoked: nobody could manage
 *  members or city-wide rules any more. */
Test (access, the_last_city_administrator_cannot_be_revoked)
{
    cr_assert_eq (s_adm (&B.admin, "member.revoke", "{\"name\":\"admin\"}"),
                  SLUICE__V1__ERROR_CODE__BAD_REQUEST, "the last admin:city was revoked");
    cr_assert (strstr (text, "last"), "%s", text);
    sl_keypair_t k2;
    cr_assert_eq (tc_member (&B, "admin2", "admin:city", &k2), 0);
    cr_assert_eq (s_adm (&k2, "member.revoke", "{\"name\":\"admin\"}"), 0,
                  "with a second admin:city the first can go: %s", text);
    cr_assert_eq (s_adm (&k2, "member.revoke", "{\"name\":\"admin2\"}"),
                  SLUICE__V1__ERROR_CODE__BAD_REQUEST);
}

/*  Integration: each bad input gets a precise ERROR, is logged, and the
 *  broker keeps serving the sender and everyone else. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc.h"


static tc_broker_t B;
static sl_keypair_t kw, kp;

static void
setup (void)
{
    const char *extra[] = { "--max-message-size", "65536", NULL };
    cr_assert_eq (tc_scene (&B, extra, &kw, &kp, NULL, NULL), 0);
}

static void
teardown (void)
{
    tc_broker_cleanup (&B);
}

TestSuite (bad, .init = setup, .fini = teardown, .timeout = 60);

/*  The next message must be ERROR with `code` (and seq if seq != ~0). */
static void
expect_error (tc_client_t *c, int code, uint64_t seq, const char *text_part)
{
    tc_msg_t m;
    cr_assert_eq (tc_recv (c, &m, 5000), 0, "no answer (expected ERROR %d)", code);
    cr_assert_eq (m.h->command, SLUICE__V1__COMMAND__ERROR, "got command %d", m.h->command);
    cr_assert_geq (m.h->n_errors, 1);
    cr_assert_eq (m.h->errors[0]->code, code, "code %d, text: %s", m.h->errors[0]->code,
                  m.h->errors[0]->text);
    if (seq != ~(uint64_t) 0)
        cr_assert_eq (m.h->seq, seq);
    if (text_part)
        cr_assert (strstr (m.h->errors[0]->text, text_part), "text: %s", m.h->errors[0]->text);
    tc_msg_free (&m);
}

/*  Both the offender and a bystander are still served. */
static void
still_serving (tc_client_t *c)
{
    cr_assert_eq (tc_hello (c, NULL), 0, "broker stopped answering the sender");
    tc_client_t o;
    cr_assert_eq (tc_join (&o, &B, &kp, "power"), 0, "broker stopped answering others");
    tc_close (&o);
}

static void
join_water (tc_client_t *c)
{
    cr_assert_eq (tc_join (c, &B, &kw, "water"), 0);
}

Test (bad, malformed_header)
{
    tc_client_t c;
    join_water (&c);
    const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
    const void *f[] = { junk };
    size_t l[] = { sizeof junk };
    cr_assert_eq (tc_send_raw (&c, f, l, 1), 0);
    expect_error (&c, SLUICE__V1__ERROR_CODE__BAD_FRAME, 0, "not a sluice.v1.Header");
    cr_assert_gt (tc_broker_log_count (&B, "code=bad-frame"), 0, "not logged");
    still_serving (&c);
    tc_close (&c);
}

Test (bad, wrong_frame_count)
{
    tc_client_t c;
    join_water (&c);
    /* PUBLISH announcing one record but sending no body frame */
    uint8_t id[16];
    tc_msgid (id, 1);
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    Sluice__V1__RecordMeta r = SLUICE__V1__RECORD_META__INIT, *rp = &r;
    h.command = SLUICE__V1__COMMAND__PUBLISH;
    h.record_type = TL_WATER;
    r.message_id.data = id;
    r.message_id.len = 16;
    h.n_records = 1;
    h.records = &rp;
    uint64_t seq = tc_send (&c, &h, NULL, NULL, 0);
    expect_error (&c, SLUICE__V1__ERROR_CODE__BAD_FRAME, seq, "needs 2 frames, got 1");
    /* HELLO with a stray extra frame */
    Sluice__V1__Header hh = SLUICE__V1__HEADER__INIT;
    hh.command = SLUICE__V1__COMMAND__HELLO;
    const uint8_t x[] = { 1, 2, 3 };
    const uint8_t *bodies[] = { x };
    size_t lens[] = { 3 };
    seq = tc_send (&c, &hh, bodies, lens, 1);
    expect_error (&c, SLUICE__V1__ERROR_CODE__BAD_FRAME, seq, "needs 1 frames, got 2");
    still_serving (&c);
    tc_close (&c);
}

Test (bad, unknown_command)
{
    tc_client_t c;
    join_water (&c);
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = (Sluice__V1__Command) 99;
    uint64_t seq = tc_send (&c, &h, NULL, NULL, 0);
    expect_error (&c, SLUICE__V1__ERROR_CODE__UNKNOWN_COMMAND, seq, "99");
    /* DELIVER is broker-to-client only */
    Sluice__V1__Header d = SLUICE__V1__HEADER__INIT;
    d.command = SLUICE__V1__COMMAND__DELIVER;
    seq = tc_send (&c, &d, NULL, NULL, 0);
    expect_error (&c, SLUICE__V1__ERROR_CODE__UNKNOWN_COMMAND, seq, NULL);
    still_serving (&c);
    tc_close (&c);
}

Test (bad, unsupported_version)
{
    tc_client_t c;
    join_water (&c);
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__HELLO;
    h.version = 2;
    uint64_t seq = tc_send (&c, &h, NULL, NULL, 0);
    expect_error (&c, SLUICE__V1__ERROR_CODE__UNSUPPORTED_VERSION, seq, "version 1");
    still_serving (&c);
    tc_close (&c);
}

Test (bad, oversized_message)
{
    tc_client_t c;
    join_water (&c);
    uint8_t id[16];
    tc_msgid (id, 2);
    size_t big = 100000;
    uint8_t *body = calloc (1, big);
    uint64_t seq = tc_publish1 (&c, TL_WATER, id, "C-1", body, big);
    free (body);
    expect_error (&c, SLUICE__V1__ERROR_CODE__TOO_BIG, seq, "limit of 65536");
    still_serving (&c);
    tc_close (&c);
}

Test (bad, undecodable_body)
{
    tc_client_t c;
    join_water (&c);
    uint8_t id[16];
    tc_msgid (id, 3);
    const uint8_t bad[] = { 0x0a, 0x50, 'a' };   /* string field claiming 80 bytes */
    uint64_t seq = tc_publish1 (&c, TL_WATER, id, "C-1", bad, sizeof bad);
    expect_error (&c, SLUICE__V1__ERROR_CODE__BAD_BODY, seq, "does not decode as " TL_WATER);
    still_serving (&c);
    tc_close (&c);
}

Test (bad, header_subject_must_match_the_body)
{
    /* A publisher may not have a record decided (and consent looked up) for
       a person other than the one the record is about. */
    tc_client_t c;
    join_water (&c);
    uint8_t id[16];
    tc_msgid (id, 5);
    size_t len;
    uint8_t *body = tc_water_reading ("C-1", 1.0, &len);
    uint64_t seq = tc_publish1 (&c, TL_WATER, id, "C-2", body, len);
    expect_error (&c, SLUICE__V1__ERROR_CODE__BAD_REQUEST, seq,
                  "RecordMeta.subject differs from the body's subject field");
    free (body);
    still_serving (&c);
    tc_close (&c);
}

Test (bad, unknown_record_type_and_bad_message_id)
{
    tc_client_t c;
    join_water (&c);
    uint8_t id[16];
    tc_msgid (id, 4);
    const uint8_t body[] = { 0x0a, 0x01, 'a' };
    uint64_t seq = tc_publish1 (&c, "water.v1.Nope", id, "C-1", body, sizeof body);
    expect_error (&c, SLUICE__V1__ERROR_CODE__UNKNOWN_RECORD_TYPE, seq, "water.v1.Nope");

    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    Sluice__V1__RecordMeta r = SLUICE__V1__RECORD_META__INIT, *rp = &r;
    h.command = SLUICE__V1__COMMAND__PUBLISH;
    h.record_type = TL_WATER;
    r.message_id.data = id;
    r.message_id.len = 5;
    h.n_records = 1;
    h.records = &rp;
    const uint8_t *bodies[] = { body };
    size_t lens[] = { sizeof body };
    seq = tc_send (&c, &h, bodies, lens, 1);
    expect_error (&c, SLUICE__V1__ERROR_CODE__BAD_REQUEST, seq, "16 bytes");
    still_serving (&c);
    tc_close (&c);
}

Test (bad, subscribe_errors)
{
    tc_client_t c;
    join_water (&c);
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__SUBSCRIBE;
    h.record_type = TL_WATER;
    h.purpose = "Not A Purpose";
    uint64_t seq = tc_send (&c, &h, NULL, NULL, 0);
    expect_error (&c, SLUICE__V1__ERROR_CODE__BAD_REQUEST, seq, "purpose");
    Sluice__V1__Header k = SLUICE__V1__HEADER__INIT;
    k.command = SLUICE__V1__COMMAND__CREDIT;
    k.credit = 5;
    seq = tc_send (&c, &k, NULL, NULL, 0);
    expect_error (&c, SLUICE__V1__ERROR_CODE__NOT_SUBSCRIBED, seq, NULL);
    Sluice__V1__Header u = SLUICE__V1__HEADER__INIT;
    u.command = SLUICE__V1__COMMAND__UNSUBSCRIBE;
    u.record_type = TL_WATER;
    u.purpose = "joint-metering";
    seq = tc_send (&c, &u, NULL, NULL, 0);
    expect_error (&c, SLUICE__V1__ERROR_CODE__NOT_FOUND, seq, NULL);
    still_serving (&c);
    tc_close (&c);
}

Test (bad, random_garbage_does_not_stop_the_broker)
{
    tc_client_t c;
    join_water (&c);
    unsigned seed = 12345;
    uint8_t buf[5][512];
    for (int i = 0; i < 300; i++) {
        size_t nf = 1 + (size_t) (rand_r (&seed) % 5);
        const void *frames[5];
        size_t lens[5];
        for (size_t f = 0; f < nf; f++) {
            lens[f] = (size_t) (rand_r (&seed) % 512);
            for (size_t k = 0; k < lens[f]; k++)
                buf[f][k] = (uint8_t) rand_r (&seed);
            /* half the time start with a plausible header prefix */
            if (f == 0 && lens[f] >= 4 && (i & 1)) {
                buf[f][0] = 0x08;
                buf[f][1] = 0x01;
                buf[f][2] = 0x10;
                buf[f][3] = (uint8_t) (1 + rand_r (&seed) % 14);
            }
            frames[f] = buf[f];
        }
        cr_assert_eq (tc_send_raw (&c, frames, lens, nf), 0);
    }
    /* drain whatever came back, then the broker must still answer */
    tc_msg_t m;
    while (tc_recv (&c, &m, 300) == 0)
        tc_msg_free (&m);
    still_serving (&c);
    tc_close (&c);
}

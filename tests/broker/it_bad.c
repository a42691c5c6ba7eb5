/*  Integration: each bad input gets a precise ERROR, is logged, and the
 *  broker keeps serving the sender and everyone else. */
#include <criterion/criterion.h>
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

/*  The next message must be ERROR with `code` (and seq if seq != ~0);
 *  `row` names the case in every message. */
static void
expect_error (tc_client_t *c, const char *row, int code, uint64_t seq, const char *text_part)
{
    tc_msg_t m;
    cr_assert_eq (tc_recv (c, &m, 5000), 0, "%s: no answer (expected ERROR %d)", row, code);
    cr_assert_eq (m.h->command, SLUICE__V1__COMMAND__ERROR, "%s: got command %d", row, m.h->command);
    cr_assert_geq (m.h->n_errors, 1, "%s", row);
    cr_assert_eq (m.h->errors[0]->code, code, "%s: code %d, text: %s", row, m.h->errors[0]->code,
                  m.h->errors[0]->text);
    if (seq != ~(uint64_t) 0)
        cr_assert_eq (m.h->seq, seq, "%s", row);
    if (text_part)
        cr_assert (strstr (m.h->errors[0]->text, text_part), "%s: text: %s", row, m.h->errors[0]->text);
    tc_msg_free (&m);
}

/*  Both the offender and a bystander are still served. */
static void
still_serving (tc_client_t *c, const char *row)
{
    cr_assert_eq (tc_hello (c, NULL), 0, "%s: broker stopped answering the sender", row);
    tc_client_t o;
    cr_assert_eq (tc_join (&o, &B, &kp, "power"), 0, "%s: broker stopped answering others", row);
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
    expect_error (&c, "malformed header", SLUICE__V1__ERROR_CODE__BAD_FRAME, 0,
                  "not a sluice.v1.Header");
    cr_assert_gt (tc_broker_log_count (&B, "code=bad-frame"), 0, "not logged");
    still_serving (&c, "malformed header");
    tc_close (&c);
}

#define CMD(c) .command = SLUICE__V1__COMMAND__##c
#define E(c) .code = SLUICE__V1__ERROR_CODE__##c
/* a PUBLISH of one record of `type` with an id of `id` bytes, `frames` body frames */
#define PUB(type, id, frames) \
    CMD (PUBLISH), .record_type = type, .n_records = 1, .id_len = id, .n_bodies = frames

/*  One bad message: a header with `command` (and the members set here) and,
 *  for each of `n_records` records, a message id of `id_len` bytes; then
 *  `n_bodies` copies of `body`. */
typedef struct {
    const char *name;
    int command, version;
    const char *record_type, *purpose, *subject;
    uint32_t credit;
    size_t n_records, id_len, n_bodies;
    const char *body;           /* NULL: a water reading about C-1; "big": 100,000 zero bytes */
    size_t body_len;
    int code;                   /* the ERROR's code */
    const char *text;           /* in its text (NULL: not checked) */
} bad_t;

static const bad_t BAD[] = {
    { "PUBLISH announcing one record but sending no body frame", PUB (TL_WATER, 16, 0), .body = "",
      E (BAD_FRAME), .text = "needs 2 frames, got 1" },
    { "HELLO with a stray extra frame", CMD (HELLO), .n_bodies = 1, .body = "\x01\x02\x03",
      .body_len = 3, E (BAD_FRAME), .text = "needs 1 frames, got 2" },
    { "unknown command 99", .command = 99, E (UNKNOWN_COMMAND), .text = "99" },
    { "DELIVER is broker-to-client only", CMD (DELIVER), E (UNKNOWN_COMMAND) },
    { "unsupported version", CMD (HELLO), .version = 2, E (UNSUPPORTED_VERSION), .text = "version 1" },
    { "oversized message", PUB (TL_WATER, 16, 1), .subject = "C-1", .body = "big", .body_len = 100000,
      E (TOO_BIG), .text = "limit of 65536" },
    /* a string field claiming 80 bytes */
    { "undecodable body", PUB (TL_WATER, 16, 1), .subject = "C-1", .body = "\x0a\x50" "a",
      .body_len = 3, E (BAD_BODY), .text = "does not decode as " TL_WATER },
    /* a publisher may not have a record decided (and consent looked up)
       for a person other than the one the record is about */
    { "header subject differs from the body's", PUB (TL_WATER, 16, 1), .subject = "C-2",
      E (BAD_REQUEST), .text = "RecordMeta.subject differs from the body's subject field" },
    { "unknown record type", PUB ("water.v1.Nope", 16, 1), .subject = "C-1",
      .body = "\x0a\x01" "a", .body_len = 3, E (UNKNOWN_RECORD_TYPE), .text = "water.v1.Nope" },
    { "a message id of 5 bytes", PUB (TL_WATER, 5, 1), .body = "\x0a\x01" "a", .body_len = 3,
      E (BAD_REQUEST), .text = "16 bytes" },
    { "SUBSCRIBE with a bad purpose", CMD (SUBSCRIBE), .record_type = TL_WATER,
      .purpose = "Not A Purpose", E (BAD_REQUEST), .text = "purpose" },
    { "CREDIT without a subscription", CMD (CREDIT), .credit = 5, E (NOT_SUBSCRIBED) },
    { "UNSUBSCRIBE of no subscription", CMD (UNSUBSCRIBE), .record_type = TL_WATER,
      .purpose = "joint-metering", E (NOT_FOUND) },
};

/*  Each row of BAD on one connection: its ERROR, then the broker still
 *  serves the sender and others. */
Test (bad, each_bad_message_gets_its_error)
{
    tc_client_t c;
    join_water (&c);
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        const bad_t *b = &BAD[i];
        uint8_t id[16];
        tc_msgid (id, (uint32_t) i + 1);
        Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
        Sluice__V1__RecordMeta r = SLUICE__V1__RECORD_META__INIT, *rp = &r;
        h.command = (Sluice__V1__Command) b->command;
        h.version = (uint32_t) b->version;
        h.record_type = (char *) b->record_type;
        h.purpose = (char *) b->purpose;
        h.credit = b->credit;
        h.n_records = b->n_records;
        h.records = &rp;
        r.message_id.data = id;
        r.message_id.len = b->id_len;
        r.subject = (char *) b->subject;
        size_t len = b->body_len;
        uint8_t *body = !b->body ? tc_water_reading ("C-1", 1.0, &len)
                        : !strcmp (b->body, "big") ? calloc (1, len) : (uint8_t *) b->body;
        const uint8_t *bodies[] = { body };
        uint64_t seq = tc_send (&c, &h, bodies, &len, b->n_bodies);
        if (!b->body || !strcmp (b->body, "big"))
            free (body);
        expect_error (&c, b->name, b->code, seq, b->text);
        still_serving (&c, b->name);
    }
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
    still_serving (&c, "random garbage");
    tc_close (&c);
}

/*  Writes the seed corpora of tests/fuzz: packs valid (and a few typical
 *  invalid) messages with protobuf-c and lays them out as fz_input.h says.
 *
 *  usage: make_fuzz_seeds DIR      writes DIR/header/... and DIR/admin/...
 *  With FZ_REGRESS set it also writes the regression inputs it knows into
 *  DIR/../regress/admin.
 *  (run from the build directory:
 *     tests/fuzz/make_fuzz_seeds ../tests/fuzz/corpus)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sluice/v1/admin.pb-c.h"
#include "sluice/v1/envelope.pb-c.h"
#include "water/v1/water.pb-c.h"

/* ------------------------------------------------------------- builder */

typedef struct {
    uint8_t buf[16384];
    size_t n;
} s_seed_t;

static void
s_byte (s_seed_t *s, uint8_t b)
{
    if (s->n < sizeof s->buf)
        s->buf[s->n++] = b;
}

static void
s_frame (s_seed_t *s, const void *p, size_t len)
{
    s_byte (s, (uint8_t) (len >> 8));
    s_byte (s, (uint8_t) len);
    for (size_t i = 0; i < len; i++)
        s_byte (s, ((const uint8_t *) p)[i]);
}

static void
s_write (const char *dir, const char *name, const s_seed_t *s)
{
    char path[1024];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen (path, "wb");
    if (!f || fwrite (s->buf, 1, s->n, f) != s->n || fclose (f) != 0) {
        fprintf (stderr, "%s: %s\n", path, strerror (errno));
        exit (1);
    }
}

/* -------------------------------------------------------- data plane */

enum { WATER = 0, POWER = 1 };

/*  One data-plane message: sender, packed header, bodies. */
static void
s_msg (s_seed_t *s, int sender, const Sluice__V1__Header *h,
       const uint8_t *const *bodies, const size_t *lens, size_t n)
{
    uint8_t hb[4096];
    s_byte (s, (uint8_t) (sender | (n << 1)));
    size_t len = sluice__v1__header__pack (h, hb);
    s_frame (s, hb, len);
    for (size_t i = 0; i < n; i++)
        s_frame (s, bodies[i], lens[i]);
}

static size_t
s_reading (uint8_t *out, const char *subject, int64_t t, double m3)
{
    Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
    r.id = "12345678:1767225600";
    r.ref_device = "12345678";
    r.subject = (char *) subject;
    r.district = "north";
    r.date_observed = t;
    r.water_consumption_m3 = m3;
    r.max_flow_m3h = 1.5;
    return water__v1__meter_reading__pack (&r, out);
}

/*  h reset to an empty header of `version`, `cmd` and `seq`. */
static void
s_head (Sluice__V1__Header *h, uint32_t version, Sluice__V1__Command cmd, uint64_t seq)
{
    sluice__v1__header__init (h);
    h->version = version;
    h->command = cmd;
    h->seq = seq;
}

static void
s_publish (s_seed_t *s, int sender, uint64_t seq, const char *type, int n, int good_body)
{
    Sluice__V1__Header h;
    Sluice__V1__RecordMeta metas[3], *mp[3];
    uint8_t bodies[3][256];
    const uint8_t *bp[3];
    size_t lens[3];
    s_head (&h, 1, SLUICE__V1__COMMAND__PUBLISH, seq);
    h.record_type = (char *) type;
    for (int i = 0; i < n; i++) {
        sluice__v1__record_meta__init (&metas[i]);
        static uint8_t ids[3][16];
        memset (ids[i], 0, 16);
        ids[i][0] = (uint8_t) seq;
        ids[i][15] = (uint8_t) i;
        metas[i].message_id.data = ids[i];
        metas[i].message_id.len = 16;
        metas[i].subject = "citizen-0001";
        metas[i].event_time = 1767225600000LL + i;
        mp[i] = &metas[i];
        if (good_body)
            lens[i] = s_reading (bodies[i], "citizen-0001", 1767225600 + i, 10.5 + i);
        else {
            memcpy (bodies[i], "\x0a\xff\xff\xff\x0f", 5);
            lens[i] = 5;
        }
        bp[i] = bodies[i];
    }
    h.n_records = (size_t) n;
    h.records = mp;
    s_msg (s, sender, &h, bp, lens, (size_t) n);
}

static void
s_simple (s_seed_t *s, int sender, Sluice__V1__Command cmd, uint64_t seq,
          const char *type, const char *purpose)
{
    Sluice__V1__Header h;
    s_head (&h, 1, cmd, seq);
    h.record_type = (char *) type;
    h.purpose = (char *) purpose;
    s_msg (s, sender, &h, NULL, NULL, 0);
}

static void
s_header_seeds (const char *dir)
{
    s_seed_t s;
    Sluice__V1__Header h;

    memset (&s, 0, sizeof s);
    s_head (&h, 1, SLUICE__V1__COMMAND__HELLO, 1);
    char *caps[] = { "batch", "credit" };
    h.n_capabilities = 2;
    h.capabilities = caps;
    s_msg (&s, WATER, &h, NULL, NULL, 0);
    s_msg (&s, POWER, &h, NULL, NULL, 0);
    s_write (dir, "hello", &s);

    memset (&s, 0, sizeof s);
    s_publish (&s, WATER, 2, "water.v1.MeterReading", 1, 1);
    s_write (dir, "publish", &s);

    /* the whole exchange: subscribe, credit, publish twice (once resent),
     * ack and nack deliveries, unsubscribe */
    memset (&s, 0, sizeof s);
    s_simple (&s, POWER, SLUICE__V1__COMMAND__SUBSCRIBE, 1, "water.v1.MeterReading", "billing");
    s_head (&h, 1, SLUICE__V1__COMMAND__CREDIT, 2);
    h.credit = 10;
    s_msg (&s, POWER, &h, NULL, NULL, 0);
    s_publish (&s, WATER, 3, "water.v1.MeterReading", 3, 1);
    s_publish (&s, WATER, 3, "water.v1.MeterReading", 3, 1);
    uint64_t tags[] = { 1, 2 };
    s_head (&h, 1, SLUICE__V1__COMMAND__ACK, 3);
    h.n_delivery_tags = 2;
    h.delivery_tags = tags;
    s_msg (&s, POWER, &h, NULL, NULL, 0);
    h.command = SLUICE__V1__COMMAND__NACK;
    h.seq = 4;
    tags[0] = 3;
    h.n_delivery_tags = 1;
    s_msg (&s, POWER, &h, NULL, NULL, 0);
    s_simple (&s, POWER, SLUICE__V1__COMMAND__UNSUBSCRIBE, 5, "water.v1.MeterReading", "billing");
    s_write (dir, "flow", &s);

    /* query routed to the owner, a reply and an owner's error */
    memset (&s, 0, sizeof s);
    s_head (&h, 1, SLUICE__V1__COMMAND__QUERY, 7);
    h.record_type = "water.v1.MeterReading";
    h.purpose = "billing";
    h.subject = "citizen-0001";
    h.timeout_ms = 50;
    Sluice__V1__Header__ParametersEntry pe = SLUICE__V1__HEADER__PARAMETERS_ENTRY__INIT, *pp = &pe;
    pe.key = "from";
    pe.value = "2026-01-01";
    h.n_parameters = 1;
    h.parameters = &pp;
    s_msg (&s, POWER, &h, NULL, NULL, 0);
    {
        Sluice__V1__Header r = SLUICE__V1__HEADER__INIT;
        Sluice__V1__RecordMeta m = SLUICE__V1__RECORD_META__INIT, *mp = &m;
        uint8_t body[256];
        const uint8_t *bp = body;
        size_t len = s_reading (body, "citizen-0001", 1767225600, 3.25);
        r.version = 1;
        r.command = SLUICE__V1__COMMAND__REPLY;
        r.seq = 1;
        r.query_id = 1;
        r.record_type = "water.v1.MeterReading";
        m.subject = "citizen-0001";
        r.n_records = 1;
        r.records = &mp;
        s_msg (&s, WATER, &r, &bp, &len, 1);
        Sluice__V1__Error e = SLUICE__V1__ERROR__INIT, *ep = &e;
        s_head (&r, 1, SLUICE__V1__COMMAND__ERROR, 2);
        r.query_id = 2;
        e.code = SLUICE__V1__ERROR_CODE__NOT_FOUND;
        e.text = "no such meter";
        r.n_errors = 1;
        r.errors = &ep;
        s_msg (&s, WATER, &r, NULL, NULL, 0);
    }
    s_write (dir, "query", &s);

    /* refusals: not the owner, bad body, unknown type, version, command,
     * frame count, ping */
    memset (&s, 0, sizeof s);
    s_publish (&s, POWER, 10, "water.v1.MeterReading", 1, 1);
    s_publish (&s, WATER, 11, "water.v1.MeterReading", 1, 0);
    s_publish (&s, WATER, 12, "water.v1.Nothing", 1, 1);
    s_head (&h, 2, SLUICE__V1__COMMAND__HELLO, 13);
    s_msg (&s, WATER, &h, NULL, NULL, 0);
    h.version = 1;
    h.command = (Sluice__V1__Command) 99;
    h.seq = 14;
    s_msg (&s, WATER, &h, NULL, NULL, 0);
    h.command = SLUICE__V1__COMMAND__DELIVER;
    h.seq = 15;
    s_msg (&s, WATER, &h, NULL, NULL, 0);
    h.command = SLUICE__V1__COMMAND__PUBLISH;     /* no record metadata, one body */
    h.seq = 16;
    {
        uint8_t body[256];
        const uint8_t *bp = body;
        size_t len = s_reading (body, "x", 0, 0);
        s_msg (&s, WATER, &h, &bp, &len, 1);
    }
    s_simple (&s, POWER, SLUICE__V1__COMMAND__PING, 17, NULL, NULL);
    s_write (dir, "refusals", &s);

    memset (&s, 0, sizeof s);
    s_byte (&s, WATER);
    s_frame (&s, "\x08\x01\x10\x02\x1a\xff\xff\xff\xff\x0f", 10);
    s_write (dir, "garbage", &s);
}

/* -------------------------------------------------------- admin plane */

enum { C_ADMIN = 0, C_WATER = 1, C_AUDITOR = 3, C_WATERADM = 4 };

static void
s_req (s_seed_t *s, int caller, uint32_t version, uint64_t seq, const char *cmd,
       const char *args)
{
    Sluice__V1__AdminRequest r = SLUICE__V1__ADMIN_REQUEST__INIT;
    uint8_t buf[4096];
    r.version = version;
    r.seq = seq;
    r.command = (char *) cmd;
    r.args_json = (char *) (args ? args : "");
    s_byte (s, (uint8_t) caller);
    s_frame (s, buf, sluice__v1__admin_request__pack (&r, buf));
}

/*  A valid Z85 public key that differs in position 39 with `i`. */
static void
s_key (char out[41], int i)
{
    static const char z85[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    memcpy (out, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", 40);
    out[38] = z85[(i / 85) % 85];
    out[39] = z85[i % 85];
    out[40] = 0;
}

static void
s_admin_seeds (const char *dir, const char *regress)
{
    s_seed_t s;
    char args[512], key[41];

    memset (&s, 0, sizeof s);
    s_req (&s, C_ADMIN, 1, 1, "member.list", "{}");
    s_req (&s, C_AUDITOR, 1, 2, "status", NULL);
    s_req (&s, C_WATERADM, 1, 3, "member.list", "");
    s_write (dir, "list", &s);

    memset (&s, 0, sizeof s);
    s_key (key, 1);
    snprintf (args, sizeof args, "{\"name\":\"parking\",\"role\":\"member\",\"public_key\":\"%s\"}", key);
    s_req (&s, C_ADMIN, 1, 4, "member.add", args);
    s_req (&s, C_ADMIN, 1, 5, "member.revoke", "{\"name\":\"parking\"}");
    s_req (&s, C_ADMIN, 1, 6, "member.list", NULL);
    s_write (dir, "add-revoke", &s);

    memset (&s, 0, sizeof s);
    s_key (key, 2);
    snprintf (args, sizeof args, "{\"name\":\"health\",\"role\":\"admin:health\",\"public_key\":\"%s\"}", key);
    s_req (&s, C_AUDITOR, 1, 7, "member.add", args);
    s_req (&s, C_WATER, 1, 8, "member.list", NULL);
    s_req (&s, C_WATERADM, 1, 9, "member.revoke", "{\"name\":\"water\"}");
    s_write (dir, "not-permitted", &s);

    memset (&s, 0, sizeof s);
    s_req (&s, C_ADMIN, 1, 10, "member.add", "{\"name\":");
    s_req (&s, C_ADMIN, 1, 11, "member.add", "[1,2]");
    s_req (&s, C_ADMIN, 1, 12, "member.add", "{\"name\":\"Bad Name\",\"role\":\"member\",\"public_key\":\"x\"}");
    s_req (&s, C_ADMIN, 1, 13, "member.revoke", "{\"name\":\"nobody\"}");
    s_req (&s, C_ADMIN, 2, 14, "status", NULL);
    s_req (&s, C_ADMIN, 1, 15, "no.such.command", NULL);
    s_byte (&s, C_ADMIN);
    s_frame (&s, "\x1a\x05member", 8);
    s_write (dir, "bad", &s);

    /* regression: adding members past the registry's first capacity (16)
     * used to leave the caller pointer dangling (heap-use-after-free in
     * member.add's log line and the dispatcher's) */
    if (regress) {
        memset (&s, 0, sizeof s);
        for (int i = 0; i < 20; i++) {
            s_key (key, 100 + i);
            snprintf (args, sizeof args,
                      "{\"name\":\"bureau%02d\",\"role\":\"member\",\"public_key\":\"%s\"}", i, key);
            s_req (&s, C_ADMIN, 1, 100 + (uint64_t) i, "member.add", args);
        }
        s_write (regress, "member-add-past-capacity", &s);
    }
}

int
main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    char h[1024], a[1024], r[1024];
    snprintf (h, sizeof h, "%s/header", argv[1]);
    snprintf (a, sizeof a, "%s/admin", argv[1]);
    snprintf (r, sizeof r, "%s/../regress", argv[1]);
    mkdir (h, 0755);
    mkdir (a, 0755);
    if (getenv ("FZ_REGRESS"))
        mkdir (r, 0755);
    snprintf (r, sizeof r, "%s/../regress/admin", argv[1]);
    if (getenv ("FZ_REGRESS"))
        mkdir (r, 0755);
    s_header_seeds (h);
    s_admin_seeds (a, getenv ("FZ_REGRESS") ? r : NULL);
    return 0;
}

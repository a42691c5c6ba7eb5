/*  adapters/health: HL7 v2 structure and escapes, timestamps, ACKs, MLLP
 *  framing, file splitting, and the ADT/DFT mapping. */
#include "sl_testutil.h"
#include "sl_hl7.h"
#include "sl_mllp.h"
#include "sl_adt.h"
#include "sl_error.h"
#include "sl_time.h"
#include "sl_time.h"

static sl_hl7_msg_t *
parse (const char *text)
{
    char err [256];
    sl_hl7_msg_t *m = sl_hl7_parse (text, strlen (text), "t: ", err, sizeof err);
    cr_assert_not_null (m, "%s", err);
    return m;
}

static const char *
get (sl_hl7_msg_t *m, size_t seg, size_t field, size_t rep, size_t comp, size_t sub)
{
    static char buf [256];
    cr_assert_geq (sl_hl7_get (m, seg, field, rep, comp, sub, buf, sizeof buf), 0);
    return buf;
}

/*  Values expected of a parsed message: segment (0: MSH), field,
 *  repetition, component, subcomponent, and the text sl_hl7_get gives. */
typedef struct {
    size_t seg, field, rep, comp, sub;
    const char *want;
} at_t;

static void
expect_at (sl_hl7_msg_t *m, const at_t *at, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq (get (m, at[i].seg, at[i].field, at[i].rep, at[i].comp, at[i].sub), at[i].want,
                          "segment %zu field %zu.%zu.%zu.%zu", at[i].seg, at[i].field, at[i].rep,
                          at[i].comp, at[i].sub);
}

Test (hl7, fields_components_and_escapes)
{
    static const at_t at[] = {
        { 0, 1, 1, 1, 1, "|" },
        { 0, 2, 1, 1, 1, "^~\\&" },
        { 0, 3, 1, 1, 1, "APP" },
        { 0, 4, 1, 1, 1, "FAC" },
        { 0, 5, 1, 1, 1, "" },
        { 1, 1, 1, 1, 1, "a|b^c&d~e\\f" },
        { 1, 2, 1, 1, 1, "ABC" },
        { 1, 3, 1, 1, 1, "x\ny" },
        { 1, 4, 1, 1, 1, "\\Q\\" },
        { 1, 5, 1, 1, 1, "unterminated\\F" },
        { 1, 6, 1, 1, 1, "a" },
        { 1, 6, 2, 1, 1, "b" },
        { 1, 6, 2, 2, 1, "c" },
        { 1, 6, 2, 2, 2, "d" },
        { 1, 6, 3, 1, 1, "" },
        { 1, 99, 1, 1, 1, "" },
        { 7, 1, 1, 1, 1, "" },
    };
    /* other delimiters, declared in MSH-1 and MSH-2 */
    static const at_t other[] = {
        { 0, 3, 1, 1, 1, "APP" },
        { 1, 1, 1, 2, 1, "b" },
        { 1, 1, 2, 1, 1, "c*" },
        { 1, 1, 2, 1, 2, "d" },
    };
    sl_hl7_msg_t *m = parse ("MSH|^~\\&|APP|FAC\r"
                             "ZZZ|a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f|\\X414243\\|x\\.br\\y|\\Q\\|unterminated\\F|a~b^c&d\n"
                             "\r\n"
                             "ZZY");
    cr_assert_eq (sl_hl7_segments (m), 3);
    cr_assert_str_eq (sl_hl7_segment_name (m, 1), "ZZZ");
    cr_assert_str_eq (sl_hl7_segment_name (m, 2), "ZZY");
    cr_assert_str_eq (sl_hl7_segment_name (m, 3), "");
    cr_assert_eq (sl_hl7_find (m, "ZZY", 0), 2);
    cr_assert_eq (sl_hl7_find (m, "PID", 0), -1);
    cr_assert_eq (sl_hl7_repetitions (m, 1, 6), 2);
    cr_assert_eq (sl_hl7_repetitions (m, 1, 7), 0);
    expect_at (m, at, sizeof at / sizeof at[0]);
    char small [4];
    cr_assert_eq (sl_hl7_get (m, 1, 1, 1, 1, 1, small, sizeof small), SL_ETOOBIG);
    cr_assert_str_eq (small, "a|b");
    sl_hl7_destroy (&m);
    sl_hl7_destroy (&m);
    cr_assert_null (m);

    m = parse ("MSH#*@!%#APP\rZZZ#a*b@c!S!%d");
    expect_at (m, other, sizeof other / sizeof other[0]);
    sl_hl7_destroy (&m);
}

Test (hl7, structural_errors)
{
    static const struct { const char *text; const char *err; } cases [] = {
        { "PID|1", "t: segment 1: message does not start with MSH" },
        { "MSH|^~\\", "t: segment 1: message does not start with MSH" },
        { "MSH|^~\\|", "t: MSH-2: bad delimiter characters in MSH-1/MSH-2" },
        { "MSHA^~\\&|", "t: MSH-1: bad delimiter characters in MSH-1/MSH-2" },
        { "MSH|^~\\&xy|A", "t: MSH-2: encoding characters not followed by the field separator" },
        { "MSH|^~\\&|A\rP1|x", "t: segment 2: 'P1|' is not a segment name" },
        { "MSH|^~\\&|A\rPIDX|x", "t: segment 2: 'PID' is not a segment name" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char err [256] = "";
        cr_assert_null (sl_hl7_parse (cases [i].text, strlen (cases [i].text), "t: ", err, sizeof err), "case %zu", i);
        cr_expect_str_eq (err, cases [i].err, "case %zu: got \"%s\"", i, err);
    }
}

Test (hl7, timestamps)
{
    int64_t t;
    /* `text` read with `off` as the offset of a time without one is `want`
       (`why` in the message); `text` is refused */
#define TS_IS(text, off, want, why)                                                        \
    do {                                                                                   \
        cr_assert_eq (sl_hl7_parse_ts (text, strlen (text), off, &t), 0, "%s %s", text, why); \
        cr_assert_eq (t, want, "%s (offset %d) %s", text, off, why);                        \
    } while (0)
#define TS_BAD(text) cr_assert_eq (sl_hl7_parse_ts (text, strlen (text), 0, &t), SL_EPARSE, "%s", text)
    TS_IS ("20261128080000+0100", 0, T0800 - 3600, "");
    TS_IS ("202611280800", 0, T0800, "");
    TS_IS ("202611280800", 3600, T0800 - 3600, "");
    TS_IS ("20261128030000.1234-0500", 0, T0800, "");
    TS_IS ("202611280900+0100", 0, T0800, "");
    TS_IS ("2026112808", 0, T0800, "hour precision");
    TS_IS ("20261128", 0, T0800 - 8 * 3600, "day precision: the day's start");
    TS_IS ("202611", 0, sl_time_from_civil (2026, 11, 1, 0, 0, 0), "");
    TS_IS ("2026", 0, sl_time_from_civil (2026, 1, 1, 0, 0, 0), "");
    TS_BAD ("202611280");
    TS_BAD ("20261328080000");
    TS_BAD ("20261128080000+01");
    TS_BAD ("20261128080000Z");
    TS_BAD ("20261128080000.");
    TS_BAD ("2026112808000");
    TS_BAD ("");
#undef TS_IS
#undef TS_BAD
}

Test (hl7, ack_messages)
{
    size_t len;
    char *buf = fixture ("adt.hl7", &len);
    sl_hl7_split_t st = SL_HL7_SPLIT_INIT;
    const char *msg;
    size_t mlen, line;
    cr_assert_eq (sl_hl7_split (buf, len, &st, &msg, &mlen, &line), 1);
    char *ack;
    size_t alen;
    cr_assert_eq (sl_hl7_ack (msg, mlen, "AA", NULL, T0800, &ack, &alen), 0);
    cr_assert_str_eq (ack, "MSH|^~\\&|SLUICE|CITY|EPIC|ST-LUKE|20261128080000+0000||ACK^A01^ACK|ACKMSG0001|P|2.5\r"
                           "MSA|AA|MSG0001\r");
    cr_assert_eq (alen, strlen (ack));
    free (ack);
    cr_assert_eq (sl_hl7_ack (msg, mlen, "AE", "PV1-44: bad | time ^ here", T0800, &ack, &alen), 0);
    cr_assert_str_eq (ack, "MSH|^~\\&|SLUICE|CITY|EPIC|ST-LUKE|20261128080000+0000||ACK^A01^ACK|ACKMSG0001|P|2.5\r"
                           "MSA|AE|MSG0001|PV1-44: bad \\F\\ time \\S\\ here\r");
    free (ack);
    free (buf);
    /* anything at all still gets an answer */
    cr_assert_eq (sl_hl7_ack ("\x01garbage", 8, "AR", "not HL7", T0800, &ack, &alen), 0);
    cr_assert_str_eq (ack, "MSH|^~\\&|||||20261128080000+0000||ACK|ACK|P|2.5\rMSA|AR||not HL7\r");
    free (ack);
}

Test (mllp, frames_noise_and_splits)
{
    size_t len;
    char *buf = fixture ("adt.mllp", &len);
    for (size_t chunk = 1; chunk <= len; chunk = chunk == 1 ? 7 : chunk * 13) {
        sl_mllp_decoder_t *d = sl_mllp_decoder_new (0);
        size_t n = 0;
        for (size_t off = 0; off < len; off += chunk) {
            size_t take = off + chunk <= len ? chunk : len - off;
            cr_assert_eq (sl_mllp_decoder_feed (d, buf + off, take), 0);
            const char *msg;
            size_t ml;
            int rc;
            while ((rc = sl_mllp_decoder_next (d, off + take == len, &msg, &ml)) != 0) {
                cr_assert_eq (rc, 1, "chunk %zu", chunk);
                cr_assert_eq (memcmp (msg, "MSH|", 4), 0);
                cr_assert_eq (msg [ml - 1], '\r');
                n++;
            }
        }
        cr_assert_eq (n, 4, "chunk %zu: %zu messages", chunk, n);
        cr_assert_eq (sl_mllp_decoder_garbage (d), 7, "\"noise\" and the final CRLF");
        sl_mllp_decoder_destroy (&d);
        cr_assert_null (d);
    }
    free (buf);
}

Test (mllp, abandoned_truncated_oversized)
{
    sl_mllp_decoder_t *d = sl_mllp_decoder_new (16);
    const char *msg;
    size_t ml;
    cr_assert_eq (sl_mllp_decoder_next (d, 1, &msg, &ml), 0, "nothing fed yet");
    const char s1 [] = "\x0bMSH|abc\x0bMSH|def\x1c";
    cr_assert_eq (sl_mllp_decoder_feed (d, s1, sizeof s1 - 1), 0);
    cr_assert_eq (sl_mllp_decoder_next (d, 0, &msg, &ml), SL_EPARSE);
    cr_assert_eq (ml, 7);
    cr_assert_eq (memcmp (msg, "MSH|abc", 7), 0);
    cr_assert_eq (sl_mllp_decoder_next (d, 0, &msg, &ml), 0, "0x1C alone is not an end");
    cr_assert_eq (sl_mllp_decoder_feed (d, "\x0d", 1), 0);
    cr_assert_eq (sl_mllp_decoder_next (d, 0, &msg, &ml), 1);
    cr_assert_eq (ml, 7);
    cr_assert_eq (memcmp (msg, "MSH|def", 7), 0);

    char big [64];
    memset (big, 'A', sizeof big);
    big [0] = 0x0b;
    cr_assert_eq (sl_mllp_decoder_feed (d, big, sizeof big), 0);
    cr_assert_eq (sl_mllp_decoder_next (d, 0, &msg, &ml), SL_ETOOBIG);
    cr_assert_eq (ml, 16);
    cr_assert_eq (sl_mllp_decoder_next (d, 0, &msg, &ml), 0);
    const char s2 [] = "AAAA\x1c\x0d\x0bOK\x1c\x0d\x0b" "cut";
    cr_assert_eq (sl_mllp_decoder_feed (d, s2, sizeof s2 - 1), 0);
    cr_assert_eq (sl_mllp_decoder_next (d, 0, &msg, &ml), 1);
    cr_assert_eq (ml, 2);
    cr_assert_eq (memcmp (msg, "OK", 2), 0);
    cr_assert_eq (sl_mllp_decoder_next (d, 0, &msg, &ml), 0);
    cr_assert_eq (sl_mllp_decoder_next (d, 1, &msg, &ml), SL_EPARSE);
    cr_assert_eq (ml, 3);
    cr_assert_eq (sl_mllp_decoder_next (d, 1, &msg, &ml), 0);
    cr_assert_eq (sl_mllp_decoder_garbage (d), 0);
    sl_mllp_decoder_destroy (&d);

    char *out;
    size_t ol;
    cr_assert_eq (sl_mllp_wrap ("AB", 2, &out, &ol), 0);
    cr_assert_eq (ol, 5);
    cr_assert_eq (memcmp (out, "\x0b" "AB\x1c\x0d", 5), 0);
    free (out);
}

/*  Splits and maps every message of a file. */
typedef struct {
    int rc;
    size_t line;
    char err [512];
    sl_adt_result_t res;
} mapped_t;

static size_t
map_file (const char *name, mapped_t *out, size_t max)
{
    size_t len;
    char *buf = fixture (name, &len);
    sl_hl7_split_t st = SL_HL7_SPLIT_INIT;
    const char *msg;
    size_t mlen, line, n = 0;
    while (n < max && sl_hl7_split (buf, len, &st, &msg, &mlen, &line)) {
        out [n].line = line;
        out [n].err [0] = 0;
        out [n].rc = sl_adt_map (msg, mlen, name, n + 1, NULL, &out [n].res, out [n].err, sizeof out [n].err);
        n++;
    }
    free (buf);
    return n;
}

static void
check_good (const char *name)
{
    mapped_t r [8];
    size_t n = map_file (name, r, 8);
    cr_assert_eq (n, 4, "%s", name);
    size_t lines [4] = { 1, 8, 12, 16 };
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq (r [i].rc, 0, "%s message %zu: %s", name, i + 1, r [i].err);
        cr_assert_eq (r [i].line, lines [i], "%s message %zu line %zu", name, i + 1, r [i].line);
    }
    Health__V1__Encounter *e = r [0].res.encounter;
    cr_assert_str_eq (r [0].res.message_type, "ADT^A01");
    cr_assert_str_eq (r [0].res.control_id, "MSG0001");
    cr_assert_str_eq (e->id, "V2026-0001");
    cr_assert_str_eq (e->subject, "NL-CIT-000101");
    cr_assert_str_eq (e->status, "in-progress");
    cr_assert_str_eq (e->class_code, "IMP");
    cr_assert_eq (e->period_start, T0800 - 3600);
    cr_assert_eq (e->period_end, 0);
    cr_assert_str_eq (e->service_provider, "ST-LUKE");
    cr_assert_str_eq (e->location, "CARD/201/B");
    cr_assert_eq (e->n_reason_code, 1);
    cr_assert_str_eq (e->reason_code [0], "CHEST-PAIN");
    cr_assert_eq (e->n_diagnosis, 2);
    cr_assert_str_eq (e->diagnosis [0], "I20.9");
    cr_assert_str_eq (e->diagnosis [1], "R07.4");
    cr_assert_str_eq (e->trigger_event, "A01");
    cr_assert_null (r [0].res.charges);

    e = r [1].res.encounter;
    cr_assert_str_eq (e->status, "finished");
    cr_assert_eq (e->period_start, T0800 - 3600);
    cr_assert_eq (e->period_end, 1795879800);
    cr_assert_str_eq (e->discharge_disposition, "01");
    cr_assert_eq (e->n_reason_code, 0);

    e = r [2].res.encounter;
    cr_assert_str_eq (e->status, "arrived");
    cr_assert_str_eq (e->class_code, "AMB");
    cr_assert_str_eq (e->subject, "NL-CIT-000102");
    cr_assert_str_eq (e->service_provider, "ST-LUKE & MERCY");
    cr_assert_str_eq (e->location, "OUTPAT^EAST/3");
    cr_assert_eq (e->period_start, T0800 + 7200, "from EVN-2, no zone: UTC");

    cr_assert_null (r [3].res.encounter);
    cr_assert_str_eq (r [3].res.message_type, "DFT^P03");
    cr_assert_eq (r [3].res.n_charges, 2);
    Health__V1__Charge *c = r [3].res.charges [0];
    cr_assert_str_eq (c->id, "TX-1001");
    cr_assert_str_eq (c->subject, "NL-CIT-000101");
    cr_assert_str_eq (c->context, "V2026-0001");
    cr_assert_str_eq (c->code, "93000");
    cr_assert_str_eq (c->code_display, "ECG 12-lead");
    cr_assert_float_eq (c->quantity, 1.0, 1e-12);
    cr_assert_float_eq (c->price_override, 85.50, 1e-9);
    cr_assert_str_eq (c->currency, "EUR");
    cr_assert_eq (c->occurrence_time, T0800);
    cr_assert_str_eq (c->performer, "CARDTECH");
    c = r [3].res.charges [1];
    cr_assert_str_eq (c->id, "MSG0004-2");
    cr_assert_str_eq (c->code_display, "Metabolic panel");
    cr_assert_float_eq (c->quantity, 2.0, 1e-12);
    cr_assert_float_eq (c->price_override, 42.10, 1e-9);
    cr_assert_eq (c->occurrence_time, T0800 + 3600);
    cr_assert_str_eq (c->performer, "");
    for (size_t i = 0; i < n; i++) {
        sl_adt_result_clear (&r [i].res);
        cr_assert_null (r [i].res.encounter);
    }
}

Test (adt, good_messages_cr_and_lf_files)
{
    check_good ("adt.hl7");
    check_good ("adt-lf.hl7");
}

Test (adt, every_bad_message_has_its_reason)
{
    static const char *want [] = {
        "adt-bad.hl7: message 1: segment 1: message does not start with MSH",
        "adt-bad.hl7: message 2: MSH-9 (segment 1): message type 'ORU^R01' is not ADT^A01, A02, A03, A04, A08, A11, A13 or DFT^P03",
        "adt-bad.hl7: message 3: PID-3 (segment 2): no identifier of type NI,NN*,SS (citizen id) (found #1 MRN-1 (authority 'STLUKE', type 'MR'))\n"
            "the hospital must send the citizen id in PID-3; select it with --pid3-authority, --citizen-id-type or --pid3-repetition",
        "adt-bad.hl7: message 4: PV1-44 (segment 3): '202611280' is not a timestamp YYYY[MM[DD[HH[MM[SS[.SSSS]]]]]][+/-ZZZZ]",
        "adt-bad.hl7: message 5: PV1-2 (segment 3): patient class 'X' is not I, O, E, R, P, B, N or U",
        "adt-bad.hl7: message 6: PV1-45 (segment 3): discharge before admission",
        "adt-bad.hl7: message 7: PV1: segment missing (the standard requires it in ADT^A01)",
        "adt-bad.hl7: message 8: FT1-11 (segment 4): extended amount 'lots' is not a number",
        "adt-bad.hl7: message 9: FT1: DFT^P03 without FT1 segments",
        "adt-bad.hl7: message 10: segment 3: 'pv1' is not a segment name",
    };
    mapped_t r [12];
    size_t n = map_file ("adt-bad.hl7", r, 12);
    cr_assert_eq (n, 10);
    for (size_t i = 0; i < n; i++) {
        cr_expect_eq (r [i].rc, SL_EPARSE, "message %zu", i + 1);
        cr_expect_str_eq (r [i].err, want [i], "message %zu: got \"%s\"", i + 1, r [i].err);
        cr_expect_null (r [i].res.encounter);
        cr_expect_eq (r [i].res.n_charges, 0);
    }
    /* the ACK for a rejected message can still name it */
    cr_assert_str_eq (r [1].res.control_id, "BAD0002");
    cr_assert_str_eq (r [7].res.message_type, "DFT^P03");
}

Test (adt, options_citizen_id_type_and_offset)
{
    const char *m = "MSH|^~\\&|EPIC|H|S|C|202611280800||ADT^A04|X1|P|2.5\r"
                    "PID|1||123^^^STLUKE^MR~C-9^^^CITY^CIT\r"
                    "PV1|1|E|ER||||||||||||||||V9|||||||||||||||||||||||||202611280900\r";
    sl_adt_opts_t o = SL_ADT_OPTS_DEFAULT;
    o.default_offset_s = 3600;
    o.currency = "CHF";
    o.citizen_id_type = "CIT";
    sl_adt_result_t res;
    char err [512];
    cr_assert_eq (sl_adt_map (m, strlen (m), "t", 1, &o, &res, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (res.encounter->subject, "C-9");
    cr_assert_str_eq (res.encounter->class_code, "EMER");
    cr_assert_eq (res.encounter->period_start, T0800);
    sl_adt_result_clear (&res);
    cr_assert_eq (sl_adt_map (m, strlen (m), "t", 1, NULL, &res, err, sizeof err), SL_EPARSE);
    cr_assert_str_eq (err, "t: message 1: PID-3 (segment 2): no identifier of type NI,NN*,SS (citizen id) "
                      "(found #1 123 (authority 'STLUKE', type 'MR'), #2 C-9 (authority 'CITY', type 'CIT'))\n"
                      "if repetition 2 is the citizen id, give --pid3-authority CITY");
}

/*  The events besides A01/A03/A04, optional segments left out, PID-3 chosen
 *  each way, amounts derived, times of every precision in a zone. */
static Health__V1__Encounter *
one (const char *msg, const sl_adt_opts_t *o, sl_adt_result_t *res)
{
    char err [1024];
    int rc = sl_adt_map (msg, strlen (msg), "t", 1, o, res, err, sizeof err);
    cr_assert_eq (rc, 0, "%s", err);
    return res->encounter;
}

static int
has_absent (char **list, size_t n, const char *f)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (list [i], f) == 0)
            return 1;
    return 0;
}

Test (adt, events_and_their_status)
{
    char err [256];
    sl_tz_t *ams = sl_tz_load ("Europe/Amsterdam", err, sizeof err);
    cr_assert_not_null (ams, "%s", err);
    sl_adt_opts_t o = SL_ADT_OPTS_DEFAULT;
    o.tz = ams;
    sl_adt_result_t res;
    char m [1024];
    static const struct { const char *trig, *pv1_tail, *status; int64_t start, end; } ev [] = {
        { "A02", "|||||||||||||||||||||||||20261128", "in-progress", T0800 - 9 * 3600, 0 },
        { "A08", "|||||||||||||||||||||||||2026112808|2026112812", "finished", T0800 - 3600, T0800 + 3 * 3600 },
        { "A08", "|||||||||||||||||||||||||202611280830", "in-progress", T0800 - 1800, 0 },
        { "A11", "|||||||||||||||||||||||||20261128080000", "cancelled", T0800 - 3600, 0 },
        { "A13", "|||||||||||||||||||||||||20261128080000|20261128120000", "in-progress", T0800 - 3600, 0 },
    };
    for (size_t i = 0; i < sizeof ev / sizeof ev [0]; i++) {
        snprintf (m, sizeof m, "MSH|^~\\&|EPIC|H|S|C|20261128090000||ADT^%s|C%zu|P|2.5\r"
                  "PID|1||77^^^H^MR~NL-1^^^NLMINBIZA^NNNLD\r"
                  "PV1|1|N|W^1^A||||||||||||||||V1%s\r", ev [i].trig, i, ev [i].pv1_tail);
        Health__V1__Encounter *e = one (m, &o, &res);
        cr_expect_str_eq (e->status, ev [i].status, "%s", ev [i].trig);
        cr_expect_str_eq (e->subject, "NL-1", "NN* matches NNNLD");
        cr_expect_eq (e->period_start, ev [i].start, "%s: %lld", ev [i].trig, (long long) e->period_start);
        cr_expect_eq (e->period_end, ev [i].end, "%s", ev [i].trig);
        cr_expect_str_eq (e->class_code, "");
        cr_expect (has_absent (e->absent_fields, e->n_absent_fields, "class_code"));
        sl_adt_result_clear (&res);
    }
    /* no visit number: PID-18, else the control id, said so */
    const char *nv = "MSH|^~\\&|EPIC|H|S|C|20261128090000+0100||ADT^A04|C9|P|2.5\r"
                     "PID|1||NL-1^^^X^NI|||||||||||||||ACC-5\rPV1|1|O\r";
    Health__V1__Encounter *e = one (nv, &o, &res);
    cr_assert_str_eq (e->id, "ACC-5");
    cr_assert_eq (e->period_start, T0800, "from MSH-7");
    sl_adt_result_clear (&res);
    const char *nv2 = "MSH|^~\\&|EPIC|H|S|C|20261128090000+0100||ADT^A04|C10|P|2.5\r"
                      "PID|1||NL-1^^^X^NI\rPV1|1|O\r";
    e = one (nv2, &o, &res);
    cr_assert_str_eq (e->id, "MSH-10:C10");
    cr_assert (has_absent (e->absent_fields, e->n_absent_fields, "id"));
    sl_adt_result_clear (&res);
    /* PID-3 by position, and a position that is not there */
    o.pid3_repetition = 1;
    e = one ("MSH|^~\\&|E|H|S|C|20261128||ADT^A04|C11|P|2.5\rPID|1||77^^^H^MR~NL-1\rPV1|1|O\r", &o, &res);
    cr_assert_str_eq (e->subject, "77");
    sl_adt_result_clear (&res);
    o.pid3_repetition = 3;
    char e2 [1024];
    const char *m3 = "MSH|^~\\&|E|H|S|C|20261128||ADT^A04|C12|P|2.5\rPID|1||77^^^H^MR~NL-1\rPV1|1|O\r";
    cr_assert_eq (sl_adt_map (m3, strlen (m3), "t", 1, &o, &res, e2, sizeof e2), SL_EPARSE);
    cr_assert_not_null (strstr (e2, "PID-3 (segment 2): no repetition 3"), "%s", e2);
    cr_assert_not_null (strstr (e2, "\nif repetition 2 is the citizen id, give --pid3-repetition 2"), "%s", e2);
    sl_tz_destroy (&ams);
}

Test (adt, dft_without_pv1_and_amounts_derived)
{
    const char *m = "MSH|^~\\&|E|H|S|C|202611280900+0100||DFT^P03|D1|P|2.5\r"
                    "PID|1||NL-1^^^X^NI|||||||||||||||ACC-5\r"
                    "FT1|1|||20261128||CG|99213|Visit||3||25.50&CHF\r"
                    "FT1|2|||||CG|80053|Panel\r";
    sl_adt_result_t res;
    char err [1024];
    cr_assert_eq (sl_adt_map (m, strlen (m), "t", 1, NULL, &res, err, sizeof err), 0, "%s", err);
    cr_assert_eq (res.n_charges, 2);
    Health__V1__Charge *c = res.charges [0];
    cr_assert_str_eq (c->id, "D1-1");
    cr_assert_str_eq (c->context, "ACC-5", "no PV1: PID-18");
    cr_assert_float_eq (c->price_override, 76.5, 1e-9, "FT1-12 unit amount x FT1-10 quantity");
    cr_assert_str_eq (c->currency, "CHF");
    cr_assert_eq (c->occurrence_time, T0800 - 8 * 3600, "a date: that day's start (UTC by default)");
    c = res.charges [1];
    cr_assert_str_eq (c->id, "D1-2");
    cr_assert_float_eq (c->price_override, 0, 1e-12);
    cr_assert (has_absent (c->absent_fields, c->n_absent_fields, "price_override"));
    cr_assert_eq (c->occurrence_time, T0800, "no FT1-4, FT1-5: MSH-7");
    sl_adt_result_clear (&res);
}

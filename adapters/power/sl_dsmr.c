/*  sl_dsmr — see sl_dsmr.h for the format and the design notes. */
#include "sl_dsmr.h"
#include "sl_error.h"
#include "sl_inbuf.h"
#include "sl_text.h"
#include "sl_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint16_t
sl_dsmr_crc16 (const void *data, size_t len)
{
    const unsigned char *p = data;
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= p [i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t) ((crc >> 1) ^ 0xA001) : (uint16_t) (crc >> 1);
    }
    return crc;
}

/*  ---------------------------------------------------------------------
 *  Parser
 */

#define ERR(code, at_line, ...) do { \
        int n_ = snprintf (err, errlen, "%s:%zu: telegram %zu: ", source, (size_t) (at_line), tgno); \
        if (n_ >= 0 && (size_t) n_ < errlen) \
            snprintf (err + n_, errlen - (size_t) n_, __VA_ARGS__); \
        rc = (code); goto out; } while (0)

/*  Parses "(number*unit)" into *v in `unit` ("kWh" or "kW"); the same unit
 *  with a "k" less ("Wh", "W") is divided by 1000. Returns 0, -1 if the
 *  value is not a number, -2 if the unit is missing or another. The unit
 *  written is copied into wrote. */
static int
s_value (const char *s, size_t len, const char *unit, double *v, char *wrote, size_t wlen)
{
    wrote [0] = 0;
    if (len < 2 || s [0] != '(' || s [len - 1] != ')')
        return -1;
    const char *star = memchr (s, '*', len);
    size_t nlen = star ? (size_t) (star - s - 1) : len - 2;
    if (sl_parse_double (s + 1, nlen, v))
        return -1;
    if (!star)
        return -2;
    size_t ulen = (size_t) (s + len - 1 - star - 1);
    snprintf (wrote, wlen, "%.*s", (int) (ulen < wlen - 1 ? ulen : wlen - 1), star + 1);
    if (ulen == strlen (unit) && memcmp (star + 1, unit, ulen) == 0)
        return 0;
    if (ulen == strlen (unit) - 1 && memcmp (star + 1, unit + 1, ulen) == 0) {
        *v /= 1000.0;
        return 0;
    }
    return -2;
}

/*  Decodes hex-encoded printable ASCII into id; keeps the text as written
 *  otherwise. Returns the length, or -1 if it does not fit. */
static int
s_decode_id (const char *eq, size_t eq_len, char *id, size_t idsize)
{
    size_t id_len = 0;
    int hex = eq_len % 2 == 0 && eq_len / 2 < idsize;
    for (size_t k = 0; hex && k < eq_len; k += 2) {
        int hi = sl_hexval (eq [k]), lo = sl_hexval (eq [k + 1]);
        int c = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        if (c < 0x21 || c > 0x7e)
            hex = 0;
        else
            id [id_len++] = (char) c;
    }
    if (!hex) {
        if (eq_len >= idsize)
            return -1;
        memcpy (id, eq, eq_len);
        id_len = eq_len;
    }
    id [id_len] = 0;
    return (int) id_len;
}

/*  The meter id registers, in the order they are preferred. */
static const char *const s_id_regs [] = { "0-0:96.1.1", "0-0:96.1.0", "0-0:42.0.0", "0-0:96.1.255" };
#define N_ID_REGS 4

enum { R_I1, R_I2, R_I0, R_E1, R_E2, R_E0, R_NREG };
static const char *const s_energy_regs [R_NREG] = {
    "1-0:1.8.1", "1-0:1.8.2", "1-0:1.8.0", "1-0:2.8.1", "1-0:2.8.2", "1-0:2.8.0"
};

int
sl_dsmr_parse (const char *tg, size_t len, const char *source, size_t tgno,
               size_t line, const sl_dsmr_opts_t *opts,
               const sl_lookup_t *meters, Power__V1__MeterReading **out,
               char *err, size_t errlen)
{
    static const sl_dsmr_opts_t defaults = SL_DSMR_OPTS_DEFAULT;
    if (!opts)
        opts = &defaults;
    int rc = 0;
    char ex [48], unit [16];
    sl_explain_t *exp = opts->explain;
    Power__V1__MeterReading *m = NULL;

    if (len == 0 || tg [0] != '/')
        ERR (SL_EPARSE, line, "does not start with '/'");
    const char *bang = NULL;
    size_t bang_line = line;
    for (size_t i = 0; i < len; i++) {
        if (tg [i] == '!') { bang = tg + i; break; }
        if (tg [i] == '\n') bang_line++;
    }
    if (!bang)
        ERR (SL_EPARSE, bang_line, "no end marker '!'");

    /* 1. CRC over '/' .. '!': one to four hex digits (leading zeros may be dropped) */
    size_t crc_len = (size_t) (tg + len - bang - 1);
    while (crc_len && (bang [crc_len] == '\r' || bang [crc_len] == '\n'))
        crc_len--;
    if (crc_len == 0 && opts->require_crc)
        ERR (SL_EPARSE, bang_line, "no CRC after '!' (required)\n"
             "give --require-crc no to accept telegrams of meters that send none (DSMR 2.2, 3.0)");
    if (crc_len) {
        int ok = crc_len <= 4;
        unsigned want = 0;
        for (size_t i = 1; ok && i <= crc_len; i++) {
            int h = sl_hexval (bang [i]);
            if (h < 0) ok = 0;
            want = want * 16 + (unsigned) (h < 0 ? 0 : h);
        }
        if (!ok)
            ERR (SL_EPARSE, bang_line, "CRC '%s' is not 1 to 4 hex digits",
                 sl_excerpt (bang + 1, crc_len, ex, sizeof ex));
        unsigned got = sl_dsmr_crc16 (tg, (size_t) (bang - tg) + 1);
        if (got != want)
            ERR (SL_ECORRUPT, bang_line, "CRC mismatch: telegram says %04X, computed %04X",
                 want, got);
        sl_explain_add (exp, "(check)", "CRC after '!'", "%04X, matches", want);
    }
    else
        sl_explain_add (exp, "(check)", "CRC after '!'", "none sent (not checked)");

    /* 2. Header and registers, line by line */
    const char *p = tg, *end = bang;
    size_t ln = line;
    const char *eol = memchr (p, '\n', (size_t) (end - p));
    size_t hlen = (size_t) ((eol ? eol : end) - p);
    if (hlen && p [hlen - 1] == '\r')
        hlen--;
    if (hlen < 5)
        ERR (SL_EPARSE, ln, "header '%s' is not /XXXn<identification>",
             sl_excerpt (p, hlen, ex, sizeof ex));
    sl_explain_note (exp, "%s:%zu: telegram %zu, header '%.*s'", source, line, tgno,
                     (int) (hlen < 60 ? hlen : 60), p);

    const char *idv [N_ID_REGS] = { 0 };
    size_t idl [N_ID_REGS] = { 0 };
    int have_time = 0, have [R_NREG] = { 0 };
    double e [R_NREG] = { 0 };
    int64_t when = 0;
    double pw = 0;
    int have_pw = 0;
    const char *tariff = NULL; size_t tariff_len = 0;
    char profile [32] = "";
    int emucs = 0;
    p = eol ? eol + 1 : end;
    ln++;
    for (; p < end; ln++) {
        eol = memchr (p, '\n', (size_t) (end - p));
        const char *le = eol ? eol : end;
        size_t ll = (size_t) (le - p);
        if (ll && p [ll - 1] == '\r')
            ll--;
        const char *next = eol ? eol + 1 : end;
        if (ll == 0 || p [0] == '(') {          /* blank, or a value continued */
            p = next;
            continue;
        }
        const char *paren = memchr (p, '(', ll);
        if (!paren || p [ll - 1] != ')')
            ERR (SL_EPARSE, ln, "'%s' is not an OBIS register line <obis>(value)",
                 sl_excerpt (p, ll, ex, sizeof ex));
        size_t rl = (size_t) (paren - p);
        /* "1-0:1.8.0*255": the billing-period suffix does not change the register */
        const char *suffix = memchr (p, '*', rl);
        size_t rk = suffix ? (size_t) (suffix - p) : rl;
        const char *v = paren;
        size_t vl = (size_t) (p + ll - paren);
#define IS(ref) (rk == sizeof (ref) - 1 && memcmp (p, ref, rk) == 0)
        int k;
        for (k = 0; k < N_ID_REGS; k++)
            if (rk == strlen (s_id_regs [k]) && memcmp (p, s_id_regs [k], rk) == 0)
                break;
        if (k < N_ID_REGS) {
            if (vl < 2 || memchr (v + 1, ')', vl - 2))
                ERR (SL_EPARSE, ln, "%s: expected one (meter id)", s_id_regs [k]);
            idv [k] = v + 1;
            idl [k] = vl - 2;
        }
        else
        if (IS ("1-3:0.2.8")) {
            if (vl == 4)
                snprintf (profile, sizeof profile, "DSMR %c.%c", v [1], v [2]);
        }
        else
        if (IS ("0-0:96.1.4"))
            emucs = 1;
        else
        if (IS ("0-0:1.0.0")) {
            /* (YYMMDDhhmmssX), X = W or S; some meters leave X out */
            int d [6], ok = vl == 15 || vl == 14;
            for (int q = 0; ok && q < 6; q++) {
                int hi = v [1 + 2 * q] - '0', lo = v [2 + 2 * q] - '0';
                if (hi < 0 || hi > 9 || lo < 0 || lo > 9) ok = 0;
                d [q] = hi * 10 + lo;
            }
            char flag = ok && vl == 15 ? v [13] : 0;
            if (!ok || (vl == 15 && flag != 'S' && flag != 'W'))
                ERR (SL_EPARSE, ln, "0-0:1.0.0: expected (YYMMDDhhmmssW) or (...S), found '%s'",
                     sl_excerpt (v, vl, ex, sizeof ex));
            if (!sl_time_valid (2000 + d [0], d [1], d [2], d [3], d [4], d [5]))
                ERR (SL_EPARSE, ln, "0-0:1.0.0: no such date or time '%s'",
                     sl_excerpt (v, vl, ex, sizeof ex));
            int64_t civil = sl_time_from_civil (2000 + d [0], d [1], d [2], d [3], d [4],
                                                d [5] == 60 ? 59 : d [5]);
            if (opts->tz) {
                const char *why = "";
                if (sl_tz_to_utc (opts->tz, civil, flag ? flag == 'S' : -1, &when, &why))
                    ERR (SL_EPARSE, ln, "0-0:1.0.0: '%s': %s in %s", sl_excerpt (v, vl, ex, sizeof ex),
                         why, sl_tz_name (opts->tz));
            }
            else
            if (!flag)
                ERR (SL_EPARSE, ln, "0-0:1.0.0: '%s' has no W/S flag, so its offset is not known\n"
                     "give --timezone ZONE, the IANA zone of the meter's clock",
                     sl_excerpt (v, vl, ex, sizeof ex));
            else
                when = civil - (flag == 'S' ? opts->summer_offset_s : opts->winter_offset_s);
            have_time = 1;
            sl_explain_add (exp, "date_observed", "register 0-0:1.0.0", "%.*s -> %" PRId64 " (meter local time, %s)",
                            (int) vl, v, when, opts->tz ? sl_tz_name (opts->tz) : flag == 'S' ? "summer offset" : "winter offset");
        }
        else
        if (IS ("1-0:1.7.0")) {
            int r = s_value (v, vl, "kW", &pw, unit, sizeof unit);
            if (r || pw < 0)
                ERR (SL_EPARSE, ln, "1-0:1.7.0: expected (01.193*kW) or (*W), found '%s'",
                     sl_excerpt (v, vl, ex, sizeof ex));
            have_pw = 1;
            sl_explain_add (exp, "active_power_kw", "register 1-0:1.7.0", "%.*s -> %.15g kW", (int) vl, v, pw);
        }
        else
        if (IS ("0-0:96.14.0")) {
            if (vl < 2 || memchr (v + 1, ')', vl - 2))
                ERR (SL_EPARSE, ln, "0-0:96.14.0: expected one (tariff)");
            tariff = v + 1;
            tariff_len = vl - 2;
            sl_explain_add (exp, "tariff", "register 0-0:96.14.0", "%.*s", (int) tariff_len, tariff);
        }
        else {
            for (k = 0; k < R_NREG; k++)
                if (rk == strlen (s_energy_regs [k]) && memcmp (p, s_energy_regs [k], rk) == 0)
                    break;
            if (k < R_NREG) {
                double x;
                int r = s_value (v, vl, "kWh", &x, unit, sizeof unit);
                if (r == -2)
                    ERR (SL_EPARSE, ln, "%s: unit '%s' is not kWh or Wh", s_energy_regs [k], unit);
                if (r || x < 0)
                    ERR (SL_EPARSE, ln, "%s: expected (000123.456*kWh), found '%s'",
                         s_energy_regs [k], sl_excerpt (v, vl, ex, sizeof ex));
                e [k] = x;
                have [k] = 1;
                static const char *const fields [R_NREG] = {
                    "active_energy_import_t1_kwh", "active_energy_import_t2_kwh", "active_energy_import_kwh",
                    "active_energy_export_t1_kwh", "active_energy_export_t2_kwh", "active_energy_export_kwh" };
                char from [40];
                snprintf (from, sizeof from, "register %s", s_energy_regs [k]);
                sl_explain_add (exp, fields [k], from, "%.*s -> %.15g kWh", (int) vl, v, x);
            }
        }
#undef IS
        p = next;
    }

    /* 3. Meter id */
    char id [128];
    int id_len = -1, id_reg = -1;
    for (int k = 0; k < N_ID_REGS && id_len <= 0; k++) {
        if (!idv [k] || idl [k] == 0)
            continue;
        id_len = s_decode_id (idv [k], idl [k], id, sizeof id);
        if (id_len < 0)
            ERR (SL_EPARSE, line, "%s: meter id longer than %zu bytes", s_id_regs [k], sizeof id - 1);
        id_reg = k;
    }
    if (id_len > 0)
        sl_explain_add (exp, "ref_device", s_id_regs [id_reg], "%s%s", id,
                        strlen (id) * 2 == idl [id_reg] ? " (hex-encoded ASCII, decoded)" : "");
    else
    if (opts->meter_id && *opts->meter_id) {
        id_len = snprintf (id, sizeof id, "%s", opts->meter_id);
        sl_explain_add (exp, "ref_device", "--meter-id (no id register)", "%s", id);
    }
    else
        ERR (SL_EPARSE, bang_line, "no meter id: none of 0-0:96.1.1, 0-0:96.1.0, 0-0:42.0.0 is present and not empty\n"
             "give --meter-id ID when this P1 feed comes from one meter");
    if (!have [R_I0] && !(have [R_I1] && have [R_I2]))
        ERR (SL_EPARSE, bang_line, "no energy imported: neither 1-0:1.8.1 with 1-0:1.8.2 nor the total 1-0:1.8.0");
    if (!have_time) {
        when = opts->reception_time;
        sl_explain_add (exp, "date_observed", "(no 0-0:1.0.0: reception time)", "%" PRId64 ", time_source \"reception\"", when);
    }
    if (!profile [0])
        snprintf (profile, sizeof profile, "%s", emucs ? "e-MUCS" : "IEC 62056-21");
    else
    if (emucs)
        snprintf (profile + strlen (profile), sizeof profile - strlen (profile), " e-MUCS");
    sl_explain_add (exp, "profile", "1-3:0.2.8 / 0-0:96.1.4", "%s", profile);

    int c_subject = sl_lookup_column (meters, "citizen_id");
    int c_district = sl_lookup_column (meters, "district");
    if (c_subject < 0 || c_district < 0)
        ERR (SL_EINVAL, line, "meter registry lacks column 'citizen_id' or 'district'");
    const char *subject = sl_lookup_get (meters, id, (size_t) id_len, c_subject);
    const char *district = sl_lookup_get (meters, id, (size_t) id_len, c_district);
    if (!subject)
        ERR (SL_ENOTFOUND, line, "meter '%s' is not in the meter registry\n"
             "add a row for meter id '%s' to the meter registry (--meters)",
             sl_excerpt (id, (size_t) id_len, ex, sizeof ex), sl_excerpt (id, (size_t) id_len, ex, sizeof ex));
    sl_explain_add (exp, "subject, district", "meter registry row of the id", "%s, %s", subject, district);

    m = malloc (sizeof *m);
    if (!m)
        ERR (SL_ENOMEM, line, "out of memory");
    power__v1__meter_reading__init (m);
    char rid [160];
    snprintf (rid, sizeof rid, "%s:%" PRId64, id, when);
    m->id = strdup (rid);
    m->ref_device = strdup (id);
    m->subject = strdup (subject);
    m->district = strdup (district);
    m->tariff = sl_strndup (tariff ? tariff : "", tariff_len);
    m->time_source = strdup (have_time ? "meter" : "reception");
    m->profile = strdup (profile);
    if (!m->id || !m->ref_device || !m->subject || !m->district || !m->tariff
     || !m->time_source || !m->profile)
        ERR (SL_ENOMEM, line, "out of memory");
    m->date_observed = when;
    m->active_energy_import_t1_kwh = e [R_I1];
    m->active_energy_import_t2_kwh = e [R_I2];
    m->active_energy_export_t1_kwh = e [R_E1];
    m->active_energy_export_t2_kwh = e [R_E2];
    m->active_energy_import_kwh = have [R_I0] ? e [R_I0] : e [R_I1] + e [R_I2];
    m->active_energy_export_kwh = have [R_E0] ? e [R_E0] : e [R_E1] + e [R_E2];
    m->active_power_kw = pw;
    const char *absent [8];
    size_t na = 0;
    if (!have [R_I1]) absent [na++] = "active_energy_import_t1_kwh";
    if (!have [R_I2]) absent [na++] = "active_energy_import_t2_kwh";
    if (!have [R_E1]) absent [na++] = "active_energy_export_t1_kwh";
    if (!have [R_E2]) absent [na++] = "active_energy_export_t2_kwh";
    if (!have [R_E0] && !(have [R_E1] && have [R_E2])) absent [na++] = "active_energy_export_kwh";
    if (!have_pw) absent [na++] = "active_power_kw";
    if (!tariff) absent [na++] = "tariff";
    if (sl_explain_absent (exp, absent, na, "telegram", &m->absent_fields, &m->n_absent_fields))
        ERR (SL_ENOMEM, line, "out of memory");
    *out = m;
    m = NULL;
out:
    if (m)
        power__v1__meter_reading__free_unpacked (m, NULL);
    return rc;
}

/*  ---------------------------------------------------------------------
 *  Stream reader
 *
 *  buf[pos..len) holds unread bytes; `line` is the line number at buf[pos].
 */

struct _sl_dsmr_reader_t {
    sl_inbuf_t in;         /* unread bytes: in.buf[in.pos..in.len) */
    size_t line;
    size_t max;
    size_t skipped;
    size_t scan;           /* bytes of the current telegram already searched */
};

sl_dsmr_reader_t *
sl_dsmr_reader_new (size_t max_telegram)
{
    sl_dsmr_reader_t *self = calloc (1, sizeof *self);
    if (self) {
        self->max = max_telegram ? max_telegram : 16384;
        self->line = 1;
    }
    return self;
}

void
sl_dsmr_reader_destroy (sl_dsmr_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_inbuf_release (&(*self_p)->in);
    free (*self_p);
    *self_p = NULL;
}

int
sl_dsmr_reader_feed (sl_dsmr_reader_t *self, const void *data, size_t len)
{
    return sl_inbuf_append (&self->in, data, len);
}

/*  Consumes n bytes, keeping the line count. */
static void
s_consume (sl_dsmr_reader_t *self, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (self->in.buf [self->in.pos + i] == '\n')
            self->line++;
    self->in.pos += n;
    if (n)
        self->scan = 0;
}

int
sl_dsmr_reader_next (sl_dsmr_reader_t *self, int eof, const char **tg,
                     size_t *len, size_t *line)
{
    if (!self->in.buf)
        return 0;
    /* Skip noise up to the next '/'. */
    size_t avail = self->in.len - self->in.pos;
    const char *b = self->in.buf + self->in.pos;
    const char *slash = avail ? memchr (b, '/', avail) : NULL;
    size_t skip = slash ? (size_t) (slash - b) : avail;
    for (size_t k = 0; k < skip; k++)       /* line ends between telegrams are not noise */
        self->skipped += b [k] != '\r' && b [k] != '\n';
    s_consume (self, skip);
    if (!slash)
        return 0;
    b = self->in.buf + self->in.pos;
    avail = self->in.len - self->in.pos;
    *line = self->line;

    /* Find '!' or a '/' starting a new line (the telegram was cut off). */
    /* Resume where the last call stopped, so a telegram arriving byte by
       byte is searched once. */
    size_t i = self->scan > 1 ? self->scan : 1;
    size_t limit = avail < self->max ? avail : self->max;
    for (; i < limit; i++) {
        if (b [i] == '!')
            break;
        if (b [i] == '/' && b [i - 1] == '\n') {
            *tg = b;
            *len = i;
            s_consume (self, i);
            return SL_EPARSE;
        }
    }
    if (i == limit) {
        if (avail >= self->max) {
            *tg = b;
            *len = self->max;
            s_consume (self, self->max);
            return SL_ETOOBIG;
        }
        if (!eof) {
            self->scan = i;
            return 0;
        }
        *tg = b;
        *len = avail;
        s_consume (self, avail);
        return SL_EPARSE;
    }
    /* '!' at b[i]: up to 4 hex digits follow, then the line end. */
    size_t j = i + 1;
    while (j < avail && j < i + 5 && sl_hexval (b [j]) >= 0)
        j++;
    if (j == avail && j < i + 5 && !eof)
        return 0;                       /* the CRC may still be arriving */
    *tg = b;
    *len = j;
    size_t n = j;
    if (n < avail && b [n] == '\r')
        n++;
    if (n < avail && b [n] == '\n')
        n++;
    s_consume (self, n);
    return 1;
}

size_t
sl_dsmr_reader_skipped (const sl_dsmr_reader_t *self)
{
    return self->skipped;
}

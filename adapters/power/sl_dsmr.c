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

static int
s_hexval (char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/*  ---------------------------------------------------------------------
 *  Parser
 */

#define ERR(code, at_line, ...) do { \
        int n_ = snprintf (err, errlen, "%s:%zu: telegram %zu: ", source, (size_t) (at_line), tgno); \
        if (n_ >= 0 && (size_t) n_ < errlen) \
            snprintf (err + n_, errlen - (size_t) n_, __VA_ARGS__); \
        rc = (code); goto out; } while (0)

/*  Parses "(number*unit)" into *v; the unit must be `unit`. */
static int
s_value (const char *s, size_t len, const char *unit, double *v)
{
    if (len < 2 || s [0] != '(' || s [len - 1] != ')')
        return -1;
    const char *star = memchr (s, '*', len);
    size_t nlen = star ? (size_t) (star - s - 1) : len - 2;
    if (star) {
        size_t ulen = (size_t) (s + len - 1 - star - 1);
        if (ulen != strlen (unit) || memcmp (star + 1, unit, ulen) != 0)
            return -1;
    }
    return sl_parse_double (s + 1, nlen, v);
}

int
sl_dsmr_parse (const char *tg, size_t len, const char *source, size_t tgno,
               size_t line, const sl_dsmr_opts_t *opts,
               const sl_registry_t *meters, Power__V1__MeterReading **out,
               char *err, size_t errlen)
{
    static const sl_dsmr_opts_t defaults = SL_DSMR_OPTS_DEFAULT;
    if (!opts)
        opts = &defaults;
    int rc = 0;
    char ex [48];
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

    /* 1. CRC over '/' .. '!' */
    size_t crc_len = (size_t) (tg + len - bang - 1);
    while (crc_len && (bang [crc_len] == '\r' || bang [crc_len] == '\n'))
        crc_len--;
    if (crc_len == 0 && opts->require_crc)
        ERR (SL_EPARSE, bang_line, "no CRC after '!' (required)");
    if (crc_len) {
        int ok = crc_len == 4;
        unsigned want = 0;
        for (size_t i = 1; ok && i <= 4; i++) {
            int h = s_hexval (bang [i]);
            if (h < 0) ok = 0;
            want = want * 16 + (unsigned) (h < 0 ? 0 : h);
        }
        if (!ok)
            ERR (SL_EPARSE, bang_line, "CRC '%s' is not 4 hex digits",
                 sl_excerpt (bang + 1, crc_len, ex, sizeof ex));
        unsigned got = sl_dsmr_crc16 (tg, (size_t) (bang - tg) + 1);
        if (got != want)
            ERR (SL_ECORRUPT, bang_line, "CRC mismatch: telegram says %04X, computed %04X",
                 want, got);
    }

    /* 2. Header and registers, line by line */
    const char *p = tg, *end = bang;
    size_t ln = line;
    const char *eol = memchr (p, '\n', (size_t) (end - p));
    size_t hlen = (size_t) ((eol ? eol : end) - p);
    if (hlen && p [hlen - 1] == '\r')
        hlen--;
    if (hlen < 6 || s_hexval (p [4]) < 0)
        ERR (SL_EPARSE, ln, "header '%s' is not /XXXn<identification>",
             sl_excerpt (p, hlen, ex, sizeof ex));

    const char *eq = NULL; size_t eq_len = 0;
    int have_time = 0, have_i1 = 0, have_i2 = 0;
    int64_t when = 0;
    double i1 = 0, i2 = 0, e1 = 0, e2 = 0, pw = 0;
    const char *tariff = NULL; size_t tariff_len = 0;
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
        const char *v = paren;
        size_t vl = (size_t) (p + ll - paren);
#define IS(ref) (rl == sizeof (ref) - 1 && memcmp (p, ref, rl) == 0)
        if (IS ("0-0:96.1.1")) {
            if (vl < 3 || memchr (v + 1, ')', vl - 2))
                ERR (SL_EPARSE, ln, "0-0:96.1.1: expected one (equipment id)");
            eq = v + 1;
            eq_len = vl - 2;
        }
        else
        if (IS ("0-0:1.0.0")) {
            /* (YYMMDDhhmmssX) */
            int d [6], ok = vl == 15;
            for (int k = 0; ok && k < 6; k++) {
                int hi = v [1 + 2 * k] - '0', lo = v [2 + 2 * k] - '0';
                if (hi < 0 || hi > 9 || lo < 0 || lo > 9) ok = 0;
                d [k] = hi * 10 + lo;
            }
            char flag = ok ? v [13] : 0;
            if (!ok || (flag != 'S' && flag != 'W'))
                ERR (SL_EPARSE, ln, "0-0:1.0.0: expected (YYMMDDhhmmssW) or (...S), found '%s'",
                     sl_excerpt (v, vl, ex, sizeof ex));
            if (!sl_time_valid (2000 + d [0], d [1], d [2], d [3], d [4], d [5]))
                ERR (SL_EPARSE, ln, "0-0:1.0.0: no such date or time '%s'",
                     sl_excerpt (v, vl, ex, sizeof ex));
            when = sl_time_from_civil (2000 + d [0], d [1], d [2], d [3], d [4], d [5] == 60 ? 59 : d [5])
                 - (flag == 'S' ? opts->summer_offset_s : opts->winter_offset_s);
            have_time = 1;
        }
        else
        if (IS ("1-0:1.8.1") || IS ("1-0:1.8.2") || IS ("1-0:2.8.1") || IS ("1-0:2.8.2")) {
            double x;
            if (s_value (v, vl, "kWh", &x) || x < 0)
                ERR (SL_EPARSE, ln, "%.*s: expected (000123.456*kWh), found '%s'",
                     (int) rl, p, sl_excerpt (v, vl, ex, sizeof ex));
            if (IS ("1-0:1.8.1")) { i1 = x; have_i1 = 1; }
            else if (IS ("1-0:1.8.2")) { i2 = x; have_i2 = 1; }
            else if (IS ("1-0:2.8.1")) e1 = x;
            else e2 = x;
        }
        else
        if (IS ("1-0:1.7.0")) {
            if (s_value (v, vl, "kW", &pw) || pw < 0)
                ERR (SL_EPARSE, ln, "1-0:1.7.0: expected (01.193*kW), found '%s'",
                     sl_excerpt (v, vl, ex, sizeof ex));
        }
        else
        if (IS ("0-0:96.14.0")) {
            if (vl < 3 || memchr (v + 1, ')', vl - 2))
                ERR (SL_EPARSE, ln, "0-0:96.14.0: expected one (tariff)");
            tariff = v + 1;
            tariff_len = vl - 2;
        }
#undef IS
        p = next;
    }
    if (!eq)
        ERR (SL_EPARSE, bang_line, "missing register 0-0:96.1.1 (equipment id)");
    if (!have_time)
        ERR (SL_EPARSE, bang_line, "missing register 0-0:1.0.0 (time)");
    if (!have_i1 || !have_i2)
        ERR (SL_EPARSE, bang_line, "missing register %s (energy imported, tariff %d)",
             have_i1 ? "1-0:1.8.2" : "1-0:1.8.1", have_i1 ? 2 : 1);

    /* 3. Equipment id: hex-encoded ASCII if it decodes to printable text. */
    char id [128];
    size_t id_len = 0;
    int hex = eq_len % 2 == 0 && eq_len / 2 < sizeof id;
    for (size_t k = 0; hex && k < eq_len; k += 2) {
        int hi = s_hexval (eq [k]), lo = s_hexval (eq [k + 1]);
        int c = hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
        if (c < 0x21 || c > 0x7e)
            hex = 0;
        else
            id [id_len++] = (char) c;
    }
    if (!hex) {
        if (eq_len >= sizeof id)
            ERR (SL_EPARSE, line, "0-0:96.1.1: equipment id longer than %zu bytes", sizeof id - 1);
        memcpy (id, eq, eq_len);
        id_len = eq_len;
    }
    id [id_len] = 0;

    int c_subject = sl_registry_column (meters, "citizen_id");
    int c_district = sl_registry_column (meters, "district");
    if (c_subject < 0 || c_district < 0)
        ERR (SL_EINVAL, line, "meter registry lacks column 'citizen_id' or 'district'");
    const char *subject = sl_registry_get (meters, id, id_len, c_subject);
    const char *district = sl_registry_get (meters, id, id_len, c_district);
    if (!subject)
        ERR (SL_ENOTFOUND, line, "meter '%s' is not in the meter registry",
             sl_excerpt (id, id_len, ex, sizeof ex));

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
    if (!m->id || !m->ref_device || !m->subject || !m->district || !m->tariff)
        ERR (SL_ENOMEM, line, "out of memory");
    m->date_observed = when;
    m->active_energy_import_t1_kwh = i1;
    m->active_energy_import_t2_kwh = i2;
    m->active_energy_export_t1_kwh = e1;
    m->active_energy_export_t2_kwh = e2;
    m->active_energy_import_kwh = i1 + i2;
    m->active_energy_export_kwh = e1 + e2;
    m->active_power_kw = pw;
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
    while (j < avail && j < i + 5 && s_hexval (b [j]) >= 0)
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

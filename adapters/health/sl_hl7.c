/*  sl_hl7 — see sl_hl7.h.
 *
 *  The message text is copied once; segments are (offset, length) pairs into
 *  that copy. Fields, repetitions and components are found by scanning the
 *  segment when asked for: messages are small and each value is read once.
 */
#include "sl_hl7.h"
#include "sl_text.h"
#include "sl_error.h"
#include "sl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    size_t off, len;
    char name [4];
} s_segment_t;

struct _sl_hl7_msg_t {
    char *text;
    s_segment_t *segs;
    size_t nsegs;
    char fs, cs, rs, es, ss;     /* field, component, repetition, escape, sub */
};

static int
s_is_name_char (char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

sl_hl7_msg_t *
sl_hl7_parse (const char *msg, size_t len, const char *where, char *err, size_t errlen)
{
    sl_hl7_msg_t *self = calloc (1, sizeof *self);
    if (!self || !(self->text = malloc (len + 1)))
        goto nomem;
    memcpy (self->text, msg, len);
    self->text [len] = 0;
    if (len < 8 || memcmp (msg, "MSH", 3) != 0) {
        snprintf (err, errlen, "%ssegment 1: message does not start with MSH", where);
        goto fail;
    }
    self->fs = msg [3];
    self->cs = msg [4]; self->rs = msg [5]; self->es = msg [6]; self->ss = msg [7];
    const char d [5] = { self->fs, self->cs, self->rs, self->es, self->ss };
    for (int i = 0; i < 5; i++) {
        if (d [i] == '\r' || d [i] == '\n' || s_is_name_char (d [i])
         || (unsigned char) d [i] < 0x20 || (unsigned char) d [i] >= 0x7f
         || memchr (d, d [i], (size_t) i)) {
            snprintf (err, errlen, "%sMSH-%d: bad delimiter characters in MSH-1/MSH-2",
                      where, i == 0 ? 1 : 2);
            goto fail;
        }
    }
    /* MSH-2 may carry a fifth character (truncation, v2.7); then the field separator. */
    if (len > 8 && msg [8] != self->fs && (len < 10 || msg [9] != self->fs)) {
        snprintf (err, errlen, "%sMSH-2: encoding characters not followed by the field separator", where);
        goto fail;
    }
    size_t cap = 0;
    size_t p = 0;
    while (p < len) {
        size_t e = p;
        while (e < len && msg [e] != '\r' && msg [e] != '\n')
            e++;
        if (e > p) {
            size_t n = self->nsegs + 1;
            if (e - p < 3 || !s_is_name_char (msg [p]) || !s_is_name_char (msg [p + 1])
             || !s_is_name_char (msg [p + 2]) || (e - p > 3 && msg [p + 3] != self->fs)) {
                char ex [8] = { 0 };
                for (size_t i = 0; i < 3 && p + i < e; i++)
                    ex [i] = (unsigned char) msg [p + i] >= 0x20 && (unsigned char) msg [p + i] < 0x7f ? msg [p + i] : '?';
                snprintf (err, errlen, "%ssegment %zu: '%s' is not a segment name", where, n, ex);
                goto fail;
            }
            if (self->nsegs == cap) {
                cap = cap ? cap * 2 : 16;
                s_segment_t *ns = realloc (self->segs, cap * sizeof *ns);
                if (!ns)
                    goto nomem;
                self->segs = ns;
            }
            s_segment_t *s = &self->segs [self->nsegs++];
            s->off = p;
            s->len = e - p;
            memcpy (s->name, msg + p, 3);
            s->name [3] = 0;
        }
        p = e + 1;
    }
    return self;
nomem:
    snprintf (err, errlen, "%sout of memory", where);
fail:
    sl_hl7_destroy (&self);
    return NULL;
}

void
sl_hl7_destroy (sl_hl7_msg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->segs);
    free ((*self_p)->text);
    free (*self_p);
    *self_p = NULL;
}

size_t
sl_hl7_segments (const sl_hl7_msg_t *self)
{
    return self->nsegs;
}

const char *
sl_hl7_segment_name (const sl_hl7_msg_t *self, size_t i)
{
    return i < self->nsegs ? self->segs [i].name : "";
}

long
sl_hl7_find (const sl_hl7_msg_t *self, const char *name, size_t from)
{
    for (size_t i = from; i < self->nsegs; i++)
        if (strcmp (self->segs [i].name, name) == 0)
            return (long) i;
    return -1;
}

/*  Narrows [*b, *e) to its n-th (1-based) part separated by `sep`;
 *  an absent part becomes empty. */
static void
s_part (const char *t, size_t *b, size_t *e, char sep, size_t n)
{
    size_t p = *b;
    for (size_t k = 1; k < n; k++) {
        while (p < *e && t [p] != sep)
            p++;
        if (p == *e) {
            *b = *e;
            return;
        }
        p++;
    }
    size_t q = p;
    while (q < *e && t [q] != sep)
        q++;
    *b = p;
    *e = q;
}

/*  The raw span of SEG-field (all repetitions). */
static void
s_field (const sl_hl7_msg_t *self, size_t seg, size_t field, size_t *b, size_t *e)
{
    const s_segment_t *s = &self->segs [seg];
    *b = s->off + 3;
    *e = s->off + s->len;
    if (field == 0 || *b >= *e) {
        *b = *e;
        return;
    }
    int msh = strcmp (s->name, "MSH") == 0;
    if (msh && field == 1) {            /* MSH-1 is the separator itself */
        *e = *b + 1;
        return;
    }
    (*b)++;                             /* past the first field separator */
    size_t idx = msh ? field - 1 : field;
    if (msh && field == 2) {            /* MSH-2: no component splitting */
        s_part (self->text, b, e, self->fs, 1);
        return;
    }
    s_part (self->text, b, e, self->fs, idx);
}

size_t
sl_hl7_repetitions (const sl_hl7_msg_t *self, size_t seg, size_t field)
{
    if (seg >= self->nsegs)
        return 0;
    size_t b, e;
    s_field (self, seg, field, &b, &e);
    if (b == e)
        return 0;
    size_t n = 1;
    for (size_t i = b; i < e; i++)
        n += self->text [i] == self->rs;
    return n;
}

int
sl_hl7_get (const sl_hl7_msg_t *self, size_t seg, size_t field, size_t rep,
            size_t comp, size_t sub, char *out, size_t outlen)
{
    if (outlen == 0)
        return SL_ETOOBIG;
    out [0] = 0;
    if (seg >= self->nsegs)
        return 0;
    size_t b, e;
    s_field (self, seg, field, &b, &e);
    int msh2 = strcmp (self->segs [seg].name, "MSH") == 0 && field <= 2;
    if (!msh2) {
        s_part (self->text, &b, &e, self->rs, rep ? rep : 1);
        s_part (self->text, &b, &e, self->cs, comp ? comp : 1);
        s_part (self->text, &b, &e, self->ss, sub ? sub : 1);
    }
    const char *t = self->text;
    size_t n = 0;
    int full = 0;
#define PUT(c) do { if (n + 1 < outlen) out [n++] = (c); else full = 1; } while (0)
    for (size_t i = b; i < e; i++) {
        if (msh2 || t [i] != self->es) {
            PUT (t [i]);
            continue;
        }
        size_t j = i + 1;
        while (j < e && t [j] != self->es)
            j++;
        if (j == e) {                   /* unterminated: keep as written */
            PUT (t [i]);
            continue;
        }
        size_t el = j - i - 1;
        const char *x = t + i + 1;
        if (el == 1 && *x == 'F') PUT (self->fs);
        else if (el == 1 && *x == 'S') PUT (self->cs);
        else if (el == 1 && *x == 'T') PUT (self->ss);
        else if (el == 1 && *x == 'R') PUT (self->rs);
        else if (el == 1 && *x == 'E') PUT (self->es);
        else if (el == 3 && memcmp (x, ".br", 3) == 0) PUT ('\n');
        else if (el >= 3 && el % 2 == 1 && *x == 'X') {
            int ok = 1;
            for (size_t k = 1; k < el; k++)
                ok &= sl_hexval (x [k]) >= 0;
            if (!ok) {
                for (size_t k = i; k <= j; k++)
                    PUT (t [k]);
            }
            else
                for (size_t k = 1; k < el; k += 2)
                    PUT ((char) (sl_hexval (x [k]) * 16 + sl_hexval (x [k + 1])));
        }
        else
            for (size_t k = i; k <= j; k++)
                PUT (t [k]);
        i = j;
    }
#undef PUT
    out [n] = 0;
    return full ? SL_ETOOBIG : (int) n;
}

int
sl_hl7_parse_ts (const char *s, size_t len, int32_t default_offset_s, int64_t *out)
{
    return sl_hl7_parse_ts_in (s, len, NULL, default_offset_s, out, NULL);
}

int
sl_hl7_parse_ts_in (const char *s, size_t len, const sl_tz_t *tz, int32_t default_offset_s,
                    int64_t *out, int *digits)
{
    /* YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]; what is left out is
       the start of the period written (month 1, day 1, 00:00:00) */
    int v [6] = { 0, 1, 1, 0, 0, 0 };
    static const int width [6] = { 4, 2, 2, 2, 2, 2 };
    size_t i = 0;
    int parts = 0;
    for (; parts < 6; parts++) {
        if (i >= len || s [i] < '0' || s [i] > '9')
            break;
        if (i + (size_t) width [parts] > len)
            return SL_EPARSE;
        int x = 0;
        for (int k = 0; k < width [parts]; k++, i++) {
            if (s [i] < '0' || s [i] > '9')
                return SL_EPARSE;
            x = x * 10 + (s [i] - '0');
        }
        v [parts] = x;
    }
    if (parts < 1)
        return SL_EPARSE;
    int nd = (int) i;
    if (parts == 6 && i < len && s [i] == '.') {
        i++;
        size_t d = 0;
        while (i < len && s [i] >= '0' && s [i] <= '9' && d < 4) { i++; d++; }
        if (d == 0)
            return SL_EPARSE;
        nd += 1 + (int) d;
    }
    int has_zone = 0;
    int64_t off = default_offset_s;
    if (i < len && (s [i] == '+' || s [i] == '-')) {
        char zone [6];                  /* +ZZZZ: five characters, no colon */
        int32_t zoff;
        if (len - i != 5)
            return SL_EPARSE;
        memcpy (zone, s + i, 5);
        zone [5] = '\0';
        if (sl_time_parse_offset (zone, &zoff) != 0)
            return SL_EPARSE;
        off = zoff;
        has_zone = 1;
        i = len;
    }
    if (i != len)
        return SL_EPARSE;
    if (!sl_time_valid (v [0], v [1], v [2], v [3], v [4], v [5]))
        return SL_EPARSE;
    int64_t civil = sl_time_from_civil (v [0], v [1], v [2], v [3], v [4], v [5] == 60 ? 59 : v [5]);
    if (!has_zone && tz) {
        if (sl_tz_to_utc (tz, civil, -1, out, NULL))
            return SL_EPARSE;
    }
    else
        *out = civil - off;
    if (digits)
        *digits = nd;
    return 0;
}

/*  Appends s with the separators escaped, into a growing buffer. */
typedef struct { char *p; size_t n, cap; int oom; } s_buf_t;

static void
s_put (s_buf_t *b, const char *s, size_t len)
{
    if (b->oom)
        return;
    if (b->n + len + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->n + len + 1)
            ncap *= 2;
        char *np = realloc (b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy (b->p + b->n, s, len);
    b->n += len;
    b->p [b->n] = 0;
}

static void
s_put_escaped (s_buf_t *b, const char *s, const char d [5])
{
    static const char code [5] = { 'F', 'S', 'R', 'E', 'T' };
    for (; s && *s; s++) {
        const char *hit = memchr (d, *s, 5);
        if (hit) {
            char e [3] = { d [3], code [hit - d], d [3] };
            s_put (b, e, 3);
        }
        else
        if (*s == '\r' || *s == '\n')
            s_put (b, " ", 1);
        else
            s_put (b, s, 1);
    }
}

int
sl_hl7_ack (const char *msg, size_t len, const char *code, const char *text,
            int64_t now, char **out, size_t *outlen)
{
    char err [128];
    sl_hl7_msg_t *m = sl_hl7_parse (msg, len, "", err, sizeof err);
    char d [5] = { '|', '^', '~', '\\', '&' };
    if (m) {
        d [0] = m->fs; d [1] = m->cs; d [2] = m->rs; d [3] = m->es; d [4] = m->ss;
    }
    /* field values from the original (unescaped, re-escaped on output) */
    /* receiver app, facility; sender app, facility; control id; proc; version */
    char v [7][200];
    static const size_t pos [7] = { 5, 6, 3, 4, 10, 11, 12 };
    for (int k = 0; k < 7; k++) {
        v [k][0] = 0;
        if (m)
            sl_hl7_get (m, 0, pos [k], 1, 1, 1, v [k], sizeof v [k]);
    }
    char trigger [64] = "";
    if (m)
        sl_hl7_get (m, 0, 9, 1, 2, 1, trigger, sizeof trigger);
    const char *proc = v [5][0] ? v [5] : "P";
    const char *version = v [6][0] ? v [6] : "2.5";
    sl_hl7_destroy (&m);

    time_t t = (time_t) now;
    struct tm tm;
    gmtime_r (&t, &tm);
    char ts [96];
    snprintf (ts, sizeof ts, "%04d%02d%02d%02d%02d%02d+0000", tm.tm_year + 1900,
              tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);

    s_buf_t b = { 0 };
    char fs [2] = { d [0], 0 }, cs [2] = { d [1], 0 };
    char hdr [8] = { 'M', 'S', 'H', d [0], d [1], d [2], d [3], d [4] };
    s_put (&b, hdr, 8);
    /* MSH-3,4 = original MSH-5,6 (receiver); MSH-5,6 = original MSH-3,4 */
    for (int k = 0; k < 4; k++) {
        s_put (&b, fs, 1);
        s_put_escaped (&b, v [k], d);
    }
    s_put (&b, fs, 1); s_put (&b, ts, strlen (ts));
    s_put (&b, fs, 1);                                  /* MSH-8 security */
    s_put (&b, fs, 1); s_put (&b, "ACK", 3);            /* MSH-9 */
    if (trigger [0]) {
        s_put (&b, cs, 1); s_put_escaped (&b, trigger, d);
        s_put (&b, cs, 1); s_put (&b, "ACK", 3);
    }
    s_put (&b, fs, 1); s_put (&b, "ACK", 3); s_put_escaped (&b, v [4], d);   /* MSH-10 */
    s_put (&b, fs, 1); s_put_escaped (&b, proc, d);     /* MSH-11 */
    s_put (&b, fs, 1); s_put_escaped (&b, version, d);  /* MSH-12 */
    s_put (&b, "\rMSA", 4);
    s_put (&b, fs, 1); s_put_escaped (&b, code, d);
    s_put (&b, fs, 1); s_put_escaped (&b, v [4], d);
    if (text && *text) {
        s_put (&b, fs, 1);
        s_put_escaped (&b, text, d);
    }
    s_put (&b, "\r", 1);
    if (b.oom) {
        free (b.p);
        return SL_ENOMEM;
    }
    *out = b.p;
    *outlen = b.n;
    return 0;
}

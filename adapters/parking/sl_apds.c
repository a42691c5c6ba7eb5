/*  sl_apds — see sl_apds.h.
 *
 *  The reader walks the text itself and hands each object to cJSON on its
 *  own, so that every record has a line number and its raw bytes, and a
 *  syntax error costs one record rather than the file.
 */
#include "sl_apds.h"
#include "sl_error.h"
#include "sl_text.h"
#include "sl_time.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct _sl_apds_reader_t {
    const char *buf;
    size_t len, pos;
    size_t line;            /* line at pos */
    size_t recno;
    int in_array;
    char *source;
};

sl_apds_reader_t *
sl_apds_reader_new (const char *buf, size_t len, const char *source)
{
    sl_apds_reader_t *self = calloc (1, sizeof *self);
    if (!self || !(self->source = strdup (source ? source : ""))) {
        free (self);
        return NULL;
    }
    self->buf = buf;
    self->len = len;
    self->line = 1;
    return self;
}

void
sl_apds_reader_set_position (sl_apds_reader_t *self, size_t line, size_t records)
{
    self->line = line;
    self->recno = records;
}

void
sl_apds_reader_destroy (sl_apds_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->source);
    free (*self_p);
    *self_p = NULL;
}

static void
s_advance (sl_apds_reader_t *self, size_t to)
{
    for (; self->pos < to; self->pos++)
        if (self->buf [self->pos] == '\n')
            self->line++;
}

static void
s_skip_ws (sl_apds_reader_t *self)
{
    size_t p = self->pos;
    while (p < self->len && (self->buf [p] == ' ' || self->buf [p] == '\t'
                          || self->buf [p] == '\r' || self->buf [p] == '\n'))
        p++;
    s_advance (self, p);
}

/*  Skips to the next line whose first non-blank character is '{'. */
static void
s_resync (sl_apds_reader_t *self)
{
    size_t p = self->pos;
    for (;;) {
        while (p < self->len && self->buf [p] != '\n')
            p++;
        if (p >= self->len)
            break;
        p++;
        size_t q = p;
        while (q < self->len && (self->buf [q] == ' ' || self->buf [q] == '\t'))
            q++;
        if (q < self->len && self->buf [q] == '{')
            break;
    }
    s_advance (self, p);
}

#define ERR(code, ...) do { \
        int n_ = snprintf (err, errlen, "%s:%zu: record %zu: ", source, line, recno); \
        if (n_ >= 0 && (size_t) n_ < errlen) \
            snprintf (err + n_, errlen - (size_t) n_, __VA_ARGS__); \
        rc = (code); goto out; } while (0)

static int
s_time (const cJSON *v, int64_t *out, const char **why)
{
    size_t bad;
    if (!cJSON_IsString (v)) {
        *why = "expected an ISO 8601 time string";
        return -1;
    }
    return sl_time_parse_iso8601 (v->valuestring, strlen (v->valuestring), out, &bad, why) ? -1 : 0;
}

static int
s_map (const cJSON *o, const char *source, size_t line, size_t recno,
       const sl_registry_t *plates, const sl_registry_t *places,
       Parking__V1__Session **out, char *err, size_t errlen)
{
    int rc = 0;
    char ex [48];
    const char *why = "";
    Parking__V1__Session *s = NULL;
    if (!cJSON_IsObject (o))
        ERR (SL_EPARSE, "expected a Session object");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive (o, "id");
    if (!cJSON_IsString (id) || !*id->valuestring)
        ERR (SL_EPARSE, "member 'id': missing or not a non-empty string");
    const cJSON *creds = cJSON_GetObjectItemCaseSensitive (o, "identifiedCredentials");
    if (!cJSON_IsArray (creds))
        ERR (SL_EPARSE, "member 'identifiedCredentials': missing or not an array");
    const char *plate = NULL;
    const cJSON *c;
    cJSON_ArrayForEach (c, creds) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive (c, "type");
        const cJSON *i = cJSON_GetObjectItemCaseSensitive (c, "identifier");
        if (cJSON_IsString (t) && (strcasecmp (t->valuestring, "LPN") == 0
                                || strcasecmp (t->valuestring, "licencePlate") == 0
                                || strcasecmp (t->valuestring, "licensePlate") == 0)) {
            if (!cJSON_IsString (i) || !*i->valuestring)
                ERR (SL_EPARSE, "member 'identifiedCredentials': licence plate credential without an identifier");
            plate = i->valuestring;
            break;
        }
    }
    if (!plate)
        ERR (SL_EPARSE, "member 'identifiedCredentials': no licence plate credential (type LPN)");
    char norm [64];
    sl_registry_normalize_plate (plate, strlen (plate), norm, sizeof norm);
    if (!norm [0])
        ERR (SL_EPARSE, "member 'identifiedCredentials': empty licence plate");
    int64_t start = 0, end = 0;
    if (s_time (cJSON_GetObjectItemCaseSensitive (o, "actualStart"), &start, &why))
        ERR (SL_EPARSE, "member 'actualStart': %s", why);
    const cJSON *ae = cJSON_GetObjectItemCaseSensitive (o, "actualEnd");
    if (ae && !cJSON_IsNull (ae)) {
        if (s_time (ae, &end, &why))
            ERR (SL_EPARSE, "member 'actualEnd': %s", why);
        if (end < start)
            ERR (SL_EPARSE, "member 'actualEnd': before actualStart");
    }
    const char *place = "";
    const cJSON *pr = cJSON_GetObjectItemCaseSensitive (o, "placeReference");
    if (cJSON_IsObject (pr))
        pr = cJSON_GetObjectItemCaseSensitive (pr, "id");
    if (pr && !cJSON_IsNull (pr)) {
        if (!cJSON_IsString (pr))
            ERR (SL_EPARSE, "member 'placeReference': expected a string or {\"id\": string}");
        place = pr->valuestring;
    }
    double amount = 0;
    const char *currency = "";
    const cJSON *amts = cJSON_GetObjectItemCaseSensitive (o, "sessionAmounts");
    if (amts && !cJSON_IsArray (amts))
        ERR (SL_EPARSE, "member 'sessionAmounts': expected an array");
    size_t k = 0;
    cJSON_ArrayForEach (c, amts) {
        k++;
        const cJSON *a = cJSON_GetObjectItemCaseSensitive (c, "amount");
        const cJSON *cur = cJSON_GetObjectItemCaseSensitive (c, "currency");
        if (!cJSON_IsNumber (a))
            ERR (SL_EPARSE, "member 'sessionAmounts[%zu].amount': missing or not a number", k - 1);
        if (!cJSON_IsString (cur) || strlen (cur->valuestring) != 3)
            ERR (SL_EPARSE, "member 'sessionAmounts[%zu].currency': expected an ISO 4217 code", k - 1);
        if (*currency && strcmp (currency, cur->valuestring) != 0)
            ERR (SL_EPARSE, "member 'sessionAmounts[%zu].currency': %s differs from %s",
                 k - 1, cur->valuestring, currency);
        currency = cur->valuestring;
        amount += a->valuedouble;
    }

    int c_subject = sl_registry_column (plates, "citizen_id");
    if (c_subject < 0)
        ERR (SL_EINVAL, "plate registry lacks column 'citizen_id'");
    const char *subject = sl_registry_get (plates, norm, strlen (norm), c_subject);
    if (!subject)
        ERR (SL_ENOTFOUND, "licence plate '%s' is not in the plate registry",
             sl_excerpt (norm, strlen (norm), ex, sizeof ex));
    const char *district = NULL;
    if (places && *place) {
        int c_district = sl_registry_column (places, "district");
        if (c_district >= 0)
            district = sl_registry_get (places, place, strlen (place), c_district);
    }

    s = malloc (sizeof *s);
    if (!s)
        ERR (SL_ENOMEM, "out of memory");
    parking__v1__session__init (s);
    s->id = strdup (id->valuestring);
    s->subject = strdup (subject);
    s->licence_plate = strdup (norm);
    s->place_reference = strdup (place);
    s->district = strdup (district ? district : "");
    s->currency = strdup (currency);
    s->actual_start = start;
    s->actual_end = end;
    s->amount = amount;
    if (!s->id || !s->subject || !s->licence_plate || !s->place_reference
     || !s->district || !s->currency)
        ERR (SL_ENOMEM, "out of memory");
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive (o, "segments");
    if (segs && !cJSON_IsArray (segs))
        ERR (SL_EPARSE, "member 'segments': expected an array");
    int nseg = segs ? cJSON_GetArraySize (segs) : 0;
    if (nseg > 0) {
        s->segments = calloc ((size_t) nseg, sizeof *s->segments);
        if (!s->segments)
            ERR (SL_ENOMEM, "out of memory");
    }
    k = 0;
    cJSON_ArrayForEach (c, segs) {
        if (!cJSON_IsObject (c))
            ERR (SL_EPARSE, "member 'segments[%zu]': expected an object", k);
        Parking__V1__Segment *g = malloc (sizeof *g);
        if (!g)
            ERR (SL_ENOMEM, "out of memory");
        parking__v1__segment__init (g);
        s->segments [s->n_segments++] = g;
        const cJSON *gid = cJSON_GetObjectItemCaseSensitive (c, "id");
        const cJSON *rate = cJSON_GetObjectItemCaseSensitive (c, "rateReference");
        if (cJSON_IsObject (rate))
            rate = cJSON_GetObjectItemCaseSensitive (rate, "id");
        g->id = strdup (cJSON_IsString (gid) ? gid->valuestring : "");
        g->rate_reference = strdup (cJSON_IsString (rate) ? rate->valuestring : "");
        if (!g->id || !g->rate_reference)
            ERR (SL_ENOMEM, "out of memory");
        if (s_time (cJSON_GetObjectItemCaseSensitive (c, "validFrom"), &g->valid_from, &why))
            ERR (SL_EPARSE, "member 'segments[%zu].validFrom': %s", k, why);
        const cJSON *vt = cJSON_GetObjectItemCaseSensitive (c, "validTo");
        if (vt && !cJSON_IsNull (vt) && s_time (vt, &g->valid_to, &why))
            ERR (SL_EPARSE, "member 'segments[%zu].validTo': %s", k, why);
        const cJSON *a = cJSON_GetObjectItemCaseSensitive (c, "amount");
        if (a && !cJSON_IsNumber (a))
            ERR (SL_EPARSE, "member 'segments[%zu].amount': expected a number", k);
        g->amount = a ? a->valuedouble : 0;
        k++;
    }
    *out = s;
    s = NULL;
out:
    if (s)
        parking__v1__session__free_unpacked (s, NULL);
    return rc;
}

int
sl_apds_reader_next (sl_apds_reader_t *self, const sl_registry_t *plates,
                     const sl_registry_t *places, Parking__V1__Session **out,
                     const char **raw, size_t *rawlen, size_t *recno,
                     char *err, size_t errlen)
{
    const char *b = self->buf;
    for (;;) {
        s_skip_ws (self);
        if (self->pos >= self->len)
            return 0;
        char ch = b [self->pos];
        if (self->in_array && (ch == ',' || ch == ']')) {
            if (ch == ']')
                self->in_array = 0;
            s_advance (self, self->pos + 1);
            continue;
        }
        if (!self->in_array && ch == '[') {
            self->in_array = 1;
            s_advance (self, self->pos + 1);
            continue;
        }
        break;
    }
    size_t start = self->pos, line = self->line;
    *recno = ++self->recno;
    *raw = b + start;
    if (b [start] != '{') {
        s_resync (self);
        *rawlen = self->pos - start;
        size_t col = 1;
        for (size_t i = start; i > 0 && b [i - 1] != '\n'; i--)
            col++;
        snprintf (err, errlen, "%s:%zu:%zu: record %zu: expected '{' to start a Session object",
                  self->source, line, col, *recno);
        return SL_EPARSE;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts (b + start, self->len - start, &end, 0);
    if (!o) {
        /* locate the error */
        size_t at = end && end >= b + start && end <= b + self->len ? (size_t) (end - b) : start;
        size_t eline = line, col = 1;
        for (size_t i = start; i < at; i++)
            if (b [i] == '\n')
                eline++;
        for (size_t i = at; i > 0 && b [i - 1] != '\n'; i--)
            col++;
        s_resync (self);
        *rawlen = self->pos - start;
        snprintf (err, errlen, "%s:%zu:%zu: record %zu: invalid JSON", self->source, eline, col, *recno);
        return SL_EPARSE;
    }
    s_advance (self, (size_t) (end - b));
    *rawlen = self->pos - start;
    int rc = s_map (o, self->source, line, *recno, plates, places, out, err, errlen);
    cJSON_Delete (o);
    return rc ? rc : 1;
}

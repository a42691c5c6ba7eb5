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
#include <inttypes.h>
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
    const sl_tz_t *tz;
    const char *currency;
    sl_explain_t *explain;
    cJSON *page;            /* a SessionList page being read, or NULL */
    cJSON *page_item;       /* its next session */
    int page_size;
    size_t page_line;
    char *page_raw;         /* the current page item, printed, for the quarantine */
};

void
sl_apds_reader_set_options (sl_apds_reader_t *self, const sl_tz_t *tz, const char *currency,
                            sl_explain_t *explain)
{
    self->tz = tz;
    self->currency = currency;
    self->explain = explain;
}

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
    cJSON_Delete ((*self_p)->page);
    free ((*self_p)->page_raw);
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
s_time (const sl_tz_t *tz, const cJSON *v, int64_t *out, const char **why)
{
    size_t bad;
    if (!cJSON_IsString (v)) {
        *why = "expected an RFC 3339 date-time string";
        return -1;
    }
    int64_t civil;
    int32_t off;
    int has_zone;
    if (sl_time_parse_iso8601_parts (v->valuestring, strlen (v->valuestring), &civil, &has_zone, &off, &bad, why))
        return -1;
    if (has_zone) {
        *out = civil - off;
        return 0;
    }
    if (!tz) {
        *why = "a date-time without a zone (APDS date-times carry one)\n"
               "give --timezone ZONE, the IANA zone of the car park system's clock";
        return -1;
    }
    return sl_tz_to_utc (tz, civil, -1, out, why) ? -1 : 0;
}

/*  A Reference / VersionedReference {"id": ...}: its id, or NULL. */
static const char *
s_ref_id (const cJSON *r)
{
    const cJSON *id = cJSON_IsObject (r) ? cJSON_GetObjectItemCaseSensitive (r, "id") : NULL;
    return cJSON_IsString (id) && *id->valuestring ? id->valuestring : NULL;
}

/*  Adds one AmountInCurrency {"currencyType", "currencyValue"} to the sum. */
static int
s_money (const cJSON *v, double *amount, const char **currency, char *why, size_t whylen)
{
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive (v, "currencyType");
    const cJSON *cv = cJSON_GetObjectItemCaseSensitive (v, "currencyValue");
    if (!cJSON_IsNumber (cv)) {
        snprintf (why, whylen, "currencyValue missing or not a number");
        return -1;
    }
    if (!cJSON_IsString (ct) || strlen (ct->valuestring) != 3) {
        snprintf (why, whylen, "currencyType is not an ISO 4217 code");
        return -1;
    }
    if (**currency && strcmp (*currency, ct->valuestring) != 0) {
        snprintf (why, whylen, "currency %s differs from %s", ct->valuestring, *currency);
        return -1;
    }
    *currency = ct->valuestring;
    *amount += cv->valuedouble;
    return 0;
}

static int
s_map (const cJSON *o, const char *source, size_t line, size_t recno,
       const sl_lookup_t *plates, const sl_lookup_t *places, const sl_tz_t *tz,
       const char *default_currency, sl_explain_t *exp, Parking__V1__Session **out,
       char *err, size_t errlen)
{
    int rc = 0;
    char ex [48], why2 [128];
    const char *why = "";
    Parking__V1__Session *s = NULL;
    if (!cJSON_IsObject (o))
        ERR (SL_EPARSE, "expected a Session object");
    sl_explain_note (exp, "%s:%zu: record %zu: APDS v4 Session", source, line, recno);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive (o, "id");
    if (!cJSON_IsString (id) || !*id->valuestring)
        ERR (SL_EPARSE, "member 'id': missing or not a non-empty string");
    sl_explain_add (exp, "id", "member 'id'", "%s", id->valuestring);
    const cJSON *creds = cJSON_GetObjectItemCaseSensitive (o, "identifiedCredentials");
    const char *creds_name = "identifiedCredentials";
    if (!creds) {       /* the name in UK NPP's published session examples */
        creds = cJSON_GetObjectItemCaseSensitive (o, "credentials");
        creds_name = "credentials";
    }
    if (!cJSON_IsArray (creds))
        ERR (SL_EPARSE, "member 'identifiedCredentials': missing or not an array");
    const char *plate = NULL;
    const cJSON *c;
    size_t k = 0, pk = 0;
    char types [128] = "";
    cJSON_ArrayForEach (c, creds) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive (c, "type");
        const cJSON *i = cJSON_GetObjectItemCaseSensitive (c, "identifier");
        if (cJSON_IsString (t)) {
            size_t n = strlen (types);
            snprintf (types + n, sizeof types - n, "%s%s", n ? ", " : "", t->valuestring);
        }
        if (cJSON_IsString (t) && (strcmp (t->valuestring, "licensePlate") == 0
                                || strcmp (t->valuestring, "vehicleplate") == 0)) {
            plate = s_ref_id (i);
            if (!plate)
                ERR (SL_EPARSE, "member 'identifiedCredentials[%zu].identifier': expected a Reference {\"id\": plate, \"className\": ...}", k);
            pk = k;
            break;
        }
        k++;
    }
    if (!plate)
        ERR (SL_EPARSE, "member 'identifiedCredentials': no licence plate credential (type licensePlate or vehicleplate; found %s)\n"
             "sessions identified by other credentials cannot be joined with the plate registry; "
             "the car park system must report the plate it read", types [0] ? types : "none");
    char norm [64];
    sl_lookup_normalize_plate (plate, strlen (plate), norm, sizeof norm);
    if (!norm [0])
        ERR (SL_EPARSE, "member 'identifiedCredentials[%zu].identifier.id': empty licence plate", pk);
    char cfrom [64];
    snprintf (cfrom, sizeof cfrom, "%s[%zu].identifier.id", creds_name, pk);
    sl_explain_add (exp, "licence_plate", cfrom, "'%s' -> %s", plate, norm);
    int64_t start = 0, end = 0;
    if (s_time (tz, cJSON_GetObjectItemCaseSensitive (o, "actualStart"), &start, &why))
        ERR (SL_EPARSE, "member 'actualStart': %s", why);
    sl_explain_add (exp, "actual_start", "member 'actualStart'", "%" PRId64 " (UTC)", start);
    const cJSON *ae = cJSON_GetObjectItemCaseSensitive (o, "actualEnd");
    if (ae && !cJSON_IsNull (ae)) {
        if (s_time (tz, ae, &end, &why))
            ERR (SL_EPARSE, "member 'actualEnd': %s", why);
        if (end < start)
            ERR (SL_EPARSE, "member 'actualEnd': before actualStart");
        sl_explain_add (exp, "actual_end", "member 'actualEnd'", "%" PRId64 " (UTC)", end);
    }
    else
        sl_explain_add (exp, "actual_end", "(no actualEnd)", "0: still parked");
    const char *place = "";
    const cJSON *he = cJSON_GetObjectItemCaseSensitive (o, "hierarchyElement");
    if (he && !cJSON_IsNull (he)) {
        place = s_ref_id (he);
        if (!place)
            ERR (SL_EPARSE, "member 'hierarchyElement': expected a VersionedReference {\"id\": ..., \"version\": ...}");
        sl_explain_add (exp, "place_reference", "hierarchyElement.id", "%s", place);
    }
    double amount = 0;
    const char *currency = "";
    int have_money = 0;
    const cJSON *fts = cJSON_GetObjectItemCaseSensitive (o, "financialTransactions");
    if (fts && !cJSON_IsArray (fts))
        ERR (SL_EPARSE, "member 'financialTransactions': expected an array");
    k = 0;
    cJSON_ArrayForEach (c, fts) {
        /* a Payment with paymentLines, or a MonetaryValue with value */
        const cJSON *lines = cJSON_GetObjectItemCaseSensitive (c, "paymentLines");
        const cJSON *value = cJSON_GetObjectItemCaseSensitive (c, "value");
        if (cJSON_IsArray (lines)) {
            size_t j = 0;
            const cJSON *l;
            cJSON_ArrayForEach (l, lines) {
                if (s_money (cJSON_GetObjectItemCaseSensitive (l, "value"), &amount, &currency, why2, sizeof why2))
                    ERR (SL_EPARSE, "member 'financialTransactions[%zu].paymentLines[%zu].value': %s", k, j, why2);
                have_money = 1;
                j++;
            }
        }
        else
        if (cJSON_IsObject (value)) {
            if (s_money (value, &amount, &currency, why2, sizeof why2))
                ERR (SL_EPARSE, "member 'financialTransactions[%zu].value': %s", k, why2);
            have_money = 1;
        }
        else
            ERR (SL_EPARSE, "member 'financialTransactions[%zu]': neither paymentLines nor value", k);
        k++;
    }
    if (have_money)
        sl_explain_add (exp, "amount, currency", "financialTransactions[] values", "%.2f %s", amount, currency);

    int c_subject = sl_lookup_column (plates, "citizen_id");
    if (c_subject < 0)
        ERR (SL_EINVAL, "plate registry lacks column 'citizen_id'");
    const char *subject = sl_lookup_get (plates, norm, strlen (norm), c_subject);
    if (!subject)
        ERR (SL_ENOTFOUND, "licence plate '%s' is not in the plate registry\n"
             "a visitor's plate: add it to the plate registry (--plates) if its holder is known",
             sl_excerpt (norm, strlen (norm), ex, sizeof ex));
    sl_explain_add (exp, "subject", "plate registry row of the plate", "%s", subject);
    const char *district = NULL;
    if (places && *place) {
        int c_district = sl_lookup_column (places, "district");
        if (c_district >= 0)
            district = sl_lookup_get (places, place, strlen (place), c_district);
    }
    sl_explain_add (exp, "district", "place registry row of the place", "%s", district ? district : "(none)");

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
    double seg_amount = 0;
    const char *seg_currency = "";
    int have_seg_money = 0, seg_no_currency = 0, no_currency = 0;
    cJSON_ArrayForEach (c, segs) {
        if (!cJSON_IsObject (c))
            ERR (SL_EPARSE, "member 'segments[%zu]': expected an object", k);
        Parking__V1__Segment *g = malloc (sizeof *g);
        if (!g)
            ERR (SL_ENOMEM, "out of memory");
        parking__v1__segment__init (g);
        s->segments [s->n_segments++] = g;
        const cJSON *gid = cJSON_GetObjectItemCaseSensitive (c, "id");
        const char *right = s_ref_id (cJSON_GetObjectItemCaseSensitive (c, "assignedRight"));
        g->id = strdup (cJSON_IsString (gid) ? gid->valuestring : "");
        g->rate_reference = strdup (right ? right : "");
        if (!g->id || !g->rate_reference)
            ERR (SL_ENOMEM, "out of memory");
        if (s_time (tz, cJSON_GetObjectItemCaseSensitive (c, "actualStart"), &g->valid_from, &why))
            ERR (SL_EPARSE, "member 'segments[%zu].actualStart': %s", k, why);
        const cJSON *vt = cJSON_GetObjectItemCaseSensitive (c, "actualEnd");
        if (vt && !cJSON_IsNull (vt) && s_time (tz, vt, &g->valid_to, &why))
            ERR (SL_EPARSE, "member 'segments[%zu].actualEnd': %s", k, why);
        sl_explain_add (exp, "segments[].valid_from/to", "segments[].actualStart/actualEnd", "%" PRId64 "..%" PRId64 ", right %s",
                        g->valid_from, g->valid_to, g->rate_reference);
        /* money recorded per segment: segmentValue (no currency), or an AmountInCurrency */
        const cJSON *sft = cJSON_GetObjectItemCaseSensitive (c, "financialTransactions");
        if (sft && !cJSON_IsArray (sft))
            ERR (SL_EPARSE, "member 'segments[%zu].financialTransactions': expected an array", k);
        size_t j = 0;
        const cJSON *t;
        cJSON_ArrayForEach (t, sft) {
            const cJSON *sv = cJSON_GetObjectItemCaseSensitive (t, "segmentValue");
            const cJSON *value = cJSON_GetObjectItemCaseSensitive (t, "value");
            double before = seg_amount;
            if (cJSON_IsNumber (sv)) {
                seg_amount += sv->valuedouble;
                seg_no_currency = 1;
            }
            else
            if (cJSON_IsObject (value)) {
                if (s_money (value, &seg_amount, &seg_currency, why2, sizeof why2))
                    ERR (SL_EPARSE, "member 'segments[%zu].financialTransactions[%zu].value': %s", k, j, why2);
            }
            else
                ERR (SL_EPARSE, "member 'segments[%zu].financialTransactions[%zu]': neither segmentValue nor value", k, j);
            g->amount += seg_amount - before;
            have_seg_money = 1;
            j++;
        }
        if (j)
            sl_explain_add (exp, "segments[].amount", "segments[].financialTransactions[]", "%.2f", g->amount);
        k++;
    }
    if (have_seg_money) {
        if (have_money)
            ERR (SL_EPARSE, "member 'financialTransactions': money given both per session and per segment");
        if (*seg_currency && seg_no_currency && !(default_currency && strcmp (default_currency, seg_currency) == 0))
            ERR (SL_EPARSE, "member 'segments': segmentValue without a currency beside values in %s", seg_currency);
        s->amount = seg_amount;
        const char *cur = *seg_currency ? seg_currency : default_currency;
        free (s->currency);
        if (!(s->currency = strdup (cur ? cur : "")))
            ERR (SL_ENOMEM, "out of memory");
        have_money = 1;
        sl_explain_add (exp, "amount, currency", "sum of segments' financialTransactions", "%.2f %s%s", seg_amount,
                        cur ? cur : "(unknown)", *seg_currency ? "" : cur ? " (segmentValue carries none: --currency)" : "");
        if (!cur)
            no_currency = 1;
    }
    const char *absent [4];
    size_t na = 0;
    if (!have_money) { absent [na++] = "amount"; absent [na++] = "currency"; }
    else if (no_currency) absent [na++] = "currency";
    if (!*place) absent [na++] = "place_reference";
    if (sl_explain_absent (exp, absent, na, "session", &s->absent_fields, &s->n_absent_fields))
        ERR (SL_ENOMEM, "out of memory");
    *out = s;
    s = NULL;
out:
    if (s)
        parking__v1__session__free_unpacked (s, NULL);
    return rc;
}

int
sl_apds_reader_next (sl_apds_reader_t *self, const sl_lookup_t *plates,
                     const sl_lookup_t *places, Parking__V1__Session **out,
                     const char **raw, size_t *rawlen, size_t *recno,
                     char *err, size_t errlen)
{
    const char *b = self->buf;
    if (self->page) {
        if (self->page_item) {
            cJSON *item = self->page_item;
            self->page_item = item->next;
            *recno = ++self->recno;
            int rc = s_map (item, self->source, self->page_line, *recno, plates, places, self->tz,
                            self->currency, self->explain, out, err, errlen);
            /* the raw bytes of a refused session: printed again from the page */
            free (self->page_raw);
            self->page_raw = rc ? cJSON_PrintUnformatted (item) : NULL;
            *raw = self->page_raw ? self->page_raw : "";
            *rawlen = strlen (*raw);
            return rc ? rc : 1;
        }
        cJSON_Delete (self->page);
        self->page = NULL;
    }
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
    /* a SessionList page, as GET /sessions returns: {"meta": ..., "data": [Session...]} */
    const cJSON *data = cJSON_GetObjectItemCaseSensitive (o, "data");
    if (cJSON_IsObject (o) && cJSON_IsArray (data) && cJSON_IsObject (cJSON_GetObjectItemCaseSensitive (o, "meta"))) {
        self->page = o;
        self->page_item = data->child;
        self->page_size = cJSON_GetArraySize (data);
        self->page_line = line;
        self->recno--;
        sl_explain_note (self->explain, "%s:%zu: an APDS SessionList page of %d sessions", self->source, line,
                         self->page_size);
        return sl_apds_reader_next (self, plates, places, out, raw, rawlen, recno, err, errlen);
    }
    int rc = s_map (o, self->source, line, *recno, plates, places, self->tz, self->currency, self->explain,
                    out, err, errlen);
    cJSON_Delete (o);
    return rc ? rc : 1;
}

/*  sl_wmbus — see sl_wmbus.h. */
#include "sl_wmbus.h"
#include "sl_error.h"
#include "sl_text.h"
#include "sl_time.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*  What a column or member holds. */
typedef enum {
    K_OTHER, K_NAME, K_ID, K_MEDIA, K_TOTAL, K_TARGET, K_MAXFLOW, K_MINFLOW,
    K_STATUS, K_CURRENT_STATUS, K_CURRENT_ALARMS,
    K_TS, K_TS_LT, K_TS_UTC, K_TS_UT
} s_kind_t;

static const struct { const char *name; s_kind_t kind; } s_names [] = {
    { "name", K_NAME }, { "id", K_ID }, { "media", K_MEDIA }, { "total_m3", K_TOTAL },
    { "target_m3", K_TARGET }, { "max_flow_m3h", K_MAXFLOW }, { "min_flow_m3h", K_MINFLOW },
    { "status", K_STATUS }, { "current_status", K_CURRENT_STATUS },
    { "current_alarms", K_CURRENT_ALARMS }, { "timestamp", K_TS }, { "timestamp_lt", K_TS_LT },
    { "timestamp_utc", K_TS_UTC }, { "timestamp_ut", K_TS_UT },
};

static s_kind_t
s_kind (const char *s, size_t len)
{
    for (size_t i = 0; i < sizeof s_names / sizeof s_names [0]; i++)
        if (strlen (s_names [i].name) == len && memcmp (s_names [i].name, s, len) == 0)
            return s_names [i].kind;
    return K_OTHER;
}

#define MAX_COLS 64

struct _sl_wmbus_t {
    sl_wmbus_opts_t opts;
    char sep;
    s_kind_t preset [MAX_COLS];     /* from --csv-fields */
    char *preset_names [MAX_COLS];
    size_t npreset;
    s_kind_t cols [MAX_COLS];       /* from the source's header line */
    char *col_names [MAX_COLS];
    size_t ncols;
    size_t header_line;             /* 0: no header seen in this source */
};

static const char *const s_water_media [] = {
    "water", "cold water", "warm water", "hot water", "hot/cold water", "waste water", NULL
};

int
sl_wmbus_is_water_media (const char *media)
{
    for (size_t i = 0; s_water_media [i]; i++)
        if (strcmp (media, s_water_media [i]) == 0)
            return 1;
    return 0;
}

static void
s_free_names (char **names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free (names [i]);
        names [i] = NULL;
    }
}

sl_wmbus_t *
sl_wmbus_new (const sl_wmbus_opts_t *opts, char *err, size_t errlen)
{
    sl_wmbus_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    if (opts)
        self->opts = *opts;
    self->sep = self->opts.separator ? self->opts.separator : ';';
    self->opts.csv_fields = NULL;
    if (opts && opts->csv_fields) {
        const char *p = opts->csv_fields;
        while (*p) {
            const char *c = strchr (p, ',');
            size_t n = c ? (size_t) (c - p) : strlen (p);
            if (n == 0 || self->npreset == MAX_COLS) {
                snprintf (err, errlen, "--csv-fields '%s': expected up to %d names separated by ','",
                          opts->csv_fields, MAX_COLS);
                sl_wmbus_destroy (&self);
                return NULL;
            }
            self->preset [self->npreset] = s_kind (p, n);
            self->preset_names [self->npreset] = sl_strndup (p, n);
            if (!self->preset_names [self->npreset++]) {
                snprintf (err, errlen, "out of memory");
                sl_wmbus_destroy (&self);
                return NULL;
            }
            p += n + (c ? 1 : 0);
        }
    }
    return self;
}

void
sl_wmbus_destroy (sl_wmbus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_wmbus_t *self = *self_p;
    s_free_names (self->preset_names, self->npreset);
    s_free_names (self->col_names, self->ncols);
    free (self);
    *self_p = NULL;
}

void
sl_wmbus_set_explain (sl_wmbus_t *self, sl_explain_t *explain)
{
    self->opts.explain = explain;
}

void
sl_wmbus_reset (sl_wmbus_t *self)
{
    s_free_names (self->col_names, self->ncols);
    self->ncols = 0;
    self->header_line = 0;
}

/*  The values of one reading before the registry join. */
typedef struct {
    const char *name; size_t name_len;
    const char *id;   size_t id_len;
    const char *media; size_t media_len;
    double total, target, maxf, minf;
    int has_total, has_target, has_max, has_min;
    int status_seen, alarm;
    char alarms [160];
    int64_t when;
    int has_when;
} s_reading_t;

#define ERR(code, col, ...) do { \
        int n_ = snprintf (err, errlen, "%s:%zu:%zu: ", source, lineno, (size_t) (col)); \
        if (n_ >= 0 && (size_t) n_ < errlen) \
            snprintf (err + n_, errlen - (size_t) n_, __VA_ARGS__); \
        rc = (code); goto out; } while (0)

/*  An optional string member `member` of `doc` into *text and *len (left alone
 *  when absent), explained as record field `field`. -1 if it is not a
 *  string. */
static int
s_json_text (const cJSON *doc, const char *member, const char *field, sl_explain_t *exp,
             const char **text, size_t *len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (doc, member);
    if (!v)
        return 0;
    if (!cJSON_IsString (v))
        return -1;
    *text = v->valuestring;
    *len = strlen (*text);
    char from [64];
    snprintf (from, sizeof from, "member '%s'", member);
    sl_explain_add (exp, field, from, "\"%s\"", *text);
    return 0;
}

/*  Takes one status/alarm value into the reading. */
static void
s_alarm (s_reading_t *r, const char *s, size_t len)
{
    r->status_seen = 1;
    if (len == 0 || (len == 2 && strncasecmp (s, "OK", 2) == 0)
     || (len == 8 && strncasecmp (s, "no_alarm", 8) == 0))
        return;
    r->alarm = 1;
    char t [64];
    snprintf (t, sizeof t, "%.*s", (int) (len < 63 ? len : 63), s);
    /* the same text from status and current_status is one alarm */
    size_t tl = strlen (t);
    if (tl == 0)                        /* a field starting with a NUL byte */
        return;
    for (const char *p = r->alarms; (p = strstr (p, t)); p += tl)
        if ((p == r->alarms || p [-1] == ' ') && (p [tl] == 0 || p [tl] == ' '))
            return;
    size_t n = strlen (r->alarms);
    snprintf (r->alarms + n, sizeof r->alarms - n, "%s%s", n ? " " : "", t);
}

/*  Reads a time value of kind `k`. Returns 0, or -1 with *why and the
 *  advice in hint (may stay ""). */
static int
s_when (const sl_wmbus_t *self, s_kind_t k, const char *s, size_t len, int64_t *out,
        size_t *bad, const char **why, char *hint, size_t hintlen)
{
    *bad = 0;
    if (k == K_TS_UT) {
        int64_t v = 0;
        if (len == 0 || len > 12) {
            *why = "expected Unix seconds";
            return -1;
        }
        for (size_t i = 0; i < len; i++) {
            if (s [i] < '0' || s [i] > '9') {
                *why = "expected Unix seconds";
                return -1;
            }
            v = v * 10 + (s [i] - '0');
        }
        *out = v;
        return 0;
    }
    int64_t civil;
    int32_t off;
    int has_zone;
    /* wmbusmeters' README and older releases write the seconds after a '.'
       ("2018-03-05 12:10.24", "2021-08-08T15:00.00Z"): read them as seconds */
    char fixed [40];
    if (len >= 19 && len < sizeof fixed && s [13] == ':' && s [16] == '.'
     && s [17] >= '0' && s [17] <= '9' && s [18] >= '0' && s [18] <= '9'
     && (len == 19 || s [19] == 'Z' || s [19] == '+' || s [19] == '-')) {
        memcpy (fixed, s, len);
        fixed [16] = ':';
        s = fixed;
    }
    if (sl_time_parse_iso8601_parts (s, len, &civil, &has_zone, &off, bad, why))
        return -1;
    if (has_zone) {
        *out = civil - off;
        return 0;
    }
    if (!self->opts.tz) {
        *why = "a local time without a zone (wmbusmeters writes the collector's local time here)";
        snprintf (hint, hintlen, "give --timezone ZONE, the IANA zone of the collector "
                  "(e.g. --timezone Europe/Stockholm)");
        return -1;
    }
    return sl_tz_to_utc (self->opts.tz, civil, -1, out, why) ? -1 : 0;
}

static const char *
s_tzname (const sl_wmbus_t *self)
{
    return self->opts.tz ? sl_tz_name (self->opts.tz) : "UTC";
}

/*  Joins with the registry and builds the record. `col` is where the meter
 *  id was found, for the unknown-meter error. */
static int
s_build (const sl_wmbus_t *self, const s_reading_t *r, size_t col, const char *source,
         size_t lineno, const sl_lookup_t *meters, Water__V1__MeterReading **out,
         char *err, size_t errlen)
{
    int rc = 0;
    Water__V1__MeterReading *m = NULL;
    sl_explain_t *ex = self->opts.explain;
    char buf [48];
    int c_subject = sl_lookup_column (meters, "citizen_id");
    int c_district = sl_lookup_column (meters, "district");
    if (c_subject < 0 || c_district < 0)
        ERR (SL_EINVAL, col, "meter registry lacks column 'citizen_id' or 'district'");
    const char *subject = sl_lookup_get (meters, r->id, r->id_len, c_subject);
    const char *district = sl_lookup_get (meters, r->id, r->id_len, c_district);
    if (!subject)
        ERR (SL_ENOTFOUND, col, "meter '%s' is not in the meter registry\n"
             "add a row for meter id '%s' to the meter registry (--meters)",
             sl_excerpt (r->id, r->id_len, buf, sizeof buf), sl_excerpt (r->id, r->id_len, buf, sizeof buf));
    sl_explain_add (ex, "subject, district", "meter registry row of the id", "%s, %s", subject, district);
    m = malloc (sizeof *m);
    if (!m)
        ERR (SL_ENOMEM, col, "out of memory");
    water__v1__meter_reading__init (m);
    char idbuf [160];
    snprintf (idbuf, sizeof idbuf, "%.*s:%" PRId64, (int) (r->id_len < 100 ? r->id_len : 100),
              r->id, r->when);
    m->id = strdup (idbuf);
    m->ref_device = sl_strndup (r->id, r->id_len);
    m->subject = strdup (subject);
    m->district = strdup (district);
    m->meter_name = sl_strndup (r->name ? r->name : "", r->name ? r->name_len : 0);
    m->media = sl_strndup (r->media ? r->media : "", r->media ? r->media_len : 0);
    m->alarms = strdup (r->alarms);
    m->date_observed = r->when;
    m->water_consumption_m3 = r->total;
    m->target_m3 = r->target;
    m->max_flow_m3h = r->maxf;
    m->min_flow_m3h = r->minf;
    m->alarm_in_progress = r->alarm;
    if (!m->id || !m->ref_device || !m->subject || !m->district || !m->meter_name
     || !m->media || !m->alarms)
        ERR (SL_ENOMEM, col, "out of memory");
    const char *absent [8];
    size_t na = 0;
    if (!r->name) absent [na++] = "meter_name";
    if (!r->media) absent [na++] = "media";
    if (!r->has_target) absent [na++] = "target_m3";
    if (!r->has_max) absent [na++] = "max_flow_m3h";
    if (!r->has_min) absent [na++] = "min_flow_m3h";
    if (!r->status_seen) absent [na++] = "alarm_in_progress";
    if (sl_explain_absent (ex, absent, na, "reading", &m->absent_fields, &m->n_absent_fields))
        ERR (SL_ENOMEM, col, "out of memory");
    *out = m;
    m = NULL;
out:
    if (m)
        water__v1__meter_reading__free_unpacked (m, NULL);
    return rc;
}

/*  Common checks once the values are collected. */
static int
s_finish (const sl_wmbus_t *self, s_reading_t *r, size_t idcol, const char *source, size_t lineno,
          char *err, size_t errlen)
{
    int rc = 0;
    char ex [48];
    if (r->media) {
        char med [32];
        snprintf (med, sizeof med, "%.*s", (int) (r->media_len < 31 ? r->media_len : 31), r->media);
        if (!sl_wmbus_is_water_media (med))
            ERR (SL_EPARSE, 1, "media '%s' is not a water medium (water, cold water, warm water, "
                 "hot water, hot/cold water, waste water)\n"
                 "feed this meter's readings to the adapter of its bureau, or leave it out of "
                 "the water collector's meter list", sl_excerpt (r->media, r->media_len, ex, sizeof ex));
    }
    (void) self;
    if (!r->id || r->id_len == 0)
        ERR (SL_EPARSE, idcol, "meter id ('id') missing or empty");
    if (!r->has_total)
        ERR (SL_EPARSE, 1, "meter total ('total_m3') missing: the reading has no volume\n"
             "select total_m3 in wmbusmeters' selectfields (and in --csv-fields)");
    if (!r->has_when)
        ERR (SL_EPARSE, 1, "no time ('timestamp', 'timestamp_utc', 'timestamp_ut' or 'timestamp_lt')\n"
             "select timestamp_utc (or timestamp with --timezone) in wmbusmeters' selectfields");
out:
    return rc;
}

static int
s_parse_json (const sl_wmbus_t *self, const char *line, size_t len, const char *source,
              size_t lineno, const sl_lookup_t *meters, Water__V1__MeterReading **out,
              char *err, size_t errlen)
{
    int rc = 0;
    const char *end = NULL;
    char ex [48];
    sl_explain_t *exp = self->opts.explain;
    cJSON *doc = cJSON_ParseWithLengthOpts (line, len, &end, 0);
    if (!doc) {
        size_t col = end && end >= line && end <= line + len ? (size_t) (end - line) + 1 : 1;
        ERR (SL_EPARSE, col, "invalid JSON");
    }
    /* Anything but blanks after the object is an error. */
    size_t rest = (size_t) (end - line);
    while (rest < len && (line [rest] == ' ' || line [rest] == '\t' || line [rest] == '\r'))
        rest++;
    if (rest < len)
        ERR (SL_EPARSE, rest + 1, "unexpected text after the JSON object");
    if (!cJSON_IsObject (doc))
        ERR (SL_EPARSE, 1, "expected a JSON object");
    sl_explain_note (exp, "%s:%zu: wmbusmeters JSON", source, lineno);

    s_reading_t r = { 0 };
    if (s_json_text (doc, "media", "media", exp, &r.media, &r.media_len) != 0)
        ERR (SL_EPARSE, 1, "member 'media': expected a string");
    cJSON *v = cJSON_GetObjectItemCaseSensitive (doc, "id");
    if (!cJSON_IsString (v) || !*v->valuestring)
        ERR (SL_EPARSE, 1, "member 'id': missing or not a non-empty string");
    r.id = v->valuestring;
    r.id_len = strlen (r.id);
    sl_explain_add (exp, "ref_device", "member 'id'", "\"%s\"", r.id);
    if (s_json_text (doc, "name", "meter_name", exp, &r.name, &r.name_len) != 0)
        ERR (SL_EPARSE, 1, "member 'name': expected a string");
    static const struct { const char *m, *field; s_kind_t k; } nums [] = {
        { "total_m3", "water_consumption_m3", K_TOTAL }, { "target_m3", "target_m3", K_TARGET },
        { "max_flow_m3h", "max_flow_m3h", K_MAXFLOW }, { "min_flow_m3h", "min_flow_m3h", K_MINFLOW },
    };
    for (size_t i = 0; i < 4; i++) {
        v = cJSON_GetObjectItemCaseSensitive (doc, nums [i].m);
        if (!v || cJSON_IsNull (v))
            continue;
        if (!cJSON_IsNumber (v))
            ERR (SL_EPARSE, 1, "member '%s': expected a number", nums [i].m);
        double x = v->valuedouble;
        if (nums [i].k == K_TOTAL || nums [i].k == K_TARGET) {
            if (x < 0)
                ERR (SL_EPARSE, 1, "member '%s': negative meter total %g", nums [i].m, x);
        }
        switch (nums [i].k) {
        case K_TOTAL: r.total = x; r.has_total = 1; break;
        case K_TARGET: r.target = x; r.has_target = 1; break;
        case K_MAXFLOW: r.maxf = x; r.has_max = 1; break;
        default: r.minf = x; r.has_min = 1; break;
        }
        char from [48];
        snprintf (from, sizeof from, "member '%s'", nums [i].m);
        sl_explain_add (exp, nums [i].field, from, "%.15g %s", x, i < 2 ? "m3" : "m3/h");
    }
    static const char *const alarms [] = { "status", "current_status", "current_alarms" };
    for (size_t i = 0; i < 3; i++) {
        v = cJSON_GetObjectItemCaseSensitive (doc, alarms [i]);
        if (!v || cJSON_IsNull (v))
            continue;
        if (!cJSON_IsString (v))
            ERR (SL_EPARSE, 1, "member '%s': expected a string", alarms [i]);
        s_alarm (&r, v->valuestring, strlen (v->valuestring));
        char from [48];
        snprintf (from, sizeof from, "member '%s'", alarms [i]);
        sl_explain_add (exp, "alarm_in_progress, alarms", from, "\"%s\"%s", v->valuestring,
                        r.alarm ? "" : " (no alarm)");
    }
    static const struct { const char *m; s_kind_t k; } times [] = {
        { "timestamp_utc", K_TS_UTC }, { "timestamp_ut", K_TS_UT },
        { "timestamp", K_TS }, { "timestamp_lt", K_TS_LT },
    };
    for (size_t i = 0; i < 4 && !r.has_when; i++) {
        v = cJSON_GetObjectItemCaseSensitive (doc, times [i].m);
        if (!v || cJSON_IsNull (v))
            continue;
        char num [32];
        const char *s;
        if (cJSON_IsNumber (v) && times [i].k == K_TS_UT) {
            snprintf (num, sizeof num, "%.0f", v->valuedouble);
            s = num;
        }
        else
        if (cJSON_IsString (v))
            s = v->valuestring;
        else
            ERR (SL_EPARSE, 1, "member '%s': expected a string", times [i].m);
        const char *why = "";
        char hint [160] = "";
        size_t bad;
        if (s_when (self, times [i].k, s, strlen (s), &r.when, &bad, &why, hint, sizeof hint))
            ERR (SL_EPARSE, 1, "member '%s': '%s': %s%s%s", times [i].m,
                 sl_excerpt (s, strlen (s), ex, sizeof ex), why, *hint ? "\n" : "", hint);
        r.has_when = 1;
        char from [48];
        snprintf (from, sizeof from, "member '%s'", times [i].m);
        sl_explain_add (exp, "date_observed", from, "\"%s\" -> %" PRId64 " (UTC; zone-less times in %s)",
                        s, r.when, s_tzname (self));
    }
    rc = s_finish (self, &r, 1, source, lineno, err, errlen);
    if (rc == 0)
        rc = s_build (self, &r, 1, source, lineno, meters, out, err, errlen);
out:
    cJSON_Delete (doc);
    return rc;
}

/*  True if every field is a plain field name and one of them is "id". */
static int
s_is_header (const char *const *f, const size_t *flen, size_t nf)
{
    int id = 0;
    for (size_t i = 0; i < nf; i++) {
        if (flen [i] == 0)
            return i == nf - 1 && nf > 1 ? id : 0;
        for (size_t k = 0; k < flen [i]; k++) {
            char c = f [i][k];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
                return 0;
        }
        id |= flen [i] == 2 && memcmp (f [i], "id", 2) == 0;
    }
    return id;
}

static int
s_parse_fields (sl_wmbus_t *self, const char *line, size_t len, const char *source,
                size_t lineno, const sl_lookup_t *meters, Water__V1__MeterReading **out,
                char *err, size_t errlen)
{
    int rc = 0;
    char ex [48];
    sl_explain_t *exp = self->opts.explain;
    const char *f [MAX_COLS + 1];
    size_t flen [MAX_COLS + 1], fcol [MAX_COLS + 1], nf = 0, start = 0;
    if (len && line [len - 1] == '\r')
        len--;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || line [i] == self->sep) {
            if (nf == MAX_COLS + 1)
                ERR (SL_EPARSE, i + 1, "more than %d fields", MAX_COLS);
            f [nf] = line + start;
            flen [nf] = i - start;
            fcol [nf] = start + 1;
            nf++;
            start = i + 1;
        }
    }
    if (s_is_header (f, flen, nf)) {
        sl_wmbus_reset (self);
        for (size_t i = 0; i < nf && flen [i]; i++) {
            self->cols [i] = s_kind (f [i], flen [i]);
            if (!(self->col_names [i] = sl_strndup (f [i], flen [i])))
                ERR (SL_ENOMEM, 1, "out of memory");
            self->ncols = i + 1;
        }
        self->header_line = lineno;
        sl_explain_note (exp, "%s:%zu: header line: columns found by these names", source, lineno);
        return 1;
    }
    const s_kind_t *cols = self->header_line ? self->cols : self->preset;
    char *const *names = self->header_line ? self->col_names : self->preset_names;
    size_t ncols = self->header_line ? self->ncols : self->npreset;
    if (ncols == 0) {
        char sep [2] = { self->sep, 0 };
        ERR (SL_EPARSE, 1, "a fields line without a header line: which column is which is not known\n"
             "give --csv-fields with the column names in order, the same list as wmbusmeters' "
             "selectfields (e.g. --csv-fields name,id,total_m3,target_m3,timestamp), or put a header "
             "line such as 'name%sid%stotal_m3%stimestamp' first", sep, sep, sep);
    }
    if (nf == ncols + 1 && flen [nf - 1] == 0)
        nf--;                           /* a trailing separator */
    if (nf != ncols)
        ERR (SL_EPARSE, len + 1, "expected %zu '%c'-separated fields (%s), found %zu", ncols, self->sep,
             self->header_line ? "as the header line says" : "as --csv-fields says", nf);
    sl_explain_note (exp, "%s:%zu: wmbusmeters fields line, columns from %s", source, lineno,
                     self->header_line ? "the header line" : "--csv-fields");
    s_reading_t r = { 0 };
    size_t idcol = 1;
    int best_ts = 99;                   /* rank of the time column used */
    size_t ts_col = 0;
    for (size_t i = 0; i < nf; i++) {
        char from [96];
        snprintf (from, sizeof from, "column %zu '%s'", i + 1, names [i]);
        double x;
        switch (cols [i]) {
        case K_NAME:
            r.name = f [i]; r.name_len = flen [i];
            sl_explain_add (exp, "meter_name", from, "\"%.*s\"", (int) flen [i], f [i]);
            break;
        case K_ID:
            r.id = f [i]; r.id_len = flen [i]; idcol = fcol [i];
            sl_explain_add (exp, "ref_device", from, "\"%.*s\"", (int) flen [i], f [i]);
            break;
        case K_MEDIA:
            r.media = f [i]; r.media_len = flen [i];
            sl_explain_add (exp, "media", from, "\"%.*s\"", (int) flen [i], f [i]);
            break;
        case K_TOTAL: case K_TARGET: case K_MAXFLOW: case K_MINFLOW: {
            if (flen [i] == 0)
                break;                  /* empty: absent */
            /* --format=hr writes the unit after the number: "6.408 m3", "0.02 m3/h" */
            const char *unit = cols [i] == K_TOTAL || cols [i] == K_TARGET ? " m3" : " m3/h";
            size_t ul = strlen (unit);
            if (flen [i] > ul && memcmp (f [i] + flen [i] - ul, unit, ul) == 0)
                flen [i] -= ul;
            if (sl_parse_double (f [i], flen [i], &x) || ((cols [i] == K_TOTAL || cols [i] == K_TARGET) && x < 0))
                ERR (SL_EPARSE, fcol [i], "field %zu (%s): expected a %snumber, found '%s'", i + 1, names [i],
                     cols [i] == K_TOTAL || cols [i] == K_TARGET ? "non-negative " : "",
                     sl_excerpt (f [i], flen [i], ex, sizeof ex));
            if (cols [i] == K_TOTAL) { r.total = x; r.has_total = 1; }
            else if (cols [i] == K_TARGET) { r.target = x; r.has_target = 1; }
            else if (cols [i] == K_MAXFLOW) { r.maxf = x; r.has_max = 1; }
            else { r.minf = x; r.has_min = 1; }
            sl_explain_add (exp, cols [i] == K_TOTAL ? "water_consumption_m3" : names [i], from, "%.15g %s",
                            x, cols [i] == K_TOTAL || cols [i] == K_TARGET ? "m3" : "m3/h");
            break;
        }
        case K_STATUS: case K_CURRENT_STATUS: case K_CURRENT_ALARMS:
            s_alarm (&r, f [i], flen [i]);
            sl_explain_add (exp, "alarm_in_progress, alarms", from, "\"%.*s\"", (int) flen [i], f [i]);
            break;
        case K_TS: case K_TS_LT: case K_TS_UTC: case K_TS_UT: {
            int rank = cols [i] == K_TS_UTC ? 0 : cols [i] == K_TS_UT ? 1 : cols [i] == K_TS ? 2 : 3;
            if (rank < best_ts) {
                best_ts = rank;
                ts_col = i;
            }
            break;
        }
        default:
            sl_explain_add (exp, "(not read)", from, "\"%.*s\"", (int) flen [i], f [i]);
            break;
        }
    }
    if (best_ts < 99) {
        size_t i = ts_col;
        const char *why = "";
        char hint [160] = "";
        size_t bad;
        if (s_when (self, cols [i], f [i], flen [i], &r.when, &bad, &why, hint, sizeof hint))
            ERR (SL_EPARSE, fcol [i] + bad, "field %zu (%s): '%s': %s%s%s", i + 1, names [i],
                 sl_excerpt (f [i], flen [i], ex, sizeof ex), why, *hint ? "\n" : "", hint);
        r.has_when = 1;
        char from [96];
        snprintf (from, sizeof from, "column %zu '%s'", i + 1, names [i]);
        sl_explain_add (exp, "date_observed", from, "\"%.*s\" -> %" PRId64 " (UTC; zone-less times in %s)",
                        (int) flen [i], f [i], r.when, s_tzname (self));
    }
    rc = s_finish (self, &r, idcol, source, lineno, err, errlen);
    if (rc == 0)
        rc = s_build (self, &r, idcol, source, lineno, meters, out, err, errlen);
out:
    return rc;
}

int
sl_wmbus_parse_line (sl_wmbus_t *self, const char *line, size_t len, const char *source,
                     size_t lineno, const sl_lookup_t *meters,
                     Water__V1__MeterReading **out, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < len && (line [i] == ' ' || line [i] == '\t' || line [i] == '\r'))
        i++;
    if (i == len || line [i] == '#')
        return 1;
    if (line [i] == '{' || line [i] == '[')
        return s_parse_json (self, line, len, source, lineno, meters, out, err, errlen);
    return s_parse_fields (self, line, len, source, lineno, meters, out, err, errlen);
}

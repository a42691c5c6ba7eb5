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

/*  The values of one reading before the registry join. */
typedef struct {
    const char *name; size_t name_len;
    const char *id;   size_t id_len;
    double total_m3, max_flow, min_flow;
    int64_t when;
    int alarm;
} s_reading_t;

#define ERR(code, col, ...) do { \
        int n_ = snprintf (err, errlen, "%s:%zu:%zu: ", source, lineno, (size_t) (col)); \
        if (n_ >= 0 && (size_t) n_ < errlen) \
            snprintf (err + n_, errlen - (size_t) n_, __VA_ARGS__); \
        rc = (code); goto out; } while (0)

/*  Joins with the registry and builds the record. `col` is where the meter
 *  id was found, for the unknown-meter error. */
static int
s_build (const s_reading_t *r, size_t col, const char *source, size_t lineno,
         const sl_registry_t *meters, Water__V1__MeterReading **out,
         char *err, size_t errlen)
{
    int rc = 0;
    Water__V1__MeterReading *m = NULL;
    char ex [48];
    int c_subject = sl_registry_column (meters, "citizen_id");
    int c_district = sl_registry_column (meters, "district");
    if (c_subject < 0 || c_district < 0)
        ERR (SL_EINVAL, col, "meter registry lacks column 'citizen_id' or 'district'");
    const char *subject = sl_registry_get (meters, r->id, r->id_len, c_subject);
    const char *district = sl_registry_get (meters, r->id, r->id_len, c_district);
    if (!subject)
        ERR (SL_ENOTFOUND, col, "meter '%s' is not in the meter registry",
             sl_excerpt (r->id, r->id_len, ex, sizeof ex));
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
    m->date_observed = r->when;
    m->water_consumption_m3 = r->total_m3;
    m->max_flow_m3h = r->max_flow;
    m->min_flow_m3h = r->min_flow;
    m->alarm_in_progress = r->alarm;
    if (!m->id || !m->ref_device || !m->subject || !m->district || !m->meter_name)
        ERR (SL_ENOMEM, col, "out of memory");
    *out = m;
    m = NULL;
out:
    if (m)
        water__v1__meter_reading__free_unpacked (m, NULL);
    return rc;
}

static int
s_parse_json (const char *line, size_t len, const char *source, size_t lineno,
              const sl_registry_t *meters, Water__V1__MeterReading **out,
              char *err, size_t errlen)
{
    int rc = 0;
    const char *end = NULL;
    char ex [48];
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

    s_reading_t r = { 0 };
    cJSON *v = cJSON_GetObjectItemCaseSensitive (doc, "media");
    if (v && !(cJSON_IsString (v) && strcmp (v->valuestring, "water") == 0))
        ERR (SL_EPARSE, 1, "member 'media': expected \"water\"");
    v = cJSON_GetObjectItemCaseSensitive (doc, "id");
    if (!cJSON_IsString (v) || !*v->valuestring)
        ERR (SL_EPARSE, 1, "member 'id': missing or not a non-empty string");
    r.id = v->valuestring;
    r.id_len = strlen (r.id);
    v = cJSON_GetObjectItemCaseSensitive (doc, "name");
    if (v && !cJSON_IsString (v))
        ERR (SL_EPARSE, 1, "member 'name': expected a string");
    if (v) {
        r.name = v->valuestring;
        r.name_len = strlen (r.name);
    }
    v = cJSON_GetObjectItemCaseSensitive (doc, "total_m3");
    if (!cJSON_IsNumber (v))
        ERR (SL_EPARSE, 1, "member 'total_m3': missing or not a number");
    if (v->valuedouble < 0)
        ERR (SL_EPARSE, 1, "member 'total_m3': negative meter total %g", v->valuedouble);
    r.total_m3 = v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive (doc, "max_flow_m3h");
    if (v && !cJSON_IsNumber (v))
        ERR (SL_EPARSE, 1, "member 'max_flow_m3h': expected a number");
    r.max_flow = v ? v->valuedouble : 0;
    v = cJSON_GetObjectItemCaseSensitive (doc, "min_flow_m3h");
    if (v && !cJSON_IsNumber (v))
        ERR (SL_EPARSE, 1, "member 'min_flow_m3h': expected a number");
    r.min_flow = v ? v->valuedouble : 0;
    v = cJSON_GetObjectItemCaseSensitive (doc, "current_status");
    if (v && !cJSON_IsString (v))
        ERR (SL_EPARSE, 1, "member 'current_status': expected a string");
    r.alarm = v && *v->valuestring && strcmp (v->valuestring, "OK") != 0;
    v = cJSON_GetObjectItemCaseSensitive (doc, "timestamp");
    if (!cJSON_IsString (v))
        ERR (SL_EPARSE, 1, "member 'timestamp': missing or not a string");
    size_t bad = 0;
    const char *why = "";
    if (sl_time_parse_iso8601 (v->valuestring, strlen (v->valuestring), &r.when, &bad, &why))
        ERR (SL_EPARSE, 1, "member 'timestamp': '%s': %s at offset %zu",
             sl_excerpt (v->valuestring, strlen (v->valuestring), ex, sizeof ex), why, bad);
    rc = s_build (&r, 1, source, lineno, meters, out, err, errlen);
out:
    cJSON_Delete (doc);
    return rc;
}

static int
s_parse_csv (const char *line, size_t len, const char *source, size_t lineno,
             const sl_registry_t *meters, Water__V1__MeterReading **out,
             char *err, size_t errlen)
{
    static const char *names [] = { "name", "id", "total_m3", "max_flow_m3h", "timestamp" };
    int rc = 0;
    char ex [48];
    const char *f [6];
    size_t flen [6], fcol [6], nf = 0, start = 0;
    if (len && line [len - 1] == '\r')
        len--;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || line [i] == ';') {
            if (nf == 4 && i < len)
                ERR (SL_EPARSE, i + 1, "expected 5 ';'-separated fields (name;id;total_m3;max_flow_m3h;timestamp), found more");
            f [nf] = line + start;
            flen [nf] = i - start;
            fcol [nf] = start + 1;
            nf++;
            start = i + 1;
        }
    }
    if (nf != 5)
        ERR (SL_EPARSE, len + 1, "expected 5 ';'-separated fields (name;id;total_m3;max_flow_m3h;timestamp), found %zu", nf);
    if (flen [0] == 4 && memcmp (f [0], "name", 4) == 0 && flen [1] == 2 && memcmp (f [1], "id", 2) == 0)
        return 1;                       /* header line */
    s_reading_t r = { 0 };
    r.name = f [0]; r.name_len = flen [0];
    r.id = f [1]; r.id_len = flen [1];
    if (r.id_len == 0)
        ERR (SL_EPARSE, fcol [1], "field 2 (id): empty meter id");
    if (sl_parse_double (f [2], flen [2], &r.total_m3) || r.total_m3 < 0)
        ERR (SL_EPARSE, fcol [2], "field 3 (%s): expected a non-negative number, found '%s'",
             names [2], sl_excerpt (f [2], flen [2], ex, sizeof ex));
    if (flen [3] && sl_parse_double (f [3], flen [3], &r.max_flow))
        ERR (SL_EPARSE, fcol [3], "field 4 (%s): expected a number, found '%s'",
             names [3], sl_excerpt (f [3], flen [3], ex, sizeof ex));
    size_t bad = 0;
    const char *why = "";
    if (sl_time_parse_iso8601 (f [4], flen [4], &r.when, &bad, &why))
        ERR (SL_EPARSE, fcol [4] + bad, "field 5 (timestamp): %s", why);
    rc = s_build (&r, fcol [1], source, lineno, meters, out, err, errlen);
out:
    return rc;
}

int
sl_wmbus_parse_line (const char *line, size_t len, const char *source,
                     size_t lineno, const sl_registry_t *meters,
                     Water__V1__MeterReading **out, char *err, size_t errlen)
{
    size_t i = 0;
    while (i < len && (line [i] == ' ' || line [i] == '\t' || line [i] == '\r'))
        i++;
    if (i == len || line [i] == '#')
        return 1;
    if (line [i] == '{' || line [i] == '[')
        return s_parse_json (line, len, source, lineno, meters, out, err, errlen);
    return s_parse_csv (line, len, source, lineno, meters, out, err, errlen);
}

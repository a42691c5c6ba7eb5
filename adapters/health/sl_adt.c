/*  sl_adt — see sl_adt.h for the mapping. */
#include "sl_adt.h"
#include "sl_hl7.h"
#include "sl_error.h"
#include "sl_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR(code, ...) do { \
        int n_ = snprintf (err, errlen, "%s: message %zu: ", source, msgno); \
        if (n_ >= 0 && (size_t) n_ < errlen) \
            snprintf (err + n_, errlen - (size_t) n_, __VA_ARGS__); \
        rc = (code); goto out; } while (0)

/*  Reads SEG-field.comp into buf; an over-long value is an error. */
#define GET(seg, field, rep, comp, sub, buf) do { \
        if (sl_hl7_get (m, (size_t) (seg), field, rep, comp, sub, buf, sizeof buf) < 0) \
            ERR (SL_EPARSE, "%s-%d (segment %ld): value longer than %zu bytes", \
                 sl_hl7_segment_name (m, (size_t) (seg)), field, (long) (seg) + 1, sizeof buf - 1); \
    } while (0)

#define TS_WANT "a timestamp YYYY[MM[DD[HH[MM[SS[.SSSS]]]]]][+/-ZZZZ]"

static char *
s_dup (const char *s)
{
    return strdup (s ? s : "");
}

/*  True if identifier type `t` is in the ',' list `types` ("NN*" matches
 *  any type starting with NN). */
static int
s_type_in (const char *t, const char *types)
{
    if (!*t)
        return 0;
    for (const char *p = types; *p; ) {
        const char *c = strchr (p, ',');
        size_t n = c ? (size_t) (c - p) : strlen (p);
        if (n && p [n - 1] == '*') {
            if (strncmp (t, p, n - 1) == 0 && strlen (t) > n - 1)
                return 1;
        }
        else
        if (strlen (t) == n && strncmp (t, p, n) == 0)
            return 1;
        p += n + (c ? 1 : 0);
    }
    return 0;
}

/*  Appends a name to a list of absent fields. */
static int
s_absent (char ***list, size_t *n, const char *name)
{
    char **nl = realloc (*list, (*n + 1) * sizeof *nl);
    if (!nl)
        return -1;
    *list = nl;
    if (!(nl [*n] = strdup (name)))
        return -1;
    (*n)++;
    return 0;
}

int
sl_adt_map (const char *msg, size_t len, const char *source, size_t msgno,
            const sl_adt_opts_t *opts, sl_adt_result_t *res,
            char *err, size_t errlen)
{
    static const sl_adt_opts_t defaults = SL_ADT_OPTS_DEFAULT;
    if (!opts)
        opts = &defaults;
    const char *types = opts->citizen_id_type && *opts->citizen_id_type ? opts->citizen_id_type : "NI,NN*,SS";
    sl_explain_t *exp = opts->explain;
    int rc = 0;
    char where [256], ex [48];
    char v [256], t [128];
    memset (res, 0, sizeof *res);
    Health__V1__Encounter *enc = NULL;
    snprintf (where, sizeof where, "%s: message %zu: ", source, msgno);
    sl_hl7_msg_t *m = sl_hl7_parse (msg, len, where, err, errlen);
    if (!m)
        return SL_EPARSE;

    char type [8], trig [8];
    GET (0, 9, 1, 1, 1, type);
    GET (0, 9, 1, 2, 1, trig);
    GET (0, 10, 1, 1, 1, res->control_id);
    snprintf (res->message_type, sizeof res->message_type, "%s^%s", type, trig);
    static const char *const adt_events [] = { "A01", "A02", "A03", "A04", "A08", "A11", "A13", NULL };
    int is_adt = 0;
    if (strcmp (type, "ADT") == 0)
        for (size_t k = 0; adt_events [k]; k++)
            is_adt |= strcmp (trig, adt_events [k]) == 0;
    int is_dft = strcmp (type, "DFT") == 0 && strcmp (trig, "P03") == 0;
    if (!is_adt && !is_dft)
        ERR (SL_EPARSE, "MSH-9 (segment 1): message type '%s' is not ADT^A01, A02, A03, A04, A08, A11, A13 or DFT^P03",
             sl_excerpt (res->message_type, strlen (res->message_type), ex, sizeof ex));
    sl_explain_note (exp, "%s: message %zu: %s, control id %s", source, msgno, res->message_type, res->control_id);
    char facility [128];
    GET (0, 4, 1, 1, 1, facility);
    sl_explain_add (exp, "service_provider", "MSH-4.1", "%s", facility);
    int64_t msh_time = 0;
    int have_msh_time = 0;
    GET (0, 7, 1, 1, 1, v);
    if (v [0] && sl_hl7_parse_ts_in (v, strlen (v), opts->tz, opts->default_offset_s, &msh_time, NULL) == 0)
        have_msh_time = 1;

    long pid = sl_hl7_find (m, "PID", 1);
    long pv1 = sl_hl7_find (m, "PV1", 1);
    long evn = sl_hl7_find (m, "EVN", 1);
    if (pid < 0)
        ERR (SL_EPARSE, "PID: segment missing");
    if (pv1 < 0 && is_adt)
        ERR (SL_EPARSE, "PV1: segment missing (the standard requires it in ADT^%s)", trig);

    /* subject: PID-3 by position, by assigning authority, or by type */
    char subject [128] = "";
    size_t nrep = sl_hl7_repetitions (m, (size_t) pid, 3);
    size_t chosen = 0;
    const char *how = "";
    if (opts->pid3_repetition > 0) {
        if ((size_t) opts->pid3_repetition <= nrep) {
            chosen = (size_t) opts->pid3_repetition;
            how = "position (--pid3-repetition)";
        }
    }
    else
    if (opts->pid3_authority && *opts->pid3_authority) {
        for (size_t r = 1; r <= nrep && !chosen; r++) {
            GET (pid, 3, r, 4, 1, t);
            GET (pid, 3, r, 4, 2, v);
            if (strcmp (t, opts->pid3_authority) == 0 || strcmp (v, opts->pid3_authority) == 0) {
                chosen = r;
                how = "assigning authority CX.4 (--pid3-authority)";
            }
        }
    }
    else
        for (size_t r = 1; r <= nrep && !chosen; r++) {
            GET (pid, 3, r, 5, 1, t);
            if (s_type_in (t, types)) {
                chosen = r;
                how = "identifier type CX.5 (--citizen-id-type)";
            }
        }
    if (chosen)
        GET (pid, 3, chosen, 1, 1, subject);
    if (!subject [0]) {
        /* say what is there and what would select it */
        char found [400] = "", hint [300] = "";
        for (size_t r = 1; r <= nrep && r <= 6; r++) {
            char id [64], auth [64], ty [32];
            GET (pid, 3, r, 1, 1, id);
            GET (pid, 3, r, 4, 1, auth);
            GET (pid, 3, r, 5, 1, ty);
            size_t n = strlen (found);
            snprintf (found + n, sizeof found - n, "%s#%zu %s (authority '%s', type '%s')",
                      r > 1 ? ", " : "", r, id, auth, ty);
            if (!hint [0] && id [0] && strcmp (ty, "MR") && strcmp (ty, "PI") && strcmp (ty, "AN")) {
                if (auth [0])
                    snprintf (hint, sizeof hint, "if repetition %zu is the citizen id, give --pid3-authority %s", r, auth);
                else
                if (ty [0])
                    snprintf (hint, sizeof hint, "if repetition %zu is the citizen id, give --citizen-id-type %s", r, ty);
                else
                    snprintf (hint, sizeof hint, "if repetition %zu is the citizen id, give --pid3-repetition %zu", r, r);
            }
        }
        if (!hint [0])
            snprintf (hint, sizeof hint, "the hospital must send the citizen id in PID-3; select it with "
                      "--pid3-authority, --citizen-id-type or --pid3-repetition");
        if (opts->pid3_repetition > 0)
            ERR (SL_EPARSE, "PID-3 (segment %ld): no repetition %d (found %s)\n%s", pid + 1,
                 opts->pid3_repetition, nrep ? found : "none", hint);
        if (opts->pid3_authority && *opts->pid3_authority)
            ERR (SL_EPARSE, "PID-3 (segment %ld): no identifier assigned by %s (found %s)\n%s", pid + 1,
                 opts->pid3_authority, nrep ? found : "none", hint);
        ERR (SL_EPARSE, "PID-3 (segment %ld): no identifier of type %s (citizen id) (found %s)\n%s",
             pid + 1, types, nrep ? found : "none", hint);
    }
    sl_explain_add (exp, "subject", "PID-3.1", "repetition %zu, chosen by %s: %s", chosen, how, subject);

    char visit [128] = "";
    int visit_from_msh = 0;
    if (pv1 >= 0)
        GET (pv1, 19, 1, 1, 1, visit);
    if (visit [0])
        sl_explain_add (exp, is_adt ? "id" : "context", "PV1-19.1 visit number", "%s", visit);
    else {
        GET (pid, 18, 1, 1, 1, visit);
        if (visit [0])
            sl_explain_add (exp, is_adt ? "id" : "context", "PID-18.1 account number (no PV1-19)", "%s", visit);
    }

    /* the event's time: EVN-6, else EVN-2, else MSH-7 */
    int64_t evn_time = msh_time;
    int have_evn_time = have_msh_time;
    const char *evn_from = "MSH-7";
    if (evn >= 0) {
        static const int f [2] = { 6, 2 };
        for (int k = 0; k < 2; k++) {
            GET (evn, f [k], 1, 1, 1, v);
            if (!v [0])
                continue;
            if (sl_hl7_parse_ts_in (v, strlen (v), opts->tz, opts->default_offset_s, &evn_time, NULL))
                ERR (SL_EPARSE, "EVN-%d (segment %ld): '%s' is not " TS_WANT,
                     f [k], evn + 1, sl_excerpt (v, strlen (v), ex, sizeof ex));
            have_evn_time = 1;
            evn_from = f [k] == 6 ? "EVN-6" : "EVN-2";
            break;
        }
    }
    const char *zone = opts->tz ? sl_tz_name (opts->tz) : "the default offset";

    if (is_adt) {
        enc = malloc (sizeof *enc);
        if (!enc)
            ERR (SL_ENOMEM, "out of memory");
        health__v1__encounter__init (enc);
        if (!visit [0]) {
            snprintf (visit, sizeof visit, "MSH-10:%.100s", res->control_id);
            visit_from_msh = 1;
            sl_explain_add (exp, "id", "MSH-10 (no PV1-19, no PID-18)", "%s, listed in absent_fields", visit);
        }
        enc->id = s_dup (visit);
        enc->subject = s_dup (subject);
        enc->trigger_event = s_dup (trig);
        enc->service_provider = s_dup (facility);
        GET (pv1, 44, 1, 1, 1, v);
        char v45 [64];
        GET (pv1, 45, 1, 1, 1, v45);
        const char *status = strcmp (trig, "A03") == 0 ? "finished"
                           : strcmp (trig, "A04") == 0 ? "arrived"
                           : strcmp (trig, "A11") == 0 ? "cancelled"
                           : strcmp (trig, "A08") == 0 ? (v45 [0] ? "finished" : v [0] ? "in-progress" : "unknown")
                           : "in-progress";
        enc->status = s_dup (status);
        sl_explain_add (exp, "status", "MSH-9.2 trigger", "%s -> %s", trig, status);
        GET (pv1, 2, 1, 1, 1, t);
        const char *cls = strcmp (t, "I") == 0 || strcmp (t, "B") == 0 ? "IMP"
                        : strcmp (t, "O") == 0 || strcmp (t, "R") == 0 ? "AMB"
                        : strcmp (t, "E") == 0 ? "EMER" : strcmp (t, "P") == 0 ? "PRENC"
                        : !t [0] || strcmp (t, "N") == 0 || strcmp (t, "U") == 0 ? "" : NULL;
        if (!cls)
            ERR (SL_EPARSE, "PV1-2 (segment %ld): patient class '%s' is not I, O, E, R, P, B, N or U",
                 pv1 + 1, sl_excerpt (t, strlen (t), ex, sizeof ex));
        enc->class_code = s_dup (cls);
        sl_explain_add (exp, "class_code", "PV1-2", "'%s' -> '%s'", t, cls);
        if (!*cls && s_absent (&enc->absent_fields, &enc->n_absent_fields, "class_code"))
            ERR (SL_ENOMEM, "out of memory");
        int start_evn = strcmp (trig, "A03") && strcmp (trig, "A11");
        if (v [0]) {
            if (sl_hl7_parse_ts_in (v, strlen (v), opts->tz, opts->default_offset_s, &enc->period_start, NULL))
                ERR (SL_EPARSE, "PV1-44 (segment %ld): '%s' is not " TS_WANT,
                     pv1 + 1, sl_excerpt (v, strlen (v), ex, sizeof ex));
            sl_explain_add (exp, "period_start", "PV1-44", "%s -> %" PRId64 " (zone-less in %s)", v, enc->period_start, zone);
        }
        else
        if (have_evn_time && start_evn) {
            enc->period_start = evn_time;
            sl_explain_add (exp, "period_start", evn_from, "%" PRId64 " (no PV1-44)", evn_time);
        }
        else {
            if (s_absent (&enc->absent_fields, &enc->n_absent_fields, "period_start"))
                ERR (SL_ENOMEM, "out of memory");
            sl_explain_add (exp, "period_start", "(no PV1-44)", "left 0, listed in absent_fields");
        }
        if (v45 [0] && strcmp (trig, "A13") != 0) {
            if (sl_hl7_parse_ts_in (v45, strlen (v45), opts->tz, opts->default_offset_s, &enc->period_end, NULL))
                ERR (SL_EPARSE, "PV1-45 (segment %ld): '%s' is not " TS_WANT,
                     pv1 + 1, sl_excerpt (v45, strlen (v45), ex, sizeof ex));
            sl_explain_add (exp, "period_end", "PV1-45", "%s -> %" PRId64, v45, enc->period_end);
        }
        else
        if (strcmp (trig, "A03") == 0) {
            if (!have_evn_time)
                ERR (SL_EPARSE, "PV1-45 (segment %ld): discharge time missing, and no EVN-6, EVN-2 or MSH-7", pv1 + 1);
            enc->period_end = evn_time;
            sl_explain_add (exp, "period_end", evn_from, "%" PRId64 " (no PV1-45)", evn_time);
        }
        if (enc->period_end && enc->period_start && enc->period_end < enc->period_start)
            ERR (SL_EPARSE, "PV1-45 (segment %ld): discharge before admission", pv1 + 1);
        /* location: point of care / room / bed */
        char loc [200] = "";
        for (int c = 1; c <= 3; c++) {
            GET (pv1, 3, 1, c, 1, t);
            if (!t [0])
                continue;
            if (loc [0])
                strncat (loc, "/", sizeof loc - strlen (loc) - 1);
            strncat (loc, t, sizeof loc - strlen (loc) - 1);
        }
        enc->location = s_dup (loc);
        sl_explain_add (exp, "location", "PV1-3.1/.2/.3", "%s", loc);
        GET (pv1, 36, 1, 1, 1, t);
        enc->discharge_disposition = s_dup (t);
        long pv2 = sl_hl7_find (m, "PV2", 1);
        if (pv2 >= 0) {
            GET (pv2, 3, 1, 1, 1, t);
            if (t [0]) {
                enc->reason_code = calloc (1, sizeof (char *));
                if (!enc->reason_code)
                    ERR (SL_ENOMEM, "out of memory");
                enc->reason_code [0] = s_dup (t);
                enc->n_reason_code = 1;
                sl_explain_add (exp, "reason_code", "PV2-3.1", "%s", t);
            }
        }
        for (long dg = sl_hl7_find (m, "DG1", 1); dg >= 0; dg = sl_hl7_find (m, "DG1", (size_t) dg + 1)) {
            GET (dg, 3, 1, 1, 1, t);
            if (!t [0])
                ERR (SL_EPARSE, "DG1-3 (segment %ld): diagnosis code missing", dg + 1);
            char **nd = realloc (enc->diagnosis, (enc->n_diagnosis + 1) * sizeof *nd);
            if (!nd)
                ERR (SL_ENOMEM, "out of memory");
            enc->diagnosis = nd;
            nd [enc->n_diagnosis++] = s_dup (t);
            sl_explain_add (exp, "diagnosis", "DG1-3.1", "%s", t);
        }
        if (visit_from_msh && s_absent (&enc->absent_fields, &enc->n_absent_fields, "id"))
            ERR (SL_ENOMEM, "out of memory");
        if (!enc->id || !enc->subject || !enc->status || !enc->class_code || !enc->trigger_event
         || !enc->service_provider || !enc->location || !enc->discharge_disposition)
            ERR (SL_ENOMEM, "out of memory");
        for (size_t k = 0; k < enc->n_diagnosis; k++)
            if (!enc->diagnosis [k])
                ERR (SL_ENOMEM, "out of memory");
        for (size_t k = 0; k < enc->n_reason_code; k++)
            if (!enc->reason_code [k])
                ERR (SL_ENOMEM, "out of memory");
        res->encounter = enc;
        enc = NULL;
    }
    else {
        long ft = sl_hl7_find (m, "FT1", 1);
        if (ft < 0)
            ERR (SL_EPARSE, "FT1: DFT^P03 without FT1 segments");
        for (; ft >= 0; ft = sl_hl7_find (m, "FT1", (size_t) ft + 1)) {
            Health__V1__Charge *c = malloc (sizeof *c);
            Health__V1__Charge **nc = c ? realloc (res->charges, (res->n_charges + 1) * sizeof *nc) : NULL;
            if (!nc) {
                free (c);
                ERR (SL_ENOMEM, "out of memory");
            }
            res->charges = nc;
            health__v1__charge__init (c);
            nc [res->n_charges++] = c;
            char id [128], setid [16];
            GET (ft, 2, 1, 1, 1, id);
            GET (ft, 1, 1, 1, 1, setid);
            if (!id [0]) {
                if (!res->control_id [0])
                    ERR (SL_EPARSE, "FT1-2 (segment %ld): no transaction id, and no MSH-10 to derive one from", ft + 1);
                if (setid [0])
                    snprintf (id, sizeof id, "%.60s-%s", res->control_id, setid);
                else            /* neither id: the FT1's place in the message */
                    snprintf (id, sizeof id, "%.60s-%zu", res->control_id, res->n_charges);
            }
            c->id = s_dup (id);
            c->subject = s_dup (subject);
            c->context = s_dup (visit);
            sl_explain_add (exp, "id", "FT1-2.1 (else MSH-10-FT1-1)", "%s", id);
            if (!visit [0] && s_absent (&c->absent_fields, &c->n_absent_fields, "context"))
                ERR (SL_ENOMEM, "out of memory");
            GET (ft, 7, 1, 1, 1, t);
            if (!t [0])
                ERR (SL_EPARSE, "FT1-7 (segment %ld): transaction code missing", ft + 1);
            c->code = s_dup (t);
            GET (ft, 7, 1, 2, 1, v);
            if (!v [0])
                GET (ft, 8, 1, 1, 1, v);
            c->code_display = s_dup (v);
            sl_explain_add (exp, "code, code_display", "FT1-7.1, FT1-7.2 (or FT1-8)", "%s, %s", t, v);
            GET (ft, 10, 1, 1, 1, t);
            c->quantity = 1;
            if (t [0] && sl_parse_double (t, strlen (t), &c->quantity))
                ERR (SL_EPARSE, "FT1-10 (segment %ld): quantity '%s' is not a number",
                     ft + 1, sl_excerpt (t, strlen (t), ex, sizeof ex));
            sl_explain_add (exp, "quantity", "FT1-10", "%g%s", c->quantity, t [0] ? "" : " (empty: 1)");
            GET (ft, 11, 1, 1, 1, t);
            GET (ft, 11, 1, 1, 2, v);
            if (t [0]) {
                if (sl_parse_double (t, strlen (t), &c->price_override))
                    ERR (SL_EPARSE, "FT1-11 (segment %ld): extended amount '%s' is not a number",
                         ft + 1, sl_excerpt (t, strlen (t), ex, sizeof ex));
                sl_explain_add (exp, "price_override", "FT1-11.1.1 extended amount", "%s", t);
            }
            else {
                GET (ft, 12, 1, 1, 1, t);
                GET (ft, 12, 1, 1, 2, v);
                if (t [0]) {
                    double unit;
                    if (sl_parse_double (t, strlen (t), &unit))
                        ERR (SL_EPARSE, "FT1-12 (segment %ld): unit amount '%s' is not a number",
                             ft + 1, sl_excerpt (t, strlen (t), ex, sizeof ex));
                    c->price_override = unit * c->quantity;
                    sl_explain_add (exp, "price_override", "FT1-12.1.1 unit amount x FT1-10", "%s x %g", t, c->quantity);
                }
                else {
                    if (s_absent (&c->absent_fields, &c->n_absent_fields, "price_override"))
                        ERR (SL_ENOMEM, "out of memory");
                    sl_explain_add (exp, "price_override", "(no FT1-11, no FT1-12)", "left 0, listed in absent_fields");
                }
            }
            c->currency = s_dup (v [0] ? v : opts->currency);
            GET (ft, 4, 1, 1, 1, v);
            const char *tfrom = "FT1-4";
            if (!v [0]) {
                GET (ft, 5, 1, 1, 1, v);
                tfrom = "FT1-5 posting date (no FT1-4)";
            }
            if (v [0]) {
                if (sl_hl7_parse_ts_in (v, strlen (v), opts->tz, opts->default_offset_s, &c->occurrence_time, NULL))
                    ERR (SL_EPARSE, "%s (segment %ld): '%s' is not " TS_WANT, tfrom [4] == '4' ? "FT1-4" : "FT1-5",
                         ft + 1, sl_excerpt (v, strlen (v), ex, sizeof ex));
                sl_explain_add (exp, "occurrence_time", tfrom, "%s -> %" PRId64 " (zone-less in %s)", v,
                                c->occurrence_time, zone);
            }
            else
            if (have_msh_time) {
                c->occurrence_time = msh_time;
                sl_explain_add (exp, "occurrence_time", "MSH-7 (no FT1-4, FT1-5)", "%" PRId64, msh_time);
            }
            else
                ERR (SL_EPARSE, "FT1-4 (segment %ld): transaction date missing, and no FT1-5 or MSH-7", ft + 1);
            GET (ft, 20, 1, 1, 1, t);
            c->performer = s_dup (t);
            if (!c->id || !c->subject || !c->context || !c->code || !c->code_display
             || !c->currency || !c->performer)
                ERR (SL_ENOMEM, "out of memory");
        }
    }
out:
    if (enc)
        health__v1__encounter__free_unpacked (enc, NULL);
    if (rc) {
        char mt [16], cid [64];
        memcpy (mt, res->message_type, sizeof mt);
        memcpy (cid, res->control_id, sizeof cid);
        sl_adt_result_clear (res);
        memcpy (res->message_type, mt, sizeof mt);
        memcpy (res->control_id, cid, sizeof cid);
    }
    sl_hl7_destroy (&m);
    return rc;
}

void
sl_adt_result_clear (sl_adt_result_t *res)
{
    if (res->encounter)
        health__v1__encounter__free_unpacked (res->encounter, NULL);
    for (size_t i = 0; i < res->n_charges; i++)
        health__v1__charge__free_unpacked (res->charges [i], NULL);
    free (res->charges);
    memset (res, 0, sizeof *res);
}

/*  sl_adt — see sl_adt.h for the mapping. */
#include "sl_adt.h"
#include "sl_hl7.h"
#include "sl_error.h"
#include "sl_text.h"

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

static char *
s_dup (const char *s)
{
    return strdup (s ? s : "");
}

int
sl_adt_map (const char *msg, size_t len, const char *source, size_t msgno,
            const sl_adt_opts_t *opts, sl_adt_result_t *res,
            char *err, size_t errlen)
{
    static const sl_adt_opts_t defaults = SL_ADT_OPTS_DEFAULT;
    if (!opts)
        opts = &defaults;
    int rc = 0;
    char where [256], ex [48];
    char v [256], t [64];
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
    int is_adt = strcmp (type, "ADT") == 0;
    int is_dft = strcmp (type, "DFT") == 0 && strcmp (trig, "P03") == 0;
    if (is_adt && strcmp (trig, "A01") && strcmp (trig, "A03") && strcmp (trig, "A04"))
        is_adt = 0;
    if (!is_adt && !is_dft)
        ERR (SL_EPARSE, "MSH-9 (segment 1): message type '%s' is not ADT^A01, ADT^A03, ADT^A04 or DFT^P03",
             sl_excerpt (res->message_type, strlen (res->message_type), ex, sizeof ex));
    char facility [128];
    GET (0, 4, 1, 1, 1, facility);

    long pid = sl_hl7_find (m, "PID", 1);
    long pv1 = sl_hl7_find (m, "PV1", 1);
    long evn = sl_hl7_find (m, "EVN", 1);
    if (pid < 0)
        ERR (SL_EPARSE, "PID: segment missing");
    if (pv1 < 0)
        ERR (SL_EPARSE, "PV1: segment missing");

    /* subject: the PID-3 repetition of the citizen id type */
    char subject [128] = "";
    size_t nrep = sl_hl7_repetitions (m, (size_t) pid, 3);
    for (size_t r = 1; r <= nrep && !subject [0]; r++) {
        GET (pid, 3, r, 5, 1, t);
        if (strcmp (t, opts->citizen_id_type) == 0)
            GET (pid, 3, r, 1, 1, subject);
    }
    if (!subject [0])
        ERR (SL_EPARSE, "PID-3 (segment %ld): no identifier of type %s (citizen id)",
             pid + 1, opts->citizen_id_type);
    char visit [128];
    GET (pv1, 19, 1, 1, 1, visit);
    if (!visit [0])
        ERR (SL_EPARSE, "PV1-19 (segment %ld): visit number missing", pv1 + 1);

    /* times: PV1-44 / PV1-45, with EVN-6 then EVN-2 as the event's time */
    int64_t evn_time = 0;
    int have_evn_time = 0;
    if (evn >= 0) {
        static const int f [2] = { 6, 2 };
        for (int k = 0; k < 2 && !have_evn_time; k++) {
            GET (evn, f [k], 1, 1, 1, v);
            if (!v [0])
                continue;
            if (sl_hl7_parse_ts (v, strlen (v), opts->default_offset_s, &evn_time))
                ERR (SL_EPARSE, "EVN-%d (segment %ld): '%s' is not a timestamp YYYYMMDDHHMM[SS][+ZZZZ]",
                     f [k], evn + 1, sl_excerpt (v, strlen (v), ex, sizeof ex));
            have_evn_time = 1;
        }
    }

    if (is_adt) {
        enc = malloc (sizeof *enc);
        if (!enc)
            ERR (SL_ENOMEM, "out of memory");
        health__v1__encounter__init (enc);
        enc->id = s_dup (visit);
        enc->subject = s_dup (subject);
        enc->trigger_event = s_dup (trig);
        enc->service_provider = s_dup (facility);
        enc->status = s_dup (strcmp (trig, "A01") == 0 ? "in-progress"
                           : strcmp (trig, "A03") == 0 ? "finished" : "arrived");
        GET (pv1, 2, 1, 1, 1, t);
        const char *cls = strcmp (t, "I") == 0 ? "IMP" : strcmp (t, "O") == 0 ? "AMB"
                        : strcmp (t, "E") == 0 ? "EMER" : strcmp (t, "R") == 0 ? "AMB"
                        : strcmp (t, "P") == 0 ? "PRENC" : NULL;
        if (!cls)
            ERR (SL_EPARSE, "PV1-2 (segment %ld): patient class '%s' is not I, O, E, R or P",
                 pv1 + 1, sl_excerpt (t, strlen (t), ex, sizeof ex));
        enc->class_code = s_dup (cls);
        GET (pv1, 44, 1, 1, 1, v);
        if (v [0]) {
            if (sl_hl7_parse_ts (v, strlen (v), opts->default_offset_s, &enc->period_start))
                ERR (SL_EPARSE, "PV1-44 (segment %ld): '%s' is not a timestamp YYYYMMDDHHMM[SS][+ZZZZ]",
                     pv1 + 1, sl_excerpt (v, strlen (v), ex, sizeof ex));
        }
        else
        if (have_evn_time && strcmp (trig, "A03") != 0)
            enc->period_start = evn_time;
        else
            ERR (SL_EPARSE, "PV1-44 (segment %ld): admit time missing", pv1 + 1);
        GET (pv1, 45, 1, 1, 1, v);
        if (v [0]) {
            if (sl_hl7_parse_ts (v, strlen (v), opts->default_offset_s, &enc->period_end))
                ERR (SL_EPARSE, "PV1-45 (segment %ld): '%s' is not a timestamp YYYYMMDDHHMM[SS][+ZZZZ]",
                     pv1 + 1, sl_excerpt (v, strlen (v), ex, sizeof ex));
        }
        else
        if (strcmp (trig, "A03") == 0) {
            if (!have_evn_time)
                ERR (SL_EPARSE, "PV1-45 (segment %ld): discharge time missing", pv1 + 1);
            enc->period_end = evn_time;
        }
        if (enc->period_end && enc->period_end < enc->period_start)
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
        }
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
                if (!setid [0])
                    ERR (SL_EPARSE, "FT1-2 (segment %ld): transaction id and set id both missing", ft + 1);
                snprintf (id, sizeof id, "%.60s-%s", res->control_id, setid);
            }
            c->id = s_dup (id);
            c->subject = s_dup (subject);
            c->context = s_dup (visit);
            GET (ft, 7, 1, 1, 1, t);
            if (!t [0])
                ERR (SL_EPARSE, "FT1-7 (segment %ld): transaction code missing", ft + 1);
            c->code = s_dup (t);
            GET (ft, 7, 1, 2, 1, v);
            if (!v [0])
                GET (ft, 8, 1, 1, 1, v);
            c->code_display = s_dup (v);
            GET (ft, 10, 1, 1, 1, t);
            c->quantity = 1;
            if (t [0] && sl_parse_double (t, strlen (t), &c->quantity))
                ERR (SL_EPARSE, "FT1-10 (segment %ld): quantity '%s' is not a number",
                     ft + 1, sl_excerpt (t, strlen (t), ex, sizeof ex));
            GET (ft, 11, 1, 1, 1, t);
            if (!t [0] || sl_parse_double (t, strlen (t), &c->price_override))
                ERR (SL_EPARSE, "FT1-11 (segment %ld): extended amount '%s' is not a number",
                     ft + 1, sl_excerpt (t, strlen (t), ex, sizeof ex));
            GET (ft, 11, 1, 1, 2, t);
            c->currency = s_dup (t [0] ? t : opts->currency);
            GET (ft, 4, 1, 1, 1, v);
            if (!v [0])
                ERR (SL_EPARSE, "FT1-4 (segment %ld): transaction date missing", ft + 1);
            if (sl_hl7_parse_ts (v, strlen (v), opts->default_offset_s, &c->occurrence_time))
                ERR (SL_EPARSE, "FT1-4 (segment %ld): '%s' is not a timestamp YYYYMMDDHHMM[SS][+ZZZZ]",
                     ft + 1, sl_excerpt (v, strlen (v), ex, sizeof ex));
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

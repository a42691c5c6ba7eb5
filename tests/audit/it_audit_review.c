/*  Audit review over the whole history, on the real sluiced: a person's
 *  report is the same after `audit archive` as before it; looking a person
 *  up is itself audited; rows a `where` leaves out are counted as
 *  "filtered", not denied one by one; export in CSV round-trips against
 *  JSON lines with integer times (and the independent verifier accepts the
 *  export); mistyped filters are refused with "did you mean".
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "water/v1/water.pb-c.h"



static tb_t tb;
static char water_key[320], power_key[320], auditor_key[320];
static char out[1 << 20];

static void
s_setup (void)
{
    /* readings of at least 10 m3 leave; smaller ones are filtered by design */
    tb_scene (&tb, water_key, power_key, TL_CITY,
              TL_PERMIT ("water-to-power", "district, date_observed, water_consumption_m3", "pseudonymize",
                         "  where water_consumption_m3 >= 10\n"));
    tb_member (&tb, "auditor", "auditor", auditor_key);
}

static void
s_teardown (void)
{
    tb_cleanup (&tb);
}

TestSuite (audit_review, .init = s_setup, .fini = s_teardown, .timeout = 120);

static int
s_ctl (const char *key, const char *args)
{
    return tb_ctl (&tb, key, args, out, sizeof out);
}

static const char *
s_subject (int i)
{
    static char subj[32];
    snprintf (subj, sizeof subj, i % 10 == 0 ? "C-7" : "C-%d", i);
    return subj;
}

/*  Publishes n readings with consumption i (i = 0..n-1); subject C-7 for
 *  every 10th, else C-<i>. Power subscribes first. */
static void
s_publish (int n)
{
    sl_client_t *p = tb_publish_readings (&tb, water_key, power_key, n, s_subject);
    sl_client_destroy (&p, 1000);
}

/*  The JSON lines of `text` whose kind is not `skip`, as "seq kind hash"
 *  lines (what identifies an entry), into buf. Returns how many. */
static int
s_entries (const char *text, const char *skip, char *buf, size_t cap)
{
    int n = 0;
    size_t len = 0;
    buf[0] = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr (p, '\n');
        size_t l = nl ? (size_t) (nl - p) : strlen (p);
        if (*p == '{') {
            cJSON *o = cJSON_ParseWithLength (p, l);
            const char *kind = cJSON_GetStringValue (cJSON_GetObjectItem (o, "kind"));
            if (o && kind && strcmp (kind, skip) != 0) {
                len += (size_t) snprintf (buf + len, cap - len, "%.0f %s %s\n",
                                          cJSON_GetNumberValue (cJSON_GetObjectItem (o, "seq")), kind,
                                          cJSON_GetStringValue (cJSON_GetObjectItem (o, "hash")));
                n++;
            }
            cJSON_Delete (o);
        }
        p += l + (nl ? 1 : 0);
    }
    return n;
}

Test (audit_review, report_after_archive_equals_report_before)
{
    s_publish (40);
    static char before[1 << 16], after[1 << 16], offline[1 << 16];
    cr_assert_eq (s_ctl (auditor_key, "--json audit report --subject C-7"), 0, "%s", out);
    int n = s_entries (out, "lookup", before, sizeof before);
    /* 4 readings of C-7: 4 publishes; the three of >= 10 m3 were queued */
    cr_assert_geq (n, 7, "%s", out);

    char args[800];
    snprintf (args, sizeof args, "mkdir -p '%s/archive'", tb.dir);
    cr_assert_eq (tb_run (args, NULL, 0), 0);
    snprintf (args, sizeof args, "audit archive --before 2099-01-01 --out '%s/archive'", tb.dir);
    cr_assert_eq (s_ctl (tb.admin_key, args), 0, "%s", out);
    cr_assert (strstr (out, "archived "), "%s", out);

    /* online: the same disclosures, and a plain word about the archive */
    cr_assert_eq (s_ctl (auditor_key, "--json audit report --subject C-7"), 0, "%s", out);
    cr_assert_eq (s_entries (out, "lookup", after, sizeof after), n, "%s", out);
    cr_assert_str_eq (after, before);
    cr_assert (strstr (out, "note: entries 1.."), "%s", out);
    cr_assert (strstr (out, "are archived; read from 1 segment file"), "%s", out);
    /* the table form says it too */
    cr_assert_eq (s_ctl (auditor_key, "audit report --subject C-7"), 0, "%s", out);
    cr_assert (strstr (out, "note: entries 1.."), "%s", out);

    /* offline, from the data directory */
    cr_assert_eq (tb_stop (&tb), 0);
    char cmd[2048];
    snprintf (cmd, sizeof cmd, "'%s' --data '%s/data' --json audit report --subject C-7 2>/dev/null",
              tb_program ("SLUICECTL"), tb.dir);
    cr_assert_eq (tb_run (cmd, out, sizeof out), 0, "%s", out);
    s_entries (out, "lookup", offline, sizeof offline);
    cr_assert_str_eq (offline, before);
    /* the summary of the whole history: 36 queued, 4 filtered... per the data */
    snprintf (cmd, sizeof cmd, "'%s' --data '%s/data' --json audit summary --owner water 2>/dev/null",
              tb_program ("SLUICECTL"), tb.dir);
    cr_assert_eq (tb_run (cmd, out, sizeof out), 0, "%s", out);
    cJSON *rows = cJSON_Parse (out);
    cr_assert_not_null (rows, "%s", out);
    double queued = 0, filtered = 0;
    const cJSON *r;
    cJSON_ArrayForEach (r, rows) {
        const char *k = cJSON_GetStringValue (cJSON_GetObjectItem (r, "kind"));
        double c = cJSON_GetNumberValue (cJSON_GetObjectItem (r, "count"));
        if (!strcmp (k, "queue"))
            queued += c;
        if (!strcmp (k, "filtered"))
            filtered += c;
    }
    cJSON_Delete (rows);
    cr_assert_eq (queued, 30);
    cr_assert_eq (filtered, 10);
}

/*  Two archives into two directories: the second moves the first's
 *  archive entry into its segment; review follows it to the first. */
Test (audit_review, history_follows_archives_across_directories)
{
    char args[800];
    static char before[1 << 16], after[1 << 16];
    s_publish (20);
    for (int k = 1; k <= 2; k++) {
        snprintf (args, sizeof args, "mkdir -p '%s/a%d'", tb.dir, k);
        cr_assert_eq (tb_run (args, NULL, 0), 0);
    }
    snprintf (args, sizeof args, "audit archive --before 2099-01-01 --out '%s/a1'", tb.dir);
    cr_assert_eq (s_ctl (tb.admin_key, args), 0, "%s", out);
    s_publish (20);
    cr_assert_eq (s_ctl (auditor_key, "--json audit report --subject C-7"), 0, "%s", out);
    int n = s_entries (out, "lookup", before, sizeof before);
    cr_assert_geq (n, 8, "%s", out);
    snprintf (args, sizeof args, "audit archive --before 2099-01-01 --out '%s/a2'", tb.dir);
    cr_assert_eq (s_ctl (tb.admin_key, args), 0, "%s", out);
    cr_assert_eq (s_ctl (auditor_key, "--json audit report --subject C-7"), 0, "%s", out);
    s_entries (out, "lookup", after, sizeof after);
    cr_assert_str_eq (after, before);
    cr_assert (strstr (out, "are archived; read from 2 segment files"), "%s", out);
    /* a segment taken away: said plainly, not silently shorter */
    snprintf (args, sizeof args, "mv '%s/a1' '%s/gone'", tb.dir, tb.dir);
    cr_assert_eq (tb_run (args, NULL, 0), 0);
    cr_assert_eq (s_ctl (auditor_key, "audit report --subject C-7"), 0, "%s", out);
    cr_assert (strstr (out, "are archived and NOT included: their segment files were not found"),
               "%s", out);
}

Test (audit_review, lookups_are_audited)
{
    s_publish (3);
    cr_assert_eq (s_ctl (auditor_key, "audit report --subject C-7"), 0, "%s", out);
    cr_assert_eq (s_ctl (auditor_key, "audit query --subject C-1"), 0, "%s", out);
    cr_assert_eq (s_ctl (tb.admin_key, "consent list --subject C-2"), 0, "%s", out);
    cr_assert_eq (s_ctl (auditor_key, "--json audit query --kind lookup"), 0, "%s", out);
    cr_assert (strstr (out, "\"actor\":\"auditor\"") && strstr (out, "command=audit.report role=auditor"),
               "%s", out);
    cr_assert (strstr (out, "command=audit.query role=auditor"), "%s", out);
    cr_assert (strstr (out, "command=consent.list role=admin:city"), "%s", out);
    /* the entries name the person by pseudonym only */
    cr_assert_null (strstr (out, "C-7"));
    /* and the person's own report shows who looked them up */
    cr_assert_eq (s_ctl (auditor_key, "audit report --subject C-7"), 0, "%s", out);
    cr_assert (strstr (out, "lookup"), "%s", out);
    /* the independent verifier checks the lookup entries' documented shape */
    char args[1200];
    snprintf (args, sizeof args, "audit export --since 1970-01-01 --out '%s/l.jsonl'", tb.dir);
    cr_assert_eq (s_ctl (auditor_key, args), 0, "%s", out);
    snprintf (args, sizeof args, "'%s' '%s' --export '%s/l.jsonl' --pubkey-file '%s/data/audit-sign.pub' 2>&1",
              getenv ("PYTHON3"), getenv ("VERIFY_AUDIT_PY"), tb.dir, tb.dir);
    cr_assert_eq (tb_run (args, out, sizeof out), 0, "%s", out);
    cr_assert (strncmp (out, "ok entries=", 11) == 0, "%s", out);
}

Test (audit_review, rows_left_out_by_where_are_filtered_not_denied)
{
    s_publish (30);
    cr_assert_eq (s_ctl (auditor_key, "--json audit query --kind deny"), 0, "%s", out);
    cr_assert_null (strstr (out, "\"kind\""), "no deny for rows filtered by design: %s", out);
    cr_assert_eq (s_ctl (auditor_key, "--json audit query --kind filtered"), 0, "%s", out);
    /* one entry per publish batch: fewer entries than rows, rows add up */
    int entries = 0;
    unsigned long rows = 0;
    for (const char *p = out; (p = strstr (p, "\"detail\":\"rows=")); p++) {
        rows += strtoul (p + 15, NULL, 10);
        entries++;
    }
    cr_assert_eq (rows, 10, "%s", out);
    cr_assert_lt (entries, 10, "%s", out);
    cr_assert (strstr (out, "\"decision\":\"filtered\"") && strstr (out, "\"reason\":\"condition-false\""),
               "%s", out);
    cr_assert_eq (s_ctl (auditor_key, "audit summary --owner water"), 0, "%s", out);
    cr_assert (strstr (out, "\nfiltered") && strstr (out, "water/water-to-power@1"), "%s", out);
}

/*  Splits one CSV record (RFC 4180) at *p into fields; advances *p past its
 *  CRLF. Returns the number of fields. */
static int
s_csv_record (const char **p, char fields[][4096], int max)
{
    int n = 0;
    const char *s = *p;
    for (;;) {
        char *f = fields[n];
        size_t l = 0;
        if (*s == '"') {
            for (s++; *s && !(*s == '"' && s[1] != '"'); s++) {
                if (*s == '"')
                    s++;
                if (l < 4095)
                    f[l++] = *s;
            }
            if (*s == '"')
                s++;
        }
        else
            while (*s && *s != ',' && *s != '\r' && *s != '\n')
                if (l < 4095)
                    f[l++] = *s++;
                else
                    s++;
        f[l] = 0;
        n++;
        if (*s == ',' && n < max) {
            s++;
            continue;
        }
        break;
    }
    if (*s == '\r')
        s++;
    if (*s == '\n')
        s++;
    *p = s;
    return n;
}

Test (audit_review, csv_export_round_trips_with_integer_times)
{
    s_publish (25);
    static char csv[1 << 20], jsonl[1 << 20];
    char args[1200];
    snprintf (args, sizeof args, "audit export --since 1970-01-01 --format csv --out '%s/x.csv'", tb.dir);
    cr_assert_eq (s_ctl (auditor_key, args), 0, "%s", out);
    snprintf (args, sizeof args, "audit export --since 1970-01-01 --format jsonl --out '%s/x.jsonl'",
              tb.dir);
    cr_assert_eq (s_ctl (auditor_key, args), 0, "%s", out);
    snprintf (args, sizeof args, "cat '%s/x.csv'", tb.dir);
    tb_run (args, csv, sizeof csv);
    snprintf (args, sizeof args, "cat '%s/x.jsonl'", tb.dir);
    tb_run (args, jsonl, sizeof jsonl);
    /* every integer is digits: no exponent form anywhere */
    cr_assert_null (strstr (jsonl, "e+"), "%s", jsonl);
    cr_assert_null (strstr (csv, "e+"));

    static char fields[24][4096], header[24][4096];
    const char *c = csv;
    int nh = s_csv_record (&c, header, 24);
    cr_assert_eq (nh, 21);
    cr_assert_str_eq (header[0], "type");
    cr_assert_str_eq (header[2], "time_us");
    int rows = 0;
    for (const char *j = jsonl; *j;) {
        const char *nl = strchr (j, '\n');
        size_t l = nl ? (size_t) (nl - j) : strlen (j);
        cJSON *o = cJSON_ParseWithLength (j, l);
        cr_assert_not_null (o, "%.*s", (int) l, j);
        cr_assert (*c, "CSV has fewer rows than JSONL");
        int nf = s_csv_record (&c, fields, 24);
        cr_assert_eq (nf, 21);
        for (int i = 0; i < nh; i++) {
            const cJSON *v = cJSON_GetObjectItem (o, header[i]);
            char want[4200] = "";
            if (cJSON_IsString (v))
                snprintf (want, sizeof want, "%s", v->valuestring);
            else if (cJSON_IsNumber (v)) {
                /* the JSONL integer as written, digit for digit */
                const char *k = strstr (j, header[i]);
                cr_assert_not_null (k);
                snprintf (want, sizeof want, "%.*s", (int) strspn (k + strlen (header[i]) + 2,
                          "0123456789"), k + strlen (header[i]) + 2);
                cr_assert_gt (strlen (want), 0, "%s is not an integer in %.*s", header[i], (int) l, j);
            }
            cr_assert_str_eq (fields[i], want, "row %d column %s", rows + 1, header[i]);
        }
        cJSON_Delete (o);
        rows++;
        j += l + (nl ? 1 : 0);
    }
    cr_assert_eq (*c, 0, "CSV has more rows than JSONL");
    cr_assert_gt (rows, 25);

    /* the independent verifier accepts the export, new kinds included */
    snprintf (args, sizeof args, "'%s' '%s' --export '%s/x.jsonl' --pubkey-file '%s/data/audit-sign.pub' 2>&1",
              getenv ("PYTHON3"), getenv ("VERIFY_AUDIT_PY"), tb.dir, tb.dir);
    int vrc = tb_run (args, out, sizeof out);
    cr_assert_eq (vrc, 0, "%s: %s", args, out);
    cr_assert (strncmp (out, "ok entries=", 11) == 0, "%s", out);
}

Test (audit_review, mistyped_filters_are_refused_with_did_you_mean)
{
    cr_assert_eq (s_ctl (auditor_key, "audit query --kind delivr"), 2, "%s", out);
    cr_assert (strstr (out, "unknown kind 'delivr'; did you mean 'deliver'?"), "%s", out);
    cr_assert_eq (s_ctl (auditor_key, "audit query --owner watr"), 1, "%s", out);
    cr_assert (strstr (out, "unknown owner 'watr'; did you mean 'water'?"), "%s", out);
    cr_assert_eq (s_ctl (auditor_key, "audit query --consumer powr"), 1, "%s", out);
    cr_assert (strstr (out, "unknown consumer 'powr'; did you mean 'power'?"), "%s", out);
    cr_assert_eq (s_ctl (auditor_key, "audit query --kind consent."), 0, "%s", out);
    /* offline, beside the running broker: the same words */
    char cmd[1200];
    snprintf (cmd, sizeof cmd, "'%s' --data '%s/data' audit query --consumer powr 2>&1",
              tb_program ("SLUICECTL"), tb.dir);
    cr_assert_eq (tb_run (cmd, out, sizeof out), 2, "%s", out);
    cr_assert (strstr (out, "unknown consumer 'powr'; did you mean 'power'?"), "%s", out);
    snprintf (cmd, sizeof cmd, "'%s' --data '%s/data' audit query --owner watr 2>&1",
              tb_program ("SLUICECTL"), tb.dir);
    cr_assert_eq (tb_run (cmd, out, sizeof out), 2, "%s", out);
    cr_assert (strstr (out, "unknown owner 'watr'; did you mean 'water'?"), "%s", out);
}

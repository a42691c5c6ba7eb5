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

/*  sluicectl `args` as the member of `key`: asserts it exits with
 *  `status` and, when `want` is not NULL, that its output (in out) has it. */
static void
s_expect (const char *key, const char *args, int status, const char *want)
{
    tb_ctl_expect (&tb, key, args, status, want, out, sizeof out);
}

/*  sluicectl offline on the data directory: `args` (printf-formatted
 *  shell words) after --data DIR/data; stdout into out. The exit status. */
#define s_offline(fmt, ...) \
    tl_sh (out, sizeof out, "'%s' --data '%s/data' " fmt, tb_program ("SLUICECTL"), tb.dir, __VA_ARGS__)

/*  Runs `sluicectl audit ARCHIVE --before 2099-01-01 --out DIR/dirname` as
 *  the city's administrator (DIR/dirname made first); asserts it worked. */
static void
s_archive (const char *dirname)
{
    cr_assert_eq (tl_sh (NULL, 0, "mkdir -p '%s/%s'", tb.dir, dirname), 0);
    char args[800];
    snprintf (args, sizeof args, "audit archive --before 2099-01-01 --out '%s/%s'", tb.dir, dirname);
    s_expect (tb.admin_key, args, 0, "archived ");
}

/*  Asserts that the verifier written from AUDIT.md alone accepts the
 *  export DIR/FILE with the broker's public key. */
static void
s_verify_py (const char *file)
{
    int rc = tl_sh (out, sizeof out, "'%s' '%s' --export '%s/%s' --pubkey-file '%s/data/audit-sign.pub' 2>&1",
                    getenv ("PYTHON3"), getenv ("VERIFY_AUDIT_PY"), tb.dir, file, tb.dir);
    cr_assert_eq (rc, 0, "%s: %s", file, out);
    cr_assert (strncmp (out, "ok entries=", 11) == 0, "%s", out);
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
    s_expect (auditor_key, "--json audit report --subject C-7", 0, NULL);
    int n = s_entries (out, "lookup", before, sizeof before);
    /* 4 readings of C-7: 4 publishes; the three of >= 10 m3 were queued */
    cr_assert_geq (n, 7, "%s", out);
    s_archive ("archive");

    /* online: the same disclosures, and a plain word about the archive */
    s_expect (auditor_key, "--json audit report --subject C-7", 0, NULL);
    cr_assert_eq (s_entries (out, "lookup", after, sizeof after), n, "%s", out);
    cr_assert_str_eq (after, before);
    TL_HAS (out, "note: entries 1..", "are archived; read from 1 segment file");
    /* the table form says it too */
    s_expect (auditor_key, "audit report --subject C-7", 0, "note: entries 1..");

    /* offline, from the data directory */
    cr_assert_eq (tb_stop (&tb), 0);
    cr_assert_eq (s_offline ("--json audit report --subject %s 2>/dev/null", "C-7"), 0, "%s", out);
    s_entries (out, "lookup", offline, sizeof offline);
    cr_assert_str_eq (offline, before);
    /* the summary of the whole history: 36 queued, 4 filtered... per the data */
    cr_assert_eq (s_offline ("--json audit summary --owner %s 2>/dev/null", "water"), 0, "%s", out);
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
    static char before[1 << 16], after[1 << 16];
    s_publish (20);
    s_archive ("a1");
    s_publish (20);
    s_expect (auditor_key, "--json audit report --subject C-7", 0, NULL);
    cr_assert_geq (s_entries (out, "lookup", before, sizeof before), 8, "%s", out);
    s_archive ("a2");
    s_expect (auditor_key, "--json audit report --subject C-7", 0, NULL);
    s_entries (out, "lookup", after, sizeof after);
    cr_assert_str_eq (after, before);
    TL_HAS (out, "are archived; read from 2 segment files");
    /* a segment taken away: said plainly, not silently shorter */
    cr_assert_eq (tl_sh (NULL, 0, "mv '%s/a1' '%s/gone'", tb.dir, tb.dir), 0);
    s_expect (auditor_key, "audit report --subject C-7", 0,
              "are archived and NOT included: their segment files were not found");
}

Test (audit_review, lookups_are_audited)
{
    s_publish (3);
    s_expect (auditor_key, "audit report --subject C-7", 0, NULL);
    s_expect (auditor_key, "audit query --subject C-1", 0, NULL);
    s_expect (tb.admin_key, "consent list --subject C-2", 0, NULL);
    s_expect (auditor_key, "--json audit query --kind lookup", 0, "command=audit.report role=auditor");
    TL_HAS (out, "\"actor\":\"auditor\"", "command=audit.query role=auditor",
            "command=consent.list role=admin:city");
    /* the entries name the person by pseudonym only */
    cr_assert_null (strstr (out, "C-7"));
    /* and the person's own report shows who looked them up */
    s_expect (auditor_key, "audit report --subject C-7", 0, "lookup");
    /* the independent verifier checks the lookup entries' documented shape */
    char args[1200];
    snprintf (args, sizeof args, "audit export --since 1970-01-01 --out '%s/l.jsonl'", tb.dir);
    s_expect (auditor_key, args, 0, NULL);
    s_verify_py ("l.jsonl");
}

Test (audit_review, rows_left_out_by_where_are_filtered_not_denied)
{
    s_publish (30);
    s_expect (auditor_key, "--json audit query --kind deny", 0, NULL);
    cr_assert_null (strstr (out, "\"kind\""), "no deny for rows filtered by design: %s", out);
    s_expect (auditor_key, "--json audit query --kind filtered", 0, "\"decision\":\"filtered\"");
    /* one entry per publish batch: fewer entries than rows, rows add up */
    int entries = 0;
    unsigned long rows = 0;
    for (const char *p = out; (p = strstr (p, "\"detail\":\"rows=")); p++) {
        rows += strtoul (p + 15, NULL, 10);
        entries++;
    }
    cr_assert_eq (rows, 10, "%s", out);
    cr_assert_lt (entries, 10, "%s", out);
    TL_HAS (out, "\"reason\":\"condition-false\"");
    s_expect (auditor_key, "audit summary --owner water", 0, "water/water-to-power@1");
    TL_HAS (out, "\nfiltered");
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
    s_expect (auditor_key, args, 0, NULL);
    snprintf (args, sizeof args, "audit export --since 1970-01-01 --format jsonl --out '%s/x.jsonl'", tb.dir);
    s_expect (auditor_key, args, 0, NULL);
    tl_sh (csv, sizeof csv, "cat '%s/x.csv'", tb.dir);
    tl_sh (jsonl, sizeof jsonl, "cat '%s/x.jsonl'", tb.dir);
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
    s_verify_py ("x.jsonl");
}

Test (audit_review, mistyped_filters_are_refused_with_did_you_mean)
{
    s_expect (auditor_key, "audit query --kind delivr", 2, "unknown kind 'delivr'; did you mean 'deliver'?");
    s_expect (auditor_key, "audit query --owner watr", 1, "unknown owner 'watr'; did you mean 'water'?");
    s_expect (auditor_key, "audit query --consumer powr", 1,
              "unknown consumer 'powr'; did you mean 'power'?");
    s_expect (auditor_key, "audit query --kind consent.", 0, NULL);
    /* offline, beside the running broker: the same words */
    TL_EXPECT (s_offline ("audit query --consumer %s 2>&1", "powr"),
               2, out, "unknown consumer 'powr'; did you mean 'power'?");
    TL_EXPECT (s_offline ("audit query --owner %s 2>&1", "watr"),
               2, out, "unknown owner 'watr'; did you mean 'water'?");
}

/*  page_audit — the Audit pages: filters, paging, the chart of deliveries
    and denials over time per consumer, the owner's summary, CSV and JSON
    export of the filtered view, and verify with the last signed
    checkpoint.

    Design notes:

     1. Every read is audit.query (or audit.summary, audit.verify,
        audit.checkpoint) with the user's key: an admin:<bureau> gets only
        its bureau's entries, because the broker narrows the owner; asking
        for another owner is refused by the broker and the refusal shown.
     2. Paging is by sequence number, forward: a page ends at the last seq
        it scanned, and "Next" asks again after it. The broker has no
        filter on rules, so the rule filter is applied here, over the
        broker's pages (at most S_SCAN_PAGES of them per page shown; the
        page then says where the scan stopped and "Next" goes on from
        there).
     3. Export runs the same filter over every page of the log and streams
        the file as it goes (one broker page in memory at a time, however
        long the export). Times are integers (microseconds) and ISO text. A
        failure after the first page can no longer change the HTTP status:
        the file then ends with what went wrong ("# export stopped ..." in
        CSV, "complete": false and "error" in JSON).
     4. The chart (its own page, /audit/chart, with the owner's summary)
        counts deliver and deny entries of the filter's time range
        (default: the last 24 hours), at most S_CHART_MAX of each kind, in
        24 buckets of the range, one row per consumer (SVG drawn here: no
        script needed). Counting goes page by page; no page is kept.
     5. Time ranges start where they start, not at seq 0: see
        sl_audit_range.c (bisection on sequence numbers).
*/
#include "sl_console.h"
#include "sl_reason.h"
#include "sl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_PAGE_DEFAULT 50
#define S_PAGE_MAX     500
#define S_SCAN_PAGES   20
#define S_CHART_MAX    5000
#define S_BUCKETS      24

/*  The filters of the form, as given. */
typedef struct {
    const char *since, *until, *kind, *owner, *consumer, *record, *decision, *rule, *subject;
    long long after_seq;
    int limit;
} s_filter_t;

static const char *
s_arg (sl_web_req_t *req, const char *name)
{
    const char *v = sl_web_arg (req, name);
    return v && *v ? v : NULL;
}

/*  The names of the text filters in the form and its query string, in the
    order of s_filter_t. */
static const char *const s_names[] = { "since", "until", "kind", "owner", "consumer", "record",
                                       "decision", "rule", "subject" };
#define S_NTEXTS (sizeof s_names / sizeof s_names[0])

static void
s_read_filter (sl_web_req_t *req, s_filter_t *f)
{
    memset (f, 0, sizeof *f);
    const char **slot[S_NTEXTS] = { &f->since, &f->until, &f->kind, &f->owner, &f->consumer,
                                    &f->record, &f->decision, &f->rule, &f->subject };
    for (size_t i = 0; i < S_NTEXTS; i++)
        *slot[i] = s_arg (req, s_names[i]);
    const char *a = s_arg (req, "after_seq"), *l = s_arg (req, "limit");
    f->after_seq = a ? atoll (a) : 0;
    f->limit = l ? atoi (l) : S_PAGE_DEFAULT;
    if (f->after_seq < 0)
        f->after_seq = 0;
    if (f->limit < 1 || f->limit > S_PAGE_MAX)
        f->limit = S_PAGE_DEFAULT;
}

/*  The broker's query arguments for `f` from seq `after` (not the rule:
    s_scan matches it). A time given as "YYYY-MM-DDTHH:MM" (what a
    datetime-local input sends) gets ":00Z". */
static cJSON *
s_query_args (const s_filter_t *f, long long after, int limit)
{
    cJSON *a = cJSON_CreateObject ();
    const char *vals[S_NTEXTS] = { f->since, f->until, f->kind, f->owner, f->consumer, f->record,
                                   f->decision, NULL, f->subject };
    for (size_t i = 0; i < S_NTEXTS; i++) {
        char t[64];                     /* since and until (i < 2) are times */
        size_t n = vals[i] ? strlen (vals[i]) : 0;
        if (i < 2 && n == 16 && vals[i][10] == 'T')
            snprintf (t, sizeof t, "%s:00Z", vals[i]);
        else if (i < 2 && n == 19 && vals[i][10] == 'T')
            snprintf (t, sizeof t, "%sZ", vals[i]);
        else
            snprintf (t, sizeof t, "%.60s", vals[i] ? vals[i] : "");
        if (vals[i])
            cJSON_AddStringToObject (a, s_names[i], i < 2 ? t : vals[i]);
    }
    cJSON_AddNumberToObject (a, "after_seq", (double) after);
    cJSON_AddNumberToObject (a, "limit", limit);
    return a;
}

/*  Does entry `e` name rule `rule` (as "id" or "id@version"; an id
    namespaced by owner, "water/id", also matches "id") among its
    comma-separated rules? */
static int
s_rule_match (const cJSON *e, const char *rule)
{
    if (!rule)
        return 1;
    const char *rules = sl_console_str (e, "rules");
    size_t rl = strlen (rule);
    for (const char *p = rules; *p;) {
        const char *end = strchr (p, ',');
        size_t n = end ? (size_t) (end - p) : strlen (p);
        while (n && *p == ' ') {
            p++;
            n--;
        }
        /* ids may be namespaced by owner ("water/x"): "x" matches too */
        const char *slash = memchr (p, '/', n);
        const char *q = slash && !strchr (rule, '/') ? slash + 1 : p;
        size_t qn = n - (size_t) (q - p);
        if ((qn == rl && strncmp (q, rule, rl) == 0)
            || (qn > rl && strncmp (q, rule, rl) == 0 && q[rl] == '@'))
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/*  Scans from `f->after_seq` for up to `want` matching entries, over at
    most `pages` broker pages. *entries gets them (an array the caller
    deletes), *last the last seq scanned, *more whether the log may hold
    more. Returns 0 or the SL_E* code with `err`. */
static int
s_scan (sl_console_t *c, const s_filter_t *f, long long after, int want, int pages,
        cJSON **entries, long long *last, int *more, char *err, size_t errlen)
{
    *entries = cJSON_CreateArray ();
    *last = after;
    *more = 0;
    int got = 0;
    for (int page = 0; page < pages && got < want; page++) {
        cJSON *res = NULL;
        int ask = f->rule || want - got > 1000 ? 1000 : want - got;
        int rc = sl_console_call (c, "audit.query", s_query_args (f, *last, ask), &res, NULL,
                                  err, errlen);
        if (rc != 0)
            return rc;
        cJSON *list = cJSON_GetObjectItemCaseSensitive (res, "entries");
        cJSON *e = list ? list->child : NULL;
        *more = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "more"));
        long long next = (long long) sl_console_num (res, "next_after_seq");
        while (e && got < want) {
            cJSON *nx = e->next;
            *last = (long long) sl_console_num (e, "seq");
            sl_console_learn (c, e);
            if (s_rule_match (e, f->rule)) {
                cJSON_AddItemToArray (*entries, cJSON_DetachItemViaPointer (list, e));
                got++;
            }
            e = nx;
        }
        if (e)              /* the page held more than we show: go on from *last */
            *more = 1;
        else if (next > *last)
            *last = next;
        cJSON_Delete (res);
        if (!*more)
            break;
    }
    return 0;
}

static const char *s_kinds[] = {
    "publish", "queue", "deliver", "deny", "query", "reply", "auth.denied", "publish.refused",
    "policy.apply", "policy.rollback", "consent.", "member.", "broker.", NULL,
};

static void
s_form (sl_console_t *c, sl_html_t *h, const s_filter_t *f)
{
    sl_html_raw (h, "<form method=\"get\" action=\"/audit\" id=\"audit-filter\" "
                    "class=\"filters\">\n");
    sl_html_input (h, "f", "Since", "since", f->since, "2026-11-28 or 2026-11-28T15:00:00Z");
    sl_html_input (h, "f", "Until", "until", f->until, "(exclusive)");
    sl_html_raw (h, "<label>Kind <select name=\"kind\" id=\"f-kind\"><option value=\"\">any"
                    "</option>");
    for (int i = 0; s_kinds[i]; i++) {
        sl_html_printf (h, "<option%s>%s</option>",
                        f->kind && strcmp (f->kind, s_kinds[i]) == 0 ? " selected" : "",
                        s_kinds[i]);
    }
    sl_html_raw (h, "</select></label>\n");
    if (sl_console_may_read_all (c))
        sl_html_input (h, "f", "Owner", "owner", f->owner, "water");
    sl_html_input (h, "f", "Consumer", "consumer", f->consumer, "power");
    sl_html_input (h, "f", "Record type", "record", f->record, "water.v1.MeterReading");
    sl_html_raw (h, "<label>Decision <select name=\"decision\" id=\"f-decision\">");
    const char *ds[] = { "", "permit", "deny", "ok", NULL };
    for (int i = 0; ds[i]; i++)
        sl_html_printf (h, "<option value=\"%s\"%s>%s</option>", ds[i],
                        (f->decision ? strcmp (f->decision, ds[i]) == 0 : !*ds[i]) ? " selected"
                                                                                    : "",
                        *ds[i] ? ds[i] : "any");
    sl_html_raw (h, "</select></label>\n");
    sl_html_input (h, "f", "Rule", "rule", f->rule, "water-to-power-joint-metering");
    sl_html_input (h, "f", "Subject", "subject", f->subject, "a citizen id (looked up as its pseudonym)");
    sl_html_printf (h, "<label>Per page <input name=\"limit\" id=\"f-limit\" type=\"number\" "
                       "min=\"1\" max=\"%d\" value=\"%d\"></label>\n", S_PAGE_MAX, f->limit);
    sl_html_raw (h, "<button id=\"btn-filter\">Filter</button> <a href=\"/audit\">Clear</a>"
                    "</form>\n");
}

/*  The filter as a query string (for Next and the export links). */
static void
s_filter_query (sl_html_t *h, const s_filter_t *f)
{
    const char *vals[S_NTEXTS] = { f->since, f->until, f->kind, f->owner, f->consumer, f->record,
                                   f->decision, f->rule, f->subject };
    for (size_t i = 0; i < S_NTEXTS; i++)
        if (vals[i]) {
            sl_html_printf (h, "&amp;%s=", s_names[i]);
            sl_html_url (h, vals[i]);
        }
    sl_html_printf (h, "&amp;limit=%d", f->limit);
}

static void
s_entries_table (sl_html_t *h, const cJSON *entries)
{
    sl_html_raw (h, "<div class=\"scroll\"><table id=\"audit-entries\"><thead><tr><th>Seq</th><th>Time (UTC)</th>"
                    "<th>Kind</th><th>Actor</th><th>Owner</th><th>Counterpart</th>"
                    "<th>Record type</th><th>Purpose</th><th>Decision</th><th>Rules</th>"
                    "<th>Fields</th><th>Reason</th><th>Subject</th><th>Detail</th></tr></thead>"
                    "<tbody>\n");
    const char *cols[] = { "seq", "time", "kind", "actor", "owner", "counterpart", "record_type",
                           "purpose", "decision", "rules", "fields", "reason" };
    const cJSON *e;
    cJSON_ArrayForEach (e, entries) {
        sl_html_printf (h, "<tr class=\"k-%s d-%s\">",
                        strcmp (sl_console_str (e, "kind"), "deny") == 0 ? "deny" : "other",
                        strcmp (sl_console_str (e, "decision"), "deny") == 0 ? "deny" : "other");
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
            sl_html_cell (h, sl_console_str (e, cols[i]));
        }
        const char *subj = sl_console_str (e, "subject");
        sl_html_raw (h, "<td class=\"pseudo\" title=\"");
        sl_html_text (h, subj);
        sl_html_raw (h, "\">");
        sl_html_textn (h, subj, strlen (subj) > 12 ? 12 : strlen (subj));
        sl_html_raw (h, "</td><td class=\"detail\">");
        sl_html_text (h, sl_console_str (e, "detail"));
        sl_html_raw (h, "</td></tr>\n");
    }
    sl_html_raw (h, "</tbody></table></div>\n");
}

/* ------------------------------------------------------------------------ */
/*  The chart (note 4)                                                       */

typedef struct {
    char name[64];
    int deliver[S_BUCKETS], deny[S_BUCKETS];
    int total_deliver, total_deny;
} s_series_t;

static s_series_t *
s_series (s_series_t *s, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (strcmp (s[i].name, name) == 0)
            return &s[i];
    if (*n == 8)
        return NULL;
    memset (&s[*n], 0, sizeof s[*n]);
    snprintf (s[*n].name, sizeof s[*n].name, "%s", name);
    return &s[(*n)++];
}

/*  Counts the deliver or deny entries of `f` (kind set) from seq `from`
    into the series, page by page, at most S_CHART_MAX. Returns 0 or an
    SL_E* code; *capped when it stopped at the cap. */
static int
s_chart_count (sl_console_t *c, const s_filter_t *f, long long from, double lo, double span,
               s_series_t *series, int *ns, int deny, int *capped, char *err, size_t errlen)
{
    int counted = 0, more = 1;
    while (more && counted < S_CHART_MAX) {
        cJSON *res = NULL;
        int rc = sl_console_call (c, "audit.query", s_query_args (f, from, 1000), &res, NULL,
                                  err, errlen);
        if (rc != 0)
            return rc;
        const cJSON *e;
        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive (res, "entries")) {
            s_series_t *sr = s_series (series, ns, sl_console_str (e, "counterpart"));
            counted++;
            if (!sr)
                continue;
            int b = (int) ((sl_console_num (e, "time_us") - lo) * S_BUCKETS / span);
            b = b < 0 ? 0 : b >= S_BUCKETS ? S_BUCKETS - 1 : b;
            if (deny) {
                sr->deny[b]++;
                sr->total_deny++;
            }
            else {
                sr->deliver[b]++;
                sr->total_deliver++;
            }
        }
        more = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "more"));
        long long next = (long long) sl_console_num (res, "next_after_seq");
        cJSON_Delete (res);
        if (next <= from)
            break;
        from = next;
    }
    *capped |= more;
    return 0;
}

static void
s_chart (sl_console_t *c, sl_html_t *h, const s_filter_t *form)
{
    s_filter_t f = *form;
    char since[40] = "", err[1024];
    double now_us = (double) time (NULL) * 1e6, lo, hi;
    f.kind = f.decision = f.rule = NULL;
    f.after_seq = 0;
    if (!f.since) {
        sl_time_format ((int64_t) now_us - 86400LL * 1000000, NULL, since, sizeof since);
        f.since = since;
    }
    if (sl_console_time_us (f.since, &lo) != 0 || (f.until && sl_console_time_us (f.until, &hi) != 0)) {
        sl_console_box (h, "error", "since/until: write YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC) with Z or an offset, Unix seconds, or a relative time (2h, 3d)");
        return;
    }
    if (!f.until)
        hi = now_us;
    double span = hi > lo ? hi - lo : 1;
    long long from = 0;
    s_series_t series[8];
    int ns = 0, capped = 0;
    const char *owner = sl_console_bureau (c) ? sl_console_bureau (c) : f.owner;
    if (sl_console_audit_from (c, owner, lo, &from, err, sizeof err) != 0
        || (f.kind = "deliver", s_chart_count (c, &f, from, lo, span, series, &ns, 0, &capped,
                                                err, sizeof err)) != 0
        || (f.kind = "deny", s_chart_count (c, &f, from, lo, span, series, &ns, 1, &capped,
                                             err, sizeof err)) != 0) {
        sl_console_box (h, "error", err);
        return;
    }
    sl_html_raw (h, "<section id=\"chart\"><h2>Deliveries and denials over time, per "
                    "consumer</h2>");
    if (ns == 0) {
        sl_html_raw (h, "<p class=\"note\">No deliveries or denials in this range.</p>"
                        "</section>\n");
        return;
    }
    char t0[40], t1[40];
    sl_time_format_as ((int64_t) (lo / 1e6) * 1000000, NULL, SL_TIME_FMT_SPACE | SL_TIME_FMT_NO_ZONE,
                       t0, sizeof t0);
    sl_time_format_as ((int64_t) (hi / 1e6) * 1000000, NULL, SL_TIME_FMT_SPACE | SL_TIME_FMT_NO_ZONE,
                       t1, sizeof t1);
    int peak = 1;
    for (int i = 0; i < ns; i++)
        for (int j = 0; j < S_BUCKETS; j++) {
            peak = series[i].deliver[j] > peak ? series[i].deliver[j] : peak;
            peak = series[i].deny[j] > peak ? series[i].deny[j] : peak;
        }
    const int W = 720, RH = 70, LW = 120, BW = (W - LW) / S_BUCKETS;
    sl_html_printf (h, "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" "
                       "height=\"%d\" xmlns=\"http://www.w3.org/2000/svg\">",
                    W, ns * RH + 24, W, ns * RH + 24);
    for (int i = 0; i < ns; i++) {
        int y0 = i * RH + RH / 2;
        sl_html_printf (h, "<text x=\"4\" y=\"%d\" class=\"lbl\">", y0 - 6);
        sl_html_text (h, series[i].name);
        sl_html_printf (h, "</text><text x=\"4\" y=\"%d\" class=\"sub\">%d delivered, %d "
                           "denied</text>", y0 + 12, series[i].total_deliver,
                        series[i].total_deny);
        sl_html_printf (h, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>", LW,
                        y0, W, y0);
        for (int j = 0; j < S_BUCKETS; j++) {
            int x = LW + j * BW + 1;
            int up = series[i].deliver[j] * (RH / 2 - 4) / peak;
            int dn = series[i].deny[j] * (RH / 2 - 4) / peak;
            if (series[i].deliver[j])
                sl_html_printf (h, "<rect class=\"bar-deliver\" x=\"%d\" y=\"%d\" width=\"%d\" "
                                   "height=\"%d\" fill=\"#2a7d4f\"><title>%d delivered"
                                   "</title></rect>", x, y0 - (up ? up : 1), BW - 2,
                                up ? up : 1, series[i].deliver[j]);
            if (series[i].deny[j])
                sl_html_printf (h, "<rect class=\"bar-deny\" x=\"%d\" y=\"%d\" width=\"%d\" "
                                   "height=\"%d\" fill=\"#b3261e\"><title>%d denied</title>"
                                   "</rect>", x, y0, BW - 2, dn ? dn : 1, series[i].deny[j]);
        }
    }
    sl_html_printf (h, "<text x=\"%d\" y=\"%d\" class=\"sub\">%s</text>"
                       "<text x=\"%d\" y=\"%d\" class=\"sub\" text-anchor=\"end\">%s UTC</text>"
                       "</svg>", LW, ns * RH + 16, t0, W - 2, ns * RH + 16, t1);
    sl_html_printf (h, "<p class=\"note\">Green above the line: deliveries; red below: denials. "
                       "Tallest bar: %d entries; 24 buckets over the range%s.</p></section>\n",
                    peak, capped ? "; only the first 5,000 deliveries and 5,000 denials of the "
                                   "range are counted: narrow the time range to see all" : "");
}

static void
s_summary (sl_console_t *c, sl_html_t *h, const s_filter_t *f)
{
    const char *owner = sl_console_bureau (c) ? sl_console_bureau (c) : f->owner;
    sl_html_raw (h, "<section id=\"summary\"><h2>Owner's summary</h2>");
    if (!owner) {
        sl_html_raw (h, "<p class=\"note\">Filter by an owner to see its summary.</p></section>");
        return;
    }
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    char err[1024];
    cJSON_AddStringToObject (args, "owner", owner);
    s_filter_t tf = { 0 };
    tf.since = f->since;
    tf.until = f->until;
    cJSON *ta = s_query_args (&tf, 0, 1);
    cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive (ta, "since")))
        cJSON_AddStringToObject (args, "since", v->valuestring);
    if ((v = cJSON_GetObjectItemCaseSensitive (ta, "until")))
        cJSON_AddStringToObject (args, "until", v->valuestring);
    cJSON_Delete (ta);
    if (sl_console_call (c, "audit.summary", args, &res, NULL, err, sizeof err) != 0) {
        sl_console_box (h, "error", err);
        sl_html_raw (h, "</section>");
        return;
    }
    sl_html_raw (h, "<p>What left ");
    sl_html_text (h, owner);
    sl_html_raw (h, " and what was refused, per consumer, record type, purpose and rules:</p>"
                    "<table id=\"summary-rows\"><thead><tr><th>Kind</th><th>Consumer</th>"
                    "<th>Record type</th><th>Purpose</th><th>Rules</th><th>Count</th>"
                    "<th>First</th><th>Last</th></tr></thead><tbody>\n");
    const char *cols[] = { "kind", "consumer", "record_type", "purpose", "rules", "count",
                           "first", "last" };
    const cJSON *r;
    cJSON_ArrayForEach (r, cJSON_GetObjectItemCaseSensitive (res, "rows")) {
        sl_html_raw (h, "<tr>");
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
            sl_html_cell (h, sl_console_str (r, cols[i]));
        }
        sl_html_raw (h, "</tr>\n");
    }
    sl_html_raw (h, "</tbody></table></section>\n");
    cJSON_Delete (res);
}

void
sl_page_audit (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    sl_html_t *h = resp->body;
    s_filter_t f;
    char err[1024];
    s_read_filter (req, &f);
    sl_console_begin (c, req, h, "Audit", "audit");
    s_form (c, h, &f);
    cJSON *entries = NULL;
    long long last;
    int more;
    long long from = f.after_seq;
    double since_us;
    int rc = 0;
    if (f.since && sl_console_time_us (f.since, &since_us) == 0) {
        long long start = 0;
        rc = sl_console_audit_from (c, sl_console_bureau (c) ? sl_console_bureau (c) : f.owner, since_us,
                          &start, err, sizeof err);
        from = start > from ? start : from;
    }
    if (rc == 0)
        rc = s_scan (c, &f, from, f.limit, S_SCAN_PAGES, &entries, &last, &more, err,
                     sizeof err);
    if (rc != 0) {
        resp->status = sl_reason_http (NULL, rc);
        sl_console_box (h, "error", err);
        cJSON_Delete (entries);
        sl_console_end (h);
        return;
    }
    sl_html_printf (h, "<p class=\"meta\" id=\"audit-count\">%d entr%s after seq %lld%s. "
                       "<a id=\"export-csv\" href=\"/audit/export?format=csv",
                    cJSON_GetArraySize (entries), cJSON_GetArraySize (entries) == 1 ? "y" : "ies",
                    f.after_seq, more ? "; more follow" : "");
    s_filter_query (h, &f);
    sl_html_raw (h, "\">Export CSV</a> · <a id=\"export-json\" href=\"/audit/export?format=json");
    s_filter_query (h, &f);
    sl_html_raw (h, "\">Export JSON</a> · <a id=\"chart-link\" href=\"/audit/chart?after_seq=0");
    s_filter_query (h, &f);
    sl_html_raw (h, "\">Chart and owner's summary</a> · <a id=\"verify-link\" "
                    "href=\"/audit/verify\">Verify the log</a></p>\n");
    s_entries_table (h, entries);
    sl_html_raw (h, "<p class=\"pager\">");
    if (f.after_seq)
        sl_html_raw (h, "<a id=\"first-page\" href=\"/audit?after_seq=0");
    if (f.after_seq) {
        s_filter_query (h, &f);
        sl_html_raw (h, "\">First page</a> ");
    }
    if (more) {
        sl_html_printf (h, "<a id=\"next-page\" href=\"/audit?after_seq=%lld", last);
        s_filter_query (h, &f);
        sl_html_raw (h, "\">Next page</a>");
    }
    sl_html_raw (h, "</p>\n");
    cJSON_Delete (entries);
    sl_console_end (h);
}

void
sl_page_audit_chart (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    sl_html_t *h = resp->body;
    s_filter_t f;
    s_read_filter (req, &f);
    sl_console_begin (c, req, h, "Audit: chart and owner's summary", "audit");
    sl_html_raw (h, "<p><a href=\"/audit?after_seq=0");
    s_filter_query (h, &f);
    sl_html_raw (h, "\">Back to the entries</a></p>");
    s_chart (c, h, &f);
    s_summary (c, h, &f);
    sl_console_end (h);
}

static const char *s_cols[] = { "seq", "time_us", "time", "kind", "actor", "owner",
                                "counterpart", "record_type", "message_id", "subject", "purpose",
                                "decision", "rules", "fields", "reason", "detail", "hash" };
#define S_NCOLS (sizeof s_cols / sizeof s_cols[0])

/*  An export in progress (note 3): the filter's strings copied (the
    request's are gone once the handler returns), where it is, and the
    text of the page being sent. */
typedef struct {
    sl_console_t *c;
    s_filter_t f;
    char *strs[9];
    int csv, more, total;
    long long after;
    sl_html_t *text;
    size_t off;
} s_export_t;

static void
s_export_free (void *p)
{
    s_export_t *x = p;
    for (int i = 0; i < 9; i++)
        free (x->strs[i]);
    sl_html_destroy (&x->text);
    free (x);
}

/*  Appends one broker page of the export to x->text; the closing text
    after the last. Returns 0 or the SL_E* code with `err`. */
static int
s_export_page (s_export_t *x, char *err, size_t errlen)
{
    cJSON *entries = NULL;
    long long last;
    sl_html_t *h = x->text;
    int rc = s_scan (x->c, &x->f, x->after, 1000, 1, &entries, &last, &x->more, err, errlen);
    if (rc != 0) {
        cJSON_Delete (entries);
        return rc;
    }
    const cJSON *e;
    cJSON_ArrayForEach (e, entries) {
        if (x->csv) {
            for (size_t i = 0; i < S_NCOLS; i++) {
                if (i)
                    sl_html_raw (h, ",");
                sl_html_csv (h, sl_console_str (e, s_cols[i]));
            }
            sl_html_raw (h, "\r\n");
        }
        else {
            sl_html_printf (h, "%s{", x->total ? ",\n" : "\n");
            for (size_t i = 0; i < S_NCOLS; i++) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive (e, s_cols[i]);
                sl_html_printf (h, "%s\"%s\":", i ? "," : "", s_cols[i]);
                if (cJSON_IsNumber (v))
                    sl_html_printf (h, "%lld", (long long) v->valuedouble);
                else if (cJSON_IsString (v)) {
                    char *q = cJSON_PrintUnformatted (v);
                    sl_html_raw (h, q ? q : "null");
                    free (q);
                }
                else
                    sl_html_raw (h, "null");
            }
            sl_html_raw (h, "}");
        }
        x->total++;
    }
    cJSON_Delete (entries);
    if (last <= x->after)
        x->more = 0;
    x->after = last;
    if (!x->more && !x->csv)
        sl_html_printf (h, "\n],\"count\":%d,\"complete\":true}\n", x->total);
    return 0;
}

static size_t
s_export_read (void *p, char *buf, size_t max)
{
    s_export_t *x = p;
    while (x->off == sl_html_len (x->text)) {
        if (!x->more)
            return 0;
        free (sl_html_take (x->text, NULL));
        x->off = 0;
        char err[1024];
        if (s_export_page (x, err, sizeof err) != 0) {
            /* the status line is sent already: say it in the file */
            x->more = 0;
            if (x->csv)
                sl_html_printf (x->text, "# export stopped after %d entries: ", x->total);
            else
                sl_html_printf (x->text, "\n],\"count\":%d,\"complete\":false,\"error\":",
                                x->total);
            cJSON *js = cJSON_CreateString (err);
            char *q = js ? cJSON_PrintUnformatted (js) : NULL;
            sl_html_raw (x->text, x->csv ? err : q ? q : "\"?\"");
            sl_html_raw (x->text, x->csv ? "\r\n" : "}\n");
            free (q);
            cJSON_Delete (js);
        }
    }
    size_t n = sl_html_len (x->text) - x->off;
    n = n < max ? n : max;
    memcpy (buf, sl_html_data (x->text) + x->off, n);
    x->off += n;
    return n;
}

void
sl_page_audit_export (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    char err[1024];
    const char *format = sl_web_arg (req, "format");
    s_export_t *x = calloc (1, sizeof *x);
    if (!x || !(x->text = sl_html_new ())) {
        free (x);
        resp->status = 500;
        return;
    }
    x->c = c;
    x->csv = !format || strcmp (format, "json") != 0;
    x->more = 1;
    s_read_filter (req, &x->f);
    const char **fields[] = { &x->f.since, &x->f.until, &x->f.kind, &x->f.owner, &x->f.consumer,
                              &x->f.record, &x->f.decision, &x->f.rule, &x->f.subject };
    for (int i = 0; i < 9; i++)
        if (*fields[i])
            *fields[i] = x->strs[i] = strdup (*fields[i]);
    x->after = x->f.after_seq;
    double since_us;
    if (x->f.since && sl_console_time_us (x->f.since, &since_us) == 0) {
        long long start = 0;
        if (sl_console_audit_from (c, sl_console_bureau (c) ? sl_console_bureau (c) : x->f.owner,
                         since_us, &start, err, sizeof err) == 0 && start > x->after)
            x->after = start;
    }
    if (x->csv) {
        for (size_t i = 0; i < S_NCOLS; i++)
            sl_html_printf (x->text, "%s%s", i ? "," : "", s_cols[i]);
        sl_html_raw (x->text, "\r\n");
    }
    else
        sl_html_raw (x->text, "{\"entries\":[");
    /* the first page here, so that a refusal gets its status and page */
    int rc = s_export_page (x, err, sizeof err);
    if (rc != 0) {
        s_export_free (x);
        resp->status = sl_reason_http (NULL, rc);
        sl_console_begin (c, req, resp->body, "Audit export", "audit");
        sl_console_box (resp->body, "error", err);
        sl_console_end (resp->body);
        return;
    }
    resp->content_type = x->csv ? "text/csv; charset=utf-8" : "application/json";
    snprintf (resp->filename, sizeof resp->filename, "sluice-audit.%s", x->csv ? "csv" : "json");
    resp->stream = s_export_read;
    resp->stream_free = s_export_free;
    resp->stream_ctx = x;
}

void
sl_page_audit_verify (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    sl_html_t *h = resp->body;
    char err[1024];
    cJSON *res = NULL, *cp = NULL;
    sl_console_begin (c, req, h, "Audit log verification", "audit");
    int rc = sl_console_call (c, "audit.verify", NULL, &res, NULL, err, sizeof err);
    if (rc != 0) {
        sl_console_refused (resp, rc, err);
        return;
    }
    int ok = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "ok"));
    char line[1024];
    snprintf (line, sizeof line, "%s: %s", ok ? "OK" : "FAILED", sl_console_str (res, "message"));
    sl_html_printf (h, "<div id=\"verify-result\" class=\"%s\">", ok ? "ok" : "bad");
    sl_console_box (h, ok ? "ok" : "error", line);
    sl_html_raw (h, "</div><table id=\"verify-facts\"><tbody>");
    const char *facts[] = { "verdict", "entries", "checkpoints", "segments", "first_seq",
                            "last_seq", "bad_seq" };
    for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) {
        sl_html_printf (h, "<tr><th>%s</th><td>", facts[i]);
        sl_html_text (h, sl_console_str (res, facts[i]));
        sl_html_raw (h, "</td></tr>");
    }
    sl_html_raw (h, "</tbody></table><h2>Last signed checkpoint</h2>");
    if (sl_console_call (c, "audit.checkpoint", NULL, &cp, NULL, err, sizeof err) == 0) {
        sl_html_raw (h, "<pre id=\"checkpoint\">");
        sl_html_text (h, sl_console_str (cp, "text"));
        sl_html_raw (h, "</pre>");
    }
    else
        sl_console_box (h, "note", err);
    sl_html_raw (h, "<p class=\"note\">Publish the checkpoint line elsewhere (a city web page, "
                    "a notary): a later verification against it proves the log was not rewritten "
                    "since (docs/AUDIT.md).</p>");
    cJSON_Delete (cp);
    cJSON_Delete (res);
    sl_console_end (h);
}

/*  page_people — the pages about members and citizens: members and status,
    explain, the citizen's transparency report, consents.

    A citizen id is sent only in a POST body (report, consent lookup), never
    in a URL, so it does not land in the browser's history or in a proxy's
    log; the broker turns it into the audit pseudonym. */
#include "sl_console.h"
#include "sl_reason.h"
#include "sl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

static int64_t
s_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/*  Members and status                                                       */

void
sl_page_overview (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    sl_html_t *h = resp->body;
    char err[1024], line[256];
    cJSON *st = NULL, *members = NULL;
    sl_console_begin (c, req, h, "Members and status", "overview");
    int rc = sl_console_call (c, "status", NULL, &st, NULL, err, sizeof err);
    if (rc != 0) {
        resp->status = sl_reason_http (NULL, rc);
        sl_console_box (h, "error", err);
    }
    else {
        int64_t now = s_now_ms ();
        double commits = sl_console_num (st, "commits");
        sl_html_raw (h, "<section><h2>Broker</h2><table id=\"status\"><tbody><tr><th>Version"
                        "</th>");
        sl_html_cell (h, sl_console_str (st, "version"));
        sl_html_raw (h, "</tr><tr><th>Up for</th>");
        snprintf (line, sizeof line, "%.0f s", sl_console_num (st, "uptime_s"));
        sl_html_cell (h, line);
        sl_html_raw (h, "</tr><tr><th>Commits</th>");
        if (c->last_status_ms && now > c->last_status_ms && commits >= c->last_commits)
            snprintf (line, sizeof line, "%.0f (%.1f/s since this page was last shown)", commits,
                      (commits - c->last_commits) * 1000.0 / (double) (now - c->last_status_ms));
        else
            snprintf (line, sizeof line, "%.0f", commits);
        sl_html_cell (h, line);
        sl_html_raw (h, "</tr><tr><th>Pending operations</th>");
        sl_html_cell (h, sl_console_str (st, "pending"));
        sl_html_raw (h, "</tr></tbody></table>\n");
        int64_t prev_ms = c->last_status_ms;
        c->last_status_ms = now;
        c->last_commits = commits;
        sl_html_raw (h, "<h2>Connected sessions (data plane)</h2><table id=\"sessions\"><thead>"
                        "<tr><th>Member</th><th>Peer</th><th>Current</th><th>Credit</th>"
                        "<th>In flight</th></tr></thead><tbody>\n");
        const cJSON *s;
        cJSON_ArrayForEach (s, cJSON_GetObjectItemCaseSensitive (st, "sessions")) {
            sl_html_raw (h, "<tr>");
            sl_html_cell (h, sl_console_str (s, "member"));
            sl_html_cell (h, sl_console_str (s, "peer"));
            sl_html_cell (h, sl_console_str (s, "current"));
            sl_html_cell (h, sl_console_str (s, "credit"));
            sl_html_cell (h, sl_console_str (s, "inflight"));
            sl_html_raw (h, "</tr>\n");
        }
        sl_html_raw (h, "</tbody></table><h2>Queue depths</h2><table id=\"queues\"><thead><tr>"
                        "<th>Consumer</th><th>Records waiting</th><th>Change per second since "
                        "this page was last shown</th></tr></thead><tbody>\n");
        const cJSON *q;
        double span_s = prev_ms && now > prev_ms ? (double) (now - prev_ms) / 1000.0 : 0;
        size_t nq = 0;
        cJSON_ArrayForEach (q, cJSON_GetObjectItemCaseSensitive (st, "queues")) {
            sl_html_raw (h, "<tr>");
            sl_html_cell (h, q->string);
            snprintf (line, sizeof line, "%.0f", q->valuedouble);
            sl_html_cell (h, line);
            line[0] = 0;
            for (size_t i = 0; span_s > 0 && i < c->nlast_queues; i++)
                if (strcmp (c->last_queues[i].consumer, q->string) == 0)
                    snprintf (line, sizeof line, "%+.1f/s",
                              (q->valuedouble - c->last_queues[i].depth) / span_s);
            sl_html_cell (h, line);
            sl_html_raw (h, "</tr>\n");
            if (nq < sizeof c->last_queues / sizeof c->last_queues[0]) {
                snprintf (c->last_queues[nq].consumer, sizeof c->last_queues[nq].consumer, "%s",
                          q->string);
                c->last_queues[nq++].depth = q->valuedouble;
            }
        }
        c->nlast_queues = nq;
        sl_html_raw (h, "</tbody></table></section>\n");
    }
    rc = sl_console_call (c, "member.list", NULL, &members, NULL, err, sizeof err);
    if (rc != 0)
        sl_console_box (h, "error", err);
    else {
        sl_html_raw (h, "<section><h2>Members</h2><table id=\"members\"><thead><tr><th>Name</th>"
                        "<th>Role</th><th>Key fingerprint</th><th>Connected</th><th>Revoked</th>"
                        "</tr></thead><tbody>\n");
        const cJSON *m;
        cJSON_ArrayForEach (m, members) {
            sl_html_raw (h, "<tr>");
            sl_html_cell (h, sl_console_str (m, "name"));
            sl_html_cell (h, sl_console_str (m, "role"));
            sl_html_raw (h, "<td><code>");
            sl_html_text (h, sl_console_str (m, "fingerprint"));
            sl_html_raw (h, "</code></td>");
            sl_html_cell (h, sl_console_str (m, "connected"));
            sl_html_cell (h, sl_console_str (m, "revoked"));
            sl_html_raw (h, "</tr>\n");
        }
        sl_html_raw (h, "</tbody></table></section>\n");
    }
    cJSON_Delete (st);
    cJSON_Delete (members);
    sl_console_end (h);
}

/* ------------------------------------------------------------------------ */
/*  Explain                                                                  */

/*  Each string of JSON array `a` as <TAG>text</TAG> and a space. */
static void
s_strings (sl_html_t *h, const cJSON *a, const char *tag)
{
    const cJSON *f;
    cJSON_ArrayForEach (f, a) {
        sl_html_printf (h, "<%s>", tag);
        sl_html_text (h, cJSON_IsString (f) ? f->valuestring : "");
        sl_html_printf (h, "</%s> ", tag);
    }
}

void
sl_page_explain (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    sl_html_t *h = resp->body;
    const char *consumer = sl_web_arg (req, "consumer");
    const char *record = sl_web_arg (req, "record_type");
    const char *purpose = sl_web_arg (req, "purpose");
    const char *at = sl_web_arg (req, "at");
    const char *sample = sl_web_arg (req, "sample");
    const char *subject = strcmp (sl_web_method (req), "POST") == 0 ? sl_web_arg (req, "subject")
                                                                     : NULL;
    sl_console_begin (c, req, h, "Explain a decision", "explain");
    /* POST, so that a citizen id given here stays out of the URL; a GET
       with the other fields (a link) works too */
    sl_html_raw (h, "<form method=\"post\" action=\"/explain\" id=\"explain-form\" "
                    "class=\"filters\">\n");
    sl_console_csrf (req, h);
    sl_html_input (h, "x", "Consumer", "consumer", consumer, "power");
    sl_html_input (h, "x", "Record type", "record_type", record, "water.v1.MeterReading");
    sl_html_input (h, "x", "Purpose", "purpose", purpose, "joint-metering");
    sl_html_input (h, "x", "At", "at", at, "now, or 2026-11-28T15:00");
    sl_html_raw (h, "<label>Citizen id <input name=\"subject\" id=\"x-subject\" "
                    "autocomplete=\"off\" placeholder=\"consent is looked up for it\" value=\"");
    sl_html_text (h, subject ? subject : "");
    sl_html_raw (h, "\"></label>\n");
    sl_html_raw (h, "<label class=\"wide\">Sample record (JSON, for where conditions) "
                    "<textarea name=\"sample\" id=\"x-sample\" rows=\"3\">");
    sl_html_text (h, sample ? sample : "");
    sl_html_raw (h, "</textarea></label><button id=\"btn-explain\">Explain</button></form>\n"
                    "<p class=\"note\">Without a citizen id, a rule that needs consent counts as "
                    "not consented. With one, the broker looks the consent up, if your role may "
                    "see that consent.</p>\n");
    if (!consumer || !*consumer || !record || !*record || !purpose || !*purpose) {
        sl_console_end (h);
        return;
    }
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    char err[2048];
    cJSON_AddStringToObject (args, "consumer", consumer);
    cJSON_AddStringToObject (args, "record_type", record);
    cJSON_AddStringToObject (args, "purpose", purpose);
    if (at && *at)
        cJSON_AddStringToObject (args, "at", at);
    if (subject && *subject)
        cJSON_AddStringToObject (args, "subject", subject);
    if (sample && *sample) {
        cJSON *rec = cJSON_Parse (sample);
        if (!rec || !cJSON_IsObject (rec)) {
            cJSON_Delete (rec);
            cJSON_Delete (args);
            resp->status = 400;
            sl_console_box (h, "error", "the sample record is not a JSON object");
            sl_console_end (h);
            return;
        }
        cJSON_AddItemToObject (args, "sample", rec);
    }
    int rc = sl_console_call (c, "policy.explain", args, &res, NULL, err, sizeof err);
    if (rc != 0) {
        sl_console_refused (resp, rc, err);
        return;
    }
    int permit = strcmp (sl_console_str (res, "decision"), "permit") == 0;
    sl_html_printf (h, "<section id=\"explain-result\" class=\"%s\"><h2>Decision: "
                       "<span id=\"decision\">%s</span></h2><p>Reason: <b>", permit ? "ok" : "bad",
                    permit ? "permit" : "deny");
    sl_html_text (h, sl_console_str (res, "reason"));
    sl_html_raw (h, "</b>. Owner: ");
    sl_html_text (h, sl_console_str (res, "owner"));
    sl_html_raw (h, "</p><h3>Deciding rules</h3><ul id=\"rules\">");
    const cJSON *r;
    cJSON_ArrayForEach (r, cJSON_GetObjectItemCaseSensitive (res, "rules")) {
        sl_html_raw (h, "<li><code>");
        if (cJSON_IsString (r))
            sl_html_text (h, r->valuestring);
        else {
            char *t = cJSON_PrintUnformatted (r);
            sl_html_text (h, t);
            free (t);
        }
        sl_html_raw (h, "</code></li>");
    }
    sl_html_raw (h, "</ul>");
    if (permit) {
        sl_html_raw (h, "<p>Released fields: ");
        s_strings (h, cJSON_GetObjectItemCaseSensitive (res, "fields"), "code");
        sl_html_raw (h, "; subject ");
        sl_html_text (h, sl_console_str (res, "subject"));
        sl_html_raw (h, "; time ");
        sl_html_text (h, sl_console_str (res, "time"));
        sl_html_raw (h, "</p>");
    }
    const cJSON *near = cJSON_GetObjectItemCaseSensitive (res, "nearest");
    if (near) {
        sl_html_raw (h, "<h3>Near miss</h3><p id=\"nearest\"><code>");
        sl_html_text (h, sl_console_str (near, "rule"));
        sl_html_raw (h, "</code> (");
        sl_html_text (h, sl_console_str (near, "file"));
        sl_html_raw (h, ":");
        sl_html_text (h, sl_console_str (near, "line"));
        sl_html_raw (h, ") failed on: ");
        s_strings (h, cJSON_GetObjectItemCaseSensitive (near, "failed"), "b");
        sl_html_raw (h, "</p>");
    }
    if (sample && *sample && !cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "sample")))
        sl_console_box (h, "note", "this broker did not evaluate the sample record (it answers "
                                   "without \"sample\": true); where conditions counted as "
                                   "not met");
    sl_html_raw (h, "<pre class=\"explain-text\">");
    sl_html_text (h, sl_console_str (res, "text"));
    sl_html_raw (h, "</pre></section>\n");
    cJSON_Delete (res);
    sl_console_end (h);
}

/* ------------------------------------------------------------------------ */
/*  Citizen report                                                           */

void
sl_page_report (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    sl_html_t *h = resp->body;
    int post = strcmp (sl_web_method (req), "POST") == 0;
    const char *subject = post ? sl_web_arg (req, "subject") : NULL;
    sl_console_begin (c, req, h, "Citizen report", "report");
    sl_html_raw (h, "<p>What was shared about one person, with whom, for what, under which "
                    "rule. The lookup goes to the broker with your key, and the broker records it "
                    "in the audit log (an entry of kind lookup, with your name): the person's "
                    "own report shows who looked.</p>"
                    "<form method=\"post\" action=\"/report\" id=\"report-form\" "
                    "class=\"filters\">");
    sl_console_csrf (req, h);
    sl_html_raw (h, "<label>Citizen id <input name=\"subject\" id=\"r-subject\" "
                    "autocomplete=\"off\" value=\"");
    sl_html_text (h, subject ? subject : "");
    sl_html_raw (h, "\"></label> <button id=\"btn-report\">Report</button></form>\n");
    if (!subject || !*subject) {
        sl_console_end (h);
        return;
    }
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    char err[1024];
    cJSON_AddStringToObject (args, "subject", subject);
    int rc = sl_console_call (c, "audit.report", args, &res, NULL, err, sizeof err);
    if (rc != 0) {
        sl_console_refused (resp, rc, err);
        return;
    }
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive (res, "entries");
    sl_html_printf (h, "<p class=\"meta\" id=\"report-count\">%d entr%s (pseudonym <code>",
                    cJSON_GetArraySize (entries), cJSON_GetArraySize (entries) == 1 ? "y" : "ies");
    sl_html_text (h, sl_console_str (res, "pseudonym"));
    sl_html_raw (h, "</code>)</p><table id=\"report-entries\"><thead><tr><th>Time (UTC)</th>"
                    "<th>Kind</th><th>From</th><th>To</th><th>Record type</th><th>Purpose</th>"
                    "<th>Decision</th><th>Rules</th><th>Fields</th><th>Reason</th></tr></thead>"
                    "<tbody>\n");
    const char *cols[] = { "time", "kind", "owner", "counterpart", "record_type", "purpose",
                           "decision", "rules", "fields", "reason" };
    const cJSON *e;
    cJSON_ArrayForEach (e, entries) {
        sl_html_raw (h, "<tr>");
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
            sl_html_cell (h, sl_console_str (e, cols[i]));
        sl_html_raw (h, "</tr>\n");
    }
    sl_html_raw (h, "</tbody></table>\n");
    if (cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "more")))
        sl_html_raw (h, "<p class=\"note\">The first 1,000 entries are shown; use `sluicectl "
                        "audit report` for the rest.</p>");
    cJSON_Delete (res);
    sl_console_end (h);
}

/* ------------------------------------------------------------------------ */
/*  Consents                                                                 */

static void
s_consent_row (sl_console_t *c, sl_web_req_t *req, sl_html_t *h, const cJSON *r,
               const char *subject)
{
    char a[32] = "", b[32] = "";
    sl_html_raw (h, "<tr>");
    sl_html_cell (h, sl_console_str (r, "consent_id"));
    sl_html_cell (h, sl_console_str (r, "state"));
    sl_html_cell (h, sl_console_str (r, "controller"));
    sl_html_cell (h, sl_console_str (r, "recipient"));
    char *p = cJSON_PrintUnformatted (cJSON_GetObjectItemCaseSensitive (r, "purposes"));
    sl_html_cell (h, p ? p : "");
    free (p);
    p = cJSON_PrintUnformatted (cJSON_GetObjectItemCaseSensitive (r, "record_types"));
    sl_html_cell (h, p ? p : "");
    free (p);
    double t;
    if ((t = sl_console_num (r, "valid_from")) > 0)
        sl_time_format_as ((int64_t) t * 1000000, NULL, SL_TIME_FMT_DATE, a, sizeof a);
    if ((t = sl_console_num (r, "valid_to")) > 0)
        sl_time_format_as ((int64_t) t * 1000000, NULL, SL_TIME_FMT_DATE, b, sizeof b);
    char valid[80];
    snprintf (valid, sizeof valid, "%s .. %s", a, *b ? b : "no expiry");
    sl_html_cell (h, valid);
    sl_html_raw (h, "<td>");
    if (sl_console_is_admin (c) && strcmp (sl_console_str (r, "state"), "withdrawn") != 0) {
        sl_html_raw (h, "<form method=\"post\" action=\"/consents/change\" class=\"inline\">");
        sl_console_csrf (req, h);
        sl_html_raw (h, "<input type=\"hidden\" name=\"op\" value=\"withdraw\">"
                        "<input type=\"hidden\" name=\"id\" value=\"");
        sl_html_text (h, sl_console_str (r, "consent_id"));
        sl_html_raw (h, "\"><input type=\"hidden\" name=\"subject\" value=\"");
        sl_html_text (h, subject);
        sl_html_raw (h, "\"><button class=\"withdraw\">Withdraw</button></form>");
    }
    sl_html_raw (h, "</td></tr>\n");
}

/*  The consent channel's forms: it reads nothing (no admin commands), it
    records what citizens decide, as ConsentEvent publishes. */
static void
s_consent_source_forms (sl_web_req_t *req, sl_html_t *h, const char *subject)
{
    sl_html_raw (h, "<p>As the city's consent channel this key records citizens' decisions; "
                    "it cannot read consents back (administrators and the auditor can).</p>"
                    "<h2>Record a consent given</h2><form method=\"post\" "
                    "action=\"/consents/change\" id=\"consent-grant\" class=\"filters\">");
    sl_console_csrf (req, h);
    sl_html_raw (h, "<input type=\"hidden\" name=\"op\" value=\"grant\">"
                    "<label>Citizen id <input name=\"subject\" id=\"g-subject\" "
                    "autocomplete=\"off\" value=\"");
    sl_html_text (h, subject ? subject : "");
    sl_html_raw (h, "\"></label><label>Controller <input name=\"controller\" id=\"g-controller\">"
                    "</label><label>Recipient <input name=\"recipient\" id=\"g-recipient\">"
                    "</label><label>Purpose <input name=\"purpose\" id=\"g-purpose\"></label>"
                    "<label>Record type <input name=\"records\" id=\"g-records\"></label>"
                    "<label>Valid for days <input name=\"days\" id=\"g-days\" value=\"365\">"
                    "</label><label>Evidence <input name=\"evidence\" id=\"g-evidence\"></label>"
                    "<button id=\"btn-grant\">Record</button></form>\n"
                    "<h2>Record a withdrawal</h2><form method=\"post\" action=\"/consents/change\" "
                    "id=\"consent-withdraw\" class=\"filters\">");
    sl_console_csrf (req, h);
    sl_html_raw (h, "<input type=\"hidden\" name=\"op\" value=\"withdraw\">"
                    "<label>Consent id <input name=\"id\" id=\"w-id\"></label>"
                    "<label>Citizen id <input name=\"subject\" id=\"w-subject\" "
                    "autocomplete=\"off\"></label><button id=\"btn-withdraw\">Record</button>"
                    "</form>\n");
}

static void
s_consents_body (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp, const char *subject,
                 const char *notice)
{
    sl_html_t *h = resp->body;
    sl_console_begin (c, req, h, "Consents", "consents");
    if (notice)
        sl_console_box (h, "ok", notice);
    if (c->consent_source) {
        s_consent_source_forms (req, h, subject);
        sl_console_end (h);
        return;
    }
    sl_html_raw (h, "<form method=\"post\" action=\"/consents\" id=\"consent-lookup\" "
                    "class=\"filters\">");
    sl_console_csrf (req, h);
    sl_html_raw (h, "<label>Citizen id <input name=\"subject\" id=\"c-subject\" "
                    "autocomplete=\"off\" value=\"");
    sl_html_text (h, subject ? subject : "");
    sl_html_raw (h, "\"></label> <button id=\"btn-consents\">Look up</button></form>\n");
    if (subject && *subject) {
        cJSON *args = cJSON_CreateObject (), *res = NULL;
        char err[1024];
        cJSON_AddStringToObject (args, "subject", subject);
        int rc = sl_console_call (c, "consent.list", args, &res, NULL, err, sizeof err);
        if (rc != 0) {
            resp->status = sl_reason_http (NULL, rc);
            sl_console_box (h, "error", err);
        }
        else {
            sl_html_printf (h, "<table id=\"consents\"><thead><tr><th>Consent</th><th>State</th>"
                               "<th>Controller</th><th>Recipient</th><th>Purposes</th>"
                               "<th>Record types</th><th>Valid</th><th></th></tr></thead>"
                               "<tbody>\n");
            const cJSON *r;
            cJSON_ArrayForEach (r, res)
                s_consent_row (c, req, h, r, subject);
            sl_html_raw (h, "</tbody></table>\n");
            if (cJSON_GetArraySize (res) == 0)
                sl_html_raw (h, "<p class=\"note\" id=\"no-consents\">No consent your role may "
                                "see is recorded for this citizen.</p>");
        }
        cJSON_Delete (res);
    }
    if (sl_console_is_admin (c)) {
        const char *b = sl_console_bureau (c);
        sl_html_raw (h, "<h2>Record a consent</h2><form method=\"post\" action=\"/consents/change"
                        "\" id=\"consent-grant\" class=\"filters\">");
        sl_console_csrf (req, h);
        sl_html_raw (h, "<input type=\"hidden\" name=\"op\" value=\"grant\">"
                        "<label>Citizen id <input name=\"subject\" id=\"g-subject\" value=\"");
        sl_html_text (h, subject ? subject : "");
        sl_html_raw (h, "\"></label><label>Controller <input name=\"controller\" "
                        "id=\"g-controller\" value=\"");
        sl_html_text (h, b ? b : "");
        sl_html_raw (h, "\"></label><label>Recipient <input name=\"recipient\" id=\"g-recipient"
                        "\"></label><label>Purpose <input name=\"purpose\" id=\"g-purpose\">"
                        "</label><label>Record types <input name=\"records\" id=\"g-records\" "
                        "placeholder=\"health.v1.Encounter\"></label><label>Valid to <input "
                        "name=\"to\" id=\"g-to\" placeholder=\"2027-12-31\"></label>"
                        "<label>Evidence <input name=\"evidence\" id=\"g-evidence\" "
                        "placeholder=\"signed form 2026-117\"></label>"
                        "<button id=\"btn-grant\">Grant</button></form>\n");
    }
    sl_console_end (h);
}

void
sl_page_consents (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    int post = strcmp (sl_web_method (req), "POST") == 0;
    s_consents_body (c, req, resp, post ? sl_web_arg (req, "subject") : NULL, NULL);
}

/*  Splits "a, b" into a JSON array of strings. */
static cJSON *
s_list (const char *text)
{
    cJSON *a = cJSON_CreateArray ();
    char buf[1024];
    snprintf (buf, sizeof buf, "%s", text ? text : "");
    for (char *save = NULL, *p = strtok_r (buf, ", ", &save); p; p = strtok_r (NULL, ", ", &save))
        cJSON_AddItemToArray (a, cJSON_CreateString (p));
    return a;
}

/*  The consent channel's change: one ConsentEvent on the data plane. */
/*  A consent change the broker refused: its status, the page and the way back. */
static void
s_consent_refused (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp, int rc,
                   const char *err)
{
    resp->status = sl_reason_http (NULL, rc);
    sl_console_begin (c, req, resp->body, "Consents", "consents");
    sl_console_box (resp->body, "error", err);
    sl_html_raw (resp->body, "<p><a href=\"/consents\">Back to consents</a></p>");
    sl_console_end (resp->body);
}

static void
s_consent_publish (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp, int withdraw,
                   const char *subject)
{
    char id[64], err[1024], notice[256];
    const char *given = sl_web_arg (req, "id");
    if (given && *given)
        snprintf (id, sizeof id, "%.60s", given);
    else {
        unsigned char r[8];
        char hex[17];
        randombytes_buf (r, sizeof r);
        sodium_bin2hex (hex, sizeof hex, r, sizeof r);
        snprintf (id, sizeof id, "console-%s", hex);
    }
    const char *days = sl_web_arg (req, "days");
    int64_t valid_to = days && atol (days) > 0 ? (int64_t) time (NULL) + atol (days) * 86400 : 0;
    int rc = !subject || !*subject ? SL_EINVAL
           : sl_console_consent_event (c, !withdraw, id, subject, sl_web_arg (req, "controller"),
                                       sl_web_arg (req, "recipient"), sl_web_arg (req, "purpose"),
                                       sl_web_arg (req, "records"), sl_web_arg (req, "evidence"),
                                       valid_to, err, sizeof err);
    if (rc != 0) {
        if (!subject || !*subject)
            snprintf (err, sizeof err, "a citizen id is needed");
        s_consent_refused (c, req, resp, rc, err);
        return;
    }
    snprintf (notice, sizeof notice, "consent %s %s: applied by the broker", id,
              withdraw ? "withdrawn" : "given");
    sl_html_t *h = resp->body;
    sl_console_begin (c, req, h, "Consents", "consents");
    sl_html_raw (h, "<div id=\"consent-notice\">");
    sl_console_box (h, "ok", notice);
    sl_html_raw (h, "</div>");
    s_consent_source_forms (req, h, NULL);
    sl_console_end (h);
}

void
sl_page_consent_change (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    const char *op = sl_web_arg (req, "op");
    const char *subject = sl_web_arg (req, "subject");
    if (c->consent_source) {
        s_consent_publish (c, req, resp, op && strcmp (op, "withdraw") == 0, subject);
        return;
    }
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    char err[1024], notice[256];
    const char *command;
    if (op && strcmp (op, "withdraw") == 0) {
        command = "consent.withdraw";
        const char *id = sl_web_arg (req, "id");
        cJSON_AddStringToObject (args, "id", id ? id : "");
        cJSON_AddStringToObject (args, "reason", "withdrawn in the console");
    }
    else {
        command = "consent.grant";
        const char *names[] = { "subject", "controller", "recipient", "evidence" };
        for (int i = 0; i < 4; i++) {
            const char *v = sl_web_arg (req, names[i]);
            if (v && *v)
                cJSON_AddStringToObject (args, names[i], v);
        }
        cJSON_AddItemToObject (args, "purposes", s_list (sl_web_arg (req, "purpose")));
        cJSON_AddItemToObject (args, "record_types", s_list (sl_web_arg (req, "records")));
        cJSON_AddItemToObject (args, "fields", cJSON_CreateArray ());
        const char *to = sl_web_arg (req, "to");
        if (to && *to)
            cJSON_AddStringToObject (args, "valid_to", to);
        cJSON_AddStringToObject (args, "collection_method", "console");
    }
    int rc = sl_console_call (c, command, args, &res, NULL, err, sizeof err);
    if (rc != 0) {
        s_consent_refused (c, req, resp, rc, err);
        return;
    }
    snprintf (notice, sizeof notice, "%s: consent %.80s, now %.40s", command,
              sl_console_str (res, "consent_id"), sl_console_str (res, "state"));
    cJSON_Delete (res);
    s_consents_body (c, req, resp, subject, notice);
}

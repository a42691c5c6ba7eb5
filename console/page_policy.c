/*  page_policy — the Policies pages: the owners' list, one owner's policy in
    an editor (Check, Dry run, Apply with a change message), its history
    with the change messages, the diff of any two versions and rollback.

    Check and Dry run are policy.apply with dry_run: the broker parses and
    checks the text against its registry and the city's purposes, so the
    diagnostics are the ones a real apply would give, and nothing changes.
    The change message goes with the apply and the broker records it in
    the policy.apply audit entry (detail message=...); the history shows
    it from there. */
#include "sl_console.h"
#include "sl_reason.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_valid_owner (const char *owner)
{
    if (!owner || !*owner || strlen (owner) > 40)
        return 0;
    for (const char *p = owner; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

/* ------------------------------------------------------------------------ */
/*  The list                                                                 */

void
sl_page_policies (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    sl_html_t *h = resp->body;
    char err[1024];
    cJSON *list = NULL;
    sl_console_begin (c, req, h, "Policies", "policies");
    int rc = sl_console_call (c, "policy.list", NULL, &list, NULL, err, sizeof err);
    if (rc != 0) {
        sl_console_refused (resp, rc, err);
        return;
    }
    const char *bureau = sl_console_bureau (c);
    int own_listed = 0;
    sl_html_raw (h, "<table id=\"policies\"><thead><tr><th>Owner</th><th>Version</th>"
                    "<th>Rules</th><th>Applied by</th><th>Role</th><th>When (UTC)</th>"
                    "</tr></thead><tbody>\n");
    const cJSON *o;
    cJSON_ArrayForEach (o, list) {
        const char *owner = sl_console_str (o, "owner");
        if (!sl_console_may_read_owner (c, owner))
            continue;
        own_listed |= bureau && strcmp (owner, bureau) == 0;
        sl_html_raw (h, "<tr><td><a href=\"/policy?owner=");
        sl_html_url (h, owner);
        sl_html_raw (h, "\">");
        sl_html_text (h, owner);
        sl_html_raw (h, "</a></td>");
        static const char *const cols[] = { "version", "rules", "actor", "role", "time_utc" };
        for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
            sl_html_cell (h, sl_console_str (o, cols[i]));
        sl_html_raw (h, "</tr>\n");
    }
    sl_html_raw (h, "</tbody></table>\n");
    if (bureau && !own_listed) {
        sl_html_raw (h, "<p>No policy of ");
        sl_html_text (h, bureau);
        sl_html_raw (h, " is applied yet: nothing of its data leaves. <a href=\"/policy?owner=");
        sl_html_url (h, bureau);
        sl_html_raw (h, "\">Write the first one</a>.</p>\n");
    }
    if (bureau)
        sl_html_raw (h, "<p class=\"note\">Your role reads its own bureau's policy and the "
                        "city's; the auditor and the city administrator read every owner's.</p>");
    cJSON_Delete (list);
    sl_console_end (h);
}

/* ------------------------------------------------------------------------ */
/*  The editor and the check results                                          */

static size_t
s_lines (const char *text)
{
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == '\n' && p[1];
    return n;
}

static void
s_editor (sl_console_t *c, sl_web_req_t *req, sl_html_t *h, const char *owner, const char *text,
          const char *message)
{
    int writable = sl_console_may_write_owner (c, owner);
    sl_html_raw (h, "<form method=\"post\" action=\"/policy/check\" id=\"policy-form\">");
    sl_console_csrf (req, h);
    sl_html_raw (h, "<input type=\"hidden\" name=\"owner\" value=\"");
    sl_html_text (h, owner);
    sl_html_raw (h, "\"><div class=\"editor\"><pre class=\"gutter\" id=\"gutter\" "
                    "aria-hidden=\"true\">");
    size_t n = s_lines (text);
    for (size_t i = 1; i <= n; i++)
        sl_html_printf (h, "%zu\n", i);
    sl_html_printf (h, "</pre><textarea name=\"text\" id=\"policy-text\" spellcheck=\"false\" "
                       "rows=\"%zu\" wrap=\"off\"%s>", n < 18 ? (size_t) 18 : n + 2,
                    writable ? "" : " readonly");
    sl_html_text (h, text);
    sl_html_raw (h, "</textarea></div>\n<div class=\"actions\">"
                    "<button name=\"action\" value=\"check\" id=\"btn-check\">Check</button> "
                    "<button name=\"action\" value=\"dryrun\" id=\"btn-dryrun\">Dry run</button>");
    if (writable) {
        sl_html_raw (h, " <label>Change message <input name=\"message\" id=\"message\" "
                        "size=\"50\" maxlength=\"240\" placeholder=\"why this change\" value=\"");
        sl_html_text (h, message ? message : "");
        sl_html_raw (h, "\"></label> <button formaction=\"/policy/apply\" id=\"btn-apply\" "
                        "class=\"danger\">Apply</button>");
    }
    else
        sl_html_raw (h, " <span class=\"note\">read only: only this owner's administrators "
                        "apply its policy</span>");
    sl_html_raw (h, "</div></form>\n");
}

/*  One diagnostic in the list. */
static void
s_diag_item (sl_html_t *h, const cJSON *e, const char *severity)
{
    sl_html_printf (h, "<li class=\"diag %s\" data-line=\"%d\" data-col=\"%d\"><a href=\"#L%d\">",
                    severity, (int) sl_console_num (e, "line"), (int) sl_console_num (e, "col"),
                    (int) sl_console_num (e, "line"));
    sl_html_text (h, sl_console_str (e, "file"));
    sl_html_printf (h, ":%d:%d</a>: %s: <span class=\"msg\">", (int) sl_console_num (e, "line"),
                    (int) sl_console_num (e, "col"), severity);
    sl_html_text (h, sl_console_str (e, "message"));
    sl_html_raw (h, "</span>");
    if (*sl_console_str (e, "hint")) {
        sl_html_raw (h, " <span class=\"hint\">");
        sl_html_text (h, sl_console_str (e, "hint"));
        sl_html_raw (h, "</span>");
    }
    sl_html_raw (h, "</li>\n");
}

/*  The markers of `list` on `line`: a caret at the column and the message. */
static int
s_markers (sl_html_t *h, const cJSON *list, int line, const char *severity)
{
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach (e, list) {
        if ((int) sl_console_num (e, "line") != line)
            continue;
        int col = (int) sl_console_num (e, "col");
        sl_html_printf (h, "<div class=\"marker %s\"><code>", severity);
        for (int i = 1; i < col && i < 400; i++)
            sl_html_raw (h, " ");
        sl_html_raw (h, "^</code> ");
        sl_html_text (h, sl_console_str (e, "message"));
        if (*sl_console_str (e, "hint")) {
            sl_html_raw (h, " <span class=\"hint\">");
            sl_html_text (h, sl_console_str (e, "hint"));
            sl_html_raw (h, "</span>");
        }
        sl_html_raw (h, "</div>");
        n++;
    }
    return n;
}

/*  The diagnostics under the lines they concern: a listing of the text with
    each error's (and lint warning's, where the broker gives them) caret at
    its column, and the list of them with hints. */
static void
s_diagnostics (sl_html_t *h, const char *text, const cJSON *errors, const cJSON *warnings)
{
    int ne = cJSON_GetArraySize (errors), nw = cJSON_GetArraySize (warnings);
    sl_html_printf (h, "<section id=\"diagnostics\"><h2>%d error%s", ne, ne == 1 ? "" : "s");
    if (nw)
        sl_html_printf (h, ", %d warning%s", nw, nw == 1 ? "" : "s");
    sl_html_raw (h, "</h2><ul class=\"diags\">");
    const cJSON *e;
    cJSON_ArrayForEach (e, errors)
        s_diag_item (h, e, "error");
    cJSON_ArrayForEach (e, warnings)
        s_diag_item (h, e, "warning");
    sl_html_raw (h, "</ul><table class=\"listing\"><tbody>\n");
    int line = 1;
    for (const char *p = text; *p || line == 1; line++) {
        const char *nl = strchr (p, '\n');
        size_t len = nl ? (size_t) (nl - p) : strlen (p);
        int has_e = 0, has_w = 0;
        cJSON_ArrayForEach (e, errors)
            has_e |= (int) sl_console_num (e, "line") == line;
        cJSON_ArrayForEach (e, warnings)
            has_w |= (int) sl_console_num (e, "line") == line;
        sl_html_printf (h, "<tr id=\"L%d\"%s><td class=\"ln\">%d</td><td><code>", line,
                        has_e ? " class=\"err\"" : has_w ? " class=\"wrn\"" : "", line);
        sl_html_textn (h, p, len);
        sl_html_raw (h, "</code>");
        s_markers (h, errors, line, "error");
        s_markers (h, warnings, line, "warning");
        sl_html_raw (h, "</td></tr>\n");
        if (!nl)
            break;
        p = nl + 1;
        if (!*p)
            break;
    }
    sl_html_raw (h, "</tbody></table></section>\n");
}

/*  A subject handling change that releases raw ids is the most sensitive. */
static int
s_sensitive (const cJSON *ch)
{
    return strcmp (sl_console_str (ch, "subject_after"), "keep") == 0
        && strcmp (sl_console_str (ch, "subject_before"), "keep") != 0
        && strcmp (sl_console_str (ch, "after"), "none") != 0;
}

static void
s_fields (sl_html_t *h, const cJSON *ch, const char *name, const char *sign)
{
    const cJSON *f;
    cJSON_ArrayForEach (f, cJSON_GetObjectItemCaseSensitive (ch, name))
        if (cJSON_IsString (f)) {
            sl_html_printf (h, "<span class=\"f%s\">%s", *sign == '+' ? "add" : "rm", sign);
            sl_html_text (h, f->valuestring);
            sl_html_raw (h, "</span> ");
        }
}

/*  A table of access changes (dry run, diff, live subscriptions); the
    sensitive ones first, marked. */
static void
s_changes (sl_html_t *h, const cJSON *changes, const char *id, const char *empty)
{
    if (cJSON_GetArraySize (changes) == 0) {
        sl_html_printf (h, "<p id=\"%s\" class=\"note\">%s</p>\n", id, empty);
        return;
    }
    sl_html_printf (h, "<table id=\"%s\" class=\"changes\"><thead><tr><th>Consumer</th>"
                       "<th>Record type</th><th>Purpose</th><th>Access</th><th>Fields</th>"
                       "<th>Subject</th><th>Time</th></tr></thead><tbody>\n", id);
    for (int pass = 0; pass < 2; pass++) {
        const cJSON *ch;
        cJSON_ArrayForEach (ch, changes) {
            int sens = s_sensitive (ch);
            if (sens != (pass == 0))
                continue;
            sl_html_printf (h, "<tr%s>", sens ? " class=\"sensitive\"" : "");
            sl_html_cell (h, sl_console_str (ch, "consumer"));
            sl_html_cell (h, sl_console_str (ch, "record_type"));
            sl_html_cell (h, sl_console_str (ch, "purpose"));
            sl_html_raw (h, "<td>");
            const char *before = sl_console_str (ch, "before");
            const char *after = sl_console_str (ch, "after");
            sl_html_text (h, strcmp (before, "none") == 0 ? "gains access"
                             : strcmp (after, "none") == 0 ? "loses access" : "copy changes");
            sl_html_raw (h, " <small>(");
            sl_html_text (h, before);
            sl_html_raw (h, " &rarr; ");
            sl_html_text (h, after);
            sl_html_raw (h, ")</small></td><td>");
            s_fields (h, ch, "fields_added", "+");
            s_fields (h, ch, "fields_removed", "-");
            sl_html_raw (h, "</td><td>");
            const char *sb = sl_console_str (ch, "subject_before");
            const char *sa = sl_console_str (ch, "subject_after");
            if (strcmp (sb, sa) != 0) {
                sl_html_text (h, sb);
                sl_html_raw (h, " &rarr; ");
            }
            sl_html_text (h, sa);
            if (sens)
                sl_html_raw (h, " <strong class=\"warn\">raw citizen ids would leave</strong>");
            sl_html_raw (h, "</td><td>");
            const char *tb = sl_console_str (ch, "time_before");
            const char *ta = sl_console_str (ch, "time_after");
            if (strcmp (tb, ta) != 0) {
                sl_html_text (h, tb);
                sl_html_raw (h, " &rarr; ");
            }
            sl_html_text (h, ta);
            sl_html_raw (h, "</td></tr>\n");
        }
    }
    sl_html_raw (h, "</tbody></table>\n");
}

static void
s_dry_run (sl_html_t *h, const cJSON *res)
{
    char line[512];
    int sens = 0;
    const cJSON *ch;
    cJSON_ArrayForEach (ch, cJSON_GetObjectItemCaseSensitive (res, "access"))
        sens += s_sensitive (ch);
    sl_html_raw (h, "<section id=\"dryrun\"><h2>Dry run</h2>");
    if (*sl_console_str (res, "widening_text"))      /* brokers that report widening */
        sl_console_box (h, "error", sl_console_str (res, "widening_text"));
    if (sens) {
        snprintf (line, sizeof line, "%d change%s would release raw citizen ids "
                  "(subject handling becomes keep): check %s first", sens, sens == 1 ? "" : "s",
                  sens == 1 ? "it" : "them");
        sl_console_box (h, "error", line);
    }
    snprintf (line, sizeof line, "%s policy would become version %.0f (now %.0f); rule changes: "
              "%s; nothing was applied", sl_console_str (res, "owner"),
              sl_console_num (res, "version"), sl_console_num (res, "previous"),
              *sl_console_str (res, "rule_changes") ? sl_console_str (res, "rule_changes")
                                                    : "none");
    sl_console_box (h, "note", line);
    sl_html_raw (h, "<h3>Who gains or loses access to what</h3>");
    s_changes (h, cJSON_GetObjectItemCaseSensitive (res, "access"), "access-changes",
               "No access changes.");
    sl_html_raw (h, "<h3>Live subscriptions affected</h3>");
    s_changes (h, cJSON_GetObjectItemCaseSensitive (res, "subscriptions"), "subs-changes",
               "No live subscription is affected.");
    sl_html_raw (h, "</section>\n");
}

/* ------------------------------------------------------------------------ */
/*  History                                                                  */

/*  The change message of `version` from the policy.apply audit entries
    (detail "... message=TEXT"), or NULL. */
static const char *
s_message_of (const cJSON *entries, const char *version)
{
    char key[48];
    snprintf (key, sizeof key, " version=%s ", version);
    const cJSON *e;
    const char *found = NULL;
    cJSON_ArrayForEach (e, entries) {
        const char *d = sl_console_str (e, "detail");
        const char *m = strstr (d, " message=");
        if (strstr (d, key) && m)
            found = m + 9;
    }
    return found;
}

static void
s_history (sl_console_t *c, sl_web_req_t *req, sl_html_t *h, const char *owner)
{
    char err[1024];
    cJSON *args = cJSON_CreateObject (), *hist = NULL, *audit = NULL;
    cJSON_AddStringToObject (args, "owner", owner);
    if (sl_console_call (c, "policy.history", args, &hist, NULL, err, sizeof err) != 0)
        return;              /* no version yet: nothing to show */
    /* the apply entries are not older than the first version: read the log
       from there (a bisection, not a scan of the whole log) */
    const cJSON *versions0 = cJSON_GetObjectItemCaseSensitive (hist, "versions");
    double first_s = sl_console_num (cJSON_GetArrayItem (versions0, 0), "time");
    long long from = 0;
    if (first_s > 1
        && sl_console_audit_from (c, sl_console_bureau (c) ? NULL : owner,
                                  (first_s - 1) * 1e6, &from, err, sizeof err) != 0)
        from = 0;
    args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "kind", "policy.apply");
    cJSON_AddStringToObject (args, "owner", owner);
    cJSON_AddNumberToObject (args, "after_seq", (double) from);
    cJSON_AddNumberToObject (args, "limit", 1000);
    if (sl_console_call (c, "audit.query", args, &audit, NULL, err, sizeof err) != 0)
        audit = NULL;        /* the messages are extra; the history stands without them */
    const cJSON *entries = cJSON_GetObjectItemCaseSensitive (audit, "entries");
    const cJSON *versions = cJSON_GetObjectItemCaseSensitive (hist, "versions");
    double current = sl_console_num (hist, "current");
    int writable = sl_console_may_write_owner (c, owner);
    sl_html_raw (h, "<section><h2>History</h2><table id=\"history\"><thead><tr><th>Version</th>"
                    "<th>When (UTC)</th><th>Applied by</th><th>Rules</th><th>Rule changes</th>"
                    "<th>Message</th><th></th></tr></thead><tbody>\n");
    for (int i = cJSON_GetArraySize (versions) - 1; i >= 0; i--) {
        const cJSON *v = cJSON_GetArrayItem (versions, i);
        char ver[32];
        snprintf (ver, sizeof ver, "%.0f", sl_console_num (v, "version"));  /* digits only */
        int is_current = sl_console_num (v, "version") == current;
        sl_html_printf (h, "<tr data-version=\"%s\"%s><td><a href=\"/policy?owner=", ver,
                        is_current ? " class=\"current\"" : "");
        sl_html_url (h, owner);
        sl_html_printf (h, "&amp;version=%s\">%s</a>%s</td>", ver, ver,
                        is_current ? " <small>(current)</small>" : "");
        sl_html_cell (h, sl_console_str (v, "time_utc"));
        sl_html_cell (h, sl_console_str (v, "actor"));
        sl_html_cell (h, sl_console_str (v, "rules"));
        sl_html_raw (h, "<td><code>");
        sl_html_text (h, sl_console_str (v, "changes"));
        sl_html_raw (h, "</code></td><td class=\"message\">");
        sl_html_text (h, s_message_of (entries, ver));
        sl_html_raw (h, "</td><td>");
        if (writable && !is_current) {
            sl_html_raw (h, "<form method=\"post\" action=\"/policy/rollback\" class=\"inline\">");
            sl_console_csrf (req, h);
            sl_html_raw (h, "<input type=\"hidden\" name=\"owner\" value=\"");
            sl_html_text (h, owner);
            sl_html_printf (h, "\"><input type=\"hidden\" name=\"version\" value=\"%s\">"
                               "<button class=\"rollback\" data-version=\"%s\">Roll back to "
                               "%s</button></form>", ver, ver, ver);
        }
        sl_html_raw (h, "</td></tr>\n");
    }
    sl_html_raw (h, "</tbody></table>\n<form method=\"get\" action=\"/policy/diff\" "
                    "id=\"diff-form\" class=\"inline\"><input type=\"hidden\" name=\"owner\" "
                    "value=\"");
    sl_html_text (h, owner);
    sl_html_raw (h, "\">Compare version <select name=\"v1\" id=\"v1\">");
    int n = cJSON_GetArraySize (versions);
    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            sl_html_raw (h, "</select> with <select name=\"v2\" id=\"v2\">");
        if (!pass)
            sl_html_raw (h, "<option value=\"0\">0 (no policy)</option>");
        for (int i = 0; i < n; i++) {
            double ver = sl_console_num (cJSON_GetArrayItem (versions, i), "version");
            int sel = pass ? i == n - 1 : i == n - 2;
            sl_html_printf (h, "<option%s>%.0f</option>", sel ? " selected" : "", ver);
        }
    }
    sl_html_raw (h, "</select> <button id=\"btn-diff\">Diff</button></form></section>\n");
    cJSON_Delete (audit);
    cJSON_Delete (hist);
}

/* ------------------------------------------------------------------------ */
/*  Pages                                                                    */

void
sl_page_policy (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    sl_html_t *h = resp->body;
    const char *owner = sl_web_arg (req, "owner");
    const char *version = sl_web_arg (req, "version");
    char title[128], err[1024];
    if (!s_valid_owner (owner)) {
        resp->status = 400;
        sl_console_begin (c, req, h, "Policy", "policies");
        sl_console_box (h, "error", "give an owner: /policy?owner=water");
        sl_console_end (h);
        return;
    }
    snprintf (title, sizeof title, "Policy of %s", owner);
    sl_console_begin (c, req, h, title, "policies");
    const char *applied = sl_web_arg (req, "applied");
    const char *rolled = sl_web_arg (req, "rolledback");
    if (applied && *applied) {
        snprintf (err, sizeof err, "applied as version %.20s", applied);
        sl_console_box (h, "ok", err);
    }
    if (rolled && *rolled) {
        snprintf (err, sizeof err, "rolled back: version %.20s is now in force", rolled);
        sl_console_box (h, "ok", err);
    }
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    cJSON_AddStringToObject (args, "owner", owner);
    if (version && *version)
        cJSON_AddNumberToObject (args, "version", atof (version));
    int rc = sl_console_call (c, "policy.show", args, &res, NULL, err, sizeof err);
    if (rc == SL_ENOTFOUND && !(version && *version) && sl_console_may_write_owner (c, owner)) {
        sl_console_box (h, "note", "no policy applied yet for this owner: write its first "
                                   "version below (everything is denied until then)");
        s_editor (c, req, h, owner, "", NULL);
        sl_console_end (h);
        return;
    }
    if (rc != 0) {
        sl_console_refused (resp, rc, err);
        return;
    }
    sl_html_raw (h, "<p class=\"meta\">Version <b id=\"shown-version\">");
    sl_html_text (h, sl_console_str (res, "version"));
    sl_html_raw (h, "</b>");
    if (cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "current")))
        sl_html_raw (h, " (current)");
    sl_html_raw (h, ", applied by ");
    sl_html_text (h, sl_console_str (res, "actor"));
    sl_html_raw (h, " at ");
    sl_html_text (h, sl_console_str (res, "time_utc"));
    sl_html_raw (h, "</p>\n");
    s_editor (c, req, h, owner, sl_console_str (res, "text"), NULL);
    cJSON_Delete (res);
    s_history (c, req, h, owner);
    sl_console_end (h);
}

/*  Check, dry run and apply share this: runs policy.apply and renders the
    editor again with what the broker said. */
static void
s_submit (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp, int apply)
{
    sl_html_t *h = resp->body;
    const char *owner = sl_web_arg (req, "owner");
    const char *text = sl_web_arg (req, "text");
    const char *action = sl_web_arg (req, "action");
    const char *message = sl_web_arg (req, "message");
    char title[128], err[4096];
    if (!s_valid_owner (owner) || !text) {
        resp->status = 400;
        sl_console_begin (c, req, h, "Policy", "policies");
        sl_console_box (h, "error", "the form lacks the owner or the policy text");
        sl_console_end (h);
        return;
    }
    if (apply && (!message || !*message)) {
        resp->status = 400;
        snprintf (title, sizeof title, "Policy of %s", owner);
        sl_console_begin (c, req, h, title, "policies");
        sl_console_box (h, "error", "Apply needs a change message: say why, for the history "
                                    "and the audit log. Nothing was applied.");
        s_editor (c, req, h, owner, text, message);
        sl_console_end (h);
        return;
    }
    cJSON *args = cJSON_CreateObject (), *res = NULL, *refusal = NULL;
    char file[64];
    snprintf (file, sizeof file, "%s.policy", owner);
    cJSON_AddStringToObject (args, "owner", owner);
    cJSON_AddStringToObject (args, "file", file);
    cJSON_AddStringToObject (args, "text", text);
    cJSON_AddBoolToObject (args, "dry_run", !apply);
    if (apply)
        cJSON_AddStringToObject (args, "message", message);
    int rc = sl_console_call (c, "policy.apply", args, &res, &refusal, err, sizeof err);
    if (rc == 0 && apply) {
        resp->status = 303;
        snprintf (resp->location, sizeof resp->location, "/policy?owner=%s&applied=%.0f", owner,
                  sl_console_num (res, "version"));
        cJSON_Delete (res);
        return;
    }
    snprintf (title, sizeof title, "Policy of %s", owner);
    sl_console_begin (c, req, h, title, "policies");
    if (rc != 0) {
        resp->status = cJSON_GetArraySize (cJSON_GetObjectItemCaseSensitive (refusal, "errors"))
                     ? 422 : sl_reason_http (NULL, rc);
        const cJSON *errors = cJSON_GetObjectItemCaseSensitive (refusal, "errors");
        if (cJSON_GetArraySize (errors) == 0)
            sl_console_box (h, "error", err);
        else
            sl_console_box (h, "error", apply ? "not applied: the policy has errors (below)"
                                              : "the policy has errors (below)");
        s_editor (c, req, h, owner, text, message);
        if (cJSON_GetArraySize (errors)
            || cJSON_GetArraySize (cJSON_GetObjectItemCaseSensitive (refusal, "warnings")))
            s_diagnostics (h, text, errors, cJSON_GetObjectItemCaseSensitive (refusal, "warnings"));
    }
    else {
        char ok[256];
        snprintf (ok, sizeof ok, "no errors: %s rule%s", sl_console_str (res, "rules"),
                  sl_console_num (res, "rules") == 1 ? "" : "s");
        sl_html_raw (h, "<div id=\"check-ok\">");
        sl_console_box (h, "ok", ok);
        sl_html_raw (h, "</div>");
        s_editor (c, req, h, owner, text, message);
        const cJSON *warnings = cJSON_GetObjectItemCaseSensitive (res, "warnings");
        if (cJSON_GetArraySize (warnings))
            s_diagnostics (h, text, NULL, warnings);
        if (action && strcmp (action, "dryrun") == 0)
            s_dry_run (h, res);
    }
    cJSON_Delete (res);
    cJSON_Delete (refusal);
    sl_console_end (h);
}

void
sl_page_policy_check (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    s_submit (c, req, resp, 0);
}

void
sl_page_policy_apply (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    s_submit (c, req, resp, 1);
}

void
sl_page_policy_rollback (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    const char *owner = sl_web_arg (req, "owner");
    const char *version = sl_web_arg (req, "version");
    char err[2048];
    if (!s_valid_owner (owner) || !version || !*version) {
        resp->status = 400;
        sl_console_begin (c, req, resp->body, "Rollback", "policies");
        sl_console_box (resp->body, "error", "the form lacks the owner or the version");
        sl_console_end (resp->body);
        return;
    }
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    cJSON_AddStringToObject (args, "owner", owner);
    cJSON_AddNumberToObject (args, "version", atof (version));
    int rc = sl_console_call (c, "policy.rollback", args, &res, NULL, err, sizeof err);
    if (rc == 0) {
        resp->status = 303;
        snprintf (resp->location, sizeof resp->location, "/policy?owner=%s&rolledback=%.0f",
                  owner, sl_console_num (res, "version"));
        cJSON_Delete (res);
        return;
    }
    resp->status = sl_reason_http (NULL, rc);
    sl_console_begin (c, req, resp->body, "Rollback", "policies");
    sl_console_box (resp->body, "error", err);
    sl_console_end (resp->body);
}

void
sl_page_policy_diff (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    sl_html_t *h = resp->body;
    const char *owner = sl_web_arg (req, "owner");
    const char *v1 = sl_web_arg (req, "v1"), *v2 = sl_web_arg (req, "v2");
    char title[160], err[2048];
    if (!s_valid_owner (owner) || !v1 || !v2) {
        resp->status = 400;
        sl_console_begin (c, req, h, "Policy diff", "policies");
        sl_console_box (h, "error", "give owner, v1 and v2");
        sl_console_end (h);
        return;
    }
    snprintf (title, sizeof title, "Policy of %s: version %.12s against %.12s", owner, v1, v2);
    sl_console_begin (c, req, h, title, "policies");
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    cJSON_AddStringToObject (args, "owner", owner);
    cJSON_AddNumberToObject (args, "v1", atof (v1));
    cJSON_AddNumberToObject (args, "v2", atof (v2));
    int rc = sl_console_call (c, "policy.diff", args, &res, NULL, err, sizeof err);
    if (rc != 0) {
        sl_console_refused (resp, rc, err);
        return;
    }
    sl_html_raw (h, "<p><a href=\"/policy?owner=");
    sl_html_url (h, owner);
    sl_html_raw (h, "\">Back to the policy</a></p><h2>Rules</h2><pre id=\"rule-changes\">");
    const char *rules = sl_console_str (res, "rule_changes_text");
    sl_html_text (h, *rules ? rules : "no rule changed");
    sl_html_raw (h, "</pre><h2>Who gains or loses access to what</h2>");
    s_changes (h, cJSON_GetObjectItemCaseSensitive (res, "access"), "access-changes",
               "No access changes.");
    cJSON_Delete (res);
    sl_console_end (h);
}

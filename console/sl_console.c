/*  sl_console — see sl_console.h. */
#include "sl_console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_keys.h"
#include "sluice/v1/consent.pb-c.h"
#include "sl_role.h"
#include "sl_reason.h"

#include <time.h>

int
sl_console_call (sl_console_t *c, const char *command, cJSON *args, cJSON **result,
                 cJSON **refusal, char *err, size_t errlen)
{
    sl_client_options_t opts;
    memset (&opts, 0, sizeof opts);
    opts.endpoint = c->endpoint;
    opts.key_file = c->key_file;
    opts.broker_key_file = c->broker_key_file;
    char *text = args ? cJSON_PrintUnformatted (args) : NULL;
    cJSON_Delete (args);
    char *res = NULL, *refused = NULL;
    *result = NULL;
    if (refusal)
        *refusal = NULL;
    int rc = sl_admin_call_ex (&opts, command, text ? text : "{}", NULL, 0, c->timeout_ms, &res,
                               &refused, err, errlen);
    free (text);
    if (rc == 0) {
        *result = cJSON_Parse (res);
        if (!*result)
            rc = sl_console_fail (err, errlen, SL_EPROTO, "%s: the broker's answer is not JSON",
                                  command);
    }
    else if (refusal && refused)
        *refusal = cJSON_Parse (refused);
    free (res);
    free (refused);
    return rc;
}

int
sl_console_whoami (sl_console_t *c, char *err, size_t errlen)
{
    sl_keypair_t kp;
    char e[600];
    if (sl_keys_load_secret (c->key_file, &kp, e, sizeof e) != 0)
        return sl_console_fail (err, errlen, -1, "%s", e);
    sl_keys_fingerprint (kp.public_key, c->fingerprint);
    cJSON *list = NULL;
    int rc = sl_console_call (c, "member.list", NULL, &list, NULL, e, sizeof e);
    if (rc != 0)
        return sl_console_fail (err, errlen, -1, "the broker refused to list members for this key "
                                "(%s); the console is for administrators (admin:*) and auditors, "
                                "and with --consent-source for the city's consent channel", e);
    const cJSON *m;
    int found = 0;
    cJSON_ArrayForEach (m, list) {
        if (strcmp (sl_console_str (m, "public_key"), kp.public_key) == 0
            && !cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (m, "revoked"))) {
            snprintf (c->member, sizeof c->member, "%s", sl_console_str (m, "name"));
            snprintf (c->role, sizeof c->role, "%s", sl_console_str (m, "role"));
            found = 1;
        }
    }
    cJSON_Delete (list);
    memset (&kp, 0, sizeof kp);
    if (!found)
        return sl_console_fail (err, errlen, -1, "the key %s (fingerprint %s) is not a "
                                "registered member", c->key_file, c->fingerprint);
    return 0;
}

static int
s_connect_data (sl_console_t *c, sl_client_t **client, char *err, size_t errlen)
{
    sl_client_options_t opts;
    memset (&opts, 0, sizeof opts);
    opts.endpoint = c->data_endpoint;
    opts.key_file = c->key_file;
    opts.broker_key_file = c->broker_key_file;
    opts.connect_timeout_ms = c->timeout_ms;
    return sl_client_connect (&opts, client, err, errlen);
}

int
sl_console_whoami_data (sl_console_t *c, char *err, size_t errlen)
{
    sl_keypair_t kp;
    char e[600];
    sl_client_t *client = NULL;
    if (sl_keys_load_secret (c->key_file, &kp, e, sizeof e) != 0)
        return sl_console_fail (err, errlen, -1, "%s", e);
    sl_keys_fingerprint (kp.public_key, c->fingerprint);
    memset (&kp, 0, sizeof kp);
    if (!c->data_endpoint[0])
        return sl_console_fail (err, errlen, -1, "--consent-source needs the data endpoint: "
                                "--data DIR (its endpoints file) or --data-endpoint EP");
    if (s_connect_data (c, &client, e, sizeof e) != 0)
        return sl_console_fail (err, errlen, -1, "data plane %s: %s", c->data_endpoint, e);
    snprintf (c->member, sizeof c->member, "%s", sl_client_member (client));
    snprintf (c->role, sizeof c->role, "%s", SL_ROLE_CONSENT_SOURCE);
    sl_client_destroy (&client, 0);
    return 0;
}

int
sl_console_consent_event (sl_console_t *c, int give, const char *id, const char *subject,
                          const char *controller, const char *recipient, const char *purpose,
                          const char *record_type, const char *evidence, int64_t valid_to,
                          char *err, size_t errlen)
{
    Sluice__V1__ConsentEvent ev = SLUICE__V1__CONSENT_EVENT__INIT;
    int64_t now = (int64_t) time (NULL);
    char *purposes[1] = { (char *) purpose }, *types[1] = { (char *) record_type };
    ev.consent_id = (char *) id;
    ev.kind = give ? SLUICE__V1__CONSENT_EVENT__KIND__GIVEN
                   : SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN;
    ev.subject = (char *) subject;
    ev.time = now;
    if (give) {
        ev.controller = (char *) controller;
        ev.recipient = (char *) recipient;
        ev.n_purposes = 1;
        ev.purposes = purposes;
        ev.n_record_types = 1;
        ev.record_types = types;
        ev.valid_from = now - 60;
        ev.valid_to = valid_to;
        ev.collection_method = "console";
        ev.evidence = (char *) (evidence && *evidence ? evidence : "console");
    }
    size_t len = sluice__v1__consent_event__get_packed_size (&ev);
    uint8_t *body = malloc (len ? len : 1);
    sl_client_t *client = NULL;
    int rc = SL_ENOMEM;
    if (!body)
        return sl_console_fail (err, errlen, rc, "out of memory");
    sluice__v1__consent_event__pack (&ev, body);
    if ((rc = s_connect_data (c, &client, err, errlen)) == 0) {
        /* the subject travels in the header too: the broker never logs it raw */
        sl_publish_meta_t meta = { NULL, subject, now * 1000 };
        rc = sl_client_publish (client, "sluice.v1.ConsentEvent", &meta, body, len,
                                c->timeout_ms);
        if (rc != 0)
            snprintf (err, errlen, "%s", sl_client_last_error (client));
    }
    sl_client_destroy (&client, 1000);
    free (body);
    return rc;
}

int
sl_console_is_admin (const sl_console_t *c)
{
    return sl_role_is_admin (c->role);
}

int
sl_console_may_read_all (const sl_console_t *c)
{
    return sl_role_is_auditor (c->role) || sl_role_is_city_admin (c->role);
}

const char *
sl_console_bureau (const sl_console_t *c)
{
    return sl_role_bureau (c->role);
}

int
sl_console_may_read_owner (const sl_console_t *c, const char *owner)
{
    const char *b = sl_console_bureau (c);
    return !b || strcmp (owner, b) == 0 || strcmp (owner, "city") == 0;
}

int
sl_console_may_write_owner (const sl_console_t *c, const char *owner)
{
    const char *scope = sl_role_admin_scope (c->role);
    return scope && owner && strcmp (scope, owner) == 0;
}

const char *
sl_console_str (const cJSON *o, const char *name)
{
    static char num[64];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, name);
    if (cJSON_IsString (v) && v->valuestring)
        return v->valuestring;
    if (cJSON_IsNumber (v)) {
        if (v->valuedouble == (double) (long long) v->valuedouble)
            snprintf (num, sizeof num, "%lld", (long long) v->valuedouble);
        else
            snprintf (num, sizeof num, "%g", v->valuedouble);
        return num;
    }
    if (cJSON_IsBool (v))
        return cJSON_IsTrue (v) ? "yes" : "no";
    return "";
}

double
sl_console_num (const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, name);
    return cJSON_IsNumber (v) ? v->valuedouble : 0;
}

void
sl_console_csrf (sl_web_req_t *req, sl_html_t *h)
{
    sl_html_raw (h, "<input type=\"hidden\" name=\"csrf\" value=\"");
    sl_html_text (h, sl_web_csrf (req));
    sl_html_raw (h, "\">");
}

void
sl_console_box (sl_html_t *h, const char *kind, const char *text)
{
    sl_html_printf (h, "<div class=\"box %s\" role=\"%s\"><pre>", kind,
                    strcmp (kind, "error") == 0 ? "alert" : "status");
    sl_html_text (h, text);
    sl_html_raw (h, "</pre></div>\n");
}

void
sl_console_refused (sl_web_resp_t *resp, int rc, const char *err)
{
    resp->status = sl_reason_http (NULL, rc);
    sl_console_box (resp->body, "error", err);
    sl_console_end (resp->body);
}

/*  Navigation entries and who may use them. */
typedef struct {
    const char *id, *href, *label;
    int (*may) (const sl_console_t *c);
} s_nav_t;

static int s_any (const sl_console_t *c) { return !c->consent_source; }
static int s_reader (const sl_console_t *c) { return sl_console_may_read_all (c); }
static int s_everyone (const sl_console_t *c) { (void) c; return 1; }

static const s_nav_t s_nav[] = {
    { "overview", "/", "Members &amp; status", s_any },
    { "policies", "/policies", "Policies", s_any },
    { "explain", "/explain", "Explain", s_any },
    { "audit", "/audit", "Audit", s_any },
    { "report", "/report", "Citizen report", s_reader },
    { "consents", "/consents", "Consents", s_everyone },
};

void
sl_console_begin (sl_console_t *c, sl_web_req_t *req, sl_html_t *h, const char *title,
                  const char *nav)
{
    sl_html_raw (h, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width\"><title>");
    sl_html_text (h, title);
    sl_html_raw (h, " · sluice console</title>"
                    "<link rel=\"stylesheet\" href=\"/static/console.css\">"
                    "<script src=\"/static/console.js\" defer></script></head>\n<body>"
                    "<header><span class=\"brand\">sluice console</span><nav>");
    for (size_t i = 0; i < sizeof s_nav / sizeof s_nav[0]; i++)
        if (s_nav[i].may (c))
            sl_html_printf (h, "<a href=\"%s\"%s>%s</a>", s_nav[i].href,
                            nav && strcmp (nav, s_nav[i].id) == 0 ? " class=\"current\"" : "",
                            s_nav[i].label);
    sl_html_raw (h, "</nav><span class=\"who\" id=\"who\">");
    sl_html_text (h, c->member);
    sl_html_raw (h, " <b>");
    sl_html_text (h, c->role);
    sl_html_raw (h, "</b> key ");
    sl_html_text (h, c->fingerprint);
    sl_html_raw (h, "</span><form method=\"post\" action=\"/logout\" class=\"inline\">");
    sl_console_csrf (req, h);
    sl_html_raw (h, "<button>Log out</button></form></header>\n<main>\n<h1>");
    sl_html_text (h, title);
    sl_html_raw (h, "</h1>\n");
}

void
sl_console_end (sl_html_t *h)
{
    sl_html_raw (h, "</main></body></html>\n");
}

static void
s_logout (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    (void) c;
    sl_web_end_session (req);
    resp->content_type = "text/plain; charset=utf-8";
    sl_html_raw (resp->body, "logged out; restart sluice-console for a new login URL\n");
}

static void
s_static (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp)
{
    (void) c;
    const unsigned char *data;
    size_t len;
    const char *type;
    if (sl_console_asset (sl_web_path (req) + 8, &data, &len, &type) != 0) {
        resp->status = 404;
        resp->content_type = "text/plain; charset=utf-8";
        sl_html_raw (resp->body, "no such file\n");
        return;
    }
    resp->content_type = type;
    sl_html_bytes (resp->body, data, len);
}

static const struct {
    const char *method, *path;
    sl_page_fn *fn;
} s_routes[] = {
    { "GET", "/", sl_page_overview },
    { "GET", "/policies", sl_page_policies },
    { "GET", "/policy", sl_page_policy },
    { "POST", "/policy/check", sl_page_policy_check },
    { "POST", "/policy/apply", sl_page_policy_apply },
    { "POST", "/policy/rollback", sl_page_policy_rollback },
    { "GET", "/policy/diff", sl_page_policy_diff },
    { "GET", "/explain", sl_page_explain },
    { "POST", "/explain", sl_page_explain },
    { "GET", "/audit", sl_page_audit },
    { "GET", "/audit/chart", sl_page_audit_chart },
    { "GET", "/audit/export", sl_page_audit_export },
    { "GET", "/audit/verify", sl_page_audit_verify },
    { "GET", "/report", sl_page_report },
    { "POST", "/report", sl_page_report },
    { "GET", "/consents", sl_page_consents },
    { "POST", "/consents", sl_page_consents },
    { "POST", "/consents/change", sl_page_consent_change },
    { "POST", "/logout", s_logout },
};

void
sl_console_handle (void *app, sl_web_req_t *req, sl_web_resp_t *resp)
{
    sl_console_t *c = app;
    const char *path = sl_web_path (req);
    const char *method = strcmp (sl_web_method (req), "HEAD") == 0 ? "GET" : sl_web_method (req);
    if (strcmp (method, "GET") == 0 && strncmp (path, "/static/", 8) == 0) {
        s_static (c, req, resp);
        return;
    }
    int path_known = 0;
    for (size_t i = 0; i < sizeof s_routes / sizeof s_routes[0]; i++) {
        if (strcmp (s_routes[i].path, path) != 0)
            continue;
        path_known = 1;
        if (strcmp (s_routes[i].method, method) == 0) {
            s_routes[i].fn (c, req, resp);
            return;
        }
    }
    resp->status = path_known ? 405 : 404;
    sl_console_begin (c, req, resp->body, path_known ? "Method not allowed" : "Not found", NULL);
    sl_console_box (resp->body, "error", path_known ? "this page does not take that method"
                                                    : "there is no such page");
    sl_console_end (resp->body);
}

/*  sl_console — the console application: who is signed in (member, role,
    key), calls on the broker's admin plane with that member's own key, the
    page frame, and the route table. Pages live in one file per area:
    page_policy.c, page_audit.c, page_people.c (overview and members,
    explain, citizen report, consents).

    Every action is an admin-plane command sent with the user's key
    (sl_admin_call_ex from libsluice, as sluicectl sends them), so the
    broker checks the role and writes the audit entries; the console only
    hides what the role cannot use. A page opened by URL that the role may
    not see shows the broker's refusal.
*/
#ifndef SL_CONSOLE_H
#define SL_CONSOLE_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "sl_html.h"
#include "sl_web.h"
#include "sluice.h"

typedef struct {
    char endpoint[512];
    char key_file[512];
    char broker_key_file[512];
    int timeout_ms;
    int consent_source;       /* --consent-source: the city's consent channel, which
                                 has no admin commands: consents go as ConsentEvent
                                 publishes on the data plane (CONSENT.md) */
    char data_endpoint[512];  /* the data plane, for consent_source */
    char member[64];          /* the member our key is registered as */
    char role[64];            /* its role: admin:water, admin:city, auditor */
    char fingerprint[17];     /* our key's fingerprint */
    int64_t last_status_ms;   /* for rates between two status pages */
    double last_commits;
    struct { char consumer[64]; double depth; } last_queues[32];
    size_t nlast_queues;
    /* (seq, time) of audit entries seen: the log is append-only, so these
       never change; page_audit.c bisects time ranges with them */
    struct { double seq, time_us; } samples[512];
    size_t nsamples, next_sample;
} sl_console_t;

/*  Runs `command` with `args` (taken, freed whatever happens; NULL = {}).
    On success returns 0 and *result the parsed result (caller deletes).
    On failure returns the SL_E* code with the broker's or the transport's
    text in `err`; when the broker attached a result to its refusal
    (policy.apply's errors) and `refusal` is not NULL, *refusal gets it
    parsed (caller deletes). */
int sl_console_call (sl_console_t *c, const char *command, cJSON *args, cJSON **result,
                     cJSON **refusal, char *err, size_t errlen);

/*  Learns who the key belongs to (member.list, matched by public key).
    Returns 0, or -1 with `err` saying what to do. */
int sl_console_whoami (sl_console_t *c, char *err, size_t errlen);

/*  For --consent-source: connects to the data plane to learn the member
    name (role shown as consent-source; the broker refuses its publishes if
    the key has another role). Returns 0 or -1 with `err`. */
int sl_console_whoami_data (sl_console_t *c, char *err, size_t errlen);

/*  Publishes one ConsentEvent (given when `give`, else withdrawn) on the
    data plane and waits for the broker's answer. Strings are borrowed;
    purpose/record_type/evidence only for a grant, valid_to 0 = none.
    Returns 0, or an SL_E* code with the broker's reason in `err`. */
int sl_console_consent_event (sl_console_t *c, int give, const char *id, const char *subject,
                              const char *controller, const char *recipient,
                              const char *purpose, const char *record_type,
                              const char *evidence, int64_t valid_to, char *err, size_t errlen);

/*  Role tests. */
int sl_console_is_admin (const sl_console_t *c);          /* admin:* */
int sl_console_may_read_all (const sl_console_t *c);      /* auditor, admin:city */
/*  The bureau of an admin:<bureau> role, or NULL (city, auditor). */
const char *sl_console_bureau (const sl_console_t *c);
/*  May this role read `owner`'s policy (the broker's rule, repeated to
    decide which links to show). */
int sl_console_may_read_owner (const sl_console_t *c, const char *owner);
/*  May this role change `owner`'s policy (admin:owner; city for admin:city). */
int sl_console_may_write_owner (const sl_console_t *c, const char *owner);

/*  The page frame: head, navigation (the entries this role can use, `nav`
    marked current), who is signed in, then <main>. */
void sl_console_begin (sl_console_t *c, sl_web_req_t *req, sl_html_t *h, const char *title,
                       const char *nav);
void sl_console_end (sl_html_t *h);

/*  A boxed message: kind "error", "ok" or "note". Text is escaped. */
void sl_console_box (sl_html_t *h, const char *kind, const char *text);

/*  Ends a page the broker refused: the HTTP status of SL_E* `rc` (common/
    sl_reason's table), `err` in an error box, then sl_console_end on
    resp->body. */
void sl_console_refused (sl_web_resp_t *resp, int rc, const char *err);

/*  Writes the hidden CSRF field of a form. */
void sl_console_csrf (sl_web_req_t *req, sl_html_t *h);

/*  A value from a JSON object as text ("" when missing); numbers are
    printed as integers when whole, into one static buffer: a number's text
    is valid until the next call, so use it before calling again (not two
    in one printf). */
const char *sl_console_str (const cJSON *o, const char *name);
double sl_console_num (const cJSON *o, const char *name);

/*  Formats `err` (errlen bytes at most, as snprintf cuts) and yields `rc`:
    a failure in one statement,
    `return sl_console_fail (err, errlen, -1, "what was wrong", ...);`. */
#define sl_console_fail(err, errlen, rc, ...) (snprintf ((err), (errlen), __VA_ARGS__), (rc))

/*  The route table's handler (sl_web_handler_fn). */
void sl_console_handle (void *app, sl_web_req_t *req, sl_web_resp_t *resp);

/*  Static assets compiled into the binary (sl_console_assets.c, generated
    from console/assets/). Returns 0 and the bytes, or -1. */
int sl_console_asset (const char *name, const unsigned char **data, size_t *len,
                      const char **type);

/*  A page: answers `req` into `resp` (the route table in sl_console.c
    names each with its method and path). */
typedef void (sl_page_fn) (sl_console_t *c, sl_web_req_t *req, sl_web_resp_t *resp);

/*  Pages: page_policy.c */
sl_page_fn sl_page_policies, sl_page_policy, sl_page_policy_check, sl_page_policy_apply,
    sl_page_policy_rollback, sl_page_policy_diff;
/*  page_audit.c */
sl_page_fn sl_page_audit, sl_page_audit_chart, sl_page_audit_export, sl_page_audit_verify;
/*  sl_audit_range.c: where to start reading the audit log (after_seq) for
    entries at or after `since_us` in the scope of `owner` (NULL: the
    caller's whole scope), by bisection on sequence numbers (its design
    notes). Returns 0, or an SL_E* code with `err`. */
int sl_console_audit_from (sl_console_t *c, const char *owner, double since_us,
                           long long *from, char *err, size_t errlen);

/*  Remembers the (seq, time_us) of audit entry `e` (borrowed) for later
    bisections. Cannot fail. */
void sl_console_learn (sl_console_t *c, const cJSON *e);

/*  Parses a time as the broker's audit filters take it (common/sl_time.h:
    a date, a date and time with or without Z or an offset, Unix seconds, a
    relative time like 2h; zone-less in UTC). Returns 0 and *us (Unix
    microseconds), or -1. */
int sl_console_time_us (const char *text, double *us);
/*  page_people.c */
sl_page_fn sl_page_overview, sl_page_explain, sl_page_report, sl_page_consents,
    sl_page_consent_change;

#endif

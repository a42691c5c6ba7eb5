/*  sl_admin — the admin plane's command table.
 *
 *  Each command is {name, required role, handler}. Command groups live in
 *  their own files (sl_admin_member.c, sl_admin_status.c; later policy.*,
 *  consent.*, audit.*) and are added with sl_admin_register(). The dispatcher
 *  decodes the AdminRequest, checks the caller's role, parses args_json into
 *  a cJSON object, calls the handler and packs the AdminResponse.
 *
 *  Required role: an exact role ("admin:city"), "admin:*" (any admin role),
 *  "admin:*|auditor" (any admin or the auditor), or "*" (any member):
 *  sl_role_matches (common/sl_role.h) decides.
 */
#ifndef SL_ADMIN_H
#define SL_ADMIN_H

#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

#include "sl_broker.h"
#include "sl_registry.h"

typedef struct {
    sl_broker_t *broker;
    const sl_member_t *caller;   /* authenticated caller (User-Id) */
    const cJSON *args;           /* the args object (never NULL; may be empty) */
    const uint8_t *data;         /* AdminRequest.data */
    size_t data_len;
    cJSON *result;               /* handler sets: result JSON (owned by the call) */
    char text[512];              /* handler sets: summary or error text */
    char *long_text;             /* or, for texts of any length, sl_admin_text():
                                    malloc'ed, owned by the call; wins over text */
    int wrote;                   /* handler sets 1 if it wrote in the batch txn:
                                    the dispatcher commits before answering */
} sl_admin_call_t;

/*  Sets the call's text to the formatted string, whatever its length (an
 *  apply with many errors lists every one): replaces any previous long text.
 *  On allocation failure the text is cut to fit call->text. Cannot fail. */
void sl_admin_text (sl_admin_call_t *call, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/*  A handler returns a sluice.v1.ErrorCode value: 0 (OK) or the failure, with
 *  call->text saying what was wrong. */
typedef int (sl_admin_fn) (sl_admin_call_t *call);

typedef struct {
    const char *name;        /* "member.add" */
    const char *role;        /* required role, see above */
    sl_admin_fn *fn;
} sl_admin_command_t;

sl_admin_t *sl_admin_new (void);
void sl_admin_destroy (sl_admin_t **self_p);

/*  Adds `n` commands (the array must outlive the table). Returns 0,
 *  SL_EEXIST (a name is taken) or SL_ENOMEM. */
int sl_admin_register (sl_admin_t *self, const sl_admin_command_t *cmds, size_t n);

/*  Handles one packed AdminRequest from `caller` and returns the packed
 *  AdminResponse in a malloc()ed buffer (*len its size), or NULL when out of
 *  memory. Never fails on bad input: that becomes an error response. */
void *sl_admin_dispatch (sl_admin_t *self, sl_broker_t *broker,
                         const sl_member_t *caller, const void *req, size_t req_len,
                         size_t *len);


/*  Command groups shipped with the broker. */
extern const sl_admin_command_t sl_admin_member_commands[];
extern const size_t sl_admin_member_count;
extern const sl_admin_command_t sl_admin_keys_commands[];       /* sl_admin_keys.c */
extern const size_t sl_admin_keys_count;
extern const sl_admin_command_t sl_admin_status_commands[];
extern const size_t sl_admin_status_count;
extern const sl_admin_command_t sl_admin_policy_apply_commands[];
extern const size_t sl_admin_policy_apply_count;
extern const sl_admin_command_t sl_admin_audit_commands[];     /* sl_admin_audit.c */
extern const size_t sl_admin_audit_count;
extern const sl_admin_command_t sl_admin_consent_commands[];   /* sl_admin_consent.c */
extern const size_t sl_admin_consent_count;
extern const sl_admin_command_t sl_admin_schema_commands[];    /* sl_admin_schema.c */
extern const size_t sl_admin_schema_count;

/*  Adds "policies_set_aside" [{owner, version}], "policies_set_aside_errors"
 *  and "schemas_skipped" (what start left out of force) to a status object.
 *  sl_admin_status.c. */
void sl_admin_status_set_aside (sl_broker_t *b, cJSON *o);

/*  policy.explain with a subject (sl_admin_explain.c): refuses callers that
 *  may not read `owner`'s consents, and records a `policy.explain` audit
 *  entry either way. Returns 0 (allowed; call->wrote set, so the entry is
 *  committed before the answer) or an ErrorCode with call->text set. */
int sl_admin_explain_subject (sl_admin_call_t *call, const char *owner, const char *consumer,
                              const char *record_type, const char *purpose, const char *subject);

/*  Parses a time argument (sl_time_parse: "YYYY-MM-DD", RFC 3339 with Z or
 *  an offset, relative "2h"/"yesterday") into Unix microseconds; a
 *  zone-less time is in the city's zone (config `timezone`). Returns 0 or
 *  -1 (not such a time). */
int sl_admin_parse_time (const char *text, int64_t *us);

#endif

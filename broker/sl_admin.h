/*  sl_admin — the admin plane's command table.
 *
 *  Each command is {name, required role, handler}. Command groups live in
 *  their own files (sl_admin_member.c, _keys.c, _status.c, _policy*.c,
 *  _explain.c, _audit.c, _consent.c, _schema.c) and are added with
 *  sl_admin_register(). Handlers get an sl_admin_ctx_t (below), never the
 *  broker. The dispatcher decodes the AdminRequest, checks the caller's
 *  role, parses args_json into a cJSON object, calls the handler and packs
 *  the AdminResponse.
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

#include "sl_commit.h"
#include "sl_event.h"
#include "sl_registry.h"
#include "sl_store.h"

typedef struct sl_admin_t sl_admin_t;
typedef struct sl_subs_t sl_subs_t;
typedef struct sl_queue_t sl_queue_t;
typedef struct sl_sessions_t sl_sessions_t;
typedef struct sl_audit_s sl_audit_t;
typedef struct _sl_consent_t sl_consent_t;
typedef struct sl_policy_store_t sl_policy_store_t;
typedef struct sl_govern_t sl_govern_t;

/*  What an admin handler may use: the broker's parts, borrowed for the
 *  broker's lifetime, and a few hooks into the event loop. The broker fills
 *  one at start (sl_broker_admin_ctx); handlers never see sl_broker_t.
 *
 *  - Reads: a read transaction on `store` (sl_store_read), or the pending
 *    state of the batch for reading only (sl_commit_view on `commit`) when
 *    a command must see what the same command wrote.
 *  - Writes: only through `commit` (sl_commit_admin.h: member, key, policy,
 *    schema, consent, audit), which hands the write to the module that owns
 *    the stored format; audit entries of the broker's event vocabulary go
 *    through `event`.
 *  - The read-only views (`sessions`, `subs`, `queue`) are for status and
 *    listings; nothing here changes a session. */
typedef struct sl_admin_ctx_t sl_admin_ctx_t;
struct sl_admin_ctx_t {
    sl_store_t *store;              /* read transactions only */
    sl_commit_t *commit;            /* every write */
    sl_registry_t *registry;        /* lookups; writes via sl_commit_member_* */
    sl_subs_t *subs;                /* read only */
    sl_queue_t *queue;              /* depth, read only */
    sl_sessions_t *sessions;        /* read only (status, member.list) */
    sl_policy_store_t *policy;
    sl_consent_t *consent;
    sl_audit_t *audit;
    sl_govern_t *govern;            /* schemas, set-aside lists */
    int64_t started_ms;             /* when the broker started (Unix ms) */
    void *hook;                     /* first argument of the hooks below */
    /* records `ev` in the batch and counts it as pending (as the data path
       does: metrics too); on failure the batch is aborted. Returns 0 or the
       recorder's error. */
    int (*event) (void *hook, const sl_event_t *ev);
    /* closes every session of `member` (NOTICE revoked); returns how many */
    int (*close_member) (void *hook, const char *member);
    /* closes `member`'s sessions on the key with fingerprint `key_fp`
       (NOTICE key-retired); returns how many */
    int (*close_key) (void *hook, const char *member, const char *key_fp);
};

typedef struct {
    const sl_admin_ctx_t *ctx;   /* never NULL in a handler */
    const sl_member_t *caller;   /* authenticated caller (User-Id) */
    const cJSON *args;           /* the args object (never NULL; may be empty) */
    const uint8_t *data;         /* AdminRequest.data */
    size_t data_len;
    cJSON *result;               /* handler sets: result JSON (owned by the call) */
    char text[512];              /* handler sets: summary or error text */
    char *long_text;             /* or, for texts of any length, sl_admin_text():
                                    malloc'ed, owned by the call; wins over text */
    int wrote;                   /* handler sets 1 if it wrote through ctx->commit
                                    (or ctx->event): the dispatcher commits before
                                    answering, or aborts if the handler failed */
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

/*  Handles one packed AdminRequest from `caller` (handlers get `ctx`; NULL
 *  only in tests of the dispatcher itself, which then checks no bureau and
 *  calls no handler that needs one) and returns the packed
 *  AdminResponse in a malloc()ed buffer (*len its size), or NULL when out of
 *  memory. Never fails on bad input: that becomes an error response. */
void *sl_admin_dispatch (sl_admin_t *self, const sl_admin_ctx_t *ctx,
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
void sl_admin_status_set_aside (const sl_admin_ctx_t *ctx, cJSON *o);

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

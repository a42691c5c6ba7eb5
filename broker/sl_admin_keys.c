/*  sl_admin_keys — member key rollover: member.key.add, member.key.retire
 *  (role admin:city, as member.add). A member holds at most two keys; both
 *  authenticate as the member until one is retired. Each step is an audit
 *  entry (member.key.add / member.key.retire, detail fp=...) committed
 *  before the answer, and retiring closes only the sessions that used the
 *  retired key (NOTICE key-retired). docs/OPERATIONS.md, Key rollover. */
#include "sl_admin.h"
#include "sl_admin_fail.h"

#include <stdio.h>
#include <string.h>

#include "sl_audit.h"
#include "sl_commit_admin.h"
#include "sl_error.h"
#include "sl_log.h"
#include "sluice/v1/envelope.pb-c.h"
#include "sl_reason.h"

static const char *
s_arg (sl_admin_call_t *call, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (call->args, name);
    if (!cJSON_IsString (v) || !v->valuestring || !*v->valuestring) {
        snprintf (call->text, sizeof call->text, "missing argument '%s' (a non-empty string)", name);
        return NULL;
    }
    return v->valuestring;
}

/*  Records the event and commits, so the next handshake sees the change. */
static int
s_commit (sl_admin_call_t *call, const char *cmd, const sl_event_t *ev)
{
    if (call->ctx->event (call->ctx->hook, ev) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "%s: cannot record the change; nothing was changed", cmd);
    int rc = sl_commit_flush (call->ctx->commit);
    call->wrote = 0;
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "%s: commit failed: %s; nothing was changed", cmd,
                  sl_strerror (rc));
        return sl_reason_from_rc (rc);
    }
    return 0;
}

static cJSON *
s_keys_json (const sl_admin_ctx_t *b, const char *name)
{
    char fps[2][17];
    int n = sl_registry_keys (b->registry, name, fps);
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "name", name);
    cJSON *a = cJSON_AddArrayToObject (o, "keys");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray (a, cJSON_CreateString (fps[i]));
    return o;
}

static int
s_add (sl_admin_call_t *call)
{
    const char *name = s_arg (call, "name");
    const char *key = name ? s_arg (call, "public_key") : NULL;
    if (!key)
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    char err[300], fp[17] = "", detail[64];
    if (sl_commit_ready (call->ctx->commit) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "member.key.add: store unavailable");
    int rc = sl_commit_key_add (call->ctx->commit, call->ctx->registry, name, key, err, sizeof err);
    if (rc != 0) {
        call->wrote = rc != SL_EINVAL && rc != SL_EEXIST && rc != SL_ENOTFOUND;
        snprintf (call->text, sizeof call->text, "member.key.add: %s", err);
        return sl_reason_from_rc (rc);
    }
    call->wrote = 1;
    sl_keys_fingerprint (key, fp);
    snprintf (detail, sizeof detail, "fp=%s", fp);
    sl_event_t ev = { .kind = SL_AUDIT_MEMBER_KEY_ADD, .actor = call->caller->name, .counterpart = name,
                      .detail = detail };
    if ((rc = s_commit (call, "member.key.add", &ev)) != 0)
        return rc;
    sl_info ("member.key_added", "by=%s name=%s key=%s", call->caller->name, name, fp);
    call->result = s_keys_json (call->ctx, name);
    snprintf (call->text, sizeof call->text, "member %s now holds two keys; its systems may "
              "switch to %s, then retire the old key", name, fp);
    return 0;
}

static int
s_retire (sl_admin_call_t *call)
{
    const char *name = s_arg (call, "name");
    const char *fp = name ? s_arg (call, "fingerprint") : NULL;
    if (!fp)
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    char err[300], retired[17] = "", detail[64];
    if (sl_commit_ready (call->ctx->commit) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "member.key.retire: store unavailable");
    int rc = sl_commit_key_retire (call->ctx->commit, call->ctx->registry, name, fp, retired,
                                     err, sizeof err);
    if (rc != 0) {
        call->wrote = rc != SL_EINVAL && rc != SL_ENOTFOUND;
        snprintf (call->text, sizeof call->text, "member.key.retire: %s", err);
        return sl_reason_from_rc (rc);
    }
    call->wrote = 1;
    snprintf (detail, sizeof detail, "fp=%s", retired);
    sl_event_t ev = { .kind = SL_AUDIT_MEMBER_KEY_RETIRE, .actor = call->caller->name,
                      .counterpart = name, .detail = detail };
    if ((rc = s_commit (call, "member.key.retire", &ev)) != 0)
        return rc;
    int closed = call->ctx->close_key (call->ctx->hook, name, retired);
    sl_info ("member.key_retired", "by=%s name=%s key=%s sessions_closed=%d", call->caller->name,
             name, retired, closed);
    call->result = s_keys_json (call->ctx, name);
    cJSON_AddStringToObject (call->result, "retired", retired);
    cJSON_AddNumberToObject (call->result, "sessions_closed", closed);
    snprintf (call->text, sizeof call->text, "key %s of %s retired, %d sessions on it closed",
              retired, name, closed);
    return 0;
}

const sl_admin_command_t sl_admin_keys_commands[] = {
    { "member.key.add",    "admin:city", s_add },
    { "member.key.retire", "admin:city", s_retire },
};
const size_t sl_admin_keys_count = sizeof sl_admin_keys_commands / sizeof sl_admin_keys_commands[0];

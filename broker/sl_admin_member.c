/*  sl_admin_member — member.add, member.list, member.revoke. */
#include "sl_admin.h"
#include "sl_admin_fail.h"
#include "sl_roles.h"

#include <stdio.h>
#include <string.h>

#include "sl_commit_admin.h"
#include "sl_error.h"
#include "sl_log.h"
#include "sl_session.h"
#include "sluice/v1/envelope.pb-c.h"
#include "sl_audit.h"
#include "sl_reason.h"
#include "sl_role.h"

static const char *
s_arg (sl_admin_call_t *call, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (call->args, name);
    if (!cJSON_IsString (v) || !v->valuestring || !*v->valuestring) {
        snprintf (call->text, sizeof call->text,
                  "missing argument '%s' (a non-empty string)", name);
        return NULL;
    }
    return v->valuestring;
}

static cJSON *
s_member_json (const sl_admin_ctx_t *b, const sl_member_t *m)
{
    cJSON *o = cJSON_CreateObject ();
    char fp[17] = "";
    sl_keys_fingerprint (m->public_key, fp);
    cJSON_AddStringToObject (o, "name", m->name);
    cJSON_AddStringToObject (o, "role", m->role);
    cJSON_AddStringToObject (o, "public_key", m->public_key);
    cJSON_AddStringToObject (o, "fingerprint", fp);
    cJSON_AddBoolToObject (o, "revoked", m->revoked);
    cJSON_AddBoolToObject (o, "connected",
                           sl_sessions_of (b->sessions, m->name) != NULL);
    return o;
}

static int
s_add (sl_admin_call_t *call)
{
    const char *name = s_arg (call, "name");
    const char *role = name ? s_arg (call, "role") : NULL;
    const char *key = role ? s_arg (call, "public_key") : NULL;
    if (!key)
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    sl_registry_t *reg = call->ctx->registry;
    char err[256];
    if (sl_commit_ready (call->ctx->commit) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "member.add: store unavailable");
    /* sl_registry_add validates everything before it writes */
    int rc = sl_registry_valid_role (role) ? sl_roles_check (reg, role, err, sizeof err) : 0;
    if (rc == 0)
        rc = sl_commit_member_add (call->ctx->commit, reg, name, role, key, err, sizeof err);
    if (rc == SL_EINVAL || rc == SL_EEXIST)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST, "member.add: %s", err);
    if (rc != 0) {
        call->wrote = 1;       /* the transaction may be damaged: abort it */
        snprintf (call->text, sizeof call->text, "member.add: %s", err);
        return sl_reason_from_rc (rc);
    }
    call->wrote = 1;
    char fp[17] = "", detail[80];
    sl_keys_fingerprint (key, fp);
    snprintf (detail, sizeof detail, "role=%s fp=%s", role, fp);
    sl_event_t ev = { .kind = SL_AUDIT_MEMBER_ADD, .actor = call->caller->name, .counterpart = name,
                      .detail = detail };
    if (call->ctx->event (call->ctx->hook, &ev) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "member.add: cannot record the change; nothing was changed");
    sl_info ("member.added", "by=%s name=%s role=%s key=%s", call->caller->name, name, role, fp);
    call->result = s_member_json (call->ctx, sl_registry_by_name (reg, name));
    cJSON_DeleteItemFromObject (call->result, "revoked");
    cJSON_DeleteItemFromObject (call->result, "connected");
    snprintf (call->text, sizeof call->text, "member %s added with role %s", name, role);
    return 0;
}

static int
s_list (sl_admin_call_t *call)
{
    sl_registry_t *reg = call->ctx->registry;
    call->result = cJSON_CreateArray ();
    for (size_t i = 0; i < sl_registry_count (reg); i++)
        cJSON_AddItemToArray (call->result, s_member_json (call->ctx, sl_registry_at (reg, i)));
    snprintf (call->text, sizeof call->text, "%zu members", sl_registry_count (reg));
    return 0;
}

static int
s_revoke (sl_admin_call_t *call)
{
    const char *name = s_arg (call, "name");
    if (!name)
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    sl_registry_t *reg = call->ctx->registry;
    const sl_member_t *m = sl_registry_by_name (reg, name);
    if (!m)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__NOT_FOUND,
                              "member.revoke: no member named '%.40s'", name);
    if (!m->revoked && sl_role_is_city_admin (m->role)) {
        size_t admins = 0;
        for (size_t i = 0; i < sl_registry_count (reg); i++) {
            const sl_member_t *o = sl_registry_at (reg, i);
            admins += !o->revoked && sl_role_is_city_admin (o->role);
        }
        if (admins <= 1)
            return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                                  "member.revoke: '%.40s' is the last admin:city key; add another "
                                  "admin:city member first, or nobody could manage members and "
                                  "city rules any more", name);
    }
    if (sl_commit_ready (call->ctx->commit) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "member.revoke: store unavailable");
    call->wrote = 1;
    int rc = sl_commit_member_revoke (call->ctx->commit, reg, name);
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "member.revoke: %s", sl_strerror (rc));
        return sl_reason_from_rc (rc);
    }
    sl_event_t ev = { .kind = SL_AUDIT_MEMBER_REVOKE, .actor = call->caller->name, .counterpart = name };
    if (call->ctx->event (call->ctx->hook, &ev) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "member.revoke: cannot record the change; nothing was changed");
    /* commit now so the ZAP handler refuses the key from this moment on */
    rc = sl_commit_flush (call->ctx->commit);
    call->wrote = 0;
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "member.revoke: commit failed: %s", sl_strerror (rc));
        return sl_reason_from_rc (rc);
    }
    int closed = call->ctx->close_member (call->ctx->hook, name);
    sl_info ("member.revoked", "by=%s name=%s sessions_closed=%d", call->caller->name, name, closed);
    call->result = cJSON_CreateObject ();
    cJSON_AddStringToObject (call->result, "name", name);
    cJSON_AddBoolToObject (call->result, "revoked", 1);
    cJSON_AddNumberToObject (call->result, "sessions_closed", closed);
    snprintf (call->text, sizeof call->text, "member %s revoked, %d sessions closed", name, closed);
    return 0;
}

const sl_admin_command_t sl_admin_member_commands[] = {
    { "member.add",    "admin:city",         s_add },
    { "member.list",   "admin:*|auditor",    s_list },
    { "member.revoke", "admin:city",         s_revoke },
};
const size_t sl_admin_member_count =
    sizeof sl_admin_member_commands / sizeof sl_admin_member_commands[0];

/*  sl_admin — see sl_admin.h. */
#include "sl_admin.h"
#include "sl_roles.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"
#include "sl_log.h"
#include "sl_wire.h"
#include "sluice/v1/admin.pb-c.h"
#include "sl_reason.h"
#include "sl_role.h"

struct sl_admin_t {
    const sl_admin_command_t **cmds;
    size_t n, cap;
};

sl_admin_t *
sl_admin_new (void)
{
    return calloc (1, sizeof (sl_admin_t));
}

void
sl_admin_destroy (sl_admin_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->cmds);
    free (*self_p);
    *self_p = NULL;
}

static const sl_admin_command_t *
s_find (sl_admin_t *self, const char *name)
{
    for (size_t i = 0; i < self->n; i++)
        if (strcmp (self->cmds[i]->name, name) == 0)
            return self->cmds[i];
    return NULL;
}

int
sl_admin_register (sl_admin_t *self, const sl_admin_command_t *cmds, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s_find (self, cmds[i].name))
            return SL_EEXIST;
        if (self->n == self->cap) {
            size_t cap = self->cap ? self->cap * 2 : 16;
            const sl_admin_command_t **p = realloc (self->cmds, cap * sizeof *p);
            if (!p)
                return SL_ENOMEM;
            self->cmds = p;
            self->cap = cap;
        }
        self->cmds[self->n++] = &cmds[i];
    }
    return 0;
}

void
sl_admin_text (sl_admin_call_t *call, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    char *t = NULL;
    int rc = vasprintf (&t, fmt, ap);
    va_end (ap);
    free (call->long_text);
    call->long_text = NULL;
    if (rc < 0) {
        va_start (ap, fmt);
        vsnprintf (call->text, sizeof call->text, fmt, ap);
        va_end (ap);
        return;
    }
    call->long_text = t;
    snprintf (call->text, sizeof call->text, "%s", t);
}

static void *
s_respond (uint64_t seq, int code, const char *text, const char *result, size_t *len)
{
    Sluice__V1__AdminResponse r = SLUICE__V1__ADMIN_RESPONSE__INIT;
    r.seq = seq;
    r.code = (Sluice__V1__ErrorCode) code;
    r.text = (char *) (text ? text : "");
    r.result_json = (char *) (result ? result : "");
    *len = sluice__v1__admin_response__get_packed_size (&r);
    void *buf = malloc (*len ? *len : 1);
    if (buf)
        sluice__v1__admin_response__pack (&r, buf);
    return buf;
}

void *
sl_admin_dispatch (sl_admin_t *self, const sl_admin_ctx_t *ctx, const sl_member_t *caller,
                   const void *req_buf, size_t req_len, size_t *len)
{
    /* `caller` points into the registry's array, which a handler may grow
     * (member.add reallocs it): work on a copy, never on that pointer */
    sl_member_t me = *caller;
    caller = &me;
    Sluice__V1__AdminRequest *req =
        sluice__v1__admin_request__unpack (NULL, req_len, req_buf);
    /* short texts of the dispatcher itself; a handler's text may be of
     * any length (call.long_text) and is never cut */
    char buf[600];
    const char *text = buf;
    buf[0] = 0;
    if (!req) {
        sl_warn ("admin.bad_frame", "member=%s bytes=%zu", caller->name, req_len);
        return s_respond (0, SLUICE__V1__ERROR_CODE__BAD_FRAME,
                          "AdminRequest does not decode (expected one packed sluice.v1.AdminRequest frame)",
                          NULL, len);
    }
    uint64_t seq = req->seq;
    void *out = NULL;
    sl_admin_call_t call;
    memset (&call, 0, sizeof call);
    cJSON *args = NULL;
    int code = 0;

    if (req->version != 1) {
        snprintf (buf, sizeof buf, "admin protocol version %u not supported; this broker speaks 1",
                  req->version);
        code = SLUICE__V1__ERROR_CODE__UNSUPPORTED_VERSION;
        goto reply;
    }
    const sl_admin_command_t *cmd = s_find (self, req->command);
    if (!cmd) {
        snprintf (buf, sizeof buf, "unknown admin command '%.64s'", req->command);
        code = SLUICE__V1__ERROR_CODE__UNKNOWN_COMMAND;
        goto reply;
    }
    if (!sl_role_matches (caller->role, cmd->role)) {
        snprintf (buf, sizeof buf, "%s needs role %s; member '%s' has role %s",
                  cmd->name, cmd->role, caller->name, caller->role);
        code = SLUICE__V1__ERROR_CODE__NOT_PERMITTED;
        goto reply;
    }
    if (ctx && sl_role_is_admin (caller->role)
        && !sl_roles_known_bureau (ctx->registry, sl_role_admin_scope (caller->role))) {
        sl_warn ("admin.role_unknown_bureau", "member=%s role=%s command=%s", caller->name,
                 caller->role, cmd->name);
        snprintf (buf, sizeof buf, "member '%s' has role %s, but '%s' is no bureau this broker "
                  "knows: its admin commands are refused until the bureau exists", caller->name,
                  caller->role, sl_role_admin_scope (caller->role));
        code = SLUICE__V1__ERROR_CODE__NOT_PERMITTED;
        goto reply;
    }
    if (req->args_json && *req->args_json) {
        const char *end = NULL;
        args = cJSON_ParseWithOpts (req->args_json, &end, 1);
        if (!args || !cJSON_IsObject (args)) {
            if (args)
                snprintf (buf, sizeof buf, "args_json must be a JSON object ({...})");
            else
                snprintf (buf, sizeof buf, "args_json is not valid JSON (error at byte %ld)",
                          (long) (end ? end - req->args_json : 0));
            code = SLUICE__V1__ERROR_CODE__BAD_REQUEST;
            goto reply;
        }
    }
    else
        args = cJSON_CreateObject ();
    call.ctx = ctx;
    call.caller = caller;
    call.args = args;
    call.data = req->data.data;
    call.data_len = req->data.len;
    code = cmd->fn (&call);
    if (code == 0 && call.wrote) {
        int rc = sl_commit_flush (ctx->commit);
        if (rc != 0) {
            code = sl_reason_from_rc (rc);
            free (call.long_text);
            call.long_text = NULL;
            snprintf (call.text, sizeof call.text, "%s: commit failed: %s; nothing was changed",
                      cmd->name, sl_strerror (rc));
        }
    }
    else if (code != 0 && call.wrote)
        sl_commit_abort (ctx->commit);
    text = call.long_text ? call.long_text : call.text;
    sl_info ("admin.command", "member=%s command=%s code=%s", caller->name, cmd->name,
             sl_wire_code_name (code));

reply:;
    char *result = NULL;
    if (call.result)        /* on errors too: e.g. policy.apply's error list */
        result = cJSON_PrintUnformatted (call.result);
    if (code != 0) {
        char q[300];
        sl_info ("admin.error", "member=%s command=%s code=%d text=%s", caller->name,
                 req->command, code, sl_log_quote (text, q, sizeof q));
    }
    out = s_respond (seq, code, text, result, len);
    free (result);
    free (call.long_text);
    cJSON_Delete (call.result);
    cJSON_Delete (args);
    sluice__v1__admin_request__free_unpacked (req, NULL);
    return out;
}

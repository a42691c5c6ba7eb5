/*  sl_admin: the command table, role checks and request decoding. */
#include "tu.h"

#include "sl_admin.h"
#include "sl_batch.h"
#include "sl_commit_admin.h"
#include "sl_error.h"
#include "sl_role.h"
#include "sluice/v1/admin.pb-c.h"

static int
echo_cmd (sl_admin_call_t *call)
{
    call->result = cJSON_Duplicate (call->args, 1);
    snprintf (call->text, sizeof call->text, "echo by %s", call->caller->name);
    return 0;
}

static const sl_admin_command_t cmds[] = {
    { "test.echo", "admin:*|auditor", echo_cmd },
};

static Sluice__V1__AdminResponse *
run_ctx (sl_admin_t *a, const sl_admin_ctx_t *ctx, const sl_member_t *who, const char *command,
         const char *args, uint32_t version);

static Sluice__V1__AdminResponse *
run (sl_admin_t *a, const sl_member_t *who, const char *command, const char *args, uint32_t version)
{
    return run_ctx (a, NULL, who, command, args, version);
}

static Sluice__V1__AdminResponse *
run_ctx (sl_admin_t *a, const sl_admin_ctx_t *ctx, const sl_member_t *who, const char *command,
         const char *args, uint32_t version)
{
    Sluice__V1__AdminRequest r = SLUICE__V1__ADMIN_REQUEST__INIT;
    r.version = version;
    r.seq = 9;
    r.command = (char *) command;
    r.args_json = (char *) args;
    uint8_t buf[512];
    size_t len = sluice__v1__admin_request__pack (&r, buf), out_len;
    void *out = sl_admin_dispatch (a, ctx, who, buf, len, &out_len);
    cr_assert_not_null (out);
    Sluice__V1__AdminResponse *resp = sluice__v1__admin_response__unpack (NULL, out_len, out);
    free (out);
    cr_assert_not_null (resp);
    return resp;
}

Test (admin_table, dispatch_roles_and_errors)
{
    sl_admin_t *a = sl_admin_new ();
    cr_assert_eq (sl_admin_register (a, cmds, 1), 0);
    cr_assert_eq (sl_admin_register (a, cmds, 1), SL_EEXIST, "duplicate names are refused");
    sl_member_t admin = { "admin", "admin:city", "", 0 };
    sl_member_t aud = { "aud", "auditor", "", 0 };
    sl_member_t mem = { "water", "member", "", 0 };

    Sluice__V1__AdminResponse *r = run (a, &admin, "test.echo", "{\"x\":1}", 1);
    cr_assert_eq (r->code, 0);
    cr_assert_eq (r->seq, 9);
    cr_assert_str_eq (r->result_json, "{\"x\":1}");
    cr_assert_str_eq (r->text, "echo by admin");
    sluice__v1__admin_response__free_unpacked (r, NULL);

    r = run (a, &aud, "test.echo", "", 1);
    cr_assert_eq (r->code, 0);
    cr_assert_str_eq (r->result_json, "{}");
    sluice__v1__admin_response__free_unpacked (r, NULL);

    r = run (a, &mem, "test.echo", "", 1);
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__NOT_PERMITTED);
    cr_assert (strstr (r->text, "needs role admin:*|auditor"), "%s", r->text);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    r = run (a, &admin, "test.nope", "", 1);
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__UNKNOWN_COMMAND);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    r = run (a, &admin, "test.echo", "[1,2]", 1);
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__BAD_REQUEST);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    r = run (a, &admin, "test.echo", "", 2);
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__UNSUPPORTED_VERSION);
    sluice__v1__admin_response__free_unpacked (r, NULL);

    size_t len;
    void *out = sl_admin_dispatch (a, NULL, &admin, "\xff\xff\xff", 3, &len);
    r = sluice__v1__admin_response__unpack (NULL, len, out);
    free (out);
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__BAD_FRAME);
    sluice__v1__admin_response__free_unpacked (r, NULL);
    sl_admin_destroy (&a);
    cr_assert_null (a);
}

Test (admin_table, role_syntax)
{
    cr_assert (sl_role_matches ("admin:city", "admin:city"));
    cr_assert (sl_role_matches ("admin:water", "admin:*|auditor"));
    cr_assert (sl_role_matches ("auditor", "admin:*|auditor"));
    cr_assert_not (sl_role_matches ("member", "admin:*|auditor"));
    cr_assert_not (sl_role_matches ("consent-source", "admin:city"));
    cr_assert (sl_role_matches ("member", "*"));
}

/*  A handler that adds member args.name through its context, then fails
 *  when args.fail is true (after writing, as a handler may). */
static int
add_cmd (sl_admin_call_t *call)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive (call->args, "name");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive (call->args, "key");
    char err[256];
    call->wrote = 1;
    int rc = sl_commit_member_add (call->ctx->commit, call->ctx->registry, n->valuestring,
                                   "member", k->valuestring, err, sizeof err);
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "%s", err);
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    }
    if (cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (call->args, "fail"))) {
        snprintf (call->text, sizeof call->text, "failed after writing");
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    }
    return 0;
}

static const sl_admin_command_t write_cmds[] = {
    { "test.add", "admin:*|auditor", add_cmd },
};

static int
stored (sl_store_t *st, const char *name)
{
    sl_registry_t *fresh = sl_registry_new (st);
    cr_assert_not_null (fresh);
    int found = sl_registry_by_name (fresh, name) != NULL;
    sl_registry_destroy (&fresh);
    return found;
}

/*  Handlers write through their context (sl_admin_ctx_t -> sl_commit): the
 *  dispatcher commits before a success is answered and aborts what a
 *  failing handler wrote. */
Test (admin_table, writes_through_the_context_commit_or_abort)
{
    tu_t p;
    tu_pipe_open (&p);
    sl_registry_t *reg = sl_registry_new (p.st);
    cr_assert_not_null (reg);
    sl_admin_ctx_t ctx = { .store = p.st, .commit = p.c, .registry = reg, .subs = p.subs, .queue = p.q };
    sl_admin_t *a = sl_admin_new ();
    cr_assert_eq (sl_admin_register (a, write_cmds, 1), 0);
    sl_member_t aud = { "aud", "auditor", "", 0 };
    sl_keypair_t k1, k2;
    cr_assert_eq (sl_keys_generate (&k1), 0);
    cr_assert_eq (sl_keys_generate (&k2), 0);
    char args[200];

    uint64_t commits = sl_commit_commits (p.c);
    snprintf (args, sizeof args, "{\"name\":\"water\",\"key\":\"%s\"}", k1.public_key);
    Sluice__V1__AdminResponse *r = run_ctx (a, &ctx, &aud, "test.add", args, 1);
    cr_assert_eq (r->code, 0, "%s", r->text);
    sluice__v1__admin_response__free_unpacked (r, NULL);
    cr_assert_eq (sl_commit_commits (p.c), commits + 1, "committed before the answer");
    cr_assert_eq (sl_commit_pending (p.c), 0);
    cr_assert (stored (p.st, "water"));

    snprintf (args, sizeof args, "{\"name\":\"power\",\"key\":\"%s\",\"fail\":true}",
              k2.public_key);
    r = run_ctx (a, &ctx, &aud, "test.add", args, 1);
    cr_assert_eq (r->code, SLUICE__V1__ERROR_CODE__BAD_REQUEST);
    cr_assert_str_eq (r->text, "failed after writing");
    sluice__v1__admin_response__free_unpacked (r, NULL);
    cr_assert_eq (sl_commit_commits (p.c), commits + 1);
    /* the next commit (any later write) must not carry it either */
    cr_assert_eq (sl_commit_flush (p.c), 0);
    cr_assert_not (stored (p.st, "power"), "what the failing handler wrote was committed");

    sl_admin_destroy (&a);
    sl_registry_destroy (&reg);
    tu_close (&p);
}

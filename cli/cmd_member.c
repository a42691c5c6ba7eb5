/*  sluicectl member add|list|revoke: the broker's member registry
    (admin commands member.add, member.list, member.revoke; PROTOCOL.md 6.2). */
#include "ctl.h"
#include "sl_error.h"
#include "sl_keys.h"

#include <stdlib.h>
#include <string.h>

static const char *
s_str (const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, name);
    return cJSON_IsString (v) ? v->valuestring : "";
}

static int
s_bool (const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, name);
    return cJSON_IsTrue (v);
}

typedef struct {
    const char *role, *pub;
} s_add_t;

static int
s_add_opt (int c, const char *arg, void *p)
{
    s_add_t *o = p;
    if (c == 'r')
        o->role = arg;
    else if (c == 'p')
        o->pub = arg;
    else
        return -1;
    return 0;
}

static int
s_add (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        { "role", required_argument, NULL, 'r' }, { "pub", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 } };
    s_add_t o = { NULL, NULL };
    int first, rc = ctl_parse (ctx, cmd, argc, argv, extra, s_add_opt, &o, &first);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (argc - first != 1 || !o.role || !o.pub) {
        ctl_error (ctx, "add needs NAME, --role ROLE and --pub FILE (see sluicectl member add --help)");
        return 2;
    }
    char pub[SL_KEY_Z85_LEN + 1], err[1024];
    if (sl_keys_load_public (o.pub, pub, err, sizeof err) != 0) {
        ctl_error (ctx, "%s (make a key pair with `sluicectl keygen NAME`)", err);
        return 1;
    }
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    cJSON_AddStringToObject (args, "name", argv[first]);
    cJSON_AddStringToObject (args, "role", o.role);
    cJSON_AddStringToObject (args, "public_key", pub);
    rc = ctl_admin (ctx, "member.add", args, &res);
    cJSON_Delete (args);
    if (rc != 0)
        return rc;
    if (ctx->json)
        ctl_print_json (res);
    else
        printf ("added member %s (role %s, key fingerprint %s)\n", s_str (res, "name"),
                s_str (res, "role"), s_str (res, "fingerprint"));
    cJSON_Delete (res);
    return 0;
}

static int
s_list (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    int first, rc = ctl_parse (ctx, cmd, argc, argv, NULL, NULL, NULL, &first);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (argc != first) {
        ctl_error (ctx, "list takes no arguments");
        return 2;
    }
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    rc = ctl_admin (ctx, "member.list", args, &res);
    cJSON_Delete (args);
    if (rc != 0)
        return rc;
    if (ctx->json)
        ctl_print_json (res);
    else {
        printf ("%-20s %-18s %-16s %-9s %s\n", "NAME", "ROLE", "FINGERPRINT", "CONNECTED", "REVOKED");
        const cJSON *m;
        cJSON_ArrayForEach (m, res)
            printf ("%-20s %-18s %-16s %-9s %s\n", s_str (m, "name"), s_str (m, "role"),
                    s_str (m, "fingerprint"), s_bool (m, "connected") ? "yes" : "no",
                    s_bool (m, "revoked") ? "yes" : "no");
    }
    cJSON_Delete (res);
    return 0;
}

static int
s_revoke (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    int first, rc = ctl_parse (ctx, cmd, argc, argv, NULL, NULL, NULL, &first);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (argc - first != 1) {
        ctl_error (ctx, "revoke needs one NAME");
        return 2;
    }
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    cJSON_AddStringToObject (args, "name", argv[first]);
    rc = ctl_admin (ctx, "member.revoke", args, &res);
    cJSON_Delete (args);
    if (rc != 0)
        return rc;
    if (ctx->json)
        ctl_print_json (res);
    else {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive (res, "sessions_closed");
        printf ("revoked member %s; its key can no longer connect (%d open session%s closed)\n",
                s_str (res, "name"), cJSON_IsNumber (n) ? n->valueint : 0,
                cJSON_IsNumber (n) && n->valueint == 1 ? "" : "s");
    }
    cJSON_Delete (res);
    return 0;
}

static const ctl_cmd_t s_cmds[] = {
    { "add", "NAME --role ROLE --pub FILE", "register a member's public key with a role",
      "options:\n"
      "  --role ROLE         member, admin:<bureau>, admin:city, auditor or consent-source\n"
      "  --pub FILE          the member's public key file (NAME.pub from sluicectl keygen)\n",
      1, s_add },
    { "list", "", "list the members, their roles and whether they are connected", NULL, 1, s_list },
    { "revoke", "NAME", "revoke a member: its key is refused and open sessions are closed",
      NULL, 1, s_revoke },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_member = { "member", "manage the members of the broker", s_cmds };

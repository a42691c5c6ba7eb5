/*  sluicectl member add|list|revoke: the broker's member registry
    (admin commands member.add, member.list, member.revoke; PROTOCOL.md 6.2). */
#include "ctl.h"
#include "sl_error.h"
#include "sl_keys.h"

#include <stdlib.h>
#include <string.h>

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

static void
s_print_add (const cJSON *res)
{
    printf ("added member %s (role %s, key fingerprint %s)\n", ctl_str (res, "name"),
            ctl_str (res, "role"), ctl_str (res, "fingerprint"));
}

static int
s_add (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        { "role", required_argument, NULL, 'r' }, { "pub", required_argument, NULL, 'p' },
        { NULL, 0, NULL, 0 } };
    static const char usage[] =
        "add needs NAME, --role ROLE and --pub FILE (see sluicectl member add --help)";
    s_add_t o = { NULL, NULL };
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_add_opt, &o, 1, usage, &first);
    if (rc >= 0)
        return rc;
    if (!o.role || !o.pub) {
        ctl_error (ctx, "%s", usage);
        return 2;
    }
    char pub[SL_KEY_Z85_LEN + 1], err[1024];
    if (sl_keys_load_public (o.pub, pub, err, sizeof err) != 0) {
        ctl_error (ctx, "%s (make a key pair with `sluicectl keygen NAME`)", err);
        return 1;
    }
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "name", argv[first]);
    cJSON_AddStringToObject (args, "role", o.role);
    cJSON_AddStringToObject (args, "public_key", pub);
    return ctl_call (ctx, "member.add", args, s_print_add);
}

static void
s_print_list (const cJSON *res)
{
    printf ("%-20s %-18s %-16s %-9s %s\n", "NAME", "ROLE", "FINGERPRINT", "CONNECTED", "REVOKED");
    const cJSON *m;
    cJSON_ArrayForEach (m, res)
        printf ("%-20s %-18s %-16s %-9s %s\n", ctl_str (m, "name"), ctl_str (m, "role"),
                ctl_str (m, "fingerprint"), s_bool (m, "connected") ? "yes" : "no",
                s_bool (m, "revoked") ? "yes" : "no");
}

static int
s_list (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, NULL, NULL, NULL, 0,
                                    "list takes no arguments", &first);
    if (rc >= 0)
        return rc;
    return ctl_call (ctx, "member.list", cJSON_CreateObject (), s_print_list);
}

static void
s_print_revoke (const cJSON *res)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive (res, "sessions_closed");
    printf ("revoked member %s; its key can no longer connect (%d open session%s closed)\n",
            ctl_str (res, "name"), cJSON_IsNumber (n) ? n->valueint : 0,
            cJSON_IsNumber (n) && n->valueint == 1 ? "" : "s");
}

static int
s_revoke (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, NULL, NULL, NULL, 1,
                                    "revoke needs one NAME", &first);
    if (rc >= 0)
        return rc;
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "name", argv[first]);
    return ctl_call (ctx, "member.revoke", args, s_print_revoke);
}

static const ctl_cmd_t s_cmds[] = {
    { "add", "NAME --role ROLE --pub FILE", "register a member's public key with a role",
      "options:\n"
      "  --role ROLE         member, admin:<bureau>, admin:city, auditor, consent-source\n"
      "                      or monitor (reads status only)\n"
      "  --pub FILE          the member's public key file (NAME.pub from sluicectl keygen)\n",
      1, s_add },
    { "list", "", "list the members, their roles and whether they are connected", NULL, 1, s_list },
    { "revoke", "NAME", "revoke a member: its key is refused and open sessions are closed",
      NULL, 1, s_revoke },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_member = { "member", "manage the members of the broker", s_cmds };

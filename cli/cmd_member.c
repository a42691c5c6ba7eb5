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
        CTL_ARG ("role", 'r'), CTL_ARG ("pub", 'p'), { NULL, 0, NULL, 0 } };
    static const char usage[] =
        "add needs NAME, --role ROLE and --pub FILE (see sluicectl member add --help)";
    s_add_t o = { NULL, NULL };
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_add_opt, &o, 1, usage, &first);
    if (rc >= 0)
        return rc;
    if (!o.role || !o.pub)
        return ctl_fail (ctx, 2, "%s", usage);
    char pub[SL_KEY_Z85_LEN + 1], err[1024];
    if (sl_keys_load_public (o.pub, pub, err, sizeof err) != 0)
        return ctl_fail (ctx, 1, "%s (make a key pair with `sluicectl keygen NAME`)", err);
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
    cJSON_ArrayForEach (m, res) {
        /* NAME+FP8: a member's second key; NAME~FP8: a retired or replaced key */
        const char *name = ctl_str (m, "name"), *plus = strchr (name, '+'), *tilde = strchr (name, '~');
        char note[80] = "";
        if (plus)
            snprintf (note, sizeof note, "  (second key of %.*s)", (int) (plus - name), name);
        else if (tilde)
            snprintf (note, sizeof note, "  (old key of %.*s)", (int) (tilde - name), name);
        printf ("%-20s %-18s %-16s %-9s %s%s\n", name, ctl_str (m, "role"),
                ctl_str (m, "fingerprint"), s_bool (m, "connected") ? "yes" : "no",
                s_bool (m, "revoked") ? "yes" : "no", note);
    }
}

static int
s_list (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    return ctl_call_simple (ctx, cmd, argc, argv, "list takes no arguments",
                            "member.list", NULL, s_print_list);
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
    return ctl_call_simple (ctx, cmd, argc, argv, "revoke needs one NAME",
                            "member.revoke", "name", s_print_revoke);
}

/* ---- member key add|retire NAME: key rollover (docs/OPERATIONS.md) */

static int
s_key_opt (int c, const char *arg, void *p)
{
    const char **v = p;
    if (c != 'p' && c != 'f')
        return -1;
    v[c == 'p' ? 0 : 1] = arg;
    return 0;
}

static void
s_print_keys (const cJSON *res)
{
    const cJSON *keys = cJSON_GetObjectItemCaseSensitive (res, "keys"), *k;
    if (*ctl_str (res, "retired"))
        printf ("retired key %s of %s (%g session(s) on it closed)\n", ctl_str (res, "retired"),
                ctl_str (res, "name"), ctl_num (res, "sessions_closed"));
    printf ("%s now holds %d key(s):", ctl_str (res, "name"), cJSON_GetArraySize (keys));
    cJSON_ArrayForEach (k, keys)
        printf (" %s", cJSON_IsString (k) ? k->valuestring : "?");
    printf ("\n");
}

static const ctl_cmd_t s_key_add_cmd = {
    "key add", "NAME --pub FILE", "give a member a second key for a rollover",
    "options:\n"
    "  --pub FILE          the new public key (from sluicectl keygen NEW --for NAME)\n"
    "Both keys authenticate as NAME until one is retired.\n", 1, NULL };
static const ctl_cmd_t s_key_retire_cmd = {
    "key retire", "NAME --fingerprint FP", "retire one of a member's two keys",
    "options:\n"
    "  --fingerprint FP    the key to retire (8 to 16 hex digits, from member list\n"
    "                      or keygen); sessions on it are closed, the other stays\n", 1, NULL };

static int
s_key (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("pub", 'p'), CTL_ARG ("fingerprint", 'f'), { NULL, 0, NULL, 0 } };
    int add = argc > 1 && !strcmp (argv[1], "add");
    int retire = argc > 1 && !strcmp (argv[1], "retire");
    if (!add && !retire) {
        if (argc > 1 && (!strcmp (argv[1], "--help") || !strcmp (argv[1], "-h"))) {
            ctl_usage (ctx, cmd, stdout);
            return 0;
        }
        return ctl_fail (ctx, 2, "use `member key add NAME --pub FILE` or `member key retire NAME "
                         "--fingerprint FP`");
    }
    const char *v[2] = { NULL, NULL };
    const ctl_cmd_t *sub = add ? &s_key_add_cmd : &s_key_retire_cmd;
    int first, rc = ctl_parse_args (ctx, sub, argc - 1, argv + 1, extra, s_key_opt, v, 1,
                                    add ? "key add needs NAME and --pub FILE"
                                        : "key retire needs NAME and --fingerprint FP", &first);
    if (rc >= 0)
        return rc;
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "name", argv[1 + first]);
    if (add) {
        char pub[SL_KEY_Z85_LEN + 1], err[1024];
        if (!v[0] || sl_keys_load_public (v[0], pub, err, sizeof err) != 0) {
            ctl_error (ctx, "%s", v[0] ? err : "key add needs --pub FILE");
            cJSON_Delete (args);
            return v[0] ? 1 : 2;
        }
        cJSON_AddStringToObject (args, "public_key", pub);
        return ctl_call (ctx, "member.key.add", args, s_print_keys);
    }
    if (!v[1]) {
        ctl_error (ctx, "key retire needs --fingerprint FP");
        cJSON_Delete (args);
        return 2;
    }
    cJSON_AddStringToObject (args, "fingerprint", v[1]);
    return ctl_call (ctx, "member.key.retire", args, s_print_keys);
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
    { "key", "add NAME --pub FILE | retire NAME --fingerprint FP",
      "key rollover: a second key for a member, then retire the old one",
      "  add NAME --pub FILE          both keys work until one is retired\n"
      "  retire NAME --fingerprint FP the key is refused from now on; sessions on\n"
      "                               it are closed, those on the other key stay\n",
      1, s_key },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_member = { "member", "manage the members of the broker", s_cmds };

/*  sluicectl keygen NAME: a new CURVE key pair as NAME.key (0600) + NAME.pub. */
#include "ctl.h"
#include "sl_error.h"
#include "sl_keys.h"

#include <ctype.h>
#include <errno.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

typedef struct {
    const char *dir;
    int force;
    const char *role;       /* --role: the role it will be registered with */
    const char *for_member; /* --for: a second key for an existing member */
} s_opts_t;

static int
s_opt (int c, const char *arg, void *p)
{
    s_opts_t *o = p;
    if (c == 'd')
        o->dir = arg;
    else if (c == 'f')
        o->force = 1;
    else if (c == 'r')
        o->role = arg;
    else if (c == 'F')
        o->for_member = arg;
    else
        return -1;
    return 0;
}

/*  Key names become file names: keep them to [A-Za-z0-9._-], no leading dot. */
static int
s_valid_name (const char *name)
{
    if (!*name || name[0] == '.' || strlen (name) > 64)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum ((unsigned char) *p) && *p != '-' && *p != '_' && *p != '.')
            return 0;
    return 1;
}

/*  What to do with the new key, for the role it is meant for. */
static void
s_next_step (const char *name, const s_opts_t *o, const char *pubfile)
{
    size_t n = strlen (name);
    if (o->for_member)
        printf ("add it beside %s's current key (both work during the rollover):\n"
                "  sluicectl member key add %s --pub %s\n"
                "once %s's systems use the new key, retire the old one:\n"
                "  sluicectl member key retire %s --fingerprint OLD-FINGERPRINT\n",
                o->for_member, o->for_member, pubfile, o->for_member, o->for_member);
    else if (!strcmp (name, "broker-next"))
        printf ("this is the broker's next key: with it in the broker's data directory,\n"
                "`systemctl reload sluiced` (SIGHUP) serves it beside the current key;\n"
                "give %s to every bureau; once they all use it:\n"
                "  sluicectl broker-key promote --data DIR && systemctl reload sluiced\n"
                "(docs/OPERATIONS.md, Key rollover)\n", pubfile);
    else if (!strcmp (name, "broker"))
        printf ("this is a broker key: to replace the running broker's key without an\n"
                "outage, make it as broker-next instead (docs/OPERATIONS.md, Key rollover)\n");
    else if (o->role)
        printf ("register it with: sluicectl member add %s --role %s --pub %s\n", name, o->role,
                pubfile);
    else if (n > 6 && !strcmp (name + n - 6, "-admin"))
        printf ("register it with: sluicectl member add %s --role admin:%.*s --pub %s\n"
                "(admin:BUREAU edits BUREAU's policies; admin:city manages members)\n",
                name, (int) (n - 6), name, pubfile);
    else
        printf ("register it with: sluicectl member add %s --role ROLE --pub %s\n"
                "ROLE: member (a bureau's system), admin:BUREAU (that bureau's policies),\n"
                "admin:city, auditor, consent-source, or monitor (status only)\n",
                name, pubfile);
}

static int
s_run (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("dir", 'd'), CTL_FLAG ("force", 'f'), CTL_ARG ("role", 'r'), CTL_ARG ("for", 'F'),
        { NULL, 0, NULL, 0 } };
    s_opts_t o = { ".", 0, NULL, NULL };
    int first, rc = ctl_parse (ctx, cmd, argc, argv, extra, s_opt, &o, &first);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (argc - first != 1)
        return ctl_fail (ctx, 2, "expected one NAME (see sluicectl keygen --help)");
    const char *name = argv[first];
    if (!s_valid_name (name))
        return ctl_fail (ctx, 2, "'%s' is not a usable key name: use letters, digits, '-', '_' or "
                         "'.', at most 64 characters, not starting with '.'", name);
    sl_keypair_t kp;
    char err[1024], fp[17];
    if (sl_keys_generate (&kp) != 0)
        return ctl_fail (ctx, 1, "cannot make a CURVE key pair: libzmq was built without "
                         "CURVE support");
    if (mkdir (o.dir, 0700) != 0 && errno != EEXIST) {   /* `--dir keys/` as the docs show */
        sodium_memzero (&kp, sizeof kp);
        return ctl_fail (ctx, 1, "%s: cannot create the directory: %s", o.dir, strerror (errno));
    }
    rc = sl_keys_write (o.dir, name, &kp, o.force, err, sizeof err);
    if (rc != 0) {
        sodium_memzero (&kp, sizeof kp);
        return ctl_fail (ctx, 1, "%s%s",
                         err, rc == SL_EEXIST ? " (or pass --force to replace it)" : "");
    }
    sl_keys_fingerprint (kp.public_key, fp);
    char keyfile[PATH_MAX], pubfile[PATH_MAX];
    snprintf (keyfile, sizeof keyfile, "%s/%s.key", o.dir, name);
    snprintf (pubfile, sizeof pubfile, "%s/%s.pub", o.dir, name);
    if (ctx->json) {
        cJSON *j = cJSON_CreateObject ();
        cJSON_AddStringToObject (j, "name", name);
        cJSON_AddStringToObject (j, "key_file", keyfile);
        cJSON_AddStringToObject (j, "pub_file", pubfile);
        cJSON_AddStringToObject (j, "public_key", kp.public_key);
        cJSON_AddStringToObject (j, "fingerprint", fp);
        ctl_print_json (j);
        cJSON_Delete (j);
    }
    else {
        printf ("wrote %s (secret, mode 0600: keep it private) and %s\n"
                "public key '%s' (quoted: Z85 holds shell characters), fingerprint %s\n",
                keyfile, pubfile, kp.public_key, fp);
        s_next_step (name, &o, pubfile);
    }
    sodium_memzero (&kp, sizeof kp);
    return 0;
}

static const ctl_cmd_t s_cmds[] = {
    { NULL, "NAME [--dir DIR] [--force] [--role ROLE | --for MEMBER]",
      "make a CURVE key pair: DIR/NAME.key (mode 0600) and DIR/NAME.pub",
      "options:\n"
      "  --dir DIR           where to write the files (default: the current directory)\n"
      "  --force             replace an existing NAME.key\n"
      "  --role ROLE         the role it is for: prints the command that registers it\n"
      "  --for MEMBER        a second key for MEMBER (key rollover): prints the\n"
      "                      member key add / retire commands\n"
      "  --json              print name, files, public key and fingerprint as JSON\n",
      0, s_run },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_keygen = { "keygen", "make a CURVE key pair", s_cmds };

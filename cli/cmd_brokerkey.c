/*  sluicectl broker-key promote --data DIR: the file step of a broker key
 *  rollover (docs/OPERATIONS.md §10). The running broker already serves
 *  DIR/broker-next.key beside DIR/broker.key; this makes the next key the
 *  broker's key (the old pair is kept as broker-retired-FP8.key/.pub, mode
 *  0600), so that the next `systemctl reload sluiced` retires the old key.
 *  It refuses when the broker does not serve the next key yet (a reload
 *  would then change nothing, and a restart would cut every client still on
 *  the old key), unless --force. Run it as the broker's user. */
#include "ctl.h"
#include "sl_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*  The value of `key = ...` in DIR/endpoints into out ("" if none). */
static void
s_endpoints (const char *dir, const char *key, char *out, size_t size)
{
    char path[4096], line[512], k[64], v[300];
    out[0] = 0;
    snprintf (path, sizeof path, "%s/endpoints", dir);
    FILE *f = fopen (path, "r");
    while (f && fgets (line, sizeof line, f))
        if (sscanf (line, "%63s = %299s", k, v) == 2 && !strcmp (k, key))
            snprintf (out, size, "%s", v);
    if (f)
        fclose (f);
}

static int
s_force_opt (int c, const char *arg, void *p)
{
    (void) arg;
    if (c != 'f')
        return -1;
    *(int *) p = 1;
    return 0;
}

static int
s_promote (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = { { "force", no_argument, NULL, 'f' }, { NULL, 0, NULL, 0 } };
    int force = 0, first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_force_opt, &force, 0,
                                               "promote takes no arguments besides --data DIR", &first);
    if (rc >= 0)
        return rc;
    const char *dir = ctx->data_dir;
    if (!dir)
        return ctl_fail (ctx, 2, "which data directory? give --data DIR");
    char cur[4096], next[4096], err[600], fp_cur[17], fp_next[17];
    sl_keypair_t kc, kn;
    snprintf (cur, sizeof cur, "%s/broker.key", dir);
    snprintf (next, sizeof next, "%s/broker-next.key", dir);
    if (sl_keys_load_secret (next, &kn, err, sizeof err) != 0)
        return ctl_fail (ctx, 1, "%s (make it with `sluicectl keygen broker-next --dir %s`, then "
                         "`systemctl reload sluiced`)", err, dir);
    if (sl_keys_load_secret (cur, &kc, err, sizeof err) != 0)
        return ctl_fail (ctx, 1, "%s", err);
    sl_keys_fingerprint (kc.public_key, fp_cur);
    sl_keys_fingerprint (kn.public_key, fp_next);
    char served[64], data_next[300], admin_next[300];
    s_endpoints (dir, "broker_key.next", served, sizeof served);
    s_endpoints (dir, "data.next", data_next, sizeof data_next);
    s_endpoints (dir, "admin.next", admin_next, sizeof admin_next);
    int serving = strcmp (served, kn.public_key) == 0;
    sodium_memzero (&kn, sizeof kn);
    if (!serving && !force)
        return ctl_fail (ctx, 1, "the broker does not serve broker-next.key yet (%s/endpoints has "
                         "no matching broker_key.next): run `systemctl reload sluiced` first and "
                         "let the bureaus move to it; --force promotes anyway (then only a "
                         "restart applies it, and clients still on the old key are cut off)", dir);
    /* keep the old pair, then move the next pair in place */
    char old_key[4200], old_pub[4200], cur_pub[4096], next_pub[4096];
    snprintf (old_key, sizeof old_key, "%s/broker-retired-%.8s.key", dir, fp_cur);
    snprintf (old_pub, sizeof old_pub, "%s/broker-retired-%.8s.pub", dir, fp_cur);
    snprintf (cur_pub, sizeof cur_pub, "%s/broker.pub", dir);
    snprintf (next_pub, sizeof next_pub, "%s/broker-next.pub", dir);
    sodium_memzero (&kc, sizeof kc);
    if (access (next_pub, F_OK) != 0)
        return ctl_fail (ctx, 1, "%s: %s (keygen writes it beside broker-next.key)",
                         next_pub, strerror (errno));
    if (link (cur, old_key) != 0 && errno != EEXIST)
        return ctl_fail (ctx, 1, "%s: cannot keep the old key: %s", old_key, strerror (errno));
    if (access (cur_pub, F_OK) == 0 && link (cur_pub, old_pub) != 0 && errno != EEXIST)
        return ctl_fail (ctx, 1, "%s: cannot keep the old public key: %s",
                         old_pub, strerror (errno));
    if (rename (next, cur) != 0 || rename (next_pub, cur_pub) != 0)
        return ctl_fail (ctx, 1, "moving broker-next.* to broker.*: %s (the old pair is "
                         "kept as %s)", strerror (errno), old_key);
    int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync (dfd);
        close (dfd);
    }
    printf ("broker.key is now %s (was %s, kept as %s)\n"
            "next: systemctl reload sluiced   (sessions still on the old key are closed)\n",
            fp_next, fp_cur, old_key);
    if (data_next[0])
        printf ("then, before the next restart, in sluiced.ini: bind = %s, admin_bind = %s\n",
                data_next, admin_next);
    return 0;
}

static const ctl_cmd_t s_cmds[] = {
    { "promote", "--data DIR [--force]",
      "make broker-next.key the broker's key (broker key rollover, second step)",
      "options:\n"
      "  --force             promote although the broker does not serve the next key\n"
      "Keeps the old pair as broker-retired-FP8.key/.pub. Then `systemctl reload\n"
      "sluiced` retires the old key (docs/OPERATIONS.md, Key rollover).\n", 0, s_promote },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_broker_key = { "broker-key", "broker key rollover", s_cmds };

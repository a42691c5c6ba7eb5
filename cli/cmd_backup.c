/*  sluicectl backup / restore — a consistent copy of a broker data
 *  directory, and putting one back only after its audit chain verified.
 *  docs/OPERATIONS.md §Backup and restore is the contract; in short:
 *
 *  1. backup works beside a running broker: the store is copied inside
 *     one LMDB read transaction (mdb_env_copyfd2, compacted), so it is one
 *     committed state. Key files are copied as they are (they change only
 *     by an operator). Every file is 0600, every directory 0700, whatever
 *     the umask; nothing of the backup is readable by others.
 *  2. Keys policy: by default the backup holds every secret the broker
 *     needs to serve the same data (broker.key, audit-sign.key,
 *     audit-pseudonym.key, pseudonym.key, and the other .key files of DIR);
 *     --no-secrets leaves every *.key out, for sites that escrow keys
 *     separately (restore then needs them put back by hand before start).
 *  3. MANIFEST lists each file with its size and BLAKE2b-256, the audit
 *     head and what secrets it holds; restore checks it first.
 *  4. restore refuses while a sluiced holds DIR/sluiced.lock, verifies the
 *     backup's audit chain and checkpoint signatures (against --pubkey, or
 *     the backup's own audit-sign.pub, which it says), copies into
 *     DIR.restoring with modes 0600/0700 and the target owner, fsyncs, and
 *     only then renames it to DIR (an existing DIR needs --force and is
 *     kept as DIR.before-restore-TIME). No lock.mdb is created: the broker
 *     makes its own at start, with its own owner.
 */
#include "ctl.h"
#include "sl_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <lmdb.h>
#include <pwd.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sl_audit.h"
#include "sl_time.h"

#define S_MANIFEST "MANIFEST"
#define S_FORMAT   "sluice-backup 1"

enum { O_NO_SECRETS = 1, O_PUBKEY, O_OWNER, O_FORCE, O_TRUST };

typedef struct {
    int no_secrets, force, trust_start;
    const char *pubkey, *owner;
} s_opts_t;

static int
s_on_opt (int c, const char *arg, void *p)
{
    s_opts_t *o = p;
    switch (c) {
    case O_NO_SECRETS: o->no_secrets = 1; return 0;
    case O_FORCE: o->force = 1; return 0;
    case O_TRUST: o->trust_start = 1; return 0;
    case O_PUBKEY: o->pubkey = arg; return 0;
    case O_OWNER: o->owner = arg; return 0;
    default: return -1;
    }
}

/*  Files of DIR that are not state: the running broker's lock and
 *  endpoints, half-written temporaries. */
static int
s_skip (const char *name, int no_secrets)
{
    size_t n = strlen (name);
    if (!strcmp (name, "endpoints") || !strcmp (name, "sluiced.lock") || !strcmp (name, S_MANIFEST))
        return 1;
    if (n > 4 && !strcmp (name + n - 4, ".tmp"))
        return 1;
    return no_secrets && n > 4 && !strcmp (name + n - 4, ".key");
}

/*  BLAKE2b-256 of a file in hex (65 bytes). Returns 0 or -1. */
static int
s_hash_file (const char *path, char hex[65], uint64_t *size)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    crypto_generichash_state st;
    crypto_generichash_init (&st, NULL, 0, 32);
    unsigned char buf[65536], out[32];
    ssize_t r;
    *size = 0;
    while ((r = read (fd, buf, sizeof buf)) > 0) {
        crypto_generichash_update (&st, buf, (size_t) r);
        *size += (uint64_t) r;
    }
    close (fd);
    if (r < 0)
        return -1;
    crypto_generichash_final (&st, out, sizeof out);
    sodium_bin2hex (hex, 65, out, sizeof out);
    return 0;
}

/*  Copies src to dst (created 0600, exclusive), fsynced. Returns 0 or -1
 *  with errno. */
static int
s_copy (const char *src, const char *dst)
{
    int in = open (src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open (dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        int e = errno;
        close (in);
        errno = e;
        return -1;
    }
    char buf[65536];
    ssize_t r;
    int rc = 0;
    while ((r = read (in, buf, sizeof buf)) > 0)
        if (write (out, buf, (size_t) r) != r) {
            rc = -1;
            break;
        }
    if (r < 0)
        rc = -1;
    int e = errno;
    if (fchmod (out, 0600) != 0 || fsync (out) != 0)
        rc = -1;
    close (in);
    close (out);
    errno = e;
    return rc;
}

static void
s_fsync_dir (const char *dir)
{
    int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync (fd);
        close (fd);
    }
}

static int
s_mkdir_private (const char *dir)
{
    if (mkdir (dir, 0700) != 0)
        return -1;
    return chmod (dir, 0700);
}

static void
s_utc (char *buf, size_t size)
{
    sl_time_format ((int64_t) time (NULL) * 1000000, NULL, buf, size);
}

/*  The audit head of the store in `store_dir` (keys in key_dir). */
static uint64_t
s_audit_head (MDB_env *env, const char *key_dir)
{
    sl_audit_t *a = sl_audit_open (env, key_dir, SL_AUDIT_RDONLY, NULL, 0);
    uint64_t head = a ? sl_audit_head (a, NULL) : 0;
    sl_audit_destroy (&a);
    return head;
}

/* ------------------------------------------------------------- backup */

static int
s_backup (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_FLAG ("no-secrets", O_NO_SECRETS), { NULL, 0, NULL, 0 } };
    s_opts_t o = { 0 };
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_on_opt, &o, 1,
                                    "backup needs OUT, a directory that does not exist yet", &first);
    if (rc >= 0)
        return rc;
    const char *out = argv[first], *dir = ctx->data_dir;
    if (!dir)
        return ctl_fail (ctx, 2, "which data directory? give --data DIR (the broker's, e.g. "
                         "/var/lib/sluice)");
    char src[4096], dst[4096], err[600], hex[65];
    snprintf (src, sizeof src, "%s/store", dir);
    struct stat st;
    if (stat (src, &st) != 0 || !S_ISDIR (st.st_mode))
        return ctl_fail (ctx, 1, "%s: no broker store here; give the broker's data directory "
                         "with --data DIR", src);
    mode_t old_mask = umask (077);
    if (s_mkdir_private (out) != 0) {
        ctl_error (ctx, "%s: cannot create: %s%s", out, strerror (errno),
                   errno == EEXIST ? " (give a new directory: a backup never overwrites)" : "");
        umask (old_mask);
        return 1;
    }
    snprintf (dst, sizeof dst, "%s/store", out);
    MDB_env *env = NULL;
    FILE *man = NULL;
    rc = 1;
    if (s_mkdir_private (dst) != 0) {
        ctl_error (ctx, "%s: cannot create: %s", dst, strerror (errno));
        goto out;
    }
    if (sl_store_env_open_rdonly (src, 0, &env, err, sizeof err) != 0) {
        ctl_error (ctx, "%s", err);
        goto out;
    }
    snprintf (dst, sizeof dst, "%s/store/data.mdb", out);
    int fd = open (dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        ctl_error (ctx, "%s: cannot create: %s", dst, strerror (errno));
        goto out;
    }
    /* one read transaction: a committed state even while sluiced writes */
    int mrc = mdb_env_copyfd2 (env, fd, MDB_CP_COMPACT);
    if (mrc == 0 && fsync (fd) != 0)
        mrc = errno;
    close (fd);
    if (mrc != 0) {
        ctl_error (ctx, "%s: copying the store failed: %s (nothing is usable in %s; remove it)",
                   src, mdb_strerror (mrc), out);
        goto out;
    }
    uint64_t head = s_audit_head (env, dir);
    mdb_env_close (env);
    env = NULL;

    snprintf (dst, sizeof dst, "%s/%s", out, S_MANIFEST);
    int mfd = open (dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    man = mfd >= 0 ? fdopen (mfd, "w") : NULL;
    if (!man) {
        ctl_error (ctx, "%s: cannot create: %s", dst, strerror (errno));
        goto out;
    }
    char when[32];
    s_utc (when, sizeof when);
    fprintf (man, "%s\nversion %s\ncreated %s\nsource %s\naudit_head %" PRIu64 "\nsecrets %s\n",
             S_FORMAT, SLUICE_VERSION, when, dir, head, o.no_secrets ? "excluded" : "included");
    uint64_t size;
    snprintf (dst, sizeof dst, "%s/store/data.mdb", out);
    if (s_hash_file (dst, hex, &size) != 0) {
        ctl_error (ctx, "%s: cannot read back: %s", dst, strerror (errno));
        goto out;
    }
    fprintf (man, "file store/data.mdb %" PRIu64 " %s\n", size, hex);
    DIR *d = opendir (dir);
    if (!d) {
        ctl_error (ctx, "%s: %s", dir, strerror (errno));
        goto out;
    }
    struct dirent *de;
    int files = 1, skipped_keys = 0;
    while ((de = readdir (d))) {
        snprintf (src, sizeof src, "%s/%s", dir, de->d_name);
        if (de->d_name[0] == '.' || stat (src, &st) != 0)
            continue;
        if (S_ISDIR (st.st_mode) && strcmp (de->d_name, "store") != 0)
            fprintf (stderr, "sluicectl: backup: %s/ is a directory the broker does not use "
                     "(archive segments?): not copied; back it up with its own files\n", src);
        if (!S_ISREG (st.st_mode))
            continue;
        if (s_skip (de->d_name, o.no_secrets)) {
            skipped_keys += o.no_secrets && strstr (de->d_name, ".key") != NULL;
            continue;
        }
        snprintf (dst, sizeof dst, "%s/%s", out, de->d_name);
        if (s_copy (src, dst) != 0 || s_hash_file (dst, hex, &size) != 0) {
            ctl_error (ctx, "%s -> %s: %s", src, dst, strerror (errno));
            closedir (d);
            goto out;
        }
        fprintf (man, "file %s %" PRIu64 " %s\n", de->d_name, size, hex);
        files++;
    }
    closedir (d);
    if (fflush (man) != 0 || fsync (fileno (man)) != 0) {
        ctl_error (ctx, "%s/%s: cannot write: %s", out, S_MANIFEST, strerror (errno));
        goto out;
    }
    fclose (man);
    man = NULL;
    snprintf (dst, sizeof dst, "%s/store", out);
    s_fsync_dir (dst);
    s_fsync_dir (out);
    printf ("backup of %s in %s: store (audit head %" PRIu64 ") and %d files, mode 0600 in 0700 "
            "directories; secrets %s%s\n", dir, out, head, files - 1,
            o.no_secrets ? "left out" : "included (keep this backup as private as the keys)",
            skipped_keys ? "; put the *.key files back from your key escrow before restoring" : "");
    rc = 0;
out:
    if (man)
        fclose (man);
    if (env)
        mdb_env_close (env);
    umask (old_mask);
    return rc;
}

/* ------------------------------------------------------------- restore */

/*  Checks MANIFEST against the files. Returns 0 or 1 (printed). */
static int
s_check_manifest (ctl_ctx_t *ctx, const char *bk, char names[][256], int *n_names, int max)
{
    char path[4096], line[600];
    snprintf (path, sizeof path, "%s/%s", bk, S_MANIFEST);
    FILE *f = fopen (path, "r");
    if (!f)
        return ctl_fail (ctx, 1, "%s: %s (is %s a backup made by `sluicectl backup`?)", path,
                         strerror (errno), bk);
    int ln = 0, bad = 0;
    *n_names = 0;
    while (fgets (line, sizeof line, f)) {
        ln++;
        line[strcspn (line, "\n")] = 0;
        if (ln == 1 && strcmp (line, S_FORMAT) != 0) {
            ctl_error (ctx, "%s:1: not a sluice backup manifest (want '%s')", path, S_FORMAT);
            bad = 1;
            break;
        }
        char name[256], hex[65], want[80];
        uint64_t size, have_size;
        if (strncmp (line, "file ", 5) != 0)
            continue;
        if (sscanf (line + 5, "%255s %" SCNu64 " %79s", name, &size, want) != 3
            || strstr (name, "..") || name[0] == '/') {
            ctl_error (ctx, "%s:%d: malformed file line", path, ln);
            bad = 1;
            break;
        }
        char fp[4096];
        snprintf (fp, sizeof fp, "%s/%s", bk, name);
        if (s_hash_file (fp, hex, &have_size) != 0) {
            ctl_error (ctx, "%s: %s (listed in %s:%d)", fp, strerror (errno), path, ln);
            bad = 1;
            break;
        }
        if (have_size != size || strcmp (hex, want) != 0) {
            ctl_error (ctx, "%s: differs from %s:%d (size %" PRIu64 ", want %" PRIu64
                       "; or its hash): the backup is damaged", fp, path, ln, have_size, size);
            bad = 1;
            break;
        }
        if (*n_names < max)
            snprintf (names[(*n_names)++], 256, "%s", name);
    }
    fclose (f);
    return bad;
}

/*  Owner for the restored files: --owner USER[:GROUP], else the owner of
 *  an existing DIR, else the caller. */
static int
s_owner (ctl_ctx_t *ctx, const char *spec, const char *dir, uid_t *uid, gid_t *gid)
{
    struct stat st;
    *uid = getuid ();
    *gid = getgid ();
    if (!spec) {
        if (stat (dir, &st) == 0) {
            *uid = st.st_uid;
            *gid = st.st_gid;
        }
        return 0;
    }
    char user[128];
    snprintf (user, sizeof user, "%s", spec);
    char *colon = strchr (user, ':');
    if (colon)
        *colon++ = 0;
    struct passwd *pw = getpwnam (user);
    if (!pw)
        return ctl_fail (ctx, 2, "--owner %s: no such user", user);
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (colon && *colon) {
        struct group *gr = getgrnam (colon);
        if (!gr)
            return ctl_fail (ctx, 2, "--owner %s: no such group '%s'", spec, colon);
        *gid = gr->gr_gid;
    }
    return 0;
}

static int
s_rm_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) ftw;
    return (flag == FTW_DP ? rmdir (path) : unlink (path)) == 0 || errno == ENOENT ? 0 : -1;
}

/*  Removes the staging directory `path` and what is in it (depth first, not
 *  following symbolic links). Returns 0 or -1. */
static int
s_rm_rf (const char *path)
{
    struct stat st;
    if (lstat (path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw (path, s_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int
s_restore (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("pubkey", O_PUBKEY), CTL_ARG ("owner", O_OWNER), CTL_FLAG ("force", O_FORCE),
        CTL_FLAG ("trust-start", O_TRUST), { NULL, 0, NULL, 0 } };
    s_opts_t o = { 0 };
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_on_opt, &o, 1,
                                    "restore needs BACKUP (a directory made by sluicectl backup)", &first);
    if (rc >= 0)
        return rc;
    const char *bk = argv[first], *dir = ctx->data_dir;
    if (!dir)
        return ctl_fail (ctx, 2, "restore where? give --data DIR (the broker's data directory)");
    char path[4096], stage[4200], err[600];
    /* 1. never under a running broker */
    snprintf (path, sizeof path, "%s/sluiced.lock", dir);
    int lfd = open (path, O_RDONLY | O_CLOEXEC);
    if (lfd >= 0) {
        int busy = flock (lfd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
        close (lfd);
        if (busy)
            return ctl_fail (ctx, 1, "sluiced is running on %s: stop it first (systemctl stop "
                             "sluiced); nothing was changed", dir);
    }
    /* 2. the backup is whole */
    char names[64][256];
    int n_names = 0;
    if (s_check_manifest (ctx, bk, names, &n_names, 64) != 0)
        return 1;
    /* 3. its audit chain and checkpoint signatures verify */
    uint8_t pk[SL_AUDIT_PK_LEN];
    const char *pk_from;
    if (o.pubkey && strlen (o.pubkey) == SL_AUDIT_PK_HEX_LEN
        && sl_audit_pubkey_from_hex (o.pubkey, pk) == 0)
        pk_from = "--pubkey";
    else {
        snprintf (path, sizeof path, "%s/%s", bk, SL_AUDIT_SIGN_PUB_FILE);
        if (sl_audit_load_pubkey (o.pubkey ? o.pubkey : path, pk, err, sizeof err) != 0)
            return ctl_fail (ctx, 1, "%s", err);
        pk_from = o.pubkey ? o.pubkey : "the backup's own audit-sign.pub (give --pubkey HEX to check "
                                        "against the key you published)";
    }
    snprintf (path, sizeof path, "%s/store", bk);
    MDB_env *env = NULL;
    if (sl_store_env_open_rdonly (path, 1, &env, err, sizeof err) != 0)
        return ctl_fail (ctx, 1, "%s", err);
    sl_audit_t *audit = sl_audit_open (env, bk, SL_AUDIT_RDONLY, err, sizeof err);
    if (!audit) {
        ctl_error (ctx, "%s: %s", bk, err);
        mdb_env_close (env);
        return 1;
    }
    sl_audit_verify_opts_t vo = { .trust_start = o.trust_start };
    sl_audit_report_t r;
    memset (&r, 0, sizeof r);
    int vrc = sl_audit_verify (env, pk, &vo, &r);
    sl_audit_destroy (&audit);
    mdb_env_close (env);
    if (vrc != 0)
        return ctl_fail (ctx, 1,
                         "%s: the audit log does not verify (%s at seq %" PRIu64 ": %s); nothing "
                         "was restored", bk, sl_audit_verdict_str (r.verdict), r.bad_seq,
                         r.message);
    /* 4. copy beside the target, with the right owner and modes */
    uid_t uid;
    gid_t gid;
    if ((rc = s_owner (ctx, o.owner, dir, &uid, &gid)) != 0)
        return rc;
    struct stat st;
    int exists = stat (dir, &st) == 0;
    if (exists) {
        DIR *d = opendir (dir);
        int empty = 1;
        struct dirent *de;
        while (d && (de = readdir (d)))
            if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
                empty = 0;
        if (d)
            closedir (d);
        if (!empty && !o.force)
            return ctl_fail (ctx, 1, "%s is not empty: add --force to keep it as "
                             "%s.before-restore-TIME and restore in its place", dir, dir);
    }
    mode_t old_mask = umask (077);
    snprintf (stage, sizeof stage, "%s.restoring", dir);
    s_rm_rf (stage);
    rc = 1;
    char sub[4300];
    snprintf (sub, sizeof sub, "%s/store", stage);
    if (s_mkdir_private (stage) != 0 || s_mkdir_private (sub) != 0) {
        ctl_error (ctx, "%s: cannot create: %s", stage, strerror (errno));
        goto out;
    }
    for (int i = 0; i < n_names; i++) {
        char from[4400], to[4400];
        snprintf (from, sizeof from, "%.4000s/%.255s", bk, names[i]);
        snprintf (to, sizeof to, "%.4000s/%.255s", stage, names[i]);
        if (s_copy (from, to) != 0 || chown (to, uid, gid) != 0) {
            ctl_error (ctx, "%s -> %s: %s", from, to, strerror (errno));
            goto out;
        }
    }
    if (chown (sub, uid, gid) != 0 || chown (stage, uid, gid) != 0) {
        ctl_error (ctx, "%s: chown: %s", stage, strerror (errno));
        goto out;
    }
    s_fsync_dir (sub);
    s_fsync_dir (stage);
    /* 5. swap it in */
    if (exists) {
        char when[32], aside[4300];
        s_utc (when, sizeof when);
        snprintf (aside, sizeof aside, "%s.before-restore-%s", dir, when);
        if (rename (dir, aside) != 0) {
            ctl_error (ctx, "%s -> %s: %s", dir, aside, strerror (errno));
            goto out;
        }
        printf ("kept the previous %s as %s\n", dir, aside);
    }
    if (rename (stage, dir) != 0) {
        ctl_error (ctx, "%s -> %s: %s", stage, dir, strerror (errno));
        goto out;
    }
    struct passwd *pw = getpwuid (uid);
    printf ("restored %s from %s: %d files, owner %s (uid %u), mode 0600 in 0700 directories\n"
            "audit log verified: %" PRIu64 " entries (seq %" PRIu64 "..%" PRIu64 "), %" PRIu64
            " checkpoint signatures, key from %s\n"
            "start the broker as that user, e.g. systemctl start sluiced\n",
            dir, bk, n_names, pw ? pw->pw_name : "?", (unsigned) uid, r.entries, r.first_seq,
            r.last_seq, r.checkpoints, pk_from);
    rc = 0;
out:
    if (rc != 0)
        s_rm_rf (stage);
    umask (old_mask);
    return rc;
}

static const ctl_cmd_t s_backup_cmds[] = {
    { NULL, "--data DIR OUT [--no-secrets]",
      "copy a broker data directory (running or not) into OUT, consistently",
      "options:\n"
      "  --no-secrets        leave every *.key file out (escrow the keys separately)\n"
      "OUT must not exist. Files are written 0600 in 0700 directories. See\n"
      "docs/OPERATIONS.md, Backup and restore.\n", 0, s_backup },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

static const ctl_cmd_t s_restore_cmds[] = {
    { NULL, "--data DIR BACKUP [--owner USER[:GROUP]] [--pubkey HEX|FILE] [--force]",
      "verify a backup's audit log, then put it in place as DIR",
      "options:\n"
      "  --owner USER[:GROUP] owner of the restored files (default: the owner of\n"
      "                      an existing DIR, else you); e.g. --owner sluice\n"
      "  --pubkey HEX|FILE   the audit signing key to trust (default: the one in\n"
      "                      the backup)\n"
      "  --force             DIR exists and is not empty: keep it as\n"
      "                      DIR.before-restore-TIME and restore in its place\n"
      "  --trust-start       accept a live log that starts after seq 1 (archived)\n"
      "Refuses while sluiced runs on DIR. Creates no lock.mdb.\n", 0, s_restore },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_backup = { "backup", "copy a data directory, safely, while the broker runs",
                                       s_backup_cmds };
const ctl_group_t ctl_group_restore = { "restore", "verify a backup and put it in place",
                                        s_restore_cmds };

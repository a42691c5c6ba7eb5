/*  Integration: sluicectl backup / restore with the real sluiced.
 *  A hot backup is private (0600 files, 0700 directories) whatever the
 *  umask; offline readers create no lock.mdb on a copy; restore refuses a
 *  running broker, a damaged backup and a wrong audit key, and a restore
 *  made as root brings back a broker that runs as an unprivileged user;
 *  sluiced refuses a store that others can read. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ot.h"
#include "tc.h"
#include "tl.h"


static tc_broker_t B;
static char tmp[64], bk[200];     /* scratch; TMP/bk, where a test backs up */
static char out[8192];

static void
setup (void)
{
    ot_tmpdir (tmp, "bk");
    snprintf (bk, sizeof bk, "%s/bk", tmp);
    chmod (tmp, 0755);       /* an unprivileged broker must reach DIR inside */
    cr_assert_eq (tc_broker_start (&B, NULL), 0);
    sl_keypair_t kw;
    cr_assert_eq (tc_member (&B, "water", "member", &kw), 0);
    tc_client_t w;
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_eq (tc_publish_water (&w, 100 + i, "CIT-7", 2.0, NULL, 0), 0);
    tc_close (&w);
}

static void
teardown (void)
{
    ot_cleanup (&B, tmp);
}

TestSuite (backup, .init = setup, .fini = teardown, .timeout = 120);

/*  sluicectl ARGS (stderr folded in): the exit status; under umask 022,
 *  what the backup commands are checked against. */
#define ctl(...) (umask (022), tc_ctl (out, sizeof out, __VA_ARGS__))

/*  Every entry under dir: files 0600, directories 0700. */
static void
assert_private (const char *dir)
{
    struct stat st;
    cr_assert_eq (stat (dir, &st), 0);
    cr_assert_eq (st.st_mode & 07777, 0700, "%s has mode %04o", dir, st.st_mode & 07777);
    DIR *d = opendir (dir);
    struct dirent *de;
    while ((de = readdir (d))) {
        if (!strcmp (de->d_name, ".") || !strcmp (de->d_name, ".."))
            continue;
        char p[600];
        snprintf (p, sizeof p, "%s/%s", dir, de->d_name);
        cr_assert_eq (stat (p, &st), 0);
        if (S_ISDIR (st.st_mode))
            assert_private (p);
        else
            cr_assert_eq (st.st_mode & 07777, 0600, "%s has mode %04o", p, st.st_mode & 07777);
    }
    closedir (d);
}

static int
exists (const char *fmt, const char *a)
{
    char p[600];
    struct stat st;
    snprintf (p, sizeof p, fmt, a);
    return stat (p, &st) == 0;
}

Test (backup, hot_backup_is_private_and_offline_reads_create_no_lock)
{
    cr_assert_eq (ctl ("backup --data '%s' '%s'", B.dir, bk), 0, "%s", out);
    assert_private (bk);
    cr_assert (exists ("%s/store/data.mdb", bk));
    cr_assert (exists ("%s/broker.key", bk));
    cr_assert (!exists ("%s/endpoints", bk));
    cr_assert (!exists ("%s/store/lock.mdb", bk));
    /* an offline verify of the copy, as root, leaves no lock.mdb behind */
    cr_assert_eq (ctl ("audit verify --data '%s'", bk), 0, "%s", out);
    cr_assert_not_null (strstr (out, "OK:"), "%s", out);
    cr_assert (!exists ("%s/store/lock.mdb", bk), "audit verify created lock.mdb in the copy");
    /* --no-secrets leaves the keys out */
    snprintf (bk, sizeof bk, "%s/bk2", tmp);
    cr_assert_eq (ctl ("backup --data '%s' --no-secrets '%s'", B.dir, bk), 0, "%s", out);
    cr_assert (!exists ("%s/broker.key", bk));
    cr_assert (!exists ("%s/audit-sign.key", bk));
    cr_assert (exists ("%s/audit-sign.pub", bk));
    /* a backup never overwrites */
    cr_assert_neq (ctl ("backup --data '%s' '%s'", B.dir, bk), 0);
}

Test (backup, restore_refuses_a_running_broker_damage_and_a_wrong_key)
{
    char dst[200];
    snprintf (dst, sizeof dst, "%s/restored", tmp);
    cr_assert_eq (ctl ("backup --data '%s' '%s'", B.dir, bk), 0, "%s", out);
    cr_assert_eq (ctl ("restore --data '%s' --force '%s'", B.dir, bk), 1);
    cr_assert_not_null (strstr (out, "running"), "%s", out);
    /* a key that did not sign the checkpoints */
    cr_assert_eq (ctl ("restore --data '%s' --pubkey %064d '%s'", dst, 0, bk), 1, "%s", out);
    cr_assert (!exists ("%s", dst), "a refused restore left %s", dst);
    /* one byte changed in the store */
    char p[300];
    snprintf (p, sizeof p, "%s/store/data.mdb", bk);
    int fd = open (p, O_RDWR);
    unsigned char c;
    cr_assert_eq (pread (fd, &c, 1, 5000), 1);
    c ^= 0x5a;
    cr_assert_eq (pwrite (fd, &c, 1, 5000), 1);
    close (fd);
    cr_assert_eq (ctl ("restore --data '%s' '%s'", dst, bk), 1);
    cr_assert_not_null (strstr (out, "damaged"), "%s", out);
    cr_assert (!exists ("%s", dst));
}

Test (backup, restore_as_root_runs_as_an_unprivileged_user)
{
    if (geteuid () != 0)
        cr_skip_test ("needs root to restore for another user");
    struct passwd *pw = getpwnam ("nobody");
    cr_assert_not_null (pw);
    char dst[200];
    snprintf (dst, sizeof dst, "%s/data", tmp);
    cr_assert_eq (ctl ("backup --data '%s' '%s'", B.dir, bk), 0, "%s", out);
    cr_assert_eq (tc_broker_stop (&B), 0);
    cr_assert_eq (ctl ("restore --data '%s' --owner nobody '%s'", dst, bk), 0, "%s", out);
    cr_assert_not_null (strstr (out, "audit log verified"), "%s", out);
    assert_private (dst);
    struct stat st;
    char p[300];
    snprintf (p, sizeof p, "%s/store/data.mdb", dst);
    cr_assert_eq (stat (p, &st), 0);
    cr_assert_eq (st.st_uid, pw->pw_uid);
    /* as the operator would, check it as root before starting: no lock.mdb owned by root */
    cr_assert_eq (ctl ("audit verify --data '%s'", dst), 0, "%s", out);
    cr_assert (!exists ("%s/store/lock.mdb", dst), "verify created lock.mdb");
    /* the broker as nobody */
    char log[300], wrap[200], data_ep[256], admin_ep[256];
    snprintf (log, sizeof log, "%s/nobody.log", tmp);
    snprintf (wrap, sizeof wrap, "setpriv --reuid %u --regid %u --clear-groups",
              (unsigned) pw->pw_uid, (unsigned) pw->pw_gid);
    tl_run_t r = { .data = dst, .log = log, .wrap = wrap };
    pid_t pid = tl_broker_run (&r, data_ep, sizeof data_ep, admin_ep, sizeof admin_ep);
    char *text = tl_slurp (log, NULL);
    cr_assert_gt (pid, 0, "the restored broker did not start as nobody:\n%s", text);
    free (text);
    /* it serves: status with the restored admin key */
    cr_assert_eq (ctl ("status --data '%s' --key '%s/admin.key'", dst, dst), 0, "%s", out);
    cr_assert_eq (ctl ("audit verify --data '%s'", dst), 0, "%s", out);
    snprintf (p, sizeof p, "%s/store/lock.mdb", dst);
    cr_assert_eq (stat (p, &st), 0);
    cr_assert_eq (st.st_uid, pw->pw_uid, "lock.mdb not the broker's");
    cr_assert_eq (tl_broker_stop (pid, SIGTERM, 10000), 0);
}

Test (backup, a_store_others_can_read_is_refused_at_start)
{
    cr_assert_eq (tc_broker_stop (&B), 0);
    char p[400];
    snprintf (p, sizeof p, "%s/store/data.mdb", B.dir);
    cr_assert_eq (chmod (p, 0644), 0);
    int st = tl_sh (out, sizeof out, "'%s' run --data '%s' --bind tcp://127.0.0.1:* "
                    "--admin-bind tcp://127.0.0.1:* 2>&1", getenv ("SLUICED"), B.dir);
    cr_assert_eq (st, 1, "sluiced started on a 0644 store: %s", out);
    cr_assert_not_null (strstr (out, "mode 0644"), "%s", out);
    cr_assert_not_null (strstr (out, "chmod 600"), "%s", out);
}

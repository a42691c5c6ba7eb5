/*  Integration: the sluiced command line (init, flags, INI errors, lock). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tc.h"
#include "tl.h"

/*  Runs `sluiced ARGS` (shell words), returns the exit status; the combined
 *  output goes to out. */
#define run(out, size, args) tl_sh (out, size, "'%s' %s 2>&1", getenv ("SLUICED"), args)

static char dir[64];

static void
setup (void)
{
    snprintf (dir, sizeof dir, "/tmp/sluice-cli-XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
}

static void
teardown (void)
{
    if (tl_rm_rf (dir) != 0)
        fprintf (stderr, "cannot remove %s\n", dir);
}

TestSuite (cli, .init = setup, .fini = teardown, .timeout = 60);

Test (cli, help)
{
    char out[8192];
    cr_assert_eq (run (out, sizeof out, "--help"), 0);
    cr_assert (strstr (out, "usage: sluiced init"), "%s", out);
    cr_assert (strstr (out, "--checkpoint-every N"), "%s", out);
    cr_assert (strstr (out, "--consent-scan-ms MS"), "%s", out);
    cr_assert (!strstr (out, "--grant"), "%s", out);
    cr_assert_eq (run (out, sizeof out, "init --help"), 0);
}

Test (cli, init_once_only)
{
    char out[4096], args[256];
    snprintf (args, sizeof args, "init --data %s/d", dir);
    cr_assert_eq (run (out, sizeof out, args), 0, "%s", out);
    cr_assert (strstr (out, "/d/admin.key (member 'admin', role admin:city"), "%s", out);
    cr_assert (strstr (out, "/d/audit-sign.pub"), "%s", out);
    cr_assert (strstr (out, "/d/pseudonym.key"), "%s", out);
    /* the secrets are private to the broker's user */
    struct stat st;
    const char *secrets[] = { "pseudonym.key", "audit-sign.key", "audit-pseudonym.key" };
    for (int i = 0; i < 3; i++) {
        char p[600];
        snprintf (p, sizeof p, "%s/d/%s", dir, secrets[i]);
        cr_assert_eq (stat (p, &st), 0, "%s missing", p);
        cr_assert_eq (st.st_mode & 0777, 0600, "%s mode %o", p, st.st_mode & 0777);
    }
    char path[128];
    snprintf (path, sizeof path, "%s/d/broker.key", dir);
    cr_assert_eq (access (path, R_OK), 0);
    cr_assert_eq (run (out, sizeof out, args), 1, "second init succeeded: %s", out);
    cr_assert (strstr (out, "already"), "%s", out);
}

Test (cli, run_without_init_explains)
{
    char out[4096], args[256];
    snprintf (args, sizeof args, "run --data %s/none", dir);
    cr_assert_eq (run (out, sizeof out, args), 1);
    cr_assert (strstr (out, "sluiced init"), "%s", out);
}

Test (cli, bad_flags_and_ini)
{
    char out[4096], args[256], ini[128];
    cr_assert_eq (run (out, sizeof out, "--frobnicate"), 2);
    cr_assert (strstr (out, "unknown argument '--frobnicate'"), "%s", out);
    cr_assert_eq (run (out, sizeof out, "--batch 0"), 2);
    cr_assert (strstr (out, "batch"), "%s", out);
    snprintf (ini, sizeof ini, "%s/s.ini", dir);
    FILE *f = fopen (ini, "w");
    fprintf (f, "[sluiced]\nbatch = 10\nmax_message_size = huge\n");
    fclose (f);
    snprintf (args, sizeof args, "--config %s", ini);
    cr_assert_eq (run (out, sizeof out, args), 2);
    char want[160];
    snprintf (want, sizeof want, "%s:3: max_message_size", ini);
    cr_assert (strstr (out, want), "%s", out);
}

Test (cli, grants_are_gone_and_second_broker_is_refused)
{
    tc_broker_t b;
    cr_assert_eq (tc_broker_start (&b, NULL), 0);
    char out[4096], args[512];
    snprintf (args, sizeof args, "run --data %s --bind tcp://127.0.0.1:* --admin-bind tcp://127.0.0.1:*", b.dir);
    cr_assert_eq (run (out, sizeof out, args), 1, "two brokers on one directory: %s", out);
    cr_assert (strstr (out, "another sluiced is running"), "%s", out);
    cr_assert_eq (tc_broker_stop (&b), 0);
    snprintf (args, sizeof args,
              "run --data %s --bind tcp://127.0.0.1:* --admin-bind tcp://127.0.0.1:* --grant power:water.v1.MeterReading:x",
              b.dir);
    cr_assert_eq (run (out, sizeof out, args), 2, "--grant accepted: %s", out);
    cr_assert (strstr (out, "unknown argument '--grant'"), "%s", out);
    tc_broker_cleanup (&b);
}

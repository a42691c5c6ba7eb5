/*  tl-broker — the test harness's broker launcher as a program, for suites
 *  not written in C (the Python conformance client): the same launcher
 *  (tl.h), members and policies (tc.h) as the C suites.
 *
 *  tl-broker --dir DIR [--sluiced PATH] [--bind EP] [--admin-bind EP]
 *            [--member NAME:ROLE]... [--policy OWNER=FILE]... [-- RUN-ARGUMENTS...]
 *
 *  Runs `sluiced init` into DIR/data unless DIR/data/broker.pub exists (so a
 *  second call on the same DIR is a restart), starts `sluiced run` on
 *  --bind / --admin-bind (default: ephemeral loopback ports; log appended to DIR/sluiced.log), registers each
 *  member with a new key pair written to DIR/keys/NAME.key|pub, applies each
 *  policy file as OWNER's (through "admin-OWNER", or the broker's admin key
 *  for city), then prints one JSON line on stdout:
 *
 *    {"pid":N,"data_dir":"DIR/data","data":"tcp://...","admin":"tcp://...",
 *     "broker_pub":"<Z85>","admin_key":"DIR/data/admin.key",
 *     "log":"DIR/sluiced.log","keys":{"NAME":"DIR/keys/NAME.key",...}}
 *
 *  and waits.  When stdin ends, a line "stop" arrives or tl-broker gets
 *  SIGTERM or SIGINT, it sends SIGTERM,
 *  prints {"exit":STATUS} (the broker's exit status; -1 when it had to be
 *  killed) and exits 0.  A failure before the JSON line: a message on
 *  stderr and exit 1 (the broker stopped).  If tl-broker itself dies, the
 *  broker is killed with it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "sl_signal.h"
#include "tc.h"
#include "tl.h"

static void
s_usage (FILE *f)
{
    fprintf (f, "usage: tl-broker --dir DIR [--sluiced PATH] [--bind EP] [--admin-bind EP]\n"
                "                 [--member NAME:ROLE]... [--policy OWNER=FILE]... [-- RUN-ARGUMENTS...]\n"
                "Starts sluiced for a test (init on first use of DIR), registers members and\n"
                "applies policies, prints the endpoints and key paths as one JSON line, and\n"
                "stops the broker when stdin ends or on SIGTERM (prints {\"exit\":STATUS}).\n");
}

int
main (int argc, char **argv)
{
    const char *root = NULL, *sluiced = NULL, *members[32], *policies[16];
    const char *bind = NULL, *admin_bind = NULL;
    const char *run_args[64];
    int n_members = 0, n_policies = 0, n_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp (a, "--help") || !strcmp (a, "-h")) {
            s_usage (stdout);
            return 0;
        }
        else if (!strcmp (a, "--")) {
            while (++i < argc && n_args < 63)
                run_args[n_args++] = argv[i];
        }
        else if (i + 1 < argc && !strcmp (a, "--dir"))
            root = argv[++i];
        else if (i + 1 < argc && !strcmp (a, "--sluiced"))
            sluiced = argv[++i];
        else if (i + 1 < argc && !strcmp (a, "--bind"))
            bind = argv[++i];
        else if (i + 1 < argc && !strcmp (a, "--admin-bind"))
            admin_bind = argv[++i];
        else if (i + 1 < argc && !strcmp (a, "--member") && n_members < 32)
            members[n_members++] = argv[++i];
        else if (i + 1 < argc && !strcmp (a, "--policy") && n_policies < 16)
            policies[n_policies++] = argv[++i];
        else {
            fprintf (stderr, "tl-broker: unknown or incomplete argument '%s'\n", a);
            s_usage (stderr);
            return 2;
        }
    }
    run_args[n_args] = NULL;
    /* SIGTERM or SIGINT: the broker is stopped cleanly too (no SA_RESTART,
       so the wait below returns) */
    sl_signal_catch (0);
    if (!root) {
        s_usage (stderr);
        return 2;
    }

    tc_broker_t b;
    memset (&b, 0, sizeof b);
    char log[400], keys[400], path[600], err[300];
    snprintf (b.dir, sizeof b.dir, "%s/data", root);
    snprintf (log, sizeof log, "%s/sluiced.log", root);
    snprintf (keys, sizeof keys, "%s/keys", root);
    snprintf (path, sizeof path, "%s/broker.pub", b.dir);
    if (access (path, R_OK) != 0 && tl_broker_init (sluiced, b.dir, log) != 0)
        return 1;
    if (mkdir (keys, 0700) != 0 && errno != EEXIST) {
        fprintf (stderr, "tl-broker: mkdir %s: %s\n", keys, strerror (errno));
        return 1;
    }
    snprintf (path, sizeof path, "%s/broker.pub", b.dir);
    int ok = sl_keys_load_public (path, b.broker_pub, err, sizeof err) == 0;
    snprintf (path, sizeof path, "%s/admin.key", b.dir);
    ok = ok && sl_keys_load_secret (path, &b.admin, err, sizeof err) == 0;
    if (!ok) {
        fprintf (stderr, "tl-broker: %s\n", err);
        return 1;
    }
    tl_run_t r = { .sluiced = sluiced, .data = b.dir, .log = log, .args = run_args,
                   .data_bind = bind, .admin_bind = admin_bind };
    b.pid = tl_broker_run (&r, b.data_ep, sizeof b.data_ep, b.admin_ep, sizeof b.admin_ep);
    if (b.pid < 0)
        return 1;

    cJSON *out = cJSON_CreateObject (), *jkeys = cJSON_CreateObject ();
    for (int i = 0; ok && i < n_members; i++) {
        char name[64], role[64];
        sl_keypair_t kp;
        if (sscanf (members[i], "%63[^:]:%63s", name, role) != 2) {
            fprintf (stderr, "tl-broker: --member %s: expected NAME:ROLE\n", members[i]);
            ok = 0;
        }
        else if (tc_member (&b, name, role, &kp) != 0
                 || sl_keys_write (keys, name, &kp, 1, err, sizeof err) != 0) {
            fprintf (stderr, "tl-broker: member %s could not be made\n", name);
            ok = 0;
        }
        else {
            snprintf (path, sizeof path, "%s/%s.key", keys, name);
            cJSON_AddStringToObject (jkeys, name, path);
        }
    }
    for (int i = 0; ok && i < n_policies; i++) {
        char owner[64], *text = NULL;
        const char *eq = strchr (policies[i], '=');
        snprintf (owner, sizeof owner, "%.*s", eq ? (int) (eq - policies[i]) : 0, policies[i]);
        if (!eq || !(text = tl_slurp (eq + 1, NULL)) || tc_policy (&b, owner, text) < 1) {
            fprintf (stderr, "tl-broker: --policy %s was not applied\n", policies[i]);
            ok = 0;
        }
        free (text);
    }
    if (!ok) {
        cJSON_Delete (out);
        cJSON_Delete (jkeys);
        tl_broker_stop (b.pid, SIGTERM, 10000);
        return 1;
    }
    cJSON_AddNumberToObject (out, "pid", b.pid);
    cJSON_AddStringToObject (out, "data_dir", b.dir);
    cJSON_AddStringToObject (out, "data", b.data_ep);
    cJSON_AddStringToObject (out, "admin", b.admin_ep);
    cJSON_AddStringToObject (out, "broker_pub", b.broker_pub);
    snprintf (path, sizeof path, "%s/admin.key", b.dir);
    cJSON_AddStringToObject (out, "admin_key", path);
    cJSON_AddStringToObject (out, "log", log);
    cJSON_AddItemToObject (out, "keys", jkeys);
    char *line = cJSON_PrintUnformatted (out);
    printf ("%s\n", line);
    fflush (stdout);
    free (line);
    cJSON_Delete (out);

    char buf[256];
    while (!sl_signal_stop && fgets (buf, sizeof buf, stdin) && strncmp (buf, "stop", 4) != 0)
        ;
    printf ("{\"exit\":%d}\n", tl_broker_stop (b.pid, SIGTERM, 15000));
    return 0;
}

/*  Integration: signals, logs and the endpoints file of the real sluiced.
 *  SIGHUP under load loses nothing, changes the log level live and reopens
 *  --log-file after logrotate moved it; --log-format json; --version;
 *  an endpoints file left by a killed broker is named and replaced; a clean
 *  stop leaves a "stopped" file so an adapter with --data DIR --spool
 *  starts and spools while the broker is down. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cJSON.h>

#include "ot.h"
#include "tc.h"
#include "tl.h"


static tc_broker_t B;
static char tmp[64];

static void
teardown (void)
{
    ot_cleanup (&B, tmp);
}

TestSuite (signals, .fini = teardown, .timeout = 120);

/*  Whether a line of the file at `path` contains `needle` within 5 s. */
#define s_logged(path, needle) TC_AWAIT (5000, tc_file_count (path, needle) > 0)

Test (signals, sighup_under_load_loses_nothing_reloads_and_reopens_the_log)
{
    ot_tmpdir (tmp, "sig");
    char ini[200], log[200], rotated[220];
    snprintf (ini, sizeof ini, "%s/sluiced.ini", tmp);
    snprintf (log, sizeof log, "%s/broker.log", tmp);
    snprintf (rotated, sizeof rotated, "%s/broker.log.1", tmp);
    tl_write (ini, "[sluiced]\nlog_level = info\nqueue_max = 100000\n");
    const char *extra[] = { "--config", ini, "--log-file", log, NULL };
    cr_assert_eq (tc_broker_start (&B, extra), 0);
    sl_keypair_t kw;
    cr_assert_eq (tc_member (&B, "water", "member", &kw), 0);
    cr_assert_eq (tc_file_count (log, "level=debug"), 0, "debug lines before the reload");
    cr_assert (s_logged (log, "event=broker.started"), "--log-file not used");

    tc_client_t w;
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    enum { N_MSG = 40, PER = 25 };
    for (int i = 0; i < N_MSG / 2; i++)
        cr_assert_neq (tc_publish_waters (&w, 5000 + (uint32_t) (i * PER), PER, "C-1"), 0);
    /* logrotate: move the file, change the level, SIGHUP, go on publishing */
    cr_assert_eq (rename (log, rotated), 0);
    tl_write (ini, "[sluiced]\nlog_level = debug\nqueue_max = 100000\n");
    cr_assert_eq (kill (B.pid, SIGHUP), 0);
    for (int i = N_MSG / 2; i < N_MSG; i++)
        cr_assert_neq (tc_publish_waters (&w, 5000 + (uint32_t) (i * PER), PER, "C-1"), 0);
    long acked = tc_acks (&w, N_MSG, tc_wait (10000));
    cr_assert_eq (acked, N_MSG * PER, "%ld of %d records acked after SIGHUP (-1: an ACK is missing "
                  "or was an ERROR)", acked, N_MSG * PER);
    cr_assert_eq (kill (B.pid, 0), 0, "SIGHUP ended the broker");
    cr_assert (s_logged (log, "event=config.reloaded"), "no config.reloaded in the reopened log");
    cr_assert_gt (tc_file_count (rotated, "event=broker.started"), 0);
    /* the new level is live: a debug line for this publish */
    cr_assert_neq (tc_publish_waters (&w, 90000, 1, "C-1"), 0);
    tc_msg_t m;
    cr_assert_eq (tc_recv_cmd (&w, &m, SLUICE__V1__COMMAND__ACK, tc_wait (10000)), 0);
    tc_msg_free (&m);
    cr_assert (s_logged (log, "level=debug"), "log_level = debug not applied by SIGHUP");
    tc_close (&w);
    /* nothing lost: every record is in the audit log */
    cr_assert_eq (tc_audit_count (&B, "kind=publish", NULL), N_MSG * PER + 1);
    cr_assert_eq (tc_broker_stop (&B), 0);
}

Test (signals, json_log_lines)
{
    ot_tmpdir (tmp, "sig");
    char log[200];
    snprintf (log, sizeof log, "%s/broker.log", tmp);
    const char *extra[] = { "--log-format", "json", "--log-file", log, NULL };
    cr_assert_eq (tc_broker_start (&B, extra), 0);
    cr_assert (s_logged (log, "\"event\":\"broker.started\""));
    FILE *f = fopen (log, "r");
    char line[4096];
    int n = 0;
    while (fgets (line, sizeof line, f)) {
        cJSON *j = cJSON_Parse (line);
        cr_assert_not_null (j, "not JSON: %s", line);
        cr_assert (cJSON_IsString (cJSON_GetObjectItem (j, "ts")));
        cr_assert (cJSON_IsString (cJSON_GetObjectItem (j, "level")));
        cr_assert (cJSON_IsString (cJSON_GetObjectItem (j, "event")));
        cJSON_Delete (j);
        n++;
    }
    fclose (f);
    cr_assert_gt (n, 1);
}

Test (signals, version_flags)
{
    const char *progs[] = { "SLUICED", "sluiced", "SLUICECTL", "sluicectl" };
    for (int i = 0; i < 4; i += 2) {
        char out[256], want[64];
        cr_assert_eq (tl_sh (out, sizeof out, "'%s' --version", getenv (progs[i])), 0, "%s", progs[i]);
        snprintf (want, sizeof want, "%s " SLUICE_VERSION "\n", progs[i + 1]);
        cr_assert_str_eq (out, want);
    }
}

Test (signals, stale_endpoints_are_named_and_replaced)
{
    ot_tmpdir (tmp, "sig");
    cr_assert_eq (tc_broker_start (&B, NULL), 0);
    pid_t old = B.pid;
    kill (B.pid, SIGKILL);
    waitpid (B.pid, NULL, 0);
    B.pid = 0;
    char out[2048], cmd[900];
    snprintf (cmd, sizeof cmd, "'%s' status --data '%s' 2>&1", getenv ("SLUICECTL"), B.dir);
    cr_assert_neq (tl_sh (out, sizeof out, "%s", cmd), 0);
    cr_assert_not_null (strstr (out, "not running"), "sluicectl on a stale file: %s", out);
    cr_assert_eq (tc_broker_restart (&B), 0);
    char needle[64];
    cr_assert (TC_AWAIT (5000, tc_broker_log_count (&B, "event=endpoints.stale") > 0),
               "the stale file was not named");
    snprintf (needle, sizeof needle, "pid=%ld", (long) old);
    cr_assert_gt (tc_broker_log_count (&B, needle), 0);
    cr_assert_eq (tl_sh (out, sizeof out, "%s", cmd), 0, "%s", out);
    /* a clean stop marks the file stopped */
    cr_assert_eq (tc_broker_stop (&B), 0);
    char ep[400];
    snprintf (ep, sizeof ep, "%s/endpoints", B.dir);
    cr_assert_gt (tc_file_count (ep, "state = stopped"), 0);
    cr_assert_gt (tc_file_count (ep, "pid = 0"), 0);
    cr_assert_neq (tl_sh (out, sizeof out, "%s", cmd), 0);
    cr_assert_not_null (strstr (out, "stopped"), "%s", out);
}

/*  Runs the water adapter with --data (the broker's) and --spool on the
 *  file `fixture` of tests/adapters/fixtures (NULL: /dev/null), waiting at
 *  most `wait` seconds for the broker; its output in out[size]. The exit
 *  status. */
static int
s_adapter (const char *wait, const char *fixture, char *out, size_t size)
{
    const char *src = getenv ("SOURCE_ROOT");
    cr_assert_not_null (src);
    char in[600] = "/dev/null";
    if (fixture)
        snprintf (in, sizeof in, "%s/tests/adapters/fixtures/%s", src, fixture);
    return tl_sh (out, size, "'%s' --data '%s' --key '%s/water.key' --spool '%s/spool' --wait %s "
                  "--meters '%s/tests/adapters/fixtures/water-meters.csv' "
                  "--quarantine '%s/q.jsonl' '%s' 2>&1", getenv ("WATER_ADAPTER"), B.dir, tmp,
                  tmp, wait, src, tmp, in);
}

Test (signals, adapter_with_data_dir_spools_while_the_broker_is_down)
{
    ot_tmpdir (tmp, "sig");
    cr_assert_eq (tc_broker_start (&B, NULL), 0);
    sl_keypair_t kw;
    cr_assert_eq (tc_member (&B, "water", "member", &kw), 0);
    cr_assert_eq (sl_keys_write (tmp, "water", &kw, 0, NULL, 0), 0);
    char port_ep[256];
    snprintf (port_ep, sizeof port_ep, "%s", B.data_ep);
    cr_assert_eq (tc_broker_stop (&B), 0);

    char out[8192];
    int st = s_adapter ("1", "wmbus.jsonl", out, sizeof out);
    cr_assert_neq (st, 3, "the adapter could not run while the broker was down:\n%s", out);
    cr_assert_neq (st, 2, "%s", out);
    /* the broker comes back on the same endpoint; the next run drains the spool */
    snprintf (B.extra[0], sizeof B.extra[0], "--bind");
    snprintf (B.extra[1], sizeof B.extra[1], "%.120s", port_ep);
    B.n_extra = 2;
    cr_assert_eq (tc_broker_restart (&B), 0);
    st = s_adapter ("20", NULL, out, sizeof out);
    cr_assert_eq (st, 0, "second run: %s", out);
    /* the fixture holds 3 readable records (the dry run prints 3): all of
     * them were spooled by the first run and stored by the second */
    long n = tc_audit_count (&B, "kind=publish", NULL);
    cr_assert_eq (n, 3, "%ld of the 3 spooled records reached the broker:\n%s", n, out);
}

Test (signals, sighup_applies_queue_max_at_once)
{
    ot_tmpdir (tmp, "sig");
    char ini[200];
    snprintf (ini, sizeof ini, "%s/sluiced.ini", tmp);
    tl_write (ini, "[sluiced]\nqueue_max = 5\n");
    const char *extra[] = { "--config", ini, NULL };
    sl_keypair_t kw, kp;
    cr_assert_eq (tc_scene (&B, extra, &kw, &kp, TL_CITY, TL_PERMIT ("w2p", "*", "keep", "")), 0);
    tc_client_t w, p;
    /* no credit: it queues */
    cr_assert_eq (tc_consumer (&p, &B, &kp, "power", TL_WATER, "joint-metering", 0), 0);
    cr_assert_eq (tc_join (&w, &B, &kw, "water"), 0);
    tc_msg_t m;
    cr_assert_neq (tc_publish_waters (&w, 7000, 6, "C-1"), 0);
    cr_assert_eq (tc_recv_cmd (&w, &m, SLUICE__V1__COMMAND__ACK, tc_wait (5000)), 0);
    cr_assert_eq (m.h->n_message_ids, 5, "queue_max 5: %zu stored", m.h->n_message_ids);
    cr_assert_eq (m.h->n_errors, 1);
    cr_assert_str_eq (m.h->errors[0]->reason, "queue-full");
    tc_msg_free (&m);
    /* raise it in the file; SIGHUP; the refused record goes in now */
    tl_write (ini, "[sluiced]\nqueue_max = 100\n");
    cr_assert_eq (kill (B.pid, SIGHUP), 0);
    cr_assert (TC_AWAIT (5000, tc_broker_log_count (&B, "queue_max=100") > 0),
               "no config.reloaded with the new limit");
    cr_assert_neq (tc_publish_waters (&w, 7005, 1, "C-1"), 0);
    cr_assert_eq (tc_recv_cmd (&w, &m, SLUICE__V1__COMMAND__ACK, tc_wait (5000)), 0);
    cr_assert_eq (m.h->n_message_ids, 1, "still refused after the reload");
    cr_assert_eq (m.h->n_errors, 0);
    tc_msg_free (&m);
    tc_close_all (&w, &p, NULL);
}

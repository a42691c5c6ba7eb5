/*  Unit suite of the harness core (tl.h): the endpoints file, the shell
 *  runner, file helpers, spawning and stopping, and the launcher's failure
 *  paths (a broker that exits at start, one that writes no endpoints). */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tl.h"

static char dir[64];

static void
setup (void)
{
    snprintf (dir, sizeof dir, "/tmp/sluice-tl-XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
}

static void
teardown (void)
{
    tl_rm_rf (dir);
}

TestSuite (tl, .init = setup, .fini = teardown, .timeout = 30);

Test (tl, endpoints_file_is_read_and_a_stale_pid_is_not_taken)
{
    char path[128], data[64], admin[64], m[64];
    snprintf (path, sizeof path, "%s/endpoints", dir);
    cr_assert_eq (tl_endpoints (dir, 0, data, sizeof data, admin, sizeof admin), -1, "no file yet");
    cr_assert_eq (tl_write (path, "data = tcp://127.0.0.1:5570\nadmin = tcp://127.0.0.1:5571\n"
                                  "metrics = 127.0.0.1:9100\npid = 4242\n"), 0);
    cr_assert_eq (tl_endpoints (dir, 4242, data, sizeof data, admin, sizeof admin), 0);
    cr_assert_str_eq (data, "tcp://127.0.0.1:5570");
    cr_assert_str_eq (admin, "tcp://127.0.0.1:5571");
    cr_assert_eq (tl_endpoints (dir, 4243, data, sizeof data, admin, sizeof admin), -1,
                  "a file naming another pid is an earlier run's");
    cr_assert_eq (tl_endpoint (dir, "metrics", m, sizeof m), 0);
    cr_assert_str_eq (m, "127.0.0.1:9100");
    cr_assert_eq (tl_endpoint (dir, "state", m, sizeof m), -1);
}

Test (tl, sh_returns_the_status_and_the_output_cut_to_fit)
{
    char out[8];
    cr_assert_eq (tl_sh (out, sizeof out, "printf '%s'; exit %d", "0123456789", 3), 3);
    cr_assert_str_eq (out, "0123456");
    cr_assert_eq (tl_sh (out, sizeof out, "echo err >&2"), 0);
    cr_assert_str_eq (out, "", "stderr is not captured unless asked");
    cr_assert_eq (tl_sh (NULL, 0, "kill -TERM $$"), 128 + SIGTERM);
}

Test (tl, write_and_slurp_round_trip)
{
    char path[128];
    size_t len = 0;
    snprintf (path, sizeof path, "%s/f", dir);
    char big[10000];
    memset (big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq (tl_write (path, big), 0);
    char *back = tl_slurp (path, &len);
    cr_assert_not_null (back);
    cr_assert_eq (len, sizeof big - 1);
    cr_assert_str_eq (back, big);
    free (back);
    cr_assert_null (tl_slurp ("/nonexistent/f", NULL));
    cr_assert_eq (tl_write ("/nonexistent/f", "x"), -1);
}

Test (tl, spawn_logs_and_stop_reports_the_status)
{
    char log[128];
    snprintf (log, sizeof log, "%s/log", dir);
    const char *echo[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 7", NULL };
    pid_t pid = tl_spawn (echo, log);
    cr_assert_gt (pid, 0);
    cr_assert_eq (tl_broker_stop (pid, 0, 5000), 7, "signal 0 only waits");
    char *text = tl_slurp (log, NULL);
    cr_assert (text && strstr (text, "out\n") && strstr (text, "err\n"), "%s", text);
    free (text);
    const char *sleeper[] = { "/bin/sleep", "30", NULL };
    pid = tl_spawn (sleeper, NULL);
    cr_assert_eq (tl_broker_stop (pid, SIGTERM, 5000), 128 + SIGTERM);
    cr_assert_eq (tl_broker_stop (0, SIGTERM, 10), -1);
}

Test (tl, run_fails_when_the_program_exits_or_writes_no_endpoints)
{
    char data[64], admin[64], path[128];
    snprintf (path, sizeof path, "%s/fake-sluiced", dir);
    cr_assert_eq (tl_write (path, "#!/bin/sh\nexit 3\n"), 0);
    cr_assert_eq (chmod (path, 0700), 0);
    tl_run_t r = { .sluiced = path, .data = dir, .timeout_ms = 2000 };
    cr_assert_eq (tl_broker_run (&r, data, sizeof data, admin, sizeof admin), -1);
    cr_assert_eq (tl_write (path, "#!/bin/sh\nexec sleep 30\n"), 0);
    r.timeout_ms = 300;
    cr_assert_eq (tl_broker_run (&r, data, sizeof data, admin, sizeof admin), -1);
}

Test (tl, run_ids_round_trip_and_other_runs_are_told_apart)
{
    uint8_t id[16];
    tl_run_id (id, "crash", 0x01020304u, 70000);
    cr_assert_eq (tl_run_num (id, "crash", 0x01020304u, 100000), 70000);
    cr_assert_eq (tl_run_num (id, "crash", 0x01020305u, 100000), -1, "another run's tag");
    cr_assert_eq (tl_run_num (id, "torn", 0x01020304u, 100000), -1, "another prefix");
    cr_assert_eq (tl_run_num (id, "crash", 0x01020304u, 70000), -1, "n >= max");
}

/* ---- policy, consent and audit suites ------------------------------------ */

Test (tl, count_finds_every_occurrence_and_the_rule_texts_keep_the_layout)
{
    cr_assert_eq (tl_count ("a\nc-1\nc-2\nd-3", "\nc-"), 2);
    cr_assert_eq (tl_count ("aaaa", "aa"), 2, "occurrences do not overlap");
    cr_assert_eq (tl_count ("abc", "x"), 0);
    cr_assert_eq (tl_count ("abc", ""), 0, "an empty needle is never counted");
    TL_HAS ("water-to-power@1 queue", "queue", "water-to-power@");
    cr_assert_str_eq (TL_RULE ("r", "water", "power", TL_WATER, "p", "district", "  subject   keep\n"),
                      "permit \"r\" {\n  owner     water\n  consumer  power\n"
                      "  records   water.v1.MeterReading\n  purpose   p\n  fields    district\n"
                      "  subject   keep\n}\n");
}

/*  docs/ADAPTERS.md's example program, sluice-minimal-adapter, against the
 *  real sluiced on loopback: water publishes its export through it, power
 *  receives through it exactly what water's applied policy releases, bad
 *  lines are reported with line and column while the rest goes through,
 *  and the broker's refusals reach the program's exit status. One broker
 *  and data directory per test. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include "harness.h"

static tb_t tb;
static char water_key[320], power_key[320];
static char out[4096], err[4096];     /* the last run's stdout and stderr */

/*  water's rule as examples/policies/water.policy writes it, less its
 *  validity window (so the test does not depend on the calendar); free()
 *  it. */
static char *
s_water_policy (void)
{
    char *text = tl_slurp (SL_EXAMPLE_POLICIES "/water.policy", NULL);
    cr_assert_not_null (text, "cannot read %s/water.policy", SL_EXAMPLE_POLICIES);
    char *valid = strstr (text, "\n  valid ");
    cr_assert_not_null (valid, "no validity window in water.policy: %s", text);
    char *end = strchr (valid + 1, '\n');
    cr_assert_not_null (end, "the validity window is not a line of its own: %s", text);
    memmove (valid, end, strlen (end) + 1);
    return text;
}

static void
setup (void)
{
    setenv ("SLUICE_LOG", "warn", 1);     /* the programs' stderr: only what they say */
    char *water = s_water_policy ();
    tb_scene (&tb, water_key, power_key, TL_CITY, water);
    free (water);
}

static void
teardown (void)
{
    tb_cleanup (&tb);
}

TestSuite (minimal_adapter, .init = setup, .fini = teardown, .timeout = 90);

/*  Runs the program with `args` (stdin from `input` when not NULL); its
 *  stdout goes to `out`, stderr to `err`. Returns the exit status. */
static int
s_adapter (const char *key, const char *args, const char *input)
{
    char in_path[400], err_path[400], cmd[2048];
    snprintf (in_path, sizeof in_path, "%s/stdin.txt", tb.dir);
    snprintf (err_path, sizeof err_path, "%s/stderr.txt", tb.dir);
    cr_assert_eq (tl_write (in_path, input ? input : ""), 0);
    snprintf (cmd, sizeof cmd, "'%s' --data '%s/data' --key '%s' %s <'%s' 2>'%s'",
              tb_program ("SLUICE_MINIMAL_ADAPTER"), tb.dir, key, args, in_path, err_path);
    int rc = tb_run (cmd, out, sizeof out);
    char *text = tl_slurp (err_path, NULL);
    cr_assert_not_null (text);
    snprintf (err, sizeof err, "%s", text);
    free (text);
    return rc;
}

/*  Starts `receive` in the background as power; returns its pid once the
 *  subscription is in place. Output goes to DIR/received.jsonl. */
static pid_t
s_start_receiver (int count)
{
    char rx[400], log[400], n[16];
    snprintf (rx, sizeof rx, "%s/received.jsonl", tb.dir);
    snprintf (log, sizeof log, "%s/receiver.log", tb.dir);
    snprintf (n, sizeof n, "%d", count);
    char data[300];
    snprintf (data, sizeof data, "%s/data", tb.dir);
    pid_t pid = fork ();
    cr_assert_neq (pid, -1);
    if (pid == 0) {
        if (!freopen (rx, "w", stdout) || !freopen (log, "w", stderr))
            _exit (126);
        execl (tb_program ("SLUICE_MINIMAL_ADAPTER"), "sluice-minimal-adapter", "--data", data,
               "--key", power_key, "receive", "water.v1.MeterReading", "joint-metering", n,
               (char *) NULL);
        _exit (127);
    }
    tb_file_has (log, "subscribed to water.v1.MeterReading for joint-metering", 10000);
    return pid;
}

Test (minimal_adapter, power_receives_what_waters_policy_releases)
{
    pid_t rx = s_start_receiver (2);
    /* 2026-11-28 10:30:42 and 11:46:40 UTC; line 2 is not an export line */
    int rc = s_adapter (water_key, "publish",
                        "WM-0017;CIT-100201;Xihu;440.34;1795861842\n"
                        "WM-0018;CIT-100202\n"
                        "WM-0019;CIT-100203;Binjiang;12.5;1795866400\n");
    cr_assert_eq (rc, 1, "a rejected line makes the exit status 1: %s %s", out, err);
    cr_assert_str_eq (out, "2 stored, 0 refused, 1 rejected\n");
    cr_assert_str_eq (err, "stdin:2:19: expected 5 fields METER;CITIZEN;DISTRICT;M3;UNIX_TIME\n");
    cr_assert_eq (tl_broker_stop (rx, 0, 20000), 0, "the receiver finishes with status 0 within 20 s");

    char path[400], line[4096];
    snprintf (path, sizeof path, "%s/received.jsonl", tb.dir);
    FILE *f = fopen (path, "r");
    cr_assert_not_null (f);
    const char *district[2] = { "Xihu", "Binjiang" };
    const double m3[2] = { 440.34, 12.5 };
    const double hour[2] = { 1795860000, 1795863600 };   /* rounded down to the hour */
    char pseudonym[2][80];
    int n = 0;
    while (fgets (line, sizeof line, f)) {
        cr_assert_lt (n, 2, "more deliveries than publishes: %s", line);
        cJSON *o = cJSON_Parse (line);
        cr_assert_not_null (o, "line %d is JSON: %s", n + 1, line);
        cr_assert_str_eq (cJSON_GetObjectItem (o, "owner")->valuestring, "water");
        cr_assert_str_eq (cJSON_GetObjectItem (o, "rule")->valuestring,
                          "water/water-to-power-joint-metering@1");
        cJSON *r = cJSON_GetObjectItem (o, "record");
        cr_assert_str_eq (cJSON_GetObjectItem (r, "district")->valuestring, district[n]);
        cr_assert_float_eq (cJSON_GetObjectItem (r, "water_consumption_m3")->valuedouble, m3[n], 1e-9);
        cr_assert_float_eq (cJSON_GetObjectItem (r, "date_observed")->valuedouble, hour[n], 0.5);
        const char *subject = cJSON_GetObjectItem (r, "subject")->valuestring;
        cr_assert (strncmp (subject, "CIT-", 4) != 0, "the citizen id left in clear: %s", subject);
        cr_assert_eq (strspn (subject, "0123456789abcdef"), strlen (subject), "%s", subject);
        snprintf (pseudonym[n], sizeof pseudonym[n], "%s", subject);
        /* the fields water did not release are not in power's copy */
        cr_assert_null (cJSON_GetObjectItem (r, "ref_device"), "%s", line);
        cr_assert_null (cJSON_GetObjectItem (r, "id"), "%s", line);
        cJSON_Delete (o);
        n++;
    }
    fclose (f);
    cr_assert_eq (n, 2);
    cr_assert_str_neq (pseudonym[0], pseudonym[1], "two citizens, two pseudonyms");
}

Test (minimal_adapter, a_purpose_no_rule_names_is_denied)
{
    int rc = s_adapter (power_key, "ask water.v1.MeterReading CIT-100201 marketing", NULL);
    cr_assert_eq (rc, 1, "%s", out);
    cr_assert (strncmp (out, "denied: ", 8) == 0, "%s", out);
    cr_assert_not_null (strstr (out, "(no-matching-rule)"), "%s", out);
}

Test (minimal_adapter, a_record_type_the_member_does_not_own_is_refused)
{
    /* power publishing water's record type: the broker refuses, the program says so */
    int rc = s_adapter (power_key, "publish", "WM-0017;CIT-100201;Xihu;1.5;1795861842\n");
    cr_assert_eq (rc, 1);
    cr_assert_str_eq (out, "0 stored, 1 refused, 0 rejected\n");
    cr_assert (strncmp (err, "stdin:1: refused by the broker: ", 32) == 0, "%s", err);
}

Test (minimal_adapter, usage_and_unknown_keys)
{
    cr_assert_eq (s_adapter (water_key, "receive water.v1.MeterReading", NULL), 2);
    cr_assert_not_null (strstr (err, "usage: sluice-minimal-adapter"), "%s", err);
    char stranger[320];
    tb_member (&tb, "stranger", NULL, stranger);         /* a key pair nobody registered */
    cr_assert_eq (s_adapter (stranger, "publish", ""), 3);
    cr_assert (strncmp (err, "connect: ", 9) == 0, "%s", err);
}

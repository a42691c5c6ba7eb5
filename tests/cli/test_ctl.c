/*  ctl: sluicectl's frame — a failure in one statement (ctl_fail), the
    on_opt of a command with one valued option (ctl_opt_text), and where
    the city's zone comes from (ctl_city_zone). */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "sl_time.h"

Test (ctl, fail_prints_group_and_message_and_returns_the_status, .init = cr_redirect_stderr)
{
    ctl_ctx_t ctx;
    memset (&ctx, 0, sizeof ctx);
    ctx.group = "audit";
    cr_assert_eq (ctl_fail (&ctx, 2, "--format %s: give jsonl or csv", "xml"), 2);
    ctx.group = NULL;
    cr_assert_eq (ctl_fail (&ctx, 1, "unknown command '%s'", "nosuch"), 1);
    ctl_error (&ctx, "no status");
    fflush (stderr);
    cr_assert_stderr_eq_str ("sluicectl: audit: --format xml: give jsonl or csv\n"
                             "sluicectl: unknown command 'nosuch'\n"
                             "sluicectl: no status\n");
}

Test (ctl, opt_text_stores_the_value)
{
    const char *v = NULL;
    cr_assert_eq (ctl_opt_text ('v', "3", &v), 0);
    cr_assert_str_eq (v, "3");
}

/*  A data directory whose DIR/timezone names `zone`; *dir gets its path. */
static void
s_dir_with_zone (char dir[64], const char *zone)
{
    snprintf (dir, 64, "/tmp/test_ctl.XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
    char path[128];
    snprintf (path, sizeof path, "%s/timezone", dir);
    FILE *f = fopen (path, "w");
    cr_assert_not_null (f);
    fprintf (f, "%s\n", zone);
    fclose (f);
}

static void
s_rm_dir (const char *dir)
{
    char path[128];
    snprintf (path, sizeof path, "%s/timezone", dir);
    unlink (path);
    rmdir (dir);
}

/*  Each row: the option, SLUICE_TIMEZONE, DIR/timezone, and the zone that
    must be in force afterwards (NULL: UTC). */
Test (ctl, city_zone_takes_option_then_environment_then_data_dir)
{
    static const struct {
        const char *name, *given, *env, *file, *want;
    } rows[] = {
        { "option wins", "Asia/Tokyo", "Europe/Paris", "Asia/Shanghai", "Asia/Tokyo" },
        { "then the environment", NULL, "Europe/Paris", "Asia/Shanghai", "Europe/Paris" },
        { "then DIR/timezone", NULL, NULL, "Asia/Shanghai", "Asia/Shanghai" },
        { "an empty environment is unset", NULL, "", "Asia/Shanghai", "Asia/Shanghai" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char dir[64], err[400] = "";
        s_dir_with_zone (dir, rows[i].file);
        if (rows[i].env)
            setenv ("SLUICE_TIMEZONE", rows[i].env, 1);
        else
            unsetenv ("SLUICE_TIMEZONE");
        sl_time_set_city_zone (NULL);
        int rc = ctl_city_zone (rows[i].given, dir, err, sizeof err);
        s_rm_dir (dir);
        cr_assert_eq (rc, 0, "%s: %s", rows[i].name, err);
        cr_assert_not_null (sl_time_city_zone (), "%s: no zone in force", rows[i].name);
        cr_assert_str_eq (sl_tz_name (sl_time_city_zone ()), rows[i].want, "%s", rows[i].name);
    }
}

Test (ctl, city_zone_is_utc_when_none_is_named)
{
    unsetenv ("SLUICE_TIMEZONE");
    sl_time_set_city_zone (NULL);
    char err[400] = "";
    cr_assert_eq (ctl_city_zone (NULL, NULL, err, sizeof err), 0);
    cr_assert_null (sl_time_city_zone ());
    cr_assert_eq (ctl_city_zone (NULL, "/nonexistent/dir", err, sizeof err), 0);
    cr_assert_null (sl_time_city_zone ());
}

Test (ctl, city_zone_refuses_an_unknown_zone_and_keeps_utc)
{
    unsetenv ("SLUICE_TIMEZONE");
    sl_time_set_city_zone (NULL);
    char err[400] = "";
    cr_assert_eq (ctl_city_zone ("Nowhere/Bad", NULL, err, sizeof err), -1);
    cr_assert (strstr (err, "Nowhere/Bad") != NULL, "the error names the zone: %s", err);
    cr_assert_null (sl_time_city_zone (), "UTC stays in force");
}

/*  sl_config: the operations settings (metrics listener, log file and
 *  format, the broker key rollover's endpoints). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sl_config.h"
#include "sl_error.h"

Test (config_ops, defaults_and_values)
{
    sl_config_t c;
    char err[300];
    sl_config_defaults (&c);
    cr_assert_str_eq (c.metrics_bind, "", "the metrics listener is off by default");
    cr_assert_str_eq (c.log_format, "logfmt");
    cr_assert_str_eq (c.log_file, "");
    cr_assert_eq (sl_config_set (&c, "metrics_bind", "127.0.0.1:9570", err, sizeof err), 0);
    cr_assert_str_eq (c.metrics_bind, "127.0.0.1:9570");
    cr_assert_eq (sl_config_set (&c, "metrics_bind", "off", err, sizeof err), 0);
    cr_assert_str_eq (c.metrics_bind, "");
    cr_assert_eq (sl_config_set (&c, "log_format", "json", err, sizeof err), 0);
    cr_assert_str_eq (c.log_format, "json");
    cr_assert_eq (sl_config_set (&c, "log_format", "xml", err, sizeof err), SL_EINVAL);
    cr_assert (strstr (err, "logfmt or json"), "%s", err);
    cr_assert_eq (sl_config_set (&c, "log_file", "/var/log/sluice/sluiced.log", err, sizeof err), 0);
    cr_assert_eq (sl_config_set (&c, "next_bind", "tcp://*:5580", err, sizeof err), 0);
    cr_assert_str_eq (c.next_bind, "tcp://*:5580");
    cr_assert_eq (sl_config_set (&c, "next_admin_bind", "tcp://127.0.0.1:5581", err, sizeof err), 0);
}

Test (config_ops, ini_file)
{
    char path[] = "/tmp/sluice-cfg-XXXXXX";
    int fd = mkstemp (path);
    cr_assert_geq (fd, 0);
    FILE *f = fdopen (fd, "w");
    fputs ("[sluiced]\nmetrics_bind = [::1]:9570\nlog_format = json\nlog_format = yaml\n", f);
    fclose (f);
    sl_config_t c;
    char err[300];
    sl_config_defaults (&c);
    cr_assert_eq (sl_config_load (&c, path, err, sizeof err), SL_EPARSE);
    cr_assert (strstr (err, ":4:"), "the bad line is named: %s", err);
    cr_assert_str_eq (c.metrics_bind, "[::1]:9570");
    remove (path);
}

/*  sl_config: defaults, INI file, flags' value checks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_config.h"
#include "sl_error.h"

static char path[64];

static void
write_ini (const char *text)
{
    snprintf (path, sizeof path, "/tmp/sluice-ini-XXXXXX");
    int fd = mkstemp (path);
    cr_assert_geq (fd, 0);
    cr_assert_eq (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
}

Test (config, defaults)
{
    unsetenv ("SLUICE_DATA");
    sl_config_t c;
    sl_config_defaults (&c);
    cr_assert_str_eq (c.data_dir, "./var/sluice");
    cr_assert_eq (c.max_message_size, 1048576);
    cr_assert_eq (c.batch_max, 256);
    cr_assert_eq (c.batch_delay_us, 1000);
    setenv ("SLUICE_DATA", "/srv/sluice", 1);
    sl_config_defaults (&c);
    cr_assert_str_eq (c.data_dir, "/srv/sluice");
    unsetenv ("SLUICE_DATA");
}

Test (config, ini_file)
{
    write_ini ("; sluiced settings\n[sluiced]\ndata = /var/lib/sluice\nbind = tcp://127.0.0.1:7000\n"
               "max_message_size = 65536\nbatch = 64\ncheckpoint_every = 100\n"
               "checkpoint_interval_ms = 2500\nconsent_scan_ms = 250\n");
    sl_config_t c;
    char err[300];
    sl_config_defaults (&c);
    cr_assert_eq (sl_config_load (&c, path, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (c.data_dir, "/var/lib/sluice");
    cr_assert_str_eq (c.data_endpoint, "tcp://127.0.0.1:7000");
    cr_assert_eq (c.max_message_size, 65536);
    cr_assert_eq (c.batch_max, 64);
    cr_assert_eq (c.checkpoint_every, 100);
    cr_assert_eq (c.checkpoint_interval_ms, 2500);
    cr_assert_eq (c.consent_scan_ms, 250);
    sl_config_clear (&c);
    unlink (path);
}

Test (config, defaults_for_audit_and_consent)
{
    sl_config_t c;
    sl_config_defaults (&c);
    cr_assert_eq (c.checkpoint_every, 4096);
    cr_assert_eq (c.checkpoint_interval_ms, 60000);
    cr_assert_eq (c.consent_scan_ms, 1000);
}

Test (config, grants_are_gone_and_say_where_to_go)
{
    write_ini ("[sluiced]\ngrant = power:water.v1.MeterReading:x\n");
    sl_config_t c;
    char err[300];
    sl_config_defaults (&c);
    cr_assert_eq (sl_config_load (&c, path, err, sizeof err), SL_EPARSE);
    cr_assert (strstr (err, ":2: grant: there are no grants"), "%s", err);
    cr_assert (strstr (err, "policy apply"), "%s", err);
    unlink (path);
}

Test (config, ini_errors_name_file_and_line)
{
    write_ini ("[sluiced]\ndata = /x\nbatch = lots\n");
    sl_config_t c;
    char err[300];
    sl_config_defaults (&c);
    cr_assert_eq (sl_config_load (&c, path, err, sizeof err), SL_EPARSE);
    char want[100];
    snprintf (want, sizeof want, "%s:3: batch", path);
    cr_assert (strstr (err, want), "%s", err);
    unlink (path);

    write_ini ("[sluiced]\nfrobnicate = 1\n");
    cr_assert_eq (sl_config_load (&c, path, err, sizeof err), SL_EPARSE);
    cr_assert (strstr (err, ":2: unknown setting 'frobnicate'"), "%s", err);
    unlink (path);

    write_ini ("[other]\ndata = /x\n");
    cr_assert_eq (sl_config_load (&c, path, err, sizeof err), SL_EPARSE);
    cr_assert (strstr (err, "unknown section [other]"), "%s", err);
    unlink (path);

    cr_assert_eq (sl_config_load (&c, "/nonexistent/sluiced.ini", err, sizeof err), SL_EIO);
    sl_config_clear (&c);
}

Test (config, value_ranges)
{
    sl_config_t c;
    char err[300];
    sl_config_defaults (&c);
    cr_assert_eq (sl_config_set (&c, "max_message_size", "10", err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_config_set (&c, "max_message_size", "-5", err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_config_set (&c, "batch", "0", err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_config_set (&c, "log_level", "loud", err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_config_set (&c, "map_size_mb", "64", err, sizeof err), 0);
    cr_assert_eq (c.map_size, (size_t) 64 << 20);
    /* overload push-back (PROTOCOL.md 5.2.1): on by default, 0 turns it off;
     * the hold is bounded (it must stay under the clients' ACK timeout) */
    cr_assert_eq (c.overload_queue, 2048);
    cr_assert_eq (c.overload_hold_ms, 1000);
    cr_assert_eq (sl_config_set (&c, "overload_queue", "0", err, sizeof err), 0);
    cr_assert_eq (c.overload_queue, 0);
    cr_assert_eq (sl_config_set (&c, "overload_hold_ms", "0", err, sizeof err), SL_EINVAL);
    cr_assert (strstr (err, "overload_hold_ms") != NULL, "%s", err);
    cr_assert_eq (sl_config_set (&c, "overload_hold_ms", "60001", err, sizeof err), SL_EINVAL);
    cr_assert_eq (sl_config_set (&c, "overload_hold_ms", "250", err, sizeof err), 0);
    cr_assert_eq (c.overload_hold_ms, 250);
    sl_config_clear (&c);
}

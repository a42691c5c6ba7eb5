/*  sl_ini: the INI reader and the settings table (common/sl_ini.h). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_error.h"
#include "sl_ini.h"

typedef struct {
    char name[8];
    unsigned small;
    uint64_t big;
    int mib;
} s_settings_t;

#define S_AT(field) SL_INI_AT (s_settings_t, field)
static const sl_ini_key_t s_keys[] = {
    { "name", SL_INI_TEXT, S_AT (name), 1, 0, 0, "dflt" },
    { "small", SL_INI_NUMBER, S_AT (small), 1, 100, 0, NULL },
    { "big", SL_INI_NUMBER, S_AT (big), 0, 1ull << 40, 0, "42" },
    { "mib", SL_INI_NUMBER, S_AT (mib), 1, 1024, 20, "2" },
};
#define S_NKEYS (sizeof s_keys / sizeof s_keys[0])

Test (ini, sets_text_and_numbers)
{
    s_settings_t s = { "", 0, 0, 0 };
    char err[128] = "";
    cr_assert_eq (sl_ini_set (&s, s_keys, S_NKEYS, "name", "seven", err, sizeof err), 0, "%s", err);
    cr_assert_eq (sl_ini_set (&s, s_keys, S_NKEYS, "small", "100", err, sizeof err), 0, "%s", err);
    cr_assert_eq (sl_ini_set (&s, s_keys, S_NKEYS, "big", "1099511627776", err, sizeof err), 0);
    cr_assert_eq (sl_ini_set (&s, s_keys, S_NKEYS, "mib", "3", err, sizeof err), 0, "%s", err);
    cr_assert_str_eq (s.name, "seven");
    cr_assert_eq (s.small, 100);
    cr_assert_eq (s.big, 1ull << 40);
    cr_assert_eq (s.mib, 3 << 20);
    cr_assert_eq (sl_ini_set (&s, s_keys, S_NKEYS, "other", "1", err, sizeof err), SL_ENOTFOUND);
}

/*  Defaults go through the same rows; a row without one is left alone. */
Test (ini, defaults_from_the_table)
{
    s_settings_t s = { "", 9, 0, 0 };
    sl_ini_defaults (&s, s_keys, S_NKEYS);
    cr_assert_str_eq (s.name, "dflt");
    cr_assert_eq (s.small, 9);
    cr_assert_eq (s.big, 42);
    cr_assert_eq (s.mib, 2 << 20);
}

Test (ini, refuses_with_the_key_and_range)
{
    struct { const char *key, *value, *want; } rows[] = {
        { "small", "0", "small: '0' is not a whole number from 1 to 100" },
        { "small", "101", "small: '101' is not a whole number from 1 to 100" },
        { "small", "-5", "small: '-5' is not a whole number from 1 to 100" },
        { "small", "5x", "small: '5x' is not a whole number from 1 to 100" },
        { "small", "", "small: '' is not a whole number from 1 to 100" },
        { "mib", "1025", "mib: '1025' is not a whole number from 1 to 1024" },
        { "name", "", "name: value must be 1 to 7 characters" },
        { "name", "eight ch", "name: value must be 1 to 7 characters" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        s_settings_t s = { "keep", 7, 7, 7 };
        char err[128] = "";
        cr_assert_eq (sl_ini_set (&s, s_keys, S_NKEYS, rows[i].key, rows[i].value, err, sizeof err),
                      SL_EINVAL, "row %zu (%s = '%s') accepted", i, rows[i].key, rows[i].value);
        cr_assert_str_eq (err, rows[i].want, "row %zu", i);
        cr_assert (!strcmp (s.name, "keep") && s.small == 7 && s.mib == 7, "row %zu changed", i);
    }
}

typedef struct {
    int calls;
    char why[64];
} s_ctx_t;

static int
s_handler (void *user, const char *section, const char *name, const char *value)
{
    s_ctx_t *c = user;
    c->calls++;
    if (!strcmp (name, "bad")) {
        snprintf (c->why, sizeof c->why, "[%s] bad = %s", section, value);
        return 0;
    }
    return 1;
}

static void
s_write (char *path, const char *text)
{
    int fd = mkstemp (path);
    cr_assert (fd >= 0);
    cr_assert_eq (write (fd, text, strlen (text)), (ssize_t) strlen (text));
    close (fd);
}

Test (ini, load_names_file_and_line)
{
    char path[] = "/tmp/sl-ini-XXXXXX", err[256];
    s_ctx_t c = { 0, "" };
    s_write (path, "a = 1\n[s]\nb = 2\n");
    cr_assert_eq (sl_ini_load (path, s_handler, &c, c.why, err, sizeof err), 0);
    cr_assert_eq (c.calls, 2);
    unlink (path);

    char path2[] = "/tmp/sl-ini-XXXXXX", want[300];
    s_write (path2, "a = 1\n[s]\nbad = 3\n");
    cr_assert_eq (sl_ini_load (path2, s_handler, &c, c.why, err, sizeof err), SL_EPARSE);
    snprintf (want, sizeof want, "%s:3: [s] bad = 3", path2);
    cr_assert_str_eq (err, want);
    unlink (path2);

    char path3[] = "/tmp/sl-ini-XXXXXX";
    c.why[0] = 0;
    s_write (path3, "no equals sign here\n");
    cr_assert_eq (sl_ini_load (path3, s_handler, &c, c.why, err, sizeof err), SL_EPARSE);
    snprintf (want, sizeof want, "%s:1: syntax error", path3);
    cr_assert_str_eq (err, want);
    unlink (path3);

    cr_assert_eq (sl_ini_load ("/nonexistent/x.ini", s_handler, &c, c.why, err, sizeof err), SL_EIO);
    cr_assert_str_eq (err, "/nonexistent/x.ini: cannot open: No such file or directory");
}

Test (ini, env_when_no_option_value)
{
    setenv ("SL_INI_TEST_VAR", "from-env", 1);
    cr_assert_str_eq (sl_ini_env ("given", "SL_INI_TEST_VAR"), "given");
    cr_assert_str_eq (sl_ini_env (NULL, "SL_INI_TEST_VAR"), "from-env");
    setenv ("SL_INI_TEST_VAR", "", 1);
    cr_assert_null (sl_ini_env (NULL, "SL_INI_TEST_VAR"));
    unsetenv ("SL_INI_TEST_VAR");
    cr_assert_null (sl_ini_env (NULL, "SL_INI_TEST_VAR"));
}

/*  Helpers for the broker unit suites: a fresh LMDB store in a temp dir. */
#ifndef UNIT_UTIL_H
#define UNIT_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_store.h"

static char u_dir[64];

static inline sl_store_t *
u_store (void)
{
    snprintf (u_dir, sizeof u_dir, "/tmp/sluice-unit-XXXXXX");
    cr_assert_not_null (mkdtemp (u_dir));
    char err[256];
    char path[128];
    snprintf (path, sizeof path, "%s/store", u_dir);
    sl_store_t *s = sl_store_open (path, 16 << 20, 1, err, sizeof err);
    cr_assert_not_null (s, "%s", err);
    return s;
}

static inline sl_store_t *
u_reopen (sl_store_t **s)
{
    sl_store_destroy (s);
    char err[256], path[128];
    snprintf (path, sizeof path, "%s/store", u_dir);
    sl_store_t *n = sl_store_open (path, 16 << 20, 0, err, sizeof err);
    cr_assert_not_null (n, "%s", err);
    return n;
}

static inline void
u_cleanup (sl_store_t **s)
{
    sl_store_destroy (s);
    if (strncmp (u_dir, "/tmp/sluice-unit-", 17) == 0) {
        char cmd[128];
        snprintf (cmd, sizeof cmd, "rm -rf '%s'", u_dir);
        if (system (cmd) != 0)
            fprintf (stderr, "could not remove %s\n", u_dir);
    }
}

#endif

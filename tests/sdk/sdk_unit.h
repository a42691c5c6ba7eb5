/*  The scratch directory of the SDK unit suites (keys, spool): s_setup
 *  makes a fresh one under /tmp, s_teardown removes it. Header only. */
#ifndef TESTS_SDK_UNIT_H
#define TESTS_SDK_UNIT_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "tl.h"

static char s_dir[256];

static void
s_setup (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/sl-sdk-unit-XXXXXX");
    cr_assert_not_null (mkdtemp (s_dir));
}

static void
s_teardown (void)
{
    cr_assert_eq (tl_rm_rf (s_dir), 0, "could not remove %s", s_dir);
}

#endif

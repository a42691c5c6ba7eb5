/*  Helpers shared by the adapter parser suites. */
#ifndef SL_TESTUTIL_H
#define SL_TESTUTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  Reads DIR/NAME whole; aborts the test if it cannot, naming the file
 *  and `hint` (what to do, or ""). The buffer is NUL-terminated; the caller
 *  frees it. `len` may be NULL. */
static inline char *
read_whole (const char *dir, const char *name, const char *hint, size_t *len)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen (path, "rb");
    cr_assert_not_null (f, "cannot read %s%s", path, hint);
    fseek (f, 0, SEEK_END);
    long n = ftell (f);
    fseek (f, 0, SEEK_SET);
    char *buf = malloc ((size_t) n + 1);
    cr_assert_eq (fread (buf, 1, (size_t) n, f), (size_t) n);
    buf [n] = 0;
    fclose (f);
    if (len)
        *len = (size_t) n;
    return buf;
}

/*  Reads fixture `name` from tests/adapters/fixtures (see read_whole). */
static inline char *
fixture (const char *name, size_t *len)
{
    return read_whole (SL_FIXTURES, name, "", len);
}

/*  Path of fixture `name` in a static buffer. */
static inline const char *
fixture_path (const char *name)
{
    static char path [1024];
    snprintf (path, sizeof path, "%s/%s", SL_FIXTURES, name);
    return path;
}

/*  2026-11-28T08:00:00Z, the fixtures' reference time. */
#define T0800 1795852800LL

#endif

/*  sl_file: reading a whole file (common/sl_file.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_error.h"
#include "sl_file.h"

/*  Larger than the first buffer, with NULs inside: every byte comes back,
 *  followed by a NUL. */
Test (file, reads_every_byte_and_ends_with_nul)
{
    char path[] = "/tmp/sl-file-XXXXXX", err[256] = "";
    size_t want_len = 200000, len = 0;
    char *want = malloc (want_len), *got = NULL;
    cr_assert_not_null (want);
    for (size_t i = 0; i < want_len; i++)
        want[i] = (char) (i * 7);
    int fd = mkstemp (path);
    cr_assert (fd >= 0);
    cr_assert_eq (write (fd, want, want_len), (ssize_t) want_len);
    close (fd);
    cr_assert_eq (sl_file_read (path, &got, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq (len, want_len);
    cr_assert_eq (memcmp (got, want, len), 0);
    cr_assert_eq (got[len], '\0');
    free (got);
    free (want);
    unlink (path);
}

Test (file, empty_file_is_an_empty_string)
{
    char path[] = "/tmp/sl-file-XXXXXX", err[256] = "";
    size_t len = 1;
    char *got = NULL;
    close (mkstemp (path));
    cr_assert_eq (sl_file_read (path, &got, &len, err, sizeof err), 0, "%s", err);
    cr_assert_eq (len, 0);
    cr_assert_str_eq (got, "");
    free (got);
    unlink (path);
}

Test (file, errors_name_the_path)
{
    char err[256] = "";
    size_t len = 0;
    char *got = (char *) err;
    cr_assert_eq (sl_file_read ("/nonexistent/f.txt", &got, &len, err, sizeof err), SL_EIO);
    cr_assert_str_eq (err, "/nonexistent/f.txt: No such file or directory");
    cr_assert_null (got);
    cr_assert_eq (sl_file_read ("/tmp", &got, &len, err, sizeof err), SL_EIO);
    cr_assert_str_eq (err, "/tmp: read error");
    cr_assert_null (got);
}

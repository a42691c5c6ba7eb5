/*  Replays fuzz inputs through a target's LLVMFuzzerTestOneInput without
 *  libFuzzer, so the seed corpora and every input that once crashed run in
 *  the normal test suite (and under the sanitizer and valgrind builds).
 *
 *  usage: replay_TARGET DIR|FILE...   (files of a directory in name order)
 *  Exits 0 after replaying everything; a crash or a failed check in the
 *  target aborts the process, which fails the test. A directory that holds
 *  no input fails too, so a moved corpus cannot pass silently.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
s_replay_file (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        fprintf (stderr, "%s: cannot open\n", path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0, r;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *p = realloc (buf, cap);
            if (!p) {
                free (buf);
                fclose (f);
                return -1;
            }
            buf = p;
        }
        r = fread (buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose (f);
    fprintf (stderr, "replay %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput (buf, n);
    free (buf);
    return 0;
}

static int
s_by_name (const struct dirent **a, const struct dirent **b)
{
    return strcmp ((*a)->d_name, (*b)->d_name);
}

int
main (int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat (argv[i], &st) != 0) {
            fprintf (stderr, "%s: no such file or directory\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR (st.st_mode)) {
            if (s_replay_file (argv[i]) != 0)
                return 1;
            files++;
            continue;
        }
        struct dirent **names;
        int n = scandir (argv[i], &names, NULL, s_by_name), here = 0;
        if (n < 0) {
            fprintf (stderr, "%s: cannot list\n", argv[i]);
            return 1;
        }
        for (int k = 0; k < n; k++) {
            char path[4096];
            snprintf (path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
            if (names[k]->d_name[0] != '.' && stat (path, &st) == 0 && S_ISREG (st.st_mode)) {
                if (s_replay_file (path) != 0)
                    return 1;
                here++;
            }
            free (names[k]);
        }
        free (names);
        if (here == 0) {
            fprintf (stderr, "%s: no inputs\n", argv[i]);
            return 1;
        }
        files += here;
    }
    printf ("replayed %d inputs\n", files);
    return 0;
}

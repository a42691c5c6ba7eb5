/*  Canary for scripts/ci-sanitize.sh: proves that a child process built the
 *  way the suite is built writes its UndefinedBehaviorSanitizer and
 *  AddressSanitizer reports where ASAN_OPTIONS / UBSAN_OPTIONS log_path say.
 *  Run with "ub" or "asan" it commits that error; run with no argument it
 *  starts itself twice as a child (fork + exec, as the tests start sluiced)
 *  and exits 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
    if (argc > 1 && strcmp (argv[1], "ub") == 0) {
        int s = argc + 29;
        return (1 << s) != 0;                /* shift past the sign bit: UB */
    }
    if (argc > 1 && strcmp (argv[1], "asan") == 0) {
        volatile char *p = malloc (4);
        p[5] = 1;                            /* heap overflow */
        return 0;
    }
    const char *kinds[] = { "ub", "asan" };
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork ();
        if (pid == 0) {
            execl (argv[0], argv[0], kinds[i], (char *) NULL);
            _exit (127);
        }
        waitpid (pid, NULL, 0);
    }
    return 0;
}

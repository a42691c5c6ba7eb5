/*  tl — the one test harness core shared by every integration suite, the
    fuzz drivers and the benchmarks: monotonic time, the time scale of slow
    machines, the broker's endpoints file, spawning a program with its output
    in a log, and removing a test directory.  No test framework is linked, so
    libFuzzer drivers and bench programs use it too; tc (raw protocol) and tb
    (SDK) are thin layers on top. */
#ifndef SL_TESTS_TL_H
#define SL_TESTS_TL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*  Milliseconds on CLOCK_MONOTONIC. */
int64_t tl_ms (void);

/*  ms multiplied by SLUICE_TEST_TIME_SCALE (an integer > 1; otherwise 1):
    every wait in a test goes through it so sanitizer builds are not flaky. */
int tl_wait (int ms);

/*  Reads the value of `key` ("data", "admin", "metrics", "pid", ...) from the
    endpoints file DIR/endpoints that sluiced writes when it is listening
    (docs/OPERATIONS.md: one `key = value` per line).  0 and the value in
    out[size] when present; -1 when the file or the key is missing. */
int tl_endpoint (const char *dir, const char *key, char *out, size_t size);

/*  Fills data[] and admin[] from DIR/endpoints.  0 when both are present and,
    if pid > 0, the file names that pid (a stale file of an earlier run is not
    taken); -1 otherwise. */
int tl_endpoints (const char *dir, pid_t pid, char *data, size_t data_size,
                  char *admin, size_t admin_size);

/*  Forks and execs argv (argv[0] is a path) with stdout and stderr appended
    to `log` (NULL: inherited); the child dies with the parent.  The child pid,
    or -1. */
pid_t tl_spawn (const char *const *argv, const char *log);

/*  Removes the directory tree at `dir` (no-op when it is empty or missing).
    0 or -1. */
int tl_rm_rf (const char *dir);

#endif

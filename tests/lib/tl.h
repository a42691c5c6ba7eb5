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

/*  The scene most suites start from (tc_scene, tb_scene): members water and
    power, the city purpose joint-metering, and water's permit NAME letting
    power receive FIELDS of water readings for it with the subject as SUBJECT
    (keep, pseudonymize, drop); MORE: further lines inside the permit. */
#define TL_WATER "water.v1.MeterReading"
#define TL_CITY "purpose joint-metering \"water and power reconcile household consumption\"\n"
#define TL_PERMIT(name, fields, subject, more)                                          \
    "permit \"" name "\" {\n  owner water\n  consumer power\n  records " TL_WATER "\n" \
    "  purpose joint-metering\n  fields " fields "\n  subject " subject "\n" more "}\n"

/*  In a Criterion suite: asserts that `rc_expr` (an exit status, e.g. of a
    sluicectl run) is `status` and, when `want` is not NULL, that the output
    `out` contains it. */
#define TL_EXPECT(rc_expr, status, out, want)                                              \
    do {                                                                                   \
        int tl_rc_ = (rc_expr);                                                            \
        const char *tl_want_ = (want);                                                     \
        cr_assert_eq (tl_rc_, (status), "exit %d, expected %d: %s", tl_rc_, (status), out); \
        cr_assert (!tl_want_ || strstr (out, tl_want_), "no '%s' in: %s", tl_want_, out);  \
    } while (0)

/*  The message id of record n of one run: `prefix` (at most 8 bytes), the
    run's `tag`, then n big-endian in the last 4 bytes. */
void tl_run_id (uint8_t id[16], const char *prefix, uint32_t tag, uint32_t n);

/*  n back from an id tl_run_id made with the same prefix and tag; -1 for
    another run's id or n >= max. */
int64_t tl_run_num (const uint8_t id[16], const char *prefix, uint32_t tag, int64_t max);

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

/*  How to run one sluiced (the one launcher of the tests, the fuzz-free
    integration suites, the conformance client's tl-broker and the
    benchmarks). */
typedef struct {
    const char *sluiced;       /* program path; NULL: $SLUICED, else "sluiced" on PATH */
    const char *data;          /* its data directory */
    const char *log;           /* stdout and stderr appended here; NULL: inherited */
    const char *data_bind;     /* NULL: tcp://127.0.0.1:* (an ephemeral port) */
    const char *admin_bind;    /* NULL: tcp://127.0.0.1:* */
    const char *const *args;   /* more `sluiced run` arguments, NULL-terminated; may be NULL */
    const char *wrap;          /* words put in front (e.g. "valgrind --tool=callgrind"),
                                  split at spaces, found on PATH; NULL: none */
    int timeout_ms;            /* for DIR/endpoints, scaled by tl_wait; 0: 10000 */
} tl_run_t;

/*  The sluiced to run: `path` if given, else $SLUICED, else "sluiced". */
const char *tl_sluiced (const char *path);

/*  Runs `sluiced init --data DATA --with-examples` (output appended to
    `log`, NULL: discarded) and waits for it. 0, or -1 with the reason on
    stderr. */
int tl_broker_init (const char *sluiced, const char *data, const char *log);

/*  Starts `sluiced run --data ... --bind ... --admin-bind ... args` and waits
    until DATA/endpoints names the new process; its endpoints go into
    data_ep[] and admin_ep[].  The pid, or -1 (the broker exited or wrote no
    endpoints in time: the reason on stderr, the process reaped). */
pid_t tl_broker_run (const tl_run_t *r, char *data_ep, size_t data_size,
                     char *admin_ep, size_t admin_size);

/*  Sends `sig` to pid and waits up to timeout_ms (scaled), then SIGKILL.
    The exit status (0..255), 128 + the signal when it died of one, or -1
    when it had to be killed after the timeout or pid <= 0. */
int tl_broker_stop (pid_t pid, int sig, int timeout_ms);

/*  Runs the printf-formatted shell command line with /bin/sh, its stdout
    into out[size] (cut to fit, always terminated; out may be NULL; end the
    line with 2>&1 for stderr too).
    The exit status, 128 + the signal that ended it, or -1 when it could not
    run. */
int tl_sh (char *out, size_t size, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Writes `text` to the file at `path` (replaced). 0 or -1. */
int tl_write (const char *path, const char *text);

/*  The whole file at `path`, NUL-terminated (malloc()ed; its length in *len
    when len is not NULL), or NULL. */
char *tl_slurp (const char *path, size_t *len);

/*  Removes the directory tree at `dir` (no-op when it is empty or missing).
    0 or -1. */
int tl_rm_rf (const char *dir);

/* ---- policy, consent and audit suites ------------------------------------ */

/*  One permit in the layout of examples/policies (clause names padded to ten
    columns): owner, consumer, records, purpose and fields; MORE: further
    clause lines, e.g. "  subject   keep\n". */
#define TL_RULE(id, owner, consumer, records, purpose, fields, more)                         \
    "permit \"" id "\" {\n  owner     " owner "\n  consumer  " consumer "\n  records   "    \
    records "\n  purpose   " purpose "\n  fields    " fields "\n" more "}\n"

/*  health's permit of examples/policies/health.policy: parking receives
    visits for parking-fee-waiver, the subject kept, with the citizen's
    consent. */
#define TL_HEALTH_VISITS                                                                     \
    TL_RULE ("health-visit-parking-waiver", "health", "parking", "health.v1.Encounter",     \
             "parking-fee-waiver", "status, period_start, period_end, service_provider",    \
             "  subject   keep\n  consent   required\n")

/*  In a Criterion suite: asserts that the text `out` contains each of the
    strings that follow; a failure names the string that is missing. */
#define TL_HAS(out, ...)                                                                  \
    do {                                                                                  \
        const char *const tl_has_[] = { __VA_ARGS__ };                                    \
        for (size_t tl_i_ = 0; tl_i_ < sizeof tl_has_ / sizeof *tl_has_; tl_i_++)         \
            cr_assert (strstr ((out), tl_has_[tl_i_]), "no '%s' in: %s", tl_has_[tl_i_],      \
                       (out));                                                            \
    } while (0)

/*  How many times `needle` occurs in `hay` (not overlapping). */
int tl_count (const char *hay, const char *needle);

#endif

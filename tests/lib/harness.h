/*  harness — starts the real sluiced for end-to-end tests: a fresh data
    directory per test, ephemeral loopback ports (read back from
    DIR/endpoints), members registered through the admin plane. */
#ifndef SDK_TEST_HARNESS_H
#define SDK_TEST_HARNESS_H

#include <sys/types.h>

#include "sluice.h"
#include "tl.h"

typedef struct {
    char dir[256];             /* the data directory (also holds member keys in DIR/keys) */
    pid_t pid;                 /* running sluiced, or 0 */
    char data_ep[256], admin_ep[256];
    char admin_key[320], broker_pub[320];
    char data_bind[256];       /* endpoint to bind; "tcp://127.0.0.1:*" first time */
    char admin_bind[256];
} tb_t;

/*  Makes a fresh data directory and runs `sluiced init` in it. Asserts. */
void tb_init (tb_t *tb);

/*  Starts sluiced and waits for DIR/endpoints. Asserts. */
void tb_start (tb_t *tb);

/*  Restarts on the same ports (so connected clients find it again). */
void tb_restart (tb_t *tb);

/*  SIGTERM, then waits (SIGKILL after 10 s). Returns the exit status. */
int tb_stop (tb_t *tb);

/*  SIGKILL: a crash, nothing committed after this instant survives. */
void tb_kill (tb_t *tb);

/*  Stops the broker if running and removes the data directory. */
void tb_cleanup (tb_t *tb);

/*  Makes keys DIR/keys/NAME.key|pub and registers NAME with `role`
    (NULL: no registration). Writes the secret key path into `key`. */
void tb_member (tb_t *tb, const char *name, const char *role, char key[320]);

/*  Applies `text` as `owner`'s policy (policy.apply on the admin plane):
    "city" with the broker's admin key (admin:city), a bureau through its
    administrator "admin-OWNER" (role admin:OWNER, registered on first use).
    Asserts that the broker accepted it. */
void tb_policy (tb_t *tb, const char *owner, const char *text);

/*  The usual scene (tl.h): tb_init, tb_start, members water and power (key
    paths into kw, kp), then `city` as the city's policy and `water` as
    water's (each skipped when NULL). Asserts. */
void tb_scene (tb_t *tb, char kw[320], char kp[320], const char *city, const char *water);

/*  Power (power_key) subscribes to water readings for joint-metering, then
    water (water_key) publishes n readings and waits until all are stored:
    reading i is about subject (i), district Nord, i m3, observed at
    1767225600 + i. Returns power's client, for the caller to receive from
    or destroy. Asserts. */
sl_client_t *tb_publish_readings (tb_t *tb, const char *water_key, const char *power_key, int n,
                                  const char *(*subject) (int i));

/*  Connection options for the data plane with `key`. */
sl_client_options_t tb_options (tb_t *tb, const char *key);

/*  Connects with `key`; asserts success. */
sl_client_t *tb_connect (tb_t *tb, const char *key);

/*  Path of a built program named by environment variable `var`. */
const char *tb_program (const char *var);

/*  Runs a shell command line, capturing stdout into `out` (size `size`).
    Returns the exit status. */
int tb_run (const char *cmd, char *out, size_t size);

/*  Runs sluicectl ($SLUICECTL) as the member whose secret key is `key`
 *  against the test broker's admin endpoint with `args` (shell words);
 *  stdout and stderr into out[size]. Returns its exit status. */
int tb_ctl (tb_t *tb, const char *key, const char *args, char *out, size_t size);

/*  tb_ctl, then asserts that sluicectl exited with `status` and, when `want`
 *  is not NULL, that its output contains `want`; the output stays in
 *  out[size]. */
void tb_ctl_expect (tb_t *tb, const char *key, const char *args, int status, const char *want,
                    char *out, size_t size);

/*  `ms` stretched by SLUICE_TEST_TIME_SCALE (an integer, default 1), for runs
    under valgrind where everything is ~10x slower. */
int tb_wait (int ms);

/* ---- policy, consent and audit suites ------------------------------------ */

/*  Receives one delivery on *p (10 s), acknowledges it, waits until the
    broker confirmed (10 s) and destroys the client (*p becomes NULL).
    Asserts. */
void tb_take_one (sl_client_t **p);

/*  ---- added for the SDK, adapter and demo suites ---- */

/*  Waits up to timeout_ms (scaled by SLUICE_TEST_TIME_SCALE; 0: looks once)
    until the file at `path` (a program's log or output) holds `needle`;
    asserts that it does, with the file's text in the message. */
void tb_file_has (const char *path, const char *needle, int timeout_ms);

#endif

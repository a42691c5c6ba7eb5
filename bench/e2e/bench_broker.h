/*  bench_broker — start and stop a private sluiced for a benchmark.
 *
 *  A benchmark owns one temporary data directory (sluiced init), member key
 *  pairs written into DIR/keys, a broker bound to ephemeral loopback ports
 *  (read back from DIR/endpoints) and the broker's process. Everything is
 *  removed by bench_broker_destroy. Benchmarks only: errors are printed and
 *  returned as -1.
 */
#ifndef BENCH_BROKER_H
#define BENCH_BROKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "sluice.h"

#define BENCH_MAX_ARGS 64

typedef struct {
    char sluiced[512];          /* path of the sluiced binary */
    char dir[256];              /* temporary data directory */
    char data_ep[512], admin_ep[512];
    char *extra[BENCH_MAX_ARGS];  /* extra `sluiced run` arguments (owned) */
    int n_extra;
    pid_t pid;
} bench_broker_t;

/*  Makes the temporary directory and runs `sluiced init` in it. */
int bench_broker_init (bench_broker_t *b, const char *sluiced);

/*  Adds one argument for `sluiced run` (copied). */
void bench_broker_arg (bench_broker_t *b, const char *arg);

/*  Starts `sluiced run` and waits (at most 30 s) until DIR/endpoints names
 *  it. *ready_ns gets the time from fork to the endpoints file (may be NULL). */
int bench_broker_start (bench_broker_t *b, uint64_t *ready_ns);

/*  Stops the broker with `sig` (SIGTERM or SIGKILL) and reaps it. */
int bench_broker_stop (bench_broker_t *b, int sig);

/*  Stops a running broker and removes the directory. */
void bench_broker_destroy (bench_broker_t *b);

/*  Writes a key pair DIR/keys/NAME.{key,pub} and registers NAME with `role`
 *  through the admin plane (member.add). */
int bench_broker_add_member (bench_broker_t *b, const char *name, const char *role);

/*  Runs `script DIR/data DIR/data/admin.key sluicectl mode` (policies through
 *  sluicectl, bench/e2e/city-setup.sh) and waits for it. */
int bench_broker_setup (bench_broker_t *b, const char *script, const char *sluicectl,
                        const char *mode);

/*  Client options for member NAME (paths live in `buf`, size >= 1024). */
void bench_broker_options (bench_broker_t *b, const char *name, sl_client_options_t *o,
                           char *buf, size_t size);

/*  Connects member NAME with the tuning of `tune` (batch_max, inflight_max,
 *  credit, connect and ack timeouts; its other members are ignored).
 *  Returns 0, or the SL_E* code after printing "PROGRAM: connect NAME: why". */
int bench_broker_connect (bench_broker_t *b, const char *program, const char *name,
                          const sl_client_options_t *tune, sl_client_t **c);

/*  An admin-plane command with the admin key. Result (malloc'ed) in *result. */
int bench_broker_admin (bench_broker_t *b, const char *command, const char *args,
                        char **result);

/*  The broker's RssAnon in KiB (from /proc/PID/status), or -1. */
long bench_broker_rss_anon_kib (bench_broker_t *b);

#endif

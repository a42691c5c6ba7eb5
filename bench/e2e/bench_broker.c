/*  bench_broker — a private sluiced per benchmark run (see bench_broker.h). */
#include "bench_broker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "sl_keys.h"
#include "tl.h"

int
bench_broker_init (bench_broker_t *b, const char *sluiced)
{
    memset (b, 0, sizeof *b);
    snprintf (b->sluiced, sizeof b->sluiced, "%s", sluiced);
    /* BENCH_TMP=/dev/shm puts the store on tmpfs, where fsync costs nothing:
       an experiment that separates the disk's share from the CPU's */
    const char *base = getenv ("BENCH_TMP") ? getenv ("BENCH_TMP") : "/tmp";
    snprintf (b->dir, sizeof b->dir, "%.200s/sluice-bench-XXXXXX", base);
    if (!mkdtemp (b->dir)) {
        perror ("bench: mkdtemp");
        return -1;
    }
    char data[300], keys[300];
    snprintf (data, sizeof data, "%s/data", b->dir);
    snprintf (keys, sizeof keys, "%s/keys", b->dir);
    if (mkdir (keys, 0700) != 0) {
        perror ("bench: mkdir keys");
        return -1;
    }
    char log[300];
    snprintf (log, sizeof log, "%s/init.log", b->dir);
    return tl_broker_init (b->sluiced, data, log);
}

void
bench_broker_arg (bench_broker_t *b, const char *arg)
{
    if (b->n_extra < BENCH_MAX_ARGS)
        b->extra[b->n_extra++] = strdup (arg);
}

int
bench_broker_start (bench_broker_t *b, uint64_t *ready_ns)
{
    char data[300];
    snprintf (data, sizeof data, "%s/data", b->dir);
    const char *args[BENCH_MAX_ARGS + 3] = { "--log-level", "warn" };
    for (int i = 0; i < b->n_extra; i++)
        args[2 + i] = b->extra[i];
    /* BENCH_BROKER_WRAP="valgrind --tool=callgrind ..." runs the broker under
       a profiler (same pid, so DIR/endpoints matches) */
    tl_run_t r = { .sluiced = b->sluiced, .data = data, .args = args,
                   .wrap = getenv ("BENCH_BROKER_WRAP"), .timeout_ms = 30000 };
    uint64_t t0 = bench_now_ns ();
    b->pid = tl_broker_run (&r, b->data_ep, sizeof b->data_ep, b->admin_ep, sizeof b->admin_ep);
    if (b->pid < 0) {
        b->pid = 0;
        return -1;
    }
    if (ready_ns)
        *ready_ns = bench_now_ns () - t0;
    return 0;
}

int
bench_broker_stop (bench_broker_t *b, int sig)
{
    tl_broker_stop (b->pid, sig, 30000);
    b->pid = 0;
    return 0;
}

void
bench_broker_destroy (bench_broker_t *b)
{
    bench_broker_stop (b, SIGTERM);
    if (b->dir[0] && !getenv ("BENCH_KEEP")) {
        if (tl_rm_rf (b->dir) != 0)
            fprintf (stderr, "bench: could not remove %s\n", b->dir);
    }
    for (int i = 0; i < b->n_extra; i++)
        free (b->extra[i]);
    b->n_extra = 0;
}

int
bench_broker_setup (bench_broker_t *b, const char *script, const char *sluicectl,
                    const char *mode)
{
    char data[300], key[300];
    snprintf (data, sizeof data, "%s/data", b->dir);
    snprintf (key, sizeof key, "%s/data/admin.key", b->dir);
    pid_t pid = fork ();
    if (pid == 0) {
        execl (script, script, data, key, sluicectl, mode, (char *) NULL);
        perror ("bench: exec setup script");
        _exit (127);
    }
    int st = 0;
    if (pid < 0 || waitpid (pid, &st, 0) != pid || !WIFEXITED (st) || WEXITSTATUS (st) != 0) {
        fprintf (stderr, "bench: %s %s ... %s failed\n", script, data, mode);
        return -1;
    }
    return 0;
}

void
bench_broker_options (bench_broker_t *b, const char *name, sl_client_options_t *o,
                      char *buf, size_t size)
{
    memset (o, 0, sizeof *o);
    size_t half = size / 2;
    snprintf (buf, half, "%s/keys/%s.key", b->dir, name);
    snprintf (buf + half, size - half, "%s/data/broker.pub", b->dir);
    o->endpoint = b->data_ep;
    o->key_file = buf;
    o->broker_key_file = buf + half;
}

int
bench_broker_connect (bench_broker_t *b, const char *program, const char *name,
                      const sl_client_options_t *tune, sl_client_t **c)
{
    char buf[1024], err[512];
    sl_client_options_t o;
    bench_broker_options (b, name, &o, buf, sizeof buf);
    o.batch_max = tune->batch_max;
    o.inflight_max = tune->inflight_max;
    o.credit = tune->credit;
    o.connect_timeout_ms = tune->connect_timeout_ms;
    o.ack_timeout_ms = tune->ack_timeout_ms;
    int rc = sl_client_connect (&o, c, err, sizeof err);
    if (rc != 0)
        fprintf (stderr, "%s: connect %s: %s (%s)\n", program, name, sl_strerror (rc), err);
    return rc;
}

int
bench_broker_admin (bench_broker_t *b, const char *command, const char *args, char **result)
{
    char key[300], pub[300], err[512];
    snprintf (key, sizeof key, "%s/data/admin.key", b->dir);
    snprintf (pub, sizeof pub, "%s/data/broker.pub", b->dir);
    sl_client_options_t o = { .endpoint = b->admin_ep, .key_file = key, .broker_key_file = pub };
    char *res = NULL;
    int rc = sl_admin_call (&o, command, args, NULL, 0, 10000, &res, err, sizeof err);
    if (rc != 0) {
        fprintf (stderr, "bench: admin %s %s: %s (%s)\n", command, args ? args : "",
                 sl_strerror (rc), err);
        free (res);
        return -1;
    }
    if (result)
        *result = res;
    else
        free (res);
    return 0;
}

int
bench_broker_add_member (bench_broker_t *b, const char *name, const char *role)
{
    char keys[300], err[256], args[256];
    snprintf (keys, sizeof keys, "%s/keys", b->dir);
    sl_keypair_t kp;
    if (sl_keys_generate (&kp) != 0 || sl_keys_write (keys, name, &kp, 1, err, sizeof err) != 0) {
        fprintf (stderr, "bench: key pair for %s: %s\n", name, err);
        return -1;
    }
    snprintf (args, sizeof args, "{\"name\":\"%s\",\"role\":\"%s\",\"public_key\":\"%s\"}",
              name, role, kp.public_key);
    return bench_broker_admin (b, "member.add", args, NULL);
}

long
bench_broker_rss_anon_kib (bench_broker_t *b)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) b->pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    long kib = -1;
    while (fgets (line, sizeof line, f))
        if (!strncmp (line, "RssAnon:", 8))
            kib = atol (line + 8);
    fclose (f);
    return kib;
}

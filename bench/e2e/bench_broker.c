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
    pid_t pid = fork ();
    if (pid == 0) {
        int fd = open ("/dev/null", O_WRONLY);
        if (fd >= 0) {
            dup2 (fd, 1);
            close (fd);
        }
        execl (b->sluiced, "sluiced", "init", "--data", data, "--with-examples", (char *) NULL);
        perror ("bench: exec sluiced init");
        _exit (127);
    }
    int st = 0;
    waitpid (pid, &st, 0);
    if (!WIFEXITED (st) || WEXITSTATUS (st) != 0) {
        fprintf (stderr, "bench: sluiced init --data %s failed\n", data);
        return -1;
    }
    return 0;
}

void
bench_broker_arg (bench_broker_t *b, const char *arg)
{
    if (b->n_extra < BENCH_MAX_ARGS)
        b->extra[b->n_extra++] = strdup (arg);
}

/*  Reads DIR/endpoints; 1 when it names our pid and both endpoints. */
static int
s_read_endpoints (bench_broker_t *b)
{
    char path[300], line[512];
    snprintf (path, sizeof path, "%s/data/endpoints", b->dir);
    FILE *f = fopen (path, "r");
    if (!f)
        return 0;
    long pid = 0;
    b->data_ep[0] = b->admin_ep[0] = 0;
    while (fgets (line, sizeof line, f)) {
        line[strcspn (line, "\r\n")] = 0;
        if (!strncmp (line, "data = ", 7))
            snprintf (b->data_ep, sizeof b->data_ep, "%s", line + 7);
        else if (!strncmp (line, "admin = ", 8))
            snprintf (b->admin_ep, sizeof b->admin_ep, "%s", line + 8);
        else if (!strncmp (line, "pid = ", 6))
            pid = atol (line + 6);
    }
    fclose (f);
    return pid == (long) b->pid && b->data_ep[0] && b->admin_ep[0];
}

int
bench_broker_start (bench_broker_t *b, uint64_t *ready_ns)
{
    char data[300];
    snprintf (data, sizeof data, "%s/data", b->dir);
    char *argv[BENCH_MAX_ARGS + 32];
    int n = 0;
    /* BENCH_BROKER_WRAP="valgrind --tool=callgrind ..." runs the broker under
       a profiler (words split at spaces; same pid, so DIR/endpoints matches) */
    char wrap[1024] = "";
    const char *w = getenv ("BENCH_BROKER_WRAP");
    if (w)
        snprintf (wrap, sizeof wrap, "%s", w);
    for (char *save = NULL, *tok = strtok_r (wrap, " ", &save); tok && n < 16;
         tok = strtok_r (NULL, " ", &save))
        argv[n++] = tok;
    int wrapped = n > 0;
    const char *prog = wrapped ? argv[0] : b->sluiced;
    argv[n++] = wrapped ? b->sluiced : "sluiced";
    argv[n++] = "run";
    argv[n++] = "--data";
    argv[n++] = data;
    argv[n++] = "--bind";
    argv[n++] = "tcp://127.0.0.1:*";
    argv[n++] = "--admin-bind";
    argv[n++] = "tcp://127.0.0.1:*";
    argv[n++] = "--log-level";
    argv[n++] = "warn";
    for (int i = 0; i < b->n_extra; i++)
        argv[n++] = b->extra[i];
    argv[n] = NULL;

    uint64_t t0 = bench_now_ns ();
    b->pid = fork ();
    if (b->pid == 0) {
        if (strchr (prog, '/'))
            execv (prog, argv);
        else
            execvp (prog, argv);
        perror ("bench: exec sluiced");
        _exit (127);
    }
    if (b->pid < 0) {
        perror ("bench: fork");
        return -1;
    }
    while (bench_now_ns () - t0 < 30000000000ull) {
        if (s_read_endpoints (b)) {
            if (ready_ns)
                *ready_ns = bench_now_ns () - t0;
            return 0;
        }
        int st;
        if (waitpid (b->pid, &st, WNOHANG) == b->pid) {
            fprintf (stderr, "bench: sluiced exited during start (status %d)\n", st);
            b->pid = 0;
            return -1;
        }
        usleep (500);
    }
    fprintf (stderr, "bench: sluiced did not write %s/endpoints within 30 s\n", data);
    return -1;
}

int
bench_broker_stop (bench_broker_t *b, int sig)
{
    if (b->pid <= 0)
        return 0;
    kill (b->pid, sig);
    int st = 0;
    waitpid (b->pid, &st, 0);
    b->pid = 0;
    return 0;
}

void
bench_broker_destroy (bench_broker_t *b)
{
    bench_broker_stop (b, SIGTERM);
    if (b->dir[0] && !getenv ("BENCH_KEEP")) {
        char cmd[400];
        snprintf (cmd, sizeof cmd, "rm -rf '%s'", b->dir);
        if (system (cmd) != 0)
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

/*  tl — see tl.h. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include "tl.h"

#include <fcntl.h>
#include <stdarg.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t
tl_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
tl_wait (int ms)
{
    static int scale;
    if (scale == 0) {
        const char *e = getenv ("SLUICE_TEST_TIME_SCALE");
        scale = e && atoi (e) > 1 ? atoi (e) : 1;
    }
    return ms * scale;
}

int
tl_endpoint (const char *dir, const char *key, char *out, size_t size)
{
    char path[512], line[512];
    snprintf (path, sizeof path, "%s/endpoints", dir);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    int rc = -1;
    while (fgets (line, sizeof line, f)) {
        char k[32], v[400];
        if (sscanf (line, "%31s = %399s", k, v) != 2 || strcmp (k, key) != 0)
            continue;
        snprintf (out, size, "%s", v);
        rc = 0;
    }
    fclose (f);
    return rc;
}

int
tl_endpoints (const char *dir, pid_t pid, char *data, size_t data_size,
              char *admin, size_t admin_size)
{
    char p[32];
    data[0] = admin[0] = '\0';
    /* the pid first: the broker replaces the file whole (rename), so once
     * it names `pid` the endpoints read next are that broker's too; read
     * the other way round, a restart between the reads paired the old
     * broker's endpoints with the new pid */
    if (pid > 0 && (tl_endpoint (dir, "pid", p, sizeof p) != 0 || atol (p) != (long) pid))
        return -1;
    if (tl_endpoint (dir, "data", data, data_size) != 0
        || tl_endpoint (dir, "admin", admin, admin_size) != 0)
        return -1;
    return 0;
}

pid_t
tl_spawn (const char *const *argv, const char *log)
{
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (log) {
            int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                dup2 (fd, 2);
                dup2 (fd, 1);
                close (fd);
            }
        }
        execvp (argv[0], (char *const *) argv);
        _exit (127);
    }
    return pid;
}

void
tl_run_id (uint8_t id[16], const char *prefix, uint32_t tag, uint32_t n)
{
    memset (id, 0, 16);
    memcpy (id, prefix, strnlen (prefix, 8));
    memcpy (id + 8, &tag, 4);
    id[12] = (uint8_t) (n >> 24);
    id[13] = (uint8_t) (n >> 16);
    id[14] = (uint8_t) (n >> 8);
    id[15] = (uint8_t) n;
}

int64_t
tl_run_num (const uint8_t id[16], const char *prefix, uint32_t tag, int64_t max)
{
    uint8_t want[16];
    tl_run_id (want, prefix, tag, 0);
    if (memcmp (id, want, 12) != 0)
        return -1;
    int64_t n = (int64_t) id[12] << 24 | id[13] << 16 | id[14] << 8 | id[15];
    return n < max ? n : -1;
}

const char *
tl_sluiced (const char *path)
{
    if (path && *path)
        return path;
    const char *e = getenv ("SLUICED");
    return e && *e ? e : "sluiced";
}

int
tl_broker_init (const char *sluiced, const char *data, const char *log)
{
    const char *argv[] = { tl_sluiced (sluiced), "init", "--data", data, "--with-examples", NULL };
    pid_t pid = tl_spawn (argv, log ? log : "/dev/null");
    int st = 0;
    if (pid < 0 || waitpid (pid, &st, 0) != pid || !WIFEXITED (st) || WEXITSTATUS (st) != 0) {
        fprintf (stderr, "tl: %s init --data %s failed (status %d)%s%s\n", argv[0], data, st,
                 log ? "; see " : "", log ? log : "");
        return -1;
    }
    return 0;
}

pid_t
tl_broker_run (const tl_run_t *r, char *data_ep, size_t data_size,
               char *admin_ep, size_t admin_size)
{
    const char *argv[96];
    char wrap[1024] = "";
    int n = 0;
    if (r->wrap)
        snprintf (wrap, sizeof wrap, "%s", r->wrap);
    for (char *save = NULL, *w = strtok_r (wrap, " ", &save); w && n < 32;
         w = strtok_r (NULL, " ", &save))
        argv[n++] = w;
    argv[n++] = tl_sluiced (r->sluiced);
    argv[n++] = "run";
    argv[n++] = "--data";
    argv[n++] = r->data;
    argv[n++] = "--bind";
    argv[n++] = r->data_bind ? r->data_bind : "tcp://127.0.0.1:*";
    argv[n++] = "--admin-bind";
    argv[n++] = r->admin_bind ? r->admin_bind : "tcp://127.0.0.1:*";
    for (int i = 0; r->args && r->args[i] && n < 95; i++)
        argv[n++] = r->args[i];
    argv[n] = NULL;
    pid_t pid = tl_spawn (argv, r->log);
    if (pid < 0)
        return -1;
    int64_t until = tl_ms () + tl_wait (r->timeout_ms > 0 ? r->timeout_ms : 10000);
    while (tl_ms () < until) {
        if (tl_endpoints (r->data, pid, data_ep, data_size, admin_ep, admin_size) == 0)
            return pid;
        int st;
        if (waitpid (pid, &st, WNOHANG) == pid) {
            fprintf (stderr, "tl: sluiced exited at start (status %d)%s%s\n", st,
                     r->log ? "; see " : "", r->log ? r->log : "");
            return -1;
        }
        usleep (1000);
    }
    fprintf (stderr, "tl: sluiced wrote no %s/endpoints in time\n", r->data);
    tl_broker_stop (pid, SIGKILL, 0);
    return -1;
}

int
tl_broker_stop (pid_t pid, int sig, int timeout_ms)
{
    if (pid <= 0)
        return -1;
    kill (pid, sig);
    int st = 0;
    int64_t until = tl_ms () + tl_wait (timeout_ms);
    do {
        if (waitpid (pid, &st, WNOHANG) == pid)
            return WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
        usleep (2000);
    } while (tl_ms () < until);
    kill (pid, SIGKILL);
    waitpid (pid, &st, 0);
    return sig == SIGKILL ? 128 + SIGKILL : -1;
}

int
tl_sh (char *out, size_t size, const char *fmt, ...)
{
    char cmd[16384];
    va_list ap;
    va_start (ap, fmt);
    int n = vsnprintf (cmd, sizeof cmd, fmt, ap);
    va_end (ap);
    if (n < 0 || (size_t) n >= sizeof cmd)
        return -1;
    FILE *p = popen (cmd, "r");
    if (!p)
        return -1;
    size_t got = 0, r;
    char sink[4096];
    while (out && got + 1 < size && (r = fread (out + got, 1, size - 1 - got, p)) > 0)
        got += r;
    if (out && size)
        out[got] = '\0';
    while (fread (sink, 1, sizeof sink, p) > 0)
        ;
    int st = pclose (p);
    return st < 0 ? -1 : WIFEXITED (st) ? WEXITSTATUS (st) : 128 + WTERMSIG (st);
}

int
tl_write (const char *path, const char *text)
{
    FILE *f = fopen (path, "w");
    if (!f)
        return -1;
    int ok = fputs (text, f) >= 0;
    return fclose (f) == 0 && ok ? 0 : -1;
}

char *
tl_slurp (const char *path, size_t *len)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, r;
    char *buf = malloc (cap);
    while (buf && (r = fread (buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) {
            char *more = realloc (buf, cap *= 2);
            if (!more)
                free (buf);
            buf = more;
        }
    }
    fclose (f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static int
s_rm (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb; (void) flag; (void) ftw;
    return remove (path);
}

int
tl_rm_rf (const char *dir)
{
    if (!dir || !dir[0] || access (dir, F_OK) != 0)
        return 0;
    return nftw (dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- policy, consent and audit suites ------------------------------------ */

int
tl_count (const char *hay, const char *needle)
{
    int n = 0;
    size_t len = strlen (needle);
    for (const char *p = hay; len && (p = strstr (p, needle)); p += len)
        n++;
    return n;
}

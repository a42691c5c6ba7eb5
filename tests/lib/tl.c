/*  tl — see tl.h. */
#define _XOPEN_SOURCE 700
#include "tl.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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
    if (tl_endpoint (dir, "data", data, data_size) != 0
        || tl_endpoint (dir, "admin", admin, admin_size) != 0)
        return -1;
    if (pid > 0 && (tl_endpoint (dir, "pid", p, sizeof p) != 0 || atol (p) != (long) pid))
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
        execv (argv[0], (char *const *) argv);
        _exit (127);
    }
    return pid;
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

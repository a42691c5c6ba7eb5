/*  What the baseline programs (baseline-zmq, -mosquitto, -rabbitmq) share:
 *  their command line, a free loopback port for the broker they start, and
 *  removing that broker's private directory at the end. */
#ifndef BENCH_BASELINE_H
#define BENCH_BASELINE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/*  Reads "PROGRAM [COUNT] [SIZE]" into *count and *size (left as they are
 *  when not given). Returns 1 after printing the usage line and `about` for
 *  --help or -h (the caller exits 0), else 0. */
static inline int
bench_baseline_args (int argc, char **argv, const char *program, const char *about,
                     long *count, size_t *size)
{
    if (argc > 1 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)) {
        printf ("usage: %s [COUNT] [SIZE]\n%s", program, about);
        return 1;
    }
    if (argc > 1)
        *count = atol (argv[1]);
    if (argc > 2)
        *size = (size_t) atol (argv[2]);
    return 0;
}

/*  A TCP port on 127.0.0.1 free at the time of asking, or -1. */
static inline int
bench_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (fd < 0 || bind (fd, (struct sockaddr *) &a, sizeof a) != 0
        || getsockname (fd, (struct sockaddr *) &a, &len) != 0) {
        if (fd >= 0)
            close (fd);
        return -1;
    }
    close (fd);
    return ntohs (a.sin_port);
}

/*  Removes the directory tree `dir` (rm -rf); says so on stderr if it could not. */
static inline void
bench_remove_dir (const char *program, const char *dir)
{
    char cmd[700];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    if (system (cmd) != 0)
        fprintf (stderr, "%s: could not remove %s\n", program, dir);
}

#endif

/*  ot — see ot.h. */
#include "ot.h"
#include "tl.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <cJSON.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int
ot_metrics_addr (tc_broker_t *b, char *addr, size_t size)
{
    return tl_endpoint (b->dir, "metrics", addr, size);
}

void
ot_tmpdir (char tmp[64], const char *tag)
{
    snprintf (tmp, 64, "/tmp/ot-%.16s-XXXXXX", tag);
    cr_assert_not_null (mkdtemp (tmp), "%s: cannot make it", tmp);
}

void
ot_cleanup (tc_broker_t *b, const char *tmp)
{
    tc_broker_cleanup (b);
    if (tl_rm_rf (tmp) != 0)
        fprintf (stderr, "cannot remove %s\n", tmp);
}

int
ot_get (const char *addr, const char *path, char **body)
{
    char host[64];
    const char *colon = strrchr (addr, ':');
    if (!colon || (size_t) (colon - addr) >= sizeof host)
        return -1;
    memcpy (host, addr, (size_t) (colon - addr));
    host[colon - addr] = 0;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) atoi (colon + 1)) };
    if (inet_pton (AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct timeval tv = { 10, 0 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd < 0 || connect (fd, (struct sockaddr *) &sa, sizeof sa) != 0) {
        if (fd >= 0)
            close (fd);
        return -1;
    }
    char req[300];
    int n = snprintf (req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr);
    if (write (fd, req, (size_t) n) != n) {
        close (fd);
        return -1;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc (cap);
    for (;;) {
        if (len + 4096 > cap) {
            cap *= 2;
            buf = realloc (buf, cap);
        }
        ssize_t r = read (fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t) r;
    }
    close (fd);
    buf[len] = 0;
    int status = -1;
    if (sscanf (buf, "HTTP/1.%*d %d", &status) != 1) {
        free (buf);
        return -1;
    }
    char *b = strstr (buf, "\r\n\r\n");
    if (body)
        *body = strdup (b ? b + 4 : "");
    free (buf);
    return status;
}

int
ot_value (const char *text, const char *series, double *v)
{
    size_t sl = strlen (series);
    for (const char *line = text; line && *line;) {
        if (strncmp (line, series, sl) == 0 && line[sl] == ' ') {
            *v = strtod (line + sl + 1, NULL);
            return 1;
        }
        line = strchr (line, '\n');
        if (line)
            line++;
    }
    return 0;
}

int
ot_promtool (const char *text, char **out)
{
    char in[] = "/tmp/ot-scrape-XXXXXX";
    int fd = mkstemp (in);
    if (fd < 0)
        return -1;
    size_t n = strlen (text);
    if (write (fd, text, n) != (ssize_t) n) {
        close (fd);
        unlink (in);
        return -1;
    }
    close (fd);
    char cmd[200];
    snprintf (cmd, sizeof cmd, "promtool check metrics < %s 2>&1", in);
    FILE *p = popen (cmd, "r");
    if (!p) {
        unlink (in);
        return -1;
    }
    char *o = calloc (1, 65536);
    size_t len = fread (o, 1, 65535, p);
    o[len] = 0;
    int st = pclose (p);
    unlink (in);
    if (out)
        *out = o;
    else
        free (o);
    return WIFEXITED (st) ? WEXITSTATUS (st) : -1;
}

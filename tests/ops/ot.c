/*  ot — see ot.h. */
#include "ot.h"

#include <arpa/inet.h>
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
    char path[400], line[300];
    snprintf (path, sizeof path, "%s/endpoints", b->dir);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    int found = -1;
    while (fgets (line, sizeof line, f))
        if (strncmp (line, "metrics = ", 10) == 0) {
            line[strcspn (line, "\n")] = 0;
            snprintf (addr, size, "%s", line + 10);
            found = 0;
        }
    fclose (f);
    return found;
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

long
ot_audit_count (tc_broker_t *b, const sl_keypair_t *as, const char *kind)
{
    long total = 0;
    double after = 0;
    for (;;) {
        char args[200];
        snprintf (args, sizeof args, "{\"kind\":\"%s\",\"limit\":1000,\"after_seq\":%.0f}", kind, after);
        Sluice__V1__AdminResponse *r = tc_admin (b, as, "audit.query", args);
        if (!r || r->code != 0) {
            if (r)
                sluice__v1__admin_response__free_unpacked (r, NULL);
            return -1;
        }
        cJSON *j = cJSON_Parse (r->result_json);
        sluice__v1__admin_response__free_unpacked (r, NULL);
        if (!j)
            return -1;
        cJSON *e = cJSON_GetObjectItem (j, "entries");
        total += cJSON_GetArraySize (e);
        int more = cJSON_IsTrue (cJSON_GetObjectItem (j, "more"));
        after = cJSON_GetNumberValue (cJSON_GetObjectItem (j, "next_after_seq"));
        cJSON_Delete (j);
        if (!more)
            return total;
    }
}

cJSON *
ot_status (tc_broker_t *b, const sl_keypair_t *as)
{
    Sluice__V1__AdminResponse *r = tc_admin (b, as, "status", "{}");
    if (!r)
        return NULL;
    cJSON *j = r->code == 0 ? cJSON_Parse (r->result_json) : NULL;
    sluice__v1__admin_response__free_unpacked (r, NULL);
    return j;
}

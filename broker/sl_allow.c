/*  sl_allow — see sl_allow.h. */
#include "sl_allow.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned char addr[16];     /* IPv4 in the first 4 bytes */
    int v6;
    int prefix;
} s_net_t;

struct sl_allow_t {
    s_net_t *nets;
    size_t n;
};

/*  Parses an address into 16 bytes; v4-mapped IPv6 becomes IPv4. Returns 4
 *  (IPv4), 6 (IPv6) or 0. */
static int
s_parse (const char *text, unsigned char out[16])
{
    memset (out, 0, 16);
    if (inet_pton (AF_INET, text, out) == 1)
        return 4;
    if (inet_pton (AF_INET6, text, out) != 1)
        return 0;
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp (out, mapped, 12) == 0) {
        memmove (out, out + 12, 4);
        memset (out + 4, 0, 12);
        return 4;
    }
    return 6;
}

static int
s_in (const unsigned char *a, const s_net_t *n)
{
    int bits = n->prefix;
    for (int i = 0; bits > 0; i++, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : (unsigned char) (0xff << (8 - bits));
        if ((a[i] & mask) != (n->addr[i] & mask))
            return 0;
    }
    return 1;
}

sl_allow_t *
sl_allow_new (const char *list, char *err, size_t errlen)
{
    sl_allow_t *self = calloc (1, sizeof *self);
    char *copy = list ? strdup (list) : NULL;
    if (!self || !copy) {
        snprintf (err, errlen, "admin_allow: %s", list ? "out of memory" : "no list given");
        goto fail;
    }
    for (char *save = NULL, *item = strtok_r (copy, ", \t", &save); item;
         item = strtok_r (NULL, ", \t", &save)) {
        s_net_t net;
        memset (&net, 0, sizeof net);
        char *slash = strchr (item, '/');
        if (slash)
            *slash = 0;
        int v = s_parse (item, net.addr);
        if (!v) {
            snprintf (err, errlen, "admin_allow: '%s' is not an IPv4 or IPv6 address "
                      "(write networks as 10.20.0.0/24 or 2001:db8::/48)", item);
            goto fail;
        }
        net.v6 = v == 6;
        int max = net.v6 ? 128 : 32;
        net.prefix = max;
        if (slash) {
            char *end;
            long p = strtol (slash + 1, &end, 10);
            if (!slash[1] || *end || p < 0 || p > max) {
                snprintf (err, errlen, "admin_allow: '%s/%s': prefix length must be 0..%d",
                          item, slash + 1, max);
                goto fail;
            }
            net.prefix = (int) p;
        }
        s_net_t *nets = realloc (self->nets, (self->n + 1) * sizeof *nets);
        if (!nets) {
            snprintf (err, errlen, "admin_allow: out of memory");
            goto fail;
        }
        self->nets = nets;
        self->nets[self->n++] = net;
    }
    if (self->n == 0) {
        snprintf (err, errlen, "admin_allow: the list is empty (give networks such as "
                  "10.20.0.0/24)");
        goto fail;
    }
    free (copy);
    return self;
fail:
    free (copy);
    sl_allow_destroy (&self);
    return NULL;
}

void
sl_allow_destroy (sl_allow_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->nets);
    free (*self_p);
    *self_p = NULL;
}

size_t
sl_allow_count (const sl_allow_t *self)
{
    return self ? self->n : 0;
}

int
sl_allow_match (const sl_allow_t *self, const char *address)
{
    unsigned char a[16];
    int v = address ? s_parse (address, a) : 0;
    if (!v)
        return 0;
    static const unsigned char lo6[16] = { [15] = 1 };
    if ((v == 4 && a[0] == 127) || (v == 6 && memcmp (a, lo6, 16) == 0))
        return 1;
    for (size_t i = 0; self && i < self->n; i++)
        if (self->nets[i].v6 == (v == 6) && s_in (a, &self->nets[i]))
            return 1;
    return 0;
}

int
sl_allow_endpoint_is_local (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return 1;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return 0;
    const char *host = endpoint + 6;
    if (strncmp (host, "localhost:", 10) == 0 || strncmp (host, "[::1]:", 6) == 0)
        return 1;
    char buf[64];
    const char *colon = strrchr (host, ':');
    size_t n = colon ? (size_t) (colon - host) : strlen (host);
    if (n >= sizeof buf)
        return 0;
    memcpy (buf, host, n);
    buf[n] = 0;
    unsigned char a[4];
    return inet_pton (AF_INET, buf, a) == 1 && a[0] == 127;
}

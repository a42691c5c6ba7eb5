/*  sl_gw_config — see sl_gw_config.h. */
#include "sl_gw_config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sl_error.h"

void
sl_gw_config_defaults (sl_gw_config_t *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    snprintf (cfg->listen, sizeof cfg->listen, "127.0.0.1:8480");
    cfg->max_body = 1 << 20;
    cfg->publish_timeout_ms = 10000;
    cfg->query_timeout_ms = 5000;
    cfg->max_wait_s = 60;
    cfg->lease_s = 60;
    cfg->webhook_timeout_ms = 5000;
    cfg->webhook_retry_min_ms = 500;
    cfg->webhook_retry_max_ms = 60000;
    cfg->owner_timeout_ms = 3000;
}

typedef struct {
    sl_gw_config_t *cfg;
    char err[300];
    int have_token[SL_GW_MAX_APPS];
} s_ctx_t;

static int
s_copy (s_ctx_t *c, char *dst, size_t size, const char *key, const char *value)
{
    if (strlen (value) >= size) {
        snprintf (c->err, sizeof c->err, "%s: the value is longer than %zu bytes", key, size - 1);
        return 0;
    }
    snprintf (dst, size, "%s", value);
    return 1;
}

static int
s_int (s_ctx_t *c, const char *key, const char *value, long long min, long long max,
       long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll (value, &end, 10);
    if (errno || end == value || *end || v < min || v > max) {
        snprintf (c->err, sizeof c->err, "%s: '%s' is not a whole number from %lld to %lld", key,
                  value, min, max);
        return 0;
    }
    *out = v;
    return 1;
}

static int
s_gateway_key (s_ctx_t *c, const char *k, const char *v)
{
    sl_gw_config_t *cfg = c->cfg;
    long long n;
    if (!strcmp (k, "listen"))
        return s_copy (c, cfg->listen, sizeof cfg->listen, k, v);
    if (!strcmp (k, "data"))
        return s_copy (c, cfg->data, sizeof cfg->data, k, v);
    if (!strcmp (k, "endpoint"))
        return s_copy (c, cfg->endpoint, sizeof cfg->endpoint, k, v);
    if (!strcmp (k, "broker_key"))
        return s_copy (c, cfg->broker_key, sizeof cfg->broker_key, k, v);
    if (!strcmp (k, "admin_endpoint"))
        return s_copy (c, cfg->admin_endpoint, sizeof cfg->admin_endpoint, k, v);
    if (!strcmp (k, "key"))
        return s_copy (c, cfg->key, sizeof cfg->key, k, v);
    if (!strcmp (k, "spool"))
        return s_copy (c, cfg->spool, sizeof cfg->spool, k, v);
    if (!strcmp (k, "tls_cert"))
        return s_copy (c, cfg->tls_cert, sizeof cfg->tls_cert, k, v);
    if (!strcmp (k, "tls_key"))
        return s_copy (c, cfg->tls_key, sizeof cfg->tls_key, k, v);
    struct { const char *name; long long min, max; int *dst; } ints[] = {
        { "publish_timeout_ms", 100, 600000, &cfg->publish_timeout_ms },
        { "query_timeout_ms", 100, 60000, &cfg->query_timeout_ms },
        { "max_wait_s", 0, 3600, &cfg->max_wait_s },
        { "lease_s", 1, 86400, &cfg->lease_s },
        { "webhook_timeout_ms", 100, 600000, &cfg->webhook_timeout_ms },
        { "webhook_retry_min_ms", 10, 3600000, &cfg->webhook_retry_min_ms },
        { "webhook_retry_max_ms", 10, 86400000, &cfg->webhook_retry_max_ms },
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (!strcmp (k, ints[i].name)) {
            if (!s_int (c, k, v, ints[i].min, ints[i].max, &n))
                return 0;
            *ints[i].dst = (int) n;
            return 1;
        }
    if (!strcmp (k, "max_body")) {
        if (!s_int (c, k, v, 64, 1LL << 30, &n))
            return 0;
        cfg->max_body = (size_t) n;
        return 1;
    }
    snprintf (c->err, sizeof c->err, "unknown key '%s' in [gateway]", k);
    return 0;
}

static int
s_scopes (s_ctx_t *c, const char *v, unsigned *out)
{
    unsigned s = 0;
    char buf[256];
    snprintf (buf, sizeof buf, "%s", v);
    for (char *save = NULL, *t = strtok_r (buf, " ,", &save); t; t = strtok_r (NULL, " ,", &save)) {
        if (!strcmp (t, "publish"))
            s |= SL_GW_SCOPE_PUBLISH;
        else if (!strcmp (t, "subscribe"))
            s |= SL_GW_SCOPE_SUBSCRIBE;
        else if (!strcmp (t, "query"))
            s |= SL_GW_SCOPE_QUERY;
        else {
            snprintf (c->err, sizeof c->err, "scopes: '%s' is not publish, subscribe or query", t);
            return 0;
        }
    }
    *out = s;
    return 1;
}

static int
s_handler (void *user, const char *section, const char *name, const char *value)
{
    s_ctx_t *c = user;
    sl_gw_config_t *cfg = c->cfg;
    if (!strcmp (section, "gateway"))
        return s_gateway_key (c, name, value);
    if (!strcmp (section, "owner")) {
        long long n;
        if (!strcmp (name, "url"))
            return s_copy (c, cfg->owner_url, sizeof cfg->owner_url, name, value);
        if (!strcmp (name, "timeout_ms")) {
            if (!s_int (c, name, value, 100, 60000, &n))
                return 0;
            cfg->owner_timeout_ms = (int) n;
            return 1;
        }
        snprintf (c->err, sizeof c->err, "unknown key '%s' in [owner]", name);
        return 0;
    }
    if (!strncmp (section, "app ", 4) && section[4]) {
        const char *app = section + 4;
        size_t i;
        for (i = 0; i < cfg->napps && strcmp (cfg->apps[i].name, app); i++)
            ;
        if (i == cfg->napps) {
            if (cfg->napps == SL_GW_MAX_APPS) {
                snprintf (c->err, sizeof c->err, "more than %d apps", SL_GW_MAX_APPS);
                return 0;
            }
            if (strlen (app) >= sizeof cfg->apps[i].name) {
                snprintf (c->err, sizeof c->err, "app name '%s' is too long", app);
                return 0;
            }
            snprintf (cfg->apps[i].name, sizeof cfg->apps[i].name, "%s", app);
            cfg->apps[i].scopes = SL_GW_SCOPE_ALL;
            cfg->napps++;
        }
        if (!strcmp (name, "token")) {
            if (strlen (value) < 16) {
                snprintf (c->err, sizeof c->err, "token of app '%s': at least 16 characters "
                          "(e.g. head -c 24 /dev/urandom | base64)", app);
                return 0;
            }
            crypto_generichash (cfg->apps[i].token_hash, sizeof cfg->apps[i].token_hash,
                                (const unsigned char *) value, strlen (value), NULL, 0);
            c->have_token[i] = 1;
            return 1;
        }
        if (!strcmp (name, "scopes"))
            return s_scopes (c, value, &cfg->apps[i].scopes);
        snprintf (c->err, sizeof c->err, "unknown key '%s' in [app %s]", name, app);
        return 0;
    }
    if (!strncmp (section, "subscription ", 13) && section[13]) {
        const char *sub = section + 13;
        size_t i;
        for (i = 0; i < cfg->nsubs && strcmp (cfg->subs[i].name, sub); i++)
            ;
        if (i == cfg->nsubs) {
            if (cfg->nsubs == SL_GW_MAX_SUBS || strlen (sub) >= sizeof cfg->subs[i].name) {
                snprintf (c->err, sizeof c->err, "too many subscriptions, or the name is too long");
                return 0;
            }
            snprintf (cfg->subs[i].name, sizeof cfg->subs[i].name, "%s", sub);
            cfg->nsubs++;
        }
        sl_gw_sub_t *s = &cfg->subs[i];
        if (!strcmp (name, "record_type"))
            return s_copy (c, s->record_type, sizeof s->record_type, name, value);
        if (!strcmp (name, "purpose"))
            return s_copy (c, s->purpose, sizeof s->purpose, name, value);
        if (!strcmp (name, "webhook")) {
            if (strncmp (value, "http://", 7) && strncmp (value, "https://", 8)) {
                snprintf (c->err, sizeof c->err, "webhook: '%s' is not an http:// or https:// URL",
                          value);
                return 0;
            }
            return s_copy (c, s->webhook, sizeof s->webhook, name, value);
        }
        if (!strcmp (name, "webhook_secret"))
            return s_copy (c, s->webhook_secret, sizeof s->webhook_secret, name, value);
        snprintf (c->err, sizeof c->err, "unknown key '%s' in [subscription %s]", name, sub);
        return 0;
    }
    snprintf (c->err, sizeof c->err, "unknown section [%s] (gateway, owner, app NAME, "
              "subscription NAME)", section);
    return 0;
}

int
sl_gw_config_load (sl_gw_config_t *cfg, const char *path, char *err, size_t errlen)
{
    s_ctx_t c;
    memset (&c, 0, sizeof c);
    c.cfg = cfg;
    for (size_t i = 0; i < cfg->napps; i++)
        c.have_token[i] = 1;
    int line = ini_parse (path, s_handler, &c);
    if (line == -1) {
        snprintf (err, errlen, "%s: cannot open: %s", path, strerror (errno));
        return SL_EIO;
    }
    if (line != 0) {
        snprintf (err, errlen, "%s:%d: %s", path, line, c.err[0] ? c.err : "syntax error");
        return SL_EPARSE;
    }
    if (!cfg->key[0]) {
        snprintf (err, errlen, "%s: [gateway] key = the bureau's secret key file is required", path);
        return SL_EPARSE;
    }
    if (!cfg->data[0] && (!cfg->endpoint[0] || !cfg->broker_key[0])) {
        snprintf (err, errlen, "%s: [gateway] needs data = the broker's data directory, or "
                  "endpoint and broker_key", path);
        return SL_EPARSE;
    }
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        snprintf (err, errlen, "%s: [gateway] tls_cert and tls_key go together", path);
        return SL_EPARSE;
    }
    if (cfg->webhook_retry_max_ms < cfg->webhook_retry_min_ms) {
        snprintf (err, errlen, "%s: [gateway] webhook_retry_max_ms is below webhook_retry_min_ms",
                  path);
        return SL_EPARSE;
    }
    for (size_t i = 0; i < cfg->napps; i++)
        if (!c.have_token[i]) {
            snprintf (err, errlen, "%s: [app %s] has no token", path, cfg->apps[i].name);
            return SL_EPARSE;
        }
    for (size_t i = 0; i < cfg->nsubs; i++) {
        const sl_gw_sub_t *s = &cfg->subs[i];
        if (!s->record_type[0] || !s->purpose[0]) {
            snprintf (err, errlen, "%s: [subscription %s] needs record_type and purpose", path,
                      s->name);
            return SL_EPARSE;
        }
        for (size_t k = 0; k < i; k++)
            if (!strcmp (cfg->subs[k].record_type, s->record_type)
                && !strcmp (cfg->subs[k].purpose, s->purpose)) {
                snprintf (err, errlen, "%s: [subscription %s] repeats %s for %s", path, s->name,
                          s->record_type, s->purpose);
                return SL_EPARSE;
            }
    }
    return 0;
}

const sl_gw_app_t *
sl_gw_config_app_by_token (const sl_gw_config_t *cfg, const char *token)
{
    uint8_t h[32];
    const sl_gw_app_t *found = NULL;
    crypto_generichash (h, sizeof h, (const unsigned char *) token, strlen (token), NULL, 0);
    for (size_t i = 0; i < cfg->napps; i++)     /* no early exit: the same work for every token */
        if (sodium_memcmp (h, cfg->apps[i].token_hash, sizeof h) == 0)
            found = &cfg->apps[i];
    return found;
}

const sl_gw_sub_t *
sl_gw_config_sub (const sl_gw_config_t *cfg, const char *record_type, const char *purpose)
{
    for (size_t i = 0; i < cfg->nsubs; i++)
        if (!strcmp (cfg->subs[i].record_type, record_type)
            && !strcmp (cfg->subs[i].purpose, purpose))
            return &cfg->subs[i];
    return NULL;
}

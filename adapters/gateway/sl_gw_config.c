/*  sl_gw_config — see sl_gw_config.h. */
#include "sl_gw_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sl_error.h"
#include "sl_ini.h"

typedef struct {
    sl_gw_config_t *cfg;
    char err[300];
    int have_token[SL_GW_MAX_APPS];
} s_ctx_t;

#define S_TEXT(key, field, def) SL_INI_TEXT_KEY (key, sl_gw_config_t, field, 0, def)
#define S_NUMBER(key, field, lo, hi, def) SL_INI_NUMBER_KEY (key, sl_gw_config_t, field, lo, hi, def)
#define S_SUB(key, field) SL_INI_TEXT_KEY (key, sl_gw_sub_t, field, 0, NULL)

/*  The plain keys of [gateway], [owner] and [subscription NAME] (sl_ini.h). */
static const sl_ini_key_t s_gateway_keys[] = {
    S_TEXT ("listen", listen, "127.0.0.1:8480"),
    S_TEXT ("data", data, NULL),
    S_TEXT ("endpoint", endpoint, NULL),
    S_TEXT ("broker_key", broker_key, NULL),
    S_TEXT ("admin_endpoint", admin_endpoint, NULL),
    S_TEXT ("key", key, NULL),
    S_TEXT ("spool", spool, NULL),
    S_TEXT ("tls_cert", tls_cert, NULL),
    S_TEXT ("tls_key", tls_key, NULL),
    S_NUMBER ("max_body", max_body, 64, 1ull << 30, "1048576"),
    S_NUMBER ("publish_timeout_ms", publish_timeout_ms, 100, 600000, "10000"),
    S_NUMBER ("query_timeout_ms", query_timeout_ms, 100, 60000, "5000"),
    S_NUMBER ("max_wait_s", max_wait_s, 0, 3600, "60"),
    S_NUMBER ("lease_s", lease_s, 1, 86400, "60"),
    S_NUMBER ("webhook_timeout_ms", webhook_timeout_ms, 100, 600000, "5000"),
    S_NUMBER ("webhook_retry_min_ms", webhook_retry_min_ms, 10, 3600000, "500"),
    S_NUMBER ("webhook_retry_max_ms", webhook_retry_max_ms, 10, 86400000, "60000"),
};
static const sl_ini_key_t s_owner_keys[] = {
    S_TEXT ("url", owner_url, NULL),
    S_NUMBER ("timeout_ms", owner_timeout_ms, 100, 60000, "3000"),
};
static const sl_ini_key_t s_sub_keys[] = {
    S_SUB ("record_type", record_type),
    S_SUB ("purpose", purpose),
    S_SUB ("webhook", webhook),
    S_SUB ("webhook_secret", webhook_secret),
};
#define S_N(table) (sizeof table / sizeof table[0])

void
sl_gw_config_defaults (sl_gw_config_t *cfg)
{
    memset (cfg, 0, sizeof *cfg);
    sl_ini_defaults (cfg, s_gateway_keys, S_N (s_gateway_keys));
    sl_ini_defaults (cfg, s_owner_keys, S_N (s_owner_keys));
}

/*  Sets a plain key from `table`, or says it is unknown in [`section`]. Returns 1 or 0. */
static int
s_plain (s_ctx_t *c, void *settings, const sl_ini_key_t *table, size_t n, const char *section,
         const char *k, const char *v)
{
    int rc = sl_ini_set (settings, table, n, k, v, c->err, sizeof c->err);
    if (rc == SL_ENOTFOUND)
        snprintf (c->err, sizeof c->err, "unknown key '%s' in [%s]", k, section);
    return rc == 0;
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
        return s_plain (c, cfg, s_gateway_keys, S_N (s_gateway_keys), section, name, value);
    if (!strcmp (section, "owner"))
        return s_plain (c, cfg, s_owner_keys, S_N (s_owner_keys), section, name, value);
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
        if (!strcmp (name, "webhook") && strncmp (value, "http://", 7)
            && strncmp (value, "https://", 8)) {
            snprintf (c->err, sizeof c->err, "webhook: '%s' is not an http:// or https:// URL",
                      value);
            return 0;
        }
        return s_plain (c, &cfg->subs[i], s_sub_keys, S_N (s_sub_keys), section, name, value);
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
    int rc = sl_ini_load (path, s_handler, &c, c.err, err, errlen);
    if (rc)
        return rc;
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

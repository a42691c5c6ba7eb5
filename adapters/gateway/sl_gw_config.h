/*  sl_gw_config — the settings of sluice-gateway, read from an INI file.
 *
 *  docs/GATEWAY.md §2 is the contract for every key. Sections:
 *    [gateway]            listen address, broker, key, spool, limits, TLS
 *    [app NAME]           one local application: its bearer token, scopes
 *    [subscription NAME]  a durable subscription the gateway holds: record
 *                         type, purpose, optional webhook
 *    [owner]              the local URL that answers queries about the
 *                         bureau's own data
 */
#ifndef SL_GW_CONFIG_H
#define SL_GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define SL_GW_MAX_APPS 64
#define SL_GW_MAX_SUBS 64

enum {                              /* what a token may do (app scopes) */
    SL_GW_SCOPE_PUBLISH = 1 << 0,   /* POST /v1/records */
    SL_GW_SCOPE_SUBSCRIBE = 1 << 1, /* deliveries, ack, notices */
    SL_GW_SCOPE_QUERY = 1 << 2,     /* POST /v1/query */
    SL_GW_SCOPE_ALL = 7,
};

typedef struct {
    char name[64];
    uint8_t token_hash[32];         /* BLAKE2b-256 of the token; the token is not kept */
    unsigned scopes;
} sl_gw_app_t;

typedef struct {
    char name[64];
    char record_type[128];
    char purpose[128];
    char webhook[512];              /* "" = long-poll */
    char webhook_secret[256];       /* HMAC-SHA256 key of the signature header */
} sl_gw_sub_t;

typedef struct {
    char listen[128];               /* "127.0.0.1:8480" */
    char data[512];                 /* broker data dir (endpoints, broker.pub), or: */
    char endpoint[512];             /*   the broker's data endpoint and */
    char broker_key[512];           /*   its public key file */
    char admin_endpoint[512];       /* where record types are fetched (else from data) */
    char key[512];                  /* the bureau's secret key file */
    char spool[512];                /* LMDB spool directory ("" = none) */
    size_t max_body;                /* bytes per request body */
    int publish_timeout_ms;         /* wait for the broker's ACK */
    int query_timeout_ms;
    int max_wait_s;                 /* long-poll ceiling */
    int lease_s;                    /* a handed-out delivery comes back after this */
    int webhook_timeout_ms;
    int webhook_retry_min_ms, webhook_retry_max_ms;
    char tls_cert[512], tls_key[512];   /* both or neither */
    char owner_url[512];            /* [owner] url */
    int owner_timeout_ms;
    sl_gw_app_t apps[SL_GW_MAX_APPS];
    size_t napps;
    sl_gw_sub_t subs[SL_GW_MAX_SUBS];
    size_t nsubs;
} sl_gw_config_t;

/*  Fills `cfg` with the defaults (GATEWAY.md §2). Cannot fail. */
void sl_gw_config_defaults (sl_gw_config_t *cfg);

/*  Reads the INI file `path` over the values already in `cfg`. Returns 0;
    SL_EIO (cannot open) or SL_EPARSE with "FILE:LINE: what" in `err`. A
    missing required key (key, and data or endpoint + broker_key) or an app
    without a token is SL_EPARSE too. */
int sl_gw_config_load (sl_gw_config_t *cfg, const char *path, char *err, size_t errlen);

/*  The app whose token is `token` (any length), compared in constant time
    against every configured token; NULL if none matches. Cannot fail. */
const sl_gw_app_t *sl_gw_config_app_by_token (const sl_gw_config_t *cfg, const char *token);

/*  The subscription for (record_type, purpose), or NULL. */
const sl_gw_sub_t *sl_gw_config_sub (const sl_gw_config_t *cfg, const char *record_type,
                                     const char *purpose);

#endif

/*  sl_gw_http — the HTTP/JSON face of sluice-gateway (libmicrohttpd).
 *
 *  docs/GATEWAY.md §3-§5 is the contract; openapi.json describes it for
 *  tools. One thread per connection, so a long-poll blocks only its own
 *  connection. Every request under /v1/ needs `Authorization: Bearer
 *  TOKEN` of an [app] in the configuration; every use of a token is logged
 *  (event gateway.request, app=NAME). Errors are RFC 9457
 *  application/problem+json.
 */
#ifndef SL_GW_HTTP_H
#define SL_GW_HTTP_H

#include <stddef.h>

#include "sl_gateway.h"
#include "sl_gw_config.h"

typedef struct sl_gw_http sl_gw_http_t;

/*  Listens on cfg->listen (with TLS when cfg->tls_cert is set) and serves
    requests through `gw`. The bound port goes to *port (useful with port
    0). Returns 0, SL_EINVAL (bad listen address), SL_EIO (cannot bind, or
    cannot read the TLS files) with `err`. */
int sl_gw_http_start (const sl_gw_config_t *cfg, sl_gateway_t *gw, sl_gw_http_t **http_p,
                      unsigned *port, char *err, size_t errlen);

/*  Stops listening, waits for the connections' threads, frees. Sets
    *http_p to NULL; harmless on NULL. */
void sl_gw_http_stop (sl_gw_http_t **http_p);

/*  The message id for line `line` of a request carrying Idempotency-Key
    `key` for `record_type`: the first 16 bytes of BLAKE2b over them, so a
    retried request gets the same ids and the broker stores nothing twice.
    Cannot fail. */
void sl_gw_idempotent_id (const char *record_type, const char *key, int line, uint8_t id[16]);

#endif

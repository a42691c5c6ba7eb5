/*  sl_notice — NOTICE messages handed to the application (PROTOCOL.md 5.8):
 *  consent-withdrawn, consent-expired, revoked, shutdown. A consumer that
 *  keeps data it received under a consent must learn when that consent
 *  ended, so the notice reaches the application through a callback instead
 *  of only the log. */
#include "sl_internal.h"

#include <string.h>

#include "sl_log.h"

#define S_NOTICE_ARGS_MAX 16

void
sl_client_on_notice (sl_client_t *self, sl_notice_fn *fn, void *arg)
{
    self->notice_fn = fn;
    self->notice_arg = arg;
}

void
sl__on_notice (sl_client_t *self, const sl_header_t *h)
{
    const char *kind = h->notice ? h->notice : "";
    sl_info ("client.notice", "notice=%s args=%zu", kind, h->n_notice_args);
    if (!self->notice_fn)
        return;
    sl_param_t args[S_NOTICE_ARGS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < h->n_notice_args && n < S_NOTICE_ARGS_MAX; i++) {
        const Sluice__V1__Header__NoticeArgsEntry *e = h->notice_args[i];
        if (!e || !e->key)
            continue;
        args[n].key = e->key;
        args[n].value = e->value ? e->value : "";
        n++;
    }
    self->notice_fn (kind, args, n, self->notice_arg);
}

const char *
sl_notice_arg (const sl_param_t *args, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (args[i].key, key) == 0)
            return args[i].value;
    return NULL;
}

/*  sl_authlog — refused handshakes, aggregated before they reach the audit
 *  log (AUDIT.md §6.1).
 *
 *  The data plane listens on the network, and anyone can make handshakes
 *  with random keys; writing one permanent `auth.denied` entry each let one
 *  client fill the store. This module decides which refusals are written in
 *  full and folds the rest into counts.
 *
 *  Design notes:
 *   1. A *kind* of refusal is (peer address, key fingerprint, ZAP domain,
 *      reason). In each interval (SL_AUTHLOG_INTERVAL_MS, started by the
 *      first refusal after a flush) the first refusal of each kind is
 *      recorded in full, as one `auth.denied` entry; repeats are counted.
 *   2. Rate limit per source: one peer address gets at most
 *      SL_AUTHLOG_PER_SOURCE full entries per interval; further new kinds
 *      from it are only counted, in that source's bucket.
 *   3. Bounded memory and bounded log growth: at most SL_AUTHLOG_KINDS kinds
 *      and SL_AUTHLOG_SOURCES sources are tracked per interval; refusals
 *      beyond those go to one overflow bucket. An interval therefore writes
 *      at most KINDS full entries + KINDS + SOURCES + 1 summaries, whatever
 *      the number of handshakes.
 *   4. Exact accounting: at the end of the interval (or at shutdown) every
 *      bucket with a non-zero count becomes one `auth.denied.summary`
 *      entry. The number of refusals equals the number of `auth.denied`
 *      entries plus the sum of the summaries' `count`s.
 */
#ifndef SL_AUTHLOG_H
#define SL_AUTHLOG_H

#include <stddef.h>
#include <stdint.h>

#define SL_AUTHLOG_INTERVAL_MS 60000
#define SL_AUTHLOG_PER_SOURCE  8
#define SL_AUTHLOG_KINDS       1024
#define SL_AUTHLOG_SOURCES     256

typedef struct sl_authlog_t sl_authlog_t;

/*  One summary: `count` refusals that were not recorded in full.
 *  fp "*": the source's kinds past its limit (or the overflow bucket);
 *  address "*": the overflow bucket (untracked sources/kinds); domain and
 *  reason "*" when the bucket mixes them. Strings are borrowed for the call. */
typedef struct {
    const char *fp, *address, *domain, *reason;
    uint64_t count;
    int64_t first_ms, last_ms;     /* first and last counted refusal */
    int64_t interval_ms;
} sl_authlog_summary_t;

typedef void (sl_authlog_summary_fn) (void *ctx, const sl_authlog_summary_t *s);

/*  A new aggregator with the limits above, or NULL (out of memory). */
sl_authlog_t *sl_authlog_new (void);
void sl_authlog_destroy (sl_authlog_t **self_p);

/*  Notes one refusal at `now_ms`. Returns 1 when it must be recorded in full
 *  now (the first of its kind, within its source's limit), 0 when it was
 *  counted for a later summary. Cannot fail. */
int sl_authlog_note (sl_authlog_t *self, int64_t now_ms, const char *fp, const char *address,
                     const char *domain, const char *reason);

/*  When the interval has ended (or `force`): calls fn for every bucket with
 *  a count and starts afresh. Returns ms until the current interval ends,
 *  or -1 when nothing is pending. Cannot fail. */
long sl_authlog_flush (sl_authlog_t *self, int64_t now_ms, int force,
                       sl_authlog_summary_fn *fn, void *ctx);

/*  Refusals noted since the aggregator was made (for status and tests). */
uint64_t sl_authlog_total (const sl_authlog_t *self);

#endif

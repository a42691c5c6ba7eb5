/*  sl_audit_range — where in the audit log a time range starts.

    The log is keyed by sequence number only (AUDIT.md), and the broker's
    `since` filter scans from the start: on a log of a million entries, a
    page of the last hour would read the whole day before it. Design notes:

     1. The entries' times follow their sequence numbers: each is the
        broker's clock when the entry was committed, by one writer. So the
        last entry before `since` can be found by bisection over sequence
        numbers, with probes of one entry (audit.query after_seq=P
        limit=1), about 20 for a million entries.
     2. A probe's answer, (seq, time), never changes: the log is
        append-only. Probes and the entries of every page shown are kept in
        sl_console_t.samples (a ring of 512), and each bisection starts from
        the tightest bounds they give; a warm console needs few probes or
        none.
     3. In an admin:<bureau>'s scope the broker answers a probe with the
        next entry of that bureau: still an entry of the log, still in
        order, so the bounds hold for its queries.
     4. The query then starts S_MARGIN entries before the bound found; the
        broker still applies `since` exactly. Only a clock stepped back by
        more than S_MARGIN entries' worth could hide entries from a
        time-bounded view; the full log, exports without `since` and
        verify do not depend on it.
*/
#include "sl_console.h"
#include "sl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_MARGIN 1000

int
sl_console_time_us (const char *text, double *us)
{
    int64_t t;
    if (sl_time_parse (text, sl_time_city_zone (), (int64_t) time (NULL) * 1000000, &t, NULL,
                       NULL, 0) != 0)
        return -1;
    *us = (double) t;
    return 0;
}

void
sl_console_learn (sl_console_t *c, const cJSON *e)
{
    double seq = sl_console_num (e, "seq"), t = sl_console_num (e, "time_us");
    if (seq <= 0 || t <= 0)
        return;
    size_t cap = sizeof c->samples / sizeof c->samples[0];
    c->samples[c->next_sample].seq = seq;
    c->samples[c->next_sample].time_us = t;
    c->next_sample = (c->next_sample + 1) % cap;
    if (c->nsamples < cap)
        c->nsamples++;
}

/*  One probe: the first entry after seq `p` in the caller's scope (and
    owner filter). Returns 0 with *seq and *t (*seq = 0: none), or an SL_E* code. */
static int
s_probe (sl_console_t *c, const char *owner, double p, double *seq, double *t, char *err,
         size_t errlen)
{
    cJSON *a = cJSON_CreateObject (), *res = NULL;
    if (owner)
        cJSON_AddStringToObject (a, "owner", owner);
    cJSON_AddNumberToObject (a, "after_seq", p);
    cJSON_AddNumberToObject (a, "limit", 1);
    int rc = sl_console_call (c, "audit.query", a, &res, NULL, err, errlen);
    if (rc != 0)
        return rc;
    const cJSON *e = cJSON_GetArrayItem (cJSON_GetObjectItemCaseSensitive (res, "entries"), 0);
    *seq = e ? sl_console_num (e, "seq") : 0;
    *t = e ? sl_console_num (e, "time_us") : 0;
    if (e)
        sl_console_learn (c, e);
    cJSON_Delete (res);
    return 0;
}

/*  See sl_console.h. */
int
sl_console_audit_from (sl_console_t *c, const char *owner, double since_us, long long *from, char *err,
             size_t errlen)
{
    double lo = 0, hi = -1;      /* all of seq <= lo are before since; hi: an upper bound */
    for (size_t i = 0; i < c->nsamples; i++) {
        if (c->samples[i].time_us < since_us && c->samples[i].seq > lo)
            lo = c->samples[i].seq;
        else if (c->samples[i].time_us >= since_us && (hi < 0 || c->samples[i].seq - 1 < hi))
            hi = c->samples[i].seq - 1;
    }
    double seq, t;
    int rc;
    while (hi < 0 || hi < lo) {            /* no upper bound yet: gallop */
        double p = lo * 2 + 1024;
        if ((rc = s_probe (c, owner, p, &seq, &t, err, errlen)) != 0)
            return rc;
        if (seq && t < since_us)
            lo = seq;
        else
            hi = p;
    }
    while (hi - lo > 1) {
        double mid = lo + (double) (long long) ((hi - lo) / 2);
        if ((rc = s_probe (c, owner, mid, &seq, &t, err, errlen)) != 0)
            return rc;
        if (seq && t < since_us)
            lo = seq < hi ? seq : hi;
        else
            hi = mid;
    }
    *from = lo > S_MARGIN ? (long long) lo - S_MARGIN : 0;
    return 0;
}

/*  sl_authlog: which refused handshakes are written in full, and that the
 *  summaries account for every other one. Reads as the module's usage. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sl_authlog.h"

typedef struct {
    unsigned n;
    unsigned long long counted;
    char last_fp[20], last_addr[64];
} sums_t;

static void
on_summary (void *ctx, const sl_authlog_summary_t *s)
{
    sums_t *t = ctx;
    t->n++;
    t->counted += s->count;
    snprintf (t->last_fp, sizeof t->last_fp, "%s", s->fp);
    snprintf (t->last_addr, sizeof t->last_addr, "%s", s->address);
}

Test (authlog, first_of_a_kind_in_full_repeats_counted)
{
    sl_authlog_t *a = sl_authlog_new ();
    cr_assert_not_null (a);
    cr_assert_eq (sl_authlog_flush (a, 1000, 0, on_summary, NULL), -1, "nothing pending");
    cr_assert_eq (sl_authlog_note (a, 1000, "aaaa", "10.0.0.1", "sluice.data", "unknown-key"), 1);
    cr_assert_eq (sl_authlog_note (a, 1001, "aaaa", "10.0.0.1", "sluice.data", "unknown-key"), 0);
    cr_assert_eq (sl_authlog_note (a, 1002, "aaaa", "10.0.0.1", "sluice.admin", "unknown-key"), 1,
                  "another domain is another kind");
    cr_assert_eq (sl_authlog_note (a, 1003, "aaaa", "10.0.0.2", "sluice.data", "unknown-key"), 1,
                  "another source is another kind");
    sums_t t = { 0 };
    long left = sl_authlog_flush (a, 2000, 0, on_summary, &t);
    cr_assert_eq (left, SL_AUTHLOG_INTERVAL_MS - 1000, "interval runs from the first refusal");
    cr_assert_eq (t.n, 0);
    cr_assert_eq (sl_authlog_flush (a, 1000 + SL_AUTHLOG_INTERVAL_MS, 0, on_summary, &t), -1);
    cr_assert_eq (t.n, 1);
    cr_assert_eq (t.counted, 1);
    cr_assert_str_eq (t.last_fp, "aaaa");
    /* a new interval: the kind is written in full again */
    cr_assert_eq (sl_authlog_note (a, 90000, "aaaa", "10.0.0.1", "sluice.data", "unknown-key"), 1);
    cr_assert_eq (sl_authlog_total (a), 5);
    sl_authlog_destroy (&a);
    sl_authlog_destroy (&a);
}

Test (authlog, one_source_is_rate_limited_and_everything_is_accounted_for)
{
    sl_authlog_t *a = sl_authlog_new ();
    unsigned full = 0;
    for (int i = 0; i < 5000; i++) {
        char fp[17];
        snprintf (fp, sizeof fp, "%016x", i);
        full += (unsigned) sl_authlog_note (a, 1000 + i, fp, "192.0.2.7", "sluice.data", "unknown-key");
    }
    cr_assert_eq (full, SL_AUTHLOG_PER_SOURCE);
    sums_t t = { 0 };
    sl_authlog_flush (a, 2000, 1, on_summary, &t);
    cr_assert_eq (t.n, 1, "one summary for the source's other keys");
    cr_assert_str_eq (t.last_fp, "*");
    cr_assert_str_eq (t.last_addr, "192.0.2.7");
    cr_assert_eq (full + t.counted, 5000);
    sl_authlog_destroy (&a);
}

Test (authlog, many_sources_stay_bounded)
{
    sl_authlog_t *a = sl_authlog_new ();
    unsigned full = 0;
    const unsigned n = 100000;
    for (unsigned i = 0; i < n; i++) {
        char fp[17], addr[32];
        snprintf (fp, sizeof fp, "%016x", i);
        snprintf (addr, sizeof addr, "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        full += (unsigned) sl_authlog_note (a, 1000, fp, addr, "sluice.data", "unknown-key");
    }
    cr_assert_leq (full, SL_AUTHLOG_KINDS);
    sums_t t = { 0 };
    sl_authlog_flush (a, 2000, 1, on_summary, &t);
    cr_assert_leq (t.n, SL_AUTHLOG_KINDS + SL_AUTHLOG_SOURCES + 1);
    cr_assert_eq (full + t.counted, n);
    sl_authlog_destroy (&a);
}

/*  bench_policy — decision latency of the compiled policy index.
 *
 *  For 10, 1,000 and 100,000 rules spread over the city's owners and record
 *  types, many consumers and purposes (a fifth with validity windows, a
 *  tenth requiring consent, one in twenty a forbid, one forbid in 200
 *  for every consumer), it times single sl_policy_decide calls on a mix of requests
 *  that hit a rule (most) and requests that match nothing, and prints p50,
 *  p99 and the mean. Not a test: it prints numbers and always succeeds
 *  unless the library fails. Usage: bench-policy [decisions-per-size] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_policy.h"
#include "sl_mono.h"
#include "sl_error.h"

#define NOW 1781519862LL
#define N_PURPOSES 40

static uint64_t s_rng = 88172645463325252ull;
static unsigned
rnd (unsigned n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (unsigned) (s_rng % n);
}

static sl_consent_status_t
consent_valid (void *arg, const char *s, const char *o, const char *c, const char *p, const char *rt, int64_t t)
{
    (void) arg; (void) s; (void) o; (void) c; (void) p; (void) rt; (void) t;
    return SL_CONSENT_VALID;
}

static int
cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

typedef struct {
    const sl_schema_t *schema;
    unsigned consumer, purpose;
} target_t;

static int
run (size_t n_rules, size_t n_decisions)
{
    /* consumers grow with the rule count, as a city adds members */
    size_t n_members = n_rules < 40 ? 8 : n_rules / 10;
    char (*members)[32] = calloc (n_members, sizeof *members);
    sl_policy_catalog_t *cat = sl_policy_catalog_new ();
    for (size_t i = 0; i < n_members; i++) {
        snprintf (members[i], sizeof members[i], "member-%05u", (unsigned) i);
        sl_policy_catalog_add_member (cat, members[i], "member");
    }
    for (int p = 0; p < N_PURPOSES; p++) {
        char name[32];
        snprintf (name, sizeof name, "purpose-%02d", p);
        sl_policy_catalog_add_purpose (cat, name, NULL);
    }
    /* data-bearing record types (not the consent events) */
    const sl_schema_t *types[16];
    size_t n_types = 0;
    for (size_t i = 0; i < sl_schema_count (); i++)
        if (strcmp (sl_schema_at (i)->owner, "sluice") != 0)
            types[n_types++] = sl_schema_at (i);

    target_t *targets = calloc (n_rules, sizeof *targets);
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream (&text, &tlen);
    for (size_t i = 0; i < n_rules; i++) {
        const sl_schema_t *s = types[rnd ((unsigned) n_types)];
        unsigned c = rnd ((unsigned) n_members), p = rnd (N_PURPOSES);
        targets[i] = (target_t) { s, c, p };
        const ProtobufCMessageDescriptor *d = s->descriptor;
        bool forbid = rnd (20) == 0;
        fprintf (f, "%s \"rule-%zu\" {\n  owner %s\n", forbid ? "forbid" : "permit", i, s->owner);
        if (forbid && rnd (200) == 0)
            fprintf (f, "  consumer *\n");
        else
            fprintf (f, "  consumer %s\n", members[c]);
        fprintf (f, "  records %s\n  purpose purpose-%02u\n", s->record_type, p);
        if (!forbid) {
            fprintf (f, "  fields %s, %s\n", d->fields[3].name, d->fields[4].name);
            fprintf (f, "  time coarsen hour\n");
            if (rnd (10) == 0)
                fprintf (f, "  consent required\n");
        } else if (rnd (2))
            fprintf (f, "  fields %s\n", d->fields[d->n_fields - 1].name);
        if (rnd (5) == 0)
            fprintf (f, "  valid 2026-01-01 .. 2027-12-31\n");
        fprintf (f, "}\n");
    }
    fclose (f);

    sl_policy_diags_t *diags = sl_policy_diags_new ();
    sl_policy_set_t *set = sl_policy_set_new ();
    uint64_t t0 = sl_mono_ns ();
    int rc = sl_policy_set_parse (set, "bench.policy", text, tlen, 1, diags);
    if (rc == 0)
        rc = sl_policy_set_check (set, cat, diags);
    uint64_t t1 = sl_mono_ns ();
    sl_policy_index_t *ix = rc == 0 ? sl_policy_index_new (set, diags) : NULL;
    uint64_t t2 = sl_mono_ns ();
    if (!ix) {
        char *e = sl_policy_diags_render (diags);
        fprintf (stderr, "bench-policy: policy failed (%d):\n%.2000s", rc, e ? e : "");
        free (e);
        return 1;
    }

    uint64_t *lat = calloc (n_decisions, sizeof *lat);
    size_t permits = 0;
    char unknown[32] = "member-none";
    for (size_t i = 0; i < n_decisions; i++) {
        const target_t *tg = &targets[rnd ((unsigned) n_rules)];
        sl_policy_request_t r = {
            .owner = tg->schema->owner, .consumer = members[tg->consumer],
            .record_type = tg->schema->record_type, .subject = "330106199001011234",
            .time = NOW, .consent = consent_valid,
        };
        char purpose[32];
        snprintf (purpose, sizeof purpose, "purpose-%02u", rnd (8) ? tg->purpose : rnd (N_PURPOSES));
        r.purpose = purpose;
        if (rnd (10) == 0)
            r.consumer = unknown;
        sl_policy_decision_t d;
        uint64_t a = sl_mono_ns ();
        sl_policy_decide (ix, &r, &d);
        uint64_t b = sl_mono_ns ();
        lat[i] = b - a;
        permits += d.permit;
    }
    /* the clock's own cost, measured the same way, for reference */
    uint64_t *clk = calloc (n_decisions, sizeof *clk);
    for (size_t i = 0; i < n_decisions; i++) {
        uint64_t a = sl_mono_ns ();
        uint64_t b = sl_mono_ns ();
        clk[i] = b - a;
    }
    qsort (lat, n_decisions, sizeof *lat, cmp_u64);
    qsort (clk, n_decisions, sizeof *clk, cmp_u64);
    double mean = 0;
    for (size_t i = 0; i < n_decisions; i++)
        mean += (double) lat[i];
    mean /= (double) n_decisions;
    printf ("rules=%-7zu members=%-6zu compile=%7.1f ms check=%7.1f ms  "
            "p50=%5.0f ns p99=%5.0f ns mean=%5.0f ns max=%7.0f ns  permit=%4.1f%%  (clock p50=%.0f ns)\n",
            n_rules, n_members, (double) (t2 - t1) / 1e6, (double) (t1 - t0) / 1e6,
            (double) lat[n_decisions / 2], (double) lat[n_decisions * 99 / 100], mean,
            (double) lat[n_decisions - 1], 100.0 * (double) permits / (double) n_decisions,
            (double) clk[n_decisions / 2]);
    free (clk);
    free (lat);
    sl_policy_index_destroy (&ix);
    sl_policy_set_destroy (&set);
    sl_policy_diags_destroy (&diags);
    sl_policy_catalog_destroy (&cat);
    free (text);
    free (targets);
    free (members);
    return 0;
}

int
main (int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul (argv[1], NULL, 10) : 200000;
    char err[600];
    if (sl_schema_load_file (EXAMPLES_BINPB, err, sizeof err) < 0) {   /* the example types */
        fprintf (stderr, "bench-policy: %s\n", err);
        return 1;
    }
    if (n < 100)
        n = 100;
    printf ("policy decision latency (sl_policy_decide, one thread, %zu decisions per size)\n", n);
    static const size_t sizes[] = { 10, 1000, 100000 };
    for (size_t i = 0; i < 3; i++)
        if (run (sizes[i], n) != 0)
            return 1;
    return 0;
}

/*  The compiled index against a brute-force evaluator written from the
 *  semantics in POLICY.md, on randomized rule sets; and the example city
 *  policies, which must pass the checker and the role rule. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <time.h>

#include "policy_test_util.h"

#define T0 1767225600LL   /* 2026-01-01 */

static const char *OWNERS[] = { "water", "power", "health", "parking" };
static const char *MEMBERS[] = { "water", "power", "health", "parking" };
static const char *PURPOSES[] = { "joint-metering", "parking-fee-waiver", "billing" };

/*  Model of one generated rule. */
typedef struct {
    bool permit;
    char id[32];
    const char *owner;
    const char *consumers[3];
    size_t n_consumers;          /* 0 in a forbid = '*' */
    bool star;
    char records[2][48];         /* exact or wildcard */
    size_t n_records;            /* 0 in a forbid = all of the owner's */
    const char *purposes[2];
    size_t n_purposes;           /* 0 in a forbid = all */
    const char *fields[3];
    size_t n_fields;             /* forbid: 0 = deny */
    bool has_valid;
    int64_t from, to;            /* [from, to) */
} mrule_t;

static uint64_t rng_state;
static unsigned
rnd (unsigned n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (unsigned) ((rng_state >> 33) % n);
}

static void
fmt_time (int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t) t;
    struct tm tm;
    gmtime_r (&tt, &tm);
    strftime (buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static bool
rec_match (const char *pattern, const char *rt)
{
    size_t n = strlen (pattern);
    if (n >= 2 && pattern[n - 1] == '*')
        return strncmp (pattern, rt, n - 1) == 0;
    return strcmp (pattern, rt) == 0;
}

static bool
m_applies (const mrule_t *r, const char *owner, const char *consumer, const char *rt,
           const char *purpose, int64_t t)
{
    if (strcmp (r->owner, owner) != 0)
        return false;
    const sl_schema_t *s = sl_schema_find (rt);
    if (!s || strcmp (s->owner, owner) != 0)
        return false;
    bool c = r->star || r->n_consumers == 0;
    for (size_t i = 0; i < r->n_consumers; i++)
        c |= strcmp (r->consumers[i], consumer) == 0;
    bool rec = r->n_records == 0;
    for (size_t i = 0; i < r->n_records; i++)
        rec |= rec_match (r->records[i], rt);
    bool p = r->n_purposes == 0;
    for (size_t i = 0; i < r->n_purposes; i++)
        p |= strcmp (r->purposes[i], purpose) == 0;
    bool v = !r->has_valid || (t >= r->from && t < r->to);
    return c && rec && p && v;
}

/*  Brute force: returns the deciding rule index or -1, sets *permit, and
 *  the released field names (sorted by descriptor index) as a string. */
static int
brute (const mrule_t *rules, size_t n, const char *owner, const char *consumer, const char *rt,
       const char *purpose, int64_t t, bool *permit, char *fields, size_t cap)
{
    *permit = false;
    fields[0] = 0;
    for (size_t i = 0; i < n; i++)
        if (!rules[i].permit && rules[i].n_fields == 0 && m_applies (&rules[i], owner, consumer, rt, purpose, t))
            return (int) i;
    for (size_t i = 0; i < n; i++) {
        if (!rules[i].permit || !m_applies (&rules[i], owner, consumer, rt, purpose, t))
            continue;
        *permit = true;
        const sl_schema_t *s = sl_schema_find (rt);
        for (unsigned f = 0; f < s->descriptor->n_fields; f++) {
            const char *name = s->descriptor->fields[f].name;
            bool keep = strcmp (name, "subject") == 0;   /* generated permits pseudonymize */
            /* most restrictive wins: a field leaves only if every matching
             * permit releases it (POLICY.md 5) */
            bool in_all = true;
            for (size_t j = i; j < n; j++) {
                if (!rules[j].permit || !m_applies (&rules[j], owner, consumer, rt, purpose, t))
                    continue;
                bool in = false;
                for (size_t k = 0; k < rules[j].n_fields; k++)
                    in |= strcmp (rules[j].fields[k], name) == 0;
                in_all &= in;
            }
            keep |= in_all;
            for (size_t j = 0; j < n && keep; j++)
                if (!rules[j].permit && rules[j].n_fields && m_applies (&rules[j], owner, consumer, rt, purpose, t))
                    for (size_t k = 0; k < rules[j].n_fields; k++)
                        if (strcmp (rules[j].fields[k], name) == 0)
                            keep = false;
            if (keep) {
                size_t l = strlen (fields);
                snprintf (fields + l, cap - l, "%s%s", l ? "," : "", name);
            }
        }
        return (int) i;
    }
    return -1;
}

/*  A random field of the record types a rule covers. */
static const char *
rand_field (const mrule_t *r)
{
    const sl_schema_t *cands[16];
    size_t n = 0;
    for (size_t i = 0; i < sl_schema_count (); i++) {
        const sl_schema_t *s = sl_schema_at (i);
        if (strcmp (s->owner, r->owner) != 0)
            continue;
        bool hit = r->n_records == 0;
        for (size_t j = 0; j < r->n_records; j++)
            hit |= rec_match (r->records[j], s->record_type);
        if (hit)
            cands[n++] = s;
    }
    const sl_schema_t *s = cands[rnd ((unsigned) n)];
    for (;;) {
        const char *f = s->descriptor->fields[rnd (s->descriptor->n_fields)].name;
        if (strcmp (f, "subject") != 0)
            return f;
    }
}

static void
gen_rule (mrule_t *r, size_t i)
{
    memset (r, 0, sizeof *r);
    r->permit = rnd (3) != 0;
    snprintf (r->id, sizeof r->id, "r%zu", i);
    r->owner = OWNERS[rnd (4)];
    /* consumers */
    if (!r->permit && rnd (3) == 0)
        r->star = true;
    else if (r->permit || rnd (2)) {
        size_t n = 1 + rnd (2);
        for (size_t k = 0; k < n; k++) {
            const char *m = MEMBERS[rnd (4)];
            if (r->permit && strcmp (m, r->owner) == 0)
                continue;
            bool dup = false;
            for (size_t j = 0; j < r->n_consumers; j++)
                dup |= strcmp (r->consumers[j], m) == 0;
            if (!dup)
                r->consumers[r->n_consumers++] = m;
        }
        if (r->n_consumers == 0)
            r->consumers[r->n_consumers++] = strcmp (r->owner, "water") ? "water" : "power";
    }
    /* record types of the owner */
    if (r->permit || rnd (2)) {
        const sl_schema_t *owned[8];
        size_t no = 0;
        for (size_t k = 0; k < sl_schema_count (); k++)
            if (strcmp (sl_schema_at (k)->owner, r->owner) == 0)
                owned[no++] = sl_schema_at (k);
        if (rnd (3) == 0)
            snprintf (r->records[r->n_records++], 48, "%s.v1.*", r->owner);
        else
            snprintf (r->records[r->n_records++], 48, "%s", owned[rnd ((unsigned) no)]->record_type);
    }
    if (r->permit || rnd (2)) {
        r->purposes[r->n_purposes++] = PURPOSES[rnd (3)];
        if (rnd (4) == 0 && strcmp (r->purposes[0], "billing") != 0)
            r->purposes[r->n_purposes++] = "billing";
    }
    if (r->permit || rnd (2)) {
        size_t n = 1 + rnd (3);
        for (size_t k = 0; k < n; k++) {
            const char *f = rand_field (r);
            bool dup = false;
            for (size_t j = 0; j < r->n_fields; j++)
                dup |= strcmp (r->fields[j], f) == 0;
            if (!dup)
                r->fields[r->n_fields++] = f;
        }
    }
    if (rnd (3) == 0) {
        r->has_valid = true;
        r->from = T0 + (int64_t) rnd (100) * 3600;
        r->to = r->from + 1 + (int64_t) rnd (100) * 3600;
    }
}

static void
render_rule (const mrule_t *r, FILE *f)
{
    fprintf (f, "%s \"%s\" {\n  owner %s\n", r->permit ? "permit" : "forbid", r->id, r->owner);
    if (r->star)
        fprintf (f, "  consumer *\n");
    for (size_t i = 0; i < r->n_consumers; i++)
        fprintf (f, "%s%s", i ? ", " : "  consumer ", r->consumers[i]);
    if (r->n_consumers)
        fprintf (f, "\n");
    for (size_t i = 0; i < r->n_records; i++)
        fprintf (f, "%s%s", i ? ", " : "  records ", r->records[i]);
    if (r->n_records)
        fprintf (f, "\n");
    for (size_t i = 0; i < r->n_purposes; i++)
        fprintf (f, "%s%s", i ? ", " : "  purpose ", r->purposes[i]);
    if (r->n_purposes)
        fprintf (f, "\n");
    for (size_t i = 0; i < r->n_fields; i++)
        fprintf (f, "%s%s", i ? ", " : "  fields ", r->fields[i]);
    if (r->n_fields)
        fprintf (f, "\n");
    if (r->has_valid) {
        char a[40], b[40];
        fmt_time (r->from, a, sizeof a);
        fmt_time (r->to, b, sizeof b);
        fprintf (f, "  valid %s .. %s\n", a, b);
    }
    fprintf (f, "}\n");
}

Test (index, matches_brute_force_on_random_sets)
{
    size_t n_permit = 0, n_forbidden = 0, n_other = 0;
    for (unsigned seed = 1; seed <= 20; seed++) {
        rng_state = seed * 0x9e3779b97f4a7c15ull;
        size_t n = 5 + rnd (120);
        mrule_t *rules = calloc (n, sizeof *rules);
        char *text = NULL;
        size_t tlen = 0;
        FILE *f = open_memstream (&text, &tlen);
        for (size_t i = 0; i < n; i++) {
            gen_rule (&rules[i], i);
            render_rule (&rules[i], f);
        }
        fclose (f);
        sl_policy_index_t *ix = tu_index (text);
        cr_assert_not_null (ix, "seed %u:\n%s", seed, text);
        cr_assert_eq (sl_policy_index_rule_count (ix), n);
        for (int q = 0; q < 3000; q++) {
            const sl_schema_t *s = sl_schema_at (rnd ((unsigned) sl_schema_count () - 1));
            const char *owner = rnd (10) ? s->owner : OWNERS[rnd (4)];
            const char *consumer = MEMBERS[rnd (4)];
            const char *purpose = PURPOSES[rnd (3)];
            int64_t t = T0 - 3600 + (int64_t) rnd (220) * 1800 + rnd (2);
            bool bp;
            char bf[512];
            int bi = brute (rules, n, owner, consumer, s->record_type, purpose, t, &bp, bf, sizeof bf);
            sl_policy_request_t r = { .owner = owner, .consumer = consumer, .record_type = s->record_type,
                                      .purpose = purpose, .time = t };
            sl_policy_decision_t d;
            cr_assert_eq (sl_policy_decide (ix, &r, &d), 0);
            cr_assert_eq (d.permit, bp, "seed %u query %d: %s %s %s %s %lld: index %s (%s), brute %d",
                          seed, q, owner, consumer, s->record_type, purpose, (long long) t,
                          d.permit ? "permit" : "deny", d.reason, bi);
            n_permit += bp;
            n_forbidden += !bp && bi >= 0;
            n_other += !bp && bi < 0;
            if (bp) {
                cr_assert_str_eq (sl_policy_rule_id (d.rule), rules[bi].id, "seed %u query %d", seed, q);
                const char *names[64];
                size_t nn = sl_policy_transform_fields (&d.transform, names, 64);
                char got[512] = "";
                for (size_t k = 0; k < nn; k++) {
                    size_t l = strlen (got);
                    snprintf (got + l, sizeof got - l, "%s%s", k ? "," : "", names[k]);
                }
                cr_assert_str_eq (got, bf, "seed %u query %d fields", seed, q);
            } else if (bi >= 0) {
                cr_assert_str_eq (d.reason, "forbidden", "seed %u query %d", seed, q);
                cr_assert_str_eq (sl_policy_rule_id (d.rule), rules[bi].id, "seed %u query %d", seed, q);
            } else
                cr_assert_str_neq (d.reason, "forbidden", "seed %u query %d", seed, q);
        }
        sl_policy_index_destroy (&ix);
        free (text);
        free (rules);
    }
    /* the generator exercises every outcome, not just the default */
    cr_expect_gt (n_permit, 1000, "%zu permits", n_permit);
    cr_expect_gt (n_forbidden, 1000, "%zu forbidden", n_forbidden);
    cr_expect_gt (n_other, 1000, "%zu other denies", n_other);
}

static char *
read_file (const char *name, size_t *len)
{
    char path[512];
    snprintf (path, sizeof path, "%s/%s", EXAMPLES_DIR, name);
    FILE *f = fopen (path, "r");
    cr_assert_not_null (f, "%s", path);
    char *buf = malloc (65536);
    *len = fread (buf, 1, 65536, f);
    fclose (f);
    return buf;
}

Test (index, example_city_policies_check_and_compile)
{
    /* the broker's view: one set from every owner's current source */
    struct { const char *file, *role; } files[] = {
        { "city.policy", "admin:city" }, { "water.policy", "admin:water" },
        { "power.policy", "admin:power" }, { "health.policy", "admin:health" },
    };
    sl_policy_catalog_t *cat = sl_policy_catalog_new ();
    for (size_t i = 0; i < 4; i++)
        sl_policy_catalog_add_member (cat, MEMBERS[i], "member");
    sl_policy_diags_t *d = sl_policy_diags_new ();
    sl_policy_set_t *all = sl_policy_set_new ();
    for (size_t i = 0; i < 4; i++) {
        size_t len;
        char *text = read_file (files[i].file, &len);
        cr_expect_eq (sl_policy_set_parse (all, files[i].file, text, len, (uint32_t) i + 1, d), 0);
        /* each file alone passes the role rule for its administrator */
        sl_policy_set_t *one = sl_policy_set_new ();
        sl_policy_set_parse (one, files[i].file, text, len, 1, NULL);
        cr_expect_eq (sl_policy_set_check_role (one, files[i].role, d), 0, "%s", files[i].file);
        sl_policy_set_destroy (&one);
        free (text);
    }
    cr_expect_eq (sl_policy_set_check (all, cat, d), 0);
    char *errs = sl_policy_diags_render (d);
    cr_expect_str_eq (errs, "");
    free (errs);
    sl_policy_index_t *ix = sl_policy_index_new (all, d);
    cr_assert_not_null (ix);
    sl_policy_set_destroy (&all);     /* the index keeps its own copy */
    cr_expect_eq (sl_policy_index_rule_count (ix), 4);
    sl_policy_request_t r = { .owner = "water", .consumer = "power", .record_type = "water.v1.MeterReading",
                              .purpose = "joint-metering", .time = 1781519862 };
    sl_policy_decision_t dec;
    sl_policy_decide (ix, &r, &dec);
    cr_expect (dec.permit);
    char ref[64];
    sl_policy_rule_ref (dec.rule, ref, sizeof ref);
    cr_expect_str_eq (ref, "water/water-to-power-joint-metering@2");
    cr_expect_str_eq (sl_policy_rule_file (dec.rule), "water.policy");
    r = (sl_policy_request_t) { .owner = "power", .consumer = "water", .record_type = "power.v1.MeterReading",
                                .purpose = "joint-metering", .time = 1781519862 };
    sl_policy_decide (ix, &r, &dec);
    cr_expect (dec.permit);
    sl_policy_index_destroy (&ix);
    sl_policy_diags_destroy (&d);
    sl_policy_catalog_destroy (&cat);
}

/*  One index, two threads deciding at once: the same answers as one thread. */
typedef struct {
    sl_policy_index_t *ix;
    const sl_policy_request_t *reqs;
    sl_policy_decision_t *out;
    size_t n;
} worker_t;

static void *
worker (void *arg)
{
    worker_t *w = arg;
    for (int round = 0; round < 20; round++)
        for (size_t i = 0; i < w->n; i++)
            sl_policy_decide (w->ix, &w->reqs[i], &w->out[i]);
    return NULL;
}

#include <pthread.h>

Test (index, concurrent_decisions_agree)
{
    rng_state = 4242;
    size_t n = 200;
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream (&text, &tlen);
    mrule_t r;
    for (size_t i = 0; i < n; i++) {
        gen_rule (&r, i);
        render_rule (&r, f);
    }
    fclose (f);
    sl_policy_index_t *ix = tu_index_ok (text);
    enum { NQ = 2000 };
    static sl_policy_request_t reqs[NQ];
    static sl_policy_decision_t a[NQ], b[NQ], ref[NQ];
    for (size_t i = 0; i < NQ; i++) {
        const sl_schema_t *s = sl_schema_at (rnd ((unsigned) sl_schema_count () - 1));
        reqs[i] = (sl_policy_request_t) { .owner = s->owner, .consumer = MEMBERS[rnd (4)],
                                          .record_type = s->record_type, .purpose = PURPOSES[rnd (3)],
                                          .time = T0 + (int64_t) rnd (200) * 1800 };
        sl_policy_decide (ix, &reqs[i], &ref[i]);
    }
    worker_t wa = { ix, reqs, a, NQ }, wb = { ix, reqs, b, NQ };
    pthread_t ta, tb;
    cr_assert_eq (pthread_create (&ta, NULL, worker, &wa), 0);
    cr_assert_eq (pthread_create (&tb, NULL, worker, &wb), 0);
    pthread_join (ta, NULL);
    pthread_join (tb, NULL);
    for (size_t i = 0; i < NQ; i++) {
        cr_expect_eq (memcmp (&a[i], &ref[i], sizeof a[i]), 0, "request %zu", i);
        cr_expect_eq (memcmp (&b[i], &ref[i], sizeof b[i]), 0, "request %zu", i);
    }
    sl_policy_index_destroy (&ix);
    free (text);
}

/*  sl_policy_lint — see sl_policy_lint.h. The texts are a contract
 *  (docs/POLICY.md 8.2); tests/policy/test_policy_lint.c checks each.
 *
 *  Design note:
 *  1. Overlapping permits combine "most restrictive wins" (POLICY.md 5), so
 *     a permit B whose scope lies inside permit A's, which A matches
 *     whenever B does, and which releases no less than A, never changes a
 *     decision: it "has no effect". Other overlaps are reported too, since
 *     where two permits meet only the intersection of their copies leaves.
 *  2. "Scope" is compared on names as written (consumers, record types after
 *     wildcard expansion over the registry, purposes) and on the validity
 *     window; `where` and `consent` make a rule conditional, so a rule with
 *     either covers another only if that one has the same condition.
 *  3. A lint never fails a check on its own; callers decide (--strict). */
#include "sl_policy_lint.h"
#include "sl_policy_int.h"
#include "sl_error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_MAX_TYPES 64

typedef struct {
    sl_policy_diags_t *w;
    const sl_policy_lint_opts_t *opts;
    int added;
    int oom;
} s_lint_t;

static void
s_warn (s_lint_t *l, const sl_policy_rule_t *r, unsigned line, unsigned col, const char *hint,
        const char *msg)
{
    if (l->opts && l->opts->n_only_files) {
        bool mine = false;
        for (size_t i = 0; i < l->opts->n_only_files && !mine; i++)
            mine = strcmp (l->opts->only_files[i], r->file) == 0;
        if (!mine)
            return;
    }
    if (sl_pdiag_add (l->w, r->file, line, col, hint, "%s", msg) != 0)
        l->oom = 1;
    else
        l->added++;
}

/* ------------------------------------------------------------------------ */
/*  Scope of a rule                                                          */

static bool
s_names_has (const sl_pnames_t *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp (l->v[i].s, name) == 0)
            return true;
    return false;
}

/*  Every consumer: a forbid without `consumer` or with '*'. */
static bool
s_all_consumers (const sl_policy_rule_t *r)
{
    return (r->kind == SL_POLICY_FORBID && r->consumers.n == 0) || s_names_has (&r->consumers, "*");
}

static bool
s_all_purposes (const sl_policy_rule_t *r)
{
    return r->kind == SL_POLICY_FORBID && r->purposes.n == 0;
}

/*  a's consumers include b's. */
static bool
s_consumers_cover (const sl_policy_rule_t *a, const sl_policy_rule_t *b)
{
    if (s_all_consumers (a))
        return true;
    if (s_all_consumers (b) || b->consumers.n == 0)
        return false;
    for (size_t i = 0; i < b->consumers.n; i++)
        if (!s_names_has (&a->consumers, b->consumers.v[i].s))
            return false;
    return true;
}

static bool
s_purposes_cover (const sl_policy_rule_t *a, const sl_policy_rule_t *b)
{
    if (s_all_purposes (a))
        return true;
    if (s_all_purposes (b) || b->purposes.n == 0)
        return false;
    for (size_t i = 0; i < b->purposes.n; i++)
        if (!s_names_has (&a->purposes, b->purposes.v[i].s))
            return false;
    return true;
}

static bool
s_type_in (const sl_schema_t *s, const sl_schema_t *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == s)
            return true;
    return false;
}

static bool
s_types_cover (const sl_schema_t *const *a, size_t na, const sl_schema_t *const *b, size_t nb)
{
    if (nb == 0)
        return false;
    for (size_t i = 0; i < nb; i++)
        if (!s_type_in (b[i], a, na))
            return false;
    return true;
}

/*  A rule's window [from, to); open without `valid`. */
static int64_t s_from (const sl_policy_rule_t *r) { return r->has_valid ? r->valid_from : INT64_MIN; }
static int64_t s_to (const sl_policy_rule_t *r) { return r->has_valid ? r->valid_to : INT64_MAX; }

static bool
s_window_covers (const sl_policy_rule_t *a, const sl_policy_rule_t *b)
{
    return s_from (a) <= s_from (b) && s_to (a) >= s_to (b);
}

static bool
s_windows_meet (const sl_policy_rule_t *a, const sl_policy_rule_t *b)
{
    int64_t from = s_from (a) > s_from (b) ? s_from (a) : s_from (b);
    int64_t to = s_to (a) < s_to (b) ? s_to (a) : s_to (b);
    return from < to;
}

static bool
s_same_where (const sl_policy_rule_t *a, const sl_policy_rule_t *b)
{
    if (!a->where || !b->where)
        return !a->where && !b->where;
    char x[2048], y[2048];
    sl_pexpr_render (a->where, x, sizeof x);
    sl_pexpr_render (b->where, y, sizeof y);
    return strcmp (x, y) == 0;
}

/*  Does `a` match every request `b` matches (given b's scope lies inside)? */
static bool
s_matches_whenever (const sl_policy_rule_t *a, const sl_policy_rule_t *b)
{
    if (a->consent && !b->consent)
        return false;
    if (a->where && !s_same_where (a, b))
        return false;
    return true;
}

static bool
s_names_equal (const sl_pnames_t *x, const sl_pnames_t *y)
{
    if (x->n != y->n)
        return false;
    for (size_t i = 0; i < x->n; i++)
        if (!s_names_has (y, x->v[i].s))
            return false;
    return true;
}

/*  b's copy releases at least what a's does: every field of a, the subject
 *  no more protected, times no coarser. */
static bool
s_releases_no_less (const sl_policy_rule_t *b, const sl_policy_rule_t *a)
{
    if (!b->fields_all) {
        if (a->fields_all)
            return false;
        for (size_t i = 0; i < a->fields.n; i++)
            if (!s_names_has (&b->fields, a->fields.v[i].s))
                return false;
    }
    /* protection: keep 0 < pseudonymize 1 < drop 2 (the enum's values) */
    return b->subject <= a->subject && b->coarsen <= a->coarsen;
}

static bool
s_identical (const sl_policy_rule_t *a, const sl_policy_rule_t *b)
{
    return strcmp (a->owner.s, b->owner.s) == 0 && s_names_equal (&a->consumers, &b->consumers)
        && s_names_equal (&a->records, &b->records) && s_names_equal (&a->purposes, &b->purposes)
        && a->fields_all == b->fields_all && s_names_equal (&a->fields, &b->fields)
        && a->subject == b->subject && a->coarsen == b->coarsen
        && s_from (a) == s_from (b) && s_to (a) == s_to (b)
        && a->consent == b->consent && s_same_where (a, b);
}

/*  One (consumer, record type, purpose) both permits name, for the text. */
static bool
s_shared_triple (const sl_policy_rule_t *a, const sl_schema_t *const *ta, size_t na,
                 const sl_policy_rule_t *b, const sl_schema_t *const *tb, size_t nb,
                 const char **consumer, const char **type, const char **purpose)
{
    *consumer = *type = *purpose = NULL;
    for (size_t i = 0; i < b->consumers.n && !*consumer; i++)
        if (s_names_has (&a->consumers, b->consumers.v[i].s))
            *consumer = b->consumers.v[i].s;
    for (size_t i = 0; i < nb && !*type; i++)
        if (s_type_in (tb[i], ta, na))
            *type = tb[i]->record_type;
    for (size_t i = 0; i < b->purposes.n && !*purpose; i++)
        if (s_names_has (&a->purposes, b->purposes.v[i].s))
            *purpose = b->purposes.v[i].s;
    return *consumer && *type && *purpose;
}

/* ------------------------------------------------------------------------ */
/*  Indexes: which rules share an (owner, consumer, purpose), so that the
 *  pairwise lints look only at rules that can meet (a policy of 100,000
 *  rules is linted in a fraction of a second, not in n^2 comparisons).      */

typedef struct {
    char  *key;             /* owner NUL consumer NUL purpose (or a prefix of it) */
    size_t klen;
    size_t rule;            /* index in the set */
} s_key_t;

typedef struct {
    s_key_t *v;
    size_t   n, cap;
    int      oom;
} s_keys_t;

/*  Adds the key a NUL [b NUL [c NUL [d NUL]]] for `rule`. */
static void
s_keys_add (s_keys_t *k, size_t rule, const char *a, const char *b, const char *c, const char *d)
{
    if (k->oom)
        return;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 256;
        s_key_t *v = realloc (k->v, cap * sizeof *v);
        if (!v) {
            k->oom = 1;
            return;
        }
        k->v = v;
        k->cap = cap;
    }
    const char *parts[4] = { a, b, c, d };
    size_t klen = 0;
    for (int i = 0; i < 4 && parts[i]; i++)
        klen += strlen (parts[i]) + 1;
    char *key = malloc (klen);
    if (!key) {
        k->oom = 1;
        return;
    }
    size_t off = 0;
    for (int i = 0; i < 4 && parts[i]; i++) {
        size_t l = strlen (parts[i]) + 1;
        memcpy (key + off, parts[i], l);
        off += l;
    }
    k->v[k->n++] = (s_key_t) { key, klen, rule };
}

static int
s_key_cmp (const void *x, const void *y)
{
    const s_key_t *a = x, *b = y;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp (a->key, b->key, n);
    if (c || a->klen != b->klen)
        return c ? c : (a->klen < b->klen ? -1 : 1);
    return a->rule < b->rule ? -1 : a->rule > b->rule;
}

static void
s_keys_free (s_keys_t *k)
{
    for (size_t i = 0; i < k->n; i++)
        free (k->v[i].key);
    free (k->v);
    memset (k, 0, sizeof *k);
}

/*  The range [*lo, *hi) of entries whose key equals `key`. */
static void
s_keys_find (const s_keys_t *k, const char *key, size_t klen, size_t *lo, size_t *hi)
{
    size_t a = 0, b = k->n;
    while (a < b) {                           /* first >= key */
        size_t m = (a + b) / 2;
        size_t n = k->v[m].klen < klen ? k->v[m].klen : klen;
        int c = memcmp (k->v[m].key, key, n);
        if (c < 0 || (c == 0 && k->v[m].klen < klen))
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    for (b = a; b < k->n && k->v[b].klen == klen && !memcmp (k->v[b].key, key, klen); b++)
        ;
    *hi = b;
}

/* ------------------------------------------------------------------------ */
/*  1. Permits that duplicate, have no effect under, or overlap another       */

/*  One pair of permits (a before b) that share an (owner, consumer,
 *  purpose): the texts of section 8.2. */
static void
s_lint_pair (s_lint_t *l, const sl_policy_rule_t *a, const sl_policy_rule_t *b, bool *reported)
{
    const sl_schema_t *ta[S_MAX_TYPES], *tb[S_MAX_TYPES];
    size_t na = sl_prule_types (a, ta, S_MAX_TYPES), nb = sl_prule_types (b, tb, S_MAX_TYPES);
    const char *c, *t, *p;
    if (!s_shared_triple (a, ta, na, b, tb, nb, &c, &t, &p) || !s_windows_meet (a, b))
        return;
    char msg[1024], hint[512];
    const sl_policy_rule_t *at = b, *other = a;    /* where to report */
    if (s_identical (a, b)) {
        snprintf (msg, sizeof msg, "permit \"%s\" duplicates permit \"%s\" (%s:%u:%u)",
                  b->id, a->id, a->file, a->line, a->col);
        snprintf (hint, sizeof hint, "remove one of them");
    }
    else {
        bool b_idle = s_consumers_cover (a, b) && s_types_cover (ta, na, tb, nb)
                   && s_purposes_cover (a, b) && s_window_covers (a, b)
                   && s_matches_whenever (a, b) && s_releases_no_less (b, a);
        bool a_idle = !b_idle && s_consumers_cover (b, a) && s_types_cover (tb, nb, ta, na)
                   && s_purposes_cover (b, a) && s_window_covers (b, a)
                   && s_matches_whenever (b, a) && s_releases_no_less (a, b);
        if (a_idle) {
            at = a;
            other = b;
        }
        if (a_idle || b_idle) {
            snprintf (msg, sizeof msg,
                      "permit \"%s\" has no effect: permit \"%s\" (%s:%u:%u) matches "
                      "whenever it does and releases no more",
                      at->id, other->id, other->file, other->line, other->col);
            snprintf (hint, sizeof hint,
                      "where permits overlap the most restrictive copy leaves; remove "
                      "\"%s\", or narrow \"%s\"", at->id, other->id);
        }
        else {
            snprintf (msg, sizeof msg,
                      "permit \"%s\" overlaps permit \"%s\" (%s:%u:%u) for consumer "
                      "'%s', %s, purpose '%s'", b->id, a->id, a->file, a->line, a->col,
                      c, t, p);
            snprintf (hint, sizeof hint,
                      "where both match, only what both release leaves (the most "
                      "restrictive copy); merge them, or make their consumers, "
                      "records, purposes or windows disjoint");
        }
    }
    /* one pair warning per rule: the first partner in rule order, so that a
     * rule overlapping a thousand others says so once */
    if (reported[at->order])
        return;
    reported[at->order] = true;
    s_warn (l, at, at->id_line, at->id_col, hint, msg);
}

typedef struct {
    size_t a, b;
} s_pair_t;

static int
s_pair_cmp (const void *x, const void *y)
{
    const s_pair_t *p = x, *q = y;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return p->a < q->a ? -1 : p->a > q->a;
}

/*  At most this many pairs are compared (16 MB of pairs): a policy that
 *  has more overlapping permits than that gets one warning saying so. */
#define S_MAX_PAIRS (1u << 20)

/*  Pairs of permits of one owner sharing a consumer, a purpose and a record
 *  type, each once, in the order of the later rule (then the earlier). */
static void
s_lint_pairs (s_lint_t *l, const sl_policy_set_t *set, s_keys_t *ocp)
{
    s_pair_t *pairs = NULL;
    size_t n = 0, cap = 0;
    bool capped = false;
    for (size_t g = 0; g < ocp->n && !l->oom && !capped;) {
        size_t e = g;
        while (e < ocp->n && ocp->v[e].klen == ocp->v[g].klen
               && !memcmp (ocp->v[e].key, ocp->v[g].key, ocp->v[g].klen))
            e++;
        for (size_t j = g + 1; j < e && !l->oom; j++)
            for (size_t i = g; i < j; i++) {
                if (ocp->v[i].rule == ocp->v[j].rule)
                    continue;
                if (n == S_MAX_PAIRS) {
                    capped = true;
                    break;
                }
                if (n == cap) {
                    cap = cap ? cap * 2 : 256;
                    s_pair_t *np = realloc (pairs, cap * sizeof *np);
                    if (!np) {
                        l->oom = 1;
                        break;
                    }
                    pairs = np;
                }
                pairs[n++] = (s_pair_t) { ocp->v[i].rule, ocp->v[j].rule };
            }
        g = e;
    }
    if (n > 1)
        qsort (pairs, n, sizeof *pairs, s_pair_cmp);
    bool *reported = calloc (set->n_rules + 1, sizeof *reported);
    if (!reported)
        l->oom = 1;
    for (size_t k = 0; k < n && !l->oom; k++)
        if (k == 0 || pairs[k].a != pairs[k - 1].a || pairs[k].b != pairs[k - 1].b)
            s_lint_pair (l, set->rules[pairs[k].a], set->rules[pairs[k].b], reported);
    free (reported);
    if (capped && set->n_rules) {
        const sl_policy_rule_t *r = set->rules[ocp->v[0].rule];
        s_warn (l, r, r->id_line, r->id_col,
                "split the policy, or give permits disjoint consumers, purposes or records",
                "too many overlapping permits: only the first 1048576 pairs were compared");
    }
    free (pairs);
}

/* ------------------------------------------------------------------------ */
/*  2. Windows that have ended or not begun                                  */

static void
s_lint_validity (s_lint_t *l, const sl_policy_rule_t *r)
{
    if (!r->has_valid || r->kind != SL_POLICY_PERMIT || r->valid_from >= r->valid_to)
        return;
    char msg[512];
    int64_t now = l->opts ? l->opts->now : (int64_t) time (NULL);
    if (r->valid_to != INT64_MAX && now >= r->valid_to) {
        snprintf (msg, sizeof msg, "permit \"%s\" has expired: its window '%s' has ended",
                  r->id, r->valid_text);
        s_warn (l, r, r->valid_line, r->valid_col,
                "remove the rule, or extend its 'valid' window", msg);
    }
    else if (r->valid_from != INT64_MIN && now < r->valid_from) {
        snprintf (msg, sizeof msg, "permit \"%s\" is not in force yet: its window '%s' has "
                  "not begun", r->id, r->valid_text);
        s_warn (l, r, r->valid_line, r->valid_col,
                "it decides nothing until then; check the start date", msg);
    }
}

/* ------------------------------------------------------------------------ */
/*  3. Forbids that cancel a permit of the same owner                        */

static int
s_size_cmp (const void *a, const void *b)
{
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    return x < y ? -1 : x > y;
}

/*  A forbid names at most this many cancelled permits one by one; the
 *  rest are counted in one more warning. */
#define S_MAX_CANCELS 5

static void
s_cancel_one (s_lint_t *l, const sl_policy_rule_t *f, const sl_schema_t *const *tf, size_t nf,
              const sl_policy_rule_t *p, size_t *count)
{
    const sl_schema_t *tp[S_MAX_TYPES];
    size_t np = sl_prule_types (p, tp, S_MAX_TYPES);
    if (!s_consumers_cover (f, p) || !s_types_cover (tf, nf, tp, np)
        || !s_purposes_cover (f, p) || !s_window_covers (f, p))
        return;
    if (++*count > S_MAX_CANCELS)
        return;
    char msg[1024];
    snprintf (msg, sizeof msg, "forbid \"%s\" cancels permit \"%s\" (%s:%u:%u): it denies "
              "every request the permit matches", f->id, p->id, p->file, p->line, p->col);
    s_warn (l, f, f->id_line, f->id_col,
            "narrow the forbid (consumer, records, purpose, valid, where), strip fields "
            "with 'fields', or remove the permit", msg);
}

static void
s_cancel_more (s_lint_t *l, const sl_policy_rule_t *f, size_t count)
{
    if (count <= S_MAX_CANCELS)
        return;
    char msg[512];
    snprintf (msg, sizeof msg, "forbid \"%s\" cancels %zu more permits entirely", f->id,
              count - S_MAX_CANCELS);
    s_warn (l, f, f->id_line, f->id_col,
            "narrow the forbid (consumer, records, purpose, valid, where), strip fields "
            "with 'fields', or remove the permits", msg);
}

/*  A denying forbid against the permits of its owner: all of them when it
 *  names every consumer, else, for each consumer it names, the permits
 *  whose *first* consumer that is (a permit it cancels names only consumers
 *  the forbid names, so each candidate is looked at once). `oc` indexes
 *  permits by owner NUL consumer NUL, `o` by owner NUL. */
static void
s_lint_cancel (s_lint_t *l, const sl_policy_set_t *set, size_t fi, const s_keys_t *o,
               const s_keys_t *oc)
{
    const sl_policy_rule_t *f = set->rules[fi];
    if (f->kind != SL_POLICY_FORBID || f->has_fields || f->where || !f->owner.s)
        return;
    const sl_schema_t *tf[S_MAX_TYPES];
    size_t nf = sl_prule_types (f, tf, S_MAX_TYPES);
    size_t ol = strlen (f->owner.s), lo, hi;
    char key[512];
    if (s_all_consumers (f)) {
        if (ol + 1 > sizeof key)
            return;
        memcpy (key, f->owner.s, ol + 1);
        s_keys_find (o, key, ol + 1, &lo, &hi);
        size_t count = 0;
        for (size_t i = lo; i < hi; i++)
            s_cancel_one (l, f, tf, nf, set->rules[o->v[i].rule], &count);
        s_cancel_more (l, f, count);
        return;
    }
    size_t *cand = NULL, n = 0, cap = 0;
    for (size_t k = 0; k < f->consumers.n && !l->oom; k++) {
        const char *c = f->consumers.v[k].s;
        size_t cl = strlen (c);
        if (ol + cl + 2 > sizeof key)
            continue;
        memcpy (key, f->owner.s, ol + 1);
        memcpy (key + ol + 1, c, cl + 1);
        s_keys_find (oc, key, ol + cl + 2, &lo, &hi);
        for (size_t i = lo; i < hi; i++) {
            const sl_policy_rule_t *p = set->rules[oc->v[i].rule];
            if (!p->consumers.n || strcmp (p->consumers.v[0].s, c) != 0)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                size_t *nc = realloc (cand, cap * sizeof *nc);
                if (!nc) {
                    l->oom = 1;
                    break;
                }
                cand = nc;
            }
            cand[n++] = oc->v[i].rule;
        }
    }
    if (n > 1)
        qsort (cand, n, sizeof *cand, s_size_cmp);     /* report in rule order */
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        s_cancel_one (l, f, tf, nf, set->rules[cand[i]], &count);
    s_cancel_more (l, f, count);
    free (cand);
}

/* ------------------------------------------------------------------------ */
/*  4. Purposes nobody subscribes to                                         */

/*  `subs` indexes the subscriptions by consumer NUL purpose NUL type. */
static void
s_lint_subscribed (s_lint_t *l, const sl_policy_rule_t *r, const s_keys_t *subs)
{
    if (!l->opts || !l->opts->subs_known || r->kind != SL_POLICY_PERMIT)
        return;
    const sl_schema_t *t[S_MAX_TYPES];
    size_t nt = sl_prule_types (r, t, S_MAX_TYPES);
    if (nt == 0)
        return;
    for (size_t i = 0; i < r->purposes.n; i++) {
        const char *p = r->purposes.v[i].s;
        bool any = false;
        for (size_t c = 0; c < r->consumers.n && !any; c++)
            for (size_t x = 0; x < nt && !any; x++) {
                char key[512];
                int kl = snprintf (key, sizeof key, "%s%c%s%c%s", r->consumers.v[c].s, 0, p, 0,
                                   t[x]->record_type);
                size_t lo, hi;
                if (kl < 0 || (size_t) kl + 1 > sizeof key)
                    continue;
                s_keys_find (subs, key, (size_t) kl + 1, &lo, &hi);
                any = hi > lo;
            }
        if (any)
            continue;
        char msg[512];
        snprintf (msg, sizeof msg, "no consumer subscribes for purpose '%s' to what permit \"%s\" "
                  "releases", p, r->id);
        s_warn (l, r, r->purposes.v[i].line, r->purposes.v[i].col,
                "the permit decides only queries until a named consumer subscribes to one of "
                "its record types for this purpose; check the purpose and consumer names", msg);
    }
}

/* ------------------------------------------------------------------------ */
/*  5. Every field with the raw citizen id                                   */

static void
s_lint_sensitive (s_lint_t *l, const sl_policy_rule_t *r)
{
    if (r->kind != SL_POLICY_PERMIT || !r->fields_all || r->subject != SL_POLICY_SUBJECT_KEEP)
        return;
    char msg[512];
    snprintf (msg, sizeof msg, "permit \"%s\" releases every field with the raw citizen id "
              "('fields *' with 'subject keep')", r->id);
    s_warn (l, r, r->fields_line, r->fields_col,
            "list only the fields the consumer needs, and pseudonymize or drop the subject", msg);
}

/* ------------------------------------------------------------------------ */
/*  6. Row conditions that can never hold                                    */

typedef struct {
    double lo, hi;
    bool lo_open, hi_open;
} s_range_t;

static bool
s_is_unsigned (ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_UINT32 || t == PROTOBUF_C_TYPE_UINT64
        || t == PROTOBUF_C_TYPE_FIXED32 || t == PROTOBUF_C_TYPE_FIXED64;
}

static bool
s_is_integer (ProtobufCType t)
{
    return t != PROTOBUF_C_TYPE_FLOAT && t != PROTOBUF_C_TYPE_DOUBLE
        && t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BOOL
        && t != PROTOBUF_C_TYPE_BYTES && t != PROTOBUF_C_TYPE_MESSAGE;
}

/*  The values a field of this type can take. */
static s_range_t
s_type_range (const ProtobufCFieldDescriptor *fd)
{
    s_range_t r = { -INFINITY, INFINITY, false, false };
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        r.lo = -2147483648.0; r.hi = 2147483647.0; break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        r.lo = 0; r.hi = 4294967295.0; break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        r.lo = 0; r.hi = 18446744073709551615.0; break;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        r.lo = -9223372036854775808.0; r.hi = 9223372036854775807.0; break;
    default:
        break;
    }
    return r;
}

static bool
s_range_empty (const s_range_t *r)
{
    return r->lo > r->hi || (r->lo == r->hi && (r->lo_open || r->hi_open));
}

/*  Narrows `r` by "field OP v". */
static void
s_range_cut (s_range_t *r, sl_op_t op, double v)
{
    if ((op == SL_OP_EQ || op == SL_OP_GE || op == SL_OP_GT)
        && (v > r->lo || (v == r->lo && op == SL_OP_GT))) {
        r->lo = v;
        r->lo_open = op == SL_OP_GT;
    }
    if ((op == SL_OP_EQ || op == SL_OP_LE || op == SL_OP_LT)
        && (v < r->hi || (v == r->hi && op == SL_OP_LT))) {
        r->hi = v;
        r->hi_open = op == SL_OP_LT;
    }
}

typedef struct {
    const sl_expr_t *leaf;      /* the comparison found impossible */
    char why[1024];
} s_never_t;

static bool
s_lit_possible (const ProtobufCFieldDescriptor *fd, const sl_lit_t *lit, char *why, size_t cap,
                const sl_expr_t *e)
{
    char txt[300];
    if (lit->kind != SL_LIT_NUM)
        return true;
    sl_pexpr_render (e, txt, sizeof txt);
    s_range_t all = s_type_range (fd);
    if (s_is_integer (fd->type) && lit->num != floor (lit->num)) {
        snprintf (why, cap, "'%s': field '%s' holds whole numbers", txt, fd->name);
        return false;
    }
    if (fd->type == PROTOBUF_C_TYPE_ENUM && fd->descriptor) {
        const ProtobufCEnumDescriptor *ed = fd->descriptor;
        for (unsigned i = 0; i < ed->n_values; i++)
            if ((double) ed->values[i].value == lit->num)
                return true;
        snprintf (why, cap, "'%s': %s is not a value of enum %s", txt, lit->s, ed->name);
        return false;
    }
    if (lit->num < all.lo || lit->num > all.hi) {
        snprintf (why, cap, "'%s': field '%s' is %s and cannot hold %s", txt, fd->name,
                  s_is_unsigned (fd->type) ? "unsigned" : "a bounded integer", lit->s);
        return false;
    }
    return true;
}

/*  Collects the comparisons of an AND chain (not under OR/NOT). */
static void
s_and_leaves (const sl_expr_t *e, const sl_expr_t **out, size_t *n, size_t cap)
{
    if (e->kind == SL_EX_AND) {
        s_and_leaves (e->l, out, n, cap);
        s_and_leaves (e->r, out, n, cap);
    }
    else if (*n < cap)
        out[(*n)++] = e;
}

static bool s_never (const sl_expr_t *e, const sl_schema_t *s, s_never_t *nv);

static bool
s_never_leaf (const sl_expr_t *e, const sl_schema_t *s, s_never_t *nv)
{
    if (e->kind == SL_EX_OR)
        return s_never (e->l, s, nv) && s_never (e->r, s, nv);
    if (e->kind != SL_EX_CMP && e->kind != SL_EX_IN)
        return false;                     /* NOT: not analysed */
    const ProtobufCFieldDescriptor *fd = sl_schema_field (s, e->field.s);
    if (!fd)
        return false;
    if (e->kind == SL_EX_IN) {
        for (size_t i = 0; i < e->n_lits; i++)
            if (s_lit_possible (fd, &e->lits[i], nv->why, sizeof nv->why, e))
                return false;
        nv->leaf = e;
        return true;
    }
    if (e->op == SL_OP_NE || e->lits[0].kind != SL_LIT_NUM)
        return false;
    s_range_t r = s_type_range (fd);
    if (e->op == SL_OP_EQ) {
        if (s_lit_possible (fd, &e->lits[0], nv->why, sizeof nv->why, e))
            return false;
        nv->leaf = e;
        return true;
    }
    s_range_cut (&r, e->op, e->lits[0].num);
    if (s_range_empty (&r)) {
        char txt[300];
        sl_pexpr_render (e, txt, sizeof txt);
        snprintf (nv->why, sizeof nv->why, "'%s': field '%s' is %s", txt, fd->name,
                  s_is_unsigned (fd->type) ? "unsigned" : "a bounded integer");
        nv->leaf = e;
        return true;
    }
    return false;
}

/*  True if `e` is false for every record of type `s`; nv says why. */
static bool
s_never (const sl_expr_t *e, const sl_schema_t *s, s_never_t *nv)
{
    if (e->kind != SL_EX_AND)
        return s_never_leaf (e, s, nv);
    const sl_expr_t *v[64];
    size_t n = 0;
    s_and_leaves (e, v, &n, 64);
    for (size_t i = 0; i < n; i++)
        if (s_never_leaf (v[i], s, nv))
            return true;
    /* comparisons of one field that exclude each other */
    for (size_t i = 0; i < n; i++) {
        if (v[i]->kind != SL_EX_CMP || v[i]->op == SL_OP_NE)
            continue;
        const ProtobufCFieldDescriptor *fd = sl_schema_field (s, v[i]->field.s);
        if (!fd)
            continue;
        s_range_t r = s_type_range (fd);
        for (size_t j = 0; j < n; j++) {
            const sl_expr_t *x = v[j];
            if (x->kind != SL_EX_CMP || x->op == SL_OP_NE || strcmp (x->field.s, v[i]->field.s))
                continue;
            const sl_lit_t *a = &v[i]->lits[0], *b = &x->lits[0];
            bool clash = false;
            if (a->kind == SL_LIT_NUM && b->kind == SL_LIT_NUM) {
                s_range_cut (&r, x->op, b->num);
                clash = s_range_empty (&r);
            }
            else if (a->kind == SL_LIT_STR && b->kind == SL_LIT_STR && v[i]->op == SL_OP_EQ
                     && x->op == SL_OP_EQ)
                clash = strcmp (a->s, b->s) != 0;
            else if (a->kind == SL_LIT_BOOL && b->kind == SL_LIT_BOOL && v[i]->op == SL_OP_EQ
                     && x->op == SL_OP_EQ)
                clash = a->b != b->b;
            if (clash) {
                char t1[300], t2[300];
                sl_pexpr_render (v[i], t1, sizeof t1);
                sl_pexpr_render (x, t2, sizeof t2);
                snprintf (nv->why, sizeof nv->why, "'%s' and '%s' exclude each other", t1, t2);
                nv->leaf = v[i];
                return true;
            }
        }
    }
    return false;
}

static void
s_lint_where (s_lint_t *l, const sl_policy_rule_t *r)
{
    if (!r->where)
        return;
    const sl_schema_t *t[S_MAX_TYPES];
    size_t nt = sl_prule_types (r, t, S_MAX_TYPES);
    if (nt == 0)
        return;
    s_never_t nv = { 0 };
    for (size_t i = 0; i < nt; i++)
        if (!s_never (r->where, t[i], &nv))
            return;
    char msg[512];
    snprintf (msg, sizeof msg, "the row condition of %s \"%s\" can never be true",
              r->kind == SL_POLICY_PERMIT ? "permit" : "forbid", r->id);
    s_warn (l, r, nv.leaf->line, nv.leaf->col, nv.why, msg);
}

/* ------------------------------------------------------------------------ */

int
sl_policy_set_lint (const sl_policy_set_t *set, const sl_policy_lint_opts_t *opts,
                    sl_policy_diags_t *warnings)
{
    s_lint_t l = { .w = warnings, .opts = opts };
    s_keys_t ocp = { 0 }, oc = { 0 }, o = { 0 }, subs = { 0 };
    for (size_t i = 0; i < set->n_rules; i++) {
        const sl_policy_rule_t *r = set->rules[i];
        if (r->kind != SL_POLICY_PERMIT || !r->owner.s)
            continue;
        s_keys_add (&o, i, r->owner.s, NULL, NULL, NULL);
        const sl_schema_t *t[S_MAX_TYPES];
        size_t nt = sl_prule_types (r, t, S_MAX_TYPES);
        for (size_t c = 0; c < r->consumers.n; c++) {
            s_keys_add (&oc, i, r->owner.s, r->consumers.v[c].s, NULL, NULL);
            for (size_t p = 0; p < r->purposes.n; p++)
                for (size_t x = 0; x < nt; x++)
                    s_keys_add (&ocp, i, r->owner.s, r->consumers.v[c].s, r->purposes.v[p].s,
                                t[x]->record_type);
        }
    }
    for (size_t i = 0; opts && opts->subs_known && i < opts->n_subs; i++)
        s_keys_add (&subs, i, opts->subs[i].consumer, opts->subs[i].purpose,
                    opts->subs[i].record_type, NULL);
    if (ocp.oom || oc.oom || o.oom || subs.oom) {
        l.oom = 1;
        goto out;
    }
    s_keys_t *all[] = { &ocp, &oc, &o, &subs };
    for (int k = 0; k < 4; k++)
        if (all[k]->n > 1)
            qsort (all[k]->v, all[k]->n, sizeof *all[k]->v, s_key_cmp);
    s_lint_pairs (&l, set, &ocp);
    for (size_t i = 0; i < set->n_rules && !l.oom; i++) {
        const sl_policy_rule_t *r = set->rules[i];
        s_lint_validity (&l, r);
        s_lint_cancel (&l, set, i, &o, &oc);
        s_lint_subscribed (&l, r, &subs);
        s_lint_sensitive (&l, r);
        s_lint_where (&l, r);
    }
out:
    s_keys_free (&ocp);
    s_keys_free (&oc);
    s_keys_free (&o);
    s_keys_free (&subs);
    return l.oom ? SL_ENOMEM : l.added;
}


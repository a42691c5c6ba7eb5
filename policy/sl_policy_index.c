/*  sl_policy_index — the compiled decision index, decisions, explain, diff.
 *
 *  Design notes:
 *  1. One bucket per (owner, consumer, record type) that some rule names.
 *     Wildcard record types are expanded over the schema registry, and a
 *     forbid for consumer '*' is copied into every bucket of its owner and
 *     record type, all at compile time; a decision is one hash probe plus a
 *     walk over the few rules of its bucket. A consumer no rule names falls
 *     back to the (owner, '*', record type) bucket, only to report
 *     "forbidden" rather than "no-matching-rule".
 *  2. Each bucket keeps its permits and its forbids in source order, each
 *     with a field mask computed for the bucket's record type: the released
 *     fields of a permit (with the subject field set or cleared by its
 *     `subject` clause), the fields a field-scoped forbid strips.
 *  3. The index owns its rules: it re-parses the set's sources into a private
 *     set, so the caller's set may be destroyed. Nothing changes after
 *     construction: decisions read only, from any number of threads. */
#include "sl_policy_int.h"
#include "sl_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*  One rule for one purpose in one bucket: what a decision needs without
 *  touching the rule itself (it is read only for the rule that decides). */
typedef struct {
    const sl_policy_rule_t *rule;
    uint32_t    purpose;        /* interned purpose id; 0: every purpose (forbid without `purpose`) */
    sl_policy_subject_t subject;
    sl_policy_coarsen_t coarsen;
    int64_t     from, to;       /* validity, [from, to); to == INT64_MAX: open */
    bool        where, consent, deny;
    uint64_t    mask[SL_POLICY_MAX_FIELDS / 64];
} s_entry_t;

typedef struct s_bucket_s {
    uint64_t     hash;
    const char  *owner;
    const char  *consumer;
    const char  *record_type;     /* in key[] */
    const sl_schema_t *schema;
    s_entry_t   *permits;
    size_t       n_permits, cap_permits;
    s_entry_t   *forbids;
    size_t       n_forbids, cap_forbids;
    const struct s_bucket_s *star;    /* (owner, '*', record type) bucket, or NULL */
    char         key[];       /* owner NUL consumer NUL record type NUL: one cache line */
} s_bucket_t;

typedef struct {
    uint64_t    hash;
    s_bucket_t *b;
} s_slot_t;

/*  Purposes named by the rules, interned: a decision looks the request's
 *  purpose up once in this small (hot) table and compares ids after that. */
typedef struct {
    uint64_t    hash;
    const char *name;       /* NULL: empty slot */
    uint32_t    id;         /* 1.. */
} s_purpose_t;

struct sl_policy_index_s {
    sl_policy_set_t *set;           /* private copy: the rules */
    s_purpose_t     *purposes;      /* open addressing, power-of-two size */
    size_t           cap_purposes, n_purposes;
    s_slot_t        *table;         /* open addressing, power-of-two size, load <= 1/2 */
    size_t           cap;
    size_t           n_buckets;
};

static const char s_star[] = "*";

static uint64_t
s_hash (const char *owner, const char *consumer, const char *record_type)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = owner; *p; p++)
        h = (h ^ (unsigned char) *p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *p = consumer; *p; p++)
        h = (h ^ (unsigned char) *p) * 1099511628211ull;
    h = (h ^ 0xfe) * 1099511628211ull;
    for (const char *p = record_type; *p; p++)
        h = (h ^ (unsigned char) *p) * 1099511628211ull;
    return h ^ (h >> 29);
}

static uint64_t
s_str_hash (const char *p)
{
    uint64_t h = 1469598103934665603ull;
    for (; *p; p++)
        h = (h ^ (unsigned char) *p) * 1099511628211ull;
    return h ^ (h >> 29);
}

/*  The id of purpose `name`, or 0 if no rule names it. */
static uint32_t
s_purpose_id (const sl_policy_index_t *ix, const char *name, uint64_t h)
{
    if (!ix->cap_purposes)
        return 0;
    size_t mask = ix->cap_purposes - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const s_purpose_t *p = &ix->purposes[i];
        if (!p->name)
            return 0;
        if (p->hash == h && strcmp (p->name, name) == 0)
            return p->id;
    }
}

/*  Interns `name`; returns its id (1..), or 0 if out of memory. */
static uint32_t
s_purpose_intern (sl_policy_index_t *ix, const char *name)
{
    uint64_t h = s_str_hash (name);
    uint32_t id = s_purpose_id (ix, name, h);
    if (id)
        return id;
    if ((ix->n_purposes + 1) * 2 > ix->cap_purposes) {
        size_t cap = ix->cap_purposes ? ix->cap_purposes * 2 : 16;
        s_purpose_t *t = calloc (cap, sizeof *t);
        if (!t)
            return 0;
        for (size_t i = 0; i < ix->cap_purposes; i++) {
            if (!ix->purposes[i].name)
                continue;
            size_t j = ix->purposes[i].hash & (cap - 1);
            while (t[j].name)
                j = (j + 1) & (cap - 1);
            t[j] = ix->purposes[i];
        }
        free (ix->purposes);
        ix->purposes = t;
        ix->cap_purposes = cap;
    }
    size_t j = h & (ix->cap_purposes - 1);
    while (ix->purposes[j].name)
        j = (j + 1) & (ix->cap_purposes - 1);
    ix->purposes[j] = (s_purpose_t) { h, name, (uint32_t) ++ix->n_purposes };
    return (uint32_t) ix->n_purposes;
}

static s_bucket_t *
s_lookup (const sl_policy_index_t *ix, uint64_t h, const char *owner, const char *consumer,
          const char *record_type)
{
    if (!ix->cap)
        return NULL;
    size_t mask = ix->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const s_slot_t *sl = &ix->table[i];
        if (!sl->b)
            return NULL;
        if (sl->hash == h) {
            s_bucket_t *b = sl->b;
            if (strcmp (b->consumer, consumer) == 0 && strcmp (b->owner, owner) == 0
                && strcmp (b->record_type, record_type) == 0)
                return b;
        }
    }
}

static int
s_grow (sl_policy_index_t *ix)
{
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    s_slot_t *t = calloc (cap, sizeof *t);
    if (!t)
        return SL_ENOMEM;
    for (size_t i = 0; i < ix->cap; i++) {
        if (!ix->table[i].b)
            continue;
        size_t j = ix->table[i].hash & (cap - 1);
        while (t[j].b)
            j = (j + 1) & (cap - 1);
        t[j] = ix->table[i];
    }
    free (ix->table);
    ix->table = t;
    ix->cap = cap;
    return 0;
}

static s_bucket_t *
s_bucket (sl_policy_index_t *ix, const char *owner, const char *consumer, const sl_schema_t *s)
{
    uint64_t h = s_hash (owner, consumer, s->record_type);
    s_bucket_t *b = s_lookup (ix, h, owner, consumer, s->record_type);
    if (b)
        return b;
    if ((ix->n_buckets + 1) * 2 > ix->cap && s_grow (ix) != 0)
        return NULL;
    size_t lo = strlen (owner), lc = strlen (consumer), lr = strlen (s->record_type);
    b = calloc (1, sizeof *b + lo + lc + lr + 3);
    if (!b)
        return NULL;
    b->hash = h;
    memcpy (b->key, owner, lo + 1);
    memcpy (b->key + lo + 1, consumer, lc + 1);
    memcpy (b->key + lo + lc + 2, s->record_type, lr + 1);
    b->owner = b->key;
    b->consumer = strcmp (consumer, s_star) == 0 ? s_star : b->key + lo + 1;
    b->record_type = b->key + lo + lc + 2;
    b->schema = s;
    size_t j = h & (ix->cap - 1);
    while (ix->table[j].b)
        j = (j + 1) & (ix->cap - 1);
    ix->table[j] = (s_slot_t) { h, b };
    ix->n_buckets++;
    return b;
}

static int
s_push (s_entry_t **v, size_t *n, size_t *cap, const s_entry_t *e)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 2;
        s_entry_t *nv = realloc (*v, c * sizeof *nv);
        if (!nv)
            return SL_ENOMEM;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = *e;
    return 0;
}

static void
s_entry_for (const sl_policy_rule_t *r, const sl_schema_t *s, s_entry_t *e)
{
    memset (e, 0, sizeof *e);
    e->rule = r;
    e->from = r->has_valid ? r->valid_from : INT64_MIN;
    e->to = r->has_valid ? r->valid_to : INT64_MAX;
    e->where = r->where != NULL;
    e->consent = r->consent;
    e->deny = r->kind == SL_POLICY_FORBID && r->fields.n == 0;
    e->subject = r->subject;
    e->coarsen = r->has_time ? r->coarsen : SL_POLICY_COARSEN_NONE;
    sl_pmask_fields (s, &r->fields, r->fields_all, e->mask);
    if (r->kind == SL_POLICY_PERMIT && s->subject_field) {
        const ProtobufCFieldDescriptor *fd = sl_schema_field (s, s->subject_field);
        if (fd) {
            unsigned i = (unsigned) (fd - s->descriptor->fields);
            if (r->subject == SL_POLICY_SUBJECT_DROP)
                e->mask[i / 64] &= ~(1ull << (i % 64));
            else
                e->mask[i / 64] |= 1ull << (i % 64);
        }
    }
}

void
sl_policy_index_destroy (sl_policy_index_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_policy_index_t *self = *self_p;
    for (size_t i = 0; i < self->cap; i++) {
        s_bucket_t *b = self->table[i].b;
        if (!b)
            continue;
        free (b->permits);
        free (b->forbids);
        free (b);
    }
    free (self->table);
    free (self->purposes);
    sl_policy_set_destroy (&self->set);
    free (self);
    *self_p = NULL;
}

sl_policy_index_t *
sl_policy_index_new (const sl_policy_set_t *set, sl_policy_diags_t *diags)
{
    if (!set->checked) {
        sl_pdiag_add (diags, set->n_sources ? set->sources[0].file : "<input>", 1, 1,
                      "run the checker and fix its errors first",
                      "policy set has not passed the check");
        return NULL;
    }
    sl_policy_index_t *ix = calloc (1, sizeof *ix);
    if (!ix)
        return NULL;
    ix->set = sl_policy_set_new ();
    if (!ix->set)
        goto fail;
    for (size_t i = 0; i < set->n_sources; i++) {
        const sl_source_t *src = &set->sources[i];
        if (sl_policy_set_parse (ix->set, src->file, src->text, src->len, src->version, NULL) != 0)
            goto fail;
    }
    if (s_grow (ix) != 0)
        goto fail;
    for (size_t i = 0; i < ix->set->n_rules; i++) {
        const sl_policy_rule_t *r = ix->set->rules[i];
        const sl_schema_t *types[64];
        size_t nt = sl_prule_types (r, types, 64);
        size_t nc = r->consumers.n ? r->consumers.n : 1;
        for (size_t c = 0; c < nc; c++) {
            const char *consumer = r->consumers.n ? r->consumers.v[c].s : s_star;
            if (strcmp (consumer, "*") == 0)
                consumer = s_star;
            for (size_t t = 0; t < nt; t++) {
                s_bucket_t *b = s_bucket (ix, r->owner.s, consumer, types[t]);
                s_entry_t e;
                if (!b)
                    goto fail;
                s_entry_for (r, types[t], &e);
                /* one entry per purpose, so a decision compares one hash */
                size_t np = r->purposes.n ? r->purposes.n : 1;
                for (size_t p = 0; p < np; p++) {
                    e.purpose = r->purposes.n ? s_purpose_intern (ix, r->purposes.v[p].s) : 0;
                    if (r->purposes.n && !e.purpose)
                        goto fail;
                    int rc = r->kind == SL_POLICY_PERMIT
                        ? s_push (&b->permits, &b->n_permits, &b->cap_permits, &e)
                        : s_push (&b->forbids, &b->n_forbids, &b->cap_forbids, &e);
                    if (rc != 0)
                        goto fail;
                }
            }
        }
    }
    /* link every consumer's bucket to the '*' forbids of its owner and type;
     * a decision walks both lists merged in source order (no copies, so a
     * city-wide forbid costs one entry, not one per consumer) */
    for (size_t i = 0; i < ix->cap; i++) {
        s_bucket_t *b = ix->table[i].b;
        if (!b)
            continue;
        /* entries were appended rule by rule: each list is in source order */
        if (b->consumer != s_star)
            b->star = s_lookup (ix, s_hash (b->owner, s_star, b->schema->record_type),
                                b->owner, s_star, b->schema->record_type);
    }
    return ix;
fail:
    sl_policy_index_destroy (&ix);
    return NULL;
}

size_t
sl_policy_index_rule_count (const sl_policy_index_t *self)
{
    return self->set->n_rules;
}

/* ------------------------------------------------------------------------ */
/*  Evaluation                                                               */

static bool
s_num (const ProtobufCFieldDescriptor *fd, const void *p, double *out)
{
    switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        *out = *(const int32_t *) p; return true;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        *out = *(const uint32_t *) p; return true;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        *out = (double) *(const int64_t *) p; return true;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        *out = (double) *(const uint64_t *) p; return true;
    case PROTOBUF_C_TYPE_FLOAT:
        *out = *(const float *) p; return true;
    case PROTOBUF_C_TYPE_DOUBLE:
        *out = *(const double *) p; return true;
    default:
        return false;
    }
}

static bool
s_cmp_lit (const ProtobufCFieldDescriptor *fd, const void *p, sl_op_t op, const sl_lit_t *l)
{
    int c;
    if (fd->type == PROTOBUF_C_TYPE_STRING) {
        if (l->kind != SL_LIT_STR)
            return false;
        const char *s = *(const char *const *) p;
        c = strcmp (s ? s : "", l->s);
    } else if (fd->type == PROTOBUF_C_TYPE_BOOL) {
        if (l->kind != SL_LIT_BOOL)
            return false;
        c = (int) *(const protobuf_c_boolean *) p - (int) l->b;
    } else {
        double v;
        if (l->kind != SL_LIT_NUM || !s_num (fd, p, &v))
            return false;
        c = v < l->num ? -1 : v > l->num;
    }
    switch (op) {
    case SL_OP_EQ: return c == 0;
    case SL_OP_NE: return c != 0;
    case SL_OP_LT: return c < 0;
    case SL_OP_LE: return c <= 0;
    case SL_OP_GT: return c > 0;
    case SL_OP_GE: return c >= 0;
    }
    return false;
}

bool
sl_pexpr_eval (const sl_expr_t *e, const ProtobufCMessage *msg)
{
    switch (e->kind) {
    case SL_EX_AND: return sl_pexpr_eval (e->l, msg) && sl_pexpr_eval (e->r, msg);
    case SL_EX_OR:  return sl_pexpr_eval (e->l, msg) || sl_pexpr_eval (e->r, msg);
    case SL_EX_NOT: return !sl_pexpr_eval (e->l, msg);
    default: break;
    }
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field_by_name (msg->descriptor, e->field.s);
    if (!fd || fd->label == PROTOBUF_C_LABEL_REPEATED)
        return false;
    const void *p = (const char *) msg + fd->offset;
    if (e->kind == SL_EX_CMP)
        return s_cmp_lit (fd, p, e->op, &e->lits[0]);
    for (size_t i = 0; i < e->n_lits; i++)
        if (s_cmp_lit (fd, p, SL_OP_EQ, &e->lits[i]))
            return true;
    return false;
}

static bool
s_in_window (const sl_policy_rule_t *r, int64_t t)
{
    /* INT64_MAX as the end means open: nothing is later */
    return !r->has_valid || (t >= r->valid_from && (t < r->valid_to || r->valid_to == INT64_MAX));
}

typedef enum { S_DECIDE, S_DIFF } s_mode_t;

/*  Lowers *until to the next edge of window [from, to) after t, if any. */
static void
s_next_edge (int64_t *until, int64_t t, int64_t from, int64_t to)
{
    if (from != INT64_MIN && from > t && from < *until)
        *until = from;
    if (to != INT64_MAX && to > t && to < *until)
        *until = to;
}

static sl_consent_status_t
s_consent (const sl_policy_request_t *req)
{
    if (!req->consent)
        return SL_CONSENT_MISSING;
    return req->consent (req->consent_arg, req->subject ? req->subject : "", req->owner,
                         req->consumer, req->purpose, req->record_type, req->time);
}

static const char *
s_consent_reason (sl_consent_status_t st)
{
    switch (st) {
    case SL_CONSENT_EXPIRED: return "consent-expired";
    case SL_CONSENT_WITHDRAWN: return "consent-withdrawn";
    case SL_CONSENT_NOT_YET_VALID: return "consent-not-yet-valid";
    default: return "consent-missing";
    }
}

/*  The core of sl_policy_decide. In S_DIFF mode no consent is asked and no
 *  record is looked at: consent and `where` of permits count as holding,
 *  `where` of a denying forbid as not holding, and *conditional tells that
 *  one of those assumptions was made. */
static int
s_decide (const sl_policy_index_t *ix, const sl_policy_request_t *req, s_mode_t mode,
          sl_policy_decision_t *out, bool *conditional, sl_consent_status_t *consent_out)
{
    if (!req->owner || !req->consumer || !req->record_type || !req->purpose)
        return SL_EINVAL;
    memset (out, 0, sizeof *out);
    out->reason = "no-matching-rule";
    out->until = INT64_MAX;
    if (consent_out)
        *consent_out = SL_CONSENT_VALID;
    s_bucket_t *b = s_lookup (ix, s_hash (req->owner, req->consumer, req->record_type),
                              req->owner, req->consumer, req->record_type);
    if (!b)
        b = s_lookup (ix, s_hash (req->owner, s_star, req->record_type),
                      req->owner, s_star, req->record_type);
    if (!b) {
        if (!sl_schema_find (req->record_type))
            out->reason = "unknown-record-type";
        return 0;
    }
    const ProtobufCMessage *rec = mode == S_DECIDE ? req->record : NULL;
    if (rec && !sl_schema_describes (b->schema, rec->descriptor))
        return SL_EINVAL;

    /* 0 when no rule names this purpose: then only purpose-less forbids match */
    uint32_t pid = s_purpose_id (ix, req->purpose, s_str_hash (req->purpose));
    uint64_t strip[SL_POLICY_MAX_FIELDS / 64] = { 0 };
    const s_entry_t *fa = b->forbids, *fb = b->star ? b->star->forbids : NULL;
    size_t na = b->n_forbids, nb = b->star ? b->star->n_forbids : 0;
    while (na || nb) {
        /* merge the bucket's own forbids and its '*' forbids by source order */
        const s_entry_t *e;
        if (!nb || (na && fa->rule->order < fb->rule->order)) {
            e = fa++;
            na--;
        } else {
            e = fb++;
            nb--;
        }
        if (e->purpose && e->purpose != pid)
            continue;
        s_next_edge (&out->until, req->time, e->from, e->to);
        if (req->time < e->from || (req->time >= e->to && e->to != INT64_MAX))
            continue;
        const sl_policy_rule_t *r = e->rule;
        bool deny = e->deny;
        if (e->where) {
            if (rec) {
                if (!sl_pexpr_eval (r->where, rec))
                    continue;
            } else if (mode == S_DIFF && deny) {
                *conditional = true;     /* denies only some rows */
                continue;
            } else if (mode == S_DECIDE && req->rows_checked)
                continue;                /* the record passed it when decided with the record */
            /* otherwise, without a record, the forbid counts as applying (fail safe) */
        }
        if (deny) {
            out->reason = "forbidden";
            out->rule = r;
            out->n_strips = 0;
            return 0;
        }
        for (size_t k = 0; k < SL_POLICY_MAX_FIELDS / 64; k++)
            strip[k] |= e->mask[k];
        if (out->n_strips < SL_POLICY_MAX_STRIPS)
            out->strips[out->n_strips] = r;
        out->n_strips++;
    }

    /* stage reached by the nearest permit: 1 validity, 2 where, 3 consent */
    int best = 0;
    bool asked = false;                  /* consent is asked at most once */
    sl_consent_status_t asked_st = SL_CONSENT_MISSING;
    for (size_t i = 0; i < b->n_permits; i++) {
        const s_entry_t *e = &b->permits[i];
        if (e->purpose != pid || !pid)
            continue;
        const sl_policy_rule_t *r = e->rule;
        s_next_edge (&out->until, req->time, e->from, e->to);
        if (req->time < e->from || (req->time >= e->to && e->to != INT64_MAX)) {
            if (!out->permit && best < 1) {
                best = 1;
                out->rule = r;
                out->reason = "outside-validity";
            }
            continue;
        }
        bool cond = false;
        if (e->where) {
            if (mode == S_DIFF)
                cond = true;
            else if (rec ? !sl_pexpr_eval (r->where, rec) : !req->rows_checked) {
                if (!out->permit && best < 2) {
                    best = 2;
                    out->rule = r;
                    out->reason = "condition-false";
                }
                continue;
            }
        }
        if (e->consent) {
            if (mode == S_DIFF)
                cond = true;
            else {
                if (!asked) {
                    asked_st = s_consent (req);
                    asked = true;
                }
                sl_consent_status_t st = asked_st;
                if (st != SL_CONSENT_VALID) {
                    if (!out->permit && best < 3) {
                        best = 3;
                        out->rule = r;
                        out->reason = s_consent_reason (st);
                        if (consent_out)
                            *consent_out = st;
                    }
                    continue;
                }
            }
        }
        if (!out->permit) {
            if (cond)
                *conditional = true;
            /* the first matching permit in source order is the deciding rule */
            out->permit = true;
            out->reason = "permitted";
            out->rule = r;
            out->transform.schema = b->schema;
            for (size_t k = 0; k < SL_POLICY_MAX_FIELDS / 64; k++)
                out->transform.keep[k] = e->mask[k] & ~strip[k];
            out->transform.subject = e->subject;
            out->transform.coarsen = e->coarsen;
            if (consent_out)
                *consent_out = SL_CONSENT_VALID;
            continue;
        }
        /* every further matching permit can only narrow the copy: most
         * restrictive wins (POLICY.md 5), so rule order never widens it */
        bool narrower = e->subject > out->transform.subject || e->coarsen > out->transform.coarsen;
        for (size_t k = 0; k < SL_POLICY_MAX_FIELDS / 64; k++) {
            uint64_t keep = out->transform.keep[k] & e->mask[k];
            narrower = narrower || keep != out->transform.keep[k];
            out->transform.keep[k] = keep;
        }
        if (e->subject > out->transform.subject)
            out->transform.subject = e->subject;
        if (e->coarsen > out->transform.coarsen)
            out->transform.coarsen = e->coarsen;
        if (narrower) {
            if (out->n_narrows < SL_POLICY_MAX_STRIPS)
                out->narrows[out->n_narrows] = r;
            out->n_narrows++;
        }
    }
    if (out->permit)
        return 0;
    out->n_strips = 0;
    return 0;
}

int
sl_policy_decide (const sl_policy_index_t *index, const sl_policy_request_t *req,
                  sl_policy_decision_t *out)
{
    bool cond = false;
    return s_decide (index, req, S_DECIDE, out, &cond, NULL);
}

/*  snprintf into buf at n, keeping n the length needed (as snprintf does). */
#define S_APPEND(...) do { \
        int k_ = snprintf (buf + (n < cap ? n : cap ? cap - 1 : 0), \
                           n < cap ? cap - n : (cap ? 1 : 0), __VA_ARGS__); \
        if (k_ > 0) n += (size_t) k_; \
    } while (0)

int
sl_policy_decision_rules (const sl_policy_decision_t *d, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap)
        buf[0] = 0;
    if (!d->rule)
        return 0;
    S_APPEND ("%s@%u", d->rule->qid, (unsigned) d->rule->version);
    for (size_t i = 0; d->permit && i < d->n_narrows && i < SL_POLICY_MAX_STRIPS; i++)
        S_APPEND (",%s@%u", d->narrows[i]->qid, (unsigned) d->narrows[i]->version);
    for (size_t i = 0; i < d->n_strips && i < SL_POLICY_MAX_STRIPS; i++)
        S_APPEND (",%s@%u", d->strips[i]->qid, (unsigned) d->strips[i]->version);
    return (int) n;
}

/* ------------------------------------------------------------------------ */
/*  Explain                                                                  */

static unsigned
s_popcount (unsigned x)
{
    unsigned n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

int
sl_policy_explain (const sl_policy_index_t *ix, const sl_policy_request_t *req,
                   sl_policy_explain_t *out)
{
    memset (out, 0, sizeof *out);
    bool cond = false;
    sl_consent_status_t st = SL_CONSENT_VALID;
    int rc = s_decide (ix, req, S_DECIDE, &out->decision, &cond, &st);
    if (rc != 0)
        return rc;
    if (out->decision.permit) {
        out->nearest = out->decision.rule;
        return 0;
    }
    const sl_schema_t *schema = sl_schema_find (req->record_type);
    bool have_rec = req->record && schema && sl_schema_describes (schema, req->record->descriptor);
    /* nearest = fewest failed conditions among owner, consumer, records and
     * purpose (what the request is about), then among valid, where and
     * consent; a `where` that cannot be evaluated (no record) is unknown,
     * not failed, so it never makes an unrelated rule look nearer */
    unsigned best_n = ~0u;
    const unsigned identity = SL_POLICY_COND_OWNER | SL_POLICY_COND_CONSUMER
                            | SL_POLICY_COND_RECORDS | SL_POLICY_COND_PURPOSE;
    for (size_t i = 0; i < ix->set->n_rules; i++) {
        const sl_policy_rule_t *r = ix->set->rules[i];
        if (r->kind != SL_POLICY_PERMIT)
            continue;
        unsigned f = 0;
        if (strcmp (r->owner.s, req->owner) != 0)
            f |= SL_POLICY_COND_OWNER;
        if (!sl_prule_has_consumer (r, req->consumer))
            f |= SL_POLICY_COND_CONSUMER;
        bool rec_ok = false;
        for (size_t j = 0; j < r->records.n && !rec_ok; j++)
            rec_ok = sl_prule_matches_record (&r->records.v[j], req->record_type);
        if (!rec_ok)
            f |= SL_POLICY_COND_RECORDS;
        if (!sl_prule_has_purpose (r, req->purpose))
            f |= SL_POLICY_COND_PURPOSE;
        if (!s_in_window (r, req->time))
            f |= SL_POLICY_COND_VALID;
        unsigned unknown = 0;
        if (r->where) {
            if (!have_rec)
                unknown |= req->rows_checked ? 0 : SL_POLICY_COND_WHERE;
            else if (!sl_pexpr_eval (r->where, req->record))
                f |= SL_POLICY_COND_WHERE;
        }
        sl_consent_status_t cst = SL_CONSENT_VALID;
        if (r->consent) {
            if (f == 0) {
                /* the decision already asked for this exact rule */
                cst = r == out->decision.rule ? st : s_consent (req);
                if (cst != SL_CONSENT_VALID)
                    f |= SL_POLICY_COND_CONSENT;
            }
        }
        unsigned n = s_popcount (f & identity) * 8 + s_popcount (f & ~identity);
        if (n < best_n) {
            best_n = n;
            out->nearest = r;
            out->failed = f;
            out->unknown = unknown;
            out->consent = cst;
        }
    }
    return 0;
}

static const char *
s_consent_word (sl_consent_status_t st)
{
    switch (st) {
    case SL_CONSENT_VALID: return "valid";
    case SL_CONSENT_MISSING: return "missing";
    case SL_CONSENT_EXPIRED: return "expired";
    case SL_CONSENT_NOT_YET_VALID: return "not yet valid";
    default: return "withdrawn";
    }
}


int
sl_policy_explain_render (const sl_policy_explain_t *ex, char *buf, size_t cap)
{
    static const char *const subj[] = { "keep", "pseudonymize", "drop" };
    static const char *const names[] = { "owner", "consumer", "records", "purpose",
        "valid", "where", "consent" };
    size_t n = 0;
    const sl_policy_decision_t *d = &ex->decision;
    if (cap)
        buf[0] = 0;
    if (d->permit) {
        S_APPEND ("permit by %s@%u (%s:%u)\n", d->rule->qid, (unsigned) d->rule->version,
                  d->rule->file, d->rule->line);
        for (size_t i = 0; i < d->n_narrows && i < SL_POLICY_MAX_STRIPS; i++)
            S_APPEND ("  narrowed by permit %s@%u (%s:%u): most restrictive wins\n",
                      d->narrows[i]->qid, (unsigned) d->narrows[i]->version, d->narrows[i]->file,
                      d->narrows[i]->line);
        for (size_t i = 0; i < d->n_strips && i < SL_POLICY_MAX_STRIPS; i++)
            S_APPEND ("  fields removed by forbid %s@%u (%s:%u)\n", d->strips[i]->qid,
                      (unsigned) d->strips[i]->version, d->strips[i]->file, d->strips[i]->line);
        const char *f[SL_POLICY_MAX_FIELDS];
        size_t nf = sl_policy_transform_fields (&d->transform, f, SL_POLICY_MAX_FIELDS);
        S_APPEND ("  fields:");
        for (size_t i = 0; i < nf && i < SL_POLICY_MAX_FIELDS; i++)
            S_APPEND ("%s%s", i ? ", " : " ", f[i]);
        S_APPEND ("\n  subject: %s\n", subj[d->transform.subject]);
        S_APPEND ("  time: %s\n", d->transform.coarsen == SL_POLICY_COARSEN_MINUTE ? "coarsen minute"
                  : d->transform.coarsen == SL_POLICY_COARSEN_HOUR ? "coarsen hour"
                  : d->transform.coarsen == SL_POLICY_COARSEN_DAY ? "coarsen day" : "exact");
        return (int) n;
    }
    S_APPEND ("deny (%s)\n", d->reason);
    if (d->rule && d->rule->kind == SL_POLICY_FORBID)
        S_APPEND ("  forbidden by %s@%u (%s:%u)\n", d->rule->qid, (unsigned) d->rule->version,
                  d->rule->file, d->rule->line);
    if (!ex->nearest) {
        S_APPEND ("  no permit rule exists\n");
        return (int) n;
    }
    S_APPEND ("  nearest rule: %s@%u (%s:%u)\n", ex->nearest->qid,
              (unsigned) ex->nearest->version, ex->nearest->file, ex->nearest->line);
    if (ex->failed) {
        S_APPEND ("    failed:");
        bool first = true;
        for (unsigned i = 0; i < 7; i++)
            if (ex->failed & (1u << i)) {
                S_APPEND ("%s%s", first ? " " : ", ", names[i]);
                if ((1u << i) == SL_POLICY_COND_CONSENT)
                    S_APPEND (" (%s)", s_consent_word (ex->consent));
                first = false;
            }
        S_APPEND ("\n");
    } else if (!ex->unknown)
        S_APPEND ("    all of its conditions hold; a forbid decided\n");
    if (ex->unknown & SL_POLICY_COND_WHERE)
        S_APPEND ("    not evaluated: where (no record given; explain with a sample record)\n");
    return (int) n;
}

/* ------------------------------------------------------------------------ */
/*  Diff                                                                     */

typedef struct {
    const char *consumer, *purpose;
    const sl_schema_t *schema;
} s_triple_t;

struct sl_policy_diff_s {
    sl_policy_change_t *v;
    size_t n, cap;
};

static int
s_triple_cmp (const void *a, const void *b)
{
    const s_triple_t *x = a, *y = b;
    int c = strcmp (x->consumer, y->consumer);
    if (!c)
        c = strcmp (x->schema->record_type, y->schema->record_type);
    if (!c)
        c = strcmp (x->purpose, y->purpose);
    return c;
}

static int
s_collect (const sl_policy_index_t *ix, s_triple_t **v, size_t *n, size_t *cap)
{
    if (!ix)
        return 0;
    for (size_t i = 0; i < ix->set->n_rules; i++) {
        const sl_policy_rule_t *r = ix->set->rules[i];
        if (r->kind != SL_POLICY_PERMIT)
            continue;
        const sl_schema_t *types[64];
        size_t nt = sl_prule_types (r, types, 64);
        for (size_t c = 0; c < r->consumers.n; c++)
            for (size_t t = 0; t < nt; t++)
                for (size_t p = 0; p < r->purposes.n; p++) {
                    if (*n == *cap) {
                        size_t nc = *cap ? *cap * 2 : 16;
                        s_triple_t *nv = realloc (*v, nc * sizeof *nv);
                        if (!nv)
                            return SL_ENOMEM;
                        *v = nv;
                        *cap = nc;
                    }
                    (*v)[(*n)++] = (s_triple_t) { r->consumers.v[c].s, r->purposes.v[p].s, types[t] };
                }
    }
    return 0;
}

static sl_policy_access_t
s_access (const sl_policy_index_t *ix, const s_triple_t *t, int64_t at, sl_policy_decision_t *d)
{
    memset (d, 0, sizeof *d);
    if (!ix)
        return SL_POLICY_ACCESS_NONE;
    sl_policy_request_t req = { .owner = t->schema->owner, .consumer = t->consumer,
                                .record_type = t->schema->record_type, .purpose = t->purpose,
                                .time = at };
    bool cond = false;
    if (s_decide (ix, &req, S_DIFF, d, &cond, NULL) != 0 || !d->permit)
        return SL_POLICY_ACCESS_NONE;
    return cond ? SL_POLICY_ACCESS_CONDITIONAL : SL_POLICY_ACCESS_FULL;
}

sl_policy_diff_t *
sl_policy_diff_new (const sl_policy_index_t *before, const sl_policy_index_t *after, int64_t at)
{
    sl_policy_diff_t *self = calloc (1, sizeof *self);
    s_triple_t *v = NULL;
    size_t n = 0, cap = 0;
    if (!self || s_collect (before, &v, &n, &cap) != 0 || s_collect (after, &v, &n, &cap) != 0)
        goto fail;
    if (n)
        qsort (v, n, sizeof *v, s_triple_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i && s_triple_cmp (&v[i - 1], &v[i]) == 0)
            continue;
        sl_policy_decision_t db, da;
        sl_policy_change_t ch = { .consumer = v[i].consumer, .record_type = v[i].schema->record_type,
                                  .purpose = v[i].purpose };
        ch.before = s_access (before, &v[i], at, &db);
        ch.after = s_access (after, &v[i], at, &da);
        bool differs = ch.before != ch.after;
        for (size_t k = 0; k < SL_POLICY_MAX_FIELDS / 64; k++) {
            uint64_t kb = db.permit ? db.transform.keep[k] : 0;
            uint64_t ka = da.permit ? da.transform.keep[k] : 0;
            ch.fields_added[k] = ka & ~kb;
            ch.fields_removed[k] = kb & ~ka;
            differs |= (ka != kb);
        }
        ch.subject_before = db.permit ? db.transform.subject : SL_POLICY_SUBJECT_KEEP;
        ch.subject_after = da.permit ? da.transform.subject : SL_POLICY_SUBJECT_KEEP;
        ch.coarsen_before = db.permit ? db.transform.coarsen : SL_POLICY_COARSEN_NONE;
        ch.coarsen_after = da.permit ? da.transform.coarsen : SL_POLICY_COARSEN_NONE;
        if (db.permit && da.permit)
            differs |= ch.subject_before != ch.subject_after || ch.coarsen_before != ch.coarsen_after;
        if (!differs)
            continue;
        if (self->n == self->cap) {
            size_t c = self->cap ? self->cap * 2 : 8;
            sl_policy_change_t *nv = realloc (self->v, c * sizeof *nv);
            if (!nv)
                goto fail;
            self->v = nv;
            self->cap = c;
        }
        self->v[self->n++] = ch;
    }
    free (v);
    return self;
fail:
    free (v);
    sl_policy_diff_destroy (&self);
    return NULL;
}

void
sl_policy_diff_destroy (sl_policy_diff_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->v);
    free (*self_p);
    *self_p = NULL;
}

size_t
sl_policy_diff_count (const sl_policy_diff_t *self)
{
    return self->n;
}

const sl_policy_change_t *
sl_policy_diff_at (const sl_policy_diff_t *self, size_t i)
{
    return i < self->n ? &self->v[i] : NULL;
}

static void
s_mask_names (FILE *f, const sl_schema_t *s, const uint64_t *mask, char sign, bool *first)
{
    const ProtobufCMessageDescriptor *d = s->descriptor;
    for (unsigned i = 0; i < d->n_fields && i < SL_POLICY_MAX_FIELDS; i++)
        if (mask[i / 64] & (1ull << (i % 64))) {
            fprintf (f, "%s%c%s", *first ? "" : " ", sign, d->fields[i].name);
            *first = false;
        }
}

char *
sl_policy_diff_render (const sl_policy_diff_t *self)
{
    static const char *const acc[] = { "none", "conditional", "full" };
    static const char *const subj[] = { "keep", "pseudonymize", "drop" };
    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream (&out, &size);
    if (!f)
        return NULL;
    for (size_t i = 0; i < self->n; i++) {
        const sl_policy_change_t *c = &self->v[i];
        const sl_schema_t *s = sl_schema_find (c->record_type);
        char sign = c->before == SL_POLICY_ACCESS_NONE ? '+'
                  : c->after == SL_POLICY_ACCESS_NONE ? '-' : '~';
        fprintf (f, "%c %s %s %s: ", sign, c->consumer, c->record_type, c->purpose);
        if (sign == '+')
            fprintf (f, "gained (%s)", acc[c->after]);
        else if (sign == '-')
            fprintf (f, "lost (was %s)", acc[c->before]);
        else if (c->before != c->after)
            fprintf (f, "access %s -> %s", acc[c->before], acc[c->after]);
        else
            fprintf (f, "access %s", acc[c->after]);
        bool first = true;
        bool any = false;
        for (size_t k = 0; k < SL_POLICY_MAX_FIELDS / 64; k++)
            any |= c->fields_added[k] || c->fields_removed[k];
        if (any && s) {
            fprintf (f, "; fields ");
            s_mask_names (f, s, c->fields_added, '+', &first);
            s_mask_names (f, s, c->fields_removed, '-', &first);
        }
        if (sign == '~' && c->subject_before != c->subject_after)
            fprintf (f, "; subject %s -> %s", subj[c->subject_before], subj[c->subject_after]);
        if (sign == '~' && c->coarsen_before != c->coarsen_after)
            fprintf (f, "; time %d -> %d s", (int) c->coarsen_before, (int) c->coarsen_after);
        fputc ('\n', f);
    }
    if (fclose (f) != 0) {
        free (out);
        return NULL;
    }
    return out;
}

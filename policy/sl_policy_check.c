/*  sl_policy_check — sets, the checker (schema registry + catalogue), the
 *  separation-of-duties rule, summaries, and rule matching. */
#include "sl_policy_int.h"
#include "sl_error.h"
#include "sl_role.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t sl_pcatalog_members (const sl_policy_catalog_t *c, const char ***names);
size_t sl_pcatalog_purposes (const sl_policy_catalog_t *c, const char ***names);
const char *sl_pcatalog_role (const sl_policy_catalog_t *c, const char *name);

sl_policy_set_t *
sl_policy_set_new (void)
{
    return calloc (1, sizeof (sl_policy_set_t));
}

void
sl_policy_set_destroy (sl_policy_set_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_policy_set_t *self = *self_p;
    for (size_t i = 0; i < self->n_rules; i++)
        sl_prule_free (self->rules[i]);
    free (self->rules);
    for (size_t i = 0; i < self->n_purposes; i++) {
        free (self->purposes[i].name);
        free (self->purposes[i].description);
    }
    free (self->purposes);
    for (size_t i = 0; i < self->n_sources; i++) {
        free (self->sources[i].file);
        free (self->sources[i].text);
    }
    free (self->sources);
    free (self);
    *self_p = NULL;
}

size_t
sl_policy_set_rule_count (const sl_policy_set_t *self)
{
    return self->n_rules;
}

const sl_policy_rule_t *
sl_policy_set_rule_at (const sl_policy_set_t *self, size_t i)
{
    return i < self->n_rules ? self->rules[i] : NULL;
}

const char *sl_policy_rule_id (const sl_policy_rule_t *r) { return r->id; }
const char *sl_policy_rule_qid (const sl_policy_rule_t *r) { return r->qid; }
uint32_t sl_policy_rule_version (const sl_policy_rule_t *r) { return r->version; }
sl_policy_kind_t sl_policy_rule_kind (const sl_policy_rule_t *r) { return r->kind; }
const char *sl_policy_rule_owner (const sl_policy_rule_t *r) { return r->owner.s; }
const char *sl_policy_rule_file (const sl_policy_rule_t *r) { return r->file; }
unsigned sl_policy_rule_line (const sl_policy_rule_t *r) { return r->line; }

int
sl_policy_rule_ref (const sl_policy_rule_t *r, char *buf, size_t cap)
{
    /* per decision on the broker's data path: no formatting */
    char digits[10];
    size_t nd = 0, nq = strlen (r->qid);
    uint32_t v = r->version;
    do {
        digits[nd++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    size_t need = nq + 1 + nd, o = 0;
    if (cap == 0)
        return (int) need;
    for (size_t i = 0; i < nq && o + 1 < cap; i++)
        buf[o++] = r->qid[i];
    if (o + 1 < cap)
        buf[o++] = '@';
    while (nd > 0 && o + 1 < cap)
        buf[o++] = digits[--nd];
    buf[o] = 0;
    return (int) need;
}

/* ------------------------------------------------------------------------ */
/*  Matching                                                               */

bool
sl_prule_matches_record (const sl_pname_t *pattern, const char *record_type)
{
    size_t n = strlen (pattern->s);
    if (n >= 2 && pattern->s[n - 1] == '*' && pattern->s[n - 2] == '.')
        return strncmp (pattern->s, record_type, n - 1) == 0;
    return strcmp (pattern->s, record_type) == 0;
}

bool
sl_prule_has_consumer (const sl_policy_rule_t *r, const char *consumer)
{
    if (r->consumers.n == 0)
        return r->kind == SL_POLICY_FORBID;      /* forbid without consumer = '*' */
    for (size_t i = 0; i < r->consumers.n; i++)
        if (strcmp (r->consumers.v[i].s, "*") == 0 || strcmp (r->consumers.v[i].s, consumer) == 0)
            return true;
    return false;
}

bool
sl_prule_has_purpose (const sl_policy_rule_t *r, const char *purpose)
{
    if (r->purposes.n == 0)
        return r->kind == SL_POLICY_FORBID;      /* forbid without purpose: every purpose */
    for (size_t i = 0; i < r->purposes.n; i++)
        if (strcmp (r->purposes.v[i].s, purpose) == 0)
            return true;
    return false;
}

void
sl_pmask_fields (const sl_schema_t *schema, const sl_pnames_t *names, bool all,
                 uint64_t mask[SL_POLICY_MAX_FIELDS / 64])
{
    const ProtobufCMessageDescriptor *d = schema->descriptor;
    for (unsigned i = 0; i < d->n_fields && i < SL_POLICY_MAX_FIELDS; i++) {
        bool on = all;
        for (size_t j = 0; !on && j < names->n; j++)
            on = strcmp (names->v[j].s, d->fields[i].name) == 0
                 || (strncmp (names->v[j].s, SL_POLICY_CLASS_PREFIX, 6) == 0
                     && sl_schema_field_has_class (schema, d->fields[i].name,
                                                   names->v[j].s + 6));
        if (on)
            mask[i / 64] |= 1ull << (i % 64);
    }
}

static const char *const s_ops[] = { "=", "!=", "<", "<=", ">", ">=" };

static int
s_lit_render (const sl_lit_t *l, char *buf, size_t cap)
{
    if (l->kind == SL_LIT_STR)
        return snprintf (buf, cap, "\"%s\"", l->s);
    return snprintf (buf, cap, "%s", l->s);
}

int
sl_pexpr_render (const sl_expr_t *e, char *buf, size_t cap)
{
    char a[1024], b[1024];
    switch (e->kind) {
    case SL_EX_AND:
    case SL_EX_OR:
        sl_pexpr_render (e->l, a, sizeof a);
        sl_pexpr_render (e->r, b, sizeof b);
        return snprintf (buf, cap, "(%s %s %s)", a, e->kind == SL_EX_AND ? "and" : "or", b);
    case SL_EX_NOT:
        sl_pexpr_render (e->l, a, sizeof a);
        return snprintf (buf, cap, "not %s", a);
    case SL_EX_CMP:
        s_lit_render (&e->lits[0], a, sizeof a);
        return snprintf (buf, cap, "%s %s %s", e->field.s, s_ops[e->op], a);
    case SL_EX_IN: {
        size_t n = 0;
        a[0] = 0;
        for (size_t i = 0; i < e->n_lits && n < sizeof a; i++) {
            if (i)
                n += (size_t) snprintf (a + n, sizeof a - n, ", ");
            if (n < sizeof a)
                n += (size_t) s_lit_render (&e->lits[i], a + n, sizeof a - n);
        }
        return snprintf (buf, cap, "%s in (%s)", e->field.s, a);
    }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/*  Checker                                                                  */

typedef struct {
    sl_policy_diags_t *diags;
    int errors;
    int oom;
} s_ck_t;

static void
s_err (s_ck_t *ck, const char *file, unsigned line, unsigned col, const char *hint,
       const char *fmt, const char *a, const char *b, const char *c)
{
    ck->errors++;
    if (sl_pdiag_add (ck->diags, file, line, col, hint, fmt, a, b, c) != 0)
        ck->oom = 1;
}

/*  "did you mean 'x'?" into buf, or NULL. */
static const char *
s_hint (const char *name, const char *const *cands, size_t n, char *buf, size_t cap)
{
    const char *best = sl_pbest_match (name, cands, n);
    if (!best)
        return NULL;
    snprintf (buf, cap, "did you mean '%s'?", best);
    return buf;
}

static bool
s_is_numeric (ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_FLOAT: case PROTOBUF_C_TYPE_DOUBLE: case PROTOBUF_C_TYPE_ENUM:
        return true;
    default:
        return false;
    }
}

static const char *
s_type_name (ProtobufCType t)
{
    if (t == PROTOBUF_C_TYPE_STRING)
        return "string";
    if (t == PROTOBUF_C_TYPE_BOOL)
        return "bool";
    if (s_is_numeric (t))
        return "numeric";
    if (t == PROTOBUF_C_TYPE_BYTES)
        return "bytes";
    return "message";
}

/*  Field names of a record type, for hints. Returns count; *out malloc'ed. */
static size_t
s_field_names (const sl_schema_t *s, const char ***out)
{
    const ProtobufCMessageDescriptor *d = s->descriptor;
    *out = malloc ((d->n_fields + 1) * sizeof **out);
    if (!*out)
        return 0;
    for (unsigned i = 0; i < d->n_fields; i++)
        (*out)[i] = d->fields[i].name;
    return d->n_fields;
}

static void
s_check_expr (s_ck_t *ck, const sl_policy_rule_t *r, const sl_expr_t *e,
              const sl_schema_t *const *types, size_t n_types)
{
    if (e->kind == SL_EX_AND || e->kind == SL_EX_OR) {
        s_check_expr (ck, r, e->l, types, n_types);
        s_check_expr (ck, r, e->r, types, n_types);
        return;
    }
    if (e->kind == SL_EX_NOT) {
        s_check_expr (ck, r, e->l, types, n_types);
        return;
    }
    for (size_t t = 0; t < n_types; t++) {
        const ProtobufCFieldDescriptor *fd = sl_schema_field (types[t], e->field.s);
        char hb[128];
        if (!fd) {
            const char **names = NULL;
            size_t nn = s_field_names (types[t], &names);
            s_err (ck, r->file, e->field.line, e->field.col,
                   s_hint (e->field.s, names, nn, hb, sizeof hb),
                   "unknown field '%s' in %s%s", e->field.s, types[t]->record_type, "");
            free (names);
            return;
        }
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
            s_err (ck, r->file, e->field.line, e->field.col, NULL,
                   "field '%s' of %s is repeated; 'where' compares single values only%s",
                   e->field.s, types[t]->record_type, "");
            return;
        }
        bool str = fd->type == PROTOBUF_C_TYPE_STRING;
        bool num = s_is_numeric (fd->type);
        bool boo = fd->type == PROTOBUF_C_TYPE_BOOL;
        if (!str && !num && !boo) {
            s_err (ck, r->file, e->field.line, e->field.col, NULL,
                   "field '%s' of %s has type %s; 'where' compares strings, numbers and bools",
                   e->field.s, types[t]->record_type, s_type_name (fd->type));
            return;
        }
        if (e->kind == SL_EX_CMP && e->op >= SL_OP_LT && !num) {
            s_err (ck, r->file, e->line, e->col, NULL,
                   "'%s' compares numbers, but field '%s' is a %s", s_ops[e->op], e->field.s,
                   s_type_name (fd->type));
            return;
        }
        for (size_t i = 0; i < e->n_lits; i++) {
            const sl_lit_t *l = &e->lits[i];
            bool ok = (str && l->kind == SL_LIT_STR) || (num && l->kind == SL_LIT_NUM)
                   || (boo && l->kind == SL_LIT_BOOL);
            if (!ok) {
                char lb[300];
                s_lit_render (l, lb, sizeof lb);
                s_err (ck, r->file, l->line, l->col, NULL,
                       "type mismatch: field '%s' is a %s, but %s is not",
                       e->field.s, s_type_name (fd->type), lb);
                return;
            }
        }
    }
}

/*  The record types a rule's `records` clause names (wildcards expanded),
 *  or the owner's types when the clause is absent (forbid only). */
size_t
sl_prule_types (const sl_policy_rule_t *r, const sl_schema_t **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < sl_schema_count (); i++) {
        const sl_schema_t *s = sl_schema_at (i);
        bool hit = false;
        if (r->records.n == 0)
            hit = r->owner.s && strcmp (s->owner, r->owner.s) == 0;
        for (size_t j = 0; !hit && j < r->records.n; j++)
            hit = sl_prule_matches_record (&r->records.v[j], s->record_type);
        if (hit && n < cap)
            out[n++] = s;
    }
    return n;
}

static bool
s_name_in (const char *name, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (v[i], name) == 0)
            return true;
    return false;
}

static int
s_strp_cmp (const void *a, const void *b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/*  Membership in a sorted name array (the catalogue can hold thousands). */
static bool
s_name_in_sorted (const char *name, const char *const *v, size_t n)
{
    return n && bsearch (&name, v, n, sizeof *v, s_strp_cmp) != NULL;
}

static void
s_check_rule (s_ck_t *ck, const sl_policy_rule_t *r, const sl_policy_rule_t *first,
              const sl_policy_catalog_t *catalog, const char *const *members, size_t n_members,
              const char *const *purposes, size_t n_purposes)
{
    char hb[128];
    bool permit = r->kind == SL_POLICY_PERMIT;
    const char *kind = permit ? "permit" : "forbid";

    if (first) {
        char where[300];
        snprintf (where, sizeof where, "first defined at %s:%u:%u", first->file, first->line,
                  first->col);
        s_err (ck, r->file, r->id_line, r->id_col, where, "duplicate rule id \"%s\"%s%s",
               r->id, "", "");
    }

    /* an id written with a namespace must be its owner's */
    const char *slash = strchr (r->id, '/');
    if (slash && r->owner.s
        && ((size_t) (slash - r->id) != strlen (r->owner.s)
            || strncmp (r->id, r->owner.s, (size_t) (slash - r->id)) != 0)) {
        char h[300];
        snprintf (h, sizeof h, "write the id without a prefix (it is namespaced by its owner: "
                  "\"%s/%s\")", r->owner.s, slash + 1);
        s_err (ck, r->file, r->id_line, r->id_col, h,
               "rule id \"%s\" is namespaced under another owner than '%s'%s", r->id,
               r->owner.s, "");
    }

    /* owner: a bureau that owns record types */
    const char *owners[32];
    size_t n_owners = 0;
    for (size_t i = 0; i < sl_schema_count (); i++) {
        const char *o = sl_schema_at (i)->owner;
        if (!s_name_in (o, owners, n_owners) && n_owners < 32)
            owners[n_owners++] = o;
    }
    bool owner_ok = false;
    if (!r->owner.s)
        s_err (ck, r->file, r->line, r->col, "add 'owner BUREAU'", "%s \"%s\" has no owner%s",
               kind, r->id, "");
    else if (!s_name_in (r->owner.s, owners, n_owners))
        s_err (ck, r->file, r->owner.line, r->owner.col,
               s_hint (r->owner.s, owners, n_owners, hb, sizeof hb),
               "unknown owner '%s': no record type belongs to it%s%s", r->owner.s, "", "");
    else
        owner_ok = true;

    /* consumers */
    if (permit && r->consumers.n == 0)
        s_err (ck, r->file, r->line, r->col, "add 'consumer MEMBER'",
               "permit \"%s\" has no consumer%s%s", r->id, "", "");
    for (size_t i = 0; i < r->consumers.n; i++) {
        const sl_pname_t *c = &r->consumers.v[i];
        if (strcmp (c->s, "*") == 0) {
            if (permit)
                s_err (ck, r->file, c->line, c->col,
                       "name each consumer; '*' is allowed in forbid rules only",
                       "a permit cannot name every consumer ('*')%s%s%s", "", "", "");
            continue;
        }
        if (!s_name_in_sorted (c->s, members, n_members)) {
            const char *role = sl_pcatalog_role (catalog, c->s);
            if (role)
                s_err (ck, r->file, c->line, c->col, "consumers are members with role 'member'",
                       "'%s' is not a data member (role '%s')%s", c->s, role, "");
            else
                s_err (ck, r->file, c->line, c->col, s_hint (c->s, members, n_members, hb, sizeof hb),
                       "unknown member '%s'%s%s", c->s, "", "");
        }
        else if (permit && r->owner.s && strcmp (c->s, r->owner.s) == 0)
            s_err (ck, r->file, c->line, c->col, NULL,
                   "owner '%s' cannot be its own consumer%s%s", c->s, "", "");
    }

    /* record types */
    if (permit && r->records.n == 0)
        s_err (ck, r->file, r->line, r->col, "add 'records TYPE'",
               "permit \"%s\" names no record types%s%s", r->id, "", "");
    const char *all_types[64];
    size_t n_all = 0;
    for (size_t i = 0; i < sl_schema_count () && n_all < 64; i++)
        all_types[n_all++] = sl_schema_at (i)->record_type;
    for (size_t i = 0; i < r->records.n; i++) {
        const sl_pname_t *p = &r->records.v[i];
        size_t len = strlen (p->s);
        bool wild = len >= 2 && p->s[len - 1] == '*' && p->s[len - 2] == '.';
        if (!wild && strchr (p->s, '*')) {
            s_err (ck, r->file, p->line, p->col, "a wildcard is a prefix ending in '.*', e.g. water.v1.*",
                   "invalid record type pattern '%s'%s%s", p->s, "", "");
            continue;
        }
        const sl_schema_t *hit = NULL;
        for (size_t j = 0; j < sl_schema_count () && !hit; j++)
            if (sl_prule_matches_record (p, sl_schema_at (j)->record_type))
                hit = sl_schema_at (j);
        if (!hit) {
            s_err (ck, r->file, p->line, p->col, s_hint (p->s, all_types, n_all, hb, sizeof hb),
                   wild ? "record type pattern '%s' matches no known record type%s%s"
                        : "unknown record type '%s'%s%s", p->s, "", "");
            continue;
        }
        if (owner_ok)
            for (size_t j = 0; j < sl_schema_count (); j++) {
                const sl_schema_t *s = sl_schema_at (j);
                if (sl_prule_matches_record (p, s->record_type) && strcmp (s->owner, r->owner.s) != 0) {
                    char h2[128];
                    snprintf (h2, sizeof h2, "%s belongs to '%s'", s->record_type, s->owner);
                    s_err (ck, r->file, p->line, p->col, h2,
                           "owner '%s' does not own record type '%s'%s", r->owner.s,
                           s->record_type, "");
                    break;
                }
            }
    }

    /* purposes */
    if (permit && r->purposes.n == 0)
        s_err (ck, r->file, r->line, r->col, "add 'purpose NAME' (a declared purpose)",
               "permit \"%s\" has no purpose%s%s", r->id, "", "");
    for (size_t i = 0; i < r->purposes.n; i++) {
        const sl_pname_t *p = &r->purposes.v[i];
        if (!s_name_in_sorted (p->s, purposes, n_purposes)) {
            const char *h = s_hint (p->s, purposes, n_purposes, hb, sizeof hb);
            s_err (ck, r->file, p->line, p->col,
                   h ? h : "purposes are declared by admin:city in the city's policy: "
                           "purpose NAME \"description\" (sluicectl policy purposes lists them)",
                   "unknown purpose '%s'%s%s", p->s, "", "");
        }
    }

    /* fields */
    const sl_schema_t *types[64];
    size_t n_types = sl_prule_types (r, types, 64);
    if (permit && !r->has_fields)
        s_err (ck, r->file, r->line, r->col, "add 'fields NAME, ...' (or 'fields *' for all)",
               "permit \"%s\" does not say which fields it releases%s%s", r->id, "", "");
    if (!permit && r->fields_all)
        s_err (ck, r->file, r->fields_line, r->fields_col,
               "a forbid without 'fields' denies the whole record",
               "'fields *' is not allowed in a forbid%s%s%s", "", "", "");
    for (size_t i = 0; i < r->fields.n && n_types; i++) {
        const sl_pname_t *f = &r->fields.v[i];
        bool found = false;
        if (strncmp (f->s, SL_POLICY_CLASS_PREFIX, 6) == 0) {
            /* a data class (SCHEMAS.md §1): every field that carries it */
            for (size_t t = 0; t < n_types && !found; t++)
                for (unsigned k = 0; k < types[t]->descriptor->n_fields && !found; k++)
                    found = sl_schema_field_has_class (types[t], types[t]->descriptor->fields[k].name,
                                                       f->s + 6);
            if (!found)
                s_err (ck, r->file, f->line, f->col,
                       "classes are declared in the .proto with (sluice.v1.field) = { classes: ... }",
                       "no field of %s carries data class '%s'%s", types[0]->record_type,
                       f->s + 6, "");
            continue;
        }
        for (size_t t = 0; t < n_types && !found; t++)
            found = sl_schema_field (types[t], f->s) != NULL;
        if (!found) {
            const char **names = NULL;
            size_t nn = s_field_names (types[0], &names);
            char list[256] = "";
            for (size_t t = 0; t < n_types; t++) {
                size_t l = strlen (list);
                snprintf (list + l, sizeof list - l, "%s%s", t ? ", " : "", types[t]->record_type);
            }
            s_err (ck, r->file, f->line, f->col, s_hint (f->s, names, nn, hb, sizeof hb),
                   "unknown field '%s' in %s%s", f->s, list, "");
            free (names);
            continue;
        }
        if (permit)
            for (size_t t = 0; t < n_types; t++)
                if (types[t]->subject_field && strcmp (types[t]->subject_field, f->s) == 0) {
                    s_err (ck, r->file, f->line, f->col,
                           "remove it from 'fields'; use 'subject keep | pseudonymize | drop'",
                           "field '%s' is the data subject and is governed by 'subject'%s%s",
                           f->s, "", "");
                    break;
                }
    }

    /* clauses that make no sense in a forbid */
    if (!permit) {
        if (r->has_subject)
            s_err (ck, r->file, r->subject_line, r->subject_col, NULL,
                   "'subject' is allowed in permit rules only%s%s%s", "", "", "");
        if (r->has_time)
            s_err (ck, r->file, r->time_line, r->time_col, NULL,
                   "'time' is allowed in permit rules only%s%s%s", "", "", "");
        if (r->consent)
            s_err (ck, r->file, r->consent_line, r->consent_col, NULL,
                   "'consent' is allowed in permit rules only%s%s%s", "", "", "");
    }
    if (r->has_valid && r->valid_from >= r->valid_to)
        s_err (ck, r->file, r->valid_line, r->valid_col, "the end must come after the start",
               "empty validity window '%s'%s%s", r->valid_text, "", "");
    if (r->where && n_types)
        s_check_expr (ck, r, r->where, types, n_types);
}

static int
s_rule_id_cmp (const void *a, const void *b)
{
    const sl_policy_rule_t *x = *(const sl_policy_rule_t *const *) a;
    const sl_policy_rule_t *y = *(const sl_policy_rule_t *const *) b;
    int c = strcmp (x->qid, y->qid);
    return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

int
sl_policy_set_check (sl_policy_set_t *self, const sl_policy_catalog_t *catalog,
                     sl_policy_diags_t *diags)
{
    s_ck_t ck = { .diags = diags };
    const char **members = NULL, **cat_purposes = NULL;
    size_t n_members = sl_pcatalog_members (catalog, &members);
    size_t n_cat = sl_pcatalog_purposes (catalog, &cat_purposes);
    const char **purposes = malloc ((n_cat + self->n_purposes + 1) * sizeof *purposes);
    if (!purposes) {
        free (members);
        free (cat_purposes);
        return SL_ENOMEM;
    }
    size_t n_purposes = 0;
    for (size_t i = 0; i < n_cat; i++)
        purposes[n_purposes++] = cat_purposes[i];
    for (size_t i = 0; i < self->n_purposes; i++) {
        const sl_purpose_decl_t *p = &self->purposes[i];
        /* a set may re-declare a catalogue purpose (a new version of the
         * city's file), but not declare one twice itself */
        if (s_name_in (p->name, purposes + n_cat, n_purposes - n_cat)) {
            s_err (&ck, p->file, p->line, p->col, NULL, "purpose '%s' is declared twice%s%s",
                   p->name, "", "");
            continue;
        }
        purposes[n_purposes++] = p->name;
    }
    /* names looked up per rule: sorted once */
    if (n_members)
        qsort (members, n_members, sizeof *members, s_strp_cmp);
    if (n_purposes)
        qsort (purposes, n_purposes, sizeof *purposes, s_strp_cmp);
    /* duplicate ids: sort rules by (id, order); each later one points at the first */
    const sl_policy_rule_t **by_id = malloc ((self->n_rules + 1) * sizeof *by_id);
    const sl_policy_rule_t **first = calloc (self->n_rules + 1, sizeof *first);
    if (!by_id || !first) {
        free (by_id);
        free (first);
        free (members);
        free (cat_purposes);
        free (purposes);
        return SL_ENOMEM;
    }
    for (size_t i = 0; i < self->n_rules; i++)
        by_id[i] = self->rules[i];
    if (self->n_rules)
        qsort (by_id, self->n_rules, sizeof *by_id, s_rule_id_cmp);
    for (size_t i = 1; i < self->n_rules; i++)
        if (strcmp (by_id[i]->qid, by_id[i - 1]->qid) == 0)
            first[by_id[i]->order] = first[by_id[i - 1]->order] ? first[by_id[i - 1]->order] : by_id[i - 1];
    for (size_t i = 0; i < self->n_rules; i++)
        s_check_rule (&ck, self->rules[i], first[i], catalog, members, n_members, purposes, n_purposes);
    free (by_id);
    free (first);
    free (members);
    free (cat_purposes);
    free (purposes);
    if (ck.oom)
        return SL_ENOMEM;
    self->checked = ck.errors == 0 && !self->parse_failed;
    return ck.errors || self->parse_failed ? SL_EINVAL : 0;
}

int
sl_policy_set_check_role (const sl_policy_set_t *self, const char *role,
                          sl_policy_diags_t *diags)
{
    s_ck_t ck = { .diags = diags };
    bool city = sl_role_is_city_admin (role);
    const char *bureau = sl_role_bureau (role);
    for (size_t i = 0; i < self->n_rules; i++) {
        const sl_policy_rule_t *r = self->rules[i];
        const char *kind = r->kind == SL_POLICY_PERMIT ? "permit" : "forbid";
        if (city) {
            if (r->kind == SL_POLICY_PERMIT)
                s_err (&ck, r->file, r->line, r->col,
                       "only the owner's administrators (admin:<owner>) may grant access",
                       "role 'admin:city' may not apply permit \"%s\"%s%s", r->id, "", "");
        } else if (bureau) {
            if (!r->owner.s || strcmp (r->owner.s, bureau) != 0) {
                char h[160];
                snprintf (h, sizeof h, "rules for '%s' data are applied by admin:%s",
                          r->owner.s ? r->owner.s : "?", r->owner.s ? r->owner.s : "?");
                s_err (&ck, r->file, r->line, r->col, h,
                       "role '%s' may not apply %s \"%s\"", role, kind, r->id);
            }
        } else
            s_err (&ck, r->file, r->line, r->col, "policies are applied by admin:<bureau> or admin:city",
                   "role '%s' may not apply %s \"%s\"", role, kind, r->id);
    }
    for (size_t i = 0; i < self->n_purposes; i++) {
        const sl_purpose_decl_t *p = &self->purposes[i];
        if (!city)
            s_err (&ck, p->file, p->line, p->col, "purposes are declared by admin:city",
                   "role '%s' may not declare purpose '%s'%s", role, p->name, "");
    }
    if (ck.oom)
        return SL_ENOMEM;
    return ck.errors ? SL_EPERM : 0;
}

/* ------------------------------------------------------------------------ */
/*  Summary                                                                  */

static cJSON *
s_names_json (const sl_pnames_t *l)
{
    cJSON *a = cJSON_CreateArray ();
    for (size_t i = 0; a && i < l->n; i++)
        cJSON_AddItemToArray (a, cJSON_CreateString (l->v[i].s));
    return a;
}

char *
sl_policy_set_summary (const sl_policy_set_t *self)
{
    static const char *const subj[] = { "keep", "pseudonymize", "drop" };
    cJSON *root = cJSON_CreateObject ();
    cJSON *rules = cJSON_AddArrayToObject (root, "rules");
    cJSON *purposes = cJSON_AddArrayToObject (root, "purposes");
    if (!root || !rules || !purposes)
        goto oom;
    for (size_t i = 0; i < self->n_rules; i++) {
        const sl_policy_rule_t *r = self->rules[i];
        cJSON *o = cJSON_CreateObject ();
        if (!o)
            goto oom;
        cJSON_AddItemToArray (rules, o);
        cJSON_AddStringToObject (o, "id", r->id);
        cJSON_AddNumberToObject (o, "version", r->version);
        cJSON_AddStringToObject (o, "kind", r->kind == SL_POLICY_PERMIT ? "permit" : "forbid");
        cJSON_AddStringToObject (o, "owner", r->owner.s ? r->owner.s : "");
        cJSON_AddItemToObject (o, "consumers", s_names_json (&r->consumers));
        cJSON_AddItemToObject (o, "records", s_names_json (&r->records));
        cJSON_AddItemToObject (o, "purposes", s_names_json (&r->purposes));
        if (r->fields_all)
            cJSON_AddStringToObject (o, "fields", "*");
        else
            cJSON_AddItemToObject (o, "fields", s_names_json (&r->fields));
        if (r->kind == SL_POLICY_PERMIT) {
            cJSON_AddStringToObject (o, "subject", subj[r->subject]);
            cJSON_AddStringToObject (o, "time", r->coarsen == SL_POLICY_COARSEN_MINUTE ? "minute"
                                     : r->coarsen == SL_POLICY_COARSEN_HOUR ? "hour"
                                     : r->coarsen == SL_POLICY_COARSEN_DAY ? "day" : "exact");
            cJSON_AddBoolToObject (o, "consent", r->consent);
        }
        if (r->has_valid)
            cJSON_AddStringToObject (o, "valid", r->valid_text);
        if (r->where) {
            char w[2048];
            sl_pexpr_render (r->where, w, sizeof w);
            cJSON_AddStringToObject (o, "where", w);
        }
    }
    for (size_t i = 0; i < self->n_purposes; i++) {
        cJSON *o = cJSON_CreateObject ();
        if (!o)
            goto oom;
        cJSON_AddItemToArray (purposes, o);
        cJSON_AddStringToObject (o, "name", self->purposes[i].name);
        cJSON_AddStringToObject (o, "description", self->purposes[i].description);
    }
    char *out = cJSON_PrintUnformatted (root);
    cJSON_Delete (root);
    return out;
oom:
    cJSON_Delete (root);
    return NULL;
}

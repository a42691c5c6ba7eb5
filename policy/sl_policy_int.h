/*  sl_policy_int — the policy library's private structures, shared by its
 *  .c files only (parser, checker, index, transforms). Not installed, not
 *  included by other parts. */
#ifndef SL_POLICY_INT_H
#define SL_POLICY_INT_H

#include "sl_policy.h"

/*  In a `fields` list, "class:NAME" stands for every field of the record
 *  type that carries data class NAME (SCHEMAS.md §1). */
#define SL_POLICY_CLASS_PREFIX "class:"

typedef struct {
    char    *s;
    unsigned line, col;
} sl_pname_t;

typedef struct {
    sl_pname_t *v;
    size_t      n, cap;
} sl_pnames_t;

typedef enum { SL_LIT_STR, SL_LIT_NUM, SL_LIT_BOOL } sl_lit_kind_t;

typedef struct {
    sl_lit_kind_t kind;
    char    *s;          /* SL_LIT_STR; also the source text for numbers */
    double   num;        /* SL_LIT_NUM */
    bool     b;          /* SL_LIT_BOOL */
    unsigned line, col;
} sl_lit_t;

typedef enum { SL_EX_AND, SL_EX_OR, SL_EX_NOT, SL_EX_CMP, SL_EX_IN } sl_expr_kind_t;
typedef enum { SL_OP_EQ, SL_OP_NE, SL_OP_LT, SL_OP_LE, SL_OP_GT, SL_OP_GE } sl_op_t;

typedef struct sl_expr_s sl_expr_t;
struct sl_expr_s {
    sl_expr_kind_t kind;
    sl_expr_t  *l, *r;          /* AND, OR; NOT uses l */
    sl_pname_t  field;          /* CMP, IN */
    sl_op_t     op;             /* CMP */
    sl_lit_t   *lits;           /* CMP: 1, IN: n */
    size_t      n_lits;
    unsigned    line, col;
};

struct sl_policy_rule_s {
    sl_policy_kind_t kind;
    char       *id;             /* as written */
    char       *qid;            /* namespaced by owner: "water/id" (POLICY.md 3) */
    uint32_t    version;
    const char *file;           /* owned by the set's source list */
    unsigned    line, col;      /* of the keyword */
    unsigned    id_line, id_col;
    size_t      order;          /* position in the set */

    sl_pname_t  owner;          /* owner.s NULL if absent */
    sl_pnames_t consumers;      /* "*" allowed (forbid) */
    sl_pnames_t records;        /* exact or "bureau.v1.*" */
    sl_pnames_t purposes;
    sl_pnames_t fields;
    bool        fields_all;     /* fields * */
    bool        has_fields;
    unsigned    fields_line, fields_col;

    bool        has_subject;
    sl_policy_subject_t subject;
    unsigned    subject_line, subject_col;
    bool        has_time;
    sl_policy_coarsen_t coarsen;
    unsigned    time_line, time_col;
    bool        has_valid;
    int64_t     valid_from;     /* inclusive; INT64_MIN when open */
    int64_t     valid_to;       /* exclusive; INT64_MAX when open */
    char       *valid_text;     /* as written, for summaries */
    unsigned    valid_line, valid_col;
    bool        consent;
    unsigned    consent_line, consent_col;
    sl_expr_t  *where;          /* several `where` clauses are ANDed */
};

typedef struct {
    char    *name;
    char    *description;
    const char *file;
    unsigned line, col;
} sl_purpose_decl_t;

typedef struct {
    char    *file;
    char    *text;
    size_t   len;
    uint32_t version;
} sl_source_t;

struct sl_policy_set_s {
    sl_policy_rule_t  **rules;
    size_t              n_rules, cap_rules;
    sl_purpose_decl_t  *purposes;
    size_t              n_purposes, cap_purposes;
    sl_source_t        *sources;
    size_t              n_sources, cap_sources;
    bool                checked;        /* last sl_policy_set_check was clean */
    bool                parse_failed;
};

/* diagnostics */
int sl_pdiag_add (sl_policy_diags_t *d, const char *file, unsigned line, unsigned col,
                  const char *hint, const char *fmt, ...)
    __attribute__ ((format (printf, 6, 7)));

/* shared by the .c files */
void  sl_pnames_free (sl_pnames_t *l);
void  sl_pexpr_free (sl_expr_t *e);
void  sl_prule_free (sl_policy_rule_t *r);
int   sl_pexpr_render (const sl_expr_t *e, char *buf, size_t cap);
bool  sl_prule_matches_record (const sl_pname_t *pattern, const char *record_type);
bool  sl_prule_has_consumer (const sl_policy_rule_t *r, const char *consumer);
bool  sl_prule_has_purpose (const sl_policy_rule_t *r, const char *purpose);
/*  The record types a rule covers (wildcards expanded; a forbid without
 *  `records` covers all of its owner's types). Returns the count. */
size_t sl_prule_types (const sl_policy_rule_t *r, const sl_schema_t **out, size_t cap);
size_t sl_pedit_distance (const char *a, const char *b);
const char *sl_pbest_match (const char *name, const char *const *cands, size_t n);

/*  Evaluates a `where` expression on an unpacked record. Field names that
 *  the record does not have evaluate to false (the checker rejects them). */
bool  sl_pexpr_eval (const sl_expr_t *e, const ProtobufCMessage *msg);

/*  Releases field masks: sets bit i of mask for every descriptor field of
 *  `schema` named in `names` (or every field when `all`). */
void  sl_pmask_fields (const sl_schema_t *schema, const sl_pnames_t *names, bool all,
                       uint64_t mask[SL_POLICY_MAX_FIELDS / 64]);

#endif

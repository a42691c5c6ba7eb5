/*  sl_policy_parse — lexer and recursive-descent parser of the policy
 *  language (grammar: docs/POLICY.md). Newlines are not significant: every
 *  clause starts with its keyword. On a syntax error inside a rule the parser
 *  reports it, drops that rule and resumes after the rule's closing brace, so
 *  one pass reports every syntax error. */
#include "sl_policy_int.h"
#include "sl_error.h"
#include "sl_time.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    T_EOF, T_WORD, T_STRING, T_LBRACE, T_RBRACE, T_LPAREN, T_RPAREN, T_COMMA,
    T_DOTDOT, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_BAD
} s_tok_kind_t;

typedef struct {
    s_tok_kind_t kind;
    char    *text;          /* WORD, STRING (unescaped), BAD (the character) */
    unsigned line, col;
} s_tok_t;

typedef struct {
    const char *p, *end;
    unsigned line, col;
    const char *file;
    sl_policy_diags_t *diags;
    s_tok_t tok;            /* current token */
    int errors;
    int oom;
    bool lex_error;         /* current token is already reported (unterminated string) */
    unsigned depth;         /* nesting of the `where` being parsed */
    unsigned nodes;         /* nodes of the rule's `where` conditions so far */
    bool too_complex;       /* reported once per rule */
} s_parser_t;

/*  Bounds on a rule's row conditions, so that evaluating, rendering and
 *  freeing them (recursive) stays within a small stack whatever the input. */
#define S_MAX_DEPTH 32
#define S_MAX_NODES 512

static const char *
s_tok_name (s_tok_kind_t k)
{
    switch (k) {
    case T_EOF: return "end of file";
    case T_WORD: return "a name";
    case T_STRING: return "a string";
    case T_LBRACE: return "'{'";
    case T_RBRACE: return "'}'";
    case T_LPAREN: return "'('";
    case T_RPAREN: return "')'";
    case T_COMMA: return "','";
    case T_DOTDOT: return "'..'";
    case T_EQ: return "'='";
    case T_NE: return "'!='";
    case T_LT: return "'<'";
    case T_LE: return "'<='";
    case T_GT: return "'>'";
    case T_GE: return "'>='";
    default: return "an unexpected character";
    }
}

static void
s_error (s_parser_t *ps, unsigned line, unsigned col, const char *hint, const char *fmt,
         const char *a, const char *b)
{
    ps->errors++;
    if (sl_pdiag_add (ps->diags, ps->file, line, col, hint, fmt, a, b) != 0)
        ps->oom = 1;
}

/*  Describes the current token for an error message: "'word'" or "a string". */
static const char *
s_tok_desc (s_parser_t *ps, char *buf, size_t cap)
{
    if (ps->tok.kind == T_WORD)
        snprintf (buf, cap, "'%s'", ps->tok.text);
    else if (ps->tok.kind == T_STRING)
        snprintf (buf, cap, "string \"%s\"", ps->tok.text);
    else if (ps->tok.kind == T_BAD)
        snprintf (buf, cap, "character '%s'", ps->tok.text);
    else
        snprintf (buf, cap, "%s", s_tok_name (ps->tok.kind));
    return buf;
}

static void
s_adv (s_parser_t *ps, size_t n)
{
    for (size_t i = 0; i < n && ps->p < ps->end; i++) {
        if (*ps->p == '\n') {
            ps->line++;
            ps->col = 1;
        } else
            ps->col++;
        ps->p++;
    }
}

static bool
s_word_char (char c)
{
    return isalnum ((unsigned char) c) || c == '_' || c == '-' || c == '.' || c == '*'
        || c == ':' || c == '+';         /* '+' for time offsets: 2026-01-01T08:00+08:00 */
}

static void
s_next (s_parser_t *ps)
{
    free (ps->tok.text);
    ps->tok.text = NULL;
    ps->lex_error = false;
    for (;;) {
        while (ps->p < ps->end && isspace ((unsigned char) *ps->p))
            s_adv (ps, 1);
        if (ps->p < ps->end && *ps->p == '#') {
            while (ps->p < ps->end && *ps->p != '\n')
                s_adv (ps, 1);
            continue;
        }
        break;
    }
    ps->tok.line = ps->line;
    ps->tok.col = ps->col;
    if (ps->p >= ps->end) {
        ps->tok.kind = T_EOF;
        return;
    }
    char c = *ps->p;
    char c2 = ps->p + 1 < ps->end ? ps->p[1] : 0;
    switch (c) {
    case '{': ps->tok.kind = T_LBRACE; s_adv (ps, 1); return;
    case '}': ps->tok.kind = T_RBRACE; s_adv (ps, 1); return;
    case '(': ps->tok.kind = T_LPAREN; s_adv (ps, 1); return;
    case ')': ps->tok.kind = T_RPAREN; s_adv (ps, 1); return;
    case ',': ps->tok.kind = T_COMMA; s_adv (ps, 1); return;
    case '=': ps->tok.kind = T_EQ; s_adv (ps, c2 == '=' ? 2 : 1); return;
    case '<': ps->tok.kind = c2 == '=' ? T_LE : T_LT; s_adv (ps, c2 == '=' ? 2 : 1); return;
    case '>': ps->tok.kind = c2 == '=' ? T_GE : T_GT; s_adv (ps, c2 == '=' ? 2 : 1); return;
    default: break;
    }
    if (c == '!' && c2 == '=') {
        ps->tok.kind = T_NE;
        s_adv (ps, 2);
        return;
    }
    if (c == '.' && c2 == '.') {
        ps->tok.kind = T_DOTDOT;
        s_adv (ps, 2);
        return;
    }
    if (c == '"') {
        s_adv (ps, 1);
        size_t cap = 32, n = 0;
        char *s = malloc (cap);
        if (!s) {
            ps->oom = 1;
            ps->tok.kind = T_EOF;
            return;
        }
        for (;;) {
            if (ps->p >= ps->end || *ps->p == '\n') {
                free (s);
                s_error (ps, ps->tok.line, ps->tok.col, "close it with '\"' on the same line",
                         "unterminated string%s%s", "", "");
                ps->lex_error = true;
                ps->tok.kind = T_BAD;
                ps->tok.text = strdup ("\"");
                return;
            }
            char ch = *ps->p;
            if (ch == '"') {
                s_adv (ps, 1);
                break;
            }
            if (ch == '\\' && ps->p + 1 < ps->end && (ps->p[1] == '"' || ps->p[1] == '\\')) {
                s_adv (ps, 1);
                ch = *ps->p;
            }
            if (n + 2 > cap) {
                cap *= 2;
                char *ns = realloc (s, cap);
                if (!ns) {
                    free (s);
                    ps->oom = 1;
                    ps->tok.kind = T_EOF;
                    return;
                }
                s = ns;
            }
            s[n++] = ch;
            s_adv (ps, 1);
        }
        s[n] = 0;
        ps->tok.kind = T_STRING;
        ps->tok.text = s;
        return;
    }
    if (s_word_char (c)) {
        const char *start = ps->p;
        while (ps->p < ps->end && s_word_char (*ps->p)) {
            if (ps->p[0] == '.' && ps->p + 1 < ps->end && ps->p[1] == '.')
                break;      /* "2026-01-01..2027-01-01" */
            s_adv (ps, 1);
        }
        ps->tok.kind = T_WORD;
        ps->tok.text = strndup (start, (size_t) (ps->p - start));
        if (!ps->tok.text) {
            ps->oom = 1;
            ps->tok.kind = T_EOF;
        }
        return;
    }
    ps->tok.kind = T_BAD;
    char bad[2] = { c, 0 };
    ps->tok.text = strdup (bad);
    s_adv (ps, 1);
}

static bool
s_is_word (s_parser_t *ps, const char *w)
{
    return ps->tok.kind == T_WORD && strcmp (ps->tok.text, w) == 0;
}

/*  Reports "expected X, found Y" at the current token. */
static void
s_expected (s_parser_t *ps, const char *what)
{
    char buf[160];
    if (ps->lex_error)
        return;     /* the lexer said it already */
    s_error (ps, ps->tok.line, ps->tok.col, NULL, "expected %s, found %s", what,
             s_tok_desc (ps, buf, sizeof buf));
}

/* ------------------------------------------------------------------------ */
/*  Names, literals, times                                                   */

static int
s_names_push (sl_pnames_t *l, const char *s, unsigned line, unsigned col)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        sl_pname_t *v = realloc (l->v, cap * sizeof *v);
        if (!v)
            return SL_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *d = strdup (s);
    if (!d)
        return SL_ENOMEM;
    l->v[l->n].s = d;
    l->v[l->n].line = line;
    l->v[l->n].col = col;
    l->n++;
    return 0;
}

void
sl_pnames_free (sl_pnames_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free (l->v[i].s);
    free (l->v);
    memset (l, 0, sizeof *l);
}

/*  name_list = NAME { "," NAME } ; returns false on a syntax error. */
static bool
s_name_list (s_parser_t *ps, sl_pnames_t *out, const char *what)
{
    for (;;) {
        if (ps->tok.kind != T_WORD || s_is_word (ps, "permit") || s_is_word (ps, "forbid")) {
            s_expected (ps, what);
            return false;
        }
        if (s_names_push (out, ps->tok.text, ps->tok.line, ps->tok.col) != 0) {
            ps->oom = 1;
            return false;
        }
        s_next (ps);
        if (ps->tok.kind != T_COMMA)
            return true;
        s_next (ps);
    }
}


/*  Parses a `valid` bound (sl_time.h): YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS],
 *  with 'Z' or an offset (+08:00) for an explicit instant; without one the
 *  time is the city's wall clock (sl_time_city_zone; UTC when none is set).
 *  Strict calendar. Sets *t (Unix seconds) and *date_only. Relative times
 *  and Unix seconds are not policy text. */
static bool
s_parse_time (const char *s, int64_t *t, bool *date_only)
{
    int64_t us;
    int flags = 0;
    if (strlen (s) < 10 || !isdigit ((unsigned char) s[0]) || s[4] != '-'
        || sl_time_parse (s, sl_time_city_zone (), 0, &us, &flags, NULL, 0) != 0
        || (flags & SL_TIME_RELATIVE) || us % 1000000 != 0)
        return false;
    *date_only = (flags & SL_TIME_DATE_ONLY) != 0;
    *t = us / 1000000;
    return true;
}

static bool
s_literal (s_parser_t *ps, sl_lit_t *lit)
{
    memset (lit, 0, sizeof *lit);
    lit->line = ps->tok.line;
    lit->col = ps->tok.col;
    if (ps->tok.kind == T_STRING) {
        lit->kind = SL_LIT_STR;
        lit->s = ps->tok.text;
        ps->tok.text = NULL;
        s_next (ps);
        return true;
    }
    if (ps->tok.kind == T_WORD) {
        if (strcmp (ps->tok.text, "true") == 0 || strcmp (ps->tok.text, "false") == 0) {
            lit->kind = SL_LIT_BOOL;
            lit->b = ps->tok.text[0] == 't';
            lit->s = ps->tok.text;
            ps->tok.text = NULL;
            s_next (ps);
            return true;
        }
        char *end = NULL;
        double v = strtod (ps->tok.text, &end);
        /* decimal only: strtod alone would also take "-inf", "nan" and hex */
        bool decimal = strspn (ps->tok.text, "0123456789.eE-+") == strlen (ps->tok.text);
        if (end != ps->tok.text && *end == 0 && decimal
            && (isdigit ((unsigned char) ps->tok.text[0]) || ps->tok.text[0] == '-')) {
            lit->kind = SL_LIT_NUM;
            lit->num = v;
            lit->s = ps->tok.text;
            ps->tok.text = NULL;
            s_next (ps);
            return true;
        }
    }
    s_expected (ps, "a value (a \"string\", a number, true or false)");
    return false;
}

/* ------------------------------------------------------------------------ */
/*  Row conditions                                                           */

void
sl_pexpr_free (sl_expr_t *e)
{
    if (!e)
        return;
    sl_pexpr_free (e->l);
    sl_pexpr_free (e->r);
    free (e->field.s);
    for (size_t i = 0; i < e->n_lits; i++)
        free (e->lits[i].s);
    free (e->lits);
    free (e);
}

static sl_expr_t *s_or (s_parser_t *ps);

static sl_expr_t *
s_node (s_parser_t *ps, sl_expr_kind_t kind, unsigned line, unsigned col)
{
    if (++ps->nodes > S_MAX_NODES) {
        if (!ps->too_complex)
            s_error (ps, line, col, "split the rule, or use 'in (...)' for lists of values",
                     "row condition too large (more than %s terms)%s", "512", "");
        ps->too_complex = true;
        return NULL;
    }
    sl_expr_t *e = calloc (1, sizeof *e);
    if (!e)
        ps->oom = 1;
    else {
        e->kind = kind;
        e->line = line;
        e->col = col;
    }
    return e;
}

static sl_expr_t *
s_primary (s_parser_t *ps)
{
    unsigned line = ps->tok.line, col = ps->tok.col;
    if (ps->tok.kind == T_LPAREN || s_is_word (ps, "not")) {
        if (ps->depth >= S_MAX_DEPTH) {
            if (!ps->too_complex)
                s_error (ps, line, col, NULL, "row condition nested too deeply (more than %s levels)%s",
                         "32", "");
            ps->too_complex = true;
            return NULL;
        }
    }
    if (ps->tok.kind == T_LPAREN) {
        s_next (ps);
        ps->depth++;
        sl_expr_t *e = s_or (ps);
        ps->depth--;
        if (!e)
            return NULL;
        if (ps->tok.kind != T_RPAREN) {
            s_expected (ps, "')'");
            sl_pexpr_free (e);
            return NULL;
        }
        s_next (ps);
        return e;
    }
    if (s_is_word (ps, "not")) {
        s_next (ps);
        ps->depth++;
        sl_expr_t *inner = s_primary (ps);
        ps->depth--;
        if (!inner)
            return NULL;
        sl_expr_t *e = s_node (ps, SL_EX_NOT, line, col);
        if (!e) {
            sl_pexpr_free (inner);
            return NULL;
        }
        e->l = inner;
        return e;
    }
    if (ps->tok.kind != T_WORD) {
        s_expected (ps, "a field name");
        return NULL;
    }
    sl_expr_t *e = s_node (ps, SL_EX_CMP, line, col);
    if (!e)
        return NULL;
    e->field.s = ps->tok.text;
    e->field.line = line;
    e->field.col = col;
    ps->tok.text = NULL;
    s_next (ps);
    if (s_is_word (ps, "in")) {
        e->kind = SL_EX_IN;
        s_next (ps);
        if (ps->tok.kind != T_LPAREN) {
            s_expected (ps, "'(' after 'in'");
            goto fail;
        }
        s_next (ps);
        for (;;) {
            sl_lit_t lit;
            if (!s_literal (ps, &lit))
                goto fail;
            sl_lit_t *v = realloc (e->lits, (e->n_lits + 1) * sizeof *v);
            if (!v) {
                free (lit.s);
                ps->oom = 1;
                goto fail;
            }
            e->lits = v;
            e->lits[e->n_lits++] = lit;
            if (ps->tok.kind == T_COMMA) {
                s_next (ps);
                continue;
            }
            if (ps->tok.kind == T_RPAREN) {
                s_next (ps);
                return e;
            }
            s_expected (ps, "',' or ')'");
            goto fail;
        }
    }
    switch (ps->tok.kind) {
    case T_EQ: e->op = SL_OP_EQ; break;
    case T_NE: e->op = SL_OP_NE; break;
    case T_LT: e->op = SL_OP_LT; break;
    case T_LE: e->op = SL_OP_LE; break;
    case T_GT: e->op = SL_OP_GT; break;
    case T_GE: e->op = SL_OP_GE; break;
    default:
        s_expected (ps, "a comparison (=, !=, <, <=, >, >=) or 'in'");
        goto fail;
    }
    s_next (ps);
    e->lits = calloc (1, sizeof *e->lits);
    if (!e->lits) {
        ps->oom = 1;
        goto fail;
    }
    e->n_lits = 1;
    if (!s_literal (ps, &e->lits[0]))
        goto fail;
    return e;
fail:
    sl_pexpr_free (e);
    return NULL;
}

/*  One level of a left-associative binary operator: OPERAND (WORD OPERAND)*,
    e.g. `a and b and c` as ((a and b) and c). */
static sl_expr_t *
s_binary (s_parser_t *ps, const char *word, sl_expr_kind_t kind,
          sl_expr_t *(*operand) (s_parser_t *ps))
{
    sl_expr_t *l = operand (ps);
    while (l && s_is_word (ps, word)) {
        unsigned line = ps->tok.line, col = ps->tok.col;
        s_next (ps);
        sl_expr_t *r = operand (ps);
        sl_expr_t *e = r ? s_node (ps, kind, line, col) : NULL;
        if (!e) {
            sl_pexpr_free (l);
            sl_pexpr_free (r);
            return NULL;
        }
        e->l = l;
        e->r = r;
        l = e;
    }
    return l;
}

static sl_expr_t *
s_and (s_parser_t *ps)
{
    return s_binary (ps, "and", SL_EX_AND, s_primary);
}

static sl_expr_t *
s_or (s_parser_t *ps)
{
    return s_binary (ps, "or", SL_EX_OR, s_and);
}

/* ------------------------------------------------------------------------ */
/*  Rules                                                                    */

void
sl_prule_free (sl_policy_rule_t *r)
{
    if (!r)
        return;
    free (r->id);
    free (r->qid);
    free (r->owner.s);
    sl_pnames_free (&r->consumers);
    sl_pnames_free (&r->records);
    sl_pnames_free (&r->purposes);
    sl_pnames_free (&r->fields);
    free (r->valid_text);
    sl_pexpr_free (r->where);
    free (r);
}

/*  Reports a clause given twice; returns false. */
static bool
s_dup (s_parser_t *ps, const char *clause, unsigned line, unsigned col)
{
    s_error (ps, line, col, "give each clause once per rule (only 'where' may repeat)",
             "duplicate '%s' clause%s", clause, "");
    return false;
}

/*  One bound of `valid FROM .. TO`: the current word as a UTC time into *t
    (*date_only when it names a day), its text kept in `text` for the
    rule's summary. Reports a bad time and returns false. */
static bool
s_valid_bound (s_parser_t *ps, int64_t *t, bool *date_only, char text[40])
{
    if (!s_parse_time (ps->tok.text, t, date_only)) {
        s_error (ps, ps->tok.line, ps->tok.col,
                 "write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], in the city's time zone, or with Z "
                 "or an offset (+08:00)",
                 "invalid date or time '%s'%s", ps->tok.text, "");
        return false;
    }
    snprintf (text, 40, "%s", ps->tok.text);
    s_next (ps);
    return true;
}

static bool
s_clause (s_parser_t *ps, sl_policy_rule_t *r)
{
    char buf[160];
    unsigned line = ps->tok.line, col = ps->tok.col;
    if (ps->tok.kind != T_WORD) {
        s_expected (ps, "a clause (owner, consumer, records, purpose, fields, subject, "
                        "time, valid, consent, where) or '}'");
        return false;
    }
    const char *kw = ps->tok.text;
    if (strcmp (kw, "owner") == 0) {
        if (r->owner.s)
            return s_dup (ps, "owner", line, col);
        s_next (ps);
        if (ps->tok.kind != T_WORD) {
            s_expected (ps, "an owner (a bureau name)");
            return false;
        }
        r->owner.s = ps->tok.text;
        r->owner.line = ps->tok.line;
        r->owner.col = ps->tok.col;
        ps->tok.text = NULL;
        s_next (ps);
        return true;
    }
    if (strcmp (kw, "consumer") == 0) {
        if (r->consumers.n)
            return s_dup (ps, "consumer", line, col);
        s_next (ps);
        return s_name_list (ps, &r->consumers, "a consumer (a member name or '*')");
    }
    if (strcmp (kw, "records") == 0) {
        if (r->records.n)
            return s_dup (ps, "records", line, col);
        s_next (ps);
        return s_name_list (ps, &r->records, "a record type");
    }
    if (strcmp (kw, "purpose") == 0) {
        if (r->purposes.n)
            return s_dup (ps, "purpose", line, col);
        s_next (ps);
        return s_name_list (ps, &r->purposes, "a purpose");
    }
    if (strcmp (kw, "fields") == 0) {
        if (r->has_fields)
            return s_dup (ps, "fields", line, col);
        r->has_fields = true;
        r->fields_line = line;
        r->fields_col = col;
        s_next (ps);
        if (s_is_word (ps, "*")) {
            r->fields_all = true;
            s_next (ps);
            return true;
        }
        return s_name_list (ps, &r->fields, "a field name or '*'");
    }
    if (strcmp (kw, "subject") == 0) {
        if (r->has_subject)
            return s_dup (ps, "subject", line, col);
        r->has_subject = true;
        r->subject_line = line;
        r->subject_col = col;
        s_next (ps);
        if (s_is_word (ps, "keep"))
            r->subject = SL_POLICY_SUBJECT_KEEP;
        else if (s_is_word (ps, "pseudonymize"))
            r->subject = SL_POLICY_SUBJECT_PSEUDONYMIZE;
        else if (s_is_word (ps, "drop"))
            r->subject = SL_POLICY_SUBJECT_DROP;
        else {
            s_expected (ps, "keep, pseudonymize or drop");
            return false;
        }
        s_next (ps);
        return true;
    }
    if (strcmp (kw, "time") == 0) {
        if (r->has_time)
            return s_dup (ps, "time", line, col);
        r->has_time = true;
        r->time_line = line;
        r->time_col = col;
        s_next (ps);
        if (!s_is_word (ps, "coarsen")) {
            s_expected (ps, "'coarsen'");
            return false;
        }
        s_next (ps);
        if (s_is_word (ps, "minute"))
            r->coarsen = SL_POLICY_COARSEN_MINUTE;
        else if (s_is_word (ps, "hour"))
            r->coarsen = SL_POLICY_COARSEN_HOUR;
        else if (s_is_word (ps, "day"))
            r->coarsen = SL_POLICY_COARSEN_DAY;
        else {
            s_expected (ps, "minute, hour or day");
            return false;
        }
        s_next (ps);
        return true;
    }
    if (strcmp (kw, "valid") == 0) {
        if (r->has_valid)
            return s_dup (ps, "valid", line, col);
        r->has_valid = true;
        r->valid_line = line;
        r->valid_col = col;
        r->valid_from = INT64_MIN;
        r->valid_to = INT64_MAX;
        s_next (ps);
        char from[40] = "", to[40] = "";
        bool date_only;
        if (ps->tok.kind == T_WORD && !s_valid_bound (ps, &r->valid_from, &date_only, from))
            return false;
        if (ps->tok.kind != T_DOTDOT) {
            s_expected (ps, "'..' (valid FROM .. TO)");
            return false;
        }
        s_next (ps);
        if (ps->tok.kind == T_WORD && isdigit ((unsigned char) ps->tok.text[0])) {
            if (!s_valid_bound (ps, &r->valid_to, &date_only, to))
                return false;
            if (date_only)                 /* a date as TO includes that whole (local) day */
                r->valid_to = sl_tz_from_local (sl_time_city_zone (),
                                                r->valid_to + sl_tz_offset (sl_time_city_zone (),
                                                                            r->valid_to) + 86400);
        }
        if (asprintf (&r->valid_text, "%s .. %s", from, to) < 0) {
            r->valid_text = NULL;
            ps->oom = 1;
            return false;
        }
        return true;
    }
    if (strcmp (kw, "consent") == 0) {
        if (r->consent)
            return s_dup (ps, "consent", line, col);
        r->consent_line = line;
        r->consent_col = col;
        s_next (ps);
        if (!s_is_word (ps, "required")) {
            s_expected (ps, "'required'");
            return false;
        }
        r->consent = true;
        s_next (ps);
        return true;
    }
    if (strcmp (kw, "where") == 0) {
        s_next (ps);
        sl_expr_t *e = s_or (ps);
        if (!e)
            return false;
        if (r->where) {
            sl_expr_t *a = s_node (ps, SL_EX_AND, line, col);
            if (!a) {
                sl_pexpr_free (e);
                return false;
            }
            a->l = r->where;
            a->r = e;
            r->where = a;
        } else
            r->where = e;
        return true;
    }
    static const char *const clauses[] = { "owner", "consumer", "records", "purpose",
        "fields", "subject", "time", "valid", "consent", "where" };
    const char *best = sl_pbest_match (kw, clauses, sizeof clauses / sizeof clauses[0]);
    char hint[96];
    if (best)
        snprintf (hint, sizeof hint, "did you mean '%s'?", best);
    s_error (ps, line, col, best ? hint : NULL, "unknown clause %s%s",
             s_tok_desc (ps, buf, sizeof buf), "");
    return false;
}

/*  Skips to just after the '}' that closes the current rule (depth 1). */
static void
s_skip_rule (s_parser_t *ps)
{
    int depth = 1;
    while (ps->tok.kind != T_EOF) {
        if (ps->tok.kind == T_LBRACE)
            depth++;
        else if (ps->tok.kind == T_RBRACE && --depth == 0) {
            s_next (ps);
            return;
        }
        else if (depth == 1 && ps->tok.kind == T_WORD
                 && (strcmp (ps->tok.text, "permit") == 0 || strcmp (ps->tok.text, "forbid") == 0))
            return;     /* a rule that lost its '}': resume at the next rule */
        s_next (ps);
    }
}

static int
s_push_rule (sl_policy_set_t *set, sl_policy_rule_t *r)
{
    if (set->n_rules == set->cap_rules) {
        size_t cap = set->cap_rules ? set->cap_rules * 2 : 16;
        sl_policy_rule_t **v = realloc (set->rules, cap * sizeof *v);
        if (!v)
            return SL_ENOMEM;
        set->rules = v;
        set->cap_rules = cap;
    }
    r->order = set->n_rules;
    set->rules[set->n_rules++] = r;
    return 0;
}

static void
s_rule (s_parser_t *ps, sl_policy_set_t *set, const char *file, uint32_t version)
{
    sl_policy_rule_t *r = calloc (1, sizeof *r);
    if (!r) {
        ps->oom = 1;
        return;
    }
    r->kind = s_is_word (ps, "permit") ? SL_POLICY_PERMIT : SL_POLICY_FORBID;
    r->line = ps->tok.line;
    r->col = ps->tok.col;
    r->file = file;
    r->version = version;
    r->subject = SL_POLICY_SUBJECT_PSEUDONYMIZE;
    ps->depth = 0;
    ps->nodes = 0;
    ps->too_complex = false;
    s_next (ps);
    if (ps->tok.kind != T_STRING) {
        s_expected (ps, "a rule id in double quotes");
        goto skip;
    }
    r->id = ps->tok.text;
    r->id_line = ps->tok.line;
    r->id_col = ps->tok.col;
    ps->tok.text = NULL;
    if (!*r->id) {
        s_error (ps, r->id_line, r->id_col, NULL, "empty rule id%s%s", "", "");
        goto skip_after_id;
    }
    s_next (ps);
    if (ps->tok.kind != T_LBRACE) {
        s_expected (ps, "'{'");
        goto skip;
    }
    s_next (ps);
    while (ps->tok.kind != T_RBRACE) {
        if (ps->tok.kind == T_EOF) {
            s_error (ps, r->line, r->col, "close the rule with '}'",
                     "rule \"%s\" is not closed before end of file%s", r->id, "");
            sl_prule_free (r);
            return;
        }
        if (!s_clause (ps, r) || ps->oom)
            goto skip;
    }
    s_next (ps);
    /* the id in the owner's namespace: "water/x" (written either way) */
    if (strchr (r->id, '/') || !r->owner.s)
        r->qid = strdup (r->id);
    else if (asprintf (&r->qid, "%s/%s", r->owner.s, r->id) < 0)
        r->qid = NULL;
    if (!r->qid || s_push_rule (set, r) != 0) {
        ps->oom = 1;
        sl_prule_free (r);
    }
    return;
skip_after_id:
    s_next (ps);
skip:
    sl_prule_free (r);
    if (ps->tok.kind == T_WORD && (s_is_word (ps, "permit") || s_is_word (ps, "forbid")))
        return;
    s_skip_rule (ps);
}

static void
s_purpose_decl (s_parser_t *ps, sl_policy_set_t *set, const char *file)
{
    unsigned line = ps->tok.line, col = ps->tok.col;
    s_next (ps);
    if (ps->tok.kind != T_WORD) {
        s_expected (ps, "a purpose name");
        if (ps->tok.kind != T_EOF)
            s_next (ps);    /* do not report the same token again at top level */
        return;
    }
    char *name = ps->tok.text;
    ps->tok.text = NULL;
    unsigned nline = ps->tok.line, ncol = ps->tok.col;
    (void) line;
    (void) col;
    s_next (ps);
    if (ps->tok.kind != T_STRING) {
        s_expected (ps, "a description in double quotes");
        free (name);
        return;
    }
    char *desc = ps->tok.text;
    ps->tok.text = NULL;
    s_next (ps);
    if (set->n_purposes == set->cap_purposes) {
        size_t cap = set->cap_purposes ? set->cap_purposes * 2 : 8;
        sl_purpose_decl_t *v = realloc (set->purposes, cap * sizeof *v);
        if (!v) {
            free (name);
            free (desc);
            ps->oom = 1;
            return;
        }
        set->purposes = v;
        set->cap_purposes = cap;
    }
    sl_purpose_decl_t *p = &set->purposes[set->n_purposes++];
    p->name = name;
    p->description = desc;
    p->file = file;
    p->line = nline;
    p->col = ncol;
}

int
sl_policy_set_parse (sl_policy_set_t *self, const char *file, const char *text,
                     size_t len, uint32_t version, sl_policy_diags_t *diags)
{
    if (!file)
        file = "<input>";
    if (self->n_sources == self->cap_sources) {
        size_t cap = self->cap_sources ? self->cap_sources * 2 : 4;
        sl_source_t *v = realloc (self->sources, cap * sizeof *v);
        if (!v)
            return SL_ENOMEM;
        self->sources = v;
        self->cap_sources = cap;
    }
    sl_source_t *src = &self->sources[self->n_sources];
    src->file = strdup (file);
    src->text = malloc (len + 1);
    if (!src->file || !src->text) {
        free (src->file);
        free (src->text);
        return SL_ENOMEM;
    }
    memcpy (src->text, text, len);
    src->text[len] = 0;
    src->len = len;
    src->version = version;
    self->n_sources++;
    self->checked = false;

    s_parser_t ps = { .p = src->text, .end = src->text + len, .line = 1, .col = 1,
                      .file = src->file, .diags = diags };
    s_next (&ps);
    while (ps.tok.kind != T_EOF && !ps.oom) {
        if (s_is_word (&ps, "permit") || s_is_word (&ps, "forbid"))
            s_rule (&ps, self, src->file, version);
        else if (s_is_word (&ps, "purpose"))
            s_purpose_decl (&ps, self, src->file);
        else {
            char buf[160];
            static const char *const tops[] = { "permit", "forbid", "purpose" };
            const char *best = ps.tok.kind == T_WORD
                ? sl_pbest_match (ps.tok.text, tops, 3) : NULL;
            char hint[64];
            if (best)
                snprintf (hint, sizeof hint, "did you mean '%s'?", best);
            s_error (&ps, ps.tok.line, ps.tok.col, best ? hint : NULL,
                     "expected 'permit', 'forbid' or 'purpose', found %s%s",
                     s_tok_desc (&ps, buf, sizeof buf), "");
            /* resynchronise at the next top-level keyword */
            int depth = 0;
            do {
                if (ps.tok.kind == T_LBRACE)
                    depth++;
                else if (ps.tok.kind == T_RBRACE && depth > 0)
                    depth--;
                s_next (&ps);
            } while (ps.tok.kind != T_EOF
                     && !(depth == 0 && (s_is_word (&ps, "permit") || s_is_word (&ps, "forbid")
                                         || s_is_word (&ps, "purpose"))));
        }
    }
    free (ps.tok.text);
    if (ps.oom)
        return SL_ENOMEM;
    if (ps.errors) {
        self->parse_failed = true;
        return SL_EPARSE;
    }
    return 0;
}

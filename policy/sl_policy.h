/*  sl_policy — the sharing policy engine: language, checker, compiled index,
 *  decisions, field transforms, explain and diff.
 *
 *  docs/POLICY.md is the contract for the language and the semantics; this
 *  header is the contract for the C API. The library does no I/O: it reads
 *  text it is given, calls back for consent, and writes into caller buffers.
 *
 *  Life cycle, as the broker uses it:
 *
 *    apply (admin plane, and at start-up from stored versions):
 *      set = sl_policy_set_new ();
 *      for each stored source (one per owner, plus the city's):
 *          sl_policy_set_parse (set, name, text, len, version, diags);
 *      sl_policy_set_check (set, catalog, diags);          schema + registry
 *      sl_policy_set_check_role (set, role, diags);        only for the new text
 *      index = sl_policy_index_new (set, diags);           compile
 *      (swap the index in; destroy the old one when no decision uses it)
 *
 *    publish / delivery / query (hot path, any number of threads):
 *      sl_policy_decide (index, &request, &decision);
 *      if (decision.permit && !sl_policy_transform_is_identity (&decision.transform))
 *          sl_policy_transform_pack (&decision.transform, record, key, buf, cap, &len);
 *
 *    explain, dry run, diff: sl_policy_explain, sl_policy_diff.
 *
 *  Thread safety: a set is not thread-safe while it is parsed or checked. A
 *  compiled index is immutable: sl_policy_decide and sl_policy_explain may run
 *  concurrently on one index from any number of threads.
 */
#ifndef SL_POLICY_H
#define SL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "sl_schema.h"

typedef struct sl_policy_set_s     sl_policy_set_t;      /* parsed rules (+ purpose declarations) */
typedef struct sl_policy_index_s   sl_policy_index_t;    /* compiled, immutable */
typedef struct sl_policy_catalog_s sl_policy_catalog_t;  /* members and purposes known to the broker */
typedef struct sl_policy_diags_s   sl_policy_diags_t;    /* error list, FILE:LINE:COL */
typedef struct sl_policy_rule_s    sl_policy_rule_t;     /* one rule, owned by a set or index */

/* ------------------------------------------------------------------------ */
/*  Diagnostics                                                              */

typedef struct {
    const char *file;       /* the name given to sl_policy_set_parse */
    unsigned    line;       /* 1-based */
    unsigned    col;        /* 1-based, in bytes */
    const char *message;    /* "unknown field 'distrct' in water.v1.MeterReading" */
    const char *hint;       /* "did you mean 'district'?" or NULL */
} sl_policy_diag_t;

/*  A new, empty error list, or NULL if out of memory. */
sl_policy_diags_t *sl_policy_diags_new (void);

/*  Frees the list and every string in it; sets *self_p to NULL. Safe on NULL. */
void sl_policy_diags_destroy (sl_policy_diags_t **self_p);

/*  Number of errors. Cannot fail. */
size_t sl_policy_diags_count (const sl_policy_diags_t *self);

/*  The i-th error (0 <= i < count), in the order they were found (by file,
 *  then by position within each pass). Borrowed: valid until the list is
 *  destroyed. NULL if i is out of range. */
const sl_policy_diag_t *sl_policy_diags_at (const sl_policy_diags_t *self, size_t i);

/*  All errors as text, one per line:
 *      FILE:LINE:COL: error: MESSAGE
 *  and, when there is a hint, a second line
 *      FILE:LINE:COL: note: HINT
 *  Returns a malloc'ed NUL-terminated string the caller frees ("" when there
 *  are no errors), or NULL if out of memory. */
char *sl_policy_diags_render (const sl_policy_diags_t *self);

/*  As sl_policy_diags_render, with `severity` ("warning", "error") in place
 *  of "error" (lint warnings). Returns a malloc'ed string ("" when empty) or
 *  NULL. */
char *sl_policy_diags_render_as (const sl_policy_diags_t *self, const char *severity);

/* ------------------------------------------------------------------------ */
/*  Catalogue: what the broker's registry knows                              */

/*  A new, empty catalogue, or NULL if out of memory. */
sl_policy_catalog_t *sl_policy_catalog_new (void);

/*  Frees it; sets *self_p to NULL. Safe on NULL. */
void sl_policy_catalog_destroy (sl_policy_catalog_t **self_p);

/*  Adds member `name` with role `role` ("member", "admin:water", ...).
 *  Strings are copied. Returns 0, SL_EEXIST if the name is already there,
 *  SL_EINVAL for an empty name, SL_ENOMEM. */
int sl_policy_catalog_add_member (sl_policy_catalog_t *self, const char *name,
                                  const char *role);

/*  Adds purpose `name` with a description (may be NULL). These are purposes
 *  declared by policy sources that are already applied and are not part of
 *  the set being checked (see POLICY.md "Purposes"). Returns 0, SL_EEXIST,
 *  SL_EINVAL, SL_ENOMEM. */
int sl_policy_catalog_add_purpose (sl_policy_catalog_t *self, const char *name,
                                   const char *description);

/* ------------------------------------------------------------------------ */
/*  Sets: parse and check                                                    */

/*  A new, empty set, or NULL if out of memory. */
sl_policy_set_t *sl_policy_set_new (void);

/*  Frees the set and its rules; sets *self_p to NULL. Safe on NULL. */
void sl_policy_set_destroy (sl_policy_set_t **self_p);

/*  Parses policy text `text` (`len` bytes, need not be NUL-terminated) named
 *  `file` (used in errors only) and appends its rules and purpose
 *  declarations to the set. Every rule parsed from this text carries
 *  `version` (the stored version number of the source; 0 for unversioned
 *  offline checks). Syntax errors are appended to `diags` (which may be NULL
 *  to discard them); the parser recovers at the next rule and reports every
 *  syntax error in one pass. Rules with syntax errors are not added.
 *  Returns 0, SL_EPARSE if at least one syntax error was found, SL_ENOMEM. */
int sl_policy_set_parse (sl_policy_set_t *self, const char *file,
                         const char *text, size_t len, uint32_t version,
                         sl_policy_diags_t *diags);

/*  Checks every rule of the set against the schema registry (sl_schema.h)
 *  and the catalogue (members and purposes): unknown owners, record types,
 *  fields, members, purposes; permits without a purpose; records the owner
 *  does not own; type mismatches in `where`; duplicate rule ids; empty
 *  validity windows. Every error is appended to `diags`, with a "did you
 *  mean" hint where a known name is close. `catalog` may be NULL (no members
 *  or outside purposes known: every consumer is then an error).
 *  Returns 0 if the set is clean, SL_EINVAL if at least one error was found,
 *  SL_ENOMEM. Must be called (and return 0) before sl_policy_index_new. */
int sl_policy_set_check (sl_policy_set_t *self, const sl_policy_catalog_t *catalog,
                         sl_policy_diags_t *diags);

/*  Separation of duties: may an administrator with role `role` apply this
 *  set? `admin:<bureau>` may apply permit and forbid rules whose owner is
 *  <bureau>; `admin:city` may apply forbid rules (any owner) and purpose
 *  declarations, and no permit. Any other role may apply nothing. One error
 *  per offending rule or declaration is appended to `diags`.
 *  Returns 0 if allowed, SL_EPERM if not, SL_ENOMEM. */
int sl_policy_set_check_role (const sl_policy_set_t *self, const char *role,
                              sl_policy_diags_t *diags);

/*  Number of rules in the set, and the i-th in source order. Borrowed for the
 *  life of the set. */
size_t sl_policy_set_rule_count (const sl_policy_set_t *self);
const sl_policy_rule_t *sl_policy_set_rule_at (const sl_policy_set_t *self, size_t i);

/*  A canonical JSON summary of the set: every rule (id, version, kind,
 *  owner, consumers, records, purposes, fields, subject, time, valid,
 *  consent, where as text) and every purpose declaration, in source order.
 *  Texts that differ only in layout, comments and parentheses give the
 *  same summary, so the broker can
 *  store it with each version and show it in `policy history`. Returns a
 *  malloc'ed string the caller frees, or NULL if out of memory. */
char *sl_policy_set_summary (const sl_policy_set_t *self);

/* ------------------------------------------------------------------------ */
/*  Rules                                                                    */

typedef enum { SL_POLICY_PERMIT = 1, SL_POLICY_FORBID = 2 } sl_policy_kind_t;

/*  Accessors. Strings are borrowed for the life of the set or index that
 *  holds the rule. Cannot fail. */
const char      *sl_policy_rule_id (const sl_policy_rule_t *rule);   /* as written */
/*  The id in its owner's namespace, "water/water-to-power" (an id written
 *  as "water/x" stays as it is): unique in a checked set, and what every
 *  reference to the rule (id@version, decisions, audit entries) uses. */
const char      *sl_policy_rule_qid (const sl_policy_rule_t *rule);
uint32_t         sl_policy_rule_version (const sl_policy_rule_t *rule);
sl_policy_kind_t sl_policy_rule_kind (const sl_policy_rule_t *rule);
const char      *sl_policy_rule_owner (const sl_policy_rule_t *rule);
const char      *sl_policy_rule_file (const sl_policy_rule_t *rule);
unsigned         sl_policy_rule_line (const sl_policy_rule_t *rule);

/*  Writes "owner/id@version" (the qid) into buf (size cap, NUL-terminated, truncated to fit).
 *  Returns the length it needed, as snprintf does. Cannot fail. */
int sl_policy_rule_ref (const sl_policy_rule_t *rule, char *buf, size_t cap);

/* ------------------------------------------------------------------------ */
/*  Compiled index                                                           */

/*  Compiles a checked set into a decision index. The index copies what it
 *  needs: the set may be destroyed afterwards. Returns NULL if out of memory
 *  or if the set does not pass sl_policy_set_check (errors then go to
 *  `diags`, which may be NULL). */
sl_policy_index_t *sl_policy_index_new (const sl_policy_set_t *set, sl_policy_diags_t *diags);

/*  Frees the index; sets *self_p to NULL. Safe on NULL. Decisions that point
 *  into the index (rules, transforms) must not be used afterwards. */
void sl_policy_index_destroy (sl_policy_index_t **self_p);

/*  Number of rules in the index. Cannot fail. */
size_t sl_policy_index_rule_count (const sl_policy_index_t *self);

/* ------------------------------------------------------------------------ */
/*  Transforms                                                               */

typedef enum {
    SL_POLICY_SUBJECT_KEEP = 0,
    SL_POLICY_SUBJECT_PSEUDONYMIZE = 1,
    SL_POLICY_SUBJECT_DROP = 2,
} sl_policy_subject_t;

typedef enum {
    SL_POLICY_COARSEN_NONE = 0,
    SL_POLICY_COARSEN_MINUTE = 60,
    SL_POLICY_COARSEN_HOUR = 3600,
    SL_POLICY_COARSEN_DAY = 86400,
} sl_policy_coarsen_t;

#define SL_POLICY_MAX_FIELDS 256   /* descriptor field indexes 0..255 */

/*  What a permitted copy looks like: a value, copied freely. `keep` is a bit
 *  mask over the record descriptor's field *indexes* (descriptor->fields[i],
 *  not field numbers); bit i set = field i is released. Read-only for
 *  callers: it is filled by sl_policy_decide. */
typedef struct {
    const sl_schema_t  *schema;            /* record type of the copy */
    uint64_t            keep[SL_POLICY_MAX_FIELDS / 64];
    sl_policy_subject_t subject;
    sl_policy_coarsen_t coarsen;           /* applied to the schema's time fields */
} sl_policy_transform_t;

/*  True if applying `t` leaves every record unchanged (all fields kept,
 *  subject kept, no coarsening): the broker may forward the body as is.
 *  Cannot fail. */
bool sl_policy_transform_is_identity (const sl_policy_transform_t *t);

/*  Released field names, in descriptor order: writes up to `max` borrowed
 *  pointers (static for the life of the process) into `names`; returns the
 *  total count (which may exceed max). Cannot fail. */
size_t sl_policy_transform_fields (const sl_policy_transform_t *t,
                                   const char **names, size_t max);

#define SL_POLICY_KEY_LEN        32   /* per-consumer pseudonym key, bytes */
#define SL_POLICY_SECRET_LEN     32   /* the broker's pseudonym secret, bytes */
#define SL_POLICY_PSEUDONYM_LEN  32   /* hex characters, without the NUL */

/*  Derives consumer `consumer`'s pseudonym key from the broker's secret
 *  (POLICY.md "Pseudonyms" gives the exact construction). Returns 0, or
 *  SL_EINVAL if consumer is empty. */
int sl_policy_pseudonym_key (const uint8_t secret[SL_POLICY_SECRET_LEN],
                             const char *consumer,
                             uint8_t key[SL_POLICY_KEY_LEN]);

/*  The pseudonym of `subject` under `key`: SL_POLICY_PSEUDONYM_LEN lower-case
 *  hex characters and a NUL, into `out`. An empty subject stays empty.
 *  Cannot fail. */
void sl_policy_pseudonymize (const uint8_t key[SL_POLICY_KEY_LEN], const char *subject,
                             char out[SL_POLICY_PSEUDONYM_LEN + 1]);

/*  Applies `t` to the unpacked record `in` (borrowed, not modified; its
 *  descriptor must be t->schema->descriptor): fields not released are reset
 *  to their defaults (so proto3 packing omits them), the subject field is
 *  kept, pseudonymized with `key` or cleared, and the schema's time fields
 *  are rounded down to the start of their minute/hour/day (UTC). The result
 *  is packed into buf (capacity cap); *len gets the packed size. `key` may be
 *  NULL unless t->subject is PSEUDONYMIZE.
 *  Returns 0; SL_EINVAL if the descriptor does not match or the key is
 *  missing; SL_ETOOBIG if cap is too small (then *len is the size needed);
 *  SL_ENOMEM. */
int sl_policy_transform_pack (const sl_policy_transform_t *t, const ProtobufCMessage *in,
                              const uint8_t *key, uint8_t *buf, size_t cap, size_t *len);

/*  Same, from a packed body: unpacks `body` with t->schema's descriptor, then
 *  as sl_policy_transform_pack. Returns the same codes, and SL_EDECODE if the
 *  body does not decode. */
int sl_policy_transform_bytes (const sl_policy_transform_t *t,
                               const uint8_t *body, size_t body_len,
                               const uint8_t *key, uint8_t *buf, size_t cap, size_t *len);

/* ------------------------------------------------------------------------ */
/*  Decisions                                                                */

typedef enum {
    SL_CONSENT_VALID = 0,
    SL_CONSENT_MISSING = 1,
    SL_CONSENT_EXPIRED = 2,
    SL_CONSENT_WITHDRAWN = 3,
    SL_CONSENT_NOT_YET_VALID = 4,   /* a covering consent starts later */
} sl_consent_status_t;

/*  Consent look-up, supplied by the caller (the consent part, over LMDB).
 *  Called at most once per decision, only when the permit being applied
 *  says `consent required` and all its other conditions hold. `time` is the
 *  request's time (Unix seconds UTC). Must be thread-safe if decisions run
 *  concurrently. */
typedef sl_consent_status_t (*sl_policy_consent_fn) (void *arg,
        const char *subject, const char *owner, const char *consumer,
        const char *purpose, const char *record_type, int64_t time);

typedef struct {
    const char *owner;              /* owning bureau of the record */
    const char *consumer;           /* receiving member */
    const char *record_type;        /* "water.v1.MeterReading" */
    const char *purpose;            /* the subscription's / query's purpose */
    const char *subject;            /* citizen id, may be NULL */
    int64_t     time;               /* Unix seconds UTC: when the decision applies */
    const ProtobufCMessage *record; /* unpacked record for `where`, or NULL */
    sl_policy_consent_fn consent;   /* NULL: consent counts as missing */
    void       *consent_arg;
    /*  Only when record is NULL. false (the default): a permit's `where`
     *  fails and a forbid's `where` holds (nothing extra leaves without
     *  evidence). true: the caller vouches that the record passed the row
     *  conditions when it was decided with the record (at publish; the
     *  queued copy at delivery may lack the fields), so a permit's `where`
     *  holds and a forbid's does not. */
    bool        rows_checked;
} sl_policy_request_t;

#define SL_POLICY_MAX_STRIPS 8

/*  The answer. Pointers point into the index (valid while it lives) or are
 *  static strings. */
typedef struct {
    bool permit;
    /*  "permitted", or the deny reason: "no-matching-rule", "forbidden",
     *  "outside-validity", "condition-false", "consent-missing",
     *  "consent-expired", "consent-withdrawn", "consent-not-yet-valid",
     *  "unknown-record-type". */
    const char *reason;
    /*  The deciding rule: the permit applied, or the forbid that denied, or
     *  for the other denies the permit that came nearest (same owner,
     *  consumer, record type and purpose); NULL for "no-matching-rule". */
    const sl_policy_rule_t *rule;
    /*  Field-scoped forbids that removed fields from this permitted copy;
     *  they are deciding rules too and belong in the audit entry. If more
     *  than SL_POLICY_MAX_STRIPS applied, n_strips says how many and only the
     *  first SL_POLICY_MAX_STRIPS are listed. */
    size_t n_strips;
    const sl_policy_rule_t *strips[SL_POLICY_MAX_STRIPS];
    /*  Other permits that matched too and narrowed the copy (overlapping
     *  permits combine "most restrictive wins", POLICY.md 5): deciding rules
     *  as well. Counted and capped like strips. Only when permit. */
    size_t n_narrows;
    const sl_policy_rule_t *narrows[SL_POLICY_MAX_STRIPS];
    sl_policy_transform_t transform;   /* meaningful only when permit */
    /*  The same request at any time in [req->time, until) gets the same
     *  answer from the same index, as long as the consent the callback
     *  answered holds too: the next start or end of a `valid` window of a
     *  rule that could take part (Unix s); INT64_MAX when none lies ahead. */
    int64_t until;
} sl_policy_decision_t;

/*  Decides `req` against `index` (POLICY.md "Semantics"): looks the rules up
 *  by (owner, consumer, record type) in one hash probe, applies forbids
 *  first, then every matching permit: the first in source order decides and
 *  each further one can only narrow the copy (fields intersected, the more
 *  protective subject handling, the coarser time). req->consent is called
 *  at most once, only for a permit that requires consent. Fills *out completely. Allocates nothing.
 *  Returns 0 (for permit and deny alike), or SL_EINVAL if a required request
 *  field (owner, consumer, record_type, purpose) is NULL. */
int sl_policy_decide (const sl_policy_index_t *index, const sl_policy_request_t *req,
                      sl_policy_decision_t *out);

/*  All deciding rules of a decision as "id@version" joined by ',' (the
 *  deciding rule first, then the narrowing permits, then the stripping
 *  forbids), into buf (cap bytes,
 *  NUL-terminated, truncated to fit); "" when no rule decided. Returns the
 *  length needed, as snprintf does. Cannot fail. */
int sl_policy_decision_rules (const sl_policy_decision_t *d, char *buf, size_t cap);

/* ------------------------------------------------------------------------ */
/*  Explain                                                                  */

/*  The conditions of a rule, as bits of sl_policy_explain_t.failed. */
enum {
    SL_POLICY_COND_OWNER    = 1u << 0,
    SL_POLICY_COND_CONSUMER = 1u << 1,
    SL_POLICY_COND_RECORDS  = 1u << 2,
    SL_POLICY_COND_PURPOSE  = 1u << 3,
    SL_POLICY_COND_VALID    = 1u << 4,
    SL_POLICY_COND_WHERE    = 1u << 5,
    SL_POLICY_COND_CONSENT  = 1u << 6,
};

typedef struct {
    sl_policy_decision_t decision;     /* as sl_policy_decide gives it */
    /*  For a deny: the permit rule that came nearest (fewest failed
     *  conditions; ties go to the earlier rule), or NULL if the index has no
     *  permit at all. For a permit: the permit applied. */
    const sl_policy_rule_t *nearest;
    unsigned failed;                   /* SL_POLICY_COND_* bits that failed on `nearest` */
    /*  Conditions of `nearest` that could not be evaluated: COND_WHERE when
     *  the request has no record (and not rows_checked). They do not count
     *  as failed when choosing the nearest rule. */
    unsigned unknown;
    sl_consent_status_t consent;       /* when COND_CONSENT failed: why */
} sl_policy_explain_t;

/*  Decides `req` like sl_policy_decide and, for a deny, scans the permits of
 *  the index for the nearest one: fewest failed conditions among owner,
 *  consumer, records and purpose first, then among valid, where and consent;
 *  ties go to the earlier rule; a `where` without a record is "unknown",
 *  not failed. Not for the hot path (it scans), and it
 *  may call the consent callback once more per candidate permit that needs
 *  consent. Returns 0 or SL_EINVAL as sl_policy_decide. */
int sl_policy_explain (const sl_policy_index_t *index, const sl_policy_request_t *req,
                       sl_policy_explain_t *out);

/*  Renders an explanation as text for a person, e.g.
 *      deny (consent-withdrawn)
 *      nearest rule: health-visit-parking-waiver@3 (health.policy:9)
 *        failed: consent (withdrawn)
 *  into buf (cap bytes, NUL-terminated, truncated to fit). Returns the length
 *  needed, as snprintf does. Cannot fail. */
int sl_policy_explain_render (const sl_policy_explain_t *ex, char *buf, size_t cap);

/* ------------------------------------------------------------------------ */
/*  Diff (dry run)                                                           */

typedef enum {
    SL_POLICY_ACCESS_NONE = 0,         /* denied */
    SL_POLICY_ACCESS_CONDITIONAL = 1,  /* permitted subject to consent or `where` */
    SL_POLICY_ACCESS_FULL = 2,         /* permitted */
} sl_policy_access_t;

typedef struct {
    const char *consumer;      /* borrowed from the indexes */
    const char *record_type;   /* static (sl_schema) */
    const char *purpose;       /* borrowed from the indexes */
    sl_policy_access_t before, after;
    /*  Released fields that appear / disappear, and subject or time
     *  handling changes, as descriptor-index masks (see the transform). */
    uint64_t fields_added[SL_POLICY_MAX_FIELDS / 64];
    uint64_t fields_removed[SL_POLICY_MAX_FIELDS / 64];
    sl_policy_subject_t subject_before, subject_after;
    sl_policy_coarsen_t coarsen_before, coarsen_after;
} sl_policy_change_t;

typedef struct sl_policy_diff_s sl_policy_diff_t;

/*  Compares two indexes at time `at` (Unix seconds UTC): for every
 *  (consumer, record type, purpose) that either index's permits name, the
 *  access each gives (consent assumed given and `where` assumed true, which
 *  makes the access CONDITIONAL) and the released fields. Only entries that
 *  differ are listed, sorted by consumer, record type, purpose. `before` may
 *  be NULL (nothing applied yet). Returns a new diff, or NULL if out of
 *  memory. */
sl_policy_diff_t *sl_policy_diff_new (const sl_policy_index_t *before,
                                      const sl_policy_index_t *after, int64_t at);

/*  Frees it; sets *self_p to NULL. Safe on NULL. */
void sl_policy_diff_destroy (sl_policy_diff_t **self_p);

/*  Number of changes, and the i-th. Borrowed while the diff and both indexes
 *  live. */
size_t sl_policy_diff_count (const sl_policy_diff_t *self);
const sl_policy_change_t *sl_policy_diff_at (const sl_policy_diff_t *self, size_t i);

/*  The diff as text, one change per line, e.g.
 *      + power water.v1.MeterReading joint-metering: gained (fields +district +date_observed)
 *      - parking health.v1.Encounter parking-fee-waiver: lost
 *      ~ power water.v1.MeterReading joint-metering: fields -district; time hour -> day
 *  Returns a malloc'ed string ("" when nothing changes), or NULL. */
char *sl_policy_diff_render (const sl_policy_diff_t *self);

#endif

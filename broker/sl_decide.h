/*  sl_decide — the broker's decision point.
 *
 *  Every place where data may leave its owner asks one function: at publish
 *  (one question per subscription), at delivery (asked again, so a withdrawn
 *  permission also stops queued records), and for queries (for the asker, and
 *  per replied record). The broker's function is sl_govern_decide: the
 *  owners' policies in force plus consent (sl_govern.h). There is no
 *  "permit all" function, and a decision function that fails denies.
 */
#ifndef SL_DECIDE_H
#define SL_DECIDE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

typedef enum {
    SL_DECIDE_PUBLISH,   /* a published record, per subscription: record set */
    SL_DECIDE_DELIVER,   /* a queued record about to be delivered: record NULL */
    SL_DECIDE_QUERY,     /* a query before it reaches the owner: record NULL */
    SL_DECIDE_REPLY      /* a record in the owner's reply: record set */
} sl_decide_stage_t;

typedef struct {
    sl_decide_stage_t stage;
    const char *owner;          /* owning bureau (member name) */
    const char *consumer;       /* receiving member */
    const char *record_type;    /* e.g. "water.v1.MeterReading" */
    const char *purpose;        /* subscription's or query's purpose */
    const char *subject;        /* citizen id ("" if none) */
    int64_t time_ms;            /* now, Unix ms */
    int64_t event_time_ms;      /* RecordMeta.event_time (0 for QUERY) */
    const ProtobufCMessage *record;  /* unpacked record, or NULL (see stage) */
    const uint8_t *body;        /* DELIVER: the queued copy (shaped at publish), else NULL */
    size_t body_len;
    int subject_shaped;         /* DELIVER: the queued copy's subject is already
                                   pseudonymized or dropped */
    MDB_txn *txn;               /* a transaction the function may read policy or
                                   consent state in (write txn at PUBLISH, read
                                   txn otherwise); never commit or abort it */
} sl_decide_input_t;

#define SL_DECIDE_MAX_RULES 8
#define SL_DECIDE_RULE_MAX 192

typedef struct {
    int permit;                                   /* 1 permit, 0 deny */
    char reason[128];                             /* deny: short word, e.g. "no-matching-rule" */
    char rules[SL_DECIDE_MAX_RULES][SL_DECIDE_RULE_MAX];  /* deciding rules, "id@version" */
    int n_rules;
    uint8_t *body;       /* permit with transform: new packed body, malloc()ed;
                            the broker free()s it. NULL: forward the body untouched.
                            At DELIVER: the queued copy reshaped by the policy now
                            in force (a narrowed permit releases less) */
    size_t body_len;
    char subject[128];   /* transformed subject (e.g. pseudonym) if subject_set */
    int subject_set;
    char fields[512];    /* permit: released fields "a,b,c" if fields_set (audit) */
    int fields_set;
    int64_t coarsen_s;   /* permit: the copy's times are rounded down to this many
                            seconds (0 = exact); RecordMeta.event_time follows */
    int64_t until_s;     /* permit: the same question gets the same answer before
                            this Unix second while neither the policies in force
                            nor the subject's consents change (a rule's `valid`
                            window, a consent's start or end); INT64_MAX: no time
                            bound. 0 (the zeroed default): no promise at all */
} sl_decide_output_t;

/*  `event_time_ms` rounded down to `coarsen_s` seconds (unchanged when 0):
    what a consumer may see of RecordMeta.event_time. Cannot fail. */
static inline int64_t
sl_decide_coarsen_ms (int64_t event_time_ms, int64_t coarsen_s)
{
    if (coarsen_s <= 0 || event_time_ms <= 0)
        return event_time_ms;
    int64_t unit = coarsen_s * 1000;
    return event_time_ms - event_time_ms % unit;
}

/*  A decision function. `out` arrives zeroed (deny, no rules). Returns 0 after
 *  filling `out`, or a negative SL_E* code, which the broker treats as deny
 *  with reason "decide-error". Must not keep pointers into `in`. */
typedef int (sl_decide_fn) (void *ctx, const sl_decide_input_t *in, sl_decide_output_t *out);

#endif

/*  sl_event — what the broker reports to the audit log (or any recorder).
 *
 *  The broker calls the event function for every notable data movement and
 *  decision, inside its write transaction (sl_batch), so a recorder appends
 *  its entry atomically with the change it describes: a publish and its
 *  queue entries and their audit entries commit together or not at all.
 *  Kinds and fields follow docs/AUDIT.md (sl_audit_event_t):
 *
 *    publish          actor=owner  record_type message_id subject decision=ok
 *                     (only for a record no queue / deny entry names: AUDIT.md §6.2)
 *    publish.refused  actor=sender record_type message_id reason=<error code> detail=<text>
 *    queue            actor=owner  counterpart=consumer purpose rules decision=permit
 *    deny             actor=owner  counterpart=consumer purpose rules reason detail=stage=...
 *    filtered         actor=owner  counterpart=consumer record_type purpose rules
 *                     decision=filtered reason=condition-false detail="rows=N stage=S"
 *                     (one per batch and key, sl_filtered.h)
 *    lookup           actor=admin/auditor subject decision=ok detail="command=C role=R"
 *    deliver          actor=owner  counterpart=consumer message_id subject purpose rules detail=tag=N
 *    ack              actor=consumer detail="tags=T,T-T,..." (one per ACK, AUDIT.md §6.2)
 *    query            actor=asker  counterpart=owner record_type subject purpose decision
 *    reply            actor=owner  counterpart=asker record_type purpose detail=records=N
 *    auth.denied      detail="fp=... peer=... domain=..." reason
 *    member.add       actor=admin  counterpart=name detail=role=...
 *    member.revoke    actor=admin  counterpart=name
 *    broker.start / broker.stop
 */
#ifndef SL_EVENT_H
#define SL_EVENT_H

#include <lmdb.h>
#include <stdint.h>

typedef struct {
    const char *kind;
    const char *actor;
    const char *counterpart;
    const char *owner;
    const char *record_type;
    const uint8_t *message_id;   /* 16 bytes, or NULL */
    const char *subject;         /* RAW citizen id or NULL: the recorder pseudonymizes */
    const uint8_t *subject_pseudonym;  /* or its audit pseudonym (32 bytes) already
                                          made (sl_audit_pseudonym); wins over subject */
    const char *purpose;
    const char *decision;
    const char *rules;           /* "id@version,id@version" */
    const char *fields;          /* queue/reply: fields released "a,b,c" */
    const char *reason;
    const char *detail;
    int accepts;                 /* queue / deny at publish: this entry also stands
                                    for the record's acceptance (the folded
                                    `publish`, AUDIT.md §6.2) */
    unsigned records;            /* ack: deliveries it acknowledges (0 counts as 1) */
} sl_event_t;

/*  Records `ev` within `txn` (the batch transaction: append only, never
 *  commit or abort it). All strings may be NULL and are borrowed for the
 *  call. Returns 0 or a negative SL_E* code; on failure the broker aborts
 *  the batch (its publishes are answered store-full/internal, nothing of it
 *  is kept), because a recorder that cannot record must not be skipped. */
typedef int (sl_event_fn) (void *ctx, MDB_txn *txn, const sl_event_t *ev);

#endif

/*  sl_outbox — publishes waiting for the broker's ACK, and how they are batched.

    A pure data structure (no I/O), so the batching rules can be tested alone:

    1. Records are kept in the order they were added. Each is PENDING (not
       sent on the current connection) or INFLIGHT (sent in the PUBLISH
       message numbered `seq`, waiting for its ACK).
    2. sl_outbox_next_batch() opens a new batch only while fewer than
       `inflight_max` batches are in flight. A batch takes the oldest pending
       record and every later pending record of the same record type, up to
       `batch_max` records and `max_bytes` of bodies (always at least one).
       So an idle link sends each record at once, and a busy one (ACKs
       outstanding) gathers records into larger batches.
    3. A record leaves the outbox only through sl_outbox_take() (ACKed or
       refused); a batch ends when its last record is taken.
    4. sl_outbox_requeue_all() (after a reconnect) and sl_outbox_expire()
       (no ACK in time) turn in-flight records back to pending, keeping the
       original order and message ids, so resending is idempotent.
*/
#ifndef SL_OUTBOX_H
#define SL_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

typedef struct sl_outbox sl_outbox_t;

typedef struct sl_outrec {
    uint8_t id[SL_MESSAGE_ID_LEN];
    char *record_type;
    char *subject;                 /* may be NULL */
    int64_t event_time_ms;
    uint8_t *body;
    size_t size;
    sl_publish_fn *cb;
    void *arg;
    uint64_t spool_key;            /* 0: not spooled */
    uint64_t seq;                  /* batch it was sent in; 0 while pending */
    struct sl_outrec *prev, *next;
} sl_outrec_t;

/*  New empty outbox. Zero arguments take 256 / 4 / 1 MiB. NULL on ENOMEM. */
sl_outbox_t *sl_outbox_new (unsigned batch_max, unsigned inflight_max, size_t max_bytes);

/*  Frees the outbox and every record still in it, without callbacks. */
void sl_outbox_destroy (sl_outbox_t **self_p);

/*  Changes the body-size limit of future batches (the broker's
    max_message_size, minus room for the header). Cannot fail. */
void sl_outbox_set_max_bytes (sl_outbox_t *self, size_t max_bytes);

/*  Appends a pending record, copying the strings and body. Returns the
    record (owned by the outbox) or NULL on ENOMEM. */
sl_outrec_t *sl_outbox_add (sl_outbox_t *self, const uint8_t id[SL_MESSAGE_ID_LEN],
                            const char *record_type, const char *subject,
                            int64_t event_time_ms, const void *body, size_t size);

/*  Forms the next batch (rule 2) as message `seq`, sent at `now_ms`. Puts
    up to `cap` record pointers in `out` and returns how many (0: nothing to
    send now). The records stay owned by the outbox. */
size_t sl_outbox_next_batch (sl_outbox_t *self, uint64_t seq, int64_t now_ms,
                             sl_outrec_t **out, size_t cap);

/*  Finds the in-flight or pending record with `id`. NULL if none. */
sl_outrec_t *sl_outbox_find (sl_outbox_t *self, const uint8_t id[SL_MESSAGE_ID_LEN]);

/*  Removes `rec` from the outbox and hands it to the caller, who frees it
    with sl_outrec_free. Cannot fail. */
void sl_outbox_take (sl_outbox_t *self, sl_outrec_t *rec);
void sl_outrec_free (sl_outrec_t **rec_p);

/*  Records of batch `seq` still in the outbox: up to `cap` into `out`;
    returns how many. */
size_t sl_outbox_batch_records (sl_outbox_t *self, uint64_t seq, sl_outrec_t **out, size_t cap);

/*  True if batch `seq` is in flight. */
int sl_outbox_has_batch (sl_outbox_t *self, uint64_t seq);

/*  Turns batches sent before `now_ms - timeout_ms` back to pending. Returns
    how many records were requeued. */
size_t sl_outbox_expire (sl_outbox_t *self, int64_t now_ms, int timeout_ms);

/*  Turns every in-flight record back to pending. Returns how many. */
size_t sl_outbox_requeue_all (sl_outbox_t *self);

/*  Records in the outbox (pending + in flight), in flight, open batches. */
size_t sl_outbox_count (const sl_outbox_t *self);
size_t sl_outbox_inflight (const sl_outbox_t *self);
size_t sl_outbox_batches (const sl_outbox_t *self);

#endif

/*  sl_queue — durable per-consumer queues in broker.queue.
 *
 *  Key: consumer \0 tag (u64 big-endian, from 1, increasing per consumer), so
 *  one consumer's entries are contiguous and in arrival order. Value:
 *  meta_len (u32 BE) | packed sluice.v1.RecordMeta | record body. The tag is
 *  the DELIVER delivery_tag. Tags may have gaps (an aborted batch).
 *
 *  Tags are never reused, not after an aborted batch and not across
 *  restarts (PROTOCOL.md 5.4), so an ACK a client resends to a new broker
 *  incarnation can only remove the record it was meant for:
 *   1. Each broker start takes a new *epoch* (broker.meta "queue.epoch",
 *      incremented and committed before the broker serves anyone, see
 *      sl_queue_epoch_begin). A tag is epoch << SL_QUEUE_EPOCH_SHIFT | n:
 *      the first tag a consumer gets in an incarnation is above every tag
 *      of earlier incarnations, and above the queue's last entry.
 *   2. Within an incarnation the next tag per consumer only grows: an
 *      abort (sl_queue_forget) re-reads counts, never lowers the next tag.
 */
#ifndef SL_QUEUE_H
#define SL_QUEUE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_store.h"
#include "sluice/v1/envelope.pb-c.h"

typedef struct sl_queue_t sl_queue_t;

/*  One queued entry as seen by a scan. All pointers point into the LMDB map:
 *  valid only until the end of the transaction. */
typedef struct {
    uint64_t tag;
    const uint8_t *meta;
    size_t meta_len;
    const uint8_t *body;
    size_t body_len;
} sl_queue_entry_t;

/*  The raw data subject of a queued RecordMeta whose subject was shaped
 *  (pseudonymised) for its consumer travels sealed (sl_govern_seal_subject)
 *  in this unknown field of the queued copy only; it is stripped before
 *  DELIVER. The field's data is the protobuf length prefix, always a
 *  two-byte varint, then the sealed bytes. */
#define SL_QUEUE_SEALED_SUBJECT_TAG 100
#define SL_QUEUE_SEALED_MAX 512        /* sealed bytes at most */

/*  Makes `uf` the sealed-subject field over `buf`, whose bytes from buf + 2
 *  hold `len` sealed bytes (len <= SL_QUEUE_SEALED_MAX); writes the length
 *  prefix into buf[0..1]. `buf` must live as long as `uf`. Cannot fail. */
void sl_queue_sealed_field (ProtobufCMessageUnknownField *uf, uint8_t *buf, size_t len);

/*  If `uf` is the sealed-subject field: 1, with *data / *len the sealed
 *  bytes (inside uf->data); -1 if it is but is malformed; 0 if it is another
 *  field. Cannot fail otherwise. */
int sl_queue_sealed_read (const ProtobufCMessageUnknownField *uf, const uint8_t **data, size_t *len);

/*  Scan callback: return 0 to go on, 1 to stop. */
typedef int (sl_queue_scan_fn) (void *ctx, const sl_queue_entry_t *entry);

sl_queue_t *sl_queue_new (sl_store_t *store);
void sl_queue_destroy (sl_queue_t **self_p);

/*  Appends a copy of (meta, body) to `consumer`'s queue in `txn` (the batch
 *  transaction). meta is packed straight into the LMDB page (no allocation).
 *  On success *tag is the entry's tag. Returns 0, SL_EINVAL (name too long),
 *  SL_EFULL or SL_ESTORE. */
int sl_queue_append (sl_queue_t *self, MDB_txn *txn, const char *consumer,
                     const Sluice__V1__RecordMeta *meta, const void *body,
                     size_t body_len, uint64_t *tag);

/*  Removes entry `tag` of `consumer`. Returns 0, SL_ENOTFOUND, SL_ESTORE. */
int sl_queue_remove (sl_queue_t *self, MDB_txn *txn, const char *consumer, uint64_t tag);

/*  Calls fn for each entry of `consumer` with tag >= from, in tag order, until
 *  fn returns 1. `txn` may be read-only. Returns 0 or SL_ESTORE. */
int sl_queue_scan (sl_queue_t *self, MDB_txn *txn, const char *consumer,
                   uint64_t from, sl_queue_scan_fn *fn, void *ctx);

/*  Number of entries queued for `consumer`. Returns count or negative SL_E*. */
long sl_queue_depth (sl_queue_t *self, MDB_txn *txn, const char *consumer);

/*  Number of entries queued for `consumer` as the open batch `txn` sees
 *  them, kept in memory after the first call (one scan per consumer, again
 *  after sl_queue_forget), so it is cheap on every publish. Returns the
 *  count or a negative SL_E*. */
long sl_queue_count (sl_queue_t *self, MDB_txn *txn, const char *consumer);

/*  The count sl_queue_count keeps for `consumer`, without reading the
 *  store: -1 when none is kept (never counted, or forgotten after an
 *  abort). For readers outside the batch, which must not refresh it from
 *  another transaction. Cannot fail. */
long sl_queue_known_count (sl_queue_t *self, const char *consumer);

/*  Forgets the cached counts (after a batch abort); the next tags are kept,
 *  so no tag is handed out twice. Cannot fail. */
void sl_queue_forget (sl_queue_t *self);

#define SL_QUEUE_EPOCH_SHIFT 40

/*  Starts a new epoch: reads broker.meta "queue.epoch" in `txn` (the batch
 *  transaction), writes it + 1, and makes every tag of this incarnation
 *  at least (epoch + 1) << SL_QUEUE_EPOCH_SHIFT. Call once at start and
 *  commit before anything is delivered. Returns 0, SL_EFULL or SL_ESTORE. */
int sl_queue_epoch_begin (sl_queue_t *self, MDB_txn *txn);

/*  The epoch this incarnation uses (0 before sl_queue_epoch_begin). */
uint64_t sl_queue_epoch (const sl_queue_t *self);

#endif

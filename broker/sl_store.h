/*  sl_store — the broker's LMDB environment and its named databases.
 *
 *  One environment per data directory (DIR/store/), opened with MDB_NOTLS and
 *  maxdbs 64 as every part of sluice expects. The broker's own databases:
 *
 *    broker.members  name -> role \0 public_key \0 revoked('0'|'1')
 *    broker.subs     consumer \0 record_type \0 purpose -> created (u64 BE, ms)
 *    broker.queue    consumer \0 tag (u64 BE) -> meta_len (u32 BE) | RecordMeta | body
 *                    (RecordMeta as the consumer will get it; when the policy
 *                    changed the subject, field 100 (SL_QUEUE_SEALED_SUBJECT_TAG,
 *                    written and read by sl_queue) holds the raw subject
 *                    sealed with crypto_secretbox — see sl_govern.h — and is
 *                    stripped before DELIVER)
 *    broker.msgids   publisher \0 message_id (16 bytes) -> accepted (u64 BE, ms)
 *    broker.meta     text key -> text value ("format" = "1", "queue.epoch" =
 *                    decimal, the delivery-tag epoch: see sl_queue.h)
 *
 *  Governance keeps its own (policy.*, consent.*, audit.*, and the record
 *  type registry schema.versions / schema.current: sl_schema_store.h).
 *
 *  The store does not begin write transactions for callers: sl_batch owns the
 *  one write transaction (group commit). Read transactions are short-lived
 *  and MDB_RDONLY.
 */
#ifndef SL_STORE_H
#define SL_STORE_H

#include <lmdb.h>
#include <stddef.h>

typedef struct sl_store_t sl_store_t;

typedef enum {
    SL_DB_MEMBERS, SL_DB_SUBS, SL_DB_QUEUE, SL_DB_MSGIDS, SL_DB_META, SL_DB_COUNT_
} sl_db_t;

/*  Opens (creating if `create`) the environment in directory `dir` with a map
 *  of `map_size` bytes (0 = 1 GiB) and makes sure the broker databases exist.
 *  Durability: opened so that every commit is fsynced, data pages and meta
 *  page; sluiced then sets MDB_NOMETASYNC and makes meta pages durable with
 *  the next commit or a flush in its own thread (sl_batch.h note 5,
 *  sl_sync.h). Group commit (sl_batch) is what keeps the fsync count low. Returns NULL on failure, with the reason
 *  in `err`. */
sl_store_t *sl_store_open (const char *dir, size_t map_size, int create,
                           char *err, size_t errlen);

/*  Offline readers (sluicectl, bench and test readers) open a store made by
 *  sluiced, or a copy of one, without a broker and without changing it:
 *  read-only, and never creating `lock.mdb` with the caller's owner or a
 *  wrong mode.
 *  - DIR/lock.mdb exists: the store is (or was) served by sluiced; a normal
 *    read-only open shares its lock table, so the reader sees a consistent
 *    snapshot beside a running writer. The lock file is not created, so its
 *    owner and mode stay the broker's.
 *  - no lock.mdb (a copy made by `sluicectl backup` or mdb_copy): opened
 *    with MDB_NOLOCK, so nothing is created. Safe because no writer can be
 *    active on a store that has no lock file: sluiced creates it at start.
 *  `force_nolock` 1 always uses MDB_NOLOCK (a backup being restored).
 *
 *  sl_store_env_open_rdonly opens only the environment (maxdbs 64,
 *  MDB_NOTLS, as sl_store_open), for libraries that open their own
 *  databases (audit, consent): returns 0 and *env (close with
 *  mdb_env_close), or an LMDB error code with `err` = "DIR: what". */
int sl_store_env_open_rdonly (const char *dir, int force_nolock, MDB_env **env, char *err,
                              size_t errlen);

/*  The same, as a store whose broker databases can be read by their owning
 *  modules (sl_registry_new, sl_subs_new, sl_queue_*; sl_policy_store_open_rdonly
 *  and sl_schema_store_open_rdonly in a read transaction). Nothing can be
 *  written through it. Returns NULL with `err` = "DIR: what" when the
 *  directory is no LMDB store or lacks the broker's databases. */
sl_store_t *sl_store_open_rdonly (const char *dir, int force_nolock, char *err, size_t errlen);

/*  Closes the environment. Any transaction must have ended. Cannot fail. */
void sl_store_destroy (sl_store_t **self_p);

/*  The environment, for libraries that open their own named databases in a
 *  transaction they are given. Borrowed for the life of the store. */
MDB_env *sl_store_env (sl_store_t *self);

/*  The handle of one of the broker's databases. Cannot fail. */
MDB_dbi sl_store_dbi (sl_store_t *self, sl_db_t db);

/*  Begins a read-only transaction. Returns 0 or the failure as sl_lmdb_rc
 *  (SL_ESTORE, SL_ENOMEM). */
int sl_store_read (sl_store_t *self, MDB_txn **txn);

/*  How full the store is, for back-pressure: `used` = bytes in pages the
 *  last committed transaction uses (pages on LMDB's free list count as
 *  free), `capacity` = the map size, or less when the filesystem holding
 *  data.mdb cannot grow the file that far. Returns 0 or SL_ESTORE. */
int sl_store_usage (sl_store_t *self, size_t *used, size_t *capacity);

/*  LMDB return codes map to SL_* with sl_lmdb_rc (common/sl_lmdb.h), the
 *  one mapping every store module uses. */
#include "sl_lmdb.h"

/*  Big-endian helpers for keys. Cannot fail. */
void sl_store_put_u64 (unsigned char *p, unsigned long long v);
unsigned long long sl_store_get_u64 (const unsigned char *p);

#endif

/*  sl_spool — unacknowledged publishes kept on the adapter's own disk (LMDB),
    so records survive a broker outage *and* a restart of the adapter.

    1. One LMDB environment per spool directory, one database `spool.records`:
       key = 8-byte big-endian sequence number (so LMDB keeps publish order),
       value = message_id (16) | event_time_ms (8, big-endian) |
               record_type length (2) | record_type | subject length (2) |
               subject | body.
    2. A record is put when the application publishes it and deleted when the
       broker has ACKed (or refused) it. At startup every remaining record is
       published again with its original message_id; the broker drops the
       ones it already stored, so nothing is stored twice.
    3. Durability knob: the environment is opened with MDB_NOSYNC. A put is
       in the file (the OS page cache) when sl_spool_put returns, so it
       survives a crash of the adapter process; it survives a crash of the
       machine (power loss) only after sl_spool_sync, which sl_client_flush
       and sl_client_destroy call. That trades the D of ACID for one fsync
       per flush instead of one per record.
*/
#ifndef SL_SPOOL_H
#define SL_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "sluice.h"

typedef struct sl_spool sl_spool_t;
struct sl_outrec;

/*  Opens (creating if needed, mode 0700) the spool in `dir`. Returns 0 with
    *spool_p set, or SL_ESTORE / SL_EIO with `err` naming the directory. */
int sl_spool_open (const char *dir, sl_spool_t **spool_p, char *err, size_t errlen);

/*  Syncs and closes. Sets *spool_p to NULL; harmless on NULL. */
void sl_spool_destroy (sl_spool_t **spool_p);

/*  Stores a record; *key_out gets its key (never 0). Returns 0, SL_EFULL
    (map full), SL_ESTORE. */
int sl_spool_put (sl_spool_t *self, const struct sl_outrec *rec, uint64_t *key_out);

/*  Deletes the record `key`. Returns 0, SL_ENOTFOUND, SL_ESTORE. */
int sl_spool_del (sl_spool_t *self, uint64_t key);

/*  Calls `fn` for every stored record, oldest first; the pointers are valid
    during the call only. Stops at and returns the first non-zero return of
    `fn`; otherwise 0, or SL_ECORRUPT for a damaged value, SL_ESTORE. */
typedef int (sl_spool_each_fn) (uint64_t key, const uint8_t *message_id, const char *record_type,
                                const char *subject, int64_t event_time_ms, const void *body,
                                size_t size, void *arg);
int sl_spool_each (sl_spool_t *self, sl_spool_each_fn *fn, void *arg);

/*  Records in the spool. Cannot fail (0 on error). */
size_t sl_spool_count (sl_spool_t *self);

/*  Forces spooled records to disk (fsync). Returns 0 or SL_ESTORE. */
int sl_spool_sync (sl_spool_t *self);

#endif

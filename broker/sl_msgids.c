/*  sl_msgids — see sl_msgids.h. */
#include "sl_msgids.h"

#include <string.h>

#include "sl_error.h"
#include "sl_lmdb.h"

static size_t
s_key (unsigned char *kb, const char *publisher, const uint8_t *id)
{
    size_t n = strlen (publisher);
    memcpy (kb, publisher, n);
    kb[n] = 0;
    memcpy (kb + n + 1, id, SL_MSGID_LEN);
    return n + 1 + SL_MSGID_LEN;
}

int
sl_msgids_seen (sl_store_t *store, MDB_txn *txn, const char *publisher,
                const uint8_t id[SL_MSGID_LEN])
{
    unsigned char kb[64];
    if (strlen (publisher) > 40)
        return SL_EINVAL;
    MDB_val k = { s_key (kb, publisher, id), kb }, v;
    int rc = mdb_get (txn, sl_store_dbi (store, SL_DB_MSGIDS), &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc == 0 ? 1 : sl_lmdb_rc (rc);
}

int
sl_msgids_put (sl_store_t *store, MDB_txn *txn, const char *publisher,
               const uint8_t id[SL_MSGID_LEN], uint64_t now_ms)
{
    unsigned char kb[64], vb[8];
    if (strlen (publisher) > 40)
        return SL_EINVAL;
    sl_store_put_u64 (vb, now_ms);
    MDB_val k = { s_key (kb, publisher, id), kb }, v = { 8, vb };
    return sl_lmdb_rc (mdb_put (txn, sl_store_dbi (store, SL_DB_MSGIDS), &k, &v, 0));
}

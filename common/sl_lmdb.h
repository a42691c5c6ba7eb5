/*  sl_lmdb — the one mapping from LMDB return codes to SL_* (sl_error.h),
    used by every module that owns an LMDB database (broker store, policy
    and schema stores, audit log, consent store, SDK spool). */
#ifndef SL_LMDB_H
#define SL_LMDB_H

/*  Maps an LMDB (or errno) return code to SL_*:
 *    0                                              -> SL_OK
 *    MDB_MAP_FULL, MDB_TXN_FULL, ENOSPC, EDQUOT     -> SL_EFULL (no room:
 *                                                      in the map, the
 *                                                      transaction or the disk)
 *    MDB_NOTFOUND                                   -> SL_ENOTFOUND
 *    MDB_KEYEXIST                                   -> SL_EEXIST
 *    ENOMEM                                         -> SL_ENOMEM
 *    anything else                                  -> SL_ESTORE
 *  Cannot fail. */
int sl_lmdb_rc (int mdb_rc);

#endif

/*  sl_lmdb — see sl_lmdb.h. */
#include "sl_lmdb.h"

#include <errno.h>
#include <lmdb.h>

#include "sl_error.h"

int
sl_lmdb_rc (int mdb_rc)
{
    switch (mdb_rc) {
    case 0:             return SL_OK;
    case MDB_MAP_FULL:  return SL_EFULL;
    case MDB_TXN_FULL:  return SL_EFULL;
    case ENOSPC:        return SL_EFULL;
    case EDQUOT:        return SL_EFULL;
    case MDB_NOTFOUND:  return SL_ENOTFOUND;
    case MDB_KEYEXIST:  return SL_EEXIST;
    case ENOMEM:        return SL_ENOMEM;
    default:            return SL_ESTORE;
    }
}

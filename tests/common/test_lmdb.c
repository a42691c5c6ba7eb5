/*  sl_lmdb: the one LMDB -> SL_* mapping (common/sl_lmdb.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <lmdb.h>

#include "sl_error.h"
#include "sl_lmdb.h"

/*  Asserts that sl_lmdb_rc maps LMDB or errno `code` (named in the message)
 *  to `want`. */
#define MAPS(code, want) cr_assert_eq (sl_lmdb_rc (code), want, "%s", #code)

Test (lmdb, every_listed_code_has_its_answer)
{
    MAPS (0, SL_OK);
    MAPS (MDB_MAP_FULL, SL_EFULL);
    MAPS (MDB_TXN_FULL, SL_EFULL);
    MAPS (ENOSPC, SL_EFULL);
    MAPS (EDQUOT, SL_EFULL);
    MAPS (MDB_NOTFOUND, SL_ENOTFOUND);
    MAPS (MDB_KEYEXIST, SL_EEXIST);
    MAPS (ENOMEM, SL_ENOMEM);
}

Test (lmdb, anything_else_is_a_store_error)
{
    MAPS (MDB_CORRUPTED, SL_ESTORE);
    MAPS (MDB_BAD_TXN, SL_ESTORE);
    MAPS (EIO, SL_ESTORE);
    MAPS (EACCES, SL_ESTORE);
}

/*  sl_lmdb: the one LMDB -> SL_* mapping (common/sl_lmdb.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <lmdb.h>

#include "sl_error.h"
#include "sl_lmdb.h"

Test (lmdb, every_listed_code_has_its_answer)
{
    cr_assert_eq (sl_lmdb_rc (0), SL_OK);
    cr_assert_eq (sl_lmdb_rc (MDB_MAP_FULL), SL_EFULL);
    cr_assert_eq (sl_lmdb_rc (MDB_TXN_FULL), SL_EFULL);
    cr_assert_eq (sl_lmdb_rc (ENOSPC), SL_EFULL);
    cr_assert_eq (sl_lmdb_rc (EDQUOT), SL_EFULL);
    cr_assert_eq (sl_lmdb_rc (MDB_NOTFOUND), SL_ENOTFOUND);
    cr_assert_eq (sl_lmdb_rc (MDB_KEYEXIST), SL_EEXIST);
    cr_assert_eq (sl_lmdb_rc (ENOMEM), SL_ENOMEM);
}

Test (lmdb, anything_else_is_a_store_error)
{
    cr_assert_eq (sl_lmdb_rc (MDB_CORRUPTED), SL_ESTORE);
    cr_assert_eq (sl_lmdb_rc (MDB_BAD_TXN), SL_ESTORE);
    cr_assert_eq (sl_lmdb_rc (EIO), SL_ESTORE);
    cr_assert_eq (sl_lmdb_rc (EACCES), SL_ESTORE);
}

/*  sl_lmdb: the one LMDB -> SL_* mapping (common/sl_lmdb.h). */
#include <criterion/criterion.h>
#include <errno.h>
#include <lmdb.h>

#include "sl_error.h"
#include "sl_lmdb.h"

/*  An LMDB or errno code (its name for the message) and the sl_error
 *  sl_lmdb_rc gives for it. */
typedef struct {
    int code, want;
    const char *name;
} row_t;
#define ROW(code, want) { code, want, #code }

static void
check (const row_t *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cr_assert_eq (sl_lmdb_rc (rows[i].code), rows[i].want, "%s: %d", rows[i].name,
                      sl_lmdb_rc (rows[i].code));
}

Test (lmdb, every_listed_code_has_its_answer)
{
    static const row_t rows[] = {
        ROW (0, SL_OK),
        ROW (MDB_MAP_FULL, SL_EFULL),
        ROW (MDB_TXN_FULL, SL_EFULL),
        ROW (ENOSPC, SL_EFULL),
        ROW (EDQUOT, SL_EFULL),
        ROW (MDB_NOTFOUND, SL_ENOTFOUND),
        ROW (MDB_KEYEXIST, SL_EEXIST),
        ROW (ENOMEM, SL_ENOMEM),
    };
    check (rows, sizeof rows / sizeof rows[0]);
}

Test (lmdb, anything_else_is_a_store_error)
{
    static const row_t rows[] = {
        ROW (MDB_CORRUPTED, SL_ESTORE),
        ROW (MDB_BAD_TXN, SL_ESTORE),
        ROW (EIO, SL_ESTORE),
        ROW (EACCES, SL_ESTORE),
    };
    check (rows, sizeof rows / sizeof rows[0]);
}

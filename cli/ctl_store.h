/*  ctl_store — how sluicectl opens a broker store (DIR/store) or a copy of
 *  one without a broker: read-only, and never creating `lock.mdb` with the
 *  caller's owner or a wrong mode.
 *
 *  - DIR/store/lock.mdb exists: the store is (or was) served by sluiced; a
 *    normal read-only open shares its lock table, so the reader sees a
 *    consistent snapshot beside a running writer. The lock file is not
 *    created, so its owner and mode stay the broker's.
 *  - no lock.mdb (a copy made by `sluicectl backup` or mdb_copy): opened
 *    with MDB_NOLOCK, so nothing is created. Safe because no writer can be
 *    active on a store that has no lock file: sluiced creates it at start.
 */
#ifndef CTL_STORE_H
#define CTL_STORE_H

#include <lmdb.h>
#include <stddef.h>

/*  Opens the LMDB environment in directory `store_dir` read-only as above
 *  (maxdbs 64). `force_nolock` 1 always uses MDB_NOLOCK (a backup being
 *  restored). Returns 0 and *env (close with mdb_env_close), or an LMDB
 *  error code with `err` = "DIR: what". */
int ctl_store_open_readonly (const char *store_dir, int force_nolock, MDB_env **env,
                             char *err, size_t errlen);

#endif

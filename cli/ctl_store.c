/*  ctl_store — see ctl_store.h. */
#include "ctl_store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
ctl_store_open_readonly (const char *store_dir, int force_nolock, MDB_env **env, char *err,
                         size_t errlen)
{
    char lock[4096];
    struct stat st;
    snprintf (lock, sizeof lock, "%s/lock.mdb", store_dir);
    unsigned flags = MDB_RDONLY | MDB_NOTLS;
    if (force_nolock || (stat (lock, &st) != 0 && errno == ENOENT))
        flags |= MDB_NOLOCK;
    *env = NULL;
    int rc = mdb_env_create (env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs (*env, 64);
    if (rc == 0)
        rc = mdb_env_open (*env, store_dir, flags, 0600);
    if (rc != 0) {
        snprintf (err, errlen, "%s: cannot open the store read-only: %s", store_dir,
                  mdb_strerror (rc));
        if (*env)
            mdb_env_close (*env);
        *env = NULL;
    }
    return rc;
}

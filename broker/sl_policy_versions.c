/*  sl_policy_versions — the stored format of policy.versions and
 *  policy.current (layout in sl_policy_store.h): the only code that reads or
 *  writes those bytes.
 */
#include "sl_policy_store.h"
#include "sl_policy_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cJSON.h>

#include "sl_error.h"
#include "sl_lmdb.h"
#include "sl_log.h"
#include "sl_registry.h"
#include "sl_schema.h"

void
sl_policy_u32_put (unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24); p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);  p[3] = (unsigned char) v;
}

uint32_t
sl_policy_u32_get (const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* ------------------------------------------------------------ versions */

void
sl_policy_version_destroy (sl_policy_version_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->text);
    free ((*self_p)->summary);
    free ((*self_p)->changes);
    free (*self_p);
    *self_p = NULL;
}

const char *
sl_policy_json_str (const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, name);
    return cJSON_IsString (v) && v->valuestring ? v->valuestring : "";
}

static int
s_decode (const MDB_val *val, sl_policy_version_t **out)
{
    cJSON *o = cJSON_ParseWithLength (val->mv_data, val->mv_size);
    if (!o)
        return SL_ECORRUPT;
    sl_policy_version_t *v = calloc (1, sizeof *v);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive (o, "version");
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive (o, "time");
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive (o, "summary");
    if (!v || !cJSON_IsNumber (ver) || !cJSON_IsString (cJSON_GetObjectItemCaseSensitive (o, "text"))) {
        free (v);
        cJSON_Delete (o);
        return v ? SL_ECORRUPT : SL_ENOMEM;
    }
    snprintf (v->owner, sizeof v->owner, "%s", sl_policy_json_str (o, "owner"));
    v->version = (uint32_t) ver->valuedouble;
    snprintf (v->actor, sizeof v->actor, "%s", sl_policy_json_str (o, "actor"));
    snprintf (v->role, sizeof v->role, "%s", sl_policy_json_str (o, "role"));
    v->time = cJSON_IsNumber (tm) ? (int64_t) tm->valuedouble : 0;
    snprintf (v->file, sizeof v->file, "%s", sl_policy_json_str (o, "file"));
    v->text = strdup (sl_policy_json_str (o, "text"));
    v->summary = sum ? cJSON_PrintUnformatted (sum) : strdup ("{}");
    v->changes = strdup (sl_policy_json_str (o, "changes"));
    cJSON_Delete (o);
    if (!v->text || !v->summary || !v->changes) {
        sl_policy_version_destroy (&v);
        return SL_ENOMEM;
    }
    *out = v;
    return 0;
}

int
sl_policy_store_current (sl_policy_store_t *self, MDB_txn *txn, const char *owner,
                         uint32_t *version)
{
    MDB_val k = { strlen (owner), (void *) owner }, v;
    *version = 0;
    if (self->absent)
        return 0;
    int rc = mdb_get (txn, self->current, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return sl_lmdb_rc (rc);
    if (v.mv_size != 4)
        return SL_ESTORE;
    *version = sl_policy_u32_get (v.mv_data);
    return 0;
}

size_t
sl_policy_version_key (unsigned char *key, const char *owner, uint32_t version)
{
    size_t n = strlen (owner);
    memcpy (key, owner, n);
    key[n] = 0;
    sl_policy_u32_put (key + n + 1, version);
    return n + 5;
}

int
sl_policy_store_get (sl_policy_store_t *self, MDB_txn *txn, const char *owner,
                     uint32_t version, sl_policy_version_t **out)
{
    *out = NULL;
    if (self->absent || !owner || !*owner || strlen (owner) > SL_POLICY_OWNER_MAX)
        return SL_ENOTFOUND;
    if (version == 0) {
        int rc = sl_policy_store_current (self, txn, owner, &version);
        if (rc != 0)
            return rc;
        if (version == 0)
            return SL_ENOTFOUND;
    }
    unsigned char key[SL_POLICY_OWNER_MAX + 8];
    MDB_val k = { sl_policy_version_key (key, owner, version), key }, v;
    int rc = mdb_get (txn, self->versions, &k, &v);
    if (rc != 0)
        return sl_lmdb_rc (rc);
    return s_decode (&v, out);
}

int
sl_policy_store_each_owner (sl_policy_store_t *self, MDB_txn *txn,
                            sl_policy_owner_fn *fn, void *arg)
{
    MDB_cursor *c;
    MDB_val k, v;
    if (self->absent)
        return 0;
    if (mdb_cursor_open (txn, self->current, &c) != 0)
        return SL_ESTORE;
    int rc = 0, mrc;
    for (mrc = mdb_cursor_get (c, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get (c, &k, &v, MDB_NEXT)) {
        char owner[SL_POLICY_OWNER_MAX + 1];
        if (k.mv_size > SL_POLICY_OWNER_MAX || v.mv_size != 4) {
            rc = SL_ECORRUPT;
            break;
        }
        memcpy (owner, k.mv_data, k.mv_size);
        owner[k.mv_size] = 0;
        if ((rc = fn (arg, owner, sl_policy_u32_get (v.mv_data))) != 0)
            break;
    }
    if (rc == 0 && mrc != MDB_NOTFOUND)
        rc = sl_lmdb_rc (mrc);
    mdb_cursor_close (c);
    return rc;
}

int
sl_policy_store_each_version (sl_policy_store_t *self, MDB_txn *txn, const char *owner,
                              sl_policy_version_fn *fn, void *arg)
{
    if (self->absent || !owner || !*owner || strlen (owner) > SL_POLICY_OWNER_MAX)
        return 0;
    unsigned char key[SL_POLICY_OWNER_MAX + 8];
    size_t plen = strlen (owner) + 1;
    MDB_val k = { sl_policy_version_key (key, owner, 0), key }, v;
    MDB_cursor *c;
    if (mdb_cursor_open (txn, self->versions, &c) != 0)
        return SL_ESTORE;
    int rc = 0, mrc;
    for (mrc = mdb_cursor_get (c, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get (c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 4 || memcmp (k.mv_data, key, plen) != 0)
            break;
        sl_policy_version_t *ver;
        if ((rc = s_decode (&v, &ver)) != 0)
            break;
        rc = fn (arg, ver);
        sl_policy_version_destroy (&ver);
        if (rc != 0)
            break;
    }
    if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = sl_lmdb_rc (mrc);
    mdb_cursor_close (c);
    return rc;
}

int
sl_policy_store_put_version (sl_policy_store_t *self, MDB_txn *txn,
                             const sl_policy_apply_result_t *r, const char *file,
                             const char *text, size_t len, const char *actor, const char *role)
{
    cJSON *o = cJSON_CreateObject ();
    char *t = strndup (text, len);
    cJSON *sum = cJSON_Parse (r->summary);
    char *packed = NULL;
    int rc = SL_ENOMEM;
    if (!o || !t || !sum) {
        cJSON_Delete (sum);
        goto done;
    }
    cJSON_AddStringToObject (o, "owner", r->owner);
    cJSON_AddNumberToObject (o, "version", r->version);
    cJSON_AddStringToObject (o, "actor", actor);
    cJSON_AddStringToObject (o, "role", role);
    cJSON_AddNumberToObject (o, "time", (double) time (NULL));
    cJSON_AddStringToObject (o, "file", file);
    cJSON_AddStringToObject (o, "text", t);
    cJSON_AddItemToObject (o, "summary", sum);
    cJSON_AddStringToObject (o, "changes", r->changes);
    if (!(packed = cJSON_PrintUnformatted (o)))
        goto done;
    unsigned char key[SL_POLICY_OWNER_MAX + 8], ver[4];
    MDB_val k = { sl_policy_version_key (key, r->owner, r->version), key };
    MDB_val v = { strlen (packed), packed };
    int mrc = mdb_put (txn, self->versions, &k, &v, MDB_NOOVERWRITE);
    if (mrc == 0) {
        sl_policy_u32_put (ver, r->version);
        MDB_val ck = { strlen (r->owner), (void *) r->owner }, cv = { 4, ver };
        mrc = mdb_put (txn, self->current, &ck, &cv, 0);
    }
    rc = sl_lmdb_rc (mrc);
done:
    cJSON_Delete (o);
    free (t);
    free (packed);
    return rc;
}

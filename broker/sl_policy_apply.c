/*  sl_policy_apply — sl_policy_store_apply and sl_policy_store_rollback:
 *  check and compile a new text with every other owner's current one, keep
 *  the index pending until the batch commits, store the version. See
 *  sl_policy_store.h (design notes 1, 2 and 4).
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

/* -------------------------------------------------------------- applying */

void
sl_policy_apply_result_clear (sl_policy_apply_result_t *r)
{
    free (r->summary);
    free (r->changes);
    sl_policy_index_destroy (&r->index);
    r->summary = r->changes = NULL;
}

/*  "+id ~id -id": rules added, changed (anything but the version), removed,
 *  comparing two summary JSON texts. */
static char *
s_changes (const char *before, const char *after)
{
    cJSON *b = before ? cJSON_Parse (before) : NULL;
    cJSON *a = cJSON_Parse (after);
    const cJSON *br = cJSON_GetObjectItemCaseSensitive (b, "rules");
    const cJSON *ar = cJSON_GetObjectItemCaseSensitive (a, "rules");
    size_t cap = 256, len = 0;
    char *out = malloc (cap);
    if (!out)
        goto done;
    out[0] = 0;
    const cJSON *r;
#define S_ADD(sign, id) do {                                                   \
        size_t need = len + strlen (id) + 3;                                    \
        if (need > cap) {                                                       \
            char *p = realloc (out, cap = need * 2);                            \
            if (!p) { free (out); out = NULL; goto done; }                      \
            out = p;                                                            \
        }                                                                       \
        len += (size_t) sprintf (out + len, "%s%c%s", len ? " " : "", sign, id);\
    } while (0)
    cJSON_ArrayForEach (r, ar) {
        const char *id = sl_policy_json_str (r, "id");
        const cJSON *old = NULL, *x;
        cJSON_ArrayForEach (x, br)
            if (strcmp (sl_policy_json_str (x, "id"), id) == 0)
                old = x;
        if (!old)
            S_ADD ('+', id);
        else {
            cJSON *o1 = cJSON_Duplicate (old, 1), *o2 = cJSON_Duplicate (r, 1);
            cJSON_DeleteItemFromObject (o1, "version");
            cJSON_DeleteItemFromObject (o2, "version");
            int same = cJSON_Compare (o1, o2, 1);
            cJSON_Delete (o1);
            cJSON_Delete (o2);
            if (!same)
                S_ADD ('~', id);
        }
    }
    cJSON_ArrayForEach (r, br) {
        const char *id = sl_policy_json_str (r, "id");
        const cJSON *x;
        int found = 0;
        cJSON_ArrayForEach (x, ar)
            found |= strcmp (sl_policy_json_str (x, "id"), id) == 0;
        if (!found)
            S_ADD ('-', id);
    }
#undef S_ADD
done:
    cJSON_Delete (a);
    cJSON_Delete (b);
    return out;
}

static int
s_owner_ok (const char *owner)
{
    if (strcmp (owner, SL_POLICY_CITY) == 0)
        return 1;
    for (size_t i = 0; i < sl_schema_count (); i++)
        if (strcmp (sl_schema_at (i)->owner, owner) == 0)
            return 1;
    return 0;
}

int
sl_policy_store_apply (sl_policy_store_t *self, MDB_txn *txn,
                       const char *owner, const char *file,
                       const char *text, size_t len,
                       const char *actor, const char *role, int dry_run,
                       sl_policy_diags_t *diags, sl_policy_apply_result_t *r)
{
    memset (r, 0, sizeof *r);
    char fname[256], want[SL_POLICY_OWNER_MAX + 8];
    sl_policy_source_t *src = NULL;
    size_t n = 0;
    sl_policy_set_t *own = NULL;
    sl_policy_version_t *prev = NULL;
    int rc;
    if (!owner || !*owner || strlen (owner) > SL_POLICY_OWNER_MAX || !s_owner_ok (owner)) {
        snprintf (r->error, sizeof r->error,
                  "unknown policy owner '%s': use 'city' or a bureau that owns record types",
                  owner ? owner : "");
        return SL_EINVAL;
    }
    snprintf (r->owner, sizeof r->owner, "%s", owner);
    snprintf (want, sizeof want, "admin:%s", owner);
    if (!role || strcmp (role, want) != 0) {
        snprintf (r->error, sizeof r->error,
                  "role '%s' may not apply the policy of '%s' (only %s may)",
                  role ? role : "", owner, want);
        return SL_EPERM;
    }
    snprintf (fname, sizeof fname, "%s", file && *file ? file : "");
    if (!fname[0])
        snprintf (fname, sizeof fname, "%s.policy", owner);

    if ((rc = sl_policy_store_current (self, txn, owner, &r->previous)) != 0)
        goto fail_store;
    r->version = r->previous + 1;
    if (r->previous) {
        rc = sl_policy_store_get (self, txn, owner, r->previous, &prev);
        if (rc != 0)
            goto fail_store;
    }
    if ((rc = sl_policy_store_sources (self, txn, &src, &n)) != 0)
        goto fail_store;

    /* the new text alone: role rule and its summary */
    if (!(own = sl_policy_set_new ()))
        goto oom;
    rc = sl_policy_set_parse (own, fname, text, len, r->version, NULL);
    if (rc == SL_ENOMEM)
        goto oom;
    int role_rc = sl_policy_set_check_role (own, role, diags);
    if (role_rc == SL_ENOMEM)
        goto oom;
    r->rules = sl_policy_set_rule_count (own);

    /* the whole set with the new text in place of the owner's */
    sl_policy_source_t extra = { .version = r->version, .text = (char *) text };
    snprintf (extra.owner, sizeof extra.owner, "%s", owner);
    snprintf (extra.file, sizeof extra.file, "%s", fname);
    sl_policy_index_t *ix = NULL;
    rc = sl_policy_store_compile_sources (self, src, n, owner, &extra, len, diags, &ix);
    if (rc == SL_ENOMEM)
        goto oom;
    if (rc != 0 || role_rc != 0) {
        sl_policy_index_destroy (&ix);
        rc = role_rc != 0 ? SL_EPERM : SL_EINVAL;
        goto out;
    }
    if (!(r->summary = sl_policy_set_summary (own))
        || !(r->changes = s_changes (prev ? prev->summary : NULL, r->summary))) {
        sl_policy_index_destroy (&ix);
        goto oom;
    }
    if (dry_run) {
        r->index = ix;
        rc = 0;
        goto out;
    }
    rc = sl_policy_store_put_version (self, txn, r, fname, text, len, actor ? actor : "", role);
    if (rc != 0) {
        sl_policy_index_destroy (&ix);
        snprintf (r->error, sizeof r->error, "cannot store the policy: %s", sl_strerror (rc));
        goto out;
    }
    sl_policy_index_destroy (&self->pending);
    self->pending = ix;
    goto out;

oom:
    rc = SL_ENOMEM;
    snprintf (r->error, sizeof r->error, "out of memory");
    goto out;
fail_store:
    snprintf (r->error, sizeof r->error, "cannot read the stored policies: %s", sl_strerror (rc));
out:
    sl_policy_store_sources_free (src, n);
    sl_policy_set_destroy (&own);
    sl_policy_version_destroy (&prev);
    if (rc != 0) {
        free (r->summary);
        free (r->changes);
        r->summary = r->changes = NULL;
    }
    return rc;
}

int
sl_policy_store_rollback (sl_policy_store_t *self, MDB_txn *txn,
                          const char *owner, uint32_t version,
                          const char *actor, const char *role, int dry_run,
                          sl_policy_diags_t *diags, sl_policy_apply_result_t *r)
{
    sl_policy_version_t *v = NULL;
    if (version == 0) {
        memset (r, 0, sizeof *r);
        snprintf (r->error, sizeof r->error, "version numbers start at 1");
        return SL_ENOTFOUND;
    }
    int rc = sl_policy_store_get (self, txn, owner, version, &v);
    if (rc != 0) {
        memset (r, 0, sizeof *r);
        snprintf (r->error, sizeof r->error, "%s has no stored policy version %u",
                  owner ? owner : "", version);
        return rc;
    }
    rc = sl_policy_store_apply (self, txn, owner, v->file, v->text, strlen (v->text),
                                actor, role, dry_run, diags, r);
    sl_policy_version_destroy (&v);
    return rc;
}

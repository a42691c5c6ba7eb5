/*  sl_admin_policy_lint — the lints of policy.apply (dry run or not) and
 *  the "widens access" summary of a dry run; see sl_admin_policy.h.
 *
 *  The text being applied is linted together with every other owner's
 *  current policy (city first, then bureaus by name, as the store parses
 *  them), so that a city forbid cancelling a bureau's permit is seen, but
 *  only warnings located in the text being applied are reported. */
#include "sl_admin_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"
#include "sl_policy_lint.h"
#include "sl_policy_store.h"
#include "sl_subs.h"

typedef struct {
    sl_policy_store_t *store;
    MDB_txn *txn;
    sl_policy_set_t *set;
    const char *skip;          /* the owner being applied */
    int city_pass;
} s_collect_t;

static int
s_add_owner (void *arg, const char *owner, uint32_t current)
{
    s_collect_t *c = arg;
    int is_city = strcmp (owner, SL_POLICY_CITY) == 0;
    if (strcmp (owner, c->skip) == 0 || is_city != c->city_pass || current == 0)
        return 0;
    sl_policy_version_t *v = NULL;
    int rc = sl_policy_store_get (c->store, c->txn, owner, current, &v);
    if (rc != 0)
        return 0;                         /* the checker reports what is wrong */
    char file[400];                       /* never the name of the text being linted */
    snprintf (file, sizeof file, "%s (%s's policy in force)", v->file[0] ? v->file : owner, owner);
    rc = sl_policy_set_parse (c->set, file, v->text, strlen (v->text), v->version, NULL);
    sl_policy_version_destroy (&v);
    return rc == SL_ENOMEM ? rc : 0;
}

int
sl_admin_policy_current_set (const sl_admin_ctx_t *ctx, MDB_txn *txn, const char *skip_owner,
                             sl_policy_set_t *set)
{
    s_collect_t c = { ctx->policy, txn, set, skip_owner ? skip_owner : "", 1 };
    int rc = sl_policy_store_each_owner (c.store, txn, s_add_owner, &c);
    c.city_pass = 0;
    if (rc == 0)
        rc = sl_policy_store_each_owner (c.store, txn, s_add_owner, &c);
    return rc;
}

int
sl_admin_policy_lint (const sl_admin_ctx_t *ctx, MDB_txn *txn, const char *owner, const char *file,
                      const char *text, size_t len, int64_t now, sl_policy_diags_t *warnings)
{
    sl_policy_set_t *set = sl_policy_set_new ();
    sl_policy_lint_sub_t *subs = NULL;
    int rc = SL_ENOMEM;
    if (!set)
        goto out;
    if ((rc = sl_admin_policy_current_set (ctx, txn, owner, set)) != 0)
        goto out;
    const char *name = file && *file ? file : owner;
    if (sl_policy_set_parse (set, name, text, len, 0, NULL) == SL_ENOMEM) {
        rc = SL_ENOMEM;
        goto out;
    }
    sl_subs_t *all = ctx->subs;
    size_t n = sl_subs_count (all);
    subs = calloc (n + 1, sizeof *subs);
    if (!subs) {
        rc = SL_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const sl_sub_t *s = sl_subs_at (all, i);
        subs[i] = (sl_policy_lint_sub_t) { s->consumer, s->record_type, s->purpose };
    }
    const char *only[] = { name };
    sl_policy_lint_opts_t o = { .now = now, .subs_known = true, .subs = subs, .n_subs = n,
                                .only_files = only, .n_only_files = 1 };
    rc = sl_policy_set_lint (set, &o, warnings);
out:
    free (subs);
    sl_policy_set_destroy (&set);
    return rc;
}

/*  Protection order of the subject handling: keep < pseudonymize < drop. */
static const char *const s_subject[] = { "keep", "pseudonymize", "drop" };

static const char *
s_coarsen (sl_policy_coarsen_t c)
{
    return c == SL_POLICY_COARSEN_MINUTE ? "minute" : c == SL_POLICY_COARSEN_HOUR ? "hour"
         : c == SL_POLICY_COARSEN_DAY ? "day" : "exact";
}

int
sl_admin_policy_widening (const sl_policy_diff_t *d, char **text_p, size_t *count)
{
    char *out = NULL;
    size_t size = 0;
    FILE *f = open_memstream (&out, &size);
    if (!f)
        return SL_ENOMEM;
    *count = 0;
    for (size_t i = 0; i < sl_policy_diff_count (d); i++) {
        const sl_policy_change_t *c = sl_policy_diff_at (d, i);
        bool gained = c->after > c->before;
        bool more_fields = false;
        for (size_t k = 0; k < SL_POLICY_MAX_FIELDS / 64; k++)
            more_fields |= c->fields_added[k] != 0;
        bool subject = c->after != SL_POLICY_ACCESS_NONE && c->before != SL_POLICY_ACCESS_NONE
                    && c->subject_after < c->subject_before;
        bool finer = c->after != SL_POLICY_ACCESS_NONE && c->before != SL_POLICY_ACCESS_NONE
                  && c->coarsen_after < c->coarsen_before;
        if (!gained && !more_fields && !subject && !finer)
            continue;
        (*count)++;
        fprintf (f, "%s %s %s:", c->consumer, c->record_type, c->purpose);
        const char *sep = " ";
        if (gained) {
            fprintf (f, "%s%s", sep, c->before == SL_POLICY_ACCESS_NONE ? "gains access"
                                                                      : "becomes unconditional");
            sep = "; ";
        }
        if (more_fields && c->before != SL_POLICY_ACCESS_NONE) {
            const sl_schema_t *s = sl_schema_find (c->record_type);
            fprintf (f, "%sfields", sep);
            for (unsigned k = 0; s && k < s->descriptor->n_fields && k < SL_POLICY_MAX_FIELDS; k++)
                if (c->fields_added[k / 64] >> (k % 64) & 1)
                    fprintf (f, " +%s", s->descriptor->fields[k].name);
            sep = "; ";
        }
        if (subject) {
            fprintf (f, "%ssubject %s -> %s", sep, s_subject[c->subject_before],
                     s_subject[c->subject_after]);
            sep = "; ";
        }
        if (finer)
            fprintf (f, "%stime %s -> %s", sep, s_coarsen (c->coarsen_before),
                     s_coarsen (c->coarsen_after));
        fprintf (f, "\n");
    }
    if (fclose (f) != 0) {
        free (out);
        return SL_ENOMEM;
    }
    *text_p = out;
    return 0;
}

/*  The purpose names a summary declares, as a JSON array (or NULL). */
static cJSON *
s_purposes (const char *text, size_t len)
{
    sl_policy_set_t *set = sl_policy_set_new ();
    if (!set)
        return NULL;
    sl_policy_set_parse (set, "p", text, len, 0, NULL);
    char *sum = sl_policy_set_summary (set);
    sl_policy_set_destroy (&set);
    cJSON *j = sum ? cJSON_Parse (sum) : NULL;
    free (sum);
    cJSON *out = cJSON_CreateArray ();
    const cJSON *p;
    cJSON_ArrayForEach (p, cJSON_GetObjectItemCaseSensitive (j, "purposes")) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive (p, "name");
        if (cJSON_IsString (n))
            cJSON_AddItemToArray (out, cJSON_CreateString (n->valuestring));
    }
    cJSON_Delete (j);
    return out;
}

static int
s_has_name (const cJSON *arr, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach (e, arr)
        if (cJSON_IsString (e) && strcmp (e->valuestring, name) == 0)
            return 1;
    return 0;
}

int
sl_admin_policy_purpose_changes (const sl_admin_ctx_t *ctx, MDB_txn *txn, const char *owner,
                                 const char *text, size_t len, cJSON *result)
{
    if (strcmp (owner, SL_POLICY_CITY) != 0)
        return 0;
    sl_policy_store_t *store = ctx->policy;
    uint32_t cur = 0;
    sl_policy_version_t *v = NULL;
    cJSON *before = NULL, *after = s_purposes (text, len);
    if (sl_policy_store_current (store, txn, owner, &cur) == 0 && cur
        && sl_policy_store_get (store, txn, owner, cur, &v) == 0)
        before = s_purposes (v->text, strlen (v->text));
    sl_policy_version_destroy (&v);
    if (!before)
        before = cJSON_CreateArray ();
    cJSON *added = cJSON_AddArrayToObject (result, "purposes_added");
    cJSON *removed = cJSON_AddArrayToObject (result, "purposes_removed");
    int rc = after && before && added && removed ? 0 : SL_ENOMEM;
    const cJSON *e;
    cJSON_ArrayForEach (e, after)
        if (!s_has_name (before, e->valuestring))
            cJSON_AddItemToArray (added, cJSON_CreateString (e->valuestring));
    cJSON_ArrayForEach (e, before)
        if (!s_has_name (after, e->valuestring))
            cJSON_AddItemToArray (removed, cJSON_CreateString (e->valuestring));
    cJSON_Delete (before);
    cJSON_Delete (after);
    return rc;
}

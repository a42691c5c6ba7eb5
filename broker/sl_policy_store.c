/*  sl_policy_store — policy versions in LMDB and the index in force.
 *  See sl_policy_store.h for the layout and the design notes.
 */
#include "sl_policy_store.h"

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

struct sl_policy_store_t {
    MDB_dbi versions, current;
    sl_registry_t *registry;
    sl_policy_index_t *index;      /* in force, never NULL */
    sl_policy_index_t *pending;    /* compiled by an apply, waiting for commit */
    uint64_t generation;
    /* never brick: owners whose stored text no longer checks (a type or
       field it names is not registered), left out of the index in force */
    char aside[SL_POLICY_ASIDE_MAX][SL_POLICY_OWNER_MAX + 1];
    uint32_t aside_version[SL_POLICY_ASIDE_MAX];
    size_t n_aside;
    char *aside_text;
};

/* one current source while a set is built */
typedef struct {
    char owner[SL_POLICY_OWNER_MAX + 1];
    uint32_t version;
    char file[256];
    char *text;
} s_source_t;

static void
s_put_u32 (unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24); p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);  p[3] = (unsigned char) v;
}

static uint32_t
s_get_u32 (const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/*  An empty, checked, compiled index: denies everything. */
static sl_policy_index_t *
s_empty_index (void)
{
    sl_policy_set_t *set = sl_policy_set_new ();
    sl_policy_index_t *ix = NULL;
    if (set && sl_policy_set_check (set, NULL, NULL) == 0)
        ix = sl_policy_index_new (set, NULL);
    sl_policy_set_destroy (&set);
    return ix;
}

sl_policy_store_t *
sl_policy_store_new (MDB_txn *txn, sl_registry_t *registry, int *rc_p)
{
    int rc = SL_ENOMEM;
    sl_policy_store_t *self = calloc (1, sizeof *self);
    if (!self)
        goto fail;
    self->registry = registry;
    if (mdb_dbi_open (txn, "policy.versions", MDB_CREATE, &self->versions) != 0
        || mdb_dbi_open (txn, "policy.current", MDB_CREATE, &self->current) != 0) {
        rc = SL_ESTORE;
        goto fail;
    }
    if (!(self->index = s_empty_index ()))
        goto fail;
    return self;
fail:
    if (rc_p)
        *rc_p = rc;
    sl_policy_store_destroy (&self);
    return NULL;
}

void
sl_policy_store_destroy (sl_policy_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_policy_store_t *self = *self_p;
    sl_policy_index_destroy (&self->index);
    sl_policy_index_destroy (&self->pending);
    free (self->aside_text);
    free (self);
    *self_p = NULL;
}

const sl_policy_index_t *
sl_policy_store_index (const sl_policy_store_t *self)
{
    return self->index;
}

uint64_t
sl_policy_store_generation (const sl_policy_store_t *self)
{
    return self->generation;
}

void
sl_policy_store_txn_outcome (void *ctx, int committed)
{
    sl_policy_store_t *self = ctx;
    if (!self->pending)
        return;
    if (committed) {
        sl_policy_index_destroy (&self->index);
        self->index = self->pending;
        self->pending = NULL;
        self->generation++;
        sl_info ("policy.in_force", "rules=%zu generation=%llu",
                 sl_policy_index_rule_count (self->index),
                 (unsigned long long) self->generation);
    }
    else
        sl_policy_index_destroy (&self->pending);
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

static const char *
s_jstr (const cJSON *o, const char *name)
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
    snprintf (v->owner, sizeof v->owner, "%s", s_jstr (o, "owner"));
    v->version = (uint32_t) ver->valuedouble;
    snprintf (v->actor, sizeof v->actor, "%s", s_jstr (o, "actor"));
    snprintf (v->role, sizeof v->role, "%s", s_jstr (o, "role"));
    v->time = cJSON_IsNumber (tm) ? (int64_t) tm->valuedouble : 0;
    snprintf (v->file, sizeof v->file, "%s", s_jstr (o, "file"));
    v->text = strdup (s_jstr (o, "text"));
    v->summary = sum ? cJSON_PrintUnformatted (sum) : strdup ("{}");
    v->changes = strdup (s_jstr (o, "changes"));
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
    int rc = mdb_get (txn, self->current, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return sl_lmdb_rc (rc);
    if (v.mv_size != 4)
        return SL_ESTORE;
    *version = s_get_u32 (v.mv_data);
    return 0;
}

static size_t
s_vkey (unsigned char *key, const char *owner, uint32_t version)
{
    size_t n = strlen (owner);
    memcpy (key, owner, n);
    key[n] = 0;
    s_put_u32 (key + n + 1, version);
    return n + 5;
}

int
sl_policy_store_get (sl_policy_store_t *self, MDB_txn *txn, const char *owner,
                     uint32_t version, sl_policy_version_t **out)
{
    *out = NULL;
    if (!owner || !*owner || strlen (owner) > SL_POLICY_OWNER_MAX)
        return SL_ENOTFOUND;
    if (version == 0) {
        int rc = sl_policy_store_current (self, txn, owner, &version);
        if (rc != 0)
            return rc;
        if (version == 0)
            return SL_ENOTFOUND;
    }
    unsigned char key[SL_POLICY_OWNER_MAX + 8];
    MDB_val k = { s_vkey (key, owner, version), key }, v;
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
        if ((rc = fn (arg, owner, s_get_u32 (v.mv_data))) != 0)
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
    if (!owner || !*owner || strlen (owner) > SL_POLICY_OWNER_MAX)
        return 0;
    unsigned char key[SL_POLICY_OWNER_MAX + 8];
    size_t plen = strlen (owner) + 1;
    MDB_val k = { s_vkey (key, owner, 0), key }, v;
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

/* ------------------------------------------------------------ compiling */

typedef struct {
    sl_policy_store_t *self;
    MDB_txn *txn;
    s_source_t *src;
    size_t n, cap;
    int rc;
} s_collect_t;

static int
s_collect_one (void *arg, const char *owner, uint32_t current)
{
    s_collect_t *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        s_source_t *p = realloc (c->src, cap * sizeof *p);
        if (!p)
            return SL_ENOMEM;
        c->src = p;
        c->cap = cap;
    }
    sl_policy_version_t *v;
    int rc = sl_policy_store_get (c->self, c->txn, owner, current, &v);
    if (rc != 0)
        return rc == SL_ENOTFOUND ? SL_ECORRUPT : rc;
    s_source_t *s = &c->src[c->n++];
    snprintf (s->owner, sizeof s->owner, "%s", owner);
    s->version = current;
    snprintf (s->file, sizeof s->file, "%s", v->file[0] ? v->file : owner);
    s->text = v->text;
    v->text = NULL;
    sl_policy_version_destroy (&v);
    return 0;
}

static void
s_sources_free (s_source_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free (src[i].text);
    free (src);
}

/*  City first, then bureaus by name (LMDB order). */
static int
s_sources (sl_policy_store_t *self, MDB_txn *txn, s_source_t **out, size_t *n)
{
    s_collect_t c = { .self = self, .txn = txn };
    int rc = sl_policy_store_each_owner (self, txn, s_collect_one, &c);
    if (rc != 0) {
        s_sources_free (c.src, c.n);
        return rc;
    }
    for (size_t i = 0; i < c.n; i++)
        for (size_t a = 0; a < self->n_aside; a++)
            if (strcmp (c.src[i].owner, self->aside[a]) == 0) {
                free (c.src[i].text);
                memmove (&c.src[i], &c.src[i + 1], (c.n - i - 1) * sizeof *c.src);
                c.n--;
                i--;
                break;
            }
    for (size_t i = 0; i < c.n; i++)
        if (strcmp (c.src[i].owner, SL_POLICY_CITY) == 0 && i > 0) {
            s_source_t city = c.src[i];
            memmove (&c.src[1], &c.src[0], i * sizeof city);
            c.src[0] = city;
        }
    *out = c.src;
    *n = c.n;
    return 0;
}

static sl_policy_catalog_t *
s_catalog (sl_policy_store_t *self)
{
    sl_policy_catalog_t *cat = sl_policy_catalog_new ();
    if (!cat || !self->registry)
        return cat;
    for (size_t i = 0; i < sl_registry_count (self->registry); i++) {
        const sl_member_t *m = sl_registry_at (self->registry, i);
        int rc = sl_policy_catalog_add_member (cat, m->name, m->role);
        if (rc != 0 && rc != SL_EEXIST) {
            sl_policy_catalog_destroy (&cat);
            return NULL;
        }
    }
    return cat;
}

/*  Parses the sources (skipping `skip_owner`'s), then `extra` if given, into
 *  one set, checks and compiles it. */
static int
s_compile (sl_policy_store_t *self, s_source_t *src, size_t n, const char *skip_owner,
           const s_source_t *extra, size_t extra_len, sl_policy_diags_t *diags,
           sl_policy_index_t **out)
{
    int rc = SL_ENOMEM, bad = 0;
    *out = NULL;
    sl_policy_set_t *set = sl_policy_set_new ();
    sl_policy_catalog_t *cat = s_catalog (self);
    if (!set || !cat)
        goto done;
    int city_done = 0;
    for (size_t i = 0; i <= n; i++) {
        /* the new city text goes first, where the city's stored text was */
        if (extra && !city_done && strcmp (extra->owner, SL_POLICY_CITY) == 0) {
            rc = sl_policy_set_parse (set, extra->file, extra->text, extra_len, extra->version, diags);
            if (rc == SL_ENOMEM)
                goto done;
            bad |= rc != 0;
            city_done = 1;
        }
        if (i == n)
            break;
        if (skip_owner && strcmp (src[i].owner, skip_owner) == 0)
            continue;
        rc = sl_policy_set_parse (set, src[i].file, src[i].text, strlen (src[i].text),
                                  src[i].version, diags);
        if (rc == SL_ENOMEM)
            goto done;
        bad |= rc != 0;
    }
    if (extra && !city_done) {
        rc = sl_policy_set_parse (set, extra->file, extra->text, extra_len, extra->version, diags);
        if (rc == SL_ENOMEM)
            goto done;
        bad |= rc != 0;
    }
    rc = sl_policy_set_check (set, cat, diags);
    if (rc == SL_ENOMEM)
        goto done;
    bad |= rc != 0;
    if (bad) {
        rc = SL_EINVAL;
        goto done;
    }
    rc = (*out = sl_policy_index_new (set, diags)) ? 0 : SL_ENOMEM;
done:
    sl_policy_set_destroy (&set);
    sl_policy_catalog_destroy (&cat);
    return rc;
}

int
sl_policy_store_compile_at (sl_policy_store_t *self, MDB_txn *txn, const char *owner,
                            uint32_t version, sl_policy_diags_t *diags,
                            sl_policy_index_t **index_p)
{
    s_source_t *src = NULL, extra = { .version = version };
    sl_policy_version_t *v = NULL;
    size_t n = 0;
    *index_p = NULL;
    int rc = s_sources (self, txn, &src, &n);
    if (rc != 0)
        return rc;
    if (version != 0) {
        if ((rc = sl_policy_store_get (self, txn, owner, version, &v)) != 0)
            goto out;
        snprintf (extra.owner, sizeof extra.owner, "%s", owner);
        snprintf (extra.file, sizeof extra.file, "%s", v->file[0] ? v->file : owner);
        extra.text = v->text;
    }
    /* the owner keeps its place in the order (city first, bureaus by name) */
    size_t at = n;
    for (size_t i = 0; i < n; i++)
        if (strcmp (src[i].owner, owner) == 0)
            at = i;
    if (version != 0 && at < n) {
        free (src[at].text);
        src[at].text = extra.text;
        src[at].version = version;
        snprintf (src[at].file, sizeof src[at].file, "%s", extra.file);
        v->text = NULL;
        rc = s_compile (self, src, n, NULL, NULL, 0, diags, index_p);
    } else if (version != 0)
        rc = s_compile (self, src, n, NULL, &extra, strlen (extra.text), diags, index_p);
    else
        rc = s_compile (self, src, n, owner, NULL, 0, diags, index_p);
out:
    sl_policy_version_destroy (&v);
    s_sources_free (src, n);
    return rc;
}

/*  Never brick: the stored set does not check (a type or field it names is
 *  not registered, a member is gone). Owners are added one at a time, city
 *  first; one whose text makes the set fail is set aside, with its errors
 *  in self->aside_text, and the rest is compiled. */
static int
s_set_aside (sl_policy_store_t *self, s_source_t *src, size_t n, sl_policy_diags_t *diags,
             sl_policy_index_t **out)
{
    s_source_t *kept = calloc (n ? n : 1, sizeof *kept);
    size_t nk = 0, tcap = 0, tlen = 0;
    int rc = SL_ENOMEM;
    if (!kept)
        return rc;
    for (size_t i = 0; i < n; i++) {
        kept[nk++] = src[i];
        sl_policy_diags_t *d = sl_policy_diags_new ();
        sl_policy_index_t *ix = NULL;
        if (!d)
            goto out;
        rc = s_compile (self, kept, nk, NULL, NULL, 0, d, &ix);
        sl_policy_index_destroy (&ix);
        if (rc == SL_EINVAL && self->n_aside < SL_POLICY_ASIDE_MAX) {
            nk--;
            snprintf (self->aside[self->n_aside], sizeof self->aside[0], "%s", src[i].owner);
            self->aside_version[self->n_aside++] = src[i].version;
            char *t = sl_policy_diags_render (d);
            size_t need = tlen + strlen (src[i].owner) + (t ? strlen (t) : 0) + 64;
            if (need > tcap) {
                char *p = realloc (self->aside_text, tcap = need * 2);
                if (!p) {
                    free (t);
                    sl_policy_diags_destroy (&d);
                    rc = SL_ENOMEM;
                    goto out;
                }
                self->aside_text = p;
            }
            tlen += (size_t) sprintf (self->aside_text + tlen, "%s version %u set aside:\n%s",
                                      src[i].owner, src[i].version, t ? t : "");
            sl_warn ("policy.set-aside", "owner=%s version=%u reason=\"%s\"", src[i].owner,
                     src[i].version, t ? t : "");
            free (t);
        }
        sl_policy_diags_destroy (&d);
        if (rc != 0 && rc != SL_EINVAL)
            goto out;
    }
    rc = s_compile (self, kept, nk, NULL, NULL, 0, diags, out);
out:
    free (kept);
    return rc;
}

int
sl_policy_store_check (sl_policy_store_t *self, MDB_txn *txn, sl_policy_diags_t *diags)
{
    s_source_t *src = NULL;
    size_t n = 0;
    int rc = s_sources (self, txn, &src, &n);
    if (rc != 0)
        return rc;
    sl_policy_index_t *ix = NULL;
    rc = s_compile (self, src, n, NULL, NULL, 0, diags, &ix);
    sl_policy_index_destroy (&ix);
    s_sources_free (src, n);
    return rc;
}

size_t
sl_policy_store_aside_count (const sl_policy_store_t *self)
{
    return self->n_aside;
}

const char *
sl_policy_store_aside_owner (const sl_policy_store_t *self, size_t i, uint32_t *version)
{
    if (i >= self->n_aside)
        return NULL;
    if (version)
        *version = self->aside_version[i];
    return self->aside[i];
}

const char *
sl_policy_store_aside_text (const sl_policy_store_t *self)
{
    return self->aside_text ? self->aside_text : "";
}

int
sl_policy_store_load (sl_policy_store_t *self, MDB_txn *txn, sl_policy_diags_t *diags)
{
    s_source_t *src = NULL;
    size_t n = 0;
    self->n_aside = 0;                /* every owner gets a new chance */
    free (self->aside_text);
    self->aside_text = NULL;
    int rc = s_sources (self, txn, &src, &n);
    if (rc != 0)
        return rc;
    sl_policy_index_t *ix;
    rc = s_compile (self, src, n, NULL, NULL, 0, diags, &ix);
    if (rc == SL_EINVAL)
        rc = s_set_aside (self, src, n, diags, &ix);
    s_sources_free (src, n);
    if (rc != 0)
        return rc;
    sl_policy_index_destroy (&self->index);
    sl_policy_index_destroy (&self->pending);
    self->index = ix;
    self->generation++;
    return 0;
}

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
        const char *id = s_jstr (r, "id");
        const cJSON *old = NULL, *x;
        cJSON_ArrayForEach (x, br)
            if (strcmp (s_jstr (x, "id"), id) == 0)
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
        const char *id = s_jstr (r, "id");
        const cJSON *x;
        int found = 0;
        cJSON_ArrayForEach (x, ar)
            found |= strcmp (s_jstr (x, "id"), id) == 0;
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

static int
s_store (sl_policy_store_t *self, MDB_txn *txn, const sl_policy_apply_result_t *r,
         const char *file, const char *text, size_t len, const char *actor, const char *role)
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
    MDB_val k = { s_vkey (key, r->owner, r->version), key };
    MDB_val v = { strlen (packed), packed };
    int mrc = mdb_put (txn, self->versions, &k, &v, MDB_NOOVERWRITE);
    if (mrc == 0) {
        s_put_u32 (ver, r->version);
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

int
sl_policy_store_apply (sl_policy_store_t *self, MDB_txn *txn,
                       const char *owner, const char *file,
                       const char *text, size_t len,
                       const char *actor, const char *role, int dry_run,
                       sl_policy_diags_t *diags, sl_policy_apply_result_t *r)
{
    memset (r, 0, sizeof *r);
    char fname[256], want[SL_POLICY_OWNER_MAX + 8];
    s_source_t *src = NULL;
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
    if ((rc = s_sources (self, txn, &src, &n)) != 0)
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
    s_source_t extra = { .version = r->version, .text = (char *) text };
    snprintf (extra.owner, sizeof extra.owner, "%s", owner);
    snprintf (extra.file, sizeof extra.file, "%s", fname);
    sl_policy_index_t *ix = NULL;
    rc = s_compile (self, src, n, owner, &extra, len, diags, &ix);
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
    rc = s_store (self, txn, r, fname, text, len, actor ? actor : "", role);
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
    s_sources_free (src, n);
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

/*  sl_policy_store — the index in force: opening the store, compiling the
 *  current texts (one compile path for load, apply, diff, rollback and
 *  check), never brick. See sl_policy_store.h for the layout and the design
 *  notes; the stored format is in sl_policy_versions.c, apply and rollback
 *  in sl_policy_apply.c.
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

/*  Opens the two databases with `flags` (MDB_CREATE for the broker, 0 for
 *  an offline reader, where missing databases mean nothing was applied). */
static sl_policy_store_t *
s_open (MDB_txn *txn, sl_registry_t *registry, unsigned flags, int *rc_p)
{
    int rc = SL_ENOMEM;
    sl_policy_store_t *self = calloc (1, sizeof *self);
    if (!self)
        goto fail;
    self->registry = registry;
    int mv = mdb_dbi_open (txn, "policy.versions", flags, &self->versions);
    int mc = mv == 0 ? mdb_dbi_open (txn, "policy.current", flags, &self->current) : mv;
    if (!(flags & MDB_CREATE) && mc == MDB_NOTFOUND)
        self->absent = 1;
    else if (mc != 0) {
        rc = flags & MDB_CREATE ? SL_ESTORE : sl_lmdb_rc (mc);
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

sl_policy_store_t *
sl_policy_store_new (MDB_txn *txn, sl_registry_t *registry, int *rc_p)
{
    return s_open (txn, registry, MDB_CREATE, rc_p);
}

sl_policy_store_t *
sl_policy_store_open_rdonly (MDB_txn *txn, sl_registry_t *registry, int *rc_p)
{
    return s_open (txn, registry, 0, rc_p);
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

/* ------------------------------------------------------------ compiling */

typedef struct {
    sl_policy_store_t *self;
    MDB_txn *txn;
    sl_policy_source_t *src;
    size_t n, cap;
    int rc;
} s_collect_t;

static int
s_collect_one (void *arg, const char *owner, uint32_t current)
{
    s_collect_t *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        sl_policy_source_t *p = realloc (c->src, cap * sizeof *p);
        if (!p)
            return SL_ENOMEM;
        c->src = p;
        c->cap = cap;
    }
    sl_policy_version_t *v;
    int rc = sl_policy_store_get (c->self, c->txn, owner, current, &v);
    if (rc != 0)
        return rc == SL_ENOTFOUND ? SL_ECORRUPT : rc;
    sl_policy_source_t *s = &c->src[c->n++];
    snprintf (s->owner, sizeof s->owner, "%s", owner);
    s->version = current;
    snprintf (s->file, sizeof s->file, "%s", v->file[0] ? v->file : owner);
    s->text = v->text;
    v->text = NULL;
    sl_policy_version_destroy (&v);
    return 0;
}

void
sl_policy_store_sources_free (sl_policy_source_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free (src[i].text);
    free (src);
}

/*  City first, then bureaus by name (LMDB order). */
int
sl_policy_store_sources (sl_policy_store_t *self, MDB_txn *txn, sl_policy_source_t **out,
                         size_t *n)
{
    s_collect_t c = { .self = self, .txn = txn };
    int rc = sl_policy_store_each_owner (self, txn, s_collect_one, &c);
    if (rc != 0) {
        sl_policy_store_sources_free (c.src, c.n);
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
            sl_policy_source_t city = c.src[i];
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
int
sl_policy_store_compile_sources (sl_policy_store_t *self, sl_policy_source_t *src, size_t n,
                                 const char *skip_owner, const sl_policy_source_t *extra,
                                 size_t extra_len, sl_policy_diags_t *diags,
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
    sl_policy_source_t *src = NULL, extra = { .version = version };
    sl_policy_version_t *v = NULL;
    size_t n = 0;
    *index_p = NULL;
    int rc = sl_policy_store_sources (self, txn, &src, &n);
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
        rc = sl_policy_store_compile_sources (self, src, n, NULL, NULL, 0, diags, index_p);
    } else if (version != 0)
        rc = sl_policy_store_compile_sources (self, src, n, NULL, &extra, strlen (extra.text),
                                              diags, index_p);
    else
        rc = sl_policy_store_compile_sources (self, src, n, owner, NULL, 0, diags, index_p);
out:
    sl_policy_version_destroy (&v);
    sl_policy_store_sources_free (src, n);
    return rc;
}

/*  Never brick: the stored set does not check (a type or field it names is
 *  not registered, a member is gone). Owners are added one at a time, city
 *  first; one whose text makes the set fail is set aside, with its errors
 *  in self->aside_text, and the rest is compiled. */
static int
s_set_aside (sl_policy_store_t *self, sl_policy_source_t *src, size_t n, sl_policy_diags_t *diags,
             sl_policy_index_t **out)
{
    sl_policy_source_t *kept = calloc (n ? n : 1, sizeof *kept);
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
        rc = sl_policy_store_compile_sources (self, kept, nk, NULL, NULL, 0, d, &ix);
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
    rc = sl_policy_store_compile_sources (self, kept, nk, NULL, NULL, 0, diags, out);
out:
    free (kept);
    return rc;
}

int
sl_policy_store_check (sl_policy_store_t *self, MDB_txn *txn, sl_policy_diags_t *diags)
{
    sl_policy_source_t *src = NULL;
    size_t n = 0;
    int rc = sl_policy_store_sources (self, txn, &src, &n);
    if (rc != 0)
        return rc;
    sl_policy_index_t *ix = NULL;
    rc = sl_policy_store_compile_sources (self, src, n, NULL, NULL, 0, diags, &ix);
    sl_policy_index_destroy (&ix);
    sl_policy_store_sources_free (src, n);
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
    sl_policy_source_t *src = NULL;
    size_t n = 0;
    self->n_aside = 0;                /* every owner gets a new chance */
    free (self->aside_text);
    self->aside_text = NULL;
    int rc = sl_policy_store_sources (self, txn, &src, &n);
    if (rc != 0)
        return rc;
    sl_policy_index_t *ix;
    rc = sl_policy_store_compile_sources (self, src, n, NULL, NULL, 0, diags, &ix);
    if (rc == SL_EINVAL)
        rc = s_set_aside (self, src, n, diags, &ix);
    sl_policy_store_sources_free (src, n);
    if (rc != 0)
        return rc;
    sl_policy_index_destroy (&self->index);
    sl_policy_index_destroy (&self->pending);
    self->index = ix;
    self->generation++;
    return 0;
}

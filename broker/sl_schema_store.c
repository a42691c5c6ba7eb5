/*  sl_schema_store — registered record types in LMDB. See sl_schema_store.h. */
#include "sl_schema_store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_descset.h"
#include "sl_error.h"
#include "sl_lmdb.h"
#include "sl_log.h"
#include "sl_schema_evolve.h"
#include "sl_role.h"

struct sl_schema_store_t {
    MDB_dbi versions, current;
    int absent;                      /* read-only open, nothing ever registered */
    sl_schema_t **pending;           /* written, waiting for the commit */
    size_t n_pending, cap_pending;
    sl_schema_change_fn *on_change;
    void *on_change_arg;
};

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

/*  Opens the two databases with `flags` (MDB_CREATE for the broker, 0 for
 *  an offline reader, where missing databases mean nothing was registered). */
static sl_schema_store_t *
s_open (MDB_txn *txn, unsigned flags, int *rc_p)
{
    sl_schema_store_t *self = calloc (1, sizeof *self);
    int rc = SL_ENOMEM;
    if (!self)
        goto fail;
    int mv = mdb_dbi_open (txn, "schema.versions", flags, &self->versions);
    int mc = mv == 0 ? mdb_dbi_open (txn, "schema.current", flags, &self->current) : mv;
    if (!(flags & MDB_CREATE) && mc == MDB_NOTFOUND)
        self->absent = 1;
    else if (mc != 0) {
        rc = flags & MDB_CREATE ? SL_ESTORE : sl_lmdb_rc (mc);
        goto fail;
    }
    return self;
fail:
    free (self);
    if (rc_p)
        *rc_p = rc;
    return NULL;
}

sl_schema_store_t *
sl_schema_store_new (MDB_txn *txn, int *rc_p)
{
    return s_open (txn, MDB_CREATE, rc_p);
}

sl_schema_store_t *
sl_schema_store_open_rdonly (MDB_txn *txn, int *rc_p)
{
    return s_open (txn, 0, rc_p);
}

void
sl_schema_store_destroy (sl_schema_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_schema_store_t *self = *self_p;
    for (size_t i = 0; i < self->n_pending; i++)
        sl_schema_free (&self->pending[i]);
    free (self->pending);
    free (self);
    *self_p = NULL;
}

void
sl_schema_store_on_change (sl_schema_store_t *self, sl_schema_change_fn *fn, void *arg)
{
    self->on_change = fn;
    self->on_change_arg = arg;
}

int
sl_schema_store_get (sl_schema_store_t *self, MDB_txn *txn, const char *type, uint32_t version,
                     Sluice__V1__SchemaVersion **out)
{
    *out = NULL;
    if (self->absent)
        return SL_ENOTFOUND;
    size_t tl = strlen (type);
    MDB_val k = { tl, (void *) type }, v;
    int mrc;
    if (version == 0) {
        if ((mrc = mdb_get (txn, self->current, &k, &v)) != 0)
            return sl_lmdb_rc (mrc);
        if (v.mv_size != 4)
            return SL_ECORRUPT;
        version = s_get_u32 (v.mv_data);
    }
    unsigned char key[SL_SCHEMA_NAME_MAX + 6];
    if (tl > SL_SCHEMA_NAME_MAX)
        return SL_ENOTFOUND;
    memcpy (key, type, tl);
    key[tl] = 0;
    s_put_u32 (key + tl + 1, version);
    k.mv_size = tl + 5;
    k.mv_data = key;
    if ((mrc = mdb_get (txn, self->versions, &k, &v)) != 0)
        return sl_lmdb_rc (mrc);
    *out = sluice__v1__schema_version__unpack (NULL, v.mv_size, v.mv_data);
    return *out ? 0 : SL_ECORRUPT;
}

int
sl_schema_store_each_version (sl_schema_store_t *self, MDB_txn *txn, const char *type,
                              sl_schema_version_fn *fn, void *arg)
{
    size_t tl = strlen (type);
    if (self->absent || tl > SL_SCHEMA_NAME_MAX)
        return 0;
    unsigned char key[SL_SCHEMA_NAME_MAX + 6];
    memcpy (key, type, tl);
    key[tl] = 0;
    s_put_u32 (key + tl + 1, 0);
    MDB_cursor *cur;
    if (mdb_cursor_open (txn, self->versions, &cur) != 0)
        return SL_ESTORE;
    MDB_val k = { tl + 5, key }, v;
    int rc = 0, mrc;
    for (mrc = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != tl + 5 || memcmp (k.mv_data, type, tl) != 0
            || ((unsigned char *) k.mv_data)[tl] != 0)
            break;
        Sluice__V1__SchemaVersion *sv = sluice__v1__schema_version__unpack (NULL, v.mv_size, v.mv_data);
        if (!sv) {
            rc = SL_ECORRUPT;
            break;
        }
        rc = fn (arg, sv);
        sluice__v1__schema_version__free_unpacked (sv, NULL);
        if (rc != 0)
            break;
    }
    if (rc == 0 && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = sl_lmdb_rc (mrc);
    mdb_cursor_close (cur);
    return rc;
}

static void
s_append (char *out, size_t size, const char *fmt, const char *a, const char *b)
{
    if (!out || !size)
        return;
    size_t at = strlen (out);
    if (at < size)
        snprintf (out + at, size - at, fmt, a, b);
}

int
sl_schema_store_load (sl_schema_store_t *self, MDB_txn *txn, char *skipped, size_t size)
{
    if (skipped && size)
        skipped[0] = 0;
    if (self->absent)
        return 0;
    MDB_cursor *cur;
    if (mdb_cursor_open (txn, self->current, &cur) != 0)
        return SL_ESTORE;
    MDB_val k, v;
    int n = 0, mrc;
    for (mrc = mdb_cursor_get (cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        char type[SL_SCHEMA_NAME_MAX + 1], err[600];
        if (k.mv_size > SL_SCHEMA_NAME_MAX || v.mv_size != 4) {
            sl_warn ("schema.skipped", "reason=bad-current-entry");
            s_append (skipped, size, "%s%s: bad entry in schema.current\n", "?", "");
            continue;
        }
        memcpy (type, k.mv_data, k.mv_size);
        type[k.mv_size] = 0;
        uint32_t version = s_get_u32 (v.mv_data);
        Sluice__V1__SchemaVersion *sv = NULL;
        int rc = sl_schema_store_get (self, txn, type, version, &sv);
        sl_schema_t *e = NULL;
        if (rc == 0)
            rc = sl_schema_build (sv->descriptor_set.data, sv->descriptor_set.len, type, version,
                                  &e, err, sizeof err);
        else
            snprintf (err, sizeof err, "version %u: %s", version, sl_strerror (rc));
        if (sv)
            sluice__v1__schema_version__free_unpacked (sv, NULL);
        if (rc == 0 && sl_schema_install (&e, NULL) != 0) {
            sl_schema_free (&e);
            mdb_cursor_close (cur);
            return SL_ENOMEM;
        }
        if (rc != 0) {
            sl_warn ("schema.skipped", "type=%s version=%u reason=\"%s\"", type, version, err);
            s_append (skipped, size, "%s: %s\n", type, err);
            continue;
        }
        n++;
    }
    mdb_cursor_close (cur);
    return mrc == MDB_NOTFOUND ? n : sl_lmdb_rc (mrc);
}

void
sl_schema_changes_free (sl_schema_change_t *changes, size_t n)
{
    for (size_t i = 0; changes && i < n; i++) {
        sl_schema_free (&changes[i].entry);
        free (changes[i].report);
    }
    free (changes);
}

/*  The entry pending in this batch for `type`, if any: a second
 *  registration in one batch builds on it. */
static const sl_schema_t *
s_pending (sl_schema_store_t *self, const char *type)
{
    for (size_t i = self->n_pending; i > 0; i--)
        if (strcmp (self->pending[i - 1]->record_type, type) == 0)
            return self->pending[i - 1];
    return NULL;
}

int
sl_schema_store_prepare (sl_schema_store_t *self, MDB_txn *txn, const uint8_t *set, size_t len,
                         const char *message, const char *role, sl_schema_change_t **changes,
                         size_t *n, char *err, size_t errlen)
{
    *changes = NULL;
    *n = 0;
    sl_descset_t *ds = sl_descset_parse (set, len, err, errlen);
    if (!ds)
        return SL_EINVAL;
    const char *names[64];
    size_t count = 0;
    int rc = 0;
    if (message && *message) {
        if (!sl_descset_has_message (ds, message)) {
            snprintf (err, errlen, "the set has no message %s", message);
            rc = SL_EINVAL;
            goto out;
        }
        names[0] = message;
        count = 1;
    }
    else if ((count = sl_descset_records (ds, names, 64)) == 0) {
        snprintf (err, errlen, "no record type in the set: mark the message with "
                  "option (sluice.v1.record) (docs/SCHEMAS.md) or name it with --message");
        rc = SL_EINVAL;
        goto out;
    }
    else if (count > 64) {
        snprintf (err, errlen, "the set declares %zu record types; at most 64 at a time", count);
        rc = SL_EINVAL;
        goto out;
    }
    sl_schema_change_t *c = calloc (count, sizeof *c);
    if (!c) {
        rc = SL_ENOMEM;
        goto out;
    }
    *changes = c;
    for (size_t i = 0; i < count; i++) {
        char owner[SL_SCHEMA_OWNER_MAX + 1];
        if ((rc = sl_schema_check_name (names[i], owner, err, errlen)) != 0)
            goto out;
        if (!sl_role_administers (role, owner)) {
            snprintf (err, errlen, "%s belongs to bureau '%s': role %s may register only in "
                      "its own namespace (%s.v<N>.*); admin:%s or admin:city may register it",
                      names[i], owner, role, sl_role_admin_scope (role) ? sl_role_admin_scope (role) : "?",
                      owner);
            rc = SL_EPERM;
            goto out;
        }
        /* the next version follows schema.current's number, whatever the
           stored value it points to holds (it may not be readable) */
        Sluice__V1__SchemaVersion *cur = NULL;
        uint32_t current = 0;
        MDB_val ck = { strlen (names[i]), (void *) names[i] }, cv;
        if (mdb_get (txn, self->current, &ck, &cv) == 0 && cv.mv_size == 4)
            current = s_get_u32 (cv.mv_data);
        int grc = sl_schema_store_get (self, txn, names[i], 0, &cur);
        if (grc != 0 && grc != SL_ENOTFOUND && grc != SL_ECORRUPT) {
            snprintf (err, errlen, "%s: stored versions unreadable: %s", names[i], sl_strerror (grc));
            rc = grc;
            goto out;
        }
        const sl_schema_t *prev = s_pending (self, names[i]);
        if (!prev)
            prev = sl_schema_find (names[i]);
        if (prev && prev->version > current)
            current = prev->version;
        c[i].prev = prev;
        c[i].version = current + 1;
        c[i].unchanged = prev && cur && cur->descriptor_set.len == len
                         && memcmp (cur->descriptor_set.data, set, len) == 0;
        if (cur)
            sluice__v1__schema_version__free_unpacked (cur, NULL);
        if ((rc = sl_schema_build (set, len, names[i], c[i].version, &c[i].entry, err, errlen)) != 0)
            goto out;
        *n = i + 1;
        if (prev) {
            c[i].breaking = sl_schema_evolve_touched (prev, c[i].entry, &c[i].report,
                                                      c[i].touched, sizeof c[i].touched);
            if (c[i].breaking < 0) {
                rc = SL_ENOMEM;
                goto out;
            }
        }
    }
    *n = count;
out:
    if (rc != 0) {
        sl_schema_changes_free (*changes, count);
        *changes = NULL;
        *n = 0;
    }
    sl_descset_destroy (&ds);
    return rc;
}

int
sl_schema_store_write (sl_schema_store_t *self, MDB_txn *txn, sl_schema_change_t *c,
                       const char *actor, const char *role, const char *file, bool breaking)
{
    if (self->n_pending == self->cap_pending) {
        size_t cap = self->cap_pending ? self->cap_pending * 2 : 8;
        sl_schema_t **p = realloc (self->pending, cap * sizeof *p);
        if (!p)
            return SL_ENOMEM;
        self->pending = p;
        self->cap_pending = cap;
    }
    sl_schema_t *e = c->entry;
    Sluice__V1__SchemaVersion sv = SLUICE__V1__SCHEMA_VERSION__INIT;
    sv.record_type = (char *) e->record_type;
    sv.version = c->version;
    sv.owner = (char *) e->owner;
    sv.actor = (char *) actor;
    sv.role = (char *) role;
    sv.time = (int64_t) time (NULL);
    sv.descriptor_set.data = (uint8_t *) e->descriptor_set;
    sv.descriptor_set.len = e->descriptor_set_len;
    sv.breaking = breaking;
    sv.file = (char *) (file ? file : "");
    size_t len = sluice__v1__schema_version__get_packed_size (&sv);
    uint8_t *buf = malloc (len ? len : 1);
    if (!buf)
        return SL_ENOMEM;
    sluice__v1__schema_version__pack (&sv, buf);
    size_t tl = strlen (e->record_type);
    unsigned char key[SL_SCHEMA_NAME_MAX + 6], ver[4];
    memcpy (key, e->record_type, tl);
    key[tl] = 0;
    s_put_u32 (key + tl + 1, c->version);
    s_put_u32 (ver, c->version);
    MDB_val k = { tl + 5, key }, v = { len, buf };
    int mrc = mdb_put (txn, self->versions, &k, &v, MDB_NOOVERWRITE);
    if (mrc == 0) {
        MDB_val ck = { tl, (void *) e->record_type }, cv = { 4, ver };
        mrc = mdb_put (txn, self->current, &ck, &cv, 0);
    }
    free (buf);
    if (mrc != 0)
        return mrc == MDB_KEYEXIST ? SL_ESTORE : sl_lmdb_rc (mrc);
    self->pending[self->n_pending++] = e;
    c->entry = NULL;
    return 0;
}

int
sl_schema_store_register_file (sl_schema_store_t *self, MDB_txn *txn, const char *path,
                               const char *actor, char *err, size_t errlen)
{
    uint8_t *buf;
    size_t len;
    int rrc = sl_descset_read_file (path, &buf, &len, err, errlen);
    if (rrc != 0)
        return rrc;
    sl_schema_change_t *c = NULL;
    size_t n = 0;
    char e2[600];
    int rc = sl_schema_store_prepare (self, txn, buf, len, NULL, SL_ROLE_CITY_ADMIN, &c, &n, e2, sizeof e2);
    int added = 0;
    if (rc != 0)
        snprintf (err, errlen, "%s: %s", path, e2);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (c[i].prev)
            continue;              /* registered already */
        if ((rc = sl_schema_store_write (self, txn, &c[i], actor, SL_ROLE_CITY_ADMIN, path, false)) != 0)
            snprintf (err, errlen, "%s: cannot store %s: %s", path, c[i].entry
                      ? c[i].entry->record_type : "?", sl_strerror (rc));
        else
            added++;
    }
    sl_schema_changes_free (c, n);
    free (buf);
    return rc != 0 ? rc : added;
}

void
sl_schema_store_txn_outcome (void *ctx, int committed)
{
    sl_schema_store_t *self = ctx;
    if (self->n_pending == 0)
        return;
    for (size_t i = 0; i < self->n_pending; i++) {
        if (committed) {
            const char *type = self->pending[i]->record_type;
            uint32_t version = self->pending[i]->version;
            if (sl_schema_install (&self->pending[i], NULL) != 0)
                sl_error ("schema.install-failed", "type=%s version=%u reason=out-of-memory",
                          type, version);
            else
                sl_info ("schema.in-force", "type=%s version=%u", type, version);
        }
        sl_schema_free (&self->pending[i]);
    }
    self->n_pending = 0;
    if (committed && self->on_change)
        self->on_change (self->on_change_arg);
}

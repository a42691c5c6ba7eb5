/*  sl_registry — see sl_registry.h. */
#include "sl_registry.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "sl_error.h"
#include "sl_lmdb.h"
#include "sl_role.h"

struct sl_registry_t {
    sl_store_t *store;
    sl_member_t *members;
    size_t count;
    size_t cap;
};

static int
s_push (sl_registry_t *self, const sl_member_t *m)
{
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        sl_member_t *p = realloc (self->members, cap * sizeof *p);
        if (!p)
            return SL_ENOMEM;
        self->members = p;
        self->cap = cap;
    }
    self->members[self->count++] = *m;
    return 0;
}

/*  Value: role \0 public_key \0 revoked-char */
static int
s_decode (const MDB_val *k, const MDB_val *v, sl_member_t *m)
{
    memset (m, 0, sizeof *m);
    if (k->mv_size == 0 || k->mv_size > SL_NAME_MAX)
        return SL_ECORRUPT;
    memcpy (m->name, k->mv_data, k->mv_size);
    const char *p = v->mv_data, *end = p + v->mv_size;
    const char *z1 = memchr (p, 0, (size_t) (end - p));
    if (!z1 || (size_t) (z1 - p) > SL_ROLE_MAX)
        return SL_ECORRUPT;
    memcpy (m->role, p, (size_t) (z1 - p));
    p = z1 + 1;
    if (end - p != SL_KEY_Z85_LEN + 2)
        return SL_ECORRUPT;
    memcpy (m->public_key, p, SL_KEY_Z85_LEN);
    m->revoked = p[SL_KEY_Z85_LEN + 1] == '1';
    return 0;
}

static int
s_write (sl_registry_t *self, MDB_txn *txn, const sl_member_t *m)
{
    char buf[SL_ROLE_MAX + SL_KEY_Z85_LEN + 4];
    size_t rl = strlen (m->role);
    memcpy (buf, m->role, rl + 1);
    memcpy (buf + rl + 1, m->public_key, SL_KEY_Z85_LEN);
    buf[rl + 1 + SL_KEY_Z85_LEN] = 0;
    buf[rl + 2 + SL_KEY_Z85_LEN] = m->revoked ? '1' : '0';
    MDB_val k = { strlen (m->name), (void *) m->name };
    MDB_val v = { rl + 3 + SL_KEY_Z85_LEN, buf };
    return sl_lmdb_rc (mdb_put (txn, sl_store_dbi (self->store, SL_DB_MEMBERS), &k, &v, 0));
}

int
sl_registry_reload (sl_registry_t *self)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    if (sl_store_read (self->store, &txn) != 0)
        return SL_ESTORE;
    if (mdb_cursor_open (txn, sl_store_dbi (self->store, SL_DB_MEMBERS), &cur) != 0) {
        mdb_txn_abort (txn);
        return SL_ESTORE;
    }
    self->count = 0;
    int rc = 0;
    for (int op = MDB_FIRST; mdb_cursor_get (cur, &k, &v, op) == 0; op = MDB_NEXT) {
        sl_member_t m;
        if (s_decode (&k, &v, &m) == 0 && (rc = s_push (self, &m)) != 0)
            break;
    }
    mdb_cursor_close (cur);
    mdb_txn_abort (txn);
    return rc;
}

int
sl_registry_each (MDB_txn *txn, sl_registry_member_fn *fn, void *arg)
{
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    int mrc = mdb_dbi_open (txn, "broker.members", 0, &dbi);
    if (mrc == MDB_NOTFOUND)
        return 0;
    if (mrc != 0 || (mrc = mdb_cursor_open (txn, dbi, &cur)) != 0)
        return sl_lmdb_rc (mrc);
    int rc = 0;
    for (int op = MDB_FIRST; rc == 0 && (mrc = mdb_cursor_get (cur, &k, &v, op)) == 0;
         op = MDB_NEXT) {
        sl_member_t m;
        if (s_decode (&k, &v, &m) == 0)
            rc = fn (arg, &m);
    }
    mdb_cursor_close (cur);
    return rc != 0 ? rc : mrc == MDB_NOTFOUND ? 0 : sl_lmdb_rc (mrc);
}

sl_registry_t *
sl_registry_new (sl_store_t *store)
{
    sl_registry_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    if (sl_registry_reload (self) != 0)
        sl_registry_destroy (&self);
    return self;
}

void
sl_registry_destroy (sl_registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->members);
    free (*self_p);
    *self_p = NULL;
}

int
sl_registry_valid_name (const char *name)
{
    size_t n = strlen (name);
    if (n == 0 || n > SL_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                 || (i > 0 && (c == '-' || c == '_'));
        if (!ok)
            return 0;
    }
    return 1;
}

int
sl_registry_valid_role (const char *role)
{
    if (sl_role_is_fixed (role))
        return 1;
    const char *bureau = sl_role_bureau (role);
    return bureau && sl_registry_valid_name (bureau) && strlen (role) <= SL_ROLE_MAX;
}

int
sl_registry_add (sl_registry_t *self, MDB_txn *txn, const char *name,
                 const char *role, const char *public_key, char *err, size_t errlen)
{
    if (!sl_registry_valid_name (name)) {
        snprintf (err, errlen, "name '%.40s' is not valid: use [a-z0-9][a-z0-9_-]*, at most %d characters",
                  name, SL_NAME_MAX);
        return SL_EINVAL;
    }
    if (!sl_registry_valid_role (role)) {
        snprintf (err, errlen, "role '%.60s' is not valid: use member, auditor, consent-source, monitor, admin:city or admin:<bureau>",
                  role);
        return SL_EINVAL;
    }
    if (strlen (public_key) != SL_KEY_Z85_LEN || !sl_keys_valid_z85 (public_key)) {
        snprintf (err, errlen, "public_key is not a 40-character Z85 CURVE key");
        return SL_EINVAL;
    }
    const sl_member_t *same = sl_registry_by_name (self, name);
    if (same && !same->revoked) {
        snprintf (err, errlen, "member '%s' already exists (to give it a new key, revoke it "
                  "first, then add it again)", name);
        return SL_EEXIST;
    }
    const sl_member_t *other = sl_registry_by_key (self, public_key);
    if (other) {
        snprintf (err, errlen, "this public key is already registered to member '%s'%s",
                  other->name, other->revoked ? " (revoked: a revoked key is never taken back)" : "");
        return SL_EEXIST;
    }
    sl_member_t m;
    memset (&m, 0, sizeof m);
    snprintf (m.name, sizeof m.name, "%s", name);
    snprintf (m.role, sizeof m.role, "%s", role);
    memcpy (m.public_key, public_key, SL_KEY_Z85_LEN);
    int rc = 0;
    if (same) {
        /* key rotation: the revoked key is kept as "NAME~FINGERPRINT" (revoked,
         * so it stays refused and cannot be registered again) and the new key
         * takes the name */
        size_t idx = (size_t) (same - self->members);
        sl_member_t old = *same;
        char fp[17] = "";
        sl_keys_fingerprint (old.public_key, fp);
        snprintf (old.name, sizeof old.name, "%.23s~%.8s", name, fp);
        old.revoked = 1;
        rc = s_write (self, txn, &old);
        if (rc == 0)
            rc = s_write (self, txn, &m);
        if (rc == 0) {
            self->members[idx] = m;
            rc = s_push (self, &old);
        }
    }
    else {
        rc = s_write (self, txn, &m);
        if (rc == 0)
            rc = s_push (self, &m);
    }
    if (rc != 0)
        snprintf (err, errlen, "cannot store member: %s", sl_strerror (rc));
    return rc;
}

int
sl_registry_revoke (sl_registry_t *self, MDB_txn *txn, const char *name)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->members[i].name, name) == 0) {
            sl_member_t m = self->members[i];
            m.revoked = 1;
            int rc = s_write (self, txn, &m);
            if (rc == 0)
                self->members[i].revoked = 1;
            return rc;
        }
    return SL_ENOTFOUND;
}

const sl_member_t *
sl_registry_by_key (sl_registry_t *self, const char *public_key)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->members[i].public_key, public_key) == 0)
            return &self->members[i];
    return NULL;
}

const sl_member_t *
sl_registry_by_name (sl_registry_t *self, const char *name)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->members[i].name, name) == 0)
            return &self->members[i];
    return NULL;
}

size_t
sl_registry_count (sl_registry_t *self)
{
    return self->count;
}

const sl_member_t *
sl_registry_at (sl_registry_t *self, size_t i)
{
    return i < self->count ? &self->members[i] : NULL;
}

/* ---------------------------------------------------------------------
 * Key rollover: a member may hold a second key for a while.
 *
 * The second key is stored as a member record "NAME+FP8" (FP8: the first
 * 8 hex digits of the key's fingerprint) with NAME's role; '+' cannot occur
 * in a member name, so the record never collides with a member. It
 * authenticates as NAME (sl_registry_for_key). Retiring a key keeps it as a
 * revoked record "NAME~FP8", the convention revoke-and-add already uses, so
 * a retired key is refused for ever and never registered again.
 */

static int
s_del (sl_registry_t *self, MDB_txn *txn, size_t idx)
{
    MDB_val k = { strlen (self->members[idx].name), self->members[idx].name };
    int rc = mdb_del (txn, sl_store_dbi (self->store, SL_DB_MEMBERS), &k, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return sl_lmdb_rc (rc);
    memmove (&self->members[idx], &self->members[idx + 1],
             (self->count - idx - 1) * sizeof self->members[0]);
    self->count--;
    return 0;
}

/*  The "NAME+..." record of `name`, or NULL. */
static const sl_member_t *
s_second (sl_registry_t *self, const char *name)
{
    size_t n = strlen (name);
    for (size_t i = 0; i < self->count; i++)
        if (strncmp (self->members[i].name, name, n) == 0 && self->members[i].name[n] == '+'
            && !self->members[i].revoked)
            return &self->members[i];
    return NULL;
}

const sl_member_t *
sl_registry_for_key (sl_registry_t *self, const char *public_key)
{
    const sl_member_t *m = sl_registry_by_key (self, public_key);
    if (!m)
        return NULL;
    const char *plus = strchr (m->name, '+');
    if (!plus || m->revoked)
        return m;
    char name[SL_NAME_MAX + 1];
    snprintf (name, sizeof name, "%.*s", (int) (plus - m->name), m->name);
    return sl_registry_by_name (self, name);
}

int
sl_registry_key_add (sl_registry_t *self, MDB_txn *txn, const char *name,
                     const char *public_key, char *err, size_t errlen)
{
    const sl_member_t *m = sl_registry_by_name (self, name);
    if (!m || m->revoked || strchr (name, '+') || strchr (name, '~')) {
        snprintf (err, errlen, "no active member named '%.40s'", name);
        return SL_ENOTFOUND;
    }
    if (strlen (public_key) != SL_KEY_Z85_LEN || !sl_keys_valid_z85 (public_key)) {
        snprintf (err, errlen, "public_key is not a 40-character Z85 CURVE key");
        return SL_EINVAL;
    }
    const sl_member_t *other = sl_registry_by_key (self, public_key);
    if (other) {
        snprintf (err, errlen, "this public key is already registered (to '%s')%s", other->name,
                  other->revoked ? "; a retired or revoked key is never taken back" : "");
        return SL_EEXIST;
    }
    const sl_member_t *second = s_second (self, name);
    if (second) {
        snprintf (err, errlen, "member '%s' already holds two keys (%s); retire one first "
                  "(sluicectl member key retire %s --fingerprint FP)", name, second->name, name);
        return SL_EEXIST;
    }
    sl_member_t k;
    char fp[17] = "";
    memset (&k, 0, sizeof k);
    sl_keys_fingerprint (public_key, fp);
    snprintf (k.name, sizeof k.name, "%.23s+%.8s", name, fp);
    snprintf (k.role, sizeof k.role, "%s", m->role);
    memcpy (k.public_key, public_key, SL_KEY_Z85_LEN);
    int rc = s_write (self, txn, &k);
    if (rc == 0)
        rc = s_push (self, &k);
    if (rc != 0)
        snprintf (err, errlen, "cannot store the key: %s", sl_strerror (rc));
    return rc;
}

int
sl_registry_key_retire (sl_registry_t *self, MDB_txn *txn, const char *name,
                        const char *fingerprint, char retired_fp[17], char *err, size_t errlen)
{
    const sl_member_t *m = sl_registry_by_name (self, name);
    if (!m || m->revoked || strchr (name, '+') || strchr (name, '~')) {
        snprintf (err, errlen, "no active member named '%.40s'", name);
        return SL_ENOTFOUND;
    }
    const sl_member_t *second = s_second (self, name);
    char fp_main[17] = "", fp_second[17] = "";
    sl_keys_fingerprint (m->public_key, fp_main);
    if (second)
        sl_keys_fingerprint (second->public_key, fp_second);
    size_t fl = strlen (fingerprint);
    int is_main = fl >= 8 && strncmp (fp_main, fingerprint, fl) == 0;
    int is_second = second && fl >= 8 && strncmp (fp_second, fingerprint, fl) == 0;
    if (!is_main && !is_second) {
        snprintf (err, errlen, "member '%s' holds no key with fingerprint %.16s (its keys: %s%s%s)",
                  name, fingerprint, fp_main, second ? ", " : "", second ? fp_second : "");
        return SL_ENOTFOUND;
    }
    if (!second) {
        snprintf (err, errlen, "%s is the only key of '%s': add the new key first "
                  "(sluicectl member key add %s --pub FILE), or revoke the member", fp_main,
                  name, name);
        return SL_EINVAL;
    }
    size_t mi = (size_t) (m - self->members), si = (size_t) (second - self->members);
    sl_member_t keep = is_main ? *second : *m, gone = is_main ? *m : *second;
    snprintf (keep.name, sizeof keep.name, "%s", name);
    snprintf (retired_fp, 17, "%s", is_main ? fp_main : fp_second);
    snprintf (gone.name, sizeof gone.name, "%.23s~%.8s", name, retired_fp);
    gone.revoked = 1;
    int rc = s_write (self, txn, &keep);
    if (rc == 0)
        rc = s_write (self, txn, &gone);
    if (rc == 0) {
        self->members[mi] = keep;
        rc = s_del (self, txn, si);
    }
    if (rc == 0)
        rc = s_push (self, &gone);
    if (rc != 0)
        snprintf (err, errlen, "cannot store the change: %s", sl_strerror (rc));
    return rc;
}

int
sl_registry_keys (sl_registry_t *self, const char *name, char fps[2][17])
{
    const sl_member_t *m = sl_registry_by_name (self, name);
    if (!m)
        return 0;
    sl_keys_fingerprint (m->public_key, fps[0]);
    const sl_member_t *second = s_second (self, name);
    if (!second)
        return 1;
    sl_keys_fingerprint (second->public_key, fps[1]);
    return 2;
}

/*  rel_check — see rel_check.h. */
#include "rel_check.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_audit.h"
#include "sl_error.h"
#include "sluice/v1/envelope.pb-c.h"

/*  A set of 16-byte ids with a mark bit: open addressing, grows at 1/2. */
typedef struct {
    uint8_t (*ids)[17];     /* 16 id bytes + flags (1 used, 2 marked) */
    size_t cap, n;
} s_set_t;

static size_t
s_hash (const uint8_t *id)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < 16; i++)
        h = (h ^ id[i]) * 1099511628211ull;
    return (size_t) h;
}

static uint8_t *
s_find (s_set_t *s, const uint8_t *id, int add)
{
    if (add && (s->n + 1) * 2 > s->cap) {
        s_set_t g = { calloc (s->cap ? s->cap * 2 : 1024, 17), s->cap ? s->cap * 2 : 1024, 0 };
        if (!g.ids)
            return NULL;
        for (size_t i = 0; i < s->cap; i++)
            if (s->ids[i][16] & 1) {
                uint8_t *slot = s_find (&g, s->ids[i], 1);
                slot[16] = s->ids[i][16];
            }
        free (s->ids);
        *s = g;
    }
    if (!s->cap)
        return NULL;
    for (size_t i = s_hash (id) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (!(s->ids[i][16] & 1)) {
            if (!add)
                return NULL;
            memcpy (s->ids[i], id, 16);
            s->ids[i][16] = 1;
            s->n++;
            return s->ids[i];
        }
        if (memcmp (s->ids[i], id, 16) == 0)
            return s->ids[i];
    }
}

static void
s_hex (const uint8_t *id, char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf (out + 2 * i, 3, "%02x", id[i]);
}

static int
s_eq (sl_audit_str_t s, const char *z)
{
    return s.len == strlen (z) && memcmp (s.ptr, z, s.len) == 0;
}

int
rel_check (const char *data_dir, const char *publisher, const char *consumer,
           rel_id_fn *on_msgid, rel_id_fn *on_deliver, void *arg, rel_report_t *r)
{
    memset (r, 0, sizeof *r);
    char path[600], err[256], hex[33];
    char why[400];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    sl_audit_iter_t *it = NULL;
    s_set_t pub = { 0 }, queue = { 0 };
    int rc = -1;

    uint8_t pk[SL_AUDIT_PK_LEN];
    snprintf (path, sizeof path, "%s/%s", data_dir, SL_AUDIT_SIGN_PUB_FILE);
    if (sl_audit_load_pubkey (path, pk, err, sizeof err) != 0) {
        snprintf (r->problem, sizeof r->problem, "audit public key: %s", err);
        goto out;
    }
    snprintf (path, sizeof path, "%s/store", data_dir);
    if (mdb_env_create (&env) != 0 || mdb_env_set_maxdbs (env, 64) != 0
        || mdb_env_set_maxreaders (env, 256) != 0
        || mdb_env_open (env, path, MDB_RDONLY | MDB_NOTLS, 0600) != 0) {
        snprintf (why, sizeof why, "%.380s", path);
        snprintf (r->problem, sizeof r->problem, "cannot open %s read-only", why);
        goto out;
    }
    sl_audit_report_t ar;
    int vrc = sl_audit_verify (env, pk, NULL, &ar);
    r->audit_entries = ar.entries;
    if (vrc != 0) {
        snprintf (r->problem, sizeof r->problem, "audit verify: %s (verdict %s, seq %llu): %s",
                  sl_strerror (vrc), sl_audit_verdict_str (ar.verdict),
                  (unsigned long long) ar.bad_seq, ar.message);
        goto out;
    }
    if (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn) != 0) {
        snprintf (r->problem, sizeof r->problem, "cannot begin a read transaction");
        goto out;
    }

    /* 1. the audit log: what it says happened */
    it = sl_audit_iter_new (txn, NULL);
    if (!it) {
        snprintf (r->problem, sizeof r->problem, "cannot iterate the audit log");
        goto out;
    }
    sl_audit_entry_t e;
    int more;
    while ((more = sl_audit_iter_next (it, &e)) == 1) {
        /* a record's acceptance: its `publish` entry, or (AUDIT.md 6.2) the
         * queue / deny entries its copies got at publish */
        int copy = (s_eq (e.kind, "queue") || s_eq (e.kind, "deny")) && s_eq (e.detail, "stage=publish")
                   && s_eq (e.actor, publisher) && e.message_id;
        if (copy && !s_find (&pub, e.message_id, 0) && !s_find (&pub, e.message_id, 1))
            goto out;
        if (s_eq (e.kind, "publish") && s_eq (e.actor, publisher) && e.message_id) {
            if (s_find (&pub, e.message_id, 0)) {
                s_hex (e.message_id, hex);
                snprintf (r->problem, sizeof r->problem,
                          "audit seq %llu: a second entry accepting message %s",
                          (unsigned long long) e.seq, hex);
                goto out;
            }
            if (!s_find (&pub, e.message_id, 1))
                goto out;
        }
        else if (s_eq (e.kind, "queue") && s_eq (e.counterpart, consumer) && e.message_id) {
            if (s_find (&queue, e.message_id, 0)) {
                s_hex (e.message_id, hex);
                snprintf (r->problem, sizeof r->problem,
                          "audit seq %llu: a second `queue` entry for message %s to %s",
                          (unsigned long long) e.seq, hex, consumer);
                goto out;
            }
            if (!s_find (&queue, e.message_id, 1))
                goto out;
            r->audit_queue++;
        }
        else if (s_eq (e.kind, "ack") && s_eq (e.actor, consumer)) {
            long tags = sl_audit_ack_tags (e.detail.ptr, e.detail.len, NULL, NULL);
            if (tags < 0) {
                snprintf (r->problem, sizeof r->problem, "audit seq %llu: malformed ack tag list",
                          (unsigned long long) e.seq);
                goto out;
            }
            r->audit_ack += (uint64_t) tags;
        }
        else if (s_eq (e.kind, "deny") && s_eq (e.counterpart, consumer)
                 && s_eq (e.detail, "stage=deliver"))
            r->audit_deny_deliver++;
        else if (s_eq (e.kind, "deliver") && s_eq (e.counterpart, consumer) && e.message_id
                 && on_deliver)
            on_deliver (arg, e.message_id);
    }
    sl_audit_iter_destroy (&it);
    if (more < 0) {
        snprintf (r->problem, sizeof r->problem, "audit iteration failed: %s", sl_strerror (more));
        goto out;
    }

    /* 2. broker.msgids <-> publish entries */
    MDB_dbi dbi;
    MDB_val k, v;
    size_t plen = strlen (publisher) + 1;
    if (mdb_dbi_open (txn, "broker.msgids", 0, &dbi) != 0
        || mdb_cursor_open (txn, dbi, &cur) != 0) {
        snprintf (r->problem, sizeof r->problem, "no broker.msgids database");
        goto out;
    }
    k.mv_data = (void *) publisher;
    k.mv_size = plen;
    for (int c = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE); c == 0;
         c = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 16 || memcmp (k.mv_data, publisher, plen) != 0)
            break;
        const uint8_t *id = (const uint8_t *) k.mv_data + plen;
        uint8_t *slot = s_find (&pub, id, 0);
        if (!slot) {
            s_hex (id, hex);
            snprintf (r->problem, sizeof r->problem,
                      "broker.msgids holds message %s of %s without an audit entry accepting it",
                      hex, publisher);
            goto out;
        }
        slot[16] |= 2;
        r->msgids++;
        if (on_msgid)
            on_msgid (arg, id);
    }
    mdb_cursor_close (cur);
    cur = NULL;
    for (size_t i = 0; i < pub.cap; i++)
        if ((pub.ids[i][16] & 1) && !(pub.ids[i][16] & 2)) {
            s_hex (pub.ids[i], hex);
            snprintf (r->problem, sizeof r->problem,
                      "an audit entry accepts message %s, which broker.msgids does not hold",
                      hex);
            goto out;
        }

    /* 3. broker.queue -> queue entries, and the depth */
    size_t clen = strlen (consumer) + 1;
    if (mdb_dbi_open (txn, "broker.queue", 0, &dbi) != 0
        || mdb_cursor_open (txn, dbi, &cur) != 0) {
        snprintf (r->problem, sizeof r->problem, "no broker.queue database");
        goto out;
    }
    k.mv_data = (void *) consumer;
    k.mv_size = clen;
    for (int c = mdb_cursor_get (cur, &k, &v, MDB_SET_RANGE); c == 0;
         c = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != clen + 8 || memcmp (k.mv_data, consumer, clen) != 0)
            break;
        const uint8_t *p = v.mv_data;
        uint32_t ml = v.mv_size >= 4 ? (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
                                       | (uint32_t) p[2] << 8 | p[3] : 0;
        Sluice__V1__RecordMeta *m = v.mv_size >= 4 + (size_t) ml
                                  ? sluice__v1__record_meta__unpack (NULL, ml, p + 4) : NULL;
        if (!m || m->message_id.len != 16) {
            snprintf (r->problem, sizeof r->problem, "broker.queue entry of %s does not decode",
                      consumer);
            if (m)
                sluice__v1__record_meta__free_unpacked (m, NULL);
            goto out;
        }
        int found = s_find (&queue, m->message_id.data, 0) != NULL;
        s_hex (m->message_id.data, hex);
        sluice__v1__record_meta__free_unpacked (m, NULL);
        if (!found) {
            snprintf (r->problem, sizeof r->problem,
                      "broker.queue holds message %s for %s without a `queue` audit entry",
                      hex, consumer);
            goto out;
        }
        r->queued++;
    }
    if (r->audit_queue < r->audit_ack + r->audit_deny_deliver
        || r->queued != r->audit_queue - r->audit_ack - r->audit_deny_deliver) {
        snprintf (r->problem, sizeof r->problem,
                  "queue depth of %s is %llu, but the audit log says %llu queued - %llu acked - "
                  "%llu denied at delivery", consumer, (unsigned long long) r->queued,
                  (unsigned long long) r->audit_queue, (unsigned long long) r->audit_ack,
                  (unsigned long long) r->audit_deny_deliver);
        goto out;
    }
    rc = 0;
out:
    sl_audit_iter_destroy (&it);
    if (cur)
        mdb_cursor_close (cur);
    if (txn)
        mdb_txn_abort (txn);
    if (env)
        mdb_env_close (env);
    free (pub.ids);
    free (queue.ids);
    return rc;
}

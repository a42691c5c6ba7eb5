/*  sl_audit_review — reading the audit log: iteration with filters and
 *  paging, JSON lines, the owner summary and the subject report.
 */
#include "sl_audit_int.h"
#include "sl_error.h"
#include "sl_lmdb.h"
#include "sl_time.h"

#include <cjson/cJSON.h>

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const sl_audit_kinds[] = {
    SL_AUDIT_PUBLISH, SL_AUDIT_PUBLISH_REFUSED, SL_AUDIT_QUEUE, SL_AUDIT_DELIVER, SL_AUDIT_ACK,
    SL_AUDIT_DENY, SL_AUDIT_QUERY, SL_AUDIT_REPLY, SL_AUDIT_AUTH_DENIED, SL_AUDIT_MEMBER_ADD,
    SL_AUDIT_MEMBER_REVOKE, SL_AUDIT_MEMBER_KEY_ADD, SL_AUDIT_MEMBER_KEY_RETIRE,
    SL_AUDIT_BROKER_KEY_ADD, SL_AUDIT_BROKER_KEY_RETIRE, SL_AUDIT_POLICY_APPLY, SL_AUDIT_POLICY_ROLLBACK,
    SL_AUDIT_CONSENT_GRANT, SL_AUDIT_CONSENT_RENEW, SL_AUDIT_CONSENT_WITHDRAW,
    SL_AUDIT_BROKER_START, SL_AUDIT_BROKER_STOP, SL_AUDIT_AUDIT_ARCHIVE, SL_AUDIT_FILTERED,
    SL_AUDIT_LOOKUP, SL_AUDIT_SCHEMA_REGISTER, SL_AUDIT_SCHEMA_SKIPPED, SL_AUDIT_POLICY_SET_ASIDE,
    /* written by name elsewhere (broker/sl_broker.c, broker/sl_admin_explain.c) */
    "auth.denied.summary", "policy.explain",
};
const size_t sl_audit_n_kinds = sizeof sl_audit_kinds / sizeof sl_audit_kinds[0];

/* ------------------------------------------------------------------------ */
/*  JSON                                                                    */

/*  Adds an integer as JSON digits. cJSON keeps numbers as doubles and prints
    values above 15 digits in exponent form, which a reader wanting the exact
    microsecond must not have to undo. */
static int s_add_u64 (cJSON *o, const char *name, uint64_t v)
{
    char buf[24];
    snprintf (buf, sizeof buf, "%" PRIu64, v);
    return cJSON_AddRawToObject (o, name, buf) ? 0 : -1;
}

static int s_add_str (cJSON *o, const char *name, sl_audit_str_t s)
{
    char stackbuf[256];
    char *tmp = s.len < sizeof stackbuf ? stackbuf : malloc (s.len + 1);
    if (!tmp)
        return -1;
    memcpy (tmp, s.ptr, s.len);
    tmp[s.len] = 0;
    cJSON *item = cJSON_AddStringToObject (o, name, tmp);
    if (tmp != stackbuf)
        free (tmp);
    return item ? 0 : -1;
}

static int s_add_hex (cJSON *o, const char *name, const uint8_t *bin, size_t len)
{
    if (!bin)
        return cJSON_AddNullToObject (o, name) ? 0 : -1;
    char stackbuf[512];
    char *tmp = 2 * len < sizeof stackbuf ? stackbuf : malloc (2 * len + 1);
    if (!tmp)
        return -1;
    sl_audit__hex (bin, len, tmp);
    cJSON *item = cJSON_AddStringToObject (o, name, tmp);
    if (tmp != stackbuf)
        free (tmp);
    return item ? 0 : -1;
}

char *sl_audit_entry_json (const sl_audit_entry_t *e)
{
    assert (e);
    cJSON *o = cJSON_CreateObject ();
    char *out = NULL;
    if (!o)
        return NULL;
    char when[64];
    uint8_t hash[SL_AUDIT_HASH_LEN];
    sl_audit__utc (e->time_us, when);
    sl_audit__hash (e->raw, e->raw_len, hash);
    if (!cJSON_AddStringToObject (o, "type", "entry")
    ||  s_add_u64 (o, "seq", e->seq)
    ||  s_add_u64 (o, "time_us", (uint64_t) e->time_us)
    ||  !cJSON_AddStringToObject (o, "time", when)
    ||  s_add_str (o, "kind", e->kind) || s_add_str (o, "actor", e->actor)
    ||  s_add_str (o, "counterpart", e->counterpart) || s_add_str (o, "owner", e->owner)
    ||  s_add_str (o, "record_type", e->record_type)
    ||  s_add_hex (o, "message_id", e->message_id, SL_AUDIT_MSGID_LEN)
    ||  s_add_hex (o, "subject", e->subject, SL_AUDIT_PSEUDO_LEN)
    ||  s_add_str (o, "purpose", e->purpose) || s_add_str (o, "decision", e->decision)
    ||  s_add_str (o, "rules", e->rules) || s_add_str (o, "fields", e->fields)
    ||  s_add_str (o, "reason", e->reason) || s_add_str (o, "detail", e->detail)
    ||  s_add_hex (o, "prev_hash", e->prev_hash, SL_AUDIT_HASH_LEN)
    ||  s_add_hex (o, "hash", hash, SL_AUDIT_HASH_LEN)
    ||  s_add_hex (o, "raw", e->raw, e->raw_len))
        goto out;
    out = cJSON_PrintUnformatted (o);
out:
    cJSON_Delete (o);
    return out;
}

/* ------------------------------------------------------------------------ */
/*  Iteration                                                               */

struct sl_audit_iter_s {
    MDB_cursor       *cur;
    sl_audit_filter_t f;
    uint8_t           subject[SL_AUDIT_PSEUDO_LEN];
    size_t            lens[6];
    int               started;
    /* archived entries first: segment f.segments[seg], read whole */
    size_t            seg;
    uint8_t          *seg_data;
    size_t            seg_size, seg_pos;
};

static int s_str_eq (sl_audit_str_t s, const char *want, size_t wlen)
{
    return s.len == wlen && memcmp (s.ptr, want, wlen) == 0;
}

static int s_match (const sl_audit_iter_t *it, const sl_audit_entry_t *e)
{
    const sl_audit_filter_t *f = &it->f;
    if (f->since_us && e->time_us < f->since_us)
        return 0;
    if (f->until_us && e->time_us >= f->until_us)
        return 0;
    if (f->kind) {
        size_t n = it->lens[4];
        if (n && f->kind[n - 1] == '.') {
            if (e->kind.len < n || memcmp (e->kind.ptr, f->kind, n) != 0)
                return 0;
        }
        else if (!s_str_eq (e->kind, f->kind, n))
            return 0;
    }
    if (f->actor && !s_str_eq (e->actor, f->actor, it->lens[0]))
        return 0;
    if (f->owner && !s_str_eq (e->owner, f->owner, it->lens[1]))
        return 0;
    if (f->counterpart && !s_str_eq (e->counterpart, f->counterpart, it->lens[2]))
        return 0;
    if (f->record_type && !s_str_eq (e->record_type, f->record_type, it->lens[3]))
        return 0;
    if (f->decision && !s_str_eq (e->decision, f->decision, it->lens[5]))
        return 0;
    if (f->subject && (!e->subject || memcmp (e->subject, it->subject, SL_AUDIT_PSEUDO_LEN)))
        return 0;
    return 1;
}

sl_audit_iter_t *sl_audit_iter_new (MDB_txn *txn, const sl_audit_filter_t *filter)
{
    assert (txn);
    MDB_dbi db;
    if (mdb_dbi_open (txn, DB_LOG, 0, &db))
        return NULL;
    sl_audit_iter_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (filter)
        self->f = *filter;
    if (self->f.subject) {
        memcpy (self->subject, self->f.subject, SL_AUDIT_PSEUDO_LEN);
        self->f.subject = self->subject;
    }
    /* the strings stay borrowed from the caller for the iterator's life */
    const char *s[6] = { self->f.actor, self->f.owner, self->f.counterpart,
                         self->f.record_type, self->f.kind, self->f.decision };
    for (int i = 0; i < 6; i++)
        self->lens[i] = s[i] ? strlen (s[i]) : 0;
    if (mdb_cursor_open (txn, db, &self->cur)) {
        free (self);
        return NULL;
    }
    return self;
}

/*  The next matching archived entry: 1, 0 when the segments are done. */
static int s_next_archived (sl_audit_iter_t *self, sl_audit_entry_t *out)
{
    while (self->seg < self->f.n_segments) {
        if (!self->seg_data) {
            int rc = sl_audit__read_segment (self->f.segments[self->seg], &self->seg_data,
                                             &self->seg_size);
            if (rc != 0)
                return rc == SL_ENOMEM ? rc : SL_ECORRUPT;
            self->seg_pos = 0;
        }
        int rc;
        while ((rc = sl_audit__segment_next (self->seg_data, self->seg_size, &self->seg_pos,
                                             out)) == 1)
            if (out->seq > self->f.after_seq && s_match (self, out))
                return 1;
        if (rc < 0)
            return rc;
        /* out's pointers into this segment stay valid until the next call,
         * which is the one that frees it */
        free (self->seg_data);
        self->seg_data = NULL;
        self->seg++;
    }
    return 0;
}

int sl_audit_iter_next (sl_audit_iter_t *self, sl_audit_entry_t *out)
{
    assert (self && out);
    MDB_val k, v;
    int rc;
    if (self->seg < self->f.n_segments) {
        rc = s_next_archived (self, out);
        if (rc != 0)
            return rc;
    }
    if (!self->started) {
        uint8_t key[8];
        sl_audit__put64be (key, self->f.after_seq + 1);
        k.mv_size = 8;
        k.mv_data = key;
        rc = mdb_cursor_get (self->cur, &k, &v, MDB_SET_RANGE);
        self->started = 1;
    }
    else
        rc = mdb_cursor_get (self->cur, &k, &v, MDB_NEXT);
    while (rc == 0) {
        if (sl_audit_decode (v.mv_data, v.mv_size, out))
            return SL_ECORRUPT;
        if (s_match (self, out))
            return 1;
        rc = mdb_cursor_get (self->cur, &k, &v, MDB_NEXT);
    }
    return rc == MDB_NOTFOUND ? 0 : sl_lmdb_rc (rc);
}

void sl_audit_iter_destroy (sl_audit_iter_t **self_p)
{
    assert (self_p);
    sl_audit_iter_t *self = *self_p;
    if (!self)
        return;
    mdb_cursor_close (self->cur);
    free (self->seg_data);
    free (self);
    *self_p = NULL;
}

/* ------------------------------------------------------------------------ */
/*  Summary                                                                 */

struct sl_audit_summary_s {
    sl_audit_summary_row_t *rows;
    char   **keys;            /* packed key per row, owns the row strings */
    size_t  *klens;
    size_t   n, cap;
    size_t  *table;           /* open addressing: row index + 1, 0 = empty */
    size_t   tcap;
};

static uint64_t s_fnv (const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t) p[i]) * 1099511628211ULL;
    return h;
}

static int s_summary_grow (sl_audit_summary_t *s)
{
    size_t tcap = s->tcap ? s->tcap * 2 : 64;
    size_t *t = calloc (tcap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < s->n; i++) {
        size_t h = (size_t) s_fnv (s->keys[i], s->klens[i]) & (tcap - 1);
        while (t[h])
            h = (h + 1) & (tcap - 1);
        t[h] = i + 1;
    }
    free (s->table);
    s->table = t;
    s->tcap = tcap;
    return 0;
}

/*  Adds one entry to the row for its key (5 NUL-separated strings). */
static int s_summary_add (sl_audit_summary_t *s, const sl_audit_entry_t *e, uint64_t rows)
{
    sl_audit_str_t parts[5] = { e->kind, e->counterpart, e->record_type, e->purpose, e->rules };
    char stackkey[1024];
    size_t klen = 0;
    for (int i = 0; i < 5; i++)
        klen += parts[i].len + 1;
    char *key = klen <= sizeof stackkey ? stackkey : malloc (klen);
    if (!key)
        return -1;
    size_t off = 0;
    for (int i = 0; i < 5; i++) {
        memcpy (key + off, parts[i].ptr, parts[i].len);
        off += parts[i].len;
        key[off++] = 0;
    }
    if ((s->n + 1) * 2 > s->tcap && s_summary_grow (s))
        goto fail;
    size_t h = (size_t) s_fnv (key, klen) & (s->tcap - 1);
    while (s->table[h]) {
        size_t i = s->table[h] - 1;
        if (s->klens[i] == klen && memcmp (s->keys[i], key, klen) == 0) {
            sl_audit_summary_row_t *r = &s->rows[i];
            r->count += rows;
            if (e->time_us < r->first_us)
                r->first_us = e->time_us;
            if (e->time_us > r->last_us)
                r->last_us = e->time_us;
            if (key != stackkey)
                free (key);
            return 0;
        }
        h = (h + 1) & (s->tcap - 1);
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        sl_audit_summary_row_t *rows = realloc (s->rows, cap * sizeof *rows);
        if (!rows)
            goto fail;
        s->rows = rows;
        char **keys = realloc (s->keys, cap * sizeof *keys);
        if (!keys)
            goto fail;
        s->keys = keys;
        size_t *klens = realloc (s->klens, cap * sizeof *klens);
        if (!klens)
            goto fail;
        s->klens = klens;
        s->cap = cap;
    }
    char *owned = malloc (klen);
    if (!owned)
        goto fail;
    memcpy (owned, key, klen);
    sl_audit_summary_row_t *r = &s->rows[s->n];
    const char *p = owned;
    const char **fields[5] = { &r->kind, &r->consumer, &r->record_type, &r->purpose, &r->rules };
    for (int i = 0; i < 5; i++) {
        *fields[i] = p;
        p += strlen (p) + 1;
    }
    r->count = rows;
    r->first_us = r->last_us = e->time_us;
    s->keys[s->n] = owned;
    s->klens[s->n] = klen;
    s->table[h] = ++s->n;
    if (key != stackkey)
        free (key);
    return 0;
fail:
    if (key != stackkey)
        free (key);
    return -1;
}

static int s_row_cmp (const void *a, const void *b)
{
    const sl_audit_summary_row_t *x = a, *y = b;
    int c;
    if ((c = strcmp (x->kind, y->kind)) || (c = strcmp (x->consumer, y->consumer))
    ||  (c = strcmp (x->record_type, y->record_type)) || (c = strcmp (x->purpose, y->purpose)))
        return c;
    return strcmp (x->rules, y->rules);
}

sl_audit_summary_t *sl_audit_summary_new (MDB_txn *txn, const char *owner,
                                          const sl_audit_filter_t *filter)
{
    assert (txn && owner);
    sl_audit_filter_t f = { 0 };
    if (filter)
        f = *filter;
    f.owner = owner;
    sl_audit_summary_t *s = calloc (1, sizeof *s);
    sl_audit_iter_t *it = s ? sl_audit_iter_new (txn, &f) : NULL;
    if (!it)
        goto fail;
    sl_audit_entry_t e;
    int rc;
    while ((rc = sl_audit_iter_next (it, &e)) == 1) {
        uint64_t rows = 1;
        if (s_str_eq (e.kind, SL_AUDIT_FILTERED, sizeof SL_AUDIT_FILTERED - 1)) {
            /* one entry per batch: count its rows (detail "rows=N stage=S") */
            char d[32];
            snprintf (d, sizeof d, "%.*s", (int) (e.detail.len < 31 ? e.detail.len : 31), e.detail.ptr);
            if (sscanf (d, "rows=%" SCNu64, &rows) != 1 || rows == 0)
                rows = 1;
        }
        else if (!s_str_eq (e.kind, "queue", 5) && !s_str_eq (e.kind, "deliver", 7)
        &&  !s_str_eq (e.kind, "reply", 5) && !s_str_eq (e.kind, "deny", 4))
            continue;
        if (s_summary_add (s, &e, rows))
            goto fail;
    }
    if (rc < 0)
        goto fail;
    sl_audit_iter_destroy (&it);
    /* rows point into keys[]; sorting reorders rows only, keys[] is kept to
     * be freed */
    if (s->n > 1)       /* no rows: rows is NULL, which qsort may not be given */
        qsort (s->rows, s->n, sizeof *s->rows, s_row_cmp);
    free (s->table);
    s->table = NULL;
    s->tcap = 0;
    return s;
fail:
    sl_audit_iter_destroy (&it);
    sl_audit_summary_destroy (&s);
    return NULL;
}

size_t sl_audit_summary_size (const sl_audit_summary_t *self)
{
    assert (self);
    return self->n;
}

const sl_audit_summary_row_t *sl_audit_summary_row (const sl_audit_summary_t *self, size_t i)
{
    assert (self);
    return i < self->n ? &self->rows[i] : NULL;
}

char *sl_audit_summary_json (const sl_audit_summary_t *self)
{
    assert (self);
    cJSON *arr = cJSON_CreateArray ();
    char *out = NULL;
    if (!arr)
        return NULL;
    for (size_t i = 0; i < self->n; i++) {
        const sl_audit_summary_row_t *r = &self->rows[i];
        cJSON *o = cJSON_CreateObject ();
        if (!o || !cJSON_AddItemToArray (arr, o))
            goto out;
        char first[64], last[64];
        sl_audit__utc (r->first_us, first);
        sl_audit__utc (r->last_us, last);
        if (!cJSON_AddStringToObject (o, "kind", r->kind)
        ||  !cJSON_AddStringToObject (o, "consumer", r->consumer)
        ||  !cJSON_AddStringToObject (o, "record_type", r->record_type)
        ||  !cJSON_AddStringToObject (o, "purpose", r->purpose)
        ||  !cJSON_AddStringToObject (o, "rules", r->rules)
        ||  !cJSON_AddNumberToObject (o, "count", (double) r->count)
        ||  !cJSON_AddStringToObject (o, "first", first)
        ||  !cJSON_AddStringToObject (o, "last", last))
            goto out;
    }
    out = cJSON_PrintUnformatted (arr);
out:
    cJSON_Delete (arr);
    return out;
}

void sl_audit_summary_destroy (sl_audit_summary_t **self_p)
{
    assert (self_p);
    sl_audit_summary_t *s = *self_p;
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free (s->keys[i]);
    free (s->keys);
    free (s->klens);
    free (s->rows);
    free (s->table);
    free (s);
    *self_p = NULL;
}

int64_t sl_audit_subject_report (const sl_audit_t *self, MDB_txn *txn,
                                 const char *raw_id, sl_audit_entry_fn *fn, void *arg)
{
    assert (self && txn && raw_id && fn);
    uint8_t pseudo[SL_AUDIT_PSEUDO_LEN];
    if (sl_audit_pseudonym (self, raw_id, pseudo))
        return SL_EKEY;
    sl_audit_filter_t f = { .subject = pseudo };
    sl_audit_iter_t *it = sl_audit_iter_new (txn, &f);
    if (!it)
        return SL_ESTORE;
    sl_audit_entry_t e;
    int64_t n = 0;
    int rc;
    while ((rc = sl_audit_iter_next (it, &e)) == 1) {
        n++;
        if (fn (arg, &e))
            break;
    }
    sl_audit_iter_destroy (&it);
    return rc < 0 ? rc : n;
}


int
sl_audit_parse_time (const char *text, int64_t *us)
{
    /* the one time parser (common/sl_time.h), in UTC; relative times need
     * a "now" and a zone, which the callers that take them pass themselves */
    int64_t v;
    int flags = 0;
    if (sl_time_parse (text, NULL, 0, &v, &flags, NULL, 0) != 0 || (flags & SL_TIME_RELATIVE))
        return -1;
    *us = v;
    return 0;
}

/*  One decimal without leading zeros at *p (before end); 0 or -1. */
static int
s_tag (const char **p, const char *end, uint64_t *out)
{
    const char *q = *p;
    uint64_t v = 0;
    if (q == end || *q < '0' || *q > '9' || (*q == '0' && q + 1 < end && q[1] >= '0' && q[1] <= '9'))
        return -1;
    for (; q < end && *q >= '0' && *q <= '9'; q++) {
        if (v > (UINT64_MAX - (uint64_t) (*q - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t) (*q - '0');
    }
    *p = q;
    *out = v;
    return 0;
}

long
sl_audit_ack_tags (const char *detail, size_t len,
                   void (*fn) (uint64_t first, uint64_t last, void *arg), void *arg)
{
    const char *p = detail, *end = detail + len;
    if (len < 6 || memcmp (p, "tags=", 5) != 0)
        return SL_ECORRUPT;
    p += 5;
    long n = 0;
    uint64_t prev = 0;
    int first_item = 1;
    for (;;) {
        uint64_t a, b;
        if (s_tag (&p, end, &a) != 0 || (!first_item && a <= prev))
            return SL_ECORRUPT;
        b = a;
        if (p < end && *p == '-') {
            p++;
            if (s_tag (&p, end, &b) != 0 || b <= a)
                return SL_ECORRUPT;
        }
        if (fn)
            fn (a, b, arg);
        n += (long) (b - a + 1);
        prev = b;
        first_item = 0;
        if (p == end)
            return n;
        if (*p != ',')
            return SL_ECORRUPT;
        p++;
    }
}

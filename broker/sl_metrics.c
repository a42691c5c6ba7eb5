/*  sl_metrics — see sl_metrics.h (the design notes are there). */
#include "sl_metrics.h"
#include "sl_metrics_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_batch.h"
#include "sl_error.h"

#define S_SERIES_MAX 20000          /* a bound on label cardinality */
#define S_LABELS_MAX 320            /* rendered `{a="..",b=".."}` */

typedef enum {
    F_AUDIT, F_PUBLISHED, F_STORED, F_REFUSED, F_DELIVERED, F_DENIED, F_ACKED,
    F_QUERIES, F_AUTH_DENIED, F_COUNT_
} s_family_id_t;

typedef struct {
    const char *name;
    const char *help;
} s_family_t;

static const s_family_t s_families[F_COUNT_] = {
    [F_AUDIT] = { "sluice_audit_entries_total",
                  "Audit entries the broker recorded and committed, by kind." },
    [F_PUBLISHED] = { "sluice_records_published_total",
                      "Records accepted from their owner (audit kind publish, or its first queue or deny entry: AUDIT.md 6.2)." },
    [F_STORED] = { "sluice_records_stored_total",
                   "Record copies queued for a consumer after a permit (audit kind queue)." },
    [F_REFUSED] = { "sluice_records_refused_total",
                    "Records refused at publish, by sender, type and error reason (audit kind publish.refused)." },
    [F_DELIVERED] = { "sluice_records_delivered_total",
                      "Records delivered to a consumer (audit kind deliver)." },
    [F_DENIED] = { "sluice_records_denied_total",
                   "Policy or consent denials, by stage (publish, deliver, reply) and reason (audit kind deny)." },
    [F_ACKED] = { "sluice_records_acked_total",
                  "Deliveries a consumer acknowledged (the tags of audit kind ack)." },
    [F_QUERIES] = { "sluice_queries_total",
                    "Queries, by asker, owner, type and decision (audit kind query)." },
    [F_AUTH_DENIED] = { "sluice_auth_denied_total",
                        "CURVE handshakes refused, by plane and reason (audit kind auth.denied)." },
};

typedef struct {
    int family;
    uint32_t hash;
    double value;               /* under the mutex */
    uint64_t staged;            /* loop thread only */
    char labels[S_LABELS_MAX];
} s_series_t;

/* Histogram buckets (upper bounds, seconds or operations). */
static const double s_sec_bounds[] = { 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05,
                                       0.1, 0.25, 0.5, 1, 2.5, 5 };
#define S_SEC_N (sizeof s_sec_bounds / sizeof s_sec_bounds[0])
static const double s_ops_bounds[] = { 1, 4, 16, 64, 256, 1024, 4096, 16384 };
#define S_OPS_N (sizeof s_ops_bounds / sizeof s_ops_bounds[0])

typedef struct {
    const char *name, *help;
    const double *bounds;
    size_t n;
    uint64_t counts[16];        /* per bucket (not cumulative); [n] = +Inf */
    double sum;
    uint64_t count;
} s_hist_t;

/*  Per-record events name the same few (owner, consumer, type) again and
 *  again: a direct-mapped memo from their raw values to the series spares
 *  rendering, escaping and looking up the label text each time. */
#define S_MEMO 256                  /* a power of two */
#define S_MEMO_KEY 192

typedef struct {
    int family;                     /* 0 with len 0: empty slot */
    uint32_t hash;
    size_t len;
    long pos;
    char key[S_MEMO_KEY];           /* the values, each ended by 0x1f */
} s_memo_t;

struct sl_metrics_t {
    pthread_mutex_t lock;
    sl_batch_t *batch;
    /* series: array of pointers (stable), plus an open-addressing index */
    s_series_t **series;
    size_t n_series, cap_series;
    uint32_t *index;            /* slot -> series position + 1 (0 = empty) */
    size_t index_size;          /* power of two */
    /* staged increments: positions of series with staged > 0 */
    size_t *touched;
    size_t n_touched, cap_touched;
    uint64_t commits, aborts, dropped;
    s_hist_t commit_h, sync_h, ops_h;
    /* the loop's last sample */
    char *gauges;
    int64_t sample_ms;
    int64_t next_sample_ms;     /* loop thread only */
    int64_t sample_cost_us;     /* what the last sample took */
    int ready_store, ready_signing;
    char not_ready[160];
    s_memo_t memo[S_MEMO];      /* loop thread only: raw label values -> series */
};

sl_metrics_t *
sl_metrics_new (sl_batch_t *batch)
{
    sl_metrics_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init (&self->lock, NULL);
    self->batch = batch;
    self->index_size = 1024;
    self->index = calloc (self->index_size, sizeof *self->index);
    self->commit_h = (s_hist_t) { "sluice_commit_seconds",
        "Group commits: time from the first operation of the batch until it was durable "
        "(what the oldest ACK of the batch waited).", s_sec_bounds, S_SEC_N, { 0 }, 0, 0 };
    self->sync_h = (s_hist_t) { "sluice_store_sync_seconds",
        "LMDB commit calls alone: page writes and fsync of one group commit.",
        s_sec_bounds, S_SEC_N, { 0 }, 0, 0 };
    self->ops_h = (s_hist_t) { "sluice_commit_batch_operations",
        "Operations (records, acks, admin changes) made durable per group commit.",
        s_ops_bounds, S_OPS_N, { 0 }, 0, 0 };
    snprintf (self->not_ready, sizeof self->not_ready, "the broker has not sampled its state yet");
    if (!self->index || (batch && sl_batch_listen (batch, sl_metrics_txn_outcome, self) != 0)) {
        sl_metrics_destroy (&self);
        return NULL;
    }
    return self;
}

void
sl_metrics_destroy (sl_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_metrics_t *self = *self_p;
    for (size_t i = 0; i < self->n_series; i++)
        free (self->series[i]);
    free (self->series);
    free (self->index);
    free (self->touched);
    free (self->gauges);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

/* ------------------------------------------------------------ series */

static uint32_t
s_hash (int family, const char *labels)
{
    uint32_t h = 2166136261u ^ (uint32_t) family;
    for (const unsigned char *p = (const unsigned char *) labels; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/*  Appends `name="value"` (escaped per the text format) to buf at *o. */
static void
s_label (char *buf, size_t size, size_t *o, const char *name, const char *value)
{
    if (!value || !*value)
        value = "none";
    int n = snprintf (buf + *o, size - *o, "%s%s=\"", *o > 1 ? "," : "", name);
    if (n < 0 || (size_t) n >= size - *o) {
        *o = size - 1;
        return;
    }
    *o += (size_t) n;
    for (const char *p = value; *p && *o + 4 < size; p++) {
        if (*p == '\\' || *p == '"') {
            buf[(*o)++] = '\\';
            buf[(*o)++] = *p;
        }
        else if (*p == '\n') {
            buf[(*o)++] = '\\';
            buf[(*o)++] = 'n';
        }
        else
            buf[(*o)++] = *p;
    }
    if (*o + 1 < size)
        buf[(*o)++] = '"';
    buf[*o] = 0;
}

/*  Builds `{n1="v1",...}` from name/value pairs ending with NULL. */
static void
s_labels (char *buf, size_t size, ...)
{
    va_list ap;
    size_t o = 0;
    buf[o++] = '{';
    buf[o] = 0;
    va_start (ap, size);
    for (;;) {
        const char *n = va_arg (ap, const char *);
        if (!n)
            break;
        const char *v = va_arg (ap, const char *);
        s_label (buf, size - 1, &o, n, v);
    }
    va_end (ap);
    buf[o++] = '}';
    buf[o] = 0;
}

static int
s_index_put (sl_metrics_t *self, size_t pos)
{
    if ((self->n_series + 1) * 2 > self->index_size) {
        size_t ns = self->index_size * 2;
        uint32_t *ni = calloc (ns, sizeof *ni);
        if (!ni)
            return SL_ENOMEM;
        for (size_t i = 0; i < self->n_series; i++) {
            size_t slot = self->series[i]->hash & (ns - 1);
            while (ni[slot])
                slot = (slot + 1) & (ns - 1);
            ni[slot] = (uint32_t) i + 1;
        }
        free (self->index);
        self->index = ni;
        self->index_size = ns;
    }
    size_t slot = self->series[pos]->hash & (self->index_size - 1);
    while (self->index[slot])
        slot = (slot + 1) & (self->index_size - 1);
    self->index[slot] = (uint32_t) pos + 1;
    return 0;
}

/*  Finds or creates the series (loop thread). Returns its position or -1. */
static long
s_series (sl_metrics_t *self, int family, const char *labels)
{
    uint32_t h = s_hash (family, labels);
    size_t slot = h & (self->index_size - 1);
    while (self->index[slot]) {
        s_series_t *s = self->series[self->index[slot] - 1];
        if (s->hash == h && s->family == family && strcmp (s->labels, labels) == 0)
            return (long) self->index[slot] - 1;
        slot = (slot + 1) & (self->index_size - 1);
    }
    if (self->n_series >= S_SERIES_MAX)
        return -1;
    s_series_t *s = calloc (1, sizeof *s);
    if (!s)
        return -1;
    s->family = family;
    s->hash = h;
    snprintf (s->labels, sizeof s->labels, "%s", labels);
    long pos = -1;
    pthread_mutex_lock (&self->lock);
    if (self->n_series == self->cap_series) {
        size_t cap = self->cap_series ? self->cap_series * 2 : 64;
        s_series_t **p = realloc (self->series, cap * sizeof *p);
        if (!p)
            goto out;
        self->series = p;
        self->cap_series = cap;
    }
    self->series[self->n_series] = s;
    if (s_index_put (self, self->n_series) != 0)
        goto out;
    pos = (long) self->n_series++;
    s = NULL;
out:
    pthread_mutex_unlock (&self->lock);
    free (s);
    return pos;
}

static void s_stage_pos (sl_metrics_t *self, long pos, uint64_t n);

static void
s_stage (sl_metrics_t *self, int family, const char *labels)
{
    s_stage_pos (self, s_series (self, family, labels), 1);
}

/*  `n` more for series `pos` (-1: none could be made), in the batch. */
static void
s_stage_pos (sl_metrics_t *self, long pos, uint64_t n)
{
    if (pos < 0) {
        __atomic_fetch_add (&self->dropped, 1, __ATOMIC_RELAXED);   /* read by the listener */
        return;
    }
    s_series_t *s = self->series[pos];
    if (s->staged == 0) {
        if (self->n_touched == self->cap_touched) {
            size_t cap = self->cap_touched ? self->cap_touched * 2 : 64;
            size_t *p = realloc (self->touched, cap * sizeof *p);
            if (!p) {
                __atomic_fetch_add (&self->dropped, 1, __ATOMIC_RELAXED);
                return;
            }
            self->touched = p;
            self->cap_touched = cap;
        }
        self->touched[self->n_touched++] = (size_t) pos;
    }
    s->staged += n;
}

/*  Counts one event in `family` with labels names[i]=vals[i] (n of them),
 *  through the memo. */
static void
s_count (sl_metrics_t *self, int family, const char *const *names, const char *const *vals,
         size_t n, uint64_t amount)
{
    char key[S_MEMO_KEY];
    size_t o = 0;
    uint32_t h = 2166136261u ^ (uint32_t) family;
    int fits = 1;
    for (size_t i = 0; i < n && fits; i++) {
        const char *v = vals[i] ? vals[i] : "";
        size_t l = strlen (v);
        if (o + l + 1 > sizeof key) {
            fits = 0;
            break;
        }
        memcpy (key + o, v, l);
        o += l;
        key[o++] = 0x1f;
    }
    s_memo_t *m = NULL;
    if (fits) {
        for (size_t i = 0; i < o; i++)
            h = (h ^ (uint8_t) key[i]) * 16777619u;
        m = &self->memo[h & (S_MEMO - 1)];
        if (m->len == o && m->hash == h && m->family == family && memcmp (m->key, key, o) == 0) {
            s_stage_pos (self, m->pos, amount);
            return;
        }
    }
    char l[S_LABELS_MAX];
    size_t lo = 0;
    l[lo++] = '{';
    l[lo] = 0;
    for (size_t i = 0; i < n; i++)
        s_label (l, sizeof l - 1, &lo, names[i], vals[i]);
    l[lo++] = '}';
    l[lo] = 0;
    long pos = s_series (self, family, l);
    if (pos >= 0 && m) {
        m->family = family;
        m->hash = h;
        m->len = o;
        m->pos = pos;
        memcpy (m->key, key, o);
    }
    s_stage_pos (self, pos, amount);
}

/*  "stage=deliver ..." -> "deliver"; `key` "domain=" etc. */
static const char *
s_detail (const char *detail, const char *key, char *buf, size_t size)
{
    const char *p = detail ? strstr (detail, key) : NULL;
    if (!p)
        return NULL;
    p += strlen (key);
    size_t n = strcspn (p, " ,");
    if (n >= size)
        n = size - 1;
    memcpy (buf, p, n);
    buf[n] = 0;
    return buf;
}

void
sl_metrics_event (sl_metrics_t *self, const sl_event_t *ev)
{
    if (!self || !ev || !ev->kind)
        return;
    char l[S_LABELS_MAX], b1[64];
    const char *k = ev->kind;
    static const char *const n_kind[] = { "kind" };
    static const char *const n_oct[] = { "owner", "consumer", "type" };
    static const char *const n_ot[] = { "owner", "type" };
    s_count (self, F_AUDIT, n_kind, &k, 1, 1);
    const char *oct[] = { ev->owner, ev->counterpart, ev->record_type };
    if (!strcmp (k, "publish") || ev->accepts) {
        /* a record accepted: its own entry, or folded into its first copy's */
        const char *ot[] = { ev->owner ? ev->owner : ev->actor, ev->record_type };
        s_count (self, F_PUBLISHED, n_ot, ot, 2, 1);
    }
    if (!strcmp (k, "queue")) {
        s_count (self, F_STORED, n_oct, oct, 3, 1);
    }
    else if (!strcmp (k, "publish.refused")) {
        s_labels (l, sizeof l, "member", ev->actor, "type", ev->record_type, "reason", ev->reason,
                  NULL);
        s_stage (self, F_REFUSED, l);
    }
    else if (!strcmp (k, "deliver")) {
        s_count (self, F_DELIVERED, n_oct, oct, 3, 1);
    }
    else if (!strcmp (k, "deny")) {
        s_labels (l, sizeof l, "owner", ev->owner, "consumer", ev->counterpart, "type",
                  ev->record_type, "stage", s_detail (ev->detail, "stage=", b1, sizeof b1),
                  "reason", ev->reason, NULL);
        s_stage (self, F_DENIED, l);
    }
    else if (!strcmp (k, "ack")) {
        static const char *const n_c[] = { "consumer" };
        s_count (self, F_ACKED, n_c, &ev->actor, 1, ev->records ? ev->records : 1);
    }
    else if (!strcmp (k, "query")) {
        s_labels (l, sizeof l, "asker", ev->actor, "owner", ev->owner, "type", ev->record_type,
                  "decision", ev->decision, NULL);
        s_stage (self, F_QUERIES, l);
    }
    else if (!strcmp (k, "auth.denied")) {
        const char *d = s_detail (ev->detail, "domain=", b1, sizeof b1);
        /* sluice.data, sluice.admin, and their .next listeners (broker key rollover) */
        s_labels (l, sizeof l, "plane",
                  d && !strncmp (d, "sluice.admin", 12) ? "admin"
                  : d && !strncmp (d, "sluice.data", 11) ? "data" : d,
                  "reason", ev->reason, NULL);
        s_stage (self, F_AUTH_DENIED, l);
    }
}

static void
s_observe (s_hist_t *h, double v)
{
    size_t i = 0;
    while (i < h->n && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

void
sl_metrics_txn_outcome (void *ctx, int committed)
{
    sl_metrics_t *self = ctx;
    uint64_t wait_us = 0, sync_us = 0;
    unsigned ops = 0;
    if (self->batch)
        sl_batch_last_timing (self->batch, &wait_us, &sync_us, &ops);
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < self->n_touched; i++) {
        s_series_t *s = self->series[self->touched[i]];
        if (committed)
            s->value += (double) s->staged;
        s->staged = 0;
    }
    self->n_touched = 0;
    if (committed) {
        self->commits++;
        if (self->batch) {
            s_observe (&self->commit_h, (double) wait_us / 1e6);
            s_observe (&self->sync_h, (double) sync_us / 1e6);
            s_observe (&self->ops_h, (double) ops);
        }
    }
    else
        self->aborts++;
    pthread_mutex_unlock (&self->lock);
}

/* ------------------------------------------------------------ rendering */

typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} s_buf_t;

static void
s_printf (s_buf_t *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start (ap, fmt);
        int n = vsnprintf (b->p + b->len, b->cap - b->len, fmt, ap);
        va_end (ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t) n < b->cap - b->len) {
            b->len += (size_t) n;
            return;
        }
        size_t cap = (b->cap + (size_t) n + 1) * 2;
        char *p = realloc (b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

static void
s_render_hist (s_buf_t *b, const s_hist_t *h)
{
    s_printf (b, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
    uint64_t cum = 0;
    for (size_t i = 0; i < h->n; i++) {
        cum += h->counts[i];
        s_printf (b, "%s_bucket{le=\"%g\"} %llu\n", h->name, h->bounds[i], (unsigned long long) cum);
    }
    cum += h->counts[h->n];
    s_printf (b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", h->name,
              (unsigned long long) cum, h->name, h->sum, h->name, (unsigned long long) h->count);
}

char *
sl_metrics_render (sl_metrics_t *self, size_t *len)
{
    s_buf_t b = { malloc (16384), 0, 16384, 0 };
    if (!b.p)
        return NULL;
    b.p[0] = 0;
    pthread_mutex_lock (&self->lock);
    for (int f = 0; f < F_COUNT_; f++) {
        s_printf (&b, "# HELP %s %s\n# TYPE %s counter\n", s_families[f].name, s_families[f].help,
                  s_families[f].name);
        for (size_t i = 0; i < self->n_series; i++)
            if (self->series[i]->family == f)
                s_printf (&b, "%s%s %.0f\n", s_families[f].name, self->series[i]->labels,
                          self->series[i]->value);
    }
    s_printf (&b, "# HELP sluice_commits_total Group commits that reached the disk.\n"
                  "# TYPE sluice_commits_total counter\nsluice_commits_total %llu\n"
                  "# HELP sluice_commit_aborts_total Group commits that failed or were aborted "
                  "(their publishers got store-full or commit-failed).\n"
                  "# TYPE sluice_commit_aborts_total counter\nsluice_commit_aborts_total %llu\n"
                  "# HELP sluice_metrics_dropped_total Counter increments lost because the "
                  "series limit was reached or memory ran out.\n"
                  "# TYPE sluice_metrics_dropped_total counter\nsluice_metrics_dropped_total %llu\n",
              (unsigned long long) self->commits, (unsigned long long) self->aborts,
              (unsigned long long) __atomic_load_n (&self->dropped, __ATOMIC_RELAXED));
    s_render_hist (&b, &self->commit_h);
    s_render_hist (&b, &self->sync_h);
    s_render_hist (&b, &self->ops_h);
    if (self->gauges)
        s_printf (&b, "%s", self->gauges);
    s_printf (&b, "# HELP sluice_metrics_sample_seconds What the event loop spent on the last "
                  "gauge sample (the sampling period is stretched to keep it under ~1%%).\n"
                  "# TYPE sluice_metrics_sample_seconds gauge\nsluice_metrics_sample_seconds %.6f\n",
              (double) self->sample_cost_us / 1e6);
    pthread_mutex_unlock (&self->lock);
    if (b.oom) {
        free (b.p);
        return NULL;
    }
    if (len)
        *len = b.len;
    return b.p;
}

/* ------------------------------------------------------------ samples */

void
sl_metrics__publish_sample (sl_metrics_t *self, char *text, int64_t now_ms, int store_ok,
                            int signing_ok, const char *why)
{
    pthread_mutex_lock (&self->lock);
    free (self->gauges);
    self->gauges = text;
    self->sample_ms = now_ms;
    self->ready_store = store_ok;
    self->ready_signing = signing_ok;
    snprintf (self->not_ready, sizeof self->not_ready, "%s", why ? why : "");
    pthread_mutex_unlock (&self->lock);
}

void
sl_metrics__sample_cost (sl_metrics_t *self, int64_t us)
{
    pthread_mutex_lock (&self->lock);
    self->sample_cost_us = us;
    pthread_mutex_unlock (&self->lock);
}

int64_t *
sl_metrics__next_sample (sl_metrics_t *self)
{
    return &self->next_sample_ms;
}

int
sl_metrics_ready (sl_metrics_t *self, int64_t now_ms, int64_t max_age_ms, char *why, size_t whylen)
{
    int ok;
    pthread_mutex_lock (&self->lock);
    if (self->sample_ms == 0) {
        ok = 0;
        snprintf (why, whylen, "%s", self->not_ready);
    }
    else if (now_ms - self->sample_ms > max_age_ms) {
        ok = 0;
        snprintf (why, whylen, "the event loop has not sampled its state for %lld ms",
                  (long long) (now_ms - self->sample_ms));
    }
    else if (!self->ready_store || !self->ready_signing) {
        ok = 0;
        snprintf (why, whylen, "%s", self->not_ready);
    }
    else {
        ok = 1;
        snprintf (why, whylen, "ready");
    }
    pthread_mutex_unlock (&self->lock);
    return ok;
}

int
sl_metrics_value (sl_metrics_t *self, const char *series, double *value)
{
    size_t len;
    char *text = sl_metrics_render (self, &len);
    if (!text)
        return 0;
    size_t sl = strlen (series);
    int found = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr (line, '\n');
        if (strncmp (line, series, sl) == 0 && line[sl] == ' ') {
            *value = strtod (line + sl + 1, NULL);
            found = 1;
            break;
        }
        line = nl ? nl + 1 : NULL;
    }
    free (text);
    return found;
}

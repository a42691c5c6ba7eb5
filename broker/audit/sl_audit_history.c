/*  sl_audit_history — the archived part of the log, for review: which
 *  entries are no longer live, which segment files hold them, and reading
 *  them back (docs/AUDIT.md §7.1).
 *
 *  Design note:
 *  1. The live log's meta record "start" says where it begins: every entry
 *     before it was archived. sl_audit_archive records the directory it
 *     wrote into ("dir=" in the audit.archive entry's detail), so the
 *     segments are found from the log itself: the directories named by the
 *     archive entries of the live log, then, recursively, by those inside
 *     the segments found (an archive moves older archive entries too), plus
 *     any directories the caller adds.
 *  2. Of the segment files found (audit-<first>-<last>.seg), the chain that
 *     starts at seq 1 and runs contiguously is used; a gap stops it, and
 *     the history then says which range could not be read. Review does not
 *     check signatures (`audit verify` does); it reads what the chain of
 *     files holds, in sequence order.
 */
#include "sl_audit_int.h"
#include "sl_error.h"

#include <cjson/cJSON.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char    *path;
    uint64_t first, last;
    bool     read;              /* its entries were scanned for more directories */
} s_seg_t;

struct sl_audit_history_s {
    uint64_t live_start;
    s_seg_t *segs;              /* every file found, sorted by first */
    size_t   n_segs, cap_segs;
    char   **chain;             /* the contiguous chain from seq 1 */
    size_t   n_chain;
    uint64_t covered_to;
    char   **dirs;
    size_t   n_dirs;
};

int
sl_audit__read_file (const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return SL_EIO;
    int rc = SL_EIO;
    struct stat st;
    if (fstat (fileno (f), &st) != 0)
        goto out;
    *size = (size_t) st.st_size;
    *data = malloc (*size ? *size : 1);
    if (!*data) {
        rc = SL_ENOMEM;
        goto out;
    }
    if (fread (*data, 1, *size, f) != *size) {
        free (*data);
        *data = NULL;
        goto out;
    }
    rc = SL_OK;
out:
    fclose (f);
    return rc;
}

int
sl_audit__read_segment (const char *path, uint8_t **data, size_t *size)
{
    int rc = sl_audit__read_file (path, data, size);
    if (rc == SL_OK && (*size < SEG_HEADER_LEN + SEG_TRAILER_LEN
                        || memcmp (*data, SEG_MAGIC, 8) != 0)) {
        free (*data);
        *data = NULL;
        rc = SL_EIO;
    }
    return rc;
}

int
sl_audit__segment_next (const uint8_t *data, size_t size, size_t *pos, sl_audit_entry_t *e)
{
    if (*pos < SEG_HEADER_LEN)
        *pos = SEG_HEADER_LEN;
    if (*pos + 4 > size - SEG_TRAILER_LEN)
        return 0;
    const uint8_t *p = data + *pos;
    size_t len = (size_t) p[0] | (size_t) p[1] << 8 | (size_t) p[2] << 16 | (size_t) p[3] << 24;
    if (*pos + 4 + len > size - SEG_TRAILER_LEN)
        return SL_ECORRUPT;
    if (sl_audit_decode (p + 4, len, e) != 0)
        return SL_ECORRUPT;
    *pos += 4 + len;
    return 1;
}

static int
s_add_dir (sl_audit_history_t *h, const char *dir, size_t len)
{
    for (size_t i = 0; i < h->n_dirs; i++)
        if (strlen (h->dirs[i]) == len && memcmp (h->dirs[i], dir, len) == 0)
            return 0;
    char **d = realloc (h->dirs, (h->n_dirs + 1) * sizeof *d);
    if (!d)
        return SL_ENOMEM;
    h->dirs = d;
    if (!(d[h->n_dirs] = strndup (dir, len)))
        return SL_ENOMEM;
    h->n_dirs++;
    return 0;
}

/*  The "dir=" of an audit.archive entry's detail, if any. */
static int
s_dir_of (sl_audit_history_t *h, const sl_audit_entry_t *e)
{
    if (e->kind.len != sizeof SL_AUDIT_AUDIT_ARCHIVE - 1
        || memcmp (e->kind.ptr, SL_AUDIT_AUDIT_ARCHIVE, e->kind.len) != 0)
        return 0;
    const char *d = e->detail.ptr, *end = d + e->detail.len;
    for (const char *p = d; p + 4 <= end; p++)
        if ((p == d || p[-1] == ' ') && memcmp (p, "dir=", 4) == 0) {
            const char *v = p + 4, *q = v;
            while (q < end && *q != ' ')
                q++;
            return q > v ? s_add_dir (h, v, (size_t) (q - v)) : 0;
        }
    return 0;
}

static int
s_seg_cmp (const void *a, const void *b)
{
    const s_seg_t *x = a, *y = b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->last < y->last ? -1 : x->last > y->last;
}

/*  Lists DIR's segment files not seen yet; scans each for archive entries
 *  naming more directories. */
static int
s_scan_dir (sl_audit_history_t *h, const char *dir)
{
    DIR *d = opendir (dir);
    if (!d)
        return 0;                        /* gone or unreadable: the gap will say so */
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir (d))) {
        uint64_t first, last;
        char tail[8];
        if (sscanf (de->d_name, "audit-%20" SCNu64 "-%20" SCNu64 ".se%1s", &first, &last, tail) != 3
            || strcmp (de->d_name + strlen (de->d_name) - 4, ".seg") != 0)
            continue;
        char *path = NULL;
        if (asprintf (&path, "%s/%s", dir, de->d_name) < 0) {
            rc = SL_ENOMEM;
            break;
        }
        bool seen = false;
        for (size_t i = 0; i < h->n_segs && !seen; i++)
            seen = h->segs[i].first == first && h->segs[i].last == last;
        if (seen) {
            free (path);
            continue;
        }
        if (h->n_segs == h->cap_segs) {
            size_t cap = h->cap_segs ? h->cap_segs * 2 : 8;
            s_seg_t *s = realloc (h->segs, cap * sizeof *s);
            if (!s) {
                free (path);
                rc = SL_ENOMEM;
                break;
            }
            h->segs = s;
            h->cap_segs = cap;
        }
        h->segs[h->n_segs++] = (s_seg_t) { path, first, last, false };
    }
    closedir (d);
    return rc;
}

/*  Reads the segments not read yet for the directories their archive
 *  entries name (only needed while the chain has a gap). */
static int
s_scan_contents (sl_audit_history_t *h)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < h->n_segs; i++) {
        if (h->segs[i].read)
            continue;
        h->segs[i].read = true;
        uint8_t *data = NULL;
        size_t size = 0, pos = 0;
        if (sl_audit__read_segment (h->segs[i].path, &data, &size) == 0) {
            sl_audit_entry_t e;
            while (rc == 0 && sl_audit__segment_next (data, size, &pos, &e) == 1)
                rc = s_dir_of (h, &e);
            free (data);
        }
    }
    return rc;
}

/*  The contiguous chain from seq 1 among the files found; returns the last
 *  seq it covers. */
static uint64_t
s_chain (sl_audit_history_t *h)
{
    if (h->n_segs > 1)
        qsort (h->segs, h->n_segs, sizeof *h->segs, s_seg_cmp);
    h->n_chain = 0;
    uint64_t next = 1;
    for (size_t i = 0; i < h->n_segs && next < h->live_start; i++)
        if (h->segs[i].first == next && h->segs[i].last >= next) {
            h->chain[h->n_chain++] = h->segs[i].path;
            next = h->segs[i].last + 1;
        }
    return next - 1;
}

sl_audit_history_t *
sl_audit_history_new (MDB_txn *txn, const char *const *dirs, size_t n_dirs)
{
    sl_audit_history_t *h = calloc (1, sizeof *h);
    if (!h)
        return NULL;
    MDB_dbi log, cp, meta;
    uint8_t hash[SL_AUDIT_HASH_LEN];
    if (sl_audit__open_dbs (txn, 0, &log, &cp, &meta) != 0)
        goto fail;
    int rc = sl_audit__read_meta (txn, meta, "start", &h->live_start, hash);
    if (rc == SL_ENOTFOUND)
        h->live_start = 1;
    else if (rc != 0)
        goto fail;
    if (h->live_start <= 1)
        return h;
    for (size_t i = 0; i < n_dirs; i++)
        if (dirs[i] && s_add_dir (h, dirs[i], strlen (dirs[i])) != 0)
            goto fail;
    /* the live archive entries name where they wrote */
    sl_audit_filter_t f = { .kind = SL_AUDIT_AUDIT_ARCHIVE };
    sl_audit_iter_t *it = sl_audit_iter_new (txn, &f);
    sl_audit_entry_t e;
    while (it && sl_audit_iter_next (it, &e) == 1)
        if (s_dir_of (h, &e) != 0) {
            sl_audit_iter_destroy (&it);
            goto fail;
        }
    sl_audit_iter_destroy (&it);
    /* list the directories known; only while the chain has a gap, read the
     * segments for archive entries naming more (the usual case, every
     * segment in one directory, lists one directory and reads nothing) */
    size_t scanned = 0;
    for (;;) {
        for (; scanned < h->n_dirs; scanned++)
            if (s_scan_dir (h, h->dirs[scanned]) != 0)
                goto fail;
        free (h->chain);
        h->chain = calloc (h->n_segs + 1, sizeof *h->chain);
        if (!h->chain)
            goto fail;
        h->covered_to = s_chain (h);
        if (h->covered_to + 1 >= h->live_start)
            break;
        size_t before = h->n_dirs;
        if (s_scan_contents (h) != 0)
            goto fail;
        if (h->n_dirs == before)
            break;                            /* nothing more to look at */
    }
    return h;
fail:
    sl_audit_history_destroy (&h);
    return NULL;
}

uint64_t
sl_audit_history_live_start (const sl_audit_history_t *self)
{
    return self->live_start;
}

uint64_t
sl_audit_history_covered_to (const sl_audit_history_t *self)
{
    return self->covered_to;
}

size_t
sl_audit_history_segments (const sl_audit_history_t *self, const char *const **paths)
{
    *paths = (const char *const *) self->chain;
    return self->n_chain;
}

char *
sl_audit_history_json (const sl_audit_history_t *self)
{
    cJSON *o = cJSON_CreateObject ();
    if (!o)
        return NULL;
    uint64_t last = self->live_start > 1 ? self->live_start - 1 : 0;
    cJSON *segs = cJSON_CreateArray ();
    cJSON *dirs = cJSON_CreateArray ();
    for (size_t i = 0; segs && i < self->n_chain; i++)
        cJSON_AddItemToArray (segs, cJSON_CreateString (self->chain[i]));
    for (size_t i = 0; dirs && i < self->n_dirs; i++)
        cJSON_AddItemToArray (dirs, cJSON_CreateString (self->dirs[i]));
    char a[24], b[24], c[24];
    snprintf (a, sizeof a, "%" PRIu64, last ? (uint64_t) 1 : 0);
    snprintf (b, sizeof b, "%" PRIu64, last);
    snprintf (c, sizeof c, "%" PRIu64, self->covered_to);
    cJSON_AddRawToObject (o, "archived_first", a);
    cJSON_AddRawToObject (o, "archived_last", b);
    cJSON_AddRawToObject (o, "read_to", c);
    cJSON_AddBoolToObject (o, "complete", self->covered_to == last);
    cJSON_AddItemToObject (o, "segments", segs);
    cJSON_AddItemToObject (o, "searched", dirs);
    char *out = cJSON_PrintUnformatted (o);
    cJSON_Delete (o);
    return out;
}

int
sl_audit_history_note (const sl_audit_history_t *self, char *buf, size_t cap)
{
    uint64_t last = self->live_start > 1 ? self->live_start - 1 : 0;
    if (!last)
        return snprintf (buf, cap, "%s", "");
    if (self->covered_to == last)
        return snprintf (buf, cap, "entries 1..%" PRIu64 " are archived; read from %zu segment "
                         "file%s (first: %s)", last, self->n_chain, self->n_chain == 1 ? "" : "s",
                         self->n_chain ? self->chain[0] : "-");
    return snprintf (buf, cap, "entries %" PRIu64 "..%" PRIu64 " are archived and NOT included: "
                     "their segment files were not found (searched %zu director%s%s%s); "
                     "entries 1..%" PRIu64 " were read from segments",
                     self->covered_to + 1, last, self->n_dirs, self->n_dirs == 1 ? "y" : "ies",
                     self->n_dirs ? ", first " : "", self->n_dirs ? self->dirs[0] : "",
                     self->covered_to);
}

void
sl_audit_history_destroy (sl_audit_history_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_audit_history_t *h = *self_p;
    for (size_t i = 0; i < h->n_segs; i++)
        free (h->segs[i].path);
    free (h->segs);
    free (h->chain);
    for (size_t i = 0; i < h->n_dirs; i++)
        free (h->dirs[i]);
    free (h->dirs);
    free (h);
    *self_p = NULL;
}

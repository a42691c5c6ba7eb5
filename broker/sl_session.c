/*  sl_session — see sl_session.h. */
#include "sl_session.h"

#include <stdlib.h>
#include <string.h>

#include "sl_error.h"

struct sl_sessions_t {
    sl_session_t **s;
    size_t n, cap;
};

sl_sessions_t *
sl_sessions_new (void)
{
    return calloc (1, sizeof (sl_sessions_t));
}

static void
s_free (sl_session_t *s)
{
    free (s->inflight);
    free (s);
}

void
sl_sessions_destroy (sl_sessions_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_sessions_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        s_free (self->s[i]);
    free (self->s);
    free (self);
    *self_p = NULL;
}

sl_session_t *
sl_sessions_find (sl_sessions_t *self, sl_plane_t plane, const void *rid, size_t rid_len)
{
    for (size_t i = 0; i < self->n; i++) {
        sl_session_t *s = self->s[i];
        if (s->plane == plane && s->rid_len == rid_len && memcmp (s->rid, rid, rid_len) == 0)
            return s;
    }
    return NULL;
}

sl_session_t *
sl_sessions_of (sl_sessions_t *self, const char *member)
{
    for (size_t i = 0; i < self->n; i++) {
        sl_session_t *s = self->s[i];
        if (s->plane == SL_PLANE_DATA && s->current && strcmp (s->member, member) == 0)
            return s;
    }
    return NULL;
}

int
sl_sessions_make_current (sl_sessions_t *self, sl_session_t *s)
{
    if (s->current)
        return 0;
    sl_session_t *old = sl_sessions_of (self, s->member);
    if (old)
        old->current = 0;
    s->current = 1;
    return old != NULL;
}

sl_session_t *
sl_sessions_closed (sl_sessions_t *self, const char *member)
{
    sl_session_t *current = NULL, *any = NULL;
    for (size_t i = 0; i < self->n; i++) {
        sl_session_t *s = self->s[i];
        if (s->plane != SL_PLANE_DATA || strcmp (s->member, member) != 0)
            continue;
        s->scan_from = 0;
        s->dirty = s->credit > 0;
        if (s->current)
            current = s;
        if (!any || s->credit > any->credit)
            any = s;
    }
    if (!current && any)
        (current = any)->current = 1;
    return current;
}

size_t
sl_sessions_siblings (sl_sessions_t *self, const sl_session_t *s, sl_session_t **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n && n < max; i++) {
        sl_session_t *o = self->s[i];
        if (o != s && o->plane == SL_PLANE_DATA && o->n_inflight > 0
            && strcmp (o->member, s->member) == 0)
            out[n++] = o;
    }
    return n;
}

void
sl_sessions_remove (sl_sessions_t *self, sl_session_t *session)
{
    for (size_t i = 0; i < self->n; i++)
        if (self->s[i] == session) {
            s_free (session);
            self->s[i] = self->s[--self->n];
            return;
        }
}

sl_session_t *
sl_sessions_add (sl_sessions_t *self, sl_plane_t plane, const void *rid, size_t rid_len,
                 const char *member, int fd)
{
    if (rid_len > SL_RID_MAX || strlen (member) > 32)
        return NULL;
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        sl_session_t **p = realloc (self->s, cap * sizeof *p);
        if (!p)
            return NULL;
        self->s = p;
        self->cap = cap;
    }
    sl_session_t *s = calloc (1, sizeof *s);
    if (!s)
        return NULL;
    s->plane = plane;
    memcpy (s->rid, rid, rid_len);
    s->rid_len = rid_len;
    strcpy (s->member, member);
    s->fd = fd;
    self->s[self->n++] = s;
    return s;
}

size_t
sl_sessions_count (sl_sessions_t *self)
{
    return self->n;
}

sl_session_t *
sl_sessions_at (sl_sessions_t *self, size_t i)
{
    return i < self->n ? self->s[i] : NULL;
}

/*  The in-flight array is kept sorted by tag: deliveries come in tag order,
 *  so adding is an append except after a NACK sent the scan back; find is a
 *  binary search (a credit window of 1024 made the linear one cost ~1,000
 *  comparisons per delivered and per acked record). */

/*  Index of the first entry with tag >= `tag` (n_inflight if none). */
static size_t
s_inflight_lower (const sl_session_t *s, uint64_t tag)
{
    size_t lo = 0, hi = s->n_inflight;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->inflight[mid].tag < tag)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

sl_inflight_t *
sl_session_inflight_find (sl_session_t *s, uint64_t tag)
{
    size_t i = s_inflight_lower (s, tag);
    return i < s->n_inflight && s->inflight[i].tag == tag ? &s->inflight[i] : NULL;
}

int
sl_session_inflight_add (sl_session_t *s, uint64_t tag)
{
    if (s->n_inflight == s->cap_inflight) {
        size_t cap = s->cap_inflight ? s->cap_inflight * 2 : 64;
        sl_inflight_t *p = realloc (s->inflight, cap * sizeof *p);
        if (!p)
            return SL_ENOMEM;
        s->inflight = p;
        s->cap_inflight = cap;
    }
    size_t i = s->n_inflight > 0 && s->inflight[s->n_inflight - 1].tag < tag
             ? s->n_inflight : s_inflight_lower (s, tag);
    if (i < s->n_inflight && s->inflight[i].tag == tag) {
        s->inflight[i].acked = 0;       /* already there */
        return 0;
    }
    memmove (&s->inflight[i + 1], &s->inflight[i], (s->n_inflight - i) * sizeof *s->inflight);
    s->inflight[i].tag = tag;
    s->inflight[i].acked = 0;
    s->n_inflight++;
    return 0;
}

void
sl_session_inflight_drop (sl_session_t *s, uint64_t tag)
{
    size_t i = s_inflight_lower (s, tag);
    if (i < s->n_inflight && s->inflight[i].tag == tag) {
        memmove (&s->inflight[i], &s->inflight[i + 1],
                 (s->n_inflight - i - 1) * sizeof *s->inflight);
        s->n_inflight--;
    }
}

void
sl_sessions_settle (sl_sessions_t *self, int committed)
{
    for (size_t i = 0; i < self->n; i++) {
        sl_session_t *s = self->s[i];
        size_t o = 0;
        for (size_t j = 0; j < s->n_inflight; j++) {
            if (s->inflight[j].acked && committed)
                continue;
            s->inflight[o] = s->inflight[j];
            s->inflight[o].acked = 0;
            o++;
        }
        s->n_inflight = o;
    }
}

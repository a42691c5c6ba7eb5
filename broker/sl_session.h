/*  sl_session — connections the broker knows, per plane.
 *
 *  A session is one ZeroMQ connection (ROUTER routing id) of an authenticated
 *  member. A session holds the credit the consumer granted and the
 *  deliveries it has not acknowledged yet ("in flight"); forgetting those
 *  returns them to the queue, because queue entries stay until a consumer
 *  ACK is committed.
 *
 *  Several connections under one member key form a *queue group*
 *  (PROTOCOL.md 5.9), as NATS queue groups or MQTT shared subscriptions do:
 *   1. Every data session of the member that has credit receives from the
 *      member's queue; a record is in flight on at most one of them (the
 *      scan skips tags its siblings hold), so deliveries are spread across
 *      the live connections.
 *   2. When a connection closes, its in-flight records become deliverable
 *      to the others (sl_sessions_closed); nothing waits for it.
 *   3. One of them is the member's *current* session, where queries and
 *      notices go: the last that sent HELLO, SUBSCRIBE or CREDIT; when it
 *      closes, another one takes over.
 */
#ifndef SL_SESSION_H
#define SL_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define SL_RID_MAX 256

typedef enum { SL_PLANE_DATA = 0, SL_PLANE_ADMIN = 1 } sl_plane_t;

typedef struct {
    uint64_t tag;
    int acked;          /* consumer ACKed; removal waits for the batch commit */
} sl_inflight_t;

typedef struct {
    sl_plane_t plane;
    unsigned char rid[SL_RID_MAX];
    size_t rid_len;
    char member[33];
    int fd;                   /* TCP socket the connection uses (for revoke) */
    char peer[64];            /* getpeername() at first sight, "ip:port" */
    uint32_t credit;
    uint64_t scan_from;       /* deliver queue entries from this tag on */
    int dirty;                /* queue may hold deliverable entries */
    sl_inflight_t *inflight;
    size_t n_inflight, cap_inflight;
    int64_t close_at_ms;      /* >0: close the connection at this time (revoke) */
    int current;              /* data plane: the member's current session */
    char key_fp[17];          /* fingerprint of the key it authenticated with */
    int broker_next;          /* came through the broker's next key (rollover) */
} sl_session_t;

typedef struct sl_sessions_t sl_sessions_t;

sl_sessions_t *sl_sessions_new (void);
void sl_sessions_destroy (sl_sessions_t **self_p);

/*  The session for (plane, rid), or NULL. Borrowed until the next
 *  sl_sessions_add / sl_sessions_remove. */
sl_session_t *sl_sessions_find (sl_sessions_t *self, sl_plane_t plane,
                                const void *rid, size_t rid_len);

/*  Adds a session (not current). Returns it, or NULL (out of memory or
 *  rid/member too long). */
sl_session_t *sl_sessions_add (sl_sessions_t *self, sl_plane_t plane,
                               const void *rid, size_t rid_len, const char *member,
                               int fd);

/*  Makes data-plane session `s` its member's current session (queries and
 *  notices go there). The previous current session keeps its credit and its
 *  in-flight deliveries: it still receives its share (note 1). Returns 1 if
 *  another session was current before, else 0. Cannot fail. */
int sl_sessions_make_current (sl_sessions_t *self, sl_session_t *s);

/*  After a data session of `member` was removed: every remaining data
 *  session of the member scans its queue again from the start (the closed
 *  one's in-flight records are deliverable again) and, if none is current,
 *  one becomes current. Returns the current session, or NULL if the member
 *  has no data session left. Cannot fail. */
sl_session_t *sl_sessions_closed (sl_sessions_t *self, const char *member);

/*  The other data sessions of s's member that hold deliveries in flight,
 *  up to `max` into out[]. Returns how many. Cannot fail. */
size_t sl_sessions_siblings (sl_sessions_t *self, const sl_session_t *s, sl_session_t **out,
                             size_t max);

/*  Removes one session (pointer invalid afterwards). Cannot fail. */
void sl_sessions_remove (sl_sessions_t *self, sl_session_t *session);

/*  The current data-plane session of `member`, or NULL. */
sl_session_t *sl_sessions_of (sl_sessions_t *self, const char *member);

size_t sl_sessions_count (sl_sessions_t *self);
sl_session_t *sl_sessions_at (sl_sessions_t *self, size_t i);

/*  In-flight bookkeeping, sorted by tag. _find returns the entry or NULL
 *  (O(log n); the pointer is valid until the next _add or _drop). _add returns
 *  0 or SL_ENOMEM (adding a tag already in flight makes it unacked again).
 *  _drop removes the entry for tag (if any). */
sl_inflight_t *sl_session_inflight_find (sl_session_t *s, uint64_t tag);
int sl_session_inflight_add (sl_session_t *s, uint64_t tag);
void sl_session_inflight_drop (sl_session_t *s, uint64_t tag);

/*  After a batch commit: forget every acked in-flight entry (they are gone
 *  from the queue). After an abort: make them unacked again. Cannot fail. */
void sl_sessions_settle (sl_sessions_t *self, int committed);

#endif

/*  sl_session: one current data session per member, in-flight bookkeeping. */
#include <criterion/criterion.h>
#include <string.h>

#include "sl_session.h"

Test (session, making_a_connection_current_releases_the_previous_one)
{
    sl_sessions_t *ss = sl_sessions_new ();
    sl_session_t *a = sl_sessions_add (ss, SL_PLANE_DATA, "\0\0\0\1", 4, "power", -1);
    cr_assert_not_null (a);
    cr_assert_null (sl_sessions_of (ss, "power"), "a new session is not current by itself");
    cr_assert_eq (sl_sessions_make_current (ss, a), 0);
    cr_assert_eq (sl_sessions_of (ss, "power"), a);
    a->credit = 10;
    cr_assert_eq (sl_session_inflight_add (a, 7), 0);
    sl_session_t *adm = sl_sessions_add (ss, SL_PLANE_ADMIN, "\0\0\0\1", 4, "power", -1);
    sl_session_t *b = sl_sessions_add (ss, SL_PLANE_DATA, "\0\0\0\2", 4, "power", -1);
    cr_assert_eq (sl_sessions_of (ss, "power"), a, "adding does not switch");
    cr_assert_eq (sl_sessions_make_current (ss, b), 1);
    cr_assert_eq (sl_sessions_of (ss, "power"), b);
    cr_assert_eq (a->current, 0);
    /* queue group: the other connection keeps receiving its share */
    cr_assert_eq (a->credit, 10, "the older session lost its credit");
    cr_assert_eq (a->n_inflight, 1, "the older session lost its deliveries");
    cr_assert_eq (sl_sessions_make_current (ss, b), 0, "already current");
    cr_assert_eq (sl_sessions_find (ss, SL_PLANE_DATA, "\0\0\0\1", 4), a);
    cr_assert_eq (sl_sessions_find (ss, SL_PLANE_ADMIN, "\0\0\0\1", 4), adm);
    cr_assert_eq (sl_sessions_count (ss), 3);
    sl_sessions_remove (ss, b);
    cr_assert_null (sl_sessions_of (ss, "power"));
    cr_assert_eq (sl_sessions_count (ss), 2);
    sl_sessions_destroy (&ss);
    cr_assert_null (ss);
}

Test (session, acked_entries_settle_with_the_batch)
{
    sl_sessions_t *ss = sl_sessions_new ();
    sl_session_t *s = sl_sessions_add (ss, SL_PLANE_DATA, "r", 1, "power", -1);
    for (uint64_t t = 1; t <= 3; t++)
        sl_session_inflight_add (s, t);
    sl_session_inflight_find (s, 2)->acked = 1;
    sl_sessions_settle (ss, 0);                 /* abort: acks undone */
    cr_assert_eq (s->n_inflight, 3);
    cr_assert_eq (sl_session_inflight_find (s, 2)->acked, 0);
    sl_session_inflight_find (s, 2)->acked = 1;
    sl_sessions_settle (ss, 1);                 /* commit: gone */
    cr_assert_eq (s->n_inflight, 2);
    cr_assert_null (sl_session_inflight_find (s, 2));
    sl_session_inflight_drop (s, 1);
    cr_assert_eq (s->n_inflight, 1);
    cr_assert_not_null (sl_session_inflight_find (s, 3));
    sl_sessions_destroy (&ss);
}

Test (session, inflight_redelivered_after_nack_is_found_among_later_tags)
{
    sl_sessions_t *ss = sl_sessions_new ();
    sl_session_t *s = sl_sessions_add (ss, SL_PLANE_DATA, "r", 1, "water", -1);
    for (uint64_t t = 10; t <= 200; t++)
        cr_assert_eq (sl_session_inflight_add (s, t), 0);
    sl_session_inflight_drop (s, 10);          /* NACKed ... */
    sl_session_inflight_drop (s, 57);
    cr_assert_null (sl_session_inflight_find (s, 57));
    cr_assert_eq (sl_session_inflight_add (s, 57), 0);   /* ... and delivered again */
    cr_assert_eq (sl_session_inflight_add (s, 10), 0);
    cr_assert_eq (sl_session_inflight_add (s, 57), 0);   /* twice is one entry */
    cr_assert_eq (s->n_inflight, 191);
    for (uint64_t t = 10; t <= 200; t++)
        cr_assert_not_null (sl_session_inflight_find (s, t), "tag %llu lost", (unsigned long long) t);
    cr_assert_null (sl_session_inflight_find (s, 9));
    cr_assert_null (sl_session_inflight_find (s, 201));
    for (size_t i = 1; i < s->n_inflight; i++)
        cr_assert_lt (s->inflight[i - 1].tag, s->inflight[i].tag);
    sl_sessions_destroy (&ss);
}

Test (session, a_closed_connection_hands_over_to_the_others)
{
    sl_sessions_t *ss = sl_sessions_new ();
    sl_session_t *a = sl_sessions_add (ss, SL_PLANE_DATA, "a", 1, "power", -1);
    sl_session_t *b = sl_sessions_add (ss, SL_PLANE_DATA, "b", 1, "power", -1);
    sl_session_t *other = sl_sessions_add (ss, SL_PLANE_DATA, "c", 1, "water", -1);
    sl_sessions_make_current (ss, a);
    sl_sessions_make_current (ss, b);
    sl_sessions_make_current (ss, other);
    a->credit = b->credit = 5;
    a->scan_from = 40;
    cr_assert_eq (sl_session_inflight_add (b, 7), 0);
    cr_assert_eq (sl_session_inflight_add (other, 7), 0);
    sl_session_t *sib[4];
    cr_assert_eq (sl_sessions_siblings (ss, a, sib, 4), 1, "b holds a record for power");
    cr_assert_eq (sib[0], b);
    cr_assert_eq (sl_sessions_siblings (ss, b, sib, 4), 0, "water's session is no sibling");
    /* the current one (b) closes: a takes over, and scans from the start */
    sl_sessions_remove (ss, b);
    cr_assert_eq (sl_sessions_closed (ss, "power"), a);
    cr_assert_eq (sl_sessions_of (ss, "power"), a);
    cr_assert_eq (a->scan_from, 0);
    cr_assert (a->dirty);
    cr_assert_eq (sl_sessions_of (ss, "water"), other);
    sl_sessions_remove (ss, a);
    cr_assert_null (sl_sessions_closed (ss, "power"));
    sl_sessions_destroy (&ss);
}

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
    cr_assert_eq (a->credit, 0, "the released session kept its credit");
    cr_assert_eq (a->n_inflight, 0, "the released session kept its deliveries");
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

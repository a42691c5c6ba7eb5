/*  sl_spool: publishes kept on the adapter's disk until the broker ACKs. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sl_error.h"
#include "sl_outbox.h"
#include "sl_spool.h"
#include "sdk_unit.h"

typedef struct {
    int n;
    uint64_t keys[16];
    char types[16][64];
    char subjects[16][64];
    int64_t times[16];
    char bodies[16][64];
} s_seen_t;

static int
s_collect (uint64_t key, const uint8_t *id, const char *type, const char *subject,
           int64_t when, const void *body, size_t size, void *arg)
{
    s_seen_t *s = arg;
    cr_assert_lt (s->n, 16);
    cr_assert_eq (id[0], (uint8_t) key, "the id stored with key %llu", (unsigned long long) key);
    s->keys[s->n] = key;
    snprintf (s->types[s->n], 64, "%s", type);
    snprintf (s->subjects[s->n], 64, "%s", subject ? subject : "(null)");
    s->times[s->n] = when;
    snprintf (s->bodies[s->n], 64, "%.*s", (int) size, (const char *) body);
    s->n++;
    return 0;
}

static void
s_put (sl_spool_t *sp, sl_outbox_t *ob, int n, const char *subject, const char *body)
{
    uint8_t id[SL_MESSAGE_ID_LEN] = { (uint8_t) n };
    sl_outrec_t *rec = sl_outbox_add (ob, id, "water.v1.MeterReading", subject, 1700000000000 + n,
                                      body, strlen (body));
    uint64_t key = 0;
    cr_assert_eq (sl_spool_put (sp, rec, &key), 0);
    cr_assert_eq (key, (uint64_t) n, "keys count up from 1 in publish order");
}

Test (spool, records_survive_reopen_in_order, .init = s_setup, .fini = s_teardown)
{
    char err[256];
    sl_spool_t *sp = NULL;
    sl_outbox_t *ob = sl_outbox_new (0, 0, 0);
    cr_assert_eq (sl_spool_open (s_dir, &sp, err, sizeof err), 0, "%s", err);
    s_put (sp, ob, 1, "C-1001", "first");
    s_put (sp, ob, 2, NULL, "second");
    s_put (sp, ob, 3, "C-1003", "third");
    cr_assert_eq (sl_spool_del (sp, 2), 0);
    cr_assert_eq (sl_spool_del (sp, 2), SL_ENOTFOUND);
    cr_assert_eq (sl_spool_count (sp), 2);
    sl_spool_destroy (&sp);
    cr_assert_null (sp);

    cr_assert_eq (sl_spool_open (s_dir, &sp, err, sizeof err), 0, "%s", err);
    s_seen_t seen = { 0 };
    cr_assert_eq (sl_spool_each (sp, s_collect, &seen), 0);
    cr_assert_eq (seen.n, 2);
    cr_assert_eq (seen.keys[0], 1);
    cr_assert_str_eq (seen.bodies[0], "first");
    cr_assert_str_eq (seen.subjects[0], "C-1001");
    cr_assert_str_eq (seen.types[0], "water.v1.MeterReading");
    cr_assert_eq (seen.times[0], 1700000000001);
    cr_assert_eq (seen.keys[1], 3);
    cr_assert_str_eq (seen.bodies[1], "third");
    /* new keys continue after the highest one left */
    s_put (sp, ob, 4, NULL, "fourth");
    cr_assert_eq (sl_spool_sync (sp), 0);
    sl_spool_destroy (&sp);
    sl_outbox_destroy (&ob);
}

static int
s_fail_first (uint64_t k, const uint8_t *i, const char *t, const char *s, int64_t w,
              const void *b, size_t z, void *a)
{
    (void) k; (void) i; (void) t; (void) s; (void) w; (void) b; (void) z;
    ++*(int *) a;
    return SL_ENOMEM;
}

Test (spool, each_stops_at_the_callbacks_error, .init = s_setup, .fini = s_teardown)
{
    char err[256];
    sl_spool_t *sp = NULL;
    sl_outbox_t *ob = sl_outbox_new (0, 0, 0);
    cr_assert_eq (sl_spool_open (s_dir, &sp, err, sizeof err), 0);
    s_put (sp, ob, 1, NULL, "a");
    s_put (sp, ob, 2, NULL, "b");
    int calls = 0;
    int rc = sl_spool_each (sp, s_fail_first, &calls);
    cr_assert_eq (rc, SL_ENOMEM);
    cr_assert_eq (calls, 1);
    sl_spool_destroy (&sp);
    sl_outbox_destroy (&ob);
}

Test (spool, unusable_directory_is_a_clear_error)
{
    char err[256] = "";
    sl_spool_t *sp = NULL;
    int rc = sl_spool_open ("/proc/self/no/such/dir", &sp, err, sizeof err);
    cr_assert_neq (rc, 0);
    cr_assert_null (sp);
    cr_assert (strstr (err, "/proc/self/no/such/dir") != NULL, "err names the directory: %s", err);
}

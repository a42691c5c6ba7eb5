/*  sl_policy_store: versions per owner in LMDB, atomic apply, the role rule,
 *  dry runs, rollback as a new version, and the index put in force only
 *  when the batch commits. Also reads as the store's usage example. */
#include "unit_util.h"

#include "sl_batch.h"
#include "sl_error.h"
#include "sl_policy_store.h"
#include "sl_registry.h"

static const char *CITY = "purpose joint-metering \"joint metering\"\n";
static const char *WATER_V1 =
    "permit \"w2p\" {\n  owner water\n  consumer power\n  records water.v1.MeterReading\n"
    "  purpose joint-metering\n  fields district\n}\n";
static const char *WATER_V2 =
    "permit \"w2p\" {\n  owner water\n  consumer power\n  records water.v1.MeterReading\n"
    "  purpose joint-metering\n  fields district, date_observed\n}\n"
    "permit \"w2k\" {\n  owner water\n  consumer parking\n  records water.v1.MeterReading\n"
    "  purpose joint-metering\n  fields district\n}\n";

static sl_store_t *store;
static sl_batch_t *batch;
static sl_registry_t *reg;
static sl_policy_store_t *ps;

static void
add_member (const char *name, const char *role)
{
    MDB_txn *txn;
    char err[256], key[41];
    /* a syntactically valid Z85 public key, distinct per name */
    snprintf (key, sizeof key, "%-40.40s", "");
    memset (key, 'a', 40);
    memcpy (key, name, strlen (name));
    cr_assert_eq (sl_batch_txn (batch, &txn), 0);
    cr_assert_eq (sl_registry_add (reg, txn, name, role, key, err, sizeof err), 0, "%s", err);
    cr_assert_eq (sl_batch_commit (batch), 0);
}

static void
setup (void)
{
    store = u_store ();
    batch = sl_batch_new (store, 100, 1000);
    reg = sl_registry_new (store);
    cr_assert (batch && reg);
    MDB_txn *txn;
    cr_assert_eq (sl_batch_txn (batch, &txn), 0);
    int rc = 0;
    ps = sl_policy_store_new (txn, reg, &rc);
    cr_assert_not_null (ps, "%s", sl_strerror (rc));
    cr_assert_eq (sl_batch_commit (batch), 0);
    cr_assert_eq (sl_batch_listen (batch, sl_policy_store_txn_outcome, ps), 0);
    add_member ("power", "member");
    add_member ("parking", "member");
}

static void
teardown (void)
{
    sl_policy_store_destroy (&ps);
    sl_batch_destroy (&batch);
    sl_registry_destroy (&reg);
    u_cleanup (&store);
}

TestSuite (policy_store, .init = setup, .fini = teardown, .timeout = 30);

/*  apply in the batch; returns the rc, and the rendered errors in `text`. */
static int
apply (const char *owner, const char *text, const char *role, int dry, sl_policy_apply_result_t *r,
       char *errs, size_t size)
{
    MDB_txn *txn;
    cr_assert_eq (sl_batch_txn (batch, &txn), 0);
    sl_policy_diags_t *d = sl_policy_diags_new ();
    int rc = sl_policy_store_apply (ps, txn, owner, NULL, text, strlen (text), "tester", role,
                                    dry, d, r);
    char *t = sl_policy_diags_render (d);
    snprintf (errs, size, "%s%s", r->error, t);
    free (t);
    sl_policy_diags_destroy (&d);
    return rc;
}

/*  apply for real, asserting that it succeeds; the result is cleared. */
static void
applied (const char *owner, const char *text, const char *role)
{
    sl_policy_apply_result_t r;
    char errs[2048];
    cr_assert_eq (apply (owner, text, role, 0, &r, errs, sizeof errs), 0, "%s: %s", owner, errs);
    sl_policy_apply_result_clear (&r);
}

/*  `owner`'s current version as stored (a read transaction of its own). */
static uint32_t
current (const char *owner)
{
    MDB_txn *txn;
    uint32_t cur = 9;
    cr_assert_eq (sl_store_read (store, &txn), 0);
    cr_assert_eq (sl_policy_store_current (ps, txn, owner, &cur), 0);
    mdb_txn_abort (txn);
    return cur;
}

static int
permits (const char *consumer, const char *purpose)
{
    sl_policy_request_t req = { .owner = "water", .consumer = consumer,
                                .record_type = "water.v1.MeterReading", .purpose = purpose,
                                .time = 1767225600 };
    sl_policy_decision_t d;
    cr_assert_eq (sl_policy_decide (sl_policy_store_index (ps), &req, &d), 0);
    return d.permit;
}

Test (policy_store, apply_stores_versions_and_swaps_on_commit)
{
    sl_policy_apply_result_t r;
    char errs[2048];
    cr_assert_eq (apply ("city", CITY, "admin:city", 0, &r, errs, sizeof errs), 0, "%s", errs);
    cr_assert_eq (r.version, 1);
    sl_policy_apply_result_clear (&r);
    cr_assert_eq (sl_batch_commit (batch), 0);

    cr_assert_eq (apply ("water", WATER_V1, "admin:water", 0, &r, errs, sizeof errs), 0, "%s", errs);
    cr_assert_eq (r.version, 1);
    cr_assert_eq (r.previous, 0);
    cr_assert_str_eq (r.changes, "+w2p");
    sl_policy_apply_result_clear (&r);
    /* not in force before the commit */
    cr_assert_eq (permits ("power", "joint-metering"), 0);
    uint64_t gen = sl_policy_store_generation (ps);
    cr_assert_eq (sl_batch_commit (batch), 0);
    cr_assert_eq (sl_policy_store_generation (ps), gen + 1);
    cr_assert_eq (permits ("power", "joint-metering"), 1);
    cr_assert_eq (permits ("parking", "joint-metering"), 0);

    cr_assert_eq (apply ("water", WATER_V2, "admin:water", 0, &r, errs, sizeof errs), 0, "%s", errs);
    cr_assert_eq (r.version, 2);
    cr_assert_str_eq (r.changes, "~w2p +w2k");
    sl_policy_apply_result_clear (&r);
    cr_assert_eq (sl_batch_commit (batch), 0);
    cr_assert_eq (permits ("parking", "joint-metering"), 1);

    MDB_txn *txn;
    cr_assert_eq (sl_store_read (store, &txn), 0);
    sl_policy_version_t *v;
    cr_assert_eq (sl_policy_store_get (ps, txn, "water", 1, &v), 0);
    cr_assert_str_eq (v->text, WATER_V1);
    cr_assert_str_eq (v->actor, "tester");
    cr_assert_str_eq (v->role, "admin:water");
    cr_assert_str_eq (v->file, "water.policy");
    cr_assert (strstr (v->summary, "\"id\":\"w2p\""), "%s", v->summary);
    sl_policy_version_destroy (&v);
    uint32_t cur;
    cr_assert_eq (sl_policy_store_current (ps, txn, "water", &cur), 0);
    cr_assert_eq (cur, 2);
    cr_assert_eq (sl_policy_store_get (ps, txn, "water", 3, &v), SL_ENOTFOUND);
    mdb_txn_abort (txn);
}

Test (policy_store, an_aborted_batch_keeps_the_old_index_and_nothing_stored)
{
    applied ("city", CITY, "admin:city");
    applied ("water", WATER_V1, "admin:water");
    sl_batch_abort (batch);
    cr_assert_eq (permits ("power", "joint-metering"), 0);
    cr_assert_eq (current ("water"), 0);
}

Test (policy_store, errors_and_role_rule_change_nothing)
{
    sl_policy_apply_result_t r;
    char errs[2048];
    applied ("city", CITY, "admin:city");
    cr_assert_eq (sl_batch_commit (batch), 0);

    /* another bureau's administrator */
    cr_assert_eq (apply ("water", WATER_V1, "admin:power", 0, &r, errs, sizeof errs), SL_EPERM);
    cr_assert (strstr (errs, "only admin:water may"), "%s", errs);
    /* the right slot, a rule for another owner's data */
    cr_assert_eq (apply ("power", WATER_V1, "admin:power", 0, &r, errs, sizeof errs), SL_EPERM);
    cr_assert (strstr (errs, "power.policy:1:"), "%s", errs);
    /* the city may not permit */
    cr_assert_eq (apply ("city", WATER_V1, "admin:city", 0, &r, errs, sizeof errs), SL_EPERM);
    /* unknown owner */
    cr_assert_eq (apply ("sewer", WATER_V1, "admin:sewer", 0, &r, errs, sizeof errs), SL_EINVAL);
    cr_assert (strstr (errs, "unknown policy owner 'sewer'"), "%s", errs);
    /* two errors, both reported, in one pass */
    const char *bad = "permit \"x\" {\n  owner water\n  consumer powr\n  records water.v1.MeterReading\n"
                      "  purpose joint-metering\n  fields distrct\n}\n";
    cr_assert_eq (apply ("water", bad, "admin:water", 0, &r, errs, sizeof errs), SL_EINVAL);
    cr_assert (strstr (errs, "water.policy:3:"), "%s", errs);
    cr_assert (strstr (errs, "water.policy:6:"), "%s", errs);
    cr_assert_eq (sl_batch_commit (batch), 0);
    cr_assert_eq (current ("water"), 0);
    cr_assert_eq (current ("power"), 0);
}

Test (policy_store, dry_run_and_rollback)
{
    sl_policy_apply_result_t r;
    char errs[2048];
    applied ("city", CITY, "admin:city");
    applied ("water", WATER_V1, "admin:water");
    cr_assert_eq (sl_batch_commit (batch), 0);

    cr_assert_eq (apply ("water", WATER_V2, "admin:water", 1, &r, errs, sizeof errs), 0, "%s", errs);
    cr_assert_eq (r.version, 2);
    cr_assert_not_null (r.index);
    sl_policy_diff_t *diff = sl_policy_diff_new (sl_policy_store_index (ps), r.index, 1767225600);
    cr_assert_eq (sl_policy_diff_count (diff), 2, "power changes fields, parking gains");
    sl_policy_diff_destroy (&diff);
    sl_policy_apply_result_clear (&r);
    cr_assert_eq (sl_batch_commit (batch), 0);
    cr_assert_eq (permits ("parking", "joint-metering"), 0, "a dry run took effect");

    cr_assert_eq (apply ("water", WATER_V2, "admin:water", 0, &r, errs, sizeof errs), 0, "%s", errs);
    cr_assert_eq (r.version, 2, "the dry run used up a version");
    sl_policy_apply_result_clear (&r);
    cr_assert_eq (sl_batch_commit (batch), 0);
    cr_assert_eq (permits ("parking", "joint-metering"), 1);

    MDB_txn *txn;
    cr_assert_eq (sl_batch_txn (batch, &txn), 0);
    sl_policy_diags_t *d = sl_policy_diags_new ();
    cr_assert_eq (sl_policy_store_rollback (ps, txn, "water", 1, "tester", "admin:water", 0, d, &r), 0);
    cr_assert_eq (r.version, 3);
    cr_assert_str_eq (r.changes, "~w2p -w2k");
    sl_policy_apply_result_clear (&r);
    cr_assert_eq (sl_policy_store_rollback (ps, txn, "water", 7, "tester", "admin:water", 0, d, &r),
                  SL_ENOTFOUND);
    sl_policy_diags_destroy (&d);
    cr_assert_eq (sl_batch_commit (batch), 0);
    cr_assert_eq (permits ("parking", "joint-metering"), 0);

    /* a fresh store handle loads what is in force */
    sl_policy_store_t *again = NULL;
    cr_assert_eq (sl_batch_txn (batch, &txn), 0);
    again = sl_policy_store_new (txn, reg, NULL);
    cr_assert_not_null (again);
    cr_assert_eq (sl_policy_store_load (again, txn, NULL), 0);
    cr_assert_eq (sl_policy_index_rule_count (sl_policy_store_index (again)), 1);
    sl_batch_abort (batch);
    sl_policy_store_destroy (&again);
}

static int
count_owner (void *arg, const char *owner, uint32_t current)
{
    (void) owner;
    (void) current;
    (*(int *) arg)++;
    return 0;
}

/*  Offline readers (sluicectl) open the store read-only and read the
 *  versions through the same functions: no byte layout outside the store,
 *  no lock.mdb created on a copy, nothing writable. */
Test (policy_store, an_offline_reader_sees_what_was_applied)
{
    char path[128], err[512];
    snprintf (path, sizeof path, "%s/store", u_dir);
    /* before any apply: the databases exist (setup created them) but hold nothing */
    sl_store_t *ro = sl_store_open_rdonly (path, 0, err, sizeof err);
    cr_assert_not_null (ro, "%s", err);
    MDB_txn *txn;
    cr_assert_eq (sl_store_read (ro, &txn), 0);
    int rc = 0, n = 0;
    sl_policy_store_t *rps = sl_policy_store_open_rdonly (txn, NULL, &rc);
    cr_assert_not_null (rps, "%s", sl_strerror (rc));
    cr_assert_eq (sl_policy_store_each_owner (rps, txn, count_owner, &n), 0);
    cr_assert_eq (n, 0);
    sl_policy_store_destroy (&rps);
    mdb_txn_abort (txn);
    sl_store_destroy (&ro);

    applied ("city", CITY, "admin:city");
    applied ("water", WATER_V1, "admin:water");
    cr_assert_eq (sl_batch_commit (batch), 0);

    ro = sl_store_open_rdonly (path, 0, err, sizeof err);
    cr_assert_not_null (ro, "%s", err);
    sl_registry_t *rreg = sl_registry_new (ro);
    cr_assert_not_null (sl_registry_by_name (rreg, "parking"), "members read through the registry");
    cr_assert_eq (sl_store_read (ro, &txn), 0);
    rps = sl_policy_store_open_rdonly (txn, rreg, &rc);
    cr_assert_not_null (rps);
    n = 0;
    cr_assert_eq (sl_policy_store_each_owner (rps, txn, count_owner, &n), 0);
    cr_assert_eq (n, 2, "city and water");
    uint32_t cur = 0;
    cr_assert_eq (sl_policy_store_current (rps, txn, "water", &cur), 0);
    cr_assert_eq (cur, 1);
    sl_policy_version_t *v = NULL;
    cr_assert_eq (sl_policy_store_get (rps, txn, "water", 0, &v), 0);
    cr_assert_str_eq (v->text, WATER_V1);
    sl_policy_version_destroy (&v);
    sl_policy_store_destroy (&rps);
    mdb_txn_abort (txn);
    /* nothing can be written through it */
    MDB_txn *w = NULL;
    cr_assert_neq (mdb_txn_begin (sl_store_env (ro), NULL, 0, &w), 0);
    sl_registry_destroy (&rreg);
    sl_store_destroy (&ro);
}

/*  A store where no policy was ever applied (no policy.* databases) reads
 *  as empty; a directory that is no broker store is refused with a reason;
 *  a copy without lock.mdb is read without creating one. */
Test (policy_store, offline_reads_of_a_bare_store_and_of_a_copy)
{
    char dir[64], path[128], err[512];
    snprintf (dir, sizeof dir, "/tmp/sluice-unit-XXXXXX");
    cr_assert_not_null (mkdtemp (dir));
    snprintf (path, sizeof path, "%s/store", dir);
    sl_store_t *rw = sl_store_open (path, 16 << 20, 1, err, sizeof err);
    cr_assert_not_null (rw, "%s", err);
    sl_store_destroy (&rw);
    char lock[160];
    snprintf (lock, sizeof lock, "%s/lock.mdb", path);
    cr_assert_eq (unlink (lock), 0, "a copy has no lock file");

    sl_store_t *ro = sl_store_open_rdonly (path, 0, err, sizeof err);
    cr_assert_not_null (ro, "%s", err);
    cr_assert_neq (access (lock, F_OK), 0, "the offline reader created lock.mdb");
    MDB_txn *txn;
    cr_assert_eq (sl_store_read (ro, &txn), 0);
    int rc = 0, n = 0;
    sl_policy_store_t *rps = sl_policy_store_open_rdonly (txn, NULL, &rc);
    cr_assert_not_null (rps, "%s", sl_strerror (rc));
    uint32_t cur = 7;
    cr_assert_eq (sl_policy_store_current (rps, txn, "city", &cur), 0);
    cr_assert_eq (cur, 0);
    sl_policy_version_t *v = NULL;
    cr_assert_eq (sl_policy_store_get (rps, txn, "city", 0, &v), SL_ENOTFOUND);
    cr_assert_eq (sl_policy_store_each_owner (rps, txn, count_owner, &n), 0);
    cr_assert_eq (n, 0);
    sl_policy_store_destroy (&rps);
    mdb_txn_abort (txn);
    sl_store_destroy (&ro);

    snprintf (path, sizeof path, "%s/nothing-here", dir);
    cr_assert_null (sl_store_open_rdonly (path, 0, err, sizeof err));
    cr_assert (strstr (err, "nothing-here"), "%s", err);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq (system (cmd), 0);
}

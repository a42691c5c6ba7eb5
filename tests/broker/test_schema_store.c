/*  sl_schema_store: registered versions in LMDB, put in force only when the
 *  batch commits, evolution checked on prepare, the caller's namespace, the
 *  start-time load that skips what does not build, and the policy store
 *  setting aside an owner whose policy names a type that is gone. Also
 *  reads as the store's usage example. */
#include "unit_util.h"

#include "sl_batch.h"
#include "sl_error.h"
#include "sl_policy_store.h"
#include "sl_schema.h"
#include "sl_schema_store.h"

static sl_store_t *store;
static sl_batch_t *batch;
static sl_schema_store_t *ss;
static int changes;

static void
s_changed (void *arg)
{
    (void) arg;
    changes++;
}

static void
setup (void)
{
    sl_schema_reset ();             /* nothing but the broker's own type */
    store = u_store ();
    batch = sl_batch_new (store, 100, 1000);
    cr_assert (batch);
    MDB_txn *txn;
    cr_assert_eq (sl_batch_txn (batch, &txn), 0);
    int rc = 0;
    ss = sl_schema_store_new (txn, &rc);
    cr_assert_not_null (ss, "%s", sl_strerror (rc));
    cr_assert_eq (sl_batch_commit (batch), 0);
    cr_assert_eq (sl_batch_listen (batch, sl_schema_store_txn_outcome, ss), 0);
    sl_schema_store_on_change (ss, s_changed, NULL);
    changes = 0;
}

static void
teardown (void)
{
    sl_schema_store_destroy (&ss);
    sl_batch_destroy (&batch);
    u_cleanup (&store);
    sl_schema_reset ();
}

TestSuite (schema_store, .init = setup, .fini = teardown);

static uint8_t *
s_read (const char *path, size_t *len)
{
    FILE *f = fopen (path, "rb");
    cr_assert (f, "%s", path);
    static uint8_t buf[1 << 20];
    *len = fread (buf, 1, sizeof buf, f);
    fclose (f);
    return buf;
}

Test (schema_store, registered_types_go_in_force_at_commit)
{
    MDB_txn *txn;
    char err[600];
    cr_assert_eq (sl_batch_txn (batch, &txn), 0);
    cr_assert_eq (sl_schema_store_register_file (ss, txn, EXAMPLES_BINPB, "admin", err, sizeof err),
                  5, "%s", err);
    cr_assert_null (sl_schema_find ("water.v1.MeterReading"), "not before the commit");
    cr_assert_eq (sl_batch_commit (batch), 0);
    cr_assert_eq (changes, 1);
    const sl_schema_t *w = sl_schema_find ("water.v1.MeterReading");
    cr_assert (w && w->version == 1);
    Sluice__V1__SchemaVersion *v = NULL;
    cr_assert_eq (sl_store_read (store, &txn), 0);
    cr_assert_eq (sl_schema_store_get (ss, txn, "health.v1.Charge", 0, &v), 0);
    cr_assert_eq (v->version, 1);
    cr_assert_str_eq (v->owner, "health");
    cr_assert_str_eq (v->actor, "admin");
    cr_assert_gt (v->descriptor_set.len, 100);
    sluice__v1__schema_version__free_unpacked (v, NULL);
    cr_assert_eq (sl_schema_store_get (ss, txn, "health.v1.Nope", 0, &v), SL_ENOTFOUND);
    mdb_txn_abort (txn);

    /* an aborted batch puts nothing in force */
    size_t len;
    uint8_t *set = s_read (EXAMPLES_BINPB, &len);
    sl_schema_change_t *c = NULL;
    size_t n = 0;
    cr_assert_eq (sl_batch_txn (batch, &txn), 0);
    cr_assert_eq (sl_schema_store_prepare (ss, txn, set, len, "water.v1.MeterReading", "admin:water",
                                           &c, &n, err, sizeof err), 0, "%s", err);
    cr_assert_eq (n, 1);
    cr_assert (c[0].unchanged, "the same bytes as version 1");
    cr_assert_eq (c[0].breaking, 0);
    cr_assert_eq (c[0].version, 2);
    cr_assert_eq (sl_schema_store_write (ss, txn, &c[0], "w", "admin:water", "x", false), 0);
    sl_schema_changes_free (c, n);
    sl_batch_abort (batch);
    cr_assert_eq (sl_schema_find ("water.v1.MeterReading")->version, 1);
}

Test (schema_store, namespace_and_restart)
{
    MDB_txn *txn;
    char err[600];
    size_t len, n = 0;
    uint8_t *set = s_read (EXAMPLES_BINPB, &len);
    sl_schema_change_t *c = NULL;
    cr_assert_eq (sl_batch_txn (batch, &txn), 0);
    cr_assert_eq (sl_schema_store_prepare (ss, txn, set, len, NULL, "admin:water", &c, &n, err,
                                           sizeof err), SL_EPERM);
    cr_assert (strstr (err, "power.v1.MeterReading belongs to bureau 'power': role admin:water may "
                       "register only in its own namespace"), "%s", err);
    cr_assert_null (c);
    cr_assert_eq (sl_schema_store_prepare (ss, txn, set, len, "water.v1.MeterReading", "member",
                                           &c, &n, err, sizeof err), SL_EPERM);
    cr_assert_eq (sl_schema_store_prepare (ss, txn, set, 3, NULL, "admin:city", &c, &n, err,
                                           sizeof err), SL_EINVAL);
    cr_assert (strstr (err, "not a FileDescriptorSet"), "%s", err);
    cr_assert_eq (sl_schema_store_prepare (ss, txn, set, len, NULL, "admin:city", &c, &n, err,
                                           sizeof err), 0, "%s", err);
    cr_assert_eq (n, 5);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq (sl_schema_store_write (ss, txn, &c[i], "admin", "admin:city", "e", false), 0);
    sl_schema_changes_free (c, n);
    cr_assert_eq (sl_batch_commit (batch), 0);

    /* a new process: the table is empty until the store is loaded */
    sl_schema_reset ();
    cr_assert_null (sl_schema_find ("parking.v1.Session"));
    char skipped[512];
    cr_assert_eq (sl_store_read (store, &txn), 0);
    cr_assert_eq (sl_schema_store_load (ss, txn, skipped, sizeof skipped), 5);
    cr_assert_str_eq (skipped, "");
    mdb_txn_abort (txn);
    cr_assert (sl_schema_is_owner ("parking.v1.Session", "parking"));
    cr_assert (sl_schema_is_time_field (sl_schema_find ("parking.v1.Session"), "actual_end"));
}

/*  A stored policy that names a type no longer in force is set aside, the
 *  others load; when the type is back, so is the policy. */
Test (schema_store, policies_of_a_missing_type_are_set_aside)
{
    MDB_txn *txn;
    char err[600];
    cr_assert_eq (sl_batch_txn (batch, &txn), 0);
    cr_assert_eq (sl_schema_store_register_file (ss, txn, EXAMPLES_BINPB, "admin", err, sizeof err), 5);
    cr_assert_eq (sl_batch_commit (batch), 0);
    cr_assert_eq (sl_batch_txn (batch, &txn), 0);
    int rc = 0;
    sl_policy_store_t *ps = sl_policy_store_new (txn, NULL, &rc);
    cr_assert (ps);
    cr_assert_eq (sl_batch_commit (batch), 0);
    cr_assert_eq (sl_batch_listen (batch, sl_policy_store_txn_outcome, ps), 0);
    static const struct { const char *owner, *text; } pol[] = {
        { "city", "purpose p \"p\"\n" },
        { "water", "forbid \"w\" {\n  owner water\n  records water.v1.MeterReading\n}\n" },
        { "parking", "forbid \"k\" {\n  owner parking\n  records parking.v1.Session\n}\n" },
    };
    for (size_t i = 0; i < 3; i++) {
        sl_policy_apply_result_t r;
        memset (&r, 0, sizeof r);
        cr_assert_eq (sl_batch_txn (batch, &txn), 0);
        char role[40];
        snprintf (role, sizeof role, "admin:%s", pol[i].owner);
        cr_assert_eq (sl_policy_store_apply (ps, txn, pol[i].owner, NULL, pol[i].text,
                                             strlen (pol[i].text), "a", role, 0, NULL, &r), 0,
                      "%s %s", pol[i].owner, r.error);
        sl_policy_apply_result_clear (&r);
        cr_assert_eq (sl_batch_commit (batch), 0);
    }
    /* parking's type is gone (an older build's view) */
    sl_schema_restore ("parking.v1.Session", NULL);
    cr_assert_eq (sl_store_read (store, &txn), 0);
    cr_assert_eq (sl_policy_store_load (ps, txn, NULL), 0, "never brick");
    mdb_txn_abort (txn);
    cr_assert_eq (sl_policy_store_aside_count (ps), 1);
    uint32_t version = 0;
    cr_assert_str_eq (sl_policy_store_aside_owner (ps, 0, &version), "parking");
    cr_assert_eq (version, 1);
    cr_assert (strstr (sl_policy_store_aside_text (ps), "unknown record type 'parking.v1.Session'"),
               "%s", sl_policy_store_aside_text (ps));
    cr_assert_eq (sl_policy_index_rule_count (sl_policy_store_index (ps)), 1, "water's rule is in force");
    /* the type is registered again: the next load brings parking back */
    cr_assert_eq (sl_schema_load_file (EXAMPLES_BINPB, err, sizeof err), 5);
    cr_assert_eq (sl_store_read (store, &txn), 0);
    cr_assert_eq (sl_policy_store_load (ps, txn, NULL), 0);
    mdb_txn_abort (txn);
    cr_assert_eq (sl_policy_store_aside_count (ps), 0);
    cr_assert_eq (sl_policy_index_rule_count (sl_policy_store_index (ps)), 2);
    sl_policy_store_destroy (&ps);
}

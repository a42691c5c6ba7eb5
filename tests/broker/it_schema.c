/*  Integration: the schema registry as the real sluiced and sluicectl run
 *  it. A fifth bureau (waste) registers its own .proto while the broker
 *  runs, writes its permit, publishes NDJSON with `sluicectl pub`, and the
 *  consumer receives with `sluicectl sub` exactly the permitted fields with
 *  the subject pseudonymized and the time coarsened; consent is checked
 *  for the new type; every evolution rule refuses what it must; nobody
 *  registers in another bureau's namespace; a restart keeps it all; a
 *  store whose type no longer builds starts anyway with that type's
 *  policy set aside (log, status, audit). */
#include <criterion/criterion.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "tc.h"

#define WASTE "waste.v1.Collection"

static tc_broker_t B;
static char dir[400];               /* keys, files */
static char out[65536];
#define s_sh(...) tl_sh (out, sizeof out, __VA_ARGS__)

/*  sluicectl with the broker's data dir; `key` NULL = the city admin. */
#define CTL(key, ...) s_ctl (key, __VA_ARGS__)
static int
s_ctl (const char *key, const char *fmt, ...)
{
    char args[3000];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (args, sizeof args, fmt, ap);
    va_end (ap);
    char keyarg[600] = "";
    if (key)
        snprintf (keyarg, sizeof keyarg, "--key '%s/%s.key'", dir, key);
    return s_sh ("'%s' --data '%s' %s %s 2>&1", getenv ("SLUICECTL"), B.dir, keyarg, args);
}

static void
s_write (const char *name, const char *text)
{
    char path[600];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    cr_assert_eq (tl_write (path, text), 0, "%s", path);
}

/*  The waste bureau's .proto with `fields` as Collection's fields and
 *  `kg` as the type of its Bin's kg. */
static void
s_proto_kg (const char *name, const char *kg, const char *fields)
{
    char text[4096];
    snprintf (text, sizeof text,
              "syntax = \"proto3\";\npackage waste.v1;\nimport \"sluice/v1/options.proto\";\n"
              "message Collection {\n"
              "  option (sluice.v1.record) = { subject: \"household\" };\n"
              "  message Bin { string tag = 1; %s kg = 2; }\n"
              "%s}\n", kg, fields);
    s_write (name, text);
}
#define s_proto(name, fields) s_proto_kg (name, "double", fields)

/* Collection's fields, one line each */
#define F_ID        "  string id = 1;\n"
#define F_HOUSEHOLD "  string household = 2 [(sluice.v1.field) = { classes: \"personal\" }];\n"
#define F_AT        "  int64 collected_at = 3 [(sluice.v1.field) = { time: true }];\n"
#define F_DISTRICT  "  string district = 4 [(sluice.v1.field) = { classes: \"location\" }];\n"
#define F_BINS      "  repeated Bin bins = 5;\n"
#define F_TRUCK     "  string truck = 6;\n"
#define F_FEE       "  double fee = 7;\n"
#define V1_FIELDS F_ID F_HOUSEHOLD F_AT F_DISTRICT F_BINS F_TRUCK

static const char *PERMIT =
    TL_RULE ("waste-to-housing", "waste", "housing", WASTE, "fee-rebate", "district, collected_at, bins",
             "  subject   pseudonymize\n  time      coarsen day\n  consent   required\n");

/*  Writes DIR/`name` with `text` and applies it as `who`'s policy: the
 *  exit status must be `status`. */
static void
s_apply (const char *who, const char *name, const char *text, int status)
{
    s_write (name, text);
    TL_EXPECT (CTL (who, "policy apply '%s/%s'", dir, name), status, out, NULL);
}

/*  The waste bureau's first version of its type, registered by its
 *  administrator. */
static void
s_waste_v1 (void)
{
    s_proto ("waste.proto", V1_FIELDS);
    TL_EXPECT (CTL ("admin-waste", "schema register '%s/waste.proto'", dir), 0, out,
               "registered " WASTE " version 1 (new type)");
}

static const char *WATER_POLICY =
    TL_RULE ("w", "water", "housing", "water.v1.MeterReading", "fee-rebate", "district", "");

static void
s_key (const char *name, const char *role)
{
    cr_assert_eq (s_sh ("cd '%s' && '%s' keygen %s 2>&1", dir, getenv ("SLUICECTL"), name), 0,
                  "%s", out);
    cr_assert_eq (CTL (NULL, "member add %s --role %s --pub '%s/%s.pub'", name, role, dir, name),
                  0, "%s", out);
}

static void
setup (void)
{
    cr_assert_eq (tc_broker_start (&B, NULL), 0, "sluiced did not start");
    snprintf (dir, sizeof dir, "%s/../files", B.dir);
    cr_assert_eq (s_sh ("mkdir -p '%s'", dir), 0);
    s_key ("waste", "member");
    s_key ("housing", "member");
    s_key ("admin-waste", "admin:waste");
    s_key ("admin-water", "admin:water");
    s_write ("city.policy", "purpose fee-rebate \"housing rebates on waste fees\"\n");
    cr_assert_eq (CTL (NULL, "policy apply '%s/city.policy' --owner city", dir), 0, "%s", out);
}

static void
teardown (void)
{
    s_sh ("rm -rf '%s'", dir);
    tc_broker_cleanup (&B);
}

TestSuite (schema, .init = setup, .fini = teardown, .timeout = 120);

/*  Subscribes with `sluicectl sub` in the background; its output goes to
 *  DIR/sub.ndjson. Waits until it is subscribed. */
static void
s_sub_start (int count)
{
    cr_assert_eq (s_sh ("'%s' --data '%s' --key '%s/housing.key' sub " WASTE " --purpose fee-rebate "
                        "--count %d --ack --wait %d > '%s/sub.ndjson' 2> '%s/sub.err' &",
                        getenv ("SLUICECTL"), B.dir, dir, count, tc_wait (8000) / 1000, dir, dir), 0);
    cr_assert (TC_AWAIT (10000, (s_sh ("cat '%s/sub.err'", dir), strstr (out, "subscribed to"))),
               "sluicectl sub did not subscribe: %s", out);
}

/*  Waits for the background sub to end; DIR/sub.ndjson into `out`. */
static void
s_sub_wait (void)
{
    (void) TC_AWAIT (20000, (s_sh ("cat '%s/sub.err'", dir), strstr (out, "received")));
    s_sh ("cat '%s/sub.ndjson'", dir);
}

Test (schema, a_fifth_bureau_joins_and_its_records_flow_under_the_rule)
{
    s_waste_v1 ();
    cr_assert_eq (CTL ("admin-waste", "policy apply '%s/waste.policy'", dir), 1, "%s", out);
    s_apply ("admin-waste", "waste.policy", PERMIT, 0);
    cr_assert_eq (CTL (NULL, "consent grant --subject CIT-2 --controller waste --recipient housing "
                             "--purpose fee-rebate --records " WASTE " --method app --evidence r-1"),
                  0, "%s", out);

    s_sub_start (1);
    /* CIT-1 has no consent: stored, but never delivered; CIT-2 has */
    s_write ("in.ndjson",
             "{\"id\":\"c-1\",\"household\":\"CIT-1\",\"collectedAt\":\"2026-11-28T07:42:10Z\","
             "\"district\":\"Xihu\",\"truck\":\"ZJ-A1\"}\n"
             "\n"
             "{\"id\":\"c-2\",\"household\":\"CIT-2\",\"collectedAt\":\"2026-11-28T07:50:00Z\","
             "\"district\":\"Binjiang\",\"bins\":[{\"tag\":\"B1\",\"kg\":12.5}],\"truck\":\"ZJ-A1\"}\n"
             "{\"id\":\"c-3\",\"hosehold\":\"CIT-3\"}\n");
    TL_EXPECT (CTL ("waste", "pub " WASTE " '%s/in.ndjson'", dir),
               1, out, "2 published, 2 stored, 0 refused by the broker, 1 rejected");
    cr_assert (strstr (out, "in.ndjson:4: $: unknown field \"hosehold\""), "%s", out);
    s_sub_wait ();
    cJSON *line = cJSON_Parse (out);
    cr_assert (line, "sub printed: %s", out);
    cr_assert (!strchr (strchr (out, '\n') + 1, '{'), "one record only (no consent for CIT-1): %s", out);
#define AT(o, k) cJSON_GetObjectItemCaseSensitive (o, k)
    cJSON *rec = AT (line, "record");
    const char *hh = cJSON_GetStringValue (AT (rec, "household"));
    cr_assert (hh && strlen (hh) >= 16 && !strstr (hh, "CIT"), "subject pseudonymized: %s", out);
    cr_assert_str_eq (cJSON_GetStringValue (AT (line, "subject")), hh);
    cr_assert_str_eq (cJSON_GetStringValue (AT (rec, "collectedAt")), "2026-11-28T00:00:00Z",
                      "coarsened to the day: %s", out);
    cr_assert_str_eq (cJSON_GetStringValue (AT (rec, "district")), "Binjiang");
    cr_assert_null (AT (rec, "truck"), "not permitted: %s", out);
    cr_assert_null (AT (rec, "id"), "not permitted: %s", out);
    cJSON *bins = AT (rec, "bins");
    cr_assert_eq (cJSON_GetArraySize (bins), 1);
    cr_assert_float_eq (cJSON_GetNumberValue (AT (cJSON_GetArrayItem (bins, 0), "kg")), 12.5, 1e-9);
#undef AT
    cJSON_Delete (line);

    /* the registration is in the audit log */
    cr_assert_eq (CTL (NULL, "--json audit query --kind schema.register"), 0, "%s", out);
    TL_HAS (out, WASTE, "admin-waste");

    /* restart: the registry, the policy and the flow are all still there */
    cr_assert_eq (tc_broker_stop (&B), 0);
    cr_assert_eq (tc_broker_restart (&B), 0);
    cr_assert_eq (CTL ("housing", "schema show " WASTE), 0, "any member reads a type: %s", out);
    TL_HAS (out, WASTE " version 1 (owner waste)", "collected_at", "time");
    s_sub_start (1);
    s_write ("in2.ndjson", "{\"id\":\"c-9\",\"household\":\"CIT-2\",\"collectedAt\":1795852800,"
                           "\"district\":\"Xihu\"}\n");
    cr_assert_eq (CTL ("waste", "pub " WASTE " '%s/in2.ndjson'", dir), 0, "%s", out);
    s_sub_wait ();
    cr_assert (strstr (out, "\"district\":\"Xihu\""), "after restart: %s", out);
}

Test (schema, a_permit_releases_fields_by_data_class)
{
    s_waste_v1 ();
    s_apply ("admin-waste", "bad.policy", "permit \"p\" {\n  owner waste\n  consumer housing\n"
             "  records waste.v1.Collection\n  purpose fee-rebate\n  fields class:medical\n}\n", 1);
    TL_HAS (out, "bad.policy:6:10: error: no field of " WASTE " carries data class 'medical'");
    s_apply ("admin-waste", "waste.policy", TL_RULE ("by-class", "waste", "housing", WASTE, "fee-rebate",
             "class:location, collected_at", "  subject   drop\n"), 0);
    s_sub_start (1);
    s_write ("in.ndjson", "{\"id\":\"c-1\",\"household\":\"CIT-1\",\"collectedAt\":1795852800,"
                          "\"district\":\"Xihu\",\"truck\":\"ZJ-A1\",\"bins\":[{\"kg\":1}]}\n");
    cr_assert_eq (CTL ("waste", "pub " WASTE " '%s/in.ndjson'", dir), 0, "%s", out);
    s_sub_wait ();
    cr_assert (strstr (out, "\"record\":{\"collectedAt\":\"2026-11-28T08:00:00Z\",\"district\":\"Xihu\"}"),
               "only the location class and the named field: %s", out);
}

Test (schema, evolution_rules_refuse_with_the_field_named)
{
    s_proto ("v1.proto", V1_FIELDS);
    cr_assert_eq (CTL ("admin-waste", "schema register '%s/v1.proto'", dir), 0, "%s", out);
    /* the same again: nothing new */
    TL_EXPECT (CTL ("admin-waste", "schema register '%s/v1.proto'", dir),
               0, out, "unchanged (version 1 in force)");
    /* adding is allowed */
    s_proto ("v2.proto", V1_FIELDS F_FEE);
    cr_assert_eq (CTL ("admin-waste", "schema register '%s/v2.proto'", dir), 0, "%s", out);
    TL_HAS (out, "registered " WASTE " version 2", "added: field 'fee' (7)");
    s_apply ("admin-waste", "waste.policy", PERMIT, 0);

    static const struct { const char *fields, *want; } refused[] = {
        { F_ID F_HOUSEHOLD F_AT F_DISTRICT F_BINS F_FEE, "field 'truck' (6): removed (rule removed" },
        { F_ID F_HOUSEHOLD F_AT F_DISTRICT F_BINS "  string truck = 8;\n" F_FEE,
          "field 'truck' (6): renumbered 6 -> 8 (rule renumbered" },
        { F_ID F_HOUSEHOLD F_AT F_DISTRICT F_BINS "  bytes truck = 6;\n" F_FEE,
          "field 'truck' (6): type string -> bytes (rule type)" },
        { F_ID F_HOUSEHOLD "  int64 collected_at = 3;\n" F_DISTRICT F_BINS F_TRUCK F_FEE,
          "field 'collected_at' (3): time option removed (rule options)" },
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        s_proto ("bad.proto", refused[i].fields);
        cr_assert_eq (CTL ("admin-waste", "schema register '%s/bad.proto'", dir), 1, "case %zu: %s", i, out);
        cr_assert (strstr (out, refused[i].want), "case %zu: want '%s' in %s", i, refused[i].want, out);
        cr_assert (strstr (out, "--breaking"), "%s", out);
        /* offline, the same verdict */
        cr_assert_eq (s_sh ("'%s' schema check '%s/bad.proto' --against '%s/v2.proto' 2>&1",
                            getenv ("SLUICECTL"), dir, dir), 1, "%s", out);
        cr_assert (strstr (out, refused[i].want), "check, case %zu: %s", i, out);
    }
    /* --breaking lets an unused field go (truck is named by no policy) ... */
    s_proto ("bad.proto", refused[0].fields);
    TL_EXPECT (CTL ("admin-waste", "schema register --breaking '%s/bad.proto'", dir), 0, out,
               "registered " WASTE " version 3");
    /* ... but never one an applied policy names, --breaking or not: nor
       retyped, nor its options changed (the field stays, the policy would
       still parse, the rule is what refuses it); time coarsen uses the time
       fields; a nested field counts as the record field that holds it */
    static const struct { const char *name, *kg, *fields, *field; } used[] = {
        { "removed", "double", F_ID F_HOUSEHOLD F_AT F_BINS F_FEE, "district" },
        { "retyped", "double", F_ID F_HOUSEHOLD F_AT
          "  bytes district = 4 [(sluice.v1.field) = { classes: \"location\" }];\n" F_BINS F_FEE,
          "district" },
        { "time option removed", "double",
          F_ID F_HOUSEHOLD "  int64 collected_at = 3;\n" F_DISTRICT F_BINS F_FEE, "collected_at" },
        { "nested field retyped", "string", F_ID F_HOUSEHOLD F_AT F_DISTRICT F_BINS F_FEE, "bins" },
    };
    for (size_t i = 0; i < sizeof used / sizeof used[0]; i++) {
        char want[200];
        snprintf (want, sizeof want, "field '%s' of " WASTE " is used by rule 'waste-to-housing'%s",
                  used[i].field, i == 0 ? " of waste's policy version 1" : "");
        s_proto_kg ("bad.proto", used[i].kg, used[i].fields);
        cr_assert_eq (CTL ("admin-waste", "schema register --breaking '%s/bad.proto'", dir), 1,
                      "%s: %s", used[i].name, out);
        cr_assert (strstr (out, want), "%s: no '%s' in %s", used[i].name, want, out);
    }
    /* a dry run changes nothing */
    s_proto ("v4.proto", F_ID F_HOUSEHOLD F_AT F_DISTRICT F_BINS F_FEE "  string route = 9;\n");
    TL_EXPECT (CTL ("admin-waste", "schema register --dry-run '%s/v4.proto'", dir), 0, out,
               "would register " WASTE " version 4");
    cr_assert_eq (CTL (NULL, "schema history " WASTE), 0, "%s", out);
    cr_assert (strstr (out, "\n3 ") && !strstr (out, "\n4 "), "%s", out);
    TL_EXPECT (CTL (NULL, "schema diff " WASTE " 2 3"), 0, out, "field 'truck' (6): removed");
}

Test (schema, namespaces_and_roles)
{
    s_proto ("waste.proto", V1_FIELDS);
    /* another bureau's administrator */
    cr_assert_eq (CTL ("admin-water", "schema register '%s/waste.proto'", dir), 1, "%s", out);
    cr_assert (strstr (out, WASTE " belongs to bureau 'waste': role admin:water may register only "
                       "in its own namespace"), "%s", out);
    /* a member (no admin role) */
    TL_EXPECT (CTL ("waste", "schema register '%s/waste.proto'", dir),
               1, out, "needs role admin:*");
    /* the broker's own namespace and bad names */
    s_write ("own.proto", "syntax = \"proto3\";\npackage sluice.v2;\nimport \"sluice/v1/options.proto\";\n"
                          "message X { option (sluice.v1.record) = { aggregate: true }; int64 n = 1; }\n");
    TL_EXPECT (CTL (NULL, "schema register '%s/own.proto'", dir),
               1, out, "the namespace 'sluice' is the broker's own");
    /* options checked with line and column */
    s_write ("opt.proto", "syntax = \"proto3\";\npackage waste.v1;\nimport \"sluice/v1/options.proto\";\n"
                          "message Trip {\n  option (sluice.v1.record) = { subject: \"who\" };\n"
                          "  string who = 1;\n  string at = 2 [(sluice.v1.field) = { time: true }];\n}\n");
    TL_EXPECT (CTL (NULL, "schema register '%s/opt.proto'", dir),
               1, out, "opt.proto:7:3: message waste.v1.Trip, field at: a time field must be a "
                       "singular 64-bit integer");
    /* the city may register for any bureau; nothing of the refusals was stored */
    TL_EXPECT (CTL (NULL, "schema register '%s/waste.proto'", dir), 0, out, "version 1 (new type)");
}

/*  A write transaction on the stopped broker's store, with the schema
 *  registry's databases in cur and ver; s_store_commit ends it. */
static MDB_env *s_env;

static MDB_txn *
s_store_begin (MDB_dbi *cur, MDB_dbi *ver)
{
    char path[600];
    snprintf (path, sizeof path, "%s/store", B.dir);
    MDB_txn *txn;
    cr_assert_eq (mdb_env_create (&s_env), 0);
    mdb_env_set_maxdbs (s_env, 64);
    mdb_env_set_mapsize (s_env, 1024ul << 20);
    cr_assert_eq (mdb_env_open (s_env, path, 0, 0600), 0);
    cr_assert_eq (mdb_txn_begin (s_env, NULL, 0, &txn), 0);
    cr_assert_eq (mdb_dbi_open (txn, "schema.current", 0, cur), 0);
    cr_assert_eq (mdb_dbi_open (txn, "schema.versions", 0, ver), 0);
    return txn;
}

static void
s_store_commit (MDB_txn *txn)
{
    cr_assert_eq (mdb_txn_commit (txn), 0);
    mdb_env_close (s_env);
}

/*  Replaces the stored descriptor set of `type`'s current version with
 *  bytes no build reads (as a store written by a build with something this
 *  one does not know). */
static void
s_break_stored_type (const char *type)
{
    MDB_dbi cur, ver;
    MDB_txn *txn = s_store_begin (&cur, &ver);
    MDB_val k = { strlen (type), (void *) type }, v;
    cr_assert_eq (mdb_get (txn, cur, &k, &v), 0);
    unsigned char key[200];
    memcpy (key, type, strlen (type));
    key[strlen (type)] = 0;
    memcpy (key + strlen (type) + 1, v.mv_data, 4);
    /* a SchemaVersion whose descriptor_set (field 7) is not a FileDescriptorSet */
    static const unsigned char junk[] = { 0x0a, 0x03, 'x', '.', 'y', 0x3a, 0x02, 0xff, 0xff };
    MDB_val vk = { strlen (type) + 5, key }, vv = { sizeof junk, (void *) junk };
    cr_assert_eq (mdb_put (txn, ver, &vk, &vv, 0), 0);
    s_store_commit (txn);
}

Test (schema, a_type_that_no_longer_builds_never_bricks_the_broker)
{
    s_waste_v1 ();
    s_apply ("admin-waste", "waste.policy", PERMIT, 0);
    s_apply ("admin-water", "water.policy", WATER_POLICY, 0);
    cr_assert_eq (tc_broker_stop (&B), 0);
    s_break_stored_type (WASTE);
    cr_assert_eq (tc_broker_restart (&B), 0, "the broker must start");
    /* loudly: audit, status */
    cr_assert_eq (tc_audit_await (&B, 2000, "kind=schema.skipped", "reason=does-not-build",
                                  "detail~" WASTE, NULL), 1);
    cr_assert_eq (tc_audit_await (&B, 2000, "kind=policy.set-aside", "owner=waste",
                                  "reason=does-not-check", "detail=version=1", NULL), 1);
    TL_EXPECT (CTL (NULL, "status"), 0, out, "POLICY SET ASIDE: waste version 1");
    TL_HAS (out, "RECORD TYPES NOT IN FORCE", WASTE);
    TL_EXPECT (CTL (NULL, "--json audit query --kind policy.set-aside"), 0, out, "waste");
    /* everything else runs: water's rule is in force */
    cr_assert_eq (CTL (NULL, "policy explain --consumer housing --record "
                             "water.v1.MeterReading --purpose fee-rebate"), 0, "%s", out);
    cr_assert (strstr (out, "permit") || strstr (out, "PERMIT"), "%s", out);
    /* registering the type again brings the waste policy back */
    cr_assert_eq (CTL ("admin-waste", "schema register '%s/waste.proto'", dir), 0, "%s", out);
    cr_assert_eq (CTL (NULL, "status"), 0, "%s", out);
    cr_assert (!strstr (out, "POLICY SET ASIDE"), "%s", out);
}

/*  A store from before the registry (no schema.* databases, as an older
 *  build wrote it) with policies that name the example types: the broker
 *  starts, sets them aside, and one `schema register` of the example set
 *  by admin:city brings them back (OPERATIONS.md, "Upgrading"). */
Test (schema, a_store_from_before_the_registry_starts_and_upgrades)
{
    s_apply ("admin-water", "water.policy", WATER_POLICY, 0);
    cr_assert_eq (tc_broker_stop (&B), 0);
    MDB_dbi cur, ver;
    MDB_txn *txn = s_store_begin (&cur, &ver);
    cr_assert_eq (mdb_drop (txn, cur, 1), 0);
    cr_assert_eq (mdb_drop (txn, ver, 1), 0);
    s_store_commit (txn);

    cr_assert_eq (tc_broker_restart (&B), 0, "the broker must start");
    TL_EXPECT (CTL (NULL, "status"), 0, out, "POLICY SET ASIDE: water version 1");
    TL_EXPECT (CTL (NULL, "schema register '%s'", EXAMPLES_BINPB),
               0, out, "registered water.v1.MeterReading version 1 (new type)");
    cr_assert_eq (CTL (NULL, "status"), 0, "%s", out);
    cr_assert (!strstr (out, "POLICY SET ASIDE"), "back in force without a restart: %s", out);
    TL_EXPECT (CTL (NULL, "policy explain --consumer housing --record water.v1.MeterReading "
                             "--purpose fee-rebate"), 0, out, "w@1");
}

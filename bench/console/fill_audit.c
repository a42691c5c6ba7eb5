/*  fill_audit — writes N typical audit entries into a broker data directory
 *  made by `sluiced init` (the broker not running), for measuring the
 *  console's pages over a large log (bench/console/run.sh).
 *
 *  usage: fill_audit DATA_DIR N
 *
 *  Entries cycle through the shapes a city's log holds: queue and deliver
 *  for water -> power and power -> water, deny for parking, now and then a
 *  query and a consent change; 2,000 citizens; times spread evenly over
 *  the 24 hours before now, in order. Transactions of 10,000 entries, a
 *  signed checkpoint after each, as the broker does.
 */
#include "bench_audit_fill.h"
#include "sl_error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t s_n;
static int64_t s_start;     /* 24 hours before now, in microseconds */

/*  Entry i of s_n, in the shapes listed above. */
static void
s_entry (uint64_t i, char *subject, sl_audit_event_t *ev)
{
    snprintf (subject, 32, "CIT-%06" PRIu64, i % 2000);
    int water = (i / 2) % 2 == 0;
    *ev = (sl_audit_event_t) {
        .time_us = s_start + (int64_t) ((double) i / (double) s_n * 86400e6),
        .kind = i % 5 == 4 ? "deny" : i % 2 ? "queue" : "deliver",
        .actor = water ? "water" : "power",
        .counterpart = i % 5 == 4 ? "parking" : water ? "power" : "water",
        .owner = water ? "water" : "power",
        .record_type = water ? "water.v1.MeterReading" : "power.v1.MeterReading",
        .purpose = "joint-metering", .decision = i % 5 == 4 ? "deny" : "permit",
        .rules = i % 5 == 4 ? "" : water ? "water-to-power-joint-metering@1"
                                         : "power-to-water-joint-metering@1",
        .fields = i % 5 == 4 ? "" : "district,date_observed",
        .reason = i % 5 == 4 ? "no-matching-rule" : "",
    };
    if (i % 997 == 0) {
        ev->kind = "consent.grant";
        ev->decision = "ok";
        ev->owner = "health";
        ev->counterpart = "parking";
    }
}

int
main (int argc, char **argv)
{
    if (argc != 3 || strtoull (argv[2], NULL, 10) == 0) {
        fprintf (stderr, "usage: fill_audit DATA_DIR N\n");
        return 2;
    }
    const char *dir = argv[1];
    uint64_t n = s_n = strtoull (argv[2], NULL, 10);
    char path[1024], err[256] = "";
    snprintf (path, sizeof path, "%s/store", dir);
    MDB_env *env;
    mdb_env_create (&env);
    mdb_env_set_maxdbs (env, 64);
    mdb_env_set_mapsize (env, (size_t) 1 << 30);
    int rc = mdb_env_open (env, path, MDB_NOTLS, 0600);
    sl_audit_t *a = rc ? NULL : sl_audit_open (env, dir, 0, err, sizeof err);
    if (!a) {
        fprintf (stderr, "fill_audit: %s\n", rc ? mdb_strerror (rc) : err);
        return 1;
    }
    s_start = (int64_t) time (NULL) * 1000000 - 86400LL * 1000000;
    rc = bench_audit_fill (env, a, n, s_entry);
    if (rc) {
        fprintf (stderr, "fill_audit: %s\n", rc < 0 ? sl_strerror (rc) : mdb_strerror (rc));
        return 1;
    }
    sl_audit_destroy (&a);
    mdb_env_close (env);
    printf ("fill_audit: %" PRIu64 " entries written to %s\n", n, path);
    return 0;
}

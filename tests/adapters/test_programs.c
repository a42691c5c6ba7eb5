/*  The adapter programs' command line without a broker: --help, option
 *  errors, --dry-run on the sample data, and the exit statuses. */
#include "sl_testutil.h"
#include "tl.h"

#include <sys/wait.h>

static int
run (const char *cmd, char *out, size_t size)
{
    FILE *f = popen (cmd, "r");
    cr_assert_not_null (f);
    size_t n = fread (out, 1, size - 1, f);
    out [n] = 0;
    int st = pclose (f);
    return WIFEXITED (st) ? WEXITSTATUS (st) : 128;
}

static const char *
prog (const char *var)
{
    const char *p = getenv (var);
    cr_assert_not_null (p, "%s is set by meson", var);
    return p;
}

Test (programs, help_and_bad_options)
{
    char cmd [2048], out [16384];
    const char *vars [4] = { "SLUICE_WATER_ADAPTER", "SLUICE_POWER_ADAPTER",
                             "SLUICE_HEALTH_ADAPTER", "SLUICE_PARKING_ADAPTER" };
    for (int i = 0; i < 4; i++) {
        snprintf (cmd, sizeof cmd, "'%s' --help", prog (vars [i]));
        cr_assert_eq (run (cmd, out, sizeof out), 0);
        cr_assert_not_null (strstr (out, "--follow"), "%s", out);
        cr_assert_not_null (strstr (out, "--quarantine FILE"), "%s", out);
        snprintf (cmd, sizeof cmd, "'%s' --no-such-option 2>&1", prog (vars [i]));
        cr_assert_eq (run (cmd, out, sizeof out), 2, "%s", out);
        snprintf (cmd, sizeof cmd, "'%s' /dev/null 2>&1", prog (vars [i]));
        cr_assert_eq (run (cmd, out, sizeof out), 2, "no broker and no --dry-run: %s", out);
        cr_assert_not_null (strstr (out, "need --key FILE"), "%s", out);
    }
    snprintf (cmd, sizeof cmd, "'%s' --dry-run /dev/null 2>&1", prog ("SLUICE_WATER_ADAPTER"));
    cr_assert_eq (run (cmd, out, sizeof out), 2);
    cr_assert_str_eq (out, "sluice-water-adapter: need --meters FILE (the meter registry)\n");
    snprintf (cmd, sizeof cmd, "'%s' --dry-run --meters /nonexistent.csv /dev/null 2>&1", prog ("SLUICE_WATER_ADAPTER"));
    cr_assert_eq (run (cmd, out, sizeof out), 2);
    cr_assert_str_eq (out, "sluice-water-adapter: /nonexistent.csv: No such file or directory\n");
    snprintf (cmd, sizeof cmd, "'%s' --dry-run --meters %s/water-meters.csv --summer-offset 2h /dev/null 2>&1",
              prog ("SLUICE_POWER_ADAPTER"), SL_FIXTURES);
    cr_assert_eq (run (cmd, out, sizeof out), 2);
    cr_assert_str_eq (out, "sluice-power-adapter: --summer-offset 2h: expected an offset like +01:00\n");
}

Test (programs, dry_run_over_sample_data)
{
    char cmd [4096], out [65536];
    char q [] = "/tmp/sl-programs-XXXXXX";
    cr_assert_not_null (mkdtemp (q));
    /* a directory of files, read in name order; records go to stdout as JSON lines */
    snprintf (cmd, sizeof cmd, "cd %s && '%s' --dry-run --quiet --meters '%s/power-meters.csv' '%s/power' | wc -l",
              q, prog ("SLUICE_POWER_ADAPTER"), SL_EXAMPLES, SL_EXAMPLES);
    cr_assert_eq (run (cmd, out, sizeof out), 0);
    cr_assert_eq (atoi (out), 7200);
    snprintf (cmd, sizeof cmd, "cd %s && '%s' --dry-run --quiet '%s/health' 2>&1 >/dev/null",
              q, prog ("SLUICE_HEALTH_ADAPTER"), SL_EXAMPLES);
    cr_assert_eq (run (cmd, out, sizeof out), 0, "%s", out);
    cr_assert_not_null (strstr (out, "health: dry run: 446 records read, 0 rejected"), "%s", out);
    /* stdin, and the quarantine at its default place */
    snprintf (cmd, sizeof cmd, "cd %s && '%s' --dry-run --quiet --plates '%s/plates.csv' < '%s/malformed/parking-bad.jsonl' 2>&1 >/dev/null",
              q, prog ("SLUICE_PARKING_ADAPTER"), SL_EXAMPLES, SL_EXAMPLES);
    cr_assert_eq (run (cmd, out, sizeof out), 1, "%s", out);
    cr_assert_not_null (strstr (out, "parking: dry run: 2 records read, 5 rejected (see parking-quarantine.jsonl)"), "%s", out);
    snprintf (cmd, sizeof cmd, "grep -c '\"source\":\"stdin\"' %s/parking-quarantine.jsonl", q);
    cr_assert_eq (run (cmd, out, sizeof out), 0);
    cr_assert_eq (atoi (out), 5);
    /* an input that cannot be read: exit 3 */
    snprintf (cmd, sizeof cmd, "cd %s && '%s' --dry-run --quiet /nonexistent.hl7 2>&1",
              q, prog ("SLUICE_HEALTH_ADAPTER"));
    cr_assert_eq (run (cmd, out, sizeof out), 3, "%s", out);
    cr_assert_not_null (strstr (out, "health: /nonexistent.hl7: No such file or directory"), "%s", out);
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", q);
    run (cmd, out, sizeof out);
}

/*  --explain FILE: what each record's fields are read from, the record or
 *  the refusal with what would accept it; the quarantine says the same. */
Test (programs, explain_names_sources_and_advice)
{
    char cmd [4096], out [65536];
    char q [] = "/tmp/sl-explain-XXXXXX";
    cr_assert_not_null (mkdtemp (q));
    snprintf (cmd, sizeof cmd, "cd '%s/wmbus' && '%s' --meters meters.csv --timezone Europe/Amsterdam "
              "--quarantine %s/q.jsonl --explain w15-header-target-not-max-flow.csv 2>/dev/null",
              SL_CONFORMANCE, prog ("SLUICE_WATER_ADAPTER"), q);
    cr_assert_eq (run (cmd, out, sizeof out), 1, "one of two lines refused: %s", out);
    TL_HAS (out,
            "record 1: rejected",
            "(clocks went forward)",
            "record 2: accepted, as this record:",
            "target_m3                    <- column 4 'target_m3'               6.391 m3",
            "\"2026-10-25 02:30:00\" -> 1792888200 (UTC; zone-less times in Europe/Amsterdam)",
            "max_flow_m3h                 <- (not in the reading)",
            "  => {\"id\":\"76348799:1792888200\"");

    /* without a header or --csv-fields: refused, and the quarantine entry says how to accept it */
    snprintf (cmd, sizeof cmd, "cd '%s/wmbus' && '%s' --meters meters.csv --quarantine %s/q2.jsonl "
              "--explain w14-fields-without-header.csv 2>/dev/null; cat %s/q2.jsonl",
              SL_CONFORMANCE, prog ("SLUICE_WATER_ADAPTER"), q, q);
    run (cmd, out, sizeof out);
    cr_assert_not_null (strstr (out, "  to accept it: give --csv-fields with the column names in order"), "%s", out);
    cr_assert_not_null (strstr (out, "\"hint\":\"give --csv-fields with the column names in order"), "%s", out);

    snprintf (cmd, sizeof cmd, "cd '%s/dsmr' && '%s' --meters meters.csv --quarantine %s/q3.jsonl "
              "--explain hu-eon-sagemcom.txt 2>/dev/null", SL_CONFORMANCE, prog ("SLUICE_POWER_ADAPTER"), q);
    cr_assert_eq (run (cmd, out, sizeof out), 0, "%s", out);
    cr_assert_not_null (strstr (out, "ref_device                   <- 0-0:96.1.0"), "%s", out);
    cr_assert_not_null (strstr (out, "active_energy_import_kwh     <- register 1-0:1.8.0"), "%s", out);
    snprintf (cmd, sizeof cmd, "cd '%s/hl7' && '%s' --pid3-authority MRN --quarantine %s/q4.jsonl "
              "--explain h02-lfh-adt-a08-untyped-pid3-by-authority.hl7 2>/dev/null",
              SL_CONFORMANCE, prog ("SLUICE_HEALTH_ADAPTER"), q);
    cr_assert_eq (run (cmd, out, sizeof out), 0, "%s", out);
    cr_assert_not_null (strstr (out, "repetition 1, chosen by assigning authority CX.4 (--pid3-authority)"), "%s", out);
    snprintf (cmd, sizeof cmd, "cd '%s/apds' && '%s' --plates plates.csv --quarantine %s/q5.jsonl "
              "--explain a03-v4-session-from-the-openapi-description.json 2>/dev/null",
              SL_CONFORMANCE, prog ("SLUICE_PARKING_ADAPTER"), q);
    cr_assert_eq (run (cmd, out, sizeof out), 0, "%s", out);
    cr_assert_not_null (strstr (out, "place_reference              <- hierarchyElement.id"), "%s", out);
    /* --explain reads one file, nothing else */
    snprintf (cmd, sizeof cmd, "'%s' --meters '%s/wmbus/meters.csv' --quarantine %s/q6.jsonl --explain a b 2>&1",
              prog ("SLUICE_WATER_ADAPTER"), SL_CONFORMANCE, q);
    cr_assert_eq (run (cmd, out, sizeof out), 2, "%s", out);
    cr_assert_not_null (strstr (out, "--explain FILE reads that one file; give no other inputs"), "%s", out);
    snprintf (cmd, sizeof cmd, "rm -rf %s", q);
    cr_assert_eq (system (cmd), 0);
}

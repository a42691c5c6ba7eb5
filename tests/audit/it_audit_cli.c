/*  sluicectl audit against the real sluiced: query filters and paging over
 *  thousands of entries, the owner summary, the subject report, export with
 *  checkpoints, online and offline verify, archive, and the auditor's
 *  read-only role. Every test has its own broker, data directory and
 *  ephemeral loopback ports (tests/lib/harness.c).
 */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "audit_flip.h"
#include "harness.h"
#include "water/v1/water.pb-c.h"

static const char *s_water =
    TL_PERMIT ("water-to-power", "district, date_observed, water_consumption_m3", "pseudonymize", "");
static tb_t tb;
static char water_key[320], power_key[320], auditor_key[320];

static void
s_setup (void)
{
    tb_scene (&tb, water_key, power_key, TL_CITY, s_water);
    tb_member (&tb, "auditor", "auditor", auditor_key);
}

static void
s_teardown (void)
{
    tb_cleanup (&tb);
}

TestSuite (audit_cli, .init = s_setup, .fini = s_teardown, .timeout = 120);

static char out[1 << 22];   /* what the last sluicectl printed */

/*  sluicectl `args` as the member of `key`: asserts it exits with
 *  `status` and, when `want` is not NULL, that its output (in out) has it. */
static void
s_expect (const char *key, const char *args, int status, const char *want)
{
    tb_ctl_expect (&tb, key, args, status, want, out, sizeof out);
}

static int
s_lines (const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr (p, '\n');
        size_t len = nl ? (size_t) (nl - p) : strlen (p);
        if (!needle || memmem (p, len, needle, strlen (needle)))
            n++;
        p += len + (nl ? 1 : 0);
    }
    return n;
}

static const char *
s_subject (int i)
{
    static char subj[32];
    snprintf (subj, sizeof subj, i % 100 == 0 ? "C-SPECIAL" : "C-%04d", i % 97);
    return subj;
}

/*  Publishes n water readings (every 100th for subject C-SPECIAL); one
 *  delivery, acknowledged: a deliver and an ack entry. */
static void
s_publish (int n)
{
    sl_client_t *p = tb_publish_readings (&tb, water_key, power_key, n, s_subject);
    tb_take_one (&p);
}

/*  One admin command as the auditor (sl_admin_call, `text` as its data
 *  when not NULL); asserts it returns `want` and, when `says` is not NULL,
 *  that the error text (or the result) contains it. */
static void
s_admin (const char *command, const char *args, const char *text, int want, const char *says)
{
    sl_client_options_t o = tb_options (&tb, auditor_key);
    o.endpoint = tb.admin_ep;
    char *res = NULL, err[512] = "";
    int rc = sl_admin_call (&o, command, args, text, text ? strlen (text) : 0, 10000, &res, err,
                            sizeof err);
    cr_assert_eq (rc, want, "%s %s: %d %s", command, args, rc, err);
    const char *said = rc == 0 ? res : err;
    cr_assert (!says || strstr (said, says), "%s %s: no '%s' in %.200s", command, args, says,
               said + (strlen (said) > 200 ? strlen (said) - 200 : 0));
    free (res);
}

Test (audit_cli, query_filters_and_paging_over_thousands_of_entries)
{
    s_publish (2500);
    /* every queue entry of the run: 2500, streamed in pages of 1000 */
    int rc = tb_ctl (&tb, auditor_key, "audit query --kind queue --consumer power --json", out, sizeof out);
    cr_assert_eq (rc, 0, "%.2000s", out);
    cr_assert_eq (s_lines (out, "\"kind\":\"queue\""), 2500, "%d queue lines",
                  s_lines (out, "\"kind\":\"queue\""));
    cr_assert_eq (s_lines (out, NULL), 2500, "only queue entries: %.500s", out);
    /* sequence numbers strictly increase across the pages: none twice */
    uint64_t prev = 0;
    for (const char *p = out; (p = strstr (p, "\"seq\":")); p++) {
        uint64_t s = strtoull (p + 6, NULL, 10);
        cr_assert_gt (s, prev, "seq %" PRIu64 " after %" PRIu64, s, prev);
        prev = s;
    }
    /* the subject filter: 25 records of C-SPECIAL, each queued for power
     * (whose entry also stands for the acceptance, AUDIT.md 6.2), and no
     * raw id shown */
    s_expect (auditor_key, "audit query --subject C-SPECIAL --kind queue --json", 0, NULL);
    cr_assert_eq (s_lines (out, "\"kind\":\"queue\""), 25, "%.1000s", out);
    cr_assert_null (strstr (out, "C-SPECIAL"));
    /* --limit, --actor, --decision and a time window that holds nothing */
    s_expect (auditor_key, "audit query --actor water --decision permit --limit 7", 0, NULL);
    cr_assert_eq (s_lines (out, NULL), 8, "header + 7 rows: %s", out);
    TL_HAS (out, "SEQ", "queue", "water-to-power");
    s_expect (auditor_key, "audit query --until 2001-01-01", 0, NULL);
    cr_assert_eq (s_lines (out, NULL), 1, "only the header: %s", out);
    /* 'consent.' and 'member.' prefixes */
    s_expect (auditor_key, "audit query --kind member. --json", 0, NULL);
    cr_assert_geq (s_lines (out, "\"kind\":\"member.add\""), 3, "%s", out);

    /* the admin command pages as documented; limit 0 is a bad request */
    s_admin ("audit.query", "{\"kind\":\"queue\",\"limit\":1000}", NULL, 0, "\"more\":true");
    s_admin ("audit.query", "{\"kind\":\"queue\",\"limit\":0}", NULL, SL_EINVAL, "limit");
}

Test (audit_cli, summary_report_and_tail)
{
    s_publish (300);
    s_expect (auditor_key, "audit summary --owner water", 0, "\ndeliver");
    /* queue rows for power, 300 of them, under the water rule */
    const char *row = strstr (out, "\nqueue");
    cr_assert_not_null (row, "%s", out);
    TL_HAS (row, "power", "joint-metering", "water-to-power", " 300 ");
    s_expect (auditor_key, "audit summary --owner water --json", 0, NULL);
    cr_assert (strstr (out, "\"count\":\t300") || strstr (out, "\"count\": 300"), "%s", out);

    /* the report of C-SPECIAL (subject of readings 0, 100, 200) lists the
       records (each queue entry also stands for its record's acceptance,
       AUDIT.md 6.2) and the disclosures with rule and purpose */
    s_expect (auditor_key, "audit report --subject C-SPECIAL", 0, NULL);
    cr_assert_eq (s_lines (out, " publish "), 0, "%s", out);
    cr_assert_eq (s_lines (out, " queue "), 3, "%s", out);
    const char *q = strstr (out, " queue ");
    cr_assert (q && strstr (q, "power") && strstr (q, "joint-metering") && strstr (q, "water-to-power@"),
               "a disclosure names recipient, purpose and rule: %s", out);
    cr_assert_null (strstr (out, "C-SPECIAL"));

    /* tail: the last entries; with --limit */
    s_expect (auditor_key, "audit tail --limit 5", 0, NULL);
    cr_assert_eq (s_lines (out, NULL), 6, "%s", out);

    /* tail -f prints entries written after it started */
    char late_key[320];
    cr_assert_eq (tl_sh (NULL, 0, "timeout 5 '%s' --endpoint '%s' --broker-key '%s' --key '%s' "
                         "audit tail -f --limit 1 --interval 100 > '%s/tail.out' 2>&1 &",
                         tb_program ("SLUICECTL"), tb.admin_ep, tb.broker_pub, auditor_key, tb.dir), 0);
    usleep (500000);
    tb_member (&tb, "late-member", "member", late_key);
    int seen = 0;
    for (int i = 0; i < 40 && !seen; i++) {
        usleep (100000);
        tl_sh (out, sizeof out, "cat '%s/tail.out'", tb.dir);
        seen = strstr (out, "member.add") && strstr (out, "late-member") != NULL;
    }
    cr_assert (seen, "tail -f did not show the new entry: %s", out);
}

Test (audit_cli, export_checkpoint_pubkey_and_verify_online_and_offline)
{
    s_publish (200);
    /* a clean stop signs a checkpoint over the head */
    cr_assert_eq (tb_stop (&tb), 0);
    tb_restart (&tb);

    char args[600];
    snprintf (args, sizeof args, "audit export --since 2020-01-01 --format jsonl --out '%s/export.jsonl'",
              tb.dir);
    s_expect (auditor_key, args, 0, " checkpoints to ");
    TL_HAS (out, "exported ");
    tl_sh (out, sizeof out, "cat '%s/export.jsonl'", tb.dir);
    int entries = s_lines (out, "\"type\":\"entry\""), cps = s_lines (out, "\"type\":\"checkpoint\"");
    cr_assert_geq (entries, 400, "%d entries", entries);
    cr_assert_geq (cps, 1, "the shutdown checkpoint is exported");
    /* entries first, then checkpoints */
    const char *last_entry = out;
    for (const char *e = out; (e = strstr (e, "\"type\":\"entry\"")); e++)
        last_entry = e;
    cr_assert_gt (strstr (out, "\"type\":\"checkpoint\""), last_entry);

    char pub_online[128], pub_offline[128], ck[1024];
    tb_ctl_expect (&tb, auditor_key, "audit pubkey", 0, NULL, pub_online, sizeof pub_online);
    cr_assert_eq (strlen (pub_online), 65, "%s", pub_online);
    cr_assert_eq (audit_ctl (pub_offline, sizeof pub_offline, "audit pubkey --data '%s/data'", tb.dir), 0);
    cr_assert_str_eq (pub_online, pub_offline);
    tb_ctl_expect (&tb, auditor_key, "audit checkpoint", 0, NULL, ck, sizeof ck);
    cr_assert (!strncmp (ck, "sluice-audit-checkpoint v1\nseq ", 31) && strstr (ck, "\nsignature "),
               "%s", ck);

    s_expect (auditor_key, "audit verify", 0, " entries (seq 1..");
    cr_assert (!strncmp (out, "OK: ", 4), "%s", out);

    /* offline on a copy, with the published key; then one changed byte */
    cr_assert_eq (tb_stop (&tb), 0);
    pub_online[64] = '\0';
    int rc = tl_sh (out, sizeof out, "cp -a '%s/data' '%s/copy' && '%s' audit verify --data '%s/copy' "
                "--pubkey %s 2>&1", tb.dir, tb.dir, tb_program ("SLUICECTL"), tb.dir, pub_online);
    cr_assert_eq (rc, 0, "%s", out);
    cr_assert (!strncmp (out, "OK: ", 4), "%s", out);
    /* one bit of entry 5 (inside its kind text, byte 51) changes */
    char copy[400];
    snprintf (copy, sizeof copy, "%s/copy", tb.dir);
    audit_flip (copy, 5, 51);
    TL_EXPECT (audit_ctl (out, sizeof out, "audit verify --data '%s' --pubkey %s 2>&1", copy, pub_online),
               1, out, "FAILED at seq 5 (hash)");
}

Test (audit_cli, auditor_reads_but_every_write_is_refused)
{
    s_expect (auditor_key, "audit query --limit 3", 0, NULL);
    s_expect (auditor_key, "consent list --subject C-1", 0, NULL);

    s_expect (auditor_key, "consent grant --subject C-1 --controller water --recipient power "
              "--purpose joint-metering --records water.v1.MeterReading",
              1, "consent.grant needs role admin:*");
    TL_HAS (out, "auditor");
    char pub[400];
    snprintf (pub, sizeof pub, "member add x --role member --pub '%s/keys/water.pub'", tb.dir);
    s_expect (auditor_key, pub, 1, "member.add needs role admin:city");
    s_expect (auditor_key, "audit archive --before 2030-01-01 --out /tmp", 1,
              "audit.archive needs role admin:city");
    s_admin ("policy.apply", "{}", s_water, SL_EPERM, NULL);
    s_admin ("consent.withdraw", "{\"id\":\"c-1\"}", NULL, SL_EPERM, NULL);

    /* a bureau admin reads its own bureau's summary only */
    char adm[320];
    snprintf (adm, sizeof adm, "%s/keys/admin-water.key", tb.dir);
    s_expect (adm, "audit summary --owner water", 0, NULL);
    s_expect (adm, "audit summary --owner health", 1, "reads only entries owned by water");
    s_expect (adm, "audit report --subject C-1", 1, "audit.report needs role admin:city|auditor");
    /* its queries are narrowed to its bureau: policy.apply entries of city
       and water exist, it sees water's only */
    s_expect (auditor_key, "audit query --kind policy.apply --json", 0, NULL);
    cr_assert_eq (s_lines (out, "\"kind\":\"policy.apply\""), 2, "%s", out);
    s_expect (adm, "audit query --kind policy.apply --json", 0, "\"owner\":\"water\"");
    cr_assert_eq (s_lines (out, "\"kind\":\"policy.apply\""), 1, "%s", out);
    s_expect (adm, "audit query --owner city", 1, NULL);
}

Test (audit_cli, archive_moves_old_entries_and_verify_joins_the_segment)
{
    s_publish (100);
    char args[600];
    cr_assert_eq (tl_sh (NULL, 0, "mkdir -p '%s/archive'", tb.dir), 0);
    snprintf (args, sizeof args, "audit archive --before 2099-01-01 --out '%s/archive'", tb.dir);
    s_expect (tb.admin_key, args, 0, ".seg");
    TL_HAS (out, "archived ");
    char *p = strstr (out, " into ");
    cr_assert_not_null (p);
    char path[500];
    snprintf (path, sizeof path, "%s", p + 6);
    path[strcspn (path, "\n")] = '\0';
    /* without the segment the live log does not start at 1 */
    s_expect (tb.admin_key, "audit verify", 1, "(start)");
    snprintf (args, sizeof args, "audit verify --segment '%s'", path);
    s_expect (tb.admin_key, args, 0, "1 segments verified");
}

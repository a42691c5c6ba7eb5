/*  The policy lints (policy/sl_policy_lint.h, POLICY.md 8.2): one case that
 *  must warn and one that must not for each lint, with the exact text. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "policy_test_util.h"
#include "sl_policy_lint.h"

/* 2026-12-05T00:00:00Z */
#define NOW 1796428800

static const sl_policy_lint_sub_t s_subs[] = {
    { "power", "water.v1.MeterReading", "joint-metering" },
    { "parking", "health.v1.Encounter", "parking-fee-waiver" },
};

/*  Parses + checks `text` (must be clean), lints it, returns the rendered
 *  warnings (malloc'ed) and their count in *n. */
static char *
lint (const char *text, bool subs, int *n)
{
    char *errs = NULL;
    int p, c;
    sl_policy_set_t *s = tu_load (text, &errs, &p, &c);
    cr_assert (p == 0 && c == 0, "policy does not check:\n%s", errs);
    free (errs);
    sl_policy_diags_t *w = sl_policy_diags_new ();
    sl_policy_lint_opts_t o = { .now = NOW, .subs_known = subs, .subs = s_subs, .n_subs = 2 };
    *n = sl_policy_set_lint (s, &o, w);
    cr_assert_eq ((size_t) *n, sl_policy_diags_count (w));
    char *out = sl_policy_diags_render_as (w, "warning");
    sl_policy_diags_destroy (&w);
    sl_policy_set_destroy (&s);
    return out;
}

#define P(ID, BODY) "permit \"" ID "\" {\n  owner water\n  consumer power\n" \
    "  records water.v1.MeterReading\n  purpose joint-metering\n" BODY "}\n"

static void
expect (const char *text, bool subs, const char *want)
{
    int n;
    char *got = lint (text, subs, &n);
    cr_expect_str_eq (got, want, "--- got:\n%s--- want:\n%s", got, want);
    free (got);
}

Test (lint, clean_policy_has_no_warning)
{
    expect (P ("a", "  fields district\n  valid 2026-01-01 .. 2027-12-31\n"), true, "");
}

Test (lint, duplicate_permit)
{
    expect (P ("a", "  fields district\n") P ("b", "  fields district\n"), false,
            "t.policy:8:8: warning: permit \"b\" duplicates permit \"a\" (t.policy:1:1)\n"
            "t.policy:8:8: note: remove one of them\n");
}

Test (lint, one_pair_warning_per_rule)
{
    /* c duplicates a and b: said once, naming the first */
    expect (P ("a", "  fields district\n") P ("b", "  fields district\n") P ("c", "  fields district\n"),
            false,
            "t.policy:8:8: warning: permit \"b\" duplicates permit \"a\" (t.policy:1:1)\n"
            "t.policy:8:8: note: remove one of them\n"
            "t.policy:15:8: warning: permit \"c\" duplicates permit \"a\" (t.policy:1:1)\n"
            "t.policy:15:8: note: remove one of them\n");
}

Test (lint, permit_without_effect)
{
    /* b is inside a's scope, and releases more: under "most restrictive
     * wins" it never changes a copy */
    expect (P ("a", "  fields district\n") P ("b", "  fields district, date_observed\n  subject keep\n"),
            false,
            "t.policy:8:8: warning: permit \"b\" has no effect: permit \"a\" (t.policy:1:1) "
            "matches whenever it does and releases no more\n"
            "t.policy:8:8: note: where permits overlap the most restrictive copy leaves; remove "
            "\"b\", or narrow \"a\"\n");
}

Test (lint, overlapping_permits)
{
    expect (P ("a", "  fields district, date_observed\n") P ("b", "  fields district\n"
            "  valid 2026-01-01 ..\n"), false,
            "t.policy:8:8: warning: permit \"b\" overlaps permit \"a\" (t.policy:1:1) for consumer "
            "'power', water.v1.MeterReading, purpose 'joint-metering'\n"
            "t.policy:8:8: note: where both match, only what both release leaves (the most "
            "restrictive copy); merge them, or make their consumers, records, purposes or "
            "windows disjoint\n");
}

Test (lint, disjoint_permits_do_not_warn)
{
    /* other purpose, other consumer, windows that do not meet */
    expect (P ("a", "  fields district\n  valid 2026-01-01 ..\n")
            "permit \"b\" { owner water consumer power records water.v1.MeterReading "
            "purpose billing fields district }\n"
            "permit \"c\" { owner water consumer parking records water.v1.MeterReading "
            "purpose joint-metering fields district }\n"
            P ("d", "  fields district\n  valid 2020-01-01 .. 2020-12-31\n"), false,
            "t.policy:17:3: warning: permit \"d\" has expired: its window '2020-01-01 .. 2020-12-31' "
            "has ended\n"
            "t.policy:17:3: note: remove the rule, or extend its 'valid' window\n");
}

Test (lint, expired_and_future_windows)
{
    expect (P ("old", "  fields district\n  valid 2025-01-01 .. 2025-06-30\n")
            "permit \"new\" { owner water consumer parking records water.v1.MeterReading "
            "purpose joint-metering fields district valid 2027-01-01 .. }\n", false,
            "t.policy:7:3: warning: permit \"old\" has expired: its window '2025-01-01 .. 2025-06-30' "
            "has ended\n"
            "t.policy:7:3: note: remove the rule, or extend its 'valid' window\n"
            "t.policy:9:114: warning: permit \"new\" is not in force yet: its window '2027-01-01 .. ' "
            "has not begun\n"
            "t.policy:9:114: note: it decides nothing until then; check the start date\n");
}

Test (lint, window_in_force_does_not_warn)
{
    expect (P ("a", "  fields district\n  valid 2026-12-05 .. 2026-12-05\n"), false, "");
}

Test (lint, forbid_cancels_own_permit)
{
    expect (P ("a", "  fields district\n")
            "forbid \"stop\" {\n  owner water\n  records water.v1.*\n}\n", false,
            "t.policy:8:8: warning: forbid \"stop\" cancels permit \"a\" (t.policy:1:1): it denies "
            "every request the permit matches\n"
            "t.policy:8:8: note: narrow the forbid (consumer, records, purpose, valid, where), "
            "strip fields with 'fields', or remove the permit\n");
}

Test (lint, forbid_naming_consumers_cancels_each_covered_permit_once)
{
    expect ("permit \"a\" { owner water consumer parking records water.v1.MeterReading "
            "purpose joint-metering fields district }\n"
            "permit \"b\" { owner water consumer power, parking records water.v1.MeterReading "
            "purpose billing fields district }\n"
            "forbid \"f\" { owner water consumer power, parking }\n", false,
            "t.policy:3:8: warning: forbid \"f\" cancels permit \"a\" (t.policy:1:1): it denies "
            "every request the permit matches\n"
            "t.policy:3:8: note: narrow the forbid (consumer, records, purpose, valid, where), "
            "strip fields with 'fields', or remove the permit\n"
            "t.policy:3:8: warning: forbid \"f\" cancels permit \"b\" (t.policy:2:1): it denies "
            "every request the permit matches\n"
            "t.policy:3:8: note: narrow the forbid (consumer, records, purpose, valid, where), "
            "strip fields with 'fields', or remove the permit\n");
}

Test (lint, narrow_or_stripping_forbid_does_not_warn)
{
    expect (P ("a", "  fields district, date_observed\n")
            "forbid \"strip\" { owner water fields date_observed }\n"
            "forbid \"other\" { owner water consumer parking }\n"
            "forbid \"rows\" { owner water where alarm_in_progress = true }\n"
            "forbid \"p\" { owner water purpose billing }\n", false, "");
}

Test (lint, purpose_nobody_subscribes_to)
{
    expect ("permit \"a\" { owner water consumer power records water.v1.MeterReading "
            "purpose joint-metering, billing fields district }\n", true,
            "t.policy:1:95: warning: no consumer subscribes for purpose 'billing' to what permit "
            "\"a\" releases\n"
            "t.policy:1:95: note: the permit decides only queries until a named consumer "
            "subscribes to one of its record types for this purpose; check the purpose and "
            "consumer names\n");
    /* without known subscriptions the lint is skipped */
    expect ("permit \"a\" { owner water consumer power records water.v1.MeterReading "
            "purpose billing fields district }\n", false, "");
}

Test (lint, every_field_with_raw_subject)
{
    expect (P ("a", "  fields *\n  subject keep\n"), false,
            "t.policy:6:3: warning: permit \"a\" releases every field with the raw citizen id "
            "('fields *' with 'subject keep')\n"
            "t.policy:6:3: note: list only the fields the consumer needs, and pseudonymize or "
            "drop the subject\n");
    expect (P ("a", "  fields *\n"), false, "");                       /* pseudonymized */
    expect (P ("a", "  fields district\n  subject keep\n"), false, ""); /* named fields */
}

Test (lint, conditions_that_never_hold)
{
    expect (P ("a", "  fields district\n  where max_flow_m3h > 5 and max_flow_m3h < 3\n"), false,
            "t.policy:7:9: warning: the row condition of permit \"a\" can never be true\n"
            "t.policy:7:9: note: 'max_flow_m3h > 5' and 'max_flow_m3h < 3' exclude each other\n");
    expect (P ("a", "  fields district\n  where date_observed = 1.5\n"), false,
            "t.policy:7:9: warning: the row condition of permit \"a\" can never be true\n"
            "t.policy:7:9: note: 'date_observed = 1.5': field 'date_observed' holds whole numbers\n");
    expect (P ("a", "  fields district\n  where district = \"Xihu\" and district = \"Binjiang\"\n"),
            false,
            "t.policy:7:9: warning: the row condition of permit \"a\" can never be true\n"
            "t.policy:7:9: note: 'district = \"Xihu\"' and 'district = \"Binjiang\"' exclude each "
            "other\n");
    /* satisfiable ones */
    expect (P ("a", "  fields district\n  where max_flow_m3h > 3 and max_flow_m3h < 5\n"), false, "");
    expect (P ("a", "  fields district\n  where district = \"Xihu\" or district = \"Binjiang\"\n"),
            false, "");
    expect (P ("a", "  fields district\n  where date_observed = 12\n"), false, "");
}

Test (lint, only_file_limits_the_report)
{
    sl_policy_set_t *s = sl_policy_set_new ();
    const char *a = P ("a", "  fields *\n  subject keep\n");
    const char *b = P ("b", "  fields *\n  subject keep\n  purpose billing\n");
    (void) b;
    sl_policy_set_parse (s, "a.policy", a, strlen (a), 1, NULL);
    const char *c = "permit \"c\" { owner water consumer parking records water.v1.MeterReading "
                    "purpose billing fields * subject keep }";
    sl_policy_set_parse (s, "c.policy", c, strlen (c), 1, NULL);
    sl_policy_diags_t *w = sl_policy_diags_new ();
    const char *only[] = { "c.policy" };
    sl_policy_lint_opts_t o = { .now = NOW, .only_files = only, .n_only_files = 1 };
    cr_expect_eq (sl_policy_set_lint (s, &o, w), 1);
    cr_expect_str_eq (sl_policy_diags_at (w, 0)->file, "c.policy");
    sl_policy_diags_destroy (&w);
    sl_policy_set_destroy (&s);
}

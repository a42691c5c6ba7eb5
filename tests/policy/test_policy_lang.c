/*  The policy language: lexer, parser and checker, every error message with
 *  its exact FILE:LINE:COL text. Each table row is one policy text and the
 *  complete error output it must produce. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "policy_test_util.h"

typedef struct {
    const char *name;
    const char *text;
    const char *errors;     /* exact sl_policy_diags_render output */
} lang_case_t;

static void
run_cases (const lang_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *errs = NULL;
        int p, c;
        sl_policy_set_t *s = tu_load (cases[i].text, &errs, &p, &c);
        cr_expect_str_eq (errs, cases[i].errors, "case %s:\n--- got:\n%s--- expected:\n%s",
                          cases[i].name, errs, cases[i].errors);
        if (cases[i].errors[0])
            cr_expect (p != 0 || c != 0, "case %s: expected failure", cases[i].name);
        else
            cr_expect (p == 0 && c == 0, "case %s: expected success", cases[i].name);
        free (errs);
        sl_policy_set_destroy (&s);
    }
}

#define PERMIT_HEAD "permit \"r\" {\n  owner water\n  consumer power\n  records water.v1.MeterReading\n  purpose joint-metering\n  fields district\n"

Test (lang, accepts_valid_texts)
{
    static const lang_case_t cases[] = {
        { "empty", "", "" },
        { "comments only", "# nothing here\n   # still nothing\n", "" },
        { "minimal permit", PERMIT_HEAD "}\n", "" },
        { "one line", "permit \"r\" { owner water consumer power records water.v1.MeterReading "
          "purpose joint-metering fields district }", "" },
        { "all clauses", PERMIT_HEAD "  subject drop\n  time coarsen day\n"
          "  valid 2026-01-01T08:00 .. 2026-02-01T00:00:00Z\n  consent required\n"
          "  where district in (\"Xihu\", \"Binjiang\") and (max_flow_m3h >= 0.5 or not alarm_in_progress = true)\n"
          "  where water_consumption_m3 != -1\n}\n", "" },
        { "open validity", PERMIT_HEAD "  valid 2026-01-01 ..\n}\n", "" },
        { "open start", PERMIT_HEAD "  valid .. 2026-01-01\n}\n", "" },
        { "no space around ..", PERMIT_HEAD "  valid 2026-01-01..2026-03-01\n}\n", "" },
        { "wildcard records", "permit \"r\" { owner health consumer parking records health.v1.* "
          "purpose billing fields status, code }", "" },
        { "several consumers and purposes", "permit \"r\" { owner water consumer power, parking "
          "records water.v1.MeterReading purpose joint-metering, billing fields * subject keep }", "" },
        { "forbid defaults", "forbid \"f\" { owner health }", "" },
        { "one id, two owners", "forbid \"f\" { owner health }\nforbid \"f\" { owner water }", "" },
        { "forbid star", "forbid \"f\" { owner health consumer * records health.v1.Encounter "
          "purpose billing fields diagnosis valid 2026-01-01 .. where status = \"finished\" }", "" },
        { "purpose declaration", "purpose road-works \"Road works planning\"\n"
          "permit \"r\" { owner water consumer power records water.v1.MeterReading "
          "purpose road-works fields district }", "" },
        { "escaped quotes", "permit \"a \\\"quoted\\\" id\" { owner water consumer power "
          "records water.v1.MeterReading purpose billing fields district where district = \"a\\\\b\" }", "" },
        { "comment after clause", PERMIT_HEAD "  subject keep # the bureau needs the id\n}\n", "" },
        { "== accepted", PERMIT_HEAD "  where district == \"Xihu\"\n}\n", "" },
    };
    run_cases (cases, sizeof cases / sizeof cases[0]);
}

Test (lang, syntax_errors)
{
    static const lang_case_t cases[] = {
        { "id not quoted", "permit x { }",
          "t.policy:1:8: error: expected a rule id in double quotes, found 'x'\n" },
        { "empty id", "permit \"\" { }",
          "t.policy:1:8: error: empty rule id\n" },
        { "missing brace", "permit \"r\" owner water",
          "t.policy:1:12: error: expected '{', found 'owner'\n" },
        { "unclosed rule", "permit \"r\" { owner water",
          "t.policy:1:1: error: rule \"r\" is not closed before end of file\n"
          "t.policy:1:1: note: close the rule with '}'\n" },
        { "unknown clause", "permit \"r\" {\n  ownr water\n}",
          "t.policy:2:3: error: unknown clause 'ownr'\n"
          "t.policy:2:3: note: did you mean 'owner'?\n" },
        { "unknown top level", "frobid \"v\" {}",
          "t.policy:1:1: error: expected 'permit', 'forbid' or 'purpose', found 'frobid'\n"
          "t.policy:1:1: note: did you mean 'forbid'?\n" },
        { "top level junk", "{ } permit",
          "t.policy:1:1: error: expected 'permit', 'forbid' or 'purpose', found '{'\n"
          "t.policy:1:11: error: expected a rule id in double quotes, found end of file\n" },
        { "bad character", "permit \"r\" { owner water; }",
          "t.policy:1:25: error: expected a clause (owner, consumer, records, purpose, fields, "
          "subject, time, valid, consent, where) or '}', found character ';'\n" },
        { "owner quoted", "permit \"s\" { owner \"water\" }",
          "t.policy:1:20: error: expected an owner (a bureau name), found string \"water\"\n" },
        { "duplicate clause", "permit \"r\" { owner water owner water }",
          "t.policy:1:26: error: duplicate 'owner' clause\n"
          "t.policy:1:26: note: give each clause once per rule (only 'where' may repeat)\n" },
        { "list ends in comma", "permit \"y\" { owner water consumer power,\npermit \"z\" { ownr water }",
          "t.policy:2:1: error: expected a consumer (a member name or '*'), found 'permit'\n"
          "t.policy:2:14: error: unknown clause 'ownr'\n"
          "t.policy:2:14: note: did you mean 'owner'?\n" },
        { "bad subject", "permit \"r\" { subject hide }",
          "t.policy:1:22: error: expected keep, pseudonymize or drop, found 'hide'\n" },
        { "time without coarsen", "permit \"r\" { time hour }",
          "t.policy:1:19: error: expected 'coarsen', found 'hour'\n" },
        { "bad coarsen", "permit \"r\" { time coarsen week }",
          "t.policy:1:27: error: expected minute, hour or day, found 'week'\n" },
        { "consent without required", "permit \"r\" { consent yes }",
          "t.policy:1:22: error: expected 'required', found 'yes'\n" },
        { "bad month", "permit \"u\" { valid 2026-13-01 .. }",
          "t.policy:1:20: error: invalid date or time '2026-13-01'\n"
          "t.policy:1:20: note: write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], in the city's time zone, or with Z or an offset (+08:00)\n" },
        { "bad leap day", "permit \"u\" { valid 2027-02-29 .. }",
          "t.policy:1:20: error: invalid date or time '2027-02-29'\n"
          "t.policy:1:20: note: write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], in the city's time zone, or with Z or an offset (+08:00)\n" },
        { "bad end time", "permit \"u\" { valid .. 2026-01-01T25:00 }",
          "t.policy:1:23: error: invalid date or time '2026-01-01T25:00'\n"
          "t.policy:1:23: note: write YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], in the city's time zone, or with Z or an offset (+08:00)\n" },
        { "valid without ..", "permit \"u\" { valid 2026-01-01 2026-02-01 }",
          "t.policy:1:31: error: expected '..' (valid FROM .. TO), found '2026-02-01'\n" },
        { "bad comparison", "forbid \"w\" { owner health where district ~ 3 }",
          "t.policy:1:42: error: expected a comparison (=, !=, <, <=, >, >=) or 'in', found character '~'\n" },
        { "in without parens", "forbid \"w\" { where district in \"a\" }",
          "t.policy:1:32: error: expected '(' after 'in', found string \"a\"\n" },
        { "in list unclosed", "forbid \"w\" { where district in (\"a\" \"b\") }",
          "t.policy:1:37: error: expected ',' or ')', found string \"b\"\n" },
        { "bad value", "forbid \"w\" { where district = Xihu }",
          "t.policy:1:31: error: expected a value (a \"string\", a number, true or false), found 'Xihu'\n" },
        { "missing paren", "forbid \"w\" { where (district = \"a\" }",
          "t.policy:1:36: error: expected ')', found '}'\n" },
        { "not a decimal number", "forbid \"w\" { where max_flow_m3h > -inf }",
          "t.policy:1:35: error: expected a value (a \"string\", a number, true or false), found '-inf'\n" },
        { "where without field", "forbid \"w\" { where = 3 }",
          "t.policy:1:20: error: expected a field name, found '='\n" },
        { "unterminated string", "permit \"q\" { records \"abc\n}",
          "t.policy:1:22: error: unterminated string\n"
          "t.policy:1:22: note: close it with '\"' on the same line\n" },
        { "purpose decl without description", "purpose road-works\n",
          "t.policy:2:1: error: expected a description in double quotes, found end of file\n" },
        { "purpose decl without name", "purpose \"x\"",
          "t.policy:1:9: error: expected a purpose name, found string \"x\"\n" },
        { "errors in two rules, good rule between",
          "permit \"a\" { owner }\n" PERMIT_HEAD "}\nforbid \"b\" { fields }\n",
          "t.policy:1:20: error: expected an owner (a bureau name), found '}'\n"
          "t.policy:9:21: error: expected a field name or '*', found '}'\n" },
    };
    run_cases (cases, sizeof cases / sizeof cases[0]);
}

Test (lang, check_errors)
{
    static const lang_case_t cases[] = {
        { "unknown member", "permit \"a\" {\n  owner water\n  consumer powr\n  records water.v1.MeterReading\n"
          "  purpose joint-metering\n  fields district\n}",
          "t.policy:3:12: error: unknown member 'powr'\n"
          "t.policy:3:12: note: did you mean 'power'?\n" },
        { "unknown member, no hint", PERMIT_HEAD "}\npermit \"b\" { owner water consumer zzzzzzzz "
          "records water.v1.MeterReading purpose billing fields district }",
          "t.policy:8:35: error: unknown member 'zzzzzzzz'\n" },
        { "admin is not a consumer", "permit \"a\" { owner water consumer city-admin "
          "records water.v1.MeterReading purpose billing fields district }",
          "t.policy:1:35: error: 'city-admin' is not a data member (role 'admin:city')\n"
          "t.policy:1:35: note: consumers are members with role 'member'\n" },
        { "unknown record type", "permit \"a\" { owner water consumer power records water.v1.MeterReadin "
          "purpose billing fields district }",
          "t.policy:1:49: error: unknown record type 'water.v1.MeterReadin'\n"
          "t.policy:1:49: note: did you mean 'water.v1.MeterReading'?\n" },
        { "wildcard matching nothing", "forbid \"a\" { owner water records water.v2.* }",
          "t.policy:1:34: error: record type pattern 'water.v2.*' matches no known record type\n" },
        { "bad wildcard", "forbid \"a\" { owner water records water.*.MeterReading }",
          "t.policy:1:34: error: invalid record type pattern 'water.*.MeterReading'\n"
          "t.policy:1:34: note: a wildcard is a prefix ending in '.*', e.g. water.v1.*\n" },
        { "unknown purpose", "permit \"a\" { owner water consumer power records water.v1.MeterReading "
          "purpose joint-meterin fields district }",
          "t.policy:1:79: error: unknown purpose 'joint-meterin'\n"
          "t.policy:1:79: note: did you mean 'joint-metering'?\n" },
        { "unknown purpose, no hint", "permit \"a\" { owner water consumer power records water.v1.MeterReading "
          "purpose surveillance fields district }",
          "t.policy:1:79: error: unknown purpose 'surveillance'\n"
          "t.policy:1:79: note: purposes are declared by admin:city in the city's policy: "
          "purpose NAME \"description\" (sluicectl policy purposes lists them)\n" },
        { "permit without purpose", "permit \"a\" { owner water consumer power records water.v1.MeterReading "
          "fields district }",
          "t.policy:1:1: error: permit \"a\" has no purpose\n"
          "t.policy:1:1: note: add 'purpose NAME' (a declared purpose)\n" },
        { "permit without owner, consumer, records, fields", "permit \"a\" { purpose billing }",
          "t.policy:1:1: error: permit \"a\" has no owner\n"
          "t.policy:1:1: note: add 'owner BUREAU'\n"
          "t.policy:1:1: error: permit \"a\" has no consumer\n"
          "t.policy:1:1: note: add 'consumer MEMBER'\n"
          "t.policy:1:1: error: permit \"a\" names no record types\n"
          "t.policy:1:1: note: add 'records TYPE'\n"
          "t.policy:1:1: error: permit \"a\" does not say which fields it releases\n"
          "t.policy:1:1: note: add 'fields NAME, ...' (or 'fields *' for all)\n" },
        { "unknown owner", "forbid \"a\" { owner watr }",
          "t.policy:1:20: error: unknown owner 'watr': no record type belongs to it\n"
          "t.policy:1:20: note: did you mean 'water'?\n" },
        { "owner does not own", "permit \"a\" { owner water consumer parking records health.v1.Encounter "
          "purpose billing fields status }",
          "t.policy:1:51: error: owner 'water' does not own record type 'health.v1.Encounter'\n"
          "t.policy:1:51: note: health.v1.Encounter belongs to 'health'\n" },
        { "owner as consumer", "permit \"a\" { owner water consumer water records water.v1.MeterReading "
          "purpose billing fields district }",
          "t.policy:1:35: error: owner 'water' cannot be its own consumer\n" },
        { "star in permit", "permit \"a\" { owner water consumer * records water.v1.MeterReading "
          "purpose billing fields district }",
          "t.policy:1:35: error: a permit cannot name every consumer ('*')\n"
          "t.policy:1:35: note: name each consumer; '*' is allowed in forbid rules only\n" },
        { "unknown field", "permit \"a\" { owner water consumer power records water.v1.MeterReading "
          "purpose billing fields distrct, water_consumption_m3 }",
          "t.policy:1:94: error: unknown field 'distrct' in water.v1.MeterReading\n"
          "t.policy:1:94: note: did you mean 'district'?\n" },
        { "unknown field in wildcard", "forbid \"a\" { owner health fields diagnosis, amount }",
          "t.policy:1:45: error: unknown field 'amount' in health.v1.Charge, health.v1.Encounter\n" },
        { "subject in fields", "permit \"a\" { owner water consumer power records water.v1.MeterReading "
          "purpose billing fields district, subject }",
          "t.policy:1:104: error: field 'subject' is the data subject and is governed by 'subject'\n"
          "t.policy:1:104: note: remove it from 'fields'; use 'subject keep | pseudonymize | drop'\n" },
        { "forbid with permit-only clauses", "forbid \"c\" { owner health subject keep time coarsen day "
          "consent required fields * }",
          "t.policy:1:74: error: 'fields *' is not allowed in a forbid\n"
          "t.policy:1:74: note: a forbid without 'fields' denies the whole record\n"
          "t.policy:1:27: error: 'subject' is allowed in permit rules only\n"
          "t.policy:1:40: error: 'time' is allowed in permit rules only\n"
          "t.policy:1:57: error: 'consent' is allowed in permit rules only\n" },
        { "empty window", "forbid \"a\" { owner water valid 2027-01-01 .. 2026-01-01 }",
          "t.policy:1:26: error: empty validity window '2027-01-01 .. 2026-01-01'\n"
          "t.policy:1:26: note: the end must come after the start\n" },
        { "same day window is one day", "forbid \"a\" { owner water valid 2026-01-01 .. 2026-01-01 }", "" },
        { "duplicate id", "forbid \"a\" { owner water }\nforbid \"a\" { owner water }",
          "t.policy:2:8: error: duplicate rule id \"a\"\n"
          "t.policy:2:8: note: first defined at t.policy:1:1\n" },
        { "duplicate id, one written with its namespace",
          "forbid \"a\" { owner water }\nforbid \"water/a\" { owner water }",
          "t.policy:2:8: error: duplicate rule id \"water/a\"\n"
          "t.policy:2:8: note: first defined at t.policy:1:1\n" },
        { "id in another owner's namespace", "forbid \"power/a\" { owner water }",
          "t.policy:1:8: error: rule id \"power/a\" is namespaced under another owner than 'water'\n"
          "t.policy:1:8: note: write the id without a prefix (it is namespaced by its owner: "
          "\"water/a\")\n" },
        { "duplicate purpose", "purpose p \"x\"\npurpose p \"y\"",
          "t.policy:2:9: error: purpose 'p' is declared twice\n" },
        { "catalogue purpose re-declared", "purpose billing \"new text\"", "" },
        { "where: unknown field", "forbid \"a\" { owner water where distrct = \"x\" }",
          "t.policy:1:32: error: unknown field 'distrct' in water.v1.MeterReading\n"
          "t.policy:1:32: note: did you mean 'district'?\n" },
        { "where: repeated field", "forbid \"a\" { owner health records health.v1.Encounter "
          "where diagnosis = \"x\" }",
          "t.policy:1:61: error: field 'diagnosis' of health.v1.Encounter is repeated; "
          "'where' compares single values only\n" },
        { "where: string vs number", "forbid \"a\" { owner water where district in (\"Xihu\", 3) }",
          "t.policy:1:53: error: type mismatch: field 'district' is a string, but 3 is not\n" },
        { "where: number vs string", "forbid \"a\" { owner water where max_flow_m3h > \"a\" }",
          "t.policy:1:47: error: type mismatch: field 'max_flow_m3h' is a numeric, but \"a\" is not\n" },
        { "where: order on string", "forbid \"a\" { owner water where district < \"m\" }",
          "t.policy:1:32: error: '<' compares numbers, but field 'district' is a string\n" },
        { "where: bool vs number", "forbid \"a\" { owner water where alarm_in_progress = 1 }",
          "t.policy:1:52: error: type mismatch: field 'alarm_in_progress' is a bool, but 1 is not\n" },
        { "where: message field", "forbid \"a\" { owner parking where segments = 1 }",
          "t.policy:1:34: error: field 'segments' of parking.v1.Session is repeated; "
          "'where' compares single values only\n" },
        { "all errors in one pass",
          "permit \"a\" {\n  owner water\n  consumer powr\n  records water.v1.MeterReading\n"
          "  purpose joint-meterin\n  fields distrct\n}\n"
          "forbid \"b\" { owner healt }\n",
          "t.policy:3:12: error: unknown member 'powr'\n"
          "t.policy:3:12: note: did you mean 'power'?\n"
          "t.policy:5:11: error: unknown purpose 'joint-meterin'\n"
          "t.policy:5:11: note: did you mean 'joint-metering'?\n"
          "t.policy:6:10: error: unknown field 'distrct' in water.v1.MeterReading\n"
          "t.policy:6:10: note: did you mean 'district'?\n"
          "t.policy:8:20: error: unknown owner 'healt': no record type belongs to it\n"
          "t.policy:8:20: note: did you mean 'health'?\n" },
    };
    run_cases (cases, sizeof cases / sizeof cases[0]);
}

Test (lang, diag_accessors)
{
    sl_policy_diags_t *d = sl_policy_diags_new ();
    sl_policy_set_t *s = sl_policy_set_new ();
    const char *text = "forbid \"a\" { owner watr }";
    cr_assert_eq (sl_policy_set_parse (s, "city.policy", text, strlen (text), 7, d), 0);
    cr_assert_eq (sl_policy_set_check (s, NULL, d), SL_EINVAL);
    cr_assert_eq (sl_policy_diags_count (d), 1);
    const sl_policy_diag_t *e = sl_policy_diags_at (d, 0);
    cr_expect_str_eq (e->file, "city.policy");
    cr_expect_eq (e->line, 1);
    cr_expect_eq (e->col, 20);
    cr_expect_str_eq (e->hint, "did you mean 'water'?");
    cr_expect_null (sl_policy_diags_at (d, 1));
    cr_expect_eq (sl_policy_set_rule_count (s), 1);
    cr_expect_eq (sl_policy_rule_version (sl_policy_set_rule_at (s, 0)), 7);
    /* an unchecked or failed set does not compile */
    cr_expect_null (sl_policy_index_new (s, NULL));
    sl_policy_set_destroy (&s);
    sl_policy_diags_destroy (&d);
    cr_expect_null (d);
}

Test (lang, not_nul_terminated)
{
    /* the length bounds the text: the trailing junk is never read */
    const char text[] = "forbid \"a\" { owner water }JUNK";
    sl_policy_diags_t *d = sl_policy_diags_new ();
    sl_policy_set_t *s = sl_policy_set_new ();
    cr_expect_eq (sl_policy_set_parse (s, "t", text, strlen (text) - 4, 1, d), 0);
    cr_expect_eq (sl_policy_diags_count (d), 0);
    sl_policy_set_destroy (&s);
    sl_policy_diags_destroy (&d);
}

Test (lang, roles)
{
    const char *text =
        "purpose p \"x\"\n"
        "permit \"w\" { owner water consumer power records water.v1.MeterReading purpose p fields district }\n"
        "forbid \"h\" { owner health }\n";
    sl_policy_set_t *s = tu_load (text, NULL, NULL, NULL);
    struct { const char *role; int rc; const char *errors; } cases[] = {
        { "admin:water", SL_EPERM,
          "t.policy:3:1: error: role 'admin:water' may not apply forbid \"h\"\n"
          "t.policy:3:1: note: rules for 'health' data are applied by admin:health\n"
          "t.policy:1:9: error: role 'admin:water' may not declare purpose 'p'\n"
          "t.policy:1:9: note: purposes are declared by admin:city\n" },
        { "admin:city", SL_EPERM,
          "t.policy:2:1: error: role 'admin:city' may not apply permit \"w\"\n"
          "t.policy:2:1: note: only the owner's administrators (admin:<owner>) may grant access\n" },
        { "member", SL_EPERM,
          "t.policy:2:1: error: role 'member' may not apply permit \"w\"\n"
          "t.policy:2:1: note: policies are applied by admin:<bureau> or admin:city\n"
          "t.policy:3:1: error: role 'member' may not apply forbid \"h\"\n"
          "t.policy:3:1: note: policies are applied by admin:<bureau> or admin:city\n"
          "t.policy:1:9: error: role 'member' may not declare purpose 'p'\n"
          "t.policy:1:9: note: purposes are declared by admin:city\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sl_policy_diags_t *d = sl_policy_diags_new ();
        cr_expect_eq (sl_policy_set_check_role (s, cases[i].role, d), cases[i].rc, "%s", cases[i].role);
        char *r = sl_policy_diags_render (d);
        cr_expect_str_eq (r, cases[i].errors, "%s", cases[i].role);
        free (r);
        sl_policy_diags_destroy (&d);
    }
    sl_policy_set_destroy (&s);

    /* allowed cases */
    const char *own = "permit \"w\" { owner water consumer power records water.v1.MeterReading "
                      "purpose billing fields district }\nforbid \"x\" { owner water consumer parking }";
    s = tu_load (own, NULL, NULL, NULL);
    cr_expect_eq (sl_policy_set_check_role (s, "admin:water", NULL), 0);
    cr_expect_eq (sl_policy_set_check_role (s, "admin:power", NULL), SL_EPERM);
    sl_policy_set_destroy (&s);
    const char *city = "purpose p \"x\"\nforbid \"h\" { owner health fields diagnosis }\n"
                       "forbid \"w\" { owner water consumer * }";
    s = tu_load (city, NULL, NULL, NULL);
    cr_expect_eq (sl_policy_set_check_role (s, "admin:city", NULL), 0);
    sl_policy_set_destroy (&s);
}

Test (lang, summary_is_canonical)
{
    const char *a = "# one\npermit \"w\" { owner water consumer power records water.v1.MeterReading "
                    "purpose billing fields district where district in (\"A\",\"B\") }";
    const char *b = "permit \"w\" {\n owner water\n consumer power\n records water.v1.MeterReading\n"
                    " purpose billing\n fields district\n where district in (\"A\", \"B\")\n}\n";
    sl_policy_set_t *sa = tu_load (a, NULL, NULL, NULL);
    sl_policy_set_t *sb = tu_load (b, NULL, NULL, NULL);
    char *ja = sl_policy_set_summary (sa), *jb = sl_policy_set_summary (sb);
    cr_expect_str_eq (ja, jb);
    cr_expect_str_eq (ja, "{\"rules\":[{\"id\":\"w\",\"version\":1,\"kind\":\"permit\",\"owner\":\"water\","
                      "\"consumers\":[\"power\"],\"records\":[\"water.v1.MeterReading\"],"
                      "\"purposes\":[\"billing\"],\"fields\":[\"district\"],\"subject\":\"pseudonymize\","
                      "\"time\":\"exact\",\"consent\":false,\"where\":\"district in (\\\"A\\\", \\\"B\\\")\"}],"
                      "\"purposes\":[]}");
    free (ja);
    free (jb);
    sl_policy_set_destroy (&sa);
    sl_policy_set_destroy (&sb);
}

Test (lang, row_condition_limits)
{
    /* nesting: the 33rd '(' is refused (the first is at column 20) */
    char text[8192];
    int n = snprintf (text, sizeof text, "forbid \"w\" { where ");
    for (int i = 0; i < 40; i++)
        text[n++] = '(';
    n += snprintf (text + n, sizeof text - (size_t) n, "district = \"a\"");
    for (int i = 0; i < 40; i++)
        text[n++] = ')';
    snprintf (text + n, sizeof text - (size_t) n, " }");
    char *errs = NULL;
    int p, c;
    sl_policy_set_t *s = tu_load (text, &errs, &p, &c);
    cr_expect_str_eq (errs, "t.policy:1:52: error: row condition nested too deeply (more than 32 levels)\n");
    cr_expect_eq (p, SL_EPARSE);
    free (errs);
    sl_policy_set_destroy (&s);

    /* size: 300 terms joined by 'or' make 599 nodes (comparison k is node
     * 2k-2, the 'or' before it node 2k-1); node 513 is the 'or' before term
     * 257, at column 20 + 256 * 16 - 3 (terms are 12 characters, " or " 4) */
    n = snprintf (text, sizeof text, "forbid \"w\" { where ");
    for (int i = 0; i < 300; i++)
        n += snprintf (text + n, sizeof text - (size_t) n, "%sdistrict=\"a\"", i ? " or " : "");
    snprintf (text + n, sizeof text - (size_t) n, " }\nforbid \"x\" { owner water }");
    s = tu_load (text, &errs, &p, &c);
    cr_expect_str_eq (errs, "t.policy:1:4113: error: row condition too large (more than 512 terms)\n"
                            "t.policy:1:4113: note: split the rule, or use 'in (...)' for lists of values\n");
    cr_expect_eq (sl_policy_set_rule_count (s), 1);   /* the next rule still parses */
    free (errs);
    sl_policy_set_destroy (&s);

    /* 30 levels and 200 terms are fine */
    n = snprintf (text, sizeof text, "forbid \"w\" { owner water where ");
    for (int i = 0; i < 30; i++)
        text[n++] = '(';
    for (int i = 0; i < 200; i++)
        n += snprintf (text + n, sizeof text - (size_t) n, "%sdistrict=\"a\"", i ? " or " : "");
    for (int i = 0; i < 30; i++)
        text[n++] = ')';
    snprintf (text + n, sizeof text - (size_t) n, " }");
    s = tu_load (text, &errs, &p, &c);
    cr_expect_str_eq (errs, "");
    free (errs);
    sl_policy_set_destroy (&s);
}

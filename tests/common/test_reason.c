/*  sl_reason: the one table of error codes and reason words
    (common/sl_reason.h), held to the wire enum and to PROTOCOL.md 3. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_error.h"
#include "sl_reason.h"
#include "sluice/v1/envelope.pb-c.h"

Test (reason, codes_match_the_wire_enum)
{
    const ProtobufCEnumDescriptor *d = &sluice__v1__error_code__descriptor;
    cr_assert_eq (d->n_values, SL_REASON_CODES, "the wire has %u codes, the table %d",
                  d->n_values, SL_REASON_CODES);
    for (unsigned i = 0; i < d->n_values; i++) {
        int v = d->values[i].value;
        /* BAD_FRAME -> bad-frame */
        char want[64];
        snprintf (want, sizeof want, "%s", d->values[i].name);
        for (char *p = want; *p; p++)
            *p = *p == '_' ? '-' : (char) (*p | 0x20);
        cr_assert_str_eq (sl_reason_name (v), want, "code %d", v);
    }
    cr_assert_eq (SL_REASON_STORE_FULL, SLUICE__V1__ERROR_CODE__STORE_FULL);
    cr_assert_eq (SL_REASON_NOT_SUBSCRIBED, SLUICE__V1__ERROR_CODE__NOT_SUBSCRIBED);
}

Test (reason, each_code_round_trips)
{
    for (int c = 0; c < SL_REASON_CODES; c++) {
        cr_assert_eq (sl_reason_code (sl_reason_name (c)), c);
        const sl_reason_t *r = sl_reason_find (sl_reason_name (c));
        cr_assert_not_null (r);
        cr_assert_eq (r->code, c);
        cr_assert_eq (sl_reason_at (c), r, "row %d is code %d", c, c);
    }
    cr_assert_str_eq (sl_reason_name (-1), "unknown");
    cr_assert_str_eq (sl_reason_name (SL_REASON_CODES), "unknown");
    cr_assert_eq (sl_reason_code ("no-credit"), -1);    /* a word, not a code */
    cr_assert_eq (sl_reason_code (NULL), -1);
}

Test (reason, internal_and_wire_codes_are_inverse)
{
    const int own[] = { SL_EFULL, SL_EPERM, SL_EDENIED, SL_ETIMEOUT, SL_EDECODE, SL_ETOOBIG,
                        SL_ENOTFOUND, SL_EINVAL, SL_ELIMIT, SL_ESTORE, 0 };
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        cr_assert_eq (sl_reason_to_rc (sl_reason_from_rc (own[i])), own[i], "rc %d", own[i]);
    /* without a code of its own: internal; a parse error is the request's */
    cr_assert_eq (sl_reason_from_rc (SL_ENOMEM), SL_REASON_INTERNAL);
    cr_assert_eq (sl_reason_from_rc (SL_ECORRUPT), SL_REASON_INTERNAL);
    cr_assert_eq (sl_reason_from_rc (SL_EPARSE), SL_REASON_BAD_REQUEST);
    cr_assert_eq (sl_reason_from_rc (SL_EEXIST), SL_REASON_BAD_REQUEST);
    cr_assert_eq (sl_reason_to_rc (SL_REASON_OWNER_OFFLINE), SL_ENOTFOUND);
    cr_assert_eq (sl_reason_to_rc (SL_REASON_BAD_FRAME), SL_EPROTO);
    cr_assert_eq (sl_reason_to_rc (999), SL_EPROTO);
    cr_assert_eq (sl_reason_to_rc (-1), SL_EPROTO);
}

Test (reason, every_word_once_with_a_real_code)
{
    int n = 0;
    for (const sl_reason_t *r; (r = sl_reason_at (n)); n++) {
        cr_assert (r->code >= 0 && r->code < SL_REASON_CODES, "%s", r->name);
        cr_assert_eq (sl_reason_find (r->name), r, "%s is in the table twice", r->name);
        cr_assert (r->http >= 200 && r->http < 600, "%s", r->name);
        cr_assert (r->meaning && *r->meaning, "%s", r->name);
        for (const char *p = r->name; *p; p++)
            cr_assert ((*p >= 'a' && *p <= 'z') || *p == '-', "%s is not kebab-case", r->name);
    }
    cr_assert_gt (n, SL_REASON_CODES);
    cr_assert_null (sl_reason_find ("no-such-word"));
    cr_assert_null (sl_reason_find (NULL));
}

Test (reason, retry_and_http)
{
    cr_assert (sl_reason_retry (SL_REASON_STORE_FULL));
    cr_assert (sl_reason_retry (SL_REASON_QUEUE_FULL));
    cr_assert (sl_reason_retry (SL_REASON_INTERNAL));
    cr_assert (!sl_reason_retry (SL_REASON_DENIED));
    cr_assert (!sl_reason_retry (SL_REASON_BAD_BODY));
    cr_assert (!sl_reason_retry (99));
    /* the word decides; without one, the code of rc does */
    cr_assert_eq (sl_reason_http ("consent-missing", SL_EDENIED), 403);
    cr_assert_eq (sl_reason_http ("shutdown", SL_ESTORE), 503);
    cr_assert_eq (sl_reason_http ("store-error", SL_ESTORE), 502);
    cr_assert_eq (sl_reason_http ("bad-subject", SL_EINVAL), 422);
    cr_assert_eq (sl_reason_http (NULL, SL_EPERM), 403);
    cr_assert_eq (sl_reason_http ("", SL_ENOTFOUND), 404);
    cr_assert_eq (sl_reason_http (NULL, SL_EINVAL), 422);
    cr_assert_eq (sl_reason_http (NULL, SL_ETIMEOUT), 504);
    cr_assert_eq (sl_reason_http (NULL, SL_ENOMEM), 502);
    cr_assert_eq (sl_reason_http ("a-word-from-a-newer-broker", SL_EFULL), 503);
}

/*  PROTOCOL.md 3.1 and 3.2 list exactly the table's rows, with the same
 *  code, retry and HTTP status. */
Test (reason, protocol_md_lists_every_row_exactly)
{
    FILE *f = fopen (SOURCE_ROOT "/docs/PROTOCOL.md", "r");
    cr_assert_not_null (f);
    char line[2048];
    int in = 0, rows = 0;
    int seen[256] = { 0 };
    while (fgets (line, sizeof line, f)) {
        if (!strncmp (line, "### 3.1 ", 8) || !strncmp (line, "### 3.2 ", 8))
            in = 1;
        else if (!strncmp (line, "### ", 4) || !strncmp (line, "## ", 3))
            in = 0;
        if (!in || line[0] != '|' || strstr (line, "|---"))
            continue;
        /* cells: 3.1 "| value | `name` | when | retry | HTTP |",
                  3.2 "| `word` | `code` | when | retry | HTTP |" */
        char *cell[8];
        int nc = 0;
        for (char *p = line + 1; nc < 8 && (p = strchr (p, '|')); p++)
            cell[nc++] = p;
        if (nc != 5)
            continue;
        char name[64] = "", code[64] = "";
        int value = -1, http = 0;
        char retry[8] = "";
        if (sscanf (line, "| %d | `%63[a-z-]` |", &value, name) != 2
            && sscanf (line, "| `%63[a-z-]` | `%63[a-z-]` |", name, code) != 2)
            continue;           /* the header row */
        sscanf (cell[2], "| %7[a-z] | %d |", retry, &http);
        const sl_reason_t *r = sl_reason_find (name);
        cr_assert_not_null (r, "PROTOCOL.md lists `%s`, the table does not", name);
        int i = (int) (r - sl_reason_at (0));
        cr_assert_eq (seen[i]++, 0, "`%s` is listed twice", name);
        if (value >= 0)
            cr_assert_eq (value, r->code, "`%s`: value %d, table %d", name, value, r->code);
        else
            cr_assert_str_eq (code, sl_reason_name (r->code), "`%s`", name);
        cr_assert_str_eq (retry, r->retry ? "yes" : "no", "`%s` retry", name);
        cr_assert_eq (http, r->http, "`%s`: HTTP %d in PROTOCOL.md, %d in the table", name, http,
                      r->http);
        rows++;
    }
    fclose (f);
    int n = 0;
    while (sl_reason_at (n))
        n++;
    for (int i = 0; i < n; i++)
        cr_assert_eq (seen[i], 1, "PROTOCOL.md 3 does not list `%s`", sl_reason_at (i)->name);
    cr_assert_eq (rows, n);
}

/*  OPERATIONS.md 14 lists every code with the SL_E* libsluice returns for
 *  it: the same as the table. */
Test (reason, operations_md_codes_and_library_errors)
{
    static const struct { const char *name; int rc; } rcs[] = {
        { "SL_EPROTO", SL_EPROTO }, { "SL_ETOOBIG", SL_ETOOBIG }, { "SL_EINVAL", SL_EINVAL },
        { "SL_EPERM", SL_EPERM }, { "SL_EDECODE", SL_EDECODE }, { "SL_EDENIED", SL_EDENIED },
        { "SL_ENOTFOUND", SL_ENOTFOUND }, { "SL_ETIMEOUT", SL_ETIMEOUT }, { "SL_EFULL", SL_EFULL },
        { "SL_ELIMIT", SL_ELIMIT }, { "SL_ESTORE", SL_ESTORE },
    };
    FILE *f = fopen (SOURCE_ROOT "/docs/OPERATIONS.md", "r");
    cr_assert_not_null (f);
    char line[2048];
    int seen[SL_REASON_CODES] = { 0 };
    while (fgets (line, sizeof line, f)) {
        char name[64], rc[32];
        int value;
        if (sscanf (line, "| `%63[a-z-]` (%d) [`%31[A-Z_]`] |", name, &value, rc) != 3)
            continue;
        cr_assert_eq (sl_reason_code (name), value, "OPERATIONS.md: `%s` (%d)", name, value);
        int want = 1;
        for (size_t i = 0; i < sizeof rcs / sizeof rcs[0]; i++)
            if (!strcmp (rcs[i].name, rc))
                want = rcs[i].rc;
        cr_assert_eq (sl_reason_to_rc (value), want, "OPERATIONS.md: `%s` [%s]", name, rc);
        seen[value]++;
    }
    fclose (f);
    for (int c = 1; c < SL_REASON_CODES; c++)
        cr_assert_eq (seen[c], 1, "OPERATIONS.md 14 lists `%s` %d times", sl_reason_name (c), seen[c]);
}

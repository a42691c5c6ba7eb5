/*  Shared fixtures for the policy suites: the city's member catalogue and a
 *  parse+check function that returns the rendered errors. */
#ifndef POLICY_TEST_UTIL_H
#define POLICY_TEST_UTIL_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sl_policy.h"
#include "sl_error.h"

static inline sl_policy_catalog_t *
tu_catalog (void)
{
    sl_policy_catalog_t *c = sl_policy_catalog_new ();
    sl_policy_catalog_add_member (c, "water", "member");
    sl_policy_catalog_add_member (c, "power", "member");
    sl_policy_catalog_add_member (c, "health", "member");
    sl_policy_catalog_add_member (c, "parking", "member");
    sl_policy_catalog_add_member (c, "city-admin", "admin:city");
    sl_policy_catalog_add_purpose (c, "joint-metering", "joint metering");
    sl_policy_catalog_add_purpose (c, "parking-fee-waiver", "fee waiver");
    sl_policy_catalog_add_purpose (c, "billing", "billing");
    return c;
}

/*  Parses and checks `text` as file "t.policy", version 1. Returns the
 *  set (checked, maybe with errors) and stores the rendered errors in *errs
 *  (malloc'ed, "" when clean) and the return codes in *prc, *crc. */
static inline sl_policy_set_t *
tu_load (const char *text, char **errs, int *prc, int *crc)
{
    sl_policy_catalog_t *cat = tu_catalog ();
    sl_policy_diags_t *d = sl_policy_diags_new ();
    sl_policy_set_t *s = sl_policy_set_new ();
    int p = sl_policy_set_parse (s, "t.policy", text, strlen (text), 1, d);
    int c = sl_policy_set_check (s, cat, d);
    if (prc)
        *prc = p;
    if (crc)
        *crc = c;
    if (errs)
        *errs = sl_policy_diags_render (d);
    sl_policy_diags_destroy (&d);
    sl_policy_catalog_destroy (&cat);
    return s;
}

/*  Parses, checks and compiles; NULL if anything failed. */
static inline sl_policy_index_t *
tu_index (const char *text)
{
    char *errs = NULL;
    int p, c;
    sl_policy_set_t *s = tu_load (text, &errs, &p, &c);
    sl_policy_index_t *ix = (p == 0 && c == 0) ? sl_policy_index_new (s, NULL) : NULL;
    if (!ix && errs)
        fprintf (stderr, "%s", errs);
    free (errs);
    sl_policy_set_destroy (&s);
    return ix;
}

/*  tu_index, asserting (in a Criterion suite) that `text` compiled. */
static inline sl_policy_index_t *
tu_index_ok (const char *text)
{
    sl_policy_index_t *ix = tu_index (text);
    cr_assert_not_null (ix, "the policy did not compile:\n%s", text);
    return ix;
}

#endif

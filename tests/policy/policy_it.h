/*  Shared by the policy integration suites (it_policy_admin.c,
 *  it_policy_review.c): the test's broker, admin commands with the answer
 *  code they must get, policy.apply, reads of the JSON results, policy
 *  files beside the data directory, a live subscription, and sluicectl
 *  with its output in `out`. Each suite includes it once (the state below
 *  is per program).
 */
#ifndef POLICY_IT_H
#define POLICY_IT_H

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tc.h"
#include "tl.h"

#define OK            0
#define NOT_PERMITTED SLUICE__V1__ERROR_CODE__NOT_PERMITTED
#define BAD_REQUEST   SLUICE__V1__ERROR_CODE__BAD_REQUEST
#define NOT_FOUND     SLUICE__V1__ERROR_CODE__NOT_FOUND

/*  One permit of water's in the compact layout (one space after each
 *  clause name): `consumer` receives `fields` of water readings for
 *  `purpose`; MORE: further clause lines, e.g. "  subject keep\n". */
#define WATER_PERMIT(id, consumer, purpose, fields, more)                                   \
    "permit \"" id "\" {\n  owner water\n  consumer " consumer "\n  records " TL_WATER "\n" \
    "  purpose " purpose "\n  fields " fields "\n" more "}\n"

/*  apply's flags */
#define DRY_RUN 1
#define STRICT  2

static tc_broker_t b;
static char last_text[65536];   /* the text of the last admin answer */
static char out[65536];         /* the output of the last ctl () */

/*  Runs sluicectl ARGS (stderr folded in); returns the exit status. */
#define ctl(...) tc_ctl (out, sizeof out, __VA_ARGS__)

static inline void
teardown (void)
{
    tc_broker_cleanup (&b);
}

/*  One admin command as `as` with `args` (consumed). Asserts the response
 *  code is `expect`; returns the parsed result (NULL when not OK), and
 *  leaves the response text in last_text. */
static inline cJSON *
adm (const sl_keypair_t *as, const char *command, cJSON *args, int expect)
{
    int code;
    cJSON *res = tc_adm (&b, as, command, args, &code, last_text, sizeof last_text);
    cr_assert_eq (code, expect, "%s: code %d, expected %d: %s", command, code, expect, last_text);
    cr_assert (code != 0 || res, "%s: the result is not JSON", command);
    if (code != 0)
        cJSON_Delete (res);
    return code == 0 ? res : NULL;
}

static inline cJSON *
args_owner (const char *owner)
{
    cJSON *a = cJSON_CreateObject ();
    cJSON_AddStringToObject (a, "owner", owner);
    return a;
}

/*  policy.apply of `text` as file test.policy for `owner`; `flags`:
 *  DRY_RUN, STRICT. */
static inline cJSON *
apply (const sl_keypair_t *as, const char *owner, const char *text, int flags, int expect)
{
    cJSON *a = args_owner (owner);
    cJSON_AddStringToObject (a, "text", text);
    cJSON_AddStringToObject (a, "file", "test.policy");
    cJSON_AddBoolToObject (a, "dry_run", (flags & DRY_RUN) != 0);
    if (flags & STRICT)
        cJSON_AddBoolToObject (a, "strict", 1);
    return adm (as, "policy.apply", a, expect);
}

static inline const char *
str (const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, name);
    return cJSON_IsString (v) ? v->valuestring : "";
}

static inline double
num (const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (o, name);
    cr_assert (cJSON_IsNumber (v), "'%s' is not a number", name);
    return v->valuedouble;
}

/*  Joins the data plane as `kp` (member `member`), subscribes to water
 *  readings for `purpose` and leaves: a live subscription. */
static inline void
subscribe_water (const sl_keypair_t *kp, const char *member, const char *purpose)
{
    tc_client_t c;
    cr_assert_eq (tc_consumer (&c, &b, kp, member, TL_WATER, purpose, 0), 0, "%s subscribes", member);
    tc_close (&c);
}

/*  Writes `text` to b.dir/../NAME (beside the data directory, removed with
 *  it); returns the path (one of 8 buffers, reused in turn). */
static inline const char *
write_tmp (const char *name, const char *text)
{
    static char path[8][500];
    static int k;
    char *p = path[k++ % 8];
    snprintf (p, 500, "%s/../%s", b.dir, name);
    cr_assert_eq (tl_write (p, text), 0, "%s", p);
    return p;
}

#endif

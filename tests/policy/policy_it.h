/*  Shared by the policy integration suites (it_policy_admin.c,
 *  it_policy_review.c): the test's broker, admin commands with the answer
 *  code they must get, the arguments of policy.apply / show / diff /
 *  explain, reads of the JSON results, and sluicectl with its output in
 *  `out`. Each suite includes it once (the state below is per program).
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

/*  args_owner with "version": v. */
static inline cJSON *
args_version (const char *owner, double v)
{
    cJSON *a = args_owner (owner);
    cJSON_AddNumberToObject (a, "version", v);
    return a;
}

/*  The arguments of policy.diff: owner, v1, v2 and, when not 0, at. */
static inline cJSON *
args_diff (const char *owner, double v1, double v2, double at)
{
    cJSON *a = args_owner (owner);
    cJSON_AddNumberToObject (a, "v1", v1);
    cJSON_AddNumberToObject (a, "v2", v2);
    if (at != 0)
        cJSON_AddNumberToObject (a, "at", at);
    return a;
}

/*  The arguments of policy.explain (no time, no subject). */
static inline cJSON *
args_explain (const char *consumer, const char *type, const char *purpose)
{
    cJSON *a = cJSON_CreateObject ();
    cJSON_AddStringToObject (a, "consumer", consumer);
    cJSON_AddStringToObject (a, "record_type", type);
    cJSON_AddStringToObject (a, "purpose", purpose);
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

/*  Asserts that the string members of `o` named in the NULL-terminated
 *  list of (name, value) pairs have those values; the message names the
 *  member. */
static inline void
expect_strs (const cJSON *o, ...)
{
    va_list ap;
    va_start (ap, o);
    for (const char *name; (name = va_arg (ap, const char *));) {
        const char *want = va_arg (ap, const char *);
        cr_assert_str_eq (str (o, name), want, "'%s' is '%s', expected '%s' in %s", name,
                          str (o, name), want, cJSON_PrintUnformatted (o));
    }
    va_end (ap);
}

/*  True if the JSON array `a` holds exactly the strings given (in order),
 *  NULL-terminated. */
static inline int
strings_are (const cJSON *a, ...)
{
    va_list ap;
    va_start (ap, a);
    int i = 0, ok = cJSON_IsArray (a);
    for (const char *s; ok && (s = va_arg (ap, const char *)); i++) {
        const cJSON *e = cJSON_GetArrayItem (a, i);
        ok = cJSON_IsString (e) && strcmp (e->valuestring, s) == 0;
    }
    va_end (ap);
    return ok && cJSON_GetArraySize (a) == i;
}

/*  Member `name` of `o` (NULL when missing). */
#define item(o, name) cJSON_GetObjectItemCaseSensitive ((o), (name))

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

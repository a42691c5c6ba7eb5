/*  sluicectl consent grant|renew|withdraw|list|show: the consent registry through
    the broker (admin commands consent.*, PROTOCOL.md 6.4; docs/CONSENT.md).
    Changes always go through the broker, which checks the role rule and
    writes the audit entry in the same transaction. */
#include "ctl.h"
#include "sl_time.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  Unix seconds -> "2026-11-28 15:00:00Z", "-" for 0. */
static const char *
s_time (double secs, char out[24])
{
    if (secs <= 0)
        return "-";
    sl_time_format_as ((int64_t) secs * 1000000, NULL, SL_TIME_FMT_SPACE, out, 24);
    return out;
}

/*  A JSON array of strings joined with ','. */
static const char *
s_list_text (const cJSON *obj, const char *name, char *out, size_t size)
{
    size_t off = 0;
    out[0] = '\0';
    const cJSON *v;
    cJSON_ArrayForEach (v, cJSON_GetObjectItemCaseSensitive (obj, name))
        if (cJSON_IsString (v) && off < size)
            off += (size_t) snprintf (out + off, size - off, "%s%s", off ? "," : "", v->valuestring);
    return off ? out : "-";
}

/* ---- grant --------------------------------------------------------------- */

typedef struct {
    cJSON *args;
    cJSON *purposes, *types, *fields;
} s_grant_t;

enum { G_SUBJECT = 1, G_CONTROLLER, G_RECIPIENT, G_PURPOSE, G_RECORDS, G_FIELDS, G_FROM, G_TO,
       G_METHOD, G_EVIDENCE, G_JURISDICTION, G_ID, G_REASON };

/*  Adds each comma-separated part of `arg` to `arr`. */
static void
s_add_parts (cJSON *arr, const char *arg)
{
    char *copy = strdup (arg), *save = NULL;
    for (char *p = strtok_r (copy, ",", &save); p; p = strtok_r (NULL, ",", &save))
        if (*p)
            cJSON_AddItemToArray (arr, cJSON_CreateString (p));
    free (copy);
}

/*  A time option: digits are Unix seconds, anything else goes as text
    (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ; the broker checks it). */
static void
s_add_time (cJSON *args, const char *name, const char *arg)
{
    char *end;
    long long v = strtoll (arg, &end, 10);
    cJSON_DeleteItemFromObject (args, name);
    if (*arg && !*end)
        cJSON_AddNumberToObject (args, name, (double) v);
    else
        cJSON_AddStringToObject (args, name, arg);
}

static int
s_grant_opt (int c, const char *arg, void *p)
{
    s_grant_t *g = p;
    const char *name = NULL;
    switch (c) {
    case G_SUBJECT: name = "subject"; break;
    case G_CONTROLLER: name = "controller"; break;
    case G_RECIPIENT: name = "recipient"; break;
    case G_METHOD: name = "collection_method"; break;
    case G_EVIDENCE: name = "evidence"; break;
    case G_JURISDICTION: name = "jurisdiction"; break;
    case G_ID: name = "consent_id"; break;
    case G_PURPOSE: s_add_parts (g->purposes, arg); return 0;
    case G_RECORDS: s_add_parts (g->types, arg); return 0;
    case G_FIELDS: s_add_parts (g->fields, arg); return 0;
    case G_FROM: s_add_time (g->args, "valid_from", arg); return 0;
    case G_TO: s_add_time (g->args, "valid_to", arg); return 0;
    default: return -1;
    }
    cJSON_DeleteItemFromObject (g->args, name);
    cJSON_AddStringToObject (g->args, name, arg);
    return 0;
}

static void
s_print_record (const cJSON *r, int history)
{
    char a[24], b[24], buf[2048];
    printf ("consent     %s\n", ctl_str (r, "consent_id"));
    printf ("status      %s (%s)\n", ctl_str (r, "state"), ctl_str (r, "reason"));
    printf ("subject     %s\n", ctl_str (r, "subject"));
    printf ("controller  %s\n", ctl_str (r, "controller"));
    printf ("recipient   %s\n", ctl_str (r, "recipient"));
    printf ("purposes    %s\n", s_list_text (r, "purposes", buf, sizeof buf));
    printf ("records     %s\n", s_list_text (r, "record_types", buf, sizeof buf));
    printf ("fields      %s\n", s_list_text (r, "fields", buf, sizeof buf));
    printf ("valid       %s .. %s\n", s_time (ctl_num (r, "valid_from"), a),
            ctl_num (r, "valid_to") > 0 ? s_time (ctl_num (r, "valid_to"), b) : "no expiry");
    if (ctl_num (r, "withdrawn_at") > 0)
        printf ("withdrawn   %s\n", s_time (ctl_num (r, "withdrawn_at"), a));
    if (*ctl_str (r, "collection_method"))
        printf ("method      %s\n", ctl_str (r, "collection_method"));
    if (*ctl_str (r, "evidence"))
        printf ("evidence    %s\n", ctl_str (r, "evidence"));
    if (*ctl_str (r, "jurisdiction"))
        printf ("jurisdiction %s\n", ctl_str (r, "jurisdiction"));
    printf ("given       %s by %s\n", s_time (ctl_num (r, "given_at"), a), ctl_str (r, "given_by"));
    const cJSON *h = cJSON_GetObjectItemCaseSensitive (r, "history");
    if (history && cJSON_IsArray (h)) {
        printf ("history:\n");
        const cJSON *ev;
        cJSON_ArrayForEach (ev, h)
            printf ("  %-20s %-10s by %-12s (recorded %s)\n", s_time (ctl_num (ev, "time"), a),
                    ctl_str (ev, "kind"), ctl_str (ev, "actor"),
                    s_time (ctl_num (ev, "recorded"), b));
    }
}

static void
s_print_grant (const cJSON *res)
{
    printf ("granted consent %s\n", ctl_str (res, "consent_id"));
    s_print_record (res, 0);
}

static int
s_grant (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("subject", G_SUBJECT), CTL_ARG ("controller", G_CONTROLLER),
        CTL_ARG ("recipient", G_RECIPIENT), CTL_ARG ("purpose", G_PURPOSE),
        CTL_ARG ("records", G_RECORDS), CTL_ARG ("fields", G_FIELDS), CTL_ARG ("from", G_FROM),
        CTL_ARG ("to", G_TO), CTL_ARG ("method", G_METHOD), CTL_ARG ("evidence", G_EVIDENCE),
        CTL_ARG ("jurisdiction", G_JURISDICTION), CTL_ARG ("id", G_ID), { NULL, 0, NULL, 0 } };
    s_grant_t g;
    g.args = cJSON_CreateObject ();
    g.purposes = cJSON_AddArrayToObject (g.args, "purposes");
    g.types = cJSON_AddArrayToObject (g.args, "record_types");
    g.fields = cJSON_AddArrayToObject (g.args, "fields");
    int first, rc = ctl_parse (ctx, cmd, argc, argv, extra, s_grant_opt, &g, &first);
    if (rc != 0) {
        cJSON_Delete (g.args);
        return rc == 1 ? 0 : rc;
    }
    const char *missing = !*ctl_str (g.args, "subject") ? "--subject ID"
                        : !*ctl_str (g.args, "controller") ? "--controller BUREAU"
                        : !*ctl_str (g.args, "recipient") ? "--recipient MEMBER"
                        : cJSON_GetArraySize (g.purposes) == 0 ? "--purpose P"
                        : cJSON_GetArraySize (g.types) == 0 ? "--records TYPE" : NULL;
    if (argc != first || missing) {
        ctl_error (ctx, argc != first ? "grant takes no positional arguments (see --help)"
                                      : "grant needs %s (see sluicectl consent grant --help)",
                   missing);
        cJSON_Delete (g.args);
        return 2;
    }
    return ctl_call (ctx, "consent.grant", g.args, s_print_grant);
}

/* ---- renew ----------------------------------------------------------------- */

static void
s_print_renew (const cJSON *res)
{
    printf ("renewed consent %s\n", ctl_str (res, "consent_id"));
    s_print_record (res, 0);
}

/*  renew ID --to T [--from T] [--method M] [--evidence REF] [--jurisdiction J]:
 *  moves the validity window of a consent that is not withdrawn (CONSENT.md
 *  §2: the scope never changes; an expired consent may be renewed). */
static int
s_renew (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("from", G_FROM), CTL_ARG ("to", G_TO), CTL_ARG ("method", G_METHOD),
        CTL_ARG ("evidence", G_EVIDENCE), CTL_ARG ("jurisdiction", G_JURISDICTION),
        { NULL, 0, NULL, 0 } };
    s_grant_t g;
    g.args = cJSON_CreateObject ();
    g.purposes = g.types = g.fields = NULL;
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_grant_opt, &g, 1,
                                    "renew needs one consent ID", &first);
    if (rc >= 0) {
        cJSON_Delete (g.args);
        return rc;
    }
    if (!cJSON_GetObjectItemCaseSensitive (g.args, "valid_to")) {
        ctl_error (ctx, "renew needs --to T, the new end of the consent (0 for no expiry)");
        cJSON_Delete (g.args);
        return 2;
    }
    cJSON_AddStringToObject (g.args, "consent_id", argv[first]);
    return ctl_call (ctx, "consent.renew", g.args, s_print_renew);
}

/* ---- withdraw, show, list ------------------------------------------------- */

static void
s_print_withdraw (const cJSON *res)
{
    char a[24];
    printf ("withdrew consent %s at %s: %s may no longer receive this data\n",
            ctl_str (res, "consent_id"), s_time (ctl_num (res, "withdrawn_at"), a),
            ctl_str (res, "recipient"));
}

static int
s_withdraw (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("reason", G_REASON), { NULL, 0, NULL, 0 } };
    const char *reason = NULL;
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, ctl_opt_text, &reason, 1,
                                    "withdraw needs one consent ID", &first);
    if (rc >= 0)
        return rc;
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "id", argv[first]);
    if (reason)
        cJSON_AddStringToObject (args, "reason", reason);
    return ctl_call (ctx, "consent.withdraw", args, s_print_withdraw);
}

static void
s_print_show (const cJSON *res)
{
    s_print_record (res, 1);
}

static int
s_show (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    return ctl_call_simple (ctx, cmd, argc, argv, "show needs one consent ID",
                            "consent.show", "id", s_print_show);
}

static void
s_print_list (const cJSON *res)
{
    printf ("%-28s %-10s %-10s %-10s %-20s %-26s %-20s %s\n", "CONSENT", "STATUS",
            "CONTROLLER", "RECIPIENT", "PURPOSES", "RECORDS", "VALID FROM", "VALID TO");
    const cJSON *r;
    char p[512], t[512], a[24], b[24];
    cJSON_ArrayForEach (r, res) {
        const char *reason = ctl_str (r, "reason");
        printf ("%-28s %-10s %-10s %-10s %-20s %-26s %-20s %s\n", ctl_str (r, "consent_id"),
                !strncmp (reason, "consent-", 8) ? reason + 8 : reason,
                ctl_str (r, "controller"), ctl_str (r, "recipient"),
                s_list_text (r, "purposes", p, sizeof p),
                s_list_text (r, "record_types", t, sizeof t),
                s_time (ctl_num (r, "valid_from"), a),
                ctl_num (r, "valid_to") > 0 ? s_time (ctl_num (r, "valid_to"), b) : "-");
    }
}

static int
s_list (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("subject", G_SUBJECT), { NULL, 0, NULL, 0 } };
    const char *subject = NULL;
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, ctl_opt_text, &subject, 0,
                                    "list needs --subject ID", &first);
    if (rc >= 0)
        return rc;
    if (!subject)
        return ctl_fail (ctx, 2, "list needs --subject ID");
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "subject", subject);
    return ctl_call (ctx, "consent.list", args, s_print_list);
}

static const ctl_cmd_t s_cmds[] = {
    { "grant", "--subject ID --controller B --recipient C --purpose P --records T [options]",
      "record a person's consent (admin:<controller> or admin:city)",
      "options:\n"
      "  --subject ID        the person's id, as the bureaus use it in records\n"
      "  --controller B      the bureau owning the data\n"
      "  --recipient C       the member that may receive it\n"
      "  --purpose P         a purpose (repeatable, or comma-separated)\n"
      "  --records T         a record type or wildcard like health.v1.* (repeatable)\n"
      "  --fields F,...      only these fields (default: whatever the policy releases)\n"
      "  --from T --to T     validity: UTC YYYY-MM-DD[THH:MM:SSZ] or Unix seconds;\n"
      "                      from inclusive (default now), to exclusive (default none)\n"
      "  --method M          how it was collected: app, paper-form, kiosk, ...\n"
      "  --evidence REF      reference to the evidence (receipt or form id)\n"
      "  --jurisdiction J    e.g. CN-ZJ\n"
      "  --id ID             the consent id (default: generated)\n",
      1, s_grant },
    { "renew", "ID --to T [--from T] [--method M] [--evidence REF] [--jurisdiction J]",
      "move a consent's validity window (admin:<controller> or admin:city)",
      "options:\n"
      "  --to T              the new end: UTC YYYY-MM-DD[THH:MM:SSZ] or Unix seconds,\n"
      "                      exclusive; 0 = no expiry\n"
      "  --from T            a new start (default: unchanged)\n"
      "  --method M --evidence REF --jurisdiction J  how the renewal was collected\n"
      "The scope (purposes, records, fields) never changes: grant a new consent for\n"
      "another scope. An expired consent may be renewed, a withdrawn one may not.\n",
      1, s_renew },
    { "withdraw", "ID [--reason TEXT]", "withdraw a consent from now on (kept, never deleted)",
      "options:\n  --reason TEXT       why, for the audit log\n", 1, s_withdraw },
    { "list", "--subject ID", "list a person's consents, withdrawn and expired ones included",
      NULL, 1, s_list },
    { "show", "ID", "show one consent with its history", NULL, 1, s_show },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_consent = { "consent", "manage citizens' consents", s_cmds };

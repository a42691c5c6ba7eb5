/*  sluicectl status: the broker's version, uptime, connected members and
    queue depths (admin command `status`, PROTOCOL.md 6.2). */
#include "ctl.h"

#include <stdlib.h>

static void
s_print (const cJSON *res)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (res, "version");
    const cJSON *up = cJSON_GetObjectItemCaseSensitive (res, "uptime_s");
    const cJSON *pending = cJSON_GetObjectItemCaseSensitive (res, "pending");
    const cJSON *conn = cJSON_GetObjectItemCaseSensitive (res, "members_connected");
    const cJSON *queues = cJSON_GetObjectItemCaseSensitive (res, "queues");
    long secs = cJSON_IsNumber (up) ? (long) up->valuedouble : 0;
    printf ("sluiced %s, up %ldh %02ldm %02lds\n", cJSON_IsString (v) ? v->valuestring : "?",
            secs / 3600, secs / 60 % 60, secs % 60);
    printf ("members connected (%d):", cJSON_GetArraySize (conn));
    const cJSON *m;
    cJSON_ArrayForEach (m, conn)
        printf (" %s", cJSON_IsString (m) ? m->valuestring : "?");
    printf ("%s\n", cJSON_GetArraySize (conn) ? "" : " none");
    printf ("queue depths:%s\n", cJSON_GetArraySize (queues) ? "" : " no queues");
    cJSON_ArrayForEach (m, queues)
        printf ("  %-20s %g\n", m->string, cJSON_IsNumber (m) ? m->valuedouble : 0.0);
    const cJSON *commits = cJSON_GetObjectItemCaseSensitive (res, "commits");
    if (cJSON_IsNumber (pending))
        printf ("operations awaiting commit: %g\n", pending->valuedouble);
    if (cJSON_IsNumber (commits))
        printf ("commits since start: %g\n", commits->valuedouble);
    /* never brick: what start left out of force */
    const cJSON *aside = cJSON_GetObjectItemCaseSensitive (res, "policies_set_aside");
    cJSON_ArrayForEach (m, aside)
        printf ("POLICY SET ASIDE: %s version %g no longer checks (see below)\n",
                ctl_str (m, "owner"), ctl_num (m, "version"));
    if (cJSON_GetArraySize (aside))
        printf ("%s", ctl_str (res, "policies_set_aside_errors"));
    if (*ctl_str (res, "schemas_skipped"))
        printf ("RECORD TYPES NOT IN FORCE (stored, but they do not build):\n%s",
                ctl_str (res, "schemas_skipped"));
    const cJSON *st = cJSON_GetObjectItemCaseSensitive (res, "store");
    if (st && ctl_num (st, "capacity_bytes") > 0)
        printf ("store: %.1f of %.1f MiB used (%.0f%%)\n", ctl_num (st, "used_bytes") / 1048576.0,
                ctl_num (st, "capacity_bytes") / 1048576.0,
                100.0 * ctl_num (st, "used_bytes") / ctl_num (st, "capacity_bytes"));
    const cJSON *au = cJSON_GetObjectItemCaseSensitive (res, "audit");
    if (au)
        printf ("audit log: head seq %.0f, last signed checkpoint at seq %.0f, %.0f s ago\n",
                ctl_num (au, "head_seq"), ctl_num (au, "checkpoint_seq"),
                ctl_num (au, "checkpoint_age_s"));
}

static int
s_run (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    return ctl_call_simple (ctx, cmd, argc, argv, "status takes no arguments",
                            "status", NULL, s_print);
}

static const ctl_cmd_t s_cmds[] = {
    { NULL, "", "show the broker's version, uptime, connected members and queue depths",
      NULL, 1, s_run },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_status = { "status", "broker status", s_cmds };

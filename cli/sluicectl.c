/*  sluicectl — the administrator's command line for sluice.

    sluicectl [connection options] GROUP [SUBCOMMAND] [ARGS] [--help]

    The groups and their subcommands are tables (ctl.h, ctl_groups.c); this
    file only finds the one to run. */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>

static void
s_help (FILE *out)
{
    fprintf (out, "usage: sluicectl [--data DIR] [--key FILE] [--json] COMMAND [ARGS]\n\n"
                  "Administers a sluice broker: keys, members, status.\n\ncommands:\n");
    for (size_t g = 0; ctl_groups[g]; g++) {
        const ctl_group_t *grp = ctl_groups[g];
        for (const ctl_cmd_t *c = grp->cmds; c->run; c++) {
            char left[64];
            snprintf (left, sizeof left, "%s%s%s", grp->name, c->name ? " " : "", c->name ? c->name : "");
            fprintf (out, "  %-16s %s\n", left, c->summary);
        }
    }
    fprintf (out, "\n`sluicectl COMMAND --help` describes a command and its options.\n");
}

static void
s_group_help (const ctl_group_t *grp, FILE *out)
{
    fprintf (out, "usage: sluicectl %s SUBCOMMAND [ARGS]\n\n%s\n\nsubcommands:\n", grp->name,
             grp->summary);
    for (const ctl_cmd_t *c = grp->cmds; c->run; c++)
        fprintf (out, "  %-10s %s\n", c->name, c->summary);
    fprintf (out, "\n`sluicectl %s SUBCOMMAND --help` for its options.\n", grp->name);
}

int
main (int argc, char **argv)
{
    ctl_ctx_t ctx;
    memset (&ctx, 0, sizeof ctx);
    ctx.prog = argv[0];
    /* connection options may come before the command as well as after it */
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char **slot = !strcmp (a, "--data") ? &ctx.data_dir
                          : !strcmp (a, "--endpoint") ? &ctx.endpoint
                          : !strcmp (a, "--key") ? &ctx.key
                          : !strcmp (a, "--broker-key") ? &ctx.broker_key : NULL;
        if (slot && i + 1 < argc)
            *slot = argv[++i];
        else if (!strcmp (a, "--timeout") && i + 1 < argc)
            ctx.timeout_ms = atoi (argv[++i]);
        else if (!strcmp (a, "--json"))
            ctx.json = 1;
        else if (!strcmp (a, "--help") || !strcmp (a, "-h")) {
            s_help (stdout);
            return 0;
        }
        else if (!strcmp (a, "--version")) {
            printf ("sluicectl %s\n", SLUICE_VERSION);
            return 0;
        }
        else
            return ctl_fail (&ctx, 2, "unknown option '%s' (see sluicectl --help)", a);
    }
    if (i >= argc) {
        s_help (stderr);
        return 2;
    }
    const ctl_group_t *grp = NULL;
    for (size_t g = 0; ctl_groups[g]; g++)
        if (strcmp (ctl_groups[g]->name, argv[i]) == 0)
            grp = ctl_groups[g];
    if (!grp)
        return ctl_fail (&ctx, 2, "unknown command '%s' (see sluicectl --help)", argv[i]);
    ctx.group = grp->name;
    if (!grp->cmds[0].name)                      /* the group is the command */
        return grp->cmds[0].run (&ctx, &grp->cmds[0], argc - i, argv + i);
    if (i + 1 >= argc || !strcmp (argv[i + 1], "--help") || !strcmp (argv[i + 1], "-h")) {
        s_group_help (grp, i + 1 >= argc ? stderr : stdout);
        return i + 1 >= argc ? 2 : 0;
    }
    for (const ctl_cmd_t *c = grp->cmds; c->run; c++)
        if (strcmp (c->name, argv[i + 1]) == 0)
            return c->run (&ctx, c, argc - i - 1, argv + i + 1);
    return ctl_fail (&ctx, 2, "unknown subcommand '%s' (see sluicectl %s --help)", argv[i + 1],
                     grp->name);
}

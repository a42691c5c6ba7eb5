/*  ctl — the frame of sluicectl: command groups, options, output.

    A command group is one file (cmd_member.c, cmd_status.c, ...) that
    defines a `const ctl_group_t ctl_group_<name>` listing its subcommands;
    ctl_groups.c lists the groups. To add a group (policy, audit, consent):
    write cli/cmd_<group>.c with its ctl_group_t, add one line to
    ctl_groups.c and the file to cli/meson.build. The frame gives every
    command `--help`, the connection options and `--json`.
*/
#ifndef CTL_H
#define CTL_H

#include <getopt.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "sluice.h"

/*  What every command gets: the connection options (command line, then
    environment SLUICE_DATA / SLUICE_ENDPOINT / SLUICE_KEY /
    SLUICE_BROKER_KEY, then defaults) and output flags. */
typedef struct {
    const char *data_dir;      /* --data DIR: DIR/endpoints, DIR/broker.pub, DIR/admin.key */
    const char *endpoint;      /* --endpoint: overrides DIR/endpoints */
    const char *key;           /* --key: our secret key file */
    const char *broker_key;    /* --broker-key: overrides DIR/broker.pub */
    int json;                  /* --json: machine-readable output */
    int timeout_ms;            /* --timeout MS */
    const char *prog;          /* argv[0] */
    const char *group;         /* the group name being run */
} ctl_ctx_t;

typedef struct ctl_cmd ctl_cmd_t;

/*  Runs the command with its own arguments (argv[0] = the command name).
    Returns the process exit status: 0 ok, 1 failure, 2 usage error. */
typedef int (ctl_run_fn) (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv);

struct ctl_cmd {
    const char *name;          /* "add"; NULL for a group that is itself the command */
    const char *usage;         /* arguments: "NAME --role ROLE --pub FILE" */
    const char *summary;       /* one line */
    const char *help;          /* the options, one per line, or NULL */
    int uses_broker;           /* 1: show the connection options in --help */
    ctl_run_fn *run;
};

typedef struct {
    const char *name;          /* "member" */
    const char *summary;
    const ctl_cmd_t *cmds;     /* terminated by an entry with run == NULL */
} ctl_group_t;

extern const ctl_group_t *const ctl_groups[];   /* NULL-terminated, ctl_groups.c */

/*  The connection options as getopt_long entries, for commands to append
    to their own table with ctl_parse(). */
enum { CTL_OPT_DATA = 1000, CTL_OPT_ENDPOINT, CTL_OPT_KEY, CTL_OPT_BROKER_KEY, CTL_OPT_JSON,
       CTL_OPT_TIMEOUT, CTL_OPT_HELP };

/*  Rows of an option table: an option that takes a value, and a flag. */
#define CTL_ARG(name, id) { name, required_argument, NULL, id }
#define CTL_FLAG(name, id) { name, no_argument, NULL, id }

/*  Parses a command's argv: the common options (into ctx) plus `extra`
    (long options only, may be NULL; each match calls on_opt(c, optarg,
    arg)). Positional arguments are left in argv[*first ..argc-1].
    Returns 0, 1 when --help was printed (exit 0), or 2 on a usage error
    (already printed). */
int ctl_parse (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv,
               const struct option *extra, int (*on_opt) (int c, const char *optarg, void *arg),
               void *arg, int *first);

/*  ctl_parse, then checks the number of positional arguments: exactly
    `npos`, or any number when npos < 0. Returns -1 to go on, the first
    positional argument being argv[*first]; otherwise the exit status for
    the command to return: 0 after --help, 2 on a usage error (printed;
    `wrong` is the message when the count is off). */
int ctl_parse_args (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv,
                    const struct option *extra,
                    int (*on_opt) (int c, const char *optarg, void *arg), void *arg, int npos,
                    const char *wrong, int *first);

/*  on_opt for a command with one option of its own that takes a value:
    stores the value in *(const char **) arg. Returns 0. */
int ctl_opt_text (int c, const char *optarg, void *arg);

/*  Prints the command's --help. */
void ctl_usage (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, FILE *out);

/*  Runs an admin-plane command. On success *result gets the parsed result
    (caller frees with cJSON_Delete) and 0 is returned; on failure prints
    "sluicectl: GROUP: what, what to do" to stderr and returns 1. `args`
    is borrowed. */
int ctl_admin (ctl_ctx_t *ctx, const char *command, const cJSON *args, cJSON **result);

/*  ctl_admin with bulk input (AdminRequest.data, e.g. a FileDescriptorSet). */
int ctl_admin_data (ctl_ctx_t *ctx, const char *command, const cJSON *args, const void *bulk,
                    size_t bulk_len, cJSON **result);

/*  Runs an admin-plane command with `args`, which it takes (and frees,
    whatever happens), then prints the result: pretty JSON with --json,
    else through `print`. Returns 0, or 1 after printing the failure. */
int ctl_call (ctl_ctx_t *ctx, const char *command, cJSON *args, void (*print) (const cJSON *res));

/*  A command that takes no option of its own and at most one positional
    argument: parses argv (ctl_parse_args; `wrong` is the message when the
    count is off), then ctl_call(`command`) with args {} (`key` NULL: no
    positional argument) or {key: the argument}. Returns the exit status. */
int ctl_call_simple (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv,
                     const char *wrong, const char *command, const char *key,
                     void (*print) (const cJSON *res));

/*  The string member `name` of `obj`, or "" when it is missing or not a
    string. Valid as long as obj. Cannot fail. */
const char *ctl_str (const cJSON *obj, const char *name);

/*  The number member `name` of `obj`, or 0 when it is missing or not a
    number. Cannot fail. */
double ctl_num (const cJSON *obj, const char *name);

/*  Record types for commands that check offline (policy check, schema
    check): every record type of a .proto / FileDescriptorSet file, or the
    versions in force in a data directory's store, put in force in this
    process (schemas/sl_schema.h). Return how many (>= 0) or an SL_E* code
    with `err` saying why. cmd_schema.c. */
int ctl_schemas_from_file (const char *path, char *err, size_t errlen);
int ctl_schemas_from_store (const char *dir, char *err, size_t errlen);

/*  The city's zone for zone-less times, found as every command finds it:
    `given` (an option such as --timezone; may be NULL), else
    SLUICE_TIMEZONE, else the broker's (DIR/timezone, which sluiced writes
    from its `timezone` setting; `dir` may be NULL), else UTC. Loads it and
    puts it in force (sl_time_set_city_zone). Returns 0 (also when none is
    named: UTC), or -1 with `err` when the named zone cannot be loaded
    (UTC stays in force). */
int ctl_city_zone (const char *given, const char *dir, char *err, size_t errlen);

/*  Prints `json` (borrowed) pretty to stdout. */
void ctl_print_json (const cJSON *json);

/*  Prints "sluicectl: GROUP: message" to stderr and returns `status`: a
    command's failure in one statement,
    `return ctl_fail (ctx, 2, "what was wrong", ...);`. Cannot fail. */
int ctl_fail (ctl_ctx_t *ctx, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Prints "sluicectl: GROUP: message" to stderr (ctl_fail without a status). */
#define ctl_error(ctx, ...) ((void) ctl_fail ((ctx), 0, __VA_ARGS__))

#endif

/*  sluicectl schema register|list|show|history|diff|check: the broker's
    record type registry (admin commands schema.*; docs/SCHEMAS.md).

    A .proto is compiled here with protoc into a FileDescriptorSet (with
    imports and source info, so the broker's errors name line and column);
    a compiled set (.binpb, .pb, .desc) is sent as is. `check` works
    offline: the same checks the broker makes on the record types of a file,
    and with --against the evolution rules against an older file. */
#include "ctl.h"
#include "sl_descset.h"
#include "sl_error.h"
#include "sl_json.h"
#include "sl_schema.h"
#include "sl_schema_evolve.h"
#include "sl_schema_store.h"
#include "sl_store.h"
#include "sluice/v1/registry.pb-c.h"
#include "sl_time.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lmdb.h>
#include <sodium.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------ loading */

static int
s_is_proto (const char *path)
{
    size_t n = strlen (path);
    return n > 6 && strcmp (path + n - 6, ".proto") == 0;
}

/*  Where sluice/v1/options.proto is: $SLUICE_PROTO_PATH, the source tree
    this sluicectl was built from, the installed copy. */
static const char *
s_proto_dir (void)
{
    static const char *const dirs[] = { SL_PROTO_SRC, SL_PROTO_INSTALLED };
    const char *e = getenv ("SLUICE_PROTO_PATH");
    if (e && *e)
        return e;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char p[PATH_MAX];
        snprintf (p, sizeof p, "%s/sluice/v1/options.proto", dirs[i]);
        if (access (p, R_OK) == 0)
            return dirs[i];
    }
    return SL_PROTO_INSTALLED;
}

/*  Compiles a .proto with protoc (imports and source info kept). protoc's
    own messages (FILE:LINE:COL) go to stderr as they are. */
static int
s_protoc (const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    char real[PATH_MAX], dir[PATH_MAX], tmpdir[] = "/tmp/sluicectl-XXXXXX", outp[PATH_MAX];
    if (!realpath (path, real)) {
        snprintf (err, errlen, "%s: %s", path, strerror (errno));
        return SL_EIO;
    }
    snprintf (dir, sizeof dir, "%s", real);
    *strrchr (dir, '/') = 0;
    if (!mkdtemp (tmpdir)) {
        snprintf (err, errlen, "cannot make a temporary directory: %s", strerror (errno));
        return SL_EIO;
    }
    snprintf (outp, sizeof outp, "%s/set.binpb", tmpdir);
    char i1[PATH_MAX + 3], i2[PATH_MAX + 3], i3[PATH_MAX + 3], o[PATH_MAX + 24];
    snprintf (i1, sizeof i1, "-I%s", *dir ? dir : "/");
    snprintf (i2, sizeof i2, "-I%s", s_proto_dir ());
    snprintf (i3, sizeof i3, "-I%s", SL_PROTOBUF_INCLUDE);
    snprintf (o, sizeof o, "--descriptor_set_out=%s", outp);
    char *argv[] = { "protoc", i1, i2, i3, "--include_imports", "--include_source_info", o,
                     real, NULL };
    pid_t pid;
    int st = -1, rc;
    if ((rc = posix_spawnp (&pid, "protoc", NULL, NULL, argv, environ)) != 0) {
        snprintf (err, errlen, "cannot run protoc: %s (install the Debian package "
                  "protobuf-compiler, or register a compiled .binpb)", strerror (rc));
        rmdir (tmpdir);
        return SL_EIO;
    }
    waitpid (pid, &st, 0);
    if (!WIFEXITED (st) || WEXITSTATUS (st) != 0) {
        snprintf (err, errlen, "%s does not compile (protoc's errors above)", path);
        unlink (outp);
        rmdir (tmpdir);
        return SL_EINVAL;
    }
    rc = sl_descset_read_file (outp, out, len, err, errlen);
    unlink (outp);
    rmdir (tmpdir);
    return rc;
}

/*  A FileDescriptorSet from a .proto (compiled) or a compiled set. */
static int
s_load_set (const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
    return s_is_proto (path) ? s_protoc (path, out, len, err, errlen)
                             : sl_descset_read_file (path, out, len, err, errlen);
}

int
ctl_schemas_from_file (const char *path, char *err, size_t errlen)
{
    uint8_t *set;
    size_t len;
    int rc = s_load_set (path, &set, &len, err, errlen);
    if (rc != 0)
        return rc;
    sl_descset_t *ds = sl_descset_parse (set, len, err, errlen);
    int n = 0;
    if (!ds) {
        free (set);
        return SL_EINVAL;
    }
    const char *names[256];
    size_t count = sl_descset_records (ds, names, 256);
    for (size_t i = 0; i < count && i < 256; i++) {
        sl_schema_t *e;
        char e2[600];
        if ((rc = sl_schema_build (set, len, names[i], 1, &e, e2, sizeof e2)) != 0) {
            snprintf (err, errlen, "%s", e2);
            break;
        }
        sl_schema_install (&e, NULL);
        sl_schema_free (&e);
        n++;
    }
    sl_descset_destroy (&ds);
    free (set);
    return rc != 0 ? rc : n;
}

int
ctl_schemas_from_store (const char *dir, char *err, size_t errlen)
{
    char path[PATH_MAX];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    snprintf (path, sizeof path, "%s/store", dir);
    int mrc = sl_store_env_open_rdonly (path, 0, &env, err, errlen);
    if (mrc != 0)
        return SL_ESTORE;
    if ((mrc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn)) != 0) {
        snprintf (err, errlen, "%s: %s", path, mdb_strerror (mrc));
        mdb_env_close (env);
        return SL_ESTORE;
    }
    /* the schema store reads its own databases (types that no longer build
       are left out, as the broker leaves them out) */
    int rc = 0;
    sl_schema_store_t *ss = sl_schema_store_open_rdonly (txn, &rc);
    int n = ss ? sl_schema_store_load (ss, txn, NULL, 0) : rc;
    if (n < 0)
        snprintf (err, errlen, "%s: %s", path, sl_strerror (n));
    sl_schema_store_destroy (&ss);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return n < 0 ? SL_ESTORE : n;
}

/* ----------------------------------------------------------- register */

typedef struct {
    const char *message;
    int dry_run, breaking;
    unsigned version;
    int json_schema;
    const char *against;
} s_opts_t;

static int
s_opt (int c, const char *arg, void *p)
{
    s_opts_t *o = p;
    if (c == 'm')
        o->message = arg;
    else if (c == 'n')
        o->dry_run = 1;
    else if (c == 'b')
        o->breaking = 1;
    else if (c == 'v')
        o->version = (unsigned) strtoul (arg, NULL, 10);
    else if (c == 'a')
        o->against = arg;
    else if (c == 'j')
        o->json_schema = 1;
    else
        return -1;
    return 0;
}

static void
s_print_register (const cJSON *res)
{
    const cJSON *t;
    int dry = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "dry_run"));
    cJSON_ArrayForEach (t, cJSON_GetObjectItemCaseSensitive (res, "types")) {
        if (cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (t, "unchanged")))
            printf ("%s: unchanged (version %g in force)\n", ctl_str (t, "record_type"),
                    ctl_num (t, "version"));
        else
            printf ("%s %s version %g%s\n", dry ? "would register" : "registered",
                    ctl_str (t, "record_type"), ctl_num (t, "version"),
                    ctl_num (t, "previous") ? "" : " (new type)");
        const char *ch = ctl_str (t, "changes");
        if (*ch)
            printf ("%s", ch);
    }
    if (dry)
        printf ("dry run: nothing was changed\n");
}

static int
s_register (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("message", 'm'), CTL_FLAG ("dry-run", 'n'), CTL_FLAG ("breaking", 'b'),
        { NULL, 0, NULL, 0 } };
    s_opts_t o = { 0 };
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_opt, &o, 1,
                                    "register needs FILE.proto or FILE.binpb", &first);
    if (rc >= 0)
        return rc;
    uint8_t *set;
    size_t len;
    char err[1024];
    if (s_load_set (argv[first], &set, &len, err, sizeof err) != 0)
        return ctl_fail (ctx, 1, "%s", err);
    cJSON *args = cJSON_CreateObject ();
    const char *base = strrchr (argv[first], '/');
    cJSON_AddStringToObject (args, "file", base ? base + 1 : argv[first]);
    if (o.message)
        cJSON_AddStringToObject (args, "message", o.message);
    cJSON_AddBoolToObject (args, "dry_run", o.dry_run);
    cJSON_AddBoolToObject (args, "breaking", o.breaking);
    cJSON *res = NULL;
    rc = ctl_admin_data (ctx, "schema.register", args, set, len, &res);
    cJSON_Delete (args);
    free (set);
    if (rc != 0)
        return rc;
    if (ctx->json)
        ctl_print_json (res);
    else
        s_print_register (res);
    cJSON_Delete (res);
    return 0;
}

/* ------------------------------------------------------- list / show */

static void
s_print_list (const cJSON *res)
{
    printf ("%-34s %-10s %-7s %-16s %s\n", "RECORD TYPE", "OWNER", "VERSION", "SUBJECT", "TIME FIELDS");
    const cJSON *t, *f;
    cJSON_ArrayForEach (t, cJSON_GetObjectItemCaseSensitive (res, "types")) {
        char times[200] = "";
        size_t at = 0;
        cJSON_ArrayForEach (f, cJSON_GetObjectItemCaseSensitive (t, "time_fields"))
            if (at < sizeof times)
                at += (size_t) snprintf (times + at, sizeof times - at, "%s%s", at ? "," : "",
                                         f->valuestring);
        const char *subj = ctl_str (t, "subject");
        printf ("%-34s %-10s %-7g %-16s %s\n", ctl_str (t, "record_type"), ctl_str (t, "owner"),
                ctl_num (t, "version"), *subj ? subj : "(aggregate)", times);
    }
    const char *skipped = ctl_str (res, "skipped");
    if (*skipped)
        printf ("\nstored but not in force (they did not build at start):\n%s", skipped);
}

static int
s_list (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    return ctl_call_simple (ctx, cmd, argc, argv, "list takes no arguments",
                            "schema.list", NULL, s_print_list);
}

static void
s_print_show (const cJSON *res)
{
    const char *subj = ctl_str (res, "subject");
    printf ("%s version %g (owner %s)%s\n", ctl_str (res, "record_type"), ctl_num (res, "version"),
            ctl_str (res, "owner"), cJSON_IsFalse (cJSON_GetObjectItemCaseSensitive (res, "in_force"))
            ? " — not the version in force" : "");
    printf ("  subject: %s\n", *subj ? subj : "(none: aggregate records)");
    if (*ctl_str (res, "actor"))
        printf ("  registered by %s (%s) from %s%s\n", ctl_str (res, "actor"), ctl_str (res, "role"),
                *ctl_str (res, "registered_file") ? ctl_str (res, "registered_file") : "?",
                cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "breaking"))
                ? " with --breaking" : "");
    printf ("  %-6s %-24s %-10s %-28s %s\n", "NUMBER", "FIELD", "LABEL", "TYPE", "SLUICE");
    const cJSON *f, *c, *t;
    cJSON_ArrayForEach (f, cJSON_GetObjectItemCaseSensitive (res, "fields")) {
        char opts[256] = "";
        size_t at = 0;
        const char *name = ctl_str (f, "name");
        if (strcmp (name, subj) == 0)
            at += (size_t) snprintf (opts + at, sizeof opts - at, "subject ");
        cJSON_ArrayForEach (t, cJSON_GetObjectItemCaseSensitive (res, "time_fields"))
            if (cJSON_IsString (t) && strcmp (t->valuestring, name) == 0 && at < sizeof opts)
                at += (size_t) snprintf (opts + at, sizeof opts - at, "time ");
        cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (f, "classes"))
            if (at < sizeof opts)
                at += (size_t) snprintf (opts + at, sizeof opts - at, "class:%s ", c->valuestring);
        printf ("  %-6g %-24s %-10s %-28s %s\n", ctl_num (f, "number"), name,
                ctl_str (f, "label"), ctl_str (f, "type"), opts);
    }
}

static int s_fetch (ctl_ctx_t *ctx, const char *type, unsigned version, sl_schema_t **out);

/*  Time fields of the one schema being shown (arg). */
static int
s_is_time (const ProtobufCMessageDescriptor *msg, const ProtobufCFieldDescriptor *field, void *arg)
{
    const sl_schema_t *s = arg;
    return msg == s->descriptor && sl_schema_is_time_field (s, field->name);
}

static int
s_show (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("version", 'v'), CTL_FLAG ("json-schema", 'j'), { NULL, 0, NULL, 0 } };
    s_opts_t o = { 0 };
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_opt, &o, 1,
                                    "show needs TYPE", &first);
    if (rc >= 0)
        return rc;
    if (o.json_schema) {
        /* the JSON Schema of the record's canonical JSON form (sl_json.h) */
        sl_schema_t *s = NULL;
        if (s_fetch (ctx, argv[first], o.version, &s) != 0)
            return 1;
        sl_json_options_t jo = { .is_time = s_is_time, .time_arg = s };
        char id[300];
        snprintf (id, sizeof id, "urn:sluice:schema:%s:%u", s->record_type, s->version);
        cJSON *js = sl_json_schema (s->descriptor, &jo, id);
        if (js)
            ctl_print_json (js);
        cJSON_Delete (js);
        sl_schema_free (&s);
        return js ? 0 : 1;
    }
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "record_type", argv[first]);
    cJSON_AddNumberToObject (args, "version", o.version);
    return ctl_call (ctx, "schema.get", args, s_print_show);
}

static void
s_print_history (const cJSON *res)
{
    printf ("%s\n%-8s %-20s %-14s %-21s %s\n", ctl_str (res, "record_type"), "VERSION", "TIME (UTC)",
            "ACTOR", "FILE", "BREAKING");
    const cJSON *v;
    cJSON_ArrayForEach (v, cJSON_GetObjectItemCaseSensitive (res, "versions")) {
        char when[32];
        sl_time_format ((int64_t) ctl_num (v, "time") * 1000000, NULL, when, sizeof when);
        printf ("%-8g %-20s %-14s %-21s %s\n", ctl_num (v, "version"), when, ctl_str (v, "actor"),
                ctl_str (v, "file"), cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (v, "breaking"))
                ? "yes" : "no");
    }
}

static int
s_history (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    return ctl_call_simple (ctx, cmd, argc, argv, "history needs TYPE",
                            "schema.history", "record_type", s_print_history);
}

/* ---------------------------------------------------------------- diff */

/*  Version `version` of `type` from the broker, built (caller frees). */
static int
s_fetch (ctl_ctx_t *ctx, const char *type, unsigned version, sl_schema_t **out)
{
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    cJSON_AddStringToObject (args, "record_type", type);
    cJSON_AddNumberToObject (args, "version", version);
    int rc = ctl_admin (ctx, "schema.get", args, &res);
    cJSON_Delete (args);
    if (rc != 0)
        return rc;
    const char *b64 = ctl_str (res, "descriptor_set");
    size_t cap = strlen (b64) / 4 * 3 + 3, len = 0;
    uint8_t *set = malloc (cap);
    char err[600];
    rc = 1;
    if (!set || !*b64 || sodium_base642bin (set, cap, b64, strlen (b64), NULL, &len, NULL,
                                            sodium_base64_VARIANT_ORIGINAL) != 0)
        ctl_error (ctx, "%s version %u: the broker sent no descriptor set", type, version);
    else if (sl_schema_build (set, len, type, (unsigned) ctl_num (res, "version"), out, err,
                              sizeof err) != 0)
        ctl_error (ctx, "%s version %u: %s", type, version, err);
    else
        rc = 0;
    free (set);
    cJSON_Delete (res);
    return rc;
}

static int
s_diff (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, NULL, NULL, NULL, 3,
                                    "diff needs TYPE A B (two version numbers)", &first);
    if (rc >= 0)
        return rc;
    const char *type = argv[first];
    unsigned a = (unsigned) strtoul (argv[first + 1], NULL, 10);
    unsigned b = (unsigned) strtoul (argv[first + 2], NULL, 10);
    if (!a || !b)
        return ctl_fail (ctx, 2, "diff: A and B are version numbers (1, 2, ...; see "
                         "schema history)");
    sl_schema_t *sa = NULL, *sb = NULL;
    char *report = NULL;
    if (s_fetch (ctx, type, a, &sa) != 0 || s_fetch (ctx, type, b, &sb) != 0) {
        sl_schema_free (&sa);
        return 1;
    }
    int n = sl_schema_evolve (sa, sb, &report);
    if (ctx->json) {
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddStringToObject (o, "record_type", type);
        cJSON_AddNumberToObject (o, "from", a);
        cJSON_AddNumberToObject (o, "to", b);
        cJSON_AddNumberToObject (o, "breaking", n);
        cJSON_AddStringToObject (o, "changes", report ? report : "");
        ctl_print_json (o);
        cJSON_Delete (o);
    }
    else
        printf ("%s version %u -> %u: %d breaking change%s\n%s", type, a, b, n, n == 1 ? "" : "s",
                report ? report : "");
    free (report);
    sl_schema_free (&sa);
    sl_schema_free (&sb);
    return n < 0 ? 1 : 0;
}

/* --------------------------------------------------------------- check */

static int
s_check (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("message", 'm'), CTL_ARG ("against", 'a'), { NULL, 0, NULL, 0 } };
    s_opts_t o = { 0 };
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_opt, &o, 1,
                                    "check needs FILE.proto or FILE.binpb", &first);
    if (rc >= 0)
        return rc;
    uint8_t *set = NULL, *old = NULL;
    size_t len = 0, old_len = 0;
    char err[1024];
    int status = 1, breaking = 0;
    sl_descset_t *ds = NULL;
    if (s_load_set (argv[first], &set, &len, err, sizeof err) != 0
        || (o.against && s_load_set (o.against, &old, &old_len, err, sizeof err) != 0)
        || !(ds = sl_descset_parse (set, len, err, sizeof err))) {
        ctl_error (ctx, "%s", err);
        goto out;
    }
    const char *names[64];
    size_t n = o.message ? 1 : sl_descset_records (ds, names, 64);
    if (o.message)
        names[0] = o.message;
    if (n == 0) {
        ctl_error (ctx, "%s: no record type: mark the message with option (sluice.v1.record) "
                   "(docs/SCHEMAS.md) or name it with --message", argv[first]);
        goto out;
    }
    int bad = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        sl_schema_t *s = NULL, *prev = NULL;
        if (sl_schema_build (set, len, names[i], 1, &s, err, sizeof err) != 0) {
            fprintf (stderr, "%s\n", err);
            bad++;
            continue;
        }
        printf ("%s: ok (owner %s, subject %s, %u fields)\n", names[i], s->owner,
                s->subject_field ? s->subject_field : "none: aggregate", s->descriptor->n_fields);
        if (old && sl_schema_build (old, old_len, names[i], 1, &prev, err, sizeof err) == 0) {
            char *report = NULL;
            int nb = sl_schema_evolve (prev, s, &report);
            printf ("  against %s: %d breaking change%s\n%s", o.against, nb, nb == 1 ? "" : "s",
                    report ? report : "");
            breaking += nb > 0 ? nb : 0;
            free (report);
        }
        else if (old)
            printf ("  against %s: a new type there\n", o.against);
        sl_schema_free (&prev);
        sl_schema_free (&s);
    }
    status = bad || breaking ? 1 : 0;
out:
    sl_descset_destroy (&ds);
    free (set);
    free (old);
    return status;
}

static const ctl_cmd_t s_cmds[] = {
    { "register", "FILE.proto|FILE.binpb [--message NAME] [--dry-run] [--breaking]",
      "register the record types a .proto declares (or a compiled FileDescriptorSet)",
      "  --message NAME   only this message (default: every message with option (sluice.v1.record))\n"
      "  --dry-run        check everything, change nothing\n"
      "  --breaking       allow a breaking change (removed, renumbered or retyped field, changed\n"
      "                   sluice options) when no policy in force uses what it changes\n"
      "The role admin:BUREAU registers types BUREAU.vN.*; admin:city any bureau's.\n"
      "A .proto is compiled with protoc; sluice/v1/options.proto is found in $SLUICE_PROTO_PATH\n"
      "or where sluice installed it.\n",
      1, s_register },
    { "list", "", "the record types in force", NULL, 1, s_list },
    { "show", "TYPE [--version N] [--json-schema]",
      "one record type: fields, subject, time fields, classes",
      "  --version N      a stored version (default: the one in force)\n"
      "  --json-schema    print the JSON Schema (2020-12) of its proto3 JSON form instead\n",
      1, s_show },
    { "history", "TYPE", "every registered version of a record type", NULL, 1, s_history },
    { "diff", "TYPE A B", "what changed from version A to version B, by evolution rule", NULL, 1,
      s_diff },
    { "check", "FILE.proto|FILE.binpb [--against OLD] [--message NAME]",
      "offline: the broker's checks on a file's record types, and with --against the evolution "
      "rules", "  --against OLD    an older .proto/.binpb of the same types: report breaking changes\n"
      "  --message NAME   only this message\n"
      "Exit status 1 when a type is refused or a breaking change is found.\n", 0, s_check },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_schema = { "schema", "record types: register, list, show, history, diff, check", s_cmds };

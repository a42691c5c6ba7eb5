/*  sluicectl policy check|apply|list|show|history|diff|rollback|explain:
    the owners' sharing policies (docs/POLICY.md; admin commands policy.*,
    PROTOCOL.md 6.3).

    `check` works offline: it parses and checks policy files against the
    schema registry compiled into sluicectl and, with --data DIR, against the
    members and the city's purposes stored in DIR/store (opened read-only,
    so it is safe while sluiced runs). Everything else asks the broker. */
#include "ctl.h"
#include "sl_error.h"
#include "sl_policy.h"

#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*  Reads a whole file into a malloc'ed, NUL-terminated buffer. */
static char *
s_slurp (const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen (path, "rb");
    if (!f) {
        snprintf (err, errlen, "cannot read %s: %s", path, strerror (errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc (cap);
    while (buf) {
        size_t got = fread (buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
        if (cap - n - 1 == 0) {
            char *p = realloc (buf, cap * 2);
            if (!p) {
                free (buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
    }
    int failed = ferror (f);
    fclose (f);
    if (!buf || failed) {
        snprintf (err, errlen, "cannot read %s: %s", path, buf ? "read error" : "out of memory");
        free (buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* ------------------------------------------------------------------------ */
/*  check (offline)                                                          */

/*  What the data directory contributes to the catalogue. */
typedef struct {
    int members;
    int purposes;
    uint32_t city_version;
} s_offline_t;

/*  Adds the purposes the city's current policy declares, read from the
    policy store's databases (layout: broker/sl_policy_store.h). */
static int
s_city_purposes (MDB_txn *txn, sl_policy_catalog_t *cat, s_offline_t *o, char *err,
                 size_t errlen)
{
    MDB_dbi cur, ver;
    if (mdb_dbi_open (txn, "policy.current", 0, &cur) != 0
        || mdb_dbi_open (txn, "policy.versions", 0, &ver) != 0)
        return 0;                         /* no policy was ever applied */
    MDB_val k = { 4, (void *) "city" }, v;
    if (mdb_get (txn, cur, &k, &v) != 0)
        return 0;
    if (v.mv_size != 4) {
        snprintf (err, errlen, "policy.current: bad value for 'city'");
        return SL_ECORRUPT;
    }
    const unsigned char *p = v.mv_data;
    o->city_version = (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
    unsigned char key[9];
    memcpy (key, "city", 4);
    key[4] = 0;
    memcpy (key + 5, p, 4);
    MDB_val vk = { sizeof key, key };
    if (mdb_get (txn, ver, &vk, &v) != 0) {
        snprintf (err, errlen, "policy.versions: city version %u is missing", o->city_version);
        return SL_ECORRUPT;
    }
    cJSON *j = cJSON_ParseWithLength (v.mv_data, v.mv_size);
    const char *text = ctl_str (j, "text");
    sl_policy_set_t *set = sl_policy_set_new ();
    int rc = 0;
    if (!j || !set)
        rc = !j ? SL_ECORRUPT : SL_ENOMEM;
    else if (sl_policy_set_parse (set, "city.policy", text, strlen (text), 0, NULL) == SL_ENOMEM)
        rc = SL_ENOMEM;
    char *summary = rc == 0 ? sl_policy_set_summary (set) : NULL;
    cJSON *s = summary ? cJSON_Parse (summary) : NULL;
    const cJSON *pu;
    cJSON_ArrayForEach (pu, cJSON_GetObjectItemCaseSensitive (s, "purposes"))
        if (sl_policy_catalog_add_purpose (cat, ctl_str (pu, "name"), ctl_str (pu, "description"))
            == 0)
            o->purposes++;
    if (rc == SL_ECORRUPT)
        snprintf (err, errlen, "policy.versions: city version %u is not JSON", o->city_version);
    cJSON_Delete (s);
    free (summary);
    sl_policy_set_destroy (&set);
    cJSON_Delete (j);
    return rc;
}

/*  Fills `cat` from DIR/store: the registry's members (not revoked) with
    their roles, and the city's declared purposes. Read-only. */
static int
s_offline_catalog (const char *dir, sl_policy_catalog_t *cat, s_offline_t *o, char *err,
                   size_t errlen)
{
    char path[4096];
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc;
    snprintf (path, sizeof path, "%s/store", dir);
    if ((rc = mdb_env_create (&env)) != 0)
        goto lmdb_fail;
    mdb_env_set_maxdbs (env, 64);
    if ((rc = mdb_env_open (env, path, MDB_RDONLY | MDB_NOTLS, 0600)) != 0)
        goto lmdb_fail;
    if ((rc = mdb_txn_begin (env, NULL, MDB_RDONLY, &txn)) != 0)
        goto lmdb_fail;
    MDB_dbi members;
    if ((rc = mdb_dbi_open (txn, "broker.members", 0, &members)) != 0)
        goto lmdb_fail;
    if ((rc = mdb_cursor_open (txn, members, &cur)) != 0)
        goto lmdb_fail;
    MDB_val k, v;
    for (rc = mdb_cursor_get (cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get (cur, &k, &v, MDB_NEXT)) {
        /* name -> role \0 public_key \0 revoked('0'|'1') */
        char name[64], role[64];
        const char *val = v.mv_data;
        if (k.mv_size >= sizeof name || v.mv_size < 3)
            continue;
        memcpy (name, k.mv_data, k.mv_size);
        name[k.mv_size] = 0;
        size_t rl = strnlen (val, v.mv_size);
        if (rl >= sizeof role || val[v.mv_size - 1] == '1')
            continue;
        memcpy (role, val, rl);
        role[rl] = 0;
        if (sl_policy_catalog_add_member (cat, name, role) == 0)
            o->members++;
    }
    if (rc != MDB_NOTFOUND)
        goto lmdb_fail;
    mdb_cursor_close (cur);
    cur = NULL;
    rc = s_city_purposes (txn, cat, o, err, errlen);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return rc;

lmdb_fail:
    snprintf (err, errlen, "%.700s: %s%s", path, mdb_strerror (rc),
              rc == ENOENT ? " (is this a broker data directory? `sluiced init --data DIR` makes one)" : "");
    if (cur)
        mdb_cursor_close (cur);
    if (txn)
        mdb_txn_abort (txn);
    if (env)
        mdb_env_close (env);
    return SL_ESTORE;
}

/*  Without a data directory every consumer the files name counts as a
    member: the registry is not known. Returns how many were added. */
static int
s_assume_members (const sl_policy_set_t *set, sl_policy_catalog_t *cat)
{
    char *summary = sl_policy_set_summary (set);
    cJSON *s = summary ? cJSON_Parse (summary) : NULL;
    int n = 0;
    const cJSON *r, *c;
    cJSON_ArrayForEach (r, cJSON_GetObjectItemCaseSensitive (s, "rules"))
        cJSON_ArrayForEach (c, cJSON_GetObjectItemCaseSensitive (r, "consumers"))
            if (cJSON_IsString (c) && strcmp (c->valuestring, "*") != 0
                && sl_policy_catalog_add_member (cat, c->valuestring, "member") == 0)
                n++;
    cJSON_Delete (s);
    free (summary);
    return n;
}

static int
s_set_purposes (const sl_policy_set_t *set)
{
    char *summary = sl_policy_set_summary (set);
    cJSON *s = summary ? cJSON_Parse (summary) : NULL;
    int n = cJSON_GetArraySize (cJSON_GetObjectItemCaseSensitive (s, "purposes"));
    cJSON_Delete (s);
    free (summary);
    return n;
}

typedef struct {
    const char *files[16];
    int n;
} s_schema_files_t;

static int
s_schemas_opt (int c, const char *arg, void *p)
{
    s_schema_files_t *o = p;
    if (c != 's' || o->n == 16)
        return -1;
    o->files[o->n++] = arg;
    return 0;
}

static int
s_check (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        { "schemas", required_argument, NULL, 's' }, { NULL, 0, NULL, 0 } };
    s_schema_files_t sf = { .n = 0 };
    int first, rc = ctl_parse (ctx, cmd, argc, argv, extra, s_schemas_opt, &sf, &first);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (argc == first) {
        ctl_error (ctx, "check needs at least one FILE (see sluicectl policy check --help)");
        return 2;
    }
    const char *data = ctx->data_dir;
    if (!data) {
        const char *e = getenv ("SLUICE_DATA");
        data = e && *e ? e : NULL;
    }
    char err[1024];
    int status = 1;
    sl_policy_set_t *set = sl_policy_set_new ();
    sl_policy_catalog_t *cat = sl_policy_catalog_new ();
    sl_policy_diags_t *diags = sl_policy_diags_new ();
    s_offline_t off = { 0, 0, 0 };
    if (!set || !cat || !diags) {
        ctl_error (ctx, "out of memory");
        goto out;
    }
    for (int i = first; i < argc; i++) {
        size_t len = 0;
        char *text = s_slurp (argv[i], &len, err, sizeof err);
        if (!text) {
            ctl_error (ctx, "%s", err);
            goto out;
        }
        rc = sl_policy_set_parse (set, argv[i], text, len, 0, diags);
        free (text);
        if (rc == SL_ENOMEM) {
            ctl_error (ctx, "out of memory");
            goto out;
        }
    }
    /* the record types the files are checked against: registered ones in
       DIR/store, and those of --schemas files */
    int n_types = 0;
    if (data && (n_types = ctl_schemas_from_store (data, err, sizeof err)) < 0) {
        ctl_error (ctx, "%s", err);
        goto out;
    }
    for (int i = 0; i < sf.n; i++) {
        int n = ctl_schemas_from_file (sf.files[i], err, sizeof err);
        if (n < 0) {
            ctl_error (ctx, "--schemas %s: %s", sf.files[i], err);
            goto out;
        }
        n_types += n;
    }
    int assumed = 0;
    if (data) {
        if (s_offline_catalog (data, cat, &off, err, sizeof err) != 0) {
            ctl_error (ctx, "%s", err);
            goto out;
        }
    }
    else
        assumed = s_assume_members (set, cat);
    if (sl_policy_set_check (set, cat, diags) == SL_ENOMEM) {
        ctl_error (ctx, "out of memory");
        goto out;
    }
    size_t nerr = sl_policy_diags_count (diags);
    int nfiles = argc - first;
    size_t nrules = sl_policy_set_rule_count (set);
    if (ctx->json) {
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddBoolToObject (o, "ok", nerr == 0);
        cJSON *files = cJSON_AddArrayToObject (o, "files");
        for (int i = first; i < argc; i++)
            cJSON_AddItemToArray (files, cJSON_CreateString (argv[i]));
        cJSON_AddNumberToObject (o, "rules", (double) nrules);
        cJSON_AddNumberToObject (o, "purposes", s_set_purposes (set));
        if (data) {
            cJSON_AddStringToObject (o, "data", data);
            cJSON_AddNumberToObject (o, "members", off.members);
            cJSON_AddNumberToObject (o, "city_purposes", off.purposes);
        }
        else
            cJSON_AddNullToObject (o, "data");
        cJSON *errors = cJSON_AddArrayToObject (o, "errors");
        for (size_t i = 0; i < nerr; i++) {
            const sl_policy_diag_t *d = sl_policy_diags_at (diags, i);
            cJSON *e = cJSON_CreateObject ();
            cJSON_AddStringToObject (e, "file", d->file);
            cJSON_AddNumberToObject (e, "line", d->line);
            cJSON_AddNumberToObject (e, "col", d->col);
            cJSON_AddStringToObject (e, "message", d->message);
            if (d->hint)
                cJSON_AddStringToObject (e, "hint", d->hint);
            cJSON_AddItemToArray (errors, e);
        }
        ctl_print_json (o);
        cJSON_Delete (o);
    }
    else if (nerr) {
        char *text = sl_policy_diags_render (diags);
        fputs (text ? text : "out of memory\n", stderr);
        free (text);
        ctl_error (ctx, "%zu error%s in %d file%s%s%s", nerr, nerr == 1 ? "" : "s", nfiles,
                   nfiles == 1 ? "" : "s",
                   data ? "" : " (checked without --data DIR: members were not known, and "
                               "purposes only from these files)",
                   n_types ? "" : " (no record type was known: give --data DIR or --schemas FILE)");
    }
    else {
        printf ("%d file%s ok: %zu rule%s, %d purpose%s declared\n", nfiles, nfiles == 1 ? "" : "s",
                nrules, nrules == 1 ? "" : "s", s_set_purposes (set),
                s_set_purposes (set) == 1 ? "" : "s");
        if (data)
            printf ("checked against %s: %d member%s, %d purpose%s of the city's policy (version %u)\n",
                    data, off.members, off.members == 1 ? "" : "s", off.purposes,
                    off.purposes == 1 ? "" : "s", off.city_version);
        else
            printf ("note: no --data DIR given: the %d consumer%s named were not checked against a "
                    "member registry, and only purposes declared in these files are known\n",
                    assumed, assumed == 1 ? "" : "s");
    }
    status = nerr ? 1 : 0;
out:
    sl_policy_diags_destroy (&diags);
    sl_policy_catalog_destroy (&cat);
    sl_policy_set_destroy (&set);
    return status;
}

/* ------------------------------------------------------------------------ */
/*  Broker commands                                                          */

/*  Prints each line of `text` indented by two spaces. */
static void
s_print_indented (const char *text)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr (p, '\n');
        size_t n = nl ? (size_t) (nl - p) : strlen (p);
        printf ("  %.*s\n", (int) n, p);
        p += n + (nl ? 1 : 0);
    }
}

/*  Prints a change list (dry run, diff): the text form, or "none". */
static void
s_print_changes (const cJSON *res, const char *title)
{
    const char *t = ctl_str (res, "access_text");
    printf ("%s:%s", title, *t ? "\n" : " none\n");
    s_print_indented (t);
}

static void
s_print_subs (const cJSON *res)
{
    const cJSON *subs = cJSON_GetObjectItemCaseSensitive (res, "subscriptions");
    if (!subs)
        return;
    printf ("live subscriptions affected:%s\n", cJSON_GetArraySize (subs) ? "" : " none");
    const cJSON *s;
    cJSON_ArrayForEach (s, subs) {
        const char *before = ctl_str (s, "before"), *after = ctl_str (s, "after");
        const char *what = strcmp (after, "none") == 0 ? "would lose access"
                         : strcmp (before, "none") == 0 ? "would gain access"
                         : "copy would change";
        printf ("  %s %s %s: %s (%s -> %s)", ctl_str (s, "consumer"), ctl_str (s, "record_type"),
                ctl_str (s, "purpose"), what, before, after);
        const cJSON *f;
        int any = 0;
        cJSON_ArrayForEach (f, cJSON_GetObjectItemCaseSensitive (s, "fields_added"))
            printf ("%s+%s", any++ ? " " : "; fields ", f->valuestring);
        cJSON_ArrayForEach (f, cJSON_GetObjectItemCaseSensitive (s, "fields_removed"))
            printf ("%s-%s", any++ ? " " : "; fields ", f->valuestring);
        printf ("\n");
    }
}

/* apply */

typedef struct {
    const char *owner;
    int dry_run;
} s_apply_t;

static int
s_apply_opt (int c, const char *arg, void *p)
{
    s_apply_t *o = p;
    if (c == 'o')
        o->owner = arg;
    else if (c == 'n')
        o->dry_run = 1;
    else
        return -1;
    return 0;
}

static void
s_print_apply (const cJSON *res)
{
    const cJSON *dry = cJSON_GetObjectItemCaseSensitive (res, "dry_run");
    if (cJSON_IsTrue (dry)) {
        printf ("dry run: %s policy would become version %g (now %g); nothing was applied\n",
                ctl_str (res, "owner"), ctl_num (res, "version"), ctl_num (res, "previous"));
        s_print_changes (res, "access changes");
        s_print_subs (res);
        return;
    }
    printf ("applied %s policy version %g (%g rule%s)%s%s\n", ctl_str (res, "owner"),
            ctl_num (res, "version"), ctl_num (res, "rules"),
            ctl_num (res, "rules") == 1 ? "" : "s",
            *ctl_str (res, "changes") ? ": " : "", ctl_str (res, "changes"));
}

static int
s_apply (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        { "owner", required_argument, NULL, 'o' }, { "dry-run", no_argument, NULL, 'n' },
        { NULL, 0, NULL, 0 } };
    s_apply_t o = { NULL, 0 };
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_apply_opt, &o, 1,
                                    "apply needs one FILE (see sluicectl policy apply --help)",
                                    &first);
    if (rc >= 0)
        return rc;
    char err[1024];
    size_t len;
    char *text = s_slurp (argv[first], &len, err, sizeof err);
    if (!text) {
        ctl_error (ctx, "%s", err);
        return 1;
    }
    const char *base = strrchr (argv[first], '/');
    cJSON *args = cJSON_CreateObject ();
    if (o.owner)
        cJSON_AddStringToObject (args, "owner", o.owner);
    cJSON_AddStringToObject (args, "file", base ? base + 1 : argv[first]);
    cJSON_AddStringToObject (args, "text", text);
    cJSON_AddBoolToObject (args, "dry_run", o.dry_run);
    free (text);
    return ctl_call (ctx, "policy.apply", args, s_print_apply);
}

/* list */

static void
s_print_list (const cJSON *res)
{
    printf ("%-10s %-8s %-6s %-16s %-14s %s\n", "OWNER", "VERSION", "RULES", "APPLIED BY", "ROLE",
            "WHEN (UTC)");
    const cJSON *o;
    cJSON_ArrayForEach (o, res)
        printf ("%-10s %-8g %-6g %-16s %-14s %s\n", ctl_str (o, "owner"), ctl_num (o, "version"),
                ctl_num (o, "rules"), ctl_str (o, "actor"), ctl_str (o, "role"),
                ctl_str (o, "time_utc"));
    if (cJSON_GetArraySize (res) == 0)
        printf ("(no policy applied yet: everything is denied)\n");
}

static int
s_list (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, NULL, NULL, NULL, 0,
                                    "list takes no arguments", &first);
    if (rc >= 0)
        return rc;
    return ctl_call (ctx, "policy.list", cJSON_CreateObject (), s_print_list);
}

/* show */

static void
s_print_show (const cJSON *res)
{
    printf ("# %s policy, version %g%s: %s, applied by %s (%s) at %s\n", ctl_str (res, "owner"),
            ctl_num (res, "version"),
            cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "current")) ? " (current)" : "",
            ctl_str (res, "file"), ctl_str (res, "actor"), ctl_str (res, "role"),
            ctl_str (res, "time_utc"));
    const cJSON *summary = cJSON_GetObjectItemCaseSensitive (res, "summary"), *r;
    printf ("# %g rule%s:", ctl_num (res, "rules"), ctl_num (res, "rules") == 1 ? "" : "s");
    cJSON_ArrayForEach (r, cJSON_GetObjectItemCaseSensitive (summary, "rules"))
        printf (" %s %s@%g;", ctl_str (r, "kind"), ctl_str (r, "id"), ctl_num (r, "version"));
    printf ("\n");
    const char *text = ctl_str (res, "text");
    fputs (text, stdout);
    if (*text && text[strlen (text) - 1] != '\n')
        putchar ('\n');
}

typedef struct {
    const char *version;
} s_show_t;

static int
s_show_opt (int c, const char *arg, void *p)
{
    if (c != 'v')
        return -1;
    ((s_show_t *) p)->version = arg;
    return 0;
}

/*  A version number argument: digits only. */
static int
s_add_version (ctl_ctx_t *ctx, cJSON *args, const char *name, const char *value)
{
    char *end;
    unsigned long v = strtoul (value, &end, 10);
    if (!*value || *end || value[0] == '-' || v > 0xffffffffUL) {
        ctl_error (ctx, "%s must be a version number (1, 2, ...), not '%s'", name, value);
        return -1;
    }
    cJSON_AddNumberToObject (args, name, (double) v);
    return 0;
}

static int
s_show (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        { "version", required_argument, NULL, 'v' }, { NULL, 0, NULL, 0 } };
    s_show_t o = { NULL };
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_show_opt, &o, 1,
                                    "show needs one OWNER (a bureau, or city)", &first);
    if (rc >= 0)
        return rc;
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "owner", argv[first]);
    if (o.version && s_add_version (ctx, args, "version", o.version) != 0) {
        cJSON_Delete (args);
        return 2;
    }
    return ctl_call (ctx, "policy.show", args, s_print_show);
}

/* history */

static void
s_print_history (const cJSON *res)
{
    printf ("%s policy history (current version %g)\n", ctl_str (res, "owner"),
            ctl_num (res, "current"));
    printf ("%-8s %-21s %-16s %-14s %-6s %s\n", "VERSION", "WHEN (UTC)", "APPLIED BY", "ROLE",
            "RULES", "CHANGES");
    const cJSON *v;
    cJSON_ArrayForEach (v, cJSON_GetObjectItemCaseSensitive (res, "versions"))
        printf ("%-8g %-21s %-16s %-14s %-6g %s\n", ctl_num (v, "version"), ctl_str (v, "time_utc"),
                ctl_str (v, "actor"), ctl_str (v, "role"), ctl_num (v, "rules"),
                *ctl_str (v, "changes") ? ctl_str (v, "changes") : "(rules unchanged)");
}

static int
s_history (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, NULL, NULL, NULL, 1,
                                    "history needs one OWNER (a bureau, or city)", &first);
    if (rc >= 0)
        return rc;
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "owner", argv[first]);
    return ctl_call (ctx, "policy.history", args, s_print_history);
}

/* diff */

static void
s_print_diff (const cJSON *res)
{
    printf ("%s policy, version %g -> %g\n", ctl_str (res, "owner"), ctl_num (res, "v1"),
            ctl_num (res, "v2"));
    const char *rules = ctl_str (res, "rule_changes_text");
    printf ("rules:%s", *rules ? "\n" : " no rule changed\n");
    s_print_indented (rules);
    s_print_changes (res, "access changes (+ gained, - lost, ~ changed)");
}

static int
s_at_opt (int c, const char *arg, void *p)
{
    if (c != 't')
        return -1;
    *(const char **) p = arg;
    return 0;
}

static int
s_diff (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        { "at", required_argument, NULL, 't' }, { NULL, 0, NULL, 0 } };
    const char *at = NULL;
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_at_opt, &at, 3,
                                    "diff needs OWNER V1 V2 (see sluicectl policy diff --help)",
                                    &first);
    if (rc >= 0)
        return rc;
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "owner", argv[first]);
    if (s_add_version (ctx, args, "v1", argv[first + 1]) != 0
        || s_add_version (ctx, args, "v2", argv[first + 2]) != 0) {
        cJSON_Delete (args);
        return 2;
    }
    if (at)
        cJSON_AddStringToObject (args, "at", at);
    return ctl_call (ctx, "policy.diff", args, s_print_diff);
}

/* rollback */

static void
s_print_rollback (const cJSON *res)
{
    printf ("%s policy rolled back: version %g now in force, with the text of version %g "
            "(was version %g)%s%s\n", ctl_str (res, "owner"), ctl_num (res, "version"),
            ctl_num (res, "rollback_to"), ctl_num (res, "previous"),
            *ctl_str (res, "changes") ? "; rules " : "", ctl_str (res, "changes"));
}

static int
s_rollback (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, NULL, NULL, NULL, 2,
                                    "rollback needs OWNER VERSION "
                                    "(see sluicectl policy rollback --help)", &first);
    if (rc >= 0)
        return rc;
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "owner", argv[first]);
    if (s_add_version (ctx, args, "version", argv[first + 1]) != 0) {
        cJSON_Delete (args);
        return 2;
    }
    return ctl_call (ctx, "policy.rollback", args, s_print_rollback);
}

/* explain */

typedef struct {
    const char *consumer, *record, *purpose, *subject, *at, *owner;
} s_explain_t;

static int
s_explain_opt (int c, const char *arg, void *p)
{
    s_explain_t *o = p;
    switch (c) {
    case 'c': o->consumer = arg; break;
    case 'r': o->record = arg; break;
    case 'p': o->purpose = arg; break;
    case 's': o->subject = arg; break;
    case 't': o->at = arg; break;
    case 'o': o->owner = arg; break;
    default: return -1;
    }
    return 0;
}

static void
s_print_explain (const cJSON *res)
{
    fputs (ctl_str (res, "text"), stdout);
}

static int
s_explain (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        { "consumer", required_argument, NULL, 'c' }, { "record", required_argument, NULL, 'r' },
        { "purpose", required_argument, NULL, 'p' }, { "subject", required_argument, NULL, 's' },
        { "at", required_argument, NULL, 't' }, { "owner", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 } };
    s_explain_t o = { 0 };
    int first, rc = ctl_parse (ctx, cmd, argc, argv, extra, s_explain_opt, &o, &first);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    if (argc != first || !o.consumer || !o.record || !o.purpose) {
        ctl_error (ctx, "explain needs --consumer C --record TYPE --purpose P "
                   "(see sluicectl policy explain --help)");
        return 2;
    }
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "consumer", o.consumer);
    cJSON_AddStringToObject (args, "record_type", o.record);
    cJSON_AddStringToObject (args, "purpose", o.purpose);
    if (o.owner)
        cJSON_AddStringToObject (args, "owner", o.owner);
    if (o.subject)
        cJSON_AddStringToObject (args, "subject", o.subject);
    if (o.at)
        cJSON_AddStringToObject (args, "at", o.at);
    return ctl_call (ctx, "policy.explain", args, s_print_explain);
}

static const ctl_cmd_t s_cmds[] = {
    { "check", "FILE... [--data DIR] [--schemas FILE]...", "check policy files offline (syntax, schemas, members, purposes)",
      "Parses and checks the files together, as one set, without a broker. Errors\n"
      "are printed as FILE:LINE:COL: error: MESSAGE (and a note with a hint);\n"
      "the exit status is 1 when there is any.\n\n"
      "options:\n"
      "  --data DIR          also check consumers against the members in DIR/store\n"
      "                      and know the purposes of the city's applied policy\n"
      "                      (read-only; safe while sluiced runs). Without it,\n"
      "                      consumers are not checked and only purposes declared\n"
      "                      in the files are known. SLUICE_DATA counts as --data.\n"
      "                      The record types registered in DIR/store are known.\n"
      "  --schemas FILE      also know the record types of FILE (.proto compiled\n"
      "                      with protoc, or a FileDescriptorSet); repeatable\n"
      "  --json              print {ok, files, rules, errors: [{file,line,col,message,hint}]}\n",
      0, s_check },
    { "apply", "FILE [--owner OWNER] [--dry-run]", "apply a policy file as the owner's new version",
      "options:\n"
      "  --owner OWNER       whose policy this is: a bureau, or city (default: the\n"
      "                      bureau of your admin role)\n"
      "  --dry-run           apply nothing; show which access and which live\n"
      "                      subscriptions would gain or lose access, and which\n"
      "                      fields would change\n",
      1, s_apply },
    { "list", "", "list the owners, their current version, who applied it and when", NULL, 1, s_list },
    { "show", "OWNER [--version N]", "print an owner's policy text (current, or version N)",
      "options:\n"
      "  --version N         a stored version (default: the current one)\n", 1, s_show },
    { "history", "OWNER", "list every version of an owner's policy: who, when, what changed",
      NULL, 1, s_history },
    { "diff", "OWNER V1 V2 [--at TIME]", "compare two versions: rules, and who gains or loses access to what",
      "Version 0 stands for \"no policy\". Access is computed as the broker would\n"
      "decide with the other owners' current policies.\n\n"
      "options:\n"
      "  --at TIME           compare access at TIME: Unix seconds or\n"
      "                      YYYY-MM-DD[THH:MM[:SS]] (UTC; default now)\n", 1, s_diff },
    { "rollback", "OWNER VERSION", "apply an old version's text again, as a new version",
      "History is kept: the rollback is a new version whose text is VERSION's.\n"
      "Same checks and roles as apply (admin:OWNER).\n", 1, s_rollback },
    { "explain", "--consumer C --record TYPE --purpose P [--subject ID] [--at TIME]",
      "why a consumer may or may not receive a record type for a purpose",
      "options:\n"
      "  --consumer C        the receiving member\n"
      "  --record TYPE       a record type, e.g. water.v1.MeterReading\n"
      "  --purpose P         the purpose asked for\n"
      "  --subject ID        a citizen id: consent is looked up for it (without it,\n"
      "                      rules that need consent count as not consented)\n"
      "  --at TIME           decide at TIME: Unix seconds or YYYY-MM-DD[THH:MM[:SS]]\n"
      "                      (UTC; default now)\n"
      "  --owner O           the owner (default: the record type's owner)\n", 1, s_explain },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_policy = { "policy", "check, apply, inspect and explain sharing policies",
                                       s_cmds };

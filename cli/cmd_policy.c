/*  sluicectl policy check|apply|list|show|history|diff|rollback|explain:
    the owners' sharing policies (docs/POLICY.md; admin commands policy.*,
    PROTOCOL.md 6.3).

    `check` works offline: it parses and checks policy files against the
    schema registry compiled into sluicectl and, with --data DIR, against the
    members and the city's purposes stored in DIR/store (opened read-only,
    so it is safe while sluiced runs). Everything else asks the broker. */
#include "ctl.h"
#include "sl_error.h"
#include "sl_policy_store.h"
#include "sl_registry.h"
#include "sl_store.h"
#include "sl_subs.h"
#include "sl_policy.h"
#include "sl_policy_lint.h"
#include "sl_time.h"
#include "sl_role.h"

#include <errno.h>
#include <lmdb.h>
#include <stdbool.h>
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

/*  Adds the purposes the city's current policy declares (the policy
    store reads them: sl_policy_store.h). */
static int
s_city_purposes (sl_policy_store_t *ps, MDB_txn *txn, sl_policy_catalog_t *cat,
                 s_offline_t *o, char *err, size_t errlen)
{
    sl_policy_version_t *v = NULL;
    int rc = sl_policy_store_current (ps, txn, SL_POLICY_CITY, &o->city_version);
    if (rc == 0 && o->city_version == 0)
        return 0;                         /* the city never applied a policy */
    if (rc == 0)
        rc = sl_policy_store_get (ps, txn, SL_POLICY_CITY, o->city_version, &v);
    if (rc != 0) {
        snprintf (err, errlen, "policy store: city version %u: %s", o->city_version,
                  sl_strerror (rc));
        return rc == SL_ENOTFOUND ? SL_ECORRUPT : rc;
    }
    sl_policy_set_t *set = sl_policy_set_new ();
    if (!set)
        rc = SL_ENOMEM;
    else if (sl_policy_set_parse (set, "city.policy", v->text, strlen (v->text), 0, NULL)
             == SL_ENOMEM)
        rc = SL_ENOMEM;
    char *summary = rc == 0 ? sl_policy_set_summary (set) : NULL;
    cJSON *s = summary ? cJSON_Parse (summary) : NULL;
    const cJSON *pu;
    cJSON_ArrayForEach (pu, cJSON_GetObjectItemCaseSensitive (s, "purposes"))
        if (sl_policy_catalog_add_purpose (cat, ctl_str (pu, "name"), ctl_str (pu, "description"))
            == 0)
            o->purposes++;
    cJSON_Delete (s);
    free (summary);
    sl_policy_set_destroy (&set);
    sl_policy_version_destroy (&v);
    return rc;
}

/*  What --data adds beyond the catalogue: the live subscriptions (for the
    lints) and the current text of every owner's applied policy (so that a
    file is checked together with the others, as apply does). */
typedef struct {
    sl_policy_lint_sub_t *subs;
    size_t n_subs;
    char **owners, **texts;
    uint32_t *versions;
    size_t n_policies;
} s_stored_t;

static void
s_stored_free (s_stored_t *st)
{
    for (size_t i = 0; i < st->n_subs; i++) {
        free ((char *) st->subs[i].consumer);
        free ((char *) st->subs[i].record_type);
        free ((char *) st->subs[i].purpose);
    }
    for (size_t i = 0; i < st->n_policies; i++) {
        free (st->owners[i]);
        free (st->texts[i]);
    }
    free (st->subs);
    free (st->owners);
    free (st->texts);
    free (st->versions);
    memset (st, 0, sizeof *st);
}

/*  The live subscriptions (sl_subs reads broker.subs). */
static int
s_read_subs (sl_store_t *store, s_stored_t *st)
{
    sl_subs_t *subs = sl_subs_new (store);
    if (!subs)
        return SL_ESTORE;
    int rc = 0;
    size_t n = sl_subs_count (subs);
    if (n && !(st->subs = calloc (n, sizeof *st->subs)))
        rc = SL_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const sl_sub_t *s = sl_subs_at (subs, i);
        sl_policy_lint_sub_t *d = &st->subs[st->n_subs++];
        d->consumer = strdup (s->consumer);
        d->record_type = strdup (s->record_type);
        d->purpose = strdup (s->purpose);
        if (!d->consumer || !d->record_type || !d->purpose)
            rc = SL_ENOMEM;
    }
    sl_subs_destroy (&subs);
    return rc;
}

/*  Every owner's text in force, as the policy store reads it. */
typedef struct {
    sl_policy_store_t *ps;
    MDB_txn *txn;
    s_stored_t *st;
} s_read_t;

static int
s_read_owner (void *arg, const char *owner, uint32_t current)
{
    s_read_t *r = arg;
    s_stored_t *st = r->st;
    sl_policy_version_t *v = NULL;
    int rc = sl_policy_store_get (r->ps, r->txn, owner, current, &v);
    if (rc == SL_ENOTFOUND || rc == SL_ECORRUPT)
        return 0;                       /* skipped, as the broker's load reports it */
    if (rc != 0)
        return rc;
    size_t n = st->n_policies;
    char **o = realloc (st->owners, (n + 1) * sizeof *o);
    if (o)
        st->owners = o;
    char **t = realloc (st->texts, (n + 1) * sizeof *t);
    if (t)
        st->texts = t;
    uint32_t *ve = realloc (st->versions, (n + 1) * sizeof *ve);
    if (ve)
        st->versions = ve;
    if (!o || !t || !ve) {
        sl_policy_version_destroy (&v);
        return SL_ENOMEM;
    }
    st->owners[n] = strdup (owner);
    st->texts[n] = v->text;
    v->text = NULL;
    st->versions[n] = current;
    st->n_policies++;
    sl_policy_version_destroy (&v);
    return st->owners[n] ? 0 : SL_ENOMEM;
}

/*  Fills `cat` from DIR/store, read-only through the modules that own each
    stored format: the registry's members with their roles (revoked ones
    too, as the broker's own catalogue has them: a policy may keep naming a
    revoked member), the city's declared purposes, the live subscriptions
    and every owner's applied text. */
static int
s_offline_catalog (const char *dir, sl_policy_catalog_t *cat, s_offline_t *o, s_stored_t *st,
                   char *err, size_t errlen)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/store", dir);
    *err = 0;
    sl_store_t *store = sl_store_open_rdonly (path, 0, err, errlen);
    if (!store)
        return SL_ESTORE;
    MDB_txn *txn = NULL;
    sl_policy_store_t *ps = NULL;
    sl_registry_t *reg = sl_registry_new (store);
    int rc = reg ? sl_store_read (store, &txn) : SL_ESTORE;
    if (rc == 0 && !(ps = sl_policy_store_open_rdonly (txn, reg, &rc)))
        rc = rc ? rc : SL_ENOMEM;
    if (rc != 0)
        snprintf (err, errlen, "%.700s: cannot read the store: %s", path, sl_strerror (rc));
    for (size_t i = 0; rc == 0 && i < sl_registry_count (reg); i++) {
        const sl_member_t *m = sl_registry_at (reg, i);
        if (sl_policy_catalog_add_member (cat, m->name, m->role) == 0)
            o->members++;
    }
    if (rc == 0)
        rc = s_city_purposes (ps, txn, cat, o, err, errlen);
    if (rc == 0)
        rc = s_read_subs (store, st);
    s_read_t r = { ps, txn, st };
    if (rc == 0)
        rc = sl_policy_store_each_owner (ps, txn, s_read_owner, &r);
    if (rc != 0 && !*err)
        snprintf (err, errlen, "%.700s: %s", path, sl_strerror (rc));
    sl_policy_store_destroy (&ps);
    if (txn)
        mdb_txn_abort (txn);
    sl_registry_destroy (&reg);
    sl_store_destroy (&store);
    return rc;
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
                && sl_policy_catalog_add_member (cat, c->valuestring, SL_ROLE_MEMBER) == 0)
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

static cJSON *
s_diags_json (const sl_policy_diags_t *d)
{
    cJSON *a = cJSON_CreateArray ();
    for (size_t i = 0; a && i < sl_policy_diags_count (d); i++) {
        const sl_policy_diag_t *x = sl_policy_diags_at (d, i);
        cJSON *e = cJSON_CreateObject ();
        cJSON_AddStringToObject (e, "file", x->file);
        cJSON_AddNumberToObject (e, "line", x->line);
        cJSON_AddNumberToObject (e, "col", x->col);
        cJSON_AddStringToObject (e, "message", x->message);
        if (x->hint)
            cJSON_AddStringToObject (e, "hint", x->hint);
        cJSON_AddItemToArray (a, e);
    }
    return a;
}

/*  The owner under which a file would be applied: its base name when that
    is an owner with a stored policy ("water.policy"), else the owner of its
    first permit, else the city (purposes and forbids are the city's). */
static const char *
s_file_owner (const char *path, const char *text, size_t len, const s_stored_t *st,
              char *buf, size_t cap)
{
    const char *base = strrchr (path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn (base, ".");
    for (size_t i = 0; i < st->n_policies; i++)
        if (strlen (st->owners[i]) == n && strncmp (st->owners[i], base, n) == 0) {
            snprintf (buf, cap, "%s", st->owners[i]);
            return buf;
        }
    sl_policy_set_t *one = sl_policy_set_new ();
    snprintf (buf, cap, "city");
    if (one && sl_policy_set_parse (one, path, text, len, 0, NULL) != SL_ENOMEM)
        for (size_t i = 0; i < sl_policy_set_rule_count (one); i++) {
            const sl_policy_rule_t *r = sl_policy_set_rule_at (one, i);
            if (sl_policy_rule_kind (r) == SL_POLICY_PERMIT && sl_policy_rule_owner (r)) {
                snprintf (buf, cap, "%s", sl_policy_rule_owner (r));
                break;
            }
        }
    sl_policy_set_destroy (&one);
    return buf;
}

typedef struct {
    int strict;
    int against;
    const char *timezone;
    const char *schemas[16];     /* --schemas FILE: record types to know */
    int n_schemas;
} s_check_t;

static int
s_check_opt (int c, const char *arg, void *p)
{
    s_check_t *o = p;
    if (c == 'S')
        o->strict = 1;
    else if (c == 'A')
        o->against = 1;
    else if (c == 'z')
        o->timezone = arg;
    else if (c == 's' && o->n_schemas < 16)
        o->schemas[o->n_schemas++] = arg;
    else
        return -1;
    return 0;
}

/*  check --against: each file as the broker would take it from the caller
    (policy.apply with dry_run): the broker's registry, the other owners'
    policies in force, its subscriptions, its time zone and the caller's
    role — everything apply would refuse. Nothing is applied. Returns 0, 1
    (a file refused, or the broker unreachable) or 2 (a file unreadable). */
static int
s_check_against (ctl_ctx_t *ctx, int nfiles, char **files, int strict)
{
    int status = 0;
    s_stored_t none = { 0 };
    for (int i = 0; i < nfiles; i++) {
        char err[1024], owner[64];
        size_t len;
        char *text = s_slurp (files[i], &len, err, sizeof err);
        if (!text)
            return ctl_fail (ctx, 2, "%s", err);
        const char *base = strrchr (files[i], '/');
        cJSON *args = cJSON_CreateObject ();
        cJSON_AddStringToObject (args, "owner", s_file_owner (files[i], text, len, &none, owner,
                                                             sizeof owner));
        cJSON_AddStringToObject (args, "file", base ? base + 1 : files[i]);
        cJSON_AddStringToObject (args, "text", text);
        cJSON_AddBoolToObject (args, "dry_run", 1);
        if (strict)
            cJSON_AddBoolToObject (args, "strict", 1);
        free (text);
        cJSON *res = NULL;
        if (ctl_admin (ctx, "policy.apply", args, &res) != 0)
            status = 1;
        else {
            fputs (ctl_str (res, "warnings_text"), stderr);
            int nw = cJSON_GetArraySize (cJSON_GetObjectItemCaseSensitive (res, "warnings"));
            printf ("%s ok against the broker: %s policy would become version %g; %d warning%s\n",
                    files[i], ctl_str (res, "owner"), ctl_num (res, "version"), nw,
                    nw == 1 ? "" : "s");
        }
        cJSON_Delete (res);
        cJSON_Delete (args);
    }
    return status;
}

static int
s_check (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_FLAG ("strict", 'S'), CTL_ARG ("timezone", 'z'), CTL_FLAG ("against", 'A'),
        CTL_ARG ("schemas", 's'), { NULL, 0, NULL, 0 } };
    s_check_t copt = { 0, 0, NULL, { NULL }, 0 };
    int first, rc = ctl_parse (ctx, cmd, argc, argv, extra, s_check_opt, &copt, &first);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    int strict = copt.strict;
    if (argc == first)
        return ctl_fail (ctx, 2, "check needs at least one FILE (see sluicectl policy "
                         "check --help)");
    if (copt.against)
        return s_check_against (ctx, argc - first, argv + first, copt.strict);
    const char *data = ctx->data_dir;
    if (!data) {
        const char *e = getenv ("SLUICE_DATA");
        data = e && *e ? e : NULL;
    }
    char err[1024];
    int status = 2;
    int nfiles = argc - first;
    if (ctl_city_zone (copt.timezone, data, err, sizeof err) != 0)
        return ctl_fail (ctx, 2, "%s", err);
    sl_policy_set_t *set = sl_policy_set_new ();
    sl_policy_catalog_t *cat = sl_policy_catalog_new ();
    sl_policy_diags_t *diags = sl_policy_diags_new ();
    sl_policy_diags_t *warns = sl_policy_diags_new ();
    char **texts = calloc ((size_t) nfiles, sizeof *texts);
    size_t *lens = calloc ((size_t) nfiles, sizeof *lens);
    char (*fowners)[64] = calloc ((size_t) nfiles, sizeof *fowners);
    s_offline_t off = { 0, 0, 0 };
    s_stored_t st = { 0 };
    size_t stored_used = 0;
    if (!set || !cat || !diags || !warns || !texts || !lens || !fowners) {
        ctl_error (ctx, "out of memory");
        goto out;
    }
    for (int i = 0; i < nfiles; i++) {
        texts[i] = s_slurp (argv[first + i], &lens[i], err, sizeof err);
        if (!texts[i]) {
            ctl_error (ctx, "%s", err);
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
    for (int i = 0; i < copt.n_schemas; i++) {
        int n = ctl_schemas_from_file (copt.schemas[i], err, sizeof err);
        if (n < 0) {
            ctl_error (ctx, "--schemas %s: %s", copt.schemas[i], err);
            goto out;
        }
        n_types += n;
    }
    int assumed = 0;
    if (data && s_offline_catalog (data, cat, &off, &st, err, sizeof err) != 0) {
        ctl_error (ctx, "%s", err);
        goto out;
    }
    /* with --data, the other owners' policies in force join the set first
     * (city, then bureaus by name, as the broker parses them), so that what
     * apply would refuse against them (a duplicate rule id) shows here */
    for (int i = 0; i < nfiles; i++)
        s_file_owner (argv[first + i], texts[i], lens[i], &st, fowners[i], sizeof fowners[0]);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < st.n_policies; i++) {
            if ((pass == 0) != (strcmp (st.owners[i], "city") == 0))
                continue;
            bool given = false;
            for (int f = 0; f < nfiles && !given; f++)
                given = strcmp (fowners[f], st.owners[i]) == 0;
            if (given)
                continue;
            char name[128];
            snprintf (name, sizeof name, "%s (applied, version %u)", st.owners[i],
                      (unsigned) st.versions[i]);
            if (sl_policy_set_parse (set, name, st.texts[i], strlen (st.texts[i]),
                                     st.versions[i], diags) == SL_ENOMEM) {
                ctl_error (ctx, "out of memory");
                goto out;
            }
            stored_used++;
        }
    for (int i = 0; i < nfiles; i++)
        if (sl_policy_set_parse (set, argv[first + i], texts[i], lens[i], 0, diags) == SL_ENOMEM) {
            ctl_error (ctx, "out of memory");
            goto out;
        }
    if (!data)
        assumed = s_assume_members (set, cat);
    if (sl_policy_set_check (set, cat, diags) == SL_ENOMEM) {
        ctl_error (ctx, "out of memory");
        goto out;
    }
    sl_policy_lint_opts_t lo = { .now = (int64_t) time (NULL), .subs_known = data != NULL,
                                 .subs = st.subs, .n_subs = st.n_subs,
                                 .only_files = (const char *const *) (argv + first),
                                 .n_only_files = (size_t) nfiles };
    if (sl_policy_set_lint (set, &lo, warns) < 0) {
        ctl_error (ctx, "out of memory");
        goto out;
    }
    size_t nerr = sl_policy_diags_count (diags);
    size_t nwarn = sl_policy_diags_count (warns);
    /* counts are of the files given, not of the applied policies beside them */
    size_t nrules = 0;
    for (size_t i = 0; i < sl_policy_set_rule_count (set); i++) {
        const char *rf = sl_policy_rule_file (sl_policy_set_rule_at (set, i));
        for (int f = first; f < argc; f++)
            if (strcmp (rf, argv[f]) == 0) {
                nrules++;
                break;
            }
    }
    int npurposes = 0;
    {
        sl_policy_set_t *only = sl_policy_set_new ();
        for (int i = 0; only && i < nfiles; i++)
            sl_policy_set_parse (only, argv[first + i], texts[i], lens[i], 0, NULL);
        npurposes = only ? s_set_purposes (only) : 0;
        sl_policy_set_destroy (&only);
    }
    bool failed = nerr || (strict && nwarn);
    if (ctx->json) {
        cJSON *o = cJSON_CreateObject ();
        cJSON_AddBoolToObject (o, "ok", !failed);
        cJSON *files = cJSON_AddArrayToObject (o, "files");
        for (int i = first; i < argc; i++)
            cJSON_AddItemToArray (files, cJSON_CreateString (argv[i]));
        cJSON_AddNumberToObject (o, "rules", (double) nrules);
        cJSON_AddNumberToObject (o, "purposes", npurposes);
        cJSON_AddBoolToObject (o, "strict", strict);
        if (data) {
            cJSON_AddStringToObject (o, "data", data);
            cJSON_AddNumberToObject (o, "members", off.members);
            cJSON_AddNumberToObject (o, "city_purposes", off.purposes);
            cJSON_AddNumberToObject (o, "subscriptions", (double) st.n_subs);
            cJSON_AddNumberToObject (o, "applied_policies", (double) stored_used);
        }
        else
            cJSON_AddNullToObject (o, "data");
        cJSON_AddItemToObject (o, "errors", s_diags_json (diags));
        cJSON_AddItemToObject (o, "warnings", s_diags_json (warns));
        ctl_print_json (o);
        cJSON_Delete (o);
    }
    else {
        char *text = sl_policy_diags_render (diags);
        char *wtext = sl_policy_diags_render_as (warns, strict ? "error" : "warning");
        fputs (text ? text : "out of memory\n", stderr);
        fputs (wtext ? wtext : "out of memory\n", stderr);
        free (text);
        free (wtext);
        if (failed)
            ctl_error (ctx, "%zu error%s%s in %d file%s%s", nerr + (strict ? nwarn : 0),
                       nerr + (strict ? nwarn : 0) == 1 ? "" : "s",
                       strict && nwarn ? " (warnings count as errors with --strict)" : "",
                       nfiles, nfiles == 1 ? "" : "s",
                       data ? "" : " (checked without --data DIR: members were not known, and "
                                   "purposes only from these files)");
        if (failed && !n_types)
            ctl_error (ctx, "no record type was known: give --data DIR or --schemas FILE");
        else if (!failed) {
            printf ("%d file%s ok: %zu rule%s, %d purpose%s declared", nfiles,
                    nfiles == 1 ? "" : "s", nrules, nrules == 1 ? "" : "s", npurposes,
                    npurposes == 1 ? "" : "s");
            if (nwarn)
                printf ("; %zu warning%s", nwarn, nwarn == 1 ? "" : "s");
            printf ("\n");
            if (data)
                printf ("checked against %s: %d member%s, %d purpose%s of the city's policy "
                        "(version %u), %zu other applied polic%s, %zu subscription%s\n",
                        data, off.members, off.members == 1 ? "" : "s", off.purposes,
                        off.purposes == 1 ? "" : "s", off.city_version, stored_used,
                        stored_used == 1 ? "y" : "ies", st.n_subs, st.n_subs == 1 ? "" : "s");
            else
                printf ("note: no --data DIR given: the %d consumer%s named were not checked "
                        "against a member registry, only purposes declared in these files are "
                        "known, and subscriptions were not looked at\n",
                        assumed, assumed == 1 ? "" : "s");
        }
    }
    status = failed ? 1 : 0;
out:
    for (int i = 0; texts && i < nfiles; i++)
        free (texts[i]);
    free (texts);
    free (lens);
    free (fowners);
    s_stored_free (&st);
    sl_policy_diags_destroy (&warns);
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
        /* the raw citizen id leaving is the change that matters most here */
        if (strcmp (before, "none") && strcmp (after, "none")
            && strcmp (ctl_str (s, "subject_before"), ctl_str (s, "subject_after")))
            printf ("; subject %s -> %s", ctl_str (s, "subject_before"), ctl_str (s, "subject_after"));
        if (strcmp (before, "none") && strcmp (after, "none")
            && strcmp (ctl_str (s, "time_before"), ctl_str (s, "time_after")))
            printf ("; time %s -> %s", ctl_str (s, "time_before"), ctl_str (s, "time_after"));
        printf ("\n");
    }
}

/* apply */

typedef struct {
    const char *owner;
    int dry_run;
    int strict;
} s_apply_t;

static int
s_apply_opt (int c, const char *arg, void *p)
{
    s_apply_t *o = p;
    if (c == 'o')
        o->owner = arg;
    else if (c == 'n')
        o->dry_run = 1;
    else if (c == 'S')
        o->strict = 1;
    else
        return -1;
    return 0;
}

static void
s_print_apply (const cJSON *res)
{
    const cJSON *dry = cJSON_GetObjectItemCaseSensitive (res, "dry_run");
    fputs (ctl_str (res, "warnings_text"), stderr);
    if (cJSON_IsTrue (dry)) {
        /* what widens comes first: an added rule must never widen a careful
         * one's release unseen */
        double widens = ctl_num (res, "widens");
        if (widens > 0) {
            printf ("WARNING: this change widens what leaves for %g (consumer, record type, "
                    "purpose):\n", widens);
            s_print_indented (ctl_str (res, "widening_text"));
        }
        printf ("dry run: %s policy would become version %g (now %g); nothing was applied\n",
                ctl_str (res, "owner"), ctl_num (res, "version"), ctl_num (res, "previous"));
        const cJSON *pa = cJSON_GetObjectItemCaseSensitive (res, "purposes_added");
        const cJSON *pr = cJSON_GetObjectItemCaseSensitive (res, "purposes_removed");
        if (cJSON_GetArraySize (pa) || cJSON_GetArraySize (pr)) {
            const cJSON *e;
            printf ("purposes:");
            cJSON_ArrayForEach (e, pa)
                printf (" +%s", e->valuestring);
            cJSON_ArrayForEach (e, pr)
                printf (" -%s", e->valuestring);
            printf ("\n");
        }
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
        CTL_ARG ("owner", 'o'), CTL_FLAG ("dry-run", 'n'), CTL_FLAG ("strict", 'S'),
        { NULL, 0, NULL, 0 } };
    s_apply_t o = { NULL, 0, 0 };
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_apply_opt, &o, 1,
                                    "apply needs one FILE (see sluicectl policy apply --help)",
                                    &first);
    if (rc >= 0)
        return rc;
    char err[1024];
    size_t len;
    char *text = s_slurp (argv[first], &len, err, sizeof err);
    if (!text)
        return ctl_fail (ctx, 1, "%s", err);
    const char *base = strrchr (argv[first], '/');
    cJSON *args = cJSON_CreateObject ();
    if (o.owner)
        cJSON_AddStringToObject (args, "owner", o.owner);
    cJSON_AddStringToObject (args, "file", base ? base + 1 : argv[first]);
    cJSON_AddStringToObject (args, "text", text);
    cJSON_AddBoolToObject (args, "dry_run", o.dry_run);
    if (o.strict)
        cJSON_AddBoolToObject (args, "strict", 1);
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
    return ctl_call_simple (ctx, cmd, argc, argv, "list takes no arguments",
                            "policy.list", NULL, s_print_list);
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
        CTL_ARG ("version", 'v'), { NULL, 0, NULL, 0 } };
    const char *version = NULL;
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, ctl_opt_text, &version, 1,
                                    "show needs one OWNER (a bureau, or city)", &first);
    if (rc >= 0)
        return rc;
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "owner", argv[first]);
    if (version && s_add_version (ctx, args, "version", version) != 0) {
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
    return ctl_call_simple (ctx, cmd, argc, argv, "history needs one OWNER (a bureau, or city)",
                            "policy.history", "owner", s_print_history);
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
s_diff (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("at", 't'), { NULL, 0, NULL, 0 } };
    const char *at = NULL;
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, extra, ctl_opt_text, &at, 3,
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
    const char *consumer, *record, *purpose, *subject, *at, *owner, *type, *draft, *draft_owner;
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
    case 'y': o->type = arg; break;
    case 'd': o->draft = arg; break;
    case 'D': o->draft_owner = arg; break;
    default: return -1;
    }
    return 0;
}

/*  True if `arg` names a sample record file rather than a record type. */
static bool
s_is_sample_file (const char *arg)
{
    size_t n = strlen (arg);
    return (n > 5 && strcmp (arg + n - 5, ".json") == 0) || strchr (arg, '/') != NULL;
}

/*  Exit status: 0 permit, 1 deny, 2 the question could not be answered
    (usage, unreadable file, bad sample or draft, broker unreachable). */
static int
s_explain (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    static const struct option extra[] = {
        CTL_ARG ("consumer", 'c'), CTL_ARG ("record", 'r'), CTL_ARG ("purpose", 'p'),
        CTL_ARG ("subject", 's'), CTL_ARG ("at", 't'), CTL_ARG ("owner", 'o'),
        CTL_ARG ("type", 'y'), CTL_ARG ("draft", 'd'), CTL_ARG ("draft-owner", 'D'),
        { NULL, 0, NULL, 0 } };
    s_explain_t o = { 0 };
    int first, rc = ctl_parse (ctx, cmd, argc, argv, extra, s_explain_opt, &o, &first);
    if (rc != 0)
        return rc == 1 ? 0 : rc;
    const char *sample_path = NULL, *type = o.type;
    if (o.record && s_is_sample_file (o.record))
        sample_path = o.record;
    else if (o.record && !type)
        type = o.record;
    if (argc != first || !o.consumer || !type || !o.purpose)
        return ctl_fail (ctx, 2, "explain needs --consumer C --record TYPE --purpose P, or "
                         "--record FILE.json with --type TYPE (see sluicectl policy "
                         "explain --help)");
    char err[1024];
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "consumer", o.consumer);
    cJSON_AddStringToObject (args, "record_type", type);
    cJSON_AddStringToObject (args, "purpose", o.purpose);
    if (o.owner)
        cJSON_AddStringToObject (args, "owner", o.owner);
    if (o.subject)
        cJSON_AddStringToObject (args, "subject", o.subject);
    if (o.at)
        cJSON_AddStringToObject (args, "at", o.at);
    if (sample_path) {
        size_t len;
        char *text = s_slurp (sample_path, &len, err, sizeof err);
        cJSON *j = text ? cJSON_Parse (text) : NULL;
        free (text);
        if (!j) {
            if (err[0] && !strstr (err, sample_path))
                ctl_error (ctx, "%s", err);
            else
                ctl_error (ctx, "%s: not a JSON object of the record's fields", sample_path);
            cJSON_Delete (args);
            return 2;
        }
        cJSON_AddItemToObject (args, "sample", j);
    }
    if (o.draft) {
        size_t len;
        char *text = s_slurp (o.draft, &len, err, sizeof err);
        if (!text) {
            ctl_error (ctx, "%s", err);
            cJSON_Delete (args);
            return 2;
        }
        const char *base = strrchr (o.draft, '/');
        cJSON_AddStringToObject (args, "draft", text);
        cJSON_AddStringToObject (args, "draft_file", base ? base + 1 : o.draft);
        if (o.draft_owner)
            cJSON_AddStringToObject (args, "draft_owner", o.draft_owner);
        free (text);
    }
    cJSON *res = NULL;
    rc = ctl_admin (ctx, "policy.explain", args, &res);
    cJSON_Delete (args);
    if (rc != 0)
        return 2;
    if (ctx->json)
        ctl_print_json (res);
    else {
        if (cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "draft")))
            printf ("(explained against the draft %s, not the policy in force)\n", o.draft);
        fputs (ctl_str (res, "text"), stdout);
    }
    int status = strcmp (ctl_str (res, "decision"), "permit") == 0 ? 0 : 1;
    cJSON_Delete (res);
    return status;
}

/* purposes */

static void
s_print_purposes (const cJSON *res)
{
    const cJSON *summary = cJSON_GetObjectItemCaseSensitive (res, "summary");
    const cJSON *p, *list = cJSON_GetObjectItemCaseSensitive (summary, "purposes");
    printf ("purposes declared by the city's policy (version %g, applied by %s at %s):\n",
            ctl_num (res, "version"), ctl_str (res, "actor"), ctl_str (res, "time_utc"));
    size_t w = 7;
    cJSON_ArrayForEach (p, list)
        if (strlen (ctl_str (p, "name")) > w)
            w = strlen (ctl_str (p, "name"));
    printf ("%-*s  %s\n", (int) w, "PURPOSE", "DESCRIPTION");
    cJSON_ArrayForEach (p, list)
        printf ("%-*s  %s\n", (int) w, ctl_str (p, "name"), ctl_str (p, "description"));
    if (cJSON_GetArraySize (list) == 0)
        printf ("(none)\n");
    printf ("new purposes are declared by admin:city: purpose NAME \"description\" in the city's "
            "policy\n");
}

static int
s_purposes (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    int first, rc = ctl_parse_args (ctx, cmd, argc, argv, NULL, NULL, NULL, 0,
                                    "purposes takes no arguments", &first);
    if (rc >= 0)
        return rc;
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "owner", "city");
    return ctl_call (ctx, "policy.show", args, s_print_purposes);
}

static const ctl_cmd_t s_cmds[] = {
    { "check", "FILE... [--data DIR] [--schemas FILE]... [--strict] [--timezone ZONE] [--against]",
      "check policy files offline (syntax, schemas, members, purposes, lints)",
      "Parses and checks the files together, as one set, without a broker. Errors\n"
      "are printed as FILE:LINE:COL: error: MESSAGE, lints (overlapping or idle\n"
      "permits, ended windows, forbids cancelling permits, unsubscribed purposes,\n"
      "every field with the raw citizen id, conditions that never hold) as\n"
      "FILE:LINE:COL: warning: MESSAGE, each with a note saying what to do.\n"
      "Exit status: 0 clean (warnings allowed), 1 errors (or warnings with\n"
      "--strict), 2 the check could not run (unreadable file, bad data dir).\n\n"
      "options:\n"
      "  --data DIR          also check consumers against the members in DIR/store,\n"
      "                      know the purposes of the city's applied policy, check\n"
      "                      together with every other owner's applied policy (so\n"
      "                      a rule id apply would refuse is caught here) and lint\n"
      "                      against the live subscriptions (read-only; safe while\n"
      "                      sluiced runs). SLUICE_DATA counts as --data.\n"
      "                      The record types registered in DIR/store are known.\n"
      "  --schemas FILE      also know the record types of FILE (.proto compiled\n"
      "                      with protoc, or a FileDescriptorSet); repeatable\n"
      "  --strict            warnings are errors\n"
      "  --against           ask the broker instead (connection options below):\n"
      "                      each file as a dry-run apply by you, so also your role\n"
      "                      is checked; nothing is applied; exit 1 if refused\n"
      "  --timezone ZONE     the city's IANA zone for 'valid' windows without Z or an\n"
      "                      offset (default: SLUICE_TIMEZONE, else the broker's, read\n"
      "                      from DIR/timezone with --data, else UTC)\n"
      "  --json              print {ok, files, rules, strict, errors: [{file,line,col,\n"
      "                      message,hint}], warnings: [...]}\n",
      1, s_check },
    { "apply", "FILE [--owner OWNER] [--dry-run] [--strict]",
      "apply a policy file as the owner's new version",
      "Lint warnings (as in check) are printed on stderr. A dry run whose\n"
      "changes widen what leaves (access gained, fields added, the subject less\n"
      "protected, times finer) says so in its first line.\n\n"
      "options:\n"
      "  --owner OWNER       whose policy this is: a bureau, or city (default: the\n"
      "                      bureau of your admin role)\n"
      "  --dry-run           apply nothing; show which access and which live\n"
      "                      subscriptions would gain or lose access, and which\n"
      "                      fields would change\n"
      "  --strict            refuse the file if it has any lint warning\n",
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
      "  --at TIME           compare access at TIME: Unix seconds,\n"
      "                      YYYY-MM-DD[THH:MM[:SS]] in the broker's zone, with Z or an\n"
      "                      offset, or relative (2h, yesterday); default now\n", 1, s_diff },
    { "rollback", "OWNER VERSION", "apply an old version's text again, as a new version",
      "History is kept: the rollback is a new version whose text is VERSION's.\n"
      "Same checks and roles as apply (admin:OWNER).\n", 1, s_rollback },
    { "purposes", "", "list the city's purposes (declared by admin:city)", NULL, 1, s_purposes },
    { "explain", "--consumer C --record TYPE|FILE.json --purpose P [--type TYPE] [--subject ID] "
      "[--at TIME] [--draft FILE.policy]",
      "why a consumer may or may not receive a record type for a purpose",
      "Exit status: 0 permit, 1 deny, 2 the question could not be answered.\n\n"
      "options:\n"
      "  --consumer C        the receiving member\n"
      "  --record TYPE       a record type, e.g. water.v1.MeterReading\n"
      "  --record FILE.json  a sample record (a JSON object of its fields): the row\n"
      "                      conditions ('where') are evaluated on it; give the\n"
      "                      record type with --type\n"
      "  --type TYPE         the record type (with --record FILE.json)\n"
      "  --draft FILE        explain against this unapplied policy text, in place of\n"
      "                      its owner's policy in force (--draft-owner O, default:\n"
      "                      the bureau of your admin role)\n"
      "  --purpose P         the purpose asked for\n"
      "  --subject ID        a citizen id: consent is looked up for it (without it,\n"
      "                      rules that need consent count as not consented)\n"
      "  --at TIME           decide at TIME: Unix seconds, YYYY-MM-DD[THH:MM[:SS]] in\n"
      "                      the broker's zone, with Z or an offset, or relative (2h,\n"
      "                      yesterday); default now\n"
      "  --owner O           the owner (default: the record type's owner)\n", 1, s_explain },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_policy = { "policy", "check, apply, inspect and explain sharing policies",
                                       s_cmds };

/*  sluicectl audit tail|query|summary|report|export|verify|pubkey|checkpoint|
    archive: reviewing and verifying the audit log (docs/AUDIT.md).

    Online, each command is an audit.* admin command (PROTOCOL.md 6.3).
    Offline — `--data DIR` without `--endpoint` — the read commands (query,
    summary, report, export, verify, pubkey, checkpoint) open DIR/store
    read-only and read the log with the audit library itself: for a copied
    data directory, or beside a running broker (LMDB readers never block the
    writer). Long listings are streamed, page by page online and entry by
    entry offline, so memory stays flat on a log of millions of entries. */
#include "ctl.h"
#include "sl_registry.h"
#include "sl_store.h"
#include "sl_audit.h"
#include "sl_error.h"
#include "sl_schema.h"
#include "sl_suggest.h"
#include "sl_time.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_PAGE 1000

static const char *s_data_dir;      /* --data, for DIR/timezone */

/* ---- helpers ------------------------------------------------------------ */

/*  The zone a zone-less --since/--until means here: SLUICE_TIMEZONE, else
    the broker's (DIR/timezone, written by sluiced from its `timezone`
    setting), else UTC. Loaded once. */
static const sl_tz_t *
s_zone (void)
{
    static int done;
    const char *dir = getenv ("SLUICE_DATA");
    char err[400];
    if (!done && ctl_city_zone (NULL, s_data_dir ? s_data_dir : dir ? dir : "./var/sluice", err,
                                sizeof err) != 0)
        fprintf (stderr, "sluicectl: audit: %s; times are read as UTC\n", err);
    done = 1;
    return sl_time_city_zone ();
}

/*  A time for people (sl_time.h): RFC 3339, a date, Unix seconds, relative
    (2h, 3d, yesterday); zone-less in s_zone(). -> Unix µs. Returns 0 or -1
    with the reason in err. */
static int
s_parse_time_err (const char *text, int64_t *us, char *err, size_t errlen)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return sl_time_parse (text, s_zone (), (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000, us,
                          NULL, err, errlen);
}

static int
s_parse_time (const char *text, int64_t *us)
{
    return s_parse_time_err (text, us, NULL, 0);
}

/*  True when the command reads DIR itself: --data given and no --endpoint. */
static int
s_offline (const ctl_ctx_t *ctx)
{
    return ctx->data_dir && !ctx->endpoint;
}

typedef struct {
    MDB_env *env;
    sl_audit_t *audit;
} s_local_t;

static void
s_local_close (s_local_t *l)
{
    sl_audit_destroy (&l->audit);
    if (l->env)
        mdb_env_close (l->env);
    l->env = NULL;
}

/*  Opens DIR/store read-only and the audit log in it (keys from DIR).
    Returns 0 or 1 (message printed). */
static int
s_local_open (ctl_ctx_t *ctx, s_local_t *l)
{
    char path[4096], err[512];
    memset (l, 0, sizeof *l);
    snprintf (path, sizeof path, "%s/store", ctx->data_dir);
    struct stat st;
    if (stat (path, &st) != 0 || !S_ISDIR (st.st_mode))
        return ctl_fail (ctx, 1, "%s: no broker store here (%s); give the broker's data directory "
                         "(or a copy of it) with --data DIR",
                         path, strerror (errno ? errno : ENOENT));
    if (sl_store_env_open_rdonly (path, 0, &l->env, err, sizeof err) != 0) {
        ctl_error (ctx, "%s", err);
        s_local_close (l);
        return 1;
    }
    l->audit = sl_audit_open (l->env, ctx->data_dir, SL_AUDIT_RDONLY, err, sizeof err);
    if (!l->audit) {
        ctl_error (ctx, "%s: %s", ctx->data_dir, err);
        s_local_close (l);
        return 1;
    }
    return 0;
}

/*  s_local_open, then a read-only transaction in it. Returns 0, or 1 with
    the message printed and nothing left open. */
static int
s_local_begin (ctl_ctx_t *ctx, s_local_t *l, MDB_txn **txn)
{
    if (s_local_open (ctx, l) != 0)
        return 1;
    int rc = mdb_txn_begin (l->env, NULL, MDB_RDONLY, txn);
    if (rc != 0) {
        ctl_error (ctx, "cannot read the store: %s", mdb_strerror (rc));
        s_local_close (l);
        return 1;
    }
    return 0;
}

/*  Ends what s_local_begin started. */
static void
s_local_end (s_local_t *l, MDB_txn *txn)
{
    mdb_txn_abort (txn);
    s_local_close (l);
}

/*  "2026-11-28T15:00:00.123456Z" -> "2026-11-28 15:00:00" */
static const char *
s_short_time (const char *iso, char out[20])
{
    snprintf (out, 20, "%.19s", iso);
    if (strlen (out) > 10)
        out[10] = ' ';
    return out;
}

static void
s_entry_header (void)
{
    printf ("%-8s %-19s %-16s %-10s %-10s %-8s %-24s %-8s %-16s %s\n", "SEQ", "TIME (UTC)",
            "KIND", "ACTOR", "TO", "OWNER", "RECORD", "DECISION", "PURPOSE", "RULES / REASON");
}

/*  `e` as one JSON line whose integers (seq, time_us) are printed exactly:
    parsed JSON keeps numbers as doubles, and cJSON prints a 16-digit value
    ending in 0 as 1.79650695971789e+15, which integer importers reject.
    Doubles hold every integer below 2^53 exactly (times in µs until the
    year 2255). Returns a malloc'ed string or NULL. */
static char *
s_json_line (const cJSON *e)
{
    cJSON *c = cJSON_Duplicate (e, 1);
    static const char *const ints[] = { "seq", "time_us" };
    for (int i = 0; c && i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive (c, ints[i]);
        if (cJSON_IsNumber (v)) {
            char buf[32];
            snprintf (buf, sizeof buf, "%.0f", v->valuedouble);
            cJSON_ReplaceItemInObjectCaseSensitive (c, ints[i], cJSON_CreateRaw (buf));
        }
    }
    char *t = c ? cJSON_PrintUnformatted (c) : NULL;
    cJSON_Delete (c);
    return t;
}

/*  One entry as a table row (or its JSON line with --json: `line` if given,
    else printed from `e`). */
static void
s_entry_print (const ctl_ctx_t *ctx, const cJSON *e, const char *line)
{
    if (ctx->json) {
        if (line)
            printf ("%s\n", line);
        else {
            char *t = s_json_line (e);
            printf ("%s\n", t ? t : "{}");
            free (t);
        }
        return;
    }
    char when[20], more[600];
    const char *rules = ctl_str (e, "rules"), *reason = ctl_str (e, "reason");
    const char *detail = ctl_str (e, "detail");
    snprintf (more, sizeof more, "%s%s%s%s%s%s", rules, *rules && *reason ? " " : "",
              *reason ? "reason=" : "", reason, (*rules || *reason) && *detail ? " " : "", detail);
    printf ("%-8.0f %-19s %-16s %-10s %-10s %-8s %-24s %-8s %-16s %s\n",
            ctl_num (e, "seq"), s_short_time (ctl_str (e, "time"), when), ctl_str (e, "kind"),
            ctl_str (e, "actor"), ctl_str (e, "counterpart"), ctl_str (e, "owner"),
            ctl_str (e, "record_type"), ctl_str (e, "decision"), ctl_str (e, "purpose"), more);
}

/* ---- filters ---------------------------------------------------------------- */

typedef struct {
    const char *since, *until, *actor, *owner, *consumer, *record, *kind, *decision, *subject;
    const char *format, *out, *before, *pubkey;
    const char *published;             /* verify --published FILE|SEQ:HASH */
    const char *segments[64];
    size_t n_segments;
    uint64_t after_seq, limit;
    int follow, trust_start;
    unsigned interval_ms;
    unsigned seen;                     /* S_OPT of every option given */
} s_opts_t;

enum { O_SINCE = 1, O_UNTIL, O_ACTOR, O_OWNER, O_CONSUMER, O_RECORD, O_KIND, O_DECISION,
       O_SUBJECT, O_AFTER, O_LIMIT, O_FORMAT, O_OUT, O_BEFORE, O_PUBKEY, O_SEGMENT,
       O_TRUST, O_FOLLOW, O_INTERVAL, O_PUBLISHED, O_END };

/*  A set of options, as a mask of their ids. */
#define S_OPT(id) (1u << (id))
#define S_FILTERS                                                                  \
    (S_OPT (O_SINCE) | S_OPT (O_UNTIL) | S_OPT (O_ACTOR) | S_OPT (O_OWNER)         \
     | S_OPT (O_CONSUMER) | S_OPT (O_RECORD) | S_OPT (O_KIND) | S_OPT (O_DECISION) \
     | S_OPT (O_SUBJECT))

/*  Every option of the audit commands, indexed by its id; each command
    takes the set its s_bodies row names. */
#define S_ARG(id, name) [id] = CTL_ARG (name, id)
#define S_FLAG(id, name) [id] = CTL_FLAG (name, id)
static const struct option s_all_opts[O_END] = {
    S_ARG (O_SINCE, "since"), S_ARG (O_UNTIL, "until"), S_ARG (O_ACTOR, "actor"),
    S_ARG (O_OWNER, "owner"), S_ARG (O_CONSUMER, "consumer"), S_ARG (O_RECORD, "record"),
    S_ARG (O_KIND, "kind"), S_ARG (O_DECISION, "decision"), S_ARG (O_SUBJECT, "subject"),
    S_ARG (O_AFTER, "after-seq"), S_ARG (O_LIMIT, "limit"), S_ARG (O_FORMAT, "format"),
    S_ARG (O_OUT, "out"), S_ARG (O_BEFORE, "before"), S_ARG (O_PUBKEY, "pubkey"),
    S_ARG (O_SEGMENT, "segment"), S_FLAG (O_TRUST, "trust-start"), S_FLAG (O_FOLLOW, "follow"),
    S_ARG (O_INTERVAL, "interval"), S_ARG (O_PUBLISHED, "published"),
};

static int
s_on_opt (int c, const char *arg, void *p)
{
    s_opts_t *o = p;
    /* the options that only keep their text */
    const char **text[O_END] = {
        [O_SINCE] = &o->since, [O_UNTIL] = &o->until, [O_ACTOR] = &o->actor,
        [O_OWNER] = &o->owner, [O_CONSUMER] = &o->consumer, [O_RECORD] = &o->record,
        [O_KIND] = &o->kind, [O_DECISION] = &o->decision, [O_SUBJECT] = &o->subject,
        [O_FORMAT] = &o->format, [O_OUT] = &o->out, [O_BEFORE] = &o->before,
        [O_PUBKEY] = &o->pubkey, [O_PUBLISHED] = &o->published };
    if (c <= 0 || c >= O_END)
        return -1;
    o->seen |= S_OPT (c);
    if (text[c]) {
        *text[c] = arg;
        return 0;
    }
    switch (c) {
    case O_AFTER:
    case O_LIMIT: {
        char *end;
        errno = 0;
        unsigned long long v = strtoull (arg, &end, 10);
        if (!*arg || *end || errno || arg[0] == '-') {
            fprintf (stderr, "sluicectl: audit: --%s '%s' is not a whole number\n",
                     c == O_AFTER ? "after-seq" : "limit", arg);
            return -1;
        }
        if (c == O_AFTER)
            o->after_seq = v;
        else
            o->limit = v;
        break;
    }
    case O_INTERVAL:
        o->interval_ms = (unsigned) atoi (arg);
        if (o->interval_ms == 0 || o->interval_ms > 3600000) {
            fprintf (stderr, "sluicectl: audit: --interval '%s': give milliseconds, 1..3600000\n", arg);
            return -1;
        }
        break;
    case O_SEGMENT:
        if (o->n_segments == 64) {
            fprintf (stderr, "sluicectl: audit: at most 64 --segment files\n");
            return -1;
        }
        o->segments[o->n_segments++] = arg;
        break;
    case O_TRUST: o->trust_start = 1; break;
    case O_FOLLOW: o->follow = 1; break;
    default: return -1;
    }
    return 0;
}

/*  Parses the command line with the options of `opts` (a mask of S_OPT);
    `-f` is taken as --follow. Returns -1 to go on, else the exit status. */
static int
s_parse (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv, s_opts_t *o,
         unsigned opts, int *first)
{
    memset (o, 0, sizeof *o);
    static char follow[] = "--follow";
    for (int i = 1; i < argc; i++)
        if (!strcmp (argv[i], "-f"))
            argv[i] = follow;
    struct option extra[O_END + 1];
    size_t n = 0;
    for (int id = 1; id < O_END; id++)
        if (opts & S_OPT (id))
            extra[n++] = s_all_opts[id];
    memset (&extra[n], 0, sizeof extra[n]);
    char wrong[128];
    snprintf (wrong, sizeof wrong, "%s takes no positional arguments (see --help)", cmd->name);
    int rc = ctl_parse_args (ctx, cmd, argc, argv, extra, s_on_opt, o, 0, wrong, first);
    if (rc >= 0)
        return rc;
    int64_t us;
    const char *times[] = { o->since, o->until, o->before };
    s_data_dir = ctx->data_dir;
    for (int i = 0; i < 3; i++) {
        char err[400];
        if (times[i] && s_parse_time_err (times[i], &us, err, sizeof err) != 0)
            return ctl_fail (ctx, 2, "%s", err);
    }
    /* a mistyped kind or owner is refused, not answered with an empty table
       (online the broker also checks owners and consumers against its
       registry) */
    if (o->kind) {
        size_t n = strlen (o->kind);
        int ok = sl_suggest_known (o->kind, sl_audit_kinds, sl_audit_n_kinds);
        for (size_t i = 0; !ok && n && o->kind[n - 1] == '.' && i < sl_audit_n_kinds; i++)
            ok = strncmp (sl_audit_kinds[i], o->kind, n) == 0;
        if (!ok) {
            const char *m = sl_suggest (o->kind, sl_audit_kinds, sl_audit_n_kinds);
            return ctl_fail (ctx, 2, "unknown kind '%s'%s%s%s (a prefix ends with '.', "
                             "e.g. consent.)",
                             o->kind, m ? "; did you mean '" : "", m ? m : "", m ? "'?" : "");
        }
    }
    if (o->owner && s_offline (ctx)) {
        const char *owners[64];
        size_t n = 0;
        char serr[600];
        /* the owners are the bureaus of the types registered in DIR/store */
        if (ctl_schemas_from_store (ctx->data_dir, serr, sizeof serr) < 0)
            return ctl_fail (ctx, 2, "%s", serr);
        for (size_t i = 0; i < sl_schema_count () && n < 63; i++)
            if (!sl_suggest_known (sl_schema_at (i)->owner, owners, n))
                owners[n++] = sl_schema_at (i)->owner;
        owners[n++] = "city";
        if (!sl_suggest_known (o->owner, owners, n)) {
            const char *m = sl_suggest (o->owner, owners, n);
            return ctl_fail (ctx, 2, "unknown owner '%s'%s%s%s: no bureau of that name owns a "
                             "record type",
                             o->owner, m ? "; did you mean '" : "", m ? m : "", m ? "'?" : "");
        }
    }
    return -1;
}

/*  Offline: a --consumer that is no member of DIR's registry is refused with
    the closest name (online the broker does it). The registry reads its
    own database (sl_registry_each). Returns 0, or 2 after printing. */
typedef struct {
    const char *consumer;
    char **names;
    size_t n;
    int known;
} s_members_t;

static int
s_member_name (void *arg, const sl_member_t *m)
{
    s_members_t *ms = arg;
    char **nn = realloc (ms->names, (ms->n + 1) * sizeof *nn);
    if (!nn)
        return 1;
    ms->names = nn;
    if (!(ms->names[ms->n] = strdup (m->name)))
        return 1;
    ms->known = strcmp (ms->names[ms->n++], ms->consumer) == 0;
    return ms->known;
}

static int
s_check_consumer_local (ctl_ctx_t *ctx, MDB_txn *txn, const char *consumer)
{
    if (!consumer)
        return 0;
    s_members_t ms = { consumer, NULL, 0, 0 };
    sl_registry_each (txn, s_member_name, &ms);
    const char *m = ms.known ? NULL : sl_suggest (consumer, (const char *const *) ms.names, ms.n);
    if (!ms.known && ms.n)
        ctl_error (ctx, "unknown consumer '%s'%s%s%s: no member of that name in %s", consumer,
                   m ? "; did you mean '" : "", m ? m : "", m ? "'?" : "", ctx->data_dir);
    for (size_t i = 0; i < ms.n; i++)
        free (ms.names[i]);
    free (ms.names);
    return ms.known || !ms.n ? 0 : 2;
}

/*  What is archived and whether it was read (sl_audit_history_note), said
    once per command: after the table, or on stderr with --json. */
static char s_archived_note[1400];

static void
s_print_note (const ctl_ctx_t *ctx)
{
    if (!s_archived_note[0])
        return;
    fflush (stdout);
    fprintf (ctx->json ? stderr : stdout, "note: %s\n", s_archived_note);
    s_archived_note[0] = 0;
}

/*  Offline: the archived history of the log in `txn`, looked for in the
    directories its archive entries name and in the data directory; its
    segments go into `f`. */
static sl_audit_history_t *
s_history_local (const ctl_ctx_t *ctx, MDB_txn *txn, sl_audit_filter_t *f)
{
    const char *dirs[1] = { ctx->data_dir };
    sl_audit_history_t *h = sl_audit_history_new (txn, dirs, 1);
    if (h) {
        f->n_segments = sl_audit_history_segments (h, &f->segments);
        sl_audit_history_note (h, s_archived_note, sizeof s_archived_note);
    }
    return h;
}

/*  The filter as admin args (times as Unix seconds: the instant this side
    read, so "2h" means two hours before the command ran). */
static cJSON *
s_filter_args (const s_opts_t *o)
{
    cJSON *a = cJSON_CreateObject ();
    int64_t us;
    if (o->since && s_parse_time (o->since, &us) == 0)
        cJSON_AddNumberToObject (a, "since", (double) us / 1e6);
    if (o->until && s_parse_time (o->until, &us) == 0)
        cJSON_AddNumberToObject (a, "until", (double) us / 1e6);
    const char *names[] = { "actor", "owner", "consumer", "record", "kind", "decision", "subject" };
    const char *vals[] = { o->actor, o->owner, o->consumer, o->record, o->kind, o->decision,
                           o->subject };
    for (int i = 0; i < 7; i++)
        if (vals[i])
            cJSON_AddStringToObject (a, names[i], vals[i]);
    return a;
}

static void
s_filter_local (const s_opts_t *o, sl_audit_filter_t *f)
{
    memset (f, 0, sizeof *f);
    if (o->since)
        s_parse_time (o->since, &f->since_us);
    if (o->until)
        s_parse_time (o->until, &f->until_us);
    f->actor = o->actor;
    f->owner = o->owner;
    f->counterpart = o->consumer;
    f->record_type = o->record;
    f->kind = o->kind;
    f->decision = o->decision;
    f->after_seq = o->after_seq;
}

/*  The local filter of `o` (s_filter_local) into *f, with --consumer
    checked against the registry (s_check_consumer_local) and --subject
    pseudonymized into `pseudo`, which must outlive *f; `needs` says who
    needs the pseudonym key when it is unreadable. Returns 0, or the exit
    status (1, 2) with the error printed. */
static int
s_filter_local_checked (ctl_ctx_t *ctx, const s_local_t *l, MDB_txn *txn, const s_opts_t *o,
                        sl_audit_filter_t *f, uint8_t pseudo[SL_AUDIT_PSEUDO_LEN],
                        const char *needs)
{
    s_filter_local (o, f);
    int rc = s_check_consumer_local (ctx, txn, o->consumer);
    if (rc == 0 && o->subject) {
        if (sl_audit_pseudonym (l->audit, o->subject, pseudo) != 0)
            rc = ctl_fail (ctx, 1, "%s has no readable %s: %s the audit pseudonym key",
                           ctx->data_dir, SL_AUDIT_PSEUDO_KEY_FILE, needs);
        f->subject = pseudo;
    }
    return rc;
}

/* ---- streaming entries --------------------------------------------------- */

typedef void (s_entry_fn) (void *arg, const cJSON *e, const char *line);

/*  Sets the paging arguments of a listing command: entries after `after`,
    at most `limit`. */
static void
s_set_page (cJSON *args, uint64_t after, uint64_t limit)
{
    cJSON_DeleteItemFromObject (args, "after_seq");
    cJSON_DeleteItemFromObject (args, "limit");
    cJSON_AddNumberToObject (args, "after_seq", (double) after);
    cJSON_AddNumberToObject (args, "limit", (double) limit);
}

/*  Streams every entry of the admin `command` with `args` (borrowed;
    after_seq and limit are set per page), calling fn. Stops after `max`
    entries (0: all). `last` (may be NULL) gets the last page's result
    (caller frees). Returns 0 or 1. */
static int
s_stream_online (ctl_ctx_t *ctx, const char *command, cJSON *args, uint64_t after,
                 uint64_t max, s_entry_fn *fn, void *arg, cJSON **last, uint64_t *count)
{
    uint64_t n = 0;
    for (;;) {
        s_set_page (args, after, max && max - n < S_PAGE ? max - n : S_PAGE);
        cJSON *res = NULL;
        if (ctl_admin (ctx, command, args, &res) != 0)
            return 1;
        if (n == 0)
            snprintf (s_archived_note, sizeof s_archived_note, "%s", ctl_str (res, "archived_note"));
        const cJSON *e;
        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive (res, "entries")) {
            fn (arg, e, NULL);
            n++;
        }
        int more = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "more"));
        after = (uint64_t) ctl_num (res, "next_after_seq");
        if (!more || (max && n >= max)) {
            if (last)
                *last = res;
            else
                cJSON_Delete (res);
            break;
        }
        cJSON_Delete (res);
    }
    if (count)
        *count = n;
    return 0;
}

/*  Streams the local entries matching `f`, at most `max` (0: all). Returns
    the count, or -1 after printing an error. */
static int64_t
s_stream_local (ctl_ctx_t *ctx, MDB_txn *txn, const sl_audit_filter_t *f, uint64_t max,
                s_entry_fn *fn, void *arg)
{
    sl_audit_iter_t *it = sl_audit_iter_new (txn, f);
    if (!it) {
        ctl_error (ctx, "this store holds no audit log");
        return -1;
    }
    sl_audit_entry_t e;
    int64_t n = 0;
    int rc;
    while ((!max || (uint64_t) n < max) && (rc = sl_audit_iter_next (it, &e)) == 1) {
        char *line = sl_audit_entry_json (&e);
        cJSON *o = line ? cJSON_Parse (line) : NULL;
        if (!o) {
            free (line);
            rc = SL_ENOMEM;
            break;
        }
        fn (arg, o, line);
        cJSON_Delete (o);
        free (line);
        n++;
    }
    sl_audit_iter_destroy (&it);
    if (rc < 0) {
        ctl_error (ctx, "reading the log failed after %" PRId64 " entries: %s (run sluicectl "
                   "audit verify --data DIR)", n, sl_strerror (rc));
        return -1;
    }
    return n;
}

/*  Ends an offline listing: streams `f` (at most `max` entries, 0 = all)
    over the live log and the archived segments (s_history_local) to `fn`
    (its arg is ctx), ends the local session (s_local_end) and prints the
    archive note. `rc` is the status so far: when it is not 0 nothing is
    streamed and it is returned. Returns the exit status. */
static int
s_local_listing (ctl_ctx_t *ctx, s_local_t *l, MDB_txn *txn, sl_audit_filter_t *f,
                 uint64_t max, s_entry_fn *fn, int rc)
{
    sl_audit_history_t *h = rc == 0 ? s_history_local (ctx, txn, f) : NULL;
    if (rc == 0 && s_stream_local (ctx, txn, f, max, fn, ctx) < 0)
        rc = 1;
    sl_audit_history_destroy (&h);
    s_local_end (l, txn);
    if (rc == 0)
        s_print_note (ctx);
    return rc;
}

static void
s_print_cb (void *arg, const cJSON *e, const char *line)
{
    s_entry_print (arg, e, line);
}

/* ---- tail ---------------------------------------------------------------- */

static volatile int s_stop;

static int
s_tail (ctl_ctx_t *ctx, s_opts_t *o)
{
    if (!o->limit)
        o->limit = 20;
    if (o->limit > S_PAGE)
        o->limit = S_PAGE;
    if (!o->interval_ms)
        o->interval_ms = 1000;
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    cJSON_AddNumberToObject (args, "limit", (double) o->limit);
    int rc = ctl_admin (ctx, "audit.tail", args, &res);
    if (rc != 0) {
        cJSON_Delete (args);
        return rc;
    }
    if (!ctx->json)
        s_entry_header ();
    for (;;) {
        const cJSON *e;
        cJSON_ArrayForEach (e, cJSON_GetObjectItemCaseSensitive (res, "entries"))
            s_entry_print (ctx, e, NULL);
        fflush (stdout);
        uint64_t after = (uint64_t) ctl_num (res, "next_after_seq");
        int more = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "more"));
        cJSON_Delete (res);
        res = NULL;
        if (!o->follow || s_stop)
            break;
        if (!more)
            usleep (o->interval_ms * 1000u);
        s_set_page (args, after, S_PAGE);
        if (ctl_admin (ctx, "audit.tail", args, &res) != 0) {
            cJSON_Delete (args);
            return 1;
        }
    }
    cJSON_Delete (args);
    return 0;
}

/* ---- query, report --------------------------------------------------------- */

/*  Lists the entries of the filter in `o` after the table header `header`
    (not with --json): online through the admin `command`, offline from DIR
    (`needs` as for s_filter_local_checked). Returns the exit status. */
static int
s_listing (ctl_ctx_t *ctx, const s_opts_t *o, const char *command, void (*header) (void),
           s_entry_fn *fn, const char *needs)
{
    if (!ctx->json)
        header ();
    if (!s_offline (ctx)) {
        cJSON *args = s_filter_args (o);
        int rc = s_stream_online (ctx, command, args, o->after_seq, o->limit, fn, ctx, NULL, NULL);
        cJSON_Delete (args);
        if (rc == 0)
            s_print_note (ctx);
        return rc;
    }
    s_local_t l;
    MDB_txn *txn;
    if (s_local_begin (ctx, &l, &txn) != 0)
        return 1;
    sl_audit_filter_t f;
    uint8_t pseudo[SL_AUDIT_PSEUDO_LEN];
    int rc = s_filter_local_checked (ctx, &l, txn, o, &f, pseudo, needs);
    return s_local_listing (ctx, &l, txn, &f, o->limit, fn, rc);
}

static int
s_query (ctl_ctx_t *ctx, s_opts_t *o)
{
    return s_listing (ctx, o, "audit.query", s_entry_header, s_print_cb, "--subject needs");
}

/* ---- summary --------------------------------------------------------------- */

static int
s_summary (ctl_ctx_t *ctx, s_opts_t *o)
{
    cJSON *rows = NULL, *res = NULL;
    if (!s_offline (ctx)) {
        cJSON *args = s_filter_args (o);
        int rc = ctl_admin (ctx, "audit.summary", args, &res);
        cJSON_Delete (args);
        if (rc != 0)
            return rc;
        rows = cJSON_DetachItemFromObject (res, "rows");
        snprintf (s_archived_note, sizeof s_archived_note, "%s", ctl_str (res, "archived_note"));
        cJSON_Delete (res);
    }
    else {
        s_local_t l;
        MDB_txn *txn;
        if (s_local_begin (ctx, &l, &txn) != 0)
            return 1;
        sl_audit_filter_t f;
        s_filter_local (o, &f);
        f.owner = NULL;
        sl_audit_history_t *h = s_history_local (ctx, txn, &f);
        sl_audit_summary_t *s = sl_audit_summary_new (txn, o->owner, &f);
        sl_audit_history_destroy (&h);
        char *text = s ? sl_audit_summary_json (s) : NULL;
        rows = text ? cJSON_Parse (text) : NULL;
        free (text);
        sl_audit_summary_destroy (&s);
        s_local_end (&l, txn);
        if (!rows)
            return ctl_fail (ctx, 1, "cannot summarize the log in %s", ctx->data_dir);
    }
    if (ctx->json)
        ctl_print_json (rows);
    else {
        /* columns as wide as their longest value: namespaced rule ids and
           long purposes keep the table aligned */
        static const char *const keys[] = { "kind", "consumer", "record_type", "purpose", "rules" };
        int w[5] = { 8, 12, 24, 18, 24 };
        const cJSON *r;
        cJSON_ArrayForEach (r, rows)
            for (int k = 0; k < 5; k++)
                if ((int) strlen (ctl_str (r, keys[k])) > w[k])
                    w[k] = (int) strlen (ctl_str (r, keys[k]));
        printf ("data of %s\n%-*s %-*s %-*s %-*s %-*s %9s  %-19s  %s\n", o->owner, w[0], "KIND",
                w[1], "CONSUMER", w[2], "RECORD", w[3], "PURPOSE", w[4], "RULES", "COUNT",
                "FIRST (UTC)", "LAST (UTC)");
        char a[20], b[20];
        cJSON_ArrayForEach (r, rows)
            printf ("%-*s %-*s %-*s %-*s %-*s %9.0f  %-19s  %s\n", w[0], ctl_str (r, "kind"),
                    w[1], ctl_str (r, "consumer"), w[2], ctl_str (r, "record_type"),
                    w[3], ctl_str (r, "purpose"), w[4], ctl_str (r, "rules"),
                    ctl_num (r, "count"), s_short_time (ctl_str (r, "first"), a),
                    s_short_time (ctl_str (r, "last"), b));
    }
    cJSON_Delete (rows);
    s_print_note (ctx);
    return 0;
}

/* ---- report ---------------------------------------------------------------- */

static void
s_report_header (void)
{
    printf ("%-19s %-16s %-10s %-10s %-24s %-16s %-20s %-8s %s\n", "TIME (UTC)", "WHAT", "FROM",
            "TO", "RECORD", "PURPOSE", "RULE", "DECISION", "CONSENT / REASON / FIELDS");
}

static void
s_report_cb (void *arg, const cJSON *e, const char *line)
{
    const ctl_ctx_t *ctx = arg;
    if (ctx->json) {
        s_entry_print (ctx, e, line);
        return;
    }
    char when[20];
    const char *detail = ctl_str (e, "detail"), *reason = ctl_str (e, "reason");
    const char *fields = ctl_str (e, "fields");
    const char *why = !strncmp (detail, "consent=", 8) ? detail : *reason ? reason
                    : *fields ? fields : "";
    printf ("%-19s %-16s %-10s %-10s %-24s %-16s %-20s %-8s %s\n",
            s_short_time (ctl_str (e, "time"), when), ctl_str (e, "kind"), ctl_str (e, "actor"),
            ctl_str (e, "counterpart"), ctl_str (e, "record_type"), ctl_str (e, "purpose"),
            ctl_str (e, "rules"), ctl_str (e, "decision"), why);
}

/*  Takes --subject only, so its filter is the subject alone. */
static int
s_report (ctl_ctx_t *ctx, s_opts_t *o)
{
    return s_listing (ctx, o, "audit.report", s_report_header, s_report_cb, "a report needs");
}

/* ---- export ---------------------------------------------------------------- */

/*  CSV columns (RFC 4180; docs/AUDIT.md §9): entries fill all but
    `signature`, checkpoints fill type, seq, time_us, time, hash, signature
    and raw. Integers are written as digits, never in exponent form. */
static const char *const s_csv_cols[] = {
    "type", "seq", "time_us", "time", "kind", "actor", "counterpart", "owner", "record_type",
    "message_id", "subject", "purpose", "decision", "rules", "fields", "reason", "detail",
    "prev_hash", "hash", "signature", "raw" };
#define S_CSV_NCOLS (sizeof s_csv_cols / sizeof s_csv_cols[0])

static void
s_csv_field (FILE *out, const char *v)
{
    if (!strpbrk (v, ",\"\r\n")) {
        fputs (v, out);
        return;
    }
    fputc ('"', out);
    for (const char *p = v; *p; p++) {
        if (*p == '"')
            fputc ('"', out);
        fputc (*p, out);
    }
    fputc ('"', out);
}

static void
s_csv_row (FILE *out, const cJSON *e)
{
    for (size_t i = 0; i < S_CSV_NCOLS; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive (e, s_csv_cols[i]);
        if (i)
            fputc (',', out);
        if (cJSON_IsNumber (v))
            fprintf (out, "%.0f", v->valuedouble);
        else if (cJSON_IsString (v))
            s_csv_field (out, v->valuestring);
    }
    fputs ("\r\n", out);
}

typedef struct {
    FILE *out;
    uint64_t first, last;
    int csv;
} s_export_t;

static void
s_export_line (s_export_t *x, const cJSON *e, const char *line)
{
    if (x->csv)
        s_csv_row (x->out, e);
    else if (line)
        fprintf (x->out, "%s\n", line);
    else {
        char *t = s_json_line (e);
        fprintf (x->out, "%s\n", t ? t : "{}");
        free (t);
    }
}

static void
s_export_cb (void *arg, const cJSON *e, const char *line)
{
    s_export_t *x = arg;
    if (!x->first)
        x->first = (uint64_t) ctl_num (e, "seq");
    x->last = (uint64_t) ctl_num (e, "seq");
    s_export_line (x, e, line);
}

static int
s_cp_local (void *arg, const char *line)
{
    cJSON *o = cJSON_Parse (line);
    s_export_line (arg, o, line);
    cJSON_Delete (o);
    return 0;
}

static int
s_export (ctl_ctx_t *ctx, s_opts_t *o)
{
    if (o->format && strcmp (o->format, "jsonl") != 0 && strcmp (o->format, "csv") != 0)
        return ctl_fail (ctx, 2, "--format %s: give jsonl or csv", o->format);
    s_export_t x = { stdout, 0, 0, o->format && !strcmp (o->format, "csv") };
    if (o->out && !(x.out = fopen (o->out, "w")))
        return ctl_fail (ctx, 1, "%s: %s", o->out, strerror (errno));
    if (x.csv)
        for (size_t i = 0; i < S_CSV_NCOLS; i++)
            fprintf (x.out, "%s%s", s_csv_cols[i], i + 1 < S_CSV_NCOLS ? "," : "\r\n");
    uint64_t n = 0, ncp = 0;
    int rc = 0;
    if (!s_offline (ctx)) {
        cJSON *args = s_filter_args (o), *last = NULL;
        rc = s_stream_online (ctx, "audit.export", args, 0, 0, s_export_cb, &x, &last, &n);
        if (rc == 0 && last && x.first) {
            /* the last page lists the checkpoints from its own first entry;
               ask once more from the export's first entry */
            cJSON_Delete (last);
            last = NULL;
            cJSON_DeleteItemFromObject (args, "after_seq");
            cJSON_DeleteItemFromObject (args, "limit");
            cJSON_AddNumberToObject (args, "after_seq", (double) x.last);
            cJSON_AddNumberToObject (args, "first_seq", (double) x.first);
            rc = ctl_admin (ctx, "audit.export", args, &last);
        }
        const cJSON *cp;
        cJSON_ArrayForEach (cp, cJSON_GetObjectItemCaseSensitive (last, "checkpoints")) {
            s_export_line (&x, cp, NULL);
            ncp++;
        }
        cJSON_Delete (last);
        cJSON_Delete (args);
    }
    else {
        s_local_t l;
        MDB_txn *txn;
        if (s_local_begin (ctx, &l, &txn) != 0)
            rc = 1;
        else {
            sl_audit_filter_t f;
            uint8_t pseudo[SL_AUDIT_PSEUDO_LEN];
            rc = s_filter_local_checked (ctx, &l, txn, o, &f, pseudo, "--subject needs");
            sl_audit_history_t *h = rc == 0 ? s_history_local (ctx, txn, &f) : NULL;
            int64_t got = rc == 0 ? s_stream_local (ctx, txn, &f, 0, s_export_cb, &x) : -1;
            if (got < 0)
                rc = 1;
            else {
                n = (uint64_t) got;
                int64_t c = x.first ? sl_audit_export_checkpoints (txn, x.first, s_cp_local, &x) : 0;
                if (c < 0)
                    rc = ctl_fail (ctx, 1, "cannot read the checkpoints: %s",
                                   sl_strerror ((int) c));
                else
                    ncp = (uint64_t) c;
            }
            sl_audit_history_destroy (&h);
            s_local_end (&l, txn);
        }
    }
    if (x.out != stdout && fclose (x.out) != 0 && rc == 0)
        rc = ctl_fail (ctx, 1, "%s: %s", o->out, strerror (errno));
    if (rc == 0 && o->out)
        fprintf (stderr, "exported %" PRIu64 " entries and %" PRIu64 " checkpoints to %s\n", n,
                 ncp, o->out);
    if (rc == 0 && s_archived_note[0]) {
        fprintf (stderr, "note: %s\n", s_archived_note);
        s_archived_note[0] = 0;
    }
    return rc;
}

/* ---- verify ---------------------------------------------------------------- */

static int
s_progress (void *arg, uint64_t done, uint64_t total)
{
    (void) arg;
    if (total) {
        int w = 40, fill = (int) (done * (uint64_t) w / (total ? total : 1));
        if (fill > w)
            fill = w;
        fprintf (stderr, "\rverifying [%.*s%*s] %3d%% %" PRIu64 "/%" PRIu64, fill,
                 "########################################", w - fill, "",
                 (int) (done * 100 / total), done, total);
    }
    else
        fprintf (stderr, "\rverifying %" PRIu64 " entries", done);
    return 0;
}

/*  --pubkey HEX|FILE, else DIR/audit-sign.pub. Returns 0 or 1. */
static int
s_pubkey_load (ctl_ctx_t *ctx, const char *given, uint8_t pk[SL_AUDIT_PK_LEN], int *from_dir)
{
    char err[512], path[4096];
    *from_dir = 0;
    if (given && strlen (given) == SL_AUDIT_PK_HEX_LEN && sl_audit_pubkey_from_hex (given, pk) == 0)
        return 0;
    if (!given) {
        snprintf (path, sizeof path, "%s/%s", ctx->data_dir, SL_AUDIT_SIGN_PUB_FILE);
        given = path;
        *from_dir = 1;
    }
    if (sl_audit_load_pubkey (given, pk, err, sizeof err) != 0)
        return ctl_fail (ctx, 1, "%s", err);
    return 0;
}

/*  --published: the contents of FILE when it names a readable file, else
 *  the argument itself (SEQ:HASH). Returns 0, or 2 after an error. */
static int
sl_audit_cli_published_text (ctl_ctx_t *ctx, const char *arg, char *out, size_t size)
{
    FILE *f = fopen (arg, "r");
    if (!f) {
        if (strchr (arg, ':') && !strchr (arg, '/')) {
            snprintf (out, size, "%s", arg);
            return 0;
        }
        return ctl_fail (ctx, 2, "--published %s: cannot read it (%s); give the file `sluicectl "
                         "audit checkpoint` printed, or SEQ:HASH", arg, strerror (errno));
    }
    size_t n = fread (out, 1, size - 1, f);
    out[n] = 0;
    fclose (f);
    if (n == size - 1)
        return ctl_fail (ctx, 2, "--published %s: longer than a published checkpoint", arg);
    return 0;
}

/*  The outcome of verify as one line for a person. */
static void
s_print_verdict (const sl_audit_report_t *r, const char *verdict, int ok)
{
    if (ok)
        printf ("OK: %" PRIu64 " entries (seq %" PRIu64 "..%" PRIu64 "), %" PRIu64
                " checkpoint signatures, %" PRIu64 " segments verified\n", r->entries,
                r->first_seq, r->last_seq, r->checkpoints, r->segments);
    else
        printf ("FAILED at seq %" PRIu64 " (%s): %s\n", r->bad_seq, verdict, r->message);
}

static int
s_verify (ctl_ctx_t *ctx, s_opts_t *o)
{
    char published[4096] = "";
    if (o->published && sl_audit_cli_published_text (ctx, o->published, published, sizeof published) != 0)
        return 2;
    sl_audit_report_t r;
    memset (&r, 0, sizeof r);
    int ok, rc;
    if (!s_offline (ctx)) {
        cJSON *args = cJSON_CreateObject (), *res = NULL;
        cJSON *segs = cJSON_AddArrayToObject (args, "segments");
        for (size_t i = 0; i < o->n_segments; i++)
            cJSON_AddItemToArray (segs, cJSON_CreateString (o->segments[i]));
        if (o->trust_start)
            cJSON_AddTrueToObject (args, "trust_start");
        if (*published)
            cJSON_AddStringToObject (args, "published", published);
        if (ctx->timeout_ms <= 0)
            ctx->timeout_ms = 120000;       /* a long log takes a while */
        rc = ctl_admin (ctx, "audit.verify", args, &res);
        cJSON_Delete (args);
        if (rc != 0)
            return rc;
        if (ctx->json) {
            ctl_print_json (res);
            ok = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "ok"));
            cJSON_Delete (res);
            return ok ? 0 : 1;
        }
        ok = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (res, "ok"));
        r.bad_seq = (uint64_t) ctl_num (res, "bad_seq");
        r.entries = (uint64_t) ctl_num (res, "entries");
        r.checkpoints = (uint64_t) ctl_num (res, "checkpoints");
        r.segments = (uint64_t) ctl_num (res, "segments");
        r.first_seq = (uint64_t) ctl_num (res, "first_seq");
        r.last_seq = (uint64_t) ctl_num (res, "last_seq");
        snprintf (r.message, sizeof r.message, "%s", ctl_str (res, "message"));
        s_print_verdict (&r, ctl_str (res, "verdict"), ok);
        cJSON_Delete (res);
        return ok ? 0 : 1;
    }
    uint8_t pk[SL_AUDIT_PK_LEN];
    int from_dir;
    if (s_pubkey_load (ctx, o->pubkey, pk, &from_dir) != 0)
        return 1;
    sl_audit_verify_opts_t vo;
    memset (&vo, 0, sizeof vo);
    if (*published) {
        sl_audit_published_t pub;
        char perr[300];
        int prc = sl_audit_published_parse (published, pk, &pub, perr, sizeof perr);
        if (prc != 0) {
            ctl_error (ctx, "--published %s: %s", o->published, perr);
            return prc == SL_ECORRUPT ? 1 : 2;
        }
        vo.published = 1;
        vo.published_seq = pub.seq;
        memcpy (vo.published_hash, pub.hash, sizeof vo.published_hash);
    }
    s_local_t l;
    if (s_local_open (ctx, &l) != 0)
        return 1;
    vo.segments = o->segments;
    vo.n_segments = o->n_segments;
    vo.trust_start = o->trust_start;
    int tty = isatty (2);
    if (tty)
        vo.progress = s_progress;
    rc = sl_audit_verify (l.env, pk, &vo, &r);
    if (tty)
        fprintf (stderr, "\r%*s\r", 78, "");
    s_local_close (&l);
    if (rc != 0 && rc != SL_ECORRUPT)
        return ctl_fail (ctx, 1, "verify could not run: %s: %s", sl_strerror (rc), r.message);
    ok = rc == 0;
    if (ctx->json) {
        char *text = sl_audit_report_json (&r, ok);
        cJSON *res = text ? cJSON_Parse (text) : NULL;
        free (text);
        if (!res)
            return ctl_fail (ctx, 1, "out of memory");
        ctl_print_json (res);
        cJSON_Delete (res);
    }
    else
        s_print_verdict (&r, sl_audit_verdict_str (r.verdict), ok);
    if (from_dir && !ctx->json)
        fprintf (stderr, "note: the public key was read from %s/%s; for evidence, pass the "
                 "published key with --pubkey HEX\n", ctx->data_dir, SL_AUDIT_SIGN_PUB_FILE);
    return ok ? 0 : 1;
}

/* ---- pubkey, checkpoint ---------------------------------------------------- */

/*  Runs the admin `command` without arguments and copies the string
    `field` of its result into out[size]. Returns 0 or 1 (printed). */
static int
s_fetch_string (ctl_ctx_t *ctx, const char *command, const char *field, char *out, size_t size)
{
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    int rc = ctl_admin (ctx, command, args, &res);
    cJSON_Delete (args);
    if (rc != 0)
        return rc;
    snprintf (out, size, "%s", ctl_str (res, field));
    cJSON_Delete (res);
    return 0;
}

static int
s_pubkey (ctl_ctx_t *ctx, s_opts_t *o)
{
    (void) o;
    char hex[SL_AUDIT_PK_HEX_LEN + 1];
    if (s_offline (ctx)) {
        uint8_t pk[SL_AUDIT_PK_LEN];
        int from_dir;
        if (s_pubkey_load (ctx, NULL, pk, &from_dir) != 0)
            return 1;
        sl_audit_pubkey_hex (pk, hex);
    }
    else if (s_fetch_string (ctx, "audit.pubkey", "public_key", hex, sizeof hex) != 0)
        return 1;
    if (ctx->json)
        printf ("{\"public_key\":\"%s\"}\n", hex);
    else
        printf ("%s\n", hex);
    return 0;
}

static int
s_checkpoint (ctl_ctx_t *ctx, s_opts_t *o)
{
    (void) o;
    char text[512];
    if (s_offline (ctx)) {
        s_local_t l;
        MDB_txn *txn;
        if (s_local_begin (ctx, &l, &txn) != 0)
            return 1;
        int rc = sl_audit_checkpoint_text (txn, text, sizeof text);
        s_local_end (&l, txn);
        if (rc != 0)
            return ctl_fail (ctx, 1, "%s", rc == SL_ENOTFOUND ? "no checkpoint in this log yet"
                             : sl_strerror (rc));
    }
    else if (s_fetch_string (ctx, "audit.checkpoint", "text", text, sizeof text) != 0)
        return 1;
    if (ctx->json) {
        cJSON *o2 = cJSON_CreateObject ();
        cJSON_AddStringToObject (o2, "text", text);
        ctl_print_json (o2);
        cJSON_Delete (o2);
    }
    else
        fputs (text, stdout);
    return 0;
}

/* ---- archive ---------------------------------------------------------------- */

static int
s_archive (ctl_ctx_t *ctx, s_opts_t *o)
{
    int64_t us;
    s_parse_time (o->before, &us);
    cJSON *args = cJSON_CreateObject (), *res = NULL;
    cJSON_AddNumberToObject (args, "before", (double) us / 1e6);
    char abs[4096];
    if (o->out[0] != '/' && getcwd (abs, sizeof abs - 1 - strlen (o->out)))
        snprintf (abs + strlen (abs), sizeof abs - strlen (abs), "/%s", o->out);
    else
        snprintf (abs, sizeof abs, "%s", o->out);
    cJSON_AddStringToObject (args, "out_dir", abs);
    int rc = ctl_admin (ctx, "audit.archive", args, &res);
    cJSON_Delete (args);
    if (rc != 0)
        return rc;
    if (ctx->json)
        ctl_print_json (res);
    else if (ctl_num (res, "archived") == 0)
        printf ("nothing to archive before %s\n", o->before);
    else
        printf ("archived %.0f entries into %s\n", ctl_num (res, "archived"),
                ctl_str (res, "segment"));
    cJSON_Delete (res);
    return 0;
}

/* ---- the group ------------------------------------------------------------- */

/*  What each command takes and needs: `opts` the options it accepts,
    `needs` those it cannot run without (refused with `missing`, exit 2),
    `body` the command once its options are parsed and checked. */
static const struct {
    const char *name;
    unsigned opts, needs;
    const char *missing;
    int (*body) (ctl_ctx_t *ctx, s_opts_t *o);
} s_bodies[] = {
    { "tail", S_OPT (O_FOLLOW) | S_OPT (O_LIMIT) | S_OPT (O_INTERVAL), 0, NULL, s_tail },
    { "query", S_FILTERS | S_OPT (O_AFTER) | S_OPT (O_LIMIT), 0, NULL, s_query },
    { "summary", S_OPT (O_OWNER) | S_OPT (O_SINCE) | S_OPT (O_UNTIL), S_OPT (O_OWNER),
      "summary needs --owner BUREAU", s_summary },
    { "report", S_OPT (O_SUBJECT), S_OPT (O_SUBJECT),
      "report needs --subject ID (the person's id as the bureaus use it)", s_report },
    { "export", S_FILTERS | S_OPT (O_FORMAT) | S_OPT (O_OUT), S_OPT (O_SINCE),
      "export needs --since DATE (use 1970-01-01 for the whole log)", s_export },
    { "verify", S_OPT (O_PUBKEY) | S_OPT (O_SEGMENT) | S_OPT (O_TRUST) | S_OPT (O_PUBLISHED), 0,
      NULL, s_verify },
    { "pubkey", 0, 0, NULL, s_pubkey },
    { "checkpoint", 0, 0, NULL, s_checkpoint },
    { "archive", S_OPT (O_BEFORE) | S_OPT (O_OUT), S_OPT (O_BEFORE) | S_OPT (O_OUT),
      "archive needs --before DATE and --out DIR (a directory on the broker host)", s_archive },
};

/*  Every audit command: parses and checks its options (s_parse), refuses
    a missing one it needs, then runs its body. Returns the exit status. */
static int
s_run (ctl_ctx_t *ctx, const ctl_cmd_t *cmd, int argc, char **argv)
{
    size_t i = 0;
    while (strcmp (s_bodies[i].name, cmd->name) != 0)
        i++;                            /* every s_cmds row has its s_bodies row */
    s_opts_t o;
    int first, rc = s_parse (ctx, cmd, argc, argv, &o, s_bodies[i].opts, &first);
    if (rc >= 0)
        return rc;
    if ((o.seen & s_bodies[i].needs) != s_bodies[i].needs)
        return ctl_fail (ctx, 2, "%s", s_bodies[i].missing);
    return s_bodies[i].body (ctx, &o);
}

#define S_OFFLINE_NOTE \
    "  --data DIR          without --endpoint: read DIR (the broker's data directory,\n" \
    "                      or a copy) directly, read-only, without the broker\n"

static const ctl_cmd_t s_cmds[] = {
    { "tail", "[-f] [--limit N] [--interval MS]", "print the latest audit entries (-f: keep following)",
      "options:\n"
      "  -f, --follow        keep printing new entries as they are written\n"
      "  --limit N           entries to print first (default 20)\n"
      "  --interval MS       how often to ask for new entries with -f (default 1000)\n",
      1, s_run },
    { "query", "[filters]", "list audit entries matching filters (table, or --json lines)",
      "filters (all optional; combined with AND):\n"
      "  --since T --until T YYYY-MM-DD[THH:MM[:SS]] in the city's zone (SLUICE_TIMEZONE,\n"
      "                      else DIR/timezone, else UTC), or with Z / +08:00, Unix\n"
      "                      seconds, or relative: 2h, 3d, 1w, today, yesterday;\n"
      "                      until exclusive\n"
      "  --actor NAME        who acted (member or administrator)\n"
      "  --owner BUREAU      owner of the record type / policy / consent\n"
      "  --consumer NAME     the counterpart: consumer, recipient, peer\n"
      "  --record TYPE       record type, e.g. water.v1.MeterReading\n"
      "  --kind KIND         e.g. deliver, deny; 'consent.' matches every consent kind\n"
      "  --decision D        permit, deny, ok, refused, ...\n"
      "  --subject ID        a person's id (raw; looked up by its audit pseudonym)\n"
      "  --after-seq N       start after this sequence number\n"
      "  --limit N           print at most N entries (default: all, streamed)\n"
      S_OFFLINE_NOTE,
      1, s_run },
    { "summary", "--owner BUREAU [--since T] [--until T]",
      "who received a bureau's data, how much, under which rules and purposes",
      "options:\n  --owner BUREAU      the data owner\n  --since T --until T time window\n"
      S_OFFLINE_NOTE, 1, s_run },
    { "report", "--subject ID", "every disclosure of one person's data (the citizen's view)",
      "options:\n  --subject ID        the person's id as the bureaus use it\n" S_OFFLINE_NOTE,
      1, s_run },
    { "export", "--since T [--until T] [query filters] [--format jsonl|csv] [--out FILE]",
      "export entries (archived ones too), followed by the checkpoints that cover them",
      "options:\n  --since T --until T time window (as for query: dates, RFC 3339, 2h, yesterday)\n"
      "  --actor A --owner B --consumer C --record T --kind K --decision D --subject ID\n"
      "                      the filters of query (--subject is audited as a look-up)\n"
      "  --format jsonl|csv  JSON lines (default) or CSV (RFC 4180, a header row, CRLF;\n"
      "                      columns in docs/AUDIT.md 9); times as integer microseconds\n"
      "  --out FILE          write there (default stdout)\n"
      S_OFFLINE_NOTE, 1, s_run },
    { "verify", "[--data DIR] [--pubkey HEX|FILE] [--segment FILE]... [--trust-start] [--published FILE|SEQ:HASH]",
      "verify the hash chain and checkpoint signatures; names the first bad entry",
      "options:\n"
      "  --pubkey HEX|FILE   the trusted audit public key (offline; default DIR/audit-sign.pub)\n"
      "  --segment FILE      an archive segment to verify with the live log (repeatable)\n"
      "  --trust-start       accept a live log that starts after archived entries\n"
      "                      without the segments\n"
      "  --published FILE|SEQ:HASH  a checkpoint published elsewhere (the text of\n"
      "                      `audit checkpoint`, signature checked, or SEQ:HASH): the log\n"
      "                      must hold that entry with that hash (AUDIT.md 8.1)\n"
      S_OFFLINE_NOTE
      "exit status: 0 OK, 1 verification failed (or could not run), 2 bad arguments\n",
      1, s_run },
    { "pubkey", "[--data DIR]", "print the audit signing public key (64 hex digits)",
      S_OFFLINE_NOTE, 1, s_run },
    { "checkpoint", "[--data DIR]", "print the latest signed checkpoint, for publishing",
      S_OFFLINE_NOTE, 1, s_run },
    { "archive", "--before DATE --out DIR",
      "move entries older than DATE into a signed segment file (admin:city)",
      "options:\n  --before DATE       archive entries written before this time (city's zone\n"
      "                      unless Z or an offset is given)\n"
      "  --out DIR           directory on the broker host for the segment file\n",
      1, s_run },
    { NULL, NULL, NULL, NULL, 0, NULL },
};

const ctl_group_t ctl_group_audit = { "audit", "review and verify the audit log", s_cmds };

/*  sl_admin_audit — the audit.* admin commands: review (tail, query,
 *  summary, report, export), verification (verify, pubkey, checkpoint) and
 *  retention (archive). docs/PROTOCOL.md §6.3 lists arguments and results.
 *
 *  Design notes:
 *
 *   1. Nothing here edits or deletes an entry. The read commands work in a
 *      read transaction of their own (committed entries only), beside the
 *      batch's write transaction (the environment is MDB_NOTLS). Only
 *      audit.archive writes, in the batch transaction, through the commit
 *      pipeline (sl_commit_audit_archive -> sl_audit_archive), which moves
 *      entries into a signed segment.
 *   2. Scope: the auditor and admin:city see the whole log. An
 *      admin:<bureau> sees only entries whose owner is its bureau (query,
 *      tail, summary); asking for another owner is refused, not silently
 *      narrowed. A person's report and the export (which carries the raw
 *      entry bytes for outside verification) are for the auditor and
 *      admin:city only.
 *   3. Paging: query, report and export return at most `limit` entries
 *      (1..1000) and `more` = true when the page is full; the caller asks
 *      again with after_seq = next_after_seq. A page with more = true may be
 *      followed by an empty one. One call scans until the page is full or
 *      the log ends; it runs on the broker's loop, so a narrow filter over a
 *      very long log delays other traffic by the scan time (about 0.1 s per
 *      million entries on the project machine).
 *   4. Subjects are given raw and turned into the audit pseudonym here; a
 *      raw id never reaches the log or the answer.
 */
#include "sl_admin.h"
#include "sl_admin_fail.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_audit.h"
#include "sl_commit_admin.h"
#include "sl_error.h"
#include "sl_govern.h"
#include "sl_log.h"
#include "sl_registry.h"
#include "sl_schema.h"
#include "sl_suggest.h"
#include "sl_time.h"
#include "sluice/v1/envelope.pb-c.h"
#include "sl_role.h"
#include "sl_reason.h"

#define S_LIMIT_DEFAULT 100
#define S_LIMIT_MAX     1000

/*  A time argument: Unix seconds (a JSON number) or UTC text
 *  "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SSZ" (fraction allowed). Absent: *us = 0.
 *  Returns 0 or -1 with call->text set. */
static int
s_time_arg (sl_admin_call_t *call, const char *name, int64_t *us)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (call->args, name);
    *us = 0;
    if (!v || cJSON_IsNull (v))
        return 0;
    if (cJSON_IsNumber (v)) {
        if (v->valuedouble < 0 || v->valuedouble > 1e11)
            goto bad;
        *us = (int64_t) (v->valuedouble * 1e6);
        return 0;
    }
    if (cJSON_IsString (v) && v->valuestring) {
        if (sl_admin_parse_time (v->valuestring, us) == 0)
            return 0;
    }
bad:
    snprintf (call->text, sizeof call->text,
              "argument '%s' must be Unix seconds, a date or time 'YYYY-MM-DD[THH:MM[:SS]]' "
              "(in %s, or with Z or an offset) or a relative time (2h, 3d, yesterday)", name,
              sl_tz_name (sl_time_city_zone ()));
    return -1;
}

int
sl_admin_parse_time (const char *text, int64_t *us)
{
    /* sl_time: RFC 3339, dates, relative times; zone-less = the city's zone */
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return sl_time_parse (text, sl_time_city_zone (), (int64_t) ts.tv_sec * 1000000
                          + ts.tv_nsec / 1000, us, NULL, NULL, 0) == 0 ? 0 : -1;
}

/*  An optional string argument; "" counts as absent. */
static const char *
s_opt (sl_admin_call_t *call, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (call->args, name);
    return cJSON_IsString (v) && v->valuestring && *v->valuestring ? v->valuestring : NULL;
}

/*  An optional unsigned integer argument. Returns 0 or -1 (text set). */
static int
s_uint_arg (sl_admin_call_t *call, const char *name, uint64_t dflt, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (call->args, name);
    *out = dflt;
    if (!v || cJSON_IsNull (v))
        return 0;
    if (!cJSON_IsNumber (v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0
        || v->valuedouble != (double) (uint64_t) v->valuedouble) {
        snprintf (call->text, sizeof call->text,
                  "argument '%s' must be a whole number >= 0", name);
        return -1;
    }
    *out = (uint64_t) v->valuedouble;
    return 0;
}

/*  The bureau an admin:<bureau> caller is limited to, or NULL (auditor,
 *  admin:city: the whole log). */
static const char *
s_scope (const sl_admin_call_t *call)
{
    return sl_role_bureau (call->caller->role);
}

/*  Applies the caller's scope to the owner filter. Returns 0, or
 *  NOT_PERMITTED with text set. */
static int
s_scoped_owner (sl_admin_call_t *call, const char **owner)
{
    const char *scope = s_scope (call);
    if (!scope)
        return 0;
    if (*owner && strcmp (*owner, scope) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__NOT_PERMITTED,
                              "role %s reads only entries owned by %s, not by %.40s (the auditor "
                              "and admin:city read the whole log)",
                              call->caller->role, scope, *owner);
    *owner = scope;
    return 0;
}

static sl_audit_t *
s_audit (sl_admin_call_t *call)
{
    sl_audit_t *a = call->ctx->audit;
    if (!a)
        snprintf (call->text, sizeof call->text, "this broker keeps no audit log");
    return a;
}

/*  Appends the JSON of `e` to the array `arr`. Returns 0 or -1 (no memory). */
static int
s_add_entry (cJSON *arr, const sl_audit_entry_t *e)
{
    /* kept as the library printed it: seq and time_us stay exact integers
     * (a parsed and reprinted double would print 1.79650695971789e+15) */
    char *text = sl_audit_entry_json (e);
    cJSON *o = text ? cJSON_CreateRaw (text) : NULL;
    free (text);
    if (!o)
        return -1;
    cJSON_AddItemToArray (arr, o);
    return 0;
}

/*  Runs one page of `filter` into call->result: {"entries", "more",
 *  "next_after_seq"}. Returns an ErrorCode. */
static int
s_page (sl_admin_call_t *call, const sl_audit_filter_t *filter,
        uint64_t limit, MDB_txn *txn)
{
    sl_audit_iter_t *it = sl_audit_iter_new (txn, filter);
    if (!it)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL, "cannot read the audit log");
    cJSON *res = cJSON_CreateObject ();
    cJSON *arr = cJSON_AddArrayToObject (res, "entries");
    sl_audit_entry_t e;
    uint64_t n = 0, last = filter->after_seq;
    int rc = 0;
    while (n < limit && (rc = sl_audit_iter_next (it, &e)) == 1) {
        if (s_add_entry (arr, &e) != 0) {
            rc = SL_ENOMEM;
            break;
        }
        last = e.seq;
        n++;
    }
    sl_audit_iter_destroy (&it);
    if (rc < 0) {
        cJSON_Delete (res);
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "reading the audit log failed: %s (run `sluicectl audit "
                              "verify`)", sl_strerror (rc));
    }
    cJSON_AddBoolToObject (res, "more", n == limit);
    cJSON_AddNumberToObject (res, "next_after_seq", (double) last);
    call->result = res;
    snprintf (call->text, sizeof call->text, "%" PRIu64 " entries%s", n,
              n == limit ? " (more follow)" : "");
    return 0;
}

static int s_check_names (sl_admin_call_t *call, const sl_audit_filter_t *f);

/*  Reads the common filter arguments. Returns 0 or an ErrorCode. */
static int
s_filter (sl_admin_call_t *call, sl_audit_filter_t *f,
          uint8_t pseudo[SL_AUDIT_PSEUDO_LEN], uint64_t *limit)
{
    memset (f, 0, sizeof *f);
    if (s_time_arg (call, "since", &f->since_us) || s_time_arg (call, "until", &f->until_us)
        || s_uint_arg (call, "after_seq", 0, &f->after_seq)
        || s_uint_arg (call, "limit", S_LIMIT_DEFAULT, limit))
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    if (*limit == 0 || *limit > S_LIMIT_MAX)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                              "limit must be 1..%d", S_LIMIT_MAX);
    f->actor = s_opt (call, "actor");
    f->owner = s_opt (call, "owner");
    f->counterpart = s_opt (call, "consumer");
    f->record_type = s_opt (call, "record");
    f->kind = s_opt (call, "kind");
    f->decision = s_opt (call, "decision");
    const char *subject = s_opt (call, "subject");
    if (subject) {
        if (sl_audit_pseudonym (call->ctx->audit, subject, pseudo) != 0)
            return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                                  "the broker has no audit pseudonym key; cannot look a subject "
                                  "up");
        f->subject = pseudo;
    }
    int code = s_check_names (call, f);
    return code ? code : s_scoped_owner (call, &f->owner);
}

static int
s_read_txn (sl_admin_call_t *call, MDB_txn **txn)
{
    if (sl_store_read (call->ctx->store, txn) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL, "store unavailable");
    return 0;
}

/*  Names a filter may use: a kind this broker writes (or a prefix ending in
 *  '.'), an owner (a bureau owning record types, a member, or city), a
 *  consumer (a member). Anything else is refused with "did you mean",
 *  rather than answered with an empty table. Returns 0 or BAD_REQUEST. */
static int
s_check_names (sl_admin_call_t *call, const sl_audit_filter_t *f)
{
    if (f->kind) {
        size_t n = strlen (f->kind);
        int ok = sl_suggest_known (f->kind, sl_audit_kinds, sl_audit_n_kinds);
        for (size_t i = 0; !ok && n && f->kind[n - 1] == '.' && i < sl_audit_n_kinds; i++)
            ok = strncmp (sl_audit_kinds[i], f->kind, n) == 0;
        if (!ok) {
            const char *m = sl_suggest (f->kind, sl_audit_kinds, sl_audit_n_kinds);
            sl_admin_text (call, "unknown kind '%.64s'%s%s%s (kinds: publish, queue, deliver, "
                           "deny, filtered, query, reply, lookup, consent., policy., member., ...; "
                           "a prefix ends with '.')", f->kind, m ? "; did you mean '" : "",
                           m ? m : "", m ? "'?" : "");
            return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
        }
    }
    sl_registry_t *reg = call->ctx->registry;
    size_t nm = sl_registry_count (reg), ns = sl_schema_count (), n = 0;
    const char **names = calloc (nm + ns + 2, sizeof *names);
    if (!names)
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    for (size_t i = 0; i < nm; i++)
        names[n++] = sl_registry_at (reg, i)->name;
    size_t n_members = n;
    for (size_t i = 0; i < ns; i++)
        if (!sl_suggest_known (sl_schema_at (i)->owner, names, n))
            names[n++] = sl_schema_at (i)->owner;
    names[n++] = "city";
    const char *what[2] = { f->owner, f->counterpart };
    const char *label[2] = { "owner", "consumer" };
    size_t counts[2] = { n, n_members };
    for (int k = 0; k < 2; k++) {
        if (!what[k] || sl_suggest_known (what[k], names, counts[k]))
            continue;
        const char *m = sl_suggest (what[k], names, counts[k]);
        sl_admin_text (call, "unknown %s '%.64s'%s%s%s: no %s of that name is known to this "
                       "broker", label[k], what[k], m ? "; did you mean '" : "", m ? m : "",
                       m ? "'?" : "", k == 0 ? "bureau or member" : "member");
        free (names);
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    }
    free (names);
    return 0;
}

/*  The archived part of the log (sl_audit_history): its segments go into
 *  the filter, so that review covers the whole history, and the result
 *  says what is archived and whether it was read. NULL if it cannot be
 *  determined (then only the live log is read, and the result says so). */
static sl_audit_history_t *
s_history (MDB_txn *txn, sl_audit_filter_t *f)
{
    sl_audit_history_t *h = sl_audit_history_new (txn, NULL, 0);
    if (h)
        f->n_segments = sl_audit_history_segments (h, &f->segments);
    return h;
}

static void
s_history_result (sl_admin_call_t *call, const sl_audit_history_t *h)
{
    if (!call->result)
        return;
    char *j = h ? sl_audit_history_json (h) : NULL;
    cJSON *o = j ? cJSON_Parse (j) : NULL;
    free (j);
    if (o)
        cJSON_AddItemToObject (call->result, "archived", o);
    char note[1200] = "";
    if (h)
        sl_audit_history_note (h, note, sizeof note);
    else
        snprintf (note, sizeof note, "the archived part of the log could not be determined; "
                  "live entries only");
    cJSON_AddStringToObject (call->result, "archived_note", note);
}

/*  One page of `f` (s_page) over the whole history: the archived segments
 *  join the filter for this page (s_history) and the result says what is
 *  archived (s_history_result). The segments are dropped from `f` again
 *  before returning; `txn` stays the caller's. Returns an ErrorCode. */
static int
s_history_page (sl_admin_call_t *call, sl_audit_filter_t *f, uint64_t limit, MDB_txn *txn)
{
    sl_audit_history_t *h = s_history (txn, f);
    int code = s_page (call, f, limit, txn);
    s_history_result (call, h);
    sl_audit_history_destroy (&h);
    f->segments = NULL;
    f->n_segments = 0;
    return code;
}

/*  Records that the caller looked person `subject` up with `command`: a
 *  `lookup` entry (docs/AUDIT.md §4), written with the answer's batch.
 *  Returns 0 or INTERNAL (then nothing is answered: a look-up that cannot
 *  be recorded does not happen). */
static int
s_lookup (sl_admin_call_t *call, const char *command, const char *subject)
{
    char detail[160];
    snprintf (detail, sizeof detail, "command=%s role=%.64s", command, call->caller->role);
    sl_event_t ev = { .kind = SL_AUDIT_LOOKUP, .actor = call->caller->name,
                      .subject = subject, .decision = "ok", .detail = detail };
    call->wrote = 1;
    if (call->ctx->event (call->ctx->hook, &ev) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "%s: cannot record the look-up in the audit log; nothing was "
                              "read", command);
    return 0;
}

static int
s_query (sl_admin_call_t *call)
{
    if (!s_audit (call))
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    sl_audit_filter_t f;
    uint8_t pseudo[SL_AUDIT_PSEUDO_LEN];
    uint64_t limit;
    MDB_txn *txn;
    int code = s_filter (call, &f, pseudo, &limit);
    const char *subject = s_opt (call, "subject");
    if (code == 0 && subject)
        code = s_lookup (call, "audit.query", subject);     /* every page is a read */
    if (code == 0 && (code = s_read_txn (call, &txn)) == 0) {
        code = s_history_page (call, &f, limit, txn);
        mdb_txn_abort (txn);
    }
    return code;
}

static int
s_tail (sl_admin_call_t *call)
{
    sl_audit_t *a = s_audit (call);
    if (!a)
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    sl_audit_filter_t f;
    memset (&f, 0, sizeof f);
    uint64_t limit;
    if (s_uint_arg (call, "limit", 20, &limit) != 0)
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    if (limit == 0 || limit > S_LIMIT_MAX)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                              "limit must be 1..%d", S_LIMIT_MAX);
    int code = s_scoped_owner (call, &f.owner);
    if (code)
        return code;
    uint64_t head = sl_audit_head (a, NULL);
    if (cJSON_GetObjectItemCaseSensitive (call->args, "after_seq")) {
        if (s_uint_arg (call, "after_seq", 0, &f.after_seq) != 0)
            return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    }
    else if (!f.owner)
        f.after_seq = head > limit ? head - limit : 0;
    else {
        /* the last `limit` entries of one owner: one filtered pass keeping
           the seqs of the latest matches in a ring */
        MDB_txn *txn;
        if ((code = s_read_txn (call, &txn)) != 0)
            return code;
        uint64_t *ring = calloc (limit, sizeof *ring), n = 0;
        sl_audit_iter_t *it = ring ? sl_audit_iter_new (txn, &f) : NULL;
        sl_audit_entry_t e;
        while (it && sl_audit_iter_next (it, &e) == 1)
            ring[n++ % limit] = e.seq;
        sl_audit_iter_destroy (&it);
        mdb_txn_abort (txn);
        if (n > limit)
            f.after_seq = ring[n % limit] - 1;
        free (ring);
    }
    MDB_txn *txn;
    if ((code = s_read_txn (call, &txn)) != 0)
        return code;
    code = s_page (call, &f, limit, txn);
    mdb_txn_abort (txn);
    if (code == 0)
        cJSON_AddNumberToObject (call->result, "head", (double) head);
    return code;
}

static int
s_summary (sl_admin_call_t *call)
{
    if (!s_audit (call))
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    const char *owner = s_opt (call, "owner");
    int code = s_scoped_owner (call, &owner);
    if (code)
        return code;
    if (!owner)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                              "missing argument 'owner' (the bureau whose data it summarizes)");
    sl_audit_filter_t f;
    memset (&f, 0, sizeof f);
    if (s_time_arg (call, "since", &f.since_us) || s_time_arg (call, "until", &f.until_us))
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    f.owner = owner;
    if ((code = s_check_names (call, &f)) != 0)
        return code;
    f.owner = NULL;
    MDB_txn *txn;
    if ((code = s_read_txn (call, &txn)) != 0)
        return code;
    sl_audit_history_t *h = s_history (txn, &f);
    sl_audit_summary_t *s = sl_audit_summary_new (txn, owner, &f);
    mdb_txn_abort (txn);
    char *text = s ? sl_audit_summary_json (s) : NULL;
    cJSON *rows = text ? cJSON_Parse (text) : NULL;
    free (text);
    size_t n = s ? sl_audit_summary_size (s) : 0;
    sl_audit_summary_destroy (&s);
    if (!rows)
        sl_audit_history_destroy (&h);
    if (!rows)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL, "cannot read the audit log");
    call->result = cJSON_CreateObject ();
    cJSON_AddStringToObject (call->result, "owner", owner);
    cJSON_AddItemToObject (call->result, "rows", rows);
    s_history_result (call, h);
    sl_audit_history_destroy (&h);
    snprintf (call->text, sizeof call->text, "%zu rows for owner %s", n, owner);
    return 0;
}

static int
s_report (sl_admin_call_t *call)
{
    sl_audit_t *a = s_audit (call);
    if (!a)
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    const char *subject = s_opt (call, "subject");
    if (!subject)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                              "missing argument 'subject' (the person's id, as the bureaus use "
                              "it)");
    sl_audit_filter_t f;
    uint8_t pseudo[SL_AUDIT_PSEUDO_LEN];
    uint64_t limit;
    memset (&f, 0, sizeof f);
    if (s_uint_arg (call, "after_seq", 0, &f.after_seq)
        || s_uint_arg (call, "limit", S_LIMIT_MAX, &limit))
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    if (limit == 0 || limit > S_LIMIT_MAX)
        limit = S_LIMIT_MAX;
    if (sl_audit_pseudonym (a, subject, pseudo) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "the broker has no audit pseudonym key; cannot look a subject up");
    f.subject = pseudo;
    int code = s_lookup (call, "audit.report", subject);   /* every page is a read */
    if (code)
        return code;
    MDB_txn *txn;
    if ((code = s_read_txn (call, &txn)) != 0)
        return code;
    code = s_history_page (call, &f, limit, txn);
    mdb_txn_abort (txn);
    if (code == 0) {
        char hex[2 * SL_AUDIT_PSEUDO_LEN + 1];
        for (int i = 0; i < SL_AUDIT_PSEUDO_LEN; i++)
            snprintf (hex + 2 * i, 3, "%02x", pseudo[i]);
        cJSON_AddStringToObject (call->result, "pseudonym", hex);
    }
    return code;
}

static int
s_cp_line (void *arg, const char *line)
{
    cJSON *o = cJSON_CreateRaw (line);       /* exact integers, as s_add_entry */
    if (!o)
        return 1;
    cJSON_AddItemToArray ((cJSON *) arg, o);
    return 0;
}

static int
s_export (sl_admin_call_t *call)
{
    if (!s_audit (call))
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    sl_audit_filter_t f;
    uint8_t pseudo[SL_AUDIT_PSEUDO_LEN];
    uint64_t limit, first_seq;
    /* every filter query has (s_filter), the whole page by default */
    int code = s_filter (call, &f, pseudo, &limit);
    if (code)
        return code;
    if (!cJSON_GetObjectItemCaseSensitive (call->args, "limit"))
        limit = S_LIMIT_MAX;
    if (s_uint_arg (call, "first_seq", 0, &first_seq))
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    const char *subject = s_opt (call, "subject");
    if (subject && (code = s_lookup (call, "audit.export", subject)) != 0)
        return code;
    MDB_txn *txn;
    if ((code = s_read_txn (call, &txn)) != 0)
        return code;
    code = s_history_page (call, &f, limit, txn);
    if (code == 0 && !cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (call->result, "more"))) {
        /* the last page carries the checkpoints at or after the first
           exported entry: each signs a hash that chains back over it */
        const cJSON *entries = cJSON_GetObjectItemCaseSensitive (call->result, "entries");
        const cJSON *e0 = cJSON_GetArrayItem (entries, 0);
        if (!first_seq && e0) {
            /* entries are raw JSON text (s_add_entry) */
            cJSON *p = cJSON_Parse (cJSON_IsRaw (e0) ? e0->valuestring : "{}");
            const cJSON *sq = cJSON_GetObjectItemCaseSensitive (p, "seq");
            first_seq = cJSON_IsNumber (sq) ? (uint64_t) sq->valuedouble : 0;
            cJSON_Delete (p);
        }
        cJSON *cps = cJSON_AddArrayToObject (call->result, "checkpoints");
        if (first_seq && sl_audit_export_checkpoints (txn, first_seq, s_cp_line, cps) < 0)
            code = sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                                  "cannot read the checkpoints");
    }
    mdb_txn_abort (txn);
    return code;
}

/*  The optional "published" argument of audit.verify (AUDIT.md 8.1) into
 *  opts. Returns 0, SL_ECORRUPT (its signature is bad: *r says so), or a
 *  positive ErrorCode (call->text set). */
static int
s_verify_published (sl_admin_call_t *call, sl_audit_t *a, sl_audit_verify_opts_t *opts,
                    sl_audit_report_t *r)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive (call->args, "published");
    memset (r, 0, sizeof *r);
    if (!p)
        return 0;
    sl_audit_published_t pub;
    char err[300];
    int rc = cJSON_IsString (p) ? sl_audit_published_parse (p->valuestring, sl_audit_pubkey (a),
                                                            &pub, err, sizeof err)
                                : SL_EPARSE;
    if (rc == SL_ECORRUPT) {
        r->verdict = SL_AUDIT_V_CP_SIGNATURE;
        r->bad_seq = pub.seq;
        snprintf (r->message, sizeof r->message, "%.200s", err);
        return rc;
    }
    if (rc != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST, "'published': %s",
                              cJSON_IsString (p) ? err : "must be a string");
    opts->published = 1;
    opts->published_seq = pub.seq;
    memcpy (opts->published_hash, pub.hash, sizeof opts->published_hash);
    return 0;
}

static int
s_verify (sl_admin_call_t *call)
{
    sl_audit_t *a = s_audit (call);
    if (!a)
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    const cJSON *segs = cJSON_GetObjectItemCaseSensitive (call->args, "segments");
    size_t n = 0;
    const char *paths[256];
    if (segs && !cJSON_IsArray (segs))
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                              "'segments' must be an array of paths");
    const cJSON *s;
    cJSON_ArrayForEach (s, segs) {
        if (!cJSON_IsString (s) || n == 256)
            return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                                  "'segments' must hold at most 256 path strings");
        paths[n++] = s->valuestring;
    }
    sl_audit_verify_opts_t opts;
    memset (&opts, 0, sizeof opts);
    opts.segments = paths;
    opts.n_segments = n;
    opts.trust_start = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (call->args, "trust_start"));
    sl_audit_report_t r;
    int rc = s_verify_published (call, a, &opts, &r);
    if (rc > 0)
        return rc;
    if (rc == 0)
        rc = sl_audit_verify (sl_store_env (call->ctx->store), sl_audit_pubkey (a),
                              &opts, &r);
    if (rc != 0 && rc != SL_ECORRUPT)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL, "%s: %s", sl_strerror (rc),
                              r.message);
    char *text = sl_audit_report_json (&r, rc == 0);
    call->result = text ? cJSON_Parse (text) : NULL;
    free (text);
    if (!call->result)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL, "out of memory");
    snprintf (call->text, sizeof call->text, "%s", r.message);
    return 0;
}

static int
s_pubkey (sl_admin_call_t *call)
{
    sl_audit_t *a = s_audit (call);
    if (!a)
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    char hex[SL_AUDIT_PK_HEX_LEN + 1];
    sl_audit_pubkey_hex (sl_audit_pubkey (a), hex);
    call->result = cJSON_CreateObject ();
    cJSON_AddStringToObject (call->result, "public_key", hex);
    snprintf (call->text, sizeof call->text, "%s", hex);
    return 0;
}

static int
s_checkpoint (sl_admin_call_t *call)
{
    if (!s_audit (call))
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    MDB_txn *txn;
    int code = s_read_txn (call, &txn);
    if (code)
        return code;
    char text[512];
    int rc = sl_audit_checkpoint_text (txn, text, sizeof text);
    mdb_txn_abort (txn);
    if (rc == SL_ENOTFOUND)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__NOT_FOUND,
                              "no checkpoint yet (the broker signs one every few thousand entries "
                              "or seconds, and at shutdown)");
    if (rc != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL, "%s", sl_strerror (rc));
    call->result = cJSON_CreateObject ();
    cJSON_AddStringToObject (call->result, "text", text);
    snprintf (call->text, sizeof call->text, "latest checkpoint");
    return 0;
}

static int
s_archive (sl_admin_call_t *call)
{
    sl_audit_t *a = s_audit (call);
    if (!a)
        return SLUICE__V1__ERROR_CODE__INTERNAL;
    int64_t before;
    if (s_time_arg (call, "before", &before) != 0)
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    const char *out_dir = s_opt (call, "out_dir");
    if (!before || !out_dir)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                              "needs 'before' (a date) and 'out_dir' (a directory on the broker "
                              "host)");
    if (out_dir[0] != '/')
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                              "out_dir '%.200s' must be an absolute path on the broker host",
                              out_dir);
    if (sl_commit_ready (call->ctx->commit) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL, "store unavailable");
    call->wrote = 1;
    char path[4096] = "";
    uint64_t n = 0;
    int rc = sl_commit_audit_archive (call->ctx->commit, a, before, out_dir, path, sizeof path, &n);
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "%s (out_dir %.200s); "
                  "nothing was archived", sl_strerror (rc), out_dir);
        return sl_reason_from_rc (rc == SL_EIO ? SL_EINVAL : rc);   /* EIO: out_dir */
    }
    sl_info ("audit.archived", "by=%s entries=%" PRIu64 " segment=%s", call->caller->name, n,
             path);
    call->result = cJSON_CreateObject ();
    cJSON_AddNumberToObject (call->result, "archived", (double) n);
    cJSON_AddStringToObject (call->result, "segment", path);
    snprintf (call->text, sizeof call->text, "%" PRIu64 " entries archived", n);
    return 0;
}

const sl_admin_command_t sl_admin_audit_commands[] = {
    { "audit.tail",       "admin:*|auditor",    s_tail },
    { "audit.query",      "admin:*|auditor",    s_query },
    { "audit.summary",    "admin:*|auditor",    s_summary },
    { "audit.report",     "admin:city|auditor", s_report },
    { "audit.export",     "admin:city|auditor", s_export },
    { "audit.verify",     "admin:*|auditor",    s_verify },
    { "audit.pubkey",     "admin:*|auditor",    s_pubkey },
    { "audit.checkpoint", "admin:*|auditor",    s_checkpoint },
    { "audit.archive",    "admin:city",         s_archive },
};
const size_t sl_admin_audit_count =
    sizeof sl_admin_audit_commands / sizeof sl_admin_audit_commands[0];

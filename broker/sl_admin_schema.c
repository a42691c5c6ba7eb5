/*  sl_admin_schema — the admin commands schema.* (docs/PROTOCOL.md, "Admin
 *  commands"; docs/SCHEMAS.md).
 *
 *  schema.register   admin:*   data = a serialized FileDescriptorSet;
 *                              args {"message","file","dry_run","breaking"}
 *  schema.list       any member
 *  schema.get        any member  args {"record_type","version" (0 = current)}
 *  schema.history    any member  args {"record_type"}
 *
 *  Who may register what is decided by sl_schema_store_prepare (namespace
 *  of the caller's admin role, or admin:city). A new version must keep the
 *  evolution rules (sl_schema_evolve) unless "breaking" is given, and
 *  always keeps every policy in force checking: a field an applied policy
 *  names cannot go away, with or without "breaking".
 */
#include "sl_admin.h"
#include "sl_admin_fail.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_audit.h"
#include "sl_commit_admin.h"
#include "sl_error.h"
#include "sl_govern.h"
#include "sl_log.h"
#include "sl_policy_store.h"
#include "sl_schema.h"
#include "sl_schema_store.h"
#include "sluice/v1/envelope.pb-c.h"
#include "sl_reason.h"

/*  {"record_type","owner","version","subject","aggregate","time_fields",
 *   "fields":[{"name","number","type","label","classes"}]} */
static cJSON *
s_schema_json (const sl_schema_t *s)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddStringToObject (o, "record_type", s->record_type);
    cJSON_AddStringToObject (o, "owner", s->owner);
    cJSON_AddNumberToObject (o, "version", s->version);
    if (s->subject_field)
        cJSON_AddStringToObject (o, "subject", s->subject_field);
    else
        cJSON_AddNullToObject (o, "subject");
    cJSON_AddBoolToObject (o, "aggregate", !s->subject_field);
    cJSON_AddStringToObject (o, "file", s->file ? s->file : "");
    cJSON *t = cJSON_AddArrayToObject (o, "time_fields");
    for (const char *const *p = s->time_fields; p && *p; p++)
        cJSON_AddItemToArray (t, cJSON_CreateString (*p));
    cJSON *fa = cJSON_AddArrayToObject (o, "fields");
    const ProtobufCMessageDescriptor *d = s->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        cJSON *jf = cJSON_CreateObject ();
        cJSON_AddStringToObject (jf, "name", f->name);
        cJSON_AddNumberToObject (jf, "number", f->id);
        cJSON_AddStringToObject (jf, "type", sl_schema_type_name (f));
        cJSON_AddStringToObject (jf, "label", f->label == PROTOBUF_C_LABEL_REPEATED ? "repeated"
                                 : f->label == PROTOBUF_C_LABEL_OPTIONAL ? "optional" : "singular");
        cJSON *cl = cJSON_AddArrayToObject (jf, "classes");
        for (const char *const *c = s->field_classes ? s->field_classes[i] : NULL; c && *c; c++)
            cJSON_AddItemToArray (cl, cJSON_CreateString (*c));
        cJSON_AddItemToArray (fa, jf);
    }
    return o;
}

/*  The batch's pending state, for reading only (sl_commit_view): what this
 *  command reads must include what earlier commands of the batch wrote.
 *  Writes go through sl_commit_schema_write. */
static int
s_txn (sl_admin_call_t *call, MDB_txn **txn, const char *cmd)
{
    if (sl_commit_view (call->ctx->commit, txn) != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "%s: store unavailable", cmd);
    return 0;
}

/*  Puts the prepared versions in force for a moment and compiles the
 *  policies in force against them. Returns 0 or SL_EINVAL with the
 *  rendered errors in *text (malloc). */
static int
s_policies_still_check (sl_admin_call_t *call, MDB_txn *txn, sl_schema_change_t *c, size_t n,
                        char **text)
{
    const sl_schema_t *prev[64];
    size_t put = 0;
    int rc = 0;
    *text = NULL;
    for (; put < n && put < 64; put++) {
        sl_schema_t *e = c[put].entry;
        if (sl_schema_install (&e, &prev[put]) != 0) {
            rc = SL_ENOMEM;
            break;
        }
    }
    sl_policy_diags_t *diags = sl_policy_diags_new ();
    if (rc == 0 && !diags)
        rc = SL_ENOMEM;
    if (rc == 0)
        rc = sl_policy_store_check (call->ctx->policy, txn, diags);
    if (rc == SL_EINVAL)
        *text = sl_policy_diags_render (diags);
    sl_policy_diags_destroy (&diags);
    while (put > 0) {
        put--;
        sl_schema_uninstall (c[put].entry, prev[put]);
    }
    return rc;
}

/* ----------------------------------------- fields the policies in force use */

typedef struct {
    char owner[SL_POLICY_OWNER_MAX + 1];
    uint32_t version;
} s_owner_t;

typedef struct {
    s_owner_t v[128];
    size_t n;
} s_owners_t;

static int
s_collect_owner (void *arg, const char *owner, uint32_t current)
{
    s_owners_t *o = arg;
    if (o->n < 128) {
        snprintf (o->v[o->n].owner, sizeof o->v[o->n].owner, "%s", owner);
        o->v[o->n++].version = current;
    }
    return 0;
}

static bool
s_word_in (const char *text, const char *word)
{
    size_t wl = strlen (word);
    for (const char *p = strstr (text, word); p; p = strstr (p + 1, word)) {
        bool before = p == text || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z')
                                     || (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= '0' && p[-1] <= '9'));
        char a = p[wl];
        bool after = !(a == '_' || (a >= 'a' && a <= 'z') || (a >= 'A' && a <= 'Z') || (a >= '0' && a <= '9'));
        if (before && after)
            return true;
    }
    return false;
}

/*  Does `rule` (a policy summary rule, sl_policy_set_summary) use field
 *  `f` of record type `s` (the version in force)? */
static bool
s_rule_uses (const cJSON *rule, const sl_schema_t *s, const char *f)
{
    const cJSON *recs = cJSON_GetObjectItemCaseSensitive (rule, "records"), *x;
    bool applies = cJSON_GetArraySize (recs) == 0
                   && strcmp (cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (rule, "owner"))
                              ? cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (rule, "owner"))
                              : "", s->owner) == 0;
    cJSON_ArrayForEach (x, recs) {
        const char *r = cJSON_GetStringValue (x);
        size_t rl = r ? strlen (r) : 0;
        if (r && (strcmp (r, s->record_type) == 0
                  || (rl >= 2 && strcmp (r + rl - 2, ".*") == 0
                      && strncmp (r, s->record_type, rl - 1) == 0)))
            applies = true;
    }
    if (!applies)
        return false;
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive (rule, "fields");
    if (cJSON_IsString (fields) && strcmp (fields->valuestring, "*") == 0)
        return true;
    cJSON_ArrayForEach (x, fields) {
        const char *n = cJSON_GetStringValue (x);
        if (n && (strcmp (n, f) == 0
                  || (strncmp (n, "class:", 6) == 0 && sl_schema_field_has_class (s, f, n + 6))))
            return true;
    }
    const char *kind = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (rule, "kind"));
    const char *time = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (rule, "time"));
    const char *where = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (rule, "where"));
    if (time && strcmp (time, "exact") != 0 && sl_schema_is_time_field (s, f))
        return true;
    if (where && s_word_in (where, f))
        return true;
    return kind && strcmp (kind, "permit") == 0 && s->subject_field
           && strcmp (s->subject_field, f) == 0;
}

/*  A breaking change may pass with --breaking only if no policy in force
 *  uses a field it touches. Returns 0, or SL_EINVAL with `why` naming the
 *  field and the rule; SL_ESTORE / SL_ENOMEM. */
static int
s_policies_use (sl_admin_call_t *call, MDB_txn *txn, const sl_schema_t *s, const char *touched,
                char *why, size_t size)
{
    sl_policy_store_t *ps = call->ctx->policy;
    s_owners_t *owners = calloc (1, sizeof *owners);
    if (!owners)
        return SL_ENOMEM;
    int rc = sl_policy_store_each_owner (ps, txn, s_collect_owner, owners);
    for (size_t i = 0; rc == 0 && i < owners->n; i++) {
        bool aside = false;
        for (size_t a = 0; a < sl_policy_store_aside_count (ps); a++)
            aside |= strcmp (sl_policy_store_aside_owner (ps, a, NULL), owners->v[i].owner) == 0;
        sl_policy_version_t *v = NULL;
        if (aside || sl_policy_store_get (ps, txn, owners->v[i].owner, owners->v[i].version, &v) != 0)
            continue;
        cJSON *sum = cJSON_Parse (v->summary ? v->summary : "");
        const cJSON *rule;
        cJSON_ArrayForEach (rule, cJSON_GetObjectItemCaseSensitive (sum, "rules")) {
            const char *p = touched;
            while (rc == 0 && p && *p) {
                p += strspn (p, ",");
                size_t n = strcspn (p, ",");
                char f[256];
                snprintf (f, sizeof f, "%.*s", (int) (n < 255 ? n : 255), p);
                p += n;
                if (*f && s_rule_uses (rule, s, f)) {
                    snprintf (why, size, "field '%s' of %s is used by rule '%s' of %s's policy "
                              "version %u (%s): a breaking change to it is refused, --breaking "
                              "or not", f, s->record_type,
                              cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (rule, "id")),
                              owners->v[i].owner, owners->v[i].version,
                              v->file[0] ? v->file : "policy");
                    rc = SL_EINVAL;
                }
            }
            if (rc)
                break;
        }
        cJSON_Delete (sum);
        sl_policy_version_destroy (&v);
    }
    free (owners);
    return rc;
}

static int
s_register (sl_admin_call_t *call)
{
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive (call->args, "message");
    const cJSON *jf = cJSON_GetObjectItemCaseSensitive (call->args, "file");
    bool dry = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (call->args, "dry_run"));
    bool breaking = cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (call->args, "breaking"));
    const char *message = cJSON_IsString (jm) ? jm->valuestring : NULL;
    const char *file = cJSON_IsString (jf) ? jf->valuestring : "";
    if (call->data_len == 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__BAD_REQUEST,
                              "schema.register: send the FileDescriptorSet in the request data "
                              "(sluicectl schema register FILE.proto does)");
    MDB_txn *txn;
    int code = s_txn (call, &txn, "schema.register");
    if (code)
        return code;
    sl_schema_store_t *store = sl_govern_schemas (call->ctx->govern);
    sl_schema_change_t *c = NULL;
    size_t n = 0;
    char err[400] = "";
    char *policy_errors = NULL;
    int rc = sl_schema_store_prepare (store, txn, call->data, call->data_len, message,
                                      call->caller->role, &c, &n, err, sizeof err);
    cJSON *res = cJSON_CreateObject ();
    call->result = res;
    cJSON_AddBoolToObject (res, "dry_run", dry);
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "%s", err);
        code = sl_reason_from_rc (rc);
        sl_info ("schema.refused", "by=%s reason=\"%s\"", call->caller->name, err);
        goto out;
    }
    cJSON *types = cJSON_AddArrayToObject (res, "types");
    int refused = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        cJSON *t = cJSON_CreateObject ();
        cJSON_AddStringToObject (t, "record_type", c[i].entry->record_type);
        cJSON_AddNumberToObject (t, "version", c[i].unchanged && c[i].prev ? c[i].prev->version
                                                                       : c[i].version);
        cJSON_AddNumberToObject (t, "previous", c[i].prev ? c[i].prev->version : 0);
        cJSON_AddBoolToObject (t, "unchanged", c[i].unchanged);
        cJSON_AddNumberToObject (t, "breaking", c[i].breaking);
        cJSON_AddStringToObject (t, "changes", c[i].report ? c[i].report : "");
        cJSON_AddItemToArray (types, t);
        if (c[i].breaking > 0 && !breaking) {
            refused = 1;
            if (at >= sizeof call->text)
                at = sizeof call->text - 1;         /* full: the result JSON has it all */
            at += (size_t) snprintf (call->text + at, sizeof call->text - at,
                                     "%s%s: version %u is refused: %d breaking change%s "
                                     "(register with --breaking if no policy uses them):\n%s",
                                     "", c[i].entry->record_type,
                                     c[i].version, c[i].breaking, c[i].breaking == 1 ? "" : "s",
                                     c[i].report);
        }
    }
    if (refused) {
        code = SLUICE__V1__ERROR_CODE__BAD_REQUEST;
        sl_info ("schema.refused", "by=%s reason=breaking", call->caller->name);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (c[i].breaking <= 0 || !c[i].prev)
            continue;
        char why[400];
        rc = s_policies_use (call, txn, c[i].prev, c[i].touched, why, sizeof why);
        if (rc != 0) {
            snprintf (call->text, sizeof call->text, "%s",
                      rc == SL_EINVAL ? why : sl_strerror (rc));
            code = sl_reason_from_rc (rc);
            sl_info ("schema.refused", "by=%s reason=field-in-use", call->caller->name);
            goto out;
        }
    }
    rc = s_policies_still_check (call, txn, c, n, &policy_errors);
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "%s",
                  rc == SL_EINVAL ? "the policies in force would no longer check against it "
                                    "(a field or type they name would be gone or changed):\n"
                                  : sl_strerror (rc));
        if (policy_errors) {
            size_t l = strlen (call->text);
            snprintf (call->text + l, sizeof call->text - l, "%s", policy_errors);
            cJSON_AddStringToObject (res, "policy_errors", policy_errors);
        }
        code = sl_reason_from_rc (rc);
        sl_info ("schema.refused", "by=%s reason=policies", call->caller->name);
        goto out;
    }
    if (dry) {
        snprintf (call->text, sizeof call->text, "dry run: %zu record type%s would be registered; "
                  "nothing was changed", n, n == 1 ? "" : "s");
        goto out;
    }
    size_t written = 0;
    at = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].unchanged && c[i].prev)
            continue;
        char type[SL_SCHEMA_NAME_MAX + 1], detail[200];
        snprintf (type, sizeof type, "%s", c[i].entry->record_type);
        char owner[SL_SCHEMA_OWNER_MAX + 1];
        snprintf (owner, sizeof owner, "%s", c[i].entry->owner);
        call->wrote = 1;
        rc = sl_commit_schema_write (call->ctx->commit, store, &c[i], call->caller->name, call->caller->role,
                                    file, breaking);
        if (rc != 0) {
            snprintf (call->text, sizeof call->text, "schema.register: cannot store %s: %s",
                      type, sl_strerror (rc));
            code = sl_reason_from_rc (rc);
            goto out;
        }
        snprintf (detail, sizeof detail, "version=%u previous=%u breaking=%d file=%.100s",
                  c[i].version, c[i].prev ? c[i].prev->version : 0, breaking ? 1 : 0, file);
        sl_event_t ev = { .kind = SL_AUDIT_SCHEMA_REGISTER, .actor = call->caller->name,
                          .owner = owner, .record_type = type, .decision = "ok",
                          .detail = detail };
        if (call->ctx->event (call->ctx->hook, &ev) != 0) {
            code = sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                                  "schema.register: cannot record the change; nothing was "
                                  "changed");
            goto out;
        }
        sl_info ("schema.registered", "by=%s type=%s version=%u", call->caller->name, type,
                 c[i].version);
        if (at >= sizeof call->text)
            at = sizeof call->text - 1;
        at += (size_t) snprintf (call->text + at, sizeof call->text - at,
                                 "%sregistered %s version %u", at ? "; " : "", type, c[i].version);
        written++;
    }
    if (!written)
        snprintf (call->text, sizeof call->text, "unchanged: the same descriptor set is in force");
out:
    free (policy_errors);
    sl_schema_changes_free (c, n);
    return code;
}

static int
s_list (sl_admin_call_t *call)
{
    cJSON *arr = cJSON_CreateArray ();
    for (size_t i = 0; i < sl_schema_count (); i++)
        cJSON_AddItemToArray (arr, s_schema_json (sl_schema_at (i)));
    cJSON *res = cJSON_CreateObject ();
    cJSON_AddItemToObject (res, "types", arr);
    const char *skipped = sl_govern_schemas_skipped (call->ctx->govern);
    cJSON_AddStringToObject (res, "skipped", skipped);
    call->result = res;
    snprintf (call->text, sizeof call->text, "%zu record types", sl_schema_count ());
    return 0;
}

static const char *
s_arg_type (sl_admin_call_t *call, const char *cmd)
{
    const cJSON *jt = cJSON_GetObjectItemCaseSensitive (call->args, "record_type");
    if (!cJSON_IsString (jt) || !jt->valuestring || !*jt->valuestring) {
        snprintf (call->text, sizeof call->text, "%s: args need \"record_type\"", cmd);
        return NULL;
    }
    return jt->valuestring;
}

static int
s_get (sl_admin_call_t *call)
{
    const char *type = s_arg_type (call, "schema.get");
    if (!type)
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    const cJSON *jv = cJSON_GetObjectItemCaseSensitive (call->args, "version");
    uint32_t version = cJSON_IsNumber (jv) && jv->valuedouble >= 0 ? (uint32_t) jv->valuedouble : 0;
    const sl_schema_t *s = sl_schema_find (type);
    if (s && s->version == 0) {
        snprintf (call->text, sizeof call->text, "schema.get: %s is built into the broker "
                  "(schemas/sluice/v1/consent.proto)", type);
        call->result = s_schema_json (s);
        return 0;
    }
    MDB_txn *txn;
    int code = s_txn (call, &txn, "schema.get");
    if (code)
        return code;
    Sluice__V1__SchemaVersion *sv = NULL;
    int rc = sl_schema_store_get (sl_govern_schemas (call->ctx->govern), txn, type,
                                  version, &sv);
    if (rc != 0) {
        snprintf (call->text, sizeof call->text, "schema.get: %s%s%u: %s", type,
                  version ? " version " : "", version, rc == SL_ENOTFOUND
                  ? "not registered (sluicectl schema list shows what is)" : sl_strerror (rc));
        if (!version) {
            snprintf (call->text, sizeof call->text, "schema.get: %s: %s", type,
                      rc == SL_ENOTFOUND ? "not registered (sluicectl schema list shows what is)"
                                         : sl_strerror (rc));
        }
        return sl_reason_from_rc (rc);
    }
    cJSON *res = NULL;
    sl_schema_t *built = NULL;
    char err[400];
    if (s && s->version == sv->version)
        res = s_schema_json (s);
    else if (sl_schema_build (sv->descriptor_set.data, sv->descriptor_set.len, type, sv->version,
                              &built, err, sizeof err) == 0)
        res = s_schema_json (built);
    else {
        res = cJSON_CreateObject ();
        cJSON_AddStringToObject (res, "record_type", type);
        cJSON_AddNumberToObject (res, "version", sv->version);
        cJSON_AddStringToObject (res, "error", err);
    }
    sl_schema_free (&built);
    cJSON_AddBoolToObject (res, "in_force", s && s->version == sv->version);
    cJSON_AddStringToObject (res, "actor", sv->actor);
    cJSON_AddStringToObject (res, "role", sv->role);
    cJSON_AddNumberToObject (res, "time", (double) sv->time);
    cJSON_AddBoolToObject (res, "breaking", sv->breaking);
    cJSON_AddStringToObject (res, "registered_file", sv->file);
    size_t b64len = sodium_base64_encoded_len (sv->descriptor_set.len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = malloc (b64len);
    if (b64) {
        sodium_bin2base64 (b64, b64len, sv->descriptor_set.data, sv->descriptor_set.len,
                           sodium_base64_VARIANT_ORIGINAL);
        cJSON_AddStringToObject (res, "descriptor_set", b64);
        free (b64);
    }
    snprintf (call->text, sizeof call->text, "%s version %u", type, sv->version);
    sluice__v1__schema_version__free_unpacked (sv, NULL);
    call->result = res;
    return 0;
}

static int
s_history_one (void *arg, const Sluice__V1__SchemaVersion *v)
{
    cJSON *o = cJSON_CreateObject ();
    cJSON_AddNumberToObject (o, "version", v->version);
    cJSON_AddStringToObject (o, "actor", v->actor);
    cJSON_AddStringToObject (o, "role", v->role);
    cJSON_AddNumberToObject (o, "time", (double) v->time);
    cJSON_AddBoolToObject (o, "breaking", v->breaking);
    cJSON_AddStringToObject (o, "file", v->file);
    cJSON_AddItemToArray (arg, o);
    return 0;
}

static int
s_history (sl_admin_call_t *call)
{
    const char *type = s_arg_type (call, "schema.history");
    if (!type)
        return SLUICE__V1__ERROR_CODE__BAD_REQUEST;
    MDB_txn *txn;
    int code = s_txn (call, &txn, "schema.history");
    if (code)
        return code;
    cJSON *arr = cJSON_CreateArray ();
    int rc = sl_schema_store_each_version (sl_govern_schemas (call->ctx->govern),
                                           txn, type, s_history_one, arr);
    cJSON *res = cJSON_CreateObject ();
    cJSON_AddStringToObject (res, "record_type", type);
    cJSON_AddItemToObject (res, "versions", arr);
    call->result = res;
    if (rc != 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__INTERNAL,
                              "schema.history: %s", sl_strerror (rc));
    if (cJSON_GetArraySize (arr) == 0)
        return sl_admin_fail (call, SLUICE__V1__ERROR_CODE__NOT_FOUND,
                              "schema.history: %s is not registered", type);
    snprintf (call->text, sizeof call->text, "%s: %d versions", type, cJSON_GetArraySize (arr));
    return 0;
}

const sl_admin_command_t sl_admin_schema_commands[] = {
    { "schema.register", "admin:*", s_register },
    { "schema.list", "*", s_list },
    { "schema.get", "*", s_get },
    { "schema.history", "*", s_history },
};
const size_t sl_admin_schema_count = sizeof sl_admin_schema_commands / sizeof sl_admin_schema_commands[0];

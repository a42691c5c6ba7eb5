/*  sl_govern — policy, consent and audit wired into the broker: keys,
 *  lifecycle, deciding, auditing, the consent data channel, sealed queue
 *  subjects. The notices of ended consents are in sl_govern_notice.c; what
 *  the two share in sl_govern_int.h.
 *
 *  Design notes:
 *
 *  1. Every decision goes through sl_govern_decide: the policy index in force
 *     (sl_policy_store), consent looked up in the decision's own transaction
 *     (the batch write transaction at publish, a read transaction at
 *     delivery), so a consent granted earlier in the same batch counts.
 *  2. The audit recorder appends one entry per broker event inside the
 *     batch transaction; sl_audit_txn_outcome (a batch listener) keeps the
 *     chain head in step with commits and aborts.
 *  3. Pseudonym keys are derived per consumer from DIR/pseudonym.key with
 *     sl_policy_pseudonym_key and cached (one derivation per consumer).
 *  4. Ended consents (withdrawal, expiry) and their notices:
 *     sl_govern_notice.c (its design note).
 *  5. Queued records keep the raw subject only sealed (crypto_secretbox with
 *     a key derived from the pseudonym secret) in an extra RecordMeta field,
 *     so delivery-time consent checks see the real subject while the store
 *     never holds it in clear. The field is stripped before DELIVER. It is
 *     opened only when the decision is asked again (sl_disclose.h note 3);
 *     otherwise the copy's audit pseudonym, made at publish, names the
 *     subject in the `deliver` entry.
 */
#include "sl_govern_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "sl_batch.h"
#include "sl_clock.h"
#include "sl_commit_admin.h"
#include "sl_consent_entry.h"
#include "sl_schema_store.h"
#include "sl_error.h"
#include "sl_log.h"
#include "sl_registry.h"
#include "sl_schema.h"
#include "sl_store.h"
#include "sl_role.h"

/* ---------------------------------------------------------------- keys */

static int
s_write_secret (const char *path, const uint8_t *data, size_t len)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return errno == EEXIST ? SL_EEXIST : SL_EIO;
    ssize_t w = write (fd, data, len);
    int rc = (w == (ssize_t) len && fsync (fd) == 0) ? 0 : SL_EIO;
    close (fd);
    return rc;
}

int
sl_govern_init_keys (const char *dir, char *err, size_t errlen)
{
    char path[600];
    snprintf (path, sizeof path, "%s/%s", dir, SL_PSEUDONYM_KEY_FILE);
    if (access (path, F_OK) == 0) {
        snprintf (err, errlen, "%s exists already", path);
        return SL_EEXIST;
    }
    int rc = sl_audit_keygen (dir, err, errlen);
    if (rc != 0)
        return rc;
    uint8_t secret[SL_POLICY_SECRET_LEN];
    randombytes_buf (secret, sizeof secret);
    rc = s_write_secret (path, secret, sizeof secret);
    sodium_memzero (secret, sizeof secret);
    if (rc != 0)
        snprintf (err, errlen, "%s: cannot create: %s", path, strerror (errno));
    return rc;
}

static int
s_load_secret (const char *dir, uint8_t secret[SL_POLICY_SECRET_LEN], char *err, size_t errlen)
{
    char path[600];
    struct stat st;
    snprintf (path, sizeof path, "%s/%s", dir, SL_PSEUDONYM_KEY_FILE);
    int fd = open (path, O_RDONLY);
    if (fd < 0) {
        snprintf (err, errlen, "%s: %s (run `sluiced init` to create the keys)", path, strerror (errno));
        return SL_EKEY;
    }
    int rc = SL_EKEY;
    if (fstat (fd, &st) != 0 || (st.st_mode & 077) != 0)
        snprintf (err, errlen, "%s: unsafe mode %03o; it must be 0600 (chmod 600 %s)", path,
                  (unsigned) (st.st_mode & 0777), path);
    else if (st.st_size != SL_POLICY_SECRET_LEN
             || read (fd, secret, SL_POLICY_SECRET_LEN) != SL_POLICY_SECRET_LEN)
        snprintf (err, errlen, "%s: must hold exactly %d bytes", path, SL_POLICY_SECRET_LEN);
    else
        rc = 0;
    close (fd);
    return rc;
}

/*  The pseudonym key of `consumer`, derived once and cached. NULL only for
 *  an empty name. */
const uint8_t *
sl_govern__key (sl_govern_t *self, const char *consumer)
{
    for (size_t i = 0; i < self->n_keys; i++)
        if (strcmp (self->keys[i].consumer, consumer) == 0)
            return self->keys[i].key;
    size_t slot = self->n_keys < S_KEYS_MAX ? self->n_keys++ : (size_t) randombytes_uniform (S_KEYS_MAX);
    s_key_t *k = &self->keys[slot];
    if (sl_policy_pseudonym_key (self->secret, consumer, k->key) != 0) {
        if (slot == self->n_keys - 1)
            self->n_keys--;
        return NULL;
    }
    snprintf (k->consumer, sizeof k->consumer, "%s", consumer);
    return k->key;
}

/* ---------------------------------------------------------- lifecycle */

/*  After a commit put new record types in force: the policies in force
 *  are compiled again against them (and owners set aside get a new chance). */
static void
s_schemas_changed (void *arg)
{
    sl_govern_t *self = arg;
    MDB_txn *txn;
    sl_policy_diags_t *diags = sl_policy_diags_new ();
    if (!diags || mdb_txn_begin (sl_store_env (self->w.store), NULL,
                                 MDB_RDONLY, &txn) != 0) {
        sl_error ("policy.reload-failed", "reason=no-read-transaction");
        sl_policy_diags_destroy (&diags);
        return;
    }
    int rc = sl_policy_store_load (self->policy, txn, diags);
    mdb_txn_abort (txn);
    if (rc != 0)
        sl_error ("policy.reload-failed", "reason=%s", sl_strerror (rc));
    /* a type skipped at start and registered since is no longer missing */
    char *line = self->schemas_skipped, *w = self->schemas_skipped;
    while (line && *line) {
        char *end = strchr (line, '\n');
        size_t len = end ? (size_t) (end - line + 1) : strlen (line);
        char type[SL_SCHEMA_NAME_MAX + 1];
        size_t tl = strcspn (line, ":");
        snprintf (type, sizeof type, "%.*s", (int) (tl < sizeof type ? tl : sizeof type - 1), line);
        if (!sl_schema_find (type)) {
            memmove (w, line, len);
            w += len;
        }
        line += len;
    }
    if (w)
        *w = 0;
    sl_policy_diags_destroy (&diags);
}

void
sl_govern_report_start (sl_govern_t *self)
{
    for (size_t i = 0; i < sl_policy_store_aside_count (self->policy); i++) {
        uint32_t version;
        const char *owner = sl_policy_store_aside_owner (self->policy, i, &version);
        char detail[64];
        snprintf (detail, sizeof detail, "version=%u", version);
        sl_event_t ev = { .kind = SL_AUDIT_POLICY_SET_ASIDE, .actor = "sluiced", .owner = owner,
                          .decision = "set-aside", .reason = "does-not-check",
                          .detail = detail };
        self->w.event (self->w.ctx, &ev);
    }
    if (self->schemas_skipped && *self->schemas_skipped) {
        sl_event_t ev = { .kind = SL_AUDIT_SCHEMA_SKIPPED, .actor = "sluiced", .decision = "skipped",
                          .reason = "does-not-build", .detail = self->schemas_skipped };
        self->w.event (self->w.ctx, &ev);
    }
}

sl_schema_store_t *sl_govern_schemas (sl_govern_t *self) { return self->schemas; }
const char *sl_govern_schemas_skipped (sl_govern_t *self)
{
    return self->schemas_skipped ? self->schemas_skipped : "";
}

sl_govern_t *
sl_govern_new (const sl_govern_wiring_t *w, const char *data_dir, const sl_govern_config_t *cfg,
               char *err, size_t errlen)
{
    sl_govern_t *self = calloc (1, sizeof *self);
    MDB_txn *txn = NULL;
    sl_policy_diags_t *diags = NULL;
    if (!self) {
        snprintf (err, errlen, "out of memory");
        return NULL;
    }
    self->w = *w;
    self->cfg = *cfg;
    if (s_load_secret (data_dir, self->secret, err, errlen) != 0)
        goto fail;
    crypto_generichash (self->seal_key, sizeof self->seal_key,
                        (const uint8_t *) "sluice queue subject seal", 25,
                        self->secret, sizeof self->secret);
    MDB_env *env = sl_store_env (w->store);
    char aerr[300];
    if (!(self->audit = sl_audit_open (env, data_dir, 0, aerr, sizeof aerr))) {
        snprintf (err, errlen, "audit log: %s", aerr);
        goto fail;
    }
    int rc = 0;
    if (mdb_txn_begin (env, NULL, 0, &txn) != 0) {
        snprintf (err, errlen, "cannot begin a store transaction");
        goto fail;
    }
    if (!(self->consent = sl_consent_new (txn, &rc))) {
        snprintf (err, errlen, "consent registry: %s", sl_strerror (rc));
        goto fail;
    }
    if (!(self->policy = sl_policy_store_new (txn, w->registry, &rc))) {
        snprintf (err, errlen, "policy store: %s", sl_strerror (rc));
        goto fail;
    }
    if (!(self->schemas = sl_schema_store_new (txn, &rc))) {
        snprintf (err, errlen, "schema registry: %s", sl_strerror (rc));
        goto fail;
    }
    rc = mdb_txn_commit (txn);
    txn = NULL;
    if (rc != 0) {
        snprintf (err, errlen, "cannot create the policy and consent databases: %s", mdb_strerror (rc));
        goto fail;
    }
    if (mdb_txn_begin (env, NULL, MDB_RDONLY, &txn) != 0 || !(diags = sl_policy_diags_new ())) {
        snprintf (err, errlen, "cannot read the stored policies");
        goto fail;
    }
    /* record types first: the policies are checked against them */
    if (!(self->schemas_skipped = calloc (1, 4096))) {
        snprintf (err, errlen, "out of memory");
        goto fail;
    }
    rc = sl_schema_store_load (self->schemas, txn, self->schemas_skipped, 4096);
    if (rc < 0) {
        snprintf (err, errlen, "cannot read the schema registry: %s", sl_strerror (rc));
        goto fail;
    }
    sl_info ("schema.loaded", "types=%d skipped=%s", rc, *self->schemas_skipped ? "yes" : "none");
    rc = sl_policy_store_load (self->policy, txn, diags);
    mdb_txn_abort (txn);
    txn = NULL;
    if (rc != 0) {
        char *t = sl_policy_diags_render (diags);
        snprintf (err, errlen, "the stored policies do not load (%s): %s", sl_strerror (rc),
                  t ? t : "");
        free (t);
        goto fail;
    }
    sl_policy_diags_destroy (&diags);
    sl_batch_t *batch = w->batch;
    if (sl_batch_listen (batch, sl_audit_txn_outcome, self->audit) != 0
        || sl_batch_listen (batch, sl_policy_store_txn_outcome, self->policy) != 0
        || sl_batch_listen (batch, sl_govern__outcome, self) != 0
        /* last: a commit that registered types puts them in force, then
           the policies are compiled again against them */
        || sl_batch_listen (batch, sl_schema_store_txn_outcome, self->schemas) != 0) {
        snprintf (err, errlen, "out of memory");
        goto fail;
    }
    sl_schema_store_on_change (self->schemas, s_schemas_changed, self);
    self->scanned_to = sl_now_ms () / 1000;
    sl_info ("govern.ready", "rules=%zu audit_head=%llu checkpoint_every=%llu checkpoint_interval_ms=%u",
             sl_policy_index_rule_count (sl_policy_store_index (self->policy)),
             (unsigned long long) sl_audit_head (self->audit, NULL),
             (unsigned long long) cfg->checkpoint_every, cfg->checkpoint_interval_ms);
    return self;
fail:
    if (txn)
        mdb_txn_abort (txn);
    sl_policy_diags_destroy (&diags);
    sl_govern_destroy (&self);
    return NULL;
}

void
sl_govern_destroy (sl_govern_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_govern_t *self = *self_p;
    sl_audit_destroy (&self->audit);
    sl_consent_destroy (&self->consent);
    sl_policy_store_destroy (&self->policy);
    sl_schema_store_destroy (&self->schemas);
    free (self->schemas_skipped);
    sl_schema_reset ();          /* the types this broker put in force */
    sodium_memzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

sl_audit_t *sl_govern_audit (sl_govern_t *self) { return self->audit; }
sl_consent_t *sl_govern_consent (sl_govern_t *self) { return self->consent; }
sl_policy_store_t *sl_govern_policy (sl_govern_t *self) { return self->policy; }

/* ------------------------------------------------------------ deciding */

typedef struct {
    sl_consent_t *registry;
    MDB_txn *txn;
    int checked;
    sl_consent_decision_t decision;
} s_consent_ctx_t;

static sl_consent_status_t
s_consent_cb (void *arg, const char *subject, const char *owner, const char *consumer,
              const char *purpose, const char *record_type, int64_t time)
{
    s_consent_ctx_t *c = arg;
    if (!c->txn || !subject || !*subject)
        return SL_CONSENT_MISSING;
    int rc = sl_consent_check (c->registry, c->txn, subject, owner, consumer, purpose,
                               record_type, time, &c->decision);
    if (rc != 0) {
        sl_warn ("consent.check.error", "error=\"%s\"", sl_strerror (rc));
        return SL_CONSENT_MISSING;
    }
    c->checked = 1;
    return (sl_consent_status_t) c->decision.status;
}

/*  A consent limited to some fields releases only those. */
static void
s_consent_fields (sl_policy_transform_t *t, const sl_consent_decision_t *d)
{
    if (!d->fields[0] || !t->schema)
        return;
    const ProtobufCMessageDescriptor *desc = t->schema->descriptor;
    for (unsigned i = 0; i < desc->n_fields && i < SL_POLICY_MAX_FIELDS; i++) {
        const char *name = desc->fields[i].name;
        if (t->schema->subject_field && strcmp (name, t->schema->subject_field) == 0)
            continue;      /* the subject is governed by the policy's subject clause */
        if (!sl_consent_decision_allows_field (d, name))
            t->keep[i / 64] &= ~((uint64_t) 1 << (i % 64));
    }
}

/*  Copies src into dst (size bytes), cut to fit. Per decision: no formatting. */
static void
s_copy (char *dst, size_t size, const char *src)
{
    size_t n = strlen (src);
    if (n >= size)
        n = size - 1;
    memcpy (dst, src, n);
    dst[n] = 0;
}

int
sl_govern_decide (void *ctx, const sl_decide_input_t *in, sl_decide_output_t *out)
{
    sl_govern_t *self = ctx;
    s_consent_ctx_t cc = { .registry = self->consent, .txn = in->txn };
    MDB_txn *own = NULL;
    if (!cc.txn) {
        if (sl_store_read (self->w.store, &own) != 0)
            return SL_ESTORE;
        cc.txn = own;
    }
    sl_policy_request_t req = {
        .owner = in->owner, .consumer = in->consumer, .record_type = in->record_type,
        .purpose = in->purpose ? in->purpose : "",
        .subject = in->subject && *in->subject ? in->subject : NULL,
        .time = in->time_ms / 1000, .record = in->record,
        .consent = s_consent_cb, .consent_arg = &cc,
        /*  At delivery the record was decided with its content at publish
         *  (the queued copy may lack the fields); a query is checked row by
         *  row at REPLY, so the asker's check vouches for rows too. */
        .rows_checked = in->record == NULL
                        && (in->stage == SL_DECIDE_DELIVER || in->stage == SL_DECIDE_QUERY),
    };
    sl_policy_decision_t d;
    int rc = sl_policy_decide (sl_policy_store_index (self->policy), &req, &d);
    if (rc != 0)
        goto done;
    if (d.rule && out->n_rules < SL_DECIDE_MAX_RULES)
        sl_policy_rule_ref (d.rule, out->rules[out->n_rules++], SL_DECIDE_RULE_MAX);
    for (size_t i = 0; i < d.n_strips && i < SL_POLICY_MAX_STRIPS && out->n_rules < SL_DECIDE_MAX_RULES; i++)
        sl_policy_rule_ref (d.strips[i], out->rules[out->n_rules++], SL_DECIDE_RULE_MAX);
    if (!d.permit) {
        s_copy (out->reason, sizeof out->reason, d.reason ? d.reason : "denied");
        goto done;
    }
    if (cc.checked)
        s_consent_fields (&d.transform, &cc.decision);
    const char *names[SL_POLICY_MAX_FIELDS];
    size_t nf = sl_policy_transform_fields (&d.transform, names, SL_POLICY_MAX_FIELDS);
    size_t o = 0;
    for (size_t i = 0; i < nf && i < SL_POLICY_MAX_FIELDS; i++) {
        /* whole names only: a list cut inside a name would name another field */
        size_t l = strlen (names[i]);
        if (o + (i ? 1 : 0) + l + 1 > sizeof out->fields)
            break;
        if (i)
            out->fields[o++] = ',';
        memcpy (out->fields + o, names[i], l);
        o += l;
    }
    out->fields[o] = 0;
    out->fields_set = 1;
    out->coarsen_s = (int64_t) d.transform.coarsen;
    const uint8_t *key = NULL;
    if (d.transform.subject == SL_POLICY_SUBJECT_PSEUDONYMIZE) {
        if (!(key = sl_govern__key (self, in->consumer))) {
            rc = SL_EINVAL;
            goto done;
        }
        sl_policy_pseudonymize (key, in->subject ? in->subject : "", out->subject);
        out->subject_set = 1;
    }
    else if (d.transform.subject == SL_POLICY_SUBJECT_DROP) {
        out->subject[0] = 0;
        out->subject_set = 1;
    }
    if (in->stage == SL_DECIDE_DELIVER && in->body
        && !sl_policy_transform_is_identity (&d.transform)) {
        /* the queued copy was shaped at publish: shape it again with the
         * permit in force (fields and time only shrink, so this is
         * idempotent), without pseudonymizing a pseudonym twice */
        sl_policy_transform_t t = d.transform;
        if (t.subject == SL_POLICY_SUBJECT_PSEUDONYMIZE && in->subject_shaped)
            t.subject = SL_POLICY_SUBJECT_KEEP;
        size_t cap = in->body_len + 128, len = 0;
        uint8_t *buf = malloc (cap);
        if (!buf) {
            rc = SL_ENOMEM;
            goto done;
        }
        rc = sl_policy_transform_bytes (&t, in->body, in->body_len, key, buf, cap, &len);
        if (rc != 0) {
            free (buf);
            goto done;
        }
        out->body = buf;
        out->body_len = len;
    }
    out->until_s = d.until;
    if (cc.checked && cc.decision.next_change > 0 && cc.decision.next_change < out->until_s)
        out->until_s = cc.decision.next_change;
    if (in->record && !sl_policy_transform_is_identity (&d.transform)) {
        size_t cap = protobuf_c_message_get_packed_size (in->record) + 128, len = 0;
        uint8_t *buf = malloc (cap);
        if (!buf) {
            rc = SL_ENOMEM;
            goto done;
        }
        rc = sl_policy_transform_pack (&d.transform, in->record, key, buf, cap, &len);
        if (rc == SL_ETOOBIG) {
            uint8_t *b2 = realloc (buf, cap = len);
            if (!b2) {
                free (buf);
                rc = SL_ENOMEM;
                goto done;
            }
            buf = b2;
            rc = sl_policy_transform_pack (&d.transform, in->record, key, buf, cap, &len);
        }
        if (rc != 0) {
            free (buf);
            goto done;
        }
        out->body = buf;
        out->body_len = len;
    }
    out->permit = 1;
done:
    if (own)
        mdb_txn_abort (own);
    return rc;
}

void
sl_govern_bound (sl_govern_t *self, const char *subject, int64_t until_s,
                 sl_disclose_bound_t *out)
{
    memset (out, 0, sizeof *out);
    out->policy = sl_policy_store_generation (self->policy);
    out->slot = sl_consent_epoch_slot (subject ? subject : "");
    out->consent = sl_consent_epoch_at (self->consent, out->slot);
    out->until_s = until_s;
    if (!subject || !*subject)
        return;
    /* a record's copies for several subscriptions ask for the same one */
    if (strcmp (self->last_subject, subject) == 0) {
        memcpy (out->pseudonym, self->last_pseudonym, sizeof out->pseudonym);
        out->has_pseudonym = 1;
        return;
    }
    out->has_pseudonym = sl_audit_pseudonym (self->audit, subject, out->pseudonym) == 0;
    if (out->has_pseudonym && strlen (subject) < sizeof self->last_subject) {
        memcpy (self->last_subject, subject, strlen (subject) + 1);
        memcpy (self->last_pseudonym, out->pseudonym, sizeof self->last_pseudonym);
    }
}

int
sl_govern_bound_holds (sl_govern_t *self, const sl_disclose_bound_t *b, int64_t now_ms)
{
    return b->until_s > 0 && now_ms / 1000 < b->until_s
           && b->policy == sl_policy_store_generation (self->policy)
           && b->consent == sl_consent_epoch_at (self->consent, b->slot);
}

/* ------------------------------------------------------------ auditing */

int
sl_govern_record (void *ctx, MDB_txn *txn, const sl_event_t *ev)
{
    sl_govern_t *self = ctx;
    sl_audit_event_t a = {
        .kind = ev->kind, .actor = ev->actor, .counterpart = ev->counterpart,
        .owner = ev->owner, .record_type = ev->record_type, .message_id = ev->message_id,
        .subject = ev->subject && *ev->subject ? ev->subject : NULL,
        .subject_pseudonym = ev->subject_pseudonym,
        .purpose = ev->purpose, .decision = ev->decision, .rules = ev->rules,
        .fields = ev->fields, .reason = ev->reason, .detail = ev->detail,
    };
    return sl_audit_append (self->audit, txn, &a, NULL);
}

int
sl_govern_checkpoint (sl_govern_t *self)
{
    int rc = sl_commit_audit_checkpoint (self->w.commit, self->audit, 0);
    if (rc != 0) {
        sl_error ("audit.checkpoint_failed", "error=\"%s\"", sl_strerror (rc));
        sl_commit_abort (self->w.commit);
        return rc;
    }
    sl_commit_note (self->w.commit, 1);
    return 0;
}

/* ------------------------------------------------------------ notices */
long
sl_govern_tick (sl_govern_t *self, int64_t now_ms)
{
    if (now_ms >= self->next_checkpoint_check_ms) {
        self->next_checkpoint_check_ms = now_ms + 100;
        if (sl_audit_checkpoint_due (self->audit, self->cfg.checkpoint_every,
                                     (int64_t) self->cfg.checkpoint_interval_ms * 1000, now_ms * 1000))
            sl_govern_checkpoint (self);
    }
    if (now_ms >= self->next_scan_ms) {
        self->next_scan_ms = now_ms + (self->cfg.consent_scan_ms ? self->cfg.consent_scan_ms : 1000);
        sl_govern__scan_ended (self, now_ms);
    }
    long a = (long) (self->next_checkpoint_check_ms - now_ms);
    long b = (long) (self->next_scan_ms - now_ms);
    return a < b ? (a > 0 ? a : 1) : (b > 0 ? b : 1);
}

/* ------------------------------------------------- consent data channel */

int
sl_govern_consent_event (sl_govern_t *self, const char *member, const char *role,
                         const uint8_t *body, size_t len, char *err, size_t errlen)
{
    if (!sl_role_is_consent_source (role)) {
        snprintf (err, errlen,
                  "member '%s' (role %s) may not publish sluice.v1.ConsentEvent: only members "
                  "with role consent-source may", member, role ? role : "?");
        return SL_EPERM;
    }
    Sluice__V1__ConsentEvent *ev = sluice__v1__consent_event__unpack (NULL, len, body);
    if (!ev) {
        snprintf (err, errlen, "body (%zu bytes) does not decode as sluice.v1.ConsentEvent", len);
        return SL_EDECODE;
    }
    int rc = sl_commit_ready (self->w.commit);
    if (rc != 0) {
        sluice__v1__consent_event__free_unpacked (ev, NULL);
        snprintf (err, errlen, "broker store unavailable");
        return rc;
    }
    const char *roles[] = { role, NULL };
    sl_consent_actor_t actor = { .name = member, .via = SL_CONSENT_VIA_DATA, .roles = roles };
    sl_consent_result_t res;
    sl_consent_record_t *rec = NULL;
    rc = sl_commit_consent_apply (self->w.commit, self->consent, ev, &actor, sl_now_ms () / 1000,
                                  &res, &rec);
    sluice__v1__consent_event__free_unpacked (ev, NULL);
    if (rc != 0) {
        snprintf (err, errlen, "%s", res.error[0] ? res.error : sl_strerror (rc));
        return rc;
    }
    /* the same entry as the admin plane's (one builder): the actor, a
     * consent-source member, tells which plane it came through */
    sl_consent_entry_buf_t buf;
    sl_audit_event_t a;
    sl_consent_entry (&a, &buf, &res, rec, member, NULL);
    const char *kind = a.kind;
    rc = sl_commit_audit_append (self->w.commit, self->audit, &a, NULL);
    sl_consent_record_destroy (&rec);
    if (rc != 0) {
        snprintf (err, errlen, "cannot record the consent event: %s", sl_strerror (rc));
        return rc == SL_EFULL ? SL_EFULL : SL_ESTORE;
    }
    if (res.access_ended)
        self->scan_soon = 1;
    sl_info ("consent.applied", "member=%s kind=%s consent=%s", member, kind, res.consent_id);
    return 0;
}

/* ------------------------------------------------ sealed queue subjects */

int
sl_govern_seal_subject (sl_govern_t *self, const char *subject, uint8_t *out, size_t cap,
                        size_t *len)
{
    size_t n = strlen (subject);
    size_t need = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
    if (cap < need)
        return SL_ETOOBIG;
    randombytes_buf (out, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy (out + crypto_secretbox_NONCEBYTES, (const uint8_t *) subject, n,
                           out, self->seal_key);
    *len = need;
    return 0;
}

int
sl_govern_open_subject (sl_govern_t *self, const uint8_t *sealed, size_t len,
                        char *out, size_t size)
{
    if (len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return SL_ECORRUPT;
    size_t n = len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    if (n + 1 > size)
        return SL_ETOOBIG;
    if (crypto_secretbox_open_easy ((uint8_t *) out, sealed + crypto_secretbox_NONCEBYTES,
                                    len - crypto_secretbox_NONCEBYTES, sealed, self->seal_key) != 0)
        return SL_ECORRUPT;
    out[n] = 0;
    return 0;
}

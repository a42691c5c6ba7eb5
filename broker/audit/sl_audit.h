/*  sl_audit — the tamper-evident audit log (docs/AUDIT.md is the contract).
 *
 *  Every decision sluiced takes is appended as one entry to the LMDB named
 *  database `audit.log`, inside the write transaction that carries the effect
 *  (the broker's group-commit transaction). Entries are hash-chained
 *  (BLAKE2b-256), checkpoints are signed (Ed25519), and verification needs
 *  nothing but the data directory and the public key.
 *
 *  The rules the caller must follow:
 *
 *   1. sl_audit_open() runs (and commits) a write transaction of its own to
 *      create the databases: call it when no other write transaction is open
 *      in the calling thread.
 *   2. sl_audit_append() and sl_audit_checkpoint() write into the caller's
 *      write transaction; the library never commits or aborts it. The chain
 *      head is read from that transaction (database `audit.meta`), so an
 *      aborted transaction can never leave a hole or a fork in the chain.
 *   3. After the caller commits, it calls sl_audit_after_commit(); after it
 *      aborts, sl_audit_after_abort(). These keep the in-memory copy of the
 *      committed head (used by sl_audit_checkpoint_due() and
 *      sl_audit_head()) equal to what is on disk. Forgetting one never
 *      corrupts the log; it only makes checkpoint scheduling stale.
 *   4. Read-side functions (iterators, verify, summary) work in read
 *      transactions and never write.
 *
 *  Raw citizen ids given to this module are pseudonymized at once with the
 *  audit pseudonym key (keyed BLAKE2b-256) and never stored.
 */
#ifndef SL_AUDIT_H
#define SL_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>

#define SL_AUDIT_HASH_LEN     32    /* BLAKE2b-256 */
#define SL_AUDIT_PSEUDO_LEN   32    /* keyed BLAKE2b-256 of a citizen id */
#define SL_AUDIT_MSGID_LEN    16
#define SL_AUDIT_PK_LEN       32    /* Ed25519 public key */
#define SL_AUDIT_SIG_LEN      64    /* Ed25519 signature */
#define SL_AUDIT_PK_HEX_LEN   64    /* public key as lowercase hex, no NUL */

/*  Key files in the key directory (usually the data directory):
 *    audit-sign.key       Ed25519 secret key (mode 0600)
 *    audit-sign.pub       Ed25519 public key (hex; publishable)
 *    audit-pseudonym.key  32-byte pseudonym key (mode 0600)
 *  Formats: docs/AUDIT.md §Keys. */
#define SL_AUDIT_SIGN_KEY_FILE    "audit-sign.key"
#define SL_AUDIT_SIGN_PUB_FILE    "audit-sign.pub"
#define SL_AUDIT_PSEUDO_KEY_FILE  "audit-pseudonym.key"

/*  Entry kinds (docs/AUDIT.md §Kinds has the meaning of each). The kind is
 *  stored as text; these macros only avoid typos. */
#define SL_AUDIT_PUBLISH           "publish"
#define SL_AUDIT_PUBLISH_REFUSED   "publish.refused"
#define SL_AUDIT_QUEUE             "queue"
#define SL_AUDIT_DELIVER           "deliver"
#define SL_AUDIT_ACK               "ack"
#define SL_AUDIT_DENY              "deny"
#define SL_AUDIT_QUERY             "query"
#define SL_AUDIT_REPLY             "reply"
#define SL_AUDIT_AUTH_DENIED       "auth.denied"
#define SL_AUDIT_AUTH_DENIED_SUMMARY "auth.denied.summary"
#define SL_AUDIT_MEMBER_ADD        "member.add"
#define SL_AUDIT_MEMBER_REVOKE     "member.revoke"
#define SL_AUDIT_MEMBER_KEY_ADD    "member.key.add"     /* key rollover: a second key */
#define SL_AUDIT_MEMBER_KEY_RETIRE "member.key.retire"  /* ... one key retired */
#define SL_AUDIT_BROKER_KEY_ADD    "broker.key.add"     /* the broker's next key served */
#define SL_AUDIT_BROKER_KEY_RETIRE "broker.key.retire"  /* ... the old one retired */
#define SL_AUDIT_POLICY_APPLY      "policy.apply"
#define SL_AUDIT_POLICY_ROLLBACK   "policy.rollback"
#define SL_AUDIT_POLICY_EXPLAIN    "policy.explain"    /* one person's access explained */
#define SL_AUDIT_CONSENT_GRANT     "consent.grant"
#define SL_AUDIT_CONSENT_RENEW     "consent.renew"
#define SL_AUDIT_CONSENT_WITHDRAW  "consent.withdraw"
#define SL_AUDIT_BROKER_START      "broker.start"
#define SL_AUDIT_BROKER_STOP       "broker.stop"
#define SL_AUDIT_AUDIT_ARCHIVE     "audit.archive"
#define SL_AUDIT_FILTERED          "filtered"   /* rows a `where` left out, one entry per batch */
#define SL_AUDIT_LOOKUP            "lookup"     /* an administrator or auditor looked a person up */
#define SL_AUDIT_SCHEMA_REGISTER   "schema.register"   /* a record type version registered */
#define SL_AUDIT_SCHEMA_SKIPPED    "schema.skipped"    /* at start: stored types that did not build */
#define SL_AUDIT_POLICY_SET_ASIDE  "policy.set-aside"  /* at start: a policy that no longer checks */

/*  Every kind above, for checking a kind filter (did you mean). */
extern const char *const sl_audit_kinds[];
extern const size_t sl_audit_n_kinds;

typedef struct sl_audit_s       sl_audit_t;
typedef struct sl_audit_iter_s  sl_audit_iter_t;
typedef struct sl_audit_summary_s sl_audit_summary_t;

/*  What the caller describes. Every string may be NULL (stored as empty);
 *  strings are UTF-8 without NUL, at most SL_AUDIT_FIELD_MAX bytes each.
 *  Borrowed for the duration of the call only. */
#define SL_AUDIT_FIELD_MAX 65535
typedef struct {
    int64_t        time_us;       /* Unix microseconds; 0 = now */
    const char    *kind;          /* required, e.g. SL_AUDIT_DELIVER */
    const char    *actor;         /* member/admin who acted (handshake User-Id) */
    const char    *counterpart;   /* consumer / recipient / peer */
    const char    *owner;         /* bureau owning the record type */
    const char    *record_type;   /* e.g. "water.v1.MeterReading" */
    const uint8_t *message_id;    /* SL_AUDIT_MSGID_LEN bytes, or NULL */
    const char    *subject;       /* RAW citizen id, or NULL: pseudonymized */
    const uint8_t *subject_pseudonym; /* or an already computed pseudonym
                                         (SL_AUDIT_PSEUDO_LEN); wins over subject */
    const char    *purpose;
    const char    *decision;      /* "permit", "deny", "ok", "error", ... */
    const char    *rules;         /* deciding rules: "name@version,name@version" */
    const char    *fields;        /* fields released: "a,b,c" */
    const char    *reason;
    const char    *detail;        /* free text, e.g. "fp=0123abcd peer=127.0.0.1" */
} sl_audit_event_t;

/*  A byte string inside a decoded entry. NOT NUL-terminated. */
typedef struct {
    const char *ptr;
    size_t      len;
} sl_audit_str_t;

/*  A decoded entry. All pointers point into the stored value: valid only
 *  until a subsequent update operation, or the end of the transaction
 *  (as LMDB's MDB_val). */
typedef struct {
    uint64_t       seq;
    int64_t        time_us;
    const uint8_t *prev_hash;                  /* SL_AUDIT_HASH_LEN bytes */
    sl_audit_str_t kind, actor, counterpart, owner, record_type;
    const uint8_t *message_id;                 /* NULL if none */
    const uint8_t *subject;                    /* pseudonym, NULL if none */
    sl_audit_str_t purpose, decision, rules, fields, reason, detail;
    const uint8_t *raw;                        /* the stored bytes */
    size_t         raw_len;
} sl_audit_entry_t;

/* ------------------------------------------------------------------------ */
/*  Keys                                                                    */

/*  Creates the audit signing key pair and the pseudonym key in `dir`
 *  (file names above; secret files mode 0600, created exclusively).
 *  Returns 0, SL_EEXIST if any of the three files exists (nothing is
 *  written then), SL_EIO otherwise; `err` (may be NULL) says which file. */
int sl_audit_keygen (const char *dir, char *err, size_t errlen);

/*  Reads the public key from DIR/audit-sign.pub (or any file in that format
 *  given by `path`). Returns 0, SL_EIO (cannot open) or SL_EKEY (malformed),
 *  with `err` as "PATH:LINE: what". */
int sl_audit_load_pubkey (const char *path, uint8_t pk[SL_AUDIT_PK_LEN],
                          char *err, size_t errlen);

/*  Parses a public key written as 64 hex digits. Returns 0 or SL_EKEY. */
int sl_audit_pubkey_from_hex (const char *hex, uint8_t pk[SL_AUDIT_PK_LEN]);

/*  Writes the public key as 64 lowercase hex digits + NUL into `out`.
 *  Cannot fail. */
void sl_audit_pubkey_hex (const uint8_t pk[SL_AUDIT_PK_LEN],
                          char out[SL_AUDIT_PK_HEX_LEN + 1]);

/* ------------------------------------------------------------------------ */
/*  Writer                                                                  */

enum {
    SL_AUDIT_RDONLY = 1   /* open for review only: needs no secret signing
                             key, creates nothing, append/checkpoint/archive
                             return SL_EPERM */
};

/*  Opens the audit log in `env` with the keys of `key_dir`. Without
 *  SL_AUDIT_RDONLY: creates the databases if missing (in a write transaction
 *  of its own, committed before returning) and needs all three key files.
 *  With SL_AUDIT_RDONLY: needs only audit-sign.pub; the pseudonym key is
 *  loaded if present (subject look-ups need it). `env` is borrowed and must
 *  outlive the handle. Returns NULL on error with `err` (may be NULL) set:
 *  missing or unsafe key file (mode not 0600), LMDB error. */
sl_audit_t *sl_audit_open (MDB_env *env, const char *key_dir, int flags,
                           char *err, size_t errlen);

/*  Frees the handle; does not touch the environment. Harmless on NULL. */
void sl_audit_destroy (sl_audit_t **self_p);

/*  Appends one entry inside the caller's write transaction `txn`. The next
 *  sequence number and the previous hash come from `txn` itself. On success
 *  `*seq_out` (may be NULL) gets the entry's sequence number. Returns 0,
 *  SL_EINVAL (no kind, a field over SL_AUDIT_FIELD_MAX, a subject given but
 *  no pseudonym key), SL_EPERM (read-only handle), SL_EFULL (map full) or
 *  SL_ESTORE; after an error the transaction is still usable but the
 *  caller normally aborts it (LMDB marks it failed on MDB_MAP_FULL). */
int sl_audit_append (sl_audit_t *self, MDB_txn *txn, const sl_audit_event_t *ev,
                     uint64_t *seq_out);

/*  Writes a signed checkpoint over the current head of `txn` (the last entry
 *  appended in it, or before it) into `audit.checkpoints`. Does nothing and
 *  returns 0 if the log is empty or the head already has a checkpoint.
 *  `now_us` 0 = now. Returns 0, SL_EPERM, SL_EFULL or SL_ESTORE. */
int sl_audit_checkpoint (sl_audit_t *self, MDB_txn *txn, int64_t now_us);

/*  Tells the handle the caller's transaction committed: what was appended or
 *  checkpointed in it is now the committed head. Cannot fail. */
void sl_audit_after_commit (sl_audit_t *self);

/*  Tells the handle the caller's transaction was aborted: forgets what was
 *  appended in it. Cannot fail. */
void sl_audit_after_abort (sl_audit_t *self);

/*  The same two calls as one outcome listener, in the shape of the broker's
 *  sl_batch_listener_fn: `ctx` is the sl_audit_t, `committed` is 1 after a
 *  commit and 0 after an abort. Cannot fail. */
void sl_audit_txn_outcome (void *ctx, int committed);

/*  True (1) when a checkpoint is due: the committed head is at least
 *  `every_n` entries past the last checkpoint, or `every_us` microseconds
 *  have passed since it and there are new entries (0 disables either).
 *  `now_us` 0 = now. Cannot fail. */
int sl_audit_checkpoint_due (const sl_audit_t *self, uint64_t every_n,
                             int64_t every_us, int64_t now_us);

/*  The committed head: last sequence number (0 if empty) and its hash
 *  (`hash` may be NULL). Cannot fail. */
uint64_t sl_audit_head (const sl_audit_t *self, uint8_t hash[SL_AUDIT_HASH_LEN]);

/*  The last committed signed checkpoint: returns its sequence number (0 if
 *  none yet) and, in *time_us (may be NULL), when it was signed (Unix
 *  microseconds; 0 if there is none). For
 *  monitoring. Cannot fail. */
uint64_t sl_audit_last_checkpoint (const sl_audit_t *self, int64_t *time_us);

/*  The public signing key of this handle. Cannot fail. */
const uint8_t *sl_audit_pubkey (const sl_audit_t *self);

/*  Computes the pseudonym of a raw citizen id with the audit key.
 *  Returns 0, or SL_EKEY if the handle has no pseudonym key. */
int sl_audit_pseudonym (const sl_audit_t *self, const char *raw_id,
                        uint8_t out[SL_AUDIT_PSEUDO_LEN]);

/* ------------------------------------------------------------------------ */
/*  Checkpoints                                                             */

/*  Writes the latest checkpoint of `txn` (read or write) in the publishable
 *  text form of docs/AUDIT.md §Publishing into `buf` (NUL-terminated;
 *  512 bytes always suffice). Returns 0, SL_ENOTFOUND (no checkpoint yet),
 *  SL_ETOOBIG (buf too small) or SL_ESTORE. */
int sl_audit_checkpoint_text (MDB_txn *txn, char *buf, size_t size);

/*  Export: calls `fn` with one JSON object (no newline) for every checkpoint
 *  with seq >= `from_seq`, in order (docs/AUDIT.md §Export); `fn` returning
 *  nonzero stops. Returns the number of checkpoints passed to `fn`,
 *  SL_ENOMEM or SL_ESTORE. */
typedef int (sl_audit_text_fn) (void *arg, const char *line);
int64_t sl_audit_export_checkpoints (MDB_txn *txn, uint64_t from_seq,
                                     sl_audit_text_fn *fn, void *arg);

/* ------------------------------------------------------------------------ */
/*  Verify                                                                  */

typedef enum {
    SL_AUDIT_V_OK = 0,
    SL_AUDIT_V_MALFORMED,        /* entry bytes do not decode */
    SL_AUDIT_V_HASH,             /* entry's hash differs from the one its
                                    successor / a checkpoint / the head records */
    SL_AUDIT_V_LINK,             /* entry's previous-hash field is wrong */
    SL_AUDIT_V_SEQ,              /* entry's seq field differs from its key */
    SL_AUDIT_V_GAP,              /* a sequence number is missing */
    SL_AUDIT_V_TRUNCATED,        /* entries missing at the end (head record
                                    or a checkpoint is past the last entry) */
    SL_AUDIT_V_CP_SIGNATURE,     /* checkpoint signature does not verify */
    SL_AUDIT_V_CP_MISMATCH,      /* checkpoint names a missing entry or a
                                    different hash, or is malformed */
    SL_AUDIT_V_SEGMENT,          /* archive segment unreadable/bad trailer */
    SL_AUDIT_V_START,            /* live log start does not join the archive */
} sl_audit_verdict_t;

/*  Short name of a verdict ("ok", "hash", "link", ...). Cannot fail. */
const char *sl_audit_verdict_str (sl_audit_verdict_t v);

typedef struct {
    sl_audit_verdict_t verdict;
    uint64_t bad_seq;            /* first bad sequence number, 0 when OK */
    uint64_t entries;            /* entries checked (segments + live) */
    uint64_t checkpoints;        /* checkpoint signatures checked */
    uint64_t segments;           /* segment files checked */
    uint64_t first_seq, last_seq;/* range covered */
    char     message[256];       /* a sentence for a person */
} sl_audit_report_t;

/*  Progress: called every ~65536 entries with entries done so far and the
 *  expected total (0 if unknown). Return nonzero to stop (verify returns
 *  SL_ECLOSED). */
typedef int (sl_audit_progress_fn) (void *arg, uint64_t done, uint64_t total);

typedef struct {
    const char * const *segments;   /* archive segment paths, any order */
    size_t       n_segments;
    int          trust_start;       /* if the live log starts after seq 1 and
                                       no segments are given, accept its
                                       recorded start instead of failing */
    sl_audit_progress_fn *progress; /* may be NULL */
    void        *progress_arg;
    /* a checkpoint published elsewhere (AUDIT.md 8.1): the log must hold
     * entry published_seq with exactly this hash */
    int          published;
    uint64_t     published_seq;
    uint8_t      published_hash[SL_AUDIT_HASH_LEN];
} sl_audit_verify_opts_t;

/*  A published checkpoint read back (sl_audit_published_parse). */
typedef struct {
    uint64_t seq;
    uint8_t  hash[SL_AUDIT_HASH_LEN];
    int      signed_text;    /* the §5 text form with a valid signature */
} sl_audit_published_t;

/*  Parses `text`: the §5 checkpoint text (as `sluicectl audit checkpoint`
 *  prints it; its signature, when present, is checked with `pk`) or
 *  "SEQ:HASH" with 64 hex digits. Returns 0, SL_EPARSE (err says which line
 *  or column) or SL_ECORRUPT (the signature does not verify with pk). */
int sl_audit_published_parse (const char *text, const uint8_t pk[SL_AUDIT_PK_LEN],
                              sl_audit_published_t *out, char *err, size_t errlen);

/*  Verifies the whole log in `env` (archive segments first, then the live
 *  log in one read transaction of its own, so it runs beside the broker's
 *  writer) against the trusted public key `pk`. Online, call it after
 *  sl_audit_open() so the database handles already exist (it looks them up
 *  with mdb_dbi_open()).
 *  `opts` may be NULL. Returns 0 (report->verdict OK, counts filled),
 *  SL_ECORRUPT (report names the first bad seq and what is wrong), SL_EIO
 *  (a segment file cannot be read), SL_ECLOSED (stopped by progress) or
 *  SL_ESTORE. */
int sl_audit_verify (MDB_env *env, const uint8_t pk[SL_AUDIT_PK_LEN],
                     const sl_audit_verify_opts_t *opts, sl_audit_report_t *report);

/*  `report` as one JSON object without newline: {ok, verdict, bad_seq,
 *  entries, checkpoints, segments, first_seq, last_seq, message}, the
 *  result of the audit.verify admin command and of `sluicectl audit verify
 *  --json` offline. `ok`: sl_audit_verify returned 0. Returns NULL on no
 *  memory; the caller frees the string with free(). */
char *sl_audit_report_json (const sl_audit_report_t *report, int ok);

/* ------------------------------------------------------------------------ */
/*  Review                                                                  */

/*  Decodes stored entry bytes into `out` (pointers into `data`).
 *  Returns 0 or SL_ECORRUPT. */
int sl_audit_decode (const void *data, size_t len, sl_audit_entry_t *out);

/*  Filter for iteration; zero-initialize and set what you need. A string
 *  filter matches exactly; a kind ending in '.' matches every kind with
 *  that prefix ("consent."). */
typedef struct {
    int64_t        since_us;      /* time >= since (0: no bound) */
    int64_t        until_us;      /* time <  until (0: no bound) */
    const char    *actor, *owner, *counterpart, *record_type, *kind, *decision;
    const uint8_t *subject;       /* pseudonym (see sl_audit_pseudonym) */
    uint64_t       after_seq;     /* paging: start after this seq (0: from the start) */
    /*  Archived entries: segment files (borrowed for the iterator's life),
     *  in sequence order, read before the live log, as
     *  sl_audit_history_segments gives them. n_segments 0: live log only. */
    const char *const *segments;
    size_t         n_segments;
} sl_audit_filter_t;

/*  Parses a time bound written as UTC text, "YYYY-MM-DD" or
 *  "YYYY-MM-DDTHH:MM:SS[.ffffff][Z]" (a space may stand for the 'T'), into
 *  Unix microseconds: the text form of since / until / before that
 *  sluicectl and the audit.* admin commands accept. Returns 0, or -1 when
 *  the text is not of that form (*us untouched). Cannot fail otherwise. */
int sl_audit_parse_time (const char *text, int64_t *us);

/*  Iterates entries of `txn` (read or write) in sequence order that match
 *  `filter` (may be NULL; copied). Returns NULL on error (no memory, no
 *  audit database). The iterator borrows `txn` and must be destroyed before
 *  the transaction ends. Like every function here that takes only a txn, it
 *  opens the named databases with mdb_dbi_open(): do not call it from two
 *  threads at once (an LMDB rule). */
sl_audit_iter_t *sl_audit_iter_new (MDB_txn *txn, const sl_audit_filter_t *filter);

/*  Next matching entry into `out` (valid until the next call or the end of
 *  the transaction). Returns 1, 0 at the end, or SL_ECORRUPT / SL_ESTORE. */
int sl_audit_iter_next (sl_audit_iter_t *self, sl_audit_entry_t *out);

void sl_audit_iter_destroy (sl_audit_iter_t **self_p);

/*  One JSON object for `e` without newline (docs/AUDIT.md §Export), or NULL
 *  on no memory. The caller frees the string with free(). */
char *sl_audit_entry_json (const sl_audit_entry_t *e);

/*  The delivery tags an `ack` entry's detail lists (AUDIT.md §6.2:
 *  "tags=" then ascending items N or FIRST-LAST joined by ','): calls
 *  fn(first, last, arg) per item (last = first for a single tag; fn may be
 *  NULL). Returns how many tags the list holds, or SL_ECORRUPT when the
 *  detail does not follow that grammar. Cannot fail otherwise. */
long sl_audit_ack_tags (const char *detail, size_t len,
                        void (*fn) (uint64_t first, uint64_t last, void *arg), void *arg);

/*  Owner summary: for entries of `owner` matching `filter` (may be NULL)
 *  of kinds queue, deliver, reply, deny and filtered, counts per (kind,
 *  consumer, record type, purpose, rules) with the first and last time; a
 *  filtered entry counts its rows ("rows=N" in its detail). Returns NULL
 *  on error (no memory, store error). */
sl_audit_summary_t *sl_audit_summary_new (MDB_txn *txn, const char *owner,
                                          const sl_audit_filter_t *filter);

typedef struct {
    const char *kind, *consumer, *record_type, *purpose, *rules; /* owned by the summary */
    uint64_t    count;
    int64_t     first_us, last_us;
} sl_audit_summary_row_t;

/*  Rows sorted by (kind, consumer, record type, purpose, rules). Cannot fail. */
size_t sl_audit_summary_size (const sl_audit_summary_t *self);
const sl_audit_summary_row_t *sl_audit_summary_row (const sl_audit_summary_t *self, size_t i);

/*  The summary as a JSON array (free() it), or NULL on no memory. */
char *sl_audit_summary_json (const sl_audit_summary_t *self);

void sl_audit_summary_destroy (sl_audit_summary_t **self_p);

/*  Subject report: calls `fn` for every entry that names the person `raw_id`
 *  (its audit pseudonym) in sequence order: the disclosures (queue, deliver,
 *  reply) and everything around them (publish, query, deny, consent.*).
 *  `fn` returning nonzero stops.
 *  Returns the number of entries reported, SL_EKEY (no pseudonym key),
 *  SL_ECORRUPT or SL_ESTORE. */
typedef int (sl_audit_entry_fn) (void *arg, const sl_audit_entry_t *e);
int64_t sl_audit_subject_report (const sl_audit_t *self, MDB_txn *txn,
                                 const char *raw_id, sl_audit_entry_fn *fn, void *arg);

/* ------------------------------------------------------------------------ */
/*  Archived history (docs/AUDIT.md §7.1)                                   */

typedef struct sl_audit_history_s sl_audit_history_t;

/*  What of the log is archived and where: the live log's start (entries
 *  before it were archived) and the segment files holding them, found in
 *  the directories the audit.archive entries name (their "dir=", followed
 *  recursively through the segments found) and in `dirs` (n_dirs may be
 *  0). Reads `txn` (read or write) and the files; never writes. Returns
 *  NULL on no memory or store error. */
sl_audit_history_t *sl_audit_history_new (MDB_txn *txn, const char *const *dirs, size_t n_dirs);

/*  The first live seq (1: nothing archived). Cannot fail. */
uint64_t sl_audit_history_live_start (const sl_audit_history_t *self);

/*  The last archived seq the segments found cover, contiguously from 1
 *  (live_start - 1 when the history is complete). Cannot fail. */
uint64_t sl_audit_history_covered_to (const sl_audit_history_t *self);

/*  The segment files, in sequence order, to put in sl_audit_filter_t's
 *  segments. Borrowed for the life of the history. Cannot fail. */
size_t sl_audit_history_segments (const sl_audit_history_t *self, const char *const **paths);

/*  {"archived_first","archived_last","read_to","complete","segments":[...],
 *  "searched":[dirs]} without newline (free() it), NULL on no memory.
 *  archived_* are 0 when nothing is archived. */
char *sl_audit_history_json (const sl_audit_history_t *self);

/*  One sentence for a person: "" when nothing is archived, else which
 *  range is archived and whether it was read (and from where). Returns the
 *  length needed, as snprintf. */
int sl_audit_history_note (const sl_audit_history_t *self, char *buf, size_t cap);

void sl_audit_history_destroy (sl_audit_history_t **self_p);

/* ------------------------------------------------------------------------ */
/*  Retention                                                               */

/*  Moves the oldest live entries with time < `before_us` into one segment
 *  file in `out_dir` (named audit-<first seq>-<last seq>.seg, 20 digits each,
 *  written and fsync'ed before returning), deletes them and the checkpoints
 *  they cover from the live log in `txn`, and records the new start of the
 *  live log. The segment's path goes to `path_out` (may be NULL, size
 *  `path_size`); `*n_out` gets the number moved (0: nothing to archive, no
 *  file written). The newest entry is never archived, so the chain keeps a
 *  head. If the caller aborts `txn`, the file is left behind and the
 *  entries stay live; a later archive writes a new file. Returns 0,
 *  SL_EPERM, SL_EIO (file), SL_EFULL or SL_ESTORE. */
int sl_audit_archive (sl_audit_t *self, MDB_txn *txn, int64_t before_us,
                      const char *out_dir, char *path_out, size_t path_size,
                      uint64_t *n_out);

#endif

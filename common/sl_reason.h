/*  sl_reason — the one table of refusal reasons: the wire's ErrorCode
 *  (schemas/sluice/v1/envelope.proto), the `Error.reason` words sent with
 *  them, the HTTP status the gateway and the console answer for each, whether
 *  a client may send the same request again, and which SL_E* code stands for
 *  each on either side of the wire. docs/PROTOCOL.md section 3 lists the same
 *  table for people; tests/common/test_reason.c holds the two to each other.
 *
 *  Design note:
 *  1. A code's row is named by the code itself ("store-full"); a detail
 *     word ("no-credit", "consent-missing") has its own row naming the code
 *     it is sent with. A word is in the table once.
 *  2. Internal → wire: sl_reason_from_rc picks the code for an SL_E* refusal
 *     (the broker's admin and data planes, the SDK answering a query).
 *     Wire → internal: sl_reason_to_rc gives the SL_E* a client library
 *     returns for a code. For every SL_E* that has a code of its own the two
 *     are inverse (EFULL, EPERM, EDENIED, ETIMEOUT, EDECODE, ETOOBIG,
 *     ENOTFOUND, EINVAL, ELIMIT, ESTORE).
 *  3. HTTP: a known reason word decides (its row's status); otherwise the
 *     code chosen for the SL_E* value does.
 */
#ifndef SL_REASON_H
#define SL_REASON_H

/*  The ErrorCode values, equal to SLUICE__V1__ERROR_CODE__* (checked by the
 *  unit test; common/ does not include the generated protobuf headers). */
enum {
    SL_REASON_OK                  = 0,
    SL_REASON_BAD_FRAME           = 1,
    SL_REASON_UNKNOWN_COMMAND     = 2,
    SL_REASON_UNSUPPORTED_VERSION = 3,
    SL_REASON_TOO_BIG             = 4,
    SL_REASON_UNKNOWN_RECORD_TYPE = 5,
    SL_REASON_NOT_OWNER           = 6,
    SL_REASON_BAD_BODY            = 7,
    SL_REASON_DENIED              = 8,
    SL_REASON_OWNER_OFFLINE       = 9,
    SL_REASON_TIMEOUT             = 10,
    SL_REASON_STORE_FULL          = 11,
    SL_REASON_QUEUE_FULL          = 12,
    SL_REASON_NOT_PERMITTED       = 13,
    SL_REASON_BAD_REQUEST         = 14,
    SL_REASON_INTERNAL            = 15,
    SL_REASON_NOT_FOUND           = 16,
    SL_REASON_NOT_SUBSCRIBED      = 17,
    SL_REASON_CODES               = 18     /* number of codes */
};

/*  One row. */
typedef struct {
    const char *name;       /* kebab-case word: "store-full", "no-credit" */
    int code;               /* the ErrorCode it is sent with */
    int http;               /* HTTP status (gateway problem, console page) */
    int retry;              /* 1: the same request (same message ids) may succeed later */
    const char *meaning;    /* one line: when it is sent */
} sl_reason_t;

/*  Row `i` of the table (codes first, in code order, then the detail words),
 *  or NULL past the end. Cannot fail. */
const sl_reason_t *sl_reason_at (int i);

/*  The row of word `name`, or NULL when the table has no such word. */
const sl_reason_t *sl_reason_find (const char *name);

/*  Kebab-case name of ErrorCode `code` ("bad-frame"); "unknown" out of
 *  range. Cannot fail. */
const char *sl_reason_name (int code);

/*  The ErrorCode whose name is `name`, or -1 (a detail word is not a code). */
int sl_reason_code (const char *name);

/*  The ErrorCode for a refusal with SL_E* `rc` (0 gives SL_REASON_OK;
 *  anything without a code of its own, SL_REASON_INTERNAL). Cannot fail. */
int sl_reason_from_rc (int rc);

/*  The SL_E* value a client returns for ErrorCode `code` (0 for OK;
 *  SL_EPROTO for an unknown code). Cannot fail. */
int sl_reason_to_rc (int code);

/*  1 if a request refused with ErrorCode `code` may succeed when sent again
 *  later unchanged (same message ids); 0 otherwise or out of range. */
int sl_reason_retry (int code);

/*  The HTTP status for a refusal: the row of `reason` when the table has
 *  that word, else the row of sl_reason_from_rc (rc). Cannot fail. */
int sl_reason_http (const char *reason, int rc);

#endif

/*  sl_reason — see sl_reason.h. */
#include "sl_reason.h"

#include <string.h>

#include "sl_error.h"

#define R(name, code, http, retry, meaning) { name, SL_REASON_##code, http, retry, meaning }

static const sl_reason_t s_table[] = {
    /* the codes, in code order (row i is code i) */
    R ("ok", OK, 200, 0, "no error"),
    R ("bad-frame", BAD_FRAME, 502, 0, "the header does not decode, or the frame count is wrong"),
    R ("unknown-command", UNKNOWN_COMMAND, 502, 0, "Header.command is not known, or not valid client to broker"),
    R ("unsupported-version", UNSUPPORTED_VERSION, 502, 0, "Header.version is not 1"),
    R ("too-big", TOO_BIG, 413, 0, "the message is over max_message_size"),
    R ("unknown-record-type", UNKNOWN_RECORD_TYPE, 404, 0, "the record type is not in the schema registry"),
    R ("not-owner", NOT_OWNER, 403, 0, "the sender does not own the record type"),
    R ("bad-body", BAD_BODY, 422, 0, "a record frame does not decode as its record type"),
    R ("denied", DENIED, 403, 0, "policy or consent denies; the reason word says which"),
    R ("owner-offline", OWNER_OFFLINE, 503, 1, "QUERY: the owner has no current session, or left before answering"),
    R ("timeout", TIMEOUT, 504, 1, "QUERY: the owner did not answer within timeout_ms"),
    R ("store-full", STORE_FULL, 503, 1, "the broker's store is full (or in its reserve); nothing was stored"),
    R ("queue-full", QUEUE_FULL, 503, 1, "a consumer the record would go to has queue_max records queued"),
    R ("not-permitted", NOT_PERMITTED, 403, 0, "the member's role does not allow it, or the member is revoked"),
    R ("bad-request", BAD_REQUEST, 422, 0, "a required field is missing or invalid"),
    R ("internal", INTERNAL, 502, 1, "broker-side failure; the request had no effect"),
    R ("not-found", NOT_FOUND, 404, 0, "no such subscription, delivery tag, query or object"),
    R ("not-subscribed", NOT_SUBSCRIBED, 404, 0, "CREDIT or ACK from a member without subscriptions"),
    /* detail words, each with the code it is sent with */
    R ("bad-header", BAD_FRAME, 502, 0, "frame 1 is not a sluice.v1.Header"),
    R ("frame-count", BAD_FRAME, 502, 0, "the frame count does not match the command and n_records"),
    R ("too-many-frames", BAD_FRAME, 502, 0, "more frames than the broker accepts in one message"),
    R ("no-records", BAD_REQUEST, 422, 0, "PUBLISH without records"),
    R ("no-tags", BAD_REQUEST, 422, 0, "ACK or NACK without delivery tags"),
    R ("no-credit", BAD_REQUEST, 422, 0, "CREDIT of 0"),
    R ("no-query-id", BAD_REQUEST, 422, 0, "REPLY without a query_id"),
    R ("bad-purpose", BAD_REQUEST, 422, 0, "the purpose is empty or not a valid name"),
    R ("bad-subject", BAD_REQUEST, 422, 0, "QUERY: the subject is empty or too long"),
    R ("bad-reply", BAD_BODY, 502, 0, "QUERY: the owner's REPLY holds a record that is not valid; sent to both"),
    R ("revoked", NOT_PERMITTED, 403, 0, "the member is revoked or unknown; the connection is closed"),
    R ("shutdown", INTERNAL, 503, 1, "the broker is stopping; the request had no effect"),
    R ("store-error", INTERNAL, 502, 1, "the store failed other than full; nothing was stored"),
    R ("commit-failed", INTERNAL, 502, 1, "the commit failed; nothing of the message was stored"),
    R ("memory", INTERNAL, 502, 1, "the broker is out of memory; nothing was stored"),
    /* the decision's reasons, sent with denied (POLICY.md 5) */
    R ("no-matching-rule", DENIED, 403, 0, "no rule permits this consumer, purpose and record type"),
    R ("forbidden", DENIED, 403, 0, "a forbid rule matches"),
    R ("outside-validity", DENIED, 403, 0, "the permit's valid window does not hold the record's time"),
    R ("condition-false", DENIED, 403, 0, "the permit's where condition is false for this record"),
    R ("consent-missing", DENIED, 403, 0, "the permit needs consent and the subject has given none"),
    R ("consent-expired", DENIED, 403, 0, "the subject's consent has expired"),
    R ("consent-withdrawn", DENIED, 403, 0, "the subject withdrew consent"),
    R ("consent-not-yet-valid", DENIED, 403, 0, "the subject's consent starts later"),
    R ("decide-error", DENIED, 403, 1, "the decision could not be made; denied"),
};

#define S_ROWS ((int) (sizeof s_table / sizeof s_table[0]))

/*  The SL_E* a client returns for each code, in code order. */
static const int s_to_rc[SL_REASON_CODES] = {
    0, SL_EPROTO, SL_EPROTO, SL_EPROTO, SL_ETOOBIG, SL_EINVAL, SL_EPERM, SL_EDECODE,
    SL_EDENIED, SL_ENOTFOUND, SL_ETIMEOUT, SL_EFULL, SL_ELIMIT, SL_EPERM, SL_EINVAL,
    SL_ESTORE, SL_ENOTFOUND, SL_ENOTFOUND
};

const sl_reason_t *
sl_reason_at (int i)
{
    return i >= 0 && i < S_ROWS ? &s_table[i] : NULL;
}

const sl_reason_t *
sl_reason_find (const char *name)
{
    for (int i = 0; name && i < S_ROWS; i++)
        if (strcmp (s_table[i].name, name) == 0)
            return &s_table[i];
    return NULL;
}

const char *
sl_reason_name (int code)
{
    return code >= 0 && code < SL_REASON_CODES ? s_table[code].name : "unknown";
}

int
sl_reason_code (const char *name)
{
    for (int i = 0; name && i < SL_REASON_CODES; i++)
        if (strcmp (s_table[i].name, name) == 0)
            return i;
    return -1;
}

int
sl_reason_from_rc (int rc)
{
    switch (rc) {
    case SL_OK:        return SL_REASON_OK;
    case SL_EFULL:     return SL_REASON_STORE_FULL;
    case SL_EPERM:     return SL_REASON_NOT_PERMITTED;
    case SL_EDENIED:   return SL_REASON_DENIED;
    case SL_ETIMEOUT:  return SL_REASON_TIMEOUT;
    case SL_EDECODE:   return SL_REASON_BAD_BODY;
    case SL_ETOOBIG:   return SL_REASON_TOO_BIG;
    case SL_ENOTFOUND: return SL_REASON_NOT_FOUND;
    case SL_ELIMIT:    return SL_REASON_QUEUE_FULL;
    case SL_EINVAL: case SL_EPARSE: case SL_EEXIST:
        return SL_REASON_BAD_REQUEST;
    default:           return SL_REASON_INTERNAL;
    }
}

int
sl_reason_to_rc (int code)
{
    return code >= 0 && code < SL_REASON_CODES ? s_to_rc[code] : SL_EPROTO;
}

int
sl_reason_http (const char *reason, int rc)
{
    const sl_reason_t *r = reason && *reason ? sl_reason_find (reason) : NULL;
    return r ? r->http : s_table[sl_reason_from_rc (rc)].http;
}

int
sl_reason_retry (int code)
{
    return code >= 0 && code < SL_REASON_CODES ? s_table[code].retry : 0;
}

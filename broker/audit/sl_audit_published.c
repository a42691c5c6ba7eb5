/*  sl_audit_published — a checkpoint published outside the system, read
 *  back for `verify --published` (docs/AUDIT.md §5, §8.1).
 *
 *  Two forms: the §5 text that `sluicectl audit checkpoint` prints (lines
 *  `seq`, `time-us`, `hash`, `signature`; `time` and the first line are
 *  informational), or "SEQ:HASH" (64 hex digits). The text form's signature
 *  is checked with the trusted key, so a forged publication is refused
 *  before the log is compared with it.
 */
#include "sl_audit_int.h"
#include "sl_error.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
s_hex (const char *s, size_t n, uint8_t *out)
{
    if (strlen (s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (!isxdigit ((unsigned char) s[2 * i]) || !isxdigit ((unsigned char) s[2 * i + 1])
            || sscanf (s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t) v;
    }
    return 0;
}

static int
s_u64 (const char *s, uint64_t *out)
{
    if (!*s || !isdigit ((unsigned char) *s))
        return -1;
    char *end;
    unsigned long long v = strtoull (s, &end, 10);
    if (*end)
        return -1;
    *out = v;
    return 0;
}

int
sl_audit_published_parse (const char *text, const uint8_t pk[SL_AUDIT_PK_LEN],
                          sl_audit_published_t *out, char *err, size_t errlen)
{
    memset (out, 0, sizeof *out);
    const char *colon = strchr (text, ':');
    if (colon && !strchr (text, '\n')) {
        char num[32];
        size_t n = (size_t) (colon - text);
        if (n == 0 || n >= sizeof num)
            return sl_audit__fail (err, errlen, SL_EPARSE, "'%.40s': expected SEQ:HASH (a number, "
                                   "':', 64 hex digits)", text);
        memcpy (num, text, n);
        num[n] = 0;
        if (s_u64 (num, &out->seq) != 0 || out->seq == 0)
            return sl_audit__fail (err, errlen, SL_EPARSE, "'%s': SEQ must be a sequence number "
                                   ">= 1", num);
        if (s_hex (colon + 1, SL_AUDIT_HASH_LEN, out->hash) != 0)
            return sl_audit__fail (err, errlen, SL_EPARSE, "column %zu: HASH must be 64 hex "
                                   "digits", n + 2);
        return 0;
    }
    char line[512];
    int have_seq = 0, have_hash = 0, have_time = 0, have_sig = 0, lineno = 0;
    uint8_t sig[SL_AUDIT_SIG_LEN];
    int64_t time_us = 0;
    for (const char *p = text; *p;) {
        const char *e = strchr (p, '\n');
        size_t n = e ? (size_t) (e - p) : strlen (p);
        lineno++;
        if (n >= sizeof line)
            n = sizeof line - 1;
        memcpy (line, p, n);
        line[n] = 0;
        if (n && line[n - 1] == '\r')
            line[--n] = 0;
        p = e ? e + 1 : p + strlen (p);
        char *sp = strchr (line, ' ');
        if (!sp)
            continue;
        *sp = 0;
        const char *v = sp + 1;
        int bad = 0;
        if (!strcmp (line, "seq"))
            bad = s_u64 (v, &out->seq) != 0 || out->seq == 0, have_seq = 1;
        else if (!strcmp (line, "hash"))
            bad = s_hex (v, SL_AUDIT_HASH_LEN, out->hash) != 0, have_hash = 1;
        else if (!strcmp (line, "time-us")) {
            uint64_t t;
            bad = s_u64 (v, &t) != 0, have_time = 1;
            time_us = (int64_t) t;
        }
        else if (!strcmp (line, "signature"))
            bad = s_hex (v, SL_AUDIT_SIG_LEN, sig) != 0, have_sig = 1;
        if (bad)
            return sl_audit__fail (err, errlen, SL_EPARSE, "line %d: '%s' value is not valid",
                                   lineno, line);
    }
    if (!have_seq || !have_hash)
        return sl_audit__fail (err, errlen, SL_EPARSE, "not a published checkpoint: it needs 'seq "
                               "N' and 'hash <64 hex>' lines (the text of `sluicectl audit "
                               "checkpoint`) or the form SEQ:HASH");
    if (have_time && have_sig) {
        uint8_t cp[CP_LEN], msg[CP_MSG_LEN];
        cp[0] = CP_VERSION;
        sl_audit__put64le (cp + 1, out->seq);
        sl_audit__put64le (cp + 9, (uint64_t) time_us);
        memcpy (cp + 17, out->hash, SL_AUDIT_HASH_LEN);
        memcpy (cp + CP_SIGNED_LEN, sig, SL_AUDIT_SIG_LEN);
        sl_audit__cp_message (cp, msg);
        out->signed_text = 1;
        if (crypto_sign_verify_detached (sig, msg, sizeof msg, pk) != 0)
            return sl_audit__fail (err, errlen, SL_ECORRUPT,
                                   "the published checkpoint at seq %" PRIu64 " is not signed by "
                                   "this audit key: it cannot vouch for anything", out->seq);
    }
    return 0;
}

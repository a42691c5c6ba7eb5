/*  libFuzzer target for the policy language: any byte string goes through
 *  the parser, the checker and (when clean) the compiler, a decision, an
 *  explanation, the summary and the diff. Nothing may crash, leak or read
 *  out of bounds. Built only with -Dfuzz=true and CC=clang. */
#include <stdint.h>
#include <stdlib.h>

#include "sl_policy.h"

static sl_consent_status_t
s_consent (void *arg, const char *s, const char *o, const char *c, const char *p, const char *rt, int64_t t)
{
    (void) arg; (void) s; (void) o; (void) c; (void) p; (void) rt;
    return t & 1 ? SL_CONSENT_VALID : SL_CONSENT_WITHDRAWN;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static sl_policy_catalog_t *cat;
    if (!cat) {
        cat = sl_policy_catalog_new ();
        sl_policy_catalog_add_member (cat, "water", "member");
        sl_policy_catalog_add_member (cat, "power", "member");
        sl_policy_catalog_add_member (cat, "health", "member");
        sl_policy_catalog_add_member (cat, "parking", "member");
        sl_policy_catalog_add_purpose (cat, "billing", NULL);
    }
    sl_policy_diags_t *d = sl_policy_diags_new ();
    sl_policy_set_t *s = sl_policy_set_new ();
    sl_policy_set_parse (s, "fuzz", (const char *) data, size, 1, d);
    int rc = sl_policy_set_check (s, cat, d);
    sl_policy_set_check_role (s, "admin:water", d);
    free (sl_policy_diags_render (d));
    free (sl_policy_set_summary (s));
    if (rc == 0) {
        sl_policy_index_t *ix = sl_policy_index_new (s, NULL);
        if (ix) {
            static const char *rts[] = { "water.v1.MeterReading", "health.v1.Encounter" };
            static const char *owners[] = { "water", "health" };
            for (int i = 0; i < 4; i++) {
                sl_policy_request_t r = { .owner = owners[i & 1], .consumer = i & 2 ? "power" : "parking",
                                          .record_type = rts[i & 1], .purpose = "billing",
                                          .subject = "S", .time = 1781519862 + i, .consent = s_consent };
                sl_policy_explain_t ex;
                char buf[512];
                sl_policy_explain (ix, &r, &ex);
                sl_policy_explain_render (&ex, buf, sizeof buf);
            }
            sl_policy_diff_t *df = sl_policy_diff_new (NULL, ix, 1781519862);
            if (df)
                free (sl_policy_diff_render (df));
            sl_policy_diff_destroy (&df);
            sl_policy_index_destroy (&ix);
        }
    }
    sl_policy_set_destroy (&s);
    sl_policy_diags_destroy (&d);
    return 0;
}

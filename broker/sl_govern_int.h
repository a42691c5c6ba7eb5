/*  sl_govern_int.h — what the files of the broker's governance
 *  (sl_govern.c, sl_govern_notice.c) share; not public. The design notes
 *  are at the top of sl_govern.c and sl_govern_notice.c.
 */
#ifndef SL_GOVERN_INT_H
#define SL_GOVERN_INT_H

#include "sl_govern.h"

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#define S_KEYS_MAX 256
#define S_SENT_MAX 256

typedef struct {
    char consumer[SL_NAME_MAX + 1];
    uint8_t key[SL_POLICY_KEY_LEN];
} s_key_t;

typedef struct {
    char consent_id[SL_CONSENT_ID_MAX + 1];
    int64_t ended_at;
} s_sent_t;

struct sl_govern_t {
    sl_govern_wiring_t w;        /* store, batch, registry, event and notice hooks */
    sl_govern_config_t cfg;
    sl_audit_t *audit;
    sl_consent_t *consent;
    sl_policy_store_t *policy;
    sl_schema_store_t *schemas;
    char *schemas_skipped;       /* stored types that did not build at start */
    uint8_t secret[SL_POLICY_SECRET_LEN];
    uint8_t seal_key[crypto_secretbox_KEYBYTES];
    s_key_t keys[S_KEYS_MAX];
    size_t n_keys;
    int64_t next_checkpoint_check_ms;
    int64_t next_scan_ms;
    int64_t scanned_to;          /* end (exclusive, Unix s) of the last ended-consent scan */
    s_sent_t sent[S_SENT_MAX];
    size_t n_sent, sent_at;
    int scan_soon;
    char last_subject[128];      /* the audit pseudonym made last (sl_govern_bound) */
    uint8_t last_pseudonym[SL_AUDIT_PSEUDO_LEN];
};

/*  sl_govern.c: the pseudonym key of `consumer`, derived once and cached.
 *  NULL only for an empty name. */
const uint8_t *sl_govern__key (sl_govern_t *self, const char *consumer);

/*  sl_govern_notice.c: notices for consents whose access ended up to
 *  `now_ms`. */
void sl_govern__scan_ended (sl_govern_t *self, int64_t now_ms);
/*  sl_govern_notice.c: the batch listener; after a commit that ended a
 *  consent's access (scan_soon), scans at once. */
void sl_govern__outcome (void *ctx, int committed);

#endif

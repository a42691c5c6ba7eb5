/*  sl_consent_entry — the one builder of the audit entry of an applied
    consent change (AUDIT.md: consent.grant, consent.renew,
    consent.withdraw), for both planes: the admin handlers
    (sl_admin_consent.c) and the data plane's ConsentEvent path. */
#ifndef SL_CONSENT_ENTRY_H
#define SL_CONSENT_ENTRY_H

#include "sl_audit.h"
#include "sl_consent.h"

/*  Storage the entry's joined fields point into; lives as long as the entry. */
typedef struct {
    char purposes[2048];
    char types[2048];
    char detail[160];
} sl_consent_entry_buf_t;

/*  Fills *ev for the change `res` made to `rec` by member `actor`: kind
 *  from res->kind (SL_AUDIT_CONSENT_GRANT, _RENEW, _WITHDRAW), counterpart
 *  = recipient, owner = controller, record_type and purpose = the record's
 *  lists joined with ',', subject, decision "ok", reason (may be NULL),
 *  detail "consent=<id>". Strings are borrowed from rec, res and buf.
 *  Cannot fail (over-long lists are cut at a whole item). */
void sl_consent_entry (sl_audit_event_t *ev, sl_consent_entry_buf_t *buf,
                       const sl_consent_result_t *res, const sl_consent_record_t *rec,
                       const char *actor, const char *reason);

#endif

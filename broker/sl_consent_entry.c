/*  sl_consent_entry — see sl_consent_entry.h. */
#include "sl_consent_entry.h"

#include <stdio.h>
#include <string.h>

static void
s_join (char *buf, size_t size, const sl_consent_record_t *rec,
        size_t (*count) (const sl_consent_record_t *),
        const char *(*get) (const sl_consent_record_t *, size_t))
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count (rec); i++) {
        const char *item = get (rec, i);
        size_t need = strlen (item) + (i ? 1 : 0);
        if (off + need + 1 > size)
            break;                              /* cut at a whole item */
        off += (size_t) snprintf (buf + off, size - off, "%s%s", i ? "," : "", item);
    }
}

void
sl_consent_entry (sl_audit_event_t *ev, sl_consent_entry_buf_t *buf,
                  const sl_consent_result_t *res, const sl_consent_record_t *rec,
                  const char *actor, const char *reason)
{
    s_join (buf->purposes, sizeof buf->purposes, rec, sl_consent_record_purpose_count,
            sl_consent_record_purpose);
    s_join (buf->types, sizeof buf->types, rec, sl_consent_record_type_count,
            sl_consent_record_type);
    snprintf (buf->detail, sizeof buf->detail, "consent=%s", res->consent_id);
    memset (ev, 0, sizeof *ev);
    ev->kind = res->kind == SLUICE__V1__CONSENT_EVENT__KIND__WITHDRAWN ? SL_AUDIT_CONSENT_WITHDRAW
             : res->kind == SLUICE__V1__CONSENT_EVENT__KIND__RENEWED ? SL_AUDIT_CONSENT_RENEW
             : SL_AUDIT_CONSENT_GRANT;
    ev->actor = actor;
    ev->counterpart = sl_consent_record_recipient (rec);
    ev->owner = sl_consent_record_controller (rec);
    ev->record_type = buf->types;
    ev->subject = sl_consent_record_subject (rec);
    ev->purpose = buf->purposes;
    ev->decision = "ok";
    ev->reason = reason;
    ev->detail = buf->detail;
}

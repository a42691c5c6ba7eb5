/*  sl_apds — parking sessions in the APDS (Alliance for Parking Data
 *  Standards) API v4 form, as car park systems export them.
 *
 *  Input is a Session object, an array of them, one object per line (JSON
 *  lines), or SessionList pages as the APDS API's GET /sessions returns them
 *  ({"meta": {...}, "data": [Session, ...]}); all may be mixed in a file.
 *  Members read (APDS v4 Session, components/schemas/Session):
 *
 *    id                     string, required
 *    identifiedCredentials  [CredentialAssigned] ("credentials" in UK NPP's
 *                           published examples): the first whose "type" is
 *                           "licensePlate" or "vehicleplate" gives the plate,
 *                           its "identifier" Reference's "id"; required
 *    actualStart            RFC 3339 date-time, required
 *    actualEnd              date-time, or null / absent while parked
 *    hierarchyElement       VersionedReference of the place: its "id"; optional
 *    segments               [Segment]: id, actualStart, actualEnd, and the
 *                           assignedRight reference's id as rate_reference
 *    financialTransactions  [Payment with paymentLines[].value, or
 *                           MonetaryValue with value], each value an
 *                           AmountInCurrency {currencyType, currencyValue};
 *                           the session's amount is their sum, all in one
 *                           currency; optional (absent: amount and currency
 *                           are listed in absent_fields); or per segment,
 *                           segments[].financialTransactions[] with
 *                           "segmentValue" (no currency: the configured one,
 *                           else currency absent) or "value"; the segment's
 *                           amount is its sum, the session's the total
 *
 *  Members not listed are ignored. A date-time without a zone is read in
 *  the configured IANA zone, or refused when none is configured. The plate
 *  is normalized (upper case, no spaces or dashes) and joined with the
 *  plate registry (columns: plate, citizen_id) for the subject; an unknown
 *  plate is an error (SL_ENOTFOUND), so visitors' sessions are reported,
 *  not guessed. The optional place registry (columns: place_id, ...,
 *  district) gives the district. docs/ADAPTERS.md 6.4 is the field table.
 */
#ifndef SL_APDS_H
#define SL_APDS_H

#include <stddef.h>
#include "sl_lookup.h"
#include "sl_time.h"
#include "sl_explain.h"
#include "parking/v1/parking.pb-c.h"

typedef struct _sl_apds_reader_t sl_apds_reader_t;

/*  A reader over buf[0..len), borrowed until the reader is destroyed;
 *  `source` (copied) names it in errors. NULL on out of memory. */
sl_apds_reader_t *sl_apds_reader_new (const char *buf, size_t len, const char *source);

/*  Sets the zone for date-times without one (NULL: refuse them), the
 *  currency of amounts that name none (segmentValue; NULL: currency left
 *  absent) and the sink for --explain notes (may be NULL). All borrowed. */
void sl_apds_reader_set_options (sl_apds_reader_t *self, const sl_tz_t *tz, const char *currency,
                                 sl_explain_t *explain);

/*  Says that buf starts at line `line` of the source and that `records`
 *  records came before it, for an adapter that parses a growing file piece
 *  by piece. Cannot fail. */
void sl_apds_reader_set_position (sl_apds_reader_t *self, size_t line, size_t records);

/*  Frees; sets *self_p to NULL. Harmless on NULL. */
void sl_apds_reader_destroy (sl_apds_reader_t **self_p);

/*  Reads the next session. Returns 1 with a new record in *out (free with
 *  parking__v1__session__free_unpacked (*out, NULL)); 0 at the end of
 *  input; or a negative code for a bad record, after which the caller just
 *  calls again: SL_EPARSE (JSON syntax, with "<source>:<line>:<col>: ...";
 *  the reader resumes at the next line that starts with '{'; or a bad
 *  member, with "<source>:<line>: record <n>: member '<name>': ..."),
 *  SL_ENOTFOUND (plate not in the registry), SL_ENOMEM.
 *  In every case but 0, *raw / *rawlen give the record's bytes (valid as
 *  long as buf, or until the next call for a session of a SessionList
 *  page, whose bytes are the session printed again as compact JSON when it
 *  is refused and empty when it is read) and *recno its 1-based number.
 *  places may be NULL. */
int sl_apds_reader_next (sl_apds_reader_t *self, const sl_lookup_t *plates,
                         const sl_lookup_t *places, Parking__V1__Session **out,
                         const char **raw, size_t *rawlen, size_t *recno,
                         char *err, size_t errlen);

#endif

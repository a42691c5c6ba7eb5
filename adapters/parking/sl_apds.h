/*  sl_apds — parking sessions in the APDS (Alliance for Parking Data
 *  Standards) Session shape, as car park systems export them.
 *
 *  Input is a single Session object, an array of them, or one object per
 *  line (JSON lines); all three may be mixed in a file. Members read:
 *
 *    id                     string, required
 *    identifiedCredentials  [{"type":"LPN","identifier":"AB-123-C"}, ...];
 *                           the first credential whose type is "LPN",
 *                           "licencePlate" or "licensePlate" (any case) is
 *                           the plate, required
 *    actualStart            ISO 8601 time, required
 *    actualEnd              ISO 8601 time, or null / absent while parked
 *    placeReference         string, or {"id": "..."}; optional
 *    segments               [{"id","validFrom","validTo","rateReference",
 *                             "amount"}]; optional
 *    sessionAmounts         [{"amount": 4.50, "currency": "EUR"}]; the
 *                           session's amount is their sum, and all must
 *                           share one currency; optional
 *
 *  These follow the APDS Session names as published with the standard's
 *  JSON examples; members not listed are ignored. The plate is normalized
 *  (upper case, no spaces or dashes) and joined with the plate registry
 *  (columns: plate, citizen_id) for the subject; an unknown plate is an
 *  error (SL_ENOTFOUND), so visitors' sessions are reported, not guessed.
 *  The optional place registry (columns: place_id, ..., district) gives
 *  the district.
 */
#ifndef SL_APDS_H
#define SL_APDS_H

#include <stddef.h>
#include "sl_registry.h"
#include "parking/v1/parking.pb-c.h"

typedef struct _sl_apds_reader_t sl_apds_reader_t;

/*  A reader over buf[0..len), borrowed until the reader is destroyed;
 *  `source` (copied) names it in errors. NULL on out of memory. */
sl_apds_reader_t *sl_apds_reader_new (const char *buf, size_t len, const char *source);

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
 *  long as buf) and *recno its 1-based number. places may be NULL. */
int sl_apds_reader_next (sl_apds_reader_t *self, const sl_registry_t *plates,
                         const sl_registry_t *places, Parking__V1__Session **out,
                         const char **raw, size_t *rawlen, size_t *recno,
                         char *err, size_t errlen);

#endif

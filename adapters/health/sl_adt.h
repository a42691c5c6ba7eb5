/*  sl_adt — hospital HL7 v2 messages to health.v1 records.
 *
 *  ADT^A01 (admit), A02 (transfer), A03 (discharge), A04 (register an
 *  outpatient), A08 (update patient information), A11 (cancel admit) and
 *  A13 (cancel discharge) become one health.v1.Encounter (FHIR R4 Encounter
 *  names); DFT^P03 becomes one health.v1.Charge (FHIR R4 ChargeItem names)
 *  per FT1 segment. Segments the standard makes optional are optional here
 *  (EVN, PV2, DG1; PV1 in DFT); a value that is absent is derived as
 *  below or left zero and listed in the record's absent_fields, never
 *  guessed. docs/ADAPTERS.md 6.3 is the full table.
 *
 *  Mapping:
 *    subject           PID-3: the repetition at the configured position
 *                      (pid3_repetition), else the first whose assigning
 *                      authority (CX.4.1 or CX.4.2) is the configured one
 *                      (pid3_authority), else the first whose identifier
 *                      type (CX.5) is in citizen_id_types (default
 *                      "NI,NN*,SS": national identifier, national person
 *                      identifier of any country, social security number).
 *                      Hospital record numbers (MR) are never taken unless
 *                      configured. None: refused, with the identifiers found
 *                      and the option that would select each.
 *    Encounter.id      PV1-19.1 visit number, else PID-18.1 account number,
 *                      else "MSH-10:<control id>" with "id" in absent_fields
 *    status            A01, A02, A13 → in-progress; A03 → finished; A04 →
 *                      arrived; A11 → cancelled; A08 → finished if PV1-45
 *                      is set, in-progress if PV1-44 is, else unknown
 *    class_code        PV1-2: I, B → IMP; O, R → AMB; E → EMER; P → PRENC;
 *                      empty, N or U → "" (absent)
 *    period_start      PV1-44, else (not for A03/A11) EVN-6, EVN-2, MSH-7;
 *                      else absent
 *    period_end        PV1-45; for A03 else EVN-6, EVN-2, MSH-7; else 0
 *    service_provider  MSH-4.1 sending facility
 *    location          PV1-3 point of care, room, bed joined with '/'
 *    reason_code       PV2-3.1 (when PV2 is present)
 *    diagnosis         DG1-3.1 of each DG1
 *    discharge_disp.   PV1-36
 *    Charge.id         FT1-2.1, else "<MSH-10>-<FT1-1 set id>", else
 *                      "<MSH-10>-<n>" for the message's n-th FT1
 *    context           PV1-19.1, else PID-18.1, else absent
 *    code / display    FT1-7.1 / FT1-7.2, or FT1-8 for the display
 *    quantity          FT1-10 (1 if empty)
 *    price_override    FT1-11.1.1 extended amount, else FT1-12.1.1 unit
 *                      amount × quantity, else absent
 *    currency          FT1-11.1.2 (or FT1-12.1.2), else the default ("EUR")
 *    occurrence_time   FT1-4.1, else FT1-5 posting date, else MSH-7
 *    performer         FT1-20.1
 *  Timestamps: every HL7 precision (YYYY .. YYYYMMDDHHMMSS.SSSS±ZZZZ); a
 *  timestamp without a zone is wall-clock time in the configured IANA zone
 *  (tz), or at default_offset_s when none is configured.
 */
#ifndef SL_ADT_H
#define SL_ADT_H

#include <stddef.h>
#include <stdint.h>
#include "sl_time.h"
#include "sl_explain.h"
#include "health/v1/health.pb-c.h"

typedef struct {
    int32_t default_offset_s;    /* for timestamps without +ZZZZ, when tz is NULL */
    const char *currency;        /* when FT1-11 names none */
    const char *citizen_id_type; /* PID-3.5 codes of the citizen id, ',' separated; "NN*" = prefix */
    const sl_tz_t *tz;           /* zone of timestamps without +ZZZZ, or NULL */
    const char *pid3_authority;  /* PID-3.4 assigning authority of the citizen id, or NULL */
    int pid3_repetition;         /* PID-3 repetition (1-based) of the citizen id, or 0 */
    sl_explain_t *explain;       /* where to note the mapping, or NULL */
} sl_adt_opts_t;

#define SL_ADT_OPTS_DEFAULT { 0, "EUR", "NI,NN*,SS", NULL, NULL, 0, NULL }

typedef struct {
    char message_type [16];      /* "ADT^A01", "DFT^P03" */
    char control_id [64];        /* MSH-10, for the ACK */
    Health__V1__Encounter *encounter;   /* ADT: the encounter, else NULL */
    Health__V1__Charge **charges;       /* DFT: one per FT1 */
    size_t n_charges;
} sl_adt_result_t;

/*  Maps one HL7 message msg[0..len) to records. `source` and `msgno` (its
 *  1-based number in the source) name it in errors, formatted
 *  "<source>: message <n>: <SEG>-<field> (segment <k>): <reason>" where
 *  the position is known. opts may be NULL for the defaults.
 *  Returns 0 with *res filled (release with sl_adt_result_clear), or
 *  SL_EPARSE (malformed message, unsupported message type, a missing or bad
 *  required field) or SL_ENOMEM; on error *res holds no records but its
 *  message_type and control_id are set when they could be read, for the ACK. */
int sl_adt_map (const char *msg, size_t len, const char *source, size_t msgno,
                const sl_adt_opts_t *opts, sl_adt_result_t *res,
                char *err, size_t errlen);

/*  Frees the records in *res and zeroes it. Harmless on a zeroed result. */
void sl_adt_result_clear (sl_adt_result_t *res);

#endif

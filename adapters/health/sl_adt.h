/*  sl_adt — hospital HL7 v2 messages to health.v1 records.
 *
 *  ADT^A01 (admit), ADT^A03 (discharge) and ADT^A04 (register an outpatient)
 *  become one health.v1.Encounter (FHIR R4 Encounter names); DFT^P03 becomes
 *  one health.v1.Charge (FHIR R4 ChargeItem names) per FT1 segment.
 *
 *  Mapping:
 *    subject           PID-3, the repetition whose identifier type (PID-3.5)
 *                      is the citizen id type (default "NI", national
 *                      identifier); hospital record numbers (MR) are not used
 *    Encounter.id      PV1-19.1 visit number
 *    status            A01 → in-progress; A03 → finished; A04 → arrived (the
 *                      outpatient has been registered and is waiting; the
 *                      later A03 or the hospital's own system moves it on)
 *    class_code        PV1-2: I → IMP, O → AMB, E → EMER, R → AMB, P → PRENC
 *    period_start      PV1-44, else EVN-6, else EVN-2
 *    period_end        PV1-45; for A03, else EVN-6, else EVN-2; 0 otherwise
 *    service_provider  MSH-4.1 sending facility
 *    location          PV1-3 point of care, room, bed joined with '/'
 *    reason_code       PV2-3.1 (when PV2 is present)
 *    diagnosis         DG1-3.1 of each DG1
 *    discharge_disp.   PV1-36
 *    Charge.id         FT1-2.1 (FT1-1 set id if FT1-2 is empty, prefixed
 *                      with the message control id)
 *    context           PV1-19.1;  code / code_display FT1-7.1 / FT1-7.2, or
 *                      FT1-8 for the display;  quantity FT1-10 (1 if empty);
 *    price_override    FT1-11.1.1 extended amount;  currency FT1-11.1.2 or
 *                      the default ("EUR");  occurrence_time FT1-4.1;
 *                      performer FT1-20.1
 *  Timestamps without a zone are local at the configured offset (default 0,
 *  UTC); senders should include +ZZZZ.
 */
#ifndef SL_ADT_H
#define SL_ADT_H

#include <stddef.h>
#include <stdint.h>
#include "health/v1/health.pb-c.h"

typedef struct {
    int32_t default_offset_s;    /* for timestamps without +ZZZZ */
    const char *currency;        /* when FT1-11 names none */
    const char *citizen_id_type; /* PID-3.5 code of the citizen id */
} sl_adt_opts_t;

#define SL_ADT_OPTS_DEFAULT { 0, "EUR", "NI" }

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

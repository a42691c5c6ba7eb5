/*  sl_hl7 — HL7 version 2 messages: structure, escapes, timestamps, ACKs.
 *
 *  A message is segments separated by CR (files often use LF or CRLF; all
 *  three are accepted). The first segment is MSH; MSH-1 (the character
 *  after "MSH") is the field separator and MSH-2 holds the component,
 *  repetition, escape and subcomponent characters, usually "^~\&". Values
 *  may contain the escapes \F\ \S\ \T\ \R\ \E\ (the separators themselves),
 *  \Xhh..\ (bytes in hex) and \.br\ (a line break); others are kept as written.
 *
 *  Positions follow the standard's numbering: field n of a segment is
 *  "SEG-n" (for MSH, MSH-1 is the separator, so MSH-3 is the first field
 *  after "MSH|^~\&"); repetitions count from 1, components and
 *  subcomponents from 1.
 *
 *  A parsed message keeps its own copy of the text; it never reads outside
 *  the input it was given.
 */
#ifndef SL_HL7_H
#define SL_HL7_H

#include <stddef.h>
#include <stdint.h>
#include "sl_time.h"

typedef struct _sl_hl7_msg_t sl_hl7_msg_t;

/*  Parses msg[0..len). Returns the message or NULL with the reason in err
 *  (prefixed with `where`, e.g. "adt.hl7: message 3: "): no MSH segment
 *  first, bad delimiters in MSH-1/MSH-2, a segment name that is not three
 *  upper-case letters or digits, out of memory. */
sl_hl7_msg_t *sl_hl7_parse (const char *msg, size_t len, const char *where,
                            char *err, size_t errlen);

/*  Frees the message; sets *self_p to NULL. Harmless on NULL. */
void sl_hl7_destroy (sl_hl7_msg_t **self_p);

/*  Number of segments. Cannot fail. */
size_t sl_hl7_segments (const sl_hl7_msg_t *self);

/*  The 3-letter name of segment i (0-based), or "" if out of range. */
const char *sl_hl7_segment_name (const sl_hl7_msg_t *self, size_t i);

/*  Index of the first segment named `name` at or after `from`, or -1. */
long sl_hl7_find (const sl_hl7_msg_t *self, const char *name, size_t from);

/*  Number of repetitions in field `field` of segment `seg` (0 if empty or
 *  absent). */
size_t sl_hl7_repetitions (const sl_hl7_msg_t *self, size_t seg, size_t field);

/*  Copies the unescaped value at SEG-field, repetition rep, component comp,
 *  subcomponent sub of segment `seg` into out (NUL-terminated). A position
 *  that is absent reads as "". Returns the length, or SL_ETOOBIG if it does
 *  not fit in outlen-1 bytes (out then holds a truncated value). */
int sl_hl7_get (const sl_hl7_msg_t *self, size_t seg, size_t field, size_t rep,
                size_t comp, size_t sub, char *out, size_t outlen);

/*  Parses an HL7 TS/DTM timestamp of any precision,
 *  YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ], into Unix seconds: the
 *  start of the period written (20261128 is 2026-11-28 00:00:00). Without
 *  a zone the time is wall-clock time in `tz` (DST by its rules) or, when tz
 *  is NULL, local at default_offset_s east of UTC. *digits (may be NULL)
 *  gets the number of characters before the zone, i.e. the precision.
 *  Returns 0, or SL_EPARSE (malformed, no such date, or a local time that
 *  does not exist in tz). */
int sl_hl7_parse_ts_in (const char *s, size_t len, const sl_tz_t *tz, int32_t default_offset_s,
                        int64_t *out, int *digits);

/*  sl_hl7_parse_ts_in without a zone. */
int sl_hl7_parse_ts (const char *s, size_t len, int32_t default_offset_s,
                     int64_t *out);

/*  Builds the acknowledgement an HL7 receiver sends for message msg[0..len):
 *  MSH (sender and receiver swapped, MSH-7 = `now` in UTC, MSH-9 =
 *  ACK^<trigger>^ACK, MSH-10 = "ACK" + the original control id, processing id
 *  and version copied) and MSA with `code` ("AA" accepted, "AE" error, "AR"
 *  rejected), the original control id (MSH-10) and `text` (escaped; may be
 *  NULL). Works on any input: if msg is not parseable HL7 the ACK uses the
 *  default delimiters and empty ids. Segments end in CR; no MLLP framing.
 *  Returns 0 and a heap string in *out (the caller frees it) of *outlen
 *  bytes, or SL_ENOMEM. */
int sl_hl7_ack (const char *msg, size_t len, const char *code, const char *text,
                int64_t now, char **out, size_t *outlen);

#endif

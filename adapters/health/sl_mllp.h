/*  sl_mllp — finding HL7 v2 messages in a byte stream or a file.
 *
 *  Over TCP, hospital systems frame each message with the Minimal Lower
 *  Layer Protocol: 0x0B, the message, 0x1C 0x0D. The decoder takes bytes as
 *  they arrive (a frame may be split across reads, several may come in one)
 *  and hands out whole messages. Bytes outside a frame are skipped and
 *  counted. A start byte inside a frame means the sender gave up on the
 *  frame: the cut-off bytes are returned as an error, and decoding resumes
 *  with the new frame.
 *
 *  Exported files hold either MLLP frames or plain messages one after the
 *  other; sl_hl7_split handles the latter (a message starts at each segment
 *  beginning with "MSH"). A file whose first byte is 0x0B is MLLP.
 */
#ifndef SL_MLLP_H
#define SL_MLLP_H

#include <stddef.h>

#define SL_MLLP_START 0x0B
#define SL_MLLP_END1  0x1C
#define SL_MLLP_END2  0x0D

typedef struct _sl_mllp_decoder_t sl_mllp_decoder_t;

/*  A decoder refusing messages over max_message bytes (0 = 1 MiB). NULL on
 *  out of memory. */
sl_mllp_decoder_t *sl_mllp_decoder_new (size_t max_message);

/*  Frees; sets *self_p to NULL. Harmless on NULL. */
void sl_mllp_decoder_destroy (sl_mllp_decoder_t **self_p);

/*  Appends len received bytes. Returns 0 or SL_ENOMEM. */
int sl_mllp_decoder_feed (sl_mllp_decoder_t *self, const void *data, size_t len);

/*  Takes the next message (without the framing bytes). Returns 1 with it in
 *  *msg / *len; 0 if more bytes are needed; SL_EPARSE for a frame cut off by
 *  a new start byte or, with eof set, by the end of the stream; SL_ETOOBIG
 *  for a frame over the limit (its bytes are dropped up to the frame's end).
 *  On errors *msg / *len hold the bytes at fault (possibly a prefix only).
 *  *msg is valid until the next _feed or _next. */
int sl_mllp_decoder_next (sl_mllp_decoder_t *self, int eof, const char **msg,
                          size_t *len);

/*  Bytes skipped outside frames so far. Cannot fail. */
size_t sl_mllp_decoder_garbage (const sl_mllp_decoder_t *self);

/*  Frames msg[0..len) for sending: a heap buffer of len+3 bytes in *out.
 *  Returns 0 or SL_ENOMEM. */
int sl_mllp_wrap (const char *msg, size_t len, char **out, size_t *outlen);

/*  Where sl_hl7_split is in a buffer. Start with SL_HL7_SPLIT_INIT. */
typedef struct {
    size_t pos;     /* next byte to look at */
    size_t line;    /* line number at pos (CR, LF and CRLF each end a line) */
} sl_hl7_split_t;
#define SL_HL7_SPLIT_INIT { 0, 1 }

/*  Splits unframed HL7 text: finds the next message at or after st->pos in
 *  buf[0..len), sets *msg / *mlen to it (up to the next segment starting
 *  with "MSH" or the end) and *line to the line it starts on, and advances
 *  st. Blank lines between messages are skipped; any other text that does
 *  not start with MSH is returned as a message of its own, so that the
 *  parser rejects and reports it rather than it vanishing. Returns 1, or 0
 *  when no message is left. Cannot fail. */
int sl_hl7_split (const char *buf, size_t len, sl_hl7_split_t *st,
                  const char **msg, size_t *mlen, size_t *line);

#endif

/*  sl_inbuf — the unread bytes of a byte stream, for the decoders that are
    fed in chunks of any size and take whole messages out (MLLP frames,
    DSMR telegrams). */
#ifndef SL_INBUF_H
#define SL_INBUF_H

#include <stddef.h>

/*  Unread bytes are buf[pos..len). Zero-initialise before first use. */
typedef struct {
    char *buf;
    size_t pos, len, cap;
} sl_inbuf_t;

/*  Appends data[0..n). Consumed bytes are dropped first when they are all
    of the buffer or more than half of it, so the buffer stays as large as
    the longest message plus one chunk. Pointers into buf are invalid
    afterwards. Returns 0, or SL_ENOMEM with the unread bytes unchanged. */
int sl_inbuf_append (sl_inbuf_t *self, const void *data, size_t n);

/*  Frees the bytes and zeroes *self. Cannot fail. */
void sl_inbuf_release (sl_inbuf_t *self);

#endif

/*  fz_input — the byte layout the tests/fuzz targets read their input in.
 *
 *  An input is a series of messages, read until the bytes run out:
 *
 *    control   1 byte   what the target makes of it (sender, frame count)
 *    frames    for each frame: length (2 bytes, big-endian), then that many
 *              bytes (fewer if the input ends first)
 *
 *  Several messages per input let one input file drive a whole exchange
 *  (SUBSCRIBE, PUBLISH, CREDIT, ACK...), so a crash that needs state
 *  reproduces from that one file.
 */
#ifndef FZ_INPUT_H
#define FZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p;
    size_t n;
} fz_input_t;

/*  Takes the next control byte; 0 when the input is used up. */
static inline int
fz_next (fz_input_t *in, uint8_t *control)
{
    if (in->n == 0)
        return 0;
    *control = in->p[0];
    in->p++;
    in->n--;
    return 1;
}

/*  Takes the next frame (possibly empty). Cannot fail. */
static inline void
fz_frame (fz_input_t *in, const uint8_t **data, size_t *len)
{
    size_t want = 0;
    if (in->n >= 2) {
        want = (size_t) in->p[0] << 8 | in->p[1];
        in->p += 2;
        in->n -= 2;
    }
    else {
        in->p += in->n;
        in->n = 0;
    }
    *len = want < in->n ? want : in->n;
    *data = in->p;
    in->p += *len;
    in->n -= *len;
}

#endif

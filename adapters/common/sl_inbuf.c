/*  sl_inbuf — see sl_inbuf.h. */
#include "sl_inbuf.h"
#include "sl_error.h"

#include <stdlib.h>
#include <string.h>

int
sl_inbuf_append (sl_inbuf_t *self, const void *data, size_t n)
{
    if (self->pos > 0 && (self->pos >= self->len || self->pos > self->cap / 2)) {
        memmove (self->buf, self->buf + self->pos, self->len - self->pos);
        self->len -= self->pos;
        self->pos = 0;
    }
    if (self->len + n > self->cap) {
        size_t ncap = self->cap ? self->cap : 4096;
        while (ncap < self->len + n)
            ncap *= 2;
        char *nb = realloc (self->buf, ncap);
        if (!nb)
            return SL_ENOMEM;
        self->buf = nb;
        self->cap = ncap;
    }
    if (n)
        memcpy (self->buf + self->len, data, n);
    self->len += n;
    return 0;
}

void
sl_inbuf_release (sl_inbuf_t *self)
{
    free (self->buf);
    memset (self, 0, sizeof *self);
}

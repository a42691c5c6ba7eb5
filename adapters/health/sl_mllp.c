/*  sl_mllp — see sl_mllp.h.
 *
 *  The decoder keeps unread bytes in buf[pos..len). It is either outside a
 *  frame (looking for 0x0B) or inside one that starts at buf[pos].
 */
#include "sl_mllp.h"
#include "sl_error.h"
#include "sl_inbuf.h"

#include <stdlib.h>
#include <string.h>

struct _sl_mllp_decoder_t {
    sl_inbuf_t in;         /* unread bytes: in.buf[in.pos..in.len) */
    size_t max;
    size_t garbage;
    size_t scan;           /* bytes of the current frame already searched */
    int dropping;          /* discarding an oversized frame up to its end */
};

sl_mllp_decoder_t *
sl_mllp_decoder_new (size_t max_message)
{
    sl_mllp_decoder_t *self = calloc (1, sizeof *self);
    if (self)
        self->max = max_message ? max_message : 1 << 20;
    return self;
}

void
sl_mllp_decoder_destroy (sl_mllp_decoder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_inbuf_release (&(*self_p)->in);
    free (*self_p);
    *self_p = NULL;
}

int
sl_mllp_decoder_feed (sl_mllp_decoder_t *self, const void *data, size_t len)
{
    return sl_inbuf_append (&self->in, data, len);
}

int
sl_mllp_decoder_next (sl_mllp_decoder_t *self, int eof, const char **msg, size_t *len)
{
    if (!self->in.buf)
        return 0;
    for (;;) {
        char *b = self->in.buf + self->in.pos;
        size_t avail = self->in.len - self->in.pos;
        if (self->dropping) {
            /* Skip the rest of an oversized frame, up to 0x1C 0x0D or a new start. */
            size_t i = 0;
            while (i < avail && b [i] != SL_MLLP_START
                && !(b [i] == SL_MLLP_END1 && i + 1 < avail && b [i + 1] == SL_MLLP_END2))
                i++;
            if (i < avail && b [i] == SL_MLLP_END1) {
                self->in.pos += i + 2;
                self->dropping = 0;
                continue;
            }
            if (i < avail) {            /* a new frame begins */
                self->in.pos += i;
                self->dropping = 0;
                continue;
            }
            /* keep a trailing 0x1C, its 0x0D may follow */
            size_t keep = avail && b [avail - 1] == SL_MLLP_END1 ? 1 : 0;
            self->in.pos += avail - keep;
            return 0;
        }
        /* Outside a frame: skip to the start byte. */
        char *start = avail ? memchr (b, SL_MLLP_START, avail) : NULL;
        if (!start) {
            self->garbage += avail;
            self->in.pos += avail;
            return 0;
        }
        self->garbage += (size_t) (start - b);
        self->in.pos += (size_t) (start - b);
        b = start + 1;
        avail = self->in.len - self->in.pos - 1;
        /* Resume where the last call stopped: a frame arriving in many
           small reads is searched once, not once per read. */
        size_t i = self->scan;
        for (; i < avail; i++) {
            if (b [i] == SL_MLLP_START) {   /* frame abandoned by the sender */
                *msg = b;
                *len = i;
                self->in.pos += i + 1;
                self->scan = 0;
                return SL_EPARSE;
            }
            if (b [i] == SL_MLLP_END1 && i + 1 < avail && b [i + 1] == SL_MLLP_END2) {
                *msg = b;
                *len = i;
                self->in.pos += i + 3;
                self->scan = 0;
                return 1;
            }
            if (i >= self->max) {
                *msg = b;
                *len = i;
                self->in.pos += i + 1;
                self->dropping = 1;
                self->scan = 0;
                return SL_ETOOBIG;
            }
        }
        if (eof) {
            *msg = b;
            *len = avail;
            self->in.pos = self->in.len;
            self->scan = 0;
            return SL_EPARSE;
        }
        /* a final 0x1C is looked at again when its 0x0D may have come */
        self->scan = avail && b [avail - 1] == SL_MLLP_END1 ? avail - 1 : avail;
        return 0;
    }
}

size_t
sl_mllp_decoder_garbage (const sl_mllp_decoder_t *self)
{
    return self->garbage;
}

int
sl_mllp_wrap (const char *msg, size_t len, char **out, size_t *outlen)
{
    char *p = malloc (len + 3);
    if (!p)
        return SL_ENOMEM;
    p [0] = SL_MLLP_START;
    if (len)
        memcpy (p + 1, msg, len);
    p [len + 1] = SL_MLLP_END1;
    p [len + 2] = SL_MLLP_END2;
    *out = p;
    *outlen = len + 3;
    return 0;
}

/*  True if a segment starting at buf[i] is an MSH segment. */
static int
s_is_msh (const char *buf, size_t len, size_t i)
{
    return i + 3 < len && memcmp (buf + i, "MSH", 3) == 0;
}

int
sl_hl7_split (const char *buf, size_t len, sl_hl7_split_t *st,
              const char **msg, size_t *mlen, size_t *line)
{
    size_t i = st->pos;
    /* skip line ends and blank space between messages */
    while (i < len && (buf [i] == '\r' || buf [i] == '\n' || buf [i] == ' ' || buf [i] == '\t')) {
        if (buf [i] == '\n' || (buf [i] == '\r' && !(i + 1 < len && buf [i + 1] == '\n')))
            st->line++;
        i++;
    }
    if (i >= len) {
        st->pos = len;
        return 0;
    }
    /* the message runs until the next segment that starts with MSH; text
       that does not start with MSH is handed out too, so that it is reported */
    size_t begin = i;
    *line = st->line;
    int at_bol = 0;
    while (i < len && !(at_bol && s_is_msh (buf, len, i))) {
        if (buf [i] == '\n' || (buf [i] == '\r' && !(i + 1 < len && buf [i + 1] == '\n')))
            st->line++;
        at_bol = buf [i] == '\r' || buf [i] == '\n';
        i++;
    }
    *msg = buf + begin;
    *mlen = i - begin;
    st->pos = i;
    return 1;
}

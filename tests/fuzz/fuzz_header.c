/*  libFuzzer target: the broker's data plane from the first byte it decodes.
 *
 *  Each input is a series of messages (fz_input.h) sent over real CURVE
 *  DEALER connections, as member "water" (control bit 0 clear) or "power"
 *  (set), with 1 + ((control >> 1) & 3) frames: the packed sluice.v1.Header
 *  and the bodies. The broker runs sl_broker_run() on a thread of this
 *  process, so everything it does with the frames — Header unpacking, the
 *  version and frame-count checks, the command handlers, body decoding
 *  against the record type, group commit, deliveries — is instrumented and
 *  fuzzed as sluiced runs it.
 *
 *  When the sender changes, and after the last message, the clients send
 *  PING with a nonce and wait for the matching PONG: messages are handled
 *  in input order, and every input has been handled before the next one.
 *  Besides the sanitizers, the target checks two properties and aborts if
 *  either fails: the broker answers PING within 10 s (it never stops
 *  serving because of a peer), and every message it sends starts with a
 *  Header that decodes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <zmq.h>

#include "fz_broker.h"
#include "fz_input.h"
#include "sluice/v1/envelope.pb-c.h"

#define S_MAX_MESSAGES 32
#define S_SYNC_MS      10000

static fz_broker_t s_fb;
static void *s_ctx;
static void *s_sock[2];          /* water, power */
static uint64_t s_nonce;

static void
s_fail (const char *what)
{
    fprintf (stderr, "fuzz_header: %s (%s)\n", what, zmq_strerror (zmq_errno ()));
    abort ();
}

/*  libFuzzer's -timeout watchdog is a SIGALRM every few seconds: a blocking
 *  zmq call it lands in returns EINTR, which is not the broker's fault. */
static int
s_poll (zmq_pollitem_t *items, int n, long ms)
{
    int rc;
    while ((rc = zmq_poll (items, n, ms)) < 0 && zmq_errno () == EINTR)
        ;
    return rc;
}

static int
s_recv (zmq_msg_t *m, void *sock)
{
    int rc;
    while ((rc = zmq_msg_recv (m, sock, 0)) < 0 && zmq_errno () == EINTR)
        ;
    return rc;
}

static int
s_send (void *sock, const void *p, size_t len, int flags)
{
    int rc;
    while ((rc = zmq_send (sock, p, len, flags)) < 0 && zmq_errno () == EINTR)
        ;
    return rc;
}

static void *
s_connect (int member)
{
    void *s = zmq_socket (s_ctx, ZMQ_DEALER);
    int linger = 0, hwm = 0;
    if (!s
        || zmq_setsockopt (s, ZMQ_CURVE_SERVERKEY, s_fb.broker_pub, SL_KEY_Z85_LEN) != 0
        || zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, s_fb.keys[member].public_key, SL_KEY_Z85_LEN) != 0
        || zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, s_fb.keys[member].secret_key, SL_KEY_Z85_LEN) != 0
        || zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger) != 0
        || zmq_setsockopt (s, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0
        || zmq_connect (s, s_fb.data_ep) != 0)
        s_fail ("cannot connect a client");
    return s;
}

static void
s_cleanup (void)
{
    for (int i = 0; i < 2; i++)
        if (s_sock[i])
            zmq_close (s_sock[i]);
    if (s_ctx)
        zmq_ctx_term (s_ctx);
    s_ctx = NULL;
    fz_broker_stop (&s_fb);
}

static void
s_init (void)
{
    fz_broker_start (&s_fb);
    fz_broker_serve (&s_fb);
    s_ctx = zmq_ctx_new ();
    s_sock[0] = s_connect (FZ_WATER);
    s_sock[1] = s_connect (FZ_POWER);
    randombytes_buf (&s_nonce, sizeof s_nonce);
    atexit (s_cleanup);
}

static void
s_send_ping (void *sock, uint64_t seq)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    uint8_t buf[64];
    h.version = 1;
    h.command = SLUICE__V1__COMMAND__PING;
    h.seq = seq;
    size_t len = sluice__v1__header__pack (&h, buf);
    if (s_send (sock, buf, len, 0) != (int) len)
        s_fail ("cannot send PING");
}

/*  Reads one whole message from `sock`; returns 1 if it is PONG `seq`. */
static int
s_take (void *sock, uint64_t seq)
{
    zmq_msg_t m;
    zmq_msg_init (&m);
    if (s_recv (&m, sock) < 0)
        s_fail ("recv failed");
    Sluice__V1__Header *h = sluice__v1__header__unpack (NULL, zmq_msg_size (&m), zmq_msg_data (&m));
    if (!h) {
        fprintf (stderr, "fuzz_header: the broker sent %zu bytes that are not a Header\n",
                 zmq_msg_size (&m));
        abort ();
    }
    int pong = h->command == SLUICE__V1__COMMAND__PONG && h->seq == seq;
    sluice__v1__header__free_unpacked (h, NULL);
    while (zmq_msg_more (&m)) {
        zmq_msg_close (&m);
        zmq_msg_init (&m);
        if (s_recv (&m, sock) < 0)
            s_fail ("recv failed");
    }
    zmq_msg_close (&m);
    return pong;
}

/*  PINGs the connections in `mask` (bit 0 water, bit 1 power) and reads
 *  them until each has its PONG back. */
static void
s_sync (int mask)
{
    uint64_t seq = ++s_nonce;
    int got[2] = { !(mask & 1), !(mask & 2) };
    for (int i = 0; i < 2; i++)
        if (!got[i])
            s_send_ping (s_sock[i], seq);
    int waited = 0;
    while (!got[0] || !got[1]) {
        zmq_pollitem_t it[2] = { { s_sock[0], 0, ZMQ_POLLIN, 0 }, { s_sock[1], 0, ZMQ_POLLIN, 0 } };
        int rc = s_poll (it, 2, 100);
        if (rc < 0)
            s_fail ("poll failed");
        if (rc == 0 && (waited += 100) >= S_SYNC_MS)
            s_fail ("the broker did not answer PING within 10 s");
        for (int i = 0; i < 2; i++)
            while (s_poll (&it[i], 1, 0) > 0 && (it[i].revents & ZMQ_POLLIN))
                got[i] |= s_take (s_sock[i], seq);
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_ctx)
        s_init ();
    fz_input_t in = { data, size };
    uint8_t c;
    int last = -1;
    for (int k = 0; k < S_MAX_MESSAGES && fz_next (&in, &c); k++) {
        /* the two connections are independent queues: let the broker
         * finish with one sender's messages before the other's follow */
        if (last >= 0 && last != (c & 1))
            s_sync (1 << last);
        last = c & 1;
        void *sock = s_sock[c & 1];
        int nf = 1 + ((c >> 1) & 3);
        for (int f = 0; f < nf; f++) {
            const uint8_t *p;
            size_t len;
            fz_frame (&in, &p, &len);
            if (s_send (sock, p, len, f + 1 < nf ? ZMQ_SNDMORE : 0) != (int) len)
                s_fail ("cannot send a frame");
        }
    }
    s_sync (3);
    return 0;
}

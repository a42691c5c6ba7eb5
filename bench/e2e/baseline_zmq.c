/*  Baseline: raw libzmq PUSH -> PULL over CURVE on loopback, 256-byte
 *  messages. The ceiling for one encrypted hop on this machine.
 *
 *  Usage: baseline-zmq [COUNT] [SIZE]     prints "zmq_curve_pushpull msgs_per_s=N"
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench_baseline.h"
#include "bench_util.h"

static char s_endpoint[256];
static long s_count = 1000000;
static size_t s_size = 256;

typedef struct {
    void *pull;
    uint64_t t_first, t_last;
} shared_t;

static void *
s_receiver (void *arg)
{
    shared_t *sh = arg;
    void *pull = sh->pull;
    char *buf = malloc (s_size + 64);
    for (long i = 0; i < s_count; i++) {
        int n = zmq_recv (pull, buf, s_size + 64, 0);
        if (n < 0) {
            fprintf (stderr, "baseline-zmq: recv: %s\n", zmq_strerror (zmq_errno ()));
            exit (1);
        }
        if (i == 0)
            sh->t_first = bench_now_ns ();
    }
    sh->t_last = bench_now_ns ();
    free (buf);
    zmq_close (pull);
    return NULL;
}

int
main (int argc, char **argv)
{
    if (bench_baseline_args (argc, argv, "baseline-zmq",
                             "Raw libzmq PUSH->PULL with CURVE over loopback; prints messages/s.\n",
                             &s_count, &s_size))
        return 0;
    void *ctx = zmq_ctx_new ();
    char spub[41], ssec[41], cpub[41], csec[41];
    zmq_curve_keypair (spub, ssec);
    zmq_curve_keypair (cpub, csec);

    /* The receiver's socket is made and bound here, then handed to its thread
       (pthread_create is the full barrier a socket's migration needs). */
    shared_t sh = { .pull = zmq_socket (ctx, ZMQ_PULL) };
    int one = 1, hwm = 100000;
    zmq_setsockopt (sh.pull, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt (sh.pull, ZMQ_CURVE_SECRETKEY, ssec, 40);
    zmq_setsockopt (sh.pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (zmq_bind (sh.pull, "tcp://127.0.0.1:*") != 0) {
        fprintf (stderr, "baseline-zmq: bind: %s\n", zmq_strerror (zmq_errno ()));
        return 1;
    }
    size_t len = sizeof s_endpoint;
    zmq_getsockopt (sh.pull, ZMQ_LAST_ENDPOINT, s_endpoint, &len);
    pthread_t th;
    pthread_create (&th, NULL, s_receiver, &sh);

    void *push = zmq_socket (ctx, ZMQ_PUSH);
    zmq_setsockopt (push, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (push, ZMQ_CURVE_SERVERKEY, spub, 40);
    zmq_setsockopt (push, ZMQ_CURVE_PUBLICKEY, cpub, 40);
    zmq_setsockopt (push, ZMQ_CURVE_SECRETKEY, csec, 40);
    zmq_connect (push, s_endpoint);

    char *msg = calloc (1, s_size);
    uint64_t t0 = bench_now_ns ();
    for (long i = 0; i < s_count; i++)
        zmq_send (push, msg, s_size, 0);
    pthread_join (th, NULL);
    double secs = (double) (sh.t_last - t0) / 1e9;
    printf ("zmq_curve_pushpull count=%ld size=%zu seconds=%.3f msgs_per_s=%.0f\n",
            s_count, s_size, secs, (double) s_count / secs);
    free (msg);
    zmq_close (push);
    zmq_ctx_term (ctx);
    return 0;
}

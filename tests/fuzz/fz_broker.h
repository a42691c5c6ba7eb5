/*  fz_broker — a real broker for the fuzz targets of tests/fuzz.
 *
 *  The targets fuzz the code sluiced runs, not a copy of it: fz_broker_start()
 *  makes a fresh data directory (on /dev/shm when there is one, so LMDB's
 *  fsyncs cost nothing), registers a fixed set of members with fresh CURVE
 *  keys, and opens the broker with sl_broker_new() on ephemeral loopback
 *  ports. The directory is removed by fz_broker_stop(), which the targets
 *  also register with atexit(). The broker logs at level debug, so that
 *  every log line's arguments are evaluated and formatted.
 *
 *  Members (index into fz_broker_t.keys, name, role):
 */
#ifndef FZ_BROKER_H
#define FZ_BROKER_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "sl_broker.h"
#include "sl_keys.h"
#include "sl_registry.h"

enum {
    FZ_ADMIN,        /* "admin",     admin:city */
    FZ_WATER,        /* "water",     member (owns water.*) */
    FZ_POWER,        /* "power",     member (granted water.v1.MeterReading for billing) */
    FZ_AUDITOR,      /* "auditor",   auditor */
    FZ_WATERADM,     /* "wateradm",  admin:water */
    FZ_CONSENT,      /* "registry",  consent-source */
    FZ_N_MEMBERS
};

typedef struct {
    char dir[256];
    sl_broker_t *broker;
    sl_keypair_t keys[FZ_N_MEMBERS];
    char broker_pub[SL_KEY_Z85_LEN + 1];
    char data_ep[256];
    char admin_ep[256];
    pthread_t thread;
    int running;
    volatile sig_atomic_t stop;
} fz_broker_t;

/*  Name of member `i` (FZ_ADMIN ..). */
const char *fz_member_name (int i);

/*  Prepares the data directory and opens the broker (not yet serving).
 *  Aborts with a message on stderr if anything fails: a fuzz target cannot
 *  do anything useful without its broker. */
void fz_broker_start (fz_broker_t *fb);

/*  Runs sl_broker_run() on a thread of its own. */
void fz_broker_serve (fz_broker_t *fb);

/*  Stops the serving thread (if any), destroys the broker and removes the
 *  data directory. Harmless to call twice. */
void fz_broker_stop (fz_broker_t *fb);

/*  The registry entry of member `i` (borrowed; valid until the registry
 *  changes). */
const sl_member_t *fz_member (fz_broker_t *fb, int i);

#endif

/*  sl_sync — the store's flush in a thread of its own. See sl_sync.h. */
#include "sl_sync.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "sl_error.h"
#include "sl_log.h"

struct sl_sync_t {
    MDB_env *env;
    int efd;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    uint64_t requested;      /* highest commit asked for */
    uint64_t covered;        /* highest commit a finished flush covered */
    int failed;              /* a flush failed since the last sl_sync_take */
    int running;             /* a flush is in progress */
    int stop;
    uint64_t flushes, total_us;
};

static uint64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void *
s_run (void *arg)
{
    sl_sync_t *self = arg;
    pthread_mutex_lock (&self->mu);
    while (!self->stop) {
        if (self->requested <= self->covered) {
            pthread_cond_wait (&self->cv, &self->mu);
            continue;
        }
        /* read the target before the flush starts (design note 4) */
        uint64_t upto = self->requested;
        self->running = 1;
        pthread_mutex_unlock (&self->mu);
        uint64_t t0 = s_now_us ();
        int rc = mdb_env_sync (self->env, 1);
        uint64_t took = s_now_us () - t0;
        pthread_mutex_lock (&self->mu);
        self->running = 0;
        self->flushes++;
        self->total_us += took;
        if (rc == 0) {
            if (upto > self->covered)
                self->covered = upto;
        }
        else {
            self->failed = rc;
            /* answered: the loop asks again (design note 5) */
            if (self->requested == upto)
                self->requested = self->covered;
        }
        uint64_t one = 1;
        while (write (self->efd, &one, sizeof one) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_unlock (&self->mu);
    return NULL;
}

sl_sync_t *
sl_sync_new (MDB_env *env)
{
    sl_sync_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->env = env;
    self->efd = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->efd < 0)
        goto fail;
    pthread_mutex_init (&self->mu, NULL);
    pthread_cond_init (&self->cv, NULL);
    if (pthread_create (&self->thread, NULL, s_run, self) != 0) {
        pthread_cond_destroy (&self->cv);
        pthread_mutex_destroy (&self->mu);
        goto fail;
    }
    return self;
fail:
    if (self->efd >= 0)
        close (self->efd);
    free (self);
    return NULL;
}

void
sl_sync_destroy (sl_sync_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sl_sync_t *self = *self_p;
    pthread_mutex_lock (&self->mu);
    self->stop = 1;
    pthread_cond_signal (&self->cv);
    pthread_mutex_unlock (&self->mu);
    pthread_join (self->thread, NULL);
    pthread_cond_destroy (&self->cv);
    pthread_mutex_destroy (&self->mu);
    close (self->efd);
    free (self);
    *self_p = NULL;
}

int
sl_sync_fd (sl_sync_t *self)
{
    return self->efd;
}

void
sl_sync_request (sl_sync_t *self, uint64_t upto)
{
    pthread_mutex_lock (&self->mu);
    if (upto > self->requested) {
        self->requested = upto;
        pthread_cond_signal (&self->cv);
    }
    pthread_mutex_unlock (&self->mu);
}

int
sl_sync_busy (sl_sync_t *self)
{
    pthread_mutex_lock (&self->mu);
    int busy = self->running || self->requested > self->covered;
    pthread_mutex_unlock (&self->mu);
    return busy;
}

int
sl_sync_take (sl_sync_t *self, uint64_t *durable)
{
    uint64_t n;
    while (read (self->efd, &n, sizeof n) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock (&self->mu);
    *durable = self->covered;
    int failed = self->failed;
    self->failed = 0;
    pthread_mutex_unlock (&self->mu);
    if (failed) {
        sl_error ("store.sync_failed", "thread=flush error=\"%s\"", mdb_strerror (failed));
        return SL_ESTORE;
    }
    return 0;
}

void
sl_sync_stats (sl_sync_t *self, uint64_t *flushes, uint64_t *total_us)
{
    pthread_mutex_lock (&self->mu);
    *flushes = self->flushes;
    *total_us = self->total_us;
    pthread_mutex_unlock (&self->mu);
}

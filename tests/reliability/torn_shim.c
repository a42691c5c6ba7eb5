/*  torn_shim — loaded into sluiced by tests/reliability/test_torn.c
 *  (LD_PRELOAD): records every write to the store's data file and every
 *  flush of it into a journal, so the test can rebuild what a disk could
 *  hold after a power cut at any instant.
 *
 *  Environment: SL_TORN_FILE, the data file (store/data.mdb) to watch;
 *  SL_TORN_JOURNAL, the journal to append to. Without both it does nothing
 *  but pass the calls on.
 *
 *  Journal: a sequence of entries, each a torn_entry_t (test_torn.c reads
 *  the same layout) followed, for a write, by its `len` bytes. Times are
 *  CLOCK_MONOTONIC nanoseconds taken before and after the real call; an
 *  entry is appended after the call returned, under a mutex (the loop
 *  writes, the flush thread flushes). A write on a descriptor opened with
 *  O_DSYNC is marked as durable when it returns.
 */
/* the symbols liblmdb imports are pwrite/pwritev, not their 64 aliases */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "torn_journal.h"

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static int s_jfd = -2;          /* -2 not yet opened, -1 off */
static dev_t s_dev;
static ino_t s_ino;

/*  Under s_mu. */
static int
s_open (void)
{
    if (s_jfd != -2)
        return s_jfd;
    const char *file = getenv ("SL_TORN_FILE"), *journal = getenv ("SL_TORN_JOURNAL");
    struct stat st;
    s_jfd = -1;
    if (file && journal && stat (file, &st) == 0) {
        s_dev = st.st_dev;
        s_ino = st.st_ino;
        s_jfd = open (journal, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    }
    return s_jfd;
}

static int
s_watched (int fd)
{
    struct stat st;
    pthread_mutex_lock (&s_mu);
    int on = s_open () >= 0;
    pthread_mutex_unlock (&s_mu);
    return on && fstat (fd, &st) == 0 && st.st_dev == s_dev && st.st_ino == s_ino;
}

static void
s_all (int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write (fd, p, len);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t) n;
    }
}

static void
s_log (int kind, int fd, uint64_t t0, uint64_t t1, uint64_t off, const struct iovec *iov,
       int iovcnt, size_t len)
{
    torn_entry_t e = { .kind = (uint32_t) kind, .tid = (uint32_t) gettid (), .t_start = t0,
                       .t_end = t1, .off = off, .len = len };
    if (kind == TORN_WRITE && (fcntl (fd, F_GETFL) & O_DSYNC))
        e.kind = TORN_WRITE_DSYNC;
    pthread_mutex_lock (&s_mu);
    s_all (s_jfd, &e, sizeof e);
    for (int i = 0; i < iovcnt && len > 0; i++) {
        size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;
        s_all (s_jfd, iov[i].iov_base, n);
        len -= n;
    }
    pthread_mutex_unlock (&s_mu);
}

/*  dlsym gives an object pointer; POSIX guarantees it converts. */
static void
s_resolve (void **slot, const char *name)
{
    void *p = dlsym (RTLD_NEXT, name);
    memcpy (slot, &p, sizeof p);
}

#define REAL(name) \
    static __typeof__ (name) *real_##name; \
    if (!real_##name) \
        s_resolve ((void **) &real_##name, #name)

ssize_t
pwrite (int fd, const void *buf, size_t count, off_t offset)
{
    REAL (pwrite);
    if (!s_watched (fd))
        return real_pwrite (fd, buf, count, offset);
    uint64_t t0 = torn_now_ns ();
    ssize_t n = real_pwrite (fd, buf, count, offset);
    if (n > 0) {
        struct iovec v = { (void *) buf, (size_t) n };
        s_log (TORN_WRITE, fd, t0, torn_now_ns (), (uint64_t) offset, &v, 1, (size_t) n);
    }
    return n;
}

ssize_t
pwrite64 (int fd, const void *buf, size_t count, off64_t offset)
{
    return pwrite (fd, buf, count, (off_t) offset);
}

ssize_t
pwritev (int fd, const struct iovec *iov, int iovcnt, off_t offset)
{
    REAL (pwritev);
    if (!s_watched (fd))
        return real_pwritev (fd, iov, iovcnt, offset);
    uint64_t t0 = torn_now_ns ();
    ssize_t n = real_pwritev (fd, iov, iovcnt, offset);
    if (n > 0)
        s_log (TORN_WRITE, fd, t0, torn_now_ns (), (uint64_t) offset, iov, iovcnt, (size_t) n);
    return n;
}

ssize_t
writev (int fd, const struct iovec *iov, int iovcnt)
{
    REAL (writev);
    if (!s_watched (fd))
        return real_writev (fd, iov, iovcnt);
    off_t at = lseek (fd, 0, SEEK_CUR);
    uint64_t t0 = torn_now_ns ();
    ssize_t n = real_writev (fd, iov, iovcnt);
    if (n > 0 && at >= 0)
        s_log (TORN_WRITE, fd, t0, torn_now_ns (), (uint64_t) at, iov, iovcnt, (size_t) n);
    return n;
}

int
fdatasync (int fd)
{
    REAL (fdatasync);
    if (!s_watched (fd))
        return real_fdatasync (fd);
    uint64_t t0 = torn_now_ns ();
    int rc = real_fdatasync (fd);
    if (rc == 0)
        s_log (TORN_SYNC, fd, t0, torn_now_ns (), 0, NULL, 0, 0);
    return rc;
}

int
fsync (int fd)
{
    REAL (fsync);
    if (!s_watched (fd))
        return real_fsync (fd);
    uint64_t t0 = torn_now_ns ();
    int rc = real_fsync (fd);
    if (rc == 0)
        s_log (TORN_SYNC, fd, t0, torn_now_ns (), 0, NULL, 0, 0);
    return rc;
}

/*  Torn writes: a power cut in the middle of the write stream.
 *
 *  The real sluiced runs with torn_shim preloaded, which journals every
 *  write to store/data.mdb and every flush of it, with times. A publisher
 *  streams records (a consumer takes them) for about a second; the broker
 *  is killed. Then, for several cut instants T picked at random (seeded;
 *  the seed is printed, $SLUICE_TORN_SEED replays it), the test rebuilds a
 *  disk image the way a power cut at T could leave it (half of the cuts
 *  anywhere in the run, half inside a write or within 1 ms after it):
 *
 *    - the data file as it was before the run, then every write in order;
 *    - a write is on disk if it returned before the start of a flush that
 *      returned before T (or it was made on an O_DSYNC descriptor and
 *      returned before T);
 *    - any other write begun before T reached the disk page by page (4 KiB,
 *      LMDB's page) or not, each page drawn at random; the file is as long
 *      as the longest write begun before T (unwritten pages read as zeros);
 *    - nothing begun after T.
 *
 *  Each image must open, its audit log must verify and agree with the
 *  queue and the idempotency index (rel_check), and every record whose
 *  ACK the publisher had received by T must be in it (docs/PROTOCOL.md
 *  5.7.1). The images must include torn ones (pages dropped), or the run
 *  proved nothing. The flushes must come from two threads (the loop's
 *  commits and the flush thread, sl_sync.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "rel_load.h"
#include "sl_audit.h"
#include "torn_journal.h"

#define MAX_RECORDS 200000
#define CUTS 8
#define PAGE 4096

static tb_t tb;
static rel_load_t L;

/*  All of `path` (malloc()ed). Asserts. */
static uint8_t *
s_slurp (const char *path, size_t *len)
{
    uint8_t *buf = (uint8_t *) tl_slurp (path, len);
    cr_assert_not_null (buf, "%s: %s", path, strerror (errno));
    return buf;
}

/*  The journal entry at offset *o of j[jlen] into *e, *o moved past it.
 *  Its data (for a write), or NULL at the end of the journal. */
static const uint8_t *
s_entry (const uint8_t *j, size_t jlen, size_t *o, torn_entry_t *e)
{
    if (*o + sizeof *e > jlen)
        return NULL;
    memcpy (e, j + *o, sizeof *e);
    const uint8_t *data = j + *o + sizeof *e;
    *o += sizeof *e + (e->kind == TORN_SYNC ? 0 : e->len);
    return data;
}

static void
s_spit (const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen (path, "wb");
    cr_assert_not_null (f, "%s: %s", path, strerror (errno));
    cr_assert_eq (fwrite (buf, 1, len, f), len);
    cr_assert_eq (fclose (f), 0);
}

static uint64_t rng;

static uint64_t
s_rand (void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

typedef struct {
    size_t len;
    uint64_t pages_kept, pages_dropped;   /* of writes not yet durable at T */
} image_t;

/*  Rebuilds into `img` (capacity `cap`) what a power cut at `cut` could leave
 *  on disk (the rules at the top of this file). */
static void
s_image (const uint8_t *base, size_t base_len, const uint8_t *j, size_t jlen, uint64_t cut,
         uint8_t *img, size_t cap, image_t *out)
{
    memset (out, 0, sizeof *out);
    uint64_t flushed = 0;     /* writes that returned before this are durable */
    torn_entry_t e;
    const uint8_t *data;
    for (size_t o = 0; s_entry (j, jlen, &o, &e);)
        if (e.kind == TORN_SYNC && e.t_end <= cut && e.t_start > flushed)
            flushed = e.t_start;
    memset (img, 0, cap);
    memcpy (img, base, base_len);
    out->len = base_len;
    for (size_t o = 0; (data = s_entry (j, jlen, &o, &e));) {
        if (e.kind == TORN_SYNC || e.t_start > cut)
            continue;
        cr_assert (e.off + e.len <= cap);
        if (e.off + e.len > out->len)
            out->len = e.off + e.len;
        int sure = e.t_end <= flushed || (e.kind == TORN_WRITE_DSYNC && e.t_end <= cut);
        if (sure) {
            memcpy (img + e.off, data, e.len);
            continue;
        }
        for (uint64_t p = e.off; p < e.off + e.len;) {
            uint64_t end = (p / PAGE + 1) * PAGE;
            if (end > e.off + e.len)
                end = e.off + e.len;
            if (s_rand () & 1) {
                memcpy (img + p, data + (p - e.off), end - p);
                out->pages_kept++;
            }
            else
                out->pages_dropped++;
            p = end;
        }
    }
}

static void
s_copy_file (const char *from, const char *to)
{
    size_t n;
    uint8_t *buf = s_slurp (from, &n);
    s_spit (to, buf, n);
    free (buf);
}

Test (torn, power_cut_at_random_points_of_the_write_stream, .timeout = 240)
{
    const char *shim = getenv ("TORN_SHIM");
    cr_assert (shim && *shim, "TORN_SHIM (the preload library) is not set");
    unsigned seed = getenv ("SLUICE_TORN_SEED") ? (unsigned) atoi (getenv ("SLUICE_TORN_SEED"))
                                                 : (unsigned) time (NULL);
    fprintf (stderr, "torn: seed %u (SLUICE_TORN_SEED=%u replays it)\n", seed, seed);
    srand (seed);
    rng = 0x9E3779B97F4A7C15ull ^ seed;
    rel_load_init (&L, "torn", (uint32_t) rand (), MAX_RECORDS, 2000, "m-1");

    char kw[320], kp[320];
    tb_scene (&tb, kw, kp, TL_CITY, TL_PERMIT ("water-to-power", "*", "pseudonymize", ""));
    sl_client_t *con = tb_connect (&tb, kp);
    cr_assert_eq (sl_client_subscribe (con, TL_WATER, "joint-metering"), 0);
    sl_client_destroy (&con, 1000);
    cr_assert_eq (tb_stop (&tb), 0);

    /* the data file before the run: the image every cut starts from */
    char data[400], file[460], journal[460];
    snprintf (data, sizeof data, "%s/data", tb.dir);
    snprintf (file, sizeof file, "%s/store/data.mdb", data);
    snprintf (journal, sizeof journal, "%s/torn.journal", tb.dir);
    size_t base_len;
    uint8_t *base = s_slurp (file, &base_len);

    /* the broker with the journal; its children (none) and ours without */
    char asan[600];
    const char *prev = getenv ("ASAN_OPTIONS");
    snprintf (asan, sizeof asan, "%s%sverify_asan_link_order=0", prev ? prev : "",
              prev && *prev ? ":" : "");
    char *keep_asan = prev ? strdup (prev) : NULL;
    setenv ("ASAN_OPTIONS", asan, 1);
    setenv ("SL_TORN_FILE", file, 1);
    setenv ("SL_TORN_JOURNAL", journal, 1);
    setenv ("LD_PRELOAD", shim, 1);
    tb_restart (&tb);
    unsetenv ("LD_PRELOAD");
    unsetenv ("SL_TORN_FILE");
    unsetenv ("SL_TORN_JOURNAL");
    if (keep_asan)
        setenv ("ASAN_OPTIONS", keep_asan, 1);
    else
        unsetenv ("ASAN_OPTIONS");
    free (keep_asan);

    sl_client_t *pub = tb_connect (&tb, kw);
    con = tb_connect (&tb, kp);
    cr_assert_eq (sl_client_subscribe (con, TL_WATER, "joint-metering"), 0);   /* grants credit */
    uint64_t t_run = rel_now_ns (), run_ns = 1200000000ull * (uint64_t) tb_wait (1);
    while (rel_now_ns () - t_run < run_ns) {
        rel_load_publish (&L, pub, 1 + (unsigned) (rand () % 64));
        sl_client_poll (pub, 1);
        rel_load_consume (&L, con, 1);
    }
    uint64_t t_kill = rel_now_ns ();
    tb_kill (&tb);
    sl_client_destroy (&pub, 0);
    sl_client_destroy (&con, 0);

    size_t jlen;
    uint8_t *j = s_slurp (journal, &jlen);
    uint64_t t_first = 0, writes = 0, syncs = 0;
    uint32_t sync_tids[2] = { 0, 0 };     /* threads that flushed: the loop, the flush thread */
    size_t cap = base_len;
    torn_entry_t e;
    for (size_t o = 0, at = 0; s_entry (j, jlen, &o, &e); at = o) {
        cr_assert (e.kind >= TORN_WRITE && e.kind <= TORN_SYNC, "journal damaged at %zu", at);
        if (!t_first || e.t_start < t_first)
            t_first = e.t_start;
        if (e.kind == TORN_SYNC) {
            syncs++;
            if (!sync_tids[0])
                sync_tids[0] = e.tid;
            else if (e.tid != sync_tids[0])
                sync_tids[1] = e.tid;
        }
        else {
            writes++;
            if (e.off + e.len > cap)
                cap = e.off + e.len;
        }
    }
    uint64_t acked = 0;
    for (uint32_t n = 0; n < L.next; n++)
        acked += L.ack_ns[n] != 0;
    fprintf (stderr, "torn: %u records published, %llu acked, %llu consumed; journal %zu bytes, "
             "%llu writes, %llu flushes\n", L.next, (unsigned long long) acked,
             (unsigned long long) L.consumed, jlen,
             (unsigned long long) writes, (unsigned long long) syncs);
    cr_assert_eq (L.refused, 0, "%llu records refused", (unsigned long long) L.refused);
    cr_assert_gt (acked, 100, "the load was too light to mean anything");
    cr_assert_gt (syncs, 2);
    cr_assert (sync_tids[1] != 0, "every flush came from one thread: the flush thread "
               "(sl_sync) did not run");
    cr_assert (t_first > 0 && t_first < t_kill);

    uint8_t *img = malloc (cap);
    cr_assert_not_null (img);
    uint64_t checked = 0, torn = 0;
    for (int c = 0; c < CUTS; c++) {
        /* even cuts anywhere; odd ones inside a write picked at random (or
         * just after it), where a cut tears most */
        uint64_t cut = t_first + s_rand () % (t_kill - t_first);
        if (c % 2 == 1) {
            uint64_t k = s_rand () % writes, seen = 0;
            for (size_t o = 0; s_entry (j, jlen, &o, &e);)
                if (e.kind != TORN_SYNC && seen++ == k) {
                    cut = e.t_start + s_rand () % (e.t_end - e.t_start + 1000000);
                    break;
                }
        }
        image_t im;
        s_image (base, base_len, j, jlen, cut, img, cap, &im);
        char dir[500], store[520], path[560], from[560];
        snprintf (dir, sizeof dir, "%s/cut%d", tb.dir, c);
        snprintf (store, sizeof store, "%s/store", dir);
        cr_assert_eq (mkdir (dir, 0700), 0);
        cr_assert_eq (mkdir (store, 0700), 0);
        snprintf (path, sizeof path, "%s/data.mdb", store);
        s_spit (path, img, im.len);
        snprintf (from, sizeof from, "%s/%s", data, SL_AUDIT_SIGN_PUB_FILE);
        snprintf (path, sizeof path, "%s/%s", dir, SL_AUDIT_SIGN_PUB_FILE);
        s_copy_file (from, path);

        char when[96];
        snprintf (when, sizeof when, "cut %d at +%.3f s (seed %u): the image does not check", c,
                  (double) (cut - t_first) / 1e9, seed);
        rel_report_t r = rel_load_check (&L, dir, when);
        uint64_t before = 0;
        for (uint32_t n = 0; n < L.next; n++) {
            if (!L.ack_ns[n] || L.ack_ns[n] > cut)
                continue;
            before++;
            cr_assert (L.durable[n], "cut %d at +%.3f s (seed %u): record %u was ACKed before "
                       "the cut but is not in the image", c, (double) (cut - t_first) / 1e9,
                       seed, n);
        }
        fprintf (stderr, "torn: cut %d at +%.3f s: %llu records ACKed before it, all in the "
                 "image; %llu audit entries verify; %llu unflushed pages kept, %llu dropped\n",
                 c, (double) (cut - t_first) / 1e9, (unsigned long long) before,
                 (unsigned long long) r.audit_entries, (unsigned long long) im.pages_kept,
                 (unsigned long long) im.pages_dropped);
        checked += before;
        torn += im.pages_dropped > 0;
        tl_rm_rf (dir);
    }
    cr_assert_gt (torn, 0, "no cut fell where pages were still unflushed: nothing was torn");
    cr_assert_gt (checked, 0, "no cut came after an ACK");
    free (img);
    free (j);
    free (base);
    rel_load_free (&L);
    tb_cleanup (&tb);
}

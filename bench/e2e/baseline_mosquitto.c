/*  Baseline: Eclipse Mosquitto 2 (Debian's package), QoS 1, persistence on,
 *  one publisher -> broker -> one subscriber over loopback, 256-byte payloads.
 *  Configured as its users run it for durable QoS 1: `persistence true` and a
 *  subscriber with a persistent session (clean session off, fixed client id),
 *  so queued QoS 1 messages survive the subscriber's absence. Mosquitto writes
 *  its persistence file on autosave and at shutdown, not per message: it
 *  acknowledges a QoS 1 PUBLISH from memory, a weaker promise than sluice's
 *  ACK-after-fsync or RabbitMQ's publisher confirm (see BENCHMARKS.md).
 *  The benchmark starts its own mosquitto on a free port with a private config
 *  and data directory, and stops it at the end.
 *
 *  Usage: baseline-mosquitto [COUNT] [SIZE]
 *  prints "mosquitto_qos1 ... msgs_per_s=N"
 */
#include <mosquitto.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_baseline.h"
#include "bench_util.h"

static long s_count = 200000;
static size_t s_size = 256;
static volatile long s_received;
static volatile long s_acked;
static uint64_t s_t_last;

static void
s_on_message (struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    (void) m; (void) ud; (void) msg;
    if (__atomic_add_fetch (&s_received, 1, __ATOMIC_RELAXED) == s_count)
        s_t_last = bench_now_ns ();
}

static void
s_on_publish (struct mosquitto *m, void *ud, int mid)
{
    (void) m; (void) ud; (void) mid;
    __atomic_add_fetch (&s_acked, 1, __ATOMIC_RELAXED);
}

static struct mosquitto *
s_client (const char *id, bool clean, int port)
{
    struct mosquitto *m = mosquitto_new (id, clean, NULL);
    mosquitto_int_option (m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_max_inflight_messages_set (m, 1000);
    for (int i = 0; i < 100; i++) {
        if (mosquitto_connect (m, "127.0.0.1", port, 60) == MOSQ_ERR_SUCCESS)
            return m;
        usleep (50000);
    }
    fprintf (stderr, "baseline-mosquitto: cannot connect to 127.0.0.1:%d\n", port);
    exit (1);
}

int
main (int argc, char **argv)
{
    if (bench_baseline_args (argc, argv, "baseline-mosquitto",
                             "Starts mosquitto (QoS 1, persistence) on a free loopback port and\n"
                             "measures one publisher -> one subscriber; prints messages/s.\n",
                             &s_count, &s_size))
        return 0;

    char dir[] = "/tmp/sluice-bench-mosq-XXXXXX";
    if (!mkdtemp (dir)) {
        perror ("mkdtemp");
        return 1;
    }
    int port = bench_free_port ();
    char conf[512];
    snprintf (conf, sizeof conf, "%s/mosquitto.conf", dir);
    FILE *f = fopen (conf, "w");
    fprintf (f, "listener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"
                "persistence_location %s/\nmax_queued_messages 0\nmax_inflight_messages 1000\n"
                "log_dest none\n", port, dir);
    fclose (f);

    pid_t broker = fork ();
    if (broker == 0) {
        execlp ("mosquitto", "mosquitto", "-c", conf, (char *) NULL);
        perror ("exec mosquitto");
        _exit (127);
    }
    mosquitto_lib_init ();
    struct mosquitto *sub = s_client ("bench-sub", false, port);
    mosquitto_message_callback_set (sub, s_on_message);
    mosquitto_subscribe (sub, NULL, "bench/records", 1);
    mosquitto_loop_start (sub);
    struct mosquitto *pub = s_client ("bench-pub", true, port);
    mosquitto_publish_callback_set (pub, s_on_publish);
    mosquitto_loop_start (pub);
    usleep (200000);   /* let the subscription settle */

    char *payload = calloc (1, s_size);
    uint64_t t0 = bench_now_ns ();
    for (long i = 0; i < s_count; i++) {
        /* Keep at most ~2x the in-flight window outstanding so the client
           queue does not grow without bound. */
        while (i - __atomic_load_n (&s_acked, __ATOMIC_RELAXED) > 2000)
            usleep (50);
        if (mosquitto_publish (pub, NULL, "bench/records", (int) s_size, payload, 1, false)
            != MOSQ_ERR_SUCCESS) {
            fprintf (stderr, "baseline-mosquitto: publish failed at %ld\n", i);
            break;
        }
    }
    for (int waited = 0; __atomic_load_n (&s_received, __ATOMIC_RELAXED) < s_count && waited < 60000; waited++)
        usleep (1000);
    long got = s_received;
    double secs = (double) ((got == s_count ? s_t_last : bench_now_ns ()) - t0) / 1e9;
    printf ("mosquitto_qos1 count=%ld received=%ld size=%zu seconds=%.3f msgs_per_s=%.0f\n",
            s_count, got, s_size, secs, (double) got / secs);

    mosquitto_disconnect (pub);
    mosquitto_disconnect (sub);
    mosquitto_loop_stop (pub, true);
    mosquitto_loop_stop (sub, true);
    mosquitto_destroy (pub);
    mosquitto_destroy (sub);
    mosquitto_lib_cleanup ();
    kill (broker, SIGTERM);
    waitpid (broker, NULL, 0);
    bench_remove_dir ("baseline-mosquitto", dir);
    free (payload);
    return got == s_count ? 0 : 1;
}

/*  Baseline: RabbitMQ (Debian's rabbitmq-server) as the durable-broker peer.
 *  One publisher -> broker -> one consumer over loopback, 256-byte payloads,
 *  configured as its users run it for "never lose an acknowledged message":
 *    - a durable classic queue;
 *    - persistent messages (delivery_mode 2);
 *    - publisher confirms (confirm.select): a message counts as published
 *      only when the broker's basic.ack for it arrives, i.e. after it is on
 *      disk — the same promise sluice's ACK makes;
 *    - manual consumer acknowledgements (no_ack = false), prefetch 1000.
 *  The publisher keeps a window of WINDOW unconfirmed messages in flight
 *  (as sluice's SDK and the mosquitto baseline keep one).
 *
 *  The benchmark starts its own rabbitmq-server node on free loopback ports
 *  with a private data directory, and stops it (and removes the directory)
 *  at the end. Start-up takes a few seconds and is not timed.
 *
 *  Usage: baseline-rabbitmq [COUNT] [SIZE]
 *  prints "rabbitmq_confirms ... msgs_per_s=N"
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_baseline.h"
#include "bench_util.h"

#define RABBITMQ_SERVER "/usr/lib/rabbitmq/bin/rabbitmq-server"
#define WINDOW 2000
#define PREFETCH 1000

static long s_count = 100000;
static size_t s_size = 256;
static int s_port;
static volatile long s_received;
static uint64_t s_t_last;
static const char *s_queue = "sluice-bench";

/*  Fails loudly: the benchmark has no meaningful figure after any of these. */
static void
s_check_reply (amqp_rpc_reply_t r, const char *what)
{
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return;
    fprintf (stderr, "baseline-rabbitmq: %s failed (reply type %d)\n", what, (int) r.reply_type);
    exit (1);
}

static amqp_connection_state_t
s_connect (int retries)
{
    for (int i = 0; i <= retries; i++) {
        amqp_connection_state_t c = amqp_new_connection ();
        amqp_socket_t *sock = amqp_tcp_socket_new (c);
        if (sock && amqp_socket_open (sock, "127.0.0.1", s_port) == AMQP_STATUS_OK) {
            s_check_reply (amqp_login (c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN,
                                       "guest", "guest"), "login");
            amqp_channel_open (c, 1);
            s_check_reply (amqp_get_rpc_reply (c), "channel.open");
            return c;
        }
        amqp_destroy_connection (c);
        usleep (250000);
    }
    fprintf (stderr, "baseline-rabbitmq: cannot connect to 127.0.0.1:%d\n", s_port);
    exit (1);
}

static void
s_close (amqp_connection_state_t c)
{
    amqp_channel_close (c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close (c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection (c);
}

static void *
s_consumer (void *arg)
{
    amqp_connection_state_t c = arg;
    while (__atomic_load_n (&s_received, __ATOMIC_RELAXED) < s_count) {
        amqp_envelope_t env;
        amqp_maybe_release_buffers (c);
        struct timeval tv = { 5, 0 };
        amqp_rpc_reply_t r = amqp_consume_message (c, &env, &tv, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION
                && r.library_error == AMQP_STATUS_TIMEOUT)
                break;   /* nothing for 5 s: the run has stalled; report what arrived */
            continue;
        }
        if (amqp_basic_ack (c, 1, env.delivery_tag, 0) != 0)
            fprintf (stderr, "baseline-rabbitmq: basic.ack failed\n");
        amqp_destroy_envelope (&env);
        if (__atomic_add_fetch (&s_received, 1, __ATOMIC_RELAXED) == s_count)
            s_t_last = bench_now_ns ();
    }
    return NULL;
}

/*  Reads frames until at least one basic.ack (or nack) arrives; returns the
 *  number of publishes it confirms, given the highest tag confirmed so far. */
static long
s_wait_confirms (amqp_connection_state_t c, uint64_t *confirmed)
{
    amqp_frame_t f;
    for (;;) {
        if (amqp_simple_wait_frame (c, &f) != AMQP_STATUS_OK) {
            fprintf (stderr, "baseline-rabbitmq: connection lost waiting for confirms\n");
            exit (1);
        }
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        uint64_t tag;
        int multiple;
        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *a = f.payload.method.decoded;
            tag = a->delivery_tag;
            multiple = a->multiple;
        } else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            fprintf (stderr, "baseline-rabbitmq: the broker refused a message (nack)\n");
            exit (1);
        } else
            continue;
        uint64_t before = *confirmed;
        if (multiple)
            *confirmed = tag > *confirmed ? tag : *confirmed;
        else
            *confirmed += 1;   /* single confirms arrive in order on one channel */
        return (long) (*confirmed - before);
    }
}

static pid_t
s_start_server (const char *dir, int port, int dist_port)
{
    char path[600];
    snprintf (path, sizeof path, "%s/enabled_plugins", dir);
    FILE *f = fopen (path, "w");
    if (!f)
        return -1;
    fputs ("[].\n", f);
    fclose (f);
    snprintf (path, sizeof path, "%s/rabbitmq.conf", dir);
    f = fopen (path, "w");
    if (!f)
        return -1;
    fprintf (f, "listeners.tcp.default = 127.0.0.1:%d\n"
                "loopback_users.guest = true\n"
                "log.console = false\nlog.file.level = warning\n", port);
    fclose (f);

    pid_t pid = fork ();
    if (pid != 0)
        return pid;
    setsid ();
    char v[16][640];
    int n = 0;
    snprintf (v[n++], sizeof v[0], "HOME=%s", dir);
    snprintf (v[n++], sizeof v[0], "RABBITMQ_NODENAME=sluicebench%d@localhost", (int) getpid ());
    snprintf (v[n++], sizeof v[0], "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1");
    snprintf (v[n++], sizeof v[0], "RABBITMQ_DIST_PORT=%d", dist_port);
    snprintf (v[n++], sizeof v[0], "ERL_EPMD_ADDRESS=127.0.0.1");
    snprintf (v[n++], sizeof v[0], "RABBITMQ_MNESIA_BASE=%s/mnesia", dir);
    snprintf (v[n++], sizeof v[0], "RABBITMQ_LOG_BASE=%s/log", dir);
    snprintf (v[n++], sizeof v[0], "RABBITMQ_CONFIG_FILE=%s/rabbitmq", dir);
    snprintf (v[n++], sizeof v[0], "RABBITMQ_ENABLED_PLUGINS_FILE=%s/enabled_plugins", dir);
    snprintf (v[n++], sizeof v[0], "RABBITMQ_PID_FILE=%s/pid", dir);
    for (int i = 0; i < n; i++)
        putenv (v[i]);
    if (chdir (dir) != 0)
        _exit (127);
    snprintf (path, sizeof path, "%s/server.log", dir);
    if (!freopen (path, "w", stdout) || !freopen (path, "a", stderr))
        _exit (127);
    execl (RABBITMQ_SERVER, "rabbitmq-server", (char *) NULL);
    _exit (127);
}

int
main (int argc, char **argv)
{
    if (bench_baseline_args (argc, argv, "baseline-rabbitmq",
                             "Starts rabbitmq-server on free loopback ports with a private data\n"
                             "directory, and measures one publisher (persistent messages, publisher\n"
                             "confirms) -> durable queue -> one consumer (manual acks); prints\n"
                             "messages/s. Needs Debian's rabbitmq-server (make deps).\n",
                             &s_count, &s_size))
        return 0;
    if (s_count <= 0 || s_size == 0) {
        fprintf (stderr, "baseline-rabbitmq: COUNT and SIZE must be positive\n");
        return 2;
    }
    if (access (RABBITMQ_SERVER, X_OK) != 0) {
        fprintf (stderr, "baseline-rabbitmq: %s not found: install rabbitmq-server (make deps)\n",
                 RABBITMQ_SERVER);
        return 1;
    }

    char dir[] = "/tmp/sluice-bench-rmq-XXXXXX";
    if (!mkdtemp (dir)) {
        perror ("mkdtemp");
        return 1;
    }
    s_port = bench_free_port ();
    int dist_port = bench_free_port ();
    pid_t server = s_start_server (dir, s_port, dist_port);
    if (server < 0) {
        fprintf (stderr, "baseline-rabbitmq: cannot write its configuration in %s\n", dir);
        return 1;
    }

    /* rabbitmq-server takes a few seconds to boot; wait up to 60 s. */
    amqp_connection_state_t pub = s_connect (240);
    amqp_queue_declare (pub, 1, amqp_cstring_bytes (s_queue), 0, /*durable*/ 1, 0, 0,
                        amqp_empty_table);
    s_check_reply (amqp_get_rpc_reply (pub), "queue.declare");
    amqp_confirm_select (pub, 1);
    s_check_reply (amqp_get_rpc_reply (pub), "confirm.select");

    amqp_connection_state_t con = s_connect (0);
    amqp_basic_qos (con, 1, 0, PREFETCH, 0);
    s_check_reply (amqp_get_rpc_reply (con), "basic.qos");
    amqp_basic_consume (con, 1, amqp_cstring_bytes (s_queue), amqp_empty_bytes, 0,
                        /*no_ack*/ 0, 0, amqp_empty_table);
    s_check_reply (amqp_get_rpc_reply (con), "basic.consume");
    pthread_t th;
    pthread_create (&th, NULL, s_consumer, con);

    char *payload = calloc (1, s_size);
    amqp_bytes_t body = { s_size, payload };
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = 2;   /* persistent */
    uint64_t confirmed = 0;
    long inflight = 0;
    uint64_t t0 = bench_now_ns ();
    for (long i = 0; i < s_count; i++) {
        while (inflight >= WINDOW)
            inflight -= s_wait_confirms (pub, &confirmed);
        if (amqp_basic_publish (pub, 1, amqp_empty_bytes, amqp_cstring_bytes (s_queue),
                                0, 0, &props, body) != AMQP_STATUS_OK) {
            fprintf (stderr, "baseline-rabbitmq: publish failed at %ld\n", i);
            break;
        }
        inflight++;
    }
    while (inflight > 0)
        inflight -= s_wait_confirms (pub, &confirmed);
    uint64_t t_confirmed = bench_now_ns ();
    pthread_join (th, NULL);
    long got = s_received;
    double secs = (double) ((got == s_count ? s_t_last : bench_now_ns ()) - t0) / 1e9;
    double csecs = (double) (t_confirmed - t0) / 1e9;
    printf ("rabbitmq_confirms count=%ld received=%ld confirmed=%llu size=%zu seconds=%.3f "
            "msgs_per_s=%.0f confirmed_per_s=%.0f\n",
            s_count, got, (unsigned long long) confirmed, s_size, secs, (double) got / secs,
            (double) confirmed / csecs);

    s_close (con);
    s_close (pub);
    kill (-server, SIGTERM);
    for (int i = 0; i < 100; i++) {
        if (waitpid (server, NULL, WNOHANG) == server)
            break;
        usleep (100000);
    }
    kill (-server, SIGKILL);
    waitpid (server, NULL, WNOHANG);
    bench_remove_dir ("baseline-rabbitmq", dir);
    free (payload);
    return got == s_count ? 0 : 1;
}

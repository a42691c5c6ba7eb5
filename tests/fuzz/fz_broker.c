/*  fz_broker — see fz_broker.h. */
#include "fz_broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_batch.h"
#include "sl_admin.h"
#include "sl_govern.h"
#include "sluice/v1/admin.pb-c.h"
#include <cjson/cJSON.h>
#include "sl_log.h"
#include "sl_schema_store.h"
#include "sl_store.h"
#include "tl.h"

static const struct { const char *name, *role; } s_members[FZ_N_MEMBERS] = {
    [FZ_ADMIN]    = { "admin",    "admin:city" },
    [FZ_WATER]    = { "water",    "member" },
    [FZ_POWER]    = { "power",    "member" },
    [FZ_AUDITOR]  = { "auditor",  "auditor" },
    [FZ_WATERADM] = { "wateradm", "admin:water" },
    [FZ_CONSENT]  = { "registry", "consent-source" },
};

const char *
fz_member_name (int i)
{
    return s_members[i].name;
}

static void
s_die (const char *what, const char *detail)
{
    fprintf (stderr, "fz_broker: %s: %s\n", what, detail ? detail : "");
    abort ();
}

static void
s_read_endpoints (fz_broker_t *fb)
{
    if (tl_endpoints (fb->dir, getpid (), fb->data_ep, sizeof fb->data_ep,
                      fb->admin_ep, sizeof fb->admin_ep) != 0)
        s_die ("endpoints file without both endpoints", fb->dir);
}

/*  Sends one policy.apply through the broker's admin dispatcher as member
    `who`; dies unless the broker accepted it. */
static void
s_apply (fz_broker_t *fb, int who, const char *owner, const char *text)
{
    cJSON *args = cJSON_CreateObject ();
    cJSON_AddStringToObject (args, "owner", owner);
    cJSON_AddStringToObject (args, "text", text);
    char *json = cJSON_PrintUnformatted (args);
    cJSON_Delete (args);
    Sluice__V1__AdminRequest req = SLUICE__V1__ADMIN_REQUEST__INIT;
    req.version = 1;
    req.seq = 1;
    req.command = (char *) "policy.apply";
    req.args_json = json;
    size_t len = sluice__v1__admin_request__get_packed_size (&req), out_len = 0;
    uint8_t *buf = malloc (len);
    sluice__v1__admin_request__pack (&req, buf);
    const sl_member_t *caller = sl_registry_by_name (sl_broker_registry (fb->broker),
                                                     s_members[who].name);
    void *out = caller ? sl_admin_dispatch (sl_broker_admin (fb->broker), sl_broker_admin_ctx (fb->broker), caller,
                                            buf, len, &out_len) : NULL;
    Sluice__V1__AdminResponse *r = out ? sluice__v1__admin_response__unpack (NULL, out_len, out) : NULL;
    if (!r || r->code != 0)
        s_die ("policy.apply", r && r->text ? r->text : "no answer");
    sluice__v1__admin_response__free_unpacked (r, NULL);
    free (out);
    free (buf);
    cJSON_free (json);
}

void
fz_broker_start (fz_broker_t *fb)
{
    char path[300], err[400];
    memset (fb, 0, sizeof *fb);
    /* every log line is formatted, so its arguments are checked too (a
     * dangling pointer in a log argument is a bug the sanitizers see only
     * if the line is written); ci-fuzz.sh sends stderr to /dev/null with
     * libFuzzer's -close_fd_mask, which keeps the sanitizer reports */
    sl_log_set_level (SL_LOG_DEBUG);
    const char *base = access ("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf (fb->dir, sizeof fb->dir, "%s/sluice-fuzz-XXXXXX", base);
    if (!mkdtemp (fb->dir))
        s_die ("mkdtemp", fb->dir);

    sl_keypair_t bk;
    if (sl_keys_generate (&bk) != 0
        || sl_keys_write (fb->dir, "broker", &bk, 0, err, sizeof err) != 0)
        s_die ("broker key", err);
    memcpy (fb->broker_pub, bk.public_key, sizeof fb->broker_pub);

    snprintf (path, sizeof path, "%s/store", fb->dir);
    sl_store_t *store = sl_store_open (path, 256u << 20, 1, err, sizeof err);
    if (!store)
        s_die ("store", err);
    sl_registry_t *reg = sl_registry_new (store);
    sl_batch_t *batch = sl_batch_new (store, 1, 0);
    MDB_txn *txn;
    if (!reg || !batch || sl_batch_txn (batch, &txn) != 0)
        s_die ("registry", "cannot open");
    for (int i = 0; i < FZ_N_MEMBERS; i++) {
        if (sl_keys_generate (&fb->keys[i]) != 0
            || sl_registry_add (reg, txn, s_members[i].name, s_members[i].role,
                                fb->keys[i].public_key, err, sizeof err) != 0)
            s_die ("member", err);
    }
    sl_schema_store_t *ss = sl_schema_store_new (txn, NULL);
    if (!ss || sl_schema_store_register_file (ss, txn, EXAMPLES_BINPB, "admin", err, sizeof err) < 0)
        s_die ("example record types", err);
    sl_schema_store_destroy (&ss);
    if (sl_batch_commit (batch) != 0)
        s_die ("registry", "commit failed");
    sl_batch_destroy (&batch);
    sl_registry_destroy (&reg);
    sl_store_destroy (&store);

    if (sl_govern_init_keys (fb->dir, err, sizeof err) != 0)
        s_die ("governance keys", err);

    sl_broker_config_t cfg = {
        .data_dir = fb->dir,
        .data_endpoint = "tcp://127.0.0.1:*",
        .admin_endpoint = "tcp://127.0.0.1:*",
        .max_message_size = 64u << 10,
        .batch_max = 16,
        .batch_delay_us = 100,
        .map_size = 256u << 20,
        .query_timeout_ms = 100,
    };
    fb->broker = sl_broker_new (&cfg, err, sizeof err);
    if (!fb->broker)
        s_die ("sl_broker_new", err);
    /* power may receive water's readings for billing: a real policy, applied
       the way sluicectl applies it (the city declares the purpose, water's
       administrator writes the permit). */
    s_apply (fb, FZ_ADMIN, "city", "purpose billing \"bills households\"\n");
    s_apply (fb, FZ_WATERADM, "water",
             "permit \"water-to-power-billing\" {\n  owner water\n  consumer power\n"
             "  records water.v1.MeterReading\n  purpose billing\n  fields *\n}\n");
    s_read_endpoints (fb);
}

static void *
s_serve (void *arg)
{
    fz_broker_t *fb = arg;
    sl_broker_run (fb->broker, &fb->stop);
    return NULL;
}

void
fz_broker_serve (fz_broker_t *fb)
{
    if (pthread_create (&fb->thread, NULL, s_serve, fb) != 0)
        s_die ("pthread_create", "broker thread");
    fb->running = 1;
}

void
fz_broker_stop (fz_broker_t *fb)
{
    if (fb->running) {
        fb->stop = 1;
        pthread_join (fb->thread, NULL);
        fb->running = 0;
    }
    sl_broker_destroy (&fb->broker);
    if (fb->dir[0]) {
        tl_rm_rf (fb->dir);
        fb->dir[0] = 0;
    }
}

const sl_member_t *
fz_member (fz_broker_t *fb, int i)
{
    return sl_registry_by_name (sl_broker_registry (fb->broker), s_members[i].name);
}

/*  tc — see tc.h. */
#include "tc.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#include <cJSON.h>
#include <lmdb.h>

#include "sl_audit.h"

#include "water/v1/water.pb-c.h"
#include "sluice/v1/consent.pb-c.h"
#include "sl_test_scale.h"
#include "tl.h"

int64_t
tc_ms (void)
{
    return tl_ms ();
}

int
tc_wait (int ms)
{
    return tl_wait (ms);
}

static void *s_ctx;

void *
tc_ctx (void)
{
    if (!s_ctx)
        s_ctx = zmq_ctx_new ();
    return s_ctx;
}

static int
s_run (tc_broker_t *b)
{
    const char *args[17];
    for (int i = 0; i < b->n_extra; i++)
        args[i] = b->extra[i];
    args[b->n_extra] = NULL;
    char log[400];
    snprintf (log, sizeof log, "%s/sluiced.log", b->dir);
    tl_run_t r = { .data = b->dir, .log = log, .args = args };
    b->pid = tl_broker_run (&r, b->data_ep, sizeof b->data_ep, b->admin_ep, sizeof b->admin_ep);
    if (b->pid < 0)
        b->pid = 0;
    return b->pid > 0 ? 0 : -1;
}

int
tc_broker_init (tc_broker_t *b, const char *const *extra)
{
    memset (b, 0, sizeof *b);
    snprintf (b->dir, sizeof b->dir, "/tmp/sluice-test-XXXXXX");
    if (!mkdtemp (b->dir))
        return -1;
    for (int i = 0; extra && extra[i] && i < 16; i++)
        snprintf (b->extra[b->n_extra++], sizeof b->extra[0], "%s", extra[i]);
    char log[400];
    snprintf (log, sizeof log, "%s/init.log", b->dir);
    strcat (b->dir, "/d");          /* "/tmp/sluice-test-XXXXXX/d" fits easily */
    if (tl_broker_init (NULL, b->dir, log) != 0)
        return -1;
    char path[400], err[300];
    snprintf (path, sizeof path, "%s/broker.pub", b->dir);
    if (sl_keys_load_public (path, b->broker_pub, err, sizeof err) != 0)
        return -1;
    snprintf (path, sizeof path, "%s/admin.key", b->dir);
    if (sl_keys_load_secret (path, &b->admin, err, sizeof err) != 0)
        return -1;
    return 0;
}

int
tc_broker_start (tc_broker_t *b, const char *const *extra)
{
    return tc_broker_init (b, extra) == 0 ? s_run (b) : -1;
}

int
tc_ctl (char *out, size_t size, const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (args, sizeof args, fmt, ap);
    va_end (ap);
    const char *ctl = getenv ("SLUICECTL");
    return tl_sh (out, size, "'%s' %s 2>&1", ctl ? ctl : "sluicectl", args);
}

int
tc_scene (tc_broker_t *b, const char *const *extra, sl_keypair_t *kw, sl_keypair_t *kp,
          const char *city, const char *water)
{
    if (tc_broker_start (b, extra) != 0 || tc_member (b, "water", "member", kw) != 0
        || tc_member (b, "power", "member", kp) != 0)
        return -1;
    if ((city && tc_policy (b, "city", city) != 1) || (water && tc_policy (b, "water", water) != 1))
        return -1;
    return 0;
}

int
tc_broker_restart (tc_broker_t *b)
{
    return s_run (b);
}

int
tc_broker_stop (tc_broker_t *b)
{
    int st = tl_broker_stop (b->pid, SIGTERM, 5000);
    b->pid = 0;
    return st;
}

void
tc_broker_cleanup (tc_broker_t *b)
{
    if (b->pid > 0)
        tc_broker_stop (b);
    if (b->dir[0] && !getenv ("TC_KEEP")) {
        /* b->dir is ".../sluice-test-XXXXXX/d": remove the parent */
        char *slash = strrchr (b->dir, '/');
        if (slash)
            *slash = 0;
        if (strncmp (b->dir, "/tmp/sluice-test-", 17) == 0 && tl_rm_rf (b->dir) != 0)
            fprintf (stderr, "tc: could not remove %s\n", b->dir);
        b->dir[0] = 0;
    }
}

int
tc_broker_log_count (tc_broker_t *b, const char *needle)
{
    char path[400], line[4096];
    snprintf (path, sizeof path, "%s/sluiced.log", b->dir);
    FILE *f = fopen (path, "r");
    int n = 0;
    if (!f)
        return 0;
    while (fgets (line, sizeof line, f))
        if (strstr (line, needle))
            n++;
    fclose (f);
    return n;
}

int
tc_connect (tc_client_t *c, const char *ep, const char *server_pub, const sl_keypair_t *kp)
{
    memset (c, 0, sizeof *c);
    c->seq = 1;
    c->sock = zmq_socket (tc_ctx (), ZMQ_DEALER);
    int linger = 0;
    if (!c->sock)
        return -1;
    zmq_setsockopt (c->sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (c->sock, ZMQ_CURVE_SERVERKEY, server_pub, 40);
    zmq_setsockopt (c->sock, ZMQ_CURVE_PUBLICKEY, kp->public_key, 40);
    zmq_setsockopt (c->sock, ZMQ_CURVE_SECRETKEY, kp->secret_key, 40);
    return zmq_connect (c->sock, ep) == 0 ? 0 : -1;
}

void
tc_close (tc_client_t *c)
{
    if (c->sock)
        zmq_close (c->sock);
    c->sock = NULL;
}

void
tc_close_all (tc_client_t *c, ...)
{
    va_list ap;
    va_start (ap, c);
    for (; c; c = va_arg (ap, tc_client_t *))
        tc_close (c);
    va_end (ap);
}

int
tc_send_raw (tc_client_t *c, const void *const *frames, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (zmq_send (c->sock, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
            return -1;
    return 0;
}

uint64_t
tc_send (tc_client_t *c, Sluice__V1__Header *h, const uint8_t *const *bodies,
         const size_t *lens, size_t n)
{
    if (h->seq == 0)
        h->seq = c->seq++;
    if (h->version == 0)
        h->version = 1;
    size_t len = sluice__v1__header__get_packed_size (h);
    uint8_t *buf = malloc (len + 1);
    sluice__v1__header__pack (h, buf);
    int rc = zmq_send (c->sock, buf, len, n ? ZMQ_SNDMORE : 0);
    free (buf);
    if (rc < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (zmq_send (c->sock, bodies[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0) < 0)
            return 0;
    return h->seq;
}

int
tc_recv (tc_client_t *c, tc_msg_t *msg, int timeout_ms)
{
    memset (msg, 0, sizeof *msg);
    zmq_pollitem_t it = { c->sock, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&it, 1, tc_wait (timeout_ms)) <= 0)
        return -1;
    zmq_msg_t f;
    zmq_msg_init (&f);
    if (zmq_msg_recv (&f, c->sock, 0) < 0) {
        zmq_msg_close (&f);
        return -1;
    }
    msg->h = sluice__v1__header__unpack (NULL, zmq_msg_size (&f), zmq_msg_data (&f));
    int more = zmq_msg_more (&f);
    zmq_msg_close (&f);
    while (more) {
        zmq_msg_init (&f);
        zmq_msg_recv (&f, c->sock, 0);
        if (msg->n_bodies < 64) {
            msg->lens[msg->n_bodies] = zmq_msg_size (&f);
            msg->bodies[msg->n_bodies] = malloc (zmq_msg_size (&f) + 1);
            memcpy (msg->bodies[msg->n_bodies], zmq_msg_data (&f), zmq_msg_size (&f));
            msg->n_bodies++;
        }
        more = zmq_msg_more (&f);
        zmq_msg_close (&f);
    }
    return msg->h ? 0 : -1;
}

int
tc_recv_cmd (tc_client_t *c, tc_msg_t *msg, int command, int timeout_ms)
{
    int64_t until = tc_ms () + tc_wait (timeout_ms);
    for (;;) {
        int left = (int) (until - tc_ms ());
        if (left <= 0 || tc_recv (c, msg, left) != 0)
            return -1;
        int cmd = msg->h->command;
        if (cmd == command || cmd == SLUICE__V1__COMMAND__ERROR)
            return 0;
        tc_msg_free (msg);
    }
}

void
tc_msg_free (tc_msg_t *msg)
{
    if (msg->h)
        sluice__v1__header__free_unpacked (msg->h, NULL);
    for (size_t i = 0; i < msg->n_bodies; i++)
        free (msg->bodies[i]);
    memset (msg, 0, sizeof *msg);
}

int
tc_hello (tc_client_t *c, const char *member)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__HELLO;
    uint64_t seq = tc_send (c, &h, NULL, NULL, 0);
    tc_msg_t m;
    if (!seq || tc_recv_cmd (c, &m, SLUICE__V1__COMMAND__HELLO, 5000) != 0)
        return -1;
    int ok = m.h->command == SLUICE__V1__COMMAND__HELLO && m.h->seq == seq
             && (!member || (m.h->member && !strcmp (m.h->member, member)));
    tc_msg_free (&m);
    return ok ? 0 : -1;
}

/*  One admin request (command, args, data) as `as`; the response or NULL. */
static Sluice__V1__AdminResponse *
s_admin (tc_broker_t *b, const sl_keypair_t *as, const char *command, const char *args_json,
         const char *data)
{
    tc_client_t c;
    if (tc_connect (&c, b->admin_ep, b->broker_pub, as) != 0)
        return NULL;
    Sluice__V1__AdminRequest r = SLUICE__V1__ADMIN_REQUEST__INIT;
    r.version = 1;
    r.seq = 77;
    r.command = (char *) command;
    r.args_json = (char *) (args_json ? args_json : "");
    r.data.data = (uint8_t *) data;
    r.data.len = data ? strlen (data) : 0;
    size_t len = sluice__v1__admin_request__get_packed_size (&r);
    uint8_t *buf = malloc (len);
    Sluice__V1__AdminResponse *resp = NULL;
    sluice__v1__admin_request__pack (&r, buf);
    if (zmq_send (c.sock, buf, len, 0) == (int) len) {
        zmq_pollitem_t it = { c.sock, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&it, 1, tc_wait (5000)) == 1) {
            zmq_msg_t f;
            zmq_msg_init (&f);
            if (zmq_msg_recv (&f, c.sock, 0) >= 0)
                resp = sluice__v1__admin_response__unpack (NULL, zmq_msg_size (&f), zmq_msg_data (&f));
            zmq_msg_close (&f);
        }
    }
    free (buf);
    tc_close (&c);
    return resp;
}

Sluice__V1__AdminResponse *
tc_admin (tc_broker_t *b, const sl_keypair_t *as, const char *command, const char *args_json)
{
    return s_admin (b, as, command, args_json, NULL);
}

cJSON *
tc_adm (tc_broker_t *b, const sl_keypair_t *as, const char *command, cJSON *args, int *code,
        char *text, size_t size)
{
    char *json = args ? cJSON_PrintUnformatted (args) : NULL;
    cJSON_Delete (args);
    Sluice__V1__AdminResponse *r = tc_admin (b, as, command, json);
    free (json);
    *code = r ? (int) r->code : -1;
    snprintf (text, size, "%s", r ? (r->text ? r->text : "") : "no response");
    cJSON *res = r && r->result_json ? cJSON_Parse (r->result_json) : NULL;
    if (r)
        sluice__v1__admin_response__free_unpacked (r, NULL);
    return res;
}

int
tc_member (tc_broker_t *b, const char *name, const char *role, sl_keypair_t *kp)
{
    if (sl_keys_generate (kp) != 0)
        return -1;
    char args[256];
    snprintf (args, sizeof args, "{\"name\":\"%s\",\"role\":\"%s\",\"public_key\":\"%s\"}",
              name, role, kp->public_key);
    Sluice__V1__AdminResponse *r = tc_admin (b, &b->admin, "member.add", args);
    int ok = r && r->code == 0;
    if (r && !ok)
        fprintf (stderr, "tc: member.add %s: %s\n", name, r->text);
    if (r)
        sluice__v1__admin_response__free_unpacked (r, NULL);
    return ok ? 0 : -1;
}

Sluice__V1__AdminResponse *
tc_policy_apply (tc_broker_t *b, const sl_keypair_t *as, const char *file, const char *text)
{
    char args[300];
    snprintf (args, sizeof args, "{\"file\":\"%s\"}", file ? file : "");
    return s_admin (b, as, "policy.apply", file ? args : "", text);
}

const sl_keypair_t *
tc_owner_admin (tc_broker_t *b, const char *owner)
{
    if (strcmp (owner, "city") == 0)
        return &b->admin;
    char name[40], role[48];
    snprintf (name, sizeof name, "admin-%s", owner);
    for (int i = 0; i < b->n_adm; i++)
        if (strcmp (b->adm_name[i], name) == 0)
            return &b->adm_key[i];
    if (b->n_adm == 8)
        return NULL;
    snprintf (role, sizeof role, "admin:%s", owner);
    if (tc_member (b, name, role, &b->adm_key[b->n_adm]) != 0)
        return NULL;
    snprintf (b->adm_name[b->n_adm], sizeof b->adm_name[0], "%s", name);
    return &b->adm_key[b->n_adm++];
}

int
tc_policy (tc_broker_t *b, const char *owner, const char *text)
{
    const sl_keypair_t *as = tc_owner_admin (b, owner);
    if (!as)
        return -1;
    char file[64];
    snprintf (file, sizeof file, "%s.policy", owner);
    Sluice__V1__AdminResponse *r = tc_policy_apply (b, as, file, text);
    int version = -1;
    if (r && r->code == 0) {
        const char *v = r->result_json ? strstr (r->result_json, "\"version\":") : NULL;
        version = v ? atoi (v + 10) : -1;
    }
    else
        fprintf (stderr, "tc: policy.apply %s: %s\n", owner, r ? r->text : "no answer");
    if (r)
        sluice__v1__admin_response__free_unpacked (r, NULL);
    return version;
}

int
tc_join (tc_client_t *c, tc_broker_t *b, const sl_keypair_t *kp, const char *member)
{
    if (tc_connect (c, b->data_ep, b->broker_pub, kp) != 0)
        return -1;
    return tc_hello (c, member);
}

uint8_t *
tc_water_reading (const char *subject, double m3, size_t *len)
{
    Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
    r.id = "meter-1:1767225600";
    r.ref_device = "meter-1";
    r.subject = (char *) subject;
    r.district = "north";
    r.date_observed = 1767225600;
    r.water_consumption_m3 = m3;
    *len = water__v1__meter_reading__get_packed_size (&r);
    uint8_t *buf = malloc (*len + 1);
    water__v1__meter_reading__pack (&r, buf);
    return buf;
}

void
tc_msgid (uint8_t id[16], uint32_t n)
{
    memset (id, 0, 16);
    uint32_t pid = (uint32_t) getpid ();
    memcpy (id, &pid, 4);
    id[8] = (uint8_t) (n >> 24);
    id[9] = (uint8_t) (n >> 16);
    id[10] = (uint8_t) (n >> 8);
    id[11] = (uint8_t) n;
    id[15] = 0x5a;
}

uint64_t
tc_publish1 (tc_client_t *c, const char *type, const uint8_t id[16], const char *subject,
             const uint8_t *body, size_t len)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    Sluice__V1__RecordMeta m = SLUICE__V1__RECORD_META__INIT, *mp = &m;
    h.command = SLUICE__V1__COMMAND__PUBLISH;
    h.record_type = (char *) type;
    m.message_id.data = (uint8_t *) id;
    m.message_id.len = 16;
    m.subject = (char *) subject;
    m.event_time = 1767225600000;
    h.n_records = 1;
    h.records = &mp;
    const uint8_t *bodies[1] = { body };
    return tc_send (c, &h, bodies, &len, 1);
}

int
tc_publish_wait (tc_client_t *c, const char *type, uint32_t n, const char *subject,
                 const uint8_t *body, size_t len, int timeout_ms, char *err, size_t size)
{
    uint8_t id[16];
    tc_msgid (id, n);
    uint64_t seq = tc_publish1 (c, type, id, subject, body, len);
    char sink[8];
    if (!err)
        err = sink, size = sizeof sink;
    snprintf (err, size, "no answer to PUBLISH %u", n);
    tc_msg_t m;
    int64_t until = tc_ms () + tc_wait (timeout_ms);
    for (;;) {   /* skip answers to earlier requests */
        int left = (int) (until - tc_ms ());
        if (!seq || left <= 0 || tc_recv_cmd (c, &m, SLUICE__V1__COMMAND__ACK, left) != 0)
            return -1;
        if (m.h->seq == seq)
            break;
        tc_msg_free (&m);
    }
    int rc = 0;
    if (m.h->command == SLUICE__V1__COMMAND__ACK) {
        if (m.h->n_message_ids != 1 || memcmp (m.h->message_ids[0].data, id, 16) != 0) {
            snprintf (err, size, "the ACK of PUBLISH %u names %zu other ids", n, m.h->n_message_ids);
            rc = -1;
        }
        else
            snprintf (err, size, "ok");
    }
    else {
        rc = m.h->n_errors ? (int) m.h->errors[0]->code : -1;
        snprintf (err, size, "%s [%s]", m.h->n_errors ? m.h->errors[0]->text : "ERROR without errors",
                  m.h->n_errors ? m.h->errors[0]->reason : "");
    }
    tc_msg_free (&m);
    return rc;
}

int
tc_publish_water (tc_client_t *c, uint32_t n, const char *subject, double m3, char *err,
                  size_t size)
{
    size_t len;
    uint8_t *body = tc_water_reading (subject, m3, &len);
    int rc = tc_publish_wait (c, "water.v1.MeterReading", n, subject, body, len, 5000, err, size);
    free (body);
    return rc;
}

uint64_t
tc_query (tc_client_t *c, const char *type, const char *subject, const char *purpose,
          uint32_t timeout_ms)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__QUERY;
    h.record_type = (char *) type;
    h.subject = (char *) (subject ? subject : "");
    h.purpose = (char *) purpose;
    h.timeout_ms = timeout_ms;
    return tc_send (c, &h, NULL, NULL, 0);
}

uint64_t
tc_reply1 (tc_client_t *c, uint64_t query_id, const char *subject, int64_t event_time, uint32_t n,
           const uint8_t *body, size_t len)
{
    Sluice__V1__Header r = SLUICE__V1__HEADER__INIT;
    Sluice__V1__RecordMeta rm = SLUICE__V1__RECORD_META__INIT, *rmp = &rm;
    uint8_t id[16];
    r.command = SLUICE__V1__COMMAND__REPLY;
    r.query_id = query_id;
    if (!body)
        return tc_send (c, &r, NULL, NULL, 0);
    if (n > 0) {
        tc_msgid (id, n);
        rm.message_id.data = id;
        rm.message_id.len = 16;
    }
    rm.subject = (char *) (subject ? subject : "");
    rm.event_time = event_time;
    r.n_records = 1;
    r.records = &rmp;
    const uint8_t *bodies[] = { body };
    return tc_send (c, &r, bodies, &len, 1);
}

uint64_t
tc_publish_waters (tc_client_t *c, uint32_t base, int n, const char *subject)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    Sluice__V1__RecordMeta m[64], *mp[64];
    uint8_t ids[64][16], *bodies[64];
    size_t lens[64];
    char subj[64][24];
    if (n < 1 || n > 64)
        return 0;
    h.command = SLUICE__V1__COMMAND__PUBLISH;
    h.record_type = "water.v1.MeterReading";
    for (int i = 0; i < n; i++) {
        sluice__v1__record_meta__init (&m[i]);
        tc_msgid (ids[i], base + (uint32_t) i);
        snprintf (subj[i], sizeof subj[i], "CIT-%u", base + (uint32_t) i);
        m[i].message_id.data = ids[i];
        m[i].message_id.len = 16;
        m[i].subject = subject ? (char *) subject : subj[i];
        m[i].event_time = 1767225600000;
        bodies[i] = tc_water_reading (m[i].subject, base + (uint32_t) i, &lens[i]);
        mp[i] = &m[i];
    }
    h.n_records = (size_t) n;
    h.records = mp;
    uint64_t seq = tc_send (c, &h, (const uint8_t *const *) bodies, lens, (size_t) n);
    for (int i = 0; i < n; i++)
        free (bodies[i]);
    return seq;
}

int
tc_drain (tc_client_t *c, int want, int ack, uint64_t *tags, int timeout_ms)
{
    int got = 0;
    int64_t until = tc_ms () + tc_wait (timeout_ms);
    while (got < want) {
        int left = (int) (until - tc_ms ());
        tc_msg_t m;
        if (left <= 0 || tc_recv_cmd (c, &m, SLUICE__V1__COMMAND__DELIVER, left) != 0)
            break;
        for (size_t i = 0; m.h->command == SLUICE__V1__COMMAND__DELIVER && i < m.h->n_records; i++) {
            uint64_t tag = m.h->records[i]->delivery_tag;
            if (tags && got < want)
                tags[got] = tag;
            got++;
            if (ack && tc_ack (c, tag, 0) != 1) {
                tc_msg_free (&m);
                return -1;
            }
        }
        tc_msg_free (&m);
    }
    return got;
}

int
tc_subscribe (tc_client_t *c, const char *type, const char *purpose)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__SUBSCRIBE;
    h.record_type = (char *) type;
    h.purpose = (char *) purpose;
    uint64_t seq = tc_send (c, &h, NULL, NULL, 0);
    tc_msg_t m;
    if (tc_recv_cmd (c, &m, SLUICE__V1__COMMAND__ACK, 5000) != 0)
        return -1;
    int ok = m.h->command == SLUICE__V1__COMMAND__ACK && m.h->seq == seq;
    tc_msg_free (&m);
    return ok ? 0 : -1;
}

int
tc_refused (const char *ep, const char *server_pub, const sl_keypair_t *kp, int wait_ms)
{
    tc_client_t c;
    if (tc_connect (&c, ep, server_pub, kp) != 0)
        return 0;
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__HELLO;
    tc_msg_t m;
    int refused = tc_send (&c, &h, NULL, NULL, 0) != 0 && tc_recv (&c, &m, wait_ms) != 0;
    if (!refused && m.h)
        tc_msg_free (&m);
    tc_close (&c);
    return refused;
}

int
tc_consumer (tc_client_t *c, tc_broker_t *b, const sl_keypair_t *kp, const char *member,
             const char *type, const char *purpose, uint32_t credit)
{
    if (tc_join (c, b, kp, member) != 0 || tc_subscribe (c, type, purpose) != 0)
        return -1;
    if (credit)
        tc_credit (c, credit);
    return 0;
}

void
tc_credit (tc_client_t *c, uint32_t n)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = SLUICE__V1__COMMAND__CREDIT;
    h.credit = n;
    tc_send (c, &h, NULL, NULL, 0);
}

int
tc_ack (tc_client_t *c, uint64_t tag, int nack)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    h.command = nack ? SLUICE__V1__COMMAND__NACK : SLUICE__V1__COMMAND__ACK;
    h.n_delivery_tags = 1;
    h.delivery_tags = &tag;
    uint64_t seq = tc_send (c, &h, NULL, NULL, 0);
    tc_msg_t m;
    if (tc_recv_cmd (c, &m, SLUICE__V1__COMMAND__ACK, 5000) != 0)
        return -1;
    int n = (m.h->command == SLUICE__V1__COMMAND__ACK && m.h->seq == seq)
            ? (int) m.h->n_delivery_tags : -1;
    tc_msg_free (&m);
    return n;
}

/*  1 when entry `e` meets every "FIELD=VALUE" / "FIELD~TEXT" condition. */
static int
s_entry_matches (const cJSON *e, va_list conds)
{
    va_list ap;
    va_copy (ap, conds);
    int ok = 1;
    for (const char *c; ok && (c = va_arg (ap, const char *));) {
        size_t k = strcspn (c, "=~");
        char field[64];
        snprintf (field, sizeof field, "%.*s", (int) k, c);
        const char *v = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (e, field));
        if (!v || !c[k])
            ok = 0;
        else if (c[k] == '=')
            ok = strcmp (v, c + k + 1) == 0;
        else
            ok = strstr (v, c + k + 1) != NULL;
    }
    va_end (ap);
    return ok;
}

/*  The audit.query filter named by an entry member, or NULL. */
static const char *
s_filter_name (const char *field)
{
    static const char *map[][2] = { { "kind", "kind" }, { "actor", "actor" }, { "owner", "owner" },
                                    { "counterpart", "consumer" }, { "record_type", "record" },
                                    { "decision", "decision" } };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp (field, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static long
s_audit_count (tc_broker_t *b, va_list conds)
{
    cJSON *filter = cJSON_CreateObject ();
    va_list ap;
    va_copy (ap, conds);
    for (const char *c; (c = va_arg (ap, const char *));) {
        char field[64];
        size_t k = strcspn (c, "=~");
        snprintf (field, sizeof field, "%.*s", (int) k, c);
        const char *name = s_filter_name (field);
        if (c[k] == '=' && name && !cJSON_GetObjectItem (filter, name))
            cJSON_AddStringToObject (filter, name, c + k + 1);
    }
    va_end (ap);
    long n = 0;
    double after = 0;
    for (;;) {
        cJSON *args = cJSON_Duplicate (filter, 1);
        cJSON_AddNumberToObject (args, "limit", 1000);
        if (after > 0)
            cJSON_AddNumberToObject (args, "after_seq", after);
        char *text = cJSON_PrintUnformatted (args);
        cJSON_Delete (args);
        Sluice__V1__AdminResponse *r = tc_admin (b, &b->admin, "audit.query", text);
        cJSON *j = r && r->code == 0 ? cJSON_Parse (r->result_json) : NULL;
        if (!j)
            fprintf (stderr, "tc: audit.query %s: %s\n", text, r ? r->text : "no answer");
        free (text);
        if (r)
            sluice__v1__admin_response__free_unpacked (r, NULL);
        if (!j) {
            cJSON_Delete (filter);
            return -1;
        }
        const cJSON *e;
        cJSON_ArrayForEach (e, cJSON_GetObjectItem (j, "entries"))
            n += s_entry_matches (e, conds);
        int more = cJSON_IsTrue (cJSON_GetObjectItem (j, "more"));
        after = cJSON_GetNumberValue (cJSON_GetObjectItem (j, "next_after_seq"));
        cJSON_Delete (j);
        if (!more)
            break;
    }
    cJSON_Delete (filter);
    return n;
}

long
tc_audit_count (tc_broker_t *b, ...)
{
    va_list ap;
    va_start (ap, b);
    long n = s_audit_count (b, ap);
    va_end (ap);
    return n;
}

long
tc_audit_await (tc_broker_t *b, int timeout_ms, ...)
{
    int64_t until = tc_ms () + tc_wait (timeout_ms);
    long n;
    for (;;) {
        va_list ap;
        va_start (ap, timeout_ms);
        n = s_audit_count (b, ap);
        va_end (ap);
        if (n != 0 || tc_ms () >= until)
            return n;
        usleep (20000);
    }
}

/*  Calls fn(entry, arg) for each entry of `kind` in DIR/store, through a
 *  separate read-only LMDB environment, until fn returns non-zero. The
 *  number of entries seen, or -1 when the store could not be read. */
static long
s_audit_each (const char *dir, const char *kind,
              int (*fn) (const sl_audit_entry_t *e, long i, void *arg), void *arg)
{
    MDB_env *env;
    MDB_txn *txn;
    char path[600];
    snprintf (path, sizeof path, "%s/store", dir);
    if (mdb_env_create (&env) != 0)
        return -1;
    mdb_env_set_maxdbs (env, 64);
    mdb_env_set_mapsize (env, (size_t) 1 << 30);
    if (mdb_env_open (env, path, MDB_RDONLY | MDB_NOTLS, 0600) != 0
        || mdb_txn_begin (env, NULL, MDB_RDONLY, &txn) != 0) {
        mdb_env_close (env);
        return -1;
    }
    sl_audit_filter_t f;
    memset (&f, 0, sizeof f);
    f.kind = kind;
    sl_audit_iter_t *it = sl_audit_iter_new (txn, &f);
    sl_audit_entry_t e;
    long n = it ? 0 : -1;
    while (it && sl_audit_iter_next (it, &e) == 1)
        if (fn (&e, n++, arg) != 0)
            break;
    sl_audit_iter_destroy (&it);
    mdb_txn_abort (txn);
    mdb_env_close (env);
    return n;
}

typedef struct {
    tc_entry_t *out;
    size_t max;
} s_read_t;

static int
s_read_one (const sl_audit_entry_t *e, long i, void *arg)
{
    s_read_t *r = arg;
    if ((size_t) i >= r->max)
        return 0;
    tc_entry_t *o = &r->out[i];
#define S_COPY(dst, src) snprintf (dst, sizeof dst, "%.*s", (int) src.len, src.ptr)
    S_COPY (o->kind, e->kind);
    S_COPY (o->actor, e->actor);
    S_COPY (o->counterpart, e->counterpart);
    S_COPY (o->owner, e->owner);
    S_COPY (o->purpose, e->purpose);
    S_COPY (o->decision, e->decision);
    S_COPY (o->rules, e->rules);
    S_COPY (o->fields, e->fields);
    S_COPY (o->reason, e->reason);
    S_COPY (o->detail, e->detail);
#undef S_COPY
    o->has_subject = e->subject != NULL;
    o->has_msgid = e->message_id != NULL;
    return 0;
}

long
tc_audit_read (const char *dir, const char *kind, tc_entry_t *out, size_t max)
{
    s_read_t r = { out, max };
    return s_audit_each (dir, kind, s_read_one, &r);
}

static int
s_count_tags (const sl_audit_entry_t *e, long i, void *arg)
{
    (void) i;
    long *n = arg;
    long k = sl_audit_ack_tags (e->detail.ptr, e->detail.len, NULL, NULL);
    *n = k < 0 ? -1 : *n + k;
    return *n < 0;
}

long
tc_audit_acked_tags (const char *dir)
{
    long n = 0;
    return s_audit_each (dir, "ack", s_count_tags, &n) < 0 ? -1 : n;
}

cJSON *
tc_status (tc_broker_t *b, const sl_keypair_t *as)
{
    Sluice__V1__AdminResponse *r = tc_admin (b, as ? as : &b->admin, "status", "{}");
    cJSON *j = r && r->code == 0 ? cJSON_Parse (r->result_json) : NULL;
    if (r)
        sluice__v1__admin_response__free_unpacked (r, NULL);
    return j;
}

long
tc_queue_depth (tc_broker_t *b, const char *member)
{
    cJSON *j = tc_status (b, NULL);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (j, "queues"), member);
    long n = cJSON_IsNumber (v) ? (long) v->valuedouble : -1;
    cJSON_Delete (j);
    return n;
}

/* --------------------------------------------------------------------------
 * Broker integration suites (tests/broker/it_*.c, flood_auth.c)
 * ------------------------------------------------------------------------ */

typedef struct {
    tc_full_entry_t *out;
    size_t max;
} s_full_t;

static int
s_read_full (const sl_audit_entry_t *e, long i, void *arg)
{
    s_full_t *r = arg;
    if ((size_t) i >= r->max)
        return 0;
    tc_full_entry_t *o = &r->out[i];
    s_read_t one = { &o->m, 1 };
    s_read_one (e, 0, &one);
    snprintf (o->record_type, sizeof o->record_type, "%.*s", (int) e->record_type.len,
              e->record_type.ptr);
    o->subject[0] = 0;
    for (size_t k = 0; e->subject && k < SL_AUDIT_PSEUDO_LEN; k++)
        snprintf (o->subject + 2 * k, 3, "%02x", e->subject[k]);
    return 0;
}

long
tc_audit_read_full (const char *dir, const char *kind, tc_full_entry_t *out, size_t max)
{
    s_full_t r = { out, max };
    return s_audit_each (dir, kind, s_read_full, &r);
}

int
tc_admin_answer (tc_broker_t *b, const sl_keypair_t *as, const char *command,
               const char *args_json, char *text, size_t tsize, char *result, size_t rsize)
{
    Sluice__V1__AdminResponse *r = tc_admin (b, as, command, args_json);
    if (text)
        snprintf (text, tsize, "%s", !r ? "no response" : r->text ? r->text : "");
    if (result)
        snprintf (result, rsize, "%s", r && r->result_json ? r->result_json : "");
    int code = r ? (int) r->code : -1;
    if (r)
        sluice__v1__admin_response__free_unpacked (r, NULL);
    return code;
}

/* ---- reliability and operations suites (tests/reliability, tests/ops) ---- */

int
tc_file_count (const char *path, const char *needle)
{
    char line[4096];
    FILE *f = fopen (path, "r");
    int n = 0;
    if (!f)
        return 0;
    while (fgets (line, sizeof line, f))
        n += strstr (line, needle) != NULL;
    fclose (f);
    return n;
}

int
tc_admin_code (tc_broker_t *b, const sl_keypair_t *as, const char *command, const char *args_json,
               char *text, size_t size)
{
    return tc_admin_answer (b, as, command, args_json, text, size, NULL, 0);
}

void *
tc_curve_socket (void *ctx, int type, const char *server_pub, const char *public_key,
                 const char *secret_key)
{
    void *s = zmq_socket (ctx ? ctx : tc_ctx (), type);
    int linger = 0;
    if (!s)
        return NULL;
    zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt (s, ZMQ_CURVE_SERVERKEY, server_pub, 40);
    zmq_setsockopt (s, ZMQ_CURVE_PUBLICKEY, public_key, 40);
    zmq_setsockopt (s, ZMQ_CURVE_SECRETKEY, secret_key, 40);
    return s;
}

Sluice__V1__AdminResponse *
tc_admin_recv (void *sock, int timeout_ms)
{
    zmq_pollitem_t it = { sock, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&it, 1, tc_wait (timeout_ms)) != 1)
        return NULL;
    zmq_msg_t f;
    zmq_msg_init (&f);
    Sluice__V1__AdminResponse *r = NULL;
    if (zmq_msg_recv (&f, sock, 0) >= 0)
        r = sluice__v1__admin_response__unpack (NULL, zmq_msg_size (&f), zmq_msg_data (&f));
    zmq_msg_close (&f);
    return r;
}

uint64_t
tc_publish_n (tc_client_t *c, const char *type, const char *member, const char *owner,
              const char *subject, uint32_t first, size_t n, const uint8_t *const *bodies,
              const size_t *lens)
{
    Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
    Sluice__V1__RecordMeta *m = calloc (n, sizeof *m), **mp = calloc (n, sizeof *mp);
    uint8_t (*ids)[16] = calloc (n, sizeof *ids);
    uint64_t seq = 0;
    if (m && mp && ids) {
        h.command = SLUICE__V1__COMMAND__PUBLISH;
        h.record_type = (char *) type;
        if (member)
            h.member = (char *) member;
        for (size_t i = 0; i < n; i++) {
            sluice__v1__record_meta__init (&m[i]);
            tc_msgid (ids[i], first + (uint32_t) i);
            m[i].message_id.data = ids[i];
            m[i].message_id.len = 16;
            if (subject)
                m[i].subject = (char *) subject;
            if (owner)
                m[i].owner = (char *) owner;
            mp[i] = &m[i];
        }
        h.n_records = n;
        h.records = mp;
        seq = tc_send (c, &h, bodies, lens, n);
    }
    free (m);
    free (mp);
    free (ids);
    return seq;
}

uint8_t *
tc_consent_pack (const tc_consent_t *c, int kind, size_t *len)
{
    Sluice__V1__ConsentEvent e = SLUICE__V1__CONSENT_EVENT__INIT;
    char *purposes[] = { (char *) c->purpose }, *types[] = { (char *) c->type };
    char *fields[] = { (char *) c->field };
    e.consent_id = (char *) c->id;
    e.kind = (Sluice__V1__ConsentEvent__Kind) kind;
    e.subject = (char *) c->subject;
    e.controller = (char *) c->controller;
    e.recipient = (char *) c->recipient;
    if (kind == SLUICE__V1__CONSENT_EVENT__KIND__GIVEN) {
        e.n_purposes = e.n_record_types = 1;
        e.purposes = purposes;
        e.record_types = types;
        e.collection_method = (char *) c->method;
        if (c->evidence)
            e.evidence = (char *) c->evidence;
        e.valid_to = c->valid_to;
        e.n_fields = c->field != NULL;
        e.fields = fields;
    }
    *len = sluice__v1__consent_event__get_packed_size (&e);
    uint8_t *buf = malloc (*len ? *len : 1);
    if (buf)
        sluice__v1__consent_event__pack (&e, buf);
    return buf;
}

int
tc_audit_verify (const char *dir, sl_audit_report_t *rep)
{
    char path[600];
    uint8_t pk[SL_AUDIT_PK_LEN];
    MDB_env *env;
    memset (rep, 0, sizeof *rep);
    snprintf (path, sizeof path, "%s/%s", dir, SL_AUDIT_SIGN_PUB_FILE);
    if (sl_audit_load_pubkey (path, pk, rep->message, sizeof rep->message) != 0)
        return -1;
    snprintf (path, sizeof path, "%s/store", dir);
    if (mdb_env_create (&env) != 0)
        return -1;
    mdb_env_set_maxdbs (env, 64);
    if (mdb_env_open (env, path, MDB_RDONLY | MDB_NOTLS, 0600) != 0) {
        snprintf (rep->message, sizeof rep->message, "the store in %.200s cannot be opened", dir);
        mdb_env_close (env);
        return -1;
    }
    int rc = sl_audit_verify (env, pk, NULL, rep);
    mdb_env_close (env);
    return rc;
}

int
tc_admin_send (void *sock, uint64_t seq, const char *command, const char *args_json,
               const uint8_t *data, size_t len)
{
    Sluice__V1__AdminRequest r = SLUICE__V1__ADMIN_REQUEST__INIT;
    r.version = 1;
    r.seq = seq;
    r.command = (char *) command;
    if (args_json)
        r.args_json = (char *) args_json;
    r.data.data = (uint8_t *) data;
    r.data.len = data ? len : 0;
    size_t n = sluice__v1__admin_request__get_packed_size (&r);
    uint8_t *buf = malloc (n ? n : 1);
    int rc = buf ? 0 : -1;
    if (buf) {
        sluice__v1__admin_request__pack (&r, buf);
        rc = zmq_send (sock, buf, n, 0) == (int) n ? 0 : -1;
    }
    free (buf);
    return rc;
}

long
tc_auth_denied_await (tc_broker_t *b, const char *public_key, const char *reason, int timeout_ms)
{
    char fp[17], needle[64], why[80];
    sl_keys_fingerprint (public_key, fp);
    snprintf (needle, sizeof needle, "detail~fp=%s ", fp);
    snprintf (why, sizeof why, "reason=%s", reason);
    return tc_audit_await (b, timeout_ms, "kind=auth.denied", why, needle, NULL);
}

uint32_t
tc_take (tc_client_t *c, uint32_t want, int quiet_ms,
         int (*on_record) (void *arg, const Sluice__V1__RecordMeta *r), void *arg)
{
    uint32_t got = 0;
    tc_msg_t m;
    while (got < want && tc_recv_cmd (c, &m, SLUICE__V1__COMMAND__DELIVER, quiet_ms) == 0) {
        uint64_t tags[64];
        size_t nt = 0;
        for (size_t i = 0; m.h->command == SLUICE__V1__COMMAND__DELIVER && i < m.h->n_records
                           && nt < 64; i++) {
            got += on_record ? (uint32_t) on_record (arg, m.h->records[i]) : 1;
            tags[nt++] = m.h->records[i]->delivery_tag;
        }
        tc_msg_free (&m);
        if (!nt)
            continue;
        Sluice__V1__Header h = SLUICE__V1__HEADER__INIT;
        h.command = SLUICE__V1__COMMAND__ACK;
        h.n_delivery_tags = nt;
        h.delivery_tags = tags;
        tc_send (c, &h, NULL, NULL, 0);
        tc_credit (c, (uint32_t) nt);
    }
    return got;
}

long
tc_acks (tc_client_t *c, int n, int timeout_ms)
{
    long ids = 0;
    for (int i = 0; i < n; i++) {
        tc_msg_t m;
        if (tc_recv_cmd (c, &m, SLUICE__V1__COMMAND__ACK, timeout_ms) != 0)
            return -1;
        int ack = m.h->command == SLUICE__V1__COMMAND__ACK;
        ids += (long) m.h->n_message_ids;
        tc_msg_free (&m);
        if (!ack)
            return -1;
    }
    return ids;
}

uint64_t
tc_publish_claiming (tc_client_t *c, uint32_t n, const char *subject, const char *member,
                     const char *owner)
{
    size_t len;
    uint8_t *body = tc_water_reading (subject, 1.0, &len);
    const uint8_t *bodies[] = { body };
    uint64_t seq = tc_publish_n (c, TL_WATER, member, owner, NULL, n, 1, bodies, &len);
    free (body);
    return seq;
}

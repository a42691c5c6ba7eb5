/*  sl_gw_types — see sl_gw_types.h. */
#include "sl_gw_types.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "sl_error.h"
#include "sl_log.h"
#include "sluice.h"

#define S_MISS_MAX 64
#define S_MISS_RETRY_S 10

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;
static const sl_gw_config_t *s_cfg;
static struct { char type[SL_SCHEMA_NAME_MAX + 1]; time_t at; } s_miss[S_MISS_MAX];

void
sl_gw_types_configure (const sl_gw_config_t *cfg)
{
    pthread_mutex_lock (&s_mu);
    s_cfg = cfg;
    pthread_mutex_unlock (&s_mu);
}

/*  Admin-plane options with the bureau's key; 0 or -1 with `err`. */
static int
s_admin (sl_client_options_t *o, char *buf, size_t size, char *err, size_t errlen)
{
    memset (o, 0, sizeof *o);
    if (!s_cfg) {
        snprintf (err, errlen, "no broker configured");
        return -1;
    }
    if (s_cfg->data[0] && sl_options_from_data_dir (o, s_cfg->data, 1, buf, size, err, errlen) != 0
        && !s_cfg->admin_endpoint[0])
        return -1;
    if (s_cfg->admin_endpoint[0])
        o->endpoint = s_cfg->admin_endpoint;
    if (s_cfg->broker_key[0])
        o->broker_key_file = s_cfg->broker_key;
    o->key_file = s_cfg->key;
    if (!o->endpoint || !o->broker_key_file) {
        snprintf (err, errlen, "no admin endpoint to fetch record types from: set [gateway] "
                  "admin_endpoint (or data)");
        return -1;
    }
    return 0;
}

/*  Fetches, builds and installs `type`. Call with s_mu held. */
static const sl_schema_t *
s_fetch (const char *type, int *why, char *err, size_t errlen)
{
    *why = SL_ENOTFOUND;
    time_t now = time (NULL);
    for (int i = 0; i < S_MISS_MAX; i++)
        if (!strcmp (s_miss[i].type, type) && now - s_miss[i].at < S_MISS_RETRY_S) {
            snprintf (err, errlen, "record type '%s' is not registered in the broker", type);
            return NULL;
        }
    sl_client_options_t o;
    char buf[4096];
    uint8_t *set = NULL;
    size_t len = 0;
    uint32_t version = 0;
    sl_schema_t *entry = NULL;
    const sl_schema_t *found = NULL;
    int rc = -1;
    if (s_admin (&o, buf, sizeof buf, err, errlen) != 0) {
        *why = SL_EAGAIN;
        return NULL;
    }
    rc = sl_schema_fetch (&o, type, 0, 5000, &set, &len, &version, err, errlen);
    if (rc == 0)
        rc = sl_schema_build (set, len, type, version, &entry, err, errlen);
    if (rc == 0)
        rc = sl_schema_install (&entry, NULL);
    sl_schema_free (&entry);
    free (set);
    if (rc == 0) {
        found = sl_schema_find (type);
        sl_info ("gateway.type_learned", "record_type=%s version=%u", type, version);
    } else if (rc == SL_ENOTFOUND || rc == SL_EINVAL) {
        /* remember the miss for a while (oldest slot reused) */
        int slot = 0;
        for (int i = 1; i < S_MISS_MAX; i++)
            if (s_miss[i].at < s_miss[slot].at)
                slot = i;
        snprintf (s_miss[slot].type, sizeof s_miss[slot].type, "%s", type);
        s_miss[slot].at = now;
    } else
        *why = SL_EAGAIN;             /* the broker could not be asked */
    return found;
}

const sl_schema_t *
sl_gw_types_find (const char *record_type, int *rc, char *err, size_t errlen)
{
    char e[512] = "";
    int why = SL_ENOTFOUND;
    if (strlen (record_type) > SL_SCHEMA_NAME_MAX) {
        if (err && errlen)
            snprintf (err, errlen, "record type name longer than %d characters",
                      SL_SCHEMA_NAME_MAX);
        if (rc)
            *rc = SL_ENOTFOUND;
        return NULL;
    }
    pthread_mutex_lock (&s_mu);
    const sl_schema_t *s = sl_schema_find (record_type);
    if (!s)
        s = s_fetch (record_type, &why, e, sizeof e);
    pthread_mutex_unlock (&s_mu);
    if (!s && err && errlen)
        snprintf (err, errlen, "%s", e[0] ? e : "not registered");
    if (rc)
        *rc = s ? 0 : why;
    return s;
}

size_t
sl_gw_types_list (const sl_schema_t **out, size_t max)
{
    sl_client_options_t o;
    char buf[4096], err[512];
    char *result = NULL;
    pthread_mutex_lock (&s_mu);
    int ok = s_admin (&o, buf, sizeof buf, err, sizeof err) == 0;
    pthread_mutex_unlock (&s_mu);
    if (ok && sl_admin_call (&o, "schema.list", "{}", NULL, 0, 5000, &result, err,
                             sizeof err) == 0) {
        cJSON *j = cJSON_Parse (result);
        const cJSON *t;
        cJSON_ArrayForEach (t, cJSON_GetObjectItemCaseSensitive (j, "types")) {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive (t, "record_type");
            if (cJSON_IsString (name))
                sl_gw_types_find (name->valuestring, NULL, NULL, 0);
        }
        cJSON_Delete (j);
        free (result);
    }
    pthread_mutex_lock (&s_mu);
    size_t n = sl_schema_count ();
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++)
        out[i] = sl_schema_at (i);
    pthread_mutex_unlock (&s_mu);
    return n;
}

/*  A time field is one the record type lists, on the record's own message
    (not on a nested one of the same field name). */
static int
s_is_time (const ProtobufCMessageDescriptor *msg, const ProtobufCFieldDescriptor *field, void *arg)
{
    const sl_schema_t *s = arg;
    return s && msg && msg == s->descriptor && sl_schema_is_time_field (s, field->name);
}

sl_json_options_t
sl_gw_types_json (const sl_schema_t *schema)
{
    sl_json_options_t o = { 0 };
    o.is_time = s_is_time;
    o.time_arg = (void *) schema;
    return o;
}

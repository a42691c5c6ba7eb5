/*  sl_gw_types — see sl_gw_types.h. */
#include "sl_gw_types.h"

#include <pthread.h>
#include <string.h>

static pthread_mutex_t s_mu = PTHREAD_MUTEX_INITIALIZER;

const sl_schema_t *
sl_gw_types_find (const char *record_type)
{
    pthread_mutex_lock (&s_mu);
    const sl_schema_t *s = sl_schema_find (record_type);
    pthread_mutex_unlock (&s_mu);
    return s;
}

size_t
sl_gw_types_list (const sl_schema_t **out, size_t max)
{
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

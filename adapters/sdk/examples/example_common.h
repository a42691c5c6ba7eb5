/*  Shared bits of the example programs: options and printing a record. */
#ifndef EXAMPLE_COMMON_H
#define EXAMPLE_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sluice.h"
#include "sl_schema.h"

/*  Fills the connection options from --data DIR / --key FILE (or the
    environment: SLUICE_DATA, SLUICE_KEY). Returns 0 or prints why and
    returns -1. */
static inline int
example_options (const char *data, const char *key, sl_client_options_t *opts, char *buf,
                 size_t size)
{
    char err[512];
    if (!data)
        data = getenv ("SLUICE_DATA");
    if (!key)
        key = getenv ("SLUICE_KEY");
    if (!data || !key) {
        fprintf (stderr, "need --data DIR (or SLUICE_DATA) and --key FILE (or SLUICE_KEY)\n");
        return -1;
    }
    memset (opts, 0, sizeof *opts);
    if (sl_options_from_data_dir (opts, data, 0, buf, size, err, sizeof err) != 0) {
        fprintf (stderr, "%s\n", err);
        return -1;
    }
    opts->key_file = key;
    return 0;
}

/*  Connects with the options of example_options. Returns the client, or
    NULL after printing why. */
static inline sl_client_t *
example_connect (const char *data, const char *key)
{
    sl_client_options_t opts;
    char buf[8192], err[512];
    sl_client_t *client = NULL;
    if (example_options (data, key, &opts, buf, sizeof buf) != 0)
        return NULL;
    int rc = sl_client_connect (&opts, &client, err, sizeof err);
    if (rc != 0)
        fprintf (stderr, "connect: %s (%s)\n", err, sl_strerror (rc));
    return rc == 0 ? client : NULL;
}

/*  Prints a packed record of `record_type` as "field=value" pairs. */
static inline void
example_print_record (FILE *out, const char *record_type, const void *body, size_t size)
{
    const sl_schema_t *schema = sl_schema_find (record_type);
    if (!schema) {
        fprintf (out, "  (%zu bytes of unknown type %s)\n", size, record_type);
        return;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack (schema->descriptor, NULL, size, body);
    if (!m) {
        fprintf (out, "  (%zu bytes that do not decode as %s)\n", size, record_type);
        return;
    }
    for (unsigned i = 0; i < schema->descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &schema->descriptor->fields[i];
        const char *p = (const char *) m + f->offset;
        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING:
            fprintf (out, "  %s = \"%s\"\n", f->name, *(char *const *) p);
            break;
        case PROTOBUF_C_TYPE_INT64:
            fprintf (out, "  %s = %lld\n", f->name, (long long) *(const int64_t *) p);
            break;
        case PROTOBUF_C_TYPE_INT32:
            fprintf (out, "  %s = %d\n", f->name, *(const int32_t *) p);
            break;
        case PROTOBUF_C_TYPE_DOUBLE:
            fprintf (out, "  %s = %g\n", f->name, *(const double *) p);
            break;
        case PROTOBUF_C_TYPE_BOOL:
            fprintf (out, "  %s = %s\n", f->name, *(const protobuf_c_boolean *) p ? "true" : "false");
            break;
        default:
            break;
        }
    }
    protobuf_c_message_free_unpacked (m, NULL);
}

#endif

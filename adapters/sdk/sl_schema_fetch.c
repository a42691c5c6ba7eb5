/*  sl_schema_fetch — a registered record type's FileDescriptorSet over the
 *  admin plane (schema.get). See sluice.h. */
#include "sluice.h"
#include "sl_error.h"
#include "sl_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

int
sl_schema_fetch (const sl_client_options_t *opts, const char *record_type, uint32_t version,
                 int timeout_ms, uint8_t **set_p, size_t *len_p, uint32_t *version_p,
                 char *err, size_t errlen)
{
    *set_p = NULL;
    *len_p = 0;
    cJSON *args = cJSON_CreateObject ();
    if (!args || !cJSON_AddStringToObject (args, "record_type", record_type)
        || !cJSON_AddNumberToObject (args, "version", version)) {
        cJSON_Delete (args);
        snprintf (err, errlen, "out of memory");
        return SL_ENOMEM;
    }
    char *args_text = cJSON_PrintUnformatted (args);
    cJSON_Delete (args);
    if (!args_text) {
        snprintf (err, errlen, "out of memory");
        return SL_ENOMEM;
    }
    char *result = NULL;
    int rc = sl_admin_call (opts, "schema.get", args_text, NULL, 0, timeout_ms, &result,
                            err, errlen);
    free (args_text);
    if (rc != 0)
        return rc;
    cJSON *res = cJSON_Parse (result);
    free (result);
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive (res, "descriptor_set");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive (res, "version");
    if (!cJSON_IsString (b64) || !b64->valuestring) {
        snprintf (err, errlen, "%s: the broker sent no descriptor set (a type built into the "
                  "broker has none)", record_type);
        cJSON_Delete (res);
        return res ? SL_ENOTFOUND : SL_EPROTO;
    }
    size_t cap = strlen (b64->valuestring) / 4 * 3 + 3;
    uint8_t *set = malloc (cap);
    size_t len = 0;
    if (!set || sodium_base642bin (set, cap, b64->valuestring, strlen (b64->valuestring), NULL,
                                   &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
        free (set);
        cJSON_Delete (res);
        snprintf (err, errlen, "%s: the descriptor set is not base64", record_type);
        return SL_EPROTO;
    }
    if (version_p)
        *version_p = cJSON_IsNumber (ver) ? (uint32_t) ver->valuedouble : 0;
    cJSON_Delete (res);
    *set_p = set;
    *len_p = len;
    return 0;
}

int
sl_schema_learn (const sl_client_options_t *opts, const char *record_type, int timeout_ms,
                 const struct sl_schema **schema_p, char *err, size_t errlen)
{
    const sl_schema_t *found = sl_schema_find (record_type);
    if (!found) {
        uint8_t *set = NULL;
        size_t len = 0;
        uint32_t version = 0;
        sl_schema_t *s = NULL;
        int rc = sl_schema_fetch (opts, record_type, 0, timeout_ms, &set, &len, &version, err,
                                  errlen);
        if (rc == 0)
            rc = sl_schema_build (set, len, record_type, version, &s, err, errlen);
        if (rc == 0 && (rc = sl_schema_install (&s, NULL)) != 0)
            snprintf (err, errlen, "out of memory");
        sl_schema_free (&s);
        free (set);
        if (rc != 0)
            return rc;
        found = sl_schema_find (record_type);
    }
    if (schema_p)
        *schema_p = found;
    return 0;
}

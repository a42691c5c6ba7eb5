/*  sl_admin_call — one call on the broker's admin plane (PROTOCOL.md 6):
    AdminRequest out, AdminResponse(s) back, JSON in and out. */
#include "sl_internal.h"
#include "sl_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "sluice/v1/admin.pb-c.h"

/*  Waits for the CURVE handshake. Returns 0, SL_EPERM, SL_ETIMEOUT. */
static int
s_handshake (void *mon, const char *endpoint, const char *key_file, int64_t deadline,
             char *err, size_t errlen)
{
    const char *hint = "";
    for (;;) {
        int64_t left = deadline - sl_mono_ms ();
        if (left <= 0) {
            sl_err_set (err, errlen, "no answer from the broker's admin endpoint %s%s: is sluiced "
                   "running, and is this its admin endpoint (DATA/endpoints)?", endpoint, hint);
            return SL_ETIMEOUT;
        }
        zmq_pollitem_t item = { mon, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long) left) < 0 && errno != EINTR)
            return SL_EIO;
        int ev;
        while ((ev = sl__monitor_event (mon)) != 0) {
            if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                return 0;
            if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                sl_err_set (err, errlen, "the broker at %s refused the key %s: it is not a registered "
                       "(or it is a revoked) member; use the admin key `sluiced init` printed, or "
                       "register this key with `sluicectl member add`; from another host, the "
                       "broker's --admin-allow list must also hold this machine's address",
                       endpoint, key_file);
                return SL_EPERM;
            }
            if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || ev == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
                hint = " (the CURVE handshake failed: is broker.pub the key of this broker?)";
        }
    }
}

int
sl_admin_call (const sl_client_options_t *opts, const char *command,
               const char *args_json, const void *data, size_t size,
               int timeout_ms, char **result_json_p, char *err, size_t errlen)
{
    return sl_admin_call_ex (opts, command, args_json, data, size, timeout_ms, result_json_p,
                             NULL, err, errlen);
}

int
sl_admin_call_ex (const sl_client_options_t *opts, const char *command,
                  const char *args_json, const void *data, size_t size,
                  int timeout_ms, char **result_json_p, char **error_json_p,
                  char *err, size_t errlen)
{
    sl_keypair_t keys;
    char broker_pub[SL_KEY_Z85_LEN + 1];
    void *ctx = NULL, *sock = NULL, *mon = NULL;
    cJSON *array = NULL;
    int rc;
    *result_json_p = NULL;
    if (error_json_p)
        *error_json_p = NULL;
    if (!opts || !opts->endpoint || !command) {
        sl_err_set (err, errlen, "no admin endpoint given: pass --endpoint or --data DIR");
        return SL_EINVAL;
    }
    if (timeout_ms <= 0)
        timeout_ms = 5000;
    int64_t deadline = sl_mono_ms () + timeout_ms;
    rc = sl__load_keys (opts, &keys, broker_pub, err, errlen);
    if (rc != 0)
        goto out;
    rc = SL_EIO;
    if (!(ctx = zmq_ctx_new ()))
        goto out;
    rc = sl__open_socket (ctx, opts->endpoint, &keys, broker_pub, &sock, &mon, err, errlen);
    if (rc != 0)
        goto out;
    rc = s_handshake (mon, opts->endpoint, opts->key_file, deadline, err, errlen);
    if (rc != 0)
        goto out;

    Sluice__V1__AdminRequest req = SLUICE__V1__ADMIN_REQUEST__INIT;
    req.version = SL_PROTOCOL_VERSION;
    req.seq = 1;
    req.command = (char *) command;
    req.args_json = (char *) (args_json ? args_json : "{}");
    req.data.data = (uint8_t *) data;
    req.data.len = data ? size : 0;
    size_t len = sluice__v1__admin_request__get_packed_size (&req);
    uint8_t *buf = malloc (len ? len : 1);
    if (!buf) {
        rc = SL_ENOMEM;
        goto out;
    }
    sluice__v1__admin_request__pack (&req, buf);
    int sent = zmq_send (sock, buf, len, 0);
    free (buf);
    if (sent < 0) {
        sl_err_set (err, errlen, "cannot send to %s: %s", opts->endpoint, zmq_strerror (errno));
        rc = SL_EIO;
        goto out;
    }
    for (;;) {
        int64_t left = deadline - sl_mono_ms ();
        zmq_pollitem_t items[] = { { sock, 0, ZMQ_POLLIN, 0 }, { mon, 0, ZMQ_POLLIN, 0 } };
        if (left <= 0 || zmq_poll (items, 2, (long) left) == 0) {
            sl_err_set (err, errlen, "%s: no answer from the broker within %d ms", command, timeout_ms);
            rc = SL_ETIMEOUT;
            goto out;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            int ev;
            while ((ev = sl__monitor_event (mon)) != 0)
                if (ev == ZMQ_EVENT_DISCONNECTED) {
                    sl_err_set (err, errlen, "%s: the broker closed the connection before answering "
                           "(a request of %zu bytes; over 4 x the broker's max_message_size the "
                           "connection is closed unread)", command, len);
                    rc = SL_ECLOSED;
                    goto out;
                }
        }
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        zmq_msg_t m;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, sock, 0) < 0) {
            zmq_msg_close (&m);
            continue;
        }
        Sluice__V1__AdminResponse *resp = sluice__v1__admin_response__unpack (
            NULL, zmq_msg_size (&m), zmq_msg_data (&m));
        zmq_msg_close (&m);
        if (!resp) {
            sl_err_set (err, errlen, "%s: the broker's answer does not decode", command);
            rc = SL_EPROTO;
            goto out;
        }
        if (resp->seq != req.seq) {
            sluice__v1__admin_response__free_unpacked (resp, NULL);
            continue;
        }
        if (resp->code != SLUICE__V1__ERROR_CODE__OK) {
            rc = sl_wire_error_to_rc ((int) resp->code);
            sl_err_set (err, errlen, "%s", resp->text && *resp->text ? resp->text : sl_strerror (rc));
            if (error_json_p && resp->result_json && *resp->result_json)
                *error_json_p = strdup (resp->result_json);
            sluice__v1__admin_response__free_unpacked (resp, NULL);
            goto out;
        }
        const char *result = resp->result_json && *resp->result_json ? resp->result_json : "null";
        if (!resp->more && !array) {
            *result_json_p = strdup (result);
            sluice__v1__admin_response__free_unpacked (resp, NULL);
            rc = *result_json_p ? 0 : SL_ENOMEM;
            goto out;
        }
        if (!array && !(array = cJSON_CreateArray ())) {
            sluice__v1__admin_response__free_unpacked (resp, NULL);
            rc = SL_ENOMEM;
            goto out;
        }
        cJSON *item = cJSON_Parse (result);
        if (item)
            cJSON_AddItemToArray (array, item);
        int more = resp->more;
        sluice__v1__admin_response__free_unpacked (resp, NULL);
        if (!more) {
            *result_json_p = cJSON_PrintUnformatted (array);
            rc = *result_json_p ? 0 : SL_ENOMEM;
            goto out;
        }
    }
out:
    cJSON_Delete (array);
    sodium_memzero (&keys, sizeof keys);
    if (sock)
        zmq_socket_monitor (sock, NULL, 0);
    if (mon)
        zmq_close (mon);
    if (sock)
        zmq_close (sock);
    if (ctx)
        zmq_ctx_term (ctx);
    return rc;
}

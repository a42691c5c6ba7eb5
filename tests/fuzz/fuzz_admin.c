/*  libFuzzer target: the broker's admin plane, sl_admin_dispatch() — the
 *  function sluiced calls with each AdminRequest frame (sl_broker.c,
 *  s_admin_input): request decoding, version check, command lookup, the
 *  role check, args_json parsing and the command handlers over the real
 *  registry and LMDB store.
 *
 *  Each input is a series of requests (fz_input.h): the control byte picks
 *  the caller (control % FZ_N_MEMBERS: admin:city, member, auditor,
 *  admin:water, consent-source), one frame is the packed AdminRequest. As
 *  in the broker, the caller is looked up in the registry per request and a
 *  revoked caller is not dispatched.
 *
 *  Properties checked besides the sanitizers (abort if broken): every
 *  request gets a response that decodes as an AdminResponse, and when the
 *  request decodes, the response echoes its seq.
 *
 *  When an input has revoked one of the fixed members, or the registry has
 *  grown past 256 members, the broker is recreated on a fresh directory so
 *  that later inputs start from the same members.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fz_broker.h"
#include "fz_input.h"
#include "sl_admin.h"
#include "sluice/v1/admin.pb-c.h"

#define S_MAX_REQUESTS 32

static fz_broker_t s_fb;
static int s_started;

static void
s_cleanup (void)
{
    fz_broker_stop (&s_fb);
}

static void
s_check (const void *req, size_t req_len, const void *resp, size_t resp_len)
{
    Sluice__V1__AdminResponse *r = sluice__v1__admin_response__unpack (NULL, resp_len, resp);
    if (!r) {
        fprintf (stderr, "fuzz_admin: response of %zu bytes does not decode\n", resp_len);
        abort ();
    }
    Sluice__V1__AdminRequest *q = sluice__v1__admin_request__unpack (NULL, req_len, req);
    if (q && q->seq != r->seq) {
        fprintf (stderr, "fuzz_admin: response seq %llu for request seq %llu\n",
                 (unsigned long long) r->seq, (unsigned long long) q->seq);
        abort ();
    }
    if (q)
        sluice__v1__admin_request__free_unpacked (q, NULL);
    sluice__v1__admin_response__free_unpacked (r, NULL);
}

static int
s_needs_restart (void)
{
    if (sl_registry_count (sl_broker_registry (s_fb.broker)) > 256)
        return 1;
    for (int i = 0; i < FZ_N_MEMBERS; i++) {
        const sl_member_t *m = fz_member (&s_fb, i);
        if (!m || m->revoked)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_started) {
        fz_broker_start (&s_fb);
        atexit (s_cleanup);
        s_started = 1;
    }
    fz_input_t in = { data, size };
    uint8_t c;
    for (int k = 0; k < S_MAX_REQUESTS && fz_next (&in, &c); k++) {
        const uint8_t *req;
        size_t req_len;
        fz_frame (&in, &req, &req_len);
        const sl_member_t *caller = fz_member (&s_fb, c % FZ_N_MEMBERS);
        if (!caller || caller->revoked)
            continue;
        size_t len = 0;
        void *resp = sl_admin_dispatch (sl_broker_admin (s_fb.broker), sl_broker_admin_ctx (s_fb.broker), caller,
                                        req, req_len, &len);
        if (!resp) {
            fprintf (stderr, "fuzz_admin: no response (out of memory?)\n");
            abort ();
        }
        s_check (req, req_len, resp, len);
        free (resp);
    }
    if (s_needs_restart ()) {
        fz_broker_stop (&s_fb);
        fz_broker_start (&s_fb);
    }
    return 0;
}

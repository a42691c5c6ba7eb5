/*  bench-descset: the cost of a record type registered at run time against
 *  the same type compiled in with protoc-c, on the broker's per-record work
 *  for a body: decode (validation at publish) and, for a transformed copy,
 *  decode + re-encode. Same body, same process, interleaved rounds.
 *
 *  Prints one line per case:
 *    sluice_descset case=decode compiled_rps=N runtime_rps=N ratio=R
 *    sluice_descset case=decode+encode compiled_rps=N runtime_rps=N ratio=R
 *  ratio = runtime / compiled (1.00 = same speed). A program, not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sl_mono.h"
#include "sl_schema.h"
#include "water/v1/water.pb-c.h"

/*  Records per second for `n` rounds of the case on `d`. */
static double
s_run (const ProtobufCMessageDescriptor *d, const uint8_t *body, size_t len, int encode, long n)
{
    uint8_t out[1024];
    size_t sink = 0;
    double t0 = sl_mono_s ();
    for (long i = 0; i < n; i++) {
        ProtobufCMessage *m = protobuf_c_message_unpack (d, NULL, len, body);
        if (!m)
            abort ();
        if (encode) {
            size_t k = protobuf_c_message_get_packed_size (m);
            if (k > sizeof out)
                abort ();
            sink += protobuf_c_message_pack (m, out);
        }
        protobuf_c_message_free_unpacked (m, NULL);
    }
    double dt = sl_mono_s () - t0;
    if (sink == 1)
        puts ("");
    return (double) n / dt;
}

int
main (int argc, char **argv)
{
    if (argc > 1 && (!strcmp (argv[1], "--help") || !strcmp (argv[1], "-h"))) {
        printf ("usage: bench-descset [N]\n\n"
                "Decodes (and decodes + re-encodes) a water.v1.MeterReading N times per round\n"
                "(default 400000), 4 interleaved rounds, with protoc-c's compiled descriptor\n"
                "and with the one built at run time from the example descriptor set; prints\n"
                "records/s of each and their ratio (BENCHMARKS.md).\n");
        return 0;
    }
    long n = argc > 1 ? strtol (argv[1], NULL, 10) : 400000;
    if (n < 1000) {
        fprintf (stderr, "bench-descset: N must be at least 1000 (see --help)\n");
        return 2;
    }
    char err[600];
    if (sl_schema_load_file (EXAMPLES_BINPB, err, sizeof err) < 0) {
        fprintf (stderr, "bench-descset: %s\n", err);
        return 1;
    }
    const sl_schema_t *s = sl_schema_find ("water.v1.MeterReading");
    Water__V1__MeterReading r = WATER__V1__METER_READING__INIT;
    r.id = "WM-00017:1795861842";
    r.ref_device = "WM-00017";
    r.subject = "CIT-100201";
    r.district = "Xihu";
    r.date_observed = 1795861842;
    r.water_consumption_m3 = 440.34;
    r.max_flow_m3h = 1.25;
    r.min_flow_m3h = 0.01;
    r.meter_name = "Wenyi Road 12, unit 3";
    uint8_t body[512];
    size_t len = water__v1__meter_reading__pack (&r, body);
    static const char *const names[] = { "decode", "decode+encode" };
    for (int encode = 0; encode < 2; encode++) {
        double c = 0, rt = 0;
        s_run (&water__v1__meter_reading__descriptor, body, len, encode, n / 10);   /* warm */
        s_run (s->descriptor, body, len, encode, n / 10);
        for (int round = 0; round < 4; round++) {   /* interleaved: A B A B ... */
            c += s_run (&water__v1__meter_reading__descriptor, body, len, encode, n);
            rt += s_run (s->descriptor, body, len, encode, n);
        }
        printf ("sluice_descset case=%s body_bytes=%zu compiled_rps=%.0f runtime_rps=%.0f ratio=%.3f\n",
                names[encode], len, c / 4, rt / 4, rt / c);
    }
    sl_schema_reset ();
    return 0;
}

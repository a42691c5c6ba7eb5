/*  sl_mono: the monotonic clock (common/sl_mono.h). */
#include <criterion/criterion.h>
#include <time.h>

#include "sl_mono.h"

/*  Never goes back; the three units agree; a 20 ms sleep shows in each. */
Test (mono, advances_and_units_agree)
{
    uint64_t ns0 = sl_mono_ns ();
    int64_t ms0 = sl_mono_ms ();
    double s0 = sl_mono_s ();
    struct timespec nap = { 0, 20 * 1000000 };
    nanosleep (&nap, NULL);
    uint64_t ns1 = sl_mono_ns ();
    int64_t ms1 = sl_mono_ms ();
    double s1 = sl_mono_s ();
    cr_assert_geq (ns1 - ns0, 20000000u, "ns: %llu", (unsigned long long) (ns1 - ns0));
    cr_assert_geq (ms1 - ms0, 19, "ms: %lld", (long long) (ms1 - ms0));
    cr_assert_geq (s1 - s0, 0.019, "s: %f", s1 - s0);
    cr_assert_leq ((int64_t) (ns0 / 1000000u), ms0, "the ms reading was taken after the ns one");
    cr_assert_leq ((double) ns0 / 1e9, s0 + 1e-6);
}

/*  Scales every Criterion timeout of a test binary by SLUICE_TEST_TIME_SCALE
 *  (an integer, default 1), so the same suites run under valgrind (CI stage
 *  3 sets 10) where everything is about ten times slower. The harness's own
 *  waits scale through tc_wait() / tb_wait().
 *
 *  Include in exactly ONE translation unit of a test binary: it defines a
 *  Criterion report hook, run by the runner before any test starts.
 */
#ifndef SL_TEST_SCALE_H
#define SL_TEST_SCALE_H

#include <stdlib.h>
#include <criterion/criterion.h>
#include <criterion/hooks.h>

ReportHook (PRE_ALL) (struct criterion_test_set *set)
{
    const char *e = getenv ("SLUICE_TEST_TIME_SCALE");
    int k = e ? atoi (e) : 1;
    if (k <= 1)
        return;
    FOREACH_SET (struct criterion_suite_set *ss, set->suites) {
        if (ss->suite.data && ss->suite.data->timeout > 0)
            ss->suite.data->timeout *= k;
        FOREACH_SET (struct criterion_test *t, ss->tests) {
            if (t->data && t->data->timeout > 0)
                t->data->timeout *= k;
        }
    }
}

#endif

/*  Installs the example bureaus' record types (build/schemas/examples.binpb)
 *  in this process's schema table before main, for unit suites that use
 *  them without a broker. The broker's tests register them instead
 *  (`sluiced init --with-examples`). */
#include <stdio.h>
#include <stdlib.h>

#include "sl_schema.h"

__attribute__ ((constructor)) static void
s_load_examples (void)
{
    char err[600];
    if (sl_schema_load_file (EXAMPLES_BINPB, err, sizeof err) < 0) {
        fprintf (stderr, "examples_ctor: %s\n", err);
        abort ();
    }
}

__attribute__ ((destructor)) static void
s_free_examples (void)
{
    sl_schema_reset ();
}

/*  ot — helpers shared by the operations tests: a minimal HTTP GET for the
 *  metrics listener, reading one value out of a scrape, and promtool.
 */
#ifndef OT_H
#define OT_H

#include <stddef.h>

#include "tc.h"

/*  The `metrics = HOST:PORT` line of DIR/endpoints into addr. 0 or -1. */
int ot_metrics_addr (tc_broker_t *b, char *addr, size_t size);

/*  GET http://addr/path. Returns the status code (and the body, malloc()ed,
 *  in *body) or -1. */
int ot_get (const char *addr, const char *path, char **body);

/*  The value of `series` (exact name with labels, as rendered) in `text`;
 *  returns 1 and *v, or 0 if absent. */
int ot_value (const char *text, const char *series, double *v);

/*  Makes a scratch directory /tmp/ot-TAG-XXXXXX into tmp[64]. Asserts. */
void ot_tmpdir (char tmp[64], const char *tag);

/*  The suites' teardown: tc_broker_cleanup (b), then removes tmp (nothing
 *  when it is empty). */
void ot_cleanup (tc_broker_t *b, const char *tmp);

/*  Runs `promtool check metrics` on `text`. Returns its exit status (0 =
 *  passed), -1 if it could not run; its output goes to *out (malloc()ed). */
int ot_promtool (const char *text, char **out);

#endif

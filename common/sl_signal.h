/*  sl_signal — how a program learns that it should stop (SIGINT, SIGTERM)
 *  or read its configuration again (SIGHUP): a flag each, set by the
 *  handler and read by the program's loop. */
#ifndef SL_COMMON_SIGNAL_H
#define SL_COMMON_SIGNAL_H

#include <signal.h>

/*  1 once SIGINT or SIGTERM arrived (after sl_signal_catch). */
extern volatile sig_atomic_t sl_signal_stop;

/*  1 once SIGHUP arrived, when sl_signal_catch caught it; the reader sets
 *  it back to 0. */
extern volatile sig_atomic_t sl_signal_hup;

/*  Catches SIGINT and SIGTERM, and SIGHUP when `hup` is true, without
 *  SA_RESTART: a blocking call returns EINTR so the loop sees the flag.
 *  Cannot fail. */
void sl_signal_catch (int hup);

#endif

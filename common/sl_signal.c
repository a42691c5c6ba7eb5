/*  sl_signal — see sl_signal.h. */
#include "sl_signal.h"

#include <string.h>

volatile sig_atomic_t sl_signal_stop;
volatile sig_atomic_t sl_signal_hup;

static void
s_on_signal (int sig)
{
    if (sig == SIGHUP)
        sl_signal_hup = 1;
    else
        sl_signal_stop = 1;
}

void
sl_signal_catch (int hup)
{
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    if (hup)
        sigaction (SIGHUP, &sa, NULL);
}

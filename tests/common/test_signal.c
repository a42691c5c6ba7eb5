/*  sl_signal: the stop and reload flags (common/sl_signal.h). */
#include <criterion/criterion.h>
#include <signal.h>

#include "sl_signal.h"

Test (signal, term_and_int_stop_hup_reloads)
{
    sl_signal_catch (1);
    cr_assert_eq (sl_signal_stop, 0);
    cr_assert_eq (sl_signal_hup, 0);
    raise (SIGHUP);
    cr_assert_eq (sl_signal_hup, 1);
    cr_assert_eq (sl_signal_stop, 0, "SIGHUP does not ask to stop");
    raise (SIGTERM);
    cr_assert_eq (sl_signal_stop, 1);
    sl_signal_stop = 0;
    raise (SIGINT);
    cr_assert_eq (sl_signal_stop, 1);
}

/*  Without `hup`, SIGHUP keeps its own disposition (here: ignored). */
Test (signal, hup_left_alone_unless_asked)
{
    signal (SIGHUP, SIG_IGN);
    sl_signal_catch (0);
    raise (SIGHUP);
    cr_assert_eq (sl_signal_hup, 0);
    struct sigaction sa;
    sigaction (SIGHUP, NULL, &sa);
    cr_assert (sa.sa_handler == SIG_IGN);
}

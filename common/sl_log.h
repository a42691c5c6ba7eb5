/*  sl_log — one structured line per notable event, on stderr.
 *
 *  Lines are logfmt: `ts=2026-11-28T15:00:00.123Z level=info event=publish.accepted
 *  member=water record=water.v1.MeterReading n=12`. The event name is a dotted
 *  word; the rest is key=value pairs the caller formats (quote values that may
 *  hold spaces with sl_log's %q-free convention: pass them through
 *  sl_log_quote()).
 */
#ifndef SL_LOG_H
#define SL_LOG_H

typedef enum { SL_LOG_DEBUG, SL_LOG_INFO, SL_LOG_WARN, SL_LOG_ERROR } sl_log_level_t;

/*  Lines below `level` are dropped. Default SL_LOG_INFO; SLUICE_LOG=debug|info|warn|error
 *  in the environment sets it at the first call. Cannot fail. */
void sl_log_set_level (sl_log_level_t level);

typedef enum { SL_LOG_LOGFMT, SL_LOG_JSON } sl_log_format_t;

/*  Line format. SL_LOG_JSON writes one JSON object per line with the same
 *  keys: {"ts":"...","level":"info","event":"publish.accepted","member":"water","n":12}
 *  (values that read as decimal numbers become JSON numbers, the rest
 *  strings). Default logfmt. Cannot fail. */
void sl_log_set_format (sl_log_format_t format);

/*  Sends log lines to `path` (opened O_APPEND, created mode 0640) from now
 *  on, by putting it in place of stderr (fd 2), so that anything else
 *  written to stderr lands there too. Called again with the same path after
 *  logrotate moved the file, it reopens it (SIGHUP). Returns 0, or -1 with
 *  errno set (the old destination stays). */
int sl_log_open_file (const char *path);

/*  Writes one line: timestamp, level, event, then the printf-formatted rest
 *  (may be NULL). Thread-safe (one write(2) per line). */
void sl_log (sl_log_level_t level, const char *event, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  Quotes `s` for a logfmt value into `buf` (size `size`): wraps it in double
 *  quotes if it holds spaces, '=' or quotes, escaping '"' and '\\' and control
 *  characters; truncates to fit. Returns buf. Cannot fail. */
const char *sl_log_quote (const char *s, char *buf, unsigned size);

#define sl_debug(ev, ...) sl_log (SL_LOG_DEBUG, ev, __VA_ARGS__)
#define sl_info(ev, ...)  sl_log (SL_LOG_INFO, ev, __VA_ARGS__)
#define sl_warn(ev, ...)  sl_log (SL_LOG_WARN, ev, __VA_ARGS__)
#define sl_error(ev, ...) sl_log (SL_LOG_ERROR, ev, __VA_ARGS__)

#endif

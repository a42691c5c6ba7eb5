/*  sl_runner — the frame every bureau adapter program shares.
 *
 *  An adapter reads what its bureau's system exports (files, a directory of
 *  files, or stdin; with --follow it keeps reading what is appended, like
 *  `tail -f`), turns it into records with its parser, publishes them through
 *  libsluice, and quarantines what it cannot read. The runner does all of
 *  that except the parsing: options, connecting, reading, publishing and
 *  counting, the quarantine file, the progress line on a terminal, and the
 *  summary at the end. A bureau supplies an sl_format_t.
 *
 *  Exit status: 0 when every input record was published and stored by the
 *  broker; 1 when some records were rejected (quarantined) or refused by the
 *  broker but the run completed; 2 for bad options; 3 when the adapter could
 *  not run (broker key refused, unreadable input, quarantine not writable).
 */
#ifndef SL_RUNNER_H
#define SL_RUNNER_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "sl_lookup.h"
#include "sl_time.h"

typedef struct sl_runner sl_runner_t;

/*  One option of a bureau (its name without "--"; each takes a value). */
typedef struct {
    const char *name;
    size_t at;      /* where the value (a const char *, borrowed from argv) goes in the
                       bureau's state; SL_RUNNER_CALL: sl_format_t.option reads it */
} sl_runner_option_t;
#define SL_RUNNER_CALL ((size_t) -1)
/*  An option whose value is kept in `field` (a const char *) of the state `type`. */
#define SL_RUNNER_TEXT(name, type, field) { name, offsetof (type, field) }

/*  What a bureau adds to the frame. Callbacks get the bureau's own `state`. */
typedef struct {
    const char *program;            /* "sluice-water-adapter" */
    const char *bureau;             /* "water" */
    const char *summary;            /* one line for --help */
    const char *options_help;       /* the bureau's options, for --help */
    const sl_runner_option_t *options;  /* the bureau's options, ended by { NULL } */
    /* one SL_RUNNER_CALL option (name without "--"); return 0 or -1 after printing why */
    int (*option) (void *state, const char *name, const char *value);
    /* after options: load registries etc.; return 0 or -1 after printing why
       (stop is then called to free what it made) */
    int (*start) (void *state);
    /* a source begins / has more bytes / ended (never called while following) */
    void (*begin) (void *state, sl_runner_t *r, const char *source);
    void (*feed) (void *state, sl_runner_t *r, const char *data, size_t len);
    void (*end) (void *state, sl_runner_t *r);
    void (*stop) (void *state);     /* free what start made */
    /* optional: when serving(state) is true after start, the runner calls
       serve instead of reading sources (a bureau's network listener); it
       returns 0, or -1 if it could not run */
    int (*serve) (void *state, sl_runner_t *r);
    int (*serving) (void *state);
} sl_format_t;

/*  For a bureau's `start`: loads the zone `tz_name` given with --timezone
 *  (NULL: none) into *tz, then, when `option` is set, the registry `path`
 *  given with --OPTION (required: NULL is an error naming `what`) into
 *  *registry with sl_lookup_load `flags`. Returns 0, or -1 after printing
 *  why on stderr, prefixed with `program`. */
int sl_runner_load (const char *program, const char *tz_name, sl_tz_t **tz,
                    const char *option, const char *what, const char *path, int flags,
                    sl_lookup_t **registry);

/*  Runs the adapter program: parses argv, connects, reads every source and
 *  returns the exit status described above. */
int sl_runner_main (int argc, char **argv, const sl_format_t *format, void *state);

/*  Publishes one record (packed from `msg`) of `record_type` about `subject`
 *  observed at `event_time_s`. Returns 0 (queued; the broker's answer is
 *  counted later) or a negative SL_E* code, already reported. */
int sl_runner_publish (sl_runner_t *r, const char *record_type,
                       const ProtobufCMessage *msg, const char *subject,
                       int64_t event_time_s);

/*  Publishes one record and waits until the broker stored or refused it
 *  (at most 30 s), for a listener that must answer its peer only once the
 *  record is safe. Returns 0 when stored, else the SL_E* code with the
 *  broker's text in err. With --dry-run, prints it and returns 0. */
int sl_runner_publish_wait (sl_runner_t *r, const char *record_type,
                            const ProtobufCMessage *msg, const char *subject,
                            int64_t event_time_s, char *err, size_t errlen);

/*  Sets the source name used by sl_runner_reject (a listener names the peer). */
void sl_runner_set_source (sl_runner_t *r, const char *source);

/*  True once SIGINT or SIGTERM asked the adapter to stop. */
int sl_runner_stopping (void);

/*  Reports one input record that could not be read: logs `reason` on stderr
 *  and appends it with the raw bytes to the quarantine file. A reason may
 *  end in '\n' and advice (the option or mapping that would have accepted
 *  the record), which goes to the quarantine entry's "hint" member. */
void sl_runner_reject (sl_runner_t *r, size_t record, const char *reason,
                       const void *raw, size_t rawlen);

/*  With --explain, the sink where the parser notes what it read from where
 *  (printed after each record); NULL otherwise. Valid from `start` on. */
struct _sl_explain_t *sl_runner_explain (sl_runner_t *r);

/*  The current source's name. Valid during the callbacks. */
const char *sl_runner_source (const sl_runner_t *r);

/*  True when the runner is following (inputs may grow; `end` comes only on
 *  shutdown). Formats that need a whole file use it to pick a mode. */
int sl_runner_following (const sl_runner_t *r);

#endif

/*  rel_check — reads a broker data directory the way an auditor would (its
 *  own read-only LMDB environment, beside a running or a killed sluiced) and
 *  checks that every effect has its audit entry and every entry its effect.
 *
 *  Effects and the entries that must describe them (docs/AUDIT.md):
 *    broker.msgids  publisher|message_id   <->  a `publish` entry (actor, message id)
 *    broker.queue   consumer|tag (message) ->   a `queue` entry (counterpart, message id)
 *    queue depth per consumer  ==  `queue` entries − `ack` entries
 *                                  − `deny` entries with detail stage=deliver
 */
#ifndef REL_CHECK_H
#define REL_CHECK_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t audit_entries;       /* entries verified */
    uint64_t msgids;              /* broker.msgids rows of `publisher` */
    uint64_t queued;              /* broker.queue rows of `consumer` */
    uint64_t audit_queue, audit_ack, audit_deny_deliver;
    char problem[512];            /* the first problem found, "" when none */
} rel_report_t;

/*  A message id seen by the check: callers learn which ids are durable. */
typedef void (rel_id_fn) (void *arg, const uint8_t id[16]);

/*  Checks the data directory `data_dir` (holding store/ and audit-sign.pub)
 *  for publisher `publisher` and consumer `consumer`: the audit chain
 *  verifies, and the correspondences above hold. `on_msgid` (may be NULL)
 *  is called for each stored message id of `publisher`, `on_deliver` (may
 *  be NULL) for each message id with a `deliver` entry for `consumer`.
 *  Returns 0 when all holds, -1 with `r->problem` saying what does not. */
int rel_check (const char *data_dir, const char *publisher, const char *consumer,
               rel_id_fn *on_msgid, rel_id_fn *on_deliver, void *arg, rel_report_t *r);

/*  In a Criterion test: rel_check of `data_dir` (publisher -> consumer, no
 *  callbacks) must pass; a failure says `when` and the problem. The report
 *  (a GNU statement expression). */
#define REL_CHECKED(when, data_dir, publisher, consumer)                                 \
    __extension__ ({                                                                     \
        rel_report_t rel_r_;                                                             \
        cr_assert_eq (rel_check (data_dir, publisher, consumer, NULL, NULL, NULL, &rel_r_), \
                      0, "%s: %s", when, rel_r_.problem);                                \
        rel_r_;                                                                          \
    })

#endif

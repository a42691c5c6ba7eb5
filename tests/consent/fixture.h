/*  Test fixture for the consent registry suites: a real LMDB environment in a
 *  per-test temporary directory, opened the way the broker opens it
 *  (MDB_NOTLS, maxdbs 64), and the registry opened in a committed write
 *  transaction. */
#ifndef CONSENT_FIXTURE_H
#define CONSENT_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>

#include "sl_consent.h"

typedef struct {
    char dir[256];
    MDB_env *env;
    sl_consent_t *registry;
} fx_t;

/*  Creates the directory and env (map `map_size` bytes) and opens the
 *  registry. Aborts the test on failure. */
void fx_open (fx_t *fx, size_t map_size, unsigned extra_env_flags);

/*  Closes everything and removes the directory. */
void fx_close (fx_t *fx);

MDB_txn *fx_write (fx_t *fx);
MDB_txn *fx_read (fx_t *fx);
void fx_commit (MDB_txn *txn);

/*  A grant event on the stack: strings are borrowed. */
typedef struct {
    Sluice__V1__ConsentEvent ev;
    char *purposes[4];
    char *types[4];
    char *fields[4];
} fx_event_t;

/*  GIVEN: id (may be ""), subject, controller health, recipient parking,
 *  purpose parking-fee-waiver, record type health.v1.Encounter, window. */
void fx_grant (fx_event_t *e, const char *id, const char *subject,
               int64_t valid_from, int64_t valid_to);

/*  RENEWED / WITHDRAWN of `id`. */
void fx_change (fx_event_t *e, Sluice__V1__ConsentEvent__Kind kind, const char *id);

/*  Actors. */
extern const sl_consent_actor_t fx_app;         /* data plane, consent-source */
extern const sl_consent_actor_t fx_health_admin;/* admin plane, admin:health */
extern const sl_consent_actor_t fx_city_admin;  /* admin plane, admin:city */

/*  Asserts that the compact JSON text of `j` (cJSON_PrintUnformatted)
 *  contains each string of the NULL-terminated list, the text in the
 *  message; then deletes j. */
struct cJSON;
void fx_json_has (struct cJSON *j, ...) __attribute__ ((sentinel));

#endif

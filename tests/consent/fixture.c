/*  Test fixture for the consent suites. See fixture.h. */
#include "fixture.h"

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_error.h"

static const char *const s_app_roles[] = { "member", "consent-source", NULL };
static const char *const s_health_roles[] = { "admin:health", NULL };
static const char *const s_city_roles[] = { "admin:city", NULL };

const sl_consent_actor_t fx_app = { "city-app", SL_CONSENT_VIA_DATA, s_app_roles };
const sl_consent_actor_t fx_health_admin = { "ana", SL_CONSENT_VIA_ADMIN, s_health_roles };
const sl_consent_actor_t fx_city_admin = { "mayor-office", SL_CONSENT_VIA_ADMIN, s_city_roles };

void
fx_open (fx_t *fx, size_t map_size, unsigned extra_env_flags)
{
    memset (fx, 0, sizeof *fx);
    const char *tmp = getenv ("TMPDIR");
    snprintf (fx->dir, sizeof fx->dir, "%s/sl-consent-XXXXXX", tmp ? tmp : "/tmp");
    cr_assert_not_null (mkdtemp (fx->dir));
    cr_assert_eq (mdb_env_create (&fx->env), 0);
    cr_assert_eq (mdb_env_set_maxdbs (fx->env, 64), 0);
    cr_assert_eq (mdb_env_set_mapsize (fx->env, map_size), 0);
    int rc = mdb_env_open (fx->env, fx->dir, MDB_NOTLS | extra_env_flags, 0600);
    cr_assert_eq (rc, 0, "mdb_env_open: %s", mdb_strerror (rc));
    MDB_txn *txn = fx_write (fx);
    fx->registry = sl_consent_new (txn, &rc);
    cr_assert_not_null (fx->registry, "sl_consent_new: %s", sl_strerror (rc));
    fx_commit (txn);
}

void
fx_close (fx_t *fx)
{
    sl_consent_destroy (&fx->registry);
    if (fx->env)
        mdb_env_close (fx->env);
    fx->env = NULL;
    char path[300];
    snprintf (path, sizeof path, "%s/data.mdb", fx->dir);
    unlink (path);
    snprintf (path, sizeof path, "%s/lock.mdb", fx->dir);
    unlink (path);
    rmdir (fx->dir);
}

MDB_txn *
fx_write (fx_t *fx)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin (fx->env, NULL, 0, &txn);
    cr_assert_eq (rc, 0, "mdb_txn_begin: %s", mdb_strerror (rc));
    return txn;
}

MDB_txn *
fx_read (fx_t *fx)
{
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin (fx->env, NULL, MDB_RDONLY, &txn);
    cr_assert_eq (rc, 0, "mdb_txn_begin: %s", mdb_strerror (rc));
    return txn;
}

void
fx_commit (MDB_txn *txn)
{
    int rc = mdb_txn_commit (txn);
    cr_assert_eq (rc, 0, "mdb_txn_commit: %s", mdb_strerror (rc));
}

void
fx_grant (fx_event_t *e, const char *id, const char *subject,
          int64_t valid_from, int64_t valid_to)
{
    memset (e, 0, sizeof *e);
    sluice__v1__consent_event__init (&e->ev);
    e->ev.kind = SLUICE__V1__CONSENT_EVENT__KIND__GIVEN;
    e->ev.consent_id = (char *) id;
    e->ev.subject = (char *) subject;
    e->ev.controller = "health";
    e->ev.recipient = "parking";
    e->purposes[0] = "parking-fee-waiver";
    e->ev.purposes = e->purposes;
    e->ev.n_purposes = 1;
    e->types[0] = "health.v1.Encounter";
    e->ev.record_types = e->types;
    e->ev.n_record_types = 1;
    e->ev.fields = e->fields;
    e->ev.valid_from = valid_from;
    e->ev.valid_to = valid_to;
    e->ev.collection_method = "app";
    e->ev.evidence = "receipt-4711";
    e->ev.jurisdiction = "CN-ZJ";
}

void
fx_change (fx_event_t *e, Sluice__V1__ConsentEvent__Kind kind, const char *id)
{
    memset (e, 0, sizeof *e);
    sluice__v1__consent_event__init (&e->ev);
    e->ev.kind = kind;
    e->ev.consent_id = (char *) id;
    e->ev.purposes = e->purposes;
    e->ev.record_types = e->types;
    e->ev.fields = e->fields;
}

void
fx_json_has (struct cJSON *j, ...)
{
    char *text = cJSON_PrintUnformatted (j);
    cr_assert_not_null (text);
    va_list ap;
    va_start (ap, j);
    for (const char *want; (want = va_arg (ap, const char *));)
        cr_assert_not_null (strstr (text, want), "no %s in %s", want, text);
    va_end (ap);
    free (text);
    cJSON_Delete (j);
}
